//! Writing what [`super::mapping`] planned, through the router (the same
//! validation and dual writes as the REST API), and keeping the ingest's
//! own bookkeeping: where each span went (`otel_span`) and what waits for
//! an agent span that has not arrived (`otel_pending`).

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::mapping::{self, Owner};
use super::model::{span_key, Item, LogItem, SpanItem};
use crate::domain::{LogLevel, TaskPatch};
use crate::error::{Error, Result};
use crate::router::VectaRouter;

/// Expired waiting items placed per export, at most.
const EXPIRED_PER_EXPORT: usize = 1_000;

/// What an export did: counts for the response and for tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ingested {
    pub agents_created: usize,
    pub tasks_created: usize,
    pub thoughts_created: usize,
    pub logs_created: usize,
    /// The level of each log created (for the `logs_ingested_total` metric).
    pub created_log_levels: Vec<LogLevel>,
    /// Items placed now (from this request or from the waiting room).
    pub placed: usize,
    /// Items waiting for their agent span.
    pub waiting: usize,
}

impl VectaRouter {
    pub async fn ingest_otlp_spans(&self, spans: Vec<SpanItem>) -> Result<Ingested> {
        self.ingest_otlp(spans.into_iter().map(Item::Span).collect())
            .await
    }

    pub async fn ingest_otlp_logs(&self, logs: Vec<LogItem>) -> Result<Ingested> {
        self.ingest_otlp(logs.into_iter().map(Item::Log).collect())
            .await
    }

    async fn ingest_otlp(&self, items: Vec<Item>) -> Result<Ingested> {
        // What waited for these traces joins what just arrived (a resent
        // item replaces its waiting copy).
        let traces: Vec<String> = items
            .iter()
            .filter_map(Item::trace_id)
            .map(str::to_string)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut all: HashMap<String, Item> = HashMap::new();
        let mut was_waiting = HashSet::new();
        for value in self.store.otel_waiting(&traces).await? {
            match serde_json::from_value::<Item>(value) {
                Ok(item) => {
                    was_waiting.insert(item.key());
                    all.insert(item.key(), item);
                }
                Err(error) => tracing::warn!(%error, "undecodable waiting OTLP item skipped"),
            }
        }
        for item in items {
            all.insert(item.key(), item);
        }
        // Items that waited too long for a span that never came (sampled out,
        // lost) are placed as best they can be.
        let mut expired = HashSet::new();
        for value in self
            .store
            .otel_expired(self.otlp_wait(), EXPIRED_PER_EXPORT)
            .await?
        {
            if let Ok(item) = serde_json::from_value::<Item>(value) {
                expired.insert(item.key());
                was_waiting.insert(item.key());
                all.entry(item.key()).or_insert(item);
            }
        }
        let items: Vec<Item> = all.into_values().collect();

        let known = self.known_owners(&items).await?;
        let plan = mapping::plan(items, &known, &expired);
        let mut report = Ingested {
            placed: plan.placed.len(),
            waiting: plan.waiting.len(),
            ..Ingested::default()
        };

        for agent in plan.agents {
            let id = agent.id.clone().unwrap_or_default();
            if self.store.get_agent(&id).await?.is_none() {
                match self.create_agent(agent).await {
                    Ok(_) => report.agents_created += 1,
                    // Created meanwhile by a concurrent export: fine.
                    Err(Error::Conflict { .. }) => {}
                    Err(other) => return Err(other),
                }
            }
        }
        for task in plan.tasks {
            let id = task.id.clone().unwrap_or_default();
            match self.store.get_task(&id).await? {
                None => match self.create_task(task).await {
                    Ok(_) => report.tasks_created += 1,
                    Err(Error::Conflict { .. }) => {}
                    Err(other) => return Err(other),
                },
                // Another turn of the same conversation: its latest state.
                Some(existing)
                    if existing.status != task.status || existing.output != task.output =>
                {
                    let patch = TaskPatch {
                        description: None,
                        status: Some(task.status),
                        output: task.output,
                        metadata: None,
                    };
                    self.update_task(&id, patch).await?;
                }
                Some(_) => {}
            }
        }
        for thought in plan.thoughts {
            match self.create_thought(thought).await {
                Ok((_, crate::router::Outcome::Created)) => report.thoughts_created += 1,
                Ok(_) => {}
                // The span was ingested before, with other content: keep the first.
                Err(Error::Conflict { field, message }) => {
                    tracing::warn!(%field, %message, "OTLP span already ingested differently; kept the first")
                }
                Err(other) => return Err(other),
            }
        }
        for batch in plan.logs.chunks(self.limits().max_log_batch.max(1)) {
            let ingested = self.ingest_logs(batch.to_vec()).await?;
            for (log, new) in ingested.logs.iter().zip(&ingested.new) {
                if *new {
                    report.logs_created += 1;
                    report.created_log_levels.push(log.level);
                }
            }
        }

        let owners: Vec<(String, Value)> = plan
            .owners
            .iter()
            .map(|(key, owner)| (key.clone(), serde_json::to_value(owner).unwrap_or_default()))
            .collect();
        self.store.otel_remember(&owners).await?;
        let unparked: Vec<String> = plan
            .placed
            .into_iter()
            .filter(|key| was_waiting.contains(key))
            .collect();
        self.store.otel_unpark(&unparked).await?;
        let parked: Vec<(String, String, Value)> = plan
            .waiting
            .iter()
            .map(|item| {
                (
                    item.key(),
                    item.trace_id().unwrap_or_default().to_string(),
                    serde_json::to_value(item).unwrap_or_default(),
                )
            })
            .collect();
        self.store.otel_park(&parked).await?;
        Ok(report)
    }

    /// Owners of the spans these items point at (parents, log records'
    /// spans) that earlier exports placed. Spans of this batch are placed
    /// from the batch itself, so they are not looked up.
    async fn known_owners(&self, items: &[Item]) -> Result<HashMap<String, Owner>> {
        let here: HashSet<String> = items
            .iter()
            .filter_map(|item| match item {
                Item::Span(span) => Some(span_key(&span.trace_id, &span.span_id)),
                Item::Log(_) => None,
            })
            .collect();
        let keys: Vec<String> = items
            .iter()
            .filter_map(|item| match item {
                Item::Span(span) => span
                    .parent_span_id
                    .as_ref()
                    .map(|p| span_key(&span.trace_id, p)),
                Item::Log(log) => match (&log.trace_id, &log.span_id) {
                    (Some(t), Some(s)) => Some(span_key(t, s)),
                    _ => None,
                },
            })
            .filter(|key| !here.contains(key))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        Ok(self
            .store
            .otel_lookup(&keys)
            .await?
            .into_iter()
            .filter_map(|(key, value)| serde_json::from_value(value).ok().map(|o| (key, o)))
            .collect())
    }
}
