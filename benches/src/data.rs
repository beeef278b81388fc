//! The suite's data as SQL statements: the tables, `N` users, and
//! loading_associations' tree. [`Fixture`](crate::Fixture) runs them on both of its
//! sides, and a program that holds a copy of its own (another library's connection to
//! an in-memory SQLite database) can replay the same statements.
//!
//! ```
//! use quarry::{Database, Executor, Model};
//! use quarry_benches::models::User;
//! let db = Database::connect("sqlite::memory:")?;
//! for sql in quarry_benches::data::users(db.dialect(), 3, true) {
//!     db.execute_raw(&sql, &[])?;
//! }
//! assert_eq!(User::objects().count(&db)?, 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::models::{user_fields, Comment, Post, User};
use quarry::sql::Dialect;
use quarry::Model;

/// `DROP TABLE IF EXISTS` and `CREATE TABLE` for the three tables, empty.
pub fn reset(dialect: &dyn Dialect) -> Vec<String> {
    let mut out: Vec<String> = ["comments", "posts", "users"]
        .iter()
        .map(|t| format!("DROP TABLE IF EXISTS {t}"))
        .collect();
    for meta in [User::meta(), Post::meta(), Comment::meta()] {
        out.extend(quarry::schema::create_table_sql(meta, dialect));
    }
    out
}

/// Multi-row `INSERT`s of `rows` in chunks of 500.
fn insert_chunks(out: &mut Vec<String>, head: &str, rows: &[String]) {
    for chunk in rows.chunks(500) {
        out.push(format!("{head} VALUES {}", chunk.join(", ")));
    }
}

/// Fresh tables holding `n` users named `"User {i}"`; `coloured` gives them
/// alternating hair colours, otherwise NULL.
pub fn users(dialect: &dyn Dialect, n: usize, coloured: bool) -> Vec<String> {
    let mut out = reset(dialect);
    let rows: Vec<String> = (0..n)
        .map(|i| {
            let (name, colour) = user_fields(i, coloured);
            let colour = colour.map_or("NULL".to_owned(), |c| format!("'{c}'"));
            format!("('{name}', {colour})")
        })
        .collect();
    insert_chunks(&mut out, "INSERT INTO users (name, hair_color)", &rows);
    out
}

/// loading_associations' data on fresh tables: `users_n` users with alternating hair
/// colours, `posts` posts each, `comments` comments per post. Keys are assigned in
/// insertion order from 1 on every backend.
pub fn associations(
    dialect: &dyn Dialect,
    users_n: usize,
    posts: usize,
    comments: usize,
) -> Vec<String> {
    let mut out = users(dialect, users_n, true);
    let post_rows: Vec<String> = (0..users_n * posts)
        .map(|i| {
            let uid = i / posts + 1;
            format!("({uid}, 'Post {i} by user {uid}', NULL)")
        })
        .collect();
    insert_chunks(
        &mut out,
        "INSERT INTO posts (user_id, title, body)",
        &post_rows,
    );
    let comment_rows: Vec<String> = (0..users_n * posts * comments)
        .map(|i| {
            let pid = i / comments + 1;
            format!("({pid}, 'Comment {i} on post {pid}')")
        })
        .collect();
    insert_chunks(
        &mut out,
        "INSERT INTO comments (post_id, text)",
        &comment_rows,
    );
    out
}
