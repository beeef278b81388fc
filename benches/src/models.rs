//! The benchmark's tables as quarry models.

use quarry::prelude::*;

/// `users(id serial pk, name varchar not null, hair_color varchar null)`.
#[derive(Model, Debug, Clone, PartialEq)]
#[model(db_table = "users", app_label = "bench")]
pub struct User {
    /// Serial primary key.
    #[field(primary_key)]
    pub id: i32,
    /// `"User {i}"`.
    #[field(max_length = 255)]
    pub name: String,
    /// NULL, `"black"` or `"brown"`.
    #[field(max_length = 255)]
    pub hair_color: Option<String>,
    /// quarry's instance state.
    pub _state: ModelState,
}

impl User {
    /// A new, unsaved user.
    pub fn new(name: String, hair_color: Option<String>) -> User {
        User {
            id: 0,
            name,
            hair_color,
            _state: ModelState::new(),
        }
    }
}

/// The user of row `i` in every workload: `"User {i}"`, with `hair_color` NULL unless
/// `coloured` (then "black" for even `i`, "brown" for odd).
pub fn user_fields(i: usize, coloured: bool) -> (String, Option<String>) {
    let colour = coloured.then(|| {
        if i.is_multiple_of(2) {
            "black"
        } else {
            "brown"
        }
        .to_owned()
    });
    (format!("User {i}"), colour)
}

/// `posts(id serial pk, user_id int not null, title varchar not null, body text null)`.
#[derive(Model, Debug, Clone, PartialEq)]
#[model(db_table = "posts", app_label = "bench")]
pub struct Post {
    /// Serial primary key.
    #[field(primary_key)]
    pub id: i32,
    /// The author.
    #[field(on_delete = Cascade, related_name = "posts")]
    pub user: ForeignKey<User>,
    /// `"Post {i} by user {uid}"`.
    #[field(max_length = 255)]
    pub title: String,
    /// NULL-able text.
    pub body: Option<String>,
    /// quarry's instance state.
    pub _state: ModelState,
}

/// `comments(id serial pk, post_id int not null, text text not null)`.
#[derive(Model, Debug, Clone, PartialEq)]
#[model(db_table = "comments", app_label = "bench")]
pub struct Comment {
    /// Serial primary key.
    #[field(primary_key)]
    pub id: i32,
    /// The post commented on.
    #[field(on_delete = Cascade, related_name = "comments")]
    pub post: ForeignKey<Post>,
    /// `"Comment {i} on post {pid}"`.
    pub text: String,
    /// quarry's instance state.
    pub _state: ModelState,
}

/// The columns of medium_complex_query, read the same way by both sides: a user's and,
/// through the LEFT OUTER JOIN, its post's (all NULL for a user without posts).
pub type MediumColumns = (
    i32,
    String,
    Option<String>,
    Option<i32>,
    Option<i32>,
    Option<String>,
    Option<String>,
);
