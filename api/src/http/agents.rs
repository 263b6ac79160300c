//! `/api/v1/agents`: create, list, get, delete (cascading).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::error::ApiError;
use super::extract::{JsonBody, Params};
use super::{created, AppState, PageParams, DEFAULT_PAGE};
use crate::domain::{Agent, NewAgent, Page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/agents", get(list).post(create))
        .route("/agents/{id}", get(show).delete(remove))
}

async fn create(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<NewAgent>,
) -> Result<Response, ApiError> {
    let (agent, outcome) = state.router.create_agent(request).await?;
    Ok(created(
        outcome,
        format!("/api/v1/agents/{}", agent.id),
        agent,
    ))
}

async fn list(
    State(state): State<AppState>,
    Params(page): Params<PageParams>,
) -> Result<Json<Page<Agent>>, ApiError> {
    let page = state
        .router
        .list_agents(page.limit.unwrap_or(DEFAULT_PAGE), page.offset.unwrap_or(0))
        .await?;
    Ok(Json(page))
}

async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Agent>, ApiError> {
    Ok(Json(state.router.get_agent(&id).await?))
}

async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state.router.delete_agent(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
