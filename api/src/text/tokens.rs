//! Text → tokens, and the terms an index document holds.

use std::collections::BTreeSet;

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Longest token kept in the index (longer ones are indexed by their first
/// `MAX_INDEXED` characters; matching always checks the whole token).
pub(super) const MAX_INDEXED: usize = 64;
/// Prefixes are indexed from this many characters ...
pub(super) const MIN_PREFIX: usize = 3;
/// ... up to this many (a longer prefix selects candidates by its first
/// `MAX_PREFIX` characters).
pub(super) const MAX_PREFIX: usize = 12;
/// Marks an indexed prefix (`conn*`); never part of a token.
pub(super) const PREFIX_MARK: char = '*';

/// Letters of scripts written without spaces between words, whose runs are
/// split into overlapping bigrams: Han, kana, Hangul and Thai.
pub(super) fn is_unspaced(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0E7F        // Thai
        | 0x1100..=0x11FF      // Hangul Jamo
        | 0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3130..=0x318F      // Hangul compatibility Jamo
        | 0x31F0..=0x31FF      // Katakana extensions
        | 0x3400..=0x4DBF      // CJK extension A
        | 0x4E00..=0x9FFF      // CJK unified ideographs
        | 0xAC00..=0xD7AF      // Hangul syllables
        | 0xF900..=0xFAFF      // CJK compatibility ideographs
        | 0x20000..=0x2FA1F) // CJK extensions B-F, compatibility supplement
}

/// Appends `c` as search sees it: scripts with spaces are
/// compatibility-decomposed with their combining marks dropped (`é` → `e`,
/// full-width `Ａ` → `a`) and lower-cased; the unspaced scripts are kept
/// as written (decomposing Hangul or kana would split their letters).
/// ASCII, most of what logs hold, takes the short way.
fn fold(c: char, out: &mut Vec<char>) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
    } else if is_unspaced(c) {
        out.push(c);
    } else {
        for d in std::iter::once(c).nfkd() {
            if !is_combining_mark(d) {
                out.extend(d.to_lowercase());
            }
        }
    }
}

/// The tokens of `text`, in order: each run of letters and digits is one
/// token; a run of an unspaced script becomes its overlapping bigrams (a
/// single letter stays one token). Everything else separates tokens.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut run: Vec<char> = Vec::new();
    let mut folded: Vec<char> = Vec::with_capacity(4);
    for c in text.chars() {
        folded.clear();
        fold(c, &mut folded);
        for &c in &folded {
            if is_unspaced(c) {
                flush_word(&mut word, &mut out);
                run.push(c);
            } else if c.is_alphanumeric() {
                flush_run(&mut run, &mut out);
                word.push(c);
            } else {
                flush_word(&mut word, &mut out);
                flush_run(&mut run, &mut out);
            }
        }
    }
    flush_word(&mut word, &mut out);
    flush_run(&mut run, &mut out);
    out
}

fn flush_word(word: &mut String, out: &mut Vec<String>) {
    if !word.is_empty() {
        out.push(std::mem::take(word));
    }
}

fn flush_run(run: &mut Vec<char>, out: &mut Vec<String>) {
    match run.len() {
        0 => {}
        1 => out.push(run[0].to_string()),
        _ => out.extend(run.windows(2).map(|w| w.iter().collect::<String>())),
    }
    run.clear();
}

/// The first `n` characters of `s`.
pub(super) fn head(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

/// The indexed form of a prefix.
pub(super) fn prefix_term(prefix: &str) -> String {
    format!("{}{PREFIX_MARK}", head(prefix, MAX_PREFIX))
}

/// What an index document holds for `texts` (one log block's messages or
/// one thought's content): its distinct tokens (cut to `MAX_INDEXED`
/// characters), and for tokens of letters their prefixes of `MIN_PREFIX`
/// to `MAX_PREFIX` characters, marked (`con* conn* ...`); for a bigram, its
/// first letter, marked. Space-separated, for an analyzer that splits on
/// spaces only.
pub fn index_terms<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    let mut distinct: BTreeSet<String> = BTreeSet::new();
    for text in texts {
        for token in tokens(text) {
            distinct.insert(head(&token, MAX_INDEXED).to_string());
        }
    }
    let mut terms: BTreeSet<String> = BTreeSet::new();
    for token in &distinct {
        let mut chars = token.chars();
        let first = chars.next().unwrap_or(' ');
        if is_unspaced(first) {
            terms.insert(prefix_term(&first.to_string()));
        } else if token.chars().all(char::is_alphabetic) {
            let length = token.chars().count();
            for n in MIN_PREFIX..=length.min(MAX_PREFIX) {
                terms.insert(prefix_term(head(token, n)));
            }
        }
    }
    let mut out = String::new();
    for term in distinct.iter().chain(terms.iter()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(term);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_fold_case_accents_and_width() {
        assert_eq!(
            tokens("Café RÉSUMÉ: naïve Ｆｕｌｌ-width, item_42"),
            ["cafe", "resume", "naive", "full", "width", "item", "42"]
        );
        // Decomposed input folds the same way.
        assert_eq!(tokens("Cafe\u{301}"), ["cafe"]);
    }

    #[test]
    fn cyrillic_and_greek_stay_words() {
        assert_eq!(tokens("Ошибка соединения"), ["ошибка", "соединения"]);
        assert_eq!(tokens("Σφάλμα"), ["σφαλμα"]);
    }

    #[test]
    fn unspaced_scripts_become_bigrams() {
        assert_eq!(
            tokens("数据库连接失败 at db1"),
            ["数据", "据库", "库连", "连接", "接失", "失败", "at", "db1"]
        );
        assert_eq!(tokens("错"), ["错"]);
        assert_eq!(tokens("한국어"), ["한국", "국어"]);
    }

    #[test]
    fn index_terms_hold_distinct_tokens_and_prefixes() {
        let terms = index_terms(["Connection reset", "connection refused 42", "数据库"]);
        let terms: Vec<&str> = terms.split(' ').collect();
        for expected in ["connection", "reset", "refused", "42", "数据", "据库"] {
            assert!(terms.contains(&expected), "{expected} in {terms:?}");
        }
        for expected in [
            "con*",
            "conn*",
            "connection*",
            "res*",
            "reset*",
            "数*",
            "据*",
        ] {
            assert!(terms.contains(&expected), "{expected} in {terms:?}");
        }
        assert_eq!(terms.iter().filter(|t| **t == "connection").count(), 1);
        assert!(!terms.contains(&"co*") && !terms.contains(&"42*"));
    }

    #[test]
    fn long_tokens_are_indexed_by_their_head() {
        let long = "a".repeat(100);
        let terms = index_terms([long.as_str()]);
        assert!(terms.split(' ').any(|t| t == "a".repeat(MAX_INDEXED)));
        assert!(terms.split(' ').any(|t| t == prefix_term(&long)));
    }
}
