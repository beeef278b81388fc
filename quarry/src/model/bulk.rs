//! Writes over many instances: `bulk_create`, `bulk_update`, and building an object from
//! a lookup for `get_or_create`.

use super::instance::pre_save;
use super::Model;
use crate::db::Executor;
use crate::error::{Error, Result};
use crate::query::{insert_batch, BulkCreate, Q};
use crate::sql::compiler;
use crate::value::Value;
use crate::Expr;

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

pub(crate) fn bulk_insert<M: Model>(
    ex: &dyn Executor,
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
    let (with_pk, without_pk): (Vec<usize>, Vec<usize>) =
        (0..objs.len()).partition(|&i| objs[i].state().pk_is_set() || !pk_auto);
    for (indexes, include_pk) in [(with_pk, true), (without_pk, false)] {
        if indexes.is_empty() {
            continue;
        }
        let fields: Vec<usize> = (0..meta.fields.len())
            .filter(|&i| include_pk || i != meta.pk)
            .collect();
        let per_row = fields.len().max(1);
        let max_rows = (dialect.max_params() / per_row).max(1);
        let batch = options.batch_size.map_or(max_rows, |b| b.min(max_rows));
        let returning = !include_pk && dialect.supports_returning() && !options.ignore_conflicts;
        for chunk in byte_bounded_chunks(
            objs,
            &indexes,
            &fields,
            batch,
            dialect.max_statement_bytes(),
        ) {
            if fields.is_empty() {
                for &i in chunk {
                    let ids = insert_batch::<M>(
                        ex,
                        &fields,
                        vec![vec![]],
                        returning,
                        options.ignore_conflicts,
                    )?;
                    if let Some(id) = ids.into_iter().next() {
                        objs[i].set_field_value(meta.pk, id)?;
                        objs[i].state_mut().mark_saved();
                    }
                }
                continue;
            }
            let rows: Vec<Vec<Value>> = chunk
                .iter()
                .map(|&i| fields.iter().map(|&f| objs[i].field_value(f)).collect())
                .collect();
            let ids = insert_batch::<M>(ex, &fields, rows, returning, options.ignore_conflicts)?;
            if returning {
                if ids.len() != chunk.len() {
                    return Err(Error::Database {
                        message: format!(
                            "INSERT ... RETURNING gave {} keys for {} rows",
                            ids.len(),
                            chunk.len()
                        ),
                        sql_state: None,
                        sql: None,
                    });
                }
                for (&i, id) in chunk.iter().zip(ids) {
                    objs[i].set_field_value(meta.pk, id)?;
                    objs[i].state_mut().mark_saved();
                }
            } else {
                for &i in chunk {
                    if include_pk {
                        objs[i].state_mut().mark_saved();
                    } else {
                        // Keys unknown (conflicts ignored): the row exists, the key is unset.
                        *objs[i].state_mut() = super::ModelState::new();
                    }
                }
            }
        }
    }
    Ok(())
}

/// Rough size of a bound value on the wire.
fn wire_size(v: &Value) -> usize {
    match v {
        Value::Text(s) => s.len() + 8,
        Value::Bytes(b) => b.len() + 8,
        Value::Json(j) => j.to_string().len() + 8,
        _ => 16,
    }
}

/// Splits `indexes` into batches of at most `batch` rows whose values stay under
/// `max_bytes` (MySQL's `max_allowed_packet`), always at least one row per batch.
fn byte_bounded_chunks<'a, M: Model>(
    objs: &[M],
    indexes: &'a [usize],
    fields: &[usize],
    batch: usize,
    max_bytes: Option<usize>,
) -> Vec<&'a [usize]> {
    let Some(max_bytes) = max_bytes else {
        return indexes.chunks(batch).collect();
    };
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (n, &i) in indexes.iter().enumerate() {
        let row: usize = fields
            .iter()
            .map(|&f| wire_size(&objs[i].field_value(f)))
            .sum();
        if n > start && (n - start >= batch || bytes + row > max_bytes) {
            out.push(&indexes[start..n]);
            start = n;
            bytes = 0;
        }
        bytes += row;
    }
    if start < indexes.len() {
        out.push(&indexes[start..]);
    }
    out
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
