//! The API step: its Service, autoscaler, disruption budget and
//! Deployment, whether its pods are available, and its endpoint.

use k8s_openapi::api::apps::v1::Deployment;
use kube::ResourceExt;

use super::write;
use crate::controller::Context;
use crate::crd::VectaDB;
use crate::error::Result;
use crate::names::Names;
use crate::objects::api;
use crate::objects::secrets::Credentials;
use crate::status::{Check, Observation};

/// Apply the API's objects; the observation gains its readiness and URL.
pub(super) async fn apply(
    db: &VectaDB,
    ctx: &Context,
    credentials: &Credentials,
    observed: &mut Observation,
) -> Result<()> {
    write::object(ctx, db, api::api_service(db)).await?;
    write::object(ctx, db, api::autoscaler(db)).await?;
    write::object(ctx, db, api::disruption_budget(db)).await?;
    let deployment = write::object(ctx, db, api::deployment(db, credentials, &ctx.cluster)).await?;
    observed.api = deployment_ready(&deployment);
    observed.endpoint = Some(api::url(&Names::of(db), &ctx.cluster));
    Ok(())
}

fn deployment_ready(deployment: &Deployment) -> Check {
    let available = deployment
        .status
        .as_ref()
        .and_then(|s| s.available_replicas)
        .unwrap_or(0);
    let message = format!(
        "{available} pods of Deployment {} available",
        deployment.name_any()
    );
    if available >= 1 {
        Check::ok("PodsAvailable", message)
    } else {
        Check::not_yet("PodsStarting", message)
    }
}
