#!/usr/bin/env python3
"""Self-check for tests/otel/agent_run.py.

Starts a tiny OTLP/HTTP receiver on 127.0.0.1 (ephemeral port) that accepts
POST /v1/traces and /v1/logs, decodes the protobuf bodies with the
opentelemetry-proto package, and answers 200 with an empty protobuf response
(Content-Type: application/x-protobuf). It runs agent_run.py against it as a
subprocess in several configurations and asserts that what arrived on the wire
matches the JSON summary the emitter printed.

Usage:
    python tests/otel/check_emitter.py [--dump]

--dump prints the received requests (as OTLP/JSON via MessageToDict) and headers.
Exit status 0 means every scenario passed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

HERE = os.path.dirname(os.path.abspath(__file__))
AGENT_RUN = os.path.join(HERE, "agent_run.py")

EXPECTED_ORDER = [
    ("invoke_agent TravelPlanner", "invoke_agent"),
    ("chat gpt-4o", "chat"),
    ("execute_tool search_flights", "execute_tool"),
    ("chat gpt-4o", "chat"),
    ("execute_tool search_hotels", "execute_tool"),
    ("plan", "plan"),
    ("chat gpt-4o", "chat"),
]


class Receiver:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []  # dicts: path, headers, raw_len, msg
        self.fail_paths: dict[str, int] = {}  # path -> status code to answer
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):  # keep stderr quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                encoding = (self.headers.get("Content-Encoding") or "").lower()
                body = raw
                if encoding == "gzip":
                    body = gzip.decompress(raw)
                elif encoding == "deflate":
                    body = zlib.decompress(raw)
                if self.path == "/v1/traces":
                    msg, resp = ExportTraceServiceRequest(), ExportTraceServiceResponse()
                elif self.path == "/v1/logs":
                    msg, resp = ExportLogsServiceRequest(), ExportLogsServiceResponse()
                else:
                    self._reply(404, b"", "text/plain")
                    return
                msg.ParseFromString(body)
                with receiver.lock:
                    receiver.requests.append({
                        "path": self.path,
                        "headers": {k: v for k, v in self.headers.items()},
                        "raw_len": len(raw),
                        "msg": msg,
                    })
                    fail = receiver.fail_paths.get(self.path)
                if fail:
                    self._reply(fail, b"", "application/x-protobuf")
                    return
                self._reply(200, resp.SerializeToString(), "application/x-protobuf")

            def _reply(self, code, payload, ctype):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def reset(self, fail_paths=None):
        with self.lock:
            self.requests = []
            self.fail_paths = dict(fail_paths or {})

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------- helpers
def attrs(kvs) -> dict:
    """KeyValue list -> {key: (oneof_kind, python value)}."""
    out = {}
    for kv in kvs:
        kind = kv.value.WhichOneof("value")
        if kind == "array_value":
            val = [getattr(v, v.WhichOneof("value")) for v in kv.value.array_value.values]
        else:
            val = getattr(kv.value, kind) if kind else None
        out[kv.key] = (kind, val)
    return out


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def run_emitter(endpoint, *extra, timeout=60):
    cmd = [sys.executable, AGENT_RUN, "--endpoint", endpoint, *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return proc


# ---------------------------------------------------------------- assertions
def verify(receiver: Receiver, summary: dict, seed: int, compression: str, processor: str):
    reqs = receiver.requests
    trace_reqs = [r for r in reqs if r["path"] == "/v1/traces"]
    log_reqs = [r for r in reqs if r["path"] == "/v1/logs"]
    check(trace_reqs and log_reqs, "expected both /v1/traces and /v1/logs requests")
    if processor == "simple":
        check(len(trace_reqs) == 7, f"simple processor: expected 7 trace requests, got {len(trace_reqs)}")
        check(len(log_reqs) == 4, f"simple processor: expected 4 log requests, got {len(log_reqs)}")

    # headers
    for r in reqs:
        h = {k.lower(): v for k, v in r["headers"].items()}
        check(h.get("content-type") == "application/x-protobuf", f"content-type {h.get('content-type')}")
        enc = h.get("content-encoding")
        if compression == "none":
            check(enc is None, f"unexpected content-encoding {enc}")
        else:
            check(enc == compression, f"content-encoding {enc} != {compression}")
        check(h.get("user-agent", "").startswith("OTel-OTLP-Exporter-Python/"), f"user-agent {h.get('user-agent')}")

    # ---- summary shape
    exp_agent_id, exp_conv = ("travel-planner-01", "conv-7f3a") if seed == 0 else (None, None)
    if seed == 0:
        check(summary["agent"]["id"] == exp_agent_id, summary["agent"])
        check(summary["conversation_id"] == exp_conv, summary["conversation_id"])
    else:
        check(summary["agent"]["id"] != "travel-planner-01", "seed should vary agent id")
        check(summary["conversation_id"] != "conv-7f3a", "seed should vary conversation id")
    check(len(summary["trace_id"]) == 32, "trace_id hex32")
    sspans = summary["spans"]
    check([(s["name"], s["operation"]) for s in sspans] == EXPECTED_ORDER,
          f"span order {[(s['name'], s['operation']) for s in sspans]}")
    starts = [s["start_ns"] for s in sspans]
    check(starts == sorted(starts) and len(set(starts)) == len(starts), "start_ns strictly increasing")
    root_id = sspans[0]["span_id"]
    check(sspans[0]["parent_span_id"] is None, "root has no parent")
    for s in sspans[1:]:
        check(s["parent_span_id"] == root_id, f"{s['name']} parent {s['parent_span_id']}")
    check([s["status"] for s in sspans] == ["unset", "unset", "unset", "unset", "error", "unset", "unset"],
          f"statuses {[s['status'] for s in sspans]}")

    # ---- spans on the wire
    wire = {}
    for r in trace_reqs:
        for rs in r["msg"].resource_spans:
            ra = attrs(rs.resource.attributes)
            check(ra.get("service.name") == ("string_value", "travel-assistant"), f"resource {ra}")
            check(ra.get("service.version") == ("string_value", "1.4.2"), f"resource {ra}")
            for ss in rs.scope_spans:
                check(ss.scope.name == "vectadb.tests.travel_assistant", f"scope {ss.scope.name}")
                for sp in ss.spans:
                    wire[sp.span_id.hex()] = sp
    check(len(wire) == 7, f"received {len(wire)} spans")
    for s in sspans:
        sp = wire.get(s["span_id"])
        check(sp is not None, f"span {s['span_id']} not received")
        check(sp.trace_id.hex() == summary["trace_id"], "trace id mismatch")
        check((sp.parent_span_id.hex() or None) == s["parent_span_id"], f"parent mismatch {s['name']}")
        check(sp.name == s["name"], "name mismatch")
        check(sp.start_time_unix_nano == s["start_ns"], "start mismatch")
        check(sp.end_time_unix_nano > sp.start_time_unix_nano, "end > start")
        a = attrs(sp.attributes)
        check(a["gen_ai.operation.name"] == ("string_value", s["operation"]), f"operation {s['name']}")
        code = {Status.STATUS_CODE_UNSET: "unset", Status.STATUS_CODE_OK: "ok",
                Status.STATUS_CODE_ERROR: "error"}[sp.status.code]
        check(code == s["status"], f"status {s['name']} {code}")

    by_idx = [wire[s["span_id"]] for s in sspans]
    root, chat1, flights, chat2, hotels, plan, chat3 = by_idx

    ra = attrs(root.attributes)
    check(root.kind == Span.SPAN_KIND_INTERNAL, "root kind")
    for k, v in {
        "gen_ai.agent.id": summary["agent"]["id"],
        "gen_ai.agent.name": "TravelPlanner",
        "gen_ai.agent.description": "Plans multi-city trips: finds flights and hotels within a budget",
        "gen_ai.agent.version": "2.1.0",
        "gen_ai.conversation.id": summary["conversation_id"],
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "app.customer_tier": "gold",
    }.items():
        check(ra.get(k) == ("string_value", v), f"root attr {k}={ra.get(k)}")
    msgs = json.loads(ra["gen_ai.input.messages"][1])
    check(msgs[0]["role"] == "user" and msgs[0]["parts"][0] ==
          {"type": "text", "content": "Plan a 3-day trip from Lisbon to Berlin under 900 EUR"}, "root input")
    fb = [e for e in root.events if e.name == "user_feedback"]
    check(len(fb) == 1 and attrs(fb[0].attributes) == {"rating": ("int_value", 5)}, f"user_feedback {fb}")
    check(fb[0].time_unix_nano > 0, "event timestamp")

    for sp, (tin, tout) in ((chat1, (412, 58)), (chat2, (655, 41)), (chat3, (900, 120))):
        a = attrs(sp.attributes)
        check(sp.kind == Span.SPAN_KIND_CLIENT, "chat kind")
        check(a["gen_ai.usage.input_tokens"] == ("int_value", tin), f"input tokens {a['gen_ai.usage.input_tokens']}")
        check(a["gen_ai.usage.output_tokens"] == ("int_value", tout), "output tokens")
        check(a["gen_ai.response.model"] == ("string_value", "gpt-4o-2024-08-06"), "response model")
        check(a["gen_ai.response.finish_reasons"][0] == "array_value", "finish_reasons is array")
    a1 = attrs(chat1.attributes)
    check(a1["gen_ai.response.finish_reasons"][1] == ["tool_calls"], "finish reasons")
    out1 = json.loads(a1["gen_ai.output.messages"][1])
    check(out1[0]["parts"][0] == {"type": "text", "content": "I will search flights first."}, "chat1 text")
    check(out1[0]["parts"][1]["type"] == "tool_call" and out1[0]["parts"][1]["name"] == "search_flights"
          and out1[0]["parts"][1]["id"] == "call_1", "chat1 tool_call")
    check(out1[0]["finish_reason"] == "tool_call", "chat1 finish_reason")
    out2 = json.loads(attrs(chat2.attributes)["gen_ai.output.messages"][1])
    check(out2[0]["parts"][1]["name"] == "search_hotels", "chat2 tool_call")
    out3 = json.loads(attrs(chat3.attributes)["gen_ai.output.messages"][1])
    check(out3[0]["parts"][0]["content"].startswith("Here is your 3-day Berlin itinerary"), "final text")

    fa = attrs(flights.attributes)
    check(fa["gen_ai.tool.name"] == ("string_value", "search_flights"), "tool name")
    check(fa["gen_ai.tool.call.id"] == ("string_value", "call_1"), "tool call id")
    check(fa["gen_ai.tool.type"] == ("string_value", "function"), "tool type")
    check(json.loads(fa["gen_ai.tool.call.arguments"][1]) == {"from": "LIS", "to": "BER", "date": "2026-12-04"},
          "tool args")
    check(len(json.loads(fa["gen_ai.tool.call.result"][1])["flights"]) == 2, "tool result")
    check(flights.status.code == Status.STATUS_CODE_UNSET and not flights.events, "flights ok, no events")

    ha = attrs(hotels.attributes)
    check(ha["gen_ai.tool.name"] == ("string_value", "search_hotels"), "hotels name")
    check(ha["error.type"] == ("string_value", "TimeoutError"), "error.type")
    check(hotels.status.code == Status.STATUS_CODE_ERROR, "hotels status")
    check(hotels.status.message == "hotel API timed out after 30s", f"status msg {hotels.status.message!r}")
    check(len(hotels.events) == 1 and hotels.events[0].name == "exception", "exception event")
    ea = attrs(hotels.events[0].attributes)
    check(ea["exception.type"] == ("string_value", "TimeoutError"), f"exception.type {ea['exception.type']}")
    check(ea["exception.message"] == ("string_value", "hotel API timed out after 30s"), "exception.message")
    check(ea["exception.stacktrace"][0] == "string_value" and "call_hotel_api" in ea["exception.stacktrace"][1]
          and "Traceback" in ea["exception.stacktrace"][1], "exception.stacktrace")
    check(hotels.events[0].time_unix_nano >= hotels.start_time_unix_nano, "exception time")

    pa = attrs(plan.attributes)
    pout = json.loads(pa["gen_ai.output.messages"][1])
    check(pout[0]["parts"][0]["content"] == "Fallback: book a hostel near Alexanderplatz and keep the flight",
          "plan output")

    # ---- logs on the wire
    wlogs = []
    for r in log_reqs:
        for rl in r["msg"].resource_logs:
            ra = attrs(rl.resource.attributes)
            check(ra.get("service.name") == ("string_value", "travel-assistant"), "log resource")
            for sl in rl.scope_logs:
                wlogs.extend(sl.log_records)
    slogs = summary["logs"]
    check(len(wlogs) == 4 and len(slogs) == 4, f"logs wire={len(wlogs)} summary={len(slogs)}")
    expected_logs = [
        ("travel-assistant started", "INFO", 9, None),
        ("searching flights LIS→BER on 2026-12-04", "INFO", 9, flights.span_id.hex()),
        ("hotel search slow, retrying", "WARN", 13, hotels.span_id.hex()),
        ("hotel API unavailable, falling back to hostel search", "ERROR", 17, plan.span_id.hex()),
    ]
    check([(l["body"], l["severity_text"], l["severity_number"], l["span_id"]) for l in slogs] == expected_logs,
          f"summary logs {slogs}")
    wire_by_body = {lr.body.string_value: lr for lr in wlogs}
    for body, sev_text, sev_num, span_id in expected_logs:
        lr = wire_by_body.get(body)
        check(lr is not None, f"log {body!r} not received")
        check(lr.body.WhichOneof("value") == "string_value", "log body is string")
        check(lr.severity_text == sev_text and lr.severity_number == sev_num, f"severity {body}")
        check(lr.observed_time_unix_nano > 0, "observed time")
        if span_id is None:
            check(lr.trace_id == b"" and lr.span_id == b"", f"startup log has trace ctx {lr.trace_id.hex()}")
            check(lr.time_unix_nano == 0, "startup log emitted without timestamp -> 0 on wire")
        else:
            check(lr.trace_id.hex() == summary["trace_id"], f"log trace id {body}")
            check(lr.span_id.hex() == span_id, f"log span id {body}")
            check(lr.time_unix_nano > 0, "log time")
            # W3C trace flags: 0x01 sampled; SDK 1.45 also sets 0x02 (random-trace-id) -> 3
            check(lr.flags & 0x01 == 0x01, f"log flags {lr.flags}")


def dump(receiver: Receiver):
    for r in receiver.requests:
        print(f"--- POST {r['path']}  raw_len={r['raw_len']}")
        print("headers:", json.dumps(r["headers"]))
        print(json.dumps(MessageToDict(r["msg"]), indent=1, ensure_ascii=False))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", action="store_true", help="print received requests as OTLP/JSON")
    args = ap.parse_args()

    receiver = Receiver()
    passed = failed = 0
    scenarios = [
        # (label, seed, compression, processor)
        ("default", 0, "none", "batch"),
        ("seed7-gzip", 7, "gzip", "batch"),
        ("simple-deflate", 0, "deflate", "simple"),
    ]
    try:
        for label, seed, compression, processor in scenarios:
            receiver.reset()
            proc = run_emitter(receiver.endpoint, "--seed", str(seed), "--compression", compression,
                               "--processor", processor)
            try:
                check(proc.returncode == 0, f"exit {proc.returncode}; stderr:\n{proc.stderr}")
                lines = [l for l in proc.stdout.splitlines() if l.strip()]
                check(len(lines) == 1, f"expected one stdout line, got {len(lines)}")
                summary = json.loads(lines[0])
                verify(receiver, summary, seed, compression, processor)
                if args.dump and label == "default":
                    print(json.dumps(summary, indent=1, ensure_ascii=False))
                    dump(receiver)
                headers = {k: v for k, v in receiver.requests[0]["headers"].items()
                           if k.lower() in ("content-type", "content-encoding", "user-agent")}
                print(f"PASS {label}: {len(receiver.requests)} requests, headers={headers}")
                passed += 1
            except AssertionError as e:
                print(f"FAIL {label}: {e}")
                failed += 1

        # Export failure must surface as a non-zero exit (400 is not retried).
        receiver.reset(fail_paths={"/v1/logs": 400})
        proc = run_emitter(receiver.endpoint, "--timeout", "5")
        if proc.returncode != 0 and "log exports failed" in proc.stderr:
            print("PASS export-failure: exit", proc.returncode)
            passed += 1
        else:
            print(f"FAIL export-failure: exit {proc.returncode}, stderr:\n{proc.stderr}")
            failed += 1

        # Nothing listening: connection refused must also fail.
        receiver.close()
        proc = run_emitter(receiver.endpoint, "--timeout", "3")
        if proc.returncode != 0:
            print("PASS no-receiver: exit", proc.returncode)
            passed += 1
        else:
            print("FAIL no-receiver: exit 0")
            failed += 1
    finally:
        try:
            receiver.close()
        except Exception:  # noqa: BLE001 - already closed
            pass

    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
