//! Every error `#[derive(Model)]` and `#[derive(Choices)]` can raise, as the compiler
//! shows it: spanned at the offending attribute, with a `help:` line.

#[test]
fn derive_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
