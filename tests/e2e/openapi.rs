//! The OpenAPI document matches the Router: every documented operation is
//! served, and every route served is documented (routes can only be added
//! through the annotated handlers); it is valid OpenAPI 3.1 and its
//! references resolve.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::Value;
use vectadb_tests::TestApp;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The (method, path) pairs the document lists.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect()
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let t = TestApp::new().await;
    let (status, doc) = t.get("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let ops = operations(&doc);
    assert!(ops.len() >= 30, "{ops:?}");
    for (method, path) in &ops {
        // Path parameters get a value that exists nowhere.
        let uri = path
            .replace("{id}", "no-such-id")
            .replace("{agent_id}", "no-such-id");
        assert!(!uri.contains('{'), "an unexpected parameter in {path}");
        let request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(&uri)
            .body(Body::empty())
            .unwrap();
        let (status, body) = t.send(request).await;
        assert_ne!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path} is documented but not served"
        );
        let fallback =
            status == StatusCode::NOT_FOUND && body["error"]["message"] == "no such route";
        assert!(!fallback, "{method} {path} is documented but not served");
    }
    // Every operation says what it answers; every API operation documents
    // the error shape.
    for (method, path) in &ops {
        let op = &doc["paths"][path][method.to_lowercase()];
        assert!(
            op["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{method} {path}"
        );
        if path.starts_with("/api/v1/") && path != "/api/v1/openapi.json" {
            let bad = &op["responses"]["400"]["content"]["application/json"]["schema"]["$ref"];
            let unauthorized = &op["responses"]["401"];
            assert!(
                bad == "#/components/schemas/ErrorBody"
                    || path == "/api/v1/auth/logout"
                    || path == "/api/v1/auth/me",
                "{method} {path} lacks the error body: {op}"
            );
            assert!(
                !unauthorized.is_null() || path == "/api/v1/auth/login",
                "{method} {path}: 401"
            );
        }
    }
}

/// Where routes are registered in the API's source: only through
/// `routes!(...)` on annotated handlers, each with its access rule
/// (`guard::Routes::add`), so the Router and the document cannot differ and
/// no route goes without a declared access; except the admin UI's HTML
/// pages and the gRPC methods (`guard::undocumented`).
#[test]
fn routes_are_only_added_through_documented_handlers() {
    let src = vectadb_tests::repo_root().join("api/src");
    let mut offenders = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            // The UI's files and the OTLP/gRPC methods (protobuf over HTTP/2,
            // which OpenAPI cannot describe) are the two exceptions.
            if path.extension().is_none_or(|e| e != "rs")
                || path.ends_with("http/ui.rs")
                || path.ends_with("http/otlp_grpc.rs")
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // Documented routes join only through `guard::Routes::add`,
            // which takes each route's access rule: nothing else builds an
            // `OpenApiRouter` or registers `routes!`.
            if !path.ends_with("http/guard.rs") {
                for (n, line) in text.lines().enumerate() {
                    if line.contains("OpenApiRouter") || line.contains(".routes(") {
                        offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                    }
                }
            }
            for (n, line) in text.lines().enumerate() {
                for call in [".route(", ".route_service(", ".nest_service(", ".nest(\"/"] {
                    if line.contains(call) && !line.trim_start().starts_with("//") {
                        let allowed = call == ".nest(\"/" && path.ends_with("http/openapi.rs");
                        if !allowed {
                            offenders.push(format!(
                                "{}:{}: {}",
                                path.display(),
                                n + 1,
                                line.trim()
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "routes added outside the document:\n{}",
        offenders.join("\n")
    );
    // And the UI module serves only its pages.
    let ui = std::fs::read_to_string(src.join("http/ui.rs")).unwrap();
    let routes: Vec<&str> = ui.lines().filter(|l| l.contains(".route(")).collect();
    assert!(
        routes
            .iter()
            .all(|l| l.contains("\"/\"") || l.contains("\"/ui")),
        "{routes:?}"
    );
}

#[tokio::test]
async fn the_document_is_valid_openapi_and_its_references_resolve() {
    let t = TestApp::new().await;
    let (_, doc) = t.get("/api/v1/openapi.json").await;
    // Every $ref points at a schema that is there.
    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    if k == "$ref" {
                        out.push(v.as_str().unwrap().to_string());
                    }
                    refs(v, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    for reference in &found {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .expect(reference);
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{reference} is missing"
        );
    }
    for schema in [
        "Agent",
        "Task",
        "Thought",
        "Log",
        "ErrorBody",
        "NewAgent",
        "Trace",
        "CreatedKey",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
    assert_eq!(
        doc["paths"]["/health"]["get"]["security"],
        serde_json::json!([{}]),
        "open"
    );

    // The OpenAPI 3.1 meta-schema, checked by an independent validator.
    let python = std::env::var("VECTADB_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut child = Command::new(&python)
        .arg(vectadb_tests::repo_root().join("tests/openapi/validate.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(doc.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("valid OpenAPI 3.1"),
        "{stdout}{} (install tests/openapi/requirements.txt into VECTADB_TEST_PYTHON; scripts/test.sh does)",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// schemathesis (tests/openapi/requirements.txt) generates requests from
/// the served document for every operation — examples, boundary values,
/// invalid ones — against a running `vectadb serve`, for a bounded time
/// (`VECTADB_SCHEMATHESIS_SECONDS`, 60 by default; seed
/// `VECTADB_SCHEMATHESIS_SEED`, 1 by default): no answer may be a 5xx,
/// and every answer's status, content type, headers and body must be ones
/// the document declares.
#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_undocumented_answer() {
    let dir = tempfile::tempdir().unwrap();
    let server = vectadb_tests::process::Server::start(dir.path()).await;
    let python = std::env::var("VECTADB_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let schemathesis = std::path::Path::new(&python)
        .parent()
        .map(|bin| bin.join("schemathesis"))
        .filter(|path| path.exists())
        .expect("schemathesis next to VECTADB_TEST_PYTHON (scripts/test.sh installs it)");
    let seconds = std::env::var("VECTADB_SCHEMATHESIS_SECONDS").unwrap_or_else(|_| "60".into());
    // A fixed seed makes a run repeatable; set another to explore.
    let seed = std::env::var("VECTADB_SCHEMATHESIS_SEED").unwrap_or_else(|_| "1".into());
    let url = format!("http://127.0.0.1:{}/api/v1/openapi.json", server.port);
    let output = tokio::task::spawn_blocking(move || {
        Command::new(schemathesis)
            .args([
                "run",
                &url,
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,\
                 response_headers_conformance,response_schema_conformance",
                "--phases",
                "examples,coverage,fuzzing",
                "--max-time",
                &seconds,
                "--workers",
                "2",
                "--request-timeout",
                "20",
                "--suppress-health-check",
                "all",
                "--no-color",
                "--seed",
                &seed,
            ])
            .env("SCHEMATHESIS_HOOKS", "")
            .output()
            .expect("run schemathesis")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    server.stop();
}
