//! A real Qdrant server for tests: the `qdrant` binary as a child process on free
//! loopback ports, its storage in a temporary directory, killed on drop.
//!
//! The binary is `QDRANT_BIN`, else `<repo>/../shared/bin/qdrant`; a missing
//! binary fails the test (it is never skipped).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::net::TcpStream;

use vectadb::vectors::CollectionNames;

use crate::process::{free_port, ChildServer};

/// How long a server may take to answer `GET /readyz` with 200.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The Qdrant binary: `QDRANT_BIN`, else `<repo>/../shared/bin/qdrant`. Panics
/// (failing the test) when it is not there.
pub fn binary() -> PathBuf {
    let (path, source) = match std::env::var_os("QDRANT_BIN").filter(|v| !v.is_empty()) {
        Some(path) => (PathBuf::from(path), "QDRANT_BIN"),
        None => (
            crate::repo_root().join("../shared/bin/qdrant"),
            "the default <repo>/../shared/bin/qdrant",
        ),
    };
    assert!(
        path.is_file(),
        "the Qdrant server binary {} ({source}) is missing: these tests need a real Qdrant \
         server; set QDRANT_BIN to a `qdrant` binary (1.x)",
        path.display()
    );
    path
}

/// Collection names no other test uses: `<prefix>_agents_<suffix>` and
/// `<prefix>_tasks_<suffix>`, unique per process, call and time.
pub fn unique_names(prefix: &str) -> CollectionNames {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let suffix = format!(
        "{}_{}_{nanos:09}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    CollectionNames {
        agents: format!("{prefix}_agents_{suffix}"),
        tasks: format!("{prefix}_tasks_{suffix}"),
        logs: format!("{prefix}_logs_{suffix}"),
        thoughts: format!("{prefix}_thoughts_{suffix}"),
    }
}

/// The command that runs the binary on `dir` (storage, snapshots) and the given ports.
fn command(
    binary: &Path,
    dir: &Path,
    http_port: u16,
    grpc_port: u16,
    api_key: Option<&str>,
) -> Command {
    let mut command = Command::new(binary);
    // Only our configuration: drop any QDRANT__* the test runner inherited.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("QDRANT__") {
            command.env_remove(key);
        }
    }
    command
        .env("QDRANT__SERVICE__HOST", "127.0.0.1")
        .env("QDRANT__SERVICE__HTTP_PORT", http_port.to_string())
        .env("QDRANT__SERVICE__GRPC_PORT", grpc_port.to_string())
        .env("QDRANT__STORAGE__STORAGE_PATH", dir.join("storage"))
        .env("QDRANT__STORAGE__SNAPSHOTS_PATH", dir.join("snapshots"))
        .env("QDRANT__TELEMETRY_DISABLED", "true");
    if let Some(key) = api_key {
        command.env("QDRANT__SERVICE__API_KEY", key);
    }
    command
}

/// A running Qdrant server; killed (SIGKILL) and its storage removed on drop.
pub struct QdrantServer {
    process: ChildServer,
    pub http_port: u16,
    pub grpc_port: u16,
    pub api_key: Option<String>,
}

impl QdrantServer {
    /// Start a server without an API key and wait until it is ready.
    pub async fn start() -> QdrantServer {
        Self::start_with(None).await
    }

    /// Start a server that requires `api_key` (`QDRANT__SERVICE__API_KEY`).
    pub async fn start_with_api_key(api_key: &str) -> QdrantServer {
        Self::start_with(Some(api_key)).await
    }

    async fn start_with(api_key: Option<&str>) -> QdrantServer {
        let binary = binary();
        // The ports are free when picked but another process may take them before
        // Qdrant binds: then it exits, and we retry on new ones.
        let mut failures = Vec::new();
        for _ in 0..3 {
            match Self::try_start(&binary, api_key).await {
                Ok(server) => return server,
                Err(failure) => failures.push(failure),
            }
        }
        panic!(
            "the Qdrant server {} did not start:\n{}",
            binary.display(),
            failures.join("\n---\n")
        );
    }

    async fn try_start(binary: &Path, api_key: Option<&str>) -> Result<QdrantServer, String> {
        let http_port = free_port();
        let mut grpc_port = free_port();
        while grpc_port == http_port {
            grpc_port = free_port();
        }
        let (binary, key) = (binary.to_path_buf(), api_key.map(str::to_string));
        let process = ChildServer::spawn(tempfile::tempdir().expect("tempdir"), move |dir| {
            command(&binary, dir, http_port, grpc_port, key.as_deref())
        });
        let mut server = QdrantServer {
            process,
            http_port,
            grpc_port,
            api_key: api_key.map(str::to_string),
        };
        server.wait_ready().await.map(|()| server)
    }

    /// Kill the server (SIGKILL) and start it again on the same ports and
    /// storage, as a crash and a restart by its supervisor would.
    pub async fn restart(&mut self) {
        self.process.respawn();
        if let Err(failure) = self.wait_ready().await {
            panic!("the Qdrant server did not come back: {failure}");
        }
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let (http, grpc) = (self.http_port, self.grpc_port);
        let key = self.key_header();
        let what = "ready (GET /readyz 200 and the gRPC port open)";
        self.process
            .wait_until(what, READY_TIMEOUT, move |log| {
                let key = key.clone();
                // REST says ready, and the gRPC port, which Qdrant binds a little
                // after the REST one, is ours and accepts connections.
                async move {
                    matches!(
                        crate::process::http_request(http, "GET", "/readyz", &key, None).await,
                        Ok((200, _))
                    ) && log.contains(&format!("gRPC listening on {grpc}"))
                        && TcpStream::connect(("127.0.0.1", grpc)).await.is_ok()
                }
            })
            .await
    }

    /// The `api-key` header line, if the server has a key.
    fn key_header(&self) -> String {
        self.api_key
            .as_ref()
            .map(|key| format!("api-key: {key}\r\n"))
            .unwrap_or_default()
    }

    /// The gRPC URL VectaDB connects to.
    pub fn grpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_port)
    }

    /// What the server printed so far.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// `GET path` on the REST port (with the API key, if any): status and JSON body.
    pub async fn get(&self, path: &str) -> std::io::Result<(u16, Value)> {
        self.request("GET", path, None).await
    }

    /// One request on the REST port (with the API key, if any): status and JSON body.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> std::io::Result<(u16, Value)> {
        crate::process::http_request(self.http_port, method, path, &self.key_header(), body).await
    }

    /// Create a collection over REST with the given `vectors` config (e.g.
    /// `{"size": 384, "distance": "Dot"}`), as someone other than VectaDB would.
    pub async fn create_collection(&self, name: &str, vectors: Value) {
        let body = serde_json::json!({ "vectors": vectors });
        let (status, answer) = self
            .request("PUT", &format!("/collections/{name}"), Some(&body))
            .await
            .expect("PUT collection");
        assert_eq!(status, 200, "PUT /collections/{name}: {answer}");
    }

    /// `GET /collections/{name}` on the REST port: the collection's `result`
    /// (config, payload schema, ...), or `None` when it does not exist.
    pub async fn collection(&self, name: &str) -> Option<Value> {
        let (status, body) = self
            .get(&format!("/collections/{name}"))
            .await
            .expect("GET collection");
        match status {
            200 => Some(body["result"].clone()),
            404 => None,
            other => panic!("GET /collections/{name}: {other} {body}"),
        }
    }

    /// Kill the server now (SIGKILL), keeping this handle (e.g. to test outages).
    pub fn kill(&mut self) {
        self.process.kill();
    }
}
