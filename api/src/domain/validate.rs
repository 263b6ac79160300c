//! Field validation shared by every request type.

use super::{ids, Metadata};

/// Longest text field (role, goal, description, content, message), in bytes.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// A request field that is not acceptable, named by its JSON path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error for a field nested under `prefix` (e.g. `logs[3]`).
    pub fn within(mut self, prefix: &str) -> Self {
        self.field = format!("{prefix}.{}", self.field);
        self
    }
}

pub fn required_text(field: &str, value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    bounded_text(field, value)
}

pub fn bounded_text(field: &str, value: &str) -> Result<(), ValidationError> {
    if value.len() > MAX_TEXT_BYTES {
        return Err(ValidationError::new(
            field,
            format!("is longer than {MAX_TEXT_BYTES} bytes"),
        ));
    }
    if value.contains('\0') {
        return Err(ValidationError::new(
            field,
            "must not contain NUL characters",
        ));
    }
    Ok(())
}

pub fn id(field: &str, value: &str) -> Result<(), ValidationError> {
    if ids::is_valid(value) {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            format!(
                "must be 1 to {} characters of letters, digits, '_' or '-'",
                ids::MAX_ID_LEN
            ),
        ))
    }
}

pub fn optional_id(field: &str, value: Option<&str>) -> Result<(), ValidationError> {
    value.map_or(Ok(()), |v| id(field, v))
}

/// Metadata is stored as given; only its size is bounded.
pub fn metadata(field: &str, value: &Metadata) -> Result<(), ValidationError> {
    let size = serde_json::to_vec(value)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_TEXT_BYTES * 4 {
        return Err(ValidationError::new(
            field,
            format!("is larger than {} bytes", MAX_TEXT_BYTES * 4),
        ));
    }
    Ok(())
}
