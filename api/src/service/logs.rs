//! Logs: batches accepted all or none (resent ids accepted again, not
//! stored twice), references checked, listings.

use super::*;

impl Service {
    /// Validate the whole batch, check every reference, then write it in one
    /// transaction: a rejected batch writes nothing. Logs resent with the
    /// same id and body are accepted again without being duplicated.
    pub async fn ingest_logs(&self, requests: Vec<NewLog>) -> Result<Ingested> {
        if requests.is_empty() {
            return Err(ValidationError::new("logs", "must contain at least one log").into());
        }
        if requests.len() > self.limits.max_log_batch {
            return Err(Error::TooLarge {
                field: "logs".into(),
                message: format!(
                    "a batch holds at most {} logs, got {}",
                    self.limits.max_log_batch,
                    requests.len()
                ),
            });
        }
        for (i, log) in requests.iter().enumerate() {
            log.validate().map_err(|e| Error::item(i, e))?;
        }
        let now = Utc::now();
        // Only a client-chosen id can already be stored (a resend); ids made
        // here are fresh, so they are not looked up.
        let client_ids: Vec<String> = requests.iter().filter_map(|r| r.id.clone()).collect();
        // Ids made here share one batch key: the store finds a log by it.
        let mut generated = crate::domain::ids::batch_ids(requests.len()).into_iter();
        let logs: Vec<Log> = requests
            .into_iter()
            .map(|r| {
                r.into_log(now, || {
                    generated
                        .next()
                        .unwrap_or_else(crate::domain::ids::generate)
                })
            })
            .collect();
        self.check_log_references(&logs).await?;

        // Duplicate ids within the batch, and ids already stored.
        let mut seen = HashSet::new();
        for (i, log) in logs.iter().enumerate() {
            if !seen.insert(log.id.as_str()) {
                return Err(Error::item(
                    i,
                    Error::conflict(
                        "id",
                        format!("log id {} appears twice in the batch", log.id),
                    ),
                ));
            }
        }
        let stored: HashMap<String, Log> = self
            .documents
            .get_logs(&client_ids)
            .await?
            .into_iter()
            .map(|l| (l.id.clone(), l))
            .collect();
        let mut fresh = Vec::with_capacity(logs.len());
        let mut result = Vec::with_capacity(logs.len());
        let mut new = Vec::with_capacity(logs.len());
        for (i, log) in logs.into_iter().enumerate() {
            new.push(!stored.contains_key(&log.id));
            match stored.get(&log.id) {
                Some(existing) if same_log(existing, &log) => result.push(existing.clone()),
                Some(_) => {
                    return Err(Error::item(
                        i,
                        Error::conflict(
                            "id",
                            format!("log {} already exists with different content", log.id),
                        ),
                    ))
                }
                None => {
                    fresh.push(log.clone());
                    result.push(log);
                }
            }
        }
        if !fresh.is_empty() {
            self.documents.insert_logs(&fresh).await?;
            self.wake_indexer.notify_one();
        }
        Ok(Ingested { logs: result, new })
    }

    /// Every agent, task and thought a batch names exists, and each task and
    /// thought belongs to the agent (and task) the log names.
    async fn check_log_references(&self, logs: &[Log]) -> Result<()> {
        let agents: HashSet<String> = self
            .documents
            .existing(Table::Agent, &distinct(logs, |l| Some(&l.agent_id)))
            .await?
            .into_iter()
            .collect();
        let tasks: HashMap<String, Task> = self
            .documents
            .get_tasks(&distinct(logs, |l| l.task_id.as_ref()))
            .await?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        let thoughts: HashMap<String, Thought> = self
            .documents
            .get_thoughts(&distinct(logs, |l| l.thought_id.as_ref()))
            .await?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        for (i, log) in logs.iter().enumerate() {
            log_references(log, &agents, &tasks, &thoughts).map_err(|e| Error::item(i, e))?;
        }
        Ok(())
    }

    pub async fn list_logs(
        &self,
        filter: &LogFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Page<Log>> {
        self.check_page(limit)?;
        if offset > MAX_LOG_OFFSET {
            return Err(ValidationError::new(
                "offset",
                format!("at most {MAX_LOG_OFFSET}; page further with `cursor` (`next_cursor`)"),
            )
            .into());
        }
        Ok(self.documents.list_logs(filter, limit, offset).await?)
    }
}

/// A resent log is the same when everything but the timestamp matches
/// (a client that resends without a timestamp gets a new server one).
fn same_log(stored: &Log, resent: &Log) -> bool {
    stored.agent_id == resent.agent_id
        && stored.task_id == resent.task_id
        && stored.thought_id == resent.thought_id
        && stored.level == resent.level
        && stored.message == resent.message
        && stored.metadata == resent.metadata
}

/// The log's agent exists, and its task and thought exist and belong to
/// that agent (and task).
fn log_references(
    log: &Log,
    agents: &HashSet<String>,
    tasks: &HashMap<String, Task>,
    thoughts: &HashMap<String, Thought>,
) -> Result<()> {
    if !agents.contains(&log.agent_id) {
        return Err(Error::unknown_reference("agent_id", "agent", &log.agent_id));
    }
    if let Some(task_id) = &log.task_id {
        task_of_agent(tasks.get(task_id), task_id, &log.agent_id)?;
    }
    if let Some(thought_id) = &log.thought_id {
        let thought = thoughts
            .get(thought_id)
            .ok_or_else(|| Error::unknown_reference("thought_id", "thought", thought_id))?;
        if thought.agent_id != log.agent_id
            || (log.task_id.is_some() && thought.task_id != log.task_id)
        {
            return Err(Error::conflict(
                "thought_id",
                format!("thought {thought_id} belongs to another agent or task"),
            ));
        }
    }
    Ok(())
}
