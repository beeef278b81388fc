use quarry::prelude::*;

#[derive(Model, Debug, Clone)]
struct Publisher {
    id: i64,
    _state: ModelState,
}

#[derive(Model, Debug, Clone)]
struct Book {
    id: i64,
    publisher: ForeignKey<Publisher>,
    #[field(on_delete = SetNull)]
    editor: ForeignKey<Publisher>,
    #[field(on_delete = Vanish)]
    printer: Option<ForeignKey<Publisher>>,
    #[field(related_name = "books")]
    pages: i32,
    _state: ModelState,
}

fn main() {}
