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
pub use log::{Log, LogFilter, LogLevel, NewLog};
pub use task::{NewTask, Task, TaskFilter, TaskPatch, TaskStatus};
pub use thought::{NewThought, Thought, ThoughtFilter};
pub use trace::{Trace, TraceTask};
pub use validate::ValidationError;

/// Free-form JSON attached to any document.
pub type Metadata = serde_json::Map<String, serde_json::Value>;

/// A page of documents and the total number matching.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub limit: usize,
    pub offset: usize,
}
