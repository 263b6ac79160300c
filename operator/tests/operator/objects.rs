//! The objects built from specs other than the default: cluster-mode
//! Qdrant, given resources, storage class and Service type; the API's
//! environment against the API's own configuration.

use std::collections::BTreeSet;

use clap::{Args, Command};
use serde_json::{json, Value};
use vectadb_operator::crd::VectaDB;
use vectadb_operator::objects::secrets::Credentials;
use vectadb_operator::objects::{api, qdrant, surrealdb, Cluster};

use super::NS;

fn resource(spec: Value) -> VectaDB {
    serde_json::from_value(json!({
        "apiVersion": "vectadb.io/v1alpha1", "kind": "VectaDB",
        "metadata": { "name": "demo", "namespace": NS, "uid": "uid-1" },
        "spec": spec,
    }))
    .unwrap()
}

fn credentials() -> Credentials {
    Credentials {
        surreal_secret: "s".into(),
        surreal_user: "root".into(),
        surreal_pass: "p".into(),
        qdrant_secret: "q".into(),
        qdrant_api_key: "k".into(),
        auth_secret: "a".into(),
    }
}

fn json_of<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap()
}

#[test]
fn qdrant_above_one_replica_runs_as_a_cluster() {
    let db = resource(json!({ "qdrant": { "replicas": 3 } }));
    let set = json_of(&qdrant::stateful_set_for(
        &db,
        &credentials(),
        &Cluster::default(),
    ));
    assert_eq!(set["spec"]["replicas"], 3);
    assert_eq!(set["spec"]["podManagementPolicy"], "Parallel");
    let container = &set["spec"]["template"]["spec"]["containers"][0];
    let env = container["env"].as_array().unwrap();
    assert!(env.contains(&json!({ "name": "QDRANT__CLUSTER__ENABLED", "value": "true" })));
    assert!(env.contains(&json!({ "name": "POD_NAME", "valueFrom": { "fieldRef": { "fieldPath": "metadata.name" } } })));
    assert_eq!(container["command"], json!(["/bin/bash", "-c"]));
    let script = container["args"][0].as_str().unwrap();
    let headless = "demo-qdrant-headless.team-a.svc.cluster.local";
    assert!(
        script.contains(&format!("uri=\"http://${{POD_NAME}}.{headless}:6335\"")),
        "{script}"
    );
    assert!(
        script.contains(&format!(
            "--bootstrap \"http://demo-qdrant-0.{headless}:6335\""
        )),
        "{script}"
    );
    assert!(
        script.contains("if [ \"${POD_NAME##*-}\" = 0 ]; then exec ./entrypoint.sh --uri \"$uri\""),
        "{script}"
    );
}

#[test]
fn given_resources_storage_class_and_service_type_are_used() {
    let resources =
        json!({ "requests": { "cpu": "2", "memory": "4Gi" }, "limits": { "memory": "8Gi" } });
    let db = resource(json!({
        "surrealdb": { "storage": { "size": "50Gi", "storageClassName": "fast-ssd" }, "resources": resources },
        "api": { "serviceType": "LoadBalancer", "resources": resources, "image": "registry.local/vectadb:1" },
    }));
    let set = json_of(&surrealdb::stateful_set_for(&db, &credentials()));
    let claim = &set["spec"]["volumeClaimTemplates"][0]["spec"];
    assert_eq!(claim["storageClassName"], "fast-ssd");
    assert_eq!(claim["resources"]["requests"]["storage"], "50Gi");
    assert_eq!(
        set["spec"]["template"]["spec"]["containers"][0]["resources"],
        resources
    );
    let deployment = json_of(&api::deployment(&db, &credentials(), &Cluster::default()));
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["resources"], resources);
    assert_eq!(container["image"], "registry.local/vectadb:1");
    assert_eq!(
        json_of(&api::api_service(&db))["spec"]["type"],
        "LoadBalancer"
    );
}

#[test]
fn a_cluster_domain_other_than_cluster_local_is_used_in_urls() {
    let db = resource(json!({}));
    let cluster = Cluster {
        domain: "corp.internal".into(),
    };
    let env = api::environment(&db, &credentials(), &cluster);
    let url = env.iter().find(|e| e.name == "SURREAL_URL").unwrap();
    assert_eq!(
        url.value.as_deref(),
        Some("ws://demo-surrealdb.team-a.svc.corp.internal:8000")
    );
}

/// The environment variables `vectadb serve` reads.
fn api_settings() -> BTreeSet<String> {
    vectadb::config::Config::augment_args(Command::new("vectadb"))
        .get_arguments()
        .filter_map(|a| a.get_env().map(|e| e.to_string_lossy().into_owned()))
        .collect()
}

#[test]
fn the_api_environment_is_the_api_configuration() {
    let settings = api_settings();
    assert!(settings.contains("SURREAL_URL"), "{settings:?}");
    let env = api::environment(&resource(json!({})), &credentials(), &Cluster::default());
    let names: Vec<&str> = env.iter().map(|e| e.name.as_str()).collect();
    for name in &names {
        assert!(
            settings.contains(*name) || *name == "RUST_LOG",
            "{name} is not a VectaDB setting"
        );
    }
    // What remote mode cannot run without, and what must not default to
    // the embedded/loopback values.
    for required in [
        "SERVER_HOST",
        "SURREAL_URL",
        "SURREAL_USER",
        "SURREAL_PASS",
        "QDRANT_URL",
        "QDRANT_API_KEY",
        "SURREAL_NAMESPACE",
        "SURREAL_DATABASE",
        "QDRANT_AGENT_COLLECTION",
        "QDRANT_TASK_COLLECTION",
        "QDRANT_LOG_COLLECTION",
        "QDRANT_THOUGHT_COLLECTION",
        "EMBEDDING_DIM",
        // Without a user the API would listen on loopback only.
        "ADMIN_USERNAME",
        "ADMIN_PASSWORD",
        // Shared by every replica, so a session is good on any pod.
        "JWT_SECRET",
    ] {
        assert!(names.contains(&required), "{required} not set");
    }
    // Trusting X-Forwarded-For is opt-in (spec.auth.trustForwardedFor).
    assert!(settings.contains("TRUST_FORWARDED_FOR"), "{settings:?}");
    assert!(!names.contains(&"TRUST_FORWARDED_FOR"));
}

#[test]
fn the_admin_username_and_forwarded_for_come_from_the_auth_spec() {
    let db = resource(json!({ "auth": { "adminUsername": "ops", "trustForwardedFor": true } }));
    let env = json_of(&api::environment(&db, &credentials(), &Cluster::default()));
    let env = env.as_array().unwrap();
    let at = |name: &str| env.iter().position(|e| e["name"] == name).unwrap();
    assert_eq!(
        env[at("ADMIN_USERNAME")],
        json!({ "name": "ADMIN_USERNAME", "value": "ops" })
    );
    assert_eq!(
        env[at("ADMIN_PASSWORD")]["valueFrom"]["secretKeyRef"],
        json!({ "name": "a", "key": "admin-password", "optional": false })
    );
    assert_eq!(
        env[at("JWT_SECRET")]["valueFrom"]["secretKeyRef"],
        json!({ "name": "a", "key": "jwt-secret", "optional": false })
    );
    assert_eq!(
        env[at("TRUST_FORWARDED_FOR")],
        json!({ "name": "TRUST_FORWARDED_FOR", "value": "true" })
    );
}
