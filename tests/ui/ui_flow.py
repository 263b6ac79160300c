#!/usr/bin/env python3
"""End-to-end check of the VectaDB admin UI in headless Chromium.

    python tests/ui/ui_flow.py --base-url http://127.0.0.1:8080 \
        --username admin --password secret --screenshots /tmp/ui-shots

Creates its own data through the REST API (bearer token from its own
login), then drives the UI: login (wrong then right password), agents list
(filter, pagination), an agent's trace, semantic search, the logs view
with a level filter, the metrics overview, and logout. Saves login.png,
agents.png, agent.png, search.png, logs.png and metrics.png (1440x900) in
the screenshots directory, failure.png on failure.

Prints one JSON line at the end: {"ok": true, "checks": N, "screenshots": [...]}
and exits 0, or prints what failed and exits 1.

Chromium and chromedriver default to /usr/bin/chromium and
/usr/bin/chromedriver (override with CHROME_BIN / CHROMEDRIVER).
"""

import argparse
import json
import os
import re
import secrets
import sys
import traceback
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import (NoSuchElementException, StaleElementReferenceException,
                                        TimeoutException, WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

WAIT = 20            # seconds for ordinary UI waits
INDEX_WAIT = 60      # seconds for background indexing (logs/thoughts embeddings)


class CheckFailed(AssertionError):
    pass


# --------------------------------------------------------------------- API

class Api:
    """Minimal JSON client for the REST API, authenticated with a bearer token."""

    def __init__(self, base_url):
        self.base = base_url.rstrip("/")
        self.token = None

    def call(self, method, path, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                raw = r.read()
                return r.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, raw.decode(errors="replace")

    def ok(self, method, path, body=None):
        status, doc = self.call(method, path, body)
        if status not in (200, 201, 204):
            raise CheckFailed(f"API {method} {path} answered {status}: {doc}")
        return doc

    def login(self, username, password):
        doc = self.ok("POST", "/api/v1/auth/login", {"username": username, "password": password})
        if not doc or not doc.get("token"):
            raise CheckFailed(f"login answered no token: {doc}")
        self.token = doc["token"]


def seed(api, tag):
    """Three agents; the research analyst runs two tasks with thoughts and logs."""
    agents = {
        "support": {"id": f"ui-{tag}-support", "role": "Customer support triage agent",
                    "goal": "Classify incoming support tickets by urgency and route them to the right on-call team",
                    "metadata": {"model": "gpt-4o-mini", "skills": ["ticket classification", "sentiment analysis"]}},
        "research": {"id": f"ui-{tag}-research", "role": "Research analyst",
                     "goal": "Summarize recent papers on retrieval-augmented generation and compare their benchmark results",
                     "metadata": {"model": "claude-sonnet", "skills": ["literature review", "statistics"], "team": "applied-ml"}},
        "review": {"id": f"ui-{tag}-review", "role": "Code review assistant",
                   "goal": "Review pull requests for security vulnerabilities and suggest concrete fixes",
                   "metadata": {"model": "gpt-4.1", "skills": ["static analysis", "secure coding"]}},
    }
    for a in agents.values():
        api.ok("POST", "/api/v1/agents", a)
    rid = agents["research"]["id"]

    tasks = [
        {"id": f"ui-{tag}-t1", "description": "Collect 2026 papers on retrieval-augmented generation",
         "input": {"sources": ["arXiv", "Semantic Scholar"], "max_papers": 20}, "final": "completed",
         "output": {"papers_found": 14},
         "thoughts": [
             ("plan", "Search arXiv and Semantic Scholar for RAG papers from 2026, then deduplicate by DOI."),
             ("tool", "Called arxiv.search(query=\"retrieval augmented generation\", year=2026): 17 results."),
             ("observation", "Three results are workshop versions of conference papers; 14 unique papers remain."),
         ],
         "logs": [
             ("info", "Literature search started for retrieval-augmented generation", None),
             ("debug", "arxiv.search returned 17 results in 842 ms", 1),
             ("info", "Stored 14 unique papers after DOI deduplication", 2),
         ]},
        {"id": f"ui-{tag}-t2", "description": "Compare benchmark results across the collected papers",
         "input": {"benchmarks": ["Natural Questions", "HotpotQA"]}, "final": "failed",
         "output": {"error": "table extraction failed for 1 of 14 papers"},
         "thoughts": [
             ("reasoning", "Most papers report exact match on Natural Questions and HotpotQA, so compare on those two."),
             ("tool", "Called pdf.extract_tables(paper=\"2603.01234\") to read the results table."),
             ("observation", "The PDF is a scan without a text layer; the extracted table is empty."),
         ],
         "logs": [
             ("info", "Extracting result tables from 14 papers", None),
             ("warn", "Paper 2603.01234 has no text layer; falling back to OCR", 1),
             ("error", f"OCR service timed out after 30 s while extracting tables from paper 2603.01234 [{tag}]", 2),
         ]},
    ]
    log_ids = {}
    for t in tasks:
        api.ok("POST", "/api/v1/tasks", {"id": t["id"], "agent_id": rid, "description": t["description"],
                                         "status": "running", "input": t["input"]})
        thought_ids = []
        for step, (kind, content) in enumerate(t["thoughts"], start=1):
            th = api.ok("POST", "/api/v1/thoughts", {"agent_id": rid, "task_id": t["id"], "step": step,
                                                     "kind": kind, "content": content})
            thought_ids.append(th["id"])
        for i, (level, message, thought) in enumerate(t["logs"]):
            body = {"id": f"{t['id']}-l{i}", "agent_id": rid, "task_id": t["id"], "level": level, "message": message,
                    "metadata": {"component": "pipeline"}}
            if thought is not None:
                body["thought_id"] = thought_ids[thought]
            log_ids[message] = api.ok("POST", "/api/v1/logs", body)["id"]
        api.ok("PATCH", f"/api/v1/tasks/{t['id']}", {"status": t["final"], "output": t["output"]})
    # A busy task: more logs than a trace shows at first (20 a task).
    sid = agents["support"]["id"]
    api.ok("POST", "/api/v1/tasks", {"id": f"ui-{tag}-busy", "agent_id": sid,
                                     "description": "Triage the overnight ticket queue"})
    api.ok("POST", "/api/v1/logs", [
        {"agent_id": sid, "task_id": f"ui-{tag}-busy", "level": "info",
         "message": f"Ticket {i} routed", "timestamp": f"2026-01-01T00:00:{i:02d}Z"} for i in range(45)])
    loose = "Agent initialised with 3 tools: arxiv.search, pdf.extract_tables, ocr.read"
    log_ids[loose] = api.ok("POST", "/api/v1/logs", {"id": f"ui-{tag}-boot", "agent_id": rid, "level": "info",
                                                     "message": loose})["id"]
    return agents, tasks, loose, log_ids


# ----------------------------------------------------------------- browser

class Flow:
    def __init__(self, args):
        self.args = args
        self.base = args.base_url.rstrip("/")
        self.shots_dir = Path(args.screenshots)
        self.shots_dir.mkdir(parents=True, exist_ok=True)
        self.shots = []
        self.checks = 0
        self.step = "start"
        self.driver = None

    # -- helpers --------------------------------------------------------
    def check(self, cond, what):
        if not cond:
            raise CheckFailed(what)
        self.checks += 1
        print(f"  ok  {what}", flush=True)

    def wait(self, what, fn, timeout=WAIT, poll=0.25):
        """Wait until fn() returns something truthy; returns it."""
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=poll,
                                 ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
                                 ).until(lambda d: fn(), message=what)
        except TimeoutException:
            raise CheckFailed(f"timed out after {timeout}s waiting for: {what}") from None

    def css(self, sel, root=None):
        return (root or self.driver).find_elements(By.CSS_SELECTOR, sel)

    def one(self, sel, root=None):
        return (root or self.driver).find_element(By.CSS_SELECTOR, sel)

    def path(self):
        return urllib.parse.urlsplit(self.driver.current_url).path

    def settled(self):
        """The page has no loading indicators left."""
        return not self.css(".loading, [aria-busy='true'], .skeleton, .spinner")

    def shot(self, name):
        self.wait(f"{name}: page settled before screenshot", self.settled)
        if name != "login.png":  # no stray focus ring in the pictures
            self.driver.execute_script("document.activeElement && document.activeElement.blur()")
        path = self.shots_dir / name
        self.driver.save_screenshot(str(path))
        self.shots.append(str(path))
        print(f"  --  screenshot {path}", flush=True)

    def go(self, nav_label):
        link = self.wait(f"nav link {nav_label}", lambda: next(
            (a for a in self.css(".nav a") if a.text.strip() == nav_label), None))
        link.click()

    def fetch_status(self, path, method="GET", headers=None):
        """Status of a fetch() from the page, with the browser's cookies."""
        return self.driver.execute_async_script(
            "const [path, method, headers, done] = arguments;"
            "fetch(path, {method, headers, credentials: 'same-origin', body: method === 'GET' ? undefined : '{}'})"
            ".then(r => done(r.status), e => done(String(e)));", path, method, headers or {})

    def start_browser(self):
        opts = webdriver.ChromeOptions()
        opts.binary_location = os.environ.get("CHROME_BIN", "/usr/bin/chromium")
        for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                  "--window-size=1440,900", "--force-device-scale-factor=1", "--lang=en-US",
                  "--disable-extensions", "--no-first-run"):
            opts.add_argument(a)
        service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
        self.driver = webdriver.Chrome(service=service, options=opts)
        # Size the window so that the viewport (and so each screenshot) is 1440x900.
        self.driver.set_window_size(1440, 900)
        inner = self.driver.execute_script("return [window.innerWidth, window.innerHeight]")
        if inner != [1440, 900]:
            self.driver.set_window_size(2 * 1440 - inner[0], 2 * 900 - inner[1])
        self.driver.set_script_timeout(30)
        self.driver.set_page_load_timeout(60)

    # -- the flow -------------------------------------------------------
    def run(self):
        a = self.args
        tag = secrets.token_hex(3)

        self.step = "seed data through the API"
        api = Api(self.base)
        api.login(a.username, a.password)
        agents, tasks, loose_log, log_ids = seed(api, tag)
        research, review, support = agents["research"], agents["review"], agents["support"]
        error_msg = tasks[1]["logs"][2][1]
        self.check(True, f"seeded 3 agents, 2 tasks, 6 thoughts, 7 logs (tag {tag})")

        self.start_browser()
        d = self.driver

        self.step = "login page"
        d.get(self.base + "/")
        self.wait("redirect to /ui/login", lambda: self.path() == "/ui/login")
        self.check(True, "unauthenticated visit to / redirects to /ui/login")
        user = self.wait("username field", lambda: self.one("#username"))
        pwd = self.one("#password")
        self.check(not self.css("#sidebar:not([hidden])"), "login page hides the sidebar")
        self.shot("login.png")

        user.send_keys(a.username)
        pwd.send_keys(a.password + "-wrong" + Keys.ENTER)
        err = self.wait("login error message", lambda: next((e for e in self.css(".form-error") if e.is_displayed()), None))
        self.check("invalid" in err.text.lower(), f"wrong password shows an error ({err.text!r})")
        self.check(self.path() == "/ui/login", "still on the login page after a failed login")

        self.step = "login"
        pwd = self.one("#password")
        pwd.clear()
        pwd.send_keys(a.password + Keys.ENTER)
        self.wait("agents page after login", lambda: self.path() == "/ui/agents")
        self.check(True, "login returns to the page that was asked for (/ui/agents)")
        self.check(self.css("#logout"), "signed-in user sees a sign-out button")

        self.step = "agents list"
        row_ids = lambda: [r.get_attribute("data-id") for r in self.css("#agents-table tbody tr[data-id]")]
        self.wait("the seeded agents in the list", lambda: all(ag["id"] in row_ids() for ag in agents.values()))
        self.check(True, "agents list shows the 3 new agents")
        row = self.one(f"#agents-table tr[data-id='{research['id']}']")
        self.check(research["role"] in row.text and research["goal"][:30] in row.text, "agent row shows role and goal")
        self.shot("agents.png")

        box = self.one("#agent-filter")
        box.send_keys("review")

        def filtered():
            ids = row_ids()
            if review["id"] not in ids or support["id"] in ids or not self.settled():
                return None
            return self.css("#agents-table tbody tr[data-id]")
        rows = self.wait("filter 'review' applied", filtered)
        self.check(all("review" in r.text.lower() for r in rows), f"filter 'review': all {len(rows)} rows match role/goal")
        self.check("q=review" in d.current_url, "the filter is kept in the URL")
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(Keys.DELETE)
        self.wait("filter cleared", lambda: support["id"] in row_ids())

        self.step = "agents pagination"
        d.get(self.base + "/ui/agents?limit=2")
        self.wait("page 1 of size 2", lambda: len(row_ids()) == 2 and self.settled())
        page1 = row_ids()
        info = self.one(".pager-info").text
        self.check(re.match(r"^1–2 of \d+", info), f"pager shows the range ({info!r})")
        total = int(info.split(" of ")[1].replace(",", "").replace("\u202f", "").replace(".", ""))
        self.check(total >= 3, f"total counts all agents ({total})")
        self.check(not self.one("[data-page='prev']").is_enabled(), "Prev is disabled on the first page")
        self.one("[data-page='next']").click()
        self.wait("page 2", lambda: "offset=2" in d.current_url and self.settled() and row_ids() and row_ids() != page1)
        self.check(not set(row_ids()) & set(page1), "Next shows other agents")
        self.check(self.one(".pager-info").text.startswith("3–"), "pager range moves to 3–")
        self.one("[data-page='prev']").click()
        self.wait("back on page 1", lambda: self.settled() and row_ids() == page1)
        self.check(True, "Prev returns to the first page")

        self.step = "agent page"
        d.get(self.base + "/ui/agents")
        link = self.wait("research agent link", lambda: self.one(f"#agents-table tr[data-id='{research['id']}'] a"))
        link.click()
        self.wait("agent page", lambda: self.path() == f"/ui/agents/{research['id']}" and self.css(".task-card"))
        self.check(self.one(".page-head h1").text == research["role"], "agent header shows the role")
        self.check(research["goal"] in self.one(".page-head").text, "agent header shows the goal")
        head = self.one(".agent-head").text
        self.check("claude-sonnet" in head and "literature review" in head, "agent metadata is shown")
        for t in tasks:
            card = self.one(f"#task-{t['id']}")
            self.check(t["description"] in card.text, f"task card: {t['description'][:40]}…")
            self.check(self.one(".status", card).text.strip().lower() == t["final"], f"task status badge: {t['final']}")
            contents = [e.text for e in self.css(".thought .thought-content", card)]
            self.check(contents == [c for _, c in t["thoughts"]], "thoughts are shown in step order")
            steps = [e.get_attribute("data-step") for e in self.css(".thought", card)]
            self.check(steps == ["1", "2", "3"], f"thought steps 1,2,3 ({steps})")
            kinds = [e.text.strip().lower() for e in self.css(".thought .kind", card)]
            self.check(kinds == [k for k, _ in t["thoughts"]], f"thought kind badges {kinds}")
            messages = [e.text for e in self.css(".log-item .log-message", card)]
            self.check(messages == [m for _, m, _ in t["logs"]], "task logs are shown in time order")
        err_item = self.one(f"#log-{log_ids[error_msg]}")
        self.check("is-error" in err_item.get_attribute("class").split(), "the error log carries .is-error")
        self.check(len(self.css(".log-item.is-error")) == 1, "only the error log is highlighted")
        bg = err_item.value_of_css_property("background-color")
        self.check(bg not in ("rgba(0, 0, 0, 0)", "transparent"), f"the error log is visibly highlighted ({bg})")
        failed = self.one(f"#task-{tasks[1]['id']}")
        self.check("is-error" in failed.get_attribute("class").split(), "the failed task carries .is-error")
        self.check("is-error" not in self.one(f"#task-{tasks[0]['id']}").get_attribute("class").split(),
                   "the completed task is not highlighted")
        self.check(loose_log in self.one("#loose").text, "the log outside tasks is shown")
        self.shot("agent.png")

        self.step = "trace paging"
        support = agents["support"]
        d.get(self.base + f"/ui/agents/{support['id']}")
        busy = self.wait("the busy task", lambda: self.css(".task-card .log-item") and self.one(".task-card"))
        first = [e.text for e in self.css(".log-item .log-message", busy)]
        self.check(first == [f"Ticket {i} routed" for i in range(20)], f"the trace shows the first 20 logs ({len(first)})")
        self.one("button[data-more='logs']", busy).click()
        self.wait("45 logs after Load more", lambda: len(self.css(".log-item", busy)) == 45)
        every = [e.text for e in self.css(".log-item .log-message", busy)]
        self.check(every == [f"Ticket {i} routed" for i in range(45)], "Load more follows the cursor to every log, in order")
        self.check(not self.css("button[data-more='logs']", busy), "Load more is gone once every log is shown")

        self.step = "semantic search"
        self.go("Search")
        self.wait("search page", lambda: self.path() == "/ui/search")
        q = self.one("#search-query")
        self.one("input[name='kind'][value='agents']").find_element(By.XPATH, "..").click()
        q.send_keys("assistant that reviews pull requests for security vulnerabilities" + Keys.ENTER)
        hit = self.wait("code review agent in the results",
                        lambda: self.settled() and self.one(f"#search-results .result[data-id='{review['id']}']"))
        score = float(self.one(".result-score .score-value", hit).text)
        self.check(0 < score <= 1, f"the code review agent is found with a score ({score})")
        first = self.one("#search-results .result .result-title").text
        self.check(first == review["role"], f"the best match is a {review['role']!r} ({first!r})")
        self.check(self.one(".result-title", hit).get_attribute("href").endswith(f"/ui/agents/{review['id']}"),
                   "the result links to the agent page")
        self.shot("search.png")

        # Logs are embedded by a background indexer: search again until found.
        self.one("input[name='kind'][value='logs']").find_element(By.XPATH, "..").click()
        q = self.one("#search-query")
        q.send_keys(Keys.CONTROL, "a")
        q.send_keys("OCR timeout while extracting tables from a scanned paper")
        err_id = log_ids[error_msg]

        def log_found():
            if self.css(f"#search-results .result[data-id='{err_id}']"):
                return True
            if self.settled():
                self.one("#search-query").send_keys(Keys.ENTER)
            return False
        self.wait("the error log in semantic log search", log_found, timeout=INDEX_WAIT, poll=1.5)
        self.check(True, "semantic log search finds the error log")

        # By words: a phrase, a prefix and this run's tag, ranked by BM25
        # (logs are indexed for text in the background too).
        self.step = "text search"
        Select(self.one("#search-mode")).select_by_value("text")
        self.check(not self.one("#search-threshold").is_enabled(), "text mode has no minimum similarity")
        q = self.one("#search-query")
        q.send_keys(Keys.CONTROL, "a")
        q.send_keys(f'"timed out" extract* {tag}' + Keys.ENTER)
        self.wait("the error log in text log search", log_found, timeout=INDEX_WAIT, poll=1.5)
        found = self.css("#search-results .result")
        self.check(len(found) == 1, f"only the error log has the phrase, the prefix and the tag ({len(found)} results)")
        self.check("BM25" in self.one(".result-score", found[0]).get_attribute("title"), "the score shown is BM25")
        self.check("mode=text" in self.driver.current_url, "the mode is kept in the URL")
        self.one("input[name='kind'][value='agents']").find_element(By.XPATH, "..").click()
        self.wait("agents search", lambda: self.settled() and not self.one("#search-mode").is_enabled())
        self.check(True, "agents are searched by meaning only: the mode is disabled")

        self.step = "logs view"
        self.go("Logs")
        self.wait("logs page", lambda: self.path() == "/ui/logs")
        agent_box = self.one("#logs-agent")
        agent_box.send_keys(research["id"] + Keys.ENTER)
        log_rows = lambda: self.css("#logs-table tbody tr.log-row")
        self.wait("the agent's 7 logs", lambda: self.settled() and len(log_rows()) == 7)
        self.check(True, "agent filter shows the agent's 7 logs")
        self.wait("top anomalies panel rendered", lambda: self.css("#anomalies .anomaly, #anomalies .empty"))
        self.check(True, "top anomalies panel renders (list or empty state)")
        self.shot("logs.png")

        Select(self.one("#logs-level")).select_by_value("error")
        self.wait("level=error in the URL", lambda: "level=error" in d.current_url)
        rows = self.wait("only error rows", lambda: self.settled() and log_rows() and all(
            r.get_attribute("data-level") == "error" for r in log_rows()) and log_rows())
        self.check(len(rows) == 1 and error_msg in rows[0].text, "level filter 'error' shows exactly the error log")
        self.check(all(self.one(".lvl", r).text.strip().lower() == "error" for r in rows), "rows show the ERROR badge")
        self.check("is-error" in rows[0].get_attribute("class").split(), "the error row carries .is-error")

        self.step = "logs paging by cursor"
        d.get(self.base + f"/ui/logs?agent_id={research['id']}&limit=3")
        texts = lambda: [r.text for r in log_rows()]
        self.wait("first page of 3 logs", lambda: self.settled() and len(log_rows()) == 3)
        first = texts()
        self.check(not self.one("[data-page='prev']").is_enabled(), "Prev is disabled on the first page")
        self.one("[data-page='next']").click()
        self.wait("page 2 by cursor", lambda: "cursor=" in d.current_url and self.settled()
                  and len(log_rows()) == 3 and texts() != first)
        second = texts()
        self.check(not set(second) & set(first), "Next shows the following logs")
        self.check(self.one(".pager-info").text.startswith("4–6 of 7"), f"pager range 4–6 of 7 ({self.one('.pager-info').text!r})")
        self.one("[data-page='next']").click()
        self.wait("the last log", lambda: self.settled() and len(log_rows()) == 1)
        self.check(not self.one("[data-page='next']").is_enabled(), "Next is disabled on the last page")
        self.one("[data-page='prev']").click()
        self.wait("back on page 2", lambda: self.settled() and texts() == second)
        self.check(True, "Prev follows the cursors back")

        self.step = "metrics"
        self.go("Metrics")
        self.wait("metrics page", lambda: self.path() == "/ui/metrics" and self.css("#metrics .stat"))
        stats = {}
        for s in self.css("#metrics .stat"):
            stats[self.one(".stat-label", s).text.strip()] = self.one(".stat-value", s).text.strip()
        num = lambda v: float(re.sub(r"[^\d.]", "", v) or "nan")
        self.check(num(stats.get("Agents", "")) >= 3, f"metrics: agents count {stats.get('Agents')}")
        self.check(num(stats.get("Logs", "")) >= 7, f"metrics: logs count {stats.get('Logs')}")
        self.check(num(stats.get("HTTP requests", "")) > 0, f"metrics: HTTP requests {stats.get('HTTP requests')}")
        self.check(re.match(r"^\d", stats.get("Embedding backlog", "")), f"metrics: embedding backlog {stats.get('Embedding backlog')}")
        health = self.css(".health li")
        self.check(len(health) >= 2, f"component health lists {len(health)} entries")
        self.shot("metrics.png")

        self.step = "security"
        status = self.fetch_status("/api/v1/similar/agents", "POST", {"Content-Type": "application/json"})
        self.check(status == 403, f"a cookie POST without X-CSRF-Token is refused ({status})")
        cookie = (d.get_cookie("vectadb_session") or {}).get("value")
        self.check(cookie, "the session cookie is set")

        self.step = "logout"
        self.one("#logout").click()
        self.wait("login page after logout", lambda: self.path() == "/ui/login" and self.css("#username"))
        self.check(True, "sign out returns to the login page")
        status = self.fetch_status("/api/v1/auth/me")
        self.check(status == 401, f"after logout /api/v1/auth/me answers 401 to the browser ({status})")
        status = self.fetch_status("/api/v1/agents")
        self.check(status == 401, f"after logout /api/v1/agents answers 401 to the browser ({status})")
        replay = Api(self.base)
        status, _ = replay.call("GET", "/api/v1/auth/me", headers={"Cookie": f"vectadb_session={cookie}"})
        self.check(status == 401, f"the old session token is revoked ({status})")
        d.get(self.base + "/ui/logs")
        self.wait("protected page redirects to login", lambda: self.path() == "/ui/login")
        self.check("next=%2Fui%2Flogs" in d.current_url, "the redirect remembers the page (next=/ui/logs)")

    def main(self):
        try:
            self.run()
        except Exception as e:  # noqa: BLE001 - report any failure the same way
            err = (e.msg or "").strip() if isinstance(e, WebDriverException) else str(e)
            if not isinstance(e, CheckFailed):
                traceback.print_tb(e.__traceback__, file=sys.stderr)
                err = f"{type(e).__name__}: {err}"
            print(f"FAILED during '{self.step}': {err}", file=sys.stderr, flush=True)
            if self.driver:
                try:
                    path = self.shots_dir / "failure.png"
                    self.driver.save_screenshot(str(path))
                    print(f"  --  failure screenshot {path}", file=sys.stderr)
                    logs = self.driver.get_log("browser")
                    for entry in logs[-20:]:
                        print(f"  browser: {entry.get('level')} {entry.get('message')}", file=sys.stderr)
                except WebDriverException:
                    pass
            print(json.dumps({"ok": False, "checks": self.checks, "failed": self.step, "error": err}))
            return 1
        finally:
            if self.driver:
                self.driver.quit()
        print(json.dumps({"ok": True, "checks": self.checks, "screenshots": self.shots}))
        return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base-url", required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--screenshots", required=True, help="directory for the PNG screenshots")
    sys.exit(Flow(p.parse_args()).main())


if __name__ == "__main__":
    main()
