//! Requests an attacker would send, against the real binary, with its
//! resident memory sampled throughout: each is refused with its documented
//! status, memory stays within the documented bound (SECURITY.md "Memory bound"), and
//! the server keeps answering legitimate requests.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vectadb_tests::process::{http_request, Server};

const PASSWORD: &str = "a long admin password for the limits test";

/// Memory above idle that no attack may exceed: the large-request limit
/// (4) × a large request's cap (its 32 MiB body, the same decompressed and
/// its decoded form), with a margin for allocator slack.
const BOUND_MB: f64 = 600.0;

/// Samples the server's RSS every 10 ms until dropped; `peak()` is the
/// highest seen.
struct RssWatch {
    peak: Arc<Mutex<f64>>,
    stop: Arc<AtomicBool>,
}

impl RssWatch {
    fn start(server: &Server) -> RssWatch {
        let peak = Arc::new(Mutex::new(server.rss_mb()));
        let stop = Arc::new(AtomicBool::new(false));
        let pid = server.child.id();
        let (p, s) = (peak.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Some(rss) = vectadb_tests::process::rss_mb(pid) {
                    let mut peak = p.lock().unwrap();
                    *peak = peak.max(rss);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        RssWatch { peak, stop }
    }

    fn peak(&self) -> f64 {
        *self.peak.lock().unwrap()
    }
}

impl Drop for RssWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Send `head` and `body` over a fresh connection (the body from its own
/// task, so a server that answers before reading it all is heard), and
/// return the status (0 when the connection was cut before an answer).
async fn raw(port: u16, head: String, body: Vec<u8>) -> (u16, String) {
    let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        if write.write_all(head.as_bytes()).await.is_ok() {
            let _ = write.write_all(&body).await;
        }
        write
    });
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(60), read.read_to_end(&mut response)).await;
    drop(writer.await);
    let text = String::from_utf8_lossy(&response).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn post_head(path: &str, content_type: &str, extra: &str, length: usize) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n{extra}\
         Content-Length: {length}\r\nConnection: close\r\n\r\n"
    )
}

/// A protobuf `ExportTraceServiceRequest` of `spans` empty spans (two
/// bytes each), gzip-compressed: about 1 KB per million spans.
fn empty_spans_gzip(spans: usize) -> Vec<u8> {
    fn varint(mut n: usize, out: &mut Vec<u8>) {
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }
    let scope_len = spans * 2;
    let mut resource_head = vec![0x12];
    varint(scope_len, &mut resource_head);
    let resource_len = resource_head.len() + scope_len;
    let mut head = vec![0x0a];
    varint(resource_len, &mut head);
    head.extend(resource_head);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&head).unwrap();
    let chunk = [0x12u8, 0x00].repeat(1 << 16);
    let mut left = spans;
    while left > 0 {
        let n = left.min(1 << 16);
        gz.write_all(&chunk[..n * 2]).unwrap();
        left -= n;
    }
    gz.finish().unwrap()
}

async fn sign_in(port: u16, password: &str, from: &str) -> (u16, Value) {
    http_request(
        port,
        "POST",
        "/api/v1/auth/login",
        &format!("X-Forwarded-For: {from}\r\n"),
        Some(&json!({ "username": "admin", "password": password })),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn attacks_are_refused_within_the_memory_bound_and_valid_keys_keep_working() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        dir.path(),
        &[
            ("ADMIN_PASSWORD", PASSWORD.to_string()),
            ("TRUST_FORWARDED_FOR", "true".to_string()),
        ],
    )
    .await;
    let port = server.port;
    let (status, session) = sign_in(port, PASSWORD, "192.0.2.1").await;
    assert_eq!(status, 200, "{session}");
    let token = session["token"].as_str().unwrap().to_string();
    let bearer = format!("Authorization: Bearer {token}\r\n");
    let (status, key) = http_request(
        port,
        "POST",
        "/api/v1/keys",
        &bearer,
        Some(&json!({ "name": "ingest", "scopes": ["read", "write"] })),
    )
    .await
    .unwrap();
    assert_eq!(status, 201, "{key}");
    let key_header = format!("X-API-Key: {}\r\n", key["key"].as_str().unwrap());
    // Let start-up allocations settle before taking the idle figure.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = server.rss_mb();
    let watch = RssWatch::start(&server);

    // An oversized sign-in body: refused at 4 KiB, whatever its size.
    let small = vec![b' '; 64 * 1024];
    let (status, text) = raw(
        port,
        post_head("/api/v1/auth/login", "application/json", "", small.len()),
        small,
    )
    .await;
    assert_eq!(status, 413, "{text}");
    let huge: Vec<u8> = format!("[{}0]", "0,".repeat(16 * 1024 * 1024)).into_bytes();
    let floods = (0..4).map(|_| {
        let body = huge.clone();
        tokio::spawn(async move {
            raw(
                port,
                post_head("/api/v1/auth/login", "application/json", "", body.len()),
                body,
            )
            .await
            .0
        })
    });
    for flood in futures::future::join_all(floods).await {
        let status = flood.unwrap();
        assert!(status == 413 || status == 0, "got {status}");
    }

    // A gzip bomb: 16 million empty spans in about 16 KB.
    let bomb = empty_spans_gzip(16_000_000);
    assert!(bomb.len() < 100_000, "{} bytes", bomb.len());
    let bombs = (0..4).map(|_| {
        let (body, key_header) = (bomb.clone(), key_header.clone());
        tokio::spawn(async move {
            raw(
                port,
                post_head(
                    "/v1/traces",
                    "application/x-protobuf",
                    &format!("{key_header}Content-Encoding: gzip\r\n"),
                    body.len(),
                ),
                body,
            )
            .await
        })
    });
    for answer in futures::future::join_all(bombs).await {
        let (status, text) = answer.unwrap();
        assert_eq!(status, 413, "{text}");
    }

    // 100 wrong passwords at once from one address: only the limit's five
    // reach a password check; the rest are refused (429) or shed (503).
    let guesses = (0..100).map(|i| {
        tokio::spawn(async move { sign_in(port, &format!("guess {i}"), "198.51.100.7").await.0 })
    });
    let statuses: Vec<u16> = futures::future::join_all(guesses)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(checked <= 5, "{checked} password checks ran: {statuses:?}");
    assert!(
        statuses.iter().all(|s| [401, 429, 503].contains(s)),
        "{statuses:?}"
    );
    // That address is locked out of signing in, even with the password...
    assert_eq!(sign_in(port, PASSWORD, "198.51.100.7").await.0, 429);
    // ...but a valid key from the same address is never refused for it.
    let (status, body) = http_request(
        port,
        "POST",
        "/api/v1/agents",
        &format!("{key_header}X-Forwarded-For: 198.51.100.7\r\n"),
        Some(&json!({ "role": "r", "goal": "g" })),
    )
    .await
    .unwrap();
    assert_eq!(status, 201, "{body}");

    let peak = watch.peak();
    assert!(
        peak - idle < BOUND_MB,
        "RSS rose from {idle:.0} to {peak:.0} MiB (bound: +{BOUND_MB} MiB)"
    );
    // And the server still answers.
    assert_eq!(server.call("GET", "/health", None).await.0, 200);
}

#[tokio::test]
async fn an_open_local_server_refuses_cross_site_requests() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    let port = server.port;
    let agent = br#"{"role":"r","goal":"g"}"#.to_vec();
    // No Content-Type: not JSON (a form post from a web page needs none).
    let head = format!(
        "POST /api/v1/agents HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        agent.len()
    );
    assert_eq!(raw(port, head, agent.clone()).await.0, 415);
    // Another site's page: by Origin, by Sec-Fetch-Site, or a rebound name.
    let cross_site = [
        "Origin: https://attacker.example\r\n",
        "Sec-Fetch-Site: cross-site\r\n",
    ];
    for extra in cross_site {
        let (status, text) = raw(
            port,
            post_head("/api/v1/keys", "application/json", extra, 40),
            br#"{"name":"stolen","scopes":["admin"]}    "#.to_vec(),
        )
        .await;
        assert_eq!(status, 403, "{extra}: {text}");
        assert!(text.contains("not_local"), "{text}");
    }
    let rebound = "GET /api/v1/agents HTTP/1.1\r\nHost: attacker.example:8080\r\n\
                   Connection: close\r\n\r\n"
        .to_string();
    assert_eq!(raw(port, rebound, Vec::new()).await.0, 403);
    // No key was created: the server is still open to local clients.
    let (status, keys) = server.call("GET", "/api/v1/keys", None).await;
    assert_eq!(status, 200, "{keys}");
    assert_eq!(keys["items"], json!([]), "{keys}");
    // The same page's own origin (the admin console) works.
    let (status, text) = raw(
        port,
        post_head(
            "/api/v1/agents",
            "application/json",
            "Origin: http://127.0.0.1\r\nSec-Fetch-Site: same-origin\r\n",
            agent.len(),
        ),
        agent,
    )
    .await;
    assert_eq!(status, 201, "{text}");
}

#[tokio::test]
async fn slow_clients_and_floods_are_shed_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        dir.path(),
        &[
            ("MAX_CONCURRENT_REQUESTS", "2".to_string()),
            ("REQUEST_TIMEOUT_SECONDS", "2".to_string()),
            ("HEADER_READ_TIMEOUT_SECONDS", "1".to_string()),
        ],
    )
    .await;
    let port = server.port;
    // Two requests whose bodies never finish hold both places...
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let head = post_head("/api/v1/agents", "application/json", "", 1000);
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(b"{\"role\":").await.unwrap();
        held.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // ...so a third is shed at once, with Retry-After; health still answers.
    let (status, text) = raw(
        port,
        "GET /api/v1/agents HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".into(),
        Vec::new(),
    )
    .await;
    assert_eq!(status, 503, "{text}");
    assert!(
        text.to_ascii_lowercase().contains("retry-after: 1"),
        "{text}"
    );
    assert!(text.contains("\"busy\""), "{text}");
    assert_eq!(server.call("GET", "/health", None).await.0, 200);
    // The held requests run out of time: 503, and their places free up.
    for mut stream in held {
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
            .await
            .expect("the request timed out")
            .unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    }
    assert_eq!(server.call("GET", "/api/v1/agents", None).await.0, 200);
    // A client that never finishes its headers is disconnected.
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream
        .write_all(b"GET /api/v1/agents HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the connection was closed");
    assert!(read.is_ok_and(|_| !String::from_utf8_lossy(&answer).contains("200 OK")));
    // Health answers from a cache: two calls within a second, one check.
    let (_, first) = server.call("GET", "/health", None).await;
    let (_, second) = server.call("GET", "/health", None).await;
    assert_eq!(first["checked_at"], second["checked_at"]);
}
