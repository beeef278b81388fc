//! `Q` objects: filter conditions combined with `&`, `|` and `!`.

use super::expr::Expr;
use std::ops::{BitAnd, BitOr, Not};

/// A filter condition tree, Django's `Q`.
///
/// Build leaves with [`q!`](crate::q!) or [`Q::lookup`], combine with `&` (AND), `|` (OR)
/// and `!` (NOT, Django's `~`).
///
/// ```
/// use quarry::{q, Q};
/// let cond = q!(name__startswith = "Py") & !q!(pages__lt = 100) | Q::lookup("pk", 1);
/// assert!(matches!(cond, Q::Or(_)));
/// assert_eq!(Q::all(), Q::And(vec![]));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Q {
    /// One `path__lookup = value` condition.
    Lookup {
        /// `field__transform__lookup`, Django's keyword.
        path: crate::query::Name,
        /// The right-hand side.
        value: Expr,
    },
    /// All children hold (an empty AND matches every row, as Django's `Q()`).
    And(Vec<Q>),
    /// At least one child holds.
    Or(Vec<Q>),
    /// The child does not hold.
    Not(Box<Q>),
    /// A boolean expression: `Exists(...)`, or a boolean `Case`.
    Expr(Expr),
}

impl Q {
    /// A leaf: `path` is `field[__transform...][__lookup]`.
    pub fn lookup(path: impl Into<crate::query::Name>, value: impl Into<Expr>) -> Q {
        Q::Lookup {
            path: path.into(),
            value: value.into(),
        }
    }

    /// A condition that is a boolean expression, Django's `filter(Exists(...))`.
    pub fn expr(e: impl Into<Expr>) -> Q {
        Q::Expr(e.into())
    }

    /// The empty condition, Django's `Q()`: matches every row.
    pub fn all() -> Q {
        Q::And(Vec::new())
    }

    /// True for the empty condition.
    pub fn is_empty(&self) -> bool {
        matches!(self, Q::And(c) if c.is_empty())
    }

    /// The `(field, value)` pairs of plain `exact` leaves ANDed at the top, which
    /// `get_or_create` uses to build a new object. Paths with `__` are skipped, as Django does.
    pub(crate) fn exact_pairs(&self) -> Vec<(&str, &Expr)> {
        match self {
            Q::Lookup { path, value } => {
                let field = path.strip_suffix("__exact").unwrap_or(path);
                if field.contains("__") {
                    vec![]
                } else {
                    vec![(field, value)]
                }
            }
            Q::And(children) => children.iter().flat_map(Q::exact_pairs).collect(),
            _ => vec![],
        }
    }
}

impl Q {
    /// True when a condition's value holds an aggregate (`q!(n__gt = Avg("n"))`).
    pub(crate) fn contains_aggregate(&self) -> bool {
        match self {
            Q::Lookup { value, .. } => value.contains_aggregate(),
            Q::And(c) | Q::Or(c) => c.iter().any(Q::contains_aggregate),
            Q::Not(inner) => inner.contains_aggregate(),
            Q::Expr(e) => e.contains_aggregate(),
        }
    }

    /// Calls `f` on the lookup paths alone (`name__icontains`), not on the paths of
    /// their values.
    pub(crate) fn walk_lookup_keys<'a>(&'a self, f: &mut impl FnMut(&'a str)) {
        match self {
            Q::Lookup { path, .. } => f(path),
            Q::And(c) | Q::Or(c) => c.iter().for_each(|c| c.walk_lookup_keys(f)),
            Q::Not(inner) => inner.walk_lookup_keys(f),
            Q::Expr(_) => {}
        }
    }

    /// Calls `f` on the lookup paths of the condition and on the paths its values read
    /// outside aggregates (see `Expr::walk_group_paths`).
    pub(crate) fn walk_lookup_paths<'a>(&'a self, f: &mut dyn FnMut(&'a str)) {
        match self {
            Q::Lookup { path, value } => {
                f(path);
                value.walk_group_paths(f);
            }
            Q::And(c) | Q::Or(c) => c.iter().for_each(|c| c.walk_lookup_paths(f)),
            Q::Not(inner) => inner.walk_lookup_paths(f),
            Q::Expr(e) => e.walk_group_paths(f),
        }
    }

    /// Calls `f` on every expression of the condition, with leave to change it.
    pub(crate) fn walk_exprs_mut(&mut self, f: &mut impl FnMut(&mut Expr)) {
        match self {
            Q::Lookup { value, .. } => value.walk_mut(f),
            Q::And(c) | Q::Or(c) => c.iter_mut().for_each(|c| c.walk_exprs_mut(f)),
            Q::Not(inner) => inner.walk_exprs_mut(f),
            Q::Expr(e) => e.walk_mut(f),
        }
    }

    /// Calls `f` on every expression of the condition (values and boolean expressions).
    pub(crate) fn walk_exprs<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        match self {
            Q::Lookup { value, .. } => value.walk(f),
            Q::And(c) | Q::Or(c) => c.iter().for_each(|c| c.walk_exprs(f)),
            Q::Not(inner) => inner.walk_exprs(f),
            Q::Expr(e) => e.walk(f),
        }
    }
}

impl Default for Q {
    fn default() -> Self {
        Q::all()
    }
}

impl BitAnd for Q {
    type Output = Q;
    fn bitand(self, rhs: Q) -> Q {
        if self.is_empty() {
            return rhs;
        }
        if rhs.is_empty() {
            return self;
        }
        match self {
            Q::And(mut children) => {
                children.push(rhs);
                Q::And(children)
            }
            q => Q::And(vec![q, rhs]),
        }
    }
}

impl BitOr for Q {
    type Output = Q;
    fn bitor(self, rhs: Q) -> Q {
        if self.is_empty() {
            return rhs;
        }
        if rhs.is_empty() {
            return self;
        }
        match self {
            Q::Or(mut children) => {
                children.push(rhs);
                Q::Or(children)
            }
            q => Q::Or(vec![q, rhs]),
        }
    }
}

impl Not for Q {
    type Output = Q;
    fn not(self) -> Q {
        match self {
            Q::Not(inner) => *inner,
            q => Q::Not(Box::new(q)),
        }
    }
}

/// Builds a [`Q`] from Django-style keyword conditions, ANDed together.
///
/// ```
/// use quarry::{q, Q, F};
/// let a = q!(headline__startswith = "Article", pub_date__year = 2005);
/// let b = q!(pages__gt = F("chapters") * 10);
/// let everything = q!();
/// assert!(everything.is_empty());
/// # let _ = (a, b);
/// ```
#[macro_export]
macro_rules! q {
    () => { $crate::Q::all() };
    ($path:ident = $value:expr) => {
        $crate::Q::lookup(stringify!($path), $value)
    };
    ($($path:ident = $value:expr),+ $(,)?) => {
        $crate::Q::And(vec![$($crate::Q::lookup(stringify!($path), $value)),+])
    };
}
