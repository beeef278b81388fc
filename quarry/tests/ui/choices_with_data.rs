use quarry::prelude::*;

#[derive(Choices)]
enum Size {
    #[choice(valeu = "S")]
    Small,
    Large(u8),
}

fn main() {}
