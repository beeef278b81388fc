//! Parsing of `#[model(...)]` and `#[field(...)]`, collecting every error.

use proc_macro2::{TokenStream, TokenTree};
use syn::parse::ParseStream;
use syn::punctuated::Punctuated;
use syn::{LitInt, LitStr, Token};

/// Accumulates errors so that every bad attribute is reported at once.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub fn finish(self) -> syn::Result<()> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Parses `["a", "b"]`.
pub fn str_list(input: ParseStream) -> syn::Result<Vec<LitStr>> {
    let content;
    syn::bracketed!(content in input);
    let items: Punctuated<LitStr, Token![,]> = Punctuated::parse_terminated(&content)?;
    Ok(items.into_iter().collect())
}

/// Parses `"a"` or `["a", "b"]`.
pub fn str_or_list(input: ParseStream) -> syn::Result<Vec<LitStr>> {
    if input.peek(syn::token::Bracket) {
        str_list(input)
    } else {
        Ok(vec![input.parse()?])
    }
}

/// Parses `[["a", "b"], ["c"]]`.
pub fn nested_str_list(input: ParseStream) -> syn::Result<Vec<Vec<LitStr>>> {
    let content;
    syn::bracketed!(content in input);
    let mut out = Vec::new();
    while !content.is_empty() {
        out.push(str_list(&content)?);
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    Ok(out)
}

/// Parses `[path, path]`.
pub fn path_list(input: ParseStream) -> syn::Result<Vec<syn::Path>> {
    let content;
    syn::bracketed!(content in input);
    let items: Punctuated<syn::Path, Token![,]> = Punctuated::parse_terminated(&content)?;
    Ok(items.into_iter().collect())
}

/// Takes the tokens of an expression up to the next top-level comma.
pub fn expr_tokens(input: ParseStream) -> syn::Result<TokenStream> {
    let mut out = TokenStream::new();
    while !input.is_empty() && !input.peek(Token![,]) {
        let tt: TokenTree = input.parse()?;
        out.extend(std::iter::once(tt));
    }
    if out.is_empty() {
        return Err(input.error("expected an expression: `default = 0`"));
    }
    Ok(out)
}

pub fn u32_lit(input: ParseStream) -> syn::Result<u32> {
    let lit: LitInt = input.parse()?;
    lit.base10_parse()
}
