//! Configuration: one clap struct, every field settable by flag or by the
//! environment (and a `.env` file). With nothing set, VectaDB runs embedded
//! under `./data` with the model from `./models`.

use std::path::PathBuf;

use clap::Args;

use crate::auth::{AuthMode, AuthSettings};
use crate::domain::LogLevel;
use crate::service::{Limits, SearchDefaults};
use crate::store::surreal::SurrealConfig;
use crate::vectors::CollectionNames;

/// Default similarity threshold. MiniLM cosine scores for a paraphrase of
/// an agent's role and skills land around 0.55–0.65 (e.g. "data scientist
/// with ML skills" vs an ML researcher: ~0.6), while unrelated texts stay
/// under ~0.3; 0.5 keeps the first and drops the second. See README.
pub const DEFAULT_SIMILARITY_THRESHOLD: f32 = 0.5;

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "SERVER_HOST", default_value = "127.0.0.1")]
    pub server_host: String,
    #[arg(long, env = "SERVER_PORT", default_value_t = 8080)]
    pub server_port: u16,
    /// Port for OTLP/gRPC (`vectadb serve` listens on it too, on the same
    /// address; the OTLP default is 4317). 0: no gRPC listener (the main
    /// port answers OTLP/gRPC calls over HTTP/2 all the same).
    #[arg(long, env = "OTLP_GRPC_PORT", default_value_t = 4317)]
    pub otlp_grpc_port: u16,

    /// Where embedded data lives (SurrealDB files under `surreal/`, Qdrant
    /// Edge shards under `qdrant/`).
    #[arg(long, env = "DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Where the model, tokenizer and ONNX Runtime library live
    /// (`python3 scripts/fetch-models.py` puts them there).
    #[arg(long, env = "MODELS_DIR", default_value = "models")]
    pub models_dir: PathBuf,

    /// `surrealkv://path`, `mem://` or `ws://host:port`; default: embedded
    /// surrealkv under DATA_DIR.
    #[arg(long, env = "SURREAL_URL")]
    pub surreal_url: Option<String>,
    #[arg(long, env = "SURREAL_NAMESPACE", default_value = "vectadb")]
    pub surreal_namespace: String,
    #[arg(long, env = "SURREAL_DATABASE", default_value = "main")]
    pub surreal_database: String,
    #[arg(long, env = "SURREAL_USER")]
    pub surreal_user: Option<String>,
    #[arg(long, env = "SURREAL_PASS", hide_env_values = true)]
    pub surreal_pass: Option<Secret>,

    /// Qdrant server gRPC URL (e.g. http://localhost:6334); default:
    /// Qdrant Edge in-process under DATA_DIR.
    #[arg(long, env = "QDRANT_URL")]
    pub qdrant_url: Option<String>,
    /// API key of the Qdrant server.
    #[arg(long, env = "QDRANT_API_KEY", hide_env_values = true)]
    pub qdrant_api_key: Option<Secret>,
    #[arg(long, env = "QDRANT_AGENT_COLLECTION", default_value = "agents")]
    pub qdrant_agent_collection: String,
    #[arg(long, env = "QDRANT_TASK_COLLECTION", default_value = "tasks")]
    pub qdrant_task_collection: String,
    #[arg(long, env = "QDRANT_LOG_COLLECTION", default_value = "logs")]
    pub qdrant_log_collection: String,
    #[arg(long, env = "QDRANT_THOUGHT_COLLECTION", default_value = "thoughts")]
    pub qdrant_thought_collection: String,

    /// Model name; its last path segment names the folder under MODELS_DIR.
    #[arg(
        long,
        env = "EMBEDDING_MODEL",
        default_value = "sentence-transformers/all-MiniLM-L6-v2"
    )]
    pub embedding_model: String,
    /// Expected vector size; start-up fails if the model disagrees.
    #[arg(long, env = "EMBEDDING_DIM", default_value_t = 384)]
    pub embedding_dim: usize,
    /// Texts per inference call (with `EMBED_PRECISION=f32`; int8 runs one
    /// text per call).
    #[arg(long, env = "EMBEDDING_BATCH_SIZE", default_value_t = 64)]
    pub embedding_batch_size: usize,
    /// How the model multiplies by its weights: `f32` (the model as
    /// published: the Python proof of concept's vectors, the same on every
    /// CPU) or `int8` (integer kernels: ~1.5× faster, vectors within ~3%
    /// cosine of f32 and slightly different between CPUs with and without
    /// AVX-512 VNNI).
    #[arg(long, env = "EMBED_PRECISION", default_value = "f32")]
    pub embed_precision: crate::embed::minilm::Precision,
    /// ONNX Runtime shared library; default: the one in MODELS_DIR.
    #[arg(long, env = "ORT_DYLIB_PATH")]
    pub ort_dylib_path: Option<PathBuf>,

    /// Similarity threshold when a request gives none (cosine, -1..1).
    #[arg(long, env = "SIMILARITY_THRESHOLD", default_value_t = DEFAULT_SIMILARITY_THRESHOLD)]
    pub similarity_threshold: f32,
    /// Result count when a request gives none.
    #[arg(long, env = "SIMILARITY_LIMIT", default_value_t = 10)]
    pub similarity_limit: usize,

    /// Longest wait for one backend call (SurrealDB, Qdrant) before the
    /// request fails with 503 naming the backend, in milliseconds.
    #[arg(long, env = "BACKEND_TIMEOUT_MS", default_value_t = 10_000)]
    pub backend_timeout_ms: u64,

    /// Largest request body, in bytes (413 above it).
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = crate::http::DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// Largest single document (agent, task, thought, key, query, JSON-RPC
    /// request), in bytes (413 above it).
    #[arg(long, env = "MAX_DOCUMENT_BYTES", default_value_t = crate::http::DEFAULT_MAX_DOCUMENT_BYTES)]
    pub max_document_bytes: usize,
    /// Requests served at once; more get 503 with Retry-After.
    #[arg(long, env = "MAX_CONCURRENT_REQUESTS", default_value_t = 64)]
    pub max_concurrent_requests: usize,
    /// Of those, requests whose body is over MAX_DOCUMENT_BYTES (batches)
    /// or of unknown length.
    #[arg(long, env = "MAX_CONCURRENT_LARGE_REQUESTS", default_value_t = 4)]
    pub max_concurrent_large_requests: usize,
    /// How long one health check's answer is shared by every `/health`
    /// caller.
    #[arg(long, env = "HEALTH_CACHE_MILLIS", default_value_t = 1000)]
    pub health_cache_millis: u64,
    /// How often `/metrics` recounts documents and vectors, in the
    /// background (0: on every scrape).
    #[arg(long, env = "METRICS_REFRESH_SECONDS", default_value_t = 15)]
    pub metrics_refresh_seconds: u64,
    /// Longest a request may take (503 past it).
    #[arg(long, env = "REQUEST_TIMEOUT_SECONDS", default_value_t = 30)]
    pub request_timeout_seconds: u64,
    /// Longest a client may take to send a request's headers (the
    /// connection is closed past it).
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECONDS", default_value_t = 10)]
    pub header_read_timeout_seconds: u64,
    /// Most messages (spans, records, attributes, values; JSON values for
    /// OTLP/JSON) in one OTLP request (413 above it).
    #[arg(long, env = "MAX_OTLP_ITEMS", default_value_t = crate::http::DEFAULT_MAX_OTLP_ITEMS)]
    pub max_otlp_items: usize,
    /// Most logs in one batch (413 above it).
    #[arg(long, env = "MAX_LOG_BATCH", default_value_t = 10_000)]
    pub max_log_batch: usize,

    /// Which logs are embedded for semantic search: `all`, `none`, or the
    /// least severe level embedded (`warn`: warnings, errors, critical).
    /// Embedding costs a few ms of CPU per log; thoughts are always embedded.
    #[arg(long, env = "EMBED_LOGS", default_value = "all", value_parser = parse_embed_logs)]
    pub embed_logs: EmbedLogs,
    /// How long logs are kept, by their time (e.g. `30d`, `12h`; `off`:
    /// forever). Expired logs go with their vectors and anomaly scores.
    #[arg(long, env = "RETENTION_LOGS", default_value = "off", value_parser = parse_retention)]
    pub retention_logs: Window,
    /// How long thoughts are kept after they were recorded (`off`: forever).
    #[arg(long, env = "RETENTION_THOUGHTS", default_value = "off", value_parser = parse_retention)]
    pub retention_thoughts: Window,
    /// How long a task is kept after its last update, with its thoughts and
    /// logs (`off`: forever).
    #[arg(long, env = "RETENTION_TASKS", default_value = "off", value_parser = parse_retention)]
    pub retention_tasks: Window,
    /// Seconds between retention passes.
    #[arg(long, env = "RETENTION_INTERVAL_SECONDS", default_value_t = 60)]
    pub retention_interval_seconds: u64,
    /// The share of the time (0.01–1) the indexer may take while requests
    /// are being served; it pauses between steps to stay within it, and
    /// runs flat out when no request is (1: never pauses).
    #[arg(long, env = "INDEXER_SHARE_WHEN_BUSY", default_value_t = 0.1)]
    pub indexer_share_when_busy: f64,
    /// Memory for vectors already computed, in MiB (0: no cache): a log
    /// template or text seen before is not embedded again. Saved in
    /// DATA_DIR when the embedded default stops.
    #[arg(long, env = "EMBED_CACHE_MB", default_value_t = 32)]
    pub embed_cache_mb: usize,

    /// How long an OTLP span or log record whose parent span (or agent
    /// span) has not arrived waits for it before it is placed under its
    /// service, in seconds.
    #[arg(long, env = "OTLP_WAIT_SECONDS", default_value_t = 300)]
    pub otlp_wait_seconds: u64,
    /// OTLP items accepted and not yet placed past which exports are
    /// answered 503 with `Retry-After` (OTLP's retryable answer).
    #[arg(long, env = "OTLP_MAX_PENDING", default_value_t = 200_000)]
    pub otlp_max_pending: u64,
    /// About how many OTLP items the worker places per transaction.
    #[arg(long, env = "OTLP_ROUND_ITEMS", default_value_t = 512)]
    pub otlp_round_items: u64,
    /// OTLP rounds placed at once by this process.
    #[arg(long, env = "OTLP_WORKERS", default_value_t = 2)]
    pub otlp_workers: usize,

    /// `auto`: authentication is required once an API key or user exists;
    /// until then the API is open and `serve` listens on 127.0.0.1 only.
    /// `required`: always. `disabled`: never (only behind a gateway that
    /// authenticates).
    #[arg(long, env = "AUTH_MODE", value_enum, default_value_t = AuthMode::Auto)]
    pub auth_mode: AuthMode,
    /// Signs session tokens (HS256), at least 32 bytes. Unset: a random
    /// secret per process (sessions end when it stops; replicas do not
    /// share them).
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,
    /// How long a UI session lasts, in minutes.
    #[arg(long, env = "SESSION_TTL_MINUTES", default_value_t = 720)]
    pub session_ttl_minutes: i64,
    /// With ADMIN_PASSWORD: this user is created at start (or its password
    /// updated), so the UI can be signed in to.
    #[arg(long, env = "ADMIN_USERNAME", default_value = "admin")]
    pub admin_username: String,
    #[arg(long, env = "ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<Secret>,
    /// Failed sign-ins allowed per client within LOGIN_WINDOW_SECONDS;
    /// past that the client is refused (429) until the window ends.
    #[arg(long, env = "LOGIN_MAX_FAILURES", default_value_t = 5)]
    pub login_max_failures: u32,
    #[arg(long, env = "LOGIN_WINDOW_SECONDS", default_value_t = 300)]
    pub login_window_seconds: u64,
    /// Always mark the session cookie `Secure` (it is anyway when a proxy
    /// sends `X-Forwarded-Proto: https`).
    #[arg(long, env = "COOKIE_SECURE")]
    pub cookie_secure: bool,
    /// Count failed sign-ins by `X-Forwarded-For` (only behind a proxy
    /// that sets it).
    #[arg(long, env = "TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
    /// Host names (besides loopback ones) a server open without
    /// credentials answers to, comma-separated; other Host headers get 403
    /// (against DNS rebinding).
    #[arg(long, env = "ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
}

/// Which logs the indexer embeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbedLogs {
    None,
    /// This level and the more severe ones (`Trace`: all).
    From(LogLevel),
}

fn parse_embed_logs(value: &str) -> Result<EmbedLogs, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "all" => Ok(EmbedLogs::From(LogLevel::Trace)),
        "none" | "off" => Ok(EmbedLogs::None),
        level => LogLevel::parse(level).map(EmbedLogs::From).ok_or_else(|| {
            "expected all, none, or a level: trace, debug, info, warn, error, critical".into()
        }),
    }
}

/// A retention window (`None`: kept forever).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window(pub Option<chrono::Duration>);

fn parse_retention(value: &str) -> Result<Window, String> {
    crate::retention::parse_window(value).map(Window)
}

/// A setting that must not be shown: its `Debug` form is `"***"`, so
/// configuration can be logged or put in errors whole. The value itself is
/// read through `Deref` (`&str`).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

impl std::ops::Deref for Secret {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(value: &str) -> Result<Secret, Self::Err> {
        Ok(Secret(value.to_string()))
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret(value.to_string())
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

pub const ORT_LIBRARY_FILE: &str = "libonnxruntime.so.1.31.1";

impl Config {
    /// Auth as configured; `open_when_unconfigured` is for the caller
    /// (true for a server that listens on loopback only).
    pub fn auth(&self) -> AuthSettings {
        AuthSettings {
            mode: self.auth_mode,
            jwt_secret: self.jwt_secret.clone().filter(|s| !s.is_empty()),
            session_ttl: chrono::Duration::minutes(self.session_ttl_minutes.max(1)),
            login_max_failures: self.login_max_failures.max(1),
            login_window: std::time::Duration::from_secs(self.login_window_seconds),
            open_when_unconfigured: true,
            cookie_secure: self.cookie_secure,
            trust_forwarded_for: self.trust_forwarded_for,
            allowed_hosts: self
                .allowed_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        }
    }

    pub fn listen_addr(&self) -> String {
        format!("{}:{}", self.server_host, self.server_port)
    }

    pub fn surreal(&self) -> SurrealConfig {
        SurrealConfig {
            url: self.surreal_url.clone().unwrap_or_else(|| {
                format!("surrealkv://{}", self.data_dir.join("surreal").display())
            }),
            namespace: self.surreal_namespace.clone(),
            database: self.surreal_database.clone(),
            username: self.surreal_user.clone(),
            password: self.surreal_pass.clone(),
            timeout: self.backend_timeout(),
        }
    }

    /// SurrealDB runs in this process (surrealkv or mem), not on a server.
    pub fn surreal_is_embedded(&self) -> bool {
        let url = self.surreal().url;
        url.starts_with("surrealkv") || url.starts_with("mem:")
    }

    pub fn backend_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.backend_timeout_ms)
    }

    pub fn qdrant_dir(&self) -> PathBuf {
        self.data_dir.join("qdrant")
    }

    pub fn collections(&self) -> CollectionNames {
        CollectionNames {
            agents: self.qdrant_agent_collection.clone(),
            tasks: self.qdrant_task_collection.clone(),
            logs: self.qdrant_log_collection.clone(),
            thoughts: self.qdrant_thought_collection.clone(),
        }
    }

    pub fn model_dir(&self) -> PathBuf {
        let name = self
            .embedding_model
            .rsplit('/')
            .next()
            .unwrap_or(&self.embedding_model);
        self.models_dir.join(name)
    }

    pub fn ort_dylib(&self) -> PathBuf {
        self.ort_dylib_path
            .clone()
            .unwrap_or_else(|| self.models_dir.join(ORT_LIBRARY_FILE))
    }

    pub fn indexer(&self) -> crate::indexer::IndexerSettings {
        crate::indexer::IndexerSettings {
            embed_logs_from: match self.embed_logs {
                EmbedLogs::None => None,
                EmbedLogs::From(level) => Some(level),
            },
            ..crate::indexer::IndexerSettings::default()
        }
    }

    pub fn retention(&self) -> crate::retention::RetentionSettings {
        crate::retention::RetentionSettings {
            logs: self.retention_logs.0,
            thoughts: self.retention_thoughts.0,
            tasks: self.retention_tasks.0,
            every: std::time::Duration::from_secs(self.retention_interval_seconds.max(1)),
        }
    }

    pub fn otlp_worker(&self) -> crate::otlp::worker::WorkerSettings {
        crate::otlp::worker::WorkerSettings {
            round_items: self.otlp_round_items.max(1),
            workers: self.otlp_workers.max(1),
            ..crate::otlp::worker::WorkerSettings::default()
        }
    }

    pub fn search_defaults(&self) -> SearchDefaults {
        SearchDefaults {
            threshold: self.similarity_threshold,
            limit: self.similarity_limit,
        }
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max_log_batch: self.max_log_batch,
            otlp_wait: std::time::Duration::from_secs(self.otlp_wait_seconds),
            otlp_max_pending: self.otlp_max_pending,
            ..Limits::default()
        }
    }
}
