//! Diesel's side: `table!` schema, `Queryable`/`Selectable` models, `load`,
//! `belonging_to` + `grouped_by`, and `insert_into(..).values(&vec).returning(..)`.
//!
//! One connection per backend, held in [`Conn`]; each query is written once and expanded
//! for each connection type by [`on_conn`]. Diesel caches the prepared statement of every
//! query whose SQL cannot vary (its default), which leaves out queries with an IN list
//! of bound values and batch inserts from a `Vec`.

use crate::side::{nested_rows, new_users, Nested, Orm, PostRow, TreeRow, UserRow};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use quarry_benches::harness::BoxError;

/// The tables, as quarry creates them.
pub mod schema {
    diesel::table! {
        /// `users`.
        users (id) {
            /// Key.
            id -> Integer,
            /// `varchar(255)`.
            name -> Varchar,
            /// `varchar(255) NULL`.
            hair_color -> Nullable<Varchar>,
        }
    }

    diesel::table! {
        /// `posts`.
        posts (id) {
            /// Key.
            id -> Integer,
            /// The author.
            user_id -> Integer,
            /// `varchar(255)`.
            title -> Varchar,
            /// `text NULL`.
            body -> Nullable<Text>,
        }
    }

    diesel::table! {
        /// `comments`.
        comments (id) {
            /// Key.
            id -> Integer,
            /// The post.
            post_id -> Integer,
            /// `text`.
            text -> Text,
        }
    }

    diesel::joinable!(posts -> users (user_id));
    diesel::joinable!(comments -> posts (post_id));
    diesel::allow_tables_to_appear_in_same_query!(users, posts, comments);
}

use schema::{comments, posts, users};

/// A user row.
#[derive(Queryable, Selectable, Identifiable, Debug, Clone, PartialEq)]
#[diesel(table_name = users)]
pub struct User {
    /// Key.
    pub id: i32,
    /// Name.
    pub name: String,
    /// Hair colour.
    pub hair_color: Option<String>,
}

/// A post row.
#[derive(Queryable, Selectable, Identifiable, Associations, Debug, Clone, PartialEq)]
#[diesel(belongs_to(User))]
#[diesel(table_name = posts)]
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
#[derive(Queryable, Selectable, Identifiable, Associations, Debug, Clone, PartialEq)]
#[diesel(belongs_to(Post))]
#[diesel(table_name = comments)]
pub struct Comment {
    /// Key.
    pub id: i32,
    /// The post's key.
    pub post_id: i32,
    /// Text.
    pub text: String,
}

/// A user to insert. `None` is written as NULL rather than DEFAULT: with a defaultable
/// column Diesel cannot put a `Vec` of rows into one INSERT on SQLite, and runs one
/// INSERT per row in a transaction instead.
#[derive(Insertable, Debug)]
#[diesel(table_name = users)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewUser {
    /// Name.
    pub name: String,
    /// Hair colour.
    pub hair_color: Option<String>,
}

/// Diesel's connection on one backend.
pub enum Conn {
    /// `SqliteConnection` (its own in-memory database).
    Sqlite(SqliteConnection),
    /// `PgConnection` (libpq).
    Pg(PgConnection),
}

/// Diesel's side of the workloads.
pub struct DieselSide {
    conn: Conn,
}

/// Evaluates `$body` with `$c` bound to the connection, whichever backend it is on.
macro_rules! on_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            Conn::Sqlite($c) => $body,
            Conn::Pg($c) => $body,
        }
    };
}

impl DieselSide {
    /// An in-memory SQLite database.
    pub fn sqlite() -> Result<DieselSide, BoxError> {
        Ok(DieselSide {
            conn: Conn::Sqlite(SqliteConnection::establish(":memory:")?),
        })
    }

    /// A PostgreSQL connection to `url` (a libpq URI; its `options` set the search path).
    pub fn postgres(url: &str) -> Result<DieselSide, BoxError> {
        Ok(DieselSide {
            conn: Conn::Pg(PgConnection::establish(url)?),
        })
    }
}

impl Orm for DieselSide {
    type User = User;
    type Post = Post;
    type Inserted = Vec<i32>;
    type Tree = Nested<User, Post, Comment>;

    fn run_sql(&mut self, sql: &str) -> Result<(), BoxError> {
        on_conn!(&mut self.conn, c => c.batch_execute(sql))?;
        Ok(())
    }

    fn users(&mut self) -> Result<Vec<User>, BoxError> {
        Ok(on_conn!(&mut self.conn, c => users::table.select(User::as_select()).load(c))?)
    }

    fn medium(&mut self) -> Result<Vec<(User, Option<Post>)>, BoxError> {
        Ok(on_conn!(&mut self.conn, c => users::table
            .left_join(posts::table)
            .filter(users::hair_color.eq("black"))
            .select((User::as_select(), Option::<Post>::as_select()))
            .load(c))?)
    }

    fn insert(&mut self, n: usize) -> Result<Vec<i32>, BoxError> {
        let rows: Vec<NewUser> = new_users(n)
            .map(|(name, hair_color)| NewUser { name, hair_color })
            .collect();
        Ok(
            on_conn!(&mut self.conn, c => diesel::insert_into(users::table)
            .values(&rows)
            .returning(users::id)
            .get_results(c))?,
        )
    }

    fn associations(&mut self) -> Result<Self::Tree, BoxError> {
        on_conn!(&mut self.conn, c => {
            let users = users::table.select(User::as_select()).load(c)?;
            let posts = Post::belonging_to(&users)
                .select(Post::as_select())
                .load(c)?;
            let comments = Comment::belonging_to(&posts)
                .select(Comment::as_select())
                .load(c)?
                .grouped_by(&posts);
            let posts = posts.into_iter().zip(comments).grouped_by(&users);
            Ok(users.into_iter().zip(posts).collect())
        })
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
