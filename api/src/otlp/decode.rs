//! OTLP/HTTP bodies: protobuf (`application/x-protobuf`) or JSON
//! (`application/json`, hex trace/span ids as the OTLP spec says), plain or
//! `gzip` / `deflate` compressed; answers go back in the request's encoding.

use std::io::Read;

use serde::{de::DeserializeOwned, Serialize};

/// How the body (and so the answer) is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("unsupported Content-Type {0:?}: send application/x-protobuf or application/json")]
    ContentType(String),
    #[error("unsupported Content-Encoding {0:?}: send gzip, deflate or none")]
    ContentEncoding(String),
    #[error("the body is not valid {0}-compressed data: {1}")]
    Decompress(&'static str, String),
    #[error("the decompressed body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the body is not a valid OTLP {0} message: {1}")]
    Message(&'static str, String),
    #[error("the request holds more than {0} messages (spans, records, attributes, values); send smaller batches")]
    TooMany(usize),
    #[error(
        "the request nests values deeper than {} levels",
        super::budget::MAX_DEPTH
    )]
    TooDeep,
}

impl Encoding {
    /// From the Content-Type header (a missing one means protobuf, the OTLP default).
    pub fn from_content_type(value: Option<&str>) -> Result<Encoding, DecodeError> {
        let essence = value
            .unwrap_or("application/x-protobuf")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
            "application/json" => Ok(Encoding::Json),
            _ => Err(DecodeError::ContentType(essence)),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }

    /// Decode `body` once it is known to hold at most `budget` messages
    /// (JSON values for OTLP/JSON): see [`super::budget`].
    pub fn decode<M: prost::Message + Default + DeserializeOwned>(
        self,
        body: &[u8],
        what: &'static str,
        budget: usize,
    ) -> Result<M, DecodeError> {
        use super::budget::{self, Refusal};
        let counted = match self {
            Encoding::Protobuf => budget::protobuf(body, what.contains("Log"), budget),
            Encoding::Json => budget::json(body, budget),
        };
        match counted {
            Ok(_) => {}
            Err(Refusal::TooMany) => return Err(DecodeError::TooMany(budget)),
            Err(Refusal::TooDeep) => return Err(DecodeError::TooDeep),
            Err(Refusal::Malformed(e)) => return Err(DecodeError::Message(what, e)),
        }
        match self {
            Encoding::Protobuf => {
                M::decode(body).map_err(|e| DecodeError::Message(what, e.to_string()))
            }
            Encoding::Json => {
                let invalid = |e: serde_json::Error| DecodeError::Message(what, e.to_string());
                let mut value: serde_json::Value = serde_json::from_slice(body).map_err(invalid)?;
                // Protobuf JSON lets a repeated field be left out; the generated
                // types require the request's one top-level list.
                if let Some(object) = value.as_object_mut() {
                    if object.is_empty() {
                        object.insert(top_level_list(what).into(), serde_json::json!([]));
                    }
                }
                serde_json::from_value(value).map_err(invalid)
            }
        }
    }

    pub fn encode<M: prost::Message + Serialize>(self, message: &M) -> Vec<u8> {
        match self {
            Encoding::Protobuf => message.encode_to_vec(),
            Encoding::Json => serde_json::to_vec(message).unwrap_or_default(),
        }
    }
}

/// The one field of an export request (`resourceSpans`, `resourceLogs`).
fn top_level_list(what: &str) -> &'static str {
    if what.contains("Log") {
        "resourceLogs"
    } else {
        "resourceSpans"
    }
}

/// The body with its Content-Encoding undone, at most `limit` bytes.
pub fn decompress(
    encoding: Option<&str>,
    body: &[u8],
    limit: usize,
) -> Result<Vec<u8>, DecodeError> {
    let encoding = encoding.unwrap_or("identity").trim().to_ascii_lowercase();
    let reader: Box<dyn Read + '_> = match encoding.as_str() {
        "" | "identity" => return Ok(body.to_vec()),
        "gzip" | "x-gzip" => Box::new(flate2::read::GzDecoder::new(body)),
        // HTTP's "deflate" is zlib-wrapped; some clients send it raw.
        "deflate" if body.first().is_some_and(|b| b & 0x0f == 8) => {
            Box::new(flate2::read::ZlibDecoder::new(body))
        }
        "deflate" => Box::new(flate2::read::DeflateDecoder::new(body)),
        other => return Err(DecodeError::ContentEncoding(other.to_string())),
    };
    let what = if encoding.contains("gzip") {
        "gzip"
    } else {
        "deflate"
    };
    let mut out = Vec::new();
    // One byte over the limit tells a body at the limit from a larger one.
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::Decompress(what, e.to_string()))?;
    if out.len() > limit {
        return Err(DecodeError::TooLarge(limit));
    }
    Ok(out)
}

/// `google.rpc.Status`, the body of an OTLP error response.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(
            Encoding::from_content_type(Some("application/json; charset=utf-8")),
            Ok(Encoding::Json)
        );
        assert_eq!(Encoding::from_content_type(None), Ok(Encoding::Protobuf));
        assert!(matches!(
            Encoding::from_content_type(Some("text/plain")),
            Err(DecodeError::ContentType(t)) if t == "text/plain"
        ));
    }

    #[test]
    fn gzip_deflate_and_limits() {
        let body = b"hello otlp".repeat(100);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&body).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(decompress(Some("gzip"), &gz, 10_000).unwrap(), body);
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        zlib.write_all(&body).unwrap();
        let zlib = zlib.finish().unwrap();
        assert_eq!(decompress(Some("deflate"), &zlib, 10_000).unwrap(), body);
        assert_eq!(
            decompress(Some("gzip"), &gz, 999),
            Err(DecodeError::TooLarge(999))
        );
        assert!(matches!(
            decompress(Some("gzip"), b"not gzip", 100),
            Err(DecodeError::Decompress("gzip", _))
        ));
        assert!(matches!(
            decompress(Some("br"), b"x", 100),
            Err(DecodeError::ContentEncoding(e)) if e == "br"
        ));
    }
}
