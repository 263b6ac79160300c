//! VectaDB: an observability database for LLM agents.
//!
//! Where things live:
//! - `domain`: agents, tasks, thoughts, logs, traces and their validation.
//! - `service`: what VectaDB does, one file per resource (agents, tasks,
//!   thoughts, logs, search with `query` (a search's fields, checked),
//!   traces, OTLP placement, import, repair): every write goes to both
//!   stores, reads are merged. HTTP, RPC, OTLP and migration all call it;
//!   its stores are its own.
//! - `store`: the store's roles (`Documents`, `EmbedQueue`, `TextQueue`,
//!   `credentials::CredentialStore`; OTLP's `OtelStash` is in
//!   `otlp::stash`), bundled as `Stores`, and their SurrealDB adapter, one
//!   file per role under `store/surreal/`; `store/schema.surql` is the one
//!   schema definition.
//! - `vectors`: the vector index trait and its adapters (Qdrant Edge in
//!   process, a Qdrant server over gRPC); `vectors::points` makes each
//!   kind of document's point.
//! - `embed`: the embedder trait, the MiniLM adapter, the embedded texts,
//!   log templates and the cache of vectors already computed.
//! - Background work: `indexer` embeds logs and thoughts from the durable
//!   queue, off the request path (and scores logs' anomalies: `anomaly`),
//!   giving way to requests (`foreground`); `text::indexer` indexes them
//!   for full-text search; `retention` removes expired logs, thoughts and
//!   tasks; `background` runs these loops (some on threads below requests)
//!   and stops them; `retry` is the backoff both backend adapters use for
//!   transient errors.
//! - `otlp`: OpenTelemetry ingest (GenAI spans and log records → agents,
//!   tasks, thoughts, logs): decoding, mapping, the inbox, the worker.
//! - `http`: the axum Router (one module per resource) and its error mapping;
//!   `server`: the accept loop serving it (timeouts, graceful stop);
//!   `lambda` (feature `lambda`): the same Router under `lambda_http`.
//! - `auth`: API keys, users and sessions (who is calling); each route
//!   declares what it needs where it is registered (`http::guard::Routes`),
//!   and the guard enforces it.
//! - `migrate`: `vectadb migrate couchdb` (the Python proof of concept's
//!   CouchDB export, streamed into the service's import).
//! - `config`, `app`, `metrics`: configuration, start-up wiring, Prometheus
//!   (`metered` times every backend call);
//!   `provisioned`: what `vectadb provision` reports; `memory` returns
//!   freed heap memory to the system when requests pause.
//!
//! The `vectadb` binary (`src/bin/vectadb/`) parses the command line and
//! dispatches to `serve` or the one-shot commands.
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
pub mod retention;
pub mod retry;
pub mod server;
pub mod service;
pub mod store;
pub mod text;
pub mod vectors;
