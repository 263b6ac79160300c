//! [`CredentialStore`] on SurrealDB: tables `api_key`, `account` and
//! `revoked_session` (schema version 4).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{decode, take_json, SurrealStore};
use crate::store::credentials::{CredentialStore, StoredKey, StoredUser};
use crate::store::StoreError;

const KEY_FIELDS: &str = "record::id(id) AS id, name, scopes, hash, created_at, revoked_at";

fn rows(value: Value) -> Vec<Value> {
    match value {
        Value::Array(rows) => rows,
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

#[async_trait]
impl CredentialStore for SurrealStore {
    async fn insert_key(&self, key: &StoredKey) -> Result<(), StoreError> {
        self.run_write(
            "CREATE type::record('api_key', $id) CONTENT {
                 name: $name, scopes: $scopes, hash: $hash,
                 created_at: <datetime>$created_at
             } RETURN NONE;",
            json!({
                "id": key.id, "name": key.name, "scopes": key.scopes, "hash": key.hash,
                "created_at": key.created_at.to_rfc3339(),
            }),
        )
        .await
        .map(|_| ())
        .map_err(|e| match e {
            StoreError::AlreadyExists { id, .. } => StoreError::AlreadyExists {
                table: "api_key",
                id,
            },
            other => other,
        })
    }

    async fn get_key(&self, id: &str) -> Result<Option<StoredKey>, StoreError> {
        let mut response = self
            .run(
                &format!("SELECT {KEY_FIELDS} FROM ONLY type::record('api_key', $id);"),
                json!({ "id": id }),
            )
            .await?;
        match take_json(&mut response, 0)? {
            Value::Null => Ok(None),
            row => decode("api_key", row).map(Some),
        }
    }

    async fn list_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let mut response = self
            .run(
                &format!("SELECT {KEY_FIELDS} FROM api_key ORDER BY created_at, id;"),
                json!({}),
            )
            .await?;
        rows(take_json(&mut response, 0)?)
            .into_iter()
            .map(|row| decode("api_key", row))
            .collect()
    }

    async fn revoke_key(&self, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut response = self
            .run_write(
                "UPDATE type::record('api_key', $id)
                     SET revoked_at = revoked_at ?? <datetime>$at RETURN record::id(id) AS id;",
                json!({ "id": id, "at": at.to_rfc3339() }),
            )
            .await?;
        Ok(!rows(take_json(&mut response, 0)?).is_empty())
    }

    async fn put_user(&self, user: &StoredUser) -> Result<(), StoreError> {
        self.run_write(
            "UPSERT type::record('account', $username) CONTENT {
                 password_hash: $hash, created_at: <datetime>$created_at
             } RETURN NONE;",
            json!({
                "username": user.username, "hash": user.password_hash,
                "created_at": user.created_at.to_rfc3339(),
            }),
        )
        .await
        .map(|_| ())
    }

    async fn get_user(&self, username: &str) -> Result<Option<StoredUser>, StoreError> {
        let mut response = self
            .run(
                "SELECT record::id(id) AS username, password_hash, created_at
                     FROM ONLY type::record('account', $username);",
                json!({ "username": username }),
            )
            .await?;
        match take_json(&mut response, 0)? {
            Value::Null => Ok(None),
            row => decode("account", row).map(Some),
        }
    }

    async fn has_credentials(&self) -> Result<bool, StoreError> {
        let mut response = self
            .run(
                "RETURN array::len((SELECT id FROM api_key LIMIT 1))
                     + array::len((SELECT id FROM account LIMIT 1));",
                json!({}),
            )
            .await?;
        Ok(take_json(&mut response, 0)?.as_u64().unwrap_or(0) > 0)
    }

    async fn revoke_session(&self, jti: &str, expires_at: DateTime<Utc>) -> Result<(), StoreError> {
        self.run_write(
            "DELETE revoked_session WHERE expires_at < time::now() RETURN NONE;
             UPSERT type::record('revoked_session', $jti)
                 SET expires_at = <datetime>$expires_at RETURN NONE;",
            json!({ "jti": jti, "expires_at": expires_at.to_rfc3339() }),
        )
        .await
        .map(|_| ())
    }

    async fn session_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        let mut response = self
            .run(
                "RETURN record::exists(type::record('revoked_session', $jti));",
                json!({ "jti": jti }),
            )
            .await?;
        Ok(take_json(&mut response, 0)? == Value::Bool(true))
    }
}
