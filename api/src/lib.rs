//! VectaDB: an observability database for LLM agents.
//!
//! Where things live:
//! - `domain`: agents, tasks, thoughts, logs, traces and their validation.
//! - `store`: the document/graph store trait and its SurrealDB adapter;
//!   `store/schema.surql` is the one schema definition.
//! - `vectors`: the vector index trait and its adapters (Qdrant Edge in
//!   process, a Qdrant server over gRPC).
//! - `embed`: the embedder trait, the MiniLM adapter, the embedded texts,
//!   log templates and the cache of vectors already computed.
//! - `router`: fans writes out to both stores and merges reads;
//!   `indexer` embeds logs and thoughts from the durable queue, off the
//!   request path (and scores logs' anomalies: `anomaly`), giving way to
//!   requests (`foreground`);
//!   `repair` reconciles the two after the fact; `retry` is the backoff
//!   both backend adapters use for transient errors; `retention` removes
//!   expired logs, thoughts and tasks in the background.
//! - `otlp`: OpenTelemetry ingest (GenAI spans and log records → agents,
//!   tasks, thoughts, logs).
//! - `http`: the axum Router (one module per resource) and its error mapping;
//!   `server`: the accept loop serving it (timeouts, graceful stop);
//!   `lambda` (feature `lambda`): the same Router under `lambda_http`.
//! - `auth`: API keys, users and sessions (who is calling); `http::guard`
//!   decides what each route needs.
//! - `migrate`: `vectadb migrate couchdb` (the Python proof of concept's
//!   CouchDB export, streamed).
//! - `config`, `app`, `metrics`: configuration, start-up wiring, Prometheus
//!   (`metered` times every backend call);
//!   `provisioned`: what `vectadb provision` reports; `memory` returns
//!   freed heap memory to the system when requests pause; `background`
//!   runs the background loops (some on threads below requests) and
//!   stops them.
// Denied, not forbidden: `memory` (malloc_trim) and `background`
// (setpriority on its own threads) make the allowed calls.
#![deny(unsafe_code)]

pub mod anomaly;
pub mod app;
pub mod auth;
pub mod background;
pub mod config;
pub mod domain;
pub mod embed;
pub mod error;
pub mod foreground;
pub mod http;
pub mod indexer;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod memory;
pub mod metered;
pub mod metrics;
pub mod migrate;
pub mod otlp;
pub mod provisioned;
pub mod repair;
pub mod retention;
pub mod retry;
pub mod router;
pub mod server;
pub mod store;
pub mod text;
pub mod vectors;
