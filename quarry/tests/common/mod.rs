//! The shared harness: every integration test runs once per backend named in
//! `QUARRY_TEST_DATABASES` (default `sqlite`), each run in a fresh database.
#![allow(dead_code)]

use quarry::{Database, ModelMeta, PoolOptions};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The backends this run covers.
pub fn backends() -> Vec<String> {
    std::env::var("QUARRY_TEST_DATABASES")
        .unwrap_or_else(|_| "sqlite".into())
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// A scratch database (SQLite in memory, a PostgreSQL schema or a MariaDB database)
/// that is dropped when this value is.
pub struct Scratch {
    pub db: Database,
    drop_sql: Option<(Database, String)>,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some((admin, sql)) = self.drop_sql.take() {
            let _ = admin.execute_raw(&sql, &[]);
        }
    }
}

fn unique_name() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "quarry_t_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn connect_or_panic(backend: &str, url: &str) -> Database {
    Database::connect_with(url, PoolOptions::new().max_size(4)).unwrap_or_else(|e| {
        panic!(
            "QUARRY_TEST_DATABASES asks for '{backend}', but {url} cannot be reached: {e}\n\
             Start the server (README, \"Databases\") or leave '{backend}' out of QUARRY_TEST_DATABASES."
        )
    })
}

/// A fresh, empty database on `backend`. Fails loudly when the backend cannot be reached
/// or is not built: a test run never skips a backend it was asked for.
pub fn fresh_database(backend: &str) -> Scratch {
    match backend {
        "sqlite" => Scratch {
            db: Database::connect("sqlite::memory:").expect("in-memory SQLite opens"),
            drop_sql: None,
        },
        "postgres" => {
            let base = std::env::var("QUARRY_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
            let admin = connect_or_panic(backend, &base);
            let schema = unique_name();
            admin
                .execute_raw(&format!("CREATE SCHEMA {schema}"), &[])
                .expect("scratch schema is created");
            let sep = if base.contains('?') { '&' } else { '?' };
            let db = connect_or_panic(
                backend,
                &format!("{base}{sep}options=-c%20search_path%3D{schema}"),
            );
            Scratch {
                db,
                drop_sql: Some((admin, format!("DROP SCHEMA {schema} CASCADE"))),
            }
        }
        "mysql" => {
            let base = std::env::var("QUARRY_MYSQL_URL")
                .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
            let admin = connect_or_panic(backend, &base);
            let name = unique_name();
            admin
                .execute_raw(&format!("CREATE DATABASE {name}"), &[])
                .expect("scratch database is created");
            let server = base.rsplit_once('/').map_or(base.as_str(), |(s, _)| s);
            let db = connect_or_panic(backend, &format!("{server}/{name}"));
            Scratch {
                db,
                drop_sql: Some((admin, format!("DROP DATABASE {name}"))),
            }
        }
        other => panic!(
            "QUARRY_TEST_DATABASES names '{other}'; the backends are sqlite, postgres and mysql"
        ),
    }
}

/// The backend a database runs on, for the few assertions where servers truly differ.
pub fn vendor(db: &Database) -> quarry::sql::Vendor {
    use quarry::Executor;
    db.dialect().vendor()
}

/// Runs `test` on every backend, with the tables of `models` created first.
pub fn run(models: &[&'static ModelMeta], test: impl Fn(&Database)) {
    for backend in backends() {
        let scratch = fresh_database(&backend);
        quarry::schema::create_tables(&scratch.db, models).expect("tables are created");
        test(&scratch.db);
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

/// SQL with every backend's placeholders written `?` and identifiers quoted `"`, so one
/// assertion covers all three dialects.
pub fn normalize_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' if chars.peek().is_some_and(|d| d.is_ascii_digit()) => {
                while chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                    chars.next();
                }
                out.push('?');
            }
            '`' => out.push('"'),
            c => out.push(c),
        }
    }
    out
}
