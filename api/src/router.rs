//! The router: fans each write out to the document store and the vector
//! index, undoing one side when the other fails, and merges reads (vector
//! hits → full documents). Knows nothing of HTTP.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::Utc;
use serde::Serialize;
use tokio::sync::Notify;

use crate::domain::{
    validate, Agent, Log, LogCursor, LogFilter, LogLevel, NewAgent, NewLog, NewTask, NewThought,
    Page, Task, TaskFilter, TaskPatch, TaskStatus, Thought, ThoughtFilter, Trace, TraceShape,
    ValidationError,
};
use crate::embed::cache::EmbedCache;
use crate::embed::{text, Embedder};
use crate::error::{Error, Result};
use crate::indexer::{Indexer, IndexerSettings};
use crate::store::{DocumentStore, StoreError, Table};
use crate::text::{TextFilter, TextQuery};
use crate::vectors::{Collection, ScoredId, VectorFilter, VectorIndex, VectorPoint};

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

/// A similarity query (agents or tasks).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimilarQuery {
    pub query: String,
    pub threshold: Option<f32>,
    pub limit: Option<usize>,
    pub filter: VectorFilter,
    /// How logs and thoughts are searched (agents and tasks: by meaning).
    pub mode: SearchMode,
}

/// How a log or thought search finds its results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchMode {
    /// By meaning (vectors); `similarity` is the cosine similarity.
    #[default]
    Semantic,
    /// By words, phrases and prefixes (full-text, BM25); `similarity` is
    /// the BM25 score.
    Text,
    /// Both, fused by reciprocal rank; `similarity` is the fused score.
    Hybrid,
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

pub struct VectaRouter {
    pub(crate) store: Arc<dyn DocumentStore>,
    pub(crate) vectors: Arc<dyn VectorIndex>,
    pub(crate) embedder: Arc<dyn Embedder>,
    defaults: SearchDefaults,
    limits: Limits,
    /// Wakes the indexer when logs or thoughts were queued for embedding.
    pub(crate) wake_indexer: Arc<Notify>,
    /// Wakes the OTLP worker when an export was accepted.
    pub(crate) wake_otlp: Arc<Notify>,
    /// OTLP items in the inbox, as last counted plus those accepted since.
    pub(crate) otlp_pending: Arc<std::sync::atomic::AtomicU64>,
    /// Vectors already computed, by text: searches repeated and documents
    /// re-embedded skip the model, and the indexer shares it.
    cache: Arc<EmbedCache>,
}

impl VectaRouter {
    /// Fails when the model's dimension differs from the collections'.
    pub fn new(
        store: Arc<dyn DocumentStore>,
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
            store,
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

    /// The indexer that embeds what this router queues (see [`Indexer`]).
    /// Keep computed vectors in `cache` (default: none kept).
    pub fn with_cache(mut self, cache: Arc<EmbedCache>) -> Self {
        self.cache = cache;
        self
    }

    /// The indexer that embeds what this router queues (see [`Indexer`]),
    /// sharing this router's cache, giving way to `foreground`.
    pub fn indexer(
        &self,
        settings: IndexerSettings,
        foreground: Arc<crate::foreground::Foreground>,
    ) -> Indexer {
        Indexer::new(
            self.store.clone(),
            self.vectors.clone(),
            self.embedder.clone(),
            self.wake_indexer.clone(),
            settings,
        )
        .with_cache(self.cache.clone())
        .with_foreground(foreground)
    }

    /// The retention worker over this router's stores.
    pub fn retention(
        &self,
        settings: crate::retention::RetentionSettings,
    ) -> crate::retention::Retention {
        crate::retention::Retention::new(self.store.clone(), self.vectors.clone(), settings)
    }

    /// The model this router embeds with.
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
                    Collection::Agents => self.store.delete_agent(&id).await.map(|_| ()),
                    Collection::Tasks => self.store.delete_task(&id).await,
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

    pub(crate) fn agent_point(agent: &Agent, vector: Vec<f32>) -> VectorPoint {
        VectorPoint {
            id: agent.id.clone(),
            vector,
            agent_id: agent.id.clone(),
            ..VectorPoint::default()
        }
    }

    pub(crate) fn task_point(task: &Task, vector: Vec<f32>) -> VectorPoint {
        VectorPoint {
            id: task.id.clone(),
            vector,
            agent_id: task.agent_id.clone(),
            status: Some(task.status.as_str().to_string()),
            ..VectorPoint::default()
        }
    }

    // ---- agents ----

    pub async fn create_agent(&self, request: NewAgent) -> Result<(Agent, Outcome)> {
        request.validate()?;
        if let Some(id) = &request.id {
            if let Some(existing) = self.store.get_agent(id).await? {
                return same_or_conflict(existing.matches(&request), existing);
            }
        }
        let agent = request.clone().into_agent(Utc::now());
        let vector = self.embed_one(text::agent(&agent)).await?;
        let point = Self::agent_point(&agent, vector);
        match self
            .dual_write(Collection::Agents, point, self.store.create_agent(&agent))
            .await
        {
            Ok(()) => Ok((agent, Outcome::Created)),
            Err(Error::Store(StoreError::AlreadyExists { .. })) => {
                // Lost a race with a create of the same id.
                let existing = self
                    .store
                    .get_agent(&agent.id)
                    .await?
                    .ok_or_else(|| Error::not_found("agent", agent.id.clone()))?;
                let vector = self.embed_one(text::agent(&existing)).await?;
                self.vectors
                    .upsert(
                        Collection::Agents,
                        vec![Self::agent_point(&existing, vector)],
                    )
                    .await?;
                same_or_conflict(existing.matches(&request), existing)
            }
            Err(other) => Err(other),
        }
    }

    pub async fn get_agent(&self, id: &str) -> Result<Agent> {
        self.store
            .get_agent(id)
            .await?
            .ok_or_else(|| Error::not_found("agent", id))
    }

    pub async fn list_agents(
        &self,
        text: Option<&str>,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Agent>> {
        self.check_page(limit)?;
        if let Some(text) = text {
            crate::domain::validate::bounded_text("q", text)?;
        }
        let text = text.map(str::trim).filter(|t| !t.is_empty());
        Ok(self.store.list_agents(text, limit, offset).await?)
    }

    /// Delete an agent and everything it owns: documents first (one
    /// transaction), then its vectors.
    pub async fn delete_agent(&self, id: &str) -> Result<()> {
        if !self.store.delete_agent(id).await? {
            return Err(Error::not_found("agent", id));
        }
        self.vectors
            .delete(Collection::Agents, &[id.to_string()])
            .await?;
        for collection in [Collection::Tasks, Collection::Logs, Collection::Thoughts] {
            self.vectors.delete_by_agent(collection, id).await?;
        }
        Ok(())
    }

    // ---- tasks ----

    pub async fn create_task(&self, request: NewTask) -> Result<(Task, Outcome)> {
        request.validate()?;
        if let Some(id) = &request.id {
            if let Some(existing) = self.store.get_task(id).await? {
                return same_or_conflict(existing.matches(&request), existing);
            }
        }
        self.require(Table::Agent, "agent_id", &request.agent_id)
            .await?;
        let task = request.clone().into_task(Utc::now());
        let vector = self.embed_one(text::task(&task)).await?;
        let point = Self::task_point(&task, vector);
        match self
            .dual_write(Collection::Tasks, point, self.store.create_task(&task))
            .await
        {
            Ok(()) => Ok((task, Outcome::Created)),
            Err(Error::Store(StoreError::AlreadyExists { .. })) => {
                let existing = self.get_task(&task.id).await?;
                let vector = self.embed_one(text::task(&existing)).await?;
                self.vectors
                    .upsert(Collection::Tasks, vec![Self::task_point(&existing, vector)])
                    .await?;
                same_or_conflict(existing.matches(&request), existing)
            }
            Err(other) => Err(other),
        }
    }

    pub async fn get_task(&self, id: &str) -> Result<Task> {
        self.store
            .get_task(id)
            .await?
            .ok_or_else(|| Error::not_found("task", id))
    }

    pub async fn list_tasks(
        &self,
        filter: &TaskFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Task>> {
        self.check_page(limit)?;
        Ok(self.store.list_tasks(filter, limit, offset).await?)
    }

    /// Update status/output/description/metadata. The vector is re-embedded
    /// only when the description changed; a status change updates the
    /// vector's payload. If the vector side fails the document is restored.
    pub async fn update_task(&self, id: &str, patch: TaskPatch) -> Result<Task> {
        patch.validate()?;
        let before = self.get_task(id).await?;
        let mut task = before.clone();
        let text_changed = task.apply(patch, Utc::now());
        let vector = if text_changed {
            Some(self.embed_one(text::task(&task)).await?)
        } else {
            None
        };
        self.store.update_task(&task).await?;
        let vector_result = match vector {
            Some(vector) => {
                self.vectors
                    .upsert(Collection::Tasks, vec![Self::task_point(&task, vector)])
                    .await
            }
            None if task.status != before.status => {
                self.vectors
                    .set_status(Collection::Tasks, &task.id, task.status.as_str())
                    .await
            }
            None => Ok(()),
        };
        if let Err(error) = vector_result {
            if let Err(undo_error) = self.store.update_task(&before).await {
                tracing::error!(%id, %undo_error, "could not restore task after vector update failed");
            }
            return Err(error.into());
        }
        Ok(task)
    }

    // ---- thoughts ----

    pub async fn create_thought(&self, request: NewThought) -> Result<(Thought, Outcome)> {
        request.validate()?;
        if let Some(id) = &request.id {
            if let Some(existing) = self.store.get_thought(id).await? {
                return same_or_conflict(existing.matches(&request), existing);
            }
        }
        self.require(Table::Agent, "agent_id", &request.agent_id)
            .await?;
        if let Some(task_id) = &request.task_id {
            let task = self
                .store
                .get_task(task_id)
                .await?
                .ok_or_else(|| Error::unknown_reference("task_id", "task", task_id))?;
            if task.agent_id != request.agent_id {
                return Err(Error::conflict(
                    "task_id",
                    format!(
                        "task {task_id} belongs to agent {}, not {}",
                        task.agent_id, request.agent_id
                    ),
                ));
            }
        }
        if let Some(parent_id) = &request.parent_id {
            let parent = self
                .store
                .get_thought(parent_id)
                .await?
                .ok_or_else(|| Error::unknown_reference("parent_id", "thought", parent_id))?;
            if parent.agent_id != request.agent_id {
                return Err(Error::conflict(
                    "parent_id",
                    format!(
                        "thought {parent_id} belongs to agent {}, not {}",
                        parent.agent_id, request.agent_id
                    ),
                ));
            }
        }
        match self.store.create_thought(request.clone()).await {
            Ok(thought) => {
                self.wake_indexer.notify_one();
                Ok((thought, Outcome::Created))
            }
            Err(StoreError::AlreadyExists { id, .. }) => {
                let existing = self
                    .store
                    .get_thought(&id)
                    .await?
                    .ok_or_else(|| Error::not_found("thought", id))?;
                same_or_conflict(existing.matches(&request), existing)
            }
            Err(StoreError::Conflict(message)) => Err(Error::conflict("step", message)),
            Err(other) => Err(other.into()),
        }
    }

    pub async fn get_thought(&self, id: &str) -> Result<Thought> {
        self.store
            .get_thought(id)
            .await?
            .ok_or_else(|| Error::not_found("thought", id))
    }

    pub async fn list_thoughts(
        &self,
        filter: &ThoughtFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Thought>> {
        self.check_page(limit)?;
        Ok(self.store.list_thoughts(filter, limit, offset).await?)
    }

    // ---- logs ----

    /// Validate the whole batch, check every reference, then write it in one
    /// transaction: a rejected batch writes nothing. Logs resent with the
    /// same id and body are accepted again without being duplicated.
    pub async fn ingest_logs(&self, requests: Vec<NewLog>) -> Result<Ingested> {
        if requests.is_empty() {
            return Err(ValidationError::new("logs", "must contain at least one log").into());
        }
        if requests.len() > self.limits.max_log_batch {
            return Err(Error::TooLarge {
                field: "logs".into(),
                message: format!(
                    "a batch holds at most {} logs, got {}",
                    self.limits.max_log_batch,
                    requests.len()
                ),
            });
        }
        for (i, log) in requests.iter().enumerate() {
            log.validate()
                .map_err(|e| e.within(&format!("logs[{i}]")))?;
        }
        let now = Utc::now();
        // Only a client-chosen id can already be stored (a resend); ids made
        // here are fresh, so they are not looked up.
        let client_ids: Vec<String> = requests.iter().filter_map(|r| r.id.clone()).collect();
        // Ids made here share one batch key: the store finds a log by it.
        let mut generated = crate::domain::ids::batch_ids(requests.len()).into_iter();
        let logs: Vec<Log> = requests
            .into_iter()
            .map(|r| {
                r.into_log(now, || {
                    generated
                        .next()
                        .unwrap_or_else(crate::domain::ids::generate)
                })
            })
            .collect();
        self.check_log_references(&logs).await?;

        // Duplicate ids within the batch, and ids already stored.
        let mut seen = HashSet::new();
        for (i, log) in logs.iter().enumerate() {
            if !seen.insert(log.id.as_str()) {
                return Err(Error::conflict(
                    format!("logs[{i}].id"),
                    format!("log id {} appears twice in the batch", log.id),
                ));
            }
        }
        let stored: HashMap<String, Log> = self
            .store
            .get_logs(&client_ids)
            .await?
            .into_iter()
            .map(|l| (l.id.clone(), l))
            .collect();
        let mut fresh = Vec::with_capacity(logs.len());
        let mut result = Vec::with_capacity(logs.len());
        let mut new = Vec::with_capacity(logs.len());
        for (i, log) in logs.into_iter().enumerate() {
            new.push(!stored.contains_key(&log.id));
            match stored.get(&log.id) {
                Some(existing) if same_log(existing, &log) => result.push(existing.clone()),
                Some(_) => {
                    return Err(Error::conflict(
                        format!("logs[{i}].id"),
                        format!("log {} already exists with different content", log.id),
                    ))
                }
                None => {
                    fresh.push(log.clone());
                    result.push(log);
                }
            }
        }
        if !fresh.is_empty() {
            self.store.insert_logs(&fresh).await?;
            self.wake_indexer.notify_one();
        }
        Ok(Ingested { logs: result, new })
    }

    /// Every agent, task and thought a batch names exists, and each task and
    /// thought belongs to the agent (and task) the log names.
    async fn check_log_references(&self, logs: &[Log]) -> Result<()> {
        let unique = |f: fn(&Log) -> Option<&String>| -> Vec<String> {
            let set: HashSet<&String> = logs.iter().filter_map(f).collect();
            set.into_iter().cloned().collect()
        };
        let agents: HashSet<String> = self
            .store
            .existing(Table::Agent, &unique(|l| Some(&l.agent_id)))
            .await?
            .into_iter()
            .collect();
        let tasks: HashMap<String, Task> = self
            .store
            .get_tasks(&unique(|l| l.task_id.as_ref()))
            .await?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        let thoughts: HashMap<String, Thought> = self
            .store
            .get_thoughts(&unique(|l| l.thought_id.as_ref()))
            .await?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        for (i, log) in logs.iter().enumerate() {
            let at = |field: &str| format!("logs[{i}].{field}");
            if !agents.contains(&log.agent_id) {
                return Err(Error::unknown_reference(
                    at("agent_id"),
                    "agent",
                    &log.agent_id,
                ));
            }
            if let Some(task_id) = &log.task_id {
                let task = tasks
                    .get(task_id)
                    .ok_or_else(|| Error::unknown_reference(at("task_id"), "task", task_id))?;
                if task.agent_id != log.agent_id {
                    return Err(Error::conflict(
                        at("task_id"),
                        format!(
                            "task {task_id} belongs to agent {}, not {}",
                            task.agent_id, log.agent_id
                        ),
                    ));
                }
            }
            if let Some(thought_id) = &log.thought_id {
                let thought = thoughts.get(thought_id).ok_or_else(|| {
                    Error::unknown_reference(at("thought_id"), "thought", thought_id)
                })?;
                if thought.agent_id != log.agent_id
                    || (log.task_id.is_some() && thought.task_id != log.task_id)
                {
                    return Err(Error::conflict(
                        at("thought_id"),
                        format!("thought {thought_id} belongs to another agent or task"),
                    ));
                }
            }
        }
        Ok(())
    }

    pub async fn list_logs(
        &self,
        filter: &LogFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Log>> {
        self.check_page(limit)?;
        if offset > MAX_LOG_OFFSET {
            return Err(ValidationError::new(
                "offset",
                format!("at most {MAX_LOG_OFFSET}; page further with `cursor` (`next_cursor`)"),
            )
            .into());
        }
        Ok(self.store.list_logs(filter, limit, offset).await?)
    }

    // ---- similarity ----

    pub async fn similar_agents(&self, query: SimilarQuery) -> Result<Vec<Scored<Agent>>> {
        let fetch = |ids: Vec<String>| async move { self.store.get_agents(&ids).await };
        self.similar(Collection::Agents, &query, fetch, |a| &a.id)
            .await
    }

    pub async fn similar_tasks(&self, query: SimilarQuery) -> Result<Vec<Scored<Task>>> {
        let fetch = |ids: Vec<String>| async move { self.store.get_tasks(&ids).await };
        self.similar(Collection::Tasks, &query, fetch, |t| &t.id)
            .await
    }

    /// Logs by meaning (those embedded so far: see [`Indexer`]), by text
    /// (those indexed so far: [`crate::text::indexer`]) or both.
    pub async fn similar_logs(&self, query: SimilarQuery) -> Result<Vec<Scored<Log>>> {
        let by_meaning = |query: SimilarQuery| async move {
            let fetch = |ids: Vec<String>| async move { self.store.get_logs(&ids).await };
            self.similar(Collection::Logs, &query, fetch, |l| &l.id)
                .await
        };
        let by_text = |text: TextQuery, filter: TextFilter, limit: usize| async move {
            Ok(self.store.search_logs(&text, &filter, limit).await?)
        };
        self.search_by_mode(query, by_meaning, by_text, |l: &Log| &l.id)
            .await
    }

    /// Thoughts by meaning, by text or both (see [`Self::similar_logs`]).
    pub async fn similar_thoughts(&self, query: SimilarQuery) -> Result<Vec<Scored<Thought>>> {
        let by_meaning = |query: SimilarQuery| async move {
            let fetch = |ids: Vec<String>| async move { self.store.get_thoughts(&ids).await };
            self.similar(Collection::Thoughts, &query, fetch, |t| &t.id)
                .await
        };
        let by_text = |text: TextQuery, filter: TextFilter, limit: usize| async move {
            Ok(self.store.search_thoughts(&text, &filter, limit).await?)
        };
        self.search_by_mode(query, by_meaning, by_text, |t: &Thought| &t.id)
            .await
    }

    /// Run `query` in its mode: by meaning, by text, or both fused by
    /// reciprocal rank (each side asked for the limit, so a document found
    /// by both is not crowded out).
    async fn search_by_mode<T, M, MFut, X, XFut>(
        &self,
        query: SimilarQuery,
        by_meaning: M,
        by_text: X,
        id: fn(&T) -> &String,
    ) -> Result<Vec<Scored<T>>>
    where
        M: FnOnce(SimilarQuery) -> MFut,
        MFut: std::future::Future<Output = Result<Vec<Scored<T>>>>,
        X: FnOnce(TextQuery, TextFilter, usize) -> XFut,
        XFut: std::future::Future<Output = Result<crate::text::Found<T>>>,
    {
        if query.mode == SearchMode::Semantic {
            return by_meaning(query).await;
        }
        if query.mode == SearchMode::Text && query.threshold.is_some() {
            return Err(ValidationError::new(
                "threshold",
                "applies to semantic and hybrid search only",
            )
            .into());
        }
        let limit = self.checked_limit(&query)?;
        let text =
            TextQuery::parse(&query.query).map_err(|e| ValidationError::new("query", e.0))?;
        let filter = text_filter(&query.filter)?;
        let unscored = |found: crate::text::Found<T>| {
            found
                .into_iter()
                .map(|(document, similarity)| Scored {
                    document,
                    similarity,
                })
                .collect::<Vec<_>>()
        };
        if query.mode == SearchMode::Text {
            return Ok(unscored(by_text(text, filter, limit).await?));
        }
        let (meaning, words) =
            tokio::try_join!(by_meaning(query.clone()), by_text(text, filter, limit))?;
        let rankings = vec![
            meaning.into_iter().map(|s| s.document).collect(),
            words.into_iter().map(|(d, _)| d).collect(),
        ];
        Ok(unscored(crate::text::fuse(
            rankings,
            |d: &T| id(d).as_str(),
            limit,
        )))
    }

    /// Search a collection, then fetch the hits' documents and return them
    /// in hit order with their similarity.
    async fn similar<T, F, Fut>(
        &self,
        collection: Collection,
        query: &SimilarQuery,
        fetch: F,
        id: fn(&T) -> &String,
    ) -> Result<Vec<Scored<T>>>
    where
        F: FnOnce(Vec<String>) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<Vec<T>, StoreError>>,
    {
        let hits = self.search(collection, query).await?;
        let ids: Vec<String> = hits.iter().map(|h| h.id.clone()).collect();
        let documents = fetch(ids).await?;
        Ok(merge(hits, documents, id))
    }

    /// The query's limit (or the default), checked.
    fn checked_limit(&self, query: &SimilarQuery) -> Result<usize> {
        let limit = query.limit.unwrap_or(self.defaults.limit);
        if limit == 0 || limit > self.limits.max_similar {
            return Err(ValidationError::new(
                "limit",
                format!("must be between 1 and {}", self.limits.max_similar),
            )
            .into());
        }
        Ok(limit)
    }

    async fn search(&self, collection: Collection, query: &SimilarQuery) -> Result<Vec<ScoredId>> {
        validate::required_text("query", &query.query)?;
        let threshold = query.threshold.unwrap_or(self.defaults.threshold);
        if !(-1.0..=1.0).contains(&threshold) {
            return Err(ValidationError::new("threshold", "must be between -1 and 1").into());
        }
        let limit = self.checked_limit(query)?;
        if let Some(status) = &query.filter.status {
            if !TaskStatus::ALL.iter().any(|s| s.as_str() == status) {
                return Err(ValidationError::new(
                    "filter.status",
                    "must be one of pending, running, completed, failed",
                )
                .into());
            }
        }
        if let (Some(since), Some(until)) = (query.filter.since, query.filter.until) {
            if since >= until {
                return Err(ValidationError::new(
                    "filter.until",
                    "must be later than filter.since",
                )
                .into());
            }
        }
        let vector = self.embed_one(query.query.clone()).await?;
        Ok(self
            .vectors
            .search(collection, vector, limit, threshold, &query.filter)
            .await?)
    }

    // ---- graph ----

    pub async fn trace(&self, agent_id: &str, shape: &TraceShape) -> Result<Trace> {
        self.store
            .trace(agent_id, shape)
            .await?
            .ok_or_else(|| Error::not_found("agent", agent_id))
    }

    /// More of a trace's logs: a task's (`task_id`), else the agent's
    /// outside tasks, in time order after `after`.
    pub async fn trace_logs(
        &self,
        agent_id: &str,
        task_id: Option<String>,
        after: Option<LogCursor>,
        limit: usize,
    ) -> Result<Page<Log>> {
        self.require_trace_node(agent_id, task_id.as_deref())
            .await?;
        let filter = LogFilter {
            agent_id: Some(agent_id.to_string()),
            outside_tasks: task_id.is_none(),
            task_id,
            after,
            ..LogFilter::default()
        };
        self.list_logs(&filter, limit, 0).await
    }

    /// More of a trace's thoughts: a task's chain (`task_id`), else the
    /// agent's outside tasks, in step order after `after_step`.
    pub async fn trace_thoughts(
        &self,
        agent_id: &str,
        task_id: Option<String>,
        after_step: Option<u64>,
        limit: usize,
    ) -> Result<Page<Thought>> {
        self.require_trace_node(agent_id, task_id.as_deref())
            .await?;
        let filter = ThoughtFilter {
            agent_id: Some(agent_id.to_string()),
            outside_tasks: task_id.is_none(),
            task_id,
            after_step,
        };
        self.list_thoughts(&filter, limit, 0).await
    }

    /// The agent exists (404 otherwise) and so does the task, as one of its
    /// own (else an unknown reference naming `task_id`).
    async fn require_trace_node(&self, agent_id: &str, task_id: Option<&str>) -> Result<()> {
        match task_id {
            None => {
                let found = self
                    .store
                    .existing(Table::Agent, &[agent_id.to_string()])
                    .await?;
                if found.is_empty() {
                    return Err(Error::not_found("agent", agent_id));
                }
            }
            Some(task_id) => {
                let task = self.store.get_task(task_id).await?;
                if task.is_none_or(|t| t.agent_id != agent_id) {
                    if self
                        .store
                        .existing(Table::Agent, &[agent_id.to_string()])
                        .await?
                        .is_empty()
                    {
                        return Err(Error::not_found("agent", agent_id));
                    }
                    return Err(Error::unknown_reference("task_id", "task", task_id));
                }
            }
        }
        Ok(())
    }

    // ---- operations ----

    pub async fn health(&self) -> Health {
        let (store, vectors, model) = tokio::join!(
            self.store.health(),
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
        Ok(self.store.count(table).await?)
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
        let found = self.store.existing(table, &[id.to_string()]).await?;
        if found.is_empty() {
            return Err(Error::unknown_reference(field, table.name(), id));
        }
        Ok(())
    }
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

/// A resent log is the same when everything but the timestamp matches
/// (a client that resends without a timestamp gets a new server one).
fn same_log(stored: &Log, resent: &Log) -> bool {
    stored.agent_id == resent.agent_id
        && stored.task_id == resent.task_id
        && stored.thought_id == resent.thought_id
        && stored.level == resent.level
        && stored.message == resent.message
        && stored.metadata == resent.metadata
}

/// A vector filter as a text search's filter (levels by name, times in
/// milliseconds); an inverted time range is refused as for vectors.
fn text_filter(filter: &VectorFilter) -> Result<TextFilter> {
    if let (Some(since), Some(until)) = (filter.since, filter.until) {
        if since >= until {
            return Err(
                ValidationError::new("filter.until", "must be later than filter.since").into(),
            );
        }
    }
    let time = |ms: Option<i64>| ms.and_then(chrono::DateTime::from_timestamp_millis);
    Ok(TextFilter {
        agent_id: filter.agent_id.clone(),
        task_id: filter.task_id.clone(),
        levels: filter
            .levels
            .as_ref()
            .map(|levels| levels.iter().filter_map(|l| LogLevel::parse(l)).collect()),
        kind: filter.kind.clone(),
        since: time(filter.since),
        until: time(filter.until),
    })
}

/// Documents in hit order with their similarity; hits whose document is
/// gone are dropped.
fn merge<T>(hits: Vec<ScoredId>, documents: Vec<T>, id: fn(&T) -> &String) -> Vec<Scored<T>> {
    let mut by_id: HashMap<String, T> =
        documents.into_iter().map(|d| (id(&d).clone(), d)).collect();
    hits.into_iter()
        .filter_map(|hit| {
            by_id.remove(&hit.id).map(|document| Scored {
                document,
                similarity: hit.score,
            })
        })
        .collect()
}
