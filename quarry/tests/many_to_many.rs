//! Ported from Django's `tests/many_to_many`: the auto-created through table, managers on
//! both sides (add, remove, set, clear, create, by object, key or `to_field` value),
//! lookups across the relation both ways, exclude, deletes, the prefetch cache and the
//! count/exists shortcut over the through table.

mod common;

use common::{assert_error_contains, run};
use quarry::prelude::*;
use quarry::testing::capture_queries;
use quarry::ModelMeta;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "many_to_many", ordering = ["title"])]
pub struct Publication {
    pub id: i64,
    #[field(max_length = 30)]
    pub title: String,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "many_to_many")]
pub struct Tag {
    pub id: i64,
    #[field(max_length = 50)]
    pub name: String,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "many_to_many", ordering = ["headline"])]
pub struct Article {
    pub id: i64,
    #[field(max_length = 100)]
    pub headline: String,
    pub publications: ManyToMany<Publication>,
    #[field(related_name = "tags")]
    pub tags: ManyToMany<Tag>,
    #[field(through = UserArticle)]
    pub authors: ManyToMany<User>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "many_to_many")]
pub struct User {
    pub id: i64,
    #[field(max_length = 20, unique)]
    pub username: String,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "many_to_many")]
pub struct UserArticle {
    pub id: i64,
    #[field(on_delete = Cascade, to_field = "username")]
    pub user: ForeignKey<User, String>,
    #[field(on_delete = Cascade)]
    pub article: ForeignKey<Article>,
    pub _state: ModelState,
}

// Django's abstract parent with `related_name="+"`, written out in both children.
#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "many_to_many")]
pub struct InheritedArticleA {
    pub id: i64,
    #[field(related_name = "+")]
    pub publications: ManyToMany<Publication>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "many_to_many")]
pub struct InheritedArticleB {
    pub id: i64,
    #[field(related_name = "+")]
    pub publications: ManyToMany<Publication>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "many_to_many")]
pub struct NullableTargetArticle {
    pub id: i64,
    #[field(max_length = 100)]
    pub headline: String,
    #[field(through = NullablePublicationThrough)]
    pub publications: ManyToMany<Publication>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "many_to_many")]
pub struct NullablePublicationThrough {
    pub id: i64,
    #[field(on_delete = Cascade)]
    pub article: ForeignKey<NullableTargetArticle>,
    #[field(on_delete = Cascade)]
    pub publication: Option<ForeignKey<Publication>>,
    pub _state: ModelState,
}

fn models() -> Vec<&'static ModelMeta> {
    vec![
        Publication::meta(),
        Tag::meta(),
        Article::meta(),
        User::meta(),
        UserArticle::meta(),
        InheritedArticleA::meta(),
        InheritedArticleB::meta(),
        NullableTargetArticle::meta(),
        NullablePublicationThrough::meta(),
    ]
}

fn publication(db: &Database, title: &str) -> Publication {
    Publication::objects()
        .create(
            db,
            Publication {
                id: 0,
                title: title.into(),
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

fn new_article(headline: &str) -> Article {
    Article {
        id: 0,
        headline: headline.into(),
        publications: ManyToMany::new(),
        tags: ManyToMany::new(),
        authors: ManyToMany::new(),
        _state: ModelState::new(),
    }
}

fn article(db: &Database, headline: &str) -> Article {
    Article::objects()
        .create(db, new_article(headline))
        .unwrap()
}

fn user(db: &Database, username: &str) -> User {
    User::objects()
        .create(
            db,
            User {
                id: 0,
                username: username.into(),
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

fn titles(ps: Vec<Publication>) -> Vec<String> {
    ps.into_iter().map(|p| p.title).collect()
}

fn headlines(arts: Vec<Article>) -> Vec<String> {
    arts.into_iter().map(|a| a.headline).collect()
}

const P1: &str = "The Python Journal";
const P2: &str = "Science News";
const P3: &str = "Science Weekly";
const P4: &str = "Highlights for Children";
const A1: &str = "Django lets you build web apps easily";
const A2: &str = "NASA uses Python";
const A3: &str = "NASA finds intelligent life on Earth";
const A4: &str = "Oxygen-free diet works wonders";

struct Fixture {
    p1: Publication,
    p2: Publication,
    p3: Publication,
    p4: Publication,
    a1: Article,
    a2: Article,
    a3: Article,
    a4: Article,
}

fn fixture(db: &Database) -> Fixture {
    let p1 = publication(db, P1);
    let p2 = publication(db, P2);
    let p3 = publication(db, P3);
    let p4 = publication(db, P4);
    let a1 = article(db, A1);
    a1.publications().add(db, [&p1]).unwrap();
    let a2 = article(db, A2);
    a2.publications().add(db, [&p1, &p2, &p3, &p4]).unwrap();
    let a3 = article(db, A3);
    a3.publications().add(db, [&p2]).unwrap();
    let a4 = article(db, A4);
    a4.publications().add(db, [&p2]).unwrap();
    Fixture {
        p1,
        p2,
        p3,
        p4,
        a1,
        a2,
        a3,
        a4,
    }
}

#[test]
fn add() {
    run(&models(), |db| {
        let f = fixture(db);
        let mut a5 = new_article("Django lets you create web apps easily");
        // No links before the article is saved.
        assert_error_contains(
            a5.publications().all(db),
            "Article instance needs to have a value for field \"id\" before this \
             many-to-many relationship can be used.",
        );
        a5.save(db).unwrap();
        a5.publications().add(db, [&f.p1]).unwrap();
        assert_eq!(titles(a5.publications().all(db).unwrap()), [P1]);
        let a6 = article(db, "ESA uses Python");
        a6.publications().add(db, [&f.p1, &f.p2]).unwrap();
        a6.publications().add(db, [&f.p3]).unwrap();
        // Adding a second time is OK.
        a6.publications().add(db, [&f.p3]).unwrap();
        assert_eq!(titles(a6.publications().all(db).unwrap()), [P2, P3, P1]);
        // An unsaved object cannot be linked.
        let unsaved = Publication {
            id: 0,
            title: "Unsaved".into(),
            _state: ModelState::new(),
        };
        assert_error_contains(
            a6.publications().add(db, [&unsaved]),
            "Cannot add \"Publication instance\": the value for field \"id\" is None",
        );
        // create() saves the object and links it.
        let p5 = a6
            .publications()
            .create(
                db,
                Publication {
                    id: 0,
                    title: "Highlights for Adults".into(),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        assert!(p5.id > 0);
        assert_eq!(
            titles(a6.publications().all(db).unwrap()),
            ["Highlights for Adults", P2, P3, P1]
        );
    });
}

#[test]
fn add_remove_set_by_pk() {
    run(&models(), |db| {
        let f = fixture(db);
        let a5 = article(db, "Django lets you create web apps easily");
        a5.publications().add(db, [f.p1.id]).unwrap();
        assert_eq!(titles(a5.publications().all(db).unwrap()), [P1]);
        a5.publications().set(db, [f.p2.id]).unwrap();
        assert_eq!(titles(a5.publications().all(db).unwrap()), [P2]);
        a5.publications().remove(db, [f.p2.id]).unwrap();
        assert!(a5.publications().all(db).unwrap().is_empty());
    });
}

#[test]
fn add_remove_set_by_to_field() {
    run(&models(), |db| {
        fixture(db);
        let user_1 = user(db, "Jean");
        let user_2 = user(db, "Joe");
        let a5 = article(db, "Django lets you create web apps easily");
        a5.authors().add(db, [user_1.username.clone()]).unwrap();
        assert_eq!(a5.authors().all(db).unwrap(), std::slice::from_ref(&user_1));
        a5.authors().set(db, [user_2.username.clone()]).unwrap();
        assert_eq!(a5.authors().all(db).unwrap(), std::slice::from_ref(&user_2));
        a5.authors().remove(db, [user_2.username.clone()]).unwrap();
        assert!(a5.authors().all(db).unwrap().is_empty());
        // Objects work too: the through row holds their `to_field` value.
        a5.authors().add(db, [&user_1]).unwrap();
        let row = UserArticle::objects().get(db, Q::all()).unwrap();
        assert_eq!(row.user.id(), "Jean");
    });
}

#[test]
fn related_manager_refresh() {
    run(&models(), |db| {
        let f = fixture(db);
        let mut user_1 = user(db, "Jean");
        let user_2 = user(db, "Joe");
        f.a3.authors().add(db, [user_1.username.clone()]).unwrap();
        assert_eq!(headlines(user_1.article_set().all(db).unwrap()), [A3]);
        // Change the username on a different instance of the same user.
        let mut user_1_from_db = User::objects().get(db, q!(pk = user_1.id)).unwrap();
        assert_eq!(
            headlines(user_1_from_db.article_set().all(db).unwrap()),
            [A3]
        );
        user_1_from_db.username = "Paul".into();
        f.a3.authors().set(db, [user_2.username.clone()]).unwrap();
        user_1_from_db.save(db).unwrap();
        // Assign a different article.
        f.a4.authors()
            .add(db, [user_1_from_db.username.clone()])
            .unwrap();
        assert_eq!(
            headlines(user_1_from_db.article_set().all(db).unwrap()),
            [A4]
        );
        // Refresh the stale instance.
        user_1.refresh_from_db(db).unwrap();
        assert_eq!(user_1.username, "Paul");
        assert_eq!(headlines(user_1.article_set().all(db).unwrap()), [A4]);
    });
}

#[test]
fn add_remove_invalid_type() {
    run(&models(), |db| {
        let f = fixture(db);
        let msg = "Field 'id' expected a number but got 'invalid'.";
        assert_error_contains(f.a1.publications().add(db, ["invalid".to_string()]), msg);
        assert_error_contains(f.a1.publications().remove(db, ["invalid".to_string()]), msg);
    });
}

#[test]
fn reverse_add() {
    run(&models(), |db| {
        let f = fixture(db);
        let a5 = article(db, "NASA finds intelligent life on Mars");
        f.p2.article_set().add(db, [&a5]).unwrap();
        assert_eq!(
            headlines(f.p2.article_set().all(db).unwrap()),
            [A3, "NASA finds intelligent life on Mars", A2, A4]
        );
        assert_eq!(titles(a5.publications().all(db).unwrap()), [P2]);
        let a6 =
            f.p2.article_set()
                .create(db, new_article("Carbon-free diet works wonders"))
                .unwrap();
        assert_eq!(
            headlines(f.p2.article_set().all(db).unwrap()),
            [
                "Carbon-free diet works wonders",
                A3,
                "NASA finds intelligent life on Mars",
                A2,
                A4
            ]
        );
        assert_eq!(a6.headline, "Carbon-free diet works wonders");
        let a2 = f.p2.article_set().queryset().all(db).unwrap().remove(3);
        assert_eq!(titles(a2.publications().all(db).unwrap()), [P4, P2, P3, P1]);
    });
}

#[test]
fn fast_add_is_one_query() {
    run(&models(), |db| {
        let f = fixture(db);
        let ((), queries) =
            capture_queries(|| f.a1.publications().add(db, [&f.p1, &f.p2]).unwrap());
        assert_eq!(queries.len(), 1, "{queries:?}");
        // A key given as text is converted: no duplicate link.
        f.a1.publications().add(db, [f.p1.id.to_string()]).unwrap();
        assert_eq!(f.a1.publications().count(db).unwrap(), 2);
    });
}

#[test]
fn related_sets() {
    run(&models(), |db| {
        let f = fixture(db);
        assert_eq!(titles(f.a1.publications().all(db).unwrap()), [P1]);
        assert_eq!(
            titles(f.a2.publications().all(db).unwrap()),
            [P4, P2, P3, P1]
        );
        assert_eq!(headlines(f.p2.article_set().all(db).unwrap()), [A3, A2, A4]);
        assert_eq!(headlines(f.p1.article_set().all(db).unwrap()), [A1, A2]);
        let p4 = Publication::objects().get(db, q!(id = f.p4.id)).unwrap();
        assert_eq!(headlines(p4.article_set().all(db).unwrap()), [A2]);
    });
}

#[test]
fn selects() {
    run(&models(), |db| {
        let f = fixture(db);
        let arts = |q: Q| headlines(Article::objects().filter(q).all(db).unwrap());
        assert_eq!(arts(q!(publications__id__exact = f.p1.id)), [A1, A2]);
        assert_eq!(arts(q!(publications__pk = f.p1.id)), [A1, A2]);
        assert_eq!(arts(q!(publications = f.p1.id)), [A1, A2]);
        assert_eq!(arts(q!(publications = &f.p1)), [A1, A2]);
        assert_eq!(
            arts(q!(publications__title__startswith = "Science")),
            [A3, A2, A2, A4]
        );
        let science = Article::objects().filter(q!(publications__title__startswith = "Science"));
        assert_eq!(
            headlines(science.clone().distinct().all(db).unwrap()),
            [A3, A2, A4]
        );
        // count() respects distinct() too.
        assert_eq!(science.clone().count(db).unwrap(), 4);
        assert_eq!(science.distinct().count(db).unwrap(), 3);
        let in_both = |list: Vec<Value>| {
            headlines(
                Article::objects()
                    .filter(Q::lookup("publications__in", Value::List(list)))
                    .distinct()
                    .all(db)
                    .unwrap(),
            )
        };
        assert_eq!(
            in_both(vec![f.p1.id.into(), f.p2.id.into()]),
            [A1, A3, A2, A4]
        );
        assert_eq!(
            in_both(vec![f.p1.id.into(), (&f.p2).into()]),
            [A1, A3, A2, A4]
        );
        // Excluding a related item drops every article linked to it.
        assert_eq!(
            headlines(
                Article::objects()
                    .exclude(q!(publications = &f.p2))
                    .all(db)
                    .unwrap()
            ),
            [A1]
        );
    });
}

#[test]
fn reverse_selects() {
    run(&models(), |db| {
        let f = fixture(db);
        let pubs = |q: Q| titles(Publication::objects().filter(q).all(db).unwrap());
        assert_eq!(pubs(q!(id__exact = f.p1.id)), [P1]);
        assert_eq!(pubs(q!(pk = f.p1.id)), [P1]);
        assert_eq!(
            pubs(q!(article__headline__startswith = "NASA")),
            [P4, P2, P2, P3, P1]
        );
        assert_eq!(pubs(q!(article__id__exact = f.a1.id)), [P1]);
        assert_eq!(pubs(q!(article__pk = f.a1.id)), [P1]);
        assert_eq!(pubs(q!(article = f.a1.id)), [P1]);
        assert_eq!(pubs(q!(article = &f.a1)), [P1]);
        let distinct_in = |list: Vec<Value>| {
            titles(
                Publication::objects()
                    .filter(Q::lookup("article__in", Value::List(list)))
                    .distinct()
                    .all(db)
                    .unwrap(),
            )
        };
        assert_eq!(
            distinct_in(vec![f.a1.id.into(), f.a2.id.into()]),
            [P4, P2, P3, P1]
        );
        assert_eq!(
            distinct_in(vec![(&f.a1).into(), (&f.a2).into()]),
            [P4, P2, P3, P1]
        );
    });
}

#[test]
fn unknown_name_lists_many_to_many_names() {
    run(&models(), |db| {
        assert_error_contains(
            Article::objects().filter(q!(nope = 1)).all(db),
            "Cannot resolve keyword 'nope' into field of Article. Choices are: authors, \
             headline, id, publications, tags, userarticle",
        );
        // The reverse side of `Article.tags` is `tags`; InheritedArticle*'s are hidden.
        assert_error_contains(
            Publication::objects().filter(q!(nope = 1)).all(db),
            "Choices are: article, id, nullablepublicationthrough, nullabletargetarticle, title",
        );
    });
}

#[test]
fn delete() {
    run(&models(), |db| {
        let mut f = fixture(db);
        let deleted = f.p1.delete(db).unwrap();
        assert_eq!(deleted.total, 3);
        assert_eq!(
            titles(Publication::objects().all(db).unwrap()),
            [P4, P2, P3]
        );
        assert!(f.a1.publications().all(db).unwrap().is_empty());
        f.a2.delete(db).unwrap();
        assert_eq!(headlines(Article::objects().all(db).unwrap()), [A1, A3, A4]);
        assert_eq!(headlines(f.p2.article_set().all(db).unwrap()), [A3, A4]);
    });
}

#[test]
fn bulk_delete() {
    run(&models(), |db| {
        let f = fixture(db);
        let deleted = Publication::objects()
            .filter(q!(title__startswith = "Science"))
            .delete(db)
            .unwrap();
        // The through rows go first (Django's per-model counts).
        assert_eq!(
            deleted.per_model,
            [
                ("many_to_many.Article_publications".to_string(), 4),
                ("many_to_many.Publication".to_string(), 2)
            ]
        );
        assert_eq!(titles(Publication::objects().all(db).unwrap()), [P4, P1]);
        assert_eq!(
            headlines(Article::objects().all(db).unwrap()),
            [A1, A3, A2, A4]
        );
        assert_eq!(titles(f.a2.publications().all(db).unwrap()), [P4, P1]);
        let q = Article::objects().filter(q!(headline__startswith = "Django"));
        assert_eq!(headlines(q.all(db).unwrap()), [A1]);
        q.delete(db).unwrap();
        assert!(q.all(db).unwrap().is_empty());
        assert_eq!(headlines(f.p1.article_set().all(db).unwrap()), [A2]);
    });
}

#[test]
fn remove() {
    run(&models(), |db| {
        let f = fixture(db);
        assert_eq!(headlines(f.p2.article_set().all(db).unwrap()), [A3, A2, A4]);
        f.a4.publications().remove(db, [&f.p2]).unwrap();
        assert_eq!(headlines(f.p2.article_set().all(db).unwrap()), [A3, A2]);
        assert!(f.a4.publications().all(db).unwrap().is_empty());
        // And from the other end.
        f.p2.article_set().remove(db, [&f.a3]).unwrap();
        assert_eq!(headlines(f.p2.article_set().all(db).unwrap()), [A2]);
        assert!(f.a3.publications().all(db).unwrap().is_empty());
    });
}

#[test]
fn set() {
    run(&models(), |db| {
        let f = fixture(db);
        f.p2.article_set().set(db, [&f.a4, &f.a3]).unwrap();
        assert_eq!(headlines(f.p2.article_set().all(db).unwrap()), [A3, A4]);
        assert_eq!(titles(f.a4.publications().all(db).unwrap()), [P2]);
        f.a4.publications().set(db, [f.p3.id]).unwrap();
        assert_eq!(headlines(f.p2.article_set().all(db).unwrap()), [A3]);
        assert_eq!(titles(f.a4.publications().all(db).unwrap()), [P3]);

        f.p2.article_set().set(db, Vec::<&Article>::new()).unwrap();
        assert!(f.p2.article_set().all(db).unwrap().is_empty());
        f.a4.publications().set(db, Vec::<i64>::new()).unwrap();
        assert!(f.a4.publications().all(db).unwrap().is_empty());

        f.p2.article_set().set_clear(db, [&f.a4, &f.a3]).unwrap();
        assert_eq!(headlines(f.p2.article_set().all(db).unwrap()), [A3, A4]);
        assert_eq!(titles(f.a4.publications().all(db).unwrap()), [P2]);
        f.a4.publications().set_clear(db, [f.p3.id]).unwrap();
        assert_eq!(headlines(f.p2.article_set().all(db).unwrap()), [A3]);
        assert_eq!(titles(f.a4.publications().all(db).unwrap()), [P3]);

        f.p2.article_set().set_clear(db, Vec::<i64>::new()).unwrap();
        assert!(f.p2.article_set().all(db).unwrap().is_empty());
        f.a4.publications()
            .set_clear(db, Vec::<i64>::new())
            .unwrap();
        assert!(f.a4.publications().all(db).unwrap().is_empty());
    });
}

/// The through rows' ids, to see which rows survived a `set()`.
fn link_ids(db: &Database, publication: i64) -> Vec<i64> {
    let mut ids = Vec::new();
    let table = "many_to_many_article_publications";
    let sql = format!("SELECT id FROM {table} WHERE publication_id = {publication} ORDER BY id");
    db.query(&sql, &[], &mut |row| {
        ids.push(row.get_i64(0)?);
        Ok(())
    })
    .unwrap();
    ids
}

#[test]
fn set_existing_different_type() {
    run(&models(), |db| {
        let f = fixture(db);
        let before = link_ids(db, f.p2.id);
        // Keys given as text match the existing links: their rows stay.
        f.p2.article_set()
            .set(
                db,
                [
                    f.a4.id.to_string(),
                    f.a3.id.to_string(),
                    f.a2.id.to_string(),
                ],
            )
            .unwrap();
        assert_eq!(link_ids(db, f.p2.id), before);
    });
}

#[test]
fn assign_with_queryset() {
    run(&models(), |db| {
        let f = fixture(db);
        f.a1.publications().set(db, [&f.p1, &f.p2]).unwrap();
        let qs = f.a1.publications().filter(q!(title = P1));
        // The QuerySet is read before the set changes anything.
        f.a1.publications().set(db, &qs.all(db).unwrap()).unwrap();
        assert_eq!(f.a1.publications().count(db).unwrap(), 1);
        assert_eq!(qs.count(db).unwrap(), 1);

        f.p1.article_set().set(db, [&f.a1, &f.a2]).unwrap();
        let qs = f.p1.article_set().filter(q!(headline = A1));
        f.p1.article_set().set(db, &qs.all(db).unwrap()).unwrap();
        assert_eq!(f.p1.article_set().count(db).unwrap(), 1);
        assert_eq!(qs.count(db).unwrap(), 1);
    });
}

#[test]
fn clear() {
    run(&models(), |db| {
        let f = fixture(db);
        f.p2.article_set().clear(db).unwrap();
        assert!(f.p2.article_set().all(db).unwrap().is_empty());
        assert!(f.a4.publications().all(db).unwrap().is_empty());
        // And from the other end.
        f.p2.article_set().add(db, [&f.a3, &f.a4]).unwrap();
        assert_eq!(headlines(f.p2.article_set().all(db).unwrap()), [A3, A4]);
        assert_eq!(titles(f.a4.publications().all(db).unwrap()), [P2]);
        f.a4.publications().clear(db).unwrap();
        assert!(f.a4.publications().all(db).unwrap().is_empty());
        assert_eq!(headlines(f.p2.article_set().all(db).unwrap()), [A3]);
    });
}

fn prefetched_a4(db: &Database, f: &Fixture) -> Article {
    Article::objects()
        .prefetch_related(["publications"])
        .get(db, q!(id = f.a4.id))
        .unwrap()
}

#[test]
fn writes_after_prefetch() {
    run(&models(), |db| {
        let f = fixture(db);
        // clear
        let a4 = prefetched_a4(db, &f);
        let (pubs, queries) = capture_queries(|| a4.publications().all(db).unwrap());
        assert_eq!((titles(pubs), queries.len()), (vec![P2.to_string()], 0));
        a4.publications().clear(db).unwrap();
        assert!(a4.publications().all(db).unwrap().is_empty());
        f.a4.publications().add(db, [&f.p2]).unwrap();
        // remove
        let a4 = prefetched_a4(db, &f);
        a4.publications().remove(db, [&f.p2]).unwrap();
        assert!(a4.publications().all(db).unwrap().is_empty());
        f.a4.publications().add(db, [&f.p2]).unwrap();
        // add
        let a4 = prefetched_a4(db, &f);
        assert_eq!(a4.publications().count(db).unwrap(), 1);
        a4.publications().add(db, [&f.p1]).unwrap();
        assert_eq!(a4.publications().count(db).unwrap(), 2);
        // add then remove
        a4.publications().remove(db, [&f.p1]).unwrap();
        assert_eq!(titles(a4.publications().all(db).unwrap()), [P2]);
        // create
        let a4 = prefetched_a4(db, &f);
        a4.publications()
            .create(
                db,
                Publication {
                    id: 0,
                    title: "Django beats".into(),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let mut got = titles(a4.publications().all(db).unwrap());
        got.sort();
        assert_eq!(got, ["Django beats", P2]);
        // set
        let a4 = prefetched_a4(db, &f);
        a4.publications().set(db, [&f.p2, &f.p1]).unwrap();
        assert_eq!(a4.publications().count(db).unwrap(), 2);
        a4.publications().set(db, [&f.p1]).unwrap();
        assert_eq!(a4.publications().count(db).unwrap(), 1);
    });
}

#[test]
fn hidden_reverse_side() {
    run(&models(), |db| {
        let f = fixture(db);
        let new_a = || InheritedArticleA {
            id: 0,
            publications: ManyToMany::new(),
            _state: ModelState::new(),
        };
        let a = InheritedArticleA::objects().create(db, new_a()).unwrap();
        let b = InheritedArticleB::objects()
            .create(
                db,
                InheritedArticleB {
                    id: 0,
                    publications: ManyToMany::new(),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        a.publications().add(db, [&f.p1, &f.p2]).unwrap();
        assert_eq!(titles(a.publications().all(db).unwrap()), [P2, P1]);
        assert!(b.publications().all(db).unwrap().is_empty());
        b.publications().add(db, [&f.p3]).unwrap();
        assert_eq!(titles(a.publications().all(db).unwrap()), [P2, P1]);
        assert_eq!(titles(b.publications().all(db).unwrap()), [P3]);
    });
}

#[test]
fn count_and_exists_read_the_through_table_alone() {
    run(&models(), |db| {
        let article = article(db, "Django lets you build Web apps easily");
        let nullable = NullableTargetArticle::objects()
            .create(
                db,
                NullableTargetArticle {
                    id: 0,
                    headline: "The python is good".into(),
                    publications: ManyToMany::new(),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        NullablePublicationThrough::objects()
            .create(
                db,
                NullablePublicationThrough {
                    id: 0,
                    article: ForeignKey::to(&nullable).unwrap(),
                    publication: None,
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let (n, queries) = capture_queries(|| article.publications().count(db).unwrap());
        assert_eq!(n, 0);
        assert_eq!(queries.len(), 1);
        assert!(!queries[0].contains("JOIN"), "{}", queries[0]);
        let (e, queries) = capture_queries(|| article.publications().exists(db).unwrap());
        assert!(!e);
        assert!(!queries[0].contains("JOIN"), "{}", queries[0]);
        // A through row with no target does not count.
        assert_eq!(nullable.publications().count(db).unwrap(), 0);
        assert!(!nullable.publications().exists(db).unwrap());
        // After a prefetch, neither runs a query.
        let a = Article::objects()
            .prefetch_related(["publications"])
            .get(db, Q::all())
            .unwrap();
        let ((c, e), queries) = capture_queries(|| {
            (
                a.publications().count(db).unwrap(),
                a.publications().exists(db).unwrap(),
            )
        });
        assert_eq!((c, e, queries.len()), (0, false, 0));
    });
}

#[test]
fn manager_filter_reuses_the_manager_join() {
    run(&models(), |db| {
        let p1 = publication(db, "The Python Journal");
        let p2 = publication(db, "Science News");
        let a = article(db, "a");
        a.publications().add(db, [&p1, &p2]).unwrap();
        // As Django (checked against Django 5.1): the first filter() after the manager
        // joins its relation, so `publications__title` is p1's title here.
        let (n, queries) = capture_queries(|| {
            p1.article_set()
                .filter(q!(publications__title = "Science News"))
                .count(db)
                .unwrap()
        });
        assert_eq!(n, 0);
        assert_eq!(queries[0].matches("JOIN").count(), 2, "{}", queries[0]);
        assert_eq!(
            p1.article_set()
                .queryset()
                .filter(q!(publications__title = "Science News"))
                .count(db)
                .unwrap(),
            0
        );
        assert_eq!(
            p1.article_set()
                .get(db, q!(publications__title = "The Python Journal"))
                .unwrap()
                .id,
            a.id
        );
        assert_eq!(
            a.publications()
                .filter(q!(article__headline = "a"))
                .count(db)
                .unwrap(),
            2
        );
        // A second filter() is a call of its own: another join, any publication.
        assert_eq!(
            p1.article_set()
                .filter(Q::all())
                .filter(q!(publications__title = "Science News"))
                .count(db)
                .unwrap(),
            1
        );
    });
}
