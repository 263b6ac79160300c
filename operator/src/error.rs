//! The one error type of the controller; `metric_label` names each kind
//! in `/metrics`.

use crate::validate::SpecError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    InvalidSpec(Vec<SpecError>),
    #[error("{field}: {message}")]
    Secret { field: String, message: String },
    #[error("provisioning SurrealDB and Qdrant: {0}")]
    Provisioning(String),
    #[error("serialising {what}: {source}")]
    Serialize {
        what: String,
        #[source]
        source: serde_json::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Kube(_) => "kube",
            Error::Finalizer(_) => "finalizer",
            Error::InvalidSpec(_) => "invalid_spec",
            Error::Secret { .. } => "secret",
            Error::Provisioning(_) => "provisioning",
            Error::Serialize { .. } => "serialize",
        }
    }
}
