//! The status a `VectaDB` shows: standard conditions, a phase, the count
//! of ready components, the endpoint and the Secret with the admin
//! password. Built from what the reconciler observed; a condition keeps its
//! transition time while its status holds.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

use crate::crd::{Phase, ProvisionedStatus, VectaDB, VectaDBStatus};

pub const SURREALDB_READY: &str = "SurrealDBReady";
pub const QDRANT_READY: &str = "QdrantReady";
pub const SCHEMA_PROVISIONED: &str = "SchemaProvisioned";
pub const API_READY: &str = "APIReady";
pub const READY: &str = "Ready";

/// One observed fact: whether it holds, a CamelCase reason and a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub ok: bool,
    pub reason: String,
    pub message: String,
}

impl Check {
    pub fn ok(reason: &str, message: impl Into<String>) -> Check {
        Check {
            ok: true,
            reason: reason.into(),
            message: message.into(),
        }
    }

    pub fn not_yet(reason: &str, message: impl Into<String>) -> Check {
        Check {
            ok: false,
            reason: reason.into(),
            message: message.into(),
        }
    }
}

/// What one reconcile saw, component by component.
#[derive(Debug, Clone)]
pub struct Observation {
    pub surrealdb: Check,
    pub qdrant: Check,
    pub schema: Check,
    pub api: Check,
    pub endpoint: Option<String>,
    pub provisioned: Option<ProvisionedStatus>,
    /// The Secret with the admin password.
    pub auth_secret: Option<String>,
}

impl Observation {
    pub fn phase(&self) -> Phase {
        if !self.surrealdb.ok || !self.qdrant.ok {
            Phase::Pending
        } else if !self.schema.ok {
            if self.schema.reason == "ProvisioningFailed" {
                Phase::Failed
            } else {
                Phase::Provisioning
            }
        } else if !self.api.ok {
            Phase::Deploying
        } else {
            Phase::Ready
        }
    }

    /// The Ready condition: true when all four hold, else the first that
    /// does not, in dependency order.
    fn ready(&self) -> Check {
        let waiting = [
            ("SurrealDB", &self.surrealdb),
            ("Qdrant", &self.qdrant),
            ("schema", &self.schema),
            ("API", &self.api),
        ]
        .into_iter()
        .find(|(_, check)| !check.ok);
        match waiting {
            None => Check::ok(
                "AllComponentsReady",
                "SurrealDB, Qdrant, schema and API ready",
            ),
            Some((what, check)) => Check::not_yet(
                &check.reason,
                format!("waiting for {what}: {}", check.message),
            ),
        }
    }

    pub fn status(&self, db: &VectaDB) -> VectaDBStatus {
        let ready = [&self.surrealdb, &self.qdrant, &self.api]
            .iter()
            .filter(|c| c.ok)
            .count();
        let previous = db.status.as_ref();
        let conditions = [
            (SURREALDB_READY, &self.surrealdb),
            (QDRANT_READY, &self.qdrant),
            (SCHEMA_PROVISIONED, &self.schema),
            (API_READY, &self.api),
            (READY, &self.ready()),
        ]
        .into_iter()
        .map(|(kind, check)| condition(db, kind, check))
        .collect();
        VectaDBStatus {
            observed_generation: db.metadata.generation,
            phase: Some(self.phase()),
            conditions: keep_transition_times(previous, conditions),
            ready_components: Some(format!("{ready}/3")),
            // The API's Service stays while the schema is provisioned again
            // (a changed layout), so its URL stays too.
            endpoint: self
                .endpoint
                .clone()
                .or_else(|| previous.and_then(|p| p.endpoint.clone())),
            auth_secret: self.auth_secret.clone(),
            provisioned: self
                .provisioned
                .clone()
                .or_else(|| previous.and_then(|p| p.provisioned.clone())),
        }
    }
}

/// The status of a resource that cannot be deployed as written: the
/// previous component conditions stay, Ready says why, phase `phase`.
pub fn blocked(db: &VectaDB, phase: Phase, reason: &str, message: String) -> VectaDBStatus {
    let previous = db.status.clone().unwrap_or_default();
    let mut conditions: Vec<Condition> = previous
        .conditions
        .iter()
        .filter(|c| c.type_ != READY)
        .cloned()
        .collect();
    conditions.push(condition(db, READY, &Check::not_yet(reason, message)));
    VectaDBStatus {
        observed_generation: db.metadata.generation,
        phase: Some(phase),
        conditions: keep_transition_times(Some(&previous), conditions),
        ..previous
    }
}

fn condition(db: &VectaDB, kind: &str, check: &Check) -> Condition {
    Condition {
        type_: kind.into(),
        status: if check.ok { "True" } else { "False" }.into(),
        reason: check.reason.clone(),
        message: check.message.clone(),
        observed_generation: db.metadata.generation,
        last_transition_time: Time(Timestamp::now()),
    }
}

fn keep_transition_times(
    previous: Option<&VectaDBStatus>,
    mut conditions: Vec<Condition>,
) -> Vec<Condition> {
    for condition in &mut conditions {
        let before = previous
            .into_iter()
            .flat_map(|p| p.conditions.iter())
            .find(|c| c.type_ == condition.type_ && c.status == condition.status);
        if let Some(before) = before {
            condition.last_transition_time = before.last_transition_time.clone();
        }
    }
    conditions
}

/// A condition of `status` by type.
pub fn find<'a>(status: &'a VectaDBStatus, kind: &str) -> Option<&'a Condition> {
    status.conditions.iter().find(|c| c.type_ == kind)
}
