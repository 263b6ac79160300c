//! The `VectaDB` custom resource (group `vectadb.io`, version `v1alpha1`):
//! its spec with defaults and schema bounds, and its status.

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The default API image: this release of VectaDB.
pub const DEFAULT_API_IMAGE: &str = concat!("vectadb/vectadb:", env!("CARGO_PKG_VERSION"));
/// The SurrealDB server release VectaDB is built and tested against.
pub const DEFAULT_SURREALDB_IMAGE: &str = "surrealdb/surrealdb:v3.3.5";
/// The Qdrant server release VectaDB is tested against.
pub const DEFAULT_QDRANT_IMAGE: &str = "qdrant/qdrant:v1.18.0";
/// The one embedding model VectaDB ships, and its vector size.
pub const DEFAULT_MODEL: &str = "sentence-transformers/all-MiniLM-L6-v2";
pub const DEFAULT_VECTOR_SIZE: i32 = 384;

/// A VectaDB deployment: SurrealDB, Qdrant, their schema and collections,
/// and the autoscaled API in front of them.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
// Each `printcolumn(...)` repeats `type_`, which clippy mistakes for a
// duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[kube(
    group = "vectadb.io",
    version = "v1alpha1",
    kind = "VectaDB",
    plural = "vectadbs",
    singular = "vectadb",
    shortname = "vdb",
    namespaced,
    status = "VectaDBStatus",
    doc = "A VectaDB deployment: SurrealDB, Qdrant, schema and collections, and the API.",
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.readyComponents",
        description = "Ready components out of SurrealDB, Qdrant and the API"
    ),
    printcolumn(
        name = "Endpoint",
        type_ = "string",
        json_path = ".status.endpoint",
        priority = "1"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct VectaDBSpec {
    #[serde(default)]
    pub surrealdb: SurrealSpec,
    #[serde(default)]
    pub qdrant: QdrantSpec,
    #[serde(default)]
    pub collections: CollectionsSpec,
    #[serde(default)]
    pub embedding: EmbeddingSpec,
    #[serde(default)]
    pub api: ApiSpec,
    #[serde(default)]
    pub auth: AuthSpec,
    #[serde(default)]
    pub retention: RetentionSpec,
    /// What happens to the volumes (and generated credentials) when the
    /// resource is deleted: `Retain` keeps them, `Delete` removes them.
    #[serde(default)]
    pub data_on_delete: DataOnDelete,
}

/// The SurrealDB server (documents and graph).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SurrealSpec {
    #[serde(default = "default_surreal_image")]
    #[schemars(length(min = 1))]
    pub image: String,
    #[serde(default)]
    pub storage: StorageSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// A Secret with keys `username` and `password` (root credentials);
    /// generated as `<name>-surrealdb-credentials` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub credentials_secret: Option<String>,
    /// The SurrealDB namespace and database VectaDB uses.
    #[serde(default = "default_surreal_namespace")]
    #[schemars(length(min = 1))]
    pub namespace: String,
    #[serde(default = "default_surreal_database")]
    #[schemars(length(min = 1))]
    pub database: String,
}

/// The Qdrant server (vectors).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct QdrantSpec {
    #[serde(default = "default_qdrant_image")]
    #[schemars(length(min = 1))]
    pub image: String,
    /// Qdrant nodes; more than one runs Qdrant in cluster mode.
    #[serde(default = "one")]
    #[schemars(range(min = 1))]
    pub replicas: i32,
    #[serde(default)]
    pub storage: StorageSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// A Secret with key `api-key`; generated as `<name>-qdrant-api-key`
    /// when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub api_key_secret: Option<String>,
}

/// A persistent volume per server pod.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StorageSpec {
    #[serde(default = "default_storage_size")]
    pub size: Quantity,
    /// Storage class; the cluster default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
}

/// The Qdrant collections VectaDB keeps its vectors in.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CollectionsSpec {
    #[serde(default = "default_agents_collection")]
    #[schemars(length(min = 1))]
    pub agents: String,
    #[serde(default = "default_tasks_collection")]
    #[schemars(length(min = 1))]
    pub tasks: String,
    /// Log entries, for semantic search over logs.
    #[serde(default = "default_logs_collection")]
    #[schemars(length(min = 1))]
    pub logs: String,
    /// Chain-of-thought steps, for semantic search over thoughts.
    #[serde(default = "default_thoughts_collection")]
    #[schemars(length(min = 1))]
    pub thoughts: String,
    /// Must equal the embedding model's output size.
    #[serde(default = "default_vector_size")]
    #[schemars(range(min = 1))]
    pub vector_size: i32,
    #[serde(default)]
    pub distance: Distance,
}

/// Similarity thresholds are cosine scores, so cosine is the one distance
/// the API can honour.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum Distance {
    #[default]
    Cosine,
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmbeddingSpec {
    /// The model the API embeds with (its files ship in the API image).
    #[serde(default = "default_model")]
    #[schemars(length(min = 1))]
    pub model: String,
}

/// The stateless API: a Deployment behind a Service, scaled by an HPA.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiSpec {
    #[serde(default = "default_api_image")]
    #[schemars(length(min = 1))]
    pub image: String,
    #[serde(default = "two")]
    #[schemars(range(min = 1))]
    pub min_replicas: i32,
    #[serde(default = "default_max_replicas")]
    #[schemars(range(min = 1))]
    pub max_replicas: i32,
    /// Average CPU utilisation (percent of requests) the HPA aims for.
    #[serde(
        default = "default_cpu_target",
        rename = "targetCPUUtilizationPercentage"
    )]
    #[schemars(range(min = 1, max = 100))]
    pub target_cpu_utilization_percentage: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    #[serde(default)]
    pub service_type: ServiceType,
}

/// Who may use the API. The API creates (or updates) the admin user at
/// start from the Secret's `admin-password`; that user signs in to the
/// console and creates API keys. Every API pod signs sessions with the
/// Secret's `jwt-secret`, so a session is good on any replica.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthSpec {
    /// A Secret with keys `admin-password` and `jwt-secret` (the
    /// session-signing key, at least 32 bytes); generated as `<name>-auth`
    /// when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub secret: Option<String>,
    /// The admin user's name.
    #[serde(default = "default_admin_username")]
    #[schemars(length(min = 1, max = 64))]
    pub admin_username: String,
    /// Count failed sign-ins per client by `X-Forwarded-For`: set it only
    /// when every request reaches the API through an ingress or load
    /// balancer that sets that header (otherwise a client could pick its
    /// own address and dodge the limit).
    #[serde(default)]
    pub trust_forwarded_for: bool,
}

/// How long the API keeps each kind of data (e.g. `30d`, `12h`, `2w`;
/// absent or `off`: forever). Expired data is deleted in the background
/// with its vectors (the API's `RETENTION_*` settings).
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetentionSpec {
    /// Logs, by their time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+[smhdw]|off)$"))]
    pub logs: Option<String>,
    /// Thoughts, after they were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+[smhdw]|off)$"))]
    pub thoughts: Option<String>,
    /// Tasks, after their last update, with their thoughts and logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+[smhdw]|off)$"))]
    pub tasks: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ServiceType {
    #[default]
    ClusterIP,
    NodePort,
    LoadBalancer,
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DataOnDelete {
    #[default]
    Retain,
    Delete,
}

/// Where a `VectaDB` stands, written by the operator.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VectaDBStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// SurrealDBReady, QdrantReady, SchemaProvisioned, APIReady and Ready.
    /// A map keyed by type for server-side apply: another field manager's
    /// condition of another type is kept beside the operator's.
    #[serde(default)]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// e.g. "2/3": ready components out of SurrealDB, Qdrant and the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_components: Option<String>,
    /// The API's in-cluster URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The Secret holding the admin user's password (`admin-password`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_secret: Option<String>,
    /// What provisioning last put in place (redone when this differs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned: Option<ProvisionedStatus>,
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionedStatus {
    pub schema_version: u64,
    pub surreal_namespace: String,
    pub surreal_database: String,
    pub agents_collection: String,
    pub tasks_collection: String,
    // Absent from statuses an older operator wrote (which then no longer
    // match, so provisioning runs again); required, they would make those
    // resources unreadable.
    #[serde(default)]
    pub logs_collection: String,
    #[serde(default)]
    pub thoughts_collection: String,
    pub vector_size: i32,
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum Phase {
    /// The spec cannot be satisfied as written (see the Ready condition).
    Invalid,
    /// Waiting for SurrealDB and Qdrant to be ready.
    Pending,
    /// Backends ready; schema and collections being provisioned.
    Provisioning,
    /// Provisioned; waiting for the API.
    Deploying,
    Ready,
    /// Something failed and is being retried (see the conditions).
    Failed,
    /// Deleted; cleaning up per `dataOnDelete`.
    Terminating,
}

impl Default for SurrealSpec {
    fn default() -> Self {
        Self {
            image: default_surreal_image(),
            storage: StorageSpec::default(),
            resources: None,
            credentials_secret: None,
            namespace: default_surreal_namespace(),
            database: default_surreal_database(),
        }
    }
}

impl Default for QdrantSpec {
    fn default() -> Self {
        Self {
            image: default_qdrant_image(),
            replicas: 1,
            storage: StorageSpec::default(),
            resources: None,
            api_key_secret: None,
        }
    }
}

impl Default for StorageSpec {
    fn default() -> Self {
        Self {
            size: default_storage_size(),
            storage_class_name: None,
        }
    }
}

impl Default for CollectionsSpec {
    fn default() -> Self {
        Self {
            agents: default_agents_collection(),
            tasks: default_tasks_collection(),
            logs: default_logs_collection(),
            thoughts: default_thoughts_collection(),
            vector_size: DEFAULT_VECTOR_SIZE,
            distance: Distance::Cosine,
        }
    }
}

impl Default for EmbeddingSpec {
    fn default() -> Self {
        Self {
            model: default_model(),
        }
    }
}

impl Default for ApiSpec {
    fn default() -> Self {
        Self {
            image: default_api_image(),
            min_replicas: 2,
            max_replicas: default_max_replicas(),
            target_cpu_utilization_percentage: default_cpu_target(),
            resources: None,
            service_type: ServiceType::ClusterIP,
        }
    }
}

impl Default for AuthSpec {
    fn default() -> Self {
        Self {
            secret: None,
            admin_username: default_admin_username(),
            trust_forwarded_for: false,
        }
    }
}

fn default_surreal_image() -> String {
    DEFAULT_SURREALDB_IMAGE.into()
}
fn default_qdrant_image() -> String {
    DEFAULT_QDRANT_IMAGE.into()
}
fn default_api_image() -> String {
    DEFAULT_API_IMAGE.into()
}
fn default_surreal_namespace() -> String {
    "vectadb".into()
}
fn default_surreal_database() -> String {
    "main".into()
}
fn default_storage_size() -> Quantity {
    Quantity("10Gi".into())
}
fn default_agents_collection() -> String {
    "agents".into()
}
fn default_tasks_collection() -> String {
    "tasks".into()
}
fn default_logs_collection() -> String {
    "logs".into()
}
fn default_thoughts_collection() -> String {
    "thoughts".into()
}
fn default_vector_size() -> i32 {
    DEFAULT_VECTOR_SIZE
}
fn default_model() -> String {
    DEFAULT_MODEL.into()
}
fn default_admin_username() -> String {
    "admin".into()
}
fn default_max_replicas() -> i32 {
    10
}
fn default_cpu_target() -> i32 {
    70
}
fn one() -> i32 {
    1
}
fn two() -> i32 {
    2
}

/// The CRD as YAML, exactly what `crdgen` prints and `crds/` holds.
pub fn crd_yaml() -> String {
    use kube::CustomResourceExt;
    let crd = VectaDB::crd();
    format!(
        "# Generated by `cargo run -p vectadb-operator --bin crdgen`; do not edit.\n{}",
        serde_yaml::to_string(&crd).expect("a CRD serialises to YAML")
    )
}
