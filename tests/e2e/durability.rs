//! Restart and crash: the real binary on a real data directory.

use serde_json::{json, Value};
use vectadb_tests::process::Server;

#[tokio::test]
async fn everything_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    let (s, agent) = server
        .call("POST", "/api/v1/agents", Some(&json!({"role": "ML researcher", "goal": "train language models", "metadata": {"skills": ["deep learning"]}})))
        .await;
    assert_eq!(s, 201, "{agent}");
    let a = agent["id"].as_str().unwrap().to_string();
    let (s, task) = server
        .call(
            "POST",
            "/api/v1/tasks",
            Some(&json!({"agent_id": a, "description": "fine-tune a transformer on legal text"})),
        )
        .await;
    assert_eq!(s, 201);
    let tid = task["id"].as_str().unwrap().to_string();
    for content in ["gather data", "train"] {
        let (s, _) = server
            .call(
                "POST",
                "/api/v1/thoughts",
                Some(&json!({"agent_id": a, "task_id": tid, "content": content})),
            )
            .await;
        assert_eq!(s, 201);
    }
    let (s, _) = server
        .call("POST", "/api/v1/logs", Some(&json!([{"agent_id": a, "task_id": tid, "message": "epoch 1"}, {"agent_id": a, "message": "idle"}])))
        .await;
    assert_eq!(s, 201);
    // The indexer scores the logs once it has embedded them: let it
    // finish, so the snapshot is final.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while server.call("GET", "/health", None).await.1["embedding_backlog"] != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the backlog never drained"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (_, trace_before) = server
        .call("GET", &format!("/api/v1/traces/{a}"), None)
        .await;
    server.stop();

    let server = Server::start(dir.path()).await;
    let (s, trace_after) = server
        .call("GET", &format!("/api/v1/traces/{a}"), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(trace_after, trace_before, "documents and edges survive");
    assert!(
        trace_after["logs"][0]["anomaly_score"].is_number(),
        "scores survive too: {trace_after}"
    );
    assert_eq!(
        trace_after["tasks"][0]["thoughts"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (_, hits) = server
        .call(
            "POST",
            "/api/v1/similar/agents",
            Some(&json!({"query": "machine learning scientist", "threshold": 0.3})),
        )
        .await;
    assert_eq!(hits["results"][0]["id"], a, "agent vectors survive: {hits}");
    let (_, hits) = server
        .call(
            "POST",
            "/api/v1/similar/tasks",
            Some(&json!({"query": "train a model on law documents", "threshold": 0.3})),
        )
        .await;
    assert_eq!(
        hits["results"][0]["id"], tid,
        "task vectors survive: {hits}"
    );
    server.stop();
}

#[tokio::test]
async fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    let (s, agent) = server
        .call(
            "POST",
            "/api/v1/agents",
            Some(&json!({"role": "pastry chef", "goal": "bake croissants"})),
        )
        .await;
    assert_eq!(s, 201, "{agent}");
    let a = agent["id"].as_str().unwrap().to_string();
    let batch: Vec<Value> = (0..1000)
        .map(|i| json!({"agent_id": a, "level": "info", "message": format!("batch log {i}")}))
        .collect();
    let (s, receipt) = server
        .call("POST", "/api/v1/logs", Some(&Value::Array(batch)))
        .await;
    assert_eq!(s, 201);
    assert_eq!(receipt["ingested"], 1000);
    server.kill();

    let server = Server::start(dir.path()).await;
    let (_, logs) = server
        .call("GET", &format!("/api/v1/logs?agent_id={a}&limit=1"), None)
        .await;
    assert_eq!(logs["total"], 1000, "no acknowledged log lost");
    let (s, _) = server
        .call("GET", &format!("/api/v1/agents/{a}"), None)
        .await;
    assert_eq!(s, 200);
    let (_, hits) = server
        .call(
            "POST",
            "/api/v1/similar/agents",
            Some(&json!({"query": "someone who bakes pastries", "threshold": 0.3})),
        )
        .await;
    assert_eq!(
        hits["results"][0]["id"], a,
        "the agent's vector survives SIGKILL: {hits}"
    );
    server.stop();
}

/// `vectadb provision` and `vectadb repair` as a user runs them.
#[tokio::test]
async fn provision_and_repair_commands() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut command = vectadb_tests::process::vectadb_command(dir.path(), &[]);
        command.args(args);
        let finished =
            vectadb_tests::process::run_to_end(command, std::time::Duration::from_secs(120));
        assert!(
            finished.success,
            "{args:?}: {}\n{}",
            finished.stdout, finished.stderr
        );
        finished.stdout
    };
    let first = run(&["provision"]);
    let version = vectadb::store::schema::SCHEMA_VERSION;
    assert!(
        first.contains(&format!("schema version {version} created")),
        "{first}"
    );
    assert!(
        first.contains("collections agents, tasks, logs, thoughts created (384-dimensional"),
        "{first}"
    );
    assert!(first.contains("provisioned: changes applied"), "{first}");
    let second = run(&["provision"]);
    assert!(
        second.contains(&format!("schema version {version} already in place")),
        "{second}"
    );
    assert!(
        second.contains("collections agents, tasks, logs, thoughts already present"),
        "{second}"
    );
    assert!(
        second.contains("provisioned: nothing to change"),
        "{second}"
    );
    let repaired = run(&["repair", "--grace", "0s"]);
    assert!(repaired.contains("agents re-embedded: 0"), "{repaired}");
    assert!(
        repaired.contains("orphan task vectors deleted: 0"),
        "{repaired}"
    );
}

/// A start after a crash reconciles documents and vectors; a start after a
/// clean stop does not need to.
#[tokio::test]
async fn a_start_after_a_crash_restores_missing_vectors() {
    use vectadb::vectors::{edge::EdgeVectors, Collection, CollectionNames, VectorIndex};
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    let (s, agent) = server
        .call(
            "POST",
            "/api/v1/agents",
            Some(&json!({"role": "beekeeper", "goal": "harvest honey from the hives"})),
        )
        .await;
    assert_eq!(s, 201, "{agent}");
    let a = agent["id"].as_str().unwrap().to_string();
    server.stop();
    assert!(
        !dir.path().join(vectadb::app::RUN_MARKER_FILE).exists(),
        "a clean stop clears the marker"
    );

    // The state a crash between the document commit and the vector write leaves.
    {
        let vectors =
            EdgeVectors::open(&dir.path().join("qdrant"), &CollectionNames::default(), 384)
                .unwrap();
        vectors
            .delete(Collection::Agents, std::slice::from_ref(&a))
            .await
            .unwrap();
    }
    let query = json!({"query": "someone who keeps bees", "threshold": 0.3});
    let server = Server::start(dir.path()).await;
    let (_, hits) = server
        .call("POST", "/api/v1/similar/agents", Some(&query))
        .await;
    assert!(
        hits["results"].as_array().unwrap().is_empty(),
        "no repair after a clean stop: {hits}"
    );
    server.kill();

    let server = Server::start(dir.path()).await;
    let (_, hits) = server
        .call("POST", "/api/v1/similar/agents", Some(&query))
        .await;
    assert_eq!(
        hits["results"][0]["id"], a,
        "reconciled after the crash: {hits}"
    );
    server.stop();
}
