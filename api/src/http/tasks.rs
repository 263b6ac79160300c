//! `/api/v1/tasks`: create, list (by agent, status), get, patch.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{JsonBody, Params};
use super::{created, AppState, DEFAULT_PAGE};
use crate::domain::{NewTask, Page, Task, TaskFilter, TaskPatch, TaskStatus};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tasks", get(list).post(create))
        .route("/tasks/{id}", get(show).patch(update))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    agent_id: Option<String>,
    status: Option<TaskStatus>,
    limit: Option<usize>,
    offset: Option<usize>,
}

async fn create(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<NewTask>,
) -> Result<Response, ApiError> {
    let (task, outcome) = state.router.create_task(request).await?;
    Ok(created(outcome, format!("/api/v1/tasks/{}", task.id), task))
}

async fn list(
    State(state): State<AppState>,
    Params(params): Params<ListParams>,
) -> Result<Json<Page<Task>>, ApiError> {
    let filter = TaskFilter {
        agent_id: params.agent_id,
        status: params.status,
    };
    let page = state
        .router
        .list_tasks(
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
) -> Result<Json<Task>, ApiError> {
    Ok(Json(state.router.get_task(&id).await?))
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<TaskPatch>,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(state.router.update_task(&id, patch).await?))
}
