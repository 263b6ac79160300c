//! The provisioning step: the schema and collections, put in place once
//! SurrealDB and Qdrant are both ready and then not again for the same
//! schema version and layout.

use kube::runtime::events::EventType;

use super::write;
use crate::controller::Context;
use crate::crd::{ProvisionedStatus, VectaDB};
use crate::error::Result;
use crate::objects::secrets::Credentials;
use crate::provision;
use crate::status::{Check, Observation};

/// Provision `db`'s servers unless they already are (or are not both
/// ready); says whether they are provisioned. Once they are, the API is
/// managed whatever the servers' state, so an outage of a server pod does
/// not freeze changes to the API. A failure is written to the status, with
/// a warning event, before it is returned.
pub(super) async fn provision(
    db: &VectaDB,
    ctx: &Context,
    credentials: &Credentials,
    observed: &mut Observation,
) -> Result<bool> {
    let wanted = provision::wanted(db);
    let mut provisioned = !provision::needed(db);
    if !provisioned && observed.surrealdb.ok && observed.qdrant.ok {
        let targets = ctx
            .endpoints
            .targets(db, credentials, ctx.provision_timeout);
        match provision::run(&targets).await {
            Ok(report) => {
                ctx.metrics.provisionings.with_label_values(&["ok"]).inc();
                ctx.event(
                    db,
                    EventType::Normal,
                    ("Provisioned", "Provision"),
                    report.lines.join("; "),
                    None,
                )
                .await;
                observed.provisioned = Some(wanted.clone());
                provisioned = true;
            }
            Err(error) => {
                ctx.metrics
                    .provisionings
                    .with_label_values(&["error"])
                    .inc();
                observed.schema = Check::not_yet("ProvisioningFailed", error.to_string());
                write::status(ctx, db, observed.status(db)).await?;
                ctx.event(
                    db,
                    EventType::Warning,
                    ("ProvisioningFailed", "Provision"),
                    error.to_string(),
                    None,
                )
                .await;
                return Err(error);
            }
        }
    }
    if provisioned {
        observed.schema = provisioned_check(&wanted);
    }
    Ok(provisioned)
}

fn provisioned_check(wanted: &ProvisionedStatus) -> Check {
    Check::ok(
        "Provisioned",
        format!(
            "schema version {} in {}/{}; collections {}, {}, {} and {} ({}-dimensional, cosine)",
            wanted.schema_version,
            wanted.surreal_namespace,
            wanted.surreal_database,
            wanted.agents_collection,
            wanted.tasks_collection,
            wanted.logs_collection,
            wanted.thoughts_collection,
            wanted.vector_size
        ),
    )
}
