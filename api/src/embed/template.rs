//! A log message's template: the text the indexer embeds for it, with the
//! parts that vary between otherwise identical messages masked.
//!
//! Two logs whose messages differ only in numbers, ids, hex strings,
//! UUIDs, timestamps, addresses or paths have the same template, so they
//! share one vector (and one embedding: see [`super::cache`]). The masks
//! are words the model reads as what they stand for:
//! - `N`: a number, with or without a short unit (`42`, `3.5`, `250ms`,
//!   `1,024`, `10.0.0.5`, `12:30:01`);
//! - `ID`: anything else with digits in it (`user42`, `req_8f3a`,
//!   timestamps such as `2026-12-06T10:00:00Z`), a hex string of 8 or more
//!   characters, a UUID, an e-mail address;
//! - `PATH`: a URL or a file path (`/var/log/app.log`, `./a/b`, `C:\x`,
//!   `https://…`).
//!
//! Whitespace runs become one space and the text is lower-cased (the model
//! is uncased, so neither changes a vector). Words are masked whole, with
//! surrounding punctuation kept: `(250 ms)` → `(N ms)`.

/// The template of `message` (see the module documentation).
pub fn of(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for word in message.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        mask_word(word, &mut out);
    }
    out.to_lowercase()
}

/// Punctuation that may wrap a word without being part of it.
fn is_wrapper(c: char) -> bool {
    matches!(
        c,
        '(' | ')' | '[' | ']' | '{' | '}' | '<' | '>' | '"' | '\'' | '`' | ',' | ';' | '!' | '?'
    ) || (c == '.' || c == ':')
}

fn mask_word(word: &str, out: &mut String) {
    let core_start = word.find(|c: char| !is_wrapper(c)).unwrap_or(word.len());
    let core_end = word
        .rfind(|c: char| !is_wrapper(c))
        .map_or(core_start, |i| {
            i + word[i..].chars().next().map_or(1, char::len_utf8)
        });
    let (prefix, core, suffix) = if core_start >= core_end {
        (word, "", "")
    } else {
        (
            &word[..core_start],
            &word[core_start..core_end],
            &word[core_end..],
        )
    };
    out.push_str(prefix);
    out.push_str(&mask_core(core));
    out.push_str(suffix);
}

/// The masked form of a word without its wrapping punctuation.
fn mask_core(core: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    if core.is_empty() {
        return Cow::Borrowed(core);
    }
    if is_path(core) {
        return Cow::Borrowed("PATH");
    }
    if is_email(core) || is_uuid(core) {
        return Cow::Borrowed("ID");
    }
    // Alphanumeric runs, and the separators between them.
    let mut runs = Vec::new();
    let mut start = None;
    for (i, c) in core.char_indices() {
        let word_char = c.is_alphanumeric() || c == '_';
        match (word_char, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push((s, core.len()));
    }
    let kinds: Vec<Run> = runs.iter().map(|&(s, e)| Run::of(&core[s..e])).collect();
    if kinds.iter().all(|k| *k == Run::Text) {
        return Cow::Borrowed(core);
    }
    // A word made only of masked runs and separators is one mask: a
    // timestamp, an address, a version or a decimal is one thing.
    if kinds.iter().all(|k| *k != Run::Text) {
        let numeric = kinds.iter().all(|k| *k == Run::Number);
        return Cow::Borrowed(if numeric { "N" } else { "ID" });
    }
    let mut masked = String::with_capacity(core.len());
    let mut last = 0;
    for (&(s, e), kind) in runs.iter().zip(&kinds) {
        masked.push_str(&core[last..s]);
        match kind {
            Run::Text => masked.push_str(&core[s..e]),
            Run::Number => masked.push('N'),
            Run::Id => masked.push_str("ID"),
        }
        last = e;
    }
    masked.push_str(&core[last..]);
    Cow::Owned(masked)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    Text,
    /// Digits, optionally followed by a unit of up to three letters.
    Number,
    Id,
}

impl Run {
    fn of(run: &str) -> Run {
        let digits = run.chars().filter(char::is_ascii_digit).count();
        let length = run.chars().count();
        if digits == 0 {
            // Letters only: a long hex string is an id, a word is a word.
            return if length >= 8 && run.chars().all(|c| c.is_ascii_hexdigit()) {
                Run::Id
            } else {
                Run::Text
            };
        }
        let leading = run.chars().take_while(char::is_ascii_digit).count();
        let unit = &run[leading..];
        if leading == digits && unit.chars().count() <= 3 && unit.chars().all(char::is_alphabetic) {
            Run::Number
        } else {
            Run::Id
        }
    }
}

fn is_path(core: &str) -> bool {
    if core.contains("://") {
        return true;
    }
    let separators = core.chars().filter(|c| *c == '/' || *c == '\\').count();
    if separators == 0 {
        return false;
    }
    let bytes = core.as_bytes();
    let drive = bytes.len() > 2 && bytes[0].is_ascii_alphabetic() && &bytes[1..3] == b":\\";
    core.starts_with('/')
        || core.starts_with("./")
        || core.starts_with("../")
        || core.starts_with("~/")
        || drive
        || separators >= 2
}

fn is_email(core: &str) -> bool {
    match core.split_once('@') {
        Some((user, domain)) => !user.is_empty() && domain.contains('.') && !domain.contains('@'),
        None => false,
    }
}

/// `8-4-4-4-12` hex digits.
fn is_uuid(core: &str) -> bool {
    let groups: Vec<&str> = core.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::of;

    #[test]
    fn numbers_ids_and_paths_are_masked() {
        for (message, template) in [
            (
                "called web_search and got 42 results",
                "called web_search and got n results",
            ),
            (
                "retrying sql_query after a timeout (250 ms)",
                "retrying sql_query after a timeout (n ms)",
            ),
            ("finished step in 250ms.", "finished step in n."),
            ("wrote 1,024 rows", "wrote n rows"),
            ("connecting to 10.0.0.5:5432", "connecting to n"),
            (
                "request 550e8400-e29b-41d4-a716-446655440000 failed",
                "request id failed",
            ),
            ("commit deadbeefcafe1234 merged", "commit id merged"),
            ("user42 signed in", "id signed in"),
            (
                "at 2026-12-06T10:00:00Z the job started",
                "at id the job started",
            ),
            ("read /var/log/app.log", "read path"),
            (
                "GET https://example.com/a?b=1 returned 503",
                "get path returned n",
            ),
            ("mailed ops@example.com", "mailed id"),
            ("file C:\\temp\\x.txt", "file path"),
            ("run_7 took  3   s", "id took n s"),
            ("Zürich order Nº 17 — ok", "zürich order nº n — ok"),
            ("订单 12345 已发货", "订单 n 已发货"),
            ("input/output error", "input/output error"),
            ("decade accepted", "decade accepted"),
        ] {
            assert_eq!(of(message), template, "{message}");
        }
    }

    #[test]
    fn messages_differing_only_in_variable_parts_share_a_template() {
        assert_eq!(
            of("called http_get and got 3 results in 120ms"),
            of("called http_get and got 9000 results in 7ms")
        );
        assert_ne!(
            of("called http_get and got 3 results"),
            of("called sql_query and got 3 results")
        );
        assert_eq!(of("Cache HIT for key"), of("cache hit  for key"));
    }
}
