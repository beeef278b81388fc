//! Static metadata of a model: its fields, table, ordering and constraints.
//!
//! `#[derive(Model)]` writes one [`ModelMeta`] per struct as a `static`; everything
//! downstream (the resolver, the compiler, the schema helper, validation) reads it.

use super::many_to_many::ManyToManyMeta;
use super::relation::Relation;
use crate::error::{Error, Result};
use crate::value::Value;

/// The Django field class a field behaves as.
///
/// ```
/// use quarry::FieldKind;
/// assert_eq!(FieldKind::CharField.name(), "CharField");
/// assert!(FieldKind::BigAutoField.is_auto());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum FieldKind {
    AutoField,
    BigAutoField,
    SmallAutoField,
    BooleanField,
    CharField,
    TextField,
    SmallIntegerField,
    IntegerField,
    BigIntegerField,
    PositiveSmallIntegerField,
    PositiveIntegerField,
    PositiveBigIntegerField,
    FloatField,
    DecimalField,
    DateField,
    DateTimeField,
    TimeField,
    DurationField,
    UUIDField,
    BinaryField,
    JSONField,
    EmailField,
    SlugField,
    URLField,
    GenericIPAddressField,
}

impl FieldKind {
    /// Django's class name of the kind.
    pub fn name(self) -> &'static str {
        use FieldKind::*;
        match self {
            AutoField => "AutoField",
            BigAutoField => "BigAutoField",
            SmallAutoField => "SmallAutoField",
            BooleanField => "BooleanField",
            CharField => "CharField",
            TextField => "TextField",
            SmallIntegerField => "SmallIntegerField",
            IntegerField => "IntegerField",
            BigIntegerField => "BigIntegerField",
            PositiveSmallIntegerField => "PositiveSmallIntegerField",
            PositiveIntegerField => "PositiveIntegerField",
            PositiveBigIntegerField => "PositiveBigIntegerField",
            FloatField => "FloatField",
            DecimalField => "DecimalField",
            DateField => "DateField",
            DateTimeField => "DateTimeField",
            TimeField => "TimeField",
            DurationField => "DurationField",
            UUIDField => "UUIDField",
            BinaryField => "BinaryField",
            JSONField => "JSONField",
            EmailField => "EmailField",
            SlugField => "SlugField",
            URLField => "URLField",
            GenericIPAddressField => "GenericIPAddressField",
        }
    }

    /// The kind with Django's class name `name`, if there is one.
    pub fn from_name(name: &str) -> Option<FieldKind> {
        use FieldKind::*;
        const ALL: [FieldKind; 25] = [
            AutoField,
            BigAutoField,
            SmallAutoField,
            BooleanField,
            CharField,
            TextField,
            SmallIntegerField,
            IntegerField,
            BigIntegerField,
            PositiveSmallIntegerField,
            PositiveIntegerField,
            PositiveBigIntegerField,
            FloatField,
            DecimalField,
            DateField,
            DateTimeField,
            TimeField,
            DurationField,
            UUIDField,
            BinaryField,
            JSONField,
            EmailField,
            SlugField,
            URLField,
            GenericIPAddressField,
        ];
        ALL.into_iter().find(|k| k.name() == name)
    }

    /// The kind a field gets: `explicit` when given; otherwise the Rust type's kind, made
    /// auto for an integer primary key and Char for text with a `max_length`.
    #[doc(hidden)]
    pub const fn resolve(
        base: FieldKind,
        explicit: Option<FieldKind>,
        primary_key: bool,
        has_max_length: bool,
    ) -> FieldKind {
        if let Some(k) = explicit {
            return k;
        }
        match base {
            FieldKind::IntegerField if primary_key => FieldKind::AutoField,
            FieldKind::BigIntegerField if primary_key => FieldKind::BigAutoField,
            FieldKind::SmallIntegerField if primary_key => FieldKind::SmallAutoField,
            FieldKind::TextField if has_max_length => FieldKind::CharField,
            k => k,
        }
    }

    /// True for the auto-incrementing primary key kinds.
    pub const fn is_auto(self) -> bool {
        matches!(
            self,
            FieldKind::AutoField | FieldKind::BigAutoField | FieldKind::SmallAutoField
        )
    }

    /// True for kinds stored as text with a length (Char and its validated forms).
    pub fn is_char(self) -> bool {
        matches!(
            self,
            FieldKind::CharField
                | FieldKind::EmailField
                | FieldKind::SlugField
                | FieldKind::URLField
                | FieldKind::GenericIPAddressField
        )
    }

    /// True for kinds whose empty value is the empty string (Django's `empty_strings_allowed`).
    pub fn is_text(self) -> bool {
        self.is_char() || self == FieldKind::TextField
    }

    /// True for the integer kinds, auto ones included.
    pub fn is_integer(self) -> bool {
        use FieldKind::*;
        matches!(
            self,
            AutoField
                | BigAutoField
                | SmallAutoField
                | SmallIntegerField
                | IntegerField
                | BigIntegerField
                | PositiveSmallIntegerField
                | PositiveIntegerField
                | PositiveBigIntegerField
        )
    }

    /// The default `max_length` Django gives the kind, if any.
    pub const fn default_max_length(self) -> Option<u32> {
        match self {
            FieldKind::EmailField => Some(254),
            FieldKind::SlugField => Some(50),
            FieldKind::URLField => Some(200),
            FieldKind::GenericIPAddressField => Some(39),
            _ => None,
        }
    }
}

/// Lists a field's choices as `(stored value, label)` pairs.
pub type ChoicesFn = fn() -> Vec<(Value, String)>;

/// A validator: returns the message when the value is invalid.
pub type Validator = fn(&Value) -> std::result::Result<(), String>;

/// One field of a model.
#[derive(Debug)]
pub struct FieldMeta {
    /// The Rust field name, which is also the name used in lookups.
    pub name: &'static str,
    /// The database column.
    pub column: &'static str,
    /// The Django field kind.
    pub kind: FieldKind,
    /// NULL-able (`Option<T>`).
    pub null: bool,
    /// `blank=True`: `full_clean` accepts an empty value.
    pub blank: bool,
    /// The primary key.
    pub primary_key: bool,
    /// `unique=True`.
    pub unique: bool,
    /// `db_index=True`.
    pub db_index: bool,
    /// `max_length`, for Char kinds.
    pub max_length: Option<u32>,
    /// `max_digits`, for decimals.
    pub max_digits: Option<u32>,
    /// `decimal_places`, for decimals.
    pub decimal_places: Option<u32>,
    /// `default`: builds the value a field takes when none is given.
    pub default: Option<fn() -> Value>,
    /// `auto_now`: set to now on every save.
    pub auto_now: bool,
    /// `auto_now_add`: set to now when first inserted.
    pub auto_now_add: bool,
    /// `choices`: `(stored value, label)` pairs.
    pub choices: Option<ChoicesFn>,
    /// Extra validators run by `full_clean`.
    pub validators: &'static [Validator],
    /// A human name, as Django's `verbose_name`.
    pub verbose_name: &'static str,
    /// The relation, for `ForeignKey` and `OneToOneField` fields.
    pub relation: Option<&'static Relation>,
}

impl FieldMeta {
    /// The value of `default`, or Django's empty default: `""` for text kinds that are not
    /// NULL-able, NULL otherwise.
    pub fn default_value(&self) -> Option<Value> {
        if let Some(f) = self.default {
            return Some(f());
        }
        if self.null {
            return Some(Value::Null);
        }
        if self.kind.is_text() {
            return Some(Value::Text(String::new()));
        }
        None
    }

    /// True when the database assigns the value on INSERT (auto primary keys).
    pub fn is_auto(&self) -> bool {
        self.kind.is_auto()
    }
}

/// One index of `#[model(indexes = [...])]`.
#[derive(Debug)]
pub struct IndexMeta {
    /// Field names in the index; `-name` sorts descending.
    pub fields: &'static [&'static str],
    /// The index name; derived from the table and fields when empty.
    pub name: &'static str,
}

/// Everything quarry knows about one model.
#[derive(Debug)]
pub struct ModelMeta {
    /// The app label (`#[model(app_label = ...)]`, or the crate's name).
    pub app_label: &'static str,
    /// The struct's name.
    pub name: &'static str,
    /// The table.
    pub db_table: &'static str,
    /// Concrete fields, in declaration order; hydration reads columns in this order.
    pub fields: &'static [FieldMeta],
    /// Index of the primary key in `fields`.
    pub pk: usize,
    /// Default ordering (`Meta.ordering`).
    pub ordering: &'static [&'static str],
    /// `Meta.get_latest_by`.
    pub get_latest_by: &'static [&'static str],
    /// `verbose_name`.
    pub verbose_name: &'static str,
    /// `verbose_name_plural`.
    pub verbose_name_plural: &'static str,
    /// `unique_together`.
    pub unique_together: &'static [&'static [&'static str]],
    /// `indexes`.
    pub indexes: &'static [IndexMeta],
    /// Many-to-many fields: no column here, a through table holds the links.
    pub many_to_many: &'static [ManyToManyMeta],
    /// True for the through model quarry writes for a `ManyToMany` field without
    /// `through` (Django's auto-created intermediary model).
    pub auto_created: bool,
    /// `GenericForeignKey` fields.
    pub generic_foreign_keys: &'static [crate::contenttypes::GenericForeignKeyMeta],
    /// `GenericRelation` fields.
    pub generic_relations: &'static [crate::contenttypes::GenericRelationMeta],
    /// Loads rows of this model by primary key and runs the prefetch levels below on
    /// them, type-erased (a generic prefetch knows the model by its content type only);
    /// `None` for an auto-created through model.
    #[doc(hidden)]
    pub dyn_fetch: Option<DynFetchFn>,
}

/// Loads rows of one model by primary key, type-erased with their keys.
#[doc(hidden)]
pub type DynFetchFn = fn(
    &dyn crate::db::Executor,
    Vec<Value>,
    Option<&crate::query::Query>,
    &[crate::query::prefetch::PrefetchNode],
) -> Result<Vec<(Value, std::sync::Arc<dyn std::any::Any + Send + Sync>)>>;

impl ModelMeta {
    /// The primary key field.
    pub fn pk_field(&self) -> &'static FieldMeta {
        &self.fields[self.pk]
    }

    /// `app_label.ModelName`, Django's label.
    pub fn label(&self) -> String {
        format!("{}.{}", self.app_label, self.name)
    }

    /// The field named `name` (`pk` is the primary key; `publisher_id` is the key
    /// column of the relation `publisher`, Django's `attname`).
    pub fn field(&self, name: &str) -> Option<(usize, &'static FieldMeta)> {
        if name == "pk" {
            return Some((self.pk, self.pk_field()));
        }
        let found = self.fields.iter().enumerate().find(|(_, f)| f.name == name);
        if found.is_some() {
            return found;
        }
        let base = name.strip_suffix("_id")?;
        self.fields
            .iter()
            .enumerate()
            .find(|(_, f)| f.relation.is_some() && f.name == base)
    }

    /// The field named `name`, or a `FieldError` naming the model and the choices.
    pub fn field_or_error(&'static self, name: &str) -> Result<(usize, &'static FieldMeta)> {
        self.field(name)
            .ok_or_else(|| Error::field(self.unknown_field_message(name)))
    }

    /// Field names (with the `_id` name of each relation's key) and the names of
    /// reverse relations, sorted, as Django lists them in `Choices are: ...`.
    pub fn field_choices(&'static self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for f in self.fields {
            names.push(f.name.to_owned());
            if f.relation.is_some() {
                names.push(format!("{}_id", f.name));
            }
        }
        let mut more: Vec<&str> = Vec::new();
        more.extend(
            self.reverse_relations()
                .iter()
                .map(|r| r.query_name.as_str()),
        );
        more.extend(self.many_to_many.iter().map(|m| m.name));
        more.extend(self.generic_foreign_keys.iter().map(|g| g.name));
        more.extend(self.generic_relations.iter().map(|g| g.name));
        more.extend(crate::contenttypes::reverse_generic_names(self));
        more.extend(
            self.reverse_many_to_many()
                .iter()
                .filter(|l| l.visible)
                .map(|l| l.query_name.as_str()),
        );
        names.extend(more.into_iter().map(str::to_owned));
        names.sort_unstable();
        names
    }

    /// Field names of this model alone, sorted.
    pub(crate) fn field_choices_local(&self) -> Vec<&'static str> {
        let mut names: Vec<&str> = self.fields.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names
    }

    #[cold]
    pub(crate) fn unknown_field_message(&'static self, name: &str) -> String {
        format!(
            "Cannot resolve keyword '{name}' into field of {}. Choices are: {}",
            self.name,
            self.field_choices().join(", ")
        )
    }
}
