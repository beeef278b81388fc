//! The compiler: one walk over a [`Query`] that resolves names against the model meta,
//! writes SQL through the [`Dialect`] and collects the bound parameters beside it, so the
//! two can never drift apart.

use super::dialect::Dialect;
use crate::error::{Error, Result};
use crate::model::{FieldKind, FieldMeta, ModelMeta};
use crate::query::ast::{Filter, OrderBy, Query, Selection};
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

/// A field path resolved against a model.
struct Resolved {
    field: &'static FieldMeta,
    transforms: Vec<Transform>,
    lookup: Option<Lookup>,
}

impl Resolved {
    fn output_kind(&self) -> FieldKind {
        self.transforms
            .last()
            .map(|t| t.output())
            .unwrap_or(self.field.kind)
    }
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

    fn column(&mut self, meta: &ModelMeta, field: &FieldMeta) {
        if self.params_only {
            return;
        }
        self.ident(meta.db_table);
        self.sql.push('.');
        self.ident(field.column);
    }

    pub(crate) fn finish(self, columns: Vec<OutColumn>) -> Compiled {
        Compiled {
            sql: self.sql,
            params: self.params,
            columns,
        }
    }
}

/// Resolves `field[__transform...][__lookup]` against `meta`.
fn resolve(meta: &'static ModelMeta, path: &str, allow_lookup: bool) -> Result<Resolved> {
    let mut parts = path.split("__");
    let first = parts.next().unwrap_or("");
    let (_, field) = meta.field_or_error(first)?;
    let mut resolved = Resolved {
        field,
        transforms: Vec::new(),
        lookup: None,
    };
    let rest: Vec<&str> = parts.collect();
    for (i, part) in rest.iter().enumerate() {
        let kind = resolved.output_kind();
        let last = i + 1 == rest.len();
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
        return Err(unsupported_lookup(meta, field, kind, part, allow_lookup));
    }
    Ok(resolved)
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
fn prep(kind: FieldKind, v: Value) -> Result<Value> {
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
}

impl<'d> Compiler<'d> {
    fn new(meta: &'static ModelMeta, dialect: &'d dyn Dialect) -> Self {
        Compiler {
            meta,
            w: SqlWriter::new(dialect),
        }
    }

    /// The SQL of a resolved path's left-hand side (column and transforms).
    fn lhs_sql(&mut self, r: &Resolved) -> String {
        let mut s = String::new();
        if self.w.params_only {
            return s;
        }
        self.w.dialect.quote(&mut s, self.meta.db_table);
        s.push('.');
        self.w.dialect.quote(&mut s, r.field.column);
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
                let r = resolve(self.meta, path, false)?;
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

    fn filters(&mut self, filters: &[Filter]) -> Result<bool> {
        let mut wrote = false;
        for f in filters {
            if f.q.is_empty() {
                continue;
            }
            self.w.push(if wrote { " AND " } else { " WHERE " });
            wrote = true;
            if f.negated {
                self.w.push("NOT (");
                self.q(&f.q, true)?;
                self.w.push(")");
            } else {
                self.q(&f.q, false)?;
            }
        }
        Ok(wrote)
    }

    fn q(&mut self, q: &Q, negated: bool) -> Result<()> {
        match q {
            Q::Lookup { path, value } => self.lookup(path, value, negated),
            Q::And(children) | Q::Or(children) => {
                let children: Vec<&Q> = children.iter().filter(|c| !c.is_empty()).collect();
                if children.is_empty() {
                    self.w.push("1 = 1");
                    return Ok(());
                }
                let sep = if matches!(q, Q::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                self.w.push("(");
                for (i, c) in children.iter().enumerate() {
                    if i > 0 {
                        self.w.push(sep);
                    }
                    self.q(c, negated)?;
                }
                self.w.push(")");
                Ok(())
            }
            Q::Not(inner) => {
                self.w.push("NOT (");
                self.q(inner, !negated)?;
                self.w.push(")");
                Ok(())
            }
        }
    }

    fn lookup(&mut self, path: &str, value: &Expr, negated: bool) -> Result<()> {
        let r = resolve(self.meta, path, true)?;
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
        // Django: a negated condition on a NULL-able column also requires the column
        // to be NOT NULL inside the negation, so that NULL rows are kept by exclude().
        let guard_null = negated && r.field.null && !is_null_value && lookup != Lookup::IsNull;
        if guard_null {
            self.w.push("(");
        }
        match (lookup, value) {
            (Lookup::Exact | Lookup::IExact, Expr::Value(Value::Null)) => {
                self.w.push(&lhs);
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
                self.w.push(&lhs);
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
                    self.w.push(&lhs);
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
                self.w.push(&lhs);
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
                self.template(lookup, &lhs, &rhs);
            }
            (l, Expr::Value(Value::Text(s))) if l.is_pattern() || l == Lookup::IExact => {
                let pattern = self.w.dialect.pattern_value(l, s.as_str());
                let rhs = self.rhs_sql(&Expr::Value(Value::Text(pattern)), FieldKind::TextField)?;
                self.template(l, &lhs, &rhs);
            }
            (l, Expr::Value(v)) if l.is_pattern() || l == Lookup::IExact => {
                // Non-text values in pattern lookups match their text form, as in Django.
                let text = value_text(v);
                let pattern = self.w.dialect.pattern_value(l, &text);
                let rhs = self.rhs_sql(&Expr::Value(Value::Text(pattern)), FieldKind::TextField)?;
                self.template(l, &lhs, &rhs);
            }
            (l, e) => {
                let rhs = self.rhs_sql(e, kind)?;
                self.template(l, &lhs, &rhs);
            }
        }
        if guard_null && !self.w.params_only {
            self.w.push(" AND ");
            let mut col = String::new();
            self.w.dialect.quote(&mut col, self.meta.db_table);
            col.push('.');
            self.w.dialect.quote(&mut col, r.field.column);
            self.w.push(&col);
            self.w.push(" IS NOT NULL)");
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
        self.w.push(" ORDER BY ");
        for (i, o) in ordering.iter().enumerate() {
            if i > 0 {
                self.w.push(", ");
            }
            match o {
                OrderBy::Random => {
                    let r = self.w.dialect.random();
                    self.w.push(r);
                }
                OrderBy::Field { path, descending } => {
                    let r = resolve(self.meta, path, false).map_err(|e| match e {
                        Error::FieldError(m) => Error::field(format!("order_by(): {m}")),
                        e => e,
                    })?;
                    let lhs = self.lhs_sql(&r);
                    self.w.push(&lhs);
                    self.w.push(if *descending { " DESC" } else { " ASC" });
                }
            }
        }
        Ok(())
    }

    fn select_list(&mut self, query: &Query) -> Result<Vec<OutColumn>> {
        let mut out = Vec::new();
        // The select list binds no parameter (yet): a params-only walk skips it.
        if self.w.params_only {
            return Ok(out);
        }
        match &query.selection {
            Selection::Model => {
                for (i, f) in self.meta.fields.iter().enumerate() {
                    if i > 0 {
                        self.w.push(", ");
                    }
                    self.w.column(self.meta, f);
                    out.push(OutColumn {
                        name: f.name.to_owned(),
                        kind: f.kind,
                        decimal_places: f.decimal_places,
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
                    let r = resolve(self.meta, p, false)?;
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

    fn from(&mut self) {
        self.w.push(" FROM ");
        self.w.ident(self.meta.db_table);
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

fn with_writer<'d>(query: &Query, w: SqlWriter<'d>) -> Compiler<'d> {
    Compiler {
        meta: query.model,
        w,
    }
}

fn select_with(query: &Query, w: SqlWriter<'_>) -> Result<Compiled> {
    let mut c = with_writer(query, w);
    let dialect = c.w.dialect;
    c.w.push(if query.distinct {
        "SELECT DISTINCT "
    } else {
        "SELECT "
    });
    let columns = c.select_list(query)?;
    c.from();
    c.filters(&query.filters)?;
    c.order_by(query)?;
    if !c.w.params_only {
        dialect.limit_offset(&mut c.w.sql, query.limit, query.offset);
    }
    Ok(c.w.finish(columns))
}

/// Compiles `SELECT COUNT(*)` of a query (over a subquery when sliced or distinct).
pub fn count(query: &Query, dialect: &dyn Dialect) -> Result<Compiled> {
    count_with(query, SqlWriter::new(dialect))
}

fn count_with(query: &Query, w: SqlWriter<'_>) -> Result<Compiled> {
    if query.is_sliced() || query.distinct {
        let mut inner = query.clone();
        inner.order_by = Some(Vec::new());
        inner.reversed = false;
        if !query.distinct {
            inner.selection = Selection::Values(vec![query.model.pk_field().name.to_owned()]);
        }
        let sub = select_with(&inner, w)?;
        return Ok(Compiled {
            sql: format!("SELECT COUNT(*) FROM ({}) subquery", sub.sql),
            params: sub.params,
            columns: vec![],
        });
    }
    let mut c = with_writer(query, w);
    c.w.push("SELECT COUNT(*)");
    c.from();
    c.filters(&query.filters)?;
    Ok(c.w.finish(vec![]))
}

/// Compiles an existence check: `SELECT 1 ... LIMIT 1`.
pub fn exists(query: &Query, dialect: &dyn Dialect) -> Result<Compiled> {
    exists_with(query, SqlWriter::new(dialect))
}

fn exists_with(query: &Query, w: SqlWriter<'_>) -> Result<Compiled> {
    if query.is_sliced() || query.distinct {
        let mut inner = query.clone();
        inner.order_by = Some(Vec::new());
        let sub = select_with(&inner, w)?;
        return Ok(Compiled {
            sql: format!("SELECT 1 AS a FROM ({}) subquery LIMIT 1", sub.sql),
            params: sub.params,
            columns: vec![],
        });
    }
    let mut c = with_writer(query, w);
    c.w.push("SELECT 1 AS a");
    c.from();
    c.filters(&query.filters)?;
    c.w.push(" LIMIT 1");
    Ok(c.w.finish(vec![]))
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
    let mut c = Compiler::new(meta, dialect);
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
    }
    c.filters(&query.filters)?;
    Ok(c.w.finish(vec![]))
}

/// Compiles a DELETE of the rows a query matches.
pub fn delete(query: &Query, dialect: &dyn Dialect) -> Result<Compiled> {
    if query.is_sliced() {
        return Err(Error::invalid(
            "Cannot use 'limit' or 'offset' with delete().",
        ));
    }
    let mut c = Compiler::new(query.model, dialect);
    c.w.push("DELETE");
    c.from();
    c.filters(&query.filters)?;
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
