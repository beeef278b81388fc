//! quarry's side: the functions of `quarry_benches::workloads`, as the suite runs them.

use crate::side::{Orm, PostRow, TreeRow, UserRow};
use quarry::Database;
use quarry_benches::harness::BoxError;
use quarry_benches::models::{Comment, Post, User};
use quarry_benches::workloads;

/// quarry's side of the workloads, on the fixture's `Database` (a pool of one).
pub struct QuarrySide {
    db: Database,
}

impl QuarrySide {
    /// quarry on the fixture's database handle.
    pub fn new(db: Database) -> QuarrySide {
        QuarrySide { db }
    }
}

impl Orm for QuarrySide {
    type User = User;
    type Post = Post;
    type Inserted = Vec<User>;
    type Tree = Vec<User>;

    fn run_sql(&mut self, sql: &str) -> Result<(), BoxError> {
        self.db.execute_raw(sql, &[])?;
        Ok(())
    }

    fn users(&mut self) -> Result<Vec<User>, BoxError> {
        Ok(workloads::quarry_users(&self.db)?)
    }

    fn medium(&mut self) -> Result<Vec<(User, Option<Post>)>, BoxError> {
        Ok(workloads::quarry_medium(&self.db)?)
    }

    fn insert(&mut self, n: usize) -> Result<Vec<User>, BoxError> {
        Ok(workloads::quarry_insert(&self.db, n)?)
    }

    fn associations(&mut self) -> Result<Vec<User>, BoxError> {
        Ok(workloads::quarry_associations(&self.db)?)
    }

    fn user_row(u: &User) -> UserRow {
        (u.id, u.name.clone(), u.hair_color.clone())
    }

    fn post_row(p: &Post) -> PostRow {
        (p.id, *p.user.id(), p.title.clone(), p.body.clone())
    }

    fn inserted_keys(users: &Vec<User>) -> Vec<i32> {
        users.iter().map(|u| u.id).collect()
    }

    /// The posts and comments that `prefetch_related` kept on their parents (an
    /// absent prefetch reads as no children, which the check then reports).
    fn tree_rows(users: &Vec<User>) -> Vec<TreeRow> {
        users
            .iter()
            .map(|u| {
                let posts = u._state.prefetched::<Post>("posts").unwrap_or_default();
                let posts = posts
                    .iter()
                    .map(|p| {
                        let cs = p
                            ._state
                            .prefetched::<Comment>("comments")
                            .unwrap_or_default();
                        let cs = cs.iter().map(|c| (c.id, *c.post.id(), c.text.clone()));
                        (Self::post_row(p), cs.collect())
                    })
                    .collect();
                (Self::user_row(u), posts)
            })
            .collect()
    }
}
