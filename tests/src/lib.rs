//! Test support for VectaDB's integration tests (`tests/e2e`): a [`TestApp`]
//! is the real Router over real embedded backends (SurrealDB surrealkv and
//! Qdrant Edge in the test's own temporary directory, its own namespace) and the
//! real MiniLM model, loaded once per test process.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use clap::Parser;
use http_body_util::BodyExt;
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::OnceCell;
use tower::ServiceExt;

use vectadb::config::Config;
use vectadb::embed::Embedder;
use vectadb::http::AppState;
use vectadb::store::{Documents, Stores};
use vectadb::vectors::VectorIndex;

/// The repository root (this crate lives in `<root>/tests`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// `MODELS_DIR` (a relative path is taken from the repository root) or
/// `<root>/models`.
pub fn models_dir() -> PathBuf {
    match std::env::var_os("MODELS_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => repo_root().join(dir),
        None => repo_root().join("models"),
    }
}

#[derive(Parser)]
struct ConfigOnly {
    #[command(flatten)]
    config: Config,
}

/// The default config with test paths: models from [`models_dir`], data
/// under `data_dir`.
pub fn test_config(data_dir: &std::path::Path) -> Config {
    let mut config = ConfigOnly::parse_from(["vectadb"]).config;
    config.models_dir = models_dir();
    config.data_dir = data_dir.to_path_buf();
    config.qdrant_url = None;
    // Tests take a backend down and look at /health at once.
    config.health_cache_millis = 0;
    config.metrics_refresh_seconds = 0;
    config
}

static MODEL: OnceCell<Arc<dyn Embedder>> = OnceCell::const_new();

/// The real MiniLM model, loaded once per test process.
pub async fn model() -> Arc<dyn Embedder> {
    MODEL
        .get_or_init(|| async {
            let dir = tempfile::tempdir().expect("tempdir");
            let config = test_config(dir.path());
            tokio::task::spawn_blocking(move || vectadb::app::load_model(&config))
                .await
                .expect("model loading panicked")
                .unwrap_or_else(|e| {
                    panic!("{e}\n(run `python3 scripts/fetch-models.py` to fetch the model)")
                })
        })
        .await
        .clone()
}

pub mod contract;
pub mod couch;
pub mod datagen;
pub mod faults;
pub mod lambda;
pub mod log_scale;
pub mod mixed_load;
pub mod otlp_load;
pub mod process;
pub mod proxy;
pub mod qdrant_server;
pub mod surreal_profile;
pub mod surreal_server;

/// The real Router over real embedded backends, isolated from every other test.
pub struct TestApp {
    pub app: Router,
    pub state: AppState,
    pub config: Config,
    /// The documents role of the app's store (wrapped, if the test
    /// wrapped it).
    pub store: Arc<dyn Documents>,
    /// Every role of the app's store.
    pub stores: Stores,
    pub vectors: Arc<dyn VectorIndex>,
    pub dir: TempDir,
    /// The servers behind a [`Backends::Servers`] app (dropped, so killed, last).
    pub servers: Option<Servers>,
}

/// Where a [`TestApp`] keeps its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backends {
    /// The default: SurrealDB surrealkv and Qdrant Edge in the test's directory.
    Embedded,
    /// A real SurrealDB server (ws://) and a real Qdrant server (gRPC), started
    /// for the test and provisioned with `vectadb provision`'s code.
    Servers,
}

/// A SurrealDB server and a Qdrant server, each on its own free port and directory.
pub struct Servers {
    pub surreal: surreal_server::SurrealServer,
    pub qdrant: qdrant_server::QdrantServer,
}

impl Servers {
    pub async fn start() -> Servers {
        let (surreal, qdrant) = tokio::join!(
            surreal_server::SurrealServer::start(),
            qdrant_server::QdrantServer::start()
        );
        Servers { surreal, qdrant }
    }

    /// The environment that points a `vectadb` process at these servers.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SURREAL_URL", self.surreal.url()),
            ("SURREAL_USER", surreal_server::USER.into()),
            ("SURREAL_PASS", surreal_server::PASS.into()),
            ("QDRANT_URL", self.qdrant.grpc_url()),
        ]
    }

    /// `config` pointed at these servers (SURREAL_URL/USER/PASS, QDRANT_URL).
    pub fn configure(&self, mut config: Config) -> Config {
        config.surreal_url = Some(self.surreal.url());
        config.surreal_user = Some(surreal_server::USER.into());
        config.surreal_pass = Some(surreal_server::PASS.into());
        config.qdrant_url = Some(self.qdrant.grpc_url());
        config
    }
}

static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl TestApp {
    pub async fn new() -> Self {
        Self::with(|c| c).await
    }

    /// Like [`TestApp::new`] with the config adjusted first.
    pub async fn with(adjust: impl FnOnce(Config) -> Config) -> Self {
        Self::with_vectors(adjust, |v| v).await
    }

    /// Adjust the config and wrap the vector index (e.g. to inject faults).
    pub async fn with_vectors(
        adjust: impl FnOnce(Config) -> Config,
        wrap: impl FnOnce(Arc<dyn VectorIndex>) -> Arc<dyn VectorIndex>,
    ) -> Self {
        Self::with_parts(adjust, |s| s, wrap).await
    }

    /// Full control: adjust the config and wrap the store and the vector
    /// index (e.g. to inject faults).
    pub async fn with_parts(
        adjust: impl FnOnce(Config) -> Config,
        wrap_store: impl FnOnce(Arc<dyn Documents>) -> Arc<dyn Documents>,
        wrap_vectors: impl FnOnce(Arc<dyn VectorIndex>) -> Arc<dyn VectorIndex>,
    ) -> Self {
        Self::on_parts(Backends::Embedded, adjust, wrap_store, wrap_vectors).await
    }

    /// The app on the given backends.
    pub async fn on(backends: Backends) -> Self {
        Self::on_with(backends, |c| c).await
    }

    /// The app on the given backends, with the config adjusted first.
    pub async fn on_with(backends: Backends, adjust: impl FnOnce(Config) -> Config) -> Self {
        Self::on_parts(backends, adjust, |s| s, |v| v).await
    }

    /// The app on the given backends (servers are started and provisioned),
    /// with the config adjusted and the store and vector index wrapped.
    pub async fn on_parts(
        backends: Backends,
        adjust: impl FnOnce(Config) -> Config,
        wrap_store: impl FnOnce(Arc<dyn Documents>) -> Arc<dyn Documents>,
        wrap_vectors: impl FnOnce(Arc<dyn VectorIndex>) -> Arc<dyn VectorIndex>,
    ) -> Self {
        let servers = match backends {
            Backends::Embedded => None,
            Backends::Servers => Some(Servers::start().await),
        };
        Self::assemble(servers, adjust, wrap_store, wrap_vectors).await
    }

    /// The app on servers the test started itself (e.g. to put a proxy in
    /// front of them in `adjust`); they are provisioned here.
    pub async fn on_servers(servers: Servers, adjust: impl FnOnce(Config) -> Config) -> Self {
        Self::assemble(Some(servers), adjust, |s| s, |v| v).await
    }

    async fn assemble(
        servers: Option<Servers>,
        adjust: impl FnOnce(Config) -> Config,
        wrap_store: impl FnOnce(Arc<dyn Documents>) -> Arc<dyn Documents>,
        wrap_vectors: impl FnOnce(Arc<dyn VectorIndex>) -> Arc<dyn VectorIndex>,
    ) -> Self {
        // Server-side errors show up in a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .try_init();
        let dir = tempfile::tempdir().expect("tempdir");
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut config = test_config(dir.path());
        // surrealkv in the test's own directory: the embedded default, and
        // linear in transaction size (kv-mem slows down quadratically on
        // 10,000-row transactions).
        config.surreal_url = Some(format!(
            "surrealkv://{}",
            dir.path().join("surreal").display()
        ));
        config.surreal_namespace = format!("test_{}_{n}", std::process::id());
        config.surreal_database = format!("db_{n}");
        if let Some(servers) = &servers {
            config = servers.configure(config);
        }
        let config = adjust(config);
        if servers.is_some() {
            vectadb::app::provision(&config).await.expect("provision");
        }
        let stores = Stores::of(vectadb::app::open_store(&config).await.expect("open store"))
            .wrap_documents(wrap_store);
        let vectors = wrap_vectors(
            vectadb::app::open_vectors(&config)
                .await
                .expect("open vectors"),
        );
        let state = vectadb::app::state(&config, stores.clone(), vectors.clone(), model().await)
            .expect("assemble state");
        Self {
            app: vectadb::http::app(state.clone()),
            state,
            config,
            store: stores.documents.clone(),
            stores,
            vectors,
            dir,
            servers,
        }
    }

    /// Send a request through the Router; returns status and JSON body
    /// (`Value::Null` for an empty body, a string for a non-JSON one).
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let request = Request::builder().method(method).uri(uri);
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .expect("request");
        self.send(request).await
    }

    /// Send raw bytes with the given content type.
    pub async fn call_raw(
        &self,
        method: Method,
        uri: &str,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(ct) = content_type {
            request = request.header(header::CONTENT_TYPE, ct);
        }
        self.send(request.body(body.into()).expect("request")).await
    }

    pub async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let (status, _, body) = self.exchange(request).await;
        (status, body)
    }

    /// Like [`TestApp::send`], with the response headers.
    pub async fn exchange(
        &self,
        request: Request<Body>,
    ) -> (StatusCode, axum::http::HeaderMap, Value) {
        let response = self.app.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, headers, value)
    }

    pub async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.call(Method::GET, uri, None).await
    }

    pub async fn post(&self, uri: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, uri, Some(body)).await
    }

    pub async fn patch(&self, uri: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, uri, Some(body)).await
    }

    pub async fn delete(&self, uri: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, uri, None).await
    }

    /// Create an agent and return its id (panics unless 201).
    pub async fn agent(&self, role: &str, goal: &str) -> String {
        let (status, body) = self
            .post(
                "/api/v1/agents",
                serde_json::json!({ "role": role, "goal": goal }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().expect("id").to_string()
    }

    /// Create a task and return its id (panics unless 201).
    pub async fn task(&self, agent_id: &str, description: &str) -> String {
        let (status, body) = self
            .post(
                "/api/v1/tasks",
                serde_json::json!({ "agent_id": agent_id, "description": description }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().expect("id").to_string()
    }

    /// A snapshot of everything stored (documents per table and vectors per
    /// collection), to assert that a rejected request changed nothing.
    pub async fn snapshot(&self) -> Value {
        use vectadb::store::Table;
        use vectadb::vectors::Collection;
        let mut tables = serde_json::Map::new();
        for table in [Table::Agent, Table::Task, Table::Thought, Table::Log] {
            tables.insert(
                table.name().into(),
                self.store.count(table).await.expect("count").into(),
            );
        }
        for collection in Collection::ALL {
            tables.insert(
                format!("{collection:?}_vectors"),
                self.vectors.count(collection).await.expect("count").into(),
            );
        }
        let agents = self.get("/api/v1/agents?limit=1000").await.1;
        let tasks = self.get("/api/v1/tasks?limit=1000").await.1;
        let logs = self.get("/api/v1/logs?limit=1000").await.1;
        serde_json::json!({ "counts": tables, "agents": agents, "tasks": tasks, "logs": logs })
    }
}

/// The RFC 3339 time in `doc[field]`; panics naming the field and the
/// document when it is missing or not a time.
pub fn time_field(doc: &serde_json::Value, field: &str) -> chrono::DateTime<chrono::FixedOffset> {
    let text = doc[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string: {doc}"));
    chrono::DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{field}: {e}: {doc}"))
}

/// `text` as a query-string value: everything but ASCII letters and digits
/// percent-encoded.
pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
