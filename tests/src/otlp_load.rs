//! OTLP load: GenAI agent runs as an instrumented framework exports them
//! (an `invoke_agent` span, four `chat` spans and one `execute_tool` span
//! carrying an exception event), encoded as OTLP/HTTP protobuf requests,
//! and a raw HTTP client that sends them. For the benchmark's OTLP rows
//! and the tests that load the OTLP path.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span};
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Spans in one agent run.
pub const SPANS_PER_RUN: usize = 6;

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
    }
}

fn text(value: impl Into<String>) -> any_value::Value {
    any_value::Value::StringValue(value.into())
}

/// A 16-byte trace id and 8-byte span ids unique to run `run`.
pub fn trace_id(run: u64) -> Vec<u8> {
    let mut id = vec![0x7a; 8];
    id.extend_from_slice(&run.to_be_bytes());
    id
}

fn span_id(run: u64, n: u8) -> Vec<u8> {
    let mut id = (run & 0x00ff_ffff_ffff_ffff).to_be_bytes().to_vec();
    id[0] = n + 1;
    id
}

/// The hex ids VectaDB derives documents from (`otlp::mapping`).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The spans of agent run `run`, one of `agents` agents, with children
/// listed before their agent span (as a batch processor often sends them).
pub fn run_spans(run: u64, agents: u64) -> Vec<Span> {
    let trace = trace_id(run);
    let agent = run % agents.max(1);
    let start = 1_700_000_000_000_000_000u64 + run * 10_000_000;
    let root = span_id(run, 0);
    let child = |n: u8, name: String, attributes: Vec<KeyValue>| Span {
        trace_id: trace.clone(),
        span_id: span_id(run, n),
        parent_span_id: root.clone(),
        name,
        kind: span::SpanKind::Client as i32,
        start_time_unix_nano: start + u64::from(n) * 1_000_000,
        end_time_unix_nano: start + u64::from(n) * 1_000_000 + 900_000,
        attributes,
        ..Span::default()
    };
    let mut spans = Vec::with_capacity(SPANS_PER_RUN);
    for step in 1..=4u8 {
        spans.push(child(
            step,
            "chat gpt-4o-mini".into(),
            vec![
                kv("gen_ai.operation.name", text("chat")),
                kv("gen_ai.request.model", text("gpt-4o-mini")),
                kv("gen_ai.usage.input_tokens", any_value::Value::IntValue(120 + i64::from(step))),
                kv("gen_ai.usage.output_tokens", any_value::Value::IntValue(40)),
                kv(
                    "gen_ai.output.messages",
                    text(format!(
                        r#"[{{"role":"assistant","parts":[{{"type":"text","content":"run {run} step {step}: compare the options and pick the cheapest route"}}]}}]"#
                    )),
                ),
            ],
        ));
    }
    let mut tool = child(
        5,
        "execute_tool search_flights".into(),
        vec![
            kv("gen_ai.operation.name", text("execute_tool")),
            kv("gen_ai.tool.name", text("search_flights")),
            kv("gen_ai.tool.call.id", text(format!("call-{run}"))),
        ],
    );
    tool.events.push(span::Event {
        time_unix_nano: start + 5_500_000,
        name: "exception".into(),
        attributes: vec![
            kv("exception.type", text("TimeoutError")),
            kv(
                "exception.message",
                text(format!("flight search {run} timed out")),
            ),
        ],
        ..span::Event::default()
    });
    spans.push(tool);
    spans.push(Span {
        trace_id: trace.clone(),
        span_id: root,
        name: format!("invoke_agent planner-{agent}"),
        kind: span::SpanKind::Internal as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 9_000_000,
        attributes: vec![
            kv("gen_ai.operation.name", text("invoke_agent")),
            kv("gen_ai.agent.name", text(format!("planner-{agent}"))),
            kv("gen_ai.agent.description", text("plans team travel")),
            kv(
                "gen_ai.conversation.id",
                text(format!("conversation-{run}")),
            ),
        ],
        ..Span::default()
    });
    spans
}

/// Spans `first..first + count` of the stream of runs 0, 1, 2, … (an
/// export may end in the middle of a run, as a batch processor's does).
pub fn span_range(first: u64, count: u64, agents: u64) -> Vec<Span> {
    let per_run = SPANS_PER_RUN as u64;
    let (from, to) = (first / per_run, (first + count).div_ceil(per_run));
    (from..to)
        .flat_map(|run| run_spans(run, agents))
        .skip((first % per_run) as usize)
        .take(count as usize)
        .collect()
}

/// An export of the spans `first..first + count` of the run stream.
pub fn export(first: u64, count: u64, agents: u64) -> ExportTraceServiceRequest {
    let spans = span_range(first, count, agents);
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", text("travel-assistant"))],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

/// The same export as protobuf bytes.
pub fn export_bytes(first: u64, count: u64, agents: u64) -> Vec<u8> {
    export(first, count, agents).encode_to_vec()
}

/// POST protobuf `body` to `path` on 127.0.0.1:`port` (HTTP/1.0, one
/// connection); returns the status and the `Retry-After` header, if any.
pub async fn post_protobuf(
    port: u16,
    path: &str,
    headers: &str,
    body: &[u8],
) -> std::io::Result<(u16, Option<String>)> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let head = format!(
        "POST {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{headers}\
         Content-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let retry_after = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("retry-after")
            .then(|| value.trim().to_string())
    });
    Ok((status, retry_after))
}

/// Sequential exports of `spans` spans each, with the OTLP worker running:
/// each export's acknowledgement time, and the time from its
/// acknowledgement until the inbox is empty again (it is placed).
pub struct Sequential {
    pub ack: Vec<std::time::Duration>,
    pub placed: Vec<std::time::Duration>,
}

/// Wait until the inbox is empty (everything acknowledged is placed),
/// counting it every `poll`.
pub async fn placed_all(
    service: &vectadb::service::Service,
    poll: std::time::Duration,
) -> anyhow::Result<()> {
    while service.recount_otlp_pending().await? > 0 {
        tokio::time::sleep(poll).await;
    }
    Ok(())
}

pub async fn sequential_exports(
    service: &vectadb::service::Service,
    port: u16,
    exports: u64,
    spans: u64,
    first_span: u64,
) -> anyhow::Result<Sequential> {
    let mut result = Sequential {
        ack: Vec::new(),
        placed: Vec::new(),
    };
    for k in 0..exports {
        let body = export_bytes(first_span + k * spans, spans, 20);
        let started = std::time::Instant::now();
        let (status, _) = post_protobuf(port, "/v1/traces", "", &body).await?;
        anyhow::ensure!(status == 200, "export answered {status}");
        let acknowledged = std::time::Instant::now();
        result.ack.push(acknowledged - started);
        placed_all(service, std::time::Duration::from_millis(1)).await?;
        result.placed.push(acknowledged.elapsed());
    }
    Ok(result)
}

/// `clients` exporters posting `spans`-span exports back to back for
/// `seconds`, retrying refused ones after 100 ms (as SDKs back off), then
/// the wait until everything acknowledged is placed.
pub struct Sustained {
    /// Completion time since the start, and latency, of each accepted export.
    pub accepted: Vec<(std::time::Duration, std::time::Duration)>,
    /// Exports answered 503 (and sent again).
    pub refused: u64,
    pub spans_per_export: u64,
    /// From the start until the last acknowledgement.
    pub accept_wall: std::time::Duration,
    /// From the start until the inbox was empty.
    pub persist_wall: std::time::Duration,
    /// The most items the inbox held (sampled every 100 ms).
    pub peak_inbox: u64,
    /// Peak resident memory of this process, MiB.
    pub peak_rss_mb: f64,
}

pub async fn sustained_exports(
    service: std::sync::Arc<vectadb::service::Service>,
    port: u16,
    clients: u64,
    seconds: u64,
    spans: u64,
    first_span: u64,
) -> anyhow::Result<Sustained> {
    use std::time::{Duration, Instant};
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let peak = std::sync::Arc::new(std::sync::Mutex::new((0u64, 0f64)));
    let sampler = tokio::spawn({
        let (peak, service) = (peak.clone(), service.clone());
        async move {
            let mut ticker = tokio::time::interval(Duration::from_millis(100));
            loop {
                ticker.tick().await;
                let inbox = service.otlp_pending();
                let rss = crate::process::rss_mb(std::process::id()).unwrap_or(0.0);
                let mut peak = peak.lock().unwrap();
                *peak = (peak.0.max(inbox), peak.1.max(rss));
            }
        }
    });
    let exporters: Vec<_> = (0..clients)
        .map(|c| {
            tokio::spawn(async move {
                let mut accepted = Vec::new();
                let mut refused = 0u64;
                let mut k = 0u64;
                while Instant::now() < deadline {
                    let first = first_span + c * 1_000_000_000 + k * spans;
                    let body =
                        tokio::task::spawn_blocking(move || export_bytes(first, spans, 20)).await?;
                    loop {
                        let sent = Instant::now();
                        match post_protobuf(port, "/v1/traces", "", &body).await? {
                            (200, _) => {
                                accepted.push((started.elapsed(), sent.elapsed()));
                                break;
                            }
                            (503, _) => {
                                refused += 1;
                                tokio::time::sleep(Duration::from_millis(100)).await;
                            }
                            (status, _) => anyhow::bail!("export answered {status}"),
                        }
                    }
                    k += 1;
                }
                anyhow::Ok((accepted, refused))
            })
        })
        .collect();
    let mut result = Sustained {
        accepted: Vec::new(),
        refused: 0,
        spans_per_export: spans,
        accept_wall: Duration::ZERO,
        persist_wall: Duration::ZERO,
        peak_inbox: 0,
        peak_rss_mb: 0.0,
    };
    for exporter in exporters {
        let (accepted, refused) = exporter.await??;
        result.accepted.extend(accepted);
        result.refused += refused;
    }
    result.accept_wall = started.elapsed();
    placed_all(&service, Duration::from_millis(5)).await?;
    result.persist_wall = started.elapsed();
    sampler.abort();
    let (inbox, rss) = *peak.lock().unwrap();
    result.peak_inbox = inbox;
    result.peak_rss_mb = rss;
    Ok(result)
}

/// The ids of the thoughts run `run` becomes (its four chat spans and its
/// tool span), as `otlp::mapping::thought_id` derives them.
pub fn thought_ids(run: u64) -> Vec<String> {
    let trace = hex(&trace_id(run));
    (1..=5u8)
        .map(|n| format!("otel-{}{}", &trace[..8], hex(&span_id(run, n))))
        .collect()
}
