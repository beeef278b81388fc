//! The two sides of every workload do the same work: same rows out, same rows in.
//! Runs on each backend of `QUARRY_TEST_DATABASES` (default `sqlite`), like quarry's own
//! suite; an unreachable server fails the test.

use quarry_benches::harness::{compare, Settings};
use quarry_benches::workloads::{quarry_insert, quarry_users, raw_insert};
use quarry_benches::{Backend, Fixture};
use std::time::Duration;

/// A fixture in a scratch schema or database of its own (tests run in parallel).
fn fixture(backend: Backend, test: &str) -> Fixture {
    let scratch = format!("quarry_bench_t_{test}_{}", std::process::id());
    Fixture::open_in(backend, &scratch).expect("backend reachable")
}

fn backends() -> Vec<Backend> {
    std::env::var("QUARRY_TEST_DATABASES")
        .unwrap_or_else(|_| "sqlite".into())
        .split(',')
        .map(|s| Backend::from_name(s.trim()).expect("sqlite, postgres or mysql"))
        .collect()
}

#[test]
fn trivial_query_sides_return_the_same_users() {
    for backend in backends() {
        let mut fx = fixture(backend, "select");
        fx.load_users(7, true).unwrap();
        fx.raw.prepare(&[]).unwrap();
        let mut raw = fx.raw.load_users().unwrap();
        let mut orm = quarry_users(&fx.db).unwrap();
        raw.sort_by_key(|u| u.id);
        orm.sort_by_key(|u| u.id);
        assert_eq!(raw.len(), 7, "{backend:?}");
        for (r, q) in raw.iter().zip(&orm) {
            assert_eq!(
                (r.id, &r.name, &r.hair_color),
                (q.id, &q.name, &q.hair_color)
            );
        }
        assert_eq!(orm[0].name, "User 0");
        assert_eq!(orm[0].hair_color.as_deref(), Some("black"));
        fx.destroy().unwrap();
    }
}

#[test]
fn insert_sides_write_the_same_rows_and_read_their_keys() {
    for backend in backends() {
        let mut fx = fixture(backend, "insert");
        fx.reset().unwrap();
        fx.raw.prepare(&[3]).unwrap();
        let raw = raw_insert(&mut fx, 3).unwrap();
        let orm = quarry_insert(&fx.db, 3).unwrap();
        assert!(raw.iter().all(|u| u.id > 0), "{backend:?}");
        assert!(orm.iter().all(|u| u.id > 0 && !u._state.adding()));
        let names: Vec<_> = raw.iter().map(|u| (&u.name, &u.hair_color)).collect();
        let orm_names: Vec<_> = orm.iter().map(|u| (&u.name, &u.hair_color)).collect();
        assert_eq!(names, orm_names);
        fx.destroy().unwrap();
    }
}

#[test]
fn harness_reports_a_ratio_per_case() {
    let mut fx = Fixture::open(Backend::Sqlite).unwrap();
    fx.load_users(3, false).unwrap();
    fx.raw.prepare(&[]).unwrap();
    let db = fx.db.clone();
    let settings = Settings {
        pairs: 3,
        sample: Duration::from_micros(200),
    };
    let m = compare(
        settings,
        "trivial_query",
        3,
        &mut || fx.raw.load_users().map(drop),
        &mut || quarry_users(&db).map(drop).map_err(Into::into),
    )
    .unwrap();
    assert!(m.ratio > 0.0 && m.raw > Duration::ZERO && m.quarry > Duration::ZERO);
    assert!(m.spread.0 <= m.ratio && m.ratio <= m.spread.1);
}
