//! The indexer: log templates share one embedding (the cache), the cache
//! survives a restart of the real binary, background embedding gives way
//! to requests and still drains when they stop, and a new agent's ordinary
//! logs do not score as anomalies.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{json, Value};
use vectadb_tests::process::Server;
use vectadb_tests::{datagen, Backends, TestApp};

/// Logs whose messages differ only in numbers, ids and paths.
fn varied(agent: &str, n: u64) -> Value {
    Value::from(
        (0..n)
            .map(|i| {
                let message = match i % 3 {
                    0 => format!("called web_search and got {} results in {}ms", i * 7, i + 3),
                    1 => format!("request {:08x}-1c2d-4e5f-8a9b-{:012x} failed", i, i * 31),
                    _ => format!("read /var/data/run-{i}/output.json ({} bytes)", i * 1024),
                };
                json!({ "agent_id": agent, "level": "info", "message": message })
            })
            .collect::<Vec<_>>(),
    )
}

async fn logs_sharing_a_template_are_embedded_once(backends: Backends) {
    let t = TestApp::on(backends).await;
    let agent = t.agent("research assistant", "search the web").await;
    let (status, body) = t.post("/api/v1/logs", varied(&agent, 90)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    t.state.indexer.drain().await.unwrap();
    let cache = t.state.indexer.cache();
    // The agent's text, then three templates: the other 87 logs found theirs.
    assert_eq!(
        cache.hits_and_misses(),
        (87, 4),
        "three templates embedded once"
    );
    // Identical texts are never embedded twice, in later batches either.
    t.post("/api/v1/logs", varied(&agent, 30)).await;
    t.state.indexer.drain().await.unwrap();
    assert_eq!(cache.hits_and_misses(), (117, 4));
    // Every log is searchable by meaning, with the vector of its template.
    let (status, found) = t
        .post(
            "/api/v1/similar/logs",
            json!({ "query": "a web search returned results", "filter": { "agent_id": agent }, "limit": 50, "threshold": 0.0 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let hits = found["results"].as_array().expect("results");
    assert_eq!(hits.len(), 50, "{found}");
    let first = hits[0]["similarity"].as_f64().unwrap();
    let same: Vec<&Value> = hits
        .iter()
        .filter(|hit| (hit["similarity"].as_f64().unwrap() - first).abs() < 1e-4)
        .collect();
    assert_eq!(
        same.len(),
        40,
        "the 40 search logs share one vector: {found:#}"
    );
    assert!(same.iter().all(|hit| hit["message"]
        .as_str()
        .unwrap()
        .starts_with("called web_search")));
    // /metrics says so.
    let (_, metrics) = t.get("/metrics").await;
    let text = metrics.as_str().unwrap_or_default();
    let line = text
        .lines()
        .find(|l| l.starts_with("vectadb_embed_cache_lookups{result=\"hit\"}"));
    assert_eq!(
        line,
        Some("vectadb_embed_cache_lookups{result=\"hit\"} 117")
    );
}

async fn a_new_agents_ordinary_logs_do_not_score_as_anomalies(backends: Backends) {
    let t = TestApp::on(backends).await;
    let agent = t.agent("support agent", "answer customer tickets").await;
    // The benchmark's generator: ten message templates with tools, numbers,
    // fields and objects varied, one minute apart, all at info level.
    let logs: Vec<Value> = (0..50u64)
        .map(|i| {
            let mut log = datagen::log(&agent, None, 77_000 + i);
            log["level"] = json!("info");
            log["timestamp"] = json!(format!("2026-12-01T{:02}:{:02}:00Z", 8 + i / 60, i % 60));
            log
        })
        .collect();
    let (status, body) = t.post("/api/v1/logs", Value::from(logs)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    t.state.indexer.drain().await.unwrap();
    let (_, ranked) = t
        .get(&format!("/api/v1/anomalies?agent_id={agent}&limit=50"))
        .await;
    assert_eq!(ranked["total"], 50, "{ranked}");
    let top = ranked["items"][0]["anomaly_score"].as_f64().unwrap();
    assert!(
        top < 0.3,
        "a new agent's ordinary logs are not alarms: {ranked:#}"
    );
    // Its first warning of a new kind still is.
    let (_, warning) = t
        .post(
            "/api/v1/logs",
            json!({ "agent_id": agent, "level": "warn", "timestamp": "2026-12-01T09:00:00Z",
                    "message": "Attempted to transfer 50,000 EUR from the company treasury to an unknown IBAN" }),
        )
        .await;
    t.state.indexer.drain().await.unwrap();
    let (_, ranked) = t
        .get(&format!("/api/v1/anomalies?agent_id={agent}&limit=1"))
        .await;
    assert_eq!(ranked["items"][0]["id"], warning["id"], "{ranked:#}");
    assert!(
        ranked["items"][0]["anomaly_score"].as_f64().unwrap() > 0.7,
        "{ranked:#}"
    );
}

on_both_backends!(
    logs_sharing_a_template_are_embedded_once,
    a_new_agents_ordinary_logs_do_not_score_as_anomalies
);

/// Texts no cache can answer: each one is new.
fn unique(agent: &str, n: u64, salt: u64) -> Value {
    Value::from(
        (0..n)
            .map(|i| {
                let task = datagen::task(agent, salt + i);
                json!({ "agent_id": agent, "level": "info",
                        "message": format!("{} ({})", task["description"].as_str().unwrap(), datagen::query(salt + i)) })
            })
            .collect::<Vec<_>>(),
    )
}

#[tokio::test]
async fn the_indexer_gives_way_to_requests_and_drains_when_they_stop() {
    let t = TestApp::new().await;
    let agent = t.agent("analyst", "summarise reports").await;
    let (status, body) = t.post("/api/v1/logs", unique(&agent, 200, 0)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let workers = vectadb::app::start_workers(&t.state).unwrap();
    // A request in flight the whole time: the server is busy.
    let busy = t.state.shedder.foreground.enter();
    let deadline = Instant::now() + Duration::from_secs(60);
    while t.state.indexer.paused_ms() == 0 {
        assert!(Instant::now() < deadline, "the indexer never gave way");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(t.state.indexer.backlog().await.unwrap() > 0);
    drop(busy);
    let deadline = Instant::now() + Duration::from_secs(120);
    while t.state.indexer.backlog().await.unwrap() > 0 {
        assert!(
            Instant::now() < deadline,
            "the backlog did not drain once requests stopped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(t.state.indexer.embedded(), 200);
    // Stopped before the app's directory goes (Qdrant Edge flushes on drop).
    workers.stop().await;
}

#[tokio::test]
async fn the_embedding_cache_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    let agent = server.agent("research assistant", "search the web").await;
    let (status, body) = server
        .call("POST", "/api/v1/logs", Some(&varied(&agent, 30)))
        .await;
    assert_eq!(status, 201, "{body}");
    let misses = |metrics: &Value| -> Option<u64> {
        metrics
            .as_str()?
            .lines()
            .find_map(|l| l.strip_prefix("vectadb_embed_cache_lookups{result=\"miss\"} "))?
            .parse()
            .ok()
    };
    let embedded = |server: &Server| {
        let server_port = server.port;
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let (_, health) =
                    vectadb_tests::process::http_request(server_port, "GET", "/health", "", None)
                        .await
                        .unwrap();
                if health["embedding_backlog"] == 0 {
                    return;
                }
                assert!(Instant::now() < deadline, "not embedded: {health}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    embedded(&server).await;
    let (_, metrics) = server.call("GET", "/metrics", None).await;
    assert_eq!(
        misses(&metrics),
        Some(4),
        "the agent's text and three templates"
    );
    server.stop();
    assert!(dir.path().join(vectadb::embed::cache::FILE).is_file());

    let server = Server::start(dir.path()).await;
    server
        .call("POST", "/api/v1/logs", Some(&varied(&agent, 30)))
        .await;
    embedded(&server).await;
    let (_, metrics) = server.call("GET", "/metrics", None).await;
    assert_eq!(
        misses(&metrics),
        Some(0),
        "nothing embedded again after the restart"
    );
    server.stop();
}
