//! One writer per output folder. `tolk run` holds an exclusive lock on `OUT/.lock` while it
//! runs (the operating system's advisory file lock, as cargo locks its build directory); a
//! second run on the same folder waits for it and then answers from the cache, or, with
//! `--no-wait`, stops with an error naming the holder. The lock goes with the process that
//! holds it: a run killed with kill -9 leaves a file but no lock, so nothing waits on a dead
//! process. Read-only commands (runs, show, diff, report, eval, check) take no lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The lock file in an output folder.
pub const FILE: &str = ".lock";

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "{out}: a run is in progress in this output folder ({holder}); wait for it (leave out --no-wait) or use another --out"
    )]
    Busy { out: PathBuf, holder: String },
    #[error("{path}: cannot lock the output folder")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The lock, held until it is dropped.
#[derive(Debug)]
pub struct OutLock {
    _file: File,
}

/// Who holds the lock, as its file says.
fn holder(file: &mut File) -> String {
    let mut s = String::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = file.read_to_string(&mut s);
    match s.trim() {
        "" => "another process".to_string(),
        pid => format!("pid {pid}"),
    }
}

/// Lock the output folder `out` (created if need be). When another run holds it: with `wait`,
/// say so on stderr and wait for it; without, [`LockError::Busy`].
pub fn acquire(out: &Path, wait: bool) -> Result<OutLock, LockError> {
    let path = out.join(FILE);
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(out).map_err(io)?;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let holder = holder(&mut file);
            if !wait {
                return Err(LockError::Busy {
                    out: out.to_path_buf(),
                    holder,
                });
            }
            eprintln!(
                "waiting for the run in progress in {} ({holder}); it answers from the cache once that run is done",
                out.display()
            );
            file.lock().map_err(io)?;
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    // Say who holds it, for the run that waits.
    file.set_len(0).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    write!(file, "{}", std::process::id()).map_err(io)?;
    file.flush().map_err(io)?;
    Ok(OutLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_a_folder_is_busy_and_free_once_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let first = acquire(&out, false).unwrap();
        let busy = acquire(&out, false).unwrap_err();
        let msg = busy.to_string();
        assert!(
            msg.contains(&format!("pid {}", std::process::id())) && msg.contains("--no-wait"),
            "{msg}"
        );
        drop(first);
        // The file stays; the lock went with its holder.
        assert!(out.join(FILE).is_file());
        acquire(&out, false).unwrap();
    }
}
