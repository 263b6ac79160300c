//! `/health` (each backend and the model, 503 when any is down, and the
//! embedding backlog) and `/metrics` (Prometheus text). Both are open, so
//! neither does work per hit: health checks are shared by every caller for
//! up to `HEALTH_CACHE_MILLIS`, and the gauges `/metrics` shows (document
//! and vector counts) are refreshed in the background at most every
//! `METRICS_REFRESH_SECONDS` (on the first scrape, and with 0 on every
//! scrape, before answering).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use utoipa_axum::routes;

use super::guard::{Access, Routes};
use super::AppState;
use crate::service::Health;
use crate::store::Table;
use crate::vectors::Collection;

pub fn router() -> Routes {
    Routes::new()
        .add(Access::Public, routes!(health))
        .add(Access::Public, routes!(metrics))
}

/// The last health check and gauge refresh, shared by all requests.
pub struct OpsCache {
    ttl: Duration,
    gauges_every: Duration,
    health: tokio::sync::Mutex<Option<(Instant, chrono::DateTime<chrono::Utc>, Health)>>,
    gauges_at: Mutex<Option<Instant>>,
    refreshing: AtomicBool,
}

impl OpsCache {
    pub fn new(health_ttl: Duration, gauges_every: Duration) -> Self {
        Self {
            ttl: health_ttl,
            gauges_every,
            health: tokio::sync::Mutex::new(None),
            gauges_at: Mutex::new(None),
            refreshing: AtomicBool::new(false),
        }
    }
}

/// The components' health, checked at most once per TTL: callers arriving
/// while a check runs wait for it instead of starting their own.
async fn checked_health(state: &AppState) -> (chrono::DateTime<chrono::Utc>, Health) {
    let mut cached = state.ops.health.lock().await;
    if let Some((at, checked_at, health)) = cached.as_ref() {
        if at.elapsed() < state.ops.ttl {
            return (*checked_at, health.clone());
        }
    }
    let health = state.service.health().await;
    let checked_at = chrono::Utc::now();
    *cached = Some((Instant::now(), checked_at, health.clone()));
    (checked_at, health)
}

fn component(result: &Result<(), String>) -> serde_json::Value {
    match result {
        Ok(()) => json!({ "status": "up" }),
        Err(error) => json!({ "status": "down", "error": error }),
    }
}

/// Each backend and the model, and the embedding and text backlogs; open (no
/// credentials), for load balancers and probes.
#[utoipa::path(get, path = "/health", tag = "operations", security(()),
    responses(
        (status = 200, description = "Every component is up", body = serde_json::Value),
        (status = 503, description = "A component is down (named, with its error)", body = serde_json::Value)))]
async fn health(State(state): State<AppState>) -> Response {
    let ((checked_at, health), backlog, text_backlog) = tokio::join!(
        checked_health(&state),
        state.indexer.backlog(),
        state.text_indexer.backlog()
    );
    let status = if health.is_ok() {
        StatusCode::OK
    } else {
        tracing::warn!(?health, "health check failed");
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if health.is_ok() { "ok" } else { "unavailable" },
        "components": {
            "document_store": component(&health.document_store),
            "vector_index": component(&health.vector_index),
            "embedding_model": component(&health.embedding_model),
        },
        // When the components were last checked (shared for a moment).
        "checked_at": checked_at,
        // Logs and thoughts stored but not yet searchable by meaning.
        "embedding_backlog": backlog.ok(),
        // Log blocks and thoughts stored but not yet searchable by words.
        "text_backlog": text_backlog.ok(),
        // Windows, what was removed since start and the last pass.
        "retention": state.retention.report(),
    });
    (status, Json(body)).into_response()
}

/// Prometheus metrics (text exposition format); open, for scrapers.
#[utoipa::path(get, path = "/metrics", tag = "operations", security(()),
    responses((status = 200, description = "OK", body = String, content_type = "text/plain; version=0.0.4")))]
async fn metrics(State(state): State<AppState>) -> Response {
    let last = *state.ops.gauges_at.lock().expect("ops lock");
    let every = state.ops.gauges_every;
    if last.is_none() || every.is_zero() {
        refresh_gauges(&state).await;
        *state.ops.gauges_at.lock().expect("ops lock") = Some(Instant::now());
    } else if last.is_some_and(|at| at.elapsed() >= every)
        && !state.ops.refreshing.swap(true, Ordering::SeqCst)
    {
        let state = state.clone();
        tokio::spawn(async move {
            refresh_gauges(&state).await;
            *state.ops.gauges_at.lock().expect("ops lock") = Some(Instant::now());
            state.ops.refreshing.store(false, Ordering::SeqCst);
        });
    }
    state
        .metrics
        .embedded
        .set(i64::try_from(state.indexer.embedded()).unwrap_or(i64::MAX));
    let (hits, misses) = state.indexer.cache().hits_and_misses();
    for (result, count) in [("hit", hits), ("miss", misses)] {
        state
            .metrics
            .embed_cache_lookups
            .with_label_values(&[result])
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }
    state
        .metrics
        .indexer_paused
        .set(i64::try_from(state.indexer.paused_ms()).unwrap_or(i64::MAX));
    let removed = state.retention.removed();
    for (kind, count) in [
        ("logs", removed.logs),
        ("thoughts", removed.thoughts),
        ("tasks", removed.tasks),
        ("queue_entries", removed.queue_entries),
    ] {
        state
            .metrics
            .retention_removed
            .with_label_values(&[kind])
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Count documents, vectors and the backlog into the gauges.
pub async fn refresh_gauges(state: &AppState) {
    for table in [Table::Agent, Table::Task, Table::Thought, Table::Log] {
        if let Ok(n) = state.service.count_documents(table).await {
            state
                .metrics
                .documents
                .with_label_values(&[table.name()])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
    for collection in Collection::ALL {
        if let Ok(n) = state.service.count_vectors(collection).await {
            let label = match collection {
                Collection::Agents => "agents",
                Collection::Tasks => "tasks",
                Collection::Logs => "logs",
                Collection::Thoughts => "thoughts",
            };
            state
                .metrics
                .vectors
                .with_label_values(&[label])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
    if let Ok(n) = state.indexer.backlog().await {
        state
            .metrics
            .embed_backlog
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    if let Ok(n) = state.text_indexer.backlog().await {
        state
            .metrics
            .text_backlog
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
}
