//! `Database`, the handle users connect with, and `Transaction`, what `atomic` hands out.

use super::{config_error, Executor, Row};
use crate::error::{Error, Result};
use crate::sql::Dialect;
use crate::value::Value;
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// A backend connection. Each backend module provides one.
enum Conn {
    #[cfg(feature = "sqlite")]
    Sqlite(super::sqlite::SqliteConn),
}

impl Conn {
    fn dialect(&self) -> &'static dyn Dialect {
        match self {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(c) => c.dialect(),
        }
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        match self {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(c) => c.execute(sql, params),
        }
    }

    fn execute_batch(&self, sql: &str) -> Result<()> {
        match self {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(c) => c.execute_batch(sql),
        }
    }

    fn query(
        &self,
        sql: &str,
        params: &[Value],
        each: &mut dyn FnMut(&dyn Row) -> Result<()>,
    ) -> Result<()> {
        match self {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(c) => c.query(sql, params, each),
        }
    }
}

struct Inner {
    conn: Mutex<Conn>,
    dialect: &'static dyn Dialect,
    /// The thread holding the connection for an `atomic` block (0: none).
    atomic_owner: AtomicU64,
    url: String,
}

fn thread_token() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local!(static TOKEN: u64 = NEXT.fetch_add(1, Ordering::Relaxed));
    TOKEN.with(|t| *t)
}

/// A database handle: `Send + Sync` and cheap to clone.
///
/// Connect with a URL: `sqlite::memory:`, `sqlite://path/to/file.db`.
///
/// ```
/// use quarry::Database;
/// let db = Database::connect("sqlite::memory:")?;
/// db.execute_raw("CREATE TABLE t (x integer)", &[])?;
/// assert_eq!(db.execute_raw("INSERT INTO t VALUES (1), (2)", &[])?, 2);
/// # Ok::<(), quarry::Error>(())
/// ```
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("url", &self.inner.url)
            .finish()
    }
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Database>();
};

impl Database {
    /// Opens a database by URL.
    ///
    /// ```
    /// let err = quarry::Database::connect("oracle://x").unwrap_err();
    /// assert!(err.to_string().contains("sqlite::memory:"));
    /// ```
    pub fn connect(url: &str) -> Result<Database> {
        let conn = if url == "sqlite::memory:" || url == "sqlite://:memory:" {
            open_sqlite(":memory:")?
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(config_error(
                    "sqlite:// needs a path: sqlite://path/to/file.db, or sqlite::memory:",
                ));
            }
            open_sqlite(path)?
        } else {
            return Err(config_error(format!(
                "cannot open '{url}': quarry understands sqlite::memory: and \
                 sqlite://path/to/file.db (postgres:// and mysql:// arrive with their backends)"
            )));
        };
        let dialect = conn.dialect();
        Ok(Database {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                dialect,
                atomic_owner: AtomicU64::new(0),
                url: url.to_owned(),
            }),
        })
    }

    /// The URL this handle was opened with.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    fn lock(&self) -> Result<MutexGuard<'_, Conn>> {
        if self.inner.atomic_owner.load(Ordering::Acquire) == thread_token() {
            return Err(Error::invalid(
                "this thread is inside Database::atomic(): run statements on the transaction \
                 handle the closure receives (`tx`), not on the Database",
            ));
        }
        Ok(self.inner.conn.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Runs raw SQL that returns no rows, with bound parameters; returns rows changed.
    pub fn execute_raw(&self, sql: &str, params: &[Value]) -> Result<u64> {
        self.execute(sql, params)
    }

    /// Runs `f` inside a transaction: committed when `f` returns `Ok`, rolled back, with
    /// every write undone, when it returns `Err`. Inside, `tx.atomic` nests as a savepoint.
    ///
    /// ```
    /// use quarry::{Database, Error};
    /// let db = Database::connect("sqlite::memory:")?;
    /// db.execute_raw("CREATE TABLE t (x integer)", &[])?;
    /// let failed: Result<(), Error> = db.atomic(|tx| {
    ///     tx.execute_raw("INSERT INTO t VALUES (1)", &[])?;
    ///     tx.execute_raw("INSERT INTO nope VALUES (1)", &[])?; // fails
    ///     Ok(())
    /// });
    /// assert!(failed.is_err());
    /// let mut n = 0;
    /// db.query_raw("SELECT COUNT(*) FROM t", &[], |row| { n = row.get_i64(0)?; Ok(()) })?;
    /// assert_eq!(n, 0); // the first insert was rolled back
    /// # Ok::<(), Error>(())
    /// ```
    pub fn atomic<R>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<R>) -> Result<R> {
        let guard = self.lock()?;
        let owner = &self.inner.atomic_owner;
        owner.store(thread_token(), Ordering::Release);
        struct Release<'a>(&'a AtomicU64);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                self.0.store(0, Ordering::Release);
            }
        }
        let _release = Release(owner);
        guard.execute_batch("BEGIN")?;
        // Rolls back unless disarmed by a COMMIT: on `Err`, and on a panic in `f`.
        let mut undo = Undo {
            conn: &guard,
            sql: "ROLLBACK".into(),
        };
        let tx = Transaction {
            conn: &guard,
            depth: Cell::new(0),
        };
        let r = f(&tx)?;
        guard.execute_batch("COMMIT")?;
        undo.sql.clear();
        Ok(r)
    }

    /// Runs a raw query, calling `each` for every row.
    pub fn query_raw(
        &self,
        sql: &str,
        params: &[Value],
        mut each: impl FnMut(&dyn Row) -> Result<()>,
    ) -> Result<()> {
        self.query(sql, params, &mut each)
    }
}

#[cfg(feature = "sqlite")]
fn open_sqlite(path: &str) -> Result<Conn> {
    Ok(Conn::Sqlite(super::sqlite::SqliteConn::open(path)?))
}

#[cfg(not(feature = "sqlite"))]
fn open_sqlite(_: &str) -> Result<Conn> {
    Err(config_error(
        "quarry was built without the `sqlite` feature",
    ))
}

impl Executor for Database {
    fn dialect(&self) -> &'static dyn Dialect {
        self.inner.dialect
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        self.lock()?.execute(sql, params)
    }

    fn query(
        &self,
        sql: &str,
        params: &[Value],
        each: &mut dyn FnMut(&dyn Row) -> Result<()>,
    ) -> Result<()> {
        self.lock()?.query(sql, params, each)
    }

    fn atomic_dyn(&self, f: &mut dyn FnMut(&dyn Executor) -> Result<()>) -> Result<()> {
        self.atomic(|tx| f(tx))
    }
}

/// Undoes an open transaction or savepoint when dropped armed (non-empty `sql`): on an
/// error returned by the block, and on a panic inside it.
struct Undo<'c> {
    conn: &'c Conn,
    sql: String,
}

impl Drop for Undo<'_> {
    fn drop(&mut self) {
        if !self.sql.is_empty() {
            // The block's own error (or panic) matters more than a failed rollback.
            let _ = self.conn.execute_batch(&self.sql);
        }
    }
}

/// A transaction in progress, handed to the closure of [`Database::atomic`].
///
/// Run statements on it like on a `Database`; `tx.atomic(...)` opens a savepoint.
pub struct Transaction<'c> {
    conn: &'c Conn,
    depth: Cell<u32>,
}

impl Transaction<'_> {
    /// A nested atomic block: a savepoint, released on `Ok`, rolled back to on `Err`.
    pub fn atomic<R>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<R>) -> Result<R> {
        let depth = self.depth.get() + 1;
        let name = format!("quarry_sp_{depth}");
        self.conn.execute_batch(&format!("SAVEPOINT {name}"))?;
        let mut undo = Undo {
            conn: self.conn,
            sql: format!("ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}"),
        };
        let inner = Transaction {
            conn: self.conn,
            depth: Cell::new(depth),
        };
        let r = f(&inner)?;
        self.conn
            .execute_batch(&format!("RELEASE SAVEPOINT {name}"))?;
        undo.sql.clear();
        Ok(r)
    }

    /// Runs raw SQL that returns no rows; returns rows changed.
    pub fn execute_raw(&self, sql: &str, params: &[Value]) -> Result<u64> {
        self.conn.execute(sql, params)
    }
}

impl Executor for Transaction<'_> {
    fn dialect(&self) -> &'static dyn Dialect {
        self.conn.dialect()
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        self.conn.execute(sql, params)
    }

    fn query(
        &self,
        sql: &str,
        params: &[Value],
        each: &mut dyn FnMut(&dyn Row) -> Result<()>,
    ) -> Result<()> {
        self.conn.query(sql, params, each)
    }

    fn atomic_dyn(&self, f: &mut dyn FnMut(&dyn Executor) -> Result<()>) -> Result<()> {
        self.atomic(|tx| f(tx))
    }
}
