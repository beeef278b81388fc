//! Aggregates: `Count`, `Sum`, `Avg`, `Min`, `Max`, `StdDev`, `Variance`, each with
//! Django's `distinct`, `filter` and `default` options.

use super::expr::{Expr, ExprArg};
use super::q::Q;
use crate::model::FieldKind;

/// Which aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AggFunc {
    /// `COUNT`.
    Count,
    /// `SUM`.
    Sum,
    /// `AVG`.
    Avg,
    /// `MIN`.
    Min,
    /// `MAX`.
    Max,
    /// `STDDEV_POP`, or `STDDEV_SAMP` when `sample`.
    StdDev {
        /// The sample standard deviation.
        sample: bool,
    },
    /// `VAR_POP`, or `VAR_SAMP` when `sample`.
    Variance {
        /// The sample variance.
        sample: bool,
    },
}

impl AggFunc {
    /// Django's class name (`Count`, `Sum`...), used in messages and default aliases.
    pub fn name(self) -> &'static str {
        match self {
            AggFunc::Count => "Count",
            AggFunc::Sum => "Sum",
            AggFunc::Avg => "Avg",
            AggFunc::Min => "Min",
            AggFunc::Max => "Max",
            AggFunc::StdDev { .. } => "StdDev",
            AggFunc::Variance { .. } => "Variance",
        }
    }

    /// The SQL function name.
    pub(crate) fn sql(self) -> &'static str {
        match self {
            AggFunc::Count => "COUNT",
            AggFunc::Sum => "SUM",
            AggFunc::Avg => "AVG",
            AggFunc::Min => "MIN",
            AggFunc::Max => "MAX",
            AggFunc::StdDev { sample: false } => "STDDEV_POP",
            AggFunc::StdDev { sample: true } => "STDDEV_SAMP",
            AggFunc::Variance { sample: false } => "VAR_POP",
            AggFunc::Variance { sample: true } => "VAR_SAMP",
        }
    }

    /// Whether `distinct` is allowed (Django's `allow_distinct`).
    pub(crate) fn allows_distinct(self) -> bool {
        matches!(
            self,
            AggFunc::Count | AggFunc::Sum | AggFunc::Avg | AggFunc::Min | AggFunc::Max
        )
    }
}

/// An aggregate over the rows of a group: build it with [`Count`], [`Sum`], [`Avg`],
/// [`Min`], [`Max`], [`StdDev`] or [`Variance`], then pass it to `annotate()` or
/// `aggregate()`.
///
/// ```
/// use quarry::{q, Count, Sum, Expr};
/// let books = Count("book").distinct().filter(q!(book__rating__gt = 3));
/// assert!(books.distinct);
/// let total: Expr = Sum("pages").default(0).into();
/// assert!(total.contains_aggregate());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    /// The function.
    pub func: AggFunc,
    /// What it aggregates; `None` is `COUNT(*)`.
    pub arg: Option<Expr>,
    /// Only distinct values (`COUNT(DISTINCT ...)`).
    pub distinct: bool,
    /// Only the rows matching this condition (`FILTER (WHERE ...)`).
    pub filter: Option<Q>,
    /// The value when there is no row to aggregate (`COALESCE(agg, default)`).
    pub default: Option<Expr>,
    /// The output type, when the argument's does not decide it.
    pub output: Option<FieldKind>,
}

impl Aggregate {
    fn new(func: AggFunc, arg: impl ExprArg) -> Aggregate {
        let arg = match arg.into_expr() {
            Expr::Field(f) if f == "*" => None,
            e => Some(e),
        };
        Aggregate {
            func,
            arg,
            distinct: false,
            filter: None,
            default: None,
            output: None,
        }
    }

    /// Aggregates distinct values only (`Count("x", distinct=True)`).
    pub fn distinct(mut self) -> Self {
        self.distinct = true;
        self
    }

    /// Aggregates only the rows matching `q` (`Count("x", filter=Q(...))`).
    pub fn filter(mut self, q: super::Q) -> Self {
        self.filter = Some(q);
        self
    }

    /// The result when no row is aggregated, instead of NULL (`Sum("x", default=0)`).
    /// `Count` never needs one: it returns 0.
    pub fn default(mut self, value: impl ExprArg) -> Self {
        self.default = Some(value.into_expr());
        self
    }

    /// Sets the output type (`output_field=`).
    pub fn output_field(mut self, kind: FieldKind) -> Self {
        self.output = Some(kind);
        self
    }

    /// The aggregate under Django's default alias, `<field>__<function>`
    /// (`Avg("age")` is `age__avg`), for `annotate()` and `aggregate()` calls written as
    /// Django's positional ones. An aggregate of anything but a field has no default
    /// alias: the name is empty and the call fails with "Complex aggregates require an
    /// alias."
    ///
    /// ```
    /// use quarry::{Avg, Count};
    /// assert_eq!(Avg("authors__age").aliased().0, "authors__age__avg");
    /// assert_eq!(Count("*").aliased().0, "");
    /// ```
    pub fn aliased(self) -> (String, Expr) {
        let name = match &self.arg {
            Some(Expr::Field(f)) => format!("{f}__{}", self.func.name().to_lowercase()),
            _ => String::new(),
        };
        (name, self.into())
    }
}

impl From<Aggregate> for Expr {
    fn from(a: Aggregate) -> Expr {
        Expr::Aggregate(Box::new(a))
    }
}

impl ExprArg for Aggregate {
    fn into_expr(self) -> Expr {
        self.into()
    }
}

macro_rules! constructors {
    ($($(#[$doc:meta])* $name:ident => $func:expr;)*) => {$(
        $(#[$doc])*
        #[allow(non_snake_case)]
        pub fn $name(arg: impl ExprArg) -> Aggregate {
            Aggregate::new($func, arg)
        }
    )*};
}

constructors! {
    /// `COUNT(arg)`: the number of non-NULL values; `Count("*")` counts rows.
    ///
    /// ```
    /// use quarry::Count;
    /// assert!(Count("*").arg.is_none());
    /// ```
    Count => AggFunc::Count;
    /// `SUM(arg)`: an integer for integer columns, a decimal for decimal ones.
    Sum => AggFunc::Sum;
    /// `AVG(arg)`: a float, or a decimal for a decimal column.
    Avg => AggFunc::Avg;
    /// `MIN(arg)`, of the argument's type.
    Min => AggFunc::Min;
    /// `MAX(arg)`, of the argument's type.
    Max => AggFunc::Max;
    /// The population standard deviation (`StdDev("x", sample=True)`: [`StdDevSample`]).
    StdDev => AggFunc::StdDev { sample: false };
    /// The sample standard deviation, Django's `StdDev(..., sample=True)`.
    StdDevSample => AggFunc::StdDev { sample: true };
    /// The population variance (`Variance("x", sample=True)`: [`VarianceSample`]).
    Variance => AggFunc::Variance { sample: false };
    /// The sample variance, Django's `Variance(..., sample=True)`.
    VarianceSample => AggFunc::Variance { sample: true };
}
