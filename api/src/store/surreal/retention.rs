//! Retention's side of the store: expired logs, thoughts and tasks
//! removed a bounded round at a time, each round one transaction, so
//! ingest is never held up for long. Logs go a whole block at a time (a
//! block is removed once its last log is past the cutoff) with their
//! bodies, client-id aliases and anomaly scores; a task goes with its
//! thoughts and logs. Embedding queue entries older than the cutoff whose
//! documents are all gone are removed too (the indexer would find nothing
//! to embed in them).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use surrealdb::types::SurrealValue;

use super::logs::rows_as_values;
use super::{decode, take_json, take_rows, FromRow, SurrealStore};
use crate::store::{Documents, EmbedJob, EmbedKind, Expired, Expiring, StoreError, Table};

/// Queue entries looked at per round.
const QUEUE_ROUND: usize = 1_000;

/// A block about to be removed: what its removal touches.
#[derive(SurrealValue)]
struct BlockToGo {
    id: String,
    key: String,
    aliases: Vec<String>,
    size: i64,
}

rows_as_values!(BlockToGo);

/// A log id in a block's body (nothing else of it is read).
#[derive(Deserialize)]
struct BodyId {
    i: String,
}

impl SurrealStore {
    pub(super) async fn expire_documents(
        &self,
        kind: Expiring,
        cutoff: DateTime<Utc>,
        limit: usize,
    ) -> Result<Expired, StoreError> {
        let limit = limit.max(1);
        let mut expired = match kind {
            Expiring::Logs => {
                // `newest` is minus the last log's time: past the cutoff is
                // above minus the cutoff (a range of the `newest` index).
                let edge = -cutoff.timestamp_nanos_opt().unwrap_or(i64::MIN + 1);
                let (removed, more) = self
                    .remove_blocks("newest > $edge", json!({ "edge": edge }), limit)
                    .await?;
                Expired {
                    removed,
                    more,
                    ..Expired::default()
                }
            }
            Expiring::Thoughts => {
                let sql = format!(
                    "BEGIN TRANSACTION;
                     LET $gone = (SELECT VALUE id FROM thought
                         WHERE created_at < <datetime>$cutoff LIMIT {limit});
                     DELETE $gone RETURN NONE;
                     DELETE array::map($gone, |$t| type::record('thought_text', record::id($t)))
                         RETURN NONE;
                     RETURN array::len($gone);
                     COMMIT TRANSACTION;"
                );
                let mut response = self.run_write(&sql, json!({ "cutoff": cutoff })).await?;
                let removed = super::take_last(&mut response)?.as_u64().unwrap_or(0);
                Expired {
                    removed,
                    more: removed >= limit as u64,
                    ..Expired::default()
                }
            }
            Expiring::Tasks => self.expire_tasks(cutoff, limit).await?,
        };
        let kinds: &[EmbedKind] = match kind {
            Expiring::Logs => &[EmbedKind::Log],
            Expiring::Thoughts => &[EmbedKind::Thought],
            Expiring::Tasks => &[EmbedKind::Task, EmbedKind::Thought, EmbedKind::Log],
        };
        expired.queue_entries = self.prune_queue(kinds, cutoff).await?;
        Ok(expired)
    }

    /// Tasks not updated since `cutoff`: their logs (block by block), then
    /// their thoughts and themselves in one transaction.
    async fn expire_tasks(
        &self,
        cutoff: DateTime<Utc>,
        limit: usize,
    ) -> Result<Expired, StoreError> {
        let sql = format!(
            "SELECT VALUE record::id(id) FROM task WHERE updated_at < <datetime>$cutoff LIMIT {limit};"
        );
        let mut response = self.run(&sql, json!({ "cutoff": cutoff })).await?;
        let tasks: Vec<String> =
            serde_json::from_value(take_json(&mut response, 0)?).map_err(|e| {
                StoreError::Decode {
                    table: "task",
                    message: e.to_string(),
                }
            })?;
        if tasks.is_empty() {
            return Ok(Expired::default());
        }
        let mut logs = 0;
        loop {
            let (removed, more) = self
                .remove_blocks("task_id IN $tasks", json!({ "tasks": tasks }), 1_000)
                .await?;
            logs += removed;
            if !more {
                break;
            }
        }
        let mut response = self
            .run_write(
                "BEGIN TRANSACTION;
                 LET $thoughts = (DELETE thought WHERE task_id IN $tasks RETURN BEFORE);
                 DELETE array::map($thoughts, |$t| type::record('thought_text', record::id($t.id)))
                     RETURN NONE;
                 DELETE array::map($tasks, |$t| type::record('task', $t)) RETURN NONE;
                 RETURN array::len($thoughts);
                 COMMIT TRANSACTION;",
                json!({ "tasks": tasks }),
            )
            .await?;
        let thoughts = super::take_last(&mut response)?.as_u64().unwrap_or(0);
        Ok(Expired {
            removed: tasks.len() as u64,
            more: tasks.len() >= limit,
            tasks,
            with_tasks: (logs, thoughts),
            ..Expired::default()
        })
    }

    /// Remove at most `limit` blocks that `condition` selects, with their
    /// bodies, aliases and scores: the logs removed, and whether more
    /// blocks may match.
    async fn remove_blocks(
        &self,
        condition: &str,
        vars: serde_json::Value,
        limit: usize,
    ) -> Result<(u64, bool), StoreError> {
        let sql = format!(
            "SELECT record::id(id) AS id, key, aliases, size FROM log_block WHERE {condition} \
             LIMIT {limit};"
        );
        let mut response = self.run(&sql, vars).await?;
        let blocks: Vec<BlockToGo> = take_rows(&mut response, 0, "log_block")?;
        if blocks.is_empty() {
            return Ok((0, false));
        }
        // The scored logs' entries are keyed by log id: read the ids from
        // the bodies.
        let ids: Vec<&str> = blocks.iter().map(|b| b.id.as_str()).collect();
        let mut response = self
            .run(
                "LET $records = array::map($ids, |$i| type::record('log_body', $i));
                 SELECT VALUE logs FROM $records;",
                json!({ "ids": ids }),
            )
            .await?;
        let mut log_ids = Vec::new();
        for body in take_json(&mut response, 1)?
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(text) = body.as_str() {
                let logs: Vec<BodyId> =
                    serde_json::from_str(text).map_err(|e| StoreError::Decode {
                        table: "log_body",
                        message: e.to_string(),
                    })?;
                log_ids.extend(logs.into_iter().map(|l| l.i));
            }
        }
        let aliases: Vec<&str> = blocks
            .iter()
            .flat_map(|b| b.aliases.iter().map(String::as_str))
            .collect();
        let keys: Vec<&str> = blocks
            .iter()
            .map(|b| b.key.as_str())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        self.run_write(
            "BEGIN TRANSACTION;
             LET $blocks = array::map($ids, |$i| type::record('log_block', $i));
             LET $bodies = array::map($ids, |$i| type::record('log_body', $i));
             LET $aliases = array::map($aliases, |$a| type::record('log_alias', $a));
             LET $scored = array::map($logs, |$l| type::record('log_score', $l));
             DELETE array::map($ids, |$i| type::record('log_text', $i)) RETURN NONE;
             DELETE $blocks RETURN NONE;
             DELETE $bodies RETURN NONE;
             DELETE $aliases RETURN NONE;
             DELETE $scored RETURN NONE;
             FOR $key IN $keys {
                 IF array::len((SELECT VALUE id FROM log_block WHERE key = $key LIMIT 1)) = 0 {
                     DELETE type::record('log_scores', $key) RETURN NONE;
                 };
             };
             COMMIT TRANSACTION;",
            json!({ "ids": ids, "aliases": aliases, "logs": log_ids, "keys": keys }),
        )
        .await?;
        let removed = blocks.iter().map(|b| b.size.max(0) as u64).sum();
        Ok((removed, blocks.len() >= limit))
    }

    /// Queue entries of `kinds` enqueued before `cutoff` whose documents
    /// are all gone: removed; their number.
    async fn prune_queue(
        &self,
        kinds: &[EmbedKind],
        cutoff: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let sql = format!(
            "SELECT record::id(id) AS id, kind, ids FROM embed_queue
                 WHERE enqueued_at < <datetime>$cutoff AND kind IN $kinds LIMIT {QUEUE_ROUND};"
        );
        let mut response = self
            .run(&sql, json!({ "cutoff": cutoff, "kinds": kinds }))
            .await?;
        let rows = take_json(&mut response, 0)?;
        let mut gone = Vec::new();
        for row in rows.as_array().cloned().unwrap_or_default() {
            let entry: EmbedJob = decode("embed_queue", row)?;
            let left = match entry.kind {
                EmbedKind::Log => self.get_log_blocks(&entry.ids).await?.len(),
                EmbedKind::Thought => self.existing(Table::Thought, &entry.ids).await?.len(),
                EmbedKind::Task => self.existing(Table::Task, &entry.ids).await?.len(),
                EmbedKind::Agent => self.existing(Table::Agent, &entry.ids).await?.len(),
            };
            if left == 0 {
                gone.push(entry.id);
            }
        }
        if gone.is_empty() {
            return Ok(0);
        }
        self.run_write(
            "DELETE array::map($gone, |$g| type::record('embed_queue', $g)) RETURN NONE;",
            json!({ "gone": gone }),
        )
        .await?;
        Ok(gone.len() as u64)
    }
}
