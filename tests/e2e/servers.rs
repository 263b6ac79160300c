//! The API as stateless replicas on a real SurrealDB server and a real
//! Qdrant server: `vectadb provision` and the schema check at start, two
//! instances sharing the servers, and outages of either server.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::json;
use vectadb::store::schema::SCHEMA_VERSION;
use vectadb::store::surreal::SurrealStore;
use vectadb::store::Table;
use vectadb::vectors::Collection;
use vectadb_tests::process::{run_to_end, vectadb_command, Server};
use vectadb_tests::{test_config, Backends, Servers, TestApp};

/// Run a `vectadb` command against `servers` to its end (at most a
/// minute): exit success, stdout, stderr.
fn run(args: &[&str], servers: &Servers, dir: &std::path::Path) -> (bool, String, String) {
    let mut command = vectadb_command(dir, &servers.env());
    command.args(args);
    let finished = run_to_end(command, Duration::from_secs(60));
    (finished.success, finished.stdout, finished.stderr)
}

#[tokio::test]
async fn provision_then_serve_and_the_version_check_on_servers() {
    let servers = Servers::start().await;
    let dir = tempfile::tempdir().unwrap();

    // Unprovisioned: serve refuses, saying what to run.
    let (ok, _, stderr) = run(&["serve"], &servers, dir.path());
    assert!(!ok, "serve started on an unprovisioned database");
    assert!(stderr.contains("vectadb provision"), "{stderr}");

    let (ok, first, stderr) = run(&["provision"], &servers, dir.path());
    assert!(ok, "{stderr}");
    assert!(
        first.contains(&format!("schema version {SCHEMA_VERSION} created")),
        "{first}"
    );
    assert!(first.contains(&servers.surreal.url()), "{first}");
    assert!(
        ["agents", "tasks", "logs", "thoughts"]
            .iter()
            .all(|c| first.contains(&format!("collection {c} created"))),
        "{first}"
    );
    assert!(first.contains("changes applied"), "{first}");

    let (ok, second, stderr) = run(&["provision"], &servers, dir.path());
    assert!(ok, "{stderr}");
    assert!(
        second.contains(&format!("schema version {SCHEMA_VERSION} already in place")),
        "{second}"
    );
    assert_eq!(second.matches("already present").count(), 4, "{second}");
    assert!(second.contains("nothing to change"), "{second}");

    // A database from a newer VectaDB: refused, naming both versions.
    let config = servers.configure(test_config(dir.path()));
    let store = SurrealStore::connect(&config.surreal()).await.unwrap();
    store
        .record_schema_version(SCHEMA_VERSION + 1)
        .await
        .unwrap();
    let (ok, _, stderr) = run(&["serve"], &servers, dir.path());
    assert!(!ok, "serve started on a newer schema");
    assert!(
        stderr.contains(&format!("schema version {}", SCHEMA_VERSION + 1))
            && stderr.contains(&format!("version {SCHEMA_VERSION}")),
        "{stderr}"
    );
    let (ok, _, stderr) = run(&["provision"], &servers, dir.path());
    assert!(!ok, "provision downgraded a newer schema");
    assert!(
        stderr.contains(&format!("{}", SCHEMA_VERSION + 1)),
        "{stderr}"
    );
}

#[tokio::test]
async fn two_instances_on_the_same_servers_see_each_others_writes() {
    let servers = Servers::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = run(&["provision"], &servers, dir.path());
    assert!(ok, "{stderr}");
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let env = servers.env();
    let (a, b) = tokio::join!(
        Server::start_with(dir_a.path(), &env),
        Server::start_with(dir_b.path(), &env)
    );

    let (status, agent) = a
        .call(
            "POST",
            "/api/v1/agents",
            Some(&json!({"role": "sommelier", "goal": "pair wines with dinner menus"})),
        )
        .await;
    assert_eq!(status, 201, "{agent}");
    let id = agent["id"].as_str().unwrap().to_string();
    let (status, task) = a
        .call(
            "POST",
            "/api/v1/tasks",
            Some(&json!({"agent_id": id, "description": "choose a red for the lamb"})),
        )
        .await;
    assert_eq!(status, 201, "{task}");

    // B reads what A wrote, finds it by meaning, and walks its trace.
    let (status, got) = b.call("GET", &format!("/api/v1/agents/{id}"), None).await;
    assert_eq!((status, &got), (200, &agent));
    let (_, hits) = b
        .call(
            "POST",
            "/api/v1/similar/agents",
            Some(&json!({"query": "wine expert", "threshold": 0.3})),
        )
        .await;
    assert_eq!(hits["results"][0]["id"], id, "{hits}");
    let (status, trace) = b.call("GET", &format!("/api/v1/traces/{id}"), None).await;
    assert_eq!(status, 200, "{trace}");
    assert_eq!(trace["tasks"][0]["id"], task["id"], "{trace}");

    // And the other way round.
    let (status, other) = b
        .call(
            "POST",
            "/api/v1/agents",
            Some(&json!({"role": "cheesemonger", "goal": "age cheddar"})),
        )
        .await;
    assert_eq!(status, 201, "{other}");
    let (_, list) = a.call("GET", "/api/v1/agents", None).await;
    assert_eq!(list["total"], 2, "{list}");
    let (status, _) = a
        .call(
            "DELETE",
            &format!("/api/v1/agents/{}", other["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = b
        .call(
            "GET",
            &format!("/api/v1/agents/{}", other["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 404);
}

/// The 503 a backend outage gets: quick, naming the backend.
async fn assert_unavailable(t: &TestApp, backend: &str) {
    let started = Instant::now();
    let (status, body) = t
        .post(
            "/api/v1/agents",
            json!({"role": "night porter", "goal": "mind the door"}),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(backend), "{body}");
    // Bounded by the backend timeout (2 s here), never a hang.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn outages_of_either_server_give_503_lose_nothing_and_heal_without_a_restart() {
    let mut t = TestApp::on_with(Backends::Servers, |mut c| {
        c.backend_timeout_ms = 2_000;
        c
    })
    .await;
    let keeper = t
        .agent("lighthouse keeper", "keep the lamp lit through storms")
        .await;

    // Qdrant goes down: writes fail without leaving a document behind.
    t.servers.as_mut().unwrap().qdrant.kill();
    assert_unavailable(&t, "Qdrant").await;
    let (status, health) = t.get("/health").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{health}");
    assert_eq!(
        health["components"]["vector_index"]["status"], "down",
        "{health}"
    );
    assert_eq!(
        health["components"]["document_store"]["status"], "up",
        "{health}"
    );
    assert_eq!(t.store.count(Table::Agent).await.unwrap(), 1);
    t.servers.as_mut().unwrap().qdrant.restart().await;

    // SurrealDB goes down: writes fail without leaving a vector behind.
    t.servers.as_mut().unwrap().surreal.kill();
    assert_unavailable(&t, "SurrealDB").await;
    let (status, health) = t.get("/health").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{health}");
    assert_eq!(
        health["components"]["document_store"]["status"], "down",
        "{health}"
    );
    assert_eq!(
        health["components"]["vector_index"]["status"], "up",
        "{health}"
    );
    assert_eq!(t.vectors.count(Collection::Agents).await.unwrap(), 1);

    // Both back: the same API process serves again (the clients reconnect).
    t.servers.as_mut().unwrap().surreal.restart().await;
    let (status, got) = t.get(&format!("/api/v1/agents/{keeper}")).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    let ferry = t
        .agent("ferry captain", "carry passengers across the bay")
        .await;
    let (_, hits) = t
        .post(
            "/api/v1/similar/agents",
            json!({"query": "someone who tends a lighthouse", "threshold": 0.3}),
        )
        .await;
    assert_eq!(hits["results"][0]["id"], keeper, "{hits}");
    assert_eq!(t.get("/api/v1/agents").await.1["total"], 2);
    assert_eq!(t.vectors.count(Collection::Agents).await.unwrap(), 2);
    assert_eq!(t.get("/health").await.0, StatusCode::OK);
    assert_ne!(keeper, ferry);
}

#[tokio::test]
async fn a_dropped_connection_is_retried_not_reported() {
    let servers = Servers::start().await;
    let surreal = vectadb_tests::proxy::Proxy::start(servers.surreal.port).await;
    let qdrant = vectadb_tests::proxy::Proxy::start(servers.qdrant.grpc_port).await;
    let t = TestApp::on_servers(servers, |mut c| {
        c.surreal_url = Some(format!("ws://127.0.0.1:{}", surreal.port));
        c.qdrant_url = Some(format!("http://127.0.0.1:{}", qdrant.port));
        c
    })
    .await;
    let id = t
        .agent("glassblower", "shape molten glass into vases")
        .await;

    for round in 0..3 {
        assert!(surreal.cut() > 0 && qdrant.cut() > 0, "nothing to cut");
        let (status, got) = t.get(&format!("/api/v1/agents/{id}")).await;
        assert_eq!(status, StatusCode::OK, "round {round}: {got}");
        let (status, hits) = t
            .post(
                "/api/v1/similar/agents",
                json!({"query": "an artisan who works with glass", "threshold": 0.3}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "round {round}: {hits}");
        assert_eq!(hits["results"][0]["id"], id, "round {round}: {hits}");
    }
}

/// A provisioned store on fresh test servers, and a connection of our own
/// to its database, to leave behind what an older version wrote.
async fn provisioned_with_raw_connection() -> (
    Servers,
    tempfile::TempDir,
    SurrealStore,
    surrealdb::Surreal<surrealdb::engine::any::Any>,
) {
    let servers = Servers::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = servers.configure(test_config(dir.path()));
    let store = SurrealStore::connect(&config.surreal()).await.unwrap();
    vectadb::app::provision_store(&store).await.unwrap();
    let raw = surrealdb::engine::any::connect(servers.surreal.url())
        .await
        .unwrap();
    raw.signin(surrealdb::opt::auth::Root {
        username: vectadb_tests::surreal_server::USER.into(),
        password: vectadb_tests::surreal_server::PASS.into(),
    })
    .await
    .unwrap();
    raw.use_ns(&config.surreal_namespace)
        .use_db(&config.surreal_database)
        .await
        .unwrap();
    (servers, dir, store, raw)
}

/// Leave what schema `version` left (`sql`, run as is) and record that
/// version, as an older VectaDB would have.
async fn as_version(
    store: &SurrealStore,
    raw: &surrealdb::Surreal<surrealdb::engine::any::Any>,
    version: u64,
    sql: &str,
) {
    raw.query(sql).await.unwrap().check().unwrap();
    store.record_schema_version(version).await.unwrap();
}

/// An upgraded store has no `log` table left: its rows are in blocks.
async fn assert_logs_moved_to_blocks(store: &SurrealStore) {
    let tables = store.describe().await.unwrap()["tables"].clone();
    assert!(tables["log"].is_null(), "{}", tables["log"]);
    let block_indexes = tables["log_block"]["indexes"].to_string();
    for index in ["log_block_key", "log_block_agent", "log_block_newest"] {
        assert!(block_indexes.contains(index), "{index}: {block_indexes}");
    }
}

#[tokio::test]
async fn provision_moves_a_version_6_databases_logs_into_blocks_with_their_scores() {
    use vectadb::domain::{LogFilter, LogLevel};
    use vectadb::store::Documents;
    let (_servers, _dir, store, raw) = provisioned_with_raw_connection().await;

    // Version 6 kept one `log` record per log: 2,500 of them (the upgrade
    // moves them a page at a time), of two agents, a second apart, every
    // 100th scored (and indexed in `log_score`, as version 6 did).
    as_version(
        &store,
        &raw,
        6,
        "CREATE agent:one SET role = 'r', goal = 'g', metadata = {}, created_at = time::now(), updated_at = time::now();
         CREATE agent:two SET role = 'r', goal = 'g', metadata = {}, created_at = time::now(), updated_at = time::now();
         CREATE task:t SET agent_id = 'one', description = 'd', status = 'pending', metadata = {},
             created_at = time::now(), updated_at = time::now();
         DEFINE TABLE log SCHEMAFULL;
         DEFINE FIELD agent_id ON log TYPE string;
         DEFINE FIELD task_id ON log TYPE option<string>;
         DEFINE FIELD thought_id ON log TYPE option<string>;
         DEFINE FIELD level ON log TYPE string;
         DEFINE FIELD message ON log TYPE string;
         DEFINE FIELD metadata ON log TYPE object FLEXIBLE;
         DEFINE FIELD timestamp ON log TYPE datetime;
         DEFINE FIELD anomaly_score ON log TYPE option<float>;
         DEFINE INDEX log_agent ON log FIELDS agent_id, timestamp;
         FOR $i IN 0..2500 {
             CREATE type::record('log', 'r' + <string>$i) SET
                 agent_id = IF $i % 2 = 0 { 'one' } ELSE { 'two' },
                 task_id = IF $i % 4 = 0 { 't' } ELSE { NONE },
                 level = IF $i % 10 = 0 { 'error' } ELSE { 'info' },
                 message = 'm' + <string>$i,
                 metadata = { n: $i },
                 timestamp = d'2026-01-01T00:00:00Z' + <duration>(<string>$i + 's'),
                 anomaly_score = IF $i % 100 = 0 { 0.9 } ELSE { NONE };
         };
         INSERT INTO log_score (SELECT record::id(id) AS id, anomaly_score AS score, agent_id,
             task_id, thought_id, level, timestamp FROM log WHERE anomaly_score != NONE) RETURN NONE;
         CREATE api_key:ingest SET name = 'ingest', scopes = ['write'], hash = 'h', created_at = time::now();
         CREATE api_key:reader SET name = 'reader', scopes = ['read'], hash = 'h', created_at = time::now();",
    )
    .await;

    let report = vectadb::app::provision_store(&store).await.unwrap();
    assert!(report.changed, "{report:?}");
    assert_logs_moved_to_blocks(&store).await;
    // `write` allowed deleting before version 7: such keys keep it.
    use vectadb::store::credentials::CredentialStore;
    let ingest = store.get_key("ingest").await.unwrap().unwrap();
    assert_eq!(ingest.scopes, ["write", "delete"]);
    let reader = store.get_key("reader").await.unwrap().unwrap();
    assert_eq!(reader.scopes, ["read"]);
    assert_eq!(store.count(Table::Log).await.unwrap(), 2500);

    // Every log keeps its id, owners, level, message, metadata, time and score.
    let logs = store
        .get_logs(&["r0".into(), "r7".into(), "r2499".into()])
        .await
        .unwrap();
    assert_eq!(logs.len(), 3);
    let r0 = logs.iter().find(|l| l.id == "r0").unwrap();
    assert_eq!(
        (r0.agent_id.as_str(), r0.task_id.as_deref(), r0.level),
        ("one", Some("t"), LogLevel::Error)
    );
    assert_eq!(r0.anomaly_score, Some(0.9));
    assert_eq!(r0.metadata["n"], 0);
    let r7 = logs.iter().find(|l| l.id == "r7").unwrap();
    assert_eq!((r7.agent_id.as_str(), r7.message.as_str()), ("two", "m7"));
    assert_eq!(r7.anomaly_score, None);
    assert_eq!(r7.timestamp.to_rfc3339(), "2026-01-01T00:00:07+00:00");

    // Listings, by time and by score, and the trace see them all.
    let one = LogFilter {
        agent_id: Some("one".into()),
        ..Default::default()
    };
    let page = store.list_logs(&one, 3, 0).await.unwrap();
    assert_eq!(page.total, 1250);
    let messages: Vec<&str> = page.items.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(messages, ["m0", "m2", "m4"]);
    let errors = LogFilter {
        agent_id: Some("one".into()),
        level: Some(LogLevel::Error),
        ..Default::default()
    };
    assert_eq!(store.list_logs(&errors, 1, 0).await.unwrap().total, 250);
    let by_score = LogFilter {
        by_anomaly: true,
        ..Default::default()
    };
    let scored = store.list_logs(&by_score, 100, 0).await.unwrap();
    assert_eq!(scored.total, 25);
    assert!(scored.items.iter().all(|l| l.anomaly_score == Some(0.9)));
    let every_log = vectadb::domain::TraceShape {
        logs: 1_000,
        ..Default::default()
    };
    let trace = store.trace("one", &every_log).await.unwrap().unwrap();
    assert_eq!(trace.tasks[0].logs.len(), 625);
    assert_eq!(trace.logs.len(), 625);

    // Provisioning again changes nothing; deleting an agent takes its logs.
    let again = vectadb::app::provision_store(&store).await.unwrap();
    assert!(!again.changed, "{again:?}");
    assert!(store.delete_agent("one").await.unwrap());
    assert_eq!(store.count(Table::Log).await.unwrap(), 1250);
    assert_eq!(store.list_logs(&by_score, 100, 0).await.unwrap().total, 0);
}

#[tokio::test]
async fn provision_upgrades_a_version_4_database_and_indexes_its_scores() {
    use vectadb::domain::LogFilter;
    use vectadb::store::Documents;
    let (_servers, _dir, store, raw) = provisioned_with_raw_connection().await;

    // Version 4 kept scores on `log` (indexed there): two scored logs (one
    // written as the integer 1), one not.
    as_version(
        &store,
        &raw,
        4,
        "CREATE agent:old SET role = 'r', goal = 'g', metadata = {}, created_at = time::now(), updated_at = time::now();
         CREATE log:calm SET agent_id = 'old', level = 'info', message = 'm', metadata = {}, timestamp = time::now(), anomaly_score = 0.2;
         CREATE log:odd SET agent_id = 'old', level = 'error', message = 'x', metadata = {}, timestamp = time::now(), anomaly_score = 1;
         CREATE log:new SET agent_id = 'old', level = 'info', message = 'n', metadata = {}, timestamp = time::now();
         DELETE log_score;
         DEFINE INDEX log_anomaly ON log FIELDS anomaly_score;",
    )
    .await;

    let report = vectadb::app::provision_store(&store).await.unwrap();
    assert!(report.changed, "{report:?}");
    assert_logs_moved_to_blocks(&store).await;
    let by_score = LogFilter {
        by_anomaly: true,
        ..Default::default()
    };
    let page = store.list_logs(&by_score, 10, 0).await.unwrap();
    let ids: Vec<&str> = page.items.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["odd", "calm"]);
    assert_eq!(page.total, 2);
    assert_eq!(page.items[0].anomaly_score, Some(1.0));
    let high = LogFilter {
        min_anomaly_score: Some(0.5),
        level: Some(vectadb::domain::LogLevel::Error),
        ..Default::default()
    };
    assert_eq!(store.list_logs(&high, 10, 0).await.unwrap().total, 1);

    // Provisioning again (now version 5) does not index them twice, and
    // the agent's deletion takes its scores with it.
    vectadb::app::provision_store(&store).await.unwrap();
    assert_eq!(store.list_logs(&by_score, 10, 0).await.unwrap().total, 2);
    assert!(store.delete_agent("old").await.unwrap());
    assert_eq!(store.list_logs(&by_score, 10, 0).await.unwrap().total, 0);
}

#[tokio::test]
async fn provision_upgrades_a_version_5_database_to_forward_listings_and_counted_totals() {
    use vectadb::domain::{Agent, TaskFilter, TaskStatus};
    use vectadb::store::Documents;
    let (_servers, _dir, store, raw) = provisioned_with_raw_connection().await;

    // What version 5 had: agents and tasks without `newest`, listed by
    // `created_at` indexes, no COUNT indexes. Two agents, the older first.
    as_version(
        &store,
        &raw,
        5,
        "REMOVE INDEX agent_newest ON agent; REMOVE INDEX agent_count ON agent;
         REMOVE FIELD newest ON agent;
         REMOVE INDEX task_agent_newest ON task; REMOVE INDEX task_status_newest ON task;
         REMOVE INDEX task_newest ON task; REMOVE INDEX task_count ON task;
         REMOVE FIELD newest ON task;
         DEFINE INDEX agent_created ON agent FIELDS created_at;
         DEFINE INDEX task_agent ON task FIELDS agent_id, created_at;
         DEFINE INDEX task_status ON task FIELDS status, created_at;
         DEFINE INDEX task_created ON task FIELDS created_at;
         DEFINE INDEX log_thought ON log FIELDS thought_id, timestamp;
         CREATE agent:older SET role = 'r', goal = 'g', metadata = {},
             created_at = d'2026-01-01T00:00:00Z', updated_at = d'2026-01-01T00:00:00Z';
         CREATE agent:newer SET role = 'r', goal = 'g', metadata = {},
             created_at = d'2026-02-01T00:00:00Z', updated_at = d'2026-02-01T00:00:00Z';
         CREATE task:first SET agent_id = 'older', description = 'd', status = 'pending', metadata = {},
             created_at = d'2026-01-02T00:00:00Z', updated_at = d'2026-01-02T00:00:00Z';
         CREATE task:second SET agent_id = 'older', description = 'd', status = 'pending', metadata = {},
             created_at = d'2026-01-03T00:00:00Z', updated_at = d'2026-01-03T00:00:00Z';",
    )
    .await;

    let report = vectadb::app::provision_store(&store).await.unwrap();
    assert!(report.changed, "{report:?}");
    let tables = store.describe().await.unwrap()["tables"].clone();
    let (agent_indexes, task_indexes) = (
        tables["agent"]["indexes"].to_string(),
        tables["task"]["indexes"].to_string(),
    );
    assert_logs_moved_to_blocks(&store).await;
    for (indexes, present, absent) in [
        (
            &agent_indexes,
            ["agent_newest", "agent_count"].as_slice(),
            ["agent_created"].as_slice(),
        ),
        (
            &task_indexes,
            [
                "task_agent_newest",
                "task_status_newest",
                "task_newest",
                "task_count",
            ]
            .as_slice(),
            ["\"task_agent\"", "\"task_status\"", "task_created"].as_slice(),
        ),
    ] {
        for name in present {
            assert!(indexes.contains(name), "{name} missing: {indexes}");
        }
        for name in absent {
            assert!(!indexes.contains(name), "{name} left behind: {indexes}");
        }
    }

    // The stored records list newest first by their computed `newest`, and
    // a record written after the upgrade goes before them.
    let ids = |items: &[Agent]| items.iter().map(|a| a.id.clone()).collect::<Vec<_>>();
    let agents = store.list_agents(None, 10, 0).await.unwrap();
    assert_eq!(ids(&agents.items), ["newer", "older"]);
    assert_eq!(agents.total, 2);
    let now = chrono::Utc::now();
    store
        .create_agent(&Agent {
            id: "newest".into(),
            role: "r".into(),
            goal: "g".into(),
            metadata: Default::default(),
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
    let agents = store.list_agents(None, 2, 0).await.unwrap();
    assert_eq!(ids(&agents.items), ["newest", "newer"]);
    assert_eq!(
        agents.total, 3,
        "the COUNT index counts the records from before it"
    );
    for filter in [
        TaskFilter::default(),
        TaskFilter {
            agent_id: Some("older".into()),
            status: None,
        },
        TaskFilter {
            agent_id: None,
            status: Some(TaskStatus::Pending),
        },
    ] {
        let tasks = store.list_tasks(&filter, 10, 0).await.unwrap();
        assert_eq!(
            tasks
                .items
                .iter()
                .map(|t| t.id.as_str())
                .collect::<Vec<_>>(),
            ["second", "first"],
            "{filter:?}"
        );
        assert_eq!(tasks.total, 2);
    }

    // Deleting keeps the counted totals right.
    assert!(store.delete_agent("older").await.unwrap());
    assert_eq!(store.list_agents(None, 10, 0).await.unwrap().total, 2);
    assert_eq!(
        store
            .list_tasks(&TaskFilter::default(), 10, 0)
            .await
            .unwrap()
            .total,
        0
    );
}

#[tokio::test]
async fn provision_upgrades_a_version_1_database_and_keeps_its_data() {
    use vectadb::store::Documents;
    let (_servers, _dir, store, raw) = provisioned_with_raw_connection().await;

    // What version 1 left behind: an agent, a log and its `emits` edge.
    as_version(
        &store,
        &raw,
        1,
        "CREATE agent:old SET role = 'r', goal = 'g', metadata = {}, created_at = time::now(), updated_at = time::now();
         CREATE log:old SET agent_id = 'old', level = 'info', message = 'm', metadata = {}, timestamp = time::now();
         DEFINE TABLE emits TYPE RELATION FROM agent | task | thought TO log ENFORCED;
         RELATE agent:old->emits->log:old;",
    )
    .await;
    assert!(store.describe().await.unwrap()["tables"]["emits"].is_object());

    // `serve` refuses it until it is provisioned; provisioning upgrades it.
    let refused = vectadb::app::prepare_store(&store, false)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("version 1"), "{refused}");
    let report = vectadb::app::provision_store(&store).await.unwrap();
    assert!(report.changed);
    assert!(
        report.lines[0].contains(&format!(
            "schema upgraded from version 1 to {SCHEMA_VERSION}"
        )),
        "{report:?}"
    );
    assert!(store.describe().await.unwrap()["tables"]["emits"].is_null());
    assert_eq!(store.schema_version().await.unwrap(), Some(SCHEMA_VERSION));
    vectadb::app::prepare_store(&store, false).await.unwrap();
    assert!(store.get_agent("old").await.unwrap().is_some());
    let logs = store.get_logs(&["old".to_string()]).await.unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].message, "m");
}

/// Version 8 kept an OTLP inbox entry's items in the entry itself;
/// provisioning moves them into `otel_inbox_body`, and the entry is then
/// leased with its items as any new one.
#[tokio::test]
async fn provision_moves_a_version_8_inbox_entrys_items_apart() {
    let (_servers, _dir, store, raw) = provisioned_with_raw_connection().await;
    let (spans, _, _) = vectadb::otlp::model::spans_of(vectadb_tests::otlp_load::export(0, 12, 1));
    let items: Vec<vectadb::otlp::model::Item> = spans
        .into_iter()
        .map(vectadb::otlp::model::Item::Span)
        .collect();
    let text = serde_json::to_string(&items).unwrap();
    raw.query(
        "CREATE otel_inbox:v8entry CONTENT {
             items: $items, size: $size, received_at: time::now()
         } RETURN NONE;",
    )
    .bind(("items", text.clone()))
    .bind(("size", items.len() as i64))
    .await
    .unwrap()
    .check()
    .unwrap();
    as_version(&store, &raw, 8, "RETURN NONE;").await;

    store.provision().await.unwrap();
    let mut left = raw
        .query("SELECT VALUE items FROM otel_inbox WHERE items != NONE;")
        .await
        .unwrap();
    let left: Vec<String> = left.take(0).unwrap();
    assert!(left.is_empty(), "items left in the entry: {}", left.len());
    use vectadb::otlp::stash::OtelStash;
    let entries = store
        .lease(1_000, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].id, "v8entry");
    assert_eq!(entries[0].size, items.len() as u64);
    assert_eq!(entries[0].items, text, "the items, moved whole");
}

/// Version 12 kept one `otel_span` record per placed span (keyed by the
/// trace id's hex then the span id's) and wrote graph edges; provisioning
/// moves the spans' owners into `otel_trace` and removes the edge tables,
/// and a later child still finds its parent's owner.
#[tokio::test]
async fn provision_moves_a_version_12_databases_span_owners_per_trace() {
    use vectadb::otlp::model::SpanRef;
    let (_servers, _dir, store, raw) = provisioned_with_raw_connection().await;
    let trace = "0af7651916cd43dd8448eb211c80319c";
    let (parent, sibling) = ("b7ad6b7169203331", "00f067aa0ba902b7");
    as_version(
        &store,
        &raw,
        12,
        &format!(
            "DEFINE TABLE otel_span SCHEMAFULL;
             DEFINE FIELD owner ON otel_span TYPE object FLEXIBLE;
             CREATE otel_span:⟨{trace}{parent}⟩ SET owner = {{ agent_id: 'a1', task_id: 't1', service: false }};
             CREATE otel_span:⟨{trace}{sibling}⟩ SET owner = {{ agent_id: 'a1', thought_id: 'h1', service: false }};
             DEFINE TABLE runs TYPE RELATION FROM agent TO task ENFORCED;
             DEFINE TABLE thinks TYPE RELATION FROM agent | task TO thought ENFORCED;
             DEFINE TABLE leads_to TYPE RELATION FROM thought TO thought ENFORCED;"
        ),
    )
    .await;

    store.provision().await.unwrap();
    let tables = store.describe().await.unwrap()["tables"].clone();
    for gone in ["otel_span", "runs", "thinks", "leads_to"] {
        assert!(tables[gone].is_null(), "{gone}: {}", tables[gone]);
    }
    use vectadb::otlp::stash::OtelStash;
    let found: std::collections::HashMap<String, vectadb::otlp::mapping::Owner> = store
        .owners(&[
            SpanRef::new(trace, parent),
            SpanRef::new(trace, sibling),
            SpanRef::new(trace, "1111111111111111"),
        ])
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(
        found[&format!("{trace}{parent}")].task_id.as_deref(),
        Some("t1")
    );
    assert_eq!(
        found[&format!("{trace}{sibling}")].thought_id.as_deref(),
        Some("h1")
    );
}
