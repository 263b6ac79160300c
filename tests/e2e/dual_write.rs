//! When one side of a dual write fails, the other is undone.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::json;
use vectadb::store::Table;
use vectadb::vectors::Collection;
use vectadb_tests::faults::{FailingStore, FailingVectors};
use vectadb_tests::TestApp;

#[tokio::test]
async fn failed_vector_write_leaves_no_document() {
    let mut failing = None;
    let t = TestApp::with_vectors(
        |c| c,
        |inner| {
            let f = FailingVectors::wrap(inner);
            failing = Some(f.clone());
            f
        },
    )
    .await;
    let failing = failing.unwrap();
    let agent = t.agent("kept", "g").await;

    failing.fail(true);
    let (status, body) = t
        .post("/api/v1/agents", json!({"role": "r", "goal": "g"}))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");
    assert!(
        !body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("injected"),
        "no internals: {body}"
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("Qdrant"), "names the backend: {body}");
    let (status, _) = t
        .post(
            "/api/v1/tasks",
            json!({"agent_id": agent, "description": "d"}),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    // A status change whose vector update fails leaves the task as it was.
    failing.fail(false);
    let task = t.task(&agent, "kept task").await;
    failing.fail(true);
    let (status, _) = t
        .patch(
            &format!("/api/v1/tasks/{task}"),
            json!({"status": "running"}),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        t.get(&format!("/api/v1/tasks/{task}")).await.1["status"],
        "pending"
    );
    // Health says which part is down.
    let (status, health) = t.get("/health").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health["components"]["vector_index"]["status"], "down");
    assert_eq!(health["components"]["document_store"]["status"], "up");
    failing.fail(false);

    assert_eq!(t.store.count(Table::Agent).await.unwrap(), 1);
    assert_eq!(t.store.count(Table::Task).await.unwrap(), 1);
    assert_eq!(t.vectors.count(Collection::Agents).await.unwrap(), 1);
    assert_eq!(t.vectors.count(Collection::Tasks).await.unwrap(), 1);
    assert_eq!(t.get("/health").await.0, StatusCode::OK);
}

#[tokio::test]
async fn failed_document_write_leaves_no_vector() {
    let mut failing: Option<Arc<FailingStore>> = None;
    let t = TestApp::with_parts(
        |c| c,
        |inner| {
            let f = FailingStore::wrap(inner);
            failing = Some(f.clone());
            f
        },
        |v| v,
    )
    .await;
    let failing = failing.unwrap();
    let agent = t.agent("kept", "g").await;

    failing.fail(true);
    let (status, body) = t
        .post("/api/v1/agents", json!({"role": "r", "goal": "g"}))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("SurrealDB"), "names the backend: {body}");
    let (status, _) = t
        .post(
            "/api/v1/tasks",
            json!({"agent_id": agent, "description": "d"}),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, health) = t.get("/health").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health["components"]["document_store"]["status"], "down");
    failing.fail(false);

    assert_eq!(t.vectors.count(Collection::Agents).await.unwrap(), 1);
    assert_eq!(t.vectors.count(Collection::Tasks).await.unwrap(), 0);
    assert_eq!(t.store.count(Table::Agent).await.unwrap(), 1);
}
