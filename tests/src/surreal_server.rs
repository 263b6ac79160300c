//! A real SurrealDB server for tests: the workspace's `surreal-test-server`
//! binary (the `surrealdb-server` crate's command line) as a child process on
//! a free loopback port, storing in surrealkv in a temporary directory, so a
//! restart keeps the data. Signs in as root/root.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use tokio::net::TcpStream;

use crate::process::{free_port, workspace_binary, ChildServer};

/// How long a server may take to answer `GET /health` with 200.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

pub const USER: &str = "root";
pub const PASS: &str = "root";

/// A running SurrealDB server; killed (SIGKILL) and its storage removed on drop.
pub struct SurrealServer {
    process: ChildServer,
    pub port: u16,
}

fn command(dir: &Path, port: u16, user: &str, pass: &str) -> Command {
    let mut command = Command::new(workspace_binary(
        "surreal-test-server",
        "SURREAL_TEST_SERVER_BIN",
    ));
    // Only our configuration: the server reads SURREAL_* too (SURREAL_USER, ...).
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("SURREAL_") {
            command.env_remove(key);
        }
    }
    command
        .arg("start")
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .args(["--user", user, "--pass", pass])
        .args(["--log", "warn", "--no-banner"])
        .arg(format!("surrealkv://{}", dir.join("data").display()));
    command
}

impl SurrealServer {
    /// Start a server and wait until it answers `/health`. The port is free
    /// when picked but may be taken before the server binds: then it exits
    /// and we retry on another.
    pub async fn start() -> SurrealServer {
        SurrealServer::start_with_credentials(USER, PASS).await
    }

    /// Start a server whose root user is `user` / `pass`.
    pub async fn start_with_credentials(user: &str, pass: &str) -> SurrealServer {
        let mut failures = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            let (user, pass) = (user.to_string(), pass.to_string());
            let process = ChildServer::spawn(tempfile::tempdir().expect("tempdir"), move |dir| {
                command(dir, port, &user, &pass)
            });
            let mut server = SurrealServer { process, port };
            match server.wait_ready().await {
                Ok(()) => return server,
                Err(failure) => failures.push(failure),
            }
        }
        panic!(
            "the SurrealDB test server did not start:\n{}",
            failures.join("\n---\n")
        );
    }

    /// The URL VectaDB connects to.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// Kill the server (SIGKILL) and start it again on the same port and
    /// storage, as a crash and a restart by its supervisor would.
    pub async fn restart(&mut self) {
        self.process.respawn();
        if let Err(failure) = self.wait_ready().await {
            panic!("the SurrealDB server did not come back: {failure}");
        }
    }

    /// Kill the server now (SIGKILL), keeping this handle (e.g. to test outages).
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// What the server printed so far.
    pub fn log(&self) -> String {
        self.process.log()
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let port = self.port;
        self.process
            .wait_until(
                "answering GET /health",
                READY_TIMEOUT,
                move |_| async move {
                    TcpStream::connect(("127.0.0.1", port)).await.is_ok()
                        && matches!(
                            crate::process::http_request(port, "GET", "/health", "", None).await,
                            Ok((200, _))
                        )
                },
            )
            .await
    }
}
