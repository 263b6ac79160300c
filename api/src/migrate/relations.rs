//! A Neo4j relationship export (JSON lines `{"start", "type", "end"}`, node
//! ids written `kind:id`, e.g. `agent:ab12`), for the references the
//! CouchDB documents lack: a task's agent, a thought's task or parent, a
//! log's task or thought. A document's own references always win.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde_json::Value;

use super::docs::Kind;

/// The parents each node has in the graph, by the kind of the parent.
#[derive(Debug, Default)]
pub struct Relations {
    parents: HashMap<String, HashMap<Kind, String>>,
    /// `thought → thought` edges: the earlier step.
    previous: HashMap<String, String>,
}

fn node(value: &Value) -> Option<(Kind, String)> {
    let text = value
        .as_str()
        .or_else(|| value.get("id").and_then(Value::as_str))?;
    let (kind, id) = text.split_once(':')?;
    let kind = Kind::ALL
        .into_iter()
        .find(|k| k.name() == kind.to_ascii_lowercase())?;
    Some((kind, id.to_string()))
}

impl Relations {
    /// Read the export; lines that are not relationships between known
    /// kinds are counted and skipped.
    pub fn read(path: &Path) -> Result<(Relations, u64), String> {
        let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut relations = Relations::default();
        let mut skipped = 0;
        for line in BufReader::new(file).lines() {
            let line = line.map_err(|e| e.to_string())?;
            if line.trim().is_empty() {
                continue;
            }
            let Ok(value) = serde_json::from_str::<Value>(&line) else {
                skipped += 1;
                continue;
            };
            match (node(&value["start"]), node(&value["end"])) {
                (Some((Kind::Thought, from)), Some((Kind::Thought, to))) => {
                    relations.previous.insert(to, from);
                }
                // Parent → child: agent → task, task → thought, ...
                (Some((parent_kind, parent)), Some((child_kind, child)))
                    if parent_kind < child_kind =>
                {
                    relations
                        .parents
                        .entry(child)
                        .or_default()
                        .insert(parent_kind, parent);
                }
                _ => skipped += 1,
            }
        }
        Ok((relations, skipped))
    }

    /// Fill the references `doc` (of `kind`, with own id `id`) lacks.
    pub fn fill(&self, doc: &mut Value, kind: Kind, id: &str) {
        let Some(object) = doc.as_object_mut() else {
            return;
        };
        if let Some(parents) = self.parents.get(id) {
            for (parent_kind, field) in [
                (Kind::Agent, "agent_id"),
                (Kind::Task, "task_id"),
                (Kind::Thought, "thought_id"),
            ] {
                if parent_kind >= kind {
                    continue;
                }
                let missing = object.get(field).is_none_or(|v| v.is_null());
                if let (true, Some(parent)) = (missing, parents.get(&parent_kind)) {
                    object.insert(field.into(), Value::String(parent.clone()));
                }
            }
        }
        if kind == Kind::Thought {
            let has_parent = ["parent_id", "parent_thought_id"]
                .iter()
                .any(|f| object.get(*f).is_some_and(|v| !v.is_null()));
            if let (false, Some(previous)) = (has_parent, self.previous.get(id)) {
                object.insert("parent_id".into(), Value::String(previous.clone()));
            }
        }
    }
}
