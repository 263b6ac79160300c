//! `vectadb provision` and the schema version check at start.

use vectadb::store::schema::SCHEMA_VERSION;
use vectadb::store::surreal::SurrealStore;
use vectadb_tests::test_config;

#[tokio::test]
async fn provision_reports_what_it_made() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    let report = vectadb::app::provision(&config).await.unwrap();
    assert!(
        report.lines[0].contains(&format!("schema version {SCHEMA_VERSION}")),
        "{report:?}"
    );
    assert!(report.lines[1].contains("384-dimensional"), "{report:?}");
    assert!(
        config.qdrant_dir().join("agents").is_dir() && config.qdrant_dir().join("tasks").is_dir()
    );
}

#[tokio::test]
async fn provision_twice_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    let store = SurrealStore::connect(&config.surreal()).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), None);
    let report = vectadb::app::provision_store(&store).await.unwrap();
    assert!(report.changed, "{report:?}");
    let first = store.describe().await.unwrap();
    for table in [
        "agent",
        "task",
        "thought",
        "log_block",
        "log_body",
        "log_alias",
        "log_scores",
        "otel_trace",
    ] {
        assert!(
            first["tables"][table].is_object(),
            "{table} missing: {first}"
        );
    }
    // Tables nothing reads any more: graph edges (traces follow indexed
    // fields) and the per-span OTLP bookkeeping (kept per trace now).
    for table in ["runs", "thinks", "leads_to", "otel_span"] {
        assert!(first["tables"][table].is_null(), "{table} defined: {first}");
    }
    assert!(
        first["tables"]["thought"]
            .to_string()
            .contains("thought_chain"),
        "{first}"
    );
    assert_eq!(store.schema_version().await.unwrap(), Some(SCHEMA_VERSION));

    let report = vectadb::app::provision_store(&store).await.unwrap();
    assert!(!report.changed, "{report:?}");
    assert!(report.lines[0].contains("already in place"), "{report:?}");
    assert_eq!(store.describe().await.unwrap(), first);
    assert_eq!(store.schema_version().await.unwrap(), Some(SCHEMA_VERSION));
}

#[tokio::test]
async fn a_newer_schema_is_refused_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    let store = SurrealStore::connect(&config.surreal()).await.unwrap();
    vectadb::app::provision_store(&store).await.unwrap();
    let newer = SCHEMA_VERSION + 98;
    store.record_schema_version(newer).await.unwrap();
    for embedded in [true, false] {
        let error = vectadb::app::prepare_store(&store, embedded)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(&format!("schema version {newer}")),
            "{error}"
        );
        assert!(
            error.contains(&format!("version {SCHEMA_VERSION} that this server knows")),
            "{error}"
        );
    }
    let error = vectadb::app::provision_store(&store)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains(&format!("{newer}")), "{error}");
    // Nothing was downgraded.
    assert_eq!(store.schema_version().await.unwrap(), Some(newer));
}

#[tokio::test]
async fn a_remote_style_store_must_be_provisioned_first() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    let store = SurrealStore::connect(&config.surreal()).await.unwrap();
    let error = vectadb::app::prepare_store(&store, false)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("vectadb provision"), "{error}");
    vectadb::app::provision_store(&store).await.unwrap();
    vectadb::app::prepare_store(&store, false).await.unwrap();
    store
        .record_schema_version(SCHEMA_VERSION - 1)
        .await
        .unwrap();
    let error = vectadb::app::prepare_store(&store, false)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!("version {}", SCHEMA_VERSION - 1)),
        "{error}"
    );
    assert!(error.contains("to upgrade it"), "{error}");
}
