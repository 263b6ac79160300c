//! The operator against an in-memory Kubernetes API server (`fake_api`):
//! the exact objects and requests it sends, its status and events, and
//! provisioning against real SurrealDB and Qdrant servers.

mod auth;
mod crd;
mod deletion;
mod fake_api;
mod invalid;
mod lifecycle;
mod objects;
mod ops;
mod upgrades;

use std::sync::Arc;
use std::time::Duration;

use fake_api::{Call, FakeApi};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::runtime::controller::Action;
use serde_json::{json, Value};
use vectadb_operator::controller::{self, Context};
use vectadb_operator::crd::{VectaDB, VectaDBStatus};
use vectadb_operator::error::Error;
use vectadb_operator::metrics::Metrics;
use vectadb_operator::objects::Cluster;
use vectadb_operator::provision::{self, Endpoints};

pub const NS: &str = "team-a";

/// Collection paths of the kinds the operator touches, in namespace NS.
pub fn collection(kind: &str) -> String {
    match kind {
        "vectadbs" => format!("/apis/vectadb.io/v1alpha1/namespaces/{NS}/vectadbs"),
        "statefulsets" | "deployments" => format!("/apis/apps/v1/namespaces/{NS}/{kind}"),
        "services" | "secrets" | "persistentvolumeclaims" => {
            format!("/api/v1/namespaces/{NS}/{kind}")
        }
        "horizontalpodautoscalers" => {
            format!("/apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers")
        }
        "poddisruptionbudgets" => format!("/apis/policy/v1/namespaces/{NS}/poddisruptionbudgets"),
        "events" => format!("/apis/events.k8s.io/v1/namespaces/{NS}/events"),
        other => panic!("unknown kind {other}"),
    }
}

pub fn object_path(kind: &str, name: &str) -> String {
    format!("{}/{name}", collection(kind))
}

/// Endpoints nothing listens on: for tests that never reach provisioning.
pub fn nowhere() -> Endpoints {
    Endpoints::Fixed {
        surreal_url: "ws://127.0.0.1:9".into(),
        qdrant_url: "http://127.0.0.1:9".into(),
    }
}

/// One `VectaDB` in a fake API server, and the operator's context.
pub struct Harness {
    pub fake: FakeApi,
    pub ctx: Arc<Context>,
    pub metrics: Arc<Metrics>,
    pub name: String,
}

impl Harness {
    /// Create `name` with `spec` (as `kubectl apply` would).
    pub fn new(name: &str, spec: Value) -> Harness {
        let fake = FakeApi::new();
        fake.create(
            &collection("vectadbs"),
            json!({
                "apiVersion": "vectadb.io/v1alpha1", "kind": "VectaDB",
                "metadata": { "name": name, "namespace": NS },
                "spec": spec,
            }),
        );
        let metrics = Arc::new(Metrics::new());
        let ctx = Arc::new(context(&fake, metrics.clone(), nowhere()));
        Harness {
            fake,
            ctx,
            metrics,
            name: name.into(),
        }
    }

    /// Provision against these endpoints from now on.
    pub fn point_at(&mut self, endpoints: Endpoints) {
        self.ctx = Arc::new(context(&self.fake, self.metrics.clone(), endpoints));
    }

    pub fn path(&self) -> String {
        object_path("vectadbs", &self.name)
    }

    /// The resource as the API server has it now.
    pub fn resource(&self) -> VectaDB {
        serde_json::from_value(self.fake.get(&self.path()).expect("the VectaDB exists"))
            .expect("a VectaDB")
    }

    pub fn exists(&self) -> bool {
        self.fake.get(&self.path()).is_some()
    }

    /// One reconcile of the resource as it is now (what a watch event does).
    pub async fn reconcile(&self) -> Result<Action, Error> {
        controller::reconcile(Arc::new(self.resource()), self.ctx.clone()).await
    }

    /// Reconcile until the finalizer is in place, then once more.
    pub async fn reconcile_past_finalizer(&self) -> Result<Action, Error> {
        if self.resource().metadata.finalizers.is_none() {
            let action = self.reconcile().await.expect("finalizer added");
            assert_eq!(action, Action::await_change());
            assert_eq!(
                self.resource().metadata.finalizers,
                Some(vec![controller::FINALIZER.to_string()])
            );
        }
        self.reconcile().await
    }

    /// Record in the status that the servers are provisioned for this
    /// spec, so a reconcile goes on to the API without SurrealDB and Qdrant.
    pub fn already_provisioned(&self) {
        let wanted = serde_json::to_value(provision::wanted(&self.resource())).unwrap();
        self.fake.update(&self.path(), |db| {
            db["status"] = json!({ "provisioned": wanted })
        });
    }

    pub fn status(&self) -> VectaDBStatus {
        self.resource().status.expect("a status")
    }

    pub fn condition(&self, kind: &str) -> Condition {
        self.status()
            .conditions
            .into_iter()
            .find(|c| c.type_ == kind)
            .unwrap_or_else(|| panic!("no {kind} condition"))
    }

    /// An owned object by kind and name.
    pub fn object(&self, kind: &str, name: &str) -> Value {
        self.fake
            .get(&object_path(kind, name))
            .unwrap_or_else(|| panic!("no {kind} {name}"))
    }

    pub fn names(&self, kind: &str) -> Vec<String> {
        self.fake.list(&collection(kind)).into_keys().collect()
    }

    /// What the StatefulSet controller and kubelet do once pods are ready.
    pub fn pods_ready(&self, statefulset: &str) {
        self.fake
            .update(&object_path("statefulsets", statefulset), |set| {
                let replicas = set["spec"]["replicas"].clone();
                set["status"] = json!({ "replicas": replicas, "readyReplicas": replicas });
            });
    }

    /// What the Deployment controller does once API pods are available.
    pub fn api_available(&self) {
        let name = format!("{}-api", self.name);
        self.fake
            .update(&object_path("deployments", &name), |deployment| {
                deployment["status"] =
                    json!({ "replicas": 2, "readyReplicas": 2, "availableReplicas": 2 });
            });
    }

    /// A user edit of the spec (bumps the generation, as the server does).
    pub fn edit_spec(&self, change: impl FnOnce(&mut Value)) {
        self.fake.update(&self.path(), |db| {
            change(&mut db["spec"]);
            let generation = db["metadata"]["generation"].as_i64().unwrap();
            db["metadata"]["generation"] = json!(generation + 1);
        });
    }

    /// `kubectl delete`: marks it deleted (the finalizer holds it).
    pub fn delete(&self) {
        self.fake.update(&self.path(), |db| {
            db["metadata"]["deletionTimestamp"] = json!("2026-11-28T13:00:00Z");
        });
    }

    /// Events recorded about the resource: (type, reason, note).
    pub fn events(&self) -> Vec<(String, String, String)> {
        self.fake
            .list(&collection("events"))
            .into_values()
            .map(|e| {
                (
                    e["type"].as_str().unwrap_or_default().to_string(),
                    e["reason"].as_str().unwrap_or_default().to_string(),
                    e["note"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    pub fn reasons(&self) -> Vec<String> {
        self.events().into_iter().map(|(_, r, _)| r).collect()
    }
}

fn context(fake: &FakeApi, metrics: Arc<Metrics>, endpoints: Endpoints) -> Context {
    Context::new(
        fake.client(),
        metrics,
        endpoints,
        Cluster::default(),
        Duration::from_secs(5),
        "test-operator",
    )
}

/// The writes among `calls`, as `METHOD path` (events left out).
pub fn writes(calls: &[Call]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| c.is_write() && !c.path.contains("/events"))
        .map(|c| format!("{} {}", c.method, c.path))
        .collect()
}
