//! The `quarry` command. No command exists yet; see the crate documentation.

fn main() {
    eprintln!("quarry-cli: no management command is built yet (they arrive with migrations)");
    std::process::exit(2);
}
