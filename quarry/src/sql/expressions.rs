//! Compiling expressions: `F()` paths and annotation names, arithmetic, aggregates,
//! `Case`/`When` and functions, each with the output type Django would infer.

use super::compiler::{alias_prefix, prep, Compiler, Fragment, OuterColumn, PathEnd, SqlWriter};
use super::joins::Joins;
use crate::error::{Error, Result};
use crate::model::FieldKind;
use crate::query::ast::{annotation_aggregates, expr_windows, OrderBy, SelectRelated, Selection};
use crate::query::lookup::{Lookup, Transform};
use crate::query::SubqueryExpr;
use crate::query::{AggFunc, Aggregate, ArithOp, Case, Expr, Func, Function};
use crate::value::Value;

/// What an expression returns: its field kind and, for a decimal, the places it keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Typed {
    pub(crate) kind: FieldKind,
    pub(crate) places: Option<u32>,
}

impl Typed {
    pub(crate) fn of(kind: FieldKind) -> Typed {
        Typed { kind, places: None }
    }
}

/// The kinds that mix without an explicit output type count as one family.
fn family(kind: FieldKind) -> u8 {
    use FieldKind::*;
    match kind {
        k if k.is_integer() => 0,
        k if k.is_text() => 1,
        FloatField => 2,
        DecimalField => 3,
        _ => 4 + kind as u8,
    }
}

/// The kind a bound value has on its own (Django's `Value._resolve_output_field`).
fn value_kind(v: &Value) -> Option<FieldKind> {
    use FieldKind::*;
    Some(match v {
        Value::Null | Value::List(_) => return None,
        Value::Bool(_) => BooleanField,
        Value::I64(_) => BigIntegerField,
        Value::F64(_) => FloatField,
        Value::Text(_) => CharField,
        Value::Bytes(_) => BinaryField,
        Value::Decimal(_) => DecimalField,
        Value::Date(_) => DateField,
        Value::Time(_) => TimeField,
        Value::DateTime(_) => DateTimeField,
        Value::Duration(_) => DurationField,
        Value::Uuid(_) => UUIDField,
        Value::Json(_) => JSONField,
    })
}

/// The type of `lhs op rhs`, Django's `_connector_combinations`: same kinds keep their
/// kind, an integer with a decimal or a float gives that, temporal arithmetic gives what
/// SQL gives; anything else needs `output_field`.
fn combined(op: ArithOp, lhs: Option<Typed>, rhs: Option<Typed>) -> Result<Option<Typed>> {
    use FieldKind::*;
    let (l, r) = match (lhs, rhs) {
        (None, t) | (t, None) => return Ok(t),
        (Some(l), Some(r)) => (l, r),
    };
    let (lk, rk) = (l.kind, r.kind);
    if op == ArithOp::Pow {
        // Every backend's POWER returns a float (a decimal for decimals).
        return Ok(Some(if lk == DecimalField || rk == DecimalField {
            Typed::of(DecimalField)
        } else {
            Typed::of(FloatField)
        }));
    }
    if family(lk) == family(rk) && !matches!(lk, DateField | DateTimeField | TimeField) {
        return Ok(Some(l));
    }
    let out = match (lk, rk) {
        // A decimal with an integer keeps no places, as Django's combined DecimalField():
        // `salary / 10` is not rounded to the salary's places.
        (a, DecimalField) if a.is_integer() => Some(Typed::of(DecimalField)),
        (DecimalField, b) if b.is_integer() => Some(Typed::of(DecimalField)),
        (a, FloatField) if a.is_integer() => Some(r),
        (FloatField, b) if b.is_integer() => Some(l),
        (DateField | DateTimeField, DurationField) if matches!(op, ArithOp::Add | ArithOp::Sub) => {
            Some(Typed::of(DateTimeField))
        }
        (DurationField, DateField | DateTimeField) if op == ArithOp::Add => {
            Some(Typed::of(DateTimeField))
        }
        (DateField, DateField) | (DateTimeField, DateTimeField) | (TimeField, TimeField)
            if op == ArithOp::Sub =>
        {
            Some(Typed::of(DurationField))
        }
        (DurationField, b) if b.is_integer() && matches!(op, ArithOp::Mul | ArithOp::Div) => {
            Some(l)
        }
        (a, DurationField) if a.is_integer() && op == ArithOp::Mul => Some(r),
        _ => None,
    };
    out.map(Some).ok_or_else(|| {
        Error::field(format!(
            "Cannot infer type of '{}' expression involving these types: {}, {}. You must set \
             output_field.",
            op.symbol(),
            lk.name(),
            rk.name()
        ))
    })
}

impl Compiler<'_, '_> {
    /// The index of the annotation `name` visible here: declared before the annotation
    /// being compiled and, inside a `filter()` call, by an `annotate()` before it.
    pub(super) fn annotation_index(&self, name: &str) -> Option<usize> {
        self.annotations[..self.annotation_limit]
            .iter()
            .position(|a| a.name == name && self.filter_call.is_none_or(|c| a.after_filters <= c))
    }

    /// The annotation a filter path starts with (the longest name that is the whole
    /// path or followed by `__`), and the rest of the path.
    pub(super) fn annotation_prefix<'p>(&self, path: &'p str) -> Option<(usize, &'p str)> {
        let mut best: Option<(usize, &'p str)> = None;
        for (i, a) in self.annotations[..self.annotation_limit].iter().enumerate() {
            if self.filter_call.is_some_and(|c| a.after_filters > c) {
                continue;
            }
            let rest = match path.strip_prefix(a.name.as_str()) {
                Some("") => "",
                Some(r) if r.starts_with("__") => &r[2..],
                _ => continue,
            };
            if best.is_none_or(|(b, _)| self.annotations[b].name.len() < a.name.len()) {
                best = Some((i, rest));
            }
        }
        best
    }

    /// Compiles annotation `index` on its own (it sees the annotations before it), as a
    /// fragment, with joins reused the way the annotation's own compile reuses them.
    pub(super) fn annotation_operand(
        &mut self,
        index: usize,
        path: &str,
    ) -> Result<(Fragment, Typed)> {
        if let Some(func) = self.in_aggregate {
            if annotation_aggregates(self.annotations, index) {
                return Err(Error::field(format!(
                    "Cannot compute {func}('{path}'): '{}' is an aggregate",
                    self.annotations[index].name
                )));
            }
        }
        let saved = (self.annotation_limit, self.filter_call, self.joins.horizon);
        self.annotation_limit = index;
        self.filter_call = None;
        if let Some(&h) = self.annotation_horizons.get(index) {
            self.joins.horizon = h;
        }
        let mark = self.w.mark();
        let typed = self.expr(&self.annotations[index].expr.clone(), None);
        let fragment = self.w.take_since(mark);
        (self.annotation_limit, self.filter_call, self.joins.horizon) = saved;
        Ok((fragment, typed?))
    }

    /// The transforms and lookup after an annotation's name in a filter path
    /// (`num_books__gt`, `pubdate_max__year`).
    pub(super) fn annotation_lookup(
        &mut self,
        path: &str,
        rest: &str,
        mut lhs: Fragment,
        typed: Typed,
    ) -> Result<(Lookup, FieldKind, Fragment)> {
        let mut kind = typed.kind;
        let mut lookup = None;
        let parts: Vec<&str> = rest.split("__").filter(|p| !p.is_empty()).collect();
        for (i, part) in parts.iter().enumerate() {
            if let Some(t) = Transform::for_kind(part, kind) {
                if !self.w.params_only {
                    lhs.sql = self.transform_sql(t, &lhs.sql, kind);
                }
                kind = t.output();
                continue;
            }
            match Lookup::from_name(part).filter(|l| l.applies_to(kind)) {
                Some(l) if i + 1 == parts.len() => lookup = Some(l),
                _ => {
                    let mut choices = Transform::names_for(kind);
                    choices.extend(Lookup::names_for(kind));
                    choices.sort_unstable();
                    return Err(Error::field(format!(
                        "Unsupported lookup '{part}' for {} annotation '{}'. Choices are: {}",
                        kind.name(),
                        path.strip_suffix(rest)
                            .unwrap_or(path)
                            .trim_end_matches("__"),
                        choices.join(", ")
                    )));
                }
            }
        }
        Ok((lookup.unwrap_or(Lookup::Exact), kind, lhs))
    }

    /// The SQL of one transform applied to `sql` (a value of `kind`).
    pub(super) fn transform_sql(&self, t: Transform, sql: &str, kind: FieldKind) -> String {
        match t {
            Transform::Extract(p) => self.w.dialect.extract(p, sql, kind),
            Transform::Date => self.w.dialect.cast_date(sql),
            Transform::Time => self.w.dialect.cast_time(sql),
        }
    }

    /// Writes a bound value. `target` is the kind of the field it is compared with or
    /// stored in (the value is converted to it); without one the value stands alone and
    /// is cast where the database could not tell its type (a PostgreSQL parameter in a
    /// select list or a CASE branch).
    fn value(&mut self, v: &Value, target: Option<FieldKind>, cast: bool) -> Result<Option<Typed>> {
        let (v, kind) = match target {
            Some(k) => (prep(k, v.clone())?, Some(k)),
            None => (v.clone(), value_kind(v)),
        };
        let cast_to = if cast {
            kind.and_then(|k| self.w.dialect.value_cast(k))
        } else {
            None
        };
        match cast_to {
            Some(ty) => {
                self.w.push("CAST(");
                self.w.param(v);
                self.w.push(" AS ");
                self.w.push(ty);
                self.w.push(")");
            }
            None => self.w.param(v),
        }
        Ok(kind.map(Typed::of))
    }

    /// Compiles `e`; `target` is the kind a bare value in it is converted to (the field
    /// it is compared with or stored in), `None` where the expression stands alone.
    /// Returns what the expression yields.
    pub(super) fn expr(&mut self, e: &Expr, target: Option<FieldKind>) -> Result<Typed> {
        let typed = self.expr_inner(e, target, target.is_none())?;
        Ok(typed
            .or(target.map(Typed::of))
            .unwrap_or(Typed::of(FieldKind::IntegerField)))
    }

    /// `None` for a bare NULL, whose type the context decides.
    fn expr_inner(
        &mut self,
        e: &Expr,
        target: Option<FieldKind>,
        cast: bool,
    ) -> Result<Option<Typed>> {
        match e {
            Expr::Value(v) => self.value(v, target, cast),
            Expr::Field(path) => self.field_ref(path).map(Some),
            Expr::Arith { op, lhs, rhs } => {
                // A value beside a field takes the field's kind when the query gives it
                // none; two values stand alone.
                let both_values =
                    matches!(**lhs, Expr::Value(_)) && matches!(**rhs, Expr::Value(_));
                let cast = cast && both_values;
                let pow = *op == ArithOp::Pow;
                let mark = self.w.mark();
                let l = self.expr_inner(lhs, target, cast)?;
                let lhs_sql = self.w.take_since(mark);
                let r = self.expr_inner(rhs, target, cast)?;
                let rhs_sql = self.w.take_since(mark);
                let temporal = match (l, r) {
                    (Some(lt), Some(rt)) => self.w.dialect.temporal_arith(*op, lt.kind, rt.kind),
                    _ => None,
                };
                if let Some(template) = temporal {
                    self.write_template(template, &lhs_sql, &rhs_sql);
                    return combined(*op, l, r);
                }
                self.w.push(if pow { "POWER(" } else { "(" });
                self.w.append(lhs_sql);
                let integers = |t: Option<Typed>| t.is_some_and(|t| t.kind.is_integer());
                self.w.push(match op {
                    ArithOp::Pow => ", ",
                    ArithOp::Add => " + ",
                    ArithOp::Sub => " - ",
                    ArithOp::Mul => " * ",
                    // Integers divide to an integer everywhere (MySQL's `/` would give a
                    // decimal).
                    ArithOp::Div if integers(l) && integers(r) => self.w.dialect.integer_division(),
                    ArithOp::Div => " / ",
                    ArithOp::Mod => " % ",
                });
                self.w.append(rhs_sql);
                self.w.push(")");
                let result = match combined(*op, l, r) {
                    // Inside `output_field(...)` the wrapper gives the type.
                    Err(_) if self.wrapped > 0 => Ok(l),
                    result => result,
                }?;
                self.cast_decimal(mark, result);
                Ok(result)
            }
            Expr::Aggregate(a) => {
                let mark = self.w.mark();
                let result = self.aggregate(a).map(Some)?;
                if !self.in_window {
                    // `CAST(SUM(price) AS NUMERIC)` on SQLite, as Django's
                    // SQLiteNumericMixin (not inside `... OVER`, which must follow the
                    // function itself).
                    self.cast_decimal(mark, result);
                }
                Ok(result)
            }
            Expr::Subquery(sub) => self.subquery_expr(sub).map(Some),
            Expr::Window(w) => self.window(w),
            Expr::Raw {
                sql,
                params,
                output,
            } => {
                self.raw_sql(sql, params)?;
                Ok(Some(Typed::of(*output)))
            }
            Expr::OuterRef { path, depth } => {
                let found = self
                    .outer_refs
                    .iter()
                    .find(|c| c.path == *path && c.level == *depth);
                match found {
                    Some(c) => {
                        let (sql, typed) = (c.sql.clone(), c.typed);
                        self.w.append(sql);
                        Ok(Some(typed))
                    }
                    None => Err(Error::invalid(format!(
                        "This queryset contains a reference to an outer query \
                         (OuterRef(\"{path}\")) and may only be used in a subquery."
                    ))),
                }
            }
            Expr::Case(c) => {
                let mark = self.w.mark();
                let result = self.case(c, target)?;
                self.cast_decimal(mark, result);
                Ok(result)
            }
            Expr::Condition(q) => {
                self.w.push("(");
                self.condition_in_expr(q)?;
                self.w.push(")");
                Ok(Some(Typed::of(FieldKind::BooleanField)))
            }
            Expr::Func(f) => {
                let mark = self.w.mark();
                let result = self.func(f, target)?;
                self.cast_decimal(mark, result);
                Ok(result)
            }
            Expr::Wrapper { expr, output } => {
                self.wrapped += 1;
                let result = self.expr_inner(expr, target, cast);
                self.wrapped -= 1;
                result?;
                Ok(Some(Typed::of(*output)))
            }
        }
    }

    /// Wraps what was written since `mark` in the dialect's decimal cast when it
    /// computes a decimal. SQLite: `price + 1` or a CASE has no affinity and would not
    /// equal the bound text '31'; `CAST(... AS NUMERIC)` gives it one, as Django's
    /// SQLiteNumericMixin does.
    fn cast_decimal(&mut self, mark: (usize, usize), typed: Option<Typed>) {
        if typed.is_some_and(|t| t.kind == FieldKind::DecimalField) {
            if let Some(cast) = self.w.dialect.decimal_expression_cast() {
                let sql = self.w.take_since(mark);
                self.w.push("CAST(");
                self.w.append(sql);
                self.w.push(cast);
            }
        }
    }

    /// Writes `template` with `{lhs}` and `{rhs}` replaced by the operands (each may
    /// appear more than once; parameters follow the text order).
    fn write_template(&mut self, template: &str, lhs: &Fragment, rhs: &Fragment) {
        let mut rest = template;
        while let Some(at) = rest.find('{') {
            self.w.push(&rest[..at]);
            let after = &rest[at..];
            if let Some(tail) = after.strip_prefix("{lhs}") {
                self.w.append(lhs.clone());
                rest = tail;
            } else if let Some(tail) = after.strip_prefix("{rhs}") {
                self.w.append(rhs.clone());
                rest = tail;
            } else {
                self.w.push("{");
                rest = &after[1..];
            }
        }
        self.w.push(rest);
    }

    /// `F("path")`: an annotation's expression when the name is one, else a column
    /// through the joins its path needs (or a column of the subquery aggregated over).
    fn field_ref(&mut self, path: &str) -> Result<Typed> {
        if let Some(columns) = &self.outer_of {
            let Some(c) = columns.iter().find(|c| c.name == path) else {
                return Err(Error::field(format!(
                    "Cannot resolve keyword '{path}' into field. Choices are: {}",
                    columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            let typed = Typed {
                kind: c.kind,
                places: c.decimal_places,
            };
            self.w.ident("subquery");
            self.w.push(".");
            self.w.ident(path);
            return Ok(typed);
        }
        if let Some(index) = self.annotation_index(path) {
            let (fragment, typed) = self.annotation_operand(index, path)?;
            self.w.append(fragment);
            return Ok(typed);
        }
        if let Some((index, rest)) = self.annotation_prefix(path) {
            // `F("pubdate_alias__year")`: transforms of an annotation.
            let (mut lhs, typed) = self.annotation_operand(index, path)?;
            let mut kind = typed.kind;
            for part in rest.split("__") {
                let Some(t) = Transform::for_kind(part, kind) else {
                    let mut choices = Transform::names_for(kind);
                    choices.sort_unstable();
                    return Err(Error::field(format!(
                        "Unsupported transform '{part}' for {} annotation '{}'. Choices are: {}",
                        kind.name(),
                        self.annotations[index].name,
                        choices.join(", ")
                    )));
                };
                if !self.w.params_only {
                    lhs.sql = self.transform_sql(t, &lhs.sql, kind);
                }
                kind = t.output();
            }
            self.w.append(lhs);
            return Ok(Typed::of(kind));
        }
        let r = match self.resolve(path, false, false)? {
            PathEnd::Column(r) => r,
            PathEnd::Split { .. } => unreachable!("split only when asked"),
        };
        self.expr_used.extend_from_slice(&r.used);
        let sql = self.lhs_sql(&r);
        self.w.push(&sql);
        Ok(Typed {
            kind: r.output_kind(),
            places: r.field.decimal_places.filter(|_| r.transforms.is_empty()),
        })
    }

    /// `(SELECT ...)` or `EXISTS(SELECT 1 ... LIMIT 1)`: the inner query compiled with
    /// its own aliases (`U0`...), its `OuterRef`s resolved against this query first.
    fn subquery_expr(&mut self, sub: &SubqueryExpr) -> Result<Typed> {
        if let Some(e) = &sub.error {
            return Err(Error::invalid(e.clone()));
        }
        // What the subquery (and the subqueries inside it) read from outside it: level
        // 0 is this query's row, resolved here; a higher level comes from what this
        // query was given, one level further out.
        let mut wanted: Vec<(&str, u8)> = Vec::new();
        sub.query.walk_outer_refs(0, &mut |p, level| {
            if !wanted.contains(&(p, level)) {
                wanted.push((p, level))
            }
        });
        let mut refs = Vec::with_capacity(wanted.len());
        for (p, level) in wanted {
            if level > 0 {
                let Some(c) = self
                    .outer_refs
                    .iter()
                    .find(|c| c.path == p && c.level == level - 1)
                else {
                    return Err(Error::invalid(format!(
                        "OuterRef(OuterRef(\"{p}\")) reaches further out than the queries \
                         around this subquery"
                    )));
                };
                refs.push(OuterColumn {
                    path: p.to_owned(),
                    level,
                    sql: c.sql.clone(),
                    typed: c.typed,
                });
                continue;
            }
            if let Some((i, _)) = self.annotation_prefix(p) {
                if expr_windows(&self.annotations[..i], &self.annotations[i].expr) {
                    return Err(Error::invalid(format!(
                        "Referencing outer query window expression is not supported: {p}."
                    )));
                }
            }
            let mark = self.w.mark();
            let typed = self.expr(&Expr::Field(p.to_owned()), None)?;
            let f = self.w.take_since(mark);
            refs.push(OuterColumn {
                path: p.to_owned(),
                level: 0,
                sql: f,
                typed,
            });
        }
        let mut inner = sub.query.clone();
        // `none()` inside: no row, so NULL, false for EXISTS, nothing for `in`.
        inner.write_empty_as_filter();
        if sub.exists {
            inner.order_by = Some(Vec::new());
            inner.select_related = SelectRelated::None;
        } else if inner.selection == Selection::Model {
            // A model QuerySet stands for its primary keys (`pk__in=qs`).
            inner.selection = Selection::Values(vec![crate::query::Name::Borrowed(
                inner.model.pk_field().name,
            )]);
            for a in &mut inner.annotations {
                a.selected = false;
            }
        }
        let w = SqlWriter {
            sql: String::new(),
            params: Vec::new(),
            dialect: self.w.dialect,
            params_only: self.w.params_only,
            recipe: None,
        };
        let mut c = Compiler::for_query(&inner, w);
        c.depth = self.depth + 1;
        c.joins = Joins::new(inner.model.db_table, Some(alias_prefix(c.depth)));
        c.outer_refs = refs;
        let typed = if sub.exists {
            c.select(&inner, "SELECT 1 AS a", false)?;
            c.w.push(" LIMIT 1");
            Typed::of(FieldKind::BooleanField)
        } else {
            let head = if inner.distinct {
                "SELECT DISTINCT "
            } else {
                "SELECT "
            };
            let columns = c.select(&inner, head, true)?;
            if !c.w.params_only {
                self.w
                    .dialect
                    .limit_offset(&mut c.w.sql, inner.limit, inner.offset);
            }
            match columns.as_slice() {
                [one] => Typed {
                    kind: one.kind,
                    places: one.decimal_places,
                },
                [] if c.w.params_only => Typed::of(FieldKind::IntegerField),
                more => {
                    return Err(Error::invalid(format!(
                        "A subquery must select one column; this one selects {}: use \
                         values_list([\"field\"])",
                        more.len()
                    )))
                }
            }
        };
        self.w.push(if sub.exists { "EXISTS(" } else { "(" });
        self.w.append(Fragment {
            sql: c.w.sql,
            params: c.w.params,
        });
        self.w.push(")");
        Ok(typed)
    }

    /// Writes raw SQL, binding a parameter at each `%s` (`%%` is a percent sign).
    fn raw_sql(&mut self, sql: &str, params: &[Value]) -> Result<()> {
        let mut params = params.iter();
        let mut rest = sql;
        self.w.push("(");
        while let Some(at) = rest.find('%') {
            self.w.push(&rest[..at]);
            match rest.as_bytes().get(at + 1) {
                Some(b's') => match params.next() {
                    Some(v) => self.w.param(v.clone()),
                    None => {
                        return Err(Error::invalid(format!(
                            "RawSQL has more %s placeholders than parameters: {sql}"
                        )))
                    }
                },
                Some(b'%') => self.w.push("%"),
                _ => {
                    self.w.push("%");
                    rest = &rest[at + 1..];
                    continue;
                }
            }
            rest = &rest[at + 2..];
        }
        self.w.push(rest);
        self.w.push(")");
        if params.next().is_some() {
            return Err(Error::invalid(format!(
                "RawSQL has more parameters than %s placeholders: {sql}"
            )));
        }
        Ok(())
    }

    /// `expr OVER ([PARTITION BY ...] [ORDER BY ...] [frame])`.
    fn window(&mut self, w: &crate::query::window::Window) -> Result<Option<Typed>> {
        if self.in_window {
            return Err(Error::invalid("A window cannot hold another window."));
        }
        self.in_window = true;
        let typed = self.expr_inner(&w.expr, None, true);
        self.in_window = false;
        let typed = typed?;
        self.w.push(" OVER (");
        let mut space = "";
        if !w.partition_by.is_empty() {
            self.w.push("PARTITION BY ");
            for (i, p) in w.partition_by.iter().enumerate() {
                if i > 0 {
                    self.w.push(", ");
                }
                self.expr_inner(p, None, true)?;
            }
            space = " ";
        }
        if !w.order_by.is_empty() {
            self.w.push(space);
            self.w.push("ORDER BY ");
            for (i, o) in w.order_by.iter().enumerate() {
                if i > 0 {
                    self.w.push(", ");
                }
                let (expr, descending, nulls) = match o {
                    OrderBy::Random => {
                        let random = self.w.dialect.random();
                        self.w.push(random);
                        continue;
                    }
                    OrderBy::Field { path, descending } => {
                        (Expr::Field(path.clone()), *descending, None)
                    }
                    OrderBy::Expr {
                        expr,
                        descending,
                        nulls,
                    } => (expr.clone(), *descending, *nulls),
                };
                let mark = self.w.mark();
                self.expr_inner(&expr, None, true)?;
                let sql = self.w.take_since(mark);
                self.w.ordered(sql, descending, nulls);
            }
            space = " ";
        }
        if let Some(frame) = &w.frame {
            let bound = |b: Option<i64>, start: bool| match b {
                None if start => "UNBOUNDED PRECEDING".to_owned(),
                None => "UNBOUNDED FOLLOWING".to_owned(),
                Some(0) => "CURRENT ROW".to_owned(),
                Some(n) if n < 0 => format!("{} PRECEDING", -n),
                Some(n) => format!("{n} FOLLOWING"),
            };
            self.w.push(space);
            self.w.push(if frame.by_value { "RANGE" } else { "ROWS" });
            self.w.push(" BETWEEN ");
            self.w.push(&bound(frame.start, true));
            self.w.push(" AND ");
            self.w.push(&bound(frame.end, false));
        }
        self.w.push(")");
        Ok(typed)
    }

    /// `FUNC([DISTINCT] arg) [FILTER (WHERE cond)]`, wrapped in `COALESCE(.., default)`.
    fn aggregate(&mut self, a: &Aggregate) -> Result<Typed> {
        let name = a.func.name();
        if self.in_aggregate.is_some() {
            return Err(Error::field(format!(
                "Cannot compute {name}(): it is inside another aggregate"
            )));
        }
        if a.distinct && !a.func.allows_distinct() {
            return Err(Error::invalid(format!("{name} does not allow distinct.")));
        }
        if a.arg.is_none() && a.func != AggFunc::Count {
            return Err(Error::invalid(format!(
                "{name}('*') is not allowed: name a field."
            )));
        }
        if a.arg.is_none() && a.filter.is_some() {
            return Err(Error::invalid(
                "Star cannot be used with filter. Please specify a field.",
            ));
        }
        if a.default.is_some() && a.func == AggFunc::Count {
            return Err(Error::invalid("Count does not allow default."));
        }
        if a.default.is_some() {
            self.w.push("COALESCE(");
        }
        self.in_aggregate = Some(name);
        let result = self.aggregate_call(a);
        self.in_aggregate = None;
        let typed = result?;
        if let Some(default) = &a.default {
            self.w.push(", ");
            self.expr_inner(default, Some(typed.kind), true)?;
            self.w.push(")");
        }
        Ok(typed)
    }

    fn aggregate_call(&mut self, a: &Aggregate) -> Result<Typed> {
        let filter_in_case = a.filter.is_some() && !self.w.dialect.supports_aggregate_filter();
        self.w.push(a.func.sql());
        self.w.push("(");
        if a.distinct {
            self.w.push("DISTINCT ");
        }
        let arg_typed = match &a.arg {
            None => {
                self.w.push("*");
                None
            }
            Some(arg) if filter_in_case => {
                // No FILTER clause (MySQL): `CASE WHEN cond THEN arg ELSE NULL END`.
                self.w.push("CASE WHEN ");
                self.condition_in_expr(a.filter.as_ref().expect("checked"))?;
                self.w.push(" THEN ");
                let t = self.expr_inner(arg, None, false)?;
                self.w.push(" ELSE NULL END");
                t
            }
            Some(arg) => self.expr_inner(arg, None, false)?,
        };
        self.w.push(")");
        if let (Some(q), false) = (&a.filter, filter_in_case) {
            self.w.push(" FILTER (WHERE ");
            self.condition_in_expr(q)?;
            self.w.push(")");
        }
        let arg = arg_typed.unwrap_or(Typed::of(FieldKind::IntegerField));
        let out = match a.func {
            AggFunc::Count => Typed::of(FieldKind::IntegerField),
            AggFunc::Sum | AggFunc::Min | AggFunc::Max => arg,
            AggFunc::Avg | AggFunc::StdDev { .. } | AggFunc::Variance { .. } => match arg.kind {
                FieldKind::DecimalField => Typed::of(FieldKind::DecimalField),
                FieldKind::DurationField if a.func == AggFunc::Avg => arg,
                _ => Typed::of(FieldKind::FloatField),
            },
        };
        Ok(a.output.map(Typed::of).unwrap_or(out))
    }

    /// A condition inside an expression (a `When`, an aggregate's filter): its joins are
    /// left LEFT OUTER, since it decides a value and never drops a row.
    fn condition_in_expr(&mut self, q: &crate::query::Q) -> Result<()> {
        let saved = (self.filter_call.take(), self.in_expression_condition);
        self.in_expression_condition = true;
        let votes = self.q(q, false);
        (self.filter_call, self.in_expression_condition) = saved;
        let votes = votes?;
        self.joins.promote(&votes);
        Ok(())
    }

    fn case(&mut self, c: &Case, target: Option<FieldKind>) -> Result<Option<Typed>> {
        if c.whens.is_empty() {
            // Django compiles a Case without branches to its default.
            return match &c.default {
                Some(d) => self.expr_inner(d, target.or(c.output), true),
                None => self.value(&Value::Null, None, false),
            };
        }
        let target = target.or(c.output);
        let wrapped = self.wrapped;
        let mut out: Option<Typed> = None;
        let mut unify = |t: Option<Typed>| -> Result<()> {
            match (out, t) {
                (None, t) => out = t,
                (Some(a), Some(b))
                    if c.output.is_none() && wrapped == 0 && family(a.kind) != family(b.kind) =>
                {
                    return Err(Error::field(format!(
                        "Expression contains mixed types: {}, {}. You must set output_field.",
                        a.kind.name(),
                        b.kind.name()
                    )))
                }
                _ => {}
            }
            Ok(())
        };
        if c.whens.iter().any(|w| w.condition.is_empty()) {
            return Err(Error::invalid(
                "An empty Q() can't be used as a When() condition.",
            ));
        }
        self.w.push("CASE");
        for w in &c.whens {
            self.w.push(" WHEN ");
            self.condition_in_expr(&w.condition)?;
            self.w.push(" THEN ");
            let t = self.expr_inner(&w.then, target, true)?;
            unify(t)?;
        }
        self.w.push(" ELSE ");
        match &c.default {
            Some(d) => {
                let t = self.expr_inner(d, target, true)?;
                unify(t)?;
            }
            None => self.w.push("NULL"),
        }
        self.w.push(" END");
        Ok(c.output.map(Typed::of).or(out))
    }

    fn func(&mut self, f: &Func, target: Option<FieldKind>) -> Result<Option<Typed>> {
        use Function as Fn;
        let n = f.args.len();
        let arity_error = |want: &str| {
            Err(Error::invalid(format!(
                "{:?} takes {want}, got {n}",
                f.function
            )))
        };
        if f.function.is_window_function() && !self.in_window {
            return Err(Error::invalid(format!(
                "{:?}() is a window function: use it inside Window::new(...)",
                f.function
            )));
        }
        match &f.function {
            Fn::Invalid(message) => return Err(Error::invalid(message.clone())),
            Fn::Lag | Fn::Lead if n == 3 && !self.w.dialect.supports_default_in_lead_lag() => {
                return Err(Error::invalid(
                    "This backend does not support default values in Lead/Lag.",
                ))
            }
            Fn::Coalesce if n < 2 => {
                return Err(Error::invalid(
                    "Coalesce must take at least two expressions",
                ))
            }
            Fn::Greatest | Fn::Least if n < 2 => {
                return arity_error("at least two expressions");
            }
            Fn::Concat if n < 2 => {
                return Err(Error::invalid("Concat must take at least two expressions"))
            }
            Fn::Now if n != 0 => return arity_error("no argument"),
            Fn::Lower
            | Fn::Upper
            | Fn::Length
            | Fn::Trim
            | Fn::LTrim
            | Fn::RTrim
            | Fn::Abs
            | Fn::Ceil
            | Fn::Floor
            | Fn::Sqrt
            | Fn::Cast(_)
            | Fn::Extract(_)
            | Fn::Not
                if n != 1 =>
            {
                return arity_error("one expression");
            }
            _ => {}
        }
        // The arguments, each compiled on its own: a template may reorder or repeat them.
        // Values in a comparison-like function take the first argument's type.
        let same_type = matches!(
            f.function,
            Fn::Coalesce | Fn::Greatest | Fn::Least | Fn::NullIf | Fn::Named(_)
        );
        // LAG/LEAD's default has the value's type; the offset stays an integer.
        let default_like_first = matches!(f.function, Fn::Lag | Fn::Lead);
        let mut args: Vec<Fragment> = Vec::with_capacity(n);
        let mut types: Vec<Option<Typed>> = Vec::with_capacity(n);
        let mut first: Option<Typed> = None;
        // The counts of the window functions are written as numbers, as frame bounds
        // are: MariaDB takes no placeholder there.
        let literal_count = match f.function {
            Fn::Lag | Fn::Lead | Fn::NthValue => Some(1),
            Fn::NTile => Some(0),
            _ => None,
        };
        for (i, arg) in f.args.iter().enumerate() {
            if let (Some(at), Expr::Value(Value::I64(count))) = (literal_count, arg) {
                if at == i {
                    let sql = if self.w.params_only {
                        String::new()
                    } else {
                        count.to_string()
                    };
                    args.push(Fragment {
                        sql,
                        params: Vec::new(),
                    });
                    types.push(Some(Typed::of(FieldKind::IntegerField)));
                    continue;
                }
            }
            let arg_target = if same_type || (default_like_first && i == 2) {
                target.or(f.output).or(first.map(|t| t.kind))
            } else {
                None
            };
            let mark = self.w.mark();
            let t = self.expr_inner(arg, arg_target, true)?;
            args.push(self.w.take_since(mark));
            types.push(t);
            first = first.or(t);
        }
        let first_kind = types.first().copied().flatten();
        let numeric = |types: &[Option<Typed>]| {
            if types
                .iter()
                .flatten()
                .any(|t| t.kind == FieldKind::DecimalField)
            {
                Typed::of(FieldKind::DecimalField)
            } else {
                Typed::of(FieldKind::FloatField)
            }
        };
        let text = |t: Option<Typed>| match t {
            Some(t) if t.kind.is_text() => t,
            _ => Typed::of(FieldKind::CharField),
        };
        let out = match &f.function {
            Fn::Lower
            | Fn::Upper
            | Fn::Trim
            | Fn::LTrim
            | Fn::RTrim
            | Fn::Replace
            | Fn::Left
            | Fn::Right
            | Fn::LPad
            | Fn::RPad
            | Fn::Repeat
            | Fn::Substr
            | Fn::Concat => Some(text(first_kind)),
            Fn::Length | Fn::StrIndex | Fn::Extract(_) => Some(Typed::of(FieldKind::IntegerField)),
            Fn::Trunc(_) => first_kind.map(|t| Typed::of(t.kind)),
            Fn::Abs | Fn::Ceil | Fn::Floor | Fn::Round => first_kind,
            // The remainder of decimals keeps their places (SQLite computes it in
            // floating point; the places round the noise away).
            Fn::Mod => Some(Typed {
                places: types.iter().flatten().filter_map(|t| t.places).max(),
                ..numeric(&types)
            }),
            Fn::Power | Fn::Sqrt => Some(numeric(&types)),
            Fn::Cast(k) => Some(Typed::of(*k)),
            Fn::Now => Some(Typed::of(FieldKind::DateTimeField)),
            Fn::Not => Some(Typed::of(FieldKind::BooleanField)),
            Fn::Coalesce | Fn::Greatest | Fn::Least | Fn::NullIf | Fn::Named(_) => first,
            Fn::RowNumber | Fn::Rank | Fn::DenseRank | Fn::NTile => {
                Some(Typed::of(FieldKind::IntegerField))
            }
            Fn::PercentRank | Fn::CumeDist => Some(Typed::of(FieldKind::FloatField)),
            Fn::Lag | Fn::Lead | Fn::FirstValue | Fn::LastValue | Fn::NthValue => first_kind,
            Fn::Invalid(_) => None,
        };
        let template = match &f.function {
            Fn::Named(name) => std::borrow::Cow::Owned(format!("{name}({{*}})")),
            Fn::Trunc(to) => {
                let kind = first_kind.map_or(FieldKind::DateTimeField, |t| t.kind);
                if !matches!(kind, FieldKind::DateField | FieldKind::DateTimeField) {
                    return Err(Error::invalid(format!(
                        "Trunc only works on a date or a datetime, not a {}.",
                        kind.name()
                    )));
                }
                if kind == FieldKind::DateField && to.is_time() {
                    return Err(Error::invalid(format!(
                        "Cannot truncate DateField to {to:?}: it has no time."
                    )));
                }
                let truncated = self.w.dialect.trunc(*to, "{0}", kind);
                // A datetime cut to a date-level precision, read as a date.
                std::borrow::Cow::Owned(match f.output {
                    Some(FieldKind::DateField) if kind == FieldKind::DateTimeField => {
                        self.w.dialect.cast_date(&truncated)
                    }
                    _ => truncated,
                })
            }
            Fn::Extract(part) => {
                // The dialect writes the extraction around the argument's SQL.
                let kind = first_kind.map_or(FieldKind::DateTimeField, |t| t.kind);
                std::borrow::Cow::Owned(self.w.dialect.extract(*part, "{0}", kind))
            }
            function => self.w.dialect.function_template(function, n),
        };
        self.expand_template(&template, args);
        Ok(f.output.map(Typed::of).or(out))
    }

    /// Writes `template` with its `{i}` and `{*}` replaced by the arguments, binding
    /// each occurrence's parameters where it appears.
    fn expand_template(&mut self, template: &str, args: Vec<Fragment>) {
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}').map(|c| open + c) else {
                break;
            };
            let key = &rest[open + 1..close];
            let picked: Vec<usize> = match key {
                "*" => (0..args.len()).collect(),
                k => match k.parse::<usize>() {
                    Ok(i) if i < args.len() => vec![i],
                    _ => {
                        self.w.push(&rest[..=close]);
                        rest = &rest[close + 1..];
                        continue;
                    }
                },
            };
            self.w.push(&rest[..open]);
            for (j, i) in picked.into_iter().enumerate() {
                if j > 0 {
                    self.w.push(", ");
                }
                self.w.append(args[i].clone());
            }
            rest = &rest[close + 1..];
        }
        self.w.push(rest);
    }
}
