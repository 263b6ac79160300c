//! The SurrealDB and Qdrant step: their Services and StatefulSets, and
//! whether their pods are ready.

use k8s_openapi::api::apps::v1::StatefulSet;
use kube::ResourceExt;

use super::write;
use crate::controller::Context;
use crate::crd::VectaDB;
use crate::error::Result;
use crate::objects::secrets::Credentials;
use crate::objects::{qdrant, surrealdb};
use crate::status::{Check, Observation};

/// Apply SurrealDB's and Qdrant's objects; the observation starts with
/// their readiness, the schema and API not yet there.
pub(super) async fn apply(
    db: &VectaDB,
    ctx: &Context,
    credentials: &Credentials,
) -> Result<Observation> {
    for service in surrealdb::services(db) {
        write::object(ctx, db, service).await?;
    }
    let surreal = write::object(ctx, db, surrealdb::stateful_set_for(db, credentials)).await?;
    for service in qdrant::services(db) {
        write::object(ctx, db, service).await?;
    }
    let qdrant = write::object(
        ctx,
        db,
        qdrant::stateful_set_for(db, credentials, &ctx.cluster),
    )
    .await?;
    Ok(Observation {
        surrealdb: stateful_set_ready(&surreal),
        qdrant: stateful_set_ready(&qdrant),
        schema: Check::not_yet(
            "WaitingForBackends",
            "SurrealDB and Qdrant must be ready first",
        ),
        api: Check::not_yet(
            "WaitingForSchema",
            "the API starts once the schema is provisioned",
        ),
        endpoint: None,
        provisioned: None,
        auth_secret: Some(credentials.auth_secret.clone()),
    })
}

fn stateful_set_ready(set: &StatefulSet) -> Check {
    let wanted = set.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let ready = set
        .status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0);
    let message = format!(
        "{ready}/{wanted} pods of StatefulSet {} ready",
        set.name_any()
    );
    if ready >= wanted {
        Check::ok("PodsReady", message)
    } else {
        Check::not_yet("PodsStarting", message)
    }
}
