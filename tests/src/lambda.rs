//! Lambda test support: the event fixtures in `tests/lambda/events`, the
//! handler run in-process exactly as `lambda_http::run` runs it, and a
//! local implementation of the Lambda Runtime API for the real binary.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, Mutex};
use tower::ServiceExt;

use vectadb::lambda::lambda_http::request::LambdaRequest;
use vectadb::lambda::lambda_http::{Adapter, Context, LambdaEvent};
use vectadb::lambda::LambdaService;

/// `binary` (vectadb-lambda) as Lambda starts it: the four variables its
/// runtime requires, pointed at the Runtime API at `runtime`, plus `env`
/// and the test models (see `process::command_for`).
pub fn function_command(
    binary: &std::path::Path,
    dir: &std::path::Path,
    runtime: &str,
    memory_mb: u32,
    env: &[(&str, String)],
) -> std::process::Command {
    let mut command = crate::process::command_for(binary, dir, env);
    command
        .env("AWS_LAMBDA_RUNTIME_API", runtime)
        .env("AWS_LAMBDA_FUNCTION_NAME", "vectadb")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string())
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
    command
}

/// A fixture event from `tests/lambda/events/<name>.json`.
pub fn event(name: &str) -> Value {
    let path = crate::repo_root()
        .join("tests/lambda/events")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `event` with a request header added (to `multiValueHeaders` too, for
/// REST API events), e.g. the credentials every API request needs.
pub fn with_header(mut event: Value, name: &str, value: &str) -> Value {
    event["headers"][name] = Value::from(value);
    if event.get("multiValueHeaders").is_some() {
        event["multiValueHeaders"][name] = Value::from(vec![value]);
    }
    event
}

/// What Lambda returns to API Gateway or the Function URL, read back.
#[derive(Debug, Clone)]
pub struct Reply(pub Value);

impl Reply {
    pub fn status(&self) -> u64 {
        self.0["statusCode"].as_u64().expect("statusCode")
    }

    /// A header from `headers` (v2) or `multiValueHeaders` (v1), by
    /// lower-case name.
    pub fn header(&self, name: &str) -> Option<String> {
        let find = |map: &Value| {
            map.as_object().and_then(|m| {
                m.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone())
            })
        };
        match find(&self.0["headers"]) {
            Some(Value::String(v)) => Some(v),
            _ => match find(&self.0["multiValueHeaders"]) {
                Some(Value::Array(values)) => {
                    values.first().and_then(|v| v.as_str()).map(String::from)
                }
                _ => None,
            },
        }
    }

    /// The body as JSON (decoding base64 first when flagged).
    pub fn json(&self) -> Value {
        assert_eq!(
            self.0["isBase64Encoded"], false,
            "a JSON answer goes out as text: {}",
            self.0
        );
        let body = self.0["body"].as_str().unwrap_or_default();
        serde_json::from_str(body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {body}"))
    }
}

/// Run one event through `service` the way `lambda_http::run` does (its
/// `Adapter`: event → request, response → Lambda response document).
pub async fn invoke(service: LambdaService, event: Value, request_id: &str) -> Reply {
    let request: LambdaRequest = serde_json::from_value(event).expect("a Lambda HTTP event");
    let mut context = Context::default();
    context.request_id = request_id.to_string();
    let response = Adapter::from(service)
        .oneshot(LambdaEvent::new(request, context))
        .await
        .expect("infallible");
    Reply(serde_json::to_value(response).expect("serialisable response"))
}

/// How an invocation ended, as the Runtime API saw it.
pub type Outcome = Result<Value, Value>;

#[derive(Default)]
struct Shared {
    queue: Mutex<Option<mpsc::UnboundedReceiver<(String, Value)>>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
}

/// A local Lambda Runtime API (`AWS_LAMBDA_RUNTIME_API`) on 127.0.0.1: hands
/// queued events to the function's `invocation/next` long poll and collects
/// what it posts to `invocation/{id}/response` or `/error`.
pub struct FakeRuntime {
    pub address: String,
    events: mpsc::UnboundedSender<(String, Value)>,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeRuntime {
    pub async fn start() -> FakeRuntime {
        let (events, queue) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue: Mutex::new(Some(queue)),
            waiting: Mutex::default(),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(respond),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(fail))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("runtime API");
        });
        FakeRuntime {
            address,
            events,
            shared,
            server,
        }
    }

    /// Queue `event` as invocation `request_id` and wait (at most `limit`)
    /// for the function's answer.
    pub async fn invoke(&self, request_id: &str, event: Value, limit: Duration) -> Outcome {
        let (tx, rx) = oneshot::channel();
        self.shared
            .waiting
            .lock()
            .await
            .insert(request_id.to_string(), tx);
        self.events
            .send((request_id.to_string(), event))
            .expect("runtime API running");
        tokio::time::timeout(limit, rx)
            .await
            .unwrap_or_else(|_| panic!("invocation {request_id} got no answer within {limit:?}"))
            .expect("answer")
    }
}

impl Drop for FakeRuntime {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    // One poller at a time, as in a real execution environment.
    let mut queue = shared.queue.lock().await;
    let Some((id, event)) = queue.as_mut().expect("queue").recv().await else {
        return StatusCode::GONE.into_response();
    };
    let deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis()
        + 30_000;
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        headers.insert(name, HeaderValue::from_str(&value).expect("header"));
    };
    set("lambda-runtime-aws-request-id", id);
    set("lambda-runtime-deadline-ms", deadline.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:eu-west-1:123456789012:function:vectadb".into(),
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1".into(),
    );
    (headers, Json(event)).into_response()
}

async fn deliver(shared: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    match shared.waiting.lock().await.remove(id) {
        Some(waiter) => {
            let _ = waiter.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

/// The body as JSON (whatever content type the runtime client sent).
fn parse(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn respond(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> StatusCode {
    deliver(&shared, &id, Ok(parse(&body))).await
}

async fn fail(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> StatusCode {
    deliver(&shared, &id, Err(parse(&body))).await
}
