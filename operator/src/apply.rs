//! Server-side apply that sends nothing when nothing changed: each object
//! carries a hash of what the operator last applied, and is applied again
//! only when the desired object hashes differently (or is missing).

use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, Resource, ResourceExt};
use serde::{de::DeserializeOwned, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::names::MANAGER;

/// Annotation holding the hash of the applied object.
pub const CONFIG_HASH: &str = "vectadb.io/config-hash";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Created,
    Updated,
    Unchanged,
}

/// The first 16 hex digits of SHA-256 over the object's JSON.
pub fn config_hash<K: Serialize>(object: &K, what: &str) -> Result<String> {
    let json = serde_json::to_vec(object).map_err(|source| Error::Serialize {
        what: what.into(),
        source,
    })?;
    let digest = Sha256::digest(&json);
    Ok(digest.iter().take(8).map(|b| format!("{b:02x}")).collect())
}

/// Make the live object match `desired` (server-side apply, field manager
/// `vectadb-operator`); returns the live object and what was done.
pub async fn ensure<K>(client: &Client, mut desired: K) -> Result<(K, Applied)>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + Debug
        + Serialize
        + DeserializeOwned,
{
    let name = desired.name_any();
    let namespace = desired.namespace().unwrap_or_default();
    let what = format!("{} {namespace}/{name}", K::kind(&()));
    let hash = config_hash(&desired, &what)?;
    desired
        .annotations_mut()
        .insert(CONFIG_HASH.into(), hash.clone());
    let api: Api<K> = Api::namespaced(client.clone(), &namespace);
    let live = api.get_opt(&name).await?;
    if let Some(live) = live.as_ref() {
        if live.annotations().get(CONFIG_HASH) == Some(&hash) {
            return Ok((live.clone(), Applied::Unchanged));
        }
    }
    let applied = api
        .patch(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&desired),
        )
        .await?;
    tracing::info!(object = %what, created = live.is_none(), "applied");
    let outcome = if live.is_some() {
        Applied::Updated
    } else {
        Applied::Created
    };
    Ok((applied, outcome))
}
