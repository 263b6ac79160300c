#!/usr/bin/env python3
"""Feed the OpenTelemetry Python SDK a steady GenAI span load and report
what its exporter went through.

The SDK runs as an instrumented agent framework would: a TracerProvider
with the default BatchSpanProcessor (queue 2,048, batches of 512, 5 s
delay, 30 s export timeout) and the OTLP/HTTP protobuf span exporter,
pointed at ``{endpoint}/v1/traces``. Agent runs (an ``invoke_agent`` span
with four ``chat`` spans and an ``execute_tool`` span under it) are started
at ``--rate`` spans per second for ``--seconds``, then the provider is
flushed and shut down.

Usage:
    python tests/otel/sdk_load.py --endpoint http://127.0.0.1:PORT
        [--rate 2000] [--seconds 60] [--agents 20]

Prints one JSON object: spans ended, spans the exporter reported exported,
exports that failed, spans dropped (ended but never exported: the processor
drops spans while its queue is full and warns only once, so the count is
ended minus exported, not the warnings), the rate achieved, and the
exports' latencies.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from typing import Sequence

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind

SPANS_PER_RUN = 6


class TimedExporter(SpanExporter):
    """Delegates to the real exporter; records each export's outcome and time."""

    def __init__(self, inner: SpanExporter):
        self._inner = inner
        self._lock = threading.Lock()
        self.exported = 0
        self.failed = 0
        self.latencies_ms: list[float] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        started = time.perf_counter()
        try:
            result = self._inner.export(spans)
        except Exception:  # noqa: BLE001 - an exporter crash is a failed export
            result = SpanExportResult.FAILURE
        elapsed = (time.perf_counter() - started) * 1000
        with self._lock:
            self.latencies_ms.append(elapsed)
            if result is SpanExportResult.SUCCESS:
                self.exported += len(spans)
            else:
                self.failed += 1
        return result

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


class DropCounter(logging.Handler):
    """Counts the processor's "Queue full" warnings (newer SDKs warn once,
    however many spans they drop)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "Queue full" in record.getMessage():
            self.dropped += 1


def run(tracer, n: int, agents: int) -> None:
    agent = f"load-agent-{n % agents}"
    with tracer.start_as_current_span(
        f"invoke_agent {agent}",
        kind=SpanKind.INTERNAL,
        attributes={
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "LoadAgent",
            "gen_ai.agent.id": agent,
            "gen_ai.conversation.id": f"conv-{n}",
        },
    ):
        for step in range(4):
            with tracer.start_as_current_span(
                "chat gpt-4o-mini",
                kind=SpanKind.CLIENT,
                attributes={
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.usage.input_tokens": 120 + step,
                    "gen_ai.usage.output_tokens": 40,
                    "gen_ai.output.messages": json.dumps(
                        [{"role": "assistant", "parts": [
                            {"type": "text", "content": f"run {n} step {step}: weigh the options"}]}]
                    ),
                },
            ):
                pass
        with tracer.start_as_current_span(
            "execute_tool search",
            kind=SpanKind.INTERNAL,
            attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"},
        ):
            pass


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--rate", type=float, default=2000.0, help="spans per second")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--agents", type=int, default=20)
    args = ap.parse_args()

    drops = DropCounter()
    logging.getLogger("opentelemetry").addHandler(drops)
    exporter = TimedExporter(OTLPSpanExporter(endpoint=f"{args.endpoint.rstrip('/')}/v1/traces"))
    provider = TracerProvider(resource=Resource.create({"service.name": "sdk-load"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("vectadb.tests.sdk_load")

    interval = SPANS_PER_RUN / args.rate
    started = time.perf_counter()
    deadline = started + args.seconds
    runs = 0
    next_at = started
    while True:
        now = time.perf_counter()
        if now >= deadline:
            break
        if now < next_at:
            time.sleep(next_at - now)
        run(tracer, runs, args.agents)
        runs += 1
        next_at += interval
    elapsed = time.perf_counter() - started
    flushed = provider.force_flush()
    provider.shutdown()

    ended = runs * SPANS_PER_RUN
    print(json.dumps({
        "spans_ended": ended,
        "spans_exported": exporter.exported,
        "failed_exports": exporter.failed,
        "dropped_spans": ended - exporter.exported,
        "queue_full_warnings": drops.dropped,
        "flushed": flushed,
        "seconds": round(elapsed, 2),
        "achieved_rate": round(ended / elapsed, 1),
        "exports": len(exporter.latencies_ms),
        "export_ms_p50": round(percentile(exporter.latencies_ms, 0.5), 2),
        "export_ms_p99": round(percentile(exporter.latencies_ms, 0.99), 2),
    }))
    return 0 if exporter.failed == 0 and exporter.exported == ended else 1


if __name__ == "__main__":
    raise SystemExit(main())
