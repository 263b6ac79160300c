//! Secrets holding generated credentials, and the credentials the other
//! objects refer to.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::ByteString;

use crate::crd::VectaDB;
use crate::names::{owned_meta, Component, Names};

pub const SURREAL_USER_KEY: &str = "username";
pub const SURREAL_PASS_KEY: &str = "password";
pub const QDRANT_API_KEY_KEY: &str = "api-key";
pub const ADMIN_PASSWORD_KEY: &str = "admin-password";
pub const JWT_SECRET_KEY: &str = "jwt-secret";
/// The shortest session-signing key the API accepts (`JWT_SECRET`).
pub const MIN_JWT_SECRET_BYTES: usize = 32;
/// The root user a generated SurrealDB Secret names.
pub const GENERATED_SURREAL_USER: &str = "root";

/// Which Secrets hold the credentials, and their values (the operator
/// needs them to provision).
#[derive(Clone)]
pub struct Credentials {
    pub surreal_secret: String,
    pub surreal_user: String,
    pub surreal_pass: String,
    pub qdrant_secret: String,
    pub qdrant_api_key: String,
    /// Holds the API's admin password and session-signing key (the
    /// operator never needs their values).
    pub auth_secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("surreal_secret", &self.surreal_secret)
            .field("qdrant_secret", &self.qdrant_secret)
            .field("auth_secret", &self.auth_secret)
            .finish_non_exhaustive()
    }
}

/// A random secret value: 32 characters from a 62-letter alphabet
/// (~190 bits).
pub fn random_value() -> String {
    const ALPHABET: [char; 62] = [
        'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r',
        's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J',
        'K', 'L', 'M', 'N', 'O', 'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', '0', '1',
        '2', '3', '4', '5', '6', '7', '8', '9',
    ];
    nanoid::nanoid!(32, &ALPHABET)
}

/// `<name>-surrealdb-credentials` with a fresh random root password.
pub fn generated_surreal(db: &VectaDB) -> Secret {
    let names = Names::of(db);
    secret(
        db,
        names.surreal_credentials(),
        Component::SurrealDB,
        [
            (SURREAL_USER_KEY, GENERATED_SURREAL_USER.to_string()),
            (SURREAL_PASS_KEY, random_value()),
        ],
    )
}

/// `<name>-qdrant-api-key` with a fresh random key.
pub fn generated_qdrant(db: &VectaDB) -> Secret {
    let names = Names::of(db);
    secret(
        db,
        names.qdrant_api_key(),
        Component::Qdrant,
        [(QDRANT_API_KEY_KEY, random_value())],
    )
}

/// `<name>-auth` with a fresh random admin password and session-signing
/// key (32 characters each, the key's minimum).
pub fn generated_auth(db: &VectaDB) -> Secret {
    let names = Names::of(db);
    secret(
        db,
        names.auth_secret(),
        Component::Api,
        [
            (ADMIN_PASSWORD_KEY, random_value()),
            (JWT_SECRET_KEY, random_value()),
        ],
    )
}

fn secret<const N: usize>(
    db: &VectaDB,
    name: String,
    component: Component,
    data: [(&str, String); N],
) -> Secret {
    Secret {
        metadata: owned_meta(db, name, component),
        type_: Some("Opaque".into()),
        data: Some(
            data.into_iter()
                .map(|(k, v)| (k.to_string(), ByteString(v.into_bytes())))
                .collect::<BTreeMap<_, _>>(),
        ),
        ..Secret::default()
    }
}

/// A key of a Secret as text (`data`, else `stringData`).
pub fn value(secret: &Secret, key: &str) -> Option<String> {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .and_then(|v| String::from_utf8(v.0.clone()).ok())
        .or_else(|| {
            secret
                .string_data
                .as_ref()
                .and_then(|d| d.get(key).cloned())
        })
        .filter(|v| !v.is_empty())
}
