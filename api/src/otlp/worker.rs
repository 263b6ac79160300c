//! The OTLP worker: places acknowledged exports off the request path.
//!
//! Exports wait in the store's inbox, so nothing acknowledged is lost if
//! the process dies. The worker runs a round whenever an export was
//! accepted here, and every `idle_poll` for exports accepted by other
//! replicas, left by a process that died, or waiting too long for their
//! agent span. Each round leases entries and writes what they become in
//! one transaction ([`VectaRouter::place_otlp`]).

use std::sync::Arc;
use std::time::Duration;

use super::ingest::Ingested;
use crate::error::Result;
use crate::metrics::Metrics;
use crate::router::VectaRouter;

/// How the worker paces itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkerSettings {
    /// Items placed per round, about (at least one export).
    pub round_items: u64,
    /// How long leased entries are reserved for this worker.
    pub lease: Duration,
    /// How often an idle worker looks for work.
    pub idle_poll: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            round_items: 512,
            lease: Duration::from_secs(60),
            idle_poll: Duration::from_secs(1),
        }
    }
}

pub struct OtlpWorker {
    router: Arc<VectaRouter>,
    settings: WorkerSettings,
    metrics: Option<Arc<Metrics>>,
}

impl OtlpWorker {
    pub fn new(router: Arc<VectaRouter>, settings: WorkerSettings) -> Self {
        Self {
            router,
            settings,
            metrics: None,
        }
    }

    /// Count the logs it creates in these metrics.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Work until the task is dropped. Errors are logged and retried with
    /// backoff; the inbox keeps the work.
    pub async fn run(self: Arc<Self>) {
        crate::retry::rounds(
            "OTLP",
            &self.router.wake_otlp,
            self.settings.idle_poll,
            (Duration::from_millis(100), Duration::from_secs(10)),
            || async { self.run_once().await.map(|report| !report.is_empty()) },
        )
        .await;
    }

    /// One round, then the inbox counted again (for backpressure).
    pub async fn run_once(&self) -> Result<Ingested> {
        let report = self
            .router
            .place_otlp(self.settings.round_items, self.settings.lease)
            .await?;
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
        self.router.recount_otlp_pending().await?;
        Ok(report)
    }

    /// Place everything in the inbox (tests, benchmarks, tools). Entries
    /// another worker holds are waited for.
    pub async fn drain(&self) -> Result<()> {
        loop {
            let report = self.run_once().await?;
            if report.is_empty() {
                if self.router.otlp_pending() == 0 {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}
