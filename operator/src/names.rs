//! Names, labels and owner references every object made for a `VectaDB`
//! shares, so that selectors, Services and cleanup agree on them.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::{Resource, ResourceExt};

use crate::crd::VectaDB;

pub const MANAGER: &str = "vectadb-operator";
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
pub const COMPONENT_LABEL: &str = "app.kubernetes.io/component";
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";

/// The three things a `VectaDB` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    SurrealDB,
    Qdrant,
    Api,
}

impl Component {
    pub fn label(self) -> &'static str {
        match self {
            Component::SurrealDB => "surrealdb",
            Component::Qdrant => "qdrant",
            Component::Api => "api",
        }
    }
}

/// Object names derived from the resource's name.
#[derive(Debug, Clone)]
pub struct Names {
    pub instance: String,
    pub namespace: String,
}

impl Names {
    pub fn of(db: &VectaDB) -> Names {
        Names {
            instance: db.name_any(),
            namespace: db.namespace().unwrap_or_else(|| "default".into()),
        }
    }

    /// The workload and its client Service.
    pub fn component(&self, component: Component) -> String {
        format!("{}-{}", self.instance, component.label())
    }

    /// The headless Service that gives StatefulSet pods stable DNS names.
    pub fn headless(&self, component: Component) -> String {
        format!("{}-{}-headless", self.instance, component.label())
    }

    pub fn surreal_credentials(&self) -> String {
        format!("{}-surrealdb-credentials", self.instance)
    }

    pub fn qdrant_api_key(&self) -> String {
        format!("{}-qdrant-api-key", self.instance)
    }

    /// The API's admin password and session-signing key.
    pub fn auth_secret(&self) -> String {
        format!("{}-auth", self.instance)
    }

    /// Labels every object of this instance carries, pod and volume claim
    /// templates included. Nothing in them changes with the operator's
    /// release: a StatefulSet's claim templates cannot change at all, and
    /// a changed pod template restarts the pods. The release that applied
    /// an object is an annotation on it instead ([`OPERATOR_VERSION`]).
    pub fn labels(&self, component: Component) -> BTreeMap<String, String> {
        let mut labels = self.selector(component);
        labels.insert(MANAGED_BY_LABEL.into(), MANAGER.into());
        labels.insert("app.kubernetes.io/part-of".into(), "vectadb".into());
        labels
    }

    /// The immutable subset used in selectors.
    pub fn selector(&self, component: Component) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("app.kubernetes.io/name".into(), "vectadb".into()),
            (INSTANCE_LABEL.into(), self.instance.clone()),
            (COMPONENT_LABEL.into(), component.label().into()),
        ])
    }

    /// Selects every object (and volume claim) of this instance.
    pub fn instance_selector(&self) -> String {
        format!(
            "{INSTANCE_LABEL}={},{MANAGED_BY_LABEL}={MANAGER}",
            self.instance
        )
    }
}

/// The annotation naming the operator release that applied an object.
pub const OPERATOR_VERSION: &str = "vectadb.io/operator-version";

/// Metadata for an object owned by `db`: name, namespace, labels, the
/// operator's release, and a controller owner reference (so deleting `db`
/// deletes it).
pub fn owned_meta(db: &VectaDB, name: String, component: Component) -> ObjectMeta {
    let names = Names::of(db);
    ObjectMeta {
        name: Some(name),
        namespace: Some(names.namespace.clone()),
        labels: Some(names.labels(component)),
        annotations: Some(BTreeMap::from([(
            OPERATOR_VERSION.into(),
            env!("CARGO_PKG_VERSION").into(),
        )])),
        owner_references: Some(vec![owner_reference(db)]),
        ..ObjectMeta::default()
    }
}

pub fn owner_reference(db: &VectaDB) -> OwnerReference {
    db.controller_owner_ref(&())
        .expect("a VectaDB read from the API server has a name and uid")
}

pub fn is_owned_by(meta: &ObjectMeta, db: &VectaDB) -> bool {
    let uid = db.meta().uid.as_deref();
    meta.owner_references
        .iter()
        .flatten()
        .any(|o| Some(o.uid.as_str()) == uid)
}
