//! The `vectadb` binary: `vectadb serve` (the default) runs the API.
#![forbid(unsafe_code)]

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

use vectadb::config::Config;

/// Our own info, the storage engines' warnings.
const DEFAULT_LOG_FILTER: &str = "info,surrealdb=warn,surrealkv=warn,qdrant_edge=warn";

#[derive(Parser)]
#[command(
    name = "vectadb",
    version,
    about = "Observability database for LLM agents"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: Config,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API (the default).
    Serve,
    /// Create the namespace, database, schema and vector collections
    /// (idempotent), then exit.
    Provision,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    dotenvy::dotenv().ok();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| DEFAULT_LOG_FILTER.into()),
        )
        .init();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Provision => {
            for line in vectadb::app::provision(&cli.config).await? {
                println!("{line}");
            }
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let state = vectadb::app::build(&config)
        .await
        .context("starting VectaDB")?;
    let router = state.router.clone();
    let listener = TcpListener::bind(config.listen_addr())
        .await
        .with_context(|| format!("binding {}", config.listen_addr()))?;
    tracing::info!(address = %listener.local_addr()?, data_dir = %config.data_dir.display(), "VectaDB listening");
    axum::serve(listener, vectadb::http::app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    router.flush().await.context("flushing vectors")?;
    tracing::info!("VectaDB stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
