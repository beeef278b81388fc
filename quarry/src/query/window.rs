//! Window functions: `Window(expr).partition_by(..).order_by(..).frame(..)`, the ranking
//! and value functions (`RowNumber`, `Rank`, `Lag`...) and aggregates over windows.

use super::ast::OrderBy;
use super::expr::{Expr, ExprArg};
use super::functions::{Func, Function};

/// A window frame bound, Django's `start`/`end` of `RowRange`/`ValueRange`: `None` is
/// UNBOUNDED, 0 the CURRENT ROW, a negative number PRECEDING, a positive one FOLLOWING.
pub type FrameBound = Option<i64>;

/// `ROWS` or `RANGE BETWEEN start AND end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Frame {
    /// `RANGE` (by value) rather than `ROWS`.
    pub by_value: bool,
    /// The start.
    pub start: FrameBound,
    /// The end.
    pub end: FrameBound,
}

/// Django's `RowRange(start, end)`.
///
/// ```
/// use quarry::window::RowRange;
/// let f = RowRange(None, Some(0)); // ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
/// assert!(!f.by_value);
/// ```
#[allow(non_snake_case)]
pub fn RowRange(start: FrameBound, end: FrameBound) -> Frame {
    Frame {
        by_value: false,
        start,
        end,
    }
}

/// Django's `ValueRange(start, end)`.
#[allow(non_snake_case)]
pub fn ValueRange(start: FrameBound, end: FrameBound) -> Frame {
    Frame {
        by_value: true,
        start,
        end,
    }
}

/// `expr OVER (PARTITION BY ... ORDER BY ... frame)`, Django's `Window`.
///
/// ```
/// use quarry::prelude::*;
/// use quarry::window::{Rank, Window};
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "docs")]
/// struct Score {
///     #[field(primary_key)]
///     id: i64,
///     #[field(max_length = 10)]
///     team: String,
///     points: i32,
///     _state: ModelState,
/// }
///
/// let db = Database::connect("sqlite::memory:")?;
/// quarry::schema::create_tables(&db, &[Score::meta()])?;
/// for (team, points) in [("a", 5), ("a", 9), ("b", 7)] {
///     Score::objects().create(&db, Score { id: 0, team: team.into(), points, _state: ModelState::new() })?;
/// }
/// let ranked = Score::objects()
///     .annotate([
///         ("rank", Window::new(Rank()).partition_by(["team"]).order_by([F("points").desc()])),
///         ("team_total", Window::new(Sum("points")).partition_by(["team"])),
///     ])
///     .order_by(["id"])
///     .all(&db)?;
/// assert_eq!(ranked[0].annotation::<i64>("rank")?, 2);
/// assert_eq!(ranked[0].annotation::<i64>("team_total")?, 14);
/// # Ok::<(), quarry::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// The function computed over the window.
    pub expr: Expr,
    /// `PARTITION BY`.
    pub partition_by: Vec<Expr>,
    /// `ORDER BY` inside the window.
    pub order_by: Vec<OrderBy>,
    /// The frame.
    pub frame: Option<Frame>,
}

impl Window {
    /// A window over every row, computing `expr` (a window function or an aggregate).
    pub fn new(expr: impl Into<Expr>) -> Window {
        Window {
            expr: expr.into(),
            partition_by: Vec::new(),
            order_by: Vec::new(),
            frame: None,
        }
    }

    /// `PARTITION BY`: strings name fields, as elsewhere.
    pub fn partition_by<A: ExprArg>(mut self, exprs: impl IntoIterator<Item = A>) -> Self {
        self.partition_by = exprs.into_iter().map(ExprArg::into_expr).collect();
        self
    }

    /// `ORDER BY` inside the window: `"-field"` strings or `F("x").desc()`.
    pub fn order_by<O: Into<OrderBy>>(mut self, terms: impl IntoIterator<Item = O>) -> Self {
        self.order_by = terms.into_iter().map(Into::into).collect();
        self
    }

    /// The frame (`RowRange`, `ValueRange`).
    pub fn frame(mut self, frame: Frame) -> Self {
        self.frame = Some(frame);
        self
    }
}

impl From<Window> for Expr {
    fn from(w: Window) -> Expr {
        Expr::Window(Box::new(w))
    }
}

impl ExprArg for Window {
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

macro_rules! no_args {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[allow(non_snake_case)]
        pub fn $name() -> Func {
            call(Function::$name, Vec::new())
        }
    )*};
}

no_args! {
    /// `ROW_NUMBER()`: 1, 2, 3... in the window's order.
    RowNumber;
    /// `RANK()`: ties share a rank, the next rank skips.
    Rank;
    /// `DENSE_RANK()`: ties share a rank, no gaps.
    DenseRank;
    /// `PERCENT_RANK()`, a float.
    PercentRank;
    /// `CUME_DIST()`, a float.
    CumeDist;
}

/// `NTILE(n)`: the bucket 1..n of each row.
#[allow(non_snake_case)]
pub fn NTile(n: i64) -> Func {
    call(Function::NTile, vec![Expr::from(n)])
}

/// `LAG(expr, offset[, default])`: the value `offset` rows before.
#[allow(non_snake_case)]
pub fn Lag(expr: impl ExprArg, offset: i64, default: Option<Expr>) -> Func {
    let mut args = vec![expr.into_expr(), Expr::from(offset)];
    args.extend(default);
    call(Function::Lag, args)
}

/// `LEAD(expr, offset[, default])`: the value `offset` rows after.
#[allow(non_snake_case)]
pub fn Lead(expr: impl ExprArg, offset: i64, default: Option<Expr>) -> Func {
    let mut args = vec![expr.into_expr(), Expr::from(offset)];
    args.extend(default);
    call(Function::Lead, args)
}

/// `FIRST_VALUE(expr)`.
#[allow(non_snake_case)]
pub fn FirstValue(expr: impl ExprArg) -> Func {
    call(Function::FirstValue, vec![expr.into_expr()])
}

/// `LAST_VALUE(expr)` (mind the default frame, which ends at the current row).
#[allow(non_snake_case)]
pub fn LastValue(expr: impl ExprArg) -> Func {
    call(Function::LastValue, vec![expr.into_expr()])
}

/// `NTH_VALUE(expr, n)`.
#[allow(non_snake_case)]
pub fn NthValue(expr: impl ExprArg, n: i64) -> Func {
    call(Function::NthValue, vec![expr.into_expr(), Expr::from(n)])
}
