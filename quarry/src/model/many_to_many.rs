//! Many-to-many relations: the [`ManyToMany`] field type, its static
//! [`ManyToManyMeta`], and the resolved [`ManyToManyLink`] (which through-table columns
//! point at which side), computed once from the registry.
//!
//! A many-to-many field has no column: a through table holds one row per link, with a
//! foreign key to each side. Without `through = Model`, the derive writes that table's
//! meta itself (`<Model>_<field>`, Django's auto-created intermediary model).

use super::meta::{FieldMeta, ModelMeta};
use super::registry;
use crate::db::Executor;
use crate::error::Result;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::OnceLock;

/// Fetches the related objects of one side of a many-to-many relation for
/// `prefetch_related`; the derive writes one per direction with the two model types.
#[doc(hidden)]
pub type PrefetchManyFn = fn(
    parents: &mut dyn std::any::Any,
    link: &'static ManyToManyLink,
    forward: bool,
    node: &crate::query::prefetch::PrefetchNode,
    ex: &dyn Executor,
) -> Result<()>;

/// The static meta of a `ManyToMany<T>` field, in [`ModelMeta::many_to_many`].
pub struct ManyToManyMeta {
    /// The field's name (`publications`), used in lookups and as the accessor.
    pub name: &'static str,
    /// The model linked to.
    pub to: fn() -> &'static ModelMeta,
    /// The through model: the auto-created one, or the `through = Model` given.
    pub through: fn() -> &'static ModelMeta,
    /// `through_fields = ("source", "target")`: the through model's foreign keys to this
    /// model and to the target, when they are ambiguous.
    pub through_fields: Option<(&'static str, &'static str)>,
    /// The reverse accessor's name (`"+"` hides the reverse side); `None` for Django's
    /// default `<model>_set`.
    pub related_name: Option<&'static str>,
    /// The reverse side's name in lookups; `None` for the related name or the model's
    /// name in lower case.
    pub related_query_name: Option<&'static str>,
    /// A self-referential relation that is its own reverse (`friends`): a link added one
    /// way is added the other way too, and there is no reverse accessor.
    pub symmetrical: bool,
    /// Django's `limit_choices_to`: the condition a target must meet, applied by the
    /// generated `<field>_choices()` QuerySet (as in Django, `add()` does not check it).
    pub limit_choices_to: Option<fn() -> crate::query::Q>,
    /// Loads this side for `prefetch_related` (owner → targets).
    #[doc(hidden)]
    pub prefetch_forward: PrefetchManyFn,
    /// Loads the reverse side for `prefetch_related` (target → owners).
    #[doc(hidden)]
    pub prefetch_reverse: PrefetchManyFn,
}

impl std::fmt::Debug for ManyToManyMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManyToManyMeta")
            .field("name", &self.name)
            .field("to", &(self.to)().name)
            .field("through", &(self.through)().name)
            .field("symmetrical", &self.symmetrical)
            .finish()
    }
}

impl ManyToManyMeta {
    /// The model linked to.
    pub fn target(&self) -> &'static ModelMeta {
        (self.to)()
    }

    /// The through model.
    pub fn through_model(&self) -> &'static ModelMeta {
        (self.through)()
    }
}

/// A many-to-many field, Django's `ManyToManyField`: no column and no data in the
/// struct; the derive writes an accessor method of the same name that returns a
/// [`ManyRelatedManager`](crate::ManyRelatedManager), and the target gets the reverse
/// accessor (`article_set()`, or the `related_name`).
///
/// Build it with `ManyToMany::new()` (or `Default::default()`).
///
/// ```
/// use quarry::prelude::*;
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "mm", ordering = ["title"])]
/// struct Publication { id: i64, #[field(max_length = 30)] title: String, _state: ModelState }
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "mm")]
/// struct Article {
///     id: i64,
///     #[field(max_length = 100)]
///     headline: String,
///     publications: ManyToMany<Publication>,
///     _state: ModelState,
/// }
///
/// let db = Database::connect("sqlite::memory:")?;
/// // The through table `mm_article_publications` is created with Article's.
/// quarry::schema::create_tables(&db, &[Publication::meta(), Article::meta()])?;
/// let p = Publication::objects().create(&db, Publication { id: 0, title: "Science".into(), _state: ModelState::new() })?;
/// let a = Article::objects().create(&db, Article {
///     id: 0, headline: "NASA".into(), publications: ManyToMany::new(), _state: ModelState::new(),
/// })?;
/// a.publications().add(&db, [&p])?;
/// assert_eq!(a.publications().count(&db)?, 1);
/// assert_eq!(p.article_set().all(&db)?[0].headline, "NASA");
/// let found = Article::objects().filter(q!(publications__title = "Science")).count(&db)?;
/// assert_eq!(found, 1);
/// # Ok::<(), quarry::Error>(())
/// ```
pub struct ManyToMany<T> {
    _target: PhantomData<fn() -> T>,
}

impl<T> ManyToMany<T> {
    /// The field's value in a new instance (it holds nothing).
    pub const fn new() -> Self {
        ManyToMany {
            _target: PhantomData,
        }
    }
}

impl<T> Default for ManyToMany<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for ManyToMany<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for ManyToMany<T> {}

/// Every value is equal: the links live in the through table, not in the struct.
impl<T> PartialEq for ManyToMany<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T: super::Model> std::fmt::Debug for ManyToMany<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ManyToMany<{}>", T::meta().name)
    }
}

/// A many-to-many relation resolved against its through model: which of the through
/// model's foreign keys points at the owner (`source`) and which at the target, and
/// the reverse side's names.
#[derive(Debug)]
pub struct ManyToManyLink {
    /// The model declaring the field.
    pub source: &'static ModelMeta,
    /// The field's meta.
    pub meta: &'static ManyToManyMeta,
    /// The through model.
    pub through: &'static ModelMeta,
    /// Index in `through.fields` of the foreign key to the source.
    pub source_fk: usize,
    /// Index in `through.fields` of the foreign key to the target.
    pub target_fk: usize,
    /// The reverse side's name in lookups (`article` in `article__headline`); an
    /// internal name ending in `+` when the reverse side is hidden.
    pub query_name: String,
    /// The reverse accessor (`article_set`, or the related name).
    pub accessor: String,
    /// False when the reverse side is hidden (`related_name = "+"`, or symmetrical).
    pub visible: bool,
}

impl ManyToManyLink {
    /// The model linked to.
    pub fn target(&self) -> &'static ModelMeta {
        self.meta.target()
    }

    /// The through model's foreign key to the side a manager starts from (`forward`:
    /// the source), and the one to the other side.
    pub fn fks(&self, forward: bool) -> (&'static FieldMeta, &'static FieldMeta) {
        let (from, to) = if forward {
            (self.source_fk, self.target_fk)
        } else {
            (self.target_fk, self.source_fk)
        };
        (&self.through.fields[from], &self.through.fields[to])
    }

    /// The name of the relation on the other side that leads back (the reverse query
    /// name seen from the target, the field's name seen from the source).
    pub fn name_back(&self, forward: bool) -> &str {
        if forward {
            &self.query_name
        } else {
            self.meta.name
        }
    }

    /// The name the objects of one side are reached by from the other: the field's name
    /// (forward) or the reverse accessor.
    pub fn accessor(&self, forward: bool) -> &str {
        if forward {
            self.meta.name
        } else {
            &self.accessor
        }
    }
}

#[derive(Default)]
struct LinkIndex {
    /// By the declaring model, in field order.
    forward: HashMap<usize, Vec<&'static ManyToManyLink>>,
    /// By the target model.
    reverse: HashMap<usize, Vec<&'static ManyToManyLink>>,
}

fn key(meta: &'static ModelMeta) -> usize {
    meta as *const ModelMeta as usize
}

/// The through model's foreign keys to the source and the target: `through_fields`
/// when given; otherwise the first key to each side (for a self-referential relation,
/// the first and the second key to the model), as Django picks them.
fn resolve_fks(source: &'static ModelMeta, m2m: &'static ManyToManyMeta) -> (usize, usize) {
    let through = m2m.through_model();
    let target = m2m.target();
    let describe = || format!("{}.{} (through {})", source.name, m2m.name, through.name);
    if let Some((s, t)) = m2m.through_fields {
        let find = |name: &str, side: &'static ModelMeta| match through
            .field(name)
            .filter(|(_, f)| f.name == name)
        {
            Some((i, f)) if f.relation.is_some_and(|r| std::ptr::eq(r.target(), side)) => i,
            _ => panic!(
                "{}: through_fields names '{name}', which is not a foreign key of {} to \
                     {}. Choices are: {}",
                describe(),
                through.name,
                side.name,
                fks_to(through, side).join(", ")
            ),
        };
        return (find(s, source), find(t, target));
    }
    let points_at = |side: &'static ModelMeta| {
        through
            .fields
            .iter()
            .enumerate()
            .filter(move |(_, f)| f.relation.is_some_and(|r| std::ptr::eq(r.target(), side)))
            .map(|(i, _)| i)
    };
    let mut to_source = points_at(source);
    let s = to_source.next();
    let t = if std::ptr::eq(source, target) {
        to_source.next()
    } else {
        points_at(target).next()
    };
    match (s, t) {
        (Some(s), Some(t)) => (s, t),
        _ => panic!(
            "{}: the through model needs a foreign key to {} and one to {}; add them, or \
             name them with through_fields = (\"source\", \"target\")",
            describe(),
            source.name,
            target.name
        ),
    }
}

fn fks_to(through: &'static ModelMeta, side: &'static ModelMeta) -> Vec<&'static str> {
    through
        .fields
        .iter()
        .filter(|f| f.relation.is_some_and(|r| std::ptr::eq(r.target(), side)))
        .map(|f| f.name)
        .collect()
}

fn link_index() -> &'static LinkIndex {
    static INDEX: OnceLock<LinkIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index = LinkIndex::default();
        for source in registry::models() {
            for m2m in source.many_to_many {
                let (source_fk, target_fk) = resolve_fks(source, m2m);
                let lower = source.name.to_lowercase();
                let hidden = m2m.symmetrical || m2m.related_name.is_some_and(|n| n.ends_with('+'));
                let query_name = if hidden {
                    format!("{lower}_{}+", m2m.name)
                } else {
                    m2m.related_query_name
                        .or(m2m.related_name)
                        .map(str::to_owned)
                        .unwrap_or_else(|| lower.clone())
                };
                let accessor = match m2m.related_name {
                    Some(n) if !hidden => n.to_owned(),
                    _ => format!("{lower}_set"),
                };
                // Built once per program: leaked so that every caller gets `'static`.
                let link: &'static ManyToManyLink = Box::leak(Box::new(ManyToManyLink {
                    source,
                    meta: m2m,
                    through: m2m.through_model(),
                    source_fk,
                    target_fk,
                    query_name,
                    accessor,
                    visible: !hidden,
                }));
                index.forward.entry(key(source)).or_default().push(link);
                index
                    .reverse
                    .entry(key(m2m.target()))
                    .or_default()
                    .push(link);
            }
        }
        index
    })
}

impl ModelMeta {
    /// The many-to-many relations this model declares.
    pub fn many_to_many_links(&'static self) -> &'static [&'static ManyToManyLink] {
        link_index()
            .forward
            .get(&key(self))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The many-to-many relations of other models (or this one) that point at this model.
    pub fn reverse_many_to_many(&'static self) -> &'static [&'static ManyToManyLink] {
        link_index()
            .reverse
            .get(&key(self))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The many-to-many relation reached by `name` in lookups, and whether it is the
    /// declared side (`publications`) or the reverse one (`article`).
    pub fn many_to_many_path(&'static self, name: &str) -> Option<(&'static ManyToManyLink, bool)> {
        if let Some(l) = self
            .many_to_many_links()
            .iter()
            .find(|l| l.meta.name == name)
        {
            return Some((l, true));
        }
        self.reverse_many_to_many()
            .iter()
            .find(|l| l.query_name == name)
            .map(|l| (*l, false))
    }

    /// The many-to-many relation whose accessor (or `Prefetch` name) is `name`: the
    /// field's name, or a visible reverse accessor.
    pub fn many_to_many_accessor(
        &'static self,
        name: &str,
    ) -> Option<(&'static ManyToManyLink, bool)> {
        if let Some(l) = self
            .many_to_many_links()
            .iter()
            .find(|l| l.meta.name == name)
        {
            return Some((l, true));
        }
        self.reverse_many_to_many()
            .iter()
            .find(|l| l.visible && l.accessor == name)
            .map(|l| (*l, false))
    }
}
