//! Failed attempts per bucket (a client address, a username, a key id):
//! after its limit within `window`, a bucket is refused until the window
//! that began with its first attempt has passed.
//!
//! An attempt is counted when it starts, before its secret is checked, so
//! parallel attempts cannot all pass the check before any is recorded; a
//! success forgets the bucket. The table holds at most [`MAX_BUCKETS`]
//! entries, dropping the oldest when full. Every operation is O(log n):
//! buckets are also kept ordered by when they opened, so expiry and
//! eviction take from the front instead of scanning the table, and a
//! spray of distinct usernames costs each attempt the same.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most buckets remembered at once (about 150 bytes each).
pub const MAX_BUCKETS: usize = 100_000;

pub struct LoginLimiter {
    window: Duration,
    table: Mutex<Table>,
}

struct Bucket {
    opened: Instant,
    seq: u64,
    attempts: u32,
}

/// Buckets by name, and the same buckets by `(opened, seq)`, oldest first.
#[derive(Default)]
struct Table {
    by_name: HashMap<String, Bucket>,
    by_age: BTreeMap<(Instant, u64), String>,
    next_seq: u64,
}

impl Table {
    fn len(&self) -> usize {
        self.by_name.len()
    }

    fn remove(&mut self, name: &str) {
        if let Some(bucket) = self.by_name.remove(name) {
            self.by_age.remove(&(bucket.opened, bucket.seq));
        }
    }

    fn pop_oldest(&mut self) {
        if let Some((_, name)) = self.by_age.pop_first() {
            self.by_name.remove(&name);
        }
    }

    /// Forget every bucket whose window has passed.
    fn expire(&mut self, now: Instant, window: Duration) {
        while let Some((&(opened, _), _)) = self.by_age.first_key_value() {
            if now.duration_since(opened) < window {
                break;
            }
            self.pop_oldest();
        }
    }

    /// Count one attempt, opening the bucket (and evicting the oldest one
    /// when the table is full) if it is new.
    fn count(&mut self, name: &str, now: Instant) {
        if let Some(bucket) = self.by_name.get_mut(name) {
            bucket.attempts += 1;
            return;
        }
        if self.len() >= MAX_BUCKETS {
            self.pop_oldest();
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.by_age.insert((now, seq), name.to_string());
        self.by_name.insert(
            name.to_string(),
            Bucket {
                opened: now,
                seq,
                attempts: 1,
            },
        );
    }
}

impl LoginLimiter {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            table: Mutex::new(Table::default()),
        }
    }

    /// Count one attempt against every `(bucket, limit)`, or
    /// `Err(seconds to wait)` (and count nothing) while any of them is
    /// locked out.
    pub fn attempt(&self, buckets: &[(&str, u32)]) -> Result<(), u64> {
        let mut table = self.table.lock().expect("limiter lock");
        let now = Instant::now();
        table.expire(now, self.window);
        let locked = buckets
            .iter()
            .filter_map(|(name, limit)| match table.by_name.get(*name) {
                Some(bucket) if bucket.attempts >= *limit => Some(
                    self.window
                        .saturating_sub(now.duration_since(bucket.opened))
                        .as_secs()
                        .max(1),
                ),
                _ => None,
            })
            .max();
        if let Some(wait) = locked {
            return Err(wait);
        }
        for (name, _) in buckets {
            table.count(name, now);
        }
        Ok(())
    }

    /// The attempt succeeded: its buckets start afresh.
    pub fn succeeded(&self, buckets: &[&str]) {
        let mut table = self.table.lock().expect("limiter lock");
        for name in buckets {
            table.remove(name);
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
    fn the_table_stays_bounded_and_drops_the_oldest() {
        // An hour's window: nothing expires while the test runs, however
        // slow the machine, so only eviction can shrink the table.
        let limiter = LoginLimiter::new(Duration::from_secs(3600));
        for i in 0..MAX_BUCKETS + 10 {
            limiter.attempt(&[(&i.to_string(), 1)]).unwrap();
        }
        let table = limiter.table.lock().unwrap();
        assert_eq!(table.len(), MAX_BUCKETS);
        assert_eq!(table.by_age.len(), MAX_BUCKETS, "both indexes agree");
        assert!(!table.by_name.contains_key("9"), "the oldest went first");
        assert!(table.by_name.contains_key("10"));
        assert!(table.by_name.contains_key(&(MAX_BUCKETS + 9).to_string()));
    }

    #[test]
    fn a_forgotten_bucket_leaves_no_trace_in_the_age_order() {
        let limiter = LoginLimiter::new(Duration::from_secs(3600));
        limiter.attempt(&[("a", 1), ("b", 1)]).unwrap();
        limiter.succeeded(&["a"]);
        let table = limiter.table.lock().unwrap();
        assert_eq!(table.len(), 1);
        assert_eq!(table.by_age.values().collect::<Vec<_>>(), ["b"]);
    }
}
