//! argon2id checks behind one process-wide gate: at most `permits` run at
//! once (each takes tens of milliseconds of a core and 19 MiB), at most
//! `queue` more wait, each no longer than `wait`; past that the caller is
//! told to come back (503 with `Retry-After`). Sign-in floods therefore
//! cost a bounded share of CPU and memory, whatever their concurrency.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;

/// The gate is full: retry after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy(pub u64);

pub struct HashGate {
    permits: Semaphore,
    waiting: AtomicUsize,
    queue: usize,
    wait: Duration,
}

impl HashGate {
    pub fn new(permits: usize, queue: usize, wait: Duration) -> Self {
        Self {
            permits: Semaphore::new(permits.max(1)),
            waiting: AtomicUsize::new(0),
            queue,
            wait,
        }
    }

    /// Half the cores (at least one) run checks; a short queue waits.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new((cores / 2).max(1), 16, Duration::from_secs(2))
    }

    /// Whether `secret` matches the PHC string `phc`.
    pub async fn verify(&self, secret: String, phc: String) -> Result<bool, Busy> {
        self.run(move || super::secret::verify(&secret, &phc))
            .await
            .map(|ok| ok.unwrap_or(false))
    }

    /// A PHC string for `secret`.
    pub async fn hash(&self, secret: String) -> Result<String, Busy> {
        self.run(move || super::secret::hash(&secret))
            .await?
            .ok_or(Busy(1))
    }

    /// `work` on a blocking thread once a permit is free; `None` if it
    /// panicked.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<Option<T>, Busy> {
        let retry = self.wait.as_secs().max(1);
        let permit = match self.permits.try_acquire() {
            Ok(permit) => permit,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue {
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                    return Err(Busy(retry));
                }
                let acquired = tokio::time::timeout(self.wait, self.permits.acquire()).await;
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                match acquired {
                    Ok(Ok(permit)) => permit,
                    _ => return Err(Busy(retry)),
                }
            }
        };
        let result = tokio::task::spawn_blocking(work).await.ok();
        drop(permit);
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn at_most_permits_run_and_a_full_queue_is_refused() {
        let gate = Arc::new(HashGate::new(1, 2, Duration::from_secs(5)));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (gate, running, peak) = (gate.clone(), running.clone(), peak.clone());
                tokio::spawn(async move {
                    gate.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(100));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        let mut refused = 0;
        for task in tasks {
            if task.await.unwrap().is_err() {
                refused += 1;
            }
        }
        assert_eq!(peak.load(Ordering::SeqCst), 1, "one permit");
        assert_eq!(refused, 7, "one runs, two wait, the rest are refused");
    }
}
