//! SQL generation: the compiler and one dialect per database.

pub(crate) mod cache;
mod recipe;
pub mod compiler;
mod dialect;
mod expressions;
mod joins;
mod mysql;
mod postgres;
mod sqlite;

pub use dialect::{Dialect, Vendor};
pub use mysql::MysqlDialect;
pub use postgres::PostgresDialect;
pub use sqlite::SqliteDialect;
