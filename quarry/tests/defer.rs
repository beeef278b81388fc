//! Ported from Django's `tests/defer`: `defer()`, `only()`, their chaining, saving an
//! instance with deferred fields (never overwriting what was not loaded), and deferral
//! beside `select_related`, annotations and `values()`.

mod common;

use common::{assert_error_contains, run};
use quarry::prelude::*;
use quarry::ModelMeta;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "defer")]
pub struct Secondary {
    pub id: i64,
    #[field(max_length = 50)]
    pub first: String,
    #[field(max_length = 50)]
    pub second: String,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "defer")]
pub struct Primary {
    pub id: i64,
    #[field(max_length = 50)]
    pub name: String,
    #[field(max_length = 50)]
    pub value: String,
    pub rank: Option<i32>,
    #[field(on_delete = Cascade)]
    pub related: ForeignKey<Secondary>,
    pub _state: ModelState,
}

fn models() -> Vec<&'static ModelMeta> {
    vec![Secondary::meta(), Primary::meta()]
}

fn fixture(db: &Database) -> Primary {
    let s1 = Secondary::objects()
        .create(
            db,
            Secondary {
                id: 0,
                first: "x1".into(),
                second: "y1".into(),
                _state: ModelState::new(),
            },
        )
        .unwrap();
    Primary::objects()
        .create(
            db,
            Primary {
                id: 0,
                name: "p1".into(),
                value: "xx".into(),
                rank: Some(3),
                related: ForeignKey::to(&s1).unwrap(),
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

/// The names of the deferred fields (Django's `get_deferred_fields()`).
fn deferred<M: Model>(obj: &M) -> Vec<&'static str> {
    obj.state()
        .deferred()
        .iter()
        .map(|&i| M::meta().fields[i].name)
        .collect()
}

#[test]
fn defer_and_only() {
    run(&models(), |db| {
        let p1 = fixture(db);
        let qs = Primary::objects();
        let p = qs.clone().defer(["name"]).get(db, q!()).unwrap();
        assert_eq!(deferred(&p), ["name"]);
        assert_eq!((p.id, p.value.as_str(), p.rank), (p1.id, "xx", Some(3)));
        assert_eq!(p.name, ""); // the placeholder
        let p = qs.clone().defer(["related"]).get(db, q!()).unwrap();
        assert_eq!(deferred(&p), ["related"]);
        let p = qs
            .clone()
            .defer(["name"])
            .defer(["value"])
            .get(db, q!())
            .unwrap();
        assert_eq!(deferred(&p), ["name", "value"]);
        let p = qs.clone().only(["name"]).get(db, q!()).unwrap();
        assert_eq!(deferred(&p), ["value", "rank", "related"]);
        assert_eq!(p.name, "p1");
        // A NULL-able deferred field holds None.
        assert_eq!(p.rank, None);
        let p = qs.clone().only(["pk"]).get(db, q!()).unwrap();
        assert_eq!(deferred(&p), ["name", "value", "rank", "related"]);
        // Chaining: defer() after only() removes from its list; only() after defer()
        // loads what was not deferred; a later only() replaces the list.
        let p = qs
            .clone()
            .only(["name", "value"])
            .defer(["name"])
            .get(db, q!())
            .unwrap();
        assert_eq!(deferred(&p), ["name", "rank", "related"]);
        let p = qs
            .clone()
            .defer(["name"])
            .only(["value", "name"])
            .get(db, q!())
            .unwrap();
        assert_eq!(deferred(&p), ["name", "rank", "related"]);
        let p = qs
            .clone()
            .only(["name"])
            .only(["value"])
            .get(db, q!())
            .unwrap();
        assert_eq!(deferred(&p), ["name", "rank", "related"]);
        let p = qs
            .clone()
            .defer(["name"])
            .clear_deferred()
            .get(db, q!())
            .unwrap();
        assert!(deferred(&p).is_empty());
        // values() ignores deferral, as in Django.
        let row = qs
            .clone()
            .defer(["name"])
            .values(["name"])
            .get(db, q!())
            .unwrap();
        assert_eq!(row.get_as::<String>("name").unwrap(), "p1");
        // Bad names name the model and the choices.
        assert_error_contains(
            qs.clone().defer(["nope"]).all(db),
            "Primary has no field named 'nope'",
        );
        assert_error_contains(
            qs.clone().only(["nope"]).all(db),
            "Primary has no field named 'nope'",
        );
        // Through a relation: the related model is named (InvalidDeferTests).
        for qs in [
            qs.clone().defer(["related__missing"]),
            qs.clone().only(["related__missing"]),
        ] {
            assert_error_contains(qs.all(db), "Secondary has no field named 'missing'");
        }
        for qs in [
            qs.clone().defer(["value__missing"]),
            qs.clone().only(["value__missing"]),
        ] {
            assert_error_contains(
                qs.all(db),
                "Cannot resolve keyword 'missing' into field. Join on 'value' not permitted.",
            );
        }
    });
}

#[test]
fn defer_and_only_across_relations() {
    run(&models(), |db| {
        let p1 = fixture(db);
        let qs = Primary::objects();
        // Without select_related: defer() of a related field changes nothing here;
        // only() of one loads the relation's key.
        let p = qs.clone().defer(["related__first"]).get(db, q!()).unwrap();
        assert!(deferred(&p).is_empty());
        let p = qs.clone().only(["related__first"]).get(db, q!()).unwrap();
        assert_eq!(deferred(&p), ["name", "value", "rank"]);
        assert_eq!(p.related.id(), p1.related.id());
        // test_defer_with_select_related.
        let p = qs
            .clone()
            .select_related(["related"])
            .defer(["related__first", "related__second"])
            .get(db, q!())
            .unwrap();
        assert!(deferred(&p).is_empty());
        let related = p.related.cached().unwrap();
        assert_eq!(deferred(related), ["first", "second"]);
        assert_eq!(&related.id, p1.related.id());
        // test_only_with_select_related.
        let p = qs
            .clone()
            .select_related(["related"])
            .only(["related__first"])
            .get(db, q!())
            .unwrap();
        assert_eq!(deferred(&p), ["name", "value", "rank"]);
        let related = p.related.cached().unwrap();
        assert_eq!(deferred(related), ["second"]);
        assert_eq!(related.first, "x1");
        assert_eq!(p.related.id(), p1.related.id());
        // select_related() with no argument does not follow a deferred key; naming it
        // is an error (test_defer_select_related_raises_invalid_query).
        let p = qs
            .clone()
            .defer(["related"])
            .select_related(Vec::<String>::new());
        let p = p.get(db, q!()).unwrap();
        assert_eq!(deferred(&p), ["related"]);
        assert!(p.related.cached().is_none());
        let msg = "Field Primary.related cannot be both deferred and traversed using \
                   select_related at the same time.";
        assert_error_contains(
            qs.clone()
                .defer(["related"])
                .select_related(["related"])
                .all(db),
            msg,
        );
        assert_error_contains(
            qs.clone()
                .only(["name"])
                .select_related(["related"])
                .all(db),
            msg,
        );
        // A related object loaded with deferred fields saves only what it loaded.
        let mut related = qs
            .clone()
            .select_related(["related"])
            .only(["name", "related__second"])
            .get(db, q!())
            .unwrap()
            .related
            .cached()
            .unwrap()
            .clone();
        assert_eq!(deferred(&related), ["first"]);
        related.second = "y2".into();
        related.save(db).unwrap();
        let stored = Secondary::objects().get(db, q!(pk = related.id)).unwrap();
        assert_eq!(
            (stored.first.as_str(), stored.second.as_str()),
            ("x1", "y2")
        );
    });
}

#[test]
fn saving_never_writes_deferred_fields() {
    run(&models(), |db| {
        fixture(db);
        let mut p = Primary::objects()
            .defer(["value", "rank"])
            .get(db, q!())
            .unwrap();
        p.name = "renamed".into();
        p.save(db).unwrap();
        let stored = Primary::objects().get(db, q!()).unwrap();
        assert_eq!(
            (stored.name.as_str(), stored.value.as_str(), stored.rank),
            ("renamed", "xx", Some(3))
        );
        // Assigning to a deferred field does not save it either: the field stays
        // deferred until the instance is refreshed (Django saves a deferred field
        // only once it was loaded or named in update_fields).
        let mut p = Primary::objects().only(["name"]).get(db, q!()).unwrap();
        p.value = "changed".into();
        p.save_with(db, &SaveOptions::new().update_fields(["value"]))
            .unwrap();
        assert_eq!(Primary::objects().get(db, q!()).unwrap().value, "changed");
        // refresh_from_db() loads every field.
        let mut p = Primary::objects().only(["name"]).get(db, q!()).unwrap();
        p.refresh_from_db(db).unwrap();
        assert!(deferred(&p).is_empty());
        assert_eq!(p.value, "changed");
    });
}

#[test]
fn defer_with_select_related_and_annotations() {
    run(&models(), |db| {
        fixture(db);
        let p = Primary::objects()
            .defer(["value"])
            .select_related(["related"])
            .annotate([("twice", F("rank") * 2)])
            .get(db, q!())
            .unwrap();
        assert_eq!(deferred(&p), ["value"]);
        assert_eq!(p.related.cached().unwrap().first, "x1");
        assert_eq!(p.annotation::<i64>("twice").unwrap(), 6);
        // Deferred rows stream too.
        let names: Vec<String> = Primary::objects()
            .only(["name"])
            .iterator(db, 10)
            .map(|p| p.unwrap().name)
            .collect();
        assert_eq!(names, ["p1"]);
        // A count or an existence check does not care.
        assert_eq!(Primary::objects().defer(["name"]).count(db).unwrap(), 1);
    });
}
