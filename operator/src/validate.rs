//! Checks the API server's schema cannot express (or that an older CRD may
//! not have enforced): each problem names the field and says what to do.

use crate::crd::{VectaDB, VectaDBSpec, DEFAULT_MODEL, DEFAULT_VECTOR_SIZE};
use kube::ResourceExt;

/// Longest resource name whose derived object names all stay valid DNS
/// labels (`<name>-surrealdb-headless` ≤ 63 characters) and leave room
/// for StatefulSet pod suffixes.
pub const MAX_NAME_LEN: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// e.g. `spec.api.minReplicas`.
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The models the API image carries, with their output size.
pub fn model_dimension(model: &str) -> Option<i32> {
    (model == DEFAULT_MODEL || model == "all-MiniLM-L6-v2").then_some(DEFAULT_VECTOR_SIZE)
}

/// Every problem with `db`, in field order; empty when it can be deployed.
pub fn validate(db: &VectaDB) -> Vec<SpecError> {
    let mut errors = Vec::new();
    let mut fail = |field: &str, message: String| {
        errors.push(SpecError {
            field: field.into(),
            message,
        })
    };
    let name = db.name_any();
    if name.len() > MAX_NAME_LEN {
        fail(
            "metadata.name",
            format!(
                "{name:?} is {} characters; at most {MAX_NAME_LEN} leave room for the names of the objects made from it",
                name.len()
            ),
        );
    }
    let spec: &VectaDBSpec = &db.spec;
    for (field, value) in [
        ("spec.surrealdb.image", &spec.surrealdb.image),
        ("spec.qdrant.image", &spec.qdrant.image),
        ("spec.api.image", &spec.api.image),
    ] {
        if value.trim().is_empty() {
            fail(field, "must name a container image".into());
        }
    }
    for (field, value) in [
        ("spec.surrealdb.namespace", &spec.surrealdb.namespace),
        ("spec.surrealdb.database", &spec.surrealdb.database),
    ] {
        // The rule the store applies when it selects them.
        if !vectadb::store::schema::is_identifier(value) {
            fail(
                field,
                format!("{value:?} must be letters, digits and underscores (at most 64)"),
            );
        }
    }
    for (field, value) in [
        (
            "spec.surrealdb.storage.size",
            &spec.surrealdb.storage.size.0,
        ),
        ("spec.qdrant.storage.size", &spec.qdrant.storage.size.0),
    ] {
        if !is_storage_quantity(value) {
            fail(
                field,
                format!("{value:?} is not a storage size such as 10Gi or 500Mi"),
            );
        }
    }
    if spec.qdrant.replicas < 1 {
        fail(
            "spec.qdrant.replicas",
            format!("{} must be at least 1", spec.qdrant.replicas),
        );
    }
    let collections = [
        ("agents", &spec.collections.agents),
        ("tasks", &spec.collections.tasks),
        ("logs", &spec.collections.logs),
        ("thoughts", &spec.collections.thoughts),
    ];
    for (i, (kind, value)) in collections.iter().enumerate() {
        let field = format!("spec.collections.{kind}");
        if !is_collection_name(value) {
            fail(
                &field,
                format!("{value:?} must be 1-255 letters, digits, '-' or '_'"),
            );
        }
        // Each name once, reported on the later field.
        if let Some((earlier, _)) = collections[..i].iter().find(|(_, other)| other == value) {
            fail(
                &field,
                format!(
                    "{value:?} is also the {earlier} collection; {earlier} and {kind} need a collection each"
                ),
            );
        }
    }
    match model_dimension(&spec.embedding.model) {
        None => fail(
            "spec.embedding.model",
            format!(
                "{:?} is not a model the API image carries; use {DEFAULT_MODEL}",
                spec.embedding.model
            ),
        ),
        Some(dim) if dim != spec.collections.vector_size => fail(
            "spec.collections.vectorSize",
            format!(
                "{} does not match {} ({dim}-dimensional vectors)",
                spec.collections.vector_size, spec.embedding.model
            ),
        ),
        Some(_) => {}
    }
    if spec.api.min_replicas < 1 {
        fail(
            "spec.api.minReplicas",
            format!("{} must be at least 1", spec.api.min_replicas),
        );
    }
    if spec.api.min_replicas > spec.api.max_replicas {
        fail(
            "spec.api.minReplicas",
            format!(
                "{} exceeds spec.api.maxReplicas ({})",
                spec.api.min_replicas, spec.api.max_replicas
            ),
        );
    }
    if !(1..=100).contains(&spec.api.target_cpu_utilization_percentage) {
        fail(
            "spec.api.targetCPUUtilizationPercentage",
            format!(
                "{} must be between 1 and 100",
                spec.api.target_cpu_utilization_percentage
            ),
        );
    }
    if let Some(secret) = &spec.auth.secret {
        if !is_object_name(secret) {
            fail(
                "spec.auth.secret",
                format!("{secret:?} is not a Secret name (lower-case letters, digits, '-' and '.', at most 253)"),
            );
        }
    }
    let username = &spec.auth.admin_username;
    if !is_username(username) {
        fail(
            "spec.auth.adminUsername",
            format!("{username:?} must be 1-64 characters without spaces or control characters"),
        );
    }
    errors
}

/// A DNS subdomain, as Secret names are (`team-vectadb.auth`).
fn is_object_name(value: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (1..=253).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && edge(value.chars().next())
        && edge(value.chars().last())
}

/// A name the admin can type at the sign-in form as it is set.
fn is_username(value: &str) -> bool {
    (1..=64).contains(&value.chars().count())
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn is_collection_name(value: &str) -> bool {
    (1..=255).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A Kubernetes quantity with a binary or decimal suffix, e.g. `10Gi`.
fn is_storage_quantity(value: &str) -> bool {
    const SUFFIXES: [&str; 13] = [
        "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "k", "M", "G", "T", "P", "E", "",
    ];
    SUFFIXES.iter().any(|suffix| {
        value.strip_suffix(suffix).is_some_and(|number| {
            let mut parts = number.splitn(2, '.');
            let whole = parts.next().unwrap_or("");
            let fraction = parts.next();
            !whole.is_empty()
                && whole.chars().all(|c| c.is_ascii_digit())
                && fraction.is_none_or(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_digit()))
                && number.chars().any(|c| c != '0' && c != '.')
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_and_usernames() {
        for good in ["vectadb-auth", "a", "team.vectadb-auth2", "0x"] {
            assert!(is_object_name(good), "{good}");
        }
        for bad in [
            "",
            "Auth",
            "-auth",
            "auth-",
            "auth_secret",
            "a b",
            "a".repeat(254).as_str(),
        ] {
            assert!(!is_object_name(bad), "{bad}");
        }
        for good in ["admin", "ops@example.com", "Zoë"] {
            assert!(is_username(good), "{good}");
        }
        for bad in ["", "two words", " admin", "tab\t", "a".repeat(65).as_str()] {
            assert!(!is_username(bad), "{bad}");
        }
    }

    #[test]
    fn storage_quantities() {
        for good in ["10Gi", "500Mi", "1.5Ti", "1000000", "2G"] {
            assert!(is_storage_quantity(good), "{good}");
        }
        for bad in ["", "Gi", "ten", "10 Gi", "10GB", "-1Gi", "0", "1.Gi"] {
            assert!(!is_storage_quantity(bad), "{bad}");
        }
    }
}
