//! Expressions: values, field references (`F`), arithmetic between them, and the nodes
//! that build on them (aggregates, `Case`/`When`, database functions).
//!
//! An expression is data: names stay strings until the query compiles, where the one
//! resolver turns them into columns (or annotations) and infers the output type.

use super::aggregates::Aggregate;
use super::conditional::Case;
use super::functions::Func;
use crate::model::FieldKind;
use crate::value::Value;
use std::ops::{Add, Div, Mul, Neg, Not, Rem, Sub};

/// An arithmetic operator between two expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    /// `^` in Django (`F("a").pow(2)` here).
    Pow,
}

impl ArithOp {
    /// The operator as Django writes it in messages.
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
            ArithOp::Mod => "%",
            ArithOp::Pow => "^",
        }
    }
}

/// An expression: on the right of a lookup, in an update, an annotation, an aggregate or
/// an ordering.
///
/// ```
/// use quarry::{F, Expr, Value};
/// let e: Expr = F("pages") * 2 + 1;
/// assert!(matches!(e, Expr::Arith { .. }));
/// assert_eq!(Expr::from(3), Expr::Value(Value::I64(3)));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Expr {
    /// A bound value.
    Value(Value),
    /// A field path or an annotation's name, resolved when the query compiles.
    Field(String),
    /// `lhs op rhs`.
    Arith {
        /// The operator.
        op: ArithOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// An aggregate: `Count`, `Sum`, `Avg`, `Min`, `Max`, `StdDev`, `Variance`.
    Aggregate(Box<Aggregate>),
    /// `CASE WHEN ... THEN ... ELSE ... END`.
    Case(Box<Case>),
    /// A database function (`Coalesce`, or any [`Func`]).
    Func(Box<Func>),
    /// Raw SQL with `%s` placeholders and their values, Django's `RawSQL`.
    Raw {
        /// The SQL, `%s` for each parameter (`%%` for a percent sign).
        sql: String,
        /// The values, bound in order.
        params: Vec<Value>,
        /// What it returns.
        output: FieldKind,
    },
    /// A window function or an aggregate over a window (`... OVER (...)`).
    Window(Box<super::window::Window>),
    /// A subquery: its value, `EXISTS`, or the right side of `in`.
    Subquery(Box<super::subquery::SubqueryExpr>),
    /// A column of an enclosing query, inside a subquery: `OuterRef("pk")` (depth 0,
    /// the query just outside) or `OuterRef(OuterRef("pk"))` (depth 1, one further out).
    OuterRef {
        /// The field path or annotation name in that query.
        path: String,
        /// How many queries further out than the one just outside.
        depth: u8,
    },
    /// A condition used as a boolean value, Django's `ExpressionWrapper(Q(...),
    /// output_field=BooleanField())`: `Expr::from(q!(age__lt = 40))`.
    Condition(Box<super::Q>),
    /// An expression with its output type given, Django's `ExpressionWrapper`.
    Wrapper {
        /// The wrapped expression.
        expr: Box<Expr>,
        /// What it returns.
        output: FieldKind,
    },
}

impl Expr {
    /// The same expression with its output type given, Django's
    /// `ExpressionWrapper(expr, output_field=...)`: needed where the operands' types do
    /// not decide it (a decimal times a float).
    ///
    /// ```
    /// use quarry::{F, Expr};
    /// use quarry::model::FieldKind;
    /// let e = (F("price") * F("rate")).output_field(FieldKind::FloatField);
    /// assert!(matches!(e, Expr::Wrapper { output: FieldKind::FloatField, .. }));
    /// ```
    pub fn output_field(self, output: FieldKind) -> Expr {
        Expr::Wrapper {
            expr: Box::new(self),
            output,
        }
    }

    /// `self` raised to `exp`, Django's `F("a") ** 2`.
    ///
    /// ```
    /// use quarry::{F, Expr, query::ArithOp};
    /// assert!(matches!(F("side").pow(2), Expr::Arith { op: ArithOp::Pow, .. }));
    /// ```
    pub fn pow(self, exp: impl Into<Expr>) -> Expr {
        Expr::Arith {
            op: ArithOp::Pow,
            lhs: Box::new(self),
            rhs: Box::new(exp.into()),
        }
    }

    /// Orders by this expression, ascending (Django's `F("x").asc()`).
    ///
    /// ```
    /// use quarry::{F, Count};
    /// use quarry::query::OrderBy;
    /// assert!(matches!(F("name").asc(), OrderBy::Expr { descending: false, .. }));
    /// let _by_count = quarry::Expr::from(Count("books")).desc().nulls_last();
    /// ```
    pub fn asc(self) -> super::OrderBy {
        super::OrderBy::Expr {
            expr: self,
            descending: false,
            nulls: None,
        }
    }

    /// Orders by this expression, descending (Django's `F("x").desc()`).
    pub fn desc(self) -> super::OrderBy {
        super::OrderBy::Expr {
            expr: self,
            descending: true,
            nulls: None,
        }
    }

    /// True when a window function appears in the expression (not inside a subquery).
    pub fn contains_window(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| found |= matches!(e, Expr::Window(_)));
        found
    }

    /// True when an aggregate appears anywhere in the expression (outside a subquery):
    /// filtering on it needs HAVING, and annotating it groups the rows.
    pub fn contains_aggregate(&self) -> bool {
        match self {
            Expr::Value(_)
            | Expr::Field(_)
            | Expr::OuterRef { .. }
            | Expr::Subquery(_)
            | Expr::Raw { .. }
            | Expr::Window(_) => false,
            Expr::Aggregate(_) => true,
            Expr::Arith { lhs, rhs, .. } => lhs.contains_aggregate() || rhs.contains_aggregate(),
            Expr::Case(c) => c.contains_aggregate(),
            Expr::Condition(q) => q.contains_aggregate(),
            Expr::Func(f) => f.args.iter().any(Expr::contains_aggregate),
            Expr::Wrapper { expr, .. } => expr.contains_aggregate(),
        }
    }

    /// Calls `f` on every field path the expression names (for aggregates over an
    /// annotated query, which read those columns from a subquery).
    pub(crate) fn walk_fields<'a>(&'a self, f: &mut impl FnMut(&'a str)) {
        // `walk` reaches every expression, conditions' values included; the paths that
        // are not expressions (lookups, window orderings by name) are read here.
        self.walk(&mut |e| match e {
            Expr::Field(p) => f(p),
            Expr::Window(w) => {
                for o in &w.order_by {
                    if let super::OrderBy::Field { path, .. } = o {
                        f(path)
                    }
                }
            }
            Expr::Aggregate(a) => {
                if let Some(q) = &a.filter {
                    q.walk_lookup_keys(f);
                }
            }
            Expr::Case(c) => c.whens.iter().for_each(|w| w.condition.walk_lookup_keys(f)),
            Expr::Condition(q) => q.walk_lookup_keys(f),
            _ => {}
        });
    }
}

impl Expr {
    /// Calls `f` on every field path read outside aggregates, windows and subqueries
    /// (the paths of conditions too): what an aggregating expression must be grouped
    /// by, as Django's `get_group_by_cols` collects it.
    pub(crate) fn walk_group_paths<'a>(&'a self, f: &mut dyn FnMut(&'a str)) {
        self.walk_unaggregated(&mut |e| match e {
            Expr::Field(p) => f(p),
            Expr::Condition(q) => q.walk_lookup_paths(f),
            Expr::Case(c) => c
                .whens
                .iter()
                .for_each(|w| w.condition.walk_lookup_paths(f)),
            _ => {}
        });
    }

    /// Like [`walk`](Self::walk), but not into aggregates and windows.
    fn walk_unaggregated<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        match self {
            Expr::Arith { lhs, rhs, .. } => {
                lhs.walk_unaggregated(f);
                rhs.walk_unaggregated(f);
            }
            Expr::Case(c) => {
                for w in &c.whens {
                    w.then.walk_unaggregated(f);
                }
                if let Some(d) = &c.default {
                    d.walk_unaggregated(f);
                }
            }
            Expr::Func(func) => func.args.iter().for_each(|a| a.walk_unaggregated(f)),
            Expr::Wrapper { expr, .. } => expr.walk_unaggregated(f),
            _ => {}
        }
    }

    /// Calls `f` on every expression node, depth first (not inside subqueries).
    pub(crate) fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        f(self);
        match self {
            Expr::Value(_)
            | Expr::Field(_)
            | Expr::OuterRef { .. }
            | Expr::Subquery(_)
            | Expr::Raw { .. } => {}
            Expr::Window(w) => {
                w.expr.walk(f);
                w.partition_by.iter().for_each(|e| e.walk(f));
                for o in &w.order_by {
                    if let super::OrderBy::Expr { expr, .. } = o {
                        expr.walk(f);
                    }
                }
            }
            Expr::Arith { lhs, rhs, .. } => {
                lhs.walk(f);
                rhs.walk(f);
            }
            Expr::Aggregate(a) => {
                if let Some(arg) = &a.arg {
                    arg.walk(f);
                }
                if let Some(d) = &a.default {
                    d.walk(f);
                }
                if let Some(q) = &a.filter {
                    q.walk_exprs(f);
                }
            }
            Expr::Case(c) => {
                for w in &c.whens {
                    w.condition.walk_exprs(f);
                    w.then.walk(f);
                }
                if let Some(d) = &c.default {
                    d.walk(f);
                }
            }
            Expr::Condition(q) => q.walk_exprs(f),
            Expr::Func(func) => func.args.iter().for_each(|a| a.walk(f)),
            Expr::Wrapper { expr, .. } => expr.walk(f),
        }
    }

    /// Calls `f` on every expression node, children first, with leave to change it (not
    /// inside subqueries).
    pub(crate) fn walk_mut(&mut self, f: &mut impl FnMut(&mut Expr)) {
        match self {
            Expr::Value(_)
            | Expr::Field(_)
            | Expr::OuterRef { .. }
            | Expr::Subquery(_)
            | Expr::Raw { .. } => {}
            Expr::Window(w) => {
                w.expr.walk_mut(f);
                w.partition_by.iter_mut().for_each(|e| e.walk_mut(f));
                for o in &mut w.order_by {
                    if let super::OrderBy::Expr { expr, .. } = o {
                        expr.walk_mut(f);
                    }
                }
            }
            Expr::Arith { lhs, rhs, .. } => {
                lhs.walk_mut(f);
                rhs.walk_mut(f);
            }
            Expr::Aggregate(a) => {
                if let Some(arg) = &mut a.arg {
                    arg.walk_mut(f);
                }
                if let Some(d) = &mut a.default {
                    d.walk_mut(f);
                }
                if let Some(q) = &mut a.filter {
                    q.walk_exprs_mut(f);
                }
            }
            Expr::Case(c) => {
                for w in &mut c.whens {
                    w.condition.walk_exprs_mut(f);
                    w.then.walk_mut(f);
                }
                if let Some(d) = &mut c.default {
                    d.walk_mut(f);
                }
            }
            Expr::Condition(q) => q.walk_exprs_mut(f),
            Expr::Func(func) => func.args.iter_mut().for_each(|a| a.walk_mut(f)),
            Expr::Wrapper { expr, .. } => expr.walk_mut(f),
        }
        f(self);
    }

    /// Calls `f(path, level)` on every `OuterRef` of the expression and of the
    /// subqueries inside it (`nesting` deep) that reaches outside the query holding
    /// the expression: `level` 0 is the query just outside, 1 the one beyond.
    pub(crate) fn walk_outer_refs<'a>(&'a self, nesting: u8, f: &mut dyn FnMut(&'a str, u8)) {
        self.walk(&mut |e| match e {
            Expr::OuterRef { path, depth } if *depth >= nesting => f(path, depth - nesting),
            Expr::Subquery(sub) => sub.query.walk_outer_refs(nesting + 1, f),
            _ => {}
        });
    }
}

/// Raw SQL in an expression, Django's `RawSQL(sql, params, output_field)`: `%s` marks
/// each parameter (bound, never inlined), `%%` a percent sign. The SQL is written as
/// given, so it is yours to keep portable and safe; prefer the expression API.
///
/// ```
/// use quarry::prelude::*;
/// use quarry::RawSQL;
/// use quarry::model::FieldKind;
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "docs")]
/// struct Shop {
///     #[field(primary_key)]
///     id: i64,
///     staff: i32,
///     _state: ModelState,
/// }
///
/// let db = Database::connect("sqlite::memory:")?;
/// quarry::schema::create_tables(&db, &[Shop::meta()])?;
/// for staff in [2, 40] {
///     Shop::objects().create(&db, Shop { id: 0, staff, _state: ModelState::new() })?;
/// }
/// let big = Shop::objects().filter(Q::expr(RawSQL("staff > %s", [10], FieldKind::BooleanField)));
/// assert_eq!(big.count(&db)?, 1);
/// let shop = Shop::objects()
///     .annotate([("double", RawSQL("staff * %s", [2], FieldKind::IntegerField))])
///     .order_by(["id"])
///     .first(&db)?
///     .unwrap();
/// assert_eq!(shop.annotation::<i64>("double")?, 4);
/// # Ok::<(), quarry::Error>(())
/// ```
#[allow(non_snake_case)]
pub fn RawSQL<V: Into<Value>>(
    sql: impl Into<String>,
    params: impl IntoIterator<Item = V>,
    output: FieldKind,
) -> Expr {
    Expr::Raw {
        sql: sql.into(),
        params: params.into_iter().map(Into::into).collect(),
        output,
    }
}

/// A reference to a field of the row (or to an annotation), Django's `F("field")`.
///
/// ```
/// use quarry::{F, Expr};
/// assert_eq!(Expr::from(F("pages")), Expr::Field("pages".into()));
/// ```
#[allow(non_snake_case)]
pub fn F(path: impl Into<String>) -> Expr {
    Expr::Field(path.into())
}

impl<T: Into<Value>> From<T> for Expr {
    fn from(v: T) -> Expr {
        Expr::Value(v.into())
    }
}

/// A condition as a boolean value, Django's `ExpressionWrapper(Q(...),
/// output_field=BooleanField())`: true where the row matches.
///
/// ```
/// use quarry::{q, Expr};
/// assert!(matches!(Expr::from(q!(age__lt = 40)), Expr::Condition(_)));
/// ```
impl From<super::Q> for Expr {
    fn from(q: super::Q) -> Expr {
        Expr::Condition(Box::new(q))
    }
}

impl ExprArg for super::Q {
    fn into_expr(self) -> Expr {
        Expr::from(self)
    }
}

/// An argument of an aggregate or a database function: as in Django, a string names a
/// field (`Count("authors")`, `Coalesce("nickname", "name")`), and anything else is an
/// expression or a value (wrap text meant as a value in [`Value`]).
///
/// ```
/// use quarry::{ExprArg, Expr, Value, F};
/// assert_eq!("pages".into_expr(), F("pages"));
/// assert_eq!(Value::from("x").into_expr(), Expr::Value(Value::Text("x".into())));
/// assert_eq!(3.into_expr(), Expr::Value(Value::I64(3)));
/// ```
pub trait ExprArg {
    /// The expression this argument stands for.
    fn into_expr(self) -> Expr;
}

impl ExprArg for &str {
    fn into_expr(self) -> Expr {
        Expr::Field(self.to_owned())
    }
}

impl ExprArg for String {
    fn into_expr(self) -> Expr {
        Expr::Field(self)
    }
}

impl ExprArg for Expr {
    fn into_expr(self) -> Expr {
        self
    }
}

impl ExprArg for Value {
    fn into_expr(self) -> Expr {
        Expr::Value(self)
    }
}

macro_rules! value_args {
    ($($t:ty),*) => {$(
        impl ExprArg for $t {
            fn into_expr(self) -> Expr {
                Expr::Value(self.into())
            }
        }
    )*};
}
value_args!(
    i16,
    i32,
    i64,
    u16,
    u32,
    f32,
    f64,
    bool,
    rust_decimal::Decimal,
    chrono::NaiveDate,
    chrono::NaiveTime,
    chrono::DateTime<chrono::Utc>,
    chrono::TimeDelta
);

/// Arithmetic operators for `Expr` and for each node that converts into one, so that
/// `Sum("price") * 2` and `F("a") + Count("b")` both build an [`Expr`].
macro_rules! arith {
    ($($ty:ty),*) => {$(
        arith!(@one $ty, Add add Add, Sub sub Sub, Mul mul Mul, Div div Div, Rem rem Mod);
        impl Neg for $ty {
            type Output = Expr;
            fn neg(self) -> Expr {
                Expr::Arith {
                    op: ArithOp::Mul,
                    lhs: Box::new(self.into()),
                    rhs: Box::new(Expr::Value(Value::I64(-1))),
                }
            }
        }
    )*};
    (@one $ty:ty, $($tr:ident $m:ident $op:ident),*) => {$(
        impl<R: Into<Expr>> $tr<R> for $ty {
            type Output = Expr;
            fn $m(self, rhs: R) -> Expr {
                Expr::Arith {
                    op: ArithOp::$op,
                    lhs: Box::new(self.into()),
                    rhs: Box::new(rhs.into()),
                }
            }
        }
    )*};
}
arith!(Expr, Aggregate, Case, Func);

/// `2 * F("x")`: a number on the left of an expression.
macro_rules! number_lhs {
    ($($t:ty),*) => {$(
        number_lhs!(@one $t, Add add Add, Sub sub Sub, Mul mul Mul, Div div Div, Rem rem Mod);
    )*};
    (@one $t:ty, $($tr:ident $m:ident $op:ident),*) => {$(
        impl $tr<Expr> for $t {
            type Output = Expr;
            fn $m(self, rhs: Expr) -> Expr {
                Expr::Arith {
                    op: ArithOp::$op,
                    lhs: Box::new(Expr::Value(self.into())),
                    rhs: Box::new(rhs),
                }
            }
        }
    )*};
}
number_lhs!(i32, i64, f64, rust_decimal::Decimal);

/// `!Exists(...)`: the negation of a boolean expression, Django's `~`.
impl Not for Expr {
    type Output = Expr;
    fn not(self) -> Expr {
        match self {
            Expr::Func(f) if f.function == super::functions::Function::Not => {
                f.args.into_iter().next().expect("NOT has one argument")
            }
            e => Expr::Func(Box::new(Func {
                function: super::functions::Function::Not,
                args: vec![e],
                output: Some(FieldKind::BooleanField),
            })),
        }
    }
}
