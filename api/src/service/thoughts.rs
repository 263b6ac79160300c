//! Thoughts: create (steps settled by the store), get, list.

use super::*;

impl Service {
    pub async fn create_thought(&self, request: NewThought) -> Result<(Thought, Outcome)> {
        request.validate()?;
        if let Some(id) = &request.id {
            if let Some(existing) = self.documents.get_thought(id).await? {
                return same_or_conflict(existing.matches(&request), existing);
            }
        }
        self.require(Table::Agent, "agent_id", &request.agent_id)
            .await?;
        if let Some(task_id) = &request.task_id {
            let task = self.documents.get_task(task_id).await?;
            task_of_agent(task.as_ref(), task_id, &request.agent_id)?;
        }
        if let Some(parent_id) = &request.parent_id {
            let parent = self
                .documents
                .get_thought(parent_id)
                .await?
                .ok_or_else(|| Error::unknown_reference("parent_id", "thought", parent_id))?;
            if parent.agent_id != request.agent_id {
                return Err(Error::conflict(
                    "parent_id",
                    format!(
                        "thought {parent_id} belongs to agent {}, not {}",
                        parent.agent_id, request.agent_id
                    ),
                ));
            }
        }
        match self.documents.create_thought(request.clone()).await {
            Ok(thought) => {
                self.wake_indexer.notify_one();
                Ok((thought, Outcome::Created))
            }
            Err(StoreError::AlreadyExists { id, .. }) => {
                let existing = self
                    .documents
                    .get_thought(&id)
                    .await?
                    .ok_or_else(|| Error::not_found("thought", id))?;
                same_or_conflict(existing.matches(&request), existing)
            }
            Err(StoreError::Conflict(message)) => Err(Error::conflict("step", message)),
            Err(other) => Err(other.into()),
        }
    }

    pub async fn get_thought(&self, id: &str) -> Result<Thought> {
        self.documents
            .get_thought(id)
            .await?
            .ok_or_else(|| Error::not_found("thought", id))
    }

    pub async fn list_thoughts(
        &self,
        filter: &ThoughtFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Thought>> {
        self.check_page(limit)?;
        Ok(self.documents.list_thoughts(filter, limit, offset).await?)
    }
}
