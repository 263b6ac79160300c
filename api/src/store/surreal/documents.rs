//! [`Documents`] on SurrealDB: agents, tasks and thoughts here; logs
//! (`logs`), traces (`trace`), text search (`text`) and expiry
//! (`retention`) in their own files.

use async_trait::async_trait;
use serde_json::{json, Value};

use super::rows::{json_text, AGENT_FIELDS, TASK_FIELDS, THOUGHT_FIELDS};
use super::{logs, strip_nulls, take_json, take_last, Listing, SurrealStore, CONFLICT_RETRIES};
use crate::domain::{
    Agent, Log, LogFilter, NewThought, Page, Task, TaskFilter, Thought, ThoughtFilter, Trace,
    TraceShape,
};
use crate::store::{Documents, Expired, Expiring, StoreError, Table};
use crate::text::{Found, TextFilter, TextQuery};

/// A task document from the bound `$content` (datetimes arrive as RFC 3339
/// text and are cast; the schema does not coerce).
const TASK_CONTENT: &str = "{
    agent_id: $content.agent_id, description: $content.description, status: $content.status,
    input: $content.input, output: $content.output, metadata: $content.metadata,
    created_at: <datetime>$content.created_at, updated_at: <datetime>$content.updated_at,
    started_at: <option<datetime>>$content.started_at,
    completed_at: <option<datetime>>$content.completed_at
}";

#[async_trait]
impl Documents for SurrealStore {
    async fn create_agent(&self, agent: &Agent) -> Result<(), StoreError> {
        self.run_write(
            "CREATE type::record('agent', $id) CONTENT {
                role: $role, goal: $goal, metadata: $metadata,
                created_at: <datetime>$created_at, updated_at: <datetime>$updated_at
            } RETURN NONE;",
            json!({
                "id": agent.id, "role": agent.role, "goal": agent.goal,
                "metadata": agent.metadata,
                "created_at": agent.created_at, "updated_at": agent.updated_at,
            }),
        )
        .await
        .map_err(|e| already_exists(e, "agent", &agent.id))?;
        Ok(())
    }

    async fn get_agent(&self, id: &str) -> Result<Option<Agent>, StoreError> {
        self.select_one("agent", AGENT_FIELDS, id).await
    }

    async fn get_agents(&self, ids: &[String]) -> Result<Vec<Agent>, StoreError> {
        self.select_many("agent", AGENT_FIELDS, ids).await
    }

    async fn list_agents(
        &self,
        text: Option<&str>,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Agent>, StoreError> {
        let listing = Listing {
            table: "agent",
            fields: AGENT_FIELDS,
            conditions: match text {
                Some(_) => vec![
                    "(string::contains(string::lowercase(role), $text) \
                     OR string::contains(string::lowercase(goal), $text))",
                ],
                None => Vec::new(),
            },
            order: "newest, id",
        };
        let vars = json!({ "text": text.map(str::to_lowercase) });
        self.page(listing, None, vars, limit, offset).await
    }

    async fn delete_agent(&self, id: &str) -> Result<bool, StoreError> {
        let sql = format!(
            "BEGIN TRANSACTION;
             LET $agent = type::record('agent', $id);
             LET $existed = record::exists($agent);
             {logs}
             DELETE thought WHERE agent_id = $id;
             DELETE thought_text WHERE agent_id = $id;
             DELETE task WHERE agent_id = $id;
             DELETE $agent;
             RETURN $existed;
             COMMIT TRANSACTION;",
            logs = logs::DELETE_AGENT_LOGS
        );
        let mut response = self.run_write(&sql, json!({ "id": id })).await?;
        let existed = take_last(&mut response)?;
        Ok(existed.as_bool().unwrap_or(false))
    }

    async fn create_task(&self, task: &Task) -> Result<(), StoreError> {
        let sql = format!(
            "BEGIN TRANSACTION;
             CREATE type::record('task', $id) CONTENT {TASK_CONTENT} RETURN NONE;
             COMMIT TRANSACTION;"
        );
        self.run_write(
            &sql,
            json!({ "id": task.id, "content": strip_nulls(task_content(task)) }),
        )
        .await
        .map_err(|e| already_exists(e, "task", &task.id))?;
        Ok(())
    }

    async fn get_task(&self, id: &str) -> Result<Option<Task>, StoreError> {
        self.select_one("task", TASK_FIELDS, id).await
    }

    async fn get_tasks(&self, ids: &[String]) -> Result<Vec<Task>, StoreError> {
        self.select_many("task", TASK_FIELDS, ids).await
    }

    async fn list_tasks(
        &self,
        filter: &TaskFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Task>, StoreError> {
        let mut conditions = Vec::new();
        if filter.agent_id.is_some() {
            conditions.push("agent_id = $agent_id");
        }
        if filter.status.is_some() {
            conditions.push("status = $status");
        }
        let listing = Listing {
            table: "task",
            fields: TASK_FIELDS,
            conditions,
            order: "newest, id",
        };
        let vars =
            json!({ "agent_id": filter.agent_id, "status": filter.status.map(|s| s.as_str()) });
        self.page(listing, None, vars, limit, offset).await
    }

    async fn update_task(&self, task: &Task) -> Result<(), StoreError> {
        self.run_write(
            &format!("UPDATE type::record('task', $id) CONTENT {TASK_CONTENT} RETURN NONE;"),
            json!({ "id": task.id, "content": strip_nulls(task_content(task)) }),
        )
        .await?;
        Ok(())
    }

    async fn delete_task(&self, id: &str) -> Result<(), StoreError> {
        self.run_write(
            "DELETE type::record('task', $id) RETURN NONE;",
            json!({ "id": id }),
        )
        .await?;
        Ok(())
    }

    async fn create_thought(&self, request: NewThought) -> Result<Thought, StoreError> {
        self.write_thought(request, chrono::Utc::now()).await
    }

    async fn import_thought(
        &self,
        request: NewThought,
        created_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Thought, StoreError> {
        self.write_thought(request, created_at).await
    }

    async fn get_thought(&self, id: &str) -> Result<Option<Thought>, StoreError> {
        self.select_one("thought", THOUGHT_FIELDS, id).await
    }

    async fn get_thoughts(&self, ids: &[String]) -> Result<Vec<Thought>, StoreError> {
        self.select_many("thought", THOUGHT_FIELDS, ids).await
    }

    async fn list_thoughts(
        &self,
        filter: &ThoughtFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Thought>, StoreError> {
        let mut conditions = Vec::new();
        if filter.agent_id.is_some() {
            conditions.push("agent_id = $agent_id");
        }
        if filter.task_id.is_some() {
            conditions.push("task_id = $task_id");
        } else if filter.outside_tasks {
            conditions.push("task_id = NONE");
        }
        if filter.after_step.is_some() {
            conditions.push("step > $after_step");
        }
        let listing = Listing {
            table: "thought",
            fields: THOUGHT_FIELDS,
            conditions,
            order: "agent_id, task_id, step",
        };
        let vars = json!({
            "agent_id": filter.agent_id, "task_id": filter.task_id, "after_step": filter.after_step,
        });
        let mut page: Page<Thought> = self.page(listing, None, vars, limit, offset).await?;
        // Within one chain (a task's, or an agent's outside tasks) steps
        // order the page, so its last step is a cursor for the next.
        let one_chain =
            filter.task_id.is_some() || (filter.agent_id.is_some() && filter.outside_tasks);
        if one_chain && (offset + page.items.len()) < page.total as usize {
            page.next_cursor = page
                .items
                .last()
                .map(|t| crate::domain::trace::thought_cursor(t.step));
        }
        Ok(page)
    }

    async fn insert_logs(&self, logs: &[Log]) -> Result<(), StoreError> {
        self.insert_log_blocks(logs, true, None).await
    }

    async fn get_logs(&self, ids: &[String]) -> Result<Vec<Log>, StoreError> {
        self.get_log_blocks(ids).await
    }

    async fn list_logs(
        &self,
        filter: &LogFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Log>, StoreError> {
        if filter.min_anomaly_score.is_some() || filter.by_anomaly {
            self.list_scored_logs(filter, limit, offset).await
        } else {
            self.list_log_blocks(filter, limit, offset).await
        }
    }

    async fn set_anomaly_scores(&self, scores: &[(String, f32)]) -> Result<(), StoreError> {
        self.set_log_scores(scores).await
    }

    async fn existing(&self, table: Table, ids: &[String]) -> Result<Vec<String>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if table == Table::Log {
            let logs = self.get_log_blocks(ids).await?;
            return Ok(logs.into_iter().map(|l| l.id).collect());
        }
        let mut response = self
            .run(
                "LET $records = array::map($ids, |$i| type::record($tb, $i));
                 SELECT VALUE record::id(id) FROM $records;",
                json!({ "tb": table.name(), "ids": ids }),
            )
            .await?;
        let found = take_json(&mut response, 1)?;
        Ok(found
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn trace(&self, agent_id: &str, shape: &TraceShape) -> Result<Option<Trace>, StoreError> {
        self.trace_page(agent_id, shape).await
    }

    async fn expire(
        &self,
        kind: Expiring,
        cutoff: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Expired, StoreError> {
        self.expire_documents(kind, cutoff, limit).await
    }

    async fn count(&self, table: Table) -> Result<u64, StoreError> {
        if table == Table::Log {
            return self.count_logs().await;
        }
        let sql = format!(
            "(SELECT count() AS n FROM {} GROUP ALL)[0].n ?? 0;",
            table.name()
        );
        let mut response = self.run(&sql, json!({})).await?;
        let n = take_json(&mut response, 0)?;
        Ok(n.as_u64().unwrap_or(0))
    }

    async fn health(&self) -> Result<(), StoreError> {
        self.run("RETURN 1;", json!({})).await.map(|_| ())
    }

    async fn search_logs(
        &self,
        query: &TextQuery,
        filter: &TextFilter,
        limit: usize,
    ) -> Result<Found<Log>, StoreError> {
        self.search_log_text(query, filter, limit).await
    }

    async fn search_thoughts(
        &self,
        query: &TextQuery,
        filter: &TextFilter,
        limit: usize,
    ) -> Result<Found<Thought>, StoreError> {
        self.search_thought_text(query, filter, limit).await
    }
}

impl SurrealStore {
    /// Write a thought created at `now`: its step and parent settled, and
    /// its embedding and text queue entries, in one transaction.
    async fn write_thought(
        &self,
        request: NewThought,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Thought, StoreError> {
        let explicit_id = request.id.is_some();
        let mut last_error = None;
        for _ in 0..CONFLICT_RETRIES {
            // A fresh id per attempt unless the client chose one.
            let mut attempt = request.clone();
            if !explicit_id {
                attempt.id = Some(crate::domain::ids::generate());
            }
            let draft = attempt.clone().into_thought(1, None, now);
            let result = self
                .run_write(
                    "BEGIN TRANSACTION;
                     LET $prev = (SELECT record::id(id) AS id, step FROM thought
                         WHERE chain = $chain ORDER BY step DESC LIMIT 1)[0];
                     LET $step = $requested_step ?? (($prev.step ?? 0) + 1);
                     LET $parent = $requested_parent ?? $prev.id;
                     LET $thought = type::record('thought', $id);
                     CREATE $thought CONTENT {
                         agent_id: $agent_id, task_id: $task_id, chain: $chain, parent_id: $parent,
                         step: $step, kind: $kind, content: $content, metadata: $metadata,
                         created_at: <datetime>$created_at
                     } RETURN NONE;
                     CREATE embed_queue:ulid() SET kind = 'thought', ids = [$id],
                         enqueued_at = time::now() RETURN NONE;
                     CREATE text_queue:ulid() SET kind = 'thought', ids = [$id],
                         enqueued_at = time::now() RETURN NONE;
                     RETURN { step: $step, parent_id: $parent };
                     COMMIT TRANSACTION;",
                    json!({
                        "id": draft.id, "agent_id": draft.agent_id, "task_id": draft.task_id,
                        "chain": chain_key(&draft.agent_id, draft.task_id.as_deref()),
                        "requested_step": request.step, "requested_parent": request.parent_id,
                        "kind": draft.kind, "content": draft.content, "metadata": draft.metadata,
                        "created_at": draft.created_at,
                    }),
                )
                .await;
            match result {
                Ok(mut response) => {
                    let settled = take_last(&mut response)?;
                    let step = settled["step"].as_u64().unwrap_or(1);
                    let parent = settled["parent_id"].as_str().map(str::to_string);
                    return Ok(attempt.into_thought(step, parent, now));
                }
                // Another writer took the next step (the chain index is
                // unique): try again, unless the client fixed the step.
                Err(StoreError::Conflict(message)) if request.step.is_none() => {
                    last_error = Some(StoreError::Conflict(message));
                }
                Err(StoreError::Conflict(_)) => {
                    return Err(StoreError::Conflict(format!(
                        "step {} of this chain already exists",
                        request.step.unwrap_or_default()
                    )))
                }
                Err(error) => return Err(already_exists(error, "thought", &draft.id)),
            }
        }
        Err(last_error.unwrap_or_else(|| StoreError::Backend("thought step conflict".into())))
    }
}

fn task_content(task: &Task) -> Value {
    json!({
        "agent_id": task.agent_id,
        "description": task.description,
        "status": task.status.as_str(),
        "input": json_text(&task.input),
        "output": json_text(&task.output),
        "metadata": task.metadata,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "started_at": task.started_at,
        "completed_at": task.completed_at,
    })
}

/// The chain a thought belongs to: its agent's thoughts within one task, or
/// outside any task. Unique with the step, so two writers cannot both take
/// the same step (SurrealDB does not enforce uniqueness over NONE values,
/// hence one string rather than agent_id + optional task_id).
pub(super) fn chain_key(agent_id: &str, task_id: Option<&str>) -> String {
    match task_id {
        Some(task) => format!("{agent_id}/{task}"),
        None => format!("{agent_id}/"),
    }
}

fn already_exists(error: StoreError, table: &'static str, id: &str) -> StoreError {
    match error {
        StoreError::AlreadyExists { .. } => StoreError::AlreadyExists {
            table,
            id: id.to_string(),
        },
        other => other,
    }
}
