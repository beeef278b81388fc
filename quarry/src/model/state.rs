//! Per-instance state: whether the row exists yet, which columns were loaded, and the
//! annotations a query attached. Explicit state, never a magic value in a field.

use crate::value::Value;
use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The state every model instance carries, Django's `instance._state` made explicit.
///
/// A struct deriving `Model` holds one field of this type (by convention `_state`).
/// `ModelState::default()` is a new, unsaved instance: `save` INSERTs it and the database
/// assigns an auto primary key. Rows loaded by a query are marked saved.
///
/// Two states always compare equal, so `#[derive(PartialEq)]` on a model compares its
/// fields only.
///
/// ```
/// use quarry::ModelState;
/// let s = ModelState::default();
/// assert!(s.adding());
/// ```
#[derive(Debug, Clone, Default)]
pub struct ModelState {
    saved: bool,
    pk_set: bool,
    /// What most instances never carry, boxed so that a plain loaded row's state is two
    /// flags and a null pointer (hydration writes it for every row, drop reads it).
    extra: Option<Box<StateExtra>>,
}

/// Objects `prefetch_related` stored: a `Vec<C>` of the related model, type-erased.
type Prefetched = Arc<dyn Any + Send + Sync>;

/// One relation's prefetched objects; `stale` once a write through a related manager
/// changed the relation (set through a shared reference, hence atomic).
struct PrefetchedEntry {
    name: Arc<str>,
    objects: Prefetched,
    stale: AtomicBool,
}

impl Clone for PrefetchedEntry {
    fn clone(&self) -> Self {
        PrefetchedEntry {
            name: self.name.clone(),
            objects: self.objects.clone(),
            stale: AtomicBool::new(self.stale.load(Ordering::Relaxed)),
        }
    }
}

#[derive(Clone, Default)]
struct StateExtra {
    deferred: Option<Arc<[usize]>>,
    annotations: Vec<(Arc<str>, Value)>,
    /// Most objects hold one relation's prefetched objects, kept inline.
    prefetched: smallvec::SmallVec<[PrefetchedEntry; 1]>,
}

impl std::fmt::Debug for StateExtra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateExtra")
            .field("deferred", &self.deferred)
            .field("annotations", &self.annotations)
            .field(
                "prefetched",
                &self.prefetched.iter().map(|e| &e.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl PartialEq for ModelState {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl ModelState {
    /// A new, unsaved instance (the same as `default()`).
    pub fn new() -> Self {
        Self::default()
    }

    /// The state of a row read from the database.
    pub fn loaded() -> Self {
        ModelState {
            saved: true,
            ..Self::default()
        }
    }

    /// True until the instance has been saved or was loaded from the database
    /// (Django's `_state.adding`).
    pub fn adding(&self) -> bool {
        !self.saved
    }

    /// Marks the instance as stored in the database.
    pub fn mark_saved(&mut self) {
        self.saved = true;
        self.pk_set = true;
    }

    /// Marks an unsaved instance's primary key as chosen by the caller, so that `save`
    /// includes it in the INSERT instead of letting the database assign it.
    ///
    /// ```
    /// use quarry::ModelState;
    /// let mut s = ModelState::new();
    /// s.set_pk_explicit();
    /// assert!(s.pk_is_set());
    /// ```
    pub fn set_pk_explicit(&mut self) {
        self.pk_set = true;
    }

    /// True when the primary key holds a real value: the row was loaded or saved, or the
    /// caller set it with [`set_pk_explicit`](Self::set_pk_explicit).
    pub fn pk_is_set(&self) -> bool {
        self.pk_set || self.saved
    }

    /// Field indexes that were not loaded (`defer()`/`only()`), if any.
    pub fn deferred(&self) -> &[usize] {
        self.extra
            .as_ref()
            .and_then(|e| e.deferred.as_deref())
            .unwrap_or(&[])
    }

    /// Records which field indexes were not loaded.
    pub fn set_deferred(&mut self, fields: Arc<[usize]>) {
        self.extra.get_or_insert_with(Default::default).deferred = Some(fields);
    }

    /// The annotation named `name`, if the query attached one.
    pub fn annotation(&self, name: &str) -> Option<&Value> {
        self.extra
            .as_ref()?
            .annotations
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, v)| v)
    }

    /// The names of the annotations attached, in query order.
    pub fn annotation_names(&self) -> Vec<&str> {
        self.extra
            .as_ref()
            .map(|e| e.annotations.iter().map(|(n, _)| &**n).collect())
            .unwrap_or_default()
    }

    /// Attaches an annotation.
    pub fn set_annotation(&mut self, name: Arc<str>, value: Value) {
        self.extra
            .get_or_insert_with(Default::default)
            .annotations
            .push((name, value));
    }

    /// The objects `prefetch_related` loaded under `name` (a reverse relation's accessor,
    /// or a `Prefetch`'s `to_attr`), if it ran.
    ///
    /// ```
    /// use quarry::ModelState;
    /// let s = ModelState::new();
    /// assert!(s.prefetched::<ModelState>("books").is_none());
    /// ```
    pub fn prefetched<C: 'static>(&self, name: &str) -> Option<&[C]> {
        self.extra
            .as_ref()?
            .prefetched
            .iter()
            .find(|e| &*e.name == name && !e.stale.load(Ordering::Relaxed))
            .and_then(|e| e.objects.downcast_ref::<Vec<C>>())
            .map(Vec::as_slice)
    }

    /// Stores objects `prefetch_related` loaded (a `Vec` of the related model).
    #[doc(hidden)]
    pub fn set_prefetched(&mut self, name: &str, objects: Prefetched) {
        self.set_prefetched_shared(&Arc::from(name), objects);
    }

    /// [`set_prefetched`](Self::set_prefetched) with the name shared by every object of
    /// one prefetch (one count more each, not one allocation each).
    pub(crate) fn set_prefetched_shared(&mut self, name: &Arc<str>, objects: Prefetched) {
        let list = &mut self.extra.get_or_insert_with(Default::default).prefetched;
        let entry = PrefetchedEntry {
            name: name.clone(),
            objects,
            stale: AtomicBool::new(false),
        };
        match list.iter_mut().find(|e| e.name == *name) {
            Some(slot) => *slot = entry,
            None => list.push(entry),
        }
    }

    /// Marks what `prefetch_related` stored under `name` as stale, so that reads query
    /// the database again (related managers call it after a write).
    pub fn invalidate_prefetched(&self, name: &str) {
        if let Some(e) = self.extra.as_ref() {
            for entry in e.prefetched.iter().filter(|e| &*e.name == name) {
                entry.stale.store(true, Ordering::Relaxed);
            }
        }
    }
}
