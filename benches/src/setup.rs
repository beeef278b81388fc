//! Connections and data: one raw connection and one quarry [`Database`] (pool of one)
//! per backend, over the same tables.

use crate::data;
use crate::raw::RawConn;
use quarry::{Database, Executor, PoolOptions};

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
        self.replay(data::reset(self.db.dialect()))
    }

    /// loading_associations' data: `users` users with alternating hair colours,
    /// `posts` posts each, `comments` comments per post.
    pub fn load_associations(
        &mut self,
        users: usize,
        posts: usize,
        comments: usize,
    ) -> Result<(), BoxError> {
        self.replay(data::associations(
            self.db.dialect(),
            users,
            posts,
            comments,
        ))
    }

    /// Empty tables holding `n` users, named `"User {i}"`; `coloured` gives them
    /// alternating hair colours, otherwise NULL.
    pub fn load_users(&mut self, n: usize, coloured: bool) -> Result<(), BoxError> {
        self.replay(data::users(self.db.dialect(), n, coloured))
    }

    /// Runs each statement on both sides.
    fn replay(&mut self, statements: Vec<String>) -> Result<(), BoxError> {
        statements.iter().try_for_each(|sql| self.run_sql(sql))
    }
}
