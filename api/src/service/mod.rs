//! The service: what VectaDB does, whoever calls it (HTTP, RPC, OTLP,
//! migration). It fans each write out to the document store and the vector
//! index, undoing one side when the other fails, and merges reads (vector
//! hits → full documents). Knows nothing of HTTP.
//!
//! One file per resource: `agents`, `tasks`, `thoughts`, `logs`, `search`
//! (similarity and text) with `query` (what a search asks, checked),
//! `traces`; `otlp` accepts and places OpenTelemetry
//! exports; `import` writes documents made elsewhere (migration); `repair`
//! reconciles documents and vectors. This file holds the
//! service itself, the write that keeps both stores in step, and health.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::Utc;
use serde::Serialize;
use tokio::sync::Notify;

use crate::domain::{
    Agent, Log, LogCursor, LogFilter, LogLevel, NewAgent, NewLog, NewTask, NewThought, Page, Task,
    TaskFilter, TaskPatch, Thought, ThoughtFilter, Trace, TraceShape, ValidationError,
};
use crate::embed::cache::EmbedCache;
use crate::embed::{text, Embedder};
use crate::error::{Error, Result};
use crate::indexer::{Indexer, IndexerSettings};
use crate::otlp::stash::OtelStash;
use crate::store::{Documents, EmbedQueue, StoreError, Stores, Table};
use crate::text::{TextFilter, TextQuery};
use crate::vectors::{points, Collection, ScoredId, VectorFilter, VectorIndex, VectorPoint};
pub use query::{SearchMode, SimilarQuery};

mod agents;
pub mod import;
mod logs;
pub mod otlp;
pub mod query;
pub mod repair;
mod search;
mod tasks;
mod thoughts;
mod traces;

/// Deepest offset of a log listing: an offset is read through, a cursor
/// starts where it points.
pub const MAX_LOG_OFFSET: usize = 10_000;

/// Per-request search settings when the request does not give them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchDefaults {
    pub threshold: f32,
    pub limit: usize,
}

/// Hard limits on request sizes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub max_log_batch: usize,
    pub max_page: usize,
    pub max_similar: usize,
    /// How long an OTLP span or log record waits for the span it hangs from.
    pub otlp_wait: std::time::Duration,
    /// OTLP items acknowledged and not yet placed past which exports are
    /// refused with 503 and `Retry-After` (the inbox is on disk; this bounds
    /// how far placement may fall behind).
    pub otlp_max_pending: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_log_batch: 10_000,
            max_page: 1_000,
            max_similar: 100,
            otlp_wait: std::time::Duration::from_secs(300),
            otlp_max_pending: 200_000,
        }
    }
}

/// A document with its similarity to the query.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Scored<T> {
    #[serde(flatten)]
    pub document: T,
    pub similarity: f32,
}

/// The logs of an accepted batch, in request order, and which of them were
/// new (a resent log is accepted again but not stored twice).
#[derive(Debug, Clone, PartialEq)]
pub struct Ingested {
    pub logs: Vec<Log>,
    pub new: Vec<bool>,
}

/// Whether a create made a new document or found the identical one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Existing,
}

/// The state of each backend, for `/health`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    pub document_store: std::result::Result<(), String>,
    pub vector_index: std::result::Result<(), String>,
    pub embedding_model: std::result::Result<(), String>,
}

impl Health {
    pub fn is_ok(&self) -> bool {
        self.document_store.is_ok() && self.vector_index.is_ok() && self.embedding_model.is_ok()
    }
}

pub struct Service {
    documents: Arc<dyn Documents>,
    /// Where OTLP exports wait until they are placed.
    otel: Arc<dyn OtelStash>,
    vectors: Arc<dyn VectorIndex>,
    embedder: Arc<dyn Embedder>,
    defaults: SearchDefaults,
    limits: Limits,
    /// Wakes the indexer when logs or thoughts were queued for embedding.
    wake_indexer: Arc<Notify>,
    /// Wakes the OTLP worker when an export was accepted.
    wake_otlp: Arc<Notify>,
    /// OTLP items in the inbox, as last counted plus those accepted since.
    otlp_pending: Arc<std::sync::atomic::AtomicU64>,
    /// Vectors already computed, by text: searches repeated and documents
    /// re-embedded skip the model, and the indexer shares it.
    cache: Arc<EmbedCache>,
}

impl Service {
    /// Fails when the model's dimension differs from the collections'.
    pub fn new(
        stores: &Stores,
        vectors: Arc<dyn VectorIndex>,
        embedder: Arc<dyn Embedder>,
        defaults: SearchDefaults,
        limits: Limits,
    ) -> std::result::Result<Self, crate::vectors::VectorError> {
        if embedder.dimension() != vectors.dimension() {
            return Err(crate::vectors::VectorError::Backend(format!(
                "the embedding model produces {}-dimensional vectors but the collections hold {}-dimensional ones; \
                 set EMBEDDING_DIM to the model's dimension and use collections created for it",
                embedder.dimension(),
                vectors.dimension()
            )));
        }
        let cache = Arc::new(EmbedCache::new(embedder.fingerprint(), 0));
        Ok(Self {
            cache,
            documents: stores.documents.clone(),
            otel: stores.otel.clone(),
            vectors,
            embedder,
            defaults,
            limits,
            wake_indexer: Arc::new(Notify::new()),
            wake_otlp: Arc::new(Notify::new()),
            otlp_pending: Arc::default(),
        })
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub fn otlp_wait(&self) -> std::time::Duration {
        self.limits.otlp_wait
    }

    /// The indexer that embeds what this service queues (see [`Indexer`]).
    /// Keep computed vectors in `cache` (default: none kept).
    pub fn with_cache(mut self, cache: Arc<EmbedCache>) -> Self {
        self.cache = cache;
        self
    }

    /// The indexer that embeds what this service queues (see [`Indexer`]),
    /// sharing this service's cache, giving way to `foreground`.
    pub fn indexer(
        &self,
        queue: Arc<dyn EmbedQueue>,
        settings: IndexerSettings,
        foreground: Arc<crate::foreground::Foreground>,
    ) -> Indexer {
        Indexer::new(
            self.documents.clone(),
            queue,
            self.vectors.clone(),
            self.embedder.clone(),
            self.wake_indexer.clone(),
            settings,
        )
        .with_cache(self.cache.clone())
        .with_foreground(foreground)
    }

    /// The retention worker over this service's stores.
    pub fn retention(
        &self,
        settings: crate::retention::RetentionSettings,
    ) -> crate::retention::Retention {
        crate::retention::Retention::new(self.documents.clone(), self.vectors.clone(), settings)
    }

    /// The model this service embeds with.
    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.embedder
    }

    /// The vector of `text`, from the cache or the model.
    async fn embed_one(&self, text: String) -> Result<Vec<f32>> {
        let texts = [text];
        if let Some(Some(vector)) = self.cache.lookup(&texts).found.pop() {
            return Ok(vector.to_vec());
        }
        let [text] = texts;
        let vector = self
            .embedder
            .embed(vec![text.clone()])
            .await?
            .pop()
            .ok_or_else(|| {
                crate::error::Error::from(crate::embed::EmbedError::Inference(
                    "model returned no vector".into(),
                ))
            })?;
        self.cache.insert(&text, vector.as_slice().into());
        Ok(vector)
    }

    /// Write a document and its vector concurrently; if exactly one side
    /// fails, undo the other so neither is left without its twin.
    async fn dual_write<F>(
        &self,
        collection: Collection,
        point: VectorPoint,
        write_document: F,
    ) -> Result<()>
    where
        F: std::future::Future<Output = std::result::Result<(), StoreError>>,
    {
        let id = point.id.clone();
        let (document, vector) =
            tokio::join!(write_document, self.vectors.upsert(collection, vec![point]));
        match (document, vector) {
            (Ok(()), Ok(())) => Ok(()),
            (Ok(()), Err(vector_error)) => {
                let undo = match collection {
                    Collection::Agents => self.documents.delete_agent(&id).await.map(|_| ()),
                    Collection::Tasks => self.documents.delete_task(&id).await,
                    // Embedded by the indexer, never written here.
                    Collection::Logs | Collection::Thoughts => Ok(()),
                };
                if let Err(undo_error) = undo {
                    tracing::error!(%id, ?collection, %undo_error, "could not undo document write after vector write failed");
                }
                Err(vector_error.into())
            }
            // The id was taken meanwhile: the vector now there may be ours;
            // the caller restores the stored document's vector.
            (Err(error @ StoreError::AlreadyExists { .. }), _) => Err(error.into()),
            (Err(document_error), Ok(())) => {
                if let Err(undo_error) = self
                    .vectors
                    .delete(collection, std::slice::from_ref(&id))
                    .await
                {
                    tracing::error!(%id, ?collection, %undo_error, "could not undo vector write after document write failed");
                }
                Err(document_error.into())
            }
            (Err(document_error), Err(_)) => Err(document_error.into()),
        }
    }

    /// The document a client id already names, if any: the same one is
    /// answered again, a different one is a conflict.
    async fn already<D: Embedded>(
        &self,
        client_id: Option<&str>,
        request: &D::Request,
    ) -> Result<Option<(D, Outcome)>> {
        let Some(id) = client_id else {
            return Ok(None);
        };
        match D::fetch(self.documents.as_ref(), id).await? {
            Some(existing) => same_or_conflict(existing.matches(request), existing).map(Some),
            None => Ok(None),
        }
    }

    /// Embed a new document and write it with its vector. When a create of
    /// the same id won the race, the stored document's vector is restored
    /// (ours may have replaced it) and the stored one is answered as
    /// [`Self::already`] would.
    async fn create_embedded<D: Embedded>(
        &self,
        document: D,
        request: &D::Request,
    ) -> Result<(D, Outcome)> {
        let vector = self.embed_one(document.text()).await?;
        let point = document.point(vector);
        let write = document.store(self.documents.as_ref());
        match self.dual_write(D::COLLECTION, point, write).await {
            Ok(()) => Ok((document, Outcome::Created)),
            Err(Error::Store(StoreError::AlreadyExists { .. })) => {
                let existing = D::fetch(self.documents.as_ref(), document.id())
                    .await?
                    .ok_or_else(|| Error::not_found(D::KIND, document.id()))?;
                let vector = self.embed_one(existing.text()).await?;
                self.vectors
                    .upsert(D::COLLECTION, vec![existing.point(vector)])
                    .await?;
                same_or_conflict(existing.matches(request), existing)
            }
            Err(other) => Err(other),
        }
    }

    /// Embed (in one model call) and write the vectors these documents
    /// lack; the ids of those embedded (import, repair).
    async fn embed_missing<D: Embedded>(&self, documents: Vec<D>) -> Result<Vec<String>> {
        if documents.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = documents.iter().map(|d| d.id().to_string()).collect();
        let present: HashSet<String> = self
            .vectors
            .existing(D::COLLECTION, &ids)
            .await?
            .into_iter()
            .collect();
        let missing: Vec<D> = documents
            .into_iter()
            .filter(|d| !present.contains(d.id()))
            .collect();
        if missing.is_empty() {
            return Ok(Vec::new());
        }
        let texts = missing.iter().map(|d| d.text()).collect();
        let vectors = self.embedder.embed(texts).await?;
        let points = missing
            .iter()
            .zip(vectors)
            .map(|(d, vector)| d.point(vector))
            .collect();
        self.vectors.upsert(D::COLLECTION, points).await?;
        Ok(missing.iter().map(|d| d.id().to_string()).collect())
    }

    pub async fn health(&self) -> Health {
        let (store, vectors, model) = tokio::join!(
            self.documents.health(),
            self.vectors.health(),
            self.embedder.embed(vec!["health".to_string()])
        );
        Health {
            document_store: store.map_err(|e| e.to_string()),
            vector_index: vectors.map_err(|e| e.to_string()),
            embedding_model: model.map(|_| ()).map_err(|e| e.to_string()),
        }
    }

    pub async fn count_documents(&self, table: Table) -> Result<u64> {
        Ok(self.documents.count(table).await?)
    }

    pub async fn count_vectors(&self, collection: Collection) -> Result<u64> {
        Ok(self.vectors.count(collection).await?)
    }

    /// Make vector writes durable (documents are durable on commit).
    pub async fn flush(&self) -> Result<()> {
        Ok(self.vectors.flush().await?)
    }

    fn check_page(&self, limit: usize) -> Result<()> {
        if limit == 0 || limit > self.limits.max_page {
            return Err(ValidationError::new(
                "limit",
                format!("must be between 1 and {}", self.limits.max_page),
            )
            .into());
        }
        Ok(())
    }

    async fn require(&self, table: Table, field: &str, id: &str) -> Result<()> {
        let found = self.documents.existing(table, &[id.to_string()]).await?;
        if found.is_empty() {
            return Err(Error::unknown_reference(field, table.name(), id));
        }
        Ok(())
    }
}

/// The distinct values of one id field of `logs` (the ids a batch names).
fn distinct(logs: &[Log], field: fn(&Log) -> Option<&String>) -> Vec<String> {
    let set: HashSet<&String> = logs.iter().filter_map(field).collect();
    set.into_iter().cloned().collect()
}

/// `task`, the stored task `task_id` names (if any), belongs to `agent_id`:
/// the check of a `task_id` field.
fn task_of_agent(task: Option<&Task>, task_id: &str, agent_id: &str) -> Result<()> {
    let task = task.ok_or_else(|| Error::unknown_reference("task_id", "task", task_id))?;
    if task.agent_id != agent_id {
        return Err(Error::conflict(
            "task_id",
            format!(
                "task {task_id} belongs to agent {}, not {agent_id}",
                task.agent_id
            ),
        ));
    }
    Ok(())
}

fn same_or_conflict<T>(same: bool, existing: T) -> Result<(T, Outcome)> {
    if same {
        Ok((existing, Outcome::Existing))
    } else {
        Err(Error::conflict(
            "id",
            "a document with this id already exists with different content",
        ))
    }
}

/// A document created once by its client id and embedded as it is written:
/// agents and tasks. What their creates, imports and repairs share is
/// written once ([`Service::already`], [`Service::create_embedded`],
/// [`Service::embed_missing`]).
#[async_trait::async_trait]
trait Embedded: Sized + Send + Sync {
    /// What a client sends to create one.
    type Request: Sync;
    const KIND: &'static str;
    const COLLECTION: Collection;
    fn id(&self) -> &str;
    /// The text its vector is made from.
    fn text(&self) -> String;
    fn point(&self, vector: Vec<f32>) -> VectorPoint;
    /// Whether a create with `request` would have made this document.
    fn matches(&self, request: &Self::Request) -> bool;
    /// Whether an imported copy is this document again (its identity and
    /// text; a task's progress may have moved on).
    fn same_content(&self, other: &Self) -> bool;
    /// The agent it belongs to, when that is another document.
    fn owner(&self) -> Option<&str>;
    async fn fetch(documents: &dyn Documents, id: &str) -> Result<Option<Self>, StoreError>;
    async fn fetch_many(documents: &dyn Documents, ids: &[String])
        -> Result<Vec<Self>, StoreError>;
    /// A page of all of them, in the store's listing order.
    async fn list(
        documents: &dyn Documents,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Self>, StoreError>;
    async fn store(&self, documents: &dyn Documents) -> Result<(), StoreError>;
}
