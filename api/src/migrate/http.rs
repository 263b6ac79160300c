//! Reading an export straight from CouchDB over HTTP (`http://` URLs, with
//! `user:password@` for basic auth), as a stream: a plain HTTP/1.1 GET,
//! chunked transfer decoding included, so the body is never held whole.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// `url` with its `user:password@` (if any) replaced by `***@`, for
/// messages and logs.
pub fn redacted(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let end = rest.find('/').unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => {
            let prefix = if scheme.is_empty() {
                String::new()
            } else {
                format!("{scheme}://")
            };
            format!("{prefix}***{}", &rest[at..])
        }
        None => url.to_string(),
    }
}

/// GET `url`; the body as a reader.
pub fn get(url: &str) -> Result<Box<dyn Read + Send>, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("only http:// URLs are read directly; for https, export with curl first")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (credentials, host) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    let address = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:80")
    };
    let stream =
        TcpStream::connect(&address).map_err(|e| format!("connecting to {address}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(300)))
        .map_err(|e| e.to_string())?;
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\nConnection: close\r\n"
    );
    if let Some(credentials) = credentials {
        request.push_str(&format!(
            "Authorization: Basic {}\r\n",
            base64(credentials.as_bytes())
        ));
    }
    request.push_str("\r\n");
    (&stream)
        .write_all(request.as_bytes())
        .map_err(|e| format!("sending the request to {address}: {e}"))?;
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).map_err(|e| e.to_string())?;
    let code = status
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let mut chunked = false;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).map_err(|e| e.to_string())?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    if code != "200" {
        return Err(format!("{} answered {}", redacted(url), status.trim_end()));
    }
    Ok(if chunked {
        Box::new(Chunked {
            inner: reader,
            left: 0,
            done: false,
        })
    } else {
        Box::new(reader)
    })
}

/// A chunked transfer-encoded body, decoded as it is read.
struct Chunked<R> {
    inner: R,
    left: usize,
    done: bool,
}

impl<R: BufRead> Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        if self.left == 0 {
            let mut size = String::new();
            self.inner.read_line(&mut size)?;
            let size = size
                .trim()
                .split(';')
                .next()
                .unwrap_or_default()
                .to_string();
            self.left = usize::from_str_radix(&size, 16).map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("bad chunk size {size:?}"),
                )
            })?;
            if self.left == 0 {
                self.done = true;
                return Ok(0);
            }
        }
        let want = buf.len().min(self.left);
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.left -= n;
        if self.left == 0 {
            let mut crlf = String::new();
            self.inner.read_line(&mut crlf)?;
        }
        Ok(n)
    }
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_and_basic_auth() {
        let body = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n";
        let mut decoded = String::new();
        Chunked {
            inner: &body[..],
            left: 0,
            done: false,
        }
        .read_to_string(&mut decoded)
        .unwrap();
        assert_eq!(decoded, "hello, world");
        assert_eq!(base64(b"admin:password"), "YWRtaW46cGFzc3dvcmQ=");
        assert_eq!(base64(b"ab"), "YWI=");
        assert!(get("https://example.com/db")
            .err()
            .unwrap()
            .contains("https"));
    }

    #[test]
    fn credentials_never_reach_messages() {
        assert_eq!(
            redacted("http://admin:s3cret@couch:5984/db/_all_docs"),
            "http://***@couch:5984/db/_all_docs"
        );
        assert_eq!(redacted("http://couch:5984/db"), "http://couch:5984/db");
        let error = get("http://admin:s3cret@127.0.0.1:1/db").err().unwrap();
        assert!(!error.contains("s3cret"), "{error}");
    }
}
