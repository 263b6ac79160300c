//! From spans and log records to agents, tasks, thoughts and logs (the
//! table in README, "OpenTelemetry ingest"). Pure: what is already known
//! about earlier spans comes in, what to write comes out.
//!
//! - An `invoke_agent` / `create_agent` span is an agent (by
//!   `gen_ai.agent.id`, else its name: an agent seen again is the same one);
//!   an `invoke_agent` span is also the task it works on, one per
//!   `gen_ai.conversation.id` (else per trace).
//! - Every other span belongs to its nearest agent ancestor. A span whose
//!   parent has not arrived waits. GenAI steps with no agent above them
//!   belong to their service (`service.name`), as an agent of its own, one
//!   task per trace; other spans outside any agent (plain HTTP or database
//!   spans) are not kept.
//! - `chat` / `text_completion` / `generate_content` / `plan` spans become
//!   thoughts of that kind, `execute_tool` spans thoughts of kind `tool`, in
//!   span start order.
//! - Span events (an `exception` event is an error), spans with error
//!   status and OTLP log records become logs.
//!
//! Ids derive from trace and span ids, so ingest is idempotent.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::model::{span_key, truncate, Item, LogItem, SpanItem, SpanRef};
use crate::domain::validate::MAX_TEXT_BYTES;
use crate::domain::{ids, LogLevel, NewAgent, NewLog, NewTask, NewThought, TaskStatus};

/// Where a span went (remembered in `otel_span` for spans and log records
/// that arrive later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub agent_id: String,
    pub task_id: Option<String>,
    pub thought_id: Option<String>,
    /// Under a service's agent (no agent span above it).
    #[serde(default)]
    pub service: bool,
}

/// What one ingest writes, in order: agents, tasks, thoughts, logs.
#[derive(Debug, Default)]
pub struct Plan {
    pub agents: Vec<NewAgent>,
    pub tasks: Vec<NewTask>,
    pub thoughts: Vec<NewThought>,
    pub logs: Vec<NewLog>,
    /// Every placed span, with where it went.
    pub owners: Vec<(SpanRef, Owner)>,
    /// Keys of the items placed (to take out of the waiting room).
    pub placed: Vec<String>,
    /// Items whose agent is not known yet.
    pub waiting: Vec<Item>,
}

const AGENT_OPERATIONS: [&str; 2] = ["invoke_agent", "create_agent"];
const THOUGHT_OPERATIONS: [&str; 5] = [
    "chat",
    "text_completion",
    "generate_content",
    "plan",
    "execute_tool",
];
const MESSAGE_ATTRIBUTES: [&str; 2] = ["gen_ai.input.messages", "gen_ai.output.messages"];
/// Longest parent chain followed (a guard against malformed cycles).
const MAX_DEPTH: usize = 512;

/// A stable 20-character hex digest of the parts.
pub fn short_hash(parts: &[&str]) -> String {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x0e1f_7a2c_93d4_4b6e_8f05_c1a9_d27e_3b48);
    let joined = parts.join("\u{1f}");
    uuid::Uuid::new_v5(&NAMESPACE, joined.as_bytes())
        .simple()
        .to_string()[..20]
        .to_string()
}

pub fn thought_id(trace_id: &str, span_id: &str) -> String {
    format!("otel-{}{span_id}", &trace_id[..8])
}

/// The agent and task a span works under.
#[derive(Debug, Clone, PartialEq)]
struct Context {
    agent_id: String,
    task_id: Option<String>,
    /// The service's agent stands in: no agent span above.
    service: bool,
}

fn time(ns: u64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(i64::try_from(ns).unwrap_or(i64::MAX))
}

fn text(value: &str) -> String {
    truncate(value, MAX_TEXT_BYTES)
}

/// Place what can be placed. Items in `expired` waited too long for a
/// parent (or span) that never came: a span among them whose parent is
/// missing is taken as a root, a log record as its service's.
pub fn plan(items: Vec<Item>, known: &HashMap<String, Owner>, expired: &HashSet<String>) -> Plan {
    let mut spans: HashMap<String, SpanItem> = HashMap::new();
    let mut logs = Vec::new();
    for item in items {
        match item {
            Item::Span(span) => {
                spans.insert(span_key(&span.trace_id, &span.span_id), span);
            }
            Item::Log(log) => logs.push(log),
        }
    }
    let mut planner = Planner {
        spans: &spans,
        known,
        expired,
        contexts: HashMap::new(),
        plan: Plan::default(),
        placed_spans: HashMap::new(),
        agents_seen: HashSet::new(),
        tasks_seen: HashSet::new(),
    };
    let mut ordered: Vec<&SpanItem> = spans.values().collect();
    ordered.sort_by(|a, b| (a.start_ns, &a.span_id).cmp(&(b.start_ns, &b.span_id)));
    for span in ordered {
        planner.place_span(span);
    }
    for log in logs {
        planner.place_log(log);
    }
    planner.plan
}

struct Planner<'a> {
    spans: &'a HashMap<String, SpanItem>,
    known: &'a HashMap<String, Owner>,
    expired: &'a HashSet<String>,
    /// Memo: span key → its context (None: waiting).
    contexts: HashMap<String, Option<Context>>,
    plan: Plan,
    placed_spans: HashMap<String, Owner>,
    agents_seen: HashSet<String>,
    tasks_seen: HashSet<String>,
}

impl Planner<'_> {
    fn place_span(&mut self, span: &SpanItem) {
        let key = span_key(&span.trace_id, &span.span_id);
        let Some(context) = self.context(&key, 0) else {
            self.plan.waiting.push(Item::Span(span.clone()));
            return;
        };
        let operation = span.operation().unwrap_or_default();
        if context.service && !THOUGHT_OPERATIONS.contains(&operation) {
            // Telemetry outside any agent that is not a GenAI step (an HTTP
            // request, a database call): not VectaDB's to keep. Its GenAI
            // descendants still go under the service's agent.
            self.plan.placed.push(key);
            return;
        }
        let thought = THOUGHT_OPERATIONS.contains(&operation).then(|| {
            let id = thought_id(&span.trace_id, &span.span_id);
            self.plan
                .thoughts
                .push(thought_of(span, operation, &id, &context));
            id
        });
        // Later spans and log records may name this one: its agent and task
        // must exist even when it says nothing itself.
        self.ensure_defined(&context, span);
        for (index, event) in span.events.iter().enumerate() {
            self.plan
                .logs
                .push(event_log(span, index, event, &context, thought.as_deref()));
        }
        if span.is_error() {
            self.plan
                .logs
                .push(status_log(span, &context, thought.as_deref()));
        }
        let owner = Owner {
            agent_id: context.agent_id,
            task_id: context.task_id,
            thought_id: thought,
            service: context.service,
        };
        self.placed_spans.insert(key.clone(), owner.clone());
        self.plan
            .owners
            .push((SpanRef::new(&span.trace_id, &span.span_id), owner));
        self.plan.placed.push(key);
    }

    fn place_log(&mut self, log: LogItem) {
        let item_key = Item::Log(log.clone()).key();
        let owner = match (&log.trace_id, &log.span_id) {
            (Some(trace), Some(span)) => {
                let key = span_key(trace, span);
                let found = self
                    .placed_spans
                    .get(&key)
                    .or_else(|| self.known.get(&key))
                    .cloned();
                match found {
                    None if self.expired.contains(&item_key) => {
                        Some(self.service_owner(&log.resource))
                    }
                    found => found,
                }
            }
            // Outside any span: the service's own log.
            _ => Some(self.service_owner(&log.resource)),
        };
        let Some(owner) = owner else {
            self.plan.waiting.push(Item::Log(log));
            return;
        };
        self.plan.logs.push(record_log(&log, &owner));
        self.plan.placed.push(item_key);
    }

    /// The context of the span with this key: its own if it is an agent
    /// span, else its parent's; None while an ancestor is missing.
    fn context(&mut self, key: &str, depth: usize) -> Option<Context> {
        if let Some(found) = self.contexts.get(key) {
            return found.clone();
        }
        if depth > MAX_DEPTH {
            return None;
        }
        let spans = self.spans;
        let context = if let Some(span) = spans.get(key) {
            if is_agent_span(span) {
                Some(agent_context(span))
            } else {
                match &span.parent_span_id {
                    Some(parent) => {
                        let parent_key = span_key(&span.trace_id, parent);
                        if spans.contains_key(&parent_key) {
                            self.context(&parent_key, depth + 1)
                        } else if let Some(owner) = self.known.get(&parent_key) {
                            Some(Context {
                                agent_id: owner.agent_id.clone(),
                                task_id: owner.task_id.clone(),
                                service: owner.service,
                            })
                        } else if self.expired.contains(key) {
                            Some(service_context(span))
                        } else {
                            None
                        }
                    }
                    None => Some(service_context(span)),
                }
            }
        } else {
            None
        };
        self.contexts.insert(key.to_string(), context.clone());
        context
    }

    /// Plan the agent and task a context names, once, from the span that
    /// defines them (the agent span, or the service's root span).
    fn ensure_defined(&mut self, context: &Context, span: &SpanItem) {
        let Some(definer) = definer(self.spans, self.expired, span) else {
            return;
        };
        if self.agents_seen.insert(context.agent_id.clone()) {
            self.plan.agents.push(agent_of(definer, &context.agent_id));
        }
        if let Some(task_id) = &context.task_id {
            if self.tasks_seen.insert(task_id.clone()) {
                self.plan
                    .tasks
                    .push(task_of(definer, task_id, &context.agent_id));
            }
        }
    }

    fn service_owner(&mut self, resource: &Map<String, Value>) -> Owner {
        let service = service_name(resource);
        let agent_id = service_agent_id(&service);
        if self.agents_seen.insert(agent_id.clone()) {
            self.plan
                .agents
                .push(service_agent(&agent_id, &service, resource));
        }
        Owner {
            agent_id,
            task_id: None,
            thought_id: None,
            service: true,
        }
    }
}

/// The span in this batch that defines `span`'s context (None when an
/// earlier batch defined it).
fn definer<'s>(
    spans: &'s HashMap<String, SpanItem>,
    expired: &HashSet<String>,
    span: &'s SpanItem,
) -> Option<&'s SpanItem> {
    let mut current = span;
    for _ in 0..MAX_DEPTH {
        if is_agent_span(current) {
            return Some(current);
        }
        match &current.parent_span_id {
            None => return Some(current),
            Some(parent) => match spans.get(&span_key(&current.trace_id, parent)) {
                Some(next) => current = next,
                // A span that waited too long stands in for its lost root.
                None if expired.contains(&span_key(&current.trace_id, &current.span_id)) => {
                    return Some(current)
                }
                None => return None,
            },
        }
    }
    None
}

fn is_agent_span(span: &SpanItem) -> bool {
    span.operation()
        .is_some_and(|op| AGENT_OPERATIONS.contains(&op))
}

fn service_name(resource: &Map<String, Value>) -> String {
    resource
        .get("service.name")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .unwrap_or("unknown_service")
        .to_string()
}

fn service_agent_id(service: &str) -> String {
    format!("otel-svc-{}", short_hash(&[service]))
}

/// The agent's id: `gen_ai.agent.id` when it is a usable id, else derived
/// from it, else from the agent's name and service.
fn agent_id_of(span: &SpanItem) -> String {
    match span.attribute_str("gen_ai.agent.id") {
        Some(id) if ids::is_valid(id) => id.to_string(),
        Some(id) => format!("otel-{}", short_hash(&[id])),
        None => format!(
            "otel-{}",
            short_hash(&[&service_name(&span.resource), &agent_name(span)])
        ),
    }
}

fn agent_name(span: &SpanItem) -> String {
    span.attribute_str("gen_ai.agent.name")
        .map(str::to_string)
        .unwrap_or_else(|| {
            span.name
                .strip_prefix("invoke_agent ")
                .or_else(|| span.name.strip_prefix("create_agent "))
                .unwrap_or(&span.name)
                .to_string()
        })
}

fn agent_context(span: &SpanItem) -> Context {
    let agent_id = agent_id_of(span);
    let task_id = (span.operation() == Some("invoke_agent")).then(|| {
        let key = conversation(span).unwrap_or(&span.trace_id);
        format!("otel-{}", short_hash(&[&agent_id, key]))
    });
    Context {
        agent_id,
        task_id,
        service: false,
    }
}

fn service_context(root: &SpanItem) -> Context {
    let agent_id = service_agent_id(&service_name(&root.resource));
    let task_id = format!("otel-{}", short_hash(&[&agent_id, &root.trace_id]));
    Context {
        agent_id,
        task_id: Some(task_id),
        service: true,
    }
}

fn conversation(span: &SpanItem) -> Option<&str> {
    span.attribute_str("gen_ai.conversation.id")
        .filter(|c| !c.is_empty())
}

/// The span's attributes, less the message bodies (kept parsed elsewhere).
fn other_attributes(span: &SpanItem) -> Map<String, Value> {
    span.attributes
        .iter()
        .filter(|(k, _)| !MESSAGE_ATTRIBUTES.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn otel_metadata(span: &SpanItem) -> Value {
    json!({
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "name": span.name,
        "start": time(span.start_ns),
        "end": time(span.end_ns),
        "duration_ms": span.end_ns.saturating_sub(span.start_ns) as f64 / 1e6,
        "status": match span.status_code { 1 => "ok", 2 => "error", _ => "unset" },
        "scope": span.scope,
    })
}

fn agent_of(definer: &SpanItem, agent_id: &str) -> NewAgent {
    if !is_agent_span(definer) {
        let service = service_name(&definer.resource);
        return service_agent(agent_id, &service, &definer.resource);
    }
    let name = agent_name(definer);
    let role = if name.trim().is_empty() {
        "agent".to_string()
    } else {
        text(&name)
    };
    let goal = definer
        .attribute_str("gen_ai.agent.description")
        .filter(|d| !d.trim().is_empty())
        .map(text)
        .unwrap_or_else(|| format!("{role}, seen through OpenTelemetry"));
    let mut metadata = Map::new();
    metadata.insert("source".into(), "otlp".into());
    for (key, field) in [
        ("gen_ai.agent.version", "version"),
        ("gen_ai.agent.id", "otel_agent_id"),
        ("gen_ai.provider.name", "provider"),
        ("gen_ai.request.model", "model"),
    ] {
        if let Some(value) = definer.attributes.get(key) {
            metadata.insert(field.into(), value.clone());
        }
    }
    metadata.insert("service".into(), service_name(&definer.resource).into());
    metadata.insert("resource".into(), Value::Object(definer.resource.clone()));
    NewAgent {
        id: Some(agent_id.to_string()),
        role,
        goal,
        metadata,
    }
}

fn service_agent(agent_id: &str, service: &str, resource: &Map<String, Value>) -> NewAgent {
    let mut metadata = Map::new();
    metadata.insert("source".into(), "otlp".into());
    metadata.insert("service".into(), service.into());
    metadata.insert("resource".into(), Value::Object(resource.clone()));
    NewAgent {
        id: Some(agent_id.to_string()),
        role: text(service),
        goal: format!("Service {service}, seen through OpenTelemetry (spans outside any agent)"),
        metadata,
    }
}

fn task_of(definer: &SpanItem, task_id: &str, agent_id: &str) -> NewTask {
    let input = message_text(
        definer.attributes.get("gen_ai.input.messages"),
        Some("user"),
    );
    let output = message_text(definer.attributes.get("gen_ai.output.messages"), None);
    let description = input
        .clone()
        .filter(|d| !d.trim().is_empty())
        .or_else(|| conversation(definer).map(|c| format!("Conversation {c}")))
        .unwrap_or_else(|| definer.name.clone());
    let mut metadata = Map::new();
    metadata.insert("source".into(), "otlp".into());
    if let Some(c) = conversation(definer) {
        metadata.insert("conversation_id".into(), c.into());
    }
    metadata.insert("otel".into(), otel_metadata(definer));
    metadata.insert(
        "attributes".into(),
        Value::Object(other_attributes(definer)),
    );
    NewTask {
        id: Some(task_id.to_string()),
        agent_id: agent_id.to_string(),
        description: text(&description),
        status: if definer.is_error() {
            TaskStatus::Failed
        } else {
            TaskStatus::Completed
        },
        input: input.map(|i| Value::String(text(&i))),
        output: output.map(|o| Value::String(text(&o))),
        metadata,
        // The span's own times, so a task lasts as long as the agent ran
        // (not the instant it was placed); an exporter that sent none
        // leaves them to the status stamps.
        started_at: (definer.start_ns > 0).then(|| time(definer.start_ns)),
        completed_at: (definer.end_ns >= definer.start_ns && definer.start_ns > 0)
            .then(|| time(definer.end_ns)),
    }
}

fn thought_of(span: &SpanItem, operation: &str, id: &str, context: &Context) -> NewThought {
    let mut metadata = Map::new();
    let kind = if operation == "execute_tool" {
        "tool"
    } else {
        operation
    };
    let content = if kind == "tool" {
        tool_content(span)
    } else {
        message_text(span.attributes.get("gen_ai.output.messages"), None)
            .or_else(|| span.attribute_str("gen_ai.completion").map(str::to_string))
            .or_else(|| message_text(span.attributes.get("gen_ai.input.messages"), None))
            .unwrap_or_else(|| span.name.clone())
    };
    for (key, field) in [
        ("gen_ai.request.model", "model"),
        ("gen_ai.response.model", "response_model"),
        ("gen_ai.usage.input_tokens", "input_tokens"),
        ("gen_ai.usage.output_tokens", "output_tokens"),
        ("gen_ai.response.finish_reasons", "finish_reasons"),
        ("gen_ai.tool.name", "tool"),
        ("gen_ai.tool.call.id", "tool_call_id"),
    ] {
        if let Some(value) = span.attributes.get(key) {
            metadata.insert(field.into(), value.clone());
        }
    }
    for (key, field) in [
        ("gen_ai.input.messages", "input_messages"),
        ("gen_ai.output.messages", "output_messages"),
    ] {
        if let Some(value) = span.attributes.get(key) {
            metadata.insert(field.into(), parsed(value));
        }
    }
    metadata.insert("otel".into(), otel_metadata(span));
    metadata.insert("attributes".into(), Value::Object(other_attributes(span)));
    NewThought {
        id: Some(id.to_string()),
        agent_id: context.agent_id.clone(),
        task_id: context.task_id.clone(),
        parent_id: None,
        step: None,
        kind: Some(kind.to_string()),
        content: text(if content.trim().is_empty() {
            &span.name
        } else {
            &content
        }),
        metadata,
    }
}

/// `name(arguments) → result`, or `… failed: reason`.
fn tool_content(span: &SpanItem) -> String {
    let name = span
        .attribute_str("gen_ai.tool.name")
        .map(str::to_string)
        .unwrap_or_else(|| {
            span.name
                .strip_prefix("execute_tool ")
                .unwrap_or(&span.name)
                .to_string()
        });
    let arguments = span
        .attributes
        .get("gen_ai.tool.call.arguments")
        .map(compact)
        .unwrap_or_default();
    let mut content = format!("{name}({arguments})");
    if span.is_error() {
        let reason = if span.status_message.is_empty() {
            span.attribute_str("error.type").unwrap_or("error")
        } else {
            &span.status_message
        };
        content.push_str(&format!(" failed: {reason}"));
    } else if let Some(result) = span.attributes.get("gen_ai.tool.call.result") {
        content.push_str(&format!(" → {}", compact(result)));
    }
    content
}

/// A JSON string attribute parsed, anything else as it is.
fn parsed(value: &Value) -> Value {
    match value {
        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| value.clone()),
        other => other.clone(),
    }
}

/// A value as compact text (JSON strings re-serialised without spaces).
fn compact(value: &Value) -> String {
    match parsed(value) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// The text of GenAI messages (`[{role, parts: [{type, content}...]}]`):
/// the last message (of `role`, when given), its text parts, and tool calls
/// as `→ name(arguments)`.
fn message_text(messages: Option<&Value>, role: Option<&str>) -> Option<String> {
    let messages = parsed(messages?);
    let list = messages.as_array()?;
    let message = list
        .iter()
        .rev()
        .find(|m| role.is_none_or(|r| m["role"] == r))?;
    let mut pieces = Vec::new();
    if let Some(parts) = message["parts"].as_array() {
        for part in parts {
            match part["type"].as_str() {
                Some("text") | Some("reasoning") => {
                    if let Some(content) = part["content"].as_str() {
                        pieces.push(content.to_string());
                    }
                }
                Some("tool_call") => pieces.push(format!(
                    "→ {}({})",
                    part["name"].as_str().unwrap_or("tool"),
                    compact(&part["arguments"])
                )),
                Some("tool_call_response") => {
                    pieces.push(format!("← {}", compact(&part["response"])))
                }
                _ => {}
            }
        }
    } else if let Some(content) = message["content"].as_str() {
        pieces.push(content.to_string());
    }
    let joined = pieces.join("\n");
    (!joined.trim().is_empty()).then_some(joined)
}

fn log_id(parts: &[&str]) -> String {
    format!("otel-{}", short_hash(parts))
}

fn event_log(
    span: &SpanItem,
    index: usize,
    event: &super::model::EventItem,
    context: &Context,
    thought_id: Option<&str>,
) -> NewLog {
    let attr = |k: &str| event.attributes.get(k).and_then(Value::as_str);
    let (level, message) = if event.name == "exception" {
        let kind = attr("exception.type").unwrap_or("exception");
        let message = attr("exception.message").unwrap_or_default();
        (LogLevel::Error, format!("{kind}: {message}"))
    } else {
        let level = attr("level")
            .or_else(|| attr("severity"))
            .and_then(|l| serde_json::from_value(Value::String(l.to_lowercase())).ok())
            .unwrap_or(LogLevel::Info);
        let message = attr("message")
            .or_else(|| attr("body"))
            .map(|m| format!("{}: {m}", event.name))
            .unwrap_or_else(|| event.name.clone());
        (level, message)
    };
    let mut metadata = Map::new();
    metadata.insert("source".into(), "otlp".into());
    metadata.insert("event".into(), event.name.clone().into());
    metadata.insert("span".into(), span.name.clone().into());
    metadata.insert("trace_id".into(), span.trace_id.clone().into());
    metadata.insert("span_id".into(), span.span_id.clone().into());
    metadata.insert("attributes".into(), Value::Object(event.attributes.clone()));
    NewLog {
        id: Some(log_id(&[
            &span.trace_id,
            &span.span_id,
            "event",
            &index.to_string(),
        ])),
        agent_id: context.agent_id.clone(),
        task_id: context.task_id.clone(),
        thought_id: thought_id.map(str::to_string),
        level,
        message: non_empty(text(&message), &event.name),
        metadata,
        timestamp: Some(time(if event.time_ns > 0 {
            event.time_ns
        } else {
            span.end_ns
        })),
    }
}

fn status_log(span: &SpanItem, context: &Context, thought_id: Option<&str>) -> NewLog {
    let reason = if span.status_message.is_empty() {
        span.attribute_str("error.type")
            .unwrap_or("error status")
            .to_string()
    } else {
        span.status_message.clone()
    };
    let mut metadata = Map::new();
    metadata.insert("source".into(), "otlp".into());
    metadata.insert("span".into(), span.name.clone().into());
    metadata.insert("trace_id".into(), span.trace_id.clone().into());
    metadata.insert("span_id".into(), span.span_id.clone().into());
    if let Some(kind) = span.attributes.get("error.type") {
        metadata.insert("error_type".into(), kind.clone());
    }
    NewLog {
        id: Some(log_id(&[&span.trace_id, &span.span_id, "status"])),
        agent_id: context.agent_id.clone(),
        task_id: context.task_id.clone(),
        thought_id: thought_id.map(str::to_string),
        level: LogLevel::Error,
        message: text(&format!("{} failed: {reason}", span.name)),
        metadata,
        timestamp: Some(time(span.end_ns)),
    }
}

/// OTLP severity numbers: 1–4 trace, 5–8 debug, 9–12 info, 13–16 warn,
/// 17–20 error, 21–24 fatal; unset falls back to the severity text.
pub fn level_of(number: i32, text: &str) -> LogLevel {
    match number {
        1..=4 => LogLevel::Trace,
        5..=8 => LogLevel::Debug,
        9..=12 => LogLevel::Info,
        13..=16 => LogLevel::Warn,
        17..=20 => LogLevel::Error,
        21..=24 => LogLevel::Critical,
        _ => match text.to_ascii_lowercase().as_str() {
            "trace" => LogLevel::Trace,
            "debug" => LogLevel::Debug,
            "warn" | "warning" => LogLevel::Warn,
            "error" => LogLevel::Error,
            "fatal" | "critical" => LogLevel::Critical,
            _ => LogLevel::Info,
        },
    }
}

fn record_log(log: &LogItem, owner: &Owner) -> NewLog {
    let message = match &log.body {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut metadata = Map::new();
    metadata.insert("source".into(), "otlp".into());
    if !log.severity_text.is_empty() {
        metadata.insert("severity_text".into(), log.severity_text.clone().into());
    }
    if let Some(trace) = &log.trace_id {
        metadata.insert("trace_id".into(), trace.clone().into());
    }
    if let Some(span) = &log.span_id {
        metadata.insert("span_id".into(), span.clone().into());
    }
    metadata.insert("scope".into(), log.scope.clone().into());
    metadata.insert("attributes".into(), Value::Object(log.attributes.clone()));
    NewLog {
        id: Some(log_id(&["record", &log.id_hash()])),
        agent_id: owner.agent_id.clone(),
        task_id: owner.task_id.clone(),
        thought_id: owner.thought_id.clone(),
        level: level_of(log.severity_number, &log.severity_text),
        message: non_empty(text(&message), "(empty log record)"),
        metadata,
        timestamp: (log.time_ns > 0).then(|| time(log.time_ns)),
    }
}

fn non_empty(text: String, fallback: &str) -> String {
    if text.trim().is_empty() {
        fallback.to_string()
    } else {
        text
    }
}
