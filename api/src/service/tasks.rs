//! Tasks: create (idempotent by client id), get, list, update (the
//! vector follows the status).

use super::*;

impl Service {
    pub async fn create_task(&self, request: NewTask) -> Result<(Task, Outcome)> {
        request.validate()?;
        if let Some(id) = &request.id {
            if let Some(existing) = self.documents.get_task(id).await? {
                return same_or_conflict(existing.matches(&request), existing);
            }
        }
        self.require(Table::Agent, "agent_id", &request.agent_id)
            .await?;
        let task = request.clone().into_task(Utc::now());
        let vector = self.embed_one(text::task(&task)).await?;
        let point = Self::task_point(&task, vector);
        match self
            .dual_write(Collection::Tasks, point, self.documents.create_task(&task))
            .await
        {
            Ok(()) => Ok((task, Outcome::Created)),
            Err(Error::Store(StoreError::AlreadyExists { .. })) => {
                let existing = self.get_task(&task.id).await?;
                let vector = self.embed_one(text::task(&existing)).await?;
                self.vectors
                    .upsert(Collection::Tasks, vec![Self::task_point(&existing, vector)])
                    .await?;
                same_or_conflict(existing.matches(&request), existing)
            }
            Err(other) => Err(other),
        }
    }

    pub async fn get_task(&self, id: &str) -> Result<Task> {
        self.documents
            .get_task(id)
            .await?
            .ok_or_else(|| Error::not_found("task", id))
    }

    pub async fn list_tasks(
        &self,
        filter: &TaskFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Task>> {
        self.check_page(limit)?;
        Ok(self.documents.list_tasks(filter, limit, offset).await?)
    }

    /// Update status/output/description/metadata. The vector is re-embedded
    /// only when the description changed; a status change updates the
    /// vector's payload. If the vector side fails the document is restored.
    pub async fn update_task(&self, id: &str, patch: TaskPatch) -> Result<Task> {
        patch.validate()?;
        let before = self.get_task(id).await?;
        let mut task = before.clone();
        let text_changed = task.apply(patch, Utc::now());
        let vector = if text_changed {
            Some(self.embed_one(text::task(&task)).await?)
        } else {
            None
        };
        self.documents.update_task(&task).await?;
        let vector_result = match vector {
            Some(vector) => {
                self.vectors
                    .upsert(Collection::Tasks, vec![Self::task_point(&task, vector)])
                    .await
            }
            None if task.status != before.status => {
                self.vectors
                    .set_status(Collection::Tasks, &task.id, task.status.as_str())
                    .await
            }
            None => Ok(()),
        };
        if let Err(error) = vector_result {
            if let Err(undo_error) = self.documents.update_task(&before).await {
                tracing::error!(%id, %undo_error, "could not restore task after vector update failed");
            }
            return Err(error.into());
        }
        Ok(task)
    }

    // ---- thoughts ----
}
