//! The Query AST: what a QuerySet asks for, before any name is resolved or SQL written.
//!
//! Names stay strings here; the compiler resolves them against [`ModelMeta`] in the one
//! walk that writes SQL. Each `filter()`/`exclude()` call is kept as its own [`Filter`],
//! so that multi-valued relations (next issues) can be joined once per call, as Django does.

use super::expr::Expr;
use super::q::Q;
use crate::model::ModelMeta;

/// The `filter()`/`exclude()` calls of a [`Query`]: the first is stored in the query
/// itself, so a query of one condition allocates nothing for its list.
pub type Filters = smallvec::SmallVec<[Filter; 1]>;

/// One `filter()` or `exclude()` call.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// The condition.
    pub q: Q,
    /// True for `exclude()`.
    pub negated: bool,
}

/// One ordering term.
#[derive(Debug, Clone, PartialEq)]
pub enum OrderBy {
    /// A field path, descending when written `-path`.
    Field {
        /// The path.
        path: String,
        /// Descending.
        descending: bool,
    },
    /// `?`: random order.
    Random,
    /// An expression: `F("x").desc()`, `Count("books").asc()`, with NULLs placed.
    Expr {
        /// What is ordered by.
        expr: Expr,
        /// Descending.
        descending: bool,
        /// Where NULLs go; `None` leaves it to the database.
        nulls: Option<Nulls>,
    },
}

/// Where `nulls_first()`/`nulls_last()` put NULLs in an ordering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Nulls {
    /// Before every value.
    First,
    /// After every value.
    Last,
}

impl OrderBy {
    /// Puts NULLs first (Django's `nulls_first=True`); only for an expression ordering.
    ///
    /// ```
    /// use quarry::F;
    /// use quarry::query::{Nulls, OrderBy};
    /// let o = F("pubdate").desc().nulls_first();
    /// assert!(matches!(o, OrderBy::Expr { nulls: Some(Nulls::First), descending: true, .. }));
    /// ```
    pub fn nulls_first(self) -> OrderBy {
        self.with_nulls(Nulls::First)
    }

    /// Puts NULLs last (Django's `nulls_last=True`).
    pub fn nulls_last(self) -> OrderBy {
        self.with_nulls(Nulls::Last)
    }

    fn with_nulls(self, n: Nulls) -> OrderBy {
        match self {
            OrderBy::Field { path, descending } => OrderBy::Expr {
                expr: Expr::Field(path),
                descending,
                nulls: Some(n),
            },
            OrderBy::Expr {
                expr, descending, ..
            } => OrderBy::Expr {
                expr,
                descending,
                nulls: Some(n),
            },
            OrderBy::Random => OrderBy::Random,
        }
    }
}

impl From<&str> for OrderBy {
    fn from(s: &str) -> OrderBy {
        OrderBy::parse(s)
    }
}

impl From<&&str> for OrderBy {
    fn from(s: &&str) -> OrderBy {
        OrderBy::parse(s)
    }
}

impl From<String> for OrderBy {
    fn from(s: String) -> OrderBy {
        OrderBy::parse(&s)
    }
}

impl From<&String> for OrderBy {
    fn from(s: &String) -> OrderBy {
        OrderBy::parse(s)
    }
}

impl OrderBy {
    /// Parses Django's `"-field"`, `"field"` and `"?"`.
    ///
    /// ```
    /// use quarry::query::OrderBy;
    /// assert_eq!(OrderBy::parse("-name"), OrderBy::Field { path: "name".into(), descending: true });
    /// assert_eq!(OrderBy::parse("?"), OrderBy::Random);
    /// ```
    pub fn parse(s: &str) -> OrderBy {
        if s == "?" {
            return OrderBy::Random;
        }
        match s.strip_prefix('-') {
            Some(path) => OrderBy::Field {
                path: path.to_owned(),
                descending: true,
            },
            None => OrderBy::Field {
                path: s.strip_prefix('+').unwrap_or(s).to_owned(),
                descending: false,
            },
        }
    }

    pub(crate) fn reversed(&self) -> OrderBy {
        match self {
            OrderBy::Field { path, descending } => OrderBy::Field {
                path: path.clone(),
                descending: !descending,
            },
            OrderBy::Random => OrderBy::Random,
            OrderBy::Expr {
                expr,
                descending,
                nulls,
            } => OrderBy::Expr {
                expr: expr.clone(),
                descending: !descending,
                nulls: nulls.map(|n| match n {
                    Nulls::First => Nulls::Last,
                    Nulls::Last => Nulls::First,
                }),
            },
        }
    }
}

/// A field path as a query holds it: borrowed when written as a literal, so building a
/// query allocates nothing for it; owned when made at run time.
///
/// ```
/// use quarry::query::Name;
/// let literal: Name = "posts__title".into();
/// let built: Name = format!("{}__title", "posts").into();
/// assert_eq!(literal, built);
/// ```
pub type Name = std::borrow::Cow<'static, str>;

/// What the SELECT list holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    /// Every concrete field of the model, in declaration order (hydration reads them by index).
    Model,
    /// `values()`/`values_list()`: the named paths (every field when empty).
    Values(Vec<Name>),
}

/// One `annotate()` or `alias()` entry: a named expression computed per row (or per
/// group, when it holds an aggregate).
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    /// The name rows carry it under; filters, orderings and `F()` may use it.
    pub name: String,
    /// What it computes.
    pub expr: Expr,
    /// Selected (`annotate()`); `alias()` and annotations left out by a later
    /// `values()` are not.
    pub selected: bool,
    /// Made by `alias()`: never selected, so `values()` and `aggregate()` refuse to
    /// read it, as Django does.
    pub alias: bool,
    /// How many `filter()` calls came before it: a multi-valued join of an earlier filter
    /// is reused (the filter narrows what is aggregated), a later filter joins anew.
    pub after_filters: usize,
}

/// True when `expr` aggregates, itself or through the annotations it names
/// (`F("n_books")` of a `Count` annotation), as Django's resolved `Ref` does.
pub(crate) fn expr_aggregates(annotations: &[Annotation], expr: &Expr) -> bool {
    expr_holds(annotations, expr, Expr::contains_aggregate)
}

/// True when annotation `i` aggregates (see [`expr_aggregates`]).
pub(crate) fn annotation_aggregates(annotations: &[Annotation], i: usize) -> bool {
    expr_aggregates(&annotations[..i], &annotations[i].expr)
}

/// True when `expr` holds a window function, itself or through the annotations it
/// names (`Case(When(rank=1, ...))` of a `Window` annotation `rank`).
pub(crate) fn expr_windows(annotations: &[Annotation], expr: &Expr) -> bool {
    expr_holds(annotations, expr, Expr::contains_window)
}

/// True when the condition `q` reads a window function (see [`expr_windows`]): a
/// filter on it must wait until the windows are computed.
pub(crate) fn q_windows(annotations: &[Annotation], q: &Q) -> bool {
    match q {
        Q::Lookup { path, value } => {
            expr_windows(annotations, value)
                || named_annotation(annotations, path)
                    .is_some_and(|j| expr_windows(&annotations[..j], &annotations[j].expr))
        }
        Q::And(c) | Q::Or(c) => c.iter().any(|c| q_windows(annotations, c)),
        Q::Not(inner) => q_windows(annotations, inner),
        Q::Expr(e) => expr_windows(annotations, e),
    }
}

/// The last of `annotations` that path `p` starts with (its name, alone or followed
/// by `__`).
fn named_annotation(annotations: &[Annotation], p: &str) -> Option<usize> {
    annotations.iter().rposition(|a| {
        p.strip_prefix(a.name.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("__"))
    })
}

/// True when `own` holds for `expr` or for an annotation it names, transitively.
fn expr_holds(annotations: &[Annotation], expr: &Expr, own: fn(&Expr) -> bool) -> bool {
    if own(expr) {
        return true;
    }
    let mut found = false;
    expr.walk_fields(&mut |p| {
        if !found {
            if let Some(j) = named_annotation(annotations, p) {
                found = expr_holds(&annotations[..j], &annotations[j].expr, own);
            }
        }
    });
    found
}

/// Checks a `defer()`/`only()` name: each step but the last a relation (forward, or
/// the reverse side of a one-to-one field), the last a field of the model reached.
fn check_loading_path(model: &'static ModelMeta, name: &str) -> crate::Result<()> {
    let parts: Vec<&str> = name.split("__").collect();
    let mut meta = model;
    for (k, part) in parts.iter().enumerate() {
        let last = k + 1 == parts.len();
        if let Some((_, f)) = meta.field(part) {
            if last {
                return Ok(());
            }
            match f.relation {
                Some(rel) => meta = rel.target(),
                None => {
                    return Err(crate::Error::field(format!(
                        "Cannot resolve keyword '{}' into field. Join on '{part}' not \
                         permitted.",
                        parts[k + 1]
                    )))
                }
            }
            continue;
        }
        let reverse = meta
            .reverse_relations()
            .iter()
            .find(|r| r.is_one_to_one() && r.query_name == *part);
        match reverse {
            Some(r) if !last => meta = r.model,
            _ => {
                // Django's FieldDoesNotExist message, with the choices added.
                let mut choices: Vec<&str> = meta.fields.iter().map(|f| f.name).collect();
                choices.sort_unstable();
                return Err(crate::Error::field(format!(
                    "{} has no field named '{part}'. Choices are: {}",
                    meta.name,
                    choices.join(", ")
                )));
            }
        }
    }
    Ok(())
}

/// Which columns of the model a query loads: Django's `defer()` and `only()`.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Loading {
    /// Every field.
    #[default]
    All,
    /// Every field but these.
    Defer(Vec<String>),
    /// Only these (and the primary key).
    Only(Vec<String>),
}

/// A set operation between SELECTs: `union()`, `intersection()`, `difference()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetOp {
    /// `UNION` (`UNION ALL` with duplicates kept).
    Union,
    /// `INTERSECT`.
    Intersection,
    /// `EXCEPT`.
    Difference,
}

/// The queries combined with this one by a set operation.
#[derive(Debug, Clone)]
pub struct Combined {
    /// Which operation.
    pub op: SetOp,
    /// Keep duplicates (`UNION ALL`).
    pub all: bool,
    /// The other queries, in order.
    pub others: Vec<Query>,
    /// The left operand when it is itself a combination of another operation
    /// (`a.union(b).intersection(c)`); `None`: the query holding this.
    pub first: Option<Box<Query>>,
}

/// How a query with aggregate annotations groups its rows (Django's `Query.group_by`).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Grouping {
    /// No GROUP BY.
    #[default]
    None,
    /// One group per row of the model: `annotate()` on a model QuerySet.
    Model,
    /// By these `values()` paths (every field when empty): `values(...).annotate(...)`.
    Values(Vec<Name>),
}

/// The related objects a SELECT reads in the same query (`select_related`).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum SelectRelated {
    /// None.
    #[default]
    None,
    /// `select_related()` with no argument: every non-NULL foreign key, recursively.
    All,
    /// The named relations (`publisher`, `publisher__country`).
    Paths(Vec<String>),
}

/// A SELECT (and the WHERE of an UPDATE or DELETE) over one model.
#[derive(Debug, Clone)]
pub struct Query {
    /// The model queried.
    pub model: &'static ModelMeta,
    /// `filter()`/`exclude()` calls, ANDed. Most queries have one at most, kept inline.
    pub filters: Filters,
    /// Explicit `order_by()`; `None` means the model's `Meta.ordering`.
    pub order_by: Option<Vec<OrderBy>>,
    /// `reverse()` was called an odd number of times.
    pub reversed: bool,
    /// `distinct()`.
    pub distinct: bool,
    /// OFFSET.
    pub offset: u64,
    /// LIMIT.
    pub limit: Option<u64>,
    /// What the SELECT returns.
    pub selection: Selection,
    /// `none()`: matches nothing, runs no query.
    pub empty: bool,
    /// Related objects joined into the same query.
    pub select_related: SelectRelated,
    /// Relations loaded by one more query each after the rows (`prefetch_related`).
    pub prefetch: Vec<crate::query::Prefetch>,
    /// A path read after the model's (and `select_related`'s) columns: the key a
    /// many-to-many prefetch groups its rows by (Django's `_prefetch_related_val`).
    #[doc(hidden)]
    pub group_key: Option<String>,
    /// The next `filter()` joins the last one (Django's `_next_is_sticky`): a related
    /// manager's queryset sets it, so `manager.filter(...)` reuses the manager's joins.
    #[doc(hidden)]
    pub sticky: bool,
    /// `annotate()`/`alias()` entries, in call order.
    pub annotations: Vec<Annotation>,
    /// The GROUP BY an aggregate annotation asked for.
    pub grouping: Grouping,
    /// The fields a model query loads (`defer()`/`only()`).
    pub loading: Loading,
    /// `union()`/`intersection()`/`difference()`: this query's rows combined with others'.
    pub combined: Option<Box<Combined>>,
    /// `distinct_on()` (Django's `distinct(*fields)`, PostgreSQL only).
    pub distinct_fields: Vec<String>,
}

impl Query {
    /// A query for every row of `model`.
    #[inline]
    pub fn new(model: &'static ModelMeta) -> Query {
        Query {
            model,
            filters: Filters::new(),
            order_by: None,
            reversed: false,
            distinct: false,
            offset: 0,
            limit: None,
            selection: Selection::Model,
            empty: false,
            select_related: SelectRelated::None,
            prefetch: Vec::new(),
            group_key: None,
            sticky: false,
            annotations: Vec::new(),
            grouping: Grouping::None,
            loading: Loading::All,
            combined: None,
            distinct_fields: Vec::new(),
        }
    }

    /// Which fields of the model `defer()`/`only()` load, by index (`None`: all).
    pub(crate) fn loaded_fields(&self) -> crate::Result<Option<Vec<usize>>> {
        self.loaded_fields_at(self.model, "")
    }

    /// Which fields of `meta` `defer()`/`only()` load, `meta` being the model the
    /// `select_related` path `prefix` leads to (`""` for the query's own model,
    /// `"related__"` one relation down); `None` loads every field. Names reaching
    /// further (`related__first` at the top) defer nothing at this level under
    /// `defer()`, and load the relation's key under `only()`, as Django's select masks.
    pub(crate) fn loaded_fields_at(
        &self,
        meta: &'static ModelMeta,
        prefix: &str,
    ) -> crate::Result<Option<Vec<usize>>> {
        let (names, only) = match &self.loading {
            Loading::All => return Ok(None),
            Loading::Defer(names) => (names, false),
            Loading::Only(names) => (names, true),
        };
        let mut named = Vec::with_capacity(names.len());
        let mut any = false;
        for name in names {
            check_loading_path(self.model, name)?;
            let Some(rest) = name.strip_prefix(prefix) else {
                continue;
            };
            any = true;
            let (first, deeper) = match rest.split_once("__") {
                Some((first, _)) => (first, true),
                None => (rest, false),
            };
            if let Some((i, _)) = meta.field(first) {
                if !deeper || only {
                    named.push(i);
                }
            }
        }
        if !any && !prefix.is_empty() {
            // Nothing named below this relation: its model loads whole.
            return Ok(None);
        }
        Ok(Some(
            (0..meta.fields.len())
                .filter(|i| *i == meta.pk || named.contains(i) == only)
                .collect(),
        ))
    }

    /// Turns `none()` into a condition no row meets, for where the query still has to
    /// be written (a subquery, a part of a union, an aggregate): `0 = 1` in WHERE.
    pub(crate) fn write_empty_as_filter(&mut self) {
        if self.empty {
            self.empty = false;
            self.filters.push(Filter {
                q: Q::lookup("pk__in", crate::Value::List(Vec::new())),
                negated: false,
            });
        }
    }

    /// True when something besides the filters may bind parameters: an annotation or
    /// an expression ordering.
    pub(crate) fn binds_outside_filters(&self) -> bool {
        !self.annotations.is_empty()
            || self
                .order_by
                .iter()
                .flatten()
                .any(|o| matches!(o, OrderBy::Expr { .. }))
    }

    /// True when some filter reads a window function: the query filters in an outer
    /// query, after the windows are computed.
    pub fn filters_read_windows(&self) -> bool {
        self.filters
            .iter()
            .any(|f| q_windows(&self.annotations, &f.q))
    }

    /// True when some annotation aggregates.
    pub fn has_aggregate_annotation(&self) -> bool {
        (0..self.annotations.len()).any(|i| annotation_aggregates(&self.annotations, i))
    }

    /// True once a slice was taken.
    pub fn is_sliced(&self) -> bool {
        self.offset != 0 || self.limit.is_some()
    }

    /// The ordering that applies: explicit, else `Meta.ordering`, reversed if asked.
    pub fn effective_ordering(&self) -> Vec<OrderBy> {
        let base: Vec<OrderBy> = match &self.order_by {
            Some(o) => o.clone(),
            None => self
                .model
                .ordering
                .iter()
                .map(|s| OrderBy::parse(s))
                .collect(),
        };
        if self.reversed {
            base.iter().map(OrderBy::reversed).collect()
        } else {
            base
        }
    }

    /// Narrows the slice as Python slicing of a slice does.
    pub fn set_limits(&mut self, start: u64, end: Option<u64>) {
        let new_offset = self.offset + start;
        let new_limit = match (end, self.limit) {
            (Some(e), Some(l)) => Some(e.min(l).saturating_sub(start)),
            (Some(e), None) => Some(e.saturating_sub(start)),
            (None, Some(l)) => Some(l.saturating_sub(start)),
            (None, None) => None,
        };
        self.offset = new_offset;
        self.limit = new_limit;
    }
}

/// One assignment of an UPDATE: field name and new value.
pub type Assignment = (String, Expr);
