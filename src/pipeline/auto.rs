//! `translate.mode = auto` on an endpoint: chunk mode (one JSON call per chunk) unless the
//! model copies the Dutch or misaligns in it, as small models do; then segment mode (one plain
//! call per paragraph). The decision is made *within* a run and then kept: the first run on an
//! endpoint and model tries chunk mode on its first letter, checks what came back, and runs
//! every letter in the mode that won; the decision is written to `OUT/translate-mode.json`, so
//! that the next run (and `tolk status`, and `--dry-run`) starts from it. An unchanged command
//! run again therefore makes no call; deciding between runs made the second run pay for every
//! translation again, in the other mode.

use crate::chunk::Chunk;
use crate::config::TranslateMode;
use crate::endpoint::Scope;
use crate::ingest::Document;
use crate::tasks::translate::has_words;
use crate::tasks::{Prior, Task, TaskContext, TaskOutput};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file of the decisions, in the output folder.
pub const FILE: &str = "translate-mode.json";

/// Segment mode when at least this share of the trial's segments came back copied:
/// untranslated, misaligned or identical to the Dutch.
const COPYING_SHARE: f64 = 0.2;
const COPYING_CHECKS: [&str; 3] = ["untranslated", "misaligned", "identical"];

/// What `auto` decided for one endpoint and model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub endpoint: String,
    pub model: String,
    pub mode: TranslateMode,
    /// Why, with the figures of the trial.
    pub why: String,
    /// When it was decided.
    pub decided_at: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Decisions {
    format_version: u32,
    decisions: Vec<Decision>,
}

fn path(out: &Path) -> PathBuf {
    out.join(FILE)
}

fn load(out: &Path) -> Decisions {
    crate::store::read_json(&path(out)).unwrap_or_default()
}

/// The decision recorded for this endpoint and model, if any.
pub fn recorded(out: &Path, scope: &Scope) -> Option<Decision> {
    load(out)
        .decisions
        .into_iter()
        .find(|d| d.endpoint == scope.endpoint && d.model == scope.model)
}

/// Record a decision (replacing an older one for the same endpoint and model).
pub fn record(out: &Path, d: &Decision) -> Result<(), crate::store::StoreError> {
    let mut all = load(out);
    all.format_version = 1;
    all.decisions
        .retain(|x| !(x.endpoint == d.endpoint && x.model == d.model));
    all.decisions.push(d.clone());
    crate::store::write_json(&path(out), &all)
}

/// Translate `doc` in chunk mode and decide from its checks. `None` when the trial gave no
/// translation to judge (the endpoint failed): the run keeps chunk mode and decides nothing.
pub async fn trial(
    doc: &Document,
    chunks: &[Chunk],
    ctx: &TaskContext,
    caller: &dyn crate::tasks::Caller,
    checker: &crate::checks::Checker,
    scope: &Scope,
) -> Option<Decision> {
    let result = Task::Translate
        .kind()
        .run(crate::tasks::Input {
            doc,
            chunks,
            ctx,
            caller,
            prior: Prior::default(),
        })
        .await;
    let Some(TaskOutput::Translation(mut t)) = result.output else {
        return None;
    };
    checker.translation(&mut t);
    let segments: Vec<_> = t.segments.iter().filter(|s| has_words(&s.nl)).collect();
    let copied = segments
        .iter()
        .filter(|s| {
            s.checks
                .iter()
                .any(|f| COPYING_CHECKS.contains(&f.check.name()))
        })
        .count();
    let segment = !segments.is_empty() && copied as f64 >= COPYING_SHARE * segments.len() as f64;
    let (mode, verdict) = if segment {
        (TranslateMode::Segment, "segment mode")
    } else {
        (TranslateMode::Chunk, "chunk mode")
    };
    Some(Decision {
        endpoint: scope.endpoint.clone(),
        model: scope.model.clone(),
        mode,
        why: format!(
            "translate.mode auto: {verdict}, since chunk mode left {copied} of {} segments of {} untranslated, misaligned or identical to the Dutch",
            segments.len(),
            doc.id
        ),
        decided_at: crate::store::now_rfc3339(),
    })
}
