//! Each kind of document's vector point: its id and the payload searches
//! filter on. One place, so the service, the indexer, repair and migration
//! write the same payloads.

use super::VectorPoint;
use crate::domain::{Agent, Log, Task, Thought};

/// An agent's point: its own id is its agent.
pub fn agent(agent: &Agent, vector: Vec<f32>) -> VectorPoint {
    VectorPoint {
        id: agent.id.clone(),
        vector,
        agent_id: agent.id.clone(),
        ..VectorPoint::default()
    }
}

/// A task's point: filterable by agent and status.
pub fn task(task: &Task, vector: Vec<f32>) -> VectorPoint {
    VectorPoint {
        id: task.id.clone(),
        vector,
        agent_id: task.agent_id.clone(),
        status: Some(task.status.as_str().to_string()),
        ..VectorPoint::default()
    }
}

/// A log's point (its vector set once embedded): filterable by agent, task,
/// level and time.
pub fn log(log: &Log) -> VectorPoint {
    VectorPoint {
        id: log.id.clone(),
        agent_id: log.agent_id.clone(),
        task_id: log.task_id.clone(),
        level: Some(log.level.as_str().to_string()),
        timestamp: Some(log.timestamp.timestamp_millis()),
        ..VectorPoint::default()
    }
}

/// A thought's point (its vector set once embedded): filterable by agent,
/// task, kind and time.
pub fn thought(thought: &Thought) -> VectorPoint {
    VectorPoint {
        id: thought.id.clone(),
        agent_id: thought.agent_id.clone(),
        task_id: thought.task_id.clone(),
        kind: Some(thought.kind.clone()),
        timestamp: Some(thought.created_at.timestamp_millis()),
        ..VectorPoint::default()
    }
}
