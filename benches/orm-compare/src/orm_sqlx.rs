//! sqlx's side: hand-written SQL through `query_as` into `FromRow` structs (tuples for
//! the join), `QueryBuilder::push_values` for the multi-row insert, and the three
//! association queries grouped by hand, as sqlx leaves it to the caller.
//!
//! One connection (not a pool) per backend, driven by `block_on` on a current-thread
//! tokio runtime on the benchmark's thread. sqlx prepares every query once per
//! connection and keeps it (`persistent`, its default). Key lists are bound as one
//! array with `= ANY($1)` on PostgreSQL (sqlx's advice) and written as an `IN` list by
//! `QueryBuilder` elsewhere.

use crate::side::{nested_rows, new_users, Nested, Orm, PostRow, TreeRow, UserRow};
use quarry_benches::harness::BoxError;
use sqlx::{AssertSqlSafe, Connection, Database, QueryBuilder};
use std::collections::HashMap;
use tokio::runtime::Runtime;

/// A user row.
#[derive(sqlx::FromRow, Debug, Clone, PartialEq)]
pub struct User {
    /// Key.
    pub id: i32,
    /// Name.
    pub name: String,
    /// Hair colour.
    pub hair_color: Option<String>,
}

/// A post row.
#[derive(sqlx::FromRow, Debug, Clone, PartialEq)]
pub struct Post {
    /// Key.
    pub id: i32,
    /// The author's key.
    pub user_id: i32,
    /// Title.
    pub title: String,
    /// Body.
    pub body: Option<String>,
}

/// A comment row.
#[derive(sqlx::FromRow, Debug, Clone, PartialEq)]
pub struct Comment {
    /// Key.
    pub id: i32,
    /// The post's key.
    pub post_id: i32,
    /// Text.
    pub text: String,
}

/// The columns of medium_complex_query's row, read by position.
type MediumRow = (
    i32,
    String,
    Option<String>,
    Option<i32>,
    Option<i32>,
    Option<String>,
    Option<String>,
);

const SELECT_USERS: &str = "SELECT id, name, hair_color FROM users";
const MEDIUM: &str = "SELECT users.id, users.name, users.hair_color, posts.id, posts.user_id, \
     posts.title, posts.body FROM users LEFT JOIN posts ON posts.user_id = users.id \
     WHERE users.hair_color = ?";
const MEDIUM_PG: &str = "SELECT users.id, users.name, users.hair_color, posts.id, \
     posts.user_id, posts.title, posts.body FROM users LEFT JOIN posts \
     ON posts.user_id = users.id WHERE users.hair_color = $1";
const POSTS: &str = "SELECT id, user_id, title, body FROM posts WHERE user_id";
const COMMENTS: &str = "SELECT id, post_id, text FROM comments WHERE post_id";
const POSTS_PG: &str = "SELECT id, user_id, title, body FROM posts WHERE user_id = ANY($1)";
const COMMENTS_PG: &str = "SELECT id, post_id, text FROM comments WHERE post_id = ANY($1)";

/// sqlx's connection on one backend.
pub enum Conn {
    /// `SqliteConnection` (its own in-memory database, run on sqlx's worker thread).
    Sqlite(sqlx::SqliteConnection),
    /// `PgConnection`.
    Pg(sqlx::PgConnection),
    /// `MySqlConnection`.
    MySql(sqlx::MySqlConnection),
}

/// Evaluates `$body` with `$c` bound to the connection, whichever backend it is on.
macro_rules! on_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            Conn::Sqlite($c) => $body,
            Conn::Pg($c) => $body,
            Conn::MySql($c) => $body,
        }
    };
}

/// loading_associations' three queries with `IN` lists written by [`in_list`].
macro_rules! three_queries_in_lists {
    ($c:ident) => {{
        let users: Vec<User> = sqlx::query_as(SELECT_USERS).fetch_all(&mut *$c).await?;
        let ids: Vec<i32> = users.iter().map(|u| u.id).collect();
        let mut q = in_list(POSTS, &ids);
        let posts: Vec<Post> = q.build_query_as().fetch_all(&mut *$c).await?;
        let ids: Vec<i32> = posts.iter().map(|p| p.id).collect();
        let mut q = in_list(COMMENTS, &ids);
        let comments: Vec<Comment> = q.build_query_as().fetch_all(&mut *$c).await?;
        Ok((users, posts, comments))
    }};
}

/// sqlx's side of the workloads.
pub struct SqlxSide {
    rt: Runtime,
    conn: Conn,
}

impl SqlxSide {
    /// Connects to `url`: `sqlite::memory:`, `postgres://…` or `mysql://…`.
    pub fn connect(url: &str) -> Result<SqlxSide, BoxError> {
        let rt = crate::runtime()?;
        let conn = rt.block_on(async {
            Ok::<_, sqlx::Error>(if url.starts_with("sqlite:") {
                Conn::Sqlite(sqlx::SqliteConnection::connect(url).await?)
            } else if url.starts_with("postgres") {
                Conn::Pg(sqlx::PgConnection::connect(url).await?)
            } else {
                Conn::MySql(sqlx::MySqlConnection::connect(url).await?)
            })
        })?;
        Ok(SqlxSide { rt, conn })
    }
}

/// `head IN (?, ?, …)` with `keys` bound.
fn in_list<DB: Database>(head: &str, keys: &[i32]) -> QueryBuilder<DB>
where
    for<'q> i32: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut q = QueryBuilder::new(head);
    q.push(" IN (");
    let mut list = q.separated(", ");
    for &k in keys {
        list.push_bind(k);
    }
    q.push(")");
    q
}

/// The multi-row insert of users `0..n`, reading back their keys.
fn insert_users<DB: Database>(n: usize) -> QueryBuilder<DB>
where
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut q = QueryBuilder::new("INSERT INTO users (name, hair_color) ");
    q.push_values(new_users(n), |mut row, (name, hair_color)| {
        row.push_bind(name).push_bind(hair_color);
    });
    q.push(" RETURNING id");
    q
}

impl Orm for SqlxSide {
    type User = User;
    type Post = Post;
    type Inserted = Vec<i32>;
    type Tree = Nested<User, Post, Comment>;

    fn run_sql(&mut self, sql: &str) -> Result<(), BoxError> {
        let conn = &mut self.conn;
        self.rt.block_on(async {
            on_conn!(conn, c => sqlx::raw_sql(AssertSqlSafe(sql)).execute(c).await.map(drop))
        })?;
        Ok(())
    }

    fn users(&mut self) -> Result<Vec<User>, BoxError> {
        let conn = &mut self.conn;
        Ok(self.rt.block_on(async {
            on_conn!(conn, c => sqlx::query_as(SELECT_USERS).fetch_all(c).await)
        })?)
    }

    fn medium(&mut self) -> Result<Vec<(User, Option<Post>)>, BoxError> {
        let conn = &mut self.conn;
        let rows: Vec<MediumRow> = self.rt.block_on(async {
            match conn {
                Conn::Pg(c) => sqlx::query_as(MEDIUM_PG).bind("black").fetch_all(c).await,
                Conn::Sqlite(c) => sqlx::query_as(MEDIUM).bind("black").fetch_all(c).await,
                Conn::MySql(c) => sqlx::query_as(MEDIUM).bind("black").fetch_all(c).await,
            }
        })?;
        Ok(rows
            .into_iter()
            .map(|(id, name, hair_color, pid, user_id, title, body)| {
                let post = pid.map(|id| Post {
                    id,
                    user_id: user_id.unwrap_or_default(),
                    title: title.unwrap_or_default(),
                    body,
                });
                (
                    User {
                        id,
                        name,
                        hair_color,
                    },
                    post,
                )
            })
            .collect())
    }

    fn insert(&mut self, n: usize) -> Result<Vec<i32>, BoxError> {
        let conn = &mut self.conn;
        Ok(self.rt.block_on(async {
            on_conn!(conn, c => {
                let mut q = insert_users(n);
                q.build_query_scalar().fetch_all(c).await
            })
        })?)
    }

    fn associations(&mut self) -> Result<Self::Tree, BoxError> {
        let conn = &mut self.conn;
        let (users, posts, comments) = self.rt.block_on(async {
            match conn {
                Conn::Pg(c) => {
                    let users: Vec<User> = sqlx::query_as(SELECT_USERS).fetch_all(&mut *c).await?;
                    let posts: Vec<Post> = sqlx::query_as(POSTS_PG)
                        .bind(users.iter().map(|u| u.id).collect::<Vec<i32>>())
                        .fetch_all(&mut *c)
                        .await?;
                    let comments: Vec<Comment> = sqlx::query_as(COMMENTS_PG)
                        .bind(posts.iter().map(|p| p.id).collect::<Vec<i32>>())
                        .fetch_all(&mut *c)
                        .await?;
                    Ok::<_, sqlx::Error>((users, posts, comments))
                }
                Conn::Sqlite(c) => three_queries_in_lists!(c),
                Conn::MySql(c) => three_queries_in_lists!(c),
            }
        })?;
        let mut by_post: HashMap<i32, Vec<Comment>> = HashMap::with_capacity(posts.len());
        for c in comments {
            by_post.entry(c.post_id).or_default().push(c);
        }
        let mut by_user: HashMap<i32, Vec<(Post, Vec<Comment>)>> =
            HashMap::with_capacity(users.len());
        for p in posts {
            let cs = by_post.remove(&p.id).unwrap_or_default();
            by_user.entry(p.user_id).or_default().push((p, cs));
        }
        Ok(users
            .into_iter()
            .map(|u| {
                let ps = by_user.remove(&u.id).unwrap_or_default();
                (u, ps)
            })
            .collect())
    }

    fn user_row(u: &User) -> UserRow {
        (u.id, u.name.clone(), u.hair_color.clone())
    }

    fn post_row(p: &Post) -> PostRow {
        (p.id, p.user_id, p.title.clone(), p.body.clone())
    }

    fn inserted_keys(keys: &Vec<i32>) -> Vec<i32> {
        keys.clone()
    }

    fn tree_rows(tree: &Self::Tree) -> Vec<TreeRow> {
        nested_rows(tree, Self::user_row, Self::post_row, |c| {
            (c.id, c.post_id, c.text.clone())
        })
    }
}
