//! What a query's rows become: model instances, `values()` maps, `values_list()` lists.

use super::ast::Query;
use super::prefetch::{prefetch_objects, tree};
use crate::db::{fetch_rows, Executor, ReadRow, Row, SqlText};
use crate::error::{Error, Result};
use crate::model::{hydrate_related, RelatedPlan};
use crate::model::{FieldKind, Model};
use crate::sql::compiler::OutColumn;
use crate::value::{FieldValue, Param, Value};
use std::marker::PhantomData;
use std::sync::Arc;

/// The output columns of a compiled query, shared by every row it yields.
#[derive(Debug, Clone)]
pub struct RowShape {
    names: Arc<[Arc<str>]>,
    kinds: Arc<[FieldKind]>,
    decimal_places: Arc<[Option<u32>]>,
    related: Option<Arc<RelatedPlan>>,
    /// The columns holding a model query's annotations.
    annotations: std::ops::Range<usize>,
    /// The model fields the first columns hold, when `defer()`/`only()` left some out.
    loaded: Option<Arc<[usize]>>,
}

impl RowShape {
    /// What every row of a query with these output columns shares.
    pub(crate) fn new(
        columns: &[OutColumn],
        related: Option<RelatedPlan>,
        annotations: std::ops::Range<usize>,
        loaded: Option<Vec<usize>>,
    ) -> RowShape {
        RowShape {
            names: columns.iter().map(|c| Arc::from(c.name.as_str())).collect(),
            kinds: columns.iter().map(|c| c.kind).collect(),
            decimal_places: columns.iter().map(|c| c.decimal_places).collect(),
            related: related.map(Arc::new),
            annotations,
            loaded: loaded.map(Arc::from),
        }
    }

    /// The number of output columns.
    pub(crate) fn width(&self) -> usize {
        self.kinds.len()
    }

    /// The kind column `i` is decoded as.
    pub(crate) fn kind(&self, i: usize) -> FieldKind {
        self.kinds[i]
    }
}

/// A row type a QuerySet can yield.
pub trait FromQueryRow: Sized {
    /// Builds one row. Generic over the row type: quarry's executors pass their
    /// backend's own row, so this is compiled once per backend with the cell getters
    /// inlined; a `&dyn Row` works as well.
    fn from_query_row<R: Row + ?Sized>(row: &R, shape: &RowShape) -> Result<Self>;

    /// Runs the statement and reads every row into a vector with room for about
    /// `expected` of them. A row type may pick its reader once per query here rather
    /// than deciding per row in `from_query_row`.
    #[doc(hidden)]
    fn fetch<E: Executor + ?Sized>(
        ex: &E,
        sql: SqlText<'_>,
        params: &[Param<'_>],
        shape: &RowShape,
        expected: usize,
    ) -> Result<Vec<Self>> {
        fetch_rows(ex, sql, params, expected, &mut QueryRows::new(shape))
    }

    /// Runs after all rows are read: model rows run their `prefetch_related` queries.
    #[doc(hidden)]
    fn after_fetch(rows: &mut Vec<Self>, query: &Query, ex: &dyn Executor) -> Result<()> {
        let _ = (rows, query, ex);
        Ok(())
    }
}

/// Reads every row with [`FromQueryRow::from_query_row`].
pub(crate) struct QueryRows<'s, T> {
    shape: &'s RowShape,
    row_type: PhantomData<fn() -> T>,
}

impl<'s, T> QueryRows<'s, T> {
    pub(crate) fn new(shape: &'s RowShape) -> QueryRows<'s, T> {
        QueryRows {
            shape,
            row_type: PhantomData,
        }
    }
}

impl<T: FromQueryRow> ReadRow for QueryRows<'_, T> {
    type Out = T;
    #[inline(always)]
    fn read<R: Row + ?Sized>(&mut self, row: &R) -> Result<T> {
        T::from_query_row(row, self.shape)
    }
}

/// Reads every row with `Model::from_row` (a model's own columns and nothing else).
struct ModelRows<M>(PhantomData<fn() -> M>);

impl<M: Model> ReadRow for ModelRows<M> {
    type Out = M;
    #[inline(always)]
    fn read<R: Row + ?Sized>(&mut self, row: &R) -> Result<M> {
        M::from_row(row, 0)
    }
}

impl<M: Model> FromQueryRow for M {
    #[inline]
    fn from_query_row<R: Row + ?Sized>(row: &R, shape: &RowShape) -> Result<Self> {
        // `from_row` marks the instance loaded.
        let (mut obj, width) = match &shape.loaded {
            None => (M::from_row(row, 0)?, M::meta().fields.len()),
            Some(loaded) => (
                crate::model::from_row_deferred::<M, _>(row, 0, loaded)?,
                loaded.len(),
            ),
        };
        if let Some(plan) = &shape.related {
            hydrate_related(&mut obj, row, width, plan)?;
        }
        for i in shape.annotations.clone() {
            let value = read_value(row, shape, i)?;
            obj.state_mut()
                .set_annotation(shape.names[i].clone(), value);
        }
        Ok(obj)
    }

    fn fetch<E: Executor + ?Sized>(
        ex: &E,
        sql: SqlText<'_>,
        params: &[Param<'_>],
        shape: &RowShape,
        expected: usize,
    ) -> Result<Vec<Self>> {
        // A model's own columns and nothing else (most queries): every row is `from_row`,
        // with none of the per-row checks for deferred fields, relations or annotations.
        if shape.loaded.is_none() && shape.related.is_none() && shape.annotations.is_empty() {
            fetch_rows(ex, sql, params, expected, &mut ModelRows(PhantomData))
        } else {
            fetch_rows(ex, sql, params, expected, &mut QueryRows::new(shape))
        }
    }

    fn after_fetch(rows: &mut Vec<Self>, query: &Query, ex: &dyn Executor) -> Result<()> {
        if query.prefetch.is_empty() {
            return Ok(());
        }
        prefetch_objects(rows, &tree(&query.prefetch), ex)
    }
}

/// One row of `values()`: field names to values, in the order asked for.
///
/// ```
/// use quarry::prelude::*;
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "docs")]
/// struct City {
///     #[field(primary_key)]
///     id: i64,
///     #[field(max_length = 30)]
///     name: String,
///     _state: ModelState,
/// }
///
/// let db = Database::connect("sqlite::memory:")?;
/// quarry::schema::create_tables(&db, &[City::meta()])?;
/// City::objects().create(&db, City { id: 0, name: "Lyon".into(), _state: ModelState::new() })?;
/// let rows = City::objects().values(["name"]).all(&db)?;
/// assert_eq!(rows[0].get("name"), Some(&Value::Text("Lyon".into())));
/// let name: String = rows[0].get_as("name")?;
/// assert_eq!(name, "Lyon");
/// # Ok::<(), quarry::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ValuesRow {
    names: Arc<[Arc<str>]>,
    values: Vec<Value>,
}

impl ValuesRow {
    /// The value under `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.names
            .iter()
            .position(|n| &**n == name)
            .map(|i| &self.values[i])
    }

    /// The value under `name`, converted to `T`.
    pub fn get_as<T: FieldValue>(&self, name: &str) -> Result<T> {
        let v = self.get(name).ok_or_else(|| {
            Error::field(format!(
                "this row has no '{name}'. Choices are: {}",
                self.names
                    .iter()
                    .map(|n| &**n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        T::from_value(v.clone())
    }

    /// `(name, value)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.names.iter().map(|n| &**n).zip(self.values.iter())
    }

    /// The values in order.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }
}

/// Column `i` decoded by its kind, decimals rescaled to the field's places.
fn read_value<R: Row + ?Sized>(row: &R, shape: &RowShape, i: usize) -> Result<Value> {
    let kind = shape.kinds[i];
    // An expression typed as an integer may compute a float (`pages + rating` wrapped
    // as IntegerField): Django's converter truncates it with int().
    let truncated = |v: Value| match v {
        Value::F64(f) if kind.is_integer() && f.is_finite() => Value::I64(f.trunc() as i64),
        v => v,
    };
    let mut v = match row.value(i, kind) {
        Ok(v) => truncated(v),
        Err(e) if kind.is_integer() => row
            .value(i, FieldKind::FloatField)
            .ok()
            .map(truncated)
            .filter(|v| matches!(v, Value::I64(_)))
            .ok_or(e)?,
        Err(e) => return Err(e),
    };
    if let (Value::Decimal(d), Some(dp)) = (&mut v, shape.decimal_places[i]) {
        d.rescale(dp);
    }
    Ok(v)
}

fn read_values<R: Row + ?Sized>(row: &R, shape: &RowShape) -> Result<Vec<Value>> {
    (0..shape.kinds.len())
        .map(|i| read_value(row, shape, i))
        .collect()
}

impl FromQueryRow for ValuesRow {
    fn from_query_row<R: Row + ?Sized>(row: &R, shape: &RowShape) -> Result<Self> {
        Ok(ValuesRow {
            names: shape.names.clone(),
            values: read_values(row, shape)?,
        })
    }
}

impl FromQueryRow for Vec<Value> {
    fn from_query_row<R: Row + ?Sized>(row: &R, shape: &RowShape) -> Result<Self> {
        read_values(row, shape)
    }
}

impl FromQueryRow for Value {
    fn from_query_row<R: Row + ?Sized>(row: &R, shape: &RowShape) -> Result<Self> {
        if shape.kinds.is_empty() {
            return row.value(0, FieldKind::TextField);
        }
        read_value(row, shape, 0)
    }
}

/// A row of [`values_list_as`](super::QuerySet::values_list_as): a tuple of field types,
/// one per selected column, read straight from the driver row (no list of values in
/// between).
///
/// Implemented for tuples of 1 to 12 [`FieldValue`] types; an `Option` reads a NULL.
/// A row type of your own may implement it too, with [`FromQueryRow`]: read the tuple of
/// its columns in `from_query_row` and build the value from it, as each row is read.
///
/// ```
/// use quarry::prelude::*;
/// use quarry::query::{FromQueryRow, RowShape, ValuesTuple};
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "docs")]
/// struct City {
///     #[field(primary_key)]
///     id: i64,
///     #[field(max_length = 50)]
///     name: String,
///     _state: ModelState,
/// }
///
/// /// A city's name and id, as a label.
/// struct Label(String);
///
/// impl FromQueryRow for Label {
///     fn from_query_row<R: quarry::Row + ?Sized>(row: &R, shape: &RowShape) -> quarry::Result<Self> {
///         let (id, name) = <(i64, String)>::from_query_row(row, shape)?;
///         Ok(Label(format!("{name} (#{id})")))
///     }
/// }
///
/// impl ValuesTuple for Label {
///     const WIDTH: usize = 2;
/// }
///
/// let db = Database::connect("sqlite::memory:")?;
/// quarry::schema::create_tables(&db, &[City::meta()])?;
/// City::objects().create(&db, City { id: 0, name: "Lyon".into(), _state: ModelState::new() })?;
/// let labels: Vec<Label> = City::objects().values_list_as(["id", "name"]).all(&db)?;
/// assert_eq!(labels[0].0, "Lyon (#1)");
/// # Ok::<(), quarry::Error>(())
/// ```
pub trait ValuesTuple: FromQueryRow {
    /// How many columns the tuple reads.
    const WIDTH: usize;
}

/// Column `i` as `T`, decoded as [`values_list`](super::QuerySet::values_list) decodes
/// it (decimals rescaled, integer expressions truncated). Always inlined into each
/// tuple's reader (its fallback is out of line): left to the inliner, it stopped being
/// inlined once `from_row` was, and each column's value came back through memory.
#[inline(always)]
fn read_typed<T: FieldValue, R: Row + ?Sized>(row: &R, shape: &RowShape, i: usize) -> Result<T> {
    if shape.decimal_places[i].is_none() {
        // Straight from the driver; what needs converting first (a float computed by
        // an integer expression) takes the path below.
        if let Ok(v) = T::read(row, i) {
            return Ok(v);
        }
    }
    read_converted(row, shape, i)
}

/// [`read_typed`]'s path for a column the driver's typed read refused or that needs
/// rescaling: through [`Value`]. Kept out of line so the typed read stays small enough
/// to inline into each tuple's reader.
#[cold]
#[inline(never)]
fn read_converted<T: FieldValue, R: Row + ?Sized>(
    row: &R,
    shape: &RowShape,
    i: usize,
) -> Result<T> {
    T::from_value(read_value(row, shape, i)?).map_err(|e| {
        Error::conversion(
            std::any::type_name::<T>(),
            format!("column '{}' of values_list_as(): {e}", shape.names[i]),
        )
    })
}

macro_rules! values_tuple {
    ($width:expr; $($t:ident $i:tt),+) => {
        impl<$($t: FieldValue),+> FromQueryRow for ($($t,)+) {
            #[inline]
            fn from_query_row<R: Row + ?Sized>(row: &R, shape: &RowShape) -> Result<Self> {
                if shape.width() != $width {
                    return Err(Error::invalid(format!(
                        "values_list_as() reads {} columns into a tuple of {}",
                        shape.width(),
                        $width
                    )));
                }
                Ok(($(read_typed::<$t, _>(row, shape, $i)?,)+))
            }
        }

        impl<$($t: FieldValue),+> ValuesTuple for ($($t,)+) {
            const WIDTH: usize = $width;
        }
    };
}

values_tuple!(1; A 0);
values_tuple!(2; A 0, B 1);
values_tuple!(3; A 0, B 1, C 2);
values_tuple!(4; A 0, B 1, C 2, D 3);
values_tuple!(5; A 0, B 1, C 2, D 3, E 4);
values_tuple!(6; A 0, B 1, C 2, D 3, E 4, F 5);
values_tuple!(7; A 0, B 1, C 2, D 3, E 4, F 5, G 6);
values_tuple!(8; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
values_tuple!(9; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
values_tuple!(10; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
values_tuple!(11; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
values_tuple!(12; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
