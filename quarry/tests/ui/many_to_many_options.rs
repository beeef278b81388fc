use quarry::prelude::*;

#[derive(Model)]
struct Tag {
    id: i64,
    _state: ModelState,
}

#[derive(Model)]
struct Post {
    id: i64,
    #[field(on_delete = Cascade)]
    tags: ManyToMany<Tag>,
    #[field(through_fields = ("post", "tag"))]
    more_tags: ManyToMany<Tag>,
    #[field(through = Tag)]
    title: String,
    _state: ModelState,
}

#[derive(Model)]
struct Note {
    id: i64,
    #[field(symmetrical = true)]
    tags: ManyToMany<Tag>,
    _state: ModelState,
}

fn main() {}
