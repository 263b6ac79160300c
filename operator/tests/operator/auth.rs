//! The API's credentials: the generated `<name>-auth` Secret, a Secret the
//! user provides (used as is), and one that is missing or unusable; the
//! API Deployment reads them from whichever it is.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::ByteString;
use kube::runtime::controller::Action;
use serde_json::{json, Value};
use vectadb_operator::controller::SECRET_RETRY;
use vectadb_operator::crd::Phase;
use vectadb_operator::status::READY;

use super::{collection, object_path, writes, Harness, NS};

/// Create the Secret a user would name in `spec.auth.secret`.
pub fn user_auth_secret(h: &Harness, name: &str) {
    secret_with(
        h,
        name,
        &[
            ("admin-password", "correct horse battery staple"),
            (
                "jwt-secret",
                "a-session-signing-key-the-team-made-of-48-bytes!!",
            ),
        ],
    );
}

fn secret_with(h: &Harness, name: &str, data: &[(&str, &str)]) {
    let secret = Secret {
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                .collect(),
        ),
        ..Secret::default()
    };
    let mut secret = serde_json::to_value(secret).unwrap();
    secret["apiVersion"] = json!("v1");
    secret["kind"] = json!("Secret");
    secret["metadata"] = json!({ "name": name });
    h.fake.create(&collection("secrets"), secret);
}

/// A Secret's keys and values, decoded.
fn decoded(h: &Harness, name: &str) -> BTreeMap<String, String> {
    let secret: Secret = serde_json::from_value(h.object("secrets", name)).unwrap();
    secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8(v.0).unwrap()))
        .collect()
}

/// The API container's environment, by name.
fn api_env(h: &Harness) -> BTreeMap<String, Value> {
    let deployment = h.object("deployments", "demo-api");
    deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap().to_string(), e.clone()))
        .collect()
}

fn secret_ref(name: &str, secret: &str, key: &str) -> Value {
    json!({ "name": name, "valueFrom": { "secretKeyRef": { "name": secret, "key": key, "optional": false } } })
}

#[tokio::test]
async fn a_generated_auth_secret_holds_a_random_admin_password_and_session_key() {
    let h = Harness::new("demo", json!({}));
    h.already_provisioned();
    h.reconcile_past_finalizer().await.unwrap();

    let secret = h.object("secrets", "demo-auth");
    assert_eq!(secret["type"], "Opaque");
    assert_eq!(
        secret["metadata"]["ownerReferences"],
        json!([{ "apiVersion": "vectadb.io/v1alpha1", "kind": "VectaDB", "name": "demo",
                 "uid": "uid-1", "controller": true }])
    );
    let labels = &secret["metadata"]["labels"];
    assert_eq!(labels["app.kubernetes.io/instance"], "demo");
    assert_eq!(labels["app.kubernetes.io/component"], "api");
    assert_eq!(labels["app.kubernetes.io/managed-by"], "vectadb-operator");
    assert_eq!(secret["metadata"]["namespace"], NS);
    let data = decoded(&h, "demo-auth");
    assert_eq!(
        data.keys().collect::<Vec<_>>(),
        ["admin-password", "jwt-secret"]
    );
    for value in data.values() {
        assert_eq!(value.len(), 32, "{value}");
        assert!(value.chars().all(|c| c.is_ascii_alphanumeric()), "{value}");
    }
    assert_ne!(data["admin-password"], data["jwt-secret"]);
    let others = [
        decoded(&h, "demo-surrealdb-credentials")["password"].clone(),
        decoded(&h, "demo-qdrant-api-key")["api-key"].clone(),
    ];
    assert!(data.values().all(|v| !others.contains(v)));
    assert!(h.events().contains(&(
        "Normal".into(),
        "SecretGenerated".into(),
        "Generated Secret demo-auth".into()
    )));
    assert_eq!(h.status().auth_secret.as_deref(), Some("demo-auth"));

    // The API reads both from it.
    let env = api_env(&h);
    assert_eq!(
        env["ADMIN_USERNAME"],
        json!({ "name": "ADMIN_USERNAME", "value": "admin" })
    );
    assert_eq!(
        env["ADMIN_PASSWORD"],
        secret_ref("ADMIN_PASSWORD", "demo-auth", "admin-password")
    );
    assert_eq!(
        env["JWT_SECRET"],
        secret_ref("JWT_SECRET", "demo-auth", "jwt-secret")
    );
    assert!(!env.contains_key("TRUST_FORWARDED_FOR"));
    assert!(
        !env.keys().any(|k| k.starts_with("RETENTION_")),
        "kept forever by default"
    );

    // Never rotated: later reconciles leave it alone.
    h.fake.take_calls();
    h.reconcile().await.unwrap();
    let calls = h.fake.take_calls();
    assert!(
        writes(&calls).iter().all(|w| !w.contains("/secrets/")),
        "{:?}",
        writes(&calls)
    );
    assert_eq!(decoded(&h, "demo-auth"), data);

    // Another resource gets values of its own.
    let other = Harness::new("demo", json!({}));
    other.reconcile_past_finalizer().await.unwrap();
    let other_data = decoded(&other, "demo-auth");
    assert_ne!(other_data["admin-password"], data["admin-password"]);
    assert_ne!(other_data["jwt-secret"], data["jwt-secret"]);
}

#[tokio::test]
async fn a_user_auth_secret_is_used_as_is() {
    let h = Harness::new(
        "demo",
        json!({
            "auth": { "secret": "team-auth", "adminUsername": "ops", "trustForwardedFor": true },
            "retention": { "logs": "30d", "tasks": "12w" },
        }),
    );
    user_auth_secret(&h, "team-auth");
    let before = h.object("secrets", "team-auth");
    h.already_provisioned();
    h.fake.take_calls();
    h.reconcile_past_finalizer().await.unwrap();

    let calls = h.fake.take_calls();
    let secret_path = object_path("secrets", "team-auth");
    assert!(
        calls
            .iter()
            .all(|c| !(c.is_write() && c.path == secret_path)),
        "{:?}",
        writes(&calls)
    );
    assert_eq!(h.object("secrets", "team-auth"), before, "not touched");
    assert_eq!(
        h.names("secrets"),
        [
            "demo-qdrant-api-key",
            "demo-surrealdb-credentials",
            "team-auth"
        ],
        "nothing generated for the API"
    );
    assert!(!h.events().iter().any(|e| e.2.contains("team-auth")));
    assert_eq!(h.status().auth_secret.as_deref(), Some("team-auth"));

    let env = api_env(&h);
    assert_eq!(
        env["ADMIN_USERNAME"],
        json!({ "name": "ADMIN_USERNAME", "value": "ops" })
    );
    assert_eq!(
        env["ADMIN_PASSWORD"],
        secret_ref("ADMIN_PASSWORD", "team-auth", "admin-password")
    );
    assert_eq!(
        env["JWT_SECRET"],
        secret_ref("JWT_SECRET", "team-auth", "jwt-secret")
    );
    assert_eq!(
        env["TRUST_FORWARDED_FOR"],
        json!({ "name": "TRUST_FORWARDED_FOR", "value": "true" })
    );
    // Retention windows reach the API as its settings; unset ones do not.
    assert_eq!(
        env["RETENTION_LOGS"],
        json!({ "name": "RETENTION_LOGS", "value": "30d" })
    );
    assert_eq!(
        env["RETENTION_TASKS"],
        json!({ "name": "RETENTION_TASKS", "value": "12w" })
    );
    assert!(!env.contains_key("RETENTION_THOUGHTS"));
}

/// Reconcile a resource whose auth Secret is unusable: phase Failed, the
/// Ready condition and a Warning event say why, no workload is created,
/// and the Secret is looked for again. Returns the Ready message.
async fn refused(h: &Harness) -> String {
    let action = h.reconcile_past_finalizer().await.unwrap();
    assert_eq!(action, Action::requeue(SECRET_RETRY));
    let status = h.status();
    assert_eq!(status.phase, Some(Phase::Failed));
    let ready = h.condition(READY);
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "SecretUnavailable")
    );
    for kind in ["statefulsets", "deployments"] {
        assert!(h.names(kind).is_empty(), "{kind} created");
    }
    assert!(h
        .events()
        .iter()
        .any(|e| e.0 == "Warning" && e.1 == "SecretUnavailable" && e.2 == ready.message));
    ready.message
}

#[tokio::test]
async fn a_missing_auth_secret_is_named_and_looked_for_again() {
    let h = Harness::new("demo", json!({ "auth": { "secret": "team-auth" } }));
    let message = refused(&h).await;
    assert_eq!(
        message,
        "spec.auth.secret: Secret \"team-auth\" not found; create it with key(s) admin-password, jwt-secret, or remove the field to have credentials generated"
    );
    assert!(
        !h.names("secrets").contains(&"demo-auth".to_string()),
        "a named Secret is never generated"
    );

    // The team creates it: the next look uses it.
    user_auth_secret(&h, "team-auth");
    h.reconcile().await.unwrap();
    assert_eq!(h.status().phase, Some(Phase::Pending));
    let ready = h.condition(READY);
    assert_eq!(ready.reason, "PodsStarting", "the Secret's problem is gone");
    assert!(!ready.message.contains("team-auth"), "{}", ready.message);
    assert_eq!(h.status().auth_secret.as_deref(), Some("team-auth"));
    assert_eq!(h.names("statefulsets"), ["demo-qdrant", "demo-surrealdb"]);
}

#[tokio::test]
async fn an_auth_secret_without_a_usable_session_key_is_refused() {
    let h = Harness::new("demo", json!({ "auth": { "secret": "team-auth" } }));
    secret_with(&h, "team-auth", &[("admin-password", "s3cret")]);
    assert_eq!(
        refused(&h).await,
        "spec.auth.secret: Secret \"team-auth\" has no (or an empty) key \"jwt-secret\""
    );

    // The API would refuse a key shorter than 32 bytes: so does the operator.
    h.fake
        .update(&object_path("secrets", "team-auth"), |secret| {
            secret["data"]["jwt-secret"] = json!("dG9vLXNob3J0"); // "too-short"
        });
    h.reconcile().await.unwrap();
    assert_eq!(h.status().phase, Some(Phase::Failed));
    assert_eq!(
        h.condition(READY).message,
        "spec.auth.secret: key \"jwt-secret\" of Secret \"team-auth\" is 9 bytes; the API needs at least 32 (e.g. `openssl rand -base64 48`)"
    );
    assert!(h.names("statefulsets").is_empty());
}
