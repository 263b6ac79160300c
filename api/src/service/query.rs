//! What a similarity search asks: the request as sent (`POST
//! /similar/{agents,tasks,logs,thoughts}`, JSON-RPC's `similar`), each kind
//! with its filters, and the checked [`SimilarQuery`] it becomes. Every
//! rule about a search's fields is here; only the largest `limit` is the
//! service's (a setting).

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::domain::{validate, LogLevel, TaskStatus, ValidationError};
use crate::text::TextQuery;
use crate::vectors::VectorFilter;

/// A checked similarity query: made only from a request
/// ([`TryFrom`] each kind's), so every field holds what the search needs.
#[derive(Debug, Clone, PartialEq)]
pub struct SimilarQuery {
    pub query: String,
    /// Given and within -1..=1 (else the service's default).
    pub threshold: Option<f32>,
    /// As given; the service checks it against its largest.
    pub limit: Option<usize>,
    /// Owners checked, a time range not inverted.
    pub filter: VectorFilter,
    /// How logs and thoughts are searched (agents and tasks: by meaning).
    pub mode: SearchMode,
    /// The words, phrases and prefixes of a text or hybrid search.
    pub text: Option<TextQuery>,
}

/// How a log or thought search finds its results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchMode {
    /// By meaning (vectors); `similarity` is the cosine similarity.
    #[default]
    Semantic,
    /// By words, phrases and prefixes (full-text, BM25); `similarity` is
    /// the BM25 score.
    Text,
    /// Both, fused by reciprocal rank; `similarity` is the fused score.
    Hybrid,
}

/// Body of every `POST /similar/...`: the query, threshold and limit, and
/// filters of that kind of document.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimilarRequest<F> {
    pub query: String,
    /// Least similarity (semantic and hybrid modes: the semantic side).
    pub threshold: Option<f32>,
    pub limit: Option<usize>,
    #[serde(default)]
    pub filter: F,
    /// Logs and thoughts: `semantic` (default), `text` (words, `"phrases"`
    /// and `prefixes*`, ranked by BM25) or `hybrid` (both, fused by
    /// reciprocal rank). Agents and tasks: `semantic` only.
    #[serde(default)]
    pub mode: SearchMode,
}

pub type SimilarAgentsRequest = SimilarRequest<NoFilter>;
pub type SimilarTasksRequest = SimilarRequest<TaskSearchFilter>;
pub type SimilarLogsRequest = SimilarRequest<LogSearchFilter>;
pub type SimilarThoughtsRequest = SimilarRequest<ThoughtSearchFilter>;

/// Agents have no filters (`"filter": {}` at most).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoFilter {}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskSearchFilter {
    pub agent_id: Option<String>,
    pub status: Option<TaskStatus>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogSearchFilter {
    pub agent_id: Option<String>,
    pub task_id: Option<String>,
    /// Exactly this level.
    pub level: Option<LogLevel>,
    /// This level or a more severe one.
    pub min_level: Option<LogLevel>,
    /// Inclusive.
    pub since: Option<DateTime<Utc>>,
    /// Exclusive.
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThoughtSearchFilter {
    pub agent_id: Option<String>,
    pub task_id: Option<String>,
    pub kind: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl<F> SimilarRequest<F> {
    /// The query with its filter in vector-index terms, each field checked
    /// for the request's mode.
    fn with(self, filter: VectorFilter) -> Result<SimilarQuery, ValidationError> {
        let text = match self.mode {
            SearchMode::Semantic => None,
            SearchMode::Text | SearchMode::Hybrid => Some(
                TextQuery::parse(&self.query).map_err(|e| ValidationError::new("query", e.0))?,
            ),
        };
        if self.mode != SearchMode::Text {
            validate::required_text("query", &self.query)?;
        }
        match self.threshold {
            Some(_) if self.mode == SearchMode::Text => {
                return Err(ValidationError::new(
                    "threshold",
                    "applies to semantic and hybrid search only",
                ))
            }
            Some(threshold) if !(-1.0..=1.0).contains(&threshold) => {
                return Err(ValidationError::new(
                    "threshold",
                    "must be between -1 and 1",
                ))
            }
            _ => {}
        }
        if let (Some(since), Some(until)) = (filter.since, filter.until) {
            if since >= until {
                return Err(ValidationError::new(
                    "filter.until",
                    "must be later than filter.since",
                ));
            }
        }
        Ok(SimilarQuery {
            query: self.query,
            threshold: self.threshold,
            limit: self.limit,
            filter,
            mode: self.mode,
            text,
        })
    }

    /// Agents and tasks are searched by meaning only.
    fn semantic_only(&self) -> Result<(), ValidationError> {
        if self.mode == SearchMode::Semantic {
            Ok(())
        } else {
            Err(ValidationError::new(
                "mode",
                "agents and tasks are searched by meaning only (semantic)",
            ))
        }
    }
}

impl TryFrom<SimilarAgentsRequest> for SimilarQuery {
    type Error = ValidationError;

    fn try_from(r: SimilarAgentsRequest) -> Result<Self, ValidationError> {
        r.semantic_only()?;
        r.with(VectorFilter::default())
    }
}

impl TryFrom<SimilarTasksRequest> for SimilarQuery {
    type Error = ValidationError;

    fn try_from(r: SimilarTasksRequest) -> Result<Self, ValidationError> {
        r.semantic_only()?;
        let filter = VectorFilter {
            agent_id: r.filter.agent_id.clone(),
            status: r.filter.status.map(|s| s.as_str().to_string()),
            ..VectorFilter::default()
        };
        r.with(filter)
    }
}

fn check_owners(
    agent_id: &Option<String>,
    task_id: &Option<String>,
) -> Result<(), ValidationError> {
    validate::optional_id("agent_id", agent_id.as_deref()).map_err(|e| e.within("filter"))?;
    validate::optional_id("task_id", task_id.as_deref()).map_err(|e| e.within("filter"))
}

fn millis(time: Option<DateTime<Utc>>) -> Option<i64> {
    time.map(|t| t.timestamp_millis())
}

impl TryFrom<SimilarLogsRequest> for SimilarQuery {
    type Error = ValidationError;

    fn try_from(r: SimilarLogsRequest) -> Result<Self, ValidationError> {
        let f = &r.filter;
        check_owners(&f.agent_id, &f.task_id)?;
        let levels = match (f.level, f.min_level) {
            (Some(_), Some(_)) => {
                return Err(ValidationError::new(
                    "filter.min_level",
                    "give filter.level or filter.min_level, not both",
                ))
            }
            (Some(level), None) => Some(vec![level]),
            (None, Some(min)) => Some(min.and_above()),
            (None, None) => None,
        };
        let filter = VectorFilter {
            agent_id: f.agent_id.clone(),
            task_id: f.task_id.clone(),
            levels: levels.map(|l| l.iter().map(|l| l.as_str().to_string()).collect()),
            since: millis(f.since),
            until: millis(f.until),
            ..VectorFilter::default()
        };
        r.with(filter)
    }
}

impl TryFrom<SimilarThoughtsRequest> for SimilarQuery {
    type Error = ValidationError;

    fn try_from(r: SimilarThoughtsRequest) -> Result<Self, ValidationError> {
        let f = &r.filter;
        check_owners(&f.agent_id, &f.task_id)?;
        if let Some(kind) = &f.kind {
            validate::required_text("filter.kind", kind)?;
        }
        let filter = VectorFilter {
            agent_id: f.agent_id.clone(),
            task_id: f.task_id.clone(),
            kind: f.kind.clone(),
            since: millis(f.since),
            until: millis(f.until),
            ..VectorFilter::default()
        };
        r.with(filter)
    }
}
