//! The text embedded for each document kind. Changing it changes search
//! results: keep it stable and re-embed (`vectadb repair`) when it changes.

use serde_json::Value;

use crate::domain::{Agent, Log, Task, Thought};

/// "Role: …\nGoal: …" followed by one line per textual metadata entry
/// ("Skills: machine learning, statistics").
pub fn agent(agent: &Agent) -> String {
    let mut text = format!("Role: {}\nGoal: {}", agent.role, agent.goal);
    for (key, value) in &agent.metadata {
        if let Some(rendered) = render(value) {
            text.push('\n');
            text.push_str(&label(key));
            text.push_str(": ");
            text.push_str(&rendered);
        }
    }
    text
}

/// A task is found by what it is about: its description.
pub fn task(task: &Task) -> String {
    task.description.clone()
}

/// A log is found by its message's template (numbers, ids and paths
/// masked: see [`super::template`]); its level and time are filters, not
/// meaning.
pub fn log(log: &Log) -> String {
    super::template::of(&log.message)
}

/// A thought is found by what it says.
pub fn thought(thought: &Thought) -> String {
    thought.content.clone()
}

/// Strings, numbers, booleans and arrays of them; nested objects are not
/// meaning-bearing enough to embed.
fn render(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(render).collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }
        _ => None,
    }
}

/// `preferred_tools` → `Preferred tools`.
fn label(key: &str) -> String {
    capitalise(&key.replace(['_', '-'], " "))
}

/// `text` with its first letter in upper case.
pub fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use serde_json::json;

    #[test]
    fn agent_text_includes_textual_metadata() {
        let mut metadata = serde_json::Map::new();
        metadata.insert("skills".into(), json!(["machine learning", "statistics"]));
        metadata.insert("config".into(), json!({"nested": true}));
        let agent = Agent {
            id: "a".into(),
            role: "researcher".into(),
            goal: "analyze data patterns".into(),
            metadata,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        assert_eq!(
            super::agent(&agent),
            "Role: researcher\nGoal: analyze data patterns\nSkills: machine learning, statistics"
        );
    }
}
