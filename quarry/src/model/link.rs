//! The slot a [`ForeignKey`](super::ForeignKey) keeps its loaded object in.

use std::marker::PhantomData;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Arc;

/// An `Arc<T>` set at most once through a shared reference (a lazy load) and replaced
/// freely through a mutable one: what `OnceLock<Arc<T>>` offers, but a set is one store
/// (`&mut`) or one compare-exchange (`&`) instead of a run of `Once`'s state machine.
/// `prefetch_related` sets one on every child row it loads (its link back to the parent),
/// where `OnceLock` cost about fifty instructions a row.
pub(crate) struct LinkCell<T> {
    /// Null, or a pointer from [`Arc::into_raw`] whose strong count this cell owns. It
    /// changes only from null through `&self`, so a reference handed out by
    /// [`get`](Self::get) stays valid as long as the borrow of the cell.
    ptr: AtomicPtr<T>,
    /// The cell owns an `Arc<T>`: auto traits and drop check follow it.
    _owns: PhantomData<Arc<T>>,
}

impl<T> LinkCell<T> {
    /// An empty cell.
    pub(crate) const fn new() -> Self {
        LinkCell {
            ptr: AtomicPtr::new(ptr::null_mut()),
            _owns: PhantomData,
        }
    }

    /// A cell holding `obj`.
    pub(crate) fn with(obj: Arc<T>) -> Self {
        LinkCell {
            ptr: AtomicPtr::new(Arc::into_raw(obj).cast_mut()),
            _owns: PhantomData,
        }
    }

    /// The object, once set.
    #[inline]
    pub(crate) fn get(&self) -> Option<&T> {
        let p = self.ptr.load(Ordering::Acquire);
        // SAFETY: a non-null pointer came from `Arc::into_raw` and the cell holds its
        // strong count; it is released only through `&mut self` (or on drop), which
        // cannot happen while the returned borrow of `self` lives.
        unsafe { p.cast_const().as_ref() }
    }

    /// The object, setting it to `obj` first when the cell is empty (when another
    /// thread set it meanwhile, that one is kept and `obj` dropped).
    pub(crate) fn get_or_set(&self, obj: Arc<T>) -> &T {
        let raw = Arc::into_raw(obj).cast_mut();
        match self
            .ptr
            .compare_exchange(ptr::null_mut(), raw, Ordering::AcqRel, Ordering::Acquire)
        {
            // SAFETY: `raw` is now owned by the cell (see `get`).
            Ok(_) => unsafe { &*raw },
            Err(existing) => {
                // SAFETY: `raw` was not stored; this gives back the count it carried.
                drop(unsafe { Arc::from_raw(raw) });
                // SAFETY: as in `get`.
                unsafe { &*existing }
            }
        }
    }

    /// Replaces the object; the previous one, if any, is returned.
    pub(crate) fn replace(&mut self, obj: Option<Arc<T>>) -> Option<Arc<T>> {
        let new = obj.map_or(ptr::null_mut(), |o| Arc::into_raw(o).cast_mut());
        let old = std::mem::replace(self.ptr.get_mut(), new);
        // SAFETY: a non-null pointer the cell held carries the count it owned.
        (!old.is_null()).then(|| unsafe { Arc::from_raw(old) })
    }

    /// Sets the object, dropping the previous one.
    pub(crate) fn set(&mut self, obj: Arc<T>) {
        self.replace(Some(obj));
    }

    /// Takes the object out, leaving the cell empty.
    pub(crate) fn take(&mut self) -> Option<Arc<T>> {
        self.replace(None)
    }
}

impl<T> Default for LinkCell<T> {
    fn default() -> Self {
        LinkCell::new()
    }
}

impl<T> Clone for LinkCell<T> {
    fn clone(&self) -> Self {
        let p = self.ptr.load(Ordering::Acquire);
        if p.is_null() {
            return LinkCell::new();
        }
        // SAFETY: `p` is alive (held by `self`); the new cell owns the added count.
        unsafe { Arc::increment_strong_count(p.cast_const()) };
        LinkCell {
            ptr: AtomicPtr::new(p),
            _owns: PhantomData,
        }
    }
}

impl<T> Drop for LinkCell<T> {
    fn drop(&mut self) {
        self.take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_counts_and_releases_them() {
        let obj = Arc::new(String::from("parent"));
        let mut cell = LinkCell::new();
        assert!(cell.get().is_none());
        assert_eq!(cell.get_or_set(obj.clone()), "parent");
        // A second shared set keeps the first object.
        assert_eq!(cell.get_or_set(Arc::new("other".into())), "parent");
        assert_eq!(Arc::strong_count(&obj), 2);
        let copy = cell.clone();
        assert_eq!(Arc::strong_count(&obj), 3);
        cell.set(Arc::new("next".into()));
        assert_eq!(cell.get().map(String::as_str), Some("next"));
        assert_eq!(Arc::strong_count(&obj), 2);
        drop(copy);
        assert_eq!(Arc::strong_count(&obj), 1);
        assert_eq!(cell.take().as_deref().map(String::as_str), Some("next"));
        assert!(cell.get().is_none());
        let held = LinkCell::with(obj.clone());
        assert_eq!(Arc::strong_count(&obj), 2);
        drop(held);
        assert_eq!(Arc::strong_count(&obj), 1);
    }

    #[test]
    fn shared_sets_race_to_one_winner() {
        let cell = Arc::new(LinkCell::<usize>::new());
        let winners: Vec<usize> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|i| {
                    let cell = &cell;
                    s.spawn(move || *cell.get_or_set(Arc::new(i)))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(winners.iter().all(|w| *w == winners[0]));
    }
}
