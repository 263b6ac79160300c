//! Where API keys, admin users and revoked sessions are kept (the auth
//! module decides what they mean; this is storage only).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoreError;

/// A stored API key: never the key itself, only its argon2id hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredKey {
    /// The public part of the key (`vdb_<id>_…`), also its record id.
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub hash: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A user who may sign in to the admin UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredUser {
    pub username: String,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// Store a new key; `AlreadyExists` when its id is taken.
    async fn insert_key(&self, key: &StoredKey) -> Result<(), StoreError>;
    async fn get_key(&self, id: &str) -> Result<Option<StoredKey>, StoreError>;
    /// Every key, revoked ones included, oldest first.
    async fn list_keys(&self) -> Result<Vec<StoredKey>, StoreError>;
    /// Mark a key revoked (once: the first revocation time is kept).
    /// `false` when there is no such key.
    async fn revoke_key(&self, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Create or replace a user.
    async fn put_user(&self, user: &StoredUser) -> Result<(), StoreError>;
    async fn get_user(&self, username: &str) -> Result<Option<StoredUser>, StoreError>;
    /// Whether any key (even revoked) or user exists: a deployment with
    /// credentials set up must be authenticated against.
    async fn has_credentials(&self) -> Result<bool, StoreError>;
    /// Remember a session token as revoked until it would have expired
    /// (and forget revocations of tokens that have expired since).
    async fn revoke_session(&self, jti: &str, expires_at: DateTime<Utc>) -> Result<(), StoreError>;
    async fn session_revoked(&self, jti: &str) -> Result<bool, StoreError>;
}
