//! A corpus of bad requests: each gets the documented 4xx JSON error naming
//! the field, and nothing stored changes.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use vectadb_tests::{Backends, TestApp};

on_both_backends!(
    odd_text_is_stored_exactly,
    bad_input_corpus_gets_documented_errors_and_changes_nothing
);

struct Case {
    method: Method,
    uri: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: StatusCode,
    field: Option<&'static str>,
}

fn json_case(
    method: Method,
    uri: &str,
    body: Value,
    status: StatusCode,
    field: &'static str,
) -> Case {
    Case {
        method,
        uri: uri.to_string(),
        content_type: Some("application/json"),
        body: body.to_string().into_bytes(),
        status,
        field: Some(field),
    }
}

fn raw_case(uri: &str, body: &str, status: StatusCode, field: &'static str) -> Case {
    Case {
        method: Method::POST,
        uri: uri.to_string(),
        content_type: Some("application/json"),
        body: body.as_bytes().to_vec(),
        status,
        field: Some(field),
    }
}

fn get_case(uri: &str, status: StatusCode, field: Option<&'static str>) -> Case {
    Case {
        method: Method::GET,
        uri: uri.to_string(),
        content_type: None,
        body: Vec::new(),
        status,
        field,
    }
}

async fn bad_input_corpus_gets_documented_errors_and_changes_nothing(backends: Backends) {
    let t = TestApp::on_with(backends, |mut c| {
        c.max_body_bytes = 64 * 1024;
        c.max_document_bytes = 16 * 1024;
        c
    })
    .await;
    // Something stored already, which must survive every bad request intact.
    let (_, agent) = t
        .post(
            "/api/v1/agents",
            json!({"id": "existing", "role": "researcher", "goal": "analyze"}),
        )
        .await;
    assert_eq!(agent["id"], "existing");
    let task = t.task("existing", "a task").await;
    t.post(
        "/api/v1/logs",
        json!({"agent_id": "existing", "message": "hello"}),
    )
    .await;
    let before = t.snapshot().await;

    use StatusCode as S;
    let post = Method::POST;
    let agents = "/api/v1/agents";
    let tasks = "/api/v1/tasks";
    let logs = "/api/v1/logs";
    let thoughts = "/api/v1/thoughts";
    let big = "x".repeat(70 * 1024);
    let injection = "x'); DELETE agent; --";
    let mut cases = vec![
        // Malformed JSON and wrong shapes.
        raw_case(agents, "{", S::BAD_REQUEST, "body"),
        raw_case(agents, "", S::BAD_REQUEST, "body"),
        raw_case(agents, "null", S::BAD_REQUEST, "body"),
        raw_case(agents, "[1,2]", S::BAD_REQUEST, "body"),
        raw_case(
            agents,
            "{\"role\":\"r\",\"goal\":\"g\"}{}",
            S::BAD_REQUEST,
            "body",
        ),
        raw_case(
            agents,
            "{\"role\":\"\\ud800\",\"goal\":\"g\"}",
            S::BAD_REQUEST,
            "body",
        ),
        raw_case(
            logs,
            "[{\"agent_id\":\"existing\",\"message\":\"m\"},]",
            S::BAD_REQUEST,
            "body",
        ),
        // Missing and mistyped fields.
        json_case(
            post.clone(),
            agents,
            json!({"goal": "g"}),
            S::BAD_REQUEST,
            "role",
        ),
        json_case(
            post.clone(),
            agents,
            json!({"role": "r"}),
            S::BAD_REQUEST,
            "goal",
        ),
        json_case(
            post.clone(),
            agents,
            json!({"role": 5, "goal": "g"}),
            S::BAD_REQUEST,
            "role",
        ),
        json_case(
            post.clone(),
            agents,
            json!({"role": "r", "goal": ["g"]}),
            S::BAD_REQUEST,
            "goal",
        ),
        json_case(
            post.clone(),
            agents,
            json!({"role": "r", "goal": "g", "metadata": "m"}),
            S::BAD_REQUEST,
            "metadata",
        ),
        json_case(
            post.clone(),
            agents,
            json!({"role": "r", "goal": "g", "colour": "red"}),
            S::BAD_REQUEST,
            "colour",
        ),
        json_case(
            post.clone(),
            agents,
            json!({"role": "  ", "goal": "g"}),
            S::BAD_REQUEST,
            "role",
        ),
        json_case(
            post.clone(),
            agents,
            json!({"role": "nul\u{0}", "goal": "g"}),
            S::BAD_REQUEST,
            "role",
        ),
        json_case(
            post.clone(),
            agents,
            json!({"id": "bad id!", "role": "r", "goal": "g"}),
            S::BAD_REQUEST,
            "id",
        ),
        json_case(
            post.clone(),
            agents,
            json!({"id": "agent:existing", "role": "r", "goal": "g"}),
            S::BAD_REQUEST,
            "id",
        ),
        json_case(
            post.clone(),
            agents,
            json!({"id": injection, "role": "r", "goal": "g"}),
            S::BAD_REQUEST,
            "id",
        ),
        json_case(
            post.clone(),
            agents,
            json!({"id": "existing", "role": "other", "goal": "g"}),
            S::CONFLICT,
            "id",
        ),
        json_case(
            post.clone(),
            tasks,
            json!({"description": "d"}),
            S::BAD_REQUEST,
            "agent_id",
        ),
        json_case(
            post.clone(),
            tasks,
            json!({"agent_id": "existing", "description": 3}),
            S::BAD_REQUEST,
            "description",
        ),
        json_case(
            post.clone(),
            tasks,
            json!({"agent_id": "existing", "description": "d", "status": "paused"}),
            S::BAD_REQUEST,
            "status",
        ),
        json_case(
            post.clone(),
            tasks,
            json!({"agent_id": "ghost", "description": "d"}),
            S::UNPROCESSABLE_ENTITY,
            "agent_id",
        ),
        json_case(
            post.clone(),
            tasks,
            json!({"agent_id": "existing", "description": "d",
                   "started_at": "2026-01-01T00:00:00Z"}),
            S::BAD_REQUEST,
            "started_at",
        ),
        json_case(
            post.clone(),
            tasks,
            json!({"agent_id": "existing", "description": "d", "status": "running",
                   "completed_at": "2026-01-01T00:00:00Z"}),
            S::BAD_REQUEST,
            "completed_at",
        ),
        json_case(
            post.clone(),
            tasks,
            json!({"agent_id": "existing", "description": "d", "status": "completed",
                   "started_at": "2026-01-01T00:00:01Z", "completed_at": "2026-01-01T00:00:00Z"}),
            S::BAD_REQUEST,
            "completed_at",
        ),
        json_case(
            post.clone(),
            tasks,
            json!({"agent_id": "existing", "description": "d", "status": "completed",
                   "completed_at": "yesterday"}),
            S::BAD_REQUEST,
            "completed_at",
        ),
        json_case(
            post.clone(),
            tasks,
            json!({"agent_id": injection, "description": "d"}),
            S::BAD_REQUEST,
            "agent_id",
        ),
        json_case(
            Method::PATCH,
            &format!("{tasks}/{task}"),
            json!({"status": 1}),
            S::BAD_REQUEST,
            "status",
        ),
        json_case(
            Method::PATCH,
            &format!("{tasks}/{task}"),
            json!({"agent_id": "x"}),
            S::BAD_REQUEST,
            "agent_id",
        ),
        json_case(
            Method::PATCH,
            &format!("{tasks}/{task}"),
            json!({"description": ""}),
            S::BAD_REQUEST,
            "description",
        ),
        json_case(
            post.clone(),
            thoughts,
            json!({"agent_id": "existing"}),
            S::BAD_REQUEST,
            "content",
        ),
        json_case(
            post.clone(),
            thoughts,
            json!({"agent_id": "existing", "content": "c", "step": 0}),
            S::BAD_REQUEST,
            "step",
        ),
        json_case(
            post.clone(),
            thoughts,
            json!({"agent_id": "existing", "content": "c", "step": -1}),
            S::BAD_REQUEST,
            "step",
        ),
        json_case(
            post.clone(),
            thoughts,
            json!({"agent_id": "existing", "content": "c", "kind": "a b"}),
            S::BAD_REQUEST,
            "kind",
        ),
        json_case(
            post.clone(),
            thoughts,
            json!({"agent_id": "existing", "task_id": "ghost", "content": "c"}),
            S::UNPROCESSABLE_ENTITY,
            "task_id",
        ),
        json_case(
            post.clone(),
            logs,
            json!({"agent_id": "existing"}),
            S::BAD_REQUEST,
            "message",
        ),
        json_case(
            post.clone(),
            logs,
            json!({"agent_id": "existing", "message": "m", "level": "verbose"}),
            S::BAD_REQUEST,
            "level",
        ),
        json_case(
            post.clone(),
            logs,
            json!({"agent_id": "existing", "message": "m", "timestamp": "yesterday"}),
            S::BAD_REQUEST,
            "timestamp",
        ),
        json_case(post.clone(), logs, json!([]), S::BAD_REQUEST, "logs"),
        json_case(
            post.clone(),
            logs,
            json!([{"agent_id": "existing", "message": "ok"}, {"agent_id": "existing", "message": 7}]),
            S::BAD_REQUEST,
            "logs[1].message",
        ),
        json_case(
            post.clone(),
            logs,
            json!({"agent_id": "ghost", "message": "m"}),
            S::UNPROCESSABLE_ENTITY,
            "agent_id",
        ),
        json_case(
            post.clone(),
            logs,
            json!({"agent_id": "existing", "task_id": "ghost", "message": "m"}),
            S::UNPROCESSABLE_ENTITY,
            "task_id",
        ),
        json_case(
            post.clone(),
            "/api/v1/similar/agents",
            json!({"query": 42}),
            S::BAD_REQUEST,
            "query",
        ),
        json_case(
            post.clone(),
            "/api/v1/similar/tasks",
            json!({"query": "q", "filter": {"owner": "x"}}),
            S::BAD_REQUEST,
            "filter.owner",
        ),
        // Oversize.
        json_case(
            post.clone(),
            agents,
            json!({"role": big, "goal": "g"}),
            S::PAYLOAD_TOO_LARGE,
            "body",
        ),
        // Unknown ids.
        get_case("/api/v1/agents/ghost", S::NOT_FOUND, None),
        get_case("/api/v1/tasks/ghost", S::NOT_FOUND, None),
        get_case("/api/v1/thoughts/ghost", S::NOT_FOUND, None),
        get_case("/api/v1/traces/ghost", S::NOT_FOUND, None),
        get_case(
            &format!("/api/v1/agents/{}", vectadb_tests::urlencode(injection)),
            S::NOT_FOUND,
            None,
        ),
        // Bad query strings.
        get_case("/api/v1/agents?limit=abc", S::BAD_REQUEST, Some("limit")),
        get_case("/api/v1/agents?limit=0", S::BAD_REQUEST, Some("limit")),
        get_case("/api/v1/agents?limit=100000", S::BAD_REQUEST, Some("limit")),
        get_case("/api/v1/agents?offset=-1", S::BAD_REQUEST, Some("offset")),
        get_case(
            "/api/v1/tasks?status=paused",
            S::BAD_REQUEST,
            Some("status"),
        ),
        get_case("/api/v1/logs?level=loud", S::BAD_REQUEST, Some("level")),
        get_case("/api/v1/logs?since=monday", S::BAD_REQUEST, Some("since")),
        get_case("/api/v1/logs?colour=red", S::BAD_REQUEST, Some("colour")),
    ];
    // Wrong content type.
    cases.push(Case {
        method: Method::POST,
        uri: agents.into(),
        content_type: Some("text/plain"),
        body: br#"{"role":"r","goal":"g"}"#.to_vec(),
        status: S::UNSUPPORTED_MEDIA_TYPE,
        field: Some("body"),
    });
    // No content type: refused like any other non-JSON body.
    cases.push(Case {
        method: Method::POST,
        uri: agents.into(),
        content_type: None,
        body: br#"{"role":"r","goal":"g"}"#.to_vec(),
        status: S::UNSUPPORTED_MEDIA_TYPE,
        field: Some("body"),
    });
    // Each route reads at most its own limit: a document 16 KiB (set
    // above), a sign-in 4 KiB, a batch the body limit.
    cases.push(json_case(
        Method::POST,
        agents,
        json!({"role": "r".repeat(20 * 1024), "goal": "g"}),
        S::PAYLOAD_TOO_LARGE,
        "body",
    ));
    cases.push(json_case(
        Method::POST,
        "/api/v1/auth/login",
        json!({"username": "admin", "password": "p".repeat(5 * 1024)}),
        S::PAYLOAD_TOO_LARGE,
        "body",
    ));
    assert!(cases.len() >= 40);

    for case in cases {
        let (status, body) = t
            .call_raw(
                case.method.clone(),
                &case.uri,
                case.content_type,
                case.body.clone(),
            )
            .await;
        let shown = String::from_utf8_lossy(&case.body)
            .chars()
            .take(120)
            .collect::<String>();
        assert_eq!(
            status, case.status,
            "{} {} {shown} → {body}",
            case.method, case.uri
        );
        let error = &body["error"];
        assert!(
            error["code"].is_string() && error["message"].is_string(),
            "{body}"
        );
        if let Some(field) = case.field {
            assert_eq!(
                error["field"], field,
                "{} {} {shown} → {body}",
                case.method, case.uri
            );
        }
    }
    assert_eq!(
        t.snapshot().await,
        before,
        "a rejected request changed stored data"
    );
}

async fn odd_text_is_stored_exactly(backends: Backends) {
    let t = TestApp::on(backends).await;
    let texts = [
        "ünïcødé — 日本語のテキスト — emoji 🤖🧠",
        "quotes ' \" ` and backslashes \\ \\n",
        "'; DELETE agent; SELECT * FROM agent WHERE '1'='1",
        "$id ⟨agent:x⟩ type::record('agent', 'x') <datetime>",
        "RTL ‏مرحبا‎ and zero-width\u{200b}joiner",
    ];
    for text in texts {
        let (status, created) = t
            .post(
                "/api/v1/agents",
                json!({"role": text, "goal": text, "metadata": {text: text}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let (_, fetched) = t
            .get(&format!(
                "/api/v1/agents/{}",
                created["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(fetched["role"], text);
        assert_eq!(fetched["metadata"][text], text);
        let (status, log) = t
            .post(
                "/api/v1/logs",
                json!({"agent_id": created["id"], "message": text}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(log["message"], text);
    }
    assert_eq!(t.get("/api/v1/agents").await.1["total"], texts.len());
}
