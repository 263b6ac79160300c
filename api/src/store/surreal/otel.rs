//! OTLP ingest's tables on SurrealDB (schema versions 3 and 8): the inbox
//! of acknowledged exports (`otel_inbox`), where each placed span went
//! (`otel_span`), items waiting for their agent span (`otel_pending`), and
//! the one transaction that turns a round of inbox entries into documents.

use std::time::Duration;

use serde_json::{json, Value};

use super::logs::{log_block_statements, log_exists};
use super::{bound, chain_key, take_json, take_last, task_content, SurrealStore, TASK_CONTENT};
use crate::otlp::model::Item;
use crate::otlp::stash::{InboxEntry, OtelWrite};
use crate::store::StoreError;

/// Free inbox entries looked at per lease.
const LEASE_SCAN: usize = 512;

fn millis(duration: Duration) -> String {
    format!("{}ms", duration.as_millis())
}

fn rows(value: Value) -> Vec<Value> {
    match value {
        Value::Array(rows) => rows,
        _ => Vec::new(),
    }
}

impl SurrealStore {
    pub(super) async fn otel_lookup_owners(
        &self,
        keys: &[String],
    ) -> Result<Vec<(String, Value)>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut response = self
            .run(
                "LET $records = array::map($keys, |$k| type::record('otel_span', $k));
                 SELECT record::id(id) AS key, owner FROM $records;",
                json!({ "keys": keys }),
            )
            .await?;
        Ok(rows(take_json(&mut response, 1)?)
            .into_iter()
            .filter_map(|row| Some((row["key"].as_str()?.to_string(), row["owner"].clone())))
            .collect())
    }

    pub(super) async fn otel_waiting_items(
        &self,
        trace_ids: &[String],
    ) -> Result<Vec<Value>, StoreError> {
        if trace_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut response = self
            .run(
                "SELECT VALUE item FROM otel_pending WHERE trace_id IN $traces;",
                json!({ "traces": trace_ids }),
            )
            .await?;
        Ok(rows(take_json(&mut response, 0)?))
    }

    pub(super) async fn otel_expired_items(
        &self,
        age: Duration,
        limit: usize,
    ) -> Result<Vec<Value>, StoreError> {
        let mut response = self
            .run(
                "SELECT VALUE item FROM otel_pending
                     WHERE received_at < time::now() - <duration>$age LIMIT $limit;",
                json!({ "age": millis(age), "limit": limit }),
            )
            .await?;
        Ok(rows(take_json(&mut response, 0)?))
    }

    pub(super) async fn otel_enqueue_items(&self, items: &[Item]) -> Result<(), StoreError> {
        let text = serde_json::to_string(items).map_err(|e| StoreError::Backend(e.to_string()))?;
        self.run_write(
            "CREATE otel_inbox:ulid() CONTENT {
                 items: $items, size: $size, received_at: time::now()
             } RETURN NONE;",
            json!({ "items": text, "size": items.len() }),
        )
        .await
        .map(|_| ())
    }

    pub(super) async fn otel_lease_entries(
        &self,
        items: u64,
        lease: Duration,
    ) -> Result<Vec<InboxEntry>, StoreError> {
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
                     RETURN record::id(id) AS id, items, size);
                 RETURN $taken;
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

    pub(super) async fn otel_release_leases(
        &self,
        ids: Option<&[String]>,
    ) -> Result<(), StoreError> {
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

    pub(super) async fn otel_inbox_items(&self) -> Result<u64, StoreError> {
        let mut response = self
            .run(
                "RETURN math::sum((SELECT VALUE size FROM otel_inbox));",
                json!({}),
            )
            .await?;
        Ok(take_json(&mut response, 0)?.as_u64().unwrap_or(0))
    }

    /// One round of OTLP ingest in one transaction: logs as blocks, agents,
    /// tasks (with their `runs` edges), task updates, thoughts (each taking
    /// its chain's next step, with `thinks` and `leads_to` edges), the
    /// embedding queue entries, the span bookkeeping, and the inbox entries
    /// consumed, removed.
    pub(super) async fn otel_apply_round(&self, write: &OtelWrite) -> Result<(), StoreError> {
        let (log_statements, mut vars) = log_block_statements(&write.logs, true)?;
        let mut sql = format!("BEGIN TRANSACTION;\n{log_statements}");
        let mut json_vars = serde_json::Map::new();
        if !write.agents.is_empty() {
            sql.push_str(
                "FOR $a IN $agents {
                     CREATE type::record('agent', $a.id) CONTENT {
                         role: $a.role, goal: $a.goal, metadata: $a.metadata,
                         created_at: <datetime>$a.created_at, updated_at: <datetime>$a.updated_at
                     } RETURN NONE;
                 };
                 CREATE embed_queue:ulid() SET kind = 'agent', ids = $agents.id,
                     enqueued_at = time::now() RETURN NONE;",
            );
            json_vars.insert("agents".into(), json!(write.agents));
        }
        let task_rows = |tasks: &[crate::domain::Task]| -> Value {
            Value::Array(
                tasks
                    .iter()
                    .map(|task| {
                        let mut content = task_content(task);
                        content["id"] = json!(task.id);
                        content
                    })
                    .collect(),
            )
        };
        if !write.tasks.is_empty() {
            sql.push_str(&format!(
                "FOR $content IN $tasks {{
                     LET $task = type::record('task', $content.id);
                     CREATE $task CONTENT {TASK_CONTENT} RETURN NONE;
                     LET $agent = type::record('agent', $content.agent_id);
                     RELATE $agent->runs->$task RETURN NONE;
                 }};"
            ));
            json_vars.insert("tasks".into(), task_rows(&write.tasks));
        }
        if !write.task_updates.is_empty() {
            sql.push_str(&format!(
                "FOR $content IN $task_updates {{
                     UPDATE type::record('task', $content.id) CONTENT {TASK_CONTENT} RETURN NONE;
                 }};"
            ));
            json_vars.insert("task_updates".into(), task_rows(&write.task_updates));
        }
        if !write.tasks.is_empty() || !write.task_updates.is_empty() {
            sql.push_str(
                "CREATE embed_queue:ulid() SET kind = 'task',
                     ids = array::concat($tasks.id ?? [], $task_updates.id ?? []),
                     enqueued_at = time::now() RETURN NONE;",
            );
        }
        if !write.thoughts.is_empty() {
            sql.push_str(
                "FOR $t IN $thoughts {
                     LET $prev = (SELECT record::id(id) AS id, step FROM thought
                         WHERE chain = $t.chain ORDER BY step DESC LIMIT 1)[0];
                     LET $parent = $prev.id;
                     LET $thought = type::record('thought', $t.id);
                     CREATE $thought CONTENT {
                         agent_id: $t.agent_id, task_id: $t.task_id, chain: $t.chain,
                         parent_id: $parent, step: ($prev.step ?? 0) + 1, kind: $t.kind,
                         content: $t.content, metadata: $t.metadata,
                         created_at: <datetime>$thoughts_at
                     } RETURN NONE;
                     LET $owner = IF $t.task_id THEN type::record('task', $t.task_id)
                         ELSE type::record('agent', $t.agent_id) END;
                     RELATE $owner->thinks->$thought RETURN NONE;
                     IF $parent {
                         LET $from = type::record('thought', $parent);
                         RELATE $from->leads_to->$thought RETURN NONE;
                     };
                 };
                 CREATE embed_queue:ulid() SET kind = 'thought', ids = $thoughts.id,
                     enqueued_at = time::now() RETURN NONE;",
            );
            let thoughts: Vec<Value> = write
                .thoughts
                .iter()
                .map(|t| {
                    let draft = t.clone().into_thought(1, None, write.thoughts_at);
                    json!({
                        "id": draft.id, "agent_id": draft.agent_id, "task_id": draft.task_id,
                        "chain": chain_key(&draft.agent_id, draft.task_id.as_deref()),
                        "kind": draft.kind, "content": draft.content, "metadata": draft.metadata,
                    })
                })
                .collect();
            json_vars.insert("thoughts".into(), Value::Array(thoughts));
            json_vars.insert("thoughts_at".into(), json!(write.thoughts_at));
        }
        if !write.owners.is_empty() {
            sql.push_str(
                "INSERT INTO otel_span $owners ON DUPLICATE KEY UPDATE owner = $input.owner
                     RETURN NONE;",
            );
            let owners: Vec<Value> = write
                .owners
                .iter()
                .map(|(key, owner)| json!({ "id": key, "owner": owner }))
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
            sql.push_str("DELETE array::map($done, |$k| type::record('otel_inbox', $k));");
            json_vars.insert("done".into(), json!(write.done));
        }
        sql.push_str("COMMIT TRANSACTION;");
        vars.extend(bound(Value::Object(json_vars)));
        self.run_write_bound(&sql, vars).await.map_err(log_exists)?;
        Ok(())
    }
}
