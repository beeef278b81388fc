//! Django's field lookups and transforms, and which field kinds accept them.

use crate::model::FieldKind;

/// A comparison at the end of a `__` path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Lookup {
    Exact,
    IExact,
    Contains,
    IContains,
    In,
    Gt,
    Gte,
    Lt,
    Lte,
    StartsWith,
    IStartsWith,
    EndsWith,
    IEndsWith,
    Range,
    IsNull,
    Regex,
    IRegex,
}

const LOOKUPS: [(&str, Lookup); 17] = [
    ("contains", Lookup::Contains),
    ("endswith", Lookup::EndsWith),
    ("exact", Lookup::Exact),
    ("gt", Lookup::Gt),
    ("gte", Lookup::Gte),
    ("icontains", Lookup::IContains),
    ("iendswith", Lookup::IEndsWith),
    ("iexact", Lookup::IExact),
    ("in", Lookup::In),
    ("iregex", Lookup::IRegex),
    ("isnull", Lookup::IsNull),
    ("istartswith", Lookup::IStartsWith),
    ("lt", Lookup::Lt),
    ("lte", Lookup::Lte),
    ("range", Lookup::Range),
    ("regex", Lookup::Regex),
    ("startswith", Lookup::StartsWith),
];

impl Lookup {
    /// The lookup named `name`.
    pub fn from_name(name: &str) -> Option<Lookup> {
        LOOKUPS.iter().find(|(n, _)| *n == name).map(|(_, l)| *l)
    }

    /// Django's name of the lookup.
    pub fn name(self) -> &'static str {
        LOOKUPS
            .iter()
            .find(|(_, l)| *l == self)
            .map(|(n, _)| *n)
            .unwrap_or("exact")
    }

    /// The lookups a field kind accepts, sorted.
    pub fn names_for(kind: FieldKind) -> Vec<&'static str> {
        LOOKUPS
            .iter()
            .filter(|(_, l)| l.applies_to(kind))
            .map(|(n, _)| *n)
            .collect()
    }

    /// True when the lookup makes sense on the kind.
    pub fn applies_to(self, kind: FieldKind) -> bool {
        use Lookup::*;
        match self {
            Exact | In | Gt | Gte | Lt | Lte | Range | IsNull => true,
            IExact | Contains | IContains | StartsWith | IStartsWith | EndsWith | IEndsWith
            | Regex | IRegex => !matches!(kind, FieldKind::BinaryField),
        }
    }

    /// True for the pattern lookups whose value is escaped for LIKE/GLOB.
    pub fn is_pattern(self) -> bool {
        use Lookup::*;
        matches!(
            self,
            Contains | IContains | StartsWith | IStartsWith | EndsWith | IEndsWith
        )
    }

    /// True for the case-insensitive pattern and equality lookups.
    pub fn is_case_insensitive(self) -> bool {
        use Lookup::*;
        matches!(self, IExact | IContains | IStartsWith | IEndsWith | IRegex)
    }
}

/// A part of a date, time or datetime that a transform extracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum DatePart {
    Year,
    IsoYear,
    Quarter,
    Month,
    Week,
    Day,
    WeekDay,
    IsoWeekDay,
    Hour,
    Minute,
    Second,
}

/// The precision `Trunc` cuts a date or datetime to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum TruncKind {
    Year,
    Quarter,
    Month,
    /// To the Monday of the ISO week.
    Week,
    Day,
    Hour,
    Minute,
    Second,
}

impl TruncKind {
    /// The kind named as Django names it (`"year"`, `"quarter"`...).
    pub fn from_name(name: &str) -> Option<TruncKind> {
        use TruncKind::*;
        Some(match name {
            "year" => Year,
            "quarter" => Quarter,
            "month" => Month,
            "week" => Week,
            "day" => Day,
            "hour" => Hour,
            "minute" => Minute,
            "second" => Second,
            _ => return None,
        })
    }

    /// True for the kinds below a day, which a date cannot be cut to.
    pub fn is_time(self) -> bool {
        matches!(
            self,
            TruncKind::Hour | TruncKind::Minute | TruncKind::Second
        )
    }
}

/// A transform in a `__` path: `pub_date__year`, `created__date`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    /// Extract an integer part.
    Extract(DatePart),
    /// The date of a datetime.
    Date,
    /// The time of a datetime.
    Time,
}

const TRANSFORMS: [(&str, Transform); 13] = [
    ("date", Transform::Date),
    ("day", Transform::Extract(DatePart::Day)),
    ("hour", Transform::Extract(DatePart::Hour)),
    ("iso_week_day", Transform::Extract(DatePart::IsoWeekDay)),
    ("iso_year", Transform::Extract(DatePart::IsoYear)),
    ("minute", Transform::Extract(DatePart::Minute)),
    ("month", Transform::Extract(DatePart::Month)),
    ("quarter", Transform::Extract(DatePart::Quarter)),
    ("second", Transform::Extract(DatePart::Second)),
    ("time", Transform::Time),
    ("week", Transform::Extract(DatePart::Week)),
    ("week_day", Transform::Extract(DatePart::WeekDay)),
    ("year", Transform::Extract(DatePart::Year)),
];

impl Transform {
    /// The transform named `name` that applies to `kind`, if any.
    pub fn for_kind(name: &str, kind: FieldKind) -> Option<Transform> {
        TRANSFORMS
            .iter()
            .find(|(n, t)| *n == name && t.applies_to(kind))
            .map(|(_, t)| *t)
    }

    /// The transforms `kind` accepts.
    pub fn names_for(kind: FieldKind) -> Vec<&'static str> {
        TRANSFORMS
            .iter()
            .filter(|(_, t)| t.applies_to(kind))
            .map(|(n, _)| *n)
            .collect()
    }

    fn applies_to(self, kind: FieldKind) -> bool {
        use DatePart::*;
        match (self, kind) {
            (_, FieldKind::DateTimeField) => true,
            (Transform::Extract(p), FieldKind::DateField) => !matches!(p, Hour | Minute | Second),
            (Transform::Extract(p), FieldKind::TimeField) => matches!(p, Hour | Minute | Second),
            _ => false,
        }
    }

    /// The kind of the transform's result.
    pub fn output(self) -> FieldKind {
        match self {
            Transform::Extract(_) => FieldKind::IntegerField,
            Transform::Date => FieldKind::DateField,
            Transform::Time => FieldKind::TimeField,
        }
    }
}
