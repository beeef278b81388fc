//! `#[derive(Model)]`: static meta, hydration by column index, field access, registration.

use crate::attrs::{self, Errors};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, LitStr, Type};

#[derive(Default)]
struct ModelOpts {
    app_label: Option<LitStr>,
    db_table: Option<LitStr>,
    ordering: Vec<LitStr>,
    get_latest_by: Vec<LitStr>,
    verbose_name: Option<LitStr>,
    verbose_name_plural: Option<LitStr>,
    unique_together: Vec<Vec<LitStr>>,
    indexes: Vec<Vec<LitStr>>,
}

#[derive(Default)]
struct FieldOpts {
    primary_key: bool,
    unique: bool,
    db_index: bool,
    blank: bool,
    auto_now: bool,
    auto_now_add: bool,
    db_column: Option<LitStr>,
    default: Option<TokenStream>,
    max_length: Option<u32>,
    max_digits: Option<u32>,
    decimal_places: Option<u32>,
    validators: Vec<syn::Path>,
    kind: Option<LitStr>,
    verbose_name: Option<LitStr>,
    on_delete: Option<TokenStream>,
    on_delete_name: Option<String>,
    related_name: Option<LitStr>,
    related_query_name: Option<LitStr>,
    to_field: Option<LitStr>,
    db_constraint: Option<bool>,
    through: Option<syn::Path>,
    through_fields: Option<(LitStr, LitStr)>,
    symmetrical: Option<bool>,
    db_table: Option<LitStr>,
    ct_field: Option<LitStr>,
    fk_field: Option<LitStr>,
    content_type_field: Option<LitStr>,
    object_id_field: Option<LitStr>,
    limit_choices_to: Option<TokenStream>,
}

/// `limit_choices_to = ...` as an `Option<fn() -> Q>`: a path names the function; any
/// other expression (`q!(...)`) becomes the body of one.
fn limit_choices_to(o: &FieldOpts) -> TokenStream {
    match &o.limit_choices_to {
        None => quote!(::core::option::Option::None),
        Some(tokens) if syn::parse2::<syn::Path>(tokens.clone()).is_ok() => {
            quote!(::core::option::Option::Some(#tokens as fn() -> ::quarry::Q))
        }
        Some(tokens) => quote! {
            ::core::option::Option::Some({
                fn limit_choices_to() -> ::quarry::Q {
                    #tokens
                }
                limit_choices_to as fn() -> ::quarry::Q
            })
        },
    }
}

/// A `ForeignKey<T>` / `OneToOneField<T>` field, possibly in an `Option`.
struct RelationType {
    target: Type,
    one_to_one: bool,
    nullable: bool,
}

/// Recognises the relation field types by their last path segment.
fn relation_type(ty: &Type) -> Option<RelationType> {
    let Type::Path(p) = ty else { return None };
    let seg = p.path.segments.last()?;
    let first_arg = |seg: &syn::PathSegment| -> Option<Type> {
        match &seg.arguments {
            syn::PathArguments::AngleBracketed(a) => a.args.iter().find_map(|arg| match arg {
                syn::GenericArgument::Type(t) => Some(t.clone()),
                _ => None,
            }),
            _ => None,
        }
    };
    match seg.ident.to_string().as_str() {
        "Option" => {
            let inner = first_arg(seg)?;
            let mut r = relation_type(&inner)?;
            r.nullable = true;
            Some(r)
        }
        name @ ("ForeignKey" | "OneToOneField") => Some(RelationType {
            target: first_arg(seg)?,
            one_to_one: name == "OneToOneField",
            nullable: false,
        }),
        _ => None,
    }
}

/// The target of a `ManyToMany<T>` field.
fn many_to_many_type(ty: &Type) -> Option<Type> {
    let Type::Path(p) = ty else { return None };
    let seg = p.path.segments.last()?;
    if seg.ident != "ManyToMany" {
        return None;
    }
    match &seg.arguments {
        syn::PathArguments::AngleBracketed(a) => a.args.iter().find_map(|arg| match arg {
            syn::GenericArgument::Type(t) => Some(t.clone()),
            _ => None,
        }),
        _ => None,
    }
}

/// What a field that has no column of its own is.
enum Virtual {
    GenericForeignKey,
    GenericRelation(Box<Type>),
}

fn virtual_type(ty: &Type) -> Option<Virtual> {
    let Type::Path(p) = ty else { return None };
    let seg = p.path.segments.last()?;
    match seg.ident.to_string().as_str() {
        "GenericForeignKey" => Some(Virtual::GenericForeignKey),
        "GenericRelation" => match &seg.arguments {
            syn::PathArguments::AngleBracketed(a) => a.args.iter().find_map(|arg| match arg {
                syn::GenericArgument::Type(t) => {
                    Some(Virtual::GenericRelation(Box::new(t.clone())))
                }
                _ => None,
            }),
            _ => None,
        },
        _ => None,
    }
}

/// The last segment's name of a type path (`Publication` in `crate::Publication`).
fn type_name(ty: &Type) -> String {
    match ty {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

struct FieldInfo {
    ident: syn::Ident,
    ty: Type,
    opts: FieldOpts,
}

const KINDS: &[&str] = &[
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "BooleanField",
    "CharField",
    "TextField",
    "SmallIntegerField",
    "IntegerField",
    "BigIntegerField",
    "PositiveSmallIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "FloatField",
    "DecimalField",
    "DateField",
    "DateTimeField",
    "TimeField",
    "DurationField",
    "UUIDField",
    "BinaryField",
    "JSONField",
    "EmailField",
    "SlugField",
    "URLField",
    "GenericIPAddressField",
];

fn parse_model_opts(input: &DeriveInput, errors: &mut Errors) -> ModelOpts {
    let mut o = ModelOpts::default();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("model")) {
        let r = attr.parse_nested_meta(|m| {
            let key = m
                .path
                .get_ident()
                .map(|i| i.to_string())
                .unwrap_or_default();
            match key.as_str() {
                "app_label" => o.app_label = Some(m.value()?.parse()?),
                "db_table" | "table" => o.db_table = Some(m.value()?.parse()?),
                "ordering" => o.ordering = attrs::str_list(m.value()?)?,
                "get_latest_by" => o.get_latest_by = attrs::str_or_list(m.value()?)?,
                "verbose_name" => o.verbose_name = Some(m.value()?.parse()?),
                "verbose_name_plural" => o.verbose_name_plural = Some(m.value()?.parse()?),
                "unique_together" => o.unique_together = attrs::nested_str_list(m.value()?)?,
                "indexes" => o.indexes = attrs::nested_str_list(m.value()?)?,
                _ => {
                    return Err(m.error(format!(
                        "unknown model option `{key}`\n\
                         help: the options are app_label, db_table, ordering, get_latest_by, \
                         verbose_name, verbose_name_plural, unique_together, indexes; \
                         e.g. `#[model(db_table = \"shop_book\", ordering = [\"-pubdate\"])]`"
                    )))
                }
            }
            Ok(())
        });
        if let Err(e) = r {
            errors.push(e);
        }
    }
    o
}

fn parse_field_opts(field: &syn::Field, errors: &mut Errors) -> FieldOpts {
    let mut o = FieldOpts::default();
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("field")) {
        let r = attr.parse_nested_meta(|m| {
            let key = m
                .path
                .get_ident()
                .map(|i| i.to_string())
                .unwrap_or_default();
            match key.as_str() {
                "primary_key" => o.primary_key = true,
                "unique" => o.unique = true,
                "db_index" => o.db_index = true,
                "blank" => o.blank = true,
                "auto_now" => o.auto_now = true,
                "auto_now_add" => o.auto_now_add = true,
                "db_column" => o.db_column = Some(m.value()?.parse()?),
                "default" => o.default = Some(attrs::expr_tokens(m.value()?)?),
                "max_length" => o.max_length = Some(attrs::u32_lit(m.value()?)?),
                "max_digits" => o.max_digits = Some(attrs::u32_lit(m.value()?)?),
                "decimal_places" => o.decimal_places = Some(attrs::u32_lit(m.value()?)?),
                "validators" => o.validators = attrs::path_list(m.value()?)?,
                "verbose_name" => o.verbose_name = Some(m.value()?.parse()?),
                "related_name" => o.related_name = Some(m.value()?.parse()?),
                "related_query_name" => o.related_query_name = Some(m.value()?.parse()?),
                "to_field" => o.to_field = Some(m.value()?.parse()?),
                "db_constraint" => {
                    let b: syn::LitBool = m.value()?.parse()?;
                    o.db_constraint = Some(b.value);
                }
                "through" => o.through = Some(m.value()?.parse()?),
                "through_fields" => {
                    let input = m.value()?;
                    let content;
                    syn::parenthesized!(content in input);
                    let a: LitStr = content.parse()?;
                    content.parse::<syn::Token![,]>()?;
                    let b: LitStr = content.parse()?;
                    o.through_fields = Some((a, b));
                }
                "symmetrical" => {
                    let b: syn::LitBool = m.value()?.parse()?;
                    o.symmetrical = Some(b.value);
                }
                "db_table" => o.db_table = Some(m.value()?.parse()?),
                "ct_field" => o.ct_field = Some(m.value()?.parse()?),
                "fk_field" => o.fk_field = Some(m.value()?.parse()?),
                "content_type_field" => o.content_type_field = Some(m.value()?.parse()?),
                "object_id_field" => o.object_id_field = Some(m.value()?.parse()?),
                "limit_choices_to" => {
                    o.limit_choices_to = Some(attrs::expr_tokens(m.value()?)?)
                }
                "on_delete" => {
                    let (tokens, name) = on_delete(m.value()?)?;
                    o.on_delete = Some(tokens);
                    o.on_delete_name = Some(name);
                }
                "kind" => {
                    let lit: LitStr = m.value()?.parse()?;
                    if !KINDS.contains(&lit.value().as_str()) {
                        return Err(syn::Error::new_spanned(
                            &lit,
                            format!(
                                "unknown field kind `{}`\nhelp: one of {}",
                                lit.value(),
                                KINDS.join(", ")
                            ),
                        ));
                    }
                    o.kind = Some(lit);
                }
                _ => {
                    return Err(m.error(format!(
                        "unknown field option `{key}`\n\
                         help: the options are primary_key, unique, db_index, blank, auto_now, \
                         auto_now_add, db_column, default, max_length, max_digits, \
                         decimal_places, validators, kind, verbose_name, for relations \
                         on_delete, related_name, related_query_name, to_field, db_constraint, \
                         limit_choices_to, for many-to-many fields through, through_fields, symmetrical, \
                         db_table, for a GenericForeignKey ct_field, fk_field, and for a \
                         GenericRelation content_type_field, object_id_field; e.g. \
                         `#[field(max_length = 100)]`"
                    )))
                }
            }
            Ok(())
        });
        if let Err(e) = r {
            errors.push(e);
        }
    }
    if let Some(k) = &o.kind {
        let k = k.value();
        if k == "CharField" && o.max_length.is_none() {
            errors.push(syn::Error::new_spanned(
                field,
                "a CharField needs a max_length\nhelp: the correct form is `#[field(kind = \"CharField\", max_length = 100)]`",
            ));
        }
        if k == "DecimalField" && (o.max_digits.is_none() || o.decimal_places.is_none()) {
            errors.push(syn::Error::new_spanned(
                field,
                "a DecimalField needs max_digits and decimal_places\nhelp: `#[field(max_digits = 6, decimal_places = 2)]`",
            ));
        }
    }
    o
}

/// Parses `on_delete = Cascade` (or `SET_NULL`-style names, or `Set(path::to_fn)`).
fn on_delete(input: syn::parse::ParseStream) -> syn::Result<(TokenStream, String)> {
    let ident: syn::Ident = input.parse()?;
    let name = ident.to_string();
    let variant = match name.as_str() {
        "Cascade" | "CASCADE" => "Cascade",
        "Protect" | "PROTECT" => "Protect",
        "Restrict" | "RESTRICT" => "Restrict",
        "SetNull" | "SET_NULL" => "SetNull",
        "SetDefault" | "SET_DEFAULT" => "SetDefault",
        "DoNothing" | "DO_NOTHING" => "DoNothing",
        "Set" | "SET" => {
            let content;
            syn::parenthesized!(content in input);
            let f: syn::Path = content.parse()?;
            return Ok((quote!(::quarry::OnDelete::Set(#f)), "Set".to_owned()));
        }
        _ => {
            return Err(syn::Error::new_spanned(
                &ident,
                format!(
                    "unknown on_delete `{name}`\nhelp: one of Cascade, Protect, Restrict, \
                     SetNull, SetDefault, Set(function), DoNothing"
                ),
            ))
        }
    };
    let v = format_ident!("{}", variant);
    Ok((quote!(::quarry::OnDelete::#v), variant.to_owned()))
}

fn is_state_type(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "ModelState"))
}

fn lit_list(items: &[LitStr]) -> TokenStream {
    quote!(&[#(#items),*])
}

pub fn expand(input: DeriveInput) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    if !input.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &input.generics,
            "#[derive(Model)] does not support generic structs",
        ));
    }
    let named = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(n) => n.named.iter().collect::<Vec<_>>(),
            _ => {
                return Err(syn::Error::new_spanned(
                    &input.ident,
                    "#[derive(Model)] needs a struct with named fields",
                ))
            }
        },
        _ => {
            return Err(syn::Error::new_spanned(
                &input.ident,
                "#[derive(Model)] works on structs only",
            ))
        }
    };
    let model_opts = parse_model_opts(&input, &mut errors);
    let mut state_field = None;
    let mut fields: Vec<FieldInfo> = Vec::new();
    let mut m2m_fields: Vec<FieldInfo> = Vec::new();
    let mut virtual_fields: Vec<FieldInfo> = Vec::new();
    for f in named {
        let ident = f.ident.clone().expect("named field");
        if is_state_type(&f.ty) {
            state_field = Some(ident);
            continue;
        }
        let opts = parse_field_opts(f, &mut errors);
        if virtual_type(&f.ty).is_some() {
            virtual_fields.push(FieldInfo {
                ident,
                ty: f.ty.clone(),
                opts,
            });
            continue;
        }
        let generic_opts = opts.ct_field.is_some()
            || opts.fk_field.is_some()
            || opts.content_type_field.is_some()
            || opts.object_id_field.is_some();
        if generic_opts {
            errors.push(syn::Error::new_spanned(
                &ident,
                "ct_field and fk_field apply to a GenericForeignKey, content_type_field and \
                 object_id_field to a GenericRelation",
            ));
        }
        if many_to_many_type(&f.ty).is_some() {
            m2m_fields.push(FieldInfo {
                ident,
                ty: f.ty.clone(),
                opts,
            });
            continue;
        }
        let m2m_opts = opts.through.is_some()
            || opts.through_fields.is_some()
            || opts.symmetrical.is_some()
            || opts.db_table.is_some();
        if m2m_opts {
            errors.push(syn::Error::new_spanned(
                &ident,
                "through, through_fields, symmetrical and db_table apply to many-to-many \
                 fields only\nhelp: declare the field as `ManyToMany<Model>`",
            ));
        }
        fields.push(FieldInfo {
            ident,
            ty: f.ty.clone(),
            opts,
        });
    }
    for f in &fields {
        let rel = relation_type(&f.ty);
        let o = &f.opts;
        let rel_opts = o.on_delete.is_some()
            || o.related_name.is_some()
            || o.related_query_name.is_some()
            || o.to_field.is_some()
            || o.db_constraint.is_some()
            || o.limit_choices_to.is_some();
        match &rel {
            None if rel_opts => errors.push(syn::Error::new_spanned(
                &f.ident,
                "on_delete, related_name, related_query_name, to_field, db_constraint and \
                 limit_choices_to apply to relation fields only\nhelp: declare the field as `ForeignKey<Model>` \
                 or `OneToOneField<Model>`",
            )),
            Some(_) if o.on_delete.is_none() => errors.push(syn::Error::new_spanned(
                &f.ident,
                "a relation field needs on_delete\nhelp: `#[field(on_delete = Cascade)]` (or \
                 Protect, Restrict, SetNull, SetDefault, Set(function), DoNothing)",
            )),
            Some(r) if !r.nullable && o.on_delete_name.as_deref() == Some("SetNull") => errors
                .push(syn::Error::new_spanned(
                    &f.ty,
                    "on_delete = SetNull needs a NULL-able field\nhelp: make it an \
                     `Option<ForeignKey<...>>`",
                )),
            _ => {}
        }
    }
    for f in &m2m_fields {
        let o = &f.opts;
        let column_opts = o.primary_key
            || o.unique
            || o.db_index
            || o.auto_now
            || o.auto_now_add
            || o.db_column.is_some()
            || o.default.is_some()
            || o.max_length.is_some()
            || o.kind.is_some()
            || o.on_delete.is_some()
            || o.to_field.is_some();
        if column_opts {
            errors.push(syn::Error::new_spanned(
                &f.ident,
                "a ManyToMany field has no column: it takes related_name, \
                 related_query_name, through, through_fields, symmetrical, db_table, \
                 db_constraint, limit_choices_to, blank and verbose_name only (its through rows are deleted \
                 with either side, so there is no on_delete)",
            ));
        }
        if o.through_fields.is_some() && o.through.is_none() {
            errors.push(syn::Error::new_spanned(
                &f.ident,
                "through_fields needs a through model\nhelp: `#[field(through = Membership, \
                 through_fields = (\"group\", \"person\"))]`",
            ));
        }
        if o.through.is_some() && o.db_table.is_some() {
            errors.push(syn::Error::new_spanned(
                &f.ident,
                "db_table names the auto-created through table: with `through = ...` the \
                 through model's own db_table applies",
            ));
        }
    }
    let name = &input.ident;
    let Some(state_field) = state_field else {
        errors.push(syn::Error::new_spanned(
            name,
            "a Model needs a field of type `ModelState`: it records whether the instance is \
             saved, which columns were loaded and its annotations\n\
             help: add `pub _state: ModelState,` and build new objects with `ModelState::new()`",
        ));
        errors.finish()?;
        unreachable!()
    };
    let mut pk_index = fields.iter().position(|f| f.opts.primary_key);
    if fields.iter().filter(|f| f.opts.primary_key).count() > 1 {
        errors.push(syn::Error::new_spanned(
            name,
            "a Model can have only one `#[field(primary_key)]`",
        ));
    }
    if pk_index.is_none() {
        pk_index = fields.iter().position(|f| f.ident == "id");
        if let Some(i) = pk_index {
            fields[i].opts.primary_key = true;
        } else {
            errors.push(syn::Error::new_spanned(
                name,
                "a Model needs a primary key\nhelp: add `#[field(primary_key)] pub id: i64,` \
                 (an auto-incrementing key assigned by INSERT)",
            ));
        }
    }
    errors.finish()?;
    let pk_index = pk_index.unwrap_or(0);

    let struct_name = name.to_string();
    let app_label = match &model_opts.app_label {
        Some(l) => l.value(),
        None => std::env::var("CARGO_CRATE_NAME").unwrap_or_else(|_| "app".into()),
    };
    let db_table = match &model_opts.db_table {
        Some(t) => t.value(),
        None => format!("{}_{}", app_label, struct_name.to_lowercase()),
    };
    let verbose_name = model_opts
        .verbose_name
        .as_ref()
        .map(|l| l.value())
        .unwrap_or_else(|| camel_to_words(&struct_name));
    let verbose_name_plural = model_opts
        .verbose_name_plural
        .as_ref()
        .map(|l| l.value())
        .unwrap_or_else(|| format!("{verbose_name}s"));
    let ordering = lit_list(&model_opts.ordering);
    let get_latest_by = lit_list(&model_opts.get_latest_by);
    let unique_together: Vec<TokenStream> = model_opts
        .unique_together
        .iter()
        .map(|l| lit_list(l))
        .collect();
    let indexes: Vec<TokenStream> = model_opts
        .indexes
        .iter()
        .map(|l| {
            let list = lit_list(l);
            quote!(::quarry::IndexMeta { fields: #list, name: "" })
        })
        .collect();

    // Check that field names resolve at compile time for the string options.
    let field_names: Vec<String> = fields.iter().map(|f| f.ident.to_string()).collect();
    let mut errors = Errors::default();
    let check = |lit: &LitStr, errors: &mut Errors| {
        let v = lit.value();
        let n = v.trim_start_matches(['-', '+']);
        let base = n.split("__").next().unwrap_or("");
        if v != "?" && base != "pk" && !field_names.iter().any(|f| f == base) {
            errors.push(syn::Error::new_spanned(
                lit,
                format!(
                    "'{base}' is not a field of {struct_name}\nhelp: the fields are {}",
                    field_names.join(", ")
                ),
            ));
        }
    };
    for l in model_opts
        .ordering
        .iter()
        .chain(&model_opts.get_latest_by)
        .chain(model_opts.unique_together.iter().flatten())
        .chain(model_opts.indexes.iter().flatten())
    {
        check(l, &mut errors);
    }
    errors.finish()?;

    let mut metas = Vec::new();
    let mut defaults = Vec::new();
    let mut reads = Vec::new();
    let mut gets = Vec::new();
    let mut params = Vec::new();
    let mut sets = Vec::new();
    let mut builds = Vec::new();
    let mut load_arms = Vec::new();
    let mut prefetch_arms = Vec::new();
    let mut cache_arms = Vec::new();
    let mut clones = Vec::new();
    let mut accessors = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let ident = &f.ident;
        let ty = &f.ty;
        let o = &f.opts;
        let fname = ident.to_string();
        let rel = relation_type(ty);
        let column = o.db_column.as_ref().map(|c| c.value()).unwrap_or_else(|| {
            if rel.is_some() {
                format!("{fname}_id")
            } else {
                fname.clone()
            }
        });
        let relation = match &rel {
            Some(r) => {
                let target = &r.target;
                let kind = if r.one_to_one {
                    quote!(::quarry::RelationKind::OneToOne)
                } else {
                    quote!(::quarry::RelationKind::ForeignKey)
                };
                let on_delete = o
                    .on_delete
                    .clone()
                    .unwrap_or_else(|| quote!(::quarry::OnDelete::DoNothing));
                let opt_lit = |l: &Option<LitStr>| match l {
                    Some(l) => quote!(::core::option::Option::Some(#l)),
                    None => quote!(::core::option::Option::None),
                };
                let related_name = opt_lit(&o.related_name);
                let related_query_name = opt_lit(&o.related_query_name);
                let to_field = o.to_field.as_ref().map(|l| l.value()).unwrap_or_default();
                let db_constraint = o.db_constraint.unwrap_or(true);
                let limit = limit_choices_to(o);
                let load_reverse = if r.one_to_one {
                    quote!(::core::option::Option::Some(::quarry::model::load_reverse_one::<#name, #target>))
                } else {
                    quote!(::core::option::Option::None)
                };
                let choices = format_ident!("{}_choices", fname, span = ident.span());
                let doc = format!(" The {} objects `{fname}` may point at: every row, narrowed by the field's `limit_choices_to` (Django's form field queryset).", type_name(target));
                accessors.push(quote! {
                    #[allow(non_snake_case)]
                    impl #name {
                        #[doc = #doc]
                        pub fn #choices() -> ::quarry::QuerySet<#target> {
                            ::quarry::model::choices_queryset(<Self as ::quarry::Model>::meta().fields[#i].relation.and_then(|r| r.limit_choices_to))
                        }
                    }
                });
                load_arms.push(quote! {
                    #i => ::quarry::model::load_related_field(&mut self.#ident, row, offset, plan)
                });
                cache_arms.push(quote! {
                    #i => ::quarry::model::set_related_cache_field(&mut self.#ident, obj)
                });
                prefetch_arms.push(quote! {
                    #i => ::quarry::query::prefetch::prefetch_forward(objs, #i, |o: &mut Self| &mut o.#ident, node, ex)
                });
                let hidden = o
                    .related_name
                    .as_ref()
                    .is_some_and(|l| l.value().ends_with('+'));
                // `ContentType` lives in quarry: an inherent method cannot be added to it
                // from another crate (its reverse side still works in lookups).
                let foreign_target = type_name(target) == "ContentType";
                if !hidden && !foreign_target {
                    let lower = struct_name.to_lowercase();
                    let accessor =
                        o.related_name
                            .as_ref()
                            .map(|l| l.value())
                            .unwrap_or_else(|| {
                                if r.one_to_one {
                                    lower.clone()
                                } else {
                                    format!("{lower}_set")
                                }
                            });
                    let accessor = format_ident!("{}", accessor, span = ident.span());
                    let doc = format!(" The {struct_name} objects whose `{fname}` points at this one (the reverse side of `{struct_name}.{fname}`).");
                    if r.one_to_one {
                        let doc = format!(" The {struct_name} whose `{fname}` points at this one (the reverse side of `{struct_name}.{fname}`); `Error::DoesNotExist` when there is none.");
                        accessors.push(quote! {
                            impl #target {
                                #[doc = #doc]
                                pub fn #accessor(&self, ex: &(impl ::quarry::Executor + ?::core::marker::Sized)) -> ::quarry::Result<#name> {
                                    ::quarry::RelatedManager::<Self, #name>::new(self, #i).one(ex)
                                }
                            }
                        });
                    } else {
                        accessors.push(quote! {
                            impl #target {
                                #[doc = #doc]
                                pub fn #accessor(&self) -> ::quarry::RelatedManager<'_, Self, #name> {
                                    ::quarry::RelatedManager::new(self, #i)
                                }
                            }
                        });
                    }
                }
                quote! {
                    ::core::option::Option::Some(&::quarry::Relation {
                        kind: #kind,
                        to: <#target as ::quarry::Model>::meta,
                        to_field: #to_field,
                        on_delete: #on_delete,
                        related_name: #related_name,
                        related_query_name: #related_query_name,
                        db_constraint: #db_constraint,
                        limit_choices_to: #limit,
                        prefetch_reverse: ::quarry::query::prefetch::prefetch_reverse::<#name, #target>,
                        load_reverse: #load_reverse,
                    })
                }
            }
            None => quote!(::core::option::Option::None),
        };
        let explicit_kind = match &o.kind {
            Some(k) => {
                let k = format_ident!("{}", k.value());
                quote!(::core::option::Option::Some(::quarry::FieldKind::#k))
            }
            None => quote!(::core::option::Option::None),
        };
        let primary_key = o.primary_key;
        // A relation used as the primary key holds another row's key: never auto.
        let auto_candidate = primary_key && rel.is_none();
        let has_max_length = o.max_length.is_some();
        let kind = quote!(::quarry::FieldKind::resolve(
            <#ty as ::quarry::FieldValue>::KIND, #explicit_kind, #auto_candidate, #has_max_length
        ));
        let max_length = match o.max_length {
            Some(n) => quote!(::core::option::Option::Some(#n)),
            None => {
                // Email/Slug/URL/IP get Django's default lengths; enums their longest value.
                quote!(match <#ty as ::quarry::FieldValue>::MAX_LENGTH {
                    ::core::option::Option::Some(n) => ::core::option::Option::Some(n),
                    ::core::option::Option::None => ::quarry::FieldKind::default_max_length(#kind),
                })
            }
        };
        let opt_u32 = |v: Option<u32>| match v {
            Some(n) => quote!(::core::option::Option::Some(#n)),
            None => quote!(::core::option::Option::None),
        };
        let max_digits = opt_u32(o.max_digits);
        let decimal_places = opt_u32(o.decimal_places);
        let default = match &o.default {
            Some(expr) => {
                let fn_name = format_ident!("__quarry_default_{}", ident);
                defaults.push(quote_spanned! {expr.span()=>
                    #[allow(non_snake_case)]
                    fn #fn_name() -> ::quarry::Value {
                        let v: #ty = ::core::convert::Into::into(#expr);
                        ::quarry::FieldValue::to_value(&v)
                    }
                });
                quote!(::core::option::Option::Some(#fn_name))
            }
            None => quote!(::core::option::Option::None),
        };
        let validators = &o.validators;
        let one_to_one = rel.as_ref().is_some_and(|r| r.one_to_one);
        let (unique, db_index, blank, auto_now, auto_now_add) = (
            o.unique || o.primary_key || one_to_one,
            // Django indexes foreign key columns.
            o.db_index || rel.is_some(),
            o.blank,
            o.auto_now,
            o.auto_now_add,
        );
        let verbose = o
            .verbose_name
            .as_ref()
            .map(|l| l.value())
            .unwrap_or_else(|| {
                // Django's auto-created primary key is labelled "ID".
                if fname == "id" && o.primary_key {
                    "ID".to_owned()
                } else {
                    fname.replace('_', " ")
                }
            });
        metas.push(quote! {
            ::quarry::FieldMeta {
                name: #fname,
                column: #column,
                kind: #kind,
                null: <#ty as ::quarry::FieldValue>::NULLABLE,
                blank: #blank,
                primary_key: #primary_key,
                unique: #unique,
                db_index: #db_index,
                max_length: #max_length,
                max_digits: #max_digits,
                decimal_places: #decimal_places,
                default: #default,
                auto_now: #auto_now,
                auto_now_add: #auto_now_add,
                choices: ::core::option::Option::Some(<#ty as ::quarry::FieldValue>::choices),
                validators: &[#(#validators as ::quarry::Validator),*],
                verbose_name: #verbose,
                relation: #relation,
            }
        });
        reads.push(quote! {
            #ident: {
                let mut v = <#ty as ::quarry::FieldValue>::read(row, offset + #i)
                    .map_err(|e| ::quarry::model::__field_error(e, #struct_name, #fname))?;
                ::quarry::FieldValue::normalize(&mut v, &__FIELDS[#i]);
                v
            }
        });
        gets.push(quote!(#i => ::quarry::FieldValue::to_value(&self.#ident)));
        clones.push(quote!(#ident: ::core::clone::Clone::clone(&self.#ident)));
        params.push(quote!(#i => ::quarry::FieldValue::param(&self.#ident)));
        sets.push(quote! {
            #i => {
                self.#ident = <#ty as ::quarry::FieldValue>::from_value(value)
                    .map_err(|e| ::quarry::model::__field_error(e, #struct_name, #fname))?;
                ::quarry::FieldValue::normalize(&mut self.#ident, &__FIELDS[#i]);
            }
        });
        let is_pk_auto = i == pk_index;
        let missing = if is_pk_auto {
            quote!(if __FIELDS[#i].is_auto() {
                ::quarry::model::__auto_default::<#ty>()
            } else {
                return ::core::result::Result::Err(::quarry::model::__missing(#struct_name, #fname));
            })
        } else {
            quote!(return ::core::result::Result::Err(::quarry::model::__missing(#struct_name, #fname)))
        };
        builds.push(quote! {
            #ident: match values.get_mut(#i).and_then(::core::option::Option::take)
                .or_else(|| __FIELDS[#i].default_value())
            {
                ::core::option::Option::Some(v) => {
                    let mut v = <#ty as ::quarry::FieldValue>::from_value(v)
                        .map_err(|e| ::quarry::model::__field_error(e, #struct_name, #fname))?;
                    ::quarry::FieldValue::normalize(&mut v, &__FIELDS[#i]);
                    v
                }
                ::core::option::Option::None => { #missing }
            }
        });
    }

    // Many-to-many fields: their meta, the auto-created through models, the accessors.
    let mut m2m_metas = Vec::new();
    let mut through_items = Vec::new();
    let mut m2m_inits = Vec::new();
    let struct_lower = struct_name.to_lowercase();
    for (j, f) in m2m_fields.iter().enumerate() {
        let ident = &f.ident;
        let o = &f.opts;
        let fname = ident.to_string();
        let mut target = many_to_many_type(&f.ty).expect("collected as many-to-many");
        if type_name(&target) == "Self" {
            target = syn::parse_quote!(#name);
        }
        let target_name = type_name(&target);
        let self_referential = target_name == struct_name;
        let symmetrical = o.symmetrical.unwrap_or(self_referential);
        let limit = limit_choices_to(o);
        let choices = format_ident!("{}_choices", fname, span = ident.span());
        let doc = format!(" The {target_name} objects `{fname}` may link to: every row, narrowed by the field's `limit_choices_to` (Django's form field queryset).");
        accessors.push(quote! {
            #[allow(non_snake_case)]
                    impl #name {
                #[doc = #doc]
                pub fn #choices() -> ::quarry::QuerySet<#target> {
                    ::quarry::model::choices_queryset(<Self as ::quarry::Model>::meta().many_to_many[#j].limit_choices_to)
                }
            }
        });
        if symmetrical && !self_referential {
            return Err(syn::Error::new_spanned(
                ident,
                "symmetrical applies to a relation from a model to itself",
            ));
        }
        m2m_inits.push(quote!(#ident: ::quarry::ManyToMany::new()));
        let opt_lit = |l: &Option<LitStr>| match l {
            Some(l) => quote!(::core::option::Option::Some(#l)),
            None => quote!(::core::option::Option::None),
        };
        let related_name = opt_lit(&o.related_name);
        let related_query_name = opt_lit(&o.related_query_name);
        let through_fields = match &o.through_fields {
            Some((a, b)) => quote!(::core::option::Option::Some((#a, #b))),
            None => quote!(::core::option::Option::None),
        };
        let through_fn = match &o.through {
            Some(path) => quote!(<#path as ::quarry::Model>::meta),
            None => {
                let fields_static = format_ident!("__QUARRY_THROUGH_FIELDS_{}", j);
                let meta_static = format_ident!("__QUARRY_THROUGH_{}", j);
                let meta_fn = format_ident!("__quarry_through_{}", j);
                let (src, tgt) = if self_referential {
                    (format!("from_{struct_lower}"), format!("to_{struct_lower}"))
                } else {
                    (struct_lower.clone(), target_name.to_lowercase())
                };
                let (src_col, tgt_col) = (format!("{src}_id"), format!("{tgt}_id"));
                let through_name = format!("{struct_name}_{fname}");
                let hidden = format!("{through_name}+");
                let through_table = o
                    .db_table
                    .as_ref()
                    .map(|l| l.value())
                    .unwrap_or_else(|| format!("{db_table}_{fname}"));
                let verbose = format!("{struct_name}-{target_name} relationship");
                let verbose_plural = format!("{verbose}s");
                let db_constraint = o.db_constraint.unwrap_or(true);
                let key_field = |field: &str, column: &str, model: &Type| {
                    let verbose = field.replace('_', " ");
                    quote! {
                        ::quarry::FieldMeta {
                            name: #field,
                            column: #column,
                            kind: ::quarry::FieldKind::resolve(
                                <<#model as ::quarry::Model>::Pk as ::quarry::FieldValue>::KIND,
                                ::core::option::Option::None,
                                false,
                                <<#model as ::quarry::Model>::Pk as ::quarry::FieldValue>::MAX_LENGTH.is_some(),
                            ),
                            null: false,
                            blank: false,
                            primary_key: false,
                            unique: false,
                            db_index: true,
                            max_length: <<#model as ::quarry::Model>::Pk as ::quarry::FieldValue>::MAX_LENGTH,
                            max_digits: ::core::option::Option::None,
                            decimal_places: ::core::option::Option::None,
                            default: ::core::option::Option::None,
                            auto_now: false,
                            auto_now_add: false,
                            choices: ::core::option::Option::None,
                            validators: &[],
                            verbose_name: #verbose,
                            relation: ::core::option::Option::Some(&::quarry::Relation {
                                kind: ::quarry::RelationKind::ForeignKey,
                                to: <#model as ::quarry::Model>::meta,
                                to_field: "",
                                on_delete: ::quarry::OnDelete::Cascade,
                                related_name: ::core::option::Option::Some(#hidden),
                                related_query_name: ::core::option::Option::None,
                                db_constraint: #db_constraint,
                                limit_choices_to: ::core::option::Option::None,
                                prefetch_reverse: ::quarry::model::__not_prefetchable_reverse,
                                load_reverse: ::core::option::Option::None,
                            }),
                        }
                    }
                };
                let self_ty: Type = syn::parse_quote!(#name);
                let src_field = key_field(&src, &src_col, &self_ty);
                let tgt_field = key_field(&tgt, &tgt_col, &target);
                through_items.push(quote! {
                    static #fields_static: [::quarry::FieldMeta; 3] = [
                        ::quarry::FieldMeta {
                            name: "id",
                            column: "id",
                            kind: ::quarry::FieldKind::BigAutoField,
                            null: false,
                            blank: true,
                            primary_key: true,
                            unique: true,
                            db_index: false,
                            max_length: ::core::option::Option::None,
                            max_digits: ::core::option::Option::None,
                            decimal_places: ::core::option::Option::None,
                            default: ::core::option::Option::None,
                            auto_now: false,
                            auto_now_add: false,
                            choices: ::core::option::Option::None,
                            validators: &[],
                            verbose_name: "ID",
                            relation: ::core::option::Option::None,
                        },
                        #src_field,
                        #tgt_field,
                    ];
                    static #meta_static: ::quarry::ModelMeta = ::quarry::ModelMeta {
                        app_label: #app_label,
                        name: #through_name,
                        db_table: #through_table,
                        fields: &#fields_static,
                        pk: 0,
                        ordering: &[],
                        get_latest_by: &[],
                        verbose_name: #verbose,
                        verbose_name_plural: #verbose_plural,
                        unique_together: &[&[#src, #tgt]],
                        indexes: &[],
                        many_to_many: &[],
                        auto_created: true,
                        generic_foreign_keys: &[],
                        generic_relations: &[],
                        dyn_fetch: ::core::option::Option::None,
                    };
                    fn #meta_fn() -> &'static ::quarry::ModelMeta {
                        &#meta_static
                    }
                    ::quarry::__private::inventory::submit! {
                        ::quarry::model::registry::Registration { meta: #meta_fn }
                    }
                });
                quote!(#meta_fn)
            }
        };
        m2m_metas.push(quote! {
            ::quarry::ManyToManyMeta {
                name: #fname,
                to: <#target as ::quarry::Model>::meta,
                through: #through_fn,
                through_fields: #through_fields,
                related_name: #related_name,
                related_query_name: #related_query_name,
                symmetrical: #symmetrical,
                limit_choices_to: #limit,
                prefetch_forward: ::quarry::query::prefetch::prefetch_many::<#name, #target>,
                prefetch_reverse: ::quarry::query::prefetch::prefetch_many::<#target, #name>,
            }
        });
        let doc = format!(" The {target_name} objects linked to this one through `{fname}` (a many-to-many relation).");
        accessors.push(quote! {
            #[allow(non_snake_case)]
                    impl #name {
                #[doc = #doc]
                pub fn #ident(&self) -> ::quarry::ManyRelatedManager<'_, Self, #target> {
                    ::quarry::ManyRelatedManager::new(self, #j, true)
                }
            }
        });
        let hidden = symmetrical
            || o.related_name
                .as_ref()
                .is_some_and(|l| l.value().ends_with('+'));
        if !hidden {
            let accessor = o
                .related_name
                .as_ref()
                .map(|l| l.value())
                .unwrap_or_else(|| format!("{struct_lower}_set"));
            let accessor = format_ident!("{}", accessor, span = ident.span());
            let doc = format!(" The {struct_name} objects linking to this one through `{struct_name}.{fname}` (the reverse side of a many-to-many relation).");
            accessors.push(quote! {
                impl #target {
                    #[doc = #doc]
                    pub fn #accessor(&self) -> ::quarry::ManyRelatedManager<'_, Self, #name> {
                        ::quarry::ManyRelatedManager::new(self, #j, false)
                    }
                }
            });
        }
    }
    let n_m2m = m2m_fields.len();

    // Generic foreign keys and generic relations.
    let mut gfk_metas = Vec::new();
    let mut grel_metas = Vec::new();
    let mut virtual_inits = Vec::new();
    let mut virtual_clones = Vec::new();
    let mut gfk_arms = Vec::new();
    let column_names: Vec<String> = fields.iter().map(|f| f.ident.to_string()).collect();
    for f in &virtual_fields {
        let ident = &f.ident;
        let o = &f.opts;
        let fname = ident.to_string();
        let kind = virtual_type(&f.ty).expect("collected as virtual");
        let field_ident = |lit: &Option<LitStr>, default: &str| -> syn::Result<syn::Ident> {
            let n = lit
                .as_ref()
                .map(|l| l.value())
                .unwrap_or_else(|| default.to_owned());
            if !column_names.contains(&n) {
                return Err(syn::Error::new_spanned(
                    ident,
                    format!(
                        "a GenericForeignKey reads the fields `{}` and `{}`, and {struct_name} \
                         has no field `{n}`\nhelp: add it, or name the fields with \
                         `#[field(ct_field = \"...\", fk_field = \"...\")]`",
                        o.ct_field
                            .as_ref()
                            .map(|l| l.value())
                            .unwrap_or_else(|| "content_type".into()),
                        o.fk_field
                            .as_ref()
                            .map(|l| l.value())
                            .unwrap_or_else(|| "object_id".into()),
                    ),
                ));
            }
            Ok(format_ident!("{}", n))
        };
        match kind {
            Virtual::GenericForeignKey => {
                let wrong = o.content_type_field.is_some()
                    || o.object_id_field.is_some()
                    || o.related_query_name.is_some();
                if wrong {
                    return Err(syn::Error::new_spanned(
                        ident,
                        "a GenericForeignKey takes ct_field and fk_field",
                    ));
                }
                let ct_ident = field_ident(&o.ct_field, "content_type")?;
                let fk_ident = field_ident(&o.fk_field, "object_id")?;
                let (ct_name, fk_name) = (ct_ident.to_string(), fk_ident.to_string());
                let k = gfk_metas.len();
                gfk_metas.push(quote! {
                    ::quarry::contenttypes::GenericForeignKeyMeta {
                        name: #fname,
                        ct_field: #ct_name,
                        fk_field: #fk_name,
                    }
                });
                gfk_arms.push(quote!(#k => ::core::option::Option::Some(&mut self.#ident)));
                virtual_inits
                    .push(quote!(#ident: ::quarry::contenttypes::GenericForeignKey::new()));
                virtual_clones.push(quote!(#ident: ::core::clone::Clone::clone(&self.#ident)));
                let setter = format_ident!("set_{}", ident);
                let owner = format!("{struct_name}.{fname}");
                let doc_get = format!(" The object `{fname}` points at, as a `T` (loaded once, then cached); `None` when the key is NULL or the row is gone.");
                let doc_set = format!(" Points `{fname}` at `obj`: sets `{ct_name}` and `{fk_name}` (the object must be saved).");
                accessors.push(quote! {
                    #[allow(non_snake_case)]
                    impl #name {
                        #[doc = #doc_get]
                        pub fn #ident<T: ::quarry::Model>(
                            &self,
                            ex: &(impl ::quarry::Executor + ?::core::marker::Sized),
                        ) -> ::quarry::Result<::core::option::Option<T>> {
                            ::quarry::contenttypes::generic_get::<T>(
                                &self.#ident,
                                ::quarry::model::RelatedField::key(&self.#ct_ident),
                                ::quarry::FieldValue::to_value(&self.#fk_ident),
                                #owner,
                                ex,
                            )
                        }

                        #[doc = #doc_set]
                        pub fn #setter<T: ::quarry::Model>(
                            &mut self,
                            ex: &(impl ::quarry::Executor + ?::core::marker::Sized),
                            obj: &T,
                        ) -> ::quarry::Result<()> {
                            let (ct, id) = ::quarry::contenttypes::generic_target(ex, obj)?;
                            self.#ct_ident = ::quarry::FieldValue::from_value(ct.clone())?;
                            self.#fk_ident = ::quarry::FieldValue::from_value(id.clone())?;
                            self.#ident.replace_cached(::core::option::Option::Some((
                                ct,
                                id,
                                ::std::sync::Arc::new(::quarry::Model::clone_instance(obj)),
                            )));
                            ::core::result::Result::Ok(())
                        }
                    }
                });
            }
            Virtual::GenericRelation(target) => {
                let mut target = *target;
                if o.ct_field.is_some() || o.fk_field.is_some() {
                    return Err(syn::Error::new_spanned(
                        ident,
                        "a GenericRelation takes content_type_field, object_id_field and \
                         related_query_name",
                    ));
                }
                if type_name(&target) == "Self" {
                    target = syn::parse_quote!(#name);
                }
                let ct = o
                    .content_type_field
                    .as_ref()
                    .map(|l| l.value())
                    .unwrap_or_else(|| "content_type".into());
                let id = o
                    .object_id_field
                    .as_ref()
                    .map(|l| l.value())
                    .unwrap_or_else(|| "object_id".into());
                let rqn = match &o.related_query_name {
                    Some(l) => quote!(::core::option::Option::Some(#l)),
                    None => quote!(::core::option::Option::None),
                };
                let k = grel_metas.len();
                grel_metas.push(quote! {
                    ::quarry::contenttypes::GenericRelationMeta {
                        name: #fname,
                        to: <#target as ::quarry::Model>::meta,
                        content_type_field: #ct,
                        object_id_field: #id,
                        related_query_name: #rqn,
                        prefetch: ::quarry::contenttypes::prefetch_generic_relation::<#name, #target>,
                    }
                });
                virtual_inits.push(quote!(#ident: ::quarry::contenttypes::GenericRelation::new()));
                virtual_clones.push(quote!(#ident: ::quarry::contenttypes::GenericRelation::new()));
                let doc =
                    format!(" The objects whose generic key points at this one through `{fname}`.");
                accessors.push(quote! {
                    #[allow(non_snake_case)]
                    impl #name {
                        #[doc = #doc]
                        pub fn #ident(&self) -> ::quarry::contenttypes::GenericRelatedManager<'_, Self, #target> {
                            ::quarry::contenttypes::GenericRelatedManager::new(self, #k)
                        }
                    }
                });
            }
        }
    }
    let (n_gfk, n_grel) = (gfk_metas.len(), grel_metas.len());
    let n_fields = fields.len();
    let pk_ty = &fields[pk_index].ty;
    let pk_ident = &fields[pk_index].ident;
    Ok(quote! {
        const _: () = {
            #(#defaults)*
            static __FIELDS: [::quarry::FieldMeta; #n_fields] = [#(#metas),*];
            static __M2M: [::quarry::ManyToManyMeta; #n_m2m] = [#(#m2m_metas),*];
            static __GFK: [::quarry::contenttypes::GenericForeignKeyMeta; #n_gfk] = [#(#gfk_metas),*];
            static __GREL: [::quarry::contenttypes::GenericRelationMeta; #n_grel] = [#(#grel_metas),*];
            #(#through_items)*
            static __META: ::quarry::ModelMeta = ::quarry::ModelMeta {
                app_label: #app_label,
                name: #struct_name,
                db_table: #db_table,
                fields: &__FIELDS,
                pk: #pk_index,
                ordering: #ordering,
                get_latest_by: #get_latest_by,
                verbose_name: #verbose_name,
                verbose_name_plural: #verbose_name_plural,
                unique_together: &[#(#unique_together),*],
                indexes: &[#(#indexes),*],
                many_to_many: &__M2M,
                auto_created: false,
                generic_foreign_keys: &__GFK,
                generic_relations: &__GREL,
                dyn_fetch: ::core::option::Option::Some(::quarry::contenttypes::fetch_dyn::<#name>),
            };

            impl ::quarry::Model for #name {
                type Pk = #pk_ty;

                fn meta() -> &'static ::quarry::ModelMeta {
                    &__META
                }

                fn load_related<__QuarryRow: ::quarry::Row + ?Sized>(
                    &mut self,
                    field: usize,
                    row: &__QuarryRow,
                    offset: usize,
                    plan: &::quarry::model::RelatedPlan,
                ) -> ::quarry::Result<()> {
                    let _ = (row, offset, plan);
                    match field {
                        #(#load_arms,)*
                        _ => ::core::result::Result::Ok(()),
                    }
                }

                fn generic_field_mut(
                    &mut self,
                    index: usize,
                ) -> ::core::option::Option<&mut ::quarry::contenttypes::GenericForeignKey> {
                    match index {
                        #(#gfk_arms,)*
                        _ => ::core::option::Option::None,
                    }
                }

                fn clone_instance(&self) -> Self {
                    #name {
                        #(#clones,)*
                        #(#m2m_inits,)*
                        #(#virtual_clones,)*
                        #state_field: ::core::clone::Clone::clone(&self.#state_field),
                    }
                }

                fn set_related_cache(
                    &mut self,
                    field: usize,
                    obj: ::std::sync::Arc<dyn ::core::any::Any + ::core::marker::Send + ::core::marker::Sync>,
                ) -> bool {
                    let _ = &obj;
                    match field {
                        #(#cache_arms,)*
                        _ => false,
                    }
                }

                fn prefetch_forward(
                    objs: &mut [Self],
                    field: usize,
                    node: &::quarry::query::prefetch::PrefetchNode,
                    ex: &dyn ::quarry::Executor,
                ) -> ::quarry::Result<()> {
                    let _ = (&objs, node, ex);
                    match field {
                        #(#prefetch_arms,)*
                        _ => ::quarry::model::__not_prefetchable::<Self>(field),
                    }
                }

                // Inlined into each backend's row reader: returned through memory, the
                // object was read back with wide loads the callee's narrow stores cannot
                // forward, a stall per row (measured by time in benches/).
                #[inline(always)]
                fn from_row<__QuarryRow: ::quarry::Row + ?Sized>(row: &__QuarryRow, offset: usize) -> ::quarry::Result<Self> {
                    ::core::result::Result::Ok(#name {
                        #(#reads,)*
                        #(#m2m_inits,)*
                        #(#virtual_inits,)*
                        #state_field: ::quarry::ModelState::loaded(),
                    })
                }

                fn field_value(&self, index: usize) -> ::quarry::Value {
                    match index {
                        #(#gets,)*
                        _ => ::quarry::Value::Null,
                    }
                }

                fn field_param(&self, index: usize) -> ::quarry::Param<'_> {
                    match index {
                        #(#params,)*
                        _ => ::quarry::Param::Owned(::quarry::Value::Null),
                    }
                }

                fn set_field_value(&mut self, index: usize, value: ::quarry::Value) -> ::quarry::Result<()> {
                    match index {
                        #(#sets)*
                        _ => {}
                    }
                    ::core::result::Result::Ok(())
                }

                fn set_pk(&mut self, pk: #pk_ty) -> ::quarry::Result<()> {
                    self.#pk_ident = pk;
                    ::quarry::FieldValue::normalize(&mut self.#pk_ident, &__FIELDS[#pk_index]);
                    ::core::result::Result::Ok(())
                }

                fn from_field_values(mut values: ::std::vec::Vec<::core::option::Option<::quarry::Value>>) -> ::quarry::Result<Self> {
                    ::core::result::Result::Ok(#name {
                        #(#builds,)*
                        #(#m2m_inits,)*
                        #(#virtual_inits,)*
                        #state_field: ::quarry::ModelState::new(),
                    })
                }

                fn state(&self) -> &::quarry::ModelState {
                    &self.#state_field
                }

                fn state_mut(&mut self) -> &mut ::quarry::ModelState {
                    &mut self.#state_field
                }
            }

            /// A model instance stands for its primary key in lookups (`q!(publisher = &p)`).
            impl ::core::convert::From<&#name> for ::quarry::Value {
                fn from(obj: &#name) -> ::quarry::Value {
                    ::quarry::Model::pk(obj)
                }
            }

            #(#accessors)*

            ::quarry::__private::inventory::submit! {
                ::quarry::model::registry::Registration { meta: <#name as ::quarry::Model>::meta }
            }
        };
    })
}

fn camel_to_words(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
}
