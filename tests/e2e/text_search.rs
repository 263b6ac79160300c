//! Full-text search of logs and thoughts (`"mode": "text"` and `"hybrid"`
//! on `/similar/logs` and `/similar/thoughts`): words, phrases and
//! prefixes in any script, filters, BM25 and reciprocal-rank fusion.

use axum::http::StatusCode;
use serde_json::{json, Value};
use vectadb_tests::{Backends, TestApp};

on_both_backends!(
    text_search_finds_words_phrases_and_prefixes_in_any_script,
    text_search_ranks_filters_and_fuses_with_meaning,
    text_search_of_common_words_reads_the_newest_logs,
    text_search_rejects_bad_queries
);

/// Messages of the agent under test: (level, message, in the task).
const LOGS: [(&str, &str, bool); 8] = [
    (
        "error",
        "Connection refused by payments-db at 10.0.0.7",
        true,
    ),
    ("warn", "connection reset while refusing new clients", true),
    ("info", "Café fermé : réessayer plus tard", false),
    ("error", "数据库连接失败，正在重试", false),
    ("error", "Ошибка соединения с сервером", false),
    ("info", "user signed in", false),
    ("info", "user signed out", false),
    ("debug", "cache warmed in 120 ms", false),
];

async fn post_logs(t: &TestApp, logs: Vec<Value>) -> Vec<String> {
    let (status, receipt) = t.post("/api/v1/logs", Value::Array(logs)).await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    receipt["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_string())
        .collect()
}

async fn search(t: &TestApp, kind: &str, body: Value) -> Vec<Value> {
    let (status, found) = t
        .post(&format!("/api/v1/similar/{kind}"), body.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{body} → {found}");
    found["results"].as_array().unwrap().clone()
}

/// The messages (or contents) of a text search's results, best first.
async fn texts(t: &TestApp, kind: &str, query: &str, filter: Value) -> Vec<String> {
    let field = if kind == "logs" { "message" } else { "content" };
    search(
        t,
        kind,
        json!({"query": query, "mode": "text", "filter": filter}),
    )
    .await
    .iter()
    .map(|r| r[field].as_str().unwrap().to_string())
    .collect()
}

struct Seeded {
    agent: String,
    other: String,
    task: String,
}

async fn seed(t: &TestApp) -> Seeded {
    let agent = t.agent("support", "answer customers").await;
    let other = t.agent("cache", "serve reads").await;
    let task = t.task(&agent, "refund order 42").await;
    let logs = LOGS
        .iter()
        .map(|(level, message, in_task)| {
            let mut log = json!({"agent_id": agent, "level": level, "message": message});
            if *in_task {
                log["task_id"] = json!(task);
            }
            log
        })
        .collect();
    post_logs(t, logs).await;
    post_logs(
        t,
        vec![
            json!({"agent_id": other, "level": "error", "message": "Connection refused by cache"}),
        ],
    )
    .await;
    for (content, kind) in [
        (
            "I should retry the connection with exponential backoff",
            "plan",
        ),
        ("Le café est fermé, essayons demain", "observation"),
        ("需要检查数据库配置", "plan"),
    ] {
        let (status, body) = t
            .post(
                "/api/v1/thoughts",
                json!({"agent_id": agent, "task_id": task, "content": content, "kind": kind}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // Indexed in the background: /health and /metrics say how many wait.
    let (_, health) = t.get("/health").await;
    assert!(health["text_backlog"].as_u64().unwrap() > 0, "{health}");
    t.state.text_indexer.drain().await.unwrap();
    let (_, health) = t.get("/health").await;
    assert_eq!(health["text_backlog"], 0, "{health}");
    let (_, metrics) = t.get("/metrics").await;
    assert!(
        metrics.as_str().unwrap().contains("vectadb_text_backlog 0"),
        "{metrics}"
    );
    Seeded { agent, other, task }
}

async fn text_search_finds_words_phrases_and_prefixes_in_any_script(backends: Backends) {
    let t = TestApp::on(backends).await;
    let s = seed(&t).await;
    let none = json!({});
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };

    // Words: every word must occur, in any case.
    assert_eq!(
        sorted(texts(&t, "logs", "CONNECTION refused", none.clone()).await),
        [
            "Connection refused by cache",
            "Connection refused by payments-db at 10.0.0.7"
        ]
    );
    // A phrase: the words one after the other ("refusing" is not "refused").
    assert_eq!(
        sorted(texts(&t, "logs", r#""refused by""#, none.clone()).await),
        [
            "Connection refused by cache",
            "Connection refused by payments-db at 10.0.0.7"
        ]
    );
    assert!(texts(&t, "logs", r#""refused connection""#, none.clone())
        .await
        .is_empty());
    // A word written with punctuation is a phrase of its parts.
    assert_eq!(
        texts(&t, "logs", "payments-db", none.clone()).await,
        ["Connection refused by payments-db at 10.0.0.7"]
    );
    // Prefixes.
    assert_eq!(
        sorted(texts(&t, "logs", "refus*", none.clone()).await),
        [
            "Connection refused by cache",
            "Connection refused by payments-db at 10.0.0.7",
            "connection reset while refusing new clients"
        ]
    );
    // Accents and case fold both ways.
    for query in ["cafe ferme", "CAFÉ", "réessayer"] {
        assert_eq!(
            texts(&t, "logs", query, none.clone()).await,
            ["Café fermé : réessayer plus tard"],
            "{query}"
        );
    }
    // Chinese: any run of characters within a text, not only whole runs.
    for query in ["连接失败", "数据库", "重试"] {
        assert_eq!(
            texts(&t, "logs", query, none.clone()).await,
            ["数据库连接失败，正在重试"],
            "{query}"
        );
    }
    assert!(texts(&t, "logs", "失败数据", none.clone()).await.is_empty());
    // Cyrillic words and prefixes.
    for query in ["ошибка", "соедин*", "СЕРВЕРОМ"] {
        assert_eq!(
            texts(&t, "logs", query, none.clone()).await,
            ["Ошибка соединения с сервером"],
            "{query}"
        );
    }
    // Thoughts, in the same ways.
    assert_eq!(
        texts(&t, "thoughts", "exponential back*", none.clone()).await,
        ["I should retry the connection with exponential backoff"]
    );
    assert_eq!(
        texts(&t, "thoughts", "cafe", none.clone()).await,
        ["Le café est fermé, essayons demain"]
    );
    assert_eq!(
        texts(&t, "thoughts", "数据库", none.clone()).await,
        ["需要检查数据库配置"]
    );
    assert!(texts(&t, "thoughts", "kubernetes", none).await.is_empty());

    // Deleting an agent removes its logs from search.
    let (status, _) = t.delete(&format!("/api/v1/agents/{}", s.other)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        texts(&t, "logs", "connection refused", json!({})).await,
        ["Connection refused by payments-db at 10.0.0.7"]
    );
    let _ = (s.agent, s.task);
}

async fn text_search_ranks_filters_and_fuses_with_meaning(backends: Backends) {
    let t = TestApp::on(backends).await;
    let s = seed(&t).await;

    // Filters: agent, task, level (exact and at least), kind, time.
    let agent = json!({"agent_id": s.agent});
    assert_eq!(
        texts(&t, "logs", "connection refused", agent).await,
        ["Connection refused by payments-db at 10.0.0.7"]
    );
    assert_eq!(
        texts(
            &t,
            "logs",
            "conn*",
            json!({"task_id": s.task, "level": "warn"})
        )
        .await,
        ["connection reset while refusing new clients"]
    );
    assert_eq!(
        texts(
            &t,
            "logs",
            "user signed",
            json!({"agent_id": s.agent, "min_level": "warn"})
        )
        .await,
        Vec::<String>::new()
    );
    assert_eq!(
        texts(&t, "thoughts", "数据库", json!({"kind": "observation"})).await,
        Vec::<String>::new()
    );
    let future = "2099-01-01T00:00:00Z";
    assert!(texts(&t, "logs", "connection", json!({"since": future}))
        .await
        .is_empty());
    assert_eq!(
        texts(&t, "logs", "connection", json!({"until": future}))
            .await
            .len(),
        3
    );

    // BM25: a message that says the word more often, in fewer words, ranks
    // first; scores are positive and descending.
    post_logs(
        &t,
        vec![
            json!({"agent_id": s.agent, "message": "timeout while calling billing after several slow retries"}),
            json!({"agent_id": s.agent, "message": "timeout timeout"}),
        ],
    )
    .await;
    t.state.text_indexer.drain().await.unwrap();
    let found = search(
        &t,
        "logs",
        json!({"query": "timeout", "mode": "text", "filter": {"agent_id": s.agent}}),
    )
    .await;
    assert_eq!(found.len(), 2);
    assert_eq!(found[0]["message"], "timeout timeout");
    let (first, second) = (
        found[0]["similarity"].as_f64().unwrap(),
        found[1]["similarity"].as_f64().unwrap(),
    );
    assert!(first > second && second > 0.0, "{first} {second}");

    // Hybrid: what both searches find comes first; what only meaning
    // finds (no shared word) is there too, unlike in text mode.
    t.state.indexer.drain().await.unwrap();
    let query = json!({
        "query": "connection refused", "mode": "hybrid", "limit": 5, "threshold": 0.0,
        "filter": {"agent_id": s.agent}
    });
    let hybrid = search(&t, "logs", query).await;
    assert_eq!(
        hybrid[0]["message"],
        "Connection refused by payments-db at 10.0.0.7"
    );
    let messages: Vec<&str> = hybrid
        .iter()
        .map(|r| r["message"].as_str().unwrap())
        .collect();
    assert!(messages.len() > 1 && messages.len() <= 5, "{messages:?}");
    let text_only = texts(
        &t,
        "logs",
        "connection refused",
        json!({"agent_id": s.agent}),
    )
    .await;
    assert!(
        messages.iter().any(|m| !text_only.iter().any(|x| x == m)),
        "hybrid adds what meaning finds: {messages:?}"
    );
    // The fused score of a document found both ways is the sum of two
    // reciprocal ranks, each at most 1/61.
    let top = hybrid[0]["similarity"].as_f64().unwrap();
    assert!(top > 1.0 / 61.0 && top <= 2.0 / 61.0 + 1e-6, "{top}");
    let thoughts = search(
        &t,
        "thoughts",
        json!({"query": "retry the connection", "mode": "hybrid", "limit": 3, "threshold": 0.0}),
    )
    .await;
    assert_eq!(
        thoughts[0]["content"],
        "I should retry the connection with exponential backoff"
    );
}

async fn text_search_of_common_words_reads_the_newest_logs(backends: Backends) {
    let t = TestApp::on(backends).await;
    let a = t.agent("monitor", "watch services").await;
    // 300 batches: 300 blocks that all hold the word, more than the index
    // candidates a search reads (64).
    for i in 0..300 {
        post_logs(
            &t,
            vec![json!({
                "agent_id": a, "message": format!("heartbeat ok seq{i}"),
                "timestamp": format!("2026-03-01T{:02}:{:02}:{:02}Z", i / 3600, (i / 60) % 60, i % 60),
            })],
        )
        .await;
    }
    t.state.text_indexer.drain().await.unwrap();
    let found: Vec<String> = search(
        &t,
        "logs",
        json!({"query": "heartbeat", "mode": "text", "limit": 10, "filter": {"agent_id": a}}),
    )
    .await
    .iter()
    .map(|r| r["message"].as_str().unwrap().to_string())
    .collect();
    assert_eq!(found.len(), 10, "{found:?}");
    for message in &found {
        let seq: usize = message
            .trim_start_matches("heartbeat ok seq")
            .parse()
            .unwrap();
        assert!(
            seq >= 80 - 16,
            "{message} is not among the newest: {found:?}"
        );
    }
    // A rare word among them is found wherever it is.
    assert_eq!(
        texts(&t, "logs", "seq3", json!({})).await,
        ["heartbeat ok seq3"]
    );
}

async fn text_search_rejects_bad_queries(backends: Backends) {
    let t = TestApp::on(backends).await;
    for (kind, body, field) in [
        ("logs", json!({"query": " !! ", "mode": "text"}), "query"),
        ("logs", json!({"query": "ab*", "mode": "text"}), "query"),
        (
            "logs",
            json!({"query": "x".repeat(1_001), "mode": "hybrid"}),
            "query",
        ),
        (
            "thoughts",
            json!({"query": "plan", "mode": "text", "threshold": 0.5}),
            "threshold",
        ),
        ("logs", json!({"query": "x", "mode": "fuzzy"}), "mode"),
        ("agents", json!({"query": "x", "mode": "text"}), "mode"),
        ("tasks", json!({"query": "x", "mode": "hybrid"}), "mode"),
        (
            "logs",
            json!({"query": "x", "mode": "text", "limit": 0}),
            "limit",
        ),
        (
            "logs",
            json!({"query": "x", "mode": "text",
                   "filter": {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}}),
            "filter.until",
        ),
    ] {
        let (status, err) = t
            .post(&format!("/api/v1/similar/{kind}"), body.clone())
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {err}");
        assert_eq!(err["error"]["field"], field, "{body} → {err}");
    }
}
