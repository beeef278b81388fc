//! The reverse side of a foreign key as a manager: `publisher.book_set()` (or the
//! `related_name`), Django's `RelatedManager`.

use super::relation::ReverseRelation;
use super::Model;
use crate::db::Executor;
use crate::error::{Error, Result};
use crate::query::{QuerySet, Q};
use crate::value::Value;
use crate::{Expr, SaveOptions};

/// The objects of `C` whose foreign key points at one `P`: `publisher.books()`.
///
/// Reads go through a QuerySet filtered on the key (or the objects
/// `prefetch_related` loaded); writes set or clear the key.
///
/// ```
/// use quarry::prelude::*;
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "rm")]
/// struct Reporter { id: i64, #[field(max_length = 30)] name: String, _state: ModelState }
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "rm", ordering = ["headline"])]
/// struct Article {
///     id: i64,
///     #[field(max_length = 100)]
///     headline: String,
///     #[field(on_delete = SetNull)]
///     reporter: Option<ForeignKey<Reporter>>,
///     _state: ModelState,
/// }
///
/// let db = Database::connect("sqlite::memory:")?;
/// quarry::schema::create_tables(&db, &[Reporter::meta(), Article::meta()])?;
/// let r = Reporter::objects().create(&db, Reporter { id: 0, name: "John".into(), _state: ModelState::new() })?;
/// let a = r.article_set().create(&db, Article { id: 0, headline: "First".into(), reporter: None, _state: ModelState::new() })?;
/// assert_eq!(a.reporter.as_ref().map(|f| *f.id()), Some(r.id));
/// let mut b = Article::objects().create(&db, Article { id: 0, headline: "Second".into(), reporter: None, _state: ModelState::new() })?;
/// r.article_set().add(&db, std::slice::from_mut(&mut b))?;
/// assert_eq!(r.article_set().count(&db)?, 2);
/// r.article_set().clear(&db)?;
/// assert_eq!(r.article_set().count(&db)?, 0);
/// # Ok::<(), quarry::Error>(())
/// ```
pub struct RelatedManager<'a, P: Model, C: Model> {
    parent: &'a P,
    rel: &'static ReverseRelation,
    _child: std::marker::PhantomData<fn() -> C>,
}

impl<'a, P: Model, C: Model> RelatedManager<'a, P, C> {
    /// The manager of `parent`'s side of `C`'s relation field `field` (generated
    /// accessors call it).
    pub fn new(parent: &'a P, field: usize) -> Self {
        let rel = P::meta()
            .reverse_relations()
            .iter()
            .find(|r| std::ptr::eq(r.model, C::meta()) && r.field_index == field)
            .expect("the relation is registered with its target");
        RelatedManager {
            parent,
            rel,
            _child: std::marker::PhantomData,
        }
    }

    /// The reverse relation this manager follows.
    pub fn relation(&self) -> &'static ReverseRelation {
        self.rel
    }

    /// The parent's value the children's key holds; an unsaved parent has none.
    fn key(&self) -> Result<Value> {
        if !self.parent.state().pk_is_set() {
            return Err(Error::invalid(format!(
                "'{}' instance needs to have a primary key value before this relationship \
                 can be used.",
                P::meta().name
            )));
        }
        let (i, _) = self.rel.relation.target_field();
        Ok(self.parent.field_value(i))
    }

    /// The related objects as a QuerySet: `C` filtered on the key.
    pub fn queryset(&self) -> QuerySet<C> {
        let q = match self.key() {
            Ok(k) => Q::lookup(self.rel.field.name, k),
            // The terminal call reports it.
            Err(e) => return QuerySet::new().with_error(e.to_string()),
        };
        C::objects().filter(q)
    }

    /// The objects `prefetch_related` loaded, if it ran and no write through a
    /// manager made them stale.
    pub fn cached(&self) -> Option<&'a [C]> {
        self.parent.state().prefetched(&self.rel.accessor)
    }

    /// Every related object (from the prefetch cache when there is one).
    pub fn all(&self, ex: &(impl Executor + ?Sized)) -> Result<Vec<C>>
    where
        C: Clone,
    {
        if let Some(cached) = self.cached() {
            return Ok(cached.to_vec());
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

    /// The one related object of a one-to-one relation, Django's `place.restaurant`.
    pub fn one(&self, ex: &(impl Executor + ?Sized)) -> Result<C>
    where
        C: Sized,
    {
        if let Some(cached) = self.cached() {
            if let Some(first) = cached.first() {
                return Ok(clone_via_values(first));
            }
            return Err(Error::DoesNotExist {
                model: C::meta().name,
            });
        }
        self.queryset().get(ex, Q::all())
    }

    /// Saves `obj` as a new row pointing at the parent, Django's `create()`.
    pub fn create(&self, ex: &(impl Executor + ?Sized), mut obj: C) -> Result<C> {
        let key = self.key()?;
        obj.set_field_value(self.rel.field_index, key)?;
        obj.save_with(ex, &SaveOptions::new().force_insert(true))?;
        self.invalidate();
        Ok(obj)
    }

    /// Django's `get_or_create` on the manager: the related object matching `lookup`, or
    /// a new one built from the lookup's exact values and `defaults`, pointing at the
    /// parent. The boolean is true when it was created.
    pub fn get_or_create(
        &self,
        ex: &(impl Executor + ?Sized),
        lookup: Q,
        defaults: impl IntoIterator<Item = (&'static str, Value)>,
    ) -> Result<(C, bool)> {
        let here = Q::lookup(self.rel.field.name, self.key()?);
        let found = C::objects().get_or_create(ex, here & lookup, defaults)?;
        if found.1 {
            self.invalidate();
        }
        Ok(found)
    }

    /// Django's `update_or_create` on the manager: updates the related object matching
    /// `lookup` with `defaults`, or creates one pointing at the parent (from the lookup
    /// and `create_defaults`, else `defaults`).
    pub fn update_or_create(
        &self,
        ex: &(impl Executor + ?Sized),
        lookup: Q,
        defaults: impl IntoIterator<Item = (&'static str, Value)>,
        create_defaults: Option<Vec<(&'static str, Value)>>,
    ) -> Result<(C, bool)> {
        let here = Q::lookup(self.rel.field.name, self.key()?);
        let found = C::objects().update_or_create(ex, here & lookup, defaults, create_defaults)?;
        self.invalidate();
        Ok(found)
    }

    /// Points saved objects at the parent with one UPDATE, and sets their key in memory.
    pub fn add(&self, ex: &(impl Executor + ?Sized), objs: &mut [C]) -> Result<()> {
        let key = self.key()?;
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
            self.update_keys(ex, Q::lookup("pk__in", Value::List(pks)), key.clone())?;
        }
        for o in objs.iter_mut() {
            o.set_field_value(self.rel.field_index, key.clone())?;
        }
        self.invalidate();
        Ok(())
    }

    /// Django's `add(..., bulk=False)`: points each object at the parent and saves it,
    /// so unsaved objects are inserted; all in one transaction.
    pub fn add_each(&self, ex: &(impl Executor + ?Sized), objs: &mut [C]) -> Result<()> {
        let key = self.key()?;
        ex.atomic_dyn(&mut |tx| {
            for o in objs.iter_mut() {
                o.set_field_value(self.rel.field_index, key.clone())?;
                o.save(tx)?;
            }
            Ok(())
        })?;
        self.invalidate();
        Ok(())
    }

    /// Unlinks objects (sets their key to NULL); only for a NULL-able foreign key. An
    /// object not related to the parent is `Error::DoesNotExist`, as in Django.
    pub fn remove(&self, ex: &(impl Executor + ?Sized), objs: &mut [C]) -> Result<()> {
        self.require_null("remove")?;
        let key = self.key()?;
        let mut pks = Vec::with_capacity(objs.len());
        for o in objs.iter() {
            if o.field_value(self.rel.field_index) != key {
                return Err(Error::DoesNotExist {
                    model: P::meta().name,
                });
            }
            pks.push(o.pk());
        }
        if !pks.is_empty() {
            let q = Q::lookup("pk__in", Value::List(pks)) & Q::lookup(self.rel.field.name, key);
            self.update_keys(ex, q, Value::Null)?;
        }
        for o in objs.iter_mut() {
            o.set_field_value(self.rel.field_index, Value::Null)?;
        }
        self.invalidate();
        Ok(())
    }

    /// Unlinks every related object; only for a NULL-able foreign key.
    pub fn clear(&self, ex: &(impl Executor + ?Sized)) -> Result<()> {
        self.require_null("clear")?;
        let key = self.key()?;
        self.update_keys(ex, Q::lookup(self.rel.field.name, key), Value::Null)?;
        self.invalidate();
        Ok(())
    }

    /// Makes `objs` the related set: unlinks the others (NULL-able keys only) and links
    /// these, in one transaction.
    pub fn set(&self, ex: &(impl Executor + ?Sized), objs: &mut [C]) -> Result<()> {
        let key = self.key()?;
        let keep: Vec<Value> = objs.iter().map(|o| o.pk()).collect();
        let nullable = self.rel.field.null;
        let mut pending: Option<&mut [C]> = Some(objs);
        ex.atomic_dyn(&mut |tx| {
            if nullable {
                let q = Q::lookup(self.rel.field.name, key.clone())
                    & !Q::lookup("pk__in", Value::List(keep.clone()));
                self.update_keys(tx, q, Value::Null)?;
            }
            let objs = pending.take().expect("atomic runs the closure once");
            self.add(tx, objs)
        })
    }

    fn require_null(&self, what: &str) -> Result<()> {
        if self.rel.field.null {
            return Ok(());
        }
        Err(Error::invalid(format!(
            "{what}() is only available when the foreign key {}.{} is NULL-able (an \
             Option): a row cannot be unlinked from a key that may not be NULL.",
            C::meta().name,
            self.rel.field.name
        )))
    }

    fn update_keys(&self, ex: &(impl Executor + ?Sized), q: Q, key: Value) -> Result<u64> {
        C::objects()
            .filter(q)
            .update(ex, [(self.rel.field.name, Expr::Value(key))])
    }

    /// A write made the prefetched objects stale.
    fn invalidate(&self) {
        self.parent
            .state()
            .invalidate_prefetched(&self.rel.accessor);
    }
}

/// A copy of a model instance: its fields, loaded links and state (the model need not
/// be `Clone`; the derive writes the copy).
pub(crate) fn clone_via_values<T: Model>(obj: &T) -> T {
    obj.clone_instance()
}
