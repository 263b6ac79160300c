//! Requests come first: how busy the server is with requests, so that
//! background work (the indexer) gives way to them.
//!
//! Every request is counted from the load-shedding layer while it runs.
//! The server is *busy* while any request runs, and for [`QUIET`] after
//! the last one ends (closed-loop clients leave gaps shorter than that
//! between requests). While it is busy, background work pauses after each
//! step so that it takes at most its `share` of the time
//! (`INDEXER_SHARE_WHEN_BUSY`); when requests stop it runs flat out, so a
//! backlog always drains.
//!
//! Why pauses and not a lower OS priority: the model is one ONNX session
//! behind a lock, shared with searches. A background thread at idle
//! priority holding that lock while requests keep the cores busy would
//! hold every search waiting for it (priority inversion); a pause between
//! small steps at normal priority keeps the lock's hold short.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long after the last request the server still counts as busy.
pub const QUIET: Duration = Duration::from_millis(200);
/// The longest single pause (a very slow step does not stop background
/// work for longer than this at a time).
pub const MAX_PAUSE: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub struct Foreground {
    in_flight: AtomicUsize,
    /// When the last request ended, in ms since `epoch`, plus one (0: never).
    last_end: AtomicU64,
    epoch: Instant,
    share: f64,
    paused: AtomicU64,
}

/// A request being served; dropped when it ends.
#[derive(Debug)]
pub struct Active(Arc<Foreground>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.last_end.store(self.0.now_ms(), Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Foreground {
    /// Background work takes at most `share` (0–1] of the time while
    /// requests are served (1: it never pauses).
    pub fn new(share: f64) -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            last_end: AtomicU64::new(0),
            epoch: Instant::now(),
            share: if share.is_finite() {
                share.clamp(0.01, 1.0)
            } else {
                1.0
            },
            paused: AtomicU64::new(0),
        }
    }

    /// Milliseconds since `epoch`, plus one (so that 0 means never).
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    /// Count a request until the returned guard is dropped.
    pub fn enter(self: &Arc<Self>) -> Active {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        Active(self.clone())
    }

    /// Requests are running, or one ended less than [`QUIET`] ago.
    pub fn busy(&self) -> bool {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return true;
        }
        let last = self.last_end.load(Ordering::Relaxed);
        last > 0 && self.now_ms().saturating_sub(last) < QUIET.as_millis() as u64
    }

    /// The pause owed after a background step that took `cost`, if the
    /// server is busy: `cost × (1 − share) / share`, at most [`MAX_PAUSE`].
    pub fn pause_for(&self, cost: Duration) -> Duration {
        if self.share >= 1.0 || !self.busy() {
            return Duration::ZERO;
        }
        cost.mul_f64((1.0 - self.share) / self.share).min(MAX_PAUSE)
    }

    /// Wait out [`Self::pause_for`] `cost`.
    pub async fn give_way(&self, cost: Duration) {
        let pause = self.pause_for(cost);
        if !pause.is_zero() {
            self.paused
                .fetch_add(pause.as_millis() as u64, Ordering::Relaxed);
            tokio::time::sleep(pause).await;
        }
    }

    /// Milliseconds background work has spent giving way, in all.
    pub fn paused_ms(&self) -> u64 {
        self.paused.load(Ordering::Relaxed)
    }
}

/// Paces a run of background steps: [`Pacer::step_done`] after each one
/// gives way for the time since the previous call. An unpaced run
/// ([`Pacer::off`]) never waits (an explicit drain).
pub struct Pacer<'a> {
    foreground: Option<&'a Foreground>,
    since: Instant,
}

impl<'a> Pacer<'a> {
    pub fn new(foreground: &'a Foreground) -> Self {
        Self {
            foreground: Some(foreground),
            since: Instant::now(),
        }
    }

    pub fn off() -> Self {
        Self {
            foreground: None,
            since: Instant::now(),
        }
    }

    /// Requests are being served and this run gives way to them.
    pub fn busy(&self) -> bool {
        self.foreground.is_some_and(Foreground::busy)
    }

    pub async fn step_done(&mut self) {
        if let Some(foreground) = self.foreground {
            foreground.give_way(self.since.elapsed()).await;
        }
        self.since = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_while_requests_run_and_briefly_after() {
        let foreground = Arc::new(Foreground::new(0.1));
        assert!(!foreground.busy(), "nothing served yet");
        assert_eq!(
            foreground.pause_for(Duration::from_millis(10)),
            Duration::ZERO
        );
        let active = foreground.enter();
        assert!(foreground.busy());
        assert_eq!(
            foreground.pause_for(Duration::from_millis(10)),
            Duration::from_millis(90),
            "10 ms of work at a 10% share owes 90 ms"
        );
        assert_eq!(foreground.pause_for(Duration::from_secs(60)), MAX_PAUSE);
        drop(active);
        assert!(foreground.busy(), "a gap between requests is still busy");
        std::thread::sleep(QUIET + Duration::from_millis(50));
        assert!(!foreground.busy(), "quiet: background work runs flat out");
    }

    #[test]
    fn a_full_share_never_pauses() {
        let foreground = Arc::new(Foreground::new(1.0));
        let _active = foreground.enter();
        assert_eq!(foreground.pause_for(Duration::from_secs(1)), Duration::ZERO);
    }
}
