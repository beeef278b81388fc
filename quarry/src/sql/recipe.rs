//! Parameter recipes: where each parameter of a cached statement comes from.
//!
//! On a statement-cache hit the SQL is known and only the parameters are wanted. Most
//! queries bind nothing but the values of their filter conditions, each converted as its
//! lookup converts it. For those, the compile that wrote the SQL also writes down a
//! recipe: for each parameter in order, the condition it comes from (its position in a
//! preorder walk of the filters), which part of the value, and the conversion. A hit
//! follows the recipe and resolves no path.
//!
//! The compiler records a step where it binds a filter value as it is; anything else
//! (an expression, a subquery, an annotation) spoils the recipe, and such shapes take
//! the compiler's params-only walk on a hit. A recipe is kept only when following it on
//! the query it was recorded from gives exactly the parameters the compile bound; debug
//! builds compare the two on every hit as well.

use super::compiler::{prep, prep_ref};
use super::dialect::Dialect;
use crate::error::Result;
use crate::model::FieldKind;
use crate::query::ast::Query;
use crate::query::lookup::Lookup;
use crate::query::{Expr, Q};
use crate::value::{Param, Params, Value};

/// Where one or more parameters come from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Step {
    /// The condition, numbered in a preorder walk of the query's filters.
    pub(crate) leaf: u32,
    /// Which part of its value.
    pub(crate) take: Take,
    /// What the lookup does to it.
    pub(crate) conv: Conv,
}

/// The part of a condition's value a step binds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Take {
    /// The value.
    Whole,
    /// Each item of a list that is not NULL (`__in`).
    Items,
    /// Item 0 or 1 of a two-item list (`__range`).
    Bound(u8),
}

/// How a value becomes a parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Conv {
    /// Converted to what a field of this kind stores ([`prep`]).
    Field(FieldKind),
    /// The text form, made into the dialect's pattern for this lookup (`contains`...).
    Pattern(Lookup),
    /// The text form (a regex).
    Text,
}

/// The steps that rebuild a statement's parameters from a query of its shape.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Recipe {
    steps: Vec<Step>,
    /// The steps read the conditions in walk order (the usual case): applying walks the
    /// filters once, with no list of their values.
    in_order: bool,
}

impl Recipe {
    /// Adds a step.
    pub(crate) fn push(&mut self, step: Step) {
        self.in_order = match self.steps.last() {
            None => true,
            Some(last) => self.in_order && last.leaf <= step.leaf,
        };
        self.steps.push(step);
    }

    /// The parameters of `query`, a query of the shape this recipe was recorded from.
    pub(crate) fn apply<'q>(&self, query: &'q Query, dialect: &dyn Dialect) -> Result<Params<'q>> {
        let mut params = Params::new();
        if self.steps.is_empty() {
            return Ok(params);
        }
        if self.in_order {
            let mut cursor = Cursor {
                steps: &self.steps,
                next: 0,
                leaf: 0,
            };
            for f in &query.filters {
                match &f.q {
                    // A filter of one condition, the usual case: no walk.
                    Q::Lookup { value, .. } => cursor.visit(value, dialect, &mut params)?,
                    q => visit_leaves(q, &mut |value| cursor.visit(value, dialect, &mut params))?,
                }
            }
            debug_assert_eq!(
                cursor.next,
                self.steps.len(),
                "a recipe step's leaf is missing"
            );
        } else {
            let mut leaves = Vec::new();
            for f in &query.filters {
                visit_leaves(&f.q, &mut |value| {
                    leaves.push(value);
                    Ok(())
                })?;
            }
            for step in &self.steps {
                apply_step(step, leaves[step.leaf as usize], dialect, &mut params)?;
            }
        }
        Ok(params)
    }
}

/// Where an in-order recipe is: its next step, and the number of the next condition.
struct Cursor<'r> {
    steps: &'r [Step],
    next: usize,
    leaf: u32,
}

impl Cursor<'_> {
    /// Takes the parameters of the next condition, whose value is `value`.
    #[inline(always)]
    fn visit<'q>(
        &mut self,
        value: &'q Expr,
        dialect: &dyn Dialect,
        params: &mut Params<'q>,
    ) -> Result<()> {
        while let Some(step) = self.steps.get(self.next).filter(|s| s.leaf == self.leaf) {
            apply_step(step, value, dialect, params)?;
            self.next += 1;
        }
        self.leaf += 1;
        Ok(())
    }
}

/// Pushes the parameters `step` takes from the condition value `value`.
#[inline]
fn apply_step<'q>(
    step: &Step,
    value: &'q Expr,
    dialect: &dyn Dialect,
    params: &mut Params<'q>,
) -> Result<()> {
    let Expr::Value(value) = value else {
        unreachable!("a recipe's leaf is a value of a query of its shape")
    };
    match (step.take, value) {
        (Take::Whole, v) => params.push(convert(step.conv, v, dialect)?),
        (Take::Items, Value::List(items)) => {
            params.reserve(items.len());
            for item in items.iter().filter(|v| !v.is_null()) {
                params.push(convert(step.conv, item, dialect)?);
            }
        }
        (Take::Bound(i), Value::List(items)) => {
            params.push(convert(step.conv, &items[usize::from(i)], dialect)?)
        }
        _ => unreachable!("a recipe's list step reads a list"),
    }
    Ok(())
}

/// Calls `f` with the value of each of `q`'s conditions, in the order the compiler
/// meets them.
fn visit_leaves<'q>(q: &'q Q, f: &mut impl FnMut(&'q Expr) -> Result<()>) -> Result<()> {
    match q {
        Q::Lookup { value, .. } => f(value),
        Q::And(children) | Q::Or(children) => {
            for c in children {
                visit_leaves(c, f)?;
            }
            Ok(())
        }
        Q::Not(inner) => visit_leaves(inner, f),
        // A recipe is never recorded for a query with one (it spoils the recording).
        Q::Expr(_) => Ok(()),
    }
}

/// One parameter, converted as the compiler converts it; a value bound as it is stays
/// borrowed from the query.
#[inline]
fn convert<'q>(conv: Conv, v: &'q Value, dialect: &dyn Dialect) -> Result<Param<'q>> {
    match conv {
        Conv::Field(kind) => Ok(match prep_ref(kind, v)? {
            Some(converted) => Param::Owned(converted),
            None => Param::Value(v),
        }),
        Conv::Pattern(..) | Conv::Text => convert_owned(conv, v, dialect).map(Param::Owned),
    }
}

/// The parameters the compiler makes new text for (`LIKE` patterns, regexes).
fn convert_owned(conv: Conv, v: &Value, dialect: &dyn Dialect) -> Result<Value> {
    match conv {
        Conv::Field(kind) => prep(kind, v.clone()),
        Conv::Pattern(lookup) => {
            let text = match v {
                Value::Text(s) => dialect.pattern_value(lookup, s),
                other => dialect.pattern_value(lookup, &super::compiler::value_text(other)),
            };
            prep(FieldKind::TextField, Value::Text(text))
        }
        Conv::Text => prep(
            FieldKind::TextField,
            Value::Text(super::compiler::value_text(v)),
        ),
    }
}
