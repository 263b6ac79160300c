//! What keeps upgrades and spec changes uneventful: nothing immutable or
//! restart-worthy changes with the operator's release, claim templates are
//! never re-sent changed, and a write the API server refuses shows in the
//! status instead of leaving the last good one up.

use http::StatusCode;
use serde_json::{json, Value};
use vectadb_operator::crd::Phase;
use vectadb_operator::names::OPERATOR_VERSION;
use vectadb_operator::status::READY;

use super::{object_path, Harness};

const VERSION_LABEL: &str = "app.kubernetes.io/version";

/// Every labels map in `value`, with where it is.
fn labels(value: &Value, at: String, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                if key == "labels" {
                    out.push((at.clone(), item.clone()));
                }
                labels(item, format!("{at}.{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                labels(item, format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn the_release_is_an_annotation_and_no_template_carries_it() {
    let h = Harness::new("versions", json!({}));
    h.reconcile_past_finalizer().await.unwrap();
    let mut checked = 0;
    for kind in ["statefulsets", "services", "secrets"] {
        for name in h.names(kind) {
            let object = h.object(kind, &name);
            assert_eq!(
                object["metadata"]["annotations"][OPERATOR_VERSION],
                env!("CARGO_PKG_VERSION"),
                "{kind}/{name}"
            );
            let mut found = Vec::new();
            labels(&object, format!("{kind}/{name}"), &mut found);
            assert!(!found.is_empty(), "{kind}/{name} has labels");
            for (at, map) in found {
                assert!(map.get(VERSION_LABEL).is_none(), "{at}: {map}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 6, "{checked} objects");
    let set = h.object("statefulsets", "versions-surrealdb");
    let claims = &set["spec"]["volumeClaimTemplates"][0]["metadata"]["labels"];
    assert_eq!(claims["app.kubernetes.io/instance"], "versions", "{claims}");
}

#[tokio::test]
async fn claim_templates_stay_as_created_when_the_storage_spec_changes() {
    let h = Harness::new("storage", json!({}));
    h.reconcile_past_finalizer().await.unwrap();
    let before = h.object("statefulsets", "storage-qdrant")["spec"]["volumeClaimTemplates"].clone();
    assert!(before.is_array(), "{before}");
    // A StatefulSet made by an older release: its claim template carries
    // the version label, which this release no longer sets.
    let path = object_path("statefulsets", "storage-qdrant");
    h.fake.update(&path, |set| {
        set["spec"]["volumeClaimTemplates"][0]["metadata"]["labels"][VERSION_LABEL] =
            json!("0.0.1");
    });
    let old = h.object("statefulsets", "storage-qdrant")["spec"]["volumeClaimTemplates"].clone();
    h.edit_spec(|spec| spec["qdrant"] = json!({ "storage": { "size": "50Gi" } }));
    h.reconcile().await.unwrap();
    let after = h.object("statefulsets", "storage-qdrant");
    assert_eq!(
        after["spec"]["volumeClaimTemplates"], old,
        "the claim templates were re-sent changed"
    );
    let warned = h
        .events()
        .into_iter()
        .find(|(_, reason, _)| reason == "StorageUnchanged")
        .expect("a StorageUnchanged event");
    assert_eq!(warned.0, "Warning");
    assert!(
        warned.2.contains("50Gi") && warned.2.contains("docs/operator.md"),
        "{warned:?}"
    );
    // The rest of the StatefulSet still follows the spec.
    assert_eq!(
        after["metadata"]["annotations"][OPERATOR_VERSION],
        env!("CARGO_PKG_VERSION")
    );
}

#[tokio::test]
async fn a_refused_apply_turns_ready_false_with_the_servers_message() {
    let h = Harness::new("refused", json!({}));
    h.reconcile_past_finalizer().await.unwrap();
    // Ready as far as the operator knows, then a change the API server
    // refuses (an admission webhook, a quota, an immutable field).
    h.fake.update(&h.path(), |db| {
        db["status"]["phase"] = json!("Ready");
        db["status"]["conditions"] = json!([{
            "type": READY, "status": "True", "reason": "Ready", "message": "all ready",
            "lastTransitionTime": "2026-12-01T00:00:00Z"
        }]);
    });
    let path = object_path("statefulsets", "refused-surrealdb");
    h.fake.refuse(
        "PATCH",
        &path,
        StatusCode::UNPROCESSABLE_ENTITY,
        "StatefulSet.apps \"refused-surrealdb\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than ... are forbidden",
    );
    h.edit_spec(|spec| spec["surrealdb"] = json!({ "image": "surrealdb/surrealdb:v9" }));
    let error = h
        .reconcile()
        .await
        .expect_err("the refused write fails the reconcile");
    assert!(error.to_string().contains("Forbidden"), "{error}");
    let status = h.status();
    assert_eq!(status.phase, Some(Phase::Failed));
    let ready = h.condition(READY);
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "ApplyFailed")
    );
    assert!(ready.message.contains("Forbidden"), "{}", ready.message);
    assert!(
        h.events()
            .iter()
            .any(|(kind, reason, note)| kind == "Warning"
                && reason == "ApplyFailed"
                && note.contains("Forbidden")),
        "{:?}",
        h.events()
    );
}
