//! Ported from Django's `tests/basic/tests.py`: instance creation, save, get, errors,
//! refresh, plus the instance API around it (update_fields, force_*, full_clean).

mod common;

use chrono::{TimeZone, Utc};
use common::{assert_error_contains, run};
use quarry::prelude::*;
use quarry::IntegrityKind;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "basic", ordering = ["pub_date", "headline"], get_latest_by = "pub_date")]
pub struct Article {
    #[field(primary_key)]
    pub id: i64,
    #[field(max_length = 100, default = "Default headline")]
    pub headline: String,
    pub pub_date: DateTime<Utc>,
    pub _state: ModelState,
}

fn no_digits(v: &Value) -> Result<(), String> {
    match v {
        Value::Text(s) if s.chars().any(|c| c.is_ascii_digit()) => Err("No digits allowed.".into()),
        _ => Ok(()),
    }
}

#[derive(Choices, Debug, Clone, Copy, PartialEq)]
pub enum Size {
    #[choice(value = "S", label = "Small")]
    Small,
    #[choice(value = "L", label = "Large")]
    Large,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "basic", unique_together = [["name", "size"]])]
pub struct Product {
    #[field(primary_key)]
    pub id: i32,
    #[field(max_length = 10, validators = [no_digits])]
    pub name: String,
    pub size: Size,
    #[field(max_digits = 5, decimal_places = 2)]
    pub price: Decimal,
    #[field(kind = "EmailField", blank)]
    pub contact: String,
    #[field(kind = "URLField", blank)]
    pub site: Option<String>,
    #[field(kind = "GenericIPAddressField", blank)]
    pub ip: Option<String>,
    #[field(unique, kind = "SlugField")]
    pub slug: String,
    #[field(auto_now)]
    pub modified: Option<DateTime<Utc>>,
    #[field(auto_now_add)]
    pub created: Option<DateTime<Utc>>,
    pub _state: ModelState,
}

fn dt(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
}

fn article(headline: &str, pub_date: DateTime<Utc>) -> Article {
    Article {
        id: 0,
        headline: headline.into(),
        pub_date,
        _state: ModelState::new(),
    }
}

fn product(name: &str, slug: &str) -> Product {
    Product {
        id: 0,
        name: name.into(),
        size: Size::Small,
        price: "1.50".parse().unwrap(),
        contact: "shop@example.com".into(),
        site: None,
        ip: None,
        slug: slug.into(),
        modified: None,
        created: None,
        _state: ModelState::new(),
    }
}

#[test]
fn test_object_is_not_written_to_database_until_save_was_called() {
    run(&[Article::meta()], |db| {
        let mut a = article("Parrot programs in Python", dt(2005, 7, 28));
        assert!(a._state.adding());
        assert_eq!(Article::objects().count(db).unwrap(), 0);
        a.save(db).unwrap();
        assert!(!a._state.adding());
        assert_eq!(a.id, 1);
        assert_eq!(Article::objects().count(db).unwrap(), 1);
    });
}

#[test]
fn test_can_create_instance_using_kwargs_and_defaults() {
    run(&[Article::meta()], |db| {
        let mut a = Article::from_pairs([("pub_date", Value::from(dt(2005, 7, 31)))]).unwrap();
        assert_eq!(a.headline, "Default headline");
        a.save(db).unwrap();
        assert_eq!(
            Article::objects().get(db, q!(pk = a.id)).unwrap().headline,
            "Default headline"
        );
    });
}

#[test]
fn test_cannot_create_instance_with_invalid_kwargs() {
    let r = Article::from_pairs([
        ("headline", Value::from("Some headline")),
        ("pub_date", Value::from(dt(2005, 7, 31))),
        ("foo", Value::from("bar")),
        ("bar", Value::from("baz")),
    ]);
    assert_error_contains(r, "Invalid field name(s) for model Article: 'foo', 'bar'. Choices are: headline, id, pub_date");
    assert_error_contains(
        Article::from_pairs([("headline", Value::from("x"))]),
        "Article.pub_date has no value and no default",
    );
}

#[test]
fn test_autofields_generate_different_values_for_each_instance() {
    run(&[Article::meta()], |db| {
        let a1 = Article::objects()
            .create(db, article("First", dt(2005, 7, 30)))
            .unwrap();
        let a2 = Article::objects()
            .create(db, article("Second", dt(2005, 7, 30)))
            .unwrap();
        let a3 = Article::objects()
            .create(db, article("Third", dt(2005, 7, 30)))
            .unwrap();
        assert!(a1.id != a2.id && a2.id != a3.id && a1.id != a3.id);
    });
}

#[test]
fn test_datetime_precision() {
    run(&[Article::meta()], |db| {
        for (h, m, s, us) in [(12, 30, 0, 0), (12, 30, 45, 0), (12, 30, 45, 180)] {
            let when = Utc.with_ymd_and_hms(2005, 7, 31, h, m, s).unwrap()
                + chrono::TimeDelta::microseconds(us);
            let a = Article::objects()
                .create(db, article("Article", when))
                .unwrap();
            assert_eq!(
                Article::objects()
                    .get(db, q!(id__exact = a.id))
                    .unwrap()
                    .pub_date,
                when
            );
        }
    });
}

#[test]
fn test_saving_an_object_again_does_not_create_a_new_object() {
    run(&[Article::meta()], |db| {
        let mut a = article("original", dt(2014, 5, 16));
        a.save(db).unwrap();
        let current = a.id;
        a.save(db).unwrap();
        assert_eq!(a.id, current);
        a.headline = "Updated headline".into();
        a.save(db).unwrap();
        assert_eq!(a.id, current);
        assert_eq!(Article::objects().count(db).unwrap(), 1);
        assert_eq!(
            Article::objects()
                .get(db, q!(pk = current))
                .unwrap()
                .headline,
            "Updated headline"
        );
    });
}

#[test]
fn test_manually_specify_primary_key() {
    run(&[Article::meta()], |db| {
        let mut a = Article::from_pairs([
            ("id", Value::from(101)),
            ("headline", Value::from("Article 101")),
            ("pub_date", Value::from(dt(2005, 7, 31))),
        ])
        .unwrap();
        a.save(db).unwrap();
        assert_eq!(
            Article::objects().get(db, q!(pk = 101)).unwrap().headline,
            "Article 101"
        );
        // The same with a struct literal and an explicit pk.
        let mut b = article("Article 102", dt(2005, 7, 31));
        b.id = 102;
        b._state.set_pk_explicit();
        b.save(db).unwrap();
        assert_eq!(
            Article::objects().get(db, q!(pk = 102)).unwrap().headline,
            "Article 102"
        );
    });
}

#[test]
fn test_create_method_and_equality() {
    run(&[Article::meta()], |db| {
        let a10 = Article::objects()
            .create(db, article("Article 10", dt(2005, 7, 31)))
            .unwrap();
        assert_eq!(
            Article::objects()
                .get(db, q!(headline = "Article 10"))
                .unwrap(),
            a10
        );
        let a = Article::objects().get(db, q!(pk = a10.id)).unwrap();
        let b = Article::objects().get(db, q!(pk = a10.id)).unwrap();
        assert_eq!(a, b);
    });
}

#[test]
fn test_year_lookup_edge_case() {
    run(&[Article::meta()], |db| {
        let a11 = Article::objects()
            .create(db, article("Article 11", dt(2008, 1, 1)))
            .unwrap();
        let last = Utc.with_ymd_and_hms(2008, 12, 31, 23, 59, 59).unwrap()
            + chrono::TimeDelta::microseconds(999_999);
        let a12 = Article::objects()
            .create(db, article("Article 12", last))
            .unwrap();
        Article::objects()
            .create(db, article("Article 13", dt(2009, 1, 1)))
            .unwrap();
        assert_eq!(
            Article::objects()
                .filter(q!(pub_date__year = 2008))
                .all(db)
                .unwrap(),
            vec![a11, a12]
        );
    });
}

#[test]
fn test_unicode_data() {
    run(&[Article::meta()], |db| {
        let a = Article::objects()
            .create(
                db,
                article("\u{6797}\u{539f} \u{3081}\u{3050}\u{307f}", dt(2005, 7, 28)),
            )
            .unwrap();
        assert_eq!(
            Article::objects().get(db, q!(pk = a.id)).unwrap().headline,
            "\u{6797}\u{539f} \u{3081}\u{3050}\u{307f}"
        );
    });
}

#[test]
fn test_queryset_delete_removes_all_items_in_that_queryset() {
    run(&[Article::meta()], |db| {
        for h in ["Parrot", "Second", "Third"] {
            Article::objects()
                .create(db, article(h, dt(2014, 5, 16)))
                .unwrap();
        }
        let deleted = Article::objects()
            .filter(q!(headline__in = ["Second", "Third"]))
            .delete(db)
            .unwrap();
        assert_eq!(deleted.total, 2);
        assert_eq!(deleted.per_model, vec![("basic.Article".to_string(), 2)]);
        assert_eq!(
            Article::objects()
                .values_list_flat("headline")
                .all(db)
                .unwrap(),
            vec![Value::from("Parrot")]
        );
    });
}

#[test]
fn test_emptyqs() {
    run(&[Article::meta()], |db| {
        Article::objects()
            .create(db, article("A", dt(2014, 5, 16)))
            .unwrap();
        assert!(Article::objects()
            .none()
            .values(["headline"])
            .all(db)
            .unwrap()
            .is_empty());
        assert!(Article::objects()
            .none()
            .distinct()
            .all(db)
            .unwrap()
            .is_empty());
        assert!(!Article::objects().none().exists(db).unwrap());
        assert_eq!(Article::objects().none().delete(db).unwrap().total, 0);
    });
}

#[test]
fn test_multiple_objects_max_num_fetched() {
    run(&[Article::meta()], |db| {
        let objs = (0..20)
            .map(|i| article(&format!("Area {i}"), dt(2005, 7, 28)))
            .collect();
        Article::objects()
            .bulk_create(db, objs, &BulkCreate::new())
            .unwrap();
        assert_error_contains(
            Article::objects().get(db, q!(headline__startswith = "Area")),
            "get() returned more than one Article -- it returned 20!",
        );
        Article::objects()
            .create(db, article("Area 20", dt(2005, 7, 28)))
            .unwrap();
        let err = Article::objects()
            .get(db, q!(headline__startswith = "Area"))
            .unwrap_err();
        assert!(matches!(
            err,
            Error::MultipleObjectsReturned {
                model: "Article",
                count: 20,
                more: true
            }
        ));
        assert!(err
            .to_string()
            .contains("get() returned more than one Article -- it returned more than 20!"));
    });
}

#[test]
fn test_rich_lookup_and_does_not_exist() {
    run(&[Article::meta()], |db| {
        let a = Article::objects()
            .create(db, article("Swallow programs in Python", dt(2005, 7, 28)))
            .unwrap();
        assert_eq!(Article::objects().get(db, q!(id__exact = a.id)).unwrap(), a);
        assert_eq!(
            Article::objects()
                .get(db, q!(headline__startswith = "Swallow"))
                .unwrap(),
            a
        );
        assert_eq!(
            Article::objects()
                .get(db, q!(pub_date__year = 2005))
                .unwrap(),
            a
        );
        assert_eq!(
            Article::objects()
                .get(db, q!(pub_date__year = 2005, pub_date__month = 7))
                .unwrap(),
            a
        );
        assert_eq!(
            Article::objects()
                .get(
                    db,
                    q!(
                        pub_date__year = 2005,
                        pub_date__month = 7,
                        pub_date__day = 28
                    )
                )
                .unwrap(),
            a
        );
        assert_eq!(
            Article::objects()
                .get(db, q!(pub_date__week_day = 5))
                .unwrap(),
            a
        );
        assert!(Article::objects()
            .filter(q!(pub_date__week_day = 6))
            .all(db)
            .unwrap()
            .is_empty());
        assert!(Article::objects()
            .filter(q!(pub_date__year = 2004))
            .all(db)
            .unwrap()
            .is_empty());
        assert_eq!(
            Article::objects()
                .filter(q!(pk__in = [a.id]))
                .all(db)
                .unwrap(),
            vec![a.clone()]
        );
        let err = Article::objects()
            .get(db, q!(id__exact = 2000))
            .unwrap_err();
        assert!(err.is_does_not_exist());
        assert_eq!(err.to_string(), "Article matching query does not exist.");
        assert!(Article::objects()
            .get(db, q!(pub_date__year = 2005, pub_date__month = 8))
            .unwrap_err()
            .is_does_not_exist());
        // too many
        Article::objects()
            .create(db, article("Swallow bites Python", dt(2005, 7, 28)))
            .unwrap();
        assert_error_contains(
            Article::objects().get(db, q!(headline__startswith = "Swallow")),
            "get() returned more than one Article -- it returned 2!",
        );
    });
}

#[test]
fn test_refresh_and_delete() {
    run(&[Article::meta()], |db| {
        let mut a = Article::objects()
            .create(db, article("original", dt(2005, 7, 28)))
            .unwrap();
        Article::objects()
            .filter(q!(pk = a.id))
            .update(db, [("headline", "new headline")])
            .unwrap();
        assert_eq!(a.headline, "original");
        a.refresh_from_db(db).unwrap();
        assert_eq!(a.headline, "new headline");
        let deleted = a.delete(db).unwrap();
        assert_eq!(deleted.total, 1);
        assert!(a._state.adding());
        assert!(a.refresh_from_db(db).unwrap_err().is_does_not_exist());
        assert_error_contains(
            article("x", dt(2005, 1, 1)).delete(db),
            "can't be deleted because its id attribute is not set",
        );
    });
}

#[test]
fn test_save_options() {
    run(&[Article::meta()], |db| {
        let mut a = Article::objects()
            .create(db, article("one", dt(2005, 7, 28)))
            .unwrap();
        // update_fields writes only the fields named.
        a.headline = "two".into();
        a.pub_date = dt(2006, 1, 1);
        a.save_with(db, &SaveOptions::new().update_fields(["headline"]))
            .unwrap();
        let fresh = Article::objects().get(db, q!(pk = a.id)).unwrap();
        assert_eq!(
            (fresh.headline.as_str(), fresh.pub_date),
            ("two", dt(2005, 7, 28))
        );
        assert_error_contains(
            a.save_with(db, &SaveOptions::new().update_fields(["nope"])),
            "nope",
        );
        assert_error_contains(
            a.save_with(
                db,
                &SaveOptions::new().force_insert(true).force_update(true),
            ),
            "Cannot force both insert and updating in model saving.",
        );
        // force_update on a row that is gone fails; a plain save re-inserts it.
        Article::objects().filter(q!(pk = a.id)).delete(db).unwrap();
        assert_error_contains(
            a.save_with(db, &SaveOptions::new().force_update(true)),
            "Forced update did not affect any rows.",
        );
        assert_error_contains(
            a.save_with(db, &SaveOptions::new().update_fields(["headline"])),
            "Save with update_fields did not affect any rows.",
        );
        a.save(db).unwrap();
        assert_eq!(
            Article::objects().get(db, q!(pk = a.id)).unwrap().headline,
            "two"
        );
        // force_insert of an existing row is an IntegrityError.
        let err = a
            .save_with(db, &SaveOptions::new().force_insert(true))
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::IntegrityError {
                    kind: IntegrityKind::Unique,
                    ..
                }
            ),
            "{err}"
        );
    });
}

#[test]
fn test_first_last_earliest_latest() {
    run(&[Article::meta()], |db| {
        assert_eq!(Article::objects().first(db).unwrap(), None);
        let a = Article::objects()
            .create(db, article("b", dt(2005, 7, 28)))
            .unwrap();
        let b = Article::objects()
            .create(db, article("a", dt(2005, 7, 29)))
            .unwrap();
        let c = Article::objects()
            .create(db, article("c", dt(2005, 7, 27)))
            .unwrap();
        assert_eq!(Article::objects().first(db).unwrap(), Some(c.clone()));
        assert_eq!(Article::objects().last(db).unwrap(), Some(b.clone()));
        assert_eq!(
            Article::objects().order_by(["headline"]).first(db).unwrap(),
            Some(b.clone())
        );
        assert_eq!(
            Article::objects()
                .order_by(Vec::<&str>::new())
                .first(db)
                .unwrap(),
            Some(a.clone())
        );
        assert_eq!(
            Article::objects()
                .order_by(Vec::<&str>::new())
                .last(db)
                .unwrap(),
            Some(c.clone())
        );
        assert_eq!(Article::objects().earliest(db, &[]).unwrap(), c);
        assert_eq!(Article::objects().latest(db, &[]).unwrap(), b);
        assert_eq!(Article::objects().earliest(db, &["headline"]).unwrap(), b);
        assert_eq!(Article::objects().latest(db, &["headline"]).unwrap(), c);
        assert!(Article::objects()
            .filter(q!(headline = "zzz"))
            .latest(db, &[])
            .unwrap_err()
            .is_does_not_exist());
    });
}

#[test]
fn test_slicing_ordering_and_reverse() {
    run(&[Article::meta()], |db| {
        for (i, d) in [(1, 27), (2, 28), (3, 29), (4, 30)] {
            Article::objects()
                .create(db, article(&format!("A{i}"), dt(2005, 7, d)))
                .unwrap();
        }
        let heads = |qs: QuerySet<Article>| -> Vec<String> {
            qs.all(db)
                .unwrap()
                .into_iter()
                .map(|a| a.headline)
                .collect()
        };
        assert_eq!(heads(Article::objects().slice(1..3)), ["A2", "A3"]);
        assert_eq!(heads(Article::objects().slice(2..)), ["A3", "A4"]);
        assert_eq!(heads(Article::objects().slice(..1)), ["A1"]);
        assert_eq!(heads(Article::objects().slice(1..3).slice(1..)), ["A3"]);
        assert_eq!(
            heads(Article::objects().reverse()),
            ["A4", "A3", "A2", "A1"]
        );
        assert_eq!(
            heads(Article::objects().order_by(["-headline"]).reverse()),
            ["A1", "A2", "A3", "A4"]
        );
        assert_eq!(Article::objects().order_by(["?"]).count(db).unwrap(), 4);
        assert_eq!(Article::objects().slice(1..3).get(db, q!()).unwrap_err().to_string(), "get() returned more than one Article -- it returned 2! Narrow the filter, or use filter() to read them all.");
        assert_eq!(
            Article::objects()
                .slice(1..2)
                .get(db, q!())
                .unwrap()
                .headline,
            "A2"
        );
        assert_error_contains(
            Article::objects().slice(-1..).all(db),
            "Negative indexing is not supported.",
        );
        assert_error_contains(
            Article::objects().slice(0..2).filter(q!(pk = 1)).all(db),
            "Cannot filter a query once a slice has been taken.",
        );
        assert_error_contains(
            Article::objects().slice(0..2).order_by(["pk"]).all(db),
            "Cannot reorder a query once a slice has been taken.",
        );
        assert_error_contains(
            Article::objects()
                .slice(0..2)
                .update(db, [("headline", "x")]),
            "Cannot update a query once a slice has been taken.",
        );
        assert_error_contains(
            Article::objects().slice(0..2).delete(db),
            "Cannot use 'limit' or 'offset' with delete().",
        );
        assert_error_contains(
            Article::objects().order_by(["nope"]).all(db),
            "Cannot resolve keyword 'nope' into field of Article",
        );
    });
}

#[test]
fn test_distinct_values_and_explain() {
    run(&[Article::meta()], |db| {
        for h in ["x", "x", "y"] {
            Article::objects()
                .create(db, article(h, dt(2005, 7, 28)))
                .unwrap();
        }
        let distinct = Article::objects()
            .order_by(["headline"])
            .values_list_flat("headline")
            .distinct()
            .all(db)
            .unwrap();
        assert_eq!(distinct, vec![Value::from("x"), Value::from("y")]);
        assert_eq!(
            Article::objects()
                .values(["headline"])
                .distinct()
                .count(db)
                .unwrap(),
            2
        );
        let plan = Article::objects()
            .filter(q!(headline = "x"))
            .explain(db)
            .unwrap();
        match common::vendor(db) {
            quarry::sql::Vendor::Sqlite => {
                assert!(plan.contains("SCAN") || plan.contains("SEARCH"), "{plan}")
            }
            quarry::sql::Vendor::Postgres => assert!(plan.contains("Scan"), "{plan}"),
            _ => assert!(plan.contains("basic_article"), "{plan}"),
        }
        let (sql, params) = Article::objects()
            .filter(q!(headline = "x"))
            .to_sql(db)
            .unwrap();
        assert!(
            common::normalize_sql(&sql).contains("WHERE \"basic_article\".\"headline\" = ?"),
            "{sql}"
        );
        assert_eq!(params, vec![Value::from("x")]);
    });
}

#[test]
fn test_full_clean_names_every_bad_field() {
    let mut p = product("ok", "ok-slug");
    p.full_clean().unwrap();
    p.name = "much too long 1".into();
    p.price = "1234.567".parse().unwrap();
    p.contact = "not an email".into();
    p.site = Some("www.example.com".into());
    p.ip = Some("300.1.1.1".into());
    p.slug = "".into();
    let Err(Error::ValidationError(errors)) = p.full_clean() else {
        panic!("expected a ValidationError")
    };
    assert_eq!(
        errors.fields().collect::<Vec<_>>(),
        ["contact", "ip", "name", "price", "site", "slug"]
    );
    assert_eq!(
        errors.messages("name"),
        [
            "Ensure this value has at most 10 characters (it has 15).",
            "No digits allowed."
        ]
    );
    assert_eq!(
        errors.messages("price"),
        ["Ensure that there are no more than 5 digits in total."]
    );
    assert_eq!(errors.messages("contact"), ["Enter a valid email address."]);
    assert_eq!(errors.messages("site"), ["Enter a valid URL."]);
    assert_eq!(
        errors.messages("ip"),
        ["Enter a valid IPv4 or IPv6 address."]
    );
    assert_eq!(errors.messages("slug"), ["This field cannot be blank."]);
    // blank=True accepts "".
    let mut q = product("ok", "s");
    q.contact = String::new();
    q.full_clean().unwrap();
    q.price = "12.345".parse().unwrap();
    let Err(Error::ValidationError(errors)) = q.full_clean() else {
        panic!()
    };
    assert_eq!(
        errors.messages("price"),
        ["Ensure that there are no more than 2 decimal places."]
    );
    assert_eq!(Size::Large.label(), "Large");
    assert_eq!(Product::meta().field("size").unwrap().1.max_length, Some(1));
    assert_eq!(
        Product::meta().field("contact").unwrap().1.max_length,
        Some(254)
    );
}

#[test]
fn test_choices_auto_now_and_integrity() {
    run(&[Product::meta()], |db| {
        let mut p = Product::objects()
            .create(db, product("pen", "pen"))
            .unwrap();
        let created = p.created.expect("auto_now_add sets it");
        let modified = p.modified.expect("auto_now sets it");
        p.size = Size::Large;
        std::thread::sleep(std::time::Duration::from_millis(2));
        p.save(db).unwrap();
        let fresh = Product::objects().get(db, q!(size = Size::Large)).unwrap();
        assert_eq!(fresh.created, Some(created));
        assert!(fresh.modified.unwrap() > modified);
        assert_eq!(fresh.price.to_string(), "1.50");
        // A unique column and unique_together are enforced by the database.
        let err = Product::objects()
            .create(db, product("other", "pen"))
            .unwrap_err();
        match err {
            Error::IntegrityError {
                kind, constraint, ..
            } => {
                assert_eq!(kind, IntegrityKind::Unique);
                assert!(
                    constraint.as_deref().is_some_and(|c| c.contains("slug")),
                    "{constraint:?}"
                );
            }
            other => panic!("expected IntegrityError, got {other}"),
        }
        let mut dup = product("pen", "pen-2");
        dup.size = Size::Large;
        assert!(Product::objects()
            .create(db, dup)
            .unwrap_err()
            .is_integrity_error());
        // NOT NULL violations are classified too.
        let err = db
            .execute_raw("INSERT INTO basic_product (name, size, price, contact, slug) VALUES (NULL, 'S', 1, '', 'n')", &[])
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::IntegrityError {
                    kind: IntegrityKind::NotNull,
                    ..
                }
            ),
            "{err}"
        );
        // Values stored outside the enum are reported with the choices.
        db.execute_raw("UPDATE basic_product SET size = 'X'", &[])
            .unwrap();
        assert_error_contains(Product::objects().all(db), "is not one of the choices");
    });
}

#[test]
fn test_atomic_rolls_back_a_failed_write() {
    run(&[Product::meta()], |db| {
        Product::objects()
            .create(db, product("pen", "pen"))
            .unwrap();
        let r: quarry::Result<()> = db.atomic(|tx| {
            Product::objects().create(tx, product("cup", "cup"))?;
            Product::objects()
                .filter(q!(name = "pen"))
                .update(tx, [("name", "pencil")])?;
            Product::objects().create(tx, product("pen2", "pen"))?; // unique slug: fails
            Ok(())
        });
        assert!(r.unwrap_err().is_integrity_error());
        let names = Product::objects().values_list_flat("name").all(db).unwrap();
        assert_eq!(names, vec![Value::from("pen")]);
        // Nested atomic is a savepoint: the inner failure leaves the outer work.
        db.atomic(|tx| {
            Product::objects().create(tx, product("cup", "cup"))?;
            let inner = tx.atomic(|tx2| Product::objects().create(tx2, product("bad", "pen")));
            assert!(inner.is_err());
            Ok(())
        })
        .unwrap();
        assert_eq!(Product::objects().count(db).unwrap(), 2);
        // Using the Database inside its own atomic block is refused, not a deadlock.
        let r = db.atomic(|_tx| Product::objects().count(db));
        assert_error_contains(r, "inside Database::atomic()");
    });
}

#[test]
fn test_registry() {
    let labels: Vec<String> = quarry::registry::models()
        .iter()
        .map(|m| m.label())
        .collect();
    assert!(labels.contains(&"basic.Article".to_string()));
    assert!(labels.contains(&"basic.Product".to_string()));
    let m = quarry::registry::get_model("basic.article").unwrap();
    assert_eq!(m.db_table, "basic_article");
    assert_eq!(m.pk_field().name, "id");
    assert_eq!(m.ordering, ["pub_date", "headline"]);
    assert_eq!(quarry::registry::app_models("basic").len(), 3);
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "basic")]
pub struct OnlyPk {
    #[field(primary_key)]
    pub id: i64,
    pub _state: ModelState,
}

#[test]
fn test_atomic_rolls_back_on_panic() {
    run(&[Product::meta()], |db| {
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = db.atomic(|tx| -> quarry::Result<()> {
                Product::objects().create(tx, product("cup", "cup"))?;
                panic!("boom");
            });
        }));
        assert!(caught.is_err());
        assert_eq!(Product::objects().count(db).unwrap(), 0);
        // The connection is usable and a new transaction starts cleanly.
        db.atomic(|tx| {
            Product::objects()
                .create(tx, product("pen", "pen"))
                .map(|_| ())
        })
        .unwrap();
        assert_eq!(Product::objects().count(db).unwrap(), 1);
    });
}

#[test]
fn test_bulk_create_pk_only_model_marks_saved() {
    run(&[OnlyPk::meta()], |db| {
        let objs = vec![
            OnlyPk {
                id: 0,
                _state: ModelState::new(),
            },
            OnlyPk {
                id: 0,
                _state: ModelState::new(),
            },
        ];
        let mut out = OnlyPk::objects()
            .bulk_create(db, objs, &BulkCreate::new())
            .unwrap();
        assert_eq!(out.iter().map(|o| o.id).collect::<Vec<_>>(), [1, 2]);
        assert!(out.iter().all(|o| !o._state.adding()));
        out[0].save(db).unwrap();
        assert_eq!(OnlyPk::objects().count(db).unwrap(), 2);
    });
}

#[test]
fn test_values_rescale_decimals_and_first_on_a_slice() {
    run(&[Product::meta()], |db| {
        let mut p = product("pen", "pen");
        p.price = "1".parse().unwrap();
        Product::objects().create(db, p).unwrap();
        let price = Product::objects()
            .values_list_flat("price")
            .get(db, q!())
            .unwrap();
        assert_eq!(price, Value::Decimal("1.00".parse().unwrap()));
        assert_eq!(format!("{}", price.get::<Decimal>().unwrap()), "1.00");
        assert_error_contains(
            Product::objects().slice(0..1).first(db),
            "Cannot reorder a query once a slice has been taken.",
        );
    });
}

/// A query's result vector starts with room for about as many rows as the last run of
/// the same shape returned, and gives back room the rows did not fill.
#[test]
fn test_all_reserves_what_the_shape_returned_last_time() {
    run(&[Article::meta()], |db| {
        let articles: Vec<Article> = (0..300)
            .map(|i| article(&format!("Article {i}"), dt(2005, 7, 28)))
            .collect();
        Article::objects()
            .bulk_create(db, articles, &BulkCreate::default())
            .unwrap();
        let first = Article::objects().all(db).unwrap();
        assert_eq!(first.len(), 300);
        let second = Article::objects().all(db).unwrap();
        assert_eq!(second.len(), 300);
        assert!(
            (300..=300 + 300 / 8).contains(&second.capacity()),
            "room for the 300 rows of the last run and an eighth more, got {}",
            second.capacity()
        );
        Article::objects()
            .filter(q!(headline__gt = "Article 1"))
            .delete(db)
            .unwrap();
        let few = Article::objects().all(db).unwrap();
        assert_eq!(few.len(), 2);
        assert!(few.capacity() <= 2 * 2 + 8, "capacity {}", few.capacity());
    });
}
