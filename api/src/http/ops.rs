//! `/health` (each backend and the model, 503 when any is down, and the
//! embedding backlog) and `/metrics` (Prometheus text).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::AppState;
use crate::store::Table;
use crate::vectors::Collection;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(metrics))
}

fn component(result: &Result<(), String>) -> serde_json::Value {
    match result {
        Ok(()) => json!({ "status": "up" }),
        Err(error) => json!({ "status": "down", "error": error }),
    }
}

/// Each backend and the model, and the embedding backlog; open (no
/// credentials), for load balancers and probes.
#[utoipa::path(get, path = "/health", tag = "operations", security(()),
    responses(
        (status = 200, description = "Every component is up", body = serde_json::Value),
        (status = 503, description = "A component is down (named, with its error)", body = serde_json::Value)))]
async fn health(State(state): State<AppState>) -> Response {
    let (health, backlog) = tokio::join!(state.router.health(), state.indexer.backlog());
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
        // Logs and thoughts stored but not yet searchable by meaning.
        "embedding_backlog": backlog.ok(),
    });
    (status, Json(body)).into_response()
}

/// Prometheus metrics (text exposition format); open, for scrapers.
#[utoipa::path(get, path = "/metrics", tag = "operations", security(()),
    responses((status = 200, description = "OK", body = String, content_type = "text/plain; version=0.0.4")))]
async fn metrics(State(state): State<AppState>) -> Response {
    for table in [Table::Agent, Table::Task, Table::Thought, Table::Log] {
        if let Ok(n) = state.router.count_documents(table).await {
            state
                .metrics
                .documents
                .with_label_values(&[table.name()])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
    for collection in Collection::ALL {
        if let Ok(n) = state.router.count_vectors(collection).await {
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
    state
        .metrics
        .embedded
        .set(i64::try_from(state.indexer.embedded()).unwrap_or(i64::MAX));
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}
