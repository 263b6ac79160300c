//! The whole API over a real Qdrant server (QDRANT_URL), with the
//! collections made by `vectadb provision`.

use axum::http::StatusCode;
use serde_json::json;
use vectadb::vectors::Collection;
use vectadb_tests::qdrant_server::QdrantServer;
use vectadb_tests::{test_config, TestApp};

#[tokio::test]
async fn the_api_runs_on_a_qdrant_server_after_provision() {
    let qdrant = QdrantServer::start().await;
    let url = qdrant.grpc_url();

    // Before provisioning, start-up says what to do.
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.qdrant_url = Some(url.clone());
    let error = vectadb::app::open_vectors(&config)
        .await
        .err()
        .expect("no collections yet")
        .to_string();
    assert!(error.contains("vectadb provision"), "{error}");

    let report = vectadb::app::provision(&config).await.unwrap();
    assert!(
        report
            .lines
            .iter()
            .any(|l| l.contains(&url) && l.contains("agents")),
        "{report:?}"
    );

    let t = TestApp::with(|mut c| {
        c.qdrant_url = Some(url.clone());
        c
    })
    .await;
    let researcher = t.agent("ML researcher", "train language models").await;
    let chef = t.agent("pastry chef", "bake croissants").await;
    let task = t.task(&researcher, "fine-tune a transformer").await;
    let (_, hits) = t
        .post(
            "/api/v1/similar/agents",
            json!({"query": "machine learning scientist", "threshold": 0.3}),
        )
        .await;
    assert_eq!(hits["results"][0]["id"], researcher, "{hits}");
    let (status, _) = t
        .patch(
            &format!("/api/v1/tasks/{task}"),
            json!({"status": "completed"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, hits) = t
        .post(
            "/api/v1/similar/tasks",
            json!({"query": "fine-tuning transformer models", "threshold": 0.2, "filter": {"status": "completed"}}),
        )
        .await;
    assert_eq!(hits["results"][0]["id"], task, "{hits}");

    assert_eq!(
        t.delete(&format!("/api/v1/agents/{researcher}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(t.vectors.count(Collection::Agents).await.unwrap(), 1);
    assert_eq!(t.vectors.count(Collection::Tasks).await.unwrap(), 0);
    assert_eq!(
        t.vectors
            .existing(Collection::Agents, std::slice::from_ref(&chef))
            .await
            .unwrap(),
        vec![chef]
    );
    let (status, health) = t.get("/health").await;
    assert_eq!(status, StatusCode::OK, "{health}");

    // The server goes away: requests fail with 503 naming Qdrant, and /health says so.
    drop(qdrant);
    let (status, body) = t
        .post("/api/v1/agents", json!({"role": "r", "goal": "g"}))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Qdrant"),
        "{body}"
    );
    let (status, health) = t.get("/health").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        health["components"]["vector_index"]["status"], "down",
        "{health}"
    );
    // Nothing half-written: the agent whose vector failed is not stored.
    assert_eq!(t.get("/api/v1/agents").await.1["total"], 1);
}

#[tokio::test]
async fn the_api_reconnects_after_qdrant_restarts() {
    let mut qdrant = QdrantServer::start().await;
    let url = qdrant.grpc_url();
    vectadb::vectors::remote::RemoteQdrant::provision(
        &url,
        None,
        &vectadb::vectors::CollectionNames::default(),
        384,
        std::time::Duration::from_secs(10),
    )
    .await
    .unwrap();
    let t = TestApp::with(|mut c| {
        c.qdrant_url = Some(url.clone());
        c
    })
    .await;
    let before = t
        .agent("lighthouse keeper", "keep the lamp lit through storms")
        .await;

    qdrant.restart().await;

    // Same API process, same client: the channel reconnects by itself.
    let (_, hits) = t
        .post(
            "/api/v1/similar/agents",
            json!({"query": "someone who tends a lighthouse", "threshold": 0.3}),
        )
        .await;
    assert_eq!(hits["results"][0]["id"], before, "{hits}");
    let after = t
        .agent("ferry captain", "carry passengers across the bay")
        .await;
    assert_eq!(t.vectors.count(Collection::Agents).await.unwrap(), 2);
    assert_eq!(t.get("/health").await.0, StatusCode::OK);
    assert_ne!(before, after);
}
