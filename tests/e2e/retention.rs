//! Retention, run with a controllable clock (`Retention::run_once(now)`):
//! expired logs, thoughts and tasks go with their vectors, scores and
//! queue entries; what is within its window stays; `/health` and
//! `/metrics` say what was removed.

use axum::http::StatusCode;
use chrono::{Duration, Utc};
use serde_json::json;
use vectadb::config::Window;
use vectadb::store::Table;
use vectadb::vectors::{Collection, VectorFilter};
use vectadb_tests::{Backends, TestApp};

on_both_backends!(retention_removes_what_expired_with_its_vectors_scores_and_queue_entries);

async fn logs_of(t: &TestApp, query: &str) -> Vec<String> {
    let (status, page) = t.get(&format!("/api/v1/logs?{query}&limit=1000")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap().to_string())
        .collect()
}

/// How many logs with this id are stored (0 or 1).
async fn stored(t: &TestApp, id: &str) -> usize {
    t.store.get_logs(&[id.to_string()]).await.unwrap().len()
}

async fn vectors_of(t: &TestApp, collection: Collection, agent: &str) -> u64 {
    t.vectors
        .count_matching(
            collection,
            &VectorFilter {
                agent_id: Some(agent.to_string()),
                ..VectorFilter::default()
            },
        )
        .await
        .unwrap()
}

async fn retention_removes_what_expired_with_its_vectors_scores_and_queue_entries(
    backends: Backends,
) {
    let t = TestApp::on_with(backends, |mut config| {
        config.retention_logs = Window(Some(Duration::days(7)));
        config.retention_thoughts = Window(Some(Duration::days(1)));
        config.retention_tasks = Window(Some(Duration::days(3)));
        config
    })
    .await;
    let now = Utc::now();
    let at = |days: i64| (now - Duration::days(days)).to_rfc3339();
    let a = t.agent("keeper", "keeps some things").await;
    let task = t.task(&a, "long job").await;
    let (status, thought) = t
        .post(
            "/api/v1/thoughts",
            json!({"agent_id": a, "task_id": task, "content": "plan the job"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{thought}");
    // Old and recent logs, in the task and outside it, some with client ids.
    let (status, body) = t
        .post(
            "/api/v1/logs",
            json!([
                {"agent_id": a, "message": "old disk warning", "level": "warn", "timestamp": at(10)},
                {"id": "client-old", "agent_id": a, "task_id": task, "message": "old step failed", "level": "error", "timestamp": at(9)},
                {"agent_id": a, "message": "recent heartbeat", "timestamp": at(1)},
                {"id": "client-new", "agent_id": a, "task_id": task, "message": "recent step done", "timestamp": at(0)},
            ]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    t.state.indexer.drain().await.unwrap();
    assert_eq!(vectors_of(&t, Collection::Logs, &a).await, 4);
    let (_, scored) = t.get(&format!("/api/v1/anomalies?agent_id={a}")).await;
    assert_eq!(scored["total"], 4, "{scored}");

    // Now: logs older than 7 days go; nothing else does.
    let removed = t.state.retention.run_once(now).await.unwrap();
    assert_eq!(
        (
            removed.logs,
            removed.thoughts,
            removed.tasks,
            removed.queue_entries
        ),
        (2, 0, 0, 0),
        "{removed:?}"
    );
    assert_eq!(
        logs_of(&t, &format!("agent_id={a}")).await,
        ["recent heartbeat", "recent step done"]
    );
    assert_eq!(stored(&t, "client-old").await, 0);
    assert_eq!(stored(&t, "client-new").await, 1);
    assert_eq!(vectors_of(&t, Collection::Logs, &a).await, 2);
    let (_, scored) = t.get(&format!("/api/v1/anomalies?agent_id={a}")).await;
    assert_eq!(scored["total"], 2, "{scored}");

    // Two days on: the thought goes (its vector too); the task and the
    // recent logs stay.
    let removed = t
        .state
        .retention
        .run_once(now + Duration::days(2))
        .await
        .unwrap();
    assert_eq!(
        (removed.logs, removed.thoughts, removed.tasks),
        (0, 1, 0),
        "{removed:?}"
    );
    let thought_id = thought["id"].as_str().unwrap();
    assert_eq!(
        t.get(&format!("/api/v1/thoughts/{thought_id}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(vectors_of(&t, Collection::Thoughts, &a).await, 0);
    assert_eq!(
        t.get(&format!("/api/v1/tasks/{task}")).await.0,
        StatusCode::OK
    );
    assert_eq!(stored(&t, "client-new").await, 1);

    // A thought written since, then four days on: the task goes with its
    // remaining log; the agent and its own recent log stay.
    let (status, _) = t
        .post(
            "/api/v1/thoughts",
            json!({"agent_id": a, "task_id": task, "content": "second look"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    t.state.indexer.drain().await.unwrap();
    // And an old log queued and not embedded yet: its queue entry goes
    // with it (once older than a cutoff: a fresh entry may be mid-write).
    let (status, _) = t
        .post(
            "/api/v1/logs",
            json!([{"agent_id": a, "message": "old and never embedded", "timestamp": at(20)}]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let removed = t
        .state
        .retention
        .run_once(now + Duration::days(4))
        .await
        .unwrap();
    assert_eq!(
        (
            removed.logs,
            removed.thoughts,
            removed.tasks,
            removed.queue_entries
        ),
        (2, 1, 1, 1),
        "{removed:?}"
    );
    assert_eq!(t.state.indexer.backlog().await.unwrap(), 0);
    assert_eq!(
        t.get(&format!("/api/v1/tasks/{task}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(stored(&t, "client-new").await, 0);
    assert_eq!(t.store.count(Table::Thought).await.unwrap(), 0);
    assert_eq!(vectors_of(&t, Collection::Thoughts, &a).await, 0);
    assert_eq!(vectors_of(&t, Collection::Logs, &a).await, 1);
    assert_eq!(
        t.vectors
            .existing(Collection::Tasks, std::slice::from_ref(&task))
            .await
            .unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        t.get(&format!("/api/v1/agents/{a}")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        logs_of(&t, &format!("agent_id={a}")).await,
        ["recent heartbeat"]
    );

    // Eight days on: the last log goes.
    let removed = t
        .state
        .retention
        .run_once(now + Duration::days(8))
        .await
        .unwrap();
    assert_eq!((removed.logs, removed.queue_entries), (1, 0), "{removed:?}");
    assert_eq!(vectors_of(&t, Collection::Logs, &a).await, 0);

    // What was removed, as operators see it.
    let total = t.state.retention.removed();
    assert_eq!(
        (total.logs, total.thoughts, total.tasks),
        (5, 2, 1),
        "{total:?}"
    );
    let (status, health) = t.get("/health").await;
    assert_eq!(status, StatusCode::OK, "{health}");
    assert_eq!(health["retention"]["windows"]["logs"], "1w", "{health}");
    assert_eq!(health["retention"]["windows"]["tasks"], "3d", "{health}");
    assert_eq!(health["retention"]["removed"]["logs"], 5, "{health}");
    assert!(health["retention"]["last_run"].is_string(), "{health}");
    let (status, text) = t.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let text = text.as_str().expect("text body");
    assert!(
        text.lines()
            .any(|l| l == "vectadb_retention_removed{kind=\"logs\"} 5"),
        "no retention count in /metrics"
    );
}

/// The settings as a command line gives them.
#[derive(clap::Parser)]
struct Cli {
    #[command(flatten)]
    config: vectadb::config::Config,
}

#[test]
fn retention_windows_are_settings() {
    use clap::Parser;
    let config = Cli::try_parse_from([
        "vectadb",
        "--retention-logs",
        "30d",
        "--retention-tasks",
        "12h",
    ])
    .unwrap()
    .config;
    let settings = config.retention();
    assert_eq!(settings.logs, Some(Duration::days(30)));
    assert_eq!(settings.thoughts, None);
    assert_eq!(settings.tasks, Some(Duration::hours(12)));
    let bad = Cli::try_parse_from(["vectadb", "--retention-logs", "30"]);
    assert!(bad.err().unwrap().to_string().contains("unit"));
}
