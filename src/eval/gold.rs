//! Gold stance labels: one file, e.g. `eval/stance_gold.json`, written by hand from the Dutch:
//!
//! ```text
//! {"version": 1, "about": "...",
//!  "letters": [{"doc_id": "...",
//!               "overall": {"stance": "oppose", "line": 46, "reason": "..."},
//!               "topics": {"regulation": {"stance": "oppose", "line": 24, "reason": "..."},
//!                          "grooming": {"stance": "not_addressed", "line": null, "reason": "..."}}}]}
//! ```
//!
//! `stance` is one of the stance task's labels (support, oppose, mixed, neutral, not_addressed);
//! `line` is the source line (1-based) that shows it, null when the letter does not address the
//! topic; `reason` says why in English. A topic left out is not judged.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The labels a judgement can have.
pub const LABELS: [&str; 5] = ["support", "oppose", "mixed", "neutral", "not_addressed"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    pub stance: String,
    #[serde(default)]
    pub line: Option<u32>,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Letter {
    pub doc_id: String,
    pub overall: Label,
    #[serde(default)]
    pub topics: BTreeMap<String, Label>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gold {
    #[serde(default = "one")]
    pub version: u32,
    #[serde(default)]
    pub about: String,
    pub letters: Vec<Letter>,
}

fn one() -> u32 {
    1
}

/// A yardstick file of `eval/` that cannot be used: the gold labels, letter facts or summaries.
#[derive(Debug, thiserror::Error)]
pub enum GoldError {
    #[error("{path}: cannot read {what}")]
    Read {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not {what}: {message}")]
    Format {
        path: PathBuf,
        what: &'static str,
        message: String,
    },
}

/// Read a yardstick file as `T`; `what` names it in an error ("gold labels").
pub fn read<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &'static str,
) -> Result<T, GoldError> {
    let text = std::fs::read_to_string(path).map_err(|source| GoldError::Read {
        path: path.to_path_buf(),
        what,
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| GoldError::Format {
        path: path.to_path_buf(),
        what,
        message: e.to_string(),
    })
}

/// Read and validate a gold file.
pub fn load(path: &Path) -> Result<Gold, GoldError> {
    const WHAT: &str = "gold stance labels";
    let format = |message: String| GoldError::Format {
        path: path.to_path_buf(),
        what: WHAT,
        message,
    };
    let gold: Gold = read(path, WHAT)?;
    for l in &gold.letters {
        let all = std::iter::once(("overall", &l.overall))
            .chain(l.topics.iter().map(|(k, v)| (k.as_str(), v)));
        for (what, label) in all {
            if !LABELS.contains(&label.stance.as_str()) {
                return Err(format(format!(
                    "{}: {what}: unknown stance {:?} (one of {})",
                    l.doc_id,
                    label.stance,
                    LABELS.join(", ")
                )));
            }
        }
    }
    Ok(gold)
}
