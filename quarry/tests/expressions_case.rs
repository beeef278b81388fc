//! Ported from Django's `tests/expressions_case` (CaseExpressionTests,
//! CaseDocumentationExamples, CaseWhenTests): `Case`/`When` in annotate, filter,
//! update, aggregate and order_by, with joins, annotations and aggregates inside.

mod common;

use common::{assert_error_contains, run};
use quarry::model::FieldKind;
use quarry::prelude::*;
use quarry::query::OrderBy;
use quarry::{ModelMeta, OuterRef};
use std::str::FromStr;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "expressions_case")]
pub struct CaseTestModel {
    pub id: i64,
    pub integer: i32,
    pub integer2: Option<i32>,
    #[field(max_length = 100, default = String::new())]
    pub string: String,
    pub big_integer: Option<i64>,
    pub boolean: bool,
    #[field(db_column = "date_field")]
    pub date: Option<NaiveDate>,
    pub date_time: Option<DateTime<Utc>>,
    #[field(max_digits = 2, decimal_places = 1, db_column = "decimal_field")]
    pub decimal: Option<Decimal>,
    pub duration: Option<TimeDelta>,
    #[field(db_column = "float_field")]
    pub float: Option<f64>,
    pub text: String,
    #[field(db_column = "time_field")]
    pub time: Option<NaiveTime>,
    #[field(on_delete = Cascade)]
    pub fk: Option<ForeignKey<CaseTestModel>>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "expressions_case")]
pub struct O2OCaseTestModel {
    pub id: i64,
    #[field(on_delete = Cascade, related_name = "o2o_rel")]
    pub o2o: OneToOneField<CaseTestModel>,
    pub integer: i32,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "expressions_case")]
pub struct FKCaseTestModel {
    pub id: i64,
    #[field(on_delete = Cascade, related_name = "fk_rel")]
    pub fk: ForeignKey<CaseTestModel>,
    pub integer: i32,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "expressions_case")]
pub struct Client {
    pub id: i64,
    #[field(max_length = 50)]
    pub name: String,
    pub registered_on: NaiveDate,
    #[field(max_length = 1, default = "R".to_owned())]
    pub account_type: String,
    pub _state: ModelState,
}

fn models() -> Vec<&'static ModelMeta> {
    vec![
        CaseTestModel::meta(),
        O2OCaseTestModel::meta(),
        FKCaseTestModel::meta(),
        Client::meta(),
    ]
}

fn case_model(db: &Database, integer: i32, integer2: i32, string: &str) -> CaseTestModel {
    CaseTestModel::objects()
        .create(db, blank(integer, integer2, string))
        .unwrap()
}

/// An unsaved row with these values and the other fields empty.
fn blank(integer: i32, integer2: i32, string: &str) -> CaseTestModel {
    CaseTestModel {
        id: 0,
        integer,
        integer2: Some(integer2),
        string: string.into(),
        big_integer: None,
        boolean: false,
        date: None,
        date_time: None,
        decimal: None,
        duration: None,
        float: None,
        text: String::new(),
        time: None,
        fk: None,
        _state: ModelState::new(),
    }
}

/// CaseExpressionTests' `setUpTestData`: seven rows, each with a one-to-one row and
/// one or two foreign-key rows.
fn fixture(db: &Database) -> Vec<CaseTestModel> {
    let rows = [
        (1, 1, "1", 1, vec![1]),
        (2, 3, "2", 2, vec![2, 3]),
        (3, 4, "3", 3, vec![3, 4]),
        (2, 2, "2", 2, vec![2, 3]),
        (3, 4, "3", 3, vec![3, 4]),
        (3, 3, "3", 3, vec![3, 4]),
        (4, 5, "4", 1, vec![5]),
    ];
    let mut out = Vec::new();
    for (integer, integer2, string, o2o, fks) in rows {
        let o = case_model(db, integer, integer2, string);
        O2OCaseTestModel::objects()
            .create(
                db,
                O2OCaseTestModel {
                    id: 0,
                    o2o: OneToOneField::to(&o).unwrap(),
                    integer: o2o,
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        for fk in fks {
            FKCaseTestModel::objects()
                .create(
                    db,
                    FKCaseTestModel {
                        id: 0,
                        fk: ForeignKey::to(&o).unwrap(),
                        integer: fk,
                        _state: ModelState::new(),
                    },
                )
                .unwrap();
        }
        out.push(o);
    }
    out
}

/// `(integer, annotation)` of each row in primary-key order.
fn annotated<T: FieldValue>(
    qs: QuerySet<CaseTestModel>,
    db: &Database,
    name: &str,
) -> Vec<(i32, T)> {
    qs.order_by(["pk"])
        .all(db)
        .unwrap()
        .iter()
        .map(|o| (o.integer, o.annotation::<T>(name).unwrap()))
        .collect()
}

fn s(v: &str) -> String {
    v.to_owned()
}

fn text(v: &str) -> Value {
    Value::from(v)
}

/// `(integer, integer2)` of the rows in primary-key order.
fn pairs(qs: QuerySet<CaseTestModel>, db: &Database) -> Vec<(i32, Option<i32>)> {
    qs.order_by(["pk"])
        .all(db)
        .unwrap()
        .iter()
        .map(|o| (o.integer, o.integer2))
        .collect()
}

/// Django's `group_by_fields`: every concrete field (not the text field).
const GROUP_BY_FIELDS: [&str; 13] = [
    "id",
    "integer",
    "integer2",
    "string",
    "big_integer",
    "boolean",
    "date",
    "date_time",
    "decimal",
    "duration",
    "float",
    "time",
    "fk",
];

#[test]
fn annotate_with_values_and_conditions() {
    run(&models(), |db| {
        fixture(db);
        let objects = CaseTestModel::objects;
        // test_annotate
        let got = annotated::<String>(
            objects().annotate([(
                "test",
                Case([
                    When(q!(integer = 1), text("one")),
                    When(q!(integer = 2), text("two")),
                ])
                .default(text("other")),
            )]),
            db,
            "test",
        );
        let expected: Vec<(i32, String)> = [
            (1, "one"),
            (2, "two"),
            (3, "other"),
            (2, "two"),
            (3, "other"),
            (3, "other"),
            (4, "other"),
        ]
        .map(|(i, t)| (i, s(t)))
        .to_vec();
        assert_eq!(got, expected);
        // test_annotate_without_default
        let got = annotated::<Option<i64>>(
            objects().annotate([(
                "test",
                Case([When(q!(integer = 1), 1), When(q!(integer = 2), 2)]),
            )]),
            db,
            "test",
        );
        assert_eq!(
            got,
            [
                (1, Some(1)),
                (2, Some(2)),
                (3, None),
                (2, Some(2)),
                (3, None),
                (3, None),
                (4, None)
            ]
        );
        // test_annotate_with_expression_as_value
        let got = annotated::<i64>(
            objects().annotate([(
                "f_test",
                Case([
                    When(q!(integer = 1), F("integer") + 1),
                    When(q!(integer = 2), F("integer") + 3),
                ])
                .default("integer"),
            )]),
            db,
            "f_test",
        );
        assert_eq!(
            got,
            [(1, 2), (2, 5), (3, 3), (2, 5), (3, 3), (3, 3), (4, 4)]
        );
        // test_annotate_with_expression_as_condition
        let got = annotated::<String>(
            objects().annotate([(
                "f_test",
                Case([
                    When(q!(integer2 = F("integer")), text("equal")),
                    When(q!(integer2 = F("integer") + 1), text("+1")),
                ]),
            )]),
            db,
            "f_test",
        );
        let plus = [
            (1, "equal"),
            (2, "+1"),
            (3, "+1"),
            (2, "equal"),
            (3, "+1"),
            (3, "equal"),
            (4, "+1"),
        ]
        .map(|(i, t)| (i, s(t)))
        .to_vec();
        assert_eq!(got, plus);
        // test_annotate_with_join_in_value
        let got = annotated::<i64>(
            objects().annotate([(
                "join_test",
                Case([
                    When(q!(integer = 1), F("o2o_rel__integer") + 1),
                    When(q!(integer = 2), F("o2o_rel__integer") + 3),
                ])
                .default("o2o_rel__integer"),
            )]),
            db,
            "join_test",
        );
        assert_eq!(
            got,
            [(1, 2), (2, 5), (3, 3), (2, 5), (3, 3), (3, 3), (4, 1)]
        );
        // test_annotate_with_join_in_condition
        let got = annotated::<String>(
            objects().annotate([(
                "join_test",
                Case([
                    When(q!(integer2 = F("o2o_rel__integer")), text("equal")),
                    When(q!(integer2 = F("o2o_rel__integer") + 1), text("+1")),
                ])
                .default(text("other")),
            )]),
            db,
            "join_test",
        );
        let mut expected = plus.clone();
        expected[6].1 = s("other");
        assert_eq!(got, expected);
        // test_annotate_with_join_in_predicate
        let got = annotated::<String>(
            objects().annotate([(
                "join_test",
                Case([
                    When(q!(o2o_rel__integer = 1), text("one")),
                    When(q!(o2o_rel__integer = 2), text("two")),
                    When(q!(o2o_rel__integer = 3), text("three")),
                ])
                .default(text("other")),
            )]),
            db,
            "join_test",
        );
        let names: Vec<&str> = got.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            names,
            ["one", "two", "three", "two", "three", "three", "one"]
        );
        // test_annotate_with_in_clause
        let fk_rels = FKCaseTestModel::objects().filter(q!(integer__in = [5]));
        let got = annotated::<i64>(
            objects().only(["pk", "integer"]).annotate([(
                "in_test",
                Sum(Case([When(q!(fk_rel__in = fk_rels), F("fk_rel__integer"))]).default(0)),
            )]),
            db,
            "in_test",
        );
        assert_eq!(
            got,
            [(1, 0), (2, 0), (3, 0), (2, 0), (3, 0), (3, 0), (4, 5)]
        );
        // test_lookup_in_condition
        let got = annotated::<String>(
            objects().annotate([(
                "test",
                Case([
                    When(q!(integer__lt = 2), text("less than 2")),
                    When(q!(integer__gt = 2), text("greater than 2")),
                ])
                .default(text("equal to 2")),
            )]),
            db,
            "test",
        );
        assert_eq!(got[0].1, "less than 2");
        assert_eq!(got[1].1, "equal to 2");
        assert_eq!(got[2].1, "greater than 2");
        // test_lookup_different_fields, test_combined_q_object
        let got = annotated::<String>(
            objects().annotate([(
                "test",
                Case([When(q!(integer = 2, integer2 = 3), text("when"))]).default(text("default")),
            )]),
            db,
            "test",
        );
        let whens: Vec<bool> = got.iter().map(|(_, t)| t == "when").collect();
        assert_eq!(whens, [false, true, false, false, false, false, false]);
        let got = annotated::<String>(
            objects().annotate([(
                "test",
                Case([When(q!(integer = 2) | q!(integer2 = 3), text("when"))])
                    .default(text("default")),
            )]),
            db,
            "test",
        );
        let whens: Vec<bool> = got.iter().map(|(_, t)| t == "when").collect();
        assert_eq!(whens, [false, true, false, true, false, true, false]);
        // test_condition_with_lookups
        let o = objects()
            .annotate([(
                "test",
                Case([
                    When(q!(integer2 = 1, string = "2"), false),
                    When(q!(integer2 = 1, string = "1"), true),
                ])
                .default(false)
                .output_field(FieldKind::BooleanField),
            )])
            .get(db, q!(integer = 1))
            .unwrap();
        assert!(o.annotation::<bool>("test").unwrap());
        // test_annotate_with_empty_when, test_annotate_with_full_when
        for (condition, expected) in [
            (q!(pk__in = Vec::<i64>::new()), "not selected"),
            (!q!(pk__in = Vec::<i64>::new()), "selected"),
        ] {
            let all = objects()
                .annotate([(
                    "selected",
                    Case([When(condition, text("selected"))]).default(text("not selected")),
                )])
                .all(db)
                .unwrap();
            assert_eq!(all.len(), 7);
            assert!(all
                .iter()
                .all(|o| o.annotation::<String>("selected").unwrap() == expected));
        }
        // test_combined_expression
        let got = annotated::<i64>(
            objects().annotate([(
                "test",
                Expr::from(Case([When(q!(integer = 1), 2), When(q!(integer = 2), 1)]).default(3))
                    + 1,
            )]),
            db,
            "test",
        );
        assert_eq!(
            got,
            [(1, 3), (2, 2), (3, 4), (2, 2), (3, 4), (3, 4), (4, 4)]
        );
        // test_empty_q_object
        let err = objects()
            .annotate([("x", Case([When(q!(), true)]))])
            .all(db);
        assert_error_contains(err, "An empty Q() can't be used as a When() condition.");
    });
}

#[test]
fn annotate_with_annotations_and_aggregates() {
    run(&models(), |db| {
        fixture(db);
        let objects = CaseTestModel::objects;
        // test_annotate_with_annotation_in_value
        let got = annotated::<i64>(
            objects()
                .annotate([
                    ("f_plus_1", F("integer") + 1),
                    ("f_plus_3", F("integer") + 3),
                ])
                .annotate([(
                    "f_test",
                    Case([
                        When(q!(integer = 1), "f_plus_1"),
                        When(q!(integer = 2), "f_plus_3"),
                    ])
                    .default("integer"),
                )]),
            db,
            "f_test",
        );
        assert_eq!(
            got,
            [(1, 2), (2, 5), (3, 3), (2, 5), (3, 3), (3, 3), (4, 4)]
        );
        // test_annotate_with_annotation_in_condition
        let got = annotated::<String>(
            objects()
                .annotate([("f_plus_1", F("integer") + 1)])
                .annotate([(
                    "f_test",
                    Case([
                        When(q!(integer2 = F("integer")), text("equal")),
                        When(q!(integer2 = F("f_plus_1")), text("+1")),
                    ]),
                )]),
            db,
            "f_test",
        );
        let equal: Vec<bool> = got.iter().map(|(_, t)| t == "equal").collect();
        assert_eq!(equal, [true, false, false, true, false, true, false]);
        // test_annotate_with_annotation_in_predicate
        let got = annotated::<String>(
            objects()
                .annotate([("f_minus_2", F("integer") - 2)])
                .annotate([(
                    "test",
                    Case([
                        When(q!(f_minus_2 = -1), text("negative one")),
                        When(q!(f_minus_2 = 0), text("zero")),
                        When(q!(f_minus_2 = 1), text("one")),
                    ])
                    .default(text("other")),
                )]),
            db,
            "test",
        );
        let names: Vec<&str> = got.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            names,
            ["negative one", "zero", "one", "zero", "one", "one", "other"]
        );
        // test_annotate_with_aggregation_in_value
        let rows = objects()
            .values(GROUP_BY_FIELDS)
            .annotate([
                ("min", Min("fk_rel__integer")),
                ("max", Max("fk_rel__integer")),
            ])
            .annotate([(
                "test",
                Case([When(q!(integer = 2), "min"), When(q!(integer = 3), "max")]),
            )])
            .order_by(["pk"])
            .all(db)
            .unwrap();
        let got: Vec<(i64, Option<i64>, i64, i64)> = rows
            .iter()
            .map(|r| {
                (
                    r.get_as("integer").unwrap(),
                    r.get_as("test").unwrap(),
                    r.get_as("min").unwrap(),
                    r.get_as("max").unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (1, None, 1, 1),
                (2, Some(2), 2, 3),
                (3, Some(4), 3, 4),
                (2, Some(2), 2, 3),
                (3, Some(4), 3, 4),
                (3, Some(4), 3, 4),
                (4, None, 5, 5),
            ]
        );
        // test_annotate_with_aggregation_in_condition
        let rows = objects()
            .values(GROUP_BY_FIELDS)
            .annotate([
                ("min", Min("fk_rel__integer")),
                ("max", Max("fk_rel__integer")),
            ])
            .annotate([(
                "test",
                Case([
                    When(q!(integer2 = F("min")), text("min")),
                    When(q!(integer2 = F("max")), text("max")),
                ]),
            )])
            .order_by(["pk"])
            .all(db)
            .unwrap();
        let got: Vec<String> = rows.iter().map(|r| r.get_as("test").unwrap()).collect();
        assert_eq!(got, ["min", "max", "max", "min", "max", "min", "min"]);
        // test_annotate_with_aggregation_in_predicate
        let rows = objects()
            .values(GROUP_BY_FIELDS)
            .annotate([("max", Max("fk_rel__integer"))])
            .annotate([(
                "test",
                Case([
                    When(q!(max = 3), text("max = 3")),
                    When(q!(max = 4), text("max = 4")),
                ])
                .default(text("")),
            )])
            .order_by(["pk"])
            .all(db)
            .unwrap();
        let got: Vec<String> = rows.iter().map(|r| r.get_as("test").unwrap()).collect();
        assert_eq!(
            got,
            ["", "max = 3", "max = 4", "max = 3", "max = 4", "max = 4", ""]
        );
        // test_annotate_exclude
        let got = annotated::<String>(
            objects()
                .annotate([(
                    "test",
                    Case([
                        When(q!(integer = 1), text("one")),
                        When(q!(integer = 2), text("two")),
                    ])
                    .default(text("other")),
                )])
                .exclude(q!(test = "other")),
            db,
            "test",
        );
        assert_eq!(got, [(1, s("one")), (2, s("two")), (2, s("two"))]);
        // test_annotate_values_not_in_order_by
        let got: Vec<i64> = objects()
            .annotate([(
                "test",
                Case([
                    When(q!(integer = 1), text("one")),
                    When(q!(integer = 2), text("two")),
                    When(q!(integer = 3), text("three")),
                ])
                .default(text("other")),
            )])
            .order_by(["test"])
            .values_list_flat("integer")
            .all(db)
            .unwrap()
            .into_iter()
            .map(|v| i64::from_value(v).unwrap())
            .collect();
        assert_eq!(got, [1, 4, 3, 3, 3, 2, 2]);
        // test_in_subquery
        let tests = objects()
            .annotate([(
                "test",
                Case([
                    When(q!(integer = F("integer2")), "pk"),
                    When(q!(integer = 4), "pk"),
                ]),
            )])
            .values(["test"]);
        let got = pairs(objects().filter(q!(pk__in = tests)), db);
        assert_eq!(
            got,
            [(1, Some(1)), (2, Some(2)), (3, Some(3)), (4, Some(5))]
        );
        // test_case_reuse
        let some_case = Case([When(q!(pk = 0), text("0"))]).default(text("1"));
        let a: Vec<(i64, String)> = objects()
            .annotate([("somecase", some_case.clone())])
            .order_by(["pk"])
            .all(db)
            .unwrap()
            .iter()
            .map(|o| (o.id, o.annotation("somecase").unwrap()))
            .collect();
        let b: Vec<(i64, String)> = objects()
            .annotate([("somecase", some_case)])
            .order_by(["pk"])
            .values_list(["pk", "somecase"])
            .all(db)
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    i64::from_value(r[0].clone()).unwrap(),
                    String::from_value(r[1].clone()).unwrap(),
                )
            })
            .collect();
        assert_eq!(a, b);
        // test_order_by_conditional_implicit, test_order_by_conditional_explicit
        for order in [OrderBy::from("test"), F("test").asc()] {
            let got: Vec<(i32, i64)> = objects()
                .filter(q!(integer__lte = 2))
                .annotate([(
                    "test",
                    Case([When(q!(integer = 1), 2), When(q!(integer = 2), 1)]).default(3),
                )])
                .order_by([order, OrderBy::from("pk")])
                .all(db)
                .unwrap()
                .iter()
                .map(|o| (o.integer, o.annotation("test").unwrap()))
                .collect();
            assert_eq!(got, [(2, 1), (2, 1), (1, 2)]);
        }
    });
}

#[test]
fn aggregate_and_aggregation_cases() {
    run(&models(), |db| {
        fixture(db);
        let objects = CaseTestModel::objects;
        // test_aggregate, test_aggregate_with_expression_as_value,
        // test_aggregate_with_expression_as_condition
        let row = objects()
            .aggregate(
                db,
                [
                    ("one", Sum(Case([When(q!(integer = 1), 1)]))),
                    ("two", Sum(Case([When(q!(integer = 2), 1)]))),
                    ("three", Sum(Case([When(q!(integer = 3), 1)]))),
                    ("four", Sum(Case([When(q!(integer = 4), 1)]))),
                    ("one_v", Sum(Case([When(q!(integer = 1), "integer")]))),
                    (
                        "two_v",
                        Sum(Case([When(q!(integer = 2), F("integer") - 1)])),
                    ),
                    (
                        "three_v",
                        Sum(Case([When(q!(integer = 3), F("integer") + 1)])),
                    ),
                    ("equal", Sum(Case([When(q!(integer2 = F("integer")), 1)]))),
                    (
                        "plus_one",
                        Sum(Case([When(q!(integer2 = F("integer") + 1), 1)])),
                    ),
                ],
            )
            .unwrap();
        let got: Vec<i64> = [
            "one", "two", "three", "four", "one_v", "two_v", "three_v", "equal", "plus_one",
        ]
        .iter()
        .map(|n| row.get_as(n).unwrap())
        .collect();
        assert_eq!(got, [1, 2, 3, 1, 1, 2, 12, 3, 4]);
        // test_m2m_exclude, test_m2m_reuse
        case_model(db, 10, 1, "1");
        let case = || Sum(Case([When(!q!(fk_rel__integer = 1), 1)]).default(2));
        let qs = objects()
            .values_list(["id", "integer"])
            .annotate([("cnt", case())])
            .annotate([("cnt2", case())])
            .order_by(["integer"]);
        let (sql, _) = qs.to_sql(db).unwrap();
        assert_eq!(sql.matches(" JOIN ").count(), 1, "{sql}");
        let got: Vec<(i64, i64, i64)> = qs
            .all(db)
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    i64::from_value(r[1].clone()).unwrap(),
                    i64::from_value(r[2].clone()).unwrap(),
                    i64::from_value(r[3].clone()).unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (1, 2, 2),
                (2, 2, 2),
                (2, 2, 2),
                (3, 2, 2),
                (3, 2, 2),
                (3, 2, 2),
                (4, 1, 1),
                (10, 1, 1)
            ]
        );
        // test_aggregation_empty_cases
        for (case, expected) in [
            (Case([]).output_field(FieldKind::IntegerField), Value::Null),
            (Case([]).default(text("empty")), text("empty")),
            (Case([]).default(F("string")), Value::Null),
        ] {
            let from_column = matches!(case.default, Some(Expr::Field(_)));
            let rows = objects()
                .exclude(q!(integer = 10))
                .values(["string"])
                .annotate([
                    ("case", Expr::from(case)),
                    ("integer_sum", Sum("integer").into()),
                ])
                .order_by(["string"])
                .all(db)
                .unwrap();
            let got: Vec<(String, Value, i64)> = rows
                .iter()
                .map(|r| {
                    (
                        r.get_as("string").unwrap(),
                        r.get("case").unwrap().clone(),
                        r.get_as("integer_sum").unwrap(),
                    )
                })
                .collect();
            for (i, (string, sum)) in [("1", 1), ("2", 4), ("3", 9), ("4", 4)]
                .into_iter()
                .enumerate()
            {
                let expected = if from_column {
                    text(string)
                } else {
                    expected.clone()
                };
                assert_eq!(got[i], (s(string), expected, sum));
            }
        }
    });
}

#[test]
fn filter_with_case() {
    run(&models(), |db| {
        fixture(db);
        let objects = CaseTestModel::objects;
        let p = |pairs: &[(i32, i32)]| -> Vec<(i32, Option<i32>)> {
            pairs.iter().map(|&(a, b)| (a, Some(b))).collect()
        };
        // test_filter, test_filter_without_default
        let got = pairs(
            objects().filter(q!(
                integer2 = Case([When(q!(integer = 2), 3), When(q!(integer = 3), 4)]).default(1)
            )),
            db,
        );
        assert_eq!(got, p(&[(1, 1), (2, 3), (3, 4), (3, 4)]));
        let got = pairs(
            objects().filter(q!(
                integer2 = Case([When(q!(integer = 2), 3), When(q!(integer = 3), 4)])
            )),
            db,
        );
        assert_eq!(got, p(&[(2, 3), (3, 4), (3, 4)]));
        // test_filter_with_expression_as_value
        let got = pairs(
            objects().filter(q!(integer2 = Case([
                When(q!(integer = 2), F("integer") + 1),
                When(q!(integer = 3), F("integer")),
            ])
            .default("integer"))),
            db,
        );
        assert_eq!(got, p(&[(1, 1), (2, 3), (3, 3)]));
        // test_filter_with_expression_as_condition
        let got: Vec<(i32, String)> = objects()
            .filter(q!(string = Case([
                When(q!(integer2 = F("integer")), text("2")),
                When(q!(integer2 = F("integer") + 1), text("3")),
            ])))
            .order_by(["pk"])
            .all(db)
            .unwrap()
            .iter()
            .map(|o| (o.integer, o.string.clone()))
            .collect();
        assert_eq!(got, [(3, s("3")), (2, s("2")), (3, s("3"))]);
        // test_filter_with_join_in_value, _in_condition, _in_predicate
        let got = pairs(
            objects().filter(q!(integer2 = Case([
                When(q!(integer = 2), F("o2o_rel__integer") + 1),
                When(q!(integer = 3), F("o2o_rel__integer")),
            ])
            .default("o2o_rel__integer"))),
            db,
        );
        assert_eq!(got, p(&[(1, 1), (2, 3), (3, 3)]));
        let got = pairs(
            objects().filter(q!(integer = Case([
                When(q!(integer2 = F("o2o_rel__integer") + 1), 2),
                When(q!(integer2 = F("o2o_rel__integer")), 3),
            ]))),
            db,
        );
        assert_eq!(got, p(&[(2, 3), (3, 3)]));
        let got = pairs(
            objects().filter(q!(integer2 = Case([
                When(q!(o2o_rel__integer = 1), 1),
                When(q!(o2o_rel__integer = 2), 3),
                When(q!(o2o_rel__integer = 3), 4),
            ]))),
            db,
        );
        assert_eq!(got, p(&[(1, 1), (2, 3), (3, 4), (3, 4)]));
        // test_filter_with_annotation_in_value, _in_condition, _in_predicate
        let got = pairs(
            objects()
                .annotate([("f", F("integer")), ("f_plus_1", F("integer") + 1)])
                .filter(q!(integer2 = Case([
                    When(q!(integer = 2), "f_plus_1"),
                    When(q!(integer = 3), "f")
                ]))),
            db,
        );
        assert_eq!(got, p(&[(2, 3), (3, 3)]));
        let got = pairs(
            objects()
                .annotate([("f_plus_1", F("integer") + 1)])
                .filter(q!(integer = Case([
                    When(q!(integer2 = F("integer")), 2),
                    When(q!(integer2 = F("f_plus_1")), 3),
                ]))),
            db,
        );
        assert_eq!(got, p(&[(3, 4), (2, 2), (3, 4)]));
        let got = pairs(
            objects()
                .annotate([("f_plus_1", F("integer") + 1)])
                .filter(q!(integer2 =
                    Case([When(q!(f_plus_1 = 3), 3), When(q!(f_plus_1 = 4), 4)])
                        .default(1))),
            db,
        );
        assert_eq!(got, p(&[(1, 1), (2, 3), (3, 4), (3, 4)]));
        // test_filter_with_aggregation_in_value, _in_condition, _in_predicate
        let grouped = || {
            objects().values(GROUP_BY_FIELDS).annotate([
                ("min", Min("fk_rel__integer")),
                ("max", Max("fk_rel__integer")),
            ])
        };
        let rows = |qs: QuerySet<CaseTestModel, ValuesRow>| -> Vec<(i64, i64, i64)> {
            qs.order_by(["pk"])
                .all(db)
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r.get_as("integer").unwrap(),
                        r.get_as("integer2").unwrap(),
                        r.get_as("max").unwrap(),
                    )
                })
                .collect()
        };
        let got = rows(grouped().filter(q!(
            integer2 = Case([When(q!(integer = 2), "min"), When(q!(integer = 3), "max")])
        )));
        assert_eq!(got, [(3, 4, 4), (2, 2, 3), (3, 4, 4)]);
        let got = rows(grouped().filter(q!(integer = Case([
            When(q!(integer2 = F("min")), 2),
            When(q!(integer2 = F("max")), 3),
        ]))));
        assert_eq!(got, [(3, 4, 4), (2, 2, 3), (3, 4, 4)]);
        let got = rows(grouped().filter(q!(
            integer = Case([When(q!(max = 3), 2), When(q!(max = 4), 3)])
        )));
        assert_eq!(got, [(2, 3, 3), (3, 4, 4), (2, 2, 3), (3, 4, 4), (3, 3, 4)]);
        // test_annotate_filter_decimal
        let obj = CaseTestModel::objects()
            .create(
                db,
                CaseTestModel {
                    integer: 0,
                    decimal: Some(Decimal::from(1)),
                    ..blank(0, 0, "")
                },
            )
            .unwrap();
        let qs = objects().annotate([
            ("x", Expr::from(Case([When(q!(integer = 0), F("decimal"))]))),
            ("y", Case([When(q!(integer = 0), Decimal::from(1))]).into()),
        ]);
        for q in [
            q!(x = 1) & q!(x = Decimal::from(1)),
            q!(y = 1) & q!(y = Decimal::from(1)),
        ] {
            let ids: Vec<i64> = qs
                .clone()
                .filter(q)
                .all(db)
                .unwrap()
                .iter()
                .map(|o| o.id)
                .collect();
            assert_eq!(ids, [obj.id]);
        }
        // A correlated Case: Django's filter on an OuterRef inside When.
        let later = objects().filter(q!(pk__gt = OuterRef("pk"), integer = 3));
        let n = objects()
            .filter(q!(integer = 2))
            .filter(Q::expr(quarry::Exists(later)))
            .count(db)
            .unwrap();
        assert_eq!(n, 2);
    });
}

#[test]
fn update_with_case() {
    run(&models(), |db| {
        let rows = fixture(db);
        let objects = CaseTestModel::objects;
        let column = |name: &'static str| -> Vec<Value> {
            objects()
                .order_by(["pk"])
                .values_list_flat(name)
                .all(db)
                .unwrap()
        };
        // test_update
        objects()
            .update(
                db,
                [(
                    "string",
                    Case([
                        When(q!(integer = 1), text("one")),
                        When(q!(integer = 2), text("two")),
                    ])
                    .default(text("other")),
                )],
            )
            .unwrap();
        assert_eq!(
            column("string"),
            ["one", "two", "other", "two", "other", "other", "other"].map(text)
        );
        // test_update_with_expression_as_condition
        objects()
            .update(
                db,
                [(
                    "string",
                    Case([
                        When(q!(integer2 = F("integer")), text("equal")),
                        When(q!(integer2 = F("integer") + 1), text("+1")),
                    ]),
                )],
            )
            .unwrap();
        assert_eq!(
            column("string"),
            ["equal", "+1", "+1", "equal", "+1", "equal", "+1"].map(text)
        );
        // test_update_without_default (and big_integer, float, boolean, date, time,
        // duration, decimal: the typed test_update_* cases)
        let two =
            |v1: Value, v2: Value| Case([When(q!(integer = 1), v1), When(q!(integer = 2), v2)]);
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        let updates: Vec<(&str, Value, Value)> = vec![
            ("integer2", Value::I64(1), Value::I64(2)),
            ("big_integer", Value::I64(1), Value::I64(2)),
            ("float", Value::F64(1.1), Value::F64(2.2)),
            ("boolean", Value::Bool(true), Value::Bool(false)),
            (
                "date",
                Value::Date(d(2015, 1, 1)),
                Value::Date(d(2015, 1, 2)),
            ),
            (
                "time",
                Value::Time(NaiveTime::from_hms_opt(0, 0, 1).unwrap()),
                Value::Time(NaiveTime::from_hms_opt(0, 0, 2).unwrap()),
            ),
            (
                "duration",
                Value::Duration(TimeDelta::days(1)),
                Value::Duration(TimeDelta::days(2)),
            ),
            (
                "decimal",
                Value::Decimal(Decimal::from_str("1.1").unwrap()),
                Value::Decimal(Decimal::from_str("2.2").unwrap()),
            ),
        ];
        for (field, v1, v2) in updates {
            let case = if field == "boolean" {
                two(v1.clone(), v2.clone()).default(false)
            } else {
                two(v1.clone(), v2.clone())
            };
            objects().update(db, [(field, case)]).unwrap();
            let other = if field == "boolean" {
                Value::Bool(false)
            } else {
                Value::Null
            };
            let got = column(field);
            let expected = [
                v1.clone(),
                v2.clone(),
                other.clone(),
                v2.clone(),
                other.clone(),
                other.clone(),
                other.clone(),
            ];
            match field {
                "boolean" => assert_eq!(
                    got.iter()
                        .map(|v| bool::from_value(v.clone()).unwrap())
                        .collect::<Vec<_>>(),
                    expected
                        .iter()
                        .map(|v| bool::from_value(v.clone()).unwrap())
                        .collect::<Vec<_>>(),
                    "{field}"
                ),
                "decimal" => assert_eq!(
                    got.iter()
                        .map(|v| Option::<Decimal>::from_value(v.clone()).unwrap())
                        .collect::<Vec<_>>(),
                    expected
                        .iter()
                        .map(|v| Option::<Decimal>::from_value(v.clone()).unwrap())
                        .collect::<Vec<_>>(),
                    "{field}"
                ),
                _ => assert_eq!(got, expected, "{field}"),
            }
        }
        // test_update_fk
        let target = &rows[0];
        objects()
            .update(db, [("fk", Case([When(q!(integer = 1), target.id)]))])
            .unwrap();
        let fks: Vec<Value> = column("fk");
        assert_eq!(fks[0], Value::I64(target.id));
        assert!(fks[1..].iter().all(Value::is_null));
        // test_update_with_expression_as_value
        objects()
            .update(
                db,
                [(
                    "integer",
                    Case([
                        When(q!(integer = 1), F("integer") + 1),
                        When(q!(integer = 2), F("integer") + 3),
                    ])
                    .default("integer"),
                )],
            )
            .unwrap();
        assert_eq!(column("integer"), [2, 5, 3, 5, 3, 3, 4].map(Value::I64));
        // test_update_with_join_in_condition_raise_field_error,
        // test_update_with_join_in_predicate_raise_field_error
        let err = objects().update(
            db,
            [(
                "integer",
                Case([
                    When(q!(integer2 = F("o2o_rel__integer") + 1), 2),
                    When(q!(integer2 = F("o2o_rel__integer")), 3),
                ]),
            )],
        );
        assert_error_contains(
            err,
            "Joined field references are not permitted in this query",
        );
        let err = objects().update(
            db,
            [(
                "string",
                Case([When(q!(o2o_rel__integer = 1), text("one"))]).default(text("other")),
            )],
        );
        assert_error_contains(
            err,
            "Joined field references are not permitted in this query",
        );
    });
}

#[test]
fn join_promotion() {
    run(&models(), |db| {
        fixture(db);
        let o = case_model(db, 1, 1, "1");
        // test_join_promotion, test_join_promotion_multiple_annotations
        for (isnull, foo, bar) in [(false, 3, 5), (true, 2, 4)] {
            let condition = if isnull {
                q!(fk_rel__isnull = true)
            } else {
                q!(fk_rel__pk = 1)
            };
            let got = CaseTestModel::objects()
                .filter(q!(pk = o.id))
                .annotate([
                    ("foo", Case([When(condition.clone(), 2)]).default(3)),
                    ("bar", Case([When(condition, 4)]).default(5)),
                ])
                .all(db)
                .unwrap();
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].id, o.id);
            assert_eq!(got[0].annotation::<i64>("foo").unwrap(), foo);
            assert_eq!(got[0].annotation::<i64>("bar").unwrap(), bar);
        }
    });
}

fn client(db: &Database, name: &str, account_type: &str, days_ago: i64) {
    let today = Utc::now().date_naive();
    Client::objects()
        .create(
            db,
            Client {
                id: 0,
                name: name.into(),
                registered_on: today - TimeDelta::days(days_ago),
                account_type: account_type.into(),
                _state: ModelState::new(),
            },
        )
        .unwrap();
}

#[test]
fn documentation_examples() {
    run(&models(), |db| {
        client(db, "Jane Doe", "R", 36);
        client(db, "James Smith", "G", 5);
        client(db, "Jack Black", "P", 10 * 365);
        let today = Utc::now().date_naive();
        let a_month_ago = today - TimeDelta::days(30);
        let a_year_ago = today - TimeDelta::days(365);
        let discounts = |qs: QuerySet<Client>| -> Vec<(String, String)> {
            qs.order_by(["pk"])
                .all(db)
                .unwrap()
                .iter()
                .map(|c| (c.name.clone(), c.annotation("discount").unwrap()))
                .collect()
        };
        // test_simple_example
        let got = discounts(
            Client::objects().annotate([(
                "discount",
                Case([
                    When(q!(account_type = "G"), text("5%")),
                    When(q!(account_type = "P"), text("10%")),
                ])
                .default(text("0%")),
            )]),
        );
        assert_eq!(
            got,
            [
                (s("Jane Doe"), s("0%")),
                (s("James Smith"), s("5%")),
                (s("Jack Black"), s("10%"))
            ]
        );
        // test_lookup_example
        let got = discounts(
            Client::objects().annotate([(
                "discount",
                Case([
                    When(q!(registered_on__lte = a_year_ago), text("10%")),
                    When(q!(registered_on__lte = a_month_ago), text("5%")),
                ])
                .default(text("0%")),
            )]),
        );
        let got: Vec<&str> = got.iter().map(|(_, d)| d.as_str()).collect();
        assert_eq!(got, ["5%", "0%", "10%"]);
        // test_filter_example
        let found = Client::objects()
            .filter(q!(registered_on__lte = Case([
                When(q!(account_type = "G"), a_month_ago),
                When(q!(account_type = "P"), a_year_ago),
            ])))
            .all(db)
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].name.as_str(), found[0].account_type.as_str()),
            ("Jack Black", "P")
        );
        // test_conditional_update_example
        Client::objects()
            .update(
                db,
                [(
                    "account_type",
                    Case([
                        When(q!(registered_on__lte = a_year_ago), text("P")),
                        When(q!(registered_on__lte = a_month_ago), text("G")),
                    ])
                    .default(text("R")),
                )],
            )
            .unwrap();
        let types: Vec<String> = Client::objects()
            .order_by(["pk"])
            .all(db)
            .unwrap()
            .into_iter()
            .map(|c| c.account_type)
            .collect();
        assert_eq!(types, ["G", "R", "P"]);
        // test_conditional_aggregation_example
        client(db, "Jean Grey", "R", 0);
        client(db, "James Bond", "P", 0);
        client(db, "Jane Porter", "P", 0);
        let by_filter = Client::objects()
            .aggregate(
                db,
                [
                    ("regular", Count("pk").filter(q!(account_type = "R"))),
                    ("gold", Count("pk").filter(q!(account_type = "G"))),
                    ("platinum", Count("pk").filter(q!(account_type = "P"))),
                ],
            )
            .unwrap();
        let by_case = Client::objects()
            .aggregate(
                db,
                [
                    ("regular", Sum(Case([When(q!(account_type = "R"), 1)]))),
                    ("gold", Sum(Case([When(q!(account_type = "G"), 1)]))),
                    ("platinum", Sum(Case([When(q!(account_type = "P"), 1)]))),
                ],
            )
            .unwrap();
        for row in [by_filter, by_case] {
            let got: Vec<i64> = ["regular", "gold", "platinum"]
                .iter()
                .map(|n| row.get_as(n).unwrap())
                .collect();
            assert_eq!(got, [2, 1, 3]);
        }
    });
}
