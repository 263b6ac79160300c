//! Traces: an agent's tree of tasks, thoughts and logs, and the pages
//! of one node's logs and thoughts.

use super::*;

impl Service {
    pub async fn trace(&self, agent_id: &str, shape: &TraceShape) -> Result<Trace> {
        self.documents
            .trace(agent_id, shape)
            .await?
            .ok_or_else(|| Error::not_found("agent", agent_id))
    }

    /// More of a trace's logs: a task's (`task_id`), else the agent's
    /// outside tasks, in time order after `after`.
    pub async fn trace_logs(
        &self,
        agent_id: &str,
        task_id: Option<String>,
        after: Option<LogCursor>,
        limit: usize,
    ) -> Result<Page<Log>> {
        self.require_trace_node(agent_id, task_id.as_deref())
            .await?;
        let filter = LogFilter {
            agent_id: Some(agent_id.to_string()),
            outside_tasks: task_id.is_none(),
            task_id,
            after,
            ..LogFilter::default()
        };
        self.list_logs(&filter, limit, 0).await
    }

    /// More of a trace's thoughts: a task's chain (`task_id`), else the
    /// agent's outside tasks, in step order after `after_step`.
    pub async fn trace_thoughts(
        &self,
        agent_id: &str,
        task_id: Option<String>,
        after_step: Option<u64>,
        limit: usize,
    ) -> Result<Page<Thought>> {
        self.require_trace_node(agent_id, task_id.as_deref())
            .await?;
        let filter = ThoughtFilter {
            agent_id: Some(agent_id.to_string()),
            outside_tasks: task_id.is_none(),
            task_id,
            after_step,
        };
        self.list_thoughts(&filter, limit, 0).await
    }

    /// The agent exists (404 otherwise) and so does the task, as one of its
    /// own (else an unknown reference naming `task_id`).
    async fn require_trace_node(&self, agent_id: &str, task_id: Option<&str>) -> Result<()> {
        match task_id {
            None => {
                let found = self
                    .documents
                    .existing(Table::Agent, &[agent_id.to_string()])
                    .await?;
                if found.is_empty() {
                    return Err(Error::not_found("agent", agent_id));
                }
            }
            Some(task_id) => {
                let task = self.documents.get_task(task_id).await?;
                if task.is_none_or(|t| t.agent_id != agent_id) {
                    if self
                        .documents
                        .existing(Table::Agent, &[agent_id.to_string()])
                        .await?
                        .is_empty()
                    {
                        return Err(Error::not_found("agent", agent_id));
                    }
                    return Err(Error::unknown_reference("task_id", "task", task_id));
                }
            }
        }
        Ok(())
    }
}
