//! Search: similar agents, tasks, logs and thoughts, by meaning, by
//! words (full-text) or both fused by reciprocal rank.

use super::query::{
    SimilarAgentsRequest, SimilarLogsRequest, SimilarTasksRequest, SimilarThoughtsRequest,
};
use super::*;

impl Service {
    pub async fn similar_agents(
        &self,
        request: SimilarAgentsRequest,
    ) -> Result<Vec<Scored<Agent>>> {
        let query = SimilarQuery::try_from(request)?;
        let fetch = |ids: Vec<String>| async move { self.documents.get_agents(&ids).await };
        self.similar(Collection::Agents, &query, fetch, |a| &a.id)
            .await
    }

    pub async fn similar_tasks(&self, request: SimilarTasksRequest) -> Result<Vec<Scored<Task>>> {
        let query = SimilarQuery::try_from(request)?;
        let fetch = |ids: Vec<String>| async move { self.documents.get_tasks(&ids).await };
        self.similar(Collection::Tasks, &query, fetch, |t| &t.id)
            .await
    }

    /// Logs by meaning (those embedded so far: see [`Indexer`]), by text
    /// (those indexed so far: [`crate::text::indexer`]) or both.
    pub async fn similar_logs(&self, request: SimilarLogsRequest) -> Result<Vec<Scored<Log>>> {
        let query = SimilarQuery::try_from(request)?;
        let by_meaning = |query: SimilarQuery| async move {
            let fetch = |ids: Vec<String>| async move { self.documents.get_logs(&ids).await };
            self.similar(Collection::Logs, &query, fetch, |l| &l.id)
                .await
        };
        let by_text = |text: TextQuery, filter: TextFilter, limit: usize| async move {
            Ok(self.documents.search_logs(&text, &filter, limit).await?)
        };
        self.search_by_mode(query, by_meaning, by_text, |l: &Log| &l.id)
            .await
    }

    /// Thoughts by meaning, by text or both (see [`Self::similar_logs`]).
    pub async fn similar_thoughts(
        &self,
        request: SimilarThoughtsRequest,
    ) -> Result<Vec<Scored<Thought>>> {
        let query = SimilarQuery::try_from(request)?;
        let by_meaning = |query: SimilarQuery| async move {
            let fetch = |ids: Vec<String>| async move { self.documents.get_thoughts(&ids).await };
            self.similar(Collection::Thoughts, &query, fetch, |t| &t.id)
                .await
        };
        let by_text = |text: TextQuery, filter: TextFilter, limit: usize| async move {
            Ok(self
                .documents
                .search_thoughts(&text, &filter, limit)
                .await?)
        };
        self.search_by_mode(query, by_meaning, by_text, |t: &Thought| &t.id)
            .await
    }

    /// Run `query` in its mode: by meaning, by text, or both fused by
    /// reciprocal rank (each side asked for the limit, so a document found
    /// by both is not crowded out).
    async fn search_by_mode<T, M, MFut, X, XFut>(
        &self,
        query: SimilarQuery,
        by_meaning: M,
        by_text: X,
        id: fn(&T) -> &String,
    ) -> Result<Vec<Scored<T>>>
    where
        M: FnOnce(SimilarQuery) -> MFut,
        MFut: std::future::Future<Output = Result<Vec<Scored<T>>>>,
        X: FnOnce(TextQuery, TextFilter, usize) -> XFut,
        XFut: std::future::Future<Output = Result<crate::text::Found<T>>>,
    {
        let Some(text) = query.text.clone() else {
            return by_meaning(query).await;
        };
        let limit = self.checked_limit(&query)?;
        let filter = text_filter(&query.filter);
        let unscored = |found: crate::text::Found<T>| {
            found
                .into_iter()
                .map(|(document, similarity)| Scored {
                    document,
                    similarity,
                })
                .collect::<Vec<_>>()
        };
        if query.mode == SearchMode::Text {
            return Ok(unscored(by_text(text, filter, limit).await?));
        }
        let (meaning, words) =
            tokio::try_join!(by_meaning(query.clone()), by_text(text, filter, limit))?;
        let rankings = vec![
            meaning.into_iter().map(|s| s.document).collect(),
            words.into_iter().map(|(d, _)| d).collect(),
        ];
        Ok(unscored(crate::text::fuse(
            rankings,
            |d: &T| id(d).as_str(),
            limit,
        )))
    }

    /// Search a collection, then fetch the hits' documents and return them
    /// in hit order with their similarity.
    async fn similar<T, F, Fut>(
        &self,
        collection: Collection,
        query: &SimilarQuery,
        fetch: F,
        id: fn(&T) -> &String,
    ) -> Result<Vec<Scored<T>>>
    where
        F: FnOnce(Vec<String>) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<Vec<T>, StoreError>>,
    {
        let hits = self.search(collection, query).await?;
        let ids: Vec<String> = hits.iter().map(|h| h.id.clone()).collect();
        let documents = fetch(ids).await?;
        Ok(merge(hits, documents, id))
    }

    /// The query's limit (or the default), checked.
    fn checked_limit(&self, query: &SimilarQuery) -> Result<usize> {
        let limit = query.limit.unwrap_or(self.defaults.limit);
        if limit == 0 || limit > self.limits.max_similar {
            return Err(ValidationError::new(
                "limit",
                format!("must be between 1 and {}", self.limits.max_similar),
            )
            .into());
        }
        Ok(limit)
    }

    async fn search(&self, collection: Collection, query: &SimilarQuery) -> Result<Vec<ScoredId>> {
        let threshold = query.threshold.unwrap_or(self.defaults.threshold);
        let limit = self.checked_limit(query)?;
        let vector = self.embed_one(query.query.clone()).await?;
        Ok(self
            .vectors
            .search(collection, vector, limit, threshold, &query.filter)
            .await?)
    }
}

/// A vector filter as a text search's filter (levels by name, times in
/// milliseconds).
fn text_filter(filter: &VectorFilter) -> TextFilter {
    let time = |ms: Option<i64>| ms.and_then(chrono::DateTime::from_timestamp_millis);
    TextFilter {
        agent_id: filter.agent_id.clone(),
        task_id: filter.task_id.clone(),
        levels: filter
            .levels
            .as_ref()
            .map(|levels| levels.iter().filter_map(|l| LogLevel::parse(l)).collect()),
        kind: filter.kind.clone(),
        since: time(filter.since),
        until: time(filter.until),
    }
}

/// Documents in hit order with their similarity; hits whose document is
/// gone are dropped.
fn merge<T>(hits: Vec<ScoredId>, documents: Vec<T>, id: fn(&T) -> &String) -> Vec<Scored<T>> {
    let mut by_id: HashMap<String, T> =
        documents.into_iter().map(|d| (id(&d).clone(), d)).collect();
    hits.into_iter()
        .filter_map(|hit| {
            by_id.remove(&hit.id).map(|document| Scored {
                document,
                similarity: hit.score,
            })
        })
        .collect()
}
