//! Full-text search in SurrealDB: the index documents the text indexer
//! writes (`log_text` per log block, `thought_text` per thought, from
//! `text_queue`), and searches that select candidates by them and rank the
//! candidates' text in Rust ([`crate::text`]).
//!
//! A log search decodes at most [`LOG_BUDGET`] logs (in at most
//! [`LOG_BLOCKS`] blocks): those of the newest blocks that the index says
//! hold every term. When the terms are common (more than
//! [`LOG_CANDIDATES`] blocks match), the newest blocks under the filter
//! are read instead, and if those hold too few matches, the candidates the
//! index gave (the first indexed) are read too, within a second budget.
//! Results are ranked by BM25 among the logs read.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use surrealdb::types::SurrealValue;

use super::logs::{rows_as_values, BlockRow, BLOCK_FIELDS};
use super::{take_json, take_rows, FromRow, SurrealStore};
use crate::domain::{Log, LogLevel, Thought};
use crate::store::{Documents, EmbedKind, StoreError, TextQueue};
use crate::text::{index_terms, rank, Found, TextFilter, TextQuery};

/// Candidate blocks read from the index per log search (one more tells
/// that the terms are common).
const LOG_CANDIDATES: usize = 64;
/// Logs a log search decodes and ranks at most ...
const LOG_BUDGET: i64 = 1_000;
/// ... in at most this many blocks.
const LOG_BLOCKS: usize = 32;
/// Candidate thoughts a thought search ranks.
const THOUGHT_CANDIDATES: usize = 500;

/// A log block's index document.
#[derive(SurrealValue)]
struct LogText {
    id: String,
    agent_id: String,
    task_id: Option<String>,
    level: String,
    first_at: DateTime<Utc>,
    last_at: DateTime<Utc>,
    size: i64,
    terms: String,
}

/// A thought's index document.
#[derive(SurrealValue)]
struct ThoughtText {
    id: String,
    agent_id: String,
    task_id: Option<String>,
    kind: String,
    created_at: DateTime<Utc>,
    terms: String,
}

/// A candidate block: its id, when its last log was and how many it holds.
#[derive(SurrealValue)]
struct Candidate {
    id: String,
    last_at: DateTime<Utc>,
    size: i64,
}

rows_as_values!(Candidate);

/// The conditions of a filter and the variables of a search: the filter's
/// fields (`time` names the field bounded by since/until, or `None` for
/// log blocks, bounded by their first and last log) and the index terms.
fn conditions(filter: &TextFilter, terms: &[String], time: Option<&str>) -> (Vec<String>, Value) {
    let mut conditions = Vec::new();
    if filter.agent_id.is_some() {
        conditions.push("agent_id = $agent_id".to_string());
    }
    if filter.task_id.is_some() {
        conditions.push("task_id = $task_id".into());
    }
    if filter.levels.is_some() {
        conditions.push("level IN $levels".into());
    }
    if filter.kind.is_some() {
        conditions.push("kind = $kind".into());
    }
    let (since, until) = match time {
        Some(field) => (field, field),
        None => ("last_at", "first_at"),
    };
    if filter.since.is_some() {
        conditions.push(format!("{since} >= <datetime>$since"));
    }
    if filter.until.is_some() {
        conditions.push(format!("{until} < <datetime>$until"));
    }
    let vars = json!({
        "terms": terms.join(" "),
        "agent_id": filter.agent_id, "task_id": filter.task_id,
        "levels": filter.levels.as_ref().map(|l| l.iter().map(|l| l.as_str()).collect::<Vec<_>>()),
        "kind": filter.kind, "since": filter.since, "until": filter.until,
    });
    (conditions, vars)
}

/// `terms @@ $terms` and the filter's conditions.
fn matching(conditions: &[String]) -> String {
    std::iter::once("terms @@ $terms")
        .chain(conditions.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The blocks a log search decodes: at most [`LOG_BUDGET`] logs in at most
/// [`LOG_BLOCKS`] blocks, each block once.
#[derive(Default)]
struct Budget {
    blocks: HashSet<String>,
    logs: i64,
}

impl Budget {
    /// Take a block if it is new and fits (the first always does).
    fn take(&mut self, id: &str, size: i64) -> bool {
        let fits = self.blocks.is_empty()
            || (self.blocks.len() < LOG_BLOCKS && self.logs + size <= LOG_BUDGET);
        if !fits || self.blocks.contains(id) {
            return false;
        }
        self.blocks.insert(id.to_string());
        self.logs += size;
        true
    }
}

/// Whether a log of a selected block is within the filter's time bounds
/// (the block's agent, task and level were matched by the index).
fn in_window(filter: &TextFilter, log: &Log) -> bool {
    filter.since.is_none_or(|s| log.timestamp >= s)
        && filter.until.is_none_or(|u| log.timestamp < u)
}

impl SurrealStore {
    /// Logs matching `query` under `filter`, best first (see the module).
    pub(super) async fn search_log_text(
        &self,
        query: &TextQuery,
        filter: &TextFilter,
        limit: usize,
    ) -> Result<Found<Log>, StoreError> {
        let (filters, vars) = conditions(filter, &query.index_terms(), None);
        let sql = format!(
            "SELECT record::id(id) AS id, last_at, size FROM log_text WHERE {} LIMIT {};",
            matching(&filters),
            LOG_CANDIDATES + 1
        );
        let started = std::time::Instant::now();
        let mut response = self.run(&sql, vars.clone()).await?;
        let mut candidates: Vec<Candidate> = take_rows(&mut response, 0, "log_text")?;
        let index_ms = started.elapsed().as_secs_f64() * 1e3;
        candidates.sort_by_key(|c| std::cmp::Reverse(c.last_at));
        let common = candidates.len() > LOG_CANDIDATES;
        let mut budget = Budget::default();
        let mut logs = Vec::new();
        if common {
            // Common terms: the newest blocks under the filter (the index
            // scan above yields the oldest first).
            let newest = self.newest_blocks(filter, &filters, vars).await?;
            let newest: Vec<BlockRow> = newest
                .into_iter()
                .filter(|b| budget.take(&b.id, b.size))
                .collect();
            logs = self.read_text_blocks(&newest, filter).await?;
        }
        let newest_ms = started.elapsed().as_secs_f64() * 1e3;
        let mut ranked = rank(query, logs.iter().map(|l| l.message.as_str()), limit);
        let ranked_ms = started.elapsed().as_secs_f64() * 1e3;
        if !common || ranked.len() < limit {
            // Rare terms: the newest candidates. Common ones sparse among
            // the newest blocks: the candidates the index gave too, within
            // a budget of their own.
            let read = std::mem::take(&mut budget.blocks);
            let mut budget = Budget::default();
            let more: Vec<String> = candidates
                .iter()
                .filter(|c| !read.contains(&c.id) && budget.take(&c.id, c.size))
                .map(|c| c.id.clone())
                .collect();
            let sql = format!(
                "SELECT {BLOCK_FIELDS} FROM array::map($ids, |$i| type::record('log_block', $i));"
            );
            let mut response = self.run(&sql, json!({ "ids": more })).await?;
            let extra: Vec<BlockRow> = take_rows(&mut response, 0, "log_block")?;
            logs.extend(self.read_text_blocks(&extra, filter).await?);
            ranked = rank(query, logs.iter().map(|l| l.message.as_str()), limit);
        }
        tracing::debug!(
            candidates = candidates.len(),
            common,
            logs = logs.len(),
            index_ms,
            newest_ms,
            ranked_ms,
            total_ms = started.elapsed().as_secs_f64() * 1e3,
            "log text search"
        );
        let mut logs: Vec<Option<Log>> = logs.into_iter().map(Some).collect();
        Ok(ranked
            .into_iter()
            .filter_map(|r| logs[r.index].take().map(|log| (log, r.score)))
            .collect())
    }

    /// The newest [`LOG_BLOCKS`] blocks under a filter's `conditions`, newest
    /// first. With no agent, task or level to scan by, one statement per
    /// level reads the `(level, newest)` index: a scan of the `newest`
    /// index alone costs ~10 ms at 40,000 blocks whatever its limit or
    /// range (BENCHMARKS.md, "Full-text search"), a level's ~1 ms.
    async fn newest_blocks(
        &self,
        filter: &TextFilter,
        conditions: &[String],
        vars: Value,
    ) -> Result<Vec<BlockRow>, StoreError> {
        let scoped = filter.agent_id.is_some() || filter.task_id.is_some();
        let levels: Vec<&str> = match &filter.levels {
            _ if scoped => vec![""],
            Some(levels) => levels.iter().map(|l| l.as_str()).collect(),
            None => LogLevel::ALL.iter().map(|l| l.as_str()).collect(),
        };
        let mut sql = String::new();
        for level in &levels {
            let mut all: Vec<String> = conditions
                .iter()
                .filter(|c| scoped || !c.starts_with("level IN"))
                .cloned()
                .collect();
            if !scoped {
                // Levels are fixed words (`LogLevel`), not input.
                all.push(format!("level = '{level}'"));
            }
            let listing = if all.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", all.join(" AND "))
            };
            sql.push_str(&format!(
                "SELECT {BLOCK_FIELDS} FROM log_block {listing} ORDER BY newest LIMIT {LOG_BLOCKS};"
            ));
        }
        let mut response = self.run(&sql, vars).await?;
        let mut blocks: Vec<BlockRow> = Vec::new();
        for i in 0..levels.len() {
            blocks.extend(take_rows::<BlockRow>(&mut response, i, "log_block")?);
        }
        blocks.sort_by_key(|b| std::cmp::Reverse(b.last_at));
        blocks.truncate(LOG_BLOCKS);
        Ok(blocks)
    }

    /// The logs of `blocks` within the filter's time bounds.
    async fn read_text_blocks(
        &self,
        blocks: &[BlockRow],
        filter: &TextFilter,
    ) -> Result<Vec<Log>, StoreError> {
        if blocks.is_empty() {
            return Ok(Vec::new());
        }
        let refs: Vec<&BlockRow> = blocks.iter().collect();
        let mut logs = self.read_blocks(&refs).await?;
        logs.retain(|l| in_window(filter, l));
        Ok(logs)
    }

    /// Thoughts matching `query` under `filter`, best first, ranked among
    /// at most [`THOUGHT_CANDIDATES`] candidates.
    pub(super) async fn search_thought_text(
        &self,
        query: &TextQuery,
        filter: &TextFilter,
        limit: usize,
    ) -> Result<Found<Thought>, StoreError> {
        let (filters, vars) = conditions(filter, &query.index_terms(), Some("created_at"));
        let sql = format!(
            "SELECT VALUE record::id(id) FROM thought_text WHERE {} LIMIT {THOUGHT_CANDIDATES};",
            matching(&filters)
        );
        let mut response = self.run(&sql, vars).await?;
        let ids: Vec<String> =
            serde_json::from_value(take_json(&mut response, 0)?).map_err(|e| {
                StoreError::Decode {
                    table: "thought_text",
                    message: e.to_string(),
                }
            })?;
        let thoughts = self.get_thoughts(&ids).await?;
        let ranked = rank(query, thoughts.iter().map(|t| t.content.as_str()), limit);
        let mut thoughts: Vec<Option<Thought>> = thoughts.into_iter().map(Some).collect();
        Ok(ranked
            .into_iter()
            .filter_map(|r| thoughts[r.index].take().map(|t| (t, r.score)))
            .collect())
    }

    async fn log_text_docs(&self, ids: &[String]) -> Result<Vec<LogText>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {BLOCK_FIELDS} FROM array::map($ids, |$i| type::record('log_block', $i));"
        );
        let mut response = self.run(&sql, json!({ "ids": ids })).await?;
        let blocks: Vec<BlockRow> = take_rows(&mut response, 0, "log_block")?;
        let refs: Vec<&BlockRow> = blocks.iter().collect();
        let bodies = self.bodies(&refs).await?;
        let mut docs = Vec::with_capacity(blocks.len());
        for block in blocks {
            let Some(body) = bodies.get(&block.id) else {
                continue;
            };
            let messages: Vec<BodyMessage> =
                serde_json::from_str(body).map_err(|e| StoreError::Decode {
                    table: "log_body",
                    message: e.to_string(),
                })?;
            docs.push(LogText {
                terms: index_terms(messages.iter().map(|m| m.m.as_str())),
                id: block.id,
                agent_id: block.agent_id,
                task_id: block.task_id,
                level: block.level,
                first_at: block.first_at,
                last_at: block.last_at,
                size: block.size,
            });
        }
        Ok(docs)
    }

    async fn thought_text_docs(&self, ids: &[String]) -> Result<Vec<ThoughtText>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .get_thoughts(ids)
            .await?
            .into_iter()
            .map(|t| ThoughtText {
                terms: index_terms([t.content.as_str()]),
                id: t.id,
                agent_id: t.agent_id,
                task_id: t.task_id,
                kind: t.kind,
                created_at: t.created_at,
            })
            .collect())
    }
}

#[async_trait]
impl TextQueue for SurrealStore {
    /// One round of the text indexer: lease up to `limit` queue entries,
    /// write the index documents of the blocks and thoughts they name
    /// (ones since removed are skipped) and remove the entries, in one
    /// transaction. Returns how many blocks and thoughts were handled.
    async fn index_text(&self, limit: usize, lease: Duration) -> Result<usize, StoreError> {
        let jobs = self.lease_queue("text_queue", limit, lease).await?;
        if jobs.is_empty() {
            return Ok(0);
        }
        let mut block_ids = Vec::new();
        let mut thought_ids = Vec::new();
        for job in &jobs {
            match job.kind {
                EmbedKind::Thought => thought_ids.extend(job.ids.iter().cloned()),
                _ => block_ids.extend(job.ids.iter().cloned()),
            }
        }
        let (log_docs, thought_docs) = tokio::try_join!(
            self.log_text_docs(&block_ids),
            self.thought_text_docs(&thought_ids)
        )?;
        let handled = block_ids.len() + thought_ids.len();
        let done: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
        let mut vars = surrealdb::types::Variables::new();
        vars.insert("logs", log_docs);
        vars.insert("thoughts", thought_docs);
        vars.insert(
            "done",
            done.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
        );
        self.run_write_bound(
            "BEGIN TRANSACTION;
             INSERT IGNORE INTO log_text $logs RETURN NONE;
             INSERT IGNORE INTO thought_text $thoughts RETURN NONE;
             DELETE array::map($done, |$k| type::record('text_queue', $k)) RETURN NONE;
             COMMIT TRANSACTION;",
            vars,
        )
        .await?;
        Ok(handled)
    }

    async fn text_backlog(&self) -> Result<u64, StoreError> {
        self.queue_size("text_queue").await
    }
}

/// A log's message, all a block's index document needs of its body.
#[derive(serde::Deserialize)]
struct BodyMessage {
    m: String,
}
