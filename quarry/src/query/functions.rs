//! Database functions, Django's `django.db.models.functions`: text (`Lower`, `Concat`,
//! `Substr`...), math (`Abs`, `Round`, `Power`...), comparison (`Coalesce`, `Greatest`,
//! `NullIf`), `Cast`, `Now`, `Extract`, and the generic [`Func`] for any other function.
//!
//! As in Django, a string argument names a field; wrap text meant as a value in
//! [`Value`](crate::Value).
//!
//! ```
//! use quarry::prelude::*;
//! use quarry::functions::{Concat, Length, Lower, Upper};
//!
//! #[derive(Model, Debug, Clone)]
//! #[model(app_label = "docs")]
//! struct Person {
//!     #[field(primary_key)]
//!     id: i64,
//!     #[field(max_length = 30)]
//!     first: String,
//!     #[field(max_length = 30)]
//!     last: String,
//!     _state: ModelState,
//! }
//!
//! let db = Database::connect("sqlite::memory:")?;
//! quarry::schema::create_tables(&db, &[Person::meta()])?;
//! Person::objects().create(&db, Person { id: 0, first: "Ada".into(), last: "Lovelace".into(), _state: ModelState::new() })?;
//! let p = Person::objects()
//!     .annotate([
//!         ("full", Concat(["first".into_expr(), Value::from(" ").into_expr(), Upper("last").into()])),
//!         ("short", Lower("first").into()),
//!         ("len", Length("last").into()),
//!     ])
//!     .get(&db, q!())?;
//! assert_eq!(p.annotation::<String>("full")?, "Ada LOVELACE");
//! assert_eq!(p.annotation::<String>("short")?, "ada");
//! assert_eq!(p.annotation::<i64>("len")?, 8);
//! # Ok::<(), quarry::Error>(())
//! ```

use super::expr::{Expr, ExprArg};
use crate::model::FieldKind;
use std::borrow::Cow;

/// Which function a [`Func`] calls.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Function {
    /// `COALESCE(a, b, ...)`: the first non-NULL argument.
    Coalesce,
    /// A function called by name with the arguments in order: `NAME(a, b, ...)`.
    Named(Cow<'static, str>),
    /// `NOT (a)`: `!Exists(...)`, Django's `~Exists(...)`.
    Not,
    /// Text in lower case.
    Lower,
    /// Text in upper case.
    Upper,
    /// The number of characters.
    Length,
    /// The arguments' text joined; NULL counts as empty text.
    Concat,
    /// Characters from a 1-based position, optionally only so many.
    Substr,
    /// Without leading and trailing spaces.
    Trim,
    /// Without leading spaces.
    LTrim,
    /// Without trailing spaces.
    RTrim,
    /// Every occurrence of a text replaced.
    Replace,
    /// The first n characters.
    Left,
    /// The last n characters.
    Right,
    /// The 1-based position of a text inside another (0 when absent).
    StrIndex,
    /// Padded on the left to a length.
    LPad,
    /// Padded on the right to a length.
    RPad,
    /// Repeated n times.
    Repeat,
    /// The absolute value.
    Abs,
    /// The smallest integer not below.
    Ceil,
    /// The largest integer not above.
    Floor,
    /// Rounded to a number of decimal places.
    Round,
    /// The remainder of a division.
    Mod,
    /// A power.
    Power,
    /// A square root.
    Sqrt,
    /// The largest argument.
    Greatest,
    /// The smallest argument.
    Least,
    /// NULL when both arguments are equal, else the first.
    NullIf,
    /// The argument converted to a field kind.
    Cast(FieldKind),
    /// The current date and time.
    Now,
    /// A part of a date or datetime (`year`, `month`, `week_day`, `quarter`...).
    Extract(crate::query::lookup::DatePart),
    /// A date or datetime cut to a precision (`Trunc("pubdate", "month")`).
    Trunc(crate::query::lookup::TruncKind),
    /// `ROW_NUMBER()` (window).
    RowNumber,
    /// `RANK()` (window).
    Rank,
    /// `DENSE_RANK()` (window).
    DenseRank,
    /// `PERCENT_RANK()` (window).
    PercentRank,
    /// `CUME_DIST()` (window).
    CumeDist,
    /// `NTILE(n)` (window).
    NTile,
    /// `LAG(expr, offset[, default])` (window).
    Lag,
    /// `LEAD(expr, offset[, default])` (window).
    Lead,
    /// `FIRST_VALUE(expr)` (window).
    FirstValue,
    /// `LAST_VALUE(expr)` (window).
    LastValue,
    /// `NTH_VALUE(expr, n)` (window).
    NthValue,
    /// A misuse found while building (an unknown date part), reported at compile time.
    Invalid(String),
}

impl Function {
    /// True for the functions that only make sense inside a [`Window`](crate::window::Window).
    pub fn is_window_function(&self) -> bool {
        use Function::*;
        matches!(
            self,
            RowNumber
                | Rank
                | DenseRank
                | PercentRank
                | CumeDist
                | NTile
                | Lag
                | Lead
                | FirstValue
                | LastValue
                | NthValue
        )
    }
}

/// A database function call, Django's `Func`.
///
/// ```
/// use quarry::{Func, Expr};
/// let e: Expr = Func::new("ABS", ["balance"]).into();
/// assert!(matches!(e, Expr::Func(_)));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Func {
    /// The function.
    pub function: Function,
    /// The arguments.
    pub args: Vec<Expr>,
    /// The output type; without it, the first argument's type.
    pub output: Option<FieldKind>,
}

impl Func {
    /// Calls the SQL function `name` (written as given, not quoted) on `args`; strings
    /// in `args` name fields, as Django's.
    pub fn new<A: ExprArg>(
        name: impl Into<Cow<'static, str>>,
        args: impl IntoIterator<Item = A>,
    ) -> Func {
        Func {
            function: Function::Named(name.into()),
            args: args.into_iter().map(ExprArg::into_expr).collect(),
            output: None,
        }
    }

    /// Sets the output type (`output_field=`).
    pub fn output_field(mut self, kind: FieldKind) -> Self {
        self.output = Some(kind);
        self
    }
}

impl From<Func> for Expr {
    fn from(f: Func) -> Expr {
        Expr::Func(Box::new(f))
    }
}

impl ExprArg for Func {
    fn into_expr(self) -> Expr {
        self.into()
    }
}

fn call(function: Function, args: Vec<Expr>) -> Func {
    Func {
        function,
        args,
        output: None,
    }
}

macro_rules! unary {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[allow(non_snake_case)]
        pub fn $name(expr: impl ExprArg) -> Func {
            call(Function::$name, vec![expr.into_expr()])
        }
    )*};
}

macro_rules! binary {
    ($($(#[$doc:meta])* $name:ident($a:ident, $b:ident);)*) => {$(
        $(#[$doc])*
        #[allow(non_snake_case)]
        pub fn $name($a: impl ExprArg, $b: impl ExprArg) -> Func {
            call(Function::$name, vec![$a.into_expr(), $b.into_expr()])
        }
    )*};
}

unary! {
    /// `LOWER(text)`.
    Lower;
    /// `UPPER(text)`.
    Upper;
    /// The number of characters of a text (`CHAR_LENGTH` on MySQL).
    Length;
    /// `TRIM(text)`.
    Trim;
    /// `LTRIM(text)`.
    LTrim;
    /// `RTRIM(text)`.
    RTrim;
    /// `ABS(n)`.
    Abs;
    /// `CEIL(n)`.
    Ceil;
    /// `FLOOR(n)`.
    Floor;
    /// `SQRT(n)`, a float (a decimal for a decimal).
    Sqrt;
}

binary! {
    /// The first `n` characters of `text`.
    Left(text, n);
    /// The last `n` characters of `text`.
    Right(text, n);
    /// The 1-based position of `needle` in `text`, 0 when it is absent.
    StrIndex(text, needle);
    /// `text` repeated `n` times.
    Repeat(text, n);
    /// The remainder of `a / b`, a float (a decimal for decimals), as Django's `Mod`.
    Mod(a, b);
    /// `base` to the power `exp`, a float (a decimal for decimals).
    Power(base, exp);
    /// NULL when `a` equals `b`, else `a`.
    NullIf(a, b);
}

/// The text of the arguments joined; a NULL argument counts as empty text, as Django's
/// `Concat` (each backend's own NULL rule is evened out).
#[allow(non_snake_case)]
pub fn Concat<A: ExprArg>(args: impl IntoIterator<Item = A>) -> Func {
    call(
        Function::Concat,
        args.into_iter().map(ExprArg::into_expr).collect(),
    )
}

/// `length` characters of `text` from 1-based `pos` (to the end when `None`).
#[allow(non_snake_case)]
pub fn Substr(text: impl ExprArg, pos: i64, length: Option<i64>) -> Func {
    let mut args = vec![text.into_expr(), Expr::from(pos)];
    args.extend(length.map(Expr::from));
    call(Function::Substr, args)
}

/// Every `from` in `text` replaced by `to`.
#[allow(non_snake_case)]
pub fn Replace(text: impl ExprArg, from: impl ExprArg, to: impl ExprArg) -> Func {
    call(
        Function::Replace,
        vec![text.into_expr(), from.into_expr(), to.into_expr()],
    )
}

/// `text` padded on the left with `fill` to `length` characters (cut to it when longer).
#[allow(non_snake_case)]
pub fn LPad(text: impl ExprArg, length: impl ExprArg, fill: impl ExprArg) -> Func {
    call(
        Function::LPad,
        vec![text.into_expr(), length.into_expr(), fill.into_expr()],
    )
}

/// `text` padded on the right with `fill` to `length` characters (cut to it when longer).
#[allow(non_snake_case)]
pub fn RPad(text: impl ExprArg, length: impl ExprArg, fill: impl ExprArg) -> Func {
    call(
        Function::RPad,
        vec![text.into_expr(), length.into_expr(), fill.into_expr()],
    )
}

/// `n` rounded to `places` decimal places (0: to an integer value).
#[allow(non_snake_case)]
pub fn Round(n: impl ExprArg, places: i64) -> Func {
    call(Function::Round, vec![n.into_expr(), Expr::from(places)])
}

/// The largest argument. A NULL argument makes the result NULL on SQLite and MySQL;
/// PostgreSQL ignores NULLs (Django documents the same).
#[allow(non_snake_case)]
pub fn Greatest<A: ExprArg>(args: impl IntoIterator<Item = A>) -> Func {
    call(
        Function::Greatest,
        args.into_iter().map(ExprArg::into_expr).collect(),
    )
}

/// The smallest argument (NULLs as for [`Greatest`]).
#[allow(non_snake_case)]
pub fn Least<A: ExprArg>(args: impl IntoIterator<Item = A>) -> Func {
    call(
        Function::Least,
        args.into_iter().map(ExprArg::into_expr).collect(),
    )
}

/// `expr` converted to `kind`, Django's `Cast(expr, output_field=...)`.
#[allow(non_snake_case)]
pub fn Cast(expr: impl ExprArg, kind: FieldKind) -> Func {
    call(Function::Cast(kind), vec![expr.into_expr()])
}

/// The current date and time (the statement's, on PostgreSQL).
#[allow(non_snake_case)]
pub fn Now() -> Func {
    call(Function::Now, Vec::new())
}

/// A part of a date or datetime: `Extract("pubdate", "year")`; parts are Django's
/// (`year`, `iso_year`, `quarter`, `month`, `week`, `day`, `week_day`, `iso_week_day`,
/// `hour`, `minute`, `second`). An unknown part is reported when the query compiles.
#[allow(non_snake_case)]
pub fn Extract(expr: impl ExprArg, part: &str) -> Func {
    match crate::query::lookup::Transform::for_kind(part, FieldKind::DateTimeField) {
        Some(crate::query::lookup::Transform::Extract(p)) => {
            call(Function::Extract(p), vec![expr.into_expr()])
        }
        _ => call(
            Function::Invalid(format!(
                "Extract: '{part}' is not a date part. Choices are: day, hour, iso_week_day, \
                 iso_year, minute, month, quarter, second, week, week_day, year"
            )),
            vec![expr.into_expr()],
        ),
    }
}

/// A date or datetime cut to `kind` (`year`, `quarter`, `month`, `week`, `day`, `hour`,
/// `minute`, `second`), Django's `Trunc`: a date stays a date, a datetime a datetime (in
/// UTC); `.output_field(FieldKind::DateField)` turns a truncated datetime into a date.
///
/// ```
/// use quarry::prelude::*;
/// use quarry::functions::Trunc;
/// # #[derive(Model, Debug, Clone)]
/// # #[model(app_label = "docs")]
/// # struct Sale { #[field(primary_key)] id: i64, day: NaiveDate, _state: ModelState }
/// # let db = Database::connect("sqlite::memory:")?;
/// # quarry::schema::create_tables(&db, &[Sale::meta()])?;
/// Sale::objects().create(&db, Sale { id: 0, day: NaiveDate::from_ymd_opt(2024, 5, 17).unwrap(), _state: ModelState::new() })?;
/// let s = Sale::objects().annotate([("month", Trunc("day", "month"))]).get(&db, q!())?;
/// assert_eq!(s.annotation::<NaiveDate>("month")?, NaiveDate::from_ymd_opt(2024, 5, 1).unwrap());
/// # Ok::<(), quarry::Error>(())
/// ```
#[allow(non_snake_case)]
pub fn Trunc(expr: impl ExprArg, kind: &str) -> Func {
    match crate::query::lookup::TruncKind::from_name(kind) {
        Some(k) => call(Function::Trunc(k), vec![expr.into_expr()]),
        None => call(
            Function::Invalid(format!(
                "Trunc: '{kind}' is not a precision. Choices are: year, quarter, month, week, \
                 day, hour, minute, second"
            )),
            vec![expr.into_expr()],
        ),
    }
}

/// `COALESCE(a, b, ...)`: the first argument that is not NULL. Django requires at least
/// two; so does quarry (the query reports it).
///
/// ```
/// use quarry::{Coalesce, Sum, Value, Expr};
/// let e: Expr = Coalesce([Sum("pages").into(), Expr::Value(Value::I64(0))]).into();
/// assert!(e.contains_aggregate());
/// ```
#[allow(non_snake_case)]
pub fn Coalesce<A: ExprArg>(args: impl IntoIterator<Item = A>) -> Func {
    Func {
        function: Function::Coalesce,
        args: args.into_iter().map(ExprArg::into_expr).collect(),
        output: None,
    }
}
