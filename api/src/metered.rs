//! Timing around the backends: the document store, the vector index and
//! the model are wrapped once at start-up (`app::state`), so every call —
//! from the service, the indexer, auth — lands in
//! `vectadb_backend_request_duration_seconds{backend, operation}` or the
//! embedding histograms, without each adapter knowing about metrics.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::domain::{
    Agent, Log, LogFilter, NewThought, Page, Task, TaskFilter, Thought, ThoughtFilter, Trace,
    TraceShape,
};
use crate::embed::{EmbedError, Embedder};
use crate::metrics::Metrics;
use crate::otlp::mapping::Owner;
use crate::otlp::model::{Item, SpanRef};
use crate::otlp::stash::{InboxEntry, OtelStash, OtelWrite};
use crate::store::credentials::{CredentialStore, StoredKey, StoredUser};
use crate::store::{
    Documents, EmbedJob, EmbedQueue, Expired, Expiring, StoreError, Stores, Table, TextQueue,
};
use crate::text::{Found, TextFilter, TextQuery};
use crate::vectors::{
    Collection, IdPage, ScoredId, VectorError, VectorFilter, VectorIndex, VectorPoint,
};

pub struct Metered<T: ?Sized> {
    inner: Arc<T>,
    metrics: Arc<Metrics>,
}

impl<T: ?Sized> Metered<T> {
    pub fn new(inner: Arc<T>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }

    fn observe(&self, backend: &str, operation: &str, started: Instant) {
        self.metrics
            .backend_duration
            .with_label_values(&[backend, operation])
            .observe(started.elapsed().as_secs_f64());
    }
}

impl Stores {
    /// Every role timed under the `surrealdb` backend.
    pub fn metered(self, metrics: &Arc<Metrics>) -> Stores {
        Stores {
            documents: Arc::new(Metered::new(self.documents, metrics.clone())),
            embed_queue: Arc::new(Metered::new(self.embed_queue, metrics.clone())),
            text_queue: Arc::new(Metered::new(self.text_queue, metrics.clone())),
            otel: Arc::new(Metered::new(self.otel, metrics.clone())),
            credentials: Arc::new(Metered::new(self.credentials, metrics.clone())),
        }
    }
}

/// An `#[async_trait]` impl of `$trait` for `Metered<dyn $inner>` whose
/// async methods call the inner one and record their time under
/// `$backend` and the method's name after `$prefix` (which names the role
/// where its method names are short); `$rest` is pasted as is.
macro_rules! metered {
    ($trait:ident for $inner:ident, $backend:literal, $prefix:literal,
     { $(async fn $name:ident(&self $(, $arg:ident : $ty:ty)* $(,)?) -> $ret:ty;)* }
     $($rest:tt)*) => {
        #[async_trait::async_trait]
        impl $trait for Metered<dyn $inner> {
            $(async fn $name(&self $(, $arg: $ty)*) -> $ret {
                let started = Instant::now();
                let result = self.inner.$name($($arg),*).await;
                self.observe($backend, concat!($prefix, stringify!($name)), started);
                result
            })*
            $($rest)*
        }
    };
}

metered!(Documents for Documents, "surrealdb", "", {
    async fn create_agent(&self, agent: &Agent) -> Result<(), StoreError>;
    async fn get_agent(&self, id: &str) -> Result<Option<Agent>, StoreError>;
    async fn get_agents(&self, ids: &[String]) -> Result<Vec<Agent>, StoreError>;
    async fn list_agents(
        &self,
        text: Option<&str>,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Agent>, StoreError>;
    async fn delete_agent(&self, id: &str) -> Result<bool, StoreError>;
    async fn create_task(&self, task: &Task) -> Result<(), StoreError>;
    async fn get_task(&self, id: &str) -> Result<Option<Task>, StoreError>;
    async fn get_tasks(&self, ids: &[String]) -> Result<Vec<Task>, StoreError>;
    async fn list_tasks(
        &self,
        filter: &TaskFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Task>, StoreError>;
    async fn update_task(&self, task: &Task) -> Result<(), StoreError>;
    async fn delete_task(&self, id: &str) -> Result<(), StoreError>;
    async fn create_thought(&self, request: NewThought) -> Result<Thought, StoreError>;
    async fn import_thought(
        &self,
        request: NewThought,
        created_at: DateTime<Utc>,
    ) -> Result<Thought, StoreError>;
    async fn get_thought(&self, id: &str) -> Result<Option<Thought>, StoreError>;
    async fn get_thoughts(&self, ids: &[String]) -> Result<Vec<Thought>, StoreError>;
    async fn list_thoughts(
        &self,
        filter: &ThoughtFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Thought>, StoreError>;
    async fn insert_logs(&self, logs: &[Log]) -> Result<(), StoreError>;
    async fn get_logs(&self, ids: &[String]) -> Result<Vec<Log>, StoreError>;
    async fn list_logs(
        &self,
        filter: &LogFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Log>, StoreError>;
    async fn set_anomaly_scores(&self, scores: &[(String, f32)]) -> Result<(), StoreError>;
    async fn existing(&self, table: Table, ids: &[String]) -> Result<Vec<String>, StoreError>;
    async fn trace(&self, agent_id: &str, shape: &TraceShape) -> Result<Option<Trace>, StoreError>;
    async fn expire(
        &self,
        kind: Expiring,
        cutoff: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Expired, StoreError>;
    async fn count(&self, table: Table) -> Result<u64, StoreError>;
    async fn search_logs(
        &self,
        query: &TextQuery,
        filter: &TextFilter,
        limit: usize,
    ) -> Result<Found<Log>, StoreError>;
    async fn search_thoughts(
        &self,
        query: &TextQuery,
        filter: &TextFilter,
        limit: usize,
    ) -> Result<Found<Thought>, StoreError>;
    async fn health(&self) -> Result<(), StoreError>;
});

metered!(EmbedQueue for EmbedQueue, "surrealdb", "", {
    async fn lease_embed_jobs(
        &self,
        limit: usize,
        lease: std::time::Duration,
    ) -> Result<Vec<EmbedJob>, StoreError>;
    async fn settle_embed_job(
        &self,
        job: &str,
        remaining: &[String],
        lease: std::time::Duration,
    ) -> Result<(), StoreError>;
    async fn release_embed_leases(&self) -> Result<(), StoreError>;
    async fn embed_backlog(&self) -> Result<u64, StoreError>;
});

metered!(TextQueue for TextQueue, "surrealdb", "", {
    async fn index_text(&self, limit: usize, lease: std::time::Duration) -> Result<usize, StoreError>;
    async fn text_backlog(&self) -> Result<u64, StoreError>;
});

metered!(OtelStash for OtelStash, "surrealdb", "otel_", {
    async fn owners(&self, spans: &[SpanRef]) -> Result<Vec<(String, Owner)>, StoreError>;
    async fn waiting(&self, trace_ids: &[String]) -> Result<Vec<Item>, StoreError>;
    async fn expired(&self, age: Duration, limit: usize) -> Result<Vec<Item>, StoreError>;
    async fn enqueue(&self, items: &[Item]) -> Result<(), StoreError>;
    async fn lease(&self, items: u64, lease: Duration) -> Result<Vec<InboxEntry>, StoreError>;
    async fn release(&self, ids: Option<&[String]>) -> Result<(), StoreError>;
    async fn inbox_size(&self) -> Result<u64, StoreError>;
    async fn apply(&self, write: &OtelWrite) -> Result<(), StoreError>;
});

metered!(CredentialStore for CredentialStore, "surrealdb", "", {
    async fn insert_key(&self, key: &StoredKey) -> Result<(), StoreError>;
    async fn get_key(&self, id: &str) -> Result<Option<StoredKey>, StoreError>;
    async fn list_keys(&self) -> Result<Vec<StoredKey>, StoreError>;
    async fn revoke_key(&self, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError>;
    async fn put_user(&self, user: &StoredUser) -> Result<(), StoreError>;
    async fn get_user(&self, username: &str) -> Result<Option<StoredUser>, StoreError>;
    async fn has_credentials(&self) -> Result<bool, StoreError>;
    async fn revoke_session(&self, jti: &str, expires_at: DateTime<Utc>) -> Result<(), StoreError>;
    async fn session_revoked(&self, jti: &str) -> Result<bool, StoreError>;
});

metered!(VectorIndex for VectorIndex, "qdrant", "", {
    async fn upsert(&self, collection: Collection, points: Vec<VectorPoint>) -> Result<(), VectorError>;
    async fn set_status(&self, collection: Collection, id: &str, status: &str) -> Result<(), VectorError>;
    async fn delete(&self, collection: Collection, ids: &[String]) -> Result<(), VectorError>;
    async fn delete_matching(&self, collection: Collection, filter: &VectorFilter) -> Result<(), VectorError>;
    async fn search(&self, collection: Collection, vector: Vec<f32>, limit: usize, threshold: f32, filter: &VectorFilter) -> Result<Vec<ScoredId>, VectorError>;
    async fn existing(&self, collection: Collection, ids: &[String]) -> Result<Vec<String>, VectorError>;
    async fn scroll_ids(&self, collection: Collection, cursor: Option<String>, limit: usize) -> Result<IdPage, VectorError>;
    async fn count(&self, collection: Collection) -> Result<u64, VectorError>;
    async fn count_matching(&self, collection: Collection, filter: &VectorFilter) -> Result<u64, VectorError>;
    async fn health(&self) -> Result<(), VectorError>;
    async fn flush(&self) -> Result<(), VectorError>;
}
    fn dimension(&self) -> usize {
        self.inner.dimension()
    }
);

#[async_trait::async_trait]
impl Embedder for Metered<dyn Embedder> {
    fn dimension(&self) -> usize {
        self.inner.dimension()
    }

    fn fingerprint(&self) -> &str {
        self.inner.fingerprint()
    }

    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EmbedError> {
        let size = texts.len();
        let started = Instant::now();
        let result = self.inner.embed(texts).await;
        self.metrics.embedding_batch.observe(size as f64);
        self.metrics
            .embedding_duration
            .observe(started.elapsed().as_secs_f64());
        result
    }
}
