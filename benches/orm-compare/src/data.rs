//! The fixture's data as SQL statements, for the sides that hold their own copy of it
//! (every library but quarry on SQLite, where each connection has its own in-memory
//! database).
//!
//! `quarry_benches::Fixture` loads the raw side and quarry; it runs these statements
//! through a private helper, so they are written out again here, in the same order and
//! with the same values. The correctness check before every timing compares each
//! side's rows with the raw side's, so a drift between the two would stop the run.

use quarry::sql::Dialect;
use quarry::Model;
use quarry_benches::models::{user_fields, Comment, Post, User};

/// `DROP TABLE IF EXISTS` and `CREATE TABLE` for the three tables: `Fixture::reset`.
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

/// Multi-row `INSERT`s of `rows` in chunks of 500, as the fixture writes them.
fn insert_chunks(out: &mut Vec<String>, head: &str, rows: &[String]) {
    for chunk in rows.chunks(500) {
        out.push(format!("{head} VALUES {}", chunk.join(", ")));
    }
}

/// Fresh tables holding `n` users: `Fixture::load_users`.
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

/// loading_associations' data: `Fixture::load_associations`.
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
