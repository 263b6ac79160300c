//! Exact matching and BM25 ranking of candidate documents.

use super::query::{Clause, TextQuery};
use super::tokens::tokens;

/// BM25's term-frequency saturation and length normalisation (the usual
/// defaults, as Lucene and SurrealDB use).
const K1: f32 = 1.2;
const B: f32 = 0.75;

/// A matching document: its position among the candidates and its score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranked {
    pub index: usize,
    pub score: f32,
}

/// How often each clause occurs in a document's tokens (0: no match).
fn frequencies(query: &TextQuery, doc: &[String]) -> Vec<u32> {
    query
        .clauses
        .iter()
        .map(|clause| match clause {
            Clause::Term(t) => doc.iter().filter(|d| *d == t).count() as u32,
            Clause::Prefix(p) => doc.iter().filter(|d| d.starts_with(p.as_str())).count() as u32,
            Clause::Phrase(words) => doc
                .windows(words.len())
                .filter(|w| *w == words.as_slice())
                .count() as u32,
        })
        .collect()
}

/// The candidates (texts) that match every clause of `query`, best first,
/// at most `limit`. BM25 statistics (document count, document frequency of
/// each clause, average length) are those of the candidates given, so a
/// score ranks documents within one search, not across searches.
pub fn rank<'a>(
    query: &TextQuery,
    texts: impl IntoIterator<Item = &'a str>,
    limit: usize,
) -> Vec<Ranked> {
    let docs: Vec<Vec<String>> = texts.into_iter().map(tokens).collect();
    if docs.is_empty() {
        return Vec::new();
    }
    let freqs: Vec<Vec<u32>> = docs.iter().map(|d| frequencies(query, d)).collect();
    let n = docs.len() as f32;
    let average = docs.iter().map(Vec::len).sum::<usize>() as f32 / n;
    let idf: Vec<f32> = (0..query.clauses.len())
        .map(|c| {
            let df = freqs.iter().filter(|f| f[c] > 0).count() as f32;
            (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
        })
        .collect();
    let mut ranked: Vec<Ranked> = freqs
        .iter()
        .enumerate()
        .filter(|(_, f)| f.iter().all(|&tf| tf > 0))
        .map(|(index, f)| {
            let length = docs[index].len() as f32 / average.max(1.0);
            let score = f
                .iter()
                .zip(&idf)
                .map(|(&tf, idf)| {
                    let tf = tf as f32;
                    idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * length))
                })
                .sum();
            Ranked { index, score }
        })
        .collect();
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
    ranked.truncate(limit);
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranked(query: &str, texts: &[&str]) -> Vec<usize> {
        let q = TextQuery::parse(query).unwrap();
        rank(&q, texts.iter().copied(), 10)
            .into_iter()
            .map(|r| r.index)
            .collect()
    }

    #[test]
    fn every_clause_must_match() {
        let texts = [
            "connection refused by upstream",
            "refused connection by upstream",
            "connection reset",
        ];
        assert_eq!(ranked(r#""connection refused""#, &texts), [0]);
        assert_eq!(ranked("connection refused", &texts).len(), 2);
        assert_eq!(ranked("conn* res*", &texts), [2]);
        assert!(ranked("missing", &texts).is_empty());
    }

    #[test]
    fn bm25_prefers_frequent_terms_in_short_documents() {
        let texts = [
            "timeout while calling the billing service after many retries and waits",
            "timeout timeout",
            "ok",
            "timeout in a long message that goes on about other things entirely here",
        ];
        assert_eq!(ranked("timeout", &texts), [1, 0, 3]);
    }

    #[test]
    fn any_script() {
        let texts = [
            "数据库连接失败",
            "连接成功",
            "Ошибка соединения",
            "café fermé",
        ];
        assert_eq!(ranked("连接失败", &texts), [0]);
        assert_eq!(ranked("连接", &texts).len(), 2);
        assert_eq!(ranked("ошибка", &texts), [2]);
        assert_eq!(ranked("CAFE", &texts), [3]);
        assert_eq!(ranked("соедин*", &texts), [2]);
    }
}
