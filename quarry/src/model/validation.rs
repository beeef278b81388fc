//! `full_clean` and `full_clean_using`: Django's model validation, collecting every error
//! before failing.

use super::{FieldKind, FieldMeta, Model};
use crate::db::{fetch_params, Executor};
use crate::error::{Error, Result, ValidationErrors};
use crate::query::ast::Filter;
use crate::query::{Query, QuerySet, Q};
use crate::sql::cache;
use crate::sql::compiler::StatementKind;
use crate::value::Value;

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Text(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Json(j) => match j {
            serde_json::Value::Null => true,
            serde_json::Value::String(s) => s.is_empty(),
            serde_json::Value::Array(a) => a.is_empty(),
            serde_json::Value::Object(o) => o.is_empty(),
            _ => false,
        },
        _ => false,
    }
}

fn valid_email(s: &str) -> bool {
    let Some((user, domain)) = s.rsplit_once('@') else {
        return false;
    };
    let user_ok = !user.is_empty()
        && user.len() <= 64
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-.".contains(c))
        && !user.starts_with('.')
        && !user.ends_with('.')
        && !user.contains("..");
    user_ok && (domain == "localhost" || valid_domain(domain))
}

fn valid_domain(d: &str) -> bool {
    let labels: Vec<&str> = d.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.chars().all(|c| c.is_alphabetic()) && tld.len() >= 2)
}

fn valid_url(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else {
        return false;
    };
    if !["http", "https", "ftp", "ftps"].contains(&scheme.to_ascii_lowercase().as_str()) {
        return false;
    }
    if s.chars().any(char::is_whitespace) {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.rsplit_once(':') {
        Some((h, port)) if !h.ends_with(']') || host_port.starts_with('[') => {
            if port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()) {
                if host_port.starts_with('[') {
                    host_port
                } else {
                    return false;
                }
            } else {
                h
            }
        }
        _ => host_port,
    };
    if let Some(ip6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return ip6.parse::<std::net::Ipv6Addr>().is_ok();
    }
    host == "localhost" || host.parse::<std::net::Ipv4Addr>().is_ok() || valid_domain(host)
}

fn valid_slug(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn check_field(f: &FieldMeta, v: &Value, errors: &mut ValidationErrors) {
    if is_empty(v) {
        if v.is_null() && !f.null {
            errors.add(f.name, "This field cannot be null.");
        } else if !f.blank {
            errors.add(f.name, "This field cannot be blank.");
        }
        return;
    }
    let choices = f.choices.map(|c| c()).unwrap_or_default();
    if !choices.is_empty() && !choices.iter().any(|(c, _)| c == v) {
        let shown = match v {
            Value::Text(s) => format!("'{s}'"),
            Value::I64(i) => i.to_string(),
            other => format!("{other:?}"),
        };
        errors.add(f.name, format!("Value {shown} is not a valid choice."));
    }
    if let (Some(max), Value::Text(s)) = (f.max_length, v) {
        let n = s.chars().count();
        if n > max as usize {
            errors.add(
                f.name,
                format!("Ensure this value has at most {max} characters (it has {n})."),
            );
        }
    }
    if let Value::Text(s) = v {
        let (ok, msg) = match f.kind {
            FieldKind::EmailField => (valid_email(s), "Enter a valid email address."),
            FieldKind::SlugField => (
                valid_slug(s),
                "Enter a valid “slug” consisting of letters, numbers, underscores or hyphens.",
            ),
            FieldKind::URLField => (valid_url(s), "Enter a valid URL."),
            FieldKind::GenericIPAddressField => (
                s.parse::<std::net::IpAddr>().is_ok(),
                "Enter a valid IPv4 or IPv6 address.",
            ),
            _ => (true, ""),
        };
        if !ok {
            errors.add(f.name, msg);
        }
    }
    if let Value::Decimal(d) = v {
        check_decimal(f, *d, errors);
    }
    for validator in f.validators {
        if let Err(m) = validator(v) {
            errors.add(f.name, m);
        }
    }
}

fn check_decimal(f: &FieldMeta, d: rust_decimal::Decimal, errors: &mut ValidationErrors) {
    let d = d.normalize();
    let places = d.scale();
    let mantissa = d.mantissa().unsigned_abs().to_string();
    let digits = if mantissa == "0" {
        0
    } else {
        mantissa.len() as u32
    };
    let digits = digits.max(places);
    let whole = digits - places;
    if let Some(max) = f.max_digits {
        if digits > max {
            errors.add(
                f.name,
                format!("Ensure that there are no more than {max} digits in total."),
            );
            return;
        }
    }
    if let Some(dp) = f.decimal_places {
        if places > dp {
            errors.add(
                f.name,
                format!("Ensure that there are no more than {dp} decimal places."),
            );
            return;
        }
    }
    if let (Some(max), Some(dp)) = (f.max_digits, f.decimal_places) {
        if whole > max - dp.min(max) {
            errors.add(
                f.name,
                format!(
                    "Ensure that there are no more than {} digits before the decimal point.",
                    max - dp.min(max)
                ),
            );
        }
    }
}

/// The checks of every field that need no database.
fn clean_fields<M: Model>(obj: &M) -> ValidationErrors {
    let mut errors = ValidationErrors::default();
    for (i, f) in M::meta().fields.iter().enumerate() {
        if f.is_auto() || f.auto_now || f.auto_now_add {
            continue;
        }
        check_field(f, &obj.field_value(i), &mut errors);
    }
    errors
}

fn into_result(errors: ValidationErrors) -> Result<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::ValidationError(errors))
    }
}

pub(super) fn full_clean<M: Model>(obj: &M) -> Result<()> {
    into_result(clean_fields(obj))
}

/// `full_clean` with the database part: foreign keys point at rows that exist and meet
/// `limit_choices_to` (Django's `ForeignKey.validate`), then `unique` fields and
/// `unique_together` groups are free (Django's `validate_unique`). Fields that already
/// failed are not checked against the database, as in Django.
pub(super) fn full_clean_using<M: Model>(obj: &M, ex: &dyn Executor) -> Result<()> {
    let meta = M::meta();
    let mut errors = clean_fields(obj);
    let failed: Vec<String> = errors.fields().map(str::to_owned).collect();
    let ok = |name: &str| !failed.iter().any(|f| f == name);
    for (i, f) in meta.fields.iter().enumerate() {
        let Some(rel) = f.relation else { continue };
        let value = obj.field_value(i);
        if value.is_null() || !ok(f.name) {
            continue;
        }
        let (_, target_field) = rel.target_field();
        let mut query = Query::new(rel.target());
        query.filters.push(Filter {
            q: Q::lookup(target_field.name, value.clone()),
            negated: false,
        });
        if let Some(limit) = rel.limit_choices_to() {
            query.filters.push(Filter {
                q: limit,
                negated: false,
            });
        }
        if !query_exists(ex, &query)? {
            errors.add(
                f.name,
                format!(
                    "{} instance with {} {} does not exist.",
                    rel.target().verbose_name,
                    target_field.name,
                    py_repr(&value)
                ),
            );
        }
    }
    let adding = obj.state().adding();
    let pk = obj.pk();
    let mut checks: Vec<Vec<&str>> = meta
        .unique_together
        .iter()
        .map(|group| group.to_vec())
        .collect();
    for f in meta.fields.iter() {
        if f.primary_key {
            // A new row's primary key is checked when the caller chose it (an auto key
            // the database assigns is not); an existing row keeps its own.
            if adding && (!f.is_auto() || obj.state().pk_is_set()) {
                checks.push(vec![f.name]);
            }
        } else if f.unique {
            checks.push(vec![f.name]);
        }
    }
    for check in checks {
        if !check.iter().all(|name| ok(name)) {
            continue;
        }
        let mut query = Query::new(meta);
        let mut complete = true;
        for name in &check {
            let (i, _) = meta
                .field(name)
                .expect("the derive checked unique_together");
            let v = obj.field_value(i);
            if v.is_null() {
                complete = false;
                break;
            }
            query.filters.push(Filter {
                q: Q::lookup(*name, v),
                negated: false,
            });
        }
        if !complete {
            continue;
        }
        if !adding {
            query.filters.push(Filter {
                q: Q::lookup("pk", pk.clone()),
                negated: true,
            });
        }
        if query_exists(ex, &query)? {
            let labels: Vec<String> = check
                .iter()
                .map(|name| capfirst(meta.field(name).expect("checked above").1.verbose_name))
                .collect();
            let message = format!(
                "{} with this {} already exists.",
                capfirst(meta.verbose_name),
                text_list(&labels)
            );
            let key = if check.len() == 1 {
                check[0]
            } else {
                NON_FIELD_ERRORS
            };
            errors.add(key, message);
        }
    }
    into_result(errors)
}

/// The key of errors that belong to no one field (`unique_together`), Django's
/// `NON_FIELD_ERRORS`.
pub const NON_FIELD_ERRORS: &str = "__all__";

fn query_exists(ex: &dyn Executor, query: &Query) -> Result<bool> {
    let (stmt, params) = cache::statement(query, StatementKind::Exists, ex.dialect())?;
    Ok(!fetch_params(ex, stmt.text(), &params, 0, |_| Ok(()))?.is_empty())
}

/// Django's `capfirst`.
fn capfirst(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Django's `get_text_list(items, "and")`: `a`, `a and b`, `a, b and c`.
fn text_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// A value as Python's `repr` writes it, for Django's `%(value)r` messages.
fn py_repr(v: &Value) -> String {
    match v {
        Value::Text(s) if s.contains('\'') && !s.contains('"') => format!("\"{s}\""),
        Value::Text(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::I64(i) => i.to_string(),
        Value::F64(f) => f.to_string(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        other => format!("{other:?}"),
    }
}

/// The QuerySet of the objects a relation field may point at: every row of `T`,
/// narrowed by `limit_choices_to`. The derive's `<field>_choices()` calls it.
#[doc(hidden)]
pub fn choices_queryset<T: Model>(limit: Option<fn() -> Q>) -> QuerySet<T> {
    match limit {
        Some(f) => T::objects().filter(f()),
        None => T::objects(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_urls_slugs() {
        assert!(valid_email("a.b@example.com"));
        assert!(!valid_email("a@b"));
        assert!(!valid_email("nope"));
        assert!(valid_url("https://www.djangoproject.com/path?q=1"));
        assert!(valid_url("http://127.0.0.1:8000/"));
        assert!(!valid_url("www.example.com"));
        assert!(valid_slug("hello-world_2"));
        assert!(!valid_slug("hello world"));
    }
}
