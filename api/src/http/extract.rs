//! Request extractors that turn malformed input into an [`ApiError`] naming
//! the offending field (JSON path), using `serde_path_to_error`.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::AppState;

/// A JSON body of type `T`.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = read_json_bytes(request, state.limits.document_bytes).await?;
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first.is_some_and(|b| *b != b'{') {
            return Err(ApiError::BadRequest {
                field: Some("body".into()),
                message: "expected a JSON object".into(),
            });
        }
        parse_json(&bytes).map(JsonBody)
    }
}

/// The raw bytes of a JSON body, at most `limit` of them. The request must
/// say it is JSON: a form or a body with no Content-Type is refused (415),
/// so a web page cannot post to the API without a CORS preflight.
pub async fn read_json_bytes(request: Request, limit: usize) -> Result<Bytes, ApiError> {
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let essence = v
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            essence == "application/json" || essence.ends_with("+json")
        })
        .unwrap_or(false);
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|error| {
            match error
                .into_inner()
                .downcast::<http_body_util::LengthLimitError>()
            {
                Ok(_) => ApiError::PayloadTooLarge { limit },
                Err(error) => ApiError::BadRequest {
                    field: Some("body".into()),
                    message: format!("could not read the body: {error}"),
                },
            }
        })
}

/// Parse JSON straight into `T` (no intermediate tree: a batch's memory is
/// its typed form), naming the field that is wrong. A document that also
/// fails to parse as JSON at all is reported as malformed, never as a value
/// of the wrong type.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest {
            field: Some("body".into()),
            message: "request body is empty; send a JSON document".into(),
        });
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let syntax = matches!(
            error.inner().classify(),
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof
        );
        // serde_json reports a value of the wrong kind where an enum's name
        // goes (e.g. a number) as "expected value", a syntax error, although
        // the document is valid JSON: that is the field's fault.
        let wrong_kind = syntax && error.inner().to_string().starts_with("expected value");
        match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Err(e) => malformed(&e),
            Ok(_) if syntax && !wrong_kind => malformed(error.inner()),
            Ok(_) => {
                let inner = if wrong_kind {
                    "invalid type: not a value this field accepts".to_string()
                } else {
                    error.inner().to_string()
                };
                let (field, message) = field_and_message(&error.path().to_string(), &inner);
                ApiError::BadRequest {
                    field: Some(field),
                    message,
                }
            }
        }
    })?;
    deserializer.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

fn malformed(error: &serde_json::Error) -> ApiError {
    ApiError::BadRequest {
        field: Some("body".into()),
        message: format!("malformed JSON: {error}"),
    }
}

/// Deserialize an already-parsed JSON value (e.g. JSON-RPC params), naming
/// the offending field.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let (field, message) =
            field_and_message(&error.path().to_string(), &error.inner().to_string());
        ApiError::BadRequest {
            field: Some(field),
            message,
        }
    })
}

/// serde reports a missing field at its parent's path, with the name in
/// the message: move it into the path. (An unknown field is already in it.)
fn field_and_message(path: &str, message: &str) -> (String, String) {
    let message = strip_position(message);
    let parent = if path == "." { "" } else { path };
    if let Some(rest) = message.strip_prefix("missing field `") {
        if let Some(name) = rest.split('`').next() {
            let field = if parent.is_empty() {
                name.to_string()
            } else {
                format!("{parent}.{name}")
            };
            return (field, message);
        }
    }
    let field = if parent.is_empty() {
        "body".to_string()
    } else {
        parent.to_string()
    };
    (field, message)
}

/// Drop serde_json's " at line 1 column 12" suffix.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

/// Query-string parameters of type `T`, with the offending one named.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(Params)
            .map_err(|error| {
                let (field, message) =
                    field_and_message(&error.path().to_string(), &error.inner().to_string());
                ApiError::BadRequest {
                    field: Some(field),
                    message,
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::NewAgent;

    fn field_of(body: &str) -> Option<String> {
        match parse_json::<NewAgent>(body.as_bytes()) {
            Err(ApiError::BadRequest { field, .. }) => field,
            other => panic!("expected a bad request, got {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn names_the_field() {
        assert_eq!(field_of(r#"{"goal":"g"}"#).as_deref(), Some("role"));
        assert_eq!(
            field_of(r#"{"role":5,"goal":"g"}"#).as_deref(),
            Some("role")
        );
        assert_eq!(
            field_of(r#"{"role":"r","goal":"g","rol":1}"#).as_deref(),
            Some("rol")
        );
        assert_eq!(
            field_of(r#"{"role":"r","goal":"g","metadata":[]}"#).as_deref(),
            Some("metadata")
        );
        assert_eq!(field_of(r#"{"role":"r""#).as_deref(), Some("body"));
        // A number where an enum's name goes: the field, not the body.
        match parse_json::<crate::domain::TaskPatch>(br#"{"status":1}"#) {
            Err(ApiError::BadRequest { field, .. }) => assert_eq!(field.as_deref(), Some("status")),
            other => panic!("expected a bad request, got {:?}", other.map(|_| ())),
        }
        assert_eq!(
            field_of(r#"{"role":"r","goal":"g"} trailing"#).as_deref(),
            Some("body")
        );
    }
}
