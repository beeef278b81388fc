//! The delete collector, Django's `Collector`: finds every row a delete reaches through
//! `on_delete`, refuses it when PROTECT or RESTRICT keys point at the rows, and deletes
//! in one transaction, rows that point at others first.
//!
//! It works on primary keys only (quarry has no delete signals yet, so no object needs
//! to be loaded): a relation whose model nothing else points at is deleted with one
//! `DELETE ... WHERE key IN (...)` per batch (Django's fast delete); others are read
//! (`SELECT pk`) so that their own relations can be followed.

use super::instance::Deleted;
use super::meta::ModelMeta;
use super::relation::{OnDelete, ReverseRelation};
use crate::db::Executor;
use crate::error::{Error, Result};
use crate::query::ast::{Filter, Query, Selection};
use crate::query::{read_column, Expr, Q};
use crate::sql::compiler;
use crate::value::{key_of, Value, ValueKey};
use std::collections::HashSet;

/// Deletes the rows `query` matches and everything that cascades from them.
pub(crate) fn delete_query(ex: &dyn Executor, query: &Query) -> Result<Deleted> {
    let meta = query.model;
    if can_fast_delete(meta) {
        let c = compiler::delete(query, ex.dialect())?;
        let n = ex.execute(&c.sql, &c.params)?;
        return Ok(Deleted::one_model(meta, n));
    }
    let mut out = Deleted::default();
    ex.atomic_dyn(&mut |tx| {
        let pks = select_values(tx, query, meta.pk_field().name)?;
        out = run(tx, meta, pks)?;
        Ok(())
    })?;
    Ok(out)
}

/// Deletes the row with primary key `pk` and everything that cascades from it.
pub(crate) fn delete_pk(ex: &dyn Executor, meta: &'static ModelMeta, pk: Value) -> Result<Deleted> {
    if can_fast_delete(meta) {
        let mut query = Query::new(meta);
        query.filters.push(Filter {
            q: Q::lookup("pk", pk),
            negated: false,
        });
        let c = compiler::delete(&query, ex.dialect())?;
        let n = ex.execute(&c.sql, &c.params)?;
        return Ok(Deleted::one_model(meta, n));
    }
    let mut out = Deleted::default();
    ex.atomic_dyn(&mut |tx| {
        out = run(tx, meta, vec![pk.clone()])?;
        Ok(())
    })?;
    Ok(out)
}

/// A model can be deleted without reading its rows when nothing follows from them:
/// every relation pointing at it is DO_NOTHING.
fn can_fast_delete(meta: &'static ModelMeta) -> bool {
    meta.generic_relations.is_empty()
        && meta
            .related_objects()
            .iter()
            .all(|r| matches!(r.relation.on_delete, OnDelete::DoNothing))
}

fn run(ex: &dyn Executor, meta: &'static ModelMeta, pks: Vec<Value>) -> Result<Deleted> {
    let mut c = Collector {
        ex,
        data: Vec::new(),
        seen: HashSet::new(),
        fast: Vec::new(),
        updates: Vec::new(),
        restricted: Vec::new(),
    };
    if let Err(Blocked::Protected(objects)) = c.collect(meta, pks)? {
        return Err(protected_error(meta, objects));
    }
    c.check_restricted(meta)?;
    c.execute()
}

/// Rows that refuse the delete, by the key that reached them (`'A.protect'`).
type Refusals = Vec<(String, Vec<(String, Value)>)>;

enum Blocked {
    Protected(Refusals),
}

struct Collector<'e> {
    ex: &'e dyn Executor,
    /// Rows to delete, per model, in the order found (rows pointed at first).
    data: Vec<(&'static ModelMeta, Vec<Value>)>,
    seen: HashSet<(usize, ValueKey)>,
    /// Relations deleted without reading them: `(model, key field, keys)`.
    fast: Vec<(&'static ModelMeta, &'static str, Vec<Value>)>,
    /// `UPDATE model SET field = value WHERE field IN keys` (SET_NULL, SET_DEFAULT, SET).
    updates: Vec<(&'static ReverseRelation, Value, Vec<Value>)>,
    /// RESTRICT rows, checked once everything is collected.
    restricted: Vec<(&'static ReverseRelation, Vec<Value>)>,
}

fn model_key(meta: &'static ModelMeta) -> usize {
    meta as *const ModelMeta as usize
}

fn key_name(rel: &ReverseRelation) -> String {
    format!("'{}.{}'", rel.model.name, rel.field.name)
}

impl Collector<'_> {
    /// Adds `pks` of `meta` and follows every relation pointing at them.
    fn collect(
        &mut self,
        meta: &'static ModelMeta,
        pks: Vec<Value>,
    ) -> Result<std::result::Result<(), Blocked>> {
        let new: Vec<Value> = pks
            .into_iter()
            .filter(|v| key_of(v).is_some_and(|k| self.seen.insert((model_key(meta), k))))
            .collect();
        if new.is_empty() {
            return Ok(Ok(()));
        }
        self.data.push((meta, new.clone()));
        let mut protected: Refusals = Vec::new();
        for &rel in meta.related_objects() {
            if matches!(rel.relation.on_delete, OnDelete::DoNothing) {
                continue;
            }
            let keys = self.keys_for(meta, rel, &new)?;
            if keys.is_empty() {
                continue;
            }
            match rel.relation.on_delete {
                OnDelete::DoNothing => {}
                OnDelete::Cascade if can_fast_delete(rel.model) => {
                    self.fast.push((rel.model, rel.field.name, keys));
                }
                OnDelete::Cascade => {
                    let children = self.pointing(rel, &keys)?;
                    if let Err(Blocked::Protected(inner)) = self.collect(rel.model, children)? {
                        let objects = inner.into_iter().flat_map(|(_, o)| o).collect();
                        add_refusal(&mut protected, key_name(rel), objects);
                    }
                }
                OnDelete::Protect => {
                    let children = self.pointing(rel, &keys)?;
                    if !children.is_empty() {
                        let label = rel.model.label();
                        let objects = children.into_iter().map(|pk| (label.clone(), pk)).collect();
                        add_refusal(&mut protected, key_name(rel), objects);
                    }
                }
                OnDelete::Restrict => {
                    let children = self.pointing(rel, &keys)?;
                    if !children.is_empty() {
                        self.restricted.push((rel, children));
                    }
                }
                OnDelete::SetNull => self.updates.push((rel, Value::Null, keys)),
                OnDelete::SetDefault => {
                    let value = rel.field.default_value().ok_or_else(|| {
                        Error::invalid(format!(
                            "{}.{} is on_delete = SetDefault but has no default",
                            rel.model.name, rel.field.name
                        ))
                    })?;
                    self.updates.push((rel, value, keys));
                }
                OnDelete::Set(f) => self.updates.push((rel, f(), keys)),
            }
        }
        // A generic relation deletes the rows whose generic key points here, as
        // Django's `GenericRelation` does.
        for g in meta.generic_relations {
            let children = self.generic_pointing(meta, g, &new)?;
            if children.is_empty() {
                continue;
            }
            if let Err(Blocked::Protected(inner)) = self.collect(g.target(), children)? {
                let objects = inner.into_iter().flat_map(|(_, o)| o).collect();
                add_refusal(
                    &mut protected,
                    format!("'{}.{}'", meta.name, g.name),
                    objects,
                );
            }
        }
        if protected.is_empty() {
            Ok(Ok(()))
        } else {
            Ok(Err(Blocked::Protected(protected)))
        }
    }

    /// The primary keys of the rows whose generic key (of relation `g`) points at rows
    /// `pks` of `meta`.
    fn generic_pointing(
        &self,
        meta: &'static ModelMeta,
        g: &crate::contenttypes::GenericRelationMeta,
        pks: &[Value],
    ) -> Result<Vec<Value>> {
        let target = g.target();
        let ct = g.content_type_field;
        let mut out = Vec::new();
        for chunk in pks.chunks(self.batch()) {
            let mut q = in_query(target, g.object_id_field, chunk);
            q.filters.push(Filter {
                q: Q::lookup(format!("{ct}__app_label"), meta.app_label)
                    & Q::lookup(format!("{ct}__model"), meta.name.to_lowercase()),
                negated: false,
            });
            out.extend(select_values(self.ex, &q, target.pk_field().name)?);
        }
        Ok(out)
    }

    /// The values of the field `rel` points at, for rows `pks` of `meta` (the keys
    /// themselves when it points at the primary key).
    fn keys_for(
        &self,
        meta: &'static ModelMeta,
        rel: &ReverseRelation,
        pks: &[Value],
    ) -> Result<Vec<Value>> {
        let (index, field) = rel.relation.target_field();
        if index == meta.pk {
            return Ok(pks.to_vec());
        }
        let mut out = Vec::new();
        for chunk in pks.chunks(self.batch()) {
            let mut q = Query::new(meta);
            q.filters.push(Filter {
                q: Q::lookup("pk__in", Value::List(chunk.to_vec())),
                negated: false,
            });
            out.extend(select_values(self.ex, &q, field.name)?);
        }
        Ok(out.into_iter().filter(|v| !v.is_null()).collect())
    }

    /// The primary keys of `rel.model` rows whose key is in `keys`.
    fn pointing(&self, rel: &ReverseRelation, keys: &[Value]) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        for chunk in keys.chunks(self.batch()) {
            let q = in_query(rel.model, rel.field.name, chunk);
            out.extend(select_values(self.ex, &q, rel.model.pk_field().name)?);
        }
        Ok(out)
    }

    fn batch(&self) -> usize {
        self.ex.dialect().max_params().max(1)
    }

    /// RESTRICT rows are fine when the same delete removes them by a cascade; the others
    /// refuse it.
    fn check_restricted(&self, top: &'static ModelMeta) -> Result<()> {
        let mut refusals: Refusals = Vec::new();
        for (rel, pks) in &self.restricted {
            let mut left: Vec<Value> = pks
                .iter()
                .filter(|pk| {
                    key_of(pk).is_none_or(|k| !self.seen.contains(&(model_key(rel.model), k)))
                })
                .cloned()
                .collect();
            // Rows of a fast-deleted relation are removed too.
            for (model, field, keys) in &self.fast {
                if left.is_empty() || !std::ptr::eq(*model, rel.model) {
                    continue;
                }
                let mut gone = HashSet::new();
                for chunk in keys.chunks(self.batch()) {
                    let mut q = in_query(model, field, chunk);
                    q.filters.push(Filter {
                        q: Q::lookup("pk__in", Value::List(left.clone())),
                        negated: false,
                    });
                    for v in select_values(self.ex, &q, model.pk_field().name)? {
                        gone.extend(key_of(&v));
                    }
                }
                left.retain(|pk| key_of(pk).is_none_or(|k| !gone.contains(&k)));
            }
            if !left.is_empty() {
                let label = rel.model.label();
                let objects = left.into_iter().map(|pk| (label.clone(), pk)).collect();
                add_refusal(&mut refusals, key_name(rel), objects);
            }
        }
        if refusals.is_empty() {
            return Ok(());
        }
        let keys: Vec<&str> = refusals.iter().map(|(k, _)| k.as_str()).collect();
        Err(Error::RestrictedError {
            message: format!(
                "Cannot delete some instances of model '{}' because they are referenced \
                 through restricted foreign keys: {}.",
                top.name,
                keys.join(", ")
            ),
            restricted: refusals.into_iter().flat_map(|(_, o)| o).collect(),
        })
    }

    /// Fast deletes, then key updates, then the collected rows, rows pointing at others
    /// before the rows they point at.
    fn execute(self) -> Result<Deleted> {
        let ex = self.ex;
        let batch = self.batch();
        let mut counts: Vec<(String, u64)> = Vec::new();
        let mut add = |meta: &ModelMeta, n: u64| {
            if n == 0 {
                return;
            }
            let label = meta.label();
            match counts.iter_mut().find(|(l, _)| *l == label) {
                Some((_, c)) => *c += n,
                None => counts.push((label, n)),
            }
        };
        for (model, field, keys) in &self.fast {
            for chunk in keys.chunks(batch) {
                let c = compiler::delete(&in_query(model, field, chunk), ex.dialect())?;
                add(model, ex.execute(&c.sql, &c.params)?);
            }
        }
        for (rel, value, keys) in &self.updates {
            for chunk in keys.chunks(batch) {
                let q = in_query(rel.model, rel.field.name, chunk);
                let set = [(rel.field.name.to_owned(), Expr::Value(value.clone()))];
                let c = compiler::update(&q, &set, ex.dialect())?;
                ex.execute(&c.sql, &c.params)?;
            }
        }
        for (model, pks) in self.data.iter().rev() {
            for chunk in pks.chunks(batch) {
                let q = in_query(model, "pk", chunk);
                let c = compiler::delete(&q, ex.dialect())?;
                add(model, ex.execute(&c.sql, &c.params)?);
            }
        }
        counts.sort();
        Ok(Deleted {
            total: counts.iter().map(|(_, n)| n).sum(),
            per_model: counts,
        })
    }
}

fn add_refusal(list: &mut Refusals, key: String, objects: Vec<(String, Value)>) {
    match list.iter_mut().find(|(k, _)| *k == key) {
        Some((_, o)) => o.extend(objects),
        None => list.push((key, objects)),
    }
}

#[cold]
fn protected_error(meta: &ModelMeta, refusals: Refusals) -> Error {
    let keys: Vec<&str> = refusals.iter().map(|(k, _)| k.as_str()).collect();
    Error::ProtectedError {
        message: format!(
            "Cannot delete some instances of model '{}' because they are referenced through \
             protected foreign keys: {}.",
            meta.name,
            keys.join(", ")
        ),
        protected: refusals.into_iter().flat_map(|(_, o)| o).collect(),
    }
}

/// `model` rows whose `field` is in `values`.
fn in_query(model: &'static ModelMeta, field: &str, values: &[Value]) -> Query {
    let mut q = Query::new(model);
    q.filters.push(Filter {
        q: Q::lookup(format!("{field}__in"), Value::List(values.to_vec())),
        negated: false,
    });
    q
}

/// The values of `field` in the rows `query` matches.
pub(crate) fn select_values(ex: &dyn Executor, query: &Query, field: &str) -> Result<Vec<Value>> {
    let mut q = query.clone();
    q.selection = Selection::Values(vec![field.to_owned().into()]);
    q.order_by = Some(Vec::new());
    q.select_related = crate::query::SelectRelated::None;
    let kind = query.model.field_or_error(field)?.1.kind;
    let c = compiler::select(&q, ex.dialect())?;
    crate::db::fetch_all(ex, &c.sql, &c.params, |row| read_column(row, 0, kind))
}
