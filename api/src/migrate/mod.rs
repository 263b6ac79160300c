//! `vectadb migrate couchdb`: the Python proof of concept's CouchDB export
//! into SurrealDB + Qdrant, re-embedding on the way.
//!
//! - `export`: the `_all_docs?include_docs=true` export, read as a stream.
//! - `docs`: each CouchDB document → an agent, task, thought or log (or a
//!   reason to reject it).
//! - here: one pass over the export per kind, in reference order (agents,
//!   tasks, thoughts, logs), handing batches to the service's import
//!   ([`crate::service::import`]), which judges and writes them; documents
//!   already there are left alone (a second run adds nothing, an interrupted one is
//!   finished by running it again), rejected ones are reported with their
//!   reason and never stop the run.

pub mod docs;
pub mod export;
pub mod http;
pub mod relations;

use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;
use tokio::sync::mpsc;

use crate::domain::{Agent, Log, Task, Thought};
use crate::service::import::{Import, ImportOptions, Verdict};
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

    /// The verdicts of a batch of one kind, with each document's row and id.
    fn tally(&mut self, kind: Kind, rows: Vec<u64>, ids: Vec<String>, verdicts: Vec<Verdict>) {
        self.counts(kind).source += verdicts.len() as u64;
        for ((row, id), verdict) in rows.into_iter().zip(ids).zip(verdicts) {
            self.count(kind, row, Some(id), verdict);
        }
    }

    fn count(&mut self, kind: Kind, row: u64, id: Option<String>, verdict: Verdict) {
        match verdict {
            Verdict::Imported => self.counts(kind).migrated += 1,
            Verdict::Existing => self.counts(kind).existing += 1,
            Verdict::Rejected(reason) => self.reject(row, id, Some(kind), reason),
            Verdict::Waiting => {
                let reason = "its parent never arrived".to_string();
                self.reject(row, id, Some(kind), reason)
            }
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
    let mut import = service.import(ImportOptions {
        dry_run: options.dry_run,
        embed: options.embed,
    });
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
            import: &mut import,
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
    report.agents.target = service.count_documents(Table::Agent).await?;
    report.tasks.target = service.count_documents(Table::Task).await?;
    report.thoughts.target = service.count_documents(Table::Thought).await?;
    report.logs.target = service.count_documents(Table::Log).await?;
    report.agent_vectors = service.count_vectors(Collection::Agents).await?;
    report.task_vectors = service.count_vectors(Collection::Tasks).await?;
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

/// One pass's writer: hands batches to the import and counts its verdicts.
struct Writer<'i, 's> {
    import: &'i mut Import<'s>,
    /// Thoughts whose parent was not there yet (it may come later).
    deferred: Vec<(u64, Option<String>, Thought, Option<u64>)>,
}

impl Writer<'_, '_> {
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
        let (rows, agents): (Vec<_>, Vec<Agent>) = agents.into_iter().unzip();
        let ids = agents.iter().map(|a| a.id.clone()).collect();
        let verdicts = self.import.agents(agents).await?;
        report.tally(Kind::Agent, rows, ids, verdicts);

        let (rows, tasks): (Vec<_>, Vec<Task>) = tasks.into_iter().unzip();
        let ids = tasks.iter().map(|t| t.id.clone()).collect();
        let verdicts = self.import.tasks(tasks).await?;
        report.tally(Kind::Task, rows, ids, verdicts);

        report.thoughts.source += thoughts.len() as u64;
        for (row, id, thought, step) in thoughts {
            self.thought(row, id, thought, step, report).await?;
        }

        let (rows, logs): (Vec<_>, Vec<Log>) = logs.into_iter().unzip();
        let ids = logs.iter().map(|l| l.id.clone()).collect();
        let verdicts = self.import.logs(logs).await?;
        report.tally(Kind::Log, rows, ids, verdicts);
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
        match self.import.thought(thought.clone(), step).await? {
            Verdict::Waiting => self.deferred.push((row, id, thought, step)),
            verdict => report.count(Kind::Thought, row, id, verdict),
        }
        Ok(())
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
}
