//! Measure `vectadb-lambda`'s cold start locally: from process start to the
//! first answered invocation (a similarity search, which needs the model and
//! both backends), against real SurrealDB and Qdrant servers and a local
//! Runtime API. Prints one Markdown table row for BENCHMARKS.md.
//!
//! `cargo run -p vectadb-tests --bin lambda-cold-start -- dist/lambda/x86_64/bootstrap [runs]`

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use vectadb_tests::lambda::{event, FakeRuntime, Reply};
use vectadb_tests::process::command_for;
use vectadb_tests::Servers;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let binary = std::path::PathBuf::from(
        args.next()
            .context("usage: lambda-cold-start BOOTSTRAP [RUNS]")?,
    );
    let runs: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(5);
    let servers = Servers::start().await;
    let dir = tempfile::tempdir()?;
    let config = servers.configure(vectadb_tests::test_config(dir.path()));
    vectadb::app::provision(&config).await?;

    let mut times = Vec::new();
    for run in 0..runs {
        let runtime = FakeRuntime::start().await;
        let started = Instant::now();
        let mut child = command_for(&binary, dir.path(), &servers.env())
            .env("AWS_LAMBDA_RUNTIME_API", &runtime.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", "vectadb")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "2048")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("RUST_LOG", "warn")
            .spawn()
            .with_context(|| format!("running {}", binary.display()))?;
        let reply = runtime
            .invoke(
                &format!("cold-{run}"),
                event("rest_similar_agents"),
                Duration::from_secs(120),
            )
            .await;
        let elapsed = started.elapsed();
        let _ = child.kill();
        let _ = child.wait();
        match reply.map(Reply) {
            Ok(reply) if reply.status() == 200 => times.push(elapsed),
            other => bail!("run {run}: {other:?}"),
        }
    }
    times.sort();
    let ms = |d: &Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
    println!(
        "| Lambda cold start (process start → first similar-agents answer), {runs} runs | min {} | median {} | max {} |",
        ms(&times[0]),
        ms(&times[times.len() / 2]),
        ms(&times[times.len() - 1])
    );
    Ok(())
}
