//! Deleting a `VectaDB`: the finalizer cleans up per `dataOnDelete`, then
//! lets the resource go.

use serde_json::json;

use super::{collection, writes, Harness, NS};

/// A claim as the StatefulSet controller makes them from the template.
fn claim(h: &Harness, name: &str, instance: &str) {
    h.fake.create(
        &collection("persistentvolumeclaims"),
        json!({ "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": { "name": name, "labels": {
                    "app.kubernetes.io/instance": instance,
                    "app.kubernetes.io/managed-by": "vectadb-operator" } } }),
    );
}

async fn deployed(data_on_delete: &str) -> Harness {
    let h = Harness::new("demo", json!({ "dataOnDelete": data_on_delete }));
    h.reconcile_past_finalizer().await.unwrap();
    claim(&h, "data-demo-surrealdb-0", "demo");
    claim(&h, "data-demo-qdrant-0", "demo");
    claim(&h, "data-other-qdrant-0", "other");
    h.fake.take_calls();
    h
}

#[tokio::test]
async fn delete_removes_the_volume_claims_then_the_finalizer() {
    let h = deployed("Delete").await;
    let set = h.object("statefulsets", "demo-qdrant");
    assert_eq!(
        set["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"],
        "Delete"
    );
    h.delete();
    h.reconcile().await.unwrap();
    let calls = h.fake.take_calls();
    assert_eq!(
        writes(&calls),
        [
            format!("DELETE {}", collection("persistentvolumeclaims")),
            format!("PATCH {}", h.path()),
        ]
    );
    let delete = &calls.iter().find(|c| c.method == "DELETE").unwrap();
    assert!(
        delete.query.contains("labelSelector=app.kubernetes.io%2Finstance%3Ddemo%2Capp.kubernetes.io%2Fmanaged-by%3Dvectadb-operator"),
        "{}",
        delete.query
    );
    assert_eq!(
        h.names("persistentvolumeclaims"),
        ["data-other-qdrant-0"],
        "only this instance's claims"
    );
    assert!(!h.exists(), "finalizer removed, resource gone");
    let (kind, _, note) = h
        .events()
        .into_iter()
        .find(|e| e.1 == "DataDeleted")
        .unwrap();
    assert_eq!(kind, "Normal");
    assert!(note.contains("app.kubernetes.io/instance=demo"), "{note}");
}

#[tokio::test]
async fn retain_keeps_claims_and_detaches_generated_secrets() {
    let h = deployed("Retain").await;
    h.delete();
    h.reconcile().await.unwrap();
    let calls = h.fake.take_calls();
    assert_eq!(
        writes(&calls),
        [
            format!("PATCH {}/demo-surrealdb-credentials", collection("secrets")),
            format!("PATCH {}/demo-qdrant-api-key", collection("secrets")),
            format!("PATCH {}/demo-auth", collection("secrets")),
            format!("PATCH {}", h.path()),
        ]
    );
    assert_eq!(
        h.names("persistentvolumeclaims").len(),
        3,
        "no claim deleted"
    );
    for secret in [
        "demo-surrealdb-credentials",
        "demo-qdrant-api-key",
        "demo-auth",
    ] {
        let secret = h.object("secrets", secret);
        assert!(
            secret["metadata"].get("ownerReferences").is_none(),
            "{secret}"
        );
    }
    assert!(!h.exists());
    let note = h
        .events()
        .into_iter()
        .find(|e| e.1 == "DataRetained")
        .unwrap()
        .2;
    assert!(
        note.contains("demo-surrealdb-credentials, demo-qdrant-api-key, demo-auth"),
        "{note}"
    );

    // The same name again adopts the kept credentials rather than new ones
    // (the admin password too: the data's users still sign in with it).
    let kept = h.object("secrets", "demo-surrealdb-credentials")["data"].clone();
    let kept_auth = h.object("secrets", "demo-auth")["data"].clone();
    let generated = |h: &Harness| {
        h.reasons()
            .iter()
            .filter(|r| *r == "SecretGenerated")
            .count()
    };
    let generated_before = generated(&h);
    h.fake.create(
        &collection("vectadbs"),
        json!({ "apiVersion": "vectadb.io/v1alpha1", "kind": "VectaDB",
                "metadata": { "name": "demo", "namespace": NS }, "spec": {} }),
    );
    h.reconcile_past_finalizer().await.unwrap();
    assert_eq!(
        h.object("secrets", "demo-surrealdb-credentials")["data"],
        kept
    );
    assert_eq!(h.object("secrets", "demo-auth")["data"], kept_auth);
    assert_eq!(generated(&h), generated_before, "nothing generated again");
}

#[tokio::test]
async fn retain_leaves_secrets_the_user_provided_alone() {
    let h = Harness::new(
        "demo",
        json!({ "qdrant": { "apiKeySecret": "qdrant-key" }, "auth": { "secret": "team-auth" } }),
    );
    h.fake.create(
        &collection("secrets"),
        json!({ "apiVersion": "v1", "kind": "Secret",
                "metadata": { "name": "qdrant-key" }, "data": { "api-key": "a2V5" } }),
    );
    super::auth::user_auth_secret(&h, "team-auth");
    h.reconcile_past_finalizer().await.unwrap();
    h.fake.take_calls();
    h.delete();
    h.reconcile().await.unwrap();
    assert_eq!(
        writes(&h.fake.take_calls()),
        [
            format!("PATCH {}/demo-surrealdb-credentials", collection("secrets")),
            format!("PATCH {}", h.path()),
        ]
    );
    assert!(!h.exists());
}

#[tokio::test]
async fn a_resource_deleted_before_its_finalizer_was_added_just_goes() {
    let h = Harness::new("demo", json!({}));
    h.fake.update(&h.path(), |db| {
        db["metadata"]["deletionTimestamp"] = json!("2026-11-28T13:00:00Z");
    });
    h.reconcile().await.unwrap();
    assert_eq!(writes(&h.fake.take_calls()), Vec::<String>::new());
    assert!(h.names("secrets").is_empty());
}
