//! Logs: what agents emit, with a level, a message and metadata.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{validate, Metadata, ValidationError};

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

    /// The level a name (`as_str`) stands for.
    pub fn parse(name: &str) -> Option<LogLevel> {
        Self::ALL.into_iter().find(|l| l.as_str() == name)
    }

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

    /// The log as stored: `generated_id` unless the client chose one, the
    /// timestamp `now` unless the client gave one.
    pub fn into_log(self, now: DateTime<Utc>, generated_id: impl FnOnce() -> String) -> Log {
        Log {
            id: self.id.unwrap_or_else(generated_id),
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
    /// Only logs outside any task.
    pub outside_tasks: bool,
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
    /// Only logs after this one in the listing's order (keyset paging).
    pub after: Option<LogCursor>,
}

/// Where a time-ordered listing of logs stopped: its last log's timestamp
/// and id. Sent to clients as an opaque string (`next_cursor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogCursor {
    pub timestamp: DateTime<Utc>,
    pub id: String,
}

impl LogCursor {
    pub fn of(log: &Log) -> LogCursor {
        LogCursor {
            timestamp: log.timestamp,
            id: log.id.clone(),
        }
    }

    /// `{nanoseconds since 1970}.{id}` (ids never hold a `.`).
    pub fn encode(&self) -> String {
        let nanos = self.timestamp.timestamp_nanos_opt().unwrap_or_default();
        format!("{nanos}.{}", self.id)
    }

    pub fn decode(text: &str) -> Option<LogCursor> {
        let (nanos, id) = text.split_once('.')?;
        if !super::ids::is_valid(id) {
            return None;
        }
        Some(LogCursor {
            timestamp: DateTime::from_timestamp_nanos(nanos.parse().ok()?),
            id: id.to_string(),
        })
    }

    /// Whether `log` comes after this cursor in time order (`newest_first`:
    /// in reverse time order).
    pub fn precedes(&self, log: &Log, newest_first: bool) -> bool {
        let this = (self.timestamp, self.id.as_str());
        let other = (log.timestamp, log.id.as_str());
        if newest_first {
            other < this
        } else {
            other > this
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = LogCursor {
            timestamp: DateTime::parse_from_rfc3339("2026-01-02T03:04:05.123456789Z")
                .unwrap()
                .with_timezone(&Utc),
            id: "abcdefghij-7".into(),
        };
        assert_eq!(LogCursor::decode(&cursor.encode()), Some(cursor));
        for bad in ["", "12", "x.abc", "12.a b", "12."] {
            assert_eq!(LogCursor::decode(bad), None, "{bad}");
        }
    }
}
