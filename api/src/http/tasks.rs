//! `/api/v1/tasks`: create, list (by agent, status), get, patch.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use serde::Deserialize;

use super::error::{ApiError, ErrorResponses};
use super::extract::{JsonBody, Params};
use super::{created, AppState, DEFAULT_PAGE};
use crate::domain::{NewTask, Page, Task, TaskFilter, TaskPatch, TaskStatus};
use utoipa_axum::routes;

use super::guard::{Access, Routes};
use crate::auth::Scope;
pub fn router() -> Routes {
    Routes::new()
        .add(Access::Scope(Scope::Read), routes!(list))
        .add(Access::Scope(Scope::Write), routes!(create))
        .add(Access::Scope(Scope::Read), routes!(show))
        .add(Access::Scope(Scope::Write), routes!(update))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListParams {
    agent_id: Option<String>,
    status: Option<TaskStatus>,
    limit: Option<usize>,
    offset: Option<usize>,
}

/// Create a task for an agent.
#[utoipa::path(post, path = "/tasks", tag = "tasks", request_body = NewTask,
    responses(
        (status = 201, description = "Created (Location: its URL)", body = Task),
        (status = 200, description = "An identical task with this client id already existed", body = Task),
        ErrorResponses))]
async fn create(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<NewTask>,
) -> Result<Response, ApiError> {
    let (task, outcome) = state.service.create_task(request).await?;
    Ok(created(outcome, format!("/api/v1/tasks/{}", task.id), task))
}

/// Tasks, newest first, by agent and status.
#[utoipa::path(get, path = "/tasks", tag = "tasks", params(ListParams),
    responses((status = 200, description = "OK", body = Page<Task>), ErrorResponses))]
async fn list(
    State(state): State<AppState>,
    Params(params): Params<ListParams>,
) -> Result<Json<Page<Task>>, ApiError> {
    let filter = TaskFilter {
        agent_id: params.agent_id,
        status: params.status,
    };
    let page = state
        .service
        .list_tasks(
            &filter,
            params.limit.unwrap_or(DEFAULT_PAGE),
            params.offset.unwrap_or(0),
        )
        .await?;
    Ok(Json(page))
}

/// One task.
#[utoipa::path(get, path = "/tasks/{id}", tag = "tasks", params(("id" = String, Path)),
    responses((status = 200, description = "OK", body = Task), ErrorResponses))]
async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(state.service.get_task(&id).await?))
}

/// Change a task's description, status, output or metadata.
#[utoipa::path(patch, path = "/tasks/{id}", tag = "tasks", params(("id" = String, Path)),
    request_body = TaskPatch, responses((status = 200, description = "OK", body = Task), ErrorResponses))]
async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<TaskPatch>,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(state.service.update_task(&id, patch).await?))
}
