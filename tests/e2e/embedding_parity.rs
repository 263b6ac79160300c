//! Embedding parity: the Rust MiniLM adapter against Python onnxruntime + tokenizers run on
//! the same model.onnx and tokenizer.json (tests/parity/reference_vectors.py), plus a ranking
//! sanity check. Needs the models (python3 scripts/fetch-models.py) and a Python with the
//! packages of tests/parity/requirements.txt, chosen with VECTADB_TEST_PYTHON (default
//! `python3`); when either is missing the tests fail, they never skip.

use std::io::Write;
use std::path::{Path, PathBuf};

use std::process::{Command, Stdio};
use vectadb_tests::{models_dir, repo_root};

use anyhow::{bail, ensure, Context, Result};
use vectadb::embed::{
    minilm::{MiniLm, Precision, MAX_TOKENS},
    Embedder,
};

const DIMENSION: usize = 384;
const MIN_COSINE: f32 = 0.9999;
/// How close `EMBED_PRECISION=int8` stays to the model as published, per
/// text and on average (its activations are quantised to 8 bits; measured
/// 0.972 and 0.989 on an AVX2 machine without VNNI).
const INT8_MIN_COSINE: f32 = 0.965;
const INT8_MEAN_COSINE: f32 = 0.985;
/// Small enough that the parity sentences span several model calls.
const BATCH_SIZE: usize = 4;

/// The ONNX Runtime library fetch-models.py puts next to the model (`libonnxruntime.so.<ver>`).
fn ort_dylib(models: &Path) -> Result<PathBuf> {
    let entries = std::fs::read_dir(models).with_context(|| {
        format!(
            "models directory {} not found: run python3 scripts/fetch-models.py",
            models.display()
        )
    })?;
    let mut candidates: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|name| {
                    name.starts_with("libonnxruntime.so")
                        || (name.starts_with("libonnxruntime") && name.ends_with(".dylib"))
                        || name == "onnxruntime.dll"
                })
        })
        .collect();
    candidates.sort();
    candidates.pop().with_context(|| {
        format!(
            "no ONNX Runtime library (libonnxruntime.so*) in {}: run python3 scripts/fetch-models.py",
            models.display()
        )
    })
}

async fn load_model(batch_size: usize, precision: Precision) -> Result<MiniLm> {
    let models = models_dir();
    let dylib = ort_dylib(&models)?;
    let model_dir = models.join("all-MiniLM-L6-v2");
    tokio::task::spawn_blocking(move || MiniLm::load(&model_dir, &dylib, batch_size, precision))
        .await
        .context("model loading task failed")?
        .context("loading all-MiniLM-L6-v2")
}

/// Runs tests/parity/reference_vectors.py on `sentences` and returns its vectors.
fn python_reference(sentences: &[String]) -> Result<Vec<Vec<f32>>> {
    let python = std::env::var("VECTADB_TEST_PYTHON")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "python3".to_string());
    let script = repo_root().join("tests/parity/reference_vectors.py");
    let requirements = repo_root().join("tests/parity/requirements.txt");
    let setup_hint = format!(
        "the parity test needs a Python with onnxruntime, tokenizers and numpy: \
         python3 -m venv /tmp/parity-venv && /tmp/parity-venv/bin/pip install -r {} \
         and then VECTADB_TEST_PYTHON=/tmp/parity-venv/bin/python",
        requirements.display()
    );

    let mut child = Command::new(&python)
        .arg(&script)
        .arg("--model-dir")
        .arg(models_dir().join("all-MiniLM-L6-v2"))
        .arg("--max-length")
        .arg(MAX_TOKENS.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start Python interpreter `{python}`; {setup_hint}"))?;
    let input = serde_json::to_vec(sentences)?;
    child
        .stdin
        .take()
        .context("python stdin")?
        .write_all(&input)
        .context("writing the sentences to the Python script")?;
    let output = child
        .wait_with_output()
        .with_context(|| format!("waiting for `{python} {}`", script.display()))?;
    if !output.status.success() {
        bail!(
            "`{python} {}` failed ({}):\n{}\n{setup_hint}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "the Python script printed something that is not a JSON list of vectors: {:.300}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    (dot / (na * nb)) as f32
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

/// Well over MAX_TOKENS (and over 512) word pieces, so truncation is exercised.
fn long_text() -> String {
    (1..=60)
        .map(|i| format!("Step {i}: the agent observed the tool output and revised its plan."))
        .collect::<Vec<_>>()
        .join(" ")
}

fn parity_sentences() -> Vec<String> {
    [
        "The quick brown fox jumps over the lazy dog.",
        "Agent planner-7 started task 42: summarise the quarterly revenue report.",
        "Ünïcödé: naïve café, Straße, Ελληνικά, русский текст, 日本語のテキスト, 中文句子, emoji 🚀🔥",
        "ok",
        "",
        "Wait... what?! (yes) -- no; \"double\" 'single' [brackets] {braces} <tag/> #hash @user $5.00 100% a/b\\c ~ `code`",
        "Special tokens like [SEP], [CLS] and [cls] in user text must not confuse the tokenizer.",
        "Role: researcher\nGoal: analyze data patterns\nSkills: machine learning, statistics",
        "ERROR 2024-05-01T12:00:00Z tool_call failed: TimeoutError(30s) in fetch_url(https://example.com/api?q=1&x=2)",
        "{\"thought\": \"I should call the search tool first\", \"confidence\": 0.87}",
        "   leading and trailing whitespace\twith\ttabs\n\nand blank lines   ",
    ]
    .into_iter()
    .map(String::from)
    .chain(std::iter::once(long_text()))
    .collect()
}

#[tokio::test]
async fn minilm_matches_python_onnxruntime() -> Result<()> {
    let sentences = parity_sentences();
    // Fail on a broken Python setup before spending time on the model.
    let reference = python_reference(&sentences)?;
    let model = load_model(BATCH_SIZE, Precision::F32).await?;
    ensure!(
        model.dimension() == DIMENSION,
        "Rust dimension is {}, expected {DIMENSION}",
        model.dimension()
    );

    let started = std::time::Instant::now();
    let ours = model.embed(sentences.clone()).await?;
    let elapsed = started.elapsed();
    eprintln!(
        "embedded {} texts in {elapsed:?} ({:?} per text, batch size {BATCH_SIZE}, {} intra-op threads)",
        sentences.len(),
        elapsed / sentences.len() as u32,
        model.intra_threads()
    );

    ensure!(
        ours.len() == sentences.len(),
        "Rust returned {} vectors for {} texts",
        ours.len(),
        sentences.len()
    );
    ensure!(
        reference.len() == sentences.len(),
        "Python returned {} vectors for {} texts",
        reference.len(),
        sentences.len()
    );
    let mut failures = Vec::new();
    let mut min_cos = f32::INFINITY;
    for ((text, rust), py) in sentences.iter().zip(&ours).zip(&reference) {
        ensure!(
            rust.len() == DIMENSION,
            "Rust vector has {} floats for {text:?}",
            rust.len()
        );
        ensure!(
            py.len() == DIMENSION,
            "Python vector has {} floats for {text:?}",
            py.len()
        );
        ensure!(
            (norm(rust) - 1.0).abs() < 1e-4,
            "Rust vector not unit length ({}) for {text:?}",
            norm(rust)
        );
        let cos = cosine(rust, py);
        min_cos = min_cos.min(cos);
        let shown: String = text.chars().take(60).collect();
        eprintln!("cosine {cos:.7}  {shown:?}");
        if cos.is_nan() || cos < MIN_COSINE {
            failures.push(format!("cosine {cos} < {MIN_COSINE} for {shown:?}"));
        }
    }
    eprintln!("minimum cosine {min_cos:.7}");
    ensure!(
        failures.is_empty(),
        "Rust and Python embeddings differ:\n{}",
        failures.join("\n")
    );

    // Words past MAX_TOKENS are cut off, so appending some changes nothing.
    let long = long_text();
    let with_tail = format!("{long} A completely different tail about baking sourdough bread.");
    let pair = model.embed(vec![long, with_tail]).await?;
    let cos = cosine(&pair[0], &pair[1]);
    ensure!(
        cos >= MIN_COSINE,
        "text past {MAX_TOKENS} tokens changed the vector (cosine {cos})"
    );

    ensure!(
        model.embed(Vec::new()).await?.is_empty(),
        "empty input must give no vectors"
    );
    Ok(())
}

#[tokio::test]
async fn int8_products_stay_close_to_the_model_as_published() -> Result<()> {
    let sentences = parity_sentences();
    let reference = python_reference(&sentences)?;
    let model = load_model(BATCH_SIZE, Precision::Int8).await?;
    ensure!(model.precision() == Precision::Int8 && model.batch_size() == 1);
    let ours = model.embed(sentences.clone()).await?;
    ensure!(ours.len() == sentences.len());
    let cosines: Vec<f32> = ours
        .iter()
        .zip(&reference)
        .map(|(rust, py)| cosine(rust, py))
        .collect();
    let min = cosines.iter().copied().fold(f32::INFINITY, f32::min);
    let mean = cosines.iter().sum::<f32>() / cosines.len() as f32;
    eprintln!("int8 against the model as published: minimum cosine {min:.5}, mean {mean:.5}");
    ensure!(
        min >= INT8_MIN_COSINE && mean >= INT8_MEAN_COSINE,
        "int8 vectors drift: minimum cosine {min} (≥ {INT8_MIN_COSINE}), mean {mean} (≥ {INT8_MEAN_COSINE})"
    );
    // The integer kernel is really used: the vectors are not the f32 ones.
    ensure!(
        min < MIN_COSINE,
        "int8 vectors equal the f32 ones: the rewrite did not apply"
    );
    for vector in &ours {
        ensure!((norm(vector) - 1.0).abs() < 1e-4, "not unit length");
    }
    // A text's vector does not depend on what is embedded beside it.
    for (i, text) in sentences.iter().enumerate().take(5) {
        let alone = model.embed(vec![text.clone()]).await?;
        ensure!(
            alone[0] == ours[i],
            "{text:?} embedded alone differs from the same text in a batch"
        );
    }
    Ok(())
}

#[tokio::test]
async fn minilm_ranks_related_texts_higher() -> Result<()> {
    for precision in [Precision::F32, Precision::Int8] {
        ranks_related_texts_higher(load_model(8, precision).await?).await?;
    }
    Ok(())
}

async fn ranks_related_texts_higher(model: MiniLm) -> Result<()> {
    let query = "data scientist with ML skills";
    let researcher =
        "Role: researcher\nGoal: analyze data patterns\nSkills: machine learning, statistics";
    let chef = "a chef who bakes bread";
    let v = model
        .embed(vec![
            query.to_string(),
            researcher.to_string(),
            chef.to_string(),
        ])
        .await?;
    let related = cosine(&v[0], &v[1]);
    let unrelated = cosine(&v[0], &v[2]);
    eprintln!(
        "{:?}: query vs researcher {related:.4}, query vs chef {unrelated:.4}",
        model.precision()
    );
    ensure!(
        (0.5..=0.7).contains(&related),
        "query vs researcher similarity {related} is outside [0.5, 0.7]"
    );
    ensure!(
        unrelated < 0.3,
        "query vs chef similarity {unrelated} is not below 0.3"
    );
    Ok(())
}
