use axum::http::StatusCode;
use serde_json::json;
use vectadb_tests::{Backends, TestApp};

on_both_backends!(
    thoughts_form_ordered_chains,
    thought_references_are_checked,
    concurrent_thoughts_get_distinct_steps
);

async fn thoughts_form_ordered_chains(backends: Backends) {
    let t = TestApp::on(backends).await;
    let a = t.agent("planner", "plan").await;
    let task = t.task(&a, "plan a trip").await;
    let mut ids = Vec::new();
    for (i, content) in ["look at the map", "pick a route", "book tickets"]
        .iter()
        .enumerate()
    {
        let (status, thought) = t
            .post(
                "/api/v1/thoughts",
                json!({"agent_id": a, "task_id": task, "content": content}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{thought}");
        assert_eq!(thought["step"], i as u64 + 1);
        assert_eq!(thought["kind"], "reasoning");
        if let Some(prev) = ids.last() {
            assert_eq!(&thought["parent_id"], prev);
        } else {
            assert!(thought["parent_id"].is_null());
        }
        ids.push(thought["id"].clone());
    }
    // A chain outside the task starts at 1 again.
    let (_, free) = t
        .post(
            "/api/v1/thoughts",
            json!({"agent_id": a, "content": "idle musing", "kind": "observation"}),
        )
        .await;
    assert_eq!(free["step"], 1);
    assert_eq!(free["kind"], "observation");

    let (status, chain) = t.get(&format!("/api/v1/thoughts?task_id={task}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(chain["total"], 3);
    let got: Vec<_> = chain["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    assert_eq!(got, ids);
    let (_, all) = t.get(&format!("/api/v1/thoughts?agent_id={a}")).await;
    assert_eq!(all["total"], 4);

    let id = ids[1].as_str().unwrap();
    let (status, one) = t.get(&format!("/api/v1/thoughts/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["content"], "pick a route");
}

async fn thought_references_are_checked(backends: Backends) {
    let t = TestApp::on(backends).await;
    let a = t.agent("a", "g").await;
    let b = t.agent("b", "g").await;
    let b_task = t.task(&b, "b's task").await;
    let (status, body) = t
        .post(
            "/api/v1/thoughts",
            json!({"agent_id": "ghost", "content": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "agent_id");
    let (status, body) = t
        .post(
            "/api/v1/thoughts",
            json!({"agent_id": a, "task_id": "ghost", "content": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "task_id");
    let (status, body) = t
        .post(
            "/api/v1/thoughts",
            json!({"agent_id": a, "parent_id": "ghost", "content": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "parent_id");
    let (status, body) = t
        .post(
            "/api/v1/thoughts",
            json!({"agent_id": a, "task_id": b_task, "content": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["field"], "task_id");
    // An explicit step that is taken is a conflict.
    t.post("/api/v1/thoughts", json!({"agent_id": a, "content": "one"}))
        .await;
    let (status, body) = t
        .post(
            "/api/v1/thoughts",
            json!({"agent_id": a, "content": "dup", "step": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["field"], "step");
    let (_, all) = t.get(&format!("/api/v1/thoughts?agent_id={a}")).await;
    assert_eq!(all["total"], 1);
}

async fn concurrent_thoughts_get_distinct_steps(backends: Backends) {
    let t = TestApp::on(backends).await;
    let a = t.agent("a", "g").await;
    let futures = (0..8).map(|i| {
        t.post(
            "/api/v1/thoughts",
            json!({"agent_id": a, "content": format!("thought {i}")}),
        )
    });
    let results = futures::future::join_all(futures).await;
    let mut steps: Vec<u64> = results
        .iter()
        .map(|(s, b)| {
            assert_eq!(*s, StatusCode::CREATED, "{b}");
            b["step"].as_u64().unwrap()
        })
        .collect();
    steps.sort();
    assert_eq!(steps, (1..=8).collect::<Vec<_>>());
}
