//! Batch: the calls `tolk run` would make, written as OpenAI Batch API input (JSONL, also what
//! vLLM's `run-batch` reads), and the batch's results read back into the cache, so that a
//! `tolk run` afterwards completes from the cache with no live calls.
//!
//! - The calls are found by running the real tasks against a
//!   [`crate::pipeline::plan::Recorder`]: a caller that answers from the cache and records every
//!   call it cannot answer. So a batch holds exactly what the run would call, and a task's second
//!   round (the summary's reduce step) appears as soon as the answers of its first round are
//!   cached.
//! - `custom_id` is the call's cache-key digest. Each exported call also leaves a pending record
//!   (`OUT/batch/requests/<2 hex>/<digest>.json`) with its cache key and schema, so that import
//!   can validate a result exactly as the live client does and store it under the right key, in
//!   any order, from any number of files.

use crate::endpoint::Scope;
use crate::llm::openai::{body_for, http_error, parse_completion};
use crate::llm::{ChatRequest, structured};
use crate::pipeline::executor::cache_entry;
use crate::pipeline::prepare::{self, Unreadable};
use crate::pipeline::{self, RunOptions, plan};
use crate::store::cache::{Cache, CacheKey, Entry};
use crate::store::{
    Durability, StoreError, now_rfc3339, read_json, write_atomic_with, write_json_with,
};
use crate::tasks::{CallSpec, Task};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// OpenAI's limits for one batch input file.
pub const MAX_LINES: usize = 50_000;
pub const MAX_BYTES: u64 = 200_000_000;

/// The URL every line asks for (OpenAI Batch and vLLM run-batch).
pub const CHAT_URL: &str = "/v1/chat/completions";

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error(transparent)]
    Run(#[from] pipeline::RunError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Prompt(#[from] crate::prompt::PromptError),
    #[error("{path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// The endpoint and model the batch results will be used with: they are part of every cache key.
#[derive(Debug, Clone)]
pub struct Target {
    pub scope: Scope,
    /// `[endpoint] extra_body`, merged into every body as the live client does.
    pub extra_body: Option<Value>,
}

/// What import needs to know about an exported call.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Pending {
    pub custom_id: String,
    pub key: CacheKey,
    pub task: Task,
    pub doc_id: String,
    /// "chunk 2/5", "summary", "letter"...
    pub what: String,
    /// 1, or 2 for a call that needed answers of round 1 (the summary's reduce step).
    pub round: u8,
    pub request: ChatRequest,
    pub exported_at: String,
}

/// Where the pending record of `custom_id` lives.
pub fn pending_path(out: &Path, custom_id: &str) -> PathBuf {
    let prefix = custom_id.get(..2).unwrap_or("xx");
    out.join("batch")
        .join("requests")
        .join(prefix)
        .join(format!("{custom_id}.json"))
}

/// One file written by export.
#[derive(Debug, Clone, Serialize)]
pub struct ExportFile {
    pub path: PathBuf,
    pub lines: usize,
    pub bytes: u64,
}

/// What export did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExportReport {
    pub files: Vec<ExportFile>,
    /// Calls exported, by round.
    pub round1: usize,
    pub round2: usize,
    /// Calls whose answers the cache already has.
    pub cached: u64,
    /// Exported calls that an earlier export already wrote (their results were not imported).
    pub exported_before: usize,
    /// Later-round calls that wait for first-round answers: "doc: summary: 1 call waits for 3
    /// answers of round 1".
    pub waiting: Vec<String>,
    #[serde(skip)]
    pub unreadable: Vec<Unreadable>,
}

impl ExportReport {
    pub fn calls(&self) -> usize {
        self.round1 + self.round2
    }
}

/// Limits of one batch file.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_lines: usize,
    pub max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_lines: MAX_LINES,
            max_bytes: MAX_BYTES,
        }
    }
}

/// The name of part `k` (1-based) of `n`: the file itself when there is one part, else
/// `name.<k>.jsonl`.
pub fn part_path(file: &Path, k: usize, n: usize) -> PathBuf {
    if n <= 1 {
        return file.to_path_buf();
    }
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "batch".into());
    let ext = file
        .extension()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "jsonl".into());
    let width = n.to_string().len();
    file.with_file_name(format!("{stem}.{k:0width$}.{ext}"))
}

/// One batch input line.
pub fn batch_line(custom_id: &str, body: &Value) -> String {
    json!({"custom_id": custom_id, "method": "POST", "url": CHAT_URL, "body": body}).to_string()
}

/// Split lines into files of at most `limits` (a single line larger than max_bytes is an error:
/// no service would take it).
pub fn split_lines(lines: &[String], limits: Limits) -> Result<Vec<Vec<&String>>, BatchError> {
    let mut parts: Vec<Vec<&String>> = Vec::new();
    let mut current: Vec<&String> = Vec::new();
    let mut bytes = 0u64;
    for line in lines {
        let n = line.len() as u64 + 1;
        if n > limits.max_bytes {
            return Err(BatchError::Invalid(format!(
                "one request is {n} bytes, more than the {} allowed in a batch file",
                limits.max_bytes
            )));
        }
        if !current.is_empty()
            && (current.len() >= limits.max_lines.max(1) || bytes + n > limits.max_bytes)
        {
            parts.push(std::mem::take(&mut current));
            bytes = 0;
        }
        current.push(line);
        bytes += n;
    }
    if !current.is_empty() {
        parts.push(current);
    }
    Ok(parts)
}

/// Export every call `tolk run` would make for `opts` and is not cached, as batch files.
pub async fn export(
    opts: &RunOptions,
    target: &Target,
    file: &Path,
    limits: Limits,
) -> Result<ExportReport, BatchError> {
    let files = prepare::files(&opts.inputs).map_err(pipeline::RunError::from)?;
    if files.is_empty() {
        return Err(
            pipeline::RunError::Nothing("no .txt or .pdf files in the inputs".into()).into(),
        );
    }
    let ctx = opts.task_context(opts.load_prompts()?)?;
    let inputs = prepare::prepare(&files, &opts.chunk);
    let cache = Cache::new(opts.out.join("cache"));
    let mut report = ExportReport {
        unreadable: inputs.unreadable,
        ..ExportReport::default()
    };
    let mut specs: Vec<CallSpec> = Vec::new();
    let mut hits = 0;
    for p in &inputs.docs {
        for &task in &opts.tasks {
            let r = plan::record(task, p, &ctx, &cache, &target.scope, false).await;
            hits += r.cached as u64;
            if r.waiting > 0 {
                let (n, k) = (r.waiting, r.to_make.len());
                report.waiting.push(format!(
                    "{}: {}: {n} call{} wait{} for {k} answer{} of round 1",
                    p.doc.id,
                    task.name(),
                    if n == 1 { "" } else { "s" },
                    if n == 1 { "s" } else { "" },
                    if k == 1 { "" } else { "s" },
                ));
            }
            specs.extend(r.to_make);
        }
    }
    report.cached = hits;

    // One line per distinct call (two identical requests are one call and one cache entry).
    let mut seen = BTreeSet::new();
    let mut lines = Vec::new();
    let exported_at = now_rfc3339();
    for spec in specs {
        let round = spec.round;
        let key = target.scope.key(&spec);
        let id = key.digest();
        if !seen.insert(id.clone()) {
            continue;
        }
        let pending_file = pending_path(&opts.out, &id);
        if pending_file.is_file() {
            report.exported_before += 1;
        }
        let pending = Pending {
            custom_id: id.clone(),
            key,
            task: spec.task,
            doc_id: spec.doc_id.clone(),
            what: spec.what.clone(),
            round,
            request: spec.request.clone(),
            exported_at: exported_at.clone(),
        };
        // What import needs must be on disk before the batch file that refers to it.
        write_json_with(&pending_file, &pending, Durability::Synced)?;
        let body = body_for(
            &target.scope.model,
            target.scope.mode,
            target.extra_body.as_ref(),
            &spec.request,
        );
        lines.push(batch_line(&id, &body));
        if round == 2 {
            report.round2 += 1;
        } else {
            report.round1 += 1;
        }
    }
    let parts = split_lines(&lines, limits)?;
    let n = parts.len();
    for (k, part) in parts.iter().enumerate() {
        let path = part_path(file, k + 1, n);
        let mut bytes = Vec::new();
        for line in part {
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
        }
        write_atomic_with(&path, &bytes, Durability::Synced)?;
        report.files.push(ExportFile {
            path,
            lines: part.len(),
            bytes: bytes.len() as u64,
        });
    }
    Ok(report)
}

/// A result line that could not be used.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Failure {
    /// "file:line".
    pub at: String,
    pub custom_id: String,
    /// "doc task what", when the custom_id is known.
    pub call: Option<String>,
    pub reason: String,
}

/// What import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub lines: usize,
    /// Answers validated and stored in the cache.
    pub stored: usize,
    /// Results for calls the cache already answered (an earlier import, or a live run).
    pub already_cached: usize,
    /// Further lines for a custom_id already stored by this import (the first one is kept).
    pub duplicates: usize,
    /// Lines whose call failed: an error, a non-200 status, or a body that does not validate.
    pub failed: Vec<Failure>,
    /// Lines whose custom_id was not exported from this output folder.
    pub unknown: Vec<Failure>,
    /// Lines that are not batch output at all.
    pub malformed: Vec<Failure>,
}

impl ImportReport {
    pub fn clean(&self) -> bool {
        self.failed.is_empty() && self.unknown.is_empty() && self.malformed.is_empty()
    }
}

/// Why one result cannot be used, or the entry to store.
fn read_result(line: &Value, pending: &Pending) -> Result<Entry, String> {
    if let Some(err) = line.get("error").filter(|e| !e.is_null()) {
        let code = err["code"].as_str().unwrap_or("error");
        let message = err["message"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| err.to_string());
        return Err(format!("{code}: {message}"));
    }
    let response = line
        .get("response")
        .filter(|r| r.is_object())
        .ok_or("no response and no error")?;
    let status = response["status_code"].as_u64().unwrap_or(0) as u16;
    let body = &response["body"];
    // The body as the live client would have received it.
    let text = match body {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if status != 200 {
        let err = http_error(status, &reqwest::header::HeaderMap::new(), &text);
        return Err(err.to_string());
    }
    let completion =
        parse_completion(&text, std::time::Duration::ZERO).map_err(|e| e.to_string())?;
    // Checked exactly as a live reply is.
    let value = structured::accept(&completion, &pending.request).map_err(|e| e.to_string())?;
    Ok(cache_entry(
        pending.key.clone(),
        pending.task,
        &pending.doc_id,
        &completion,
        value,
    ))
}

/// Read batch output files (OpenAI Batch output and error files, vLLM run-batch output) into the
/// cache of `out`. Lines may come in any order and from any number of files.
pub fn import(out: &Path, files: &[PathBuf]) -> Result<ImportReport, BatchError> {
    let cache = Cache::new(out.join("cache"));
    let mut report = ImportReport::default();
    let mut pendings: HashMap<String, Option<Pending>> = HashMap::new();
    // custom_id -> index in report.failed, while no line for it has succeeded.
    let mut failed_at: BTreeMap<String, usize> = BTreeMap::new();
    let mut stored: BTreeSet<String> = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|e| BatchError::Read {
            path: file.clone(),
            message: e.to_string(),
        })?;
        for (i, raw) in text.lines().enumerate() {
            if raw.trim().is_empty() {
                continue;
            }
            report.lines += 1;
            let at = format!("{}:{}", file.display(), i + 1);
            let line: Value = match serde_json::from_str(raw) {
                Ok(v) => v,
                Err(e) => {
                    report.malformed.push(Failure {
                        at,
                        custom_id: String::new(),
                        call: None,
                        reason: format!("not JSON: {e}"),
                    });
                    continue;
                }
            };
            let Some(id) = line["custom_id"].as_str().map(String::from) else {
                report.malformed.push(Failure {
                    at,
                    custom_id: String::new(),
                    call: None,
                    reason: "no custom_id: not a batch output line".into(),
                });
                continue;
            };
            let pending = pendings
                .entry(id.clone())
                .or_insert_with(|| {
                    let valid = id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit());
                    valid
                        .then(|| read_json::<Pending>(&pending_path(out, &id)).ok())
                        .flatten()
                })
                .clone();
            let Some(pending) = pending else {
                report.unknown.push(Failure {
                    at,
                    custom_id: id,
                    call: None,
                    reason: format!(
                        "unknown custom_id: not exported by `tolk batch export` into {}",
                        out.display()
                    ),
                });
                continue;
            };
            let call = format!(
                "{} {} {}",
                pending.doc_id,
                pending.task.name(),
                pending.what
            );
            if stored.contains(&id) {
                report.duplicates += 1;
                continue;
            }
            if cache.contains(&id) {
                report.already_cached += 1;
                stored.insert(id);
                continue;
            }
            match read_result(&line, &pending) {
                Ok(entry) => {
                    cache.put(&id, &entry)?;
                    report.stored += 1;
                    if let Some(k) = failed_at.remove(&id) {
                        report.failed[k].reason.clear();
                    }
                    stored.insert(id);
                }
                Err(reason) => {
                    if let Some(&k) = failed_at.get(&id) {
                        // A second failure of the same call: keep the latest reason.
                        report.failed[k] = Failure {
                            at,
                            custom_id: id,
                            call: Some(call),
                            reason,
                        };
                        report.duplicates += 1;
                    } else {
                        failed_at.insert(id.clone(), report.failed.len());
                        report.failed.push(Failure {
                            at,
                            custom_id: id,
                            call: Some(call),
                            reason,
                        });
                    }
                }
            }
        }
    }
    // Failures later answered by another line are not failures.
    report.failed.retain(|f| !f.reason.is_empty());
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_split_at_the_line_and_byte_limits() {
        let lines: Vec<String> = (0..7).map(|i| format!("{{\"n\":{i}}}")).collect();
        let parts = split_lines(
            &lines,
            Limits {
                max_lines: 3,
                max_bytes: 1000,
            },
        )
        .unwrap();
        assert_eq!(
            parts.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![3, 3, 1]
        );
        // Each line is 8 bytes with its newline: 20 bytes hold two.
        let parts = split_lines(
            &lines,
            Limits {
                max_lines: 100,
                max_bytes: 20,
            },
        )
        .unwrap();
        assert_eq!(
            parts.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![2, 2, 2, 1]
        );
        assert!(
            split_lines(
                &lines,
                Limits {
                    max_lines: 100,
                    max_bytes: 4
                }
            )
            .is_err()
        );
        assert!(split_lines(&[], Limits::default()).unwrap().is_empty());
    }

    #[test]
    fn parts_are_numbered_only_when_there_are_several() {
        let f = Path::new("/tmp/x/calls.jsonl");
        assert_eq!(part_path(f, 1, 1), f);
        assert_eq!(part_path(f, 2, 3), Path::new("/tmp/x/calls.2.jsonl"));
        assert_eq!(part_path(f, 7, 12), Path::new("/tmp/x/calls.07.jsonl"));
    }

    fn pending() -> Pending {
        let schema = json!({"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"], "additionalProperties": false});
        Pending {
            custom_id: "0".repeat(64),
            key: CacheKey {
                format: 1,
                endpoint: "http://x/v1".into(),
                model: "m".into(),
                messages_sha256: String::new(),
                schema_sha256: String::new(),
                temperature: 0.0,
                seed: None,
                max_tokens: Some(100),
                mode: "json_schema".into(),
            },
            task: Task::Summary,
            doc_id: "d".into(),
            what: "summary".into(),
            round: 1,
            request: ChatRequest {
                schema: Some(crate::llm::SchemaSpec {
                    name: "s".into(),
                    schema,
                }),
                max_tokens: Some(100),
                ..ChatRequest::default()
            },
            exported_at: String::new(),
        }
    }

    fn result(status: u16, content: &str, finish: &str) -> Value {
        json!({"id": "batch_req_1", "custom_id": "0".repeat(64), "error": null, "response": {
            "status_code": status, "request_id": "r",
            "body": {"id": "c", "object": "chat.completion", "model": "m-2024",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}}}})
    }

    #[test]
    fn a_result_is_validated_like_a_live_reply() {
        let p = pending();
        let e = read_result(&result(200, "{\"a\": 1}", "stop"), &p).unwrap();
        assert_eq!(e.value, json!({"a": 1}));
        assert_eq!(e.model.as_deref(), Some("m-2024"));
        assert_eq!((e.prompt_tokens, e.completion_tokens), (10, 3));
        let err = read_result(&result(200, "{\"a\": \"x\"}", "stop"), &p).unwrap_err();
        assert!(err.contains("does not match the schema"), "{err}");
        let err = read_result(&result(200, "{\"a\": 1", "length"), &p).unwrap_err();
        assert!(err.contains("cut off"), "{err}");
        let err = read_result(&result(200, "no json", "stop"), &p).unwrap_err();
        assert!(err.contains("not valid JSON"), "{err}");
        let mut bad = result(400, "", "stop");
        bad["response"]["body"] =
            json!({"error": {"message": "Invalid model", "code": "model_not_found"}});
        let err = read_result(&bad, &p).unwrap_err();
        assert!(
            err.contains("HTTP 400") && err.contains("Invalid model"),
            "{err}"
        );
        let failed = json!({"id": "x", "custom_id": "0", "response": null,
            "error": {"code": "batch_expired", "message": "This request could not be executed before the completion window expired."}});
        let err = read_result(&failed, &p).unwrap_err();
        assert!(err.starts_with("batch_expired: "), "{err}");
    }
}
