//! `vectadb migrate couchdb`: the Python proof of concept's CouchDB export
//! into SurrealDB + Qdrant, re-embedding on the way.
//!
//! - `export`: the `_all_docs?include_docs=true` export, read as a stream.
//! - `docs`: each CouchDB document → an agent, task, thought or log (or a
//!   reason to reject it).
//! - here: one pass over the export per kind, in reference order (agents,
//!   tasks, thoughts, logs), writing in batches; documents already there
//!   are left alone (a second run adds nothing, an interrupted one is
//!   finished by running it again), rejected ones are reported with their
//!   reason and never stop the run.

pub mod docs;
pub mod export;
pub mod http;
pub mod relations;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;
use tokio::sync::mpsc;

use crate::domain::{Agent, Log, NewThought, Task, Thought};
use crate::embed::text;
use crate::service::Service;
use crate::store::{StoreError, Table};
use crate::vectors::Collection;
use docs::{Kind, Mapped};

/// Where the export comes from.
#[derive(Debug, Clone)]
pub enum Source {
    File(PathBuf),
    /// An `http://` URL of `_all_docs?include_docs=true`, read once per pass.
    Url(String),
}

impl Source {
    /// A path, or an `http://` URL.
    pub fn parse(input: &str) -> Source {
        if input.starts_with("http://") || input.starts_with("https://") {
            Source::Url(input.to_string())
        } else {
            Source::File(PathBuf::from(input))
        }
    }

    fn open(&self) -> Result<Box<dyn std::io::Read + Send>, MigrateError> {
        match self {
            Source::File(path) => std::fs::File::open(path)
                .map(|f| Box::new(f) as Box<dyn std::io::Read + Send>)
                .map_err(|e| MigrateError::Open {
                    path: path.display().to_string(),
                    message: e.to_string(),
                }),
            Source::Url(url) => http::get(url).map_err(|message| MigrateError::Open {
                path: http::redacted(url),
                message,
            }),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Report what would be done, write nothing.
    pub dry_run: bool,
    /// Documents written per batch.
    pub batch: usize,
    /// Where rejected documents are written (JSON lines).
    pub rejects: Option<PathBuf>,
    /// Draw a progress bar (rate, ETA) on a terminal's stderr.
    pub progress: bool,
    /// Re-embed agents and tasks now (else `vectadb repair` does it later).
    pub embed: bool,
    /// A Neo4j relationship export for references the documents lack.
    pub relations: Option<PathBuf>,
}

/// Counts of one kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Documents of this kind in the export.
    pub source: u64,
    /// Written by this run.
    pub migrated: u64,
    /// Already there, identical.
    pub existing: u64,
    pub rejected: u64,
    /// In the target after the run.
    pub target: u64,
}

/// One rejected document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    pub row: u64,
    pub id: Option<String>,
    pub kind: Option<&'static str>,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub rows: u64,
    /// Design and deleted documents.
    pub skipped: u64,
    pub agents: Counts,
    pub tasks: Counts,
    pub thoughts: Counts,
    pub logs: Counts,
    /// Rows without a usable kind (no or unknown `type`, no document).
    pub unclassified_rejected: u64,
    pub agent_vectors: u64,
    pub task_vectors: u64,
    pub rejects: Vec<Rejected>,
    pub dry_run: bool,
}

impl Report {
    fn counts(&mut self, kind: Kind) -> &mut Counts {
        match kind {
            Kind::Agent => &mut self.agents,
            Kind::Task => &mut self.tasks,
            Kind::Thought => &mut self.thoughts,
            Kind::Log => &mut self.logs,
        }
    }

    fn reject(&mut self, row: u64, id: Option<String>, kind: Option<Kind>, reason: String) {
        match kind {
            Some(kind) => self.counts(kind).rejected += 1,
            None => self.unclassified_rejected += 1,
        }
        self.rejects.push(Rejected {
            row,
            id,
            kind: kind.map(Kind::name),
            reason,
        });
    }

    /// The verification report, for people.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let verb = if self.dry_run {
            "would migrate"
        } else {
            "migrated"
        };
        out.push_str(&format!(
            "{} rows read, {} skipped (design or deleted documents)\n",
            self.rows, self.skipped
        ));
        out.push_str(&format!(
            "{:<9} {:>8} {:>9} {:>9} {:>9} {:>9}\n",
            "kind", "source", verb, "existing", "rejected", "target"
        ));
        for (name, c) in [
            ("agents", &self.agents),
            ("tasks", &self.tasks),
            ("thoughts", &self.thoughts),
            ("logs", &self.logs),
        ] {
            out.push_str(&format!(
                "{name:<9} {:>8} {:>9} {:>9} {:>9} {:>9}\n",
                c.source, c.migrated, c.existing, c.rejected, c.target
            ));
        }
        if self.unclassified_rejected > 0 {
            out.push_str(&format!(
                "{} rows rejected before their kind was known\n",
                self.unclassified_rejected
            ));
        }
        out.push_str(&format!(
            "vectors: {} agents / {} agent documents, {} tasks / {} task documents \
             (logs and thoughts are embedded by the server's indexer)\n",
            self.agent_vectors, self.agents.target, self.task_vectors, self.tasks.target
        ));
        if self.agent_vectors < self.agents.target || self.task_vectors < self.tasks.target {
            out.push_str(
                "some agents or tasks have no vector yet: run `vectadb repair` to embed them\n",
            );
        }
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("{0}")]
    Export(#[from] export::ExportError),
    #[error("opening {path}: {message}")]
    Open { path: String, message: String },
    #[error("writing the reject file: {0}")]
    Rejects(String),
    #[error(transparent)]
    Library(#[from] crate::error::Error),
}

impl From<StoreError> for MigrateError {
    fn from(error: StoreError) -> Self {
        MigrateError::Library(error.into())
    }
}

/// A mapped document of the pass's kind, with where it came from (`kind`:
/// None for a row whose kind could not be told).
struct Item {
    row: u64,
    id: Option<String>,
    kind: Option<Kind>,
    mapped: Mapped,
}

/// Run the migration.
pub async fn migrate(
    service: &Service,
    source: &Source,
    options: &Options,
) -> Result<Report, MigrateError> {
    let mut report = Report {
        dry_run: options.dry_run,
        ..Report::default()
    };
    let relations = match &options.relations {
        Some(path) => {
            let (relations, skipped) =
                relations::Relations::read(path).map_err(|message| MigrateError::Open {
                    path: path.display().to_string(),
                    message,
                })?;
            if skipped > 0 {
                tracing::warn!(
                    skipped,
                    "Neo4j export lines that are not relationships between agents, tasks, \
                     thoughts and logs were skipped"
                );
            }
            Some(std::sync::Arc::new(relations))
        }
        None => None,
    };
    let mut planned = Planned::default();
    let bar = if options.progress {
        indicatif::ProgressBar::new_spinner()
    } else {
        indicatif::ProgressBar::hidden()
    };
    for (pass, kind) in Kind::ALL.into_iter().enumerate() {
        tracing::info!(
            pass = pass + 1,
            kind = kind.name(),
            "migration pass started"
        );
        if pass == 1 {
            // The first pass counted the rows: from now on, a bar with an ETA.
            bar.set_length(report.rows * Kind::ALL.len() as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg:>9} [{bar:40}] {pos}/{len} rows · {per_sec} · ETA {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
        }
        bar.set_message(format!("{}s", kind.name()));
        let started = std::time::Instant::now();
        let (sender, mut receiver) = mpsc::channel::<Item>(options.batch.max(1) * 2);
        let source = source.clone();
        let first = pass == 0;
        let counter = bar.clone();
        let graph = relations.clone();
        let reader = tokio::task::spawn_blocking(move || {
            read_pass(&source, kind, first, sender, &counter, graph.as_deref())
        });
        let mut batch = Vec::new();
        let mut writer = Writer {
            service,
            options,
            planned: &mut planned,
            deferred: Vec::new(),
        };
        while let Some(item) = receiver.recv().await {
            batch.push(item);
            if batch.len() >= options.batch.max(1) {
                writer
                    .write(std::mem::take(&mut batch), &mut report)
                    .await?;
            }
        }
        writer.write(batch, &mut report).await?;
        writer.finish(kind, &mut report).await?;
        let rows = reader
            .await
            .map_err(|e| MigrateError::Rejects(format!("reader stopped: {e}")))??;
        report.rows = rows;
        let counts = report.counts(kind).clone();
        tracing::info!(
            pass = pass + 1,
            kind = kind.name(),
            migrated = counts.migrated,
            existing = counts.existing,
            rejected = counts.rejected,
            rows_per_second = (rows as f64 / started.elapsed().as_secs_f64().max(1e-6)) as u64,
            "migration pass done"
        );
    }
    bar.finish_and_clear();
    report.agents.target = service.documents.count(Table::Agent).await?;
    report.tasks.target = service.documents.count(Table::Task).await?;
    report.thoughts.target = service.documents.count(Table::Thought).await?;
    report.logs.target = service.documents.count(Table::Log).await?;
    report.agent_vectors = service
        .vectors
        .count(Collection::Agents)
        .await
        .map_err(crate::error::Error::from)?;
    report.task_vectors = service
        .vectors
        .count(Collection::Tasks)
        .await
        .map_err(crate::error::Error::from)?;
    if let Some(path) = &options.rejects {
        write_rejects(path, &report.rejects)?;
    }
    if !options.dry_run {
        service.flush().await?;
    }
    Ok(report)
}

fn write_rejects(path: &PathBuf, rejects: &[Rejected]) -> Result<(), MigrateError> {
    let mut file = std::fs::File::create(path).map_err(|e| MigrateError::Rejects(e.to_string()))?;
    for reject in rejects {
        let line =
            serde_json::to_string(reject).map_err(|e| MigrateError::Rejects(e.to_string()))?;
        writeln!(file, "{line}").map_err(|e| MigrateError::Rejects(e.to_string()))?;
    }
    Ok(())
}

/// One pass: send the documents of `kind` (and, on the first pass, the
/// rows no pass would take, as rejects/skips).
fn read_pass(
    source: &Source,
    kind: Kind,
    first: bool,
    sender: mpsc::Sender<Item>,
    progress: &indicatif::ProgressBar,
    relations: Option<&relations::Relations>,
) -> Result<u64, MigrateError> {
    let rows = export::read_rows(source.open()?, |row| {
        progress.inc(1);
        let item = match row.doc {
            Err(reason) if first => Item {
                row: row.index,
                id: row.id,
                kind: None,
                mapped: Mapped::Reject(reason),
            },
            Err(_) => return true,
            Ok(mut doc) => match docs::kind(&doc) {
                Ok(Some(k)) if k == kind => {
                    if let (Some(relations), Ok(id)) = (relations, docs::own_id(&doc, k)) {
                        relations.fill(&mut doc, k, &id);
                    }
                    Item {
                        row: row.index,
                        id: row.id,
                        kind: Some(k),
                        mapped: docs::map(&doc),
                    }
                }
                Ok(None) if first => Item {
                    row: row.index,
                    id: row.id,
                    kind: None,
                    mapped: Mapped::Skip,
                },
                Err(reason) if first => Item {
                    row: row.index,
                    id: row.id,
                    kind: None,
                    mapped: Mapped::Reject(reason),
                },
                _ => return true,
            },
        };
        sender.blocking_send(item).is_ok()
    })?;
    Ok(rows)
}

/// In a dry run, what would have been written (nothing is), so that later
/// documents referring to it are judged as a real run would judge them:
/// ids, with the owning agent for tasks and thoughts.
#[derive(Default)]
struct Planned {
    agents: HashSet<String>,
    tasks: HashMap<String, String>,
    thoughts: HashMap<String, String>,
}

struct Writer<'a> {
    service: &'a Service,
    options: &'a Options,
    planned: &'a mut Planned,
    /// Thoughts whose parent was not there yet (it may come later).
    deferred: Vec<(u64, Option<String>, Thought, Option<u64>)>,
}

impl Writer<'_> {
    async fn write(&mut self, items: Vec<Item>, report: &mut Report) -> Result<(), MigrateError> {
        let mut agents = Vec::new();
        let mut tasks = Vec::new();
        let mut thoughts = Vec::new();
        let mut logs = Vec::new();
        for item in items {
            match item.mapped {
                Mapped::Skip => report.skipped += 1,
                Mapped::Reject(reason) => {
                    if let Some(kind) = item.kind {
                        report.counts(kind).source += 1;
                    }
                    report.reject(item.row, item.id, item.kind, reason)
                }
                Mapped::Agent(a) => agents.push((item.row, a)),
                Mapped::Task(t) => tasks.push((item.row, t)),
                Mapped::Thought(t, step) => thoughts.push((item.row, item.id, t, step)),
                Mapped::Log(l) => logs.push((item.row, l)),
            }
        }
        self.agents(agents, report).await?;
        self.tasks(tasks, report).await?;
        report.thoughts.source += thoughts.len() as u64;
        for (row, id, thought, step) in thoughts {
            self.thought(row, id, thought, step, report).await?;
        }
        self.logs(logs, report).await
    }

    async fn finish(&mut self, kind: Kind, report: &mut Report) -> Result<(), MigrateError> {
        if kind != Kind::Thought {
            return Ok(());
        }
        // Parents that came later in the export are there now; retry until
        // nothing more can be placed.
        loop {
            let pending = std::mem::take(&mut self.deferred);
            let before = pending.len();
            for (row, id, thought, step) in pending {
                self.thought(row, id, thought, step, report).await?;
            }
            if self.deferred.is_empty() || self.deferred.len() == before {
                break;
            }
        }
        for (row, id, thought, _) in std::mem::take(&mut self.deferred) {
            let parent = thought.parent_id.clone().unwrap_or_default();
            report.reject(
                row,
                id,
                Some(Kind::Thought),
                format!("parent thought {parent} does not exist"),
            );
        }
        Ok(())
    }

    async fn agents(
        &mut self,
        agents: Vec<(u64, Agent)>,
        report: &mut Report,
    ) -> Result<(), MigrateError> {
        report.agents.source += agents.len() as u64;
        let store = &self.service.documents;
        let ids: Vec<String> = agents.iter().map(|(_, a)| a.id.clone()).collect();
        let stored: HashMap<String, Agent> = store
            .get_agents(&ids)
            .await?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        let mut accepted = Vec::new();
        for (row, agent) in agents {
            match stored.get(&agent.id) {
                Some(existing) if same_agent(existing, &agent) => {
                    report.agents.existing += 1;
                    accepted.push(agent);
                }
                Some(_) => report.reject(
                    row,
                    Some(agent.id.clone()),
                    Some(Kind::Agent),
                    format!("agent {} already exists with different content", agent.id),
                ),
                None if self.options.dry_run => {
                    report.agents.migrated += 1;
                    self.planned.agents.insert(agent.id.clone());
                }
                None => match store.create_agent(&agent).await {
                    Ok(()) => {
                        report.agents.migrated += 1;
                        accepted.push(agent);
                    }
                    Err(error) => report.reject(
                        row,
                        Some(agent.id.clone()),
                        Some(Kind::Agent),
                        error.to_string(),
                    ),
                },
            }
        }
        if !self.options.dry_run && self.options.embed {
            let texts = accepted
                .iter()
                .map(|a| {
                    (
                        a.id.clone(),
                        text::agent(a),
                        Service::agent_point(a, Vec::new()),
                    )
                })
                .collect();
            self.embed_missing(Collection::Agents, texts).await?;
        }
        Ok(())
    }

    async fn tasks(
        &mut self,
        tasks: Vec<(u64, Task)>,
        report: &mut Report,
    ) -> Result<(), MigrateError> {
        report.tasks.source += tasks.len() as u64;
        let store = &self.service.documents;
        let ids: Vec<String> = tasks.iter().map(|(_, t)| t.id.clone()).collect();
        let stored: HashMap<String, Task> = store
            .get_tasks(&ids)
            .await?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        let agent_ids: Vec<String> = tasks
            .iter()
            .map(|(_, t)| t.agent_id.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let agents: HashSet<String> = store
            .existing(Table::Agent, &agent_ids)
            .await?
            .into_iter()
            .collect();
        let mut accepted = Vec::new();
        for (row, task) in tasks {
            match stored.get(&task.id) {
                Some(existing) if same_task(existing, &task) => {
                    report.tasks.existing += 1;
                    accepted.push(task);
                }
                Some(_) => report.reject(
                    row,
                    Some(task.id.clone()),
                    Some(Kind::Task),
                    format!("task {} already exists with different content", task.id),
                ),
                None if !agents.contains(&task.agent_id)
                    && !self.planned.agents.contains(&task.agent_id) =>
                {
                    report.reject(
                        row,
                        Some(task.id.clone()),
                        Some(Kind::Task),
                        format!("agent {} does not exist", task.agent_id),
                    )
                }
                None if self.options.dry_run => {
                    report.tasks.migrated += 1;
                    self.planned
                        .tasks
                        .insert(task.id.clone(), task.agent_id.clone());
                }
                None => match store.create_task(&task).await {
                    Ok(()) => {
                        report.tasks.migrated += 1;
                        accepted.push(task);
                    }
                    Err(error) => report.reject(
                        row,
                        Some(task.id.clone()),
                        Some(Kind::Task),
                        error.to_string(),
                    ),
                },
            }
        }
        if !self.options.dry_run && self.options.embed {
            let texts = accepted
                .iter()
                .map(|t| {
                    (
                        t.id.clone(),
                        text::task(t),
                        Service::task_point(t, Vec::new()),
                    )
                })
                .collect();
            self.embed_missing(Collection::Tasks, texts).await?;
        }
        Ok(())
    }

    /// Embed (in one model call) and write the vectors these documents lack.
    async fn embed_missing(
        &self,
        collection: Collection,
        documents: Vec<(String, String, crate::vectors::VectorPoint)>,
    ) -> Result<(), MigrateError> {
        if documents.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = documents.iter().map(|(id, _, _)| id.clone()).collect();
        let present: HashSet<String> = self
            .service
            .vectors
            .existing(collection, &ids)
            .await
            .map_err(crate::error::Error::from)?
            .into_iter()
            .collect();
        let (texts, mut points): (Vec<String>, Vec<_>) = documents
            .into_iter()
            .filter(|(id, _, _)| !present.contains(id))
            .map(|(_, text, point)| (text, point))
            .unzip();
        if texts.is_empty() {
            return Ok(());
        }
        let vectors = self
            .service
            .embedder
            .embed(texts)
            .await
            .map_err(crate::error::Error::from)?;
        for (point, vector) in points.iter_mut().zip(vectors) {
            point.vector = vector;
        }
        self.service
            .vectors
            .upsert(collection, points)
            .await
            .map_err(crate::error::Error::from)?;
        Ok(())
    }

    async fn thought(
        &mut self,
        row: u64,
        id: Option<String>,
        thought: Thought,
        step: Option<u64>,
        report: &mut Report,
    ) -> Result<(), MigrateError> {
        let store = &self.service.documents;
        if let Some(existing) = store.get_thought(&thought.id).await? {
            if existing.agent_id == thought.agent_id
                && existing.task_id == thought.task_id
                && existing.content == thought.content
                && existing.kind == thought.kind
            {
                report.thoughts.existing += 1;
            } else {
                report.reject(
                    row,
                    id,
                    Some(Kind::Thought),
                    format!(
                        "thought {} already exists with different content",
                        thought.id
                    ),
                );
            }
            return Ok(());
        }
        if let Some(parent) = &thought.parent_id {
            if !self.planned.thoughts.contains_key(parent)
                && store.get_thought(parent).await?.is_none()
            {
                self.deferred.push((row, id, thought, step));
                return Ok(());
            }
        }
        if !self.planned.agents.contains(&thought.agent_id)
            && store
                .existing(Table::Agent, std::slice::from_ref(&thought.agent_id))
                .await?
                .is_empty()
        {
            report.reject(
                row,
                id,
                Some(Kind::Thought),
                format!("agent {} does not exist", thought.agent_id),
            );
            return Ok(());
        }
        if let Some(task_id) = &thought.task_id {
            let owner = match self.planned.tasks.get(task_id) {
                Some(agent) => Some(agent.clone()),
                None => store.get_task(task_id).await?.map(|t| t.agent_id),
            };
            match owner {
                Some(agent) if agent == thought.agent_id => {}
                Some(agent) => {
                    report.reject(
                        row,
                        id,
                        Some(Kind::Thought),
                        format!(
                            "task {task_id} belongs to agent {agent}, not {}",
                            thought.agent_id
                        ),
                    );
                    return Ok(());
                }
                None => {
                    report.reject(
                        row,
                        id,
                        Some(Kind::Thought),
                        format!("task {task_id} does not exist"),
                    );
                    return Ok(());
                }
            }
        }
        if self.options.dry_run {
            report.thoughts.migrated += 1;
            self.planned
                .thoughts
                .insert(thought.id.clone(), thought.agent_id.clone());
            return Ok(());
        }
        let request = NewThought {
            id: Some(thought.id.clone()),
            agent_id: thought.agent_id.clone(),
            task_id: thought.task_id.clone(),
            parent_id: thought.parent_id.clone(),
            step,
            kind: Some(thought.kind.clone()),
            content: thought.content.clone(),
            metadata: thought.metadata.clone(),
        };
        match store.import_thought(request, thought.created_at).await {
            Ok(_) => report.thoughts.migrated += 1,
            Err(StoreError::Conflict(_)) => report.reject(
                row,
                id,
                Some(Kind::Thought),
                format!(
                    "step {} of this chain is already taken",
                    step.unwrap_or_default()
                ),
            ),
            Err(error) => report.reject(row, id, Some(Kind::Thought), error.to_string()),
        }
        Ok(())
    }

    async fn logs(&self, logs: Vec<(u64, Log)>, report: &mut Report) -> Result<(), MigrateError> {
        if logs.is_empty() {
            return Ok(());
        }
        report.logs.source += logs.len() as u64;
        let store = &self.service.documents;
        let unique = |f: fn(&Log) -> Option<&String>| -> Vec<String> {
            logs.iter()
                .filter_map(|(_, l)| f(l))
                .cloned()
                .collect::<HashSet<_>>()
                .into_iter()
                .collect()
        };
        let agents: HashSet<String> = store
            .existing(Table::Agent, &unique(|l| Some(&l.agent_id)))
            .await?
            .into_iter()
            .collect();
        let tasks: HashMap<String, Task> = store
            .get_tasks(&unique(|l| l.task_id.as_ref()))
            .await?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        let thoughts: HashMap<String, Thought> = store
            .get_thoughts(&unique(|l| l.thought_id.as_ref()))
            .await?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        let stored: HashMap<String, Log> = store
            .get_logs(&unique(|l| Some(&l.id)))
            .await?
            .into_iter()
            .map(|l| (l.id.clone(), l))
            .collect();
        let mut fresh = Vec::new();
        let mut seen = HashSet::new();
        for (row, log) in logs {
            if let Some(existing) = stored.get(&log.id) {
                if existing.agent_id == log.agent_id
                    && existing.message == log.message
                    && existing.level == log.level
                {
                    report.logs.existing += 1;
                } else {
                    let reason = format!("log {} already exists with different content", log.id);
                    report.reject(row, Some(log.id.clone()), Some(Kind::Log), reason);
                }
                continue;
            }
            let belongs = |owner: Option<&String>| owner == Some(&log.agent_id);
            let planned = &self.planned;
            let reason = if !seen.insert(log.id.clone()) {
                Some(format!("log {} appears twice in the export", log.id))
            } else if !agents.contains(&log.agent_id) && !planned.agents.contains(&log.agent_id) {
                Some(format!("agent {} does not exist", log.agent_id))
            } else if let Some(task) = log
                .task_id
                .as_ref()
                .filter(|t| !belongs(tasks.get(*t).map(|t| &t.agent_id).or(planned.tasks.get(*t))))
            {
                Some(format!(
                    "task {task} does not exist or belongs to another agent"
                ))
            } else {
                log.thought_id
                    .as_ref()
                    .filter(|t| {
                        !belongs(
                            thoughts
                                .get(*t)
                                .map(|t| &t.agent_id)
                                .or(planned.thoughts.get(*t)),
                        )
                    })
                    .map(|t| format!("thought {t} does not exist or belongs to another agent"))
            };
            match reason {
                Some(reason) => report.reject(row, Some(log.id.clone()), Some(Kind::Log), reason),
                None => fresh.push(log),
            }
        }
        if self.options.dry_run {
            report.logs.migrated += fresh.len() as u64;
            return Ok(());
        }
        store.insert_logs(&fresh).await?;
        report.logs.migrated += fresh.len() as u64;
        Ok(())
    }
}

fn same_agent(a: &Agent, b: &Agent) -> bool {
    a.role == b.role && a.goal == b.goal && a.metadata == b.metadata
}

fn same_task(a: &Task, b: &Task) -> bool {
    a.agent_id == b.agent_id && a.description == b.description && a.metadata == b.metadata
}
