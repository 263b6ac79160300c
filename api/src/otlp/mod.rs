//! OpenTelemetry ingest (OTLP/HTTP, GenAI semantic conventions): agents,
//! tasks, thoughts and logs from the spans and log records agent frameworks
//! already emit, with no VectaDB SDK.
//!
//! - `decode`: content types, compression, and the answers' encoding.
//! - `budget`: how many messages a body holds, counted before decoding.
//! - `model`: spans and log records flattened (hex ids, JSON attributes).
//! - `mapping`: which agent, task, thought or log each one becomes (pure).
//! - `stash`: what ingest keeps in the store: the inbox of acknowledged
//!   exports, and the one write a round of placing makes.
//! - `worker`: the background loop that places exports off the request path.
//!
//! Accepting an export (into the inbox, with backpressure) and placing a
//! round of them (plan, check against the store, write) are the service's:
//! `service::otlp`. The HTTP routes (`POST /v1/traces`, `POST /v1/logs`)
//! are in `http::otlp`.

pub mod budget;
pub mod decode;
pub mod mapping;
pub mod model;
pub mod stash;
pub mod worker;
