//! Conditional expressions: `Case(When(condition, then), ..., default)`.

use super::expr::{Expr, ExprArg};
use super::q::Q;
use crate::model::FieldKind;

/// One `WHEN condition THEN result` branch of a [`Case`].
#[derive(Debug, Clone, PartialEq)]
pub struct When {
    /// The condition, a filter condition on the row.
    pub condition: Q,
    /// The result when it holds.
    pub then: Expr,
}

/// A `WHEN` branch: `then` follows Django's rule that a string names a field, so text
/// meant as a value goes in [`Value`](crate::Value).
///
/// ```
/// use quarry::{q, When, Value};
/// let w = When(q!(account_type = "G"), Value::from("5%"));
/// assert_eq!(w.then, quarry::Expr::Value(Value::Text("5%".into())));
/// ```
#[allow(non_snake_case)]
pub fn When(condition: Q, then: impl ExprArg) -> When {
    When {
        condition,
        then: then.into_expr(),
    }
}

/// `CASE WHEN ... THEN ... [ELSE default] END`, Django's `Case`: the first branch whose
/// condition holds gives the result; none holding gives the default (NULL without one).
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The branches, tried in order.
    pub whens: Vec<When>,
    /// The result when no branch holds.
    pub default: Option<Expr>,
    /// The output type, when the branches' results do not decide it.
    pub output: Option<FieldKind>,
}

/// Builds a [`Case`] from its branches.
///
/// ```
/// use quarry::{q, Case, When, Value, Expr};
/// let discount: Expr = Case([
///     When(q!(account_type = "G"), Value::from("5%")),
///     When(q!(account_type = "P"), Value::from("10%")),
/// ])
/// .default(Value::from("0%"))
/// .into();
/// assert!(!discount.contains_aggregate());
/// ```
#[allow(non_snake_case)]
pub fn Case(whens: impl IntoIterator<Item = When>) -> Case {
    Case {
        whens: whens.into_iter().collect(),
        default: None,
        output: None,
    }
}

impl Case {
    /// The result when no branch holds (`default=`).
    pub fn default(mut self, value: impl ExprArg) -> Self {
        self.default = Some(value.into_expr());
        self
    }

    /// Sets the output type (`output_field=`).
    pub fn output_field(mut self, kind: FieldKind) -> Self {
        self.output = Some(kind);
        self
    }

    pub(crate) fn contains_aggregate(&self) -> bool {
        self.whens
            .iter()
            .any(|w| w.then.contains_aggregate() || w.condition.contains_aggregate())
            || self.default.as_ref().is_some_and(Expr::contains_aggregate)
    }
}

impl From<Case> for Expr {
    fn from(c: Case) -> Expr {
        Expr::Case(Box::new(c))
    }
}

impl ExprArg for Case {
    fn into_expr(self) -> Expr {
        self.into()
    }
}
