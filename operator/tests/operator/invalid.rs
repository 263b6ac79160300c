//! Specs that cannot be deployed: a condition naming the field, an event,
//! no objects, no crash loop; fixing the spec recovers.

use kube::runtime::controller::Action;
use serde_json::{json, Value};
use vectadb_operator::controller::SECRET_RETRY;
use vectadb_operator::crd::Phase;
use vectadb_operator::status::READY;

use super::{writes, Harness};

/// Reconcile `spec` and return the Ready condition's reason and message,
/// checking that nothing but the finalizer and the status was written.
async fn rejected(name: &str, spec: Value) -> (Harness, String, String) {
    let h = Harness::new(name, spec);
    let action = h.reconcile_past_finalizer().await.unwrap();
    let calls = h.fake.take_calls();
    let written = writes(&calls);
    assert_eq!(
        written,
        [
            format!("PATCH {}", h.path()),
            format!("PATCH {}/status", h.path())
        ],
        "finalizer and status only"
    );
    for kind in ["secrets", "services", "statefulsets", "deployments"] {
        assert!(
            h.names(kind).is_empty(),
            "{kind} created for an invalid spec"
        );
    }
    let ready = h.condition(READY);
    assert_eq!(ready.status, "False");
    let status = h.status();
    let expected_action = if status.phase == Some(Phase::Invalid) {
        Action::await_change()
    } else {
        Action::requeue(SECRET_RETRY)
    };
    assert_eq!(action, expected_action);
    // Reconciling again changes nothing and records no second event.
    let events = h.events().len();
    h.reconcile().await.unwrap();
    assert_eq!(writes(&h.fake.take_calls()), Vec::<String>::new());
    assert_eq!(h.events().len(), events);
    (h, ready.reason, ready.message)
}

#[tokio::test]
async fn each_invalid_spec_names_its_field() {
    let cases = [
        (json!({ "api": { "minReplicas": 5, "maxReplicas": 2 } }),
         "spec.api.minReplicas: 5 exceeds spec.api.maxReplicas (2)"),
        (json!({ "collections": { "vectorSize": 768 } }),
         "spec.collections.vectorSize: 768 does not match sentence-transformers/all-MiniLM-L6-v2 (384-dimensional vectors)"),
        (json!({ "embedding": { "model": "BAAI/bge-large-en" } }),
         "spec.embedding.model: \"BAAI/bge-large-en\" is not a model the API image carries"),
        (json!({ "collections": { "agents": "same", "tasks": "same" } }),
         "spec.collections.tasks: \"same\" is also the agents collection"),
        (json!({ "collections": { "logs": "steps", "thoughts": "steps" } }),
         "spec.collections.thoughts: \"steps\" is also the logs collection; logs and thoughts need a collection each"),
        (json!({ "collections": { "logs": "agents" } }),
         "spec.collections.logs: \"agents\" is also the agents collection"),
        (json!({ "collections": { "thoughts": "a/b" } }),
         "spec.collections.thoughts: \"a/b\" must be 1-255 letters, digits, '-' or '_'"),
        (json!({ "collections": { "agents": "a/b" } }),
         "spec.collections.agents: \"a/b\" must be 1-255 letters, digits, '-' or '_'"),
        (json!({ "surrealdb": { "namespace": "my-ns" } }),
         "spec.surrealdb.namespace: \"my-ns\" must be letters, digits and underscores"),
        (json!({ "qdrant": { "storage": { "size": "10GB" } } }),
         "spec.qdrant.storage.size: \"10GB\" is not a storage size"),
        (json!({ "qdrant": { "replicas": 0 } }),
         "spec.qdrant.replicas: 0 must be at least 1"),
        (json!({ "api": { "targetCPUUtilizationPercentage": 150 } }),
         "spec.api.targetCPUUtilizationPercentage: 150 must be between 1 and 100"),
        (json!({ "api": { "image": " " } }),
         "spec.api.image: must name a container image"),
        (json!({ "auth": { "secret": "Team_Auth" } }),
         "spec.auth.secret: \"Team_Auth\" is not a Secret name (lower-case letters, digits, '-' and '.', at most 253)"),
        (json!({ "auth": { "adminUsername": "the admin" } }),
         "spec.auth.adminUsername: \"the admin\" must be 1-64 characters without spaces or control characters"),
    ];
    for (spec, expected) in cases {
        let (h, reason, message) = rejected("demo", spec.clone()).await;
        assert_eq!(reason, "InvalidSpec", "{spec}");
        assert!(message.starts_with(expected), "{spec}: {message}");
        assert_eq!(h.status().phase, Some(Phase::Invalid));
        let events = h.events();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].0, "Warning");
        assert_eq!(events[0].1, "InvalidSpec");
        assert!(events[0].2.starts_with(expected));
    }
}

#[tokio::test]
async fn every_problem_is_reported_at_once() {
    let (_, _, message) = rejected(
        "demo",
        json!({ "api": { "minReplicas": 0 }, "collections": { "vectorSize": 3 } }),
    )
    .await;
    assert!(message.contains("spec.collections.vectorSize"), "{message}");
    assert!(
        message.contains("spec.api.minReplicas: 0 must be at least 1"),
        "{message}"
    );
}

#[tokio::test]
async fn a_name_too_long_for_its_objects_is_refused() {
    let name = "a-very-long-vectadb-name-that-overflows-dns";
    let (_, _, message) = rejected(name, json!({})).await;
    assert!(
        message.starts_with(&format!(
            "metadata.name: \"{name}\" is 43 characters; at most 40"
        )),
        "{message}"
    );
}

#[tokio::test]
async fn a_missing_credentials_secret_is_named_and_looked_for_again() {
    let (h, reason, message) = rejected(
        "demo",
        json!({ "surrealdb": { "credentialsSecret": "team-db-root" } }),
    )
    .await;
    assert_eq!(reason, "SecretUnavailable");
    assert_eq!(h.status().phase, Some(Phase::Failed));
    assert!(
        message.starts_with("spec.surrealdb.credentialsSecret: Secret \"team-db-root\" not found; create it with key(s) username, password"),
        "{message}"
    );

    // The team creates it: the next look uses it, generating no password.
    h.fake.create(
        &super::collection("secrets"),
        json!({ "apiVersion": "v1", "kind": "Secret",
                "metadata": { "name": "team-db-root" },
                "data": { "username": "YWRtaW4=", "password": "czNjcjN0" } }),
    );
    h.reconcile().await.unwrap();
    assert_eq!(h.status().phase, Some(Phase::Pending));
    assert_eq!(
        h.names("secrets"),
        ["demo-auth", "demo-qdrant-api-key", "team-db-root"]
    );
    let set = h.object("statefulsets", "demo-surrealdb");
    let env = &set["spec"]["template"]["spec"]["containers"][0]["env"];
    assert_eq!(env[3]["valueFrom"]["secretKeyRef"]["name"], "team-db-root");
}

#[tokio::test]
async fn fixing_an_invalid_spec_deploys_it() {
    let (h, _, _) = rejected(
        "demo",
        json!({ "api": { "minReplicas": 5, "maxReplicas": 2 } }),
    )
    .await;
    h.edit_spec(|spec| spec["api"]["maxReplicas"] = json!(8));
    h.reconcile().await.unwrap();
    assert_eq!(h.status().phase, Some(Phase::Pending));
    // Ready no longer names the fixed field.
    let ready = h.condition(READY);
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "PodsStarting")
    );
    assert!(!ready.message.contains("spec.api"), "{}", ready.message);
    assert_eq!(h.names("statefulsets"), ["demo-qdrant", "demo-surrealdb"]);
    assert_eq!(h.status().observed_generation, Some(2));
}
