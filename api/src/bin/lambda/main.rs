//! `vectadb-lambda`: the API as an AWS Lambda function (Function URL, API
//! Gateway REST or HTTP API), on SurrealDB and Qdrant servers. Configured by
//! the same environment variables as `vectadb serve` (see README), plus
//! `LAMBDA_PATH_PREFIX`. The model and clients are created once per
//! execution environment, before the first invocation is taken.
// Not `forbid`: `glibc_compat` exports one C symbol (`no_mangle`).
#![deny(unsafe_code)]

mod glibc_compat;

use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use tracing_subscriber::EnvFilter;

use vectadb::config::Config;
use vectadb::lambda::{self, LambdaConfig};

#[derive(Parser)]
#[command(name = "vectadb-lambda", version, about = "VectaDB on AWS Lambda")]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(flatten)]
    lambda: LambdaConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    // CloudWatch takes stderr/stdout lines; no colours, no timestamps (Lambda adds its own).
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("AWS_LAMBDA_LOG_LEVEL")
                .or_else(|_| EnvFilter::try_from_default_env())
                .unwrap_or_else(|_| EnvFilter::new("info,surrealdb=warn")),
        )
        .with_ansi(false)
        .without_time()
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    lambda::check_config(&cli.config)?;
    let state = vectadb::app::build(&cli.config)
        .await
        .context("starting VectaDB")?;
    // No loopback to hide behind: without credentials (AUTH_MODE=auto),
    // requests are refused rather than served openly.
    state.auth.set_open_when_unconfigured(false);
    if state.auth.mode() != vectadb::auth::AuthMode::Disabled
        && !state
            .auth
            .configured()
            .await
            .context("reading credentials")?
    {
        tracing::warn!("no API key or user exists: every API request will be refused until one is created (`vectadb keys create` against the same SurrealDB, or ADMIN_PASSWORD)");
    }
    tracing::info!(
        init_ms = started.elapsed().as_millis() as u64,
        surreal = cli.config.surreal_url.as_deref().unwrap_or_default(),
        qdrant = cli.config.qdrant_url.as_deref().unwrap_or_default(),
        "cold start: model and backend clients ready"
    );
    // Run while the function is warm: queued documents are embedded and
    // accepted OTLP exports placed between and during invocations (a
    // frozen environment resumes them; other replicas' workers take over
    // entries whose lease expired).
    let _workers = vectadb::app::start_workers(&state)?;
    lambda::run(state, &cli.lambda)
        .await
        .map_err(|e| anyhow::anyhow!("the Lambda runtime stopped: {e}"))
}
