//! The two generic field types and their static meta.

use crate::db::Executor;
use crate::error::Result;
use crate::model::{Model, ModelMeta};
use crate::value::{key_of, Value};
use std::any::Any;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

/// A link to a row of any model, Django's `GenericForeignKey`: it reads two ordinary
/// fields of the same model, a `ForeignKey<ContentType>` (`content_type` unless
/// `ct_field = "..."`) and the object's key (`object_id` unless `fk_field = "..."`).
///
/// The field itself holds only the loaded object. The derive writes two methods named
/// after it: `item.content_object::<Animal>(&db)?` loads (and caches) the object, and
/// `item.set_content_object(&db, &lion)?` sets both fields. It cannot be used in
/// lookups (filter on the two fields, or add a [`GenericRelation`] on the target).
#[derive(Default)]
pub struct GenericForeignKey {
    cached: OnceLock<Loaded>,
}

/// A loaded object and the content type id and key it was loaded for: when the two
/// fields change, the object no longer counts as loaded.
#[derive(Clone)]
struct Loaded {
    content_type: Value,
    object_id: Value,
    /// `None`: looked up, and no row (Django caches that too).
    object: Option<Arc<dyn Any + Send + Sync>>,
}

impl GenericForeignKey {
    /// The field's value in a new instance (nothing loaded).
    pub const fn new() -> Self {
        GenericForeignKey {
            cached: OnceLock::new(),
        }
    }

    /// The loaded object, if it is a `T` (loaded by the accessor, `set_...` or
    /// `prefetch_related`).
    pub fn cached<T: Model>(&self) -> Option<&T> {
        self.cached
            .get()
            .and_then(|l| l.object.as_deref()?.downcast_ref::<T>())
    }

    /// What was loaded for this content type and key: `Some(Some(obj))` for a `T`,
    /// `Some(None)` when the lookup found no row, `None` when nothing is known.
    pub(crate) fn cached_for<T: Model>(
        &self,
        content_type: &Value,
        object_id: &Value,
    ) -> Option<Option<&T>> {
        let loaded = self
            .cached
            .get()
            .filter(|l| key_of(&l.content_type) == key_of(content_type))
            .filter(|l| key_of(&l.object_id) == key_of(object_id))?;
        match &loaded.object {
            None => Some(None),
            Some(obj) => obj.downcast_ref::<T>().map(Some),
        }
    }

    /// True once an object is loaded.
    pub fn is_cached(&self) -> bool {
        self.cached.get().is_some()
    }

    /// Stores the object loaded for this content type and key (kept if one is there).
    pub(crate) fn set_cached(
        &self,
        content_type: Value,
        object_id: Value,
        object: Option<Arc<dyn Any + Send + Sync>>,
    ) {
        let _ = self.cached.set(Loaded {
            content_type,
            object_id,
            object,
        });
    }

    /// Records that the lookup for this content type and key found no row.
    pub(crate) fn cache_absent(&mut self, content_type: Value, object_id: Value) {
        self.cached = OnceLock::from(Loaded {
            content_type,
            object_id,
            object: None,
        });
    }

    /// Replaces the loaded object (`None`: forget it).
    #[doc(hidden)]
    pub fn replace_cached(&mut self, loaded: Option<(Value, Value, Arc<dyn Any + Send + Sync>)>) {
        self.cached = match loaded {
            Some((content_type, object_id, object)) => OnceLock::from(Loaded {
                content_type,
                object_id,
                object: Some(object),
            }),
            None => OnceLock::new(),
        };
    }
}

impl Clone for GenericForeignKey {
    fn clone(&self) -> Self {
        GenericForeignKey {
            cached: self.cached.clone(),
        }
    }
}

impl std::fmt::Debug for GenericForeignKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_cached() {
            "GenericForeignKey(loaded)"
        } else {
            "GenericForeignKey"
        })
    }
}

/// Every value is equal: the link lives in the two fields it reads.
impl PartialEq for GenericForeignKey {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The static meta of a `GenericForeignKey` field.
#[derive(Debug)]
pub struct GenericForeignKeyMeta {
    /// The field's name (`content_object`).
    pub name: &'static str,
    /// The `ForeignKey<ContentType>` field.
    pub ct_field: &'static str,
    /// The field holding the object's key.
    pub fk_field: &'static str,
}

/// The reverse side of a [`GenericForeignKey`], Django's `GenericRelation`: declared on
/// the model pointed at, it gives a manager (`animal.tags()`), lookups
/// (`filter(q!(tags__tag = "x"))`, and `related_query_name` from the other side),
/// `prefetch_related("tags")`, and deletes the pointing rows with the object.
pub struct GenericRelation<T> {
    _target: PhantomData<fn() -> T>,
}

impl<T> GenericRelation<T> {
    /// The field's value in a new instance (it holds nothing).
    pub const fn new() -> Self {
        GenericRelation {
            _target: PhantomData,
        }
    }
}

impl<T> Default for GenericRelation<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for GenericRelation<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for GenericRelation<T> {}

/// Every value is equal: the related rows live in their own table.
impl<T> PartialEq for GenericRelation<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T: Model> std::fmt::Debug for GenericRelation<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GenericRelation<{}>", T::meta().name)
    }
}

/// Loads a generic relation for `prefetch_related`; the derive writes it with the two
/// model types.
#[doc(hidden)]
pub type PrefetchGenericFn = fn(
    parents: &mut dyn Any,
    relation: &'static GenericRelationMeta,
    node: &crate::query::prefetch::PrefetchNode,
    ex: &dyn Executor,
) -> Result<()>;

/// The static meta of a `GenericRelation<T>` field.
pub struct GenericRelationMeta {
    /// The field's name (`tags`), also its name in lookups and its accessor.
    pub name: &'static str,
    /// The model holding the generic foreign key.
    pub to: fn() -> &'static ModelMeta,
    /// That model's `ForeignKey<ContentType>` field.
    pub content_type_field: &'static str,
    /// That model's field holding this model's key.
    pub object_id_field: &'static str,
    /// The name lookups from the other model use to reach this one (`animal` in
    /// `TaggedItem.objects().filter(q!(animal__common_name = ...))`); none by default.
    pub related_query_name: Option<&'static str>,
    /// Runs `prefetch_related` of this relation.
    #[doc(hidden)]
    pub prefetch: PrefetchGenericFn,
}

impl std::fmt::Debug for GenericRelationMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenericRelationMeta")
            .field("name", &self.name)
            .field("to", &(self.to)().name)
            .field("content_type_field", &self.content_type_field)
            .field("object_id_field", &self.object_id_field)
            .finish()
    }
}

impl GenericRelationMeta {
    /// The model holding the generic foreign key.
    pub fn target(&self) -> &'static ModelMeta {
        (self.to)()
    }

    /// The target's content type and object key fields.
    pub(crate) fn key_fields(
        &self,
    ) -> (
        &'static crate::model::FieldMeta,
        &'static crate::model::FieldMeta,
    ) {
        let target = self.target();
        let ct = target
            .field(self.content_type_field)
            .unwrap_or_else(|| missing(target, self.name, self.content_type_field))
            .1;
        let id = target
            .field(self.object_id_field)
            .unwrap_or_else(|| missing(target, self.name, self.object_id_field))
            .1;
        (ct, id)
    }
}

#[cold]
fn missing(target: &'static ModelMeta, relation: &str, field: &str) -> ! {
    panic!(
        "the generic relation '{relation}' reads {}.{field}, which does not exist. Choices \
         are: {}",
        target.name,
        target.field_choices_local().join(", ")
    )
}

/// The generic relations declared on other models that point at `meta` by
/// `related_query_name`: `(declaring model, relation)`.
pub(crate) fn reverse_generic(
    meta: &'static ModelMeta,
) -> impl Iterator<Item = (&'static ModelMeta, &'static GenericRelationMeta)> {
    type Index = Vec<(&'static ModelMeta, &'static GenericRelationMeta)>;
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX
        .get_or_init(|| {
            crate::model::registry::models()
                .into_iter()
                .flat_map(|m| m.generic_relations.iter().map(move |g| (m, g)))
                .filter(|(_, g)| g.related_query_name.is_some())
                .collect()
        })
        .iter()
        .copied()
        .filter(move |(_, g)| std::ptr::eq(g.target(), meta))
}
