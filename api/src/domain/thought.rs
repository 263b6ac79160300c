//! Thoughts: the chain-of-thought steps of an agent, optionally within a task.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ids, validate, Metadata, ValidationError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Thought {
    pub id: String,
    pub agent_id: String,
    #[serde(default)]
    pub task_id: Option<String>,
    /// The step this one follows from; by default the previous step of the
    /// same chain (same agent and task).
    #[serde(default)]
    pub parent_id: Option<String>,
    /// Position in the chain, from 1.
    pub step: u64,
    /// What kind of step: `reasoning` (default), `plan`, `tool`, `observation`...
    pub kind: String,
    pub content: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: Metadata,
    pub created_at: DateTime<Utc>,
}

/// Body of `POST /api/v1/thoughts`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewThought {
    pub id: Option<String>,
    pub agent_id: String,
    #[serde(default)]
    pub task_id: Option<String>,
    #[serde(default)]
    pub parent_id: Option<String>,
    /// Explicit position; when absent the thought goes after the last step
    /// of its chain.
    #[serde(default)]
    pub step: Option<u64>,
    #[serde(default)]
    pub kind: Option<String>,
    pub content: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: Metadata,
}

pub const DEFAULT_KIND: &str = "reasoning";
const MAX_KIND_LEN: usize = 64;

impl NewThought {
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::optional_id("id", self.id.as_deref())?;
        validate::id("agent_id", &self.agent_id)?;
        validate::optional_id("task_id", self.task_id.as_deref())?;
        validate::optional_id("parent_id", self.parent_id.as_deref())?;
        if self.step == Some(0) {
            return Err(ValidationError::new("step", "must be 1 or more"));
        }
        if let Some(kind) = &self.kind {
            if kind.is_empty()
                || kind.len() > MAX_KIND_LEN
                || !kind
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(ValidationError::new(
                    "kind",
                    "must be 1 to 64 letters, digits, '_' or '-'",
                ));
            }
        }
        validate::required_text("content", &self.content)?;
        validate::metadata("metadata", &self.metadata)
    }

    /// The stored thought, once the store has settled its step and parent.
    pub fn into_thought(self, step: u64, parent_id: Option<String>, now: DateTime<Utc>) -> Thought {
        Thought {
            id: self.id.unwrap_or_else(ids::generate),
            agent_id: self.agent_id,
            task_id: self.task_id,
            parent_id,
            step,
            kind: self.kind.unwrap_or_else(|| DEFAULT_KIND.to_string()),
            content: self.content,
            metadata: self.metadata,
            created_at: now,
        }
    }
}

impl Thought {
    /// Whether `request` describes this thought (for idempotent creates).
    pub fn matches(&self, request: &NewThought) -> bool {
        self.agent_id == request.agent_id
            && self.task_id == request.task_id
            && request
                .parent_id
                .as_ref()
                .is_none_or(|p| self.parent_id.as_ref() == Some(p))
            && request.step.is_none_or(|s| s == self.step)
            && self.kind == request.kind.as_deref().unwrap_or(DEFAULT_KIND)
            && self.content == request.content
            && self.metadata == request.metadata
    }
}

/// Which thoughts to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThoughtFilter {
    pub agent_id: Option<String>,
    pub task_id: Option<String>,
    /// Only thoughts outside any task (with `agent_id`: the agent's own
    /// chain).
    pub outside_tasks: bool,
    /// Only steps after this one (a trace's thought cursor).
    pub after_step: Option<u64>,
}
