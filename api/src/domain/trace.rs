//! The execution trace of an agent: agent → tasks → thoughts → logs, in
//! bounded pages. A trace holds at most [`TraceShape::tasks`] tasks and,
//! under the agent and under each task, the first
//! [`TraceShape::thoughts`] thoughts and [`TraceShape::logs`] logs; every
//! list cut short carries a cursor for the rest (tasks: the trace's
//! `tasks_cursor`; thoughts and logs: `/traces/{agent}/thoughts` and
//! `/traces/{agent}/logs`).

use serde::{Deserialize, Serialize};

use super::validate::ValidationError;
use super::{Agent, Log, Task, Thought};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Trace {
    pub agent: Agent,
    /// Tasks in creation order, each with its own thoughts and logs.
    pub tasks: Vec<TraceTask>,
    /// Pass as `tasks_cursor` for the tasks after these; absent when there
    /// are no more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks_next_cursor: Option<String>,
    /// Thoughts of the agent outside any task, in chain order.
    pub thoughts: Vec<Thought>,
    /// Present when the agent has more thoughts outside tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thoughts_next_cursor: Option<String>,
    /// Logs of the agent outside any task, in time order.
    pub logs: Vec<Log>,
    /// Present when the agent has more logs outside tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs_next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TraceTask {
    #[serde(flatten)]
    pub task: Task,
    /// In chain order (step).
    pub thoughts: Vec<Thought>,
    /// Present when the task has more thoughts than these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thoughts_next_cursor: Option<String>,
    /// In time order.
    pub logs: Vec<Log>,
    /// Present when the task has more logs than these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs_next_cursor: Option<String>,
}

/// How much of a trace one response holds, and where its tasks start.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceShape {
    /// Most tasks.
    pub tasks: usize,
    /// Only tasks after this one (creation time, id).
    pub tasks_after: Option<TaskCursor>,
    /// Most thoughts under the agent and under each task.
    pub thoughts: usize,
    /// Most logs under the agent and under each task.
    pub logs: usize,
}

impl TraceShape {
    pub const DEFAULT_TASKS: usize = 100;
    pub const DEFAULT_THOUGHTS: usize = 100;
    pub const DEFAULT_LOGS: usize = 20;
    /// The most any one list of a trace may ask for.
    pub const MAX: usize = 1_000;

    /// A shape from optional request values (defaults where absent),
    /// each between 1 and [`TraceShape::MAX`]; an error names the field.
    pub fn new(
        tasks: Option<usize>,
        thoughts: Option<usize>,
        logs: Option<usize>,
        tasks_after: Option<TaskCursor>,
    ) -> Result<TraceShape, ValidationError> {
        let bounded = |field: &'static str, value: Option<usize>, default: usize| match value {
            None => Ok(default),
            Some(n) if (1..=Self::MAX).contains(&n) => Ok(n),
            Some(_) => Err(ValidationError::new(
                field,
                format!("must be between 1 and {}", Self::MAX),
            )),
        };
        Ok(TraceShape {
            tasks: bounded("tasks_limit", tasks, Self::DEFAULT_TASKS)?,
            thoughts: bounded("thoughts_per_task", thoughts, Self::DEFAULT_THOUGHTS)?,
            logs: bounded("logs_per_task", logs, Self::DEFAULT_LOGS)?,
            tasks_after,
        })
    }
}

impl Default for TraceShape {
    fn default() -> Self {
        TraceShape {
            tasks: Self::DEFAULT_TASKS,
            tasks_after: None,
            thoughts: Self::DEFAULT_THOUGHTS,
            logs: Self::DEFAULT_LOGS,
        }
    }
}

/// Where a page of an agent's tasks stopped: its last task's creation time
/// and id, encoded like a log cursor.
pub type TaskCursor = super::LogCursor;

/// Where a page of one chain of thoughts stopped: its last step.
pub fn thought_cursor(step: u64) -> String {
    step.to_string()
}

/// The step a thought cursor names, if it is one.
pub fn parse_thought_cursor(text: &str) -> Option<u64> {
    text.parse().ok()
}
