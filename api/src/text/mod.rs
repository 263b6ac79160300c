//! Full-text search over log messages and thought contents.
//!
//! - `tokens`: how text becomes tokens, the same for what is stored and
//!   for queries: compatibility-folded, accents removed, lower case; runs of
//!   Chinese, Japanese, Korean and Thai letters become overlapping bigrams
//!   (those scripts do not separate words by spaces).
//! - `query`: a query's words, `"phrases"` and `prefixes*`, and the terms
//!   that select candidate documents from the store's full-text index.
//! - `rank`: which documents match a query exactly and their BM25 scores.
//! - `fuse`: reciprocal rank fusion of text and semantic results (hybrid).
//! - `indexer`: the background worker that writes the index documents.
//!
//! The store keeps one index document per log block and per thought
//! ([`index_terms`]): its distinct tokens and their prefixes. That index
//! only selects candidates; matching and ranking happen here, on the text.

mod fuse;
pub mod indexer;
mod query;
mod rank;
mod tokens;

pub use fuse::{fuse, RRF_K};
pub use query::{Clause, QueryError, TextQuery, MAX_QUERY_CHARS};
pub use rank::{rank, Ranked};
pub use tokens::{index_terms, tokens};

use chrono::{DateTime, Utc};

use crate::domain::LogLevel;

/// What a text search is limited to (all that are set); for thoughts,
/// `levels` is unused and `kind` applies; for logs, the reverse.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextFilter {
    pub agent_id: Option<String>,
    pub task_id: Option<String>,
    /// Any of these levels.
    pub levels: Option<Vec<LogLevel>>,
    pub kind: Option<String>,
    /// Inclusive.
    pub since: Option<DateTime<Utc>>,
    /// Exclusive.
    pub until: Option<DateTime<Utc>>,
}

/// Documents of one kind found by text, best first, with their BM25 score.
pub type Found<T> = Vec<(T, f32)>;
