//! Ported from Django's `tests/queries/test_qs_combinators.py`: `union()`,
//! `intersection()`, `difference()`, with ordering, slicing, counting and `values_list()`
//! of the combined rows, and the calls Django refuses after them.

mod common;

use common::{assert_error_contains, run};
use quarry::prelude::*;
use quarry::ModelMeta;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "qs_combinators", ordering = ["num"])]
pub struct Number {
    pub id: i64,
    pub num: i32,
    pub other_num: i32,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "qs_combinators")]
pub struct ReservedName {
    pub id: i64,
    #[field(max_length = 20)]
    pub name: String,
    pub order: i32,
    pub _state: ModelState,
}

fn models() -> Vec<&'static ModelMeta> {
    vec![Number::meta(), ReservedName::meta()]
}

fn fixture(db: &Database) {
    let numbers = (0..10)
        .map(|i| Number {
            id: 0,
            num: i,
            other_num: 10 - i,
            _state: ModelState::new(),
        })
        .collect();
    Number::objects()
        .bulk_create(db, numbers, &BulkCreate::new())
        .unwrap();
}

fn nums(db: &Database, qs: QuerySet<Number>) -> Vec<i32> {
    let mut n: Vec<i32> = qs.all(db).unwrap().into_iter().map(|x| x.num).collect();
    n.sort_unstable();
    n
}

#[test]
fn simple_union_intersection_difference() {
    run(&models(), |db| {
        fixture(db);
        let qs1 = Number::objects().filter(q!(num__lte = 1));
        let qs2 = Number::objects().filter(q!(num__gte = 8));
        let qs3 = Number::objects().filter(q!(num = 5));
        assert_eq!(
            nums(db, qs1.clone().union([qs2.clone(), qs3.clone()])),
            [0, 1, 5, 8, 9]
        );
        // Duplicates go unless all is asked for.
        let qs4 = Number::objects().filter(q!(num__lte = 2));
        assert_eq!(nums(db, qs1.clone().union([qs4.clone()])), [0, 1, 2]);
        assert_eq!(
            nums(db, qs1.clone().union_all([qs4.clone()])),
            [0, 0, 1, 1, 2]
        );
        assert_eq!(qs1.clone().union_all([qs4.clone()]).count(db).unwrap(), 5);
        // Chained unions flatten.
        assert_eq!(
            nums(db, qs1.clone().union([qs2.clone()]).union([qs3.clone()])),
            [0, 1, 5, 8, 9]
        );
        let qs5 = Number::objects().filter(q!(num__gte = 5));
        let qs6 = Number::objects().filter(q!(num__lte = 6));
        assert_eq!(nums(db, qs5.clone().intersection([qs6.clone()])), [5, 6]);
        assert_eq!(nums(db, qs5.clone().difference([qs6])), [7, 8, 9]);
        assert!(qs1
            .clone()
            .intersection([qs2.clone()])
            .all(db)
            .unwrap()
            .is_empty());
        assert!(qs1.clone().union([qs2.clone()]).exists(db).unwrap());
        assert!(!qs1.clone().intersection([qs2.clone()]).exists(db).unwrap());
        let none = Number::objects().none();
        assert_eq!(nums(db, qs1.clone().union([none.clone()])), [0, 1]);
        assert_eq!(nums(db, none.union([qs1.clone()])), [0, 1]);
    });
}

#[test]
fn ordering_slicing_and_values() {
    run(&models(), |db| {
        fixture(db);
        let qs1 = Number::objects().filter(q!(num__lte = 1));
        let qs2 = Number::objects().filter(q!(num__gte = 2, num__lte = 3));
        let ordered: Vec<i32> = qs1
            .clone()
            .union([qs2.clone()])
            .order_by(["-num"])
            .all(db)
            .unwrap()
            .into_iter()
            .map(|n| n.num)
            .collect();
        assert_eq!(ordered, [3, 2, 1, 0]);
        let sliced: Vec<i32> = qs1
            .clone()
            .union([qs2.clone()])
            .order_by(["-num"])
            .slice(1..3)
            .all(db)
            .unwrap()
            .into_iter()
            .map(|n| n.num)
            .collect();
        assert_eq!(sliced, [2, 1]);
        let rows = Number::objects()
            .filter(q!(num = 1))
            .values_list(["num", "other_num"])
            .union([Number::objects()
                .filter(q!(num = 2))
                .values_list(["num", "other_num"])])
            .order_by(["other_num"])
            .all(db)
            .unwrap();
        let got: Vec<(i64, i64)> = rows
            .into_iter()
            .map(|r| (r[0].clone().get().unwrap(), r[1].clone().get().unwrap()))
            .collect();
        assert_eq!(got, [(2, 8), (1, 9)]);
        // Parameters of every part are bound in order (PostgreSQL numbers them).
        let three = Number::objects().filter(q!(num = 7)).union([
            Number::objects().filter(q!(num = 8)),
            Number::objects().filter(q!(num = 9)),
        ]);
        assert_eq!(nums(db, three), [7, 8, 9]);
    });
}

#[test]
fn unsupported_operations_after_combinators() {
    run(&models(), |db| {
        fixture(db);
        let qs = Number::objects().filter(q!(num__lte = 1));
        let combined = qs.clone().union([qs.clone()]);
        assert_error_contains(
            combined.clone().filter(q!(num = 1)).all(db),
            "Calling QuerySet.filter() after union() is not supported.",
        );
        assert_error_contains(
            combined.clone().exclude(q!(num = 1)).all(db),
            "Calling QuerySet.exclude() after union() is not supported.",
        );
        assert_error_contains(
            qs.clone()
                .intersection([qs.clone()])
                .annotate([("x", F("num"))])
                .all(db),
            "Calling QuerySet.annotate() after intersection() is not supported.",
        );
        assert_error_contains(
            combined.update(db, [("num", 1)]),
            "Calling QuerySet.update() after union() is not supported.",
        );
        assert_error_contains(
            qs.clone().difference([qs.clone()]).delete(db),
            "Calling QuerySet.delete() after difference() is not supported.",
        );
        assert_error_contains(
            qs.clone().union([qs.clone().slice(0..1)]).all(db),
            "ORDER BY not allowed in subqueries of compound statements",
        );
        assert_error_contains(
            qs.clone().union([qs.clone()]).order_by(["nope"]).all(db),
            "ORDER BY term does not match any column in the result set: 'nope'",
        );
        assert_error_contains(
            Number::objects()
                .values_list(["num"])
                .union([Number::objects().values_list(["num", "other_num"])])
                .all(db),
            "must select the same number of columns (1 and 2)",
        );
    });
}

#[test]
fn different_models_and_mixed_operations() {
    run(&models(), |db| {
        fixture(db);
        ReservedName::objects()
            .create(
                db,
                ReservedName {
                    id: 0,
                    name: "rn1".into(),
                    order: 42,
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        // test_union_with_values_list_on_different_models (Django's
        // test_union_with_two_annotated_values_list shape): matching columns suffice.
        let rows = ReservedName::objects()
            .values_list(["order"])
            .union([Number::objects()
                .filter(q!(num__lte = 1))
                .values_list(["num"])])
            .order_by(["order"])
            .all(db)
            .unwrap();
        let got: Vec<i64> = rows
            .into_iter()
            .map(|r| r[0].clone().get().unwrap())
            .collect();
        assert_eq!(got, [0, 1, 42]);
        // A second, different operation combines the first as its left side:
        // (num <= 4 UNION num >= 6) INTERSECT even.
        let low = Number::objects().filter(q!(num__lte = 4));
        let high = Number::objects().filter(q!(num__gte = 6));
        let even = Number::objects().filter(q!(num__in = vec![0, 2, 4, 6, 8]));
        let mixed = low.union([high]).intersection([even]);
        assert_eq!(nums(db, mixed.clone()), [0, 2, 4, 6, 8]);
        assert_eq!(mixed.count(db).unwrap(), 5);
        let odd_low = Number::objects().filter(q!(num__in = vec![1, 3]));
        let diff = Number::objects()
            .filter(q!(num__lte = 4))
            .union_all([Number::objects().filter(q!(num = 9))])
            .difference([odd_low]);
        assert_eq!(nums(db, diff), [0, 2, 4, 9]);
    });
}
