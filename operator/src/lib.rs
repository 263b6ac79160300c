//! The VectaDB Kubernetes operator.
//!
//! Where things live:
//! - `crd`: the `VectaDB` custom resource (spec, defaults, status);
//!   `validate`: checks that name the offending field.
//! - `names`: object names, labels and owner references;
//!   `objects`: the Kubernetes objects built from a resource (pure);
//!   `credentials`: generated or referenced Secrets.
//! - `apply`: server-side apply that sends nothing when nothing changed.
//! - `provision`: schema and collections, with `vectadb provision`'s code.
//! - `status`: conditions and phase, built from what a reconcile observed.
//! - `controller`: the watch loop, the shared context, the finalizer and
//!   error policy; `reconcile`: the steps of one reconcile (credentials,
//!   SurrealDB and Qdrant, provisioning, the API, the status) and cleanup.
//! - `metrics`: `/metrics` and `/health`.
//! - `config`: the operator binary's flags. `operator/rbac.yaml` lists the
//!   permissions all of this needs.
#![forbid(unsafe_code)]

pub mod apply;
pub mod config;
pub mod controller;
pub mod crd;
pub mod credentials;
pub mod error;
pub mod metrics;
pub mod names;
pub mod objects;
pub mod provision;
pub mod reconcile;
pub mod status;
pub mod validate;
