//! SQL generation: the compiler and one dialect per database.

pub mod compiler;
mod dialect;
mod sqlite;

pub use dialect::{Dialect, Vendor};
pub use sqlite::SqliteDialect;
