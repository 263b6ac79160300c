//! Vector index: the trait the service uses, and its adapters.
//!
//! `edge` is Qdrant Edge in-process (the embedded default); `remote` is a
//! Qdrant server over gRPC. Both implement the same trait. `points` makes
//! each kind of document's point.

pub mod edge;
pub mod points;
pub mod remote;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// The collections VectaDB keeps vectors in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Collection {
    Agents,
    Tasks,
    /// Embedded off the request path (see `indexer`).
    Logs,
    Thoughts,
}

impl Collection {
    pub const ALL: [Collection; 4] = [
        Collection::Agents,
        Collection::Tasks,
        Collection::Logs,
        Collection::Thoughts,
    ];
}

/// Collection names, from config (`QDRANT_{AGENT,TASK,LOG,THOUGHT}_COLLECTION`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionNames {
    pub agents: String,
    pub tasks: String,
    pub logs: String,
    pub thoughts: String,
}

impl CollectionNames {
    pub fn name(&self, collection: Collection) -> &str {
        match collection {
            Collection::Agents => &self.agents,
            Collection::Tasks => &self.tasks,
            Collection::Logs => &self.logs,
            Collection::Thoughts => &self.thoughts,
        }
    }

    /// The first name given to two collections, if any (each needs its own).
    pub fn duplicate(&self) -> Option<&str> {
        let mut seen = std::collections::HashSet::new();
        Collection::ALL
            .into_iter()
            .map(|c| self.name(c))
            .find(|name| !seen.insert(*name))
    }
}

impl Default for CollectionNames {
    fn default() -> Self {
        Self {
            agents: "agents".into(),
            tasks: "tasks".into(),
            logs: "logs".into(),
            thoughts: "thoughts".into(),
        }
    }
}

/// The one definition of the collections, used by every adapter (and by
/// provisioning): cosine distance, keyword payload indexes on the fields
/// searches match on and an integer index on the time they range over.
pub const DISTANCE_COSINE: &str = "cosine";
pub const PAYLOAD_ID: &str = "id";
pub const PAYLOAD_AGENT_ID: &str = "agent_id";
pub const PAYLOAD_STATUS: &str = "status";
pub const PAYLOAD_TASK_ID: &str = "task_id";
pub const PAYLOAD_LEVEL: &str = "level";
pub const PAYLOAD_KIND: &str = "kind";
/// Milliseconds since the Unix epoch.
pub const PAYLOAD_TIMESTAMP: &str = "timestamp";

/// An indexed payload field and the index type it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexType {
    Keyword,
    Integer,
}

/// The payload fields a collection's searches filter on, with their index
/// type. Only those: every index is flushed with every write.
pub fn indexed_fields(collection: Collection) -> &'static [(&'static str, IndexType)] {
    use IndexType::{Integer, Keyword};
    match collection {
        Collection::Agents => &[],
        Collection::Tasks => &[(PAYLOAD_AGENT_ID, Keyword), (PAYLOAD_STATUS, Keyword)],
        Collection::Logs => &[
            (PAYLOAD_AGENT_ID, Keyword),
            (PAYLOAD_TASK_ID, Keyword),
            (PAYLOAD_LEVEL, Keyword),
            (PAYLOAD_TIMESTAMP, Integer),
        ],
        Collection::Thoughts => &[
            (PAYLOAD_AGENT_ID, Keyword),
            (PAYLOAD_TASK_ID, Keyword),
            (PAYLOAD_KIND, Keyword),
            (PAYLOAD_TIMESTAMP, Integer),
        ],
    }
}

/// The indexes of a collection, said for people (provisioning reports).
pub fn indexes_described(collection: Collection) -> String {
    let fields = indexed_fields(collection);
    if fields.is_empty() {
        return "no payload indexes".into();
    }
    let listed: Vec<String> = fields
        .iter()
        .map(|(field, index)| match index {
            IndexType::Keyword => format!("{field} (keyword)"),
            IndexType::Integer => format!("{field} (integer)"),
        })
        .collect();
    format!("indexes on {}", listed.join(", "))
}

/// One vector with the payload fields searches filter on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VectorPoint {
    /// The document id (a short nanoid string). Adapters map it to whatever
    /// point id their engine needs and return it unchanged from searches.
    pub id: String,
    pub vector: Vec<f32>,
    /// The owning agent (for an agent, its own id).
    pub agent_id: String,
    /// Task status, for task vectors.
    pub status: Option<String>,
    /// The owning task, for logs and thoughts.
    pub task_id: Option<String>,
    /// Log level, for logs.
    pub level: Option<String>,
    /// Thought kind, for thoughts.
    pub kind: Option<String>,
    /// When it happened (logs, thoughts), in ms since the Unix epoch.
    pub timestamp: Option<i64>,
}

impl VectorPoint {
    /// The payload every adapter stores: the document id and the set fields.
    pub fn payload(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut map = serde_json::Map::new();
        map.insert(PAYLOAD_ID.into(), self.id.clone().into());
        map.insert(PAYLOAD_AGENT_ID.into(), self.agent_id.clone().into());
        for (field, value) in [
            (PAYLOAD_STATUS, &self.status),
            (PAYLOAD_TASK_ID, &self.task_id),
            (PAYLOAD_LEVEL, &self.level),
            (PAYLOAD_KIND, &self.kind),
        ] {
            if let Some(value) = value {
                map.insert(field.into(), value.clone().into());
            }
        }
        if let Some(timestamp) = self.timestamp {
            map.insert(PAYLOAD_TIMESTAMP.into(), timestamp.into());
        }
        map
    }
}

/// Conditions a hit must satisfy (all that are set).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VectorFilter {
    pub agent_id: Option<String>,
    pub status: Option<String>,
    pub task_id: Option<String>,
    /// Any of these levels.
    pub levels: Option<Vec<String>>,
    pub kind: Option<String>,
    /// Inclusive lower bound on `timestamp` (ms).
    pub since: Option<i64>,
    /// Exclusive upper bound on `timestamp` (ms).
    pub until: Option<i64>,
}

/// One condition of a [`VectorFilter`], for adapters to translate.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition<'a> {
    Keyword(&'static str, &'a str),
    AnyKeyword(&'static str, &'a [String]),
    Range {
        field: &'static str,
        gte: Option<i64>,
        lt: Option<i64>,
    },
}

impl VectorFilter {
    pub fn conditions(&self) -> Vec<Condition<'_>> {
        let mut all = Vec::new();
        for (field, value) in [
            (PAYLOAD_AGENT_ID, &self.agent_id),
            (PAYLOAD_STATUS, &self.status),
            (PAYLOAD_TASK_ID, &self.task_id),
            (PAYLOAD_KIND, &self.kind),
        ] {
            if let Some(value) = value {
                all.push(Condition::Keyword(field, value));
            }
        }
        if let Some(levels) = &self.levels {
            all.push(Condition::AnyKeyword(PAYLOAD_LEVEL, levels));
        }
        if self.since.is_some() || self.until.is_some() {
            all.push(Condition::Range {
                field: PAYLOAD_TIMESTAMP,
                gte: self.since,
                lt: self.until,
            });
        }
        all
    }
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

/// A deletion by a filter without any condition: refused.
fn no_condition() -> VectorError {
    VectorError::Backend("a deletion by filter needs at least one condition".into())
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
    ) -> Result<(), VectorError> {
        let filter = VectorFilter {
            agent_id: Some(agent_id.to_string()),
            ..VectorFilter::default()
        };
        self.delete_matching(collection, &filter).await
    }
    /// Delete every point that satisfies `filter`, which must have a
    /// condition (an empty filter is refused rather than emptying the
    /// collection).
    async fn delete_matching(
        &self,
        collection: Collection,
        filter: &VectorFilter,
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
    async fn count(&self, collection: Collection) -> Result<u64, VectorError> {
        self.count_matching(collection, &VectorFilter::default())
            .await
    }
    /// Points that satisfy `filter` (exact).
    async fn count_matching(
        &self,
        collection: Collection,
        filter: &VectorFilter,
    ) -> Result<u64, VectorError>;
    /// The vector size every collection was created with.
    fn dimension(&self) -> usize;
    /// Cheap liveness check.
    async fn health(&self) -> Result<(), VectorError>;
    /// Make everything written so far durable.
    async fn flush(&self) -> Result<(), VectorError>;
}
