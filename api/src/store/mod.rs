//! Document and graph store: its roles ([`Documents`], [`EmbedQueue`],
//! [`TextQueue`], [`credentials::CredentialStore`], and OTLP's
//! [`OtelStash`], defined beside the OTLP model), bundled as [`Stores`],
//! and their SurrealDB adapter. `schema.surql` is the one definition of
//! tables, fields, indexes and edge tables; every mode applies it through
//! [`schema`].

pub mod credentials;
pub mod schema;
pub mod surreal;

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::{
    Agent, Log, LogFilter, NewThought, Page, Task, TaskFilter, Thought, ThoughtFilter, Trace,
    TraceShape,
};
use crate::otlp::stash::OtelStash;
use crate::text::{Found, TextFilter, TextQuery};
use credentials::CredentialStore;

/// What an embedding job holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmbedKind {
    Log,
    Thought,
    Agent,
    Task,
}

/// A queued embedding job: documents of one kind to embed.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct EmbedJob {
    pub id: String,
    pub kind: EmbedKind,
    pub ids: Vec<String>,
}

/// What retention removes, each by its own window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expiring {
    /// Logs whose time is past the window (whole blocks: a block is removed
    /// once its last log is).
    Logs,
    /// Thoughts created before the window.
    Thoughts,
    /// Tasks not updated within the window, with their thoughts and logs.
    Tasks,
}

impl Expiring {
    pub const ALL: [Expiring; 3] = [Expiring::Logs, Expiring::Thoughts, Expiring::Tasks];

    pub fn name(self) -> &'static str {
        match self {
            Expiring::Logs => "logs",
            Expiring::Thoughts => "thoughts",
            Expiring::Tasks => "tasks",
        }
    }
}

/// What one round of expiry removed from the store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expired {
    /// Documents of the expiring kind removed (logs, thoughts or tasks).
    pub removed: u64,
    /// The tasks removed (their vectors, and their thoughts' and logs',
    /// are the caller's to remove).
    pub tasks: Vec<String>,
    /// Logs and thoughts removed with those tasks.
    pub with_tasks: (u64, u64),
    /// Embedding queue entries removed: ones older than the cutoff whose
    /// documents are all gone.
    pub queue_entries: u64,
    /// Whether more may have expired than this round removed.
    pub more: bool,
}

/// Document tables, for existence checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Agent,
    Task,
    Thought,
    Log,
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::Agent => "agent",
            Table::Task => "task",
            Table::Thought => "thought",
            Table::Log => "log",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{table} {id} already exists")]
    AlreadyExists { table: &'static str, id: String },
    /// A unique constraint other than the id refused the write.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A transaction lost a write race and may be run again.
    #[error("transaction conflict: {0}")]
    Retryable(String),
    #[error("document store is unavailable: {0}")]
    Unavailable(String),
    #[error("document store error: {0}")]
    Backend(String),
    #[error("stored {table} could not be decoded: {message}")]
    Decode {
        table: &'static str,
        message: String,
    },
}

/// Where documents and the graph between them live: agents, tasks,
/// thoughts and logs, their traces, text search over them and expiry.
#[async_trait]
pub trait Documents: Send + Sync {
    async fn create_agent(&self, agent: &Agent) -> Result<(), StoreError>;
    async fn get_agent(&self, id: &str) -> Result<Option<Agent>, StoreError>;
    /// The agents that exist among `ids`, in no particular order.
    async fn get_agents(&self, ids: &[String]) -> Result<Vec<Agent>, StoreError>;
    /// Newest first; with `text`, only agents whose role or goal contains
    /// it (case-insensitive).
    async fn list_agents(
        &self,
        text: Option<&str>,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Agent>, StoreError>;
    /// Delete an agent with its tasks, thoughts and logs, atomically.
    /// Returns whether it existed.
    async fn delete_agent(&self, id: &str) -> Result<bool, StoreError>;

    /// Create a task.
    async fn create_task(&self, task: &Task) -> Result<(), StoreError>;
    async fn get_task(&self, id: &str) -> Result<Option<Task>, StoreError>;
    async fn get_tasks(&self, ids: &[String]) -> Result<Vec<Task>, StoreError>;
    /// Newest first.
    async fn list_tasks(
        &self,
        filter: &TaskFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Task>, StoreError>;
    /// Replace a task's mutable fields.
    async fn update_task(&self, task: &Task) -> Result<(), StoreError>;
    async fn delete_task(&self, id: &str) -> Result<(), StoreError>;

    /// Create a thought: settle its step and parent (the previous step of its
    /// chain unless given) and write it with its embedding and text queue
    /// entries, in one transaction.
    async fn create_thought(&self, request: NewThought) -> Result<Thought, StoreError>;
    /// Like `create_thought`, keeping the time it was created (migrations).
    async fn import_thought(
        &self,
        request: NewThought,
        created_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Thought, StoreError>;
    async fn get_thought(&self, id: &str) -> Result<Option<Thought>, StoreError>;
    /// The thoughts that exist among `ids`, in no particular order.
    async fn get_thoughts(&self, ids: &[String]) -> Result<Vec<Thought>, StoreError>;
    /// In chain order.
    async fn list_thoughts(
        &self,
        filter: &ThoughtFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Thought>, StoreError>;

    /// Insert logs, and queue them for embedding, in one transaction: all
    /// or none.
    async fn insert_logs(&self, logs: &[Log]) -> Result<(), StoreError>;
    /// The stored logs among `ids`.
    async fn get_logs(&self, ids: &[String]) -> Result<Vec<Log>, StoreError>;
    /// In time order.
    async fn list_logs(
        &self,
        filter: &LogFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Log>, StoreError>;

    /// Record the anomaly scores of logs (ids that are gone are skipped).
    async fn set_anomaly_scores(&self, scores: &[(String, f32)]) -> Result<(), StoreError>;

    /// Which of `ids` exist in `table`.
    async fn existing(&self, table: Table, ids: &[String]) -> Result<Vec<String>, StoreError>;
    /// Remove at most about `limit` expired documents of one kind (older
    /// than `cutoff`), each round in one transaction.
    async fn expire(
        &self,
        kind: Expiring,
        cutoff: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Expired, StoreError>;
    /// A page of an agent's trace, shaped by `shape` (None: no such agent).
    async fn trace(&self, agent_id: &str, shape: &TraceShape) -> Result<Option<Trace>, StoreError>;
    /// Number of documents in a table.
    async fn count(&self, table: Table) -> Result<u64, StoreError>;

    /// Logs whose message matches a text query, best first (BM25), at
    /// most `limit`; only logs already indexed ([`TextQueue::index_text`])
    /// are found.
    async fn search_logs(
        &self,
        query: &TextQuery,
        filter: &TextFilter,
        limit: usize,
    ) -> Result<Found<Log>, StoreError>;
    /// Thoughts whose content matches a text query, best first.
    async fn search_thoughts(
        &self,
        query: &TextQuery,
        filter: &TextFilter,
        limit: usize,
    ) -> Result<Found<Thought>, StoreError>;

    async fn health(&self) -> Result<(), StoreError>;
}

/// The durable queue of documents waiting to be embedded: each write of a
/// log, thought, agent or task queues it in the same transaction.
#[async_trait]
pub trait EmbedQueue: Send + Sync {
    /// Lease up to `limit` embedding jobs no other worker holds, oldest
    /// first, for `lease` (a worker that dies lets its lease expire).
    async fn lease_embed_jobs(
        &self,
        limit: usize,
        lease: std::time::Duration,
    ) -> Result<Vec<EmbedJob>, StoreError>;
    /// Record a job's progress: the ids still to embed (renewing the lease),
    /// or none left: the job is done and removed.
    async fn settle_embed_job(
        &self,
        job: &str,
        remaining: &[String],
        lease: std::time::Duration,
    ) -> Result<(), StoreError>;
    /// Drop every lease (a single process owning an embedded store, at start).
    async fn release_embed_leases(&self) -> Result<(), StoreError>;
    /// Documents waiting to be embedded.
    async fn embed_backlog(&self) -> Result<u64, StoreError>;
}

/// The durable queue of log blocks and thoughts waiting to be indexed for
/// full-text search ([`Documents::search_logs`] finds only indexed ones).
#[async_trait]
pub trait TextQueue: Send + Sync {
    /// One round of text indexing: up to `limit` queued writes leased for
    /// `lease` and indexed. Returns the blocks and thoughts handled (0: none
    /// waiting).
    async fn index_text(
        &self,
        limit: usize,
        lease: std::time::Duration,
    ) -> Result<usize, StoreError>;
    /// Log blocks and thoughts waiting to be indexed for text search.
    async fn text_backlog(&self) -> Result<u64, StoreError>;
}

/// One store seen by role: each consumer takes the roles it uses. All are
/// usually the same store (SurrealDB), wrapped once for metrics.
#[derive(Clone)]
pub struct Stores {
    pub documents: Arc<dyn Documents>,
    pub embed_queue: Arc<dyn EmbedQueue>,
    pub text_queue: Arc<dyn TextQueue>,
    pub otel: Arc<dyn OtelStash>,
    pub credentials: Arc<dyn CredentialStore>,
}

impl Stores {
    /// Every role served by one store.
    pub fn of<S>(store: Arc<S>) -> Self
    where
        S: Documents + EmbedQueue + TextQueue + OtelStash + CredentialStore + 'static,
    {
        Self {
            documents: store.clone(),
            embed_queue: store.clone(),
            text_queue: store.clone(),
            otel: store.clone(),
            credentials: store,
        }
    }

    /// The same stores with `documents` replaced by `wrap(documents)` (e.g.
    /// to inject faults in tests).
    pub fn wrap_documents(
        mut self,
        wrap: impl FnOnce(Arc<dyn Documents>) -> Arc<dyn Documents>,
    ) -> Self {
        self.documents = wrap(self.documents);
        self
    }
}
