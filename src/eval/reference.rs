//! Reference translations: `<dir>/<doc_id>.json`, a faithful English of a letter written by
//! hand, aligned to the source's line ranges:
//!
//! ```text
//! {"doc_id": "...", "source": {"path": "input/x.txt", "sha256": "..."},
//!  "translator": "who and when",
//!  "segments": [{"id": "p1", "lines": [3, 3], "nl": "...", "en": "..."}, ...]}
//! ```
//!
//! `lines` are the 1-based, inclusive lines of the source file a segment covers (tolk's
//! paragraphs, `tolk chunk --paragraphs --json`); `nl` is the Dutch of those lines as tolk reads
//! it, kept for the reader and for checking the reference itself; `id` is informational.

use crate::tasks::Source;
use crate::tasks::translate::{SegmentOut, TranslationOut};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefSegment {
    pub id: String,
    pub lines: [u32; 2],
    pub nl: String,
    pub en: String,
}

/// One letter's reference translation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub doc_id: String,
    pub source: Source,
    #[serde(default)]
    pub translator: String,
    pub segments: Vec<RefSegment>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("{path}: cannot read the reference")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a reference translation: {message}")]
    Format { path: PathBuf, message: String },
    #[error("{path}: no reference translations (*.json) in it")]
    Empty { path: PathBuf },
}

/// Every reference in `dir`, by file name.
pub fn load_dir(dir: &Path) -> Result<Vec<Reference>, ReferenceError> {
    let read = |path: &Path| -> Result<Reference, ReferenceError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReferenceError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let r: Reference = serde_json::from_str(&text).map_err(|e| ReferenceError::Format {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        for s in &r.segments {
            if s.lines[0] == 0 || s.lines[0] > s.lines[1] {
                return Err(ReferenceError::Format {
                    path: path.to_path_buf(),
                    message: format!(
                        "segment {}: lines {:?} are not a 1-based range",
                        s.id, s.lines
                    ),
                });
            }
        }
        Ok(r)
    };
    let entries = std::fs::read_dir(dir).map_err(|source| ReferenceError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(ReferenceError::Empty {
            path: dir.to_path_buf(),
        });
    }
    files.iter().map(|p| read(p)).collect()
}

impl Reference {
    /// The reference as if it were a run's translation, to check it with the output checks.
    pub fn as_translation(&self) -> TranslationOut {
        TranslationOut {
            doc_id: self.doc_id.clone(),
            source: self.source.clone(),
            model: "reference".into(),
            segments: self
                .segments
                .iter()
                .map(|s| SegmentOut {
                    id: s.id.clone(),
                    kind: crate::ingest::Kind::Body,
                    lines: s.lines,
                    spans: None,
                    pages: Default::default(),
                    nl: s.nl.clone(),
                    en: Some(s.en.clone()),
                    draft: None,
                    refined_by: Vec::new(),
                    checks: Vec::new(),
                    kept: None,
                })
                .collect(),
            terminology: Vec::new(),
        }
    }
}
