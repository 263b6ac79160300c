//! OpenTelemetry ingest (OTLP/HTTP, GenAI semantic conventions): agents,
//! tasks, thoughts and logs from the spans and log records agent frameworks
//! already emit, with no VectaDB SDK.
//!
//! - `decode`: content types, compression, and the answers' encoding.
//! - `budget`: how many messages a body holds, counted before decoding.
//! - `model`: spans and log records flattened (hex ids, JSON attributes).
//! - `mapping`: which agent, task, thought or log each one becomes (pure).
//! - `ingest`: writing that through the router, and the bookkeeping of
//!   where spans went and what waits for its agent span.
//!
//! The HTTP routes (`POST /v1/traces`, `POST /v1/logs`) are in `http::otlp`.

pub mod budget;
pub mod decode;
pub mod ingest;
pub mod mapping;
pub mod model;
