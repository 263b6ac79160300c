//! The SurrealDB adapter: embedded (`mem://`, `surrealkv://path`) or remote
//! (`ws://host:port`), all through `engine::any`. Every value reaches
//! SurrealQL as a bound parameter, never formatted into the query text.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use surrealdb::engine::any::Any;
use surrealdb::types::{SurrealValue, Variables};
use surrealdb::Surreal;

use super::{schema, DocumentStore, EmbedJob, Expired, Expiring, StoreError, Table};
use crate::domain::{
    Agent, Log, LogFilter, LogLevel, NewThought, Page, Task, TaskFilter, Thought, ThoughtFilter,
    Trace, TraceShape,
};
use crate::otlp::model::{Item, SpanRef};
use crate::otlp::stash::{InboxEntry, OtelWrite};
use crate::retry;
use crate::text::{Found, TextFilter, TextQuery};

mod credentials;
mod logs;
mod otel;
mod retention;
mod text;
mod trace;

/// How to reach SurrealDB.
#[derive(Debug, Clone)]
pub struct SurrealConfig {
    /// `mem://`, `surrealkv://path` or `ws://host:port`.
    pub url: String,
    pub namespace: String,
    pub database: String,
    /// Root credentials for a remote server (unused when embedded).
    pub username: Option<String>,
    pub password: Option<crate::config::Secret>,
    /// Longest wait for any one call (connecting included) before the
    /// store is reported unavailable.
    pub timeout: Duration,
}

pub struct SurrealStore {
    db: Surreal<Any>,
    namespace: String,
    database: String,
    url: String,
    timeout: Duration,
    /// The server's clock minus ours, measured at connect; `None` when
    /// embedded (one clock, and no connection to lose).
    clock_offset: Option<chrono::Duration>,
}

/// Wait at most `limit` for `call`; past it the store is unavailable.
async fn within<T>(
    limit: Duration,
    url: &str,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
        Err(StoreError::Unavailable(format!(
            "SurrealDB at {url} did not answer within {limit:?}"
        )))
    })
}

const AGENT_FIELDS: &str = "record::id(id) AS id, role, goal, metadata, created_at, updated_at";
const TASK_FIELDS: &str = "record::id(id) AS id, agent_id, description, status, input, output, \
     metadata, created_at, updated_at, started_at, completed_at";
const THOUGHT_FIELDS: &str = "record::id(id) AS id, agent_id, task_id, parent_id, step, kind, \
     content, metadata, created_at";
const LOG_FIELDS: &str =
    "record::id(id) AS id, agent_id, task_id, thought_id, level, message, metadata, timestamp, \
     anomaly_score";

/// A task document from the bound `$content` (datetimes arrive as RFC 3339
/// text and are cast; the schema does not coerce).
const TASK_CONTENT: &str = "{
    agent_id: $content.agent_id, description: $content.description, status: $content.status,
    input: $content.input, output: $content.output, metadata: $content.metadata,
    created_at: <datetime>$content.created_at, updated_at: <datetime>$content.updated_at,
    started_at: <option<datetime>>$content.started_at,
    completed_at: <option<datetime>>$content.completed_at
}";

/// How often a transaction that lost a race (e.g. two thoughts claiming the
/// same step) is tried again.
const CONFLICT_RETRIES: u32 = 5;
/// How often a call that found the connection down is tried again (with
/// backoff from 100 ms, within the backend timeout).
const UNAVAILABLE_RETRIES: u32 = 3;

impl SurrealStore {
    /// Connect and select the namespace and database. The schema is
    /// neither applied nor checked: see [`SurrealStore::provision`] and
    /// [`SurrealStore::schema_version`].
    pub async fn connect(config: &SurrealConfig) -> Result<Self, StoreError> {
        within(config.timeout, &config.url, Self::connect_now(config)).await
    }

    async fn connect_now(config: &SurrealConfig) -> Result<Self, StoreError> {
        let db = surrealdb::engine::any::connect(config.url.as_str())
            .await
            .map_err(|e| StoreError::Unavailable(format!("connecting to {}: {e}", config.url)))?;
        if let (Some(username), Some(password)) = (&config.username, &config.password) {
            if is_remote(&config.url) {
                db.signin(surrealdb::opt::auth::Root {
                    username: username.clone(),
                    password: password.to_string(),
                })
                .await
                .map_err(|e| {
                    StoreError::Unavailable(format!("signing in to {}: {e}", config.url))
                })?;
            }
        }
        let remote = is_remote(&config.url);
        let mut store = Self {
            db,
            namespace: config.namespace.clone(),
            database: config.database.clone(),
            url: config.url.clone(),
            timeout: config.timeout,
            clock_offset: None,
        };
        schema::select(&store.db, &config.namespace, &config.database).await?;
        if remote {
            store.clock_offset = Some(store.measure_clock_offset().await?);
        }
        Ok(store)
    }

    /// Create the namespace and database if missing, apply the schema and
    /// record its version. Idempotent: returns whether any definition or
    /// the recorded version changed.
    pub async fn provision(&self) -> Result<bool, StoreError> {
        let before = match self.schema_version().await? {
            Some(version) => Some((version, self.describe().await?)),
            None => None,
        };
        // Before version 7 `write` also allowed deleting: keys that had it
        // keep that through the `delete` scope (before the version that
        // says it was done is recorded).
        if before.as_ref().is_some_and(|(version, _)| *version < 7) {
            self.db
                .query(
                    "UPDATE api_key SET scopes = array::union(scopes, ['delete']) \
                     WHERE scopes CONTAINS 'write' RETURN NONE;",
                )
                .await
                .and_then(|response| response.check())
                .map_err(|e| {
                    StoreError::Backend(format!("granting `delete` to write keys: {e}"))
                })?;
        }
        let provision = async {
            schema::ensure_database(&self.db, &self.namespace, &self.database).await?;
            schema::apply(&self.db).await
        };
        within(self.timeout, &self.url, provision).await?;
        // An older schema's one record per log, moved into blocks.
        if self.describe().await?["tables"]["log"].is_object() {
            let moved = self.upgrade_row_logs().await?;
            tracing::info!(moved, "logs moved into blocks");
        }
        let after = (schema::SCHEMA_VERSION, self.describe().await?);
        Ok(before.as_ref() != Some(&after))
    }

    /// Where this store is, for people: URL, namespace and database.
    pub fn location(&self) -> String {
        format!(
            "SurrealDB {}: namespace {}, database {}",
            self.url, self.namespace, self.database
        )
    }

    /// Record a schema version (migrations; tests of the version check).
    pub async fn record_schema_version(&self, version: u64) -> Result<(), StoreError> {
        self.run_write(
            "UPSERT vectadb_meta:schema SET version = $version, updated_at = time::now() RETURN NONE;",
            json!({ "version": version }),
        )
        .await
        .map(|_| ())
    }

    /// The schema version recorded in the database (None: never provisioned).
    pub async fn schema_version(&self) -> Result<Option<u64>, StoreError> {
        within(self.timeout, &self.url, schema::recorded_version(&self.db)).await
    }

    /// Every table, field, index and edge definition, for comparisons:
    /// `{ "db": …, "tables": { name: … } }`.
    pub async fn describe(&self) -> Result<Value, StoreError> {
        let mut response = self.run("INFO FOR DB STRUCTURE;", json!({})).await?;
        let db = take_json(&mut response, 0)?;
        let mut tables = Map::new();
        let names: Vec<String> = db["tables"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|t| t["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        for name in names {
            if !schema::is_identifier(&name) {
                continue;
            }
            // Table names come from the database itself and were checked above.
            let mut response = self
                .run(&format!("INFO FOR TABLE `{name}` STRUCTURE;"), json!({}))
                .await?;
            tables.insert(name, take_json(&mut response, 0)?);
        }
        Ok(json!({ "db": db, "tables": tables }))
    }

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

    /// Run a query with bound variables; fail with the first statement
    /// error. A transaction that lost a write race is run again.
    async fn run(&self, sql: &str, vars: Value) -> Result<surrealdb::IndexedResults, StoreError> {
        self.run_bound(sql, bound(vars)).await
    }

    /// [`run`](Self::run) with variables already in SurrealDB's own types
    /// (native datetimes, no JSON detour).
    async fn run_bound(
        &self,
        sql: &str,
        vars: Variables,
    ) -> Result<surrealdb::IndexedResults, StoreError> {
        let attempts = retry::with_retries(
            || self.run_once(sql, vars.clone()),
            |error, failures| match error {
                StoreError::Retryable(_) if failures <= CONFLICT_RETRIES => Some(retry::backoff(
                    failures,
                    Duration::from_millis(4),
                    Duration::from_millis(100),
                )),
                // A dropped connection: the client reconnects (and signs in
                // again) by itself. A write that did land before the drop
                // fails its retry as AlreadyExists, which callers treat as
                // a lost race; updates and deletes are idempotent.
                StoreError::Unavailable(_) if failures <= UNAVAILABLE_RETRIES => Some(
                    retry::backoff(failures, Duration::from_millis(100), Duration::from_secs(1)),
                ),
                _ => None,
            },
        );
        // The timeout bounds the call with all its retries.
        match within(self.timeout, &self.url, attempts).await {
            Err(StoreError::Retryable(message)) => Err(StoreError::Backend(message)),
            other => other,
        }
    }

    /// The server's clock minus ours: `time::now()` there against the
    /// midpoint of the round trip here.
    async fn measure_clock_offset(&self) -> Result<chrono::Duration, StoreError> {
        let sent = chrono::Utc::now();
        let mut response = self.run("RETURN time::now();", json!({})).await?;
        let received = chrono::Utc::now();
        let theirs = take_json(&mut response, 0)?;
        let theirs = theirs
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .ok_or_else(|| {
                StoreError::Backend(format!(
                    "SurrealDB at {}: time::now() gave {theirs}",
                    self.url
                ))
            })?;
        let ours = sent + (received - sent) / 2;
        Ok(theirs.with_timezone(&chrono::Utc) - ours)
    }

    /// Run a write. On a server, the write is fenced by a deadline: while
    /// the connection is down the client queues requests and sends them
    /// once it has reconnected, long after this call answered 503, so a
    /// write that reaches the server after the deadline (three quarters of
    /// the timeout, on the server's clock) is refused there instead of
    /// landing unannounced.
    async fn run_write(
        &self,
        sql: &str,
        vars: Value,
    ) -> Result<surrealdb::IndexedResults, StoreError> {
        self.run_write_bound(sql, bound(vars)).await
    }

    async fn run_write_bound(
        &self,
        sql: &str,
        mut vars: Variables,
    ) -> Result<surrealdb::IndexedResults, StoreError> {
        let Some(offset) = self.clock_offset else {
            return self.run_bound(sql, vars).await;
        };
        let budget = chrono::Duration::from_std(self.timeout * 3 / 4).unwrap_or_default();
        let deadline = chrono::Utc::now() + offset + budget;
        vars.insert("vectadb_deadline", deadline.to_rfc3339());
        self.run_bound(&fenced(sql), vars).await
    }

    async fn run_once(
        &self,
        sql: &str,
        vars: Variables,
    ) -> Result<surrealdb::IndexedResults, StoreError> {
        let mut response = self.db.query(sql).bind(vars).await.map_err(map_error)?;
        let mut errors: Vec<(usize, surrealdb::Error)> =
            response.take_errors().into_iter().collect();
        if errors.is_empty() {
            return Ok(response);
        }
        errors.sort_by_key(|(i, _)| *i);
        // In a failed transaction every statement reports the failure; the
        // interesting error is the one that is not that generic notice.
        let pick = errors
            .iter()
            .position(|(_, e)| {
                e.is_already_exists()
                    || e.message().contains("already contains")
                    || e.message().contains("can be retried")
            })
            .or_else(|| {
                errors
                    .iter()
                    .position(|(_, e)| !e.message().contains("failed transaction"))
            })
            .unwrap_or(0);
        Err(map_error(errors.swap_remove(pick).1))
    }

    async fn select_one<T: FromRow>(
        &self,
        table: &'static str,
        fields: &str,
        id: &str,
    ) -> Result<Option<T>, StoreError> {
        let sql = format!("SELECT {fields} FROM type::record($tb, $id)");
        let mut response = self.run(&sql, json!({ "tb": table, "id": id })).await?;
        Ok(take_rows(&mut response, 0, table)?.into_iter().next())
    }

    async fn select_many<T: FromRow>(
        &self,
        table: &'static str,
        fields: &str,
        ids: &[String],
    ) -> Result<Vec<T>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // Records held in a parameter are fetched; missing ones yield nothing.
        let sql = format!(
            "LET $records = array::map($ids, |$i| type::record($tb, $i));
             SELECT {fields} FROM $records;"
        );
        let mut response = self.run(&sql, json!({ "tb": table, "ids": ids })).await?;
        take_rows(&mut response, 1, table)
    }

    /// One page of a listing and the total it is part of. With `read`
    /// (a statement and the table of the documents it reads), the listing
    /// selects keys into `$page` and that statement reads the documents in
    /// that order.
    async fn page<T: FromRow>(
        &self,
        listing: Listing<'_>,
        read: Option<(&str, &'static str)>,
        mut vars: Value,
        limit: usize,
        offset: usize,
    ) -> Result<Page<T>, StoreError> {
        let Listing {
            table,
            fields,
            conditions,
            order,
        } = listing;
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let listed = format!(
            "SELECT {fields} FROM {table} {where_clause} ORDER BY {order} LIMIT $limit START $offset"
        );
        let (rows, rows_at, documents) = match read {
            None => (listed, 0, table),
            Some((read, documents)) => (format!("LET $page = ({listed});\n{read}"), 1, documents),
        };
        let sql = format!(
            "{rows};
             (SELECT count() AS n FROM {table} {where_clause} GROUP ALL)[0].n ?? 0;"
        );
        vars["limit"] = json!(limit);
        vars["offset"] = json!(offset);
        let mut response = self.run(&sql, vars).await?;
        let items = take_rows(&mut response, rows_at, documents)?;
        let total = take_json(&mut response, rows_at + 1)?;
        Ok(Page::new(items, total.as_u64().unwrap_or(0), limit, offset))
    }
}

/// What a list query selects: every part is constant text of this module;
/// values come only through bound variables.
struct Listing<'a> {
    table: &'static str,
    fields: &'a str,
    conditions: Vec<&'static str>,
    order: &'static str,
}

/// JSON variables as SurrealDB binds them, nulls dropped (below).
fn bound(vars: Value) -> Variables {
    match strip_nulls(vars) {
        Value::Object(map) => map
            .into_iter()
            .map(|(key, value)| (key, value.into_value()))
            .collect(),
        _ => Variables::new(),
    }
}

/// SurrealDB treats a bound `null` (NULL) differently from an absent value
/// (NONE); optional fields must be NONE, so nulls are dropped from objects.
fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls_shallow(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Drop nulls from the objects one level down (documents inside arrays),
/// leaving user metadata (deeper) untouched.
fn strip_nulls_shallow(value: Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| match item {
                    Value::Object(map) => {
                        Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).collect())
                    }
                    other => other,
                })
                .collect(),
        ),
        other => other,
    }
}

/// A server URL (as opposed to `mem://` or `surrealkv://`).
fn is_remote(url: &str) -> bool {
    url.starts_with("ws") || url.starts_with("http")
}

/// What a fenced write that arrived too late fails with.
const FENCE_MESSAGE: &str = "vectadb: write arrived after its deadline, not applied";

/// `sql` as one transaction that first checks `$vectadb_deadline`.
fn fenced(sql: &str) -> String {
    let fence =
        format!("IF time::now() > <datetime>$vectadb_deadline {{ THROW \"{FENCE_MESSAGE}\" }};");
    match sql.trim_start().strip_prefix("BEGIN TRANSACTION;") {
        Some(rest) => format!("BEGIN TRANSACTION;\n{fence}\n{rest}"),
        None => format!("BEGIN TRANSACTION;\n{fence}\n{sql}\nCOMMIT TRANSACTION;"),
    }
}

fn map_error(error: surrealdb::Error) -> StoreError {
    if error.message().contains(FENCE_MESSAGE) {
        StoreError::Unavailable(format!(
            "SurrealDB did not run the write in time: {}",
            error.message()
        ))
    } else if error.message().contains("can be retried") {
        StoreError::Retryable(error.message().to_string())
    } else if error.message().contains("already contains") {
        // A unique index refused the write.
        StoreError::Conflict(error.message().to_string())
    } else if error.is_already_exists() {
        StoreError::AlreadyExists {
            table: "record",
            id: error.message().to_string(),
        }
    } else if error.is_connection() {
        StoreError::Unavailable(error.to_string())
    } else {
        StoreError::Backend(error.to_string())
    }
}

/// One statement's result as JSON.
fn take_json(response: &mut surrealdb::IndexedResults, index: usize) -> Result<Value, StoreError> {
    let value: surrealdb::types::Value = response.take(index).map_err(map_error)?;
    Ok(value.into_json_value())
}

/// The value of the last statement that returned one (a transaction's
/// `RETURN`; `COMMIT` and `LET` return nothing).
fn take_last(response: &mut surrealdb::IndexedResults) -> Result<Value, StoreError> {
    for index in (0..response.num_statements()).rev() {
        let value = take_json(response, index)?;
        if !value.is_null() {
            return Ok(value);
        }
    }
    Ok(Value::Null)
}

fn take_rows<T: FromRow>(
    response: &mut surrealdb::IndexedResults,
    index: usize,
    table: &'static str,
) -> Result<Vec<T>, StoreError> {
    let value: surrealdb::types::Value = response.take(index).map_err(map_error)?;
    let rows = match value {
        surrealdb::types::Value::Array(rows) => rows.into_iter().collect(),
        surrealdb::types::Value::None | surrealdb::types::Value::Null => Vec::new(),
        single => vec![single],
    };
    rows.into_iter()
        .map(|row| T::from_row(table, row))
        .collect::<Result<Vec<T>, _>>()
}

/// A document decoded from one selected row.
trait FromRow: Sized {
    fn from_row(table: &'static str, row: surrealdb::types::Value) -> Result<Self, StoreError>;
}

/// Documents decoded through their JSON form (serde, with task
/// input/output text parsed back).
macro_rules! rows_through_json {
    ($($document:ty),*) => {$(
        impl FromRow for $document {
            fn from_row(
                table: &'static str,
                row: surrealdb::types::Value,
            ) -> Result<Self, StoreError> {
                decode(table, row.into_json_value())
            }
        }
    )*};
}
rows_through_json!(Agent, Task, Thought);

/// Logs, the bulk of a trace (1,000 of its 1,221 rows in the benchmark),
/// are decoded straight from SurrealDB's values: no JSON tree per row.
impl FromRow for Log {
    fn from_row(table: &'static str, row: surrealdb::types::Value) -> Result<Self, StoreError> {
        let failed = |message: String| StoreError::Decode { table, message };
        let row = LogRecord::from_value(row).map_err(|e| failed(e.to_string()))?;
        let level = LogLevel::parse(&row.level)
            .ok_or_else(|| failed(format!("unknown level {:?}", row.level)))?;
        let metadata = match row.metadata {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => return Err(failed(format!("metadata is not an object: {other}"))),
        };
        Ok(Log {
            id: row.id,
            agent_id: row.agent_id,
            task_id: row.task_id,
            thought_id: row.thought_id,
            level,
            message: row.message,
            metadata,
            timestamp: row.timestamp,
            anomaly_score: row
                .anomaly_score
                .and_then(|score| score.to_f64())
                .map(|score| score as f32),
        })
    }
}

fn decode<T: DeserializeOwned>(table: &'static str, row: Value) -> Result<T, StoreError> {
    let row = decode_json_fields(row);
    serde_json::from_value(row).map_err(|e| StoreError::Decode {
        table,
        message: e.to_string(),
    })
}

/// Task input/output are stored as JSON text so any JSON value round-trips
/// exactly; decode them back in place.
fn decode_json_fields(mut row: Value) -> Value {
    if let Value::Object(map) = &mut row {
        for key in ["input", "output"] {
            if let Some(Value::String(text)) = map.get(key) {
                if let Ok(parsed) = serde_json::from_str::<Value>(text) {
                    map.insert(key.to_string(), parsed);
                }
            }
        }
    }
    row
}

fn json_text(value: &Option<Value>) -> Value {
    match value {
        Some(v) => Value::String(v.to_string()),
        None => Value::Null,
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

/// A log as schema version 6 and older stored it, one `log` record each,
/// in SurrealDB's own types: what the upgrade to blocks reads, and what the
/// benchmark's SurrealDB profile writes to compare that layout with blocks.
#[derive(SurrealValue)]
pub struct LogRecord {
    id: String,
    agent_id: String,
    task_id: Option<String>,
    thought_id: Option<String>,
    level: String,
    message: String,
    metadata: Value,
    timestamp: chrono::DateTime<chrono::Utc>,
    /// Any number SurrealDB holds (the field is a float, but an integer
    /// 0 or 1 written by hand decodes too).
    anomaly_score: Option<surrealdb::types::Number>,
}

impl From<&Log> for LogRecord {
    fn from(log: &Log) -> Self {
        LogRecord {
            id: log.id.clone(),
            agent_id: log.agent_id.clone(),
            task_id: log.task_id.clone(),
            thought_id: log.thought_id.clone(),
            level: log.level.as_str().to_string(),
            message: log.message.clone(),
            metadata: Value::Object(log.metadata.clone()),
            timestamp: log.timestamp,
            // Set by the indexer once the log is embedded.
            anomaly_score: None,
        }
    }
}

#[async_trait]
impl DocumentStore for SurrealStore {
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

    async fn lease_embed_jobs(
        &self,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<EmbedJob>, StoreError> {
        self.lease_queue("embed_queue", limit, lease).await
    }

    async fn settle_embed_job(
        &self,
        job: &str,
        remaining: &[String],
        lease: Duration,
    ) -> Result<(), StoreError> {
        let sql = if remaining.is_empty() {
            "DELETE type::record('embed_queue', $job);"
        } else {
            "UPDATE type::record('embed_queue', $job) SET ids = $remaining,
                 leased_until = time::now() + <duration>$lease RETURN NONE;"
        };
        self.run(
            sql,
            json!({ "job": job, "remaining": remaining, "lease": format!("{}ms", lease.as_millis()) }),
        )
        .await
        .map(|_| ())
    }

    async fn release_embed_leases(&self) -> Result<(), StoreError> {
        self.run(
            "UPDATE embed_queue SET leased_until = NONE WHERE leased_until IS NOT NONE RETURN NONE;
             UPDATE text_queue SET leased_until = NONE WHERE leased_until IS NOT NONE RETURN NONE;",
            json!({}),
        )
        .await
        .map(|_| ())
    }

    async fn otel_lookup(&self, spans: &[SpanRef]) -> Result<Vec<(String, Value)>, StoreError> {
        self.otel_lookup_owners(spans).await
    }

    async fn otel_waiting(&self, trace_ids: &[String]) -> Result<Vec<Value>, StoreError> {
        self.otel_waiting_items(trace_ids).await
    }

    async fn otel_expired(&self, age: Duration, limit: usize) -> Result<Vec<Value>, StoreError> {
        self.otel_expired_items(age, limit).await
    }

    async fn otel_enqueue(&self, items: &[Item]) -> Result<(), StoreError> {
        self.otel_enqueue_items(items).await
    }

    async fn otel_lease(&self, items: u64, lease: Duration) -> Result<Vec<InboxEntry>, StoreError> {
        self.otel_lease_entries(items, lease).await
    }

    async fn otel_release(&self, ids: Option<&[String]>) -> Result<(), StoreError> {
        self.otel_release_leases(ids).await
    }

    async fn otel_inbox_size(&self) -> Result<u64, StoreError> {
        self.otel_inbox_items().await
    }

    async fn otel_apply(&self, write: &OtelWrite) -> Result<(), StoreError> {
        self.otel_apply_round(write).await
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

    async fn index_text(&self, limit: usize, lease: Duration) -> Result<usize, StoreError> {
        self.index_text_round(limit, lease).await
    }

    async fn text_backlog(&self) -> Result<u64, StoreError> {
        self.text_queue_size().await
    }

    async fn embed_backlog(&self) -> Result<u64, StoreError> {
        self.queue_size("embed_queue").await
    }
}

/// The chain a thought belongs to: its agent's thoughts within one task, or
/// outside any task. Unique with the step, so two writers cannot both take
/// the same step (SurrealDB does not enforce uniqueness over NONE values,
/// hence one string rather than agent_id + optional task_id).
fn chain_key(agent_id: &str, task_id: Option<&str>) -> String {
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
