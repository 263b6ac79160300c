//! Text embeddings: the trait the service uses, the MiniLM adapter, the
//! texts built from documents, log templates and the cache of vectors
//! already computed; `int8_lookup` keeps the model's embedding table int8
//! in memory and `int8_matmul` runs its products on integer kernels, both
//! by rewriting the model's graph (`onnx_proto`) when it loads.

pub mod cache;
pub mod int8_lookup;
pub mod int8_matmul;
pub mod minilm;
mod onnx_proto;
pub mod template;
pub mod text;

use async_trait::async_trait;

pub use onnx_proto::GraphError;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("embedding model could not be loaded: {0}")]
    Load(String),
    #[error("embedding failed: {0}")]
    Inference(String),
}

/// Turns texts into unit-length vectors of `dimension()` floats.
#[async_trait]
pub trait Embedder: Send + Sync {
    fn dimension(&self) -> usize;
    /// Names the model and its settings: two embedders with the same
    /// fingerprint give the same vector for the same text.
    fn fingerprint(&self) -> &str;
    /// Embed a batch; the result has one vector per input, in order.
    /// Implementations must not block the async executor.
    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EmbedError>;
}
