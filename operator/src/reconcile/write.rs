//! The reconciler's writes, both server-side apply under the operator's
//! field manager: owned objects (with an event when one was created or
//! changed) and the status (on the status subresource).

use k8s_openapi::NamespaceResourceScope;
use kube::api::{Patch, PatchParams};
use kube::runtime::events::EventType;
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

use crate::apply::{ensure, Applied};
use crate::controller::Context;
use crate::crd::{VectaDB, VectaDBStatus};
use crate::error::Result;
use crate::names::{Names, MANAGER};

/// Apply one owned object; record an event when it was created or changed.
pub(super) async fn object<K>(ctx: &Context, db: &VectaDB, object: K) -> Result<K>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + Serialize
        + DeserializeOwned,
{
    let (live, applied) = ensure(&ctx.client, object).await?;
    let reason = match applied {
        Applied::Created => "Created",
        Applied::Updated => "Updated",
        Applied::Unchanged => return Ok(live),
    };
    ctx.event(
        db,
        EventType::Normal,
        (reason, "Apply"),
        format!("{reason} {} {}", K::kind(&()), live.name_any()),
        Some(live.object_ref(&())),
    )
    .await;
    Ok(live)
}

/// Write `status` unless it is already there; says whether it wrote.
///
/// The whole status is applied each time: a field the operator applied
/// before and leaves out now is removed, so `status` must carry every field
/// that is to stay. Forced: the operator is the status's only intended
/// writer, so a field another manager set to a different value is taken
/// over rather than refused as a conflict.
pub(super) async fn status(ctx: &Context, db: &VectaDB, status: VectaDBStatus) -> Result<bool> {
    if db.status.as_ref() == Some(&status) {
        return Ok(false);
    }
    let api: Api<VectaDB> = Api::namespaced(ctx.client.clone(), &Names::of(db).namespace);
    // Server-side apply needs the object's apiVersion and kind.
    let applied = json!({
        "apiVersion": VectaDB::api_version(&()),
        "kind": VectaDB::kind(&()),
        "status": status,
    });
    api.patch_status(
        &db.name_any(),
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&applied),
    )
    .await?;
    Ok(true)
}
