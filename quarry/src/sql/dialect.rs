//! What differs between databases: quoting, placeholders, column types, lookup operators,
//! date extraction and a few clauses. Each database overrides only the hooks it needs;
//! everything above this layer is database-neutral.

use crate::model::{FieldKind, FieldMeta};
use crate::query::lookup::{DatePart, Lookup, TruncKind};
use crate::query::{ArithOp, Function};
use std::borrow::Cow;

/// The databases quarry speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Vendor {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
}

/// The LIKE pattern of a pattern lookup (`%` around the escaped text as the lookup
/// asks), shared by the dialects that match with LIKE; `iexact` is escaped only.
pub(crate) fn like_pattern(lookup: Lookup, value: &str) -> String {
    use Lookup::*;
    let v = super::sqlite::like_escape(value);
    match lookup {
        Contains | IContains => format!("%{v}%"),
        StartsWith | IStartsWith => format!("{v}%"),
        EndsWith | IEndsWith => format!("%{v}"),
        IExact => v,
        _ => value.to_owned(),
    }
}

/// The SQL of a function most databases share: `{0}`, `{1}`... stand for the arguments,
/// `{*}` for all of them separated by commas. `None` for the functions a dialect must
/// write itself (`Concat`, `Cast`, `Extract`).
pub(crate) fn standard_function(f: &Function) -> Option<&'static str> {
    use Function::*;
    Some(match f {
        Lower => "LOWER({0})",
        Upper => "UPPER({0})",
        Length => "LENGTH({0})",
        Substr => "SUBSTRING({*})",
        Trim => "TRIM({0})",
        LTrim => "LTRIM({0})",
        RTrim => "RTRIM({0})",
        Replace => "REPLACE({0}, {1}, {2})",
        Left => "LEFT({0}, {1})",
        Right => "RIGHT({0}, {1})",
        StrIndex => "INSTR({0}, {1})",
        LPad => "LPAD({0}, {1}, {2})",
        RPad => "RPAD({0}, {1}, {2})",
        Repeat => "REPEAT({0}, {1})",
        Abs => "ABS({0})",
        Ceil => "CEILING({0})",
        Floor => "FLOOR({0})",
        Round => "ROUND({0}, {1})",
        Mod => "MOD({0}, {1})",
        Power => "POWER({0}, {1})",
        Sqrt => "SQRT({0})",
        Greatest => "GREATEST({*})",
        Least => "LEAST({*})",
        NullIf => "NULLIF({0}, {1})",
        Coalesce => "COALESCE({*})",
        Now => "CURRENT_TIMESTAMP",
        Not => "NOT ({0})",
        RowNumber => "ROW_NUMBER()",
        Rank => "RANK()",
        DenseRank => "DENSE_RANK()",
        PercentRank => "PERCENT_RANK()",
        CumeDist => "CUME_DIST()",
        NTile => "NTILE({0})",
        Lag => "LAG({*})",
        Lead => "LEAD({*})",
        FirstValue => "FIRST_VALUE({0})",
        LastValue => "LAST_VALUE({0})",
        NthValue => "NTH_VALUE({0}, {1})",
        Concat | Cast(_) | Extract(_) | Trunc(_) | Named(_) | Invalid(_) => return None,
    })
}

/// The template of `f` where a dialect does not write its own: the standard SQL, `CONCAT`
/// of every argument, `CAST(x AS <the dialect's type>)`.
pub(crate) fn default_function_template<D: Dialect + ?Sized>(
    dialect: &D,
    f: &Function,
    args: usize,
) -> Cow<'static, str> {
    match f {
        Function::Concat => Cow::Borrowed("CONCAT({*})"),
        Function::Cast(kind) => {
            Cow::Owned(format!("CAST({{0}} AS {})", dialect.cast_type_name(*kind)))
        }
        f => {
            let _ = args;
            Cow::Borrowed(standard_function(f).unwrap_or("{*}"))
        }
    }
}

/// A SQL dialect.
pub trait Dialect: Send + Sync + 'static {
    /// Which database this is.
    fn vendor(&self) -> Vendor;

    /// Writes a quoted identifier.
    fn quote(&self, out: &mut String, ident: &str) {
        out.push('"');
        for c in ident.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    }

    /// Writes the placeholder of the `n`th (1-based) parameter.
    fn placeholder(&self, out: &mut String, n: usize) {
        let _ = n;
        out.push('?');
    }

    /// True when `INSERT ... RETURNING` works.
    fn supports_returning(&self) -> bool;

    /// The column type of a field.
    fn column_type(&self, field: &FieldMeta) -> String;

    /// The type a bound parameter is cast to where the database cannot infer it (the
    /// `THEN` branches of `bulk_update`'s CASE); `None` binds it bare.
    fn cast_type(&self, field: &FieldMeta) -> Option<String> {
        let _ = field;
        None
    }

    /// The SQL type a parameter standing alone (a select-list value, a CASE branch) is
    /// cast to, where the database would not know its type; `None` binds it bare.
    fn value_cast(&self, kind: FieldKind) -> Option<&'static str> {
        let _ = kind;
        None
    }

    /// The SQL template of a database function (see [`standard_function`] for the
    /// syntax); `args` is the number of arguments given.
    fn function_template(&self, f: &Function, args: usize) -> Cow<'static, str> {
        default_function_template(self, f, args)
    }

    /// The type `Cast` converts to.
    fn cast_type_name(&self, kind: FieldKind) -> &'static str {
        use FieldKind::*;
        match kind {
            k if k.is_integer() => "integer",
            FloatField => "double precision",
            DecimalField => "decimal",
            BooleanField => "boolean",
            DateField => "date",
            DateTimeField => "timestamp",
            TimeField => "time",
            _ => "text",
        }
    }

    /// The operator dividing two integers to an integer (truncated toward zero).
    fn integer_division(&self) -> &'static str {
        " / "
    }

    /// How `lhs op rhs` is written when dates, times and durations meet (`active_at +
    /// duration`, `end - start`): a template naming `{lhs}` and `{rhs}`, or `None` for
    /// the plain operator.
    fn temporal_arith(&self, op: ArithOp, lhs: FieldKind, rhs: FieldKind) -> Option<&'static str> {
        let _ = (op, lhs, rhs);
        None
    }

    /// The end of `CAST(expr` that gives a computed decimal its numeric type, when the
    /// database needs it to compare it with a bound decimal (SQLite: ` AS NUMERIC)`).
    fn decimal_expression_cast(&self) -> Option<&'static str> {
        None
    }

    /// True for `SELECT DISTINCT ON (...)` (PostgreSQL).
    fn supports_distinct_on(&self) -> bool {
        false
    }

    /// True when `LAG`/`LEAD` take a default value (MariaDB's do not).
    fn supports_default_in_lead_lag(&self) -> bool {
        true
    }

    /// True when an ordering takes `NULLS FIRST`/`NULLS LAST`; otherwise an
    /// `expr IS NULL` term placed before it orders the NULLs.
    fn supports_nulls_modifier(&self) -> bool {
        true
    }

    /// True when aggregates take `FILTER (WHERE ...)`; otherwise the filter becomes a
    /// `CASE WHEN` inside the aggregate.
    fn supports_aggregate_filter(&self) -> bool {
        true
    }

    /// The clause that makes a primary key auto-increment, written after the type.
    fn auto_increment_clause(&self) -> &'static str;

    /// The SQL template of a lookup; `{lhs}` and `{rhs}` are replaced. `rhs` is a
    /// placeholder or an expression.
    fn lookup_template(&self, lookup: Lookup) -> &'static str;

    /// Turns the user's text into the pattern a pattern lookup binds (escaping wildcards).
    fn pattern_value(&self, lookup: Lookup, value: &str) -> String;

    /// SQL that extracts `part` from `lhs` (a field of `kind`) as an integer.
    fn extract(&self, part: DatePart, lhs: &str, kind: FieldKind) -> String;

    /// SQL that cuts `lhs` (a field of `kind`, a date or a datetime) to `to`; a date
    /// stays a date, a datetime a datetime in UTC.
    fn trunc(&self, to: TruncKind, lhs: &str, kind: FieldKind) -> String;

    /// SQL that takes the date of a datetime.
    fn cast_date(&self, lhs: &str) -> String;

    /// SQL that takes the time of a datetime.
    fn cast_time(&self, lhs: &str) -> String;

    /// The random-order expression.
    fn random(&self) -> &'static str {
        "RANDOM()"
    }

    /// Writes LIMIT/OFFSET.
    fn limit_offset(&self, out: &mut String, limit: Option<u64>, offset: u64) {
        if let Some(l) = limit {
            out.push_str(&format!(" LIMIT {l}"));
        }
        if offset > 0 {
            out.push_str(&format!(" OFFSET {offset}"));
        }
    }

    /// The prefix of an EXPLAIN statement.
    fn explain_prefix(&self) -> &'static str {
        "EXPLAIN"
    }

    /// The INSERT tail for a row with no column given.
    fn default_values(&self) -> &'static str {
        " DEFAULT VALUES"
    }

    /// The INSERT form that skips rows that conflict (`bulk_create(ignore_conflicts)`):
    /// returns the verb and the suffix.
    fn insert_ignore(&self) -> (&'static str, &'static str);

    /// The largest statement, in bytes of bound values, the server accepts in one packet
    /// (`None`: no such limit).
    fn max_statement_bytes(&self) -> Option<usize> {
        None
    }

    /// Most parameters one statement may bind.
    fn max_params(&self) -> usize;
}
