//! Writes over many instances: `bulk_create`, `bulk_update`, and building an object from
//! a lookup for `get_or_create`.

use super::instance::pre_save;
use super::Model;
use crate::db::{Executor, ExecutorRef};
use crate::error::{Error, Result};
use crate::query::{insert_batch, BulkCreate, Q};
use crate::sql::compiler;
use crate::value::{Param, Value};
use crate::Expr;
use smallvec::SmallVec;

/// Builds a new object from a lookup's exact conditions and `defaults`, Django's
/// `get_or_create` parameters.
pub(crate) fn object_from_lookup<M: Model>(
    lookup: &Q,
    defaults: impl IntoIterator<Item = (&'static str, Value)>,
) -> Result<M> {
    let mut pairs: Vec<(String, Value)> = Vec::new();
    for (field, expr) in lookup.exact_pairs() {
        let field = if field == "pk" {
            M::meta().pk_field().name
        } else {
            field
        };
        match expr {
            Expr::Value(v) => pairs.push((field.to_owned(), v.clone())),
            _ => continue,
        }
    }
    for (name, v) in defaults {
        pairs.retain(|(n, _)| n != name);
        pairs.push((name.to_owned(), v));
    }
    M::from_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.clone())))
}

/// A model's field indexes, inline for models of up to 16 fields.
type FieldList = SmallVec<[usize; 16]>;

/// One INSERT of a `bulk_create`: which objects, and whether their keys are written.
struct InsertBatch<'a> {
    objects: &'a [usize],
    include_pk: bool,
}

/// Inserts `objs`, setting their keys where the database returns them. One statement runs
/// as it is (a statement is atomic); several run inside one transaction, as Django's
/// `bulk_create` does.
pub(crate) fn bulk_insert<M: Model>(
    ex: &(impl Executor + ?Sized),
    objs: &mut [M],
    options: &BulkCreate,
) -> Result<()> {
    let meta = M::meta();
    let dialect = ex.dialect();
    let pk_auto = meta.pk_field().is_auto();
    for obj in objs.iter_mut() {
        let adding = obj.state().adding();
        pre_save(obj, adding)?;
    }
    // Objects with a primary key and objects without one are inserted separately, as Django does.
    let (mut with_pk, mut without_pk) = (Vec::new(), Vec::with_capacity(objs.len()));
    for (i, obj) in objs.iter().enumerate() {
        if obj.state().pk_is_set() || !pk_auto {
            with_pk.push(i);
        } else {
            without_pk.push(i);
        }
    }
    // The field lists (up to 16 fields) and a one-statement plan fit inline: a call
    // allocates for neither.
    let all_fields: FieldList = (0..meta.fields.len()).collect();
    let no_pk_fields: FieldList = all_fields
        .iter()
        .copied()
        .filter(|&i| i != meta.pk)
        .collect();
    let mut plan: SmallVec<[InsertBatch<'_>; 1]> = SmallVec::new();
    for (indexes, include_pk) in [(&with_pk, true), (&without_pk, false)] {
        let fields = if include_pk {
            &all_fields
        } else {
            &no_pk_fields
        };
        if fields.is_empty() {
            // `INSERT ... DEFAULT VALUES` writes one row per statement.
            plan.extend(indexes.chunks(1).map(|objects| InsertBatch {
                objects,
                include_pk,
            }));
            continue;
        }
        let max_rows = (dialect.max_params() / fields.len()).max(1);
        let batch = options.batch_size.map_or(max_rows, |b| b.min(max_rows));
        plan.extend(
            byte_bounded_chunks(objs, indexes, fields, batch, dialect.max_statement_bytes()).map(
                |objects| InsertBatch {
                    objects,
                    include_pk,
                },
            ),
        );
    }
    let mut run = |ex: &dyn Executor| -> Result<()> {
        for b in &plan {
            let fields = if b.include_pk {
                &all_fields
            } else {
                &no_pk_fields
            };
            insert_one_batch(ex, objs, b, fields, options)?;
        }
        Ok(())
    };
    if plan.len() == 1 {
        run(&ExecutorRef(ex))
    } else {
        ex.atomic_dyn(&mut run)
    }
}

fn insert_one_batch<M: Model>(
    ex: &dyn Executor,
    objs: &mut [M],
    batch: &InsertBatch<'_>,
    fields: &[usize],
    options: &BulkCreate,
) -> Result<()> {
    let returning =
        !batch.include_pk && ex.dialect().supports_returning() && !options.ignore_conflicts;
    // Each field is bound where it lives: text and bytes are not copied.
    let ids = {
        let mut params = Vec::with_capacity(batch.objects.len() * fields.len());
        for &i in batch.objects {
            params.extend(fields.iter().map(|&f| objs[i].field_param(f)));
        }
        let ids = insert_batch::<M>(
            ex,
            fields,
            batch.objects.len(),
            &params,
            returning,
            options.ignore_conflicts,
        );
        // Most parameters borrow: only the owned ones have anything to drop, and the
        // check is inline instead of a call to the drop glue per parameter.
        for p in params {
            if let Param::Owned(v) = p {
                drop(v);
            }
        }
        ids
    };
    let ids = ids?;
    if returning {
        if ids.len() != batch.objects.len() {
            return Err(Error::Database {
                message: format!(
                    "INSERT ... RETURNING gave {} keys for {} rows",
                    ids.len(),
                    batch.objects.len()
                ),
                sql_state: None,
                sql: None,
            });
        }
        for (&i, id) in batch.objects.iter().zip(ids) {
            objs[i].set_pk(id)?;
            objs[i].state_mut().mark_saved();
        }
    } else {
        for &i in batch.objects {
            if batch.include_pk {
                objs[i].state_mut().mark_saved();
            } else {
                // Keys unknown (conflicts ignored): the row exists, the key is unset.
                *objs[i].state_mut() = super::ModelState::new();
            }
        }
    }
    Ok(())
}

/// Rough size of a bound value on the wire.
fn wire_size(p: &Param<'_>) -> usize {
    match p {
        Param::Text(s) => s.len() + 8,
        Param::Bytes(b) => b.len() + 8,
        Param::Value(v) => value_wire_size(v),
        Param::Owned(v) => value_wire_size(v),
    }
}

fn value_wire_size(v: &Value) -> usize {
    match v {
        Value::Text(s) => s.len() + 8,
        Value::Bytes(b) => b.len() + 8,
        Value::Json(j) => j.to_string().len() + 8,
        _ => 16,
    }
}

/// Splits `indexes` into batches of at most `batch` rows whose values stay under
/// `max_bytes` (MySQL's `max_allowed_packet`), always at least one row per batch.
fn byte_bounded_chunks<'a, 'o, M: Model>(
    objs: &'o [M],
    indexes: &'a [usize],
    fields: &'o [usize],
    batch: usize,
    max_bytes: Option<usize>,
) -> impl Iterator<Item = &'a [usize]> + 'o
where
    'a: 'o,
{
    let (mut start, mut next) = (0, 0);
    std::iter::from_fn(move || {
        if start >= indexes.len() {
            return None;
        }
        let Some(max_bytes) = max_bytes else {
            let end = (start + batch).min(indexes.len());
            let chunk = &indexes[start..end];
            start = end;
            return Some(chunk);
        };
        let mut bytes = 0;
        while next < indexes.len() {
            let mut row = 0;
            for &f in fields {
                // Measured in place, not copied (a copy of every text was a tenth of a
                // ten-row insert on MariaDB).
                row += wire_size(&objs[indexes[next]].field_param(f));
            }
            if next > start && (next - start >= batch || bytes + row > max_bytes) {
                break;
            }
            bytes += row;
            next += 1;
        }
        let chunk = &indexes[start..next];
        start = next;
        Some(chunk)
    })
}

pub(crate) fn bulk_update<M: Model>(
    ex: &(impl Executor + ?Sized),
    objs: &[M],
    fields: &[&str],
    batch_size: Option<usize>,
) -> Result<u64> {
    let meta = M::meta();
    if batch_size == Some(0) {
        return Err(Error::invalid("Batch size must be a positive integer."));
    }
    if fields.is_empty() {
        return Err(Error::invalid(
            "Field names must be given to bulk_update().",
        ));
    }
    let mut idx = Vec::new();
    for name in fields {
        let (i, f) = meta.field_or_error(name)?;
        if f.primary_key {
            return Err(Error::invalid(
                "bulk_update() cannot be used with primary key fields.",
            ));
        }
        idx.push(i);
    }
    if objs.is_empty() {
        return Ok(0);
    }
    if objs.iter().any(|o| !o.state().pk_is_set()) {
        return Err(Error::invalid(
            "All bulk_update() objects must have a primary key set.",
        ));
    }
    let dialect = ex.dialect();
    // Each object binds its pk twice per field plus a value per field, and once in the IN list.
    let per_obj = idx.len() * 2 + 1;
    let max = (dialect.max_params() / per_obj).max(1);
    let batch = batch_size.map_or(max, |b| b.min(max));
    let mut total = 0;
    let mut run = |tx: &dyn Executor| -> Result<()> {
        for chunk in objs.chunks(batch) {
            let rows: Vec<(Value, Vec<Value>)> = chunk
                .iter()
                .map(|o| (o.pk(), idx.iter().map(|&i| o.field_value(i)).collect()))
                .collect();
            let c = compiler::bulk_update(meta, &idx, rows, tx.dialect())?;
            total += tx.execute(&c.sql, &c.params)?;
        }
        Ok(())
    };
    ex.atomic_dyn(&mut run)?;
    Ok(total)
}
