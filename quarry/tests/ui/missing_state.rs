use quarry::prelude::*;

#[derive(Model)]
struct Book {
    #[field(primary_key)]
    id: i64,
}

fn main() {}
