//! The [`VectorIndex`] contract: checks every adapter must pass (Qdrant Edge in-process and a
//! remote Qdrant server, `tests/e2e/vector_contract.rs`). Each check takes an index with fresh,
//! empty collections of dimension [`DIM`] and panics on the first violation.

use std::collections::HashSet;

use vectadb::vectors::edge::point_id;
use vectadb::vectors::{Collection, ScoredId, VectorError, VectorFilter, VectorIndex, VectorPoint};

/// The dimension the checks expect the index to have (MiniLM's).
pub const DIM: usize = 384;

/// Every check, by name (the e2e suite asserts it runs each one against every adapter).
pub const CHECKS: &[&str] = &[
    "search_orders_by_cosine_with_cosine_scores",
    "threshold_is_inclusive",
    "limit_is_honoured",
    "filters_by_agent_id_and_status",
    "filters_match_whole_keywords",
    "upsert_replaces_the_point",
    "set_status_changes_only_the_status",
    "delete_removes_only_the_given_ids",
    "delete_by_agent_removes_only_that_agents_points",
    "existing_reports_the_ids_that_have_points",
    "scroll_ids_pages_through_every_id_once",
    "count_is_exact",
    "dimension_is_enforced",
    "collections_are_separate",
    "health_and_flush_succeed",
];

/// A [`DIM`]-dim vector with the given leading components.
pub fn v(head: &[f32]) -> Vec<f32> {
    let mut vector = vec![0.0; DIM];
    vector[..head.len()].copy_from_slice(head);
    vector
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |x: &[f32]| x.iter().map(|c| c * c).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b))
}

pub fn point(id: &str, vector: Vec<f32>, agent_id: &str, status: Option<&str>) -> VectorPoint {
    VectorPoint {
        id: id.to_string(),
        vector,
        agent_id: agent_id.to_string(),
        status: status.map(str::to_string),
        ..VectorPoint::default()
    }
}

fn ids(hits: &[ScoredId]) -> Vec<&str> {
    hits.iter().map(|hit| hit.id.as_str()).collect()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// Four task points with distinct, known cosines to [`query`] (none of unit length).
pub fn sample() -> Vec<VectorPoint> {
    vec![
        point("task000001", v(&[3.0, 0.0]), "agent00001", Some("open")),
        point("task000002", v(&[2.0, 2.0]), "agent00001", Some("done")),
        point("task000003", v(&[0.0, 5.0]), "agent00002", Some("open")),
        point("task000004", v(&[-4.0, 1.0]), "agent00002", None),
    ]
}

pub fn query() -> Vec<f32> {
    v(&[4.0, 1.0])
}

/// The sample ids sorted by their cosine to [`query`], best first, with that cosine.
pub fn expected_ranking() -> Vec<(String, f32)> {
    let mut expected: Vec<(String, f32)> = sample()
        .into_iter()
        .map(|p| {
            let score = cosine(&p.vector, &query());
            (p.id, score)
        })
        .collect();
    expected.sort_by(|a, b| b.1.total_cmp(&a.1));
    expected
}

async fn search(
    index: &dyn VectorIndex,
    vector: Vec<f32>,
    limit: usize,
    threshold: f32,
    filter: VectorFilter,
) -> Vec<ScoredId> {
    index
        .search(Collection::Tasks, vector, limit, threshold, &filter)
        .await
        .expect("search")
}

async fn search_all(index: &dyn VectorIndex, vector: Vec<f32>) -> Vec<ScoredId> {
    search(index, vector, 100, -1.0, VectorFilter::default()).await
}

/// The ids matching a filter (any score), sorted.
async fn matching(
    index: &dyn VectorIndex,
    agent_id: Option<&str>,
    status: Option<&str>,
) -> Vec<String> {
    let filter = VectorFilter {
        agent_id: agent_id.map(str::to_string),
        status: status.map(str::to_string),
        ..VectorFilter::default()
    };
    let hits = search(index, query(), 100, -1.0, filter).await;
    sorted(hits.into_iter().map(|hit| hit.id).collect())
}

async fn upsert_sample(index: &dyn VectorIndex) {
    index
        .upsert(Collection::Tasks, sample())
        .await
        .expect("upsert sample");
}

async fn count(index: &dyn VectorIndex, collection: Collection) -> u64 {
    index.count(collection).await.expect("count")
}

/// Hits come best first, scored with the cosine similarity.
pub async fn search_orders_by_cosine_with_cosine_scores(index: &dyn VectorIndex) {
    upsert_sample(index).await;
    let hits = search_all(index, query()).await;
    let expected = expected_ranking();
    assert_eq!(
        ids(&hits),
        expected
            .iter()
            .map(|(id, _)| id.as_str())
            .collect::<Vec<_>>()
    );
    for (hit, (_, score)) in hits.iter().zip(&expected) {
        assert!(
            (hit.score - score).abs() < 1e-4,
            "{}: score {} but the cosine is {score}",
            hit.id,
            hit.score
        );
    }
    // A negative similarity is a score like any other.
    assert!(hits.last().unwrap().score < 0.0, "{hits:?}");
}

/// Only hits with score >= threshold, equality included (Qdrant's own threshold is strict).
pub async fn threshold_is_inclusive(index: &dyn VectorIndex) {
    upsert_sample(index).await;
    let expected = expected_ranking();

    // Between the 2nd (~0.857) and 3rd (~0.243) best.
    let hits = search(index, query(), 10, 0.5, VectorFilter::default()).await;
    assert_eq!(
        ids(&hits),
        vec![expected[0].0.as_str(), expected[1].0.as_str()]
    );
    assert!(hits.iter().all(|hit| hit.score >= 0.5), "{hits:?}");

    // A hit whose score equals the threshold is kept.
    let second = hits[1].clone();
    let hits = search(index, query(), 10, second.score, VectorFilter::default()).await;
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert_eq!(hits[1].id, second.id);

    // Above every score: nothing. Below every score: everything.
    let hits = search(index, query(), 10, 0.9999, VectorFilter::default()).await;
    assert!(hits.is_empty(), "{hits:?}");
    let hits = search(index, query(), 10, -1.0, VectorFilter::default()).await;
    assert_eq!(hits.len(), 4, "{hits:?}");
}

/// At most `limit` hits, the best ones; 0 gives none.
pub async fn limit_is_honoured(index: &dyn VectorIndex) {
    upsert_sample(index).await;
    let expected = expected_ranking();
    let hits = search(index, query(), 2, -1.0, VectorFilter::default()).await;
    assert_eq!(
        ids(&hits),
        vec![expected[0].0.as_str(), expected[1].0.as_str()]
    );
    let hits = search(index, query(), 1, 0.5, VectorFilter::default()).await;
    assert_eq!(ids(&hits), vec![expected[0].0.as_str()]);
    let hits = search(index, query(), 0, -1.0, VectorFilter::default()).await;
    assert!(hits.is_empty(), "{hits:?}");
}

/// `agent_id` and `status` filters, alone and together.
pub async fn filters_by_agent_id_and_status(index: &dyn VectorIndex) {
    upsert_sample(index).await;
    assert_eq!(
        matching(index, Some("agent00002"), None).await,
        vec!["task000003", "task000004"]
    );
    assert_eq!(
        matching(index, None, Some("open")).await,
        vec!["task000001", "task000003"]
    );
    assert_eq!(
        matching(index, Some("agent00001"), Some("open")).await,
        vec!["task000001"]
    );
    assert!(matching(index, Some("agent00009"), None).await.is_empty());
    assert!(matching(index, None, Some("nosuchstatus")).await.is_empty());
    // The filter applies before the limit: the one match is found even though
    // three points score higher.
    let hits = search(
        index,
        query(),
        1,
        -1.0,
        VectorFilter {
            agent_id: None,
            status: Some("open".into()),
            ..VectorFilter::default()
        },
    )
    .await;
    assert_eq!(ids(&hits), vec!["task000001"]);
    let hits = search(
        index,
        query(),
        1,
        -1.0,
        VectorFilter {
            agent_id: Some("agent00002".into()),
            status: None,
            ..VectorFilter::default()
        },
    )
    .await;
    assert_eq!(ids(&hits), vec!["task000003"]);
}

/// Filters compare whole values: no prefix, case-folding or full-text matching, even for
/// values with spaces.
pub async fn filters_match_whole_keywords(index: &dyn VectorIndex) {
    let points = vec![
        point("task000011", v(&[1.0]), "agent 1", Some("on hold")),
        point("task000012", v(&[1.0, 1.0]), "agent 1 b", Some("hold on")),
        point("task000013", v(&[1.0, 2.0]), "agent", Some("on hold later")),
        point("task000014", v(&[1.0, 3.0]), "Agent 1", Some("On Hold")),
        point("task000015", v(&[1.0, 4.0]), "agent 1", Some("on")),
    ];
    index
        .upsert(Collection::Tasks, points)
        .await
        .expect("upsert");
    assert_eq!(
        matching(index, None, Some("on hold")).await,
        vec!["task000011"]
    );
    assert_eq!(matching(index, None, Some("on")).await, vec!["task000015"]);
    assert_eq!(
        matching(index, Some("agent 1"), None).await,
        vec!["task000011", "task000015"]
    );
    assert_eq!(
        matching(index, Some("agent"), None).await,
        vec!["task000013"]
    );
    assert_eq!(
        matching(index, Some("agent 1"), Some("on hold")).await,
        vec!["task000011"]
    );
    assert!(matching(index, None, Some("hold")).await.is_empty());
    assert!(matching(index, None, Some("")).await.is_empty());

    index
        .delete_by_agent(Collection::Tasks, "agent 1")
        .await
        .expect("delete by agent");
    let left = sorted(
        search_all(index, query())
            .await
            .into_iter()
            .map(|hit| hit.id)
            .collect(),
    );
    assert_eq!(left, vec!["task000012", "task000013", "task000014"]);
}

/// Upserting an existing id replaces its vector and payload.
pub async fn upsert_replaces_the_point(index: &dyn VectorIndex) {
    upsert_sample(index).await;
    assert_eq!(count(index, Collection::Tasks).await, 4);

    // task000003 moves to the query's direction, changes owner and loses its status.
    index
        .upsert(
            Collection::Tasks,
            vec![point("task000003", query(), "agent00003", None)],
        )
        .await
        .expect("upsert");
    assert_eq!(count(index, Collection::Tasks).await, 4);

    let hits = search_all(index, query()).await;
    assert_eq!(hits.len(), 4);
    assert_eq!(hits[0].id, "task000003");
    assert!((hits[0].score - 1.0).abs() < 1e-4, "{hits:?}");
    // Its old vector is gone: nothing scores ~1 against it any more.
    let old = search_all(index, v(&[0.0, 5.0])).await;
    assert!(old[0].score < 0.9, "{old:?}");
    // Its payload was replaced as well (not merged).
    assert_eq!(
        matching(index, None, Some("open")).await,
        vec!["task000001"]
    );
    assert_eq!(
        matching(index, Some("agent00003"), None).await,
        vec!["task000003"]
    );
    assert_eq!(
        matching(index, Some("agent00002"), None).await,
        vec!["task000004"]
    );

    // Several points in one upsert, one of them new, one replaced.
    index
        .upsert(
            Collection::Tasks,
            vec![
                point("task000005", v(&[1.0, 1.0]), "agent00001", Some("open")),
                point("task000001", v(&[0.0, 1.0]), "agent00001", Some("done")),
            ],
        )
        .await
        .expect("upsert");
    assert_eq!(count(index, Collection::Tasks).await, 5);
    assert_eq!(
        matching(index, None, Some("done")).await,
        vec!["task000001", "task000002"]
    );
}

/// `set_status` changes the status payload only, keeping vector and agent; unknown ids are
/// ignored.
pub async fn set_status_changes_only_the_status(index: &dyn VectorIndex) {
    upsert_sample(index).await;
    let before = search_all(index, query()).await;

    index
        .set_status(Collection::Tasks, "task000001", "done")
        .await
        .expect("set status");
    // A point without a status gets one.
    index
        .set_status(Collection::Tasks, "task000004", "open")
        .await
        .expect("set status");
    index
        .set_status(Collection::Tasks, "nosuchtask", "done")
        .await
        .expect("set status of an unknown id is a no-op");

    assert_eq!(
        matching(index, None, Some("done")).await,
        vec!["task000001", "task000002"]
    );
    assert_eq!(
        matching(index, None, Some("open")).await,
        vec!["task000003", "task000004"]
    );
    assert_eq!(
        matching(index, Some("agent00001"), Some("done")).await,
        vec!["task000001", "task000002"]
    );
    assert_eq!(
        matching(index, Some("agent00002"), Some("open")).await,
        vec!["task000003", "task000004"]
    );
    // Vectors are untouched.
    let after = search_all(index, query()).await;
    assert_eq!(ids(&after), ids(&before));
    for (a, b) in after.iter().zip(&before) {
        assert!((a.score - b.score).abs() < 1e-6, "{after:?} vs {before:?}");
    }
    assert_eq!(count(index, Collection::Tasks).await, 4);
    assert_eq!(
        index
            .existing(Collection::Tasks, &["nosuchtask".to_string()])
            .await
            .expect("existing"),
        Vec::<String>::new()
    );
}

/// `delete` removes the given ids; unknown ids and an empty list are fine.
pub async fn delete_removes_only_the_given_ids(index: &dyn VectorIndex) {
    upsert_sample(index).await;
    index
        .delete(
            Collection::Tasks,
            &["task000001".to_string(), "nosuchtask".to_string()],
        )
        .await
        .expect("delete");
    assert_eq!(count(index, Collection::Tasks).await, 3);
    let hits = search_all(index, query()).await;
    assert_eq!(
        sorted(hits.into_iter().map(|hit| hit.id).collect()),
        vec!["task000002", "task000003", "task000004"]
    );
    index
        .delete(Collection::Tasks, &[])
        .await
        .expect("delete none");
    index
        .delete(Collection::Tasks, &["nosuchtask".to_string()])
        .await
        .expect("delete unknown");
    assert_eq!(count(index, Collection::Tasks).await, 3);
    index
        .delete(
            Collection::Tasks,
            &["task000002".to_string(), "task000004".to_string()],
        )
        .await
        .expect("delete");
    assert_eq!(matching(index, None, None).await, vec!["task000003"]);
}

/// `delete_by_agent` removes every point of that agent and nothing else.
pub async fn delete_by_agent_removes_only_that_agents_points(index: &dyn VectorIndex) {
    upsert_sample(index).await;
    index
        .delete_by_agent(Collection::Tasks, "agent00002")
        .await
        .expect("delete by agent");
    assert_eq!(count(index, Collection::Tasks).await, 2);
    assert_eq!(
        matching(index, None, None).await,
        vec!["task000001", "task000002"]
    );
    // Nothing to delete is fine.
    index
        .delete_by_agent(Collection::Tasks, "agent00009")
        .await
        .expect("delete by unknown agent");
    index
        .delete_by_agent(Collection::Agents, "agent00001")
        .await
        .expect("delete by agent in the other collection");
    assert_eq!(count(index, Collection::Tasks).await, 2);
    index
        .delete_by_agent(Collection::Tasks, "agent00001")
        .await
        .expect("delete by agent");
    assert_eq!(count(index, Collection::Tasks).await, 0);
}

/// `existing` returns the asked ids that have points, in the order asked, once each.
pub async fn existing_reports_the_ids_that_have_points(index: &dyn VectorIndex) {
    upsert_sample(index).await;
    let asked: Vec<String> = ["task000004", "nosuchtask", "task000002", "task000004"]
        .map(String::from)
        .to_vec();
    let existing = index
        .existing(Collection::Tasks, &asked)
        .await
        .expect("existing");
    assert_eq!(existing, vec!["task000004", "task000002"]);
    // Per collection.
    let existing = index
        .existing(Collection::Agents, &asked)
        .await
        .expect("existing");
    assert!(existing.is_empty(), "{existing:?}");
    assert!(index
        .existing(Collection::Tasks, &[])
        .await
        .expect("existing")
        .is_empty());

    index
        .delete(Collection::Tasks, &["task000002".to_string()])
        .await
        .expect("delete");
    let existing = index
        .existing(Collection::Tasks, &asked)
        .await
        .expect("existing");
    assert_eq!(existing, vec!["task000004"]);
}

/// `scroll_ids` pages through every id exactly once; the cursor is the next page's first
/// point id (its UUID string) and `None` after the last page.
pub async fn scroll_ids_pages_through_every_id_once(index: &dyn VectorIndex) {
    // Empty collection: one empty page.
    let page = index
        .scroll_ids(Collection::Tasks, None, 10)
        .await
        .expect("scroll");
    assert!(page.ids.is_empty() && page.next.is_none(), "{page:?}");

    let all: Vec<String> = (0..25).map(|i| format!("doc{i:07}")).collect();
    let points = all
        .iter()
        .enumerate()
        .map(|(i, id)| point(id, v(&[1.0, i as f32]), "agent00001", None))
        .collect();
    index
        .upsert(Collection::Tasks, points)
        .await
        .expect("upsert");

    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor = None;
    loop {
        let page = index
            .scroll_ids(Collection::Tasks, cursor.clone(), 7)
            .await
            .expect("scroll");
        if let Some(previous) = &cursor {
            // The cursor pointed at this page's first point.
            assert_eq!(
                previous,
                &point_id(&page.ids[0]).to_string(),
                "cursor {previous} vs page {page:?}"
            );
        }
        sizes.push(page.ids.len());
        seen.extend(page.ids);
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(sizes.len() < 10, "scrolling does not end: {sizes:?}");
    }
    assert_eq!(sizes, vec![7, 7, 7, 4]);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "an id came twice: {seen:?}");
    assert_eq!(sorted(seen.clone()), all);

    // The order is stable, and one big page holds everything.
    let page = index
        .scroll_ids(Collection::Tasks, None, 100)
        .await
        .expect("scroll");
    assert_eq!(page.ids, seen);
    assert_eq!(page.next, None);
    let page = index
        .scroll_ids(Collection::Tasks, None, 25)
        .await
        .expect("scroll");
    assert_eq!(page.ids.len(), 25);
    assert_eq!(page.next, None);
    // A limit of 0 is taken as 1.
    let page = index
        .scroll_ids(Collection::Tasks, None, 0)
        .await
        .expect("scroll");
    assert_eq!(page.ids, vec![seen[0].clone()]);
    assert_eq!(page.next, Some(point_id(&seen[1]).to_string()));

    let err = index
        .scroll_ids(Collection::Tasks, Some("not-a-cursor".into()), 7)
        .await
        .expect_err("an invalid cursor is refused");
    assert!(matches!(err, VectorError::Backend(_)), "{err:?}");
}

/// `count` is exact after every kind of write.
pub async fn count_is_exact(index: &dyn VectorIndex) {
    assert_eq!(count(index, Collection::Tasks).await, 0);
    assert_eq!(count(index, Collection::Agents).await, 0);
    let points: Vec<VectorPoint> = (0..150)
        .map(|i| {
            let agent = format!("agent{:05}", i % 3);
            point(&format!("doc{i:07}"), v(&[1.0, i as f32]), &agent, None)
        })
        .collect();
    index
        .upsert(Collection::Tasks, points.clone())
        .await
        .expect("upsert");
    assert_eq!(count(index, Collection::Tasks).await, 150);
    let of_agent = VectorFilter {
        agent_id: Some("agent00001".into()),
        ..VectorFilter::default()
    };
    assert_eq!(
        index
            .count_matching(Collection::Tasks, &of_agent)
            .await
            .expect("count matching"),
        50,
        "a filtered count counts only what matches"
    );
    // Upserting the same ids again adds nothing.
    index
        .upsert(Collection::Tasks, points[..50].to_vec())
        .await
        .expect("upsert");
    assert_eq!(count(index, Collection::Tasks).await, 150);
    index
        .delete_by_agent(Collection::Tasks, "agent00000")
        .await
        .expect("delete by agent");
    assert_eq!(count(index, Collection::Tasks).await, 100);
    let doomed: Vec<String> = (1..10).map(|i| format!("doc{i:07}")).collect();
    index
        .delete(Collection::Tasks, &doomed)
        .await
        .expect("delete");
    // doc0000003, 6 and 9 belonged to agent00000 and were gone already.
    assert_eq!(count(index, Collection::Tasks).await, 94);
    assert_eq!(count(index, Collection::Agents).await, 0);
}

/// Vectors of another size are refused with [`VectorError::Dimension`] and write nothing.
pub async fn dimension_is_enforced(index: &dyn VectorIndex) {
    assert_eq!(index.dimension(), DIM);
    let err = index
        .upsert(
            Collection::Tasks,
            vec![point("task000001", vec![1.0; DIM + 1], "agent00001", None)],
        )
        .await
        .expect_err("a longer vector is refused");
    assert!(
        matches!(
            err,
            VectorError::Dimension { collection: Collection::Tasks, expected: DIM, got }
                if got == DIM + 1
        ),
        "{err:?}"
    );
    // One bad point in a batch: nothing of the batch is written.
    let err = index
        .upsert(
            Collection::Agents,
            vec![
                point("agent00001", v(&[1.0]), "agent00001", None),
                point("agent00002", vec![1.0; 3], "agent00002", None),
            ],
        )
        .await
        .expect_err("a shorter vector is refused");
    assert!(
        matches!(
            err,
            VectorError::Dimension {
                collection: Collection::Agents,
                expected: DIM,
                got: 3
            }
        ),
        "{err:?}"
    );
    let err = index
        .search(
            Collection::Tasks,
            vec![1.0; 3],
            10,
            0.0,
            &VectorFilter::default(),
        )
        .await
        .expect_err("a query of the wrong size is refused");
    assert!(
        matches!(err, VectorError::Dimension { got: 3, .. }),
        "{err:?}"
    );
    assert_eq!(count(index, Collection::Tasks).await, 0);
    assert_eq!(count(index, Collection::Agents).await, 0);
}

/// Agents and tasks are separate collections.
pub async fn collections_are_separate(index: &dyn VectorIndex) {
    upsert_sample(index).await;
    index
        .upsert(
            Collection::Agents,
            vec![point("agent00001", query(), "agent00001", None)],
        )
        .await
        .expect("upsert");
    assert_eq!(count(index, Collection::Tasks).await, 4);
    assert_eq!(count(index, Collection::Agents).await, 1);
    let agents = index
        .search(
            Collection::Agents,
            query(),
            10,
            -1.0,
            &VectorFilter::default(),
        )
        .await
        .expect("search");
    assert_eq!(ids(&agents), vec!["agent00001"]);
    assert!((agents[0].score - 1.0).abs() < 1e-4, "{agents:?}");
    // The same document id in both collections: two points.
    index
        .upsert(
            Collection::Agents,
            vec![point("task000001", v(&[0.0, 1.0]), "agent00001", None)],
        )
        .await
        .expect("upsert");
    index
        .delete(Collection::Agents, &["task000001".to_string()])
        .await
        .expect("delete");
    assert_eq!(count(index, Collection::Tasks).await, 4);
    assert_eq!(count(index, Collection::Agents).await, 1);
    let tasks = search_all(index, query()).await;
    assert!(!ids(&tasks).contains(&"agent00001"), "{tasks:?}");
    assert!(ids(&tasks).contains(&"task000001"), "{tasks:?}");
}

/// `health` and `flush` succeed on a working index, and writes stay readable after a flush.
pub async fn health_and_flush_succeed(index: &dyn VectorIndex) {
    index.health().await.expect("health");
    index.flush().await.expect("flush on an empty index");
    upsert_sample(index).await;
    index.flush().await.expect("flush");
    index.health().await.expect("health");
    assert_eq!(count(index, Collection::Tasks).await, 4);
}
