//! Agents: create (idempotent by client id), get, list, delete with
//! everything they own.

use super::*;

impl Service {
    pub async fn create_agent(&self, request: NewAgent) -> Result<(Agent, Outcome)> {
        request.validate()?;
        if let Some(found) = self.already(request.id.as_deref(), &request).await? {
            return Ok(found);
        }
        let agent = request.clone().into_agent(Utc::now());
        self.create_embedded(agent, &request).await
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
}

#[async_trait::async_trait]
impl Embedded for Agent {
    type Request = NewAgent;
    const KIND: &'static str = "agent";
    const COLLECTION: Collection = Collection::Agents;

    fn id(&self) -> &str {
        &self.id
    }

    fn text(&self) -> String {
        text::agent(self)
    }

    fn point(&self, vector: Vec<f32>) -> VectorPoint {
        points::agent(self, vector)
    }

    fn matches(&self, request: &NewAgent) -> bool {
        Agent::matches(self, request)
    }

    fn same_content(&self, other: &Self) -> bool {
        self.role == other.role && self.goal == other.goal && self.metadata == other.metadata
    }

    fn owner(&self) -> Option<&str> {
        None
    }

    async fn fetch(documents: &dyn Documents, id: &str) -> Result<Option<Self>, StoreError> {
        documents.get_agent(id).await
    }

    async fn fetch_many(
        documents: &dyn Documents,
        ids: &[String],
    ) -> Result<Vec<Self>, StoreError> {
        documents.get_agents(ids).await
    }

    async fn list(
        documents: &dyn Documents,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Self>, StoreError> {
        documents.list_agents(None, limit, offset).await
    }

    async fn store(&self, documents: &dyn Documents) -> Result<(), StoreError> {
        documents.create_agent(self).await
    }
}
