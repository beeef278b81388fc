//! Ported from Django's `tests/m2m_through`: many-to-many relations through a model of
//! your own (extra fields, `through_defaults`, `through_fields`, self-referential and
//! symmetrical ones, keys to a `to_field`), queried and written from both sides.

mod common;

use common::{assert_error_contains, run};
use quarry::prelude::*;
use quarry::ModelMeta;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "m2m_through", ordering = ["name"])]
pub struct Person {
    pub id: i64,
    #[field(max_length = 128)]
    pub name: String,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "m2m_through", ordering = ["name"])]
pub struct Group {
    pub id: i64,
    #[field(max_length = 128)]
    pub name: String,
    #[field(through = Membership)]
    pub members: ManyToMany<Person>,
    #[field(through = CustomMembership, related_name = "custom")]
    pub custom_members: ManyToMany<Person>,
    #[field(through = TestNoDefaultsOrNulls, related_name = "testnodefaultsnonulls")]
    pub nodefaultsnonulls: ManyToMany<Person>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(
    app_label = "m2m_through",
    ordering = ["date_joined", "invite_reason", "group"]
)]
pub struct Membership {
    pub id: i64,
    #[field(on_delete = Cascade)]
    pub person: ForeignKey<Person>,
    #[field(on_delete = Cascade)]
    pub group: ForeignKey<Group>,
    #[field(default = Utc::now())]
    pub date_joined: DateTime<Utc>,
    #[field(max_length = 64)]
    pub invite_reason: Option<String>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "m2m_through", db_table = "test_table", ordering = ["date_joined"])]
pub struct CustomMembership {
    pub id: i64,
    #[field(
        on_delete = Cascade,
        db_column = "custom_person_column",
        related_name = "custom_person_related_name"
    )]
    pub person: ForeignKey<Person>,
    #[field(on_delete = Cascade)]
    pub group: ForeignKey<Group>,
    #[field(on_delete = SetNull)]
    pub weird_fk: Option<ForeignKey<Membership>>,
    #[field(default = Utc::now())]
    pub date_joined: DateTime<Utc>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "m2m_through")]
pub struct TestNoDefaultsOrNulls {
    pub id: i64,
    #[field(on_delete = Cascade)]
    pub person: ForeignKey<Person>,
    #[field(on_delete = Cascade)]
    pub group: ForeignKey<Group>,
    pub nodefaultnonull: i32,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "m2m_through")]
pub struct PersonSelfRefM2M {
    pub id: i64,
    #[field(max_length = 5)]
    pub name: String,
    #[field(through = Friendship, symmetrical = false)]
    pub friends: ManyToMany<PersonSelfRefM2M>,
    #[field(through = SymmetricalFriendship, symmetrical = true)]
    pub sym_friends: ManyToMany<PersonSelfRefM2M>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "m2m_through")]
pub struct Friendship {
    pub id: i64,
    #[field(on_delete = Cascade, related_name = "rel_from_set")]
    pub first: ForeignKey<PersonSelfRefM2M>,
    #[field(on_delete = Cascade, related_name = "rel_to_set")]
    pub second: ForeignKey<PersonSelfRefM2M>,
    pub date_friended: DateTime<Utc>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "m2m_through")]
pub struct SymmetricalFriendship {
    pub id: i64,
    #[field(on_delete = Cascade)]
    pub first: ForeignKey<PersonSelfRefM2M>,
    #[field(on_delete = Cascade, related_name = "+")]
    pub second: ForeignKey<PersonSelfRefM2M>,
    pub date_friended: NaiveDate,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "m2m_through")]
pub struct Event {
    pub id: i64,
    #[field(max_length = 50)]
    pub title: String,
    #[field(
        through = Invitation,
        through_fields = ("event", "invitee"),
        related_name = "events_invited"
    )]
    pub invitees: ManyToMany<Person>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "m2m_through")]
pub struct Invitation {
    pub id: i64,
    #[field(on_delete = Cascade, related_name = "invitations")]
    pub event: ForeignKey<Event>,
    // The field order is inverted on purpose: the target key is `invitee`.
    #[field(on_delete = Cascade, related_name = "invitations_sent")]
    pub inviter: ForeignKey<Person>,
    #[field(on_delete = Cascade, related_name = "invitations")]
    pub invitee: ForeignKey<Person>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "m2m_through", ordering = ["pk"])]
pub struct Employee {
    pub id: i64,
    #[field(max_length = 5)]
    pub name: String,
    #[field(
        through = Relationship,
        through_fields = ("source", "target"),
        symmetrical = false
    )]
    pub subordinates: ManyToMany<Employee>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "m2m_through")]
pub struct Relationship {
    pub id: i64,
    // The field order is inverted on purpose.
    #[field(on_delete = SetNull, related_name = "rel_another_set")]
    pub another: Option<ForeignKey<Employee>>,
    #[field(on_delete = Cascade, related_name = "rel_target_set")]
    pub target: ForeignKey<Employee>,
    #[field(on_delete = Cascade, related_name = "rel_source_set")]
    pub source: ForeignKey<Employee>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "m2m_through", ordering = ["iname"])]
pub struct Ingredient {
    pub id: i64,
    #[field(max_length = 20, unique)]
    pub iname: String,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "m2m_through", ordering = ["rname"])]
pub struct Recipe {
    pub id: i64,
    #[field(max_length = 20, unique)]
    pub rname: String,
    #[field(through = RecipeIngredient, related_name = "recipes")]
    pub ingredients: ManyToMany<Ingredient>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "m2m_through")]
pub struct RecipeIngredient {
    pub id: i64,
    #[field(on_delete = Cascade, to_field = "iname")]
    pub ingredient: ForeignKey<Ingredient, String>,
    #[field(on_delete = Cascade, to_field = "rname")]
    pub recipe: ForeignKey<Recipe, String>,
    pub _state: ModelState,
}

fn models() -> Vec<&'static ModelMeta> {
    vec![
        Person::meta(),
        Group::meta(),
        Membership::meta(),
        CustomMembership::meta(),
        TestNoDefaultsOrNulls::meta(),
        PersonSelfRefM2M::meta(),
        Friendship::meta(),
        SymmetricalFriendship::meta(),
        Event::meta(),
        Invitation::meta(),
        Employee::meta(),
        Relationship::meta(),
        Ingredient::meta(),
        Recipe::meta(),
        RecipeIngredient::meta(),
    ]
}

fn person(db: &Database, name: &str) -> Person {
    Person::objects()
        .create(
            db,
            Person {
                id: 0,
                name: name.into(),
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

fn new_group(name: &str) -> Group {
    Group {
        id: 0,
        name: name.into(),
        members: ManyToMany::new(),
        custom_members: ManyToMany::new(),
        nodefaultsnonulls: ManyToMany::new(),
        _state: ModelState::new(),
    }
}

fn group(db: &Database, name: &str) -> Group {
    Group::objects().create(db, new_group(name)).unwrap()
}

fn names(people: Vec<Person>) -> Vec<String> {
    people.into_iter().map(|p| p.name).collect()
}

fn group_names(groups: Vec<Group>) -> Vec<String> {
    groups.into_iter().map(|g| g.name).collect()
}

struct Fixture {
    bob: Person,
    jim: Person,
    jane: Person,
    rock: Group,
    roll: Group,
}

fn fixture(db: &Database) -> Fixture {
    Fixture {
        bob: person(db, "Bob"),
        jim: person(db, "Jim"),
        jane: person(db, "Jane"),
        rock: group(db, "Rock"),
        roll: group(db, "Roll"),
    }
}

fn membership(db: &Database, p: &Person, g: &Group, reason: Option<&str>) -> Membership {
    Membership::objects()
        .create(
            db,
            Membership {
                id: 0,
                person: ForeignKey::to(p).unwrap(),
                group: ForeignKey::to(g).unwrap(),
                date_joined: Utc::now(),
                invite_reason: reason.map(str::to_owned),
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

fn custom_membership(db: &Database, p: &Person, g: &Group, joined: DateTime<Utc>) {
    CustomMembership::objects()
        .create(
            db,
            CustomMembership {
                id: 0,
                person: ForeignKey::to(p).unwrap(),
                group: ForeignKey::to(g).unwrap(),
                weird_fk: None,
                date_joined: joined,
                _state: ModelState::new(),
            },
        )
        .unwrap();
}

#[test]
fn retrieve_intermediate_items() {
    run(&models(), |db| {
        let f = fixture(db);
        membership(db, &f.jim, &f.rock, None);
        membership(db, &f.jane, &f.rock, None);
        assert_eq!(names(f.rock.members().all(db).unwrap()), ["Jane", "Jim"]);
        // The through model is a model like any other.
        let m = Membership::objects()
            .get(db, q!(person = &f.jane, group = &f.rock))
            .unwrap();
        assert_eq!(m.person.get(db).unwrap().name, "Jane");
        assert_eq!(
            Membership::objects()
                .filter(q!(group = &f.rock))
                .count(db)
                .unwrap(),
            2
        );
    });
}

#[test]
fn add_with_through_defaults() {
    run(&models(), |db| {
        let f = fixture(db);
        f.rock
            .members()
            .through_defaults([("invite_reason", Value::from("He is good."))])
            .add(db, [&f.bob])
            .unwrap();
        assert_eq!(names(f.rock.members().all(db).unwrap()), ["Bob"]);
        let m = f.rock.membership_set().get(db, Q::all()).unwrap();
        assert_eq!(m.invite_reason.as_deref(), Some("He is good."));
    });
}

#[test]
fn value_required_by_the_through_model() {
    run(&models(), |db| {
        let f = fixture(db);
        f.rock
            .nodefaultsnonulls()
            .through_defaults([("nodefaultnonull", Value::I64(1))])
            .add(db, [&f.jim])
            .unwrap();
        let row = f
            .rock
            .testnodefaultsornulls_set()
            .get(db, Q::all())
            .unwrap();
        assert_eq!(row.nodefaultnonull, 1);
        // Without it, nothing is written and the error says what is missing.
        assert_error_contains(
            f.roll.nodefaultsnonulls().add(db, [&f.jim]),
            "TestNoDefaultsOrNulls.nodefaultnonull has no value and no default",
        );
        assert_error_contains(
            f.roll
                .nodefaultsnonulls()
                .through_defaults([("nope", Value::I64(1))])
                .add(db, [&f.jim]),
            "through_defaults names 'nope', which is not a field of TestNoDefaultsOrNulls \
             other than its two keys. Choices are: nodefaultnonull",
        );
        assert_eq!(f.roll.nodefaultsnonulls().count(db).unwrap(), 0);
        // create(): the object and its link in one transaction, both or neither.
        let n_people = Person::objects().count(db).unwrap();
        assert_error_contains(
            f.roll.nodefaultsnonulls().create(
                db,
                Person {
                    id: 0,
                    name: "Test".into(),
                    _state: ModelState::new(),
                },
            ),
            "has no value and no default",
        );
        assert_eq!(Person::objects().count(db).unwrap(), n_people);
        let created = f
            .roll
            .nodefaultsnonulls()
            .through_defaults([("nodefaultnonull", Value::I64(1))])
            .create(
                db,
                Person {
                    id: 0,
                    name: "Test".into(),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        assert_eq!(names(f.roll.nodefaultsnonulls().all(db).unwrap()), ["Test"]);
        assert_eq!(created.name, "Test");
    });
}

#[test]
fn create_with_through_defaults() {
    run(&models(), |db| {
        let f = fixture(db);
        let annie = f
            .rock
            .members()
            .through_defaults([("invite_reason", Value::from("She was just awesome."))])
            .create(
                db,
                Person {
                    id: 0,
                    name: "Annie".into(),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        assert_eq!(f.rock.members().all(db).unwrap(), [annie]);
        let m = f.rock.membership_set().get(db, Q::all()).unwrap();
        assert_eq!(m.invite_reason.as_deref(), Some("She was just awesome."));
    });
}

#[test]
fn remove_and_clear() {
    run(&models(), |db| {
        let f = fixture(db);
        membership(db, &f.jim, &f.rock, None);
        f.rock.members().remove(db, [&f.jim]).unwrap();
        assert!(f.rock.members().all(db).unwrap().is_empty());
        // Two through rows for one pair: remove() deletes both.
        membership(db, &f.jim, &f.rock, Some("1"));
        membership(db, &f.jim, &f.rock, Some("2"));
        assert_eq!(names(f.rock.members().all(db).unwrap()), ["Jim", "Jim"]);
        f.rock.members().remove(db, [&f.jim]).unwrap();
        assert!(f.rock.members().all(db).unwrap().is_empty());
        membership(db, &f.jim, &f.rock, None);
        membership(db, &f.jane, &f.rock, None);
        f.rock.members().clear(db).unwrap();
        assert!(f.rock.members().all(db).unwrap().is_empty());
    });
}

#[test]
fn set_with_through_model() {
    run(&models(), |db| {
        let f = fixture(db);
        let members = Person::objects()
            .filter(Q::lookup(
                "name__in",
                Value::List(vec!["Bob".into(), "Jim".into()]),
            ))
            .all(db)
            .unwrap();
        f.rock.members().set(db, &members).unwrap();
        assert_eq!(names(f.rock.members().all(db).unwrap()), ["Bob", "Jim"]);

        let with = |n: i64| {
            f.rock
                .nodefaultsnonulls()
                .through_defaults([("nodefaultnonull", Value::I64(n))])
        };
        let value = || {
            f.rock
                .testnodefaultsornulls_set()
                .get(db, Q::all())
                .unwrap()
                .nodefaultnonull
        };
        with(1).set(db, [&f.jim]).unwrap();
        assert_eq!(value(), 1);
        // Jim is linked already: his row stays as it was.
        with(2).set(db, [&f.jim]).unwrap();
        assert_eq!(value(), 1);
        // clear=True recreates it.
        with(2).set_clear(db, [&f.jim]).unwrap();
        assert_eq!(value(), 2);
        assert_error_contains(
            f.roll.nodefaultsnonulls().set(db, [&f.jim]),
            "has no value and no default",
        );
    });
}

#[test]
fn reverse_side() {
    run(&models(), |db| {
        let f = fixture(db);
        membership(db, &f.jim, &f.rock, None);
        membership(db, &f.jim, &f.roll, None);
        assert_eq!(
            group_names(f.jim.group_set().all(db).unwrap()),
            ["Rock", "Roll"]
        );
        f.jim.group_set().clear(db).unwrap();
        assert!(f.jim.group_set().all(db).unwrap().is_empty());

        f.bob.group_set().add(db, [&f.rock]).unwrap();
        assert_eq!(group_names(f.bob.group_set().all(db).unwrap()), ["Rock"]);
        f.bob.group_set().remove(db, [&f.rock]).unwrap();
        assert!(f.bob.group_set().all(db).unwrap().is_empty());
        let funk = f.bob.group_set().create(db, new_group("Funk")).unwrap();
        assert_eq!(f.bob.group_set().all(db).unwrap(), [funk]);
        let groups = Group::objects()
            .filter(Q::lookup(
                "name__in",
                Value::List(vec!["Rock".into(), "Roll".into()]),
            ))
            .all(db)
            .unwrap();
        f.bob.group_set().set(db, &groups).unwrap();
        assert_eq!(
            group_names(f.bob.group_set().all(db).unwrap()),
            ["Rock", "Roll"]
        );
    });
}

#[test]
fn queries_through_the_relation_and_the_through_model() {
    run(&models(), |db| {
        let f = fixture(db);
        membership(db, &f.jim, &f.rock, None);
        membership(db, &f.jane, &f.rock, None);
        membership(db, &f.bob, &f.roll, None);
        membership(db, &f.jim, &f.roll, None);
        membership(db, &f.jane, &f.roll, None);
        let groups = |q: Q| group_names(Group::objects().filter(q).all(db).unwrap());
        let people = |q: Q| names(Person::objects().filter(q).all(db).unwrap());
        assert_eq!(groups(q!(members__name = "Bob")), ["Roll"]);
        assert_eq!(people(q!(group__name = "Rock")), ["Jane", "Jim"]);
    });
}

#[test]
fn queries_by_intermediate_model_fields() {
    run(&models(), |db| {
        let f = fixture(db);
        membership(db, &f.jane, &f.roll, Some("She was just awesome."));
        membership(db, &f.jim, &f.roll, Some("He is good."));
        membership(db, &f.bob, &f.roll, None);
        assert_eq!(
            group_names(
                Group::objects()
                    .filter(q!(membership__invite_reason = "She was just awesome."))
                    .all(db)
                    .unwrap()
            ),
            ["Roll"]
        );
        assert_eq!(
            names(
                Person::objects()
                    .filter(q!(membership__invite_reason = "She was just awesome."))
                    .all(db)
                    .unwrap()
            ),
            ["Jane"]
        );
    });
}

#[test]
fn non_unique_results_through_intermediate_model() {
    run(&models(), |db| {
        let f = fixture(db);
        let at = |y: i32| {
            NaiveDate::from_ymd_opt(y, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
        };
        let add = |p: &Person, g: &Group, joined: Option<DateTime<Utc>>| {
            let mut m = membership(db, p, g, None);
            if let Some(d) = joined {
                m.date_joined = d;
                m.save(db).unwrap();
            }
        };
        add(&f.jim, &f.rock, None);
        add(&f.jane, &f.rock, Some(at(2006)));
        add(&f.bob, &f.roll, Some(at(2004)));
        add(&f.jim, &f.roll, None);
        add(&f.jane, &f.roll, Some(at(2004)));
        let qs = Person::objects().filter(q!(membership__date_joined__gt = at(2004)));
        assert_eq!(names(qs.all(db).unwrap()), ["Jane", "Jim", "Jim"]);
    });
}

#[test]
fn custom_related_names() {
    run(&models(), |db| {
        let f = fixture(db);
        assert!(f.rock.custom_members().all(db).unwrap().is_empty());
        assert!(f.bob.custom().all(db).unwrap().is_empty());
        custom_membership(db, &f.bob, &f.rock, Utc::now());
        custom_membership(db, &f.jim, &f.rock, Utc::now());
        assert_eq!(
            names(f.rock.custom_members().all(db).unwrap()),
            ["Bob", "Jim"]
        );
        assert_eq!(group_names(f.bob.custom().all(db).unwrap()), ["Rock"]);
        assert_eq!(
            names(
                Person::objects()
                    .filter(q!(custom__name = "Rock"))
                    .all(db)
                    .unwrap()
            ),
            ["Bob", "Jim"]
        );
        // The foreign key's own related name does not clash with the relation's.
        assert_eq!(f.bob.custom_person_related_name().count(db).unwrap(), 1);
    });
}

#[test]
fn order_by_relational_field_through_model() {
    run(&models(), |db| {
        let f = fixture(db);
        let today = Utc::now();
        let yesterday = today - TimeDelta::days(1);
        custom_membership(db, &f.jim, &f.rock, yesterday);
        custom_membership(db, &f.bob, &f.rock, today);
        custom_membership(db, &f.jane, &f.roll, yesterday);
        custom_membership(db, &f.jim, &f.roll, today);
        // The ordering reuses the manager's join to the through table.
        let ordered = |g: &Group| {
            names(
                g.custom_members()
                    .queryset()
                    .order_by(["custom_person_related_name"])
                    .all(db)
                    .unwrap(),
            )
        };
        assert_eq!(ordered(&f.rock), ["Jim", "Bob"]);
        assert_eq!(ordered(&f.roll), ["Jane", "Jim"]);
    });
}

#[test]
fn through_fields() {
    run(&models(), |db| {
        let f = fixture(db);
        let event = Event::objects()
            .create(
                db,
                Event {
                    id: 0,
                    title: "Rockwhale 2014".into(),
                    invitees: ManyToMany::new(),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        for invitee in [&f.jim, &f.jane] {
            Invitation::objects()
                .create(
                    db,
                    Invitation {
                        id: 0,
                        event: ForeignKey::to(&event).unwrap(),
                        inviter: ForeignKey::to(&f.bob).unwrap(),
                        invitee: ForeignKey::to(invitee).unwrap(),
                        _state: ModelState::new(),
                    },
                )
                .unwrap();
        }
        assert_eq!(names(event.invitees().all(db).unwrap()), ["Jane", "Jim"]);
        assert_eq!(f.jim.events_invited().count(db).unwrap(), 1);
        assert_eq!(f.bob.events_invited().count(db).unwrap(), 0);
    });
}

fn self_ref(db: &Database, name: &str) -> PersonSelfRefM2M {
    PersonSelfRefM2M::objects()
        .create(
            db,
            PersonSelfRefM2M {
                id: 0,
                name: name.into(),
                friends: ManyToMany::new(),
                sym_friends: ManyToMany::new(),
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

fn befriend(db: &Database, a: &PersonSelfRefM2M, b: &PersonSelfRefM2M) {
    Friendship::objects()
        .create(
            db,
            Friendship {
                id: 0,
                first: ForeignKey::to(a).unwrap(),
                second: ForeignKey::to(b).unwrap(),
                date_friended: Utc::now(),
                _state: ModelState::new(),
            },
        )
        .unwrap();
}

fn self_names(people: Vec<PersonSelfRefM2M>) -> Vec<String> {
    people.into_iter().map(|p| p.name).collect()
}

#[test]
fn self_referential_non_symmetrical() {
    run(&models(), |db| {
        let tony = self_ref(db, "Tony");
        assert!(tony.friends().all(db).unwrap().is_empty());
        let chris = self_ref(db, "Chris");
        befriend(db, &tony, &chris);
        assert_eq!(self_names(tony.friends().all(db).unwrap()), ["Chris"]);
        assert!(chris.friends().all(db).unwrap().is_empty());
        // Clearing Chris's side leaves Tony's link.
        chris.friends().clear(db).unwrap();
        assert_eq!(self_names(tony.friends().all(db).unwrap()), ["Chris"]);
        befriend(db, &chris, &tony);
        assert_eq!(self_names(tony.friends().all(db).unwrap()), ["Chris"]);
        assert_eq!(self_names(chris.friends().all(db).unwrap()), ["Tony"]);
        // The reverse side of a non-symmetrical relation: who lists me as a friend.
        assert_eq!(
            self_names(chris.personselfrefm2m_set().all(db).unwrap()),
            ["Tony"]
        );
    });
}

#[test]
fn through_fields_self_referential() {
    run(&models(), |db| {
        let emp = |name: &str| {
            Employee::objects()
                .create(
                    db,
                    Employee {
                        id: 0,
                        name: name.into(),
                        subordinates: ManyToMany::new(),
                        _state: ModelState::new(),
                    },
                )
                .unwrap()
        };
        let (john, peter, mary, harry) = (emp("john"), emp("peter"), emp("mary"), emp("harry"));
        for (target, another) in [(&peter, None), (&mary, None), (&harry, Some(&peter))] {
            Relationship::objects()
                .create(
                    db,
                    Relationship {
                        id: 0,
                        another: another.map(|a| ForeignKey::to(a).unwrap()),
                        target: ForeignKey::to(target).unwrap(),
                        source: ForeignKey::to(&john).unwrap(),
                        _state: ModelState::new(),
                    },
                )
                .unwrap();
        }
        let subs: Vec<String> = john
            .subordinates()
            .all(db)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(subs, ["peter", "mary", "harry"]);
    });
}

#[test]
fn self_referential_symmetrical() {
    run(&models(), |db| {
        let tony = self_ref(db, "Tony");
        let chris = self_ref(db, "Chris");
        let today = Utc::now().date_naive();
        let friendship = |a: &PersonSelfRefM2M, b: &PersonSelfRefM2M| {
            SymmetricalFriendship::objects()
                .create(
                    db,
                    SymmetricalFriendship {
                        id: 0,
                        first: ForeignKey::to(a).unwrap(),
                        second: ForeignKey::to(b).unwrap(),
                        date_friended: today,
                        _state: ModelState::new(),
                    },
                )
                .unwrap();
        };
        friendship(&tony, &chris);
        assert_eq!(
            tony.sym_friends().all(db).unwrap(),
            std::slice::from_ref(&chris)
        );
        // A through row written by hand adds no mirror row.
        assert!(chris.sym_friends().all(db).unwrap().is_empty());
        friendship(&chris, &tony);
        assert_eq!(chris.sym_friends().all(db).unwrap(), [tony]);
    });
}

#[test]
fn add_and_set_on_symmetrical_with_intermediate_model() {
    run(&models(), |db| {
        let tony = self_ref(db, "Tony");
        let chris = self_ref(db, "Chris");
        let anne = self_ref(db, "Anne");
        let kate = self_ref(db, "Kate");
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let date_of = |p: &PersonSelfRefM2M| {
            p.symmetricalfriendship_set()
                .get(db, Q::all())
                .unwrap()
                .date_friended
        };
        tony.sym_friends()
            .through_defaults([("date_friended", Value::Date(d(2017, 1, 3)))])
            .add(db, [&chris])
            .unwrap();
        assert_eq!(
            tony.sym_friends().all(db).unwrap(),
            std::slice::from_ref(&chris)
        );
        assert_eq!(
            chris.sym_friends().all(db).unwrap(),
            std::slice::from_ref(&tony)
        );
        assert_eq!(date_of(&chris), d(2017, 1, 3));

        let added = d(2013, 1, 5);
        let set = d(2020, 6, 1);
        tony.sym_friends().clear(db).unwrap();
        assert!(chris.sym_friends().all(db).unwrap().is_empty());
        tony.sym_friends()
            .through_defaults([("date_friended", Value::Date(added))])
            .add(db, [&anne, &chris])
            .unwrap();
        tony.sym_friends()
            .through_defaults([("date_friended", Value::Date(set))])
            .set(db, [&anne, &kate])
            .unwrap();
        assert_eq!(
            self_names(tony.sym_friends().all(db).unwrap()),
            ["Anne", "Kate"]
        );
        assert_eq!(
            anne.sym_friends().all(db).unwrap(),
            std::slice::from_ref(&tony)
        );
        assert_eq!(
            kate.sym_friends().all(db).unwrap(),
            std::slice::from_ref(&tony)
        );
        assert!(chris.sym_friends().all(db).unwrap().is_empty());
        assert_eq!(date_of(&kate), set);
        // Anne's link was kept, with its date.
        assert_eq!(date_of(&anne), added);
        tony.sym_friends()
            .through_defaults([("date_friended", Value::Date(set))])
            .set_clear(db, [&anne])
            .unwrap();
        assert_eq!(
            tony.sym_friends().all(db).unwrap(),
            std::slice::from_ref(&anne)
        );
        assert_eq!(anne.sym_friends().all(db).unwrap(), [tony]);
        assert_eq!(date_of(&anne), set);
    });
}

#[test]
fn to_field_keys() {
    run(&models(), |db| {
        let ingredient = |n: &str| {
            Ingredient::objects()
                .create(
                    db,
                    Ingredient {
                        id: 0,
                        iname: n.into(),
                        _state: ModelState::new(),
                    },
                )
                .unwrap()
        };
        let (pea, potato, tomato) = (
            ingredient("pea"),
            ingredient("potato"),
            ingredient("tomato"),
        );
        let curry = Recipe::objects()
            .create(
                db,
                Recipe {
                    id: 0,
                    rname: "curry".into(),
                    ingredients: ManyToMany::new(),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        for i in [&potato, &pea, &tomato] {
            RecipeIngredient::objects()
                .create(
                    db,
                    RecipeIngredient {
                        id: 0,
                        ingredient: ForeignKey::new(i.iname.clone()),
                        recipe: ForeignKey::new(curry.rname.clone()),
                        _state: ModelState::new(),
                    },
                )
                .unwrap();
        }
        assert_eq!(
            curry.ingredients().all(db).unwrap(),
            [pea.clone(), potato.clone(), tomato.clone()]
        );
        assert_eq!(tomato.recipes().get(db, Q::all()).unwrap(), curry);
        // Writes hold the `to_field` values too.
        curry.ingredients().remove(db, [&pea]).unwrap();
        assert_eq!(curry.ingredients().count(db).unwrap(), 2);
        curry.ingredients().add(db, [&pea]).unwrap();
        let keys: Vec<String> = RecipeIngredient::objects()
            .filter(q!(recipe = "curry"))
            .all(db)
            .unwrap()
            .into_iter()
            .map(|r| r.ingredient.id().clone())
            .collect();
        assert!(keys.contains(&"pea".to_string()), "{keys:?}");
    });
}

#[test]
fn prefetch_through_models() {
    run(&models(), |db| {
        let f = fixture(db);
        membership(db, &f.jim, &f.rock, None);
        membership(db, &f.jane, &f.rock, None);
        membership(db, &f.jim, &f.roll, None);
        let (groups, queries) = quarry::testing::capture_queries(|| {
            Group::objects()
                .prefetch_related(["members"])
                .all(db)
                .unwrap()
        });
        assert_eq!(queries.len(), 2);
        let cached: Vec<Vec<String>> = groups
            .iter()
            .map(|g| {
                g.members()
                    .cached()
                    .unwrap()
                    .iter()
                    .map(|p| p.name.clone())
                    .collect()
            })
            .collect();
        assert_eq!(cached, [vec!["Jane", "Jim"], vec!["Jim"]]);
        // And the reverse side.
        let people = Person::objects()
            .prefetch_related(["group_set"])
            .all(db)
            .unwrap();
        let counts: Vec<(String, usize)> = people
            .iter()
            .map(|p| (p.name.clone(), p.group_set().cached().unwrap().len()))
            .collect();
        assert_eq!(
            counts,
            [("Bob".into(), 0), ("Jane".into(), 1), ("Jim".into(), 2)]
        );
    });
}
