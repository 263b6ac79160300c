//! AWS Lambda (feature `lambda`): the very Router the server runs, handed to
//! `lambda_http`, plus what Lambda needs around it:
//! - the API Gateway stage (`/prod/...`, which lambda_http puts in front of
//!   the path) and an optional base path (`LAMBDA_PATH_PREFIX`, for custom
//!   domains) are stripped before routing;
//! - request bodies are capped at Lambda's 6 MB payload limit, and a
//!   response that would not fit in it becomes a clear 413 instead of the
//!   502 Lambda would give;
//! - every request is logged in a span carrying the Lambda and API Gateway
//!   request ids, and answered with `x-request-id`.
//!
//! The binary (`src/bin/lambda/main.rs`) builds the state once per execution
//! environment; warm invocations reuse the clients and the model.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use lambda_http::request::RequestContext;
use tower::util::MapRequest;
use tower::ServiceExt;
use tracing::Instrument;

pub use lambda_http;

use crate::config::Config;
use crate::http::error::ApiError;
use crate::http::AppState;

/// AWS Lambda's limit on a synchronous invocation's request and response
/// payloads (the whole event or response document).
pub const PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;

/// Room left in [`PAYLOAD_LIMIT`] for the response envelope around the body
/// (status, headers, JSON keys).
const ENVELOPE_ALLOWANCE: usize = 16 * 1024;

/// Lambda-only settings, next to the usual [`Config`].
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LambdaConfig {
    /// A base path to strip before routing, e.g. `/vectadb` when a custom
    /// domain maps that path to the function.
    #[arg(long, env = "LAMBDA_PATH_PREFIX")]
    pub path_prefix: Option<String>,
}

/// Why the function cannot start.
#[derive(Debug, thiserror::Error)]
pub enum LambdaStartError {
    #[error(
        "vectadb-lambda needs SurrealDB and Qdrant servers: set SURREAL_URL (ws:// or wss://) \
         and QDRANT_URL (gRPC, usually port 6334); a Lambda function has no disk to keep an \
         embedded store on"
    )]
    EmbeddedBackends,
}

/// Refuse embedded backends: each execution environment would get its own
/// throw-away store.
pub fn check_config(config: &Config) -> Result<(), LambdaStartError> {
    if config.surreal_is_embedded() || config.qdrant_url.is_none() {
        return Err(LambdaStartError::EmbeddedBackends);
    }
    Ok(())
}

/// Turns lambda_http's request into the Router's, stripping the path.
type Strip = Box<dyn Fn(lambda_http::Request) -> Request + Send + Sync>;

/// The service `lambda_http::run` drives: stage and prefix stripping in
/// front of the API Router with the Lambda layers.
pub type LambdaService = MapRequest<Router, Strip>;

/// The server's Router, with request bodies capped at Lambda's limit, the
/// response size guard and request-id logging, behind path stripping.
pub fn service(mut state: AppState, lambda: &LambdaConfig) -> LambdaService {
    state.limits.body_bytes = state.limits.body_bytes.min(PAYLOAD_LIMIT);
    state.limits.document_bytes = state.limits.document_bytes.min(PAYLOAD_LIMIT);
    let router = crate::http::app(state)
        .layer(middleware::from_fn(guard_response_size))
        .layer(middleware::from_fn(request_ids));
    let prefix = lambda
        .path_prefix
        .as_deref()
        .map(|p| format!("/{}", p.trim_matches('/')))
        .filter(|p| p != "/");
    let strip: Strip = Box::new(move |request: lambda_http::Request| {
        with_client(strip_path(request.map(Body::new), prefix.as_deref()))
    });
    router.map_request(strip)
}

/// Serve invocations until the runtime stops us.
pub async fn run(state: AppState, lambda: &LambdaConfig) -> Result<(), lambda_http::Error> {
    lambda_http::run(service(state, lambda)).await
}

/// API Gateway's stage and request id, from the request context lambda_http attaches.
fn gateway(request: &Request) -> (Option<String>, Option<String>) {
    match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV1(context)) => {
            (context.stage.clone(), context.request_id.clone())
        }
        Some(RequestContext::ApiGatewayV2(context)) => {
            (context.stage.clone(), context.request_id.clone())
        }
        _ => (None, None),
    }
}

/// The caller's address as API Gateway saw it, as the peer address the
/// server would have (failed sign-ins are counted per client).
fn with_client(mut request: Request) -> Request {
    let source = match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV1(context)) => context.identity.source_ip.clone(),
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
        _ => None,
    };
    if let Some(ip) = source.and_then(|ip| ip.parse::<std::net::IpAddr>().ok()) {
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::new(ip, 0)));
    }
    request
}

/// The API Gateway stage, when the path carries it.
fn stage(request: &Request) -> Option<String> {
    let stage = gateway(request).0?;
    (stage != "$default" && !stage.is_empty()).then_some(stage)
}

/// Drop `/{stage}` and then the configured prefix from the front of the path.
fn strip_path(mut request: Request, prefix: Option<&str>) -> Request {
    let mut path = request.uri().path().to_string();
    if let Some(stage) = stage(&request) {
        path = strip_segment(&path, &format!("/{stage}"));
    }
    if let Some(prefix) = prefix {
        path = strip_segment(&path, prefix);
    }
    if path != request.uri().path() {
        let path_and_query = match request.uri().query() {
            Some(query) => format!("{path}?{query}"),
            None => path,
        };
        if let Ok(uri) = Uri::builder().path_and_query(path_and_query).build() {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// `path` without the leading `segment` when it starts with it as a whole
/// segment (`/prod/x` → `/x`, `/prod` → `/`, `/production` unchanged).
fn strip_segment(path: &str, segment: &str) -> String {
    match path.strip_prefix(segment) {
        Some("") => "/".to_string(),
        Some(rest) if rest.starts_with('/') => rest.to_string(),
        _ => path.to_string(),
    }
}

/// Log each request inside a span with the Lambda and API Gateway request
/// ids, and echo the Lambda one as `x-request-id`.
async fn request_ids(request: Request, next: Next) -> Response {
    let lambda_id = request
        .extensions()
        .get::<lambda_http::Context>()
        .map(|context| context.request_id.clone())
        .unwrap_or_default();
    let gateway_id = gateway(&request).1.unwrap_or_default();
    let span = tracing::info_span!(
        "invocation",
        request_id = %lambda_id,
        gateway_request_id = %gateway_id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    async move {
        let mut response = next.run(request).await;
        tracing::info!(status = response.status().as_u16(), "answered");
        if let Ok(value) = HeaderValue::from_str(&lambda_id) {
            if !lambda_id.is_empty() {
                response.headers_mut().insert("x-request-id", value);
            }
        }
        response
    }
    .instrument(span)
    .await
}

/// A response Lambda could not return (its JSON-escaped body over the
/// payload limit) becomes a 413 saying so.
async fn guard_response_size(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::error!(%error, "reading the response body");
            return ApiError::Internal.into_response();
        }
    };
    let size = envelope_size(&bytes);
    if size + ENVELOPE_ALLOWANCE > PAYLOAD_LIMIT {
        tracing::warn!(size, "response too large for Lambda");
        return ApiError::ResponseTooLarge {
            size,
            limit: PAYLOAD_LIMIT,
        }
        .into_response();
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// How many bytes `body` takes inside the response document: JSON-escaped
/// text, or base64 for anything that is not UTF-8.
fn envelope_size(body: &[u8]) -> usize {
    match std::str::from_utf8(body) {
        Ok(text) => text
            .chars()
            .map(|c| match c {
                '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
                c if (c as u32) < 0x20 => 6,
                c => c.len_utf8(),
            })
            .sum(),
        Err(_) => body.len().div_ceil(3) * 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripping_takes_whole_segments_only() {
        assert_eq!(
            strip_segment("/prod/api/v1/agents", "/prod"),
            "/api/v1/agents"
        );
        assert_eq!(strip_segment("/prod", "/prod"), "/");
        assert_eq!(strip_segment("/production/x", "/prod"), "/production/x");
        assert_eq!(strip_segment("/api/v1", "/prod"), "/api/v1");
    }

    #[test]
    fn envelope_size_counts_json_escapes_and_base64() {
        assert_eq!(envelope_size(br#"{"a":1}"#), 9);
        assert_eq!(envelope_size("é\n".as_bytes()), 4);
        assert_eq!(envelope_size(&[0xff, 0xfe, 0xfd, 0xfc]), 8);
    }
}
