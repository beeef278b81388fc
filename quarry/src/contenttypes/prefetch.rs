//! `prefetch_related` across generic relations: a generic foreign key (one query per
//! content type found) and a generic relation (one query).

use super::fields::GenericRelationMeta;
use super::ContentType;
use crate::db::Executor;
use crate::error::{Error, Result};
use crate::model::{Model, ModelMeta};
use crate::query::prefetch::{
    already_loaded, append, distinct_keys, distribute, group_by_key, key_batch, node_queryset,
    prefetch_below_loaded, prefetch_objects, PrefetchNode,
};
use crate::query::{Query, QuerySet, Q};
use crate::value::{key_of, Value, ValueKey};
use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

/// A loaded object of some model, type-erased.
type AnyObject = Arc<dyn Any + Send + Sync>;

/// Loads the rows of `M` with these primary keys and runs the prefetch levels `below`
/// on them, type-erased with their keys: what a generic prefetch calls through
/// [`ModelMeta::dyn_fetch`] for a model it knows only by its content type.
#[doc(hidden)]
pub fn fetch_dyn<M: Model>(
    ex: &dyn Executor,
    keys: Vec<Value>,
    base: Option<&Query>,
    below: &[PrefetchNode],
) -> Result<Vec<(Value, AnyObject)>> {
    let mut objs: Vec<M> = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(key_batch(ex)) {
        let qs = match base {
            Some(query) => QuerySet::<M>::from_query(query.clone()),
            None => QuerySet::<M>::new(),
        };
        objs.extend(
            qs.filter(Q::lookup("pk__in", Value::List(chunk.to_vec())))
                .all(ex)?,
        );
    }
    prefetch_objects(&mut objs, below, ex)?;
    Ok(objs
        .into_iter()
        .map(|o| (o.pk(), Arc::new(o) as AnyObject))
        .collect())
}

/// Django's `GenericPrefetch`: prefetches a generic foreign key with a QuerySet per
/// model it may point at (their filters, `select_related` and `prefetch_related`
/// apply). An object a QuerySet leaves out is cached as absent; a model without a
/// QuerySet is read whole. Two QuerySets of one model are refused.
///
/// ```
/// use quarry::prelude::*;
/// use quarry::contenttypes::{ContentType, GenericForeignKey, GenericPrefetch};
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "gp_docs")]
/// struct Bookmark {
///     id: i64,
///     #[field(on_delete = Cascade)]
///     content_type: ForeignKey<ContentType>,
///     object_id: i64,
///     target: GenericForeignKey,
///     _state: ModelState,
/// }
///
/// #[derive(Model, Debug, Clone, PartialEq)]
/// #[model(app_label = "gp_docs")]
/// struct Page {
///     id: i64,
///     published: bool,
///     _state: ModelState,
/// }
///
/// let db = Database::connect("sqlite::memory:")?;
/// quarry::schema::create_tables(&db, &[Bookmark::meta(), Page::meta()])?;
/// for published in [true, false] {
///     let page = Page::objects().create(&db, Page { id: 0, published, _state: ModelState::new() })?;
///     let mut b = Bookmark::from_pairs([("content_type", 0.into()), ("object_id", 0.into())])?;
///     b.set_target(&db, &page)?;
///     b.save(&db)?;
/// }
/// let marks = Bookmark::objects()
///     .order_by(["id"])
///     .prefetch_related([GenericPrefetch::new("target").queryset(Page::objects().filter(q!(published = true)))])
///     .all(&db)?;
/// assert!(marks[0].target.cached::<Page>().is_some());
/// // Left out by the QuerySet: known to be absent, no query.
/// let (page, queries) = quarry::testing::capture_queries(|| marks[1].target::<Page>(&db));
/// assert_eq!((page?, queries.len()), (None, 0));
/// # Ok::<(), quarry::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct GenericPrefetch {
    lookup: String,
    queries: Vec<Query>,
}

impl GenericPrefetch {
    /// Prefetches the generic foreign key at `lookup` (`"content_object"`, or a path
    /// ending in one).
    pub fn new(lookup: impl Into<String>) -> Self {
        GenericPrefetch {
            lookup: lookup.into(),
            queries: Vec::new(),
        }
    }

    /// Reads the objects of `M` with this QuerySet.
    pub fn queryset<M: Model>(mut self, qs: QuerySet<M>) -> Self {
        self.queries.push(qs.query().clone());
        self
    }
}

impl From<GenericPrefetch> for crate::query::Prefetch {
    fn from(g: GenericPrefetch) -> Self {
        let mut p = crate::query::Prefetch::new(g.lookup);
        p.generic = g.queries;
        p
    }
}

/// A key converted to what `meta`'s primary key stores (an `object_id` held as text
/// still finds an integer key).
fn as_pk_of(meta: &ModelMeta, v: Value) -> Option<ValueKey> {
    let v = crate::sql::compiler::prep(meta.pk_field().kind, v).ok()?;
    key_of(&v)
}

/// `prefetch_related("content_object")`: reads the content types the objects point at
/// (one query), then each model's rows (one query per content type, and the levels
/// below per model), and fills each `GenericForeignKey`'s cache.
#[doc(hidden)]
pub fn prefetch_generic_foreign_key<M: Model>(
    objs: &mut [M],
    index: usize,
    node: &PrefetchNode,
    ex: &dyn Executor,
) -> Result<()> {
    let meta = M::meta();
    let gfk = &meta.generic_foreign_keys[index];
    if node.query.is_some() || node.to_attr.is_some() {
        return Err(Error::invalid(format!(
            "Prefetch querysets and to_attr cannot be used with GenericForeignKeys \
             ('{}'); use GenericPrefetch with a QuerySet per model.",
            node.path
        )));
    }
    for (i, q) in node.generic.iter().enumerate() {
        if node.generic[..i]
            .iter()
            .any(|other| std::ptr::eq(other.model, q.model))
        {
            return Err(Error::invalid(
                "Only one queryset is allowed for each content type.",
            ));
        }
    }
    let (ct_index, _) = meta.field_or_error(gfk.ct_field)?;
    let (id_index, _) = meta.field_or_error(gfk.fk_field)?;
    let mut wanted: HashMap<i64, Vec<Value>> = HashMap::new();
    for o in objs.iter() {
        if let (Value::I64(ct), id) = (o.field_value(ct_index), o.field_value(id_index)) {
            if !id.is_null() {
                wanted.entry(ct).or_default().push(id);
            }
        }
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = wanted.keys().copied().collect();
    let cts = ContentType::for_ids(ex, &ids)?;
    let mut loaded: HashMap<(i64, ValueKey), AnyObject> = HashMap::new();
    for ct in cts {
        let Some(target) = ct.model_meta() else {
            continue;
        };
        let Some(fetch) = target.dyn_fetch else {
            continue;
        };
        let keys = distinct_keys(wanted.remove(&ct.id).unwrap_or_default().into_iter());
        let base = node.generic.iter().find(|q| std::ptr::eq(q.model, target));
        for (pk, obj) in fetch(ex, keys, base, &node.children)? {
            if let Some(k) = key_of(&pk) {
                loaded.insert((ct.id, k), obj);
            }
        }
        for o in objs.iter_mut() {
            let Value::I64(c) = o.field_value(ct_index) else {
                continue;
            };
            if c != ct.id {
                continue;
            }
            let object_id = o.field_value(id_index);
            let found =
                as_pk_of(target, object_id.clone()).and_then(|k| loaded.get(&(c, k)).cloned());
            if let Some(field) = o.generic_field_mut(index) {
                match found {
                    Some(obj) => field.replace_cached(Some((Value::I64(c), object_id, obj))),
                    // No row, or one the model's GenericPrefetch query left out: the
                    // absence is cached, as Django caches None.
                    None => field.cache_absent(Value::I64(c), object_id),
                }
            }
        }
    }
    Ok(())
}

/// `prefetch_related("tags")` across a generic relation: one query of `C` filtered on
/// the parent's content type and keys, grouped per parent.
#[doc(hidden)]
pub fn prefetch_generic_relation<P: Model, C: Model>(
    parents: &mut dyn Any,
    rel: &'static GenericRelationMeta,
    node: &PrefetchNode,
    ex: &dyn Executor,
) -> Result<()> {
    let parents = parents
        .downcast_mut::<Vec<P>>()
        .expect("the relation's parents are of its model");
    let name = node.store_as();
    if already_loaded::<P, C>(parents, node) {
        return prefetch_below_loaded::<P, C>(parents, name, node, ex);
    }
    let meta = P::meta();
    let keys = distinct_keys(parents.iter().map(|p| p.pk()));
    let (base, slice) = node_queryset::<C>(node)?;
    let ct = rel.content_type_field;
    let base = base.filter(
        Q::lookup(format!("{ct}__app_label"), meta.app_label)
            & Q::lookup(format!("{ct}__model"), meta.name.to_lowercase()),
    );
    let (id_index, _) = C::meta().field_or_error(rel.object_id_field)?;
    let mut children: Vec<C> = Vec::new();
    for chunk in keys.chunks(key_batch(ex)) {
        let qs = base.clone().filter(Q::lookup(
            format!("{}__in", rel.object_id_field),
            Value::List(chunk.to_vec()),
        ));
        append(&mut children, qs.all(ex)?);
    }
    prefetch_objects(&mut children, &node.children, ex)?;
    let keys = children
        .iter()
        .map(|c| as_pk_of(meta, c.field_value(id_index)))
        .collect();
    let groups = group_by_key(children, keys);
    distribute(
        parents,
        groups,
        |p| key_of(&p.pk()),
        slice.as_ref(),
        name,
        |_, _| {},
    );
    Ok(())
}
