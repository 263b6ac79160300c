//! OTLP/gRPC: the real Python SDK's gRPC exporters (tests/otel/agent_run.py
//! `--protocol grpc`) against the served Router and against `vectadb serve`
//! on its `OTLP_GRPC_PORT` with an API key in the call metadata; and the
//! protocol's framing, statuses and backpressure call by call.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use tower::ServiceExt;
use vectadb::http::otlp_grpc::TRACE_EXPORT;
use vectadb_tests::process::{self, Server};
use vectadb_tests::{Backends, TestApp};

use super::otel::{emit_async, hand_made, run_emitter, two_runs_become_traces};

on_both_backends!(the_python_sdk_exports_over_grpc);

async fn the_python_sdk_exports_over_grpc(backends: Backends) {
    let t = TestApp::on(backends).await;
    two_runs_become_traces(&t, "grpc", "11").await;
}

/// `vectadb serve` listens for OTLP/gRPC on its own port; with credentials
/// required, a call carrying a valid key in its metadata is placed and one
/// without is refused UNAUTHENTICATED (the exporter reports the failure).
#[tokio::test]
async fn the_server_takes_grpc_exports_on_its_port_with_an_api_key() {
    let dir = tempfile::tempdir().unwrap();
    let created = process::run_to_end(
        {
            let mut command = process::vectadb_command(dir.path(), &[]);
            command.args([
                "keys",
                "create",
                "--name",
                "collector",
                "--scope",
                "write,read",
            ]);
            command
        },
        Duration::from_secs(60),
    );
    assert!(created.success, "{}", created.stderr);
    let key = created.stdout.trim().to_string();
    let grpc_port = process::free_port();
    let server = Server::start_with(
        dir.path(),
        &[
            ("OTLP_GRPC_PORT", grpc_port.to_string()),
            ("AUTH_MODE", "required".into()),
        ],
    )
    .await;
    let endpoint = format!("http://127.0.0.1:{grpc_port}");

    let refused = {
        let endpoint = endpoint.clone();
        tokio::task::spawn_blocking(move || run_emitter(&endpoint, &["--protocol", "grpc"]))
            .await
            .unwrap()
    };
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success(),
        "exported without a key: {stderr}"
    );
    assert!(stderr.contains("UNAUTHENTICATED"), "{stderr}");

    let header = format!("x-api-key={key}");
    let run = emit_async(&endpoint, &["--protocol", "grpc", "--header", &header]).await;
    let agent = run["agent"]["id"].as_str().unwrap().to_string();
    // Acknowledged means stored; the worker places it within moments.
    let auth = format!("X-API-Key: {key}\r\n");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, trace) = process::http_request(
            server.port,
            "GET",
            &format!("/api/v1/traces/{agent}"),
            &auth,
            None,
        )
        .await
        .unwrap();
        let thoughts = trace["tasks"][0]["thoughts"].as_array().map_or(0, Vec::len);
        if status == 200 && thoughts > 0 {
            assert_eq!(trace["agent"]["role"], "TravelPlanner", "{trace}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the gRPC export was not placed: {status} {trace}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.stop();
}

/// One gRPC call through the Router: the HTTP status, the headers, the
/// body's bytes and the trailers.
struct Answer {
    status: StatusCode,
    headers: HashMap<String, String>,
    body: Vec<u8>,
    trailers: HashMap<String, String>,
}

impl Answer {
    fn grpc_status(&self) -> Option<&str> {
        self.trailers
            .get("grpc-status")
            .or_else(|| self.headers.get("grpc-status"))
            .map(String::as_str)
    }
}

async fn call(t: &TestApp, encoding: Option<&str>, body: Vec<u8>) -> Answer {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(TRACE_EXPORT)
        .header(header::CONTENT_TYPE, "application/grpc");
    if let Some(encoding) = encoding {
        request = request.header("grpc-encoding", encoding);
    }
    let response = t
        .app
        .clone()
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let text = |map: &axum::http::HeaderMap| -> HashMap<String, String> {
        map.iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect()
    };
    let status = response.status();
    let headers = text(response.headers());
    let collected = response.into_body().collect().await.unwrap();
    let trailers = collected.trailers().map(text).unwrap_or_default();
    Answer {
        status,
        headers,
        body: collected.to_bytes().to_vec(),
        trailers,
    }
}

fn framed(flag: u8, message: &[u8]) -> Vec<u8> {
    let mut body = vec![flag];
    body.extend_from_slice(&(message.len() as u32).to_be_bytes());
    body.extend_from_slice(message);
    body
}

#[tokio::test]
async fn grpc_calls_are_answered_by_the_grpc_protocol() {
    let t = TestApp::with(|mut c| {
        c.otlp_max_pending = 2;
        c
    })
    .await;

    // A plain call: the response message framed, status 0 in the trailers,
    // partial success naming the one invalid span.
    let answer = call(&t, None, framed(0, &hand_made(0x21, true).encode_to_vec())).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["content-type"], "application/grpc");
    assert_eq!(
        answer.trailers.get("grpc-status").map(String::as_str),
        Some("0")
    );
    assert_eq!(answer.body[0], 0, "an uncompressed message");
    let length = u32::from_be_bytes(answer.body[1..5].try_into().unwrap()) as usize;
    assert_eq!(answer.body.len(), 5 + length);
    let response = ExportTraceServiceResponse::decode(&answer.body[5..]).unwrap();
    let partial = response.partial_success.expect("one span was invalid");
    assert_eq!(partial.rejected_spans, 1);
    t.state.otlp.drain().await.unwrap();

    // gzip-compressed, as grpc-encoding says.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &hand_made(0x22, false).encode_to_vec()).unwrap();
    let answer = call(&t, Some("gzip"), framed(1, &gz.finish().unwrap())).await;
    assert_eq!(answer.grpc_status(), Some("0"), "{:?}", answer.headers);
    t.state.otlp.drain().await.unwrap();

    // Malformed calls: a status in the headers only, nothing stored.
    let answer = call(&t, None, vec![0, 0, 0, 0, 9, 1, 2]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.grpc_status(), Some("3"), "INVALID_ARGUMENT");
    assert!(answer.headers["grpc-message"].contains("prefixed length"));
    assert!(answer.body.is_empty());
    let answer = call(&t, None, framed(0, b"\xff\xff\xff not protobuf")).await;
    assert_eq!(answer.grpc_status(), Some("3"));
    let answer = call(&t, Some("br"), framed(1, b"whatever")).await;
    assert_eq!(answer.grpc_status(), Some("12"), "UNIMPLEMENTED encoding");

    // Past OTLP_MAX_PENDING: UNAVAILABLE with a retry delay, the call
    // refused whole.
    let (_, before) = t.get("/api/v1/tasks").await;
    let big = hand_made(0x23, false);
    let answer = call(&t, None, framed(0, &big.encode_to_vec())).await;
    assert_eq!(answer.grpc_status(), Some("0"));
    let answer = call(&t, None, framed(0, &hand_made(0x24, false).encode_to_vec())).await;
    assert_eq!(
        answer.grpc_status(),
        Some("14"),
        "UNAVAILABLE: {:?}",
        answer.headers
    );
    assert!(
        answer.headers.contains_key("grpc-status-details-bin"),
        "a RetryInfo detail: {:?}",
        answer.headers
    );
    t.state.otlp.drain().await.unwrap();
    let (_, after) = t.get("/api/v1/tasks").await;
    assert_eq!(
        after["total"].as_u64().unwrap(),
        before["total"].as_u64().unwrap() + 1,
        "only the accepted call's task: {after}"
    );
}

/// A call without credentials is UNAUTHENTICATED, in gRPC's form (the
/// auth gate answers before the handler).
#[tokio::test]
async fn grpc_calls_without_credentials_are_refused_in_grpc_form() {
    let t = TestApp::with(|mut c| {
        c.auth_mode = vectadb::auth::AuthMode::Required;
        c
    })
    .await;
    let answer = call(&t, None, framed(0, &hand_made(0x31, false).encode_to_vec())).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["content-type"], "application/grpc");
    assert_eq!(
        answer.grpc_status(),
        Some("16"),
        "UNAUTHENTICATED: {:?}",
        answer.headers
    );
}
