//! Fuzzing with proptest, for a bounded time per target
//! (`VECTADB_FUZZ_SECONDS` per test, shared by its phases; 5 s by default,
//! `scripts/test.sh` gives each 60):
//! - the JSON extractors, through the real Router: bodies built from the
//!   API's own field names and values of every type, and valid bodies with
//!   bytes flipped, cut or inserted, must never get a 5xx, and every 4xx
//!   must be a JSON error naming what went wrong;
//! - OTLP decoding and mapping (protobuf and OTLP/JSON): arbitrary and
//!   mutated exports must decode or be refused, never panic, and what
//!   decodes must map;
//! - the CouchDB export reader and document mapping: arbitrary and mutated
//!   exports must be read or refused, never panic.
//!
//! Inputs come from fixed seeds (`VECTADB_FUZZ_SEED`, 1 by default), so a
//! run is repeatable; `VECTADB_FUZZ_SEED=random` explores. A failing input
//! is shrunk and printed; each one found is kept in [`REGRESSIONS`] and
//! checked first, every run.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use prost::Message;
use serde_json::{json, Value};
use vectadb::otlp::decode::Encoding;
use vectadb_tests::{otlp_load, TestApp};

/// Bodies that once broke an extractor (or came close), by route.
const REGRESSIONS: &[(&str, &str)] = &[
    (
        "/api/v1/agents",
        r#"{"role":"a","goal":"b","metadata":null}"#,
    ),
    ("/api/v1/logs", r#"{"logs":[]}"#),
    (
        "/api/v1/tasks",
        r#"{"agent_id":"a","description":"d","input":1e400}"#,
    ),
    (
        "/api/v1/thoughts",
        r#"{"agent_id":"a","content":"c","step":-1}"#,
    ),
];

/// The first batch's seed (`VECTADB_FUZZ_SEED`, 1 by default); `None`
/// for `random`.
fn seed() -> Option<u64> {
    match std::env::var("VECTADB_FUZZ_SEED") {
        Ok(text) if text == "random" => None,
        Ok(text) => Some(
            text.parse()
                .expect("VECTADB_FUZZ_SEED: a number or `random`"),
        ),
        Err(_) => Some(1),
    }
}

fn budget() -> Duration {
    let seconds = std::env::var("VECTADB_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    Duration::from_secs(seconds)
}

/// Run `test` on inputs of `strategy` for `1/share` of the target's time
/// budget; panics with the shrunk input on the first failure.
fn fuzz<S: Strategy>(
    name: &str,
    share: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let budget = budget() / share.max(1);
    let deadline = Instant::now() + budget;
    let mut cases = 0u64;
    let mut batch = 0u64;
    while Instant::now() < deadline {
        // Batches of 64 cases, each from its own seed: the same inputs in
        // the same order every run unless VECTADB_FUZZ_SEED says `random`.
        let rng_seed = match seed() {
            Some(base) => RngSeed::Fixed(base.wrapping_add(batch)),
            None => RngSeed::Random,
        };
        batch += 1;
        let mut runner = TestRunner::new(Config {
            cases: 64,
            failure_persistence: None,
            rng_seed,
            ..Config::default()
        });
        if let Err(failure) = runner.run(&strategy, &test) {
            panic!("{name}: {failure}");
        }
        cases += 64;
    }
    eprintln!("{name}: {cases} cases in {budget:?}");
}

/// Bytes of `base` flipped, cut and inserted at random.
fn mutated(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = base.len().max(1);
    prop::collection::vec((0..len, any::<u8>(), 0..3u8), 1..8).prop_map(move |edits| {
        let mut bytes = base.clone();
        for (at, byte, how) in edits {
            let at = at.min(bytes.len());
            match how {
                0 if at < bytes.len() => bytes[at] = byte,
                1 => bytes.truncate(at),
                _ => bytes.insert(at, byte),
            }
        }
        bytes
    })
}

/// JSON values built from the API's own field names, so that extractors
/// get past "unknown field" and meet wrong types, sizes and nesting.
fn api_json() -> impl Strategy<Value = Value> {
    const FIELDS: &[&str] = &[
        "id",
        "role",
        "goal",
        "metadata",
        "agent_id",
        "task_id",
        "thought_id",
        "parent_id",
        "description",
        "status",
        "input",
        "output",
        "content",
        "kind",
        "step",
        "level",
        "message",
        "timestamp",
        "logs",
        "query",
        "limit",
        "offset",
        "filter",
        "jsonrpc",
        "method",
        "params",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-z_-]{0,12}".prop_map(Value::String),
        Just(json!("running")),
        Just(json!("error")),
        Just(json!("2026-12-06T10:00:00Z")),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(FIELDS), inner), 0..8).prop_map(|pairs| {
                Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

/// A route's answer must be a success or a 4xx JSON error with a code and
/// a message; never a 5xx.
fn check_answer(
    route: &str,
    body: &[u8],
    status: StatusCode,
    answer: &Value,
) -> Result<(), TestCaseError> {
    let shown = String::from_utf8_lossy(body);
    prop_assert!(
        !status.is_server_error(),
        "{route} answered {status} to {shown}: {answer}"
    );
    if status.is_client_error() {
        prop_assert!(
            answer["error"]["code"].is_string() && answer["error"]["message"].is_string(),
            "{route} answered {status} without a JSON error to {shown}: {answer}"
        );
    }
    Ok(())
}

const ROUTES: &[&str] = &[
    "/api/v1/agents",
    "/api/v1/tasks",
    "/api/v1/thoughts",
    "/api/v1/logs",
    "/api/v1/similar/agents",
    "/api/v1/similar/logs",
    "/api/v1/rpc/agents",
];

#[test]
fn fuzz_the_json_extractors() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let t = runtime.block_on(TestApp::new());
    let agent = runtime.block_on(t.agent("Fuzz target", "absorbs what the fuzzer sends"));
    let post = |route: &str, body: Vec<u8>| -> Result<(), TestCaseError> {
        let (status, answer) = runtime.block_on(t.call_raw(
            Method::POST,
            route,
            Some("application/json"),
            body.clone(),
        ));
        check_answer(route, &body, status, &answer)
    };
    for (route, body) in REGRESSIONS {
        post(route, body.as_bytes().to_vec()).unwrap();
    }
    fuzz(
        "JSON extractors (API-shaped values)",
        2,
        (prop::sample::select(ROUTES), api_json()),
        |(route, value)| post(route, serde_json::to_vec(&value).unwrap()),
    );
    let valid: Vec<(&str, Vec<u8>)> = vec![
        (
            "/api/v1/agents",
            json!({"role": "r", "goal": "g", "metadata": {"k": [1, 2]}}),
        ),
        (
            "/api/v1/tasks",
            json!({"agent_id": agent, "description": "d", "input": {"q": 1}}),
        ),
        (
            "/api/v1/thoughts",
            json!({"agent_id": agent, "content": "c", "kind": "plan"}),
        ),
        (
            "/api/v1/logs",
            json!({"logs": [{"agent_id": agent, "level": "info", "message": "m"}]}),
        ),
        ("/api/v1/similar/agents", json!({"query": "q", "limit": 3})),
        (
            "/api/v1/rpc/agents",
            json!({"jsonrpc": "2.0", "id": 1, "method": "get", "params": {"id": agent}}),
        ),
    ]
    .into_iter()
    .map(|(route, body)| (route, serde_json::to_vec(&body).unwrap()))
    .collect();
    let mutations = prop::sample::select((0..valid.len()).collect::<Vec<_>>())
        .prop_flat_map(move |i| (Just(valid[i].0), mutated(valid[i].1.clone())));
    fuzz(
        "JSON extractors (mutated valid bodies)",
        2,
        mutations,
        |(route, body)| post(route, body),
    );
}

/// Decode as the OTLP routes do, then map what decodes; only panics fail.
fn decode_and_map(bytes: &[u8], encoding: Encoding, logs: bool) {
    let budget = vectadb::http::DEFAULT_MAX_OTLP_ITEMS;
    if logs {
        if let Ok(request) =
            encoding.decode::<ExportLogsServiceRequest>(bytes, "ExportLogsServiceRequest", budget)
        {
            let _ = vectadb::otlp::model::logs_of(request);
        }
    } else if let Ok(request) =
        encoding.decode::<ExportTraceServiceRequest>(bytes, "ExportTraceServiceRequest", budget)
    {
        let (spans, _, _) = vectadb::otlp::model::spans_of(request);
        let items = spans
            .into_iter()
            .map(vectadb::otlp::model::Item::Span)
            .collect();
        let _ = vectadb::otlp::mapping::plan(items, &Default::default(), &Default::default());
    }
}

#[test]
fn fuzz_otlp_decoding_and_mapping() {
    let protobuf = otlp_load::export(0, 12, 2).encode_to_vec();
    let json = serde_json::to_vec(&otlp_load::export(100, 12, 2)).unwrap();
    fuzz(
        "OTLP (arbitrary bytes)",
        3,
        (
            prop::collection::vec(any::<u8>(), 0..512),
            any::<bool>(),
            any::<bool>(),
        ),
        |(bytes, as_json, logs)| {
            let encoding = if as_json {
                Encoding::Json
            } else {
                Encoding::Protobuf
            };
            decode_and_map(&bytes, encoding, logs);
            Ok(())
        },
    );
    fuzz(
        "OTLP protobuf (mutated export)",
        3,
        mutated(protobuf),
        |bytes| {
            decode_and_map(&bytes, Encoding::Protobuf, false);
            decode_and_map(&bytes, Encoding::Protobuf, true);
            Ok(())
        },
    );
    fuzz("OTLP/JSON (mutated export)", 3, mutated(json), |bytes| {
        decode_and_map(&bytes, Encoding::Json, false);
        Ok(())
    });
}

/// Read an export and map every document; only panics fail.
fn read_and_map(bytes: &[u8]) {
    let _ = vectadb::migrate::export::read_rows(bytes, |row| {
        if let Ok(doc) = &row.doc {
            let _ = vectadb::migrate::docs::map(doc);
        }
        true
    });
}

#[test]
fn fuzz_the_couchdb_export_reader() {
    let export = json!({"total_rows": 4, "offset": 0, "rows": [
        {"id": "a1", "doc": {"_id": "agent:a1", "type": "agent", "role": "r", "goal": "g",
            "created_at": "2024-01-02T03:04:05.123456"}},
        {"id": "t1", "doc": {"_id": "t1", "type": "task", "agent_id": "a1",
            "description": "d", "status": "in_progress", "input": {"q": 1}}},
        {"id": "h1", "doc": {"_id": "h1", "doc_type": "thought", "agent_id": "a1",
            "task_id": "t1", "content": "c", "step": 2}},
        {"id": "l1", "doc": {"_id": "l1", "type": "log", "agent_id": "a1",
            "level": "WARNING", "message": "m", "timestamp": "2024-01-02 03:04:05"}},
        {"id": "gone", "error": "not_found"}
    ]});
    let export = serde_json::to_vec(&export).unwrap();
    fuzz(
        "CouchDB export (arbitrary bytes)",
        3,
        prop::collection::vec(any::<u8>(), 0..256),
        |bytes| {
            read_and_map(&bytes);
            Ok(())
        },
    );
    fuzz("CouchDB export (mutated)", 3, mutated(export), |bytes| {
        read_and_map(&bytes);
        Ok(())
    });
    fuzz(
        "CouchDB documents (API-shaped values)",
        3,
        api_json(),
        |mut doc| {
            if let Some(object) = doc.as_object_mut() {
                object.insert("type".into(), json!("task"));
            }
            let _ = vectadb::migrate::docs::map(&doc);
            Ok(())
        },
    );
}
