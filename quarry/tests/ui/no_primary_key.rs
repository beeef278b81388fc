use quarry::prelude::*;

#[derive(Model)]
struct Book {
    title: String,
    _state: ModelState,
}

fn main() {}
