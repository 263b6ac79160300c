//! The SurrealDB adapter: embedded (`mem://`, `surrealkv://path`) or remote
//! (`ws://host:port`), all through `engine::any`. Every value reaches
//! SurrealQL as a bound parameter, never formatted into the query text.
//!
//! This file holds the connection: connecting, provisioning, running
//! queries with retries, timeouts and write fencing. Each role is
//! implemented in its own file: `documents` ([`Documents`]: agents, tasks,
//! thoughts), `logs` (log blocks), `trace`, `text` (search and
//! [`TextQueue`]), `retention` (expiry), `queue` ([`EmbedQueue`]), `otel`
//! ([`OtelStash`]) and `credentials` ([`CredentialStore`]); `rows` decodes
//! rows into documents.
//!
//! [`Documents`]: crate::store::Documents
//! [`TextQueue`]: crate::store::TextQueue
//! [`EmbedQueue`]: crate::store::EmbedQueue
//! [`OtelStash`]: crate::otlp::stash::OtelStash
//! [`CredentialStore`]: crate::store::credentials::CredentialStore

use std::future::Future;
use std::time::Duration;

use serde_json::{json, Map, Value};
use surrealdb::engine::any::Any;
use surrealdb::types::{SurrealValue, Variables};
use surrealdb::Surreal;

use super::{schema, StoreError};
use crate::domain::Page;
use crate::retry;
use documents::chain_key;
pub use rows::LogRecord;
use rows::{
    decode, take_json, take_last, take_rows, FromRow, AGENT_FIELDS, LOG_FIELDS, TASK_FIELDS,
    THOUGHT_FIELDS,
};

mod credentials;
mod documents;
mod logs;
mod otel;
mod queue;
mod retention;
mod rows;
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

/// Wait, at most `limit`, until the embedded engine at `url` has closed.
/// It closes in a task of its own once the last handle to it is dropped:
/// it flushes its write-ahead log and files, then releases its `LOCK`
/// file, which is what this waits for. A process that ends sooner cuts the
/// close short (surrealkv then warns that it could not close correctly, and
/// the next start replays the log). True when closed (or nothing to close:
/// a server, or memory).
pub async fn embedded_closed(url: &str, limit: Duration) -> bool {
    let Some(path) = url.strip_prefix("surrealkv://") else {
        return true;
    };
    let path = path.split('?').next().unwrap_or(path);
    let lock = std::path::Path::new(path).join("LOCK");
    let deadline = std::time::Instant::now() + limit;
    loop {
        let released = match std::fs::File::open(&lock) {
            // Our own lock on it succeeds only once the engine let go; it
            // is released again when `file` is dropped.
            Ok(file) => file.try_lock().is_ok(),
            Err(_) => true,
        };
        if released {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
