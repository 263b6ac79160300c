//! Tasks: create (idempotent by client id), get, list, update (the
//! vector follows the status).

use super::*;

impl Service {
    pub async fn create_task(&self, request: NewTask) -> Result<(Task, Outcome)> {
        request.validate()?;
        if let Some(found) = self.already(request.id.as_deref(), &request).await? {
            return Ok(found);
        }
        self.require(Table::Agent, "agent_id", &request.agent_id)
            .await?;
        let task = request.clone().into_task(Utc::now());
        self.create_embedded(task, &request).await
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
                    .upsert(Collection::Tasks, vec![points::task(&task, vector)])
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
}

#[async_trait::async_trait]
impl Embedded for Task {
    type Request = NewTask;
    const KIND: &'static str = "task";
    const COLLECTION: Collection = Collection::Tasks;

    fn id(&self) -> &str {
        &self.id
    }

    fn text(&self) -> String {
        text::task(self)
    }

    fn point(&self, vector: Vec<f32>) -> VectorPoint {
        points::task(self, vector)
    }

    fn matches(&self, request: &NewTask) -> bool {
        Task::matches(self, request)
    }

    fn same_content(&self, other: &Self) -> bool {
        self.agent_id == other.agent_id
            && self.description == other.description
            && self.metadata == other.metadata
    }

    fn owner(&self) -> Option<&str> {
        Some(&self.agent_id)
    }

    async fn fetch(documents: &dyn Documents, id: &str) -> Result<Option<Self>, StoreError> {
        documents.get_task(id).await
    }

    async fn fetch_many(
        documents: &dyn Documents,
        ids: &[String],
    ) -> Result<Vec<Self>, StoreError> {
        documents.get_tasks(ids).await
    }

    async fn list(
        documents: &dyn Documents,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Self>, StoreError> {
        documents
            .list_tasks(&TaskFilter::default(), limit, offset)
            .await
    }

    async fn store(&self, documents: &dyn Documents) -> Result<(), StoreError> {
        documents.create_task(self).await
    }
}
