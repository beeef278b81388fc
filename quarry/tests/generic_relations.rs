//! Ported from Django's `tests/generic_relations`: content types, generic foreign keys
//! (several per model, custom field names, NULL-able), generic relations with their
//! manager, lookups both ways restricted to the content type, deletes and prefetch.

mod common;

use common::{assert_error_contains, run};
use quarry::contenttypes::{ContentType, GenericForeignKey, GenericRelation};
use quarry::prelude::*;
use quarry::testing::capture_queries;
use quarry::ModelMeta;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "generic_relations", ordering = ["tag", "content_type__model"])]
pub struct TaggedItem {
    pub id: i64,
    #[field(kind = "SlugField")]
    pub tag: String,
    #[field(on_delete = Cascade)]
    pub content_type: ForeignKey<ContentType>,
    pub object_id: i64,
    pub content_object: GenericForeignKey,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "generic_relations")]
pub struct Comparison {
    pub id: i64,
    #[field(max_length = 50)]
    pub comparative: String,
    #[field(on_delete = Cascade, related_name = "comparative1_set")]
    pub content_type1: ForeignKey<ContentType>,
    pub object_id1: i64,
    #[field(ct_field = "content_type1", fk_field = "object_id1")]
    pub first_obj: GenericForeignKey,
    #[field(on_delete = Cascade, related_name = "comparative2_set")]
    pub content_type2: ForeignKey<ContentType>,
    pub object_id2: i64,
    #[field(ct_field = "content_type2", fk_field = "object_id2")]
    pub other_obj: GenericForeignKey,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "generic_relations")]
pub struct Animal {
    pub id: i64,
    #[field(max_length = 150)]
    pub common_name: String,
    #[field(max_length = 150)]
    pub latin_name: String,
    #[field(related_query_name = "animal")]
    pub tags: GenericRelation<TaggedItem>,
    #[field(object_id_field = "object_id1", content_type_field = "content_type1")]
    pub comparisons: GenericRelation<Comparison>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "generic_relations")]
pub struct Vegetable {
    pub id: i64,
    #[field(max_length = 150)]
    pub name: String,
    #[field(default = true)]
    pub is_yucky: bool,
    pub tags: GenericRelation<TaggedItem>,
    pub _state: ModelState,
}

/// No generic relation here: its tags stay when it is deleted.
#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "generic_relations")]
pub struct Mineral {
    pub id: i64,
    #[field(max_length = 150)]
    pub name: String,
    pub hardness: i16,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "generic_relations")]
pub struct ManualPK {
    #[field(primary_key, kind = "IntegerField")]
    pub id: i32,
    #[field(related_query_name = "manualpk")]
    pub tags: GenericRelation<TaggedItem>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "generic_relations")]
pub struct AllowsNullGFK {
    pub id: i64,
    #[field(on_delete = SetNull)]
    pub content_type: Option<ForeignKey<ContentType>>,
    pub object_id: Option<i64>,
    pub content_object: GenericForeignKey,
    pub _state: ModelState,
}

fn models() -> Vec<&'static ModelMeta> {
    vec![
        TaggedItem::meta(),
        Comparison::meta(),
        Animal::meta(),
        Vegetable::meta(),
        Mineral::meta(),
        ManualPK::meta(),
        AllowsNullGFK::meta(),
    ]
}

fn animal(db: &Database, common: &str, latin: &str) -> Animal {
    Animal::objects()
        .create(
            db,
            Animal {
                id: 0,
                common_name: common.into(),
                latin_name: latin.into(),
                tags: GenericRelation::new(),
                comparisons: GenericRelation::new(),
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

fn vegetable(db: &Database, name: &str, is_yucky: bool) -> Vegetable {
    Vegetable::objects()
        .create(
            db,
            Vegetable {
                id: 0,
                name: name.into(),
                is_yucky,
                tags: GenericRelation::new(),
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

/// An unsaved tag (its generic key is set with `tags().create` or
/// `set_content_object`).
fn tag(name: &str) -> TaggedItem {
    TaggedItem::from_pairs([
        ("tag", Value::from(name)),
        ("content_type", Value::I64(0)),
        ("object_id", Value::I64(0)),
    ])
    .unwrap()
}

/// A saved tag on `obj`, Django's `TaggedItem.objects.create(content_object=obj, ...)`.
fn tag_on<T: Model>(db: &Database, obj: &T, name: &str) -> TaggedItem {
    let mut t = tag(name);
    t.set_content_object(db, obj).unwrap();
    t.save(db).unwrap();
    t
}

struct Fixture {
    lion: Animal,
    platypus: Animal,
    bacon: Vegetable,
    quartz: Mineral,
    fatty: TaggedItem,
    salty: TaggedItem,
    yellow: TaggedItem,
    hairy: TaggedItem,
}

fn fixture(db: &Database) -> Fixture {
    let lion = animal(db, "Lion", "Panthera leo");
    let platypus = animal(db, "Platypus", "Ornithorhynchus anatinus");
    vegetable(db, "Eggplant", true);
    let bacon = vegetable(db, "Bacon", false);
    let quartz = Mineral::objects()
        .create(
            db,
            Mineral {
                id: 0,
                name: "Quartz".into(),
                hardness: 7,
                _state: ModelState::new(),
            },
        )
        .unwrap();
    let fatty = bacon.tags().create(db, tag("fatty")).unwrap();
    let salty = bacon.tags().create(db, tag("salty")).unwrap();
    let yellow = lion.tags().create(db, tag("yellow")).unwrap();
    let hairy = lion.tags().create(db, tag("hairy")).unwrap();
    Fixture {
        lion,
        platypus,
        bacon,
        quartz,
        fatty,
        salty,
        yellow,
        hairy,
    }
}

fn tags(items: Vec<TaggedItem>) -> Vec<String> {
    items.into_iter().map(|t| t.tag).collect()
}

/// `(tag, model of its content type, object id)`, Django's `comp_func`.
fn described(db: &Database) -> Vec<(String, &'static str, i64)> {
    TaggedItem::objects()
        .all(db)
        .unwrap()
        .into_iter()
        .map(|t| {
            let ct = t.content_type.get(db).unwrap();
            (t.tag.clone(), ct.model_meta().unwrap().name, t.object_id)
        })
        .collect()
}

#[test]
fn manager_mimics_many_to_many() {
    run(&models(), |db| {
        let f = fixture(db);
        assert_eq!(tags(f.lion.tags().all(db).unwrap()), ["hairy", "yellow"]);
        assert_eq!(tags(f.bacon.tags().all(db).unwrap()), ["fatty", "salty"]);
        assert_eq!(f.lion.tags().count(db).unwrap(), 2);
        assert!(!f.platypus.tags().exists(db).unwrap());
    });
}

#[test]
fn access_content_object() {
    run(&models(), |db| {
        let f = fixture(db);
        let item = TaggedItem::objects().get(db, q!(tag = "salty")).unwrap();
        let (veg, queries) = capture_queries(|| item.content_object::<Vegetable>(db).unwrap());
        assert_eq!(veg.as_ref(), Some(&f.bacon));
        // The content type is in the database's cache since the fixture used it.
        assert_eq!(queries.len(), 1, "the object: {queries:?}");
        ContentType::clear_cache(db);
        let item = TaggedItem::objects().get(db, q!(tag = "salty")).unwrap();
        let (_, queries) = capture_queries(|| item.content_object::<Vegetable>(db).unwrap());
        assert_eq!(queries.len(), 2, "the content type, then the object");
        // Cached on the instance.
        let (_, queries) = capture_queries(|| item.content_object::<Vegetable>(db).unwrap());
        assert!(queries.is_empty());
        // Asking for the wrong model is an error, not a wrong row.
        assert_error_contains(
            item.content_object::<Animal>(db),
            "TaggedItem.content_object points at a generic_relations.vegetable object, not \
             a Animal",
        );
        // A row that is gone reads as None.
        let mut orphan = tag_on(db, &f.quartz, "orphan");
        Mineral::objects()
            .filter(q!(pk = f.quartz.id))
            .delete(db)
            .unwrap();
        orphan.content_object.replace_cached(None);
        assert_eq!(orphan.content_object::<Mineral>(db).unwrap(), None);
    });
}

#[test]
fn query_content_object() {
    run(&models(), |db| {
        let f = fixture(db);
        let qs = TaggedItem::objects()
            .filter(q!(animal__isnull = false))
            .order_by(["animal__common_name", "tag"]);
        assert_eq!(qs.all(db).unwrap(), [f.hairy.clone(), f.yellow.clone()]);
        let mpk = ManualPK::objects()
            .create(
                db,
                ManualPK {
                    id: 1,
                    tags: GenericRelation::new(),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        mpk.tags().create(db, tag("mpk")).unwrap();
        let qs = TaggedItem::objects()
            .filter(q!(animal__isnull = false) | q!(manualpk__id = 1))
            .order_by(["tag"]);
        assert_eq!(tags(qs.all(db).unwrap()), ["hairy", "mpk", "yellow"]);
    });
}

#[test]
fn lookups_on_the_two_fields() {
    run(&models(), |db| {
        let f = fixture(db);
        let shiny = tag_on(db, &f.quartz, "shiny");
        let clearish = tag_on(db, &f.quartz, "clearish");
        let ctype = ContentType::for_model::<Mineral>(db).unwrap();
        let q =
            TaggedItem::objects().filter(q!(content_type__pk = ctype.id, object_id = f.quartz.id));
        assert_eq!(q.all(db).unwrap(), [clearish, shiny]);
    });
}

#[test]
fn access_via_content_type() {
    run(&models(), |db| {
        let mut f = fixture(db);
        f.lion.delete(db).unwrap();
        f.platypus.tags().create(db, tag("fatty")).unwrap();
        let ctype = ContentType::for_model::<Animal>(db).unwrap();
        let found = Animal::objects()
            .filter(q!(tags__content_type = &ctype))
            .all(db)
            .unwrap();
        assert_eq!(found, [f.platypus]);
    });
}

#[test]
fn set_foreign_key() {
    run(&models(), |db| {
        let f = fixture(db);
        let mut tag1 = tag_on(db, &f.quartz, "shiny");
        tag1.set_content_object(db, &f.platypus).unwrap();
        tag1.save(db).unwrap();
        assert_eq!(f.platypus.tags().all(db).unwrap(), [tag1]);
        // An unsaved object cannot be pointed at.
        let unsaved = Mineral {
            id: 0,
            name: "Quartz".into(),
            hardness: 7,
            _state: ModelState::new(),
        };
        let mut t = tag("shiny");
        assert_error_contains(
            t.set_content_object(db, &unsaved),
            "save() prohibited to prevent data loss due to unsaved related object 'mineral'.",
        );
    });
}

#[test]
fn queries_content_type_restriction() {
    run(&models(), |db| {
        let f = fixture(db);
        // A ManualPK with the lion's key, tagged "fatty": the content type keeps it
        // apart from the lion.
        let mpk = ManualPK::objects()
            .create(
                db,
                ManualPK {
                    id: f.lion.id as i32,
                    tags: GenericRelation::new(),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        mpk.tags().create(db, tag("fatty")).unwrap();
        f.platypus.tags().create(db, tag("fatty")).unwrap();
        assert_eq!(
            Animal::objects()
                .filter(q!(tags__tag = "fatty"))
                .all(db)
                .unwrap(),
            std::slice::from_ref(&f.platypus)
        );
        assert_eq!(
            Animal::objects()
                .exclude(q!(tags__tag = "fatty"))
                .all(db)
                .unwrap(),
            std::slice::from_ref(&f.lion)
        );
    });
}

#[test]
fn object_deletion_with_and_without_generic_relation() {
    run(&models(), |db| {
        let mut f = fixture(db);
        let (lion, bacon) = (f.lion.id, f.bacon.id);
        assert_eq!(
            described(db),
            [
                ("fatty".to_string(), "Vegetable", bacon),
                ("hairy".to_string(), "Animal", lion),
                ("salty".to_string(), "Vegetable", bacon),
                ("yellow".to_string(), "Animal", lion),
            ]
        );
        let deleted = f.lion.delete(db).unwrap();
        assert_eq!(
            deleted.per_model,
            [
                ("generic_relations.Animal".to_string(), 1),
                ("generic_relations.TaggedItem".to_string(), 2)
            ]
        );
        assert_eq!(
            described(db),
            [
                ("fatty".to_string(), "Vegetable", bacon),
                ("salty".to_string(), "Vegetable", bacon),
            ]
        );
        // Mineral declares no GenericRelation: its tags stay.
        tag_on(db, &f.quartz, "clearish");
        let quartz = f.quartz.id;
        f.quartz.delete(db).unwrap();
        assert_eq!(
            described(db),
            [
                ("clearish".to_string(), "Mineral", quartz),
                ("fatty".to_string(), "Vegetable", bacon),
                ("salty".to_string(), "Vegetable", bacon),
            ]
        );
        // Deleting a tag leaves its object alone.
        f.fatty.delete(db).unwrap();
        assert_eq!(tags(f.bacon.tags().all(db).unwrap()), ["salty"]);
    });
}

#[test]
fn add_set_remove_clear() {
    run(&models(), |db| {
        let f = fixture(db);
        let bacon = vegetable(db, "Bacon", false);
        let mut t = [
            tag_on(db, &f.quartz, "shiny"),
            tag_on(db, &f.quartz, "clearish"),
        ];
        let ((), queries) = capture_queries(|| bacon.tags().add(db, &mut t).unwrap());
        // One UPDATE (the content type comes from the cache).
        assert_eq!(queries.len(), 1, "{queries:?}");
        assert!(queries[0].starts_with("UPDATE"), "{}", queries[0]);
        for item in &t {
            assert_eq!(item.object_id, bacon.id);
        }
        assert_eq!(tags(bacon.tags().all(db).unwrap()), ["clearish", "shiny"]);
        // Unsaved objects are refused.
        assert_error_contains(
            bacon.tags().add(db, &mut [tag("new")]),
            "'TaggedItem' instance isn't saved. Use add_each() (Django's bulk=False) or save the object first.",
        );
        // add_each (bulk=False) saves each one.
        let mut fresh = [tag("new")];
        bacon.tags().add_each(db, &mut fresh).unwrap();
        assert!(!fresh[0]._state.adding());
        assert_eq!(fresh[0].object_id, bacon.id);
        assert_eq!(
            tags(bacon.tags().all(db).unwrap()),
            ["clearish", "new", "shiny"]
        );
        fresh[0].delete(db).unwrap();

        let bacon = vegetable(db, "Bacon", false);
        let fatty = bacon.tags().create(db, tag("fatty")).unwrap();
        let salty = bacon.tags().create(db, tag("salty")).unwrap();
        bacon
            .tags()
            .set(db, &mut [fatty.clone(), salty.clone()])
            .unwrap();
        assert_eq!(tags(bacon.tags().all(db).unwrap()), ["fatty", "salty"]);
        bacon.tags().set(db, &mut [fatty.clone()]).unwrap();
        assert_eq!(tags(bacon.tags().all(db).unwrap()), ["fatty"]);
        bacon.tags().set(db, &mut []).unwrap();
        assert!(bacon.tags().all(db).unwrap().is_empty());

        // remove() and clear() delete the tags, as in Django.
        let total = TaggedItem::objects().count(db).unwrap();
        f.bacon
            .tags()
            .remove(db, std::slice::from_ref(&f.fatty))
            .unwrap();
        assert_eq!(tags(f.bacon.tags().all(db).unwrap()), ["salty"]);
        assert_eq!(TaggedItem::objects().count(db).unwrap(), total - 1);
        f.bacon.tags().clear(db).unwrap();
        assert!(f.bacon.tags().all(db).unwrap().is_empty());
        assert_eq!(
            tags(TaggedItem::objects().order_by(["tag"]).all(db).unwrap()),
            ["clearish", "hairy", "shiny", "yellow"]
        );
        let _ = f.salty;
    });
}

#[test]
fn reverse_name_is_opt_in() {
    run(&models(), |db| {
        fixture(db);
        assert_error_contains(
            TaggedItem::objects()
                .filter(q!(vegetable__isnull = true))
                .all(db),
            "Cannot resolve keyword 'vegetable' into field of TaggedItem. Choices are: \
             animal, content_object, content_type, content_type_id, id, manualpk, object_id, tag",
        );
        assert_error_contains(
            TaggedItem::objects().get(db, q!(content_object = "")),
            "Field 'content_object' does not generate an automatic reverse relation",
        );
    });
}

#[test]
fn multiple_generic_foreign_keys() {
    run(&models(), |db| {
        let tiger = animal(db, "tiger", "");
        let cheetah = animal(db, "cheetah", "");
        let bear = animal(db, "bear", "");
        let comparison = |first: &Animal, other: &Animal, comparative: &str| {
            let mut c = Comparison::from_pairs([
                ("comparative", Value::from(comparative)),
                ("content_type1", Value::I64(0)),
                ("object_id1", Value::I64(0)),
                ("content_type2", Value::I64(0)),
                ("object_id2", Value::I64(0)),
            ])
            .unwrap();
            c.set_first_obj(db, first).unwrap();
            c.set_other_obj(db, other).unwrap();
            c
        };
        let mut c1 = comparison(&cheetah, &tiger, "faster");
        c1.save(db).unwrap();
        let mut c2 = comparison(&tiger, &cheetah, "cooler");
        c2.save(db).unwrap();
        // Through the generic relation: first_obj is set by the manager.
        let c3 = tiger
            .comparisons()
            .create(db, comparison(&bear, &bear, "cooler"))
            .unwrap();
        let c4 = tiger
            .comparisons()
            .create(db, comparison(&bear, &cheetah, "stronger"))
            .unwrap();
        assert_eq!(c3.first_obj::<Animal>(db).unwrap().unwrap().id, tiger.id);
        assert_eq!(cheetah.comparisons().all(db).unwrap(), [c1.clone()]);
        let mut cooler = tiger
            .comparisons()
            .filter(q!(comparative = "cooler"))
            .all(db)
            .unwrap();
        cooler.sort_by_key(|c| c.id);
        assert_eq!(cooler, [c2.clone(), c3.clone()]);
        tiger
            .comparisons()
            .filter(q!(comparative__in = ["cooler"]))
            .delete(db)
            .unwrap();
        let mut left = Comparison::objects().all(db).unwrap();
        left.sort_by_key(|c| c.id);
        assert_eq!(left, [c1.clone(), c4.clone()]);
        // Deleting the cheetah deletes the comparisons whose first_obj is it (the
        // generic relation reads first_obj); other_obj ones stay.
        let mut cheetah = cheetah;
        cheetah.delete(db).unwrap();
        assert_eq!(Comparison::objects().all(db).unwrap(), [c4]);
    });
}

#[test]
fn nullable_generic_foreign_key() {
    run(&models(), |db| {
        let mut empty = AllowsNullGFK::objects()
            .create(
                db,
                AllowsNullGFK {
                    id: 0,
                    content_type: None,
                    object_id: None,
                    content_object: GenericForeignKey::new(),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        assert_eq!(empty.content_object::<Animal>(db).unwrap(), None);
        let lion = animal(db, "Lion", "Panthera leo");
        empty.set_content_object(db, &lion).unwrap();
        empty.save(db).unwrap();
        let back = AllowsNullGFK::objects().get(db, Q::all()).unwrap();
        assert_eq!(back.content_object::<Animal>(db).unwrap(), Some(lion));
    });
}

#[test]
fn writes_after_prefetch() {
    run(&models(), |db| {
        let f = fixture(db);
        let prefetched = || {
            Animal::objects()
                .prefetch_related(["tags"])
                .get(db, q!(pk = f.platypus.id))
                .unwrap()
        };
        let platypus = prefetched();
        let (all, queries) = capture_queries(|| platypus.tags().all(db).unwrap());
        assert!(all.is_empty() && queries.is_empty());
        let weird = platypus.tags().create(db, tag("weird")).unwrap();
        assert_eq!(
            platypus.tags().all(db).unwrap(),
            std::slice::from_ref(&weird)
        );
        let platypus = prefetched();
        platypus
            .tags()
            .remove(db, std::slice::from_ref(&weird))
            .unwrap();
        assert!(platypus.tags().all(db).unwrap().is_empty());
        let platypus = prefetched();
        let mut furry = [tag_on(db, &f.quartz, "furry")];
        platypus.tags().add(db, &mut furry).unwrap();
        assert_eq!(tags(platypus.tags().all(db).unwrap()), ["furry"]);
        let platypus = prefetched();
        platypus.tags().clear(db).unwrap();
        assert!(platypus.tags().all(db).unwrap().is_empty());
    });
}

#[test]
fn prefetch_generic_relation_and_key() {
    run(&models(), |db| {
        let f = fixture(db);
        // The reverse side: one query for every animal's tags.
        let (animals, queries) = capture_queries(|| {
            Animal::objects()
                .order_by(["common_name"])
                .prefetch_related(["tags"])
                .all(db)
                .unwrap()
        });
        assert_eq!(queries.len(), 2);
        let cached: Vec<Vec<String>> = animals
            .iter()
            .map(|a| {
                a.tags()
                    .cached()
                    .unwrap()
                    .iter()
                    .map(|t| t.tag.clone())
                    .collect()
            })
            .collect();
        assert_eq!(cached, [vec!["hairy", "yellow"], vec![]]);

        // The forward side, across two content types, and the level below it.
        tag_on(db, &f.platypus, "prefetch_tag_1");
        tag_on(db, &vegetable(db, "Broccoli", true), "prefetch_tag_2");
        tag_on(db, &animal(db, "Bear", ""), "prefetch_tag_3");
        let (items, queries) = capture_queries(|| {
            TaggedItem::objects()
                .filter(q!(tag__startswith = "prefetch_tag_"))
                .prefetch_related(["content_object", "content_object__tags"])
                .all(db)
                .unwrap()
        });
        // The items, then per model its rows and their tags (the content types are
        // cached).
        assert_eq!(queries.len(), 5, "{queries:?}");
        let (_, queries) = capture_queries(|| {
            for item in &items {
                let tags_of_object: Vec<String> = match item.content_object.cached::<Animal>() {
                    Some(a) => a
                        .tags()
                        .cached()
                        .unwrap()
                        .iter()
                        .map(|t| t.tag.clone())
                        .collect(),
                    None => item
                        .content_object
                        .cached::<Vegetable>()
                        .expect("an animal or a vegetable")
                        .tags()
                        .cached()
                        .unwrap()
                        .iter()
                        .map(|t| t.tag.clone())
                        .collect(),
                };
                assert_eq!(tags_of_object, std::slice::from_ref(&item.tag));
            }
        });
        assert!(queries.is_empty());
        let _ = (f.bacon, f.lion);
    });
}

#[test]
fn prefetch_custom_object_id() {
    run(&models(), |db| {
        let tiger = animal(db, "tiger", "");
        let cheetah = animal(db, "cheetah", "");
        for (first, other, comparative) in
            [(&cheetah, &tiger, "faster"), (&tiger, &cheetah, "cooler")]
        {
            let mut c = Comparison::from_pairs([
                ("comparative", Value::from(comparative)),
                ("content_type1", Value::I64(0)),
                ("object_id1", Value::I64(0)),
                ("content_type2", Value::I64(0)),
                ("object_id2", Value::I64(0)),
            ])
            .unwrap();
            c.set_first_obj(db, first).unwrap();
            c.set_other_obj(db, other).unwrap();
            c.save(db).unwrap();
        }
        let comparisons = Comparison::objects()
            .prefetch_related(["first_obj__comparisons"])
            .all(db)
            .unwrap();
        for c in &comparisons {
            let first = c.first_obj.cached::<Animal>().unwrap();
            assert_eq!(
                first.comparisons().cached().unwrap(),
                std::slice::from_ref(c)
            );
        }
    });
}

#[test]
fn cache_follows_the_two_fields() {
    run(&models(), |db| {
        let broccoli = vegetable(db, "Broccoli", true);
        let cauliflower = vegetable(db, "Cauliflower", true);
        let mut t = tag_on(db, &broccoli, "yummy");
        assert_eq!(t.content_object::<Vegetable>(db).unwrap(), Some(broccoli));
        // Changing the key makes the loaded object stale.
        t.object_id = cauliflower.id;
        assert_eq!(
            t.content_object::<Vegetable>(db).unwrap(),
            Some(cauliflower.clone())
        );
        // So does changing the content type (a Mineral with the same key).
        let mut diamond = Mineral {
            id: cauliflower.id,
            name: "Diamond".into(),
            hardness: 7,
            _state: ModelState::new(),
        };
        diamond._state.set_pk_explicit();
        diamond.save(db).unwrap();
        t.content_type = ForeignKey::to(&ContentType::for_model::<Mineral>(db).unwrap()).unwrap();
        assert_eq!(t.content_object::<Mineral>(db).unwrap(), Some(diamond));
        assert_error_contains(
            t.content_object::<Vegetable>(db),
            "points at a generic_relations.mineral object, not a Vegetable",
        );
    });
}

#[test]
fn test_generic_update_or_create() {
    run(&models(), |db| {
        let f = fixture(db);
        let count = f.bacon.tags().count(db).unwrap();
        let (tag, created) = f
            .bacon
            .tags()
            .update_or_create(db, q!(tag = "stinky"), [], None)
            .unwrap();
        assert!(created);
        assert_eq!(
            tag.content_object::<Vegetable>(db).unwrap(),
            Some(f.bacon.clone())
        );
        assert_eq!(f.bacon.tags().count(db).unwrap(), count + 1);

        // create_defaults when created.
        let (tag, created) = f
            .bacon
            .tags()
            .update_or_create(
                db,
                q!(tag = "smoky"),
                [("tag", "uncured".into())],
                Some(vec![("tag", "juicy".into())]),
            )
            .unwrap();
        assert!(created);
        assert_eq!(tag.tag, "juicy");
        assert_eq!(f.bacon.tags().count(db).unwrap(), count + 2);

        // defaults when updated; create_defaults ignored.
        let (tag, created) = f
            .bacon
            .tags()
            .update_or_create(
                db,
                q!(id = f.fatty.id),
                [("tag", "orange".into())],
                Some(vec![("tag", "pink".into())]),
            )
            .unwrap();
        assert!(!created);
        assert_eq!(tag.tag, "orange");
        assert_eq!(f.bacon.tags().count(db).unwrap(), count + 2);
        // Another object's manager does not reach bacon's tags: it tries to create a
        // row with that id, which the database refuses (as in Django), changing nothing.
        let err =
            f.lion
                .tags()
                .update_or_create(db, q!(id = f.fatty.id), [("tag", "x".into())], None);
        assert!(matches!(err, Err(Error::IntegrityError { .. })), "{err:?}");
        assert_eq!(
            TaggedItem::objects()
                .get(db, q!(id = f.fatty.id))
                .unwrap()
                .tag,
            "orange"
        );
    });
}

#[test]
fn test_generic_get_or_create() {
    run(&models(), |db| {
        let f = fixture(db);
        let count = f.bacon.tags().count(db).unwrap();
        let (tag, created) = f
            .bacon
            .tags()
            .get_or_create(db, q!(tag = "stinky"), [])
            .unwrap();
        assert!(created);
        assert_eq!(tag.object_id, f.bacon.id);
        assert_eq!(f.bacon.tags().count(db).unwrap(), count + 1);
        let (again, created) = f
            .bacon
            .tags()
            .get_or_create(db, q!(tag = "stinky"), [])
            .unwrap();
        assert!(!created);
        assert_eq!(again.id, tag.id);
        // The same tag on the lion is another row.
        let (_, created) = f
            .lion
            .tags()
            .get_or_create(db, q!(tag = "stinky"), [])
            .unwrap();
        assert!(created);
        assert_eq!(f.bacon.tags().count(db).unwrap(), count + 1);
    });
}

#[test]
fn content_type_cache_per_database_and_transactions() {
    run(&models(), |db| {
        // A content type created in a transaction that rolls back is not cached.
        let r: quarry::Result<()> = db.atomic(|tx| {
            ContentType::for_model::<Mineral>(tx)?;
            Err(Error::DoesNotExist {
                model: "rolled back",
            })
        });
        assert!(r.is_err());
        let minerals = || {
            ContentType::objects()
                .filter(q!(model = "mineral"))
                .count(db)
                .unwrap()
        };
        assert_eq!(minerals(), 0);
        let (ct, queries) = capture_queries(|| ContentType::for_model::<Mineral>(db).unwrap());
        assert!(
            !queries.is_empty(),
            "read from the database, not a stale cache"
        );
        assert_eq!(minerals(), 1);
        let (again, queries) = capture_queries(|| ContentType::for_model::<Mineral>(db).unwrap());
        assert!(queries.is_empty(), "{queries:?}");
        assert_eq!(again, ct);
        let (by_id, queries) = capture_queries(|| ContentType::for_id(db, ct.id).unwrap());
        assert!(queries.is_empty(), "{queries:?}");
        assert_eq!(by_id, ct);
        // A transaction reads the cache.
        db.atomic(|tx| {
            let (c, queries) = capture_queries(|| ContentType::for_model::<Mineral>(tx).unwrap());
            assert!(queries.is_empty(), "{queries:?}");
            assert_eq!(c, ct);
            Ok(())
        })
        .unwrap();
        // Another database has its own cache (and its own ids).
        let other = Database::connect("sqlite::memory:").unwrap();
        quarry::schema::create_tables(&other, &[ContentType::meta()]).unwrap();
        for _ in 0..3 {
            ContentType::for_model::<Animal>(&other).unwrap();
            ContentType::for_model::<Vegetable>(&other).unwrap();
        }
        let (theirs, queries) =
            capture_queries(|| ContentType::for_model::<Mineral>(&other).unwrap());
        assert!(!queries.is_empty());
        assert_eq!(theirs.id, 3);
        assert_eq!(ContentType::for_model::<Mineral>(db).unwrap(), ct);
    });
}

#[test]
fn test_generic_prefetch() {
    use quarry::contenttypes::GenericPrefetch;
    run(&models(), |db| {
        let f = fixture(db);
        let tagged_vegetable = tag_on(db, &f.bacon, "great");
        let tagged_animal = tag_on(db, &f.platypus, "awesome");
        let tagged_lion = tag_on(db, &f.lion, "fierce");
        // Read again, so that nothing is loaded.
        let mut items: Vec<TaggedItem> = [&tagged_vegetable, &tagged_animal, &tagged_lion]
            .iter()
            .map(|t| TaggedItem::objects().get(db, q!(pk = t.id)).unwrap())
            .collect();
        let ((), queries) = capture_queries(|| {
            quarry::prefetch_related_objects(
                &mut items,
                [GenericPrefetch::new("content_object")
                    .queryset(Vegetable::objects())
                    .queryset(Animal::objects().filter(q!(common_name = "Platypus")))],
                db,
            )
            .unwrap()
        });
        // One query per model (the content types are cached).
        assert_eq!(queries.len(), 2, "{queries:#?}");
        assert!(
            queries.iter().any(|q| q.contains("common_name")),
            "the Animal QuerySet's filter applies: {queries:#?}"
        );
        let ((), queries) = capture_queries(|| {
            assert_eq!(
                items[0]
                    .content_object::<Vegetable>(db)
                    .unwrap()
                    .unwrap()
                    .name,
                f.bacon.name
            );
            assert_eq!(
                items[1]
                    .content_object::<Animal>(db)
                    .unwrap()
                    .unwrap()
                    .common_name,
                f.platypus.common_name
            );
            // The lion was left out by the QuerySet: cached as absent, as Django caches
            // None.
            assert_eq!(items[2].content_object::<Animal>(db).unwrap(), None);
        });
        assert!(queries.is_empty(), "{queries:#?}");

        // Two QuerySets for one model are refused.
        assert_error_contains(
            quarry::prefetch_related_objects(
                &mut items,
                [GenericPrefetch::new("content_object")
                    .queryset(Animal::objects())
                    .queryset(Animal::objects().filter(q!(common_name__startswith = "P")))],
                db,
            ),
            "Only one queryset is allowed for each content type.",
        );
    });
}
