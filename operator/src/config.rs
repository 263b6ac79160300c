//! The operator's settings: flags or environment variables.

use std::time::Duration;

use clap::Parser;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "vectadb-operator",
    version,
    about = "Runs VectaDB resources on Kubernetes"
)]
pub struct Config {
    /// Watch one namespace only; all namespaces when empty.
    #[arg(long, env = "WATCH_NAMESPACE", default_value = "")]
    pub watch_namespace: String,
    /// Address of `/metrics` and `/health`.
    #[arg(long, env = "METRICS_ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_addr: String,
    /// The cluster's DNS domain, for the URLs of in-cluster Services.
    #[arg(long, env = "CLUSTER_DOMAIN", default_value = "cluster.local")]
    pub cluster_domain: String,
    /// Longest wait for one SurrealDB or Qdrant call while provisioning.
    #[arg(long, env = "PROVISION_TIMEOUT_MS", default_value_t = 10_000)]
    pub provision_timeout_ms: u64,
    /// This pod's name, reported on the events the operator records.
    #[arg(long, env = "POD_NAME", default_value = "vectadb-operator")]
    pub pod_name: String,
}

impl Config {
    pub fn provision_timeout(&self) -> Duration {
        Duration::from_millis(self.provision_timeout_ms)
    }
}
