//! OpenTelemetry ingest: the real Python OpenTelemetry SDK (tests/otel/
//! agent_run.py, OTLP/HTTP protobuf exporter) emits a multi-step agent run
//! with tool calls and an error at a served Router; the trace is then read
//! back through VectaDB's own API. Plus the protocol details (JSON, gzip,
//! partial success, errors, idempotency, spans arriving before their agent).

use std::collections::HashMap;
use std::io::Write;
use std::process::Command;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    span, status, ResourceSpans, ScopeSpans, Span, Status,
};
use prost::Message;
use serde_json::{json, Value};
use tower::ServiceExt;
use vectadb_tests::{Backends, TestApp};

on_both_backends!(the_python_sdk_agent_run_becomes_a_trace);

/// The Router served on a local port (HTTP/1.1 and HTTP/2 without TLS, as
/// `vectadb serve` serves it), for a real exporter to reach.
pub(crate) async fn serve(t: &TestApp) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = t.app.clone();
    let server = tokio::spawn(async move {
        let header_timeout = std::time::Duration::from_secs(10);
        vectadb::server::serve(listener, app, header_timeout, std::future::pending())
            .await
            .unwrap()
    });
    (format!("http://{address}"), server)
}

/// [`emit`] off the runtime's thread, so the served Router can answer.
pub(crate) async fn emit_async(endpoint: &str, args: &[&str]) -> Value {
    let endpoint = endpoint.to_string();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        emit(&endpoint, &args)
    })
    .await
    .unwrap()
}

/// Run tests/otel/agent_run.py (the Python OpenTelemetry SDK) and return
/// the summary it prints of what it exported.
pub(crate) fn emit(endpoint: &str, args: &[&str]) -> Value {
    let output = run_emitter(endpoint, args);
    let script = vectadb_tests::repo_root().join("tests/otel/agent_run.py");
    assert!(
        output.status.success(),
        "{} failed ({}); install tests/otel/requirements.txt into VECTADB_TEST_PYTHON \
         (scripts/test.sh does):\n{}",
        script.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the emitter prints a JSON summary")
}

/// Run tests/otel/agent_run.py to its end, whatever its outcome.
pub(crate) fn run_emitter(endpoint: &str, args: &[&str]) -> std::process::Output {
    let python = std::env::var("VECTADB_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = vectadb_tests::repo_root().join("tests/otel/agent_run.py");
    Command::new(&python)
        .arg(&script)
        .arg("--endpoint")
        .arg(endpoint)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {python}: {e}"))
}

fn thought_id(trace_id: &str, span_id: &str) -> String {
    vectadb::otlp::mapping::thought_id(trace_id, span_id)
}

async fn the_python_sdk_agent_run_becomes_a_trace(backends: Backends) {
    let t = TestApp::on(backends).await;
    two_runs_become_traces(&t, "http", "7").await;
}

/// The Python SDK sends two runs over `protocol` (`http` or `grpc`): one
/// batched (the spans in one request, children before their agent span,
/// then the log records in another), then one with `seed` a request per
/// span and per record, gzip (every child arrives before the agent span it
/// belongs to and waits for it). Each is read back as a trace.
pub(crate) async fn two_runs_become_traces(t: &TestApp, protocol: &str, seed: &str) {
    let (endpoint, server) = serve(t).await;
    let run = emit_async(&endpoint, &["--protocol", protocol]).await;
    check_run(t, &run, "travel-planner-01").await;
    let run = emit_async(
        &endpoint,
        &[
            "--protocol",
            protocol,
            "--seed",
            seed,
            "--processor",
            "simple",
            "--compression",
            "gzip",
        ],
    )
    .await;
    let agent = run["agent"]["id"].as_str().unwrap().to_string();
    check_run(t, &run, &agent).await;
    // Stop serving (and drop the Router's state) before the data goes.
    server.abort();
    let _ = server.await;
}

pub(crate) async fn check_run(t: &TestApp, run: &Value, agent_id: &str) {
    // Acknowledged exports are placed by the OTLP worker.
    t.state.otlp.drain().await.unwrap();
    let trace_id = run["trace_id"].as_str().unwrap();
    let spans: Vec<&Value> = run["spans"].as_array().unwrap().iter().collect();
    let span_of = |name: &str, nth: usize| -> String {
        spans
            .iter()
            .filter(|s| s["name"] == name)
            .nth(nth)
            .unwrap_or_else(|| panic!("no span {name} #{nth}"))["span_id"]
            .as_str()
            .unwrap()
            .to_string()
    };

    let (status, trace) = t.get(&format!("/api/v1/traces/{agent_id}")).await;
    assert_eq!(status, StatusCode::OK, "{trace}");
    let agent = &trace["agent"];
    assert_eq!(agent["role"], "TravelPlanner");
    assert_eq!(
        agent["goal"],
        "Plans multi-city trips: finds flights and hotels within a budget"
    );
    assert_eq!(agent["metadata"]["version"], "2.1.0");
    assert_eq!(agent["metadata"]["service"], "travel-assistant");

    let tasks = trace["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1, "one conversation, one task: {trace}");
    let task = &tasks[0];
    assert_eq!(
        task["description"],
        "Plan a 3-day trip from Lisbon to Berlin under 900 EUR"
    );
    assert_eq!(task["status"], "completed");
    assert_eq!(task["metadata"]["conversation_id"], run["conversation_id"]);
    // Its times are the agent span's: it took a while, and ended before
    // VectaDB placed it.
    let at = |field: &str| vectadb_tests::time_field(task, field);
    assert!(at("completed_at") > at("started_at"), "{task}");
    assert!(at("completed_at") <= at("created_at"), "{task}");
    // An attribute VectaDB knows nothing about is kept, not dropped.
    assert_eq!(task["metadata"]["attributes"]["app.customer_tier"], "gold");

    // Thoughts: one per GenAI span, in span order, with their content.
    let thoughts = task["thoughts"].as_array().unwrap();
    let kinds: Vec<&str> = thoughts
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["chat", "tool", "chat", "tool", "plan", "chat"],
        "{thoughts:#?}"
    );
    let steps: Vec<u64> = thoughts
        .iter()
        .map(|t| t["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, [1, 2, 3, 4, 5, 6]);
    let expected_ids = [
        span_of("chat gpt-4o", 0),
        span_of("execute_tool search_flights", 0),
        span_of("chat gpt-4o", 1),
        span_of("execute_tool search_hotels", 0),
        span_of("plan", 0),
        span_of("chat gpt-4o", 2),
    ]
    .map(|span| thought_id(trace_id, &span));
    let ids: Vec<&str> = thoughts.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        expected_ids.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let first = &thoughts[0];
    assert!(
        first["content"]
            .as_str()
            .unwrap()
            .contains("I will search flights first."),
        "{first}"
    );
    assert!(
        first["content"]
            .as_str()
            .unwrap()
            .contains("→ search_flights("),
        "{first}"
    );
    assert_eq!(first["metadata"]["input_tokens"], 412);
    assert_eq!(first["metadata"]["output_tokens"], 58);
    assert_eq!(first["metadata"]["model"], "gpt-4o");
    let flights = thoughts[1]["content"].as_str().unwrap();
    assert!(flights.starts_with("search_flights("), "{flights}");
    assert!(
        flights.contains("\"LIS\"") && flights.contains(" → "),
        "{flights}"
    );
    let hotels = thoughts[3]["content"].as_str().unwrap();
    assert!(
        hotels.starts_with("search_hotels(")
            && hotels.ends_with("failed: hotel API timed out after 30s"),
        "{hotels}"
    );
    assert!(thoughts[4]["content"]
        .as_str()
        .unwrap()
        .contains("hostel near Alexanderplatz"));

    // Logs: the exception event and the error status of the failing tool,
    // the log records inside spans (with their thought), the root's event.
    let logs = task["logs"].as_array().unwrap();
    let find = |pred: &dyn Fn(&Value) -> bool| -> Vec<&Value> {
        logs.iter().filter(|l| pred(l)).collect()
    };
    let hotel_thought = &expected_ids[3];
    let exception = find(&|l| l["message"] == "TimeoutError: hotel API timed out after 30s");
    assert_eq!(exception.len(), 1, "{logs:#?}");
    assert_eq!(exception[0]["level"], "error");
    assert_eq!(exception[0]["thought_id"], hotel_thought.as_str());
    assert_eq!(
        exception[0]["metadata"]["attributes"]["exception.type"],
        "TimeoutError"
    );
    let failed = find(&|l| {
        l["message"] == "execute_tool search_hotels failed: hotel API timed out after 30s"
    });
    assert_eq!(failed.len(), 1, "{logs:#?}");
    let slow = find(&|l| l["message"] == "hotel search slow, retrying");
    assert_eq!(slow.len(), 1, "{logs:#?}");
    assert_eq!(slow[0]["level"], "warn");
    assert_eq!(slow[0]["thought_id"], hotel_thought.as_str());
    let fallback =
        find(&|l| l["message"] == "hotel API unavailable, falling back to hostel search");
    assert_eq!(fallback.len(), 1, "{logs:#?}");
    assert_eq!(fallback[0]["level"], "error");
    assert_eq!(fallback[0]["thought_id"], expected_ids[4].as_str());
    let searching = find(&|l| l["message"] == "searching flights LIS→BER on 2026-12-04");
    assert_eq!(searching[0]["level"], "info");
    let feedback = find(&|l| l["message"] == "user_feedback");
    assert_eq!(feedback.len(), 1, "{logs:#?}");
    assert_eq!(feedback[0]["metadata"]["attributes"]["rating"], 5);
    assert_eq!(feedback[0]["thought_id"], Value::Null);
    assert_eq!(logs.len(), 6, "{logs:#?}");

    // The record outside any span belongs to the service.
    let (_, service_logs) = t.get("/api/v1/logs?level=info&limit=100").await;
    let started: Vec<&Value> = service_logs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["message"] == "travel-assistant started")
        .collect();
    assert!(!started.is_empty(), "{service_logs}");
    let (_, service) = t
        .get(&format!(
            "/api/v1/agents/{}",
            started[0]["agent_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(service["role"], "travel-assistant");

    // Ingested thoughts and logs are searchable by meaning once embedded.
    t.state.indexer.drain().await.unwrap();
    let (_, found) = t
        .post(
            "/api/v1/similar/logs",
            json!({"query": "the hotel service did not answer in time", "limit": 3,
                   "filter": {"agent_id": agent_id}}),
        )
        .await;
    let hits: Vec<&str> = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["message"].as_str().unwrap())
        .collect();
    assert!(hits.iter().all(|m| m.contains("hotel")), "{found}");
    assert!(hits.iter().any(|m| m.contains("timed out")), "{found}");
    let (_, found) = t
        .post(
            "/api/v1/similar/thoughts",
            json!({"query": "look for flights", "limit": 1, "threshold": 0.0,
                   "filter": {"agent_id": agent_id, "kind": "tool"}}),
        )
        .await;
    assert_eq!(
        found["results"][0]["id"],
        expected_ids[1].as_str(),
        "{found}"
    );
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
    }
}

fn s(value: &str) -> any_value::Value {
    any_value::Value::StringValue(value.into())
}

/// A small run built by hand: an agent span and a chat span under it.
pub(crate) fn hand_made(trace: u8, with_bad_span: bool) -> ExportTraceServiceRequest {
    let trace_id = vec![trace; 16];
    let agent = Span {
        trace_id: trace_id.clone(),
        span_id: vec![1; 8],
        name: "invoke_agent Helper".into(),
        start_time_unix_nano: 1_000,
        end_time_unix_nano: 9_000,
        attributes: vec![
            kv("gen_ai.operation.name", s("invoke_agent")),
            kv("gen_ai.agent.name", s("Helper")),
            kv("gen_ai.agent.id", s("not a valid id!")),
            kv("custom.flag", any_value::Value::BoolValue(true)),
        ],
        status: Some(Status {
            code: status::StatusCode::Error as i32,
            message: "gave up".into(),
        }),
        kind: span::SpanKind::Internal as i32,
        ..Span::default()
    };
    let chat = Span {
        trace_id: trace_id.clone(),
        span_id: vec![2; 8],
        parent_span_id: vec![1; 8],
        name: "chat small-model".into(),
        start_time_unix_nano: 2_000,
        end_time_unix_nano: 3_000,
        attributes: vec![
            kv("gen_ai.operation.name", s("chat")),
            kv("gen_ai.usage.input_tokens", any_value::Value::IntValue(7)),
            kv(
                "gen_ai.output.messages",
                s(
                    r#"[{"role":"assistant","parts":[{"type":"text","content":"thinking about cheese"}]}]"#,
                ),
            ),
        ],
        ..Span::default()
    };
    let mut spans = vec![chat, agent];
    if with_bad_span {
        spans.push(Span {
            trace_id: vec![],
            span_id: vec![3; 8],
            name: "no trace id".into(),
            ..Span::default()
        });
    }
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", s("hand-made"))],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

/// Post an OTLP request; once it is answered, the OTLP worker places what
/// was accepted (as the server's background worker would).
async fn post_raw(
    t: &TestApp,
    path: &str,
    content_type: &str,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, HashMap<String, String>, Vec<u8>) {
    let answer = send(t, path, content_type, encoding, body).await;
    t.state.otlp.drain().await.unwrap();
    answer
}

/// Post an OTLP request and return the answer (nothing placed yet).
async fn send(
    t: &TestApp,
    path: &str,
    content_type: &str,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, HashMap<String, String>, Vec<u8>) {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, content_type);
    if let Some(encoding) = encoding {
        request = request.header(header::CONTENT_ENCODING, encoding);
    }
    let response = t
        .app
        .clone()
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn protobuf_json_gzip_partial_success_and_idempotency() {
    let t = TestApp::new().await;
    let request = hand_made(0xab, true);
    let body = gzip(&request.encode_to_vec());
    let (status, headers, answer) = post_raw(
        &t,
        "/v1/traces",
        "application/x-protobuf",
        Some("gzip"),
        body.clone(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(headers["content-type"], "application/x-protobuf");
    let answer = ExportTraceServiceResponse::decode(answer.as_slice()).unwrap();
    let partial = answer.partial_success.expect("one span refused");
    assert_eq!(partial.rejected_spans, 1);
    assert!(partial.error_message.contains("trace_id"), "{partial:?}");

    let agent_id = format!(
        "otel-{}",
        vectadb::otlp::mapping::short_hash(&["not a valid id!"])
    );
    let (status, trace) = t.get(&format!("/api/v1/traces/{agent_id}")).await;
    assert_eq!(status, StatusCode::OK, "{trace}");
    assert_eq!(trace["agent"]["role"], "Helper");
    let task = &trace["tasks"][0];
    assert_eq!(task["status"], "failed", "the agent span's error status");
    // The task lasted as long as its agent span (1,000 ns to 9,000 ns),
    // not the instant it was placed.
    let at = |field: &str| vectadb_tests::time_field(task, field);
    assert_eq!(
        at("started_at").timestamp_nanos_opt(),
        Some(1_000),
        "{task}"
    );
    assert_eq!(
        at("completed_at").timestamp_nanos_opt(),
        Some(9_000),
        "{task}"
    );
    assert_eq!(task["metadata"]["attributes"]["custom.flag"], true);
    assert_eq!(task["thoughts"][0]["content"], "thinking about cheese");
    assert_eq!(task["thoughts"][0]["metadata"]["input_tokens"], 7);
    assert_eq!(
        task["logs"][0]["message"],
        "invoke_agent Helper failed: gave up"
    );

    // The same export again (a retry): nothing new.
    let snapshot = t.snapshot().await;
    let (status, _, _) = post_raw(
        &t,
        "/v1/traces",
        "application/x-protobuf",
        Some("gzip"),
        body,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        t.snapshot().await,
        snapshot,
        "ingest is idempotent on span ids"
    );

    // OTLP/JSON (hex ids, camelCase, enums as numbers) for another trace.
    let json_body = serde_json::to_vec(&hand_made(0xcd, false)).unwrap();
    let text = String::from_utf8(json_body.clone()).unwrap();
    assert!(text.contains(&"cd".repeat(16)), "hex trace id: {text}");
    let (status, headers, answer) =
        post_raw(&t, "/v1/traces", "application/json", None, json_body).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(headers["content-type"], "application/json");
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert!(
        answer.get("partialSuccess").is_none_or(Value::is_null),
        "{answer}"
    );
    let (_, trace) = t.get(&format!("/api/v1/traces/{agent_id}")).await;
    assert_eq!(
        trace["tasks"].as_array().unwrap().len(),
        2,
        "a second trace of the same agent is a second task: {trace}"
    );
}

/// Spans outside any agent that are not GenAI steps (a web service's own
/// telemetry) are accepted and not kept; a GenAI step under such a span
/// goes to the service's agent, one task per trace.
#[tokio::test]
async fn telemetry_outside_agents_keeps_only_genai_steps() {
    let t = TestApp::new().await;
    let http =
        |trace: u8, span: u8, parent: Option<u8>, name: &str, attributes: Vec<KeyValue>| Span {
            trace_id: vec![trace; 16],
            span_id: vec![span; 8],
            parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
            name: name.into(),
            start_time_unix_nano: u64::from(span) * 1_000,
            end_time_unix_nano: u64::from(span) * 1_000 + 500,
            attributes,
            ..Span::default()
        };
    let request = |spans: Vec<Span>| ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", s("web-shop"))],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    };
    // A plain request: a root HTTP span and a database span under it.
    let plain = request(vec![
        http(
            1,
            2,
            Some(1),
            "SELECT products",
            vec![kv("db.system", s("postgresql"))],
        ),
        http(
            1,
            1,
            None,
            "GET /products",
            vec![kv("http.method", s("GET"))],
        ),
    ]);
    let (status, _, _) = post_raw(
        &t,
        "/v1/traces",
        "application/x-protobuf",
        None,
        plain.encode_to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, agents) = t.get("/api/v1/agents").await;
    assert_eq!(agents["total"], 0, "{agents}");

    // A request that calls a model directly (no agent span).
    let genai = request(vec![
        http(
            2,
            2,
            Some(1),
            "chat small-model",
            vec![
                kv("gen_ai.operation.name", s("chat")),
                kv(
                    "gen_ai.output.messages",
                    s(
                        r#"[{"role":"assistant","parts":[{"type":"text","content":"try the blue one"}]}]"#,
                    ),
                ),
            ],
        ),
        http(2, 1, None, "POST /recommend", vec![]),
    ]);
    let (status, _, _) = post_raw(
        &t,
        "/v1/traces",
        "application/x-protobuf",
        None,
        genai.encode_to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, agents) = t.get("/api/v1/agents").await;
    assert_eq!(agents["total"], 1, "{agents}");
    assert_eq!(agents["items"][0]["role"], "web-shop");
    let id = agents["items"][0]["id"].as_str().unwrap();
    let (_, trace) = t.get(&format!("/api/v1/traces/{id}")).await;
    assert_eq!(trace["tasks"].as_array().unwrap().len(), 1, "{trace}");
    assert_eq!(trace["tasks"][0]["description"], "POST /recommend");
    assert_eq!(
        trace["tasks"][0]["thoughts"][0]["content"],
        "try the blue one"
    );
}

#[tokio::test]
async fn bad_exports_are_refused_with_a_status_body() {
    let t = TestApp::new().await;
    for (content_type, encoding, body, expected, needle) in [
        (
            "text/plain",
            None,
            b"hi".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type",
        ),
        (
            "application/x-protobuf",
            Some("br"),
            b"x".to_vec(),
            StatusCode::BAD_REQUEST,
            "Content-Encoding",
        ),
        (
            "application/x-protobuf",
            Some("gzip"),
            b"not gzip".to_vec(),
            StatusCode::BAD_REQUEST,
            "gzip",
        ),
        (
            "application/x-protobuf",
            None,
            vec![0xff, 0xff, 0xff],
            StatusCode::BAD_REQUEST,
            "ExportTraceServiceRequest",
        ),
        (
            "application/json",
            None,
            b"{\"resourceSpans\": 7}".to_vec(),
            StatusCode::BAD_REQUEST,
            "ExportTraceServiceRequest",
        ),
    ] {
        let (status, _, answer) = post_raw(&t, "/v1/traces", content_type, encoding, body).await;
        assert_eq!(status, expected, "{content_type} {encoding:?}");
        let message = if content_type == "application/x-protobuf" {
            vectadb::otlp::decode::RpcStatus::decode(answer.as_slice())
                .unwrap()
                .message
        } else {
            serde_json::from_slice::<Value>(&answer).unwrap()["message"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert!(message.contains(needle), "{message}");
    }
    // Nothing was stored.
    let (_, agents) = t.get("/api/v1/agents").await;
    assert_eq!(agents["total"], 0);
}

/// A span whose parent never arrives (sampled out, lost) waits
/// `OTLP_WAIT_SECONDS`, then is placed under its service as a root.
#[tokio::test]
async fn a_span_whose_parent_never_comes_is_placed_after_the_wait() {
    let t = TestApp::with(|mut c| {
        c.otlp_wait_seconds = 1;
        c
    })
    .await;
    let mut orphan = hand_made(0x42, false);
    // Keep only the chat span: its agent span (the parent) never comes.
    orphan.resource_spans[0].scope_spans[0]
        .spans
        .retain(|s| s.name == "chat small-model");
    let (status, _, _) = post_raw(
        &t,
        "/v1/traces",
        "application/x-protobuf",
        None,
        orphan.encode_to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, thoughts) = t.get("/api/v1/thoughts").await;
    assert_eq!(thoughts["total"], 0, "waiting for its parent: {thoughts}");

    // Once the wait is over, the next round places it.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, _, body) =
        post_raw(&t, "/v1/traces", "application/json", None, b"{}".to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let (_, thoughts) = t.get("/api/v1/thoughts").await;
    assert_eq!(thoughts["total"], 1, "{thoughts}");
    let thought = &thoughts["items"][0];
    assert_eq!(thought["content"], "thinking about cheese");
    let (_, agent) = t
        .get(&format!(
            "/api/v1/agents/{}",
            thought["agent_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(agent["role"], "hand-made", "its service: {agent}");
}

/// OTLP for an agent deleted since its first spans were placed. Spans that
/// only point at it (children whose agent span came earlier) are dropped
/// whole: nothing of them is written and the agent stays deleted. An export
/// carrying the agent span again (a retried export, say) re-creates it
/// cleanly, with its task and thoughts. Either way the worker goes on.
#[tokio::test]
async fn spans_for_a_deleted_agent_are_dropped_whole_or_recreate_it() {
    let t = TestApp::new().await;
    let agent_id = format!(
        "otel-{}",
        vectadb::otlp::mapping::short_hash(&["not a valid id!"])
    );
    let run = hand_made(0x51, false).encode_to_vec();
    let (status, _, _) = post_raw(
        &t,
        "/v1/traces",
        "application/x-protobuf",
        None,
        run.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = t.delete(&format!("/api/v1/agents/{agent_id}")).await;
    assert!(status.is_success(), "{status}");

    // A late child of that run: a chat span under the agent span placed before.
    let mut late = hand_made(0x51, false);
    late.resource_spans[0].scope_spans[0]
        .spans
        .retain(|s| s.name == "chat small-model");
    late.resource_spans[0].scope_spans[0].spans[0].span_id = vec![9; 8];
    let (status, _, _) = post_raw(
        &t,
        "/v1/traces",
        "application/x-protobuf",
        None,
        late.encode_to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = t.get(&format!("/api/v1/agents/{agent_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not re-created by a child");
    for list in ["/api/v1/tasks", "/api/v1/thoughts"] {
        let (_, page) = t.get(list).await;
        assert_eq!(page["total"], 0, "nothing of the late span: {list} {page}");
    }
    assert_eq!(
        t.state.service.otlp_pending(),
        0,
        "nothing left in the inbox"
    );

    // The whole run again: the agent comes back with its task and thought.
    let (status, _, _) = post_raw(&t, "/v1/traces", "application/x-protobuf", None, run).await;
    assert_eq!(status, StatusCode::OK);
    let (status, trace) = t.get(&format!("/api/v1/traces/{agent_id}")).await;
    assert_eq!(status, StatusCode::OK, "{trace}");
    assert_eq!(trace["tasks"].as_array().map(Vec::len), Some(1), "{trace}");
    assert_eq!(
        trace["tasks"][0]["thoughts"][0]["content"], "thinking about cheese",
        "{trace}"
    );
}

/// Past `OTLP_MAX_PENDING` items waiting to be placed, an export is refused
/// whole with 503, `Retry-After` and a retryable Status (as OTLP clients
/// expect), and accepted again once the worker has caught up.
#[tokio::test]
async fn an_export_past_the_pending_limit_is_refused_whole_with_retry_after() {
    let t = TestApp::with(|mut c| {
        c.otlp_max_pending = 2;
        c
    })
    .await;
    let first = hand_made(0x11, false).encode_to_vec();
    let (status, _, _) = send(&t, "/v1/traces", "application/x-protobuf", None, first).await;
    assert_eq!(status, StatusCode::OK, "below the limit");
    let second = hand_made(0x12, false).encode_to_vec();
    let (status, headers, answer) = send(
        &t,
        "/v1/traces",
        "application/x-protobuf",
        None,
        second.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "1");
    let answer = vectadb::otlp::decode::RpcStatus::decode(answer.as_slice()).unwrap();
    assert_eq!(answer.code, 14, "UNAVAILABLE, which exporters retry");
    t.state.otlp.drain().await.unwrap();
    let (_, tasks) = t.get("/api/v1/tasks").await;
    assert_eq!(tasks["total"], 1, "nothing of the refused export: {tasks}");

    let (status, _, _) = post_raw(&t, "/v1/traces", "application/x-protobuf", None, second).await;
    assert_eq!(status, StatusCode::OK, "accepted once placement caught up");
    let (_, tasks) = t.get("/api/v1/tasks").await;
    assert_eq!(tasks["total"], 2, "{tasks}");
}

/// Children exported before their agent spans, across many traces at
/// once: they wait, then are all placed under the right task when their
/// agent spans arrive in a later export (in another order), and nothing is
/// left waiting.
#[tokio::test]
async fn out_of_order_children_across_many_traces_are_placed() {
    use vectadb_tests::otlp_load;
    let t = TestApp::new().await;
    const RUNS: u64 = 60;
    let (mut agents, mut children) = (Vec::new(), Vec::new());
    for run in 0..RUNS {
        let mut spans = otlp_load::run_spans(run, 4);
        agents.push(spans.pop().expect("the agent span comes last"));
        children.extend(spans);
    }
    agents.reverse();
    let request = |spans: Vec<Span>| {
        let mut export = otlp_load::export(0, 0, 4);
        export.resource_spans[0].scope_spans[0].spans = spans;
        export.encode_to_vec()
    };
    let (status, _, _) = post_raw(
        &t,
        "/v1/traces",
        "application/x-protobuf",
        None,
        request(children),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, thoughts) = t.get("/api/v1/thoughts").await;
    assert_eq!(thoughts["total"], 0, "waiting for their agent spans");
    let traces: Vec<String> = (0..RUNS)
        .map(|run| otlp_load::hex(&otlp_load::trace_id(run)))
        .collect();
    assert_eq!(
        t.stores.otel.waiting(&traces).await.unwrap().len(),
        RUNS as usize * 5
    );

    let (status, _, _) = post_raw(
        &t,
        "/v1/traces",
        "application/x-protobuf",
        None,
        request(agents),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, tasks) = t.get("/api/v1/tasks?limit=100").await;
    assert_eq!(tasks["total"], RUNS, "one task per conversation");
    let (_, agents) = t.get("/api/v1/agents").await;
    assert_eq!(agents["total"], 4, "{agents}");
    for run in [0, 17, RUNS - 1] {
        let ids = otlp_load::thought_ids(run);
        let (status, first) = t.get(&format!("/api/v1/thoughts/{}", ids[0])).await;
        assert_eq!(status, StatusCode::OK, "{first}");
        let task = first["task_id"].as_str().unwrap().to_string();
        let (_, task_doc) = t.get(&format!("/api/v1/tasks/{task}")).await;
        assert_eq!(
            task_doc["metadata"]["conversation_id"],
            format!("conversation-{run}"),
            "{task_doc}"
        );
        for (step, id) in ids.iter().enumerate() {
            let (status, thought) = t.get(&format!("/api/v1/thoughts/{id}")).await;
            assert_eq!(status, StatusCode::OK, "run {run}: {thought}");
            assert_eq!(thought["task_id"], task.as_str(), "one task per run");
            assert_eq!(
                thought["step"],
                step as u64 + 1,
                "span start order: {thought}"
            );
        }
        let (_, logs) = t.get(&format!("/api/v1/logs?task_id={task}")).await;
        assert_eq!(logs["total"], 1, "the tool's exception: {logs}");
    }
    assert!(
        t.stores.otel.waiting(&traces).await.unwrap().is_empty(),
        "nothing left waiting"
    );
}
