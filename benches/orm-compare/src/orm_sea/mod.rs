//! SeaORM's side: entities, `find().all`, `find_also_related` (a LEFT JOIN into pairs),
//! `insert_many(..).exec_with_returning_keys`, and `LoaderTrait::load_many` for the
//! associations (three queries).
//!
//! SeaORM is async: the side owns a current-thread tokio runtime and runs each call in
//! `block_on` on the benchmark's thread. Its `DatabaseConnection` is the sqlx pool that
//! `Database::connect` builds with SeaORM's defaults: sqlx's statement cache, and a ping
//! of the connection on every acquire (`test_before_acquire`, on by default).

pub mod entities;

use crate::side::{nested_rows, new_users, Nested, Orm, PostRow, TreeRow, UserRow};
use entities::{comment, post, user};
use quarry_benches::harness::BoxError;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DbBackend, EntityTrait, LoaderTrait, QueryFilter,
};
use tokio::runtime::Runtime;

/// SeaORM's side of the workloads.
pub struct SeaOrmSide {
    rt: Runtime,
    db: DatabaseConnection,
}

impl SeaOrmSide {
    /// Connects to `url` (`sqlite::memory:`, `postgres://…`, `mysql://…`) with
    /// SeaORM's default options. An in-memory SQLite database lives as long as its
    /// connection, so there the pool (one connection, SeaORM's default for SQLite) never
    /// closes it for being idle or old. With `ORM_COMPARE_SEAORM_NO_PING` set, the pool
    /// does not ping the connection on every acquire (SeaORM's default does).
    pub fn connect(url: &str) -> Result<SeaOrmSide, BoxError> {
        let rt = crate::runtime()?;
        let mut options = ConnectOptions::new(url);
        if url.starts_with("sqlite:") {
            options.idle_timeout(None).max_lifetime(None);
        }
        // A diagnostic, off by default: how much of SeaORM's cost is the ping.
        if std::env::var_os("ORM_COMPARE_SEAORM_NO_PING").is_some() {
            options.test_before_acquire(false);
        }
        let db = rt.block_on(Database::connect(options))?;
        Ok(SeaOrmSide { rt, db })
    }
}

impl Orm for SeaOrmSide {
    type User = user::Model;
    type Post = post::Model;
    type Inserted = Vec<i32>;
    type Tree = Nested<user::Model, post::Model, comment::Model>;

    fn run_sql(&mut self, sql: &str) -> Result<(), BoxError> {
        self.rt.block_on(self.db.execute_unprepared(sql))?;
        Ok(())
    }

    fn users(&mut self) -> Result<Vec<user::Model>, BoxError> {
        Ok(self.rt.block_on(user::Entity::find().all(&self.db))?)
    }

    fn medium(&mut self) -> Result<Vec<(user::Model, Option<post::Model>)>, BoxError> {
        Ok(self.rt.block_on(
            user::Entity::find()
                .filter(user::Column::HairColor.eq("black"))
                .find_also_related(post::Entity)
                .all(&self.db),
        )?)
    }

    /// `exec_with_returning_keys` where SeaORM writes RETURNING; on MySQL/MariaDB,
    /// where it does not, `exec`, which reads `LAST_INSERT_ID()` (the batch's first key:
    /// InnoDB gives a multi-row INSERT consecutive keys).
    fn insert(&mut self, n: usize) -> Result<Vec<i32>, BoxError> {
        let rows = new_users(n).map(|(name, hair_color)| user::ActiveModel {
            name: Set(name),
            hair_color: Set(hair_color),
            ..Default::default()
        });
        let insert = user::Entity::insert_many(rows);
        if self.db.get_database_backend() == DbBackend::MySql {
            let first = self
                .rt
                .block_on(insert.exec(&self.db))?
                .last_insert_id
                .ok_or("insert_many inserted nothing")?;
            return Ok((first..).take(n).collect());
        }
        Ok(self
            .rt
            .block_on(insert.exec_with_returning_keys(&self.db))?)
    }

    fn associations(&mut self) -> Result<Self::Tree, BoxError> {
        let db = &self.db;
        let tree = self.rt.block_on(async {
            let users = user::Entity::find().all(db).await?;
            let posts = users.load_many(post::Entity, db).await?;
            // The posts of every user in one list (moved, not cloned) for the next load.
            let counts: Vec<usize> = posts.iter().map(Vec::len).collect();
            let posts: Vec<post::Model> = posts.into_iter().flatten().collect();
            let comments = posts.load_many(comment::Entity, db).await?;
            let mut posts = posts.into_iter().zip(comments);
            Ok::<_, sea_orm::DbErr>(
                users
                    .into_iter()
                    .zip(counts)
                    .map(|(u, k)| (u, posts.by_ref().take(k).collect()))
                    .collect(),
            )
        })?;
        Ok(tree)
    }

    fn user_row(u: &user::Model) -> UserRow {
        (u.id, u.name.clone(), u.hair_color.clone())
    }

    fn post_row(p: &post::Model) -> PostRow {
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
