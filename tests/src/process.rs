//! The real `vectadb` binary as a child process, and a minimal HTTP/1.1
//! client to talk to it (for restart and crash tests).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `target/<profile>/vectadb`, next to this test binary's `deps/` folder.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("VECTADB_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps");
    let bin = profile_dir.join("vectadb");
    assert!(
        bin.exists(),
        "{} is missing: build it first with `cargo build --bin vectadb` (scripts/test.sh does)",
        bin.display()
    );
    bin
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
    Ok((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}

/// A running server on its own port and data directory.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Server {
    /// Start `vectadb serve` on `data_dir` and wait until `/health` is 200.
    pub async fn start(data_dir: &Path) -> Server {
        let port = free_port();
        let child = Command::new(binary())
            .arg("serve")
            .env("SERVER_HOST", "127.0.0.1")
            .env("SERVER_PORT", port.to_string())
            .env("DATA_DIR", data_dir)
            .env("MODELS_DIR", crate::models_dir())
            .env_remove("SURREAL_URL")
            .env_remove("QDRANT_URL")
            .env("RUST_LOG", "warn")
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
