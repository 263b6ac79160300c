//! Logs: what agents emit, with a level, a message and metadata.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ids, validate, Metadata, ValidationError};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Critical,
}

impl LogLevel {
    pub const ALL: [LogLevel; 6] = [
        LogLevel::Trace,
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Warn,
        LogLevel::Error,
        LogLevel::Critical,
    ];

    /// This level and every more severe one.
    pub fn and_above(self) -> Vec<LogLevel> {
        Self::ALL.into_iter().filter(|l| *l >= self).collect()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
            LogLevel::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Log {
    pub id: String,
    pub agent_id: String,
    #[serde(default)]
    pub task_id: Option<String>,
    #[serde(default)]
    pub thought_id: Option<String>,
    pub level: LogLevel,
    pub message: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: Metadata,
    pub timestamp: DateTime<Utc>,
    /// How unusual the log is for its agent, 0–1 (see `anomaly`); `null`
    /// until the indexer has embedded it.
    #[serde(default)]
    pub anomaly_score: Option<f32>,
}

/// One log in `POST /api/v1/logs` (the body is one of these or an array).
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLog {
    pub id: Option<String>,
    pub agent_id: String,
    #[serde(default)]
    pub task_id: Option<String>,
    #[serde(default)]
    pub thought_id: Option<String>,
    #[serde(default = "default_level")]
    pub level: LogLevel,
    pub message: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: Metadata,
    /// When the event happened; defaults to the time it was received.
    #[serde(default)]
    pub timestamp: Option<DateTime<Utc>>,
}

fn default_level() -> LogLevel {
    LogLevel::Info
}

impl NewLog {
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::optional_id("id", self.id.as_deref())?;
        validate::id("agent_id", &self.agent_id)?;
        validate::optional_id("task_id", self.task_id.as_deref())?;
        validate::optional_id("thought_id", self.thought_id.as_deref())?;
        validate::required_text("message", &self.message)?;
        validate::metadata("metadata", &self.metadata)
    }

    pub fn into_log(self, now: DateTime<Utc>) -> Log {
        Log {
            id: self.id.unwrap_or_else(ids::generate),
            agent_id: self.agent_id,
            task_id: self.task_id,
            thought_id: self.thought_id,
            level: self.level,
            message: self.message,
            metadata: self.metadata,
            timestamp: self.timestamp.unwrap_or(now),
            anomaly_score: None,
        }
    }
}

/// Which logs to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogFilter {
    pub agent_id: Option<String>,
    pub task_id: Option<String>,
    pub thought_id: Option<String>,
    pub level: Option<LogLevel>,
    /// Inclusive lower bound on `timestamp`.
    pub since: Option<DateTime<Utc>>,
    /// Exclusive upper bound on `timestamp`.
    pub until: Option<DateTime<Utc>>,
    /// Only logs scored at least this (implies scored logs only).
    pub min_anomaly_score: Option<f32>,
    /// Scored logs only, highest anomaly score first (else time order).
    pub by_anomaly: bool,
    /// Time order newest first (when not by anomaly).
    pub newest_first: bool,
}
