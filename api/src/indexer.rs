//! The indexer: embeds logs and thoughts (and the agents and tasks OTLP
//! ingest creates) off the request path.
//!
//! A write that stores logs or a thought also stores an `embed_queue` entry
//! naming them, in the same transaction, so nothing acknowledged is lost if
//! the process dies. The indexer leases entries, embeds their documents in
//! chunks, writes the vectors, and records its progress after each chunk;
//! a restarted server (or another replica, once the lease has expired)
//! carries on where it stopped. Items are searchable once embedded, and
//! logs get their anomaly score then.
//!
//! Texts are looked up in the [`EmbedCache`] first (a log by its
//! template), so a text already embedded is not embedded again; the rest
//! run through the model in small batches. While requests are being
//! served the indexer gives way after each batch and each chunk
//! ([`Foreground`]), and runs flat out when they stop.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::anomaly;
use crate::domain::{Log, LogLevel};
use crate::embed::cache::EmbedCache;
use crate::embed::{text, Embedder};
use crate::error::Result;
use crate::foreground::{Foreground, Pacer};
use crate::metrics::Metrics;
use crate::store::{Documents, EmbedJob, EmbedKind, EmbedQueue, Table};
use crate::vectors::{points, Collection, VectorFilter, VectorIndex, VectorPoint};

/// How the indexer paces itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IndexerSettings {
    /// Jobs leased per round.
    pub jobs_per_round: usize,
    /// Documents embedded and written per step (progress is saved after each).
    pub chunk: usize,
    /// Texts run through the model per call while no request runs (one
    /// at a time while requests do).
    pub model_batch: usize,
    /// How long a leased job is reserved for this worker.
    pub lease: Duration,
    /// How often an idle worker looks for work queued by other processes.
    pub idle_poll: Duration,
    /// The least severe level of the logs embedded (None: no logs).
    pub embed_logs_from: Option<LogLevel>,
}

impl Default for IndexerSettings {
    fn default() -> Self {
        Self {
            jobs_per_round: 8,
            chunk: 128,
            model_batch: 32,
            lease: Duration::from_secs(60),
            idle_poll: Duration::from_secs(1),
            embed_logs_from: Some(LogLevel::Trace),
        }
    }
}

pub struct Indexer {
    documents: Arc<dyn Documents>,
    queue: Arc<dyn EmbedQueue>,
    vectors: Arc<dyn VectorIndex>,
    embedder: Arc<dyn Embedder>,
    wake: Arc<Notify>,
    settings: IndexerSettings,
    embedded: AtomicU64,
    /// Where anomaly scores are observed (the app's registry).
    metrics: Option<Arc<Metrics>>,
    cache: Arc<EmbedCache>,
    foreground: Arc<Foreground>,
}

impl Indexer {
    pub(crate) fn new(
        documents: Arc<dyn Documents>,
        queue: Arc<dyn EmbedQueue>,
        vectors: Arc<dyn VectorIndex>,
        embedder: Arc<dyn Embedder>,
        wake: Arc<Notify>,
        settings: IndexerSettings,
    ) -> Self {
        let cache = Arc::new(EmbedCache::new(embedder.fingerprint(), 0));
        Self {
            documents,
            queue,
            vectors,
            embedder,
            wake,
            settings,
            embedded: AtomicU64::new(0),
            metrics: None,
            cache,
            foreground: Arc::new(Foreground::new(1.0)),
        }
    }

    /// Look texts up in `cache` before embedding them (default: no cache).
    pub fn with_cache(mut self, cache: Arc<EmbedCache>) -> Self {
        self.cache = cache;
        self
    }

    /// Give way to the requests `foreground` counts (default: never).
    pub fn with_foreground(mut self, foreground: Arc<Foreground>) -> Self {
        self.foreground = foreground;
        self
    }

    /// Milliseconds spent giving way to requests.
    pub fn paused_ms(&self) -> u64 {
        self.foreground.paused_ms()
    }

    /// The vectors already computed, by text.
    pub fn cache(&self) -> &Arc<EmbedCache> {
        &self.cache
    }

    /// Report anomaly scores to these metrics.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Documents this process has embedded so far.
    pub fn embedded(&self) -> u64 {
        self.embedded.load(Ordering::Relaxed)
    }

    /// Documents waiting to be embedded (all processes).
    pub async fn backlog(&self) -> Result<u64> {
        Ok(self.queue.embed_backlog().await?)
    }

    /// Work until the task is dropped: a round whenever something was
    /// queued here, or every `idle_poll` for work queued elsewhere. Errors
    /// are logged and retried with backoff; the queue keeps the work.
    pub async fn run(self: Arc<Self>) {
        crate::retry::rounds(
            "indexer",
            &self.wake,
            self.settings.idle_poll,
            (Duration::from_millis(200), Duration::from_secs(30)),
            || async { self.round(true).await.map(|done| done > 0) },
        )
        .await;
    }

    /// One round, flat out: lease jobs and embed them. Returns the
    /// documents embedded.
    pub async fn run_once(&self) -> Result<usize> {
        self.round(false).await
    }

    /// One round, giving way to requests when `paced`.
    async fn round(&self, paced: bool) -> Result<usize> {
        let jobs = self
            .queue
            .lease_embed_jobs(self.settings.jobs_per_round, self.settings.lease)
            .await?;
        let mut done = 0;
        for job in jobs {
            let pacer = if paced {
                Pacer::new(&self.foreground)
            } else {
                Pacer::off()
            };
            done += self.process(job, pacer).await?;
        }
        Ok(done)
    }

    /// Embed until nothing is queued (tests, benchmarks, tools). Jobs
    /// another worker holds are waited for.
    pub async fn drain(&self) -> Result<()> {
        crate::retry::drain(|| self.run_once(), || self.backlog()).await
    }

    async fn process(&self, job: EmbedJob, mut pacer: Pacer<'_>) -> Result<usize> {
        let mut remaining = job.ids.as_slice();
        let mut done = 0;
        while !remaining.is_empty() {
            let take = remaining.len().min(self.settings.chunk.max(1));
            let (chunk, rest) = remaining.split_at(take);
            done += self.embed_chunk(job.kind, chunk, &mut pacer).await?;
            self.queue
                .settle_embed_job(&job.id, rest, self.settings.lease)
                .await?;
            pacer.step_done().await;
            remaining = rest;
        }
        Ok(done)
    }

    /// The vectors of `texts`, in order: from the cache, or embedded in
    /// batches of `model_batch` (each distinct text once) and kept there.
    async fn vectors_of(&self, texts: &[String], pacer: &mut Pacer<'_>) -> Result<Vec<Vec<f32>>> {
        let lookup = self.cache.lookup(texts);
        let mut fresh: std::collections::HashMap<&str, Arc<[f32]>> =
            std::collections::HashMap::with_capacity(lookup.missing.len());
        // While requests run, one text per call: a search waiting for the
        // model waits for one text's inference at most.
        let batch = if pacer.busy() {
            1
        } else {
            self.settings.model_batch.max(1)
        };
        for batch in lookup.missing.chunks(batch) {
            let vectors = self.embedder.embed(batch.to_vec()).await?;
            for (text, vector) in batch.iter().zip(vectors) {
                let vector: Arc<[f32]> = vector.into();
                self.cache.insert(text, vector.clone());
                fresh.insert(text.as_str(), vector);
            }
            pacer.step_done().await;
        }
        texts
            .iter()
            .zip(lookup.found)
            .map(|(text, found)| {
                found
                    .or_else(|| fresh.get(text.as_str()).cloned())
                    .map(|vector| vector.to_vec())
                    .ok_or_else(|| {
                        crate::embed::EmbedError::Inference("model returned no vector".into())
                            .into()
                    })
            })
            .collect()
    }

    /// Embed and write the documents of `ids` that still exist.
    async fn embed_chunk(
        &self,
        kind: EmbedKind,
        ids: &[String],
        pacer: &mut Pacer<'_>,
    ) -> Result<usize> {
        let mut logs = Vec::new();
        let (collection, table, texts, mut points): (_, _, Vec<String>, Vec<VectorPoint>) =
            match kind {
                EmbedKind::Log => {
                    let Some(from) = self.settings.embed_logs_from else {
                        return Ok(0);
                    };
                    logs = self.documents.get_logs(ids).await?;
                    logs.retain(|log| log.level >= from);
                    // In the queue's order (the order they were written):
                    // each is scored against those before it.
                    let position: std::collections::HashMap<&str, usize> = ids
                        .iter()
                        .enumerate()
                        .map(|(i, id)| (id.as_str(), i))
                        .collect();
                    logs.sort_by_key(|log| position.get(log.id.as_str()).copied());
                    let texts = logs.iter().map(text::log).collect();
                    let points = logs.iter().map(points::log).collect();
                    (Collection::Logs, Table::Log, texts, points)
                }
                EmbedKind::Thought => {
                    let thoughts = self.documents.get_thoughts(ids).await?;
                    let texts = thoughts.iter().map(text::thought).collect();
                    let points = thoughts.iter().map(points::thought).collect();
                    (Collection::Thoughts, Table::Thought, texts, points)
                }
                // Created by OTLP ingest, which does not wait for the model.
                EmbedKind::Agent => {
                    let agents = self.documents.get_agents(ids).await?;
                    let texts = agents.iter().map(text::agent).collect();
                    let points = agents
                        .iter()
                        .map(|a| points::agent(a, Vec::new()))
                        .collect();
                    (Collection::Agents, Table::Agent, texts, points)
                }
                EmbedKind::Task => {
                    let tasks = self.documents.get_tasks(ids).await?;
                    let texts = tasks.iter().map(text::task).collect();
                    let points = tasks.iter().map(|t| points::task(t, Vec::new())).collect();
                    (Collection::Tasks, Table::Task, texts, points)
                }
            };
        let points_len = points.len();
        if points_len == 0 {
            return Ok(0);
        }
        let started = std::time::Instant::now();
        let vectors = self.vectors_of(&texts, pacer).await?;
        for (point, vector) in points.iter_mut().zip(vectors) {
            point.vector = vector;
        }
        let written: Vec<String> = points.iter().map(|p| p.id.clone()).collect();
        // Scored against what was embedded before this chunk, so before
        // this chunk's vectors are written.
        let scores = if logs.is_empty() {
            Vec::new()
        } else {
            let vectors: Vec<&[f32]> = points.iter().map(|p| p.vector.as_slice()).collect();
            self.anomaly_scores(&logs, &vectors).await?
        };
        self.vectors.upsert(collection, points).await?;
        if !scores.is_empty() {
            self.documents.set_anomaly_scores(&scores).await?;
            if let Some(metrics) = &self.metrics {
                for (_, score) in &scores {
                    metrics.anomaly_scores.observe(f64::from(*score));
                }
            }
        }
        // An agent deleted meanwhile took its documents (and vectors) with
        // it: do not leave vectors of documents that are gone.
        let present = self.documents.existing(table, &written).await?;
        if present.len() < written.len() {
            let gone: Vec<String> = written
                .into_iter()
                .filter(|id| !present.contains(id))
                .collect();
            self.vectors.delete(collection, &gone).await?;
        }
        self.embedded
            .fetch_add(points_len as u64, Ordering::Relaxed);
        tracing::debug!(?kind, documents = points_len, elapsed = ?started.elapsed(), "embedded");
        Ok(points_len)
    }
}

impl Indexer {
    /// Each log's anomaly score (see [`crate::anomaly`]): its nearest
    /// neighbour among the agent's logs of the window before it — those
    /// already embedded, and those earlier in this chunk.
    async fn anomaly_scores(&self, logs: &[Log], vectors: &[&[f32]]) -> Result<Vec<(String, f32)>> {
        let searches = logs.iter().zip(vectors).map(|(log, vector)| {
            let filter = VectorFilter {
                agent_id: Some(log.agent_id.clone()),
                since: Some((log.timestamp - anomaly::WINDOW).timestamp_millis()),
                // Inclusive of its own instant (a batch shares one).
                until: Some(log.timestamp.timestamp_millis() + 1),
                ..VectorFilter::default()
            };
            async move {
                // Two: the log itself may already be there (a job resumed
                // after a crash).
                let hits = self
                    .vectors
                    .search(Collection::Logs, vector.to_vec(), 2, -1.0, &filter)
                    .await?;
                Ok::<_, crate::error::Error>(
                    hits.into_iter()
                        .find(|hit| hit.id != log.id)
                        .map(|hit| hit.score),
                )
            }
        });
        let stored = futures::future::try_join_all(searches).await?;
        let history = self.history(logs).await?;
        let mut seen: std::collections::HashMap<&str, u64> = std::collections::HashMap::new();
        Ok(logs
            .iter()
            .enumerate()
            .map(|(i, log)| {
                let since = log.timestamp - anomaly::WINDOW;
                let in_chunk = (0..i)
                    .filter(|&j| {
                        let other = &logs[j];
                        other.agent_id == log.agent_id
                            && other.timestamp >= since
                            && other.timestamp <= log.timestamp
                    })
                    .map(|j| cosine(vectors[i], vectors[j]));
                let nearest = stored[i].into_iter().chain(in_chunk).reduce(f32::max);
                let earlier = seen.entry(log.agent_id.as_str()).or_insert(0);
                let history = history.get(log.agent_id.as_str()).copied().unwrap_or(0) + *earlier;
                *earlier += 1;
                (log.id.clone(), anomaly::score(log.level, nearest, history))
            })
            .collect())
    }

    /// For each agent with routine-level logs in `logs`, how many of its
    /// logs were embedded in the window before its first one here (the
    /// history [`anomaly::novelty_weight`] scales novelty by).
    async fn history<'a>(
        &self,
        logs: &'a [Log],
    ) -> Result<std::collections::HashMap<&'a str, u64>> {
        let mut first: std::collections::HashMap<&str, chrono::DateTime<chrono::Utc>> =
            std::collections::HashMap::new();
        for log in logs.iter().filter(|log| log.level < LogLevel::Warn) {
            let at = first.entry(log.agent_id.as_str()).or_insert(log.timestamp);
            *at = (*at).min(log.timestamp);
        }
        let counts = first.into_iter().map(|(agent, at)| async move {
            let filter = VectorFilter {
                agent_id: Some(agent.to_string()),
                since: Some((at - anomaly::WINDOW).timestamp_millis()),
                // Inclusive of its instant: earlier chunks of its batch.
                until: Some(at.timestamp_millis() + 1),
                ..VectorFilter::default()
            };
            let count = self
                .vectors
                .count_matching(Collection::Logs, &filter)
                .await?;
            Ok::<_, crate::error::Error>((agent, count))
        });
        Ok(futures::future::try_join_all(counts)
            .await?
            .into_iter()
            .collect())
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let denominator = norm(a) * norm(b);
    if denominator == 0.0 {
        0.0
    } else {
        dot / denominator
    }
}
