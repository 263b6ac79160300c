//! The library's error type: what can go wrong below HTTP, independent of
//! how it is reported. `http::error` maps each variant to a status.

use crate::domain::ValidationError;
use crate::embed::EmbedError;
use crate::store::StoreError;
use crate::vectors::VectorError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request field is malformed (400).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The addressed document does not exist (404).
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },
    /// A field refers to a document that does not exist (422).
    #[error("{field}: {kind} {id} does not exist")]
    UnknownReference {
        field: String,
        kind: &'static str,
        id: String,
    },
    /// The request contradicts what is stored (409).
    #[error("{field}: {message}")]
    Conflict { field: String, message: String },
    /// Too many items or bytes (413).
    #[error("{field}: {message}")]
    TooLarge { field: String, message: String },
    /// At a capacity limit; retry after `retry_after` seconds (503).
    #[error("{message}")]
    Busy {
        message: &'static str,
        retry_after: u64,
    },
    /// One item of a batch was refused: its position in the batch, and the
    /// error naming the field within the item. How the position is written
    /// (`logs[3].level`) is the caller's: see [`Error::name_fields`].
    #[error("item {index}: {error}")]
    Item { index: usize, error: Box<Error> },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Vectors(#[from] VectorError),
    #[error(transparent)]
    Embed(#[from] EmbedError),
}

impl Error {
    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        Error::NotFound {
            kind,
            id: id.into(),
        }
    }

    pub fn unknown_reference(field: impl Into<String>, kind: &'static str, id: &str) -> Self {
        Error::UnknownReference {
            field: field.into(),
            kind,
            id: id.to_string(),
        }
    }

    pub fn conflict(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Conflict {
            field: field.into(),
            message: message.into(),
        }
    }

    /// `error` as the error of item `index` of a batch.
    pub fn item(index: usize, error: impl Into<Error>) -> Self {
        Error::Item {
            index,
            error: Box::new(error.into()),
        }
    }

    /// The same error with the field it names rewritten by `name`, which
    /// gets the item's position when the error is an item's (`Item` is
    /// unwrapped): how a caller spells fields in its own request.
    pub fn name_fields(self, name: impl Fn(Option<usize>, &str) -> String) -> Self {
        let (index, error) = match self {
            Error::Item { index, error } => (Some(index), *error),
            other => (None, other),
        };
        let rename = |field: String| name(index, &field);
        match error {
            Error::Invalid(mut v) => {
                v.field = rename(v.field);
                Error::Invalid(v)
            }
            Error::UnknownReference { field, kind, id } => Error::UnknownReference {
                field: rename(field),
                kind,
                id,
            },
            Error::Conflict { field, message } => Error::Conflict {
                field: rename(field),
                message,
            },
            Error::TooLarge { field, message } => Error::TooLarge {
                field: rename(field),
                message,
            },
            other => other,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
