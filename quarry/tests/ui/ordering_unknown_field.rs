use quarry::prelude::*;

#[derive(Model)]
#[model(ordering = ["-titel"], unique_together = [["title", "isbn"]])]
struct Book {
    #[field(primary_key)]
    id: i64,
    #[field(max_length = 10)]
    title: String,
    _state: ModelState,
}

fn main() {}
