//! `tolk status`: per document and task, whether the newest run's output is up to date, or what
//! a run would call and why (the input changed, a prompt changed, another model, a failure last
//! time, or simply not in the cache).

use super::plan::{Plan, PlanRow};
use crate::prompt::PromptSet;
use crate::store::run::{InputEntry, Manifest};
use crate::tasks::Task;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Whether a document's task needs calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    UpToDate,
    Stale,
}

impl State {
    pub fn as_str(&self) -> &'static str {
        match self {
            State::UpToDate => "up to date",
            State::Stale => "stale",
        }
    }
}

/// One row of `tolk status`.
#[derive(Debug, Clone, Serialize)]
pub struct StatusRow {
    pub doc_id: String,
    pub task: Task,
    #[serde(serialize_with = "state_text")]
    pub status: State,
    /// Why it is stale ("input changed; prompt changed (translate@v2)"); none when up to date.
    pub why: Option<String>,
    /// Calls a run would make.
    pub calls: usize,
    pub estimated_tokens: u64,
}

fn state_text<S: serde::Serializer>(s: &State, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s.as_str())
}

/// Why the calls of `row` are to be made, from the newest run that did its task.
fn why(
    row: &PlanRow,
    last: Option<(&Manifest, &InputEntry)>,
    current_sha: &str,
    prompts: &PromptSet,
    model: &str,
) -> String {
    let Some((m, i)) = last else {
        return "never run".into();
    };
    let mut why = Vec::new();
    if i.sha256 != current_sha {
        why.push("input changed".to_string());
    }
    let keys = row.task.kind().about().prompt_keys;
    let changed: Vec<&str> = prompts
        .hashes
        .iter()
        .filter(|(k, _)| keys.iter().any(|p| k.starts_with(p)))
        .filter(|(k, v)| m.prompts.get(*k) != Some(*v))
        .map(|(k, _)| k.as_str())
        .collect();
    if !changed.is_empty() {
        why.push(format!("prompt changed ({})", changed.join(", ")));
    }
    if m.model.requested != model {
        why.push(format!("model changed ({} -> {model})", m.model.requested));
    }
    if i.tasks.get(row.task.name()).is_some_and(|s| !s.is_ok()) {
        why.push("failed last time".to_string());
    }
    if why.is_empty() {
        why.push("not in the cache".to_string());
    }
    why.join("; ")
}

/// The status of every planned document and task, against the runs in `history` (newest first)
/// and the files the plan read (`files`: doc id -> path).
pub fn status(
    plan: &Plan,
    history: &[Manifest],
    files: &BTreeMap<String, PathBuf>,
    prompts: &PromptSet,
    model: &str,
) -> Vec<StatusRow> {
    plan.rows
        .iter()
        .map(|r| {
            let to_make = r.to_make();
            // The newest run that did this task for this document.
            let last = history.iter().find_map(|m| {
                m.inputs
                    .iter()
                    .find(|i| i.doc_id == r.doc_id && i.tasks.contains_key(r.task.name()))
                    .map(|i| (m, i))
            });
            let current_sha = files
                .get(&r.doc_id)
                .and_then(|p| std::fs::read(p).ok())
                .map(|b| crate::ingest::sha256_hex(&b))
                .unwrap_or_default();
            let why = (to_make > 0).then(|| why(r, last, &current_sha, prompts, model));
            StatusRow {
                doc_id: r.doc_id.clone(),
                task: r.task,
                status: if why.is_none() {
                    State::UpToDate
                } else {
                    State::Stale
                },
                why,
                calls: to_make,
                estimated_tokens: r.prompt_tokens + r.completion_tokens,
            }
        })
        .collect()
}
