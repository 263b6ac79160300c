#!/usr/bin/env python3
"""Emit one realistic multi-step GenAI agent run over OTLP/HTTP (protobuf).

Uses the real OpenTelemetry Python SDK and OTLP/HTTP exporters to send one trace
(spans following the OpenTelemetry GenAI semantic conventions) to
``{endpoint}/v1/traces`` and OTLP log records to ``{endpoint}/v1/logs``.

Usage:
    python tests/otel/agent_run.py --endpoint http://127.0.0.1:PORT [--seed N]
        [--compression none|gzip|deflate] [--processor batch|simple]
        [--protocol http|grpc] [--header NAME=VALUE ...]

With ``--protocol grpc`` the SDK's OTLP/gRPC exporters send the same data
as unary gRPC calls (TraceService/Export, LogsService/Export) to the
endpoint's host and port, plaintext; ``--header`` adds call metadata (an API
key, say) to either protocol.

After both providers are flushed and shut down, exactly one JSON object is
printed to stdout describing what was emitted (ids taken from the spans and
log records the exporters actually sent). Exit status is non-zero if any
export failed, or if fewer spans/log records than expected were exported.
Diagnostics go to stderr.

Default seed (0) gives agent id "travel-planner-01" and conversation id
"conv-7f3a"; any other seed derives different ids, so a test can emit two
distinguishable runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import threading
import time
from typing import Optional, Sequence

from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    LogRecordExporter,
    LogRecordExportResult,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import SpanKind, Status, StatusCode

SERVICE_NAME = "travel-assistant"
SERVICE_VERSION = "1.4.2"
EXPECTED_SPANS = 7
EXPECTED_LOGS = 4
STEP_GAP_S = 0.005


# --------------------------------------------------------------------------
# Exporter wrappers: delegate to the real OTLP exporters, record every result.
# --------------------------------------------------------------------------
class RecordingSpanExporter(SpanExporter):
    def __init__(self, inner: SpanExporter):
        self._inner = inner
        self._lock = threading.Lock()
        self.results: list[SpanExportResult] = []
        self.exported: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self._inner.export(spans)
        except Exception as exc:  # noqa: BLE001 - any exporter crash is a failure
            print(f"span export raised: {exc!r}", file=sys.stderr)
            result = SpanExportResult.FAILURE
        with self._lock:
            self.results.append(result)
            if result is SpanExportResult.SUCCESS:
                self.exported.extend(spans)
        return result

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


class RecordingLogExporter(LogRecordExporter):
    def __init__(self, inner: LogRecordExporter):
        self._inner = inner
        self._lock = threading.Lock()
        self.results: list[LogRecordExportResult] = []
        self.exported: list[ReadableLogRecord] = []

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        try:
            result = self._inner.export(batch)
        except Exception as exc:  # noqa: BLE001
            print(f"log export raised: {exc!r}", file=sys.stderr)
            result = LogRecordExportResult.FAILURE
        with self._lock:
            self.results.append(result)
            if result is LogRecordExportResult.SUCCESS:
                self.exported.extend(batch)
        return result

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


# --------------------------------------------------------------------------
# GenAI message helpers (semconv JSON message format).
# --------------------------------------------------------------------------
def j(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def text_part(content: str) -> dict:
    return {"type": "text", "content": content}


def tool_call_part(call_id: str, name: str, arguments: dict) -> dict:
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}


def tool_response_part(call_id: str, response) -> dict:
    return {"type": "tool_call_response", "id": call_id, "response": response}


def ids_for_seed(seed: int) -> tuple[str, str]:
    if seed == 0:
        return "travel-planner-01", "conv-7f3a"
    digest = hashlib.sha256(f"vectadb-otel-seed-{seed}".encode()).hexdigest()
    return f"travel-planner-{seed:02d}-{digest[:4]}", f"conv-{digest[4:8]}"


def hex_or_none(value: int, width: int) -> Optional[str]:
    return format(value, f"0{width}x") if value else None


def status_name(code: StatusCode) -> str:
    return {StatusCode.OK: "ok", StatusCode.ERROR: "error"}.get(code, "unset")


def call_hotel_api() -> None:
    # Raised for real so the recorded exception carries a genuine stacktrace.
    raise TimeoutError("hotel API timed out after 30s")


# --------------------------------------------------------------------------
# The agent run.
# --------------------------------------------------------------------------
def run_agent(tracer: trace.Tracer, otel_logger, agent_id: str, conversation_id: str) -> None:
    model = "gpt-4o"
    response_model = "gpt-4o-2024-08-06"
    provider = "openai"
    user_request = "Plan a 3-day trip from Lisbon to Berlin under 900 EUR"

    def log(body: str, severity: SeverityNumber, text: str, attributes=None) -> None:
        otel_logger.emit(
            timestamp=time.time_ns(),
            body=body,
            severity_number=severity,
            severity_text=text,
            attributes=attributes,
        )

    user_msg = {"role": "user", "parts": [text_part(user_request)]}
    flights_args = {"from": "LIS", "to": "BER", "date": "2026-12-04"}
    flights_result = {
        "flights": [
            {"flight": "TP560", "carrier": "TAP Air Portugal", "depart": "2026-12-04T07:05",
             "arrive": "2026-12-04T11:40", "price_eur": 189.0},
            {"flight": "FR1234", "carrier": "Ryanair", "depart": "2026-12-04T13:20",
             "arrive": "2026-12-04T17:55", "price_eur": 94.5},
        ]
    }
    hotels_args = {"city": "Berlin", "check_in": "2026-12-04", "nights": 3, "max_price_eur": 600}
    assistant_1 = {
        "role": "assistant",
        "parts": [text_part("I will search flights first."),
                  tool_call_part("call_1", "search_flights", flights_args)],
        "finish_reason": "tool_call",
    }
    assistant_2 = {
        "role": "assistant",
        "parts": [text_part("Found a 94.50 EUR flight. Now searching hotels."),
                  tool_call_part("call_2", "search_hotels", hotels_args)],
        "finish_reason": "tool_call",
    }
    plan_text = "Fallback: book a hostel near Alexanderplatz and keep the flight"
    final_text = (
        "Here is your 3-day Berlin itinerary: fly FR1234 on Dec 4 (94.50 EUR), stay at a "
        "hostel near Alexanderplatz, Day 1 Museum Island, Day 2 East Side Gallery, "
        "Day 3 Reichstag dome. Estimated total: 480 EUR."
    )
    final_msg = {"role": "assistant", "parts": [text_part(final_text)], "finish_reason": "stop"}

    with tracer.start_as_current_span(
        "invoke_agent TravelPlanner",
        kind=SpanKind.INTERNAL,
        attributes={
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.id": agent_id,
            "gen_ai.agent.name": "TravelPlanner",
            "gen_ai.agent.description": "Plans multi-city trips: finds flights and hotels within a budget",
            "gen_ai.agent.version": "2.1.0",
            "gen_ai.conversation.id": conversation_id,
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": model,
            "app.customer_tier": "gold",
            "gen_ai.input.messages": j([user_msg]),
        },
    ) as root:
        time.sleep(STEP_GAP_S)

        # 1. first LLM call -> decides to search flights
        with tracer.start_as_current_span(
            f"chat {model}",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": provider,
                "gen_ai.conversation.id": conversation_id,
                "gen_ai.request.model": model,
                "gen_ai.response.model": response_model,
                "gen_ai.response.id": "chatcmpl-A1b2C3",
                "gen_ai.usage.input_tokens": 412,
                "gen_ai.usage.output_tokens": 58,
                "gen_ai.input.messages": j([user_msg]),
                "gen_ai.output.messages": j([assistant_1]),
                "gen_ai.response.finish_reasons": ["tool_calls"],
            },
        ):
            time.sleep(STEP_GAP_S)
        time.sleep(STEP_GAP_S)

        # 2. tool: search_flights
        with tracer.start_as_current_span(
            "execute_tool search_flights",
            kind=SpanKind.INTERNAL,
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "search_flights",
                "gen_ai.tool.call.id": "call_1",
                "gen_ai.tool.type": "function",
                "gen_ai.tool.description": "Search one-way flights between two airports on a date",
                "gen_ai.tool.call.arguments": j(flights_args),
            },
        ) as span:
            log("searching flights LIS→BER on 2026-12-04", SeverityNumber.INFO, "INFO",
                {"gen_ai.tool.name": "search_flights"})
            time.sleep(STEP_GAP_S)
            span.set_attribute("gen_ai.tool.call.result", j(flights_result))
        time.sleep(STEP_GAP_S)

        # 3. second LLM call -> decides to search hotels
        with tracer.start_as_current_span(
            f"chat {model}",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": provider,
                "gen_ai.conversation.id": conversation_id,
                "gen_ai.request.model": model,
                "gen_ai.response.model": response_model,
                "gen_ai.response.id": "chatcmpl-D4e5F6",
                "gen_ai.usage.input_tokens": 655,
                "gen_ai.usage.output_tokens": 41,
                "gen_ai.input.messages": j([
                    user_msg,
                    assistant_1,
                    {"role": "tool", "parts": [tool_response_part("call_1", flights_result)]},
                ]),
                "gen_ai.output.messages": j([assistant_2]),
                "gen_ai.response.finish_reasons": ["tool_calls"],
            },
        ):
            time.sleep(STEP_GAP_S)
        time.sleep(STEP_GAP_S)

        # 4. tool: search_hotels -> FAILS
        with tracer.start_as_current_span(
            "execute_tool search_hotels",
            kind=SpanKind.INTERNAL,
            record_exception=False,
            set_status_on_exception=False,
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "search_hotels",
                "gen_ai.tool.call.id": "call_2",
                "gen_ai.tool.type": "function",
                "gen_ai.tool.description": "Search hotels in a city for a date range under a price cap",
                "gen_ai.tool.call.arguments": j(hotels_args),
            },
        ) as span:
            log("hotel search slow, retrying", SeverityNumber.WARN, "WARN",
                {"gen_ai.tool.name": "search_hotels", "retry.attempt": 1})
            time.sleep(STEP_GAP_S)
            try:
                call_hotel_api()
            except TimeoutError as exc:
                span.record_exception(exc)
                span.set_attribute("error.type", "TimeoutError")
                span.set_status(Status(StatusCode.ERROR, "hotel API timed out after 30s"))
        time.sleep(STEP_GAP_S)

        # 5. planning step: re-plan after the failure
        with tracer.start_as_current_span(
            "plan",
            kind=SpanKind.INTERNAL,
            attributes={
                "gen_ai.operation.name": "plan",
                "gen_ai.agent.id": agent_id,
                "gen_ai.agent.name": "TravelPlanner",
                "gen_ai.output.messages": j([
                    {"role": "assistant", "parts": [text_part(plan_text)], "finish_reason": "stop"}
                ]),
            },
        ):
            log("hotel API unavailable, falling back to hostel search", SeverityNumber.ERROR, "ERROR")
            time.sleep(STEP_GAP_S)
        time.sleep(STEP_GAP_S)

        # 6. final LLM call -> answer
        with tracer.start_as_current_span(
            f"chat {model}",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": provider,
                "gen_ai.conversation.id": conversation_id,
                "gen_ai.request.model": model,
                "gen_ai.response.model": response_model,
                "gen_ai.response.id": "chatcmpl-G7h8I9",
                "gen_ai.usage.input_tokens": 900,
                "gen_ai.usage.output_tokens": 120,
                "gen_ai.input.messages": j([
                    user_msg,
                    assistant_1,
                    {"role": "tool", "parts": [tool_response_part("call_1", flights_result)]},
                    assistant_2,
                    {"role": "tool", "parts": [tool_response_part(
                        "call_2", {"error": "TimeoutError: hotel API timed out after 30s"})]},
                    {"role": "user", "parts": [text_part(plan_text)]},
                ]),
                "gen_ai.output.messages": j([final_msg]),
                "gen_ai.response.finish_reasons": ["stop"],
            },
        ):
            time.sleep(STEP_GAP_S)
        time.sleep(STEP_GAP_S)

        root.add_event("user_feedback", attributes={"rating": 5})
        root.set_attribute("gen_ai.output.messages", j([final_msg]))


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--endpoint", required=True, help="base URL, e.g. http://127.0.0.1:4318")
    ap.add_argument("--seed", type=int, default=0, help="0 (default) = canonical ids; other values vary ids")
    ap.add_argument("--compression", choices=["none", "gzip", "deflate"], default="none",
                    help="OTLP body compression (SDK default is none)")
    ap.add_argument("--processor", choices=["batch", "simple"], default="batch",
                    help="batch: one request per signal at flush; simple: one request per span/log record")
    ap.add_argument("--timeout", type=float, default=10.0, help="per-export timeout in seconds")
    ap.add_argument("--protocol", choices=["http", "grpc"], default="http",
                    help="http: OTLP/HTTP protobuf; grpc: OTLP/gRPC")
    ap.add_argument("--header", action="append", default=[],
                    help="NAME=VALUE sent with every export (HTTP header or gRPC metadata)")
    args = ap.parse_args(argv)
    headers = dict(h.split("=", 1) for h in args.header)

    endpoint = args.endpoint.rstrip("/")
    compression = {
        "none": Compression.NoCompression,
        "gzip": Compression.Gzip,
        "deflate": Compression.Deflate,
    }[args.compression]
    agent_id, conversation_id = ids_for_seed(args.seed)

    resource = Resource.create({"service.name": SERVICE_NAME, "service.version": SERVICE_VERSION})

    if args.protocol == "grpc":
        import grpc
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter

        target = endpoint.split("://", 1)[-1]
        grpc_compression = {
            "none": grpc.Compression.NoCompression,
            "gzip": grpc.Compression.Gzip,
            "deflate": grpc.Compression.Deflate,
        }[args.compression]
        common = dict(endpoint=target, insecure=True, compression=grpc_compression,
                      timeout=args.timeout, headers=headers or None)
        span_exporter = RecordingSpanExporter(GrpcSpanExporter(**common))
        log_exporter = RecordingLogExporter(GrpcLogExporter(**common))
    else:
        span_exporter = RecordingSpanExporter(
            OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", compression=compression,
                             timeout=args.timeout, headers=headers or None)
        )
        log_exporter = RecordingLogExporter(
            OTLPLogExporter(endpoint=f"{endpoint}/v1/logs", compression=compression,
                            timeout=args.timeout, headers=headers or None)
        )
    if args.processor == "batch":
        span_processor = BatchSpanProcessor(span_exporter)
        log_processor = BatchLogRecordProcessor(log_exporter)
    else:
        span_processor = SimpleSpanProcessor(span_exporter)
        log_processor = SimpleLogRecordProcessor(log_exporter)

    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(span_processor)
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(log_processor)

    tracer = tracer_provider.get_tracer("vectadb.tests.travel_assistant", "1.4.2")
    otel_logger = logger_provider.get_logger("vectadb.tests.travel_assistant", "1.4.2")

    # Outside any span: no trace context. Deliberately emitted WITHOUT an explicit
    # timestamp, as plain API users do: the SDK then sends time_unix_nano = 0 and
    # only observed_time_unix_nano is set.
    otel_logger.emit(body="travel-assistant started", severity_number=SeverityNumber.INFO,
                     severity_text="INFO")

    run_agent(tracer, otel_logger, agent_id, conversation_id)

    flushed_t = tracer_provider.force_flush()
    flushed_l = logger_provider.force_flush()
    tracer_provider.shutdown()
    logger_provider.shutdown()

    spans = sorted(span_exporter.exported, key=lambda s: s.start_time)
    logs = list(log_exporter.exported)

    failures = []
    if not flushed_t:
        failures.append("tracer_provider.force_flush() returned False")
    if not flushed_l:
        failures.append("logger_provider.force_flush() returned False")
    bad_t = [r.name for r in span_exporter.results if r is not SpanExportResult.SUCCESS]
    bad_l = [r.name for r in log_exporter.results if r is not LogRecordExportResult.SUCCESS]
    if bad_t:
        failures.append(f"span exports failed: {bad_t}")
    if bad_l:
        failures.append(f"log exports failed: {bad_l}")
    if len(spans) != EXPECTED_SPANS:
        failures.append(f"exported {len(spans)} spans, expected {EXPECTED_SPANS}")
    if len(logs) != EXPECTED_LOGS:
        failures.append(f"exported {len(logs)} log records, expected {EXPECTED_LOGS}")

    trace_ids = {s.context.trace_id for s in spans}
    summary = {
        "trace_id": format(next(iter(trace_ids)), "032x") if len(trace_ids) == 1 else None,
        "agent": {
            "id": agent_id,
            "name": "TravelPlanner",
            "description": "Plans multi-city trips: finds flights and hotels within a budget",
            "version": "2.1.0",
        },
        "conversation_id": conversation_id,
        "spans": [
            {
                "span_id": format(s.context.span_id, "016x"),
                "parent_span_id": format(s.parent.span_id, "016x") if s.parent is not None else None,
                "name": s.name,
                "operation": s.attributes.get("gen_ai.operation.name"),
                "start_ns": s.start_time,
                "status": status_name(s.status.status_code),
            }
            for s in spans
        ],
        "logs": [
            {
                "body": r.log_record.body,
                "severity_text": r.log_record.severity_text,
                "severity_number": r.log_record.severity_number.value
                if r.log_record.severity_number is not None else None,
                "span_id": hex_or_none(r.log_record.span_id or 0, 16),
            }
            for r in logs
        ],
    }
    if len(trace_ids) != 1:
        failures.append(f"expected exactly one trace id, got {len(trace_ids)}")

    print(json.dumps(summary, ensure_ascii=False))
    sys.stdout.flush()
    for f in failures:
        print(f"agent_run: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
