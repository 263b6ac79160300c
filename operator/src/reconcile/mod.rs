//! What reconciling one live `VectaDB` does, step by step (`apply`), and
//! what its deletion does (`cleanup`).
//!
//! - `mod.rs`: `apply` as the sequence of steps, and the steps that gate
//!   it (a valid spec, readable credentials) or end it (the status).
//! - `backends`: SurrealDB and Qdrant objects and their readiness.
//! - `schema`: provisioning the schema and collections once both are up.
//! - `api`: the API objects and their readiness.
//! - `write`: the two kinds of writes, owned objects and the status.
//! - `cleanup`: what `dataOnDelete` keeps or removes.

mod api;
mod backends;
mod cleanup;
mod schema;
mod write;

pub use cleanup::cleanup;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::ResourceExt;

use crate::controller::{Context, PROGRESS_RESYNC, READY_RESYNC, SECRET_RETRY};
use crate::crd::{Phase, VectaDB};
use crate::credentials;
use crate::error::{Error, Result};
use crate::objects::secrets::Credentials;
use crate::status::{self, Observation};
use crate::validate::validate;

/// Bring the objects and status of `db` in line with its spec: credentials,
/// then SurrealDB and Qdrant, then — once both are ready — the schema, then
/// the API; the status says how far it got.
pub async fn apply(db: &VectaDB, ctx: &Context) -> Result<Action> {
    if !spec_is_valid(db, ctx).await? {
        // Nothing to do until the spec changes.
        return Ok(Action::await_change());
    }
    let Some(credentials) = credentials(db, ctx).await? else {
        return Ok(Action::requeue(SECRET_RETRY));
    };
    let mut observed = match backends::apply(db, ctx, &credentials).await {
        Ok(observed) => observed,
        Err(error) => return Err(apply_failed(db, ctx, error).await),
    };
    if schema::provision(db, ctx, &credentials, &mut observed).await? {
        if let Err(error) = api::apply(db, ctx, &credentials, &mut observed).await {
            return Err(apply_failed(db, ctx, error).await);
        }
    }
    report(db, ctx, &observed).await
}

/// An object could not be applied: the status says so (Ready is False,
/// with the reason and the API server's message) and a warning event
/// repeats it, so the last good status does not stay up while reconciling
/// fails. The error is returned for the controller to retry with backoff.
async fn apply_failed(db: &VectaDB, ctx: &Context, error: Error) -> Error {
    let message = error.to_string();
    let failed = status::blocked(db, Phase::Failed, "ApplyFailed", message.clone());
    if let Err(status_error) = write::status(ctx, db, failed).await {
        tracing::warn!(%status_error, "could not write the failed status");
    }
    ctx.event(
        db,
        EventType::Warning,
        ("ApplyFailed", "Apply"),
        message,
        None,
    )
    .await;
    error
}

/// Whether the spec can be deployed as written; when it cannot, the status
/// and a warning event name every offending field.
async fn spec_is_valid(db: &VectaDB, ctx: &Context) -> Result<bool> {
    let errors = validate(db);
    if errors.is_empty() {
        return Ok(true);
    }
    let message = Error::InvalidSpec(errors).to_string();
    let blocked = status::blocked(db, Phase::Invalid, "InvalidSpec", message.clone());
    if write::status(ctx, db, blocked).await? {
        ctx.event(
            db,
            EventType::Warning,
            ("InvalidSpec", "Validate"),
            message,
            None,
        )
        .await;
    }
    Ok(false)
}

/// The credentials `db` runs with, generating the Secrets it does not name
/// (an event for each). `None` when a Secret it needs is missing or
/// unusable: the status and a warning event say which.
async fn credentials(db: &VectaDB, ctx: &Context) -> Result<Option<Credentials>> {
    let resolved = match credentials::resolve(&ctx.client, db).await {
        Ok(resolved) => resolved,
        Err(error @ Error::Secret { .. }) => {
            let message = error.to_string();
            let blocked = status::blocked(db, Phase::Failed, "SecretUnavailable", message.clone());
            if write::status(ctx, db, blocked).await? {
                ctx.event(
                    db,
                    EventType::Warning,
                    ("SecretUnavailable", "ReadSecret"),
                    message,
                    None,
                )
                .await;
            }
            return Ok(None);
        }
        Err(error) => return Err(error),
    };
    for name in &resolved.generated {
        ctx.event(
            db,
            EventType::Normal,
            ("SecretGenerated", "Generate"),
            format!("Generated Secret {name}"),
            Some(ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Secret".into()),
                name: Some(name.clone()),
                namespace: db.namespace(),
                ..ObjectReference::default()
            }),
        )
        .await;
    }
    Ok(Some(resolved.credentials))
}

/// Write the status from what was observed, record an event when `db` has
/// just become ready, and say when to look again.
async fn report(db: &VectaDB, ctx: &Context, observed: &Observation) -> Result<Action> {
    let was_ready = db.status.as_ref().and_then(|s| s.phase) == Some(Phase::Ready);
    let status = observed.status(db);
    let ready = status.phase == Some(Phase::Ready);
    write::status(ctx, db, status).await?;
    if ready && !was_ready {
        ctx.event(
            db,
            EventType::Normal,
            ("Ready", "Reconcile"),
            "SurrealDB, Qdrant, schema and API ready".into(),
            None,
        )
        .await;
    }
    Ok(Action::requeue(if ready {
        READY_RESYNC
    } else {
        PROGRESS_RESYNC
    }))
}
