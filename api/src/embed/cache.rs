//! Vectors already computed, by the exact text embedded: the indexer looks
//! texts up here before it runs the model, so a text (for logs, a
//! [`super::template`]) is embedded once while its vector is kept.
//!
//! - **Bounded** by bytes (`EMBED_CACHE_MB`): past the budget the least
//!   recently used quarter is dropped.
//! - **Bound to one model**: the cache carries the model's fingerprint
//!   ([`super::Embedder::fingerprint`]); a file saved under another model is
//!   not loaded, so a changed model never serves an old vector.
//! - **Kept across restarts** where the data is local: `vectadb serve` on
//!   the embedded default saves it to `DATA_DIR/embed-cache.bin` when it
//!   stops and loads it when it starts. A lost file (a crash) costs one
//!   embedding per text on its next occurrence, nothing more.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// The file a cache is saved to, under the data directory.
pub const FILE: &str = "embed-cache.bin";
const MAGIC: &[u8; 8] = b"VDBEMB01";
/// Bookkeeping per entry on top of its key and vector (map slot, Arc, counters).
const ENTRY_OVERHEAD: usize = 64;

pub struct EmbedCache {
    fingerprint: String,
    budget: usize,
    inner: Mutex<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Arc<str>, Entry>,
    bytes: usize,
    clock: u64,
}

struct Entry {
    vector: Arc<[f32]>,
    used: u64,
}

/// Texts split into those found and those to embed.
pub struct Lookup {
    /// One per text asked for, in order; `None` for those to embed.
    pub found: Vec<Option<Arc<[f32]>>>,
    /// The distinct texts not found, in first-seen order.
    pub missing: Vec<String>,
}

impl std::fmt::Debug for EmbedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbedCache")
            .field("fingerprint", &self.fingerprint)
            .field("budget", &self.budget)
            .field("entries", &self.len())
            .finish_non_exhaustive()
    }
}

impl EmbedCache {
    /// An empty cache for the model with `fingerprint`, holding at most
    /// about `budget` bytes (0: nothing is kept).
    pub fn new(fingerprint: impl Into<String>, budget: usize) -> Self {
        Self {
            fingerprint: fingerprint.into(),
            budget,
            inner: Mutex::new(Inner::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Texts found (each occurrence counts) and texts embedded since start.
    pub fn hits_and_misses(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Look `texts` up. A text repeated in `texts` is missing at most once.
    pub fn lookup(&self, texts: &[String]) -> Lookup {
        let mut inner = self.lock();
        inner.clock += 1;
        let clock = inner.clock;
        let mut missing: Vec<String> = Vec::new();
        let mut pending = std::collections::HashSet::new();
        let found: Vec<Option<Arc<[f32]>>> = texts
            .iter()
            .map(|text| match inner.map.get_mut(text.as_str()) {
                Some(entry) => {
                    entry.used = clock;
                    Some(entry.vector.clone())
                }
                None => {
                    if pending.insert(text.as_str()) {
                        missing.push(text.clone());
                    }
                    None
                }
            })
            .collect();
        let misses = missing.len() as u64;
        self.misses.fetch_add(misses, Ordering::Relaxed);
        self.hits
            .fetch_add(texts.len() as u64 - misses, Ordering::Relaxed);
        Lookup { found, missing }
    }

    /// Keep `vector` as the embedding of `text`.
    pub fn insert(&self, text: &str, vector: Arc<[f32]>) {
        let size = entry_size(text, &vector);
        if size > self.budget {
            return;
        }
        let mut inner = self.lock();
        inner.clock += 1;
        let used = inner.clock;
        if let Some(old) = inner.map.insert(Arc::from(text), Entry { vector, used }) {
            inner.bytes -= entry_size(text, &old.vector);
        }
        inner.bytes += size;
        if inner.bytes > self.budget {
            evict(&mut inner);
        }
    }

    /// Write every entry to `path` (atomically: a temporary file renamed).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let entries: Vec<(Arc<str>, Arc<[f32]>)> = self
            .lock()
            .map
            .iter()
            .map(|(k, e)| (k.clone(), e.vector.clone()))
            .collect();
        let temporary = path.with_extension("tmp");
        {
            let mut out = std::io::BufWriter::new(std::fs::File::create(&temporary)?);
            out.write_all(MAGIC)?;
            write_bytes(&mut out, self.fingerprint.as_bytes())?;
            out.write_all(&(entries.len() as u64).to_le_bytes())?;
            for (text, vector) in &entries {
                write_bytes(&mut out, text.as_bytes())?;
                out.write_all(&(vector.len() as u32).to_le_bytes())?;
                for x in vector.iter() {
                    out.write_all(&x.to_le_bytes())?;
                }
            }
            out.into_inner()?.sync_all()?;
        }
        std::fs::rename(temporary, path)
    }

    /// Entries saved at `path` by a cache of the same model, if any: a
    /// missing, unreadable or foreign file leaves the cache empty (and is
    /// said in the log).
    pub fn load(&self, path: &Path) -> usize {
        match read_file(path, &self.fingerprint) {
            Ok(Some(entries)) => {
                let count = entries.len();
                for (text, vector) in entries {
                    self.insert(&text, vector);
                }
                count
            }
            Ok(None) => {
                tracing::info!(path = %path.display(), "embedding cache saved by another model: not loaded");
                0
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "embedding cache unreadable: starting empty");
                0
            }
        }
    }
}

fn entry_size(text: &str, vector: &[f32]) -> usize {
    text.len() + std::mem::size_of_val(vector) + ENTRY_OVERHEAD
}

/// Drop the least recently used quarter of the entries, and more if the
/// budget still is not met.
fn evict(inner: &mut Inner) {
    let mut ages: Vec<u64> = inner.map.values().map(|e| e.used).collect();
    let quarter = ages.len() / 4;
    let (_, cutoff, _) = ages.select_nth_unstable(quarter);
    let cutoff = *cutoff;
    let mut freed = 0;
    inner.map.retain(|text, entry| {
        let keep = entry.used > cutoff;
        if !keep {
            freed += entry_size(text, &entry.vector);
        }
        keep
    });
    inner.bytes -= freed;
}

fn write_bytes(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(&(bytes.len() as u32).to_le_bytes())?;
    out.write_all(bytes)
}

fn read_bytes(input: &mut impl Read, limit: usize) -> std::io::Result<Vec<u8>> {
    let mut length = [0u8; 4];
    input.read_exact(&mut length)?;
    let length = u32::from_le_bytes(length) as usize;
    if length > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "entry larger than any the cache writes",
        ));
    }
    let mut bytes = vec![0; length];
    input.read_exact(&mut bytes)?;
    Ok(bytes)
}

type Entries = Vec<(String, Arc<[f32]>)>;

/// `None`: the file belongs to another model.
fn read_file(path: &Path, fingerprint: &str) -> std::io::Result<Option<Entries>> {
    let invalid =
        |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let mut input = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut magic = [0u8; 8];
    input.read_exact(&mut magic)?;
    if &magic != MAGIC {
        return Err(invalid("not an embedding cache"));
    }
    if read_bytes(&mut input, 1 << 10)? != fingerprint.as_bytes() {
        return Ok(None);
    }
    let mut count = [0u8; 8];
    input.read_exact(&mut count)?;
    let count = u64::from_le_bytes(count);
    let mut entries = Vec::new();
    for _ in 0..count {
        let text = String::from_utf8(read_bytes(&mut input, 1 << 20)?)
            .map_err(|_| invalid("a text is not UTF-8"))?;
        let mut dimension = [0u8; 4];
        input.read_exact(&mut dimension)?;
        let dimension = u32::from_le_bytes(dimension) as usize;
        if dimension > 1 << 16 {
            return Err(invalid("vector larger than any model's"));
        }
        let mut raw = vec![0u8; dimension * 4];
        input.read_exact(&mut raw)?;
        let vector: Arc<[f32]> = raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        entries.push((text, vector));
    }
    Ok(Some(entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(x: f32) -> Arc<[f32]> {
        Arc::from(vec![x; 4])
    }

    #[test]
    fn a_text_is_missing_once_then_found() {
        let cache = EmbedCache::new("m1", 1 << 20);
        let texts: Vec<String> = ["a", "b", "a"].iter().map(|s| s.to_string()).collect();
        let first = cache.lookup(&texts);
        assert_eq!(first.missing, vec!["a".to_string(), "b".to_string()]);
        assert!(first.found.iter().all(Option::is_none));
        cache.insert("a", vector(1.0));
        cache.insert("b", vector(2.0));
        let second = cache.lookup(&texts);
        assert!(second.missing.is_empty());
        assert_eq!(second.found[2].as_deref(), Some(&[1.0; 4][..]));
        assert_eq!(cache.hits_and_misses(), (4, 2));
    }

    #[test]
    fn the_budget_drops_the_least_recently_used() {
        let one = entry_size("t00", &vector(0.0));
        let cache = EmbedCache::new("m1", one * 10);
        for i in 0..10 {
            cache.insert(&format!("t{i:02}"), vector(i as f32));
        }
        // t00 used again: the oldest are now t01, t02...
        cache.lookup(&["t00".to_string()]);
        cache.insert("t10", vector(10.0));
        assert!(cache.len() <= 10, "{}", cache.len());
        let after = cache.lookup(&["t00".to_string(), "t01".to_string(), "t10".to_string()]);
        assert_eq!(after.missing, vec!["t01".to_string()]);
    }

    #[test]
    fn a_saved_cache_loads_only_under_the_same_model() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        let cache = EmbedCache::new("model-a", 1 << 20);
        cache.insert("called n tools", vector(0.5));
        cache.insert("订单 n 已发货", vector(-1.0));
        cache.save(&path).unwrap();

        let same = EmbedCache::new("model-a", 1 << 20);
        assert_eq!(same.load(&path), 2);
        let found = same.lookup(&["订单 n 已发货".to_string()]);
        assert_eq!(found.found[0].as_deref(), Some(&[-1.0; 4][..]));

        let other = EmbedCache::new("model-b", 1 << 20);
        assert_eq!(
            other.load(&path),
            0,
            "another model's vectors are never served"
        );
        assert!(other.is_empty());

        std::fs::write(&path, b"garbage").unwrap();
        assert_eq!(EmbedCache::new("model-a", 1 << 20).load(&path), 0);
        assert_eq!(
            EmbedCache::new("model-a", 1 << 20).load(&dir.path().join("none")),
            0
        );
    }
}
