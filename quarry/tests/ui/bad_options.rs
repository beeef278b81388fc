use quarry::prelude::*;

#[derive(Model)]
#[model(tabel = "x", ordering = ["-titel"])]
struct Book {
    #[field(primary_key)]
    id: i64,
    #[field(max_lenght = 10)]
    title: String,
    #[field(kind = "CharField")]
    code: String,
    #[field(kind = "Varchar")]
    other: String,
    _state: ModelState,
}

fn main() {}
