//! The PostgreSQL dialect.

use super::dialect::like_pattern;
use super::dialect::{Dialect, Vendor};
use crate::model::{FieldKind, FieldMeta};
use crate::query::lookup::{DatePart, Lookup, TruncKind};
use crate::query::{ArithOp, Function};
use std::borrow::Cow;

/// PostgreSQL's SQL.
#[derive(Debug, Clone, Copy, Default)]
pub struct PostgresDialect;

/// The data type of a field on PostgreSQL, without constraints.
pub(crate) fn pg_type(field: &FieldMeta) -> String {
    use FieldKind::*;
    match field.kind {
        AutoField | IntegerField => "integer".into(),
        BigAutoField | BigIntegerField => "bigint".into(),
        SmallAutoField | SmallIntegerField => "smallint".into(),
        // Rust's unsigned types need the next wider signed column to keep their range.
        PositiveSmallIntegerField => "integer".into(),
        PositiveIntegerField | PositiveBigIntegerField => "bigint".into(),
        BooleanField => "boolean".into(),
        CharField | EmailField | SlugField | URLField => {
            format!("varchar({})", field.max_length.unwrap_or(255))
        }
        GenericIPAddressField => "varchar(39)".into(),
        TextField => "text".into(),
        FloatField => "double precision".into(),
        DecimalField => match (field.max_digits, field.decimal_places) {
            (Some(p), Some(s)) => format!("numeric({p}, {s})"),
            _ => "numeric".into(),
        },
        DateField => "date".into(),
        DateTimeField => "timestamp with time zone".into(),
        TimeField => "time".into(),
        DurationField => "interval".into(),
        UUIDField => "uuid".into(),
        BinaryField => "bytea".into(),
        JSONField => "jsonb".into(),
    }
}

impl Dialect for PostgresDialect {
    fn temporal_arith(&self, op: ArithOp, lhs: FieldKind, rhs: FieldKind) -> Option<&'static str> {
        use FieldKind::*;
        // date - date is a number of days here; Django makes it an interval.
        match (op, lhs, rhs) {
            (ArithOp::Sub, DateField, DateField) => Some("(INTERVAL '1 day' * ({lhs} - {rhs}))"),
            _ => None,
        }
    }

    fn function_template(&self, f: &Function, args: usize) -> Cow<'static, str> {
        use Function::*;
        Cow::Borrowed(match f {
            // PostgreSQL's functions take `integer` counts and `numeric` for ROUND and MOD
            // with places or fractions.
            Substr if args == 3 => "SUBSTRING({0}, ({1})::integer, ({2})::integer)",
            Substr => "SUBSTRING({0}, ({1})::integer)",
            Left => "LEFT({0}, ({1})::integer)",
            Right => "RIGHT({0}, ({1})::integer)",
            Repeat => "REPEAT({0}, ({1})::integer)",
            LPad => "LPAD({0}, ({1})::integer, {2})",
            RPad => "RPAD({0}, ({1})::integer, {2})",
            Round => "ROUND(({0})::numeric, ({1})::integer)",
            Mod => "MOD(({0})::numeric, ({1})::numeric)",
            StrIndex => "STRPOS({0}, {1})",
            NTile => "NTILE(({0})::integer)",
            NthValue => "NTH_VALUE({0}, ({1})::integer)",
            Lag if args == 3 => "LAG({0}, ({1})::integer, {2})",
            Lag => "LAG({0}, ({1})::integer)",
            Lead if args == 3 => "LEAD({0}, ({1})::integer, {2})",
            Lead => "LEAD({0}, ({1})::integer)",
            Now => "STATEMENT_TIMESTAMP()",
            f => return super::dialect::default_function_template(self, f, args),
        })
    }

    fn cast_type_name(&self, kind: FieldKind) -> &'static str {
        self.value_cast(kind).unwrap_or("text")
    }

    fn supports_distinct_on(&self) -> bool {
        true
    }

    fn vendor(&self) -> Vendor {
        Vendor::Postgres
    }

    fn placeholder(&self, out: &mut String, n: usize) {
        out.push('$');
        use std::fmt::Write;
        let _ = write!(out, "{n}");
    }

    fn supports_returning(&self) -> bool {
        true
    }

    fn column_type(&self, field: &FieldMeta) -> String {
        let ty = pg_type(field);
        if matches!(
            field.kind,
            FieldKind::PositiveSmallIntegerField
                | FieldKind::PositiveIntegerField
                | FieldKind::PositiveBigIntegerField
        ) {
            let mut col = String::new();
            self.quote(&mut col, field.column);
            return format!("{ty} CHECK ({col} >= 0)");
        }
        ty
    }

    fn cast_type(&self, field: &FieldMeta) -> Option<String> {
        Some(pg_type(field))
    }

    fn value_cast(&self, kind: FieldKind) -> Option<&'static str> {
        use FieldKind::*;
        Some(match kind {
            // The column types of pg_type, so that a value beside a column has its type
            // (`LAG(col, 1, default)` needs the same type twice).
            AutoField | IntegerField | PositiveSmallIntegerField => "integer",
            SmallAutoField | SmallIntegerField => "smallint",
            k if k.is_integer() => "bigint",
            k if k.is_text() => "text",
            BooleanField => "boolean",
            FloatField => "double precision",
            DecimalField => "numeric",
            DateField => "date",
            DateTimeField => "timestamp with time zone",
            TimeField => "time",
            DurationField => "interval",
            UUIDField => "uuid",
            BinaryField => "bytea",
            JSONField => "jsonb",
            _ => return None,
        })
    }

    fn auto_increment_clause(&self) -> &'static str {
        "GENERATED BY DEFAULT AS IDENTITY"
    }

    fn lookup_template(&self, lookup: Lookup) -> &'static str {
        use Lookup::*;
        match lookup {
            Exact => "{lhs} = {rhs}",
            IExact => "UPPER({lhs}::text) = UPPER({rhs})",
            Contains | StartsWith | EndsWith => "{lhs}::text LIKE {rhs}",
            IContains | IStartsWith | IEndsWith => "UPPER({lhs}::text) LIKE UPPER({rhs})",
            Gt => "{lhs} > {rhs}",
            Gte => "{lhs} >= {rhs}",
            Lt => "{lhs} < {rhs}",
            Lte => "{lhs} <= {rhs}",
            Regex => "{lhs}::text ~ {rhs}",
            IRegex => "{lhs}::text ~* {rhs}",
            In | Range | IsNull => "",
        }
    }

    fn pattern_value(&self, lookup: Lookup, value: &str) -> String {
        match lookup {
            // iexact compares with `=`: no wildcards to escape.
            Lookup::IExact => value.to_owned(),
            l => like_pattern(l, value),
        }
    }

    fn extract(&self, part: DatePart, lhs: &str, _kind: FieldKind) -> String {
        let f = |p: &str| format!("CAST(EXTRACT({p} FROM {lhs}) AS integer)");
        match part {
            DatePart::Year => f("YEAR"),
            DatePart::IsoYear => f("ISOYEAR"),
            DatePart::Month => f("MONTH"),
            DatePart::Day => f("DAY"),
            DatePart::Week => f("WEEK"),
            DatePart::WeekDay => format!("({} + 1)", f("DOW")),
            DatePart::IsoWeekDay => f("ISODOW"),
            DatePart::Quarter => f("QUARTER"),
            DatePart::Hour => f("HOUR"),
            DatePart::Minute => f("MINUTE"),
            DatePart::Second => format!("CAST(FLOOR(EXTRACT(SECOND FROM {lhs})) AS integer)"),
        }
    }

    fn trunc(&self, to: TruncKind, lhs: &str, kind: FieldKind) -> String {
        let unit = format!("{to:?}").to_lowercase();
        if kind == FieldKind::DateField {
            format!("DATE_TRUNC('{unit}', {lhs})::date")
        } else {
            format!("(DATE_TRUNC('{unit}', ({lhs}) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')")
        }
    }

    fn cast_date(&self, lhs: &str) -> String {
        format!("({lhs})::date")
    }

    fn cast_time(&self, lhs: &str) -> String {
        format!("({lhs})::time")
    }

    fn insert_ignore(&self) -> (&'static str, &'static str) {
        ("INSERT INTO", " ON CONFLICT DO NOTHING")
    }

    fn max_params(&self) -> usize {
        65535
    }
}
