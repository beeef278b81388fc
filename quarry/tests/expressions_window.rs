//! Ported from Django's `tests/expressions_window`: window functions and aggregates over
//! windows, partitions, orderings and frames, on the twelve employees of its fixture.

mod common;

use common::{assert_error_contains, run};
use quarry::functions::{Extract, Upper};
use quarry::prelude::*;
use quarry::query::OrderBy;
use quarry::testing::capture_queries;
use quarry::window::{
    CumeDist, DenseRank, FirstValue, Lag, Lead, NTile, PercentRank, Rank, RowNumber, RowRange,
    ValueRange, Window,
};
use quarry::{ModelMeta, OuterRef, Subquery};

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "expressions_window")]
pub struct Employee {
    pub id: i64,
    #[field(on_delete = Cascade)]
    pub classification: Option<ForeignKey<Classification>>,
    #[field(max_length = 40)]
    pub name: String,
    pub salary: u32,
    #[field(max_length = 40)]
    pub department: String,
    pub hire_date: NaiveDate,
    pub age: i32,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "expressions_window")]
pub struct Classification {
    pub id: i64,
    #[field(max_length = 10)]
    pub code: String,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "expressions_window")]
pub struct PastEmployeeDepartment {
    pub id: i64,
    #[field(on_delete = Cascade, related_name = "past_departments")]
    pub employee: ForeignKey<Employee>,
    #[field(max_length = 40)]
    pub department: String,
    pub _state: ModelState,
}

fn models() -> Vec<&'static ModelMeta> {
    vec![
        Classification::meta(),
        Employee::meta(),
        PastEmployeeDepartment::meta(),
    ]
}

fn fixture(db: &Database) {
    let mut classification = Classification {
        id: 0,
        code: String::new(),
        _state: ModelState::new(),
    };
    classification.save(db).unwrap();
    let rows = [
        ("Jones", 45000, "Accounting", (2005, 11, 1), 20),
        ("Williams", 37000, "Accounting", (2009, 6, 1), 20),
        ("Jenson", 45000, "Accounting", (2008, 4, 1), 20),
        ("Adams", 50000, "Accounting", (2013, 7, 1), 50),
        ("Smith", 55000, "Sales", (2007, 6, 1), 30),
        ("Brown", 53000, "Sales", (2009, 9, 1), 30),
        ("Johnson", 40000, "Marketing", (2012, 3, 1), 30),
        ("Smith", 38000, "Marketing", (2009, 10, 1), 20),
        ("Wilkinson", 60000, "IT", (2011, 3, 1), 40),
        ("Moore", 34000, "IT", (2013, 8, 1), 40),
        ("Miller", 100000, "Management", (2005, 6, 1), 40),
        ("Johnson", 80000, "Management", (2005, 7, 1), 50),
    ];
    let employees = rows
        .into_iter()
        .map(|(name, salary, department, (y, m, d), age)| Employee {
            id: 0,
            classification: Some(ForeignKey::to(&classification).unwrap()),
            name: name.into(),
            salary,
            department: department.into(),
            hire_date: NaiveDate::from_ymd_opt(y, m, d).unwrap(),
            age,
            _state: ModelState::new(),
        })
        .collect();
    Employee::objects()
        .bulk_create(db, employees, &BulkCreate::new())
        .unwrap();
    let employees = Employee::objects().order_by(["pk"]).all(db).unwrap();
    let past = [(6, "Sales"), (10, "IT")]
        .into_iter()
        .map(|(i, department)| PastEmployeeDepartment {
            id: 0,
            employee: ForeignKey::to(&employees[i]).unwrap(),
            department: department.into(),
            _state: ModelState::new(),
        })
        .collect();
    PastEmployeeDepartment::objects()
        .bulk_create(db, past, &BulkCreate::new())
        .unwrap();
}

/// `(name, annotation)` of every row, in the QuerySet's order.
fn named(db: &Database, qs: QuerySet<Employee>, annotation: &str) -> Vec<(String, Option<i64>)> {
    qs.all(db)
        .unwrap()
        .into_iter()
        .map(|e| (e.name.clone(), e.annotation(annotation).unwrap()))
        .collect()
}

fn pairs(expected: &[(&str, i64)]) -> Vec<(String, Option<i64>)> {
    expected
        .iter()
        .map(|(n, v)| (n.to_string(), Some(*v)))
        .collect()
}

#[test]
fn dense_rank_by_year() {
    run(&models(), |db| {
        fixture(db);
        let orderings: [OrderBy; 3] = [
            Expr::from(Extract(F("hire_date"), "year")).asc(),
            F("hire_date__year").asc(),
            "hire_date__year".into(),
        ];
        for order in orderings {
            let qs = Employee::objects()
                .annotate([("rank", Window::new(DenseRank()).order_by([order]))])
                .order_by(["rank", "name", "salary"]);
            let got = named(db, qs, "rank");
            assert_eq!(
                got,
                pairs(&[
                    ("Johnson", 1),
                    ("Jones", 1),
                    ("Miller", 1),
                    ("Smith", 2),
                    ("Jenson", 3),
                    ("Brown", 4),
                    ("Smith", 4),
                    ("Williams", 4),
                    ("Wilkinson", 5),
                    ("Johnson", 6),
                    ("Adams", 7),
                    ("Moore", 7),
                ])
            );
        }
    });
}

#[test]
fn department_salary_running_sum() {
    run(&models(), |db| {
        fixture(db);
        let qs = Employee::objects()
            .annotate([(
                "department_sum",
                Window::new(Sum("salary"))
                    .partition_by(["department"])
                    .order_by([F("hire_date").asc()]),
            )])
            .order_by(["department", "department_sum"]);
        assert_eq!(
            named(db, qs, "department_sum"),
            pairs(&[
                ("Jones", 45000),
                ("Jenson", 90000),
                ("Williams", 127000),
                ("Adams", 177000),
                ("Wilkinson", 60000),
                ("Moore", 94000),
                ("Miller", 100000),
                ("Johnson", 180000),
                ("Smith", 38000),
                ("Johnson", 78000),
                ("Smith", 55000),
                ("Brown", 108000),
            ])
        );
    });
}

#[test]
fn rank_and_row_number() {
    run(&models(), |db| {
        fixture(db);
        let qs = Employee::objects()
            .annotate([("rank", Window::new(Rank()).order_by(["-salary"]))])
            .order_by(["rank", "name"]);
        let got = named(db, qs, "rank");
        assert_eq!(
            got[..8],
            pairs(&[
                ("Miller", 1),
                ("Johnson", 2),
                ("Wilkinson", 3),
                ("Smith", 4),
                ("Brown", 5),
                ("Adams", 6),
                ("Jenson", 7),
                ("Jones", 7),
            ])[..]
        );
        assert_eq!(got[8], ("Johnson".to_owned(), Some(9)));
        let qs = Employee::objects()
            .annotate([(
                "row",
                Window::new(RowNumber()).order_by([F("hire_date").asc(), F("name").asc()]),
            )])
            .order_by(["row"]);
        let names: Vec<String> = qs.all(db).unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(names[..4], ["Miller", "Johnson", "Jones", "Smith"]);
    });
}

#[test]
fn lag_lead_first_value_and_ntile() {
    run(&models(), |db| {
        fixture(db);
        let qs = Employee::objects()
            .annotate([(
                "lag",
                Window::new(Lag("salary", 1, None))
                    .partition_by(["department"])
                    .order_by([F("salary").asc(), F("name").asc()]),
            )])
            .order_by([
                OrderBy::from("department"),
                F("salary").asc(),
                F("name").asc(),
            ]);
        let got: Vec<Option<i64>> = named(db, qs, "lag").into_iter().map(|(_, v)| v).collect();
        assert_eq!(
            got,
            [
                None,
                Some(37000),
                Some(45000),
                Some(45000),
                None,
                Some(34000),
                None,
                Some(80000),
                None,
                Some(38000),
                None,
                Some(53000)
            ]
        );
        // LEAD with a default of the column's type (MariaDB has no default: refused, as
        // Django refuses it).
        let qs = Employee::objects()
            .annotate([(
                "lead",
                Window::new(Lead("salary", 1, Some(Expr::from(0))))
                    .partition_by(["department"])
                    .order_by([F("salary").asc(), F("name").asc()]),
            )])
            .filter(q!(department = "IT"))
            .order_by(["salary"]);
        if common::vendor(db) == quarry::sql::Vendor::Mysql {
            assert_error_contains(
                qs.all(db),
                "This backend does not support default values in Lead/Lag.",
            );
        } else {
            assert_eq!(
                named(db, qs, "lead"),
                pairs(&[("Moore", 60000), ("Wilkinson", 0)])
            );
        }
        let qs = Employee::objects()
            .annotate([(
                "first",
                Window::new(FirstValue("salary"))
                    .partition_by(["department"])
                    .order_by([F("hire_date").asc()]),
            )])
            .filter(q!(department = "Sales"))
            .order_by(["hire_date"]);
        assert_eq!(
            named(db, qs, "first"),
            pairs(&[("Smith", 55000), ("Brown", 55000)])
        );
        let qs = Employee::objects()
            .annotate([("ntile", Window::new(NTile(4)).order_by(["-salary"]))])
            .order_by(["ntile", "-salary", "name"]);
        let buckets: Vec<i64> = named(db, qs, "ntile")
            .into_iter()
            .map(|(_, v)| v.unwrap())
            .collect();
        assert_eq!(buckets, [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
    });
}

#[test]
fn percent_rank_and_cume_dist() {
    run(&models(), |db| {
        fixture(db);
        let rows = Employee::objects()
            .annotate([
                ("pr", Window::new(PercentRank()).order_by(["salary"])),
                ("cd", Window::new(CumeDist()).order_by(["salary"])),
            ])
            .order_by(["salary", "name"])
            .values(["name", "pr", "cd"])
            .all(db)
            .unwrap();
        let pr: f64 = rows[0].get_as("pr").unwrap();
        let cd: f64 = rows[0].get_as("cd").unwrap();
        assert_eq!(pr, 0.0);
        assert!((cd - 1.0 / 12.0).abs() < 1e-9);
        let last_pr: f64 = rows[11].get_as("pr").unwrap();
        assert_eq!(last_pr, 1.0);
    });
}

#[test]
fn frames() {
    run(&models(), |db| {
        fixture(db);
        let qs = Employee::objects()
            .annotate([(
                "sum",
                Window::new(Sum("salary"))
                    .order_by([F("hire_date").asc(), F("name").desc()])
                    .frame(RowRange(None, Some(3))),
            )])
            .order_by(["sum", "hire_date"]);
        let (sql, _) = qs.to_sql(db).unwrap();
        assert!(
            sql.contains("ROWS BETWEEN UNBOUNDED PRECEDING AND 3 FOLLOWING"),
            "{sql}"
        );
        assert_eq!(
            named(db, qs, "sum"),
            pairs(&[
                ("Miller", 280000),
                ("Johnson", 325000),
                ("Jones", 362000),
                ("Smith", 415000),
                ("Jenson", 453000),
                ("Williams", 513000),
                ("Brown", 553000),
                ("Smith", 603000),
                ("Wilkinson", 637000),
                ("Johnson", 637000),
                ("Adams", 637000),
                ("Moore", 637000),
            ])
        );
        // RANGE by value: the salaries within 0 of this one (ties summed together).
        let qs = Employee::objects()
            .annotate([(
                "same_salary",
                Window::new(Sum("salary"))
                    .order_by(["salary"])
                    .frame(ValueRange(Some(0), Some(0))),
            )])
            .filter(q!(department = "Accounting"))
            .order_by(["salary", "name"]);
        assert_eq!(
            named(db, qs, "same_salary"),
            pairs(&[
                ("Williams", 37000),
                ("Jenson", 90000),
                ("Jones", 90000),
                ("Adams", 50000)
            ])
        );
        // Window functions only inside a window.
        assert_error_contains(
            Employee::objects().annotate([("r", RowNumber())]).all(db),
            "RowNumber() is a window function: use it inside Window::new(...)",
        );
    });
}

/// The names of the rows, in the QuerySet's order.
fn names(db: &Database, qs: QuerySet<Employee>) -> Vec<String> {
    qs.all(db).unwrap().into_iter().map(|e| e.name).collect()
}

fn strings(expected: &[&str]) -> Vec<String> {
    expected.iter().map(|s| s.to_string()).collect()
}

/// The department ranking and age difference of `test_filter` and `test_exclude`.
fn ranked() -> QuerySet<Employee> {
    Employee::objects()
        .annotate([
            (
                "department_salary_rank",
                Expr::from(
                    Window::new(Rank())
                        .partition_by(["department"])
                        .order_by([F("salary").desc()]),
                ),
            ),
            (
                "department_avg_age_diff",
                Expr::from(Window::new(Avg("age")).partition_by(["department"])) - F("age"),
            ),
        ])
        .order_by(["department", "name"])
}

#[test]
fn filter_on_windows() {
    run(&models(), |db| {
        fixture(db);
        // Direct window reference.
        assert_eq!(
            names(db, ranked().filter(q!(department_salary_rank = 1))),
            strings(&["Adams", "Wilkinson", "Miller", "Johnson", "Smith"])
        );
        // The same shape again (the statement cache binds the new value).
        assert_eq!(
            names(db, ranked().filter(q!(department_salary_rank = 2))),
            strings(&["Jenson", "Jones", "Moore", "Johnson", "Smith", "Brown"])
        );
        // Through a combined expression containing a window.
        assert_eq!(
            names(db, ranked().filter(q!(department_avg_age_diff__gt = 0))),
            strings(&["Jenson", "Jones", "Williams", "Miller", "Smith"])
        );
        // Intersection of multiple windows.
        assert_eq!(
            names(
                db,
                ranked().filter(q!(
                    department_salary_rank = 1,
                    department_avg_age_diff__gt = 0
                ))
            ),
            strings(&["Miller"])
        );
        // Union of multiple windows.
        assert_eq!(
            names(
                db,
                ranked()
                    .filter(q!(department_salary_rank = 1) | q!(department_avg_age_diff__gt = 0))
            ),
            strings(&[
                "Adams",
                "Jenson",
                "Jones",
                "Williams",
                "Wilkinson",
                "Miller",
                "Johnson",
                "Smith",
                "Smith",
            ])
        );
        // The filtered rows are counted, and sliced after the filter.
        assert_eq!(
            ranked()
                .filter(q!(department_salary_rank = 1))
                .count(db)
                .unwrap(),
            5
        );
        assert!(ranked()
            .filter(q!(department_salary_rank = 1))
            .exists(db)
            .unwrap());
        assert_eq!(
            names(
                db,
                Employee::objects()
                    .annotate([(
                        "department_salary_rank",
                        Window::new(Rank())
                            .partition_by(["department"])
                            .order_by([F("salary").desc()]),
                    )])
                    .filter(q!(department_salary_rank = 1))
                    .order_by(["department"])
                    .slice(0..3)
            ),
            strings(&["Adams", "Wilkinson", "Miller"])
        );
        // An aggregate over the filtered rows.
        let total = ranked()
            .filter(q!(department_salary_rank = 1))
            .aggregate(db, [("total", Sum("salary"))])
            .unwrap();
        assert_eq!(
            total.get_as::<i64>("total").unwrap(),
            50000 + 60000 + 100000 + 40000 + 55000
        );
    });
}

#[test]
fn exclude_on_windows() {
    run(&models(), |db| {
        fixture(db);
        assert_eq!(
            names(db, ranked().exclude(q!(department_salary_rank__gt = 1))),
            strings(&["Adams", "Wilkinson", "Miller", "Johnson", "Smith"])
        );
        assert_eq!(
            names(db, ranked().exclude(q!(department_avg_age_diff__lte = 0))),
            strings(&["Jenson", "Jones", "Williams", "Miller", "Smith"])
        );
        // Union of multiple windows.
        assert_eq!(
            names(
                db,
                ranked().exclude(
                    q!(department_salary_rank__gt = 1) | q!(department_avg_age_diff__lte = 0)
                )
            ),
            strings(&["Miller"])
        );
        // Intersection of multiple windows.
        assert_eq!(
            names(
                db,
                ranked().exclude(q!(
                    department_salary_rank__gt = 1,
                    department_avg_age_diff__lte = 0
                ))
            ),
            strings(&[
                "Adams",
                "Jenson",
                "Jones",
                "Williams",
                "Wilkinson",
                "Miller",
                "Johnson",
                "Smith",
                "Smith",
            ])
        );
    });
}

#[test]
fn filter_on_windows_through_annotations_values_and_aliases() {
    run(&models(), |db| {
        fixture(db);
        // Conditions over a window, as a Case and as a boolean annotation.
        let qs = Employee::objects()
            .annotate([(
                "rank",
                Window::new(Rank())
                    .partition_by(["department"])
                    .order_by([F("salary").desc()]),
            )])
            .annotate([
                (
                    "case_first_rank",
                    Expr::from(Case([When(q!(rank = 1), true)]).default(false)),
                ),
                ("q_first_rank", Expr::from(q!(rank = 1))),
            ])
            .order_by(["name"]);
        for annotation in ["case_first_rank", "q_first_rank"] {
            assert_eq!(
                names(db, qs.clone().filter(Q::lookup(annotation, true))),
                strings(&["Adams", "Johnson", "Miller", "Smith", "Wilkinson"]),
                "{annotation}"
            );
        }
        // A column on the right-hand side.
        let qs = Employee::objects()
            .annotate([(
                "max_dept_salary",
                Window::new(Max("salary")).partition_by(["department"]),
            )])
            .filter(q!(max_dept_salary = F("salary")))
            .order_by(["name"]);
        assert_eq!(
            names(db, qs),
            strings(&["Adams", "Johnson", "Miller", "Smith", "Wilkinson"])
        );
        // values_list() of an expression, ordered by a column it does not select.
        let got = Employee::objects()
            .annotate([(
                "department_salary_rank",
                Window::new(Rank())
                    .partition_by(["department"])
                    .order_by([F("salary").desc()]),
            )])
            .order_by(["department", "name"])
            .values_list_with(Vec::<String>::new(), [("upper", Upper("name"))])
            .filter(q!(department_salary_rank = 1))
            .all(db)
            .unwrap();
        let got: Vec<Value> = got.into_iter().map(|mut r| r.remove(0)).collect();
        assert_eq!(
            got,
            ["ADAMS", "WILKINSON", "MILLER", "JOHNSON", "SMITH"]
                .map(|s| Value::Text(s.into()))
                .to_vec()
        );
        // An alias, with select_related filled from the same query.
        let qs = Employee::objects()
            .alias([(
                "department_avg_age_diff",
                Expr::from(Window::new(Avg("age")).partition_by(["department"])) - F("age"),
            )])
            .select_related(["classification"])
            .filter(q!(department_avg_age_diff__gt = 0))
            .order_by(["department", "name"]);
        let rows = qs.all(db).unwrap();
        assert_eq!(
            rows.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
            ["Jenson", "Jones", "Williams", "Miller", "Smith"]
        );
        let (_, queries) = capture_queries(|| {
            assert!(rows[0].classification.as_ref().unwrap().get(db).is_ok());
        });
        assert!(queries.is_empty(), "{queries:?}");
    });
}

#[test]
fn filter_on_windows_with_plain_conditions_and_aggregates() {
    run(&models(), |db| {
        fixture(db);
        let qs = || {
            Employee::objects()
                .annotate([(
                    "department_salary_rank",
                    Window::new(Rank())
                        .partition_by(["department"])
                        .order_by([F("salary").desc()]),
                )])
                .order_by(["name"])
        };
        // A condition on a column stays in the inner WHERE; an OR mixing both waits
        // for the windows.
        assert_eq!(
            names(
                db,
                qs().filter(q!(
                    department_salary_rank = 1,
                    department__in = ["Accounting", "Management"]
                ))
            ),
            strings(&["Adams", "Miller"])
        );
        assert_eq!(
            names(
                db,
                qs().filter(
                    q!(department_salary_rank = 1)
                        | q!(department__in = ["Accounting", "Management"])
                )
            ),
            strings(&[
                "Adams",
                "Jenson",
                "Johnson",
                "Johnson",
                "Jones",
                "Miller",
                "Smith",
                "Wilkinson",
                "Williams",
            ])
        );
        // With an aggregate: the HAVING part stays inside, an OR waits.
        let grouped = || qs().annotate([("past_department_count", Count("past_departments"))]);
        assert_eq!(
            names(
                db,
                grouped().filter(q!(
                    department_salary_rank = 1,
                    past_department_count__gte = 1
                ))
            ),
            strings(&["Johnson", "Miller"])
        );
        assert_eq!(
            names(
                db,
                grouped()
                    .filter(q!(department_salary_rank = 1) | q!(past_department_count__gte = 1))
            ),
            strings(&["Adams", "Johnson", "Miller", "Smith", "Wilkinson"])
        );
        // An OR of a window and a plain column over groups is refused, as Django does.
        let msg = "Heterogeneous disjunctive predicates against window functions are not \
                   implemented when performing conditional aggregation.";
        let invalid = Employee::objects().annotate([
            ("window", Expr::from(Window::new(Rank()))),
            ("past_dept_cnt", Count("past_departments").into()),
        ]);
        assert_error_contains(
            invalid
                .clone()
                .filter(q!(window = 1) | q!(department = "Accounting"))
                .all(db),
            msg,
        );
        assert_error_contains(
            invalid
                .exclude(q!(window = 1, department = "Accounting"))
                .all(db),
            msg,
        );
        // A subquery cannot reach a window of the query around it.
        assert_error_contains(
            qs().annotate([(
                "employee_name",
                Subquery(
                    Employee::objects()
                        .filter(q!(age = OuterRef("department_salary_rank")))
                        .values(["name"])
                        .slice(0..1),
                ),
            )])
            .all(db),
            "Referencing outer query window expression is not supported: department_salary_rank.",
        );
    });
}
