//! The one HTTP error type: every library error and every request-parsing
//! failure maps to a status and a JSON body `{ "error": { code, message, field } }`.
//! Internal details are logged, never returned.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::error::Error;
use crate::store::StoreError;
use crate::vectors::VectorError;

#[derive(Debug)]
pub enum ApiError {
    /// Body or query string that is not valid JSON / of the wrong shape.
    BadRequest {
        field: Option<String>,
        message: String,
    },
    /// Body over the configured size.
    PayloadTooLarge {
        limit: usize,
    },
    /// Route exists, resource id does not (or no such route).
    NotFound {
        message: String,
    },
    /// Content type other than JSON.
    UnsupportedMediaType,
    /// A response over the platform's payload limit (AWS Lambda's 6 MB).
    ResponseTooLarge {
        size: usize,
        limit: usize,
    },
    /// No valid credentials (401, with `WWW-Authenticate: Bearer`).
    Unauthorized {
        message: String,
    },
    /// Authenticated, but not allowed: a missing scope (`forbidden`) or a
    /// session cookie without its CSRF token (`csrf`).
    Forbidden {
        code: &'static str,
        message: String,
    },
    /// Too many failed sign-ins from this client.
    RateLimited {
        retry_after: u64,
    },
    /// The server is at a capacity limit (password checks, requests in
    /// flight, a request's time): 503 with `Retry-After`.
    Busy {
        message: &'static str,
        retry_after: u64,
    },
    /// A failure outside the library (details are logged).
    Internal,
    Library(Error),
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `invalid_field`, `not_found`.
    pub code: &'static str,
    pub message: String,
    /// JSON path of the offending field, when one is to blame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The error answers every API route may give (see docs/API.md "Errors"),
/// for the OpenAPI document.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum ErrorResponses {
    /// Malformed JSON, a wrong type, a missing or unknown field, or an
    /// unacceptable value; `field` names it.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// No valid credentials.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// The key lacks the scope (`forbidden`), or a session cookie came
    /// without its CSRF token (`csrf`).
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// No such document (or route).
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// A client id exists with other content, or a reference belongs elsewhere.
    #[response(status = 409)]
    Conflict(ErrorBody),
    /// Body or batch too large.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// The body is not JSON.
    #[response(status = 415)]
    UnsupportedMediaType(ErrorBody),
    /// A referenced agent, task or thought does not exist.
    #[response(status = 422)]
    UnknownReference(ErrorBody),
    /// A bug or unexpected store error (details only in the server log).
    #[response(status = 500)]
    Internal(ErrorBody),
    /// A backend is down or too slow; retry.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

impl From<crate::auth::AuthError> for ApiError {
    fn from(error: crate::auth::AuthError) -> Self {
        use crate::auth::AuthError;
        match error {
            AuthError::Unauthorized(message) => ApiError::Unauthorized {
                message: message.into(),
            },
            AuthError::RateLimited(retry_after) => ApiError::RateLimited { retry_after },
            AuthError::Busy(retry_after) => ApiError::Busy {
                message: "too many password and key checks are waiting; retry shortly",
                retry_after,
            },
            AuthError::Store(store) => ApiError::Library(Error::Store(store)),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        ApiError::Library(Error::Store(error))
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        match error {
            Error::Busy {
                message,
                retry_after,
            } => ApiError::Busy {
                message,
                retry_after,
            },
            other => ApiError::Library(other),
        }
    }
}

impl ApiError {
    /// Status, code, message and field; logs what it does not return.
    pub fn parts(&self) -> (StatusCode, &'static str, String, Option<String>) {
        match self {
            ApiError::BadRequest { field, message } => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                message.clone(),
                field.clone(),
            ),
            ApiError::PayloadTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("request body is larger than {limit} bytes"),
                Some("body".into()),
            ),
            ApiError::NotFound { message } => {
                (StatusCode::NOT_FOUND, "not_found", message.clone(), None)
            }
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON (Content-Type: application/json)".into(),
                Some("body".into()),
            ),
            ApiError::ResponseTooLarge { size, limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "the response ({size} bytes) does not fit in the {limit}-byte payload limit \
                     of AWS Lambda; ask for less (a smaller `limit`, or filters)"
                ),
                None,
            ),
            ApiError::Unauthorized { message } => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                message.clone(),
                None,
            ),
            ApiError::Forbidden { code, message } => {
                (StatusCode::FORBIDDEN, code, message.clone(), None)
            }
            ApiError::RateLimited { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "too many failed sign-ins or API key checks from this client; try again in \
                     {retry_after} s"
                ),
                None,
            ),
            ApiError::Busy { message, .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                (*message).into(),
                None,
            ),
            ApiError::Internal => internal(),
            ApiError::Library(error) => library_parts(error),
        }
    }
}

fn library_parts(error: &Error) -> (StatusCode, &'static str, String, Option<String>) {
    match error {
        Error::Invalid(v) => (
            StatusCode::BAD_REQUEST,
            "invalid_field",
            v.message.clone(),
            Some(v.field.clone()),
        ),
        Error::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found", error.to_string(), None),
        Error::UnknownReference { field, kind, id } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_reference",
            format!("{kind} {id} does not exist"),
            Some(field.clone()),
        ),
        Error::Conflict { field, message } => (
            StatusCode::CONFLICT,
            "conflict",
            message.clone(),
            Some(field.clone()),
        ),
        Error::TooLarge { field, message } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            message.clone(),
            Some(field.clone()),
        ),
        Error::Busy { message, .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            (*message).into(),
            None,
        ),
        Error::Store(store) => match store {
            StoreError::AlreadyExists { .. } | StoreError::Conflict(_) => (
                StatusCode::CONFLICT,
                "conflict",
                "the document changed concurrently; retry".into(),
                None,
            ),
            StoreError::Unavailable(_) => unavailable("document store (SurrealDB)"),
            StoreError::Backend(_) | StoreError::Decode { .. } | StoreError::Retryable(_) => {
                internal()
            }
        },
        Error::Vectors(vectors) => match vectors {
            VectorError::Unavailable(_) => unavailable("vector index (Qdrant)"),
            VectorError::Backend(_) | VectorError::Dimension { .. } => internal(),
        },
        Error::Embed(_) => unavailable("embedding model"),
        // An item's field by its position in the batch (`[3].level`), for
        // callers that did not name it themselves (`Error::name_fields`).
        Error::Item { index, error } => {
            let (status, code, message, field) = library_parts(error);
            (
                status,
                code,
                message,
                field.map(|f| format!("[{index}].{f}")),
            )
        }
    }
}

fn unavailable(what: &str) -> (StatusCode, &'static str, String, Option<String>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        format!("the {what} is unavailable; try again later"),
        None,
    )
}

fn internal() -> (StatusCode, &'static str, String, Option<String>) {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error".into(),
        None,
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message, field) = self.parts();
        if status.is_server_error() {
            match &self {
                ApiError::Busy { message, .. } => tracing::warn!(message, "request shed"),
                ApiError::Library(error) => {
                    tracing::error!(error = %error, ?error, "request failed")
                }
                other => tracing::error!(error = ?other, "request failed"),
            }
        }
        let mut response = (
            status,
            Json(ErrorBody {
                error: ErrorDetail {
                    code,
                    message,
                    field,
                },
            }),
        )
            .into_response();
        response.extensions_mut().insert(ErrorKind(code));
        let headers = response.headers_mut();
        match &self {
            ApiError::Unauthorized { .. } => {
                headers.insert(
                    axum::http::header::WWW_AUTHENTICATE,
                    axum::http::HeaderValue::from_static("Bearer realm=\"vectadb\""),
                );
            }
            ApiError::RateLimited { retry_after } | ApiError::Busy { retry_after, .. } => {
                headers.insert(axum::http::header::RETRY_AFTER, (*retry_after).into());
            }
            _ => {}
        }
        response
    }
}

/// Marks a response as an error of this kind, for the metrics layer.
#[derive(Debug, Clone, Copy)]
pub struct ErrorKind(pub &'static str);
