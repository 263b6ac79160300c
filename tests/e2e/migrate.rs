//! `vectadb migrate couchdb`: a realistic 10,000-document export of the
//! Python proof of concept migrates with exact counts, the graph rebuilt,
//! agents searchable by meaning, rejects reported; a second run adds nothing.

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::{json, Value};
use vectadb::migrate::{migrate, Options, Source};
use vectadb_tests::couch;
use vectadb_tests::{Backends, TestApp};

on_both_backends!(a_10k_document_export_migrates_exactly_and_idempotently);

async fn a_10k_document_export_migrates_exactly_and_idempotently(backends: Backends) {
    let t = TestApp::on(backends).await;
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
        progress: false,
        embed: true,
        relations: None,
    };

    // A dry run writes nothing and says what it would do.
    let dry = migrate(
        &t.state.service,
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
    // The dry run judges later documents as if the earlier ones were written.
    assert_eq!(
        (dry.tasks.migrated, dry.thoughts.migrated, dry.logs.migrated),
        (
            export.tasks.len() as u64,
            export.thoughts.len() as u64,
            export.logs.len() as u64
        ),
        "{}",
        dry.render()
    );
    assert_eq!(dry.rejects.len(), export.malformed, "{:#?}", dry.rejects);
    let (_, agents) = t.get("/api/v1/agents?limit=1").await;
    assert_eq!(agents["total"], 0);

    let report = migrate(&t.state.service, &Source::File(path.clone()), &options)
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
    let again = migrate(&t.state.service, &Source::File(path), &options)
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

/// The export read over HTTP (chunked, with basic auth) migrates the same
/// as the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_served_over_http_migrates_like_the_file() {
    let export = couch::export(20, 2, 3, 5);
    let body = export.json.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{BufRead, BufReader, Write};
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut authorized = false;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                // admin:secret
                authorized |= line.contains("Basic YWRtaW46c2VjcmV0");
            }
            if !authorized {
                let _ = stream.write_all(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
                continue;
            }
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
            );
            for chunk in body.as_bytes().chunks(4096) {
                let _ = write!(stream, "{:x}\r\n", chunk.len());
                let _ = stream.write_all(chunk);
                let _ = stream.write_all(b"\r\n");
            }
            let _ = stream.write_all(b"0\r\n\r\n");
        }
    });
    let options = Options {
        dry_run: false,
        batch: 64,
        rejects: None,
        progress: false,
        embed: true,
        relations: None,
    };
    let from_http = TestApp::new().await;
    let url = format!("http://admin:secret@127.0.0.1:{port}/enroll/_all_docs?include_docs=true");
    let report = migrate(&from_http.state.service, &Source::parse(&url), &options)
        .await
        .unwrap();
    assert_eq!(report.agents.migrated, 20, "{}", report.render());
    let from_file = TestApp::new().await;
    let path = from_file.dir.path().join("export.json");
    std::fs::write(&path, &export.json).unwrap();
    let by_file = migrate(&from_file.state.service, &Source::File(path), &options)
        .await
        .unwrap();
    assert_eq!(report.render(), by_file.render());
    assert_eq!(from_http.snapshot().await, from_file.snapshot().await);

    // Without the password: refused, naming the URL but not the secret.
    let refused = migrate(
        &from_http.state.service,
        &Source::parse(&format!("http://127.0.0.1:{port}/enroll/_all_docs")),
        &options,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(refused.contains("401"), "{refused}");
    assert!(!refused.contains("secret"), "{refused}");
}

/// Kill the migration midway (in its log pass), run it again: the result
/// equals an uninterrupted run, with no duplicates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_migration_finishes_when_run_again() {
    use std::io::BufRead;
    use vectadb_tests::process::{run_to_end, vectadb_command};
    let export = couch::export(60, 4, 4, 40);
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("export.json");
    std::fs::write(&file, &export.json).unwrap();
    let migrate_in = |dir: &std::path::Path| {
        let mut command = vectadb_command(dir, &[]);
        command
            .args(["migrate", "couchdb", "--input"])
            .arg(&file)
            .arg("--rejects")
            .arg(dir.join("rejects.jsonl"))
            .env("RUST_LOG", "info");
        command
    };

    let interrupted = work.path().join("interrupted");
    let mut child = migrate_in(&interrupted)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    for line in stderr.lines() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.contains("migration pass started") && line.contains("\"log\"") {
            std::thread::sleep(std::time::Duration::from_millis(300));
            break;
        }
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "it was killed mid-run: {seen:#?}");

    let limit = std::time::Duration::from_secs(300);
    let resumed = run_to_end(migrate_in(&interrupted), limit);
    assert!(resumed.success, "{}", resumed.stderr);
    let uninterrupted = work.path().join("uninterrupted");
    let whole = run_to_end(migrate_in(&uninterrupted), limit);
    assert!(whole.success, "{}", whole.stderr);
    // The same documents and vectors in both, and exactly the export's.
    let targets = |report: &str| -> Vec<String> {
        report
            .lines()
            .filter(|l| {
                ["agents ", "tasks ", "thoughts ", "logs ", "vectors:"]
                    .iter()
                    .any(|p| l.starts_with(p))
            })
            .map(|l| {
                let cells: Vec<&str> = l.split_whitespace().collect();
                if l.starts_with("vectors:") {
                    l.to_string()
                } else {
                    format!("{} {}", cells[0], cells[cells.len() - 1])
                }
            })
            .collect()
    };
    assert_eq!(
        targets(&resumed.stdout),
        targets(&whole.stdout),
        "{}\n{}",
        resumed.stdout,
        whole.stdout
    );
    assert!(
        targets(&whole.stdout).contains(&format!("logs {}", export.logs.len())),
        "{}",
        whole.stdout
    );
    let expected = format!(
        "vectors: {} agents / {} agent documents, {} tasks / {} task documents",
        export.agents.len(),
        export.agents.len(),
        export.tasks.len(),
        export.tasks.len()
    );
    assert!(resumed.stdout.contains(&expected), "{}", resumed.stdout);
    // The second run found the first pass's work already there.
    assert!(
        resumed.stdout.lines().any(|l| l.starts_with("agents")
            && l.split_whitespace().nth(3) == Some(&export.agents.len().to_string())),
        "{}",
        resumed.stdout
    );
}

/// `--skip-embedding`: documents now, vectors later from `vectadb repair`.
#[tokio::test]
async fn skipping_embedding_leaves_it_to_repair() {
    let t = TestApp::new().await;
    let export = couch::export(6, 2, 1, 2);
    let path = t.dir.path().join("export.json");
    std::fs::write(&path, &export.json).unwrap();
    let options = Options {
        dry_run: false,
        batch: 64,
        rejects: None,
        progress: false,
        embed: false,
        relations: None,
    };
    let report = migrate(&t.state.service, &Source::File(path), &options)
        .await
        .unwrap();
    assert_eq!(report.agents.migrated, 6);
    assert_eq!((report.agent_vectors, report.task_vectors), (0, 0));
    assert!(
        report.render().contains("vectadb repair"),
        "{}",
        report.render()
    );
    let repaired = t
        .state
        .service
        .repair(std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(repaired.agents_reembedded.len(), 6);
    assert_eq!(repaired.tasks_reembedded.len(), 12);
}

/// References the documents lack come from a Neo4j relationship export.
#[tokio::test]
async fn a_neo4j_export_supplies_missing_references() {
    let t = TestApp::new().await;
    let docs = [
        json!({"_id": "agent:a1", "type": "agent", "role": "service", "goal": "route tickets"}),
        json!({"_id": "task:t1", "type": "task", "description": "route the backlog"}),
        json!({"_id": "thought:h1", "type": "thought", "agent_id": "a1", "content": "read the queue", "step": 1}),
        json!({"_id": "thought:h2", "type": "thought", "agent_id": "a1", "content": "sort by urgency", "step": 2}),
        json!({"_id": "log:l1", "type": "log", "agent_id": "a1", "level": "INFO", "message": "42 tickets routed"}),
    ];
    let rows: Vec<Value> = docs
        .iter()
        .map(|d| json!({"id": d["_id"], "doc": d}))
        .collect();
    let export = t.dir.path().join("export.json");
    std::fs::write(&export, json!({"rows": rows}).to_string()).unwrap();
    let graph = t.dir.path().join("relations.jsonl");
    std::fs::write(
        &graph,
        [
            r#"{"start": "agent:a1", "type": "HAS_TASK", "end": "task:t1"}"#,
            r#"{"start": "task:t1", "type": "HAS_THOUGHT", "end": "thought:h1"}"#,
            r#"{"start": {"id": "task:t1"}, "type": "HAS_THOUGHT", "end": {"id": "thought:h2"}}"#,
            r#"{"start": "thought:h1", "type": "NEXT", "end": "thought:h2"}"#,
            r#"{"start": "task:t1", "type": "EMITTED", "end": "log:l1"}"#,
            r#"{"start": "user:u9", "type": "OWNS", "end": "agent:a1"}"#,
            "not json",
        ]
        .join("\n"),
    )
    .unwrap();
    let mut options = Options {
        dry_run: false,
        batch: 64,
        rejects: None,
        progress: false,
        embed: true,
        relations: None,
    };
    // Without the graph the task has no agent.
    let dry = migrate(
        &t.state.service,
        &Source::File(export.clone()),
        &Options {
            dry_run: true,
            ..options.clone()
        },
    )
    .await
    .unwrap();
    assert_eq!(dry.tasks.rejected, 1, "{}", dry.render());

    options.relations = Some(graph);
    let report = migrate(&t.state.service, &Source::File(export), &options)
        .await
        .unwrap();
    assert!(report.rejects.is_empty(), "{:#?}", report.rejects);
    let (_, trace) = t.get("/api/v1/traces/a1").await;
    let task = &trace["tasks"][0];
    assert_eq!(task["id"], "t1", "{trace}");
    let thoughts: Vec<&str> = task["thoughts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert_eq!(thoughts, ["h1", "h2"]);
    assert_eq!(task["thoughts"][1]["parent_id"], "h1");
    assert_eq!(task["logs"][0]["id"], "l1");
}
