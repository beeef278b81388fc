//! `prefetch_related`: after the rows of a query, one more query per relation level
//! loads the related objects of all of them and hands each instance its share.
//!
//! A forward relation (`book.publisher`) fills the `ForeignKey`'s cache; a reverse one
//! (`publisher.book_set`) is kept in the instance's [`ModelState`](crate::ModelState),
//! where the related manager's `all()` finds it.

use super::ast::Query;
use super::{QuerySet, Q};
use crate::db::Executor;
use crate::error::{Error, Result};
use crate::model::{clone_via_values, ManyToManyLink, Model, RelatedField, ReverseRelation};
use crate::value::{into_key, key_of, KeyMap, KeySet, Value, ValueKey as Key};
use std::any::Any;
use std::sync::Arc;

/// One `prefetch_related` lookup with options, Django's `Prefetch(lookup, queryset,
/// to_attr)`. A plain string is a `Prefetch` with no options.
///
/// ```
/// use quarry::prelude::*;
/// use quarry::Prefetch;
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "pf")]
/// struct Author { id: i64, #[field(max_length = 20)] name: String, _state: ModelState }
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "pf", ordering = ["title"])]
/// struct Book {
///     id: i64,
///     #[field(max_length = 20)]
///     title: String,
///     #[field(on_delete = Cascade, related_name = "books")]
///     author: ForeignKey<Author>,
///     _state: ModelState,
/// }
///
/// let db = Database::connect("sqlite::memory:")?;
/// quarry::schema::create_tables(&db, &[Author::meta(), Book::meta()])?;
/// let a = Author::objects().create(&db, Author { id: 0, name: "Le Guin".into(), _state: ModelState::new() })?;
/// for t in ["Lavinia", "Earthsea", "Always Coming Home"] {
///     Book::objects().create(&db, Book { id: 0, title: t.into(), author: ForeignKey::to(&a)?, _state: ModelState::new() })?;
/// }
/// let authors = Author::objects()
///     .prefetch_related([Prefetch::new("books").queryset(Book::objects().filter(q!(title__startswith = "L"))).to_attr("l_books")])
///     .all(&db)?;
/// let l_books: &[Book] = authors[0].state().prefetched("l_books").unwrap();
/// assert_eq!(l_books.len(), 1);
/// # Ok::<(), quarry::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Prefetch {
    /// The `__` path of relations.
    pub lookup: String,
    /// The query of the last relation's objects (its filters and ordering apply).
    pub query: Option<Query>,
    /// Keep the last level's objects under this name instead of the relation's.
    pub to_attr: Option<String>,
    /// For a generic foreign key, one query per model pointed at
    /// ([`GenericPrefetch`](crate::contenttypes::GenericPrefetch)).
    pub generic: Vec<Query>,
}

impl Prefetch {
    /// Prefetches `lookup` (`"books"`, `"books__chapters"`).
    pub fn new(lookup: impl Into<String>) -> Self {
        Prefetch {
            lookup: lookup.into(),
            query: None,
            to_attr: None,
            generic: Vec::new(),
        }
    }

    /// Loads the last level with this QuerySet (its filters and ordering).
    pub fn queryset<C: Model>(mut self, qs: QuerySet<C>) -> Self {
        self.query = Some(qs.query().clone());
        self
    }

    /// Stores the last level under `name` (read it with
    /// [`ModelState::prefetched`](crate::ModelState::prefetched)).
    pub fn to_attr(mut self, name: impl Into<String>) -> Self {
        self.to_attr = Some(name.into());
        self
    }
}

impl From<&str> for Prefetch {
    fn from(s: &str) -> Self {
        Prefetch::new(s)
    }
}

impl From<String> for Prefetch {
    fn from(s: String) -> Self {
        Prefetch::new(s)
    }
}

/// One level of the prefetch tree.
#[doc(hidden)]
#[derive(Debug, Clone, Default)]
pub struct PrefetchNode {
    /// The relation's name at this level.
    pub name: String,
    /// The lookup up to and including this level (`books__chapters`), for messages.
    pub path: String,
    /// The query of this level's objects.
    pub query: Option<Query>,
    /// Where the objects are stored, when not under the relation's name.
    pub to_attr: Option<String>,
    /// A generic foreign key's queries, one per model.
    pub generic: Vec<Query>,
    /// The levels below.
    pub children: Vec<PrefetchNode>,
}

impl PrefetchNode {
    /// The name the objects are stored under.
    pub fn store_as(&self) -> &str {
        self.to_attr.as_deref().unwrap_or(&self.name)
    }
}

/// Builds the tree of `lookups`: `a__b` and `a__c` share the `a` level.
pub(crate) fn tree(lookups: &[Prefetch]) -> Vec<PrefetchNode> {
    let mut roots: Vec<PrefetchNode> = Vec::new();
    for p in lookups {
        let parts: Vec<&str> = p.lookup.split("__").collect();
        let mut level = &mut roots;
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            let pos = level
                .iter()
                .position(|n| n.store_as() == *part || (n.name == *part && n.to_attr.is_none()));
            let pos = match pos {
                Some(pos) if !(last && p.to_attr.is_some()) => pos,
                _ => {
                    level.push(PrefetchNode {
                        name: (*part).to_owned(),
                        path: parts[..=i].join("__"),
                        ..PrefetchNode::default()
                    });
                    level.len() - 1
                }
            };
            let node = &mut level[pos];
            if last {
                if p.query.is_some() {
                    node.query = p.query.clone();
                }
                if p.to_attr.is_some() {
                    node.to_attr = p.to_attr.clone();
                }
                if !p.generic.is_empty() {
                    node.generic = p.generic.clone();
                }
            }
            level = &mut level[pos].children;
        }
    }
    roots
}

/// Runs `prefetch_related` lookups on objects already loaded, Django's
/// `prefetch_related_objects()`: one query per level, whatever the number of objects.
/// Relations already loaded (by `select_related` or an earlier prefetch) are not read
/// again.
///
/// ```
/// use quarry::prelude::*;
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "pro")]
/// struct Team { id: i64, _state: ModelState }
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "pro")]
/// struct Player { id: i64, #[field(on_delete = Cascade)] team: ForeignKey<Team>, _state: ModelState }
///
/// let db = Database::connect("sqlite::memory:")?;
/// quarry::schema::create_tables(&db, &[Team::meta(), Player::meta()])?;
/// let t = Team::objects().create(&db, Team { id: 0, _state: ModelState::new() })?;
/// Player::objects().create(&db, Player { id: 0, team: ForeignKey::to(&t)?, _state: ModelState::new() })?;
/// let mut teams = Team::objects().all(&db)?;
/// quarry::prefetch_related_objects(&mut teams, ["player_set"], &db)?;
/// assert_eq!(teams[0].player_set().cached().map(|p| p.len()), Some(1));
/// # Ok::<(), quarry::Error>(())
/// ```
pub fn prefetch_related_objects<M: Model, P: Into<Prefetch>>(
    objs: &mut Vec<M>,
    lookups: impl IntoIterator<Item = P>,
    ex: &(impl Executor + ?Sized),
) -> Result<()> {
    let lookups: Vec<Prefetch> = lookups.into_iter().map(Into::into).collect();
    prefetch_objects(objs, &tree(&lookups), &crate::db::ExecutorRef(ex))
}

/// Runs every level of `nodes` on `objs` (a `Vec`, not a slice: the reverse side
/// receives it as `dyn Any` and downcasts it to `Vec<M>`).
#[allow(clippy::ptr_arg)]
pub(crate) fn prefetch_objects<M: Model>(
    objs: &mut Vec<M>,
    nodes: &[PrefetchNode],
    ex: &dyn Executor,
) -> Result<()> {
    if objs.is_empty() {
        return Ok(());
    }
    let meta = M::meta();
    for node in nodes {
        if let Some(attr) = &node.to_attr {
            let clash = meta.field(attr).is_some_and(|(_, f)| f.name == attr)
                || meta.reverse_accessor(attr).is_some()
                || meta.many_to_many_accessor(attr).is_some()
                || meta.generic_relations.iter().any(|g| g.name == attr);
            if clash {
                return Err(Error::invalid(format!(
                    "to_attr={attr} conflicts with a field on the {} model.",
                    meta.name
                )));
            }
        }
        if let Some((i, f)) = meta.field(&node.name).filter(|(_, f)| f.name == node.name) {
            if f.relation.is_none() {
                return Err(Error::field(format!(
                    "'{}' does not resolve to an item that supports prefetching - this is an \
                     invalid parameter to prefetch_related().",
                    node.path
                )));
            }
            M::prefetch_forward(objs, i, node, ex)?;
        } else if let Some(rel) = meta.reverse_accessor(&node.name) {
            (rel.relation.prefetch_reverse)(objs as &mut dyn Any, rel, node, ex)?;
        } else if let Some((link, forward)) = meta.many_to_many_accessor(&node.name) {
            let run = if forward {
                link.meta.prefetch_forward
            } else {
                link.meta.prefetch_reverse
            };
            run(objs as &mut dyn Any, link, forward, node, ex)?;
        } else if let Some(i) = meta
            .generic_foreign_keys
            .iter()
            .position(|g| g.name == node.name)
        {
            crate::contenttypes::prefetch_generic_foreign_key(objs, i, node, ex)?;
        } else if let Some(g) = meta.generic_relations.iter().find(|g| g.name == node.name) {
            (g.prefetch)(objs as &mut dyn Any, g, node, ex)?;
        } else {
            return Err(Error::field(format!(
                "Cannot find '{}' on {} object, '{}' is an invalid parameter to \
                 prefetch_related()",
                node.name, meta.name, node.path
            )));
        }
    }
    Ok(())
}

/// The distinct non-NULL keys, in first-seen order.
pub(crate) fn distinct_keys(values: impl Iterator<Item = Value>) -> Vec<Value> {
    let mut seen = KeySet::default();
    values
        .filter(|v| key_of(v).is_some_and(|k| seen.insert(k)))
        .collect()
}

/// A slice of a `Prefetch` QuerySet applies to each parent's share, not to the whole.
pub(crate) struct PerParentSlice {
    offset: usize,
    limit: Option<usize>,
}

impl PerParentSlice {
    pub(crate) fn apply<C>(&self, mut list: Vec<C>) -> Vec<C> {
        let start = self.offset.min(list.len());
        list.drain(..start);
        if let Some(l) = self.limit {
            list.truncate(l);
        }
        list
    }
}

/// The node's QuerySet of `C` (every row when it has none) and its slice, which the
/// caller applies per parent.
pub(crate) fn node_queryset<C: Model>(
    node: &PrefetchNode,
) -> Result<(QuerySet<C>, Option<PerParentSlice>)> {
    let Some(q) = &node.query else {
        return Ok((QuerySet::new(), None));
    };
    if !std::ptr::eq(q.model, C::meta()) {
        return Err(Error::invalid(format!(
            "Prefetch querysets cannot use a different model: '{}' loads {} objects, \
             not {}.",
            node.path,
            C::meta().name,
            q.model.name
        )));
    }
    let mut q = q.clone();
    let mut slice = None;
    if q.is_sliced() {
        slice = Some(PerParentSlice {
            offset: q.offset as usize,
            limit: q.limit.map(|l| l as usize),
        });
        q.offset = 0;
        q.limit = None;
    }
    Ok((QuerySet::from_query(q), slice))
}

/// How many keys one `IN (...)` list holds.
pub(crate) fn key_batch(ex: &dyn Executor) -> usize {
    ex.dialect().max_params().saturating_sub(100).max(1)
}

/// Appends `rows` to `out`; the first batch becomes `out` (no copy).
pub(crate) fn append<C>(out: &mut Vec<C>, mut rows: Vec<C>) {
    if out.is_empty() {
        *out = rows;
    } else {
        out.append(&mut rows);
    }
}

/// Children grouped by the key of their parent: one list per key, allocated once at
/// its final size.
pub(crate) struct Groups<C> {
    index: KeyMap<usize>,
    lists: Vec<Vec<C>>,
}

impl<C> Groups<C> {
    /// The group of `key`, taken out (empty when there is none).
    fn take(&mut self, key: &Key) -> Vec<C> {
        self.index
            .get(key)
            .map(|&i| std::mem::take(&mut self.lists[i]))
            .unwrap_or_default()
    }

    /// The group of `key`, left in place.
    fn get(&self, key: &Key) -> &[C] {
        self.index.get(key).map_or(&[], |&i| &self.lists[i])
    }
}

/// Groups `children` by their keys (a child without one is dropped). Rows usually
/// arrive with equal keys together, so a key equal to the one before is not hashed
/// again.
pub(crate) fn group_by_key<C>(children: Vec<C>, keys: Vec<Option<Key>>) -> Groups<C> {
    let mut index: KeyMap<usize> = KeyMap::default();
    let mut sizes: Vec<usize> = Vec::new();
    let mut slots: Vec<usize> = Vec::with_capacity(keys.len());
    let mut last: Option<(&Key, usize)> = None;
    for k in &keys {
        let Some(k) = k else {
            slots.push(usize::MAX);
            continue;
        };
        let slot = match last {
            Some((prev, slot)) if prev == k => slot,
            _ => match index.get(k) {
                Some(&slot) => slot,
                None => {
                    index.insert(k.clone(), sizes.len());
                    sizes.push(0);
                    sizes.len() - 1
                }
            },
        };
        sizes[slot] += 1;
        slots.push(slot);
        last = Some((k, slot));
    }
    let mut lists: Vec<Vec<C>> = sizes.into_iter().map(Vec::with_capacity).collect();
    for (c, slot) in children.into_iter().zip(slots) {
        if let Some(list) = lists.get_mut(slot) {
            list.push(c);
        }
    }
    Groups { index, lists }
}

/// The objects of `C` whose `field` is one of `keys`, read in batches the database's
/// parameter limit allows, with the node's query applied; and the node's slice, which
/// the caller applies per parent.
fn fetch_by_keys<C: Model>(
    field: &str,
    keys: Vec<Value>,
    node: &PrefetchNode,
    ex: &dyn Executor,
) -> Result<(Vec<C>, Option<PerParentSlice>)> {
    let (base, slice) = node_queryset::<C>(node)?;
    let mut out = Vec::new();
    for chunk in keys.chunks(key_batch(ex)) {
        let qs = base.clone().filter(Q::lookup(
            format!("{field}__in"),
            Value::List(chunk.to_vec()),
        ));
        append(&mut out, qs.all(ex)?);
    }
    Ok((out, slice))
}

/// The forward side: loads what `access(obj)` points at for every object, then the
/// levels below on those, and fills each link's cache. Links already loaded (by
/// `select_related`) are not read again; the levels below still run on them.
#[doc(hidden)]
pub fn prefetch_forward<M: Model, F: RelatedField>(
    objs: &mut [M],
    field: usize,
    access: fn(&mut M) -> &mut F,
    node: &PrefetchNode,
    ex: &dyn Executor,
) -> Result<()> {
    let plain = node.query.is_none() && node.to_attr.is_none();
    if plain
        && objs.iter_mut().all(|o| {
            let f = access(o);
            f.key().is_none() || f.cached_target().is_some()
        })
    {
        if node.children.is_empty() {
            return Ok(());
        }
        // Take the loaded objects out, run the levels below on them, put them back.
        let mut owners = Vec::new();
        let mut targets = Vec::new();
        for (i, o) in objs.iter_mut().enumerate() {
            if let Some(t) = access(o).take_cached() {
                owners.push(i);
                targets.push(Arc::try_unwrap(t).unwrap_or_else(|a| clone_via_values(&a)));
            }
        }
        prefetch_objects(&mut targets, &node.children, ex)?;
        for (i, t) in owners.into_iter().zip(targets) {
            access(&mut objs[i]).set_cached(Arc::new(t));
        }
        return Ok(());
    }
    let rel = M::meta().fields[field]
        .relation
        .expect("prefetch_forward is generated for relation fields");
    let (key_index, key_field) = rel.target_field();
    let keys = distinct_keys(objs.iter_mut().filter_map(|o| access(o).key()));
    if keys.is_empty() {
        return Ok(());
    }
    let (mut targets, _) = fetch_by_keys::<F::Target>(key_field.name, keys, node, ex)?;
    prefetch_objects(&mut targets, &node.children, ex)?;
    let mut by_key: KeyMap<Arc<F::Target>> =
        KeyMap::with_capacity_and_hasher(targets.len(), Default::default());
    for t in targets {
        if let Some(k) = into_key(t.field_value(key_index)) {
            by_key.insert(k, Arc::new(t));
        }
    }
    for obj in objs.iter_mut() {
        let found = access(obj)
            .key()
            .and_then(into_key)
            .and_then(|k| by_key.get(&k).cloned());
        match (&node.to_attr, found) {
            (Some(name), found) => {
                let list: Vec<F::Target> = found
                    .map(|a| Arc::try_unwrap(a).unwrap_or_else(|a| clone_via_values(&a)))
                    .into_iter()
                    .collect();
                obj.state_mut().set_prefetched(name, Arc::new(list));
            }
            (None, Some(t)) => access(obj).set_cached(t),
            (None, None) => {}
        }
    }
    Ok(())
}

/// The reverse side: loads the `C` objects pointing at every parent `P`, then the levels
/// below on those, and stores each parent's share in its state; each child's link back
/// to its parent is filled too (no query to go back up). Written into the relation meta
/// by the derive of `C`.
#[doc(hidden)]
pub fn prefetch_reverse<C: Model, P: Model>(
    parents: &mut dyn Any,
    rel: &'static ReverseRelation,
    node: &PrefetchNode,
    ex: &dyn Executor,
) -> Result<()> {
    let parents = parents
        .downcast_mut::<Vec<P>>()
        .expect("the reverse relation's parents are of its target model");
    let name = node.store_as();
    if already_loaded::<P, C>(parents, node) {
        // Already loaded: only the levels below run.
        return prefetch_below_loaded::<P, C>(parents, name, node, ex);
    }
    let (key_index, _) = rel.relation.target_field();
    let keys = distinct_keys(parents.iter().map(|p| p.field_value(key_index)));
    let (mut children, slice) = if keys.is_empty() {
        (Vec::new(), None)
    } else {
        fetch_by_keys::<C>(rel.field.name, keys, node, ex)?
    };
    prefetch_objects(&mut children, &node.children, ex)?;
    let keys = children
        .iter()
        .map(|c| into_key(c.field_value(rel.field_index)))
        .collect();
    let groups = group_by_key(children, keys);
    let back_links = node.to_attr.is_none();
    distribute(
        parents,
        groups,
        |p| into_key(p.field_value(key_index)),
        slice.as_ref(),
        name,
        |p, share| {
            if back_links {
                let back: Arc<dyn Any + Send + Sync> = Arc::new(clone_via_values(p));
                for c in share.iter_mut() {
                    c.set_related_cache(rel.field_index, back.clone());
                }
            }
        },
    );
    Ok(())
}

/// True when every parent holds its objects under the node's name already and the
/// node asks for no QuerySet of its own: only the levels below need to run.
pub(crate) fn already_loaded<P: Model, C: Model>(parents: &[P], node: &PrefetchNode) -> bool {
    let name = node.store_as();
    node.query.is_none()
        && parents
            .iter()
            .all(|p| p.state().prefetched::<C>(name).is_some())
}

/// Runs the levels below on objects a parent already holds under `name`, and puts them
/// back (the relation itself is loaded).
pub(crate) fn prefetch_below_loaded<P: Model, C: Model>(
    parents: &mut [P],
    name: &str,
    node: &PrefetchNode,
    ex: &dyn Executor,
) -> Result<()> {
    if node.children.is_empty() {
        return Ok(());
    }
    let mut all: Vec<C> = Vec::new();
    let mut sizes = Vec::with_capacity(parents.len());
    for p in parents.iter() {
        let share = p.state().prefetched::<C>(name).unwrap_or(&[]);
        sizes.push(share.len());
        all.extend(share.iter().map(clone_via_values));
    }
    prefetch_objects(&mut all, &node.children, ex)?;
    let mut rest = all.into_iter();
    for (p, n) in parents.iter_mut().zip(sizes) {
        let share: Vec<C> = rest.by_ref().take(n).collect();
        p.state_mut().set_prefetched(name, Arc::new(share));
    }
    Ok(())
}

/// A many-to-many relation, either side: one query of `C` joined to the through table,
/// reading the through row's key to the parent beside each object (Django's
/// `_prefetch_related_val`), grouped per parent and stored in its state. Written into
/// the relation meta by the derive of the declaring model, for both directions.
#[doc(hidden)]
pub fn prefetch_many<P: Model, C: Model>(
    parents: &mut dyn Any,
    link: &'static ManyToManyLink,
    forward: bool,
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
    let (from, _) = link.fks(forward);
    let (key_index, _) = from
        .relation
        .expect("a through key is a relation")
        .target_field();
    let keys = distinct_keys(parents.iter().map(|p| p.field_value(key_index)));
    let back = link.name_back(forward);
    let (base, slice) = node_queryset::<C>(node)?;
    let mut children = Vec::new();
    let mut child_keys = Vec::new();
    for chunk in keys.chunks(key_batch(ex)) {
        let mut qs = base.clone().filter(Q::lookup(
            format!("{back}__in"),
            Value::List(chunk.to_vec()),
        ));
        qs.query_mut().group_key = Some(back.to_owned());
        for (c, k) in qs.all_grouped(ex)? {
            children.push(c);
            child_keys.push(k);
        }
    }
    prefetch_objects(&mut children, &node.children, ex)?;
    let keys = child_keys.into_iter().map(into_key).collect();
    let groups = group_by_key(children, keys);
    distribute(
        parents,
        groups,
        |p| into_key(p.field_value(key_index)),
        slice.as_ref(),
        name,
        |_, _| {},
    );
    Ok(())
}

/// Hands each parent its group (keyed by `key_of_parent`), sliced per parent, and
/// stores it under `name`; `fill` runs on each non-empty share first (back-links).
/// Parents sharing a key (the same row loaded twice) each get a copy.
pub(crate) fn distribute<P: Model, C: Model>(
    parents: &mut [P],
    mut groups: Groups<C>,
    key_of_parent: impl Fn(&P) -> Option<Key>,
    slice: Option<&PerParentSlice>,
    name: &str,
    mut fill: impl FnMut(&P, &mut Vec<C>),
) {
    let name: Arc<str> = Arc::from(name);
    let mut remaining: KeyMap<usize> =
        KeyMap::with_capacity_and_hasher(parents.len(), Default::default());
    for p in parents.iter() {
        if let Some(k) = key_of_parent(p) {
            *remaining.entry(k).or_default() += 1;
        }
    }
    for p in parents.iter_mut() {
        let mut share = match key_of_parent(p) {
            Some(k) => take_share(&mut groups, &mut remaining, k),
            None => Vec::new(),
        };
        if let Some(slice) = slice {
            share = slice.apply(share);
        }
        if !share.is_empty() {
            fill(p, &mut share);
        }
        p.state_mut().set_prefetched_shared(&name, Arc::new(share));
    }
}

/// The group of `key`: a copy while other parents with the same key remain, the group
/// itself for the last one.
fn take_share<C: Model>(groups: &mut Groups<C>, remaining: &mut KeyMap<usize>, key: Key) -> Vec<C> {
    let left = remaining.get_mut(&key).expect("counted before");
    *left -= 1;
    if *left == 0 {
        groups.take(&key)
    } else {
        groups.get(&key).iter().map(clone_via_values).collect()
    }
}
