//! all-MiniLM-L6-v2 sentence embeddings computed in-process with fastembed on ONNX Runtime,
//! loaded from local files (no hub download): mean pooling over the attention mask,
//! inputs truncated to [`MAX_TOKENS`] word pieces, L2-normalised 384-float vectors.
//! The ONNX Runtime shared library is loaded explicitly with `ort::init_from`, once per process.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use fastembed::{
    AutoDevicePolicy, InitOptionsUserDefined, Pooling, TextEmbedding, TokenizerFiles,
    UserDefinedEmbeddingModel,
};
use ort::environment::Environment;

use super::{EmbedError, Embedder};

/// Inputs are truncated to this many word pieces, `[CLS]` and `[SEP]` included. This is the
/// `max_seq_length` sentence-transformers uses for all-MiniLM-L6-v2; fastembed's own default
/// would be 512 (`text_embedding/mod.rs`, `DEFAULT_MAX_LENGTH`).
pub const MAX_TOKENS: usize = 256;

/// The files fastembed needs, all read from the model directory.
const MODEL_FILE: &str = "model.onnx";
const TOKENIZER_FILE: &str = "tokenizer.json";
const CONFIG_FILE: &str = "config.json";
const SPECIAL_TOKENS_FILE: &str = "special_tokens_map.json";
const TOKENIZER_CONFIG_FILE: &str = "tokenizer_config.json";

const FETCH_HINT: &str = "run python3 scripts/fetch-models.py";

/// How the model multiplies by its weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// The model as published, in batches (the Python proof of concept's
    /// vectors). The default.
    F32,
    /// Integer kernels ([`super::int8_matmul`]): faster and smaller, vectors
    /// within a few percent (cosine) of f32; one text per inference call,
    /// so a text's vector does not depend on its batch.
    Int8,
}

impl std::str::FromStr for Precision {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim().to_ascii_lowercase().as_str() {
            "int8" => Ok(Precision::Int8),
            "f32" => Ok(Precision::F32),
            _ => Err("expected int8 or f32".into()),
        }
    }
}

/// The all-MiniLM-L6-v2 embedder. Cheap to share behind an `Arc`; inference runs on the
/// blocking thread pool, one batch at a time (the ONNX session needs `&mut`).
pub struct MiniLm {
    model: Arc<Mutex<TextEmbedding>>,
    dimension: usize,
    fingerprint: String,
    batch_size: usize,
    intra_threads: usize,
    precision: Precision,
}

impl std::fmt::Debug for MiniLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLm")
            .field("dimension", &self.dimension)
            .field("batch_size", &self.batch_size)
            .field("intra_threads", &self.intra_threads)
            .field("precision", &self.precision)
            .finish_non_exhaustive()
    }
}

impl MiniLm {
    /// Loads the model from `model_dir` (`model.onnx`, `tokenizer.json`, `config.json`,
    /// `special_tokens_map.json`, `tokenizer_config.json`) on the ONNX Runtime library at
    /// `ort_dylib`, then embeds a probe text to learn the dimension. Blocking (reads ~23 MB
    /// and builds the session): call it at startup or from `spawn_blocking`.
    ///
    /// ONNX Runtime is loaded once per process: a later call with a different `ort_dylib`
    /// keeps using the library loaded first. With [`Precision::Int8`] texts run through the
    /// model one at a time whatever `batch_size` says.
    pub fn load(
        model_dir: &Path,
        ort_dylib: &Path,
        batch_size: usize,
        precision: Precision,
    ) -> Result<MiniLm, EmbedError> {
        if batch_size == 0 {
            return Err(EmbedError::Load("batch_size must be at least 1".into()));
        }
        if !model_dir.is_dir() {
            return Err(EmbedError::Load(format!(
                "model directory {} not found: {FETCH_HINT}",
                model_dir.display()
            )));
        }
        let model_path = model_dir.join(MODEL_FILE);
        let onnx_file = read_model_file(&model_path)?;
        let tokenizer_files = TokenizerFiles {
            tokenizer_file: read_model_file(&model_dir.join(TOKENIZER_FILE))?,
            config_file: read_model_file(&model_dir.join(CONFIG_FILE))?,
            special_tokens_map_file: read_model_file(&model_dir.join(SPECIAL_TOKENS_FILE))?,
            tokenizer_config_file: read_model_file(&model_dir.join(TOKENIZER_CONFIG_FILE))?,
        };

        let fingerprint = fingerprint(&onnx_file, &tokenizer_files, precision);
        // The same vectors from less memory (47 MB less for this model): see `int8_lookup`.
        let onnx_file = match super::int8_lookup::rewrite(&onnx_file) {
            Ok((rewritten, moved)) => {
                tracing::debug!(moved, "embedding lookups kept int8");
                rewritten
            }
            Err(e) => {
                tracing::warn!(error = %e, "the model's lookups are loaded as published");
                onnx_file
            }
        };
        let (onnx_file, batch_size) = match precision {
            Precision::F32 => (onnx_file, batch_size),
            Precision::Int8 => match super::int8_matmul::rewrite(&onnx_file) {
                Ok((rewritten, handed)) => {
                    tracing::debug!(handed, "weight products on integer kernels");
                    (rewritten, 1)
                }
                Err(e) => {
                    // The vectors would then not be the ones the fingerprint names.
                    return Err(EmbedError::Load(format!(
                        "{} could not be prepared for EMBED_PRECISION=int8 ({e}); EMBED_PRECISION=f32 loads it as published",
                        model_path.display()
                    )));
                }
            },
        };
        let environment = ort_environment(ort_dylib)?;
        let intra_threads = default_intra_threads();
        let mut options = InitOptionsUserDefined::new()
            .with_max_length(MAX_TOKENS)
            .with_intra_threads(intra_threads)
            // No spinning: idle ONNX threads should not steal CPU from the database.
            .with_session_config("session.intra_op.allow_spinning", "0")
            // Never let ONNX Runtime pick an accelerator by itself (CoreML on macOS): CPU
            // results are the ones the parity test pins.
            .with_auto_device(AutoDevicePolicy::PreferCPU);
        if let Some(environment) = environment {
            options = options.with_environment(environment);
        }
        // As published, the model casts its int8 weights back to f32 inside the graph, so
        // batches of any size give the same vectors; with the int8 rewrite, texts run one at
        // a time. Either way QuantizationMode::None, the default, is right: fastembed's
        // Dynamic mode would put every text of a call into one batch instead.
        let user_model =
            UserDefinedEmbeddingModel::new(onnx_file, tokenizer_files).with_pooling(Pooling::Mean);
        let mut model =
            TextEmbedding::try_new_from_user_defined(user_model, options).map_err(|e| {
                EmbedError::Load(format!("{} could not be loaded: {e}", model_path.display()))
            })?;

        let probe = model
            .embed(["dimension probe"], None)
            .map_err(|e| EmbedError::Load(format!("probe embedding failed: {e}")))?;
        let dimension = probe.first().map(Vec::len).unwrap_or(0);
        if dimension == 0 {
            return Err(EmbedError::Load(format!(
                "{} produced an empty probe embedding",
                model_path.display()
            )));
        }

        Ok(MiniLm {
            model: Arc::new(Mutex::new(model)),
            dimension,
            fingerprint,
            batch_size,
            intra_threads,
            precision,
        })
    }

    /// The number of ONNX Runtime intra-op threads the session uses.
    pub fn intra_threads(&self) -> usize {
        self.intra_threads
    }

    /// The largest number of texts run through the model in one call.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// How the model multiplies by its weights.
    pub fn precision(&self) -> Precision {
        self.precision
    }
}

#[async_trait]
impl Embedder for MiniLm {
    fn dimension(&self) -> usize {
        self.dimension
    }

    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let model = Arc::clone(&self.model);
        let batch_size = self.batch_size;
        let dimension = self.dimension;
        tokio::task::spawn_blocking(move || {
            // Each batch is padded to its longest text: batches of texts of
            // similar length waste the least work on padding.
            let mut order: Vec<usize> = (0..texts.len()).collect();
            order.sort_by_key(|&i| texts[i].len());
            let mut vectors: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
            // The lock is taken per batch, so concurrent callers interleave batches
            // instead of waiting for a whole large request.
            for batch in order.chunks(batch_size) {
                let chunk: Vec<&str> = batch.iter().map(|&i| texts[i].as_str()).collect();
                // A panic inside a previous inference leaves the session usable.
                let mut model = model.lock().unwrap_or_else(PoisonError::into_inner);
                // fastembed mean-pools and L2-normalises (text_embedding/output.rs).
                let embedded = model
                    .embed(&chunk, Some(batch_size))
                    .map_err(|e| EmbedError::Inference(e.to_string()))?;
                drop(model);
                if embedded.len() != chunk.len() {
                    return Err(EmbedError::Inference(format!(
                        "model returned {} vectors for {} texts",
                        embedded.len(),
                        chunk.len()
                    )));
                }
                if let Some(bad) = embedded.iter().find(|v| v.len() != dimension) {
                    return Err(EmbedError::Inference(format!(
                        "model returned a {}-float vector, expected {dimension}",
                        bad.len()
                    )));
                }
                for (&i, vector) in batch.iter().zip(embedded) {
                    vectors[i] = vector;
                }
            }
            Ok(vectors)
        })
        .await
        .map_err(|e| EmbedError::Inference(format!("embedding task failed: {e}")))?
    }
}

/// SHA-256 of the model, its tokenizer files and the truncation length,
/// and the precision when it changes the vectors (int8).
fn fingerprint(onnx: &[u8], tokenizer: &TokenizerFiles, precision: Precision) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in [
        onnx,
        &tokenizer.tokenizer_file,
        &tokenizer.config_file,
        &tokenizer.special_tokens_map_file,
        &tokenizer.tokenizer_config_file,
    ] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    hash.update((MAX_TOKENS as u64).to_le_bytes());
    if precision == Precision::Int8 {
        hash.update(b"int8 products, one text per call");
    }
    format!("minilm-{:x}", hash.finalize())
}

fn read_model_file(path: &Path) -> Result<Vec<u8>, EmbedError> {
    std::fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            EmbedError::Load(format!(
                "model file {} not found: {FETCH_HINT}",
                path.display()
            ))
        } else {
            EmbedError::Load(format!(
                "model file {} could not be read: {e}",
                path.display()
            ))
        }
    })
}

/// One thread per two cores, at least one and at most four: on the 2-core target this is a
/// single inference thread, leaving the other core to the HTTP server and the stores.
fn default_intra_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores / 2).clamp(1, 4)
}

/// The process-wide ONNX Runtime environment, created on first use from `ort_dylib`.
///
/// `ort` allows one environment per process and refuses to build a second one even after the
/// first is dropped, so it is kept here for the life of the process. `Ok(None)` means some
/// other code already created the environment; fastembed then reuses its own default one.
fn ort_environment(ort_dylib: &Path) -> Result<Option<Environment>, EmbedError> {
    static ENVIRONMENT: Mutex<Option<Environment>> = Mutex::new(None);

    let mut slot = ENVIRONMENT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(environment) = slot.as_ref() {
        return Ok(Some(environment.clone()));
    }
    if !ort_dylib.is_file() {
        return Err(EmbedError::Load(format!(
            "ONNX Runtime library {} not found: {FETCH_HINT}",
            ort_dylib.display()
        )));
    }
    let dylib: PathBuf = ort_dylib
        .canonicalize()
        .unwrap_or_else(|_| ort_dylib.to_path_buf());
    let builder = ort::init_from(&dylib).map_err(|e| {
        EmbedError::Load(format!(
            "could not load ONNX Runtime from {}: {e}",
            dylib.display()
        ))
    })?;
    match builder.with_name("vectadb").with_telemetry(false).build() {
        Ok(environment) => {
            *slot = Some(environment.clone());
            Ok(Some(environment))
        }
        Err(e) if e.message().contains("only one environment") => Ok(None),
        Err(e) => Err(EmbedError::Load(format!(
            "could not create the ONNX Runtime environment ({}): {e}",
            dylib.display()
        ))),
    }
}
