//! Values that cross the boundary between Rust and SQL.
//!
//! [`Value`] is what the compiler binds as a parameter and what dynamic rows
//! (`values()`, `values_list()`) carry. [`FieldValue`] maps a Rust type onto a field:
//! how it is bound, how it is read from a row by column index, and which Django field
//! kind it is by default.

use crate::db::Row;
use crate::error::{Error, Result};
use crate::model::FieldKind;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

/// A value bound to a statement or read from a dynamic row.
///
/// # Example
/// ```
/// use quarry::Value;
/// assert_eq!(Value::from(3), Value::I64(3));
/// assert_eq!(Value::from("a"), Value::Text("a".into()));
/// assert_eq!(Value::from(None::<i32>), Value::Null);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// Any integer.
    I64(i64),
    /// A float.
    F64(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Bytes(Vec<u8>),
    /// A fixed-point decimal.
    Decimal(Decimal),
    /// A date.
    Date(NaiveDate),
    /// A time of day.
    Time(NaiveTime),
    /// An aware datetime, in UTC.
    DateTime(DateTime<Utc>),
    /// A duration.
    Duration(TimeDelta),
    /// A UUID.
    Uuid(Uuid),
    /// A JSON document.
    Json(serde_json::Value),
    /// A list of values: the right side of `in` and `range`.
    List(Vec<Value>),
}

/// A statement parameter that borrows what it binds where it can: a bulk insert binds
/// each object's text and bytes fields in place, and a cached query binds its
/// conditions' values without copying them.
///
/// ```
/// use quarry::{Param, Value};
/// let name = Value::Text("Lyon".into());
/// assert_eq!(Param::Value(&name).to_value(), name);
/// assert_eq!(Param::Text("Lyon").to_value(), name);
/// assert_eq!(format!("{:?}", Param::Text("Lyon")), format!("{name:?}"));
/// ```
#[derive(Clone, PartialEq)]
pub enum Param<'a> {
    /// Text, borrowed.
    Text(&'a str),
    /// Bytes, borrowed.
    Bytes(&'a [u8]),
    /// A value, borrowed.
    Value(&'a Value),
    /// A value made for the statement (numbers, conversions).
    Owned(Value),
}

// A `Param` is no larger than a `Value`: a statement's parameters are kept inline
// (`Params`) and moved by value.
const _: () = assert!(std::mem::size_of::<Param<'static>>() == std::mem::size_of::<Value>());

/// A statement's parameters: most statements bind one or two, which need no allocation.
pub(crate) type Params<'a> = smallvec::SmallVec<[Param<'a>; 2]>;

impl Param<'_> {
    /// The parameter as an owned [`Value`] (copies borrowed text and bytes).
    pub fn to_value(&self) -> Value {
        match self {
            Param::Text(s) => Value::Text((*s).to_owned()),
            Param::Bytes(b) => Value::Bytes(b.to_vec()),
            Param::Value(v) => (*v).clone(),
            Param::Owned(v) => v.clone(),
        }
    }
}

/// A parameter equals the value it binds.
impl PartialEq<Value> for Param<'_> {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Param::Text(s), Value::Text(t)) => *s == t.as_str(),
            (Param::Bytes(b), Value::Bytes(c)) => *b == c.as_slice(),
            (Param::Text(_) | Param::Bytes(_), _) => false,
            (Param::Value(v), other) => *v == other,
            (Param::Owned(v), other) => v == other,
        }
    }
}

/// Written as the value it binds, so statement logs read the same whichever way a
/// parameter is held.
impl std::fmt::Debug for Param<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Param::Text(s) => f.debug_tuple("Text").field(s).finish(),
            Param::Bytes(b) => f.debug_tuple("Bytes").field(b).finish(),
            Param::Value(v) => v.fmt(f),
            Param::Owned(v) => v.fmt(f),
        }
    }
}

/// What a backend binds: a [`Value`] or a [`Param`], seen as a [`BindRef`].
pub(crate) trait Bindable: std::fmt::Debug {
    /// The parameter, borrowing from `self`.
    fn bind_ref(&self) -> BindRef<'_>;
}

/// A parameter seen by reference, what a backend's binder matches on. It owns nothing,
/// so the binders' temporaries have no drop glue to call (a call per parameter was a
/// tenth of the client side of a 50-row insert on SQLite).
#[derive(Debug, Clone, Copy)]
pub(crate) enum BindRef<'a> {
    /// Text.
    Text(&'a str),
    /// Bytes.
    Bytes(&'a [u8]),
    /// Any other value.
    Value(&'a Value),
}

impl Bindable for Value {
    #[inline]
    fn bind_ref(&self) -> BindRef<'_> {
        BindRef::Value(self)
    }
}

impl Bindable for Param<'_> {
    #[inline]
    fn bind_ref(&self) -> BindRef<'_> {
        match self {
            Param::Text(s) => BindRef::Text(s),
            Param::Bytes(b) => BindRef::Bytes(b),
            Param::Value(v) => BindRef::Value(v),
            Param::Owned(v) => BindRef::Value(v),
        }
    }
}

impl Value {
    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Converts the value into a Rust type, with the same rules as reading a column.
    ///
    /// ```
    /// use quarry::Value;
    /// let n: i32 = Value::I64(7).get().unwrap();
    /// assert_eq!(n, 7);
    /// let s: Option<String> = Value::Null.get().unwrap();
    /// assert_eq!(s, None);
    /// ```
    pub fn get<T: FieldValue>(self) -> Result<T> {
        T::from_value(self)
    }

    /// A short name of the variant, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Bool(_) => "bool",
            Value::I64(_) => "integer",
            Value::F64(_) => "float",
            Value::Text(_) => "text",
            Value::Bytes(_) => "bytes",
            Value::Decimal(_) => "decimal",
            Value::Date(_) => "date",
            Value::Time(_) => "time",
            Value::DateTime(_) => "datetime",
            Value::Duration(_) => "duration",
            Value::Uuid(_) => "uuid",
            Value::Json(_) => "json",
            Value::List(_) => "list",
        }
    }
}

/// A value as a hash key: integers as themselves, anything else by its text (keys of
/// prefetch groups and of the delete collector's seen set). NULL has none.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ValueKey {
    Int(i64),
    Other(String),
}

/// A map keyed by [`ValueKey`], hashed with [`KeyHasher`].
pub(crate) type KeyMap<V> =
    std::collections::HashMap<ValueKey, V, std::hash::BuildHasherDefault<KeyHasher>>;

/// A set of [`ValueKey`]s, hashed with [`KeyHasher`].
pub(crate) type KeySet =
    std::collections::HashSet<ValueKey, std::hash::BuildHasherDefault<KeyHasher>>;

/// The multiply-rotate hash of rustc's FxHasher, for keys read from the database
/// (primary and foreign keys grouped by prefetch): a few instructions per integer,
/// where the standard SipHash costs a hundred. Not resistant to chosen collisions,
/// which keys the database assigns do not make.
#[derive(Default, Clone, Copy)]
pub(crate) struct KeyHasher(u64);

impl KeyHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl std::hash::Hasher for KeyHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    #[inline]
    fn write_i64(&mut self, n: i64) {
        self.add(n as u64);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

pub(crate) fn key_of(v: &Value) -> Option<ValueKey> {
    match v {
        Value::Null => None,
        Value::I64(i) => Some(ValueKey::Int(*i)),
        Value::Text(s) => Some(ValueKey::Other(s.clone())),
        other => Some(ValueKey::Other(format!("{other:?}"))),
    }
}

/// [`key_of`] of a value the caller no longer needs: an integer key drops nothing and a
/// text key is not copied (prefetch groups every child by the key it reads).
#[inline]
pub(crate) fn into_key(v: Value) -> Option<ValueKey> {
    // A NULL or an integer owns nothing: not dropping it skips a call to the drop glue
    // of the whole enum, which the compiler does not inline (once per prefetched row).
    let v = std::mem::ManuallyDrop::new(v);
    match &*v {
        Value::Null => None,
        Value::I64(i) => Some(ValueKey::Int(*i)),
        _ => match std::mem::ManuallyDrop::into_inner(v) {
            Value::Text(s) => Some(ValueKey::Other(s)),
            other => key_of(&other),
        },
    }
}

#[cold]
fn mismatch(expected: &str, got: &Value) -> Error {
    Error::conversion(
        format!("a {expected}"),
        format!("found {} value {got:?}", got.type_name()),
    )
}

/// A Rust type that can be a model field: bound as a parameter, read from a row by
/// column index, and mapped to a Django field kind.
///
/// quarry implements it for `bool`, the integers, `f32`/`f64`, `String`, `Vec<u8>`,
/// [`Decimal`], chrono's `NaiveDate`, `NaiveTime`, `DateTime<Utc>` and `TimeDelta`,
/// [`Uuid`], `serde_json::Value`, [`Json<T>`](crate::Json) and `Option<T>` of each.
/// `#[derive(Choices)]` implements it for an enum.
///
/// ```
/// use quarry::{FieldValue, Value};
/// assert_eq!(42i32.to_value(), Value::I64(42));
/// assert_eq!(i32::from_value(Value::I64(42)).unwrap(), 42);
/// assert!(<Option<i32> as FieldValue>::NULLABLE);
/// ```
pub trait FieldValue: Sized {
    /// The field kind this type maps to when `#[field(kind = ...)]` does not say.
    const KIND: FieldKind;
    /// True for `Option<T>`: the column is NULL-able.
    const NULLABLE: bool = false;
    /// The value to bind.
    fn to_value(&self) -> Value;
    /// Builds the Rust value from a [`Value`].
    fn from_value(value: Value) -> Result<Self>;
    /// The value to bind, borrowed from `self` where it owns heap data (text, bytes):
    /// what a bulk insert binds, without copying the field.
    ///
    /// ```
    /// use quarry::{FieldValue, Param, Value};
    /// let s = String::from("Lyon");
    /// assert_eq!(s.param(), Param::Text("Lyon"));
    /// assert_eq!(7i32.param(), Param::Owned(Value::I64(7)));
    /// ```
    fn param(&self) -> Param<'_> {
        Param::Owned(self.to_value())
    }
    /// Reads column `idx` of a driver row. A cell is read once: on MariaDB text and
    /// bytes are moved out of the driver's row rather than copied, and reading the
    /// same cell again is an error there.
    fn read<R: Row + ?Sized>(row: &R, idx: usize) -> Result<Self> {
        Self::from_value(row.value(idx, Self::KIND)?)
    }
    /// Reads column `idx` of a driver row, `None` when it is NULL (what `Option<Self>`
    /// reads). Types the driver reads with the NULL check in one step override it.
    fn read_opt<R: Row + ?Sized>(row: &R, idx: usize) -> Result<Option<Self>> {
        if row.is_null(idx)? {
            Ok(None)
        } else {
            Self::read(row, idx).map(Some)
        }
    }
    /// The choices of an enum type, as `(stored value, label)`; empty for other types.
    fn choices() -> Vec<(Value, String)> {
        Vec::new()
    }
    /// The `max_length` the type implies (the longest choice of a text enum).
    const MAX_LENGTH: Option<u32> = None;
    /// Adjusts a value read from the database to the field's declaration (decimal places).
    fn normalize(&mut self, field: &crate::model::FieldMeta) {
        let _ = field;
    }
}

macro_rules! int_field {
    ($($t:ty => $kind:ident),*) => {$(
        impl FieldValue for $t {
            const KIND: FieldKind = FieldKind::$kind;
            fn to_value(&self) -> Value { Value::I64(*self as i64) }
            fn from_value(value: Value) -> Result<Self> {
                match value {
                    Value::I64(v) => <$t>::try_from(v).map_err(|_| Error::conversion(
                        concat!("a ", stringify!($t)), format!("{v} is out of range"))),
                    Value::Bool(b) => Ok(b as $t),
                    Value::F64(f) if f.fract() == 0.0 => Ok(f as $t),
                    Value::Decimal(d) if d.fract().is_zero() => <$t>::try_from(d).map_err(|_| Error::conversion(
                        concat!("a ", stringify!($t)), format!("{d} is out of range"))),
                    other => Err(mismatch(stringify!($t), &other)),
                }
            }
            #[inline]
            fn read<R: Row + ?Sized>(row: &R, idx: usize) -> Result<Self> {
                let v = row.get_i64(idx)?;
                <$t>::try_from(v).map_err(|_| int_overflow(idx, v, stringify!($t)))
            }
            #[inline]
            fn read_opt<R: Row + ?Sized>(row: &R, idx: usize) -> Result<Option<Self>> {
                match row.get_i64_opt(idx)? {
                    None => Ok(None),
                    Some(v) => <$t>::try_from(v).map(Some).map_err(|_| int_overflow(idx, v, stringify!($t))),
                }
            }
        }
        impl From<$t> for Value { fn from(v: $t) -> Value { Value::I64(v as i64) } }
    )*};
}
/// A column's integer that does not fit the field's type; out of line, so that the
/// integer readers inline into hydration.
#[cold]
#[inline(never)]
fn int_overflow(idx: usize, v: i64, ty: &str) -> Error {
    Error::conversion(format!("column {idx}"), format!("{v} does not fit in {ty}"))
}

int_field!(i16 => SmallIntegerField, i32 => IntegerField, i64 => BigIntegerField,
    u16 => PositiveSmallIntegerField, u32 => PositiveIntegerField, u64 => PositiveBigIntegerField);

impl FieldValue for bool {
    const KIND: FieldKind = FieldKind::BooleanField;
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
    fn from_value(value: Value) -> Result<Self> {
        match value {
            Value::Bool(b) => Ok(b),
            Value::I64(v) => Ok(v != 0),
            other => Err(mismatch("bool", &other)),
        }
    }
    fn read<R: Row + ?Sized>(row: &R, idx: usize) -> Result<Self> {
        row.get_bool(idx)
    }
}

macro_rules! float_field {
    ($($t:ty),*) => {$(
        impl FieldValue for $t {
            const KIND: FieldKind = FieldKind::FloatField;
            fn to_value(&self) -> Value { Value::F64(*self as f64) }
            fn from_value(value: Value) -> Result<Self> {
                match value {
                    Value::F64(f) => Ok(f as $t),
                    Value::I64(i) => Ok(i as $t),
                    Value::Decimal(d) => Ok(rust_decimal::prelude::ToPrimitive::to_f64(&d).unwrap_or(f64::NAN) as $t),
                    other => Err(mismatch("float", &other)),
                }
            }
            fn read<R: Row + ?Sized>(row: &R, idx: usize) -> Result<Self> { Ok(row.get_f64(idx)? as $t) }
        }
        impl From<$t> for Value { fn from(v: $t) -> Value { Value::F64(v as f64) } }
    )*};
}
float_field!(f32, f64);

impl FieldValue for String {
    const KIND: FieldKind = FieldKind::TextField;
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
    fn from_value(value: Value) -> Result<Self> {
        match value {
            Value::Text(s) => Ok(s),
            other => Err(mismatch("string", &other)),
        }
    }
    #[inline]
    fn read<R: Row + ?Sized>(row: &R, idx: usize) -> Result<Self> {
        row.take_string(idx)
    }
    #[inline]
    fn read_opt<R: Row + ?Sized>(row: &R, idx: usize) -> Result<Option<Self>> {
        row.take_string_opt(idx)
    }
    fn param(&self) -> Param<'_> {
        Param::Text(self)
    }
}

impl FieldValue for Vec<u8> {
    const KIND: FieldKind = FieldKind::BinaryField;
    fn to_value(&self) -> Value {
        Value::Bytes(self.clone())
    }
    fn from_value(value: Value) -> Result<Self> {
        match value {
            Value::Bytes(b) => Ok(b),
            Value::Text(s) => Ok(s.into_bytes()),
            other => Err(mismatch("bytes", &other)),
        }
    }
    fn read<R: Row + ?Sized>(row: &R, idx: usize) -> Result<Self> {
        row.take_bytes(idx)
    }
    fn param(&self) -> Param<'_> {
        Param::Bytes(self)
    }
}

macro_rules! typed_field {
    ($($t:ty => $kind:ident, $variant:ident, $name:literal);* $(;)?) => {$(
        impl FieldValue for $t {
            const KIND: FieldKind = FieldKind::$kind;
            fn to_value(&self) -> Value { Value::$variant(self.clone()) }
            fn from_value(value: Value) -> Result<Self> {
                match value {
                    Value::$variant(v) => Ok(v),
                    other => Err(mismatch($name, &other)),
                }
            }
        }
        impl From<$t> for Value { fn from(v: $t) -> Value { Value::$variant(v) } }
    )*};
}
typed_field! {
    NaiveDate => DateField, Date, "date";
    NaiveTime => TimeField, Time, "time";
    DateTime<Utc> => DateTimeField, DateTime, "datetime";
    TimeDelta => DurationField, Duration, "duration";
    Uuid => UUIDField, Uuid, "uuid";
}

impl FieldValue for Decimal {
    const KIND: FieldKind = FieldKind::DecimalField;
    fn normalize(&mut self, field: &crate::model::FieldMeta) {
        if let Some(dp) = field.decimal_places {
            self.rescale(dp);
        }
    }
    fn to_value(&self) -> Value {
        Value::Decimal(*self)
    }
    fn from_value(value: Value) -> Result<Self> {
        match value {
            Value::Decimal(d) => Ok(d),
            Value::I64(i) => Ok(Decimal::from(i)),
            Value::F64(f) => Decimal::try_from(f).map_err(|e| mismatch_msg("decimal", e)),
            Value::Text(s) => s.parse().map_err(|e| mismatch_msg("decimal", e)),
            other => Err(mismatch("decimal", &other)),
        }
    }
}
impl From<Decimal> for Value {
    fn from(v: Decimal) -> Value {
        Value::Decimal(v)
    }
}

#[cold]
fn mismatch_msg(expected: &str, e: impl std::fmt::Display) -> Error {
    Error::conversion(format!("a {expected}"), e.to_string())
}

impl FieldValue for serde_json::Value {
    const KIND: FieldKind = FieldKind::JSONField;
    fn to_value(&self) -> Value {
        Value::Json(self.clone())
    }
    fn from_value(value: Value) -> Result<Self> {
        match value {
            Value::Json(j) => Ok(j),
            Value::Text(s) => serde_json::from_str(&s).map_err(|e| mismatch_msg("JSON", e)),
            Value::Null => Ok(serde_json::Value::Null),
            other => Err(mismatch("JSON", &other)),
        }
    }
}

/// A JSON field holding any serde type.
///
/// ```
/// use quarry::{FieldValue, Json, Value};
/// let tags = Json(vec!["a".to_string()]);
/// assert_eq!(tags.to_value(), Value::Json(serde_json::json!(["a"])));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Json<T>(pub T);

impl<T: serde::Serialize + serde::de::DeserializeOwned> FieldValue for Json<T> {
    const KIND: FieldKind = FieldKind::JSONField;
    fn to_value(&self) -> Value {
        Value::Json(serde_json::to_value(&self.0).unwrap_or(serde_json::Value::Null))
    }
    fn from_value(value: Value) -> Result<Self> {
        let json = serde_json::Value::from_value(value)?;
        serde_json::from_value(json)
            .map(Json)
            .map_err(|e| mismatch_msg("JSON document of the field's type", e))
    }
}

impl<T: FieldValue> FieldValue for Option<T> {
    const KIND: FieldKind = T::KIND;
    const NULLABLE: bool = true;
    fn to_value(&self) -> Value {
        match self {
            Some(v) => v.to_value(),
            None => Value::Null,
        }
    }
    fn param(&self) -> Param<'_> {
        match self {
            Some(v) => v.param(),
            None => Param::Value(&Value::Null),
        }
    }
    fn from_value(value: Value) -> Result<Self> {
        match value {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
    #[inline]
    fn read<R: Row + ?Sized>(row: &R, idx: usize) -> Result<Self> {
        T::read_opt(row, idx)
    }
    fn choices() -> Vec<(Value, String)> {
        T::choices()
    }
    const MAX_LENGTH: Option<u32> = T::MAX_LENGTH;
    fn normalize(&mut self, field: &crate::model::FieldMeta) {
        if let Some(v) = self {
            v.normalize(field);
        }
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_owned())
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(v.clone())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Value {
        Value::Bytes(v)
    }
}
impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Value {
        Value::Json(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}
impl<T: Into<Value>, const N: usize> From<[T; N]> for Value {
    fn from(v: [T; N]) -> Value {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}
impl<T: Into<Value> + Clone> From<&[T]> for Value {
    fn from(v: &[T]) -> Value {
        Value::List(v.iter().cloned().map(Into::into).collect())
    }
}
/// Lists for `in` and `range` from a `Vec` of scalars (`Vec<u8>` stays bytes).
macro_rules! vec_list {
    ($($t:ty),*) => {$(
        impl From<Vec<$t>> for Value {
            fn from(v: Vec<$t>) -> Value { Value::List(v.into_iter().map(Into::into).collect()) }
        }
    )*};
}
vec_list!(
    i16,
    i32,
    i64,
    u16,
    u32,
    u64,
    f32,
    f64,
    bool,
    String,
    &str,
    Decimal,
    NaiveDate,
    NaiveTime,
    DateTime<Utc>,
    TimeDelta,
    Uuid,
    Value
);
