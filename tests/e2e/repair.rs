//! `repair`: documents without vectors are re-embedded, vectors without
//! documents deleted, and a second run finds nothing.

use std::time::Duration;

use serde_json::json;
use vectadb::vectors::{Collection, VectorPoint};
use vectadb_tests::{Backends, TestApp};

on_both_backends!(repair_restores_missing_vectors_and_drops_orphans);

async fn repair_restores_missing_vectors_and_drops_orphans(backends: Backends) {
    let t = TestApp::on(backends).await;
    let chef = t.agent("pastry chef", "bake croissants").await;
    let other = t.agent("lawyer", "draft contracts").await;
    let task = t.task(&chef, "laminate the dough").await;
    let kept_task = t.task(&other, "review the lease").await;

    // Lose two vectors, plant two orphans.
    t.vectors
        .delete(Collection::Agents, std::slice::from_ref(&chef))
        .await
        .unwrap();
    t.vectors
        .delete(Collection::Tasks, std::slice::from_ref(&task))
        .await
        .unwrap();
    let orphan = |id: &str| VectorPoint {
        id: id.into(),
        vector: vec![0.05; 384],
        agent_id: "nobody".into(),
        ..VectorPoint::default()
    };
    t.vectors
        .upsert(Collection::Agents, vec![orphan("ghost-agent")])
        .await
        .unwrap();
    t.vectors
        .upsert(Collection::Tasks, vec![orphan("ghost-task")])
        .await
        .unwrap();
    let (_, hits) = t
        .post(
            "/api/v1/similar/agents",
            json!({"query": "someone who bakes pastries", "threshold": 0.3}),
        )
        .await;
    assert!(hits["results"].as_array().unwrap().is_empty(), "{hits}");

    let report = t
        .state
        .service
        .repair(Duration::from_millis(10))
        .await
        .unwrap();
    assert_eq!(report.agents_reembedded, vec![chef.clone()]);
    assert_eq!(report.tasks_reembedded, vec![task.clone()]);
    assert_eq!(
        report.agent_vectors_deleted,
        vec!["ghost-agent".to_string()]
    );
    assert_eq!(report.task_vectors_deleted, vec!["ghost-task".to_string()]);

    let (_, hits) = t
        .post(
            "/api/v1/similar/agents",
            json!({"query": "someone who bakes pastries", "threshold": 0.3}),
        )
        .await;
    assert_eq!(hits["results"][0]["id"], chef, "{hits}");
    let (_, hits) = t
        .post("/api/v1/similar/tasks", json!({"query": "fold butter into dough", "threshold": 0.3, "filter": {"agent_id": chef}}))
        .await;
    assert_eq!(hits["results"][0]["id"], task, "{hits}");
    assert_eq!(t.vectors.count(Collection::Agents).await.unwrap(), 2);
    assert_eq!(t.vectors.count(Collection::Tasks).await.unwrap(), 2);
    assert_eq!(
        t.vectors
            .existing(Collection::Tasks, std::slice::from_ref(&kept_task))
            .await
            .unwrap(),
        vec![kept_task]
    );

    let again = t
        .state
        .service
        .repair(Duration::from_millis(10))
        .await
        .unwrap();
    assert!(again.is_clean(), "{again:?}");
}

#[tokio::test]
async fn repair_pages_through_many_documents() {
    let t = TestApp::new().await;
    let agent = t.agent("a", "g").await;
    // More tasks than one page (500), all missing their vectors.
    let tasks: Vec<serde_json::Value> = (0..520)
        .map(|i| json!({"agent_id": agent, "description": format!("task number {i}")}))
        .collect();
    let mut ids = Vec::new();
    for chunk in tasks.chunks(52) {
        let created = futures::future::join_all(
            chunk
                .iter()
                .map(|task| t.post("/api/v1/tasks", task.clone())),
        )
        .await;
        for (status, body) in created {
            assert_eq!(status, 201, "{body}");
            ids.push(body["id"].as_str().unwrap().to_string());
        }
    }
    t.vectors.delete(Collection::Tasks, &ids).await.unwrap();
    assert_eq!(t.vectors.count(Collection::Tasks).await.unwrap(), 0);
    let report = t
        .state
        .service
        .repair(Duration::from_millis(10))
        .await
        .unwrap();
    assert_eq!(report.tasks_reembedded.len(), 520);
    assert_eq!(t.vectors.count(Collection::Tasks).await.unwrap(), 520);
}
