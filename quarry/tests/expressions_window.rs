//! Ported from Django's `tests/expressions_window`: window functions and aggregates over
//! windows, partitions, orderings and frames, on the twelve employees of its fixture.

mod common;

use common::{assert_error_contains, run};
use quarry::functions::Extract;
use quarry::prelude::*;
use quarry::query::OrderBy;
use quarry::window::{
    CumeDist, DenseRank, FirstValue, Lag, Lead, NTile, PercentRank, Rank, RowNumber, RowRange,
    ValueRange, Window,
};
use quarry::ModelMeta;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "expressions_window")]
pub struct Employee {
    pub id: i64,
    #[field(max_length = 40)]
    pub name: String,
    pub salary: u32,
    #[field(max_length = 40)]
    pub department: String,
    pub hire_date: NaiveDate,
    pub age: i32,
    pub _state: ModelState,
}

fn models() -> Vec<&'static ModelMeta> {
    vec![Employee::meta()]
}

fn fixture(db: &Database) {
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
        // Window functions only inside a window; no filtering on a window (yet).
        assert_error_contains(
            Employee::objects().annotate([("r", RowNumber())]).all(db),
            "RowNumber() is a window function: use it inside Window::new(...)",
        );
        assert_error_contains(
            Employee::objects()
                .annotate([("r", Window::new(RowNumber()).order_by(["salary"]))])
                .filter(q!(r = 1))
                .all(db),
            "Filtering on the window annotation 'r' is not supported yet.",
        );
    });
}
