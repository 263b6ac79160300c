//! `/api/v1/traces/{agent_id}`: the agent's execution trace in one graph query.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};

use super::error::ApiError;
use super::AppState;
use crate::domain::Trace;

pub fn router() -> Router<AppState> {
    Router::new().route("/traces/{agent_id}", get(trace))
}

async fn trace(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
) -> Result<Json<Trace>, ApiError> {
    Ok(Json(state.router.trace(&agent_id).await?))
}
