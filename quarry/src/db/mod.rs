//! Executors: where compiled statements run. A [`Database`] (a connection handle), a
//! [`Transaction`] inside `atomic`, and the [`Row`] seam hydration reads from.

use crate::error::{Error, Result};
use crate::model::FieldKind;
use crate::sql::Dialect;
use crate::value::{Bindable, Param, Value};
use std::time::Instant;

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "mysql")]
#[doc(hidden)]
pub use mysql::MyRow;
#[cfg(feature = "postgres")]
#[doc(hidden)]
pub use postgres::PgRow;
#[cfg(feature = "sqlite")]
#[doc(hidden)]
pub use sqlite::SqliteRow;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod statements;

mod database;
pub use database::{Database, PoolOptions, Transaction};

/// One row of a result, read by column index with no per-cell boxing.
///
/// Backends implement it over their driver's row; hydration (`Model::from_row`) and
/// [`FieldValue::read`](crate::FieldValue::read) call the typed getters. Those readers
/// are generic over the row type (`R: Row + ?Sized`): quarry's executors hand each row
/// over as their backend's own type, so the readers are compiled once per backend with
/// the getters inlined, and a `&dyn Row` (a raw query's callback) reads the same way.
pub trait Row {
    /// How many columns the row has.
    fn len(&self) -> usize;
    /// True when the row has no column.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// True when column `idx` is NULL.
    fn is_null(&self, idx: usize) -> Result<bool>;
    /// Column `idx` as an integer.
    fn get_i64(&self, idx: usize) -> Result<i64>;
    /// Column `idx` as a float.
    fn get_f64(&self, idx: usize) -> Result<f64>;
    /// Column `idx` as a boolean.
    fn get_bool(&self, idx: usize) -> Result<bool>;
    /// Column `idx` as text.
    fn get_string(&self, idx: usize) -> Result<String>;
    /// Column `idx` as an integer, `None` when NULL (one read of the cell where the
    /// driver allows it).
    fn get_i64_opt(&self, idx: usize) -> Result<Option<i64>> {
        if self.is_null(idx)? {
            Ok(None)
        } else {
            self.get_i64(idx).map(Some)
        }
    }
    /// Column `idx` as text, `None` when NULL.
    fn get_string_opt(&self, idx: usize) -> Result<Option<String>> {
        if self.is_null(idx)? {
            Ok(None)
        } else {
            self.get_string(idx).map(Some)
        }
    }
    /// Column `idx` as bytes.
    fn get_bytes(&self, idx: usize) -> Result<Vec<u8>>;
    /// [`get_string`](Self::get_string) for a reader that reads the cell once
    /// ([`FieldValue::read`](crate::FieldValue::read), hydration): a backend whose
    /// driver row owns the text hands it over instead of copying it (MariaDB), and a
    /// later read of the same cell is an error there.
    ///
    /// Inlined into hydration whole, with the backend's getter (whose own fallbacks are
    /// out of line): returned through memory, the `String` was read back with a wide
    /// load of the callee's narrower stores, a store-forwarding stall per text cell.
    #[doc(hidden)]
    #[inline(always)]
    fn take_string(&self, idx: usize) -> Result<String> {
        self.get_string(idx)
    }
    /// [`get_string_opt`](Self::get_string_opt) reading the cell once, as
    /// [`take_string`](Self::take_string).
    #[doc(hidden)]
    #[inline(always)]
    fn take_string_opt(&self, idx: usize) -> Result<Option<String>> {
        self.get_string_opt(idx)
    }
    /// [`get_bytes`](Self::get_bytes) reading the cell once, as
    /// [`take_string`](Self::take_string).
    #[doc(hidden)]
    fn take_bytes(&self, idx: usize) -> Result<Vec<u8>> {
        self.get_bytes(idx)
    }
    /// Column `idx` decoded as a field of `kind` (NULL gives [`Value::Null`]).
    fn value(&self, idx: usize, kind: FieldKind) -> Result<Value>;
}

/// A reference to a row is a row: a reader generic over its row type that needs a
/// `&dyn Row` of a row it was lent as `&R` (`R` perhaps unsized) passes `&row`.
impl<R: Row + ?Sized> Row for &R {
    #[inline]
    fn len(&self) -> usize {
        (**self).len()
    }
    #[inline]
    fn is_empty(&self) -> bool {
        (**self).is_empty()
    }
    #[inline]
    fn is_null(&self, idx: usize) -> Result<bool> {
        (**self).is_null(idx)
    }
    #[inline]
    fn get_i64(&self, idx: usize) -> Result<i64> {
        (**self).get_i64(idx)
    }
    #[inline]
    fn get_f64(&self, idx: usize) -> Result<f64> {
        (**self).get_f64(idx)
    }
    #[inline]
    fn get_bool(&self, idx: usize) -> Result<bool> {
        (**self).get_bool(idx)
    }
    #[inline]
    fn get_string(&self, idx: usize) -> Result<String> {
        (**self).get_string(idx)
    }
    #[inline]
    fn get_i64_opt(&self, idx: usize) -> Result<Option<i64>> {
        (**self).get_i64_opt(idx)
    }
    #[inline]
    fn get_string_opt(&self, idx: usize) -> Result<Option<String>> {
        (**self).get_string_opt(idx)
    }
    #[inline]
    fn get_bytes(&self, idx: usize) -> Result<Vec<u8>> {
        (**self).get_bytes(idx)
    }
    #[inline]
    fn take_string(&self, idx: usize) -> Result<String> {
        (**self).take_string(idx)
    }
    #[inline]
    fn take_string_opt(&self, idx: usize) -> Result<Option<String>> {
        (**self).take_string_opt(idx)
    }
    #[inline]
    fn take_bytes(&self, idx: usize) -> Result<Vec<u8>> {
        (**self).take_bytes(idx)
    }
    #[inline]
    fn value(&self, idx: usize, kind: FieldKind) -> Result<Value> {
        (**self).value(idx, kind)
    }
}

/// Where a query's rows go, one at a time.
///
/// quarry's executors hand each row over as their backend's own row type
/// ([`sqlite_row`](Self::sqlite_row) and the others), so a reader generic over
/// [`Row`] (`Model::from_row`, `FromQueryRow`) is compiled once per backend, with the
/// getters inlined, instead of calling every cell's getter through `&dyn Row`. Each
/// backend method defaults to [`row`](Self::row), which an executor that knows no
/// backend row type calls.
#[doc(hidden)]
pub trait RowSink {
    /// Takes one row.
    fn row(&mut self, row: &dyn Row) -> Result<()>;
    /// Takes one SQLite row.
    #[cfg(feature = "sqlite")]
    fn sqlite_row(&mut self, row: &SqliteRow<'_, '_>) -> Result<()> {
        self.row(row)
    }
    /// Takes one PostgreSQL row.
    #[cfg(feature = "postgres")]
    fn postgres_row(&mut self, row: &PgRow<'_>) -> Result<()> {
        self.row(row)
    }
    /// Takes one MariaDB/MySQL row.
    #[cfg(feature = "mysql")]
    fn mysql_row(&mut self, row: &MyRow) -> Result<()> {
        self.row(row)
    }
}

/// A closure as a [`RowSink`]: every row reaches it as `&dyn Row`.
pub(crate) struct FnSink<'f>(pub(crate) &'f mut dyn FnMut(&dyn Row) -> Result<()>);

impl RowSink for FnSink<'_> {
    #[inline]
    fn row(&mut self, row: &dyn Row) -> Result<()> {
        (self.0)(row)
    }
}

/// Reads one row into a value, generic over the row type: each backend's executor
/// gets its own copy of the reader (see [`RowSink`]).
pub(crate) trait ReadRow {
    /// What a row becomes.
    type Out;
    /// Reads `row`.
    fn read<R: Row + ?Sized>(&mut self, row: &R) -> Result<Self::Out>;
}

/// A [`RowSink`] pushing what `reader` makes of each row onto `out`.
struct Collect<'d, D: ReadRow> {
    out: Vec<D::Out>,
    reader: &'d mut D,
}

impl<D: ReadRow> Collect<'_, D> {
    /// Room first, then the row read straight into it. `Vec::push` after the read
    /// kept the object on the stack across its capacity check (the check may grow the
    /// vector) and then copied it in with wide loads of the narrow stores that had just
    /// built it, which the processor cannot forward: a stall per row, seen by time in
    /// benches/ (callgrind counts the same instructions either way).
    #[inline(always)]
    fn push<R: Row + ?Sized>(&mut self, row: &R) -> Result<()> {
        self.out.reserve(1);
        let len = self.out.len();
        // SAFETY: `reserve(1)` made room for one more element, so the slot after the
        // last one is inside the allocation.
        let slot = unsafe { self.out.as_mut_ptr().add(len) };
        let v = self.reader.read(row)?;
        // SAFETY: the slot is in bounds (above) and holds nothing; once written, it is
        // the vector's next element.
        unsafe {
            slot.write(v);
            self.out.set_len(len + 1);
        }
        Ok(())
    }
}

impl<D: ReadRow> RowSink for Collect<'_, D> {
    fn row(&mut self, row: &dyn Row) -> Result<()> {
        self.push(row)
    }
    #[cfg(feature = "sqlite")]
    fn sqlite_row(&mut self, row: &SqliteRow<'_, '_>) -> Result<()> {
        self.push(row)
    }
    #[cfg(feature = "postgres")]
    fn postgres_row(&mut self, row: &PgRow<'_>) -> Result<()> {
        self.push(row)
    }
    #[cfg(feature = "mysql")]
    fn mysql_row(&mut self, row: &MyRow) -> Result<()> {
        self.push(row)
    }
}

/// A statement's text and its hash, which connections find their prepared statements
/// by. A statement from quarry's statement cache carries the hash its compile worked
/// out, so running it hashes nothing; text from anywhere else is hashed here.
///
/// ```
/// use quarry::db::SqlText;
/// let a = SqlText::new("SELECT 1");
/// assert_eq!(a.text(), "SELECT 1");
/// assert_eq!(a.hash(), SqlText::new("SELECT 1").hash());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SqlText<'a> {
    text: &'a str,
    hash: u64,
}

impl<'a> SqlText<'a> {
    /// `text`, hashed.
    #[inline]
    pub fn new(text: &'a str) -> SqlText<'a> {
        SqlText {
            text,
            hash: sql_hash(text),
        }
    }

    /// `text` with the hash [`SqlText::new`] gives it, worked out earlier.
    #[inline]
    pub(crate) fn prehashed(text: &'a str, hash: u64) -> SqlText<'a> {
        debug_assert_eq!(hash, sql_hash(text), "a statement's hash is not its text's");
        SqlText { text, hash }
    }

    /// The statement.
    #[inline]
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The hash connections key their prepared statements by.
    #[inline]
    pub fn hash(&self) -> u64 {
        self.hash
    }
}

impl<'a> From<&'a str> for SqlText<'a> {
    #[inline]
    fn from(text: &'a str) -> SqlText<'a> {
        SqlText::new(text)
    }
}

/// The hash of a statement's text (foldhash, fixed seed: every connection of every
/// thread agrees, so the statement cache can work it out once per shape).
pub(crate) fn sql_hash(text: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x7371_6c74_6578_7421).hash_one(text)
}

/// Something statements run on: a [`Database`] or a [`Transaction`].
///
/// Every QuerySet terminal method and instance method takes `&impl Executor`.
pub trait Executor {
    /// The dialect statements are compiled for.
    fn dialect(&self) -> &'static dyn Dialect;

    /// Runs a statement that returns no rows; returns the number of rows changed.
    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64>;

    /// Runs a query and calls `each` for every row, in order, without collecting them.
    fn query(
        &self,
        sql: &str,
        params: &[Value],
        each: &mut dyn FnMut(&dyn Row) -> Result<()>,
    ) -> Result<()>;

    /// Runs `f` in a transaction (or a savepoint, inside one): committed when `f`
    /// returns `Ok`, rolled back when it returns `Err`.
    fn atomic_dyn(&self, f: &mut dyn FnMut(&dyn Executor) -> Result<()>) -> Result<()>;

    /// [`execute`](Self::execute) with parameters that borrow what they bind (a bulk
    /// insert's fields). The default copies them into [`Value`]s; quarry's executors
    /// bind them in place.
    fn execute_params(&self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        let owned: Vec<Value> = params.iter().map(Param::to_value).collect();
        self.execute(sql, &owned)
    }

    /// [`query`](Self::query) with parameters that borrow what they bind. The default
    /// copies them into [`Value`]s; quarry's executors bind them in place.
    fn query_params(
        &self,
        sql: &str,
        params: &[Param<'_>],
        each: &mut dyn FnMut(&dyn Row) -> Result<()>,
    ) -> Result<()> {
        let owned: Vec<Value> = params.iter().map(Param::to_value).collect();
        self.query(sql, &owned, each)
    }

    /// [`execute_params`](Self::execute_params) with the statement's hash worked out
    /// (a cached statement's): quarry's executors look up the prepared statement
    /// without hashing the text again.
    #[doc(hidden)]
    fn execute_sql(&self, sql: SqlText<'_>, params: &[Param<'_>]) -> Result<u64> {
        self.execute_params(sql.text(), params)
    }

    /// [`query_params`](Self::query_params) with the statement's hash worked out, and
    /// the rows handed to `sink` as the backend's own row type.
    #[doc(hidden)]
    fn query_sql(
        &self,
        sql: SqlText<'_>,
        params: &[Param<'_>],
        sink: &mut dyn RowSink,
    ) -> Result<()> {
        self.query_params(sql.text(), params, &mut |row| sink.row(row))
    }

    /// The database's cache of content type ids, if this executor has one.
    #[doc(hidden)]
    fn content_types(&self) -> Option<ContentTypesAccess<'_>> {
        None
    }
}

/// An executor's view of its database's content type cache: read it always, fill it
/// only outside a transaction (a row seen inside one may be rolled back).
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct ContentTypesAccess<'a> {
    /// The cache.
    pub cache: &'a crate::contenttypes::ContentTypeCache,
    /// False inside a transaction.
    pub may_store: bool,
}

/// The start time of a statement, taken only when statements are logged (reading the
/// clock is a measurable part of a one-row query).
#[inline]
pub(crate) fn statement_started() -> Option<Instant> {
    tracing::enabled!(target: "quarry::sql", tracing::Level::DEBUG).then(Instant::now)
}

/// Logs one statement through `tracing`, as Django's `django.db.backends` logger does:
/// the SQL, the duration and the rows at DEBUG, with the bound values.
#[inline]
pub(crate) fn log_statement<P: Bindable>(
    sql: &str,
    params: &[P],
    started: Option<Instant>,
    rows: u64,
) {
    crate::testing::record(sql);
    if let Some(started) = started {
        let elapsed = started.elapsed();
        tracing::debug!(
            target: "quarry::sql",
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            rows,
            sql,
            params = ?params,
            "({:.3} ms) {sql}; args={params:?}",
            elapsed.as_secs_f64() * 1000.0
        );
    }
}

/// Lends a possibly unsized executor as a `&dyn Executor`.
pub(crate) struct ExecutorRef<'a, E: Executor + ?Sized>(pub(crate) &'a E);

impl<E: Executor + ?Sized> Executor for ExecutorRef<'_, E> {
    fn dialect(&self) -> &'static dyn crate::sql::Dialect {
        self.0.dialect()
    }
    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        self.0.execute(sql, params)
    }
    fn query(
        &self,
        sql: &str,
        params: &[Value],
        each: &mut dyn FnMut(&dyn Row) -> Result<()>,
    ) -> Result<()> {
        self.0.query(sql, params, each)
    }
    fn execute_params(&self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        self.0.execute_params(sql, params)
    }
    fn query_params(
        &self,
        sql: &str,
        params: &[Param<'_>],
        each: &mut dyn FnMut(&dyn Row) -> Result<()>,
    ) -> Result<()> {
        self.0.query_params(sql, params, each)
    }
    fn execute_sql(&self, sql: SqlText<'_>, params: &[Param<'_>]) -> Result<u64> {
        self.0.execute_sql(sql, params)
    }
    fn query_sql(
        &self,
        sql: SqlText<'_>,
        params: &[Param<'_>],
        sink: &mut dyn RowSink,
    ) -> Result<()> {
        self.0.query_sql(sql, params, sink)
    }
    fn atomic_dyn(&self, f: &mut dyn FnMut(&dyn Executor) -> Result<()>) -> Result<()> {
        self.0.atomic_dyn(f)
    }
    fn content_types(&self) -> Option<ContentTypesAccess<'_>> {
        self.0.content_types()
    }
}

/// Collects every row of a query through `f`.
pub(crate) fn fetch_all<T>(
    ex: &(impl Executor + ?Sized),
    sql: &str,
    params: &[Value],
    mut f: impl FnMut(&dyn Row) -> Result<T>,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    ex.query(sql, params, &mut |row| {
        out.push(f(row)?);
        Ok(())
    })?;
    Ok(out)
}

/// The most a result vector reserves up front from a hint: a query whose last run
/// returned a million rows reserves this much, not the million, if it returns few now.
const RESERVE_BYTES: usize = 1 << 20;

/// Collects every row of a query with borrowed parameters through `f`, into a vector
/// with room for `expected` rows (at most [`RESERVE_BYTES`] of them; more grow it;
/// 0 when the caller cannot tell). Room reserved for rows that did not come is given
/// back.
pub(crate) fn fetch_params<T>(
    ex: &(impl Executor + ?Sized),
    sql: SqlText<'_>,
    params: &[Param<'_>],
    expected: usize,
    mut f: impl FnMut(&dyn Row) -> Result<T>,
) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(reserve_for::<T>(expected));
    ex.query_sql(
        sql,
        params,
        &mut FnSink(&mut |row| {
            out.push(f(row)?);
            Ok(())
        }),
    )?;
    Ok(give_back(out))
}

/// [`fetch_params`] with a reader generic over the row type: each backend reads its
/// rows through its own copy of `reader`, with the cell getters inlined (hydration's
/// path). The reader is lent, so what it noted on the way can be read after.
pub(crate) fn fetch_rows<D: ReadRow>(
    ex: &(impl Executor + ?Sized),
    sql: SqlText<'_>,
    params: &[Param<'_>],
    expected: usize,
    reader: &mut D,
) -> Result<Vec<D::Out>> {
    let mut sink = Collect {
        out: Vec::with_capacity(reserve_for::<D::Out>(expected)),
        reader,
    };
    ex.query_sql(sql, params, &mut sink)?;
    Ok(give_back(sink.out))
}

/// How many rows of `T` to reserve for `expected` (at most [`RESERVE_BYTES`]).
#[inline]
fn reserve_for<T>(expected: usize) -> usize {
    expected.min(RESERVE_BYTES / std::mem::size_of::<T>().max(1))
}

/// `out`, with room reserved for rows that did not come given back.
#[inline]
fn give_back<T>(mut out: Vec<T>) -> Vec<T> {
    if out.capacity() > 2 * out.len() + 8 {
        out.shrink_to_fit();
    }
    out
}

#[cold]
pub(crate) fn config_error(message: impl Into<String>) -> Error {
    Error::Config(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::SqliteDialect;
    use std::cell::RefCell;

    /// An executor written outside quarry: it implements only the required methods.
    struct Recorder(RefCell<Vec<Vec<Value>>>);

    impl Executor for Recorder {
        fn dialect(&self) -> &'static dyn Dialect {
            &SqliteDialect
        }
        fn execute(&self, _: &str, params: &[Value]) -> Result<u64> {
            self.0.borrow_mut().push(params.to_vec());
            Ok(1)
        }
        fn query(
            &self,
            _: &str,
            params: &[Value],
            _: &mut dyn FnMut(&dyn Row) -> Result<()>,
        ) -> Result<()> {
            self.0.borrow_mut().push(params.to_vec());
            Ok(())
        }
        fn atomic_dyn(&self, f: &mut dyn FnMut(&dyn Executor) -> Result<()>) -> Result<()> {
            f(self)
        }
    }

    #[test]
    fn borrowed_parameters_reach_an_outside_executor_as_values() {
        let ex = Recorder(RefCell::new(Vec::new()));
        let kept = Value::I64(3);
        let params = [
            Param::Text("Lyon"),
            Param::Bytes(b"\x00\x01"),
            Param::Value(&kept),
            Param::Owned(Value::Null),
        ];
        assert_eq!(ex.execute_params("UPDATE t SET x = ?", &params).unwrap(), 1);
        ex.query_params("SELECT ?", &params, &mut |_| Ok(()))
            .unwrap();
        let expected = vec![
            Value::Text("Lyon".into()),
            Value::Bytes(vec![0, 1]),
            Value::I64(3),
            Value::Null,
        ];
        assert_eq!(*ex.0.borrow(), [expected.clone(), expected.clone()]);
        assert_eq!(params[0], expected[0]);
        assert_ne!(params[0], expected[1]);
    }
}
