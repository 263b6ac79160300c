#!/usr/bin/env python3
"""Development harness for the embedded admin UI (stdlib only).

Serves api/ui/* exactly as the Rust server routes them, implements the auth
contract (login / me / logout, session cookie, CSRF on state-changing
requests, login rate limiting) and proxies everything else to a VectaDB
server built without the UI, so the UI runs as it will against the real
thing:

    python tests/ui/dev_server.py --upstream http://127.0.0.1:18080 --port 18090

Routes:
    GET /, GET /ui/<anything>             -> api/ui/index.html
    GET /ui/assets/{app.js,app.css,favicon.svg}
    POST /api/v1/auth/login, GET /api/v1/auth/me, POST /api/v1/auth/logout
    /api/*                                 -> upstream, authenticated
    /metrics, /health, anything else       -> upstream, open

Options:
    --open       behave like a server with auth disabled (/auth/me answers
                 {"auth": "open"}, no checks).
    --emulate    emulate API additions the upstream binary may lack: the
                 agents `q` filter, GET /api/v1/anomalies and a
                 deterministic fake `anomaly_score` on logs.

Files are read from disk on every request: edit and reload.
"""

import argparse
import hashlib
import http.cookies
import json
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

UI_DIR = Path(__file__).resolve().parents[2] / "api" / "ui"
ASSETS = {
    "/ui/assets/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/ui/assets/app.css": ("app.css", "text/css; charset=utf-8"),
    "/ui/assets/favicon.svg": ("favicon.svg", "image/svg+xml"),
}
COOKIE = "vectadb_session"
SESSION_TTL = timedelta(hours=12)
MAX_FAILURES = 5          # failed logins per client within FAILURE_WINDOW
FAILURE_WINDOW = 60.0     # seconds
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "te", "trailer",
               "upgrade", "proxy-authorization", "proxy-authenticate", "host",
               "content-length", "cookie", "authorization", "x-csrf-token"}


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.sessions = {}   # token -> {"csrf", "expires"}
        self.failures = {}   # client ip -> [timestamps]

    def new_session(self):
        token = "dev." + secrets.token_urlsafe(24)
        session = {"csrf": secrets.token_urlsafe(18),
                   "expires": datetime.now(timezone.utc) + SESSION_TTL}
        with self.lock:
            self.sessions[token] = session
        return token, session

    def session(self, token):
        if not token:
            return None
        with self.lock:
            s = self.sessions.get(token)
            if s and s["expires"] < datetime.now(timezone.utc):
                del self.sessions[token]
                s = None
        return s

    def revoke(self, token):
        with self.lock:
            self.sessions.pop(token, None)

    def rate_limited(self, ip):
        """Seconds to wait when ip has too many recent failures, else 0."""
        now = time.monotonic()
        with self.lock:
            recent = [t for t in self.failures.get(ip, []) if now - t < FAILURE_WINDOW]
            self.failures[ip] = recent
            if len(recent) >= MAX_FAILURES:
                return int(FAILURE_WINDOW - (now - recent[0])) + 1
        return 0

    def fail(self, ip):
        with self.lock:
            self.failures.setdefault(ip, []).append(time.monotonic())


def rfc3339(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def fake_score(log):
    """A deterministic stand-in for the anomaly indexer's score."""
    h = int(hashlib.sha1(log["id"].encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    base = {"error": 0.62, "critical": 0.75, "warn": 0.35}.get(log.get("level"), 0.02)
    return round(min(1.0, base + h * 0.25), 3)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "vectadb-ui-dev"

    # ---- plumbing ---------------------------------------------------------
    @property
    def state(self) -> State:
        return self.server.state

    def log_message(self, fmt, *args):
        if not self.state.args.quiet:
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def read_body(self):
        # Read every request body up front: a response sent without reading it
        # would leave it in the kept-alive connection, in front of the next request.
        n = int(self.headers.get("Content-Length") or 0)
        self._body = self.rfile.read(n) if n else b""

    def body(self):
        return self._body

    def send(self, status, body=b"", ctype=None, headers=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            ctype = ctype or "application/json"
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code, message, headers=()):
        self.send(status, {"error": {"code": code, "message": message}}, headers=headers)

    def cookie_token(self):
        raw = self.headers.get("Cookie")
        if not raw:
            return None
        jar = http.cookies.SimpleCookie()
        try:
            jar.load(raw)
        except http.cookies.CookieError:
            return None
        return jar[COOKIE].value if COOKIE in jar else None

    def bearer_token(self):
        auth = self.headers.get("Authorization", "")
        return auth[7:].strip() if auth.lower().startswith("bearer ") else None

    # ---- dispatch ---------------------------------------------------------
    def do_GET(self):
        self.dispatch()

    def do_HEAD(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PATCH(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def dispatch(self):
        path = urllib.parse.urlsplit(self.path).path
        self.read_body()
        try:
            if self.command in ("GET", "HEAD") and (path in ASSETS):
                return self.asset(path)
            if self.command in ("GET", "HEAD") and (path == "/" or path == "/ui" or path.startswith("/ui/")):
                if path.startswith("/ui/assets/"):
                    return self.error(404, "not_found", "no such route")
                return self.file("index.html", "text/html; charset=utf-8")
            if path == "/api/v1/auth/login":
                return self.login() if self.command == "POST" else self.error(405, "method_not_allowed", "use POST")
            if path == "/api/v1/auth/me" and self.command == "GET":
                return self.me()
            if path == "/api/v1/auth/logout":
                return self.logout() if self.command == "POST" else self.error(405, "method_not_allowed", "use POST")
            if path.startswith("/api/"):
                if not self.authorize():
                    return
                if self.state.args.emulate and self.emulate(path):
                    return
            return self.proxy()
        except (BrokenPipeError, ConnectionResetError):
            pass

    # ---- static files -----------------------------------------------------
    def asset(self, path):
        name, ctype = ASSETS[path]
        self.file(name, ctype)

    def file(self, name, ctype):
        try:
            data = (UI_DIR / name).read_bytes()
        except FileNotFoundError:
            return self.error(404, "not_found", f"{name} is missing")
        self.send(200, data, ctype, headers=[("Cache-Control", "no-cache")])

    # ---- auth -------------------------------------------------------------
    def login(self):
        if self.state.args.open:
            return self.error(404, "not_found", "no such route")
        ip = self.client_address[0]
        wait = self.state.rate_limited(ip)
        if wait:
            return self.error(429, "rate_limited", "too many failed logins; try again later",
                              headers=[("Retry-After", str(wait))])
        try:
            req = json.loads(self.body() or b"{}")
            username, password = req["username"], req["password"]
        except (ValueError, KeyError, TypeError):
            return self.error(400, "invalid_request", "expected {\"username\", \"password\"}")
        if username != self.state.args.username or password != self.state.args.password:
            self.state.fail(ip)
            return self.error(401, "unauthorized", "invalid username or password")
        token, s = self.state.new_session()
        cookie = f"{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"
        self.send(200, {"token": token, "expires_at": rfc3339(s["expires"]),
                        "csrf_token": s["csrf"], "user": {"username": username}},
                  headers=[("Set-Cookie", cookie), ("Cache-Control", "no-store")])

    def me(self):
        if self.state.args.open:
            return self.send(200, {"auth": "open", "user": None})
        token = self.cookie_token()
        s = self.state.session(token)
        if not s:
            return self.error(401, "unauthorized", "not signed in")
        self.send(200, {"auth": "session", "user": {"username": self.state.args.username},
                        "csrf_token": s["csrf"], "expires_at": rfc3339(s["expires"])},
                  headers=[("Cache-Control", "no-store")])

    def logout(self):
        if not self.authorize():
            return
        token = self.bearer_token() or self.cookie_token()
        self.state.revoke(token)
        self.send(204, headers=[("Set-Cookie", f"{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")])

    def authorize(self):
        """Bearer token, or session cookie + CSRF header on writes. Answers on failure."""
        if self.state.args.open:
            return True
        bearer = self.bearer_token()
        if bearer is not None:
            if self.state.session(bearer):
                return True
            self.error(401, "unauthorized", "invalid or expired token")
            return False
        s = self.state.session(self.cookie_token())
        if not s:
            self.error(401, "unauthorized", "authentication required")
            return False
        if self.command not in ("GET", "HEAD", "OPTIONS"):
            if self.headers.get("X-CSRF-Token") != s["csrf"]:
                self.error(403, "csrf", "missing or invalid X-CSRF-Token header")
                return False
        return True

    # ---- proxy ------------------------------------------------------------
    def upstream(self, method, path, body=None, headers=None):
        req = urllib.request.Request(self.state.args.upstream + path, data=body, method=method)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def proxy(self):
        body = self.body() or None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
        try:
            status, rh, data = self.upstream(self.command, self.path, body, headers)
        except OSError as e:
            return self.error(502, "unavailable", f"dev proxy: upstream not reachable ({e})")
        if self.state.args.emulate:
            data = self.add_scores(data, rh)
            if urllib.parse.urlsplit(self.path).path == "/metrics" and status == 200:
                data += self.anomaly_metrics()
        out = [(k, v) for k, v in rh.items() if k.lower() not in HOP_HEADERS and k.lower() != "content-type"]
        self.send(status, data, rh.get("Content-Type"), headers=out)

    # ---- emulation of API additions --------------------------------------
    def get_json(self, path):
        status, _, data = self.upstream("GET", path)
        return status, json.loads(data or b"null")

    def add_scores(self, data, headers):
        path = urllib.parse.urlsplit(self.path).path
        if "json" not in (headers.get("Content-Type") or "") or not (
                path.startswith("/api/v1/logs") or path.startswith("/api/v1/traces/")):
            return data
        try:
            doc = json.loads(data)
        except ValueError:
            return data

        def walk(v):
            if isinstance(v, dict):
                if "level" in v and "message" in v and "id" in v:
                    v.setdefault("anomaly_score", fake_score(v))
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
        walk(doc)
        return json.dumps(doc).encode()

    def anomaly_metrics(self):
        """The anomaly score histogram the real server exports, from fake scores."""
        status, page = self.get_json("/api/v1/logs?limit=1000")
        scores = [fake_score(log) for log in page["items"]] if status == 200 else []
        name = "vectadb_log_anomaly_score"
        lines = [f"# HELP {name} Anomaly scores of logs (emulated by the dev server)", f"# TYPE {name} histogram"]
        for le in ("0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1", "+Inf"):
            n = sum(1 for x in scores if le == "+Inf" or x <= float(le))
            lines.append(f'{name}_bucket{{le="{le}"}} {n}')
        lines += [f"{name}_sum {sum(scores)}", f"{name}_count {len(scores)}"]
        return ("\n".join(lines) + "\n").encode()

    def emulate(self, path):
        if self.command != "GET":
            return False
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        one = lambda k, d=None: q.get(k, [d])[0]
        if path == "/api/v1/agents" and one("q") is not None:
            needle = one("q").lower()
            items, offset = [], 0
            while True:
                status, page = self.get_json(f"/api/v1/agents?limit=1000&offset={offset}")
                if status != 200:
                    self.send(status, page)
                    return True
                items += page["items"]
                offset += len(page["items"])
                if not page["items"] or offset >= page["total"]:
                    break
            hits = [a for a in items if needle in a["role"].lower() or needle in a["goal"].lower()]
            limit, off = int(one("limit", 50)), int(one("offset", 0))
            self.send(200, {"items": hits[off:off + limit], "total": len(hits), "limit": limit, "offset": off})
            return True
        if path == "/api/v1/anomalies":
            params = {"limit": "1000"}
            for k in ("agent_id", "since"):
                if one(k):
                    params[k] = one(k)
            status, page = self.get_json("/api/v1/logs?" + urllib.parse.urlencode(params))
            if status != 200:
                self.send(status, page)
                return True
            logs = page["items"]
            for log in logs:
                log["anomaly_score"] = fake_score(log)
            logs.sort(key=lambda log: -log["anomaly_score"])
            self.send(200, {"items": logs[:int(one("limit", 20))]})
            return True
        return False


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=18090)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--upstream", default="http://127.0.0.1:18080")
    p.add_argument("--username", default="admin")
    p.add_argument("--password", default="vectadb-dev-password")
    p.add_argument("--open", action="store_true", help="act as a server with auth disabled")
    p.add_argument("--emulate", action="store_true", help="emulate q filter, anomalies, anomaly_score")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()
    args.upstream = args.upstream.rstrip("/")
    srv = ThreadingHTTPServer((args.host, args.port), Handler)
    srv.daemon_threads = True
    srv.state = State(args)
    mode = "open" if args.open else f"auth {args.username}/{'*' * len(args.password)}"
    print(f"UI dev server on http://{args.host}:{args.port} -> {args.upstream} ({mode}"
          f"{', emulating new API' if args.emulate else ''})", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
