//! Start-up: open the backends named by the config, check they agree with
//! the model, and assemble the [`AppState`] the HTTP layer serves.

use std::sync::Arc;

use crate::background::Workers;
use crate::config::Config;
use crate::embed::{minilm::MiniLm, EmbedError, Embedder};
use crate::http::AppState;
use crate::metered::Metered;
use crate::metrics::Metrics;
use crate::otlp::stash::OtelStash;
use crate::provisioned::Provisioned;
use crate::service::Service;
use crate::store::schema::{self, SchemaAction};
use crate::store::surreal::{SurrealConfig, SurrealStore};
use crate::store::{EmbedQueue, StoreError, Stores};
use crate::vectors::edge::EdgeVectors;
use crate::vectors::remote::RemoteQdrant;
use crate::vectors::{Collection, CollectionNames};
use crate::vectors::{VectorError, VectorIndex};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Model(#[from] EmbedError),
    #[error("EMBEDDING_DIM is {configured} but the model at {model} produces {actual}-dimensional vectors; set EMBEDDING_DIM={actual} or use a model of that size")]
    ModelDimension {
        configured: usize,
        actual: usize,
        model: String,
    },
    #[error("the Qdrant collection {collection:?} under {path} holds {stored}-dimensional vectors but the embedding model produces {model}-dimensional ones; use the model the collection was built with, or another data directory / collection name and re-embed")]
    CollectionDimension {
        path: String,
        collection: String,
        stored: usize,
        model: usize,
    },
    #[error("SurrealDB schema: {0}")]
    Schema(#[from] crate::store::schema::SchemaMismatch),
    #[error("SurrealDB: {0}")]
    Store(#[from] StoreError),
    #[error("Qdrant: {0}")]
    Vectors(#[from] VectorError),
    #[error("JWT_SECRET must be at least 32 bytes (e.g. `openssl rand -base64 48`)")]
    JwtSecret,
}

/// Load the embedding model named by the config and check its dimension.
pub fn load_model(config: &Config) -> Result<Arc<dyn Embedder>, StartupError> {
    let model_dir = config.model_dir();
    let model = MiniLm::load(
        &model_dir,
        &config.ort_dylib(),
        config.embedding_batch_size,
        config.embed_precision,
    )?;
    if model.dimension() != config.embedding_dim {
        return Err(StartupError::ModelDimension {
            configured: config.embedding_dim,
            actual: model.dimension(),
            model: model_dir.display().to_string(),
        });
    }
    Ok(Arc::new(model))
}

/// Open SurrealDB (embedded or remote, by URL). An embedded store is
/// provisioned on the spot; a remote one must already carry this server's
/// schema version (`vectadb provision`).
pub async fn open_store(config: &Config) -> Result<Arc<SurrealStore>, StartupError> {
    let store = SurrealStore::connect(&config.surreal()).await?;
    prepare_store(&store, config.surreal_is_embedded()).await?;
    Ok(Arc::new(store))
}

/// Check the schema version of a connected store; provision it when it is
/// embedded (and not newer than this server).
pub async fn prepare_store(store: &SurrealStore, embedded: bool) -> Result<(), StartupError> {
    let found = store.schema_version().await?;
    match schema::schema_action(found, embedded)? {
        SchemaAction::Provision => {
            store.provision().await?;
        }
        SchemaAction::Use => {}
    }
    Ok(())
}

/// Provision a connected store unless it carries a newer schema: what is
/// in place now, and whether this run changed anything.
pub async fn provision_store(store: &SurrealStore) -> Result<Provisioned, StartupError> {
    let found = store.schema_version().await?;
    if let Some(found) = found.filter(|v| *v > schema::SCHEMA_VERSION) {
        return Err(schema::SchemaMismatch { found: Some(found) }.into());
    }
    let changed = store.provision().await?;
    let version = schema::SCHEMA_VERSION;
    let what = match found {
        None => format!("schema version {version} created"),
        Some(old) if old < version => format!("schema upgraded from version {old} to {version}"),
        Some(_) if changed => {
            format!("schema version {version} re-applied (missing definitions restored)")
        }
        Some(_) => format!("schema version {version} already in place"),
    };
    let mut report = Provisioned::default();
    report.step(format!("{}, {what}", store.location()), changed);
    Ok(report)
}

/// `vectadb provision`: the namespace, database, schema and collections,
/// idempotently. Returns what is now in place and whether anything changed,
/// for people and for the operator.
pub async fn provision(config: &Config) -> Result<Provisioned, StartupError> {
    if let Some(url) = &config.qdrant_url {
        return provision_servers(&ServerTargets {
            surreal: config.surreal(),
            qdrant_url: url.clone(),
            qdrant_api_key: config.qdrant_api_key.clone(),
            collections: config.collections(),
            embedding_dim: config.embedding_dim,
        })
        .await;
    }
    let store = SurrealStore::connect(&config.surreal()).await?;
    let mut report = provision_store(&store).await?;
    let names = config.collections();
    let dir = config.qdrant_dir();
    let existed = Collection::ALL
        .iter()
        .all(|c| dir.join(names.name(*c)).is_dir());
    let vectors = open_vectors(config).await?;
    vectors.flush().await?;
    let listed: Vec<&str> = Collection::ALL.iter().map(|c| names.name(*c)).collect();
    report.step(
        format!(
            "Qdrant Edge {}: collections {} {} ({}-dimensional, cosine, payload indexes on the fields each one filters on)",
            dir.display(),
            listed.join(", "),
            if existed {
                "already present"
            } else {
                "created"
            },
            vectors.dimension(),
        ),
        !existed,
    );
    Ok(report)
}

/// A SurrealDB server and a Qdrant server to provision (what `vectadb
/// provision` does with QDRANT_URL set, and what the operator does once a
/// `VectaDB` resource's backends are up).
#[derive(Debug, Clone)]
pub struct ServerTargets {
    pub surreal: SurrealConfig,
    pub qdrant_url: String,
    pub qdrant_api_key: Option<crate::config::Secret>,
    pub collections: CollectionNames,
    pub embedding_dim: usize,
}

/// Provision a SurrealDB server and a Qdrant server, idempotently.
pub async fn provision_servers(targets: &ServerTargets) -> Result<Provisioned, StartupError> {
    let store = SurrealStore::connect(&targets.surreal).await?;
    let mut report = provision_store(&store).await?;
    let (_, collections) = RemoteQdrant::provision(
        &targets.qdrant_url,
        targets.qdrant_api_key.as_deref(),
        &targets.collections,
        targets.embedding_dim,
        targets.surreal.timeout,
    )
    .await
    .map_err(|e| dimension_error(e, &targets.qdrant_url, &targets.collections))?;
    report.extend(collections);
    Ok(report)
}

/// Open the vector index: a Qdrant server when QDRANT_URL is set (its
/// collections must exist: `vectadb provision`), else Qdrant Edge under
/// DATA_DIR (created on first use).
pub async fn open_vectors(config: &Config) -> Result<Arc<dyn VectorIndex>, StartupError> {
    let names = config.collections();
    if let Some(url) = &config.qdrant_url {
        let remote = RemoteQdrant::connect(
            url,
            config.qdrant_api_key.as_deref(),
            &names,
            config.embedding_dim,
            config.backend_timeout(),
        )
        .await
        .map_err(|e| dimension_error(e, url, &names))?;
        return Ok(Arc::new(remote));
    }
    let dir = config.qdrant_dir();
    std::fs::create_dir_all(&dir)
        .map_err(|e| VectorError::Backend(format!("creating {}: {e}", dir.display())))?;
    let opened = EdgeVectors::open(&dir, &names, config.embedding_dim);
    Ok(Arc::new(opened.map_err(|e| {
        dimension_error(e, &dir.display().to_string(), &names)
    })?))
}

/// A dimension mismatch said in terms of where the collection lives.
fn dimension_error(error: VectorError, place: &str, names: &CollectionNames) -> StartupError {
    match error {
        VectorError::Dimension {
            collection,
            expected,
            got,
        } => StartupError::CollectionDimension {
            path: place.to_string(),
            collection: names.name(collection).to_string(),
            stored: expected,
            model: got,
        },
        other => other.into(),
    }
}

/// A file in an embedded data directory that says a server is running on
/// it. Left behind by a crash, it tells the next start to reconcile the
/// document store and the vector index (a create may have committed its
/// document but not its vector).
pub struct RunMarker {
    path: std::path::PathBuf,
}

pub const RUN_MARKER_FILE: &str = ".vectadb-running";

impl RunMarker {
    /// Mark `data_dir` as in use; also says whether the previous run ended
    /// without removing its marker.
    pub fn acquire(data_dir: &std::path::Path) -> std::io::Result<(RunMarker, bool)> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join(RUN_MARKER_FILE);
        let crashed = path.exists();
        std::fs::write(&path, std::process::id().to_string())?;
        Ok((RunMarker { path }, crashed))
    }

    /// A clean stop: everything is flushed, nothing to reconcile next time.
    pub fn release(self) -> std::io::Result<()> {
        std::fs::remove_file(&self.path)
    }
}

/// Assemble the state from already-opened parts.
pub fn state(
    config: &Config,
    stores: Stores,
    vectors: Arc<dyn VectorIndex>,
    embedder: Arc<dyn Embedder>,
) -> Result<AppState, StartupError> {
    if config
        .jwt_secret
        .as_ref()
        .is_some_and(|s| !s.is_empty() && s.len() < 32)
    {
        return Err(StartupError::JwtSecret);
    }
    let metrics = Arc::new(Metrics::new());
    let stores = stores.metered(&metrics);
    let vectors: Arc<dyn VectorIndex> = Arc::new(Metered::new(vectors, metrics.clone()));
    let embedder: Arc<dyn Embedder> = Arc::new(Metered::new(embedder, metrics.clone()));
    let auth = Arc::new(crate::auth::Auth::new(
        stores.credentials.clone(),
        config.auth(),
    ));
    let service = Service::new(
        &stores,
        vectors,
        embedder,
        config.search_defaults(),
        config.limits(),
    )?;
    let foreground = Arc::new(crate::foreground::Foreground::new(
        config.indexer_share_when_busy,
    ));
    let cache = Arc::new(crate::embed::cache::EmbedCache::new(
        service.embedder().fingerprint(),
        config.embed_cache_mb.saturating_mul(1 << 20),
    ));
    let service = service.with_cache(cache);
    let indexer = Arc::new(
        service
            .indexer(
                stores.embed_queue.clone(),
                config.indexer(),
                foreground.clone(),
            )
            .with_metrics(metrics.clone()),
    );
    let retention = Arc::new(
        service
            .retention(config.retention())
            .with_foreground(foreground.clone()),
    );
    let text_indexer = Arc::new(crate::text::indexer::TextIndexer::new(
        stores.text_queue.clone(),
        Some(foreground.clone()),
    ));
    let service = Arc::new(service);
    let otlp = Arc::new(
        crate::otlp::worker::OtlpWorker::new(service.clone(), config.otlp_worker())
            .with_metrics(metrics.clone()),
    );
    Ok(AppState {
        auth,
        service,
        metrics,
        indexer,
        otlp,
        retention,
        text_indexer,
        reclaimer: crate::memory::Reclaimer::new(foreground.clone()),
        limits: crate::http::Limits {
            body_bytes: config.max_body_bytes,
            document_bytes: config.max_document_bytes,
            otlp_items: config.max_otlp_items,
        },
        shedder: crate::http::shed::Shedder::new(
            foreground,
            config.max_concurrent_requests,
            config.max_concurrent_large_requests,
            config.max_document_bytes,
            std::time::Duration::from_secs(config.request_timeout_seconds.max(1)),
        ),
        ops: Arc::new(crate::http::ops::OpsCache::new(
            std::time::Duration::from_millis(config.health_cache_millis),
            std::time::Duration::from_secs(config.metrics_refresh_seconds),
        )),
    })
}

/// Run the background workers (until the runtime stops or they are
/// stopped): the indexer embeds queued documents, the OTLP worker
/// places accepted exports, including a backlog left by an earlier run,
/// retention removes what has expired, the text indexer indexes what
/// was stored for full-text search and the reclaimer returns freed memory.
pub fn start_workers(state: &AppState) -> std::io::Result<Workers> {
    let mut workers = Workers::default();
    workers.task(state.indexer.clone().run());
    workers.task(state.retention.clone().run());
    workers.task(state.text_indexer.clone().run());
    workers.task(state.reclaimer.clone().run());
    state.otlp.spawn(&mut workers)?;
    Ok(workers)
}

/// Everything the config names, opened and checked.
pub async fn build(config: &Config) -> Result<AppState, StartupError> {
    let embedder = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || load_model(&config))
            .await
            .map_err(|e| StartupError::Model(EmbedError::Load(e.to_string())))??
    };
    let vectors = open_vectors(config).await?;
    let store = open_store(config).await?;
    if config.surreal_is_embedded() {
        // This process owns the store: leases left by a previous run of it
        // (killed mid-job) are void, so its backlog resumes at once.
        store.release_embed_leases().await?;
        OtelStash::release(store.as_ref(), None).await?;
    }
    let state = state(config, Stores::of(store), vectors, embedder)?;
    bootstrap_admin(&state, config).await?;
    Ok(state)
}

/// ADMIN_PASSWORD set: make sure ADMIN_USERNAME can sign in with it
/// (created, or its password updated when the secret was rotated).
pub async fn bootstrap_admin(state: &AppState, config: &Config) -> Result<(), StartupError> {
    if let Some(password) = config.admin_password.as_deref().filter(|p| !p.is_empty()) {
        if state
            .auth
            .put_user(&config.admin_username, password)
            .await?
        {
            tracing::info!(username = %config.admin_username, "admin user set from ADMIN_PASSWORD");
        }
    }
    Ok(())
}
