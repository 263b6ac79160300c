//! An agent's trace, in bounded pages: the agent, a page of its tasks (in
//! creation order) and, under the agent and under each of those tasks, the
//! first thoughts of its chain and the first logs in time order, each list
//! with a cursor when more follow. Three round trips for most agents: the
//! agent with its tasks, then its thoughts and its log blocks (read whole by
//! the agent indexes, at the same time; `logs::first_log_pages`), then the
//! bodies of the blocks the pages need. An agent with more thoughts or
//! blocks than a trace reads whole is read one index range per chain and
//! per task instead.

use serde_json::json;

use super::{chain_key, take_rows, SurrealStore, AGENT_FIELDS, TASK_FIELDS, THOUGHT_FIELDS};
use crate::domain::trace::{thought_cursor, TaskCursor};
use crate::domain::{Agent, Task, Thought, Trace, TraceShape, TraceTask};
use crate::store::StoreError;

/// Thoughts of an agent a trace reads in one go before it reads them
/// chain by chain instead.
const TRACE_AGENT_THOUGHTS: usize = 2_000;

impl SurrealStore {
    pub(super) async fn trace_page(
        &self,
        agent_id: &str,
        shape: &TraceShape,
    ) -> Result<Option<Trace>, StoreError> {
        let after = match &shape.tasks_after {
            Some(_) => {
                " AND (created_at > <datetime>$after_at \
                 OR (created_at = <datetime>$after_at AND record::id(id) > $after_id))"
            }
            None => "",
        };
        let sql = format!(
            "SELECT {AGENT_FIELDS} FROM type::record('agent', $id);
             SELECT {TASK_FIELDS} FROM task WHERE agent_id = $id{after}
                 ORDER BY created_at, id LIMIT {};",
            shape.tasks + 1
        );
        let vars = json!({
            "id": agent_id,
            "after_at": shape.tasks_after.as_ref().map(|c| c.timestamp),
            "after_id": shape.tasks_after.as_ref().map(|c| c.id.clone()),
        });
        let mut response = self.run(&sql, vars).await?;
        let Some(agent) = take_rows::<Agent>(&mut response, 0, "agent")?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let mut tasks: Vec<Task> = take_rows(&mut response, 1, "task")?;
        let tasks_next_cursor = (tasks.len() > shape.tasks)
            .then(|| {
                tasks.truncate(shape.tasks);
                tasks.last().map(|task| {
                    TaskCursor {
                        timestamp: task.created_at,
                        id: task.id.clone(),
                    }
                    .encode()
                })
            })
            .flatten();

        // Node 0 is the agent outside tasks; node i + 1 is task i.
        let nodes: Vec<Option<String>> = std::iter::once(None)
            .chain(tasks.iter().map(|task| Some(task.id.clone())))
            .collect();
        let (thoughts, logs) = tokio::join!(
            self.first_thought_pages(agent_id, &nodes, shape.thoughts),
            self.first_log_pages(agent_id, &nodes, shape.logs)
        );
        let mut thoughts = thoughts?.into_iter();
        let mut logs = logs?.into_iter();
        let (own_thoughts, thoughts_next_cursor) = thoughts.next().unwrap_or_default();
        let (own_logs, logs_next_cursor) = logs.next().unwrap_or_default();
        let tasks = tasks
            .into_iter()
            .zip(thoughts.zip(logs))
            .map(
                |(task, ((thoughts, thoughts_next_cursor), (logs, logs_next_cursor)))| TraceTask {
                    task,
                    thoughts,
                    thoughts_next_cursor,
                    logs,
                    logs_next_cursor,
                },
            )
            .collect();
        Ok(Some(Trace {
            agent,
            tasks,
            tasks_next_cursor,
            thoughts: own_thoughts,
            thoughts_next_cursor,
            logs: own_logs,
            logs_next_cursor,
        }))
    }

    /// The first `limit` steps of each node's chain of thought, each with a
    /// cursor (its last step) when more follow: one statement per chain,
    /// each an index range on (chain, step).
    async fn first_thought_pages(
        &self,
        agent_id: &str,
        nodes: &[Option<String>],
        limit: usize,
    ) -> Result<Vec<(Vec<Thought>, Option<String>)>, StoreError> {
        // Most agents have few thoughts: one read of them all (by the agent
        // index, in step order) serves every chain. Past the cap, each
        // chain is read by its own index range.
        let sql = format!(
            "SELECT {THOUGHT_FIELDS} FROM thought WHERE agent_id = $id \
             ORDER BY step LIMIT {TRACE_AGENT_THOUGHTS};"
        );
        let mut response = self.run(&sql, json!({ "id": agent_id })).await?;
        let every: Vec<Thought> = take_rows(&mut response, 0, "thought")?;
        if every.len() < TRACE_AGENT_THOUGHTS {
            let mut by_node: std::collections::HashMap<Option<String>, Vec<Thought>> =
                std::collections::HashMap::new();
            for thought in every {
                by_node
                    .entry(thought.task_id.clone())
                    .or_default()
                    .push(thought);
            }
            return Ok(nodes
                .iter()
                .map(|node| cut(by_node.remove(node).unwrap_or_default(), limit))
                .collect());
        }
        let mut sql = String::new();
        let mut vars = serde_json::Map::new();
        for (i, node) in nodes.iter().enumerate() {
            vars.insert(format!("c{i}"), json!(chain_key(agent_id, node.as_deref())));
            sql.push_str(&format!(
                "SELECT {THOUGHT_FIELDS} FROM thought WHERE chain = $c{i} ORDER BY step LIMIT {};\n",
                limit + 1
            ));
        }
        let mut response = self.run(&sql, serde_json::Value::Object(vars)).await?;
        (0..nodes.len())
            .map(|i| Ok(cut(take_rows(&mut response, i, "thought")?, limit)))
            .collect()
    }
}

/// Thoughts cut to `limit`, with a cursor when some were cut.
fn cut(mut thoughts: Vec<Thought>, limit: usize) -> (Vec<Thought>, Option<String>) {
    let more = thoughts.len() > limit;
    thoughts.truncate(limit);
    let cursor = more
        .then(|| thoughts.last().map(|t| thought_cursor(t.step)))
        .flatten();
    (thoughts, cursor)
}
