//! A large log store for the benchmark's listing rows: `agents` agents with
//! `tasks` tasks and a thought per task each, and `logs` generated logs
//! written through the store the way the API writes a batch (1,000 logs of
//! one agent per insert, server-made ids), a millisecond apart, so that time
//! windows, levels, tasks and thoughts all select real subsets.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use vectadb::domain::{ids, Agent, Log, NewThought, Task, TaskStatus};
use vectadb::store::Documents;

use crate::datagen;

/// What was loaded: the owners a listing can filter by, and the time span.
pub struct Loaded {
    pub agent: String,
    pub task: String,
    pub thought: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

pub async fn load(
    store: &dyn Documents,
    prefix: &str,
    agents: usize,
    tasks: usize,
    logs: usize,
) -> anyhow::Result<Loaded> {
    let now = Utc::now();
    let mut owners = Vec::new();
    for a in 0..agents {
        let agent_id = format!("{prefix}-{a}");
        store
            .create_agent(&Agent {
                id: agent_id.clone(),
                role: "log producer".into(),
                goal: "emit many logs".into(),
                metadata: Default::default(),
                created_at: now,
                updated_at: now,
            })
            .await?;
        let mut task_ids = Vec::new();
        for t in 0..tasks {
            let task_id = format!("{agent_id}-t{t}");
            store
                .create_task(&Task {
                    id: task_id.clone(),
                    agent_id: agent_id.clone(),
                    description: "work".into(),
                    status: TaskStatus::Running,
                    input: None,
                    output: None,
                    metadata: Default::default(),
                    created_at: now,
                    updated_at: now,
                    started_at: Some(now),
                    completed_at: None,
                })
                .await?;
            let thought = store
                .create_thought(NewThought {
                    id: Some(format!("{task_id}-h")),
                    agent_id: agent_id.clone(),
                    task_id: Some(task_id.clone()),
                    kind: Default::default(),
                    content: "plan the work".into(),
                    parent_id: None,
                    step: None,
                    metadata: Default::default(),
                })
                .await?;
            task_ids.push((task_id, thought.id));
        }
        owners.push((agent_id, task_ids));
    }
    let start = now - Duration::milliseconds(logs as i64);
    let mut written = 0;
    let mut batch_no = 0u64;
    while written < logs {
        let n = (logs - written).min(1000);
        let (agent_id, task_ids) = &owners[batch_no as usize % owners.len()];
        let batch_ids = ids::batch_ids(n);
        let batch: Vec<Log> = (0..n)
            .map(|j| {
                let (task_id, thought_id) = &task_ids[j % task_ids.len()];
                let mut log = datagen::log(agent_id, Some(task_id), batch_no * 1000 + j as u64);
                log["id"] = json!(batch_ids[j]);
                if j % 10 == 0 {
                    log["thought_id"] = json!(thought_id);
                }
                log["timestamp"] = json!(start + Duration::milliseconds((written + j) as i64));
                serde_json::from_value(log)
            })
            .collect::<Result<_, _>>()?;
        store.insert_logs(&batch).await?;
        written += n;
        batch_no += 1;
    }
    let (agent, task_ids) = &owners[0];
    Ok(Loaded {
        agent: agent.clone(),
        task: task_ids[0].0.clone(),
        thought: task_ids[0].1.clone(),
        start,
        end: start + Duration::milliseconds(logs as i64),
    })
}
