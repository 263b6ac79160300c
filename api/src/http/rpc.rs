//! JSON-RPC 2.0 at `/api/v1/rpc/agents` and `/api/v1/rpc/tasks`: methods
//! `create`, `get`, `list`, `similar`, single or batch requests, with
//! standard error objects. Application errors carry the REST error code and
//! field in `error.data`.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa_axum::routes;

use super::error::{ApiError, ErrorResponses};
use super::extract::{from_value, read_json_bytes};
use super::guard::{Access, Routes};
use super::similar::Results;
use super::{AppState, DEFAULT_PAGE};
use crate::auth::{Principal, Scope};
use crate::domain::{NewAgent, NewTask, TaskFilter, TaskStatus};
use crate::service::query::{SimilarAgentsRequest, SimilarTasksRequest};

pub fn router() -> Routes {
    Routes::new()
        .add(Access::Scope(Scope::Read), routes!(agents))
        .add(Access::Scope(Scope::Read), routes!(tasks))
}

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const INTERNAL_ERROR: i64 = -32603;
pub const NOT_FOUND: i64 = -32001;
pub const CONFLICT: i64 = -32002;
pub const UNKNOWN_REFERENCE: i64 = -32003;
pub const TOO_LARGE: i64 = -32004;
pub const UNAVAILABLE: i64 = -32005;
pub const FORBIDDEN: i64 = -32006;

#[derive(Clone, Copy)]
enum Service {
    Agents,
    Tasks,
}

/// JSON-RPC 2.0 over agents: methods `create`, `get`, `list`, `similar`;
/// one call or a batch (docs/API.md "JSON-RPC 2.0").
#[utoipa::path(post, path = "/rpc/agents", tag = "json-rpc", request_body = serde_json::Value,
    responses(
        (status = 200, description = "The answer (an array for a batch)", body = serde_json::Value),
        (status = 204, description = "Only notifications were sent"),
        ErrorResponses))]
async fn agents(State(state): State<AppState>, request: Request) -> Response {
    serve(state, request, Service::Agents).await
}

/// JSON-RPC 2.0 over tasks: methods `create`, `get`, `list` (agent_id,
/// status), `similar`.
#[utoipa::path(post, path = "/rpc/tasks", tag = "json-rpc", request_body = serde_json::Value,
    responses(
        (status = 200, description = "The answer (an array for a batch)", body = serde_json::Value),
        (status = 204, description = "Only notifications were sent"),
        ErrorResponses))]
async fn tasks(State(state): State<AppState>, request: Request) -> Response {
    serve(state, request, Service::Tasks).await
}

/// Most calls in one JSON-RPC batch.
pub const MAX_BATCH_CALLS: usize = 100;
/// Calls of one batch run at once (in order of their answers).
const BATCH_CONCURRENCY: usize = 4;

async fn serve(state: AppState, request: Request, service: Service) -> Response {
    let can_write = request
        .extensions()
        .get::<Principal>()
        .is_none_or(|p| p.allows(Scope::Write));
    let bytes = match read_json_bytes(request, state.limits.document_bytes).await {
        Ok(bytes) => bytes,
        Err(error) => return error.into_response(),
    };
    let body: Value = match serde_json::from_slice(&bytes) {
        Ok(body) => body,
        Err(e) => {
            return Json(error_response(
                Value::Null,
                PARSE_ERROR,
                &format!("parse error: {e}"),
                None,
            ))
            .into_response()
        }
    };
    match body {
        Value::Array(calls) if calls.is_empty() => Json(error_response(
            Value::Null,
            INVALID_REQUEST,
            "invalid request: empty batch",
            None,
        ))
        .into_response(),
        Value::Array(calls) if calls.len() > MAX_BATCH_CALLS => Json(error_response(
            Value::Null,
            INVALID_REQUEST,
            &format!(
                "invalid request: a batch holds at most {MAX_BATCH_CALLS} calls, this one {}",
                calls.len()
            ),
            None,
        ))
        .into_response(),
        Value::Array(calls) => {
            use futures::StreamExt;
            let answers: Vec<Option<Value>> = futures::stream::iter(calls)
                .map(|call| handle(&state, service, call, can_write))
                .buffered(BATCH_CONCURRENCY)
                .collect()
                .await;
            let answers: Vec<Value> = answers.into_iter().flatten().collect();
            if answers.is_empty() {
                StatusCode::NO_CONTENT.into_response()
            } else {
                Json(Value::Array(answers)).into_response()
            }
        }
        call => match handle(&state, service, call, can_write).await {
            Some(answer) => Json(answer).into_response(),
            None => StatusCode::NO_CONTENT.into_response(),
        },
    }
}

#[derive(Deserialize)]
struct Call {
    jsonrpc: String,
    method: String,
    #[serde(default)]
    params: Option<Value>,
}

/// One call; `None` for a notification (no `id`).
async fn handle(state: &AppState, service: Service, call: Value, can_write: bool) -> Option<Value> {
    let id = match call.get("id") {
        None => None,
        Some(id @ (Value::Null | Value::String(_) | Value::Number(_))) => Some(id.clone()),
        Some(_) => {
            return Some(error_response(
                Value::Null,
                INVALID_REQUEST,
                "invalid request: id must be a string, number or null",
                None,
            ))
        }
    };
    let parsed: Result<Call, _> = serde_json::from_value(call);
    let call = match parsed {
        Ok(call) if call.jsonrpc == "2.0" => call,
        _ => {
            return Some(error_response(
                id.unwrap_or(Value::Null),
                INVALID_REQUEST,
                "invalid request: expected {\"jsonrpc\": \"2.0\", \"method\": string, \"params\"?, \"id\"?}",
                None,
            ))
        }
    };
    let params = call.params.unwrap_or_else(|| json!({}));
    let outcome = match service {
        _ if call.method == "create" && !can_write => Err(RpcError::Api(ApiError::Forbidden {
            code: "forbidden",
            message: "this API key lacks the `write` scope".into(),
        })),
        Service::Agents => agents_method(state, &call.method, params).await,
        Service::Tasks => tasks_method(state, &call.method, params).await,
    };
    let id = id?;
    Some(match outcome {
        Ok(result) => json!({ "jsonrpc": "2.0", "result": result, "id": id }),
        Err(RpcError::MethodNotFound(method)) => error_response(
            id,
            METHOD_NOT_FOUND,
            &format!("method not found: {method}; use create, get, list or similar"),
            None,
        ),
        Err(RpcError::Api(error)) => {
            let (status, code, message, field) = error.parts();
            if status.is_server_error() {
                tracing::error!(error = ?error, "rpc call failed");
            }
            let rpc_code = match status {
                StatusCode::BAD_REQUEST => INVALID_PARAMS,
                StatusCode::NOT_FOUND => NOT_FOUND,
                StatusCode::FORBIDDEN => FORBIDDEN,
                StatusCode::CONFLICT => CONFLICT,
                StatusCode::UNPROCESSABLE_ENTITY => UNKNOWN_REFERENCE,
                StatusCode::PAYLOAD_TOO_LARGE => TOO_LARGE,
                StatusCode::SERVICE_UNAVAILABLE => UNAVAILABLE,
                _ => INTERNAL_ERROR,
            };
            error_response(
                id,
                rpc_code,
                &message,
                Some(json!({ "code": code, "field": field })),
            )
        }
    })
}

fn error_response(id: Value, code: i64, message: &str, data: Option<Value>) -> Value {
    let mut error = json!({ "code": code, "message": message });
    if let Some(data) = data {
        error["data"] = data;
    }
    json!({ "jsonrpc": "2.0", "error": error, "id": id })
}

enum RpcError {
    MethodNotFound(String),
    Api(ApiError),
}

impl From<ApiError> for RpcError {
    fn from(error: ApiError) -> Self {
        RpcError::Api(error)
    }
}

impl From<crate::error::Error> for RpcError {
    fn from(error: crate::error::Error) -> Self {
        RpcError::Api(error.into())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdParams {
    id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    #[serde(default)]
    agent_id: Option<String>,
    #[serde(default)]
    status: Option<TaskStatus>,
    limit: Option<usize>,
    offset: Option<usize>,
}

fn to_json<T: serde::Serialize>(value: T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

async fn agents_method(state: &AppState, method: &str, params: Value) -> Result<Value, RpcError> {
    let service = &state.service;
    Ok(match method {
        "create" => to_json(
            service
                .create_agent(from_value::<NewAgent>(params)?)
                .await?
                .0,
        ),
        "get" => to_json(
            service
                .get_agent(&from_value::<IdParams>(params)?.id)
                .await?,
        ),
        "list" => {
            let p: ListParams = from_value(params)?;
            if p.agent_id.is_some() || p.status.is_some() {
                return Err(ApiError::BadRequest {
                    field: Some(
                        if p.agent_id.is_some() {
                            "agent_id"
                        } else {
                            "status"
                        }
                        .into(),
                    ),
                    message: "agents cannot be filtered by this field".into(),
                }
                .into());
            }
            to_json(
                service
                    .list_agents(None, p.limit.unwrap_or(DEFAULT_PAGE), p.offset.unwrap_or(0))
                    .await?,
            )
        }
        "similar" => {
            let request: SimilarAgentsRequest = from_value(params)?;
            to_json(Results {
                results: service.similar_agents(request).await?,
            })
        }
        other => return Err(RpcError::MethodNotFound(other.to_string())),
    })
}

async fn tasks_method(state: &AppState, method: &str, params: Value) -> Result<Value, RpcError> {
    let service = &state.service;
    Ok(match method {
        "create" => to_json(service.create_task(from_value::<NewTask>(params)?).await?.0),
        "get" => to_json(
            service
                .get_task(&from_value::<IdParams>(params)?.id)
                .await?,
        ),
        "list" => {
            let p: ListParams = from_value(params)?;
            let filter = TaskFilter {
                agent_id: p.agent_id,
                status: p.status,
            };
            to_json(
                service
                    .list_tasks(
                        &filter,
                        p.limit.unwrap_or(DEFAULT_PAGE),
                        p.offset.unwrap_or(0),
                    )
                    .await?,
            )
        }
        "similar" => {
            let request: SimilarTasksRequest = from_value(params)?;
            to_json(Results {
                results: service.similar_tasks(request).await?,
            })
        }
        other => return Err(RpcError::MethodNotFound(other.to_string())),
    })
}
