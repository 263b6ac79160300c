//! `vectadb migrate couchdb`: a realistic 10,000-document export of the
//! Python proof of concept migrates with exact counts, the graph rebuilt,
//! agents searchable by meaning, rejects reported; a second run adds nothing.

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::{json, Value};
use vectadb::migrate::{migrate, Options, Source};
use vectadb_tests::couch;
use vectadb_tests::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_10k_document_export_migrates_exactly_and_idempotently() {
    let t = TestApp::new().await;
    // 125 agents × 4 tasks × (4 thoughts + 15 logs) = 10,125 documents.
    let export = couch::export(125, 4, 4, 15);
    assert!(export.documents() >= 10_000, "{}", export.documents());
    let path = t.dir.path().join("couch_export.json");
    std::fs::write(&path, &export.json).unwrap();
    let rejects = t.dir.path().join("rejects.jsonl");
    let options = Options {
        dry_run: false,
        batch: 256,
        rejects: Some(rejects.clone()),
    };

    // A dry run writes nothing and says what it would do.
    let dry = migrate(
        &t.state.router,
        &Source::File(path.clone()),
        &Options {
            dry_run: true,
            ..options.clone()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        dry.agents.migrated,
        export.agents.len() as u64,
        "{}",
        dry.render()
    );
    let (_, agents) = t.get("/api/v1/agents?limit=1").await;
    assert_eq!(agents["total"], 0);

    let report = migrate(&t.state.router, &Source::File(path.clone()), &options)
        .await
        .unwrap();
    let text = report.render();
    assert_eq!(report.agents.migrated, export.agents.len() as u64, "{text}");
    assert_eq!(report.tasks.migrated, export.tasks.len() as u64, "{text}");
    assert_eq!(
        report.thoughts.migrated,
        export.thoughts.len() as u64,
        "{text}"
    );
    assert_eq!(report.logs.migrated, export.logs.len() as u64, "{text}");
    assert_eq!(report.skipped, export.skipped as u64, "{text}");
    assert_eq!(
        report.rejects.len(),
        export.malformed,
        "{:#?}",
        report.rejects
    );
    assert_eq!(report.agents.target, export.agents.len() as u64);
    assert_eq!(report.logs.target, export.logs.len() as u64);
    assert_eq!(
        report.agent_vectors, report.agents.target,
        "a vector per agent"
    );
    assert_eq!(
        report.task_vectors, report.tasks.target,
        "a vector per task"
    );
    // Every reject is in the file with its reason.
    let lines: Vec<Value> = std::fs::read_to_string(&rejects)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), export.malformed);
    let reasons: Vec<&str> = lines
        .iter()
        .map(|l| l["reason"].as_str().unwrap())
        .collect();
    for expected in [
        "no \"type\"",
        "unknown type",
        "goal is missing",
        "usable id",
        "agent nobody does not exist",
        "status",
        "level",
        "timestamp",
        "message",
        "parent thought never-there does not exist",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(expected)),
            "no reject says {expected:?}: {reasons:#?}"
        );
    }

    // The graph equals the source relations: each agent's trace has its
    // tasks, each task its thoughts in step order and its logs.
    let mut tasks_of: HashMap<&str, Vec<&str>> = HashMap::new();
    for (task, agent) in &export.tasks {
        tasks_of.entry(agent).or_default().push(task);
    }
    for agent in export.agents.iter().step_by(25) {
        let (status, trace) = t.get(&format!("/api/v1/traces/{agent}")).await;
        assert_eq!(status, StatusCode::OK, "{trace}");
        let mut got: Vec<&str> = trace["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        got.sort();
        assert_eq!(got, tasks_of[agent.as_str()]);
        for task in trace["tasks"].as_array().unwrap() {
            let id = task["id"].as_str().unwrap();
            let expected: Vec<&str> = export
                .thoughts
                .iter()
                .filter(|(_, t, _)| t == id)
                .map(|(h, _, _)| h.as_str())
                .collect();
            let thoughts: Vec<&str> = task["thoughts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["id"].as_str().unwrap())
                .collect();
            assert_eq!(thoughts, expected, "thoughts of {id} in step order");
            assert_eq!(task["thoughts"][1]["parent_id"], json!(expected[0]));
            let logs = export
                .logs
                .iter()
                .filter(|(_, t)| t.as_deref() == Some(id))
                .count();
            assert_eq!(task["logs"].as_array().unwrap().len(), logs);
        }
        // Ids and timestamps kept.
        assert!(trace["agent"]["created_at"]
            .as_str()
            .unwrap()
            .starts_with("2025-0"));
    }

    // Migrated agents are found by meaning.
    let i = 17;
    let (_, found) = t
        .post(
            "/api/v1/similar/agents",
            json!({"query": export.roles[i], "limit": 10, "threshold": 0.3}),
        )
        .await;
    let ids: Vec<&str> = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&export.agents[i].as_str()), "{found}");

    // Again: nothing new, nothing changed.
    let snapshot = t.snapshot().await;
    let again = migrate(&t.state.router, &Source::File(path), &options)
        .await
        .unwrap();
    assert_eq!(
        (
            again.agents.migrated,
            again.tasks.migrated,
            again.thoughts.migrated,
            again.logs.migrated
        ),
        (0, 0, 0, 0),
        "{}",
        again.render()
    );
    assert_eq!(again.agents.existing, export.agents.len() as u64);
    assert_eq!(again.logs.existing, export.logs.len() as u64);
    assert_eq!(t.snapshot().await, snapshot);
}
