//! The real `vectadb` binary as a child process, and a minimal HTTP/1.1
//! client to talk to it (for restart and crash tests).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `VECTADB_BIN`, else `target/<profile>/vectadb`, next to this test binary's
/// `deps/` folder.
pub fn binary() -> PathBuf {
    workspace_binary("vectadb", "VECTADB_BIN")
}

/// A binary of this workspace: `$env_var` when set, else
/// `target/<profile>/<name>`, found from the running binary's location.
pub fn workspace_binary(name: &str, env_var: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env_var).filter(|v| !v.is_empty()) {
        return PathBuf::from(path);
    }
    // Test binaries live in target/<profile>/deps, other binaries (the
    // benchmark) in target/<profile> itself.
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().expect("binary in a directory");
    let profile_dir = if dir.ends_with("deps") {
        dir.parent().expect("target/<profile>")
    } else {
        dir
    };
    let bin = profile_dir.join(name);
    assert!(
        bin.exists(),
        "{} is missing: build it first with `cargo build --workspace --bins` \
         (scripts/test.sh does), or set {env_var}",
        bin.display()
    );
    bin
}

/// The `vectadb` command on `data_dir` with the test models, only the given
/// VectaDB settings from `env` (none inherited from the test runner) and
/// `RUST_LOG=warn`.
pub fn vectadb_command(data_dir: &Path, env: &[(&str, String)]) -> Command {
    command_for(&binary(), data_dir, env)
}

/// Like [`vectadb_command`] for another binary of this workspace.
pub fn command_for(binary: &Path, data_dir: &Path, env: &[(&str, String)]) -> Command {
    let mut command = Command::new(binary);
    for var in [
        "SURREAL_URL",
        "SURREAL_USER",
        "SURREAL_PASS",
        "SURREAL_NAMESPACE",
        "SURREAL_DATABASE",
        "QDRANT_URL",
        "QDRANT_API_KEY",
        "AUTH_MODE",
        "ADMIN_USERNAME",
        "ADMIN_PASSWORD",
        "JWT_SECRET",
    ] {
        command.env_remove(var);
    }
    command
        .env("DATA_DIR", data_dir)
        .env("MODELS_DIR", crate::models_dir())
        .env("RUST_LOG", "warn")
        // No OTLP/gRPC listener unless a test asks for one (its default
        // port would be shared by every server a test run starts).
        .env("OTLP_GRPC_PORT", "0")
        .envs(env.iter().map(|(k, v)| (k, v)));
    command
}

/// How a command that ran to its end went.
pub struct Finished {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Run `command` to its end, capturing its output; kill it and fail the
/// test if it takes longer than `limit`.
pub fn run_to_end(mut command: Command, limit: Duration) -> Finished {
    let what = format!("{command:?}");
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let pid = child.id().to_string();
    // Reading both pipes while waiting: a chatty child never blocks on a full pipe.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(output) => {
            let output = output.unwrap_or_else(|e| panic!("waiting for {what}: {e}"));
            Finished {
                success: output.status.success(),
                stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            }
        }
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            panic!("{what} did not finish within {limit:?}");
        }
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// One HTTP/1.0 request to 127.0.0.1:`port` over a fresh connection (the
/// answer ends at EOF and is never chunked); `headers` are extra header
/// lines, each ending in CRLF. Returns the status and the JSON body (Null
/// when the body is not JSON).
pub async fn http_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &str,
    body: Option<&Value>,
) -> std::io::Result<(u16, Value)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{headers}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // JSON, else the text itself (e.g. `/metrics`), else Null when empty.
    let value = serde_json::from_str(body).unwrap_or_else(|_| match body {
        "" => Value::Null,
        text => Value::String(text.to_string()),
    });
    Ok((status, value))
}

/// The resident memory of process `pid`, in MiB (`VmRSS` in `/proc`);
/// `None` once it has exited.
pub fn rss_mb(pid: u32) -> Option<f64> {
    vectadb::memory::resident_bytes_of(&pid.to_string()).map(|b| b as f64 / (1 << 20) as f64)
}

/// A running server on its own port and data directory.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Server {
    /// Start `vectadb serve` on `data_dir` and wait until `/health` is 200.
    pub async fn start(data_dir: &Path) -> Server {
        Self::start_with(data_dir, &[]).await
    }

    /// Start `vectadb serve` on `data_dir` with extra environment (e.g.
    /// `SURREAL_URL`) and wait until `/health` is 200.
    pub async fn start_with(data_dir: &Path, env: &[(&str, String)]) -> Server {
        let port = free_port();
        let child = vectadb_command(data_dir, env)
            .arg("serve")
            .env("SERVER_HOST", "127.0.0.1")
            .env("SERVER_PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn vectadb");
        let mut server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok((200, _)) = server.request("GET", "/health", None).await {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("vectadb exited during start-up: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "vectadb did not become healthy in 60 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// One request over a fresh connection; returns status and JSON body.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> std::io::Result<(u16, Value)> {
        http_request(self.port, method, path, "", body).await
    }

    /// Like [`Server::request`], panicking on I/O errors.
    pub async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.request(method, path, body).await.expect("request")
    }

    /// Create an agent (server-made id) and return its id.
    pub async fn agent(&self, role: &str, goal: &str) -> String {
        let (status, agent) = self
            .call(
                "POST",
                "/api/v1/agents",
                Some(&serde_json::json!({ "role": role, "goal": goal })),
            )
            .await;
        assert_eq!(status, 201, "{agent}");
        agent["id"].as_str().expect("an agent id").to_string()
    }

    /// The server's resident memory, in MiB.
    pub fn rss_mb(&self) -> f64 {
        rss_mb(self.child.id()).expect("the server's VmRSS in /proc")
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(status.success());
        let exit = self.child.wait().expect("wait");
        assert!(exit.success(), "vectadb exited with {exit}");
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("wait");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server binary run as a child process in its own temporary directory, its
/// output in `<dir>/server.log`; killed (SIGKILL) on drop, before the
/// directory is removed. `command` builds the command line from the
/// directory, so the same server can be started again on the same storage.
pub struct ChildServer {
    child: Child,
    command: Box<dyn Fn(&Path) -> Command + Send + Sync>,
    dir: tempfile::TempDir,
}

impl ChildServer {
    pub fn spawn(
        dir: tempfile::TempDir,
        command: impl Fn(&Path) -> Command + Send + Sync + 'static,
    ) -> ChildServer {
        let command: Box<dyn Fn(&Path) -> Command + Send + Sync> = Box::new(command);
        let child = Self::run(&command, dir.path());
        ChildServer {
            child,
            command,
            dir,
        }
    }

    fn run(command: &(dyn Fn(&Path) -> Command + Send + Sync), dir: &Path) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("server.log"))
            .expect("log file");
        let mut command = command(dir);
        command
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log);
        command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
    }

    /// The server's own directory (storage, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What the server printed so far (across restarts).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// `Some(status)` once the process has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Poll `ready` (given the log so far) every 50 ms until it holds; fail
    /// with the log if the process exits or `timeout` passes first.
    pub async fn wait_until<Fut>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut ready: impl FnMut(String) -> Fut,
    ) -> Result<(), String>
    where
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + timeout;
        loop {
            if ready(self.log()).await {
                return Ok(());
            }
            if let Some(status) = self.exited() {
                return Err(format!(
                    "it exited during start-up ({status}); its log:\n{}",
                    self.log()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "it was not {what} within {timeout:?}; its log:\n{}",
                    self.log()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Wait until `GET /health` on `port` answers 200 (panics with the log
    /// otherwise, after 60 s).
    pub async fn wait_healthy(&mut self, port: u16) {
        self.wait_until("healthy", Duration::from_secs(60), |_| async move {
            matches!(
                http_request(port, "GET", "/health", "", None).await,
                Ok((200, _))
            )
        })
        .await
        .unwrap();
    }

    /// Ask it to stop (SIGTERM, as a service manager would) and wait for
    /// it to exit, at most `limit`.
    pub fn terminate(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Kill it now (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kill it and start it again on the same directory.
    pub fn respawn(&mut self) {
        self.kill();
        self.child = Self::run(&self.command, self.dir.path());
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        self.kill();
    }
}
