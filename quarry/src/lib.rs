//! # quarry: the Django ORM, done right in Rust
//!
//! Models, managers, QuerySets, `__` lookups and `Q` objects as a Django developer knows
//! them, with Rust's types. SQLite is built in; PostgreSQL and MySQL/MariaDB arrive as
//! cargo features.
//!
//! ```
//! use quarry::prelude::*;
//!
//! #[derive(Model, Debug, Clone)]
//! #[model(app_label = "shop", ordering = ["-pages", "name"])]
//! pub struct Book {
//!     #[field(primary_key)]
//!     pub id: i64,
//!     #[field(max_length = 255, db_index)]
//!     pub name: String,
//!     pub pages: i32,
//!     pub pubdate: Option<chrono::NaiveDate>,
//!     pub _state: ModelState,
//! }
//!
//! let db = Database::connect("sqlite::memory:")?;
//! quarry::schema::create_tables(&db, &[Book::meta()])?;
//! for (name, pages) in [("Dune", 412), ("Emma", 474), ("Ubik", 202)] {
//!     Book::objects().create(&db, Book {
//!         id: 0, name: name.into(), pages, pubdate: None, _state: ModelState::new(),
//!     })?;
//! }
//! let long: Vec<Book> = Book::objects()
//!     .filter(q!(pages__gt = 300) | q!(name__startswith = "U"))
//!     .all(&db)?;
//! assert_eq!(long.iter().map(|b| b.name.as_str()).collect::<Vec<_>>(), ["Emma", "Dune", "Ubik"]);
//! assert!(matches!(
//!     Book::objects().get(&db, q!(name = "Nope")),
//!     Err(Error::DoesNotExist { model: "Book" })
//! ));
//! # Ok::<(), quarry::Error>(())
//! ```
#![warn(missing_docs)]

// The derive writes `::quarry::...` paths; this lets quarry derive its own models.
extern crate self as quarry;

pub mod contenttypes;
pub mod db;
mod error;
pub mod model;
pub mod query;
pub mod schema;
pub mod sql;
pub mod testing;
mod value;

pub use db::{Database, Executor, PoolOptions, Row, Transaction};
pub use error::{Error, IntegrityKind, Result, ValidationErrors};
pub use model::registry;
pub use model::{
    Deleted, FieldKind, FieldMeta, ForeignKey, IndexMeta, ManyRelatedManager, ManyToMany,
    ManyToManyLink, ManyToManyMeta, Model, ModelMeta, ModelState, OnDelete, OneToOneField,
    RelatedManager, Relation, RelationKind, ReverseRelation, SaveOptions, TargetRef, Validator,
    NON_FIELD_ERRORS,
};
pub use quarry_macros::{Choices, Model};
pub use query::functions;
pub use query::prefetch::prefetch_related_objects;
pub use query::window;
pub use query::{
    Avg, BulkCreate, Case, Coalesce, Count, Exists, Expr, ExprArg, Func, Max, Min, OuterRef,
    Prefetch, QuerySet, RawSQL, StdDev, StdDevSample, Subquery, Sum, ValuesRow, Variance,
    VarianceSample, When, F, Q,
};
pub use value::{FieldValue, Json, Param, Value};

#[doc(hidden)]
pub mod __private {
    pub use inventory;
}

/// What most programs need: `use quarry::prelude::*;`.
pub mod prelude {
    pub use crate::{
        q, Avg, BulkCreate, Case, Choices, Coalesce, Count, Database, Error, Executor, Expr,
        ExprArg, FieldValue, ForeignKey, Func, ManyToMany, Max, Min, Model, ModelState, OnDelete,
        OneToOneField, Prefetch, QuerySet, SaveOptions, StdDev, Sum, Value, ValuesRow, Variance,
        When, F, Q,
    };
    pub use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
    pub use rust_decimal::Decimal;
}

pub use chrono;
pub use rust_decimal;
pub use serde_json;
pub use uuid;

#[cfg(doctest)]
mod doc_pages {
    #[doc = include_str!("../../docs/models.md")]
    struct Models;
    #[doc = include_str!("../../docs/queries.md")]
    struct Queries;
    #[doc = include_str!("../../docs/lookups.md")]
    struct Lookups;
    #[doc = include_str!("../../docs/relations.md")]
    struct Relations;
    #[doc = include_str!("../../docs/aggregation.md")]
    struct Aggregation;
    #[doc = include_str!("../../docs/differences.md")]
    struct Differences;
    #[doc = include_str!("../../README.md")]
    struct Readme;
}
