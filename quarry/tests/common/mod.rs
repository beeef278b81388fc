//! The shared harness: every integration test runs once per backend named in
//! `QUARRY_TEST_DATABASES` (default `sqlite`), each run in a fresh database.
#![allow(dead_code)]

use quarry::{Database, ModelMeta};

/// The backends this run covers.
pub fn backends() -> Vec<String> {
    std::env::var("QUARRY_TEST_DATABASES")
        .unwrap_or_else(|_| "sqlite".into())
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// A fresh, empty database on `backend`. Fails loudly when the backend cannot be reached
/// or is not built: a test run never skips a backend it was asked for.
pub fn fresh_database(backend: &str) -> Database {
    match backend {
        "sqlite" => Database::connect("sqlite::memory:").expect("in-memory SQLite opens"),
        other => panic!(
            "QUARRY_TEST_DATABASES asks for '{other}', but this build of quarry has no '{other}' \
             backend yet; use QUARRY_TEST_DATABASES=sqlite"
        ),
    }
}

/// Runs `test` on every backend, with the tables of `models` created first.
pub fn run(models: &[&'static ModelMeta], test: impl Fn(&Database)) {
    for backend in backends() {
        let db = fresh_database(&backend);
        quarry::schema::create_tables(&db, models).expect("tables are created");
        test(&db);
    }
}

/// Compares the `Display` of an error with the expected message.
pub fn assert_error_contains<T: std::fmt::Debug>(r: quarry::Result<T>, expected: &str) {
    match r {
        Ok(v) => panic!("expected an error containing {expected:?}, got Ok({v:?})"),
        Err(e) => assert!(
            e.to_string().contains(expected),
            "expected an error containing {expected:?}, got: {e}"
        ),
    }
}
