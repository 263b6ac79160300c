//! The SurrealDB and Qdrant step: their Services and StatefulSets, and
//! whether their pods are ready.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt};

use super::write;
use crate::controller::Context;
use crate::crd::VectaDB;
use crate::error::Result;
use crate::names::Names;
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
    let surreal = stateful_set(ctx, db, surrealdb::stateful_set_for(db, credentials)).await?;
    for service in qdrant::services(db) {
        write::object(ctx, db, service).await?;
    }
    let qdrant = stateful_set(
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

/// Apply a StatefulSet. Its volume claim templates cannot change once it
/// exists (the API server refuses the whole update), so the live ones are
/// sent back as they are; when the spec asks for other storage, a warning
/// event points to the resize path (docs/operator.md, "Storage").
async fn stateful_set(
    ctx: &Context,
    db: &VectaDB,
    mut desired: StatefulSet,
) -> Result<StatefulSet> {
    let api: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), &Names::of(db).namespace);
    let name = desired.name_any();
    let live = api.get_opt(&name).await?;
    let live_claims = live
        .and_then(|live| live.spec)
        .and_then(|spec| spec.volume_claim_templates);
    if let (Some(spec), Some(live_claims)) = (desired.spec.as_mut(), live_claims) {
        let wanted = spec.volume_claim_templates.replace(live_claims);
        let kept = spec.volume_claim_templates.as_deref().unwrap_or_default();
        let wanted = wanted.as_deref().unwrap_or_default();
        if storage(wanted) != storage(kept) {
            let (size, class) = storage(wanted);
            ctx.event(
                db,
                EventType::Warning,
                ("StorageUnchanged", "Apply"),
                format!(
                    "StatefulSet {} keeps its volume claims ({:?}, class {:?}); the spec asks for \
                     {size:?}, class {class:?}: claim templates cannot change, see \
                     docs/operator.md (\"Storage\") to resize",
                    name,
                    storage(kept).0,
                    storage(kept).1,
                ),
                None,
            )
            .await;
        }
    }
    write::object(ctx, db, desired).await
}

/// The requested size and storage class of the first claim template.
fn storage(claims: &[PersistentVolumeClaim]) -> (Option<String>, Option<String>) {
    let spec = claims.first().and_then(|c| c.spec.as_ref());
    let size = spec
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .map(|q| q.0.clone());
    (size, spec.and_then(|s| s.storage_class_name.clone()))
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
