//! Ported from Django's `tests/lookup/tests.py` (LookupTests), with its fixture data.
//! The `author` ForeignKey is a plain `author_id` column until relations land.

mod common;

use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use common::{assert_error_contains, run};
use quarry::prelude::*;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "lookup", ordering = ["name"])]
pub struct Author {
    #[field(primary_key)]
    pub id: i64,
    #[field(max_length = 100)]
    pub name: String,
    #[field(max_length = 50, blank)]
    pub alias: Option<String>,
    pub bio: Option<String>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "lookup", ordering = ["-pub_date", "headline"])]
pub struct Article {
    #[field(primary_key)]
    pub id: i64,
    #[field(max_length = 100)]
    pub headline: String,
    pub pub_date: DateTime<Utc>,
    pub author_id: Option<i64>,
    #[field(kind = "SlugField", unique, blank)]
    pub slug: Option<String>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "lookup")]
pub struct Alarm {
    #[field(primary_key)]
    pub id: i64,
    #[field(max_length = 100)]
    pub desc: String,
    pub time: NaiveTime,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "lookup")]
pub struct Season {
    #[field(primary_key)]
    pub id: i64,
    #[field(unique)]
    pub year: i16,
    pub gt: Option<i32>,
    pub _state: ModelState,
}

fn dt(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn article(
    headline: &str,
    pub_date: DateTime<Utc>,
    author: Option<i64>,
    slug: Option<&str>,
) -> Article {
    Article {
        id: 0,
        headline: headline.into(),
        pub_date,
        author_id: author,
        slug: slug.map(Into::into),
        _state: ModelState::new(),
    }
}

struct Fixture {
    au1: Author,
    au2: Author,
    a: Vec<Article>, // a[1]..a[7]; a[0] is a placeholder
}

fn setup(db: &Database) -> Fixture {
    let mk_author = |name: &str, alias: &str, bio: Option<String>| {
        Author::objects()
            .create(
                db,
                Author {
                    id: 0,
                    name: name.into(),
                    alias: Some(alias.into()),
                    bio,
                    _state: ModelState::new(),
                },
            )
            .unwrap()
    };
    let au1 = mk_author("Author 1", "a1", Some("x".repeat(4001)));
    let au2 = mk_author("Author 2", "a2", None);
    let specs = [
        ("Article 1", dt(2005, 7, 26, 0, 0), au1.id, "a1"),
        ("Article 2", dt(2005, 7, 27, 0, 0), au1.id, "a2"),
        ("Article 3", dt(2005, 7, 27, 0, 0), au1.id, "a3"),
        ("Article 4", dt(2005, 7, 28, 0, 0), au1.id, "a4"),
        ("Article 5", dt(2005, 8, 1, 9, 0), au2.id, "a5"),
        ("Article 6", dt(2005, 8, 1, 8, 0), au2.id, "a6"),
        ("Article 7", dt(2005, 7, 27, 0, 0), au2.id, "a7"),
    ];
    let mut a = vec![article("placeholder", dt(2000, 1, 1, 0, 0), None, None)];
    for (h, d, au, slug) in specs {
        a.push(
            Article::objects()
                .create(db, article(h, d, Some(au), Some(slug)))
                .unwrap(),
        );
    }
    Fixture { au1, au2, a }
}

fn headlines(v: &[Article]) -> Vec<&str> {
    v.iter().map(|a| a.headline.as_str()).collect()
}

fn ids(v: &[Article]) -> Vec<i64> {
    v.iter().map(|a| a.id).collect()
}

const DEFAULT_ORDER: [&str; 7] = [
    "Article 5",
    "Article 6",
    "Article 4",
    "Article 2",
    "Article 3",
    "Article 7",
    "Article 1",
];

#[test]
fn test_exists() {
    run(&[Author::meta(), Article::meta()], |db| {
        setup(db);
        assert!(Article::objects().exists(db).unwrap());
        for mut a in Article::objects().all(db).unwrap() {
            a.delete(db).unwrap();
        }
        assert!(!Article::objects().exists(db).unwrap());
    });
}

#[test]
fn test_lookup_int_as_str() {
    run(&[Author::meta(), Article::meta()], |db| {
        let f = setup(db);
        let got = Article::objects()
            .filter(q!(id__iexact = f.a[1].id.to_string()))
            .all(db)
            .unwrap();
        assert_eq!(got, vec![f.a[1].clone()]);
    });
}

#[test]
fn test_lookup_date_as_str() {
    run(&[Author::meta(), Article::meta()], |db| {
        setup(db);
        let got = Article::objects()
            .filter(q!(pub_date__startswith = "2005"))
            .all(db)
            .unwrap();
        assert_eq!(headlines(&got), DEFAULT_ORDER);
    });
}

#[test]
fn test_iterator() {
    run(&[Author::meta(), Article::meta()], |db| {
        setup(db);
        let all: Vec<Article> = Article::objects()
            .iterator(db, 2)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(headlines(&all), DEFAULT_ORDER);
        let four: Vec<Article> = Article::objects()
            .filter(q!(headline__endswith = "4"))
            .iterator(db, 100)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(headlines(&four), ["Article 4"]);
    });
}

#[test]
fn test_count() {
    run(&[Author::meta(), Article::meta()], |db| {
        setup(db);
        assert_eq!(Article::objects().count(db).unwrap(), 7);
        assert_eq!(
            Article::objects()
                .filter(q!(pub_date__exact = dt(2005, 7, 27, 0, 0)))
                .count(db)
                .unwrap(),
            3
        );
        assert_eq!(
            Article::objects()
                .filter(q!(headline__startswith = "Blah blah"))
                .count(db)
                .unwrap(),
            0
        );
        let articles = Article::objects();
        assert_eq!(articles.count(db).unwrap(), 7);
        assert_eq!(articles.clone().slice(..4).count(db).unwrap(), 4);
        assert_eq!(articles.clone().slice(1..100).count(db).unwrap(), 6);
        assert_eq!(articles.clone().slice(10..100).count(db).unwrap(), 0);
        // Date and date/time lookups can also be done with strings.
        assert_eq!(
            Article::objects()
                .filter(q!(pub_date__exact = "2005-07-27 00:00:00"))
                .count(db)
                .unwrap(),
            3
        );
    });
}

#[test]
fn test_in_bulk() {
    run(&[Author::meta(), Article::meta()], |db| {
        let f = setup(db);
        let arts = Article::objects()
            .in_bulk(db, Some(vec![f.a[1].id, f.a[2].id]))
            .unwrap();
        assert_eq!(arts[&f.a[1].id], f.a[1]);
        assert_eq!(arts[&f.a[2].id], f.a[2]);
        let all = Article::objects().in_bulk::<i64>(db, None).unwrap();
        assert_eq!(all.len(), 7);
        for a in &f.a[1..] {
            assert_eq!(&all[&a.id], a);
        }
        assert_eq!(
            Article::objects()
                .in_bulk(db, Some(vec![f.a[3].id]))
                .unwrap()
                .len(),
            1
        );
        assert!(Article::objects()
            .in_bulk(db, Some(vec![1000i64]))
            .unwrap()
            .is_empty());
        assert!(Article::objects()
            .in_bulk::<i64>(db, Some(vec![]))
            .unwrap()
            .is_empty());
    });
}

#[test]
fn test_in_bulk_lots_of_ids() {
    run(&[Author::meta(), Article::meta()], |db| {
        let authors: Vec<Author> = (0..2000)
            .map(|i| Author {
                id: 0,
                name: format!("a{i}"),
                alias: None,
                bio: None,
                _state: ModelState::new(),
            })
            .collect();
        let created = Author::objects()
            .bulk_create(db, authors, &BulkCreate::new())
            .unwrap();
        let ids: Vec<i64> = created.iter().map(|a| a.id).collect();
        let got = Author::objects().in_bulk(db, Some(ids)).unwrap();
        assert_eq!(got.len(), 2000);
        for a in &created {
            assert_eq!(got[&a.id], *a);
        }
    });
}

#[test]
fn test_in_bulk_with_field() {
    run(&[Author::meta(), Article::meta()], |db| {
        let f = setup(db);
        let slugs: Vec<String> = f.a[1..4].iter().map(|a| a.slug.clone().unwrap()).collect();
        let got = Article::objects()
            .in_bulk_by(db, "slug", Some(slugs))
            .unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got["a1"], f.a[1]);
        assert_eq!(got["a3"], f.a[3]);
    });
}

#[test]
fn test_in_bulk_meta_constraint() {
    run(&[Season::meta()], |db| {
        let mk = |year| {
            Season::objects()
                .create(
                    db,
                    Season {
                        id: 0,
                        year,
                        gt: None,
                        _state: ModelState::new(),
                    },
                )
                .unwrap()
        };
        let (s2011, s2012, _) = (mk(2011), mk(2012), mk(2013));
        let got = Season::objects()
            .in_bulk_by(db, "year", Some(vec![2011i16, 2012]))
            .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[&2011], s2011);
        assert_eq!(got[&2012], s2012);
    });
}

#[test]
fn test_in_bulk_non_unique_field() {
    run(&[Author::meta(), Article::meta()], |db| {
        let f = setup(db);
        assert_error_contains(
            Article::objects().in_bulk_by(db, "author_id", Some(vec![f.au1.id])),
            "in_bulk()'s field_name must be a unique field but 'author_id' isn't.",
        );
    });
}

#[test]
fn test_in_bulk_sliced_queryset() {
    run(&[Author::meta(), Article::meta()], |db| {
        let f = setup(db);
        assert_error_contains(
            Article::objects()
                .slice(0..5)
                .in_bulk(db, Some(vec![f.a[1].id, f.a[2].id])),
            "Cannot use 'limit' or 'offset' with in_bulk().",
        );
    });
}

#[test]
fn test_values() {
    run(&[Author::meta(), Article::meta()], |db| {
        let f = setup(db);
        let rows = Article::objects().values(["headline"]).all(db).unwrap();
        let got: Vec<String> = rows.iter().map(|r| r.get_as("headline").unwrap()).collect();
        assert_eq!(got, DEFAULT_ORDER);
        let rows = Article::objects()
            .filter(q!(pub_date__exact = dt(2005, 7, 27, 0, 0)))
            .values(["id"])
            .all(db)
            .unwrap();
        let got: Vec<i64> = rows.iter().map(|r| r.get_as("id").unwrap()).collect();
        assert_eq!(got, [f.a[2].id, f.a[3].id, f.a[7].id]);
        let rows = Article::objects()
            .values(["id", "headline"])
            .all(db)
            .unwrap();
        assert_eq!(
            rows[0].iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ["id", "headline"]
        );
        assert_eq!(rows[0].get("id"), Some(&Value::I64(f.a[5].id)));
        assert_eq!(
            rows[0].get("headline"),
            Some(&Value::Text("Article 5".into()))
        );
        // values() with iterator()
        let streamed: Vec<ValuesRow> = Article::objects()
            .values(["id", "headline"])
            .iterator(db, 3)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(streamed, rows);
        // Every field when none is named.
        let all = Article::objects()
            .filter(q!(id = f.a[1].id))
            .values(Vec::<String>::new())
            .all(db)
            .unwrap();
        assert_eq!(
            all[0].iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ["id", "headline", "pub_date", "author_id", "slug"]
        );
        assert_eq!(
            all[0].get("pub_date"),
            Some(&Value::DateTime(dt(2005, 7, 26, 0, 0)))
        );
        // Unknown names are FieldErrors.
        assert_error_contains(
            Article::objects().values(["id", "nope"]).all(db),
            "Cannot resolve keyword 'nope' into field of Article. Choices are: author_id, headline, id, pub_date, slug",
        );
    });
}

#[test]
fn test_values_list() {
    run(&[Author::meta(), Article::meta()], |db| {
        let f = setup(db);
        let rows = Article::objects()
            .values_list(["headline"])
            .all(db)
            .unwrap();
        assert_eq!(rows[0], vec![Value::Text("Article 5".into())]);
        let ids = Article::objects()
            .values_list_flat("id")
            .order_by(["id"])
            .all(db)
            .unwrap();
        let expect: Vec<Value> = f.a[1..].iter().map(|a| Value::I64(a.id)).collect();
        assert_eq!(ids, expect);
        let pairs = Article::objects()
            .values_list(["id", "headline"])
            .order_by(["id"])
            .all(db)
            .unwrap();
        assert_eq!(
            pairs[6],
            vec![Value::I64(f.a[7].id), Value::Text("Article 7".into())]
        );
        let years = Article::objects()
            .order_by(["id"])
            .values_list_flat("pub_date__year")
            .all(db)
            .unwrap();
        assert!(years.iter().all(|y| *y == Value::I64(2005)));
    });
}

#[test]
fn test_escaping() {
    run(&[Author::meta(), Article::meta()], |db| {
        setup(db);
        let a8 = Article::objects()
            .create(
                db,
                article(
                    "Article_ with underscore",
                    dt(2005, 11, 20, 0, 0),
                    None,
                    None,
                ),
            )
            .unwrap();
        let got = Article::objects()
            .filter(q!(headline__startswith = "Article"))
            .all(db)
            .unwrap();
        assert_eq!(got.len(), 8);
        assert_eq!(got[0], a8);
        assert_eq!(
            Article::objects()
                .filter(q!(headline__startswith = "Article_"))
                .all(db)
                .unwrap(),
            vec![a8.clone()]
        );
        let a9 = Article::objects()
            .create(
                db,
                article(
                    "Article% with percent sign",
                    dt(2005, 11, 21, 0, 0),
                    None,
                    None,
                ),
            )
            .unwrap();
        assert_eq!(
            Article::objects()
                .filter(q!(headline__startswith = "Article"))
                .count(db)
                .unwrap(),
            9
        );
        assert_eq!(
            Article::objects()
                .filter(q!(headline__startswith = "Article%"))
                .all(db)
                .unwrap(),
            vec![a9.clone()]
        );
        let a10 = Article::objects()
            .create(
                db,
                article(
                    "Article with \\ backslash",
                    dt(2005, 11, 22, 0, 0),
                    None,
                    None,
                ),
            )
            .unwrap();
        assert_eq!(
            Article::objects()
                .filter(q!(headline__contains = "\\"))
                .all(db)
                .unwrap(),
            vec![a10.clone()]
        );
        // The same escaping holds for the case-insensitive forms.
        assert_eq!(
            Article::objects()
                .filter(q!(headline__istartswith = "ARTICLE_"))
                .all(db)
                .unwrap(),
            vec![a8]
        );
        assert_eq!(
            Article::objects()
                .filter(q!(headline__icontains = "e% W"))
                .all(db)
                .unwrap(),
            vec![a9]
        );
        assert_eq!(
            Article::objects()
                .filter(q!(headline__iendswith = "\\ BACKSLASH"))
                .all(db)
                .unwrap(),
            vec![a10]
        );
    });
}

#[test]
fn test_exclude() {
    run(&[Author::meta(), Article::meta()], |db| {
        setup(db);
        let a8 = Article::objects()
            .create(
                db,
                article(
                    "Article_ with underscore",
                    dt(2005, 11, 20, 0, 0),
                    None,
                    None,
                ),
            )
            .unwrap();
        let a9 = Article::objects()
            .create(
                db,
                article(
                    "Article% with percent sign",
                    dt(2005, 11, 21, 0, 0),
                    None,
                    None,
                ),
            )
            .unwrap();
        let a10 = Article::objects()
            .create(
                db,
                article(
                    "Article with \\ backslash",
                    dt(2005, 11, 22, 0, 0),
                    None,
                    None,
                ),
            )
            .unwrap();
        let got = Article::objects()
            .filter(q!(headline__contains = "Article"))
            .exclude(q!(headline__contains = "with"))
            .all(db)
            .unwrap();
        assert_eq!(headlines(&got), DEFAULT_ORDER);
        let got = Article::objects()
            .exclude(q!(headline__startswith = "Article_"))
            .all(db)
            .unwrap();
        assert_eq!(&got[..2], &[a10.clone(), a9.clone()]);
        assert_eq!(got.len(), 9);
        let got = Article::objects()
            .exclude(q!(headline = "Article 7"))
            .all(db)
            .unwrap();
        assert_eq!(&got[..3], &[a10, a9, a8]);
        assert_eq!(got.len(), 9);
        // exclude() on a NULL-able column keeps the NULL rows, as Django does.
        let no_author = Article::objects()
            .exclude(q!(author_id = 1))
            .count(db)
            .unwrap();
        assert_eq!(no_author, 6); // three by author 2, three with no author
    });
}

#[test]
fn test_none() {
    run(&[Author::meta(), Article::meta()], |db| {
        setup(db);
        assert!(Article::objects().none().all(db).unwrap().is_empty());
        assert!(Article::objects()
            .none()
            .filter(q!(headline__startswith = "Article"))
            .all(db)
            .unwrap()
            .is_empty());
        assert!(Article::objects()
            .filter(q!(headline__startswith = "Article"))
            .none()
            .all(db)
            .unwrap()
            .is_empty());
        assert_eq!(Article::objects().none().count(db).unwrap(), 0);
        assert_eq!(
            Article::objects()
                .none()
                .update(db, [("headline", "This should not take effect")])
                .unwrap(),
            0
        );
        assert_eq!(Article::objects().none().iterator(db, 10).count(), 0);
        assert_eq!(
            Article::objects()
                .filter(q!(headline = "This should not take effect"))
                .count(db)
                .unwrap(),
            0
        );
    });
}

#[test]
fn test_in() {
    run(&[Author::meta(), Article::meta()], |db| {
        let f = setup(db);
        let got = Article::objects()
            .exclude(q!(id__in = Vec::<i64>::new()))
            .all(db)
            .unwrap();
        assert_eq!(headlines(&got), DEFAULT_ORDER);
        assert!(Article::objects()
            .filter(q!(id__in = Vec::<i64>::new()))
            .all(db)
            .unwrap()
            .is_empty());
        // None is ignored in the list.
        let got = Article::objects()
            .filter(q!(id__in = [Value::Null, Value::I64(f.a[1].id)]))
            .all(db)
            .unwrap();
        assert_eq!(got, vec![f.a[1].clone()]);
        let (sql, params) = Article::objects()
            .filter(q!(id__in = [Value::Null, Value::I64(f.a[1].id)]))
            .to_sql(db)
            .unwrap();
        assert!(common::normalize_sql(&sql).contains("IN (?)"), "{sql}");
        assert_eq!(params, vec![Value::I64(f.a[1].id)]);
        assert!(Article::objects()
            .filter(q!(id__in = [Value::Null]))
            .all(db)
            .unwrap()
            .is_empty());
    });
}

#[test]
fn test_in_keeps_value_ordering() {
    run(&[Author::meta(), Article::meta()], |db| {
        let slugs: Vec<String> = (1..8).map(|i| format!("a{i}")).collect();
        let (sql, params) = Article::objects()
            .filter(q!(slug__in = slugs.clone()))
            .values(["pk"])
            .to_sql(db)
            .unwrap();
        assert!(
            common::normalize_sql(&sql).contains(" IN (?, ?, ?, ?, ?, ?, ?)"),
            "{sql}"
        );
        let expect: Vec<Value> = slugs.into_iter().map(Value::Text).collect();
        assert_eq!(params, expect);
    });
}

#[test]
fn test_error_messages() {
    run(&[Author::meta(), Article::meta()], |db| {
        assert_error_contains(
            Article::objects().filter(q!(pub_date_year = "2005")).count(db),
            "Cannot resolve keyword 'pub_date_year' into field of Article. Choices are: author_id, headline, id, pub_date, slug",
        );
        let err = Article::objects()
            .filter(q!(pub_date_year = "2005"))
            .count(db)
            .unwrap_err();
        assert!(matches!(err, Error::FieldError(_)));
    });
}

#[test]
fn test_unsupported_lookups() {
    run(&[Author::meta(), Article::meta()], |db| {
        assert_error_contains(
            Article::objects().filter(q!(headline__starts = "Article")).all(db),
            "Unsupported lookup 'starts' for CharField 'Article.headline', perhaps you meant startswith or istartswith?",
        );
        assert_error_contains(
            Article::objects()
                .filter(q!(pub_date__year__blah = 5))
                .all(db),
            "Unsupported lookup 'blah' for IntegerField",
        );
    });
}

fn regex_setup(db: &Database, names: &[&str]) {
    let now = Utc::now();
    let objs = names.iter().map(|h| article(h, now, None, None)).collect();
    Article::objects()
        .bulk_create(db, objs, &BulkCreate::new())
        .unwrap();
}

fn heads(db: &Database, q: Q) -> Vec<String> {
    let mut v: Vec<String> = Article::objects()
        .filter(q)
        .all(db)
        .unwrap()
        .into_iter()
        .map(|a| a.headline)
        .collect();
    v.sort();
    v
}

fn sorted(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[test]
fn test_regex() {
    run(&[Article::meta()], |db| {
        regex_setup(
            db,
            &[
                "f", "fo", "foo", "fooo", "hey-Foo", "bar", "AbBa", "baz", "baxZ",
            ],
        );
        assert_eq!(
            heads(db, q!(headline__regex = r"fo*")),
            sorted(&["f", "fo", "foo", "fooo"])
        );
        assert_eq!(
            heads(db, q!(headline__iregex = r"fo*")),
            sorted(&["f", "fo", "foo", "fooo", "hey-Foo"])
        );
        assert_eq!(
            heads(db, q!(headline__regex = r"fo+")),
            sorted(&["fo", "foo", "fooo"])
        );
        assert_eq!(
            heads(db, q!(headline__regex = r"fooo?")),
            sorted(&["foo", "fooo"])
        );
        assert_eq!(
            heads(db, q!(headline__regex = r"^b")),
            sorted(&["bar", "baxZ", "baz"])
        );
        assert_eq!(heads(db, q!(headline__iregex = r"^a")), sorted(&["AbBa"]));
        assert_eq!(heads(db, q!(headline__regex = r"z$")), sorted(&["baz"]));
        assert_eq!(
            heads(db, q!(headline__iregex = r"z$")),
            sorted(&["baxZ", "baz"])
        );
        assert_eq!(
            heads(db, q!(headline__regex = r"ba[rz]")),
            sorted(&["bar", "baz"])
        );
        assert_eq!(
            heads(db, q!(headline__regex = r"ba.[RxZ]")),
            sorted(&["baxZ"])
        );
        assert_eq!(
            heads(db, q!(headline__iregex = r"ba[RxZ]")),
            sorted(&["bar", "baxZ", "baz"])
        );
        regex_setup(
            db,
            &[
                "foobar",
                "foobaz",
                "ooF",
                "foobarbaz",
                "zoocarfaz",
                "barfoobaz",
                "bazbaRFOO",
            ],
        );
        assert_eq!(
            heads(db, q!(headline__regex = r"oo(f|b)")),
            sorted(&["barfoobaz", "foobar", "foobarbaz", "foobaz"])
        );
        assert_eq!(
            heads(db, q!(headline__iregex = r"oo(f|b)")),
            sorted(&["barfoobaz", "foobar", "foobarbaz", "foobaz", "ooF"])
        );
        assert_eq!(
            heads(db, q!(headline__regex = r"^foo(f|b)")),
            sorted(&["foobar", "foobarbaz", "foobaz"])
        );
        assert_eq!(
            heads(db, q!(headline__regex = r"b.*az")),
            sorted(&["barfoobaz", "baz", "bazbaRFOO", "foobarbaz", "foobaz"])
        );
        assert_eq!(
            heads(db, q!(headline__iregex = r"b.*ar")),
            sorted(&["bar", "barfoobaz", "bazbaRFOO", "foobar", "foobarbaz"])
        );
    });
}

#[test]
fn test_regex_null() {
    run(&[Season::meta()], |db| {
        Season::objects()
            .create(
                db,
                Season {
                    id: 0,
                    year: 12,
                    gt: None,
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        assert!(Season::objects()
            .filter(q!(gt__regex = r"^$"))
            .all(db)
            .unwrap()
            .is_empty());
    });
}

#[test]
fn test_regex_non_string() {
    run(&[Season::meta()], |db| {
        let s = Season::objects()
            .create(
                db,
                Season {
                    id: 0,
                    year: 2013,
                    gt: Some(444),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        assert_eq!(
            Season::objects()
                .filter(q!(gt__regex = r"^444$"))
                .all(db)
                .unwrap(),
            vec![s]
        );
    });
}

#[test]
fn test_regex_non_ascii() {
    run(&[Author::meta()], |db| {
        Author::objects()
            .create(
                db,
                Author {
                    id: 0,
                    name: "\u{0452}".into(),
                    alias: None,
                    bio: None,
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        assert!(Author::objects()
            .filter(q!(name__regex = "\u{0452}"))
            .exists(db)
            .unwrap());
    });
}

#[test]
fn test_chain_date_time_lookups() {
    run(&[Author::meta(), Article::meta()], |db| {
        let f = setup(db);
        let set = |q: Q| {
            let mut v = ids(&Article::objects().filter(q).all(db).unwrap());
            v.sort();
            v
        };
        let want = |idx: &[usize]| idx.iter().map(|&i| f.a[i].id).collect::<Vec<_>>();
        assert_eq!(set(q!(pub_date__month__gt = 7)), want(&[5, 6]));
        assert_eq!(set(q!(pub_date__day__gte = 27)), want(&[2, 3, 4, 7]));
        assert_eq!(set(q!(pub_date__hour__lt = 8)), want(&[1, 2, 3, 4, 7]));
        assert_eq!(
            set(q!(pub_date__minute__lte = 0)),
            want(&[1, 2, 3, 4, 5, 6, 7])
        );
    });
}

#[test]
fn test_date_transforms() {
    run(&[Author::meta(), Article::meta()], |db| {
        let f = setup(db);
        let set = |q: Q| {
            let mut v = ids(&Article::objects().filter(q).all(db).unwrap());
            v.sort();
            v
        };
        let want = |idx: &[usize]| idx.iter().map(|&i| f.a[i].id).collect::<Vec<_>>();
        assert_eq!(
            set(q!(
                pub_date__date = NaiveDate::from_ymd_opt(2005, 7, 27).unwrap()
            )),
            want(&[2, 3, 7])
        );
        assert_eq!(set(q!(pub_date__year = 2005)), want(&[1, 2, 3, 4, 5, 6, 7]));
        assert_eq!(
            set(q!(pub_date__iso_year = 2005)),
            want(&[1, 2, 3, 4, 5, 6, 7])
        );
        assert_eq!(set(q!(pub_date__quarter = 3)), want(&[1, 2, 3, 4, 5, 6, 7]));
        // 2005-07-26 was a Tuesday: week_day 3 (Sunday=1), iso_week_day 2 (Monday=1).
        assert_eq!(set(q!(pub_date__week_day = 3)), want(&[1]));
        assert_eq!(set(q!(pub_date__iso_week_day = 2)), want(&[1]));
        // 2005-08-01 is a Monday in ISO week 31; 2005-07-26..28 are in week 30.
        assert_eq!(set(q!(pub_date__week = 31)), want(&[5, 6]));
        assert_eq!(
            set(q!(
                pub_date__time = NaiveTime::from_hms_opt(9, 0, 0).unwrap()
            )),
            want(&[5])
        );
        assert_eq!(set(q!(pub_date__hour = 8)), want(&[6]));
        assert_eq!(set(q!(pub_date__second = 0)), want(&[1, 2, 3, 4, 5, 6, 7]));
        assert_eq!(
            set(q!(pub_date__date__range = [
                NaiveDate::from_ymd_opt(2005, 7, 27).unwrap(),
                NaiveDate::from_ymd_opt(2005, 7, 28).unwrap()
            ])),
            want(&[2, 3, 4, 7])
        );
        assert_eq!(
            set(q!(
                pub_date__range = [dt(2005, 8, 1, 8, 30), dt(2005, 8, 1, 9, 30)]
            )),
            want(&[5])
        );
    });
}

#[test]
fn test_time_field_lookups() {
    run(&[Alarm::meta()], |db| {
        let mk = |desc: &str, h, m| {
            Alarm::objects()
                .create(
                    db,
                    Alarm {
                        id: 0,
                        desc: desc.into(),
                        time: NaiveTime::from_hms_opt(h, m, 0).unwrap(),
                        _state: ModelState::new(),
                    },
                )
                .unwrap()
        };
        let early = mk("Early", 5, 0);
        let late = mk("Late", 23, 59);
        mk("Work", 9, 30);
        assert_eq!(
            Alarm::objects().filter(q!(time__hour = 5)).all(db).unwrap(),
            vec![early.clone()]
        );
        assert_eq!(
            Alarm::objects()
                .filter(q!(time__minute = 59))
                .all(db)
                .unwrap(),
            vec![late]
        );
        assert_eq!(
            Alarm::objects()
                .filter(q!(time__lt = NaiveTime::from_hms_opt(9, 0, 0).unwrap()))
                .all(db)
                .unwrap(),
            vec![early]
        );
        assert_eq!(
            Alarm::objects()
                .filter(q!(time__range = [
                    NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
                    NaiveTime::from_hms_opt(10, 0, 0).unwrap()
                ]))
                .count(db)
                .unwrap(),
            1
        );
    });
}

#[test]
fn test_exact_none_and_isnull() {
    run(&[Author::meta()], |db| {
        Author::objects()
            .create(
                db,
                Author {
                    id: 0,
                    name: "A".into(),
                    alias: None,
                    bio: Some("x".into()),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        Author::objects()
            .create(
                db,
                Author {
                    id: 0,
                    name: "B".into(),
                    alias: Some("b".into()),
                    bio: None,
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        assert_eq!(
            Author::objects()
                .filter(q!(alias = None::<String>))
                .count(db)
                .unwrap(),
            1
        );
        assert_eq!(
            Author::objects()
                .filter(q!(alias__exact = None::<String>))
                .get(db, q!())
                .unwrap()
                .name,
            "A"
        );
        assert_eq!(
            Author::objects()
                .filter(q!(bio__isnull = true))
                .get(db, q!())
                .unwrap()
                .name,
            "B"
        );
        assert_eq!(
            Author::objects()
                .filter(q!(bio__isnull = false))
                .get(db, q!())
                .unwrap()
                .name,
            "A"
        );
        assert_error_contains(
            Author::objects().filter(q!(bio__isnull = "yes")).count(db),
            "isnull lookup must be True or False",
        );
        assert_error_contains(
            Author::objects()
                .filter(q!(alias__gt = None::<String>))
                .count(db),
            "Cannot use None as a query value",
        );
    });
}

#[test]
fn test_case_insensitive_and_sensitive_patterns() {
    run(&[Author::meta()], |db| {
        for n in ["Alice", "alice", "ALICE smith", "Bob"] {
            Author::objects()
                .create(
                    db,
                    Author {
                        id: 0,
                        name: n.into(),
                        alias: None,
                        bio: None,
                        _state: ModelState::new(),
                    },
                )
                .unwrap();
        }
        let names = |q: Q| -> Vec<String> {
            Author::objects()
                .filter(q)
                .order_by(["id"])
                .values_list_flat("name")
                .all(db)
                .unwrap()
                .into_iter()
                .map(|v| v.get().unwrap())
                .collect()
        };
        // MySQL/MariaDB compare text with the column's collation, case-insensitive by
        // default, so `exact`, `gt` and `in` ignore case there (as Django documents).
        let mysql = common::vendor(db) == quarry::sql::Vendor::Mysql;
        assert_eq!(names(q!(name__iexact = "alice")), ["Alice", "alice"]);
        if mysql {
            assert_eq!(names(q!(name__exact = "alice")), ["Alice", "alice"]);
        } else {
            assert_eq!(names(q!(name__exact = "alice")), ["alice"]);
        }
        assert_eq!(names(q!(name__contains = "lic")), ["Alice", "alice"]);
        assert_eq!(
            names(q!(name__icontains = "LIC")),
            ["Alice", "alice", "ALICE smith"]
        );
        assert_eq!(names(q!(name__startswith = "A")), ["Alice", "ALICE smith"]);
        assert_eq!(
            names(q!(name__istartswith = "a")),
            ["Alice", "alice", "ALICE smith"]
        );
        assert_eq!(names(q!(name__endswith = "ice")), ["Alice", "alice"]);
        assert_eq!(names(q!(name__iendswith = "ICE")), ["Alice", "alice"]);
        if mysql {
            assert_eq!(names(q!(name__gt = "B")), ["Bob"]);
            assert_eq!(
                names(q!(name__in = ["Bob", "alice"])),
                ["Alice", "alice", "Bob"]
            );
        } else {
            assert_eq!(names(q!(name__gt = "B")), ["alice", "Bob"]);
            assert_eq!(names(q!(name__in = ["Bob", "alice"])), ["alice", "Bob"]);
        }
        assert_eq!(
            names(q!(name__contains = "*") | q!(name__contains = "?")),
            Vec::<String>::new()
        );
    });
}

#[test]
fn test_q_combinations_and_pk_alias() {
    run(&[Author::meta(), Article::meta()], |db| {
        let f = setup(db);
        let got = Article::objects()
            .filter(q!(pk = f.a[3].id) | q!(pk = f.a[4].id))
            .order_by(["pk"])
            .all(db)
            .unwrap();
        assert_eq!(ids(&got), [f.a[3].id, f.a[4].id]);
        let got = Article::objects()
            .filter(!(q!(author_id = f.au1.id) | q!(headline = "Article 5")))
            .all(db)
            .unwrap();
        assert_eq!(headlines(&got), ["Article 6", "Article 7"]);
        let got = Article::objects()
            .filter(q!(author_id = f.au2.id) & !q!(pub_date__hour = 9))
            .all(db)
            .unwrap();
        assert_eq!(headlines(&got), ["Article 6", "Article 7"]);
        let got = Article::objects()
            .filter(q!(headline__startswith = "Article", pub_date__day = 27))
            .count(db)
            .unwrap();
        assert_eq!(got, 3);
    });
}
