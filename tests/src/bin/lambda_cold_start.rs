//! Measure `vectadb-lambda`'s cold start locally: from process start to the
//! first answered invocation (a similarity search, which needs the model and
//! both backends), against real SurrealDB and Qdrant servers and a local
//! Runtime API. Prints one Markdown table row for BENCHMARKS.md.
//!
//! `cargo run -p vectadb-tests --bin lambda-cold-start -- dist/lambda/x86_64/bootstrap [runs]`

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use vectadb::auth::{Auth, Scope};
use vectadb_tests::lambda::{event, function_command, with_header, FakeRuntime, Reply};
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
    // Every request needs credentials: a key, as `vectadb keys create` makes.
    let store = vectadb::app::open_store(&config).await?;
    let key = Auth::new(store, config.auth())
        .create_key("cold start", &[Scope::Read])
        .await?
        .key;

    let mut times = Vec::new();
    for run in 0..runs {
        let runtime = FakeRuntime::start().await;
        let started = Instant::now();
        let mut child =
            function_command(&binary, dir.path(), &runtime.address, 2048, &servers.env())
                .spawn()
                .with_context(|| format!("running {}", binary.display()))?;
        let reply = runtime
            .invoke(
                &format!("cold-{run}"),
                with_header(event("rest_similar_agents"), "x-api-key", &key),
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
