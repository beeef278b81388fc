//! The statement cache: each query *shape* is compiled once per thread.
//!
//! A shape is everything in a [`Query`] that decides its SQL text: the model, the filter
//! tree with its paths and lookups, orderings, slicing, the selection, and of each bound
//! value only what changes the SQL (its type, NULL or not, a list's length and NULL
//! count, the truth of a boolean). Values themselves are not part of it, so
//! `filter(q!(id = 1))` and `filter(q!(id = 2))` share one entry.
//!
//! On a hit the compiler walks the query in its params-only mode: the parameters come out
//! of the same code that wrote the SQL, so the two cannot drift apart. Debug builds also
//! recompile every hit and compare, which the whole test suite exercises.

use super::compiler::{self, StatementKind};
use super::dialect::Dialect;
use super::recipe::Recipe;
use crate::db::{sql_hash, SqlText};
use crate::error::Result;
use crate::query::ast::{Grouping, Loading, OrderBy, Query, SelectRelated, Selection};
use crate::query::RowShape;
use crate::query::{Expr, Name, Q};
use crate::value::{Param, Params, Value};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::rc::Rc;

/// Shapes a thread keeps; the cache is emptied when it grows past this.
const CAPACITY: usize = 1024;

/// One compiled shape: the SQL and what its output columns hold.
#[derive(Debug)]
pub(crate) struct CachedStatement {
    /// The statement text.
    pub sql: String,
    /// Its hash ([`SqlText`]), worked out once here rather than by every run.
    sql_hash: u64,
    /// The output columns, shared by every row.
    pub shape: RowShape,
    /// How to rebuild the parameters of a query of this shape, when the compile could
    /// say; otherwise a hit runs the compiler's params-only walk.
    pub recipe: Option<Recipe>,
    /// How many rows the last run of this statement returned: the next run's result
    /// vector starts with room for about that many (see [`CachedStatement::rows_hint`]).
    rows: Cell<u32>,
}

impl CachedStatement {
    /// The statement text with its hash, for an executor.
    #[inline]
    pub(crate) fn text(&self) -> SqlText<'_> {
        SqlText::prehashed(&self.sql, self.sql_hash)
    }

    /// Room to reserve for the rows of the next run: the last run's count and an
    /// eighth more, so a table that grows a little between runs needs no regrowth.
    /// Without it a 1,000-row result is copied ten times as the vector doubles, which
    /// the raw drivers' callers also pay but quarry's larger objects pay more of.
    pub(crate) fn rows_hint(&self) -> usize {
        let last = self.rows.get() as usize;
        last + last / 8
    }

    /// Remembers how many rows a run returned.
    pub(crate) fn record_rows(&self, n: usize) {
        self.rows.set(u32::try_from(n).unwrap_or(u32::MAX));
    }
}

/// The keys are already hashes: use them as they are.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Map = HashMap<u64, Rc<CachedStatement>, BuildHasherDefault<KeyHasher>>;

thread_local! {
    static STATEMENTS: RefCell<Map> =
        const { RefCell::new(Map::with_hasher(BuildHasherDefault::new())) };
}

/// The compiled statement of `kind` for `query` and its parameters, from the cache when
/// this thread has compiled the shape before.
///
/// A hit's parameters borrow the values of `query`'s conditions where they bind as they
/// are (the recipe's path); made ones are owned.
pub(crate) fn statement<'q>(
    query: &'q Query,
    kind: StatementKind,
    dialect: &dyn Dialect,
) -> Result<(Rc<CachedStatement>, Params<'q>)> {
    let key = shape_key(query, kind, dialect);
    let hit = STATEMENTS.with(|c| c.borrow().get(&key).cloned());
    if let Some(stmt) = hit {
        let params = match &stmt.recipe {
            Some(recipe) => recipe.apply(query, dialect)?,
            None => owned(compiler::params_of(query, kind, dialect)?),
        };
        #[cfg(debug_assertions)]
        {
            let full = compiler::compile(query, kind, dialect)?;
            debug_assert_eq!(
                full.sql, stmt.sql,
                "statement cache: two shapes share a key"
            );
            debug_assert_eq!(
                full.params,
                params.iter().map(Param::to_value).collect::<Vec<_>>(),
                "statement cache: the parameters of a hit drifted"
            );
            if stmt.recipe.is_some() {
                debug_assert_eq!(
                    full.params,
                    compiler::params_of(query, kind, dialect)?,
                    "statement cache: params-only walk drifted"
                );
            }
        }
        return Ok((stmt, params));
    }
    let mut compiled = compiler::compile(query, kind, dialect)?;
    let params = std::mem::take(&mut compiled.params);
    compiled.recipe = compiled.recipe.take().filter(|recipe| {
        // Only the filters bind (nothing reorders their parameters), and following the
        // recipe gives what the compile bound.
        !query.binds_outside_filters()
            && query.combined.is_none()
            && recipe.apply(query, dialect).is_ok_and(|followed| {
                followed.len() == params.len() && followed.iter().zip(&params).all(|(f, p)| f == p)
            })
    });
    Ok((remember(key, compiled), owned(params)))
}

/// Parameters the compiler made, as statement parameters.
fn owned<'q>(params: Vec<Value>) -> Params<'q> {
    params.into_iter().map(Param::Owned).collect()
}

/// The cached INSERT of `rows` rows of `fields` (compiled on the first use of the shape).
pub(crate) fn insert_statement(
    meta: &'static crate::model::ModelMeta,
    fields: &[usize],
    rows: usize,
    returning: bool,
    on_conflict: compiler::OnConflict,
    dialect: &dyn Dialect,
) -> Result<Rc<CachedStatement>> {
    let mut h = foldhash::fast::FixedState::with_seed(0x696e_7365_7274).build_hasher();
    let flags = (dialect.vendor() as u64)
        | u64::from(dialect.supports_returning()) << 4
        | u64::from(returning) << 5
        | u64::from(on_conflict == compiler::OnConflict::Ignore) << 6
        | (rows as u64) << 8;
    h.write_u64(flags);
    h.write_usize(meta as *const _ as usize);
    fields.hash(&mut h);
    let key = h.finish();
    if let Some(stmt) = STATEMENTS.with(|c| c.borrow().get(&key).cloned()) {
        return Ok(stmt);
    }
    let compiled = compiler::insert_sql(meta, fields, rows, returning, on_conflict, dialect)?;
    Ok(remember(key, compiled))
}

fn remember(key: u64, compiled: compiler::Compiled) -> Rc<CachedStatement> {
    let stmt = Rc::new(CachedStatement {
        sql_hash: sql_hash(&compiled.sql),
        sql: compiled.sql,
        shape: RowShape::new(
            &compiled.columns,
            compiled.related,
            compiled.annotations,
            compiled.loaded,
        ),
        recipe: compiled.recipe,
        rows: Cell::new(0),
    });
    STATEMENTS.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CAPACITY {
            c.clear();
        }
        c.insert(key, stmt.clone());
    });
    stmt
}

/// The 64-bit key of a query's shape.
fn shape_key(query: &Query, kind: StatementKind, dialect: &dyn Dialect) -> u64 {
    let mut h = ShapeHasher::new();
    let flags = (kind as u64)
        | (dialect.vendor() as u64) << 4
        | u64::from(dialect.supports_returning()) << 8;
    hash_query(query, flags, &mut h);
    h.finish()
}

/// The hasher of shape keys: each word folded into the state with one 64×64→128-bit
/// multiply (the update of ahash's fallback hasher, the core of foldhash). A shape is a
/// dozen words, most of them written one at a time; foldhash's sponge spent more on
/// bookkeeping per word than on mixing. Collisions matter (a key stands for its SQL),
/// so the mixing is a full multiply, not FxHash's rotate-and-multiply.
struct ShapeHasher(u64);

impl ShapeHasher {
    /// An odd constant from the digits of pi (the one ahash and foldhash fold with).
    const MULTIPLE: u64 = 0x5851_f42d_4c95_7f2d;
    const SEED: u64 = 0x243f_6a88_85a3_08d3;

    fn new() -> Self {
        ShapeHasher(Self::SEED)
    }

    #[inline(always)]
    fn fold(x: u64, y: u64) -> u64 {
        let full = u128::from(x) * u128::from(y);
        (full as u64) ^ ((full >> 64) as u64)
    }
}

impl Hasher for ShapeHasher {
    #[inline]
    fn finish(&self) -> u64 {
        Self::fold(self.0, Self::SEED).rotate_left(23)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.write_u64(u64::from_le_bytes(c.try_into().expect("eight bytes")));
        }
        let mut tail = [0u8; 8];
        tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        // The length ends the text, so "ab" and "ab\0" differ.
        self.write_u64(u64::from_le_bytes(tail) ^ (bytes.len() as u64) << 56);
    }

    #[inline(always)]
    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    #[inline(always)]
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    #[inline(always)]
    fn write_u64(&mut self, n: u64) {
        self.0 = Self::fold(self.0 ^ n, Self::MULTIPLE);
    }

    #[inline(always)]
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// Hashes the shape of `query`; `flags` holds the caller's bits (below bit 9).
fn hash_query(query: &Query, flags: u64, h: &mut ShapeHasher) {
    // The small parts packed in one word, with a bit for each rarely used part, so a
    // plain query tests one word instead of eight fields.
    let selection = match &query.selection {
        Selection::Model => 0,
        Selection::Values(_) => 1,
    };
    let order = match &query.order_by {
        None => 0,
        Some(terms) => 1 + terms.len() as u64,
    };
    let rare = u64::from(query.group_key.is_some())
        | u64::from(!query.annotations.is_empty()) << 1
        | u64::from(!query.distinct_fields.is_empty()) << 2
        | u64::from(query.combined.is_some()) << 3
        | u64::from(!matches!(query.loading, Loading::All)) << 4
        | u64::from(!matches!(query.grouping, Grouping::None)) << 5
        | u64::from(!matches!(query.select_related, SelectRelated::None)) << 6;
    let flags = flags
        | u64::from(query.reversed) << 9
        | u64::from(query.distinct) << 10
        | u64::from(query.empty) << 11
        | u64::from(query.limit.is_some()) << 12
        | selection << 13
        | rare << 16
        | (query.filters.len() as u64) << 24
        | order << 40;
    h.write_u64(flags);
    h.write_usize(query.model as *const _ as usize);
    if query.offset != 0 || query.limit.is_some() {
        h.write_u64(query.offset);
        h.write_u64(query.limit.unwrap_or(0));
    }
    for f in &query.filters {
        hash_q(&f.q, u64::from(f.negated) << 8, h);
    }
    for t in query.order_by.iter().flatten() {
        hash_order(t, h);
    }
    if let Selection::Values(paths) = &query.selection {
        hash_names(paths, h);
    }
    if rare != 0 {
        hash_rare_parts(query, h);
    }
}

/// The parts of a query most queries leave empty.
#[cold]
fn hash_rare_parts(query: &Query, h: &mut ShapeHasher) {
    query.group_key.hash(h);
    for a in &query.annotations {
        a.name.hash(h);
        (a.selected, a.alias, a.after_filters).hash(h);
        hash_expr(&a.expr, false, h);
    }
    query.distinct_fields.hash(h);
    if let Some(c) = &query.combined {
        (c.op, c.all, c.others.len()).hash(h);
        for other in &c.others {
            hash_query(other, 0, h);
        }
        match &c.first {
            Some(first) => hash_query(first, 1, h),
            None => 0u8.hash(h),
        }
    }
    match &query.loading {
        Loading::All => {}
        Loading::Defer(names) => (1u8, names).hash(h),
        Loading::Only(names) => (2u8, names).hash(h),
    }
    match &query.grouping {
        Grouping::None => {}
        Grouping::Model => 1u8.hash(h),
        Grouping::Values(paths) => {
            2u8.hash(h);
            hash_names(paths, h);
        }
    }
    match &query.select_related {
        SelectRelated::None => {}
        SelectRelated::All => 1u8.hash(h),
        SelectRelated::Paths(paths) => {
            2u8.hash(h);
            paths.hash(h);
        }
    }
}

/// Hashes a path: a literal by its address and length (static text never changes, so
/// equal keys still mean equal text), in one word; an owned one by its text. The same
/// text written both ways makes two entries with the same SQL.
#[inline]
fn hash_name(name: &Name, h: &mut ShapeHasher) {
    match name {
        // An address fits in 48 bits on every platform quarry runs on; the top bit
        // stays clear, which no owned text's tag word below leaves clear.
        Name::Borrowed(s) if s.len() < 1 << 15 && (s.as_ptr() as u64) < 1 << 48 => {
            h.write_u64((s.as_ptr() as u64) << 15 | s.len() as u64)
        }
        Name::Borrowed(s) => {
            h.write_u64(1 << 63 | s.len() as u64);
            h.write_usize(s.as_ptr() as usize);
        }
        Name::Owned(s) => {
            h.write_u64(3 << 62 | s.len() as u64);
            h.write(s.as_bytes());
        }
    }
}

fn hash_names(names: &[Name], h: &mut ShapeHasher) {
    h.write_usize(names.len());
    for name in names {
        hash_name(name, h);
    }
}

fn hash_order(t: &OrderBy, h: &mut ShapeHasher) {
    match t {
        OrderBy::Random => 0u8.hash(h),
        OrderBy::Field { path, descending } => {
            (1 + u8::from(*descending)).hash(h);
            path.hash(h);
        }
        OrderBy::Expr {
            expr,
            descending,
            nulls,
        } => {
            (3 + u8::from(*descending), nulls).hash(h);
            hash_expr(expr, false, h);
        }
    }
}

/// Hashes a condition; `tag` carries the caller's bits (a filter's negation) above the
/// low byte.
fn hash_q(q: &Q, tag: u64, h: &mut ShapeHasher) {
    match q {
        Q::Lookup { path, value } => {
            match value {
                // The usual condition, a path and a plain value: one word for the tags
                // and the value's type, one for the path.
                Expr::Value(v) if !matches!(v, Value::List(_)) => {
                    let truth = match v {
                        Value::Bool(b) => 2 | u64::from(*b),
                        Value::I64(i) if path.ends_with("isnull") => 2 | u64::from(*i != 0),
                        _ => 0,
                    };
                    h.write_u64(tag | 5 | value_kind(v) << 16 | truth << 24);
                    hash_name(path, h);
                }
                _ => {
                    h.write_u64(tag);
                    hash_name(path, h);
                    hash_expr(value, path.ends_with("isnull"), h);
                }
            }
        }
        Q::And(children) | Q::Or(children) => {
            let which = if matches!(q, Q::And(_)) { 1 } else { 2 };
            h.write_u64(tag | which | (children.len() as u64) << 16);
            for c in children {
                hash_q(c, 0, h);
            }
        }
        Q::Not(inner) => {
            h.write_u64(tag | 3);
            hash_q(inner, 0, h);
        }
        Q::Expr(e) => {
            h.write_u64(tag | 4);
            hash_expr(e, false, h);
        }
    }
}

/// A number for each kind of value.
#[inline]
fn value_kind(v: &Value) -> u64 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::I64(_) => 2,
        Value::F64(_) => 3,
        Value::Text(_) => 4,
        Value::Bytes(_) => 5,
        Value::Decimal(_) => 6,
        Value::Date(_) => 7,
        Value::Time(_) => 8,
        Value::DateTime(_) => 9,
        Value::Duration(_) => 10,
        Value::Uuid(_) => 11,
        Value::Json(_) => 12,
        Value::List(_) => 13,
    }
}

fn hash_expr(e: &Expr, truth_matters: bool, h: &mut ShapeHasher) {
    match e {
        Expr::Value(v) => {
            0u8.hash(h);
            hash_value_shape(v, truth_matters, h);
        }
        Expr::Field(path) => {
            1u8.hash(h);
            path.hash(h);
        }
        Expr::Arith { op, lhs, rhs } => {
            2u8.hash(h);
            (*op as u8).hash(h);
            hash_expr(lhs, false, h);
            hash_expr(rhs, false, h);
        }
        Expr::Aggregate(a) => {
            3u8.hash(h);
            (a.func, a.distinct, a.output.map(|k| k as u8)).hash(h);
            hash_opt_expr(a.arg.as_ref(), h);
            hash_opt_expr(a.default.as_ref(), h);
            match &a.filter {
                Some(q) => hash_q(q, 0, h),
                None => 0xffu8.hash(h),
            }
        }
        Expr::Case(c) => {
            4u8.hash(h);
            (c.whens.len(), c.output.map(|k| k as u8)).hash(h);
            for w in &c.whens {
                hash_q(&w.condition, 0, h);
                hash_expr(&w.then, false, h);
            }
            hash_opt_expr(c.default.as_ref(), h);
        }
        Expr::Func(f) => {
            5u8.hash(h);
            (&f.function, f.args.len(), f.output.map(|k| k as u8)).hash(h);
            for a in &f.args {
                hash_expr(a, false, h);
            }
        }
        Expr::Subquery(sub) => {
            7u8.hash(h);
            hash_query(&sub.query, u64::from(sub.exists), h);
        }
        Expr::OuterRef { path, depth } => {
            8u8.hash(h);
            (path, depth).hash(h);
        }
        Expr::Raw {
            sql,
            params,
            output,
        } => {
            10u8.hash(h);
            (sql, *output as u8).hash(h);
            for p in params {
                hash_value_shape(p, false, h);
            }
        }
        Expr::Window(w) => {
            9u8.hash(h);
            hash_expr(&w.expr, false, h);
            w.partition_by.len().hash(h);
            for p in &w.partition_by {
                hash_expr(p, false, h);
            }
            w.order_by.len().hash(h);
            for o in &w.order_by {
                hash_order(o, h);
            }
            w.frame.hash(h);
        }
        Expr::Condition(q) => {
            11u8.hash(h);
            hash_q(q, 0, h);
        }
        Expr::Wrapper { expr, output } => {
            6u8.hash(h);
            (*output as u8).hash(h);
            hash_expr(expr, false, h);
        }
    }
}

fn hash_opt_expr(e: Option<&Expr>, h: &mut ShapeHasher) {
    match e {
        Some(e) => hash_expr(e, false, h),
        None => 0xfeu8.hash(h),
    }
}

/// What of a value decides the SQL: its type; a boolean's truth (`isnull`); whether an
/// `isnull` integer is zero; a list's length and how many of its items are NULL.
fn hash_value_shape(v: &Value, truth_matters: bool, h: &mut ShapeHasher) {
    match v {
        Value::Bool(b) => h.write_u64(value_kind(v) | u64::from(*b) << 8),
        Value::I64(i) if truth_matters => {
            h.write_u64(value_kind(v) | (2 | u64::from(*i != 0)) << 8)
        }
        Value::List(items) => {
            let nulls = items.iter().filter(|i| i.is_null()).count();
            h.write_u64(value_kind(v) | (items.len() as u64) << 8);
            h.write_usize(nulls);
            for item in items {
                h.write_u64(value_kind(item));
            }
        }
        _ => h.write_u64(value_kind(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;
    use crate::sql::SqliteDialect;
    use crate::{Exists, OuterRef};

    #[derive(Model, Debug, Clone)]
    #[model(app_label = "recipe")]
    struct Person {
        #[field(primary_key)]
        id: i64,
        name: String,
        nickname: Option<String>,
        age: i64,
        _state: ModelState,
    }

    /// Compiles `query` through the cache; returns whether its shape keeps a recipe and
    /// the parameters of this use.
    fn through_cache(query: &Query) -> (bool, Vec<Value>) {
        let (stmt, params) = statement(query, StatementKind::Select, &SqliteDialect).unwrap();
        (
            stmt.recipe.is_some(),
            params.iter().map(Param::to_value).collect(),
        )
    }

    #[test]
    fn shape_keys_share_across_values_and_differ_across_shapes() {
        let key =
            |qs: &QuerySet<Person>| shape_key(qs.query(), StatementKind::Select, &SqliteDialect);
        let p = Person::objects;
        // Values that leave the SQL alone share a key.
        assert_eq!(key(&p().filter(q!(age = 1))), key(&p().filter(q!(age = 2))));
        assert_eq!(
            key(&p().filter(q!(name = "a"))),
            key(&p().filter(q!(name = String::from("bb"))))
        );
        // Whatever can change the SQL gives another key (a value's type, an owned path:
        // some of these compile to the same SQL under two keys, which is allowed).
        let shapes = [
            p(),
            p().filter(q!(age = 1)),
            p().exclude(q!(age = 1)),
            p().filter(q!(age = "1")),
            p().filter(q!(age = Value::Null)),
            p().filter(q!(age__gt = 1)),
            p().filter(q!(nickname__isnull = true)),
            p().filter(q!(nickname__isnull = false)),
            p().filter(q!(nickname__isnull = 1)),
            p().filter(q!(nickname__isnull = 0)),
            p().filter(q!(age__in = vec![1, 2])),
            p().filter(q!(age__in = vec![1, 2, 3])),
            p().filter(q!(age__in = vec![Value::from(1), Value::Null])),
            p().filter(q!(age = 1)).filter(q!(age = 1)),
            p().filter(q!(age = 1, name = "a")),
            p().filter(q!(age = 1) | q!(name = "a")),
            p().filter(!q!(age = 1)),
            p().filter(Q::lookup(String::from("age"), 1)),
            p().order_by(["name"]),
            p().order_by(["-name"]),
            p().slice(1..3),
            p().slice(0..3),
            p().distinct(),
            p().reverse(),
            p().annotate([("n", F("age") + 1)]),
            p().defer(["name"]),
            p().only(["name"]),
        ];
        let keys: Vec<u64> = shapes.iter().map(key).collect();
        for (i, a) in keys.iter().enumerate() {
            for (j, b) in keys.iter().enumerate().skip(i + 1) {
                assert_ne!(
                    a,
                    b,
                    "shapes {i} and {j} share a key: {:?}",
                    shapes[j].query()
                );
            }
        }
        let values = |paths: Vec<Name>| {
            let mut q = p().query().clone();
            q.selection = Selection::Values(paths);
            shape_key(&q, StatementKind::Select, &SqliteDialect)
        };
        assert_ne!(values(vec!["name".into()]), values(vec!["age".into()]));
        assert_ne!(
            values(vec!["name".into(), "age".into()]),
            values(vec!["age".into(), "name".into()])
        );
        assert_ne!(values(vec!["name".into()]), values(vec![]));
        // An owned path hashes by its text.
        assert_eq!(
            values(vec![Name::Owned("name".into())]),
            values(vec![Name::Owned(String::from("na") + "me")])
        );
    }

    #[test]
    fn filter_values_are_rebuilt_from_the_recipe() {
        let shape = |name: &str, ages: Vec<Value>, low: i64| {
            Person::objects()
                .filter(q!(name__icontains = name.to_owned(), age__in = ages))
                .exclude(q!(nickname = "x", age__range = vec![low, low + 10]))
                .filter(q!(age = "42") | q!(nickname__regex = "^a"))
        };
        let first = shape("ann", vec![1.into(), Value::Null, 2.into()], 5);
        let (kept, params) = through_cache(first.query());
        assert!(kept);
        assert_eq!(
            params,
            [
                Value::from("%ann%"),
                1.into(),
                2.into(),
                "x".into(),
                5.into(),
                15.into(),
                42.into(),
                "^a".into()
            ]
        );
        // The same shape with other values: a hit, parameters from the recipe.
        let second = shape("b_%", vec![Value::Null, 7.into(), 8.into()], 20);
        let (kept, params) = through_cache(second.query());
        assert!(kept);
        assert_eq!(params[..3], [Value::from("%b\\_\\%%"), 7.into(), 8.into()]);
        assert_eq!(params[4..7], [20.into(), 30.into(), 42.into()]);
        // A text that is no number still fails for an integer field on a hit.
        let bad = Person::objects().filter(q!(age = "x"));
        let ok = Person::objects().filter(q!(age = "3"));
        assert_eq!(through_cache(ok.query()).1, [Value::from(3)]);
        let err = statement(bad.query(), StatementKind::Select, &SqliteDialect).unwrap_err();
        assert!(
            err.to_string().contains("expected a number but got 'x'"),
            "{err}"
        );
    }

    #[test]
    fn shapes_binding_outside_plain_filters_keep_no_recipe() {
        for qs in [
            Person::objects()
                .annotate([("older", F("age") + 1)])
                .filter(q!(older = 3)),
            Person::objects().filter(q!(age = F("id") + 2)),
            Person::objects().filter(Q::expr(Exists(
                Person::objects().filter(q!(pk = OuterRef("pk"), age = 4)),
            ))),
        ] {
            let (kept, params) = through_cache(qs.query());
            assert!(!kept, "{:?}", qs.query().filters);
            assert!(!params.is_empty());
            // A hit takes the params-only walk.
            assert_eq!(through_cache(qs.query()).1, params);
        }
    }

    #[test]
    fn a_recipe_reading_conditions_out_of_order_still_applies() {
        use crate::sql::recipe::{Conv, Recipe, Step, Take};
        let qs = Person::objects()
            .filter(q!(name = "ann"))
            .filter(q!(age__range = vec![3, 9]));
        let step = |leaf, take| Step {
            leaf,
            take,
            conv: Conv::Field(if leaf == 0 {
                crate::model::FieldKind::CharField
            } else {
                crate::model::FieldKind::BigIntegerField
            }),
        };
        let mut recipe = Recipe::default();
        recipe.push(step(1, Take::Bound(1)));
        recipe.push(step(0, Take::Whole));
        recipe.push(step(1, Take::Bound(0)));
        let params = recipe.apply(qs.query(), &SqliteDialect).unwrap();
        assert_eq!(params[..], [Value::from(9), "ann".into(), 3.into()]);
        let mut in_order = Recipe::default();
        in_order.push(step(0, Take::Whole));
        in_order.push(step(1, Take::Bound(0)));
        in_order.push(step(1, Take::Bound(1)));
        let params = in_order.apply(qs.query(), &SqliteDialect).unwrap();
        assert_eq!(params[..], [Value::from("ann"), 3.into(), 9.into()]);
    }
}
