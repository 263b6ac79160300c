//! `POST /v1/traces` and `POST /v1/logs`: OTLP/HTTP as the OpenTelemetry
//! protocol specifies it (protobuf or JSON, gzip/deflate, the answer in the
//! request's encoding, `partial_success` for refused items, a
//! `google.rpc.Status` body on errors, 503 for what a client should retry).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use utoipa_axum::routes;

use super::error::{ApiError, ErrorKind};
use super::guard::{Access, Routes};
use super::AppState;
use crate::auth::Scope;
use crate::otlp::decode::{decompress, DecodeError, Encoding, RpcStatus};
use crate::otlp::model;

pub fn router() -> Routes {
    Routes::new()
        .add(Access::Scope(Scope::Write), routes!(traces))
        .add(Access::Scope(Scope::Write), routes!(logs))
}

/// How an OTLP export fails (the body is a `google.rpc.Status` in the
/// request's encoding), for the OpenAPI document.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
enum OtlpErrors {
    /// Undecodable, or not decompressible.
    #[response(status = 400)]
    Undecodable,
    /// No valid credentials.
    #[response(status = 401)]
    Unauthorized,
    /// The key lacks the `write` scope.
    #[response(status = 403)]
    Forbidden,
    /// Body too large.
    #[response(status = 413)]
    TooLarge,
    /// Neither protobuf nor JSON.
    #[response(status = 415)]
    UnsupportedMediaType,
    /// A backend is down, or ingest is behind (`OTLP_MAX_PENDING`); retry
    /// (after `Retry-After` seconds when given).
    #[response(status = 503)]
    Unavailable,
}

/// OTLP/HTTP trace export (`ExportTraceServiceRequest`, protobuf or
/// OTLP/JSON, optionally gzip/deflate): GenAI spans become agents, tasks,
/// thoughts and logs (README "OpenTelemetry"). Acknowledged once the
/// export is durably stored; it is placed in the background, normally
/// within a second. Answered in the request's encoding; errors are a
/// `google.rpc.Status`.
#[utoipa::path(post, path = "/v1/traces", tag = "opentelemetry",
    request_body(content((Vec<u8> = "application/x-protobuf"), (serde_json::Value = "application/json"))),
    responses(
        (status = 200, description = "ExportTraceServiceResponse (partial_success names rejected spans)"),
        OtlpErrors))]
async fn traces(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (encoding, request) = match decode::<ExportTraceServiceRequest>(
        &state,
        &headers,
        body,
        "ExportTraceServiceRequest",
    )
    .await
    {
        Ok(decoded) => decoded,
        Err(response) => return response,
    };
    match accept_traces(&state, request).await {
        Ok(response) => answer(encoding, StatusCode::OK, encoding.encode(&response)),
        Err(error) => failure(encoding, error),
    }
}

/// OTLP/HTTP log export (`ExportLogsServiceRequest`): records become logs
/// on the task and thought of their span.
#[utoipa::path(post, path = "/v1/logs", tag = "opentelemetry",
    request_body(content((Vec<u8> = "application/x-protobuf"), (serde_json::Value = "application/json"))),
    responses((status = 200, description = "ExportLogsServiceResponse"), OtlpErrors))]
async fn logs(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (encoding, request) = match decode::<ExportLogsServiceRequest>(
        &state,
        &headers,
        body,
        "ExportLogsServiceRequest",
    )
    .await
    {
        Ok(decoded) => decoded,
        Err(response) => return response,
    };
    match accept_logs(&state, request).await {
        Ok(response) => answer(encoding, StatusCode::OK, encoding.encode(&response)),
        Err(error) => failure(encoding, error),
    }
}

/// Accept a trace export's spans; spans the mapping refused are named in
/// the answer's `partial_success`. Shared by OTLP/HTTP and OTLP/gRPC.
pub(super) async fn accept_traces(
    state: &AppState,
    request: ExportTraceServiceRequest,
) -> Result<ExportTraceServiceResponse, ApiError> {
    let (spans, rejected, reason) = model::spans_of(request);
    let items = spans.into_iter().map(model::Item::Span).collect();
    state.service.accept_otlp(items).await?;
    let partial_success = (rejected > 0).then(|| ExportTracePartialSuccess {
        rejected_spans: i64::try_from(rejected).unwrap_or(i64::MAX),
        error_message: reason.unwrap_or_default(),
    });
    Ok(ExportTraceServiceResponse { partial_success })
}

/// Accept a log export's records. Shared by OTLP/HTTP and OTLP/gRPC.
pub(super) async fn accept_logs(
    state: &AppState,
    request: ExportLogsServiceRequest,
) -> Result<ExportLogsServiceResponse, ApiError> {
    let items = model::logs_of(request)
        .into_iter()
        .map(model::Item::Log)
        .collect();
    state.service.accept_otlp(items).await?;
    Ok(ExportLogsServiceResponse {
        partial_success: None,
    })
}

/// Decompress, count and decode an export on a blocking thread: CPU work
/// bounded by the request limits, kept off the async executor. `None` if
/// that thread panicked (logged).
pub(super) async fn decode_export<M>(
    limits: super::Limits,
    body: Bytes,
    compression: Option<String>,
    encoding: Encoding,
    what: &'static str,
) -> Option<Result<M, DecodeError>>
where
    M: prost::Message + Default + serde::de::DeserializeOwned + Send + 'static,
{
    let decoded = tokio::task::spawn_blocking(move || {
        let bytes = decompress(compression.as_deref(), &body, limits.body_bytes)?;
        encoding.decode::<M>(&bytes, what, limits.otlp_items)
    })
    .await;
    match decoded {
        Ok(result) => Some(result),
        Err(join) => {
            tracing::error!(error = %join, "OTLP decoding panicked");
            None
        }
    }
}

/// The body decoded per its headers, or the error response to send.
/// Decompressing, counting and decoding are CPU work bounded by the
/// request limits, done on a blocking thread.
async fn decode<M>(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    what: &'static str,
) -> Result<(Encoding, M), Response>
where
    M: prost::Message + Default + serde::de::DeserializeOwned + Send + 'static,
{
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let encoding = Encoding::from_content_type(header(header::CONTENT_TYPE))
        .map_err(|e| rejected(Encoding::Json, &e))?;
    let body = body.map_err(|rejection| {
        status(
            encoding,
            rejection.status(),
            format!("could not read the body: {rejection}"),
            "invalid_request",
        )
    })?;
    let content_encoding = header(header::CONTENT_ENCODING).map(str::to_string);
    match decode_export::<M>(state.limits, body, content_encoding, encoding, what).await {
        Some(Ok(message)) => Ok((encoding, message)),
        Some(Err(error)) => Err(rejected(encoding, &error)),
        None => Err(status(
            encoding,
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error".into(),
            "internal",
        )),
    }
}

fn rejected(encoding: Encoding, error: &DecodeError) -> Response {
    let code = match error {
        DecodeError::ContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        DecodeError::TooLarge(_) | DecodeError::TooMany(_) => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    status(encoding, code, error.to_string(), "invalid_request")
}

/// A library error as OTLP wants it: the API's status (503 when a backend
/// is down, which OTLP clients retry) and a Status body with the message
/// the REST API would give (internal details are logged, not returned).
fn failure(encoding: Encoding, error: ApiError) -> Response {
    let failed = ExportFailure::of(error);
    let mut response = status(encoding, failed.status, failed.message, failed.kind);
    if let Some(seconds) = failed.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, seconds.into());
    }
    response
}

/// An export that failed or was refused, as both protocols report it: the
/// API's status and error kind, the message the REST API would give (its
/// field first), and the delay before retrying when ingest is behind.
pub(super) struct ExportFailure {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl ExportFailure {
    /// Logged here: backpressure at debug (the expected answer under load,
    /// not a fault), server errors with their detail (not returned).
    pub(super) fn of(error: ApiError) -> Self {
        let retry_after = match &error {
            ApiError::Busy { retry_after, .. } | ApiError::RateLimited { retry_after } => {
                Some(*retry_after)
            }
            _ => None,
        };
        let (status, kind, message, field) = error.parts();
        match retry_after {
            Some(_) => tracing::debug!("OTLP export refused: ingest is behind"),
            None if status.is_server_error() => {
                tracing::error!(error = ?error, "OTLP export failed")
            }
            None => {}
        }
        let message = match field {
            Some(field) => format!("{field}: {message}"),
            None => message,
        };
        Self {
            status,
            kind,
            message,
            retry_after,
        }
    }
}

fn status(encoding: Encoding, code: StatusCode, message: String, kind: &'static str) -> Response {
    // google.rpc.Code: INVALID_ARGUMENT for the client's mistakes,
    // UNAVAILABLE for what to retry, INTERNAL otherwise.
    let rpc = match code {
        StatusCode::SERVICE_UNAVAILABLE => 14,
        c if c.is_client_error() => 3,
        _ => 13,
    };
    let mut response = answer(
        encoding,
        code,
        encoding.encode(&RpcStatus { code: rpc, message }),
    );
    response.extensions_mut().insert(ErrorKind(kind));
    response
}

fn answer(encoding: Encoding, code: StatusCode, body: Vec<u8>) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, encoding.content_type())],
        body,
    )
        .into_response()
}
