//! The compiler: one walk over a [`Query`] that resolves names against the model meta,
//! writes SQL through the [`Dialect`] and collects the bound parameters beside it, so the
//! two can never drift apart.

use super::dialect::Dialect;
use super::joins::{JoinExtra, JoinRequest, Joins};
use super::recipe::{Conv, Recipe, Step, Take};
use crate::error::{Error, Result};
use crate::model::{FieldKind, FieldMeta, ModelMeta};
use crate::model::{RelatedPlan, ReverseRelation};
use crate::query::ast::{
    annotation_aggregates, expr_aggregates, expr_windows, q_windows, Annotation, Combined, Filter,
    Grouping, Nulls, OrderBy, Query, SelectRelated, Selection, SetOp,
};
use crate::query::lookup::{Lookup, Transform};
use crate::query::Q;
use crate::query::{Expr, Name};
use crate::value::Value;

/// SQL text with its parameters, and what each output column holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    /// The statement.
    pub sql: String,
    /// Parameters, in placeholder order.
    pub params: Vec<Value>,
    /// The output columns of a SELECT (empty for other statements).
    pub columns: Vec<OutColumn>,
    /// The related objects `select_related` reads after the model's columns.
    pub related: Option<RelatedPlan>,
    /// The output columns holding a model query's annotations.
    pub annotations: std::ops::Range<usize>,
    /// The model fields the first columns hold, when `defer()`/`only()` left some out.
    pub loaded: Option<Vec<usize>>,
    /// How to rebuild the parameters of another query of this shape, when recorded.
    pub(crate) recipe: Option<Recipe>,
}

/// One output column of a compiled SELECT.
#[derive(Debug, Clone, PartialEq)]
pub struct OutColumn {
    /// The name `values()` reports it under.
    pub name: String,
    /// The kind it is decoded as.
    pub kind: FieldKind,
    /// The decimal places a decimal column is rescaled to.
    pub decimal_places: Option<u32>,
}

/// A field path resolved against a model, through the joins it needs.
pub(super) struct Resolved {
    /// The join (index into the FROM clause) the column belongs to.
    pub(super) alias: usize,
    pub(super) field: &'static FieldMeta,
    pub(super) transforms: Vec<Transform>,
    pub(super) lookup: Option<Lookup>,
    /// The joins the path went through.
    pub(super) used: Vec<usize>,
}

impl Resolved {
    pub(super) fn output_kind(&self) -> FieldKind {
        self.transforms
            .last()
            .map(|t| t.output())
            .unwrap_or(self.field.kind)
    }
}

/// Where a path leads.
pub(super) enum PathEnd {
    /// A column, with transforms and a lookup.
    Column(Resolved),
    /// In a negated condition, a path that crosses a multi-valued relation is tested by
    /// `EXISTS (subquery)` rooted at `model`, the model owning that relation (Django's
    /// `split_exclude`).
    Split {
        alias: usize,
        model: &'static ModelMeta,
        rest: String,
    },
}

/// Stands for a placeholder while a statement is assembled from parts compiled out of
/// order (the WHERE before the select list); [`SqlWriter::finish`] numbers them.
const PARAM_MARK: char = '\u{1}';

/// A piece of SQL with the parameters its placeholders bind, in order.
#[derive(Debug, Default, Clone)]
pub(crate) struct Fragment {
    pub(crate) sql: String,
    pub(crate) params: Vec<Value>,
}

/// Writes SQL and collects parameters in one pass.
///
/// With `params_only` set, the same walk collects the parameters and writes nothing: the
/// statement cache ([`super::cache`]) already holds the SQL of that query shape.
///
/// Placeholders are written as marks and numbered by [`finish`](Self::finish), so that
/// parts compiled in one order (WHERE first: it decides the joins) can be assembled in
/// another (the select list's parameters first) with their parameters moved alongside.
pub(crate) struct SqlWriter<'d> {
    pub(crate) sql: String,
    pub(crate) params: Vec<Value>,
    pub(crate) dialect: &'d dyn Dialect,
    pub(crate) params_only: bool,
    /// Where each parameter comes from, while that is known ([`super::recipe`]).
    pub(crate) recipe: Option<Recipe>,
}

impl<'d> SqlWriter<'d> {
    pub(crate) fn new(dialect: &'d dyn Dialect) -> Self {
        SqlWriter {
            sql: String::with_capacity(128),
            params: Vec::new(),
            dialect,
            params_only: false,
            recipe: None,
        }
    }

    /// A writer that also records the parameters' recipe.
    pub(crate) fn recording(dialect: &'d dyn Dialect) -> Self {
        SqlWriter {
            recipe: Some(Recipe::default()),
            ..SqlWriter::new(dialect)
        }
    }

    /// A writer that only collects parameters.
    pub(crate) fn params_only(dialect: &'d dyn Dialect) -> Self {
        SqlWriter {
            sql: String::new(),
            params: Vec::new(),
            dialect,
            params_only: true,
            recipe: None,
        }
    }

    pub(crate) fn push(&mut self, s: &str) {
        if !self.params_only {
            self.sql.push_str(s);
        }
    }

    pub(crate) fn ident(&mut self, ident: &str) {
        if !self.params_only {
            self.dialect.quote(&mut self.sql, ident);
        }
    }

    pub(crate) fn param(&mut self, v: Value) {
        self.params.push(v);
        if !self.params_only {
            self.sql.push(PARAM_MARK);
        }
    }

    /// Where the SQL and the parameters end now.
    pub(crate) fn mark(&self) -> (usize, usize) {
        (self.sql.len(), self.params.len())
    }

    /// Cuts what was written since `mark` out of the writer.
    pub(crate) fn take_since(&mut self, mark: (usize, usize)) -> Fragment {
        Fragment {
            sql: self.sql.split_off(mark.0),
            params: self.params.split_off(mark.1),
        }
    }

    /// Appends a fragment cut out earlier.
    pub(crate) fn append(&mut self, f: Fragment) {
        self.sql.push_str(&f.sql);
        self.params.extend(f.params);
    }

    /// Writes one ordering term: `sql ASC|DESC [NULLS FIRST|LAST]`, or, where the
    /// database has no NULLS modifier (MySQL), `sql IS NULL, sql ASC` as Django does.
    pub(crate) fn ordered(&mut self, sql: Fragment, descending: bool, nulls: Option<Nulls>) {
        let modifier = self.dialect.supports_nulls_modifier();
        if let (Some(n), false) = (nulls, modifier) {
            self.append(sql.clone());
            self.push(match n {
                Nulls::First => " IS NOT NULL, ",
                Nulls::Last => " IS NULL, ",
            });
        }
        self.append(sql);
        self.push(if descending { " DESC" } else { " ASC" });
        if let (Some(n), true) = (nulls, modifier) {
            self.push(match n {
                Nulls::First => " NULLS FIRST",
                Nulls::Last => " NULLS LAST",
            });
        }
    }

    pub(crate) fn finish(self, columns: Vec<OutColumn>) -> Compiled {
        Compiled {
            sql: number_placeholders(self.sql, self.dialect),
            params: self.params,
            columns,
            related: None,
            annotations: 0..0,
            loaded: None,
            recipe: self.recipe,
        }
    }
}

/// Replaces each placeholder mark with the dialect's placeholder, numbered in order.
fn number_placeholders(sql: String, dialect: &dyn Dialect) -> String {
    if !sql.contains(PARAM_MARK) {
        return sql;
    }
    let mut out = String::with_capacity(sql.len() + 16);
    for (n, part) in sql.split(PARAM_MARK).enumerate() {
        if n > 0 {
            dialect.placeholder(&mut out, n);
        }
        out.push_str(part);
    }
    out
}

/// Reads the transforms and the lookup that follow a field in a path.
fn finish_path(
    alias: usize,
    model: &'static ModelMeta,
    field: &'static FieldMeta,
    rest: &[&str],
    allow_lookup: bool,
    used: Vec<usize>,
) -> Result<Resolved> {
    let mut resolved = Resolved {
        alias,
        field,
        transforms: Vec::new(),
        lookup: None,
        used,
    };
    for (i, part) in rest.iter().enumerate() {
        let kind = resolved.output_kind();
        let last = i + 1 == rest.len();
        if let Some(rel) = field.relation {
            // A relation compares keys: exact, in, the orderings and isnull, as Django's
            // related lookups.
            let lookup = Lookup::from_name(part).filter(|l| {
                matches!(
                    l,
                    Lookup::Exact
                        | Lookup::In
                        | Lookup::Gt
                        | Lookup::Gte
                        | Lookup::Lt
                        | Lookup::Lte
                        | Lookup::IsNull
                )
            });
            match lookup {
                Some(l) if last && allow_lookup => {
                    resolved.lookup = Some(l);
                    continue;
                }
                _ if !allow_lookup => {
                    return Err(Error::field(rel.target().unknown_field_message(part)))
                }
                _ => return Err(related_lookup_error(rel.target(), part)),
            }
        }
        if let Some(t) = Transform::for_kind(part, kind) {
            resolved.transforms.push(t);
            continue;
        }
        if last && allow_lookup {
            if let Some(l) = Lookup::from_name(part).filter(|l| l.applies_to(kind)) {
                resolved.lookup = Some(l);
                continue;
            }
        }
        return Err(unsupported_lookup(model, field, kind, part, allow_lookup));
    }
    Ok(resolved)
}

/// True when `name` is a field, a reverse relation or a many-to-many relation of `model`.
fn names_relation_or_field(model: &'static ModelMeta, name: &str) -> bool {
    model.field(name).is_some()
        || model.reverse_relation(name).is_some()
        || model.many_to_many_path(name).is_some()
        || model.generic_relations.iter().any(|g| g.name == name)
        || crate::contenttypes::reverse_generic(model)
            .any(|(_, g)| g.related_query_name == Some(name))
}

#[cold]
fn related_lookup_error(target: &'static ModelMeta, part: &str) -> Error {
    Error::field(format!(
        "Unsupported lookup '{part}' for ForeignKey or join on the field not permitted: {} has \
         no field '{part}'. Choices are: {}",
        target.name,
        target.field_choices().join(", ")
    ))
}

#[cold]
fn unsupported_lookup(
    meta: &ModelMeta,
    field: &FieldMeta,
    kind: FieldKind,
    part: &str,
    allow_lookup: bool,
) -> Error {
    let mut choices: Vec<&str> = Transform::names_for(kind);
    if allow_lookup {
        choices.extend(Lookup::names_for(kind));
    }
    choices.sort_unstable();
    // Django suggests close names ("perhaps you meant startswith or istartswith?").
    let mut close: Vec<&str> = choices
        .iter()
        .copied()
        .filter(|c| c.contains(part) || (part.len() > 2 && part.contains(c)))
        .collect();
    close.sort_by_key(|c| c.len().abs_diff(part.len()));
    let hint = match close.as_slice() {
        [] => ".".to_owned(),
        [one] => format!(", perhaps you meant {one}?"),
        [init @ .., last] => format!(", perhaps you meant {} or {last}?", init.join(", ")),
    };
    Error::field(format!(
        "Unsupported lookup '{part}' for {} '{}.{}'{hint} Choices are: {}",
        kind.name(),
        meta.name,
        field.name,
        choices.join(", ")
    ))
}

/// Converts a value to what the field stores, as Django's `get_prep_value` does.
pub(crate) fn prep(kind: FieldKind, v: Value) -> Result<Value> {
    Ok(prep_ref(kind, &v)?.unwrap_or(v))
}

/// What [`prep`] makes of `v`, or `None` when it binds as it is (most values): a cached
/// query then binds the condition's value in place.
pub(crate) fn prep_ref(kind: FieldKind, v: &Value) -> Result<Option<Value>> {
    Ok(Some(match (kind, v) {
        (FieldKind::DateField, Value::DateTime(dt)) => Value::Date(dt.date_naive()),
        (FieldKind::DateTimeField, Value::Date(d)) => {
            Value::DateTime(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
        }
        (k, Value::Text(s)) if k.is_integer() => match s.trim().parse::<i64>() {
            Ok(i) => Value::I64(i),
            Err(_) => {
                return Err(Error::invalid(format!(
                    "A field of kind {} expected a number but got '{s}'.",
                    k.name()
                )))
            }
        },
        (FieldKind::BooleanField, Value::I64(i)) => Value::Bool(*i != 0),
        (FieldKind::DecimalField, Value::F64(f)) => Value::Decimal(
            rust_decimal::Decimal::try_from(*f)
                .map_err(|e| Error::invalid(format!("cannot use {f} as a decimal: {e}")))?,
        ),
        (FieldKind::JSONField, Value::Text(s)) => Value::Json(serde_json::Value::String(s.clone())),
        (FieldKind::DateField, Value::Text(s)) => Value::Date(
            chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
                Error::invalid(format!(
                    "“{s}” value has an invalid date format. It must be in YYYY-MM-DD format."
                ))
            })?,
        ),
        (FieldKind::DateTimeField, Value::Text(s)) => Value::DateTime(parse_datetime_text(s)?),
        (FieldKind::TimeField, Value::Text(s)) => Value::Time(
            chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M:%S%.f")
                .or_else(|_| chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M"))
                .map_err(|_| {
                    Error::invalid(format!(
                        "“{s}” value has an invalid format. It must be in HH:MM[:ss[.uuuuuu]] format."
                    ))
                })?,
        ),
        (FieldKind::UUIDField, Value::Text(s)) => Value::Uuid(
            uuid::Uuid::parse_str(s.trim())
                .map_err(|_| Error::invalid(format!("“{s}” is not a valid UUID.")))?,
        ),
        (FieldKind::DecimalField, Value::Text(s)) => Value::Decimal(
            s.trim()
                .parse()
                .map_err(|_| Error::invalid(format!("“{s}” value must be a decimal number.")))?,
        ),
        _ => return Ok(None),
    }))
}

/// Parses Django's accepted datetime strings (`YYYY-MM-DD[ HH:MM[:ss[.uuuuuu]]][TZ]`),
/// naive ones taken as UTC.
fn parse_datetime_text(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    let t = s.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&chrono::Utc));
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(n) = chrono::NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(n.and_utc());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    Err(Error::invalid(format!(
        "“{s}” value has an invalid format. It must be in YYYY-MM-DD HH:MM[:ss[.uuuuuu]][TZ] format."
    )))
}

pub(super) struct Compiler<'d, 'q> {
    pub(super) meta: &'static ModelMeta,
    pub(super) w: SqlWriter<'d>,
    pub(super) joins: Joins,
    /// The `filter()` call being compiled (multi-valued joins are reused only inside one).
    pub(super) filter_call: Option<usize>,
    /// Joins that `F()` expressions on the right-hand side went through.
    pub(super) expr_used: Vec<usize>,
    /// The `select_related` plan of the select list.
    pub(super) related: Option<RelatedPlan>,
    /// The query's annotations; names resolve against them before the model's fields.
    pub(super) annotations: &'q [Annotation],
    /// How many of them the expression being compiled may name (an annotation sees
    /// only the ones before it).
    pub(super) annotation_limit: usize,
    /// Inside an aggregate's argument (an aggregate there is an error).
    pub(super) in_aggregate: Option<&'static str>,
    /// The conditions on aggregates, ANDed into HAVING.
    pub(super) having: Fragment,
    /// Aggregating over a subquery: names resolve to its output columns.
    pub(super) outer_of: Option<Vec<OutColumn>>,
    /// Inside `output_field(...)`: operand types need not combine.
    pub(super) wrapped: u32,
    /// The output columns holding a model query's annotations.
    pub(super) annotation_columns: std::ops::Range<usize>,
    /// The model fields a `defer()`/`only()` query loads, when not all.
    pub(super) loaded: Option<Vec<usize>>,
    /// `aggregate()`: the select list is these named aggregates.
    pub(super) aggregate_list: Option<&'q [(String, Expr)]>,
    /// How deep in subqueries this query is (0: the statement itself).
    pub(super) depth: u8,
    /// Inside a window's function (window functions are allowed only there).
    pub(super) in_window: bool,
    /// The `OuterRef` paths of a subquery, as the enclosing query resolved them.
    pub(super) outer_refs: Vec<OuterColumn>,
    /// For each annotation resolved between `filter()` calls, how many joins existed
    /// then: compiled again later, it reuses only those (Django resolves it once).
    pub(super) annotation_horizons: Vec<usize>,
    /// Inside a condition of an expression (`When`, a boolean annotation): a negated
    /// multi-valued lookup joins instead of splitting into a subquery, as Django's
    /// `Q.resolve_expression` (`split_subq=False`).
    pub(super) in_expression_condition: bool,
    /// `values()` columns get `AS "path"` (a subquery read by name).
    pub(super) alias_values: bool,
    /// Filtering on window functions: the conditions (one per `filter()` call that has
    /// one) that wait for the windows, computed as columns of the query and applied by
    /// an outer query (Django's QUALIFY emulation). `None` when no filter reads a window.
    pub(super) qualify: Option<Vec<Q>>,
    /// The conditions written to HAVING, with their `filter()` call: the columns they
    /// read outside aggregates join the GROUP BY.
    having_parts: Vec<(Option<usize>, Q)>,
    /// How many conditions [`Compiler::q`] has met (numbering them for the recipe).
    leaves: u32,
    /// The number of the condition being compiled, while the parameter recipe may
    /// name it (in the statement's own filters, outside expressions).
    recipe_leaf: Option<u32>,
}

/// An `OuterRef` of a subquery as an enclosing query resolved it: its path, how many
/// queries beyond the one just outside, and the SQL (with the parameters it binds,
/// bound again at each reference) and type of the column there.
pub(super) struct OuterColumn {
    pub(super) path: String,
    pub(super) level: u8,
    pub(super) sql: Fragment,
    pub(super) typed: super::expressions::Typed,
}

/// The alias letter of the tables of a subquery `depth` levels deep (`U0`, then `V0`...),
/// so that nested subqueries never reuse an enclosing query's alias.
pub(super) fn alias_prefix(depth: u8) -> char {
    char::from(b'T' + depth.clamp(1, 6))
}

/// `"alias"."column"`.
fn qualified(dialect: &dyn Dialect, alias: &str, column: &str) -> String {
    let mut s = String::with_capacity(alias.len() + column.len() + 5);
    dialect.quote(&mut s, alias);
    s.push('.');
    dialect.quote(&mut s, column);
    s
}

impl<'d, 'q> Compiler<'d, 'q> {
    fn new(meta: &'static ModelMeta, w: SqlWriter<'d>) -> Self {
        Compiler {
            meta,
            w,
            joins: Joins::new(meta.db_table, None),
            filter_call: None,
            expr_used: Vec::new(),
            related: None,
            annotations: &[],
            annotation_limit: 0,
            in_aggregate: None,
            having: Fragment::default(),
            outer_of: None,
            wrapped: 0,
            annotation_columns: 0..0,
            loaded: None,
            aggregate_list: None,
            depth: 0,
            in_window: false,
            outer_refs: Vec::new(),
            annotation_horizons: Vec::new(),
            in_expression_condition: false,
            alias_values: false,
            qualify: None,
            having_parts: Vec::new(),
            leaves: 0,
            recipe_leaf: None,
        }
    }

    /// A compiler for `query`, seeing its annotations.
    pub(super) fn for_query(query: &'q Query, w: SqlWriter<'d>) -> Self {
        Compiler {
            annotations: &query.annotations,
            annotation_limit: query.annotations.len(),
            ..Compiler::new(query.model, w)
        }
    }

    /// A compiler for a subquery: its aliases are `U0`, `U1`, ...
    fn subquery(meta: &'static ModelMeta, w: SqlWriter<'d>, depth: u8) -> Self {
        Compiler {
            joins: Joins::new(meta.db_table, Some(alias_prefix(depth))),
            depth,
            ..Compiler::new(meta, w)
        }
    }

    /// Resolves a `__` path, joining the tables it crosses: forward relations through
    /// their key (`publisher__name`), reverse ones through the key pointing back
    /// (`book__title`). A path ending on the related key (`publisher__id`) reads this
    /// table's column and joins nothing. With `split_multi`, a multi-valued relation is
    /// not joined: the path comes back as [`PathEnd::Split`].
    pub(super) fn resolve(
        &mut self,
        path: &str,
        allow_lookup: bool,
        split_multi: bool,
    ) -> Result<PathEnd> {
        let mut parts: Vec<&str> = path.split("__").collect();
        let mut model = self.meta;
        let mut alias = 0;
        let mut used = Vec::new();
        let mut i = 0;
        loop {
            let name = parts[i];
            if let Some((_, field)) = model.field(name) {
                let by_attname = name != field.name && name != "pk";
                if let (Some(rel), false, true) = (field.relation, by_attname, i + 1 < parts.len())
                {
                    let target = rel.target();
                    let next = parts[i + 1];
                    if names_relation_or_field(target, next) {
                        let (key, key_field) = rel.target_field();
                        let next_is_key = target.field(next).is_some_and(|(j, _)| j == key);
                        let goes_on = parts.get(i + 2).is_some_and(|p| {
                            key_field
                                .relation
                                .is_some_and(|r| r.target().field(p).is_some())
                        });
                        if next_is_key && !goes_on {
                            // `publisher__id`: this row holds the key; no join.
                            let r = finish_path(
                                alias,
                                model,
                                field,
                                &parts[i + 2..],
                                allow_lookup,
                                used,
                            )?;
                            return Ok(PathEnd::Column(r));
                        }
                        alias = self.joins.join(JoinRequest {
                            parent: alias,
                            table: target.db_table,
                            lhs_col: field.column,
                            rhs_col: key_field.column,
                            nullable: field.null,
                            multi: false,
                            filter_call: self.filter_call,
                            extra: None,
                        });
                        used.push(alias);
                        model = target;
                        i += 1;
                        continue;
                    }
                }
                let r = finish_path(alias, model, field, &parts[i + 1..], allow_lookup, used)?;
                return Ok(PathEnd::Column(r));
            }
            if let Some(rev) = model.reverse_relation(name) {
                let multi = !rev.is_one_to_one();
                if multi && split_multi {
                    return Ok(PathEnd::Split {
                        alias,
                        model,
                        rest: parts[i..].join("__"),
                    });
                }
                let (_, key_field) = rev.relation.target_field();
                alias = self.joins.join(JoinRequest {
                    parent: alias,
                    table: rev.model.db_table,
                    lhs_col: key_field.column,
                    rhs_col: rev.field.column,
                    nullable: true,
                    multi,
                    filter_call: self.filter_call,
                    extra: None,
                });
                used.push(alias);
                model = rev.model;
                let next_is_field = parts
                    .get(i + 1)
                    .is_some_and(|p| names_relation_or_field(model, p));
                if !next_is_field {
                    // `book=5`, `book__in`, `book__isnull`: the related row's key.
                    let r = finish_path(
                        alias,
                        model,
                        model.pk_field(),
                        &parts[i + 1..],
                        allow_lookup,
                        used,
                    )?;
                    return Ok(PathEnd::Column(r));
                }
                i += 1;
                continue;
            }
            if let Some((link, forward)) = model.many_to_many_path(name) {
                // Across the through table: join it on this side's key, then go on as
                // if the path named the through model's key to the other side
                // (`publications__title` → through, then `publication__title`), which
                // trims `publications__id` to the through column as Django does.
                if split_multi {
                    return Ok(PathEnd::Split {
                        alias,
                        model,
                        rest: parts[i..].join("__"),
                    });
                }
                let (from, to) = link.fks(forward);
                let rel = from.relation.expect("a through key is a relation");
                let (_, key_field) = rel.target_field();
                alias = self.joins.join(JoinRequest {
                    parent: alias,
                    table: link.through.db_table,
                    lhs_col: key_field.column,
                    rhs_col: from.column,
                    nullable: true,
                    multi: true,
                    filter_call: self.filter_call,
                    extra: None,
                });
                used.push(alias);
                model = link.through;
                parts[i] = to.name;
                continue;
            }
            if let Some(g) = model.generic_relations.iter().find(|g| g.name == name) {
                // `tags__tag`: the rows whose generic key holds this row's type and key.
                if split_multi {
                    return Ok(PathEnd::Split {
                        alias,
                        model,
                        rest: parts[i..].join("__"),
                    });
                }
                let target = g.target();
                let (ct_field, id_field) = g.key_fields();
                alias = self.joins.join(JoinRequest {
                    parent: alias,
                    table: target.db_table,
                    lhs_col: model.pk_field().column,
                    rhs_col: id_field.column,
                    nullable: true,
                    multi: true,
                    filter_call: self.filter_call,
                    extra: Some(JoinExtra {
                        on_parent: false,
                        column: ct_field.column,
                        model,
                    }),
                });
                used.push(alias);
                model = target;
            } else if let Some((owner, g)) = crate::contenttypes::reverse_generic(model)
                .find(|(_, g)| g.related_query_name == Some(name))
            {
                // `animal__common_name` from the model holding the generic key.
                let (ct_field, id_field) = g.key_fields();
                alias = self.joins.join(JoinRequest {
                    parent: alias,
                    table: owner.db_table,
                    lhs_col: id_field.column,
                    rhs_col: owner.pk_field().column,
                    nullable: true,
                    multi: false,
                    filter_call: self.filter_call,
                    extra: Some(JoinExtra {
                        on_parent: true,
                        column: ct_field.column,
                        model: owner,
                    }),
                });
                used.push(alias);
                model = owner;
            } else if model.generic_foreign_keys.iter().any(|g| g.name == name) {
                return Err(Error::field(format!(
                    "Field '{name}' does not generate an automatic reverse relation and \
                     therefore cannot be used for reverse querying. If it is a \
                     GenericForeignKey, consider adding a GenericRelation."
                )));
            } else if i == 0
                && self.annotations[..self.annotation_limit]
                    .iter()
                    .any(|a| !a.alias)
            {
                // Django lists the annotations (made before this one) among the choices.
                let mut choices = model.field_choices();
                choices.extend(
                    self.annotations[..self.annotation_limit]
                        .iter()
                        .filter(|a| !a.alias)
                        .map(|a| a.name.clone()),
                );
                choices.sort_unstable();
                return Err(Error::field(format!(
                    "Cannot resolve keyword '{name}' into field of {}. Choices are: {}",
                    model.name,
                    choices.join(", ")
                )));
            } else {
                return Err(Error::field(model.unknown_field_message(name)));
            }
            if !parts
                .get(i + 1)
                .is_some_and(|p| names_relation_or_field(model, p))
            {
                // `tags = 5`, `tags__in`, `tags__isnull`: the related row's key.
                let r = finish_path(
                    alias,
                    model,
                    model.pk_field(),
                    &parts[i + 1..],
                    allow_lookup,
                    used,
                )?;
                return Ok(PathEnd::Column(r));
            }
            i += 1;
        }
    }

    /// Resolves a path that must end on a column (no lookup, no split).
    fn resolve_column(&mut self, path: &str) -> Result<Resolved> {
        match self.resolve(path, false, false)? {
            PathEnd::Column(r) => Ok(r),
            PathEnd::Split { .. } => unreachable!("split only when asked"),
        }
    }

    /// The SQL of a resolved path's left-hand side (column and transforms).
    pub(super) fn lhs_sql(&mut self, r: &Resolved) -> String {
        if self.w.params_only {
            return String::new();
        }
        let mut s = qualified(self.w.dialect, self.joins.alias(r.alias), r.field.column);
        let mut kind = r.field.kind;
        for t in &r.transforms {
            s = match t {
                Transform::Extract(p) => self.w.dialect.extract(*p, &s, kind),
                Transform::Date => self.w.dialect.cast_date(&s),
                Transform::Time => self.w.dialect.cast_time(&s),
            };
            kind = t.output();
        }
        s
    }

    /// Compiles `e` where its value is compared with or stored in a field of `kind`
    /// (values are converted to what the field stores).
    fn rhs_sql(&mut self, e: &Expr, kind: FieldKind) -> Result<Fragment> {
        let mark = self.w.mark();
        self.expr(e, Some(kind))?;
        Ok(self.w.take_since(mark))
    }

    /// The WHERE clause: each `filter()`/`exclude()` call ANDed, joins typed as Django's
    /// `add_q` types them (a join a condition needs becomes INNER; one only some `OR`
    /// branches need stays or becomes LEFT OUTER; INNER joins of earlier calls stay so).
    ///
    /// Annotations are resolved between the calls they were made between, so that a
    /// multi-valued join of an earlier `filter()` is shared with a later `annotate()`
    /// (the filter narrows what is counted) and a later `filter()` joins anew. Conditions
    /// on aggregates go to [`Compiler::having`].
    fn filters(&mut self, filters: &[Filter], query_groups: bool) -> Result<bool> {
        let mut wrote = false;
        let mut touched = 0;
        for (n, f) in filters.iter().enumerate() {
            touched = self.touch_annotations(touched, Some(n))?;
            if f.q.is_empty() {
                continue;
            }
            self.filter_call = Some(n);
            let rest;
            let q = match self.qualify.is_some() {
                true => {
                    let (plain, waiting) = self.split_qualify(&f.q, f.negated, query_groups)?;
                    if let (Some(waiting), Some(parts)) = (waiting, self.qualify.as_mut()) {
                        parts.push(match f.negated {
                            true => Q::Not(Box::new(waiting)),
                            false => waiting,
                        });
                    }
                    match plain {
                        Some(p) => {
                            rest = p;
                            &rest
                        }
                        None => continue,
                    }
                }
                false => &f.q,
            };
            let (where_q, having_q) = self.split_having(q, f.negated);
            if let Some(q) = having_q {
                self.having_condition(&q, f.negated)?;
            }
            let Some(q) = where_q else {
                continue;
            };
            let existing_inner = self.joins.inner();
            self.w.push(if wrote { " AND " } else { " WHERE " });
            wrote = true;
            let votes = if f.negated {
                self.w.push("NOT (");
                let v = self.q(&q, true)?;
                self.w.push(")");
                v
            } else {
                self.q(&q, false)?
            };
            self.joins.demote(&votes);
            self.joins.demote(&existing_inner);
        }
        self.filter_call = None;
        self.touch_annotations(touched, None)?;
        Ok(wrote)
    }

    /// Resolves the annotations made before `filter()` call `call` (all when `None`)
    /// from index `from` on, creating their joins; returns how many are resolved.
    fn touch_annotations(&mut self, from: usize, call: Option<usize>) -> Result<usize> {
        let mut i = from;
        while i < self.annotations.len()
            && call.is_none_or(|c| self.annotations[i].after_filters <= c)
        {
            let saved = self.filter_call.take();
            let mark = self.w.mark();
            let result = self.annotation_operand(i, &self.annotations[i].name.clone());
            self.w.take_since(mark);
            self.filter_call = saved;
            result?;
            if self.annotation_horizons.len() <= i {
                self.annotation_horizons.resize(i + 1, usize::MAX);
            }
            self.annotation_horizons[i] = self.joins.list.len();
            i += 1;
        }
        Ok(i)
    }

    /// Splits one filter call into the part that filters rows as they are read (WHERE
    /// or HAVING) and the part that must wait for the window functions (the outer
    /// query's WHERE), as Django's `WhereNode.split_having_qualify`. The children of
    /// an AND are split (of an OR under a negation: NOT (a OR b) is NOT a AND NOT b);
    /// an OR mixing both goes whole to the outer query, which is refused when the rows
    /// are groups and it also reads plain columns (filtering those after grouping would
    /// change what was aggregated).
    fn split_qualify(&self, q: &Q, negated: bool, groups: bool) -> Result<(Option<Q>, Option<Q>)> {
        if !q_windows(self.annotations, q) {
            return Ok((Some(q.clone()), None));
        }
        let (children, is_and) = match q {
            Q::Not(inner) => {
                let (plain, waiting) = self.split_qualify(inner, !negated, groups)?;
                let not = |q: Q| Q::Not(Box::new(q));
                return Ok((plain.map(not), waiting.map(not)));
            }
            Q::And(c) => (c, true),
            Q::Or(c) => (c, false),
            Q::Lookup { .. } | Q::Expr(_) => return Ok((None, Some(q.clone()))),
        };
        if negated == is_and {
            // Must stay connected.
            if groups && self.reads_plain_columns(q) {
                return Err(Error::invalid(
                    "Heterogeneous disjunctive predicates against window functions are not \
                     implemented when performing conditional aggregation.",
                ));
            }
            return Ok((None, Some(q.clone())));
        }
        let (mut plain, mut waiting) = (Vec::new(), Vec::new());
        for c in children {
            let (p, w) = self.split_qualify(c, negated, groups)?;
            plain.extend(p);
            waiting.extend(w);
        }
        let node = |parts: Vec<Q>| {
            (!parts.is_empty()).then_some(if is_and { Q::And(parts) } else { Q::Or(parts) })
        };
        Ok((node(plain), node(waiting)))
    }

    /// True when some lookup of `q` reads neither a window nor an aggregate.
    fn reads_plain_columns(&self, q: &Q) -> bool {
        match q {
            Q::And(c) | Q::Or(c) => c.iter().any(|c| self.reads_plain_columns(c)),
            Q::Not(inner) => self.reads_plain_columns(inner),
            leaf => !q_windows(self.annotations, leaf) && !self.needs_having(leaf),
        }
    }

    /// Splits one filter call into its WHERE part and its HAVING part (conditions on an
    /// aggregate annotation, or comparing with an aggregate). Only the children of a
    /// plain AND are split; anything else with an aggregate in it goes to HAVING whole.
    fn split_having(&self, q: &Q, negated: bool) -> (Option<Q>, Option<Q>) {
        if !self.needs_having(q) {
            return (Some(q.clone()), None);
        }
        match q {
            Q::And(children) if !negated => {
                let (having, plain): (Vec<Q>, Vec<Q>) =
                    children.iter().cloned().partition(|c| self.needs_having(c));
                let plain = (!plain.is_empty()).then_some(Q::And(plain));
                (plain, Some(Q::And(having)))
            }
            _ => (None, Some(q.clone())),
        }
    }

    fn needs_having(&self, q: &Q) -> bool {
        match q {
            Q::Lookup { path, value } => {
                expr_aggregates(self.annotations, value)
                    || self
                        .annotation_prefix(path)
                        .map(|(i, _)| i)
                        .is_some_and(|i| annotation_aggregates(self.annotations, i))
            }
            Q::And(c) | Q::Or(c) => c.iter().any(|c| self.needs_having(c)),
            Q::Not(inner) => self.needs_having(inner),
            Q::Expr(e) => expr_aggregates(self.annotations, e),
        }
    }

    /// Compiles a condition on aggregates into the HAVING fragment.
    fn having_condition(&mut self, q: &Q, negated: bool) -> Result<()> {
        self.having_parts.push((self.filter_call, q.clone()));
        let mark = self.w.mark();
        self.w.push(
            if self.having.sql.is_empty() && self.having.params.is_empty() {
                " HAVING "
            } else {
                " AND "
            },
        );
        if negated {
            self.w.push("NOT (");
        }
        self.q(q, negated)?;
        if negated {
            self.w.push(")");
        }
        let f = self.w.take_since(mark);
        self.having.sql.push_str(&f.sql);
        self.having.params.extend(f.params);
        Ok(())
    }

    /// Writes a condition; returns the joins it needs a row in (its votes for INNER).
    pub(super) fn q(&mut self, q: &Q, negated: bool) -> Result<Vec<usize>> {
        match q {
            Q::Lookup { path, value } => {
                self.recipe_leaf = (self.depth == 0).then_some(self.leaves);
                self.leaves += 1;
                let votes = self.lookup(path, value, negated);
                self.recipe_leaf = None;
                votes
            }
            Q::And(children) | Q::Or(children) => {
                let children: Vec<&Q> = children.iter().filter(|c| !c.is_empty()).collect();
                if children.is_empty() {
                    self.w.push("1 = 1");
                    return Ok(Vec::new());
                }
                let is_and = matches!(q, Q::And(_));
                let sep = if is_and { " AND " } else { " OR " };
                let mut votes: Vec<(usize, usize)> = Vec::new();
                self.w.push("(");
                for (i, c) in children.iter().enumerate() {
                    if i > 0 {
                        self.w.push(sep);
                    }
                    let mut v = self.q(c, negated)?;
                    v.sort_unstable();
                    v.dedup();
                    for j in v {
                        match votes.iter_mut().find(|(a, _)| *a == j) {
                            Some((_, n)) => *n += 1,
                            None => votes.push((j, 1)),
                        }
                    }
                }
                self.w.push(")");
                // Under a negation AND acts as OR and OR as AND (De Morgan).
                let effective_and = is_and != negated;
                let n = children.len();
                let (demote, promote): (Vec<_>, Vec<_>) = if effective_and {
                    (votes.iter().map(|(j, _)| *j).collect(), Vec::new())
                } else {
                    votes.iter().partition_map_votes(n)
                };
                self.joins.promote(&promote);
                self.joins.demote(&demote);
                Ok(demote)
            }
            Q::Not(inner) => {
                self.w.push("NOT (");
                let v = self.q(inner, !negated)?;
                self.w.push(")");
                Ok(v)
            }
            Q::Expr(e) => {
                // Its parameters come from inside an expression.
                self.w.recipe = None;
                let typed = self.expr(e, None)?;
                if typed.kind != FieldKind::BooleanField {
                    return Err(Error::invalid(format!(
                        "Cannot filter against a non-conditional expression ({} returns {}).",
                        match e {
                            Expr::Subquery(_) => "the subquery",
                            _ => "the expression",
                        },
                        typed.kind.name()
                    )));
                }
                Ok(Vec::new())
            }
        }
    }

    fn lookup(&mut self, path: &str, value: &Expr, negated: bool) -> Result<Vec<usize>> {
        if let Some((index, rest)) = self.annotation_prefix(path) {
            if self.filter_call.is_some()
                && expr_windows(&self.annotations[..index], &self.annotations[index].expr)
            {
                // Filters on windows are moved to an outer query before this point.
                return Err(Error::invalid(format!(
                    "Window expressions are not allowed in this query ({}).",
                    self.annotations[index].name
                )));
            }
            // A condition on an annotation uses its expression and needs no join of its
            // own (Django returns no joins for a reference to an annotation).
            let (lhs, typed) = self.annotation_operand(index, path)?;
            let (lookup, kind, lhs) = self.annotation_lookup(path, rest, lhs, typed)?;
            self.condition(path, lookup, kind, lhs, value)?;
            return Ok(Vec::new());
        }
        let split = negated && !self.in_expression_condition;
        let r = match self.resolve(path, true, split)? {
            PathEnd::Column(r) => r,
            PathEnd::Split { alias, model, rest } => {
                self.exists_subquery(alias, model, &rest, value)?;
                return Ok(Vec::new());
            }
        };
        let lookup = r.lookup.unwrap_or(Lookup::Exact);
        let kind = r.output_kind();
        let lhs = Fragment {
            sql: self.lhs_sql(&r),
            params: Vec::new(),
        };
        let is_null_value = matches!(value, Expr::Value(Value::Null));
        let isnull_true = is_null_value
            || (lookup == Lookup::IsNull
                && matches!(
                    value,
                    Expr::Value(Value::Bool(true)) | Expr::Value(Value::I64(1..))
                ));
        // Django: a negated condition on a NULL-able column (or through a LEFT JOIN) also
        // requires the column to be NOT NULL inside the negation, so that exclude()
        // keeps the rows where it is NULL.
        let guard_null = negated
            && !is_null_value
            && lookup != Lookup::IsNull
            && (r.field.null || self.joins.is_louter(r.alias));
        if guard_null {
            self.w.push("(");
        }
        self.expr_used.clear();
        self.condition(path, lookup, kind, lhs, value)?;
        if guard_null && !self.w.params_only {
            self.w.push(" AND ");
            let col = qualified(self.w.dialect, self.joins.alias(r.alias), r.field.column);
            self.w.push(&col);
            self.w.push(" IS NOT NULL)");
        }
        // `isnull=True` needs the LEFT JOIN; so does every negated condition.
        let require_outer = if negated { !isnull_true } else { isnull_true };
        let mut votes = Vec::new();
        if !require_outer {
            votes.extend_from_slice(&r.used);
            votes.extend_from_slice(&self.expr_used);
        }
        Ok(votes)
    }

    /// `EXISTS (SELECT 1 FROM model U0 ... WHERE rest AND U0.pk = outer.pk LIMIT 1)`: a
    /// negated condition across a multi-valued relation, so that `exclude()` drops the
    /// rows having *any* related row that matches, as Django's `split_exclude` does.
    fn exists_subquery(
        &mut self,
        alias: usize,
        model: &'static ModelMeta,
        rest: &str,
        value: &Expr,
    ) -> Result<()> {
        let dialect = self.w.dialect;
        let outer_pk = qualified(dialect, self.joins.alias(alias), model.pk_field().column);
        let w = std::mem::replace(&mut self.w, SqlWriter::params_only(dialect));
        let mut sub = Compiler::subquery(model, w, self.depth + 1);
        sub.filter_call = Some(0);
        let start = sub.w.sql.len();
        let votes = sub.lookup(rest, value, false)?;
        sub.joins.demote(&votes);
        let cond = sub.w.sql.split_off(start);
        if !sub.w.params_only {
            sub.w.push("EXISTS(SELECT 1 AS ");
            sub.w.ident("a");
            let mut from = String::new();
            sub.joins.write_from(&mut from, dialect);
            sub.w.push(&from);
            sub.w.push(" WHERE (");
            sub.w.push(&cond);
            sub.w.push(" AND ");
            let inner_pk = qualified(dialect, sub.joins.alias(0), model.pk_field().column);
            sub.w.push(&inner_pk);
            sub.w.push(" = ");
            sub.w.push(&outer_pk);
            sub.w.push(") LIMIT 1)");
        }
        self.w = sub.w;
        Ok(())
    }

    /// Writes `lhs <lookup> rhs`. The left-hand side is a fragment: an annotation's
    /// expression may bind parameters of its own, which must come before the value's.
    fn condition(
        &mut self,
        path: &str,
        lookup: Lookup,
        kind: FieldKind,
        lhs: Fragment,
        value: &Expr,
    ) -> Result<()> {
        let leaf = self.recipe_leaf.take();
        if self.w.recipe.is_some() {
            match (leaf, value) {
                (Some(leaf), Expr::Value(v)) if lhs.params.is_empty() => {
                    self.record_steps(leaf, lookup, kind, v)
                }
                _ => self.w.recipe = None,
            }
        }
        if matches!(value, Expr::Value(Value::Null))
            && lookup != Lookup::Exact
            && lookup != Lookup::IExact
        {
            return Err(Error::invalid(format!(
                "Cannot use None as a query value for '{path}': only exact and iexact accept \
                 NULL; use {}__isnull=True",
                path.rsplit_once("__").map_or(path, |(p, _)| p)
            )));
        }
        match (lookup, value) {
            (Lookup::Exact | Lookup::IExact, Expr::Value(Value::Null)) => {
                self.w.append(lhs);
                self.w.push(" IS NULL");
            }
            (Lookup::IsNull, Expr::Value(v)) => {
                let is_null = match *v {
                    Value::Bool(b) => b,
                    Value::I64(i) => i != 0,
                    ref other => {
                        return Err(Error::invalid(format!(
                            "The QuerySet value for an isnull lookup must be True or False, \
                             got {other:?} for '{path}'."
                        )))
                    }
                };
                self.w.append(lhs);
                self.w
                    .push(if is_null { " IS NULL" } else { " IS NOT NULL" });
            }
            (Lookup::In, Expr::Value(v)) => {
                let items: Vec<Value> = match v {
                    Value::List(items) => items.iter().filter(|v| !v.is_null()).cloned().collect(),
                    other => {
                        return Err(Error::invalid(format!(
                            "the value of '{path}' must be a list, got {}",
                            other.type_name()
                        )))
                    }
                };
                if items.is_empty() {
                    // Django raises EmptyResultSet: the condition matches nothing.
                    self.w.push("0 = 1");
                } else {
                    self.w.append(lhs);
                    self.w.push(" IN (");
                    for (i, item) in items.into_iter().enumerate() {
                        if i > 0 {
                            self.w.push(", ");
                        }
                        let item = prep(kind, item)?;
                        self.w.param(item);
                    }
                    self.w.push(")");
                }
            }
            (Lookup::Range, Expr::Value(Value::List(bounds))) if bounds.len() == 2 => {
                self.w.append(lhs);
                self.w.push(" BETWEEN ");
                let lo = prep(kind, bounds[0].clone())?;
                self.w.param(lo);
                self.w.push(" AND ");
                let hi = prep(kind, bounds[1].clone())?;
                self.w.param(hi);
            }
            (Lookup::In, e @ Expr::Subquery(_)) => {
                let rhs = self.rhs_sql(e, kind)?;
                self.w.append(lhs);
                self.w.push(" IN ");
                self.w.append(rhs);
            }
            (Lookup::Range | Lookup::In | Lookup::IsNull, _) => {
                return Err(Error::invalid(format!(
                    "'{path}' needs {}",
                    match lookup {
                        Lookup::Range => "a list of two values: [low, high]",
                        Lookup::In => "a list of values",
                        _ => "true or false",
                    }
                )))
            }
            (Lookup::Regex | Lookup::IRegex, Expr::Value(v)) => {
                // A regex is text whatever the column's kind.
                let rhs = self.rhs_sql(
                    &Expr::Value(Value::Text(value_text(v))),
                    FieldKind::TextField,
                )?;
                self.template(lookup, lhs, rhs);
            }
            (l, Expr::Value(Value::Text(s))) if l.is_pattern() || l == Lookup::IExact => {
                let pattern = self.w.dialect.pattern_value(l, s.as_str());
                let rhs = self.rhs_sql(&Expr::Value(Value::Text(pattern)), FieldKind::TextField)?;
                self.template(l, lhs, rhs);
            }
            (l, Expr::Value(v)) if l.is_pattern() || l == Lookup::IExact => {
                // Non-text values in pattern lookups match their text form, as in Django.
                let text = value_text(v);
                let pattern = self.w.dialect.pattern_value(l, &text);
                let rhs = self.rhs_sql(&Expr::Value(Value::Text(pattern)), FieldKind::TextField)?;
                self.template(l, lhs, rhs);
            }
            (l, e) => {
                let rhs = self.rhs_sql(e, kind)?;
                self.template(l, lhs, rhs);
            }
        }
        Ok(())
    }

    /// Records where the parameters [`Compiler::condition`] binds for `path <lookup>
    /// value` come from (condition number `leaf`), mirroring its cases.
    fn record_steps(&mut self, leaf: u32, lookup: Lookup, kind: FieldKind, v: &Value) {
        let step = |take, conv| Step { leaf, take, conv };
        let steps: &[Step] = match (lookup, v) {
            (Lookup::Exact | Lookup::IExact, Value::Null) | (Lookup::IsNull, _) => &[],
            (Lookup::In, Value::List(_)) => &[step(Take::Items, Conv::Field(kind))],
            (Lookup::Range, Value::List(b)) if b.len() == 2 => &[
                step(Take::Bound(0), Conv::Field(kind)),
                step(Take::Bound(1), Conv::Field(kind)),
            ],
            (Lookup::Range | Lookup::In, _) => &[],
            (Lookup::Regex | Lookup::IRegex, _) => &[step(Take::Whole, Conv::Text)],
            (l, _) if l.is_pattern() || l == Lookup::IExact => {
                &[step(Take::Whole, Conv::Pattern(l))]
            }
            _ => &[step(Take::Whole, Conv::Field(kind))],
        };
        if let Some(recipe) = self.w.recipe.as_mut() {
            for s in steps {
                recipe.push(*s);
            }
        }
    }

    /// Writes the dialect's template of `lookup` with both operands, their parameters in
    /// the order the operands appear.
    fn template(&mut self, lookup: Lookup, lhs: Fragment, rhs: Fragment) {
        let t = self.w.dialect.lookup_template(lookup);
        let (first, second) = match (t.find("{lhs}"), t.find("{rhs}")) {
            (Some(l), Some(r)) if r < l => (rhs.params, lhs.params),
            _ => (lhs.params, rhs.params),
        };
        self.w.params.extend(first);
        self.w.params.extend(second);
        if self.w.params_only {
            return;
        }
        let sql = t.replace("{lhs}", &lhs.sql).replace("{rhs}", &rhs.sql);
        self.w.sql.push_str(&sql);
    }

    /// The ORDER BY terms. `Meta.ordering` does not apply to a grouped query (Django
    /// 3.1 on): it would change the groups.
    fn order_by(&mut self, query: &Query) -> Result<Vec<OrderTerm>> {
        let mut terms = Vec::new();
        if self.w.params_only && !query.binds_outside_filters() {
            // Without annotations or expressions an ordering binds no parameter.
            return Ok(terms);
        }
        if query.order_by.is_none() && query.grouping != Grouping::None {
            return Ok(terms);
        }
        for o in &query.effective_ordering() {
            match o {
                OrderBy::Random => terms.push(OrderTerm {
                    sql: Fragment {
                        sql: self.w.dialect.random().to_owned(),
                        params: Vec::new(),
                    },
                    descending: false,
                    random: true,
                    groupable: false,
                    nulls: None,
                }),
                OrderBy::Expr {
                    expr,
                    descending,
                    nulls,
                } => {
                    let aggregate = expr_aggregates(self.annotations, expr);
                    if aggregate && query.grouping == Grouping::None {
                        return Err(Error::field(format!(
                            "Using an aggregate in order_by() without also including it in \
                             annotate() is not allowed: {expr:?}"
                        )));
                    }
                    let mark = self.w.mark();
                    self.expr(expr, None)?;
                    terms.push(OrderTerm {
                        sql: self.w.take_since(mark),
                        descending: *descending,
                        random: false,
                        groupable: !aggregate,
                        nulls: *nulls,
                    });
                }
                OrderBy::Field { path, descending } => {
                    self.order_term(path, *descending, &mut terms, 0)
                        .map_err(|e| match e {
                            Error::FieldError(m) => Error::field(format!("order_by(): {m}")),
                            e => e,
                        })?;
                }
            }
        }
        Ok(terms)
    }

    /// One ordering term; a path ending on a relation orders by the related model's
    /// `Meta.ordering` (its key when it has none), as Django does. An annotation's name
    /// orders by its alias when it is selected, else by its expression.
    fn order_term(
        &mut self,
        path: &str,
        descending: bool,
        terms: &mut Vec<OrderTerm>,
        depth: usize,
    ) -> Result<()> {
        if let Some(index) = self.annotation_index(path) {
            let aggregate = annotation_aggregates(self.annotations, index);
            let a = &self.annotations[index];
            let sql = if a.selected && self.qualify.is_none() {
                let mut f = Fragment::default();
                if !self.w.params_only {
                    self.w.dialect.quote(&mut f.sql, &a.name);
                }
                f
            } else {
                self.annotation_operand(index, path)?.0
            };
            terms.push(OrderTerm {
                sql,
                descending,
                random: false,
                groupable: !aggregate && !a.selected,
                nulls: None,
            });
            return Ok(());
        }
        let r = self.resolve_column(path)?;
        if let (Some(rel), true, true) = (r.field.relation, r.transforms.is_empty(), depth < 5) {
            let target = rel.target();
            if !target.ordering.is_empty() && !path.ends_with("_id") {
                for t in target.ordering {
                    if let OrderBy::Field {
                        path: sub,
                        descending: d,
                    } = OrderBy::parse(t)
                    {
                        self.order_term(
                            &format!("{path}__{sub}"),
                            descending != d,
                            terms,
                            depth + 1,
                        )?;
                    }
                }
                return Ok(());
            }
        }
        terms.push(OrderTerm {
            sql: Fragment {
                sql: self.lhs_sql(&r),
                params: Vec::new(),
            },
            descending,
            random: false,
            groupable: true,
            nulls: None,
        });
        Ok(())
    }

    /// Writes the columns of `meta` read through join `alias` (the `loaded` ones only,
    /// when `defer()`/`only()` leave some out).
    fn model_columns(
        &mut self,
        meta: &'static ModelMeta,
        alias: usize,
        loaded: Option<&[usize]>,
        out: &mut Vec<OutColumn>,
    ) {
        let all: Vec<usize>;
        let loaded = match loaded {
            Some(l) => l,
            None => {
                all = (0..meta.fields.len()).collect();
                &all
            }
        };
        for &i in loaded {
            let f = &meta.fields[i];
            if !out.is_empty() {
                self.w.push(", ");
            }
            let col = qualified(self.w.dialect, self.joins.alias(alias), f.column);
            self.w.push(&col);
            self.qualify_alias(out.len());
            out.push(OutColumn {
                name: f.name.to_owned(),
                kind: f.kind,
                decimal_places: f.decimal_places,
            });
        }
    }

    /// Names select-list column `i` `__col{i}` when an outer query filters on windows
    /// (the outer query reads it by that name; the names of a select list may repeat).
    fn qualify_alias(&mut self, i: usize) {
        if self.qualify.is_some() {
            self.w.push(" AS ");
            self.w.ident(&format!("__col{i}"));
        }
    }

    /// Writes the select list; returns the output columns and, for GROUP BY, what each
    /// item is.
    fn select_list(&mut self, query: &Query) -> Result<(Vec<OutColumn>, Vec<SelectItem>)> {
        let mut out = Vec::new();
        let mut items = Vec::new();
        if let Some(aggregates) = self.aggregate_list {
            for (name, e) in aggregates {
                if !out.is_empty() {
                    self.w.push(", ");
                }
                let typed = self.expr(e, None)?;
                self.w.push(" AS ");
                self.w.ident(name);
                out.push(OutColumn {
                    name: name.clone(),
                    kind: typed.kind,
                    decimal_places: typed.places,
                });
            }
            return Ok((out, items));
        }
        // Without annotations the select list binds no parameter: a params-only walk
        // skips it.
        if self.w.params_only && query.annotations.is_empty() {
            return Ok((out, items));
        }
        match &query.selection {
            Selection::Model => {
                let loaded = query.loaded_fields()?;
                self.model_columns(self.meta, 0, loaded.as_deref(), &mut out);
                let tree = match &query.select_related {
                    SelectRelated::None => None,
                    SelectRelated::All => Some(RelatedTree::all(self.meta, 5)),
                    SelectRelated::Paths(paths) => Some(RelatedTree::parse(self.meta, paths)?),
                };
                if let Some(tree) = tree {
                    let mut plan = RelatedPlan::default();
                    let restricted = matches!(query.select_related, SelectRelated::Paths(_));
                    let node = RelatedNode {
                        meta: self.meta,
                        alias: 0,
                        prefix: String::new(),
                        loaded: loaded.as_deref(),
                    };
                    self.select_related(query, &node, &tree, restricted, &mut plan, &mut out)?;
                    self.related = Some(plan);
                }
                self.loaded = loaded;
                // Every column so far is a plain column: grouped by position.
                items.extend((0..out.len()).map(|_| SelectItem::Column(String::new())));
                let start = out.len();
                for (i, a) in query.annotations.iter().enumerate() {
                    if a.selected {
                        self.annotation_column(i, &mut out, &mut items)?;
                    }
                }
                self.annotation_columns = start..out.len();
                if let Some(path) = &query.group_key {
                    let r = self.resolve_column(path)?;
                    let lhs = self.lhs_sql(&r);
                    self.w.push(", ");
                    self.w.push(&lhs);
                    self.qualify_alias(out.len());
                    out.push(OutColumn {
                        name: path.clone(),
                        kind: r.output_kind(),
                        decimal_places: None,
                    });
                    items.push(SelectItem::Column(lhs));
                }
            }
            Selection::Values(paths) => {
                let all: Vec<Name>;
                let paths = if paths.is_empty() {
                    // Django's `values()`: every field, relations by their key's name.
                    all = self
                        .meta
                        .fields
                        .iter()
                        .map(|f| match f.relation {
                            Some(_) => Name::Owned(format!("{}_id", f.name)),
                            None => Name::Borrowed(f.name),
                        })
                        .collect();
                    &all
                } else {
                    paths
                };
                for p in paths {
                    if let Some(i) = self.annotation_index(p) {
                        self.annotation_column(i, &mut out, &mut items)?;
                        continue;
                    }
                    if !out.is_empty() {
                        self.w.push(", ");
                    }
                    let r = self.resolve_column(p)?;
                    let lhs = self.lhs_sql(&r);
                    self.w.push(&lhs);
                    if self.qualify.is_some() {
                        self.qualify_alias(out.len());
                    } else if self.alias_values {
                        self.w.push(" AS ");
                        self.w.ident(p);
                    }
                    out.push(OutColumn {
                        name: p.to_string(),
                        kind: r.output_kind(),
                        decimal_places: r.field.decimal_places.filter(|_| r.transforms.is_empty()),
                    });
                    items.push(SelectItem::Column(lhs));
                }
                for (i, a) in query.annotations.iter().enumerate() {
                    if a.selected && !paths.iter().any(|p| *p == a.name) {
                        self.annotation_column(i, &mut out, &mut items)?;
                    }
                }
            }
        }
        Ok((out, items))
    }

    /// Writes annotation `index` as `expr AS "name"`.
    fn annotation_column(
        &mut self,
        index: usize,
        out: &mut Vec<OutColumn>,
        items: &mut Vec<SelectItem>,
    ) -> Result<()> {
        if !out.is_empty() {
            self.w.push(", ");
        }
        let a = &self.annotations[index];
        let (fragment, typed) = self.annotation_operand(index, &a.name)?;
        let item = if annotation_aggregates(self.annotations, index) || a.expr.contains_window() {
            SelectItem::Aggregate
        } else if fragment_is_constant(&a.expr) {
            SelectItem::Constant
        } else {
            SelectItem::Expression
        };
        self.w.append(fragment);
        if self.qualify.is_some() {
            self.qualify_alias(out.len());
        } else {
            self.w.push(" AS ");
            self.w.ident(&a.name);
        }
        out.push(OutColumn {
            name: a.name.clone(),
            kind: typed.kind,
            decimal_places: typed.places,
        });
        items.push(item);
        Ok(())
    }

    /// The GROUP BY of a grouped query: selected items by position (their parameters
    /// are not bound twice), the grouping fields not selected, and the ordering's
    /// columns, as Django's `get_group_by` collects them.
    fn group_by(
        &mut self,
        query: &Query,
        items: &[SelectItem],
        order: &[OrderTerm],
    ) -> Result<Fragment> {
        let mark = self.w.mark();
        let mut g = GroupTerms::default();
        let position_of = |sql: &str| selected_position(items, sql);
        match (&query.grouping, &query.selection) {
            (Grouping::None, _) => return Ok(self.w.take_since(mark)),
            (Grouping::Model, Selection::Model) => {
                for (i, item) in items.iter().enumerate() {
                    if matches!(item, SelectItem::Column(_) | SelectItem::Expression) {
                        g.position(&mut self.w, i);
                    }
                }
            }
            (Grouping::Model, Selection::Values(_)) | (Grouping::Values(_), _) => {
                let paths: Vec<Name> = match &query.grouping {
                    Grouping::Values(p) if !p.is_empty() => p.clone(),
                    _ => self
                        .meta
                        .fields
                        .iter()
                        .map(|f| Name::Borrowed(f.name))
                        .collect(),
                };
                for p in &paths {
                    if let Some(i) = self.annotation_index(p) {
                        let a = &self.annotations[i];
                        if annotation_aggregates(self.annotations, i)
                            || fragment_is_constant(&a.expr)
                        {
                            continue;
                        }
                        if a.selected {
                            if let Some(pos) = self.selected_annotation_position(query, i, items) {
                                g.position(&mut self.w, pos);
                                continue;
                            }
                        }
                        let (f, _) = self.annotation_operand(i, p)?;
                        g.fragment(&mut self.w, f);
                        continue;
                    }
                    let r = self.resolve_column(p)?;
                    self.group_column(&mut g, items, &r);
                }
                // Every selected column and expression, not only the grouping
                // fields: Django's get_group_by adds the select list's columns
                // (`values("name").annotate(...).values_list("pk")` groups by both).
                for (i, item) in items.iter().enumerate() {
                    let column = matches!(item, SelectItem::Column(c) if !c.is_empty());
                    if column || matches!(item, SelectItem::Expression) {
                        g.position(&mut self.w, i);
                    }
                }
            }
        }
        // The columns HAVING reads outside aggregates (`pages__gt=F("n_authors")`,
        // `n=F("publisher__num_awards")`): grouped, as Django's having_group_by.
        let model_grouped = matches!(query.grouping, Grouping::Model)
            && matches!(query.selection, Selection::Model);
        for (call, q) in std::mem::take(&mut self.having_parts) {
            let mut paths: Vec<&str> = Vec::new();
            q.walk_lookup_paths(&mut |p| paths.push(p));
            let saved = self.filter_call;
            self.filter_call = call;
            for p in paths {
                if let Some((i, _)) = self.annotation_prefix(p) {
                    if annotation_aggregates(self.annotations, i)
                        || fragment_is_constant(&self.annotations[i].expr)
                    {
                        continue;
                    }
                    let selected = self.annotations[i]
                        .selected
                        .then(|| self.selected_annotation_position(query, i, items))
                        .flatten();
                    match selected {
                        Some(pos) => g.position(&mut self.w, pos),
                        None => {
                            let (f, _) = self.annotation_operand(i, p)?;
                            g.fragment(&mut self.w, f);
                        }
                    }
                    continue;
                }
                let PathEnd::Column(r) = self.resolve(p, true, false)? else {
                    continue;
                };
                if model_grouped && r.alias == 0 {
                    // The model's own columns are all grouped already.
                    continue;
                }
                self.group_column(&mut g, items, &r);
            }
            self.filter_call = saved;
        }
        // The columns an aggregating annotation reads outside its aggregates (`Case(
        // When(x__isnull=True), default=Max(...))` reads x): grouped too, as Django does.
        for i in 0..self.annotations.len() {
            let a = &self.annotations[i];
            if !a.selected || !annotation_aggregates(self.annotations, i) {
                continue;
            }
            let mut paths: Vec<&str> = Vec::new();
            a.expr.walk_group_paths(&mut |p| paths.push(p));
            let saved = self.joins.horizon;
            if let Some(&h) = self.annotation_horizons.get(i) {
                self.joins.horizon = h;
            }
            for p in paths {
                if self.annotation_prefix(p).is_some() {
                    continue;
                }
                let PathEnd::Column(r) = self.resolve(p, true, false)? else {
                    continue;
                };
                self.group_column(&mut g, items, &r);
            }
            self.joins.horizon = saved;
        }
        for t in order.iter().filter(|t| t.groupable) {
            match position_of(&t.sql.sql) {
                Some(i) => g.position(&mut self.w, i),
                None if t.sql.params.is_empty() => g.column(&mut self.w, t.sql.sql.clone()),
                None => g.fragment(&mut self.w, t.sql.clone()),
            }
        }
        Ok(self.w.take_since(mark))
    }

    /// Groups by the column `r`: by its position when the select list holds it.
    fn group_column(&mut self, g: &mut GroupTerms, items: &[SelectItem], r: &Resolved) {
        let sql = self.lhs_sql(r);
        match selected_position(items, &sql) {
            Some(i) => g.position(&mut self.w, i),
            None => g.column(&mut self.w, sql),
        }
    }

    /// The position in the select list of selected annotation `index`.
    fn selected_annotation_position(
        &self,
        query: &Query,
        index: usize,
        items: &[SelectItem],
    ) -> Option<usize> {
        let name = &self.annotations[index].name;
        match &query.selection {
            Selection::Values(paths) if !paths.is_empty() => {
                let named = paths.iter().position(|p| p == name);
                named.or_else(|| {
                    let after = query
                        .annotations
                        .iter()
                        .filter(|a| a.selected && !paths.iter().any(|p| *p == a.name))
                        .position(|a| &a.name == name)?;
                    Some(paths.len() + after)
                })
            }
            _ => {
                let before = query.annotations[..index]
                    .iter()
                    .filter(|a| a.selected)
                    .count();
                let fields = items.len()
                    - query.annotations.iter().filter(|a| a.selected).count()
                    - usize::from(query.group_key.is_some());
                Some(fields + before)
            }
        }
    }

    /// Joins and selects the related models of `tree`, depth first, recording the
    /// hydration plan.
    fn select_related(
        &mut self,
        query: &Query,
        node: &RelatedNode<'_>,
        tree: &RelatedTree,
        restricted: bool,
        plan: &mut RelatedPlan,
        out: &mut Vec<OutColumn>,
    ) -> Result<()> {
        let (meta, alias) = (node.meta, node.alias);
        for (step, children) in &tree.children {
            if let (RelatedStep::Field(i), Some(loaded)) = (step, node.loaded) {
                if !loaded.contains(i) {
                    // Django: a deferred key is not followed by `select_related()`,
                    // and naming it is an error.
                    if !restricted {
                        continue;
                    }
                    return Err(Error::field(format!(
                        "Field {}.{} cannot be both deferred and traversed using \
                         select_related at the same time.",
                        meta.name, meta.fields[*i].name
                    )));
                }
            }
            let name = match step {
                RelatedStep::Field(i) => meta.fields[*i].name,
                RelatedStep::Reverse(rev) => rev.query_name.as_str(),
            };
            let (target, join, mut child) = match *step {
                RelatedStep::Field(field_index) => {
                    let field = &meta.fields[field_index];
                    let rel = field.relation.expect("RelatedTree holds relation fields");
                    let target = rel.target();
                    let (_, key) = rel.target_field();
                    let join = self.joins.join(JoinRequest {
                        parent: alias,
                        table: target.db_table,
                        lhs_col: field.column,
                        rhs_col: key.column,
                        nullable: field.null,
                        multi: false,
                        filter_call: None,
                        extra: None,
                    });
                    let plan = RelatedPlan {
                        field: field_index,
                        ..RelatedPlan::default()
                    };
                    (target, join, plan)
                }
                RelatedStep::Reverse(rev) => {
                    // The row pointing back may be missing: always a LEFT OUTER JOIN.
                    let (_, key) = rev.relation.target_field();
                    let join = self.joins.join(JoinRequest {
                        parent: alias,
                        table: rev.model.db_table,
                        lhs_col: key.column,
                        rhs_col: rev.field.column,
                        nullable: true,
                        multi: false,
                        filter_call: None,
                        extra: None,
                    });
                    let plan = RelatedPlan {
                        reverse: Some(rev),
                        ..RelatedPlan::default()
                    };
                    (rev.model, join, plan)
                }
            };
            let before = out.len();
            let prefix = format!("{}{name}__", node.prefix);
            let loaded = query.loaded_fields_at(target, &prefix)?;
            self.model_columns(target, join, loaded.as_deref(), out);
            let next = RelatedNode {
                meta: target,
                alias: join,
                prefix,
                loaded: loaded.as_deref(),
            };
            self.select_related(query, &next, children, restricted, &mut child, out)?;
            child.width = out.len() - before;
            child.loaded = loaded;
            plan.children.push(child);
        }
        Ok(())
    }

    /// Compiles the WHERE and ORDER BY first (they decide the joins and their types),
    /// then assembles `SELECT list FROM joins WHERE ... GROUP BY ... HAVING ... ORDER BY`
    /// with each part's parameters in the order their placeholders appear.
    pub(super) fn select(
        &mut self,
        query: &Query,
        head: &str,
        order: bool,
    ) -> Result<Vec<OutColumn>> {
        let qualify = query.filters_read_windows();
        let groups = query.grouping != Grouping::None || query.has_aggregate_annotation();
        if self.w.params_only && !query.binds_outside_filters() && !qualify {
            // A statement-cache hit where only the filters bind parameters: collect
            // theirs, with no fragment to move.
            self.filters(&query.filters, groups)?;
            return Ok(Vec::new());
        }
        if qualify {
            if !head.ends_with(' ') {
                return Err(Error::invalid(
                    "Internal: a query filtering on a window function is counted over a subquery",
                ));
            }
            self.qualify = Some(Vec::new());
        }
        let base = self.w.mark();
        self.filters(&query.filters, groups)?;
        let where_ = self.w.take_since(base);
        let order_terms = if order {
            self.order_by(query)?
        } else {
            Vec::new()
        };
        if !query.distinct_fields.is_empty() && head.starts_with("SELECT DISTINCT") {
            if !self.w.dialect.supports_distinct_on() {
                return Err(Error::invalid(
                    "DISTINCT ON fields is not supported by this database backend",
                ));
            }
            let mut terms = Vec::with_capacity(query.distinct_fields.len());
            for path in &query.distinct_fields {
                // An annotation (not an alias, as Django refuses those) or a field.
                let annotation = self
                    .annotation_index(path)
                    .filter(|&i| !self.annotations[i].alias);
                terms.push(match annotation {
                    Some(i) => self.annotation_operand(i, path)?.0,
                    None => {
                        let r = self.resolve_column(path)?;
                        Fragment {
                            sql: self.lhs_sql(&r),
                            params: Vec::new(),
                        }
                    }
                });
            }
            self.w.push("SELECT DISTINCT ON (");
            for (i, t) in terms.into_iter().enumerate() {
                if i > 0 {
                    self.w.push(", ");
                }
                self.w.append(t);
            }
            self.w.push(") ");
        } else {
            self.w.push(head);
        }
        let (columns, items) = if head.ends_with(' ') {
            self.select_list(query)?
        } else {
            (Vec::new(), Vec::new())
        };
        // Filtering on windows: the waiting conditions and the ordering are computed
        // as columns, read by the outer query.
        let outer_order = match self.qualify.take() {
            Some(parts) => {
                let waiting = parts.len();
                for (i, part) in parts.into_iter().enumerate() {
                    self.w.push(", ");
                    self.expr(&Expr::Condition(Box::new(part)), None)?;
                    self.w.push(" AS ");
                    self.w.ident(&format!("__qualify_{i}"));
                }
                let keep_inner = !query.distinct_fields.is_empty();
                let mut outer = Vec::with_capacity(order_terms.len());
                for (i, t) in order_terms.iter().enumerate() {
                    if t.random {
                        continue;
                    }
                    self.w.push(", ");
                    self.w.append(t.sql.clone());
                    self.w.push(" AS ");
                    self.w.ident(&format!("__order_{i}"));
                }
                for (i, t) in order_terms.iter().enumerate() {
                    let mut sql = Fragment::default();
                    if t.random {
                        sql = t.sql.clone();
                    } else if !self.w.params_only {
                        sql.sql = qualified(self.w.dialect, "qualify", &format!("__order_{i}"));
                    }
                    outer.push(OrderTerm {
                        sql,
                        descending: t.descending,
                        random: t.random,
                        groupable: false,
                        nulls: t.nulls,
                    });
                }
                Some((outer, keep_inner, waiting))
            }
            None => None,
        };
        let group_by = if head.ends_with(' ') {
            self.group_by(query, &items, &order_terms)?
        } else {
            Fragment::default()
        };
        if !self.w.params_only {
            self.joins.write_from(&mut self.w.sql, self.w.dialect);
        }
        self.w.append(where_);
        self.w.append(group_by);
        let having = std::mem::take(&mut self.having);
        self.w.append(having);
        let order_terms = match outer_order {
            Some((outer, keep_inner, waiting)) => {
                if keep_inner {
                    // DISTINCT ON keeps the first row of each group by the ordering.
                    self.write_order(order_terms);
                }
                self.wrap_qualify(base, &columns, waiting);
                outer
            }
            None => order_terms,
        };
        self.write_order(order_terms);
        Ok(columns)
    }

    /// Writes ORDER BY.
    fn write_order(&mut self, order_terms: Vec<OrderTerm>) {
        for (i, t) in order_terms.into_iter().enumerate() {
            self.w.push(if i == 0 { " ORDER BY " } else { ", " });
            if t.random {
                self.w.append(t.sql);
            } else {
                self.w.ordered(t.sql, t.descending, t.nulls);
            }
        }
    }

    /// Wraps what was written since `base` (a query whose columns are `__col0`...,
    /// followed by the `__qualify_N` conditions) in the outer query that applies them:
    /// `SELECT "qualify"."__col0" AS "name", ... FROM (...) "qualify" WHERE
    /// "qualify"."__qualify_0" AND ...`.
    fn wrap_qualify(&mut self, base: (usize, usize), columns: &[OutColumn], waiting: usize) {
        let inner = self.w.take_since(base);
        let dialect = self.w.dialect;
        self.w.push("SELECT ");
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                self.w.push(", ");
            }
            self.w
                .push(&qualified(dialect, "qualify", &format!("__col{i}")));
            if columns.iter().filter(|o| o.name == c.name).count() == 1 {
                self.w.push(" AS ");
                self.w.ident(&c.name);
            }
        }
        self.w.push(" FROM (");
        self.w.append(inner);
        self.w.push(") ");
        self.w.ident("qualify");
        for i in 0..waiting {
            self.w.push(if i == 0 { " WHERE " } else { " AND " });
            self.w
                .push(&qualified(dialect, "qualify", &format!("__qualify_{i}")));
        }
    }
}

/// One term of ORDER BY.
struct OrderTerm {
    sql: Fragment,
    descending: bool,
    random: bool,
    /// A column or expression that must be in the GROUP BY of a grouped query.
    groupable: bool,
    /// Where NULLs go.
    nulls: Option<Nulls>,
}

/// The GROUP BY terms written so far (each once).
#[derive(Default)]
struct GroupTerms {
    terms: Vec<String>,
}

impl GroupTerms {
    fn sep(&self, w: &mut SqlWriter<'_>) {
        w.push(if self.terms.is_empty() {
            " GROUP BY "
        } else {
            ", "
        });
    }

    /// The select-list item at `i`, by its 1-based position.
    fn position(&mut self, w: &mut SqlWriter<'_>, i: usize) {
        let t = (i + 1).to_string();
        if !self.terms.contains(&t) {
            self.sep(w);
            w.push(&t);
            self.terms.push(t);
        }
    }

    /// A column that is not selected.
    fn column(&mut self, w: &mut SqlWriter<'_>, sql: String) {
        if w.params_only || !self.terms.contains(&sql) {
            self.sep(w);
            w.push(&sql);
            self.terms.push(sql);
        }
    }

    /// An expression that is not selected (its parameters bound again).
    fn fragment(&mut self, w: &mut SqlWriter<'_>, f: Fragment) {
        self.sep(w);
        let key = f.sql.clone();
        w.append(f);
        self.terms.push(key);
    }
}

/// The position of the plain column `sql` in the select list.
fn selected_position(items: &[SelectItem], sql: &str) -> Option<usize> {
    items
        .iter()
        .position(|i| matches!(i, SelectItem::Column(c) if c == sql && !c.is_empty()))
}

/// What a select-list item is, for GROUP BY.
enum SelectItem {
    /// A column (its SQL, or empty where only the position matters).
    Column(String),
    /// An annotation computing from columns: grouped by.
    Expression,
    /// An annotation holding an aggregate: not grouped by.
    Aggregate,
    /// An annotation reading no column: not grouped by.
    Constant,
}

/// True when an expression reads no column (Django's `Value` has no group-by columns).
fn fragment_is_constant(e: &Expr) -> bool {
    let mut any = false;
    e.walk_fields(&mut |_| any = true);
    // A correlated subquery reads the row: it is grouped like a column.
    e.walk(&mut |node| {
        if let Expr::Subquery(sub) = node {
            sub.query.walk_outer_refs(0, &mut |_, _| any = true);
        }
    });
    !any
}

/// One step of a `select_related` path.
#[derive(Debug, Clone, Copy, PartialEq)]
enum RelatedStep {
    /// A forward foreign key or one-to-one field (its index).
    Field(usize),
    /// The reverse side of a one-to-one field (`place` → `restaurant`).
    Reverse(&'static ReverseRelation),
}

/// A model `select_related` reaches: its join, its path (`"related__"`) and the fields
/// `defer()`/`only()` load of it.
struct RelatedNode<'l> {
    meta: &'static ModelMeta,
    alias: usize,
    prefix: String,
    loaded: Option<&'l [usize]>,
}

/// The `select_related` paths as a tree of steps.
#[derive(Debug, Default)]
struct RelatedTree {
    children: Vec<(RelatedStep, RelatedTree)>,
}

impl RelatedTree {
    /// Every non-NULL forward relation, `depth` levels down (`select_related()` with no
    /// argument).
    fn all(meta: &'static ModelMeta, depth: usize) -> RelatedTree {
        let mut tree = RelatedTree::default();
        if depth == 0 {
            return tree;
        }
        for (i, f) in meta.fields.iter().enumerate() {
            if let (Some(rel), false) = (f.relation, f.null) {
                tree.children.push((
                    RelatedStep::Field(i),
                    RelatedTree::all(rel.target(), depth - 1),
                ));
            }
        }
        tree
    }

    fn parse(meta: &'static ModelMeta, paths: &[String]) -> Result<RelatedTree> {
        let mut tree = RelatedTree::default();
        for path in paths {
            let mut node = &mut tree;
            let mut model = meta;
            for part in path.split("__") {
                let (step, next) = match model.field(part).filter(|(_, f)| f.name == part) {
                    Some((i, f)) => match f.relation {
                        Some(rel) => (RelatedStep::Field(i), rel.target()),
                        None => {
                            return Err(select_related_error("Non-relational field", model, part))
                        }
                    },
                    None => match reverse_one_to_one(model, part) {
                        Some(rev) => (RelatedStep::Reverse(rev), rev.model),
                        None => {
                            return Err(select_related_error("Invalid field name(s)", model, part))
                        }
                    },
                };
                let pos = match node.children.iter().position(|(s, _)| *s == step) {
                    Some(p) => p,
                    None => {
                        node.children.push((step, RelatedTree::default()));
                        node.children.len() - 1
                    }
                };
                node = &mut node.children[pos].1;
                model = next;
            }
        }
        Ok(tree)
    }
}

/// The reverse side of a one-to-one field that `select_related` names by its query name
/// (`restaurant`, as in Django).
fn reverse_one_to_one(model: &'static ModelMeta, name: &str) -> Option<&'static ReverseRelation> {
    model
        .reverse_relations()
        .iter()
        .copied()
        .find(|r| r.is_one_to_one() && r.query_name == name)
}

#[cold]
fn select_related_error(what: &str, model: &'static ModelMeta, part: &str) -> Error {
    let mut choices: Vec<&str> = model
        .fields
        .iter()
        .filter(|f| f.relation.is_some())
        .map(|f| f.name)
        .chain(
            model
                .reverse_relations()
                .iter()
                .filter(|r| r.is_one_to_one())
                .map(|r| r.query_name.as_str()),
        )
        .collect();
    choices.sort_unstable();
    let choices = if choices.is_empty() {
        "(none)".to_owned()
    } else {
        choices.join(", ")
    };
    Error::field(format!(
        "{what} given in select_related: '{part}'. Choices are: {choices}"
    ))
}

trait PartitionVotes {
    fn partition_map_votes(self, n: usize) -> (Vec<usize>, Vec<usize>);
}

impl<'a, I: Iterator<Item = &'a (usize, usize)>> PartitionVotes for I {
    /// Under OR: joins every branch needs are demoted, the others promoted.
    fn partition_map_votes(self, n: usize) -> (Vec<usize>, Vec<usize>) {
        let mut demote = Vec::new();
        let mut promote = Vec::new();
        for &(j, v) in self {
            if v == n {
                demote.push(j);
            } else {
                promote.push(j);
            }
        }
        (demote, promote)
    }
}

pub(super) fn value_text(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        Value::I64(i) => i.to_string(),
        Value::F64(f) => f.to_string(),
        Value::Decimal(d) => d.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Date(d) => d.to_string(),
        Value::Uuid(u) => u.simple().to_string(),
        other => format!("{other:?}"),
    }
}

/// Compiles the SELECT of a query.
pub fn select(query: &Query, dialect: &dyn Dialect) -> Result<Compiled> {
    select_with(query, SqlWriter::new(dialect))
}

/// The parameters `kind` of `query` binds, without writing its SQL.
pub(crate) fn params_of(
    query: &Query,
    kind: StatementKind,
    dialect: &dyn Dialect,
) -> Result<Vec<Value>> {
    let w = SqlWriter::params_only(dialect);
    Ok(match kind {
        StatementKind::Select => select_with(query, w)?.params,
        StatementKind::Count => count_with(query, w)?.params,
        StatementKind::Exists => exists_with(query, w)?.params,
    })
}

/// Compiles `kind` of `query`, recording the parameters' recipe where it can.
pub(crate) fn compile(
    query: &Query,
    kind: StatementKind,
    dialect: &dyn Dialect,
) -> Result<Compiled> {
    let w = SqlWriter::recording(dialect);
    match kind {
        StatementKind::Select => select_with(query, w),
        StatementKind::Count => count_with(query, w),
        StatementKind::Exists => exists_with(query, w),
    }
}

/// The read statements the statement cache holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum StatementKind {
    /// The rows.
    Select,
    /// `SELECT COUNT(*)`.
    Count,
    /// `SELECT 1 ... LIMIT 1`.
    Exists,
}

fn select_with(query: &Query, w: SqlWriter<'_>) -> Result<Compiled> {
    let (w, columns, related, annotations, loaded) = select_raw(query, w)?;
    let mut compiled = w.finish(columns);
    compiled.related = related;
    compiled.annotations = annotations;
    compiled.loaded = loaded;
    Ok(compiled)
}

/// A compiled SELECT whose placeholders are not numbered yet: the writer, the output
/// columns, the `select_related` plan and the annotation columns.
type RawSelect<'d> = (
    SqlWriter<'d>,
    Vec<OutColumn>,
    Option<RelatedPlan>,
    std::ops::Range<usize>,
    Option<Vec<usize>>,
);

/// Compiles the SELECT of `query` after whatever `w` holds, leaving placeholders
/// unnumbered so that the statement can be embedded in another.
fn select_raw<'d>(query: &Query, w: SqlWriter<'d>) -> Result<RawSelect<'d>> {
    if let Some(combined) = &query.combined {
        return combined_raw(query, combined, w);
    }
    let mut c = Compiler::for_query(query, w);
    let dialect = c.w.dialect;
    let head = if query.distinct {
        "SELECT DISTINCT "
    } else {
        "SELECT "
    };
    let columns = c.select(query, head, true)?;
    if !c.w.params_only {
        dialect.limit_offset(&mut c.w.sql, query.limit, query.offset);
    }
    let related = c.related.take();
    let annotations = c.annotation_columns.clone();
    let loaded = c.loaded.take();
    Ok((c.w, columns, related, annotations, loaded))
}

/// `SELECT ... UNION [ALL] SELECT ...` (or INTERSECT, EXCEPT), then the combined rows'
/// ORDER BY (by the position of a selected column, as Django orders them) and slice.
fn combined_raw<'d>(query: &Query, combined: &Combined, w: SqlWriter<'d>) -> Result<RawSelect<'d>> {
    let part = |q: &Query| {
        let mut q = q.clone();
        q.combined = None;
        q.order_by = Some(Vec::new());
        q.reversed = false;
        q.offset = 0;
        q.limit = None;
        // `none()` in a combination selects no row.
        q.write_empty_as_filter();
        q
    };
    for other in &combined.others {
        if other.is_sliced() || other.order_by.as_ref().is_some_and(|o| !o.is_empty()) {
            return Err(Error::invalid(
                "ORDER BY not allowed in subqueries of compound statements: order and slice \
                 the combined QuerySet instead.",
            ));
        }
    }
    let (mut w, columns, related, annotations, loaded) = match &combined.first {
        // A combination of another operation on the left: `SELECT * FROM (a UNION b)`.
        Some(first) => {
            let mut w = w;
            w.push("SELECT * FROM (");
            let (mut w, columns, related, annotations, loaded) = select_raw(first, w)?;
            w.push(") ");
            w.ident("__left");
            (w, columns, related, annotations, loaded)
        }
        None => select_raw(&part(query), w)?,
    };
    let keyword = match (combined.op, combined.all) {
        (SetOp::Union, false) => " UNION ",
        (SetOp::Union, true) => " UNION ALL ",
        (SetOp::Intersection, _) => " INTERSECT ",
        (SetOp::Difference, _) => " EXCEPT ",
    };
    for other in &combined.others {
        w.push(keyword);
        let (next, other_columns, ..) = select_raw(&part(other), w)?;
        if other_columns.len() != columns.len() && !next.params_only {
            return Err(Error::invalid(format!(
                "The QuerySets combined by a set operation must select the same number of \
                 columns ({} and {}).",
                columns.len(),
                other_columns.len()
            )));
        }
        w = next;
    }
    let pk = query.model.pk_field().name;
    let mut terms = Vec::new();
    for o in query.effective_ordering() {
        let (path, descending) = match &o {
            OrderBy::Field { path, descending } => (path.as_str(), *descending),
            _ => {
                return Err(Error::invalid(
                    "After union(), intersection() or difference(), order_by() takes the \
                     names of selected fields only.",
                ))
            }
        };
        let name = if path == "pk" { pk } else { path };
        let Some(i) = columns.iter().position(|c| c.name == name) else {
            return Err(Error::field(format!(
                "ORDER BY term does not match any column in the result set: '{path}'. \
                 Choices are: {}",
                columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        terms.push(format!(
            "{}{}",
            i + 1,
            if descending { " DESC" } else { " ASC" }
        ));
    }
    if !terms.is_empty() {
        w.push(" ORDER BY ");
        w.push(&terms.join(", "));
    }
    if !w.params_only {
        let dialect = w.dialect;
        dialect.limit_offset(&mut w.sql, query.limit, query.offset);
    }
    Ok((w, columns, related, annotations, loaded))
}

/// Compiles `aggregate()`: `SELECT agg AS name, ... FROM ... WHERE ...`, or, over a
/// QuerySet whose rows are groups, slices or distinct rows, the aggregates of a
/// subquery selecting those rows (the columns the aggregates read, by name).
pub fn aggregate(
    query: &Query,
    aggregates: &[(String, Expr)],
    dialect: &dyn Dialect,
) -> Result<Compiled> {
    let over_subquery = query.is_sliced()
        || query.distinct
        || query.grouping != Grouping::None
        || query.has_aggregate_annotation()
        || query.filters_read_windows();
    if !over_subquery {
        // `SELECT agg AS name, ... FROM ... WHERE ...`: the query's own joins, no
        // grouping, no ordering.
        let q = bare(query, None);
        let mut c = Compiler::for_query(&q, SqlWriter::new(dialect));
        c.aggregate_list = Some(aggregates);
        let columns = c.select(&q, "SELECT ", false)?;
        return Ok(c.w.finish(columns));
    }
    // What the aggregates read: annotations and field paths, selected by the subquery
    // under their own names.
    // An aggregate's `filter=` becomes a boolean column of the subquery, computed on
    // its rows (a condition on an annotation sees the annotation), and the outer
    // aggregate filters on that column.
    let mut aggregates: Vec<(String, Expr)> = aggregates.to_vec();
    let mut conditions: Vec<(String, Q)> = Vec::new();
    // So do the conditions of `When` and of conditions used as values: they name the
    // subquery's rows, not the outer query's columns.
    for (_, e) in &mut aggregates {
        e.walk_mut(&mut |node| {
            let mut lift = |q: Q| {
                let name = format!("__quarry_filter_{}", conditions.len());
                conditions.push((name.clone(), q));
                name
            };
            match node {
                Expr::Aggregate(a) => {
                    if let Some(q) = a.filter.take() {
                        a.filter = Some(Q::Expr(Expr::Field(lift(q))));
                    }
                }
                Expr::Case(c) => {
                    for w in &mut c.whens {
                        if !matches!(&w.condition, Q::Expr(Expr::Field(p)) if p.starts_with("__quarry_filter_"))
                        {
                            let q = std::mem::take(&mut w.condition);
                            w.condition = Q::Expr(Expr::Field(lift(q)));
                        }
                    }
                }
                Expr::Condition(q) => {
                    let q = std::mem::take(&mut **q);
                    *node = Expr::Field(lift(q));
                }
                _ => {}
            }
        });
    }
    let aggregates = &aggregates[..];
    let mut needed: Vec<Name> = Vec::new();
    for (_, e) in aggregates {
        e.walk_fields(&mut |p| {
            if !needed.iter().any(|n| n == p) {
                needed.push(Name::Owned(p.to_owned()));
            }
        });
    }
    if query.distinct {
        // DISTINCT applies to the rows as the QuerySet selects them: its columns first,
        // then what the aggregates read (Django keeps the select list and adds theirs).
        let mut selected: Vec<Name> = match &query.selection {
            Selection::Values(paths) if !paths.is_empty() => paths.clone(),
            _ => {
                let mut all: Vec<Name> = query
                    .model
                    .fields
                    .iter()
                    .map(|f| Name::Borrowed(f.name))
                    .collect();
                all.extend(
                    query
                        .annotations
                        .iter()
                        .filter(|a| a.selected && !a.alias)
                        .map(|a| Name::Owned(a.name.clone())),
                );
                all
            }
        };
        for n in needed.drain(..) {
            if !selected.contains(&n) {
                selected.push(n);
            }
        }
        needed = selected;
    }
    if needed.is_empty() {
        needed = match &query.grouping {
            Grouping::Values(paths) if !paths.is_empty() => paths.clone(),
            _ => vec![Name::Borrowed(query.model.pk_field().name)],
        };
    }
    let mut inner = bare(query, Some(Selection::Values(needed.clone())));
    for (name, q) in conditions {
        inner.annotations.push(Annotation {
            name,
            expr: Expr::Condition(Box::new(q)),
            selected: true,
            alias: false,
            after_filters: inner.filters.len(),
        });
    }
    for a in &mut inner.annotations {
        a.selected = needed.iter().any(|n| *n == a.name);
    }
    let (inner_w, columns) = if inner.combined.is_some() {
        let (w, columns, ..) = select_raw(&inner, SqlWriter::new(dialect))?;
        (w, columns)
    } else {
        // Columns named by their paths (`publisher`, not `publisher_id`): the outer
        // aggregates read them by name.
        let mut ic = Compiler::for_query(&inner, SqlWriter::new(dialect));
        ic.alias_values = true;
        let head = if inner.distinct {
            "SELECT DISTINCT "
        } else {
            "SELECT "
        };
        let columns = ic.select(&inner, head, true)?;
        dialect.limit_offset(&mut ic.w.sql, inner.limit, inner.offset);
        (ic.w, columns)
    };
    let mut c = Compiler::new(query.model, SqlWriter::new(dialect));
    c.outer_of = Some(columns);
    c.w.push("SELECT ");
    let mut out = Vec::with_capacity(aggregates.len());
    for (i, (name, e)) in aggregates.iter().enumerate() {
        if i > 0 {
            c.w.push(", ");
        }
        let typed = c.expr(e, None)?;
        c.w.push(" AS ");
        c.w.ident(name);
        out.push(OutColumn {
            name: name.clone(),
            kind: typed.kind,
            decimal_places: typed.places,
        });
    }
    c.w.push(" FROM (");
    c.w.append(Fragment {
        sql: inner_w.sql,
        params: inner_w.params,
    });
    c.w.push(") ");
    c.w.ident("subquery");
    Ok(c.w.finish(out))
}

/// Compiles `SELECT COUNT(*)` of a query (over a subquery when sliced or distinct).
pub fn count(query: &Query, dialect: &dyn Dialect) -> Result<Compiled> {
    count_with(query, SqlWriter::new(dialect))
}

/// The query without its ordering or `select_related`, selecting what a subquery needs.
fn bare(query: &Query, selection: Option<Selection>) -> Query {
    let mut inner = query.clone();
    inner.order_by = Some(Vec::new());
    inner.reversed = false;
    inner.select_related = SelectRelated::None;
    if let Some(s) = selection {
        inner.selection = s;
    }
    inner
}

fn count_with(query: &Query, w: SqlWriter<'_>) -> Result<Compiled> {
    if query.grouping != Grouping::None || query.combined.is_some() || query.filters_read_windows()
    {
        let sub = select_with(&bare(query, None), w)?;
        return Ok(Compiled {
            sql: format!("SELECT COUNT(*) FROM ({}) subquery", sub.sql),
            params: sub.params,
            columns: vec![],
            related: None,
            annotations: 0..0,
            loaded: None,
            recipe: sub.recipe,
        });
    }
    if query.is_sliced() || query.distinct {
        let selection = (!query.distinct)
            .then(|| Selection::Values(vec![Name::Borrowed(query.model.pk_field().name)]));
        let sub = select_with(&bare(query, selection), w)?;
        return Ok(Compiled {
            sql: format!("SELECT COUNT(*) FROM ({}) subquery", sub.sql),
            params: sub.params,
            columns: vec![],
            related: None,
            annotations: 0..0,
            loaded: None,
            recipe: sub.recipe,
        });
    }
    let mut c = Compiler::for_query(query, w);
    c.select(query, "SELECT COUNT(*)", false)?;
    Ok(c.w.finish(vec![]))
}

/// Compiles an existence check: `SELECT 1 ... LIMIT 1`.
pub fn exists(query: &Query, dialect: &dyn Dialect) -> Result<Compiled> {
    exists_with(query, SqlWriter::new(dialect))
}

fn exists_with(query: &Query, w: SqlWriter<'_>) -> Result<Compiled> {
    if query.is_sliced()
        || query.distinct
        || query.grouping != Grouping::None
        || query.combined.is_some()
        || query.filters_read_windows()
    {
        let sub = select_with(&bare(query, None), w)?;
        return Ok(Compiled {
            sql: format!("SELECT 1 AS a FROM ({}) subquery LIMIT 1", sub.sql),
            params: sub.params,
            columns: vec![],
            related: None,
            annotations: 0..0,
            loaded: None,
            recipe: sub.recipe,
        });
    }
    let mut c = Compiler::for_query(query, w);
    c.select(query, "SELECT 1 AS a", false)?;
    c.w.push(" LIMIT 1");
    Ok(c.w.finish(vec![]))
}

/// Writes the WHERE of an UPDATE or DELETE: the filters on the table itself, or, when
/// they reach other tables, `pk IN (SELECT pk ... joins ...)` through a derived table
/// (MySQL refuses a subquery on the table being changed, but not a derived one).
fn write_where_of_change(c: &mut Compiler<'_, '_>, query: &Query) -> Result<()> {
    let mark = c.w.mark();
    let windows = query.filters_read_windows();
    if !windows {
        c.filters(&query.filters, false)?;
    }
    if !windows
        && c.joins.is_single()
        && query.grouping == Grouping::None
        && c.having.params.is_empty()
        && c.having.sql.is_empty()
    {
        return Ok(());
    }
    // The filters reach other tables (or aggregates): select the primary keys in a
    // subquery instead, continuing the same writer so that placeholders keep their order.
    c.w.take_since(mark);
    c.having = Fragment::default();
    let pk = query.model.pk_field();
    c.w.push(" WHERE ");
    c.w.ident(pk.column);
    c.w.push(" IN (SELECT ");
    c.w.ident(pk.column);
    c.w.push(" FROM (");
    let dialect = c.w.dialect;
    let params_only = c.w.params_only;
    let w = std::mem::replace(&mut c.w, SqlWriter::params_only(dialect));
    let mut inner = bare(
        query,
        Some(Selection::Values(vec![Name::Borrowed(pk.name)])),
    );
    for a in &mut inner.annotations {
        a.selected = false;
    }
    let (sub, ..) = select_raw(&inner, w)?;
    c.w = SqlWriter {
        sql: sub.sql,
        params: sub.params,
        dialect,
        params_only,
        recipe: None,
    };
    c.w.push(") ");
    c.w.ident("subquery");
    c.w.push(")");
    Ok(())
}

/// Compiles an UPDATE of the rows a query matches.
pub fn update(
    query: &Query,
    assignments: &[(String, Expr)],
    dialect: &dyn Dialect,
) -> Result<Compiled> {
    if query.is_sliced() {
        return Err(Error::invalid(
            "Cannot update a query once a slice has been taken.",
        ));
    }
    if assignments.is_empty() {
        return Err(Error::invalid("update() needs at least one field to set"));
    }
    let meta = query.model;
    let mut c = Compiler::for_query(query, SqlWriter::new(dialect));
    c.w.push("UPDATE ");
    c.w.ident(meta.db_table);
    c.w.push(" SET ");
    for (i, (name, e)) in assignments.iter().enumerate() {
        let (_, field) = meta.field_or_error(name)?;
        if i > 0 {
            c.w.push(", ");
        }
        c.w.ident(field.column);
        c.w.push(" = ");
        if expr_aggregates(&query.annotations, e) {
            return Err(Error::field(format!(
                "Aggregate functions are not allowed in this query ({name}={e:?})."
            )));
        }
        c.expr(e, Some(field.kind))?;
        if !c.joins.is_single() {
            return Err(Error::field(
                "Joined field references are not permitted in this query",
            ));
        }
    }
    write_where_of_change(&mut c, query)?;
    Ok(c.w.finish(vec![]))
}

/// Compiles a DELETE of the rows a query matches.
pub fn delete(query: &Query, dialect: &dyn Dialect) -> Result<Compiled> {
    if query.is_sliced() {
        return Err(Error::invalid(
            "Cannot use 'limit' or 'offset' with delete().",
        ));
    }
    let mut c = Compiler::for_query(query, SqlWriter::new(dialect));
    c.w.push("DELETE FROM ");
    c.w.ident(query.model.db_table);
    write_where_of_change(&mut c, query)?;
    Ok(c.w.finish(vec![]))
}

/// How `insert` treats rows that conflict with existing ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// Raise the database's error.
    Error,
    /// Skip the conflicting rows (`bulk_create(ignore_conflicts=True)`).
    Ignore,
}

/// Compiles a multi-row INSERT of the given field indexes; `returning` asks for the
/// primary key back. `params` holds the rows' values one row after the other.
pub fn insert(
    meta: &'static ModelMeta,
    fields: &[usize],
    params: Vec<Value>,
    returning: bool,
    on_conflict: OnConflict,
    dialect: &dyn Dialect,
) -> Result<Compiled> {
    let rows = if fields.is_empty() {
        1
    } else {
        params.len() / fields.len()
    };
    let mut c = insert_sql(meta, fields, rows, returning, on_conflict, dialect)?;
    c.params = params;
    Ok(c)
}

/// The SQL of an INSERT of `rows` rows (no parameters: the statement cache keeps it per
/// shape, the caller binds the values).
pub(crate) fn insert_sql(
    meta: &'static ModelMeta,
    fields: &[usize],
    rows: usize,
    returning: bool,
    on_conflict: OnConflict,
    dialect: &dyn Dialect,
) -> Result<Compiled> {
    let mut w = SqlWriter::new(dialect);
    let mut n = 0;
    let (verb, suffix) = match on_conflict {
        OnConflict::Error => ("INSERT INTO", ""),
        OnConflict::Ignore => dialect.insert_ignore(),
    };
    w.push(verb);
    w.push(" ");
    w.ident(meta.db_table);
    if fields.is_empty() {
        w.push(dialect.default_values());
        if rows > 1 {
            return Err(Error::invalid(
                "cannot insert several rows that have no field to set in one statement",
            ));
        }
    } else {
        w.push(" (");
        for (i, &f) in fields.iter().enumerate() {
            if i > 0 {
                w.push(", ");
            }
            w.ident(meta.fields[f].column);
        }
        w.push(") VALUES ");
        for r in 0..rows {
            if r > 0 {
                w.push(", ");
            }
            w.push("(");
            for i in 0..fields.len() {
                if i > 0 {
                    w.push(", ");
                }
                n += 1;
                dialect.placeholder(&mut w.sql, n);
            }
            w.push(")");
        }
    }
    w.push(suffix);
    let mut columns = vec![];
    if returning {
        let pk = meta.pk_field();
        w.push(" RETURNING ");
        w.ident(pk.column);
        columns.push(OutColumn {
            name: pk.name.to_owned(),
            kind: pk.kind,
            decimal_places: None,
        });
    }
    Ok(w.finish(columns))
}

/// Compiles Django's `bulk_update`: one `UPDATE ... SET f = CASE WHEN pk = ? THEN ? ... END`
/// per field, over the given `(pk, values)` rows.
pub fn bulk_update(
    meta: &'static ModelMeta,
    fields: &[usize],
    rows: Vec<(Value, Vec<Value>)>,
    dialect: &dyn Dialect,
) -> Result<Compiled> {
    let pk = meta.pk_field();
    let mut w = SqlWriter::new(dialect);
    w.push("UPDATE ");
    w.ident(meta.db_table);
    w.push(" SET ");
    for (n, &f) in fields.iter().enumerate() {
        if n > 0 {
            w.push(", ");
        }
        w.ident(meta.fields[f].column);
        w.push(" = CASE");
        let cast = dialect.cast_type(&meta.fields[f]);
        for (pk_value, values) in &rows {
            w.push(" WHEN ");
            w.ident(pk.column);
            w.push(" = ");
            w.param(pk_value.clone());
            w.push(" THEN ");
            match &cast {
                Some(ty) => {
                    w.push("CAST(");
                    w.param(values[n].clone());
                    w.push(" AS ");
                    w.push(ty);
                    w.push(")");
                }
                None => w.param(values[n].clone()),
            }
        }
        w.push(" END");
    }
    w.push(" WHERE ");
    w.ident(pk.column);
    w.push(" IN (");
    for (i, (pk_value, _)) in rows.into_iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        w.param(pk_value);
    }
    w.push(")");
    Ok(w.finish(vec![]))
}
