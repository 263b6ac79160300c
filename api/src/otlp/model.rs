//! OTLP spans and log records flattened into what the mapping needs: ids as
//! hex, attributes as JSON, resource and scope carried along. These are
//! also what waits in `otel_pending` until its agent is known, so they
//! serialise.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Longest attribute string kept, in bytes (longer ones are cut, saying so).
pub const MAX_ATTRIBUTE_BYTES: usize = 16 * 1024;

/// OTLP status codes.
pub const STATUS_ERROR: i32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanItem {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub name: String,
    pub start_ns: u64,
    pub end_ns: u64,
    pub attributes: Map<String, Value>,
    pub events: Vec<EventItem>,
    pub status_code: i32,
    pub status_message: String,
    pub resource: Map<String, Value>,
    pub scope: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventItem {
    pub name: String,
    pub time_ns: u64,
    pub attributes: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogItem {
    pub trace_id: Option<String>,
    pub span_id: Option<String>,
    /// When it happened, else when it was observed (SDKs send 0 for unset).
    pub time_ns: u64,
    pub severity_number: i32,
    pub severity_text: String,
    #[serde(default)]
    pub body: Value,
    pub attributes: Map<String, Value>,
    pub resource: Map<String, Value>,
    pub scope: String,
}

/// Something received that has to be placed under an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Item {
    Span(SpanItem),
    Log(LogItem),
}

impl Item {
    pub fn trace_id(&self) -> Option<&str> {
        match self {
            Item::Span(span) => Some(&span.trace_id),
            Item::Log(log) => log.trace_id.as_deref(),
        }
    }

    /// A key unique to this item, for parking it.
    pub fn key(&self) -> String {
        match self {
            Item::Span(span) => span_key(&span.trace_id, &span.span_id),
            Item::Log(log) => format!("log-{}", log.id_hash()),
        }
    }
}

/// Where a span is remembered: its trace and span id together.
pub fn span_key(trace_id: &str, span_id: &str) -> String {
    format!("{trace_id}{span_id}")
}

/// A span by its trace and span ids (hex).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SpanRef {
    pub trace_id: String,
    pub span_id: String,
}

impl SpanRef {
    pub fn new(trace_id: &str, span_id: &str) -> Self {
        Self {
            trace_id: trace_id.to_string(),
            span_id: span_id.to_string(),
        }
    }

    pub fn key(&self) -> String {
        span_key(&self.trace_id, &self.span_id)
    }
}

impl SpanItem {
    pub fn attribute_str(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).and_then(Value::as_str)
    }

    pub fn operation(&self) -> Option<&str> {
        self.attribute_str("gen_ai.operation.name")
    }

    pub fn is_error(&self) -> bool {
        self.status_code == STATUS_ERROR
    }
}

impl LogItem {
    /// A stable hash of everything the record says (for idempotent ids).
    pub fn id_hash(&self) -> String {
        let identity = serde_json::json!([
            self.trace_id,
            self.span_id,
            self.time_ns,
            self.severity_number,
            self.body,
            self.attributes,
        ]);
        super::mapping::short_hash(&[&identity.to_string()])
    }
}

/// Spans of an export request; the count of spans refused (no valid ids)
/// and why.
pub fn spans_of(request: ExportTraceServiceRequest) -> (Vec<SpanItem>, u64, Option<String>) {
    let mut spans = Vec::new();
    let mut rejected = 0;
    let mut reason = None;
    for resource_spans in request.resource_spans {
        let resource = resource_spans
            .resource
            .map(|r| attributes(&r.attributes))
            .unwrap_or_default();
        for scope_spans in resource_spans.scope_spans {
            let scope = scope_spans.scope.map(|s| s.name).unwrap_or_default();
            for span in scope_spans.spans {
                let (Some(trace_id), Some(span_id)) =
                    (hex_id(&span.trace_id, 16), hex_id(&span.span_id, 8))
                else {
                    rejected += 1;
                    reason = Some("spans need a 16-byte trace_id and an 8-byte span_id".into());
                    continue;
                };
                let status = span.status.unwrap_or_default();
                spans.push(SpanItem {
                    trace_id,
                    span_id,
                    parent_span_id: hex_id(&span.parent_span_id, 8),
                    name: span.name,
                    start_ns: span.start_time_unix_nano,
                    end_ns: span.end_time_unix_nano,
                    attributes: attributes(&span.attributes),
                    events: span
                        .events
                        .into_iter()
                        .map(|e| EventItem {
                            name: e.name,
                            time_ns: e.time_unix_nano,
                            attributes: attributes(&e.attributes),
                        })
                        .collect(),
                    status_code: status.code,
                    status_message: status.message,
                    resource: resource.clone(),
                    scope: scope.clone(),
                });
            }
        }
    }
    (spans, rejected, reason)
}

/// Log records of an export request.
pub fn logs_of(request: ExportLogsServiceRequest) -> Vec<LogItem> {
    let mut logs = Vec::new();
    for resource_logs in request.resource_logs {
        let resource = resource_logs
            .resource
            .map(|r| attributes(&r.attributes))
            .unwrap_or_default();
        for scope_logs in resource_logs.scope_logs {
            let scope = scope_logs.scope.map(|s| s.name).unwrap_or_default();
            for record in scope_logs.log_records {
                let time_ns = if record.time_unix_nano > 0 {
                    record.time_unix_nano
                } else {
                    record.observed_time_unix_nano
                };
                logs.push(LogItem {
                    trace_id: hex_id(&record.trace_id, 16),
                    span_id: hex_id(&record.span_id, 8),
                    time_ns,
                    severity_number: record.severity_number,
                    severity_text: record.severity_text,
                    body: record.body.as_ref().map(any_value).unwrap_or(Value::Null),
                    attributes: attributes(&record.attributes),
                    resource: resource.clone(),
                    scope: scope.clone(),
                });
            }
        }
    }
    logs
}

/// Lower-case hex of an id of `len` bytes; None when absent or all zero.
fn hex_id(bytes: &[u8], len: usize) -> Option<String> {
    (bytes.len() == len && bytes.iter().any(|b| *b != 0)).then(|| {
        bytes
            .iter()
            .fold(String::with_capacity(len * 2), |mut s, b| {
                s.push_str(&format!("{b:02x}"));
                s
            })
    })
}

pub fn attributes(list: &[KeyValue]) -> Map<String, Value> {
    list.iter()
        .map(|kv| {
            (
                kv.key.clone(),
                kv.value.as_ref().map(any_value).unwrap_or(Value::Null),
            )
        })
        .collect()
}

fn any_value(value: &AnyValue) -> Value {
    match &value.value {
        None => Value::Null,
        Some(any_value::Value::StringValue(s)) => Value::String(bounded(s)),
        Some(any_value::Value::BoolValue(b)) => Value::Bool(*b),
        Some(any_value::Value::IntValue(i)) => Value::from(*i),
        Some(any_value::Value::DoubleValue(d)) => {
            serde_json::Number::from_f64(*d).map_or(Value::Null, Value::Number)
        }
        Some(any_value::Value::ArrayValue(array)) => {
            Value::Array(array.values.iter().map(any_value).collect())
        }
        Some(any_value::Value::KvlistValue(list)) => Value::Object(attributes(&list.values)),
        Some(any_value::Value::BytesValue(bytes)) => Value::String(
            bytes
                .iter()
                .fold(String::new(), |s, b| s + &format!("{b:02x}")),
        ),
    }
}

/// `text` cut to [`MAX_ATTRIBUTE_BYTES`] on a character boundary.
pub fn bounded(text: &str) -> String {
    truncate(text, MAX_ATTRIBUTE_BYTES)
}

/// `text` cut to `max` bytes on a character boundary, saying how much was cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub(40);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} bytes cut]", &text[..end], text.len() - end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_characters_whole_and_says_so() {
        let text = "é".repeat(100);
        let cut = truncate(&text, 81);
        assert!(cut.len() <= 81 + 30, "{cut}");
        assert!(cut.ends_with("bytes cut]"), "{cut}");
        assert_eq!(truncate("short", 81), "short");
    }

    #[test]
    fn ids_are_hex_and_zero_ids_are_absent() {
        assert_eq!(hex_id(&[0xab, 0x01], 2).as_deref(), Some("ab01"));
        assert_eq!(hex_id(&[0, 0], 2), None);
        assert_eq!(hex_id(&[1], 2), None);
    }
}
