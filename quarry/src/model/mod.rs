//! Models: the [`Model`] trait `#[derive(Model)]` implements, the static [`ModelMeta`] it
//! registers, per-instance [`ModelState`], and the instance API (`save`, `delete`,
//! `refresh_from_db`, `full_clean`).

pub(crate) mod bulk;
mod deletion;
mod instance;
mod link;
mod many_manager;
mod many_to_many;
mod meta;
pub mod registry;
mod related_manager;
mod relation;
mod state;
mod validation;

pub(crate) use deletion::delete_query;
pub use instance::{Deleted, SaveOptions};
pub use many_manager::{ManyRelatedManager, TargetRef};
pub use many_to_many::{ManyToMany, ManyToManyLink, ManyToManyMeta, PrefetchManyFn};
pub use meta::{ChoicesFn, DynFetchFn, FieldKind, FieldMeta, IndexMeta, ModelMeta, Validator};
pub(crate) use related_manager::clone_via_values;
pub use related_manager::RelatedManager;
pub use relation::{
    hydrate_related, load_related_field, load_reverse_one, set_related_cache_field, ForeignKey,
    LoadReverseFn, OnDelete, OneToOneField, PrefetchReverseFn, RelatedField, RelatedPlan, Relation,
    RelationKind, ReverseRelation,
};
pub use state::ModelState;
pub use validation::{choices_queryset, NON_FIELD_ERRORS};

use crate::db::{Executor, ExecutorRef, Row};
use crate::error::Result;
use crate::query::QuerySet;
use crate::value::Value;

/// A database model. Implemented by `#[derive(Model)]`; see the [crate docs](crate).
///
/// The required methods are generated; the provided ones are the instance API.
///
/// ```
/// use quarry::prelude::*;
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "docs")]
/// struct Note {
///     #[field(primary_key)]
///     id: i64,
///     #[field(max_length = 50)]
///     text: String,
///     _state: ModelState,
/// }
///
/// let db = Database::connect("sqlite::memory:")?;
/// quarry::schema::create_tables(&db, &[Note::meta()])?;
/// let mut n = Note { id: 0, text: "hi".into(), _state: ModelState::new() };
/// n.save(&db)?;
/// assert_eq!(n.pk(), Value::I64(1));
/// n.text = "hello".into();
/// n.save(&db)?;                       // an UPDATE now
/// assert_eq!(Note::objects().get(&db, q!(pk = 1))?.text, "hello");
/// # Ok::<(), quarry::Error>(())
/// ```
pub trait Model: Sized + Send + Sync + 'static {
    /// The Rust type of the primary key (what a `ForeignKey` to this model holds).
    type Pk: crate::FieldValue;

    /// The model's static meta.
    fn meta() -> &'static ModelMeta;

    /// Builds an instance from the columns of `row` starting at `offset`, in field order.
    fn from_row<R: Row + ?Sized>(row: &R, offset: usize) -> Result<Self>;

    /// The value of field `index` (an index into `meta().fields`).
    fn field_value(&self, index: usize) -> Value;

    /// The value of field `index` to bind, borrowing the field's text or bytes (see
    /// [`FieldValue::param`]): bulk inserts bind fields this way without copying them.
    fn field_param(&self, index: usize) -> crate::value::Param<'_> {
        crate::value::Param::Owned(self.field_value(index))
    }

    /// Sets field `index` from a value.
    fn set_field_value(&mut self, index: usize, value: Value) -> Result<()>;

    /// Sets the primary key to one the database generated, typed: what `save()` and
    /// `bulk_create()` call with the keys an `INSERT` returns. The derive assigns the
    /// field; this default goes through [`Model::set_field_value`].
    #[doc(hidden)]
    fn set_pk(&mut self, pk: Self::Pk) -> Result<()> {
        self.set_field_value(Self::meta().pk, crate::FieldValue::to_value(&pk))
    }

    /// Builds a new, unsaved instance from values by field index; `None` takes the
    /// field's default.
    fn from_field_values(values: Vec<Option<Value>>) -> Result<Self>;

    /// Reads the related object of relation field `field` from a `select_related` row
    /// (its columns start at `offset`; `plan` says what is nested in it). Generated.
    #[doc(hidden)]
    fn load_related<R: Row + ?Sized>(
        &mut self,
        field: usize,
        row: &R,
        offset: usize,
        plan: &RelatedPlan,
    ) -> Result<()> {
        let _ = (field, row, offset, plan);
        Ok(())
    }

    /// Loads the objects relation field `field` points at for all of `objs` in one
    /// query (`prefetch_related`). Generated.
    #[doc(hidden)]
    fn prefetch_forward(
        objs: &mut [Self],
        field: usize,
        node: &crate::query::prefetch::PrefetchNode,
        ex: &dyn Executor,
    ) -> Result<()> {
        let _ = (objs, node, ex);
        __not_prefetchable::<Self>(field)
    }

    /// Stores `obj` as the loaded object of relation field `field` (prefetch fills the
    /// link back from a child to its parent this way). Generated.
    #[doc(hidden)]
    fn set_related_cache(
        &mut self,
        field: usize,
        obj: std::sync::Arc<dyn std::any::Any + Send + Sync>,
    ) -> bool {
        let _ = (field, obj);
        false
    }

    /// The `GenericForeignKey` field `index` (in `meta().generic_foreign_keys`), for
    /// prefetch to fill. Generated.
    #[doc(hidden)]
    fn generic_field_mut(
        &mut self,
        index: usize,
    ) -> Option<&mut crate::contenttypes::GenericForeignKey> {
        let _ = index;
        None
    }

    /// A copy of the instance with its loaded links and state, whether or not the
    /// struct is `Clone` (prefetch hands copies to parents that share a row). Generated.
    #[doc(hidden)]
    fn clone_instance(&self) -> Self;

    /// The instance's state.
    fn state(&self) -> &ModelState;

    /// The instance's state, mutably.
    fn state_mut(&mut self) -> &mut ModelState;

    /// The annotation `name` that `annotate()` attached to this instance, converted to
    /// `T` (Django's `book.num_authors`).
    ///
    /// ```
    /// use quarry::prelude::*;
    ///
    /// #[derive(Model, Debug, Clone)]
    /// #[model(app_label = "docs")]
    /// struct Shelf {
    ///     #[field(primary_key)]
    ///     id: i64,
    ///     width: i32,
    ///     _state: ModelState,
    /// }
    ///
    /// let db = Database::connect("sqlite::memory:")?;
    /// quarry::schema::create_tables(&db, &[Shelf::meta()])?;
    /// Shelf::objects().create(&db, Shelf { id: 0, width: 80, _state: ModelState::new() })?;
    /// let shelf = Shelf::objects().annotate([("double", F("width") * 2)]).get(&db, q!(pk = 1))?;
    /// assert_eq!(shelf.annotation::<i64>("double")?, 160);
    /// assert!(shelf.annotation::<i64>("triple").is_err());
    /// # Ok::<(), quarry::Error>(())
    /// ```
    fn annotation<T: crate::FieldValue>(&self, name: &str) -> Result<T> {
        match self.state().annotation(name) {
            Some(v) => T::from_value(v.clone()),
            None => Err(crate::Error::field(format!(
                "{} instance has no annotation '{name}'. Annotations are: {}",
                Self::meta().name,
                self.state().annotation_names().join(", ")
            ))),
        }
    }

    /// The default manager: a QuerySet over every row, Django's `Model.objects`.
    fn objects() -> QuerySet<Self> {
        QuerySet::new()
    }

    /// The primary key's value.
    fn pk(&self) -> Value {
        self.field_value(Self::meta().pk)
    }

    /// Builds a new, unsaved instance from `(field name, value)` pairs, the way Django's
    /// `Model(**kwargs)` does; missing fields take their defaults.
    ///
    /// An unknown name is a `FieldError` naming the model and its fields.
    fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, Value)>) -> Result<Self> {
        instance::from_pairs(pairs)
    }

    /// Saves the instance: INSERT when it is new, UPDATE otherwise (Django's rules).
    fn save(&mut self, ex: &(impl Executor + ?Sized)) -> Result<()> {
        instance::save(self, ex, &SaveOptions::default())
    }

    /// Saves with options: `update_fields`, `force_insert`, `force_update`.
    fn save_with(&mut self, ex: &(impl Executor + ?Sized), options: &SaveOptions) -> Result<()> {
        instance::save(self, ex, options)
    }

    /// Deletes the row; the instance becomes unsaved again.
    fn delete(&mut self, ex: &(impl Executor + ?Sized)) -> Result<Deleted> {
        instance::delete(self, ex)
    }

    /// Reloads every field from the database.
    fn refresh_from_db(&mut self, ex: &(impl Executor + ?Sized)) -> Result<()> {
        instance::refresh_from_db(self, ex)
    }

    /// Validates every field (blank, null, max_length, choices, decimal digits, the
    /// validators of the kind and of `#[field(validators = [...])]`); the error names every
    /// bad field.
    fn full_clean(&self) -> Result<()> {
        validation::full_clean(self)
    }

    /// `full_clean` plus the checks that read the database, Django's `full_clean()` in
    /// full: every foreign key points at a row that exists and meets the field's
    /// `limit_choices_to` (`"publisher instance with id 3 does not exist."`), and no
    /// other row holds the same `unique` value or `unique_together` group
    /// (`"Book with this Isbn already exists."`; groups report under
    /// [`NON_FIELD_ERRORS`]). A field that failed the first checks is not looked up.
    fn full_clean_using(&self, ex: &(impl Executor + ?Sized)) -> Result<()> {
        validation::full_clean_using(self, &ExecutorRef(ex))
    }
}

#[doc(hidden)]
#[cold]
pub fn __field_error(e: crate::Error, model: &str, field: &str) -> crate::Error {
    match e {
        crate::Error::Conversion { message, .. } => crate::Error::Conversion {
            target: format!("{model}.{field}"),
            message,
        },
        e => e,
    }
}

#[doc(hidden)]
#[cold]
pub fn __not_prefetchable<M: Model>(field: usize) -> Result<()> {
    Err(crate::Error::field(format!(
        "'{}' does not resolve to an item that supports prefetching - this is an invalid \
         parameter to prefetch_related().",
        M::meta().fields[field].name
    )))
}

/// The reverse side of an auto-created through model's keys is not prefetchable.
#[doc(hidden)]
#[cold]
pub fn __not_prefetchable_reverse(
    _parents: &mut dyn std::any::Any,
    relation: &'static ReverseRelation,
    node: &crate::query::prefetch::PrefetchNode,
    _ex: &dyn Executor,
) -> Result<()> {
    let _ = relation;
    Err(crate::Error::field(format!(
        "'{}' does not resolve to an item that supports prefetching - this is an invalid \
         parameter to prefetch_related().",
        node.path
    )))
}

#[doc(hidden)]
#[cold]
pub fn __missing(model: &str, field: &str) -> crate::Error {
    crate::Error::field(format!(
        "{model}.{field} has no value and no default: pass it, or declare `#[field(default = ...)]` or make it an Option"
    ))
}

/// The placeholder a deferred field holds: NULL for a NULL-able field, else the zero of
/// its kind (0, empty text, false, the epoch...). The state records the field as
/// deferred, so the placeholder is never saved.
fn unloaded_value(f: &FieldMeta) -> Value {
    use FieldKind::*;
    if f.null {
        return Value::Null;
    }
    match f.kind {
        k if k.is_integer() => Value::I64(0),
        k if k.is_text() => Value::Text(String::new()),
        BooleanField => Value::Bool(false),
        FloatField => Value::F64(0.0),
        DecimalField => Value::Decimal(rust_decimal::Decimal::ZERO),
        DateField => Value::Date(chrono::NaiveDate::default()),
        DateTimeField => Value::DateTime(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH),
        TimeField => Value::Time(chrono::NaiveTime::MIN),
        DurationField => Value::Duration(chrono::TimeDelta::zero()),
        UUIDField => Value::Uuid(uuid::Uuid::nil()),
        BinaryField => Value::Bytes(Vec::new()),
        JSONField => Value::Json(serde_json::Value::Null),
        _ => Value::Text(String::new()),
    }
}

/// An instance from a row holding only the `loaded` fields (`defer()`/`only()`), in
/// that order; the others hold placeholders and are recorded as deferred.
pub(crate) fn from_row_deferred<M: Model, R: Row + ?Sized>(
    row: &R,
    offset: usize,
    loaded: &[usize],
) -> Result<M> {
    let meta = M::meta();
    let mut values: Vec<Option<Value>> = meta
        .fields
        .iter()
        .map(|f| Some(unloaded_value(f)))
        .collect();
    for (column, &i) in loaded.iter().enumerate() {
        let f = &meta.fields[i];
        let mut v = row.value(offset + column, f.kind)?;
        if let (Value::Decimal(d), Some(dp)) = (&mut v, f.decimal_places) {
            d.rescale(dp);
        }
        values[i] = Some(v);
    }
    let mut obj = M::from_field_values(values).map_err(|e| {
        crate::Error::invalid(format!(
            "{} cannot be loaded with deferred fields: {e} (a deferred field holds the zero \
             value of its type, which this field's type refuses)",
            meta.name
        ))
    })?;
    *obj.state_mut() = ModelState::loaded();
    let deferred: Vec<usize> = (0..meta.fields.len())
        .filter(|i| !loaded.contains(i))
        .collect();
    obj.state_mut().set_deferred(deferred.into());
    Ok(obj)
}

#[doc(hidden)]
pub fn __auto_default<T: crate::FieldValue>() -> T {
    T::from_value(Value::I64(0)).expect("auto primary keys are integers")
}

#[doc(hidden)]
#[cold]
pub fn __bad_choice(type_name: &str, got: &Value, choices: &[(Value, String)]) -> crate::Error {
    let listed: Vec<String> = choices.iter().map(|(v, _)| format!("{v:?}")).collect();
    crate::Error::conversion(
        format!("a {type_name}"),
        format!("{got:?} is not one of the choices: {}", listed.join(", ")),
    )
}
