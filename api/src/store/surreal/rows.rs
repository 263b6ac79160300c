//! Rows to documents: the fields each query selects, statement results
//! as JSON or as typed rows, and the row layout of logs from schema
//! version 6 and older.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use surrealdb::types::SurrealValue;

use super::map_error;
use crate::domain::{Agent, Log, LogLevel, Task, Thought};
use crate::store::StoreError;

pub(super) const AGENT_FIELDS: &str =
    "record::id(id) AS id, role, goal, metadata, created_at, updated_at";
pub(super) const TASK_FIELDS: &str =
    "record::id(id) AS id, agent_id, description, status, input, output, \
     metadata, created_at, updated_at, started_at, completed_at";
pub(super) const THOUGHT_FIELDS: &str =
    "record::id(id) AS id, agent_id, task_id, parent_id, step, kind, \
     content, metadata, created_at";
pub(super) const LOG_FIELDS: &str =
    "record::id(id) AS id, agent_id, task_id, thought_id, level, message, metadata, timestamp, \
     anomaly_score";

/// One statement's result as JSON.
pub(super) fn take_json(
    response: &mut surrealdb::IndexedResults,
    index: usize,
) -> Result<Value, StoreError> {
    let value: surrealdb::types::Value = response.take(index).map_err(map_error)?;
    Ok(value.into_json_value())
}

/// The value of the last statement that returned one (a transaction's
/// `RETURN`; `COMMIT` and `LET` return nothing).
pub(super) fn take_last(response: &mut surrealdb::IndexedResults) -> Result<Value, StoreError> {
    for index in (0..response.num_statements()).rev() {
        let value = take_json(response, index)?;
        if !value.is_null() {
            return Ok(value);
        }
    }
    Ok(Value::Null)
}

pub(super) fn take_rows<T: FromRow>(
    response: &mut surrealdb::IndexedResults,
    index: usize,
    table: &'static str,
) -> Result<Vec<T>, StoreError> {
    let value: surrealdb::types::Value = response.take(index).map_err(map_error)?;
    let rows = match value {
        surrealdb::types::Value::Array(rows) => rows.into_iter().collect(),
        surrealdb::types::Value::None | surrealdb::types::Value::Null => Vec::new(),
        single => vec![single],
    };
    rows.into_iter()
        .map(|row| T::from_row(table, row))
        .collect::<Result<Vec<T>, _>>()
}

/// A document decoded from one selected row.
pub(super) trait FromRow: Sized {
    fn from_row(table: &'static str, row: surrealdb::types::Value) -> Result<Self, StoreError>;
}

/// Documents decoded through their JSON form (serde, with task
/// input/output text parsed back).
macro_rules! rows_through_json {
    ($($document:ty),*) => {$(
        impl FromRow for $document {
            fn from_row(
                table: &'static str,
                row: surrealdb::types::Value,
            ) -> Result<Self, StoreError> {
                decode(table, row.into_json_value())
            }
        }
    )*};
}
rows_through_json!(Agent, Task, Thought);

/// Logs, the bulk of a trace (1,000 of its 1,221 rows in the benchmark),
/// are decoded straight from SurrealDB's values: no JSON tree per row.
impl FromRow for Log {
    fn from_row(table: &'static str, row: surrealdb::types::Value) -> Result<Self, StoreError> {
        let failed = |message: String| StoreError::Decode { table, message };
        let row = LogRecord::from_value(row).map_err(|e| failed(e.to_string()))?;
        let level = LogLevel::parse(&row.level)
            .ok_or_else(|| failed(format!("unknown level {:?}", row.level)))?;
        let metadata = match row.metadata {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => return Err(failed(format!("metadata is not an object: {other}"))),
        };
        Ok(Log {
            id: row.id,
            agent_id: row.agent_id,
            task_id: row.task_id,
            thought_id: row.thought_id,
            level,
            message: row.message,
            metadata,
            timestamp: row.timestamp,
            anomaly_score: row
                .anomaly_score
                .and_then(|score| score.to_f64())
                .map(|score| score as f32),
        })
    }
}

pub(super) fn decode<T: DeserializeOwned>(
    table: &'static str,
    row: Value,
) -> Result<T, StoreError> {
    let row = decode_json_fields(row);
    serde_json::from_value(row).map_err(|e| StoreError::Decode {
        table,
        message: e.to_string(),
    })
}

/// Task input/output are stored as JSON text so any JSON value round-trips
/// exactly; decode them back in place.
pub(super) fn decode_json_fields(mut row: Value) -> Value {
    if let Value::Object(map) = &mut row {
        for key in ["input", "output"] {
            if let Some(Value::String(text)) = map.get(key) {
                if let Ok(parsed) = serde_json::from_str::<Value>(text) {
                    map.insert(key.to_string(), parsed);
                }
            }
        }
    }
    row
}

pub(super) fn json_text(value: &Option<Value>) -> Value {
    match value {
        Some(v) => Value::String(v.to_string()),
        None => Value::Null,
    }
}

/// A log as schema version 6 and older stored it, one `log` record each,
/// in SurrealDB's own types: what the upgrade to blocks reads, and what the
/// benchmark's SurrealDB profile writes to compare that layout with blocks.
#[derive(SurrealValue)]
pub struct LogRecord {
    id: String,
    agent_id: String,
    task_id: Option<String>,
    thought_id: Option<String>,
    level: String,
    message: String,
    metadata: Value,
    timestamp: chrono::DateTime<chrono::Utc>,
    /// Any number SurrealDB holds (the field is a float, but an integer
    /// 0 or 1 written by hand decodes too).
    anomaly_score: Option<surrealdb::types::Number>,
}

impl From<&Log> for LogRecord {
    fn from(log: &Log) -> Self {
        LogRecord {
            id: log.id.clone(),
            agent_id: log.agent_id.clone(),
            task_id: log.task_id.clone(),
            thought_id: log.thought_id.clone(),
            level: log.level.as_str().to_string(),
            message: log.message.clone(),
            metadata: Value::Object(log.metadata.clone()),
            timestamp: log.timestamp,
            // Set by the indexer once the log is embedded.
            anomaly_score: None,
        }
    }
}
