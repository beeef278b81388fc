//! `QuerySet`: lazy, cloneable, chainable; nothing runs until a terminal method gets an
//! executor.

use super::ast::{Filter, Name, OrderBy, Query, Selection};
use super::expr::Expr;
use super::q::Q;
use super::rows::{FromQueryRow, QueryRows};
use crate::db::{fetch_all, fetch_params, fetch_rows, Executor, ExecutorRef, ReadRow, Row};
use crate::error::{Error, Result};
use crate::model::{bulk, Deleted, Model};
use crate::sql::cache;
use crate::sql::compiler::{self, Compiled, OnConflict, StatementKind};
use crate::value::{FieldValue, Param, Value};
use std::collections::HashMap;
use std::hash::Hash;
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};

/// Django's `MAX_GET_RESULTS`: `get()` reads at most this many rows to report a count.
const MAX_GET_RESULTS: u64 = 21;

/// A lazy query over model `M`, yielding rows of type `R` (the model itself, or a
/// [`ValuesRow`](super::ValuesRow), `Vec<Value>` or `Value` after `values`/`values_list`).
///
/// ```
/// use quarry::prelude::*;
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "docs", ordering = ["name"])]
/// struct Tag {
///     #[field(primary_key)]
///     id: i64,
///     #[field(max_length = 20)]
///     name: String,
///     _state: ModelState,
/// }
///
/// let db = Database::connect("sqlite::memory:")?;
/// quarry::schema::create_tables(&db, &[Tag::meta()])?;
/// for n in ["rust", "python", "sql"] {
///     Tag::objects().create(&db, Tag { id: 0, name: n.into(), _state: ModelState::new() })?;
/// }
/// let names: Vec<String> = Tag::objects()
///     .exclude(q!(name = "sql"))
///     .all(&db)?
///     .into_iter()
///     .map(|t| t.name)
///     .collect();
/// assert_eq!(names, ["python", "rust"]);
/// # Ok::<(), quarry::Error>(())
/// ```
pub struct QuerySet<M: Model, R = M> {
    /// Boxed: a builder call moves the QuerySet in and out, and the compiler copies a
    /// large value at each move it does not see through (five copies of 370 bytes for
    /// `objects().filter(..).values_list_as(..)`, more than the allocation costs).
    query: Box<Query>,
    /// A misuse found while chaining (filter after slice...), reported by the terminal call.
    error: Option<String>,
    _rows: PhantomData<fn() -> (M, R)>,
}

impl<M: Model, R> Clone for QuerySet<M, R> {
    fn clone(&self) -> Self {
        QuerySet {
            query: self.query.clone(),
            error: self.error.clone(),
            _rows: PhantomData,
        }
    }
}

impl<M: Model, R> std::fmt::Debug for QuerySet<M, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuerySet")
            .field("model", &M::meta().name)
            .field("query", &self.query)
            .finish()
    }
}

impl<M: Model> Default for QuerySet<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: Model> QuerySet<M> {
    /// Every row of `M`.
    pub fn new() -> Self {
        QuerySet {
            query: Box::new(Query::new(M::meta())),
            error: None,
            _rows: PhantomData,
        }
    }

    /// A QuerySet whose terminal calls fail with `message`.
    pub(crate) fn with_error(mut self, message: String) -> Self {
        self.error.get_or_insert(message);
        self
    }

    /// A QuerySet over a query of `M` (the model must be `M`'s).
    pub(crate) fn from_query(query: Query) -> Self {
        debug_assert!(std::ptr::eq(query.model, M::meta()));
        QuerySet {
            query: Box::new(query),
            error: None,
            _rows: PhantomData,
        }
    }
}

/// Options of [`QuerySet::bulk_create`].
///
/// ```
/// let o = quarry::BulkCreate::new().batch_size(100).ignore_conflicts(true);
/// assert_eq!(o.batch_size, Some(100));
/// ```
#[derive(Debug, Clone, Default)]
pub struct BulkCreate {
    /// Rows per INSERT (also bounded by the database's parameter limit).
    pub batch_size: Option<usize>,
    /// Skip rows that violate a constraint (`INSERT OR IGNORE`/`ON CONFLICT DO NOTHING`);
    /// primary keys are then not set on the objects.
    pub ignore_conflicts: bool,
}

impl BulkCreate {
    /// Default options: one batch as large as the database allows, errors on conflict.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the batch size.
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = Some(n);
        self
    }
    /// Sets `ignore_conflicts`.
    pub fn ignore_conflicts(mut self, yes: bool) -> Self {
        self.ignore_conflicts = yes;
        self
    }
}

/// Django's check on annotation names: no whitespace, quotes, brackets, semicolons or
/// comment markers (they are quoted anyway; the rule keeps names portable).
fn check_alias(name: &str) -> std::result::Result<(), String> {
    let forbidden = name
        .chars()
        .any(|c| c.is_whitespace() || "'`\"[];".contains(c))
        || name.contains("--")
        || name.contains("/*")
        || name.contains("*/");
    if forbidden {
        return Err(
            "Column aliases cannot contain whitespace characters, quotation marks, \
                    semicolons, or SQL comments."
                .to_owned(),
        );
    }
    Ok(())
}

fn bound_start(b: Bound<&i64>) -> Option<i64> {
    match b {
        Bound::Included(v) => Some(*v),
        Bound::Excluded(v) => Some(v + 1),
        Bound::Unbounded => None,
    }
}

#[cold]
fn sliced_refusal(what: &str) -> String {
    format!("Cannot {what} a query once a slice has been taken.")
}

#[cold]
fn combined_refusal(what: &str, op: super::ast::SetOp) -> String {
    let op = match op {
        super::ast::SetOp::Union => "union",
        super::ast::SetOp::Intersection => "intersection",
        super::ast::SetOp::Difference => "difference",
    };
    format!("Calling QuerySet.{what}() after {op}() is not supported.")
}

fn bound_end(b: Bound<&i64>) -> Option<i64> {
    match b {
        Bound::Included(v) => Some(v + 1),
        Bound::Excluded(v) => Some(*v),
        Bound::Unbounded => None,
    }
}

impl<M: Model, R: FromQueryRow> QuerySet<M, R> {
    // The helpers are inlined into each builder method, and the checks take the
    // QuerySet by reference: chained by value, each moved it in and out again.
    #[inline(always)]
    fn with(mut self, f: impl FnOnce(&mut Query)) -> Self {
        f(&mut self.query);
        // Stickiness lasts for the one call after the related manager's filter.
        self.query.sticky = false;
        self
    }

    /// Marks the next `filter()` as part of the last one: what a related manager's
    /// queryset does, so that conditions across the manager's relation use its join.
    pub(crate) fn sticky(mut self) -> Self {
        self.query.sticky = true;
        self
    }

    #[inline(always)]
    fn refuse_if_sliced(&mut self, what: &str) {
        if self.query.is_sliced() && self.error.is_none() {
            self.error = Some(sliced_refusal(what));
        }
    }

    /// Django allows only slicing, ordering, counting and `values()` after a set
    /// operation.
    #[inline(always)]
    fn refuse_if_combined(&mut self, what: &str) {
        if let (Some(c), None) = (&self.query.combined, &self.error) {
            self.error = Some(combined_refusal(what, c.op));
        }
    }

    fn set_operation<M2: Model>(
        mut self,
        op: super::ast::SetOp,
        all: bool,
        others: impl IntoIterator<Item = QuerySet<M2, R>>,
    ) -> Self {
        let mut queries = Vec::new();
        for other in others {
            if self.error.is_none() {
                self.error = other.error;
            }
            queries.push(*other.query);
        }
        let mut first = None;
        if let Some(existing) = self.query.combined.take() {
            if existing.op == op && existing.all == all {
                // `a.union(b).union(c)`: one flat combination.
                queries.splice(0..0, existing.others);
                first = existing.first;
            } else {
                // `a.union(b).intersection(c)`: `(a UNION b) INTERSECT c`.
                let mut left = self.query.clone();
                left.combined = Some(existing);
                first = Some(left);
            }
        }
        if self.query.empty {
            // `none().union(qs)` has qs's rows: this part selects none.
            self.query.empty = false;
            self.query.filters.push(Filter {
                q: Q::lookup("pk__in", Value::List(Vec::new())),
                negated: false,
            });
        }
        // The combined rows keep no ordering of their own (Django clears it).
        self.query.order_by = Some(Vec::new());
        self.query.reversed = false;
        self.query.combined = Some(Box::new(super::ast::Combined {
            op,
            all,
            others: queries,
            first,
        }));
        self.with(|_| {})
    }

    /// The rows of this QuerySet and of `others`, without duplicates: Django's
    /// `union()`. Each QuerySet selects the same columns; after it only ordering by
    /// selected fields, slicing, `count()`, `exists()` and reading are allowed, as in
    /// Django.
    ///
    /// ```
    /// use quarry::prelude::*;
    ///
    /// #[derive(Model, Debug, Clone)]
    /// #[model(app_label = "docs")]
    /// struct Num {
    ///     #[field(primary_key)]
    ///     id: i64,
    ///     n: i32,
    ///     _state: ModelState,
    /// }
    ///
    /// let db = Database::connect("sqlite::memory:")?;
    /// quarry::schema::create_tables(&db, &[Num::meta()])?;
    /// for n in 0..10 {
    ///     Num::objects().create(&db, Num { id: 0, n, _state: ModelState::new() })?;
    /// }
    /// let low = Num::objects().filter(q!(n__lte = 1));
    /// let high = Num::objects().filter(q!(n__gte = 8));
    /// let both: Vec<i32> = low.union([high]).order_by(["-n"]).all(&db)?.iter().map(|x| x.n).collect();
    /// assert_eq!(both, [9, 8, 1, 0]);
    /// let evens = Num::objects().filter(q!(n__in = vec![0, 2, 4]));
    /// let small = Num::objects().filter(q!(n__lt = 3));
    /// assert_eq!(evens.clone().intersection([small.clone()]).count(&db)?, 2);
    /// assert_eq!(evens.difference([small]).count(&db)?, 1);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn union<M2: Model>(self, others: impl IntoIterator<Item = QuerySet<M2, R>>) -> Self {
        self.set_operation(super::ast::SetOp::Union, false, others)
    }

    /// `union()` keeping duplicates (Django's `union(..., all=True)`).
    pub fn union_all<M2: Model>(self, others: impl IntoIterator<Item = QuerySet<M2, R>>) -> Self {
        self.set_operation(super::ast::SetOp::Union, true, others)
    }

    /// The rows in this QuerySet and in every one of `others` (`INTERSECT`).
    pub fn intersection<M2: Model>(
        self,
        others: impl IntoIterator<Item = QuerySet<M2, R>>,
    ) -> Self {
        self.set_operation(super::ast::SetOp::Intersection, false, others)
    }

    /// The rows in this QuerySet and in none of `others` (`EXCEPT`).
    pub fn difference<M2: Model>(self, others: impl IntoIterator<Item = QuerySet<M2, R>>) -> Self {
        self.set_operation(super::ast::SetOp::Difference, false, others)
    }

    fn check(&self) -> Result<()> {
        match &self.error {
            Some(m) => Err(Error::invalid(m.clone())),
            None => Ok(()),
        }
    }

    /// [`check`](Self::check), then the refusal of `what` after a set operation.
    fn check_not_combined(&self, what: &str) -> Result<()> {
        self.check()?;
        match &self.query.combined {
            Some(c) => Err(Error::invalid(combined_refusal(what, c.op))),
            None => Ok(()),
        }
    }

    /// The same query reading other rows. Inlined, and the query fixed up where it
    /// lies: the one move left is into the new type.
    #[inline(always)]
    fn map_rows<R2>(mut self, selection: Selection) -> QuerySet<M, R2> {
        if let Selection::Values(paths) = &selection {
            if !self.query.annotations.is_empty() {
                self.unselect_annotations_not_named(paths);
            }
        }
        self.query.selection = selection;
        QuerySet {
            query: self.query,
            error: self.error,
            _rows: PhantomData,
        }
    }

    /// Naming fields leaves out the annotations not named, as Django's values(); an
    /// alias named is refused.
    fn unselect_annotations_not_named(&mut self, paths: &[Name]) {
        if !paths.is_empty() {
            for a in &mut self.query.annotations {
                a.selected = paths.iter().any(|p| *p == a.name);
            }
        }
        if let Some(a) = self
            .query
            .annotations
            .iter()
            .find(|a| a.alias && a.selected)
        {
            self.error.get_or_insert_with(|| {
                format!(
                    "Cannot select the '{}' alias. Use annotate() to promote it.",
                    a.name
                )
            });
        }
    }

    /// The Query AST this QuerySet will compile.
    pub fn query(&self) -> &Query {
        &self.query
    }

    /// The Query AST, to change in place.
    pub(crate) fn query_mut(&mut self) -> &mut Query {
        &mut self.query
    }

    /// Rows matching `q` (ANDed with earlier filters).
    #[inline]
    pub fn filter(mut self, q: Q) -> Self {
        self.refuse_if_sliced("filter");
        self.refuse_if_combined("filter");
        self.with(|query| {
            if query.sticky {
                if let Some(last) = query.filters.last_mut().filter(|f| !f.negated) {
                    last.q = std::mem::take(&mut last.q) & q;
                    return;
                }
            }
            query.filters.push(Filter { q, negated: false })
        })
    }

    /// Rows not matching `q`.
    #[inline]
    pub fn exclude(mut self, q: Q) -> Self {
        self.refuse_if_sliced("filter");
        self.refuse_if_combined("exclude");
        self.with(|query| query.filters.push(Filter { q, negated: true }))
    }

    /// Orders by fields: `"name"`, `"-pub_date"` (descending), `"?"` (random), or by
    /// expressions: `F("rating").desc().nulls_last()`, `Expr::from(Count("books")).asc()`.
    /// An empty list clears every ordering, `Meta.ordering` included.
    pub fn order_by<O: Into<OrderBy>>(mut self, fields: impl IntoIterator<Item = O>) -> Self {
        let order: Vec<OrderBy> = fields.into_iter().map(Into::into).collect();
        self.refuse_if_sliced("reorder");
        self.with(|query| {
            query.order_by = Some(order);
            query.reversed = false;
        })
    }

    /// Reverses the ordering.
    pub fn reverse(mut self) -> Self {
        self.refuse_if_sliced("reverse");
        self.with(|query| query.reversed = !query.reversed)
    }

    /// Reads the related objects of these foreign keys (and one-to-one fields) in the
    /// same query, with JOINs: `select_related(["publisher", "publisher__country"])`.
    /// The reverse side of a one-to-one field is named by its query name
    /// (`select_related(["restaurant"])` from a place), joined with a LEFT OUTER JOIN;
    /// the object, or its absence, is cached for `place.restaurant(&db)`.
    /// An empty list follows every non-NULL foreign key, recursively (Django's
    /// `select_related()` with no argument; reverse sides are not followed). Calls add
    /// up; the objects are read into the `ForeignKey`s' caches.
    pub fn select_related<S: Into<String>>(mut self, fields: impl IntoIterator<Item = S>) -> Self {
        let fields: Vec<String> = fields.into_iter().map(Into::into).collect();
        if matches!(self.query.selection, Selection::Values(_)) {
            self.error.get_or_insert_with(|| {
                "Cannot call select_related() after .values() or .values_list()".into()
            });
            return self;
        }
        self.with(|query| {
            query.select_related = match (std::mem::take(&mut query.select_related), fields) {
                (_, f) if f.is_empty() => super::ast::SelectRelated::All,
                (super::ast::SelectRelated::Paths(mut old), f) => {
                    old.extend(f);
                    super::ast::SelectRelated::Paths(old)
                }
                (super::ast::SelectRelated::All, _) => super::ast::SelectRelated::All,
                (super::ast::SelectRelated::None, f) => super::ast::SelectRelated::Paths(f),
            }
        })
    }

    /// Forgets `select_related`, Django's `select_related(None)`.
    pub fn clear_select_related(self) -> Self {
        self.with(|query| query.select_related = super::ast::SelectRelated::None)
    }

    /// Loads these relations with one more query per level after the rows:
    /// `prefetch_related(["books", "books__chapters"])`, or [`Prefetch`](super::Prefetch)
    /// values with a QuerySet or `to_attr`. Calls add up.
    pub fn prefetch_related<P: Into<super::Prefetch>>(
        self,
        lookups: impl IntoIterator<Item = P>,
    ) -> Self {
        let lookups: Vec<super::Prefetch> = lookups.into_iter().map(Into::into).collect();
        self.with(|query| query.prefetch.extend(lookups))
    }

    /// Forgets `prefetch_related`, Django's `prefetch_related(None)`.
    pub fn clear_prefetch_related(self) -> Self {
        self.with(|query| query.prefetch.clear())
    }

    /// `SELECT DISTINCT`.
    pub fn distinct(mut self) -> Self {
        self.refuse_if_combined("distinct");
        self.with(|query| query.distinct = true)
    }

    /// One row per distinct value of these fields, Django's `distinct(*fields)`:
    /// PostgreSQL's `DISTINCT ON`. The ordering should start with the same fields (the
    /// database picks the first row of each group in that order). Other databases
    /// refuse it, as Django does.
    pub fn distinct_on<S: Into<String>>(mut self, fields: impl IntoIterator<Item = S>) -> Self {
        let fields: Vec<String> = fields.into_iter().map(Into::into).collect();
        self.refuse_if_combined("distinct");
        self.with(|query| {
            query.distinct = true;
            query.distinct_fields = fields;
        })
    }

    /// A QuerySet that matches nothing and runs no query.
    pub fn none(self) -> Self {
        self.with(|query| query.empty = true)
    }

    /// LIMIT/OFFSET, Python slicing: `slice(5..10)`, `slice(..3)`, `slice(2..)`.
    /// A negative bound is refused, as in Django.
    pub fn slice(mut self, range: impl RangeBounds<i64>) -> Self {
        let start = bound_start(range.start_bound()).unwrap_or(0);
        let end = bound_end(range.end_bound());
        if start < 0 || end.is_some_and(|e| e < 0) {
            self.error
                .get_or_insert_with(|| "Negative indexing is not supported.".into());
            return self;
        }
        self.with(|query| query.set_limits(start as u64, end.map(|e| e as u64)))
    }

    /// Rows as name → value maps, Django's `values()`. An empty list selects every field.
    pub fn values<S: Into<Name>>(
        self,
        fields: impl IntoIterator<Item = S>,
    ) -> QuerySet<M, super::ValuesRow> {
        let fields = fields.into_iter().map(Into::into).collect();
        self.map_rows(Selection::Values(fields))
    }

    /// Rows as lists of values, Django's `values_list()`.
    pub fn values_list<S: Into<Name>>(
        self,
        fields: impl IntoIterator<Item = S>,
    ) -> QuerySet<M, Vec<Value>> {
        let fields = fields.into_iter().map(Into::into).collect();
        self.map_rows(Selection::Values(fields))
    }

    /// Rows as typed tuples, one element per field: [`values_list`](Self::values_list)
    /// read straight into Rust types (`Option<T>` for a column that may be NULL, as
    /// through a LEFT OUTER JOIN). A tuple whose length differs from the number of
    /// fields is an error when the rows are read.
    ///
    /// ```
    /// use quarry::prelude::*;
    ///
    /// #[derive(Model, Debug, Clone)]
    /// #[model(app_label = "docs")]
    /// struct Tag {
    ///     #[field(primary_key)]
    ///     id: i64,
    ///     #[field(max_length = 20)]
    ///     name: String,
    ///     _state: ModelState,
    /// }
    ///
    /// let db = Database::connect("sqlite::memory:")?;
    /// quarry::schema::create_tables(&db, &[Tag::meta()])?;
    /// Tag::objects().create(&db, Tag { id: 0, name: "Rust".into(), _state: ModelState::new() })?;
    /// let rows: Vec<(i64, String)> = Tag::objects().values_list_as(["id", "name"]).all(&db)?;
    /// assert_eq!(rows, [(1, "Rust".to_owned())]);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    #[inline]
    pub fn values_list_as<T: super::ValuesTuple, S: Into<Name>>(
        self,
        fields: impl IntoIterator<Item = S>,
    ) -> QuerySet<M, T> {
        let fields: Vec<Name> = fields.into_iter().map(Into::into).collect();
        let named = fields.len();
        let mut qs = self.map_rows(Selection::Values(fields));
        if named != 0 && named != T::WIDTH {
            qs.error.get_or_insert_with(|| {
                format!(
                    "values_list_as() names {named} fields for a tuple of {}",
                    T::WIDTH
                )
            });
        }
        qs
    }

    /// Rows as name → value maps of these fields and these expressions, Django's
    /// `values(*fields, **expressions)`: the expressions are annotated under their
    /// names, then selected after the fields.
    ///
    /// ```
    /// use quarry::prelude::*;
    /// use quarry::functions::Lower;
    ///
    /// #[derive(Model, Debug, Clone)]
    /// #[model(app_label = "docs")]
    /// struct Tag {
    ///     #[field(primary_key)]
    ///     id: i64,
    ///     #[field(max_length = 20)]
    ///     name: String,
    ///     _state: ModelState,
    /// }
    ///
    /// let db = Database::connect("sqlite::memory:")?;
    /// quarry::schema::create_tables(&db, &[Tag::meta()])?;
    /// Tag::objects().create(&db, Tag { id: 0, name: "Rust".into(), _state: ModelState::new() })?;
    /// let rows = Tag::objects().values_with(["id"], [("lower", Lower("name"))]).all(&db)?;
    /// assert_eq!(rows[0].get_as::<String>("lower")?, "rust");
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn values_with<S: Into<Name>, N: Into<String>, E: Into<Expr>>(
        self,
        fields: impl IntoIterator<Item = S>,
        expressions: impl IntoIterator<Item = (N, E)>,
    ) -> QuerySet<M, super::ValuesRow> {
        let (qs, paths) = self.with_expressions(fields, expressions);
        qs.map_rows(Selection::Values(paths))
    }

    /// Rows as lists of these fields' and expressions' values, Django's
    /// `values_list(*fields, **expressions)`; see [`values_with`](Self::values_with).
    pub fn values_list_with<S: Into<Name>, N: Into<String>, E: Into<Expr>>(
        self,
        fields: impl IntoIterator<Item = S>,
        expressions: impl IntoIterator<Item = (N, E)>,
    ) -> QuerySet<M, Vec<Value>> {
        let (qs, paths) = self.with_expressions(fields, expressions);
        qs.map_rows(Selection::Values(paths))
    }

    fn with_expressions<S: Into<Name>, N: Into<String>, E: Into<Expr>>(
        self,
        fields: impl IntoIterator<Item = S>,
        expressions: impl IntoIterator<Item = (N, E)>,
    ) -> (Self, Vec<Name>) {
        let mut paths: Vec<Name> = fields.into_iter().map(Into::into).collect();
        let expressions: Vec<(String, Expr)> = expressions
            .into_iter()
            .map(|(n, e)| (n.into(), e.into()))
            .collect();
        paths.extend(expressions.iter().map(|(n, _)| Name::from(n.clone())));
        (self.annotate(expressions), paths)
    }

    /// One field's values, Django's `values_list(field, flat=True)`.
    pub fn values_list_flat(self, field: impl Into<Name>) -> QuerySet<M, Value> {
        self.map_rows(Selection::Values(vec![field.into()]))
    }

    /// Leaves these fields out of the SELECT, Django's `defer()`: the instances hold a
    /// placeholder there (zero, empty text, NULL for an `Option`) and their state lists
    /// the field as deferred (`obj.state().deferred()`), so `save()` never writes it;
    /// `refresh_from_db()` loads everything. Calls add up; after `only()` they remove
    /// fields from its list.
    ///
    /// ```
    /// use quarry::prelude::*;
    ///
    /// #[derive(Model, Debug, Clone)]
    /// #[model(app_label = "docs")]
    /// struct Page {
    ///     #[field(primary_key)]
    ///     id: i64,
    ///     #[field(max_length = 50)]
    ///     title: String,
    ///     body: String,
    ///     _state: ModelState,
    /// }
    ///
    /// let db = Database::connect("sqlite::memory:")?;
    /// quarry::schema::create_tables(&db, &[Page::meta()])?;
    /// Page::objects().create(&db, Page { id: 0, title: "Home".into(), body: "long text".into(), _state: ModelState::new() })?;
    /// let mut page = Page::objects().defer(["body"]).get(&db, q!(pk = 1))?;
    /// assert_eq!(page.body, ""); // not loaded
    /// page.title = "Start".into();
    /// page.save(&db)?; // writes the title only
    /// let stored = Page::objects().get(&db, q!(pk = 1))?;
    /// assert_eq!((stored.title.as_str(), stored.body.as_str()), ("Start", "long text"));
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn defer<S: Into<String>>(self, fields: impl IntoIterator<Item = S>) -> Self {
        let names: Vec<String> = fields.into_iter().map(Into::into).collect();
        self.with(|query| {
            query.loading = match std::mem::take(&mut query.loading) {
                super::ast::Loading::Only(mut only) => {
                    only.retain(|f| !names.contains(f));
                    super::ast::Loading::Only(only)
                }
                super::ast::Loading::Defer(mut deferred) => {
                    for n in names {
                        if !deferred.contains(&n) {
                            deferred.push(n);
                        }
                    }
                    super::ast::Loading::Defer(deferred)
                }
                super::ast::Loading::All => super::ast::Loading::Defer(names),
            }
        })
    }

    /// Loads only these fields (and the primary key), Django's `only()`; the others are
    /// deferred as with [`defer`](Self::defer). A later `only()` replaces the list.
    pub fn only<S: Into<String>>(self, fields: impl IntoIterator<Item = S>) -> Self {
        let names: Vec<String> = fields.into_iter().map(Into::into).collect();
        self.with(|query| {
            query.loading = match std::mem::take(&mut query.loading) {
                super::ast::Loading::Defer(deferred) => super::ast::Loading::Only(
                    names
                        .into_iter()
                        .filter(|n| !deferred.contains(n))
                        .collect(),
                ),
                _ => super::ast::Loading::Only(names),
            }
        })
    }

    /// Loads every field again, Django's `defer(None)`.
    pub fn clear_deferred(self) -> Self {
        self.with(|query| query.loading = super::ast::Loading::All)
    }

    /// Adds a computed value to each row, Django's `annotate()`: model rows carry it
    /// ([`Model::annotation`]), `values()` rows get it as a column. An aggregate
    /// (`Count`, `Sum`...) is computed per object, or per distinct `values()` row when
    /// `values()` came first, as Django groups them. Filters and orderings may name it;
    /// a filter on an aggregate becomes HAVING.
    ///
    /// ```
    /// use quarry::prelude::*;
    ///
    /// #[derive(Model, Debug, Clone)]
    /// #[model(app_label = "docs")]
    /// struct Team {
    ///     #[field(primary_key)]
    ///     id: i64,
    ///     #[field(max_length = 20)]
    ///     name: String,
    ///     _state: ModelState,
    /// }
    ///
    /// #[derive(Model, Debug, Clone)]
    /// #[model(app_label = "docs")]
    /// struct Player {
    ///     #[field(primary_key)]
    ///     id: i64,
    ///     #[field(on_delete = Cascade, related_name = "players")]
    ///     team: ForeignKey<Team>,
    ///     goals: i32,
    ///     _state: ModelState,
    /// }
    ///
    /// let db = Database::connect("sqlite::memory:")?;
    /// quarry::schema::create_tables(&db, &[Team::meta(), Player::meta()])?;
    /// let reds = Team::objects().create(&db, Team { id: 0, name: "Reds".into(), _state: ModelState::new() })?;
    /// Team::objects().create(&db, Team { id: 0, name: "Blues".into(), _state: ModelState::new() })?;
    /// for goals in [3, 4] {
    ///     let team = ForeignKey::to(&reds)?;
    ///     Player::objects().create(&db, Player { id: 0, team, goals, _state: ModelState::new() })?;
    /// }
    /// let teams = Team::objects()
    ///     .annotate([("n", Count("players")), ("goals", Sum("players__goals").default(0))])
    ///     .order_by(["name"])
    ///     .all(&db)?;
    /// assert_eq!(teams[0].name, "Blues");
    /// assert_eq!(teams[0].annotation::<i64>("n")?, 0);
    /// assert_eq!(teams[1].annotation::<i64>("goals")?, 7);
    /// let busy = Team::objects().annotate([("n", Count("players"))]).filter(q!(n__gt = 1));
    /// assert_eq!(busy.count(&db)?, 1);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn annotate<S: Into<String>, E: Into<Expr>>(
        mut self,
        annotations: impl IntoIterator<Item = (S, E)>,
    ) -> Self {
        self.refuse_if_combined("annotate");
        self.add_annotations(annotations, true)
    }

    /// Names an expression for filters and orderings without selecting it, Django's
    /// `alias()`.
    ///
    /// ```
    /// # use quarry::prelude::*;
    /// # #[derive(Model, Debug, Clone)]
    /// # #[model(app_label = "docs")]
    /// # struct Box_ { #[field(primary_key)] id: i64, w: i32, h: i32, _state: ModelState }
    /// # let db = Database::connect("sqlite::memory:")?;
    /// # quarry::schema::create_tables(&db, &[Box_::meta()])?;
    /// # Box_::objects().create(&db, Box_ { id: 0, w: 2, h: 3, _state: ModelState::new() })?;
    /// let big = Box_::objects().alias([("area", F("w") * F("h"))]).filter(q!(area__gte = 6));
    /// let found = big.get(&db, q!())?;
    /// assert!(found.annotation::<i64>("area").is_err()); // not selected
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn alias<S: Into<String>, E: Into<Expr>>(
        self,
        annotations: impl IntoIterator<Item = (S, E)>,
    ) -> Self {
        self.add_annotations(annotations, false)
    }

    fn add_annotations<S: Into<String>, E: Into<Expr>>(
        mut self,
        annotations: impl IntoIterator<Item = (S, E)>,
        selected: bool,
    ) -> Self {
        let meta = M::meta();
        let mut aggregate = false;
        let mut seen: Vec<String> = Vec::new();
        for (name, expr) in annotations {
            let (name, expr): (String, Expr) = (name.into(), expr.into());
            if seen.contains(&name) && self.error.is_none() {
                // Two entries of one call under one name: Django's kwargs cannot repeat,
                // so this is its positional default name meeting a keyword.
                self.error = Some(format!(
                    "The named annotation '{name}' conflicts with the default name for \
                     another annotation."
                ));
            }
            seen.push(name.clone());
            if name.is_empty() && self.error.is_none() {
                self.error = Some("Complex aggregates require an alias.".to_owned());
            }
            if self.error.is_none() {
                self.error = check_alias(&name).err();
            }
            // Django checks the names of the model (fields, their `_id` names and
            // relations), or after values() only the names it selected.
            let conflicts = match &self.query.selection {
                Selection::Values(paths) => paths.iter().any(|p| *p == name),
                Selection::Model => {
                    meta.field(&name).is_some() || meta.field_choices().contains(&name)
                }
            };
            if conflicts && self.error.is_none() {
                self.error = Some(format!(
                    "The annotation '{name}' conflicts with a field on the model."
                ));
            }
            aggregate |= super::ast::expr_aggregates(&self.query.annotations, &expr);
            let after_filters = self.query.filters.len();
            let annotation = super::ast::Annotation {
                name,
                expr,
                selected,
                alias: !selected,
                after_filters,
            };
            let annotations = &mut self.query.annotations;
            match annotations.iter_mut().find(|a| a.name == annotation.name) {
                Some(existing) => {
                    // `annotate(x=1).alias(x=F("x"))`: the new expression's `F("x")` is
                    // the expression it replaces, as Django resolves it on the spot.
                    let mut annotation = annotation;
                    annotation.expr.walk_mut(&mut |e| {
                        if matches!(e, Expr::Field(p) if *p == existing.name) {
                            *e = existing.expr.clone();
                        }
                    });
                    *existing = annotation;
                }
                None => annotations.push(annotation),
            }
        }
        if aggregate {
            self.query.grouping = match &self.query.selection {
                Selection::Values(paths) => super::ast::Grouping::Values(
                    paths
                        .iter()
                        .filter(|p| {
                            let annotations = &self.query.annotations;
                            annotations
                                .iter()
                                .position(|a| &a.name == *p)
                                .is_none_or(|i| !super::ast::annotation_aggregates(annotations, i))
                        })
                        .cloned()
                        .collect(),
                ),
                Selection::Model => super::ast::Grouping::Model,
            };
        }
        self.with(|_| {})
    }

    /// Computes aggregates over the matching rows, Django's `aggregate()`: one row of
    /// named values. Over an annotated, sliced or distinct QuerySet it aggregates a
    /// subquery of those rows, so `Avg` of an annotated `Count` is the average count.
    ///
    /// ```
    /// use quarry::prelude::*;
    ///
    /// #[derive(Model, Debug, Clone)]
    /// #[model(app_label = "docs")]
    /// struct Sale {
    ///     #[field(primary_key)]
    ///     id: i64,
    ///     amount: i64,
    ///     _state: ModelState,
    /// }
    ///
    /// let db = Database::connect("sqlite::memory:")?;
    /// quarry::schema::create_tables(&db, &[Sale::meta()])?;
    /// for amount in [10, 20, 60] {
    ///     Sale::objects().create(&db, Sale { id: 0, amount, _state: ModelState::new() })?;
    /// }
    /// let totals = Sale::objects().aggregate(&db, [("total", Sum("amount")), ("top", Max("amount"))])?;
    /// assert_eq!(totals.get_as::<i64>("total")?, 90);
    /// assert_eq!(totals.get_as::<i64>("top")?, 60);
    /// let none = Sale::objects().filter(q!(amount__gt = 100)).aggregate(&db, [("total", Sum("amount"))])?;
    /// assert_eq!(none.get("total"), Some(&Value::Null));
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn aggregate<S: Into<String>, E: Into<Expr>>(
        &self,
        ex: &(impl Executor + ?Sized),
        aggregates: impl IntoIterator<Item = (S, E)>,
    ) -> Result<super::ValuesRow> {
        self.check()?;
        let aggregates: Vec<(String, Expr)> = aggregates
            .into_iter()
            .map(|(s, e)| (s.into(), e.into()))
            .collect();
        if aggregates.is_empty() {
            return Err(Error::invalid("aggregate() needs at least one aggregate"));
        }
        for (name, e) in &aggregates {
            if name.is_empty() {
                return Err(Error::invalid("Complex aggregates require an alias."));
            }
            check_alias(name).map_err(Error::invalid)?;
            let mut hidden = None;
            e.walk_fields(&mut |p| {
                let alias = self
                    .query
                    .annotations
                    .iter()
                    .find(|a| a.name == p && !a.selected);
                hidden = hidden.or(alias);
            });
            if let Some(a) = hidden {
                return Err(Error::field(format!(
                    "Cannot aggregate over the '{}' alias. Use annotate() to promote it.",
                    a.name
                )));
            }
            if !e.contains_aggregate() {
                return Err(Error::invalid(format!(
                    "{name} is not an aggregate expression: aggregate() takes Count, Sum, \
                     Avg, Min, Max, StdDev or Variance, or an expression holding one."
                )));
            }
        }
        let c = if self.query.empty {
            // `none()` aggregates no row: Count gives 0, the others NULL or their default,
            // as Django answers without a query; the database answers the same here.
            let mut query = self.query.clone();
            query.write_empty_as_filter();
            compiler::aggregate(&query, &aggregates, ex.dialect())?
        } else {
            compiler::aggregate(&self.query, &aggregates, ex.dialect())?
        };
        let shape = super::RowShape::new(&c.columns, None, 0..0, None);
        let rows = fetch_all(ex, &c.sql, &c.params, |row| {
            super::ValuesRow::from_query_row(row, &shape)
        })?;
        rows.into_iter()
            .next()
            .ok_or_else(|| Error::invalid("aggregate() returned no row"))
    }

    /// Compiles the SELECT for `ex`'s dialect: the SQL and its parameters, never inlined.
    pub fn to_sql(&self, ex: &(impl Executor + ?Sized)) -> Result<(String, Vec<Value>)> {
        self.check()?;
        let c = compiler::select(&self.query, ex.dialect())?;
        Ok((c.sql, c.params))
    }

    fn compiled(&self, ex: &(impl Executor + ?Sized)) -> Result<Compiled> {
        self.check()?;
        compiler::select(&self.query, ex.dialect())
    }

    /// Runs the query and returns every row.
    pub fn all(&self, ex: &(impl Executor + ?Sized)) -> Result<Vec<R>> {
        self.check()?;
        if self.query.empty || self.query.limit == Some(0) {
            return Ok(Vec::new());
        }
        let (stmt, params) = cache::statement(&self.query, StatementKind::Select, ex.dialect())?;
        let mut rows = R::fetch(ex, stmt.text(), &params, &stmt.shape, stmt.rows_hint())?;
        stmt.record_rows(rows.len());
        if !self.query.prefetch.is_empty() {
            R::after_fetch(&mut rows, &self.query, &ExecutorRef(ex))?;
        }
        Ok(rows)
    }

    /// Runs the query with a `group_key` (a many-to-many prefetch) and returns each row
    /// with that last column's value.
    pub(crate) fn all_grouped(&self, ex: &dyn Executor) -> Result<Vec<(R, Value)>> {
        self.check()?;
        if self.query.empty || self.query.limit == Some(0) {
            return Ok(Vec::new());
        }
        let (stmt, params) = cache::statement(&self.query, StatementKind::Select, ex.dialect())?;
        let last = stmt.shape.width() - 1;
        let kind = stmt.shape.kind(last);
        let mut reader = GroupedRows {
            rows: QueryRows::new(&stmt.shape),
            last,
            kind,
        };
        let rows = fetch_rows(ex, stmt.text(), &params, stmt.rows_hint(), &mut reader)?;
        stmt.record_rows(rows.len());
        if self.query.prefetch.is_empty() {
            return Ok(rows);
        }
        let (mut objs, keys): (Vec<R>, Vec<Value>) = rows.into_iter().unzip();
        R::after_fetch(&mut objs, &self.query, ex)?;
        Ok(objs.into_iter().zip(keys).collect())
    }

    /// The one row matching `q`: `Error::DoesNotExist` when none does,
    /// `Error::MultipleObjectsReturned` when several do.
    pub fn get(&self, ex: &(impl Executor + ?Sized), q: Q) -> Result<R> {
        let mut qs = if q.is_empty() {
            self.clone()
        } else {
            self.clone().filter(q)
        };
        if !qs.query.is_sliced() {
            qs.query.order_by = Some(Vec::new());
            qs.query.reversed = false;
            qs.query.limit = Some(MAX_GET_RESULTS);
        }
        let rows = qs.all(ex)?;
        let model = M::meta().name;
        match rows.len() {
            1 => Ok(rows.into_iter().next().expect("one row")),
            0 => Err(Error::DoesNotExist { model }),
            n => Err(Error::MultipleObjectsReturned {
                model,
                count: if n as u64 == MAX_GET_RESULTS {
                    n - 1
                } else {
                    n
                },
                more: n as u64 == MAX_GET_RESULTS,
            }),
        }
    }

    fn is_ordered(&self) -> bool {
        !self.query.effective_ordering().is_empty()
    }

    /// The first row by the ordering (by primary key when unordered), or `None`.
    pub fn first(&self, ex: &(impl Executor + ?Sized)) -> Result<Option<R>> {
        self.check()?;
        let qs = if self.is_ordered() {
            self.clone()
        } else {
            self.clone().order_by(["pk"])
        };
        Ok(qs.slice(..1).all(ex)?.into_iter().next())
    }

    /// The last row by the ordering (by primary key when unordered), or `None`.
    pub fn last(&self, ex: &(impl Executor + ?Sized)) -> Result<Option<R>> {
        self.check()?;
        let qs = if self.is_ordered() {
            self.clone().reverse()
        } else {
            self.clone().order_by(["-pk"])
        };
        Ok(qs.slice(..1).all(ex)?.into_iter().next())
    }

    fn earliest_by(
        &self,
        ex: &(impl Executor + ?Sized),
        fields: &[&str],
        latest: bool,
    ) -> Result<R> {
        self.check()?;
        if self.query.is_sliced() {
            return Err(Error::invalid(
                "Cannot change a query once a slice has been taken.",
            ));
        }
        let fields: Vec<String> = if fields.is_empty() {
            M::meta()
                .get_latest_by
                .iter()
                .map(|s| s.to_string())
                .collect()
        } else {
            fields.iter().map(|s| s.to_string()).collect()
        };
        if fields.is_empty() {
            return Err(Error::invalid(
                "earliest() and latest() require either fields as positional arguments or \
                 'get_latest_by' in the model's Meta.",
            ));
        }
        let mut qs = self.clone().order_by(fields);
        if latest {
            qs = qs.reverse();
        }
        qs.query.limit = Some(1);
        let rows = qs.all(ex)?;
        rows.into_iter().next().ok_or(Error::DoesNotExist {
            model: M::meta().name,
        })
    }

    /// The row with the smallest value of `fields` (or `Meta.get_latest_by` when empty).
    pub fn earliest(&self, ex: &(impl Executor + ?Sized), fields: &[&str]) -> Result<R> {
        self.earliest_by(ex, fields, false)
    }

    /// The row with the largest value of `fields` (or `Meta.get_latest_by` when empty).
    pub fn latest(&self, ex: &(impl Executor + ?Sized), fields: &[&str]) -> Result<R> {
        self.earliest_by(ex, fields, true)
    }

    /// `SELECT COUNT(*)`.
    pub fn count(&self, ex: &(impl Executor + ?Sized)) -> Result<u64> {
        self.check()?;
        if self.query.empty {
            return Ok(0);
        }
        if self.query.limit == Some(0) {
            return Ok(0);
        }
        let (stmt, params) = cache::statement(&self.query, StatementKind::Count, ex.dialect())?;
        let n = fetch_params(ex, stmt.text(), &params, 0, |r| r.get_i64(0))?;
        Ok(n.first().copied().unwrap_or(0) as u64)
    }

    /// True when at least one row matches.
    pub fn exists(&self, ex: &(impl Executor + ?Sized)) -> Result<bool> {
        self.check()?;
        if self.query.empty {
            return Ok(false);
        }
        let (stmt, params) = cache::statement(&self.query, StatementKind::Exists, ex.dialect())?;
        Ok(!fetch_params(ex, stmt.text(), &params, 0, |_| Ok(()))?.is_empty())
    }

    /// Streams rows in chunks of `chunk_size`, holding one chunk in memory at a time.
    ///
    /// The ordering is made total by the primary key. When the rows are ordered by the
    /// primary key alone (the default when the QuerySet has no ordering) and it is among
    /// the selected columns, each chunk continues after the last key read
    /// (`WHERE pk > last ORDER BY pk LIMIT n`): every chunk costs the same, so a million
    /// rows stream in linear time. Other orderings read chunks with LIMIT/OFFSET. Either
    /// way the connection is free between chunks, so writes inside the loop are allowed.
    ///
    /// ```
    /// use quarry::prelude::*;
    ///
    /// #[derive(Model, Debug, Clone)]
    /// #[model(app_label = "docs")]
    /// struct Event {
    ///     #[field(primary_key)]
    ///     id: i64,
    ///     n: i32,
    ///     _state: ModelState,
    /// }
    ///
    /// let db = Database::connect("sqlite::memory:")?;
    /// quarry::schema::create_tables(&db, &[Event::meta()])?;
    /// let events = (0..10).map(|n| Event { id: 0, n, _state: ModelState::new() }).collect();
    /// Event::objects().bulk_create(&db, events, &BulkCreate::new())?;
    /// let mut total = 0;
    /// for event in Event::objects().iterator(&db, 3) {
    ///     total += event?.n; // four chunks of at most three rows
    /// }
    /// assert_eq!(total, 45);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn iterator<'e, E: Executor + ?Sized>(
        &self,
        ex: &'e E,
        chunk_size: usize,
    ) -> ChunkedIter<'e, M, R, E> {
        let meta = M::meta();
        let is_pk = |path: &str| path == "pk" || path == meta.pk_field().name;
        let mut qs = self.clone();
        let mut ordering = qs.query.effective_ordering();
        if !ordering
            .iter()
            .any(|o| matches!(o, OrderBy::Field { path, .. } if is_pk(path)))
        {
            ordering.push(OrderBy::parse("pk"));
        }
        let keyset = match (ordering.as_slice(), &qs.query.selection) {
            _ if qs.query.is_sliced() => None,
            ([OrderBy::Field { descending, .. }], Selection::Model) => Some((*descending, meta.pk)),
            ([OrderBy::Field { descending, .. }], Selection::Values(paths)) if paths.is_empty() => {
                Some((*descending, meta.pk))
            }
            ([OrderBy::Field { descending, .. }], Selection::Values(paths)) => paths
                .iter()
                .position(|p| is_pk(p))
                .map(|i| (*descending, i)),
            _ => None,
        };
        qs.query.order_by = Some(ordering);
        qs.query.reversed = false;
        ChunkedIter {
            qs,
            ex,
            chunk_size: chunk_size as u64,
            next_offset: 0,
            keyset: keyset.map(|(descending, column)| Keyset {
                descending,
                column,
                last: None,
            }),
            buffer: std::collections::VecDeque::new(),
            done: false,
        }
    }

    /// The database's plan for the query (`EXPLAIN QUERY PLAN` on SQLite), one line per
    /// row of the plan.
    pub fn explain(&self, ex: &(impl Executor + ?Sized)) -> Result<String> {
        let c = self.compiled(ex)?;
        let sql = format!("{} {}", ex.dialect().explain_prefix(), c.sql);
        let lines = fetch_all(ex, &sql, &c.params, |row| {
            let cells: Result<Vec<String>> = (0..row.len())
                .map(|i| {
                    if row.is_null(i)? {
                        Ok("NULL".to_owned())
                    } else {
                        row.get_string(i)
                    }
                })
                .collect();
            Ok(cells?.join(" "))
        })?;
        Ok(lines.join("\n"))
    }

    /// Updates every matching row in one UPDATE; returns the number of rows matched.
    ///
    /// ```
    /// # use quarry::prelude::*;
    /// # #[derive(Model, Debug, Clone)]
    /// # #[model(app_label = "docs")]
    /// # struct Item { #[field(primary_key)] id: i64, stock: i32, _state: ModelState }
    /// # let db = Database::connect("sqlite::memory:")?;
    /// # quarry::schema::create_tables(&db, &[Item::meta()])?;
    /// # Item::objects().create(&db, Item { id: 0, stock: 3, _state: ModelState::new() })?;
    /// let n = Item::objects().filter(q!(stock__gt = 0)).update(&db, [("stock", F("stock") - 1)])?;
    /// assert_eq!(n, 1);
    /// assert_eq!(Item::objects().get(&db, q!(pk = 1))?.stock, 2);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn update<S: Into<String>, V: Into<Expr>>(
        &self,
        ex: &(impl Executor + ?Sized),
        assignments: impl IntoIterator<Item = (S, V)>,
    ) -> Result<u64> {
        self.check_not_combined("update")?;
        if self.query.empty {
            return Ok(0);
        }
        let assignments: Vec<(String, Expr)> = assignments
            .into_iter()
            .map(|(s, v)| (s.into(), v.into()))
            .collect();
        let c = compiler::update(&self.query, &assignments, ex.dialect())?;
        ex.execute(&c.sql, &c.params)
    }

    /// Deletes every matching row; returns the counts per model.
    pub fn delete(&self, ex: &(impl Executor + ?Sized)) -> Result<Deleted> {
        self.check_not_combined("delete")?;
        if self.query.distinct {
            return Err(Error::invalid("Cannot call delete() after .distinct()."));
        }
        if self.query.empty {
            return Ok(Deleted::default());
        }
        if self.query.is_sliced() {
            return Err(Error::invalid(
                "Cannot use 'limit' or 'offset' with delete().",
            ));
        }
        crate::model::delete_query(&ExecutorRef(ex), &self.query)
    }
}

impl<M: Model> QuerySet<M> {
    /// Inserts `obj` and returns it with its primary key set, Django's `create()`.
    pub fn create(&self, ex: &(impl Executor + ?Sized), mut obj: M) -> Result<M> {
        obj.save_with(ex, &crate::SaveOptions::new().force_insert(true))?;
        Ok(obj)
    }

    /// Gets the row matching `lookup`, or creates it from the lookup's exact conditions
    /// plus `defaults`. Returns the object and whether it was created.
    pub fn get_or_create(
        &self,
        ex: &(impl Executor + ?Sized),
        lookup: Q,
        defaults: impl IntoIterator<Item = (&'static str, Value)>,
    ) -> Result<(M, bool)> {
        match self.get(ex, lookup.clone()) {
            Ok(obj) => return Ok((obj, false)),
            Err(Error::DoesNotExist { .. }) => {}
            Err(e) => return Err(e),
        }
        let mut pending = Some(bulk::object_from_lookup::<M>(&lookup, defaults)?);
        let mut created = None;
        let result = ex.atomic_dyn(&mut |tx| {
            let mut o = pending.take().expect("atomic runs the closure once");
            o.save_with(tx, &crate::SaveOptions::new().force_insert(true))?;
            created = Some(o);
            Ok(())
        });
        match result {
            Ok(()) => Ok((created.expect("saved"), true)),
            Err(e @ Error::IntegrityError { .. }) => match self.get(ex, lookup) {
                Ok(obj) => Ok((obj, false)),
                Err(Error::DoesNotExist { .. }) => Err(e),
                Err(other) => Err(other),
            },
            Err(e) => Err(e),
        }
    }

    /// Updates the row matching `lookup` with `defaults`, or creates it (from the lookup,
    /// `defaults` and `create_defaults`). Returns the object and whether it was created.
    pub fn update_or_create(
        &self,
        ex: &(impl Executor + ?Sized),
        lookup: Q,
        defaults: impl IntoIterator<Item = (&'static str, Value)>,
        create_defaults: Option<Vec<(&'static str, Value)>>,
    ) -> Result<(M, bool)> {
        let defaults: Vec<(&'static str, Value)> = defaults.into_iter().collect();
        let mut out = None;
        ex.atomic_dyn(&mut |tx| {
            match self.get(tx, lookup.clone()) {
                Ok(mut obj) => {
                    let meta = M::meta();
                    let mut names = Vec::new();
                    for (name, v) in &defaults {
                        let (i, f) = meta.field_or_error(name)?;
                        obj.set_field_value(i, v.clone())?;
                        names.push(f.name.to_owned());
                    }
                    for f in meta.fields.iter().filter(|f| f.auto_now) {
                        names.push(f.name.to_owned());
                    }
                    obj.save_with(tx, &crate::SaveOptions::new().update_fields(names))?;
                    out = Some((obj, false));
                }
                Err(Error::DoesNotExist { .. }) => {
                    let values = create_defaults.clone().unwrap_or_else(|| defaults.clone());
                    let obj = bulk::object_from_lookup::<M>(&lookup, values)?;
                    let mut o = obj;
                    o.save_with(tx, &crate::SaveOptions::new().force_insert(true))?;
                    out = Some((o, true));
                }
                Err(e) => return Err(e),
            }
            Ok(())
        })?;
        Ok(out.expect("set inside atomic"))
    }

    /// Inserts many objects in as few statements as the database allows, inside one
    /// transaction; primary keys are set on the returned objects (unless conflicts are
    /// ignored).
    pub fn bulk_create(
        &self,
        ex: &(impl Executor + ?Sized),
        objs: Vec<M>,
        options: &BulkCreate,
    ) -> Result<Vec<M>> {
        if options.batch_size == Some(0) {
            return Err(Error::invalid("Batch size must be a positive integer."));
        }
        if objs.is_empty() {
            return Ok(objs);
        }
        let mut objs = objs;
        bulk::bulk_insert(ex, &mut objs, options)?;
        Ok(objs)
    }

    /// Updates `fields` of many saved objects with one `UPDATE ... CASE` per batch;
    /// returns the number of rows matched.
    pub fn bulk_update(
        &self,
        ex: &(impl Executor + ?Sized),
        objs: &[M],
        fields: &[&str],
        batch_size: Option<usize>,
    ) -> Result<u64> {
        bulk::bulk_update(ex, objs, fields, batch_size)
    }

    /// The objects whose primary key is in `ids` (every object when `None`), keyed by pk.
    pub fn in_bulk<K: FieldValue + Hash + Eq>(
        &self,
        ex: &(impl Executor + ?Sized),
        ids: Option<Vec<K>>,
    ) -> Result<HashMap<K, M>> {
        self.in_bulk_by(ex, "pk", ids)
    }

    /// The objects whose unique `field` is in `values` (every object when `None`).
    pub fn in_bulk_by<K: FieldValue + Hash + Eq>(
        &self,
        ex: &(impl Executor + ?Sized),
        field: &str,
        values: Option<Vec<K>>,
    ) -> Result<HashMap<K, M>> {
        let meta = M::meta();
        let (idx, f) = meta.field_or_error(field)?;
        if !(f.primary_key || f.unique) {
            return Err(Error::invalid(format!(
                "in_bulk()'s field_name must be a unique field but '{field}' isn't."
            )));
        }
        if self.query.is_sliced() {
            return Err(Error::invalid(
                "Cannot use 'limit' or 'offset' with in_bulk().",
            ));
        }
        let mut out = HashMap::new();
        let Some(values) = values else {
            for obj in self.all(ex)? {
                out.insert(K::from_value(obj.field_value(idx))?, obj);
            }
            return Ok(out);
        };
        // One query per batch of values that fits the database's parameter limit.
        for batch in values.chunks(ex.dialect().max_params().max(1)) {
            let list = Value::List(batch.iter().map(FieldValue::to_value).collect());
            let qs = self
                .clone()
                .filter(Q::lookup(format!("{}__in", f.name), list));
            for obj in qs.all(ex)? {
                out.insert(K::from_value(obj.field_value(idx))?, obj);
            }
        }
        Ok(out)
    }
}

/// The iterator of [`QuerySet::iterator`].
pub struct ChunkedIter<'e, M: Model, R, E: ?Sized> {
    qs: QuerySet<M, R>,
    ex: &'e E,
    chunk_size: u64,
    next_offset: u64,
    keyset: Option<Keyset>,
    buffer: std::collections::VecDeque<R>,
    done: bool,
}

/// Where a primary-key-ordered iteration stands.
struct Keyset {
    descending: bool,
    /// The output column holding the primary key.
    column: usize,
    /// The last key read.
    last: Option<Value>,
}

impl<M: Model, R: FromQueryRow, E: Executor + ?Sized> ChunkedIter<'_, M, R, E> {
    /// The next chunk: after the last key (keyset) or at the next offset.
    fn next_chunk(&mut self) -> Result<Vec<R>> {
        let Some(keyset) = &mut self.keyset else {
            let start = self.next_offset as i64;
            let rows = self
                .qs
                .clone()
                .slice(start..start + self.chunk_size as i64)
                .all(self.ex)?;
            self.next_offset += rows.len() as u64;
            return Ok(rows);
        };
        let mut chunk = self.qs.clone();
        if let Some(last) = &keyset.last {
            let lookup = if keyset.descending {
                "pk__lt"
            } else {
                "pk__gt"
            };
            chunk = chunk.filter(Q::lookup(lookup, last.clone()));
        }
        chunk.query.limit = Some(self.chunk_size);
        chunk.check()?;
        let (stmt, params) =
            cache::statement(&chunk.query, StatementKind::Select, self.ex.dialect())?;
        let (column, kind) = (keyset.column, M::meta().pk_field().kind);
        let mut reader = KeysetRows {
            rows: QueryRows::new(&stmt.shape),
            column,
            kind,
            last: None,
        };
        let mut rows = fetch_rows(self.ex, stmt.text(), &params, stmt.rows_hint(), &mut reader)?;
        stmt.record_rows(rows.len());
        if reader.last.is_some() {
            keyset.last = reader.last;
        }
        if !chunk.query.prefetch.is_empty() {
            // Each chunk runs its own prefetch queries, as Django's iterator(chunk_size).
            R::after_fetch(&mut rows, &chunk.query, &ExecutorRef(self.ex))?;
        }
        Ok(rows)
    }
}

/// Reads each row as `R` with the value of its last column (a many-to-many
/// prefetch's group key).
struct GroupedRows<'s, R> {
    rows: QueryRows<'s, R>,
    last: usize,
    kind: crate::model::FieldKind,
}

impl<R: FromQueryRow> ReadRow for GroupedRows<'_, R> {
    type Out = (R, Value);
    #[inline]
    fn read<W: Row + ?Sized>(&mut self, row: &W) -> Result<(R, Value)> {
        Ok((self.rows.read(row)?, row.value(self.last, self.kind)?))
    }
}

/// Reads each row as `R`, keeping the primary key of the last one read (where the
/// next chunk of a keyset iteration starts).
struct KeysetRows<'s, R> {
    rows: QueryRows<'s, R>,
    column: usize,
    kind: crate::model::FieldKind,
    last: Option<Value>,
}

impl<R: FromQueryRow> ReadRow for KeysetRows<'_, R> {
    type Out = R;
    #[inline]
    fn read<W: Row + ?Sized>(&mut self, row: &W) -> Result<R> {
        self.last = Some(read_column(row, self.column, self.kind)?);
        self.rows.read(row)
    }
}

/// Reads a key column (integers without going through the kind's decoder).
pub(crate) fn read_column<W: crate::db::Row + ?Sized>(
    row: &W,
    idx: usize,
    kind: crate::model::FieldKind,
) -> Result<Value> {
    if kind.is_integer() {
        row.get_i64(idx).map(Value::I64)
    } else {
        row.value(idx, kind)
    }
}

impl<M: Model, R: FromQueryRow, E: Executor + ?Sized> Iterator for ChunkedIter<'_, M, R, E> {
    type Item = Result<R>;

    fn next(&mut self) -> Option<Result<R>> {
        if let Some(r) = self.buffer.pop_front() {
            return Some(Ok(r));
        }
        if self.done {
            return None;
        }
        if self.chunk_size == 0 {
            self.done = true;
            return Some(Err(Error::invalid("Chunk size must be strictly positive.")));
        }
        match self.next_chunk() {
            Ok(rows) => {
                if (rows.len() as u64) < self.chunk_size {
                    self.done = true;
                }
                self.buffer.extend(rows);
                self.buffer.pop_front().map(Ok)
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl<M: Model, R> QuerySet<M, R> {
    /// The query and a misuse found while chaining (for a subquery).
    pub(crate) fn into_parts(self) -> (Query, Option<String>) {
        (*self.query, self.error)
    }

    /// The filters of this QuerySet as one condition (excludes become `!`).
    fn as_condition(&self) -> Q {
        self.query.filters.iter().fold(Q::all(), |acc, f| {
            acc & if f.negated { !f.q.clone() } else { f.q.clone() }
        })
    }

    fn combine(self, other: Self, or: bool) -> Self {
        let mut out = self.clone();
        if self.query.is_sliced() || other.query.is_sliced() {
            out.error.get_or_insert_with(|| {
                "Cannot combine queries once a slice has been taken.".into()
            });
            return out;
        }
        if self.query.empty || other.query.empty {
            // none() | qs is qs; none() & qs is none().
            return match (or, self.query.empty) {
                (true, true) => other,
                (true, false) => self,
                (false, true) => self,
                (false, false) => other,
            };
        }
        let (a, b) = (self.as_condition(), other.as_condition());
        let q = if or {
            if a.is_empty() || b.is_empty() {
                Q::all()
            } else {
                Q::Or(vec![a, b])
            }
        } else {
            a & b
        };
        out.query.filters = smallvec::smallvec![Filter { q, negated: false }];
        out.query.distinct |= other.query.distinct;
        out.error = self.error.or(other.error);
        out
    }
}

/// `qs1 | qs2`: rows matching either QuerySet, Django's `QuerySet.__or__`.
impl<M: Model, R> std::ops::BitOr for QuerySet<M, R> {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        self.combine(rhs, true)
    }
}

/// `qs1 & qs2`: rows matching both QuerySets, Django's `QuerySet.__and__`.
impl<M: Model, R> std::ops::BitAnd for QuerySet<M, R> {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        self.combine(rhs, false)
    }
}

/// Reads the key an `INSERT ... RETURNING` gave back (column 0), typed as the model's
/// primary key.
pub(crate) fn read_pk<M: Model, W: crate::db::Row + ?Sized>(row: &W) -> Result<M::Pk> {
    <M::Pk as FieldValue>::read(row, 0).map_err(|e| {
        let meta = M::meta();
        crate::model::__field_error(e, meta.name, meta.pk_field().name)
    })
}

/// Reads each row of an `INSERT ... RETURNING` as the model's key.
struct PkReader<M>(PhantomData<M>);

impl<M: Model> crate::db::ReadRow for PkReader<M> {
    type Out = M::Pk;

    #[inline]
    fn read<R: crate::db::Row + ?Sized>(&mut self, row: &R) -> Result<M::Pk> {
        read_pk::<M, R>(row)
    }
}

/// Inserts one batch of `bulk_create`: `params` holds `rows` rows of `fields`, one after
/// the other. Returns the generated keys when `returning`.
pub(crate) fn insert_batch<M: Model>(
    ex: &(impl Executor + ?Sized),
    fields: &[usize],
    rows: usize,
    params: &[Param<'_>],
    returning: bool,
    ignore: bool,
) -> Result<Vec<M::Pk>> {
    let meta = M::meta();
    let on_conflict = if ignore {
        OnConflict::Ignore
    } else {
        OnConflict::Error
    };
    let stmt = cache::insert_statement(meta, fields, rows, returning, on_conflict, ex.dialect())?;
    if returning {
        crate::db::fetch_rows(
            ex,
            stmt.text(),
            params,
            rows,
            &mut PkReader::<M>(PhantomData),
        )
    } else {
        ex.execute_sql(stmt.text(), params)?;
        Ok(Vec::new())
    }
}
