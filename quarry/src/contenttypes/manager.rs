//! The reverse side of a generic foreign key as a manager: `animal.tags()`, Django's
//! `GenericRelatedObjectManager`.

use super::fields::GenericRelationMeta;
use super::ContentType;
use crate::db::Executor;
use crate::error::{Error, Result};
use crate::model::{Model, SaveOptions};
use crate::query::{Expr, QuerySet, Q};
use crate::value::Value;
use std::marker::PhantomData;

/// The objects of `C` whose generic foreign key points at one `P`: `animal.tags()`.
///
/// Reads filter on the content type (by its natural key, joined) and the object's key;
/// writes set both fields. As in Django, `remove()` and `clear()` delete the objects
/// (a generic key is not unlinked).
pub struct GenericRelatedManager<'a, P: Model, C: Model> {
    parent: &'a P,
    rel: &'static GenericRelationMeta,
    _child: PhantomData<fn() -> C>,
}

impl<'a, P: Model, C: Model> GenericRelatedManager<'a, P, C> {
    /// The manager of `parent`'s generic relation `index` (in `generic_relations` of
    /// `P`'s meta); generated accessors call it.
    pub fn new(parent: &'a P, index: usize) -> Self {
        GenericRelatedManager {
            parent,
            rel: &P::meta().generic_relations[index],
            _child: PhantomData,
        }
    }

    /// The relation this manager follows.
    pub fn relation(&self) -> &'static GenericRelationMeta {
        self.rel
    }

    fn key(&self) -> Result<Value> {
        if !self.parent.state().pk_is_set() {
            return Err(Error::invalid(format!(
                "'{}' instance needs to have a primary key value before this relationship \
                 can be used.",
                P::meta().name
            )));
        }
        Ok(self.parent.pk())
    }

    /// The condition "points at the parent": its content type and key.
    fn points_here(&self, key: Value) -> Q {
        let meta = P::meta();
        let ct = self.rel.content_type_field;
        Q::lookup(format!("{ct}__app_label"), meta.app_label)
            & Q::lookup(format!("{ct}__model"), meta.name.to_lowercase())
            & Q::lookup(self.rel.object_id_field, key)
    }

    /// The related objects as a QuerySet.
    pub fn queryset(&self) -> QuerySet<C> {
        match self.key() {
            Ok(k) => C::objects().filter(self.points_here(k)),
            Err(e) => QuerySet::new().with_error(e.to_string()),
        }
    }

    /// The objects `prefetch_related` loaded, if it ran and no write through a manager
    /// made them stale.
    pub fn cached(&self) -> Option<&'a [C]> {
        self.parent.state().prefetched(self.rel.name)
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

    /// How many related objects there are (the prefetch cache's length when loaded).
    pub fn count(&self, ex: &(impl Executor + ?Sized)) -> Result<u64> {
        if let Some(cached) = self.cached() {
            return Ok(cached.len() as u64);
        }
        self.queryset().count(ex)
    }

    /// True when there is at least one related object.
    pub fn exists(&self, ex: &(impl Executor + ?Sized)) -> Result<bool> {
        if let Some(cached) = self.cached() {
            return Ok(!cached.is_empty());
        }
        self.queryset().exists(ex)
    }

    /// The content type's id and the parent's key, as the two fields hold them.
    fn link_values(&self, ex: &(impl Executor + ?Sized)) -> Result<(Value, Value)> {
        let key = self.key()?;
        let ct = ContentType::for_meta(ex, P::meta())?;
        Ok((Value::I64(ct.id), key))
    }

    fn set_link(&self, obj: &mut C, ct: &Value, key: &Value) -> Result<()> {
        let meta = C::meta();
        let (ct_index, _) = meta.field_or_error(self.rel.content_type_field)?;
        let (id_index, _) = meta.field_or_error(self.rel.object_id_field)?;
        obj.set_field_value(ct_index, ct.clone())?;
        obj.set_field_value(id_index, key.clone())
    }

    /// Saves `obj` as a new row pointing at the parent.
    pub fn create(&self, ex: &(impl Executor + ?Sized), mut obj: C) -> Result<C> {
        let (ct, key) = self.link_values(ex)?;
        self.set_link(&mut obj, &ct, &key)?;
        obj.save_with(ex, &SaveOptions::new().force_insert(true))?;
        self.invalidate();
        Ok(obj)
    }

    /// Django's `get_or_create` on the manager: the related object matching `lookup`, or
    /// a new one built from the lookup's exact values and `defaults`, pointing at the
    /// parent (its content type and key).
    pub fn get_or_create(
        &self,
        ex: &(impl Executor + ?Sized),
        lookup: Q,
        defaults: impl IntoIterator<Item = (&'static str, Value)>,
    ) -> Result<(C, bool)> {
        let here = self.link_lookup(ex)?;
        let found = C::objects().get_or_create(ex, here & lookup, defaults)?;
        if found.1 {
            self.invalidate();
        }
        Ok(found)
    }

    /// Django's `update_or_create` on the manager: updates the related object matching
    /// `lookup` with `defaults`, or creates one pointing at the parent.
    pub fn update_or_create(
        &self,
        ex: &(impl Executor + ?Sized),
        lookup: Q,
        defaults: impl IntoIterator<Item = (&'static str, Value)>,
        create_defaults: Option<Vec<(&'static str, Value)>>,
    ) -> Result<(C, bool)> {
        let here = self.link_lookup(ex)?;
        let found = C::objects().update_or_create(ex, here & lookup, defaults, create_defaults)?;
        self.invalidate();
        Ok(found)
    }

    /// "Points at the parent" as exact values of the two fields, which a created object
    /// takes (Django adds them to the lookup the same way).
    fn link_lookup(&self, ex: &(impl Executor + ?Sized)) -> Result<Q> {
        let (ct, key) = self.link_values(ex)?;
        Ok(Q::lookup(self.rel.content_type_field, ct) & Q::lookup(self.rel.object_id_field, key))
    }

    /// Points saved objects at the parent with one UPDATE, and sets their fields in
    /// memory.
    pub fn add(&self, ex: &(impl Executor + ?Sized), objs: &mut [C]) -> Result<()> {
        let (ct, key) = self.link_values(ex)?;
        let mut pks = Vec::with_capacity(objs.len());
        for o in objs.iter() {
            if !o.state().pk_is_set() {
                return Err(Error::invalid(format!(
                    "'{}' instance isn't saved. Use add_each() (Django's bulk=False) or save the \
                     object first.",
                    C::meta().name
                )));
            }
            pks.push(o.pk());
        }
        if !pks.is_empty() {
            C::objects()
                .filter(Q::lookup("pk__in", Value::List(pks)))
                .update(
                    ex,
                    [
                        (self.rel.content_type_field, Expr::Value(ct.clone())),
                        (self.rel.object_id_field, Expr::Value(key.clone())),
                    ],
                )?;
        }
        for o in objs.iter_mut() {
            self.set_link(o, &ct, &key)?;
        }
        self.invalidate();
        Ok(())
    }

    /// Django's `add(..., bulk=False)`: points each object at the parent and saves it,
    /// so unsaved objects are inserted; all in one transaction.
    pub fn add_each(&self, ex: &(impl Executor + ?Sized), objs: &mut [C]) -> Result<()> {
        let (ct, key) = self.link_values(ex)?;
        ex.atomic_dyn(&mut |tx| {
            for o in objs.iter_mut() {
                self.set_link(o, &ct, &key)?;
                o.save(tx)?;
            }
            Ok(())
        })?;
        self.invalidate();
        Ok(())
    }

    /// Deletes the given related objects (those not related to the parent are left
    /// alone), as Django's generic `remove()` does.
    pub fn remove(&self, ex: &(impl Executor + ?Sized), objs: &[C]) -> Result<()> {
        let pks: Vec<Value> = objs.iter().map(|o| o.pk()).collect();
        if !pks.is_empty() {
            self.queryset()
                .filter(Q::lookup("pk__in", Value::List(pks)))
                .delete(ex)?;
        }
        self.invalidate();
        Ok(())
    }

    /// Deletes every related object.
    pub fn clear(&self, ex: &(impl Executor + ?Sized)) -> Result<()> {
        self.queryset().delete(ex)?;
        self.invalidate();
        Ok(())
    }

    /// Makes `objs` the related set: deletes the related objects not among them and
    /// points the others at the parent, in one transaction.
    pub fn set(&self, ex: &(impl Executor + ?Sized), objs: &mut [C]) -> Result<()> {
        let keep: Vec<Value> = objs.iter().map(|o| o.pk()).collect();
        let mut pending = Some(objs);
        ex.atomic_dyn(&mut |tx| {
            self.queryset()
                .exclude(Q::lookup("pk__in", Value::List(keep.clone())))
                .delete(tx)?;
            let objs = pending.take().expect("atomic runs the closure once");
            self.add(tx, objs)
        })?;
        self.invalidate();
        Ok(())
    }

    fn invalidate(&self) {
        self.parent.state().invalidate_prefetched(self.rel.name);
    }
}
