//! Accepting exports and placing them. An export is acknowledged once its
//! items are in the inbox (one durable write); the OTLP worker
//! ([`crate::otlp::worker`]) then places them a round at a time: a round leases
//! inbox entries, plans them with what waited for them ([`crate::otlp::mapping`]),
//! checks the plan against what is stored (the validation and references
//! the REST API checks), and writes it in one transaction
//! ([`OtelWrite`]) that also removes the entries. A round that fails
//! writes nothing and its entries run again, so each export is placed
//! exactly once; ids derive from trace and span ids, so a resent export
//! changes nothing.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::Notify;

use super::Service;
use crate::domain::{LogLevel, TaskPatch};
use crate::error::{Error, Result};
use crate::otlp::mapping::{self, Owner};
use crate::otlp::model::{Item, SpanRef};
use crate::otlp::stash::{InboxEntry, OtelWrite};
use crate::store::Table;

/// Expired waiting items placed per round, at most.
const EXPIRED_PER_ROUND: usize = 1_000;

/// Time spent in each phase of a round, for the debug log.
struct Laps {
    last: Instant,
    laps: Vec<(&'static str, Duration)>,
}

impl Laps {
    fn start() -> Self {
        Self {
            last: Instant::now(),
            laps: Vec::new(),
        }
    }

    fn lap(&mut self, phase: &'static str) {
        let now = Instant::now();
        self.laps.push((phase, now - self.last));
        self.last = now;
    }
}

impl std::fmt::Display for Laps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (phase, took) in &self.laps {
            write!(f, "{phase}={:.1}ms ", took.as_secs_f64() * 1000.0)?;
        }
        Ok(())
    }
}

/// What a round did: counts for metrics, logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ingested {
    /// Inbox entries (exports) consumed.
    pub exports: usize,
    /// Items those entries held.
    pub items: u64,
    pub agents_created: usize,
    pub tasks_created: usize,
    pub thoughts_created: usize,
    pub logs_created: usize,
    /// The level of each log created (for the `logs_ingested_total` metric).
    pub created_log_levels: Vec<LogLevel>,
    /// Items placed now (from the inbox or from the waiting room).
    pub placed: usize,
    /// Items waiting for their agent span.
    pub waiting: usize,
    /// Documents dropped: invalid, or under an agent or task deleted
    /// since its first spans were placed.
    pub dropped: usize,
}

impl Ingested {
    /// Whether the round found anything to do.
    pub fn is_empty(&self) -> bool {
        self.exports == 0 && self.placed == 0
    }
}

impl Service {
    /// Accept an export's items: one durable write to the inbox, then the
    /// worker is woken. Refused with [`Error::Busy`] while the inbox holds
    /// `otlp_max_pending` items or more, so exporters retry later instead
    /// of placement falling ever further behind.
    pub async fn accept_otlp(&self, items: Vec<Item>) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        if self.otlp_pending.load(Ordering::Relaxed) >= self.limits().otlp_max_pending {
            return Err(Error::Busy {
                message: "OTLP ingest is behind; retry shortly",
                retry_after: 1,
            });
        }
        self.otel.enqueue(&items).await?;
        self.otlp_pending
            .fetch_add(items.len() as u64, Ordering::Relaxed);
        self.wake_otlp.notify_one();
        Ok(())
    }

    /// Notified whenever an export is accepted (the worker waits on it).
    pub fn otlp_accepted(&self) -> &Notify {
        &self.wake_otlp
    }

    /// Items in the inbox as last counted (plus those accepted since).
    pub fn otlp_pending(&self) -> u64 {
        self.otlp_pending.load(Ordering::Relaxed)
    }

    /// Take placed items off the count (between recounts).
    pub fn placed_otlp(&self, items: u64) {
        let _ = self
            .otlp_pending
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |pending| {
                Some(pending.saturating_sub(items))
            });
    }

    /// Count the inbox again (all processes' exports).
    pub async fn recount_otlp_pending(&self) -> Result<u64> {
        let pending = self.otel.inbox_size().await?;
        self.otlp_pending.store(pending, Ordering::Relaxed);
        Ok(pending)
    }

    /// One round: lease inbox entries holding about `items` items, place
    /// them (and what waited too long), and write it all at once. Entries of
    /// a failed round are given back.
    pub async fn place_otlp(&self, items: u64, lease: Duration) -> Result<Ingested> {
        let mut clock = Laps::start();
        let entries = self.otel.lease(items, lease).await?;
        clock.lap("lease");
        let ids: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
        let result = self.place_entries(entries, &mut clock).await;
        if !ids.is_empty() {
            tracing::debug!(entries = ids.len(), phases = %clock, "OTLP round timed");
        }
        if result.is_err() {
            if let Err(error) = self.otel.release(Some(&ids)).await {
                tracing::warn!(%error, "could not give back OTLP inbox entries; their lease expires");
            }
        }
        result
    }

    async fn place_entries(&self, entries: Vec<InboxEntry>, clock: &mut Laps) -> Result<Ingested> {
        let mut incoming: HashMap<String, Item> = HashMap::new();
        let mut done = Vec::with_capacity(entries.len());
        let consumed: u64 = entries.iter().map(|e| e.size).sum();
        for entry in entries {
            match serde_json::from_str::<Vec<Item>>(&entry.items) {
                // A later export's copy of an item replaces an earlier one.
                Ok(items) => incoming.extend(items.into_iter().map(|item| (item.key(), item))),
                Err(error) => {
                    tracing::error!(entry = %entry.id, %error, "undecodable OTLP inbox entry dropped")
                }
            }
            done.push(entry.id);
        }
        // What waited for these traces joins them (a resent item replaces
        // its waiting copy).
        let traces: Vec<String> = incoming
            .values()
            .filter_map(Item::trace_id)
            .map(str::to_string)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut all: HashMap<String, Item> = HashMap::new();
        let mut was_waiting = HashSet::new();
        for item in self.otel.waiting(&traces).await? {
            was_waiting.insert(item.key());
            all.insert(item.key(), item);
        }
        all.extend(incoming);
        clock.lap("decode+waiting");
        // Items that waited too long for a span that never came (sampled
        // out, lost) are placed as best they can be.
        let mut expired = HashSet::new();
        for item in self
            .otel
            .expired(self.otlp_wait(), EXPIRED_PER_ROUND)
            .await?
        {
            expired.insert(item.key());
            was_waiting.insert(item.key());
            all.entry(item.key()).or_insert(item);
        }
        if done.is_empty() && expired.is_empty() {
            return Ok(Ingested::default());
        }
        clock.lap("expired");
        let items: Vec<Item> = all.into_values().collect();
        let known = self.known_owners(&items).await?;
        clock.lap("owners");
        let plan = mapping::plan(items, &known, &expired);
        clock.lap("plan");
        let mut report = Ingested {
            exports: done.len(),
            items: consumed,
            placed: plan.placed.len(),
            waiting: plan.waiting.len(),
            ..Ingested::default()
        };
        let unpark = plan
            .placed
            .iter()
            .filter(|key| was_waiting.contains(*key))
            .cloned()
            .collect();
        let mut write = OtelWrite {
            owners: plan.owners.clone(),
            unpark,
            park: plan.waiting.clone(),
            done,
            thoughts_at: Utc::now(),
            ..OtelWrite::default()
        };
        self.settle(plan, &mut write, &mut report).await?;
        clock.lap("settle");
        self.otel.apply(&write).await?;
        clock.lap("apply");
        if write.has_documents() {
            self.wake_indexer.notify_one();
        }
        Ok(report)
    }

    /// Turn a plan into the documents to write: what is new, validated, and
    /// whose agent, task and thought exist or are written with it.
    async fn settle(
        &self,
        plan: mapping::Plan,
        write: &mut OtelWrite,
        report: &mut Ingested,
    ) -> Result<()> {
        let now = write.thoughts_at;
        let invalid = |what: &str, id: &Option<String>, error: &dyn std::fmt::Display| {
            tracing::warn!(what, id = id.as_deref().unwrap_or_default(), %error, "invalid OTLP document dropped");
        };

        // Agents: created unless stored (an agent seen again is the same one).
        let mut agents = HashMap::new();
        for agent in plan.agents {
            match agent.validate() {
                Ok(()) => {
                    agents.insert(agent.id.clone().unwrap_or_default(), agent);
                }
                Err(error) => {
                    invalid("agent", &agent.id, &error);
                    report.dropped += 1;
                }
            }
        }
        let ids: Vec<String> = agents.keys().cloned().collect();
        let stored_agents: HashSet<String> = self
            .documents
            .existing(Table::Agent, &ids)
            .await?
            .into_iter()
            .collect();
        for (id, agent) in agents {
            if !stored_agents.contains(&id) {
                write.agents.push(agent.into_agent(now));
            }
        }

        // Tasks: created, or brought to their latest state (another turn
        // of the same conversation).
        let mut tasks = HashMap::new();
        for task in plan.tasks {
            match task.validate() {
                Ok(()) => {
                    tasks.insert(task.id.clone().unwrap_or_default(), task);
                }
                Err(error) => {
                    invalid("task", &task.id, &error);
                    report.dropped += 1;
                }
            }
        }
        let ids: Vec<String> = tasks.keys().cloned().collect();
        let stored_tasks: HashMap<String, crate::domain::Task> = self
            .documents
            .get_tasks(&ids)
            .await?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();

        // Which agents, tasks and thoughts the documents may name: stored
        // ones and the ones written now.
        let named_agents: Vec<String> = tasks
            .values()
            .map(|t| t.agent_id.clone())
            .chain(plan.thoughts.iter().map(|t| t.agent_id.clone()))
            .chain(plan.logs.iter().map(|l| l.agent_id.clone()))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut live_agents: HashSet<String> = self
            .documents
            .existing(Table::Agent, &named_agents)
            .await?
            .into_iter()
            .collect();
        live_agents.extend(write.agents.iter().map(|a| a.id.clone()));

        for (id, task) in tasks {
            match stored_tasks.get(&id) {
                None if live_agents.contains(&task.agent_id) => {
                    write.tasks.push(task.into_task(now))
                }
                None => report.dropped += 1,
                Some(existing)
                    if existing.status != task.status || existing.output != task.output =>
                {
                    let mut updated = existing.clone();
                    let ended = task.completed_at;
                    updated.apply(
                        TaskPatch {
                            description: None,
                            status: Some(task.status),
                            output: task.output,
                            metadata: None,
                        },
                        Utc::now(),
                    );
                    // The later turn's span says when it ended.
                    if updated.status.is_finished() {
                        updated.completed_at = ended.or(updated.completed_at);
                    }
                    write.task_updates.push(updated);
                }
                Some(_) => {}
            }
        }
        let named_tasks: Vec<String> = plan
            .thoughts
            .iter()
            .filter_map(|t| t.task_id.clone())
            .chain(plan.logs.iter().filter_map(|l| l.task_id.clone()))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut live_tasks: HashMap<String, String> = self
            .documents
            .get_tasks(&named_tasks)
            .await?
            .into_iter()
            .map(|t| (t.id, t.agent_id))
            .collect();
        live_tasks.extend(
            write
                .tasks
                .iter()
                .map(|t| (t.id.clone(), t.agent_id.clone())),
        );
        let owned = |agent_id: &str, task_id: Option<&String>| -> bool {
            live_agents.contains(agent_id)
                && task_id
                    .is_none_or(|task| live_tasks.get(task).map(String::as_str) == Some(agent_id))
        };

        // Thoughts: created unless stored, in plan order (each chain's
        // steps follow span start order).
        let ids: Vec<String> = plan.thoughts.iter().filter_map(|t| t.id.clone()).collect();
        let stored_thoughts: HashMap<String, crate::domain::Thought> = self
            .documents
            .get_thoughts(&ids)
            .await?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        let mut seen = HashSet::new();
        for thought in plan.thoughts {
            let id = thought.id.clone().unwrap_or_default();
            if let Err(error) = thought.validate() {
                invalid("thought", &thought.id, &error);
                report.dropped += 1;
            } else if let Some(existing) = stored_thoughts.get(&id) {
                if !existing.matches(&thought) {
                    tracing::warn!(%id, "OTLP span already ingested differently; kept the first");
                }
            } else if !owned(&thought.agent_id, thought.task_id.as_ref()) {
                report.dropped += 1;
            } else if seen.insert(id) {
                write.thoughts.push(thought);
            }
        }
        let live_thoughts: HashMap<String, (String, Option<String>)> = write
            .thoughts
            .iter()
            .map(|t| {
                (
                    t.id.clone().unwrap_or_default(),
                    (t.agent_id.clone(), t.task_id.clone()),
                )
            })
            .chain(
                stored_thoughts
                    .into_values()
                    .map(|t| (t.id, (t.agent_id, t.task_id))),
            )
            .collect();

        // Logs: new ones only (a resent log is not stored twice).
        let mut logs = Vec::with_capacity(plan.logs.len());
        for log in plan.logs {
            match log.validate() {
                Ok(()) => logs.push(log.into_log(now, crate::domain::ids::generate)),
                Err(error) => {
                    invalid("log", &log.id, &error);
                    report.dropped += 1;
                }
            }
        }
        let ids: Vec<String> = logs.iter().map(|l| l.id.clone()).collect();
        let stored_logs: HashSet<String> = self
            .documents
            .get_logs(&ids)
            .await?
            .into_iter()
            .map(|l| l.id)
            .collect();
        let named_thoughts: Vec<String> = logs
            .iter()
            .filter_map(|l| l.thought_id.clone())
            .filter(|id| !live_thoughts.contains_key(id))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut live_thoughts = live_thoughts;
        live_thoughts.extend(
            self.documents
                .get_thoughts(&named_thoughts)
                .await?
                .into_iter()
                .map(|t| (t.id, (t.agent_id, t.task_id))),
        );
        let mut seen = HashSet::new();
        for log in logs {
            if stored_logs.contains(&log.id) || !seen.insert(log.id.clone()) {
                continue;
            }
            let thought_ok = log.thought_id.as_ref().is_none_or(|id| {
                live_thoughts.get(id).is_some_and(|(agent, task)| {
                    *agent == log.agent_id && (log.task_id.is_none() || *task == log.task_id)
                })
            });
            if owned(&log.agent_id, log.task_id.as_ref()) && thought_ok {
                report.created_log_levels.push(log.level);
                write.logs.push(log);
            } else {
                report.dropped += 1;
            }
        }

        report.agents_created = write.agents.len();
        report.tasks_created = write.tasks.len();
        report.thoughts_created = write.thoughts.len();
        report.logs_created = write.logs.len();
        Ok(())
    }

    /// Owners of the spans these items point at (parents, log records'
    /// spans) that earlier rounds placed. Spans of this round are placed
    /// from the round itself, so they are not looked up.
    async fn known_owners(&self, items: &[Item]) -> Result<HashMap<String, Owner>> {
        let here: HashSet<SpanRef> = items
            .iter()
            .filter_map(|item| match item {
                Item::Span(span) => Some(SpanRef::new(&span.trace_id, &span.span_id)),
                Item::Log(_) => None,
            })
            .collect();
        let wanted: Vec<SpanRef> = items
            .iter()
            .filter_map(|item| match item {
                Item::Span(span) => span
                    .parent_span_id
                    .as_ref()
                    .map(|p| SpanRef::new(&span.trace_id, p)),
                Item::Log(log) => match (&log.trace_id, &log.span_id) {
                    (Some(t), Some(s)) => Some(SpanRef::new(t, s)),
                    _ => None,
                },
            })
            .filter(|span| !here.contains(span))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        Ok(self.otel.owners(&wanted).await?.into_iter().collect())
    }
}
