//! Semantic search over logs and thoughts: embedded off the request path by
//! the indexer from the durable queue, searchable once embedded, with the
//! agents/tasks contract (threshold, limit) and their own filters.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{json, Value};
use vectadb::vectors::Collection;
use vectadb_tests::process::Server;
use vectadb_tests::{Backends, TestApp};

on_both_backends!(
    a_planted_log_is_found_by_meaning_once_embedded,
    log_search_filters,
    thought_search_and_filters,
    deleting_an_agent_removes_its_log_and_thought_vectors
);

/// Everyday agent logs, none about databases.
const NOISE: [&str; 12] = [
    "fetched 24 search results for query 'flights to Berlin'",
    "user asked to change the delivery address",
    "rendered the weekly sales report as PDF",
    "token budget at 61 percent after planning step",
    "parsed 3 attachments from the incoming email",
    "translated the product description into Spanish",
    "calendar invite sent to 4 participants",
    "image classification finished: 97 cats, 3 dogs",
    "retrying the weather API with a smaller radius",
    "summarised the meeting transcript in 5 bullet points",
    "checkout flow completed for order 8812",
    "scheduled the next crawl of the documentation site",
];

const PLANTED: &str = "Timeout while connecting to the Postgres database at db-primary:5432";
const QUERY: &str = "connection to the database timed out";

async fn log(t: &TestApp, body: Value) -> String {
    let (status, log) = t.post("/api/v1/logs", body).await;
    assert_eq!(status, StatusCode::CREATED, "{log}");
    log["id"].as_str().unwrap().to_string()
}

async fn search(t: &TestApp, path: &str, body: Value) -> Vec<Value> {
    let (status, found) = t.post(path, body).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    found["results"].as_array().unwrap().clone()
}

fn ids(results: &[Value]) -> Vec<String> {
    results
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

async fn a_planted_log_is_found_by_meaning_once_embedded(backends: Backends) {
    let t = TestApp::on(backends).await;
    let a = t.agent("support agent", "answer customer questions").await;
    let noise: Vec<Value> = NOISE
        .iter()
        .map(|m| json!({"agent_id": a, "message": m}))
        .collect();
    let (status, receipt) = t.post("/api/v1/logs", Value::Array(noise)).await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    let planted = log(
        &t,
        json!({"agent_id": a, "level": "error", "message": PLANTED, "metadata": {"host": "db-primary"}}),
    )
    .await;

    // Stored and acknowledged, not embedded yet: the backlog says so and
    // search does not find it.
    let (_, health) = t.get("/health").await;
    assert_eq!(health["embedding_backlog"], NOISE.len() + 1, "{health}");
    let (_, metrics) = t.get("/metrics").await;
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains(&format!("vectadb_embed_backlog {}", NOISE.len() + 1)),
        "{metrics}"
    );
    let before = search(
        &t,
        "/api/v1/similar/logs",
        json!({"query": QUERY, "threshold": 0.0}),
    )
    .await;
    assert!(before.is_empty(), "{before:?}");

    t.state.indexer.drain().await.unwrap();
    let (_, health) = t.get("/health").await;
    assert_eq!(health["embedding_backlog"], 0, "{health}");
    assert_eq!(
        t.vectors.count(Collection::Logs).await.unwrap(),
        NOISE.len() as u64 + 1
    );

    let found = search(
        &t,
        "/api/v1/similar/logs",
        json!({"query": QUERY, "limit": 3, "threshold": 0.0}),
    )
    .await;
    assert_eq!(found[0]["id"], planted.as_str(), "{found:?}");
    // Full documents with their similarity, best first.
    assert_eq!(found[0]["message"], PLANTED);
    assert_eq!(found[0]["level"], "error");
    assert_eq!(found[0]["metadata"]["host"], "db-primary");
    let scores: Vec<f64> = found
        .iter()
        .map(|r| r["similarity"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert!(
        scores[0] > scores[1] + 0.15,
        "the planted log stands out: {scores:?}"
    );
    // The default threshold keeps the match and drops the noise.
    let default = search(&t, "/api/v1/similar/logs", json!({"query": QUERY})).await;
    assert_eq!(ids(&default), vec![planted], "{default:?}");
}

async fn log_search_filters(backends: Backends) {
    let t = TestApp::on(backends).await;
    let a = t.agent("billing agent", "reconcile invoices").await;
    let b = t.agent("search agent", "index documents").await;
    let task = t.task(&a, "nightly reconciliation").await;
    let timeout = |agent: &str, task: Option<&str>, level: &str, at: &str| {
        json!({"agent_id": agent, "task_id": task, "level": level, "timestamp": at,
               "message": "the database connection timed out after 30 seconds"})
    };
    let a_task_error = log(
        &t,
        timeout(&a, Some(&task), "error", "2026-03-01T10:00:00Z"),
    )
    .await;
    let a_warn = log(&t, timeout(&a, None, "warn", "2026-03-02T10:00:00Z")).await;
    let a_info = log(&t, timeout(&a, None, "info", "2026-03-03T10:00:00Z")).await;
    let b_critical = log(&t, timeout(&b, None, "critical", "2026-03-04T10:00:00Z")).await;
    t.state.indexer.drain().await.unwrap();

    let find = |filter: Value| {
        let t = &t;
        async move {
            let mut found = ids(&search(
                t,
                "/api/v1/similar/logs",
                json!({"query": QUERY, "threshold": 0.3, "filter": filter}),
            )
            .await);
            found.sort();
            found
        }
    };
    let sorted = |mut v: Vec<&String>| {
        v.sort();
        v.into_iter().cloned().collect::<Vec<String>>()
    };
    assert_eq!(
        find(json!({})).await,
        sorted(vec![&a_task_error, &a_warn, &a_info, &b_critical])
    );
    assert_eq!(
        find(json!({"agent_id": a})).await,
        sorted(vec![&a_task_error, &a_warn, &a_info])
    );
    assert_eq!(
        find(json!({"task_id": task})).await,
        vec![a_task_error.clone()]
    );
    assert_eq!(find(json!({"level": "warn"})).await, vec![a_warn.clone()]);
    assert_eq!(
        find(json!({"min_level": "error"})).await,
        sorted(vec![&a_task_error, &b_critical])
    );
    assert_eq!(
        find(json!({"since": "2026-03-02T10:00:00Z", "until": "2026-03-04T10:00:00Z"})).await,
        sorted(vec![&a_warn, &a_info]),
        "since is inclusive, until exclusive"
    );
    assert_eq!(
        find(json!({"agent_id": a, "min_level": "warn", "since": "2026-03-01T12:00:00Z"})).await,
        vec![a_warn.clone()]
    );

    // Bad filters are 400s naming the field; nothing is searched.
    for (filter, field) in [
        (
            json!({"level": "error", "min_level": "warn"}),
            "filter.min_level",
        ),
        (json!({"level": "loud"}), "filter.level"),
        (json!({"agent_id": "not an id!"}), "filter.agent_id"),
        (
            json!({"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}),
            "filter.until",
        ),
        (json!({"since": "yesterday"}), "filter.since"),
        (json!({"status": "running"}), "filter.status"),
    ] {
        let (status, error) = t
            .post(
                "/api/v1/similar/logs",
                json!({"query": QUERY, "filter": filter}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{filter}: {error}");
        assert_eq!(error["error"]["field"], field, "{filter}: {error}");
    }
}

async fn thought_search_and_filters(backends: Backends) {
    let t = TestApp::on(backends).await;
    let a = t.agent("travel planner", "plan trips").await;
    let task = t.task(&a, "plan a trip to Berlin").await;
    let thought = |kind: &str, content: &str| json!({"agent_id": a, "task_id": task, "kind": kind, "content": content});
    let mut created = Vec::new();
    for (kind, content) in [
        (
            "reasoning",
            "The user wants a cheap trip, so I should compare budget airlines first",
        ),
        (
            "tool",
            "search_hotels(city=Berlin) failed: the hotel API timed out",
        ),
        (
            "plan",
            "Fallback: book a hostel near Alexanderplatz and keep the flight",
        ),
        (
            "reasoning",
            "Three days is enough for the museums and a day trip to Potsdam",
        ),
    ] {
        let (status, body) = t.post("/api/v1/thoughts", thought(kind, content)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        created.push(body["id"].as_str().unwrap().to_string());
    }
    let (_, health) = t.get("/health").await;
    assert_eq!(health["embedding_backlog"], 4, "{health}");
    t.state.indexer.drain().await.unwrap();

    let found = search(
        &t,
        "/api/v1/similar/thoughts",
        json!({"query": "the hotel booking service did not respond", "limit": 1}),
    )
    .await;
    assert_eq!(ids(&found), vec![created[1].clone()], "{found:?}");
    assert_eq!(found[0]["kind"], "tool");
    assert_eq!(found[0]["step"], 2);

    let found = search(
        &t,
        "/api/v1/similar/thoughts",
        json!({"query": "where to sleep instead", "threshold": 0.0, "filter": {"kind": "plan"}}),
    )
    .await;
    assert_eq!(ids(&found), vec![created[2].clone()]);
    let other = t.agent("other", "other").await;
    let found = search(
        &t,
        "/api/v1/similar/thoughts",
        json!({"query": "cheap flights", "threshold": 0.0, "filter": {"agent_id": other}}),
    )
    .await;
    assert!(found.is_empty(), "{found:?}");
    let found = search(
        &t,
        "/api/v1/similar/thoughts",
        json!({"query": "cheap flights", "threshold": 0.0, "filter": {"task_id": task, "until": "2000-01-01T00:00:00Z"}}),
    )
    .await;
    assert!(found.is_empty(), "created now, not before 2000: {found:?}");
    let (status, error) = t
        .post(
            "/api/v1/similar/thoughts",
            json!({"query": "x", "filter": {"level": "error"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["error"]["field"], "filter.level", "{error}");
}

async fn deleting_an_agent_removes_its_log_and_thought_vectors(backends: Backends) {
    let t = TestApp::on(backends).await;
    let a = t.agent("doomed", "goes away").await;
    let keep = t.agent("survivor", "stays").await;
    log(&t, json!({"agent_id": a, "message": PLANTED})).await;
    log(&t, json!({"agent_id": keep, "message": PLANTED})).await;
    let (status, _) = t
        .post(
            "/api/v1/thoughts",
            json!({"agent_id": a, "content": "the database is slow today"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // One log embedded before the delete, the thought queued after it is gone.
    t.state.indexer.drain().await.unwrap();
    log(
        &t,
        json!({"agent_id": a, "message": "queued but never embedded"}),
    )
    .await;
    let (status, _) = t.delete(&format!("/api/v1/agents/{a}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    t.state.indexer.drain().await.unwrap();

    assert_eq!(t.vectors.count(Collection::Logs).await.unwrap(), 1);
    assert_eq!(t.vectors.count(Collection::Thoughts).await.unwrap(), 0);
    let found = search(
        &t,
        "/api/v1/similar/logs",
        json!({"query": QUERY, "threshold": 0.0}),
    )
    .await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["agent_id"], keep.as_str());
    let (_, health) = t.get("/health").await;
    assert_eq!(health["embedding_backlog"], 0, "{health}");
}

/// The queue is durable: a server killed with a backlog finishes it after a
/// restart, and what it acknowledged becomes searchable.
#[tokio::test]
async fn a_killed_server_finishes_its_backlog_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    let a = server.agent("ops agent", "keep services up").await;
    // Far more than it can embed before the kill (a few ms per log).
    let mut batch: Vec<Value> = (0..2000)
        .map(|i| json!({"agent_id": a, "message": format!("{} (event {i})", NOISE[i % NOISE.len()])}))
        .collect();
    batch.push(json!({"agent_id": a, "id": "plantedlog01", "level": "error", "message": PLANTED}));
    let (s, receipt) = server
        .call("POST", "/api/v1/logs", Some(&Value::Array(batch)))
        .await;
    assert_eq!(s, 201, "{receipt}");
    let (_, health) = server.call("GET", "/health", None).await;
    let backlog = health["embedding_backlog"].as_u64().unwrap();
    assert!(backlog > 0, "{health}");
    server.kill();

    let server = Server::start(dir.path()).await;
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let (_, health) = server.call("GET", "/health", None).await;
        if health["embedding_backlog"] == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the backlog was not finished: {health}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (_, found) = server
        .call(
            "POST",
            "/api/v1/similar/logs",
            Some(&json!({"query": QUERY, "limit": 1})),
        )
        .await;
    assert_eq!(found["results"][0]["id"], "plantedlog01", "{found}");
    let (_, metrics) = server.call("GET", "/metrics", None).await;
    let metrics = metrics.as_str().unwrap_or_default().to_string();
    assert!(metrics.contains("vectadb_embed_backlog 0"), "{metrics}");
    // Everything acknowledged got its vector exactly once (ids are stable).
    assert!(
        metrics.contains("vectadb_vectors{collection=\"logs\"} 2001"),
        "{metrics}"
    );
    let (_, page) = server
        .call("GET", &format!("/api/v1/logs?agent_id={a}&limit=1"), None)
        .await;
    assert_eq!(page["total"], 2001);
    server.stop();
}

/// `EMBED_LOGS=warn`: only warnings and worse are embedded; the rest are
/// stored and listed as usual, and the backlog still drains.
#[tokio::test]
async fn embed_logs_setting_limits_what_is_embedded() {
    let t = TestApp::with(|mut c| {
        c.embed_logs = vectadb::config::EmbedLogs::From(vectadb::domain::LogLevel::Warn);
        c
    })
    .await;
    let a = t.agent("ops agent", "keep services up").await;
    let info = log(
        &t,
        json!({"agent_id": a, "level": "info", "message": PLANTED}),
    )
    .await;
    let warn = log(
        &t,
        json!({"agent_id": a, "level": "warn", "message": PLANTED}),
    )
    .await;
    t.state.indexer.drain().await.unwrap();
    let (_, health) = t.get("/health").await;
    assert_eq!(health["embedding_backlog"], 0, "{health}");
    let found = search(
        &t,
        "/api/v1/similar/logs",
        json!({"query": QUERY, "threshold": 0.0}),
    )
    .await;
    assert_eq!(ids(&found), vec![warn], "{found:?}");
    let (_, listed) = t.get(&format!("/api/v1/logs?agent_id={a}")).await;
    assert_eq!(listed["total"], 2, "{listed}");
    assert!(listed.to_string().contains(&info));
}
