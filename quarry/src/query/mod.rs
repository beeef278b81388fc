//! Queries: `Q` conditions, expressions, the Query AST, lookups, and the `QuerySet` API.

pub mod ast;
mod expr;
pub mod lookup;
pub mod prefetch;
mod q;
mod queryset;
mod rows;

pub use ast::{OrderBy, Query, SelectRelated};
pub use expr::{ArithOp, Expr, F};
pub use prefetch::Prefetch;
pub use q::Q;
pub(crate) use queryset::{insert_batch, read_column, read_key};
pub use queryset::{BulkCreate, ChunkedIter, QuerySet};
pub use rows::{FromQueryRow, RowShape, ValuesRow};
