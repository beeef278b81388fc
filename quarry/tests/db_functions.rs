//! Ported from Django's `tests/db_functions` (text, math, comparison and datetime
//! functions): the same results on SQLite, PostgreSQL and MariaDB.

mod common;

use common::{assert_error_contains, run};
use quarry::functions::{
    Abs, Cast, Ceil, Concat, Extract, Floor, Greatest, LPad, LTrim, Least, Left, Length, Lower,
    Mod, Now, NullIf, Power, RPad, RTrim, Repeat, Replace, Right, Round, Sqrt, StrIndex, Substr,
    Trim, Trunc, Upper,
};
use quarry::model::FieldKind;
use quarry::prelude::*;
use quarry::ModelMeta;
use std::str::FromStr;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "db_functions")]
pub struct Author {
    pub id: i64,
    #[field(max_length = 50)]
    pub name: String,
    #[field(max_length = 50, blank)]
    pub alias: Option<String>,
    #[field(max_length = 50, blank)]
    pub goes_by: Option<String>,
    #[field(default = 30)]
    pub age: i32,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "db_functions")]
pub struct Numbers {
    pub id: i64,
    #[field(max_digits = 6, decimal_places = 2)]
    pub n1: Decimal,
    #[field(max_digits = 6, decimal_places = 2)]
    pub n2: Decimal,
    pub f1: f64,
    pub f2: f64,
    pub small: i16,
    pub normal: i32,
    pub big: i64,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "db_functions")]
pub struct Article {
    pub id: i64,
    #[field(max_length = 50)]
    pub title: String,
    pub written: DateTime<Utc>,
    pub published: Option<NaiveDate>,
    pub _state: ModelState,
}

fn models() -> Vec<&'static ModelMeta> {
    vec![Author::meta(), Numbers::meta(), Article::meta()]
}

fn author(db: &Database, name: &str, alias: Option<&str>, goes_by: Option<&str>) -> Author {
    Author::objects()
        .create(
            db,
            Author {
                id: 0,
                name: name.into(),
                alias: alias.map(Into::into),
                goes_by: goes_by.map(Into::into),
                age: 30,
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

fn texts(db: &Database, e: impl Into<Expr>) -> Vec<Option<String>> {
    Author::objects()
        .annotate([("x", e.into())])
        .order_by(["name"])
        .values_list_flat("x")
        .all(db)
        .unwrap()
        .into_iter()
        .map(|v| v.get().unwrap())
        .collect()
}

fn ints(db: &Database, e: impl Into<Expr>) -> Vec<Option<i64>> {
    Author::objects()
        .annotate([("x", e.into())])
        .order_by(["name"])
        .values_list_flat("x")
        .all(db)
        .unwrap()
        .into_iter()
        .map(|v| v.get().unwrap())
        .collect()
}

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

#[test]
fn text_functions() {
    run(&models(), |db| {
        author(db, "John Smith", Some("smithj"), None);
        author(db, "Rhonda", None, Some("Rhon"));
        assert_eq!(texts(db, Lower("name")), [s("john smith"), s("rhonda")]);
        assert_eq!(texts(db, Upper("name")), [s("JOHN SMITH"), s("RHONDA")]);
        assert_eq!(ints(db, Length("name")), [Some(10), Some(6)]);
        assert_eq!(ints(db, Length("alias")), [Some(6), None]);
        // Concat: NULL counts as empty text on every backend.
        assert_eq!(
            texts(
                db,
                Concat([
                    "name".into_expr(),
                    Value::from(" (").into_expr(),
                    "goes_by".into_expr(),
                    Value::from(")").into_expr()
                ])
            ),
            [s("John Smith ()"), s("Rhonda (Rhon)")]
        );
        assert_eq!(texts(db, Substr("name", 2, Some(3))), [s("ohn"), s("hon")]);
        assert_eq!(texts(db, Substr("name", 6, None)), [s("Smith"), s("a")]);
        assert_eq!(texts(db, Left("name", 4)), [s("John"), s("Rhon")]);
        assert_eq!(texts(db, Right("name", 3)), [s("ith"), s("nda")]);
        assert_eq!(
            ints(db, StrIndex("name", Value::from("h"))),
            [Some(3), Some(2)]
        );
        assert_eq!(
            ints(db, StrIndex("name", Value::from("z"))),
            [Some(0), Some(0)]
        );
        assert_eq!(
            texts(db, LPad("name", 8, Value::from("xy"))),
            [s("John Smi"), s("xyRhonda")]
        );
        assert_eq!(
            texts(db, RPad("name", 8, Value::from("-"))),
            [s("John Smi"), s("Rhonda--")]
        );
        assert_eq!(
            texts(db, Replace("name", Value::from("o"), Value::from("0"))),
            [s("J0hn Smith"), s("Rh0nda")]
        );
        assert_eq!(texts(db, Repeat("goes_by", 2)), [None, s("RhonRhon")]);
        Author::objects()
            .filter(q!(name = "Rhonda"))
            .update(db, [("alias", Expr::from("  pad  "))])
            .unwrap();
        assert_eq!(texts(db, Trim("alias")), [s("smithj"), s("pad")]);
        assert_eq!(texts(db, LTrim("alias")), [s("smithj"), s("pad  ")]);
        assert_eq!(texts(db, RTrim("alias")), [s("smithj"), s("  pad")]);
        // Functions in filters and orderings.
        let found = Author::objects()
            .annotate([("lower", Lower("name"))])
            .filter(q!(lower = "rhonda"))
            .count(db)
            .unwrap();
        assert_eq!(found, 1);
        let by_length: Vec<String> = Author::objects()
            .order_by([Expr::from(Length("name")).asc()])
            .all(db)
            .unwrap()
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert_eq!(by_length, ["Rhonda", "John Smith"]);
        assert_error_contains(
            Author::objects()
                .annotate([("x", Concat(["name"]))])
                .all(db),
            "Concat must take at least two expressions",
        );
    });
}

fn numbers(db: &Database) {
    for (n1, n2, f1, f2, small, normal, big) in [
        ("-12.90", "0.65", -27.5, 0.33, -3, 7, 30),
        ("12.40", "3.50", 9.75, 2.0, 4, -9, 100),
    ] {
        Numbers::objects()
            .create(
                db,
                Numbers {
                    id: 0,
                    n1: Decimal::from_str(n1).unwrap(),
                    n2: Decimal::from_str(n2).unwrap(),
                    f1,
                    f2,
                    small,
                    normal,
                    big,
                    _state: ModelState::new(),
                },
            )
            .unwrap();
    }
}

fn column(db: &Database, e: impl Into<Expr>) -> Vec<Value> {
    Numbers::objects()
        .annotate([("x", e.into())])
        .order_by(["id"])
        .values_list_flat("x")
        .all(db)
        .unwrap()
}

fn floats(db: &Database, e: impl Into<Expr>) -> Vec<f64> {
    column(db, e)
        .into_iter()
        .map(|v| v.get().unwrap())
        .collect()
}

fn close(got: &[f64], expected: &[f64]) {
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(expected) {
        assert!((g - e).abs() < 1e-9, "{got:?} is not {expected:?}");
    }
}

#[test]
fn math_functions() {
    run(&models(), |db| {
        numbers(db);
        let dec = |v: &str| Value::Decimal(Decimal::from_str(v).unwrap());
        let decs = |e: Expr| -> Vec<Decimal> {
            column(db, e)
                .into_iter()
                .map(|v| v.get().unwrap())
                .collect()
        };
        let d = |v: &str| Decimal::from_str(v).unwrap();
        assert_eq!(decs(Abs("n1").into()), [d("12.90"), d("12.40")]);
        close(&floats(db, Abs("f1")), &[27.5, 9.75]);
        let ints_of = |e: Expr| -> Vec<i64> {
            column(db, e)
                .into_iter()
                .map(|v| v.get().unwrap())
                .collect()
        };
        assert_eq!(ints_of(Abs("small").into()), [3, 4]);
        assert_eq!(ints_of(Abs("normal").into()), [7, 9]);
        close(&floats(db, Ceil("f1")), &[-27.0, 10.0]);
        close(&floats(db, Floor("f1")), &[-28.0, 9.0]);
        assert_eq!(ints_of(Ceil("normal").into()), [7, -9]);
        close(&floats(db, Round("f1", 1)), &[-27.5, 9.8]);
        close(&floats(db, Round("f2", 0)), &[0.0, 2.0]);
        close(&floats(db, Sqrt("big")), &[30f64.sqrt(), 10.0]);
        close(&floats(db, Power("f2", 2)), &[0.1089, 4.0]);
        close(&floats(db, F("normal").pow(2)), &[49.0, 81.0]);
        close(&floats(db, Mod("big", "normal")), &[2.0, 1.0]);
        close(&floats(db, Mod("f1", "f2")), &[-27.5 % 0.33, 9.75 % 2.0]);
        assert_eq!(column(db, Mod("n1", "n2"))[1], dec("1.90"));
        // In a filter.
        let n = Numbers::objects()
            .annotate([("r", Round("f1", 0))])
            .filter(q!(r__gt = 0))
            .count(db)
            .unwrap();
        assert_eq!(n, 1);
    });
}

#[test]
fn comparison_functions_and_cast() {
    run(&models(), |db| {
        numbers(db);
        let ints_of = |e: Expr| -> Vec<Option<i64>> {
            column(db, e)
                .into_iter()
                .map(|v| v.get().unwrap())
                .collect()
        };
        assert_eq!(
            ints_of(Greatest(["small", "normal"]).into()),
            [Some(7), Some(4)]
        );
        assert_eq!(
            ints_of(Least(["small", "normal", "big"]).into()),
            [Some(-3), Some(-9)]
        );
        assert_eq!(
            ints_of(Greatest(["normal".into_expr(), 5.into_expr()]).into()),
            [Some(7), Some(5)]
        );
        assert_eq!(ints_of(NullIf("big", 30).into()), [None, Some(100)]);
        assert_eq!(
            ints_of(Coalesce([NullIf("big", 30).into(), Expr::from(-1)]).into()),
            [Some(-1), Some(100)]
        );
        let cast: Vec<Option<String>> = column(db, Cast("big", FieldKind::CharField))
            .into_iter()
            .map(|v| v.get().unwrap())
            .collect();
        assert_eq!(cast, [s("30"), s("100")]);
        assert_eq!(
            ints_of(Cast("f2", FieldKind::IntegerField).into()),
            [Some(0), Some(2)]
        );
        let floats_cast = floats(db, Cast("normal", FieldKind::FloatField));
        close(&floats_cast, &[7.0, -9.0]);
    });
}

#[test]
fn datetime_functions() {
    run(&models(), |db| {
        let written = NaiveDate::from_ymd_opt(2024, 11, 23)
            .unwrap()
            .and_hms_opt(14, 30, 5)
            .unwrap()
            .and_utc();
        Article::objects()
            .create(
                db,
                Article {
                    id: 0,
                    title: "A".into(),
                    written,
                    published: NaiveDate::from_ymd_opt(2024, 2, 29),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let row = Article::objects()
            .annotate([
                ("year", Extract("written", "year")),
                ("month", Extract("published", "month")),
                ("quarter", Extract("written", "quarter")),
                ("week_day", Extract("written", "week_day")),
                ("hour", Extract("written", "hour")),
            ])
            .values(["year", "month", "quarter", "week_day", "hour"])
            .get(db, q!())
            .unwrap();
        let got: Vec<i64> = ["year", "month", "quarter", "week_day", "hour"]
            .iter()
            .map(|n| row.get_as(n).unwrap())
            .collect();
        // 2024-11-23 is a Saturday: week_day 7 (Sunday is 1), as in Django.
        assert_eq!(got, [2024, 2, 4, 7, 14]);
        let recent = Article::objects()
            .annotate([("now", Now())])
            .filter(q!(written__lt = F("now")))
            .count(db)
            .unwrap();
        assert_eq!(recent, 1);
        assert_error_contains(
            Article::objects()
                .annotate([("x", Extract("written", "fortnight"))])
                .all(db),
            "Extract: 'fortnight' is not a date part",
        );
        // Trunc: a date stays a date, a datetime a datetime.
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let dt = |y, m, day, h, mi, sec| d(y, m, day).and_hms_opt(h, mi, sec).unwrap().and_utc();
        let a = Article::objects()
            .annotate([
                ("y", Trunc("published", "year")),
                ("q", Trunc("published", "quarter")),
                ("m", Trunc("published", "month")),
                ("w", Trunc("published", "week")),
                ("wy", Trunc("written", "year")),
                ("wq", Trunc("written", "quarter")),
                ("ww", Trunc("written", "week")),
                ("wd", Trunc("written", "day")),
                ("wh", Trunc("written", "hour")),
                ("wmin", Trunc("written", "minute")),
                (
                    "wday",
                    Trunc("written", "month").output_field(FieldKind::DateField),
                ),
            ])
            .get(db, q!())
            .unwrap();
        let date_of = |n: &str| a.annotation::<NaiveDate>(n).unwrap();
        let time_of = |n: &str| a.annotation::<DateTime<Utc>>(n).unwrap();
        // 2024-02-29 is a Thursday: its ISO week starts on Monday the 26th.
        assert_eq!(
            [date_of("y"), date_of("q"), date_of("m"), date_of("w")],
            [d(2024, 1, 1), d(2024, 1, 1), d(2024, 2, 1), d(2024, 2, 26)]
        );
        assert_eq!(
            [
                time_of("wy"),
                time_of("wq"),
                time_of("ww"),
                time_of("wd"),
                time_of("wh"),
                time_of("wmin")
            ],
            [
                dt(2024, 1, 1, 0, 0, 0),
                dt(2024, 10, 1, 0, 0, 0),
                dt(2024, 11, 18, 0, 0, 0),
                dt(2024, 11, 23, 0, 0, 0),
                dt(2024, 11, 23, 14, 0, 0),
                dt(2024, 11, 23, 14, 30, 0)
            ]
        );
        assert_eq!(date_of("wday"), d(2024, 11, 1));
        // Grouping by a truncated date.
        let per_month = Article::objects()
            .annotate([("month", Trunc("written", "month"))])
            .values(["month"])
            .annotate([("n", Count("id"))])
            .all(db)
            .unwrap();
        assert_eq!(per_month.len(), 1);
        assert_eq!(per_month[0].get_as::<i64>("n").unwrap(), 1);
        assert_error_contains(
            Article::objects()
                .annotate([("x", Trunc("published", "hour"))])
                .all(db),
            "Cannot truncate DateField to Hour",
        );
    });
}
