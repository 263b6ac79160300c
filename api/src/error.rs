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
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
