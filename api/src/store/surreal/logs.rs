//! Logs in blocks. An insert groups its logs by (id key, agent, task,
//! level) and cuts each group into blocks of at most [`BLOCK_LOGS`] logs
//! spanning at most [`BLOCK_SPAN`]. A block is two records: `log_block`,
//! what listings filter and order on (agent, task, level, first and last
//! timestamp, count, the thoughts named; indexed), and `log_body` under the
//! same id, the logs as JSON text, read only for the blocks a listing
//! needs. A 1,000-log batch is then a few records instead of 1,000: the
//! per-record and per-index-entry work that bounded ingest is paid per
//! block (BENCHMARKS.md, "Logs in blocks").
//!
//! Finding a log by id: ids the server makes are `{key}-{i}`
//! ([`ids::batch_ids`]) and the blocks holding them carry that key (indexed);
//! an id a client chose gets a `log_alias` record naming the key of its
//! insert. A key's anomaly scores are one `log_scores` record (log id →
//! score); scored logs are also listed, by score, from `log_score`.
//!
//! Listings merge blocks in time order: blocks are read in order of their
//! first log (oldest first) or last log (newest first), and reading stops
//! once the next block cannot hold a log that would make the page. Since
//! no block spans more than [`BLOCK_SPAN`], a cursor or time bound starts
//! the index scan where its logs can be.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use surrealdb::types::{SurrealValue, Variables};

use super::{take_json, take_rows, FromRow, SurrealStore};
use crate::domain::{ids, Log, LogCursor, LogFilter, LogLevel, Metadata, Page};
use crate::store::{Documents, StoreError};

/// Most logs in one block.
pub const BLOCK_LOGS: usize = 1_000;
/// Longest time between a block's first and last log.
pub const BLOCK_SPAN: chrono::Duration = chrono::Duration::seconds(60);
/// Blocks a listing reads per round trip (doubling from the first).
const FIRST_ROUND: usize = 4;
const MAX_ROUND: usize = 64;
/// Blocks a trace reads at first for each task's first page of logs.
const TRACE_BLOCKS: usize = 16;
/// Blocks of an agent a trace reads in one go before it reads them task
/// by task instead.
const TRACE_AGENT_BLOCKS: usize = 500;
/// A total counted log by log (a filter finer than a block: a thought, a
/// time bound cutting a block) decodes at most this many logs; past it the
/// total is the blocks' count, marked as an estimate.
const EXACT_COUNT_BUDGET: u64 = 20_000;
/// A total summed block by block reads at most this many blocks; past it
/// the total is what those hold, marked as an estimate.
const BLOCK_COUNT_CAP: usize = 1_000;

pub(super) const BLOCK_FIELDS: &str =
    "record::id(id) AS id, key, agent_id, task_id, level, first_at, last_at, size, thoughts";

/// A block's summary, as `log_block` holds it.
#[derive(SurrealValue)]
struct BlockRecord {
    id: String,
    key: String,
    agent_id: String,
    task_id: Option<String>,
    level: String,
    first_at: DateTime<Utc>,
    last_at: DateTime<Utc>,
    size: i64,
    thoughts: Vec<String>,
    aliases: Vec<String>,
}

/// A block's summary as listings read it.
#[derive(SurrealValue, Clone)]
pub(super) struct BlockRow {
    pub(super) id: String,
    key: String,
    pub(super) agent_id: String,
    pub(super) task_id: Option<String>,
    pub(super) level: String,
    pub(super) first_at: DateTime<Utc>,
    pub(super) last_at: DateTime<Utc>,
    pub(super) size: i64,
    thoughts: Vec<String>,
}

#[derive(SurrealValue)]
struct BodyRecord {
    id: String,
    logs: String,
}

#[derive(SurrealValue)]
struct AliasRecord {
    id: String,
    key: String,
}

/// Records decoded straight from SurrealDB's values.
macro_rules! rows_as_values {
    ($($record:ty),*) => {$(
        impl FromRow for $record {
            fn from_row(
                table: &'static str,
                row: surrealdb::types::Value,
            ) -> Result<Self, StoreError> {
                <$record>::from_value(row).map_err(|e| StoreError::Decode {
                    table,
                    message: e.to_string(),
                })
            }
        }
    )*};
}

/// Where a block lies in time and how many logs it holds: what a total
/// needs of most blocks.
#[derive(SurrealValue)]
struct BlockSpan {
    id: String,
    first_at: DateTime<Utc>,
    last_at: DateTime<Utc>,
    size: i64,
}

pub(super) use rows_as_values;

rows_as_values!(BlockRow, BlockSpan, BodyRecord, AliasRecord);

/// One log in a block's body (the block holds its agent, task and level).
#[derive(Serialize)]
struct BodyLogOut<'a> {
    i: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    h: Option<&'a str>,
    m: &'a str,
    #[serde(skip_serializing_if = "Map::is_empty")]
    d: &'a Metadata,
    t: i64,
}

#[derive(Deserialize)]
struct BodyLogIn {
    i: String,
    #[serde(default)]
    h: Option<String>,
    m: String,
    #[serde(default)]
    d: Metadata,
    t: i64,
}

/// Delete the logs of agent `$id`: blocks, bodies, aliases, scores and
/// text index documents (for
/// the agent's deletion, inside its transaction).
pub(super) const DELETE_AGENT_LOGS: &str =
    "LET $blocks = (SELECT record::id(id) AS id, key, aliases FROM log_block WHERE agent_id = $id);
     LET $bodies = array::map($blocks, |$b| type::record('log_body', $b.id));
     LET $aliases = array::map(array::flatten($blocks.aliases), |$a| type::record('log_alias', $a));
     DELETE $bodies;
     DELETE $aliases;
     DELETE log_block WHERE agent_id = $id;
     DELETE log_text WHERE agent_id = $id;
     DELETE log_score WHERE agent_id = $id;
     FOR $key IN array::distinct($blocks.key) {
         IF array::len((SELECT VALUE id FROM log_block WHERE key = $key LIMIT 1)) = 0 {
             DELETE type::record('log_scores', $key);
         };
     };";

/// A block about to be written.
struct NewBlock<'a> {
    key: &'a str,
    logs: Vec<&'a Log>,
}

/// Group logs into blocks: by key (the id's batch key, else `fresh_key`),
/// agent, task and level, in time order, cut at [`BLOCK_LOGS`] logs or
/// [`BLOCK_SPAN`].
fn group<'a>(logs: &'a [Log], fresh_key: &'a str) -> Vec<NewBlock<'a>> {
    type Group<'a> = (&'a str, &'a str, Option<&'a str>, LogLevel);
    let mut groups: BTreeMap<Group<'a>, Vec<&'a Log>> = BTreeMap::new();
    for log in logs {
        let key = ids::batch_key(&log.id).unwrap_or(fresh_key);
        groups
            .entry((key, &log.agent_id, log.task_id.as_deref(), log.level))
            .or_default()
            .push(log);
    }
    let mut blocks = Vec::new();
    for ((key, ..), mut members) in groups {
        members.sort_by(|a, b| (a.timestamp, &a.id).cmp(&(b.timestamp, &b.id)));
        let mut current: Vec<&Log> = Vec::new();
        for log in members {
            let full = current.len() >= BLOCK_LOGS
                || current
                    .first()
                    .is_some_and(|first| log.timestamp - first.timestamp > BLOCK_SPAN);
            if full {
                blocks.push(NewBlock {
                    key,
                    logs: std::mem::take(&mut current),
                });
            }
            current.push(log);
        }
        if !current.is_empty() {
            blocks.push(NewBlock { key, logs: current });
        }
    }
    blocks
}

fn nanos(at: DateTime<Utc>) -> i64 {
    at.timestamp_nanos_opt().unwrap_or_default()
}

/// The records of a write: summaries, bodies and the aliases of ids that
/// carry no batch key.
type Records = (Vec<BlockRecord>, Vec<BodyRecord>, Vec<AliasRecord>);

fn records(blocks: &[NewBlock<'_>]) -> Result<Records, StoreError> {
    let mut summaries = Vec::with_capacity(blocks.len());
    let mut bodies = Vec::with_capacity(blocks.len());
    let mut aliases = Vec::new();
    for block in blocks {
        let id = ids::generate();
        let (first, last) = (block.logs[0], block.logs[block.logs.len() - 1]);
        let mut thoughts: Vec<String> = block
            .logs
            .iter()
            .filter_map(|l| l.thought_id.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        thoughts.sort();
        let block_aliases: Vec<String> = block
            .logs
            .iter()
            .filter(|l| ids::batch_key(&l.id).is_none())
            .map(|l| l.id.clone())
            .collect();
        aliases.extend(block_aliases.iter().map(|alias| AliasRecord {
            id: alias.clone(),
            key: block.key.to_string(),
        }));
        let body: Vec<BodyLogOut<'_>> = block
            .logs
            .iter()
            .map(|l| BodyLogOut {
                i: &l.id,
                h: l.thought_id.as_deref(),
                m: &l.message,
                d: &l.metadata,
                t: nanos(l.timestamp),
            })
            .collect();
        let logs = serde_json::to_string(&body).map_err(|e| StoreError::Backend(e.to_string()))?;
        bodies.push(BodyRecord {
            id: id.clone(),
            logs,
        });
        summaries.push(BlockRecord {
            id,
            key: block.key.to_string(),
            agent_id: first.agent_id.clone(),
            task_id: first.task_id.clone(),
            level: first.level.as_str().to_string(),
            first_at: first.timestamp,
            last_at: last.timestamp,
            size: block.logs.len() as i64,
            thoughts,
            aliases: block_aliases,
        });
    }
    Ok((summaries, bodies, aliases))
}

fn level_of(text: &str) -> Result<LogLevel, StoreError> {
    LogLevel::parse(text).ok_or_else(|| StoreError::Decode {
        table: "log_block",
        message: format!("unknown level {text:?}"),
    })
}

/// The logs of one block, scores filled in from `scores` (log id → score).
fn decode(
    block: &BlockRow,
    body: &str,
    scores: Option<&HashMap<String, f32>>,
) -> Result<Vec<Log>, StoreError> {
    let level = level_of(&block.level)?;
    let logs: Vec<BodyLogIn> = serde_json::from_str(body).map_err(|e| StoreError::Decode {
        table: "log_body",
        message: e.to_string(),
    })?;
    Ok(logs
        .into_iter()
        .map(|l| Log {
            anomaly_score: scores.and_then(|s| s.get(&l.i).copied()),
            id: l.i,
            agent_id: block.agent_id.clone(),
            task_id: block.task_id.clone(),
            thought_id: l.h,
            level,
            message: l.m,
            metadata: l.d,
            timestamp: DateTime::from_timestamp_nanos(l.t),
        })
        .collect())
}

/// What selects blocks for a filter: conditions on `log_block` (constant
/// text; values are bound) and whether they are exact, i.e. every log of a
/// selected block matches (no thought, no time bound).
struct BlockQuery {
    conditions: Vec<&'static str>,
    vars: Value,
    exact: bool,
}

/// The statements (no transaction around them) and variables that write
/// `logs` as blocks, with aliases for ids that carry no batch key and (with
/// `queue`) one embedding queue entry; nothing for no logs.
pub(super) fn log_block_statements(
    logs: &[Log],
    queue: bool,
) -> Result<(String, Variables), StoreError> {
    let mut sql = String::new();
    let mut vars = Variables::new();
    if logs.is_empty() {
        return Ok((sql, vars));
    }
    let fresh_key = ids::generate();
    let blocks = group(logs, &fresh_key);
    let (summaries, bodies, aliases) = records(&blocks)?;
    sql.push_str(
        "INSERT INTO log_block $blocks RETURN NONE;
         INSERT INTO log_body $bodies RETURN NONE;",
    );
    if !aliases.is_empty() {
        sql.push_str("INSERT INTO log_alias $aliases RETURN NONE;");
        vars.insert("aliases", aliases);
    }
    // Every block is indexed for text search, off the request path.
    sql.push_str(
        "CREATE text_queue:ulid() SET kind = 'log', ids = $text_blocks, enqueued_at = time::now()
             RETURN NONE;",
    );
    vars.insert(
        "text_blocks",
        summaries.iter().map(|b| b.id.clone()).collect::<Vec<_>>(),
    );
    if queue {
        sql.push_str(
            "CREATE embed_queue:ulid() SET kind = 'log', ids = $log_ids, enqueued_at = time::now()
                 RETURN NONE;",
        );
        vars.insert(
            "log_ids",
            logs.iter().map(|l| l.id.clone()).collect::<Vec<_>>(),
        );
    }
    vars.insert("blocks", summaries);
    vars.insert("bodies", bodies);
    Ok((sql, vars))
}

/// A duplicate id among blocks or aliases names the log.
pub(super) fn log_exists(error: StoreError) -> StoreError {
    match error {
        StoreError::AlreadyExists { id, .. } => StoreError::AlreadyExists { table: "log", id },
        other => other,
    }
}

impl SurrealStore {
    /// Write `logs` as blocks ([`log_block_statements`]) and `extra`
    /// statements, in one transaction.
    pub(super) async fn insert_log_blocks(
        &self,
        logs: &[Log],
        queue: bool,
        extra: Option<(&str, Variables)>,
    ) -> Result<(), StoreError> {
        if logs.is_empty() {
            return Ok(());
        }
        let (statements, mut vars) = log_block_statements(logs, queue)?;
        let mut sql = format!("BEGIN TRANSACTION;\n{statements}");
        if let Some((statements, extra_vars)) = extra {
            sql.push_str(statements);
            vars.extend(extra_vars);
        }
        sql.push_str("COMMIT TRANSACTION;");
        self.run_write_bound(&sql, vars).await.map_err(log_exists)?;
        Ok(())
    }

    /// The keys of `ids`: their batch key, or their alias's.
    async fn keys_of(&self, ids: &[String]) -> Result<HashSet<String>, StoreError> {
        let mut keys = HashSet::new();
        let mut aliased = Vec::new();
        for id in ids {
            match ids::batch_key(id) {
                Some(key) => {
                    keys.insert(key.to_string());
                }
                None => aliased.push(id.clone()),
            }
        }
        if !aliased.is_empty() {
            let mut response = self
                .run(
                    "LET $records = array::map($ids, |$i| type::record('log_alias', $i));
                     SELECT record::id(id) AS id, key FROM $records;",
                    json!({ "ids": aliased }),
                )
                .await?;
            let found: Vec<AliasRecord> = take_rows(&mut response, 1, "log_alias")?;
            keys.extend(found.into_iter().map(|a| a.key));
        }
        Ok(keys)
    }

    /// The bodies of `blocks`, by block id.
    pub(super) async fn bodies(
        &self,
        blocks: &[&BlockRow],
    ) -> Result<HashMap<String, String>, StoreError> {
        if blocks.is_empty() {
            return Ok(HashMap::new());
        }
        let ids: Vec<&str> = blocks.iter().map(|b| b.id.as_str()).collect();
        let mut response = self
            .run(
                "LET $records = array::map($ids, |$i| type::record('log_body', $i));
                 SELECT record::id(id) AS id, logs FROM $records;",
                json!({ "ids": ids }),
            )
            .await?;
        let bodies: Vec<BodyRecord> = take_rows(&mut response, 1, "log_body")?;
        Ok(bodies.into_iter().map(|b| (b.id, b.logs)).collect())
    }

    /// The scores of the logs under `keys`, by log id.
    async fn scores(
        &self,
        keys: impl IntoIterator<Item = &str>,
    ) -> Result<HashMap<String, f32>, StoreError> {
        let keys: Vec<&str> = keys
            .into_iter()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let mut response = self
            .run(
                "LET $records = array::map($keys, |$k| type::record('log_scores', $k));
                 SELECT VALUE scores FROM $records;",
                json!({ "keys": keys }),
            )
            .await?;
        let maps = take_json(&mut response, 1)?;
        let mut scores = HashMap::new();
        for map in maps.as_array().into_iter().flatten() {
            for (id, score) in map.as_object().into_iter().flatten() {
                if let Some(score) = score.as_f64() {
                    scores.insert(id.clone(), score as f32);
                }
            }
        }
        Ok(scores)
    }

    /// The logs of `blocks`, with their scores.
    pub(super) async fn read_blocks(&self, blocks: &[&BlockRow]) -> Result<Vec<Log>, StoreError> {
        let (bodies, scores) = tokio::try_join!(
            self.bodies(blocks),
            self.scores(blocks.iter().map(|b| b.key.as_str()))
        )?;
        let mut logs = Vec::new();
        for block in blocks {
            if let Some(body) = bodies.get(&block.id) {
                logs.extend(decode(block, body, Some(&scores))?);
            }
        }
        Ok(logs)
    }

    /// The stored logs among `ids`, with the block each is in and its key.
    async fn find_logs(&self, ids: &[String]) -> Result<Vec<(Log, String, String)>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = self.keys_of(ids).await?.into_iter().collect();
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT {BLOCK_FIELDS} FROM log_block WHERE key IN $keys;");
        let mut response = self.run(&sql, json!({ "keys": keys })).await?;
        let blocks: Vec<BlockRow> = take_rows(&mut response, 0, "log_block")?;
        let wanted: HashSet<&str> = ids.iter().map(String::as_str).collect();
        let block_refs: Vec<&BlockRow> = blocks.iter().collect();
        let (bodies, scores) = tokio::try_join!(
            self.bodies(&block_refs),
            self.scores(keys.iter().map(String::as_str))
        )?;
        let mut found = Vec::new();
        for block in &blocks {
            let Some(body) = bodies.get(&block.id) else {
                continue;
            };
            for log in decode(block, body, Some(&scores))? {
                if wanted.contains(log.id.as_str()) {
                    found.push((log, block.id.clone(), block.key.clone()));
                }
            }
        }
        Ok(found)
    }

    pub(super) async fn get_log_blocks(&self, ids: &[String]) -> Result<Vec<Log>, StoreError> {
        Ok(self
            .find_logs(ids)
            .await?
            .into_iter()
            .map(|(log, ..)| log)
            .collect())
    }

    /// The first `limit` logs, in time order, of each of an agent's trace
    /// nodes (a task, or `None`: the agent outside tasks), each with a
    /// cursor when more follow. One round trip reads every node's first
    /// blocks and one their bodies; a node whose page needs more blocks
    /// than that is paged like a listing.
    pub(super) async fn first_log_pages(
        &self,
        agent_id: &str,
        nodes: &[Option<String>],
        limit: usize,
    ) -> Result<Vec<(Vec<Log>, Option<String>)>, StoreError> {
        if nodes.is_empty() {
            return Ok(Vec::new());
        }
        let need = limit + 1;
        // Most agents hold few blocks: one read of them all (by the agent
        // index) serves every node. Past the cap, each node's first blocks
        // are read by its own index range.
        let sql = format!(
            "SELECT {BLOCK_FIELDS} FROM log_block WHERE agent_id = $agent \
             ORDER BY first_at LIMIT {TRACE_AGENT_BLOCKS};"
        );
        let mut response = self.run(&sql, json!({ "agent": agent_id })).await?;
        let every: Vec<BlockRow> = take_rows(&mut response, 0, "log_block")?;
        let picked: Vec<Option<Vec<BlockRow>>> = if every.len() < TRACE_AGENT_BLOCKS {
            let mut by_node: HashMap<Option<&str>, Vec<BlockRow>> = HashMap::new();
            for block in &every {
                by_node
                    .entry(block.task_id.as_deref())
                    .or_default()
                    .push(block.clone());
            }
            nodes
                .iter()
                .map(|node| {
                    let blocks = by_node.remove(&node.as_deref()).unwrap_or_default();
                    blocks_for_first_page(blocks, need, true)
                })
                .collect()
        } else {
            self.first_blocks_by_node(agent_id, nodes, need).await?
        };
        self.log_pages_from(agent_id, nodes, picked, limit).await
    }

    /// Each node's first blocks by its own index range (an agent with many
    /// blocks), as [`blocks_for_first_page`] picks them.
    async fn first_blocks_by_node(
        &self,
        agent_id: &str,
        nodes: &[Option<String>],
        need: usize,
    ) -> Result<Vec<Option<Vec<BlockRow>>>, StoreError> {
        let mut sql = String::new();
        let mut vars = Map::new();
        vars.insert("agent".into(), json!(agent_id));
        for (i, node) in nodes.iter().enumerate() {
            let owner = match node {
                Some(task) => {
                    vars.insert(format!("t{i}"), json!(task));
                    format!("task_id = $t{i}")
                }
                None => "agent_id = $agent AND task_id = NONE".to_string(),
            };
            sql.push_str(&format!(
                "SELECT {BLOCK_FIELDS} FROM log_block WHERE {owner} \
                 ORDER BY first_at LIMIT {TRACE_BLOCKS};\n"
            ));
        }
        let mut response = self.run(&sql, Value::Object(vars)).await?;
        let mut picked: Vec<Option<Vec<BlockRow>>> = Vec::with_capacity(nodes.len());
        for i in 0..nodes.len() {
            let blocks: Vec<BlockRow> = take_rows(&mut response, i, "log_block")?;
            let complete = blocks.len() < TRACE_BLOCKS;
            picked.push(blocks_for_first_page(blocks, need, complete));
        }
        Ok(picked)
    }

    /// Each node's first page from the blocks picked for it (read in one
    /// round trip), or, where none were (more blocks needed than read),
    /// paged like a listing.
    async fn log_pages_from(
        &self,
        agent_id: &str,
        nodes: &[Option<String>],
        picked: Vec<Option<Vec<BlockRow>>>,
        limit: usize,
    ) -> Result<Vec<(Vec<Log>, Option<String>)>, StoreError> {
        let need = limit + 1;
        let all: Vec<&BlockRow> = picked.iter().flatten().flatten().collect();
        let (bodies, scores) = tokio::try_join!(
            self.bodies(&all),
            self.scores(all.iter().map(|b| b.key.as_str()))
        )?;
        let mut pages = Vec::with_capacity(nodes.len());
        for (node, blocks) in nodes.iter().zip(&picked) {
            let page = match blocks {
                Some(blocks) => {
                    let mut logs = Vec::new();
                    for block in blocks {
                        if let Some(body) = bodies.get(&block.id) {
                            logs.extend(decode(block, body, Some(&scores))?);
                        }
                    }
                    logs.sort_by(|a, b| (a.timestamp, &a.id).cmp(&(b.timestamp, &b.id)));
                    logs.truncate(need);
                    let more = logs.len() > limit;
                    logs.truncate(limit);
                    (logs, more)
                }
                None => {
                    let filter = LogFilter {
                        agent_id: Some(agent_id.to_string()),
                        task_id: node.clone(),
                        outside_tasks: node.is_none(),
                        ..LogFilter::default()
                    };
                    self.page_of_logs(&filter, &Self::block_query(&filter, None), limit, 0)
                        .await?
                }
            };
            let (logs, more) = page;
            let cursor = more
                .then(|| logs.last().map(|log| LogCursor::of(log).encode()))
                .flatten();
            pages.push((logs, cursor));
        }
        Ok(pages)
    }

    /// Number of logs stored.
    pub(super) async fn count_logs(&self) -> Result<u64, StoreError> {
        let mut response = self
            .run(
                "RETURN math::sum((SELECT VALUE size FROM log_block));",
                json!({}),
            )
            .await?;
        Ok(take_json(&mut response, 0)?.as_u64().unwrap_or(0))
    }

    /// Record anomaly scores: in the key's `log_scores` and in `log_score`
    /// (for listings by score). A log deleted meanwhile (with its agent)
    /// stays deleted: each write checks its block in the same transaction.
    pub(super) async fn set_log_scores(&self, scores: &[(String, f32)]) -> Result<(), StoreError> {
        if scores.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = scores.iter().map(|(id, _)| id.clone()).collect();
        let found = self.find_logs(&ids).await?;
        let score_of: HashMap<&str, f32> = scores.iter().map(|(id, s)| (id.as_str(), *s)).collect();
        let mut rows = Vec::new();
        let mut by_key: HashMap<&str, Map<String, Value>> = HashMap::new();
        for (log, block, key) in &found {
            let Some(score) = score_of.get(log.id.as_str()) else {
                continue;
            };
            rows.push(json!({
                "id": log.id, "block": block, "score": score, "agent_id": log.agent_id,
                "task_id": log.task_id, "thought_id": log.thought_id,
                "level": log.level.as_str(), "timestamp": log.timestamp,
            }));
            by_key
                .entry(key.as_str())
                .or_default()
                .insert(log.id.clone(), json!(score));
        }
        if rows.is_empty() {
            return Ok(());
        }
        let keyed: Vec<Value> = by_key
            .into_iter()
            .map(|(key, scores)| json!({ "key": key, "scores": scores }))
            .collect();
        self.run_write(
            "BEGIN TRANSACTION;
             FOR $row IN $rows {
                 IF record::exists(type::record('log_block', $row.block)) {
                     UPSERT type::record('log_score', $row.id) CONTENT {
                         score: $row.score, agent_id: $row.agent_id, task_id: $row.task_id,
                         thought_id: $row.thought_id, level: $row.level,
                         timestamp: <datetime>$row.timestamp
                     } RETURN NONE;
                 };
             };
             FOR $k IN $keyed {
                 IF array::len((SELECT VALUE id FROM log_block WHERE key = $k.key LIMIT 1)) > 0 {
                     UPSERT type::record('log_scores', $k.key)
                         SET scores = object::extend(scores ?? {}, $k.scores) RETURN NONE;
                 };
             };
             COMMIT TRANSACTION;",
            json!({ "rows": rows, "keyed": keyed }),
        )
        .await
        .map(|_| ())
    }

    /// Which blocks a filter selects (the thought's agent resolved by the
    /// caller when no agent is named).
    fn block_query(filter: &LogFilter, thought_agent: Option<&str>) -> BlockQuery {
        let mut conditions = Vec::new();
        if filter.agent_id.is_some() {
            conditions.push("agent_id = $agent_id");
        } else if thought_agent.is_some() {
            conditions.push("agent_id = $thought_agent");
        }
        if filter.task_id.is_some() {
            conditions.push("task_id = $task_id");
        } else if filter.outside_tasks {
            conditions.push("task_id = NONE");
        }
        if filter.thought_id.is_some() {
            conditions.push("$thought_id IN thoughts");
        }
        if filter.level.is_some() {
            conditions.push("level = $level");
        }
        if filter.since.is_some() {
            conditions.push("last_at >= <datetime>$since");
        }
        if filter.until.is_some() {
            conditions.push("first_at < <datetime>$until");
        }
        // No agent, task or level to lead an index: every block's constant
        // `shard` does, so the scan in time order reads the compound
        // (shard, newest) or (shard, first_at) index, not a single-field
        // one (schema.surql, version 12).
        let keyed = filter.agent_id.is_some()
            || thought_agent.is_some()
            || filter.task_id.is_some()
            || filter.outside_tasks
            || filter.level.is_some();
        if !keyed {
            conditions.insert(0, "shard = 0");
        }
        BlockQuery {
            conditions,
            vars: json!({
                "agent_id": filter.agent_id, "task_id": filter.task_id,
                "thought_id": filter.thought_id, "level": filter.level.map(|l| l.as_str()),
                "since": filter.since, "until": filter.until, "thought_agent": thought_agent,
            }),
            exact: filter.thought_id.is_none() && filter.since.is_none() && filter.until.is_none(),
        }
    }

    /// A page of logs in time order (not by score): blocks merged in order,
    /// from the filter's cursor, else its offset; and the total.
    pub(super) async fn list_log_blocks(
        &self,
        filter: &LogFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Log>, StoreError> {
        let thought_agent = match (&filter.thought_id, &filter.agent_id) {
            (Some(thought), None) => match self.get_thought(thought).await? {
                Some(thought) => Some(thought.agent_id),
                None => return Ok(Page::new(Vec::new(), 0, limit, offset)),
            },
            _ => None,
        };
        let query = Self::block_query(filter, thought_agent.as_deref());
        let ((items, more), (total, total_estimated)) = tokio::try_join!(
            self.page_of_logs(filter, &query, limit, offset),
            self.total_logs(filter, &query)
        )?;
        let next_cursor = if more {
            items.last().map(|log| LogCursor::of(log).encode())
        } else {
            None
        };
        Ok(Page {
            items,
            total,
            total_estimated,
            limit,
            offset,
            next_cursor,
        })
    }

    /// The page's logs and whether more follow.
    async fn page_of_logs(
        &self,
        filter: &LogFilter,
        query: &BlockQuery,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<Log>, bool), StoreError> {
        let desc = filter.newest_first;
        let need = offset + limit + 1;
        let mut conditions = query.conditions.clone();
        let mut vars = query.vars.clone();
        let after = filter.after.as_ref();
        // Where the index scan starts: no block spans more than BLOCK_SPAN,
        // so the blocks that can hold a log past a bound start (end, newest
        // first) within BLOCK_SPAN of it.
        if desc {
            let bound = [filter.until, after.map(|c| c.timestamp)]
                .into_iter()
                .flatten()
                .min();
            if let Some(bound) = bound {
                conditions.push("newest >= $start");
                vars["start"] = json!(-nanos(bound + BLOCK_SPAN));
            }
            if let Some(cursor) = after {
                conditions.push("first_at <= <datetime>$after");
                vars["after"] = json!(cursor.timestamp);
            }
        } else {
            let bound = [filter.since, after.map(|c| c.timestamp)]
                .into_iter()
                .flatten()
                .max();
            if let Some(bound) = bound {
                conditions.push("first_at >= <datetime>$start");
                vars["start"] = json!(bound - BLOCK_SPAN);
            }
            if let Some(cursor) = after {
                conditions.push("last_at >= <datetime>$after");
                vars["after"] = json!(cursor.timestamp);
            }
        }
        let order = if desc { "newest" } else { "first_at" };
        let in_order = |a: &Log, b: &Log| {
            let order = (a.timestamp, &a.id).cmp(&(b.timestamp, &b.id));
            if desc {
                order.reverse()
            } else {
                order
            }
        };
        let mut out: Vec<Log> = Vec::new();
        let (mut start, mut round) = (0, FIRST_ROUND);
        loop {
            let sql = format!(
                "SELECT {BLOCK_FIELDS} FROM log_block {} ORDER BY {order} LIMIT {round} START {start};",
                where_of(&conditions)
            );
            let mut response = self.run(&sql, vars.clone()).await?;
            let blocks: Vec<BlockRow> = take_rows(&mut response, 0, "log_block")?;
            let fetched = blocks.len();
            // Once the page is full, a block that starts (ends, newest
            // first) past its last log cannot change it, nor can any after.
            let mut useful = Vec::with_capacity(fetched);
            let mut done = fetched < round;
            for block in &blocks {
                if let Some(edge) = out.get(need - 1) {
                    let beyond = if desc {
                        block.last_at < edge.timestamp
                    } else {
                        block.first_at > edge.timestamp
                    };
                    if beyond {
                        done = true;
                        break;
                    }
                }
                useful.push(block);
            }
            let logs = self.read_blocks(&useful).await?;
            out.extend(
                logs.into_iter().filter(|log| {
                    matches(filter, log) && after.is_none_or(|c| c.precedes(log, desc))
                }),
            );
            out.sort_by(in_order);
            out.truncate(need);
            if done {
                break;
            }
            start += fetched;
            round = (round * 2).min(MAX_ROUND);
        }
        let more = out.len() > offset + limit;
        Ok((out.into_iter().skip(offset).take(limit).collect(), more))
    }

    /// Scored logs (`min_anomaly_score`, or ordered by score) are listed
    /// from `log_score`, which has every filter field and the score index,
    /// then read from their blocks.
    pub(super) async fn list_scored_logs(
        &self,
        filter: &LogFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Log>, StoreError> {
        let conditions: Vec<&str> = [
            (filter.agent_id.is_some(), "agent_id = $agent_id"),
            (filter.task_id.is_some(), "task_id = $task_id"),
            (filter.thought_id.is_some(), "thought_id = $thought_id"),
            (filter.level.is_some(), "level = $level"),
            (filter.since.is_some(), "timestamp >= <datetime>$since"),
            (filter.until.is_some(), "timestamp < <datetime>$until"),
            (
                filter.min_anomaly_score.is_some(),
                "score >= $min_anomaly_score",
            ),
        ]
        .into_iter()
        .filter_map(|(set, condition)| set.then_some(condition))
        .collect();
        let order = if filter.by_anomaly {
            "score DESC, timestamp DESC, id"
        } else if filter.newest_first {
            "timestamp DESC, id DESC"
        } else {
            "timestamp, id"
        };
        let where_clause = where_of(&conditions);
        let sql = format!(
            "SELECT id, score, timestamp, record::id(id) AS log FROM log_score {where_clause}
                 ORDER BY {order} LIMIT $limit START $offset;
             (SELECT count() AS n FROM log_score {where_clause} GROUP ALL)[0].n ?? 0;"
        );
        let vars = json!({
            "agent_id": filter.agent_id, "task_id": filter.task_id,
            "thought_id": filter.thought_id, "level": filter.level.map(|l| l.as_str()),
            "since": filter.since, "until": filter.until,
            "min_anomaly_score": filter.min_anomaly_score,
            "limit": limit, "offset": offset,
        });
        let mut response = self.run(&sql, vars).await?;
        let rows = take_json(&mut response, 0)?;
        let total = take_json(&mut response, 1)?.as_u64().unwrap_or(0);
        let ids: Vec<String> = rows
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|row| row["log"].as_str().map(str::to_string))
            .collect();
        let mut logs: HashMap<String, Log> = self
            .get_log_blocks(&ids)
            .await?
            .into_iter()
            .map(|log| (log.id.clone(), log))
            .collect();
        let items = ids.iter().filter_map(|id| logs.remove(id)).collect();
        Ok(Page::new(items, total, limit, offset))
    }

    /// Move the rows of an older schema's `log` table into blocks, a page
    /// at a time (each page's blocks written and its rows deleted in one
    /// transaction, so an interrupted upgrade resumes), then remove the
    /// table. Their scores go with them; `log_score` already holds them.
    pub(super) async fn upgrade_row_logs(&self) -> Result<u64, StoreError> {
        let mut moved = 0;
        loop {
            let sql = format!("SELECT {} FROM log LIMIT 1000;", super::LOG_FIELDS);
            let mut response = self.run(&sql, json!({})).await?;
            let logs: Vec<Log> = take_rows(&mut response, 0, "log")?;
            if logs.is_empty() {
                break;
            }
            let scored: Vec<(String, f32)> = logs
                .iter()
                .filter_map(|l| l.anomaly_score.map(|s| (l.id.clone(), s)))
                .collect();
            let mut vars = Variables::new();
            vars.insert(
                "moved",
                logs.iter().map(|l| l.id.clone()).collect::<Vec<_>>(),
            );
            self.insert_log_blocks(
                &logs,
                false,
                Some((
                    "LET $rows = array::map($moved, |$i| type::record('log', $i));
                     DELETE $rows RETURN NONE;",
                    vars,
                )),
            )
            .await?;
            self.set_log_scores(&scored).await?;
            moved += logs.len() as u64;
        }
        // Deleting a version 1 log also deletes its `emits` edges, which
        // brings that table (removed by the schema) back: remove it again.
        self.run(
            "REMOVE TABLE IF EXISTS log; REMOVE TABLE IF EXISTS emits;",
            json!({}),
        )
        .await?;
        Ok(moved)
    }

    /// The number of logs a filter selects, and whether it is an estimate.
    async fn total_logs(
        &self,
        filter: &LogFilter,
        query: &BlockQuery,
    ) -> Result<(u64, bool), StoreError> {
        let where_clause = where_of(&query.conditions);
        if query.exact {
            let sql = format!(
                "SELECT VALUE size FROM log_block {where_clause} LIMIT {};",
                BLOCK_COUNT_CAP + 1
            );
            let mut response = self.run(&sql, query.vars.clone()).await?;
            let counts = take_json(&mut response, 0)?;
            let counts = counts.as_array().cloned().unwrap_or_default();
            let total = counts
                .iter()
                .take(BLOCK_COUNT_CAP)
                .filter_map(Value::as_u64)
                .sum();
            return Ok((total, counts.len() > BLOCK_COUNT_CAP));
        }
        // Only the spans first: most blocks lie wholly inside the filter
        // and count by their size; the few cut by it are read whole.
        let sql = format!(
            "SELECT record::id(id) AS id, first_at, last_at, size FROM log_block \
             {where_clause} LIMIT {};",
            BLOCK_COUNT_CAP + 1
        );
        let mut response = self.run(&sql, query.vars.clone()).await?;
        let spans: Vec<BlockSpan> = take_rows(&mut response, 0, "log_block")?;
        let capped = spans.len() > BLOCK_COUNT_CAP;
        let mut total = 0;
        let mut partial = Vec::new();
        for span in spans.iter().take(BLOCK_COUNT_CAP) {
            let inside = filter.thought_id.is_none()
                && filter.since.is_none_or(|since| span.first_at >= since)
                && filter.until.is_none_or(|until| span.last_at < until);
            if inside {
                total += span.size as u64;
            } else {
                partial.push(span);
            }
        }
        let partial_logs: u64 = partial.iter().map(|b| b.size as u64).sum();
        if partial_logs > EXACT_COUNT_BUDGET {
            return Ok((total + partial_logs, true));
        }
        let ids: Vec<&str> = partial.iter().map(|span| span.id.as_str()).collect();
        let mut response = self
            .run(
                &format!(
                    "SELECT {BLOCK_FIELDS} FROM \
                     array::map($ids, |$i| type::record('log_block', $i));"
                ),
                json!({ "ids": ids }),
            )
            .await?;
        let partial: Vec<BlockRow> = take_rows(&mut response, 0, "log_block")?;
        let partial: Vec<&BlockRow> = partial.iter().collect();
        let bodies = self.bodies(&partial).await?;
        for block in partial {
            if let Some(body) = bodies.get(&block.id) {
                total += decode(block, body, None)?
                    .iter()
                    .filter(|log| matches(filter, log))
                    .count() as u64;
            }
        }
        Ok((total, capped))
    }
}

/// Which of a node's first blocks (oldest first; `complete`: all of them)
/// hold its first `need` logs: blocks in order until they hold `need`
/// logs, then every block that starts before the last of those blocks ends
/// (the page's last log is no later). `None` when every block read may
/// count and more may follow unread.
fn blocks_for_first_page(
    blocks: Vec<BlockRow>,
    need: usize,
    complete: bool,
) -> Option<Vec<BlockRow>> {
    let (mut held, mut bound) = (0usize, None::<DateTime<Utc>>);
    let mut picked = Vec::with_capacity(blocks.len());
    for block in blocks {
        if let Some(bound) = bound {
            if block.first_at > bound {
                return Some(picked);
            }
        }
        held += block.size.max(0) as usize;
        picked.push(block);
        if bound.is_none() && held >= need {
            bound = picked.iter().map(|b| b.last_at).max();
        }
    }
    complete.then_some(picked)
}

/// Whether a log of a selected block passes the filter's finer parts
/// (thought, time bounds); agent, task and level are the block's.
fn matches(filter: &LogFilter, log: &Log) -> bool {
    filter
        .thought_id
        .as_ref()
        .is_none_or(|t| log.thought_id.as_ref() == Some(t))
        && filter.since.is_none_or(|since| log.timestamp >= since)
        && filter.until.is_none_or(|until| log.timestamp < until)
}

fn where_of(conditions: &[&str]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(id: &str, agent: &str, level: LogLevel, seconds: i64) -> Log {
        Log {
            id: id.into(),
            agent_id: agent.into(),
            task_id: None,
            thought_id: None,
            level,
            message: "m".into(),
            metadata: Metadata::new(),
            timestamp: DateTime::from_timestamp(seconds, 0).unwrap(),
            anomaly_score: None,
        }
    }

    #[test]
    fn blocks_split_by_agent_level_size_and_span() {
        let batch = ids::batch_ids(BLOCK_LOGS + 3);
        let key = ids::batch_key(&batch[0]).unwrap().to_string();
        let mut ids = batch.into_iter();
        let mut logs: Vec<Log> = (0..BLOCK_LOGS + 1)
            .map(|_| log(&ids.next().unwrap(), "a", LogLevel::Info, 100))
            .collect();
        logs.push(log(&ids.next().unwrap(), "b", LogLevel::Info, 100));
        logs.push(log(&ids.next().unwrap(), "a", LogLevel::Error, 100));
        logs.push(log("client-chosen", "a", LogLevel::Info, 100 + 61));
        let blocks = group(&logs, "freshkey00");
        let sizes: Vec<(usize, &str)> = blocks.iter().map(|b| (b.logs.len(), b.key)).collect();
        // Info logs of agent a: 1,000 then 1; error; agent b; the client's
        // id in a block of its own key, past the span.
        assert_eq!(sizes.len(), 5, "{sizes:?}");
        assert!(sizes.contains(&(BLOCK_LOGS, key.as_str())), "{sizes:?}");
        assert!(sizes.contains(&(1, "freshkey00")));
        for block in &blocks {
            let span = block.logs.last().unwrap().timestamp - block.logs[0].timestamp;
            assert!(span <= BLOCK_SPAN);
            assert!(block
                .logs
                .iter()
                .all(|l| l.level == block.logs[0].level && l.agent_id == block.logs[0].agent_id));
        }
        let (summaries, bodies, aliases) = records(&blocks).unwrap();
        assert_eq!(summaries.len(), bodies.len());
        assert_eq!(aliases.len(), 1);
        assert_eq!(aliases[0].id, "client-chosen");
        // A body decodes back to the logs it was made from.
        let row = BlockRow {
            id: summaries[0].id.clone(),
            key: summaries[0].key.clone(),
            agent_id: summaries[0].agent_id.clone(),
            task_id: summaries[0].task_id.clone(),
            level: summaries[0].level.clone(),
            first_at: summaries[0].first_at,
            last_at: summaries[0].last_at,
            size: summaries[0].size,
            thoughts: summaries[0].thoughts.clone(),
        };
        let decoded = decode(&row, &bodies[0].logs, None).unwrap();
        let expected: Vec<Log> = blocks[0].logs.iter().map(|l| (*l).clone()).collect();
        assert_eq!(decoded, expected);
    }
}
