//! `/api/v1/thoughts`: record a chain-of-thought step, list a chain, get one.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use serde::Deserialize;

use super::error::{ApiError, ErrorResponses};
use super::extract::{JsonBody, Params};
use super::{created, AppState, DEFAULT_PAGE};
use crate::domain::{NewThought, Page, Thought, ThoughtFilter};
use utoipa_axum::routes;

use super::guard::{Access, Routes};
use crate::auth::Scope;
pub fn router() -> Routes {
    Routes::new()
        .add(Access::Scope(Scope::Read), routes!(list))
        .add(Access::Scope(Scope::Write), routes!(create))
        .add(Access::Scope(Scope::Read), routes!(show))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListParams {
    agent_id: Option<String>,
    task_id: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

/// Record a thought: the next step of its chain unless `step` is given.
#[utoipa::path(post, path = "/thoughts", tag = "thoughts", request_body = NewThought,
    responses(
        (status = 201, description = "Created (Location: its URL)", body = Thought),
        (status = 200, description = "An identical thought with this client id already existed", body = Thought),
        ErrorResponses))]
async fn create(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<NewThought>,
) -> Result<Response, ApiError> {
    let (thought, outcome) = state.service.create_thought(request).await?;
    Ok(created(
        outcome,
        format!("/api/v1/thoughts/{}", thought.id),
        thought,
    ))
}

/// Thoughts in chain order, by agent and task.
#[utoipa::path(get, path = "/thoughts", tag = "thoughts", params(ListParams),
    responses((status = 200, description = "OK", body = Page<Thought>), ErrorResponses))]
async fn list(
    State(state): State<AppState>,
    Params(params): Params<ListParams>,
) -> Result<Json<Page<Thought>>, ApiError> {
    let filter = ThoughtFilter {
        agent_id: params.agent_id,
        task_id: params.task_id,
        ..ThoughtFilter::default()
    };
    let page = state
        .service
        .list_thoughts(
            &filter,
            params.limit.unwrap_or(DEFAULT_PAGE),
            params.offset.unwrap_or(0),
        )
        .await?;
    Ok(Json(page))
}

/// One thought.
#[utoipa::path(get, path = "/thoughts/{id}", tag = "thoughts", params(("id" = String, Path)),
    responses((status = 200, description = "OK", body = Thought), ErrorResponses))]
async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Thought>, ApiError> {
    Ok(Json(state.service.get_thought(&id).await?))
}
