//! End-to-end tests: every route through the real Router on real embedded
//! backends and the real model. Each test gets its own namespace/database
//! and Qdrant directory (see `vectadb_tests::TestApp`), so they run in parallel.

mod agents;
mod bad_input;
mod dual_write;
mod durability;
mod embedding_parity;
mod logs;
mod ops;
mod provision;
mod remote_qdrant;
mod repair;
mod rpc;
mod similar;
mod startup;
mod tasks;
mod thoughts;
mod timeouts;
mod traces;
mod vector_contract;
