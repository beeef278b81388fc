//! Derive macros of quarry: `#[derive(Model)]` and `#[derive(Choices)]`.
//!
//! Use them through `quarry` (`use quarry::prelude::*;`); the documentation with
//! examples lives there.

mod attrs;
mod choices;
mod model;

use proc_macro::TokenStream;

/// Implements `quarry::Model` for a struct and registers its meta.
///
/// Struct options: `#[model(app_label = "...", db_table = "...", ordering = ["-a", "b"],
/// get_latest_by = "field", verbose_name = "...", verbose_name_plural = "...",
/// unique_together = [["a", "b"]], indexes = [["a", "-b"]])]`.
///
/// Field options: `#[field(primary_key, unique, db_index, db_column = "...",
/// default = expr, max_length = N, max_digits = N, decimal_places = N, blank,
/// auto_now, auto_now_add, validators = [path, ...], kind = "EmailField",
/// verbose_name = "...")]`. One field of type `ModelState` holds the instance's state.
#[proc_macro_derive(Model, attributes(model, field))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    model::expand(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Implements `quarry::FieldValue` for a fieldless enum, so it can be a model field with
/// choices. `#[choice(value = "S", label = "Small")]` on a variant sets what is stored and
/// shown; variants with integer discriminants are stored as integers.
#[proc_macro_derive(Choices, attributes(choice))]
pub fn derive_choices(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    choices::expand(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
