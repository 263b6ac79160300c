//! The execution trace of an agent: agent → tasks → thoughts → logs.

use serde::{Deserialize, Serialize};

use super::{Agent, Log, Task, Thought};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Trace {
    pub agent: Agent,
    /// Tasks in creation order, each with its own thoughts and logs.
    pub tasks: Vec<TraceTask>,
    /// Thoughts of the agent outside any task, in chain order.
    pub thoughts: Vec<Thought>,
    /// Logs of the agent outside any task, in time order.
    pub logs: Vec<Log>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TraceTask {
    #[serde(flatten)]
    pub task: Task,
    /// In chain order (step).
    pub thoughts: Vec<Thought>,
    /// In time order.
    pub logs: Vec<Log>,
}
