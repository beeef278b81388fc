//! Ported from Django's `tests/expressions` (tests.py, BasicExpressionsTests): `F()`
//! between fields, arithmetic, and subqueries (`Subquery`, `Exists`, `OuterRef`, `in`
//! with a QuerySet) on the companies and employees fixture.

mod common;

use common::{assert_error_contains, run};
use quarry::prelude::*;
use quarry::testing::capture_queries;
use quarry::{Exists, ModelMeta, OuterRef, Subquery};

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "expressions")]
pub struct Manager {
    pub id: i64,
    #[field(max_length = 50)]
    pub name: String,
    #[field(on_delete = Cascade, related_name = "managers")]
    pub secretary: Option<ForeignKey<Employee>>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "expressions")]
pub struct Employee {
    pub id: i64,
    #[field(max_length = 50)]
    pub firstname: String,
    #[field(max_length = 50)]
    pub lastname: String,
    #[field(blank)]
    pub salary: Option<i32>,
    #[field(on_delete = Cascade)]
    pub manager: Option<ForeignKey<Manager>>,
    #[field(default = false)]
    pub based_in_eu: bool,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "expressions")]
pub struct Company {
    pub id: i64,
    #[field(max_length = 100)]
    pub name: String,
    pub num_employees: u32,
    pub num_chairs: u32,
    #[field(on_delete = Cascade, related_name = "company_ceo_set")]
    pub ceo: ForeignKey<Employee>,
    #[field(on_delete = SetNull, related_name = "company_point_of_contact_set")]
    pub point_of_contact: Option<ForeignKey<Employee>>,
    #[field(default = false)]
    pub based_in_eu: bool,
    pub _state: ModelState,
}

fn models() -> Vec<&'static ModelMeta> {
    vec![Manager::meta(), Employee::meta(), Company::meta()]
}

fn employee(db: &Database, first: &str, last: &str, salary: Option<i32>) -> Employee {
    Employee::objects()
        .create(
            db,
            Employee {
                id: 0,
                firstname: first.into(),
                lastname: last.into(),
                salary,
                manager: None,
                based_in_eu: false,
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

fn company(
    db: &Database,
    name: &str,
    employees: u32,
    chairs: u32,
    eu: bool,
    ceo: &Employee,
) -> Company {
    Company::objects()
        .create(
            db,
            Company {
                id: 0,
                name: name.into(),
                num_employees: employees,
                num_chairs: chairs,
                ceo: ForeignKey::to(ceo).unwrap(),
                point_of_contact: None,
                based_in_eu: eu,
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

/// Django's `setUpTestData`: Example Inc. (Joe), Foobar Ltd. (Frank), Test GmbH (Max).
struct Fixture {
    example_inc: Company,
    foobar_ltd: Company,
    gmbh: Company,
    max: Employee,
}

fn fixture(db: &Database) -> Fixture {
    let joe = employee(db, "Joe", "Smith", Some(10));
    let example_inc = company(db, "Example Inc.", 2300, 5, false, &joe);
    let frank = employee(db, "Frank", "Meyer", Some(20));
    let foobar_ltd = company(db, "Foobar Ltd.", 3, 4, true, &frank);
    let max = employee(db, "Max", "Mustermann", Some(30));
    let gmbh = company(db, "Test GmbH", 32, 1, false, &max);
    Fixture {
        example_inc,
        foobar_ltd,
        gmbh,
        max,
    }
}

fn ids<M: Model>(objs: Vec<M>) -> Vec<i64> {
    let mut ids: Vec<i64> = objs.iter().map(|o| o.pk().get().unwrap()).collect();
    ids.sort_unstable();
    ids
}

#[test]
fn filter_inter_attribute_and_update() {
    run(&models(), |db| {
        fixture(db);
        let rows = Company::objects()
            .filter(q!(num_employees__gt = F("num_chairs")))
            .order_by(["name"])
            .values(["name", "num_employees", "num_chairs"])
            .all(db)
            .unwrap();
        let names: Vec<String> = rows.iter().map(|r| r.get_as("name").unwrap()).collect();
        assert_eq!(names, ["Example Inc.", "Test GmbH"]);
        // test_update and test_arithmetic
        Company::objects()
            .update(db, [("num_chairs", F("num_employees"))])
            .unwrap();
        Company::objects()
            .update(db, [("num_chairs", F("num_employees") + 2)])
            .unwrap();
        let chairs: Vec<(String, i64)> = Company::objects()
            .order_by(["name"])
            .values(["name", "num_chairs"])
            .all(db)
            .unwrap()
            .iter()
            .map(|r| (r.get_as("name").unwrap(), r.get_as("num_chairs").unwrap()))
            .collect();
        assert_eq!(
            chairs,
            [
                ("Example Inc.".to_owned(), 2302),
                ("Foobar Ltd.".to_owned(), 5),
                ("Test GmbH".to_owned(), 34)
            ]
        );
        // test_order_of_operations
        Company::objects()
            .update(
                db,
                [("num_chairs", F("num_employees") + 2 * F("num_employees"))],
            )
            .unwrap();
        let foobar: i64 = Company::objects()
            .filter(q!(name = "Foobar Ltd."))
            .values_list_flat("num_chairs")
            .get(db, q!())
            .unwrap()
            .get()
            .unwrap();
        assert_eq!(foobar, 9);
        Company::objects()
            .update(
                db,
                [("num_chairs", (F("num_employees") + 2) * F("num_employees"))],
            )
            .unwrap();
        let foobar: i64 = Company::objects()
            .filter(q!(name = "Foobar Ltd."))
            .values_list_flat("num_chairs")
            .get(db, q!())
            .unwrap()
            .get()
            .unwrap();
        assert_eq!(foobar, 15);
    });
}

#[test]
fn outerref_outside_a_subquery_is_refused() {
    run(&models(), |db| {
        fixture(db);
        let inner = Company::objects().filter(q!(point_of_contact = OuterRef("pk")));
        assert_error_contains(
            inner.exists(db),
            "This queryset contains a reference to an outer query (OuterRef(\"pk\")) and may \
             only be used in a subquery.",
        );
        let outer = Employee::objects().annotate([("is_point_of_contact", Exists(inner))]);
        assert!(outer.exists(db).unwrap());
    });
}

#[test]
fn subquery_and_exists_annotations() {
    run(&models(), |db| {
        let f = fixture(db);
        let joe = Employee::objects()
            .get(db, q!(firstname = "Joe", lastname = "Smith"))
            .unwrap();
        Company::objects()
            .filter(q!(name = "Example Inc."))
            .update(
                db,
                [
                    ("point_of_contact", Expr::from(joe.id)),
                    ("ceo", Expr::from(f.max.id)),
                ],
            )
            .unwrap();
        employee(db, "Bob", "Brown", Some(40));
        let contact = || Company::objects().filter(q!(point_of_contact = OuterRef("pk")));
        let small_ceo =
            || Company::objects().filter(q!(num_employees__lt = 200, ceo = OuterRef("pk")));
        let largest = Company::objects()
            .order_by(["-num_employees"])
            .filter(q!(ceo = OuterRef("pk")) | q!(point_of_contact = OuterRef("pk")))
            .values_list(["name"])
            .slice(0..1);
        let qs = Employee::objects()
            .annotate([
                ("is_point_of_contact", Exists(contact())),
                ("is_not_point_of_contact", !Exists(contact())),
                ("is_ceo_of_small_company", Exists(small_ceo())),
                ("is_ceo_small_2", !!Exists(small_ceo())),
                ("largest_company", Subquery(largest)),
            ])
            .values([
                "firstname",
                "is_point_of_contact",
                "is_not_point_of_contact",
                "is_ceo_of_small_company",
                "is_ceo_small_2",
                "largest_company",
            ])
            .order_by(["firstname"]);
        let rows: Vec<(String, bool, bool, bool, bool, Option<String>)> = qs
            .all(db)
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r.get_as("firstname").unwrap(),
                    r.get_as("is_point_of_contact").unwrap(),
                    r.get_as("is_not_point_of_contact").unwrap(),
                    r.get_as("is_ceo_of_small_company").unwrap(),
                    r.get_as("is_ceo_small_2").unwrap(),
                    r.get_as("largest_company").unwrap(),
                )
            })
            .collect();
        let s = |n: &str| Some(n.to_owned());
        assert_eq!(
            rows,
            [
                ("Bob".to_owned(), false, true, false, false, None),
                (
                    "Frank".to_owned(),
                    false,
                    true,
                    true,
                    true,
                    s("Foobar Ltd.")
                ),
                (
                    "Joe".to_owned(),
                    true,
                    false,
                    false,
                    false,
                    s("Example Inc.")
                ),
                ("Max".to_owned(), false, true, true, true, s("Example Inc.")),
            ]
        );
        // The same rows found through the reverse relation.
        let by_exists = Employee::objects()
            .annotate([("is_point_of_contact", Exists(contact()))])
            .filter(q!(is_point_of_contact = true))
            .all(db)
            .unwrap();
        let by_join = Employee::objects()
            .exclude(q!(company_point_of_contact_set = Value::Null))
            .all(db)
            .unwrap();
        assert_eq!(ids(by_exists), ids(by_join));
    });
}

#[test]
fn in_subquery_and_exists_in_filter() {
    run(&models(), |db| {
        let f = fixture(db);
        let small = Company::objects()
            .filter(q!(num_employees__lt = 200))
            .values_list(["pk"]);
        let found = Company::objects()
            .filter(q!(pk__in = Subquery(small.clone())))
            .all(db)
            .unwrap();
        assert_eq!(ids(found), [f.foobar_ltd.id, f.gmbh.id]);
        // A model QuerySet stands for its keys, as in Django.
        let found = Company::objects()
            .filter(q!(
                pk__in = Company::objects().filter(q!(num_employees__lt = 200))
            ))
            .all(db)
            .unwrap();
        assert_eq!(ids(found), [f.foobar_ltd.id, f.gmbh.id]);
        let found = Company::objects()
            .filter(q!(pk = Subquery(small.filter(q!(num_employees = 3)))))
            .all(db)
            .unwrap();
        assert_eq!(ids(found), [f.foobar_ltd.id]);

        let inner = || {
            Company::objects()
                .filter(q!(ceo = OuterRef("pk")))
                .values_list(["pk"])
        };
        let qs1 = Employee::objects()
            .filter(Q::expr(Exists(inner())))
            .all(db)
            .unwrap();
        let qs2 = Employee::objects()
            .annotate([("found", Exists(inner()))])
            .filter(q!(found = true))
            .all(db)
            .unwrap();
        assert_eq!(ids(qs1.clone()), ids(qs2.clone()));
        assert_eq!(qs1.len(), 3);
        assert!(!Employee::objects()
            .exclude(Q::expr(Exists(inner())))
            .exists(db)
            .unwrap());
        let qs3 = Employee::objects()
            .exclude(Q::expr(!Exists(inner())))
            .all(db)
            .unwrap();
        assert_eq!(ids(qs2), ids(qs3));

        // test_subquery_in_filter: a boolean subquery as the condition.
        let eu = Company::objects()
            .filter(q!(ceo = OuterRef("pk")))
            .values_list(["based_in_eu"]);
        let found = Employee::objects()
            .filter(Q::expr(Subquery(eu)))
            .all(db)
            .unwrap();
        assert_eq!(ids(found), [f.foobar_ltd.ceo.id().to_owned()]);
        // A non-boolean expression is no condition.
        let salaries = Company::objects()
            .filter(q!(ceo = OuterRef("pk")))
            .values_list(["num_chairs"]);
        assert_error_contains(
            Employee::objects()
                .filter(Q::expr(Subquery(salaries)))
                .all(db),
            "Cannot filter against a non-conditional expression",
        );
    });
}

#[test]
fn order_by_exists_and_subquery_filters() {
    run(&models(), |db| {
        let f = fixture(db);
        let mary = employee(db, "Mary", "Mustermann", Some(20));
        let by_seniority = Employee::objects()
            .filter(q!(lastname = "Mustermann"))
            .order_by([Exists(Company::objects().filter(q!(ceo = OuterRef("pk")))).desc()])
            .all(db)
            .unwrap();
        assert_eq!(
            by_seniority.iter().map(|e| e.id).collect::<Vec<_>>(),
            [f.max.id, mary.id]
        );

        // test_annotations_within_subquery
        let frank = Employee::objects()
            .get(db, q!(firstname = "Frank"))
            .unwrap();
        Company::objects()
            .filter(q!(num_employees__lt = 50))
            .update(db, [("ceo", Expr::from(frank.id))])
            .unwrap();
        let inner = Company::objects()
            .filter(q!(ceo = OuterRef("pk")))
            .values(["ceo"])
            .annotate([("total_employees", Sum("num_employees"))])
            .values(["total_employees"]);
        let rows = Employee::objects()
            .annotate([("total_employees", Subquery(inner.clone()))])
            .filter(q!(salary__lte = Subquery(inner)))
            .order_by(["-total_employees"])
            .values(["salary", "total_employees"])
            .all(db)
            .unwrap();
        let got: Vec<(i64, i64)> = rows
            .iter()
            .map(|r| {
                (
                    r.get_as("salary").unwrap(),
                    r.get_as("total_employees").unwrap(),
                )
            })
            .collect();
        assert_eq!(got, [(10, 2300), (20, 35)]);

        // test_outerref_with_operator: 30 + 2 employees.
        let inner = Company::objects().filter(q!(num_employees = OuterRef("ceo__salary") + 2));
        let outer = Company::objects().filter(q!(pk__in = Subquery(inner.values_list(["pk"]))));
        assert_eq!(outer.all(db).unwrap().len(), 0);
        Company::objects()
            .filter(q!(pk = f.gmbh.id))
            .update(db, [("ceo", Expr::from(f.max.id))])
            .unwrap();
        assert_eq!(outer.get(db, q!()).unwrap().name, "Test GmbH");

        // test_subquery_references_joined_table_twice
        let inner = Company::objects().filter(q!(
            num_chairs__gte = OuterRef("ceo__salary"),
            num_employees__gte = OuterRef("point_of_contact__salary")
        ));
        let outer = Company::objects().filter(q!(pk__in = Subquery(inner.values_list(["pk"]))));
        assert!(!outer.exists(db).unwrap());
    });
}

#[test]
fn nested_subqueries_and_aggregates_over_them() {
    run(&models(), |db| {
        let f = fixture(db);
        // test_nested_subquery_join_outer_ref: a subquery inside a subquery, each with
        // its own aliases.
        let inner = Employee::objects()
            .filter(q!(pk = OuterRef("ceo__pk")))
            .values_list(["pk"]);
        let qs = Employee::objects()
            .annotate([(
                "ceo_company",
                Subquery(
                    Company::objects()
                        .filter(q!(ceo__in = inner, ceo__pk = OuterRef("pk")))
                        .values_list(["pk"]),
                ),
            )])
            .order_by(["pk"])
            .values_list_flat("ceo_company")
            .all(db)
            .unwrap();
        let got: Vec<i64> = qs.into_iter().map(|v| v.get().unwrap()).collect();
        assert_eq!(got, [f.example_inc.id, f.foobar_ltd.id, f.gmbh.id]);

        // test_aggregate_subquery_annotation: one query, the subquery not repeated.
        let (aggregate, queries) = capture_queries(|| {
            Company::objects()
                .annotate([(
                    "ceo_salary",
                    Subquery(
                        Employee::objects()
                            .filter(q!(id = OuterRef("ceo_id")))
                            .values_list(["salary"]),
                    ),
                )])
                .aggregate(
                    db,
                    [(
                        "ceo_salary_gt_20",
                        Count("pk").filter(q!(ceo_salary__gt = 20)),
                    )],
                )
        });
        assert_eq!(
            aggregate
                .unwrap()
                .get_as::<i64>("ceo_salary_gt_20")
                .unwrap(),
            1
        );
        assert_eq!(queries.len(), 1);
        assert!(queries[0].matches("SELECT").count() <= 3, "{}", queries[0]);

        // test_annotation_with_outerref: an OuterRef inside an annotation of the subquery.
        let gmbh = Company::objects()
            .annotate([(
                "max_ceo_salary_raise",
                Subquery(
                    Company::objects()
                        .annotate([(
                            "salary_raise",
                            OuterRef("num_employees") + F("num_employees"),
                        )])
                        .order_by(["-salary_raise"])
                        .values_list(["salary_raise"])
                        .slice(0..1),
                ),
            )])
            .get(db, q!(pk = f.gmbh.id))
            .unwrap();
        assert_eq!(
            gmbh.annotation::<i64>("max_ceo_salary_raise").unwrap(),
            2332
        );

        // A subquery selecting several columns is refused.
        assert_error_contains(
            Employee::objects()
                .annotate([(
                    "x",
                    Subquery(Company::objects().values_list(["name", "num_chairs"])),
                )])
                .all(db),
            "A subquery must select one column; this one selects 2",
        );
    });
}

#[test]
fn raw_sql_in_annotate_filter_and_order_by() {
    use quarry::model::FieldKind;
    use quarry::RawSQL;
    run(&models(), |db| {
        let f = fixture(db);
        // test_annotate_values_filter / test_annotate_values_count
        let companies = Company::objects()
            .annotate([("foo", RawSQL("%s", ["value"], FieldKind::CharField))])
            .filter(q!(foo = "value"))
            .order_by(["name"])
            .all(db)
            .unwrap();
        assert_eq!(
            companies.iter().map(|c| c.id).collect::<Vec<_>>(),
            [f.example_inc.id, f.foobar_ltd.id, f.gmbh.id]
        );
        let n = Company::objects()
            .annotate([("foo", RawSQL("%s", ["value"], FieldKind::CharField))])
            .count(db)
            .unwrap();
        assert_eq!(n, 3);
        // test_filtering_on_rawsql_that_is_boolean
        let n = Company::objects()
            .filter(Q::expr(RawSQL(
                "num_employees > %s",
                [3],
                FieldKind::BooleanField,
            )))
            .count(db)
            .unwrap();
        assert_eq!(n, 2);
        // Ordering by raw SQL, with a literal percent sign.
        let names: Vec<String> = Company::objects()
            .order_by([
                RawSQL("num_chairs %% %s", [3], FieldKind::IntegerField).asc(),
                F("name").asc(),
            ])
            .all(db)
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, ["Foobar Ltd.", "Test GmbH", "Example Inc."]);
        assert_error_contains(
            Company::objects()
                .filter(Q::expr(RawSQL(
                    "num_employees > %s",
                    Vec::<i64>::new(),
                    FieldKind::BooleanField,
                )))
                .all(db),
            "RawSQL has more %s placeholders than parameters",
        );
    });
}

#[test]
fn nested_outer_refs() {
    // test_nested_subquery_outer_ref_2 / _with_autofield, on this file's models:
    // OuterRef(OuterRef(...)) inside a subquery inside a subquery reads the outermost row.
    run(&models(), |db| {
        let f = fixture(db);
        // For each employee: of the companies they lead, the first one's CEO salary,
        // read from the employee row two levels out.
        let innermost = Employee::objects()
            .filter(q!(pk = OuterRef(OuterRef("pk")), pk = OuterRef("ceo")))
            .values(["salary"]);
        let middle = Company::objects()
            .filter(q!(ceo = OuterRef("pk")))
            .annotate([("ceo_salary", Subquery(innermost))])
            .order_by(["pk"])
            .values(["ceo_salary"])
            .slice(..1);
        let rows = Employee::objects()
            .annotate([("led_salary", Subquery(middle))])
            .order_by(["pk"])
            .values_list(["firstname", "led_salary"])
            .all(db)
            .unwrap();
        let got: Vec<(String, Option<i64>)> = rows
            .into_iter()
            .map(|r| (r[0].clone().get().unwrap(), r[1].clone().get().unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                ("Joe".to_owned(), Some(10)),
                ("Frank".to_owned(), Some(20)),
                ("Max".to_owned(), Some(30))
            ]
        );
        // The same reference in a filter: companies whose CEO earns more than four
        // times the company's num_chairs, through an Exists two levels deep.
        let deep = Employee::objects().filter(q!(
            pk = OuterRef("pk"),
            salary__gt = OuterRef(OuterRef("num_chairs")) * 4
        ));
        let mid = Employee::objects().filter(q!(pk = OuterRef("ceo"), pk__in = deep));
        let found = Company::objects()
            .filter(Q::expr(Exists(mid)))
            .order_by(["pk"])
            .all(db)
            .unwrap();
        assert_eq!(
            found.iter().map(|c| c.id).collect::<Vec<_>>(),
            [f.foobar_ltd.id, f.gmbh.id]
        );
        // An OuterRef naming an annotation that binds parameters binds them where it
        // is read (twice here, before the subquery's own parameter), and again with new
        // values from the statement cache.
        for (plus, expected) in [(5, vec![f.foobar_ltd.id]), (25, vec![f.gmbh.id])] {
            let ceo = Employee::objects().filter(q!(
                pk = OuterRef("ceo"),
                salary__gt = OuterRef("limit"),
                salary__lt = OuterRef("limit") * 3
            ));
            let found = Company::objects()
                .annotate([("limit", F("num_chairs") + plus)])
                .filter(Q::expr(Exists(ceo)))
                .order_by(["pk"])
                .all(db)
                .unwrap();
            assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), expected);
        }
        // Reaching past the outermost query is refused.
        let too_far = Employee::objects().filter(q!(pk = OuterRef(OuterRef("pk"))));
        assert_error_contains(
            Company::objects()
                .filter(Q::expr(Exists(too_far)))
                .count(db),
            "reaches further out than the queries around this subquery",
        );
    });
}
