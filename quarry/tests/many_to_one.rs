//! Ported from Django's `tests/many_to_one`: ForeignKey fields, forward access, reverse
//! managers, lookups across relations both ways, cascades.

mod common;

use common::{assert_error_contains, run};
use quarry::prelude::*;
use quarry::testing::capture_queries;
use quarry::ModelMeta;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "many_to_one")]
pub struct Reporter {
    pub id: i64,
    #[field(max_length = 30)]
    pub first_name: String,
    #[field(max_length = 30)]
    pub last_name: String,
    #[field(kind = "EmailField")]
    pub email: String,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "many_to_one", ordering = ["headline"])]
pub struct Article {
    pub id: i64,
    #[field(max_length = 100)]
    pub headline: String,
    pub pub_date: NaiveDate,
    #[field(on_delete = Cascade)]
    pub reporter: ForeignKey<Reporter>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "many_to_one")]
pub struct Country {
    pub id: i16,
    #[field(max_length = 50)]
    pub name: String,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "many_to_one")]
pub struct City {
    pub id: i64,
    #[field(on_delete = Cascade, related_name = "cities")]
    pub country: Option<ForeignKey<Country>>,
    #[field(max_length = 50)]
    pub name: String,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "many_to_one", ordering = ["id"])]
pub struct District {
    pub id: i64,
    #[field(on_delete = Cascade, related_name = "districts")]
    pub city: Option<ForeignKey<City>>,
    #[field(max_length = 50)]
    pub name: String,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "many_to_one")]
pub struct Parent {
    pub id: i64,
    #[field(max_length = 20, unique)]
    pub name: String,
    #[field(on_delete = SetNull, related_name = "favored_by")]
    pub bestchild: Option<ForeignKey<Child>>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "many_to_one")]
pub struct Child {
    pub id: i64,
    #[field(max_length = 20)]
    pub name: String,
    #[field(on_delete = Cascade)]
    pub parent: ForeignKey<Parent>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "many_to_one")]
pub struct ToFieldChild {
    pub id: i64,
    #[field(on_delete = Cascade, to_field = "name", related_name = "to_field_children")]
    pub parent: ForeignKey<Parent, String>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "many_to_one")]
pub struct Third {
    pub id: i64,
    #[field(max_length = 20)]
    pub name: String,
    #[field(on_delete = SetNull, related_name = "child_set")]
    pub third: Option<ForeignKey<Third>>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "many_to_one")]
pub struct Category {
    pub id: i64,
    #[field(max_length = 20)]
    pub name: String,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "many_to_one")]
pub struct Record {
    pub id: i64,
    #[field(on_delete = Cascade)]
    pub category: ForeignKey<Category>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "many_to_one")]
pub struct Relation {
    pub id: i64,
    #[field(on_delete = Cascade, related_name = "left_set")]
    pub left: ForeignKey<Record>,
    #[field(on_delete = Cascade, related_name = "right_set")]
    pub right: ForeignKey<Record>,
    pub _state: ModelState,
}

fn models() -> Vec<&'static ModelMeta> {
    vec![
        Reporter::meta(),
        Article::meta(),
        Country::meta(),
        City::meta(),
        District::meta(),
        Parent::meta(),
        Child::meta(),
        ToFieldChild::meta(),
        Third::meta(),
        Category::meta(),
        Record::meta(),
        Relation::meta(),
    ]
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn reporter(db: &Database, first: &str, last: &str, email: &str) -> Reporter {
    Reporter::objects()
        .create(
            db,
            Reporter {
                id: 0,
                first_name: first.into(),
                last_name: last.into(),
                email: email.into(),
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

fn article(headline: &str, pub_date: NaiveDate, reporter: i64) -> Article {
    Article {
        id: 0,
        headline: headline.into(),
        pub_date,
        reporter: ForeignKey::new(reporter),
        _state: ModelState::new(),
    }
}

/// Django's `setUpTestData`: two reporters and one article by the first.
struct Fixture {
    r: Reporter,
    r2: Reporter,
    a: Article,
}

fn fixture(db: &Database) -> Fixture {
    let r = reporter(db, "John", "Smith", "john@example.com");
    let r2 = reporter(db, "Paul", "Jones", "paul@example.com");
    let a = Article::objects()
        .create(db, article("This is a test", date(2005, 7, 27), r.id))
        .unwrap();
    Fixture { r, r2, a }
}

fn headlines(articles: &[Article]) -> Vec<&str> {
    articles.iter().map(|a| a.headline.as_str()).collect()
}

fn run_m2o(test: impl Fn(&Database, Fixture)) {
    run(&models(), |db| test(db, fixture(db)));
}

#[test]
fn test_get() {
    run_m2o(|db, f| {
        let a = Article::objects().get(db, q!(pk = f.a.id)).unwrap();
        assert_eq!(*a.reporter.id(), f.r.id);
        let rep = a.reporter.get(db).unwrap();
        assert_eq!(
            (rep.first_name.as_str(), rep.last_name.as_str()),
            ("John", "Smith")
        );
    });
}

#[test]
fn test_create() {
    run_m2o(|db, f| {
        let a3 = Article::objects()
            .create(db, article("Third article", date(2005, 7, 27), f.r.id))
            .unwrap();
        assert_eq!(a3.reporter.get(db).unwrap().id, f.r.id);
        // A key given as text is converted, as Django does with reporter_id=str(r.id).
        let a4 = Article::from_pairs([
            ("headline", Value::from("Fourth article")),
            ("pub_date", Value::from(date(2005, 7, 27))),
            ("reporter_id", Value::from(f.r.id.to_string())),
        ]);
        assert!(a4.is_err(), "text is not an integer key in memory");
        let n = Article::objects()
            .filter(q!(reporter_id = f.r.id.to_string()))
            .count(db)
            .unwrap();
        assert_eq!(n, 2);
    });
}

#[test]
fn test_add() {
    run_m2o(|db, f| {
        let mut new_article =
            f.r.article_set()
                .create(db, article("John's second story", date(2005, 7, 29), 0))
                .unwrap();
        assert_eq!(new_article.reporter.get(db).unwrap().id, f.r.id);
        // An unsaved object cannot be added.
        let mut new_article2 = article("Paul's story", date(2006, 1, 17), f.r.id);
        assert_error_contains(
            f.r.article_set()
                .add(db, std::slice::from_mut(&mut new_article2)),
            "'Article' instance isn't saved. Use add_each() (Django's bulk=False) or save the object first.",
        );
        // add_each (bulk=False) saves it: an INSERT pointing at the reporter.
        let mut unsaved = article("Ringo's story", date(2006, 1, 18), 0);
        let ((), queries) = capture_queries(|| {
            f.r.article_set()
                .add_each(db, std::slice::from_mut(&mut unsaved))
                .unwrap()
        });
        assert!(
            queries.iter().any(|q| q.starts_with("INSERT")),
            "{queries:?}"
        );
        assert_eq!(*unsaved.reporter.id(), f.r.id);
        unsaved.delete(db).unwrap();
        new_article2.save(db).unwrap();
        f.r.article_set()
            .add(db, std::slice::from_mut(&mut new_article2))
            .unwrap();
        assert_eq!(*new_article2.reporter.id(), f.r.id);
        assert_eq!(
            headlines(&f.r.article_set().all(db).unwrap()),
            ["John's second story", "Paul's story", "This is a test"]
        );
        // Adding to another reporter moves it.
        f.r2.article_set()
            .add(db, std::slice::from_mut(&mut new_article2))
            .unwrap();
        assert_eq!(*new_article2.reporter.id(), f.r2.id);
        assert_eq!(
            headlines(&f.r2.article_set().all(db).unwrap()),
            ["Paul's story"]
        );
        assert_eq!(
            headlines(&f.r.article_set().all(db).unwrap()),
            ["John's second story", "This is a test"]
        );
        new_article.reporter.set_id(f.r2.id);
        assert!(!new_article.reporter.is_cached());
    });
}

#[test]
fn test_set() {
    run_m2o(|db, f| {
        let mut new_article =
            f.r.article_set()
                .create(db, article("John's second story", date(2005, 7, 29), 0))
                .unwrap();
        let mut new_article2 =
            f.r2.article_set()
                .create(db, article("Paul's story", date(2006, 1, 17), 0))
                .unwrap();
        new_article2.reporter = ForeignKey::to(&f.r).unwrap();
        new_article2.save(db).unwrap();
        assert_eq!(new_article2.reporter.cached().unwrap().first_name, "John");
        assert_eq!(
            headlines(&f.r.article_set().all(db).unwrap()),
            ["John's second story", "Paul's story", "This is a test"]
        );
        assert!(f.r2.article_set().all(db).unwrap().is_empty());
        let mut both = vec![new_article.clone(), new_article2.clone()];
        f.r2.article_set().set(db, &mut both).unwrap();
        assert_eq!(
            headlines(&f.r.article_set().all(db).unwrap()),
            ["This is a test"]
        );
        assert_eq!(
            headlines(&f.r2.article_set().all(db).unwrap()),
            ["John's second story", "Paul's story"]
        );
        // The key may not be NULL: set() can only add, not take away.
        f.r.article_set()
            .set(db, std::slice::from_mut(&mut new_article))
            .unwrap();
        assert_eq!(
            headlines(&f.r.article_set().all(db).unwrap()),
            ["John's second story", "This is a test"]
        );
        assert_eq!(
            headlines(&f.r2.article_set().all(db).unwrap()),
            ["Paul's story"]
        );
    });
}

#[test]
fn test_assign_remove_and_clear_need_a_nullable_key() {
    run_m2o(|db, f| {
        let mut a = f.a.clone();
        assert_error_contains(
            f.r.article_set().remove(db, std::slice::from_mut(&mut a)),
            "remove() is only available when the foreign key Article.reporter is NULL-able",
        );
        assert_error_contains(
            f.r.article_set().clear(db),
            "clear() is only available when the foreign key Article.reporter is NULL-able",
        );
    });
}

#[test]
fn test_selects() {
    run_m2o(|db, f| {
        let new_article1 =
            f.r.article_set()
                .create(db, article("John's second story", date(2005, 7, 29), 0))
                .unwrap();
        f.r2.article_set()
            .create(db, article("Paul's story", date(2006, 1, 17), 0))
            .unwrap();
        assert_eq!(
            headlines(&f.r.article_set().all(db).unwrap()),
            ["John's second story", "This is a test"]
        );
        let this =
            f.r.article_set()
                .filter(q!(headline__startswith = "This"))
                .all(db)
                .unwrap();
        assert_eq!(headlines(&this), ["This is a test"]);
        assert_eq!(f.r.article_set().count(db).unwrap(), 2);
        assert_eq!(f.r2.article_set().count(db).unwrap(), 1);
        let by_john = ["John's second story", "This is a test"];
        let all = |q: Q| Article::objects().filter(q).all(db).unwrap();
        assert_eq!(
            headlines(&all(q!(reporter__first_name__exact = "John"))),
            by_john
        );
        assert_eq!(headlines(&all(q!(reporter__first_name = "John"))), by_john);
        // Two conditions on one relation in one filter() share one join.
        let (rows, queries) = capture_queries(|| {
            all(q!(
                reporter__first_name__exact = "John",
                reporter__last_name__exact = "Smith"
            ))
        });
        assert_eq!(headlines(&rows), by_john);
        assert_eq!(queries.len(), 1);
        assert_eq!(
            queries[0].matches("INNER JOIN").count(),
            1,
            "{}",
            queries[0]
        );
        assert_eq!(headlines(&all(q!(reporter__id__exact = f.r.id))), by_john);
        assert_eq!(headlines(&all(q!(reporter__pk = f.r.id))), by_john);
        assert_eq!(headlines(&all(q!(reporter = f.r.id))), by_john);
        assert_eq!(headlines(&all(q!(reporter = &f.r))), by_john);
        // The key comparison reads the article's own column: no join.
        let (_, queries) = capture_queries(|| all(q!(reporter__id = f.r.id)));
        assert!(!queries[0].contains("JOIN"), "{}", queries[0]);
        let both = Article::objects()
            .filter(q!(reporter__in = vec![f.r.id, f.r2.id]))
            .distinct()
            .all(db)
            .unwrap();
        assert_eq!(
            headlines(&both),
            ["John's second story", "Paul's story", "This is a test"]
        );
        let both = Article::objects()
            .filter(q!(
                reporter__in = vec![Value::from(&f.r), Value::from(&f.r2)]
            ))
            .distinct()
            .all(db)
            .unwrap();
        assert_eq!(both.len(), 3);
        assert_eq!(new_article1.reporter.id(), &f.r.id);
    });
}

#[test]
fn test_reverse_selects() {
    run_m2o(|db, f| {
        let a3 = Article::objects()
            .create(db, article("Third article", date(2005, 7, 27), f.r.id))
            .unwrap();
        Article::objects()
            .create(db, article("Fourth article", date(2005, 7, 27), f.r.id))
            .unwrap();
        let john = |q: Q| -> Vec<i64> {
            Reporter::objects()
                .filter(q)
                .all(db)
                .unwrap()
                .iter()
                .map(|r| r.id)
                .collect()
        };
        assert_eq!(john(q!(id__exact = f.r.id)), [f.r.id]);
        assert_eq!(john(q!(first_name__startswith = "John")), [f.r.id]);
        assert_eq!(john(q!(article__id__exact = f.a.id)), [f.r.id]);
        assert_eq!(john(q!(article__pk = f.a.id)), [f.r.id]);
        assert_eq!(john(q!(article = f.a.id)), [f.r.id]);
        assert_eq!(john(q!(article = &f.a)), [f.r.id]);
        let distinct = |q: Q| Reporter::objects().filter(q).distinct().count(db).unwrap();
        assert_eq!(distinct(q!(article__in = vec![f.a.id, a3.id])), 1);
        assert_eq!(
            john(q!(article__headline__startswith = "T")),
            [f.r.id, f.r.id]
        );
        assert_eq!(distinct(q!(article__headline__startswith = "T")), 1);
        assert_eq!(
            Reporter::objects()
                .filter(q!(article__headline__startswith = "T"))
                .count(db)
                .unwrap(),
            2
        );
        assert_eq!(
            john(q!(article__reporter__first_name__startswith = "John")),
            [f.r.id, f.r.id, f.r.id]
        );
        assert_eq!(
            distinct(q!(article__reporter__first_name__startswith = "John")),
            1
        );
        assert_eq!(distinct(q!(article__reporter__exact = &f.r)), 1);
        assert_eq!(distinct(q!(article__reporter = &f.r)), 1);
        let names = Article::objects()
            .filter(q!(reporter = &f.r))
            .distinct()
            .order_by(Vec::<String>::new())
            .values(["reporter__first_name", "reporter__last_name"])
            .all(db)
            .unwrap();
        assert_eq!(names.len(), 1);
        assert_eq!(
            names[0].get_as::<String>("reporter__first_name").unwrap(),
            "John"
        );
        assert_eq!(
            names[0].get_as::<String>("reporter__last_name").unwrap(),
            "Smith"
        );
    });
}

#[test]
fn test_delete() {
    run_m2o(|db, f| {
        f.r.article_set()
            .create(db, article("John's second story", date(2005, 7, 29), 0))
            .unwrap();
        f.r2.article_set()
            .create(db, article("Paul's story", date(2006, 1, 17), 0))
            .unwrap();
        Article::objects()
            .create(db, article("Third article", date(2005, 7, 27), f.r.id))
            .unwrap();
        Article::objects()
            .create(db, article("Fourth article", date(2005, 7, 27), f.r.id))
            .unwrap();
        let all = || headlines(&Article::objects().all(db).unwrap()).join("|");
        assert_eq!(
            all(),
            "Fourth article|John's second story|Paul's story|Third article|This is a test"
        );
        let mut r2 = f.r2.clone();
        let deleted = r2.delete(db).unwrap();
        assert_eq!(deleted.total, 2);
        assert_eq!(
            deleted.per_model,
            [
                ("many_to_one.Article".to_owned(), 1),
                ("many_to_one.Reporter".to_owned(), 1)
            ]
        );
        assert_eq!(
            all(),
            "Fourth article|John's second story|Third article|This is a test"
        );
        // A delete through a join.
        let deleted = Reporter::objects()
            .filter(q!(article__headline__startswith = "This"))
            .delete(db)
            .unwrap();
        assert_eq!(
            deleted.per_model,
            [
                ("many_to_one.Article".to_owned(), 4),
                ("many_to_one.Reporter".to_owned(), 1)
            ]
        );
        assert_eq!(Reporter::objects().count(db).unwrap(), 0);
        assert_eq!(Article::objects().count(db).unwrap(), 0);
    });
}

#[test]
fn test_explicit_fk() {
    run_m2o(|db, f| {
        let (a2, created) = Article::objects()
            .get_or_create(
                db,
                q!(
                    headline = "John's second test",
                    pub_date = date(2011, 5, 7),
                    reporter_id = f.r.id
                ),
                [],
            )
            .unwrap();
        assert!(created);
        assert_eq!(*a2.reporter.id(), f.r.id);
        let rows = Article::objects()
            .filter(q!(reporter_id__exact = f.r.id))
            .all(db)
            .unwrap();
        assert_eq!(headlines(&rows), ["John's second test", "This is a test"]);
        let a3 = Article::objects()
            .create(db, article("Paul's commentary", date(2011, 5, 7), f.r2.id))
            .unwrap();
        assert_error_contains(
            Article::objects().get(db, q!(reporter_id = f.r.id)),
            "get() returned more than one Article -- it returned 2!",
        );
        let got = Article::objects()
            .get(db, q!(reporter_id = f.r2.id, pub_date = date(2011, 5, 7)))
            .unwrap();
        assert_eq!(got, a3);
    });
}

#[test]
fn test_values_list_exception() {
    run_m2o(|db, _| {
        assert_error_contains(
            Article::objects()
                .values_list(["reporter__notafield"])
                .all(db),
            "Cannot resolve keyword 'notafield' into field of Reporter. Choices are: article, \
             email, first_name, id, last_name",
        );
        assert_error_contains(
            Article::objects().filter(q!(notafield = 1)).all(db),
            "Cannot resolve keyword 'notafield' into field of Article. Choices are: headline, \
             id, pub_date, reporter",
        );
    });
}

#[test]
fn test_relation_unsaved() {
    run_m2o(|db, _| {
        let mut th = Third {
            id: 0,
            name: "testing".into(),
            third: None,
            _state: ModelState::new(),
        };
        assert_error_contains(
            th.child_set().count(db),
            "'Third' instance needs to have a primary key value before this relationship can be used.",
        );
        th.save(db).unwrap();
        let (n, queries) = capture_queries(|| th.child_set().count(db));
        assert_eq!(n.unwrap(), 0);
        assert_eq!(queries.len(), 1);
    });
}

#[test]
fn test_multiple_foreignkeys() {
    run_m2o(|db, _| {
        let cat = |name: &str| {
            Category::objects()
                .create(
                    db,
                    Category {
                        id: 0,
                        name: name.into(),
                        _state: ModelState::new(),
                    },
                )
                .unwrap()
        };
        let (c1, c2, c3) = (cat("First"), cat("Second"), cat("Third"));
        let rec = |c: &Category| {
            Record::objects()
                .create(
                    db,
                    Record {
                        id: 0,
                        category: ForeignKey::to(c).unwrap(),
                        _state: ModelState::new(),
                    },
                )
                .unwrap()
        };
        let (r1, r2, r3, r4, r5) = (rec(&c1), rec(&c1), rec(&c2), rec(&c2), rec(&c3));
        let relate = |l: &Record, r: &Record| {
            Relation::objects()
                .create(
                    db,
                    Relation {
                        id: 0,
                        left: ForeignKey::to(l).unwrap(),
                        right: ForeignKey::to(r).unwrap(),
                        _state: ModelState::new(),
                    },
                )
                .unwrap()
        };
        relate(&r1, &r2);
        relate(&r3, &r4);
        let rel = relate(&r1, &r3);
        relate(&r5, &r2);
        relate(&r3, &r2);
        let found = Relation::objects()
            .filter(q!(
                left__category__name__in = vec!["First"],
                right__category__name__in = vec!["Second"]
            ))
            .all(db)
            .unwrap();
        assert_eq!(found, [rel]);
        let cats: Vec<String> = Category::objects()
            .filter(q!(record__left_set__right__category__name = "Second"))
            .order_by(["name"])
            .all(db)
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(cats, ["First", "Second"]);
    });
}

#[test]
fn test_fk_to_bigautofield_and_smallautofield() {
    run_m2o(|db, _| {
        let us = Country::objects()
            .create(
                db,
                Country {
                    id: 0,
                    name: "United States".into(),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let mut uk = Country {
            id: 1 << 11,
            name: "United Kingdom".into(),
            _state: ModelState::new(),
        };
        uk.state_mut().set_pk_explicit();
        let uk = Country::objects().create(db, uk).unwrap();
        let city = |country: &Country, name: &str, id: i64| {
            let mut c = City {
                id,
                country: Some(ForeignKey::to(country).unwrap()),
                name: name.into(),
                _state: ModelState::new(),
            };
            if id != 0 {
                c.state_mut().set_pk_explicit();
            }
            City::objects().create(db, c).unwrap()
        };
        city(&us, "Chicago", 0);
        let ny = city(&us, "New York", 1 << 33);
        city(&uk, "London", 0);
        for name in ["Brooklyn", "Manhattan"] {
            District::objects()
                .create(
                    db,
                    District {
                        id: 0,
                        city: Some(ForeignKey::to(&ny).unwrap()),
                        name: name.into(),
                        _state: ModelState::new(),
                    },
                )
                .unwrap();
        }
        assert_eq!(ny.districts().count(db).unwrap(), 2);
        assert_eq!(uk.cities().count(db).unwrap(), 1);
    });
}

fn district(db: &Database, name: &str, city: Option<&City>) -> District {
    District::objects()
        .create(
            db,
            District {
                id: 0,
                city: city.map(|c| ForeignKey::to(c).unwrap()),
                name: name.into(),
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

fn musical_city(db: &Database) -> City {
    City::objects()
        .create(
            db,
            City {
                id: 0,
                country: None,
                name: "Musical City".into(),
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

fn names(ds: &[District]) -> Vec<&str> {
    ds.iter().map(|d| d.name.as_str()).collect()
}

#[test]
fn test_create_clear_remove_after_prefetch() {
    run_m2o(|db, _| {
        let c = musical_city(db);
        let mut d1 = district(db, "Ladida", Some(&c));
        let city = City::objects()
            .prefetch_related(["districts"])
            .get(db, q!(id = c.id))
            .unwrap();
        let (all, queries) = capture_queries(|| city.districts().all(db));
        assert_eq!(names(&all.unwrap()), ["Ladida"]);
        assert!(queries.is_empty(), "read from the prefetch cache");
        city.districts()
            .create(
                db,
                District {
                    id: 0,
                    city: None,
                    name: "Goa".into(),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        assert_eq!(names(&city.districts().all(db).unwrap()), ["Ladida", "Goa"]);
        city.districts()
            .remove(db, std::slice::from_mut(&mut d1))
            .unwrap();
        assert_eq!(names(&city.districts().all(db).unwrap()), ["Goa"]);
        city.districts().clear(db).unwrap();
        assert!(city.districts().all(db).unwrap().is_empty());
    });
}

#[test]
fn test_add_set_remove_after_prefetch() {
    run_m2o(|db, _| {
        let c = musical_city(db);
        district(db, "Ladida", Some(&c));
        let mut d2 = district(db, "Ladidu", None);
        let city = City::objects()
            .prefetch_related(["districts"])
            .get(db, q!(id = c.id))
            .unwrap();
        assert_eq!(city.districts().count(db).unwrap(), 1);
        city.districts()
            .add(db, std::slice::from_mut(&mut d2))
            .unwrap();
        assert_eq!(city.districts().count(db).unwrap(), 2);
        city.districts()
            .remove(db, std::slice::from_mut(&mut d2))
            .unwrap();
        assert_eq!(city.districts().count(db).unwrap(), 1);
        city.districts()
            .set(db, std::slice::from_mut(&mut d2))
            .unwrap();
        assert_eq!(names(&city.districts().all(db).unwrap()), ["Ladidu"]);
        // remove() of an object that is not related is refused.
        let mut other = district(db, "Elsewhere", None);
        assert!(city
            .districts()
            .remove(db, std::slice::from_mut(&mut other))
            .unwrap_err()
            .is_does_not_exist());
    });
}

#[test]
fn test_cached_relation_invalidated_on_set_id() {
    run_m2o(|db, f| {
        let mut a = Article::objects().get(db, q!(pk = f.a.id)).unwrap();
        assert_eq!(a.reporter.get(db).unwrap().id, f.r.id);
        a.reporter.set_id(f.r2.id);
        a.save(db).unwrap();
        assert_eq!(a.reporter.get(db).unwrap().first_name, "Paul");
    });
}

#[test]
fn test_to_field() {
    run_m2o(|db, _| {
        let parent = Parent::objects()
            .create(
                db,
                Parent {
                    id: 0,
                    name: "jeff".into(),
                    bestchild: None,
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let child = ToFieldChild::objects()
            .create(
                db,
                ToFieldChild {
                    id: 0,
                    parent: ForeignKey::new("jeff".to_owned()),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        assert_eq!(child.parent.id(), "jeff");
        let child = ToFieldChild::objects().get(db, q!(pk = child.id)).unwrap();
        assert_eq!(child.parent.get(db).unwrap().id, parent.id);
        assert_eq!(parent.to_field_children().count(db).unwrap(), 1);
        let found = Parent::objects()
            .filter(q!(to_field_children__id = child.id))
            .all(db)
            .unwrap();
        assert_eq!(found[0].id, parent.id);
        let kids = ToFieldChild::objects()
            .filter(q!(parent__name = "jeff"))
            .select_related(["parent"])
            .all(db)
            .unwrap();
        assert_eq!(kids[0].parent.cached().unwrap().id, parent.id);
    });
}

#[test]
fn test_fk_assignment_unsaved_parent() {
    run_m2o(|_, _| {
        let p = Parent {
            id: 0,
            name: "x".into(),
            bestchild: None,
            _state: ModelState::new(),
        };
        assert_error_contains(
            ForeignKey::<Parent>::to(&p),
            "save() prohibited to prevent data loss due to unsaved related object 'parent'.",
        );
    });
}

#[test]
fn test_not_null_key_is_an_integrity_error() {
    run_m2o(|db, _| {
        let c = Child {
            id: 0,
            name: "x".into(),
            parent: ForeignKey::new(999),
            _state: ModelState::new(),
        };
        // A key to no row violates the constraint (at COMMIT where it is deferred).
        let r = db.atomic(|tx| Child::objects().create(tx, c.clone()));
        assert!(r.unwrap_err().is_integrity_error());
        assert_eq!(Child::objects().count(db).unwrap(), 0);
    });
}

#[test]
fn values_list_as_typed_tuples() {
    // values_list() read straight into a tuple; across the reverse relation (a LEFT
    // OUTER JOIN) the article's columns are NULL for the reporter without one.
    run_m2o(|db, f| {
        let rows: Vec<(i64, String, Option<String>, Option<NaiveDate>)> = Reporter::objects()
            .order_by(["pk"])
            .values_list_as(["id", "first_name", "article__headline", "article__pub_date"])
            .all(db)
            .unwrap();
        assert_eq!(
            rows,
            [
                (
                    f.r.id,
                    "John".to_owned(),
                    Some("This is a test".to_owned()),
                    Some(date(2005, 7, 27))
                ),
                (f.r2.id, "Paul".to_owned(), None, None),
            ]
        );
        // A foreign key reads as its key; annotations are columns too.
        let rows: Vec<(i64, i64)> = Article::objects()
            .annotate([("n", Count("reporter__article"))])
            .values_list_as(["reporter", "n"])
            .all(db)
            .unwrap();
        assert_eq!(rows, [(f.a.reporter.id().to_owned(), 1)]);
        // The tuple must match the fields; a NULL needs an Option.
        assert_error_contains(
            Reporter::objects()
                .values_list_as::<(i64,), _>(["id", "first_name"])
                .all(db),
            "values_list_as() names 2 fields for a tuple of 1",
        );
        assert!(Reporter::objects()
            .filter(q!(pk = f.r2.id))
            .values_list_as::<(String,), _>(["article__headline"])
            .all(db)
            .is_err());
    });
}
