//! The text indexer: writes the full-text index documents of log blocks
//! and thoughts off the request path. Every write that stores logs or
//! thoughts queues them (`text_queue`, in its transaction); each round
//! leases a few entries, indexes what they name and removes them in one
//! transaction ([`TextQueue::index_text`]). A worker that dies lets
//! its lease expire. While requests are served it gives way after each
//! round ([`Foreground`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::error::Result;
use crate::foreground::{Foreground, Pacer};
use crate::store::TextQueue;

/// Queue entries leased per round (a log entry names the blocks of one
/// batch; a thought entry, one thought or an OTLP round's).
const ENTRIES_PER_ROUND: usize = 16;
/// How long a leased entry is reserved for this worker.
const LEASE: Duration = Duration::from_secs(60);
/// How often an idle worker looks for work.
const IDLE_POLL: Duration = Duration::from_millis(250);

pub struct TextIndexer {
    queue: Arc<dyn TextQueue>,
    foreground: Option<Arc<Foreground>>,
    /// Never notified: the worker polls (writes are queued by the store).
    idle: Notify,
    indexed: AtomicU64,
}

impl TextIndexer {
    pub fn new(queue: Arc<dyn TextQueue>, foreground: Option<Arc<Foreground>>) -> Self {
        Self {
            queue,
            foreground,
            idle: Notify::new(),
            indexed: AtomicU64::new(0),
        }
    }

    /// Blocks and thoughts indexed by this process since it started.
    pub fn indexed(&self) -> u64 {
        self.indexed.load(Ordering::Relaxed)
    }

    /// Blocks and thoughts waiting (all processes).
    pub async fn backlog(&self) -> Result<u64> {
        Ok(self.queue.text_backlog().await?)
    }

    /// One round. Returns the blocks and thoughts handled.
    pub async fn run_once(&self) -> Result<usize> {
        let done = self.queue.index_text(ENTRIES_PER_ROUND, LEASE).await?;
        self.indexed.fetch_add(done as u64, Ordering::Relaxed);
        Ok(done)
    }

    /// Index until nothing is queued (tests, benchmarks). Entries another
    /// worker holds are waited for.
    pub async fn drain(&self) -> Result<()> {
        crate::retry::drain(|| self.run_once(), || self.backlog()).await
    }

    /// Work until the task is dropped, giving way to requests.
    pub async fn run(self: Arc<Self>) {
        crate::retry::rounds(
            "text indexer",
            &self.idle,
            IDLE_POLL,
            (Duration::from_millis(200), Duration::from_secs(30)),
            || async {
                let mut pacer = match &self.foreground {
                    Some(foreground) => Pacer::new(foreground),
                    None => Pacer::off(),
                };
                let done = self.run_once().await?;
                pacer.step_done().await;
                Ok(done > 0)
            },
        )
        .await;
    }
}
