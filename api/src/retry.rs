//! Bounded retries with exponential backoff, for transient backend errors
//! (a connection being re-established, a transaction that lost a race).
//! Callers bound the whole loop by their backend timeout, so retries never
//! turn an outage into a hang.

use std::future::Future;
use std::time::Duration;

/// Background work in rounds until the task is dropped: after an idle round
/// (`round` returned `Ok(false)`) wait for `wake` or `idle_poll`; after a
/// failed one, log it and back off from `first` up to `max`. The caller's
/// durable queue keeps the work, so a failure loses nothing.
pub async fn rounds<F, Fut>(
    what: &str,
    wake: &tokio::sync::Notify,
    idle_poll: Duration,
    (first, max): (Duration, Duration),
    mut round: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = crate::error::Result<bool>>,
{
    let mut failures = 0u32;
    loop {
        match round().await {
            Ok(false) => {
                failures = 0;
                let _ = tokio::time::timeout(idle_poll, wake.notified()).await;
            }
            Ok(true) => failures = 0,
            Err(error) => {
                failures += 1;
                let wait = backoff(failures, first, max);
                tracing::error!(%error, ?wait, "{what} round failed; retrying");
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// Run `round` until a round does nothing and `backlog` is empty (tests,
/// benchmarks, tools): a queue's work done, including entries another
/// worker held (waited for).
pub async fn drain<R, RFut, B, BFut>(mut round: R, mut backlog: B) -> crate::error::Result<()>
where
    R: FnMut() -> RFut,
    RFut: Future<Output = crate::error::Result<usize>>,
    B: FnMut() -> BFut,
    BFut: Future<Output = crate::error::Result<u64>>,
{
    loop {
        if round().await? == 0 {
            if backlog().await? == 0 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The wait before retry number `attempt` (1-based): `first`, doubling each
/// time, never more than `max`.
pub fn backoff(attempt: u32, first: Duration, max: Duration) -> Duration {
    first
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(max)
}

/// Run `op`; while it fails and `retry_after(error, attempt)` gives a delay,
/// wait that long and run it again. `attempt` counts failures so far (1 for
/// the first), so the policy decides both what is transient and how often.
pub async fn with_retries<T, E, F, Fut>(
    mut op: F,
    mut retry_after: impl FnMut(&E, u32) -> Option<Duration>,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut failures = 0;
    loop {
        match op().await {
            Ok(value) => return Ok(value),
            Err(error) => {
                failures += 1;
                match retry_after(&error, failures) {
                    Some(delay) => {
                        tracing::debug!(
                            attempt = failures,
                            ?delay,
                            "transient backend error, retrying"
                        );
                        tokio::time::sleep(delay).await;
                    }
                    None => return Err(error),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let ms = Duration::from_millis;
        let delays: Vec<_> = (1..=6).map(|n| backoff(n, ms(50), ms(500))).collect();
        assert_eq!(
            delays,
            [ms(50), ms(100), ms(200), ms(400), ms(500), ms(500)]
        );
        assert_eq!(backoff(u32::MAX, ms(50), ms(500)), ms(500));
    }

    #[tokio::test]
    async fn retries_transient_errors_until_the_policy_stops() {
        let calls = AtomicU32::new(0);
        let result: Result<(), &str> = with_retries(
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err("down")
            },
            |_, n| (n < 3).then(|| Duration::from_millis(1)),
        )
        .await;
        assert_eq!(result, Err("down"));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn stops_at_the_first_success_or_permanent_error() {
        let calls = AtomicU32::new(0);
        let result = with_retries(
            || async {
                match calls.fetch_add(1, Ordering::SeqCst) {
                    0 => Err("transient"),
                    n => Ok(n),
                }
            },
            |e, _| (*e == "transient").then(|| Duration::from_millis(1)),
        )
        .await;
        assert_eq!(result, Ok(1));

        let calls = AtomicU32::new(0);
        let result: Result<(), &str> = with_retries(
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err("permanent")
            },
            |e, _| (*e == "transient").then(|| Duration::from_millis(1)),
        )
        .await;
        assert_eq!(result, Err("permanent"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
