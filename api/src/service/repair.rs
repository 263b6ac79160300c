//! `vectadb repair`: find documents without vectors (re-embed them) and
//! vectors without documents (delete them). Safe while the API serves: an
//! orphan vector is only deleted if it is still orphaned after a grace
//! period, so a create whose vector landed before its document is spared.

use std::time::Duration;

use serde::Serialize;

use super::{Embedded, Service};
use crate::domain::{Agent, Task};
use crate::error::Result;
use crate::store::Table;
use crate::vectors::Collection;

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
            agents_reembedded: self.reembed_missing::<Agent>().await?,
            tasks_reembedded: self.reembed_missing::<Task>().await?,
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

    /// Page through the agents or tasks; embed and write the vectors that
    /// are missing.
    async fn reembed_missing<D: Embedded>(&self) -> Result<Vec<String>> {
        let mut fixed = Vec::new();
        let mut offset = 0;
        loop {
            let page = D::list(self.documents.as_ref(), PAGE, offset).await?;
            let last = page.items.len() < PAGE;
            fixed.extend(self.embed_missing(page.items).await?);
            if last {
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
