//! Agents: create (idempotent by client id), get, list, delete with
//! everything they own.

use super::*;

impl Service {
    pub async fn create_agent(&self, request: NewAgent) -> Result<(Agent, Outcome)> {
        request.validate()?;
        if let Some(id) = &request.id {
            if let Some(existing) = self.documents.get_agent(id).await? {
                return same_or_conflict(existing.matches(&request), existing);
            }
        }
        let agent = request.clone().into_agent(Utc::now());
        let vector = self.embed_one(text::agent(&agent)).await?;
        let point = Self::agent_point(&agent, vector);
        match self
            .dual_write(
                Collection::Agents,
                point,
                self.documents.create_agent(&agent),
            )
            .await
        {
            Ok(()) => Ok((agent, Outcome::Created)),
            Err(Error::Store(StoreError::AlreadyExists { .. })) => {
                // Lost a race with a create of the same id.
                let existing = self
                    .documents
                    .get_agent(&agent.id)
                    .await?
                    .ok_or_else(|| Error::not_found("agent", agent.id.clone()))?;
                let vector = self.embed_one(text::agent(&existing)).await?;
                self.vectors
                    .upsert(
                        Collection::Agents,
                        vec![Self::agent_point(&existing, vector)],
                    )
                    .await?;
                same_or_conflict(existing.matches(&request), existing)
            }
            Err(other) => Err(other),
        }
    }

    pub async fn get_agent(&self, id: &str) -> Result<Agent> {
        self.documents
            .get_agent(id)
            .await?
            .ok_or_else(|| Error::not_found("agent", id))
    }

    pub async fn list_agents(
        &self,
        text: Option<&str>,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Agent>> {
        self.check_page(limit)?;
        if let Some(text) = text {
            crate::domain::validate::bounded_text("q", text)?;
        }
        let text = text.map(str::trim).filter(|t| !t.is_empty());
        Ok(self.documents.list_agents(text, limit, offset).await?)
    }

    /// Delete an agent and everything it owns: documents first (one
    /// transaction), then its vectors.
    pub async fn delete_agent(&self, id: &str) -> Result<()> {
        if !self.documents.delete_agent(id).await? {
            return Err(Error::not_found("agent", id));
        }
        self.vectors
            .delete(Collection::Agents, &[id.to_string()])
            .await?;
        for collection in [Collection::Tasks, Collection::Logs, Collection::Thoughts] {
            self.vectors.delete_by_agent(collection, id).await?;
        }
        Ok(())
    }

    // ---- tasks ----
}
