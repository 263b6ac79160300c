//! Giving freed heap memory back to the operating system.
//!
//! glibc's allocator keeps the pages of freed blocks inside its arenas (one
//! per thread that allocated, up to eight per core) instead of returning
//! them. Start-up frees about 70 MB of temporaries (ONNX Runtime's graph
//! optimisation, the store's recovery) and bursts of requests or indexing
//! leave more behind: all of it stays resident though nothing uses it.
//! [`release_free_memory`] hands those pages back (`malloc_trim`);
//! [`Reclaimer`] calls it after start-up and then whenever the server has
//! been quiet for a while, so idle memory is what is really in use.
//!
//! Other allocators (musl, macOS) return memory by themselves; there this
//! is a no-op.

use std::sync::Arc;
use std::time::Duration;

use crate::foreground::Foreground;

/// How often the reclaimer looks for a quiet moment.
pub const RECLAIM_EVERY: Duration = Duration::from_secs(15);

/// Return the allocator's free pages to the operating system. Returns
/// whether any were returned. Takes a few milliseconds on a large heap
/// (it walks every arena's free lists), so callers pick quiet moments.
pub fn release_free_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        #[allow(unsafe_code)]
        // SAFETY: malloc_trim only reorganises the allocator's own free
        // lists under its locks; it has no preconditions.
        unsafe {
            libc::malloc_trim(0) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

/// This process's resident memory in bytes, where the platform has it.
pub fn resident_bytes() -> Option<u64> {
    resident_bytes_of("self")
}

/// The resident memory of process `pid` (a number, or `self`) in bytes:
/// `VmRSS` in `/proc/<pid>/status`, which is in kB whatever the page size.
/// `None` where there is no `/proc` or once the process has exited.
pub fn resident_bytes_of(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// Releases free memory at start-up and then every [`RECLAIM_EVERY`] in
/// which no request is being served.
#[derive(Debug, Clone)]
pub struct Reclaimer {
    foreground: Arc<Foreground>,
}

impl Reclaimer {
    pub fn new(foreground: Arc<Foreground>) -> Self {
        Self { foreground }
    }

    /// Release once, logging what it gave back.
    pub fn reclaim(&self) {
        let before = resident_bytes();
        let released = release_free_memory();
        if let (true, Some(before), Some(after)) = (released, before, resident_bytes()) {
            tracing::debug!(
                before_mb = before / (1 << 20),
                after_mb = after / (1 << 20),
                "free memory returned to the operating system"
            );
        }
    }

    /// Runs until the task is dropped. The first tick comes at once, so
    /// start-up's temporaries are returned first.
    pub async fn run(self) {
        let mut tick = tokio::time::interval(RECLAIM_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if !self.foreground.busy() {
                let reclaimer = self.clone();
                // Off the async workers: a trim of a large heap holds the
                // allocator's locks for a few milliseconds.
                let _ = tokio::task::spawn_blocking(move || reclaimer.reclaim()).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_memory_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let bytes = resident_bytes().expect("statm");
            assert!(bytes > 1 << 20, "{bytes}");
        }
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn freed_memory_is_returned() {
        // Mid-sized blocks (below the mmap threshold, so they live in an
        // arena), each followed by a small one that stays: freeing the large
        // ones leaves holes that free() cannot give back by shrinking the
        // heap, so their pages stay resident until the trim.
        let mut large = Vec::new();
        let mut kept = Vec::new();
        for _ in 0..2_000 {
            large.push(vec![1u8; 64 * 1024]);
            kept.push(vec![1u8; 64]);
        }
        let full = resident_bytes().unwrap();
        drop(large);
        assert!(release_free_memory());
        let trimmed = resident_bytes().unwrap();
        assert!(
            trimmed + (60 << 20) < full,
            "resident {full} before, {trimmed} after"
        );
        assert_eq!(kept.len(), 2_000);
    }
}
