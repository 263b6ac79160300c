//! The HTTP API (axum): [`app`] builds the whole Router from one
//! [`AppState`], so the server, the Lambda entry and the tests serve the
//! very same routes. One module per resource; `error` maps every failure;
//! `openapi` gathers the documented routes (and serves their OpenAPI
//! document); `guard` declares each route's access with the route and
//! enforces it, `shed` sheds load in front of every route; `ui` serves the admin console's files.

pub mod agents;
pub mod auth;
pub mod error;
pub mod extract;
pub mod guard;
pub mod keys;
pub mod logs;
pub mod openapi;
pub mod ops;
pub mod otlp;
pub mod otlp_grpc;
pub mod rpc;
pub mod shed;
pub mod similar;
pub mod tasks;
pub mod thoughts;
pub mod traces;
pub mod ui;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::handler::Handler;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use serde::Deserialize;

use crate::metrics::Metrics;
use crate::service::Service;
use error::{ApiError, ErrorKind};

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub service: Arc<Service>,
    pub metrics: Arc<Metrics>,
    /// Embeds queued logs and thoughts (its loop runs as a background task).
    pub indexer: Arc<crate::indexer::Indexer>,
    /// Places accepted OTLP exports (its loop runs as a background task).
    pub otlp: Arc<crate::otlp::worker::OtlpWorker>,
    /// Removes expired documents (its loop runs as a background task).
    pub retention: Arc<crate::retention::Retention>,
    /// Indexes stored logs and thoughts for text search (a background task).
    pub text_indexer: Arc<crate::text::indexer::TextIndexer>,
    /// Returns freed heap memory to the system when requests pause.
    pub reclaimer: crate::memory::Reclaimer,
    /// Credentials and sessions.
    pub auth: Arc<crate::auth::Auth>,
    /// How much one request may carry.
    pub limits: Limits,
    /// Requests in flight and their time limit.
    pub shedder: shed::Shedder,
    /// The shared answers of `/health` and `/metrics`.
    pub ops: Arc<ops::OpsCache>,
}

/// How much one request may carry: each route reads at most its own limit,
/// so a request's memory is bounded by it (SECURITY.md "Memory bound").
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A batch body (logs, OTLP; for OTLP also once decompressed).
    pub body_bytes: usize,
    /// A single document: an agent, task, thought, key, query or JSON-RPC
    /// request.
    pub document_bytes: usize,
    /// Most messages (spans, records, attributes, values) in one OTLP
    /// request; in OTLP/JSON, most JSON values.
    pub otlp_items: usize,
}

/// Default body limit: a full batch of 10,000 logs with room to spare.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// Default single-document limit.
pub const DEFAULT_MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// Default most messages (spans, records, attributes, values) per OTLP request.
pub const DEFAULT_MAX_OTLP_ITEMS: usize = 200_000;
/// A sign-in body: a username and a password.
pub const SIGN_IN_BYTES: usize = 4 * 1024;

/// The whole API.
pub fn app(state: AppState) -> Router {
    let (api, _) = openapi::routes().into_router().split_for_parts();
    api.merge(ui::router())
        .merge(otlp_grpc::router())
        .fallback(not_found.layer(middleware::from_fn(guard::fallback_access)))
        // Each route's gate (`guard::Routes`) reads the state from here.
        .layer(Extension(state.clone()))
        .layer(middleware::from_fn_with_state(state.clone(), shed::shed))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            record_metrics,
        ))
        .layer(DefaultBodyLimit::max(state.limits.body_bytes))
        .layer(middleware::from_fn(otlp_grpc::grpc_errors))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound {
        message: "no such route".into(),
    }
}

/// Count and time every request by route template, method and status.
async fn record_metrics(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = request.method().as_str().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [route.as_str(), method.as_str(), status.as_str()];
    state.metrics.http_requests.with_label_values(&labels).inc();
    state
        .metrics
        .http_duration
        .with_label_values(&labels)
        .observe(started.elapsed().as_secs_f64());
    if let Some(ErrorKind(kind)) = response.extensions().get::<ErrorKind>() {
        state.metrics.errors.with_label_values(&[kind]).inc();
    }
    response
}

/// `?limit=&offset=` shared by the list routes.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

pub const DEFAULT_PAGE: usize = 50;

/// A created document: 201 (or 200 when an identical one already existed)
/// with a Location header.
pub fn created<T: serde::Serialize>(
    outcome: crate::service::Outcome,
    location: String,
    body: T,
) -> Response {
    let status = match outcome {
        crate::service::Outcome::Created => axum::http::StatusCode::CREATED,
        crate::service::Outcome::Existing => axum::http::StatusCode::OK,
    };
    (
        status,
        [(axum::http::header::LOCATION, location)],
        axum::Json(body),
    )
        .into_response()
}
