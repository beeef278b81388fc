//! Relations between models: the [`ForeignKey`] field type (one-to-one fields use it too),
//! the static [`Relation`] meta the derive writes beside the field, and the reverse side
//! ([`ReverseRelation`]), computed once from the registry.

use super::link::LinkCell;
use super::meta::{FieldMeta, ModelMeta};
use super::registry;
use super::Model;
use crate::db::{Executor, Row};
use crate::error::{Error, Result};
use crate::query::Q;
use crate::value::{FieldValue, Value};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// What happens to rows that point at a deleted row, Django's `on_delete`.
///
/// quarry carries it out in the delete collector (not in the database), as Django does.
///
/// ```
/// use quarry::OnDelete;
/// assert_eq!(OnDelete::Cascade.name(), "CASCADE");
/// ```
#[derive(Debug, Clone, Copy)]
pub enum OnDelete {
    /// Delete the pointing rows too.
    Cascade,
    /// Refuse the delete with [`Error::ProtectedError`].
    Protect,
    /// Refuse the delete with [`Error::RestrictedError`], unless the pointing rows are
    /// deleted by a cascade from elsewhere in the same delete.
    Restrict,
    /// Set the foreign key to NULL (the field must be an `Option`).
    SetNull,
    /// Set the foreign key to the field's default.
    SetDefault,
    /// Set the foreign key to the value the function returns, Django's `SET(...)`.
    Set(fn() -> Value),
    /// Leave the pointing rows alone; the database's constraint decides.
    DoNothing,
}

impl OnDelete {
    /// Django's name of the behaviour.
    pub fn name(self) -> &'static str {
        match self {
            OnDelete::Cascade => "CASCADE",
            OnDelete::Protect => "PROTECT",
            OnDelete::Restrict => "RESTRICT",
            OnDelete::SetNull => "SET_NULL",
            OnDelete::SetDefault => "SET_DEFAULT",
            OnDelete::Set(_) => "SET",
            OnDelete::DoNothing => "DO_NOTHING",
        }
    }
}

/// A many-to-one or one-to-one link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    /// `ForeignKey`: many rows may point at one.
    ForeignKey,
    /// `OneToOneField`: a unique foreign key; the reverse side is one object.
    OneToOne,
}

/// Fetches the related rows of a reverse relation for `prefetch_related`: written by the
/// derive of the model that holds the foreign key, for its own type and the target's.
#[doc(hidden)]
pub type PrefetchReverseFn = fn(
    parents: &mut dyn std::any::Any,
    relation: &'static ReverseRelation,
    node: &crate::query::prefetch::PrefetchNode,
    ex: &dyn Executor,
) -> Result<()>;

/// Reads the object on the reverse side of a one-to-one field from a `select_related`
/// row into the parent's cache: written by the derive of the model holding the field.
#[doc(hidden)]
pub type LoadReverseFn = fn(
    parent: &mut dyn std::any::Any,
    relation: &'static ReverseRelation,
    row: &dyn Row,
    offset: usize,
    plan: &RelatedPlan,
) -> Result<()>;

/// The static meta of a relation field, beside its [`FieldMeta`].
pub struct Relation {
    /// Foreign key or one-to-one.
    pub kind: RelationKind,
    /// The model pointed at.
    pub to: fn() -> &'static ModelMeta,
    /// The field of the target the column holds; empty for the primary key.
    pub to_field: &'static str,
    /// What a delete of the target does to this row.
    pub on_delete: OnDelete,
    /// The reverse accessor's name (`"+"` hides the reverse side); `None` for Django's
    /// default (`book_set`, or `book` for one-to-one).
    pub related_name: Option<&'static str>,
    /// The name of the reverse side in lookups; `None` for the related name or the
    /// model's name in lower case.
    pub related_query_name: Option<&'static str>,
    /// Create a database constraint.
    pub db_constraint: bool,
    /// Django's `limit_choices_to`: the condition a target must meet to be pointed at,
    /// checked by [`full_clean_using`](crate::Model::full_clean_using) and applied by the
    /// generated `<field>_choices()` QuerySet.
    pub limit_choices_to: Option<fn() -> Q>,
    /// Runs the reverse side of `prefetch_related`.
    #[doc(hidden)]
    pub prefetch_reverse: PrefetchReverseFn,
    /// Reads the reverse side of a one-to-one field in `select_related`; `None` for a
    /// foreign key (its reverse side is many objects).
    #[doc(hidden)]
    pub load_reverse: Option<LoadReverseFn>,
}

impl std::fmt::Debug for Relation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relation")
            .field("kind", &self.kind)
            .field("to", &(self.to)().name)
            .field("to_field", &self.to_field)
            .field("on_delete", &self.on_delete.name())
            .field("related_name", &self.related_name)
            .finish()
    }
}

impl Relation {
    /// The model pointed at.
    pub fn target(&self) -> &'static ModelMeta {
        (self.to)()
    }

    /// The target's field the column holds (its primary key unless `to_field`).
    pub fn target_field(&self) -> (usize, &'static FieldMeta) {
        let meta = self.target();
        if self.to_field.is_empty() {
            (meta.pk, meta.pk_field())
        } else {
            meta.field(self.to_field)
                .expect("the derive checked to_field against the target")
        }
    }

    /// The `limit_choices_to` condition, if the field has one.
    pub fn limit_choices_to(&self) -> Option<Q> {
        self.limit_choices_to.map(|f| f())
    }

    /// True when the reverse side is hidden (`related_name = "+"`).
    pub fn is_hidden(&self) -> bool {
        self.related_name.is_some_and(|n| n.ends_with('+'))
    }
}

/// The reverse side of a relation, seen from the model pointed at: `publisher.book_set`,
/// `Publisher.objects().filter(q!(book__title = ...))`.
#[derive(Debug)]
pub struct ReverseRelation {
    /// The model holding the foreign key.
    pub model: &'static ModelMeta,
    /// Index of the foreign key in `model.fields`.
    pub field_index: usize,
    /// The foreign key.
    pub field: &'static FieldMeta,
    /// Its relation meta.
    pub relation: &'static Relation,
    /// The name lookups use (`book` in `book__title`).
    pub query_name: String,
    /// The accessor's name (`book_set`, or the related name).
    pub accessor: String,
}

/// Reverse relations are built once per program: two are equal when they are the same.
impl PartialEq for ReverseRelation {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl ReverseRelation {
    /// True when one row at most points back (one-to-one).
    pub fn is_one_to_one(&self) -> bool {
        self.relation.kind == RelationKind::OneToOne
    }
}

/// Reverse relations by target model: the visible ones, and all of them (hidden ones
/// included, which deletes still follow).
#[derive(Default)]
struct ReverseIndex {
    visible: HashMap<usize, Vec<&'static ReverseRelation>>,
    all: HashMap<usize, Vec<&'static ReverseRelation>>,
}

fn reverse_index() -> &'static ReverseIndex {
    static INDEX: OnceLock<ReverseIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index = ReverseIndex::default();
        for model in registry::models() {
            for (i, field) in model.fields.iter().enumerate() {
                let Some(rel) = field.relation else { continue };
                if !rel.to_field.is_empty() && rel.target().field(rel.to_field).is_none() {
                    panic!(
                        "{}.{} has to_field = \"{}\", which is not a field of {}. Choices are: {}",
                        model.name,
                        field.name,
                        rel.to_field,
                        rel.target().name,
                        rel.target().field_choices_local().join(", ")
                    );
                }
                let lower = model.name.to_lowercase();
                let query_name = rel
                    .related_query_name
                    .or(rel.related_name)
                    .map(str::to_owned)
                    .unwrap_or_else(|| lower.clone());
                let accessor =
                    rel.related_name
                        .map(str::to_owned)
                        .unwrap_or_else(|| match rel.kind {
                            RelationKind::OneToOne => lower.clone(),
                            RelationKind::ForeignKey => format!("{lower}_set"),
                        });
                // Built once per program: leaked so that every caller gets `'static`.
                let r: &'static ReverseRelation = Box::leak(Box::new(ReverseRelation {
                    model,
                    field_index: i,
                    field,
                    relation: rel,
                    query_name,
                    accessor,
                }));
                let key = rel.target() as *const ModelMeta as usize;
                index.all.entry(key).or_default().push(r);
                if !rel.is_hidden() {
                    index.visible.entry(key).or_default().push(r);
                }
            }
        }
        index
    })
}

impl ModelMeta {
    /// The relations of other models that point at this one (hidden ones left out).
    ///
    /// ```
    /// use quarry::prelude::*;
    ///
    /// #[derive(Model, Debug, Clone)]
    /// #[model(app_label = "rev")]
    /// struct Shelf { id: i64, _state: ModelState }
    ///
    /// #[derive(Model, Debug, Clone)]
    /// #[model(app_label = "rev")]
    /// struct Volume {
    ///     id: i64,
    ///     #[field(on_delete = Cascade, related_name = "volumes")]
    ///     shelf: ForeignKey<Shelf>,
    ///     _state: ModelState,
    /// }
    ///
    /// let rev = Shelf::meta().reverse_relations();
    /// assert_eq!(rev[0].query_name, "volumes");
    /// assert_eq!(rev[0].model.name, "Volume");
    /// ```
    pub fn reverse_relations(&'static self) -> &'static [&'static ReverseRelation] {
        reverse_index()
            .visible
            .get(&(self as *const ModelMeta as usize))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Every relation pointing at this model, hidden ones (`related_name = "+"`)
    /// included: what a delete of its rows must visit.
    pub fn related_objects(&'static self) -> &'static [&'static ReverseRelation] {
        reverse_index()
            .all
            .get(&(self as *const ModelMeta as usize))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The reverse relation reached by `name` in lookups.
    pub fn reverse_relation(&'static self, name: &str) -> Option<&'static ReverseRelation> {
        self.reverse_relations()
            .iter()
            .find(|r| r.query_name == name)
            .copied()
    }

    /// The reverse relation whose accessor (or `Prefetch` name) is `name`.
    pub fn reverse_accessor(&'static self, name: &str) -> Option<&'static ReverseRelation> {
        self.reverse_relations()
            .iter()
            .find(|r| r.accessor == name)
            .copied()
    }
}

/// A link to another model: the key stored in this row's column and, once loaded, the
/// object itself, Django's `ForeignKey`. `Option<ForeignKey<T>>` is a NULL-able one.
///
/// `K` is the key's Rust type: the target's primary key type unless the field names a
/// `to_field`.
///
/// ```
/// use quarry::prelude::*;
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "fk")]
/// struct Publisher {
///     id: i64,
///     #[field(max_length = 50)]
///     name: String,
///     _state: ModelState,
/// }
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "fk")]
/// struct Book {
///     id: i64,
///     #[field(max_length = 50)]
///     title: String,
///     #[field(on_delete = Cascade, related_name = "books")]
///     publisher: ForeignKey<Publisher>,
///     _state: ModelState,
/// }
///
/// let db = Database::connect("sqlite::memory:")?;
/// quarry::schema::create_tables(&db, &[Publisher::meta(), Book::meta()])?;
/// let p = Publisher::objects().create(&db, Publisher { id: 0, name: "Penguin".into(), _state: ModelState::new() })?;
/// let b = Book::objects().create(&db, Book {
///     id: 0, title: "Emma".into(), publisher: ForeignKey::to(&p)?, _state: ModelState::new(),
/// })?;
/// let mut b = Book::objects().get(&db, q!(pk = b.id))?;
/// assert_eq!(*b.publisher.id(), p.id);          // no query
/// assert_eq!(b.publisher.get(&db)?.name, "Penguin"); // one query, then cached
/// assert_eq!(p.books().count(&db)?, 1);
/// # Ok::<(), quarry::Error>(())
/// ```
pub struct ForeignKey<T: Model, K = <T as Model>::Pk> {
    id: K,
    to_field: &'static str,
    /// Filled once, through a shared reference: `a.b.get(db)?.c.get(db)?` walks a chain
    /// of links loading each on demand.
    cached: LinkCell<T>,
}

/// A one-to-one link, Django's `OneToOneField`: a [`ForeignKey`] whose column is unique
/// and whose reverse side is one object.
pub type OneToOneField<T, K = <T as Model>::Pk> = ForeignKey<T, K>;

impl<T: Model, K: FieldValue> ForeignKey<T, K> {
    /// A link to the row whose primary key is `id` (nothing is loaded).
    pub fn new(id: K) -> Self {
        ForeignKey {
            id,
            to_field: "",
            cached: LinkCell::new(),
        }
    }

    /// A link to `obj`, which must be saved; `obj` is cached, so reading it back runs no
    /// query.
    pub fn to(obj: &T) -> Result<Self>
    where
        T: Clone,
    {
        Self::from_object(obj.clone())
    }

    /// A link to `obj`, which must be saved, keeping it as the cached object.
    pub fn from_object(obj: T) -> Result<Self> {
        let meta = T::meta();
        if !obj.state().pk_is_set() {
            return Err(Error::invalid(format!(
                "save() prohibited to prevent data loss due to unsaved related object '{}'.",
                meta.name.to_lowercase()
            )));
        }
        let id = K::from_value(obj.pk()).map_err(|e| {
            Error::invalid(format!(
                "ForeignKey::to links by {}'s primary key, which does not convert to this \
                 key's type ({e}); for a field with to_field, use \
                 ForeignKey::to_field(&obj, \"<field>\")",
                meta.name
            ))
        })?;
        Ok(ForeignKey {
            id,
            to_field: "",
            cached: LinkCell::with(Arc::new(obj)),
        })
    }

    /// A link to `obj` by another of its fields, for a foreign key declared with
    /// `to_field = "..."`: the key is `obj`'s value of that field. `obj` must be saved and
    /// is cached.
    ///
    /// ```
    /// use quarry::prelude::*;
    ///
    /// #[derive(Model, Debug, Clone)]
    /// #[model(app_label = "fk_to_field")]
    /// struct Country {
    ///     id: i64,
    ///     #[field(max_length = 2, unique)]
    ///     code: String,
    ///     _state: ModelState,
    /// }
    ///
    /// #[derive(Model, Debug, Clone)]
    /// #[model(app_label = "fk_to_field")]
    /// struct City {
    ///     id: i64,
    ///     #[field(on_delete = Cascade, to_field = "code")]
    ///     country: ForeignKey<Country, String>,
    ///     _state: ModelState,
    /// }
    ///
    /// let db = Database::connect("sqlite::memory:")?;
    /// quarry::schema::create_tables(&db, &[Country::meta(), City::meta()])?;
    /// let fr = Country::objects().create(&db, Country { id: 0, code: "FR".into(), _state: ModelState::new() })?;
    /// let paris = City::objects().create(&db, City {
    ///     id: 0, country: ForeignKey::to_field(&fr, "code")?, _state: ModelState::new(),
    /// })?;
    /// assert_eq!(paris.country.id(), "FR");
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn to_field(obj: &T, field: &str) -> Result<Self>
    where
        T: Clone,
    {
        let meta = T::meta();
        if !obj.state().pk_is_set() {
            return Err(Error::invalid(format!(
                "save() prohibited to prevent data loss due to unsaved related object '{}'.",
                meta.name.to_lowercase()
            )));
        }
        let (index, f) = meta.field(field).ok_or_else(|| {
            Error::field(format!(
                "{} has no field named '{field}'. Choices are: {}",
                meta.name,
                meta.field_choices_local().join(", ")
            ))
        })?;
        Ok(ForeignKey {
            id: K::from_value(obj.field_value(index))?,
            to_field: f.name,
            cached: LinkCell::with(Arc::new(obj.clone())),
        })
    }

    /// The key this row holds (`book.publisher_id` in Django); never runs a query.
    pub fn id(&self) -> &K {
        &self.id
    }

    /// The related object if it was loaded (by [`get`](Self::get), `select_related` or
    /// `prefetch_related`).
    pub fn cached(&self) -> Option<&T> {
        self.cached.get()
    }

    /// True once the related object is loaded.
    pub fn is_cached(&self) -> bool {
        self.cached.get().is_some()
    }

    /// The related object: loaded with one query the first time, then cached on this
    /// instance (a shared reference is enough, so chains load level by level:
    /// `species.genus.get(db)?.family.get(db)?`). A key with no row is
    /// `Error::DoesNotExist`.
    pub fn get(&self, ex: &(impl Executor + ?Sized)) -> Result<&T> {
        if let Some(obj) = self.cached.get() {
            return Ok(obj);
        }
        let field = if self.to_field.is_empty() {
            "pk"
        } else {
            self.to_field
        };
        let obj = T::objects().get(ex, Q::lookup(field, self.id.to_value()))?;
        Ok(self.cached.get_or_set(Arc::new(obj)))
    }

    /// Points at another row; the cached object is dropped.
    pub fn set_id(&mut self, id: K) {
        self.id = id;
        self.cached.take();
    }

    /// Forgets the cached object (the next [`get`](Self::get) queries again).
    pub fn clear_cache(&mut self) {
        self.cached.take();
    }
}

/// A link to the row with this key: `#[field(default = 1)]` on a `ForeignKey` field.
impl<T: Model, K: FieldValue> From<K> for ForeignKey<T, K> {
    fn from(id: K) -> Self {
        ForeignKey::new(id)
    }
}

impl<T: Model, K: Clone> Clone for ForeignKey<T, K> {
    fn clone(&self) -> Self {
        ForeignKey {
            id: self.id.clone(),
            to_field: self.to_field,
            cached: self.cached.clone(),
        }
    }
}

impl<T: Model, K: std::fmt::Debug> std::fmt::Debug for ForeignKey<T, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ForeignKey<{}>({:?})", T::meta().name, self.id)
    }
}

/// Two links are equal when they hold the same key.
impl<T: Model, K: PartialEq> PartialEq for ForeignKey<T, K> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl<T: Model, K: FieldValue> FieldValue for ForeignKey<T, K> {
    const KIND: crate::FieldKind = K::KIND;
    const MAX_LENGTH: Option<u32> = K::MAX_LENGTH;

    fn to_value(&self) -> Value {
        self.id.to_value()
    }

    fn from_value(value: Value) -> Result<Self> {
        K::from_value(value).map(Self::new)
    }

    fn param(&self) -> crate::value::Param<'_> {
        self.id.param()
    }

    fn read<R: Row + ?Sized>(row: &R, idx: usize) -> Result<Self> {
        K::read(row, idx).map(Self::new)
    }

    fn normalize(&mut self, field: &FieldMeta) {
        if let Some(rel) = field.relation {
            self.to_field = rel.to_field;
        }
    }
}

/// A field that links to another model: `ForeignKey<T>` or `Option<ForeignKey<T>>`.
/// Generic code (select_related hydration, prefetch) reaches the key and the cache
/// through it.
#[doc(hidden)]
pub trait RelatedField {
    /// The model linked to.
    type Target: Model;
    /// The key, or `None` when the link is NULL.
    fn key(&self) -> Option<Value>;
    /// Stores the loaded object.
    fn set_cached(&mut self, obj: Arc<Self::Target>);
    /// The loaded object, if any.
    fn cached_target(&self) -> Option<&Self::Target>;
    /// Takes the loaded object out.
    fn take_cached(&mut self) -> Option<Arc<Self::Target>>;
}

impl<T: Model, K: FieldValue> RelatedField for ForeignKey<T, K> {
    type Target = T;
    fn key(&self) -> Option<Value> {
        Some(self.id.to_value())
    }
    fn set_cached(&mut self, obj: Arc<T>) {
        self.cached.set(obj);
    }
    fn cached_target(&self) -> Option<&T> {
        self.cached()
    }
    fn take_cached(&mut self) -> Option<Arc<T>> {
        self.cached.take()
    }
}

impl<T: Model, K: FieldValue> RelatedField for Option<ForeignKey<T, K>> {
    type Target = T;
    fn key(&self) -> Option<Value> {
        self.as_ref().map(|f| f.id.to_value())
    }
    fn set_cached(&mut self, obj: Arc<T>) {
        if let Some(f) = self {
            f.cached.set(obj);
        }
    }
    fn cached_target(&self) -> Option<&T> {
        self.as_ref().and_then(|f| f.cached())
    }
    fn take_cached(&mut self) -> Option<Arc<T>> {
        self.as_mut().and_then(|f| f.cached.take())
    }
}

/// Stores `obj` (an `Arc` of the field's target model) as the field's loaded object;
/// false when it is of another model.
#[doc(hidden)]
pub fn set_related_cache_field<F: RelatedField>(
    field: &mut F,
    obj: Arc<dyn std::any::Any + Send + Sync>,
) -> bool {
    match obj.downcast::<F::Target>() {
        Ok(t) => {
            field.set_cached(t);
            true
        }
        Err(_) => false,
    }
}

/// Which related objects a `select_related` row carries after the model's own columns,
/// depth first: the compiler writes the columns in this order and hydration reads them
/// back in it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RelatedPlan {
    /// The relation field (index in the parent's fields); unused at the root and for a
    /// reverse one-to-one step.
    pub field: usize,
    /// A reverse one-to-one step (`place` → `restaurant`) instead of a field.
    pub reverse: Option<&'static ReverseRelation>,
    /// Columns of this model and all its descendants.
    pub width: usize,
    /// The fields of this model the row holds, in order, when `defer()`/`only()` leave
    /// some out (`None`: all of them).
    pub loaded: Option<Vec<usize>>,
    /// Relations followed from this model.
    pub children: Vec<RelatedPlan>,
}

/// Reads the objects of `plan`'s children from `row`, the first at `offset`, into `obj`.
#[doc(hidden)]
pub fn hydrate_related<M: Model, R: Row + ?Sized>(
    obj: &mut M,
    row: &R,
    mut offset: usize,
    plan: &RelatedPlan,
) -> Result<()> {
    for child in &plan.children {
        match child.reverse {
            None => obj.load_related(child.field, row, offset, child)?,
            Some(rev) => {
                let load = rev
                    .relation
                    .load_reverse
                    .expect("select_related follows reverse one-to-one fields only");
                load(obj, rev, &row, offset, child)?;
            }
        }
        offset += child.width;
    }
    Ok(())
}

/// Reads the object on the reverse side of a one-to-one field (`C`, the model holding
/// it) into the parent `P`'s cache; an empty cache records that there is none, so
/// `place.restaurant(&db)` answers `DoesNotExist` without a query.
#[doc(hidden)]
pub fn load_reverse_one<C: Model, P: Model>(
    parent: &mut dyn std::any::Any,
    relation: &'static ReverseRelation,
    row: &dyn Row,
    offset: usize,
    plan: &RelatedPlan,
) -> Result<()> {
    let parent = parent
        .downcast_mut::<P>()
        .expect("the compiler joined the reverse side of this model's relation");
    let objects: Vec<C> = match read_related::<C, _>(row, offset, plan)? {
        None => Vec::new(),
        Some(mut obj) => {
            // The link back is the parent itself: `place.restaurant.place` runs no query.
            let back = Arc::new(super::clone_via_values(&*parent));
            obj.set_related_cache(relation.field_index, back);
            vec![obj]
        }
    };
    parent
        .state_mut()
        .set_prefetched(&relation.accessor, Arc::new(objects));
    Ok(())
}

/// Reads one related object of a `select_related` row into the field (nothing when the
/// LEFT JOIN found no row).
#[doc(hidden)]
pub fn load_related_field<F: RelatedField, R: Row + ?Sized>(
    field: &mut F,
    row: &R,
    offset: usize,
    plan: &RelatedPlan,
) -> Result<()> {
    if let Some(obj) = read_related::<F::Target, _>(row, offset, plan)? {
        field.set_cached(Arc::new(obj));
    }
    Ok(())
}

/// The object of a `select_related` step at `offset` with the objects below it, or
/// `None` when the LEFT JOIN found no row.
fn read_related<T: Model, R: Row + ?Sized>(
    row: &R,
    offset: usize,
    plan: &RelatedPlan,
) -> Result<Option<T>> {
    let meta = T::meta();
    let (pk_column, own) = match &plan.loaded {
        None => (meta.pk, meta.fields.len()),
        Some(loaded) => (
            loaded.iter().position(|&i| i == meta.pk).unwrap_or(0),
            loaded.len(),
        ),
    };
    if row.is_null(offset + pk_column)? {
        return Ok(None);
    }
    let mut obj = match &plan.loaded {
        None => T::from_row(row, offset)?,
        Some(loaded) => super::from_row_deferred::<T, _>(row, offset, loaded)?,
    };
    hydrate_related(&mut obj, row, offset + own, plan)?;
    Ok(Some(obj))
}
