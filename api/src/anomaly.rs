//! The anomaly score of a log, in [0, 1]: how unusual it is for its agent.
//!
//! Two signals, combined as independent evidence (`1 − (1 − n)(1 − w)`, so
//! either one alone can raise the score and both together raise it most):
//! - **novelty** `n = 1 − s`, where `s` is the highest cosine similarity
//!   between the log's embedding and those of the same agent's logs from
//!   the [`WINDOW`] before it (a log saying what the agent has said before
//!   scores near 0; a message unlike anything recent scores near 1). With
//!   no earlier log to compare with, `n = 0`: there is no basis to call it
//!   novel, and an agent's first log is not an alarm.
//!
//!   For trace, debug and info logs novelty counts in proportion to the
//!   agent's history `h` (its logs embedded in the window before this
//!   one): not at all under [`HISTORY_FROM`] logs, fully from
//!   [`HISTORY_FULL`], linearly between. A new agent is still showing its
//!   repertoire, and its first info messages are each new without being
//!   alarming (measured on the benchmark's generator: ordinary messages
//!   reach novelty 0.8–1.0 among an agent's first 50 logs). Warnings and
//!   worse count their novelty at once: a new kind of warning is news
//!   even from a new agent.
//! - **severity** `w` by level: trace/debug 0, info 0.05, warn 0.35, error
//!   0.65, critical 0.85 — an error is notable even when it repeats, but a
//!   new kind of error scores above a known one.
//!
//! Scores are computed by the indexer once a log is embedded (logs that
//! `EMBED_LOGS` leaves out have none) and listed, highest first, by
//! `GET /api/v1/anomalies`.

use crate::domain::LogLevel;

/// How far back "recent" logs reach.
pub const WINDOW: chrono::Duration = chrono::Duration::hours(24);
/// Below this many earlier logs, an info log's novelty does not count.
pub const HISTORY_FROM: u64 = 10;
/// From this many earlier logs on, an info log's novelty counts fully.
pub const HISTORY_FULL: u64 = 200;

/// How much of a log's novelty counts, given `history` earlier logs of its
/// agent in the window.
pub fn novelty_weight(level: LogLevel, history: u64) -> f32 {
    if level >= LogLevel::Warn {
        return 1.0;
    }
    let over = history.saturating_sub(HISTORY_FROM) as f32;
    (over / (HISTORY_FULL - HISTORY_FROM) as f32).min(1.0)
}

pub fn severity(level: LogLevel) -> f32 {
    match level {
        LogLevel::Trace | LogLevel::Debug => 0.0,
        LogLevel::Info => 0.05,
        LogLevel::Warn => 0.35,
        LogLevel::Error => 0.65,
        LogLevel::Critical => 0.85,
    }
}

/// The score of a log of `level` whose nearest recent log of the same
/// agent has similarity `nearest` (`None`: no recent log), with `history`
/// earlier logs of that agent in the window.
pub fn score(level: LogLevel, nearest: Option<f32>, history: u64) -> f32 {
    let novelty =
        nearest.map_or(0.0, |s| (1.0 - s).clamp(0.0, 1.0)) * novelty_weight(level, history);
    let score = 1.0 - (1.0 - novelty) * (1.0 - severity(level));
    // Three decimals: stable in JSON, plenty for ranking.
    (score.clamp(0.0, 1.0) * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An agent with a long history.
    const LONG: u64 = 10_000;

    #[test]
    fn novelty_and_severity_both_raise_the_score() {
        let routine = score(LogLevel::Info, Some(0.9), LONG);
        let novel = score(LogLevel::Info, Some(0.15), LONG);
        let known_error = score(LogLevel::Error, Some(0.95), LONG);
        let novel_error = score(LogLevel::Error, Some(0.15), LONG);
        assert!(routine < 0.2, "{routine}");
        assert!(novel > 0.8, "{novel}");
        assert!(known_error > routine && known_error < novel_error);
        assert!(novel_error > novel);
        assert_eq!(
            score(LogLevel::Debug, None, 0),
            0.0,
            "no history, no novelty"
        );
        assert_eq!(score(LogLevel::Critical, None, 0), 0.85);
        assert_eq!(score(LogLevel::Info, Some(-0.2), LONG), 1.0, "clamped");
        assert_eq!(score(LogLevel::Info, Some(1.0), LONG), 0.05);
    }

    #[test]
    fn a_short_history_shrinks_only_routine_levels_novelty() {
        // A message unlike anything before, from a new agent.
        for history in 0..50 {
            let info = score(LogLevel::Info, Some(0.0), history);
            assert!(info < 0.3, "info after {history} logs: {info}");
        }
        assert_eq!(score(LogLevel::Info, Some(0.0), HISTORY_FROM), 0.05);
        assert_eq!(score(LogLevel::Info, Some(0.0), HISTORY_FULL), 1.0);
        assert!(score(LogLevel::Info, Some(0.0), 100) < score(LogLevel::Info, Some(0.0), 150));
        // A new kind of warning counts at once.
        assert_eq!(
            score(LogLevel::Warn, Some(0.2), 0),
            score(LogLevel::Warn, Some(0.2), LONG)
        );
        assert!(score(LogLevel::Warn, Some(0.2), 3) > 0.8);
    }
}
