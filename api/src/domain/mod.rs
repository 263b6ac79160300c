//! Domain types: what VectaDB stores (agents, tasks, thoughts, logs), the
//! requests that create them, and their validation. Knows nothing of HTTP
//! or of any store.

pub mod agent;
pub mod ids;
pub mod log;
pub mod task;
pub mod thought;
pub mod trace;
pub mod validate;

pub use agent::{Agent, NewAgent};
pub use log::{Log, LogCursor, LogFilter, LogLevel, NewLog};
pub use task::{NewTask, Task, TaskFilter, TaskPatch, TaskStatus};
pub use thought::{NewThought, Thought, ThoughtFilter};
pub use trace::{Trace, TraceShape, TraceTask};
pub use validate::ValidationError;

/// Free-form JSON attached to any document.
pub type Metadata = serde_json::Map<String, serde_json::Value>;

/// A page of documents and the total number matching.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    /// Whether `total` is an estimate (logs: a filter that a count of
    /// stored blocks cannot answer exactly, over more logs than are counted
    /// one by one). Absent when exact.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub total_estimated: bool,
    pub limit: usize,
    pub offset: usize,
    /// Pass as `cursor` for the next page (logs in time order); absent on
    /// the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page with an exact total and no cursor.
    pub fn new(items: Vec<T>, total: u64, limit: usize, offset: usize) -> Page<T> {
        Page {
            items,
            total,
            total_estimated: false,
            limit,
            offset,
            next_cursor: None,
        }
    }
}
