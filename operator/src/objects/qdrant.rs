//! Qdrant: a StatefulSet (cluster mode above one replica), a client
//! Service (HTTP and gRPC) and the headless Service peers find each other by.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    Container, EnvVar, EnvVarSource, ObjectFieldSelector, Service, VolumeMount,
};

use super::{
    container_security, env, http_probe, pod_security, port, resources_or, secret_env, service,
    stateful_set, Cluster, DATA_VOLUME, QDRANT_GRPC_PORT, QDRANT_HTTP_PORT, QDRANT_P2P_PORT,
};
use crate::crd::VectaDB;
use crate::names::{Component, Names};
use crate::objects::secrets::{Credentials, QDRANT_API_KEY_KEY};

pub fn services(db: &VectaDB) -> [Service; 2] {
    let names = Names::of(db);
    [
        service(
            db,
            names.headless(Component::Qdrant),
            Component::Qdrant,
            &[
                ("http", QDRANT_HTTP_PORT),
                ("grpc", QDRANT_GRPC_PORT),
                ("p2p", QDRANT_P2P_PORT),
            ],
            true,
            "ClusterIP",
        ),
        service(
            db,
            names.component(Component::Qdrant),
            Component::Qdrant,
            &[("http", QDRANT_HTTP_PORT), ("grpc", QDRANT_GRPC_PORT)],
            false,
            "ClusterIP",
        ),
    ]
}

pub fn stateful_set_for(db: &VectaDB, credentials: &Credentials, cluster: &Cluster) -> StatefulSet {
    let names = Names::of(db);
    let spec = &db.spec.qdrant;
    let mut env_vars = vec![
        env("QDRANT__STORAGE__STORAGE_PATH", "/qdrant/storage"),
        env("QDRANT__TELEMETRY_DISABLED", "true"),
        secret_env(
            "QDRANT__SERVICE__API_KEY",
            &credentials.qdrant_secret,
            QDRANT_API_KEY_KEY,
        ),
    ];
    let mut container = Container {
        name: "qdrant".into(),
        image: Some(spec.image.clone()),
        ports: Some(vec![
            port("http", QDRANT_HTTP_PORT),
            port("grpc", QDRANT_GRPC_PORT),
            port("p2p", QDRANT_P2P_PORT),
        ]),
        readiness_probe: Some(http_probe("/readyz", "http", 5, 3)),
        liveness_probe: Some(http_probe("/livez", "http", 10, 6)),
        resources: Some(resources_or(&spec.resources, "250m", "512Mi", "2Gi")),
        security_context: Some(container_security(false)),
        volume_mounts: Some(vec![VolumeMount {
            name: DATA_VOLUME.into(),
            mount_path: "/qdrant/storage".into(),
            ..VolumeMount::default()
        }]),
        ..Container::default()
    };
    if spec.replicas > 1 {
        // Cluster mode: pod 0 starts the cluster, the others join it.
        let headless = cluster.service_host(&names, &names.headless(Component::Qdrant));
        let first = format!("{}-0", names.component(Component::Qdrant));
        env_vars.push(env("QDRANT__CLUSTER__ENABLED", "true"));
        env_vars.push(EnvVar {
            name: "POD_NAME".into(),
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    field_path: "metadata.name".into(),
                    ..ObjectFieldSelector::default()
                }),
                ..EnvVarSource::default()
            }),
            ..EnvVar::default()
        });
        container.command = Some(vec!["/bin/bash".into(), "-c".into()]);
        container.args = Some(vec![format!(
            "uri=\"http://${{POD_NAME}}.{headless}:{QDRANT_P2P_PORT}\"; \
             if [ \"${{POD_NAME##*-}}\" = 0 ]; then exec ./entrypoint.sh --uri \"$uri\"; \
             else exec ./entrypoint.sh --bootstrap \"http://{first}.{headless}:{QDRANT_P2P_PORT}\" --uri \"$uri\"; fi"
        )]);
    }
    container.env = Some(env_vars);
    stateful_set(
        db,
        Component::Qdrant,
        spec.replicas,
        container,
        &spec.storage,
        pod_security(false, None),
    )
}

/// The gRPC URL the API and the operator reach Qdrant at.
pub fn url(names: &Names, cluster: &Cluster) -> String {
    format!(
        "http://{}:{QDRANT_GRPC_PORT}",
        cluster.service_host(names, &names.component(Component::Qdrant))
    )
}
