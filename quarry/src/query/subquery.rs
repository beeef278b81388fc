//! Subqueries: `Subquery(qs)`, `Exists(qs)`, `OuterRef("field")`, and a QuerySet on the
//! right of `in`.

use super::ast::Query;
use super::expr::Expr;
use super::queryset::QuerySet;
use crate::model::Model;

/// A QuerySet used inside another query.
#[derive(Debug, Clone)]
pub struct SubqueryExpr {
    /// The inner query.
    pub query: Query,
    /// `EXISTS(...)` rather than a value.
    pub exists: bool,
    /// A misuse found while the inner QuerySet was built, reported when it compiles.
    pub(crate) error: Option<String>,
}

impl PartialEq for SubqueryExpr {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (&self.query, &other.query);
        self.exists == other.exists
            && std::ptr::eq(a.model, b.model)
            && a.filters == b.filters
            && a.order_by == b.order_by
            && a.selection == b.selection
            && a.annotations == b.annotations
            && a.grouping == b.grouping
            && (a.offset, a.limit, a.distinct, a.empty) == (b.offset, b.limit, b.distinct, b.empty)
    }
}

impl<M: Model, R> From<QuerySet<M, R>> for Expr {
    fn from(qs: QuerySet<M, R>) -> Expr {
        let (query, error) = qs.into_parts();
        Expr::Subquery(Box::new(SubqueryExpr {
            query,
            exists: false,
            error,
        }))
    }
}

/// The value a QuerySet of one column computes, Django's `Subquery(qs)`: usually
/// correlated with [`OuterRef`] and sliced to one row.
///
/// ```
/// use quarry::prelude::*;
/// use quarry::{OuterRef, Subquery};
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "docs")]
/// struct Post {
///     #[field(primary_key)]
///     id: i64,
///     #[field(max_length = 50)]
///     title: String,
///     _state: ModelState,
/// }
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "docs")]
/// struct Note {
///     #[field(primary_key)]
///     id: i64,
///     #[field(on_delete = Cascade, related_name = "notes")]
///     post: ForeignKey<Post>,
///     #[field(max_length = 50)]
///     text: String,
///     _state: ModelState,
/// }
///
/// let db = Database::connect("sqlite::memory:")?;
/// quarry::schema::create_tables(&db, &[Post::meta(), Note::meta()])?;
/// let post = Post::objects().create(&db, Post { id: 0, title: "Hi".into(), _state: ModelState::new() })?;
/// for text in ["first", "second"] {
///     let n = Note { id: 0, post: ForeignKey::to(&post)?, text: text.into(), _state: ModelState::new() };
///     Note::objects().create(&db, n)?;
/// }
/// let newest = Note::objects()
///     .filter(q!(post = OuterRef("pk")))
///     .order_by(["-id"])
///     .values_list(["text"])
///     .slice(0..1);
/// let posts = Post::objects().annotate([("newest_note", Subquery(newest))]).all(&db)?;
/// assert_eq!(posts[0].annotation::<String>("newest_note")?, "second");
/// let with_notes = Post::objects().filter(q!(pk__in = Note::objects().values_list(["post"])));
/// assert_eq!(with_notes.count(&db)?, 1);
/// # Ok::<(), quarry::Error>(())
/// ```
#[allow(non_snake_case)]
pub fn Subquery<M: Model, R>(qs: QuerySet<M, R>) -> Expr {
    qs.into()
}

/// True when the QuerySet finds a row, Django's `Exists(qs)`: filter with
/// `Q::expr(Exists(...))` (negate with `!`), or annotate it as a boolean.
///
/// ```
/// use quarry::prelude::*;
/// use quarry::{Exists, OuterRef};
/// # #[derive(Model, Debug, Clone)]
/// # #[model(app_label = "docs")]
/// # struct Post { #[field(primary_key)] id: i64, _state: ModelState }
/// # #[derive(Model, Debug, Clone)]
/// # #[model(app_label = "docs")]
/// # struct Like { #[field(primary_key)] id: i64, #[field(on_delete = Cascade)] post: ForeignKey<Post>, _state: ModelState }
/// # let db = Database::connect("sqlite::memory:")?;
/// # quarry::schema::create_tables(&db, &[Post::meta(), Like::meta()])?;
/// let liked = Post::objects().create(&db, Post { id: 0, _state: ModelState::new() })?;
/// Post::objects().create(&db, Post { id: 0, _state: ModelState::new() })?;
/// Like::objects().create(&db, Like { id: 0, post: ForeignKey::to(&liked)?, _state: ModelState::new() })?;
/// let likes = Like::objects().filter(q!(post = OuterRef("pk")));
/// assert_eq!(Post::objects().filter(Q::expr(Exists(likes.clone()))).count(&db)?, 1);
/// assert_eq!(Post::objects().filter(!Q::expr(Exists(likes.clone()))).count(&db)?, 1);
/// let posts = Post::objects().annotate([("liked", Exists(likes))]).order_by(["id"]).all(&db)?;
/// assert!(posts[0].annotation::<bool>("liked")?);
/// # Ok::<(), quarry::Error>(())
/// ```
#[allow(non_snake_case)]
pub fn Exists<M: Model, R>(qs: QuerySet<M, R>) -> Expr {
    let (query, error) = qs.into_parts();
    Expr::Subquery(Box::new(SubqueryExpr {
        query,
        exists: true,
        error,
    }))
}

/// A column of the enclosing query, inside a subquery: Django's `OuterRef("field")`.
/// `OuterRef(OuterRef("field"))` reaches one query further out, from a subquery
/// inside a subquery.
///
/// ```
/// use quarry::{OuterRef, Expr};
/// assert_eq!(OuterRef("pk"), Expr::OuterRef { path: "pk".into(), depth: 0 });
/// assert_eq!(OuterRef(OuterRef("pk")), Expr::OuterRef { path: "pk".into(), depth: 1 });
/// ```
#[allow(non_snake_case)]
pub fn OuterRef(target: impl OuterRefTarget) -> Expr {
    target.outer_ref()
}

/// What [`OuterRef`] takes: a field path, or another `OuterRef` to reach further out.
pub trait OuterRefTarget {
    /// The `OuterRef` expression naming this target.
    fn outer_ref(self) -> Expr;
}

impl OuterRefTarget for &str {
    fn outer_ref(self) -> Expr {
        Expr::OuterRef {
            path: self.to_owned(),
            depth: 0,
        }
    }
}

impl OuterRefTarget for String {
    fn outer_ref(self) -> Expr {
        Expr::OuterRef {
            path: self,
            depth: 0,
        }
    }
}

impl OuterRefTarget for Expr {
    fn outer_ref(self) -> Expr {
        match self {
            Expr::OuterRef { path, depth } => Expr::OuterRef {
                path,
                depth: depth.saturating_add(1),
            },
            Expr::Field(path) => Expr::OuterRef { path, depth: 0 },
            other => Expr::Func(Box::new(super::Func {
                function: super::Function::Invalid(format!(
                    "OuterRef() takes a field name or another OuterRef, not {other:?}"
                )),
                args: Vec::new(),
                output: None,
            })),
        }
    }
}

impl Query {
    /// Calls `f(path, level)` on every `OuterRef` of this query and of the subqueries
    /// inside it that reaches outside this query (`nesting`: how deep this query is
    /// below the one asking); `level` 0 is the query just outside.
    pub(crate) fn walk_outer_refs<'a>(&'a self, nesting: u8, f: &mut dyn FnMut(&'a str, u8)) {
        for filter in &self.filters {
            filter.q.walk_exprs(&mut |e| e.walk_outer_refs(nesting, f));
        }
        for a in &self.annotations {
            a.expr.walk_outer_refs(nesting, f);
        }
        for o in self.order_by.iter().flatten() {
            if let super::OrderBy::Expr { expr, .. } = o {
                expr.walk_outer_refs(nesting, f);
            }
        }
    }
}
