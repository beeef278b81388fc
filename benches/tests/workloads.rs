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
    assert!(m.cpu_ratio > 0.0 && m.cpu_spread.0 <= m.cpu_ratio && m.cpu_ratio <= m.cpu_spread.1);
}

#[test]
fn medium_complex_query_sides_return_the_same_pairs() {
    use quarry_benches::workloads::quarry_medium;
    for backend in backends() {
        let mut fx = fixture(backend, "medium");
        fx.load_users(9, true).unwrap();
        // Two posts for user 1 (black-haired), one for user 2 (brown).
        fx.run_sql(
            "INSERT INTO posts (user_id, title, body) VALUES (1, 'Post 0 by user 1', NULL), \
             (1, 'Post 1 by user 1', 'text'), (2, 'Post 2 by user 2', NULL)",
        )
        .unwrap();
        let mut raw = fx.raw.medium().unwrap();
        let mut orm = quarry_medium(&fx.db).unwrap();
        let key = |id: i32, p: Option<i32>| (id, p.unwrap_or(0));
        raw.sort_by_key(|(u, p)| key(u.id, p.as_ref().map(|p| p.id)));
        orm.sort_by_key(|(u, p)| key(u.id, p.as_ref().map(|p| p.id)));
        // Users 1, 3, 5, 7, 9 are black-haired (User 0, 2, ...); user 1 has two posts.
        assert_eq!(raw.len(), 6, "{backend:?}");
        assert_eq!(orm.len(), 6, "{backend:?}");
        for ((ru, rp), (qu, qp)) in raw.iter().zip(&orm) {
            assert_eq!(
                (ru.id, &ru.name, &ru.hair_color),
                (qu.id, &qu.name, &qu.hair_color)
            );
            assert_eq!(ru.hair_color.as_deref(), Some("black"));
            let rp = rp
                .as_ref()
                .map(|p| (p.id, p.user_id, p.title.clone(), p.body.clone()));
            let qp = qp
                .as_ref()
                .map(|p| (p.id, *p.user.id(), p.title.clone(), p.body.clone()));
            assert_eq!(rp, qp);
        }
        assert_eq!(orm.iter().filter(|(_, p)| p.is_some()).count(), 2);
        fx.destroy().unwrap();
    }
}

/// A post's key and title with its comments' keys and texts.
type PostTree = (i32, String, Vec<(i32, String)>);

#[test]
fn loading_associations_sides_load_the_same_tree_in_three_queries() {
    use quarry_benches::models::{Comment, Post};
    use quarry_benches::workloads::quarry_associations;
    for backend in backends() {
        let mut fx = fixture(backend, "assoc");
        fx.load_associations(4, 3, 2).unwrap();
        fx.raw.prepare(&[]).unwrap();
        let raw = fx.raw.associations().unwrap();
        let (orm, queries) = quarry::testing::capture_queries(|| quarry_associations(&fx.db));
        let orm = orm.unwrap();
        assert_eq!(queries.len(), 3, "{queries:#?}");
        let shape = |posts: Vec<PostTree>| posts;
        let mut raw_tree: Vec<_> = raw
            .into_iter()
            .map(|(u, ps)| {
                let ps = ps
                    .into_iter()
                    .map(|(p, cs)| {
                        (
                            p.id,
                            p.title,
                            cs.into_iter().map(|c| (c.id, c.text)).collect(),
                        )
                    })
                    .collect();
                (u.id, u.name, shape(ps))
            })
            .collect();
        let mut orm_tree: Vec<_> = orm
            .iter()
            .map(|u| {
                let ps = u._state.prefetched::<Post>("posts").unwrap();
                let ps = ps
                    .iter()
                    .map(|p| {
                        let cs = p._state.prefetched::<Comment>("comments").unwrap();
                        (
                            p.id,
                            p.title.clone(),
                            cs.iter().map(|c| (c.id, c.text.clone())).collect(),
                        )
                    })
                    .collect();
                (u.id, u.name.clone(), shape(ps))
            })
            .collect();
        for tree in [&mut raw_tree, &mut orm_tree] {
            tree.sort();
            for (_, _, ps) in tree.iter_mut() {
                ps.sort();
                for (_, _, cs) in ps.iter_mut() {
                    cs.sort();
                }
            }
        }
        assert_eq!(raw_tree.len(), 4, "{backend:?}");
        assert_eq!(raw_tree[0].2.len(), 3);
        assert_eq!(raw_tree[0].2[0].2.len(), 2);
        assert_eq!(raw_tree[3].2[2].2[1].1, "Comment 23 on post 12");
        assert_eq!(raw_tree, orm_tree, "{backend:?}");
        fx.destroy().unwrap();
    }
}
