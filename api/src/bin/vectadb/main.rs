//! The `vectadb` binary: parses the command line and dispatches.
//! `serve` (the default) runs the API; `commands` holds the one-shot
//! commands (provision, repair, migrate, keys, users); `logging` sets up
//! what the binary logs.
#![forbid(unsafe_code)]

mod commands;
mod logging;
mod serve;

use clap::{Parser, Subcommand};

use vectadb::config::Config;

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
pub(crate) enum KeysCommand {
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
    logging::init();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve::serve(cli.config).await,
        Command::Migrate(MigrateFrom::Couchdb {
            input,
            dry_run,
            rejects,
            batch,
            skip_embedding,
            neo4j,
        }) => {
            let options = vectadb::migrate::Options {
                dry_run,
                batch,
                rejects: Some(rejects.clone()),
                progress: true,
                embed: !skip_embedding,
                relations: neo4j,
            };
            commands::migrate(&cli.config, &input, &options, &rejects).await
        }
        Command::Repair { grace } => commands::repair(&cli.config, grace).await,
        Command::Keys(command) => {
            let result = commands::keys(&cli.config, command).await;
            commands::settle().await;
            result
        }
        Command::Users(UsersCommand::Create { username }) => {
            let result = commands::create_user(&cli.config, &username).await;
            commands::settle().await;
            result
        }
        Command::Provision => commands::provision(&cli.config).await,
    }
}
