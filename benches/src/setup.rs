//! Connections and data: one raw connection and one quarry [`Database`] (pool of one)
//! per backend, over the same tables.

use crate::models::{user_fields, Comment, Post, User};
use crate::raw::RawConn;
use quarry::{Database, Executor, Model, PoolOptions};

/// A database the suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in memory (the raw side and quarry each hold their own copy of the data).
    Sqlite,
    /// PostgreSQL, schema `quarry_bench` (from `QUARRY_POSTGRES_URL`).
    Postgres,
    /// MariaDB/MySQL, database `quarry_bench` (from `QUARRY_MYSQL_URL`).
    Mysql,
}

impl Backend {
    /// Every backend, in report order.
    pub const ALL: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::Mysql];

    /// The name used in `QUARRY_BENCH_DATABASES` and in the report.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::Mysql => "mysql",
        }
    }

    /// The backend called `name`.
    pub fn from_name(name: &str) -> Option<Backend> {
        Backend::ALL.into_iter().find(|b| b.name() == name)
    }
}

/// The schema (PostgreSQL) or database (MariaDB) the benchmarks use.
pub const SCRATCH: &str = "quarry_bench";

fn env_url(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

/// One backend's two sides: the raw driver and quarry.
pub struct Fixture {
    /// Which backend.
    pub backend: Backend,
    /// quarry's handle, a pool of exactly one connection.
    pub db: Database,
    /// The raw driver's connection.
    pub raw: RawConn,
    /// The statement that drops the scratch schema or database, and where to run it.
    drop_scratch: Option<(Database, String)>,
}

type BoxError = Box<dyn std::error::Error>;

impl Fixture {
    /// Connects both sides in [`SCRATCH`]; a server that cannot be reached is an error,
    /// never a skip.
    pub fn open(backend: Backend) -> Result<Fixture, BoxError> {
        Fixture::open_in(backend, SCRATCH)
    }

    /// Connects both sides in the schema or database `scratch`, created if missing.
    pub fn open_in(backend: Backend, scratch: &str) -> Result<Fixture, BoxError> {
        let one = PoolOptions::new().max_size(1);
        let mut drop_scratch = None;
        let (db, raw) = match backend {
            Backend::Sqlite => (
                Database::connect("sqlite::memory:")?,
                RawConn::sqlite(rusqlite::Connection::open_in_memory()?),
            ),
            Backend::Postgres => {
                let base = env_url(
                    "QUARRY_POSTGRES_URL",
                    "postgres://postgres@127.0.0.1:5432/test",
                );
                let admin = Database::connect(&base)?;
                admin.execute_raw(&format!("CREATE SCHEMA IF NOT EXISTS {scratch}"), &[])?;
                drop_scratch = Some((admin, format!("DROP SCHEMA {scratch} CASCADE")));
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-c%20search_path%3D{scratch}");
                (
                    Database::connect_with(&url, one)?,
                    RawConn::postgres(postgres::Client::connect(&url, postgres::NoTls)?),
                )
            }
            Backend::Mysql => {
                let base = env_url("QUARRY_MYSQL_URL", "mysql://root@127.0.0.1:3306/test");
                let admin = Database::connect(&base)?;
                admin.execute_raw(&format!("CREATE DATABASE IF NOT EXISTS {scratch}"), &[])?;
                drop_scratch = Some((admin, format!("DROP DATABASE {scratch}")));
                let url = match base.rfind('/') {
                    Some(i) => format!("{}/{scratch}", &base[..i]),
                    None => base.clone(),
                };
                let opts = mysql::Opts::from_url(&url)?;
                (
                    Database::connect_with(&url, one)?,
                    RawConn::mysql(mysql::Conn::new(opts)?),
                )
            }
        };
        Ok(Fixture {
            backend,
            db,
            raw,
            drop_scratch,
        })
    }

    /// Closes both sides and drops the scratch schema or database.
    pub fn destroy(self) -> Result<(), BoxError> {
        let Fixture {
            db,
            raw,
            drop_scratch,
            ..
        } = self;
        drop((db, raw));
        if let Some((admin, sql)) = drop_scratch {
            admin.execute_raw(&sql, &[])?;
        }
        Ok(())
    }

    /// True when the raw side and quarry hold separate copies of the data.
    fn separate(&self) -> bool {
        self.backend == Backend::Sqlite
    }

    /// Runs `sql` on both sides (once when they share a database).
    pub fn run_sql(&mut self, sql: &str) -> Result<(), BoxError> {
        self.db.execute_raw(sql, &[])?;
        if self.separate() {
            self.raw.batch(sql)?;
        }
        Ok(())
    }

    /// Drops and recreates the tables, empty.
    pub fn reset(&mut self) -> Result<(), BoxError> {
        let dialect = self.db.dialect();
        for table in ["comments", "posts", "users"] {
            self.run_sql(&format!("DROP TABLE IF EXISTS {table}"))?;
        }
        for meta in [User::meta(), Post::meta(), Comment::meta()] {
            for sql in quarry::schema::create_table_sql(meta, dialect) {
                self.run_sql(&sql)?;
            }
        }
        Ok(())
    }

    /// loading_associations' data: `users` users with alternating hair colours,
    /// `posts` posts each, `comments` comments per post.
    pub fn load_associations(
        &mut self,
        users: usize,
        posts: usize,
        comments: usize,
    ) -> Result<(), BoxError> {
        self.load_users(users, true)?;
        // Keys are assigned in insertion order from 1 on every backend (fresh tables).
        let post_rows: Vec<String> = (0..users * posts)
            .map(|i| {
                let uid = i / posts + 1;
                format!("({uid}, 'Post {i} by user {uid}', NULL)")
            })
            .collect();
        for chunk in post_rows.chunks(500) {
            self.run_sql(&format!(
                "INSERT INTO posts (user_id, title, body) VALUES {}",
                chunk.join(", ")
            ))?;
        }
        let comment_rows: Vec<String> = (0..users * posts * comments)
            .map(|i| {
                let pid = i / comments + 1;
                format!("({pid}, 'Comment {i} on post {pid}')")
            })
            .collect();
        for chunk in comment_rows.chunks(500) {
            self.run_sql(&format!(
                "INSERT INTO comments (post_id, text) VALUES {}",
                chunk.join(", ")
            ))?;
        }
        Ok(())
    }

    /// Empty tables holding `n` users, named `"User {i}"`; `coloured` gives them
    /// alternating hair colours, otherwise NULL.
    pub fn load_users(&mut self, n: usize, coloured: bool) -> Result<(), BoxError> {
        self.reset()?;
        let rows: Vec<String> = (0..n)
            .map(|i| {
                let (name, colour) = user_fields(i, coloured);
                let colour = colour.map_or("NULL".to_owned(), |c| format!("'{c}'"));
                format!("('{name}', {colour})")
            })
            .collect();
        for chunk in rows.chunks(500) {
            self.run_sql(&format!(
                "INSERT INTO users (name, hair_color) VALUES {}",
                chunk.join(", ")
            ))?;
        }
        Ok(())
    }
}
