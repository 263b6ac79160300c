//! The finalizer's cleanup: what deleting a `VectaDB` does to its data,
//! as `dataOnDelete` says.

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::Api;
use serde_json::json;

use crate::controller::Context;
use crate::crd::{DataOnDelete, VectaDB};
use crate::error::Result;
use crate::names::{is_owned_by, Names};

/// On deletion: `Delete` removes the volume claims (generated Secrets go
/// with the resource); `Retain` keeps the claims and detaches the
/// generated Secrets from the resource so the data stays readable.
pub async fn cleanup(db: &VectaDB, ctx: &Context) -> Result<Action> {
    let names = Names::of(db);
    let selector = names.instance_selector();
    match db.spec.data_on_delete {
        DataOnDelete::Delete => {
            let claims: Api<PersistentVolumeClaim> =
                Api::namespaced(ctx.client.clone(), &names.namespace);
            claims
                .delete_collection(
                    &DeleteParams::default(),
                    &ListParams::default().labels(&selector),
                )
                .await?;
            ctx.event(
                db,
                EventType::Normal,
                ("DataDeleted", "Cleanup"),
                format!("Deleted the SurrealDB and Qdrant volume claims ({selector})"),
                None,
            )
            .await;
        }
        DataOnDelete::Retain => {
            let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &names.namespace);
            let mut kept = Vec::new();
            let generated = [
                (
                    db.spec.surrealdb.credentials_secret.is_none(),
                    names.surreal_credentials(),
                ),
                (
                    db.spec.qdrant.api_key_secret.is_none(),
                    names.qdrant_api_key(),
                ),
                (db.spec.auth.secret.is_none(), names.auth_secret()),
            ];
            for (_, name) in generated.into_iter().filter(|(generated, _)| *generated) {
                let Some(secret) = secrets.get_opt(&name).await? else {
                    continue;
                };
                if is_owned_by(&secret.metadata, db) {
                    secrets
                        .patch(
                            &name,
                            &PatchParams::default(),
                            &Patch::Merge(json!({ "metadata": { "ownerReferences": null } })),
                        )
                        .await?;
                }
                kept.push(name);
            }
            ctx.event(
                db,
                EventType::Normal,
                ("DataRetained", "Cleanup"),
                format!(
                    "Kept the SurrealDB and Qdrant volume claims ({selector}) and Secrets [{}]; a VectaDB of the same name in this namespace uses them again",
                    kept.join(", ")
                ),
                None,
            )
            .await;
        }
    }
    Ok(Action::await_change())
}
