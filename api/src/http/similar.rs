//! `/api/v1/similar/{agents,tasks,logs,thoughts}`: search by meaning, with
//! threshold, limit and filters, answered with full documents and their
//! similarity. Logs and thoughts are found once the indexer embedded them;
//! they can also be searched by text, or both ways at once (`mode`).

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorResponses};
use super::extract::JsonBody;
use super::guard::{Access, Routes};
use super::AppState;
use crate::auth::Scope;
use crate::domain::{Agent, Log, Task, Thought};
use crate::service::query::{
    LogSearchFilter, NoFilter, SimilarAgentsRequest, SimilarLogsRequest, SimilarRequest,
    SimilarTasksRequest, SimilarThoughtsRequest, TaskSearchFilter, ThoughtSearchFilter,
};
use crate::service::Scored;

pub fn router() -> Routes {
    Routes::new()
        .add(Access::Scope(Scope::Read), routes!(agents))
        .add(Access::Scope(Scope::Read), routes!(tasks))
        .add(Access::Scope(Scope::Read), routes!(logs))
        .add(Access::Scope(Scope::Read), routes!(thoughts))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Results<T> {
    pub results: Vec<Scored<T>>,
}

/// Agents similar in meaning to the query (role, goal, metadata).
#[utoipa::path(post, path = "/similar/agents", tag = "similarity", request_body = SimilarRequest<NoFilter>,
    responses((status = 200, description = "Best first", body = Results<Agent>), ErrorResponses))]
async fn agents(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<SimilarAgentsRequest>,
) -> Result<Json<Results<Agent>>, ApiError> {
    let results = state.service.similar_agents(request).await?;
    Ok(Json(Results { results }))
}

/// Tasks similar in meaning, by agent and status.
#[utoipa::path(post, path = "/similar/tasks", tag = "similarity", request_body = SimilarRequest<TaskSearchFilter>,
    responses((status = 200, description = "Best first", body = Results<Task>), ErrorResponses))]
async fn tasks(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<SimilarTasksRequest>,
) -> Result<Json<Results<Task>>, ApiError> {
    let results = state.service.similar_tasks(request).await?;
    Ok(Json(Results { results }))
}

/// Logs by meaning (once embedded), by text (once indexed, within a
/// second or so of being stored) or both (`mode`), by agent, task, level
/// and time.
#[utoipa::path(post, path = "/similar/logs", tag = "similarity", request_body = SimilarRequest<LogSearchFilter>,
    responses((status = 200, description = "Best first", body = Results<Log>), ErrorResponses))]
async fn logs(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<SimilarLogsRequest>,
) -> Result<Json<Results<Log>>, ApiError> {
    let results = state.service.similar_logs(request).await?;
    Ok(Json(Results { results }))
}

/// Thoughts by meaning, by text or both (`mode`), by agent, task, kind and
/// time.
#[utoipa::path(post, path = "/similar/thoughts", tag = "similarity", request_body = SimilarRequest<ThoughtSearchFilter>,
    responses((status = 200, description = "Best first", body = Results<Thought>), ErrorResponses))]
async fn thoughts(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<SimilarThoughtsRequest>,
) -> Result<Json<Results<Thought>>, ApiError> {
    let results = state.service.similar_thoughts(request).await?;
    Ok(Json(Results { results }))
}
