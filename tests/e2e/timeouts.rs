//! A backend that does not answer is reported unavailable, naming it,
//! instead of hanging the request.

use std::time::Duration;

use vectadb::store::surreal::{SurrealConfig, SurrealStore};
use vectadb::store::StoreError;

/// A TCP server that accepts connections and never says a word.
async fn silent_server() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (port, task)
}

#[tokio::test]
async fn a_silent_surrealdb_times_out_naming_it() {
    let (port, server) = silent_server().await;
    let config = SurrealConfig {
        url: format!("ws://127.0.0.1:{port}"),
        namespace: "vectadb".into(),
        database: "main".into(),
        username: Some("root".into()),
        password: Some("root".into()),
        timeout: Duration::from_millis(300),
    };
    // The guard only catches a hang; the store's own timeout is 300 ms.
    let result = tokio::time::timeout(Duration::from_secs(30), SurrealStore::connect(&config))
        .await
        .expect("connect hung instead of timing out");
    let error = result
        .err()
        .expect("a silent server cannot be connected to");
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(message.contains("SurrealDB"), "{message}");
    assert!(message.contains("did not answer within 300ms"), "{message}");
    server.abort();
}
