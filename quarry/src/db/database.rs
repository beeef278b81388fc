//! `Database`, the handle users connect with, and `Transaction`, what `atomic` hands out.

use super::{config_error, ContentTypesAccess, Executor, FnSink, Row, RowSink, SqlText};
use crate::error::{Error, Result};
use crate::sql::Dialect;
use crate::value::{Bindable, Param, Value};
use std::cell::Cell;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A backend connection. Each backend module provides one.
// Connections are few and long-lived: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Conn {
    #[cfg(feature = "sqlite")]
    Sqlite(super::sqlite::SqliteConn),
    #[cfg(feature = "postgres")]
    Postgres(super::postgres::PgConn),
    #[cfg(feature = "mysql")]
    Mysql(super::mysql::MyConn),
}

macro_rules! each_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite($c) => $body,
            #[cfg(feature = "postgres")]
            Conn::Postgres($c) => $body,
            #[cfg(feature = "mysql")]
            Conn::Mysql($c) => $body,
        }
    };
}

impl Conn {
    /// Opens one connection for `url`.
    fn open(url: &str) -> Result<Conn> {
        if url == "sqlite::memory:" || url == "sqlite://:memory:" {
            return open_sqlite(":memory:");
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(config_error(
                    "sqlite:// needs a path: sqlite://path/to/file.db, or sqlite::memory:",
                ));
            }
            return open_sqlite(path);
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return open_postgres(url);
        }
        if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            return open_mysql(url);
        }
        Err(config_error(format!(
            "cannot open '{url}': quarry understands sqlite::memory:, sqlite://path/to/file.db, \
             postgres://user@host:port/db and mysql://user:password@host:port/db"
        )))
    }

    fn dialect(&self) -> &'static dyn Dialect {
        each_backend!(self, c => c.dialect())
    }

    fn is_broken(&self) -> bool {
        match self {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(_) => false,
            #[cfg(feature = "postgres")]
            Conn::Postgres(c) => c.is_broken(),
            #[cfg(feature = "mysql")]
            Conn::Mysql(c) => c.is_broken(),
        }
    }

    fn execute<P: Bindable>(&self, sql: SqlText<'_>, params: &[P]) -> Result<u64> {
        each_backend!(self, c => c.execute(sql, params))
    }

    fn execute_batch(&self, sql: &str) -> Result<()> {
        each_backend!(self, c => c.execute_batch(sql))
    }

    fn query<P: Bindable>(
        &self,
        sql: SqlText<'_>,
        params: &[P],
        sink: &mut dyn RowSink,
    ) -> Result<()> {
        each_backend!(self, c => c.query(sql, params, sink))
    }
}

#[cfg(feature = "sqlite")]
fn open_sqlite(path: &str) -> Result<Conn> {
    Ok(Conn::Sqlite(super::sqlite::SqliteConn::open(path)?))
}

#[cfg(not(feature = "sqlite"))]
fn open_sqlite(_: &str) -> Result<Conn> {
    Err(config_error(
        "quarry was built without the `sqlite` feature: enable it in Cargo.toml",
    ))
}

#[cfg(feature = "postgres")]
fn open_postgres(url: &str) -> Result<Conn> {
    Ok(Conn::Postgres(super::postgres::PgConn::open(url)?))
}

#[cfg(not(feature = "postgres"))]
fn open_postgres(_: &str) -> Result<Conn> {
    Err(config_error(
        "quarry was built without the `postgres` feature: add `features = [\"postgres\"]` \
         to the quarry dependency",
    ))
}

#[cfg(feature = "mysql")]
fn open_mysql(url: &str) -> Result<Conn> {
    let url = url.replacen("mariadb://", "mysql://", 1);
    Ok(Conn::Mysql(super::mysql::MyConn::open(&url)?))
}

#[cfg(not(feature = "mysql"))]
fn open_mysql(_: &str) -> Result<Conn> {
    Err(config_error(
        "quarry was built without the `mysql` feature: add `features = [\"mysql\"]` \
         to the quarry dependency",
    ))
}

/// Pool settings for [`Database::connect_with`].
///
/// ```
/// use std::time::Duration;
/// let opts = quarry::PoolOptions::new().max_size(4).checkout_timeout(Duration::from_secs(2));
/// assert_eq!(opts.max_size, 4);
/// ```
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Most connections open at once (an in-memory SQLite database always has one).
    pub max_size: usize,
    /// How long a checkout waits for a free connection before failing.
    pub checkout_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_size: 10,
            checkout_timeout: Duration::from_secs(30),
        }
    }
}

impl PoolOptions {
    /// The defaults: 10 connections, 30 s checkout timeout.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the largest number of open connections.
    pub fn max_size(mut self, n: usize) -> Self {
        self.max_size = n.max(1);
        self
    }
    /// Sets the checkout timeout.
    pub fn checkout_timeout(mut self, t: Duration) -> Self {
        self.checkout_timeout = t;
        self
    }
}

struct PoolState {
    /// Boxed: a checkout moves a pointer, not the connection (a `Conn` is hundreds of
    /// bytes, copied twice per query otherwise; measured by benches/).
    #[allow(clippy::vec_box)]
    idle: Vec<Box<Conn>>,
    open: usize,
}

/// The connection returned last, taken and given back without the pool's lock: one
/// atomic swap to take it, one compare-exchange and one load to give it back. A
/// program that runs one query at a time per thread never takes the lock.
///
/// No wakeup is lost: a waiter counts itself in `Inner::waiting` and then looks in the
/// slot, both under the lock; a returner fills the slot and then reads `waiting`, and
/// when it is not zero takes the lock before it notifies. All four operations are
/// `SeqCst`, so either the waiter's look sees the connection or the returner's read
/// sees the waiter, and then the waiter is already blocked on the condition variable
/// (it held the lock from its count to its wait) when the notification comes.
struct HotSlot(AtomicPtr<Conn>);

impl HotSlot {
    fn new() -> HotSlot {
        HotSlot(AtomicPtr::new(std::ptr::null_mut()))
    }

    /// The connection in the slot, which is left empty.
    #[inline]
    fn take(&self) -> Option<Box<Conn>> {
        let p = self.0.swap(std::ptr::null_mut(), Ordering::SeqCst);
        // SAFETY: a non-null pointer in the slot came from `Box::into_raw` in `put`, and
        // the swap gave it to this caller alone.
        (!p.is_null()).then(|| unsafe { Box::from_raw(p) })
    }

    /// Puts `conn` in the slot when it is empty; hands it back when it is not.
    #[inline]
    fn put(&self, conn: Box<Conn>) -> std::result::Result<(), Box<Conn>> {
        let p = Box::into_raw(conn);
        match self
            .0
            .compare_exchange(std::ptr::null_mut(), p, Ordering::SeqCst, Ordering::Relaxed)
        {
            Ok(_) => Ok(()),
            // SAFETY: `p` came from `Box::into_raw` above and was not stored.
            Err(_) => Err(unsafe { Box::from_raw(p) }),
        }
    }
}

impl Drop for HotSlot {
    fn drop(&mut self) {
        drop(self.take());
    }
}

// The slot moves connections between threads, as the lock's `Vec` did.
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<Conn>();
};

struct Inner {
    state: Mutex<PoolState>,
    available: Condvar,
    hot: HotSlot,
    /// Threads blocked in `checkout`, so that a return wakes one only when one waits.
    /// Changed under the lock, read without it by a return through the hot slot.
    waiting: AtomicUsize,
    options: PoolOptions,
    dialect: &'static dyn Dialect,
    url: String,
    /// The content types this database has answered (Django's per-database
    /// `ContentTypeManager` cache).
    content_types: crate::contenttypes::ContentTypeCache,
}

impl Inner {
    /// Gives a connection back: into the hot slot when it is empty, else to the idle
    /// list; a broken one is closed. Wakes a waiter if there is one.
    fn give_back(&self, conn: Box<Conn>) {
        let state = if conn.is_broken() {
            let mut state = self.lock();
            state.open -= 1;
            state
        } else {
            match self.hot.put(conn) {
                Ok(()) => {
                    if self.waiting.load(Ordering::SeqCst) == 0 {
                        return;
                    }
                    self.lock()
                }
                Err(conn) => {
                    let mut state = self.lock();
                    state.idle.push(conn);
                    state
                }
            }
        };
        let wake = self.waiting.load(Ordering::SeqCst) > 0;
        drop(state);
        if wake {
            self.available.notify_one();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A connection checked out of the pool; returned (or, if broken, dropped) on drop.
struct Pooled<'a> {
    conn: Option<Box<Conn>>,
    inner: &'a Inner,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn.as_ref().expect("held until drop")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.inner.give_back(conn);
        }
    }
}

thread_local! {
    /// The pools this thread holds a connection of for an `atomic` block.
    static IN_ATOMIC: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A database handle: a connection pool, `Send + Sync` and cheap to clone.
///
/// Connect with a URL: `sqlite::memory:`, `sqlite://path/to/file.db`,
/// `postgres://user@host:port/db` (feature `postgres`), `mysql://user:pw@host:port/db`
/// (feature `mysql`).
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
    /// Opens a database by URL, with the default [`PoolOptions`].
    ///
    /// ```
    /// let err = quarry::Database::connect("oracle://x").unwrap_err();
    /// assert!(err.to_string().contains("sqlite::memory:"));
    /// ```
    pub fn connect(url: &str) -> Result<Database> {
        Self::connect_with(url, PoolOptions::default())
    }

    /// Opens a database by URL with pool settings. One connection is opened at once, so
    /// a wrong URL or an unreachable server fails here.
    pub fn connect_with(url: &str, mut options: PoolOptions) -> Result<Database> {
        let first = Box::new(Conn::open(url)?);
        if url == "sqlite::memory:" || url == "sqlite://:memory:" {
            // Every connection to :memory: is a database of its own.
            options.max_size = 1;
        }
        let dialect = first.dialect();
        Ok(Database {
            inner: Arc::new(Inner {
                state: Mutex::new(PoolState {
                    idle: vec![first],
                    open: 1,
                }),
                available: Condvar::new(),
                hot: HotSlot::new(),
                waiting: AtomicUsize::new(0),
                options,
                dialect,
                url: url.to_owned(),
                content_types: Default::default(),
            }),
        })
    }

    /// The URL this handle was opened with.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// Connections open now (idle and in use).
    pub fn open_connections(&self) -> usize {
        self.inner.lock().open
    }

    fn key(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }

    /// Takes a connection: an idle one, a new one while under `max_size`, or the next
    /// one returned within the checkout timeout.
    fn checkout(&self) -> Result<Pooled<'_>> {
        if IN_ATOMIC.with(|s| s.borrow().contains(&self.key())) {
            return Err(Error::invalid(
                "this thread is inside Database::atomic(): run statements on the transaction \
                 handle the closure receives (`tx`), not on the Database",
            ));
        }
        let inner = &*self.inner;
        if let Some(conn) = inner.hot.take() {
            if !conn.is_broken() {
                return Ok(Pooled {
                    conn: Some(conn),
                    inner,
                });
            }
            inner.lock().open -= 1;
        }
        let mut deadline = None;
        let mut state = inner.lock();
        loop {
            while let Some(conn) = state.idle.pop().or_else(|| inner.hot.take()) {
                if conn.is_broken() {
                    state.open -= 1;
                    continue;
                }
                return Ok(Pooled {
                    conn: Some(conn),
                    inner,
                });
            }
            if state.open < inner.options.max_size {
                state.open += 1;
                drop(state);
                return match Conn::open(&inner.url) {
                    Ok(conn) => Ok(Pooled {
                        conn: Some(Box::new(conn)),
                        inner,
                    }),
                    Err(e) => {
                        let mut state = inner.lock();
                        state.open -= 1;
                        let wake = inner.waiting.load(Ordering::SeqCst) > 0;
                        drop(state);
                        if wake {
                            inner.available.notify_one();
                        }
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            let deadline = *deadline.get_or_insert(now + inner.options.checkout_timeout);
            if now >= deadline {
                return Err(Error::Database {
                    message: format!(
                        "no connection free within {:?}: all {} are in use; raise \
                         PoolOptions::max_size or hold connections for less time",
                        inner.options.checkout_timeout, inner.options.max_size
                    ),
                    sql_state: None,
                    sql: None,
                });
            }
            // Counted first, then one more look in the slot (see `HotSlot`): a
            // connection given back before the count went there without waking anyone.
            inner.waiting.fetch_add(1, Ordering::SeqCst);
            if let Some(conn) = inner.hot.take() {
                inner.waiting.fetch_sub(1, Ordering::SeqCst);
                state.idle.push(conn);
                continue;
            }
            state = inner
                .available
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
            inner.waiting.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Runs raw SQL that returns no rows, with bound parameters; returns rows changed.
    pub fn execute_raw(&self, sql: &str, params: &[Value]) -> Result<u64> {
        self.execute(sql, params)
    }

    /// Runs `f` inside a transaction on one connection: committed when `f` returns `Ok`,
    /// rolled back, with every write undone, when it returns `Err` or panics. Inside,
    /// `tx.atomic` nests as a savepoint.
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
        let conn = self.checkout()?;
        let key = self.key();
        IN_ATOMIC.with(|s| s.borrow_mut().push(key));
        struct Leave(usize);
        impl Drop for Leave {
            fn drop(&mut self) {
                IN_ATOMIC.with(|s| {
                    let mut s = s.borrow_mut();
                    if let Some(i) = s.iter().rposition(|k| *k == self.0) {
                        s.remove(i);
                    }
                });
            }
        }
        let _leave = Leave(key);
        conn.execute_batch("BEGIN")?;
        // Rolls back unless disarmed by a COMMIT: on `Err`, and on a panic in `f`.
        let mut undo = Undo {
            conn: &conn,
            sql: "ROLLBACK".into(),
        };
        let tx = Transaction {
            conn: &conn,
            depth: Cell::new(0),
            content_types: &self.inner.content_types,
        };
        let r = f(&tx)?;
        conn.execute_batch("COMMIT")?;
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

impl Executor for Database {
    fn dialect(&self) -> &'static dyn Dialect {
        self.inner.dialect
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        self.checkout()?.execute(sql.into(), params)
    }

    fn query(
        &self,
        sql: &str,
        params: &[Value],
        each: &mut dyn FnMut(&dyn Row) -> Result<()>,
    ) -> Result<()> {
        self.checkout()?
            .query(sql.into(), params, &mut FnSink(each))
    }

    fn execute_params(&self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        self.checkout()?.execute(sql.into(), params)
    }

    fn query_params(
        &self,
        sql: &str,
        params: &[Param<'_>],
        each: &mut dyn FnMut(&dyn Row) -> Result<()>,
    ) -> Result<()> {
        self.checkout()?
            .query(sql.into(), params, &mut FnSink(each))
    }

    fn execute_sql(&self, sql: SqlText<'_>, params: &[Param<'_>]) -> Result<u64> {
        self.checkout()?.execute(sql, params)
    }

    fn query_sql(
        &self,
        sql: SqlText<'_>,
        params: &[Param<'_>],
        sink: &mut dyn RowSink,
    ) -> Result<()> {
        self.checkout()?.query(sql, params, sink)
    }

    fn atomic_dyn(&self, f: &mut dyn FnMut(&dyn Executor) -> Result<()>) -> Result<()> {
        self.atomic(|tx| f(tx))
    }

    fn content_types(&self) -> Option<ContentTypesAccess<'_>> {
        Some(ContentTypesAccess {
            cache: &self.inner.content_types,
            may_store: true,
        })
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
    content_types: &'c crate::contenttypes::ContentTypeCache,
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
            content_types: self.content_types,
        };
        let r = f(&inner)?;
        self.conn
            .execute_batch(&format!("RELEASE SAVEPOINT {name}"))?;
        undo.sql.clear();
        Ok(r)
    }

    /// Runs raw SQL that returns no rows; returns rows changed.
    pub fn execute_raw(&self, sql: &str, params: &[Value]) -> Result<u64> {
        self.conn.execute(sql.into(), params)
    }

    /// Runs a raw query inside the transaction, calling `each` for every row (as
    /// [`Database::query_raw`] does outside one).
    ///
    /// ```
    /// use quarry::Database;
    /// let db = Database::connect("sqlite::memory:")?;
    /// db.execute_raw("CREATE TABLE t (x integer)", &[])?;
    /// let n = db.atomic(|tx| {
    ///     tx.execute_raw("INSERT INTO t VALUES (1), (2)", &[])?;
    ///     let mut n = 0;
    ///     tx.query_raw("SELECT COUNT(*) FROM t", &[], |row| {
    ///         n = row.get_i64(0)?;
    ///         Ok(())
    ///     })?;
    ///     Ok(n)
    /// })?;
    /// assert_eq!(n, 2);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn query_raw(
        &self,
        sql: &str,
        params: &[Value],
        mut each: impl FnMut(&dyn Row) -> Result<()>,
    ) -> Result<()> {
        self.query(sql, params, &mut each)
    }
}

impl Executor for Transaction<'_> {
    fn dialect(&self) -> &'static dyn Dialect {
        self.conn.dialect()
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        self.conn.execute(sql.into(), params)
    }

    fn query(
        &self,
        sql: &str,
        params: &[Value],
        each: &mut dyn FnMut(&dyn Row) -> Result<()>,
    ) -> Result<()> {
        self.conn.query(sql.into(), params, &mut FnSink(each))
    }

    fn execute_params(&self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        self.conn.execute(sql.into(), params)
    }

    fn query_params(
        &self,
        sql: &str,
        params: &[Param<'_>],
        each: &mut dyn FnMut(&dyn Row) -> Result<()>,
    ) -> Result<()> {
        self.conn.query(sql.into(), params, &mut FnSink(each))
    }

    fn execute_sql(&self, sql: SqlText<'_>, params: &[Param<'_>]) -> Result<u64> {
        self.conn.execute(sql, params)
    }

    fn query_sql(
        &self,
        sql: SqlText<'_>,
        params: &[Param<'_>],
        sink: &mut dyn RowSink,
    ) -> Result<()> {
        self.conn.query(sql, params, sink)
    }

    fn atomic_dyn(&self, f: &mut dyn FnMut(&dyn Executor) -> Result<()>) -> Result<()> {
        self.atomic(|tx| f(tx))
    }

    fn content_types(&self) -> Option<ContentTypesAccess<'_>> {
        // Rows read or written here may still be rolled back: read the cache, do not
        // fill it.
        Some(ContentTypesAccess {
            cache: self.content_types,
            may_store: false,
        })
    }
}
