//! The one error type of quarry.
//!
//! Every fallible call returns [`Result<T>`](crate::Result). Messages say what was asked,
//! what was found, and what to do next; the `Display` of a database error includes the
//! driver's message and the SQL state, never a nested `source()` chain to walk.

use std::collections::BTreeMap;
use std::fmt;

/// The kind of integrity violation a database reported.
///
/// # Example
/// ```
/// use quarry::IntegrityKind;
/// assert_eq!(IntegrityKind::Unique.to_string(), "unique");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IntegrityKind {
    /// A UNIQUE or PRIMARY KEY constraint.
    Unique,
    /// A NOT NULL constraint.
    NotNull,
    /// A FOREIGN KEY constraint.
    ForeignKey,
    /// A CHECK constraint.
    Check,
    /// Another integrity constraint.
    Other,
}

impl fmt::Display for IntegrityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IntegrityKind::Unique => "unique",
            IntegrityKind::NotNull => "not-null",
            IntegrityKind::ForeignKey => "foreign key",
            IntegrityKind::Check => "check",
            IntegrityKind::Other => "integrity",
        })
    }
}

/// Validation messages keyed by field name, as Django's `ValidationError.message_dict`.
///
/// The key `"__all__"` holds errors that belong to no single field (`unique_together`).
///
/// # Example
/// ```
/// use quarry::ValidationErrors;
/// let mut errors = ValidationErrors::default();
/// errors.add("name", "This field cannot be blank.");
/// assert_eq!(errors.fields().collect::<Vec<_>>(), ["name"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationErrors {
    by_field: BTreeMap<String, Vec<String>>,
}

impl ValidationErrors {
    /// Records one message against a field.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.by_field
            .entry(field.into())
            .or_default()
            .push(message.into());
    }

    /// True when no message was recorded.
    pub fn is_empty(&self) -> bool {
        self.by_field.is_empty()
    }

    /// The names of the fields that have messages, sorted.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.by_field.keys().map(String::as_str)
    }

    /// The messages recorded for one field.
    pub fn messages(&self, field: &str) -> &[String] {
        self.by_field.get(field).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Every field with its messages, as Django's `message_dict`.
    pub fn message_dict(&self) -> &BTreeMap<String, Vec<String>> {
        &self.by_field
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (field, messages) in &self.by_field {
            for m in messages {
                if !first {
                    f.write_str("; ")?;
                }
                first = false;
                write!(f, "{field}: {m}")?;
            }
        }
        Ok(())
    }
}

/// Every error quarry returns.
///
/// Match on the variant to tell a missing row from a broken query from a database failure:
///
/// ```
/// use quarry::Error;
/// fn describe(e: &Error) -> &'static str {
///     match e {
///         Error::DoesNotExist { .. } => "no such row",
///         Error::IntegrityError { .. } => "constraint violated",
///         _ => "other",
///     }
/// }
/// # let _ = describe;
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// `get()` (or a similar call) matched no row.
    DoesNotExist {
        /// The model's name.
        model: &'static str,
    },
    /// `get()` matched more than one row.
    MultipleObjectsReturned {
        /// The model's name.
        model: &'static str,
        /// How many rows matched (counted up to a limit, as Django does).
        count: usize,
        /// True when more rows than `count` may exist.
        more: bool,
    },
    /// A field path, lookup or option names something that does not exist.
    FieldError(String),
    /// `full_clean()` found invalid values.
    ValidationError(ValidationErrors),
    /// The database refused a write because of a constraint.
    IntegrityError {
        /// Which kind of constraint.
        kind: IntegrityKind,
        /// The constraint's (or, on SQLite, the columns') name, when the database told it.
        constraint: Option<String>,
        /// The driver's message.
        message: String,
        /// The SQL state or driver error code.
        sql_state: Option<String>,
    },
    /// Any other database failure, with the driver's message and SQL state.
    Database {
        /// The driver's message.
        message: String,
        /// The SQL state or driver error code.
        sql_state: Option<String>,
        /// The statement that failed, when there was one.
        sql: Option<String>,
    },
    /// A query was asked for something it cannot do (negative slicing, a filter after a
    /// slice, a bad argument): Django's `TypeError`/`ValueError` cases.
    InvalidQuery(String),
    /// A column's value could not be turned into the Rust type asked for.
    Conversion {
        /// What was being decoded (`Book.pages`, `column 2`).
        target: String,
        /// What went wrong.
        message: String,
    },
    /// The connection URL or configuration is wrong.
    Config(String),
    /// A delete was refused: `on_delete = Protect` foreign keys point at the rows.
    ProtectedError {
        /// Django's message, naming the model and the protecting keys.
        message: String,
        /// The protecting rows, as `(model label, primary key)`.
        protected: Vec<(String, crate::Value)>,
    },
    /// A delete was refused: `on_delete = Restrict` foreign keys point at the rows and
    /// the delete does not remove those rows by a cascade from elsewhere.
    RestrictedError {
        /// Django's message, naming the model and the restricting keys.
        message: String,
        /// The restricting rows, as `(model label, primary key)`.
        restricted: Vec<(String, crate::Value)>,
    },
}

impl Error {
    #[cold]
    pub(crate) fn field(message: impl Into<String>) -> Self {
        Error::FieldError(message.into())
    }

    #[cold]
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidQuery(message.into())
    }

    #[cold]
    pub(crate) fn conversion(target: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Conversion {
            target: target.into(),
            message: message.into(),
        }
    }

    /// True for [`Error::DoesNotExist`].
    pub fn is_does_not_exist(&self) -> bool {
        matches!(self, Error::DoesNotExist { .. })
    }

    /// True for [`Error::IntegrityError`].
    pub fn is_integrity_error(&self) -> bool {
        matches!(self, Error::IntegrityError { .. })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::DoesNotExist { model } => {
                write!(f, "{model} matching query does not exist.")
            }
            Error::MultipleObjectsReturned { model, count, more } => {
                let n = if *more {
                    format!("more than {count}")
                } else {
                    count.to_string()
                };
                write!(
                    f,
                    "get() returned more than one {model} -- it returned {n}! \
                     Narrow the filter, or use filter() to read them all."
                )
            }
            Error::FieldError(m) | Error::InvalidQuery(m) | Error::Config(m) => f.write_str(m),
            Error::ProtectedError { message, .. } | Error::RestrictedError { message, .. } => {
                f.write_str(message)
            }
            Error::ValidationError(errors) => write!(f, "validation failed: {errors}"),
            Error::IntegrityError {
                kind,
                constraint,
                message,
                sql_state,
            } => {
                write!(f, "{kind} constraint violated")?;
                if let Some(c) = constraint {
                    write!(f, " ({c})")?;
                }
                write!(f, ": {message}")?;
                if let Some(s) = sql_state {
                    write!(f, " [SQL state {s}]")?;
                }
                Ok(())
            }
            Error::Database {
                message,
                sql_state,
                sql,
            } => {
                write!(f, "database error: {message}")?;
                if let Some(s) = sql_state {
                    write!(f, " [SQL state {s}]")?;
                }
                if let Some(sql) = sql {
                    write!(f, " while running: {sql}")?;
                }
                Ok(())
            }
            Error::Conversion { target, message } => {
                write!(f, "cannot read {target}: {message}")
            }
        }
    }
}

impl std::error::Error for Error {}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
