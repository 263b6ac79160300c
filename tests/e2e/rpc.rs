use axum::http::{Method, StatusCode};
use serde_json::json;
use vectadb::http::rpc;
use vectadb_tests::TestApp;

#[tokio::test]
async fn rpc_agents_create_get_list_similar() {
    let t = TestApp::new().await;
    let (status, body) = t
        .post(
            "/api/v1/rpc/agents",
            json!({"jsonrpc": "2.0", "method": "create", "params": {"role": "ML researcher", "goal": "train models"}, "id": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["jsonrpc"], "2.0");
    assert_eq!(body["id"], 1);
    let id = body["result"]["id"].as_str().unwrap().to_string();

    // A batch: get, list, similar, an unknown method, an invalid call and a notification.
    let (status, body) = t
        .post(
            "/api/v1/rpc/agents",
            json!([
                {"jsonrpc": "2.0", "method": "get", "params": {"id": id}, "id": "a"},
                {"jsonrpc": "2.0", "method": "list", "params": {"limit": 5}, "id": "b"},
                {"jsonrpc": "2.0", "method": "similar", "params": {"query": "machine learning scientist", "threshold": 0.3}, "id": "c"},
                {"jsonrpc": "2.0", "method": "explode", "id": "d"},
                {"jsonrpc": "1.0", "method": "get", "id": "e"},
                {"jsonrpc": "2.0", "method": "create", "params": {"role": "n", "goal": "g"}},
            ]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let answers = body.as_array().unwrap();
    assert_eq!(answers.len(), 5, "the notification gets no answer: {body}");
    assert_eq!(answers[0]["id"], "a");
    assert_eq!(answers[0]["result"]["role"], "ML researcher");
    assert_eq!(answers[1]["result"]["total"], 1);
    assert_eq!(answers[2]["result"]["results"][0]["id"], id);
    assert_eq!(answers[3]["error"]["code"], rpc::METHOD_NOT_FOUND);
    assert_eq!(answers[4]["error"]["code"], rpc::INVALID_REQUEST);
    // The notification was still carried out.
    assert_eq!(t.get("/api/v1/agents").await.1["total"], 2);
}

#[tokio::test]
async fn rpc_errors_are_proper_error_objects() {
    let t = TestApp::new().await;
    let call = |method: &str, params| json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 7});
    let (_, body) = t
        .post("/api/v1/rpc/agents", call("get", json!({"id": "ghost"})))
        .await;
    assert_eq!(body["error"]["code"], rpc::NOT_FOUND);
    assert_eq!(body["id"], 7);
    let (_, body) = t
        .post(
            "/api/v1/rpc/agents",
            call("create", json!({"role": 1, "goal": "g"})),
        )
        .await;
    assert_eq!(body["error"]["code"], rpc::INVALID_PARAMS);
    assert_eq!(body["error"]["data"]["field"], "role");
    let (_, body) = t
        .post(
            "/api/v1/rpc/tasks",
            call("create", json!({"agent_id": "ghost", "description": "d"})),
        )
        .await;
    assert_eq!(body["error"]["code"], rpc::UNKNOWN_REFERENCE);
    assert_eq!(body["error"]["data"]["field"], "agent_id");
    let (status, body) = t
        .call_raw(
            Method::POST,
            "/api/v1/rpc/agents",
            Some("application/json"),
            "{not json",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["error"]["code"], rpc::PARSE_ERROR);
    assert!(body["id"].is_null());
    let (_, body) = t.post("/api/v1/rpc/agents", json!([])).await;
    assert_eq!(body["error"]["code"], rpc::INVALID_REQUEST);
    let (status, body) = t
        .post(
            "/api/v1/rpc/agents",
            json!({"jsonrpc": "2.0", "method": "list"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

#[tokio::test]
async fn rpc_tasks_create_get_list_similar() {
    let t = TestApp::new().await;
    let a = t.agent("a", "g").await;
    let call = |method: &str, params, id| json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id});
    let (_, body) = t
        .post(
            "/api/v1/rpc/tasks",
            call(
                "create",
                json!({"agent_id": a, "description": "water the plants"}),
                1,
            ),
        )
        .await;
    let id = body["result"]["id"].as_str().unwrap().to_string();
    let (_, body) = t
        .post(
            "/api/v1/rpc/tasks",
            json!([
                call("get", json!({"id": id}), 2),
                call("list", json!({"agent_id": a}), 3),
                call(
                    "similar",
                    json!({"query": "irrigate the garden", "threshold": 0.3}),
                    4
                ),
            ]),
        )
        .await;
    assert_eq!(body[0]["result"]["description"], "water the plants");
    assert_eq!(body[1]["result"]["total"], 1);
    assert_eq!(body[2]["result"]["results"][0]["id"], id);
}

#[tokio::test]
async fn rpc_batches_are_capped_and_answered_in_order() {
    let t = TestApp::new().await;
    let calls = |n: usize| -> Vec<serde_json::Value> {
        (0..n)
            .map(|i| json!({"jsonrpc": "2.0", "method": "list", "params": {"limit": 1}, "id": i}))
            .collect()
    };
    let (status, body) = t
        .post("/api/v1/rpc/agents", json!(calls(rpc::MAX_BATCH_CALLS + 1)))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["error"]["code"], -32600, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&rpc::MAX_BATCH_CALLS.to_string()),
        "{body}"
    );
    let (status, body) = t
        .post("/api/v1/rpc/agents", json!(calls(rpc::MAX_BATCH_CALLS)))
        .await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<u64> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, (0..rpc::MAX_BATCH_CALLS as u64).collect::<Vec<_>>());
}
