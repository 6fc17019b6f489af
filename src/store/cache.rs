//! The content-addressed response cache: `OUT/cache/<2 hex>/<64 hex>.json`.
//!
//! The key is the sha256 of the canonical JSON of a [`CacheKey`]: every input that changes a
//! result (the rendered messages, the response schema, the endpoint and model, the sampling
//! parameters, the structured-output mode, the cache format version). A rerun with nothing changed
//! finds every answer here; a changed prompt changes only its own calls' keys.

use super::{Durability, StoreError, canonical_json, read_json, write_json_with};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Bump when the meaning of a cached value changes.
pub const CACHE_FORMAT: u32 = 1;

/// Everything that changes a result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CacheKey {
    pub format: u32,
    /// Base URL, or "local:<model file sha256 prefix>" for the embedded model.
    pub endpoint: String,
    pub model: String,
    pub messages_sha256: String,
    pub schema_sha256: String,
    pub temperature: f64,
    pub seed: Option<u64>,
    pub max_tokens: Option<u32>,
    pub mode: String,
}

impl CacheKey {
    /// The hex digest that names this key's file.
    pub fn digest(&self) -> String {
        let v = serde_json::to_value(self).expect("a cache key serialises");
        crate::ingest::sha256_hex(canonical_json(&v).as_bytes())
    }
}

/// sha256 of any serialisable value's canonical JSON.
pub fn hash_json<T: Serialize>(value: &T) -> String {
    let v = serde_json::to_value(value).expect("serialisable");
    crate::ingest::sha256_hex(canonical_json(&v).as_bytes())
}

/// A stored answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub key: CacheKey,
    pub task: String,
    pub doc_id: String,
    pub created_at: String,
    /// The model the server says answered.
    pub model: Option<String>,
    pub system_fingerprint: Option<String>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// The validated structured value.
    pub value: serde_json::Value,
}

/// The cache folder.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    pub fn new(dir: impl Into<PathBuf>) -> Cache {
        Cache { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self, digest: &str) -> PathBuf {
        self.dir.join(&digest[..2]).join(format!("{digest}.json"))
    }

    pub fn contains(&self, digest: &str) -> bool {
        self.path(digest).is_file()
    }

    /// The entry for `digest`, if present and readable. An unreadable entry counts as absent
    /// (and will be overwritten), never as an error that stops a run.
    pub fn get(&self, digest: &str) -> Option<Entry> {
        let path = self.path(digest);
        if !path.is_file() {
            return None;
        }
        match read_json::<Entry>(&path) {
            Ok(e) => Some(e),
            Err(e) => {
                tracing::warn!("ignoring a damaged cache entry: {e}");
                None
            }
        }
    }

    pub fn put(&self, digest: &str, entry: &Entry) -> Result<(), StoreError> {
        write_json_with(&self.path(digest), entry, Durability::Synced)
    }
}
