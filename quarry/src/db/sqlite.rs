//! The SQLite backend, on `rusqlite` with the bundled SQLite.
//!
//! Storage formats follow Django's SQLite backend so that databases are interchangeable:
//! dates and times as ISO text, datetimes in UTC as `YYYY-MM-DD HH:MM:SS[.ffffff]`,
//! durations as integer microseconds, UUIDs as 32 hex digits, JSON as text.

use super::{log_statement, statement_started, Row, RowSink, SqlText};
use crate::error::{Error, IntegrityKind, Result};
use crate::model::FieldKind;
use crate::sql::{Dialect, SqliteDialect};
use crate::value::{BindRef, Bindable, Value};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike, Utc};
use hashbrown::HashTable;
use rusqlite::types::{ToSqlOutput, ValueRef};
use std::cell::RefCell;

static DIALECT: SqliteDialect = SqliteDialect;

/// An open SQLite connection and the statements it has prepared.
///
/// The statements are kept here rather than in rusqlite's `prepare_cached`, whose LRU
/// hashes the SQL twice and copies it into a fresh `Arc<str>` on every call (about
/// 1,000 instructions of a 5,000-instruction one-row query); see [`Statements`].
pub(crate) struct SqliteConn {
    /// Statements by SQL text. Each borrows `*conn`, so `Drop` empties this first.
    statements: Statements,
    /// Leaked from a `Box` in [`SqliteConn::open`] so the statements can borrow it for
    /// `'static`; reclaimed in `Drop` once they are gone. Never handed out.
    conn: &'static rusqlite::Connection,
}

// SAFETY: the connection is `Send`; the statements (`!Send` only for their raw pointers
// and their `&Connection`) borrow nothing but this struct's own connection, are never
// lent outside a method call, and move with it, as rusqlite's own statement cache moves
// inside its `Connection`.
unsafe impl Send for SqliteConn {}

impl Drop for SqliteConn {
    fn drop(&mut self) {
        self.statements.table.get_mut().clear();
        let conn = self.conn as *const rusqlite::Connection as *mut rusqlite::Connection;
        // SAFETY: `conn` came from `Box::leak` in `open`; every statement borrowing it
        // was dropped just above (a statement in use lives only inside a method call,
        // which cannot outlast `&mut self`), and no other reference to it exists.
        drop(unsafe { Box::from_raw(conn) });
    }
}

/// Statements a connection keeps, found by SQL text.
///
/// A statement in use is taken out of the table and put back after, so a query run
/// from inside another's row callback (on the same connection, in a transaction)
/// prepares its own copy rather than finding the table borrowed.
struct Statements {
    table: RefCell<HashTable<Prepared>>,
}

/// One kept statement.
struct Prepared {
    hash: u64,
    sql: Box<str>,
    stmt: rusqlite::Statement<'static>,
}

/// At most this many statements are kept; the table is emptied when it is full.
const STATEMENTS: usize = 256;

impl SqliteConn {
    /// Opens `path` (`:memory:` for an in-memory database).
    pub(crate) fn open(path: &str) -> Result<SqliteConn> {
        let conn = if path == ":memory:" {
            rusqlite::Connection::open_in_memory()
        } else {
            rusqlite::Connection::open(path)
        }
        .map_err(|e| map_error(e, None))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| map_error(e, None))?;
        conn.execute_batch("PRAGMA foreign_keys = ON")
            .map_err(|e| map_error(e, None))?;
        register_regexp(&conn)?;
        register_spread(&conn)?;
        register_math(&conn)?;
        Ok(SqliteConn {
            statements: Statements {
                table: RefCell::new(HashTable::new()),
            },
            conn: Box::leak(Box::new(conn)),
        })
    }

    /// Runs `f` on the prepared statement of `sql`, preparing it on first use.
    fn with_statement<T, P: Bindable>(
        &self,
        sql: SqlText<'_>,
        params: &[P],
        f: impl FnOnce(&mut rusqlite::Statement<'static>) -> Result<T>,
    ) -> Result<T> {
        let (hash, sql) = (sql.hash(), sql.text());
        let kept = self
            .statements
            .table
            .borrow_mut()
            .find_entry(hash, |p| p.hash == hash && *p.sql == *sql)
            .ok()
            .map(|entry| entry.remove().0);
        let mut prepared = match kept {
            Some(prepared) => prepared,
            None => Prepared {
                hash,
                sql: sql.into(),
                stmt: self
                    .conn
                    .prepare_with_flags(sql, rusqlite::PrepFlags::SQLITE_PREPARE_PERSISTENT)
                    .map_err(|e| map_error(e, Some(sql)))?,
            },
        };
        let out = f(&mut prepared.stmt);
        if params.iter().any(|p| holds_copy(p.bind_ref())) {
            prepared.stmt.clear_bindings();
        }
        let mut table = self.statements.table.borrow_mut();
        if table.len() >= STATEMENTS {
            table.clear();
        }
        table.insert_unique(hash, prepared, |p| p.hash);
        out
    }

    pub(crate) fn dialect(&self) -> &'static dyn Dialect {
        &DIALECT
    }

    pub(crate) fn execute<P: Bindable>(&self, sql: SqlText<'_>, params: &[P]) -> Result<u64> {
        let started = statement_started();
        let n = self.with_statement(sql, params, |stmt| {
            let sql = sql.text();
            stmt.execute(rusqlite::params_from_iter(
                params.iter().map(|p| Bind(p.bind_ref())),
            ))
            .map_err(|e| map_error(e, Some(sql)))
        })? as u64;
        log_statement(sql.text(), params, started, n);
        Ok(n)
    }

    pub(crate) fn execute_batch(&self, sql: &str) -> Result<()> {
        let started = statement_started();
        self.conn
            .execute_batch(sql)
            .map_err(|e| map_error(e, Some(sql)))?;
        log_statement::<Value>(sql, &[], started, 0);
        Ok(())
    }

    pub(crate) fn query<P: Bindable>(
        &self,
        sql: SqlText<'_>,
        params: &[P],
        sink: &mut dyn RowSink,
    ) -> Result<()> {
        let started = statement_started();
        let n = self.with_statement(sql, params, |stmt| {
            let sql = sql.text();
            let mut rows = stmt
                .query(rusqlite::params_from_iter(
                    params.iter().map(|p| Bind(p.bind_ref())),
                ))
                .map_err(|e| map_error(e, Some(sql)))?;
            let mut n = 0u64;
            while let Some(row) = rows.next().map_err(|e| map_error(e, Some(sql)))? {
                n += 1;
                sink.sqlite_row(&SqliteRow(row))?;
            }
            Ok(n)
        })?;
        log_statement(sql.text(), params, started, n);
        Ok(())
    }
}

/// Registers `REGEXP`, which SQLite parses but leaves to the application.
fn register_regexp(conn: &rusqlite::Connection) -> Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "regexp",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let re =
                ctx.get_or_create_aux(
                    0,
                    |vr| -> std::result::Result<
                        regex::Regex,
                        Box<dyn std::error::Error + Send + Sync>,
                    > { Ok(regex::Regex::new(vr.as_str()?)?) },
                )?;
            let text = match ctx.get_raw(1) {
                ValueRef::Null => return Ok(None),
                ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                ValueRef::Integer(i) => i.to_string(),
                ValueRef::Real(f) => f.to_string(),
                ValueRef::Blob(b) => String::from_utf8_lossy(b).into_owned(),
            };
            Ok(Some(re.is_match(&text)))
        },
    )
    .map_err(|e| map_error(e, None))
}

/// `STDDEV_POP`, `STDDEV_SAMP`, `VAR_POP` and `VAR_SAMP`, which SQLite lacks (Django
/// registers the same four in Python). Welford's running mean and sum of squares.
struct Spread {
    sample: bool,
    root: bool,
}

impl rusqlite::functions::Aggregate<(u64, f64, f64), Option<f64>> for Spread {
    fn init(&self, _: &mut rusqlite::functions::Context<'_>) -> rusqlite::Result<(u64, f64, f64)> {
        Ok((0, 0.0, 0.0))
    }

    fn step(
        &self,
        ctx: &mut rusqlite::functions::Context<'_>,
        (n, mean, m2): &mut (u64, f64, f64),
    ) -> rusqlite::Result<()> {
        let x = match ctx.get_raw(0) {
            ValueRef::Null | ValueRef::Blob(_) => return Ok(()),
            ValueRef::Integer(i) => i as f64,
            ValueRef::Real(f) => f,
            ValueRef::Text(t) => match std::str::from_utf8(t)
                .ok()
                .and_then(|t| t.trim().parse().ok())
            {
                Some(f) => f,
                None => return Ok(()),
            },
        };
        *n += 1;
        let delta = x - *mean;
        *mean += delta / *n as f64;
        *m2 += delta * (x - *mean);
        Ok(())
    }

    fn finalize(
        &self,
        _: &mut rusqlite::functions::Context<'_>,
        acc: Option<(u64, f64, f64)>,
    ) -> rusqlite::Result<Option<f64>> {
        let Some((n, _, m2)) = acc else {
            return Ok(None);
        };
        let denominator = if self.sample { n.saturating_sub(1) } else { n };
        if denominator == 0 {
            return Ok(None);
        }
        let variance = m2 / denominator as f64;
        Ok(Some(if self.root { variance.sqrt() } else { variance }))
    }
}

fn register_spread(conn: &rusqlite::Connection) -> Result<()> {
    use rusqlite::functions::FunctionFlags;
    for (name, sample, root) in [
        ("STDDEV_POP", false, true),
        ("STDDEV_SAMP", true, true),
        ("VAR_POP", false, false),
        ("VAR_SAMP", true, false),
    ] {
        conn.create_aggregate_function(
            name,
            1,
            FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
            Spread { sample, root },
        )
        .map_err(|e| map_error(e, None))?;
    }
    Ok(())
}

/// A number argument of a registered function: `None` for NULL (or text that is no
/// number).
fn number(v: ValueRef<'_>) -> Option<SqlNumber> {
    match v {
        ValueRef::Integer(i) => Some(SqlNumber::Int(i)),
        ValueRef::Real(f) => Some(SqlNumber::Real(f)),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .map(SqlNumber::Real),
        ValueRef::Null | ValueRef::Blob(_) => None,
    }
}

#[derive(Clone, Copy)]
enum SqlNumber {
    Int(i64),
    Real(f64),
}

impl SqlNumber {
    fn real(self) -> f64 {
        match self {
            SqlNumber::Int(i) => i as f64,
            SqlNumber::Real(f) => f,
        }
    }
}

/// The math and padding functions SQLite is built without here (`CEIL`, `FLOOR`, `MOD`,
/// `POWER`, `SQRT`, `LPAD`, `RPAD`, `REPEAT`), with the results Django's registered
/// Python functions give: integers stay integers where the operation allows.
fn register_math(conn: &rusqlite::Connection) -> Result<()> {
    use rusqlite::functions::{Context, FunctionFlags};
    use rusqlite::types::Value as SqlValue;
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    type Math = fn(&Context<'_>) -> rusqlite::Result<SqlValue>;
    // An integer stays itself; a real rounds up or down.
    fn rounded(ctx: &Context<'_>, up: bool) -> rusqlite::Result<SqlValue> {
        Ok(match number(ctx.get_raw(0)) {
            None => SqlValue::Null,
            Some(SqlNumber::Int(i)) => SqlValue::Integer(i),
            Some(SqlNumber::Real(f)) => SqlValue::Real(if up { f.ceil() } else { f.floor() }),
        })
    }
    let ceil: Math = |ctx| rounded(ctx, true);
    let floor: Math = |ctx| rounded(ctx, false);
    let sqrt: Math = |ctx| {
        Ok(match number(ctx.get_raw(0)) {
            Some(n) if n.real() >= 0.0 => SqlValue::Real(n.real().sqrt()),
            _ => SqlValue::Null,
        })
    };
    let modulo: Math = |ctx| {
        Ok(match (number(ctx.get_raw(0)), number(ctx.get_raw(1))) {
            (Some(a), Some(b)) if b.real() != 0.0 => SqlValue::Real(a.real() % b.real()),
            _ => SqlValue::Null,
        })
    };
    let power: Math = |ctx| {
        Ok(match (number(ctx.get_raw(0)), number(ctx.get_raw(1))) {
            (Some(a), Some(b)) => SqlValue::Real(a.real().powf(b.real())),
            _ => SqlValue::Null,
        })
    };
    let repeat: Math = |ctx| {
        let text: Option<String> = ctx.get(0)?;
        let n: Option<i64> = ctx.get(1)?;
        Ok(match (text, n) {
            (Some(t), Some(n)) => SqlValue::Text(t.repeat(n.max(0) as usize)),
            _ => SqlValue::Null,
        })
    };
    // Date and time arithmetic on the text forms (durations are microseconds).
    let dt_add: Math = |ctx| {
        let (dt, micros): (Option<String>, Option<i64>) = (ctx.get(0)?, ctx.get(1)?);
        Ok(match (dt.as_deref().and_then(parse_datetime), micros) {
            (Some(dt), Some(m)) => {
                SqlValue::Text(format_datetime(&(dt + chrono::TimeDelta::microseconds(m))))
            }
            _ => SqlValue::Null,
        })
    };
    let dt_diff: Math = |ctx| {
        let (a, b): (Option<String>, Option<String>) = (ctx.get(0)?, ctx.get(1)?);
        let a = a.as_deref().and_then(parse_datetime);
        let b = b.as_deref().and_then(parse_datetime);
        Ok(match (a, b) {
            (Some(a), Some(b)) => (a - b)
                .num_microseconds()
                .map_or(SqlValue::Null, SqlValue::Integer),
            _ => SqlValue::Null,
        })
    };
    let time_diff: Math = |ctx| {
        let (a, b): (Option<String>, Option<String>) = (ctx.get(0)?, ctx.get(1)?);
        let parse =
            |t: Option<String>| t.and_then(|t| NaiveTime::parse_from_str(&t, "%H:%M:%S%.f").ok());
        Ok(match (parse(a), parse(b)) {
            (Some(a), Some(b)) => (a - b)
                .num_microseconds()
                .map_or(SqlValue::Null, SqlValue::Integer),
            _ => SqlValue::Null,
        })
    };
    let lpad: Math = |ctx| pad_text(ctx, true);
    let rpad: Math = |ctx| pad_text(ctx, false);
    for (name, args, f) in [
        ("CEIL", 1, ceil),
        ("CEILING", 1, ceil),
        ("FLOOR", 1, floor),
        ("SQRT", 1, sqrt),
        ("MOD", 2, modulo),
        ("POWER", 2, power),
        ("REPEAT", 2, repeat),
        ("LPAD", 3, lpad),
        ("RPAD", 3, rpad),
        ("QUARRY_DT_ADD", 2, dt_add),
        ("QUARRY_DT_DIFF", 2, dt_diff),
        ("QUARRY_TIME_DIFF", 2, time_diff),
    ] {
        conn.create_scalar_function(name, args, flags, f)
            .map_err(|e| map_error(e, None))?;
    }
    Ok(())
}

/// `LPAD`/`RPAD` as PostgreSQL and MySQL pad: cut to `length`, or filled with `fill`
/// repeated on one side.
fn pad_text(
    ctx: &rusqlite::functions::Context<'_>,
    left: bool,
) -> rusqlite::Result<rusqlite::types::Value> {
    use rusqlite::types::Value as SqlValue;
    let text: Option<String> = ctx.get(0)?;
    let length: Option<i64> = ctx.get(1)?;
    let fill: Option<String> = ctx.get(2)?;
    let (Some(text), Some(length), Some(fill)) = (text, length, fill) else {
        return Ok(SqlValue::Null);
    };
    let length = length.max(0) as usize;
    let have = text.chars().count();
    if have >= length || fill.is_empty() {
        return Ok(SqlValue::Text(text.chars().take(length).collect()));
    }
    let padding: String = fill.chars().cycle().take(length - have).collect();
    Ok(SqlValue::Text(if left {
        padding + &text
    } else {
        text + &padding
    }))
}

/// A bound parameter.
struct Bind<'a>(BindRef<'a>);

/// True when SQLite keeps a copy of the bound value: text and blobs, and the values
/// bound as text. Such a binding is not left in a kept statement. SQLite holds the copy
/// until the statement is next bound, in a slot of the connection's lookaside memory (by
/// default 123 blocks shared by all of its statements) or on the heap: an INSERT of 50
/// rows left 100 copies behind, which filled the lookaside, and SQLite's own
/// allocations in every later run went to `malloc`. rusqlite's statement cache clears
/// every binding for the same reason; numbers and NULL take no memory and stay.
fn holds_copy(param: BindRef<'_>) -> bool {
    match param {
        BindRef::Text(_) | BindRef::Bytes(_) => true,
        BindRef::Value(v) => !matches!(
            v,
            Value::Null | Value::Bool(_) | Value::I64(_) | Value::F64(_) | Value::Duration(_)
        ),
    }
}

pub(crate) fn format_datetime(dt: &DateTime<Utc>) -> String {
    let naive = dt.naive_utc();
    let micros = naive.nanosecond() / 1000;
    if micros == 0 {
        naive.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        format!("{}.{micros:06}", naive.format("%Y-%m-%d %H:%M:%S"))
    }
}

pub(crate) fn format_time(t: &NaiveTime) -> String {
    let micros = t.nanosecond() / 1000;
    if micros == 0 {
        t.format("%H:%M:%S").to_string()
    } else {
        format!("{}.{micros:06}", t.format("%H:%M:%S"))
    }
}

impl rusqlite::ToSql for Bind<'_> {
    #[inline]
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self.0 {
            BindRef::Text(s) => Ok(ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()))),
            BindRef::Bytes(b) => Ok(ToSqlOutput::Borrowed(ValueRef::Blob(b))),
            BindRef::Value(v) => value_to_sql(v),
        }
    }
}

/// How SQLite stores each kind of value.
fn value_to_sql(value: &Value) -> rusqlite::Result<ToSqlOutput<'_>> {
    use rusqlite::types::Value as V;
    Ok(match value {
        Value::Null => ToSqlOutput::Owned(V::Null),
        Value::Bool(b) => ToSqlOutput::Owned(V::Integer(*b as i64)),
        Value::I64(i) => ToSqlOutput::Owned(V::Integer(*i)),
        Value::F64(f) => ToSqlOutput::Owned(V::Real(*f)),
        Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        Value::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        Value::Decimal(d) => ToSqlOutput::Owned(V::Text(d.to_string())),
        Value::Date(d) => ToSqlOutput::Owned(V::Text(d.format("%Y-%m-%d").to_string())),
        Value::Time(t) => ToSqlOutput::Owned(V::Text(format_time(t))),
        Value::DateTime(dt) => ToSqlOutput::Owned(V::Text(format_datetime(dt))),
        Value::Duration(d) => {
            ToSqlOutput::Owned(V::Integer(d.num_microseconds().unwrap_or(i64::MAX)))
        }
        Value::Uuid(u) => ToSqlOutput::Owned(V::Text(u.simple().to_string())),
        Value::Json(j) => ToSqlOutput::Owned(V::Text(j.to_string())),
        Value::List(_) => {
            return Err(rusqlite::Error::ToSqlConversionFailure(
                "a list can only be bound by the `in` and `range` lookups".into(),
            ))
        }
    })
}

/// A SQLite result row, as hydration reads it (see [`RowSink`]).
pub struct SqliteRow<'a, 'stmt>(&'a rusqlite::Row<'stmt>);

impl SqliteRow<'_, '_> {
    #[inline]
    fn raw(&self, idx: usize) -> Result<ValueRef<'_>> {
        self.0.get_ref(idx).map_err(|e| column_error(idx, e))
    }

    /// The cell, or `None` when the driver refuses it (an index out of range). The
    /// getters' fast paths look at this, which has no drop glue; the slow paths read
    /// the cell again with its error ([`integer_slow`], [`text_slow`]). Matching on the
    /// driver's `Result` left a call to its destructor on every cell.
    #[inline(always)]
    fn cell(&self, idx: usize) -> Option<ValueRef<'_>> {
        self.0.get_ref(idx).ok()
    }
}

/// A cell the driver could not give or convert.
#[cold]
fn column_error(idx: usize, e: impl std::fmt::Display) -> Error {
    Error::conversion(format!("column {idx}"), e.to_string())
}

#[cold]
fn wrong_type(idx: usize, expected: &str, got: ValueRef<'_>) -> Error {
    Error::conversion(
        format!("column {idx}"),
        format!("expected {expected}, found {:?}", got.data_type()),
    )
}

fn text<'a>(idx: usize, v: ValueRef<'a>, expected: &str) -> Result<&'a str> {
    match v {
        ValueRef::Text(t) => std::str::from_utf8(t)
            .map_err(|e| Error::conversion(format!("column {idx}"), e.to_string())),
        other => Err(wrong_type(idx, expected, other)),
    }
}

fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim_end_matches("+00:00").trim_end_matches('Z');
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f"))
        .or_else(|_| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
        })
        .ok()
        .map(|n| n.and_utc())
}

/// A cell as an integer (`None` for NULL) when it is not simply one: a whole float, or
/// an error. The getters test for an integer (and NULL) themselves and call this for
/// the rest, so that the common case is one comparison on the driver's own result: a
/// `match` over every variant became a jump table, and moving the cell into a result
/// of quarry's first was a 16-byte load of two 8-byte stores, which the processor
/// cannot forward (a stall per cell, measured by time in benches/).
#[cold]
#[inline(never)]
fn integer_slow(row: &SqliteRow<'_, '_>, idx: usize) -> Result<Option<i64>> {
    match row.raw(idx)? {
        ValueRef::Integer(i) => Ok(Some(i)),
        ValueRef::Null => Ok(None),
        ValueRef::Real(f) if f.fract() == 0.0 => Ok(Some(f as i64)),
        other => Err(wrong_type(idx, "an integer", other)),
    }
}

/// A cell as text (`None` for NULL) when it is not text: a number written out, or an
/// error (see [`integer_slow`]).
#[cold]
#[inline(never)]
fn text_slow(row: &SqliteRow<'_, '_>, idx: usize) -> Result<Option<String>> {
    match row.raw(idx)? {
        ValueRef::Text(t) => utf8(idx, t).map(Some),
        ValueRef::Null => Ok(None),
        ValueRef::Integer(i) => Ok(Some(i.to_string())),
        ValueRef::Real(f) => Ok(Some(f.to_string())),
        other => Err(wrong_type(idx, "text", other)),
    }
}

/// Text cell bytes as a `String`.
#[inline(always)]
fn utf8(idx: usize, t: &[u8]) -> Result<String> {
    match std::str::from_utf8(t) {
        Ok(s) => Ok(s.to_owned()),
        Err(e) => Err(column_error(idx, e)),
    }
}

impl Row for SqliteRow<'_, '_> {
    #[inline]
    fn len(&self) -> usize {
        self.0.as_ref().column_count()
    }

    #[inline]
    fn is_null(&self, idx: usize) -> Result<bool> {
        Ok(matches!(self.raw(idx)?, ValueRef::Null))
    }

    #[inline]
    fn get_i64(&self, idx: usize) -> Result<i64> {
        match self.cell(idx) {
            Some(ValueRef::Integer(i)) => Ok(i),
            _ => integer_slow(self, idx)?
                .ok_or_else(|| wrong_type(idx, "an integer", ValueRef::Null)),
        }
    }

    #[inline]
    fn get_i64_opt(&self, idx: usize) -> Result<Option<i64>> {
        match self.cell(idx) {
            Some(ValueRef::Integer(i)) => Ok(Some(i)),
            Some(ValueRef::Null) => Ok(None),
            _ => integer_slow(self, idx),
        }
    }

    #[inline]
    fn get_f64(&self, idx: usize) -> Result<f64> {
        match self.raw(idx)? {
            ValueRef::Real(f) => Ok(f),
            ValueRef::Integer(i) => Ok(i as f64),
            other => Err(wrong_type(idx, "a float", other)),
        }
    }

    #[inline]
    fn get_bool(&self, idx: usize) -> Result<bool> {
        match self.raw(idx)? {
            ValueRef::Integer(i) => Ok(i != 0),
            other => Err(wrong_type(idx, "a boolean", other)),
        }
    }

    #[inline(always)]
    fn get_string(&self, idx: usize) -> Result<String> {
        match self.cell(idx) {
            Some(ValueRef::Text(t)) => utf8(idx, t),
            _ => text_slow(self, idx)?.ok_or_else(|| wrong_type(idx, "text", ValueRef::Null)),
        }
    }

    #[inline(always)]
    fn get_string_opt(&self, idx: usize) -> Result<Option<String>> {
        match self.cell(idx) {
            Some(ValueRef::Text(t)) => utf8(idx, t).map(Some),
            Some(ValueRef::Null) => Ok(None),
            _ => text_slow(self, idx),
        }
    }

    #[inline]
    fn get_bytes(&self, idx: usize) -> Result<Vec<u8>> {
        match self.raw(idx)? {
            ValueRef::Blob(b) | ValueRef::Text(b) => Ok(b.to_vec()),
            other => Err(wrong_type(idx, "bytes", other)),
        }
    }

    fn value(&self, idx: usize, kind: FieldKind) -> Result<Value> {
        use FieldKind::*;
        let raw = self.raw(idx)?;
        if matches!(raw, ValueRef::Null) {
            return Ok(Value::Null);
        }
        let bad = |what: &str| {
            Error::conversion(format!("column {idx}"), format!("invalid {what}: {raw:?}"))
        };
        Ok(match kind {
            BooleanField => Value::Bool(self.get_bool(idx)?),
            k if k.is_integer() => Value::I64(self.get_i64(idx)?),
            FloatField => Value::F64(self.get_f64(idx)?),
            DecimalField => Value::Decimal(match raw {
                ValueRef::Integer(i) => rust_decimal::Decimal::from(i),
                // 15 significant digits, as Django's SQLite converter reads a float
                // computed for a decimal (`29.69 * 3` is 89.07, not 89.07000000000001).
                ValueRef::Real(f) => rust_decimal::Decimal::from_scientific(&format!("{f:.14e}"))
                    .map_err(|_| bad("decimal"))?
                    .normalize(),
                ValueRef::Text(_) => text(idx, raw, "a decimal")?
                    .parse()
                    .map_err(|_| bad("decimal"))?,
                other => return Err(wrong_type(idx, "a decimal", other)),
            }),
            DateField => Value::Date(
                NaiveDate::parse_from_str(
                    text(idx, raw, "a date")?.get(..10).unwrap_or(""),
                    "%Y-%m-%d",
                )
                .map_err(|_| bad("date"))?,
            ),
            DateTimeField => Value::DateTime(
                parse_datetime(text(idx, raw, "a datetime")?).ok_or_else(|| bad("datetime"))?,
            ),
            TimeField => Value::Time(
                NaiveTime::parse_from_str(text(idx, raw, "a time")?, "%H:%M:%S%.f")
                    .map_err(|_| bad("time"))?,
            ),
            DurationField => Value::Duration(TimeDelta::microseconds(self.get_i64(idx)?)),
            UUIDField => Value::Uuid(
                uuid::Uuid::parse_str(text(idx, raw, "a uuid")?).map_err(|_| bad("uuid"))?,
            ),
            BinaryField => Value::Bytes(self.get_bytes(idx)?),
            JSONField => {
                Value::Json(serde_json::from_str(text(idx, raw, "JSON")?).map_err(|_| bad("JSON"))?)
            }
            _ => match raw {
                ValueRef::Integer(i) => Value::I64(i),
                ValueRef::Real(f) => Value::F64(f),
                ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
                _ => Value::Text(self.get_string(idx)?),
            },
        })
    }
}

/// Maps a rusqlite error onto quarry's error, classifying constraint violations.
#[cold]
pub(crate) fn map_error(e: rusqlite::Error, sql: Option<&str>) -> Error {
    if let rusqlite::Error::SqliteFailure(err, msg) = &e {
        let message = msg.clone().unwrap_or_else(|| err.to_string());
        let code = err.extended_code;
        if err.code == rusqlite::ErrorCode::ConstraintViolation {
            let kind = match code {
                2067 | 1555 => IntegrityKind::Unique,
                1299 => IntegrityKind::NotNull,
                787 => IntegrityKind::ForeignKey,
                275 => IntegrityKind::Check,
                _ => IntegrityKind::Other,
            };
            let constraint = message
                .split_once(": ")
                .map(|(_, c)| c.to_owned())
                .filter(|c| !c.is_empty());
            return Error::IntegrityError {
                kind,
                constraint,
                message,
                sql_state: Some(code.to_string()),
            };
        }
        return Error::Database {
            message,
            sql_state: Some(code.to_string()),
            sql: sql.map(str::to_owned),
        };
    }
    if let rusqlite::Error::SqlInputError { error, msg, .. } = &e {
        return Error::Database {
            message: msg.clone(),
            sql_state: Some(error.extended_code.to_string()),
            sql: sql.map(str::to_owned),
        };
    }
    Error::Database {
        message: e.to_string(),
        sql_state: None,
        sql: sql.map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::FnSink;

    fn ints(conn: &SqliteConn, sql: &str, params: &[Value]) -> Vec<i64> {
        let mut out = Vec::new();
        conn.query(
            sql.into(),
            params,
            &mut FnSink(&mut |row| {
                out.push(row.get_i64(0)?);
                Ok(())
            }),
        )
        .unwrap();
        out
    }

    /// The statement kept for `sql`, with its bound values written in.
    fn kept_with_bindings(conn: &SqliteConn, sql: &str) -> Option<String> {
        let hash = SqlText::new(sql).hash();
        let table = conn.statements.table.borrow();
        let kept = table.find(hash, |p| p.hash == hash && *p.sql == *sql)?;
        kept.stmt.expanded_sql()
    }

    /// A kept statement lets go of the text it was bound with (SQLite's copy would
    /// hold the connection's lookaside memory until the next run); numbers stay bound.
    #[test]
    fn kept_statements_hold_no_copied_text() {
        let conn = SqliteConn::open(":memory:").unwrap();
        conn.execute::<Value>("CREATE TABLE t (a TEXT, b INTEGER)".into(), &[])
            .unwrap();
        let insert = "INSERT INTO t (a, b) VALUES (?, ?)";
        let params = [Value::Text("kept?".into()), Value::I64(5)];
        assert_eq!(conn.execute(insert.into(), &params).unwrap(), 1);
        assert_eq!(
            kept_with_bindings(&conn, insert).as_deref(),
            Some("INSERT INTO t (a, b) VALUES (NULL, NULL)")
        );
        let select = "SELECT b FROM t WHERE b = ?";
        assert_eq!(ints(&conn, select, &[Value::I64(5)]), [5]);
        assert_eq!(
            kept_with_bindings(&conn, select).as_deref(),
            Some("SELECT b FROM t WHERE b = 5")
        );
        // The kept statement runs again with new values.
        let params = [Value::Text("again".into()), Value::I64(6)];
        assert_eq!(conn.execute(insert.into(), &params).unwrap(), 1);
        assert_eq!(ints(&conn, "SELECT COUNT(*) FROM t", &[]), [2]);
    }

    /// The getters' slow paths: conversions the fast path leaves out, and errors that
    /// name the column.
    #[test]
    fn getters_convert_or_name_the_column() {
        let conn = SqliteConn::open(":memory:").unwrap();
        let mut seen = Vec::new();
        conn.query::<Value>(
            "SELECT 3.0, 2.5, 'x', NULL, 7".into(),
            &[],
            &mut FnSink(&mut |row| {
                let err = |r: Result<String>| r.unwrap_err().to_string();
                assert_eq!(row.get_i64(0)?, 3);
                assert_eq!(row.get_i64_opt(0)?, Some(3));
                assert!(err(row.get_i64(1).map(|i| i.to_string())).contains("column 1"));
                assert!(err(row.get_i64(2).map(|i| i.to_string())).contains("an integer"));
                assert_eq!(row.get_i64_opt(3)?, None);
                assert!(err(row.get_i64(3).map(|i| i.to_string())).contains("column 3"));
                assert_eq!(row.get_string(2)?, "x");
                assert_eq!(row.get_string(4)?, "7");
                assert_eq!(row.get_string_opt(1)?.as_deref(), Some("2.5"));
                assert_eq!(row.get_string_opt(3)?, None);
                assert!(err(row.get_string(3)).contains("expected text"));
                assert!(err(row.get_string(9)).contains("column 9"));
                assert!(err(row.get_i64_opt(9).map(|_| String::new())).contains("column 9"));
                seen.push(());
                Ok(())
            }),
        )
        .unwrap();
        assert_eq!(seen.len(), 1);
    }

    #[test]
    fn a_kept_statement_is_reused_and_rebound() {
        let conn = SqliteConn::open(":memory:").unwrap();
        conn.execute_batch("CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1), (2), (3);")
            .unwrap();
        let sql = "SELECT a FROM t WHERE a >= ? ORDER BY a";
        assert_eq!(ints(&conn, sql, &[Value::I64(2)]), [2, 3]);
        assert_eq!(ints(&conn, sql, &[Value::I64(3)]), [3]);
        assert_eq!(conn.statements.table.borrow().len(), 1);
        // Too few parameters is the driver's error, not a stale binding.
        let mut none = |_: &dyn Row| Ok(());
        assert!(conn
            .query::<Value>(sql.into(), &[], &mut FnSink(&mut none))
            .is_err());
    }

    #[test]
    fn the_same_statement_runs_inside_its_own_row_callback() {
        let conn = SqliteConn::open(":memory:").unwrap();
        conn.execute_batch("CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1), (2);")
            .unwrap();
        let sql = "SELECT a FROM t WHERE a >= ? ORDER BY a";
        let mut seen = Vec::new();
        conn.query(
            sql.into(),
            &[Value::I64(1)],
            &mut FnSink(&mut |row| {
                let a = row.get_i64(0)?;
                seen.push((a, ints(&conn, sql, &[Value::I64(a)])));
                Ok(())
            }),
        )
        .unwrap();
        assert_eq!(seen, [(1, vec![1, 2]), (2, vec![2])]);
        assert_eq!(ints(&conn, sql, &[Value::I64(2)]), [2]);
    }

    #[test]
    fn a_kept_statement_follows_a_schema_change() {
        let conn = SqliteConn::open(":memory:").unwrap();
        conn.execute_batch("CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1);")
            .unwrap();
        let sql = "SELECT a FROM t";
        assert_eq!(ints(&conn, sql, &[]), [1]);
        conn.execute_batch(
            "DROP TABLE t; CREATE TABLE t (b TEXT, a INTEGER); INSERT INTO t VALUES ('x', 7);",
        )
        .unwrap();
        assert_eq!(ints(&conn, sql, &[]), [7]);
        conn.execute_batch("DROP TABLE t").unwrap();
        let mut none = |_: &dyn Row| Ok(());
        let err = conn
            .query::<Value>(sql.into(), &[], &mut FnSink(&mut none))
            .unwrap_err();
        assert!(err.to_string().contains("no such table"), "{err}");
    }

    #[test]
    fn the_table_of_statements_stays_bounded() {
        let conn = SqliteConn::open(":memory:").unwrap();
        for i in 0..(STATEMENTS + 10) {
            assert_eq!(ints(&conn, &format!("SELECT {i}"), &[]), [i as i64]);
        }
        assert!(conn.statements.table.borrow().len() <= STATEMENTS);
    }
}
