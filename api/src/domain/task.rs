//! Tasks: units of work an agent runs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ids, validate, Metadata, ValidationError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    #[default]
    Pending,
    Running,
    Completed,
    Failed,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 4] = [
        TaskStatus::Pending,
        TaskStatus::Running,
        TaskStatus::Completed,
        TaskStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Pending => "pending",
            TaskStatus::Running => "running",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
        }
    }

    pub fn is_finished(self) -> bool {
        matches!(self, TaskStatus::Completed | TaskStatus::Failed)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Task {
    pub id: String,
    pub agent_id: String,
    pub description: String,
    pub status: TaskStatus,
    #[serde(default)]
    pub input: Option<Value>,
    #[serde(default)]
    pub output: Option<Value>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: Metadata,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
}

/// Body of `POST /api/v1/tasks`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    pub id: Option<String>,
    pub agent_id: String,
    pub description: String,
    #[serde(default)]
    pub status: TaskStatus,
    #[serde(default)]
    pub input: Option<Value>,
    #[serde(default)]
    pub output: Option<Value>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: Metadata,
    /// When the work began, if it was recorded elsewhere (an OTLP span's
    /// start, a client's own clock). Default: when the task's status
    /// first left `pending`.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// When the work ended, for a `completed` or `failed` task. Default:
    /// when it reached that status.
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
}

impl NewTask {
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::optional_id("id", self.id.as_deref())?;
        validate::id("agent_id", &self.agent_id)?;
        validate::required_text("description", &self.description)?;
        validate::metadata("metadata", &self.metadata)?;
        if self.started_at.is_some() && self.status == TaskStatus::Pending {
            return Err(ValidationError::new(
                "started_at",
                "a pending task has not started",
            ));
        }
        if let Some(end) = self.completed_at {
            if !self.status.is_finished() {
                return Err(ValidationError::new(
                    "completed_at",
                    "only a completed or failed task has one",
                ));
            }
            if self.started_at.is_some_and(|start| end < start) {
                return Err(ValidationError::new(
                    "completed_at",
                    "must not be before started_at",
                ));
            }
        }
        Ok(())
    }

    pub fn into_task(self, now: DateTime<Utc>) -> Task {
        let mut task = Task {
            id: self.id.unwrap_or_else(ids::generate),
            agent_id: self.agent_id,
            description: self.description,
            status: TaskStatus::Pending,
            input: self.input,
            output: self.output,
            metadata: self.metadata,
            created_at: now,
            updated_at: now,
            started_at: None,
            completed_at: None,
        };
        task.set_status(self.status, now);
        task.started_at = self.started_at.or(task.started_at);
        task.completed_at = self.completed_at.or(task.completed_at);
        task
    }
}

impl Task {
    /// Whether `request` describes this task (for idempotent creates).
    pub fn matches(&self, request: &NewTask) -> bool {
        self.agent_id == request.agent_id
            && self.description == request.description
            && self.status == request.status
            && self.input == request.input
            && self.output == request.output
            && self.metadata == request.metadata
    }

    /// Change status, stamping when the task started and finished.
    pub fn set_status(&mut self, status: TaskStatus, now: DateTime<Utc>) {
        if status != TaskStatus::Pending && self.started_at.is_none() {
            self.started_at = Some(now);
        }
        self.completed_at = status.is_finished().then_some(now);
        self.status = status;
    }

    /// Apply a patch; returns whether the embedded text changed.
    pub fn apply(&mut self, patch: TaskPatch, now: DateTime<Utc>) -> bool {
        let mut text_changed = false;
        if let Some(description) = patch.description {
            text_changed = description != self.description;
            self.description = description;
        }
        if let Some(status) = patch.status {
            if status != self.status {
                self.set_status(status, now);
            }
        }
        if let Some(output) = patch.output {
            self.output = Some(output);
        }
        if let Some(metadata) = patch.metadata {
            self.metadata = metadata;
        }
        self.updated_at = now;
        text_changed
    }
}

/// Body of `PATCH /api/v1/tasks/{id}`: only the fields present change.
#[derive(Debug, Clone, PartialEq, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    pub description: Option<String>,
    pub status: Option<TaskStatus>,
    pub output: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Metadata>,
}

impl TaskPatch {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(d) = &self.description {
            validate::required_text("description", d)?;
        }
        if let Some(m) = &self.metadata {
            validate::metadata("metadata", m)?;
        }
        if self.description.is_none()
            && self.status.is_none()
            && self.output.is_none()
            && self.metadata.is_none()
        {
            return Err(ValidationError::new(
                "body",
                "nothing to change: give description, status, output or metadata",
            ));
        }
        Ok(())
    }
}

/// Which tasks to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskFilter {
    pub agent_id: Option<String>,
    pub status: Option<TaskStatus>,
}
