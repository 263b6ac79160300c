//! How many messages an OTLP body would become once decoded, counted
//! before decoding it. A protobuf message costs two bytes on the wire but a
//! few hundred once decoded, so a small body (smaller still compressed) can
//! otherwise decode into gigabytes: the count is capped first.
//!
//! - Protobuf: a walk of the wire format over the OTLP schema's nested
//!   messages (resources, scopes, spans, log records, events, links,
//!   attributes and their values), allocating nothing.
//! - JSON: every JSON value counts, through a serde visitor that keeps
//!   nothing.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Why a body was refused before decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// More than the budget's messages (or JSON values).
    TooMany,
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// Not well-formed protobuf or JSON.
    Malformed(String),
}

/// Deepest nesting accepted (attribute values may nest arrays and maps).
pub const MAX_DEPTH: usize = 64;

/// The OTLP messages whose fields hold further messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `Export{Trace,Logs}ServiceRequest`.
    Request,
    /// `ResourceSpans` / `ResourceLogs`.
    ResourceGroup,
    /// `ScopeSpans` / `ScopeLogs`.
    ScopeGroup,
    Resource,
    Scope,
    Span,
    Event,
    Link,
    LogRecord,
    KeyValue,
    AnyValue,
    /// `ArrayValue` / `KeyValueList`: `values` (field 1) hold values / pairs.
    ArrayValue,
    KeyValueList,
    /// A message whose fields this walk does not enter (e.g. `Status`).
    Leaf,
}

/// Which message a length-delimited field of `kind` holds, if any.
fn child(kind: Kind, field: u64, logs: bool) -> Option<Kind> {
    use Kind::*;
    Some(match (kind, field) {
        (Request, 1) => ResourceGroup,
        (ResourceGroup, 1) => Resource,
        (ResourceGroup, 2) => ScopeGroup,
        (ScopeGroup, 1) => Scope,
        (ScopeGroup, 2) if logs => LogRecord,
        (ScopeGroup, 2) => Span,
        (Resource, 1) | (Scope, 3) => KeyValue,
        (Span, 9) | (Event, 3) | (Link, 5) | (LogRecord, 6) => KeyValue,
        (Span, 11) => Event,
        (Span, 13) => Link,
        (Span, 15) => Leaf,
        (LogRecord, 5) | (KeyValue, 2) | (ArrayValue, 1) => AnyValue,
        (AnyValue, 5) => ArrayValue,
        (AnyValue, 6) => KeyValueList,
        (KeyValueList, 1) => KeyValue,
        _ => return None,
    })
}

/// Count the messages of a protobuf export request (`logs`: a logs
/// request, else a trace request), failing past `budget`.
pub fn protobuf(body: &[u8], logs: bool, budget: usize) -> Result<usize, Refusal> {
    let mut left = budget;
    walk(body, Kind::Request, logs, 0, &mut left)?;
    Ok(budget - left)
}

fn walk(
    mut rest: &[u8],
    kind: Kind,
    logs: bool,
    depth: usize,
    left: &mut usize,
) -> Result<(), Refusal> {
    if depth > MAX_DEPTH {
        return Err(Refusal::TooDeep);
    }
    let truncated = || Refusal::Malformed("truncated protobuf field".into());
    while !rest.is_empty() {
        let (key, after) = varint(rest)?;
        rest = after;
        let (field, wire) = (key >> 3, key & 7);
        match wire {
            0 => rest = varint(rest)?.1,
            1 => rest = rest.get(8..).ok_or_else(truncated)?,
            5 => rest = rest.get(4..).ok_or_else(truncated)?,
            2 => {
                let (len, after) = varint(rest)?;
                let len = usize::try_from(len).map_err(|_| truncated())?;
                if after.len() < len {
                    return Err(truncated());
                }
                let (payload, after) = after.split_at(len);
                rest = after;
                if let Some(inner) = child(kind, field, logs) {
                    *left = left.checked_sub(1).ok_or(Refusal::TooMany)?;
                    if inner != Kind::Leaf {
                        walk(payload, inner, logs, depth + 1, left)?;
                    }
                }
            }
            other => {
                return Err(Refusal::Malformed(format!(
                    "unsupported protobuf wire type {other}"
                )))
            }
        }
    }
    Ok(())
}

fn varint(bytes: &[u8]) -> Result<(u64, &[u8]), Refusal> {
    let mut value = 0u64;
    for (i, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, &bytes[i + 1..]));
        }
    }
    Err(Refusal::Malformed("invalid protobuf varint".into()))
}

/// Count the values of a JSON document, failing past `budget`.
pub fn json(body: &[u8], budget: usize) -> Result<usize, Refusal> {
    let left = Cell::new(budget);
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let counted = Counter { left: &left }
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end());
    match counted {
        Ok(()) => Ok(budget - left.get()),
        Err(_) if left.get() == 0 => Err(Refusal::TooMany),
        Err(e) if e.to_string().contains("recursion limit") => Err(Refusal::TooDeep),
        Err(e) => Err(Refusal::Malformed(e.to_string())),
    }
}

/// Takes one value from the budget per JSON value it visits.
#[derive(Clone, Copy)]
struct Counter<'a> {
    left: &'a Cell<usize>,
}

impl Counter<'_> {
    fn take<E: de::Error>(self) -> Result<(), E> {
        match self.left.get().checked_sub(1) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => Err(E::custom("too many values")),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Counter<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Counter<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.take()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.take()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.take()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.take()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.take()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.take()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.take()?;
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.take()?;
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(self)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use prost::Message;

    use super::*;

    fn request(spans: usize, attributes: usize) -> ExportTraceServiceRequest {
        let attribute = KeyValue {
            key: "k".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue("v".into())),
            }),
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![
                        Span {
                            name: "s".into(),
                            attributes: vec![attribute; attributes],
                            ..Default::default()
                        };
                        spans
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn counts_every_nested_message_of_a_protobuf_request() {
        let body = request(10, 3).encode_to_vec();
        // 1 resource group + 1 scope group + 10 × (span + 3 × (pair + value)).
        assert_eq!(protobuf(&body, false, 1_000), Ok(2 + 10 * 7));
        assert_eq!(protobuf(&body, false, 71), Err(Refusal::TooMany));
    }

    #[test]
    fn millions_of_empty_spans_are_refused_without_decoding_them() {
        let body = request(1_000_000, 0).encode_to_vec();
        assert!(body.len() < 8_000_000, "a few bytes a span");
        assert_eq!(protobuf(&body, false, 100_000), Err(Refusal::TooMany));
    }

    #[test]
    fn deep_and_malformed_bodies_are_refused() {
        // AnyValue { array_value { values [ AnyValue { array_value ... } ] } }
        let mut value = Vec::new();
        for _ in 0..200 {
            let mut array = vec![0x0a];
            array.extend(encode_len(value.len()));
            array.extend(&value);
            value = vec![0x2a];
            value.extend(encode_len(array.len()));
            value.extend(array);
        }
        let mut pair = vec![0x12];
        pair.extend(encode_len(value.len()));
        pair.extend(value);
        let mut resource = vec![0x0a];
        resource.extend(encode_len(pair.len()));
        resource.extend(pair);
        let mut group = vec![0x0a];
        group.extend(encode_len(resource.len()));
        group.extend(resource);
        let mut body = vec![0x0a];
        body.extend(encode_len(group.len()));
        body.extend(group);
        assert_eq!(protobuf(&body, false, 1_000_000), Err(Refusal::TooDeep));
        assert!(matches!(
            protobuf(&[0x0a, 0x05, 0x01], false, 10),
            Err(Refusal::Malformed(_))
        ));
    }

    fn encode_len(len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        prost::encoding::encode_varint(len as u64, &mut out);
        out
    }

    #[test]
    fn counts_json_values() {
        assert_eq!(json(br#"{"a":[1,2,{"b":null}]}"#, 100), Ok(6));
        let many = format!("[{}{{}}]", "{},".repeat(10_000));
        assert_eq!(json(many.as_bytes(), 1_000), Err(Refusal::TooMany));
        let deep = format!("{}{}", "[".repeat(1_000), "]".repeat(1_000));
        assert_eq!(json(deep.as_bytes(), 1_000_000), Err(Refusal::TooDeep));
        assert!(matches!(json(b"{\"a\":", 10), Err(Refusal::Malformed(_))));
    }
}
