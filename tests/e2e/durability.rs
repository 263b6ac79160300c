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
    let a = server.agent("pastry chef", "bake croissants").await;
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

/// Four clients post 200-log batches (one client's with its own ids) while
/// the server is killed: after a restart every acknowledged batch is there
/// whole, and every other batch is there whole or not at all.
#[tokio::test]
async fn sigkill_during_concurrent_ingest_keeps_every_acknowledged_batch_whole() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    let a = server.agent("r", "g").await;
    let port = server.port;
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Vec<String>>::new()));
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut clients = Vec::new();
    for client in 0..4 {
        let (a, acknowledged, sent) = (a.clone(), acknowledged.clone(), sent.clone());
        clients.push(tokio::spawn(async move {
            for batch in 0.. {
                let tag = format!("c{client}b{batch}");
                let logs: Vec<Value> = (0..200)
                    .map(|i| {
                        let mut log = json!({"agent_id": a, "message": format!("{tag} {i}")});
                        if client == 0 {
                            log["id"] = json!(format!("{tag}-own-{i}"));
                        }
                        log
                    })
                    .collect();
                sent.lock().unwrap().push(tag);
                let body = Value::Array(logs);
                match vectadb_tests::process::http_request(
                    port,
                    "POST",
                    "/api/v1/logs",
                    "",
                    Some(&body),
                )
                .await
                {
                    Ok((201, receipt)) => {
                        let ids = receipt["ids"].as_array().unwrap();
                        acknowledged.lock().unwrap().push(
                            ids.iter()
                                .map(|id| id.as_str().unwrap().to_string())
                                .collect(),
                        );
                    }
                    _ => break,
                }
            }
        }));
    }
    // Let some batches land, then kill in the middle of others.
    while acknowledged.lock().unwrap().len() < 12 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    server.kill();
    for client in clients {
        client.await.unwrap();
    }

    let server = Server::start(dir.path()).await;
    let acknowledged = acknowledged.lock().unwrap().clone();
    let mut messages = std::collections::HashMap::<String, usize>::new();
    let mut stored_ids = std::collections::HashSet::new();
    let mut cursor = String::new();
    loop {
        let (s, page) = server
            .call(
                "GET",
                &format!("/api/v1/logs?agent_id={a}&limit=1000{cursor}"),
                None,
            )
            .await;
        assert_eq!(s, 200, "{page}");
        for log in page["items"].as_array().unwrap() {
            let message = log["message"].as_str().unwrap();
            let tag = message.split(' ').next().unwrap().to_string();
            *messages.entry(tag).or_default() += 1;
            stored_ids.insert(log["id"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    for ids in &acknowledged {
        assert!(
            ids.iter().all(|id| stored_ids.contains(id)),
            "an acknowledged log was lost"
        );
    }
    for (tag, n) in &messages {
        assert_eq!(*n, 200, "batch {tag} is stored in part");
    }
    assert!(messages.len() >= acknowledged.len());
    assert!(messages.len() <= sent.lock().unwrap().len());
    server.stop();
}

/// Four exporters send OTLP trace exports (20 agent runs each) while the
/// server is killed: after a restart, the background worker places every
/// acknowledged export, whole (each run's five thoughts under one task),
/// without being asked.
#[tokio::test]
async fn sigkill_during_concurrent_otlp_ingest_loses_no_acknowledged_span() {
    use vectadb_tests::otlp_load;
    const RUNS: u64 = 20;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    let port = server.port;
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u64>::new()));
    let mut exporters = Vec::new();
    for exporter in 0..4u64 {
        let acknowledged = acknowledged.clone();
        exporters.push(tokio::spawn(async move {
            for k in 0.. {
                let first_run = exporter * 100_000 + k * RUNS;
                let spans = RUNS * otlp_load::SPANS_PER_RUN as u64;
                let body =
                    otlp_load::export_bytes(first_run * otlp_load::SPANS_PER_RUN as u64, spans, 3);
                match otlp_load::post_protobuf(port, "/v1/traces", "", &body).await {
                    Ok((200, _)) => acknowledged.lock().unwrap().push(first_run),
                    _ => break,
                }
            }
        }));
    }
    while acknowledged.lock().unwrap().len() < 8 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    server.kill();
    for exporter in exporters {
        exporter.await.unwrap();
    }

    let server = Server::start(dir.path()).await;
    let acknowledged = acknowledged.lock().unwrap().clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    for first_run in acknowledged {
        for run in first_run..first_run + RUNS {
            let mut task = None;
            for id in otlp_load::thought_ids(run) {
                let thought = loop {
                    let (status, thought) = server
                        .call("GET", &format!("/api/v1/thoughts/{id}"), None)
                        .await;
                    if status == 200 {
                        break thought;
                    }
                    assert!(
                        std::time::Instant::now() < deadline,
                        "acknowledged span {id} (run {run}) never placed"
                    );
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                };
                let of_task = thought["task_id"].as_str().unwrap().to_string();
                assert_eq!(*task.get_or_insert(of_task.clone()), of_task, "run {run}");
            }
        }
    }
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
