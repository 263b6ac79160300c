//! `/api/v1/similar/{agents,tasks,logs,thoughts}`: search by meaning, with
//! threshold, limit and filters, answered with full documents and their
//! similarity. Logs and thoughts are found once the indexer embedded them;
//! they can also be searched by text, or both ways at once (`mode`).

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ErrorResponses};
use super::extract::JsonBody;
use super::AppState;
use crate::domain::{validate, Agent, Log, LogLevel, Task, TaskStatus, Thought, ValidationError};
use crate::service::{Scored, SearchMode, SimilarQuery};
use crate::vectors::VectorFilter;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(agents))
        .routes(routes!(tasks))
        .routes(routes!(logs))
        .routes(routes!(thoughts))
}

/// Body of every `POST /similar/...`: the query, threshold and limit, and
/// filters of that kind of document.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimilarRequest<F> {
    pub query: String,
    /// Least similarity (semantic and hybrid modes: the semantic side).
    pub threshold: Option<f32>,
    pub limit: Option<usize>,
    #[serde(default)]
    pub filter: F,
    /// Logs and thoughts: `semantic` (default), `text` (words, `"phrases"`
    /// and `prefixes*`, ranked by BM25) or `hybrid` (both, fused by
    /// reciprocal rank). Agents and tasks: `semantic` only.
    #[serde(default)]
    pub mode: SearchMode,
}

pub type SimilarAgentsRequest = SimilarRequest<NoFilter>;
pub type SimilarTasksRequest = SimilarRequest<TaskSearchFilter>;
pub type SimilarLogsRequest = SimilarRequest<LogSearchFilter>;
pub type SimilarThoughtsRequest = SimilarRequest<ThoughtSearchFilter>;

/// Agents have no filters (`"filter": {}` at most).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoFilter {}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskSearchFilter {
    pub agent_id: Option<String>,
    pub status: Option<TaskStatus>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogSearchFilter {
    pub agent_id: Option<String>,
    pub task_id: Option<String>,
    /// Exactly this level.
    pub level: Option<LogLevel>,
    /// This level or a more severe one.
    pub min_level: Option<LogLevel>,
    /// Inclusive.
    pub since: Option<DateTime<Utc>>,
    /// Exclusive.
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThoughtSearchFilter {
    pub agent_id: Option<String>,
    pub task_id: Option<String>,
    pub kind: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Results<T> {
    pub results: Vec<Scored<T>>,
}

impl<F> SimilarRequest<F> {
    /// The query with its filter in vector-index terms.
    fn with(self, filter: VectorFilter) -> SimilarQuery {
        SimilarQuery {
            query: self.query,
            threshold: self.threshold,
            limit: self.limit,
            filter,
            mode: self.mode,
        }
    }

    /// Agents and tasks are searched by meaning only.
    fn semantic_only(&self) -> Result<(), ValidationError> {
        if self.mode == SearchMode::Semantic {
            Ok(())
        } else {
            Err(ValidationError::new(
                "mode",
                "agents and tasks are searched by meaning only (semantic)",
            ))
        }
    }
}

impl TryFrom<SimilarAgentsRequest> for SimilarQuery {
    type Error = ValidationError;

    fn try_from(r: SimilarAgentsRequest) -> Result<Self, ValidationError> {
        r.semantic_only()?;
        Ok(r.with(VectorFilter::default()))
    }
}

impl TryFrom<SimilarTasksRequest> for SimilarQuery {
    type Error = ValidationError;

    fn try_from(r: SimilarTasksRequest) -> Result<Self, ValidationError> {
        r.semantic_only()?;
        let filter = VectorFilter {
            agent_id: r.filter.agent_id.clone(),
            status: r.filter.status.map(|s| s.as_str().to_string()),
            ..VectorFilter::default()
        };
        Ok(r.with(filter))
    }
}

fn check_owners(
    agent_id: &Option<String>,
    task_id: &Option<String>,
) -> Result<(), ValidationError> {
    validate::optional_id("agent_id", agent_id.as_deref()).map_err(|e| e.within("filter"))?;
    validate::optional_id("task_id", task_id.as_deref()).map_err(|e| e.within("filter"))
}

fn millis(time: Option<DateTime<Utc>>) -> Option<i64> {
    time.map(|t| t.timestamp_millis())
}

impl TryFrom<SimilarLogsRequest> for SimilarQuery {
    type Error = ValidationError;

    fn try_from(r: SimilarLogsRequest) -> Result<Self, ValidationError> {
        let f = &r.filter;
        check_owners(&f.agent_id, &f.task_id)?;
        let levels = match (f.level, f.min_level) {
            (Some(_), Some(_)) => {
                return Err(ValidationError::new(
                    "filter.min_level",
                    "give filter.level or filter.min_level, not both",
                ))
            }
            (Some(level), None) => Some(vec![level]),
            (None, Some(min)) => Some(min.and_above()),
            (None, None) => None,
        };
        let filter = VectorFilter {
            agent_id: f.agent_id.clone(),
            task_id: f.task_id.clone(),
            levels: levels.map(|l| l.iter().map(|l| l.as_str().to_string()).collect()),
            since: millis(f.since),
            until: millis(f.until),
            ..VectorFilter::default()
        };
        Ok(r.with(filter))
    }
}

impl TryFrom<SimilarThoughtsRequest> for SimilarQuery {
    type Error = ValidationError;

    fn try_from(r: SimilarThoughtsRequest) -> Result<Self, ValidationError> {
        let f = &r.filter;
        check_owners(&f.agent_id, &f.task_id)?;
        if let Some(kind) = &f.kind {
            validate::required_text("filter.kind", kind)?;
        }
        let filter = VectorFilter {
            agent_id: f.agent_id.clone(),
            task_id: f.task_id.clone(),
            kind: f.kind.clone(),
            since: millis(f.since),
            until: millis(f.until),
            ..VectorFilter::default()
        };
        Ok(r.with(filter))
    }
}

/// Agents similar in meaning to the query (role, goal, metadata).
#[utoipa::path(post, path = "/similar/agents", tag = "similarity", request_body = SimilarRequest<NoFilter>,
    responses((status = 200, description = "Best first", body = Results<Agent>), ErrorResponses))]
async fn agents(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<SimilarAgentsRequest>,
) -> Result<Json<Results<Agent>>, ApiError> {
    let query = SimilarQuery::try_from(request).map_err(crate::error::Error::from)?;
    let results = state.service.similar_agents(query).await?;
    Ok(Json(Results { results }))
}

/// Tasks similar in meaning, by agent and status.
#[utoipa::path(post, path = "/similar/tasks", tag = "similarity", request_body = SimilarRequest<TaskSearchFilter>,
    responses((status = 200, description = "Best first", body = Results<Task>), ErrorResponses))]
async fn tasks(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<SimilarTasksRequest>,
) -> Result<Json<Results<Task>>, ApiError> {
    let query = SimilarQuery::try_from(request).map_err(crate::error::Error::from)?;
    let results = state.service.similar_tasks(query).await?;
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
    let query = SimilarQuery::try_from(request).map_err(crate::error::Error::from)?;
    let results = state.service.similar_logs(query).await?;
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
    let query = SimilarQuery::try_from(request).map_err(crate::error::Error::from)?;
    let results = state.service.similar_thoughts(query).await?;
    Ok(Json(Results { results }))
}
