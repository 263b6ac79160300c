//! Fault injection around the real backends: each wrapper delegates to the
//! real store or index and fails the chosen operations while switched on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use vectadb::domain::{
    Agent, Log, LogFilter, NewThought, Page, Task, TaskFilter, Thought, ThoughtFilter, Trace,
    TraceShape,
};
use vectadb::store::{Documents, Expired, Expiring, StoreError, Table};
use vectadb::text::{Found, TextFilter, TextQuery};
use vectadb::vectors::{
    Collection, IdPage, ScoredId, VectorError, VectorFilter, VectorIndex, VectorPoint,
};

/// Fails `upsert` (and `health`) while `failing` is set.
pub struct FailingVectors {
    pub inner: Arc<dyn VectorIndex>,
    pub failing: AtomicBool,
}

impl FailingVectors {
    pub fn wrap(inner: Arc<dyn VectorIndex>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            failing: AtomicBool::new(false),
        })
    }

    pub fn fail(&self, on: bool) {
        self.failing.store(on, Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), VectorError> {
        if self.failing.load(Ordering::SeqCst) {
            Err(VectorError::Unavailable("injected fault".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl VectorIndex for FailingVectors {
    async fn upsert(&self, c: Collection, points: Vec<VectorPoint>) -> Result<(), VectorError> {
        self.check()?;
        self.inner.upsert(c, points).await
    }
    async fn set_status(&self, c: Collection, id: &str, status: &str) -> Result<(), VectorError> {
        self.check()?;
        self.inner.set_status(c, id, status).await
    }
    async fn delete(&self, c: Collection, ids: &[String]) -> Result<(), VectorError> {
        self.inner.delete(c, ids).await
    }
    async fn delete_matching(
        &self,
        c: Collection,
        filter: &VectorFilter,
    ) -> Result<(), VectorError> {
        self.inner.delete_matching(c, filter).await
    }
    async fn search(
        &self,
        c: Collection,
        vector: Vec<f32>,
        limit: usize,
        threshold: f32,
        filter: &VectorFilter,
    ) -> Result<Vec<ScoredId>, VectorError> {
        self.inner.search(c, vector, limit, threshold, filter).await
    }
    async fn existing(&self, c: Collection, ids: &[String]) -> Result<Vec<String>, VectorError> {
        self.inner.existing(c, ids).await
    }
    async fn scroll_ids(
        &self,
        c: Collection,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<IdPage, VectorError> {
        self.inner.scroll_ids(c, cursor, limit).await
    }
    async fn count(&self, c: Collection) -> Result<u64, VectorError> {
        self.inner.count(c).await
    }
    async fn count_matching(&self, c: Collection, f: &VectorFilter) -> Result<u64, VectorError> {
        self.inner.count_matching(c, f).await
    }
    fn dimension(&self) -> usize {
        self.inner.dimension()
    }
    async fn health(&self) -> Result<(), VectorError> {
        self.check()?;
        self.inner.health().await
    }
    async fn flush(&self) -> Result<(), VectorError> {
        self.inner.flush().await
    }
}

/// Fails document writes (creates, imports, anomaly scores) and `health`
/// while `failing` is set.
pub struct FailingStore {
    pub inner: Arc<dyn Documents>,
    pub failing: AtomicBool,
}

impl FailingStore {
    pub fn wrap(inner: Arc<dyn Documents>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            failing: AtomicBool::new(false),
        })
    }

    pub fn fail(&self, on: bool) {
        self.failing.store(on, Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable("injected fault".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Documents for FailingStore {
    async fn create_agent(&self, agent: &Agent) -> Result<(), StoreError> {
        self.check()?;
        self.inner.create_agent(agent).await
    }
    async fn get_agent(&self, id: &str) -> Result<Option<Agent>, StoreError> {
        self.inner.get_agent(id).await
    }
    async fn get_agents(&self, ids: &[String]) -> Result<Vec<Agent>, StoreError> {
        self.inner.get_agents(ids).await
    }
    async fn list_agents(
        &self,
        text: Option<&str>,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Agent>, StoreError> {
        self.inner.list_agents(text, limit, offset).await
    }
    async fn delete_agent(&self, id: &str) -> Result<bool, StoreError> {
        self.inner.delete_agent(id).await
    }
    async fn create_task(&self, task: &Task) -> Result<(), StoreError> {
        self.check()?;
        self.inner.create_task(task).await
    }
    async fn get_task(&self, id: &str) -> Result<Option<Task>, StoreError> {
        self.inner.get_task(id).await
    }
    async fn get_tasks(&self, ids: &[String]) -> Result<Vec<Task>, StoreError> {
        self.inner.get_tasks(ids).await
    }
    async fn list_tasks(
        &self,
        filter: &TaskFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Task>, StoreError> {
        self.inner.list_tasks(filter, limit, offset).await
    }
    async fn update_task(&self, task: &Task) -> Result<(), StoreError> {
        self.inner.update_task(task).await
    }
    async fn delete_task(&self, id: &str) -> Result<(), StoreError> {
        self.inner.delete_task(id).await
    }
    async fn create_thought(&self, request: NewThought) -> Result<Thought, StoreError> {
        self.inner.create_thought(request).await
    }
    async fn import_thought(
        &self,
        request: NewThought,
        created_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Thought, StoreError> {
        self.check()?;
        self.inner.import_thought(request, created_at).await
    }
    async fn get_thought(&self, id: &str) -> Result<Option<Thought>, StoreError> {
        self.inner.get_thought(id).await
    }
    async fn get_thoughts(&self, ids: &[String]) -> Result<Vec<Thought>, StoreError> {
        self.inner.get_thoughts(ids).await
    }
    async fn list_thoughts(
        &self,
        filter: &ThoughtFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Thought>, StoreError> {
        self.inner.list_thoughts(filter, limit, offset).await
    }
    async fn insert_logs(&self, logs: &[Log]) -> Result<(), StoreError> {
        self.inner.insert_logs(logs).await
    }
    async fn get_logs(&self, ids: &[String]) -> Result<Vec<Log>, StoreError> {
        self.inner.get_logs(ids).await
    }
    async fn list_logs(
        &self,
        filter: &LogFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Log>, StoreError> {
        self.inner.list_logs(filter, limit, offset).await
    }
    async fn set_anomaly_scores(&self, scores: &[(String, f32)]) -> Result<(), StoreError> {
        self.check()?;
        self.inner.set_anomaly_scores(scores).await
    }
    async fn existing(&self, table: Table, ids: &[String]) -> Result<Vec<String>, StoreError> {
        self.inner.existing(table, ids).await
    }
    async fn trace(&self, agent_id: &str, shape: &TraceShape) -> Result<Option<Trace>, StoreError> {
        self.inner.trace(agent_id, shape).await
    }
    async fn expire(
        &self,
        kind: Expiring,
        cutoff: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Expired, StoreError> {
        self.inner.expire(kind, cutoff, limit).await
    }
    async fn count(&self, table: Table) -> Result<u64, StoreError> {
        self.inner.count(table).await
    }
    async fn health(&self) -> Result<(), StoreError> {
        self.check()?;
        self.inner.health().await
    }
    async fn search_logs(
        &self,
        query: &TextQuery,
        filter: &TextFilter,
        limit: usize,
    ) -> Result<Found<Log>, StoreError> {
        self.inner.search_logs(query, filter, limit).await
    }
    async fn search_thoughts(
        &self,
        query: &TextQuery,
        filter: &TextFilter,
        limit: usize,
    ) -> Result<Found<Thought>, StoreError> {
        self.inner.search_thoughts(query, filter, limit).await
    }
}
