//! The operator's `/metrics` and `/health`, and its RBAC role file.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;
use vectadb_operator::metrics::{router, Metrics};

use super::Harness;

/// `(api group, resource, verb)` for every rule in operator/rbac.yaml.
pub fn rbac_rules() -> BTreeSet<(String, String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/rbac.yaml");
    let role: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(role["kind"].as_str(), Some("ClusterRole"));
    let strings = |v: &serde_yaml::Value| -> Vec<String> {
        v.as_sequence()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let mut rules = BTreeSet::new();
    for rule in role["rules"].as_sequence().unwrap() {
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                for verb in strings(&rule["verbs"]) {
                    rules.insert((group.clone(), resource.clone(), verb));
                }
            }
        }
    }
    rules
}

async fn get(metrics: &Arc<Metrics>, path: &str) -> (StatusCode, String) {
    let response = router(metrics.clone())
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn health_says_starting_until_the_controller_watches() {
    let metrics = Arc::new(Metrics::new());
    assert_eq!(
        get(&metrics, "/health").await,
        (StatusCode::SERVICE_UNAVAILABLE, "starting".into())
    );
    metrics.watching.store(true, Ordering::Relaxed);
    assert_eq!(
        get(&metrics, "/health").await,
        (StatusCode::OK, "ok".into())
    );
}

#[tokio::test]
async fn metrics_count_reconciles() {
    let h = Harness::new("demo", json!({}));
    h.reconcile_past_finalizer().await.unwrap();
    let (status, text) = get(&h.metrics, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.contains("vectadb_operator_reconciliations_total{result=\"ok\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("vectadb_operator_reconcile_duration_seconds_count 2"),
        "{text}"
    );
}

#[tokio::test]
async fn the_watch_loop_reconciles_what_it_finds() {
    let h = Harness::new("demo", json!({}));
    let ctx = h.ctx.clone();
    let running =
        tokio::spawn(async move { vectadb_operator::controller::run(ctx, Some(super::NS)).await });
    // The controller lists and watches VectaDBs (and the StatefulSets and
    // Deployments it owns), then reconciles `demo`: finalizer, then objects.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while h.names("statefulsets").len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "nothing reconciled after {} calls",
            h.fake.calls().len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    running.abort();
    assert!(h.metrics.watching.load(Ordering::Relaxed));
    assert_eq!(
        h.resource().metadata.finalizers,
        Some(vec![vectadb_operator::controller::FINALIZER.to_string()])
    );
    assert_eq!(
        h.status().phase,
        Some(vectadb_operator::crd::Phase::Pending)
    );
    let watched: BTreeSet<String> = h
        .fake
        .calls()
        .iter()
        .filter(|c| c.query.contains("watch=true"))
        .map(|c| c.resource().1)
        .collect();
    assert_eq!(
        watched,
        BTreeSet::from([
            "vectadbs".into(),
            "statefulsets".into(),
            "deployments".into()
        ])
    );
    let owned_watch = h
        .fake
        .calls()
        .into_iter()
        .find(|c| c.query.contains("watch=true") && c.path.ends_with("/statefulsets"))
        .unwrap();
    assert!(
        owned_watch
            .query
            .contains("labelSelector=app.kubernetes.io%2Fmanaged-by%3Dvectadb-operator"),
        "{}",
        owned_watch.query
    );
}
