//! Start-up checks: the model's dimension against the config and against
//! existing collections, each failing with a message that says what to do;
//! what a first start prints; and the memory an idle server holds.

use vectadb::vectors::edge::EdgeVectors;
use vectadb::vectors::CollectionNames;
use vectadb_tests::process::{self, ChildServer};
use vectadb_tests::test_config;

/// `vectadb serve` on a new data directory, with the default log filter:
/// its first line says where it listens and where its data is, the storage
/// engines print nothing at start, and SIGTERM stops it without error.
#[tokio::test]
async fn a_first_start_says_where_it_listens_and_nothing_else_warns() {
    let port = process::free_port();
    let mut server = ChildServer::spawn(tempfile::tempdir().unwrap(), move |dir| {
        let mut command = process::vectadb_command(dir, &[]);
        command
            .arg("serve")
            .env("SERVER_PORT", port.to_string())
            .env_remove("RUST_LOG");
        command
    });
    server.wait_healthy(port).await;
    let log = server.log();
    let lines: Vec<&str> = log.lines().collect();
    let first = lines.first().copied().unwrap_or_default();
    assert!(
        first.contains("VectaDB listening")
            && first.contains(&format!("127.0.0.1:{port}"))
            && first.contains(&server.dir().display().to_string()),
        "the first line says where it listens and where its data is:\n{log}"
    );
    // The one expected warning: no credentials yet, so open to this machine only.
    let warnings: Vec<&&str> = lines.iter().filter(|l| l.contains("WARN")).collect();
    assert!(
        warnings.len() == 1 && warnings[0].contains("the API is open, to this machine only"),
        "{log}"
    );
    assert!(!log.contains("qdrant_edge"), "{log}");

    let status = server.terminate(std::time::Duration::from_secs(30));
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}\n{}",
        server.log()
    );
    let log = server.log();
    assert!(log.contains("VectaDB stopped"), "{log}");
    assert!(!log.contains("ERROR"), "{log}");
    // Stopping adds no warning either: the embedded store closes before
    // the process ends (it would warn that it could not close correctly).
    let warnings = log.lines().filter(|l| l.contains("WARN")).count();
    assert_eq!(warnings, 1, "{log}");
}

#[tokio::test]
async fn configured_dimension_must_match_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.embedding_dim = 512;
    let error = tokio::task::spawn_blocking(move || vectadb::app::load_model(&config))
        .await
        .unwrap()
        .err()
        .expect("a 512-dim config must be refused");
    let message = error.to_string();
    assert!(message.contains("EMBEDDING_DIM is 512"), "{message}");
    assert!(message.contains("384"), "{message}");
}

#[tokio::test]
async fn existing_collections_must_match_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    // Collections built earlier for an 8-dimensional model.
    let qdrant = config.qdrant_dir();
    std::fs::create_dir_all(&qdrant).unwrap();
    drop(EdgeVectors::open(&qdrant, &CollectionNames::default(), 8).unwrap());

    let error = vectadb::app::build(&config)
        .await
        .err()
        .expect("mismatched collections must be refused");
    let message = error.to_string();
    assert!(message.contains("holds 8-dimensional vectors"), "{message}");
    assert!(message.contains("produces 384-dimensional"), "{message}");
    assert!(message.contains(&qdrant.display().to_string()), "{message}");
}

/// What `vectadb serve` may hold once idle, in this debug build: ~195 MB
/// measured (~70 MB of it the binary's own code); without the int8
/// embedding tables it is ~240 MB, without the reclaimer ~265 MB.
const IDLE_CEILING_MB: f64 = 220.0;

#[tokio::test]
async fn an_idle_server_holds_its_memory_under_the_ceiling() {
    let dir = tempfile::tempdir().unwrap();
    let server = vectadb_tests::process::Server::start(dir.path()).await;
    // The model has run (the probe at load, then a search).
    let (status, body) = server
        .call(
            "POST",
            "/api/v1/similar/agents",
            Some(&serde_json::json!({ "query": "a planner" })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let idle = server.rss_mb();
    server.stop();
    assert!(
        idle < IDLE_CEILING_MB,
        "idle RSS {idle:.0} MB, ceiling {IDLE_CEILING_MB} MB"
    );
}
