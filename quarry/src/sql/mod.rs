//! SQL generation: the compiler and one dialect per database.

pub(crate) mod cache;
pub mod compiler;
mod dialect;
mod expressions;
mod joins;
mod mysql;
mod postgres;
mod recipe;
mod sqlite;

pub use dialect::{Dialect, Vendor};
pub use mysql::MysqlDialect;
pub use postgres::PostgresDialect;
pub use sqlite::SqliteDialect;
