//! The MySQL / MariaDB dialect.

use super::dialect::like_pattern;
use super::dialect::{Dialect, Vendor};
use crate::model::{FieldKind, FieldMeta};
use crate::query::lookup::{DatePart, Lookup, TruncKind};
use crate::query::{ArithOp, Function};
use std::borrow::Cow;

/// MySQL's and MariaDB's SQL. `returning` is true on MariaDB (10.5+), which has
/// `INSERT ... RETURNING`; MySQL reads `LAST_INSERT_ID()` instead.
#[derive(Debug, Clone, Copy, Default)]
pub struct MysqlDialect {
    /// The server supports `INSERT ... RETURNING` (MariaDB 10.5+).
    pub returning: bool,
}

impl Dialect for MysqlDialect {
    fn temporal_arith(&self, op: ArithOp, lhs: FieldKind, rhs: FieldKind) -> Option<&'static str> {
        use FieldKind::*;
        // Durations are microseconds in a bigint, as Django stores them here.
        Some(match (op, lhs, rhs) {
            (ArithOp::Add, DateField | DateTimeField, DurationField) => {
                "({lhs} + INTERVAL {rhs} MICROSECOND)"
            }
            (ArithOp::Sub, DateField | DateTimeField, DurationField) => {
                "({lhs} - INTERVAL {rhs} MICROSECOND)"
            }
            (ArithOp::Add, DurationField, DateField | DateTimeField) => {
                "({rhs} + INTERVAL {lhs} MICROSECOND)"
            }
            (ArithOp::Sub, DateField, DateField) | (ArithOp::Sub, DateTimeField, DateTimeField) => {
                "TIMESTAMPDIFF(MICROSECOND, {rhs}, {lhs})"
            }
            (ArithOp::Sub, TimeField, TimeField) => {
                "(TIME_TO_SEC(TIMEDIFF({lhs}, {rhs})) * 1000000 + MICROSECOND(TIMEDIFF({lhs}, {rhs})))"
            }
            _ => return None,
        })
    }

    fn function_template(&self, f: &Function, args: usize) -> Cow<'static, str> {
        use Function::*;
        Cow::Borrowed(match f {
            Length => "CHAR_LENGTH({0})",
            Concat => "CONCAT_WS('', {*})",
            Now => "CURRENT_TIMESTAMP(6)",
            f => return super::dialect::default_function_template(self, f, args),
        })
    }

    fn cast_type_name(&self, kind: FieldKind) -> &'static str {
        use FieldKind::*;
        match kind {
            k if k.is_integer() => "signed",
            BooleanField => "signed",
            FloatField => "double",
            DecimalField => "decimal(65, 30)",
            DateField => "date",
            DateTimeField => "datetime(6)",
            TimeField => "time(6)",
            _ => "char",
        }
    }

    fn vendor(&self) -> Vendor {
        Vendor::Mysql
    }

    fn quote(&self, out: &mut String, ident: &str) {
        out.push('`');
        for c in ident.chars() {
            if c == '`' {
                out.push('`');
            }
            out.push(c);
        }
        out.push('`');
    }

    fn supports_returning(&self) -> bool {
        self.returning
    }

    fn column_type(&self, field: &FieldMeta) -> String {
        use FieldKind::*;
        match field.kind {
            AutoField | IntegerField => "integer".into(),
            BigAutoField | BigIntegerField => "bigint".into(),
            SmallAutoField | SmallIntegerField => "smallint".into(),
            PositiveSmallIntegerField => "smallint UNSIGNED".into(),
            PositiveIntegerField => "integer UNSIGNED".into(),
            PositiveBigIntegerField => "bigint UNSIGNED".into(),
            BooleanField => "bool".into(),
            CharField | EmailField | SlugField | URLField => {
                format!("varchar({})", field.max_length.unwrap_or(255))
            }
            GenericIPAddressField => "char(39)".into(),
            TextField => "longtext".into(),
            FloatField => "double precision".into(),
            DecimalField => match (field.max_digits, field.decimal_places) {
                (Some(p), Some(s)) => format!("numeric({p}, {s})"),
                _ => "numeric(65, 30)".into(),
            },
            DateField => "date".into(),
            DateTimeField => "datetime(6)".into(),
            TimeField => "time(6)".into(),
            DurationField => "bigint".into(),
            UUIDField => "char(32)".into(),
            BinaryField => "longblob".into(),
            JSONField => "json".into(),
        }
    }

    fn supports_aggregate_filter(&self) -> bool {
        false
    }

    fn supports_nulls_modifier(&self) -> bool {
        false
    }

    fn supports_default_in_lead_lag(&self) -> bool {
        false
    }

    fn integer_division(&self) -> &'static str {
        " DIV "
    }

    fn auto_increment_clause(&self) -> &'static str {
        "AUTO_INCREMENT"
    }

    fn lookup_template(&self, lookup: Lookup) -> &'static str {
        use Lookup::*;
        match lookup {
            Exact => "{lhs} = {rhs}",
            IExact => "{lhs} LIKE {rhs}",
            Contains | StartsWith | EndsWith => "{lhs} LIKE BINARY {rhs}",
            IContains | IStartsWith | IEndsWith => "{lhs} LIKE {rhs}",
            Gt => "{lhs} > {rhs}",
            Gte => "{lhs} >= {rhs}",
            Lt => "{lhs} < {rhs}",
            Lte => "{lhs} <= {rhs}",
            Regex => "{lhs} REGEXP BINARY {rhs}",
            IRegex => "{lhs} REGEXP {rhs}",
            In | Range | IsNull => "",
        }
    }

    fn pattern_value(&self, lookup: Lookup, value: &str) -> String {
        like_pattern(lookup, value)
    }

    fn extract(&self, part: DatePart, lhs: &str, _kind: FieldKind) -> String {
        match part {
            DatePart::Year => format!("EXTRACT(YEAR FROM {lhs})"),
            DatePart::IsoYear => format!("TRUNCATE(YEARWEEK({lhs}, 3) / 100, 0)"),
            DatePart::Month => format!("EXTRACT(MONTH FROM {lhs})"),
            DatePart::Day => format!("EXTRACT(DAY FROM {lhs})"),
            DatePart::Week => format!("WEEK({lhs}, 3)"),
            DatePart::WeekDay => format!("DAYOFWEEK({lhs})"),
            DatePart::IsoWeekDay => format!("(WEEKDAY({lhs}) + 1)"),
            DatePart::Quarter => format!("EXTRACT(QUARTER FROM {lhs})"),
            DatePart::Hour => format!("EXTRACT(HOUR FROM {lhs})"),
            DatePart::Minute => format!("EXTRACT(MINUTE FROM {lhs})"),
            DatePart::Second => format!("EXTRACT(SECOND FROM {lhs})"),
        }
    }

    fn trunc(&self, to: TruncKind, lhs: &str, kind: FieldKind) -> String {
        let datetime = match to {
            TruncKind::Year => format!("CAST(DATE_FORMAT({lhs}, '%Y-01-01 00:00:00') AS DATETIME)"),
            TruncKind::Quarter => format!(
                "CAST(CONCAT(YEAR({lhs}), '-', LPAD(QUARTER({lhs}) * 3 - 2, 2, '0'), '-01 00:00:00') AS DATETIME)"
            ),
            TruncKind::Month => format!("CAST(DATE_FORMAT({lhs}, '%Y-%m-01 00:00:00') AS DATETIME)"),
            TruncKind::Week => {
                format!("CAST(DATE_SUB(DATE({lhs}), INTERVAL WEEKDAY({lhs}) DAY) AS DATETIME)")
            }
            TruncKind::Day => format!("CAST(DATE({lhs}) AS DATETIME)"),
            TruncKind::Hour => format!("CAST(DATE_FORMAT({lhs}, '%Y-%m-%d %H:00:00') AS DATETIME)"),
            TruncKind::Minute => {
                format!("CAST(DATE_FORMAT({lhs}, '%Y-%m-%d %H:%i:00') AS DATETIME)")
            }
            TruncKind::Second => {
                format!("CAST(DATE_FORMAT({lhs}, '%Y-%m-%d %H:%i:%s') AS DATETIME)")
            }
        };
        if kind == FieldKind::DateField {
            format!("DATE({datetime})")
        } else {
            datetime
        }
    }

    fn cast_date(&self, lhs: &str) -> String {
        format!("DATE({lhs})")
    }

    fn cast_time(&self, lhs: &str) -> String {
        format!("TIME({lhs})")
    }

    fn random(&self) -> &'static str {
        "RAND()"
    }

    fn limit_offset(&self, out: &mut String, limit: Option<u64>, offset: u64) {
        match (limit, offset) {
            (Some(l), 0) => out.push_str(&format!(" LIMIT {l}")),
            (Some(l), o) => out.push_str(&format!(" LIMIT {l} OFFSET {o}")),
            (None, 0) => {}
            (None, o) => out.push_str(&format!(" LIMIT 18446744073709551615 OFFSET {o}")),
        }
    }

    fn default_values(&self) -> &'static str {
        " () VALUES ()"
    }

    fn insert_ignore(&self) -> (&'static str, &'static str) {
        ("INSERT IGNORE INTO", "")
    }

    /// MySQL 5.7's default `max_allowed_packet` (4 MiB), the smallest current default.
    fn max_statement_bytes(&self) -> Option<usize> {
        Some(4 * 1024 * 1024 - 64 * 1024)
    }

    fn max_params(&self) -> usize {
        65535
    }
}
