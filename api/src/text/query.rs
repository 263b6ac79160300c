//! A text query: words, `"phrases"` and `prefixes*`, all required.

use super::tokens::{head, is_unspaced, prefix_term, tokens, MAX_INDEXED, MIN_PREFIX};

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 1_000;
/// Most clauses in one query.
pub const MAX_CLAUSES: usize = 32;

/// One required part of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clause {
    /// A token that must occur.
    Term(String),
    /// Tokens that must occur one after the other: a quoted phrase, or a
    /// word that is several tokens (`ERR-42`, a run of Chinese).
    Phrase(Vec<String>),
    /// Some token must start with this.
    Prefix(String),
}

/// Why a query was refused (the message names what to change).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

/// A parsed query: every clause must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextQuery {
    pub clauses: Vec<Clause>,
}

impl TextQuery {
    /// Parse `query`: `"…"` is a phrase, a word ending in `*` a prefix (at
    /// least three letters, or one of an unspaced script), any other word a
    /// term. Text is tokenised as stored text is (`tokens`).
    pub fn parse(query: &str) -> Result<Self, QueryError> {
        if query.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError(format!(
                "must be at most {MAX_QUERY_CHARS} characters"
            )));
        }
        let mut clauses = Vec::new();
        for (i, part) in query.split('"').enumerate() {
            if i % 2 == 1 {
                push_words(&mut clauses, tokens(part));
                continue;
            }
            for word in part.split_whitespace() {
                match word.strip_suffix('*') {
                    Some(stem) => push_prefix(&mut clauses, stem)?,
                    None => push_words(&mut clauses, tokens(word)),
                }
            }
        }
        if clauses.is_empty() {
            return Err(QueryError("has no letters or digits to search for".into()));
        }
        if clauses.len() > MAX_CLAUSES {
            return Err(QueryError(format!(
                "has more than {MAX_CLAUSES} words, phrases and prefixes"
            )));
        }
        Ok(Self { clauses })
    }

    /// The index terms a matching document's index entry must all hold:
    /// each token (cut as the index cuts it), each prefix's indexed form.
    pub fn index_terms(&self) -> Vec<String> {
        let mut terms: Vec<String> = Vec::new();
        let mut add = |t: String| {
            if !terms.contains(&t) {
                terms.push(t);
            }
        };
        for clause in &self.clauses {
            match clause {
                Clause::Term(t) => add(head(t, MAX_INDEXED).to_string()),
                Clause::Phrase(ts) => ts
                    .iter()
                    .for_each(|t| add(head(t, MAX_INDEXED).to_string())),
                Clause::Prefix(p) => add(prefix_term(p)),
            }
        }
        terms
    }
}

fn push_words(clauses: &mut Vec<Clause>, mut words: Vec<String>) {
    match words.len() {
        0 => {}
        1 => clauses.push(Clause::Term(words.remove(0))),
        _ => clauses.push(Clause::Phrase(words)),
    }
}

/// `stem*`: the stem's last token is the prefix; tokens before it must
/// come right before the token it starts (`"connection re*"`-like).
fn push_prefix(clauses: &mut Vec<Clause>, stem: &str) -> Result<(), QueryError> {
    let mut words = tokens(stem);
    let Some(last) = words.pop() else {
        return Ok(());
    };
    // A bigram prefix would only find runs starting there: search its
    // first letter as the prefix and the bigram as a term.
    let unspaced = last.chars().next().is_some_and(is_unspaced);
    if !unspaced && last.chars().count() < MIN_PREFIX {
        return Err(QueryError(format!(
            "prefix {stem:?}* is shorter than {MIN_PREFIX} letters"
        )));
    }
    push_words(clauses, words);
    if unspaced && last.chars().count() > 1 {
        clauses.push(Clause::Term(last));
    } else {
        clauses.push(Clause::Prefix(last));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Vec<Clause> {
        TextQuery::parse(q).unwrap().clauses
    }

    #[test]
    fn words_phrases_and_prefixes() {
        assert_eq!(
            parse(r#"Timeout "Connection  refused" auth*"#),
            [
                Clause::Term("timeout".into()),
                Clause::Phrase(vec!["connection".into(), "refused".into()]),
                Clause::Prefix("auth".into()),
            ]
        );
        // A word of several tokens is a phrase; so is a run of Chinese.
        assert_eq!(
            parse("ERR-42 数据库"),
            [
                Clause::Phrase(vec!["err".into(), "42".into()]),
                Clause::Phrase(vec!["数据".into(), "据库".into()]),
            ]
        );
        assert_eq!(parse("连*"), [Clause::Prefix("连".into())]);
    }

    #[test]
    fn bad_queries_say_why() {
        assert!(TextQuery::parse("  !! ")
            .unwrap_err()
            .0
            .contains("no letters"));
        assert!(TextQuery::parse("ab*").unwrap_err().0.contains("shorter"));
        assert!(TextQuery::parse(&"x".repeat(1_001)).is_err());
        assert!(TextQuery::parse(&"w ".repeat(40))
            .unwrap_err()
            .0
            .contains("more than"));
    }

    #[test]
    fn index_terms_cover_every_clause_once() {
        let q = TextQuery::parse(r#"timeout "timeout error" connect*"#).unwrap();
        assert_eq!(q.index_terms(), ["timeout", "error", "connect*"]);
    }
}
