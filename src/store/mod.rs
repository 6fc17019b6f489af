//! Storage: atomic file writes, the content-addressed response cache, and run folders with their
//! manifests.
//!
//! Invariant: a file is either absent or complete. Every write goes to a temporary file in the
//! same folder and is renamed over the target, so a kill -9 at any moment leaves nothing
//! half-written. Cache entries (what was paid for) are also fsynced, file and folder, so they
//! survive a power cut too.

pub mod cache;
pub mod lock;
pub mod memory;
pub mod run;

use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Printed with its cause ([`crate::error::chain`]): "{path}: Permission denied".
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not valid JSON: {message}")]
    Json { path: PathBuf, message: String },
    #[error("{0}")]
    NotFound(String),
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Now, as an RFC 3339 timestamp (UTC), the form every stored record uses.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// How hard a write insists on reaching the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync the file and its folder: for what was paid for (cache entries), which must survive
    /// a power cut, not just a kill.
    Synced,
    /// Atomic (rename) but not fsynced: for what the cache can regenerate (run outputs). A kill
    /// -9 cannot tear it; a power cut may lose it, and a rerun rebuilds it at no cost.
    Regenerable,
}

/// Write `bytes` to `path` atomically: a temp file in the same folder, renamed over the target.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    write_atomic_with(path, bytes, Durability::Regenerable)
}

/// [`write_atomic`] with a chosen durability.
pub fn write_atomic_with(
    path: &Path,
    bytes: &[u8],
    durability: Durability,
) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    // A temporary file in the same folder (removed when dropped unpersisted), renamed over the
    // target: the target is never half-written.
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tolk-").suffix(".tmp");
    // tempfile makes its files private (0600); an output is as readable as any file the user
    // writes (0666 less the umask), as before.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder.tempfile_in(dir).map_err(io_err(dir))?;
    tmp.write_all(bytes).map_err(io_err(tmp.path()))?;
    if durability == Durability::Synced {
        tmp.as_file().sync_all().map_err(io_err(path))?;
    }
    tmp.persist(path).map_err(|e| StoreError::Io {
        path: path.to_path_buf(),
        source: e.error,
    })?;
    if durability == Durability::Synced
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Write `value` as pretty JSON, atomically (regenerable durability).
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), StoreError> {
    write_json_with(path, value, Durability::Regenerable)
}

/// [`write_json`] with a chosen durability.
pub fn write_json_with<T: serde::Serialize>(
    path: &Path,
    value: &T,
    durability: Durability,
) -> Result<(), StoreError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| StoreError::Json {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    bytes.push(b'\n');
    write_atomic_with(path, &bytes, durability)
}

/// The version of the format of the files a run writes (`translation.json`, `summary.json`,
/// `stance.json`, `review.json`, `refine.json`, `manifest.json`), written into each as
/// `format_version`. Raise it when a field changes its meaning or goes away (a new optional
/// field does not need it), so a user's script can tell. The JSON Schemas of the files are
/// generated into `docs/reference/schemas/`.
pub const FORMAT_VERSION: u32 = 1;

/// An output file as written: its [`FORMAT_VERSION`] first, then the output's own fields.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Versioned<T> {
    /// The version of this file's format (see docs/reference/schemas/).
    pub format_version: u32,
    #[serde(flatten)]
    pub output: T,
}

impl<T> Versioned<T> {
    pub fn new(output: T) -> Versioned<T> {
        Versioned {
            format_version: FORMAT_VERSION,
            output,
        }
    }
}

/// Read JSON from `path`.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, StoreError> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    serde_json::from_slice(&bytes).map_err(|e| StoreError::Json {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Canonical JSON (object keys sorted, no whitespace): equal values give equal bytes.
pub fn canonical_json(value: &serde_json::Value) -> String {
    fn sort(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut out = serde_json::Map::new();
                for k in keys {
                    out.insert(k.clone(), sort(&m[k]));
                }
                serde_json::Value::Object(out)
            }
            serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    sort(value).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_whole_files_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b.json");
        write_json(&p, &serde_json::json!({"x": 1})).unwrap();
        write_json(&p, &serde_json::json!({"x": 2})).unwrap();
        let v: serde_json::Value = read_json(&p).unwrap();
        assert_eq!(v["x"], 2);
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let a = serde_json::json!({"b": 1, "a": {"d": 2, "c": [3, {"f": 1, "e": 0}]}});
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"c":[3,{"e":0,"f":1}],"d":2},"b":1}"#
        );
    }
}
