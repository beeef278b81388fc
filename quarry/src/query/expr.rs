//! Expressions: values, field references (`F`) and arithmetic between them.

use crate::value::Value;
use std::ops::{Add, Div, Mul, Neg, Rem, Sub};

/// An arithmetic operator between two expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl ArithOp {
    pub(crate) fn sql(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
            ArithOp::Mod => "%",
        }
    }
}

/// An expression on the right of a lookup, in an update, or (later) in an annotation.
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
    /// A field path, resolved against the model when the query compiles.
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
}

/// A reference to a field of the row, Django's `F("field")`.
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

macro_rules! arith {
    ($($tr:ident $m:ident $op:ident),*) => {$(
        impl<R: Into<Expr>> $tr<R> for Expr {
            type Output = Expr;
            fn $m(self, rhs: R) -> Expr {
                Expr::Arith { op: ArithOp::$op, lhs: Box::new(self), rhs: Box::new(rhs.into()) }
            }
        }
    )*};
}
arith!(Add add Add, Sub sub Sub, Mul mul Mul, Div div Div, Rem rem Mod);

impl Neg for Expr {
    type Output = Expr;
    fn neg(self) -> Expr {
        Expr::Arith {
            op: ArithOp::Mul,
            lhs: Box::new(self),
            rhs: Box::new(Expr::Value(Value::I64(-1))),
        }
    }
}
