//! Content types and generic relations, Django's `django.contrib.contenttypes`.
//!
//! [`ContentType`] is a model: one row per model (`app_label`, `model`), created on
//! demand. A [`GenericForeignKey`] points at a row of any model through two ordinary
//! fields, a foreign key to `ContentType` and the object's key; a [`GenericRelation`]
//! on the model pointed at gives the reverse side: a manager, lookups and prefetch.
//!
//! ```
//! use quarry::prelude::*;
//! use quarry::contenttypes::{ContentType, GenericForeignKey, GenericRelation};
//!
//! #[derive(Model, Debug, Clone)]
//! #[model(app_label = "ct_docs", ordering = ["tag"])]
//! struct TaggedItem {
//!     id: i64,
//!     #[field(kind = "SlugField")]
//!     tag: String,
//!     #[field(on_delete = Cascade)]
//!     content_type: ForeignKey<ContentType>,
//!     object_id: i64,
//!     content_object: GenericForeignKey,
//!     _state: ModelState,
//! }
//!
//! #[derive(Model, Debug, Clone)]
//! #[model(app_label = "ct_docs")]
//! struct Animal {
//!     id: i64,
//!     #[field(max_length = 150)]
//!     common_name: String,
//!     #[field(related_query_name = "animal")]
//!     tags: GenericRelation<TaggedItem>,
//!     _state: ModelState,
//! }
//!
//! let db = Database::connect("sqlite::memory:")?;
//! // The content types table comes with the models that need it.
//! quarry::schema::create_tables(&db, &[TaggedItem::meta(), Animal::meta()])?;
//! let lion = Animal::objects().create(&db, Animal {
//!     id: 0, common_name: "Lion".into(), tags: GenericRelation::new(), _state: ModelState::new(),
//! })?;
//! // create() fills in the content type and the key.
//! lion.tags().create(&db, TaggedItem {
//!     id: 0, tag: "yellow".into(), content_type: ForeignKey::new(0), object_id: 0,
//!     content_object: GenericForeignKey::new(), _state: ModelState::new(),
//! })?;
//!
//! let tag = TaggedItem::objects().get(&db, q!(animal__common_name = "Lion"))?;
//! let animal: Animal = tag.content_object(&db)?.expect("the lion exists");
//! assert_eq!(animal.common_name, "Lion");
//! assert_eq!(Animal::objects().filter(q!(tags__tag = "yellow")).count(&db)?, 1);
//! assert_eq!(ContentType::for_model::<Animal>(&db)?.model, "animal");
//! # Ok::<(), quarry::Error>(())
//! ```

mod fields;
mod manager;
pub(crate) mod prefetch;

pub(crate) use fields::reverse_generic;
pub use fields::{
    GenericForeignKey, GenericForeignKeyMeta, GenericRelation, GenericRelationMeta,
    PrefetchGenericFn,
};
pub use manager::GenericRelatedManager;
pub use prefetch::{
    fetch_dyn, prefetch_generic_foreign_key, prefetch_generic_relation, GenericPrefetch,
};

use crate::db::Executor;
use crate::error::{Error, Result};
use crate::model::{registry, Model, ModelMeta, ModelState};
use crate::query::Q;
use crate::value::Value;
use std::collections::HashMap;
use std::sync::Mutex;

/// One model, as a row: Django's `ContentType` (table `django_content_type`).
///
/// Rows are created the first time a model's content type is asked for.
///
/// ```
/// use quarry::prelude::*;
/// use quarry::contenttypes::ContentType;
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "ct_only")]
/// struct Mineral { id: i64, _state: ModelState }
///
/// let db = Database::connect("sqlite::memory:")?;
/// quarry::schema::create_tables(&db, &[ContentType::meta(), Mineral::meta()])?;
/// let ct = ContentType::for_model::<Mineral>(&db)?;
/// assert_eq!((ct.app_label.as_str(), ct.model.as_str()), ("ct_only", "mineral"));
/// assert_eq!(ct.model_meta().map(|m| m.name), Some("Mineral"));
/// assert_eq!(ContentType::for_model::<Mineral>(&db)?.id, ct.id); // created once
/// # Ok::<(), quarry::Error>(())
/// ```
#[derive(crate::Model, Debug, Clone, PartialEq)]
#[model(
    app_label = "contenttypes",
    db_table = "django_content_type",
    unique_together = [["app_label", "model"]],
    verbose_name = "content type"
)]
pub struct ContentType {
    /// The primary key.
    pub id: i64,
    /// The model's app label.
    #[field(max_length = 100)]
    pub app_label: String,
    /// The model's name in lower case.
    #[field(max_length = 100, verbose_name = "python model class name")]
    pub model: String,
    /// Instance state.
    pub _state: ModelState,
}

/// The content types one database has answered: Django's `ContentTypeManager` cache,
/// held by each [`Database`](crate::Database) (so two databases never share ids).
///
/// It is filled by lookups made outside a transaction (a row read or created inside one
/// may still be rolled back) and read everywhere. [`ContentType::clear_cache`] empties
/// it, as Django's `ContentType.objects.clear_cache()` does.
#[derive(Debug, Default)]
pub struct ContentTypeCache {
    rows: Mutex<ContentTypeRows>,
}

#[derive(Debug, Default)]
struct ContentTypeRows {
    by_model: HashMap<(String, String), i64>,
    by_id: HashMap<i64, (String, String)>,
}

impl ContentTypeCache {
    fn by_model(&self, app_label: &str, model: &str) -> Option<ContentType> {
        let rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        let id = *rows
            .by_model
            .get(&(app_label.to_owned(), model.to_owned()))?;
        Some(ContentType::row(id, app_label, model))
    }

    fn by_id(&self, id: i64) -> Option<ContentType> {
        let rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        let (app_label, model) = rows.by_id.get(&id)?;
        Some(ContentType::row(id, app_label, model))
    }

    fn store(&self, ct: &ContentType) {
        let mut rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        let key = (ct.app_label.clone(), ct.model.clone());
        rows.by_model.insert(key.clone(), ct.id);
        rows.by_id.insert(ct.id, key);
    }

    /// Forgets every content type.
    pub fn clear(&self) {
        let mut rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        rows.by_model.clear();
        rows.by_id.clear();
    }
}

impl ContentType {
    fn row(id: i64, app_label: &str, model: &str) -> ContentType {
        ContentType {
            id,
            app_label: app_label.to_owned(),
            model: model.to_owned(),
            _state: ModelState::loaded(),
        }
    }

    /// The content type of `meta`, created if it does not exist yet. Answered from the
    /// database's cache after the first time.
    pub fn for_meta(
        ex: &(impl Executor + ?Sized),
        meta: &'static ModelMeta,
    ) -> Result<ContentType> {
        let model = meta.name.to_lowercase();
        let access = ex.content_types();
        if let Some(ct) = access.and_then(|a| a.cache.by_model(meta.app_label, &model)) {
            return Ok(ct);
        }
        let (ct, _) = ContentType::objects().get_or_create(
            ex,
            Q::lookup("app_label", meta.app_label) & Q::lookup("model", model.as_str()),
            [],
        )?;
        if let Some(a) = access.filter(|a| a.may_store) {
            a.cache.store(&ct);
        }
        Ok(ct)
    }

    /// Empties the database's cache of content types, Django's
    /// `ContentType.objects.clear_cache()`: needed only when rows of
    /// `django_content_type` are changed by hand.
    pub fn clear_cache(ex: &(impl Executor + ?Sized)) {
        if let Some(a) = ex.content_types() {
            a.cache.clear();
        }
    }

    /// The content type of `M`, created if it does not exist yet.
    pub fn for_model<M: Model>(ex: &(impl Executor + ?Sized)) -> Result<ContentType> {
        Self::for_meta(ex, M::meta())
    }

    /// The content type with primary key `id`.
    pub fn for_id(ex: &(impl Executor + ?Sized), id: i64) -> Result<ContentType> {
        let access = ex.content_types();
        if let Some(ct) = access.and_then(|a| a.cache.by_id(id)) {
            return Ok(ct);
        }
        let ct = ContentType::objects().get(ex, Q::lookup("pk", id))?;
        if let Some(a) = access.filter(|a| a.may_store) {
            a.cache.store(&ct);
        }
        Ok(ct)
    }

    /// The content types with these ids (those that exist): from the database's cache,
    /// and one query for the ones it does not hold.
    pub fn for_ids(ex: &(impl Executor + ?Sized), ids: &[i64]) -> Result<Vec<ContentType>> {
        let access = ex.content_types();
        let mut found = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for &id in ids {
            match access.and_then(|a| a.cache.by_id(id)) {
                Some(ct) => found.push(ct),
                None => missing.push(Value::I64(id)),
            }
        }
        if !missing.is_empty() {
            let read = ContentType::objects()
                .filter(Q::lookup("pk__in", Value::List(missing)))
                .all(ex)?;
            if let Some(a) = access.filter(|a| a.may_store) {
                read.iter().for_each(|ct| a.cache.store(ct));
            }
            found.extend(read);
        }
        Ok(found)
    }

    /// The registered model this content type stands for (`None` for a model this
    /// program does not know, Django's stale content type).
    pub fn model_meta(&self) -> Option<&'static ModelMeta> {
        registry::get_model(&format!("{}.{}", self.app_label, self.model))
    }
}

/// The content type of `obj`'s model and `obj`'s key: what a generic foreign key to it
/// holds. The object must be saved.
#[doc(hidden)]
pub fn generic_target<T: Model>(ex: &(impl Executor + ?Sized), obj: &T) -> Result<(Value, Value)> {
    if !obj.state().pk_is_set() {
        return Err(Error::invalid(format!(
            "save() prohibited to prevent data loss due to unsaved related object '{}'.",
            T::meta().name.to_lowercase()
        )));
    }
    let ct = ContentType::for_model::<T>(ex)?;
    Ok((Value::I64(ct.id), obj.pk()))
}

/// The object a generic foreign key points at, as a `T`: from the cache when loaded,
/// else one query for the content type and one for the object. `None` when the key is
/// NULL or the row is gone; an error when it points at another model.
#[doc(hidden)]
pub fn generic_get<T: Model>(
    field: &GenericForeignKey,
    content_type: Option<Value>,
    object_id: Value,
    owner: &str,
    ex: &(impl Executor + ?Sized),
) -> Result<Option<T>> {
    let (Some(Value::I64(ct_id)), false) = (&content_type, object_id.is_null()) else {
        return Ok(None);
    };
    let ct_id = *ct_id;
    if let Some(known) = field.cached_for::<T>(&Value::I64(ct_id), &object_id) {
        return Ok(known.map(T::clone_instance));
    }
    let ct = ContentType::for_id(ex, ct_id)?;
    let meta = ct.model_meta();
    if !meta.is_some_and(|m| std::ptr::eq(m, T::meta())) {
        return Err(Error::invalid(format!(
            "{owner} points at a {}.{} object, not a {}",
            ct.app_label,
            ct.model,
            T::meta().name
        )));
    }
    let found = T::objects()
        .filter(Q::lookup("pk", object_id.clone()))
        .first(ex)?;
    let object = found.as_ref().map(|obj| {
        std::sync::Arc::new(obj.clone_instance()) as std::sync::Arc<dyn std::any::Any + Send + Sync>
    });
    field.set_cached(Value::I64(ct_id), object_id, object);
    Ok(found)
}

/// The `related_query_name`s of generic relations that point at `meta`.
pub(crate) fn reverse_generic_names(
    meta: &'static ModelMeta,
) -> impl Iterator<Item = &'static str> {
    reverse_generic(meta).filter_map(|(_, g)| g.related_query_name)
}

/// The content-types subquery a generic join compares its type column with:
/// `(SELECT id FROM django_content_type WHERE app_label = '...' AND model = '...')`, so
/// that lookups across generic relations need no query to find the type's id first.
pub(crate) fn content_type_subquery(dialect: &dyn crate::sql::Dialect, meta: &ModelMeta) -> String {
    let ct = ContentType::meta();
    let quote = |s: &str| s.replace('\'', "''");
    let mut sql = String::from("(SELECT ");
    dialect.quote(&mut sql, ct.pk_field().column);
    sql.push_str(" FROM ");
    dialect.quote(&mut sql, ct.db_table);
    sql.push_str(" WHERE ");
    dialect.quote(&mut sql, "app_label");
    sql.push_str(&format!(" = '{}' AND ", quote(meta.app_label)));
    dialect.quote(&mut sql, "model");
    sql.push_str(&format!(" = '{}')", quote(&meta.name.to_lowercase())));
    sql
}
