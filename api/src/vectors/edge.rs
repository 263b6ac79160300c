//! Qdrant Edge adapter: one in-process `EdgeShard` per collection under a data directory.
//!
//! Document ids map to UUID v5 point ids (the original id is kept in the payload), and every
//! write is flushed (fsync'd) before it returns, because qdrant-edge 0.6.0 never replays its WAL.
//!
//! A shard that has taken [`OPTIMIZE_AFTER`] points since it was last optimised is optimised
//! on a thread of its own (segments merged, HNSW graphs built), as a Qdrant server does by
//! itself: without it every search scans every vector (~12 ms at 100,000 agents on 2 cores).
//! Searches and writes go on meanwhile.

use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use async_trait::async_trait;
use qdrant_edge::{
    AnyVariants, Condition, CountRequest, CreateIndex, Distance, EdgeConfig, EdgeShard,
    EdgeVectorParams, FieldCondition, FieldIndexOperations, Filter, HasIdCondition, JsonPath,
    Match, MatchAny, NamedQuery, OperationError, Payload, PayloadFieldSchema, PayloadOps,
    PayloadSchemaType, PointId, PointInsertOperations, PointOperations, PointStructPersisted,
    QueryEnum, QueryRequest, Range, ScoringQuery, ScrollRequest, SetPayloadOp, UpdateOperation,
    VectorStructPersisted, WithPayloadInterface, WithVector, DEFAULT_VECTOR_NAME,
};
use uuid::Uuid;

use super::{
    indexed_fields, top_hits, Collection, CollectionNames, IdPage, IndexType, ScoredId,
    VectorError, VectorFilter, VectorIndex, VectorPoint, PAYLOAD_ID, PAYLOAD_STATUS,
};

/// Namespace of the UUID v5 point ids derived from document ids. Never change it: existing
/// shards would no longer find (or replace) their points.
pub const POINT_ID_NAMESPACE: Uuid = Uuid::from_u128(0x5d0c_1e6a_7c3b_4f0e_9a41_2b8d_e3f6_a1c7);

/// The file qdrant-edge writes its shard config to (`EDGE_CONFIG_FILE`, private in the crate).
const EDGE_CONFIG_FILE: &str = "edge_config.json";
/// The directory qdrant-edge keeps segments in (`SEGMENTS_PATH`, private in the crate).
const SEGMENTS_DIR: &str = "segments";

/// The point id a document id is stored under.
pub fn point_id(doc_id: &str) -> Uuid {
    Uuid::new_v5(&POINT_ID_NAMESPACE, doc_id.as_bytes())
}

/// One collection's shard.
///
/// Durability: `EdgeShard::update` only appends to the WAL's memory map (no fsync), and
/// `EdgeShard::load` never replays the WAL, so an update is only kept across a crash once
/// `EdgeShard::flush` has run (it msyncs the WAL and flushes + fsyncs every segment, including
/// the id-tracker mappings that a plain update keeps only in memory). So every write runs
/// `update`, then waits for an `EdgeShard::flush` that started after its update: a write that
/// returned `Ok` survives SIGKILL and, as far as msync/fsync go, power loss. A write that
/// returned an error may or may not be kept. Concurrent writes share flushes (group commit):
/// a flush covers every update applied before it started.
///
/// `EdgeShard::flush` must never overlap an update (it does `try_lock().expect(..)` on the
/// WAL lock that `update` holds, and would panic), so both run under `applied`.
#[derive(Debug)]
struct Shard {
    collection: Collection,
    name: String,
    shard: EdgeShard,
    /// Held around every `update` and `flush`; counts the write batches applied.
    applied: Mutex<u64>,
    /// Held by the one thread flushing (lock order: `flushed`, then `applied`); the number of
    /// applied batches the last completed flush covered.
    flushed: Mutex<u64>,
    /// Points written since the last optimisation started.
    since_optimized: AtomicU64,
    /// An optimisation is running.
    optimizing: AtomicBool,
    /// Optimisations completed.
    optimized: AtomicU64,
}

/// Points written to a shard past which it is optimised in the background.
pub const OPTIMIZE_AFTER: u64 = 10_000;

/// Qdrant Edge (in-process) vector index: one shard per collection.
#[derive(Debug)]
pub struct EdgeVectors {
    /// One shard per collection, in [`Collection::ALL`] order.
    shards: Vec<Arc<Shard>>,
    dimension: usize,
}

impl EdgeVectors {
    /// Open (or create) one shard per collection, `dir/<collection name>`: dense unnamed
    /// vectors of `dimension` floats, cosine distance, indexes on the filtered fields.
    /// Blocking (file I/O); call it before serving or from `spawn_blocking`.
    pub fn open(
        dir: &Path,
        names: &CollectionNames,
        dimension: usize,
    ) -> Result<EdgeVectors, VectorError> {
        if dimension == 0 {
            return Err(VectorError::Backend(
                "qdrant-edge: vector dimension must be > 0".into(),
            ));
        }
        if let Some(name) = names.duplicate() {
            return Err(VectorError::Backend(format!(
                "qdrant-edge: each collection needs its own name, and different names ({name:?} is given twice)"
            )));
        }
        std::fs::create_dir_all(dir).map_err(|err| {
            VectorError::Backend(format!(
                "qdrant-edge: cannot create data directory {}: {err}",
                dir.display()
            ))
        })?;
        let mut shards = Vec::with_capacity(Collection::ALL.len());
        for collection in Collection::ALL {
            let name = names.name(collection).to_string();
            let shard = Arc::new(Shard::open(dir, collection, name, dimension)?);
            // Points stored by an earlier run may never have been optimised.
            let stored = shard.shard.info().points_count as u64;
            shard.written(stored);
            shards.push(shard);
        }
        Ok(EdgeVectors { shards, dimension })
    }

    /// Optimisations completed in `collection`'s shard since it was opened.
    pub fn optimizations(&self, collection: Collection) -> u64 {
        self.shard(collection).optimized.load(Ordering::Acquire)
    }

    /// Vectors of `collection` held in HNSW graphs (the rest are scanned).
    pub fn indexed_vectors(&self, collection: Collection) -> usize {
        self.shard(collection).shard.info().indexed_vectors_count
    }

    /// Whether `collection`'s shard is being optimised.
    pub fn optimizing(&self, collection: Collection) -> bool {
        self.shard(collection).optimizing.load(Ordering::Acquire)
    }

    fn shard(&self, collection: Collection) -> &Arc<Shard> {
        let index = Collection::ALL
            .iter()
            .position(|c| *c == collection)
            .expect("every collection is in Collection::ALL");
        &self.shards[index]
    }

    fn check_dimension(&self, collection: Collection, vector: &[f32]) -> Result<(), VectorError> {
        if vector.len() == self.dimension {
            Ok(())
        } else {
            Err(VectorError::Dimension {
                collection,
                expected: self.dimension,
                got: vector.len(),
            })
        }
    }
}

impl Shard {
    fn open(
        dir: &Path,
        collection: Collection,
        name: String,
        dimension: usize,
    ) -> Result<Shard, VectorError> {
        if name.is_empty()
            || name == "."
            || name == ".."
            || name.contains(['/', '\\'])
            || Path::new(&name).is_absolute()
        {
            return Err(VectorError::Backend(format!(
                "qdrant-edge: invalid collection name {name:?} for {collection:?} (it is used as a directory name)"
            )));
        }
        let path = dir.join(&name);
        let shard = if shard_exists(&path) {
            // `None`: take the config the shard was created with (passing one would
            // overwrite `edge_config.json`), then compare it with ours below.
            EdgeShard::load(&path, None).map_err(|err| backend_at(&path, "loading shard", &err))?
        } else {
            std::fs::create_dir_all(&path).map_err(|err| {
                VectorError::Backend(format!(
                    "qdrant-edge: cannot create shard directory {}: {err}",
                    path.display()
                ))
            })?;
            EdgeShard::new(&path, edge_config(dimension))
                .map_err(|err| backend_at(&path, "creating shard", &err))?
        };
        let shard = Shard {
            collection,
            name,
            shard,
            applied: Mutex::new(0),
            flushed: Mutex::new(0),
            since_optimized: AtomicU64::new(0),
            optimizing: AtomicBool::new(false),
            optimized: AtomicU64::new(0),
        };
        shard.check_config(&path, dimension)?;
        shard.ensure_payload_indexes()?;
        Ok(shard)
    }

    /// The shard must hold unnamed dense cosine vectors of `dimension` floats.
    fn check_config(&self, path: &Path, dimension: usize) -> Result<(), VectorError> {
        let config = self.shard.config();
        let Some(params) = config.vectors.get(DEFAULT_VECTOR_NAME) else {
            let names: Vec<&String> = config.vectors.keys().collect();
            return Err(VectorError::Backend(format!(
                "qdrant-edge: shard {} has no unnamed dense vector (it has {names:?}); it was not created by VectaDB",
                path.display()
            )));
        };
        if params.size != dimension {
            tracing::error!(
                path = %path.display(),
                stored = params.size,
                configured = dimension,
                "the vector shard was created for another embedding dimension; \
                 use the matching model or delete the directory and re-index"
            );
            return Err(VectorError::Dimension {
                collection: self.collection,
                expected: params.size,
                got: dimension,
            });
        }
        if params.distance != Distance::Cosine {
            return Err(VectorError::Backend(format!(
                "qdrant-edge: shard {} uses {:?} distance, VectaDB needs cosine",
                path.display(),
                params.distance
            )));
        }
        Ok(())
    }

    fn ensure_payload_indexes(&self) -> Result<(), VectorError> {
        let existing = self.shard.info().payload_schema;
        let mut operations = Vec::new();
        for &(field, index) in indexed_fields(self.collection) {
            let field_name = json_path(field)?;
            if !existing.contains_key(&field_name) {
                let schema = match index {
                    IndexType::Keyword => PayloadSchemaType::Keyword,
                    IndexType::Integer => PayloadSchemaType::Integer,
                };
                operations.push(UpdateOperation::FieldIndexOperation(
                    FieldIndexOperations::CreateIndex(CreateIndex {
                        field_name,
                        field_schema: Some(PayloadFieldSchema::FieldType(schema)),
                    }),
                ));
            }
        }
        if operations.is_empty() {
            Ok(())
        } else {
            self.write(operations)
        }
    }

    /// Apply the operations and make them durable before returning (see [`Shard`]).
    fn write(&self, operations: Vec<UpdateOperation>) -> Result<(), VectorError> {
        let batch = {
            let mut applied = lock(&self.applied);
            for operation in operations {
                self.shard
                    .update(operation)
                    .map_err(|err| self.backend("update", &err))?;
            }
            *applied += 1;
            *applied
        };
        self.flush_through(Some(batch))
    }

    /// Flush unless a flush that started after write batch `batch` was applied has completed
    /// meanwhile; `None` flushes unconditionally.
    fn flush_through(&self, batch: Option<u64>) -> Result<(), VectorError> {
        let mut flushed = lock(&self.flushed);
        if batch.is_some_and(|batch| *flushed >= batch) {
            return Ok(());
        }
        let applied = lock(&self.applied);
        let covered = *applied;
        self.flush_now()?;
        drop(applied);
        *flushed = covered;
        Ok(())
    }

    /// `EdgeShard::flush` returns nothing and panics on I/O errors; turn that into an error.
    /// Only call it holding `applied`.
    fn flush_now(&self) -> Result<(), VectorError> {
        std::panic::catch_unwind(AssertUnwindSafe(|| self.shard.flush())).map_err(|panic| {
            VectorError::Backend(format!(
                "qdrant-edge: flushing collection {:?} failed: {}",
                self.name,
                panic_message(panic.as_ref())
            ))
        })
    }

    fn backend(&self, what: &str, err: &OperationError) -> VectorError {
        VectorError::Backend(format!(
            "qdrant-edge: {what} on collection {:?} failed: {err}",
            self.name
        ))
    }

    /// Count `points` written; past [`OPTIMIZE_AFTER`], optimise in the background.
    fn written(self: &Arc<Self>, points: u64) {
        let total = self.since_optimized.fetch_add(points, Ordering::AcqRel) + points;
        if total >= OPTIMIZE_AFTER && !self.optimizing.swap(true, Ordering::AcqRel) {
            self.since_optimized.store(0, Ordering::Release);
            let shard = Arc::clone(self);
            let spawned = std::thread::Builder::new()
                .name(format!("optimize-{}", self.name))
                .spawn(move || shard.optimize());
            if let Err(err) = spawned {
                tracing::warn!(collection = %self.name, error = %err, "could not start optimising");
                self.optimizing.store(false, Ordering::Release);
            }
        }
    }

    /// Merge segments and build HNSW graphs where qdrant's optimisers plan it, then flush.
    /// Failures are logged: the shard stays searchable as it was.
    fn optimize(&self) {
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| self.shard.optimize()));
        match outcome {
            Ok(Ok(changed)) => {
                let flushed = if changed {
                    self.flush_through(None)
                } else {
                    Ok(())
                };
                match flushed {
                    Ok(()) => tracing::info!(
                        collection = %self.name,
                        changed,
                        elapsed = ?started.elapsed(),
                        "vector shard optimised"
                    ),
                    Err(err) => {
                        tracing::warn!(collection = %self.name, error = %err, "flush after optimising failed")
                    }
                }
            }
            Ok(Err(err)) => {
                tracing::warn!(collection = %self.name, error = %err, "optimising the vector shard failed")
            }
            Err(panic) => tracing::warn!(
                collection = %self.name,
                panic = %panic_message(panic.as_ref()),
                "optimising the vector shard panicked"
            ),
        }
        self.optimized.fetch_add(1, Ordering::AcqRel);
        self.optimizing.store(false, Ordering::Release);
    }
}

/// The locks only guard counters, so a panic while one was held leaves nothing inconsistent.
fn lock(mutex: &Mutex<u64>) -> MutexGuard<'_, u64> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether `path` already holds a shard (config file or segment data).
fn shard_exists(path: &Path) -> bool {
    path.join(EDGE_CONFIG_FILE).is_file()
        || std::fs::read_dir(path.join(SEGMENTS_DIR))
            .map(|mut entries| entries.next().is_some())
            .unwrap_or(false)
}

fn edge_config(dimension: usize) -> EdgeConfig {
    EdgeConfig {
        vectors: HashMap::from([(
            DEFAULT_VECTOR_NAME.to_string(),
            EdgeVectorParams {
                size: dimension,
                distance: Distance::Cosine,
                on_disk: None,
                multivector_config: None,
                datatype: None,
                quantization_config: None,
                hnsw_config: None,
            },
        )]),
        ..EdgeConfig::default()
    }
}

fn backend_at(path: &Path, what: &str, err: &OperationError) -> VectorError {
    VectorError::Backend(format!(
        "qdrant-edge: {what} at {} failed: {err}",
        path.display()
    ))
}

fn json_path(field: &str) -> Result<JsonPath, VectorError> {
    field.parse().map_err(|_| {
        VectorError::Backend(format!("qdrant-edge: invalid payload field name {field:?}"))
    })
}

fn keyword_condition(field: &str, value: &str) -> Result<Condition, VectorError> {
    Ok(Condition::Field(FieldCondition::new_match(
        json_path(field)?,
        Match::from(value.to_string()),
    )))
}

fn filter_of(filter: &VectorFilter) -> Result<Option<Filter>, VectorError> {
    let mut must = Vec::new();
    for condition in filter.conditions() {
        must.push(match condition {
            super::Condition::Keyword(field, value) => keyword_condition(field, value)?,
            super::Condition::AnyKeyword(field, values) => {
                Condition::Field(FieldCondition::new_match(
                    json_path(field)?,
                    Match::Any(MatchAny {
                        any: AnyVariants::Strings(values.iter().cloned().collect()),
                    }),
                ))
            }
            super::Condition::Range { field, gte, lt } => {
                Condition::Field(FieldCondition::new_range(
                    json_path(field)?,
                    Range {
                        lt: lt.map(|v| (v as f64).into()),
                        gt: None,
                        gte: gte.map(|v| (v as f64).into()),
                        lte: None,
                    },
                ))
            }
        });
    }
    Ok((!must.is_empty()).then(|| Filter {
        must: Some(must),
        ..Filter::default()
    }))
}

fn payload_of(point: &VectorPoint) -> Payload {
    Payload(point.payload())
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = panic.downcast_ref::<&str>() {
        (*message).to_string()
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// Run `f` on the shard in tokio's blocking pool: every `EdgeShard` call is synchronous and
/// takes locks.
async fn blocking<T, F>(shard: &Arc<Shard>, f: F) -> Result<T, VectorError>
where
    T: Send + 'static,
    F: FnOnce(&Shard) -> Result<T, VectorError> + Send + 'static,
{
    let shard = Arc::clone(shard);
    let name = shard.name.clone();
    tokio::task::spawn_blocking(move || f(&shard))
        .await
        .map_err(|err| {
            let reason = if err.is_panic() {
                panic_message(err.into_panic().as_ref())
            } else {
                err.to_string()
            };
            VectorError::Backend(format!(
                "qdrant-edge: operation on collection {name:?} failed: {reason}"
            ))
        })?
}

#[async_trait]
impl VectorIndex for EdgeVectors {
    async fn upsert(
        &self,
        collection: Collection,
        points: Vec<VectorPoint>,
    ) -> Result<(), VectorError> {
        if points.is_empty() {
            return Ok(());
        }
        let mut persisted = Vec::with_capacity(points.len());
        for point in points {
            self.check_dimension(collection, &point.vector)?;
            let payload = payload_of(&point);
            persisted.push(PointStructPersisted {
                id: PointId::Uuid(point_id(&point.id)),
                vector: VectorStructPersisted::Single(point.vector),
                payload: Some(payload),
            });
        }
        let written = persisted.len() as u64;
        let operation = UpdateOperation::PointOperation(PointOperations::UpsertPoints(
            PointInsertOperations::PointsList(persisted),
        ));
        blocking(self.shard(collection), move |shard| {
            shard.write(vec![operation])
        })
        .await?;
        self.shard(collection).written(written);
        Ok(())
    }

    async fn set_status(
        &self,
        collection: Collection,
        id: &str,
        status: &str,
    ) -> Result<(), VectorError> {
        let mut payload = serde_json::Map::new();
        payload.insert(PAYLOAD_STATUS.into(), status.into());
        // By filter, not by point list: with a point list qdrant fails on unknown ids, while
        // a filter that matches nothing is a no-op. `SetPayload` merges into the payload.
        let point: HasIdCondition = std::iter::once(PointId::Uuid(point_id(id))).collect();
        let operation = UpdateOperation::PayloadOperation(PayloadOps::SetPayload(SetPayloadOp {
            payload: Payload(payload),
            points: None,
            filter: Some(Filter::new_must(Condition::HasId(point))),
            key: None,
        }));
        blocking(self.shard(collection), move |shard| {
            shard.write(vec![operation])
        })
        .await
    }

    async fn delete(&self, collection: Collection, ids: &[String]) -> Result<(), VectorError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids = ids.iter().map(|id| PointId::Uuid(point_id(id))).collect();
        let operation = UpdateOperation::PointOperation(PointOperations::DeletePoints { ids });
        blocking(self.shard(collection), move |shard| {
            shard.write(vec![operation])
        })
        .await
    }

    async fn delete_matching(
        &self,
        collection: Collection,
        filter: &VectorFilter,
    ) -> Result<(), VectorError> {
        let filter = filter_of(filter)?.ok_or_else(super::no_condition)?;
        let operation =
            UpdateOperation::PointOperation(PointOperations::DeletePointsByFilter(filter));
        blocking(self.shard(collection), move |shard| {
            shard.write(vec![operation])
        })
        .await
    }

    async fn search(
        &self,
        collection: Collection,
        vector: Vec<f32>,
        limit: usize,
        threshold: f32,
        filter: &VectorFilter,
    ) -> Result<Vec<ScoredId>, VectorError> {
        self.check_dimension(collection, &vector)?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let request = QueryRequest {
            prefetches: Vec::new(),
            query: Some(ScoringQuery::Vector(QueryEnum::Nearest(
                NamedQuery::default_dense(vector),
            ))),
            filter: filter_of(filter)?,
            // Qdrant's own threshold is strict (`score > threshold`); ours is inclusive, so
            // it is applied below on the top `limit` hits (which is equivalent).
            score_threshold: None,
            limit,
            offset: 0,
            params: None,
            with_vector: WithVector::Bool(false),
            with_payload: WithPayloadInterface::Fields(vec![json_path(PAYLOAD_ID)?]),
        };
        blocking(self.shard(collection), move |shard| {
            let points = shard
                .shard
                .query(request)
                .map_err(|err| shard.backend("search", &err))?;
            let hits = points.into_iter().filter_map(|point| {
                let id = point
                    .payload
                    .as_ref()
                    .and_then(|payload| payload.0.get(PAYLOAD_ID))
                    .and_then(|id| id.as_str());
                match id {
                    Some(id) => Some(ScoredId {
                        id: id.to_string(),
                        score: point.score,
                    }),
                    None => {
                        tracing::warn!(
                            collection = %shard.name,
                            point = %point.id,
                            "qdrant-edge point without a string `{PAYLOAD_ID}` payload; skipped"
                        );
                        None
                    }
                }
            });
            Ok(top_hits(hits, threshold, limit))
        })
        .await
    }

    async fn existing(
        &self,
        collection: Collection,
        ids: &[String],
    ) -> Result<Vec<String>, VectorError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = ids.to_vec();
        blocking(self.shard(collection), move |shard| {
            let point_ids: Vec<PointId> =
                ids.iter().map(|id| PointId::Uuid(point_id(id))).collect();
            let found: HashSet<PointId> = shard
                .shard
                .retrieve(
                    &point_ids,
                    Some(WithPayloadInterface::Bool(false)),
                    Some(WithVector::Bool(false)),
                )
                .map_err(|err| shard.backend("retrieve", &err))?
                .into_iter()
                .map(|record| record.id)
                .collect();
            let mut seen = HashSet::new();
            Ok(ids
                .into_iter()
                .zip(point_ids)
                .filter(|(_, point_id)| found.contains(point_id) && seen.insert(*point_id))
                .map(|(id, _)| id)
                .collect())
        })
        .await
    }

    async fn scroll_ids(
        &self,
        collection: Collection,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<IdPage, VectorError> {
        let offset = match cursor {
            Some(cursor) => Some(PointId::Uuid(Uuid::parse_str(&cursor).map_err(|e| {
                VectorError::Backend(format!("invalid scroll cursor {cursor:?}: {e}"))
            })?)),
            None => None,
        };
        let request = ScrollRequest {
            offset,
            limit: Some(limit.max(1)),
            filter: None,
            with_payload: Some(WithPayloadInterface::Fields(vec![json_path(PAYLOAD_ID)?])),
            with_vector: WithVector::Bool(false),
            order_by: None,
        };
        blocking(self.shard(collection), move |shard| {
            let (records, next) = shard
                .shard
                .scroll(request)
                .map_err(|err| shard.backend("scroll", &err))?;
            let ids = records
                .into_iter()
                .filter_map(|record| {
                    record
                        .payload
                        .as_ref()
                        .and_then(|payload| payload.0.get(PAYLOAD_ID))
                        .and_then(|id| id.as_str())
                        .map(str::to_string)
                })
                .collect();
            Ok(IdPage {
                ids,
                next: next.map(|id| id.to_string()),
            })
        })
        .await
    }

    async fn count_matching(
        &self,
        collection: Collection,
        filter: &VectorFilter,
    ) -> Result<u64, VectorError> {
        let filter = filter_of(filter)?;
        blocking(self.shard(collection), move |shard| {
            let count = shard
                .shard
                .count(CountRequest {
                    filter,
                    exact: true,
                })
                .map_err(|err| shard.backend("count", &err))?;
            Ok(count as u64)
        })
        .await
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    async fn health(&self) -> Result<(), VectorError> {
        for collection in Collection::ALL {
            blocking(self.shard(collection), |shard| {
                let path = shard.shard.path();
                if !path.join(SEGMENTS_DIR).is_dir() {
                    return Err(VectorError::Unavailable(format!(
                        "qdrant-edge: shard directory {} is gone",
                        path.display()
                    )));
                }
                // An estimate: takes the segment locks without scanning.
                shard
                    .shard
                    .count(CountRequest {
                        filter: None,
                        exact: false,
                    })
                    .map_err(|err| {
                        VectorError::Unavailable(format!(
                            "qdrant-edge: collection {:?}: {err}",
                            shard.name
                        ))
                    })?;
                Ok(())
            })
            .await?;
        }
        Ok(())
    }

    async fn flush(&self) -> Result<(), VectorError> {
        for collection in Collection::ALL {
            blocking(self.shard(collection), |shard| shard.flush_through(None)).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader};
    use std::time::Duration;

    use super::*;

    const DIM: usize = 8;

    fn names() -> CollectionNames {
        CollectionNames::default()
    }

    fn open(dir: &Path) -> EdgeVectors {
        EdgeVectors::open(dir, &names(), DIM).expect("open edge vectors")
    }

    /// An 8-dim vector with the given leading components.
    fn v(head: &[f32]) -> Vec<f32> {
        let mut vector = vec![0.0; DIM];
        vector[..head.len()].copy_from_slice(head);
        vector
    }

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let norm = |x: &[f32]| x.iter().map(|c| c * c).sum::<f32>().sqrt();
        dot / (norm(a) * norm(b))
    }

    fn point(id: &str, vector: Vec<f32>, agent_id: &str, status: Option<&str>) -> VectorPoint {
        VectorPoint {
            id: id.to_string(),
            vector,
            agent_id: agent_id.to_string(),
            status: status.map(str::to_string),
            ..VectorPoint::default()
        }
    }

    fn ids(hits: &[ScoredId]) -> Vec<&str> {
        hits.iter().map(|hit| hit.id.as_str()).collect()
    }

    /// Four task points with distinct, known cosines to `query()` (none of unit length).
    fn sample() -> Vec<VectorPoint> {
        vec![
            point("task000001", v(&[3.0, 0.0]), "agent00001", Some("open")),
            point("task000002", v(&[2.0, 2.0]), "agent00001", Some("done")),
            point("task000003", v(&[0.0, 5.0]), "agent00002", Some("open")),
            point("task000004", v(&[-4.0, 1.0]), "agent00002", None),
        ]
    }

    fn query() -> Vec<f32> {
        v(&[4.0, 1.0])
    }

    /// The sample ids sorted by their cosine to `query()`, best first, with that cosine.
    fn expected_ranking() -> Vec<(String, f32)> {
        let mut expected: Vec<(String, f32)> = sample()
            .into_iter()
            .map(|p| {
                let score = cosine(&p.vector, &query());
                (p.id, score)
            })
            .collect();
        expected.sort_by(|a, b| b.1.total_cmp(&a.1));
        expected
    }

    async fn search_all(vectors: &EdgeVectors, vector: Vec<f32>) -> Vec<ScoredId> {
        vectors
            .search(
                Collection::Tasks,
                vector,
                100,
                -1.0,
                &VectorFilter::default(),
            )
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn payload_fields_are_indexed_by_type() {
        let dir = tempfile::tempdir().unwrap();
        let vectors = open(dir.path());
        assert_eq!(vectors.shards.len(), Collection::ALL.len());
        for shard in &vectors.shards {
            let schema = shard.shard.info().payload_schema;
            for &(field, index) in indexed_fields(shard.collection) {
                let info = schema
                    .get(&json_path(field).unwrap())
                    .unwrap_or_else(|| panic!("{field} is not indexed in {}", shard.name));
                let expected = match index {
                    IndexType::Keyword => PayloadSchemaType::Keyword,
                    IndexType::Integer => PayloadSchemaType::Integer,
                };
                assert_eq!(info.data_type, expected, "{field} in {}", shard.name);
            }
        }
    }

    #[tokio::test]
    async fn reopen_after_drop_keeps_points() {
        let dir = tempfile::tempdir().unwrap();
        let expected = expected_ranking();
        {
            let vectors = open(dir.path());
            vectors.upsert(Collection::Tasks, sample()).await.unwrap();
            vectors
                .upsert(
                    Collection::Agents,
                    vec![point("agent00001", v(&[1.0, 2.0, 3.0]), "agent00001", None)],
                )
                .await
                .unwrap();
            // Dropped here without calling `flush`.
        }
        assert!(dir.path().join("agents").is_dir());
        assert!(dir.path().join("tasks").is_dir());

        let vectors = open(dir.path());
        assert_eq!(vectors.count(Collection::Tasks).await.unwrap(), 4);
        assert_eq!(vectors.count(Collection::Agents).await.unwrap(), 1);
        let hits = search_all(&vectors, query()).await;
        assert_eq!(
            ids(&hits),
            expected
                .iter()
                .map(|(id, _)| id.as_str())
                .collect::<Vec<_>>()
        );
        let hits = vectors
            .search(
                Collection::Tasks,
                query(),
                10,
                -1.0,
                &VectorFilter {
                    agent_id: Some("agent00001".into()),
                    status: Some("done".into()),
                    ..VectorFilter::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(ids(&hits), vec!["task000002"]);
        let agents = vectors
            .existing(Collection::Agents, &["agent00001".to_string()])
            .await
            .unwrap();
        assert_eq!(agents, vec!["agent00001"]);

        // Still writable after the reload.
        vectors
            .upsert(
                Collection::Tasks,
                vec![point("task000005", v(&[4.0, 1.0]), "agent00001", None)],
            )
            .await
            .unwrap();
        assert_eq!(vectors.count(Collection::Tasks).await.unwrap(), 5);
        assert_eq!(search_all(&vectors, query()).await[0].id, "task000005");
    }

    #[tokio::test]
    async fn opening_with_another_dimension_fails() {
        let dir = tempfile::tempdir().unwrap();
        drop(open(dir.path()));

        let err = EdgeVectors::open(dir.path(), &names(), 16).unwrap_err();
        match err {
            VectorError::Dimension {
                collection,
                expected,
                got,
            } => {
                assert_eq!(collection, Collection::Agents);
                assert_eq!(expected, DIM);
                assert_eq!(got, 16);
            }
            other => panic!("expected a dimension error, got {other:?}"),
        }
        // The failed open did not damage the shards.
        let vectors = open(dir.path());
        assert_eq!(vectors.dimension(), DIM);
    }

    #[tokio::test]
    async fn custom_collection_names_are_directories() {
        let dir = tempfile::tempdir().unwrap();
        let names = CollectionNames {
            agents: "a_vectors".into(),
            tasks: "t_vectors".into(),
            logs: "l_vectors".into(),
            thoughts: "th_vectors".into(),
        };
        let vectors = EdgeVectors::open(dir.path(), &names, DIM).unwrap();
        vectors.health().await.unwrap();
        vectors.flush().await.unwrap();
        assert!(dir
            .path()
            .join("a_vectors")
            .join(EDGE_CONFIG_FILE)
            .is_file());
        assert!(dir
            .path()
            .join("t_vectors")
            .join(EDGE_CONFIG_FILE)
            .is_file());

        let same = CollectionNames {
            logs: "x".into(),
            thoughts: "x".into(),
            ..CollectionNames::default()
        };
        assert!(EdgeVectors::open(dir.path(), &same, DIM).is_err());
        let bad = CollectionNames {
            agents: "../escape".into(),
            tasks: "t".into(),
            ..CollectionNames::default()
        };
        assert!(EdgeVectors::open(dir.path(), &bad, DIM).is_err());
        assert!(!dir.path().join("t").exists());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_flushes_and_reads() {
        let dir = tempfile::tempdir().unwrap();
        let vectors = Arc::new(open(dir.path()));
        let mut tasks = Vec::new();
        for worker in 0..4 {
            let vectors = Arc::clone(&vectors);
            tasks.push(tokio::spawn(async move {
                for i in 0..10 {
                    let id = format!("w{worker}p{i:07}");
                    let vector = v(&[1.0 + i as f32, worker as f32]);
                    vectors
                        .upsert(
                            Collection::Tasks,
                            vec![point(&id, vector, "agent00001", None)],
                        )
                        .await
                        .unwrap();
                    vectors.flush().await.unwrap();
                    vectors.health().await.unwrap();
                    search_all(&vectors, query()).await;
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(vectors.count(Collection::Tasks).await.unwrap(), 40);
    }

    /// Set in the child process of `write_survives_sigkill`.
    const SIGKILL_CHILD_DIR: &str = "VECTADB_EDGE_SIGKILL_CHILD_DIR";
    const SIGKILL_CHILD_READY: &str = "edge-sigkill-child-ready";

    /// The agent ids `sigkill_child` writes concurrently.
    fn concurrent_agent_ids() -> Vec<String> {
        (0..8)
            .flat_map(|worker| (0..5).map(move |i| format!("agent{worker}{i:04}")))
            .collect()
    }

    /// Child half of `write_survives_sigkill` (a no-op when run normally): write, report,
    /// then wait to be killed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sigkill_child() {
        let Some(dir) = std::env::var_os(SIGKILL_CHILD_DIR) else {
            return;
        };
        let vectors = open(Path::new(&dir));
        vectors.upsert(Collection::Tasks, sample()).await.unwrap();
        vectors
            .delete(Collection::Tasks, &["task000004".to_string()])
            .await
            .unwrap();
        // Concurrent single-point writes, which share flushes.
        let vectors = Arc::new(vectors);
        let writers: Vec<_> = concurrent_agent_ids()
            .chunks(5)
            .map(|ids| {
                let (vectors, ids) = (Arc::clone(&vectors), ids.to_vec());
                tokio::spawn(async move {
                    for (i, id) in ids.iter().enumerate() {
                        let vector = v(&[1.0, i as f32]);
                        let agent = point(id, vector, id, None);
                        vectors
                            .upsert(Collection::Agents, vec![agent])
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        println!("{SIGKILL_CHILD_READY}");
        tokio::time::sleep(Duration::from_secs(300)).await;
    }

    /// A write that returned is still there after the process is SIGKILLed (no drop, no
    /// `flush` call): re-runs this test binary as a child that writes and gets killed.
    #[cfg(unix)]
    #[tokio::test]
    async fn write_survives_sigkill() {
        use std::os::unix::process::ExitStatusExt;
        use std::process::{Command, Stdio};

        if std::env::var_os(SIGKILL_CHILD_DIR).is_some() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let module = module_path!()
            .split_once("::")
            .map_or(module_path!(), |(_, rest)| rest);
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                &format!("{module}::sigkill_child"),
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(SIGKILL_CHILD_DIR, dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let ready = tokio::task::spawn_blocking(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .any(|line| line.contains(SIGKILL_CHILD_READY))
        })
        .await
        .unwrap();
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert!(ready, "the child exited before writing ({status})");
        assert_eq!(status.signal(), Some(9), "{status}");

        let vectors = open(dir.path());
        assert_eq!(vectors.count(Collection::Tasks).await.unwrap(), 3);
        let hits = search_all(&vectors, query()).await;
        let mut found: Vec<&str> = ids(&hits);
        found.sort_unstable();
        assert_eq!(found, vec!["task000001", "task000002", "task000003"]);
        let agent_ids = concurrent_agent_ids();
        assert_eq!(vectors.count(Collection::Agents).await.unwrap(), 40);
        let existing = vectors
            .existing(Collection::Agents, &agent_ids)
            .await
            .unwrap();
        assert_eq!(existing, agent_ids);
    }

    /// Past `OPTIMIZE_AFTER` points a shard builds its HNSW graph in the background; writes
    /// made meanwhile are kept, searches stay exact for an exact match, and all of it is
    /// there after a reopen.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_large_shard_is_optimised_in_the_background() {
        const WIDE: usize = 384;
        let dir = tempfile::tempdir().unwrap();
        let vectors = EdgeVectors::open(dir.path(), &names(), WIDE).unwrap();
        let vector = |i: u64| -> Vec<f32> {
            (0..WIDE as u64)
                .map(|d| {
                    ((i.wrapping_mul(2_654_435_761) ^ d.wrapping_mul(40_503)) % 1_000) as f32
                        - 500.0
                })
                .collect()
        };
        let total = OPTIMIZE_AFTER + 2_000;
        for start in (0..total).step_by(2_000) {
            let points = (start..start + 2_000)
                .map(|i| point(&format!("doc{i}"), vector(i), "a", None))
                .collect();
            vectors.upsert(Collection::Agents, points).await.unwrap();
        }
        assert!(
            vectors.optimizing(Collection::Agents) || vectors.optimizations(Collection::Agents) > 0
        );
        // Written while the optimiser runs.
        let late: Vec<VectorPoint> = (total..total + 500)
            .map(|i| point(&format!("doc{i}"), vector(i), "a", None))
            .collect();
        vectors.upsert(Collection::Agents, late).await.unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(300);
        while vectors.optimizations(Collection::Agents) == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "not optimised in 300 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            vectors.indexed_vectors(Collection::Agents) > 0,
            "an HNSW graph was built"
        );
        assert_eq!(
            vectors.count(Collection::Agents).await.unwrap(),
            total + 500
        );
        let hits = vectors
            .search(
                Collection::Agents,
                vector(7),
                1,
                -1.0,
                &VectorFilter::default(),
            )
            .await
            .unwrap();
        assert_eq!(ids(&hits), vec!["doc7"]);
        drop(vectors);
        let reopened = EdgeVectors::open(dir.path(), &names(), WIDE).unwrap();
        assert_eq!(
            reopened.count(Collection::Agents).await.unwrap(),
            total + 500
        );
        let hits = reopened
            .search(
                Collection::Agents,
                vector(total + 499),
                1,
                -1.0,
                &VectorFilter::default(),
            )
            .await
            .unwrap();
        assert_eq!(ids(&hits), vec![format!("doc{}", total + 499).as_str()]);
    }
}
