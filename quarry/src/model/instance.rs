//! The instance API: save, delete and refresh, following Django's `Model.save_base`.

use super::{Model, ModelMeta};
use crate::db::{fetch_all, Executor};
use crate::error::{Error, Result};
use crate::query::Q;
use crate::sql::compiler::{self, OnConflict};
use crate::value::Value;

/// Options of [`Model::save_with`], Django's `save()` keyword arguments.
///
/// ```
/// use quarry::SaveOptions;
/// let opts = SaveOptions::new().update_fields(["name"]);
/// assert_eq!(opts.update_fields.as_deref(), Some(&["name".to_string()][..]));
/// ```
#[derive(Debug, Clone, Default)]
pub struct SaveOptions {
    /// Always INSERT.
    pub force_insert: bool,
    /// Always UPDATE; fail when no row matched.
    pub force_update: bool,
    /// UPDATE only these fields; fail when no row matched.
    pub update_fields: Option<Vec<String>>,
}

impl SaveOptions {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `force_insert`.
    pub fn force_insert(mut self, yes: bool) -> Self {
        self.force_insert = yes;
        self
    }

    /// Sets `force_update`.
    pub fn force_update(mut self, yes: bool) -> Self {
        self.force_update = yes;
        self
    }

    /// Sets `update_fields`.
    pub fn update_fields<S: Into<String>>(mut self, fields: impl IntoIterator<Item = S>) -> Self {
        self.update_fields = Some(fields.into_iter().map(Into::into).collect());
        self
    }
}

/// What a delete removed: the total and the count per model label, Django's
/// `(total, {"app.Model": n})`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Deleted {
    /// Rows deleted in all.
    pub total: u64,
    /// Rows deleted per model label, sorted by label.
    pub per_model: Vec<(String, u64)>,
}

impl Deleted {
    pub(crate) fn one_model(meta: &ModelMeta, n: u64) -> Deleted {
        Deleted {
            total: n,
            per_model: if n > 0 {
                vec![(meta.label(), n)]
            } else {
                vec![]
            },
        }
    }
}

pub(super) fn from_pairs<'a, M: Model>(
    pairs: impl IntoIterator<Item = (&'a str, Value)>,
) -> Result<M> {
    let meta = M::meta();
    let mut values: Vec<Option<Value>> = vec![None; meta.fields.len()];
    let mut unknown = Vec::new();
    let mut pk_given = false;
    for (name, v) in pairs {
        match meta.field(name) {
            Some((i, _)) => {
                pk_given |= i == meta.pk;
                values[i] = Some(v);
            }
            None => unknown.push(format!("'{name}'")),
        }
    }
    if !unknown.is_empty() {
        return Err(Error::field(format!(
            "Invalid field name(s) for model {}: {}. Choices are: {}",
            meta.name,
            unknown.join(", "),
            meta.field_choices().join(", ")
        )));
    }
    let mut obj = M::from_field_values(values)?;
    if pk_given {
        obj.state_mut().set_pk_explicit();
    }
    Ok(obj)
}

/// Fills `auto_now` (always) and `auto_now_add` (on insert) fields, Django's `pre_save`.
pub(crate) fn pre_save<M: Model>(obj: &mut M, adding: bool) -> Result<Vec<usize>> {
    let meta = M::meta();
    let mut touched = Vec::new();
    for (i, f) in meta.fields.iter().enumerate() {
        if f.auto_now || (f.auto_now_add && adding) {
            // Databases keep microseconds; so does the instance.
            let now = chrono::Utc::now();
            let now =
                chrono::DurationRound::duration_trunc(now, chrono::TimeDelta::microseconds(1))
                    .unwrap_or(now);
            let v = match f.kind {
                super::FieldKind::DateField => Value::Date(now.date_naive()),
                super::FieldKind::TimeField => Value::Time(now.time()),
                _ => Value::DateTime(now),
            };
            obj.set_field_value(i, v)?;
            touched.push(i);
        }
    }
    Ok(touched)
}

fn pk_filter(meta: &ModelMeta, pk: Value) -> crate::query::ast::Filter {
    crate::query::ast::Filter {
        q: Q::lookup(meta.pk_field().name, pk),
        negated: false,
    }
}

/// Inserts one instance; the pk column is left to the database when it is auto and unset.
pub(crate) fn insert_one<M: Model>(obj: &mut M, ex: &(impl Executor + ?Sized)) -> Result<()> {
    let meta = M::meta();
    let with_pk = obj.state().pk_is_set() || !meta.pk_field().is_auto();
    let fields: Vec<usize> = (0..meta.fields.len())
        .filter(|&i| with_pk || i != meta.pk)
        .collect();
    let row: Vec<Value> = fields.iter().map(|&i| obj.field_value(i)).collect();
    let dialect = ex.dialect();
    let returning = !with_pk && dialect.supports_returning();
    let c = compiler::insert(meta, &fields, row, returning, OnConflict::Error, dialect)?;
    if returning {
        let ids = fetch_all(ex, &c.sql, &c.params, |r| crate::query::read_pk::<M, _>(r))?;
        let id = ids.into_iter().next().ok_or_else(|| Error::Database {
            message: "INSERT ... RETURNING returned no row".into(),
            sql_state: None,
            sql: Some(c.sql.clone()),
        })?;
        obj.set_pk(id)?;
    } else if !with_pk {
        // No RETURNING (MySQL): read LAST_INSERT_ID() on the same connection.
        let pk_kind = meta.pk_field().kind;
        let mut id = Value::Null;
        ex.atomic_dyn(&mut |tx| {
            tx.execute(&c.sql, &c.params)?;
            let ids = fetch_all(tx, "SELECT LAST_INSERT_ID()", &[], |r| r.value(0, pk_kind))?;
            id = ids.into_iter().next().unwrap_or(Value::Null);
            Ok(())
        })?;
        obj.set_field_value(meta.pk, id)?;
    } else {
        ex.execute(&c.sql, &c.params)?;
    }
    obj.state_mut().mark_saved();
    Ok(())
}

pub(super) fn save<M: Model>(
    obj: &mut M,
    ex: &(impl Executor + ?Sized),
    opts: &SaveOptions,
) -> Result<()> {
    let meta = M::meta();
    if opts.force_insert && (opts.force_update || opts.update_fields.is_some()) {
        return Err(Error::invalid(
            "Cannot force both insert and updating in model saving.",
        ));
    }
    let mut update_fields: Option<Vec<usize>> = None;
    if let Some(names) = &opts.update_fields {
        if names.is_empty() {
            return Ok(());
        }
        let mut idx = Vec::new();
        let mut bad = Vec::new();
        for n in names {
            match meta.field(n) {
                Some((i, f)) if !f.primary_key => idx.push(i),
                _ => bad.push(n.as_str()),
            }
        }
        if !bad.is_empty() {
            return Err(Error::field(format!(
                "The following fields do not exist in this model, are m2m fields, or are \
                 non-concrete fields: {}. Choices are: {}",
                bad.join(", "),
                meta.field_choices().join(", ")
            )));
        }
        update_fields = Some(idx);
    } else if !obj.state().deferred().is_empty() && !obj.state().adding() {
        // Never write a column that was not loaded.
        let deferred = obj.state().deferred().to_vec();
        update_fields = Some(
            (0..meta.fields.len())
                .filter(|i| *i != meta.pk && !deferred.contains(i))
                .collect(),
        );
    }
    let adding = obj.state().adding();
    let touched = pre_save(obj, adding)?;
    if let Some(uf) = update_fields.as_mut() {
        for t in touched {
            if !uf.contains(&t) && opts.update_fields.is_some() {
                // Django only saves auto_now fields named in update_fields.
                continue;
            }
            if !uf.contains(&t) {
                uf.push(t);
            }
        }
    }
    let pk_set = obj.state().pk_is_set() || !meta.pk_field().is_auto();
    let pk_has_default = meta.pk_field().default.is_some();
    let force_insert =
        opts.force_insert || (adding && pk_has_default && opts.update_fields.is_none());
    if !pk_set || force_insert {
        if opts.force_update || update_fields.is_some() && opts.update_fields.is_some() {
            return Err(Error::invalid(
                "Cannot force an update in save() with no primary key.",
            ));
        }
        return insert_one(obj, ex);
    }
    // UPDATE first; INSERT when no row had that primary key.
    let fields: Vec<usize> = match &update_fields {
        Some(f) => f.clone(),
        None => (0..meta.fields.len()).filter(|&i| i != meta.pk).collect(),
    };
    let mut query = crate::query::ast::Query::new(meta);
    query.filters.push(pk_filter(meta, obj.pk()));
    let updated = if fields.is_empty() {
        let c = compiler::exists(&query, ex.dialect())?;
        !fetch_all(ex, &c.sql, &c.params, |_| Ok(()))?.is_empty()
    } else {
        let assignments: Vec<(String, crate::query::Expr)> = fields
            .iter()
            .map(|&i| (meta.fields[i].name.to_owned(), obj.field_value(i).into()))
            .collect();
        let c = compiler::update(&query, &assignments, ex.dialect())?;
        ex.execute(&c.sql, &c.params)? > 0
    };
    if updated {
        obj.state_mut().mark_saved();
        return Ok(());
    }
    if opts.force_update {
        return Err(Error::Database {
            message: "Forced update did not affect any rows.".into(),
            sql_state: None,
            sql: None,
        });
    }
    if opts.update_fields.is_some() {
        return Err(Error::Database {
            message: "Save with update_fields did not affect any rows.".into(),
            sql_state: None,
            sql: None,
        });
    }
    obj.state_mut().set_pk_explicit();
    insert_one(obj, ex)
}

pub(super) fn delete<M: Model>(obj: &mut M, ex: &(impl Executor + ?Sized)) -> Result<Deleted> {
    let meta = M::meta();
    if !obj.state().pk_is_set() && meta.pk_field().is_auto() {
        return Err(Error::invalid(format!(
            "{} object can't be deleted because its {} attribute is not set: save it first.",
            meta.name,
            meta.pk_field().name
        )));
    }
    let deleted = super::deletion::delete_pk(&crate::db::ExecutorRef(ex), meta, obj.pk())?;
    *obj.state_mut() = super::ModelState::new();
    Ok(deleted)
}

pub(super) fn refresh_from_db<M: Model>(obj: &mut M, ex: &(impl Executor + ?Sized)) -> Result<()> {
    let fresh = M::objects().get(ex, Q::lookup("pk", obj.pk()))?;
    *obj = fresh;
    Ok(())
}
