//! The stateless API: Deployment (scaled by the HPA, so no replica count
//! of its own), Service, HorizontalPodAutoscaler and PodDisruptionBudget.

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, PodSpec, PodTemplateSpec, Service, Volume, VolumeMount,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{
    container_security, env, http_probe, pod_security, port, qdrant, resources_or, secret_env,
    service, surrealdb, tcp_probe, Cluster, API_PORT, OTLP_GRPC_PORT,
};
use crate::crd::{ServiceType, VectaDB};
use crate::names::{owned_meta, Component, Names};
use crate::objects::secrets::{
    Credentials, ADMIN_PASSWORD_KEY, JWT_SECRET_KEY, QDRANT_API_KEY_KEY, SURREAL_PASS_KEY,
    SURREAL_USER_KEY,
};

/// The API's in-cluster URL (what `status.endpoint` says).
pub fn url(names: &Names, cluster: &Cluster) -> String {
    format!(
        "http://{}:{API_PORT}",
        cluster.service_host(names, &names.component(Component::Api))
    )
}

/// The API image's unprivileged user.
pub const API_UID: i64 = 10001;

/// The environment the API runs with: every name is a `vectadb serve`
/// setting (a test checks them against the API's config). The admin
/// password gives the API a user, so it requires credentials and listens
/// on every interface (without one it would keep to loopback).
pub fn environment(
    db: &VectaDB,
    credentials: &Credentials,
    cluster: &Cluster,
) -> Vec<k8s_openapi::api::core::v1::EnvVar> {
    let names = Names::of(db);
    let spec = &db.spec;
    let mut environment = vec![
        env("SERVER_HOST", "0.0.0.0"),
        env("SERVER_PORT", API_PORT.to_string()),
        env("OTLP_GRPC_PORT", OTLP_GRPC_PORT.to_string()),
        env("SURREAL_URL", surrealdb::url(&names, cluster)),
        env("SURREAL_NAMESPACE", &spec.surrealdb.namespace),
        env("SURREAL_DATABASE", &spec.surrealdb.database),
        secret_env(
            "SURREAL_USER",
            &credentials.surreal_secret,
            SURREAL_USER_KEY,
        ),
        secret_env(
            "SURREAL_PASS",
            &credentials.surreal_secret,
            SURREAL_PASS_KEY,
        ),
        env("QDRANT_URL", qdrant::url(&names, cluster)),
        secret_env(
            "QDRANT_API_KEY",
            &credentials.qdrant_secret,
            QDRANT_API_KEY_KEY,
        ),
        env("QDRANT_AGENT_COLLECTION", &spec.collections.agents),
        env("QDRANT_TASK_COLLECTION", &spec.collections.tasks),
        env("QDRANT_LOG_COLLECTION", &spec.collections.logs),
        env("QDRANT_THOUGHT_COLLECTION", &spec.collections.thoughts),
        env("EMBEDDING_MODEL", &spec.embedding.model),
        env("EMBEDDING_DIM", spec.collections.vector_size.to_string()),
        env("ADMIN_USERNAME", &spec.auth.admin_username),
        secret_env(
            "ADMIN_PASSWORD",
            &credentials.auth_secret,
            ADMIN_PASSWORD_KEY,
        ),
        secret_env("JWT_SECRET", &credentials.auth_secret, JWT_SECRET_KEY),
    ];
    if spec.auth.trust_forwarded_for {
        environment.push(env("TRUST_FORWARDED_FOR", "true"));
    }
    let retention = &spec.retention;
    for (name, window) in [
        ("RETENTION_LOGS", &retention.logs),
        ("RETENTION_THOUGHTS", &retention.thoughts),
        ("RETENTION_TASKS", &retention.tasks),
    ] {
        if let Some(window) = window {
            environment.push(env(name, window));
        }
    }
    environment.push(env("RUST_LOG", "info"));
    environment
}

pub fn deployment(db: &VectaDB, credentials: &Credentials, cluster: &Cluster) -> Deployment {
    let names = Names::of(db);
    let spec = &db.spec.api;
    let container = Container {
        name: "api".into(),
        image: Some(spec.image.clone()),
        args: Some(vec!["serve".into()]),
        env: Some(environment(db, credentials, cluster)),
        ports: Some(vec![
            port("http", API_PORT),
            port("otlp-grpc", OTLP_GRPC_PORT),
        ]),
        // Ready when both backends answer; alive while it accepts
        // connections (a backend outage must not restart every pod).
        readiness_probe: Some(http_probe("/health", "http", 5, 3)),
        liveness_probe: Some(tcp_probe("http", 10, 3)),
        startup_probe: Some(tcp_probe("http", 2, 30)),
        resources: Some(resources_or(&spec.resources, "500m", "512Mi", "1Gi")),
        security_context: Some(container_security(true)),
        volume_mounts: Some(vec![VolumeMount {
            name: "tmp".into(),
            mount_path: "/tmp".into(),
            ..VolumeMount::default()
        }]),
        ..Container::default()
    };
    Deployment {
        metadata: owned_meta(db, names.component(Component::Api), Component::Api),
        spec: Some(DeploymentSpec {
            selector: LabelSelector {
                match_labels: Some(names.selector(Component::Api)),
                ..LabelSelector::default()
            },
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(IntOrString::Int(1)),
                    max_unavailable: Some(IntOrString::Int(0)),
                }),
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(names.labels(Component::Api)),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![container],
                    security_context: Some(pod_security(true, Some(API_UID))),
                    enable_service_links: Some(false),
                    automount_service_account_token: Some(false),
                    volumes: Some(vec![Volume {
                        name: "tmp".into(),
                        empty_dir: Some(EmptyDirVolumeSource::default()),
                        ..Volume::default()
                    }]),
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    }
}

pub fn api_service(db: &VectaDB) -> Service {
    let names = Names::of(db);
    let service_type = match db.spec.api.service_type {
        ServiceType::ClusterIP => "ClusterIP",
        ServiceType::NodePort => "NodePort",
        ServiceType::LoadBalancer => "LoadBalancer",
    };
    service(
        db,
        names.component(Component::Api),
        Component::Api,
        &[("http", API_PORT), ("otlp-grpc", OTLP_GRPC_PORT)],
        false,
        service_type,
    )
}

pub fn autoscaler(db: &VectaDB) -> HorizontalPodAutoscaler {
    let names = Names::of(db);
    let spec = &db.spec.api;
    HorizontalPodAutoscaler {
        metadata: owned_meta(db, names.component(Component::Api), Component::Api),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: "Deployment".into(),
                name: names.component(Component::Api),
            },
            min_replicas: Some(spec.min_replicas),
            max_replicas: spec.max_replicas,
            metrics: Some(vec![MetricSpec {
                type_: "Resource".into(),
                resource: Some(ResourceMetricSource {
                    name: "cpu".into(),
                    target: MetricTarget {
                        type_: "Utilization".into(),
                        average_utilization: Some(spec.target_cpu_utilization_percentage),
                        ..MetricTarget::default()
                    },
                }),
                ..MetricSpec::default()
            }]),
            ..HorizontalPodAutoscalerSpec::default()
        }),
        ..HorizontalPodAutoscaler::default()
    }
}

/// At most one API pod down at a time for voluntary disruptions.
pub fn disruption_budget(db: &VectaDB) -> PodDisruptionBudget {
    let names = Names::of(db);
    PodDisruptionBudget {
        metadata: owned_meta(db, names.component(Component::Api), Component::Api),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(names.selector(Component::Api)),
                ..LabelSelector::default()
            }),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    }
}
