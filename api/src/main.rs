//! The `vectadb` binary: `vectadb serve` (the default) runs the API.
#![forbid(unsafe_code)]

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

use vectadb::app::RunMarker;
use vectadb::auth::{Auth, AuthMode};
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
    /// Create, list and revoke API keys. With the embedded default, stop
    /// the server first (or use the admin endpoints, /api/v1/keys).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage the users who may sign in to the admin UI.
    #[command(subcommand)]
    Users(UsersCommand),
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key and print it (the only time it is shown).
    Create {
        /// What the key is for, e.g. "ingest from the agent fleet".
        #[arg(long)]
        name: String,
        /// read, write or admin (repeat, or comma-separate).
        #[arg(long = "scope", value_delimiter = ',', default_values_t = ["read".to_string(), "write".to_string()])]
        scopes: Vec<String>,
    },
    /// List keys (id, prefix, name, scopes, created, revoked).
    List,
    /// Revoke a key by its id (the part after `vdb_`).
    Revoke { id: String },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Create a user (or set a new password): the password is read from
    /// the first line of standard input.
    Create {
        #[arg(long)]
        username: String,
    },
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
        // Colours only on a terminal (not in files, journald, CI logs).
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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
        Command::Keys(command) => {
            let result = keys(&cli.config, command).await;
            settle().await;
            result
        }
        Command::Users(UsersCommand::Create { username }) => {
            let result = create_user(&cli.config, &username).await;
            settle().await;
            result
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

/// Give an embedded store that was just dropped the moment it needs to
/// close its files before the runtime stops (else its background tasks
/// are cancelled, and say so on stderr).
async fn settle() {
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
}

/// `vectadb users create`: the password from standard input.
async fn create_user(config: &Config, username: &str) -> anyhow::Result<()> {
    let auth = credentials(config).await?;
    let mut password = String::new();
    std::io::stdin()
        .read_line(&mut password)
        .context("reading the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']);
    anyhow::ensure!(
        password.len() >= 8,
        "give a password of at least 8 characters on standard input"
    );
    let changed = auth.put_user(username.trim(), password).await?;
    println!(
        "user {} {}",
        username.trim(),
        if changed {
            "saved"
        } else {
            "unchanged (same password)"
        }
    );
    Ok(())
}

/// The credential store alone (no model, no vectors).
async fn credentials(config: &Config) -> anyhow::Result<Auth> {
    let store = vectadb::app::open_store(config)
        .await
        .context("opening the document store")?;
    Ok(Auth::new(store, config.auth()))
}

async fn keys(config: &Config, command: KeysCommand) -> anyhow::Result<()> {
    let auth = credentials(config).await?;
    match command {
        KeysCommand::Create { name, scopes } => {
            let parsed = vectadb::http::keys::parse_scopes("--scope", &scopes)?;
            anyhow::ensure!(!name.trim().is_empty(), "--name must not be empty");
            let created = auth.create_key(name.trim(), &parsed).await?;
            println!("{}", created.key);
            eprintln!(
                "API key {} ({}) created with scopes {}; it is shown only this once.",
                created.info.id,
                created.info.name,
                created.info.scopes.join(", ")
            );
        }
        KeysCommand::List => {
            println!(
                "{:<10} {:<16} {:<20} {:<26} {:<26} NAME",
                "ID", "PREFIX", "SCOPES", "CREATED", "REVOKED"
            );
            for key in auth.list_keys().await? {
                println!(
                    "{:<10} {:<16} {:<20} {:<26} {:<26} {}",
                    key.id,
                    key.prefix,
                    key.scopes.join(","),
                    key.created_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    key.revoked_at
                        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                        .unwrap_or_else(|| "-".into()),
                    key.name
                );
            }
        }
        KeysCommand::Revoke { id } => {
            anyhow::ensure!(auth.revoke_key(&id).await?, "no API key {id}");
            println!("API key {id} revoked");
        }
    }
    Ok(())
}

/// Where to listen: as configured, except that an `auto` server without
/// any credentials listens on loopback only (it is open).
async fn listen_address(config: &Config, auth: &Auth) -> anyhow::Result<String> {
    let requested = config.listen_addr();
    let loopback_only = |host: &str| {
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    };
    match auth.mode() {
        AuthMode::Disabled => {
            tracing::warn!("AUTH_MODE=disabled: requests are served without credentials; run behind a gateway that authenticates");
            Ok(requested)
        }
        AuthMode::Required => {
            if !auth.configured().await? {
                tracing::warn!("AUTH_MODE=required and no API key or user exists: every API request will be refused until one is created (`vectadb keys create`, or ADMIN_PASSWORD)");
            }
            auth.set_open_when_unconfigured(false);
            Ok(requested)
        }
        AuthMode::Auto if auth.configured().await? => {
            auth.set_open_when_unconfigured(false);
            Ok(requested)
        }
        AuthMode::Auto if loopback_only(&config.server_host) => {
            auth.set_local_only(true);
            tracing::warn!("no API key or user exists: the API is open, to this machine only; create a key (`vectadb keys create`) or set ADMIN_PASSWORD to require credentials");
            Ok(requested)
        }
        AuthMode::Auto => {
            tracing::warn!(
                requested = %requested,
                "no API key or user exists: listening on 127.0.0.1 only, without authentication; create a key (`vectadb keys create`) or set ADMIN_PASSWORD to serve on {}",
                config.server_host
            );
            auth.set_local_only(true);
            Ok(format!("127.0.0.1:{}", config.server_port))
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
    // The embedding cache lives with embedded data: it is kept across
    // restarts of the one process that owns it.
    let cache_file = marker
        .as_ref()
        .map(|_| config.data_dir.join(vectadb::embed::cache::FILE));
    if let Some(path) = &cache_file {
        let loaded = state.indexer.cache().load(path);
        tracing::info!(entries = loaded, "embedding cache loaded");
    }
    let indexer = state.indexer.clone();
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
    let workers = vectadb::app::start_workers(&state).context("starting background workers")?;
    let address = listen_address(&config, &state.auth).await?;
    let listener = TcpListener::bind(&address)
        .await
        .with_context(|| format!("binding {address}"))?;
    tracing::info!(address = %listener.local_addr()?, data_dir = %config.data_dir.display(), "VectaDB listening");
    // The OTLP/gRPC port serves the same Router (its gRPC routes are
    // what collectors call there), on the same address.
    let grpc_listener = match config.otlp_grpc_port {
        0 => None,
        port => {
            let host = address.rsplit_once(':').map_or("127.0.0.1", |(h, _)| h);
            let grpc_address = format!("{host}:{port}");
            let listener = TcpListener::bind(&grpc_address).await.with_context(|| {
                format!("binding {grpc_address} for OTLP/gRPC (OTLP_GRPC_PORT; 0 turns it off)")
            })?;
            tracing::info!(address = %listener.local_addr()?, "OTLP/gRPC listening");
            Some(listener)
        }
    };
    let app = vectadb::http::app(state);
    let header_read_timeout =
        std::time::Duration::from_secs(config.header_read_timeout_seconds.max(1));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    };
    let grpc = grpc_listener.map(|listener| {
        tokio::spawn(vectadb::server::serve(
            listener,
            app.clone(),
            header_read_timeout,
            until_stopped(),
        ))
    });
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    vectadb::server::serve(listener, app, header_read_timeout, until_stopped()).await?;
    if let Some(grpc) = grpc {
        grpc.await.context("the OTLP/gRPC listener")??;
    }
    // Whatever they were embedding or placing stays queued for the next start.
    workers.stop().await;
    router.flush().await.context("flushing vectors")?;
    if let Some(path) = &cache_file {
        if let Err(e) = indexer.cache().save(path) {
            tracing::warn!(path = %path.display(), error = %e, "embedding cache not saved");
        }
    }
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
