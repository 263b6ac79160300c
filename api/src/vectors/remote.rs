//! Remote Qdrant adapter: a Qdrant server over gRPC (`qdrant-client`) with the semantics of
//! the in-process [`super::edge`] adapter (UUID v5 point ids from [`super::edge::point_id`],
//! payload fields `id`/`agent_id`/`status`, inclusive thresholds applied here).
//! [`RemoteQdrant::connect`] only checks the collections; [`RemoteQdrant::provision`] creates them.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use qdrant_client::qdrant::point_id::PointIdOptions;
use qdrant_client::qdrant::r#match::MatchValue;
use qdrant_client::qdrant::value::Kind;
use qdrant_client::qdrant::vectors_config::Config as VectorsConfigKind;
use qdrant_client::qdrant::{
    CollectionInfo, Condition, CountPointsBuilder, CreateCollectionBuilder,
    CreateFieldIndexCollectionBuilder, DeletePointsBuilder, Distance, FieldType, Filter,
    GetPointsBuilder, PayloadIncludeSelector, PayloadSchemaType, PointId, PointStruct,
    PointsIdsList, Query, QueryPointsBuilder, Range, ScrollPointsBuilder, SetPayloadPointsBuilder,
    UpsertPointsBuilder, Value, VectorParamsBuilder,
};
use qdrant_client::{Payload, Qdrant, QdrantError};
use tonic::Code;
use uuid::Uuid;

// The one mapping from document ids to point ids: both adapters must agree.
use super::edge::point_id;
use super::{
    indexed_fields, top_hits, Collection, CollectionNames, IdPage, IndexType, ScoredId,
    VectorError, VectorFilter, VectorIndex, VectorPoint, PAYLOAD_ID, PAYLOAD_STATUS,
};
use crate::provisioned::Provisioned;
use crate::retry;

/// How often a call that found the server unreachable or overloaded is tried
/// again (with backoff from 100 ms, within the backend timeout).
const UNAVAILABLE_RETRIES: u32 = 3;

/// A Qdrant server reached over gRPC (usually port 6334). One client (a small pool of HTTP/2
/// channels) serves the whole process: share it behind an `Arc`.
pub struct RemoteQdrant {
    client: Qdrant,
    url: String,
    names: CollectionNames,
    dimension: usize,
    timeout: Duration,
}

impl fmt::Debug for RemoteQdrant {
    // By hand: the client holds the API key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteQdrant")
            .field("url", &self.url)
            .field("names", &self.names)
            .field("dimension", &self.dimension)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// What [`RemoteQdrant::inspect`] found for one collection.
enum Found {
    Missing,
    Present(Box<CollectionInfo>),
}

impl RemoteQdrant {
    /// Connect to the Qdrant server at `url` (gRPC, e.g. `http://127.0.0.1:6334`) and check that
    /// both collections exist with `dimension`-sized cosine vectors. `timeout` bounds every
    /// call (connecting included). Missing collections are a [`VectorError::Backend`] that says
    /// to run `vectadb provision`; another vector size is a [`VectorError::Dimension`]; an
    /// unreachable server is [`VectorError::Unavailable`].
    pub async fn connect(
        url: &str,
        api_key: Option<&str>,
        names: &CollectionNames,
        dimension: usize,
        timeout: Duration,
    ) -> Result<RemoteQdrant, VectorError> {
        let remote = RemoteQdrant::client(url, api_key, names, dimension, timeout)?;
        remote.ping().await?;
        for collection in Collection::ALL {
            match remote.inspect(collection).await? {
                Found::Missing => {
                    return Err(VectorError::Backend(format!(
                        "Qdrant: collection {:?} does not exist on {}; run `vectadb provision` \
                         to create the collections",
                        remote.name(collection),
                        remote.url
                    )))
                }
                Found::Present(info) => {
                    remote.check_params(collection, &info)?;
                    let missing = remote.missing_indexes(collection, &info)?;
                    if !missing.is_empty() {
                        tracing::warn!(
                            url = %remote.url,
                            collection = remote.name(collection),
                            fields = ?missing,
                            "Qdrant collection has no keyword index on some filtered payload \
                             fields; filtered searches are slower (`vectadb provision` adds them)"
                        );
                    }
                }
            }
        }
        Ok(remote)
    }

    /// Create what is missing, idempotently: both collections (`dimension`-sized vectors,
    /// cosine distance) and keyword payload indexes on [`INDEXED_PAYLOAD_FIELDS`]. Existing
    /// collections are checked like [`RemoteQdrant::connect`] does, never changed otherwise.
    /// Returns the connected index and one report line per collection.
    pub async fn provision(
        url: &str,
        api_key: Option<&str>,
        names: &CollectionNames,
        dimension: usize,
        timeout: Duration,
    ) -> Result<(RemoteQdrant, Provisioned), VectorError> {
        let remote = RemoteQdrant::client(url, api_key, names, dimension, timeout)?;
        remote.ping().await?;
        let mut report = Provisioned::default();
        for collection in Collection::ALL {
            let (line, changed) = remote.provision_collection(collection).await?;
            report.step(line, changed);
        }
        Ok((remote, report))
    }

    /// The URL this index talks to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Build the client (no I/O yet: channels connect on first use).
    fn client(
        url: &str,
        api_key: Option<&str>,
        names: &CollectionNames,
        dimension: usize,
        timeout: Duration,
    ) -> Result<RemoteQdrant, VectorError> {
        if dimension == 0 {
            return Err(VectorError::Backend(
                "Qdrant: vector dimension must be > 0".into(),
            ));
        }
        if Collection::ALL.iter().any(|c| names.name(*c).is_empty()) {
            return Err(VectorError::Backend(
                "Qdrant: collection names must not be empty".into(),
            ));
        }
        if let Some(name) = names.duplicate() {
            return Err(VectorError::Backend(format!(
                "Qdrant: each collection needs its own name, and different names ({name:?} is given twice)"
            )));
        }
        // An empty key (e.g. `QDRANT_API_KEY=`) means none. A key that is not a valid header
        // value would fail every request with an error that quotes the key: refuse it here.
        let api_key = api_key.filter(|key| !key.is_empty());
        if let Some(key) = api_key {
            if !key.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
                return Err(VectorError::Backend(
                    "Qdrant: the API key contains characters that cannot be sent in a header \
                     (only printable ASCII is allowed)"
                        .into(),
                ));
            }
        }
        // `skip_compatibility_check`: the default check blocks the calling thread on a
        // throw-away runtime and prints to stdout; `ping` asks the server instead.
        let client = Qdrant::from_url(url)
            .api_key(api_key)
            .timeout(timeout)
            .connect_timeout(timeout)
            .skip_compatibility_check()
            .build()
            .map_err(|err| match err {
                QdrantError::InvalidUri(err) => VectorError::Backend(format!(
                    "Qdrant: invalid URL {url:?}: {err} (expected e.g. http://127.0.0.1:6334)"
                )),
                other => VectorError::Backend(format!(
                    "Qdrant: cannot create a client for {url}: {other}"
                )),
            })?;
        Ok(RemoteQdrant {
            client,
            url: url.to_string(),
            names: names.clone(),
            dimension,
            timeout,
        })
    }

    fn name(&self, collection: Collection) -> &str {
        self.names.name(collection)
    }

    /// The server answers gRPC. (Qdrant answers health checks without the API key: a wrong
    /// key shows up on the next call.)
    async fn ping(&self) -> Result<(), VectorError> {
        let reply = self
            .call_with("health check", None, 0, || self.client.health_check())
            .await
            .map_err(|mut err| {
                if let VectorError::Unavailable(message) | VectorError::Backend(message) = &mut err
                {
                    // What tonic reports when the other end speaks HTTP/1 (e.g. the REST
                    // port) or is no gRPC server at all.
                    if message.contains("transport error")
                        || message.contains("h2 protocol error")
                        || message.contains("grpc-status header missing")
                        || self.url.trim_end_matches('/').ends_with(":6333")
                    {
                        message.push_str(
                            " (is this Qdrant's gRPC port? VectaDB speaks gRPC, usually on port \
                             6334; 6333 is the REST port)",
                        );
                    }
                }
                err
            })?;
        tracing::debug!(url = %self.url, version = %reply.version, "connected to Qdrant");
        Ok(())
    }

    /// Run a client call, retrying transient failures (server unreachable or
    /// overloaded) with backoff, all of it bounded by `timeout` (qdrant-client itself
    /// retries some failures once on a fresh channel). `request` makes the call anew
    /// for each attempt; every call retried this way is idempotent (upserts, deletes
    /// and payload updates by id or filter, reads).
    async fn call<T, Fut>(
        &self,
        what: &str,
        collection: Option<Collection>,
        request: impl Fn() -> Fut,
    ) -> Result<T, VectorError>
    where
        Fut: std::future::Future<Output = Result<T, QdrantError>>,
    {
        self.call_with(what, collection, UNAVAILABLE_RETRIES, request)
            .await
    }

    /// [`RemoteQdrant::call`] with at most `retries` retries (0 for health checks,
    /// which answer now rather than after a backoff).
    async fn call_with<T, Fut>(
        &self,
        what: &str,
        collection: Option<Collection>,
        retries: u32,
        request: impl Fn() -> Fut,
    ) -> Result<T, VectorError>
    where
        Fut: std::future::Future<Output = Result<T, QdrantError>>,
    {
        let attempts = retry::with_retries(
            || async {
                request()
                    .await
                    .map_err(|err| self.error(what, collection, err))
            },
            |error, failures| match error {
                VectorError::Unavailable(_) if failures <= retries => Some(retry::backoff(
                    failures,
                    Duration::from_millis(100),
                    Duration::from_secs(1),
                )),
                _ => None,
            },
        );
        tokio::time::timeout(self.timeout, attempts)
            .await
            .unwrap_or_else(|_| Err(self.timed_out(what, collection)))
    }

    fn timed_out(&self, what: &str, collection: Option<Collection>) -> VectorError {
        VectorError::Unavailable(format!(
            "Qdrant at {} is unreachable ({what}{}): no answer within {:?}",
            self.url,
            self.on(collection),
            self.timeout
        ))
    }

    fn on(&self, collection: Option<Collection>) -> String {
        collection
            .map(|c| format!(" on collection {:?}", self.name(c)))
            .unwrap_or_default()
    }

    async fn inspect(&self, collection: Collection) -> Result<Found, VectorError> {
        let request = self.client.collection_info(self.name(collection));
        let what = "reading collection info";
        let response = tokio::time::timeout(self.timeout, request)
            .await
            .map_err(|_| self.timed_out(what, Some(collection)))?;
        match response {
            Ok(response) => match response.result {
                Some(info) => Ok(Found::Present(Box::new(info))),
                None => Err(VectorError::Backend(format!(
                    "Qdrant at {}: no info returned for collection {:?}",
                    self.url,
                    self.name(collection)
                ))),
            },
            Err(QdrantError::ResponseError { status }) if status.code() == Code::NotFound => {
                Ok(Found::Missing)
            }
            Err(err) => Err(self.error(what, Some(collection), err)),
        }
    }

    /// The collection holds unnamed dense cosine vectors of our dimension.
    fn check_params(
        &self,
        collection: Collection,
        info: &CollectionInfo,
    ) -> Result<(), VectorError> {
        let name = self.name(collection);
        let config = info
            .config
            .as_ref()
            .and_then(|config| config.params.as_ref())
            .and_then(|params| params.vectors_config.as_ref())
            .and_then(|vectors| vectors.config.as_ref());
        let params = match config {
            Some(VectorsConfigKind::Params(params)) => params,
            Some(VectorsConfigKind::ParamsMap(map)) => {
                let mut names: Vec<&String> = map.map.keys().collect();
                names.sort();
                return Err(VectorError::Backend(format!(
                    "Qdrant at {}: collection {name:?} has named vectors {names:?}, VectaDB \
                     needs one unnamed vector; it was not created by VectaDB",
                    self.url
                )));
            }
            None => {
                return Err(VectorError::Backend(format!(
                    "Qdrant at {}: collection {name:?} has no dense vector configuration; it \
                     was not created by VectaDB",
                    self.url
                )))
            }
        };
        let stored = usize::try_from(params.size).unwrap_or(usize::MAX);
        if stored != self.dimension {
            tracing::error!(
                url = %self.url,
                collection = name,
                stored,
                configured = self.dimension,
                "the Qdrant collection was created for another embedding dimension; use the \
                 matching model or another collection name and re-index"
            );
            return Err(VectorError::Dimension {
                collection,
                expected: stored,
                got: self.dimension,
            });
        }
        if params.distance != Distance::Cosine as i32 {
            let distance = Distance::try_from(params.distance)
                .map(|d| d.as_str_name().to_string())
                .unwrap_or_else(|_| params.distance.to_string());
            return Err(VectorError::Backend(format!(
                "Qdrant at {}: collection {name:?} uses {distance} distance, VectaDB needs Cosine",
                self.url
            )));
        }
        Ok(())
    }

    /// The filtered fields without their index; another index type on one is an error.
    fn missing_indexes(
        &self,
        collection: Collection,
        info: &CollectionInfo,
    ) -> Result<Vec<(&'static str, IndexType)>, VectorError> {
        let mut missing = Vec::new();
        for &(field, index) in indexed_fields(collection) {
            let wanted = match index {
                IndexType::Keyword => PayloadSchemaType::Keyword,
                IndexType::Integer => PayloadSchemaType::Integer,
            };
            match info.payload_schema.get(field) {
                None => missing.push((field, index)),
                Some(schema) if schema.data_type == wanted as i32 => {}
                Some(schema) => {
                    let found = PayloadSchemaType::try_from(schema.data_type)
                        .map(|t| t.as_str_name().to_string())
                        .unwrap_or_else(|_| schema.data_type.to_string());
                    return Err(VectorError::Backend(format!(
                        "Qdrant at {}: collection {:?} indexes payload field {field:?} as \
                         {found}, VectaDB needs a {} index",
                        self.url,
                        self.name(collection),
                        wanted.as_str_name()
                    )));
                }
            }
        }
        Ok(missing)
    }

    /// Create the collection and its payload indexes where missing: what is
    /// there now, and whether anything was created.
    async fn provision_collection(
        &self,
        collection: Collection,
    ) -> Result<(String, bool), VectorError> {
        let name = self.name(collection);
        let (info, created) = match self.inspect(collection).await? {
            Found::Present(info) => (info, false),
            Found::Missing => {
                let request = CreateCollectionBuilder::new(name).vectors_config(
                    VectorParamsBuilder::new(self.dimension as u64, Distance::Cosine),
                );
                let created = self
                    .call("creating the collection", Some(collection), || {
                        self.client.create_collection(request.clone())
                    })
                    .await;
                // On an error, another provisioner may have created it meanwhile: then
                // check theirs like any existing collection.
                match (self.inspect(collection).await?, created) {
                    (Found::Present(info), created) => (info, created.is_ok()),
                    (Found::Missing, Err(err)) => return Err(err),
                    (Found::Missing, Ok(_)) => {
                        return Err(VectorError::Backend(format!(
                        "Qdrant at {}: collection {name:?} is missing right after it was created",
                        self.url
                    )))
                    }
                }
            }
        };
        self.check_params(collection, &info)?;
        let missing = self.missing_indexes(collection, &info)?;
        for (field, index) in &missing {
            let field_type = match index {
                IndexType::Keyword => FieldType::Keyword,
                IndexType::Integer => FieldType::Integer,
            };
            let request =
                CreateFieldIndexCollectionBuilder::new(name, *field, field_type).wait(true);
            self.call("creating a payload index", Some(collection), || {
                self.client.create_field_index(request.clone())
            })
            .await?;
        }
        let what = if created {
            "created"
        } else if missing.is_empty() {
            "already present"
        } else {
            "present, payload indexes added"
        };
        let line = format!(
            "Qdrant {}: collection {name} {what} ({}-dimensional, cosine, {})",
            self.url,
            self.dimension,
            super::indexes_described(collection)
        );
        Ok((line, created || !missing.is_empty()))
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

    /// Map a client error: transport failures (refused, reset, timed out, server shutting
    /// down or overloaded) are [`VectorError::Unavailable`], everything else (a rejected API
    /// key included) a [`VectorError::Backend`]; both name Qdrant and the URL.
    fn error(&self, what: &str, collection: Option<Collection>, err: QdrantError) -> VectorError {
        let url = &self.url;
        let on = self.on(collection);
        let status = match err {
            QdrantError::ResponseError { status } => status,
            QdrantError::ResourceExhaustedError {
                status,
                retry_after_seconds,
            } => {
                return VectorError::Unavailable(format!(
                    "Qdrant at {url} is overloaded ({what}{on}): {}; retry after {} s",
                    status.message(),
                    retry_after_seconds
                ))
            }
            QdrantError::Io(err) => {
                return VectorError::Unavailable(format!(
                    "Qdrant at {url} is unreachable ({what}{on}): {err}"
                ))
            }
            other => {
                return VectorError::Backend(format!("Qdrant at {url}: {what}{on} failed: {other}"))
            }
        };
        let message = status.message();
        match status.code() {
            Code::Unavailable | Code::Cancelled | Code::DeadlineExceeded => {
                let reason = if message.contains("Timeout expired")
                    || status.code() == Code::DeadlineExceeded
                {
                    format!("no answer within {:?}", self.timeout)
                } else {
                    connect_reason(message)
                };
                VectorError::Unavailable(format!(
                    "Qdrant at {url} is unreachable ({what}{on}): {reason}"
                ))
            }
            // qdrant-client reports a failed connect as `Internal("Failed to connect to ..")`.
            Code::Internal | Code::Unknown
                if message.starts_with("Failed to connect")
                    || message.contains("transport error") =>
            {
                VectorError::Unavailable(format!(
                    "Qdrant at {url} is unreachable ({what}{on}): {}",
                    connect_reason(message)
                ))
            }
            Code::ResourceExhausted => VectorError::Unavailable(format!(
                "Qdrant at {url} is overloaded ({what}{on}): {message}"
            )),
            Code::Unauthenticated | Code::PermissionDenied => VectorError::Backend(format!(
                "Qdrant at {url} rejected the request ({what}{on}): {message}; check the API key"
            )),
            Code::NotFound if collection.is_some() => VectorError::Backend(format!(
                "Qdrant at {url}: {what}{on} failed: {message}; run `vectadb provision` to \
                 create the collections"
            )),
            code => VectorError::Backend(format!(
                "Qdrant at {url}: {what}{on} failed: {code:?}: {message}"
            )),
        }
    }

    fn payload_of(point: &VectorPoint) -> Payload {
        Payload::from(point.payload())
    }
}

/// A short reason for a transport failure (tonic's messages carry a whole error chain).
fn connect_reason(message: &str) -> String {
    let lower = message.to_ascii_lowercase();
    if lower.contains("connection refused") {
        "connection refused".into()
    } else if lower.contains("timed out") || lower.contains("timeout") {
        "connection timed out".into()
    } else if lower.contains("connection reset") {
        "connection reset".into()
    } else if lower.contains("dns error") || lower.contains("failed to lookup") {
        "cannot resolve the host name".into()
    } else if lower.contains("invalidcontenttype") || lower.contains("tls") {
        format!("TLS handshake failed (for a server without TLS use an http:// URL): {message}")
    } else {
        message.to_string()
    }
}

/// The point id a document id is stored under, as the gRPC type.
fn grpc_point_id(doc_id: &str) -> PointId {
    PointId::from(point_id(doc_id).to_string())
}

/// A keyword condition. Not `Condition::matches(field, String)`: qdrant-client turns strings
/// with whitespace into full-text matches.
fn keyword(field: &str, value: &str) -> Condition {
    Condition::matches(field, MatchValue::Keyword(value.to_string()))
}

fn filter_of(filter: &VectorFilter) -> Option<Filter> {
    let must: Vec<Condition> = filter
        .conditions()
        .into_iter()
        .map(|condition| match condition {
            super::Condition::Keyword(field, value) => keyword(field, value),
            super::Condition::AnyKeyword(field, values) => {
                Condition::matches(field, MatchValue::from(values.to_vec()))
            }
            super::Condition::Range { field, gte, lt } => Condition::range(
                field,
                Range {
                    lt: lt.map(|v| v as f64),
                    gte: gte.map(|v| v as f64),
                    ..Range::default()
                },
            ),
        })
        .collect();
    (!must.is_empty()).then(|| Filter::must(must))
}

fn only_id_payload() -> PayloadIncludeSelector {
    PayloadIncludeSelector {
        fields: vec![PAYLOAD_ID.to_string()],
    }
}

fn doc_id_of(payload: &std::collections::HashMap<String, Value>) -> Option<&str> {
    match payload.get(PAYLOAD_ID)?.kind.as_ref()? {
        Kind::StringValue(id) => Some(id),
        _ => None,
    }
}

/// A point id as VectaDB's scroll cursor: the UUID string (numeric ids, which VectaDB never
/// writes, as their decimal form).
fn cursor_of(id: &PointId) -> Option<String> {
    match id.point_id_options.as_ref()? {
        PointIdOptions::Uuid(uuid) => Some(
            Uuid::parse_str(uuid)
                .map(|u| u.to_string())
                .unwrap_or_else(|_| uuid.clone()),
        ),
        PointIdOptions::Num(n) => Some(n.to_string()),
    }
}

fn uuid_of(id: &PointId) -> Option<Uuid> {
    match id.point_id_options.as_ref()? {
        PointIdOptions::Uuid(uuid) => Uuid::parse_str(uuid).ok(),
        PointIdOptions::Num(_) => None,
    }
}

#[async_trait]
impl VectorIndex for RemoteQdrant {
    async fn upsert(
        &self,
        collection: Collection,
        points: Vec<VectorPoint>,
    ) -> Result<(), VectorError> {
        if points.is_empty() {
            return Ok(());
        }
        for point in &points {
            self.check_dimension(collection, &point.vector)?;
        }
        let points: Vec<PointStruct> = points
            .into_iter()
            .map(|point| {
                let payload = Self::payload_of(&point);
                PointStruct::new(grpc_point_id(&point.id), point.vector, payload)
            })
            .collect();
        let request = UpsertPointsBuilder::new(self.name(collection), points).wait(true);
        self.call("upsert", Some(collection), || {
            self.client.upsert_points(request.clone())
        })
        .await?;
        Ok(())
    }

    async fn set_status(
        &self,
        collection: Collection,
        id: &str,
        status: &str,
    ) -> Result<(), VectorError> {
        let mut payload = Payload::new();
        payload.insert(PAYLOAD_STATUS, status.to_string());
        // By filter, not by point list: with a point list Qdrant fails on unknown ids, while a
        // filter that matches nothing is a no-op. `set_payload` merges into the payload.
        let request = SetPayloadPointsBuilder::new(self.name(collection), payload)
            .points_selector(Filter::must([Condition::has_id([grpc_point_id(id)])]))
            .wait(true);
        self.call("set status", Some(collection), || {
            self.client.set_payload(request.clone())
        })
        .await?;
        Ok(())
    }

    async fn delete(&self, collection: Collection, ids: &[String]) -> Result<(), VectorError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids: Vec<PointId> = ids.iter().map(|id| grpc_point_id(id)).collect();
        self.call("delete", Some(collection), || {
            self.client.delete_points(
                DeletePointsBuilder::new(self.name(collection))
                    .points(PointsIdsList { ids: ids.clone() })
                    .wait(true),
            )
        })
        .await?;
        Ok(())
    }

    async fn delete_matching(
        &self,
        collection: Collection,
        filter: &VectorFilter,
    ) -> Result<(), VectorError> {
        let filter = filter_of(filter).ok_or_else(super::no_condition)?;
        self.call("delete matching", Some(collection), || {
            self.client.delete_points(
                DeletePointsBuilder::new(self.name(collection))
                    .points(filter.clone())
                    .wait(true),
            )
        })
        .await?;
        Ok(())
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
        // Qdrant's own `score_threshold` is strict (`score > threshold`); ours is inclusive,
        // so it is applied below on the top `limit` hits (which is equivalent).
        let mut request = QueryPointsBuilder::new(self.name(collection))
            .query(Query::new_nearest(vector))
            .limit(limit as u64)
            .with_payload(only_id_payload())
            .with_vectors(false);
        if let Some(filter) = filter_of(filter) {
            request = request.filter(filter);
        }
        let response = self
            .call("search", Some(collection), || {
                self.client.query(request.clone())
            })
            .await?;
        let hits =
            response
                .result
                .into_iter()
                .filter_map(|point| match doc_id_of(&point.payload) {
                    Some(id) => Some(ScoredId {
                        id: id.to_string(),
                        score: point.score,
                    }),
                    None => {
                        tracing::warn!(
                            url = %self.url,
                            collection = self.name(collection),
                            point = ?point.id.as_ref().and_then(cursor_of),
                            "Qdrant point without a string `{PAYLOAD_ID}` payload; skipped"
                        );
                        None
                    }
                });
        Ok(top_hits(hits, threshold, limit))
    }

    async fn existing(
        &self,
        collection: Collection,
        ids: &[String],
    ) -> Result<Vec<String>, VectorError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let uuids: Vec<Uuid> = ids.iter().map(|id| point_id(id)).collect();
        let point_ids: Vec<PointId> = uuids.iter().map(|u| PointId::from(u.to_string())).collect();
        let response = self
            .call("retrieve", Some(collection), || {
                self.client.get_points(
                    GetPointsBuilder::new(self.name(collection), point_ids.clone())
                        .with_payload(false)
                        .with_vectors(false),
                )
            })
            .await?;
        let found: HashSet<Uuid> = response
            .result
            .iter()
            .filter_map(|point| point.id.as_ref().and_then(uuid_of))
            .collect();
        let mut seen = HashSet::new();
        Ok(ids
            .iter()
            .zip(uuids)
            .filter(|(_, uuid)| found.contains(uuid) && seen.insert(*uuid))
            .map(|(id, _)| id.clone())
            .collect())
    }

    async fn scroll_ids(
        &self,
        collection: Collection,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<IdPage, VectorError> {
        let limit = u32::try_from(limit.max(1)).unwrap_or(u32::MAX);
        let mut request = ScrollPointsBuilder::new(self.name(collection))
            .limit(limit)
            .with_payload(only_id_payload())
            .with_vectors(false);
        if let Some(cursor) = cursor {
            let offset = match Uuid::parse_str(&cursor) {
                Ok(uuid) => PointId::from(uuid.to_string()),
                Err(err) => match cursor.parse::<u64>() {
                    Ok(n) => PointId::from(n),
                    Err(_) => {
                        return Err(VectorError::Backend(format!(
                            "invalid scroll cursor {cursor:?}: {err}"
                        )))
                    }
                },
            };
            request = request.offset(offset);
        }
        let response = self
            .call("scroll", Some(collection), || {
                self.client.scroll(request.clone())
            })
            .await?;
        let ids = response
            .result
            .iter()
            .filter_map(|point| doc_id_of(&point.payload).map(str::to_string))
            .collect();
        Ok(IdPage {
            ids,
            next: response.next_page_offset.as_ref().and_then(cursor_of),
        })
    }

    async fn count_matching(
        &self,
        collection: Collection,
        filter: &VectorFilter,
    ) -> Result<u64, VectorError> {
        let filter = filter_of(filter);
        let response = self
            .call("count", Some(collection), || {
                let mut request = CountPointsBuilder::new(self.name(collection)).exact(true);
                if let Some(filter) = filter.clone() {
                    request = request.filter(filter);
                }
                self.client.count(request)
            })
            .await?;
        Ok(response.result.map_or(0, |result| result.count))
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    async fn health(&self) -> Result<(), VectorError> {
        // Any failure here means Qdrant cannot serve us.
        self.call_with("health check", None, 0, || self.client.health_check())
            .await
            .map_err(|err| match err {
                VectorError::Backend(message) => VectorError::Unavailable(message),
                other => other,
            })?;
        Ok(())
    }

    async fn flush(&self) -> Result<(), VectorError> {
        // Every write waited for the server to apply it (`wait(true)`); durability is the
        // server's WAL.
        Ok(())
    }
}
