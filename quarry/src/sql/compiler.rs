//! The compiler: one walk over a [`Query`] that resolves names against the model meta,
//! writes SQL through the [`Dialect`] and collects the bound parameters beside it, so the
//! two can never drift apart.

use super::dialect::Dialect;
use super::joins::{JoinExtra, JoinRequest, Joins};
use crate::error::{Error, Result};
use crate::model::{FieldKind, FieldMeta, ModelMeta};
use crate::model::{RelatedPlan, ReverseRelation};
use crate::query::ast::{Filter, OrderBy, Query, SelectRelated, Selection};
use crate::query::lookup::{Lookup, Transform};
use crate::query::Expr;
use crate::query::Q;
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
struct Resolved {
    /// The join (index into the FROM clause) the column belongs to.
    alias: usize,
    field: &'static FieldMeta,
    transforms: Vec<Transform>,
    lookup: Option<Lookup>,
    /// The joins the path went through.
    used: Vec<usize>,
}

impl Resolved {
    fn output_kind(&self) -> FieldKind {
        self.transforms
            .last()
            .map(|t| t.output())
            .unwrap_or(self.field.kind)
    }
}

/// Where a path leads.
enum PathEnd {
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

/// Writes SQL and collects parameters in one pass.
///
/// With `params_only` set, the same walk collects the parameters and writes nothing: the
/// statement cache ([`super::cache`]) already holds the SQL of that query shape.
pub(crate) struct SqlWriter<'d> {
    pub(crate) sql: String,
    pub(crate) params: Vec<Value>,
    pub(crate) dialect: &'d dyn Dialect,
    pub(crate) params_only: bool,
}

impl<'d> SqlWriter<'d> {
    pub(crate) fn new(dialect: &'d dyn Dialect) -> Self {
        SqlWriter {
            sql: String::with_capacity(128),
            params: Vec::new(),
            dialect,
            params_only: false,
        }
    }

    /// A writer that only collects parameters.
    pub(crate) fn params_only(dialect: &'d dyn Dialect) -> Self {
        SqlWriter {
            sql: String::new(),
            params: Vec::new(),
            dialect,
            params_only: true,
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
            self.dialect.placeholder(&mut self.sql, self.params.len());
        }
    }

    pub(crate) fn finish(self, columns: Vec<OutColumn>) -> Compiled {
        Compiled {
            sql: self.sql,
            params: self.params,
            columns,
            related: None,
        }
    }
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
    Ok(match (kind, v) {
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
        (FieldKind::BooleanField, Value::I64(i)) => Value::Bool(i != 0),
        (FieldKind::DecimalField, Value::F64(f)) => Value::Decimal(
            rust_decimal::Decimal::try_from(f)
                .map_err(|e| Error::invalid(format!("cannot use {f} as a decimal: {e}")))?,
        ),
        (FieldKind::JSONField, Value::Text(s)) => Value::Json(serde_json::Value::String(s)),
        (FieldKind::DateField, Value::Text(s)) => Value::Date(
            chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
                Error::invalid(format!(
                    "“{s}” value has an invalid date format. It must be in YYYY-MM-DD format."
                ))
            })?,
        ),
        (FieldKind::DateTimeField, Value::Text(s)) => Value::DateTime(parse_datetime_text(&s)?),
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
        (_, v) => v,
    })
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

struct Compiler<'d> {
    meta: &'static ModelMeta,
    w: SqlWriter<'d>,
    joins: Joins,
    /// The `filter()` call being compiled (multi-valued joins are reused only inside one).
    filter_call: Option<usize>,
    /// Joins that `F()` expressions on the right-hand side went through.
    expr_used: Vec<usize>,
    /// The `select_related` plan of the select list.
    related: Option<RelatedPlan>,
}

/// `"alias"."column"`.
fn qualified(dialect: &dyn Dialect, alias: &str, column: &str) -> String {
    let mut s = String::with_capacity(alias.len() + column.len() + 5);
    dialect.quote(&mut s, alias);
    s.push('.');
    dialect.quote(&mut s, column);
    s
}

impl<'d> Compiler<'d> {
    fn new(meta: &'static ModelMeta, w: SqlWriter<'d>) -> Self {
        Compiler {
            meta,
            w,
            joins: Joins::new(meta.db_table, None),
            filter_call: None,
            expr_used: Vec::new(),
            related: None,
        }
    }

    /// A compiler for a subquery: its aliases are `U0`, `U1`, ...
    fn subquery(meta: &'static ModelMeta, w: SqlWriter<'d>) -> Self {
        Compiler {
            joins: Joins::new(meta.db_table, Some('U')),
            ..Compiler::new(meta, w)
        }
    }

    /// Resolves a `__` path, joining the tables it crosses: forward relations through
    /// their key (`publisher__name`), reverse ones through the key pointing back
    /// (`book__title`). A path ending on the related key (`publisher__id`) reads this
    /// table's column and joins nothing. With `split_multi`, a multi-valued relation is
    /// not joined: the path comes back as [`PathEnd::Split`].
    fn resolve(&mut self, path: &str, allow_lookup: bool, split_multi: bool) -> Result<PathEnd> {
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
    fn lhs_sql(&mut self, r: &Resolved) -> String {
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

    fn expr(&mut self, e: &Expr, kind: FieldKind) -> Result<()> {
        match e {
            Expr::Value(v) => {
                let v = prep(kind, v.clone())?;
                self.w.param(v);
            }
            Expr::Field(path) => {
                let r = self.resolve_column(path)?;
                self.expr_used.extend_from_slice(&r.used);
                let sql = self.lhs_sql(&r);
                self.w.push(&sql);
            }
            Expr::Arith { op, lhs, rhs } => {
                self.w.push("(");
                self.expr(lhs, kind)?;
                self.w.push(" ");
                self.w.push(op.sql());
                self.w.push(" ");
                self.expr(rhs, kind)?;
                self.w.push(")");
            }
        }
        Ok(())
    }

    fn rhs_sql(&mut self, e: &Expr, kind: FieldKind) -> Result<String> {
        let start = self.w.sql.len();
        self.expr(e, kind)?;
        Ok(self.w.sql.split_off(start))
    }

    /// The WHERE clause: each `filter()`/`exclude()` call ANDed, joins typed as Django's
    /// `add_q` types them (a join a condition needs becomes INNER; one only some `OR`
    /// branches need stays or becomes LEFT OUTER; INNER joins of earlier calls stay so).
    fn filters(&mut self, filters: &[Filter]) -> Result<bool> {
        let mut wrote = false;
        for (n, f) in filters.iter().enumerate() {
            if f.q.is_empty() {
                continue;
            }
            self.filter_call = Some(n);
            let existing_inner = self.joins.inner();
            self.w.push(if wrote { " AND " } else { " WHERE " });
            wrote = true;
            let votes = if f.negated {
                self.w.push("NOT (");
                let v = self.q(&f.q, true)?;
                self.w.push(")");
                v
            } else {
                self.q(&f.q, false)?
            };
            self.joins.demote(&votes);
            self.joins.demote(&existing_inner);
        }
        self.filter_call = None;
        Ok(wrote)
    }

    /// Writes a condition; returns the joins it needs a row in (its votes for INNER).
    fn q(&mut self, q: &Q, negated: bool) -> Result<Vec<usize>> {
        match q {
            Q::Lookup { path, value } => self.lookup(path, value, negated),
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
        }
    }

    fn lookup(&mut self, path: &str, value: &Expr, negated: bool) -> Result<Vec<usize>> {
        let r = match self.resolve(path, true, negated)? {
            PathEnd::Column(r) => r,
            PathEnd::Split { alias, model, rest } => {
                self.exists_subquery(alias, model, &rest, value)?;
                return Ok(Vec::new());
            }
        };
        let lookup = r.lookup.unwrap_or(Lookup::Exact);
        let kind = r.output_kind();
        let lhs = self.lhs_sql(&r);
        let is_null_value = matches!(value, Expr::Value(Value::Null));
        if is_null_value && lookup != Lookup::Exact && lookup != Lookup::IExact {
            return Err(Error::invalid(format!(
                "Cannot use None as a query value for '{path}': only exact and iexact accept \
                 NULL; use {}__isnull=True",
                path.rsplit_once("__").map_or(path, |(p, _)| p)
            )));
        }
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
        self.condition(path, lookup, kind, &lhs, value)?;
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
        let mut sub = Compiler::subquery(model, w);
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

    /// Writes `lhs <lookup> rhs`.
    fn condition(
        &mut self,
        path: &str,
        lookup: Lookup,
        kind: FieldKind,
        lhs: &str,
        value: &Expr,
    ) -> Result<()> {
        match (lookup, value) {
            (Lookup::Exact | Lookup::IExact, Expr::Value(Value::Null)) => {
                self.w.push(lhs);
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
                self.w.push(lhs);
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
                    self.w.push(lhs);
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
                self.w.push(lhs);
                self.w.push(" BETWEEN ");
                let lo = prep(kind, bounds[0].clone())?;
                self.w.param(lo);
                self.w.push(" AND ");
                let hi = prep(kind, bounds[1].clone())?;
                self.w.param(hi);
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
                self.template(lookup, lhs, &rhs);
            }
            (l, Expr::Value(Value::Text(s))) if l.is_pattern() || l == Lookup::IExact => {
                let pattern = self.w.dialect.pattern_value(l, s.as_str());
                let rhs = self.rhs_sql(&Expr::Value(Value::Text(pattern)), FieldKind::TextField)?;
                self.template(l, lhs, &rhs);
            }
            (l, Expr::Value(v)) if l.is_pattern() || l == Lookup::IExact => {
                // Non-text values in pattern lookups match their text form, as in Django.
                let text = value_text(v);
                let pattern = self.w.dialect.pattern_value(l, &text);
                let rhs = self.rhs_sql(&Expr::Value(Value::Text(pattern)), FieldKind::TextField)?;
                self.template(l, lhs, &rhs);
            }
            (l, e) => {
                let rhs = self.rhs_sql(e, kind)?;
                self.template(l, lhs, &rhs);
            }
        }
        Ok(())
    }

    fn template(&mut self, lookup: Lookup, lhs: &str, rhs: &str) {
        if self.w.params_only {
            return;
        }
        let t = self.w.dialect.lookup_template(lookup);
        let sql = t.replace("{lhs}", lhs).replace("{rhs}", rhs);
        self.w.push(&sql);
    }

    fn order_by(&mut self, query: &Query) -> Result<()> {
        // An ordering binds no parameter (yet): a params-only walk has nothing to do here.
        if self.w.params_only {
            return Ok(());
        }
        let ordering = query.effective_ordering();
        if ordering.is_empty() {
            return Ok(());
        }
        let mut terms: Vec<String> = Vec::new();
        for o in &ordering {
            match o {
                OrderBy::Random => terms.push(self.w.dialect.random().to_owned()),
                OrderBy::Field { path, descending } => {
                    self.order_term(path, *descending, &mut terms, 0)
                        .map_err(|e| match e {
                            Error::FieldError(m) => Error::field(format!("order_by(): {m}")),
                            e => e,
                        })?;
                }
            }
        }
        self.w.push(" ORDER BY ");
        self.w.push(&terms.join(", "));
        Ok(())
    }

    /// One ordering term; a path ending on a relation orders by the related model's
    /// `Meta.ordering` (its key when it has none), as Django does.
    fn order_term(
        &mut self,
        path: &str,
        descending: bool,
        terms: &mut Vec<String>,
        depth: usize,
    ) -> Result<()> {
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
        let lhs = self.lhs_sql(&r);
        terms.push(format!(
            "{lhs}{}",
            if descending { " DESC" } else { " ASC" }
        ));
        Ok(())
    }

    /// Writes the columns of `meta` read through join `alias`.
    fn model_columns(&mut self, meta: &'static ModelMeta, alias: usize, out: &mut Vec<OutColumn>) {
        for f in meta.fields {
            if !out.is_empty() {
                self.w.push(", ");
            }
            let col = qualified(self.w.dialect, self.joins.alias(alias), f.column);
            self.w.push(&col);
            out.push(OutColumn {
                name: f.name.to_owned(),
                kind: f.kind,
                decimal_places: f.decimal_places,
            });
        }
    }

    fn select_list(&mut self, query: &Query) -> Result<Vec<OutColumn>> {
        let mut out = Vec::new();
        // The select list binds no parameter (yet): a params-only walk skips it.
        if self.w.params_only {
            return Ok(out);
        }
        match &query.selection {
            Selection::Model => {
                self.model_columns(self.meta, 0, &mut out);
                let tree = match &query.select_related {
                    SelectRelated::None => None,
                    SelectRelated::All => Some(RelatedTree::all(self.meta, 5)),
                    SelectRelated::Paths(paths) => Some(RelatedTree::parse(self.meta, paths)?),
                };
                if let Some(tree) = tree {
                    let mut plan = RelatedPlan::default();
                    self.select_related(self.meta, 0, &tree, &mut plan, &mut out);
                    self.related = Some(plan);
                }
                if let Some(path) = &query.group_key {
                    let r = self.resolve_column(path)?;
                    let lhs = self.lhs_sql(&r);
                    self.w.push(", ");
                    self.w.push(&lhs);
                    out.push(OutColumn {
                        name: path.clone(),
                        kind: r.output_kind(),
                        decimal_places: None,
                    });
                }
            }
            Selection::Values(paths) => {
                let all: Vec<String>;
                let paths = if paths.is_empty() {
                    all = self.meta.fields.iter().map(|f| f.name.to_owned()).collect();
                    &all
                } else {
                    paths
                };
                for (i, p) in paths.iter().enumerate() {
                    if i > 0 {
                        self.w.push(", ");
                    }
                    let r = self.resolve_column(p)?;
                    let lhs = self.lhs_sql(&r);
                    self.w.push(&lhs);
                    out.push(OutColumn {
                        name: p.clone(),
                        kind: r.output_kind(),
                        decimal_places: r.field.decimal_places.filter(|_| r.transforms.is_empty()),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Joins and selects the related models of `tree`, depth first, recording the
    /// hydration plan.
    fn select_related(
        &mut self,
        meta: &'static ModelMeta,
        alias: usize,
        tree: &RelatedTree,
        plan: &mut RelatedPlan,
        out: &mut Vec<OutColumn>,
    ) {
        for (step, children) in &tree.children {
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
            self.model_columns(target, join, out);
            self.select_related(target, join, children, &mut child, out);
            child.width = out.len() - before;
            plan.children.push(child);
        }
    }

    /// Compiles the WHERE and ORDER BY first (they decide the joins and their types),
    /// then writes `SELECT list FROM joins` in front of them.
    fn select(&mut self, query: &Query, head: &str, order: bool) -> Result<Vec<OutColumn>> {
        let start = self.w.sql.len();
        self.filters(&query.filters)?;
        if order {
            self.order_by(query)?;
        }
        let tail = self.w.sql.split_off(start);
        self.w.push(head);
        let columns = if head.ends_with(' ') {
            self.select_list(query)?
        } else {
            Vec::new()
        };
        if !self.w.params_only {
            self.joins.write_from(&mut self.w.sql, self.w.dialect);
        }
        self.w.push(&tail);
        Ok(columns)
    }
}

/// One step of a `select_related` path.
#[derive(Debug, Clone, Copy, PartialEq)]
enum RelatedStep {
    /// A forward foreign key or one-to-one field (its index).
    Field(usize),
    /// The reverse side of a one-to-one field (`place` → `restaurant`).
    Reverse(&'static ReverseRelation),
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

fn value_text(v: &Value) -> String {
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

/// Compiles `kind` of `query`.
pub(crate) fn compile(
    query: &Query,
    kind: StatementKind,
    dialect: &dyn Dialect,
) -> Result<Compiled> {
    let w = SqlWriter::new(dialect);
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
    let mut c = Compiler::new(query.model, w);
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
    let mut compiled = c.w.finish(columns);
    compiled.related = related;
    Ok(compiled)
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
    if query.is_sliced() || query.distinct {
        let selection = (!query.distinct)
            .then(|| Selection::Values(vec![query.model.pk_field().name.to_owned()]));
        let sub = select_with(&bare(query, selection), w)?;
        return Ok(Compiled {
            sql: format!("SELECT COUNT(*) FROM ({}) subquery", sub.sql),
            params: sub.params,
            columns: vec![],
            related: None,
        });
    }
    let mut c = Compiler::new(query.model, w);
    c.select(query, "SELECT COUNT(*)", false)?;
    Ok(c.w.finish(vec![]))
}

/// Compiles an existence check: `SELECT 1 ... LIMIT 1`.
pub fn exists(query: &Query, dialect: &dyn Dialect) -> Result<Compiled> {
    exists_with(query, SqlWriter::new(dialect))
}

fn exists_with(query: &Query, w: SqlWriter<'_>) -> Result<Compiled> {
    if query.is_sliced() || query.distinct {
        let sub = select_with(&bare(query, None), w)?;
        return Ok(Compiled {
            sql: format!("SELECT 1 AS a FROM ({}) subquery LIMIT 1", sub.sql),
            params: sub.params,
            columns: vec![],
            related: None,
        });
    }
    let mut c = Compiler::new(query.model, w);
    c.select(query, "SELECT 1 AS a", false)?;
    c.w.push(" LIMIT 1");
    Ok(c.w.finish(vec![]))
}

/// Writes the WHERE of an UPDATE or DELETE: the filters on the table itself, or, when
/// they reach other tables, `pk IN (SELECT pk ... joins ...)` through a derived table
/// (MySQL refuses a subquery on the table being changed, but not a derived one).
fn write_where_of_change(c: &mut Compiler<'_>, query: &Query) -> Result<()> {
    let (sql_len, params_len) = (c.w.sql.len(), c.w.params.len());
    c.filters(&query.filters)?;
    if c.joins.is_single() {
        return Ok(());
    }
    // The filters reach other tables: select the primary keys in a subquery instead,
    // continuing the same writer so that placeholders keep their numbers.
    c.w.sql.truncate(sql_len);
    c.w.params.truncate(params_len);
    let pk = query.model.pk_field();
    c.w.push(" WHERE ");
    c.w.ident(pk.column);
    c.w.push(" IN (SELECT ");
    c.w.ident(pk.column);
    c.w.push(" FROM (");
    let dialect = c.w.dialect;
    let params_only = c.w.params_only;
    let w = std::mem::replace(&mut c.w, SqlWriter::params_only(dialect));
    let inner = bare(query, Some(Selection::Values(vec![pk.name.to_owned()])));
    let sub = select_with(&inner, w)?;
    c.w = SqlWriter {
        sql: sub.sql,
        params: sub.params,
        dialect,
        params_only,
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
    let mut c = Compiler::new(meta, SqlWriter::new(dialect));
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
        c.expr(e, field.kind)?;
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
    let mut c = Compiler::new(query.model, SqlWriter::new(dialect));
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
