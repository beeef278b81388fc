//! Queries: `Q` conditions, expressions, the Query AST, lookups, and the `QuerySet` API.

mod aggregates;
pub mod ast;
mod conditional;
mod expr;
pub mod functions;
pub mod lookup;
pub mod prefetch;
mod q;
mod queryset;
mod rows;
mod subquery;
pub mod window;

pub use aggregates::{
    AggFunc, Aggregate, Avg, Count, Max, Min, StdDev, StdDevSample, Sum, Variance, VarianceSample,
};
pub use ast::{Annotation, Combined, Grouping, Loading, SetOp};
pub use ast::{Name, Nulls, OrderBy, Query, SelectRelated};
pub use conditional::{Case, When};
pub use expr::{ArithOp, Expr, ExprArg, RawSQL, F};
pub use functions::{Coalesce, Func, Function};
pub use prefetch::Prefetch;
pub use q::Q;
pub(crate) use queryset::{insert_batch, read_column, read_pk};
pub use queryset::{BulkCreate, ChunkedIter, QuerySet};
pub use rows::{FromQueryRow, RowShape, ValuesRow, ValuesTuple};
pub use subquery::{Exists, OuterRef, OuterRefTarget, Subquery, SubqueryExpr};
