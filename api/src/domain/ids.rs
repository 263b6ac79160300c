//! Document ids: short nanoid strings made by the server, or supplied by a client.

/// Length of server-generated ids.
pub const GENERATED_ID_LEN: usize = 10;
/// Longest id a client may supply.
pub const MAX_ID_LEN: usize = 64;

const ALPHABET: [char; 62] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i',
    'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'A', 'B',
    'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', 'P', 'Q', 'R', 'S', 'T', 'U',
    'V', 'W', 'X', 'Y', 'Z',
];

/// A new 10-character id (alphanumeric, ~59 bits of randomness).
pub fn generate() -> String {
    nanoid::nanoid!(GENERATED_ID_LEN, &ALPHABET)
}

/// Ids for the logs of one batch made by the server: `{key}-{i}` with one
/// fresh [`generate`]d key, so a log's id names the blocks that hold it
/// (see `store::surreal::logs`).
pub fn batch_ids(n: usize) -> Vec<String> {
    let key = generate();
    (0..n).map(|i| format!("{key}-{i}")).collect()
}

/// The batch key of an id shaped as [`batch_ids`] makes them
/// (`{10 letters or digits}-{1 to 5 digits}`).
pub fn batch_key(id: &str) -> Option<&str> {
    let (key, index) = id.split_once('-')?;
    let key_ok = key.len() == GENERATED_ID_LEN && key.bytes().all(|b| b.is_ascii_alphanumeric());
    let index_ok = (1..=5).contains(&index.len()) && index.bytes().all(|b| b.is_ascii_digit());
    (key_ok && index_ok).then_some(key)
}

/// Whether a client-supplied id is acceptable: 1..=64 ASCII letters,
/// digits, `_` or `-`.
pub fn is_valid(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_valid_and_distinct() {
        let a = generate();
        let b = generate();
        assert_eq!(a.len(), GENERATED_ID_LEN);
        assert!(is_valid(&a));
        assert_ne!(a, b);
    }

    #[test]
    fn batch_ids_share_a_key_that_is_read_back() {
        let ids = batch_ids(3);
        let key = batch_key(&ids[0]).unwrap();
        assert!(ids
            .iter()
            .all(|id| batch_key(id) == Some(key) && is_valid(id)));
        assert_eq!(ids[2], format!("{key}-2"));
        for other in [
            "plain",
            "abcdefghij-",
            "abcdefghij-123456",
            "abcdefghi-1",
            "abcdefghij-1x",
        ] {
            assert_eq!(batch_key(other), None, "{other}");
        }
    }

    #[test]
    fn rejects_odd_ids() {
        for bad in ["", "a b", "agent:x", "x'y", "é", &"a".repeat(65)] {
            assert!(!is_valid(bad), "{bad:?} accepted");
        }
        assert!(is_valid("my-agent_01"));
    }
}
