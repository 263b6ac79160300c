//! `/api/v1/similar/{agents,tasks}`: search by meaning, with threshold,
//! limit and filters, answered with full documents and their similarity.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::extract::JsonBody;
use super::AppState;
use crate::domain::{Agent, Task, TaskStatus};
use crate::router::{Scored, SimilarQuery};
use crate::vectors::VectorFilter;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/similar/agents", post(agents))
        .route("/similar/tasks", post(tasks))
}

/// Body of `POST /similar/agents`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimilarAgentsRequest {
    pub query: String,
    pub threshold: Option<f32>,
    pub limit: Option<usize>,
}

/// Body of `POST /similar/tasks`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimilarTasksRequest {
    pub query: String,
    pub threshold: Option<f32>,
    pub limit: Option<usize>,
    #[serde(default)]
    pub filter: TaskSearchFilter,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSearchFilter {
    pub agent_id: Option<String>,
    pub status: Option<TaskStatus>,
}

#[derive(Debug, Serialize)]
pub struct Results<T> {
    pub results: Vec<Scored<T>>,
}

impl From<SimilarAgentsRequest> for SimilarQuery {
    fn from(r: SimilarAgentsRequest) -> Self {
        SimilarQuery {
            query: r.query,
            threshold: r.threshold,
            limit: r.limit,
            filter: VectorFilter::default(),
        }
    }
}

impl From<SimilarTasksRequest> for SimilarQuery {
    fn from(r: SimilarTasksRequest) -> Self {
        SimilarQuery {
            query: r.query,
            threshold: r.threshold,
            limit: r.limit,
            filter: VectorFilter {
                agent_id: r.filter.agent_id,
                status: r.filter.status.map(|s| s.as_str().to_string()),
            },
        }
    }
}

async fn agents(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<SimilarAgentsRequest>,
) -> Result<Json<Results<Agent>>, ApiError> {
    let results = state.router.similar_agents(request.into()).await?;
    Ok(Json(Results { results }))
}

async fn tasks(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<SimilarTasksRequest>,
) -> Result<Json<Results<Task>>, ApiError> {
    let results = state.router.similar_tasks(request.into()).await?;
    Ok(Json(Results { results }))
}
