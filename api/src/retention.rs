//! Retention: logs, thoughts and tasks older than their window
//! (`RETENTION_LOGS`, `RETENTION_THOUGHTS`, `RETENTION_TASKS`) are deleted
//! in the background, with their vectors, anomaly scores and embedding
//! queue entries. The store removes a bounded round per transaction
//! ([`crate::store::Documents::expire`]) and the worker gives way to
//! requests between rounds (the indexer's [`crate::foreground`] pacing), so
//! ingest is not held up. [`Retention::run_once`] takes the time to expire
//! against, so a test can move the clock.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::foreground::{Foreground, Pacer};
use crate::store::{Documents, Expiring, StoreError};
use crate::vectors::{Collection, VectorError, VectorFilter, VectorIndex};

/// Blocks, thoughts or tasks removed per round (one transaction).
const ROUND: usize = 500;

/// How long each kind is kept (None: forever), and how often to look.
#[derive(Debug, Clone, PartialEq)]
pub struct RetentionSettings {
    pub logs: Option<chrono::Duration>,
    pub thoughts: Option<chrono::Duration>,
    pub tasks: Option<chrono::Duration>,
    pub every: Duration,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            logs: None,
            thoughts: None,
            tasks: None,
            every: Duration::from_secs(60),
        }
    }
}

impl RetentionSettings {
    pub fn window(&self, kind: Expiring) -> Option<chrono::Duration> {
        match kind {
            Expiring::Logs => self.logs,
            Expiring::Thoughts => self.thoughts,
            Expiring::Tasks => self.tasks,
        }
    }

    /// Whether any kind expires.
    pub fn enabled(&self) -> bool {
        Expiring::ALL
            .iter()
            .any(|kind| self.window(*kind).is_some())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Vectors(#[from] VectorError),
}

/// What one pass removed, by kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Removed {
    pub logs: u64,
    pub thoughts: u64,
    pub tasks: u64,
    /// Embedding queue entries whose documents were all gone.
    pub queue_entries: u64,
}

/// Retention as `/health` reports it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RetentionReport {
    /// Each kind's window, e.g. `"30d"`; absent: kept forever.
    pub windows: BTreeMap<&'static str, String>,
    /// Removed since this process started.
    pub removed: Removed,
    /// When the last pass finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run: Option<DateTime<Utc>>,
    /// The last pass's error, if it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

pub struct Retention {
    documents: Arc<dyn Documents>,
    vectors: Arc<dyn VectorIndex>,
    settings: RetentionSettings,
    foreground: Option<Arc<Foreground>>,
    removed: [AtomicU64; 4],
    last: Mutex<(Option<DateTime<Utc>>, Option<String>)>,
}

impl Retention {
    pub fn new(
        documents: Arc<dyn Documents>,
        vectors: Arc<dyn VectorIndex>,
        settings: RetentionSettings,
    ) -> Self {
        Retention {
            documents,
            vectors,
            settings,
            foreground: None,
            removed: Default::default(),
            last: Mutex::new((None, None)),
        }
    }

    /// Give way to requests between rounds (the background loop).
    pub fn with_foreground(mut self, foreground: Arc<Foreground>) -> Self {
        self.foreground = Some(foreground);
        self
    }

    pub fn settings(&self) -> &RetentionSettings {
        &self.settings
    }

    /// Remove everything expired at `now`, round by round: what was
    /// removed. Unpaced (a test or a tool calls it); the background loop
    /// paces through [`Retention::run`].
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<Removed, RetentionError> {
        self.pass(now, None).await
    }

    async fn pass(
        &self,
        now: DateTime<Utc>,
        foreground: Option<&Foreground>,
    ) -> Result<Removed, RetentionError> {
        let mut removed = Removed::default();
        let result = self.expire_all(now, foreground, &mut removed).await;
        for (slot, n) in self.removed.iter().zip([
            removed.logs,
            removed.thoughts,
            removed.tasks,
            removed.queue_entries,
        ]) {
            slot.fetch_add(n, Ordering::Relaxed);
        }
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        *last = (
            Some(Utc::now()),
            result.as_ref().err().map(|e| e.to_string()),
        );
        result.map(|()| removed)
    }

    async fn expire_all(
        &self,
        now: DateTime<Utc>,
        foreground: Option<&Foreground>,
        removed: &mut Removed,
    ) -> Result<(), RetentionError> {
        let mut pacer = match foreground {
            Some(foreground) => Pacer::new(foreground),
            None => Pacer::off(),
        };
        for kind in Expiring::ALL {
            let Some(window) = self.settings.window(kind) else {
                continue;
            };
            let cutoff = now - window;
            loop {
                let round = self.documents.expire(kind, cutoff, ROUND).await?;
                removed.queue_entries += round.queue_entries;
                match kind {
                    Expiring::Logs => removed.logs += round.removed,
                    Expiring::Thoughts => removed.thoughts += round.removed,
                    Expiring::Tasks => removed.tasks += round.removed,
                }
                removed.logs += round.with_tasks.0;
                removed.thoughts += round.with_tasks.1;
                if kind == Expiring::Tasks {
                    self.remove_vectors(kind, cutoff, &round.tasks).await?;
                }
                if !round.more {
                    break;
                }
                pacer.step_done().await;
            }
            if kind != Expiring::Tasks {
                self.remove_vectors(kind, cutoff, &[]).await?;
            }
        }
        Ok(())
    }

    /// The vectors of what expired: logs and thoughts by their time (once
    /// a pass, after their documents), tasks by id with their thoughts'
    /// and logs' by task (each round).
    async fn remove_vectors(
        &self,
        kind: Expiring,
        cutoff: DateTime<Utc>,
        tasks: &[String],
    ) -> Result<(), VectorError> {
        let before = VectorFilter {
            until: Some(cutoff.timestamp_millis()),
            ..VectorFilter::default()
        };
        match kind {
            Expiring::Logs => {
                self.vectors
                    .delete_matching(Collection::Logs, &before)
                    .await
            }
            Expiring::Thoughts => {
                self.vectors
                    .delete_matching(Collection::Thoughts, &before)
                    .await
            }
            Expiring::Tasks => {
                if tasks.is_empty() {
                    return Ok(());
                }
                self.vectors.delete(Collection::Tasks, tasks).await?;
                for task in tasks {
                    let of_task = VectorFilter {
                        task_id: Some(task.clone()),
                        ..VectorFilter::default()
                    };
                    self.vectors
                        .delete_matching(Collection::Logs, &of_task)
                        .await?;
                    self.vectors
                        .delete_matching(Collection::Thoughts, &of_task)
                        .await?;
                }
                Ok(())
            }
        }
    }

    /// Every `settings.every`, a pass at the time of day; errors are
    /// logged and the next pass tries again. Returns at once when nothing
    /// expires.
    pub async fn run(self: Arc<Self>) {
        if !self.settings.enabled() {
            return;
        }
        loop {
            tokio::time::sleep(self.settings.every).await;
            let started = Instant::now();
            match self.pass(Utc::now(), self.foreground.as_deref()).await {
                Ok(removed) if removed != Removed::default() => tracing::info!(
                    logs = removed.logs,
                    thoughts = removed.thoughts,
                    tasks = removed.tasks,
                    queue_entries = removed.queue_entries,
                    took_ms = started.elapsed().as_millis() as u64,
                    "retention removed expired documents"
                ),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "retention pass failed"),
            }
        }
    }

    /// Removed since start, by kind (`logs`, `thoughts`, `tasks`,
    /// `queue_entries`).
    pub fn removed(&self) -> Removed {
        let [logs, thoughts, tasks, queue] = &self.removed;
        Removed {
            logs: logs.load(Ordering::Relaxed),
            thoughts: thoughts.load(Ordering::Relaxed),
            tasks: tasks.load(Ordering::Relaxed),
            queue_entries: queue.load(Ordering::Relaxed),
        }
    }

    pub fn report(&self) -> RetentionReport {
        let (last_run, last_error) = self.last.lock().unwrap_or_else(|e| e.into_inner()).clone();
        RetentionReport {
            windows: Expiring::ALL
                .iter()
                .filter_map(|kind| {
                    self.settings
                        .window(*kind)
                        .map(|window| (kind.name(), format_window(window)))
                })
                .collect(),
            removed: self.removed(),
            last_run,
            last_error,
        }
    }
}

/// A window as settings write it: `30d`, `12h`, `90m`, `45s` or `2w`.
pub fn parse_window(text: &str) -> Result<Option<chrono::Duration>, String> {
    let text = text.trim();
    if text.is_empty() || text == "0" || text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?} has no unit (s, m, h, d or w)"))?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number
        .parse()
        .map_err(|_| format!("{text:?} does not start with a whole number"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        other => return Err(format!("unknown unit {other:?} (s, m, h, d or w)")),
    };
    if n == 0 {
        return Ok(None);
    }
    n.checked_mul(seconds)
        .filter(|s| *s <= 100 * 365 * 86_400)
        .map(|s| Some(chrono::Duration::seconds(s)))
        .ok_or_else(|| format!("{text:?} is longer than 100 years"))
}

/// The shortest exact way to write a window.
pub fn format_window(window: chrono::Duration) -> String {
    let s = window.num_seconds();
    for (unit, size) in [("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)] {
        if s % size == 0 {
            return format!("{}{unit}", s / size);
        }
    }
    format!("{s}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_and_print() {
        assert_eq!(
            parse_window("30d").unwrap(),
            Some(chrono::Duration::days(30))
        );
        assert_eq!(
            parse_window("90m").unwrap(),
            Some(chrono::Duration::minutes(90))
        );
        assert_eq!(
            parse_window(" 2w ").unwrap(),
            Some(chrono::Duration::weeks(2))
        );
        for off in ["", "0", "off", "0d"] {
            assert_eq!(parse_window(off).unwrap(), None, "{off:?}");
        }
        for bad in ["30", "d", "3x", "-1d", "1.5h", "99999999999w"] {
            assert!(parse_window(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format_window(chrono::Duration::days(30)), "30d");
        assert_eq!(format_window(chrono::Duration::minutes(90)), "90m");
        assert_eq!(format_window(chrono::Duration::seconds(61)), "61s");
    }
}
