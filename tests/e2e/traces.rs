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

on_both_backends!(a_trace_is_bounded_and_its_cursors_reach_every_task_thought_and_log);

/// Ids of `list` in order.
fn ids(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_string())
        .collect()
}

/// Everything a list of the trace holds: its first page, then every page
/// `more` (a URL without its cursor) gives from `cursor` on, checking that
/// each follow-up page is no longer than `limit`.
async fn follow(
    t: &TestApp,
    first: &serde_json::Value,
    cursor: &serde_json::Value,
    more: &str,
    limit: usize,
) -> Vec<String> {
    let mut all = ids(first);
    let mut cursor = cursor.as_str().map(str::to_string);
    while let Some(at) = cursor {
        let (status, page) = t
            .get(&format!(
                "{more}&limit={limit}&cursor={}",
                vectadb_tests::urlencode(&at)
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page["items"].as_array().unwrap().len() <= limit, "{page}");
        all.extend(ids(&page["items"]));
        cursor = page["next_cursor"].as_str().map(str::to_string);
    }
    all
}

async fn a_trace_is_bounded_and_its_cursors_reach_every_task_thought_and_log(backends: Backends) {
    let t = TestApp::on(backends).await;
    let a = t.agent("deep worker", "many steps").await;
    let mut tasks = Vec::new();
    for n in 0..5 {
        tasks.push(t.task(&a, &format!("task {n}")).await);
    }
    let levels = ["info", "warn", "error"];
    // Task 0: 45 logs whose times interleave across five batches (blocks
    // overlap in time), in three levels (several blocks per batch).
    for batch in 0..5 {
        let logs: Vec<_> = (0..9)
            .map(|j| {
                let i = batch * 9 + j;
                json!({
                    "agent_id": a, "task_id": tasks[0], "level": levels[i % 3],
                    "message": format!("task log {i}"),
                    "timestamp": format!("2026-01-01T00:00:{:02}Z", (i * 17) % 45),
                })
            })
            .collect();
        assert_eq!(
            t.post("/api/v1/logs", json!(logs)).await.0,
            StatusCode::CREATED
        );
    }
    // Task 1: 20 one-log batches, newest first: more blocks than a trace
    // reads at first for a task.
    for i in (0..20).rev() {
        let log = json!([{
            "agent_id": a, "task_id": tasks[1], "message": format!("single {i}"),
            "timestamp": format!("2026-01-01T00:01:{i:02}Z"),
        }]);
        assert_eq!(t.post("/api/v1/logs", log).await.0, StatusCode::CREATED);
    }
    // The agent outside tasks: 30 logs and 7 thoughts; task 0: 7 thoughts.
    let logs: Vec<_> = (0..30)
        .map(|i| {
            json!({
                "agent_id": a, "message": format!("own log {i}"),
                "timestamp": format!("2026-01-01T00:02:{:02}Z", 59 - i),
            })
        })
        .collect();
    assert_eq!(
        t.post("/api/v1/logs", json!(logs)).await.0,
        StatusCode::CREATED
    );
    for i in 0..7 {
        for task in [Some(&tasks[0]), None] {
            let (status, body) = t
                .post(
                    "/api/v1/thoughts",
                    json!({"agent_id": a, "task_id": task, "content": format!("step {i}")}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
    }

    // The whole lists, as the plain listings give them.
    let listed = |query: String| {
        let t = &t;
        async move {
            let (status, page) = t.get(&format!("/api/v1/{query}&limit=1000")).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            ids(&page["items"])
        }
    };
    let task0_logs = listed(format!("logs?task_id={}", tasks[0])).await;
    let task1_logs = listed(format!("logs?task_id={}", tasks[1])).await;
    let task0_thoughts = listed(format!("thoughts?task_id={}", tasks[0])).await;
    assert_eq!(
        (task0_logs.len(), task1_logs.len(), task0_thoughts.len()),
        (45, 20, 7)
    );
    let mut own_logs: Vec<(String, String)> = Vec::new();
    let (_, every) = t
        .get(&format!("/api/v1/logs?agent_id={a}&limit=1000"))
        .await;
    for log in every["items"].as_array().unwrap() {
        if log["task_id"].is_null() {
            own_logs.push((
                log["timestamp"].as_str().unwrap().into(),
                log["id"].as_str().unwrap().into(),
            ));
        }
    }
    let own_logs: Vec<String> = own_logs.into_iter().map(|(_, id)| id).collect();
    assert_eq!(own_logs.len(), 30);

    // Pages of 2 tasks, 3 thoughts and 10 logs (18 for task 1: more than
    // its first blocks hold).
    let trace_url = |cursor: Option<&str>, logs: usize| {
        let mut url =
            format!("/api/v1/traces/{a}?tasks_limit=2&thoughts_per_task=3&logs_per_task={logs}");
        if let Some(cursor) = cursor {
            url.push_str(&format!(
                "&tasks_cursor={}",
                vectadb_tests::urlencode(cursor)
            ));
        }
        url
    };
    let (status, trace) = t.get(&trace_url(None, 10)).await;
    assert_eq!(status, StatusCode::OK, "{trace}");
    assert_eq!(ids(&trace["tasks"]), tasks[..2]);
    let task0 = &trace["tasks"][0];
    assert_eq!(task0["logs"].as_array().unwrap().len(), 10);
    assert_eq!(ids(&task0["logs"]), task0_logs[..10]);
    let more_task_logs = |task: &str| format!("/api/v1/traces/{a}/logs?task_id={task}");
    assert_eq!(
        follow(
            &t,
            &task0["logs"],
            &task0["logs_next_cursor"],
            &more_task_logs(&tasks[0]),
            10
        )
        .await,
        task0_logs
    );
    assert_eq!(ids(&task0["thoughts"]), task0_thoughts[..3]);
    assert_eq!(
        follow(
            &t,
            &task0["thoughts"],
            &task0["thoughts_next_cursor"],
            &format!("/api/v1/traces/{a}/thoughts?task_id={}", tasks[0]),
            3
        )
        .await,
        task0_thoughts
    );
    // The agent's own lists hold nothing of its tasks.
    assert_eq!(ids(&trace["logs"]), own_logs[..10]);
    assert_eq!(
        follow(
            &t,
            &trace["logs"],
            &trace["logs_next_cursor"],
            &format!("/api/v1/traces/{a}/logs?"),
            10
        )
        .await,
        own_logs
    );
    let own_thoughts = follow(
        &t,
        &trace["thoughts"],
        &trace["thoughts_next_cursor"],
        &format!("/api/v1/traces/{a}/thoughts?"),
        3,
    )
    .await;
    assert_eq!(own_thoughts.len(), 7);
    assert!(own_thoughts.iter().all(|id| !task0_thoughts.contains(id)));

    // Task 1 with 18 logs a page: its 20 one-log blocks, oldest first.
    let (_, wide) = t.get(&trace_url(None, 18)).await;
    let task1 = &wide["tasks"][1];
    assert_eq!(ids(&task1["logs"]), task1_logs[..18]);
    assert_eq!(
        follow(
            &t,
            &task1["logs"],
            &task1["logs_next_cursor"],
            &more_task_logs(&tasks[1]),
            18
        )
        .await,
        task1_logs
    );

    // The tasks' cursor reaches the other three, two at a time.
    let mut seen = ids(&trace["tasks"]);
    let mut cursor = trace["tasks_next_cursor"].as_str().map(str::to_string);
    while let Some(at) = cursor {
        let (status, page) = t.get(&trace_url(Some(&at), 10)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page["tasks"].as_array().unwrap().len() <= 2);
        seen.extend(ids(&page["tasks"]));
        cursor = page["tasks_next_cursor"].as_str().map(str::to_string);
    }
    assert_eq!(seen, tasks);

    // Bad shapes and cursors name their field; a task of another agent is
    // refused; an unknown agent is not found.
    let other = t.agent("other", "x").await;
    let foreign = t.task(&other, "not theirs").await;
    for (url, field) in [
        (
            format!("/api/v1/traces/{a}?logs_per_task=0"),
            "logs_per_task",
        ),
        (
            format!("/api/v1/traces/{a}?tasks_limit=1001"),
            "tasks_limit",
        ),
        (
            format!("/api/v1/traces/{a}?thoughts_per_task=0"),
            "thoughts_per_task",
        ),
        (
            format!("/api/v1/traces/{a}?tasks_cursor=nope"),
            "tasks_cursor",
        ),
        (format!("/api/v1/traces/{a}/logs?cursor=nope"), "cursor"),
        (format!("/api/v1/traces/{a}/thoughts?cursor=x"), "cursor"),
        (format!("/api/v1/traces/{a}/logs?limit=0"), "limit"),
        (
            format!("/api/v1/traces/{a}/logs?task_id={foreign}"),
            "task_id",
        ),
    ] {
        let (status, body) = t.get(&url).await;
        assert!(status.is_client_error(), "{url}: {status} {body}");
        assert_eq!(body["error"]["field"], field, "{url}: {body}");
    }
    for url in ["/api/v1/traces/ghost/logs", "/api/v1/traces/ghost/thoughts"] {
        assert_eq!(t.get(url).await.0, StatusCode::NOT_FOUND, "{url}");
    }
}
