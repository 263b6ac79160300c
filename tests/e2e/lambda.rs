//! AWS Lambda: Function URL, API Gateway HTTP API (v2) and REST (v1) events
//! through the handler in-process, Lambda's payload limit, and the real
//! `vectadb-lambda` binary against a local Runtime API and real servers.

use std::time::Duration;

use serde_json::{json, Value};
use vectadb::auth::session::SessionSigner;
use vectadb::auth::{Auth, Scope};
use vectadb::lambda::{LambdaConfig, LambdaService, PAYLOAD_LIMIT};
use vectadb_tests::lambda::{event, function_command, invoke, with_header, FakeRuntime, Reply};
use vectadb_tests::process::workspace_binary;
use vectadb_tests::{Servers, TestApp};

const KEEPER: &str = "lambda-keeper";

fn service(t: &TestApp) -> LambdaService {
    vectadb::lambda::service(t.state.clone(), &LambdaConfig::default())
}

async fn call(t: &TestApp, fixture: &str, request_id: &str) -> Reply {
    invoke(service(t), event(fixture), request_id).await
}

#[tokio::test]
async fn events_of_every_kind_run_through_the_same_router() {
    let t = TestApp::new().await;

    // Function URL (payload 2.0): create, with the request id echoed.
    let reply = call(&t, "furl_create_agent", "req-create").await;
    assert_eq!(reply.status(), 201, "{:?}", reply);
    assert_eq!(reply.json()["id"], KEEPER);
    assert_eq!(reply.json()["metadata"]["shift"], "night");
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(reply.header("x-request-id").as_deref(), Some("req-create"));

    // REST API (v1) on stage "prod" with a base64 body: the stage is not part of the route.
    let reply = call(&t, "rest_create_task_base64", "req-task").await;
    assert_eq!(reply.status(), 201, "{:?}", reply);
    assert_eq!(reply.json()["agent_id"], KEEPER);
    assert_eq!(
        reply.json()["description"],
        "trim the wick and polish the lens"
    );
    assert_eq!(reply.header("x-request-id").as_deref(), Some("req-task"));

    // HTTP API (v2) with a base64 JSON array of logs.
    let reply = call(&t, "httpapi_logs_base64", "req-logs").await;
    assert_eq!(reply.status(), 201, "{:?}", reply);

    let reply = call(&t, "furl_get_agent", "req-get").await;
    assert_eq!(reply.status(), 200, "{:?}", reply);
    assert_eq!(reply.json()["role"], "lighthouse keeper");

    // Query strings: raw (v2) and multi-value (v1); a named HTTP API stage in the path.
    let reply = call(&t, "httpapi_list_agents", "req-list").await;
    assert_eq!(reply.status(), 200, "{:?}", reply);
    assert_eq!(reply.json()["total"], 1);
    let reply = call(&t, "httpapi_staged_list_logs", "req-warn").await;
    assert_eq!(reply.status(), 200, "{:?}", reply);
    let logs = reply.json();
    assert_eq!(logs["total"], 1, "{logs}");
    assert_eq!(logs["items"][0]["message"], "fog rolling in", "{logs}");
    let reply = call(&t, "rest_list_tasks_multi_query", "req-tasks").await;
    assert_eq!(reply.status(), 200, "{:?}", reply);
    assert_eq!(reply.json()["items"][0]["id"], "lambda-task");

    let reply = call(&t, "rest_similar_agents", "req-similar").await;
    assert_eq!(reply.status(), 200, "{:?}", reply);
    assert_eq!(reply.json()["results"][0]["id"], KEEPER, "{:?}", reply);

    let reply = call(&t, "furl_trace", "req-trace").await;
    assert_eq!(reply.status(), 200, "{:?}", reply);
    let trace = reply.json();
    assert_eq!(trace["tasks"][0]["id"], "lambda-task", "{trace}");
    assert_eq!(
        trace["tasks"][0]["logs"].as_array().unwrap().len(),
        2,
        "{trace}"
    );

    // Errors keep their status and JSON body through Lambda.
    let reply = call(&t, "furl_create_agent_missing_role", "req-bad").await;
    assert_eq!(reply.status(), 400, "{:?}", reply);
    assert_eq!(reply.json()["error"]["field"], "role", "{:?}", reply);
    let reply = call(&t, "furl_get_unknown_agent", "req-404").await;
    assert_eq!(reply.status(), 404, "{:?}", reply);
    assert_eq!(reply.json()["error"]["code"], "not_found");
    let reply = call(&t, "rest_unknown_route", "req-route").await;
    assert_eq!(reply.status(), 404, "{:?}", reply);
    assert_eq!(reply.header("x-request-id").as_deref(), Some("req-route"));
}

#[tokio::test]
async fn a_configured_base_path_is_stripped() {
    let t = TestApp::new().await;
    t.agent("ferry captain", "carry passengers across the bay")
        .await;
    let lambda = LambdaConfig {
        path_prefix: Some("/vectadb/".into()),
    };
    let mut list = event("httpapi_list_agents");
    list["rawPath"] = json!("/vectadb/api/v1/agents");
    let reply = invoke(
        vectadb::lambda::service(t.state.clone(), &lambda),
        list,
        "r1",
    )
    .await;
    assert_eq!(reply.status(), 200, "{:?}", reply);
    assert_eq!(reply.json()["total"], 1);
    // Without the prefix the path is left alone.
    let reply = invoke(
        vectadb::lambda::service(t.state.clone(), &lambda),
        event("httpapi_list_agents"),
        "r2",
    )
    .await;
    assert_eq!(reply.status(), 200, "{:?}", reply);
}

#[tokio::test]
async fn lambdas_payload_limit_is_a_clear_413_both_ways() {
    let t = TestApp::new().await;
    let agent = t.agent("archivist", "keep every record").await;

    // A request body over 6 MB: 413 naming the body, nothing stored.
    let message = "x".repeat(60 * 1024);
    let batch: Vec<Value> = (0..110)
        .map(|_| json!({"agent_id": agent, "level": "info", "message": message}))
        .collect();
    let mut request = event("furl_create_agent");
    request["rawPath"] = json!("/api/v1/logs");
    request["requestContext"]["http"]["path"] = json!("/api/v1/logs");
    request["body"] = json!(Value::from(batch.clone()).to_string());
    assert!(request["body"].as_str().unwrap().len() > PAYLOAD_LIMIT);
    let reply = invoke(service(&t), request, "big-request").await;
    assert_eq!(reply.status(), 413, "{:?}", reply.0["body"]);
    assert_eq!(reply.json()["error"]["field"], "body");
    assert_eq!(t.get("/api/v1/logs").await.1["total"], 0);

    // Over 6 MB of logs stored (outside Lambda, in two batches), then listed
    // through Lambda: more than fits gets a 413 saying why; a page that fits works.
    for chunk in batch.chunks(55) {
        let (status, body) = t.post("/api/v1/logs", Value::from(chunk.to_vec())).await;
        assert_eq!(status, 201, "{body}");
    }
    let mut list = event("httpapi_list_agents");
    list["rawPath"] = json!("/api/v1/logs");
    list["rawQueryString"] = json!("limit=200");
    let reply = invoke(service(&t), list.clone(), "big-response").await;
    assert_eq!(reply.status(), 413);
    let error = reply.json()["error"].clone();
    assert_eq!(error["code"], "payload_too_large", "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("AWS Lambda"),
        "{error}"
    );
    list["rawQueryString"] = json!("limit=50");
    let reply = invoke(service(&t), list, "page").await;
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.json()["items"].as_array().unwrap().len(), 50);
}

/// The built `vectadb-lambda`, pointed at `runtime`.
fn lambda_command(
    dir: &std::path::Path,
    runtime: &str,
    env: &[(&str, String)],
) -> std::process::Command {
    let binary = workspace_binary("vectadb-lambda", "VECTADB_LAMBDA_BIN");
    let mut command = function_command(&binary, dir, runtime, 1024, env);
    command.env("RUST_LOG", "info,surrealdb=warn");
    command
}

/// What the function is deployed with (the SAM template's parameters).
const ADMIN_PASSWORD: &str = "keeper-of-the-light";
const JWT_SECRET: &str = "a-session-signing-key-of-at-least-32-bytes";

fn with_bearer(event: Value, token: &str) -> Value {
    with_header(event, "authorization", &format!("Bearer {token}"))
}

/// A Function URL POST of `body` to `path`.
fn furl_post(path: &str, body: Value) -> Value {
    let mut event = event("furl_create_agent");
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["path"] = json!(path);
    event["body"] = json!(body.to_string());
    event
}

#[tokio::test]
async fn the_lambda_binary_serves_invocations_from_the_runtime_api() {
    let servers = Servers::start().await;
    let config = servers.configure(vectadb_tests::test_config(
        tempfile::tempdir().unwrap().path(),
    ));
    vectadb::app::provision(&config).await.unwrap();
    // An ingest key made beforehand against the same SurrealDB (as
    // `vectadb keys create` does).
    let store = vectadb::app::open_store(&config).await.unwrap();
    let key = Auth::new(store, config.auth())
        .create_key("lambda agents", &[Scope::Read, Scope::Write])
        .await
        .unwrap()
        .key;
    let runtime = FakeRuntime::start().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("lambda.log");
    let mut env = servers.env();
    env.push(("ADMIN_PASSWORD", ADMIN_PASSWORD.into()));
    env.push(("JWT_SECRET", JWT_SECRET.into()));
    let mut child = lambda_command(dir.path(), &runtime.address, &env)
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(dir.path().join("lambda.err")).unwrap())
        .spawn()
        .expect("spawn vectadb-lambda");
    let read_log = || {
        std::fs::read_to_string(&log).unwrap_or_default()
            + &std::fs::read_to_string(dir.path().join("lambda.err")).unwrap_or_default()
    };
    let limit = Duration::from_secs(60);
    let invocation = |id: &'static str, event: Value| {
        let runtime = &runtime;
        async move { Reply(runtime.invoke(id, event, limit).await.unwrap()) }
    };

    // No credentials: refused, nothing stored.
    let anonymous = runtime
        .invoke("inv-0", event("furl_create_agent"), limit)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", read_log()));
    let anonymous = Reply(anonymous);
    assert_eq!(anonymous.status(), 401, "{:?}\n{}", anonymous, read_log());
    assert_eq!(anonymous.json()["error"]["code"], "unauthorized");
    assert_eq!(anonymous.header("x-request-id").as_deref(), Some("inv-0"));
    let wrong = invocation(
        "inv-0b",
        with_header(event("furl_get_agent"), "x-api-key", "vdb_nope_nope"),
    )
    .await;
    assert_eq!(wrong.status(), 401, "{:?}", wrong);

    // The key made beforehand, as X-API-Key.
    let first = invocation(
        "inv-1",
        with_header(event("furl_create_agent"), "x-api-key", &key),
    )
    .await;
    assert_eq!(first.status(), 201, "{:?}\n{}", first, read_log());
    assert_eq!(first.json()["id"], KEEPER);
    assert_eq!(first.header("x-request-id").as_deref(), Some("inv-1"));

    // The admin from ADMIN_PASSWORD signs in; the session works as a bearer
    // token (REST API events too).
    let wrong_password = invocation(
        "inv-login-bad",
        furl_post(
            "/api/v1/auth/login",
            json!({ "username": "admin", "password": "not-it" }),
        ),
    )
    .await;
    assert_eq!(wrong_password.status(), 401, "{:?}", wrong_password);
    let login = invocation(
        "inv-login",
        furl_post(
            "/api/v1/auth/login",
            json!({ "username": "admin", "password": ADMIN_PASSWORD }),
        ),
    )
    .await;
    assert_eq!(login.status(), 200, "{:?}\n{}", login, read_log());
    let token = login.json()["token"].as_str().unwrap().to_string();

    // Warm invocations: the same process, clients and model.
    let second = invocation(
        "inv-2",
        with_bearer(event("rest_create_task_base64"), &token),
    )
    .await;
    assert_eq!(second.status(), 201, "{:?}", second);
    let third = invocation("inv-3", with_bearer(event("rest_similar_agents"), &token)).await;
    assert_eq!(third.status(), 200, "{:?}", third);
    assert_eq!(third.json()["results"][0]["id"], KEEPER, "{:?}", third);
    // A session signed with JWT_SECRET elsewhere (another execution
    // environment) is good here too.
    let elsewhere = SessionSigner::new(JWT_SECRET.as_bytes())
        .issue("admin", chrono::Duration::minutes(5))
        .token;
    let fourth = invocation("inv-4", with_bearer(event("furl_trace"), &elsewhere)).await;
    assert_eq!(fourth.status(), 200, "{:?}", fourth);
    assert_eq!(
        fourth.json()["tasks"][0]["id"],
        "lambda-task",
        "{:?}",
        fourth
    );
    let forged = SessionSigner::new(b"another key that is 32 bytes long!")
        .issue("admin", chrono::Duration::minutes(5))
        .token;
    let forged = invocation("inv-4b", with_bearer(event("furl_trace"), &forged)).await;
    assert_eq!(forged.status(), 401, "{:?}", forged);
    let bad = invocation(
        "inv-5",
        with_header(event("furl_create_agent_missing_role"), "x-api-key", &key),
    )
    .await;
    assert_eq!(bad.status(), 400, "{:?}", bad);
    assert!(child.try_wait().unwrap().is_none(), "the function exited");

    let output = read_log();
    assert_eq!(output.matches("cold start").count(), 1, "{output}");
    assert!(output.contains("request_id=inv-3"), "{output}");
    assert!(
        !output.contains(ADMIN_PASSWORD) && !output.contains(JWT_SECRET) && !output.contains(&key),
        "a secret in the log:\n{output}"
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn the_lambda_binary_without_credentials_refuses_every_request() {
    let servers = Servers::start().await;
    vectadb::app::provision(&servers.configure(vectadb_tests::test_config(
        tempfile::tempdir().unwrap().path(),
    )))
    .await
    .unwrap();
    let runtime = FakeRuntime::start().await;
    let dir = tempfile::tempdir().unwrap();
    let err = dir.path().join("lambda.err");
    let mut child = lambda_command(dir.path(), &runtime.address, &servers.env())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("spawn vectadb-lambda");
    let reply = Reply(
        runtime
            .invoke("inv-1", event("furl_get_agent"), Duration::from_secs(60))
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", std::fs::read_to_string(&err).unwrap())),
    );
    assert_eq!(reply.status(), 401, "{:?}", reply);
    let message = reply.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("ADMIN_PASSWORD"), "{message}");
    let log = std::fs::read_to_string(&err).unwrap();
    assert!(
        log.contains("no API key or user exists"),
        "the cold start warns: {log}"
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn the_lambda_binary_refuses_embedded_backends() {
    let dir = tempfile::tempdir().unwrap();
    let output = lambda_command(dir.path(), "127.0.0.1:9", &[])
        .output()
        .expect("run vectadb-lambda");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("SURREAL_URL") && stderr.contains("QDRANT_URL"),
        "{stderr}"
    );
}

#[test]
fn the_sam_template_sets_only_settings_vectadb_reads() {
    use clap::CommandFactory;
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        config: vectadb::config::Config,
        #[command(flatten)]
        lambda: LambdaConfig,
    }
    let known: std::collections::HashSet<String> = Cli::command()
        .get_arguments()
        .filter_map(|arg| arg.get_env())
        .map(|env| env.to_string_lossy().into_owned())
        .chain(["RUST_LOG".to_string()])
        .collect();
    let path = vectadb_tests::repo_root().join("deploy/lambda/template.yaml");
    let template = std::fs::read_to_string(&path).unwrap();
    // The keys indented under `Variables:`.
    let mut set = Vec::new();
    let mut lines = template.lines().skip_while(|l| l.trim() != "Variables:");
    let header = lines.next().expect("an Environment.Variables section");
    let depth = header.len() - header.trim_start().len();
    for line in lines {
        let indent = line.len() - line.trim_start().len();
        if line.trim().is_empty() || indent <= depth {
            break;
        }
        set.push(line.trim().split(':').next().unwrap().to_string());
    }
    for key in &set {
        assert!(known.contains(key), "{key} is not a VectaDB setting");
    }
    for required in [
        "SURREAL_URL",
        "SURREAL_USER",
        "SURREAL_PASS",
        "QDRANT_URL",
        "MODELS_DIR",
        // Without a user or key the function refuses every request.
        "ADMIN_PASSWORD",
        "JWT_SECRET",
    ] {
        assert!(
            set.iter().any(|k| k == required),
            "{required} is not set: {set:?}"
        );
    }
    // A parameter's settings, trimmed.
    let parameter = |name: &str| -> Vec<String> {
        template
            .lines()
            .skip_while(|l| *l != format!("  {name}:"))
            .skip(1)
            .take_while(|l| l.starts_with("    "))
            .map(|l| l.trim().to_string())
            .collect()
    };
    // Secrets come from parameters CloudFormation never shows.
    for (variable, name) in [
        ("SURREAL_PASS", "SurrealPass"),
        ("QDRANT_API_KEY", "QdrantApiKey"),
        ("ADMIN_PASSWORD", "AdminPassword"),
        ("JWT_SECRET", "JwtSecret"),
    ] {
        assert!(
            template.contains(&format!("{variable}: !Ref {name}\n")),
            "{variable} is not set from {name}"
        );
        let declared = parameter(name);
        assert!(
            declared.iter().any(|l| l == "NoEcho: true"),
            "parameter {name} is not NoEcho: {declared:?}"
        );
    }
    let jwt = parameter("JwtSecret");
    assert!(
        jwt.iter().any(|l| l == "MinLength: 32"),
        "the API refuses a shorter JWT_SECRET: {jwt:?}"
    );
    // The code is what scripts/package-lambda.sh stages.
    let script =
        std::fs::read_to_string(vectadb_tests::repo_root().join("scripts/package-lambda.sh"))
            .unwrap();
    assert!(template.contains("CodeUri: ../../dist/lambda/x86_64/"));
    assert!(script.contains(r#"stage="dist/lambda/$arch""#));
    assert!(template.contains("Handler: bootstrap") && script.contains(r#""$stage/bootstrap""#));
}

/// A Function URL sign-in from `source_ip`.
fn login_event(source_ip: &str, password: &str) -> Value {
    let mut event = event("furl_create_agent");
    event["rawPath"] = json!("/api/v1/auth/login");
    event["requestContext"]["http"]["path"] = json!("/api/v1/auth/login");
    event["requestContext"]["http"]["sourceIp"] = json!(source_ip);
    event["body"] = json!(json!({ "username": "admin", "password": password }).to_string());
    event
}

#[tokio::test]
async fn failed_sign_ins_are_counted_per_source_ip_on_lambda() {
    let t = TestApp::with(|mut c| {
        c.login_max_failures = 2;
        c
    })
    .await;
    t.state
        .auth
        .put_user("admin", "lambda admin password")
        .await
        .unwrap();
    for _ in 0..2 {
        let reply = invoke(service(&t), login_event("198.51.100.1", "guess"), "r").await;
        assert_eq!(reply.status(), 401, "{reply:?}");
    }
    let reply = invoke(
        service(&t),
        login_event("198.51.100.1", "lambda admin password"),
        "r",
    )
    .await;
    assert_eq!(reply.status(), 429, "the guessing address is locked out");
    // Another caller (API Gateway's source IP, not one shared bucket) is not.
    let reply = invoke(
        service(&t),
        login_event("198.51.100.2", "lambda admin password"),
        "r",
    )
    .await;
    assert_eq!(reply.status(), 200, "{reply:?}");
}
