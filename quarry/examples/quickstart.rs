//! The quickstart: define models, create tables, write and query data on SQLite.
//!
//! Run with `cargo run -p quarry --example quickstart`. Set `RUST_LOG`-style filtering
//! through `QUARRY_LOG_SQL=1` to see every statement quarry runs.

use quarry::prelude::*;

#[derive(Choices, Debug, Clone, Copy, PartialEq)]
pub enum Genre {
    #[choice(value = "sf", label = "Science fiction")]
    ScienceFiction,
    #[choice(value = "lit", label = "Literature")]
    Literature,
}

#[derive(Model, Debug, Clone)]
#[model(app_label = "shop", ordering = ["-pubdate", "name"], get_latest_by = "pubdate")]
pub struct Book {
    #[field(primary_key)]
    pub id: i64,
    #[field(max_length = 255, db_index)]
    pub name: String,
    pub pages: i32,
    #[field(max_digits = 6, decimal_places = 2)]
    pub price: Decimal,
    pub genre: Genre,
    pub pubdate: Option<NaiveDate>,
    #[field(auto_now_add)]
    pub created: DateTime<Utc>,
    pub _state: ModelState,
}

impl Book {
    fn new(name: &str, pages: i32, price: &str, genre: Genre, year: i32) -> Book {
        Book {
            id: 0,
            name: name.into(),
            pages,
            price: price.parse().expect("a decimal"),
            genre,
            pubdate: NaiveDate::from_ymd_opt(year, 1, 1),
            created: Utc::now(),
            _state: ModelState::new(),
        }
    }
}

fn main() -> Result<(), Error> {
    if std::env::var_os("QUARRY_LOG_SQL").is_some() {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .init();
    }
    let db = Database::connect("sqlite::memory:")?;
    quarry::schema::create_tables(&db, &[Book::meta()])?;

    let books = vec![
        Book::new("Dune", 412, "9.99", Genre::ScienceFiction, 1965),
        Book::new("Ubik", 202, "7.50", Genre::ScienceFiction, 1969),
        Book::new("Emma", 474, "5.25", Genre::Literature, 1815),
        Book::new("Solaris", 204, "8.00", Genre::ScienceFiction, 1961),
    ];
    let books = Book::objects().bulk_create(&db, books, &BulkCreate::new())?;
    println!(
        "inserted {} books, ids {:?}",
        books.len(),
        books.iter().map(|b| b.id).collect::<Vec<_>>()
    );

    let sf = Book::objects()
        .filter(q!(genre = Genre::ScienceFiction, pubdate__year__gte = 1962))
        .all(&db)?;
    for b in &sf {
        println!(
            "{} ({}), {} pages, ${}",
            b.name,
            b.genre.label(),
            b.pages,
            b.price
        );
    }

    let (sql, params) = Book::objects()
        .filter(q!(name__icontains = "u") | !q!(pages__lt = 400))
        .to_sql(&db)?;
    println!("SQL: {sql}\nparams: {params:?}");

    let mut emma = Book::objects().get(&db, q!(name = "Emma"))?;
    emma.price = "6.00".parse().expect("a decimal");
    emma.save(&db)?;
    println!(
        "Emma now costs ${}",
        Book::objects().get(&db, q!(pk = emma.id))?.price
    );

    let n = Book::objects()
        .filter(q!(pages__lt = 300))
        .update(&db, [("pages", F("pages") + 10)])?;
    println!("padded {n} short books");

    let titles = Book::objects()
        .order_by(["name"])
        .values_list_flat("name")
        .all(&db)?;
    println!("titles: {titles:?}");
    println!("latest: {}", Book::objects().latest(&db, &[])?.name);
    println!("count: {}", Book::objects().count(&db)?);

    match Book::objects().get(&db, q!(name = "Missing")) {
        Err(e @ Error::DoesNotExist { .. }) => println!("as expected: {e}"),
        other => println!("unexpected: {other:?}"),
    }
    match Book::objects().filter(q!(titel = "x")).count(&db) {
        Err(e) => println!("as expected: {e}"),
        Ok(n) => println!("unexpected: {n}"),
    }
    Ok(())
}
