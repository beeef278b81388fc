//! Ported from Django's `tests/one_to_one`: one-to-one fields (also as primary keys),
//! the reverse accessor returning one object or DoesNotExist, lookups both ways.

mod common;

use common::run;
use quarry::prelude::*;
use quarry::testing::capture_queries;
use quarry::ModelMeta;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "one_to_one")]
pub struct Place {
    pub id: i64,
    #[field(max_length = 50)]
    pub name: String,
    #[field(max_length = 80)]
    pub address: String,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "one_to_one")]
pub struct Restaurant {
    #[field(primary_key, on_delete = Cascade)]
    pub place: OneToOneField<Place>,
    #[field(default = false)]
    pub serves_hot_dogs: bool,
    #[field(default = false)]
    pub serves_pizza: bool,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "one_to_one")]
pub struct Bar {
    pub id: i64,
    #[field(on_delete = Cascade)]
    pub place: OneToOneField<Place>,
    #[field(default = true)]
    pub serves_cocktails: bool,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "one_to_one")]
pub struct UndergroundBar {
    pub id: i64,
    #[field(on_delete = SetNull)]
    pub place: Option<OneToOneField<Place>>,
    #[field(default = true)]
    pub serves_cocktails: bool,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "one_to_one")]
pub struct Waiter {
    pub id: i64,
    #[field(on_delete = Cascade)]
    pub restaurant: ForeignKey<Restaurant>,
    #[field(max_length = 50)]
    pub name: String,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "one_to_one")]
pub struct Target {
    pub id: i64,
    #[field(max_length = 50, unique)]
    pub name: String,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "one_to_one")]
pub struct Pointer {
    #[field(primary_key, on_delete = Cascade)]
    pub other: OneToOneField<Target>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "one_to_one")]
pub struct Pointer2 {
    pub id: i64,
    #[field(on_delete = Cascade, related_name = "second_pointer")]
    pub other: OneToOneField<Target>,
    pub _state: ModelState,
}

fn models() -> Vec<&'static ModelMeta> {
    vec![
        Place::meta(),
        Restaurant::meta(),
        Bar::meta(),
        UndergroundBar::meta(),
        Waiter::meta(),
        Target::meta(),
        Pointer::meta(),
        Pointer2::meta(),
    ]
}

struct Fixture {
    p1: Place,
    p2: Place,
    r1: Restaurant,
    b1: Bar,
}

fn place(db: &Database, name: &str, address: &str) -> Place {
    Place::objects()
        .create(
            db,
            Place {
                id: 0,
                name: name.into(),
                address: address.into(),
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

fn run_o2o(test: impl Fn(&Database, Fixture)) {
    run(&models(), |db| {
        let p1 = place(db, "Demon Dogs", "944 W. Fullerton");
        let p2 = place(db, "Ace Hardware", "1013 N. Ashland");
        let mut r1 = Restaurant {
            place: ForeignKey::to(&p1).unwrap(),
            serves_hot_dogs: true,
            serves_pizza: false,
            _state: ModelState::new(),
        };
        r1.state_mut().set_pk_explicit();
        let r1 = Restaurant::objects().create(db, r1).unwrap();
        let b1 = Bar::objects()
            .create(
                db,
                Bar {
                    id: 0,
                    place: ForeignKey::to(&p1).unwrap(),
                    serves_cocktails: false,
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        test(db, Fixture { p1, p2, r1, b1 })
    });
}

#[test]
fn test_getter() {
    run_o2o(|db, f| {
        let r = Restaurant::objects().get(db, q!(pk = f.p1.id)).unwrap();
        assert_eq!(r.place.get(db).unwrap().name, "Demon Dogs");
        assert_eq!(f.p1.restaurant(db).unwrap(), f.r1);
        assert!(f.p2.restaurant(db).unwrap_err().is_does_not_exist());
        assert_eq!(f.p1.bar(db).unwrap(), f.b1);
    });
}

#[test]
fn test_manager_all_and_get() {
    run_o2o(|db, f| {
        assert_eq!(
            Restaurant::objects().all(db).unwrap(),
            std::slice::from_ref(&f.r1)
        );
        let id = f.p1.id;
        for q in [
            q!(place__id__exact = id),
            q!(place__id = id),
            q!(place__exact = id),
            q!(place__exact = &f.p1),
            q!(place = id),
            q!(place = &f.p1),
            q!(pk = id),
            q!(place__pk__exact = id),
            q!(place__pk = id),
            q!(place__name__startswith = "Demon"),
        ] {
            assert_eq!(Restaurant::objects().get(db, q).unwrap(), f.r1);
        }
        for q in [
            q!(restaurant__place__exact = id),
            q!(restaurant__place__exact = &f.p1),
            q!(restaurant__place__pk = id),
            q!(restaurant__exact = id),
            q!(restaurant__exact = &f.r1),
            q!(restaurant__pk = id),
            q!(restaurant = id),
            q!(restaurant = &f.r1),
            q!(id__exact = id),
            q!(pk = id),
        ] {
            assert_eq!(Place::objects().get(db, q).unwrap(), f.p1);
        }
    });
}

#[test]
fn test_foreign_key_to_one_to_one_key() {
    run_o2o(|db, f| {
        let w =
            f.r1.waiter_set()
                .create(
                    db,
                    Waiter {
                        id: 0,
                        restaurant: ForeignKey::to(&f.r1).unwrap(),
                        name: "Joe".into(),
                        _state: ModelState::new(),
                    },
                )
                .unwrap();
        let id = f.p1.id;
        for q in [
            q!(restaurant__place__exact = id),
            q!(restaurant__place__pk = id),
            q!(restaurant__exact = id),
            q!(restaurant__exact = &f.r1),
            q!(restaurant__pk = id),
            q!(restaurant = &f.r1),
            q!(pk = w.id),
        ] {
            assert_eq!(
                Waiter::objects().filter(q).all(db).unwrap(),
                std::slice::from_ref(&w)
            );
        }
        let d = Restaurant::objects()
            .get(db, q!(pk = id))
            .unwrap()
            .delete(db)
            .unwrap();
        assert_eq!(d.total, 2);
        assert_eq!(Waiter::objects().count(db).unwrap(), 0);
    });
}

#[test]
fn test_unique_and_unsaved() {
    run_o2o(|db, f| {
        let dup = Bar {
            id: 0,
            place: ForeignKey::to(&f.p1).unwrap(),
            serves_cocktails: true,
            _state: ModelState::new(),
        };
        assert!(Bar::objects()
            .create(db, dup)
            .unwrap_err()
            .is_integrity_error());
        let unsaved = Place {
            id: 0,
            name: "User".into(),
            address: "London".into(),
            _state: ModelState::new(),
        };
        assert!(unsaved.restaurant(db).is_err());
    });
}

#[test]
fn test_filter_one_to_one_relations() {
    run_o2o(|db, _| {
        let target = Target::objects()
            .create(
                db,
                Target {
                    id: 0,
                    name: String::new(),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let none: Option<i64> = None;
        assert_eq!(
            Target::objects()
                .filter(q!(pointer = none))
                .all(db)
                .unwrap(),
            std::slice::from_ref(&target)
        );
        assert!(Target::objects()
            .exclude(q!(pointer = none))
            .all(db)
            .unwrap()
            .is_empty());
        assert_eq!(
            Target::objects()
                .filter(q!(second_pointer = none))
                .all(db)
                .unwrap(),
            std::slice::from_ref(&target)
        );
        assert!(Target::objects()
            .exclude(q!(second_pointer = none))
            .all(db)
            .unwrap()
            .is_empty());
    });
}

#[test]
fn test_o2o_primary_key_delete() {
    run_o2o(|db, _| {
        let t = Target::objects()
            .create(
                db,
                Target {
                    id: 0,
                    name: "name".into(),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let mut p = Pointer {
            other: ForeignKey::to(&t).unwrap(),
            _state: ModelState::new(),
        };
        p.state_mut().set_pk_explicit();
        Pointer::objects().create(db, p).unwrap();
        let d = Pointer::objects()
            .filter(q!(other__name = "name"))
            .delete(db)
            .unwrap();
        assert_eq!(d.per_model, [("one_to_one.Pointer".to_owned(), 1)]);
    });
}

#[test]
fn test_nullable_o2o_delete() {
    run_o2o(|db, f| {
        let mut u = UndergroundBar::objects()
            .create(
                db,
                UndergroundBar {
                    id: 0,
                    place: Some(ForeignKey::to(&f.p1).unwrap()),
                    serves_cocktails: true,
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        u.place = None;
        u.save(db).unwrap();
        f.p1.clone().delete(db).unwrap();
        let left = UndergroundBar::objects().get(db, q!(pk = u.id)).unwrap();
        assert!(left.place.is_none());
        // Deleting p1 cascaded to its restaurant and bar; the set-null bar stays.
        assert_eq!(Place::objects().count(db).unwrap(), 1);
        assert_eq!(Restaurant::objects().count(db).unwrap(), 0);
        assert_eq!(Bar::objects().count(db).unwrap(), 0);
    });
}

#[test]
fn test_reverse_prefetch_and_select_related() {
    run_o2o(|db, f| {
        let (found, queries) = capture_queries(|| {
            let places = Place::objects()
                .prefetch_related(["restaurant"])
                .order_by(["id"])
                .all(db)
                .unwrap();
            places
                .iter()
                .map(|p| p.restaurant(db).is_ok())
                .collect::<Vec<_>>()
        });
        assert_eq!(found, [true, false]);
        assert_eq!(queries.len(), 2);
        let r = Restaurant::objects()
            .select_related(["place"])
            .get(db, q!(pk = f.p1.id))
            .unwrap();
        assert_eq!(r.place.cached().unwrap().name, "Demon Dogs");
        let _ = f.p2;
    });
}
