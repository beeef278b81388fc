//! Test tools: capture the statements a block of code runs, Django's
//! `assertNumQueries` and `CaptureQueriesContext`.

use std::cell::{Cell, RefCell};

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static CAPTURED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` and returns its result with the SQL of every statement it ran on this
/// thread, transaction control (`BEGIN`, `COMMIT`, savepoints) left out, as Django's
/// `assertNumQueries` counts.
///
/// ```
/// use quarry::prelude::*;
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "docs")]
/// struct Counter { id: i64, _state: ModelState }
///
/// let db = Database::connect("sqlite::memory:")?;
/// quarry::schema::create_tables(&db, &[Counter::meta()])?;
/// let (n, queries) = quarry::testing::capture_queries(|| Counter::objects().count(&db));
/// assert_eq!(n?, 0);
/// assert_eq!(queries.len(), 1);
/// # Ok::<(), quarry::Error>(())
/// ```
pub fn capture_queries<R>(f: impl FnOnce() -> R) -> (R, Vec<String>) {
    let outer = ON.with(|on| on.replace(true));
    let start = CAPTURED.with(|c| c.borrow().len());
    let result = f();
    let queries = CAPTURED.with(|c| {
        let mut c = c.borrow_mut();
        if outer {
            c[start..].to_vec()
        } else {
            std::mem::take(&mut *c)
        }
    });
    ON.with(|on| on.set(outer));
    (result, queries)
}

/// Records a statement when a capture is on (called for every statement a backend runs).
#[inline]
pub(crate) fn record(sql: &str) {
    if ON.with(Cell::get) {
        record_slow(sql);
    }
}

#[cold]
fn record_slow(sql: &str) {
    let head = sql
        .trim_start()
        .get(..9)
        .unwrap_or(sql)
        .to_ascii_uppercase();
    let control = [
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "SAVEPOINT",
        "RELEASE",
        "START TRA",
    ];
    if control.iter().any(|c| head.starts_with(c)) {
        return;
    }
    CAPTURED.with(|c| c.borrow_mut().push(sql.to_owned()));
}
