//! Background loops and how they stop.
//!
//! Most loops run as tasks on the request runtime. Loops that hold the CPU
//! for long stretches between awaits (an OTLP round runs one large
//! SurrealDB transaction in the embedded engine) get threads of their own:
//! on the request runtime they would occupy its worker threads, and a
//! request arriving meanwhile would wait for a round to end before it is
//! even polled. On a thread of its own the loop is scheduled by the OS
//! beside the runtime's threads, one step below them (`nice`), so a
//! request preempts it instead of queueing behind it.

use std::future::Future;

use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// The nice value of a background thread: the OS gives it about a third
/// of a contended core's share against a request thread (weights 335 to
/// 1024). Not lower: the loop takes store locks a request may wait for.
const BACKGROUND_NICE: i32 = 5;

/// Running background loops. Dropping this leaves them running (Lambda
/// keeps them for the function's life); [`Workers::stop`] ends them.
#[derive(Default)]
pub struct Workers {
    tasks: Vec<JoinHandle<()>>,
    threads: Vec<oneshot::Receiver<()>>,
    stop: Option<watch::Sender<bool>>,
}

impl Workers {
    /// Run `work` as a task on the current runtime.
    pub fn task<F>(&mut self, work: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tasks.push(tokio::spawn(work));
    }

    /// Run the future `make` returns on a thread named `name` with a
    /// single-threaded runtime of its own, below request threads in the
    /// OS scheduler.
    pub fn thread<F, Fut>(&mut self, name: &str, make: F) -> std::io::Result<()>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let mut stopped = self
            .stop
            .get_or_insert_with(|| watch::channel(false).0)
            .subscribe();
        let (done, finished) = oneshot::channel();
        std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                lower_this_threads_priority(BACKGROUND_NICE);
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        tracing::error!(%error, "no runtime for a background thread");
                        return;
                    }
                };
                runtime.block_on(async move {
                    // Stops when told to; a dropped `Workers` (sender gone)
                    // leaves the loop running.
                    let told = async {
                        if stopped.wait_for(|stop| *stop).await.is_err() {
                            std::future::pending::<()>().await;
                        }
                    };
                    tokio::select! {
                        () = make() => {}
                        () = told => {}
                    }
                });
                // The loop's state (and what it holds of the stores) is
                // gone before `stop` returns.
                drop(runtime);
                let _ = done.send(());
            })?;
        self.threads.push(finished);
        Ok(())
    }

    /// End every loop and wait until each has let go of what it held
    /// (Qdrant Edge flushes its shards when the last holder drops them).
    /// Work in progress stays in its durable queue for the next start.
    pub async fn stop(mut self) {
        for task in &self.tasks {
            task.abort();
        }
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        for thread in self.threads.drain(..) {
            let _ = thread.await;
        }
    }
}

/// Linux keeps a nice value per thread: `setpriority` on this thread's id
/// lowers this thread alone, by `by` from where the process runs. Failure
/// (a sandbox refusing it) is logged and the loop runs at normal priority.
#[allow(unsafe_code)]
fn lower_this_threads_priority(by: i32) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on this thread's own id; no memory
        // is passed. `getpriority` returns the nice value itself (which
        // may be -1), so errors are told apart by errno.
        let result = unsafe {
            let tid = libc::gettid() as libc::id_t;
            *libc::__errno_location() = 0;
            let current = libc::getpriority(libc::PRIO_PROCESS, tid);
            if current == -1 && *libc::__errno_location() != 0 {
                -1
            } else {
                libc::setpriority(libc::PRIO_PROCESS, tid, (current + by).min(19))
            }
        };
        if result != 0 {
            tracing::warn!(
                error = %std::io::Error::last_os_error(),
                "could not lower a background thread's priority"
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = by;
}

// Nice values are per thread on Linux only.
#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    /// A loop that counts its turns and records its thread's nice value.
    async fn counting(turns: Arc<AtomicU64>, nice: Arc<AtomicU64>) {
        nice.store(this_threads_nice() as u64, Ordering::SeqCst);
        loop {
            turns.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn this_threads_nice() -> i64 {
        // Field 19 of /proc/thread-self/stat, counted after the command
        // name's closing parenthesis (the name may hold spaces).
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        after.split(' ').nth(16).unwrap().parse().unwrap()
    }

    #[tokio::test]
    async fn a_thread_loop_runs_below_requests_and_ends_when_stopped() {
        let (turns, nice) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(99)));
        let base = this_threads_nice();
        let mut workers = Workers::default();
        let (t, n) = (turns.clone(), nice.clone());
        workers.thread("test-loop", move || counting(t, n)).unwrap();
        let task_turns = Arc::new(AtomicU64::new(0));
        workers.task(counting(task_turns.clone(), Arc::new(AtomicU64::new(0))));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            turns.load(Ordering::SeqCst) > 0,
            "the thread loop never ran"
        );
        assert!(task_turns.load(Ordering::SeqCst) > 0, "the task never ran");
        assert_eq!(
            nice.load(Ordering::SeqCst) as i64,
            (base + BACKGROUND_NICE as i64).min(19)
        );
        // The request runtime's own threads keep their priority.
        assert_eq!(this_threads_nice(), base);
        tokio::time::timeout(Duration::from_secs(5), workers.stop())
            .await
            .expect("stop waits for the loops, which end");
        let (after_thread, after_task) = (
            turns.load(Ordering::SeqCst),
            task_turns.load(Ordering::SeqCst),
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(turns.load(Ordering::SeqCst), after_thread);
        assert_eq!(task_turns.load(Ordering::SeqCst), after_task);
    }

    #[tokio::test]
    async fn dropped_workers_leave_their_loops_running() {
        let turns = Arc::new(AtomicU64::new(0));
        let mut workers = Workers::default();
        let t = turns.clone();
        workers
            .thread("test-loop", move || {
                counting(t, Arc::new(AtomicU64::new(0)))
            })
            .unwrap();
        drop(workers);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let before = turns.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(turns.load(Ordering::SeqCst) > before, "the loop stopped");
    }
}
