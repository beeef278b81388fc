//! What every library under test provides, and the plain rows its results are checked as.
//!
//! Each library implements [`Orm`] with its own types: the timed closures build and drop
//! those, exactly what a caller of the library gets. [`Side`] is the object-safe face the
//! runner holds them by; it turns a result into plain rows only when it is checked,
//! outside the timing.

use quarry_benches::harness::BoxError;
use std::hint::black_box;

/// A user as `(id, name, hair_color)`.
pub type UserRow = (i32, String, Option<String>);
/// A post as `(id, user_id, title, body)`.
pub type PostRow = (i32, i32, String, Option<String>);
/// A comment as `(id, post_id, text)`.
pub type CommentRow = (i32, i32, String);
/// A user with its posts, each with its comments.
pub type TreeRow = (UserRow, Vec<(PostRow, Vec<CommentRow>)>);
/// medium_complex_query's result: each user with its post, if any.
pub type Pairs<U, P> = Vec<(U, Option<P>)>;
/// The common nested result of loading_associations.
pub type Nested<U, P, C> = Vec<(U, Vec<(P, Vec<C>)>)>;

/// One run of a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// trivial_query: every user.
    Users,
    /// medium_complex_query: black-haired users LEFT JOIN their posts.
    Medium,
    /// insert: this many new users in one statement, their keys read back.
    Insert(usize),
    /// loading_associations: users, their posts, the posts' comments.
    Associations,
}

/// A workload's result as plain rows, for the correctness check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// trivial_query's users.
    Users(Vec<UserRow>),
    /// medium_complex_query's pairs.
    Medium(Vec<(UserRow, Option<PostRow>)>),
    /// insert's generated keys, in the order of the new users.
    Keys(Vec<i32>),
    /// loading_associations' tree.
    Tree(Vec<TreeRow>),
}

impl Outcome {
    /// The same rows in a canonical order (no workload has an ORDER BY).
    pub fn sorted(mut self) -> Outcome {
        match &mut self {
            Outcome::Users(v) => v.sort(),
            Outcome::Medium(v) => v.sort(),
            Outcome::Keys(_) => {}
            Outcome::Tree(v) => {
                for (_, posts) in v.iter_mut() {
                    for (_, comments) in posts.iter_mut() {
                        comments.sort();
                    }
                    posts.sort();
                }
                v.sort();
            }
        }
        self
    }
}

/// A library's side of every workload, in its own types.
pub trait Orm {
    /// Its user model.
    type User;
    /// Its post model.
    type Post;
    /// What its bulk insert returns.
    type Inserted;
    /// What its association loading returns.
    type Tree;

    /// Runs SQL that returns nothing (to load this side's own copy of the data).
    fn run_sql(&mut self, sql: &str) -> Result<(), BoxError>;
    /// trivial_query.
    fn users(&mut self) -> Result<Vec<Self::User>, BoxError>;
    /// medium_complex_query.
    fn medium(&mut self) -> Result<Pairs<Self::User, Self::Post>, BoxError>;
    /// insert: users `0..n` as [`quarry_benches::models::user_fields`] makes them (with
    /// hair colours), in one multi-row INSERT.
    fn insert(&mut self, n: usize) -> Result<Self::Inserted, BoxError>;
    /// loading_associations.
    fn associations(&mut self) -> Result<Self::Tree, BoxError>;

    /// A user as plain columns.
    fn user_row(user: &Self::User) -> UserRow;
    /// A post as plain columns.
    fn post_row(post: &Self::Post) -> PostRow;
    /// The generated keys of an insert, in the order of the new users.
    fn inserted_keys(inserted: &Self::Inserted) -> Vec<i32>;
    /// The association tree as plain rows.
    fn tree_rows(tree: &Self::Tree) -> Vec<TreeRow>;
}

/// The object-safe face of an [`Orm`], one per library in the runner.
pub trait Side {
    /// Runs `work` once and drops the result: the timed call.
    fn run(&mut self, work: Work) -> Result<(), BoxError>;
    /// Runs `work` once and returns its result as plain rows: the checked call.
    fn outcome(&mut self, work: Work) -> Result<Outcome, BoxError>;
    /// Runs SQL that returns nothing.
    fn run_sql(&mut self, sql: &str) -> Result<(), BoxError>;
}

impl<T: Orm> Side for T {
    fn run(&mut self, work: Work) -> Result<(), BoxError> {
        match work {
            Work::Users => {
                black_box(self.users()?);
            }
            Work::Medium => {
                black_box(self.medium()?);
            }
            Work::Insert(n) => {
                black_box(self.insert(n)?);
            }
            Work::Associations => {
                black_box(self.associations()?);
            }
        }
        Ok(())
    }

    fn outcome(&mut self, work: Work) -> Result<Outcome, BoxError> {
        Ok(match work {
            Work::Users => Outcome::Users(self.users()?.iter().map(T::user_row).collect()),
            Work::Medium => Outcome::Medium(
                self.medium()?
                    .iter()
                    .map(|(u, p)| (T::user_row(u), p.as_ref().map(T::post_row)))
                    .collect(),
            ),
            Work::Insert(n) => Outcome::Keys(T::inserted_keys(&self.insert(n)?)),
            Work::Associations => Outcome::Tree(T::tree_rows(&self.associations()?)),
        })
    }

    fn run_sql(&mut self, sql: &str) -> Result<(), BoxError> {
        Orm::run_sql(self, sql)
    }
}

/// The plain rows of a nested `(user, [(post, [comment])])` result, given each model's
/// columns.
pub fn nested_rows<U, P, C>(
    tree: &Nested<U, P, C>,
    user: impl Fn(&U) -> UserRow,
    post: impl Fn(&P) -> PostRow,
    comment: impl Fn(&C) -> CommentRow,
) -> Vec<TreeRow> {
    tree.iter()
        .map(|(u, posts)| {
            let posts = posts
                .iter()
                .map(|(p, cs)| (post(p), cs.iter().map(&comment).collect()))
                .collect();
            (user(u), posts)
        })
        .collect()
}

/// The users of insert: `(name, hair_color)` of rows `0..n`, as the raw side and
/// quarry's side make them.
pub fn new_users(n: usize) -> impl Iterator<Item = (String, Option<String>)> {
    (0..n).map(|i| quarry_benches::models::user_fields(i, true))
}
