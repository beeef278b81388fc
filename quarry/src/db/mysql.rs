//! The MySQL / MariaDB backend, on the pure-Rust `mysql` crate (no TLS).
//!
//! Datetimes are stored as UTC in `datetime(6)`; the session runs with `time_zone = '+00:00'`.
//! Affected-row counts are rows *matched* (`CLIENT_FOUND_ROWS`), as Django asks for, so
//! `save()` can tell an unchanged row from a missing one.

use super::statements::StatementMap;
use super::{log_statement, statement_started, Row, RowSink, SqlText};
use crate::error::{Error, IntegrityKind, Result};
use crate::model::FieldKind;
use crate::sql::{Dialect, MysqlDialect};
use crate::value::{BindRef, Bindable, Value};
use chrono::{Datelike, NaiveDate, NaiveTime, TimeDelta, Timelike};
use mysql::prelude::Queryable;
use mysql::Value as MyValue;
use std::cell::{Ref, RefCell};

static MYSQL: MysqlDialect = MysqlDialect { returning: false };
static MARIADB: MysqlDialect = MysqlDialect { returning: true };

/// Statements a connection keeps prepared, at most: half the driver's own cache, so that
/// the driver never evicts (and closes) one this map still holds (every statement is
/// prepared through the map, so at most this many others are prepared after one).
const STATEMENT_CACHE: usize = 128;

/// An open MySQL or MariaDB connection with its prepared statements.
pub(crate) struct MyConn {
    conn: RefCell<mysql::Conn>,
    /// By SQL text: the driver's `exec` with a text parses it for named parameters on
    /// every call (a tenth of a ten-row insert's client time), with a statement it does not.
    statements: StatementMap<mysql::Statement>,
    dialect: &'static MysqlDialect,
    broken: std::cell::Cell<bool>,
}

impl MyConn {
    pub(crate) fn open(url: &str) -> Result<MyConn> {
        let opts = mysql::Opts::from_url(url)
            .map_err(|e| crate::db::config_error(format!("bad MySQL URL '{url}': {e}")))?;
        let opts = mysql::OptsBuilder::from_opts(opts)
            .additional_capabilities(mysql::consts::CapabilityFlags::CLIENT_FOUND_ROWS)
            .stmt_cache_size(Some(2 * STATEMENT_CACHE))
            .init(vec![
                "SET time_zone = '+00:00'",
                "SET sql_mode = 'STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION'",
            ]);
        let mut conn = mysql::Conn::new(opts).map_err(|e| map_error(e, None))?;
        let version: String = conn
            .query_first("SELECT VERSION()")
            .map_err(|e| map_error(e, None))?
            .unwrap_or_default();
        let dialect = if version.to_ascii_lowercase().contains("mariadb") {
            &MARIADB
        } else {
            &MYSQL
        };
        Ok(MyConn {
            conn: RefCell::new(conn),
            statements: StatementMap::new(STATEMENT_CACHE),
            dialect,
            broken: std::cell::Cell::new(false),
        })
    }

    pub(crate) fn dialect(&self) -> &'static dyn Dialect {
        self.dialect
    }

    pub(crate) fn is_broken(&self) -> bool {
        self.broken.get()
    }

    fn fail(&self, e: mysql::Error, sql: &str) -> Error {
        if matches!(
            e,
            mysql::Error::IoError(_) | mysql::Error::CodecError(_) | mysql::Error::DriverError(_)
        ) {
            self.broken.set(true);
        }
        map_error(e, Some(sql))
    }

    /// The prepared statement of `sql`, prepared on first use.
    fn statement(&self, conn: &mut mysql::Conn, sql: SqlText<'_>) -> Result<mysql::Statement> {
        self.statements.get_or_prepare(sql, || {
            let sql = sql.text();
            conn.prep(sql).map_err(|e| self.fail(e, sql))
        })
    }

    pub(crate) fn execute<P: Bindable>(&self, sql: SqlText<'_>, params: &[P]) -> Result<u64> {
        let (key, sql) = (sql, sql.text());
        let started = statement_started();
        let mut conn = self.conn.borrow_mut();
        let stmt = self.statement(&mut conn, key)?;
        conn.exec_drop(&stmt, to_params(params))
            .map_err(|e| self.fail(e, sql))?;
        let n = conn.affected_rows();
        log_statement(sql, params, started, n);
        Ok(n)
    }

    pub(crate) fn execute_batch(&self, sql: &str) -> Result<()> {
        let started = statement_started();
        self.conn
            .borrow_mut()
            .query_drop(sql)
            .map_err(|e| self.fail(e, sql))?;
        log_statement::<Value>(sql, &[], started, 0);
        Ok(())
    }

    pub(crate) fn query<P: Bindable>(
        &self,
        sql: SqlText<'_>,
        params: &[P],
        sink: &mut dyn RowSink,
    ) -> Result<()> {
        let (key, sql) = (sql, sql.text());
        let started = statement_started();
        let mut conn = self.conn.borrow_mut();
        let stmt = self.statement(&mut conn, key)?;
        let mut result = conn
            .exec_iter(&stmt, to_params(params))
            .map_err(|e| self.fail(e, sql))?;
        let mut n = 0u64;
        // Read every row even after an error in `each`, so the connection stays usable.
        let mut failed = None;
        for row in result.by_ref() {
            let row = row.map_err(|e| self.fail(e, sql))?;
            n += 1;
            if failed.is_none() {
                if let Err(e) = sink.mysql_row(&MyRow(RefCell::new(row.unwrap_raw()))) {
                    failed = Some(e);
                }
            }
        }
        drop(result);
        log_statement(sql, params, started, n);
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

fn to_params<P: Bindable>(params: &[P]) -> mysql::Params {
    if params.is_empty() {
        return mysql::Params::Empty;
    }
    mysql::Params::Positional(
        params
            .iter()
            .map(|p| match p.bind_ref() {
                BindRef::Text(s) => MyValue::Bytes(s.as_bytes().to_vec()),
                BindRef::Bytes(b) => MyValue::Bytes(b.to_vec()),
                BindRef::Value(v) => to_my(v),
            })
            .collect(),
    )
}

fn to_my(v: &Value) -> MyValue {
    match v {
        Value::Null => MyValue::NULL,
        Value::Bool(b) => MyValue::Int(*b as i64),
        Value::I64(i) => MyValue::Int(*i),
        Value::F64(f) => MyValue::Double(*f),
        Value::Text(s) => MyValue::Bytes(s.as_bytes().to_vec()),
        Value::Bytes(b) => MyValue::Bytes(b.clone()),
        Value::Decimal(d) => MyValue::Bytes(d.to_string().into_bytes()),
        Value::Date(d) => {
            MyValue::Date(d.year() as u16, d.month() as u8, d.day() as u8, 0, 0, 0, 0)
        }
        Value::Time(t) => MyValue::Time(
            false,
            0,
            t.hour() as u8,
            t.minute() as u8,
            t.second() as u8,
            t.nanosecond() / 1000,
        ),
        Value::DateTime(dt) => {
            let n = dt.naive_utc();
            MyValue::Date(
                n.year() as u16,
                n.month() as u8,
                n.day() as u8,
                n.hour() as u8,
                n.minute() as u8,
                n.second() as u8,
                n.nanosecond() / 1000,
            )
        }
        Value::Duration(d) => MyValue::Int(d.num_microseconds().unwrap_or(i64::MAX)),
        Value::Uuid(u) => MyValue::Bytes(u.simple().to_string().into_bytes()),
        Value::Json(j) => MyValue::Bytes(j.to_string().into_bytes()),
        Value::List(_) => MyValue::NULL,
    }
}

/// A MariaDB row: the driver row's cells (`mysql::Row::unwrap_raw`, which moves them
/// out of the row without a copy). Each text cell is a `Vec<u8>` the row owns:
/// hydration takes it out (`take_string`) instead of copying it, one allocation and
/// one copy less per text cell; the other getters read in place.
pub struct MyRow(RefCell<Vec<Option<MyValue>>>);

impl MyRow {
    #[inline]
    fn raw(&self, idx: usize) -> Result<Ref<'_, MyValue>> {
        Ref::filter_map(self.0.borrow(), |r| r.get(idx)?.as_ref())
            .map_err(|row| missing_cell(idx, row.len()))
    }

    /// The bytes of a `Bytes` cell, moved out of the row and checked by `convert`.
    /// Any other cell is left as it is. A failed conversion puts the bytes back, so that
    /// a second read reports the same problem.
    ///
    /// Inlined into each reader with the text getters: returned through memory, the
    /// result was read back with a wide load its narrower stores could not forward to,
    /// a stall per cell (seen by time in benches/).
    #[inline(always)]
    fn take_bytes_with<T>(
        &self,
        idx: usize,
        convert: impl FnOnce(Vec<u8>) -> std::result::Result<T, (Vec<u8>, Error)>,
    ) -> Result<Taken<T>> {
        let mut row = self.0.borrow_mut();
        let Some(cell) = row.get_mut(idx) else {
            return Ok(Taken::Other);
        };
        match cell {
            Some(MyValue::Bytes(_)) => {}
            Some(MyValue::NULL) => return Ok(Taken::Null),
            _ => return Ok(Taken::Other),
        }
        let Some(MyValue::Bytes(bytes)) = cell.take() else {
            unreachable!("the cell was checked to hold bytes");
        };
        match convert(bytes) {
            Ok(v) => Ok(Taken::Value(v)),
            Err((bytes, e)) => {
                *cell = Some(MyValue::Bytes(bytes));
                Err(e)
            }
        }
    }

    #[inline(always)]
    fn take_text(&self, idx: usize) -> Result<Taken<String>> {
        self.take_bytes_with(idx, |bytes| {
            String::from_utf8(bytes).map_err(|e| not_utf8(idx, e))
        })
    }

    /// [`Row::get_string`] out of line: the text getters' path for a cell that is not
    /// text (a number, a date) or not there.
    #[cold]
    #[inline(never)]
    fn string_slow(&self, idx: usize) -> Result<String> {
        self.get_string(idx)
    }
}

/// A cell that is not there: past the row's end, or moved out by an earlier read.
#[cold]
fn missing_cell(idx: usize, width: usize) -> Error {
    let why = if idx < width {
        "the cell was read already (its text was moved out by the first read)"
    } else {
        "no such column"
    };
    Error::conversion(format!("column {idx}"), why)
}

/// Text that is not UTF-8, with its bytes handed back to be put back in the cell.
#[cold]
fn not_utf8(idx: usize, e: std::string::FromUtf8Error) -> (Vec<u8>, Error) {
    let message = e.utf8_error().to_string();
    (
        e.into_bytes(),
        Error::conversion(format!("column {idx}"), message),
    )
}

/// What [`MyRow::take_bytes_with`] found in a cell.
enum Taken<T> {
    /// The cell's bytes, converted; the cell is empty now.
    Value(T),
    /// NULL (left in place).
    Null,
    /// Anything else (left in place, for the copying getters).
    Other,
}

/// A cell as an integer, shared by `get_i64` and `get_i64_opt`.
#[inline]
fn integer(idx: usize, v: &MyValue) -> Result<i64> {
    match v {
        MyValue::Int(i) => Ok(*i),
        MyValue::UInt(u) => i64::try_from(*u).map_err(|_| too_big(idx, *u)),
        MyValue::Double(f) if f.fract() == 0.0 => Ok(*f as i64),
        MyValue::Bytes(b) => integer_text(idx, b),
        other => Err(wrong(idx, "an integer", other)),
    }
}

#[cold]
fn too_big(idx: usize, u: u64) -> Error {
    Error::conversion(format!("column {idx}"), format!("{u} does not fit in i64"))
}

/// An integer sent as text (a `DECIMAL` result, an expression).
#[inline(never)]
fn integer_text(idx: usize, b: &[u8]) -> Result<i64> {
    let s = String::from_utf8_lossy(b);
    let s = s.trim();
    s.parse::<i64>()
        .or_else(|_| {
            s.parse::<rust_decimal::Decimal>()
                .map_err(|_| ())
                .and_then(|d| i64::try_from(d.trunc()).map_err(|_| ()))
        })
        .map_err(|_| Error::conversion(format!("column {idx}"), format!("'{s}' is not an integer")))
}

#[cold]
fn wrong(idx: usize, expected: &str, got: &MyValue) -> Error {
    Error::conversion(
        format!("column {idx}"),
        format!("expected {expected}, found {got:?}"),
    )
}

fn text(idx: usize, v: &MyValue) -> Result<String> {
    match v {
        MyValue::Bytes(b) => String::from_utf8(b.clone())
            .map_err(|e| Error::conversion(format!("column {idx}"), e.to_string())),
        MyValue::Int(i) => Ok(i.to_string()),
        MyValue::UInt(u) => Ok(u.to_string()),
        MyValue::Double(f) => Ok(f.to_string()),
        MyValue::Float(f) => Ok(f.to_string()),
        other => Err(wrong(idx, "text", other)),
    }
}

impl Row for MyRow {
    #[inline]
    fn len(&self) -> usize {
        self.0.borrow().len()
    }

    #[inline]
    fn is_null(&self, idx: usize) -> Result<bool> {
        Ok(matches!(*self.raw(idx)?, MyValue::NULL))
    }

    #[inline]
    fn get_i64(&self, idx: usize) -> Result<i64> {
        integer(idx, &*self.raw(idx)?)
    }

    #[inline]
    fn get_i64_opt(&self, idx: usize) -> Result<Option<i64>> {
        match &*self.raw(idx)? {
            MyValue::NULL => Ok(None),
            v => integer(idx, v).map(Some),
        }
    }

    #[inline]
    fn get_f64(&self, idx: usize) -> Result<f64> {
        match &*self.raw(idx)? {
            MyValue::Double(f) => Ok(*f),
            MyValue::Float(f) => Ok(*f as f64),
            MyValue::Int(i) => Ok(*i as f64),
            MyValue::UInt(u) => Ok(*u as f64),
            MyValue::Bytes(b) => String::from_utf8_lossy(b)
                .trim()
                .parse()
                .map_err(|_| Error::conversion(format!("column {idx}"), "not a float")),
            other => Err(wrong(idx, "a float", other)),
        }
    }

    #[inline]
    fn get_bool(&self, idx: usize) -> Result<bool> {
        self.get_i64(idx).map(|i| i != 0)
    }

    #[inline]
    fn get_string(&self, idx: usize) -> Result<String> {
        match &*self.raw(idx)? {
            MyValue::Date(..) | MyValue::Time(..) => {
                Ok(self.raw(idx)?.as_sql(true).trim_matches('\'').to_owned())
            }
            v => text(idx, v),
        }
    }

    #[inline]
    fn get_bytes(&self, idx: usize) -> Result<Vec<u8>> {
        match &*self.raw(idx)? {
            MyValue::Bytes(b) => Ok(b.clone()),
            other => Err(wrong(idx, "bytes", other)),
        }
    }

    #[inline(always)]
    fn take_string(&self, idx: usize) -> Result<String> {
        match self.take_text(idx)? {
            Taken::Value(s) => Ok(s),
            Taken::Null | Taken::Other => self.string_slow(idx),
        }
    }

    #[inline(always)]
    fn take_string_opt(&self, idx: usize) -> Result<Option<String>> {
        match self.take_text(idx)? {
            Taken::Value(s) => Ok(Some(s)),
            Taken::Null => Ok(None),
            Taken::Other => self.string_slow(idx).map(Some),
        }
    }

    #[inline]
    fn take_bytes(&self, idx: usize) -> Result<Vec<u8>> {
        match self.take_bytes_with(idx, Ok)? {
            Taken::Value(b) => Ok(b),
            Taken::Null | Taken::Other => self.get_bytes(idx),
        }
    }

    fn value(&self, idx: usize, kind: FieldKind) -> Result<Value> {
        use FieldKind::*;
        let raw_cell = self.raw(idx)?;
        let raw = &*raw_cell;
        if matches!(raw, MyValue::NULL) {
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
                MyValue::Int(i) => (*i).into(),
                MyValue::UInt(u) => (*u).into(),
                MyValue::Double(f) => f.to_string().parse().map_err(|_| bad("decimal"))?,
                v => text(idx, v)?.trim().parse().map_err(|_| bad("decimal"))?,
            }),
            DateField => match raw {
                MyValue::Date(y, m, d, ..) => Value::Date(
                    NaiveDate::from_ymd_opt(*y as i32, *m as u32, *d as u32)
                        .ok_or_else(|| bad("date"))?,
                ),
                v => Value::Date(
                    NaiveDate::parse_from_str(&text(idx, v)?, "%Y-%m-%d")
                        .map_err(|_| bad("date"))?,
                ),
            },
            DateTimeField => match raw {
                MyValue::Date(y, m, d, h, mi, s, us) => Value::DateTime(
                    NaiveDate::from_ymd_opt(*y as i32, *m as u32, *d as u32)
                        .and_then(|date| {
                            date.and_hms_micro_opt(*h as u32, *mi as u32, *s as u32, *us)
                        })
                        .ok_or_else(|| bad("datetime"))?
                        .and_utc(),
                ),
                v => Value::DateTime(
                    chrono::NaiveDateTime::parse_from_str(&text(idx, v)?, "%Y-%m-%d %H:%M:%S%.f")
                        .map_err(|_| bad("datetime"))?
                        .and_utc(),
                ),
            },
            TimeField => match raw {
                MyValue::Time(_, _, h, m, s, us) => Value::Time(
                    NaiveTime::from_hms_micro_opt(*h as u32, *m as u32, *s as u32, *us)
                        .ok_or_else(|| bad("time"))?,
                ),
                v => Value::Time(
                    NaiveTime::parse_from_str(&text(idx, v)?, "%H:%M:%S%.f")
                        .map_err(|_| bad("time"))?,
                ),
            },
            DurationField => Value::Duration(TimeDelta::microseconds(self.get_i64(idx)?)),
            UUIDField => {
                Value::Uuid(uuid::Uuid::parse_str(&text(idx, raw)?).map_err(|_| bad("uuid"))?)
            }
            BinaryField => Value::Bytes(self.get_bytes(idx)?),
            JSONField => {
                Value::Json(serde_json::from_str(&text(idx, raw)?).map_err(|_| bad("JSON"))?)
            }
            _ => match raw {
                MyValue::Int(i) => Value::I64(*i),
                MyValue::UInt(u) => Value::I64(*u as i64),
                MyValue::Double(f) => Value::F64(*f),
                MyValue::Float(f) => Value::F64(*f as f64),
                MyValue::Date(..) | MyValue::Time(..) => Value::Text(self.get_string(idx)?),
                v => Value::Text(text(idx, v)?),
            },
        })
    }
}

/// Maps a `mysql` error onto quarry's error, classifying constraint violations.
#[cold]
pub(crate) fn map_error(e: mysql::Error, sql: Option<&str>) -> Error {
    if let mysql::Error::MySqlError(me) = &e {
        let kind = match me.code {
            1062 | 1586 => Some(IntegrityKind::Unique),
            1048 | 1364 => Some(IntegrityKind::NotNull),
            1216 | 1217 | 1451 | 1452 => Some(IntegrityKind::ForeignKey),
            3819 | 4025 => Some(IntegrityKind::Check),
            _ => None,
        };
        if let Some(kind) = kind {
            // "Duplicate entry 'x' for key 'name'" / "CONSTRAINT `name` failed for ..."
            let constraint = me
                .message
                .rsplit_once("for key '")
                .map(|(_, k)| k.trim_end_matches('\'').to_owned())
                .or_else(|| {
                    me.message
                        .split_once('`')
                        .and_then(|(_, rest)| rest.split_once('`'))
                        .map(|(c, _)| c.to_owned())
                })
                .or_else(|| {
                    me.message
                        .split_once("Column '")
                        .and_then(|(_, rest)| rest.split_once('\''))
                        .map(|(c, _)| c.to_owned())
                });
            return Error::IntegrityError {
                kind,
                constraint,
                message: me.message.clone(),
                sql_state: Some(me.state.clone()),
            };
        }
        return Error::Database {
            message: me.message.clone(),
            sql_state: Some(me.state.clone()),
            sql: sql.map(str::to_owned),
        };
    }
    Error::Database {
        message: e.to_string(),
        sql_state: None,
        sql: sql.map(str::to_owned),
    }
}
