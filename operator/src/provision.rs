//! Provisioning a `VectaDB`'s SurrealDB and Qdrant servers with the very
//! code `vectadb provision` runs (`vectadb::app::provision_servers`), once
//! per schema version and collection layout.

use std::time::Duration;

use vectadb::app::{provision_servers, ServerTargets};
use vectadb::provisioned::Provisioned;
use vectadb::store::schema::SCHEMA_VERSION;
use vectadb::store::surreal::SurrealConfig;
use vectadb::vectors::CollectionNames;

use crate::crd::{ProvisionedStatus, VectaDB};
use crate::error::{Error, Result};
use crate::names::Names;
use crate::objects::secrets::Credentials;
use crate::objects::{qdrant, surrealdb, Cluster};

/// Where the operator reaches the servers it provisions.
#[derive(Debug, Clone)]
pub enum Endpoints {
    /// Their Services' cluster DNS names (the operator runs in the cluster).
    InCluster(Cluster),
    /// Fixed URLs (an operator run outside the cluster with the servers
    /// port-forwarded, and the tests).
    Fixed {
        surreal_url: String,
        qdrant_url: String,
    },
}

impl Endpoints {
    pub fn targets(
        &self,
        db: &VectaDB,
        credentials: &Credentials,
        timeout: Duration,
    ) -> ServerTargets {
        let names = Names::of(db);
        let (surreal_url, qdrant_url) = match self {
            Endpoints::InCluster(cluster) => (
                surrealdb::url(&names, cluster),
                qdrant::url(&names, cluster),
            ),
            Endpoints::Fixed {
                surreal_url,
                qdrant_url,
            } => (surreal_url.clone(), qdrant_url.clone()),
        };
        ServerTargets {
            surreal: SurrealConfig {
                url: surreal_url,
                namespace: db.spec.surrealdb.namespace.clone(),
                database: db.spec.surrealdb.database.clone(),
                username: Some(credentials.surreal_user.clone()),
                password: Some(credentials.surreal_pass.as_str().into()),
                timeout,
            },
            qdrant_url,
            qdrant_api_key: Some(credentials.qdrant_api_key.as_str().into()),
            collections: CollectionNames {
                agents: db.spec.collections.agents.clone(),
                tasks: db.spec.collections.tasks.clone(),
                logs: db.spec.collections.logs.clone(),
                thoughts: db.spec.collections.thoughts.clone(),
            },
            embedding_dim: usize::try_from(db.spec.collections.vector_size).unwrap_or_default(),
        }
    }
}

/// What provisioning must have put in place for `db`'s spec with this
/// release's schema.
pub fn wanted(db: &VectaDB) -> ProvisionedStatus {
    ProvisionedStatus {
        schema_version: SCHEMA_VERSION,
        surreal_namespace: db.spec.surrealdb.namespace.clone(),
        surreal_database: db.spec.surrealdb.database.clone(),
        agents_collection: db.spec.collections.agents.clone(),
        tasks_collection: db.spec.collections.tasks.clone(),
        logs_collection: db.spec.collections.logs.clone(),
        thoughts_collection: db.spec.collections.thoughts.clone(),
        vector_size: db.spec.collections.vector_size,
    }
}

/// Provisioning is needed unless the status records exactly `wanted`.
pub fn needed(db: &VectaDB) -> bool {
    db.status.as_ref().and_then(|s| s.provisioned.as_ref()) != Some(&wanted(db))
}

pub async fn run(targets: &ServerTargets) -> Result<Provisioned> {
    provision_servers(targets)
        .await
        .map_err(|e| Error::Provisioning(e.to_string()))
}
