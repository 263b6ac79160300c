//! `/api/v1/traces/{agent_id}`: the agent's execution trace in bounded
//! pages, and the rest of any list a trace cut short
//! (`/traces/{agent_id}/logs`, `/traces/{agent_id}/thoughts`).

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorResponses};
use super::extract::Params;
use super::guard::{Access, Routes};
use super::{AppState, DEFAULT_PAGE};
use crate::auth::Scope;
use crate::domain::trace::{parse_thought_cursor, TaskCursor};
use crate::domain::validate::{optional_id, ValidationError};
use crate::domain::{Log, LogCursor, Page, Thought, Trace, TraceShape};
use crate::error::Error;

pub fn router() -> Routes {
    Routes::new()
        .add(Access::Scope(Scope::Read), routes!(trace))
        .add(Access::Scope(Scope::Read), routes!(logs))
        .add(Access::Scope(Scope::Read), routes!(thoughts))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct TraceParams {
    /// Most tasks in this response (1–1,000; default 100).
    tasks_limit: Option<usize>,
    /// The previous response's `tasks_next_cursor`: the tasks after it.
    tasks_cursor: Option<String>,
    /// Most thoughts under the agent and under each task (1–1,000;
    /// default 100).
    thoughts_per_task: Option<usize>,
    /// Most logs under the agent and under each task (1–1,000; default 20).
    logs_per_task: Option<usize>,
}

/// The agent's execution trace: its tasks, each with its chain of thoughts
/// and its logs, and what it did outside tasks. Every list is bounded; one
/// cut short has a `*_next_cursor` for the rest.
#[utoipa::path(get, path = "/traces/{agent_id}", tag = "traces",
    params(("agent_id" = String, Path), TraceParams),
    responses((status = 200, description = "OK", body = Trace), ErrorResponses))]
async fn trace(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
    Params(params): Params<TraceParams>,
) -> Result<Json<Trace>, ApiError> {
    let after = params
        .tasks_cursor
        .as_deref()
        .map(|text| {
            TaskCursor::decode(text).ok_or_else(|| {
                Error::Invalid(ValidationError::new(
                    "tasks_cursor",
                    "not a cursor this API made",
                ))
            })
        })
        .transpose()?;
    let shape = TraceShape::new(
        params.tasks_limit,
        params.thoughts_per_task,
        params.logs_per_task,
        after,
    )
    .map_err(Error::Invalid)?;
    Ok(Json(state.service.trace(&agent_id, &shape).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct MoreParams {
    /// The task whose list continues; absent: the agent's own, outside
    /// tasks.
    task_id: Option<String>,
    /// The `*_next_cursor` the trace (or the previous page) gave.
    cursor: Option<String>,
    limit: Option<usize>,
}

/// More of a trace's logs, in time order: a task's, or (without `task_id`)
/// the agent's outside tasks. Follow `next_cursor` for the page after.
#[utoipa::path(get, path = "/traces/{agent_id}/logs", tag = "traces",
    params(("agent_id" = String, Path), MoreParams),
    responses((status = 200, description = "OK", body = Page<Log>), ErrorResponses))]
async fn logs(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
    Params(params): Params<MoreParams>,
) -> Result<Json<Page<Log>>, ApiError> {
    let after = checked(&params, LogCursor::decode)?;
    let page = state
        .service
        .trace_logs(
            &agent_id,
            params.task_id,
            after,
            params.limit.unwrap_or(DEFAULT_PAGE),
        )
        .await?;
    Ok(Json(page))
}

/// More of a trace's thoughts, in step order: a task's chain, or (without
/// `task_id`) the agent's outside tasks. Follow `next_cursor` for the page
/// after.
#[utoipa::path(get, path = "/traces/{agent_id}/thoughts", tag = "traces",
    params(("agent_id" = String, Path), MoreParams),
    responses((status = 200, description = "OK", body = Page<Thought>), ErrorResponses))]
async fn thoughts(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
    Params(params): Params<MoreParams>,
) -> Result<Json<Page<Thought>>, ApiError> {
    let after = checked(&params, parse_thought_cursor)?;
    let page = state
        .service
        .trace_thoughts(
            &agent_id,
            params.task_id,
            after,
            params.limit.unwrap_or(DEFAULT_PAGE),
        )
        .await?;
    Ok(Json(page))
}

/// The task id checked and the cursor read by `parse` (400 naming the
/// field when either is not one this API made).
fn checked<T>(params: &MoreParams, parse: impl Fn(&str) -> Option<T>) -> Result<Option<T>, Error> {
    optional_id("task_id", params.task_id.as_deref()).map_err(Error::Invalid)?;
    params
        .cursor
        .as_deref()
        .map(|text| {
            parse(text).ok_or_else(|| {
                Error::Invalid(ValidationError::new("cursor", "not a cursor this API made"))
            })
        })
        .transpose()
}
