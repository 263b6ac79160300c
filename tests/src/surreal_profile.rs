//! Where SurrealDB spends a 1,000-log batch, a trace's log read and a
//! list's first page (`vectadb-bench --only-profile`): the same 1,000
//! generated logs inserted into copies of the `log` table with fewer and
//! fewer of its indexes, bound as JSON with a per-row cast (how schema
//! version 5's store bound them) and as native values (how rows are bound
//! now); one agent's 1,000 logs read
//! back with less and less in each row; and the first page of agents and its
//! total, with schema version 5's indexes and version 6's. Run against the
//! embedded engine and a server, it separates the engine's work (index
//! entries, field checks) from the protocol's (encoding rows over the
//! WebSocket).

use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use serde_json::{json, Value};
use surrealdb::engine::any::Any;
use vectadb::domain::Log;
use vectadb::store::surreal::LogRecord;

use crate::datagen;

const LOGS: usize = 1000;

/// The trace's read with each log's metadata encoded as JSON text by
/// SurrealDB (one string on the wire instead of an object).
const METADATA_AS_TEXT: &str = "whole rows, metadata as JSON text (`encoding::json::encode`)";

/// Copies of the `log` table: name, what it is, the schema's indexes left
/// out, whether fields are undefined, and indexes added back from earlier
/// schema versions.
type Copy = (
    &'static str,
    &'static str,
    &'static [&'static str],
    bool,
    &'static str,
);

/// Schema version 5's index on `thought_id`, dropped in version 6.
const THOUGHT_INDEX: &str =
    "DEFINE INDEX IF NOT EXISTS log_thought ON {t} FIELDS thought_id, timestamp;";

const ALL_INDEXES: &[&str] = &["log_level", "log_task", "log_agent"];

const TABLES: [Copy; 7] = [
    (
        "log_version_4",
        "schema version 4: 5 indexes (agent, task, thought, level, anomaly score)",
        &[],
        false,
        // Version 4's index on the score, written (as NONE) with every log.
        "DEFINE INDEX IF NOT EXISTS log_thought ON {t} FIELDS thought_id, timestamp;
         DEFINE INDEX IF NOT EXISTS log_anomaly ON {t} FIELDS anomaly_score;",
    ),
    (
        "log_version_5",
        "schema version 5: 4 indexes (agent, task, thought, level)",
        &[],
        false,
        THOUGHT_INDEX,
    ),
    (
        "log_schema",
        "schema version 6: 3 indexes (agent, task, level)",
        &[],
        false,
        "",
    ),
    (
        "log_counted",
        "the schema and a COUNT index (as agents, tasks and thoughts have)",
        &[],
        false,
        "DEFINE INDEX IF NOT EXISTS log_count ON {t} COUNT;",
    ),
    (
        "log_agent_task",
        "the schema without log_level",
        &["log_level"],
        false,
        "",
    ),
    ("log_no_index", "no index", ALL_INDEXES, false, ""),
    (
        "log_schemaless",
        "no index, no field definitions (schemaless)",
        ALL_INDEXES,
        true,
        "",
    ),
];

/// Schema version 6's `log` table (one record per log), which version 7
/// replaced with blocks: the layout the copies below vary.
const VERSION_6_LOG: &str = "
DEFINE TABLE IF NOT EXISTS log SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS agent_id ON log TYPE string;
DEFINE FIELD IF NOT EXISTS task_id ON log TYPE option<string>;
DEFINE FIELD IF NOT EXISTS thought_id ON log TYPE option<string>;
DEFINE FIELD IF NOT EXISTS level ON log TYPE string
    ASSERT $value IN ['trace', 'debug', 'info', 'warn', 'error', 'critical'];
DEFINE FIELD IF NOT EXISTS message ON log TYPE string;
DEFINE FIELD IF NOT EXISTS metadata ON log TYPE object FLEXIBLE;
DEFINE FIELD IF NOT EXISTS timestamp ON log TYPE datetime;
DEFINE FIELD IF NOT EXISTS anomaly_score ON log TYPE option<float>;
DEFINE INDEX IF NOT EXISTS log_agent ON log FIELDS agent_id, timestamp;
DEFINE INDEX IF NOT EXISTS log_task ON log FIELDS task_id, timestamp;
DEFINE INDEX IF NOT EXISTS log_level ON log FIELDS level, timestamp;
";

/// `schema`'s statements for `source`, on a table of another name,
/// without the given indexes (and without field definitions when
/// `schemaless`).
fn table_copy(
    schema: &str,
    source: &str,
    name: &str,
    without: &[&str],
    schemaless: bool,
) -> String {
    let text: Vec<&str> = schema
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .collect();
    let (on, table) = (format!(" ON {source} "), format!(" EXISTS {source} "));
    let mut out = String::new();
    for statement in text.join("\n").split(';').map(str::trim) {
        let on_source = statement.contains(&on)
            || statement.starts_with(&format!("DEFINE TABLE IF NOT EXISTS {source} "));
        let dropped = without
            .iter()
            .any(|i| statement.contains(&format!(" {i} ")))
            || (schemaless && statement.starts_with("DEFINE FIELD"));
        if on_source && !dropped {
            out.push_str(statement);
            out.push_str(";\n");
        }
    }
    let out = out
        .replace(&on, &format!(" ON {name} "))
        .replace(&table, &format!(" EXISTS {name} "));
    if schemaless {
        out.replace("SCHEMAFULL", "SCHEMALESS")
    } else {
        out
    }
}

/// 1,000 generated logs of `agent`, spread over 20 tasks, ids `{tag}-{j}`,
/// a millisecond apart.
fn batch(agent: &str, tag: &str) -> Vec<Log> {
    let start = chrono::Utc::now();
    (0..LOGS)
        .map(|j| {
            let mut log = datagen::log(agent, Some(&format!("task-{}", j % 20)), j as u64);
            log["id"] = json!(format!("{tag}-{j}"));
            log["timestamp"] = json!(start + chrono::Duration::milliseconds(j as i64));
            serde_json::from_value(log).expect("a generated log is a Log")
        })
        .collect()
}

/// The rows as the store binds them.
fn records(logs: &[Log]) -> Vec<LogRecord> {
    logs.iter().map(LogRecord::from).collect()
}

/// The rows as schema version 5's store bound them: JSON, the timestamp as
/// text.
fn as_json(logs: &[Log]) -> Vec<Value> {
    logs.iter()
        .map(|l| {
            json!({"id": l.id, "agent_id": l.agent_id, "task_id": l.task_id,
                   "level": l.level.as_str(), "message": l.message, "metadata": l.metadata,
                   "timestamp": l.timestamp})
        })
        .collect()
}

async fn run(query: surrealdb::method::Query<'_, Any>) -> anyhow::Result<()> {
    let mut response = query.await?;
    let errors = response.take_errors();
    ensure!(errors.is_empty(), "{errors:?}");
    Ok(())
}

fn p50(mut samples: Vec<Duration>) -> String {
    samples.sort();
    format!("{:.1}", samples[samples.len() / 2].as_secs_f64() * 1000.0)
}

/// Connect to `url` (`surrealkv://…` or `ws://…` with root/root), profile,
/// and answer the report's markdown lines.
pub async fn profile(url: &str, repeats: usize, agents: usize) -> anyhow::Result<Vec<String>> {
    let db = surrealdb::engine::any::connect(url).await?;
    if url.starts_with("ws") {
        db.signin(surrealdb::opt::auth::Root {
            username: crate::surreal_server::USER.into(),
            password: crate::surreal_server::PASS.into(),
        })
        .await?;
    }
    db.query("DEFINE NAMESPACE IF NOT EXISTS profile; USE NS profile; DEFINE DATABASE IF NOT EXISTS profile;")
        .await?;
    db.use_ns("profile").use_db("profile").await?;
    let mut lines = vec![
        format!("Insert of {LOGS} logs in one transaction (p50 of {repeats}, ms):\n"),
        "| `log` table copy | JSON rows, `<datetime>` cast per row | native values |".into(),
        "|---|---|---|".into(),
    ];
    for (table, what, without, schemaless, added) in TABLES {
        let mut definition = table_copy(VERSION_6_LOG, "log", table, without, schemaless);
        definition.push_str(&added.replace("{t}", table));
        run(db.query(definition))
            .await
            .with_context(|| format!("defining {table}"))?;
        let (mut cast, mut native) = (Vec::new(), Vec::new());
        for round in 0..repeats {
            let rows = batch("agent-p", &format!("{table}-{round}-c"));
            let started = Instant::now();
            run(db
                .query(format!(
                    "BEGIN TRANSACTION;
                     INSERT INTO {table} array::map($rows, |$r| $r.{{
                         id, agent_id, task_id, thought_id, level, message, metadata,
                         timestamp: <datetime>$r.timestamp
                     }}) RETURN NONE;
                     COMMIT TRANSACTION;"
                ))
                .bind(("rows", as_json(&rows))))
            .await?;
            cast.push(started.elapsed());
            let rows = records(&batch("agent-p", &format!("{table}-{round}-n")));
            let started = Instant::now();
            run(db
                .query(format!(
                    "BEGIN TRANSACTION; INSERT INTO {table} $rows RETURN NONE; COMMIT TRANSACTION;"
                ))
                .bind(("rows", rows)))
            .await?;
            native.push(started.elapsed());
        }
        lines.push(format!("| {what} | {} | {} |", p50(cast), p50(native)));
    }
    lines.extend(arrival_order(&db, repeats).await?);

    // One agent's 1,000 logs, read back the way a trace reads them.
    let rows = records(&batch("agent-trace", "trace"));
    run(db
        .query("INSERT INTO log_schema $rows RETURN NONE;")
        .bind(("rows", rows)))
    .await?;
    let reads = [
        ("count (the index range alone)", "SELECT count() FROM log_schema WHERE agent_id = $id GROUP ALL"),
        ("ids", "SELECT VALUE record::id(id) FROM log_schema WHERE agent_id = $id"),
        ("rows without metadata", "SELECT record::id(id) AS id, agent_id, task_id, thought_id, level, message, timestamp, anomaly_score FROM log_schema WHERE agent_id = $id ORDER BY timestamp, id"),
        ("whole rows (the trace's read)", "SELECT record::id(id) AS id, agent_id, task_id, thought_id, level, message, metadata, timestamp, anomaly_score FROM log_schema WHERE agent_id = $id ORDER BY timestamp, id"),
        (METADATA_AS_TEXT, "SELECT record::id(id) AS id, agent_id, task_id, thought_id, level, message, encoding::json::encode(metadata) AS metadata, timestamp, anomaly_score FROM log_schema WHERE agent_id = $id ORDER BY timestamp, id"),
    ];
    lines.push(format!(
        "\nRead of one agent's {LOGS} logs (p50 of {}, ms; the query answered and decoded into SurrealDB values, then those values turned into JSON as schema version 5's store did for every row, and metadata sent as text parsed back):\n",
        repeats * 3
    ));
    lines.push("| Selected | query | values → JSON |".into());
    lines.push("|---|---|---|".into());
    for (what, sql) in reads {
        let (mut query, mut to_json) = (Vec::new(), Vec::new());
        for _ in 0..repeats * 3 {
            let started = Instant::now();
            let mut response = db.query(sql).bind(("id", "agent-trace")).await?;
            let value: surrealdb::types::Value = response.take(0)?;
            query.push(started.elapsed());
            let started = Instant::now();
            let mut rows = value.into_json_value();
            if what == METADATA_AS_TEXT {
                for row in rows.as_array_mut().into_iter().flatten() {
                    let text = row["metadata"].as_str().unwrap_or("{}").to_string();
                    row["metadata"] = serde_json::from_str(&text)?;
                }
            }
            std::hint::black_box(rows);
            to_json.push(started.elapsed());
        }
        lines.push(format!("| {what} | {} | {} |", p50(query), p50(to_json)));
    }
    lines.extend(listing(&db, agents, repeats * 3).await?);
    Ok(lines)
}

/// A batch as the API receives it: no timestamps (all get the time of the
/// request) and server-made ids, which are random. Every log index ends in
/// `(timestamp, id)`, so in arrival order each index is written at random
/// places within the batch; sorted by `(timestamp, id)`, appended to.
async fn arrival_order(
    db: &surrealdb::Surreal<Any>,
    repeats: usize,
) -> anyhow::Result<Vec<String>> {
    let mut lines = vec![
        format!("\nThe schema's `log`, {LOGS} logs sharing one timestamp with server-made (random) ids, native values (p50 of {}, ms, the two alternating):\n", repeats * 2),
        "| Rows | insert |".into(),
        "|---|---|".into(),
    ];
    // Alternating, so both meet the same table and the same machine.
    let (mut arrival, mut sorted) = (Vec::new(), Vec::new());
    for _ in 0..repeats * 2 {
        for in_order in [false, true] {
            let mut rows = batch("agent-arrival", "unused");
            let now = chrono::Utc::now();
            for row in &mut rows {
                row.id = vectadb::domain::ids::generate();
                row.timestamp = now;
            }
            if in_order {
                rows.sort_by(|a, b| (a.timestamp, &a.id).cmp(&(b.timestamp, &b.id)));
            }
            let rows = records(&rows);
            let started = Instant::now();
            run(db
                .query("BEGIN TRANSACTION; INSERT INTO log_schema $rows RETURN NONE; COMMIT TRANSACTION;")
                .bind(("rows", rows)))
            .await?;
            if in_order { &mut sorted } else { &mut arrival }.push(started.elapsed());
        }
    }
    lines.push(format!("| in arrival order | {} |", p50(arrival)));
    lines.push(format!(
        "| sorted by `(timestamp, id)` (what the store does) | {} |",
        p50(sorted)
    ));
    Ok(lines)
}

/// What `GET /agents?limit=20` costs at `agents` agents: the page (newest
/// first) by a backward scan of a `created_at` index and by a forward scan
/// of the `newest` index, and the total without and with a COUNT index.
async fn listing(
    db: &surrealdb::Surreal<Any>,
    agents: usize,
    repeats: usize,
) -> anyhow::Result<Vec<String>> {
    // The schema's `agent` without its COUNT index (added below), plus
    // schema version 5's index for newest first.
    let mut definition = table_copy(
        vectadb::store::schema::SCHEMA,
        "agent",
        "agent_list",
        &["agent_count"],
        false,
    );
    definition
        .push_str("DEFINE INDEX IF NOT EXISTS agent_created ON agent_list FIELDS created_at;");
    run(db.query(definition))
        .await
        .context("defining agent_list")?;
    let start = chrono::Utc::now();
    for chunk in (0..agents).collect::<Vec<_>>().chunks(5000) {
        let rows: Vec<Value> = chunk
            .iter()
            .map(|&i| {
                let mut agent = datagen::agent("list", i as u64);
                let at = start + chrono::Duration::milliseconds(i as i64);
                agent["created_at"] = json!(at);
                agent["updated_at"] = json!(at);
                agent
            })
            .collect();
        run(db
            .query(
                "INSERT INTO agent_list array::map($rows, |$r| $r.{ id, role, goal, metadata,
                     created_at: <datetime>$r.created_at, updated_at: <datetime>$r.updated_at })
                 RETURN NONE;",
            )
            .bind(("rows", rows)))
        .await?;
    }
    let timed = |sql: String| async move {
        let mut samples = Vec::new();
        for _ in 0..repeats {
            let started = Instant::now();
            let mut response = db.query(sql.clone()).await?;
            let value: surrealdb::types::Value = response.take(0)?;
            samples.push(started.elapsed());
            std::hint::black_box(value);
        }
        anyhow::Ok(p50(samples))
    };
    const FIELDS: &str = "record::id(id) AS id, role, goal, metadata, created_at, updated_at";
    let page = timed(format!(
        "SELECT {FIELDS} FROM agent_list ORDER BY newest, id LIMIT 20"
    ))
    .await?;
    let backward = timed(format!(
        "SELECT {FIELDS} FROM agent_list ORDER BY created_at DESC, id DESC LIMIT 20"
    ))
    .await?;
    let total = "(SELECT count() AS n FROM agent_list GROUP ALL)[0].n ?? 0";
    let scanned = timed(total.into()).await?;
    run(db.query("DEFINE INDEX IF NOT EXISTS agent_list_count ON agent_list COUNT;")).await?;
    let counted = timed(total.into()).await?;
    Ok(vec![
        format!("\nFirst page of `GET /agents?limit=20` at {agents} agents (p50 of {repeats}, ms):\n"),
        "| Part | ms |".into(),
        "|---|---|".into(),
        format!("| page: 20 agents, `ORDER BY created_at DESC, id DESC` (schema version 5: the `created_at` index scanned backwards) | {backward} |"),
        format!("| page: 20 agents, `ORDER BY newest, id` (schema version 6: the `newest` index scanned forwards) | {page} |"),
        format!("| total: `count()` over the table (schema version 5) | {scanned} |"),
        format!("| total: `count()` with a COUNT index on the table (schema version 6) | {counted} |"),
    ])
}
