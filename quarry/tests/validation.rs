//! Ported from Django's `tests/validation` (tests.py, test_unique.py): the database part
//! of `full_clean` — foreign keys that must exist and meet `limit_choices_to`, unique
//! fields and `unique_together` groups — and the `<field>_choices()` QuerySets.

mod common;

use common::run;
use quarry::prelude::*;
use quarry::testing::capture_queries;
use quarry::{ModelMeta, NON_FIELD_ERRORS};

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "validation")]
pub struct UniqueFieldsModel {
    pub id: i64,
    #[field(max_length = 100, unique)]
    pub unique_charfield: String,
    #[field(unique, default = 42)]
    pub unique_integerfield: i32,
    pub non_unique_field: i32,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "validation")]
pub struct ModelToValidate {
    pub id: i64,
    #[field(max_length = 100)]
    pub name: String,
    #[field(db_column = "number_val")]
    pub number: i32,
    #[field(on_delete = SetNull, blank, limit_choices_to = q!(number = 10))]
    pub parent: Option<ForeignKey<ModelToValidate>>,
    #[field(kind = "EmailField", blank, default = String::new())]
    pub email: String,
    #[field(on_delete = SetNull, to_field = "unique_charfield", blank)]
    pub ufm: Option<ForeignKey<UniqueFieldsModel, String>>,
    #[field(kind = "URLField", blank, default = String::new())]
    pub url: String,
    #[field(kind = "SlugField", blank, default = String::new())]
    pub slug: String,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "validation")]
pub struct CustomPkModel {
    #[field(primary_key, max_length = 100)]
    pub my_pk_field: String,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "validation", unique_together = [["ifield", "cfield"], ["ifield", "efield"]])]
pub struct UniqueTogetherModel {
    pub id: i64,
    #[field(max_length = 100)]
    pub cfield: String,
    pub ifield: i32,
    #[field(kind = "EmailField", max_length = 254)]
    pub efield: String,
    pub _state: ModelState,
}

fn active_authors() -> Q {
    q!(archived = false)
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "validation")]
pub struct Author {
    pub id: i64,
    #[field(max_length = 100)]
    pub name: String,
    #[field(default = false)]
    pub archived: bool,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "validation")]
pub struct Article {
    pub id: i64,
    #[field(max_length = 100)]
    pub title: String,
    #[field(on_delete = Cascade, limit_choices_to = active_authors)]
    pub author: ForeignKey<Author>,
    #[field(related_name = "reviewed", limit_choices_to = active_authors)]
    pub reviewers: ManyToMany<Author>,
    pub _state: ModelState,
}

const MODELS: &[fn() -> &'static ModelMeta] = &[
    UniqueFieldsModel::meta,
    ModelToValidate::meta,
    CustomPkModel::meta,
    UniqueTogetherModel::meta,
    Author::meta,
    Article::meta,
];

fn models() -> Vec<&'static ModelMeta> {
    MODELS.iter().map(|m| m()).collect()
}

fn mtv(number: i32, name: &str) -> ModelToValidate {
    ModelToValidate::from_pairs([("number", number.into()), ("name", name.into())]).unwrap()
}

fn messages(r: quarry::Result<()>) -> std::collections::BTreeMap<String, Vec<String>> {
    match r {
        Err(Error::ValidationError(e)) => e.message_dict().clone(),
        other => panic!("expected a ValidationError, got {other:?}"),
    }
}

#[test]
fn test_with_correct_value_model_validates() {
    run(&models(), |db| {
        let m = mtv(10, "Some Name");
        // Nothing to look up: no foreign key set, the auto key is the database's.
        let (r, queries) = capture_queries(|| m.full_clean_using(db));
        r.unwrap();
        assert_eq!(queries.len(), 0, "{queries:?}");
    });
}

#[test]
fn test_wrong_fk_value_raises_error() {
    run(&models(), |db| {
        let mut m = mtv(10, "Some Name");
        m.parent = Some(ForeignKey::new(3));
        // The checks without the database pass: the key is well-formed.
        m.full_clean().unwrap();
        assert_eq!(
            messages(m.full_clean_using(db))["parent"],
            ["model to validate instance with id 3 does not exist."]
        );

        let mut m = mtv(10, "Some Name");
        m.ufm = Some(ForeignKey::new("Some Name".to_owned()));
        assert_eq!(
            messages(m.full_clean_using(db))["ufm"],
            ["unique fields model instance with unique_charfield 'Some Name' does not exist."]
        );
    });
}

#[test]
fn test_correct_fk_value_validates() {
    run(&models(), |db| {
        let parent = ModelToValidate::objects()
            .create(db, mtv(10, "Some Name"))
            .unwrap();
        let mut m = mtv(10, "Some Name");
        m.parent = Some(ForeignKey::to(&parent).unwrap());
        let (r, queries) = capture_queries(|| m.full_clean_using(db));
        r.unwrap();
        assert_eq!(queries.len(), 1, "one lookup of the parent: {queries:?}");

        let ufm = UniqueFieldsModel::objects()
            .create(
                db,
                UniqueFieldsModel::from_pairs([
                    ("unique_charfield", "Some Name".into()),
                    ("non_unique_field", 1.into()),
                ])
                .unwrap(),
            )
            .unwrap();
        m.ufm = Some(ForeignKey::to_field(&ufm, "unique_charfield").unwrap());
        // The primary key does not fit this key: a clear error, not a wrong link.
        common::assert_error_contains(
            ForeignKey::<UniqueFieldsModel, String>::to(&ufm),
            "ForeignKey::to_field(&obj",
        );
        m.full_clean_using(db).unwrap();
    });
}

#[test]
fn test_limited_fk_raises_error() {
    run(&models(), |db| {
        // limit_choices_to says the parent's number must be 10.
        let parent = ModelToValidate::objects()
            .create(db, mtv(11, "Other Name"))
            .unwrap();
        let mut m = mtv(10, "Some Name");
        m.parent = Some(ForeignKey::to(&parent).unwrap());
        let errors = messages(m.full_clean_using(db));
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["parent"]);
        assert_eq!(
            errors["parent"],
            [format!(
                "model to validate instance with id {} does not exist.",
                parent.id
            )]
        );
    });
}

#[test]
fn test_field_errors_come_first_and_skip_the_lookups() {
    run(&models(), |db| {
        let mut m = mtv(10, &"Some Name".repeat(100));
        m.email = "not-an-email".into();
        m.slug = "##invalid##".into();
        m.parent = Some(ForeignKey::new(3));
        let errors = messages(m.full_clean_using(db));
        assert_eq!(
            errors.keys().collect::<Vec<_>>(),
            ["email", "name", "parent", "slug"]
        );
    });
}

#[test]
fn test_fk_limit_from_a_function_and_the_choices_querysets() {
    run(&models(), |db| {
        let active = Author::objects()
            .create(db, Author::from_pairs([("name", "Joseph".into())]).unwrap())
            .unwrap();
        let archived = Author::objects()
            .create(
                db,
                Author::from_pairs([("name", "Randy".into()), ("archived", true.into())]).unwrap(),
            )
            .unwrap();
        let article = |a: &Author| Article {
            id: 0,
            title: "My Article".into(),
            author: ForeignKey::to(a).unwrap(),
            reviewers: ManyToMany::new(),
            _state: ModelState::new(),
        };
        article(&active).full_clean_using(db).unwrap();
        assert_eq!(
            messages(article(&archived).full_clean_using(db))["author"],
            [format!(
                "author instance with id {} does not exist.",
                archived.id
            )]
        );

        let names = |qs: QuerySet<Author>| -> Vec<String> {
            qs.order_by(["name"])
                .all(db)
                .unwrap()
                .into_iter()
                .map(|a| a.name)
                .collect()
        };
        assert_eq!(names(Article::author_choices()), ["Joseph"]);
        assert_eq!(names(Article::reviewers_choices()), ["Joseph"]);
        // Without limit_choices_to, every row is a choice.
        assert_eq!(
            ModelToValidate::ufm_choices().count(db).unwrap(),
            UniqueFieldsModel::objects().count(db).unwrap()
        );
        let parents = ModelToValidate::parent_choices().to_sql(db).unwrap().0;
        assert!(parents.contains("number_val"), "{parents}");

        // As in Django, the many-to-many manager does not check limit_choices_to.
        let a = Article::objects().create(db, article(&active)).unwrap();
        a.reviewers().add(db, [&archived]).unwrap();
        assert_eq!(a.reviewers().count(db).unwrap(), 1);
    });
}

#[test]
fn test_unique_errors() {
    run(&models(), |db| {
        let new = |c: &str, i: i32| {
            UniqueFieldsModel::from_pairs([
                ("unique_charfield", c.into()),
                ("unique_integerfield", i.into()),
                ("non_unique_field", 42.into()),
            ])
            .unwrap()
        };
        let mut first = new("foo", 42);
        first.save(db).unwrap();
        // Editing a saved row does not collide with itself.
        first.full_clean_using(db).unwrap();

        // Django's test_unique_db_default: the default collides.
        let um = UniqueFieldsModel::from_pairs([
            ("unique_charfield", "bar".into()),
            ("non_unique_field", 42.into()),
        ])
        .unwrap();
        let errors = messages(um.full_clean_using(db));
        assert_eq!(
            errors,
            [(
                "unique_integerfield".to_owned(),
                vec![
                    "Unique fields model with this Unique integerfield already exists.".to_owned()
                ]
            )]
            .into()
        );

        let both = new("foo", 42);
        let errors = messages(both.full_clean_using(db));
        assert_eq!(
            errors["unique_charfield"],
            ["Unique fields model with this Unique charfield already exists."]
        );
        assert_eq!(errors.len(), 2);
        new("baz", 43).full_clean_using(db).unwrap();
    });
}

#[test]
fn test_unique_together() {
    run(&models(), |db| {
        let new = |c: &str, i: i32, e: &str| UniqueTogetherModel {
            id: 0,
            cfield: c.into(),
            ifield: i,
            efield: e.into(),
            _state: ModelState::new(),
        };
        UniqueTogetherModel::objects()
            .create(db, new("a", 1, "a@example.com"))
            .unwrap();
        new("a", 2, "b@example.com").full_clean_using(db).unwrap();
        let errors = messages(new("a", 1, "b@example.com").full_clean_using(db));
        assert_eq!(
            errors[NON_FIELD_ERRORS],
            ["Unique together model with this Ifield and Cfield already exists."]
        );
        let errors = messages(new("a", 1, "a@example.com").full_clean_using(db));
        assert_eq!(
            errors[NON_FIELD_ERRORS],
            [
                "Unique together model with this Ifield and Cfield already exists.",
                "Unique together model with this Ifield and Efield already exists.",
            ]
        );
        // A field that failed its own checks is left out of the groups it is in.
        let errors = messages(new("a", 1, "not-an-email").full_clean_using(db));
        assert_eq!(
            errors[NON_FIELD_ERRORS],
            ["Unique together model with this Ifield and Cfield already exists."]
        );
        assert_eq!(errors["efield"], ["Enter a valid email address."]);
    });
}

#[test]
fn test_primary_key_unique_check() {
    run(&models(), |db| {
        // Adding with an explicit key: one query.
        let mut m = mtv(10, "Some Name");
        m.id = 123;
        m._state.set_pk_explicit();
        let (r, queries) = capture_queries(|| m.full_clean_using(db));
        r.unwrap();
        assert_eq!(queries.len(), 1, "{queries:?}");
        m.save(db).unwrap();
        // Editing: the key is not checked.
        let (r, queries) = capture_queries(|| m.full_clean_using(db));
        r.unwrap();
        assert_eq!(queries.len(), 0, "{queries:?}");
        let mut twin = mtv(10, "Twin");
        twin.id = 123;
        twin._state.set_pk_explicit();
        assert_eq!(
            messages(twin.full_clean_using(db))["id"],
            ["Model to validate with this ID already exists."]
        );

        // A primary key that is not automatic is always the caller's.
        CustomPkModel::objects()
            .create(
                db,
                CustomPkModel {
                    my_pk_field: "x".into(),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let dup = CustomPkModel {
            my_pk_field: "x".into(),
            _state: ModelState::new(),
        };
        assert_eq!(
            messages(dup.full_clean_using(db))["my_pk_field"],
            ["Custom pk model with this My pk field already exists."]
        );
    });
}
