//! `/api/v1/agents`: create, list, get, delete (cascading).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorResponses};
use super::extract::{JsonBody, Params};
use super::guard::{Access, Routes};
use super::{created, AppState, DEFAULT_PAGE};
use crate::auth::Scope;
use crate::domain::{Agent, NewAgent, Page};

pub fn router() -> Routes {
    Routes::new()
        .add(Access::Scope(Scope::Read), routes!(list))
        .add(Access::Scope(Scope::Write), routes!(create))
        .add(Access::Scope(Scope::Read), routes!(show))
        .add(Access::Scope(Scope::Delete), routes!(remove))
}

/// Create an agent (embedded at once, searchable by meaning).
#[utoipa::path(post, path = "/agents", tag = "agents", request_body = NewAgent,
    responses(
        (status = 201, description = "Created (Location: its URL)", body = Agent),
        (status = 200, description = "An identical agent with this client id already existed", body = Agent),
        ErrorResponses))]
async fn create(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<NewAgent>,
) -> Result<Response, ApiError> {
    let (agent, outcome) = state.service.create_agent(request).await?;
    Ok(created(
        outcome,
        format!("/api/v1/agents/{}", agent.id),
        agent,
    ))
}

/// `?q=&limit=&offset=`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Only agents whose role or goal contains this text (case-insensitive).
    q: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

/// Agents, newest first.
#[utoipa::path(get, path = "/agents", tag = "agents", params(ListParams),
    responses((status = 200, description = "OK", body = Page<Agent>), ErrorResponses))]
async fn list(
    State(state): State<AppState>,
    Params(page): Params<ListParams>,
) -> Result<Json<Page<Agent>>, ApiError> {
    let page = state
        .service
        .list_agents(
            page.q.as_deref(),
            page.limit.unwrap_or(DEFAULT_PAGE),
            page.offset.unwrap_or(0),
        )
        .await?;
    Ok(Json(page))
}

/// One agent.
#[utoipa::path(get, path = "/agents/{id}", tag = "agents", params(("id" = String, Path)),
    responses((status = 200, description = "OK", body = Agent), ErrorResponses))]
async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Agent>, ApiError> {
    Ok(Json(state.service.get_agent(&id).await?))
}

/// Delete an agent with its tasks, thoughts, logs and vectors.
#[utoipa::path(delete, path = "/agents/{id}", tag = "agents", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), ErrorResponses))]
async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state.service.delete_agent(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
