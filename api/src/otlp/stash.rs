//! What OTLP ingest keeps in the document store besides the documents it
//! makes: the inbox of acknowledged exports, and the one write that turns
//! inbox entries into agents, tasks, thoughts and logs (with the
//! bookkeeping of where spans went and what waits for its agent span).

use chrono::{DateTime, Utc};

use super::mapping::Owner;
use super::model::{Item, SpanRef};
use crate::domain::{Agent, Log, NewThought, Task};

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
