//! Creating and dropping the tables of registered models, until migrations exist.
//!
//! Tests and the quickstart use it; the DDL comes from the same meta the compiler reads.

use crate::db::Executor;
use crate::error::Result;
use crate::model::ModelMeta;
use crate::sql::Dialect;

fn quoted(d: &dyn Dialect, ident: &str) -> String {
    let mut s = String::new();
    d.quote(&mut s, ident);
    s
}

/// The statements that create `meta`'s table, its unique constraints and its indexes.
///
/// ```
/// use quarry::prelude::*;
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "docs", db_table = "docs_pen")]
/// struct Pen {
///     #[field(primary_key)]
///     id: i64,
///     #[field(max_length = 10, unique)]
///     code: String,
///     _state: ModelState,
/// }
///
/// let sql = quarry::schema::create_table_sql(Pen::meta(), &quarry::sql::SqliteDialect);
/// assert_eq!(sql[0], "CREATE TABLE \"docs_pen\" (\"id\" integer NOT NULL PRIMARY KEY AUTOINCREMENT, \
///     \"code\" varchar(10) NOT NULL UNIQUE)");
/// ```
pub fn create_table_sql(meta: &ModelMeta, dialect: &dyn Dialect) -> Vec<String> {
    let mut cols = Vec::new();
    for f in meta.fields {
        let mut col = format!("{} {}", quoted(dialect, f.column), dialect.column_type(f));
        col.push_str(if f.null { " NULL" } else { " NOT NULL" });
        if f.primary_key {
            col.push_str(" PRIMARY KEY");
            if f.is_auto() {
                col.push(' ');
                col.push_str(dialect.auto_increment_clause());
            }
        } else if f.unique {
            col.push_str(" UNIQUE");
        }
        cols.push(col);
    }
    for together in meta.unique_together {
        let columns: Vec<String> = together
            .iter()
            .filter_map(|name| meta.field(name))
            .map(|(_, f)| quoted(dialect, f.column))
            .collect();
        cols.push(format!("UNIQUE ({})", columns.join(", ")));
    }
    let mut out = vec![format!(
        "CREATE TABLE {} ({})",
        quoted(dialect, meta.db_table),
        cols.join(", ")
    )];
    for f in meta
        .fields
        .iter()
        .filter(|f| f.db_index && !f.unique && !f.primary_key)
    {
        out.push(format!(
            "CREATE INDEX {} ON {} ({})",
            quoted(dialect, &index_name(meta.db_table, &[f.column])),
            quoted(dialect, meta.db_table),
            quoted(dialect, f.column)
        ));
    }
    for index in meta.indexes {
        let mut columns = Vec::new();
        let mut names = Vec::new();
        for spec in index.fields {
            let (name, desc) = match spec.strip_prefix('-') {
                Some(n) => (n, " DESC"),
                None => (*spec, ""),
            };
            if let Some((_, f)) = meta.field(name) {
                columns.push(format!("{}{desc}", quoted(dialect, f.column)));
                names.push(f.column);
            }
        }
        let name = if index.name.is_empty() {
            index_name(meta.db_table, &names)
        } else {
            index.name.to_owned()
        };
        out.push(format!(
            "CREATE INDEX {} ON {} ({})",
            quoted(dialect, &name),
            quoted(dialect, meta.db_table),
            columns.join(", ")
        ));
    }
    out
}

/// An index name from the table and columns, with a short hash so it stays unique and
/// within identifier limits, as Django's `_create_index_name` does.
fn index_name(table: &str, columns: &[&str]) -> String {
    let mut h: u32 = 0x811c9dc5;
    for b in table.bytes().chain(columns.iter().flat_map(|c| c.bytes())) {
        h = (h ^ b as u32).wrapping_mul(0x01000193);
    }
    let base: String = format!("{}_{}", table, columns.join("_"))
        .chars()
        .take(50)
        .collect();
    format!("{base}_{h:08x}")
}

/// Creates the tables of `models`, with their constraints and indexes, in one transaction.
pub fn create_tables(ex: &(impl Executor + ?Sized), models: &[&ModelMeta]) -> Result<()> {
    ex.atomic_dyn(&mut |tx| {
        for meta in models {
            for sql in create_table_sql(meta, tx.dialect()) {
                tx.execute(&sql, &[])?;
            }
        }
        Ok(())
    })
}

/// Drops the tables of `models` if they exist.
pub fn drop_tables(ex: &(impl Executor + ?Sized), models: &[&ModelMeta]) -> Result<()> {
    ex.atomic_dyn(&mut |tx| {
        for meta in models.iter().rev() {
            let sql = format!(
                "DROP TABLE IF EXISTS {}",
                quoted(tx.dialect(), meta.db_table)
            );
            tx.execute(&sql, &[])?;
        }
        Ok(())
    })
}
