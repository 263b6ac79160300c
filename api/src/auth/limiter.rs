//! Failed sign-ins per client: after `max_failures` within `window`, the
//! client is refused (even with the right password) until the window that
//! began with its first failure has passed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct LoginLimiter {
    max_failures: u32,
    window: Duration,
    clients: Mutex<HashMap<String, (Instant, u32)>>,
}

impl LoginLimiter {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures,
            window,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds to wait)` while the client is locked out.
    pub fn check(&self, client: &str) -> Result<(), u64> {
        let mut clients = self.clients.lock().expect("limiter lock");
        let now = Instant::now();
        clients.retain(|_, (since, _)| now.duration_since(*since) < self.window);
        match clients.get(client) {
            Some((since, failures)) if *failures >= self.max_failures => {
                let left = self.window.saturating_sub(now.duration_since(*since));
                Err(left.as_secs().max(1))
            }
            _ => Ok(()),
        }
    }

    pub fn failed(&self, client: &str) {
        let mut clients = self.clients.lock().expect("limiter lock");
        let entry = clients
            .entry(client.to_string())
            .or_insert((Instant::now(), 0));
        entry.1 += 1;
    }

    pub fn succeeded(&self, client: &str) {
        self.clients.lock().expect("limiter lock").remove(client);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_out_after_the_limit_per_client_until_the_window_passes() {
        let limiter = LoginLimiter::new(3, Duration::from_millis(200));
        for _ in 0..3 {
            assert!(limiter.check("a").is_ok());
            limiter.failed("a");
        }
        assert!(limiter.check("a").is_err());
        assert!(limiter.check("b").is_ok(), "per client");
        std::thread::sleep(Duration::from_millis(250));
        assert!(limiter.check("a").is_ok(), "the window passed");
    }
}
