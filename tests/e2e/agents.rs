use axum::http::StatusCode;
use serde_json::json;
use vectadb::vectors::Collection;
use vectadb_tests::{Backends, TestApp};

on_both_backends!(
    create_get_list_agents,
    client_ids_make_create_idempotent,
    unknown_agent_is_404,
    delete_cascades_to_everything_the_agent_owns
);

async fn create_get_list_agents(backends: Backends) {
    let t = TestApp::on(backends).await;
    let (status, created) = t
        .post(
            "/api/v1/agents",
            json!({"role": "researcher", "goal": "analyze data", "metadata": {"skills": ["ml"], "nested": {"a": [1, 2.5, null]}}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    assert_eq!(id.len(), 10);
    assert_eq!(created["role"], "researcher");
    assert_eq!(created["metadata"]["nested"]["a"], json!([1, 2.5, null]));

    let (status, fetched) = t.get(&format!("/api/v1/agents/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched, created);

    for i in 0..3 {
        t.agent(&format!("role {i}"), "goal").await;
    }
    let (status, page) = t.get("/api/v1/agents?limit=2&offset=1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], 4);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["limit"], 2);
    assert_eq!(page["offset"], 1);
    // Newest first: the first agent created is last.
    let (_, all) = t.get("/api/v1/agents").await;
    assert_eq!(all["items"][3]["id"], id);
    assert_eq!(t.vectors.count(Collection::Agents).await.unwrap(), 4);

    // `q`: role or goal contains the text, any case, with paging.
    t.agent("Data Engineer", "maintain the ingestion pipelines")
        .await;
    let (status, found) = t.get("/api/v1/agents?q=ENGINEER").await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["total"], 1);
    assert_eq!(found["items"][0]["role"], "Data Engineer");
    let (_, by_goal) = t.get("/api/v1/agents?q=analyze").await;
    assert_eq!(by_goal["items"][0]["id"], id);
    assert_eq!(by_goal["total"], 1);
    let (_, roles) = t.get("/api/v1/agents?q=role%20&limit=2").await;
    assert_eq!(
        (
            roles["total"].as_u64(),
            roles["items"].as_array().unwrap().len()
        ),
        (Some(3), 2)
    );
    let (_, none) = t.get("/api/v1/agents?q=astronaut").await;
    assert_eq!(none["total"], 0);
    let (_, blank) = t.get("/api/v1/agents?q=%20").await;
    assert_eq!(blank["total"], 5, "a blank filter filters nothing");
}

async fn client_ids_make_create_idempotent(backends: Backends) {
    let t = TestApp::on(backends).await;
    let body = json!({"id": "my-agent", "role": "r", "goal": "g"});
    let (status, first) = t.post("/api/v1/agents", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(first["id"], "my-agent");
    let (status, again) = t.post("/api/v1/agents", body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, first);
    let (status, err) = t
        .post(
            "/api/v1/agents",
            json!({"id": "my-agent", "role": "other", "goal": "g"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(err["error"]["field"], "id");
    let (_, stored) = t.get("/api/v1/agents/my-agent").await;
    assert_eq!(stored["role"], "r");
    assert_eq!(t.vectors.count(Collection::Agents).await.unwrap(), 1);
}

async fn unknown_agent_is_404(backends: Backends) {
    let t = TestApp::on(backends).await;
    let (status, body) = t.get("/api/v1/agents/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, _) = t.delete("/api/v1/agents/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn delete_cascades_to_everything_the_agent_owns(backends: Backends) {
    let t = TestApp::on(backends).await;
    let keep = t.agent("keeper", "stays").await;
    let keep_task = t.task(&keep, "kept task").await;
    let gone = t.agent("leaver", "goes").await;
    let task = t.task(&gone, "doomed task").await;
    let (s, thought) = t
        .post(
            "/api/v1/thoughts",
            json!({"agent_id": gone, "task_id": task, "content": "hmm"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{thought}");
    let (s, _) = t
        .post(
            "/api/v1/logs",
            json!([{"agent_id": gone, "task_id": task, "message": "x"}, {"agent_id": keep, "message": "y"}]),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);

    let (status, body) = t.delete(&format!("/api/v1/agents/{gone}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        t.get(&format!("/api/v1/agents/{gone}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.get(&format!("/api/v1/tasks/{task}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.get(&format!(
            "/api/v1/thoughts/{}",
            thought["id"].as_str().unwrap()
        ))
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let (_, logs) = t.get("/api/v1/logs").await;
    assert_eq!(logs["total"], 1);
    assert_eq!(logs["items"][0]["agent_id"], keep);
    let existing = t
        .vectors
        .existing(Collection::Tasks, &[task.clone(), keep_task.clone()])
        .await
        .unwrap();
    assert_eq!(existing, vec![keep_task]);
    assert_eq!(
        t.vectors
            .existing(Collection::Agents, &[gone.clone(), keep.clone()])
            .await
            .unwrap(),
        vec![keep.clone()]
    );
    // Edges went with their nodes: the kept agent's trace is intact and a
    // new agent can reuse nothing of the deleted one.
    let (status, trace) = t.get(&format!("/api/v1/traces/{keep}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(trace["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(trace["logs"].as_array().unwrap().len(), 1);
}
