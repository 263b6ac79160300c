//! Deterministic, realistic-looking agent observability data for benchmarks:
//! agents with varied roles and goals, multi-sentence task descriptions,
//! chains of thought, and logs with levels and metadata. The same seed and
//! index always give the same text; no randomness crate needed.

use serde_json::{json, Value};
use vectadb::embed::text::capitalise;

/// A small, fast pseudo-random sequence (SplitMix64) seeded per item.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// A float in [-1, 1).
    pub fn signed(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

const ROLES: &[&str] = &[
    "research assistant",
    "customer support agent",
    "data analyst",
    "code reviewer",
    "travel planner",
    "financial advisor",
    "legal researcher",
    "marketing strategist",
    "DevOps engineer",
    "security auditor",
    "recruiter",
    "technical writer",
    "sales development rep",
    "medical triage assistant",
    "supply chain planner",
    "tutor for calculus",
    "product manager",
    "QA tester",
    "SQL query writer",
    "translator",
    "social media manager",
    "procurement officer",
    "grant writer",
    "incident responder",
    "UX researcher",
    "contract negotiator",
    "tax preparer",
    "recipe developer",
    "fitness coach",
    "real estate analyst",
    "claims adjuster",
    "compliance officer",
    "threat hunter",
    "data engineer",
    "ML researcher",
    "copy editor",
    "event organiser",
    "insurance underwriter",
    "IT helpdesk agent",
    "inventory forecaster",
];

const VERBS: &[&str] = &[
    "summarise",
    "analyse",
    "draft",
    "review",
    "classify",
    "reconcile",
    "forecast",
    "triage",
    "optimise",
    "translate",
    "audit",
    "plan",
    "answer",
    "monitor",
    "compare",
];

const OBJECTS: &[&str] = &[
    "quarterly sales reports",
    "customer complaints about late deliveries",
    "pull requests in the payments service",
    "flight and hotel options for a team offsite",
    "clinical trial abstracts",
    "vendor contracts up for renewal",
    "cloud cost anomalies",
    "job applications for a backend role",
    "onboarding documentation",
    "churn signals in usage data",
    "phishing reports from employees",
    "inventory levels across three warehouses",
    "support tickets in Spanish and Portuguese",
    "regulatory filings",
    "A/B test results",
    "student questions on integrals",
    "kubernetes deployment failures",
    "expense claims",
    "product reviews from the app store",
    "security alerts from the SIEM",
];

const QUALIFIERS: &[&str] = &[
    "for the leadership team",
    "before Friday's deadline",
    "with citations",
    "in plain language",
    "flagging anything unusual",
    "under a strict budget",
    "for a European audience",
    "with a confidence score",
    "as a table",
    "step by step",
];

const TOOLS: &[&str] = &[
    "web_search",
    "sql_query",
    "python_exec",
    "read_file",
    "send_email",
    "calendar_lookup",
    "vector_search",
    "http_get",
    "spreadsheet_update",
    "ticket_update",
];

const THOUGHT_KINDS: &[&str] = &[
    "reasoning",
    "plan",
    "tool_call",
    "observation",
    "reflection",
];

const LOG_LEVELS: &[&str] = &["debug", "info", "info", "info", "warn", "error"];

const LOG_EVENTS: &[&str] = &[
    "called {tool} and got {n} results",
    "retrying {tool} after a timeout ({n} ms)",
    "token usage: {n} prompt tokens",
    "validation failed for field {field}",
    "cache hit for {tool}",
    "rate limited by upstream, backing off {n} ms",
    "wrote {n} rows to the report",
    "user asked a follow-up about {object}",
    "guardrail blocked an unsafe request",
    "finished step in {n} ms",
];

const FIELDS: &[&str] = &[
    "date",
    "amount",
    "currency",
    "email",
    "customer_id",
    "region",
];

/// An agent: `{"id", "role", "goal", "metadata"}` (the id is `<prefix>-<i>`).
pub fn agent(prefix: &str, i: u64) -> Value {
    let mut rng = Rng::new(i.wrapping_mul(31).wrapping_add(7));
    let role = rng.pick(ROLES);
    let goal = format!(
        "{} {} {}",
        rng.pick(VERBS),
        rng.pick(OBJECTS),
        rng.pick(QUALIFIERS)
    );
    json!({
        "id": format!("{prefix}-{i}"),
        "role": role,
        "goal": goal,
        "metadata": {"team": format!("team-{}", rng.below(50)), "model": rng.pick(&["gpt-4o", "claude-sonnet", "llama-3-70b", "mistral-large"]), "version": rng.below(5) + 1},
    })
}

/// A multi-sentence task description.
pub fn task_description(rng: &mut Rng) -> String {
    format!(
        "{} the {} {}. Use {} and {} where helpful. Report blockers early and keep a log of every assumption.",
        capitalise(rng.pick(VERBS)),
        rng.pick(OBJECTS),
        rng.pick(QUALIFIERS),
        rng.pick(TOOLS),
        rng.pick(TOOLS)
    )
}

/// A task for `agent_id`.
pub fn task(agent_id: &str, i: u64) -> Value {
    let mut rng = Rng::new(i.wrapping_mul(131).wrapping_add(3));
    json!({"agent_id": agent_id, "description": task_description(&mut rng), "input": {"priority": rng.below(3)}})
}

/// A thought (one step of a chain) for a task.
pub fn thought(agent_id: &str, task_id: &str, i: u64) -> Value {
    let mut rng = Rng::new(i.wrapping_mul(17).wrapping_add(11));
    let kind = rng.pick(THOUGHT_KINDS);
    let content = match kind {
        "tool_call" => format!("Call {} to look up {}.", rng.pick(TOOLS), rng.pick(OBJECTS)),
        "plan" => format!(
            "First {} the {}, then {} the findings {}.",
            rng.pick(VERBS),
            rng.pick(OBJECTS),
            rng.pick(VERBS),
            rng.pick(QUALIFIERS)
        ),
        _ => format!(
            "The {} suggest we should {} them {}; {} results so far look consistent.",
            rng.pick(OBJECTS),
            rng.pick(VERBS),
            rng.pick(QUALIFIERS),
            rng.below(40)
        ),
    };
    json!({"agent_id": agent_id, "task_id": task_id, "kind": kind, "content": content})
}

/// A log line with a level and metadata, for a task.
pub fn log(agent_id: &str, task_id: Option<&str>, i: u64) -> Value {
    let mut rng = Rng::new(i.wrapping_mul(7919).wrapping_add(5));
    let message = rng
        .pick(LOG_EVENTS)
        .replace("{tool}", rng.pick(TOOLS))
        .replace("{n}", &rng.below(5000).to_string())
        .replace("{field}", rng.pick(FIELDS))
        .replace("{object}", rng.pick(OBJECTS));
    let mut log = json!({
        "agent_id": agent_id,
        "level": rng.pick(LOG_LEVELS),
        "message": message,
        "metadata": {"latency_ms": rng.below(2000), "tokens": rng.below(4000), "tool": rng.pick(TOOLS)},
    });
    if let Some(task_id) = task_id {
        log["task_id"] = json!(task_id);
    }
    log
}

/// A search query in the same vocabulary as the agents.
pub fn query(i: u64) -> String {
    let mut rng = Rng::new(i.wrapping_mul(977).wrapping_add(1));
    format!("someone who can {} {}", rng.pick(VERBS), rng.pick(OBJECTS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_varied() {
        assert_eq!(agent("a", 5), agent("a", 5));
        let goals: std::collections::HashSet<String> = (0..200)
            .map(|i| agent("a", i)["goal"].as_str().unwrap().to_string())
            .collect();
        assert!(goals.len() > 150, "{}", goals.len());
        let levels: std::collections::HashSet<String> = (0..100)
            .map(|i| log("a", None, i)["level"].as_str().unwrap().to_string())
            .collect();
        assert!(levels.len() >= 4, "{levels:?}");
    }
}
