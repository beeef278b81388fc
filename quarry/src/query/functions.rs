//! Database functions: `Coalesce` and the generic [`Func`] for a function quarry does not
//! name.

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
