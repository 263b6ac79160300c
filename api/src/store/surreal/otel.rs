//! OTLP ingest's tables on SurrealDB (schema versions 3, 8, 9 and 13): the
//! inbox of acknowledged exports (`otel_inbox`, each entry's items in
//! `otel_inbox_body`), where each placed span went (`otel_trace`, a record
//! per trace per round), items waiting for their agent span
//! (`otel_pending`), and the one transaction that turns a round of inbox
//! entries into documents.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use surrealdb::types::SurrealValue;

use super::logs::log_block_statements;
use super::{bound, chain_key, take_json, take_last, SurrealStore};
use crate::domain::{Agent, Task, Thought};
use crate::otlp::mapping::Owner;
use crate::otlp::model::{Item, SpanRef};
use crate::otlp::stash::{InboxEntry, OtelStash, OtelWrite};
use crate::store::StoreError;

/// Free inbox entries looked at per lease.
const LEASE_SCAN: usize = 512;

fn millis(duration: Duration) -> String {
    format!("{}ms", duration.as_millis())
}

/// Waiting items as stored; one that no longer decodes is logged and
/// skipped (it would otherwise hold its trace back for good).
fn decode_items(value: Value) -> Vec<Item> {
    rows(value)
        .into_iter()
        .filter_map(|row| match serde_json::from_value::<Item>(row) {
            Ok(item) => Some(item),
            Err(error) => {
                tracing::warn!(%error, "undecodable waiting OTLP item skipped");
                None
            }
        })
        .collect()
}

fn rows(value: Value) -> Vec<Value> {
    match value {
        Value::Array(rows) => rows,
        _ => Vec::new(),
    }
}

impl SurrealStore {
    /// The last thought of each chain (its id and step), for the chains
    /// that have one.
    async fn chain_heads(&self, chains: &[String]) -> Result<HashMap<String, Head>, StoreError> {
        if chains.is_empty() {
            return Ok(HashMap::new());
        }
        let mut response = self
            .run(
                "RETURN array::map($chains, |$c| (SELECT record::id(id) AS id, step FROM thought
                     WHERE chain = $c ORDER BY step DESC LIMIT 1)[0]);",
                json!({ "chains": chains }),
            )
            .await?;
        Ok(chains
            .iter()
            .zip(rows(take_json(&mut response, 0)?))
            .filter_map(|(chain, head)| {
                Some((
                    chain.clone(),
                    Head {
                        id: Some(head["id"].as_str()?.to_string()),
                        step: head["step"].as_i64()?,
                    },
                ))
            })
            .collect())
    }

    /// The round's thoughts with their steps and parents settled (each
    /// chain continues after its last stored thought, in the round's
    /// order).
    async fn thought_rows(&self, write: &OtelWrite) -> Result<Vec<ThoughtRow>, StoreError> {
        let chains: Vec<String> = write
            .thoughts
            .iter()
            .map(|t| chain_key(&t.agent_id, t.task_id.as_deref()))
            .collect();
        let distinct: Vec<String> = chains
            .iter()
            .cloned()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut heads = self.chain_heads(&distinct).await?;
        let mut thoughts = Vec::with_capacity(write.thoughts.len());
        for (new, chain) in write.thoughts.iter().zip(chains) {
            let head = heads
                .entry(chain.clone())
                .or_insert(Head { id: None, step: 0 });
            let thought = new.clone().into_thought(
                (head.step + 1) as u64,
                head.id.clone(),
                write.thoughts_at,
            );
            *head = Head {
                id: Some(thought.id.clone()),
                step: head.step + 1,
            };
            thoughts.push(ThoughtRow::new(thought, chain));
        }
        Ok(thoughts)
    }
}

#[async_trait]
impl OtelStash for SurrealStore {
    /// Owners of these spans, by span key, oldest round first (a span
    /// placed again, by a resent export, answers with its latest owner).
    /// Each trace's records are read with only the wanted span ids kept,
    /// so a long trace's bookkeeping is filtered where it is stored
    /// instead of sent whole.
    async fn owners(&self, spans: &[SpanRef]) -> Result<Vec<(String, Owner)>, StoreError> {
        if spans.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: HashSet<&SpanRef> = spans.iter().collect();
        let traces: HashSet<&str> = spans.iter().map(|s| s.trace_id.as_str()).collect();
        let span_ids: HashSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
        let mut response = self
            .run(
                "SELECT trace_id, object::from_entries(array::filter(object::entries(owners),
                         |$e| $e[0] IN $spans)) AS owners
                     FROM otel_trace WHERE trace_id IN $traces ORDER BY id;",
                json!({ "traces": traces, "spans": span_ids }),
            )
            .await?;
        let mut found = Vec::new();
        for row in rows(take_json(&mut response, 0)?) {
            let (Some(trace_id), Value::Object(owners)) =
                (row["trace_id"].as_str(), &row["owners"])
            else {
                continue;
            };
            for (span_id, owner) in owners {
                let span = SpanRef::new(trace_id, span_id);
                if wanted.contains(&span) {
                    match serde_json::from_value::<Owner>(owner.clone()) {
                        Ok(owner) => found.push((span.key(), owner)),
                        Err(error) => {
                            tracing::warn!(%error, span = %span.key(), "undecodable OTLP span owner skipped")
                        }
                    }
                }
            }
        }
        Ok(found)
    }

    async fn waiting(&self, trace_ids: &[String]) -> Result<Vec<Item>, StoreError> {
        if trace_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut response = self
            .run(
                "SELECT VALUE item FROM otel_pending WHERE trace_id IN $traces;",
                json!({ "traces": trace_ids }),
            )
            .await?;
        Ok(decode_items(take_json(&mut response, 0)?))
    }

    async fn expired(&self, age: Duration, limit: usize) -> Result<Vec<Item>, StoreError> {
        let mut response = self
            .run(
                "SELECT VALUE item FROM otel_pending
                     WHERE received_at < time::now() - <duration>$age LIMIT $limit;",
                json!({ "age": millis(age), "limit": limit }),
            )
            .await?;
        Ok(decode_items(take_json(&mut response, 0)?))
    }

    async fn enqueue(&self, items: &[Item]) -> Result<(), StoreError> {
        let text = serde_json::to_string(items).map_err(|e| StoreError::Backend(e.to_string()))?;
        self.run_write(
            "BEGIN TRANSACTION;
             LET $entry = otel_inbox:ulid();
             CREATE $entry CONTENT { size: $size, received_at: time::now() } RETURN NONE;
             CREATE type::record('otel_inbox_body', record::id($entry)) SET items = $items
                 RETURN NONE;
             COMMIT TRANSACTION;",
            json!({ "items": text, "size": items.len() }),
        )
        .await
        .map(|_| ())
    }

    async fn lease(&self, items: u64, lease: Duration) -> Result<Vec<InboxEntry>, StoreError> {
        let mut response = self
            .run(
                "SELECT record::id(id) AS id, size FROM otel_inbox
                     WHERE leased_until IS NONE OR leased_until < time::now()
                     ORDER BY id LIMIT $limit;",
                json!({ "limit": LEASE_SCAN }),
            )
            .await?;
        let mut chosen = Vec::new();
        let mut total = 0u64;
        for row in rows(take_json(&mut response, 0)?) {
            if total >= items && !chosen.is_empty() {
                break;
            }
            if let Some(id) = row["id"].as_str() {
                total += row["size"].as_u64().unwrap_or(0);
                chosen.push(id.to_string());
            }
        }
        if chosen.is_empty() {
            return Ok(Vec::new());
        }
        // Taken only if still free: a worker that leased them meanwhile
        // keeps them (a lost race may also fail the transaction, which runs
        // again and then skips them).
        let mut response = self
            .run(
                "BEGIN TRANSACTION;
                 LET $records = array::map($ids, |$k| type::record('otel_inbox', $k));
                 LET $taken = (UPDATE $records SET leased_until = time::now() + <duration>$lease
                     WHERE leased_until IS NONE OR leased_until < time::now()
                     RETURN record::id(id) AS id, size);
                 RETURN array::map($taken, |$t| $t.{ id, size,
                     items: type::record('otel_inbox_body', $t.id).items });
                 COMMIT TRANSACTION;",
                json!({ "ids": chosen, "lease": millis(lease) }),
            )
            .await?;
        let mut entries: Vec<InboxEntry> = rows(take_last(&mut response)?)
            .into_iter()
            .filter_map(|row| {
                Some(InboxEntry {
                    id: row["id"].as_str()?.to_string(),
                    items: row["items"].as_str()?.to_string(),
                    size: row["size"].as_u64().unwrap_or(0),
                })
            })
            .collect();
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(entries)
    }

    async fn release(&self, ids: Option<&[String]>) -> Result<(), StoreError> {
        let (sql, vars) = match ids {
            Some([]) => return Ok(()),
            Some(ids) => (
                "UPDATE array::map($ids, |$k| type::record('otel_inbox', $k))
                     SET leased_until = NONE RETURN NONE;",
                json!({ "ids": ids }),
            ),
            None => (
                "UPDATE otel_inbox SET leased_until = NONE WHERE leased_until IS NOT NONE
                     RETURN NONE;",
                json!({}),
            ),
        };
        self.run(sql, vars).await.map(|_| ())
    }

    async fn inbox_size(&self) -> Result<u64, StoreError> {
        let mut response = self
            .run(
                "RETURN math::sum((SELECT VALUE size FROM otel_inbox));",
                json!({}),
            )
            .await?;
        Ok(take_json(&mut response, 0)?.as_u64().unwrap_or(0))
    }

    /// One round of OTLP ingest in one transaction: logs as blocks, agents,
    /// tasks, task updates, thoughts (steps following their chain's last
    /// one), the embedding and text queue entries, the span bookkeeping,
    /// and the inbox entries consumed, removed. Each table is written by one bulk
    /// `INSERT`. A thought of another writer taking one of these steps
    /// meanwhile fails the round (the chain index is unique); it runs again.
    async fn apply(&self, write: &OtelWrite) -> Result<(), StoreError> {
        let (log_statements, mut vars) = log_block_statements(&write.logs, true)?;
        let mut sql = format!("BEGIN TRANSACTION;\n{log_statements}");
        let mut json_vars = serde_json::Map::new();
        if !write.agents.is_empty() {
            sql.push_str(
                "INSERT INTO agent $agents RETURN NONE;
                 CREATE embed_queue:ulid() SET kind = 'agent', ids = $agent_ids,
                     enqueued_at = time::now() RETURN NONE;",
            );
            let rows: Vec<AgentRow> = write.agents.iter().map(AgentRow::from).collect();
            vars.insert("agents", rows);
            json_vars.insert(
                "agent_ids".into(),
                json!(write.agents.iter().map(|a| &a.id).collect::<Vec<_>>()),
            );
        }
        if !write.tasks.is_empty() {
            sql.push_str("INSERT INTO task $tasks RETURN NONE;");
            let rows: Vec<TaskRow> = write.tasks.iter().map(TaskRow::from).collect();
            vars.insert("tasks", rows);
        }
        if !write.task_updates.is_empty() {
            sql.push_str(
                "FOR $t IN $task_updates {
                     UPDATE type::record('task', $t.id) SET status = $t.status,
                         output = $t.output, updated_at = $t.updated_at,
                         started_at = $t.started_at, completed_at = $t.completed_at
                         RETURN NONE;
                 };",
            );
            let rows: Vec<TaskRow> = write.task_updates.iter().map(TaskRow::from).collect();
            vars.insert("task_updates", rows);
        }
        if !write.tasks.is_empty() || !write.task_updates.is_empty() {
            sql.push_str(
                "CREATE embed_queue:ulid() SET kind = 'task', ids = $task_ids,
                     enqueued_at = time::now() RETURN NONE;",
            );
            let ids: Vec<&String> = write
                .tasks
                .iter()
                .chain(&write.task_updates)
                .map(|t| &t.id)
                .collect();
            json_vars.insert("task_ids".into(), json!(ids));
        }
        if !write.thoughts.is_empty() {
            let thoughts = self.thought_rows(write).await?;
            sql.push_str(
                "INSERT INTO thought $thoughts RETURN NONE;
                 CREATE embed_queue:ulid() SET kind = 'thought', ids = $thought_ids,
                     enqueued_at = time::now() RETURN NONE;
                 CREATE text_queue:ulid() SET kind = 'thought', ids = $thought_ids,
                     enqueued_at = time::now() RETURN NONE;",
            );
            json_vars.insert(
                "thought_ids".into(),
                json!(thoughts.iter().map(|t| &t.id).collect::<Vec<_>>()),
            );
            vars.insert("thoughts", thoughts);
        }
        if !write.owners.is_empty() {
            // ULID ids: a later round's record sorts after an earlier one's.
            sql.push_str(
                "INSERT INTO otel_trace array::map($owners, |$o| $o.{ id: rand::ulid(),
                     trace_id, owners }) RETURN NONE;",
            );
            let mut by_trace: HashMap<&str, serde_json::Map<String, Value>> = HashMap::new();
            for (span, owner) in &write.owners {
                by_trace
                    .entry(&span.trace_id)
                    .or_default()
                    .insert(span.span_id.clone(), json!(owner));
            }
            let owners: Vec<Value> = by_trace
                .into_iter()
                .map(|(trace_id, owners)| json!({ "trace_id": trace_id, "owners": owners }))
                .collect();
            json_vars.insert("owners".into(), Value::Array(owners));
        }
        if !write.unpark.is_empty() {
            sql.push_str("DELETE array::map($unpark, |$k| type::record('otel_pending', $k));");
            json_vars.insert("unpark".into(), json!(write.unpark));
        }
        if !write.park.is_empty() {
            sql.push_str(
                "INSERT INTO otel_pending array::map($park, |$r| $r.{ id, trace_id, item,
                     received_at: time::now() })
                     ON DUPLICATE KEY UPDATE item = $input.item RETURN NONE;",
            );
            let park: Vec<Value> = write
                .park
                .iter()
                .map(|item| {
                    json!({
                        "id": item.key(),
                        "trace_id": item.trace_id().unwrap_or_default(),
                        "item": item,
                    })
                })
                .collect();
            json_vars.insert("park".into(), Value::Array(park));
        }
        if !write.done.is_empty() {
            sql.push_str(
                "DELETE array::map($done, |$k| type::record('otel_inbox', $k));
                 DELETE array::map($done, |$k| type::record('otel_inbox_body', $k));",
            );
            json_vars.insert("done".into(), json!(write.done));
        }
        sql.push_str("COMMIT TRANSACTION;");
        vars.extend(bound(Value::Object(json_vars)));
        self.run_write_bound(&sql, vars).await?;
        Ok(())
    }
}

/// A chain's last thought.
struct Head {
    id: Option<String>,
    step: i64,
}

/// An agent as written, in SurrealDB's own types.
#[derive(SurrealValue)]
struct AgentRow {
    id: String,
    role: String,
    goal: String,
    metadata: Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<&Agent> for AgentRow {
    fn from(agent: &Agent) -> Self {
        Self {
            id: agent.id.clone(),
            role: agent.role.clone(),
            goal: agent.goal.clone(),
            metadata: Value::Object(agent.metadata.clone()),
            created_at: agent.created_at,
            updated_at: agent.updated_at,
        }
    }
}

/// A task as written (input and output as JSON text).
#[derive(SurrealValue)]
struct TaskRow {
    id: String,
    agent_id: String,
    description: String,
    status: String,
    input: Option<String>,
    output: Option<String>,
    metadata: Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
}

impl From<&Task> for TaskRow {
    fn from(task: &Task) -> Self {
        Self {
            id: task.id.clone(),
            agent_id: task.agent_id.clone(),
            description: task.description.clone(),
            status: task.status.as_str().to_string(),
            input: task.input.as_ref().map(Value::to_string),
            output: task.output.as_ref().map(Value::to_string),
            metadata: Value::Object(task.metadata.clone()),
            created_at: task.created_at,
            updated_at: task.updated_at,
            started_at: task.started_at,
            completed_at: task.completed_at,
        }
    }
}

/// A thought as written, with its chain key.
#[derive(SurrealValue)]
struct ThoughtRow {
    id: String,
    agent_id: String,
    task_id: Option<String>,
    chain: String,
    parent_id: Option<String>,
    step: i64,
    kind: String,
    content: String,
    metadata: Value,
    created_at: DateTime<Utc>,
}

impl ThoughtRow {
    fn new(thought: Thought, chain: String) -> Self {
        Self {
            id: thought.id,
            agent_id: thought.agent_id,
            task_id: thought.task_id,
            chain,
            parent_id: thought.parent_id,
            step: thought.step as i64,
            kind: thought.kind,
            content: thought.content,
            metadata: Value::Object(thought.metadata),
            created_at: thought.created_at,
        }
    }
}
