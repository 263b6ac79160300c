//! The Kubernetes objects a `VectaDB` is made of, built as plain values
//! from the resource (no API calls here): one module per component, and
//! the Secrets holding generated credentials.

pub mod api;
pub mod qdrant;
pub mod secrets;
pub mod surrealdb;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EnvVar, EnvVarSource, HTTPGetAction,
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PodSecurityContext, PodSpec, PodTemplateSpec,
    Probe, ResourceRequirements, SecretKeySelector, SecurityContext, Service, ServicePort,
    ServiceSpec, TCPSocketAction, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::crd::{DataOnDelete, StorageSpec, VectaDB};
use crate::names::{owned_meta, Component, Names};

pub const SURREALDB_PORT: i32 = 8000;
pub const QDRANT_HTTP_PORT: i32 = 6333;
pub const QDRANT_GRPC_PORT: i32 = 6334;
pub const QDRANT_P2P_PORT: i32 = 6335;
pub const API_PORT: i32 = 8080;
/// The API's OTLP/gRPC port (the OTLP default).
pub const OTLP_GRPC_PORT: i32 = 4317;
/// Where each server keeps its data inside its pod.
pub const DATA_VOLUME: &str = "data";

/// Settings that are the operator's, not the resource's.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// The cluster's DNS domain (`cluster.local` on most clusters).
    pub domain: String,
}

impl Default for Cluster {
    fn default() -> Self {
        Cluster {
            domain: "cluster.local".into(),
        }
    }
}

impl Cluster {
    /// `<service>.<namespace>.svc.<domain>`.
    pub fn service_host(&self, names: &Names, service: &str) -> String {
        format!("{service}.{}.svc.{}", names.namespace, self.domain)
    }
}

pub fn env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        ..EnvVar::default()
    }
}

pub fn secret_env(name: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.into(),
                key: key.into(),
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

pub fn port(name: &str, number: i32) -> ContainerPort {
    ContainerPort {
        name: Some(name.into()),
        container_port: number,
        protocol: Some("TCP".into()),
        ..ContainerPort::default()
    }
}

pub fn http_probe(path: &str, port: &str, period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String(port.into()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        timeout_seconds: Some(3),
        ..Probe::default()
    }
}

pub fn tcp_probe(port: &str, period: i32, failures: i32) -> Probe {
    Probe {
        tcp_socket: Some(TCPSocketAction {
            port: IntOrString::String(port.into()),
            ..TCPSocketAction::default()
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        ..Probe::default()
    }
}

/// No privilege escalation, no capabilities; a read-only root filesystem
/// where the program writes only to its volumes.
pub fn container_security(read_only_root: bool) -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(read_only_root),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Capabilities::default()
        }),
        ..SecurityContext::default()
    }
}

pub fn pod_security(run_as_non_root: bool, user: Option<i64>) -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(run_as_non_root),
        run_as_user: user,
        run_as_group: user,
        fs_group: user,
        seccomp_profile: Some(k8s_openapi::api::core::v1::SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        }),
        ..PodSecurityContext::default()
    }
}

/// The resource's requirements, or `cpu`/`memory` requests (and a memory
/// limit) sized for a small deployment.
pub fn resources_or(
    given: &Option<ResourceRequirements>,
    cpu: &str,
    memory: &str,
    memory_limit: &str,
) -> ResourceRequirements {
    given.clone().unwrap_or_else(|| ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".into(), Quantity(cpu.into())),
            ("memory".into(), Quantity(memory.into())),
        ])),
        limits: Some(BTreeMap::from([(
            "memory".into(),
            Quantity(memory_limit.into()),
        )])),
        ..ResourceRequirements::default()
    })
}

/// A ClusterIP Service (headless when `headless`) selecting `component`.
pub fn service(
    db: &VectaDB,
    name: String,
    component: Component,
    ports: &[(&str, i32)],
    headless: bool,
    service_type: &str,
) -> Service {
    let names = Names::of(db);
    Service {
        metadata: owned_meta(db, name, component),
        spec: Some(ServiceSpec {
            type_: Some(service_type.into()),
            cluster_ip: headless.then(|| "None".into()),
            publish_not_ready_addresses: headless.then_some(true),
            selector: Some(names.selector(component)),
            ports: Some(
                ports
                    .iter()
                    .map(|(port_name, number)| ServicePort {
                        name: Some((*port_name).into()),
                        port: *number,
                        target_port: Some(IntOrString::String((*port_name).into())),
                        protocol: Some("TCP".into()),
                        ..ServicePort::default()
                    })
                    .collect(),
            ),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// A StatefulSet of `replicas` pods running `container`, each with a
/// volume claim `data` mounted by the container, governed by `headless`.
pub fn stateful_set(
    db: &VectaDB,
    component: Component,
    replicas: i32,
    container: Container,
    storage: &StorageSpec,
    security: PodSecurityContext,
) -> StatefulSet {
    let names = Names::of(db);
    let retention = match db.spec.data_on_delete {
        DataOnDelete::Retain => "Retain",
        DataOnDelete::Delete => "Delete",
    };
    StatefulSet {
        metadata: owned_meta(db, names.component(component), component),
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas),
            service_name: Some(names.headless(component)),
            pod_management_policy: Some("Parallel".into()),
            selector: LabelSelector {
                match_labels: Some(names.selector(component)),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(names.labels(component)),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![container],
                    security_context: Some(security),
                    enable_service_links: Some(false),
                    termination_grace_period_seconds: Some(30),
                    ..PodSpec::default()
                }),
            },
            volume_claim_templates: Some(vec![PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some(DATA_VOLUME.into()),
                    labels: Some(names.labels(component)),
                    ..ObjectMeta::default()
                },
                spec: Some(PersistentVolumeClaimSpec {
                    access_modes: Some(vec!["ReadWriteOnce".into()]),
                    storage_class_name: storage.storage_class_name.clone(),
                    resources: Some(VolumeResourceRequirements {
                        requests: Some(BTreeMap::from([("storage".into(), storage.size.clone())])),
                        ..VolumeResourceRequirements::default()
                    }),
                    ..PersistentVolumeClaimSpec::default()
                }),
                ..PersistentVolumeClaim::default()
            }]),
            persistent_volume_claim_retention_policy: Some(
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some(retention.into()),
                    when_scaled: Some("Retain".into()),
                },
            ),
            ..StatefulSetSpec::default()
        }),
        ..StatefulSet::default()
    }
}
