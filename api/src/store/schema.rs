//! Applying `schema.surql`: namespace and database creation, the schema
//! itself, and the schema version it records.

use serde_json::json;
use surrealdb::engine::any::Any;
use surrealdb::Surreal;

use super::StoreError;

/// The schema statements, one definition for every mode.
pub const SCHEMA: &str = include_str!("schema.surql");
/// Bumped whenever `schema.surql` changes incompatibly.
pub const SCHEMA_VERSION: u64 = 1;

/// Names that may be used as namespace/database identifiers.
pub fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// SurrealDB 3 creates no namespace or database on first use: define them,
/// then select them on this connection.
pub async fn ensure_database(
    db: &Surreal<Any>,
    namespace: &str,
    database: &str,
) -> Result<(), StoreError> {
    for (what, name) in [("namespace", namespace), ("database", database)] {
        if !is_identifier(name) {
            return Err(StoreError::Backend(format!(
                "invalid SurrealDB {what} name {name:?}: use letters, digits and '_'"
            )));
        }
    }
    // Identifiers cannot be bound as parameters; both were checked above.
    let define = |sql: String| async move {
        db.query(sql)
            .await
            .and_then(|r| r.check())
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    };
    define(format!("DEFINE NAMESPACE IF NOT EXISTS `{namespace}`;")).await?;
    db.use_ns(namespace)
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    define(format!("DEFINE DATABASE IF NOT EXISTS `{database}`;")).await?;
    db.use_db(database)
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    Ok(())
}

/// Apply the schema (idempotent) and record its version.
pub async fn apply(db: &Surreal<Any>) -> Result<(), StoreError> {
    db.query(SCHEMA)
        .await
        .and_then(|r| r.check())
        .map_err(|e| StoreError::Backend(format!("applying schema: {e}")))?;
    db.query(
        "UPSERT vectadb_meta:schema SET version = $version, updated_at = time::now() RETURN NONE;",
    )
    .bind(json!({ "version": SCHEMA_VERSION }))
    .await
    .and_then(|r| r.check())
    .map_err(|e| StoreError::Backend(format!("recording schema version: {e}")))?;
    Ok(())
}

/// The schema version recorded in the selected database, if any.
pub async fn recorded_version(db: &Surreal<Any>) -> Result<Option<u64>, StoreError> {
    let mut response = db
        .query("RETURN (SELECT VALUE version FROM ONLY vectadb_meta:schema);")
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    let value: surrealdb::types::Value = response
        .take(0)
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok(value.into_json_value().as_u64())
}
