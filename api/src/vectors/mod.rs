//! Vector index: the trait the router uses, and its adapters.
//!
//! `edge` is Qdrant Edge in-process (the embedded default); `remote` is a
//! Qdrant server over gRPC. Both implement the same trait.

pub mod edge;
pub mod remote;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// The collections VectaDB keeps vectors in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Collection {
    Agents,
    Tasks,
}

impl Collection {
    pub const ALL: [Collection; 2] = [Collection::Agents, Collection::Tasks];
}

/// Collection names, from config (`QDRANT_AGENT_COLLECTION`, `QDRANT_TASK_COLLECTION`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionNames {
    pub agents: String,
    pub tasks: String,
}

impl CollectionNames {
    pub fn name(&self, collection: Collection) -> &str {
        match collection {
            Collection::Agents => &self.agents,
            Collection::Tasks => &self.tasks,
        }
    }
}

impl Default for CollectionNames {
    fn default() -> Self {
        Self {
            agents: "agents".into(),
            tasks: "tasks".into(),
        }
    }
}

/// The one definition of the collections, used by every adapter (and by
/// provisioning): cosine distance, and keyword payload indexes on the
/// fields searches filter on.
pub const DISTANCE_COSINE: &str = "cosine";
pub const PAYLOAD_ID: &str = "id";
pub const PAYLOAD_AGENT_ID: &str = "agent_id";
pub const PAYLOAD_STATUS: &str = "status";
pub const INDEXED_PAYLOAD_FIELDS: [&str; 2] = [PAYLOAD_AGENT_ID, PAYLOAD_STATUS];

/// One vector with the payload fields searches filter on.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorPoint {
    /// The document id (a short nanoid string). Adapters map it to whatever
    /// point id their engine needs and return it unchanged from searches.
    pub id: String,
    pub vector: Vec<f32>,
    /// The owning agent (for an agent, its own id).
    pub agent_id: String,
    /// Task status, for task vectors.
    pub status: Option<String>,
}

/// Conditions a hit must satisfy (all that are set).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VectorFilter {
    pub agent_id: Option<String>,
    pub status: Option<String>,
}

/// A page of ids from [`VectorIndex::scroll_ids`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IdPage {
    pub ids: Vec<String>,
    pub next: Option<String>,
}

/// A search hit: the document id and its cosine similarity.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredId {
    pub id: String,
    pub score: f32,
}

/// The hits a search returns: those at or above `threshold` (inclusive, so
/// NaN scores never pass), best first, at most `limit`. Both adapters ask
/// their engine for the top `limit` without its (strict) score threshold and
/// finish here.
pub(crate) fn top_hits(
    hits: impl IntoIterator<Item = ScoredId>,
    threshold: f32,
    limit: usize,
) -> Vec<ScoredId> {
    let mut hits: Vec<ScoredId> = hits
        .into_iter()
        .filter(|hit| hit.score >= threshold)
        .collect();
    hits.sort_by(|a, b| b.score.total_cmp(&a.score));
    hits.truncate(limit);
    hits
}

#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    #[error("vector index error: {0}")]
    Backend(String),
    #[error("vector index is unavailable: {0}")]
    Unavailable(String),
    #[error("vector dimension mismatch: collection {collection:?} holds {expected}-dim vectors, got {got}")]
    Dimension {
        collection: Collection,
        expected: usize,
        got: usize,
    },
}

/// Where vectors live. All methods are safe to call concurrently.
#[async_trait]
pub trait VectorIndex: Send + Sync {
    /// Insert or replace points (by id).
    async fn upsert(
        &self,
        collection: Collection,
        points: Vec<VectorPoint>,
    ) -> Result<(), VectorError>;
    /// Change the `status` payload of one point, keeping its vector; an
    /// unknown id is ignored.
    async fn set_status(
        &self,
        collection: Collection,
        id: &str,
        status: &str,
    ) -> Result<(), VectorError>;
    /// Delete points by document id; unknown ids are ignored.
    async fn delete(&self, collection: Collection, ids: &[String]) -> Result<(), VectorError>;
    /// Delete every point whose `agent_id` is the given one.
    async fn delete_by_agent(
        &self,
        collection: Collection,
        agent_id: &str,
    ) -> Result<(), VectorError>;
    /// Nearest points by cosine similarity, best first, only those with
    /// similarity >= `threshold`, at most `limit`.
    async fn search(
        &self,
        collection: Collection,
        vector: Vec<f32>,
        limit: usize,
        threshold: f32,
        filter: &VectorFilter,
    ) -> Result<Vec<ScoredId>, VectorError>;
    /// Which of these document ids have a vector.
    async fn existing(
        &self,
        collection: Collection,
        ids: &[String],
    ) -> Result<Vec<String>, VectorError>;
    /// One page of the document ids that have points, in a stable order;
    /// pass the returned cursor back for the next page (None: done).
    async fn scroll_ids(
        &self,
        collection: Collection,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<IdPage, VectorError>;
    /// Number of points in a collection.
    async fn count(&self, collection: Collection) -> Result<u64, VectorError>;
    /// The vector size every collection was created with.
    fn dimension(&self) -> usize;
    /// Cheap liveness check.
    async fn health(&self) -> Result<(), VectorError>;
    /// Make everything written so far durable.
    async fn flush(&self) -> Result<(), VectorError>;
}
