use axum::http::StatusCode;
use serde_json::{json, Value};
use vectadb_tests::{Backends, TestApp};

on_both_backends!(
    similar_agents_ranks_by_meaning,
    similar_tasks_honours_filters,
    similar_rejects_bad_parameters
);

const AGENTS: [(&str, &str, &str); 12] = [
    (
        "researcher",
        "analyze data patterns",
        "machine learning, statistics",
    ),
    (
        "chef",
        "cook seasonal menus for a restaurant",
        "baking, sauces",
    ),
    (
        "lawyer",
        "draft and review commercial contracts",
        "contract law, negotiation",
    ),
    (
        "plumber",
        "repair leaking pipes and install boilers",
        "pipe fitting, heating",
    ),
    ("poet", "write sonnets about the sea", "rhyme, metre"),
    (
        "accountant",
        "prepare quarterly tax returns",
        "bookkeeping, tax law",
    ),
    (
        "pilot",
        "fly passenger jets safely",
        "navigation, aircraft systems",
    ),
    (
        "gardener",
        "tend roses and vegetable beds",
        "pruning, composting",
    ),
    (
        "nurse",
        "care for patients on a hospital ward",
        "triage, medication",
    ),
    (
        "journalist",
        "report on local politics",
        "interviewing, fact checking",
    ),
    ("musician", "compose film scores", "orchestration, piano"),
    (
        "carpenter",
        "build oak furniture by hand",
        "joinery, woodturning",
    ),
];

async fn seed(t: &TestApp) -> Vec<String> {
    let mut ids = Vec::new();
    for (role, goal, skills) in AGENTS {
        let skills: Vec<&str> = skills.split(", ").collect();
        let (status, body) = t
            .post(
                "/api/v1/agents",
                json!({"role": role, "goal": goal, "metadata": {"skills": skills}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    ids
}

fn results(body: &Value) -> &Vec<Value> {
    body["results"].as_array().expect("results array")
}

async fn similar_agents_ranks_by_meaning(backends: Backends) {
    let t = TestApp::on(backends).await;
    let ids = seed(&t).await;
    let threshold = t.config.similarity_threshold as f64;

    let (status, body) = t
        .post(
            "/api/v1/similar/agents",
            json!({"query": "data scientist with ML skills"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let hits = results(&body);
    assert!(!hits.is_empty(), "{body}");
    assert_eq!(hits[0]["id"], ids[0], "ML researcher first: {body}");
    assert_eq!(hits[0]["role"], "researcher");
    assert!(hits[0]["similarity"].as_f64().unwrap() >= threshold);
    // Every hit is over the threshold and in descending order.
    let scores: Vec<f64> = hits
        .iter()
        .map(|h| h["similarity"].as_f64().unwrap())
        .collect();
    assert!(scores.iter().all(|s| *s >= threshold));
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    // Something no agent is about finds nothing over 0.65.
    let (_, body) = t
        .post(
            "/api/v1/similar/agents",
            json!({"query": "tide tables for the harbour next week", "threshold": 0.65}),
        )
        .await;
    assert!(results(&body).is_empty(), "{body}");

    // Threshold and limit are honoured.
    let (_, body) = t
        .post(
            "/api/v1/similar/agents",
            json!({"query": "someone who cooks food", "threshold": -1.0, "limit": 3}),
        )
        .await;
    let hits = results(&body);
    assert_eq!(hits.len(), 3);
    assert_eq!(hits[0]["role"], "chef");
    let (_, body) = t
        .post(
            "/api/v1/similar/agents",
            json!({"query": "someone who cooks food", "threshold": -1.0, "limit": 100}),
        )
        .await;
    assert_eq!(results(&body).len(), 12);
    let (_, body) = t
        .post(
            "/api/v1/similar/agents",
            json!({"query": "someone who cooks food", "threshold": 0.99}),
        )
        .await;
    assert!(results(&body).is_empty());
}

async fn similar_tasks_honours_filters(backends: Backends) {
    let t = TestApp::on(backends).await;
    let a = t.agent("a", "g").await;
    let b = t.agent("b", "g").await;
    let mine = t.task(&a, "fix the login bug in the web app").await;
    let theirs = t
        .task(&b, "fix the authentication bug on the website")
        .await;
    let cake = t.task(&a, "bake a chocolate cake").await;
    t.patch(
        &format!("/api/v1/tasks/{theirs}"),
        json!({"status": "completed"}),
    )
    .await;

    let query = "repair a sign-in problem on our site";
    let (status, body) = t
        .post(
            "/api/v1/similar/tasks",
            json!({"query": query, "threshold": 0.3}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ids: Vec<&str> = results(&body)
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&mine.as_str()) && ids.contains(&theirs.as_str()),
        "{body}"
    );
    assert!(!ids.contains(&cake.as_str()), "{body}");

    let (_, body) = t
        .post(
            "/api/v1/similar/tasks",
            json!({"query": query, "threshold": -1, "filter": {"agent_id": a}}),
        )
        .await;
    let ids: Vec<&str> = results(&body)
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [mine.as_str(), cake.as_str()]);

    let (_, body) = t
        .post(
            "/api/v1/similar/tasks",
            json!({"query": query, "threshold": -1, "filter": {"status": "completed"}}),
        )
        .await;
    let hits = results(&body);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["id"], theirs);
    assert_eq!(hits[0]["status"], "completed");
    assert!(hits[0]["description"].is_string());
}

async fn similar_rejects_bad_parameters(backends: Backends) {
    let t = TestApp::on(backends).await;
    for (body, field) in [
        (json!({"query": ""}), "query"),
        (json!({"query": "x", "limit": 0}), "limit"),
        (json!({"query": "x", "limit": 101}), "limit"),
        (json!({"query": "x", "threshold": 1.5}), "threshold"),
        (json!({"query": "x", "threshold": "high"}), "threshold"),
        (json!({"limit": 3}), "query"),
    ] {
        let (status, err) = t.post("/api/v1/similar/agents", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(err["error"]["field"], field, "{body} → {err}");
    }
    let (status, err) = t
        .post(
            "/api/v1/similar/tasks",
            json!({"query": "x", "filter": {"status": "done"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "filter.status");
}
