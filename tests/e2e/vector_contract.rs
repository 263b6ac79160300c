//! The vector index contract (`vectadb_tests::contract`) against both adapters: Qdrant Edge in
//! a temporary directory, and `RemoteQdrant` on a real Qdrant server (one server per test,
//! `vectadb_tests::qdrant_server`); plus the remote adapter's connect and provision behaviour.

use std::time::{Duration, Instant};

use serde_json::json;
use tempfile::TempDir;
use vectadb::vectors::edge::EdgeVectors;
use vectadb::vectors::remote::RemoteQdrant;
use vectadb::vectors::{Collection, CollectionNames, VectorError, VectorFilter, VectorIndex};
use vectadb_tests::contract::{self, DIM};
use vectadb_tests::qdrant_server::{unique_names, QdrantServer};

const TIMEOUT: Duration = Duration::from_secs(10);

/// Qdrant Edge in its own directory. Fields drop in order: the shards (whose drop flushes,
/// and panics if the directory is gone) before the directory.
struct Edge {
    vectors: EdgeVectors,
    _dir: TempDir,
}

fn edge_index() -> Edge {
    let dir = tempfile::tempdir().expect("tempdir");
    let vectors =
        EdgeVectors::open(dir.path(), &unique_names("contract"), DIM).expect("open Qdrant Edge");
    Edge { vectors, _dir: dir }
}

/// A provisioned, connected `RemoteQdrant` on its own server (kept alive with it).
struct Remote {
    vectors: RemoteQdrant,
    server: QdrantServer,
    names: CollectionNames,
}

async fn remote_index() -> Remote {
    let server = QdrantServer::start().await;
    let names = unique_names("contract");
    RemoteQdrant::provision(&server.grpc_url(), None, &names, DIM, TIMEOUT)
        .await
        .expect("provision");
    let vectors = RemoteQdrant::connect(&server.grpc_url(), None, &names, DIM, TIMEOUT)
        .await
        .expect("connect");
    Remote {
        vectors,
        server,
        names,
    }
}

/// One test per contract check and adapter.
macro_rules! contract_tests {
    ($($check:ident),+ $(,)?) => {
        mod edge_vectors {
            use super::*;
            $(
                #[tokio::test]
                async fn $check() {
                    let edge = edge_index();
                    contract::$check(&edge.vectors).await;
                }
            )+
        }

        mod remote_qdrant {
            use super::*;
            $(
                #[tokio::test]
                async fn $check() {
                    let remote = remote_index().await;
                    contract::$check(&remote.vectors).await;
                }
            )+
        }

        #[test]
        fn every_contract_check_runs_against_both_adapters() {
            assert_eq!(vec![$(stringify!($check)),+], contract::CHECKS.to_vec());
        }
    };
}

contract_tests!(
    search_orders_by_cosine_with_cosine_scores,
    threshold_is_inclusive,
    limit_is_honoured,
    filters_by_agent_id_and_status,
    filters_match_whole_keywords,
    upsert_replaces_the_point,
    set_status_changes_only_the_status,
    delete_removes_only_the_given_ids,
    delete_by_agent_removes_only_that_agents_points,
    existing_reports_the_ids_that_have_points,
    scroll_ids_pages_through_every_id_once,
    count_is_exact,
    dimension_is_enforced,
    collections_are_separate,
    health_and_flush_succeed,
);

fn message(err: &VectorError) -> String {
    match err {
        VectorError::Backend(m) | VectorError::Unavailable(m) => m.clone(),
        other => other.to_string(),
    }
}

#[tokio::test]
async fn connect_where_nothing_listens_fails_fast_naming_the_url() {
    let url = format!("http://127.0.0.1:{}", vectadb_tests::process::free_port());
    let started = Instant::now();
    let err = RemoteQdrant::connect(&url, None, &unique_names("nothing"), DIM, TIMEOUT)
        .await
        .expect_err("nothing listens there");
    let elapsed = started.elapsed();
    assert!(
        matches!(err, VectorError::Unavailable(_)),
        "expected Unavailable, got {err:?}"
    );
    let text = message(&err);
    assert!(text.contains("Qdrant") && text.contains(&url), "{text}");
    assert!(text.contains("connection refused"), "{text}");
    assert!(
        elapsed < Duration::from_secs(3),
        "took {elapsed:?} (timeout {TIMEOUT:?})"
    );

    // Provisioning says the same.
    let err = RemoteQdrant::provision(&url, None, &unique_names("nothing"), DIM, TIMEOUT)
        .await
        .expect_err("nothing listens there");
    assert!(matches!(err, VectorError::Unavailable(_)), "{err:?}");
    assert!(message(&err).contains(&url), "{err}");
}

#[tokio::test]
async fn connect_to_the_rest_port_hints_at_the_grpc_port() {
    let server = QdrantServer::start().await;
    let url = format!("http://127.0.0.1:{}", server.http_port);
    let err = RemoteQdrant::connect(&url, None, &unique_names("rest"), DIM, TIMEOUT)
        .await
        .expect_err("the REST port does not speak gRPC");
    let text = message(&err);
    assert!(text.contains(&url) && text.contains("gRPC port"), "{text}");
}

#[tokio::test]
async fn a_server_that_does_not_answer_times_out() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = listener.accept().await {
            held.push(connection);
        }
    });
    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let err = RemoteQdrant::connect(&url, None, &unique_names("silent"), DIM, timeout)
        .await
        .expect_err("no answer");
    let elapsed = started.elapsed();
    silent.abort();
    assert!(matches!(err, VectorError::Unavailable(_)), "{err:?}");
    let text = message(&err);
    assert!(
        text.contains(&url) && text.contains("no answer within 2s"),
        "{text}"
    );
    // The timeout bounds the whole call: qdrant-client alone would retry
    // once and take at least two timeouts (the margin absorbs a busy CI).
    assert!(elapsed < Duration::from_millis(3900), "took {elapsed:?}");
}

#[tokio::test]
async fn an_invalid_url_is_refused() {
    let err = RemoteQdrant::connect("not a url", None, &unique_names("bad"), DIM, TIMEOUT)
        .await
        .expect_err("invalid URL");
    assert!(matches!(err, VectorError::Backend(_)), "{err:?}");
    assert!(message(&err).contains("invalid URL"), "{err}");
}

#[tokio::test]
async fn connect_with_a_wrong_api_key_fails_clearly() {
    let server = QdrantServer::start_with_api_key("the-right-key").await;
    let url = server.grpc_url();
    let names = unique_names("auth");
    let (_, report) = RemoteQdrant::provision(&url, Some("the-right-key"), &names, DIM, TIMEOUT)
        .await
        .expect("provision with the key");
    assert_eq!(report.lines.len(), Collection::ALL.len(), "{report:?}");

    for key in [Some("a-wrong-key"), None] {
        let err = RemoteQdrant::connect(&url, key, &names, DIM, TIMEOUT)
            .await
            .expect_err("the server requires the key");
        assert!(matches!(err, VectorError::Backend(_)), "{key:?}: {err:?}");
        let text = message(&err);
        assert!(text.contains("API key") && text.contains(&url), "{text}");
        // The key is never echoed.
        assert!(
            !text.contains("a-wrong-key") && !text.contains("the-right-key"),
            "{text}"
        );
        let err = RemoteQdrant::provision(&url, key, &names, DIM, TIMEOUT)
            .await
            .expect_err("the server requires the key");
        assert!(message(&err).contains("API key"), "{err}");
    }

    let vectors = RemoteQdrant::connect(&url, Some("the-right-key"), &names, DIM, TIMEOUT)
        .await
        .expect("connect with the key");
    vectors.health().await.expect("health");
    assert_eq!(vectors.count(Collection::Tasks).await.unwrap(), 0);
    assert!(!format!("{vectors:?}").contains("the-right-key"));

    // A key that cannot be a header value is refused without being echoed.
    let err = RemoteQdrant::connect(&url, Some("bad\nkey"), &names, DIM, TIMEOUT)
        .await
        .expect_err("not a header value");
    assert!(!message(&err).contains("bad\nkey"), "{err}");
}

#[tokio::test]
async fn connect_before_provision_says_to_run_provision() {
    let server = QdrantServer::start().await;
    let url = server.grpc_url();
    let names = unique_names("unprovisioned");
    let err = RemoteQdrant::connect(&url, None, &names, DIM, TIMEOUT)
        .await
        .expect_err("no collections yet");
    assert!(matches!(err, VectorError::Backend(_)), "{err:?}");
    let text = message(&err);
    assert!(
        text.contains(&names.agents)
            && text.contains("does not exist")
            && text.contains(&url)
            && text.contains("vectadb provision"),
        "{text}"
    );
    // Connecting created nothing.
    assert!(server.collection(&names.agents).await.is_none());
    assert!(server.collection(&names.tasks).await.is_none());

    RemoteQdrant::provision(&url, None, &names, DIM, TIMEOUT)
        .await
        .expect("provision");
    RemoteQdrant::connect(&url, None, &names, DIM, TIMEOUT)
        .await
        .expect("connect after provision");
}

#[tokio::test]
async fn provision_is_idempotent_and_creates_keyword_indexes() {
    let server = QdrantServer::start().await;
    let url = server.grpc_url();
    let names = unique_names("provision");
    let (vectors, report) = RemoteQdrant::provision(&url, None, &names, DIM, TIMEOUT)
        .await
        .expect("provision");
    assert_eq!(report.lines.len(), Collection::ALL.len(), "{report:?}");
    assert!(report.changed, "{report:?}");
    assert!(
        report.lines[0].contains(&names.agents) && report.lines[0].contains("created"),
        "{report:?}"
    );
    assert!(
        report.lines[1].contains(&names.tasks) && report.lines[1].contains("384-dimensional"),
        "{report:?}"
    );

    for collection in Collection::ALL {
        let name = names.name(collection);
        let info = server.collection(name).await.expect("collection exists");
        let params = &info["config"]["params"]["vectors"];
        assert_eq!(params["size"], 384, "{info}");
        assert_eq!(params["distance"], "Cosine", "{info}");
        assert_indexes(&info, collection, name);
    }

    vectors
        .upsert(Collection::Tasks, contract::sample())
        .await
        .expect("upsert");
    let (again, report) = RemoteQdrant::provision(&url, None, &names, DIM, TIMEOUT)
        .await
        .expect("provision again");
    assert!(
        report
            .lines
            .iter()
            .all(|line| line.contains("already present"))
            && !report.changed,
        "{report:?}"
    );
    // Nothing was recreated: the points are still there.
    assert_eq!(again.count(Collection::Tasks).await.unwrap(), 4);

    // A collection someone else created without the indexes gets them.
    let bare = CollectionNames {
        agents: names.agents.clone(),
        tasks: format!("{}_bare", names.tasks),
        ..names.clone()
    };
    server
        .create_collection(&bare.tasks, json!({"size": 384, "distance": "Cosine"}))
        .await;
    let (_, report) = RemoteQdrant::provision(&url, None, &bare, DIM, TIMEOUT)
        .await
        .expect("provision next to existing collections");
    assert!(report.lines[0].contains("already present"), "{report:?}");
    assert!(
        report.lines[1].contains("payload indexes added"),
        "{report:?}"
    );
    assert!(report.changed, "{report:?}");
    let info = server.collection(&bare.tasks).await.expect("collection");
    assert_indexes(&info, Collection::Tasks, &bare.tasks);
}

/// Every filtered payload field carries the index of its type.
fn assert_indexes(info: &serde_json::Value, collection: Collection, name: &str) {
    for &(field, index) in vectadb::vectors::indexed_fields(collection) {
        let expected = match index {
            vectadb::vectors::IndexType::Keyword => "keyword",
            vectadb::vectors::IndexType::Integer => "integer",
        };
        assert_eq!(
            info["payload_schema"][field]["data_type"], expected,
            "{field} in {name}: {info}"
        );
    }
}

#[tokio::test]
async fn collections_of_another_kind_are_refused() {
    let server = QdrantServer::start().await;
    let url = server.grpc_url();
    let names = unique_names("foreign");
    RemoteQdrant::provision(&url, None, &names, DIM, TIMEOUT)
        .await
        .expect("provision");

    let dot = CollectionNames {
        agents: names.agents.clone(),
        tasks: format!("{}_dot", names.tasks),
        ..names.clone()
    };
    server
        .create_collection(&dot.tasks, json!({"size": 384, "distance": "Dot"}))
        .await;
    let named = CollectionNames {
        agents: names.agents.clone(),
        tasks: format!("{}_named", names.tasks),
        ..names.clone()
    };
    server
        .create_collection(
            &named.tasks,
            json!({"text": {"size": 384, "distance": "Cosine"}}),
        )
        .await;
    for (names, expected) in [(&dot, "Cosine"), (&named, "named vectors")] {
        for result in [
            RemoteQdrant::connect(&url, None, names, DIM, TIMEOUT).await,
            RemoteQdrant::provision(&url, None, names, DIM, TIMEOUT)
                .await
                .map(|(vectors, _)| vectors),
        ] {
            let err = result.expect_err("not a VectaDB collection");
            assert!(matches!(err, VectorError::Backend(_)), "{err:?}");
            let text = message(&err);
            assert!(
                text.contains(expected) && text.contains(&names.tasks) && text.contains(&url),
                "{text}"
            );
        }
    }

    // The same name for both collections is refused before any I/O.
    let same = CollectionNames {
        agents: names.agents.clone(),
        tasks: names.agents.clone(),
        ..names.clone()
    };
    let err = RemoteQdrant::connect(&url, None, &same, DIM, TIMEOUT)
        .await
        .expect_err("one name for both");
    assert!(message(&err).contains("different names"), "{err}");
}

#[tokio::test]
async fn another_dimension_is_refused() {
    let remote = remote_index().await;
    let url = remote.server.grpc_url();
    for result in [
        RemoteQdrant::connect(&url, None, &remote.names, 16, TIMEOUT).await,
        RemoteQdrant::provision(&url, None, &remote.names, 16, TIMEOUT)
            .await
            .map(|(vectors, _)| vectors),
    ] {
        match result.expect_err("the collections hold 384-dim vectors") {
            VectorError::Dimension {
                collection,
                expected,
                got,
            } => {
                assert_eq!(collection, Collection::Agents);
                assert_eq!(expected, DIM);
                assert_eq!(got, 16);
            }
            other => panic!("expected a dimension error, got {other:?}"),
        }
    }
    // The failed attempts changed nothing.
    let info = remote
        .server
        .collection(&remote.names.agents)
        .await
        .expect("collection");
    assert_eq!(info["config"]["params"]["vectors"]["size"], 384, "{info}");
}

#[tokio::test]
async fn a_server_that_goes_away_is_unavailable() {
    let mut remote = remote_index().await;
    remote
        .vectors
        .upsert(Collection::Tasks, contract::sample())
        .await
        .expect("upsert");
    remote.server.kill();
    let url = remote.server.grpc_url();

    let started = Instant::now();
    let err = remote
        .vectors
        .health()
        .await
        .expect_err("the server is gone");
    assert!(matches!(err, VectorError::Unavailable(_)), "{err:?}");
    assert!(message(&err).contains(&url), "{err}");
    let err = remote
        .vectors
        .search(
            Collection::Tasks,
            contract::query(),
            10,
            0.0,
            &VectorFilter::default(),
        )
        .await
        .expect_err("the server is gone");
    assert!(matches!(err, VectorError::Unavailable(_)), "{err:?}");
    let err = remote
        .vectors
        .upsert(Collection::Tasks, contract::sample())
        .await
        .expect_err("the server is gone");
    assert!(matches!(err, VectorError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}
