//! `/api/v1/traces/{agent_id}`: the agent's execution trace in one graph query.

use axum::extract::{Path, State};
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ErrorResponses};
use super::AppState;
use crate::domain::Trace;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(trace))
}

/// The agent's execution trace: its tasks, each with its chain of thoughts
/// and its logs, and what it did outside tasks.
#[utoipa::path(get, path = "/traces/{agent_id}", tag = "traces", params(("agent_id" = String, Path)),
    responses((status = 200, description = "OK", body = Trace), ErrorResponses))]
async fn trace(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
) -> Result<Json<Trace>, ApiError> {
    Ok(Json(state.router.trace(&agent_id).await?))
}
