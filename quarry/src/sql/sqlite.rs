//! The SQLite dialect.

use super::dialect::{Dialect, Vendor};
use crate::model::{FieldKind, FieldMeta};
use crate::query::lookup::{DatePart, Lookup, TruncKind};
use crate::query::{ArithOp, Function};
use std::borrow::Cow;

/// SQLite's SQL.
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteDialect;

/// Escapes `*`, `?` and `[` for GLOB, SQLite's case-sensitive pattern match.
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '*' => out.push_str("[*]"),
            '?' => out.push_str("[?]"),
            '[' => out.push_str("[[]"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes `%`, `_` and `\` for `LIKE ... ESCAPE '\'`.
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Dialect for SqliteDialect {
    fn decimal_expression_cast(&self) -> Option<&'static str> {
        Some(" AS NUMERIC)")
    }

    fn temporal_arith(&self, op: ArithOp, lhs: FieldKind, rhs: FieldKind) -> Option<&'static str> {
        use FieldKind::*;
        // Datetimes are text and durations microseconds: functions registered per
        // connection do the arithmetic (Django registers django_format_dtdelta).
        Some(match (op, lhs, rhs) {
            (ArithOp::Add, DateField | DateTimeField, DurationField) => {
                "QUARRY_DT_ADD({lhs}, {rhs})"
            }
            (ArithOp::Sub, DateField | DateTimeField, DurationField) => {
                "QUARRY_DT_ADD({lhs}, -({rhs}))"
            }
            (ArithOp::Add, DurationField, DateField | DateTimeField) => {
                "QUARRY_DT_ADD({rhs}, {lhs})"
            }
            (ArithOp::Sub, DateField, DateField) | (ArithOp::Sub, DateTimeField, DateTimeField) => {
                "QUARRY_DT_DIFF({lhs}, {rhs})"
            }
            (ArithOp::Sub, TimeField, TimeField) => "QUARRY_TIME_DIFF({lhs}, {rhs})",
            _ => return None,
        })
    }

    fn function_template(&self, f: &Function, args: usize) -> Cow<'static, str> {
        use Function::*;
        Cow::Borrowed(match f {
            Concat => {
                return Cow::Owned(
                    (0..args)
                        .map(|i| format!("COALESCE({{{i}}}, '')"))
                        .collect::<Vec<_>>()
                        .join(" || "),
                )
            }
            Substr => "SUBSTR({*})",
            Left => "SUBSTR({0}, 1, {1})",
            Right => "SUBSTR({0}, -({1}))",
            Ceil => "CEIL({0})",
            Greatest => "MAX({*})",
            Least => "MIN({*})",
            Now => "STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW')",
            Cast(FieldKind::DateField) => "date({0})",
            Cast(FieldKind::TimeField) => "time({0})",
            f => return super::dialect::default_function_template(self, f, args),
        })
    }

    fn cast_type_name(&self, kind: FieldKind) -> &'static str {
        use FieldKind::*;
        match kind {
            k if k.is_integer() => "integer",
            BooleanField => "integer",
            FloatField => "real",
            DecimalField => "decimal",
            _ => "text",
        }
    }

    fn vendor(&self) -> Vendor {
        Vendor::Sqlite
    }

    fn supports_returning(&self) -> bool {
        true
    }

    fn column_type(&self, field: &FieldMeta) -> String {
        use FieldKind::*;
        match field.kind {
            AutoField | BigAutoField | SmallAutoField => "integer".into(),
            BooleanField => "bool".into(),
            CharField | EmailField | SlugField | URLField => {
                format!("varchar({})", field.max_length.unwrap_or(255))
            }
            GenericIPAddressField => "char(39)".into(),
            TextField => "text".into(),
            SmallIntegerField => "smallint".into(),
            IntegerField => "integer".into(),
            BigIntegerField => "bigint".into(),
            PositiveSmallIntegerField => format!(
                "smallint unsigned CHECK ({} >= 0)",
                quoted(self, field.column)
            ),
            PositiveIntegerField => format!(
                "integer unsigned CHECK ({} >= 0)",
                quoted(self, field.column)
            ),
            PositiveBigIntegerField => format!(
                "bigint unsigned CHECK ({} >= 0)",
                quoted(self, field.column)
            ),
            FloatField => "real".into(),
            DecimalField => "decimal".into(),
            DateField => "date".into(),
            DateTimeField => "datetime".into(),
            TimeField => "time".into(),
            DurationField => "bigint".into(),
            UUIDField => "char(32)".into(),
            BinaryField => "BLOB".into(),
            JSONField => format!("text CHECK (JSON_VALID({}))", quoted(self, field.column)),
        }
    }

    fn auto_increment_clause(&self) -> &'static str {
        "AUTOINCREMENT"
    }

    fn lookup_template(&self, lookup: Lookup) -> &'static str {
        use Lookup::*;
        match lookup {
            Exact => "{lhs} = {rhs}",
            IExact => "{lhs} LIKE {rhs} ESCAPE '\\'",
            Contains | StartsWith | EndsWith => "{lhs} GLOB {rhs}",
            IContains | IStartsWith | IEndsWith => "{lhs} LIKE {rhs} ESCAPE '\\'",
            Gt => "{lhs} > {rhs}",
            Gte => "{lhs} >= {rhs}",
            Lt => "{lhs} < {rhs}",
            Lte => "{lhs} <= {rhs}",
            Regex => "{lhs} REGEXP {rhs}",
            IRegex => "{lhs} REGEXP '(?i)' || {rhs}",
            In | Range | IsNull => "",
        }
    }

    fn pattern_value(&self, lookup: Lookup, value: &str) -> String {
        use Lookup::*;
        match lookup {
            Contains => format!("*{}*", glob_escape(value)),
            StartsWith => format!("{}*", glob_escape(value)),
            EndsWith => format!("*{}", glob_escape(value)),
            IExact => like_escape(value),
            IContains => format!("%{}%", like_escape(value)),
            IStartsWith => format!("{}%", like_escape(value)),
            IEndsWith => format!("%{}", like_escape(value)),
            _ => value.to_owned(),
        }
    }

    fn extract(&self, part: DatePart, lhs: &str, _kind: FieldKind) -> String {
        let f = |fmt: &str| format!("CAST(strftime('{fmt}', {lhs}) AS INTEGER)");
        match part {
            DatePart::Year => f("%Y"),
            DatePart::IsoYear => f("%G"),
            DatePart::Month => f("%m"),
            DatePart::Day => f("%d"),
            DatePart::Week => f("%V"),
            DatePart::WeekDay => format!("({} + 1)", f("%w")),
            DatePart::IsoWeekDay => f("%u"),
            DatePart::Quarter => format!("(({} + 2) / 3)", f("%m")),
            DatePart::Hour => f("%H"),
            DatePart::Minute => f("%M"),
            DatePart::Second => f("%S"),
        }
    }

    fn trunc(&self, to: TruncKind, lhs: &str, kind: FieldKind) -> String {
        let day = match to {
            TruncKind::Year => Some(format!("strftime('%Y-01-01', {lhs})")),
            TruncKind::Quarter => Some(format!(
                "(strftime('%Y-', {lhs}) || printf('%02d', ((CAST(strftime('%m', {lhs}) AS INTEGER) - 1) / 3) * 3 + 1) || '-01')"
            )),
            TruncKind::Month => Some(format!("strftime('%Y-%m-01', {lhs})")),
            TruncKind::Week => Some(format!(
                "date({lhs}, '-' || ((CAST(strftime('%w', {lhs}) AS INTEGER) + 6) % 7) || ' days')"
            )),
            TruncKind::Day => Some(format!("date({lhs})")),
            _ => None,
        };
        match (day, kind) {
            (Some(d), FieldKind::DateField) => d,
            (Some(d), _) => format!("({d} || ' 00:00:00')"),
            (None, _) => {
                let fmt = match to {
                    TruncKind::Hour => "%Y-%m-%d %H:00:00",
                    TruncKind::Minute => "%Y-%m-%d %H:%M:00",
                    _ => "%Y-%m-%d %H:%M:%S",
                };
                format!("strftime('{fmt}', {lhs})")
            }
        }
    }

    fn cast_date(&self, lhs: &str) -> String {
        format!("date({lhs})")
    }

    fn cast_time(&self, lhs: &str) -> String {
        format!("substr({lhs}, 12)")
    }

    fn limit_offset(&self, out: &mut String, limit: Option<u64>, offset: u64) {
        match (limit, offset) {
            (Some(l), 0) => out.push_str(&format!(" LIMIT {l}")),
            (Some(l), o) => out.push_str(&format!(" LIMIT {l} OFFSET {o}")),
            (None, 0) => {}
            (None, o) => out.push_str(&format!(" LIMIT -1 OFFSET {o}")),
        }
    }

    fn explain_prefix(&self) -> &'static str {
        "EXPLAIN QUERY PLAN"
    }

    fn insert_ignore(&self) -> (&'static str, &'static str) {
        ("INSERT OR IGNORE INTO", "")
    }

    fn max_params(&self) -> usize {
        32766
    }
}

fn quoted(d: &dyn Dialect, ident: &str) -> String {
    let mut s = String::new();
    d.quote(&mut s, ident);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_escape_wildcards() {
        let d = SqliteDialect;
        assert_eq!(
            d.pattern_value(Lookup::Contains, "a*b?[c"),
            "*a[*]b[?][[]c*"
        );
        assert_eq!(
            d.pattern_value(Lookup::IContains, "50%_\\"),
            "%50\\%\\_\\\\%"
        );
    }
}
