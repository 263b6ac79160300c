//! Bulk import: documents made elsewhere (a migration's export) written as
//! they are, keeping their ids and times. Each document gets a [`Verdict`]:
//! imported, already there (identical), or rejected with a reason (it
//! exists with other content, or names an agent, task or parent that does
//! not). A dry run judges the same way and writes nothing, remembering what
//! it would have written so that later documents naming it are judged as a
//! real run would judge them.

use super::*;

/// What became of one imported document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Written (in a dry run: would be).
    Imported,
    /// Already stored with the same content: left alone.
    Existing,
    /// Not written, and why.
    Rejected(String),
    /// A thought whose parent is not there yet: offer it again once more of
    /// the import is written.
    Waiting,
}

/// How an import writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportOptions {
    /// Judge, write nothing.
    pub dry_run: bool,
    /// Embed agents and tasks as they are written (else `repair` does it).
    pub embed: bool,
}

/// One import: its options and, in a dry run, what it would have written
/// (ids with their owning agent, by collection).
pub struct Import<'a> {
    service: &'a Service,
    options: ImportOptions,
    planned: HashMap<Collection, HashMap<String, String>>,
}

impl Service {
    /// Start an import (see the module's documentation).
    pub fn import(&self, options: ImportOptions) -> Import<'_> {
        Import {
            service: self,
            options,
            planned: HashMap::new(),
        }
    }
}

impl Import<'_> {
    fn documents(&self) -> &dyn Documents {
        self.service.documents.as_ref()
    }

    /// The agent owning a document this dry run would have written.
    fn planned(&self, collection: Collection, id: &str) -> Option<&String> {
        self.planned.get(&collection).and_then(|ids| ids.get(id))
    }

    fn plan(&mut self, collection: Collection, id: &str, agent: &str) {
        self.planned
            .entry(collection)
            .or_default()
            .insert(id.to_string(), agent.to_string());
    }

    /// Agents, in order: one verdict each.
    pub async fn agents(&mut self, agents: Vec<Agent>) -> Result<Vec<Verdict>> {
        self.embedded(agents).await
    }

    /// Tasks, in order: one verdict each. Their agents must be stored (or
    /// planned by this dry run).
    pub async fn tasks(&mut self, tasks: Vec<Task>) -> Result<Vec<Verdict>> {
        self.embedded(tasks).await
    }

    /// Agents or tasks: compared with what is stored, checked against their
    /// agent, written one by one (a failure rejects that one), then the
    /// vectors that are missing embedded in one model call.
    async fn embedded<D: Embedded>(&mut self, documents: Vec<D>) -> Result<Vec<Verdict>> {
        let ids: Vec<String> = documents.iter().map(|d| d.id().to_string()).collect();
        let stored: HashMap<String, D> = D::fetch_many(self.documents(), &ids)
            .await?
            .into_iter()
            .map(|d| (d.id().to_string(), d))
            .collect();
        let owners: Vec<String> = documents
            .iter()
            .filter_map(|d| d.owner().map(str::to_string))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let agents: HashSet<String> = if owners.is_empty() {
            HashSet::new()
        } else {
            self.documents()
                .existing(Table::Agent, &owners)
                .await?
                .into_iter()
                .collect()
        };
        let mut verdicts = Vec::with_capacity(documents.len());
        let mut written = Vec::new();
        for document in documents {
            let id = document.id().to_string();
            let verdict = match stored.get(&id) {
                Some(existing) if existing.same_content(&document) => {
                    written.push(document);
                    Verdict::Existing
                }
                Some(_) => Verdict::Rejected(format!(
                    "{} {id} already exists with different content",
                    D::KIND
                )),
                None => match document.owner() {
                    Some(agent)
                        if !agents.contains(agent)
                            && self.planned(Collection::Agents, agent).is_none() =>
                    {
                        Verdict::Rejected(format!("agent {agent} does not exist"))
                    }
                    _ if self.options.dry_run => {
                        let agent = document.owner().unwrap_or(&id).to_string();
                        self.plan(D::COLLECTION, &id, &agent);
                        Verdict::Imported
                    }
                    _ => match document.store(self.documents()).await {
                        Ok(()) => {
                            written.push(document);
                            Verdict::Imported
                        }
                        Err(error) => Verdict::Rejected(error.to_string()),
                    },
                },
            };
            verdicts.push(verdict);
        }
        if !self.options.dry_run && self.options.embed {
            self.service.embed_missing(written).await?;
        }
        Ok(verdicts)
    }

    /// One thought at its `step` of its chain. Its agent, task and parent
    /// must be stored (or planned); a parent not there yet makes it
    /// [`Verdict::Waiting`].
    pub async fn thought(&mut self, thought: Thought, step: Option<u64>) -> Result<Verdict> {
        let documents = self.service.documents.clone();
        if let Some(existing) = documents.get_thought(&thought.id).await? {
            let same = existing.agent_id == thought.agent_id
                && existing.task_id == thought.task_id
                && existing.content == thought.content
                && existing.kind == thought.kind;
            return Ok(if same {
                Verdict::Existing
            } else {
                Verdict::Rejected(format!(
                    "thought {} already exists with different content",
                    thought.id
                ))
            });
        }
        if let Some(parent) = &thought.parent_id {
            if self.planned(Collection::Thoughts, parent).is_none()
                && documents.get_thought(parent).await?.is_none()
            {
                return Ok(Verdict::Waiting);
            }
        }
        if self
            .planned(Collection::Agents, &thought.agent_id)
            .is_none()
            && documents
                .existing(Table::Agent, std::slice::from_ref(&thought.agent_id))
                .await?
                .is_empty()
        {
            return Ok(Verdict::Rejected(format!(
                "agent {} does not exist",
                thought.agent_id
            )));
        }
        if let Some(task_id) = &thought.task_id {
            let owner = match self.planned(Collection::Tasks, task_id) {
                Some(agent) => Some(agent.clone()),
                None => documents.get_task(task_id).await?.map(|t| t.agent_id),
            };
            match owner {
                Some(agent) if agent == thought.agent_id => {}
                Some(agent) => {
                    return Ok(Verdict::Rejected(format!(
                        "task {task_id} belongs to agent {agent}, not {}",
                        thought.agent_id
                    )))
                }
                None => return Ok(Verdict::Rejected(format!("task {task_id} does not exist"))),
            }
        }
        if self.options.dry_run {
            self.plan(Collection::Thoughts, &thought.id, &thought.agent_id);
            return Ok(Verdict::Imported);
        }
        let created_at = thought.created_at;
        let request = NewThought {
            id: Some(thought.id),
            agent_id: thought.agent_id,
            task_id: thought.task_id,
            parent_id: thought.parent_id,
            step,
            kind: Some(thought.kind),
            content: thought.content,
            metadata: thought.metadata,
        };
        Ok(match documents.import_thought(request, created_at).await {
            Ok(_) => Verdict::Imported,
            Err(StoreError::Conflict(_)) => Verdict::Rejected(format!(
                "step {} of this chain is already taken",
                step.unwrap_or_default()
            )),
            Err(error) => Verdict::Rejected(error.to_string()),
        })
    }

    /// Logs, in order: one verdict each. New ones are written in one
    /// transaction; each names a stored (or planned) agent, and its task and
    /// thought belong to that agent.
    pub async fn logs(&mut self, logs: Vec<Log>) -> Result<Vec<Verdict>> {
        if logs.is_empty() {
            return Ok(Vec::new());
        }
        let documents = self.service.documents.clone();
        let agents: HashSet<String> = documents
            .existing(Table::Agent, &distinct(&logs, |l| Some(&l.agent_id)))
            .await?
            .into_iter()
            .collect();
        let task_owners: HashMap<String, String> = documents
            .get_tasks(&distinct(&logs, |l| l.task_id.as_ref()))
            .await?
            .into_iter()
            .map(|t| (t.id, t.agent_id))
            .collect();
        let thought_owners: HashMap<String, String> = documents
            .get_thoughts(&distinct(&logs, |l| l.thought_id.as_ref()))
            .await?
            .into_iter()
            .map(|t| (t.id, t.agent_id))
            .collect();
        let stored: HashMap<String, Log> = documents
            .get_logs(&distinct(&logs, |l| Some(&l.id)))
            .await?
            .into_iter()
            .map(|l| (l.id.clone(), l))
            .collect();
        let mut verdicts = Vec::with_capacity(logs.len());
        let mut fresh = Vec::new();
        let mut seen = HashSet::new();
        for log in logs {
            if let Some(existing) = stored.get(&log.id) {
                let same = existing.agent_id == log.agent_id
                    && existing.message == log.message
                    && existing.level == log.level;
                verdicts.push(if same {
                    Verdict::Existing
                } else {
                    Verdict::Rejected(format!(
                        "log {} already exists with different content",
                        log.id
                    ))
                });
                continue;
            }
            let owner = |collection, stored: &HashMap<String, String>, id: &String| {
                stored
                    .get(id)
                    .or_else(|| self.planned(collection, id))
                    .cloned()
            };
            let belongs = |owner: Option<String>| owner.as_ref() == Some(&log.agent_id);
            let reason = if !seen.insert(log.id.clone()) {
                Some(format!("log {} appears twice in the export", log.id))
            } else if !agents.contains(&log.agent_id)
                && self.planned(Collection::Agents, &log.agent_id).is_none()
            {
                Some(format!("agent {} does not exist", log.agent_id))
            } else if let Some(task) = log
                .task_id
                .as_ref()
                .filter(|t| !belongs(owner(Collection::Tasks, &task_owners, t)))
            {
                Some(format!(
                    "task {task} does not exist or belongs to another agent"
                ))
            } else {
                log.thought_id
                    .as_ref()
                    .filter(|t| !belongs(owner(Collection::Thoughts, &thought_owners, t)))
                    .map(|t| format!("thought {t} does not exist or belongs to another agent"))
            };
            match reason {
                Some(reason) => verdicts.push(Verdict::Rejected(reason)),
                None => {
                    verdicts.push(Verdict::Imported);
                    fresh.push(log);
                }
            }
        }
        if !self.options.dry_run {
            documents.insert_logs(&fresh).await?;
        }
        Ok(verdicts)
    }
}
