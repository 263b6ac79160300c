//! OTLP/gRPC: the `TraceService` and `LogsService` `Export` calls as unary
//! gRPC over HTTP/2 (h2c), served by the same Router as everything else, so
//! they take the same auth (an API key in the call's metadata), limits and
//! load shedding as OTLP/HTTP and reach the same mapping. `vectadb serve`
//! also listens for them on `--otlp-grpc-port` (4317, the OTLP default).
//!
//! A call's body is one length-prefixed message (a compressed flag, a
//! 4-byte length, the protobuf bytes, compressed per `grpc-encoding` when
//! flagged). The answer is HTTP 200 with `application/grpc`: the response
//! message and `grpc-status: 0` in the trailers, or, on failure, only
//! headers carrying `grpc-status` and `grpc-message` ([`grpc_errors`] turns
//! the API's JSON errors — auth, shedding, limits — into that form).

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::Engine;
use http_body_util::StreamBody;
use hyper::body::Frame;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

use super::error::ApiError;
use super::otlp::{accept_logs, accept_traces, decode_export, ExportFailure};
use super::AppState;
use crate::otlp::decode::{DecodeError, Encoding};

/// The trace export method's path.
pub const TRACE_EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
/// The log export method's path.
pub const LOGS_EXPORT: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

/// gRPC status codes used here.
mod code {
    pub const OK: i32 = 0;
    pub const INVALID_ARGUMENT: i32 = 3;
    pub const PERMISSION_DENIED: i32 = 7;
    pub const RESOURCE_EXHAUSTED: i32 = 8;
    pub const UNIMPLEMENTED: i32 = 12;
    pub const INTERNAL: i32 = 13;
    pub const UNAVAILABLE: i32 = 14;
    pub const UNAUTHENTICATED: i32 = 16;
}

/// The two export methods; both write.
pub fn router() -> Router<AppState> {
    let methods = Router::new()
        .route(TRACE_EXPORT, post(traces))
        .route(LOGS_EXPORT, post(logs));
    super::guard::undocumented(
        super::guard::Access::Scope(crate::auth::Scope::Write),
        methods,
    )
}

/// Whether a request path is a gRPC method of this service.
pub fn is_grpc_path(path: &str) -> bool {
    path == TRACE_EXPORT || path == LOGS_EXPORT
}

async fn traces(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match message::<ExportTraceServiceRequest>(&state, &headers, body, "ExportTraceServiceRequest")
        .await
    {
        Ok(request) => match accept_traces(&state, request).await {
            Ok(answer) => success(&answer),
            Err(error) => api_failure(error),
        },
        Err(response) => response,
    }
}

async fn logs(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match message::<ExportLogsServiceRequest>(&state, &headers, body, "ExportLogsServiceRequest")
        .await
    {
        Ok(request) => match accept_logs(&state, request).await {
            Ok(answer) => success(&answer),
            Err(error) => api_failure(error),
        },
        Err(response) => response,
    }
}

/// The call's one message, decoded within the request limits, or the
/// gRPC error to answer.
async fn message<M>(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    what: &'static str,
) -> Result<M, Response>
where
    M: prost::Message + Default + serde::de::DeserializeOwned + Send + 'static,
{
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("application/grpc") {
        // Not a gRPC call at all: gRPC says plain HTTP 415.
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send application/grpc to this method",
        )
            .into_response());
    }
    let body = body.map_err(|rejection| {
        let code = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            code::RESOURCE_EXHAUSTED
        } else {
            code::INVALID_ARGUMENT
        };
        status_only(code, &format!("could not read the call: {rejection}"), None)
    })?;
    let (compressed, payload) =
        unframe(&body).map_err(|message| status_only(code::INVALID_ARGUMENT, message, None))?;
    let compression = if compressed {
        let name = headers
            .get("grpc-encoding")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("identity");
        if !matches!(name, "gzip" | "deflate") {
            return Err(status_only(
                code::UNIMPLEMENTED,
                &format!("unsupported grpc-encoding {name:?}: send gzip, deflate or none"),
                None,
            ));
        }
        Some(name.to_string())
    } else {
        None
    };
    match decode_export::<M>(
        state.limits,
        body.slice_ref(payload),
        compression,
        Encoding::Protobuf,
        what,
    )
    .await
    {
        Some(Ok(message)) => Ok(message),
        Some(Err(error)) => {
            let code = match error {
                DecodeError::TooLarge(_) | DecodeError::TooMany(_) => code::RESOURCE_EXHAUSTED,
                _ => code::INVALID_ARGUMENT,
            };
            Err(status_only(code, &error.to_string(), None))
        }
        None => Err(status_only(code::INTERNAL, "internal error", None)),
    }
}

/// The one length-prefixed message of a unary call: whether it is
/// compressed, and its bytes.
fn unframe(body: &[u8]) -> Result<(bool, &[u8]), &'static str> {
    let (prefix, rest) = body
        .split_first_chunk::<5>()
        .ok_or("the call holds no length-prefixed message")?;
    let compressed = match prefix[0] {
        0 => false,
        1 => true,
        _ => return Err("unknown message flag: the call is not gRPC framed"),
    };
    let length = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]) as usize;
    if rest.len() != length {
        return Err("a unary call carries exactly one message of its prefixed length");
    }
    Ok((compressed, rest))
}

/// HTTP 200 with the message framed in the body and `grpc-status: 0` in
/// the trailers.
fn success(message: &impl Message) -> Response {
    let encoded = message.encode_to_vec();
    let mut framed = Vec::with_capacity(encoded.len() + 5);
    framed.push(0);
    framed.extend_from_slice(&(encoded.len() as u32).to_be_bytes());
    framed.extend_from_slice(&encoded);
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from(code::OK));
    let frames = [
        Ok::<_, Infallible>(Frame::data(Bytes::from(framed))),
        Ok(Frame::trailers(trailers)),
    ];
    let mut response = Response::new(Body::new(StreamBody::new(futures::stream::iter(frames))));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    response
}

/// A failure as gRPC's "trailers-only" answer: HTTP 200, no body, the
/// status in the headers. `retry_after` (seconds) becomes a
/// `google.rpc.RetryInfo` detail, which OTLP exporters honour.
fn status_only(code: i32, message: &str, retry_after: Option<u64>) -> Response {
    let mut response = Response::new(Body::empty());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    headers.insert("grpc-status", HeaderValue::from(code));
    if let Ok(value) = HeaderValue::from_str(&percent_encode(message)) {
        headers.insert("grpc-message", value);
    }
    if let Some(seconds) = retry_after {
        let details = StatusDetails {
            code,
            message: message.to_string(),
            details: vec![Any {
                type_url: "type.googleapis.com/google.rpc.RetryInfo".into(),
                value: RetryInfo {
                    retry_delay: Some(ProtoDuration {
                        seconds: i64::try_from(seconds).unwrap_or(i64::MAX),
                        nanos: 0,
                    }),
                }
                .encode_to_vec(),
            }],
        };
        let encoded =
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(details.encode_to_vec());
        if let Ok(value) = HeaderValue::from_str(&encoded) {
            headers.insert("grpc-status-details-bin", value);
        }
    }
    response
}

/// A library error as a gRPC status (internal details are logged, not
/// returned, as for the REST API).
fn api_failure(error: ApiError) -> Response {
    let failed = ExportFailure::of(error);
    status_only(
        grpc_code(failed.status),
        &failed.message,
        failed.retry_after,
    )
}

/// The gRPC code for an HTTP status the API answered with.
fn grpc_code(status: StatusCode) -> i32 {
    match status {
        StatusCode::UNAUTHORIZED => code::UNAUTHENTICATED,
        StatusCode::FORBIDDEN => code::PERMISSION_DENIED,
        StatusCode::PAYLOAD_TOO_LARGE => code::RESOURCE_EXHAUSTED,
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => code::UNIMPLEMENTED,
        StatusCode::TOO_MANY_REQUESTS
        | StatusCode::SERVICE_UNAVAILABLE
        | StatusCode::GATEWAY_TIMEOUT => code::UNAVAILABLE,
        s if s.is_client_error() => code::INVALID_ARGUMENT,
        _ => code::INTERNAL,
    }
}

/// Answers the middleware in front of the handlers gave in the REST API's
/// form (401, 403, 429, 503 from auth and load shedding) are turned into
/// gRPC statuses on the gRPC paths, so exporters see UNAUTHENTICATED or
/// UNAVAILABLE (with its retry delay) instead of a protocol error.
pub async fn grpc_errors(request: Request, next: Next) -> Response {
    if !is_grpc_path(request.uri().path()) {
        return next.run(request).await;
    }
    let response = next.run(request).await;
    let is_grpc = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
    let status = response.status();
    if is_grpc || status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        return response;
    }
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // The API's error bodies are small JSON; read at most 64 KiB of it.
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let message = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    status_only(grpc_code(status), &message, retry_after)
}

/// `grpc-message` is percent-encoded: printable ASCII except `%` as is.
fn percent_encode(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for byte in message.bytes() {
        if (0x20..=0x7e).contains(&byte) && byte != b'%' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `google.rpc.Status` with its details, for `grpc-status-details-bin`.
#[derive(Clone, PartialEq, prost::Message)]
struct StatusDetails {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<Any>,
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, prost::Message)]
struct Any {
    #[prost(string, tag = "1")]
    type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

/// `google.rpc.RetryInfo`.
#[derive(Clone, PartialEq, prost::Message)]
struct RetryInfo {
    #[prost(message, optional, tag = "1")]
    retry_delay: Option<ProtoDuration>,
}

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, prost::Message)]
struct ProtoDuration {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unframes_one_message() {
        assert_eq!(unframe(&[0, 0, 0, 0, 2, 7, 8]), Ok((false, &[7u8, 8][..])));
        assert_eq!(unframe(&[1, 0, 0, 0, 0]), Ok((true, &[][..])));
        assert!(unframe(&[0, 0, 0]).is_err());
        assert!(unframe(&[0, 0, 0, 0, 3, 7, 8]).is_err());
        assert!(unframe(&[0, 0, 0, 0, 1, 7, 8]).is_err());
        assert!(unframe(&[2, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn messages_are_percent_encoded() {
        assert_eq!(percent_encode("50% off: é"), "50%25 off: %C3%A9");
    }

    #[test]
    fn http_statuses_map_to_grpc_codes() {
        assert_eq!(grpc_code(StatusCode::UNAUTHORIZED), code::UNAUTHENTICATED);
        assert_eq!(grpc_code(StatusCode::FORBIDDEN), code::PERMISSION_DENIED);
        assert_eq!(
            grpc_code(StatusCode::SERVICE_UNAVAILABLE),
            code::UNAVAILABLE
        );
        assert_eq!(grpc_code(StatusCode::TOO_MANY_REQUESTS), code::UNAVAILABLE);
        assert_eq!(grpc_code(StatusCode::BAD_REQUEST), code::INVALID_ARGUMENT);
        assert_eq!(grpc_code(StatusCode::INTERNAL_SERVER_ERROR), code::INTERNAL);
    }
}
