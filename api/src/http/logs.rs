//! `/api/v1/logs`: ingest one log or a batch (all-or-nothing), and query
//! logs by agent, task, thought, level and time range.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::routes;

use super::error::{ApiError, ErrorResponses};
use super::extract::{parse_json, read_json_bytes, Params};
use super::guard::{Access, Routes};
use super::{AppState, DEFAULT_PAGE};
use crate::auth::Scope;
use crate::domain::{Log, LogCursor, LogFilter, LogLevel, NewLog, Page};

pub fn router() -> Routes {
    Routes::new()
        .add(Access::Scope(Scope::Read), routes!(list))
        .add(Access::Scope(Scope::Write), routes!(ingest))
        .add(Access::Scope(Scope::Read), routes!(anomalies))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct BatchReceipt {
    ingested: usize,
    ids: Vec<String>,
}

/// What `POST /logs` takes (for the OpenAPI document; the handler reads the
/// body itself to tell the two apart and name fields precisely).
#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
#[serde(untagged)]
enum LogBody {
    One(NewLog),
    /// Up to `MAX_LOG_BATCH` (10,000) logs, stored all or none.
    Batch(Vec<NewLog>),
}

#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
#[serde(untagged)]
enum LogReceipt {
    One(Log),
    Batch(BatchReceipt),
}

/// A JSON object is one log (answered with the stored log); a JSON array is
/// a batch (answered with the count and ids, in order).
#[utoipa::path(post, path = "/logs", tag = "logs", request_body = LogBody,
    responses(
        (status = 201, description = "Stored (a batch: its count and ids, in order)", body = LogReceipt),
        (status = 200, description = "Every log was already stored with this id and content", body = LogReceipt),
        ErrorResponses))]
async fn ingest(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let bytes = read_json_bytes(request, state.limits.body_bytes).await?;
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let batch = first == Some(b'[');
    let requests: Vec<NewLog> = if batch {
        parse_json(&bytes).map_err(|e| prefix_field(e, "logs"))?
    } else {
        vec![parse_json(&bytes)?]
    };
    // A batch's errors name the item (`logs[3].level`), a single log's its
    // field alone (`level`).
    let ingested = state.service.ingest_logs(requests).await.map_err(|e| {
        ApiError::from(e.name_fields(|index, field| match index {
            Some(index) if batch => format!("logs[{index}].{field}"),
            _ => field.to_string(),
        }))
    })?;
    for (log, new) in ingested.logs.iter().zip(&ingested.new) {
        if *new {
            state
                .metrics
                .logs_ingested
                .with_label_values(&[log.level.as_str()])
                .inc();
        }
    }
    let status = if ingested.new.iter().any(|n| *n) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    if batch {
        let ids = ingested.logs.into_iter().map(|l| l.id).collect::<Vec<_>>();
        Ok((
            status,
            Json(BatchReceipt {
                ingested: ids.len(),
                ids,
            }),
        )
            .into_response())
    } else {
        let log = ingested.logs.into_iter().next();
        Ok((status, Json(log)).into_response())
    }
}

/// `[3].level` → `logs[3].level` for batch bodies.
fn prefix_field(error: ApiError, prefix: &str) -> ApiError {
    match error {
        ApiError::BadRequest {
            field: Some(field),
            message,
        } if field.starts_with('[') => ApiError::BadRequest {
            field: Some(format!("{prefix}{field}")),
            message,
        },
        other => other,
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListParams {
    agent_id: Option<String>,
    task_id: Option<String>,
    thought_id: Option<String>,
    level: Option<LogLevel>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    /// Only logs scored at least this.
    min_score: Option<f32>,
    /// `asc` (default): oldest first; `desc`: newest first. Not for
    /// `/anomalies`, which are ordered by score.
    #[param(inline)]
    order: Option<SortOrder>,
    limit: Option<usize>,
    /// Skip this many logs (at most 10,000; deeper pages follow `cursor`).
    offset: Option<usize>,
    /// The previous page's `next_cursor`: the logs after it in this
    /// order (time order only; not with `offset`).
    cursor: Option<String>,
}

/// Logs in time order, by agent, task, thought, level, time (`since`
/// inclusive, `until` exclusive) and minimum anomaly score.
#[utoipa::path(get, path = "/logs", tag = "logs", params(ListParams),
    responses((status = 200, description = "OK", body = Page<Log>), ErrorResponses))]
async fn list(
    State(state): State<AppState>,
    Params(params): Params<ListParams>,
) -> Result<Json<Page<Log>>, ApiError> {
    query(state, params, false).await
}

/// The most anomalous logs: the same filters as `GET /logs`, scored logs
/// only, highest anomaly score first (see README "Anomaly score").
#[utoipa::path(get, path = "/anomalies", tag = "logs", params(ListParams),
    responses((status = 200, description = "OK", body = Page<Log>), ErrorResponses))]
async fn anomalies(
    State(state): State<AppState>,
    Params(params): Params<ListParams>,
) -> Result<Json<Page<Log>>, ApiError> {
    query(state, params, true).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
enum SortOrder {
    Asc,
    Desc,
}

async fn query(
    state: AppState,
    params: ListParams,
    by_anomaly: bool,
) -> Result<Json<Page<Log>>, ApiError> {
    if by_anomaly && params.order.is_some() {
        return Err(
            crate::error::Error::Invalid(crate::domain::validate::ValidationError::new(
                "order",
                "anomalies are ordered by score, highest first",
            ))
            .into(),
        );
    }
    // Ids filter as they are stored: one that could not be an id matches
    // nothing, and is the caller's mistake.
    for (field, value) in [
        ("agent_id", &params.agent_id),
        ("task_id", &params.task_id),
        ("thought_id", &params.thought_id),
    ] {
        crate::domain::validate::optional_id(field, value.as_deref())
            .map_err(crate::error::Error::Invalid)?;
    }
    if let Some(score) = params.min_score.filter(|s| !(0.0..=1.0).contains(s)) {
        return Err(
            crate::error::Error::Invalid(crate::domain::validate::ValidationError::new(
                "min_score",
                format!("must be between 0 and 1, got {score}"),
            ))
            .into(),
        );
    }
    let after = match &params.cursor {
        None => None,
        Some(text) => {
            let invalid = |message: &str| {
                crate::error::Error::Invalid(crate::domain::validate::ValidationError::new(
                    "cursor", message,
                ))
            };
            if by_anomaly || params.min_score.is_some() {
                return Err(invalid("scored logs are paged by offset").into());
            }
            if params.offset.is_some_and(|o| o > 0) {
                return Err(invalid("give a cursor or an offset, not both").into());
            }
            Some(LogCursor::decode(text).ok_or_else(|| invalid("not a cursor this API made"))?)
        }
    };
    let filter = LogFilter {
        agent_id: params.agent_id,
        task_id: params.task_id,
        outside_tasks: false,
        thought_id: params.thought_id,
        level: params.level,
        since: params.since,
        until: params.until,
        min_anomaly_score: params.min_score,
        by_anomaly,
        newest_first: params.order == Some(SortOrder::Desc),
        after,
    };
    let page = state
        .service
        .list_logs(
            &filter,
            params.limit.unwrap_or(DEFAULT_PAGE),
            params.offset.unwrap_or(0),
        )
        .await?;
    Ok(Json(page))
}
