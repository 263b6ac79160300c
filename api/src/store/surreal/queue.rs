//! [`EmbedQueue`] on SurrealDB: table `embed_queue`, one entry per write
//! holding the ids it queued; and the leasing and sizing that it shares
//! with the text queue (`text_queue`, see `text`).

use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;

use super::{take_json, take_last, SurrealStore};
use crate::store::{EmbedJob, EmbedQueue, StoreError};

#[async_trait]
impl EmbedQueue for SurrealStore {
    async fn lease_embed_jobs(
        &self,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<EmbedJob>, StoreError> {
        self.lease_queue("embed_queue", limit, lease).await
    }

    async fn settle_embed_job(
        &self,
        job: &str,
        remaining: &[String],
        lease: Duration,
    ) -> Result<(), StoreError> {
        let sql = if remaining.is_empty() {
            "DELETE type::record('embed_queue', $job);"
        } else {
            "UPDATE type::record('embed_queue', $job) SET ids = $remaining,
                 leased_until = time::now() + <duration>$lease RETURN NONE;"
        };
        self.run(
            sql,
            json!({ "job": job, "remaining": remaining, "lease": format!("{}ms", lease.as_millis()) }),
        )
        .await
        .map(|_| ())
    }

    async fn release_embed_leases(&self) -> Result<(), StoreError> {
        self.run(
            "UPDATE embed_queue SET leased_until = NONE WHERE leased_until IS NOT NONE RETURN NONE;
             UPDATE text_queue SET leased_until = NONE WHERE leased_until IS NOT NONE RETURN NONE;",
            json!({}),
        )
        .await
        .map(|_| ())
    }

    async fn embed_backlog(&self) -> Result<u64, StoreError> {
        self.queue_size("embed_queue").await
    }
}

impl SurrealStore {
    /// The documents a queue table's entries name.
    pub(super) async fn queue_size(&self, table: &'static str) -> Result<u64, StoreError> {
        let sql = format!("RETURN math::sum((SELECT VALUE array::len(ids) FROM {table}));");
        let mut response = self.run(&sql, json!({})).await?;
        Ok(take_json(&mut response, 0)?.as_u64().unwrap_or(0))
    }

    /// Lease up to `limit` entries of a queue table no other worker holds,
    /// oldest first, for `lease`. One transaction: two workers that pick
    /// the same entries conflict and one of them runs again (and then skips
    /// what the other took).
    pub(super) async fn lease_queue(
        &self,
        table: &'static str,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<EmbedJob>, StoreError> {
        let sql = format!(
            "BEGIN TRANSACTION;
             LET $free = (SELECT VALUE id FROM {table}
                 WHERE leased_until IS NONE OR leased_until < time::now() LIMIT $limit);
             RETURN (UPDATE $free SET leased_until = time::now() + <duration>$lease
                 RETURN record::id(id) AS id, kind, ids);
             COMMIT TRANSACTION;"
        );
        let mut response = self
            .run(
                &sql,
                json!({ "limit": limit, "lease": format!("{}ms", lease.as_millis()) }),
            )
            .await?;
        let rows = take_last(&mut response)?;
        rows.as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|row| super::rows::decode(table, row))
            .collect()
    }
}
