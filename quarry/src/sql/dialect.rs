//! What differs between databases: quoting, placeholders, column types, lookup operators,
//! date extraction and a few clauses. Each database overrides only the hooks it needs;
//! everything above this layer is database-neutral.

use crate::model::{FieldKind, FieldMeta};
use crate::query::lookup::{DatePart, Lookup};

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

    /// The operator dividing two integers to an integer (truncated toward zero).
    fn integer_division(&self) -> &'static str {
        " / "
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
