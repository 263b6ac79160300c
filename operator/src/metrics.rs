//! The operator's Prometheus metrics and its `/metrics` + `/health` server.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus::{Encoder, Histogram, HistogramOpts, IntCounterVec, Opts, Registry, TextEncoder};

use crate::error::Error;

pub struct Metrics {
    registry: Registry,
    /// Reconciles by result (`ok`, `error`).
    pub reconciliations: IntCounterVec,
    /// Failed reconciles by error kind.
    pub failures: IntCounterVec,
    pub duration: Histogram,
    /// Provisioning runs by result.
    pub provisionings: IntCounterVec,
    /// Set once the controller has started watching.
    pub watching: AtomicBool,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("vectadb_operator".into()), None)
            .expect("static registry prefix is valid");
        let reconciliations = IntCounterVec::new(
            Opts::new(
                "reconciliations_total",
                "Reconciles of VectaDB resources by result",
            ),
            &["result"],
        )
        .expect("static metric definition");
        let failures = IntCounterVec::new(
            Opts::new("reconcile_errors_total", "Failed reconciles by error kind"),
            &["error"],
        )
        .expect("static metric definition");
        let duration = Histogram::with_opts(
            HistogramOpts::new("reconcile_duration_seconds", "Time one reconcile took")
                .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
        )
        .expect("static metric definition");
        let provisionings = IntCounterVec::new(
            Opts::new(
                "provisionings_total",
                "Schema and collection provisioning runs by result",
            ),
            &["result"],
        )
        .expect("static metric definition");
        for collector in [
            Box::new(reconciliations.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(failures.clone()),
            Box::new(duration.clone()),
            Box::new(provisionings.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric names are unique");
        }
        Metrics {
            registry,
            reconciliations,
            failures,
            duration,
            provisionings,
            watching: AtomicBool::new(false),
        }
    }

    pub fn reconciled(&self, result: &Result<kube::runtime::controller::Action, Error>) {
        match result {
            Ok(_) => self.reconciliations.with_label_values(&["ok"]).inc(),
            Err(error) => {
                self.reconciliations.with_label_values(&["error"]).inc();
                self.failures
                    .with_label_values(&[error.metric_label()])
                    .inc();
            }
        }
    }

    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("text encoding of gathered metrics");
        String::from_utf8(buffer).expect("Prometheus text is UTF-8")
    }
}

/// `/metrics` (Prometheus text) and `/health` (200 once watching).
pub fn router(metrics: Arc<Metrics>) -> axum::Router {
    axum::Router::new()
        .route("/metrics", get(render))
        .route("/health", get(health))
        .with_state(metrics)
}

async fn render(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics.render(),
    )
}

async fn health(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    if metrics.watching.load(Ordering::Relaxed) {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting")
    }
}
