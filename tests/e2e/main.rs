//! End-to-end tests: every route through the real Router on real backends
//! and the real model. Each test gets its own namespace/database and Qdrant
//! directory or servers (see `vectadb_tests::TestApp`), so they run in parallel.
//!
//! The API contract (agents, tasks, thoughts, logs, similar, traces, bad
//! input) is written once and runs on both backends: `on_both_backends!`
//! turns each `async fn name(backends: Backends)` into the tests
//! `name::embedded` and `name::servers`.

/// For each named `async fn(Backends)` in the calling module, a module of the
/// same name with two tests: one on the embedded backends, one on a real
/// SurrealDB server and a real Qdrant server.
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            #[tokio::test]
            async fn embedded() {
                super::$test(vectadb_tests::Backends::Embedded).await
            }

            #[tokio::test]
            async fn servers() {
                super::$test(vectadb_tests::Backends::Servers).await
            }
        }
    )*};
}

mod agents;
mod anomalies;
mod auth;
mod bad_input;
mod dual_write;
mod durability;
mod embedding_parity;
mod fuzz;
mod indexer;
mod lambda;
mod limits;
mod logs;
mod migrate;
mod openapi;
mod ops;
mod otel;
mod otel_grpc;
mod provision;
mod remote_qdrant;
mod repair;
mod retention;
mod rpc;
mod semantic;
mod servers;
mod similar;
mod startup;
mod tasks;
mod text_search;
mod thoughts;
mod timeouts;
mod traces;
mod ui;
mod vector_contract;
