use axum::http::StatusCode;
use serde_json::json;
use vectadb_tests::TestApp;

#[tokio::test]
async fn health_reports_each_component() {
    let t = TestApp::new().await;
    let (status, body) = t.get("/health").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ok");
    for part in ["document_store", "vector_index", "embedding_model"] {
        assert_eq!(body["components"][part]["status"], "up", "{part}: {body}");
    }
}

fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| {
            l.starts_with(name)
                && l[name.len()..].starts_with(['{', ' '])
                && labels
                    .iter()
                    .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_logs_and_errors() {
    let t = TestApp::new().await;
    let a = t.agent("a", "g").await;
    t.get("/api/v1/agents/ghost").await;
    t.get("/api/v1/agents/ghost").await;
    t.post(
        "/api/v1/logs",
        json!([{"agent_id": a, "message": "disk full", "level": "error"}, {"agent_id": a, "message": "retrying the upload"}, {"agent_id": a, "message": "upload finished"}]),
    )
    .await;
    let (status, text) = t.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let text = text.as_str().expect("text body");
    let route = [
        ("route", "/api/v1/agents/{id}"),
        ("method", "GET"),
        ("status", "404"),
    ];
    assert_eq!(
        metric(text, "vectadb_http_requests_total", &route),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        metric(text, "vectadb_http_request_duration_seconds_count", &route),
        Some(2.0)
    );
    let created = [
        ("route", "/api/v1/agents"),
        ("method", "POST"),
        ("status", "201"),
    ];
    assert_eq!(
        metric(text, "vectadb_http_requests_total", &created),
        Some(1.0)
    );
    assert_eq!(
        metric(text, "vectadb_logs_ingested_total", &[("level", "info")]),
        Some(2.0)
    );
    assert_eq!(
        metric(text, "vectadb_logs_ingested_total", &[("level", "error")]),
        Some(1.0)
    );
    assert_eq!(
        metric(text, "vectadb_errors_total", &[("kind", "not_found")]),
        Some(2.0)
    );
    assert_eq!(
        metric(text, "vectadb_documents", &[("kind", "log")]),
        Some(3.0)
    );
    assert_eq!(
        metric(text, "vectadb_documents", &[("kind", "agent")]),
        Some(1.0)
    );
    // Every backend call is timed by backend and operation.
    let backend = |backend: &'static str, operation: &'static str| {
        metric(
            text,
            "vectadb_backend_request_duration_seconds_count",
            &[("backend", backend), ("operation", operation)],
        )
    };
    assert_eq!(backend("surrealdb", "create_agent"), Some(1.0), "{text}");
    assert_eq!(backend("surrealdb", "insert_logs"), Some(1.0));
    assert!(
        backend("surrealdb", "get_agent").unwrap() >= 2.0,
        "the two ghost lookups"
    );
    assert_eq!(backend("qdrant", "upsert"), Some(1.0));
    // One text embedded so far: the agent (logs wait for the indexer).
    assert_eq!(
        metric(text, "vectadb_embedding_batch_size_count", &[]),
        Some(1.0)
    );
    assert_eq!(
        metric(text, "vectadb_embedding_batch_size_sum", &[]),
        Some(1.0)
    );
    assert_eq!(
        metric(text, "vectadb_embedding_duration_seconds_count", &[]),
        Some(1.0)
    );
    assert_eq!(
        metric(text, "vectadb_log_anomaly_score_count", &[]),
        Some(0.0)
    );

    t.state.indexer.drain().await.unwrap();
    let (_, text) = t.get("/metrics").await;
    let text = text.as_str().expect("text body");
    assert_eq!(
        metric(text, "vectadb_embedding_batch_size_count", &[]),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        metric(text, "vectadb_embedding_batch_size_sum", &[]),
        Some(4.0),
        "the three logs in one batch"
    );
    assert_eq!(
        metric(text, "vectadb_log_anomaly_score_count", &[]),
        Some(3.0),
        "each embedded log scored"
    );
    assert_eq!(
        metric(text, "vectadb_vectors", &[("collection", "logs")]),
        Some(3.0)
    );
    assert_eq!(
        metric(text, "vectadb_vectors", &[("collection", "agents")]),
        Some(1.0)
    );
    assert_eq!(
        metric(text, "vectadb_log_anomaly_score_bucket", &[("le", "+Inf")]),
        Some(3.0)
    );
}

#[tokio::test]
async fn unknown_routes_are_json_404() {
    let t = TestApp::new().await;
    let (status, body) = t.get("/api/v1/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
}
