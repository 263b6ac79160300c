//! The OTLP worker: places acknowledged exports off the request path.
//!
//! Exports wait in the store's inbox, so nothing acknowledged is lost if
//! the process dies. The worker runs a round whenever an export was
//! accepted here, and every `idle_poll` for exports accepted by other
//! replicas, left by a process that died, or waiting too long for their
//! agent span. Each round leases entries and writes what they become in
//! one transaction ([`Service::place_otlp`]).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::background::Workers;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::service::otlp::Ingested;
use crate::service::Service;
use crate::store::StoreError;

/// How the worker paces itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkerSettings {
    /// Items placed per round, about (at least one export).
    pub round_items: u64,
    /// How long leased entries are reserved for this worker.
    pub lease: Duration,
    /// How often an idle worker looks for work.
    pub idle_poll: Duration,
    /// Rounds run at once in this process. A round spends part of its time
    /// waiting for its commit to reach the disk; a second one uses that
    /// time. Rounds lease disjoint inbox entries; two that extend the same
    /// chain of thoughts collide on its unique step and the later one runs
    /// again.
    pub workers: usize,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            round_items: 512,
            lease: Duration::from_secs(60),
            idle_poll: Duration::from_secs(1),
            workers: 2,
        }
    }
}

/// How often the inbox is counted again while busy (between counts, the
/// items each round placed are taken off).
const RECOUNT_EVERY: Duration = Duration::from_secs(1);
/// The smallest round a failing worker shrinks to.
const MIN_ROUND: u64 = 16;
/// Collisions with another round run again at once this many times in a
/// row; after that they are errors like any other.
const QUIET_RACES: u32 = 3;

pub struct OtlpWorker {
    service: Arc<Service>,
    settings: WorkerSettings,
    metrics: Option<Arc<Metrics>>,
    last_count: std::sync::Mutex<Option<Instant>>,
    /// Items per round now: halved after a failed round (one that outlasted
    /// the store's timeout would otherwise fail again and again), doubled
    /// back after each placed one, up to `round_items`.
    round: AtomicU64,
}

impl OtlpWorker {
    pub fn new(service: Arc<Service>, settings: WorkerSettings) -> Self {
        Self {
            service,
            settings,
            metrics: None,
            last_count: std::sync::Mutex::new(None),
            round: AtomicU64::new(settings.round_items.max(1)),
        }
    }

    /// Count the logs it creates in these metrics.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Start `workers` loops of [`Self::run`], each on a thread of its own:
    /// a round holds the CPU for its whole transaction in the embedded
    /// engine, and on the request runtime it would hold up the exports
    /// being acknowledged meanwhile (see [`crate::background`]).
    pub fn spawn(self: &Arc<Self>, workers: &mut Workers) -> std::io::Result<()> {
        for n in 0..self.settings.workers.max(1) {
            let worker = self.clone();
            workers.thread(&format!("otlp-place-{n}"), move || worker.run())?;
        }
        Ok(())
    }

    /// Work until the task is dropped. Errors are logged and retried with
    /// backoff; the inbox keeps the work.
    pub async fn run(self: Arc<Self>) {
        // Collisions in a row run again at once; past a few, the error is
        // reported and backed off like any other (a write that can never
        // succeed must not spin quietly).
        let races = AtomicU32::new(0);
        crate::retry::rounds(
            "OTLP",
            self.service.otlp_accepted(),
            self.settings.idle_poll,
            (Duration::from_millis(100), Duration::from_secs(10)),
            || async {
                match self.run_once().await {
                    Err(error)
                        if lost_race(&error)
                            && races.fetch_add(1, Ordering::Relaxed) < QUIET_RACES =>
                    {
                        tracing::debug!(%error, "OTLP round collided with another; running again");
                        Ok(true)
                    }
                    other => {
                        races.store(0, Ordering::Relaxed);
                        other.map(|report| !report.is_empty())
                    }
                }
            },
        )
        .await;
    }

    /// One round, then the inbox counted again (for backpressure).
    pub async fn run_once(&self) -> Result<Ingested> {
        let round = self.round.load(Ordering::Relaxed);
        let report = match self.service.place_otlp(round, self.settings.lease).await {
            Ok(report) => {
                let grown = (round * 2).min(self.settings.round_items.max(1));
                self.round.store(grown, Ordering::Relaxed);
                report
            }
            Err(error) => {
                if !lost_race(&error) {
                    let floor = MIN_ROUND.min(self.settings.round_items.max(1));
                    self.round.store((round / 2).max(floor), Ordering::Relaxed);
                }
                return Err(error);
            }
        };
        if let Some(metrics) = &self.metrics {
            for level in &report.created_log_levels {
                metrics
                    .logs_ingested
                    .with_label_values(&[level.as_str()])
                    .inc();
            }
        }
        if !report.is_empty() {
            tracing::debug!(
                exports = report.exports,
                placed = report.placed,
                waiting = report.waiting,
                dropped = report.dropped,
                "OTLP round"
            );
        }
        // Counting the inbox reads every entry: done when idle, or once a
        // second while busy (other replicas' exports count too).
        self.service.placed_otlp(report.items);
        let due = {
            let last = self.last_count.lock().unwrap_or_else(|e| e.into_inner());
            report.is_empty() || last.is_none_or(|at| at.elapsed() >= RECOUNT_EVERY)
        };
        if due {
            self.service.recount_otlp_pending().await?;
            *self.last_count.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        }
        Ok(report)
    }

    /// Place everything in the inbox (tests, benchmarks, tools). Entries
    /// another worker holds are waited for.
    pub async fn drain(&self) -> Result<()> {
        loop {
            let report = self.run_once().await?;
            if report.is_empty() {
                if self.service.otlp_pending() == 0 {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// A round that collided with a concurrent writer (another round creating
/// the same agent, or taking the same next step of a chain): it wrote
/// nothing, gave its entries back, and runs again at its size; the next
/// attempt sees what the other wrote.
fn lost_race(error: &Error) -> bool {
    matches!(
        error,
        Error::Store(StoreError::AlreadyExists { .. } | StoreError::Conflict(_))
    )
}
