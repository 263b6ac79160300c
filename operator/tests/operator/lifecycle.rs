//! A new resource all the way to Ready against real SurrealDB and Qdrant
//! servers, then unchanged and changed specs; provisioning failures.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::runtime::controller::Action;
use serde_json::{json, Value};
use vectadb::app::provision_servers;
use vectadb::store::schema::SCHEMA_VERSION;
use vectadb::store::surreal::SurrealStore;
use vectadb_operator::controller::{self, Backoff};
use vectadb_operator::crd::Phase;
use vectadb_operator::error::Error;
use vectadb_operator::provision::Endpoints;
use vectadb_operator::status::{
    API_READY, QDRANT_READY, READY, SCHEMA_PROVISIONED, SURREALDB_READY,
};
use vectadb_tests::qdrant_server::QdrantServer;
use vectadb_tests::surreal_server::SurrealServer;

use super::{object_path, writes, Harness, NS};

/// A generated secret's value.
fn secret_value(h: &Harness, name: &str, key: &str) -> String {
    let secret: Secret = serde_json::from_value(h.object("secrets", name)).unwrap();
    String::from_utf8(secret.data.unwrap()[key].0.clone()).unwrap()
}

/// Servers started with the credentials the operator generated, as the
/// pods would be.
async fn servers_for(h: &Harness) -> (SurrealServer, QdrantServer) {
    let password = secret_value(h, "demo-surrealdb-credentials", "password");
    let user = secret_value(h, "demo-surrealdb-credentials", "username");
    let key = secret_value(h, "demo-qdrant-api-key", "api-key");
    assert_eq!(user, "root");
    assert_eq!(password.len(), 32);
    assert_eq!(key.len(), 32);
    assert_ne!(password, key);
    (
        SurrealServer::start_with_credentials(&user, &password).await,
        QdrantServer::start_with_api_key(&key).await,
    )
}

fn owner_reference() -> Value {
    json!([{
        "apiVersion": "vectadb.io/v1alpha1", "kind": "VectaDB", "name": "demo",
        "uid": "uid-1", "controller": true
    }])
}

/// Every owned object: the owner reference, the common labels, the
/// applied-config hash.
fn assert_owned(object: &Value, component: &str) {
    let meta = &object["metadata"];
    assert_eq!(meta["ownerReferences"], owner_reference(), "{meta}");
    assert_eq!(meta["namespace"], NS);
    let labels = &meta["labels"];
    assert_eq!(labels["app.kubernetes.io/name"], "vectadb", "{meta}");
    assert_eq!(labels["app.kubernetes.io/instance"], "demo");
    assert_eq!(labels["app.kubernetes.io/component"], component);
    assert_eq!(labels["app.kubernetes.io/managed-by"], "vectadb-operator");
    assert_eq!(labels["app.kubernetes.io/part-of"], "vectadb");
    if object["kind"] != "Secret" {
        // Generated Secrets are written once, never re-applied.
        assert!(
            meta["annotations"]["vectadb.io/config-hash"].is_string(),
            "{meta}"
        );
    }
}

fn selector(component: &str) -> Value {
    json!({
        "app.kubernetes.io/instance": "demo",
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/name": "vectadb",
    })
}

fn secret_ref(name: &str, secret: &str, key: &str) -> Value {
    json!({ "name": name, "valueFrom": { "secretKeyRef": { "name": secret, "key": key, "optional": false } } })
}

fn check_backend_objects(h: &Harness) {
    assert_eq!(
        h.names("secrets"),
        [
            "demo-auth",
            "demo-qdrant-api-key",
            "demo-surrealdb-credentials"
        ]
    );
    assert_eq!(
        h.names("services"),
        [
            "demo-qdrant",
            "demo-qdrant-headless",
            "demo-surrealdb",
            "demo-surrealdb-headless"
        ]
    );
    assert_eq!(h.names("statefulsets"), ["demo-qdrant", "demo-surrealdb"]);
    for name in ["demo-surrealdb", "demo-surrealdb-headless"] {
        assert_owned(&h.object("services", name), "surrealdb");
    }
    for name in ["demo-qdrant", "demo-qdrant-headless"] {
        assert_owned(&h.object("services", name), "qdrant");
    }
    assert_owned(
        &h.object("secrets", "demo-surrealdb-credentials"),
        "surrealdb",
    );
    assert_owned(&h.object("secrets", "demo-qdrant-api-key"), "qdrant");
    assert_owned(&h.object("secrets", "demo-auth"), "api");

    let headless = h.object("services", "demo-qdrant-headless");
    assert_eq!(headless["spec"]["clusterIP"], "None");
    assert_eq!(headless["spec"]["publishNotReadyAddresses"], true);
    assert_eq!(headless["spec"]["selector"], selector("qdrant"));
    let ports: Vec<(String, i64)> = headless["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().into(),
                p["port"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ports,
        [
            ("http".into(), 6333),
            ("grpc".into(), 6334),
            ("p2p".into(), 6335)
        ]
    );
    let client = h.object("services", "demo-surrealdb");
    assert_eq!(client["spec"]["type"], "ClusterIP");
    assert!(client["spec"].get("clusterIP").is_none());
    assert_eq!(client["spec"]["ports"][0]["port"], 8000);

    let surreal = h.object("statefulsets", "demo-surrealdb");
    assert_owned(&surreal, "surrealdb");
    let spec = &surreal["spec"];
    assert_eq!(spec["replicas"], 1);
    assert_eq!(spec["serviceName"], "demo-surrealdb-headless");
    assert_eq!(spec["selector"]["matchLabels"], selector("surrealdb"));
    assert_eq!(
        spec["persistentVolumeClaimRetentionPolicy"],
        json!({ "whenDeleted": "Retain", "whenScaled": "Retain" })
    );
    let claim = &spec["volumeClaimTemplates"][0];
    assert_eq!(claim["metadata"]["name"], "data");
    assert_eq!(
        claim["metadata"]["labels"]["app.kubernetes.io/instance"],
        "demo"
    );
    assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "10Gi");
    assert_eq!(claim["spec"]["accessModes"], json!(["ReadWriteOnce"]));
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["fsGroup"], 65532);
    assert_eq!(
        pod["containers"][0],
        json!({
            "name": "surrealdb",
            "image": "surrealdb/surrealdb:v3.3.5",
            "args": ["start"],
            "env": [
                { "name": "SURREAL_BIND", "value": "0.0.0.0:8000" },
                { "name": "SURREAL_PATH", "value": "surrealkv:///data/surreal" },
                { "name": "SURREAL_LOG", "value": "info" },
                secret_ref("SURREAL_USER", "demo-surrealdb-credentials", "username"),
                secret_ref("SURREAL_PASS", "demo-surrealdb-credentials", "password"),
            ],
            "ports": [{ "name": "surrealdb", "containerPort": 8000, "protocol": "TCP" }],
            "readinessProbe": {
                "httpGet": { "path": "/health", "port": "surrealdb" },
                "periodSeconds": 5, "failureThreshold": 3, "timeoutSeconds": 3
            },
            "livenessProbe": {
                "httpGet": { "path": "/health", "port": "surrealdb" },
                "periodSeconds": 10, "failureThreshold": 6, "timeoutSeconds": 3
            },
            "resources": {
                "requests": { "cpu": "250m", "memory": "512Mi" },
                "limits": { "memory": "2Gi" }
            },
            "securityContext": {
                "allowPrivilegeEscalation": false,
                "readOnlyRootFilesystem": true,
                "capabilities": { "drop": ["ALL"] }
            },
            "volumeMounts": [
                { "name": "data", "mountPath": "/data" },
                { "name": "tmp", "mountPath": "/tmp" }
            ],
        })
    );
    assert_eq!(pod["volumes"], json!([{ "name": "tmp", "emptyDir": {} }]));

    let qdrant = h.object("statefulsets", "demo-qdrant");
    assert_owned(&qdrant, "qdrant");
    let container = &qdrant["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "qdrant/qdrant:v1.18.0");
    assert_eq!(
        container["env"],
        json!([
            { "name": "QDRANT__STORAGE__STORAGE_PATH", "value": "/qdrant/storage" },
            { "name": "QDRANT__TELEMETRY_DISABLED", "value": "true" },
            secret_ref("QDRANT__SERVICE__API_KEY", "demo-qdrant-api-key", "api-key"),
        ])
    );
    assert!(
        container.get("command").is_none(),
        "one node: no cluster mode"
    );
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/livez");
    assert_eq!(
        container["volumeMounts"],
        json!([{ "name": "data", "mountPath": "/qdrant/storage" }])
    );
}

fn check_api_objects(h: &Harness) {
    let deployment = h.object("deployments", "demo-api");
    assert_owned(&deployment, "api");
    let spec = &deployment["spec"];
    assert!(
        spec.get("replicas").is_none(),
        "the HPA owns the replica count"
    );
    assert_eq!(spec["selector"]["matchLabels"], selector("api"));
    assert_eq!(
        spec["strategy"],
        json!({ "type": "RollingUpdate", "rollingUpdate": { "maxSurge": 1, "maxUnavailable": 0 } })
    );
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], false);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], 10001);
    let container = &pod["containers"][0];
    assert_eq!(
        container["image"],
        format!("vectadb/vectadb:{}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(container["args"], json!(["serve"]));
    assert_eq!(
        container["env"],
        json!([
            { "name": "SERVER_HOST", "value": "0.0.0.0" },
            { "name": "SERVER_PORT", "value": "8080" },
            { "name": "OTLP_GRPC_PORT", "value": "4317" },
            { "name": "SURREAL_URL", "value": "ws://demo-surrealdb.team-a.svc.cluster.local:8000" },
            { "name": "SURREAL_NAMESPACE", "value": "vectadb" },
            { "name": "SURREAL_DATABASE", "value": "main" },
            secret_ref("SURREAL_USER", "demo-surrealdb-credentials", "username"),
            secret_ref("SURREAL_PASS", "demo-surrealdb-credentials", "password"),
            { "name": "QDRANT_URL", "value": "http://demo-qdrant.team-a.svc.cluster.local:6334" },
            secret_ref("QDRANT_API_KEY", "demo-qdrant-api-key", "api-key"),
            { "name": "QDRANT_AGENT_COLLECTION", "value": "agents" },
            { "name": "QDRANT_TASK_COLLECTION", "value": "tasks" },
            { "name": "QDRANT_LOG_COLLECTION", "value": "logs" },
            { "name": "QDRANT_THOUGHT_COLLECTION", "value": "thoughts" },
            { "name": "EMBEDDING_MODEL", "value": "sentence-transformers/all-MiniLM-L6-v2" },
            { "name": "EMBEDDING_DIM", "value": "384" },
            { "name": "ADMIN_USERNAME", "value": "admin" },
            secret_ref("ADMIN_PASSWORD", "demo-auth", "admin-password"),
            secret_ref("JWT_SECRET", "demo-auth", "jwt-secret"),
            { "name": "RUST_LOG", "value": "info" },
        ])
    );
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/health");
    assert_eq!(container["livenessProbe"]["tcpSocket"]["port"], "http");
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(container["resources"]["requests"]["cpu"], "500m");

    let service = h.object("services", "demo-api");
    assert_owned(&service, "api");
    assert_eq!(service["spec"]["type"], "ClusterIP");
    assert_eq!(service["spec"]["ports"][0]["port"], 8080);
    assert_eq!(service["spec"]["ports"][1]["name"], "otlp-grpc");
    assert_eq!(service["spec"]["ports"][1]["port"], 4317);
    assert_eq!(container["ports"][1]["containerPort"], 4317);

    let hpa = h.object("horizontalpodautoscalers", "demo-api");
    assert_owned(&hpa, "api");
    assert_eq!(
        hpa["spec"],
        json!({
            "scaleTargetRef": { "apiVersion": "apps/v1", "kind": "Deployment", "name": "demo-api" },
            "minReplicas": 2, "maxReplicas": 10,
            "metrics": [{ "type": "Resource", "resource": {
                "name": "cpu", "target": { "type": "Utilization", "averageUtilization": 70 } } }]
        })
    );
    let pdb = h.object("poddisruptionbudgets", "demo-api");
    assert_owned(&pdb, "api");
    assert_eq!(
        pdb["spec"],
        json!({ "maxUnavailable": 1, "selector": { "matchLabels": selector("api") } })
    );
}

fn condition_state(h: &Harness, kind: &str) -> (String, String) {
    let c = h.condition(kind);
    (c.status, c.reason)
}

#[tokio::test]
async fn new_resource_to_ready_then_unchanged_and_changed_specs() {
    let mut h = Harness::new("demo", json!({}));
    let mut calls = Vec::new();

    // 1. The finalizer, then SurrealDB and Qdrant (no API before the schema).
    let action = h.reconcile_past_finalizer().await.unwrap();
    assert_eq!(action, Action::requeue(controller::PROGRESS_RESYNC));
    check_backend_objects(&h);
    assert!(h.names("deployments").is_empty());
    assert!(h.names("horizontalpodautoscalers").is_empty());
    let status = h.status();
    assert_eq!(status.phase, Some(Phase::Pending));
    assert_eq!(status.observed_generation, Some(1));
    assert_eq!(status.ready_components.as_deref(), Some("0/3"));
    assert_eq!(
        condition_state(&h, SURREALDB_READY),
        ("False".into(), "PodsStarting".into())
    );
    assert_eq!(
        h.condition(SURREALDB_READY).message,
        "0/1 pods of StatefulSet demo-surrealdb ready"
    );
    assert_eq!(
        condition_state(&h, SCHEMA_PROVISIONED),
        ("False".into(), "WaitingForBackends".into())
    );
    assert_eq!(
        condition_state(&h, READY),
        ("False".into(), "PodsStarting".into())
    );
    let mut reasons = h.reasons();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "Created",
            "Created",
            "Created",
            "Created",
            "Created",
            "Created",
            "SecretGenerated",
            "SecretGenerated",
            "SecretGenerated"
        ]
    );
    assert_eq!(status.auth_secret.as_deref(), Some("demo-auth"));
    calls.extend(h.fake.take_calls());

    // 2. Backends ready: provisioning runs against the real servers (with
    //    the generated credentials), then the API objects appear.
    let (surreal, qdrant) = servers_for(&h).await;
    h.point_at(Endpoints::Fixed {
        surreal_url: surreal.url(),
        qdrant_url: qdrant.grpc_url(),
    });
    h.pods_ready("demo-surrealdb");
    h.reconcile().await.unwrap();
    assert_eq!(
        h.status().phase,
        Some(Phase::Pending),
        "Qdrant is not ready yet"
    );
    assert_eq!(
        condition_state(&h, SURREALDB_READY),
        ("True".into(), "PodsReady".into())
    );
    assert_eq!(
        condition_state(&h, QDRANT_READY),
        ("False".into(), "PodsStarting".into())
    );
    assert!(h.names("deployments").is_empty());
    h.pods_ready("demo-qdrant");
    h.reconcile().await.unwrap();
    let status = h.status();
    assert_eq!(status.phase, Some(Phase::Deploying));
    assert_eq!(
        condition_state(&h, SCHEMA_PROVISIONED),
        ("True".into(), "Provisioned".into())
    );
    assert_eq!(
        h.condition(SCHEMA_PROVISIONED).message,
        format!("schema version {SCHEMA_VERSION} in vectadb/main; collections agents, tasks, logs and thoughts (384-dimensional, cosine)")
    );
    assert_eq!(
        status.provisioned.as_ref().unwrap().schema_version,
        SCHEMA_VERSION
    );
    assert_eq!(
        status.endpoint.as_deref(),
        Some("http://demo-api.team-a.svc.cluster.local:8080")
    );
    assert_eq!(
        condition_state(&h, API_READY),
        ("False".into(), "PodsStarting".into())
    );
    check_api_objects(&h);
    let provisioned = h
        .events()
        .into_iter()
        .find(|e| e.1 == "Provisioned")
        .unwrap();
    assert!(provisioned.2.contains("schema version"), "{provisioned:?}");
    // The servers really carry the schema and collections: provisioning
    // them again changes nothing.
    let resource = h.resource();
    let secrets = vectadb_operator::credentials::resolve(&h.fake.client(), &resource)
        .await
        .unwrap();
    let targets = h
        .ctx
        .endpoints
        .targets(&resource, &secrets.credentials, Duration::from_secs(5));
    let store = SurrealStore::connect(&targets.surreal).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), Some(SCHEMA_VERSION));
    assert!(!provision_servers(&targets).await.unwrap().changed);
    assert_eq!(h.metrics.provisionings.with_label_values(&["ok"]).get(), 1);

    // 3. API available: Ready.
    h.api_available();
    let action = h.reconcile().await.unwrap();
    assert_eq!(action, Action::requeue(controller::READY_RESYNC));
    let status = h.status();
    assert_eq!(status.phase, Some(Phase::Ready));
    assert_eq!(status.ready_components.as_deref(), Some("3/3"));
    assert_eq!(
        condition_state(&h, READY),
        ("True".into(), "AllComponentsReady".into())
    );
    assert_eq!(
        condition_state(&h, API_READY),
        ("True".into(), "PodsAvailable".into())
    );
    assert_eq!(h.reasons().iter().filter(|r| *r == "Ready").count(), 1);
    assert_eq!(
        h.metrics.provisionings.with_label_values(&["ok"]).get(),
        1,
        "once per schema version"
    );
    let ready_since = h.condition(READY).last_transition_time;
    calls.extend(h.fake.take_calls());

    // 4. Unchanged: reads only, nothing sent.
    h.reconcile().await.unwrap();
    let unchanged = h.fake.take_calls();
    assert!(!unchanged.is_empty());
    assert_eq!(writes(&unchanged), Vec::<String>::new());
    assert!(unchanged.iter().all(|c| !c.is_write()), "{unchanged:?}");
    assert_eq!(h.condition(READY).last_transition_time, ready_since);
    calls.extend(unchanged);

    // 5. More API replicas: only the HPA changes, and the status's generation.
    let set_before = h.object("statefulsets", "demo-qdrant");
    h.edit_spec(|spec| spec["api"] = json!({ "minReplicas": 3, "maxReplicas": 6 }));
    h.reconcile().await.unwrap();
    let changed = h.fake.take_calls();
    assert_eq!(
        writes(&changed),
        [
            format!(
                "PATCH {}",
                object_path("horizontalpodautoscalers", "demo-api")
            ),
            format!("PATCH {}/status", h.path()),
        ]
    );
    let hpa = h.object("horizontalpodautoscalers", "demo-api");
    assert_eq!(
        (
            hpa["spec"]["minReplicas"].clone(),
            hpa["spec"]["maxReplicas"].clone()
        ),
        (json!(3), json!(6))
    );
    assert_eq!(h.status().observed_generation, Some(2));
    assert!(h
        .status()
        .conditions
        .iter()
        .all(|c| c.observed_generation == Some(2)));
    assert_eq!(h.object("statefulsets", "demo-qdrant"), set_before);
    assert_eq!(h.metrics.provisionings.with_label_values(&["ok"]).get(), 1);
    calls.extend(changed);

    // 6. A new Qdrant image: only Qdrant's StatefulSet changes.
    h.edit_spec(|spec| spec["qdrant"] = json!({ "image": "qdrant/qdrant:v1.18.1" }));
    h.reconcile().await.unwrap();
    let changed = h.fake.take_calls();
    assert_eq!(
        writes(&changed),
        [
            format!("PATCH {}", object_path("statefulsets", "demo-qdrant")),
            format!("PATCH {}/status", h.path()),
        ]
    );
    let apply = changed
        .iter()
        .find(|c| c.path.ends_with("statefulsets/demo-qdrant") && c.is_write())
        .unwrap();
    assert_eq!(
        apply.content_type.as_deref(),
        Some("application/apply-patch+yaml")
    );
    assert!(
        apply.query.contains("fieldManager=vectadb-operator"),
        "{}",
        apply.query
    );
    assert!(apply.query.contains("force=true"));
    assert_eq!(
        h.object("statefulsets", "demo-qdrant")["spec"]["template"]["spec"]["containers"][0]
            ["image"],
        "qdrant/qdrant:v1.18.1"
    );
    assert_eq!(h.status().observed_generation, Some(3));
    assert!(h.reasons().contains(&"Updated".to_string()));
    // The status too is server-side applied, under the same field manager,
    // as a whole object with its apiVersion and kind.
    let status_apply = changed
        .iter()
        .find(|c| c.path.ends_with("/status") && c.is_write())
        .unwrap();
    assert_eq!(
        status_apply.content_type.as_deref(),
        Some("application/apply-patch+yaml")
    );
    assert!(status_apply.query.contains("fieldManager=vectadb-operator"));
    assert!(status_apply.query.contains("force=true"));
    let body = status_apply.body.as_ref().unwrap();
    assert_eq!(
        (&body["apiVersion"], &body["kind"]),
        (&json!("vectadb.io/v1alpha1"), &json!("VectaDB"))
    );
    assert_eq!(body["status"]["observedGeneration"], 3);
    let managed = &h.fake.get(&h.path()).unwrap()["metadata"]["managedFields"];
    assert_eq!(managed.as_array().map(Vec::len), Some(1), "{managed}");
    assert_eq!(managed[0]["manager"], "vectadb-operator");
    assert_eq!(managed[0]["subresource"], "status");
    calls.extend(changed);

    // 7. A SurrealDB pod goes down: Pending, the schema stays provisioned
    //    (not redone), and the API is still managed (a change applies).
    h.fake
        .update(&object_path("statefulsets", "demo-surrealdb"), |set| {
            set["status"]["readyReplicas"] = json!(0);
        });
    h.edit_spec(|spec| spec["api"]["maxReplicas"] = json!(7));
    h.reconcile().await.unwrap();
    assert_eq!(h.status().phase, Some(Phase::Pending));
    assert_eq!(
        condition_state(&h, SURREALDB_READY),
        ("False".into(), "PodsStarting".into())
    );
    assert_eq!(
        condition_state(&h, SCHEMA_PROVISIONED),
        ("True".into(), "Provisioned".into())
    );
    assert_eq!(
        condition_state(&h, READY),
        ("False".into(), "PodsStarting".into())
    );
    assert_eq!(
        h.object("horizontalpodautoscalers", "demo-api")["spec"]["maxReplicas"],
        7
    );
    h.pods_ready("demo-surrealdb");
    h.reconcile().await.unwrap();
    assert_eq!(h.status().phase, Some(Phase::Ready));
    assert_eq!(h.metrics.provisionings.with_label_values(&["ok"]).get(), 1);
    calls.extend(h.fake.take_calls());

    // 8. Deleted with dataOnDelete: Delete (covers the cleanup calls too).
    h.edit_spec(|spec| spec["dataOnDelete"] = json!("Delete"));
    h.reconcile().await.unwrap();
    h.delete();
    h.reconcile().await.unwrap();
    assert!(!h.exists());
    calls.extend(h.fake.take_calls());

    // Every call the operator made is allowed by operator/rbac.yaml, and
    // the role grants nothing else (bar the controller's watches).
    let used: BTreeSet<(String, String, String)> = calls
        .iter()
        .map(|c| {
            let (group, resource) = c.resource();
            (group, resource, c.verb().to_string())
        })
        .collect();
    let mut needed = used.clone();
    // The controller's watches (operator/src/controller.rs `run`).
    for resource in [
        ("vectadb.io", "vectadbs"),
        ("apps", "statefulsets"),
        ("apps", "deployments"),
    ] {
        for verb in ["list", "watch"] {
            needed.insert((resource.0.into(), resource.1.into(), verb.into()));
        }
    }
    // A repeated event is patched (its count), not created again.
    needed.insert(("events.k8s.io".into(), "events".into(), "patch".into()));
    // Owner references with `blockOwnerDeletion` need `update` on the
    // owner's finalizers where OwnerReferencesPermissionEnforcement is on
    // (the API server checks it; no call of the operator's shows it).
    needed.insert((
        "vectadb.io".into(),
        "vectadbs/finalizers".into(),
        "update".into(),
    ));
    assert_eq!(super::ops::rbac_rules(), needed);
    drop((surreal, qdrant));
}

#[tokio::test]
async fn provisioning_failure_is_a_condition_and_is_retried() {
    let mut h = Harness::new("demo", json!({}));
    h.reconcile_past_finalizer().await.unwrap();
    let password = secret_value(&h, "demo-surrealdb-credentials", "password");
    let key = secret_value(&h, "demo-qdrant-api-key", "api-key");
    let surreal = SurrealServer::start_with_credentials("root", &password).await;
    // Qdrant's pods report ready but nothing answers at its address yet.
    let silent_port = vectadb_tests::process::free_port();
    h.point_at(Endpoints::Fixed {
        surreal_url: surreal.url(),
        qdrant_url: format!("http://127.0.0.1:{silent_port}"),
    });
    h.pods_ready("demo-surrealdb");
    h.pods_ready("demo-qdrant");

    let error = h.reconcile().await.unwrap_err();
    assert!(matches!(error, Error::Provisioning(_)), "{error:?}");
    let status = h.status();
    assert_eq!(status.phase, Some(Phase::Failed));
    let condition = h.condition(SCHEMA_PROVISIONED);
    assert_eq!(
        (condition.status.as_str(), condition.reason.as_str()),
        ("False", "ProvisioningFailed")
    );
    assert!(
        condition.message.contains("Qdrant"),
        "{}",
        condition.message
    );
    assert!(
        condition.message.contains(&silent_port.to_string()),
        "{}",
        condition.message
    );
    assert_eq!(h.condition(READY).reason, "ProvisioningFailed");
    assert!(status.provisioned.is_none());
    assert!(
        h.names("deployments").is_empty(),
        "no API before the schema"
    );
    let warning = h
        .events()
        .into_iter()
        .find(|e| e.1 == "ProvisioningFailed")
        .unwrap();
    assert_eq!(warning.0, "Warning");
    assert_eq!(
        h.metrics.provisionings.with_label_values(&["error"]).get(),
        1
    );
    assert_eq!(
        h.metrics
            .failures
            .with_label_values(&["provisioning"])
            .get(),
        1
    );

    // The error policy retries with growing delays.
    let resource = std::sync::Arc::new(h.resource());
    let first = controller::error_policy(resource.clone(), &error, h.ctx.clone());
    let second = controller::error_policy(resource.clone(), &error, h.ctx.clone());
    assert_eq!(first, Action::requeue(Backoff::FIRST));
    assert_eq!(second, Action::requeue(Backoff::FIRST * 2));

    // Qdrant comes up: the retry provisions and the API follows.
    let qdrant = QdrantServer::start_with_api_key(&key).await;
    h.point_at(Endpoints::Fixed {
        surreal_url: surreal.url(),
        qdrant_url: qdrant.grpc_url(),
    });
    h.reconcile().await.unwrap();
    assert_eq!(h.status().phase, Some(Phase::Deploying));
    assert_eq!(
        condition_state(&h, SCHEMA_PROVISIONED),
        ("True".into(), "Provisioned".into())
    );
    // The failure's message is gone from the status.
    let schema = h.condition(SCHEMA_PROVISIONED).message;
    assert!(schema.starts_with("schema version"), "{schema}");
    assert_eq!(
        condition_state(&h, READY),
        ("False".into(), "PodsStarting".into())
    );
    assert!(
        !h.condition(READY)
            .message
            .contains(&silent_port.to_string()),
        "{}",
        h.condition(READY).message
    );
    assert_eq!(h.names("deployments"), ["demo-api"]);
}

#[tokio::test]
async fn the_endpoint_stays_while_a_changed_layout_waits_for_provisioning() {
    let h = Harness::new("demo", json!({}));
    h.already_provisioned();
    h.reconcile_past_finalizer().await.unwrap();
    let endpoint = Some("http://demo-api.team-a.svc.cluster.local:8080".to_string());
    assert_eq!(h.status().endpoint, endpoint);
    assert_eq!(
        condition_state(&h, SCHEMA_PROVISIONED),
        ("True".into(), "Provisioned".into())
    );

    // A new collection needs provisioning, which waits for the servers; the
    // API's Service (and so its URL) stays meanwhile.
    h.edit_spec(|spec| spec["collections"] = json!({ "agents": "agents-v2" }));
    h.reconcile().await.unwrap();
    assert_eq!(
        condition_state(&h, SCHEMA_PROVISIONED),
        ("False".into(), "WaitingForBackends".into())
    );
    assert_eq!(h.status().endpoint, endpoint);
    assert!(h.names("services").contains(&"demo-api".to_string()));
}

#[test]
fn backoff_doubles_up_to_five_minutes_and_resets() {
    let backoff = Backoff::default();
    let delays: Vec<u64> = (0..9).map(|_| backoff.next("ns/a").as_secs()).collect();
    assert_eq!(delays, [5, 10, 20, 40, 80, 160, 300, 300, 300]);
    assert_eq!(backoff.next("ns/b").as_secs(), 5, "per resource");
    backoff.reset("ns/a");
    assert_eq!(backoff.next("ns/a").as_secs(), 5);
}
