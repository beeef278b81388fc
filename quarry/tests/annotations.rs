//! Ported from Django's `tests/annotations` (NonAggregateAnnotationTestCase and
//! AliasTests): annotations of values, fields, joined fields, conditions, functions and
//! subqueries on model and `values()` rows; `alias()`; the errors for misused names.

mod common;

use chrono::Datelike;
use common::{assert_error_contains, run, vendor};
use quarry::functions::{Cast, Coalesce, Extract, Length, Lower};
use quarry::model::FieldKind;
use quarry::prelude::*;
use quarry::sql::Vendor;
use quarry::testing::capture_queries;
use quarry::{Exists, Func, ModelMeta, OuterRef, RawSQL, Subquery};
use std::str::FromStr;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "annotations")]
pub struct Author {
    pub id: i64,
    #[field(max_length = 100)]
    pub name: String,
    pub age: i32,
    #[field(blank)]
    pub friends: ManyToMany<Author>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "annotations")]
pub struct Publisher {
    pub id: i64,
    #[field(max_length = 255)]
    pub name: String,
    pub num_awards: i32,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "annotations")]
pub struct Book {
    pub id: i64,
    #[field(max_length = 9)]
    pub isbn: String,
    #[field(max_length = 255)]
    pub name: String,
    pub pages: i32,
    pub rating: f64,
    #[field(max_digits = 6, decimal_places = 2)]
    pub price: Decimal,
    pub authors: ManyToMany<Author>,
    #[field(on_delete = Cascade, related_name = "book_contact_set")]
    pub contact: ForeignKey<Author>,
    #[field(on_delete = Cascade)]
    pub publisher: ForeignKey<Publisher>,
    pub pubdate: NaiveDate,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "annotations")]
pub struct Store {
    pub id: i64,
    #[field(max_length = 255)]
    pub name: String,
    pub books: ManyToMany<Book>,
    pub original_opening: DateTime<Utc>,
    pub friday_night_closing: NaiveTime,
    #[field(db_column = "surface")]
    pub area: Option<i32>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "annotations")]
pub struct Employee {
    pub id: i64,
    #[field(max_length = 20)]
    pub first_name: String,
    pub manager: bool,
    #[field(max_length = 20)]
    pub last_name: String,
    #[field(on_delete = Cascade)]
    pub store: ForeignKey<Store>,
    pub age: i32,
    #[field(max_digits = 8, decimal_places = 2)]
    pub salary: Decimal,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "annotations")]
pub struct Company {
    pub id: i64,
    #[field(max_length = 200)]
    pub name: String,
    #[field(max_length = 200)]
    pub motto: Option<String>,
    #[field(max_length = 10)]
    pub ticker_name: Option<String>,
    #[field(max_length = 200)]
    pub description: Option<String>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "annotations")]
pub struct Ticket {
    pub id: i64,
    pub active_at: DateTime<Utc>,
    pub duration: TimeDelta,
    pub _state: ModelState,
}

fn models() -> Vec<&'static ModelMeta> {
    vec![
        Author::meta(),
        Publisher::meta(),
        Book::meta(),
        Store::meta(),
        Employee::meta(),
        Company::meta(),
        Ticket::meta(),
    ]
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn author(db: &Database, name: &str, age: i32) -> Author {
    Author::objects()
        .create(
            db,
            Author {
                id: 0,
                name: name.into(),
                age,
                friends: ManyToMany::new(),
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

fn publisher(db: &Database, name: &str, num_awards: i32) -> Publisher {
    Publisher::objects()
        .create(
            db,
            Publisher {
                id: 0,
                name: name.into(),
                num_awards,
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

/// `(isbn, name, pages, rating, price, contact, publisher, pubdate)`.
type BookRow<'a> = (
    &'a str,
    &'a str,
    i32,
    f64,
    &'a str,
    &'a Author,
    &'a Publisher,
    NaiveDate,
);

fn book(db: &Database, row: BookRow) -> Book {
    let (isbn, name, pages, rating, price, contact, publisher, pubdate) = row;
    Book::objects()
        .create(
            db,
            Book {
                id: 0,
                isbn: isbn.into(),
                name: name.into(),
                pages,
                rating,
                price: dec(price),
                authors: ManyToMany::new(),
                contact: ForeignKey::to(contact).unwrap(),
                publisher: ForeignKey::to(publisher).unwrap(),
                pubdate,
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

fn store(db: &Database, name: &str, opening: chrono::NaiveDateTime, closing: (u32, u32)) -> Store {
    Store::objects()
        .create(
            db,
            Store {
                id: 0,
                name: name.into(),
                books: ManyToMany::new(),
                original_opening: opening.and_utc(),
                friday_night_closing: NaiveTime::from_hms_opt(closing.0, closing.1, 0).unwrap(),
                area: None,
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> chrono::NaiveDateTime {
    date(y, mo, d).and_hms_opt(h, mi, s).unwrap()
}

const DJANGO_GUIDE: &str = "The Definitive Guide to Django: Web Development Done Right";
const PRACTICAL: &str = "Practical Django Projects";
const AIMA: &str = "Artificial Intelligence: A Modern Approach";
const PAIP: &str = "Paradigms of Artificial Intelligence Programming: Case Studies in Common Lisp";

/// NonAggregateAnnotationTestCase's `setUpTestData`.
struct Fixture {
    a: Vec<Author>,
    p: Vec<Publisher>,
    b: Vec<Book>,
    s: Vec<Store>,
}

fn fixture(db: &Database) -> Fixture {
    let a: Vec<Author> = [
        ("Adrian Holovaty", 34),
        ("Jacob Kaplan-Moss", 35),
        ("Brad Dayley", 45),
        ("James Bennett", 29),
        ("Jeffrey Forcier", 37),
        ("Paul Bissex", 29),
        ("Wesley J. Chun", 25),
        ("Peter Norvig", 57),
        ("Stuart Russell", 46),
    ]
    .into_iter()
    .map(|(n, age)| author(db, n, age))
    .collect();
    for (i, friends) in [
        (0, vec![1, 3]),
        (1, vec![0, 6]),
        (3, vec![0]),
        (4, vec![5, 6]),
        (5, vec![4, 6]),
        (6, vec![1, 4, 5]),
        (7, vec![8]),
        (8, vec![7]),
    ] {
        let targets: Vec<&Author> = friends.iter().map(|&j| &a[j]).collect();
        a[i].friends().add(db, targets).unwrap();
    }
    let p: Vec<Publisher> = [
        ("Apress", 3),
        ("Sams", 1),
        ("Prentice Hall", 7),
        ("Morgan Kaufmann", 9),
        ("Jonno's House of Books", 0),
    ]
    .into_iter()
    .map(|(n, awards)| publisher(db, n, awards))
    .collect();
    let rows: [BookRow; 6] = [
        (
            "159059725",
            DJANGO_GUIDE,
            447,
            4.5,
            "30.00",
            &a[0],
            &p[0],
            date(2007, 12, 6),
        ),
        (
            "067232959",
            "Sams Teach Yourself Django in 24 Hours",
            528,
            3.0,
            "23.09",
            &a[2],
            &p[1],
            date(2008, 3, 3),
        ),
        (
            "159059996",
            PRACTICAL,
            300,
            4.0,
            "29.69",
            &a[3],
            &p[0],
            date(2008, 6, 23),
        ),
        (
            "013235613",
            "Python Web Development with Django",
            350,
            4.0,
            "29.69",
            &a[4],
            &p[2],
            date(2008, 11, 3),
        ),
        (
            "013790395",
            AIMA,
            1132,
            4.0,
            "82.80",
            &a[7],
            &p[2],
            date(1995, 1, 15),
        ),
        (
            "155860191",
            PAIP,
            946,
            5.0,
            "75.00",
            &a[7],
            &p[3],
            date(1991, 10, 15),
        ),
    ];
    let b: Vec<Book> = rows.into_iter().map(|r| book(db, r)).collect();
    b[0].authors().add(db, [&a[0], &a[1]]).unwrap();
    b[1].authors().add(db, [&a[2]]).unwrap();
    b[2].authors().add(db, [&a[3]]).unwrap();
    b[3].authors().add(db, [&a[4], &a[5], &a[6]]).unwrap();
    b[4].authors().add(db, [&a[7], &a[8]]).unwrap();
    b[5].authors().add(db, [&a[7]]).unwrap();
    let s = vec![
        store(db, "Amazon.com", at(1994, 4, 23, 9, 17, 42), (23, 59)),
        store(db, "Books.com", at(2001, 3, 15, 11, 23, 37), (23, 59)),
        store(
            db,
            "Mamma and Pappa's Books",
            at(1945, 4, 25, 16, 24, 14),
            (21, 30),
        ),
    ];
    s[0].books().add(db, b.iter().collect::<Vec<_>>()).unwrap();
    s[1].books().add(db, [&b[0], &b[2], &b[4], &b[5]]).unwrap();
    s[2].books().add(db, [&b[2], &b[3], &b[5]]).unwrap();
    Fixture { a, p, b, s }
}

fn employee(db: &Database, names: (&str, &str), store: &Store, age: i32, salary: &str) {
    Employee::objects()
        .create(
            db,
            Employee {
                id: 0,
                first_name: names.0.into(),
                manager: false,
                last_name: names.1.into(),
                store: ForeignKey::to(store).unwrap(),
                age,
                salary: dec(salary),
                _state: ModelState::new(),
            },
        )
        .unwrap();
}

fn company(
    db: &Database,
    name: &str,
    motto: Option<&str>,
    ticker: Option<&str>,
    desc: Option<&str>,
) {
    Company::objects()
        .create(
            db,
            Company {
                id: 0,
                name: name.into(),
                motto: motto.map(Into::into),
                ticker_name: ticker.map(Into::into),
                description: desc.map(Into::into),
                _state: ModelState::new(),
            },
        )
        .unwrap();
}

fn one<T: FieldValue>(row: &ValuesRow, name: &str) -> T {
    row.get_as::<T>(name).unwrap()
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

#[test]
fn values_fields_and_joined_fields() {
    run(&models(), |db| {
        let f = fixture(db);
        // test_basic_annotation, test_basic_f_annotation
        let books = Book::objects()
            .annotate([("is_book", Expr::from(1)), ("another_rating", F("rating"))])
            .all(db)
            .unwrap();
        assert_eq!(books.len(), 6);
        for b in &books {
            assert_eq!(b.annotation::<i64>("is_book").unwrap(), 1);
            assert_eq!(b.annotation::<f64>("another_rating").unwrap(), b.rating);
        }
        // test_joined_annotation
        let books = Book::objects()
            .select_related(["publisher"])
            .annotate([("num_awards", F("publisher__num_awards"))])
            .all(db)
            .unwrap();
        for b in &books {
            let awards: i32 = b.annotation("num_awards").unwrap();
            assert_eq!(awards, b.publisher.cached().unwrap().num_awards);
        }
        // test_joined_transformed_annotation
        employee(db, ("John", "Doe"), &f.s[0], 18, "15000");
        employee(db, ("Jane", "Jones"), &f.s[1], 30, "30000");
        employee(db, ("Jo", "Smith"), &f.s[2], 55, "50000");
        let employees = Employee::objects()
            .select_related(["store"])
            .annotate([("store_opened_year", F("store__original_opening__year"))])
            .all(db)
            .unwrap();
        assert_eq!(employees.len(), 3);
        for e in &employees {
            let year: i32 = e.annotation("store_opened_year").unwrap();
            assert_eq!(year, e.store.cached().unwrap().original_opening.year());
        }
        // test_mixed_type_annotation_numbers
        let b = Book::objects()
            .annotate([(
                "combined",
                (F("pages") + F("rating")).output_field(FieldKind::IntegerField),
            )])
            .get(db, q!(isbn = "159059725"))
            .unwrap();
        assert_eq!(b.annotation::<i64>("combined").unwrap(), 451);
        // test_null_annotation, test_boolean_value_annotation
        let b = Book::objects()
            .annotate([
                (
                    "no_value",
                    Expr::from(Value::Null).output_field(FieldKind::IntegerField),
                ),
                ("is_book", Expr::from(true)),
                ("is_pony", Expr::from(false)),
                (
                    "is_none",
                    Expr::from(Value::Null).output_field(FieldKind::BooleanField),
                ),
            ])
            .first(db)
            .unwrap()
            .unwrap();
        assert_eq!(b.annotation::<Option<i64>>("no_value").unwrap(), None);
        assert!(b.annotation::<bool>("is_book").unwrap());
        assert!(!b.annotation::<bool>("is_pony").unwrap());
        assert_eq!(b.annotation::<Option<bool>>("is_none").unwrap(), None);
        // test_order_by_annotation
        let ages: Vec<i32> = Author::objects()
            .annotate([("other_age", F("age"))])
            .order_by(["other_age"])
            .all(db)
            .unwrap()
            .iter()
            .map(|a| a.annotation("other_age").unwrap())
            .collect();
        assert_eq!(ages, [25, 29, 29, 34, 35, 37, 45, 46, 57]);
        // test_annotation_with_m2m
        let books = Book::objects()
            .annotate([("author_age", F("authors__age"))])
            .filter(q!(pk = f.b[0].id))
            .order_by(["author_age"])
            .all(db)
            .unwrap();
        let ages: Vec<i32> = books
            .iter()
            .map(|b| b.annotation("author_age").unwrap())
            .collect();
        assert_eq!(ages, [34, 35]);
        // test_annotation_reverse_m2m
        let names: Vec<String> = Book::objects()
            .annotate([("store_name", F("store__name"))])
            .filter(q!(name = PRACTICAL))
            .order_by(["store_name"])
            .all(db)
            .unwrap()
            .iter()
            .map(|b| b.annotation("store_name").unwrap())
            .collect();
        assert_eq!(
            names,
            ["Amazon.com", "Books.com", "Mamma and Pappa's Books"]
        );
    });
}

#[test]
fn conditions_as_values() {
    run(&models(), |db| {
        fixture(db);
        // test_empty_expression_annotation
        for selected in [
            Expr::from(q!(pk__in = Vec::<i64>::new())),
            Expr::from(q!(pk__in = Book::objects().none())),
        ] {
            let books = Book::objects()
                .annotate([("selected", selected)])
                .all(db)
                .unwrap();
            assert_eq!(books.len(), 6);
            assert!(books
                .iter()
                .all(|b| !b.annotation::<bool>("selected").unwrap()));
        }
        // test_full_expression_annotation, test_full_expression_wrapped_annotation
        for selected in [
            Expr::from(!q!(pk__in = Vec::<i64>::new())),
            Coalesce([
                Expr::from(!q!(pk__in = Vec::<i64>::new())),
                Expr::from(true),
            ])
            .into(),
        ] {
            let books = Book::objects()
                .annotate([("selected", selected)])
                .all(db)
                .unwrap();
            assert_eq!(books.len(), 6);
            assert!(books
                .iter()
                .all(|b| b.annotation::<bool>("selected").unwrap()));
        }
        // test_full_expression_annotation_with_aggregation
        let counts: Vec<i64> = Book::objects()
            .filter(q!(isbn = "159059725"))
            .annotate([
                ("selected", Expr::from(!q!(pk__in = Vec::<i64>::new()))),
                ("rating_count", Count("rating").into()),
            ])
            .all(db)
            .unwrap()
            .iter()
            .map(|b| b.annotation("rating_count").unwrap())
            .collect();
        assert_eq!(counts, [1]);
        // test_aggregate_over_full_expression_annotation
        let sum = Book::objects()
            .annotate([("selected", Expr::from(!q!(pk__in = Vec::<i64>::new())))])
            .aggregate(
                db,
                [(
                    "selected__sum",
                    Sum(Cast("selected", FieldKind::IntegerField)),
                )],
            )
            .unwrap();
        assert_eq!(one::<i64>(&sum, "selected__sum"), 6);
        // test_q_expression_annotation_with_aggregation
        let b = Book::objects()
            .filter(q!(isbn = "159059725"))
            .annotate([
                ("isnull_pubdate", Expr::from(q!(pubdate__isnull = true))),
                ("rating_count", Count("rating").into()),
            ])
            .first(db)
            .unwrap()
            .unwrap();
        assert!(!b.annotation::<bool>("isnull_pubdate").unwrap());
        assert_eq!(b.annotation::<i64>("rating_count").unwrap(), 1);
        // test_grouping_by_q_expression_annotation
        let rows = Author::objects()
            .annotate([("under_40", Expr::from(q!(age__lt = 40)))])
            .values(["under_40"])
            .annotate([("count_id", Count("id"))])
            .values(["under_40", "count_id"])
            .all(db)
            .unwrap();
        let got = sorted(
            rows.iter()
                .map(|r| (one::<bool>(r, "under_40"), one::<i64>(r, "count_id")))
                .collect(),
        );
        assert_eq!(got, [(false, 3), (true, 6)]);
    });
}

#[test]
fn annotations_with_aggregates() {
    run(&models(), |db| {
        let f = fixture(db);
        // test_annotate_with_aggregation
        let books = Book::objects()
            .annotate([
                ("is_book", Expr::from(1)),
                ("rating_count", Count("rating").into()),
            ])
            .all(db)
            .unwrap();
        for b in &books {
            assert_eq!(b.annotation::<i64>("is_book").unwrap(), 1);
            assert_eq!(b.annotation::<i64>("rating_count").unwrap(), 1);
        }
        // test_combined_expression_annotation_with_aggregation
        let b = Book::objects()
            .annotate([
                (
                    "combined",
                    (Expr::from(3) * 4).output_field(FieldKind::IntegerField),
                ),
                ("rating_count", Count("rating").into()),
            ])
            .first(db)
            .unwrap()
            .unwrap();
        assert_eq!(b.annotation::<i64>("combined").unwrap(), 12);
        assert_eq!(b.annotation::<i64>("rating_count").unwrap(), 1);
        // test_combined_f_expression_annotation_with_aggregation
        let b = Book::objects()
            .filter(q!(isbn = "159059725"))
            .annotate([
                (
                    "combined",
                    (F("price") * F("pages")).output_field(FieldKind::FloatField),
                ),
                ("rating_count", Count("rating").into()),
            ])
            .first(db)
            .unwrap()
            .unwrap();
        assert_eq!(b.annotation::<f64>("combined").unwrap(), 13410.0);
        // test_aggregate_over_annotation
        let agg = Author::objects()
            .annotate([("other_age", F("age"))])
            .aggregate(db, [("otherage_sum", Sum("other_age"))])
            .unwrap();
        let plain = Author::objects()
            .aggregate(db, [("age_sum", Sum("age"))])
            .unwrap();
        assert_eq!(
            one::<i64>(&agg, "otherage_sum"),
            one::<i64>(&plain, "age_sum")
        );
        // test_filter_agg_with_double_f
        let books = Book::objects()
            .annotate([("sum_rating", Sum("rating"))])
            .filter(q!(sum_rating = F("sum_rating")))
            .all(db)
            .unwrap();
        assert_eq!(books.len(), 6);
        for b in &books {
            assert_eq!(b.annotation::<f64>("sum_rating").unwrap(), b.rating);
        }
        // test_values_with_pk_annotation
        let rows = Publisher::objects()
            .values(["id", "book__rating"])
            .annotate([("total", Sum("book__rating"))])
            .filter(q!(pk = f.p[0].id))
            .all(db)
            .unwrap();
        assert_eq!(rows.len(), 2);
        for r in &rows {
            assert_eq!(one::<f64>(r, "book__rating"), one::<f64>(r, "total"));
        }
        // test_order_by_aggregate
        let rows = Author::objects()
            .values(["age"])
            .annotate([("age_count", Count("age"))])
            .order_by(["age_count", "age"])
            .all(db)
            .unwrap();
        let got: Vec<(i64, i64)> = rows
            .iter()
            .map(|r| (one(r, "age"), one(r, "age_count")))
            .collect();
        assert_eq!(
            got,
            [
                (25, 1),
                (34, 1),
                (35, 1),
                (37, 1),
                (45, 1),
                (46, 1),
                (57, 1),
                (29, 2)
            ]
        );
        // test_annotate_exists
        assert!(!Author::objects()
            .annotate([("c", Count("id"))])
            .filter(q!(c__gt = 1))
            .exists(db)
            .unwrap());
        // test_annotation_in_f_grouped_by_annotation
        let rows = Publisher::objects()
            .annotate([("multiplier", Expr::from(3))])
            .values(["name"])
            .annotate([(
                "multiplied_value_sum",
                Sum(F("multiplier") * F("num_awards")),
            )])
            .order_by(Vec::<String>::new())
            .all(db)
            .unwrap();
        let got = sorted(
            rows.iter()
                .map(|r| {
                    (
                        one::<String>(r, "name"),
                        one::<i64>(r, "multiplied_value_sum"),
                    )
                })
                .collect(),
        );
        assert_eq!(
            got,
            [
                ("Apress".to_owned(), 9),
                ("Jonno's House of Books".to_owned(), 0),
                ("Morgan Kaufmann".to_owned(), 27),
                ("Prentice Hall".to_owned(), 21),
                ("Sams".to_owned(), 3),
            ]
        );
        // test_annotation_aggregate_with_m2o
        let rows = Author::objects()
            .filter(q!(age__lt = 30))
            .annotate([(
                "max_pages",
                Case([When(q!(book_contact_set__isnull = true), 0)]).default(Max(F("book__pages"))),
            )])
            .values(["name", "max_pages"])
            .all(db)
            .unwrap();
        let got = sorted(
            rows.iter()
                .map(|r| (one::<String>(r, "name"), one::<i64>(r, "max_pages")))
                .collect(),
        );
        assert_eq!(
            got,
            [
                ("James Bennett".to_owned(), 300),
                ("Paul Bissex".to_owned(), 0),
                ("Wesley J. Chun".to_owned(), 0),
            ]
        );
    });
}

#[test]
fn filters_and_values_on_annotations() {
    run(&models(), |db| {
        let f = fixture(db);
        // test_filter_annotation, test_filter_annotation_with_f(+double_f)
        let books = Book::objects()
            .annotate([("is_book", Expr::from(1))])
            .filter(q!(is_book = 1))
            .all(db)
            .unwrap();
        assert_eq!(books.len(), 6);
        let n = Book::objects()
            .annotate([("other_rating", F("rating"))])
            .filter(q!(other_rating = 3.5))
            .count(db)
            .unwrap();
        assert_eq!(n, 0);
        let n = Book::objects()
            .annotate([("other_rating", F("rating"))])
            .filter(q!(other_rating = F("rating")))
            .count(db)
            .unwrap();
        assert_eq!(n, 6);
        // test_filter_wrong_annotation
        let err = Book::objects()
            .annotate([("sum_rating", Sum("rating"))])
            .filter(q!(sum_rating = F("nope")))
            .all(db);
        assert_error_contains(err, "Cannot resolve keyword 'nope' into field of Book.");
        // test_values_wrong_annotation
        let err = Book::objects()
            .annotate([("annotation", Expr::from(1))])
            .values_list(["annotation_typo"])
            .all(db);
        assert_error_contains(
            err,
            "Cannot resolve keyword 'annotation_typo' into field of Book. Choices are: annotation, ",
        );
        // test_filter_decimal_annotation
        let rows = Book::objects()
            .annotate([("new_price", F("price") + 1)])
            .filter(q!(new_price = dec("31")))
            .values_list(["new_price"])
            .all(db)
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(Decimal::from_value(rows[0][0].clone()).unwrap(), dec("31"));
        // test_combined_annotation_commutative
        let get = |e: Expr| {
            Book::objects()
                .annotate([("adjusted_rating", e)])
                .get(db, q!(pk = f.b[0].id))
                .unwrap()
                .annotation::<Option<f64>>("adjusted_rating")
                .unwrap()
        };
        assert_eq!(get(F("rating") + 2), Some(6.5));
        assert_eq!(get(2 + F("rating")), Some(6.5));
        assert_eq!(get(F("rating") + Value::Null), None);
        assert_eq!(get(Expr::from(Value::Null) + F("rating")), None);
        // test_values_annotation
        let qs = Book::objects()
            .values(["rating"])
            .annotate([("other_rating", F("rating") - 1)]);
        let row = qs.get(db, q!(pk = f.b[0].id)).unwrap();
        assert_eq!(
            one::<f64>(&row, "rating") - 1.0,
            one::<f64>(&row, "other_rating")
        );
        let row = qs.get(db, q!(other_rating = 4)).unwrap();
        assert_eq!(one::<f64>(&row, "other_rating"), 4.0);
        let row = qs
            .clone()
            .annotate([("other_isbn", F("isbn"))])
            .get(db, q!(other_rating = 4))
            .unwrap();
        assert_eq!(one::<String>(&row, "other_isbn"), "155860191");
        // values() taking expressions, Django's values(**expressions)
        let rows = Book::objects()
            .filter(q!(pk = f.b[2].id))
            .values_with(["isbn"], [("lower_name", Lower("name"))])
            .all(db)
            .unwrap();
        let names: Vec<&str> = rows[0].iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["isbn", "lower_name"]);
        assert_eq!(
            one::<String>(&rows[0], "lower_name"),
            "practical django projects"
        );
        let rows = Author::objects()
            .values_list_with(Vec::<String>::new(), [("decade", F("age") / 10)])
            .annotate([("n", Count("id"))])
            .order_by(["decade"])
            .all(db)
            .unwrap();
        let got: Vec<(i64, i64)> = rows
            .iter()
            .map(|r| {
                (
                    i64::from_value(r[0].clone()).unwrap(),
                    i64::from_value(r[1].clone()).unwrap(),
                )
            })
            .collect();
        assert_eq!(got, [(2, 3), (3, 3), (4, 2), (5, 1)]);
        // test_update_with_annotation
        Book::objects()
            .annotate([("other_rating", F("rating") - 1)])
            .update(db, [("rating", F("other_rating"))])
            .unwrap();
        let b2 = Book::objects().get(db, q!(pk = f.b[1].id)).unwrap();
        assert_eq!(b2.rating, 2.0);
    });
}

#[test]
fn defer_decimal_and_time_annotations() {
    run(&models(), |db| {
        let f = fixture(db);
        // test_defer_annotation
        let qs = Book::objects()
            .defer(["rating"])
            .annotate([("other_rating", F("rating") - 1)]);
        let (book, queries) = capture_queries(|| qs.get(db, q!(other_rating = 4)).unwrap());
        let rating = Book::meta().fields.iter().position(|f| f.name == "rating");
        assert_eq!(book.state().deferred(), [rating.unwrap()]);
        assert_eq!(queries.len(), 1);
        assert_eq!(book.annotation::<f64>("other_rating").unwrap(), 4.0);
        let err = qs
            .clone()
            .defer(["other_rating"])
            .get(db, q!(other_rating = 4));
        assert_error_contains(err, "Book has no field named 'other_rating'");
        // test_decimal_annotation
        employee(db, ("Max", "Paine"), &f.s[0], 23, "0.01");
        let e = Employee::objects()
            .annotate([("new_salary", F("salary") / 10)])
            .get(db, q!())
            .unwrap();
        assert_eq!(e.annotation::<Decimal>("new_salary").unwrap(), dec("0.001"));
        // test_mixed_type_annotation_date_interval
        let active = at(2015, 3, 20, 14, 0, 0).and_utc();
        Ticket::objects()
            .create(
                db,
                Ticket {
                    id: 0,
                    active_at: active,
                    duration: TimeDelta::hours(1),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let t = Ticket::objects()
            .annotate([(
                "expires",
                (F("active_at") + F("duration")).output_field(FieldKind::DateTimeField),
            )])
            .first(db)
            .unwrap()
            .unwrap();
        assert_eq!(
            t.annotation::<DateTime<Utc>>("expires").unwrap(),
            active + TimeDelta::hours(1)
        );
    });
}

#[test]
fn functions_raw_sql_and_distinct_on() {
    run(&models(), |db| {
        let f = fixture(db);
        // test_custom_functions, test_custom_functions_can_ref_other_functions
        company(db, "Apple", None, Some("APPL"), Some("Beautiful Devices"));
        company(db, "Django Software Foundation", None, None, None);
        company(
            db,
            "Google",
            Some("Do No Evil"),
            Some("GOOG"),
            Some("Internet Company"),
        );
        company(db, "Yahoo", None, None, Some("Internet Company"));
        let companies = Company::objects()
            .annotate([(
                "tagline",
                Func::new(
                    "COALESCE",
                    [
                        F("motto"),
                        F("ticker_name"),
                        F("description"),
                        Expr::from(Value::from("No Tag")),
                    ],
                ),
            )])
            .annotate([("tagline_lower", Func::new("LOWER", [F("tagline")]))])
            .order_by(["name"])
            .all(db)
            .unwrap();
        let got: Vec<(String, String, String)> = companies
            .iter()
            .map(|c| {
                (
                    c.name.clone(),
                    c.annotation("tagline").unwrap(),
                    c.annotation("tagline_lower").unwrap(),
                )
            })
            .collect();
        let expected = [
            ("Apple", "APPL"),
            ("Django Software Foundation", "No Tag"),
            ("Google", "Do No Evil"),
            ("Yahoo", "Internet Company"),
        ];
        for (g, e) in got.iter().zip(expected) {
            assert_eq!((g.0.as_str(), g.1.as_str()), e);
            assert_eq!(g.2, e.1.to_lowercase());
        }
        // test_chaining_transforms (Length of a Trim)
        company(db, " Django Software Foundation  ", None, None, None);
        let rows = Company::objects()
            .filter(q!(name__startswith = " "))
            .values_with(
                ["name"],
                [("length", Length(quarry::functions::Trim("name")))],
            )
            .all(db)
            .unwrap();
        assert_eq!(one::<i64>(&rows[0], "length"), 26);
        // test_raw_sql_with_inherited_field (without the inheritance)
        Store::objects()
            .filter(q!(pk = f.s[0].id))
            .update(db, [("area", 123)])
            .unwrap();
        for (sql, expected) in [("name", "Amazon.com"), ("surface", "123")] {
            let got = Store::objects()
                .filter(q!(pk = f.s[0].id))
                .annotate([(
                    "annotation",
                    RawSQL(sql, Vec::<Value>::new(), FieldKind::TextField),
                )])
                .values_list_flat("annotation")
                .all(db)
                .unwrap();
            let text = match &got[0] {
                Value::Text(t) => t.clone(),
                Value::I64(i) => i.to_string(),
                other => panic!("{other:?}"),
            };
            assert_eq!(text, expected, "{sql}");
        }
        // test_distinct_on_with_annotation
        if vendor(db) == Vendor::Postgres {
            let shop = &f.s[0];
            for name in [
                "Theodore Roosevelt",
                "Eleanor Roosevelt",
                "Franklin Roosevelt",
                "Ned Stark",
                "Catelyn Stark",
            ] {
                let (first, last) = name.split_once(' ').unwrap();
                employee(db, (first, last), shop, 30, "2000");
            }
            let people = Employee::objects()
                .annotate([("name_lower", Lower("last_name"))])
                .distinct_on(["name_lower"])
                .all(db)
                .unwrap();
            let lasts = sorted(people.iter().map(|p| p.last_name.clone()).collect());
            assert_eq!(lasts, ["Roosevelt", "Stark"]);
            let n = Employee::objects()
                .annotate([("test_alias", F("store__name"))])
                .distinct_on(["test_alias"])
                .all(db)
                .unwrap()
                .len();
            assert_eq!(n, 1);
            let lengths = Employee::objects()
                .annotate([("name_len", Length("first_name"))])
                .distinct_on(["name_len"])
                .values_list_flat("name_len")
                .all(db)
                .unwrap();
            let lengths = sorted(
                lengths
                    .into_iter()
                    .map(|v| i64::from_value(v).unwrap())
                    .collect(),
            );
            assert_eq!(lengths, [3, 7, 8]);
        }
    });
}

#[test]
fn subqueries_in_annotations() {
    run(&models(), |db| {
        let f = fixture(db);
        // test_empty_queryset_annotation
        let a = Author::objects()
            .annotate([("empty", Subquery(Author::objects().values(["id"]).none()))])
            .first(db)
            .unwrap()
            .unwrap();
        assert_eq!(a.annotation::<Option<i64>>("empty").unwrap(), None);
        // test_annotation_exists_none_query
        let a = Author::objects()
            .annotate([("exists", Exists(Company::objects().none()))])
            .get(db, q!(pk = f.a[0].id))
            .unwrap();
        assert!(!a.annotation::<bool>("exists").unwrap());
        // test_chaining_annotation_filter_with_m2m
        let rows = Author::objects()
            .filter(q!(name = "Adrian Holovaty", friends__age = 35))
            .annotate([("jacob_name", F("friends__name"))])
            .filter(q!(friends__age = 29))
            .annotate([("james_name", F("friends__name"))])
            .values(["jacob_name", "james_name"])
            .all(db)
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(one::<String>(&rows[0], "jacob_name"), "Jacob Kaplan-Moss");
        assert_eq!(one::<String>(&rows[0], "james_name"), "James Bennett");
        // test_annotation_filter_with_subquery
        let long_books = Book::objects()
            .filter(q!(publisher = OuterRef("pk"), pages__gt = 400))
            .values(["publisher"])
            .annotate([("count", Count("pk"))])
            .values(["count"]);
        let rows = Publisher::objects()
            .annotate([("total_books", Count("book"))])
            .filter(q!(
                total_books = Subquery(long_books).output_field(FieldKind::IntegerField)
            ))
            .values(["name"])
            .all(db)
            .unwrap();
        let names = sorted(rows.iter().map(|r| one::<String>(r, "name")).collect());
        assert_eq!(names, ["Morgan Kaufmann", "Sams"]);
        // test_annotation_and_alias_filter_in_subquery
        let awarded = Publisher::objects()
            .filter(q!(num_awards__gt = 4))
            .annotate([("publisher_annotate", Expr::from(1))])
            .alias([("publisher_alias", Expr::from(1))]);
        let ids = sorted(
            Publisher::objects()
                .filter(q!(pk__in = awarded))
                .all(db)
                .unwrap()
                .iter()
                .map(|p| p.id)
                .collect(),
        );
        assert_eq!(ids, [f.p[2].id, f.p[3].id]);
        // test_annotation_and_alias_filter_related_in_subquery
        let long = Book::objects()
            .filter(q!(pages__gt = 400))
            .annotate([("book_annotate", Expr::from(1))])
            .alias([("book_alias", Expr::from(1))]);
        let rows = Publisher::objects()
            .filter(q!(book__in = long))
            .values(["name"])
            .all(db)
            .unwrap();
        let names = sorted(rows.iter().map(|r| one::<String>(r, "name")).collect());
        assert_eq!(
            names,
            ["Apress", "Morgan Kaufmann", "Prentice Hall", "Sams"]
        );
        // test_annotation_exists_aggregate_values_chaining
        let through = Book::objects().filter(q!(pk = OuterRef("pk"), authors__isnull = false));
        let dates = Book::objects()
            .values(["publisher"])
            .annotate([
                ("has_authors", Exists(through)),
                ("max_pubdate", Max("pubdate").into()),
            ])
            .values_list_flat("max_pubdate")
            .order_by(["max_pubdate"])
            .all(db)
            .unwrap();
        let dates: Vec<NaiveDate> = dates
            .into_iter()
            .map(|v| NaiveDate::from_value(v).unwrap())
            .collect();
        assert_eq!(
            dates,
            [
                date(1991, 10, 15),
                date(2008, 3, 3),
                date(2008, 6, 23),
                date(2008, 11, 3)
            ]
        );
        // test_annotation_subquery_and_aggregate_values_chaining
        let rows = Book::objects()
            .annotate([("pub_year", Extract("pubdate", "year"))])
            .values(["pub_year"])
            .annotate([
                (
                    "top_rating",
                    Subquery(
                        Book::objects()
                            .filter(q!(pubdate__year = OuterRef("pub_year")))
                            .order_by(["-rating"])
                            .values(["rating"])
                            .slice(..1),
                    ),
                ),
                ("total_pages", Sum("pages").into()),
            ])
            .values(["pub_year", "total_pages", "top_rating"])
            .order_by(["pub_year"])
            .all(db)
            .unwrap();
        let got: Vec<(i64, f64, i64)> = rows
            .iter()
            .map(|r| {
                (
                    one(r, "pub_year"),
                    one(r, "top_rating"),
                    one(r, "total_pages"),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (1991, 5.0, 946),
                (1995, 4.0, 1132),
                (2007, 4.5, 447),
                (2008, 4.0, 1178)
            ]
        );
        // test_annotation_subquery_outerref_transform
        let rows = Book::objects()
            .annotate([(
                "top_rating_year",
                Subquery(
                    Book::objects()
                        .filter(q!(pubdate__year = OuterRef("pubdate__year")))
                        .order_by(["-rating"])
                        .values(["rating"])
                        .slice(..1),
                ),
            )])
            .values(["pubdate__year", "top_rating_year"])
            .all(db)
            .unwrap();
        let got = sorted(
            rows.iter()
                .map(|r| {
                    (
                        one::<i64>(r, "pubdate__year"),
                        (one::<f64>(r, "top_rating_year") * 10.0) as i64,
                    )
                })
                .collect(),
        );
        assert_eq!(
            got,
            [
                (1991, 50),
                (1995, 40),
                (2007, 45),
                (2008, 40),
                (2008, 40),
                (2008, 40)
            ]
        );
    });
}

#[test]
fn alias_names_are_checked() {
    run(&models(), |db| {
        fixture(db);
        // test_alias_sql_injection, test_alias_forbidden_chars
        for crafted in [
            "injected_name\" from \"annotations_book\"; --",
            "al\"ias",
            "a'lias",
            "ali`as",
            "alia s",
            "alias\t",
            "ali\nas",
            "alias--",
            "ali/*as",
            "alias*/",
            "alias;",
            "alias[",
            "alias]",
        ] {
            for alias in [false, true] {
                let qs = if alias {
                    Book::objects().alias([(crafted, Expr::from(1))])
                } else {
                    Book::objects().annotate([(crafted, Expr::from(1))])
                };
                let err = qs.all(db);
                assert_error_contains(
                    err,
                    "Column aliases cannot contain whitespace characters, quotation marks, \
                     semicolons, or SQL comments.",
                );
            }
        }
    });
}

/// AliasTests' `setUpTestData`: five authors, one publisher, four books.
fn alias_fixture(db: &Database) -> (Vec<Author>, Vec<Book>) {
    let a: Vec<Author> = [
        ("Adrian Holovaty", 34),
        ("Jacob Kaplan-Moss", 35),
        ("James Bennett", 34),
        ("Peter Norvig", 57),
        ("Stuart Russell", 46),
    ]
    .into_iter()
    .map(|(n, age)| author(db, n, age))
    .collect();
    let p = publisher(db, "Apress", 3);
    let rows: [BookRow; 4] = [
        (
            "159059725",
            DJANGO_GUIDE,
            447,
            4.5,
            "30.00",
            &a[0],
            &p,
            date(2007, 12, 6),
        ),
        (
            "159059996",
            PRACTICAL,
            300,
            4.0,
            "29.69",
            &a[2],
            &p,
            date(2008, 6, 23),
        ),
        (
            "013790395",
            AIMA,
            1132,
            4.0,
            "82.80",
            &a[3],
            &p,
            date(1995, 1, 15),
        ),
        (
            "155860191",
            PAIP,
            946,
            5.0,
            "75.00",
            &a[3],
            &p,
            date(1991, 10, 15),
        ),
    ];
    let b: Vec<Book> = rows.into_iter().map(|r| book(db, r)).collect();
    b[0].authors().add(db, [&a[0], &a[1]]).unwrap();
    b[1].authors().add(db, [&a[2]]).unwrap();
    b[2].authors().add(db, [&a[3], &a[4]]).unwrap();
    b[3].authors().add(db, [&a[3]]).unwrap();
    store(db, "Amazon.com", at(1994, 4, 23, 9, 17, 42), (23, 59));
    store(db, "Books.com", at(2001, 3, 15, 11, 23, 37), (23, 59));
    (a, b)
}

#[test]
fn alias_is_never_selected() {
    run(&models(), |db| {
        let (a, b) = alias_fixture(db);
        let no_annotation =
            |book: &Book, name: &str| book.annotation::<Option<String>>(name).is_err();
        // test_basic_alias
        let first = Book::objects()
            .alias([("is_book", Expr::from(1))])
            .first(db)
            .unwrap()
            .unwrap();
        assert!(no_annotation(&first, "is_book"));
        // test_basic_alias_annotation, test_basic_alias_f_annotation,
        // test_basic_alias_f_transform_annotation, test_alias_annotation_expression
        let books = Book::objects()
            .alias([
                ("is_book_alias", Expr::from(1)),
                ("another_rating_alias", F("rating")),
                ("pubdate_alias", F("pubdate")),
            ])
            .annotate([
                ("is_book", F("is_book_alias")),
                ("another_rating", F("another_rating_alias")),
                ("pubdate_year", F("pubdate_alias__year")),
                (
                    "is_book2",
                    Coalesce(["is_book_alias".into_expr(), 0.into_expr()]).into(),
                ),
            ])
            .all(db)
            .unwrap();
        assert_eq!(books.len(), 4);
        for book in &books {
            assert!(no_annotation(book, "is_book_alias"));
            assert!(no_annotation(book, "another_rating_alias"));
            assert!(no_annotation(book, "pubdate_alias"));
            assert_eq!(book.annotation::<i64>("is_book").unwrap(), 1);
            assert_eq!(book.annotation::<i64>("is_book2").unwrap(), 1);
            assert_eq!(
                book.annotation::<f64>("another_rating").unwrap(),
                book.rating
            );
            assert_eq!(
                book.annotation::<i32>("pubdate_year").unwrap(),
                book.pubdate.year()
            );
        }
        // test_alias_after_annotation, test_overwrite_annotation_with_alias,
        // test_overwrite_alias_with_annotation
        let book = Book::objects()
            .annotate([("is_book", Expr::from(1))])
            .alias([("is_book_alias", F("is_book"))])
            .first(db)
            .unwrap()
            .unwrap();
        assert_eq!(book.annotation::<i64>("is_book").unwrap(), 1);
        assert!(no_annotation(&book, "is_book_alias"));
        let book = Book::objects()
            .annotate([("is_book", Expr::from(1))])
            .alias([("is_book", F("is_book"))])
            .first(db)
            .unwrap()
            .unwrap();
        assert!(no_annotation(&book, "is_book"));
        let book = Book::objects()
            .alias([("is_book", Expr::from(1))])
            .annotate([("is_book", F("is_book"))])
            .first(db)
            .unwrap()
            .unwrap();
        assert_eq!(book.annotation::<i64>("is_book").unwrap(), 1);
        // test_alias_default_alias_expression
        let authors = Author::objects()
            .alias([Sum("book__pages").aliased()])
            .filter(q!(book__pages__sum__gt = 2000))
            .all(db)
            .unwrap();
        assert_eq!(authors.iter().map(|x| x.id).collect::<Vec<_>>(), [a[3].id]);
        assert!(authors[0]
            .annotation::<Option<String>>("book__pages__sum")
            .is_err());
        // test_joined_alias_annotation
        let books = Book::objects()
            .select_related(["publisher"])
            .alias([("num_awards_alias", F("publisher__num_awards"))])
            .annotate([("num_awards", F("num_awards_alias"))])
            .all(db)
            .unwrap();
        for book in &books {
            assert_eq!(book.annotation::<i64>("num_awards").unwrap(), 3);
        }
        // test_alias_annotate_with_aggregation
        let books = Book::objects()
            .alias([
                ("is_book_alias", Expr::from(1)),
                ("rating_count_alias", Count("rating").into()),
            ])
            .annotate([
                ("is_book", F("is_book_alias")),
                ("rating_count", F("rating_count_alias")),
            ])
            .all(db)
            .unwrap();
        for book in &books {
            assert!(no_annotation(book, "rating_count_alias"));
            assert_eq!(book.annotation::<i64>("rating_count").unwrap(), 1);
        }
        // test_filter_alias_with_f, test_filter_alias_with_double_f,
        // test_filter_alias_agg_with_double_f
        let found = Book::objects()
            .alias([("other_rating", F("rating"))])
            .filter(q!(other_rating = 4.5))
            .all(db)
            .unwrap();
        assert_eq!(found.iter().map(|x| x.id).collect::<Vec<_>>(), [b[0].id]);
        let n = Book::objects()
            .alias([("other_rating", F("rating"))])
            .filter(q!(other_rating = F("rating")))
            .count(db)
            .unwrap();
        assert_eq!(n, 4);
        let n = Book::objects()
            .alias([("sum_rating", Sum("rating"))])
            .filter(q!(sum_rating = F("sum_rating")))
            .count(db)
            .unwrap();
        assert_eq!(n, 4);
        // test_order_by_alias, test_order_by_alias_aggregate
        let ages: Vec<i32> = Author::objects()
            .alias([("other_age", F("age"))])
            .order_by(["other_age"])
            .all(db)
            .unwrap()
            .iter()
            .map(|x| x.age)
            .collect();
        assert_eq!(ages, [34, 34, 35, 46, 57]);
        let rows = Author::objects()
            .values(["age"])
            .alias([("age_count", Count("age"))])
            .order_by(["age_count", "age"])
            .all(db)
            .unwrap();
        assert!(rows[0].get("age_count").is_none());
        let ages: Vec<i64> = rows.iter().map(|r| one(r, "age")).collect();
        assert_eq!(ages, [35, 46, 57, 34]);
        // test_update_with_alias
        Book::objects()
            .alias([("other_rating", F("rating") - 1)])
            .update(db, [("rating", F("other_rating"))])
            .unwrap();
        let b1 = Book::objects().get(db, q!(pk = b[0].id)).unwrap();
        assert_eq!(b1.rating, 3.5);
    });
}

#[test]
fn alias_misuse_errors() {
    run(&models(), |db| {
        alias_fixture(db);
        // test_aggregate_alias
        let err = Author::objects()
            .alias([("other_age", F("age"))])
            .aggregate(db, [("otherage_sum", Sum("other_age"))]);
        assert_error_contains(
            err,
            "Cannot aggregate over the 'other_age' alias. Use annotate() to promote it.",
        );
        // test_defer_only_alias
        let qs = Book::objects().alias([("rating_alias", F("rating") - 1)]);
        for err in [
            qs.clone().defer(["rating_alias"]).first(db),
            qs.clone().only(["rating_alias"]).first(db),
        ] {
            assert_error_contains(err, "Book has no field named 'rating_alias'");
        }
        // test_values_alias
        assert_error_contains(
            qs.clone().values(["rating_alias"]).all(db),
            "Cannot select the 'rating_alias' alias. Use annotate() to promote it.",
        );
        assert_error_contains(
            qs.clone().values_list(["rating_alias"]).all(db),
            "Cannot select the 'rating_alias' alias. Use annotate() to promote it.",
        );
        // test_distinct_on_alias
        if vendor(db) == Vendor::Postgres {
            let err = qs.distinct_on(["rating_alias"]).first(db);
            assert_error_contains(
                err,
                "Cannot resolve keyword 'rating_alias' into field of Book.",
            );
        }
    });
}
