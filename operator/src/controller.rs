//! The reconciler (shape of kube-rs's controller-rs): for each `VectaDB`,
//! credentials, then SurrealDB and Qdrant, then — once both are ready —
//! provisioning, then the API; status, events and a finalizer that honours
//! `dataOnDelete`. `error_policy` retries failures with backoff.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ObjectReference, PersistentVolumeClaim, Secret};
use k8s_openapi::NamespaceResourceScope;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{finalizer, Event as Finalizer};
use kube::runtime::{watcher, Controller};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

use crate::apply::{ensure, Applied};
use crate::crd::{DataOnDelete, Phase, VectaDB, VectaDBStatus};
use crate::credentials;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::names::{is_owned_by, Names, MANAGED_BY_LABEL, MANAGER};
use crate::objects::{api, qdrant, surrealdb, Cluster};
use crate::provision::{self, Endpoints};
use crate::status::{self, Check, Observation};
use crate::validate::validate;

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
    async fn event(
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
            Finalizer::Apply(db) => apply(&db, &ctx).await,
            Finalizer::Cleanup(db) => cleanup(&db, &ctx).await,
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

async fn apply(db: &VectaDB, ctx: &Context) -> Result<Action> {
    let errors = validate(db);
    if !errors.is_empty() {
        let message = Error::InvalidSpec(errors).to_string();
        let blocked = status::blocked(db, Phase::Invalid, "InvalidSpec", message.clone());
        if set_status(ctx, db, blocked).await? {
            ctx.event(
                db,
                EventType::Warning,
                ("InvalidSpec", "Validate"),
                message,
                None,
            )
            .await;
        }
        // Nothing to do until the spec changes.
        return Ok(Action::await_change());
    }
    let resolved = match credentials::resolve(&ctx.client, db).await {
        Ok(resolved) => resolved,
        Err(error @ Error::Secret { .. }) => {
            let message = error.to_string();
            let blocked = status::blocked(db, Phase::Failed, "SecretUnavailable", message.clone());
            if set_status(ctx, db, blocked).await? {
                ctx.event(
                    db,
                    EventType::Warning,
                    ("SecretUnavailable", "ReadSecret"),
                    message,
                    None,
                )
                .await;
            }
            return Ok(Action::requeue(SECRET_RETRY));
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
    let credentials = resolved.credentials;

    for service in surrealdb::services(db) {
        apply_object(ctx, db, service).await?;
    }
    let surreal = apply_object(ctx, db, surrealdb::stateful_set_for(db, &credentials)).await?;
    for service in qdrant::services(db) {
        apply_object(ctx, db, service).await?;
    }
    let qdrant = apply_object(
        ctx,
        db,
        qdrant::stateful_set_for(db, &credentials, &ctx.cluster),
    )
    .await?;

    let mut observed = Observation {
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
    };
    // Provisioning needs both servers up; once done (for this schema and
    // layout) the API is managed whatever the servers' state, so an outage
    // of a server pod does not freeze changes to the API.
    let wanted = provision::wanted(db);
    let mut provisioned = !provision::needed(db);
    if !provisioned && observed.surrealdb.ok && observed.qdrant.ok {
        let targets = ctx
            .endpoints
            .targets(db, &credentials, ctx.provision_timeout);
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
                set_status(ctx, db, observed.status(db)).await?;
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
        observed.schema = Check::ok(
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
        );
        apply_object(ctx, db, api::api_service(db)).await?;
        apply_object(ctx, db, api::autoscaler(db)).await?;
        apply_object(ctx, db, api::disruption_budget(db)).await?;
        let deployment =
            apply_object(ctx, db, api::deployment(db, &credentials, &ctx.cluster)).await?;
        observed.api = deployment_ready(&deployment);
        observed.endpoint = Some(api::url(&Names::of(db), &ctx.cluster));
    }

    let was_ready = db.status.as_ref().and_then(|s| s.phase) == Some(Phase::Ready);
    let status = observed.status(db);
    let ready = status.phase == Some(Phase::Ready);
    set_status(ctx, db, status).await?;
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

/// Apply one owned object; record an event when it was created or changed.
async fn apply_object<K>(ctx: &Context, db: &VectaDB, object: K) -> Result<K>
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

/// Write `status` unless it is already there; says whether it wrote.
async fn set_status(ctx: &Context, db: &VectaDB, status: VectaDBStatus) -> Result<bool> {
    if db.status.as_ref() == Some(&status) {
        return Ok(false);
    }
    let api: Api<VectaDB> = Api::namespaced(ctx.client.clone(), &Names::of(db).namespace);
    api.patch_status(
        &db.name_any(),
        &PatchParams::default(),
        &Patch::Merge(json!({ "status": status })),
    )
    .await?;
    Ok(true)
}

/// On deletion: `Delete` removes the volume claims (generated Secrets go
/// with the resource); `Retain` keeps the claims and detaches the
/// generated Secrets from the resource so the data stays readable.
async fn cleanup(db: &VectaDB, ctx: &Context) -> Result<Action> {
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
