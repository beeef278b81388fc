//! Ported from Django's `tests/aggregation` (tests.py, test_filter_argument.py): the
//! fixture of authors, publishers, books and stores, `aggregate()`, `annotate()` on
//! model and `values()` QuerySets, GROUP BY and HAVING, and aggregate options.

mod common;

use common::{assert_error_contains, run};
use quarry::prelude::*;
use quarry::testing::capture_queries;
use quarry::{ModelMeta, OuterRef, Subquery, VarianceSample};
use std::str::FromStr;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "aggregation")]
pub struct Author {
    pub id: i64,
    #[field(max_length = 100)]
    pub name: String,
    pub age: i32,
    #[field(blank)]
    pub friends: ManyToMany<Author>,
    pub rating: Option<f64>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "aggregation")]
pub struct Publisher {
    pub id: i64,
    #[field(max_length = 255)]
    pub name: String,
    pub num_awards: i32,
    pub duration: Option<TimeDelta>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "aggregation")]
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
#[model(app_label = "aggregation")]
pub struct Store {
    pub id: i64,
    #[field(max_length = 255)]
    pub name: String,
    pub books: ManyToMany<Book>,
    pub original_opening: DateTime<Utc>,
    pub friday_night_closing: NaiveTime,
    pub _state: ModelState,
}

fn models() -> Vec<&'static ModelMeta> {
    vec![
        Author::meta(),
        Publisher::meta(),
        Book::meta(),
        Store::meta(),
    ]
}

/// The objects of Django's `setUpTestData`, by their names there.
struct Fixture {
    a: Vec<Author>,
    p: Vec<Publisher>,
    b: Vec<Book>,
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
                rating: None,
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

fn publisher(db: &Database, name: &str, num_awards: i32, days: Option<i64>) -> Publisher {
    Publisher::objects()
        .create(
            db,
            Publisher {
                id: 0,
                name: name.into(),
                num_awards,
                duration: days.map(TimeDelta::days),
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

#[allow(clippy::too_many_arguments)]
fn book(
    db: &Database,
    isbn: &str,
    name: &str,
    pages: i32,
    rating: f64,
    price: &str,
    contact: &Author,
    publisher: &Publisher,
    pubdate: NaiveDate,
) -> Book {
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

fn store(
    db: &Database,
    name: &str,
    opening: (i32, u32, u32, u32, u32, u32),
    closing: (u32, u32, u32),
) -> Store {
    let (y, mo, d, h, mi, s) = opening;
    Store::objects()
        .create(
            db,
            Store {
                id: 0,
                name: name.into(),
                books: ManyToMany::new(),
                original_opening: date(y, mo, d).and_hms_opt(h, mi, s).unwrap().and_utc(),
                friday_night_closing: NaiveTime::from_hms_opt(closing.0, closing.1, closing.2)
                    .unwrap(),
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

const DJANGO_GUIDE: &str = "The Definitive Guide to Django: Web Development Done Right";
const SAMS: &str = "Sams Teach Yourself Django in 24 Hours";
const PRACTICAL: &str = "Practical Django Projects";
const PYTHON_WEB: &str = "Python Web Development with Django";
const AIMA: &str = "Artificial Intelligence: A Modern Approach";
const PAIP: &str = "Paradigms of Artificial Intelligence Programming: Case Studies in Common Lisp";

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
    let friends: [(usize, &[usize]); 8] = [
        (0, &[1, 3]),
        (1, &[0, 6]),
        (3, &[0]),
        (4, &[5, 6]),
        (5, &[4, 6]),
        (6, &[1, 4, 5]),
        (7, &[8]),
        (8, &[7]),
    ];
    for (i, others) in friends {
        let others: Vec<&Author> = others.iter().map(|&j| &a[j]).collect();
        a[i].friends().add(db, others).unwrap();
    }
    let p = vec![
        publisher(db, "Apress", 3, Some(1)),
        publisher(db, "Sams", 1, Some(2)),
        publisher(db, "Prentice Hall", 7, None),
        publisher(db, "Morgan Kaufmann", 9, None),
        publisher(db, "Jonno's House of Books", 0, None),
    ];
    let b = vec![
        book(
            db,
            "159059725",
            DJANGO_GUIDE,
            447,
            4.5,
            "30.00",
            &a[0],
            &p[0],
            date(2007, 12, 6),
        ),
        book(
            db,
            "067232959",
            SAMS,
            528,
            3.0,
            "23.09",
            &a[2],
            &p[1],
            date(2008, 3, 3),
        ),
        book(
            db,
            "159059996",
            PRACTICAL,
            300,
            4.0,
            "29.69",
            &a[3],
            &p[0],
            date(2008, 6, 23),
        ),
        book(
            db,
            "013235613",
            PYTHON_WEB,
            350,
            4.0,
            "29.69",
            &a[4],
            &p[2],
            date(2008, 11, 3),
        ),
        book(
            db,
            "013790395",
            AIMA,
            1132,
            4.0,
            "82.80",
            &a[7],
            &p[2],
            date(1995, 1, 15),
        ),
        book(
            db,
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
    let authors: [&[usize]; 6] = [&[0, 1], &[2], &[3], &[4, 5, 6], &[7, 8], &[7]];
    for (bi, ai) in authors.into_iter().enumerate() {
        let list: Vec<&Author> = ai.iter().map(|&j| &a[j]).collect();
        b[bi].authors().add(db, list).unwrap();
    }
    let s1 = store(db, "Amazon.com", (1994, 4, 23, 9, 17, 42), (23, 59, 59));
    let s2 = store(db, "Books.com", (2001, 3, 15, 11, 23, 37), (23, 59, 59));
    let s3 = store(
        db,
        "Mamma and Pappa's Books",
        (1945, 4, 25, 16, 24, 14),
        (21, 30, 0),
    );
    s1.books().add(db, b.iter().collect::<Vec<_>>()).unwrap();
    s2.books().add(db, [&b[0], &b[2], &b[4], &b[5]]).unwrap();
    s3.books().add(db, [&b[2], &b[3], &b[5]]).unwrap();
    Fixture { a, p, b }
}

/// Django's `Approximate(expected, places)`.
fn approx(got: f64, expected: f64, places: i32) {
    let scale = 10f64.powi(places);
    assert_eq!(
        (got * scale).round(),
        (expected * scale).round(),
        "{got} is not {expected} to {places} places"
    );
}

fn one<T: FieldValue>(row: &ValuesRow, name: &str) -> T {
    row.get_as::<T>(name).unwrap()
}

#[test]
fn single_and_multiple_aggregates() {
    run(&models(), |db| {
        fixture(db);
        let vals = Author::objects()
            .aggregate(db, [Avg("age").aliased()])
            .unwrap();
        approx(one(&vals, "age__avg"), 37.4, 1);
        let vals = Author::objects()
            .aggregate(db, [Sum("age").aliased(), Avg("age").aliased()])
            .unwrap();
        assert_eq!(one::<i64>(&vals, "age__sum"), 337);
        approx(one(&vals, "age__avg"), 37.4, 1);
        let vals = Author::objects()
            .filter(q!(age__gt = 29))
            .aggregate(db, [Sum("age").aliased()])
            .unwrap();
        assert_eq!(one::<i64>(&vals, "age__sum"), 254);
    });
}

#[test]
fn related_aggregate() {
    run(&models(), |db| {
        fixture(db);
        let vals = Author::objects()
            .aggregate(db, [Avg("friends__age").aliased()])
            .unwrap();
        approx(one(&vals, "friends__age__avg"), 34.07, 2);
        let vals = Book::objects()
            .filter(q!(rating__lt = 4.5))
            .aggregate(db, [Avg("authors__age").aliased()])
            .unwrap();
        approx(one(&vals, "authors__age__avg"), 38.2857, 2);
        let vals = Author::objects()
            .filter(q!(name__contains = "a"))
            .aggregate(db, [Avg("book__rating").aliased()])
            .unwrap();
        approx(one(&vals, "book__rating__avg"), 4.0, 6);
        let vals = Book::objects()
            .aggregate(db, [Sum("publisher__num_awards").aliased()])
            .unwrap();
        assert_eq!(one::<i64>(&vals, "publisher__num_awards__sum"), 30);
        let vals = Publisher::objects()
            .aggregate(db, [Sum("book__price").aliased()])
            .unwrap();
        assert_eq!(one::<Decimal>(&vals, "book__price__sum"), dec("270.27"));
    });
}

#[test]
fn aggregate_multi_join_alias_and_transforms() {
    run(&models(), |db| {
        fixture(db);
        let vals = Store::objects()
            .aggregate(db, [Max("books__authors__age").aliased()])
            .unwrap();
        assert_eq!(one::<i64>(&vals, "books__authors__age__max"), 57);
        let vals = Author::objects()
            .aggregate(db, [Min("book__publisher__num_awards").aliased()])
            .unwrap();
        assert_eq!(one::<i64>(&vals, "book__publisher__num_awards__min"), 1);
        let vals = Store::objects()
            .filter(q!(name = "Amazon.com"))
            .aggregate(db, [("amazon_mean", Avg("books__rating"))])
            .unwrap();
        approx(one(&vals, "amazon_mean"), 4.08, 2);
        let vals = Store::objects()
            .aggregate(db, [("min_month", Min("original_opening__month"))])
            .unwrap();
        assert_eq!(one::<i64>(&vals, "min_month"), 3);
        let vals = Publisher::objects()
            .aggregate(db, [("min_year", Min("book__pubdate__year"))])
            .unwrap();
        assert_eq!(one::<i64>(&vals, "min_year"), 1991);
    });
}

#[test]
fn annotate_basic_and_m2m() {
    run(&models(), |db| {
        let f = fixture(db);
        let books = Book::objects().annotate([("mean_age", Avg("authors__age"))]);
        let b = books.get(db, q!(pk = f.b[0].id)).unwrap();
        assert_eq!(b.name, DJANGO_GUIDE);
        assert_eq!(b.annotation::<f64>("mean_age").unwrap(), 34.5);

        let books = Book::objects()
            .filter(q!(rating__lt = 4.5))
            .annotate([Avg("authors__age").aliased()])
            .order_by(["name"])
            .all(db)
            .unwrap();
        let got: Vec<(&str, f64)> = books
            .iter()
            .map(|b| (b.name.as_str(), b.annotation("authors__age__avg").unwrap()))
            .collect();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0], (AIMA, 51.5));
        assert_eq!(got[1], (PRACTICAL, 29.0));
        assert_eq!(got[2].0, PYTHON_WEB);
        approx(got[2].1, 30.3, 1);
        assert_eq!(got[3], (SAMS, 45.0));

        let books = Book::objects()
            .annotate([("num_authors", Count("authors"))])
            .order_by(["name"])
            .all(db)
            .unwrap();
        let got: Vec<(&str, i64)> = books
            .iter()
            .map(|b| (b.name.as_str(), b.annotation("num_authors").unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                (AIMA, 2),
                (PAIP, 1),
                (PRACTICAL, 1),
                (PYTHON_WEB, 3),
                (SAMS, 1),
                (DJANGO_GUIDE, 2)
            ]
        );
    });
}

#[test]
fn backwards_m2m_and_reverse_fkey_annotate() {
    run(&models(), |db| {
        fixture(db);
        let authors = Author::objects()
            .filter(q!(name__contains = "a"))
            .annotate([Avg("book__rating").aliased()])
            .order_by(["name"])
            .all(db)
            .unwrap();
        let got: Vec<(&str, f64)> = authors
            .iter()
            .map(|a| (a.name.as_str(), a.annotation("book__rating__avg").unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                ("Adrian Holovaty", 4.5),
                ("Brad Dayley", 3.0),
                ("Jacob Kaplan-Moss", 4.5),
                ("James Bennett", 4.0),
                ("Paul Bissex", 4.0),
                ("Stuart Russell", 4.0)
            ]
        );
        let authors = Author::objects()
            .annotate([("num_books", Count("book"))])
            .order_by(["name"])
            .all(db)
            .unwrap();
        let counts: Vec<i64> = authors
            .iter()
            .map(|a| a.annotation("num_books").unwrap())
            .collect();
        assert_eq!(counts, [1, 1, 1, 1, 1, 1, 2, 1, 1]);

        let books = Book::objects()
            .annotate([Sum("publisher__num_awards").aliased()])
            .order_by(["name"])
            .all(db)
            .unwrap();
        let sums: Vec<i64> = books
            .iter()
            .map(|b| b.annotation("publisher__num_awards__sum").unwrap())
            .collect();
        assert_eq!(sums, [7, 9, 3, 7, 1, 3]);

        let publishers = Publisher::objects()
            .annotate([Sum("book__price").aliased()])
            .order_by(["name"])
            .all(db)
            .unwrap();
        let sums: Vec<Option<Decimal>> = publishers
            .iter()
            .map(|p| p.annotation("book__price__sum").unwrap())
            .collect();
        assert_eq!(
            sums,
            [
                Some(dec("59.69")),
                None,
                Some(dec("75.00")),
                Some(dec("112.49")),
                Some(dec("23.09"))
            ]
        );
    });
}

#[test]
fn annotate_values() {
    run(&models(), |db| {
        let f = fixture(db);
        let rows = Book::objects()
            .filter(q!(pk = f.b[0].id))
            .annotate([("mean_age", Avg("authors__age"))])
            .values(Vec::<String>::new())
            .all(db)
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(one::<String>(&rows[0], "isbn"), "159059725");
        assert_eq!(one::<f64>(&rows[0], "mean_age"), 34.5);
        assert_eq!(one::<i64>(&rows[0], "pages"), 447);

        let rows = Book::objects()
            .filter(q!(pk = f.b[0].id))
            .annotate([("mean_age", Avg("authors__age"))])
            .values(["pk", "isbn", "mean_age"])
            .all(db)
            .unwrap();
        let names: Vec<&str> = rows[0].iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["pk", "isbn", "mean_age"]);
        assert_eq!(one::<i64>(&rows[0], "pk"), f.b[0].id);
        assert_eq!(one::<f64>(&rows[0], "mean_age"), 34.5);

        let rows = Book::objects()
            .filter(q!(pk = f.b[0].id))
            .annotate([("mean_age", Avg("authors__age"))])
            .values(["name"])
            .all(db)
            .unwrap();
        assert_eq!(rows[0].iter().count(), 1);
        assert_eq!(one::<String>(&rows[0], "name"), DJANGO_GUIDE);

        let rows = Book::objects()
            .filter(q!(pk = f.b[0].id))
            .values(Vec::<String>::new())
            .annotate([("mean_age", Avg("authors__age"))])
            .all(db)
            .unwrap();
        assert_eq!(one::<f64>(&rows[0], "mean_age"), 34.5);
        assert_eq!(one::<String>(&rows[0], "isbn"), "159059725");

        let rows = Book::objects()
            .values(["rating"])
            .annotate([
                ("n_authors", Count("authors__id")),
                ("mean_age", Avg("authors__age")),
            ])
            .order_by(["rating"])
            .all(db)
            .unwrap();
        let got: Vec<(f64, i64)> = rows
            .iter()
            .map(|r| (one(r, "rating"), one(r, "n_authors")))
            .collect();
        assert_eq!(got, [(3.0, 1), (4.0, 6), (4.5, 2), (5.0, 1)]);
        approx(one(&rows[1], "mean_age"), 37.16, 1);
        assert_eq!(one::<f64>(&rows[3], "mean_age"), 57.0);

        let authors = Author::objects()
            .annotate([Avg("friends__age").aliased()])
            .order_by(["name"])
            .all(db)
            .unwrap();
        let avgs: Vec<Option<f64>> = authors
            .iter()
            .map(|a| a.annotation("friends__age__avg").unwrap())
            .collect();
        assert_eq!(
            avgs[..8],
            [
                Some(32.0),
                None,
                Some(29.5),
                Some(34.0),
                Some(27.0),
                Some(31.0),
                Some(46.0),
                Some(57.0)
            ]
        );
        approx(avgs[8].unwrap(), 33.66, 1);
    });
}

#[test]
fn count_star_distinct_and_case() {
    run(&models(), |db| {
        fixture(db);
        let vals = Book::objects()
            .aggregate(db, [Count("rating").aliased()])
            .unwrap();
        assert_eq!(one::<i64>(&vals, "rating__count"), 6);
        let (vals, queries) =
            capture_queries(|| Book::objects().aggregate(db, [("n", Count("*"))]));
        assert_eq!(one::<i64>(&vals.unwrap(), "n"), 6);
        assert_eq!(queries.len(), 1);
        assert!(queries[0].contains("SELECT COUNT(*) "), "{}", queries[0]);

        let vals = Book::objects()
            .aggregate(
                db,
                [(
                    "distinct_ratings",
                    Count(Case([When(q!(pages__gt = 300), "rating")])).distinct(),
                )],
            )
            .unwrap();
        assert_eq!(one::<i64>(&vals, "distinct_ratings"), 4);

        let vals = Book::objects()
            .aggregate(
                db,
                [
                    ("avg", Avg("rating").distinct()),
                    ("count", Count("rating").distinct()),
                    ("sum", Sum("rating").distinct()),
                ],
            )
            .unwrap();
        assert_eq!(one::<f64>(&vals, "avg"), 4.125);
        assert_eq!(one::<i64>(&vals, "count"), 4);
        assert_eq!(one::<f64>(&vals, "sum"), 16.5);
    });
}

#[test]
fn grouped_annotations_and_group_by() {
    run(&models(), |db| {
        fixture(db);
        // An annotation left out of values() before the aggregate is not grouped by.
        let rows = Book::objects()
            .annotate([("xprice", F("price"))])
            .filter(q!(rating = 4.0))
            .values(["rating"])
            .annotate([("count", Count("publisher_id").distinct())])
            .values(["count", "rating"])
            .order_by(["count"])
            .all(db)
            .unwrap();
        let got: Vec<(f64, i64)> = rows
            .iter()
            .map(|r| (one(r, "rating"), one(r, "count")))
            .collect();
        assert_eq!(got, [(4.0, 2)]);
        // One named in values() is.
        let rows = Book::objects()
            .annotate([("xprice", F("price"))])
            .filter(q!(rating = 4.0))
            .values(["rating", "xprice"])
            .annotate([("count", Count("publisher_id").distinct())])
            .values(["count", "rating"])
            .order_by(["count"])
            .all(db)
            .unwrap();
        let got: Vec<(f64, i64)> = rows
            .iter()
            .map(|r| (one(r, "rating"), one(r, "count")))
            .collect();
        assert_eq!(got, [(4.0, 1), (4.0, 2)]);

        let rows = Book::objects()
            .values(["rating"])
            .annotate([("oldest", Max("authors__age"))])
            .order_by(["oldest", "rating"])
            .all(db)
            .unwrap();
        let got: Vec<(f64, i64)> = rows
            .iter()
            .map(|r| (one(r, "rating"), one(r, "oldest")))
            .collect();
        assert_eq!(got, [(4.5, 35), (3.0, 45), (4.0, 57), (5.0, 57)]);
        let rows = Book::objects()
            .values(["rating"])
            .annotate([("oldest", Max("authors__age"))])
            .order_by(["-oldest", "-rating"])
            .all(db)
            .unwrap();
        let got: Vec<(f64, i64)> = rows
            .iter()
            .map(|r| (one(r, "rating"), one(r, "oldest")))
            .collect();
        assert_eq!(got, [(5.0, 57), (4.0, 57), (3.0, 45), (4.5, 35)]);
    });
}

#[test]
fn aggregate_over_annotation_and_distinct() {
    run(&models(), |db| {
        let f = fixture(db);
        let vals = Book::objects()
            .annotate([("num_authors", Count("authors__id"))])
            .aggregate(db, [Avg("num_authors").aliased()])
            .unwrap();
        approx(one(&vals, "num_authors__avg"), 1.66, 1);

        let authors = Author::objects().filter(q!(book__in = vec![f.b[4].id, f.b[5].id]));
        assert_eq!(authors.count(db).unwrap(), 3);
        let distinct = authors.clone().distinct();
        assert_eq!(distinct.count(db).unwrap(), 2);
        let vals = distinct.aggregate(db, [Sum("age").aliased()]).unwrap();
        assert_eq!(one::<i64>(&vals, "age__sum"), 103);

        // An aggregate inside an aggregate is refused with the names involved.
        assert_error_contains(
            Book::objects()
                .annotate([("num_authors", Count("authors__id"))])
                .annotate([("x", Sum("num_authors"))])
                .all(db),
            "'num_authors' is an aggregate",
        );
    });
}

#[test]
fn duration_aggregates() {
    run(&models(), |db| {
        fixture(db);
        let vals = Publisher::objects()
            .aggregate(
                db,
                [Sum("duration")
                    .output_field(quarry::model::FieldKind::DurationField)
                    .aliased()],
            )
            .unwrap();
        assert_eq!(one::<TimeDelta>(&vals, "duration__sum"), TimeDelta::days(3));
        let vals = Publisher::objects()
            .aggregate(db, [Avg("duration").aliased()])
            .unwrap();
        assert_eq!(
            one::<TimeDelta>(&vals, "duration__avg"),
            TimeDelta::days(1) + TimeDelta::hours(12)
        );
    });
}

fn names<M: Model>(objs: &[M], name: impl Fn(&M) -> &str) -> Vec<String> {
    objs.iter().map(|o| name(o).to_owned()).collect()
}

#[test]
fn filtering_on_annotations() {
    run(&models(), |db| {
        let f = fixture(db);
        let p = publisher(db, "Expensive Publisher", 0, None);
        for (isbn, name, rating, price, day) in [
            ("111", "ExpensiveBook1", 3.5, "1000", 1),
            ("222", "ExpensiveBook2", 4.0, "1000", 2),
            ("333", "ExpensiveBook3", 4.5, "35", 3),
        ] {
            book(
                db,
                isbn,
                name,
                1,
                rating,
                price,
                &f.a[0],
                &p,
                date(2008, 12, day),
            );
        }
        let pub_names = |qs: QuerySet<Publisher>| names(&qs.all(db).unwrap(), |p| &p.name);
        assert_eq!(
            pub_names(
                Publisher::objects()
                    .annotate([("num_books", Count("book__id"))])
                    .filter(q!(num_books__gt = 1))
                    .order_by(["pk"])
            ),
            ["Apress", "Prentice Hall", "Expensive Publisher"]
        );
        assert_eq!(
            pub_names(
                Publisher::objects()
                    .filter(q!(book__price__lt = dec("40.0")))
                    .order_by(["pk"])
            ),
            [
                "Apress",
                "Apress",
                "Sams",
                "Prentice Hall",
                "Expensive Publisher"
            ]
        );
        // A having condition and a where condition in one filter() call; the where
        // condition joins anew, since the annotation came first.
        assert_eq!(
            pub_names(
                Publisher::objects()
                    .annotate([("num_books", Count("book__id"))])
                    .filter(q!(num_books__gt = 1, book__price__lt = dec("40.0")))
                    .order_by(["pk"])
            ),
            ["Apress", "Prentice Hall", "Expensive Publisher"]
        );
        // The filter first: the annotation counts the books it kept.
        assert_eq!(
            pub_names(
                Publisher::objects()
                    .filter(q!(book__price__lt = dec("40.0")))
                    .annotate([("num_books", Count("book__id"))])
                    .filter(q!(num_books__gt = 1))
                    .order_by(["pk"])
            ),
            ["Apress"]
        );
        assert_eq!(
            pub_names(
                Publisher::objects()
                    .annotate([("num_books", Count("book"))])
                    .filter(q!(num_books__range = vec![1, 3]))
                    .order_by(["pk"])
            ),
            [
                "Apress",
                "Sams",
                "Prentice Hall",
                "Morgan Kaufmann",
                "Expensive Publisher"
            ]
        );
        assert_eq!(
            pub_names(
                Publisher::objects()
                    .annotate([("num_books", Count("book"))])
                    .filter(q!(num_books__range = vec![1, 2]))
                    .order_by(["pk"])
            ),
            ["Apress", "Sams", "Prentice Hall", "Morgan Kaufmann"]
        );
        assert_eq!(
            pub_names(
                Publisher::objects()
                    .annotate([("num_books", Count("book"))])
                    .filter(q!(num_books__in = vec![1, 3]))
                    .order_by(["pk"])
            ),
            ["Sams", "Morgan Kaufmann", "Expensive Publisher"]
        );
        let none = Publisher::objects()
            .annotate([("num_books", Count("book"))])
            .filter(q!(num_books__isnull = true));
        assert_eq!(none.all(db).unwrap().len(), 0);
        assert_eq!(none.count(db).unwrap(), 0);
    });
}

#[test]
fn annotation_filters() {
    run(&models(), |db| {
        let f = fixture(db);
        let vals = Author::objects()
            .filter(q!(pk = f.a[0].id))
            .aggregate(db, [Count("friends__id").aliased()])
            .unwrap();
        assert_eq!(one::<i64>(&vals, "friends__id__count"), 2);
        let books = Book::objects()
            .annotate([("num_authors", Count("authors__name"))])
            .filter(q!(num_authors__exact = 2))
            .order_by(["pk"])
            .all(db)
            .unwrap();
        assert_eq!(names(&books, |b| &b.name), [DJANGO_GUIDE, AIMA]);
        let authors = Author::objects()
            .annotate([("num_friends", Count("friends__id").distinct())])
            .filter(q!(num_friends = 0))
            .order_by(["pk"])
            .all(db)
            .unwrap();
        assert_eq!(names(&authors, |a| &a.name), ["Brad Dayley"]);
        let books = Book::objects()
            .annotate([("num_authors", Count("authors__id"))])
            .filter(q!(authors__name__contains = "Norvig", num_authors__gt = 1))
            .all(db)
            .unwrap();
        assert_eq!(names(&books, |b| &b.name), [AIMA]);

        // test_more_aggregation
        f.b[0].authors().add(db, [&f.a[7]]).unwrap();
        let vals = Book::objects()
            .annotate([("num_authors", Count("authors__id"))])
            .filter(q!(authors__name__contains = "Norvig", num_authors__gt = 1))
            .aggregate(db, [Avg("rating").aliased()])
            .unwrap();
        assert_eq!(one::<f64>(&vals, "rating__avg"), 4.25);
    });
}

#[test]
fn exclude_and_order_by_annotation_then_values() {
    run(&models(), |db| {
        let f = fixture(db);
        let rows = Publisher::objects()
            .annotate([("earliest_book", Min("book__pubdate"))])
            .exclude(q!(earliest_book = Value::Null))
            .order_by(["earliest_book"])
            .values(["earliest_book", "num_awards", "id", "name"])
            .all(db)
            .unwrap();
        let got: Vec<(NaiveDate, i64, i64, String)> = rows
            .iter()
            .map(|r| {
                (
                    one(r, "earliest_book"),
                    one(r, "num_awards"),
                    one(r, "id"),
                    one(r, "name"),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    date(1991, 10, 15),
                    9,
                    f.p[3].id,
                    "Morgan Kaufmann".to_owned()
                ),
                (date(1995, 1, 15), 7, f.p[2].id, "Prentice Hall".to_owned()),
                (date(2007, 12, 6), 3, f.p[0].id, "Apress".to_owned()),
                (date(2008, 3, 3), 1, f.p[1].id, "Sams".to_owned()),
            ]
        );
    });
}

#[test]
fn aggregate_filter_argument() {
    // test_filter_argument.py
    run(&models(), |db| {
        fixture(db);
        let vals = Author::objects()
            .aggregate(
                db,
                [
                    ("age", Expr::from(Sum("age").filter(q!(age__gt = 29)))),
                    ("cnt", Count("pk").filter(q!(age__gt = 29)).into()),
                    ("double", Sum("age").filter(q!(age__gt = 29)) * 2),
                ],
            )
            .unwrap();
        assert_eq!(one::<i64>(&vals, "age"), 254);
        assert_eq!(one::<i64>(&vals, "cnt"), 6);
        assert_eq!(one::<i64>(&vals, "double"), 508);
        let vals = Author::objects()
            .aggregate(
                db,
                [("age", Sum("age").filter(q!(age__gt = 100)).default(0))],
            )
            .unwrap();
        assert_eq!(one::<i64>(&vals, "age"), 0);
        let authors = Author::objects()
            .annotate([(
                "older_friends_count",
                Count("friends").filter(q!(friends__age__gt = F("age"))),
            )])
            .filter(q!(older_friends_count__gte = 2))
            .order_by(["name"])
            .all(db)
            .unwrap();
        assert_eq!(names(&authors, |a| &a.name), ["Wesley J. Chun"]);
        assert_error_contains(
            Author::objects().aggregate(db, [("n", Count("*").filter(q!(age__gt = 29)))]),
            "Star cannot be used with filter. Please specify a field.",
        );
    });
}

#[test]
fn aggregate_filter_over_annotated_rows() {
    // test_filter_argument.py: test_filtered_aggregate_ref_annotation,
    // test_filtered_aggregate_on_annotate, test_filtered_aggregate_ref_subquery_annotation
    run(&models(), |db| {
        fixture(db);
        let vals = Author::objects()
            .annotate([("double_age", F("age") * 2)])
            .aggregate(db, [("cnt", Count("pk").filter(q!(double_age__gt = 100)))])
            .unwrap();
        assert_eq!(one::<i64>(&vals, "cnt"), 1);
        let annotated = Author::objects().annotate([(
            "total_pages",
            Sum("book__pages").filter(q!(book__rating__gt = 3)),
        )]);
        let expected: i64 = annotated
            .all(db)
            .unwrap()
            .iter()
            .filter(|a| a.annotation::<Option<i64>>("total_pages").unwrap() >= Some(400))
            .map(|a| i64::from(a.age))
            .sum();
        let vals = annotated
            .aggregate(
                db,
                [("summed_age", Sum("age").filter(q!(total_pages__gte = 400)))],
            )
            .unwrap();
        assert_eq!(one::<i64>(&vals, "summed_age"), expected);
        let earliest = Author::objects().annotate([(
            "earliest_book_year",
            Subquery(
                Book::objects()
                    .filter(q!(contact__pk = OuterRef("pk")))
                    .order_by(["pubdate"])
                    .values(["pubdate__year"])
                    .slice(..1),
            ),
        )]);
        let vals = earliest
            .aggregate(
                db,
                [("cnt", Count("pk").filter(q!(earliest_book_year = 2008)))],
            )
            .unwrap();
        assert_eq!(one::<i64>(&vals, "cnt"), 3);
        // Over a values() grouping: the filter sees the grouped rows.
        let vals = Book::objects()
            .values(["publisher"])
            .annotate([("n", Count("id"))])
            .aggregate(db, [("groups", Count("publisher").filter(q!(n__gt = 1)))])
            .unwrap();
        assert_eq!(one::<i64>(&vals, "groups"), 2);
    });
}

#[test]
fn meta_ordering_stays_out_of_group_by_and_errors() {
    run(&models(), |db| {
        fixture(db);
        assert_error_contains(
            Book::objects()
                .annotate([("name", Count("authors"))])
                .all(db),
            "The annotation 'name' conflicts with a field on the model.",
        );
        assert_error_contains(
            Book::objects().aggregate(db, [("n", F("pages"))]),
            "n is not an aggregate expression",
        );
        assert_error_contains(
            Book::objects()
                .annotate([("x", F("price") * F("rating"))])
                .all(db),
            "Cannot infer type of '*' expression involving these types: DecimalField, \
             FloatField. You must set output_field.",
        );
        assert_error_contains(
            Book::objects().annotate([("x", Count("nope"))]).all(db),
            "Cannot resolve keyword 'nope' into field",
        );
        // With the output type given, the mixed expression compiles.
        let vals = Book::objects()
            .filter(q!(pk__in = vec![1]))
            .annotate([(
                "x",
                (F("price") * F("rating")).output_field(quarry::model::FieldKind::FloatField),
            )])
            .values(["x"])
            .all(db)
            .unwrap();
        approx(one(&vals[0], "x"), 135.0, 4);
        let vals = Book::objects()
            .aggregate(db, [("v", VarianceSample("pages")), ("s", StdDev("pages"))])
            .unwrap();
        approx(one(&vals, "v"), 116_412.966_667, 2);
        approx(one(&vals, "s"), 311.465_577, 4);
    });
}

#[test]
fn case_when_annotations() {
    run(&models(), |db| {
        fixture(db);
        let books = Book::objects()
            .annotate([(
                "size",
                Case([
                    When(q!(pages__lt = 400), Value::from("short")),
                    When(q!(pages__lt = 1000), Value::from("long")),
                ])
                .default(Value::from("huge")),
            )])
            .order_by(["pages"])
            .all(db)
            .unwrap();
        let sizes: Vec<String> = books
            .iter()
            .map(|b| b.annotation("size").unwrap())
            .collect();
        assert_eq!(sizes, ["short", "short", "long", "long", "long", "huge"]);
        // Ordered by a Case and counted by it.
        let rows = Book::objects()
            .annotate([(
                "cheap",
                Case([When(q!(price__lt = dec("30")), 1)]).default(0),
            )])
            .values(["cheap"])
            .annotate([("n", Count("id"))])
            .order_by(["cheap"])
            .all(db)
            .unwrap();
        let got: Vec<(i64, i64)> = rows
            .iter()
            .map(|r| (one(r, "cheap"), one(r, "n")))
            .collect();
        assert_eq!(got, [(0, 3), (1, 3)]);
        let total = Book::objects()
            .aggregate(
                db,
                [(
                    "t",
                    Sum(Case([When(q!(rating__gte = 4.5), "pages")]).default(0)),
                )],
            )
            .unwrap();
        assert_eq!(one::<i64>(&total, "t"), 447 + 946);
    });
}

#[test]
fn order_by_expressions_and_nulls() {
    run(&models(), |db| {
        let f = fixture(db);
        Author::objects()
            .filter(q!(pk__in = vec![f.a[0].id, f.a[1].id]))
            .update(db, [("rating", Expr::from(4.5))])
            .unwrap();
        Author::objects()
            .filter(q!(pk = f.a[2].id))
            .update(db, [("rating", Expr::from(3.0))])
            .unwrap();
        let names_of = |qs: QuerySet<Author>| names(&qs.all(db).unwrap(), |a| &a.name);
        let by_rating = names_of(
            Author::objects()
                .filter(q!(age__gte = 34))
                .order_by([F("rating").desc().nulls_last(), F("name").asc()]),
        );
        assert_eq!(
            by_rating,
            [
                "Adrian Holovaty",
                "Jacob Kaplan-Moss",
                "Brad Dayley",
                "Jeffrey Forcier",
                "Peter Norvig",
                "Stuart Russell"
            ]
        );
        let nulls_first = names_of(
            Author::objects()
                .filter(q!(age__gte = 34))
                .order_by([F("rating").asc().nulls_first(), F("name").desc()]),
        );
        assert_eq!(
            nulls_first,
            [
                "Stuart Russell",
                "Peter Norvig",
                "Jeffrey Forcier",
                "Brad Dayley",
                "Jacob Kaplan-Moss",
                "Adrian Holovaty"
            ]
        );
        // reverse() flips the direction and where the NULLs go.
        let reversed = names_of(
            Author::objects()
                .filter(q!(age__gte = 34))
                .order_by([F("rating").asc().nulls_first(), F("name").desc()])
                .reverse(),
        );
        let mut expected = nulls_first.clone();
        expected.reverse();
        assert_eq!(reversed, expected);
        // An expression with a parameter, and an aggregate of a grouped query.
        let oldest_first = names_of(
            Author::objects()
                .filter(q!(age__lt = 30))
                .order_by([(F("age") * -1).asc(), F("name").asc()]),
        );
        assert_eq!(
            oldest_first,
            ["James Bennett", "Paul Bissex", "Wesley J. Chun"]
        );
        let pubs = Publisher::objects()
            .annotate([("n", Count("book"))])
            .order_by([Expr::from(Count("book")).desc(), F("name").asc()])
            .all(db)
            .unwrap();
        assert_eq!(
            names(&pubs, |p| &p.name),
            [
                "Apress",
                "Prentice Hall",
                "Morgan Kaufmann",
                "Sams",
                "Jonno's House of Books"
            ]
        );
        assert_error_contains(
            Author::objects()
                .values(["age"])
                .order_by([Expr::from(Avg("book__rating")).asc()])
                .all(db),
            "Using an aggregate in order_by() without also including it in annotate() is not \
             allowed",
        );
    });
}

#[test]
fn update_with_case_and_annotation_filters() {
    run(&models(), |db| {
        fixture(db);
        // Case in update(): atomic in SQL, one statement.
        let n = Book::objects()
            .update(
                db,
                [(
                    "pages",
                    Case([When(q!(rating__gte = 4.5), F("pages") + 1)]).default(F("pages")),
                )],
            )
            .unwrap();
        assert_eq!(n, 6);
        let pages: Vec<i64> = Book::objects()
            .order_by(["pk"])
            .values_list_flat("pages")
            .all(db)
            .unwrap()
            .into_iter()
            .map(|v| v.get::<i64>().unwrap())
            .collect();
        assert_eq!(pages, [448, 528, 300, 350, 1132, 947]);
        // A filter comparing with an annotation, and a values_list of annotations.
        // Integers divide to integers on every backend (947 / 2 = 473).
        let rows = Book::objects()
            .annotate([("half", F("pages") / 2)])
            .filter(q!(rating__gte = F("half") / 100))
            .order_by(["pk"])
            .values_list(["name", "half"])
            .all(db)
            .unwrap();
        let got: Vec<(String, i64)> = rows
            .into_iter()
            .map(|r| (r[0].clone().get().unwrap(), r[1].clone().get().unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                (DJANGO_GUIDE.to_owned(), 224),
                (SAMS.to_owned(), 264),
                (PRACTICAL.to_owned(), 150),
                (PYTHON_WEB.to_owned(), 175),
                (PAIP.to_owned(), 473)
            ]
        );
        // An annotation used in update() is refused when it aggregates.
        assert_error_contains(
            Book::objects()
                .annotate([("n", Count("authors"))])
                .update(db, [("pages", F("n"))]),
            "Aggregate functions are not allowed in this query",
        );
        // count() and exists() of grouped rows, and select_related with annotate().
        let grouped = Book::objects()
            .values(["rating"])
            .annotate([("n", Count("id"))]);
        assert_eq!(grouped.count(db).unwrap(), 4);
        assert!(grouped.exists(db).unwrap());
        let books = Book::objects()
            .select_related(["publisher"])
            .annotate([("num_authors", Count("authors"))])
            .filter(q!(num_authors__gte = 2))
            .order_by(["pk"])
            .all(db)
            .unwrap();
        assert_eq!(books.len(), 3);
        assert_eq!(books[0].publisher.cached().unwrap().name, "Apress");
        assert_eq!(books[2].annotation::<i64>("num_authors").unwrap(), 2);
    });
}
