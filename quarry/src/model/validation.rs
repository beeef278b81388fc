//! `full_clean`: Django's field validation, collecting every error before failing.

use super::{FieldKind, FieldMeta, Model};
use crate::error::{Error, Result, ValidationErrors};
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

pub(super) fn full_clean<M: Model>(obj: &M) -> Result<()> {
    let meta = M::meta();
    let mut errors = ValidationErrors::default();
    for (i, f) in meta.fields.iter().enumerate() {
        if f.is_auto() || f.auto_now || f.auto_now_add {
            continue;
        }
        check_field(f, &obj.field_value(i), &mut errors);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::ValidationError(errors))
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
