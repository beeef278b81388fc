//! Both sides of a many-to-many relation as a manager: `article.publications()` and
//! `publication.article_set()`, Django's `ManyRelatedManager`.
//!
//! Reads are QuerySets of the other side joined through the through table; writes
//! insert and delete through rows.

use super::deletion::delete_query;
use super::many_to_many::ManyToManyLink;
use super::{Model, SaveOptions};
use crate::db::Executor;
use crate::error::{Error, Result};
use crate::query::ast::{Filter, Query};
use crate::query::{QuerySet, Q};
use crate::sql::compiler::{self, OnConflict};
use crate::value::{key_of, Value};
use std::marker::PhantomData;

/// An object of a many-to-many relation's other side, or its key: what `add`, `remove`
/// and `set` take (Django accepts both).
///
/// ```
/// use quarry::prelude::*;
/// use quarry::TargetRef;
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "tr")]
/// struct Tag { id: i64, _state: ModelState }
///
/// let by_key: TargetRef<'_, Tag> = 7_i64.into();
/// assert!(matches!(by_key, TargetRef::Key(Value::I64(7))));
/// ```
#[derive(Debug)]
pub enum TargetRef<'o, C> {
    /// A saved object.
    Object(&'o C),
    /// The value of the field the through table points at (the primary key unless a
    /// `to_field`).
    Key(Value),
}

impl<'o, C: Model> From<&'o C> for TargetRef<'o, C> {
    fn from(obj: &'o C) -> Self {
        TargetRef::Object(obj)
    }
}

impl<C> From<Value> for TargetRef<'_, C> {
    fn from(v: Value) -> Self {
        TargetRef::Key(v)
    }
}

impl<C> From<i64> for TargetRef<'_, C> {
    fn from(v: i64) -> Self {
        TargetRef::Key(Value::I64(v))
    }
}

impl<C> From<i32> for TargetRef<'_, C> {
    fn from(v: i32) -> Self {
        TargetRef::Key(Value::I64(v.into()))
    }
}

impl<C> From<String> for TargetRef<'_, C> {
    fn from(v: String) -> Self {
        TargetRef::Key(Value::Text(v))
    }
}

/// The objects of `C` linked to one `P` through a many-to-many relation, from either
/// side: `article.publications()` (the declared side) or `publication.article_set()`.
///
/// ```
/// use quarry::prelude::*;
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "mrm", ordering = ["name"])]
/// struct Topping { id: i64, #[field(max_length = 20)] name: String, _state: ModelState }
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "mrm")]
/// struct Pizza {
///     id: i64,
///     #[field(related_name = "pizzas")]
///     toppings: ManyToMany<Topping>,
///     _state: ModelState,
/// }
///
/// let db = Database::connect("sqlite::memory:")?;
/// quarry::schema::create_tables(&db, &[Topping::meta(), Pizza::meta()])?;
/// let new_topping = |n: &str| Topping::objects().create(&db, Topping { id: 0, name: n.into(), _state: ModelState::new() });
/// let (ham, olive) = (new_topping("ham")?, new_topping("olive")?);
/// let pizza = Pizza::objects().create(&db, Pizza { id: 0, toppings: ManyToMany::new(), _state: ModelState::new() })?;
/// pizza.toppings().add(&db, [&ham, &olive])?;
/// pizza.toppings().add(&db, [&ham])?;               // already there: nothing happens
/// assert_eq!(pizza.toppings().count(&db)?, 2);
/// pizza.toppings().remove(&db, [&ham])?;
/// assert_eq!(olive.pizzas().count(&db)?, 1);
/// pizza.toppings().set(&db, [ham.id])?;              // by key works too
/// let names: Vec<String> = pizza.toppings().all(&db)?.into_iter().map(|t| t.name).collect();
/// assert_eq!(names, ["ham"]);
/// # Ok::<(), quarry::Error>(())
/// ```
pub struct ManyRelatedManager<'a, P: Model, C: Model> {
    parent: &'a P,
    link: &'static ManyToManyLink,
    /// True on the declared side (`P` holds the field).
    forward: bool,
    through_defaults: Vec<(String, Value)>,
    _other: PhantomData<fn() -> C>,
}

impl<'a, P: Model, C: Model> ManyRelatedManager<'a, P, C> {
    /// The manager of many-to-many field `index` (in `many_to_many` of the declaring
    /// model), seen from `parent`: the declaring side when `forward`, else the target
    /// side. Generated accessors call it.
    pub fn new(parent: &'a P, index: usize, forward: bool) -> Self {
        let source = if forward { P::meta() } else { C::meta() };
        let link = source.many_to_many_links()[index];
        ManyRelatedManager {
            parent,
            link,
            forward,
            through_defaults: Vec::new(),
            _other: PhantomData,
        }
    }

    /// The relation this manager follows.
    pub fn link(&self) -> &'static ManyToManyLink {
        self.link
    }

    /// Values for the through model's other fields in the rows `add`, `create` and `set`
    /// insert, Django's `through_defaults`.
    pub fn through_defaults<'n>(
        mut self,
        pairs: impl IntoIterator<Item = (&'n str, Value)>,
    ) -> Self {
        self.through_defaults = pairs.into_iter().map(|(n, v)| (n.to_owned(), v)).collect();
        self
    }

    /// The parent's value the through rows hold.
    fn key(&self) -> Result<Value> {
        let (from, _) = self.link.fks(self.forward);
        let rel = from.relation.expect("a through key is a relation");
        let (i, field) = rel.target_field();
        let value = self.parent.field_value(i);
        if !self.parent.state().pk_is_set() || value.is_null() {
            return Err(Error::invalid(format!(
                "{} instance needs to have a value for field \"{}\" before this \
                 many-to-many relationship can be used.",
                P::meta().name,
                field.name
            )));
        }
        Ok(value)
    }

    /// The related objects as a QuerySet: `C` joined through the through table. As in
    /// Django, the next `filter()` on it reuses that join (`p.article_set().filter(q!(
    /// publications__title = "x"))` asks about `p` itself, not another publication).
    pub fn queryset(&self) -> QuerySet<C> {
        match self.key() {
            Ok(k) => C::objects()
                .filter(Q::lookup(self.link.name_back(self.forward), k))
                .sticky(),
            Err(e) => QuerySet::new().with_error(e.to_string()),
        }
    }

    /// The objects `prefetch_related` loaded, if it ran and no write through a manager
    /// made them stale.
    pub fn cached(&self) -> Option<&'a [C]> {
        self.parent
            .state()
            .prefetched(self.link.accessor(self.forward))
    }

    /// Every related object (from the prefetch cache when there is one).
    pub fn all(&self, ex: &(impl Executor + ?Sized)) -> Result<Vec<C>> {
        if let Some(cached) = self.cached() {
            return Ok(cached.iter().map(C::clone_instance).collect());
        }
        self.queryset().all(ex)
    }

    /// The related objects matching `q`.
    pub fn filter(&self, q: Q) -> QuerySet<C> {
        self.queryset().filter(q)
    }

    /// The related objects not matching `q`.
    pub fn exclude(&self, q: Q) -> QuerySet<C> {
        self.queryset().exclude(q)
    }

    /// The one related object matching `q`.
    pub fn get(&self, ex: &(impl Executor + ?Sized), q: Q) -> Result<C> {
        self.queryset().get(ex, q)
    }

    /// How many objects are linked: the prefetch cache's length when loaded, else one
    /// `COUNT(*)` over the through table alone (no join, as Django optimises it).
    pub fn count(&self, ex: &(impl Executor + ?Sized)) -> Result<u64> {
        if let Some(cached) = self.cached() {
            return Ok(cached.len() as u64);
        }
        let query = self.links_query()?;
        let c = compiler::count(&query, ex.dialect())?;
        let n = crate::db::fetch_all(ex, &c.sql, &c.params, |r| r.get_i64(0))?;
        Ok(n.first().copied().unwrap_or(0) as u64)
    }

    /// True when at least one object is linked (through table only, as `count`).
    pub fn exists(&self, ex: &(impl Executor + ?Sized)) -> Result<bool> {
        if let Some(cached) = self.cached() {
            return Ok(!cached.is_empty());
        }
        let query = self.links_query()?;
        let c = compiler::exists(&query, ex.dialect())?;
        Ok(!crate::db::fetch_all(ex, &c.sql, &c.params, |_| Ok(()))?.is_empty())
    }

    /// The through rows of the parent that point at an object.
    fn links_query(&self) -> Result<Query> {
        let (from, to) = self.link.fks(self.forward);
        let q = Q::lookup(from.name, self.key()?)
            & Q::lookup(format!("{}__isnull", to.name), Value::Bool(false));
        Ok(through_query(self.link, q))
    }

    /// Links objects (or keys) to the parent; links that exist already are left alone.
    /// With the auto-created through table this is one `INSERT` that skips existing
    /// pairs; with a `through` model, a `SELECT` of the existing pairs and an `INSERT`
    /// of the missing ones, in one transaction.
    pub fn add<'o, T: Into<TargetRef<'o, C>>>(
        &self,
        ex: &(impl Executor + ?Sized),
        objs: impl IntoIterator<Item = T>,
    ) -> Result<()>
    where
        C: 'o,
    {
        let key = self.key()?;
        let keys = self.target_keys(objs, "add")?;
        ex.atomic_dyn(&mut |tx| self.add_keys(tx, &key, &keys))?;
        self.invalidate();
        Ok(())
    }

    /// Unlinks objects (or keys) from the parent: deletes their through rows.
    pub fn remove<'o, T: Into<TargetRef<'o, C>>>(
        &self,
        ex: &(impl Executor + ?Sized),
        objs: impl IntoIterator<Item = T>,
    ) -> Result<()>
    where
        C: 'o,
    {
        let key = self.key()?;
        let keys = self.target_keys(objs, "remove")?;
        self.remove_keys(&crate::db::ExecutorRef(ex), &key, keys)?;
        self.invalidate();
        Ok(())
    }

    /// Unlinks every object from the parent.
    pub fn clear(&self, ex: &(impl Executor + ?Sized)) -> Result<()> {
        let key = self.key()?;
        delete_query(&crate::db::ExecutorRef(ex), &self.every_link(&key))?;
        self.invalidate();
        Ok(())
    }

    /// Makes `objs` the linked set: removes the links not in it and adds the missing
    /// ones (existing links stay, with their through rows), in one transaction. The
    /// objects are read before anything changes, so a QuerySet of this same relation
    /// may be passed.
    pub fn set<'o, T: Into<TargetRef<'o, C>>>(
        &self,
        ex: &(impl Executor + ?Sized),
        objs: impl IntoIterator<Item = T>,
    ) -> Result<()>
    where
        C: 'o,
    {
        let key = self.key()?;
        let keys = self.target_keys(objs, "set")?;
        let (from, to) = self.link.fks(self.forward);
        ex.atomic_dyn(&mut |tx| {
            let query = through_query(self.link, Q::lookup(from.name, key.clone()));
            let old = super::deletion::select_values(tx, &query, to.name)?;
            let new: std::collections::HashSet<_> = keys.iter().filter_map(key_of).collect();
            let gone: Vec<Value> = old
                .into_iter()
                .filter(|v| key_of(v).is_none_or(|k| !new.contains(&k)))
                .collect();
            if !gone.is_empty() {
                self.remove_keys(tx, &key, gone)?;
            }
            self.add_keys(tx, &key, &keys)
        })?;
        self.invalidate();
        Ok(())
    }

    /// `set` with Django's `clear=True`: unlinks everything, then links `objs`.
    pub fn set_clear<'o, T: Into<TargetRef<'o, C>>>(
        &self,
        ex: &(impl Executor + ?Sized),
        objs: impl IntoIterator<Item = T>,
    ) -> Result<()>
    where
        C: 'o,
    {
        let key = self.key()?;
        let keys = self.target_keys(objs, "set")?;
        ex.atomic_dyn(&mut |tx| {
            delete_query(tx, &self.every_link(&key))?;
            self.add_keys(tx, &key, &keys)
        })?;
        self.invalidate();
        Ok(())
    }

    /// Django's `get_or_create` on the manager: the linked object matching `lookup`, or a
    /// new one (from the lookup's exact values and `defaults`) saved and linked, with the
    /// manager's `through_defaults`, in one transaction. As in Django, only linked
    /// objects are looked at: a matching object that is not linked yet is not reused.
    pub fn get_or_create(
        &self,
        ex: &(impl Executor + ?Sized),
        lookup: Q,
        defaults: impl IntoIterator<Item = (&'static str, Value)>,
    ) -> Result<(C, bool)> {
        let defaults: Vec<(&'static str, Value)> = defaults.into_iter().collect();
        let found = self.found_or_linked(ex, "get_or_create", |tx| {
            self.queryset()
                .get_or_create(tx, lookup.clone(), defaults.iter().cloned())
        })?;
        if found.1 {
            self.invalidate();
        }
        Ok(found)
    }

    /// Django's `update_or_create` on the manager: updates the linked object matching
    /// `lookup` with `defaults`, or creates and links a new one (from the lookup and
    /// `create_defaults`, else `defaults`), in one transaction.
    pub fn update_or_create(
        &self,
        ex: &(impl Executor + ?Sized),
        lookup: Q,
        defaults: impl IntoIterator<Item = (&'static str, Value)>,
        create_defaults: Option<Vec<(&'static str, Value)>>,
    ) -> Result<(C, bool)> {
        let defaults: Vec<(&'static str, Value)> = defaults.into_iter().collect();
        let found = self.found_or_linked(ex, "update_or_create", |tx| {
            self.queryset().update_or_create(
                tx,
                lookup.clone(),
                defaults.iter().cloned(),
                create_defaults.clone(),
            )
        })?;
        self.invalidate();
        Ok(found)
    }

    /// Runs `find` (a get-or-create on the manager's queryset) in a transaction and links
    /// the object when it was created.
    fn found_or_linked(
        &self,
        ex: &(impl Executor + ?Sized),
        what: &str,
        mut find: impl FnMut(&dyn Executor) -> Result<(C, bool)>,
    ) -> Result<(C, bool)> {
        let key = self.key()?;
        let mut found = None;
        ex.atomic_dyn(&mut |tx| {
            let (obj, created) = find(tx)?;
            if created {
                let keys = self.target_keys([&obj], what)?;
                self.add_keys(tx, &key, &keys)?;
            }
            found = Some((obj, created));
            Ok(())
        })?;
        Ok(found.expect("set when the transaction committed"))
    }

    /// Saves `obj` as a new row and links it to the parent, in one transaction.
    pub fn create(&self, ex: &(impl Executor + ?Sized), obj: C) -> Result<C> {
        let key = self.key()?;
        let mut pending = Some(obj);
        let mut created = None;
        ex.atomic_dyn(&mut |tx| {
            let mut obj = pending.take().expect("atomic runs the closure once");
            obj.save_with(tx, &SaveOptions::new().force_insert(true))?;
            let keys = self.target_keys([&obj], "create")?;
            self.add_keys(tx, &key, &keys)?;
            created = Some(obj);
            Ok(())
        })?;
        self.invalidate();
        Ok(created.expect("set when the transaction committed"))
    }

    /// Every through row of the parent (both ways for a symmetrical relation).
    fn every_link(&self, key: &Value) -> Query {
        let (from, to) = self.link.fks(self.forward);
        let mut q = Q::lookup(from.name, key.clone());
        if self.link.meta.symmetrical {
            q = q | Q::lookup(to.name, key.clone());
        }
        through_query(self.link, q)
    }

    /// The keys the through rows hold for `objs`, converted to the key's kind, without
    /// duplicates.
    fn target_keys<'o, T: Into<TargetRef<'o, C>>>(
        &self,
        objs: impl IntoIterator<Item = T>,
        what: &str,
    ) -> Result<Vec<Value>>
    where
        C: 'o,
    {
        let (_, to) = self.link.fks(self.forward);
        let rel = to.relation.expect("a through key is a relation");
        let (index, field) = rel.target_field();
        let mut seen = std::collections::HashSet::new();
        let mut keys = Vec::new();
        for obj in objs {
            let value = match obj.into() {
                TargetRef::Object(o) => {
                    let v = o.field_value(index);
                    if !o.state().pk_is_set() || v.is_null() {
                        return Err(Error::invalid(format!(
                            "Cannot {what} \"{} instance\": the value for field \"{}\" is None",
                            C::meta().name,
                            field.name
                        )));
                    }
                    v
                }
                TargetRef::Key(v) => {
                    let shown = match &v {
                        Value::Text(t) => t.clone(),
                        other => format!("{other:?}"),
                    };
                    let v = compiler::prep(field.kind, v).map_err(|e| {
                        if field.kind.is_integer() {
                            Error::invalid(format!(
                                "Field '{}' expected a number but got '{shown}'.",
                                field.name
                            ))
                        } else {
                            e
                        }
                    })?;
                    if v.is_null() {
                        return Err(Error::invalid(format!(
                            "Cannot {what} a NULL key to a many-to-many relation of {}",
                            C::meta().name
                        )));
                    }
                    v
                }
            };
            if key_of(&value).is_some_and(|k| seen.insert(k)) {
                keys.push(value);
            }
        }
        Ok(keys)
    }

    /// Inserts the missing through rows from `key` to each of `keys` (and back, for a
    /// symmetrical relation).
    fn add_keys(&self, ex: &dyn Executor, key: &Value, keys: &[Value]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let (from, to) = self.link.fks(self.forward);
        let in_keys = || Value::List(keys.to_vec());
        // A `through` model may have no unique constraint to skip duplicates with: read
        // which pairs exist first. The auto-created table skips them in the INSERT.
        let existing = |q: Q, column: &str| -> Result<std::collections::HashSet<_>> {
            if self.link.through.auto_created {
                return Ok(Default::default());
            }
            let found = super::deletion::select_values(ex, &through_query(self.link, q), column)?;
            Ok(found.iter().filter_map(key_of).collect())
        };
        let linked = existing(
            Q::lookup(from.name, key.clone()) & Q::lookup(format!("{}__in", to.name), in_keys()),
            to.name,
        )?;
        let mut pairs: Vec<(Value, Value)> = keys
            .iter()
            .filter(|k| key_of(k).is_none_or(|k| !linked.contains(&k)))
            .map(|k| (key.clone(), k.clone()))
            .collect();
        if self.link.meta.symmetrical {
            let back = existing(
                Q::lookup(format!("{}__in", from.name), in_keys())
                    & Q::lookup(to.name, key.clone()),
                from.name,
            )?;
            pairs.extend(
                keys.iter()
                    .filter(|k| key_of(k).is_none_or(|k| !back.contains(&k)))
                    .map(|k| (k.clone(), key.clone())),
            );
        }
        insert_links(ex, self.link, self.forward, &pairs, &self.through_defaults)
    }

    /// Deletes the through rows from `key` to `keys` (both ways when symmetrical).
    fn remove_keys(&self, ex: &dyn Executor, key: &Value, keys: Vec<Value>) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let (from, to) = self.link.fks(self.forward);
        let in_keys = Value::List(keys);
        let mut q = Q::lookup(from.name, key.clone())
            & Q::lookup(format!("{}__in", to.name), in_keys.clone());
        if self.link.meta.symmetrical {
            q = q
                | (Q::lookup(format!("{}__in", from.name), in_keys)
                    & Q::lookup(to.name, key.clone()));
        }
        delete_query(ex, &through_query(self.link, q))?;
        Ok(())
    }

    /// A write made the prefetched objects stale.
    fn invalidate(&self) {
        self.parent
            .state()
            .invalidate_prefetched(self.link.accessor(self.forward));
    }
}

/// A query of the through model filtered by `q`.
pub(crate) fn through_query(link: &ManyToManyLink, q: Q) -> Query {
    let mut query = Query::new(link.through);
    query.filters.push(Filter { q, negated: false });
    query
}

/// Inserts through rows for `(from, to)` pairs: the two keys, `defaults` and the other
/// fields' defaults; the auto-created table skips pairs that exist (its unique
/// constraint), a `through` model gets exactly these rows.
fn insert_links(
    ex: &dyn Executor,
    link: &ManyToManyLink,
    forward: bool,
    pairs: &[(Value, Value)],
    defaults: &[(String, Value)],
) -> Result<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    let through = link.through;
    let (from, to) = link.fks(forward);
    for (name, _) in defaults {
        let known = through
            .field(name)
            .is_some_and(|(_, f)| f.name == name && !std::ptr::eq(f, from) && !std::ptr::eq(f, to));
        if !known {
            return Err(Error::field(format!(
                "through_defaults names '{name}', which is not a field of {} other than its \
                 two keys. Choices are: {}",
                through.name,
                through
                    .fields
                    .iter()
                    .filter(|f| !f.is_auto() && !std::ptr::eq(*f, from) && !std::ptr::eq(*f, to))
                    .map(|f| f.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    // The columns: every field but an auto key; the two keys from the pair, the others
    // from `defaults` or their own default.
    let mut columns = Vec::new();
    let mut fixed: Vec<Option<Value>> = Vec::new();
    for (i, f) in through.fields.iter().enumerate() {
        if f.is_auto() && f.primary_key {
            continue;
        }
        columns.push(i);
        if std::ptr::eq(f, from) || std::ptr::eq(f, to) {
            fixed.push(None);
            continue;
        }
        let value = defaults
            .iter()
            .find(|(n, _)| n == f.name)
            .map(|(_, v)| v.clone())
            .or_else(|| f.default_value());
        match value {
            Some(v) => fixed.push(Some(v)),
            None => {
                return Err(Error::invalid(format!(
                    "{}.{} has no value and no default: pass it with through_defaults([(\"{}\", \
                     ...)])",
                    through.name, f.name, f.name
                )))
            }
        }
    }
    let per_row = columns.len();
    let dialect = ex.dialect();
    let rows_per_stmt = (dialect.max_params() / per_row).max(1);
    let on_conflict = if through.auto_created {
        OnConflict::Ignore
    } else {
        OnConflict::Error
    };
    for chunk in pairs.chunks(rows_per_stmt) {
        let mut params = Vec::with_capacity(chunk.len() * per_row);
        for (a, b) in chunk {
            for (slot, &i) in fixed.iter().zip(&columns) {
                let f = &through.fields[i];
                params.push(match slot {
                    Some(v) => v.clone(),
                    None if std::ptr::eq(f, from) => a.clone(),
                    None => b.clone(),
                });
            }
        }
        let c = compiler::insert(through, &columns, params, false, on_conflict, dialect)?;
        ex.execute(&c.sql, &c.params)?;
    }
    Ok(())
}
