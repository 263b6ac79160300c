//! Secrets: random tokens, argon2id hashes, and the API key format
//! `vdb_<id>_<secret>` (the id is public and names the stored record; only
//! the argon2id hash of the whole key is kept).

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

pub const KEY_PREFIX: &str = "vdb_";
const KEY_ID_LEN: usize = 8;
const KEY_ID_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// `n` random bytes from the OS, URL-safe base64 without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}

/// A fresh key: its public id and the full key (shown once).
pub fn new_key() -> (String, String) {
    let mut raw = [0u8; KEY_ID_LEN];
    OsRng.fill_bytes(&mut raw);
    let id: String = raw
        .iter()
        .map(|b| KEY_ID_ALPHABET[*b as usize % KEY_ID_ALPHABET.len()] as char)
        .collect();
    let key = format!("{KEY_PREFIX}{id}_{}", random_token(32));
    (id, key)
}

/// The id of something shaped like an API key, `None` for anything else
/// (a JWT, say).
pub fn key_id(token: &str) -> Option<&str> {
    let rest = token.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == KEY_ID_LEN && !secret.is_empty()).then_some(id)
}

/// An argon2id hash (PHC string, random salt, the crate's default cost:
/// 19 MiB, 2 passes).
pub fn hash(secret: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .expect("argon2 with default parameters and a fresh salt cannot fail")
        .to_string()
}

/// Whether `secret` matches a PHC hash; a malformed hash matches nothing.
pub fn verify(secret: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_carry_their_id() {
        let (id, key) = new_key();
        let (other_id, other) = new_key();
        assert_ne!(key, other);
        assert_ne!(id, other_id);
        assert_eq!(key_id(&key), Some(id.as_str()));
        assert!(key.len() > 50, "{key}");
        assert_eq!(key_id("eyJhbGciOiJIUzI1NiJ9.x.y"), None);
        assert_eq!(key_id("vdb_short_x"), None);
    }

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let first = hash("correct horse");
        let second = hash("correct horse");
        assert!(first.starts_with("$argon2id$"), "{first}");
        assert_ne!(first, second, "salted");
        assert!(verify("correct horse", &first));
        assert!(!verify("correct horsE", &first));
        assert!(!verify("correct horse", "not a hash"));
    }
}
