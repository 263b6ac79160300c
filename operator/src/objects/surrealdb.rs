//! SurrealDB: one pod (a StatefulSet of 1 with a surrealkv volume), a
//! client Service and the headless Service that names its pod.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Container, EmptyDirVolumeSource, Service, Volume, VolumeMount};

use super::{
    container_security, env, http_probe, pod_security, port, resources_or, secret_env, service,
    stateful_set, Cluster, DATA_VOLUME, SURREALDB_PORT,
};
use crate::crd::VectaDB;
use crate::names::{Component, Names};
use crate::objects::secrets::Credentials;

/// The SurrealDB image's unprivileged user.
const SURREALDB_UID: i64 = 65532;

pub fn services(db: &VectaDB) -> [Service; 2] {
    let names = Names::of(db);
    let ports = [("surrealdb", SURREALDB_PORT)];
    [
        service(
            db,
            names.headless(Component::SurrealDB),
            Component::SurrealDB,
            &ports,
            true,
            "ClusterIP",
        ),
        service(
            db,
            names.component(Component::SurrealDB),
            Component::SurrealDB,
            &ports,
            false,
            "ClusterIP",
        ),
    ]
}

pub fn stateful_set_for(db: &VectaDB, credentials: &Credentials) -> StatefulSet {
    let spec = &db.spec.surrealdb;
    let mut set = stateful_set(
        db,
        Component::SurrealDB,
        1,
        Container {
            name: "surrealdb".into(),
            image: Some(spec.image.clone()),
            args: Some(vec!["start".into()]),
            env: Some(vec![
                env("SURREAL_BIND", format!("0.0.0.0:{SURREALDB_PORT}")),
                env("SURREAL_PATH", "surrealkv:///data/surreal"),
                env("SURREAL_LOG", "info"),
                secret_env("SURREAL_USER", &credentials.surreal_secret, "username"),
                secret_env("SURREAL_PASS", &credentials.surreal_secret, "password"),
            ]),
            ports: Some(vec![port("surrealdb", SURREALDB_PORT)]),
            readiness_probe: Some(http_probe("/health", "surrealdb", 5, 3)),
            liveness_probe: Some(http_probe("/health", "surrealdb", 10, 6)),
            resources: Some(resources_or(&spec.resources, "250m", "512Mi", "2Gi")),
            security_context: Some(container_security(true)),
            volume_mounts: Some(vec![
                VolumeMount {
                    name: DATA_VOLUME.into(),
                    mount_path: "/data".into(),
                    ..VolumeMount::default()
                },
                VolumeMount {
                    name: "tmp".into(),
                    mount_path: "/tmp".into(),
                    ..VolumeMount::default()
                },
            ]),
            ..Container::default()
        },
        &spec.storage,
        pod_security(true, Some(SURREALDB_UID)),
    );
    if let Some(pod) = set.spec.as_mut().and_then(|s| s.template.spec.as_mut()) {
        pod.volumes = Some(vec![Volume {
            name: "tmp".into(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Volume::default()
        }]);
    }
    set
}

/// The URL the API and the operator reach SurrealDB at.
pub fn url(names: &Names, cluster: &Cluster) -> String {
    format!(
        "ws://{}:{SURREALDB_PORT}",
        cluster.service_host(names, &names.component(Component::SurrealDB))
    )
}
