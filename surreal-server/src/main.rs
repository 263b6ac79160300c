//! The `surreal` command line (`start --bind 127.0.0.1:PORT --user root --pass root memory`),
//! built from the `surrealdb-server` crate so the tests can run a real SurrealDB server.
//! The test harness (`tests/src/surreal_server.rs`) starts it on a free port.
#![forbid(unsafe_code)]
// The server's async call graph is deep (as in upstream's own `surreal` binary).
#![recursion_limit = "256"]

use std::process::ExitCode;

fn main() -> ExitCode {
    surrealdb_server::init(surrealdb_server::core::CommunityComposer())
}
