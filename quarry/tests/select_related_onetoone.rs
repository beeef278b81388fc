//! Ported from Django's `tests/select_related_onetoone`: `select_related` across the
//! reverse side of one-to-one fields, nested and mixed with forward steps, the missing
//! object cached as `DoesNotExist`, and the validation messages listing reverse names.
//! (The model inheritance cases wait for model inheritance.)

mod common;

use common::{assert_error_contains, run};
use quarry::prelude::*;
use quarry::testing::capture_queries;
use quarry::ModelMeta;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "select_related_onetoone")]
pub struct User {
    pub id: i64,
    #[field(max_length = 100)]
    pub username: String,
    #[field(kind = "EmailField", default = String::new())]
    pub email: String,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "select_related_onetoone")]
pub struct UserProfile {
    pub id: i64,
    #[field(on_delete = Cascade)]
    pub user: OneToOneField<User>,
    #[field(max_length = 100)]
    pub city: String,
    #[field(max_length = 2)]
    pub state: String,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "select_related_onetoone")]
pub struct UserStatResult {
    pub id: i64,
    #[field(max_length = 50)]
    pub results: String,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "select_related_onetoone")]
pub struct UserStat {
    #[field(primary_key, on_delete = Cascade)]
    pub user: OneToOneField<User>,
    pub posts: i32,
    #[field(on_delete = Cascade)]
    pub results: ForeignKey<UserStatResult>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "select_related_onetoone")]
pub struct StatDetails {
    pub id: i64,
    #[field(on_delete = Cascade)]
    pub base_stats: OneToOneField<UserStat>,
    pub comments: i32,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "select_related_onetoone")]
pub struct Image {
    pub id: i64,
    #[field(max_length = 100)]
    pub name: String,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "select_related_onetoone")]
pub struct Product {
    pub id: i64,
    #[field(max_length = 100)]
    pub name: String,
    #[field(on_delete = SetNull)]
    pub image: Option<OneToOneField<Image>>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "select_related_onetoone")]
pub struct LinkedList {
    pub id: i64,
    #[field(max_length = 50)]
    pub name: String,
    #[field(on_delete = Cascade, related_name = "next_item")]
    pub previous_item: Option<OneToOneField<LinkedList>>,
    pub _state: ModelState,
}

fn models() -> Vec<&'static ModelMeta> {
    vec![
        User::meta(),
        UserProfile::meta(),
        UserStatResult::meta(),
        UserStat::meta(),
        StatDetails::meta(),
        Image::meta(),
        Product::meta(),
        LinkedList::meta(),
    ]
}

fn user(db: &Database, name: &str) -> User {
    User::objects()
        .create(db, User::from_pairs([("username", name.into())]).unwrap())
        .unwrap()
}

fn set_up(db: &Database) {
    let u = user(db, "test");
    UserProfile::objects()
        .create(
            db,
            UserProfile {
                id: 0,
                user: ForeignKey::to(&u).unwrap(),
                city: "Lawrence".into(),
                state: "KS".into(),
                _state: ModelState::new(),
            },
        )
        .unwrap();
    let stat = |u: &User, posts: i32, results: &str, comments: i32| {
        let r = UserStatResult::objects()
            .create(
                db,
                UserStatResult::from_pairs([("results", results.into())]).unwrap(),
            )
            .unwrap();
        let s = UserStat::objects()
            .create(
                db,
                UserStat {
                    user: ForeignKey::to(u).unwrap(),
                    posts,
                    results: ForeignKey::to(&r).unwrap(),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        StatDetails::objects()
            .create(
                db,
                StatDetails {
                    id: 0,
                    base_stats: ForeignKey::to(&s).unwrap(),
                    comments,
                    _state: ModelState::new(),
                },
            )
            .unwrap();
    };
    stat(&u, 150, "first results", 259);
    let bob = user(db, "bob");
    stat(&bob, 200, "moar results", 250);
}

fn run_set_up(test: impl Fn(&Database)) {
    run(&models(), |db| {
        set_up(db);
        test(db)
    });
}

fn one_query<R>(f: impl FnOnce() -> R) -> R {
    let (r, queries) = capture_queries(f);
    assert_eq!(queries.len(), 1, "{queries:#?}");
    r
}

#[test]
fn test_basic() {
    run_set_up(|db| {
        one_query(|| {
            let u = User::objects()
                .select_related(["userprofile"])
                .get(db, q!(username = "test"))
                .unwrap();
            assert_eq!(u.userprofile(db).unwrap().state, "KS");
        });
    });
}

#[test]
fn test_follow_next_level() {
    run_set_up(|db| {
        one_query(|| {
            let u = User::objects()
                .select_related(["userstat__results"])
                .get(db, q!(username = "test"))
                .unwrap();
            let stat = u.userstat(db).unwrap();
            assert_eq!(stat.posts, 150);
            assert_eq!(stat.results.get(db).unwrap().results, "first results");
        });
    });
}

#[test]
fn test_follow_two() {
    run_set_up(|db| {
        one_query(|| {
            let u = User::objects()
                .select_related(["userprofile", "userstat"])
                .get(db, q!(username = "test"))
                .unwrap();
            assert_eq!(u.userprofile(db).unwrap().state, "KS");
            assert_eq!(u.userstat(db).unwrap().posts, 150);
        });
    });
}

#[test]
fn test_follow_two_next_level() {
    run_set_up(|db| {
        one_query(|| {
            let u = User::objects()
                .select_related(["userstat__results", "userstat__statdetails"])
                .get(db, q!(username = "test"))
                .unwrap();
            let stat = u.userstat(db).unwrap();
            assert_eq!(stat.results.get(db).unwrap().results, "first results");
            assert_eq!(stat.statdetails(db).unwrap().comments, 259);
        });
    });
}

#[test]
fn test_forward_and_back() {
    run_set_up(|db| {
        one_query(|| {
            let stat = UserStat::objects()
                .select_related(["user__userprofile"])
                .get(db, q!(user__username = "test"))
                .unwrap();
            let u = stat.user.get(db).unwrap();
            assert_eq!(u.userprofile(db).unwrap().state, "KS");
        });
    });
}

#[test]
fn test_back_and_forward() {
    run_set_up(|db| {
        one_query(|| {
            let u = User::objects()
                .select_related(["userstat"])
                .get(db, q!(username = "test"))
                .unwrap();
            // The link back to the user is the user just read.
            let stat = u.userstat(db).unwrap();
            assert_eq!(stat.user.get(db).unwrap().username, "test");
        });
    });
}

#[test]
fn test_not_followed_by_default() {
    run_set_up(|db| {
        let (_, queries) = capture_queries(|| {
            let u = User::objects()
                .select_related::<&str>([])
                .get(db, q!(username = "test"))
                .unwrap();
            assert_eq!(u.userstat(db).unwrap().posts, 150);
        });
        assert_eq!(queries.len(), 2, "{queries:#?}");
    });
}

#[test]
fn test_nullable_relation() {
    run_set_up(|db| {
        let im = Image::objects()
            .create(db, Image::from_pairs([("name", "imag1".into())]).unwrap())
            .unwrap();
        let product = |name: &str, image: Option<&Image>| {
            Product::objects()
                .create(
                    db,
                    Product {
                        id: 0,
                        name: name.into(),
                        image: image.map(|i| ForeignKey::to(i).unwrap()),
                        _state: ModelState::new(),
                    },
                )
                .unwrap()
        };
        product("Django Plushie", Some(&im));
        product("Talking Django Plushie", None);
        one_query(|| {
            let result = Product::objects()
                .select_related(["image"])
                .order_by(["name"])
                .all(db)
                .unwrap();
            let names: Vec<&str> = result.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(names, ["Django Plushie", "Talking Django Plushie"]);
            let image = result[0].image.as_ref().unwrap().get(db).unwrap();
            assert_eq!(image, &im);
            assert!(result[1].image.is_none());
        });
    });
}

#[test]
fn test_missing_reverse() {
    run_set_up(|db| {
        one_query(|| {
            let u = User::objects()
                .select_related(["userprofile"])
                .get(db, q!(username = "bob"))
                .unwrap();
            // The absence is cached too: DoesNotExist without a second query.
            assert!(matches!(
                u.userprofile(db),
                Err(Error::DoesNotExist {
                    model: "UserProfile"
                })
            ));
        });
    });
}

#[test]
fn test_nullable_missing_reverse() {
    run_set_up(|db| {
        Image::objects()
            .create(db, Image::from_pairs([("name", "imag1".into())]).unwrap())
            .unwrap();
        one_query(|| {
            let image = Image::objects()
                .select_related(["product"])
                .get(db, Q::all())
                .unwrap();
            assert!(matches!(
                image.product(db),
                Err(Error::DoesNotExist { model: "Product" })
            ));
        });
    });
}

#[test]
fn test_self_relation() {
    run(&models(), |db| {
        let item1 = LinkedList::objects()
            .create(
                db,
                LinkedList::from_pairs([("name", "item1".into())]).unwrap(),
            )
            .unwrap();
        LinkedList::objects()
            .create(
                db,
                LinkedList {
                    id: 0,
                    name: "item2".into(),
                    previous_item: Some(ForeignKey::to(&item1).unwrap()),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        one_query(|| {
            let item1_db = LinkedList::objects()
                .select_related(["next_item"])
                .get(db, q!(name = "item1"))
                .unwrap();
            assert_eq!(item1_db.next_item(db).unwrap().name, "item2");
        });
    });
}

#[test]
fn test_reverse_related_validation() {
    run(&models(), |db| {
        assert_error_contains(
            User::objects().select_related(["foobar"]).all(db),
            "Invalid field name(s) given in select_related: 'foobar'. Choices are: \
             userprofile, userstat",
        );
        assert_error_contains(
            User::objects().select_related(["username"]).all(db),
            "Non-relational field given in select_related: 'username'. Choices are: \
             userprofile, userstat",
        );
    });
}

#[test]
fn test_reverse_and_filter_share_the_join() {
    run_set_up(|db| {
        let (users, queries) = capture_queries(|| {
            User::objects()
                .select_related(["userprofile"])
                .filter(q!(userprofile__state = "KS"))
                .all(db)
                .unwrap()
        });
        assert_eq!(users.len(), 1);
        assert_eq!(users[0].userprofile(db).unwrap().city, "Lawrence");
        let sql = &queries[0];
        assert_eq!(sql.matches("JOIN").count(), 1, "{sql}");
        // The filter needs the row: the shared join is an INNER one.
        assert!(sql.contains("INNER JOIN"), "{sql}");
    });
}
