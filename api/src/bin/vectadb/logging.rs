//! What the binary logs: to stderr (stdout carries command output:
//! provision, repair), our own info and the storage engines' warnings by
//! default (`RUST_LOG` overrides), less two kinds of start and stop noise
//! that say nothing is wrong.

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata};
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

/// Our own info, the storage engines' warnings. qdrant_edge warns at start
/// that its feature flags and its multi-mmap check were not initialised:
/// both live in a module it keeps private, so its defaults (the ones
/// Qdrant Edge is tested with) apply, and those two notices are dropped.
const DEFAULT_LOG_FILTER: &str = "info,surrealdb=warn,surrealkv=warn,qdrant_edge=warn,\
     qdrant_edge::common::flags=error,qdrant_edge::common::mmap=error";

/// Install the subscriber (once, at start).
pub fn init() {
    let levels = EnvFilter::try_from_default_env().unwrap_or_else(|_| DEFAULT_LOG_FILTER.into());
    let output = fmt::layer()
        .with_writer(std::io::stderr)
        // Colours only on a terminal (not in files, journald, CI logs).
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter(levels)
        .with_filter(NoCloseNotice);
    tracing_subscriber::registry().with(output).init();
}

/// The target and message of the notice [`NoCloseNotice`] drops.
const CLOSE_NOTICE: (&str, &str) = (
    "surrealkv::lsm",
    "No runtime available for closing the store correctly",
);

/// Drops surrealkv's notice that it could not close the store, which every
/// clean stop of the embedded engine prints: each copy of its tree handle
/// tries to close the store when dropped, and SurrealDB's own shutdown
/// drops one on its write-ahead-log flusher thread, which runs outside any
/// async runtime, right before it flushes and closes the store itself.
/// Its other warnings (files it failed to clean up) still show.
struct NoCloseNotice;

impl<S> Filter<S> for NoCloseNotice {
    fn enabled(&self, _: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        true
    }

    fn event_enabled(&self, event: &Event<'_>, _: &Context<'_, S>) -> bool {
        // surrealkv logs through the `log` crate: its records arrive with
        // the target "log" and their own target in the `log.target` field.
        let target = event.metadata().target();
        if *event.metadata().level() != Level::WARN || !matches!(target, "log" | "surrealkv::lsm") {
            return true;
        }
        let mut notice = Notice::default();
        event.record(&mut notice);
        !(notice.message && (notice.target || target == CLOSE_NOTICE.0))
    }
}

/// Whether an event's target and message are the close notice's.
#[derive(Default)]
struct Notice {
    target: bool,
    message: bool,
}

impl Visit for Notice {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "log.target" => self.target = value == CLOSE_NOTICE.0,
            "message" => self.message = value == CLOSE_NOTICE.1,
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}
