//! `/api/v1/thoughts`: record a chain-of-thought step, list a chain, get one.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{JsonBody, Params};
use super::{created, AppState, DEFAULT_PAGE};
use crate::domain::{NewThought, Page, Thought, ThoughtFilter};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/thoughts", get(list).post(create))
        .route("/thoughts/{id}", get(show))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    agent_id: Option<String>,
    task_id: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

async fn create(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<NewThought>,
) -> Result<Response, ApiError> {
    let (thought, outcome) = state.router.create_thought(request).await?;
    Ok(created(
        outcome,
        format!("/api/v1/thoughts/{}", thought.id),
        thought,
    ))
}

async fn list(
    State(state): State<AppState>,
    Params(params): Params<ListParams>,
) -> Result<Json<Page<Thought>>, ApiError> {
    let filter = ThoughtFilter {
        agent_id: params.agent_id,
        task_id: params.task_id,
    };
    let page = state
        .router
        .list_thoughts(
            &filter,
            params.limit.unwrap_or(DEFAULT_PAGE),
            params.offset.unwrap_or(0),
        )
        .await?;
    Ok(Json(page))
}

async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Thought>, ApiError> {
    Ok(Json(state.router.get_thought(&id).await?))
}
