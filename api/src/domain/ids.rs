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
    fn rejects_odd_ids() {
        for bad in ["", "a b", "agent:x", "x'y", "é", &"a".repeat(65)] {
            assert!(!is_valid(bad), "{bad:?} accepted");
        }
        assert!(is_valid("my-agent_01"));
    }
}
