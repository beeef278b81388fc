//! The PostgreSQL backend, on the pure-Rust `tokio-postgres` crate (no TLS), driven
//! synchronously by a current-thread runtime of its own per connection.
//!
//! Parameters are converted to the type the server inferred for each placeholder, so an
//! `i64` binds to an `integer` column and a decimal to `numeric`. Sessions run in UTC.
//!
//! Why not the blocking `postgres` crate (the same wire code wrapped in a runtime): its
//! `query` collects every row before handing the first out, and its streaming
//! `query_raw` enters the runtime once per row (twice the time per row). Here a query
//! enters the runtime once and each row goes to the caller as it is decoded: 10% less
//! client time per row than `postgres`' `query` on 10,000 rows (`benches/pg-drivers`).

use super::statements::StatementMap;
use super::{log_statement, statement_started, Row, RowSink, SqlText};
use crate::error::{Error, IntegrityKind, Result};
use crate::model::FieldKind;
use crate::sql::{Dialect, PostgresDialect};
use crate::value::{BindRef, Bindable, Value};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use rust_decimal::Decimal;
use tokio_postgres::types::{IsNull, ToSql, Type};

static DIALECT: PostgresDialect = PostgresDialect;

/// Statements a connection keeps prepared.
const STATEMENT_CACHE: usize = 256;

/// An open PostgreSQL connection with its prepared-statement cache.
pub(crate) struct PgConn {
    /// `None` only while `Drop` closes the connection.
    client: Option<tokio_postgres::Client>,
    statements: StatementMap<tokio_postgres::Statement>,
    /// The connection's I/O task, run whenever `runtime.block_on` runs.
    io: Option<tokio::task::JoinHandle<()>>,
    runtime: tokio::runtime::Runtime,
}

impl Drop for PgConn {
    fn drop(&mut self) {
        // Without the client the I/O task says goodbye to the server and ends.
        self.client = None;
        if let Some(io) = self.io.take() {
            let _ = self.runtime.block_on(io);
        }
    }
}

impl PgConn {
    pub(crate) fn open(url: &str) -> Result<PgConn> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| crate::db::config_error(format!("bad PostgreSQL URL '{url}': {e}")))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| crate::db::config_error(format!("cannot start PostgreSQL I/O: {e}")))?;
        let (client, io) = runtime.block_on(async {
            let (client, connection) = config
                .connect(tokio_postgres::NoTls)
                .await
                .map_err(|e| map_error(e, None))?;
            let io = tokio::spawn(async move {
                // A broken connection shows as `Client::is_closed` and errors on use.
                let _ = connection.await;
            });
            client
                .batch_execute("SET TIME ZONE 'UTC'")
                .await
                .map_err(|e| map_error(e, None))?;
            Ok::<_, Error>((client, io))
        })?;
        Ok(PgConn {
            client: Some(client),
            statements: StatementMap::new(STATEMENT_CACHE),
            io: Some(io),
            runtime,
        })
    }

    fn client(&self) -> &tokio_postgres::Client {
        self.client.as_ref().expect("the client lives until drop")
    }

    pub(crate) fn dialect(&self) -> &'static dyn Dialect {
        &DIALECT
    }

    pub(crate) fn is_broken(&self) -> bool {
        self.client().is_closed()
    }

    fn statement(&self, sql: SqlText<'_>) -> Result<tokio_postgres::Statement> {
        self.statements.get_or_prepare(sql, || {
            let sql = sql.text();
            self.runtime
                .block_on(self.client().prepare(sql))
                .map_err(|e| map_error(e, Some(sql)))
        })
    }

    pub(crate) fn execute<P: Bindable>(&self, sql: SqlText<'_>, params: &[P]) -> Result<u64> {
        let (key, sql) = (sql, sql.text());
        let started = statement_started();
        let stmt = self.statement(key)?;
        let n = self
            .runtime
            .block_on(
                self.client()
                    .execute_raw(&stmt, params.iter().map(|p| Bind(p.bind_ref()))),
            )
            .map_err(|e| map_error(e, Some(sql)))?;
        log_statement(sql, params, started, n);
        Ok(n)
    }

    pub(crate) fn execute_batch(&self, sql: &str) -> Result<()> {
        let started = statement_started();
        self.runtime
            .block_on(self.client().batch_execute(sql))
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
        let (key, sql) = (sql, sql.text());
        use futures_util::TryStreamExt;
        let started = statement_started();
        let stmt = self.statement(key)?;
        let n = self.runtime.block_on(async {
            let rows = self
                .client()
                .query_raw(&stmt, params.iter().map(|p| Bind(p.bind_ref())))
                .await
                .map_err(|e| map_error(e, Some(sql)))?;
            let mut rows = std::pin::pin!(rows);
            let mut n = 0u64;
            while let Some(row) = rows.try_next().await.map_err(|e| map_error(e, Some(sql)))? {
                n += 1;
                sink.postgres_row(&PgRow { row: &row })?;
            }
            Ok::<_, Error>(n)
        })?;
        log_statement(sql, params, started, n);
        Ok(())
    }
}

/// A parameter, converted to the type the server expects at its placeholder.
#[derive(Debug)]
struct Bind<'a>(BindRef<'a>);

type BoxError = Box<dyn std::error::Error + Sync + Send>;

fn encode_interval(d: &TimeDelta, out: &mut tokio_postgres::types::private::BytesMut) {
    let micros = d.num_microseconds().unwrap_or(i64::MAX);
    out.extend_from_slice(&micros.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes()); // days
    out.extend_from_slice(&0i32.to_be_bytes()); // months
}

fn decode_interval(raw: &[u8]) -> std::result::Result<TimeDelta, BoxError> {
    if raw.len() != 16 {
        return Err("an interval is 16 bytes".into());
    }
    let micros = i64::from_be_bytes(raw[0..8].try_into()?);
    let days = i32::from_be_bytes(raw[8..12].try_into()?) as i64;
    let months = i32::from_be_bytes(raw[12..16].try_into()?) as i64;
    Ok(TimeDelta::microseconds(micros) + TimeDelta::days(days + months * 30))
}

/// An interval read from a row.
struct Interval(TimeDelta);

impl<'a> tokio_postgres::types::FromSql<'a> for Interval {
    fn from_sql(_: &Type, raw: &'a [u8]) -> std::result::Result<Self, BoxError> {
        decode_interval(raw).map(Interval)
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }
}

impl ToSql for Bind<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut tokio_postgres::types::private::BytesMut,
    ) -> std::result::Result<IsNull, BoxError> {
        match self.0 {
            BindRef::Text(s) => text_to_sql(s, ty, out),
            BindRef::Bytes(b) => b.to_sql(ty, out),
            BindRef::Value(v) => value_to_sql(v, ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

/// Text, as the column at its placeholder wants it.
fn text_to_sql(
    s: &str,
    ty: &Type,
    out: &mut tokio_postgres::types::private::BytesMut,
) -> std::result::Result<IsNull, BoxError> {
    match *ty {
        Type::JSON | Type::JSONB => serde_json::Value::String(s.to_owned()).to_sql(ty, out),
        _ => s.to_sql(ty, out),
    }
}

/// A value, converted to the type the server expects at its placeholder.
fn value_to_sql(
    value: &Value,
    ty: &Type,
    out: &mut tokio_postgres::types::private::BytesMut,
) -> std::result::Result<IsNull, BoxError> {
    match value {
        Value::Null => Ok(IsNull::Yes),
        Value::Bool(b) => match *ty {
            Type::BOOL => b.to_sql(ty, out),
            _ => int_to_sql(*b as i64, ty, out),
        },
        Value::I64(i) => int_to_sql(*i, ty, out),
        Value::F64(f) => match *ty {
            Type::FLOAT4 => (*f as f32).to_sql(ty, out),
            Type::NUMERIC => Decimal::try_from(*f)?.to_sql(ty, out),
            Type::TEXT | Type::VARCHAR => f.to_string().to_sql(ty, out),
            _ => f.to_sql(ty, out),
        },
        Value::Text(s) => text_to_sql(s, ty, out),
        Value::Bytes(b) => b.as_slice().to_sql(ty, out),
        Value::Decimal(d) => match *ty {
            Type::FLOAT4 | Type::FLOAT8 => rust_decimal::prelude::ToPrimitive::to_f64(d)
                .unwrap_or(f64::NAN)
                .to_sql(ty, out),
            Type::TEXT | Type::VARCHAR => d.to_string().to_sql(ty, out),
            _ => d.to_sql(ty, out),
        },
        Value::Date(d) => match *ty {
            Type::TIMESTAMPTZ => d
                .and_hms_opt(0, 0, 0)
                .expect("midnight exists")
                .and_utc()
                .to_sql(ty, out),
            Type::TEXT | Type::VARCHAR => d.to_string().to_sql(ty, out),
            _ => d.to_sql(ty, out),
        },
        Value::Time(t) => t.to_sql(ty, out),
        Value::DateTime(dt) => match *ty {
            Type::TIMESTAMP => dt.naive_utc().to_sql(ty, out),
            Type::DATE => dt.date_naive().to_sql(ty, out),
            _ => dt.to_sql(ty, out),
        },
        Value::Duration(d) => match *ty {
            Type::INTERVAL => {
                encode_interval(d, out);
                Ok(IsNull::No)
            }
            _ => int_to_sql(d.num_microseconds().unwrap_or(i64::MAX), ty, out),
        },
        Value::Uuid(u) => match *ty {
            Type::TEXT | Type::VARCHAR | Type::BPCHAR => u.simple().to_string().to_sql(ty, out),
            _ => u.to_sql(ty, out),
        },
        Value::Json(j) => match *ty {
            Type::TEXT | Type::VARCHAR => j.to_string().to_sql(ty, out),
            _ => j.to_sql(ty, out),
        },
        Value::List(_) => Err("a list can only be bound by the `in` and `range` lookups".into()),
    }
}

fn int_to_sql(
    i: i64,
    ty: &Type,
    out: &mut tokio_postgres::types::private::BytesMut,
) -> std::result::Result<IsNull, BoxError> {
    match *ty {
        Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
        Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
        Type::FLOAT4 => (i as f32).to_sql(ty, out),
        Type::FLOAT8 => (i as f64).to_sql(ty, out),
        Type::NUMERIC => Decimal::from(i).to_sql(ty, out),
        Type::BOOL => (i != 0).to_sql(ty, out),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => i.to_string().to_sql(ty, out),
        Type::INTERVAL => {
            encode_interval(&TimeDelta::microseconds(i), out);
            Ok(IsNull::No)
        }
        Type::JSON | Type::JSONB => serde_json::Value::from(i).to_sql(ty, out),
        _ => i.to_sql(ty, out),
    }
}

/// A PostgreSQL result row, as hydration reads it (see [`RowSink`]).
pub struct PgRow<'a> {
    row: &'a tokio_postgres::Row,
}

impl PgRow<'_> {
    #[inline]
    fn get<'r, T: tokio_postgres::types::FromSql<'r>>(&'r self, idx: usize) -> Result<T> {
        self.row.try_get(idx).map_err(|e| column_error(idx, e))
    }

    #[inline]
    fn ty(&self, idx: usize) -> Result<&Type> {
        self.row
            .columns()
            .get(idx)
            .map(|c| c.type_())
            .ok_or_else(|| column_error(idx, "no such column"))
    }

    /// The cell as `T`, or `None` when the driver refuses it: the getters' fast paths
    /// look at this, which leaves no destructor of the driver's error to run on the way
    /// (their slow paths read the cell again for the error).
    #[inline(always)]
    fn cell<'r, T: tokio_postgres::types::FromSql<'r>>(&'r self, idx: usize) -> Option<T> {
        self.row.try_get(idx).ok()
    }

    /// An integer from a column that is not a plain `int4`/`int8`: `int2`, `numeric`,
    /// a float, a boolean; or the error that names the column.
    #[cold]
    #[inline(never)]
    fn integer_slow(&self, idx: usize) -> Result<i64> {
        match *self.ty(idx)? {
            Type::INT2 => self.get::<i16>(idx).map(i64::from),
            Type::INT4 => self.get::<i32>(idx).map(i64::from),
            Type::NUMERIC => {
                let d: Decimal = self.get(idx)?;
                i64::try_from(d).map_err(|e| column_error(idx, e))
            }
            Type::FLOAT8 => self.get::<f64>(idx).map(|f| f as i64),
            Type::BOOL => self.get::<bool>(idx).map(i64::from),
            _ => self.get::<i64>(idx),
        }
    }

    /// Text from a column that is not text (an integer written out, or whatever the
    /// driver reads as a `String`), `None` for NULL; or the error that names the column.
    #[cold]
    #[inline(never)]
    fn text_slow(&self, idx: usize) -> Result<Option<String>> {
        if self.is_null(idx)? {
            return Ok(None);
        }
        match *self.ty(idx)? {
            Type::INT2 | Type::INT4 | Type::INT8 => {
                self.integer_slow(idx).map(|i| Some(i.to_string()))
            }
            _ => self.get(idx).map(Some),
        }
    }
}

/// A cell the driver could not give or convert.
#[cold]
fn column_error(idx: usize, e: impl std::fmt::Display) -> Error {
    Error::conversion(format!("column {idx}"), e.to_string())
}

impl Row for PgRow<'_> {
    #[inline]
    fn len(&self) -> usize {
        self.row.len()
    }

    #[inline]
    fn is_null(&self, idx: usize) -> Result<bool> {
        self.get::<Option<RawNull>>(idx).map(|v| v.is_none())
    }

    /// An `int4` or `int8` column inline; anything else out of line
    /// ([`PgRow::integer_slow`]). The fast path reads the cell through
    /// [`PgRow::cell`].
    #[inline(always)]
    fn get_i64(&self, idx: usize) -> Result<i64> {
        match self.ty(idx)? {
            ty if *ty == Type::INT4 => {
                if let Some(i) = self.cell::<i32>(idx) {
                    return Ok(i64::from(i));
                }
            }
            ty if *ty == Type::INT8 => {
                if let Some(i) = self.cell::<i64>(idx) {
                    return Ok(i);
                }
            }
            _ => {}
        }
        self.integer_slow(idx)
    }

    #[inline]
    fn get_f64(&self, idx: usize) -> Result<f64> {
        match *self.ty(idx)? {
            Type::FLOAT4 => self.get::<f32>(idx).map(f64::from),
            Type::NUMERIC => {
                let d: Decimal = self.get(idx)?;
                Ok(rust_decimal::prelude::ToPrimitive::to_f64(&d).unwrap_or(f64::NAN))
            }
            Type::INT2 | Type::INT4 | Type::INT8 => self.get_i64(idx).map(|i| i as f64),
            _ => self.get::<f64>(idx),
        }
    }

    #[inline]
    fn get_bool(&self, idx: usize) -> Result<bool> {
        match *self.ty(idx)? {
            Type::BOOL => self.get(idx),
            _ => self.get_i64(idx).map(|i| i != 0),
        }
    }

    /// Text columns inline, read as `&str` and copied once; anything else out of line
    /// ([`PgRow::text_slow`]). Returned from an out-of-line getter, the `String` was
    /// read back with a wide load its narrower stores could not forward to.
    #[inline(always)]
    fn get_string(&self, idx: usize) -> Result<String> {
        match self.cell::<Option<&str>>(idx) {
            Some(Some(s)) => Ok(s.to_owned()),
            _ => self
                .text_slow(idx)?
                .ok_or_else(|| column_error(idx, "a NULL where text was expected")),
        }
    }

    #[inline(always)]
    fn get_string_opt(&self, idx: usize) -> Result<Option<String>> {
        match self.cell::<Option<&str>>(idx) {
            Some(s) => Ok(s.map(str::to_owned)),
            None => self.text_slow(idx),
        }
    }

    #[inline(always)]
    fn get_i64_opt(&self, idx: usize) -> Result<Option<i64>> {
        match self.ty(idx)? {
            ty if *ty == Type::INT4 => {
                if let Some(i) = self.cell::<Option<i32>>(idx) {
                    return Ok(i.map(i64::from));
                }
            }
            ty if *ty == Type::INT8 => {
                if let Some(i) = self.cell::<Option<i64>>(idx) {
                    return Ok(i);
                }
            }
            _ => {}
        }
        if self.is_null(idx)? {
            return Ok(None);
        }
        self.integer_slow(idx).map(Some)
    }

    #[inline]
    fn get_bytes(&self, idx: usize) -> Result<Vec<u8>> {
        self.get(idx)
    }

    fn value(&self, idx: usize, kind: FieldKind) -> Result<Value> {
        use FieldKind::*;
        let ty = self.ty(idx)?.clone();
        macro_rules! opt {
            ($t:ty, $wrap:expr) => {
                match self.get::<Option<$t>>(idx)? {
                    None => Value::Null,
                    Some(v) => $wrap(v),
                }
            };
        }
        Ok(match (kind, &ty) {
            (_, &Type::INT2) => opt!(i16, |v| Value::I64(v as i64)),
            (_, &Type::INT4) => opt!(i32, |v| Value::I64(v as i64)),
            (_, &Type::INT8) => opt!(i64, Value::I64),
            (_, &Type::BOOL) => opt!(bool, Value::Bool),
            (_, &Type::FLOAT4) => opt!(f32, |v| Value::F64(v as f64)),
            (_, &Type::FLOAT8) => opt!(f64, Value::F64),
            (k, &Type::NUMERIC) if k.is_integer() => {
                opt!(Decimal, |d: Decimal| Value::I64(
                    i64::try_from(d).unwrap_or(i64::MAX)
                ))
            }
            (FieldKind::FloatField, &Type::NUMERIC) => {
                opt!(Decimal, |d: Decimal| Value::F64(
                    rust_decimal::prelude::ToPrimitive::to_f64(&d).unwrap_or(f64::NAN)
                ))
            }
            (_, &Type::NUMERIC) => opt!(Decimal, Value::Decimal),
            (_, &Type::DATE) => opt!(NaiveDate, Value::Date),
            (_, &Type::TIME) => opt!(NaiveTime, Value::Time),
            (_, &Type::TIMESTAMPTZ) => opt!(DateTime<Utc>, Value::DateTime),
            (_, &Type::TIMESTAMP) => opt!(NaiveDateTime, |n: NaiveDateTime| Value::DateTime(
                n.and_utc()
            )),
            (_, &Type::INTERVAL) => opt!(Interval, |i: Interval| Value::Duration(i.0)),
            (_, &Type::UUID) => opt!(uuid::Uuid, Value::Uuid),
            (_, &Type::BYTEA) => opt!(Vec<u8>, Value::Bytes),
            (_, &Type::JSON | &Type::JSONB) => opt!(serde_json::Value, Value::Json),
            (UUIDField, _) => opt!(String, |s: String| uuid::Uuid::parse_str(&s)
                .map(Value::Uuid)
                .unwrap_or(Value::Text(s))),
            (_, _) => opt!(String, Value::Text),
        })
    }
}

/// Decodes nothing but NULL-ness, for any column type.
struct RawNull;

impl<'a> tokio_postgres::types::FromSql<'a> for RawNull {
    fn from_sql(_: &Type, _: &'a [u8]) -> std::result::Result<Self, BoxError> {
        Ok(RawNull)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Maps a `postgres` error onto quarry's error, classifying constraint violations.
#[cold]
pub(crate) fn map_error(e: tokio_postgres::Error, sql: Option<&str>) -> Error {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code().to_owned();
        let kind = match code.as_str() {
            "23505" => Some(IntegrityKind::Unique),
            "23502" => Some(IntegrityKind::NotNull),
            "23503" => Some(IntegrityKind::ForeignKey),
            "23514" => Some(IntegrityKind::Check),
            c if c.starts_with("23") => Some(IntegrityKind::Other),
            _ => None,
        };
        let mut message = db.message().to_owned();
        if let Some(detail) = db.detail() {
            message.push_str(&format!(" ({detail})"));
        }
        if let Some(kind) = kind {
            let constraint = db.constraint().map(str::to_owned).or_else(|| {
                db.column()
                    .map(|c| format!("{}.{c}", db.table().unwrap_or("")))
            });
            return Error::IntegrityError {
                kind,
                constraint,
                message,
                sql_state: Some(code),
            };
        }
        return Error::Database {
            message,
            sql_state: Some(code),
            sql: sql.map(str::to_owned),
        };
    }
    Error::Database {
        message: e.to_string(),
        sql_state: None,
        sql: sql.map(str::to_owned),
    }
}
