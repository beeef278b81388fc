//! Creating and dropping the tables of registered models, until migrations exist.
//!
//! Tests and the quickstart use it; the DDL comes from the same meta the compiler reads.

use crate::db::Executor;
use crate::error::Result;
use crate::model::{FieldKind, FieldMeta, ModelMeta};
use crate::sql::{Dialect, Vendor};

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
        let mut col = format!("{} {}", quoted(dialect, f.column), column_type(dialect, f));
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
        if let (Some(rel), Vendor::Sqlite) = (f.relation, dialect.vendor()) {
            if rel.db_constraint {
                // SQLite cannot add a constraint later: it goes inline, checked at COMMIT.
                let (_, target) = rel.target_field();
                col.push_str(&format!(
                    " REFERENCES {} ({}) DEFERRABLE INITIALLY DEFERRED",
                    quoted(dialect, rel.target().db_table),
                    quoted(dialect, target.column)
                ));
            }
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

/// The column type of a field; a relation's column takes the type of the field it
/// points at (an auto key becomes the plain integer of its size).
fn column_type(dialect: &dyn Dialect, f: &FieldMeta) -> String {
    let Some(rel) = f.relation else {
        return dialect.column_type(f);
    };
    let (_, target) = rel.target_field();
    let kind = match target.kind {
        FieldKind::AutoField => FieldKind::IntegerField,
        FieldKind::BigAutoField => FieldKind::BigIntegerField,
        FieldKind::SmallAutoField => FieldKind::SmallIntegerField,
        k => k,
    };
    let shaped = FieldMeta {
        kind,
        column: f.column,
        null: f.null,
        primary_key: false,
        unique: f.unique,
        ..*target
    };
    dialect.column_type(&shaped)
}

/// The `ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY` statements of `meta`'s relations
/// (PostgreSQL and MySQL; SQLite declares them inline in `CREATE TABLE`). Run them once
/// every table exists. PostgreSQL checks them at COMMIT, as Django declares them.
pub fn foreign_key_sql(meta: &ModelMeta, dialect: &dyn Dialect) -> Vec<String> {
    if dialect.vendor() == Vendor::Sqlite {
        return Vec::new();
    }
    let mut out = Vec::new();
    for f in meta.fields {
        let Some(rel) = f.relation.filter(|r| r.db_constraint) else {
            continue;
        };
        let target_meta = rel.target();
        let (_, target) = rel.target_field();
        let name = format!(
            "{}_fk",
            index_name(
                meta.db_table,
                &[f.column, target_meta.db_table, target.column]
            )
        );
        let deferred = if dialect.vendor() == Vendor::Postgres {
            " DEFERRABLE INITIALLY DEFERRED"
        } else {
            ""
        };
        out.push(format!(
            "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}){deferred}",
            quoted(dialect, meta.db_table),
            quoted(dialect, &name),
            quoted(dialect, f.column),
            quoted(dialect, target_meta.db_table),
            quoted(dialect, target.column)
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

/// Creates the tables of `models`, with their constraints and indexes, in one
/// transaction; foreign keys are added once every table exists, so the order of
/// `models` does not matter. The through tables of their `ManyToMany` fields (those
/// without `through = ...`) are created with them.
pub fn create_tables(ex: &(impl Executor + ?Sized), models: &[&'static ModelMeta]) -> Result<()> {
    let models = with_auto_through(models);
    ex.atomic_dyn(&mut |tx| {
        for meta in &models {
            for sql in create_table_sql(meta, tx.dialect()) {
                tx.execute(&sql, &[])?;
            }
        }
        for meta in &models {
            for sql in foreign_key_sql(meta, tx.dialect()) {
                tx.execute(&sql, &[])?;
            }
        }
        Ok(())
    })
}

/// `models`, followed by the through models quarry writes for their `ManyToMany` fields
/// (those without `through = ...`), each once, and preceded by `ContentType` when one
/// of them has a generic relation.
fn with_auto_through(models: &[&'static ModelMeta]) -> Vec<&'static ModelMeta> {
    let mut all: Vec<&'static ModelMeta> = models.to_vec();
    // Generic relations need the content types table, first.
    let ct = <crate::contenttypes::ContentType as crate::Model>::meta();
    let generic = models
        .iter()
        .any(|m| !m.generic_relations.is_empty() || !m.generic_foreign_keys.is_empty());
    if generic && !all.iter().any(|m| std::ptr::eq(*m, ct)) {
        all.insert(0, ct);
    }
    for meta in models {
        for m2m in meta.many_to_many {
            let through = m2m.through_model();
            if through.auto_created && !all.iter().any(|m| std::ptr::eq(*m, through)) {
                all.push(through);
            }
        }
    }
    all
}

/// Drops the tables of `models` (and the auto-created through tables of their
/// many-to-many fields) if they exist.
pub fn drop_tables(ex: &(impl Executor + ?Sized), models: &[&'static ModelMeta]) -> Result<()> {
    let models = with_auto_through(models);
    ex.atomic_dyn(&mut |tx| {
        let mysql = tx.dialect().vendor() == Vendor::Mysql;
        if mysql {
            // MySQL checks foreign keys at once: drop with the checks off (the same
            // connection runs the whole transaction).
            tx.execute("SET FOREIGN_KEY_CHECKS = 0", &[])?;
        }
        for meta in models.iter().rev() {
            // Foreign keys between the tables go with them.
            let cascade = if tx.dialect().vendor() == Vendor::Postgres {
                " CASCADE"
            } else {
                ""
            };
            let sql = format!(
                "DROP TABLE IF EXISTS {}{cascade}",
                quoted(tx.dialect(), meta.db_table)
            );
            tx.execute(&sql, &[])?;
        }
        if mysql {
            tx.execute("SET FOREIGN_KEY_CHECKS = 1", &[])?;
        }
        // Ids cached from a dropped content types table are gone with it.
        let ct = <crate::contenttypes::ContentType as crate::Model>::meta();
        if models.iter().any(|m| std::ptr::eq(*m, ct)) {
            crate::contenttypes::ContentType::clear_cache(tx);
        }
        Ok(())
    })
}
