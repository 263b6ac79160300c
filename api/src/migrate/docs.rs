//! CouchDB documents of the Python proof of concept → VectaDB documents.
//!
//! The proof of concept stored one document per agent, task, thought and
//! log, told apart by `type` (or `doc_type`), with its own id in `<type>_id`
//! (else the CouchDB `_id`, possibly prefixed `agent:` / `agent_`), Python
//! `isoformat()` timestamps (often without a time zone: UTC), levels such as
//! `WARNING`, and task statuses such as `in_progress` or `done`. Ids and
//! timestamps are kept; anything the mapping does not know stays in
//! `metadata`. A document that cannot be mapped is rejected with a reason.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value};

use crate::domain::{
    ids, Agent, Log, LogLevel, NewAgent, NewLog, NewTask, NewThought, Task, TaskStatus, Thought,
};

/// What a document becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapped {
    Agent(Agent),
    Task(Task),
    /// A thought and the step it had (None: next in its chain).
    Thought(Thought, Option<u64>),
    Log(Log),
    /// Not data (design documents, deleted documents).
    Skip,
    Reject(String),
}

/// The kinds of document, in the order they are migrated (references
/// point backwards: a task to its agent, a log to its thought).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Agent,
    Task,
    Thought,
    Log,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Agent, Kind::Task, Kind::Thought, Kind::Log];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Agent => "agent",
            Kind::Task => "task",
            Kind::Thought => "thought",
            Kind::Log => "log",
        }
    }

    fn of(value: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == value)
    }
}

/// The document's kind, if it is data at all.
pub fn kind(doc: &Value) -> Result<Option<Kind>, String> {
    let id = doc["_id"].as_str().unwrap_or_default();
    if id.starts_with("_design/") || doc["_deleted"] == true {
        return Ok(None);
    }
    let kind = doc
        .get("type")
        .or_else(|| doc.get("doc_type"))
        .and_then(Value::as_str)
        .ok_or("no \"type\" field")?;
    Kind::of(&kind.to_ascii_lowercase())
        .map(Some)
        .ok_or_else(|| format!("unknown type {kind:?}"))
}

/// Map one document.
pub fn map(doc: &Value) -> Mapped {
    let kind = match kind(doc) {
        Ok(Some(kind)) => kind,
        Ok(None) => return Mapped::Skip,
        Err(reason) => return Mapped::Reject(reason),
    };
    let result = match kind {
        Kind::Agent => agent(doc).map(Mapped::Agent),
        Kind::Task => task(doc).map(Mapped::Task),
        Kind::Thought => thought(doc).map(|(t, step)| Mapped::Thought(t, step)),
        Kind::Log => log(doc).map(Mapped::Log),
    };
    result.unwrap_or_else(Mapped::Reject)
}

/// Fields the mapping reads; everything else goes to metadata.
const COMMON: [&str; 5] = ["_id", "_rev", "type", "doc_type", "metadata"];

fn text(doc: &Value, field: &str) -> Option<String> {
    doc.get(field).and_then(Value::as_str).map(str::to_string)
}

fn required(doc: &Value, field: &str) -> Result<String, String> {
    text(doc, field)
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| format!("{field} is missing or empty"))
}

/// The document's own id: `<kind>_id`, else `_id` without a `kind:` /
/// `kind_` prefix.
pub fn own_id(doc: &Value, kind: Kind) -> Result<String, String> {
    let field = format!("{}_id", kind.name());
    let id = match text(doc, &field) {
        Some(id) => id,
        None => {
            let raw = doc["_id"].as_str().ok_or("no _id")?;
            let prefixes = [format!("{}:", kind.name()), format!("{}_", kind.name())];
            prefixes
                .iter()
                .find_map(|p| raw.strip_prefix(p.as_str()))
                .unwrap_or(raw)
                .to_string()
        }
    };
    reference(&id, &field)
}

fn reference(id: &str, field: &str) -> Result<String, String> {
    if ids::is_valid(id) {
        Ok(id.to_string())
    } else {
        Err(format!(
            "{field} {id:?} is not a usable id (1 to 64 letters, digits, '_' or '-')"
        ))
    }
}

fn optional_reference(doc: &Value, fields: &[&str]) -> Result<Option<String>, String> {
    for field in fields {
        match doc.get(*field) {
            None | Some(Value::Null) => continue,
            Some(Value::String(id)) if id.is_empty() => continue,
            Some(Value::String(id)) => return reference(id, field).map(Some),
            Some(other) => return Err(format!("{field} is {other}, not a string")),
        }
    }
    Ok(None)
}

/// Python's `isoformat()` (with or without zone), RFC 3339, or epoch seconds.
pub fn timestamp(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
                    .iter()
                    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
                    .map(|naive| Utc.from_utc_datetime(&naive))
            }),
        Value::Number(n) => {
            let seconds = n.as_f64()?;
            DateTime::from_timestamp_millis((seconds * 1000.0) as i64)
        }
        _ => None,
    }
}

fn time_of(doc: &Value, fields: &[&str]) -> Result<Option<DateTime<Utc>>, String> {
    for field in fields {
        if let Some(value) = doc.get(*field).filter(|v| !v.is_null()) {
            return timestamp(value)
                .map(Some)
                .ok_or_else(|| format!("{field} {value} is not a timestamp"));
        }
    }
    Ok(None)
}

/// `metadata` (an object) plus every field the mapping did not read.
fn metadata(doc: &Value, read: &[&str]) -> Result<Map<String, Value>, String> {
    let mut metadata = match doc.get("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => return Err(format!("metadata is {other}, not an object")),
    };
    if let Some(object) = doc.as_object() {
        for (key, value) in object {
            if !COMMON.contains(&key.as_str()) && !read.contains(&key.as_str()) {
                metadata.entry(key.clone()).or_insert_with(|| value.clone());
            }
        }
    }
    Ok(metadata)
}

fn agent(doc: &Value) -> Result<Agent, String> {
    let id = own_id(doc, Kind::Agent)?;
    let read = ["agent_id", "role", "goal", "created_at", "updated_at"];
    let request = NewAgent {
        id: Some(id),
        role: required(doc, "role")?,
        goal: required(doc, "goal")?,
        metadata: metadata(doc, &read)?,
    };
    request.validate().map_err(|e| e.to_string())?;
    let created = time_of(doc, &["created_at"])?.unwrap_or_else(Utc::now);
    let mut agent = request.into_agent(created);
    agent.updated_at = time_of(doc, &["updated_at"])?.unwrap_or(created);
    Ok(agent)
}

fn status(value: Option<&str>) -> Result<TaskStatus, String> {
    Ok(match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("pending") | Some("queued") | Some("created") => TaskStatus::Pending,
        Some("running") | Some("in_progress") | Some("active") | Some("started") => {
            TaskStatus::Running
        }
        Some("completed") | Some("done") | Some("success") | Some("succeeded") => {
            TaskStatus::Completed
        }
        Some("failed") | Some("error") | Some("cancelled") | Some("canceled") => TaskStatus::Failed,
        Some(other) => return Err(format!("status {other:?} is not a task status")),
    })
}

fn task(doc: &Value) -> Result<Task, String> {
    let id = own_id(doc, Kind::Task)?;
    let agent_id = reference(&required(doc, "agent_id")?, "agent_id")?;
    let read = [
        "task_id",
        "agent_id",
        "description",
        "status",
        "input",
        "output",
        "created_at",
        "updated_at",
        "started_at",
        "completed_at",
    ];
    let request = NewTask {
        id: Some(id),
        agent_id,
        description: required(doc, "description")?,
        status: status(doc["status"].as_str())?,
        input: doc.get("input").filter(|v| !v.is_null()).cloned(),
        output: doc.get("output").filter(|v| !v.is_null()).cloned(),
        metadata: metadata(doc, &read)?,
        started_at: None,
        completed_at: None,
    };
    request.validate().map_err(|e| e.to_string())?;
    let created = time_of(doc, &["created_at"])?.unwrap_or_else(Utc::now);
    let mut task = request.into_task(created);
    task.updated_at = time_of(doc, &["updated_at"])?.unwrap_or(created);
    task.started_at = time_of(doc, &["started_at"])?.or(task.started_at);
    task.completed_at = time_of(doc, &["completed_at"])?.or(task.completed_at);
    Ok(task)
}

fn thought(doc: &Value) -> Result<(Thought, Option<u64>), String> {
    let id = own_id(doc, Kind::Thought)?;
    let agent_id = reference(&required(doc, "agent_id")?, "agent_id")?;
    let read = [
        "thought_id",
        "agent_id",
        "task_id",
        "parent_id",
        "parent_thought_id",
        "step",
        "kind",
        "thought_type",
        "content",
        "thought",
        "created_at",
        "timestamp",
    ];
    let step = match doc.get("step") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|s| *s >= 1)
                .ok_or_else(|| format!("step {v} is not a number of 1 or more"))?,
        ),
    };
    let request = NewThought {
        id: Some(id),
        agent_id,
        task_id: optional_reference(doc, &["task_id"])?,
        parent_id: optional_reference(doc, &["parent_id", "parent_thought_id"])?,
        step,
        kind: text(doc, "kind")
            .or_else(|| text(doc, "thought_type"))
            .map(|k| k.to_ascii_lowercase().replace(' ', "_")),
        content: text(doc, "content")
            .or_else(|| text(doc, "thought"))
            .filter(|c| !c.trim().is_empty())
            .ok_or("content is missing or empty")?,
        metadata: metadata(doc, &read)?,
    };
    request.validate().map_err(|e| e.to_string())?;
    let created = time_of(doc, &["created_at", "timestamp"])?.unwrap_or_else(Utc::now);
    let parent = request.parent_id.clone();
    Ok((
        request.into_thought(step.unwrap_or(0), parent, created),
        step,
    ))
}

fn level(value: Option<&str>) -> Result<LogLevel, String> {
    Ok(match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("info") | Some("information") | Some("notice") => LogLevel::Info,
        Some("trace") => LogLevel::Trace,
        Some("debug") => LogLevel::Debug,
        Some("warn") | Some("warning") => LogLevel::Warn,
        Some("error") | Some("err") => LogLevel::Error,
        Some("critical") | Some("fatal") => LogLevel::Critical,
        Some(other) => return Err(format!("level {other:?} is not a log level")),
    })
}

fn log(doc: &Value) -> Result<Log, String> {
    let id = own_id(doc, Kind::Log)?;
    let agent_id = reference(&required(doc, "agent_id")?, "agent_id")?;
    let read = [
        "log_id",
        "agent_id",
        "task_id",
        "thought_id",
        "level",
        "message",
        "timestamp",
        "created_at",
    ];
    let request = NewLog {
        id: Some(id),
        agent_id,
        task_id: optional_reference(doc, &["task_id"])?,
        thought_id: optional_reference(doc, &["thought_id"])?,
        level: level(doc["level"].as_str())?,
        message: required(doc, "message")?,
        metadata: metadata(doc, &read)?,
        timestamp: time_of(doc, &["timestamp", "created_at"])?,
    };
    request.validate().map_err(|e| e.to_string())?;
    Ok(request.into_log(Utc::now(), ids::generate))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn python_shapes_map_with_ids_timestamps_and_metadata() {
        let agent = map(
            &json!({"_id": "agent:ab12cd", "_rev": "3-x", "type": "agent",
            "role": "Forscher", "goal": "analyse données", "created_at": "2025-03-01T10:00:00.123456",
            "metadata": {"skills": ["ml"]}, "owner": "team-a"}),
        );
        let Mapped::Agent(agent) = agent else {
            panic!("{agent:?}")
        };
        assert_eq!(agent.id, "ab12cd");
        assert_eq!(
            agent.created_at.to_rfc3339(),
            "2025-03-01T10:00:00.123456+00:00"
        );
        assert_eq!(agent.metadata["owner"], "team-a");
        assert_eq!(agent.metadata["skills"], json!(["ml"]));

        let task = map(
            &json!({"_id": "x", "type": "task", "task_id": "t1", "agent_id": "ab12cd",
            "description": "d", "status": "in_progress", "created_at": 1700000000.5}),
        );
        let Mapped::Task(task) = task else {
            panic!("{task:?}")
        };
        assert_eq!(task.status, TaskStatus::Running);
        assert_eq!(task.created_at.timestamp_millis(), 1_700_000_000_500);

        let log = map(
            &json!({"_id": "log_l1", "type": "log", "agent_id": "ab12cd",
            "level": "WARNING", "message": "m", "timestamp": "2025-03-01T10:00:00Z"}),
        );
        let Mapped::Log(log) = log else {
            panic!("{log:?}")
        };
        assert_eq!((log.id.as_str(), log.level), ("l1", LogLevel::Warn));

        let thought = map(
            &json!({"_id": "th1", "type": "thought", "agent_id": "ab12cd",
            "parent_thought_id": "th0", "thought_type": "Plan", "content": "c", "step": 2}),
        );
        let Mapped::Thought(thought, step) = thought else {
            panic!("{thought:?}")
        };
        assert_eq!(
            (thought.kind.as_str(), step, thought.parent_id.as_deref()),
            ("plan", Some(2), Some("th0"))
        );
    }

    #[test]
    fn what_is_skipped_and_what_is_rejected_with_a_reason() {
        assert_eq!(
            map(&json!({"_id": "_design/views", "views": {}})),
            Mapped::Skip
        );
        assert_eq!(map(&json!({"_id": "a", "_deleted": true})), Mapped::Skip);
        for (doc, reason) in [
            (json!({"_id": "a"}), "no \"type\""),
            (json!({"_id": "a", "type": "robot"}), "unknown type"),
            (json!({"_id": "a", "type": "agent", "goal": "g"}), "role"),
            (
                json!({"_id": "a b", "type": "agent", "role": "r", "goal": "g"}),
                "usable id",
            ),
            (
                json!({"_id": "t", "type": "task", "agent_id": "a", "description": "d", "status": "maybe"}),
                "status",
            ),
            (
                json!({"_id": "l", "type": "log", "agent_id": "a", "message": "m", "level": "loud"}),
                "level",
            ),
            (
                json!({"_id": "l", "type": "log", "agent_id": "a", "message": "m", "timestamp": "yesterday"}),
                "timestamp",
            ),
            (
                json!({"_id": "a", "type": "agent", "role": "r", "goal": "g", "metadata": 7}),
                "metadata",
            ),
        ] {
            match map(&doc) {
                Mapped::Reject(why) => assert!(why.contains(reason), "{doc}: {why}"),
                other => panic!("{doc}: {other:?}"),
            }
        }
    }
}
