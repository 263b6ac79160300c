use axum::http::StatusCode;
use serde_json::json;
use vectadb::vectors::{Collection, VectorFilter};
use vectadb_tests::{Backends, TestApp};

on_both_backends!(
    create_get_list_tasks_with_filters,
    task_for_unknown_agent_is_422,
    patch_updates_status_output_and_reembeds_only_on_text_change,
    task_client_ids_are_idempotent
);

async fn create_get_list_tasks_with_filters(backends: Backends) {
    let t = TestApp::on(backends).await;
    let a = t.agent("a", "g").await;
    let b = t.agent("b", "g").await;
    let (status, task) = t
        .post(
            "/api/v1/tasks",
            json!({"agent_id": a, "description": "summarise the report", "input": {"doc": "r.pdf", "pages": [1, 2]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{task}");
    assert_eq!(task["status"], "pending");
    assert_eq!(task["input"], json!({"doc": "r.pdf", "pages": [1, 2]}));
    assert!(task["started_at"].is_null());
    let id = task["id"].as_str().unwrap();
    let (status, fetched) = t.get(&format!("/api/v1/tasks/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched, task);

    t.post(
        "/api/v1/tasks",
        json!({"agent_id": a, "description": "second", "status": "running"}),
    )
    .await;
    t.post(
        "/api/v1/tasks",
        json!({"agent_id": b, "description": "third", "status": "running"}),
    )
    .await;

    let (_, by_agent) = t.get(&format!("/api/v1/tasks?agent_id={a}")).await;
    assert_eq!(by_agent["total"], 2);
    let (_, running) = t.get("/api/v1/tasks?status=running").await;
    assert_eq!(running["total"], 2);
    let (_, both) = t
        .get(&format!("/api/v1/tasks?agent_id={a}&status=running"))
        .await;
    assert_eq!(both["total"], 1);
    assert_eq!(both["items"][0]["description"], "second");
    assert!(both["items"][0]["started_at"].is_string());

    // Work timed by the client keeps its own start and end.
    let (status, timed) = t
        .post(
            "/api/v1/tasks",
            json!({"agent_id": b, "description": "timed elsewhere", "status": "completed",
                   "started_at": "2026-03-01T10:00:00Z", "completed_at": "2026-03-01T10:00:02.5Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{timed}");
    let (_, fetched) = t
        .get(&format!("/api/v1/tasks/{}", timed["id"].as_str().unwrap()))
        .await;
    let at = |field: &str| vectadb_tests::time_field(&fetched, field);
    assert_eq!(
        (at("completed_at") - at("started_at")).num_milliseconds(),
        2_500,
        "{fetched}"
    );
    assert_eq!(at("started_at").to_rfc3339(), "2026-03-01T10:00:00+00:00");
}

async fn task_for_unknown_agent_is_422(backends: Backends) {
    let t = TestApp::on(backends).await;
    let (status, body) = t
        .post(
            "/api/v1/tasks",
            json!({"agent_id": "ghost", "description": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "agent_id");
    assert_eq!(t.vectors.count(Collection::Tasks).await.unwrap(), 0);
}

async fn patch_updates_status_output_and_reembeds_only_on_text_change(backends: Backends) {
    let t = TestApp::on(backends).await;
    let a = t.agent("a", "g").await;
    let id = t.task(&a, "translate the manual into French").await;

    // Status change: payload follows, vector unchanged.
    let (status, patched) = t
        .patch(
            &format!("/api/v1/tasks/{id}"),
            json!({"status": "completed", "output": {"ok": true}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["status"], "completed");
    assert_eq!(patched["output"], json!({"ok": true}));
    assert!(patched["completed_at"].is_string());
    let query = t.state.service.clone();
    let hits = |status: &str| VectorFilter {
        agent_id: None,
        status: Some(status.into()),
        ..VectorFilter::default()
    };
    let embed = vectadb_tests::model().await;
    let v = embed
        .embed(vec!["translate the manual into French".into()])
        .await
        .unwrap()
        .remove(0);
    let found = t
        .vectors
        .search(Collection::Tasks, v.clone(), 5, 0.0, &hits("completed"))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert!(found[0].score > 0.99, "vector kept: {}", found[0].score);
    assert!(t
        .vectors
        .search(Collection::Tasks, v.clone(), 5, 0.0, &hits("pending"))
        .await
        .unwrap()
        .is_empty());

    // Description change: re-embedded.
    let (status, _) = t
        .patch(
            &format!("/api/v1/tasks/{id}"),
            json!({"description": "bake sourdough bread"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let found = t
        .vectors
        .search(Collection::Tasks, v, 5, 0.0, &VectorFilter::default())
        .await
        .unwrap();
    assert!(found[0].score < 0.5, "re-embedded: {}", found[0].score);
    let (_, fetched) = t.get(&format!("/api/v1/tasks/{id}")).await;
    assert_eq!(fetched["description"], "bake sourdough bread");
    assert_eq!(fetched["status"], "completed");
    drop(query);

    let (status, _) = t
        .patch("/api/v1/tasks/nope", json!({"status": "failed"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = t
        .patch(&format!("/api/v1/tasks/{id}"), json!({"status": "done"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["field"], "status");
    let (status, body) = t.patch(&format!("/api/v1/tasks/{id}"), json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["field"], "body");
}

async fn task_client_ids_are_idempotent(backends: Backends) {
    let t = TestApp::on(backends).await;
    let a = t.agent("a", "g").await;
    let body = json!({"id": "t-1", "agent_id": a, "description": "d"});
    assert_eq!(
        t.post("/api/v1/tasks", body.clone()).await.0,
        StatusCode::CREATED
    );
    assert_eq!(t.post("/api/v1/tasks", body).await.0, StatusCode::OK);
    let (status, _) = t
        .post(
            "/api/v1/tasks",
            json!({"id": "t-1", "agent_id": a, "description": "other"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(t.vectors.count(Collection::Tasks).await.unwrap(), 1);
}
