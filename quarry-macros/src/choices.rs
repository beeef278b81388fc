//! `#[derive(Choices)]`: a fieldless enum as a field with choices.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Expr, Fields, Lit, LitStr};

pub fn expand(input: DeriveInput) -> syn::Result<TokenStream> {
    let name = &input.ident;
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            name,
            "#[derive(Choices)] works on fieldless enums only",
        ));
    };
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    let mut variants = Vec::new();
    let mut integer = None;
    for v in &data.variants {
        if !matches!(v.fields, Fields::Unit) {
            push(syn::Error::new_spanned(
                v,
                "a Choices variant cannot carry data",
            ));
            continue;
        }
        let mut value: Option<LitStr> = None;
        let mut label: Option<LitStr> = None;
        for attr in v.attrs.iter().filter(|a| a.path().is_ident("choice")) {
            let r = attr.parse_nested_meta(|m| {
                if m.path.is_ident("value") {
                    value = Some(m.value()?.parse()?);
                } else if m.path.is_ident("label") {
                    label = Some(m.value()?.parse()?);
                } else {
                    return Err(m.error(
                        "unknown choice option\nhelp: the correct form is `#[choice(value = \"S\", label = \"Small\")]`",
                    ));
                }
                Ok(())
            });
            if let Err(e) = r {
                push(e);
            }
        }
        let disc = match &v.discriminant {
            Some((_, Expr::Lit(l))) => match &l.lit {
                Lit::Int(i) => Some(i.base10_parse::<i64>()),
                _ => None,
            },
            Some((_, other)) => {
                push(syn::Error::new_spanned(
                    other,
                    "a Choices discriminant must be an integer literal",
                ));
                None
            }
            None => None,
        };
        let disc = match disc {
            Some(Ok(d)) => Some(d),
            Some(Err(e)) => {
                push(e);
                None
            }
            None => None,
        };
        match (integer, disc.is_some()) {
            (None, d) => integer = Some(d),
            (Some(a), b) if a != b => push(syn::Error::new_spanned(
                v,
                "either every variant has an integer discriminant (stored as integers) or none does (stored as text)",
            )),
            _ => {}
        }
        let ident = v.ident.clone();
        let label = label
            .map(|l| l.value())
            .unwrap_or_else(|| ident.to_string());
        let text = value
            .map(|l| l.value())
            .unwrap_or_else(|| ident.to_string());
        variants.push((ident, text, disc, label));
    }
    if let Some(e) = errors {
        return Err(e);
    }
    let integer = integer.unwrap_or(false);
    let idents: Vec<_> = variants.iter().map(|v| &v.0).collect();
    let labels: Vec<_> = variants.iter().map(|v| &v.3).collect();
    let (kind, values, max_len) = if integer {
        let ds: Vec<i64> = variants.iter().map(|v| v.2.unwrap_or(0)).collect();
        (
            quote!(::quarry::FieldKind::IntegerField),
            ds.iter()
                .map(|d| quote!(::quarry::Value::I64(#d)))
                .collect::<Vec<_>>(),
            quote!(::core::option::Option::None),
        )
    } else {
        let max = variants
            .iter()
            .map(|v| v.1.chars().count() as u32)
            .max()
            .unwrap_or(1);
        (
            quote!(::quarry::FieldKind::CharField),
            variants
                .iter()
                .map(|v| {
                    let t = &v.1;
                    quote!(::quarry::Value::Text(::std::string::String::from(#t)))
                })
                .collect(),
            quote!(::core::option::Option::Some(#max)),
        )
    };
    let type_name = name.to_string();
    let matches_value: Vec<TokenStream> = variants
        .iter()
        .map(|v| {
            let ident = &v.0;
            if integer {
                let d = v.2.unwrap_or(0);
                quote!(::quarry::Value::I64(#d) => ::core::result::Result::Ok(#name::#ident))
            } else {
                let t = &v.1;
                quote!(::quarry::Value::Text(ref s) if s == #t => ::core::result::Result::Ok(#name::#ident))
            }
        })
        .collect();
    Ok(quote! {
        impl ::quarry::FieldValue for #name {
            const KIND: ::quarry::FieldKind = #kind;
            const MAX_LENGTH: ::core::option::Option<u32> = #max_len;
            fn to_value(&self) -> ::quarry::Value {
                match self {
                    #(#name::#idents => #values,)*
                }
            }
            fn from_value(value: ::quarry::Value) -> ::quarry::Result<Self> {
                match value {
                    #(#matches_value,)*
                    other => ::core::result::Result::Err(::quarry::model::__bad_choice(
                        #type_name, &other, &<Self as ::quarry::FieldValue>::choices())),
                }
            }
            fn choices() -> ::std::vec::Vec<(::quarry::Value, ::std::string::String)> {
                ::std::vec![#((#values, ::std::string::String::from(#labels))),*]
            }
        }

        impl ::core::convert::From<#name> for ::quarry::Value {
            fn from(v: #name) -> ::quarry::Value {
                ::quarry::FieldValue::to_value(&v)
            }
        }

        impl #name {
            /// The human-readable label of this choice (Django's `get_FOO_display()`).
            pub fn label(&self) -> &'static str {
                match self {
                    #(#name::#idents => #labels,)*
                }
            }
        }
    })
}
