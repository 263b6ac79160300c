//! The `vectadb` binary: `vectadb serve` (the default) runs the API.
#![forbid(unsafe_code)]

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

use vectadb::app::RunMarker;
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
    /// Re-embed documents that lack vectors and delete vectors that lack
    /// documents, then exit. With the embedded default, stop the server
    /// first (the data directory is locked); against servers it is safe
    /// while the API runs.
    Repair {
        /// How long a vector must stay without its document before it is
        /// deleted (covers creates in flight).
        #[arg(long, default_value = "5s", value_parser = humantime_secs)]
        grace: std::time::Duration,
    },
    /// Move data from the Python proof of concept's stores, then exit.
    #[command(subcommand)]
    Migrate(MigrateFrom),
}

#[derive(Subcommand)]
enum MigrateFrom {
    /// A CouchDB `_all_docs?include_docs=true` export (the Python proof of
    /// concept's documents), streamed: agents and tasks are re-embedded,
    /// logs and thoughts queued for the indexer. Idempotent: run it again to
    /// finish an interrupted migration.
    Couchdb {
        /// The export: a file, or an http:// URL of
        /// `<db>/_all_docs?include_docs=true` (user:password@ for basic auth).
        #[arg(long)]
        input: String,
        /// Report what would be migrated; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Where to write rejected documents with their reason (JSON lines).
        #[arg(long, default_value = "migrate-rejects.jsonl")]
        rejects: std::path::PathBuf,
        /// Documents written per batch.
        #[arg(long, default_value_t = 256)]
        batch: usize,
        /// Write the documents only; `vectadb repair` embeds agents and
        /// tasks afterwards (logs and thoughts are embedded by the server).
        #[arg(long)]
        skip_embedding: bool,
        /// A Neo4j relationship export (JSON lines of start/type/end, node
        /// ids `kind:id`) for references the documents lack.
        #[arg(long)]
        neo4j: Option<std::path::PathBuf>,
    },
}

fn humantime_secs(value: &str) -> Result<std::time::Duration, String> {
    let number = value.strip_suffix('s').unwrap_or(value);
    number
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(std::time::Duration::from_secs_f64)
        .ok_or_else(|| format!("{value:?} is not a number of seconds (e.g. 5s)"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    dotenvy::dotenv().ok();
    let cli = Cli::parse();
    // Logs go to stderr; stdout carries command output (provision, repair).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| DEFAULT_LOG_FILTER.into()),
        )
        .init();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Migrate(MigrateFrom::Couchdb {
            input,
            dry_run,
            rejects,
            batch,
            skip_embedding,
            neo4j,
        }) => {
            let state = vectadb::app::build(&cli.config).await?;
            let options = vectadb::migrate::Options {
                dry_run,
                batch,
                rejects: Some(rejects.clone()),
                progress: true,
                embed: !skip_embedding,
                relations: neo4j,
            };
            let source = vectadb::migrate::Source::parse(&input);
            let report = vectadb::migrate::migrate(&state.router, &source, &options).await?;
            print!("{}", report.render());
            println!(
                "{} rejected documents (with their reasons) in {}",
                report.rejects.len(),
                rejects.display()
            );
            Ok(())
        }
        Command::Repair { grace } => {
            let state = vectadb::app::build(&cli.config).await?;
            let report = state.router.repair(grace).await?;
            for (what, ids) in [
                ("agents re-embedded", &report.agents_reembedded),
                ("tasks re-embedded", &report.tasks_reembedded),
                (
                    "orphan agent vectors deleted",
                    &report.agent_vectors_deleted,
                ),
                ("orphan task vectors deleted", &report.task_vectors_deleted),
                ("orphan log vectors deleted", &report.log_vectors_deleted),
                (
                    "orphan thought vectors deleted",
                    &report.thought_vectors_deleted,
                ),
            ] {
                println!(
                    "{what}: {}{}",
                    ids.len(),
                    if ids.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", ids.join(", "))
                    }
                );
            }
            state.router.flush().await?;
            Ok(())
        }
        Command::Provision => {
            let report = vectadb::app::provision(&cli.config).await?;
            for line in &report.lines {
                println!("{line}");
            }
            println!(
                "{}",
                if report.changed {
                    "provisioned: changes applied"
                } else {
                    "provisioned: nothing to change"
                }
            );
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    // Embedded stores live in this process: a crash may leave a document
    // without its vector, so a start after one reconciles the two.
    let marker = if config.surreal_is_embedded() && config.qdrant_url.is_none() {
        Some(RunMarker::acquire(&config.data_dir).context("marking the data directory")?)
    } else {
        None
    };
    let state = vectadb::app::build(&config)
        .await
        .context("starting VectaDB")?;
    let router = state.router.clone();
    if let Some((_, true)) = &marker {
        tracing::warn!("the previous run did not stop cleanly; reconciling documents and vectors");
        let report = router.repair(std::time::Duration::ZERO).await?;
        tracing::info!(
            agents_reembedded = report.agents_reembedded.len(),
            tasks_reembedded = report.tasks_reembedded.len(),
            agent_vectors_deleted = report.agent_vectors_deleted.len(),
            task_vectors_deleted = report.task_vectors_deleted.len(),
            "reconciled"
        );
    }
    let indexer = vectadb::app::start_indexer(&state);
    let listener = TcpListener::bind(config.listen_addr())
        .await
        .with_context(|| format!("binding {}", config.listen_addr()))?;
    tracing::info!(address = %listener.local_addr()?, data_dir = %config.data_dir.display(), "VectaDB listening");
    axum::serve(listener, vectadb::http::app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    // Whatever it was embedding stays queued for the next start.
    indexer.abort();
    router.flush().await.context("flushing vectors")?;
    if let Some((marker, _)) = marker {
        marker.release().context("clearing the run marker")?;
    }
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
