//! The controller (shape of kube-rs's controller-rs): the watch loop, what
//! every reconcile shares (`Context`: client, events, metrics), a
//! finalizer that sends each `VectaDB` to `reconcile::apply` or, once
//! deleted, `reconcile::cleanup`, and `error_policy`, which retries
//! failures with backoff.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::ListParams;
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{finalizer, Event as Finalizer};
use kube::runtime::{watcher, Controller};
use kube::{Api, Client, Resource, ResourceExt};

use crate::crd::VectaDB;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::names::{Names, MANAGED_BY_LABEL, MANAGER};
use crate::objects::Cluster;
use crate::provision::Endpoints;
use crate::reconcile;

/// The finalizer the operator puts on every `VectaDB`.
pub const FINALIZER: &str = "vectadb.io/cleanup";
/// How often a ready resource is looked at again anyway.
pub const READY_RESYNC: Duration = Duration::from_secs(300);
/// How often a resource that is still coming up is looked at again.
pub const PROGRESS_RESYNC: Duration = Duration::from_secs(15);
/// How long before a missing Secret is looked for again.
pub const SECRET_RETRY: Duration = Duration::from_secs(30);

/// What every reconcile shares.
pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    pub endpoints: Endpoints,
    pub cluster: Cluster,
    pub provision_timeout: Duration,
    pub backoff: Backoff,
}

impl Context {
    pub fn new(
        client: Client,
        metrics: Arc<Metrics>,
        endpoints: Endpoints,
        cluster: Cluster,
        provision_timeout: Duration,
        instance: &str,
    ) -> Context {
        let reporter = Reporter {
            controller: MANAGER.into(),
            instance: Some(instance.into()),
        };
        Context {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            metrics,
            endpoints,
            cluster,
            provision_timeout,
            backoff: Backoff::default(),
        }
    }

    /// Record an event about `db`. Events with the same reason, action and
    /// related object are one event series (a count), so each object the
    /// operator touches is named as the related object.
    pub(crate) async fn event(
        &self,
        db: &VectaDB,
        type_: EventType,
        (reason, action): (&str, &str),
        note: String,
        related: Option<ObjectReference>,
    ) {
        let event = Event {
            type_,
            reason: reason.into(),
            note: Some(note),
            action: action.into(),
            secondary: related,
        };
        if let Err(error) = self.recorder.publish(&event, &db.object_ref(&())).await {
            tracing::warn!(%error, reason, "could not record an event");
        }
    }
}

/// Exponential backoff per resource: 5 s, 10 s, 20 s … at most 5 minutes;
/// forgotten after a successful reconcile.
#[derive(Debug, Default)]
pub struct Backoff {
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoff {
    pub const FIRST: Duration = Duration::from_secs(5);
    pub const MAX: Duration = Duration::from_secs(300);

    pub fn next(&self, key: &str) -> Duration {
        let mut failures = self.failures.lock().expect("backoff lock");
        let count = failures.entry(key.to_string()).or_insert(0);
        *count = count.saturating_add(1);
        let factor = 2u32.saturating_pow(count.saturating_sub(1).min(16));
        (Self::FIRST * factor).min(Self::MAX)
    }

    pub fn reset(&self, key: &str) {
        self.failures.lock().expect("backoff lock").remove(key);
    }
}

fn key(db: &VectaDB) -> String {
    format!("{}/{}", db.namespace().unwrap_or_default(), db.name_any())
}

/// Reconcile one `VectaDB` (the finalizer first, then apply or cleanup).
pub async fn reconcile(db: Arc<VectaDB>, ctx: Arc<Context>) -> Result<Action> {
    let timer = ctx.metrics.duration.start_timer();
    let resource_key = key(&db);
    let api: Api<VectaDB> = Api::namespaced(ctx.client.clone(), &Names::of(&db).namespace);
    let result = finalizer(&api, FINALIZER, db, |event| async {
        match event {
            Finalizer::Apply(db) => reconcile::apply(&db, &ctx).await,
            Finalizer::Cleanup(db) => reconcile::cleanup(&db, &ctx).await,
        }
    })
    .await
    .map_err(|error| match error {
        kube::runtime::finalizer::Error::ApplyFailed(e)
        | kube::runtime::finalizer::Error::CleanupFailed(e) => e,
        other => Error::Finalizer(Box::new(other)),
    });
    ctx.metrics.reconciled(&result);
    if result.is_ok() {
        ctx.backoff.reset(&resource_key);
    }
    timer.observe_duration();
    result
}

/// Requeue a failed reconcile with backoff.
pub fn error_policy(db: Arc<VectaDB>, error: &Error, ctx: Arc<Context>) -> Action {
    let delay = ctx.backoff.next(&key(&db));
    tracing::warn!(resource = %key(&db), %error, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// Watch `VectaDB` resources (and the StatefulSets and Deployments they
/// own) and reconcile them until a shutdown signal.
pub async fn run(ctx: Arc<Context>, namespace: Option<&str>) -> Result<()> {
    let client = ctx.client.clone();
    let (resources, sets, deployments): (Api<VectaDB>, Api<StatefulSet>, Api<Deployment>) =
        match namespace {
            Some(ns) => (
                Api::namespaced(client.clone(), ns),
                Api::namespaced(client.clone(), ns),
                Api::namespaced(client, ns),
            ),
            None => (
                Api::all(client.clone()),
                Api::all(client.clone()),
                Api::all(client),
            ),
        };
    // Fail early, and say why, when the CRD is not installed.
    resources.list(&ListParams::default().limit(1)).await?;
    let owned = watcher::Config::default().labels(&format!("{MANAGED_BY_LABEL}={MANAGER}"));
    ctx.metrics.watching.store(true, Ordering::Relaxed);
    Controller::new(resources, watcher::Config::default())
        .owns(sets, owned.clone())
        .owns(deployments, owned)
        .shutdown_on_signal()
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::debug!(resource = %object.name, "reconciled"),
                Err(error) => tracing::debug!(%error, "reconcile stream"),
            }
        })
        .await;
    Ok(())
}
