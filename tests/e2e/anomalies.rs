//! Anomaly scores: set on each log once embedded, returned with it, and
//! ranked by `GET /api/v1/anomalies` — a planted outlier comes first.

use axum::http::StatusCode;
use serde_json::{json, Value};
use vectadb_tests::{Backends, TestApp};

/// What a travel-booking agent logs all day long.
const ROUTINE: [&str; 16] = [
    "Searching flights from Lisbon to Berlin for 2 passengers",
    "Flight search returned 14 offers from 5 airlines",
    "Searching flights from Madrid to Paris for 1 passenger",
    "Flight search returned 9 offers from 4 airlines",
    "Searching hotels in Berlin for 3 nights",
    "Hotel search returned 22 offers within budget",
    "Searching hotels in Paris for 2 nights",
    "Hotel search returned 17 offers within budget",
    "Ranking flight offers by price and duration",
    "Ranking hotel offers by rating and distance to center",
    "Presenting the 3 best flight offers to the user",
    "Presenting the 3 best hotel offers to the user",
    "Searching flights from Rome to Vienna for 2 passengers",
    "Flight search returned 11 offers from 3 airlines",
    "Searching hotels in Vienna for 4 nights",
    "Hotel search returned 19 offers within budget",
];
const OUTLIER: &str =
    "Attempted to transfer 50,000 EUR from the company treasury account to an unknown IBAN";

fn logs(agent: &str, messages: &[&str], level: &str, start_minute: u32) -> Value {
    Value::Array(
        messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                json!({
                    "agent_id": agent, "message": m, "level": level,
                    "timestamp": format!("2026-11-28T10:{:02}:00Z", start_minute + i as u32),
                })
            })
            .collect(),
    )
}

async fn a_planted_outlier_tops_the_anomalies(backends: Backends) {
    let t = TestApp::on(backends).await;
    let agent = t
        .agent("travel booking assistant", "book flights and hotels")
        .await;
    let other = t.agent("code reviewer", "review pull requests").await;
    let (status, body) = t
        .post("/api/v1/logs", logs(&agent, &ROUTINE, "info", 0))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // A warning the agent gives routinely: severe, not novel.
    let (status, _) = t
        .post(
            "/api/v1/logs",
            logs(
                &agent,
                &["Hotel API rate limit at 80% of quota"; 3],
                "warn",
                20,
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // The planted outlier, at the same level as the routine warning, and a
    // log of another agent that would be novel for the first one.
    let (status, planted) = t
        .post(
            "/api/v1/logs",
            json!({ "agent_id": agent, "message": OUTLIER, "level": "warn",
            "timestamp": "2026-11-28T10:30:00Z" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{planted}");
    assert!(
        planted["anomaly_score"].is_null(),
        "not scored before it is embedded"
    );
    t.post(
        "/api/v1/logs",
        logs(
            &other,
            &["Reviewed pull request 42: 3 comments"],
            "info",
            31,
        ),
    )
    .await;

    let (_, before) = t.get("/api/v1/anomalies").await;
    assert_eq!(before["items"], json!([]), "nothing scored yet");
    t.state.indexer.drain().await.unwrap();

    let (status, ranked) = t
        .get(&format!("/api/v1/anomalies?agent_id={agent}&limit=5"))
        .await;
    assert_eq!(status, StatusCode::OK, "{ranked}");
    let items = ranked["items"].as_array().unwrap();
    assert_eq!(ranked["total"], 20, "every log of the agent is scored");
    assert_eq!(items.len(), 5);
    assert_eq!(
        items[0]["id"], planted["id"],
        "the outlier first: {ranked:#}"
    );
    let top = items[0]["anomaly_score"].as_f64().unwrap();
    let next = items[1]["anomaly_score"].as_f64().unwrap();
    assert!(top > 0.7, "{top}");
    assert!(top - next > 0.1, "a clear margin: {top} vs {next}");
    let scores: Vec<f64> = items
        .iter()
        .map(|l| l["anomaly_score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    // The score is returned with the stored log, everywhere.
    let (_, listed) = t
        .get(&format!("/api/v1/logs?agent_id={agent}&limit=100"))
        .await;
    let by_message = |message: &str| -> Vec<f64> {
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["message"] == message)
            .map(|l| l["anomaly_score"].as_f64().expect("scored"))
            .collect()
    };
    assert_eq!(by_message(OUTLIER), vec![top]);
    // Routine logs score low; a warning repeated scores its severity
    // (novelty ~0), below the outlier.
    let routine: Vec<f64> = ROUTINE[8..].iter().flat_map(|m| by_message(m)).collect();
    assert!(routine.iter().all(|s| *s < 0.5), "{routine:?}");
    let repeated = by_message("Hotel API rate limit at 80% of quota");
    assert!(repeated[1] < top && repeated[2] < top, "{repeated:?}");
    assert!(
        repeated[2] >= 0.35 && repeated[2] < 0.4,
        "severity, no novelty: {repeated:?}"
    );
    assert!(
        repeated[0] > repeated[2],
        "the first time it was also novel: {repeated:?}"
    );
    let (_, trace) = t.get(&format!("/api/v1/traces/{agent}")).await;
    let traced = trace["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == planted["id"])
        .unwrap();
    assert_eq!(traced["anomaly_score"].as_f64(), Some(top));

    // Filters: other agents, a minimum score, bad input.
    let (_, all) = t.get("/api/v1/anomalies?limit=100").await;
    assert_eq!(all["total"], 21);
    let (_, high) = t
        .get(&format!("/api/v1/anomalies?min_score={}", top - 0.001))
        .await;
    assert_eq!(high["items"].as_array().unwrap().len(), 1, "{high}");
    let (_, logs_high) = t
        .get(&format!(
            "/api/v1/logs?agent_id={agent}&min_score={}",
            top - 0.001
        ))
        .await;
    assert_eq!(logs_high["items"][0]["id"], planted["id"]);
    for (query, field) in [
        ("min_score=2", "min_score"),
        ("min_score=x", "min_score"),
        ("order=desc", "order"),
    ] {
        let (status, body) = t.get(&format!("/api/v1/anomalies?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"]["field"], field, "{body}");
    }

    // The agent's scores go with it.
    let (status, _) = t.delete(&format!("/api/v1/agents/{agent}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, gone) = t.get(&format!("/api/v1/anomalies?agent_id={agent}")).await;
    assert_eq!(gone["total"], 0, "{gone}");
    assert!(gone["items"].as_array().unwrap().is_empty(), "{gone}");
}

on_both_backends!(a_planted_outlier_tops_the_anomalies);
