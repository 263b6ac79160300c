//! Realistic CouchDB `_all_docs?include_docs=true` exports of the Python
//! proof of concept, for the migration tests: the document shapes it wrote
//! (agents, tasks, thoughts, logs told apart by `type`, Python timestamps,
//! levels like `WARNING`, statuses like `in_progress`), nested metadata,
//! unicode, missing optional fields, design and deleted documents, and
//! malformed documents, with what a migration must make of them.

use serde_json::{json, Value};

use crate::datagen::{self, Rng};

/// An export and what is in it.
pub struct Export {
    pub json: String,
    pub agents: Vec<String>,
    /// (task id, agent id)
    pub tasks: Vec<(String, String)>,
    /// (thought id, task id, step)
    pub thoughts: Vec<(String, String, u64)>,
    /// (log id, task id)
    pub logs: Vec<(String, Option<String>)>,
    /// Documents that must be rejected.
    pub malformed: usize,
    /// Design and deleted documents.
    pub skipped: usize,
    /// Role text of each agent (for similarity checks).
    pub roles: Vec<String>,
}

impl Export {
    pub fn documents(&self) -> usize {
        self.agents.len() + self.tasks.len() + self.thoughts.len() + self.logs.len()
    }
}

const LEVELS: [&str; 6] = ["DEBUG", "INFO", "INFO", "WARNING", "ERROR", "CRITICAL"];
const STATUSES: [&str; 5] = ["pending", "in_progress", "done", "failed", "completed"];

/// `agents` agents, each with `tasks` tasks, each with `thoughts` thoughts
/// and `logs` logs.
pub fn export(agents: usize, tasks: usize, thoughts: usize, logs: usize) -> Export {
    let mut rows = Vec::new();
    let mut out = Export {
        json: String::new(),
        agents: Vec::new(),
        tasks: Vec::new(),
        thoughts: Vec::new(),
        logs: Vec::new(),
        malformed: 0,
        skipped: 0,
        roles: Vec::new(),
    };
    let mut rng = Rng::new(42);
    for a in 0..agents {
        let generated = datagen::agent("mig", a as u64);
        let agent_id = format!("ag{a:05}");
        let role = generated["role"].as_str().unwrap_or("agent").to_string();
        let mut doc = json!({
            "_id": format!("agent:{agent_id}"), "_rev": "2-abc", "type": "agent",
            "role": role, "goal": generated["goal"],
            "created_at": format!("2025-0{}-1{}T0{}:15:30.123456", 1 + a % 9, a % 10, a % 10),
            "metadata": {"skills": generated["metadata"]["skills"], "config": {"temperature": 0.2, "tools": ["search", "python"]}, "note": "¿qué tal? 日本語 ✓"},
        });
        if a % 7 == 0 {
            doc.as_object_mut().unwrap().remove("metadata");
        }
        rows.push(doc);
        out.agents.push(agent_id.clone());
        out.roles.push(role);
        for t in 0..tasks {
            let task_id = format!("{agent_id}t{t:02}");
            let mut doc = json!({
                "_id": format!("task_{task_id}"), "_rev": "1-x", "type": "task", "task_id": task_id,
                "agent_id": agent_id, "description": datagen::task_description(&mut rng),
                "status": STATUSES[(a + t) % STATUSES.len()],
                "created_at": 1_735_689_600.0 + (a * 100 + t) as f64,
                "input": {"query": "ünïcode input", "k": t},
            });
            if t % 3 == 0 {
                doc.as_object_mut().unwrap().remove("input");
            }
            rows.push(doc);
            out.tasks.push((task_id.clone(), agent_id.clone()));
            let mut previous: Option<String> = None;
            for s in 0..thoughts {
                let thought_id = format!("{task_id}h{s:02}");
                let mut doc = json!({
                    "_id": thought_id, "type": "thought", "agent_id": agent_id, "task_id": task_id,
                    "thought": format!("step {s}: {}", datagen::task_description(&mut rng)),
                    "thought_type": if s == 0 { "plan" } else { "reasoning" }, "step": s + 1,
                    "timestamp": format!("2025-02-01T10:{:02}:{:02}Z", s, t),
                });
                if let Some(parent) = &previous {
                    doc["parent_thought_id"] = json!(parent);
                }
                rows.push(doc);
                out.thoughts
                    .push((thought_id.clone(), task_id.clone(), s as u64 + 1));
                previous = Some(thought_id);
            }
            for l in 0..logs {
                let log_id = format!("{task_id}l{l:03}");
                let generated = datagen::log(&agent_id, Some(&task_id), rng.next_u64());
                let mut doc = json!({
                    "_id": format!("log:{log_id}"), "type": "log", "agent_id": agent_id,
                    "task_id": task_id, "level": LEVELS[l % LEVELS.len()],
                    "message": generated["message"], "timestamp": format!("2025-02-01 11:{:02}:{:02}", l % 60, t),
                    "metadata": generated["metadata"],
                });
                if l % 5 == 0 {
                    doc.as_object_mut().unwrap().remove("task_id");
                }
                let task = doc.get("task_id").map(|_| task_id.clone());
                rows.push(doc);
                out.logs.push((log_id, task));
            }
        }
    }
    // What a real database also holds.
    for doc in [
        json!({"_id": "_design/views", "_rev": "1-d", "views": {"by_type": {"map": "function(doc){}"}}}),
        json!({"_id": "agent:gone", "_rev": "3-z", "_deleted": true}),
    ] {
        rows.push(doc);
        out.skipped += 1;
    }
    for doc in [
        json!({"_id": "x1", "_rev": "1-a", "role": "no type at all", "goal": "?"}),
        json!({"_id": "x2", "type": "widget"}),
        json!({"_id": "agent:nogoal", "type": "agent", "role": "r"}),
        json!({"_id": "agent:bad id!", "type": "agent", "role": "r", "goal": "g"}),
        json!({"_id": "task:orphan", "type": "task", "agent_id": "nobody", "description": "d"}),
        json!({"_id": "task:weird", "type": "task", "agent_id": "ag00000", "description": "d", "status": "sleeping"}),
        json!({"_id": "log:loud", "type": "log", "agent_id": "ag00000", "level": "LOUD", "message": "m"}),
        json!({"_id": "log:when", "type": "log", "agent_id": "ag00000", "message": "m", "timestamp": "last tuesday"}),
        json!({"_id": "log:empty", "type": "log", "agent_id": "ag00000", "message": "  "}),
        json!({"_id": "thought:lost", "type": "thought", "agent_id": "ag00000", "content": "c", "parent_thought_id": "never-there"}),
    ] {
        rows.push(doc);
        out.malformed += 1;
    }
    // CouchDB sorts rows by _id, not by type.
    rows.sort_by(|a, b| a["_id"].as_str().cmp(&b["_id"].as_str()));
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|doc| json!({"id": doc["_id"], "key": doc["_id"], "value": {"rev": doc["_rev"]}, "doc": doc}))
        .collect();
    out.json = json!({"total_rows": rows.len(), "offset": 0, "rows": rows}).to_string();
    out
}
