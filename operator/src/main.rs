//! `vectadb-operator`: watch `VectaDB` resources and run them.
#![forbid(unsafe_code)]

use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use vectadb_operator::config::Config;
use vectadb_operator::controller::{self, Context};
use vectadb_operator::metrics::{self, Metrics};
use vectadb_operator::objects::Cluster;
use vectadb_operator::provision::Endpoints;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,kube=warn".into()),
        )
        .init();
    let config = Config::parse();
    let client = kube::Client::try_default()
        .await
        .context("connecting to the Kubernetes API (in-cluster config or KUBECONFIG)")?;
    let metrics = Arc::new(Metrics::new());
    let listener = tokio::net::TcpListener::bind(&config.metrics_addr)
        .await
        .with_context(|| format!("binding METRICS_ADDR {}", config.metrics_addr))?;
    tracing::info!(address = %config.metrics_addr, "serving /metrics and /health");
    let server = axum::serve(listener, metrics::router(metrics.clone()));
    tokio::spawn(async move {
        if let Err(error) = server.await {
            tracing::error!(%error, "metrics server stopped");
        }
    });
    let cluster = Cluster {
        domain: config.cluster_domain.clone(),
    };
    let ctx = Arc::new(Context::new(
        client,
        metrics,
        Endpoints::InCluster(cluster.clone()),
        cluster,
        config.provision_timeout(),
        &config.pod_name,
    ));
    let namespace = Some(config.watch_namespace.as_str()).filter(|ns| !ns.is_empty());
    tracing::info!(
        namespace = namespace.unwrap_or("(all)"),
        "watching VectaDB resources"
    );
    controller::run(ctx, namespace).await.context(
        "watching VectaDB resources (is the CRD installed? kubectl apply -f crds/vectadb.yaml)",
    )?;
    Ok(())
}
