//! Ported from Django's `tests/prefetch_related` (the ForeignKey, one-to-one and
//! many-to-many cases; generic relations come with that feature): one query per level,
//! counted, whatever the number of rows.

mod common;

use common::{assert_error_contains, run};
use quarry::prelude::*;
use quarry::testing::capture_queries;
use quarry::ModelMeta;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "prefetch_related", ordering = ["id"])]
pub struct Book {
    pub id: i64,
    #[field(max_length = 255)]
    pub title: String,
    #[field(related_name = "books")]
    pub authors: ManyToMany<Author>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "prefetch_related", ordering = ["id"])]
pub struct Author {
    pub id: i64,
    #[field(max_length = 50, unique)]
    pub name: String,
    #[field(on_delete = Cascade, related_name = "first_time_authors")]
    pub first_book: ForeignKey<Book>,
    #[field(through = FavoriteAuthors, symmetrical = false, related_name = "favors_me")]
    pub favorite_authors: ManyToMany<Author>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "prefetch_related", ordering = ["id"])]
pub struct FavoriteAuthors {
    pub id: i64,
    #[field(on_delete = Cascade, to_field = "name", related_name = "i_like")]
    pub author: ForeignKey<Author, String>,
    #[field(on_delete = Cascade, to_field = "name", related_name = "likes_me")]
    pub likes_author: ForeignKey<Author, String>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "prefetch_related")]
pub struct Reader {
    pub id: i64,
    #[field(max_length = 50)]
    pub name: String,
    #[field(related_name = "read_by")]
    pub books_read: ManyToMany<Book>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "prefetch_related", ordering = ["id"])]
pub struct AuthorAddress {
    pub id: i64,
    #[field(on_delete = Cascade, to_field = "name", related_name = "addresses")]
    pub author: ForeignKey<Author, String>,
    pub address: String,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "prefetch_related")]
pub struct Bio {
    #[field(primary_key)]
    pub id: i64,
    #[field(on_delete = Cascade)]
    pub author: OneToOneField<Author>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "prefetch_related", ordering = ["id"])]
pub struct Person {
    pub id: i64,
    #[field(max_length = 50)]
    pub name: String,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "prefetch_related", ordering = ["id"])]
pub struct House {
    pub id: i64,
    #[field(max_length = 50)]
    pub name: String,
    #[field(max_length = 255)]
    pub address: String,
    #[field(on_delete = SetNull)]
    pub owner: Option<ForeignKey<Person>>,
    #[field(on_delete = SetNull, related_name = "main_room_of")]
    pub main_room: Option<OneToOneField<Room>>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "prefetch_related", ordering = ["id"])]
pub struct Room {
    pub id: i64,
    #[field(max_length = 50)]
    pub name: String,
    #[field(on_delete = Cascade, related_name = "rooms")]
    pub house: ForeignKey<House>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "prefetch_related", ordering = ["id"])]
pub struct Employee {
    pub id: i64,
    #[field(max_length = 50)]
    pub name: String,
    #[field(on_delete = SetNull, related_name = "serfs")]
    pub boss: Option<ForeignKey<Employee>>,
    pub _state: ModelState,
}

fn models() -> Vec<&'static ModelMeta> {
    vec![
        Book::meta(),
        Author::meta(),
        FavoriteAuthors::meta(),
        Reader::meta(),
        AuthorAddress::meta(),
        Bio::meta(),
        Person::meta(),
        House::meta(),
        Room::meta(),
        Employee::meta(),
    ]
}

fn book(db: &Database, title: &str) -> Book {
    Book::objects()
        .create(
            db,
            Book {
                id: 0,
                title: title.into(),
                authors: ManyToMany::new(),
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

fn author(db: &Database, name: &str, first_book: &Book) -> Author {
    Author::objects()
        .create(
            db,
            Author {
                id: 0,
                name: name.into(),
                first_book: ForeignKey::to(first_book).unwrap(),
                favorite_authors: ManyToMany::new(),
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

/// Django's `TestDataMixin` (without the many-to-many parts).
fn books_and_authors(db: &Database) -> (Vec<Book>, Vec<Author>) {
    let books: Vec<Book> = [
        "Poems",
        "Jane Eyre",
        "Wuthering Heights",
        "Sense and Sensibility",
    ]
    .iter()
    .map(|t| book(db, t))
    .collect();
    let authors = vec![
        author(db, "Charlotte", &books[0]),
        author(db, "Anne", &books[0]),
        author(db, "Emily", &books[0]),
        author(db, "Jane", &books[3]),
    ];
    (books, authors)
}

fn names(authors: &[Author]) -> Vec<&str> {
    authors.iter().map(|a| a.name.as_str()).collect()
}

#[test]
fn test_foreignkey_forward() {
    run(&models(), |db| {
        books_and_authors(db);
        let (titles, queries) = capture_queries(|| {
            Author::objects()
                .prefetch_related(["first_book"])
                .all(db)
                .unwrap()
                .iter()
                .map(|a| a.first_book.cached().unwrap().title.clone())
                .collect::<Vec<_>>()
        });
        assert_eq!(titles, ["Poems", "Poems", "Poems", "Sense and Sensibility"]);
        assert_eq!(queries.len(), 2);
        // The keys are read once each.
        assert!(queries[1].contains("IN ("), "{}", queries[1]);
    });
}

#[test]
fn test_foreignkey_reverse() {
    run(&models(), |db| {
        books_and_authors(db);
        let (lists, queries) = capture_queries(|| {
            let books = Book::objects()
                .prefetch_related(["first_time_authors"])
                .all(db)
                .unwrap();
            books
                .iter()
                .map(|b| {
                    let all = b.first_time_authors().all(db).unwrap();
                    let count = b.first_time_authors().count(db).unwrap();
                    let exists = b.first_time_authors().exists(db).unwrap();
                    assert_eq!((count as usize, exists), (all.len(), !all.is_empty()));
                    names(&all).join(",")
                })
                .collect::<Vec<_>>()
        });
        assert_eq!(lists, ["Charlotte,Anne,Emily", "", "", "Jane"]);
        assert_eq!(queries.len(), 2, "{queries:#?}");
    });
}

#[test]
fn test_survives_clone_and_chaining() {
    run(&models(), |db| {
        books_and_authors(db);
        let (n, queries) = capture_queries(|| {
            let qs = Book::objects().prefetch_related(["first_time_authors"]);
            let books = qs.clone().exclude(q!(id = 1000)).all(db).unwrap();
            books
                .iter()
                .map(|b| b.first_time_authors().all(db).unwrap().len())
                .sum::<usize>()
        });
        assert_eq!(n, 4);
        assert_eq!(queries.len(), 2);
    });
}

#[test]
fn test_clear() {
    run(&models(), |db| {
        books_and_authors(db);
        let (_, queries) = capture_queries(|| {
            let books = Book::objects()
                .prefetch_related(["first_time_authors"])
                .clear_prefetch_related()
                .all(db)
                .unwrap();
            for b in &books {
                b.first_time_authors().all(db).unwrap();
            }
        });
        assert_eq!(queries.len(), 5);
    });
}

#[test]
fn test_bad_lookups() {
    run(&models(), |db| {
        books_and_authors(db);
        assert_error_contains(
            Author::objects().prefetch_related(["first_book__xyz"]).all(db),
            "Cannot find 'xyz' on Book object, 'first_book__xyz' is an invalid parameter to prefetch_related()",
        );
        assert_error_contains(
            Book::objects().prefetch_related(["nonexistent"]).all(db),
            "Cannot find 'nonexistent' on Book object, 'nonexistent' is an invalid parameter to prefetch_related()",
        );
        assert_error_contains(
            Author::objects().prefetch_related(["first_book__title"]).all(db),
            "'first_book__title' does not resolve to an item that supports prefetching - this is an invalid parameter to prefetch_related().",
        );
        assert_error_contains(
            Book::objects()
                .prefetch_related([
                    Prefetch::new("first_time_authors").to_attr("first_time_authors")
                ])
                .all(db),
            "to_attr=first_time_authors conflicts with a field on the Book model.",
        );
    });
}

#[test]
fn test_onetoone_reverse_with_to_field_back_reference() {
    run(&models(), |db| {
        let (_, authors) = books_and_authors(db);
        for a in &authors[..3] {
            Bio::objects()
                .create(
                    db,
                    Bio {
                        id: 0,
                        author: ForeignKey::to(a).unwrap(),
                        _state: ModelState::new(),
                    },
                )
                .unwrap();
        }
        let (ok, queries) = capture_queries(|| {
            let authors = Author::objects()
                .filter(q!(name__in = vec!["Charlotte", "Anne", "Emily"]))
                .prefetch_related(["bio"])
                .all(db)
                .unwrap();
            authors.iter().all(|a| {
                let bio = a.bio(db).unwrap();
                // The bio's link back to its author is filled: no query.
                bio.author.cached().unwrap().name == a.name
            })
        });
        assert!(ok);
        assert_eq!(queries.len(), 2);
        // An author without a bio: DoesNotExist, from the cache.
        let jane = Author::objects()
            .prefetch_related(["bio"])
            .get(db, q!(name = "Jane"))
            .unwrap();
        let (r, queries) = capture_queries(|| jane.bio(db));
        assert!(r.unwrap_err().is_does_not_exist());
        assert!(queries.is_empty());
    });
}

#[test]
fn test_foreignkey_to_field() {
    run(&models(), |db| {
        let b = book(db, "Poems");
        let jane = author(db, "Jane", &b);
        author(db, "Tom", &b);
        author(db, "Robert", &b);
        AuthorAddress::objects()
            .create(
                db,
                AuthorAddress {
                    id: 0,
                    author: ForeignKey::new(jane.name.clone()),
                    address: "SomeStreet 1".into(),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let (lists, queries) = capture_queries(|| {
            Author::objects()
                .prefetch_related(["addresses"])
                .all(db)
                .unwrap()
                .iter()
                .map(|a| a.addresses().all(db).unwrap().len())
                .collect::<Vec<_>>()
        });
        assert_eq!(lists, [1, 0, 0]);
        assert_eq!(queries.len(), 2);
    });
}

fn employees(db: &Database) {
    let boss = Employee::objects()
        .create(
            db,
            Employee {
                id: 0,
                name: "Peter".into(),
                boss: None,
                _state: ModelState::new(),
            },
        )
        .unwrap();
    for name in ["Joe", "Angela"] {
        Employee::objects()
            .create(
                db,
                Employee {
                    id: 0,
                    name: name.into(),
                    boss: Some(ForeignKey::to(&boss).unwrap()),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
    }
}

fn co_serfs(db: &Database, staff: &[Employee]) -> Vec<Vec<String>> {
    staff
        .iter()
        .map(|e| match &e.boss {
            None => vec![],
            Some(b) => b
                .get(db)
                .unwrap()
                .serfs()
                .all(db)
                .unwrap()
                .into_iter()
                .map(|s| s.name)
                .collect(),
        })
        .collect()
}

#[test]
fn test_traverse_nullable() {
    run(&models(), |db| {
        employees(db);
        let expected = co_serfs(
            db,
            &Employee::objects()
                .select_related(["boss"])
                .all(db)
                .unwrap(),
        );
        assert_eq!(
            expected,
            [
                vec![],
                vec!["Joe".to_owned(), "Angela".into()],
                vec!["Joe".to_owned(), "Angela".into()]
            ]
        );
        // The bosses come from select_related; only the serfs are prefetched.
        let (got, queries) = capture_queries(|| {
            let qs = Employee::objects()
                .select_related(["boss"])
                .prefetch_related(["boss__serfs"]);
            co_serfs(db, &qs.all(db).unwrap())
        });
        assert_eq!(got, expected);
        assert_eq!(queries.len(), 2, "{queries:#?}");
    });
}

#[test]
fn test_prefetch_nullable() {
    run(&models(), |db| {
        employees(db);
        let (got, queries) = capture_queries(|| {
            co_serfs(
                db,
                &Employee::objects()
                    .prefetch_related(["boss__serfs"])
                    .all(db)
                    .unwrap(),
            )
        });
        assert_eq!(got[1], ["Joe", "Angela"]);
        assert!(got[0].is_empty());
        assert_eq!(queries.len(), 3, "{queries:#?}");
    });
}

#[test]
fn test_in_bulk_and_iterator() {
    run(&models(), |db| {
        employees(db);
        let (n, queries) = capture_queries(|| {
            let bosses = Employee::objects()
                .prefetch_related(["serfs"])
                .in_bulk(db, Some(vec![1i64, 2]))
                .unwrap();
            bosses
                .values()
                .map(|b| b.serfs().all(db).unwrap().len())
                .sum::<usize>()
        });
        assert_eq!(n, 2);
        assert_eq!(queries.len(), 2);
        // iterator() prefetches per chunk.
        let (n, queries) = capture_queries(|| {
            Employee::objects()
                .prefetch_related(["serfs"])
                .iterator(db, 2)
                .map(|e| e.unwrap().serfs().cached().map_or(usize::MAX, <[_]>::len))
                .sum::<usize>()
        });
        assert_eq!(n, 2);
        assert_eq!(
            queries.len(),
            4,
            "two chunks, each with its prefetch: {queries:#?}"
        );
    });
}

/// Django's `CustomPrefetchTests` data: two people, four houses of three rooms each.
fn houses(db: &Database) {
    let people: Vec<Person> = ["Joe", "Mary"]
        .iter()
        .map(|n| {
            Person::objects()
                .create(
                    db,
                    Person {
                        id: 0,
                        name: n.to_string(),
                        _state: ModelState::new(),
                    },
                )
                .unwrap()
        })
        .collect();
    let specs = [
        ("House 1", "123 Main St", 0),
        ("House 2", "45 Side St", 0),
        ("House 3", "6 Downing St", 1),
        ("house 4", "7 Regents St", 1),
    ];
    for (name, address, owner) in specs {
        let mut house = House::objects()
            .create(
                db,
                House {
                    id: 0,
                    name: name.into(),
                    address: address.into(),
                    owner: Some(ForeignKey::to(&people[owner]).unwrap()),
                    main_room: None,
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let mut first = None;
        for room in ["Dining room", "Lounge", "Kitchen"] {
            let r = Room::objects()
                .create(
                    db,
                    Room {
                        id: 0,
                        name: room.into(),
                        house: ForeignKey::to(&house).unwrap(),
                        _state: ModelState::new(),
                    },
                )
                .unwrap();
            first.get_or_insert(r);
        }
        house.main_room = Some(ForeignKey::to(first.as_ref().unwrap()).unwrap());
        house.save(db).unwrap();
    }
}

fn owners(db: &Database, rooms: &[Room]) -> Vec<String> {
    rooms
        .iter()
        .map(|r| {
            let house = r.house.get(db).unwrap();
            house.owner.as_ref().unwrap().get(db).unwrap().name.clone()
        })
        .collect()
}

#[test]
fn test_custom_qs_forward() {
    run(&models(), |db| {
        houses(db);
        let (plain, queries) = capture_queries(|| {
            owners(
                db,
                &Room::objects().prefetch_related(["house"]).all(db).unwrap(),
            )
        });
        assert_eq!(queries.len(), 6, "rooms, houses, then each of the 4 owners");
        let (custom, queries) = capture_queries(|| {
            let houses = House::objects().select_related(["owner"]);
            owners(
                db,
                &Room::objects()
                    .prefetch_related([Prefetch::new("house").queryset(houses)])
                    .all(db)
                    .unwrap(),
            )
        });
        assert_eq!(custom, plain);
        assert_eq!(queries.len(), 2);
        // to_attr keeps the objects under another name.
        let (attr, queries) = capture_queries(|| {
            let houses = House::objects().select_related(["owner"]);
            let rooms = Room::objects()
                .prefetch_related([Prefetch::new("house")
                    .queryset(houses)
                    .to_attr("house_attr")])
                .all(db)
                .unwrap();
            rooms
                .iter()
                .map(|r| {
                    let h: &[House] = r.state().prefetched("house_attr").unwrap();
                    h[0].owner.as_ref().unwrap().cached().unwrap().name.clone()
                })
                .collect::<Vec<_>>()
        });
        assert_eq!(attr, plain);
        assert_eq!(queries.len(), 2);
        // The prefetch query of a forward key has no join.
        let (_, queries) =
            capture_queries(|| Room::objects().prefetch_related(["house"]).all(db).unwrap());
        assert!(!queries[1].contains(" JOIN "), "{}", queries[1]);
    });
}

#[test]
fn test_custom_qs_reverse_one_to_one() {
    run(&models(), |db| {
        houses(db);
        let (found, queries) = capture_queries(|| {
            let houses = House::objects().select_related(["owner"]);
            let rooms = Room::objects()
                .prefetch_related([Prefetch::new("main_room_of").queryset(houses)])
                .all(db)
                .unwrap();
            rooms
                .iter()
                .filter_map(|r| r.main_room_of(db).ok())
                .map(|h| h.owner.as_ref().unwrap().cached().unwrap().name.clone())
                .collect::<Vec<_>>()
        });
        assert_eq!(found, ["Joe", "Joe", "Mary", "Mary"]);
        assert_eq!(queries.len(), 2);
        // to_attr on a reverse one-to-one, and a queryset matching nothing.
        let rooms = Room::objects()
            .filter(q!(main_room_of__isnull = false))
            .prefetch_related([Prefetch::new("main_room_of")
                .queryset(House::objects().filter(q!(address = "DoesNotExist")))
                .to_attr("main_room_of_attr")])
            .all(db)
            .unwrap();
        assert_eq!(rooms.len(), 4);
        assert!(rooms[0]
            .state()
            .prefetched::<House>("main_room_of_attr")
            .unwrap()
            .is_empty());
    });
}

#[test]
fn test_to_attr_does_not_fill_the_relation() {
    run(&models(), |db| {
        houses(db);
        let house = House::objects()
            .prefetch_related([Prefetch::new("rooms")
                .queryset(Room::objects())
                .to_attr("to_rooms")])
            .get(db, q!(name = "House 3"))
            .unwrap();
        assert_eq!(
            house.state().prefetched::<Room>("to_rooms").unwrap().len(),
            3
        );
        assert!(house.rooms().cached().is_none());
    });
}

fn direct_reuse_data(db: &Database) {
    let b1 = book(db, "book1");
    let b2 = book(db, "book2");
    for (name, b) in [("Author11", &b1), ("Author12", &b1), ("Author21", &b2)] {
        author(db, name, b);
    }
    for (a, address) in [
        ("Author11", "Happy place"),
        ("Author12", "Haunted house"),
        ("Author21", "Happy place"),
    ] {
        AuthorAddress::objects()
            .create(
                db,
                AuthorAddress {
                    id: 0,
                    author: ForeignKey::new(a.to_owned()),
                    address: address.into(),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
    }
}

#[test]
fn test_detect_is_fetched() {
    run(&models(), |db| {
        direct_reuse_data(db);
        let (books, queries) = capture_queries(|| {
            Book::objects()
                .filter(q!(title__in = vec!["book1", "book2"]))
                .prefetch_related([Prefetch::new("first_time_authors").queryset(
                    Author::objects().prefetch_related([Prefetch::new("addresses")
                        .queryset(AuthorAddress::objects().filter(q!(address = "Happy place")))]),
                )])
                .all(db)
                .unwrap()
        });
        assert_eq!(queries.len(), 3);
        let (checked, queries) = capture_queries(|| {
            let a1 = books[0].first_time_authors().all(db).unwrap();
            let a2 = books[1].first_time_authors().all(db).unwrap();
            assert_eq!(names(&a1), ["Author11", "Author12"]);
            assert_eq!(names(&a2), ["Author21"]);
            let addresses = |a: &Author| a.addresses().all(db).unwrap().len();
            (addresses(&a1[0]), addresses(&a1[1]), addresses(&a2[0]))
        });
        assert_eq!(checked, (1, 0, 1));
        assert!(queries.is_empty(), "{queries:#?}");
    });
}

#[test]
fn test_detect_is_fetched_with_to_attr() {
    run(&models(), |db| {
        direct_reuse_data(db);
        let (books, queries) = capture_queries(|| {
            Book::objects()
                .filter(q!(title__in = vec!["book1", "book2"]))
                .prefetch_related([Prefetch::new("first_time_authors")
                    .queryset(
                        Author::objects().prefetch_related([Prefetch::new("addresses")
                            .queryset(AuthorAddress::objects().filter(q!(address = "Happy place")))
                            .to_attr("happy_place")]),
                    )
                    .to_attr("first_authors")])
                .all(db)
                .unwrap()
        });
        assert_eq!(queries.len(), 3);
        let first: &[Author] = books[0].state().prefetched("first_authors").unwrap();
        assert_eq!(names(first), ["Author11", "Author12"]);
        let happy = |a: &Author| {
            a.state()
                .prefetched::<AuthorAddress>("happy_place")
                .unwrap()
                .len()
        };
        assert_eq!((happy(&first[0]), happy(&first[1])), (1, 0));
    });
}

#[test]
fn test_prefetch_related_objects_skips_what_is_loaded() {
    run(&models(), |db| {
        books_and_authors(db);
        let mut books = Book::objects().all(db).unwrap();
        let (_, queries) = capture_queries(|| {
            quarry::prefetch_related_objects(&mut books, ["first_time_authors"], db).unwrap()
        });
        assert_eq!(queries.len(), 1);
        let (_, queries) = capture_queries(|| {
            quarry::prefetch_related_objects(&mut books, ["first_time_authors"], db).unwrap()
        });
        assert!(queries.is_empty());
        // A write through the manager makes the cache stale.
        let extra = author(db, "Extra", &books[1]);
        assert_eq!(books[0].first_time_authors().count(db).unwrap(), 3);
        books[0].first_time_authors().add(db, &mut [extra]).unwrap();
        assert_eq!(books[0].first_time_authors().count(db).unwrap(), 4);
    });
}

#[test]
fn test_limited_prefetch_is_per_parent() {
    run(&models(), |db| {
        books_and_authors(db);
        let by_name = || Author::objects().order_by(["-name"]);
        let (books, queries) = capture_queries(|| {
            Book::objects()
                .prefetch_related([
                    Prefetch::new("first_time_authors").queryset(by_name()),
                    Prefetch::new("first_time_authors")
                        .queryset(by_name().slice(1..))
                        .to_attr("first_time_authors_sliced"),
                ])
                .all(db)
                .unwrap()
        });
        assert_eq!(queries.len(), 3);
        for b in &books {
            let all = b.first_time_authors().cached().unwrap();
            let sliced: &[Author] = b.state().prefetched("first_time_authors_sliced").unwrap();
            assert_eq!(sliced, &all[all.len().min(1)..]);
        }
        assert_eq!(
            names(books[0].first_time_authors().cached().unwrap()),
            ["Emily", "Charlotte", "Anne"]
        );
    });
}

#[test]
fn test_nested_levels_cost_one_query_each() {
    run(&models(), |db| {
        houses(db);
        // person -> houses (reverse) -> rooms (reverse): three queries for any number of rows.
        let (n, queries) = capture_queries(|| {
            let people = Person::objects()
                .prefetch_related(["house_set__rooms"])
                .all(db)
                .unwrap();
            people
                .iter()
                .flat_map(|p| p.house_set().cached().unwrap().to_vec())
                .map(|h| h.rooms().cached().unwrap().len())
                .sum::<usize>()
        });
        assert_eq!(n, 12);
        assert_eq!(queries.len(), 3);
    });
}

/// Each prefetched child links back to its parent at every level, without a query,
/// and a parent listed twice (the same row) gets its objects in both places.
#[test]
fn test_reverse_back_links_at_every_level_and_repeated_parents() {
    run(&models(), |db| {
        houses(db);
        let (walks, queries) = capture_queries(|| {
            let people = Person::objects()
                .prefetch_related(["house_set__rooms"])
                .all(db)
                .unwrap();
            let mut walks = Vec::new();
            for p in &people {
                for h in p.house_set().cached().unwrap() {
                    let owner = h.owner.as_ref().unwrap().cached().unwrap();
                    assert_eq!(owner.id, p.id);
                    for r in h.rooms().cached().unwrap() {
                        assert_eq!(r.house.cached().unwrap().id, h.id);
                        walks.push(format!("{}/{}/{}", owner.name, h.name, r.name));
                    }
                }
            }
            walks
        });
        assert_eq!(queries.len(), 3, "{queries:#?}");
        assert_eq!(walks.len(), 12);
        assert_eq!(walks[0], "Joe/House 1/Dining room");
        assert_eq!(walks[11], "Mary/house 4/Kitchen");

        let mut people = Person::objects().all(db).unwrap();
        people.push(people[0].clone());
        let (_, queries) = capture_queries(|| {
            quarry::prefetch_related_objects(&mut people, ["house_set__rooms"], db).unwrap()
        });
        assert_eq!(queries.len(), 2, "{queries:#?}");
        let houses_of = |p: &Person| -> Vec<(String, i64, usize)> {
            p.house_set()
                .cached()
                .unwrap()
                .iter()
                .map(|h| {
                    let owner = h.owner.as_ref().unwrap().cached().unwrap().id;
                    (h.name.clone(), owner, h.rooms().cached().unwrap().len())
                })
                .collect()
        };
        let first = houses_of(&people[0]);
        assert_eq!(
            first,
            [
                ("House 1".to_owned(), people[0].id, 3),
                ("House 2".to_owned(), people[0].id, 3)
            ]
        );
        assert_eq!(houses_of(&people[2]), first);
        assert_eq!(houses_of(&people[1]).len(), 2);
    });
}

/// Django's `TestDataMixin` with its many-to-many links: who wrote and who read what.
fn with_links(db: &Database) -> (Vec<Book>, Vec<Author>, Vec<Reader>) {
    let (books, authors) = books_and_authors(db);
    books[0]
        .authors()
        .add(db, [&authors[0], &authors[1], &authors[2]])
        .unwrap();
    books[1].authors().add(db, [&authors[0]]).unwrap();
    books[2].authors().add(db, [&authors[2]]).unwrap();
    books[3].authors().add(db, [&authors[3]]).unwrap();
    let reader = |name: &str| {
        Reader::objects()
            .create(
                db,
                Reader {
                    id: 0,
                    name: name.into(),
                    books_read: ManyToMany::new(),
                    _state: ModelState::new(),
                },
            )
            .unwrap()
    };
    let readers = vec![reader("Amy"), reader("Belinda")];
    readers[0]
        .books_read()
        .add(db, [&books[0], &books[3]])
        .unwrap();
    readers[1]
        .books_read()
        .add(db, [&books[1], &books[3]])
        .unwrap();
    (books, authors, readers)
}

fn reader_names(readers: Vec<Reader>) -> Vec<String> {
    readers.into_iter().map(|r| r.name).collect()
}

#[test]
fn test_m2m_forward_and_reverse() {
    run(&models(), |db| {
        with_links(db);
        let (lists, queries) = capture_queries(|| {
            Book::objects()
                .prefetch_related(["authors"])
                .all(db)
                .unwrap()
                .iter()
                .map(|b| b.authors().all(db).unwrap())
                .collect::<Vec<_>>()
        });
        assert_eq!(queries.len(), 2);
        let normal: Vec<Vec<Author>> = Book::objects()
            .all(db)
            .unwrap()
            .iter()
            .map(|b| b.authors().all(db).unwrap())
            .collect();
        assert_eq!(lists, normal);
        assert_eq!(lists[0].len(), 3);

        let (lists, queries) = capture_queries(|| {
            Author::objects()
                .prefetch_related(["books"])
                .all(db)
                .unwrap()
                .iter()
                .map(|a| a.books().all(db).unwrap())
                .collect::<Vec<_>>()
        });
        assert_eq!(queries.len(), 2);
        let normal: Vec<Vec<Book>> = Author::objects()
            .all(db)
            .unwrap()
            .iter()
            .map(|a| a.books().all(db).unwrap())
            .collect();
        assert_eq!(lists, normal);
    });
}

/// `[[readers of each book] for each book of the author] for each author`.
fn read_by_lists(authors: &[Author], db: &Database) -> Vec<Vec<Vec<String>>> {
    authors
        .iter()
        .map(|a| {
            a.books()
                .all(db)
                .unwrap()
                .iter()
                .map(|b| reader_names(b.read_by().all(db).unwrap()))
                .collect()
        })
        .collect()
}

#[test]
fn test_m2m_then_m2m() {
    run(&models(), |db| {
        with_links(db);
        let expected = vec![
            vec![vec!["Amy"], vec!["Belinda"]], // Charlotte: Poems, Jane Eyre
            vec![vec!["Amy"]],                  // Anne: Poems
            vec![vec!["Amy"], vec![]],          // Emily: Poems, Wuthering Heights
            vec![vec!["Amy", "Belinda"]],       // Jane: Sense and Sensibility
        ];
        for lookups in [
            vec!["books__read_by"],
            vec!["books", "books__read_by"],
            vec!["books__read_by", "books"],
        ] {
            let (lists, queries) = capture_queries(|| {
                let authors = Author::objects()
                    .prefetch_related(lookups.clone())
                    .all(db)
                    .unwrap();
                read_by_lists(&authors, db)
            });
            assert_eq!(queries.len(), 3, "{lookups:?}");
            assert_eq!(lists, expected, "{lookups:?}");
        }
        // get() prefetches too.
        let (lists, queries) = capture_queries(|| {
            let a = Author::objects()
                .prefetch_related(["books__read_by"])
                .get(db, q!(name = "Charlotte"))
                .unwrap();
            read_by_lists(&[a], db)
        });
        assert_eq!(queries.len(), 3);
        assert_eq!(lists, [vec![vec!["Amy"], vec!["Belinda"]]]);
    });
}

#[test]
fn test_foreign_key_then_m2m() {
    run(&models(), |db| {
        with_links(db);
        let (lists, queries) = capture_queries(|| {
            Author::objects()
                .select_related(["first_book"])
                .prefetch_related(["first_book__read_by"])
                .all(db)
                .unwrap()
                .iter()
                .map(|a| {
                    let book = a.first_book.cached().expect("select_related loaded it");
                    reader_names(book.read_by().all(db).unwrap())
                })
                .collect::<Vec<_>>()
        });
        assert_eq!(queries.len(), 2);
        assert_eq!(
            lists,
            [
                vec!["Amy"],
                vec!["Amy"],
                vec!["Amy"],
                vec!["Amy", "Belinda"]
            ]
        );
    });
}

#[test]
fn test_m2m_bad_lookups_and_to_attr_conflicts() {
    run(&models(), |db| {
        with_links(db);
        assert_error_contains(
            Reader::objects()
                .prefetch_related(["books_read__xyz"])
                .all(db),
            "Cannot find 'xyz' on Book object, 'books_read__xyz' is an invalid parameter \
             to prefetch_related()",
        );
        assert_error_contains(
            Book::objects().prefetch_related(["authors__name"]).all(db),
            "'authors__name' does not resolve to an item that supports prefetching - this \
             is an invalid parameter to prefetch_related().",
        );
        assert_error_contains(
            Book::objects()
                .prefetch_related([Prefetch::new("authors")
                    .queryset(Author::objects())
                    .to_attr("authors")])
                .all(db),
            "to_attr=authors conflicts with a field on the Book model.",
        );
        assert_error_contains(
            Author::objects()
                .prefetch_related([Prefetch::new("books")
                    .queryset(Book::objects().filter(q!(title = "Poems")))
                    .to_attr("books")])
                .all(db),
            "to_attr=books conflicts with a field on the Author model.",
        );
        // Nothing was written.
        let charlotte = Author::objects().get(db, q!(name = "Charlotte")).unwrap();
        assert_eq!(charlotte.books().count(db).unwrap(), 2);
    });
}

#[test]
fn test_m2m_then_keys_to_a_to_field() {
    run(&models(), |db| {
        let (_, authors, _) = with_links(db);
        FavoriteAuthors::objects()
            .create(
                db,
                FavoriteAuthors {
                    id: 0,
                    author: ForeignKey::new("Charlotte".into()),
                    likes_author: ForeignKey::new("Jane".into()),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        // The next level's keys are the authors' names (the through keys' to_field).
        let (books, queries) = capture_queries(|| {
            Book::objects()
                .prefetch_related(["authors__favorite_authors"])
                .all(db)
                .unwrap()
        });
        assert_eq!(queries.len(), 3);
        let last = &queries[2];
        let where_part = &last[last.find("WHERE").unwrap()..];
        assert!(where_part.contains("IN ("), "{last}");
        let charlotte = &books[0].authors().cached().unwrap()[0];
        assert_eq!(charlotte.name, authors[0].name);
        let favs: Vec<&str> = charlotte
            .favorite_authors()
            .cached()
            .unwrap()
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(favs, ["Jane"]);
        // And reverse: who favours Jane.
        let jane = Author::objects()
            .prefetch_related(["favors_me"])
            .get(db, q!(name = "Jane"))
            .unwrap();
        assert_eq!(names(jane.favors_me().cached().unwrap()), ["Charlotte"]);
    });
}

#[test]
fn test_m2m_prefetching_iterator_with_chunks() {
    run(&models(), |db| {
        with_links(db);
        let (firsts, queries) = capture_queries(|| {
            Book::objects()
                .prefetch_related(["authors"])
                .iterator(db, 2)
                .map(|b| {
                    let b = b.unwrap();
                    b.authors()
                        .cached()
                        .unwrap()
                        .first()
                        .map(|a| a.name.clone())
                })
                .collect::<Vec<_>>()
        });
        // Two chunks: each one query for the books and one for their authors (the
        // second chunk's book query also tells the iterator it is the last).
        assert!(queries.len() <= 5, "{queries:?}");
        assert_eq!(
            firsts,
            [
                Some("Charlotte".to_string()),
                Some("Charlotte".to_string()),
                Some("Emily".to_string()),
                Some("Jane".to_string())
            ]
        );
    });
}

#[test]
fn test_m2m_prefetch_queryset_and_slice() {
    run(&models(), |db| {
        with_links(db);
        // A Prefetch queryset filters and orders each book's authors; a slice applies
        // per book.
        let books = Book::objects()
            .prefetch_related([Prefetch::new("authors")
                .queryset(Author::objects().order_by(["-name"]).slice(..2))
                .to_attr("two_authors")])
            .all(db)
            .unwrap();
        let got: Vec<Vec<&str>> = books
            .iter()
            .map(|b| names(b.state().prefetched::<Author>("two_authors").unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                vec!["Emily", "Charlotte"],
                vec!["Charlotte"],
                vec!["Emily"],
                vec!["Jane"]
            ]
        );
    });
}
