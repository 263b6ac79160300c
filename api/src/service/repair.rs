//! `vectadb repair`: find documents without vectors (re-embed them) and
//! vectors without documents (delete them). Safe while the API serves: an
//! orphan vector is only deleted if it is still orphaned after a grace
//! period, so a create whose vector landed before its document is spared.

use std::time::Duration;

use serde::Serialize;

use super::Service;
use crate::embed::text;
use crate::error::Result;
use crate::store::Table;
use crate::vectors::{points, Collection};

/// What a repair changed, by collection.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RepairReport {
    pub agents_reembedded: Vec<String>,
    pub tasks_reembedded: Vec<String>,
    pub agent_vectors_deleted: Vec<String>,
    pub task_vectors_deleted: Vec<String>,
    pub log_vectors_deleted: Vec<String>,
    pub thought_vectors_deleted: Vec<String>,
}

impl RepairReport {
    pub fn is_clean(&self) -> bool {
        self.agents_reembedded.is_empty()
            && self.tasks_reembedded.is_empty()
            && self.agent_vectors_deleted.is_empty()
            && self.task_vectors_deleted.is_empty()
            && self.log_vectors_deleted.is_empty()
            && self.thought_vectors_deleted.is_empty()
    }
}

/// Documents (and vector ids) read per round trip.
const PAGE: usize = 500;

impl Service {
    /// Repair every collection: agents and tasks without vectors are
    /// re-embedded (logs and thoughts are embedded from the durable queue
    /// anyway), and vectors without documents are deleted. `grace` is how
    /// long a vector must stay orphaned before it is deleted.
    pub async fn repair(&self, grace: Duration) -> Result<RepairReport> {
        let mut report = RepairReport {
            agents_reembedded: self.reembed_missing(Collection::Agents).await?,
            tasks_reembedded: self.reembed_missing(Collection::Tasks).await?,
            ..RepairReport::default()
        };
        let mut orphans = Vec::new();
        for collection in Collection::ALL {
            orphans.push((collection, self.orphans(collection).await?));
        }
        if orphans.iter().any(|(_, ids)| !ids.is_empty()) {
            tokio::time::sleep(grace).await;
        }
        for (collection, candidates) in orphans {
            let deleted = self.delete_orphans(collection, candidates).await?;
            *match collection {
                Collection::Agents => &mut report.agent_vectors_deleted,
                Collection::Tasks => &mut report.task_vectors_deleted,
                Collection::Logs => &mut report.log_vectors_deleted,
                Collection::Thoughts => &mut report.thought_vectors_deleted,
            } = deleted;
        }
        Ok(report)
    }

    /// Page through the documents of a collection; embed and write the
    /// vectors that are missing.
    async fn reembed_missing(&self, collection: Collection) -> Result<Vec<String>> {
        let mut fixed = Vec::new();
        let mut offset = 0;
        loop {
            let (ids, texts_and_points) = match collection {
                Collection::Agents => {
                    let page = self.documents.list_agents(None, PAGE, offset).await?;
                    let ids: Vec<String> = page.items.iter().map(|a| a.id.clone()).collect();
                    let present = self.vectors.existing(collection, &ids).await?;
                    let missing: Vec<_> = page
                        .items
                        .into_iter()
                        .filter(|a| !present.contains(&a.id))
                        .map(|a| (text::agent(&a), points::agent(&a, Vec::new())))
                        .collect();
                    (ids, missing)
                }
                Collection::Logs | Collection::Thoughts => return Ok(fixed),
                Collection::Tasks => {
                    let page = self
                        .documents
                        .list_tasks(&Default::default(), PAGE, offset)
                        .await?;
                    let ids: Vec<String> = page.items.iter().map(|t| t.id.clone()).collect();
                    let present = self.vectors.existing(collection, &ids).await?;
                    let missing: Vec<_> = page
                        .items
                        .into_iter()
                        .filter(|t| !present.contains(&t.id))
                        .map(|t| (text::task(&t), points::task(&t, Vec::new())))
                        .collect();
                    (ids, missing)
                }
            };
            if !texts_and_points.is_empty() {
                let (texts, mut points): (Vec<String>, Vec<_>) =
                    texts_and_points.into_iter().unzip();
                let vectors = self.embedder.embed(texts).await?;
                for (point, vector) in points.iter_mut().zip(vectors) {
                    point.vector = vector;
                }
                fixed.extend(points.iter().map(|p| p.id.clone()));
                self.vectors.upsert(collection, points).await?;
            }
            if ids.len() < PAGE {
                return Ok(fixed);
            }
            offset += PAGE;
        }
    }

    /// Vector ids whose document does not exist.
    async fn orphans(&self, collection: Collection) -> Result<Vec<String>> {
        let table = table_of(collection);
        let mut orphans = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.vectors.scroll_ids(collection, cursor, PAGE).await?;
            let found = self.documents.existing(table, &page.ids).await?;
            orphans.extend(page.ids.into_iter().filter(|id| !found.contains(id)));
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(orphans),
            }
        }
    }

    /// Delete the candidates that are still orphaned now.
    async fn delete_orphans(
        &self,
        collection: Collection,
        candidates: Vec<String>,
    ) -> Result<Vec<String>> {
        if candidates.is_empty() {
            return Ok(candidates);
        }
        let found = self
            .documents
            .existing(table_of(collection), &candidates)
            .await?;
        let doomed: Vec<String> = candidates
            .into_iter()
            .filter(|id| !found.contains(id))
            .collect();
        self.vectors.delete(collection, &doomed).await?;
        Ok(doomed)
    }
}

fn table_of(collection: Collection) -> Table {
    match collection {
        Collection::Agents => Table::Agent,
        Collection::Tasks => Table::Task,
        Collection::Logs => Table::Log,
        Collection::Thoughts => Table::Thought,
    }
}
