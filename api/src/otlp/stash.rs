//! What OTLP ingest keeps in the document store besides the documents it
//! makes ([`OtelStash`]): the inbox of acknowledged exports, and the one
//! write that turns inbox entries into agents, tasks, thoughts and logs
//! (with the bookkeeping of where spans went and what waits for its agent
//! span).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::mapping::Owner;
use super::model::{Item, SpanRef};
use crate::domain::{Agent, Log, NewThought, Task};
use crate::store::StoreError;

/// Where OTLP ingest keeps acknowledged exports until they are placed, and
/// its bookkeeping: where each placed span went and what waits for a span
/// not yet seen.
#[async_trait]
pub trait OtelStash: Send + Sync {
    /// Where these spans went, by span key, for the ones placed (a span
    /// placed again answers with its latest owner).
    async fn owners(&self, spans: &[SpanRef]) -> Result<Vec<(String, Owner)>, StoreError>;
    /// Items waiting in these traces.
    async fn waiting(&self, trace_ids: &[String]) -> Result<Vec<Item>, StoreError>;
    /// Up to `limit` items that have waited longer than `age`.
    async fn expired(&self, age: Duration, limit: usize) -> Result<Vec<Item>, StoreError>;
    /// Keep an accepted export's items until the OTLP worker places them
    /// (one durable write; the export is acknowledged after it).
    async fn enqueue(&self, items: &[Item]) -> Result<(), StoreError>;
    /// Lease inbox entries no other worker holds, oldest first, until they
    /// hold at least `items` items (at least one entry), for `lease`.
    async fn lease(&self, items: u64, lease: Duration) -> Result<Vec<InboxEntry>, StoreError>;
    /// Give leased entries back (a failed round), or every lease (`None`:
    /// a single process owning an embedded store, at start).
    async fn release(&self, ids: Option<&[String]>) -> Result<(), StoreError>;
    /// Items in the inbox (all processes).
    async fn inbox_size(&self) -> Result<u64, StoreError>;
    /// Write one round of OTLP ingest in one transaction (see [`OtelWrite`]).
    async fn apply(&self, write: &OtelWrite) -> Result<(), StoreError>;
}

/// An acknowledged export waiting in the inbox.
#[derive(Debug, Clone)]
pub struct InboxEntry {
    pub id: String,
    /// Its spans and log records as JSON text (decoded by the worker).
    pub items: String,
    /// How many items it holds.
    pub size: u64,
}

/// Everything one round of the OTLP worker writes, in one transaction:
/// either all of it lands and its inbox entries are gone, or none of it
/// does and the entries are still there to run again.
#[derive(Debug, Default)]
pub struct OtelWrite {
    /// New agents (each queued for embedding).
    pub agents: Vec<Agent>,
    /// New tasks (queued for embedding).
    pub tasks: Vec<Task>,
    /// Stored tasks whose status or output changed (queued again, so their
    /// vector's status follows).
    pub task_updates: Vec<Task>,
    /// New thoughts, in the order their chains take them; each one's step
    /// and parent are settled in the transaction (the chain's next step).
    pub thoughts: Vec<NewThought>,
    /// When the thoughts were created.
    pub thoughts_at: DateTime<Utc>,
    /// New logs (queued for embedding).
    pub logs: Vec<Log>,
    /// Where each placed span went.
    pub owners: Vec<(SpanRef, Owner)>,
    /// Waiting items placed now, by key.
    pub unpark: Vec<String>,
    /// Items to keep until their agent span arrives.
    pub park: Vec<Item>,
    /// The inbox entries this round consumed.
    pub done: Vec<String>,
}

impl OtelWrite {
    /// Whether it writes any document.
    pub fn has_documents(&self) -> bool {
        !(self.agents.is_empty()
            && self.tasks.is_empty()
            && self.task_updates.is_empty()
            && self.thoughts.is_empty()
            && self.logs.is_empty())
    }
}
