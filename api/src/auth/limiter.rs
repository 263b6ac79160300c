//! Failed attempts per bucket (a client address, a username, a key id):
//! after its limit within `window`, a bucket is refused until the window
//! that began with its first attempt has passed.
//!
//! An attempt is counted when it starts, before its secret is checked, so
//! parallel attempts cannot all pass the check before any is recorded; a
//! success forgets the bucket. The table holds at most [`MAX_BUCKETS`]
//! entries, dropping the oldest when full.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most buckets remembered at once (about 100 bytes each).
pub const MAX_BUCKETS: usize = 100_000;

pub struct LoginLimiter {
    window: Duration,
    buckets: Mutex<HashMap<String, (Instant, u32)>>,
}

impl LoginLimiter {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Count one attempt against every `(bucket, limit)`, or
    /// `Err(seconds to wait)` (and count nothing) while any of them is
    /// locked out.
    pub fn attempt(&self, buckets: &[(&str, u32)]) -> Result<(), u64> {
        let mut table = self.buckets.lock().expect("limiter lock");
        let now = Instant::now();
        table.retain(|_, (since, _)| now.duration_since(*since) < self.window);
        let locked = buckets
            .iter()
            .filter_map(|(bucket, limit)| match table.get(*bucket) {
                Some((since, attempts)) if attempts >= limit => Some(
                    self.window
                        .saturating_sub(now.duration_since(*since))
                        .as_secs()
                        .max(1),
                ),
                _ => None,
            })
            .max();
        if let Some(wait) = locked {
            return Err(wait);
        }
        for (bucket, _) in buckets {
            if !table.contains_key(*bucket) && table.len() >= MAX_BUCKETS {
                let oldest = table
                    .iter()
                    .min_by_key(|(_, (since, _))| *since)
                    .map(|(key, _)| key.clone());
                if let Some(oldest) = oldest {
                    table.remove(&oldest);
                }
            }
            table.entry(bucket.to_string()).or_insert((now, 0)).1 += 1;
        }
        Ok(())
    }

    /// The attempt succeeded: its buckets start afresh.
    pub fn succeeded(&self, buckets: &[&str]) {
        let mut table = self.buckets.lock().expect("limiter lock");
        for bucket in buckets {
            table.remove(*bucket);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_out_after_the_limit_per_bucket_until_the_window_passes() {
        let limiter = LoginLimiter::new(Duration::from_millis(200));
        for _ in 0..3 {
            assert!(limiter.attempt(&[("a", 3), ("user", 4)]).is_ok());
        }
        assert!(limiter.attempt(&[("a", 3)]).is_err());
        assert!(limiter.attempt(&[("b", 3), ("user", 4)]).is_ok());
        assert!(
            limiter.attempt(&[("c", 3), ("user", 4)]).is_err(),
            "the user's own limit"
        );
        assert!(limiter.attempt(&[("c", 3)]).is_ok(), "per bucket");
        std::thread::sleep(Duration::from_millis(250));
        assert!(limiter.attempt(&[("a", 3)]).is_ok(), "the window passed");
    }

    #[test]
    fn attempts_count_before_they_finish_and_a_success_forgets_them() {
        let limiter = LoginLimiter::new(Duration::from_secs(60));
        let passed = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..100)
                .map(|_| scope.spawn(|| limiter.attempt(&[("a", 5)]).is_ok()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .filter(|ok| *ok)
                .count()
        });
        assert_eq!(passed, 5, "only the limit's attempts start");
        limiter.succeeded(&["a"]);
        assert!(limiter.attempt(&[("a", 5)]).is_ok());
    }

    #[test]
    fn the_table_stays_bounded() {
        let limiter = LoginLimiter::new(Duration::from_secs(60));
        for i in 0..MAX_BUCKETS + 10 {
            limiter.attempt(&[(&i.to_string(), 1)]).unwrap();
        }
        assert_eq!(limiter.buckets.lock().unwrap().len(), MAX_BUCKETS);
    }
}
