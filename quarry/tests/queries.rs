//! Ported from Django's `tests/queries` (tests.py: QuerySetSupportsPythonIdioms,
//! WeirdQuerysetSlicingTests, EscapingTests, NullInExcludeTest, EmptyStringsAsNullTest,
//! QuerySetBitwiseOperationTests without relations; test_iterator.py).

mod common;

use chrono::{TimeZone, Utc};
use common::{assert_error_contains, run};
use quarry::prelude::*;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "queries")]
pub struct Article {
    #[field(primary_key)]
    pub id: i64,
    #[field(max_length = 20)]
    pub name: String,
    pub created: DateTime<Utc>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "queries")]
pub struct ReservedName {
    #[field(primary_key)]
    pub id: i64,
    #[field(max_length = 20)]
    pub name: String,
    pub order: i32,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "queries")]
pub struct NullableName {
    #[field(primary_key)]
    pub id: i64,
    #[field(max_length = 20)]
    pub name: Option<String>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "queries")]
pub struct Classroom {
    #[field(primary_key)]
    pub id: i64,
    #[field(max_length = 20)]
    pub name: String,
    pub has_blackboard: Option<bool>,
    pub _state: ModelState,
}

fn articles(db: &Database) -> Vec<Article> {
    let some_date = Utc.with_ymd_and_hms(2014, 5, 16, 12, 1, 0).unwrap();
    (1..8)
        .map(|i| {
            Article::objects()
                .create(
                    db,
                    Article {
                        id: 0,
                        name: format!("Article {i}"),
                        created: some_date,
                        _state: ModelState::new(),
                    },
                )
                .unwrap()
        })
        .collect()
}

fn ordered() -> QuerySet<Article> {
    Article::objects().order_by(["name"])
}

#[test]
fn test_can_get_items_using_slice_notation() {
    run(&[Article::meta()], |db| {
        let a = articles(db);
        assert_eq!(ordered().first(db).unwrap().unwrap().name, "Article 1");
        assert_eq!(ordered().slice(1..3).all(db).unwrap(), a[1..3]);
    });
}

#[test]
fn test_slicing_can_slice_again_after_slicing() {
    run(&[Article::meta()], |db| {
        let a = articles(db);
        assert_eq!(ordered().slice(0..5).slice(0..2).all(db).unwrap(), a[0..2]);
        assert_eq!(ordered().slice(0..5).slice(4..).all(db).unwrap(), a[4..5]);
        assert!(ordered().slice(0..5).slice(5..).all(db).unwrap().is_empty());
        assert_eq!(ordered().slice(2..).slice(0..2).all(db).unwrap(), a[2..4]);
        assert_eq!(ordered().slice(2..).slice(..2).all(db).unwrap(), a[2..4]);
        assert_eq!(ordered().slice(2..).slice(2..3).all(db).unwrap(), a[4..5]);
        assert_eq!(ordered().slice(5..).all(db).unwrap(), a[5..7]);
    });
}

#[test]
#[allow(clippy::reversed_empty_ranges)] // Django's `qs[0:-5]`, refused at run time
fn test_slicing_errors() {
    run(&[Article::meta()], |db| {
        assert_error_contains(
            Article::objects().slice(0..5).filter(q!(id = 1)).all(db),
            "Cannot filter a query once a slice has been taken.",
        );
        assert_error_contains(
            Article::objects().slice(0..5).order_by(["id"]).all(db),
            "Cannot reorder a query once a slice has been taken.",
        );
        assert_error_contains(
            (Article::objects().slice(0..1) & Article::objects().slice(4..5)).all(db),
            "Cannot combine queries once a slice has been taken.",
        );
        assert_error_contains(
            Article::objects().slice(0..-5).all(db),
            "Negative indexing is not supported.",
        );
        assert_error_contains(
            Article::objects().slice(-1..).all(db),
            "Negative indexing is not supported.",
        );
    });
}

#[test]
fn test_can_combine_queries_using_and_and_or_operators() {
    run(&[Article::meta()], |db| {
        let a = articles(db);
        let s1 = Article::objects().filter(q!(name__exact = "Article 1"));
        let s2 = Article::objects().filter(q!(name__exact = "Article 2"));
        assert_eq!(
            (s1.clone() | s2.clone())
                .order_by(["name"])
                .all(db)
                .unwrap(),
            a[0..2]
        );
        assert!((s1.clone() & s2).all(db).unwrap().is_empty());
        // Excludes survive combination; none() is the identity of |.
        let s3 = Article::objects().exclude(q!(name__in = ["Article 1", "Article 2", "Article 3"]));
        assert_eq!((s1.clone() | s3.clone()).count(db).unwrap(), 5);
        assert_eq!(
            (Article::objects().none() | s1.clone()).all(db).unwrap(),
            a[0..1]
        );
        assert!((Article::objects().none() & s1).all(db).unwrap().is_empty());
    });
}

#[test]
fn test_tickets_7698_10202() {
    run(&[Article::meta()], |db| {
        articles(db);
        assert!(Article::objects().slice(0..0).all(db).unwrap().is_empty());
        assert!(Article::objects()
            .slice(0..0)
            .slice(..10)
            .all(db)
            .unwrap()
            .is_empty());
        assert_eq!(Article::objects().slice(..0).count(db).unwrap(), 0);
        assert_error_contains(
            Article::objects().slice(..0).latest(db, &["created"]),
            "Cannot change a query once a slice has been taken.",
        );
        assert!(Article::objects()
            .values(Vec::<String>::new())
            .slice(42..42)
            .all(db)
            .unwrap()
            .is_empty());
        assert!(Article::objects()
            .values_list(Vec::<String>::new())
            .slice(42..42)
            .all(db)
            .unwrap()
            .is_empty());
    });
}

#[test]
fn test_reserved_names_are_escaped() {
    run(&[ReservedName::meta()], |db| {
        let r_a = ReservedName::objects()
            .create(
                db,
                ReservedName {
                    id: 0,
                    name: "a".into(),
                    order: 42,
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let r_b = ReservedName::objects()
            .create(
                db,
                ReservedName {
                    id: 0,
                    name: "b".into(),
                    order: 37,
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        assert_eq!(
            ReservedName::objects().order_by(["order"]).all(db).unwrap(),
            vec![r_b, r_a]
        );
        assert_eq!(
            ReservedName::objects()
                .filter(q!(order__gt = 40))
                .values_list_flat("name")
                .all(db)
                .unwrap(),
            vec![Value::from("a")]
        );
    });
}

#[test]
fn test_null_in_exclude_qs() {
    run(&[NullableName::meta()], |db| {
        NullableName::objects()
            .create(
                db,
                NullableName {
                    id: 0,
                    name: Some("i1".into()),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        NullableName::objects()
            .create(
                db,
                NullableName {
                    id: 0,
                    name: None,
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let names = |qs: QuerySet<NullableName>| -> Vec<Option<String>> {
            qs.order_by(["id"])
                .all(db)
                .unwrap()
                .into_iter()
                .map(|n| n.name)
                .collect()
        };
        assert_eq!(
            names(NullableName::objects().exclude(q!(name__in = Vec::<String>::new()))),
            [Some("i1".into()), None]
        );
        assert_eq!(
            names(NullableName::objects().exclude(q!(name__in = ["i1"]))),
            [None]
        );
        assert_eq!(
            names(NullableName::objects().exclude(q!(name__in = ["i3"]))),
            [Some("i1".into()), None]
        );
        // ~~Q(name="i1") is Q(name="i1"), with no IS NOT NULL guard.
        let double = NullableName::objects().filter(!!q!(name = "i1"));
        assert_eq!(
            names(double.clone()),
            names(NullableName::objects().filter(q!(name = "i1")))
        );
        assert!(!double.to_sql(db).unwrap().0.contains("IS NOT NULL"));
        assert!(NullableName::objects()
            .filter(!q!(name = "i1"))
            .to_sql(db)
            .unwrap()
            .0
            .contains("IS NOT NULL"));
    });
}

#[test]
fn test_empty_string_is_not_null() {
    run(&[NullableName::meta()], |db| {
        let nc = NullableName::objects()
            .create(
                db,
                NullableName {
                    id: 0,
                    name: Some(String::new()),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        assert_eq!(
            NullableName::objects()
                .exclude(q!(name__in = ["nonexistent"]))
                .all(db)
                .unwrap(),
            vec![nc.clone()]
        );
        let foo = NullableName::objects()
            .create(
                db,
                NullableName {
                    id: 0,
                    name: Some("foo".into()),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        assert_eq!(
            NullableName::objects()
                .exclude(q!(name = ""))
                .all(db)
                .unwrap(),
            vec![foo]
        );
        assert_eq!(
            NullableName::objects()
                .filter(q!(name__isnull = true))
                .count(db)
                .unwrap(),
            0
        );
    });
}

#[test]
fn test_bitwise_operations_on_booleans() {
    run(&[Classroom::meta()], |db| {
        let rooms: Vec<Classroom> = [
            (false, "Room 1"),
            (true, "Room 2"),
            (true, "Room 3"),
            (false, "Room 4"),
        ]
        .into_iter()
        .map(|(b, n)| {
            Classroom::objects()
                .create(
                    db,
                    Classroom {
                        id: 0,
                        name: n.into(),
                        has_blackboard: Some(b),
                        _state: ModelState::new(),
                    },
                )
                .unwrap()
        })
        .collect();
        let with = Classroom::objects().filter(q!(has_blackboard = true));
        let without = Classroom::objects().filter(q!(has_blackboard = false));
        assert_eq!(
            (with.clone() | without.clone())
                .order_by(["id"])
                .all(db)
                .unwrap(),
            rooms
        );
        assert!((with.clone() & without).all(db).unwrap().is_empty());
        assert_eq!(
            (with & Classroom::objects().filter(q!(name__endswith = "3")))
                .all(db)
                .unwrap(),
            vec![rooms[2].clone()]
        );
    });
}

#[test]
fn test_iterator_invalid_chunk_size() {
    run(&[Article::meta()], |db| {
        articles(db);
        let mut it = Article::objects().iterator(db, 0);
        assert_error_contains(it.next().unwrap(), "Chunk size must be strictly positive.");
        assert!(it.next().is_none());
        assert_eq!(Article::objects().iterator(db, 1).count(), 7);
    });
}
