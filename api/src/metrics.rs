//! Prometheus metrics: one registry per app, so tests can read exact values.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub logs_ingested: IntCounterVec,
    pub errors: IntCounterVec,
    pub documents: IntGaugeVec,
    pub vectors: IntGaugeVec,
    pub embed_backlog: IntGauge,
    pub text_backlog: IntGauge,
    /// A counter in meaning (it only grows), sampled from the indexer at scrape.
    pub embedded: IntGauge,
    /// Cache lookups by the indexer (`hit`, `miss`), sampled at scrape.
    pub embed_cache_lookups: IntGaugeVec,
    /// Milliseconds the indexer has paused to give way to requests.
    pub indexer_paused: IntGauge,
    /// Documents retention removed since start, by kind, sampled at scrape.
    pub retention_removed: IntGaugeVec,
    pub anomaly_scores: Histogram,
    pub embedding_duration: Histogram,
    pub embedding_batch: Histogram,
    pub backend_duration: HistogramVec,
}

/// Latency buckets from 0.25 ms (an embedded read) to 10 s (a timeout).
const LATENCY_BUCKETS: [f64; 15] = [
    0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("vectadb".into()), None)
            .expect("static registry prefix is valid");
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route, method and status",
            ),
            &["route", "method", "status"],
        )
        .expect("static metric definition");
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route, method and status",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["route", "method", "status"],
        )
        .expect("static metric definition");
        let logs_ingested = IntCounterVec::new(
            Opts::new("logs_ingested_total", "Logs stored, by level"),
            &["level"],
        )
        .expect("static metric definition");
        let errors = IntCounterVec::new(
            Opts::new("errors_total", "Requests that failed, by error kind"),
            &["kind"],
        )
        .expect("static metric definition");
        let documents = IntGaugeVec::new(
            Opts::new("documents", "Documents stored, by kind (sampled at scrape)"),
            &["kind"],
        )
        .expect("static metric definition");
        let vectors = IntGaugeVec::new(
            Opts::new(
                "vectors",
                "Vectors stored, by collection (sampled at scrape)",
            ),
            &["collection"],
        )
        .expect("static metric definition");
        let embed_backlog = IntGauge::new(
            "embed_backlog",
            "Logs and thoughts stored but not yet embedded (sampled at scrape)",
        )
        .expect("static metric definition");
        let text_backlog = IntGauge::new(
            "text_backlog",
            "Log blocks and thoughts stored but not yet indexed for text search (sampled at scrape)",
        )
        .expect("static metric definition");
        let embedded = IntGauge::new(
            "embedded_documents",
            "Logs and thoughts this process has embedded since it started",
        )
        .expect("static metric definition");
        let embed_cache_lookups = IntGaugeVec::new(
            Opts::new(
                "embed_cache_lookups",
                "Texts the indexer found in its embedding cache (hit) or embedded (miss) since it started",
            ),
            &["result"],
        )
        .expect("static metric definition");
        let indexer_paused = IntGauge::new(
            "indexer_paused_milliseconds",
            "Time the indexer has paused to give way to requests since it started",
        )
        .expect("static metric definition");
        let retention_removed = IntGaugeVec::new(
            Opts::new(
                "retention_removed",
                "Expired documents retention removed since this process started, by kind",
            ),
            &["kind"],
        )
        .expect("static metric definition");
        let anomaly_scores = Histogram::with_opts(
            HistogramOpts::new(
                "log_anomaly_score",
                "Anomaly scores given to logs (0 routine … 1 unlike anything recent, and severe)",
            )
            .buckets(vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]),
        )
        .expect("static metric definition");
        let embedding_duration = Histogram::with_opts(
            HistogramOpts::new(
                "embedding_duration_seconds",
                "Time to embed one batch of texts with the model",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
        )
        .expect("static metric definition");
        let embedding_batch = Histogram::with_opts(
            HistogramOpts::new("embedding_batch_size", "Texts per embedding call").buckets(vec![
                1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
            ]),
        )
        .expect("static metric definition");
        let backend_duration = HistogramVec::new(
            HistogramOpts::new(
                "backend_request_duration_seconds",
                "Calls to the document store (surrealdb) and the vector index (qdrant), by operation",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["backend", "operation"],
        )
        .expect("static metric definition");
        for collector in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_duration.clone()),
            Box::new(logs_ingested.clone()),
            Box::new(errors.clone()),
            Box::new(documents.clone()),
            Box::new(vectors.clone()),
            Box::new(embed_backlog.clone()),
            Box::new(text_backlog.clone()),
            Box::new(embedded.clone()),
            Box::new(embed_cache_lookups.clone()),
            Box::new(indexer_paused.clone()),
            Box::new(retention_removed.clone()),
            Box::new(anomaly_scores.clone()),
            Box::new(embedding_duration.clone()),
            Box::new(embedding_batch.clone()),
            Box::new(backend_duration.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric names are distinct");
        }
        Self {
            registry,
            http_requests,
            http_duration,
            logs_ingested,
            errors,
            documents,
            vectors,
            embed_backlog,
            text_backlog,
            embedded,
            embed_cache_lookups,
            indexer_paused,
            retention_removed,
            anomaly_scores,
            embedding_duration,
            embedding_batch,
            backend_duration,
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("text encoding into a Vec cannot fail");
        String::from_utf8(buffer).expect("Prometheus text is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
