//! Applying `schema.surql`: namespace and database creation, the schema
//! itself, and the schema version it records.

use serde_json::json;
use surrealdb::engine::any::Any;
use surrealdb::Surreal;

use super::StoreError;

/// The schema statements, one definition for every mode.
pub const SCHEMA: &str = include_str!("schema.surql");
/// Bumped whenever `schema.surql` changes incompatibly. 2: no per-log
/// `emits` edge (provisioning a version 1 database removes it). 3: the
/// `embed_queue` table (logs and thoughts embedded off the request path)
/// and the OpenTelemetry ingest's `otel_span` / `otel_pending`. 4: auth
/// and anomaly scores. 5: scores indexed in `log_score`. 6: agents and
/// tasks listed newest first by a forward index scan (`newest`), COUNT
/// indexes for agent, task and thought totals, no `thought_id` index on logs.
/// 7: logs stored in blocks (`store/surreal/logs.rs`), moved from `log` by
/// provisioning. 8: the OTLP inbox (`otel_inbox`; exports acknowledged once
/// journaled) and agents and tasks in the embedding queue. 9: an inbox
/// entry's items kept apart from it (`otel_inbox_body`). 10: indexes for
/// retention (thoughts by creation, tasks by last update) and for a
/// trace's logs outside tasks (`log_block_agent_task`). 11: full-text
/// search (`log_text`, `thought_text`, written from `text_queue`). 12:
/// `log_block.shard`, a constant leading the time indexes of listings with
/// no agent, task or level. 13: no graph edge tables (`runs`, `thinks`,
/// `leads_to`; traces follow indexed fields), and OTLP span bookkeeping
/// per trace per round (`otel_trace`) instead of per span (`otel_span`).
pub const SCHEMA_VERSION: u64 = 13;

/// Names that may be used as namespace/database identifiers.
pub fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn check_identifiers(namespace: &str, database: &str) -> Result<(), StoreError> {
    for (what, name) in [("namespace", namespace), ("database", database)] {
        if !is_identifier(name) {
            return Err(StoreError::Backend(format!(
                "invalid SurrealDB {what} name {name:?}: use letters, digits and '_'"
            )));
        }
    }
    Ok(())
}

/// Select the namespace and database on this connection.
pub async fn select(db: &Surreal<Any>, namespace: &str, database: &str) -> Result<(), StoreError> {
    check_identifiers(namespace, database)?;
    db.use_ns(namespace)
        .use_db(database)
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    Ok(())
}

/// SurrealDB 3 creates no namespace or database on first use: define them,
/// then select them on this connection.
pub async fn ensure_database(
    db: &Surreal<Any>,
    namespace: &str,
    database: &str,
) -> Result<(), StoreError> {
    check_identifiers(namespace, database)?;
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
/// An unprovisioned database (even one whose namespace does not exist yet)
/// has no version.
pub async fn recorded_version(db: &Surreal<Any>) -> Result<Option<u64>, StoreError> {
    let result = db
        .query("RETURN vectadb_meta:schema.version;")
        .await
        .and_then(|mut response| response.take::<surrealdb::types::Value>(0));
    match result {
        Ok(value) => Ok(value.into_json_value().as_u64()),
        Err(e) if e.message().contains("does not exist") => Ok(None),
        Err(e) => Err(StoreError::Unavailable(e.to_string())),
    }
}

/// What start-up does about the schema version it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaAction {
    /// Apply the schema (embedded stores, at or below our version).
    Provision,
    /// Use the store as it is.
    Use,
}

/// The schema a server can run against: its own version, provisioned on
/// the spot when embedded; anything else is refused with what to do.
pub fn schema_action(found: Option<u64>, embedded: bool) -> Result<SchemaAction, SchemaMismatch> {
    match found {
        Some(v) if v > SCHEMA_VERSION => Err(SchemaMismatch { found }),
        _ if embedded => Ok(SchemaAction::Provision),
        Some(v) if v == SCHEMA_VERSION => Ok(SchemaAction::Use),
        _ => Err(SchemaMismatch { found }),
    }
}

/// The store's schema is not the one this server knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct SchemaMismatch {
    pub found: Option<u64>,
}

impl SchemaMismatch {
    fn describe(&self) -> String {
        match self.found {
            None => format!(
                "the database has no VectaDB schema (this server needs schema version {SCHEMA_VERSION}); \
                 run `vectadb provision` with the same SURREAL_* settings first"
            ),
            Some(v) if v < SCHEMA_VERSION => format!(
                "the database has schema version {v} but this server needs version {SCHEMA_VERSION}; \
                 run `vectadb provision` with the same SURREAL_* settings to upgrade it"
            ),
            Some(v) => format!(
                "the database has schema version {v}, newer than version {SCHEMA_VERSION} that this server knows; \
                 run a VectaDB release that knows schema version {v}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_stores_are_provisioned_unless_newer() {
        assert_eq!(schema_action(None, true), Ok(SchemaAction::Provision));
        assert_eq!(
            schema_action(Some(SCHEMA_VERSION), true),
            Ok(SchemaAction::Provision)
        );
        assert!(schema_action(Some(SCHEMA_VERSION + 1), true).is_err());
    }

    #[test]
    fn remote_stores_must_already_have_our_version() {
        assert_eq!(
            schema_action(Some(SCHEMA_VERSION), false),
            Ok(SchemaAction::Use)
        );
        let none = schema_action(None, false).unwrap_err().to_string();
        assert!(none.contains("vectadb provision"), "{none}");
        let newer = schema_action(Some(SCHEMA_VERSION + 1), false)
            .unwrap_err()
            .to_string();
        assert!(
            newer.contains(&format!("version {}", SCHEMA_VERSION + 1)),
            "{newer}"
        );
        assert!(
            newer.contains(&format!("version {SCHEMA_VERSION}")),
            "{newer}"
        );
    }

    #[test]
    fn older_remote_schema_names_both_versions_and_the_fix() {
        let older = SchemaMismatch { found: Some(0) }.to_string();
        assert!(
            older.contains("version 0") && older.contains(&format!("version {SCHEMA_VERSION}"))
        );
        assert!(older.contains("vectadb provision"));
    }
}
