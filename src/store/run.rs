//! Run folders: `OUT/runs/<run_id>/manifest.json` and one folder per document with the task
//! outputs. A `run_id` sorts by time: UTC timestamp, model slug, short hash.

use super::{StoreError, read_json};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The model asked for and the one that answered.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, schemars::JsonSchema)]
pub struct ModelInfo {
    pub requested: String,
    pub resolved: Option<String>,
    pub system_fingerprint: Option<String>,
}

/// Parameters that shaped the results.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, schemars::JsonSchema)]
pub struct Params {
    pub temperature: f64,
    pub seed: Option<u64>,
    pub max_tokens: Option<u32>,
    pub structured_output: String,
    pub chunk_max_tokens: usize,
    pub encoding: String,
    pub tasks: Vec<String>,
    /// How the translation was asked: "chunk" or "segment" (older runs: none, which was chunk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub translate_mode: Option<String>,
    /// How summary and stance were asked: "combined" or "per_question" (older runs: none, which
    /// was combined).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis_mode: Option<String>,
}

/// How one task of one document ended: `{"status": "ok"}`, `{"status": "failed", "reason":
/// "..."}`, or `{"status": "unreadable", "reason": "..."}` when the input could not be read, so
/// the task never ran. The manifest, `tolk status`, the report and the closing table all read
/// this one type.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TaskStatus {
    Ok,
    Failed { reason: String },
    Unreadable { reason: String },
}

impl TaskStatus {
    pub fn is_ok(&self) -> bool {
        matches!(self, TaskStatus::Ok)
    }

    /// `ok`, `failed` or `unreadable`.
    pub fn name(&self) -> &'static str {
        match self {
            TaskStatus::Ok => "ok",
            TaskStatus::Failed { .. } => "failed",
            TaskStatus::Unreadable { .. } => "unreadable",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            TaskStatus::Ok => None,
            TaskStatus::Failed { reason } | TaskStatus::Unreadable { reason } => Some(reason),
        }
    }
}

impl std::fmt::Display for TaskStatus {
    /// `ok`, `failed: <reason>`, `unreadable: <reason>`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.reason() {
            None => f.write_str(self.name()),
            Some(r) => write!(f, "{}: {r}", self.name()),
        }
    }
}

impl<'de> Deserialize<'de> for TaskStatus {
    /// The tagged form, and the plain strings manifests written before it held ("ok",
    /// "failed: <reason>"), so that older runs stay readable.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(tag = "status", rename_all = "snake_case")]
        enum Tagged {
            Ok,
            Failed { reason: String },
            Unreadable { reason: String },
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Tagged(Tagged),
            Legacy(String),
        }
        Ok(match Either::deserialize(d)? {
            Either::Tagged(Tagged::Ok) => TaskStatus::Ok,
            Either::Tagged(Tagged::Failed { reason }) => TaskStatus::Failed { reason },
            Either::Tagged(Tagged::Unreadable { reason }) => TaskStatus::Unreadable { reason },
            Either::Legacy(s) if s == "ok" => TaskStatus::Ok,
            Either::Legacy(s) => TaskStatus::Failed {
                reason: s.strip_prefix("failed: ").unwrap_or(&s).to_string(),
            },
        })
    }
}

/// Findings of the output checks, by severity.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Count {
    pub major: u32,
    pub minor: u32,
}

impl Count {
    pub fn total(&self) -> u32 {
        self.major + self.minor
    }
}

/// Findings counted by check, as the manifest keeps them: the check's name -> count. Names, so
/// that a manifest stays readable when a check is renamed or dropped; in the code, findings are
/// counted by the `Check` enum (`checks::Tally`) and named only here.
pub type Findings = BTreeMap<String, Count>;

/// Add the counts of `from` to `into`, key by key.
pub fn merge<K: Ord + Clone>(into: &mut BTreeMap<K, Count>, from: &BTreeMap<K, Count>) {
    for (k, c) in from {
        let e = into.entry(k.clone()).or_default();
        e.major += c.major;
        e.minor += c.minor;
    }
}

/// One input document and how its tasks ended.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, schemars::JsonSchema)]
pub struct InputEntry {
    pub doc_id: String,
    pub path: String,
    pub sha256: String,
    pub lines: u32,
    /// task name -> how it ended. An unreadable input has every task of the run `unreadable`.
    pub tasks: BTreeMap<String, TaskStatus>,
    /// Key-point citations of paragraph ids that do not exist (dropped).
    #[serde(default)]
    pub dropped_citations: u32,
    /// Quotes that could not be found in the source (kept, flagged unverified).
    #[serde(default)]
    pub unverified_quotes: u32,
    #[serde(default)]
    pub warnings: Vec<String>,
    /// What the output checks found in this document's outputs, by check.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub findings: Findings,
    /// Segments with words in its translation, when the run translated it (the base of the
    /// translation checks' rates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segments: Option<u32>,
    /// A PDF letter: the text extracted from it, which its line numbers count in
    /// (`<doc>/source.txt`), and its page count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceText>,
}

/// The text extracted from a PDF letter, kept beside its outputs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, schemars::JsonSchema)]
pub struct SourceText {
    /// `source.txt`, in the document's folder of the run.
    pub file: String,
    pub sha256: String,
    pub pages: u32,
}

/// Calls, tokens and money.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, schemars::JsonSchema)]
pub struct UsageTotals {
    /// Live calls answered (retries and repairs not counted: see `attempts`).
    pub requests: u64,
    /// HTTP attempts, retries and repairs included.
    pub attempts: u64,
    pub cache_hits: u64,
    /// Tokens of every attempt, as the endpoint counted them: answers cut off at the token
    /// limit, replies that needed repair and retried calls are paid for too.
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: Option<f64>,
}

impl InputEntry {
    /// Why the input could not be read, if it could not.
    pub fn unreadable(&self) -> Option<&str> {
        self.tasks.values().find_map(|s| match s {
            TaskStatus::Unreadable { reason } => Some(reason.as_str()),
            _ => None,
        })
    }

    /// Every task of the run ended ok.
    pub fn all_ok(&self) -> bool {
        self.tasks.values().all(TaskStatus::is_ok)
    }

    /// Manifests written before typed statuses recorded an unreadable input as a task named
    /// "read": make it what it meant.
    fn upgrade(&mut self) {
        if let Some(read) = self.tasks.remove("read") {
            let reason = read.reason().unwrap_or_default().to_string();
            self.tasks
                .insert("translate".into(), TaskStatus::Unreadable { reason });
        }
    }
}

impl UsageTotals {
    /// "7 calls made (9 attempts)": the attempts are shown when some calls were retried or
    /// repaired, because the token figures count every attempt.
    pub fn calls_made(&self) -> String {
        if self.attempts > self.requests {
            format!("{} calls made ({} attempts)", self.requests, self.attempts)
        } else {
            format!("{} calls made", self.requests)
        }
    }
}

/// manifest.json
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, schemars::JsonSchema)]
pub struct Manifest {
    pub run_id: String,
    pub label: Option<String>,
    pub created_at: String,
    pub tolk_version: String,
    /// Base URL only (never credentials), or "embedded".
    pub endpoint: String,
    /// Set for runs on the embedded small model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    pub model: ModelInfo,
    pub params: Params,
    /// name -> sha256 of the prompt files, the glossary and the topics.
    pub prompts: BTreeMap<String, String>,
    pub inputs: Vec<InputEntry>,
    pub usage: UsageTotals,
    /// What the output checks found over the run, by check (None: a run made before the
    /// checks existed; `tolk check` checks it now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings: Option<Findings>,
    pub duration_s: f64,
    pub exit_status: i32,
}

/// A lower-case slug of a model name, for run ids and folder names.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    let out: String = out.chars().take(40).collect();
    if out.is_empty() { "model".into() } else { out }
}

/// A new run id: `20261123T121314Z-gpt-4o-mini-1a2b3c`.
pub fn new_run_id(now: time::OffsetDateTime, model: &str, salt: &str) -> String {
    let stamp = now
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_default();
    let hash = crate::ingest::sha256_hex(
        format!("{stamp}{model}{salt}{}", now.unix_timestamp_nanos()).as_bytes(),
    );
    format!("{stamp}-{}-{}", slug(model), &hash[..6])
}

pub fn runs_dir(out: &Path) -> PathBuf {
    out.join("runs")
}

pub fn run_dir(out: &Path, run_id: &str) -> PathBuf {
    runs_dir(out).join(run_id)
}

/// Every run's manifest, newest first. Folders without a readable manifest are skipped.
///
/// Newest by `created_at` (to the nanosecond), then by run id: a run id's stamp is to the second,
/// and two runs started in the same second would otherwise be ordered by their model names.
pub fn list_runs(out: &Path) -> Vec<Manifest> {
    let mut v: Vec<Manifest> = std::fs::read_dir(runs_dir(out))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| read_manifest(&e.path().join("manifest.json")).ok())
        .collect();
    v.sort_by_cached_key(|m| std::cmp::Reverse((created(m), m.run_id.clone())));
    v
}

/// Per letter (by its sha256), the newest run of the output folder that translated it
/// completely, and its `translation.json`: where a later run that does not translate takes the
/// English of its quotes from.
pub fn translations(out: &Path) -> BTreeMap<String, (String, PathBuf)> {
    let mut found = BTreeMap::new();
    for m in list_runs(out) {
        for i in &m.inputs {
            if found.contains_key(&i.sha256)
                || !i.tasks.get("translate").is_some_and(TaskStatus::is_ok)
            {
                continue;
            }
            let file = run_dir(out, &m.run_id)
                .join(&i.doc_id)
                .join("translation.json");
            if file.is_file() {
                found.insert(i.sha256.clone(), (m.run_id.clone(), file));
            }
        }
    }
    found
}

/// Read a manifest, upgrading what older versions of tolk wrote.
pub fn read_manifest(path: &Path) -> Result<Manifest, StoreError> {
    let mut m: Manifest = read_json(path)?;
    m.inputs.iter_mut().for_each(InputEntry::upgrade);
    Ok(m)
}

fn created(m: &Manifest) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(
        &m.created_at,
        &time::format_description::well_known::Rfc3339,
    )
    .ok()
}

/// Find a run by id, id prefix, label, or model name (the newest run of that model).
pub fn resolve_run(out: &Path, what: &str) -> Result<Manifest, StoreError> {
    let runs = list_runs(out);
    if what == "latest" {
        return runs.into_iter().next().ok_or_else(|| {
            StoreError::NotFound(format!("no runs in {}", runs_dir(out).display()))
        });
    }
    if let Some(m) = runs.iter().find(|m| m.run_id == what) {
        return Ok(m.clone());
    }
    if let Some(m) = runs.iter().find(|m| m.label.as_deref() == Some(what)) {
        return Ok(m.clone());
    }
    if let Some(m) = runs
        .iter()
        .find(|m| m.model.requested == what || m.model.resolved.as_deref() == Some(what))
    {
        return Ok(m.clone());
    }
    let prefixed: Vec<&Manifest> = runs.iter().filter(|m| m.run_id.starts_with(what)).collect();
    match prefixed.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(StoreError::NotFound(format!(
            "no run with id, label or model {what:?} in {} (tolk runs lists them)",
            runs_dir(out).display()
        ))),
        _ => Err(StoreError::NotFound(format!(
            "{what:?} matches {} runs; give more of the id",
            prefixed.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_sort_by_time_and_name_the_model() {
        let t1 = time::macros::datetime!(2026-11-23 12:13:14 UTC);
        let t2 = time::macros::datetime!(2026-11-23 12:13:15 UTC);
        let a = new_run_id(t1, "gpt-4o-mini", "x");
        let b = new_run_id(t2, "Qwen/Qwen2.5 0.5B", "x");
        assert!(a.starts_with("20261123T121314Z-gpt-4o-mini-"), "{a}");
        assert!(b.starts_with("20261123T121315Z-qwen-qwen2.5-0.5b-"), "{b}");
        assert!(a < b);
    }

    #[test]
    fn runs_started_in_the_same_second_list_newest_first_whatever_their_model() {
        let dir = tempfile::tempdir().unwrap();
        let t = time::macros::datetime!(2026-11-23 12:13:14.2 UTC);
        // "zeta" started first but its id sorts after "alpha"'s within the same second.
        for (model, at) in [
            ("zeta", t),
            ("alpha", t + time::Duration::milliseconds(300)),
        ] {
            let m = Manifest {
                run_id: new_run_id(at, model, "x"),
                created_at: at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap(),
                ..Manifest::default()
            };
            let d = run_dir(dir.path(), &m.run_id);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("manifest.json"), serde_json::to_vec(&m).unwrap()).unwrap();
        }
        let models: Vec<String> = list_runs(dir.path())
            .iter()
            .map(|m| m.run_id.split('-').nth(1).unwrap().to_string())
            .collect();
        assert_eq!(models, ["alpha", "zeta"]);
    }

    #[test]
    fn statuses_are_tagged_and_older_plain_strings_still_read() {
        let failed = TaskStatus::Failed {
            reason: "chunk 2/5: HTTP 500".into(),
        };
        assert_eq!(
            serde_json::to_value(&failed).unwrap(),
            serde_json::json!({"status": "failed", "reason": "chunk 2/5: HTTP 500"})
        );
        assert_eq!(
            serde_json::to_value(TaskStatus::Ok).unwrap(),
            serde_json::json!({"status": "ok"})
        );
        let back: TaskStatus =
            serde_json::from_value(serde_json::to_value(&failed).unwrap()).unwrap();
        assert_eq!(back, failed);
        let old: BTreeMap<String, TaskStatus> = serde_json::from_value(
            serde_json::json!({"stance": "ok", "summary": "failed: chunk 2/5: HTTP 500"}),
        )
        .unwrap();
        assert_eq!(old["stance"], TaskStatus::Ok);
        assert_eq!(old["summary"], failed);
        assert_eq!(failed.to_string(), "failed: chunk 2/5: HTTP 500");
        // An unreadable input was a fake task "read" before.
        let mut e: InputEntry = serde_json::from_value(serde_json::json!({
            "doc_id": "d", "path": "d.txt", "sha256": "", "lines": 0,
            "tasks": {"read": "failed: d.txt: the file is empty"}
        }))
        .unwrap();
        e.upgrade();
        assert_eq!(e.unreadable(), Some("d.txt: the file is empty"));
        assert!(!e.tasks.contains_key("read"));
    }

    #[test]
    fn attempts_are_named_only_when_some_call_took_more_than_one() {
        let mut u = UsageTotals {
            requests: 7,
            attempts: 7,
            ..UsageTotals::default()
        };
        assert_eq!(u.calls_made(), "7 calls made");
        u.attempts = 9;
        assert_eq!(u.calls_made(), "7 calls made (9 attempts)");
    }
}
