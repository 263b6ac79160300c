use axum::http::StatusCode;
use serde_json::json;
use vectadb_tests::{Backends, TestApp};

on_both_backends!(trace_returns_tasks_thoughts_in_chain_order_and_logs_in_time_order);

async fn trace_returns_tasks_thoughts_in_chain_order_and_logs_in_time_order(backends: Backends) {
    let t = TestApp::on(backends).await;
    let a = t.agent("analyst", "answer questions").await;
    let first = t.task(&a, "first task").await;
    let second = t.task(&a, "second task").await;
    for content in ["read", "think", "answer"] {
        t.post(
            "/api/v1/thoughts",
            json!({"agent_id": a, "task_id": first, "content": content}),
        )
        .await;
    }
    t.post(
        "/api/v1/thoughts",
        json!({"agent_id": a, "content": "between tasks"}),
    )
    .await;
    // Logs sent out of time order come back in time order.
    t.post(
        "/api/v1/logs",
        json!([
            {"agent_id": a, "task_id": first, "message": "late", "timestamp": "2026-01-01T00:00:03Z"},
            {"agent_id": a, "task_id": first, "message": "early", "timestamp": "2026-01-01T00:00:01Z"},
            {"agent_id": a, "task_id": second, "message": "other", "timestamp": "2026-01-01T00:00:02Z"},
            {"agent_id": a, "message": "agent level", "timestamp": "2026-01-01T00:00:00Z"},
        ]),
    )
    .await;
    let other = t.agent("other", "x").await;
    t.task(&other, "not mine").await;

    let (status, trace) = t.get(&format!("/api/v1/traces/{a}")).await;
    assert_eq!(status, StatusCode::OK, "{trace}");
    assert_eq!(trace["agent"]["id"], a);
    assert_eq!(trace["agent"]["role"], "analyst");
    let tasks = trace["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[0]["id"], first);
    assert_eq!(tasks[1]["id"], second);
    let contents: Vec<_> = tasks[0]["thoughts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["read", "think", "answer"]);
    let messages: Vec<_> = tasks[0]["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["early", "late"]);
    assert_eq!(tasks[1]["logs"][0]["message"], "other");
    assert_eq!(trace["thoughts"][0]["content"], "between tasks");
    assert_eq!(trace["logs"].as_array().unwrap().len(), 1);
    assert_eq!(trace["logs"][0]["message"], "agent level");

    let (status, body) = t.get("/api/v1/traces/ghost").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
}
