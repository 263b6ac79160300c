//! The benchmark's mixed load: the seed's operation mix over HTTP (50% get
//! agent, 10% list, 15% similar agents, 5% trace, 10% create task, 10% a
//! 10-log batch) against agents `load-0` … `load-{agents-1}`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::{json, Value};

use crate::datagen::{self, Rng};
use crate::process::http_request;

/// An HTTP request to the app: the JSON answer, failing on a non-2xx.
pub async fn call(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> anyhow::Result<Value> {
    let (status, value) = http_request(port, method, path, "", body).await?;
    if !(200..300).contains(&status) {
        bail!("{method} {path}: {status} {value}");
    }
    Ok(value)
}

/// Request number `i` of the mix.
pub async fn request(port: u16, agents: u64, i: u64) -> anyhow::Result<()> {
    let mut rng = Rng::new(i ^ 0x5eed);
    let agent = format!("load-{}", rng.below(agents.max(1) as usize));
    match i % 20 {
        0..=9 => call(port, "GET", &format!("/api/v1/agents/{agent}"), None).await,
        10..=11 => call(port, "GET", "/api/v1/agents?limit=20", None).await,
        12..=14 => {
            call(
                port,
                "POST",
                "/api/v1/similar/agents",
                Some(&json!({"query": datagen::query(i), "threshold": 0.2})),
            )
            .await
        }
        15 => call(port, "GET", &format!("/api/v1/traces/{agent}"), None).await,
        16..=17 => {
            call(
                port,
                "POST",
                "/api/v1/tasks",
                Some(&datagen::task(&agent, i)),
            )
            .await
        }
        _ => {
            let batch: Vec<Value> = (0..10)
                .map(|j| datagen::log(&agent, None, i * 10 + j))
                .collect();
            call(port, "POST", "/api/v1/logs", Some(&Value::from(batch))).await
        }
    }
    .map(|_| ())
}

/// What a closed-loop run measured.
#[derive(Debug, Clone)]
pub struct ClosedLoop {
    pub requests: usize,
    pub errors: usize,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
}

/// `clients` clients each sending the mix back to back for `seconds`.
/// `first` numbers the requests (different runs, different requests).
pub async fn closed_loop(
    port: u16,
    agents: u64,
    clients: u64,
    seconds: u64,
    first: u64,
) -> ClosedLoop {
    let counter = Arc::new(AtomicU64::new(first));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let runs = futures::future::join_all((0..clients).map(|_| {
        let counter = counter.clone();
        async move {
            let mut mine = Vec::new();
            while Instant::now() < deadline {
                let i = counter.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                let ok = request(port, agents, i).await.is_ok();
                mine.push((t.elapsed(), ok));
            }
            mine
        }
    }))
    .await;
    let wall = started.elapsed();
    let all: Vec<(Duration, bool)> = runs.into_iter().flatten().collect();
    let errors = all.iter().filter(|(_, ok)| !ok).count();
    let mut latencies: Vec<Duration> = all.iter().map(|(l, _)| *l).collect();
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    ClosedLoop {
        requests: all.len(),
        errors,
        per_second: all.len() as f64 / wall.as_secs_f64(),
        p50: at(0.5),
        p99: at(0.99),
    }
}
