//! Reciprocal rank fusion: one ranking from several (hybrid search).

use std::collections::HashMap;

/// The constant of reciprocal rank fusion (Cormack et al.; Elasticsearch,
/// OpenSearch and SurrealDB's `search::rrf` use the same default).
pub const RRF_K: f32 = 60.0;

/// Fuse rankings of documents (each best first) by reciprocal rank: a
/// document scores Σ 1 / (`RRF_K` + its rank in each ranking where it
/// appears, from 1). Best first, at most `limit`, with the fused score;
/// ties keep the order of first appearance.
pub fn fuse<T>(rankings: Vec<Vec<T>>, id: impl Fn(&T) -> &str, limit: usize) -> Vec<(T, f32)> {
    let mut fused: Vec<(T, f32)> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for ranking in rankings {
        for (rank, document) in ranking.into_iter().enumerate() {
            let score = 1.0 / (RRF_K + rank as f32 + 1.0);
            match at.get(id(&document)) {
                Some(&i) => fused[i].1 += score,
                None => {
                    at.insert(id(&document).to_string(), fused.len());
                    fused.push((document, score));
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..fused.len()).collect();
    order.sort_by(|&a, &b| fused[b].1.total_cmp(&fused[a].1).then(a.cmp(&b)));
    let mut slots: Vec<Option<(T, f32)>> = fused.into_iter().map(Some).collect();
    order
        .into_iter()
        .take(limit)
        .filter_map(|i| slots[i].take())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_in_both_rankings_come_first() {
        let semantic = vec!["a", "b", "c"];
        let text = vec!["c", "d", "b"];
        let fused = fuse(vec![semantic, text], |d| d, 10);
        let order: Vec<&str> = fused.iter().map(|(d, _)| *d).collect();
        // c: 1/63 + 1/61; b: 1/62 + 1/63; a: 1/61; d: 1/62.
        assert_eq!(order, ["c", "b", "a", "d"]);
        assert!((fused[0].1 - (1.0 / 63.0 + 1.0 / 61.0)).abs() < 1e-6);
        assert_eq!(fuse(vec![vec!["x"], vec![]], |d| d, 0).len(), 0);
    }
}
