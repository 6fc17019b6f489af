//! The run folder: `OUT/runs/<run_id>/<doc_id>/<task>.json` and `.md` for every result, and the
//! manifest, written atomically from validated, grounded results only.

use super::prepare::Inputs;
use super::{Finished, LOCAL_WARNING, RunOptions, RunReport, TaskRow};
use crate::checks;
use crate::endpoint::Endpoint;
use crate::llm::Stats;
use crate::prompt::PromptSet;
use crate::report::markdown;
use crate::store::run::{
    InputEntry, Manifest, ModelInfo, Params, TaskStatus, UsageTotals, new_run_id, run_dir,
};
use crate::store::{StoreError, Versioned, write_atomic, write_json};
use crate::tasks::translate::has_words;
use crate::tasks::{Task, TaskOutput, TaskResult};
use std::path::Path;
use std::sync::atomic::Ordering;

/// What the executor counted over the run.
pub struct Counts {
    pub live: u64,
    pub hits: u64,
    pub resolved: (Option<String>, Option<String>),
    /// The client's counters: every attempt's tokens (an answer cut off at the limit, a reply
    /// that needed repair and a retried call are paid for too), when a client was made.
    pub stats: Option<std::sync::Arc<Stats>>,
    pub cost: Box<dyn Fn(u64, u64) -> f64>,
}

/// How a task's result reads in the manifest.
pub fn status_of(result: &TaskResult) -> TaskStatus {
    match &result.error {
        None => TaskStatus::Ok,
        Some(e) => TaskStatus::Failed {
            reason: crate::error::chain(e),
        },
    }
}

/// Write one task's output, as JSON and as Markdown.
fn write_output(
    doc_dir: &Path,
    task: Task,
    output: &TaskOutput,
    warning: Option<&str>,
) -> Result<(), StoreError> {
    write_json(&doc_dir.join(task.json_file()), &Versioned::new(output))?;
    write_atomic(
        &doc_dir.join(task.md_file()),
        markdown::output(output, warning).as_bytes(),
    )
}

/// The text extracted from a PDF letter, in its folder of the run: what its line numbers count.
pub const SOURCE_TEXT: &str = "source.txt";

/// Keep the extracted text of every PDF letter beside its outputs.
fn write_sources(dir: &Path, inputs: &Inputs) -> Result<(), StoreError> {
    for p in &inputs.docs {
        if let Some(pdf) = &p.doc.pdf {
            let doc_dir = dir.join(&p.doc.id);
            std::fs::create_dir_all(&doc_dir).map_err(crate::store::io_err(&doc_dir))?;
            write_atomic(&doc_dir.join(SOURCE_TEXT), pdf.text.as_bytes())?;
        }
    }
    Ok(())
}

/// Every readable letter's facts, on every run whatever its tasks: read by rules, no call.
fn write_facts(dir: &Path, inputs: &Inputs) -> Result<(), StoreError> {
    for p in &inputs.docs {
        let facts = p.doc.facts();
        write_json(
            &dir.join(&p.doc.id).join(crate::ingest::facts::FILE),
            &Versioned::new(facts),
        )?;
    }
    Ok(())
}

/// The manifest's entries of the readable inputs, before their tasks are recorded.
fn entries_of(inputs: &Inputs) -> Vec<InputEntry> {
    inputs
        .docs
        .iter()
        .map(|p| InputEntry {
            doc_id: p.doc.id.clone(),
            path: p.doc.path.display().to_string(),
            sha256: p.doc.sha256.clone(),
            lines: p.doc.line_count,
            warnings: p.warnings.clone(),
            source: p.doc.pdf.as_ref().map(|pdf| crate::store::run::SourceText {
                file: SOURCE_TEXT.to_string(),
                sha256: pdf.source_sha256.clone(),
                pages: pdf.page_count,
            }),
            ..InputEntry::default()
        })
        .collect()
}

/// Write every finished task's output (final when its task returned) into `dir`, and record
/// how it ended, and what its checks found, in its input's entry and in the closing table's
/// rows.
fn record(
    dir: &Path,
    finished: Vec<Finished>,
    entries: &mut [InputEntry],
    warning: Option<&str>,
    rows: &mut Vec<TaskRow>,
) -> Result<(), StoreError> {
    for f in finished {
        let entry = entries
            .iter_mut()
            .find(|e| e.doc_id == f.doc_id)
            .expect("every result has an input");
        let status = status_of(&f.result);
        let mut result = f.result;
        entry.warnings.extend(f.notes);
        entry.warnings.append(&mut result.notes.warnings);
        entry.dropped_citations += result.notes.dropped_citations;
        entry.unverified_quotes += result.notes.unverified_quotes;
        let mut found = checks::Tally::new();
        if let Some(output) = &result.output {
            checks::tally(&mut found, checks::findings(output));
            if let TaskOutput::Translation(t) = output {
                let worded = t.segments.iter().filter(|s| has_words(&s.nl)).count();
                entry.segments = Some(worded as u32);
            }
            write_output(&dir.join(&f.doc_id), f.task, output, warning)?;
        }
        checks::merge(&mut entry.findings, &checks::named(&found));
        rows.push(TaskRow {
            doc_id: f.doc_id.clone(),
            task: f.task,
            status: status.clone(),
            calls: f.calls,
            secs: f.secs,
            findings: checks::sum(&found),
        });
        entry.tasks.insert(f.task.name().to_string(), status);
    }
    Ok(())
}

/// Entries (and rows) for the inputs that could not be read: every task `unreadable`.
fn record_unreadable(
    inputs: &Inputs,
    tasks: &[Task],
    entries: &mut Vec<InputEntry>,
    rows: &mut Vec<TaskRow>,
) {
    for u in &inputs.unreadable {
        let status = TaskStatus::Unreadable {
            reason: u.reason.clone(),
        };
        for task in tasks {
            rows.push(TaskRow {
                doc_id: u.doc_id.clone(),
                task: *task,
                status: status.clone(),
                calls: 0,
                secs: 0.0,
                findings: checks::Count::default(),
            });
        }
        entries.push(InputEntry {
            doc_id: u.doc_id.clone(),
            path: u.path.display().to_string(),
            sha256: u.sha256.clone(),
            tasks: tasks
                .iter()
                .map(|t| (t.name().to_string(), status.clone()))
                .collect(),
            ..InputEntry::default()
        });
    }
}

/// Calls, tokens and money over the run.
fn usage(counts: &Counts, priced: bool) -> UsageTotals {
    let load = |c: fn(&Stats) -> &std::sync::atomic::AtomicU64| {
        counts
            .stats
            .as_ref()
            .map_or(0, |s| c(s).load(Ordering::Relaxed))
    };
    let (prompt_tokens, completion_tokens) =
        (load(|s| &s.prompt_tokens), load(|s| &s.completion_tokens));
    UsageTotals {
        requests: counts.live,
        attempts: load(|s| &s.requests),
        cache_hits: counts.hits,
        prompt_tokens,
        completion_tokens,
        cost_usd: priced.then(|| (counts.cost)(prompt_tokens, completion_tokens)),
    }
}

/// Write the run folder and its manifest.
pub fn run_folder(
    opts: &RunOptions,
    ep: &Endpoint,
    prompts: &PromptSet,
    inputs: Inputs,
    mut finished: Vec<Finished>,
    counts: Counts,
    duration_s: f64,
) -> Result<RunReport, StoreError> {
    let created = time::OffsetDateTime::now_utc();
    let salt: String = inputs.docs.iter().map(|p| p.doc.sha256.as_str()).collect();
    let run_id = new_run_id(created, &ep.scope.model, &salt);
    let dir = run_dir(&opts.out, &run_id);
    std::fs::create_dir_all(&dir).map_err(crate::store::io_err(&dir))?;
    let warning = ep.scope.local.then_some(LOCAL_WARNING);
    let (resolved, fingerprint) = counts.resolved.clone();

    write_sources(&dir, &inputs)?;
    write_facts(&dir, &inputs)?;
    let mut entries = entries_of(&inputs);
    let mut rows = Vec::new();
    finished.sort_by(|a, b| (&a.doc_id, a.task).cmp(&(&b.doc_id, b.task)));
    record(&dir, finished, &mut entries, warning, &mut rows)?;
    record_unreadable(&inputs, &opts.tasks, &mut entries, &mut rows);
    let all_ok = entries.iter().all(InputEntry::all_ok);
    let mut findings = checks::Findings::new();
    for e in &entries {
        checks::merge(&mut findings, &e.findings);
    }
    let manifest = Manifest {
        run_id: run_id.clone(),
        label: opts.label.clone(),
        created_at: created
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        tolk_version: env!("CARGO_PKG_VERSION").to_string(),
        endpoint: ep.scope.endpoint.clone(),
        warning: warning.map(str::to_string),
        model: ModelInfo {
            requested: ep.scope.model.clone(),
            resolved,
            system_fingerprint: fingerprint,
        },
        params: Params {
            temperature: opts.temperature,
            seed: opts.seed,
            max_tokens: opts.max_tokens,
            structured_output: ep.scope.mode.as_str().to_string(),
            chunk_max_tokens: opts.chunk.max_tokens,
            encoding: opts.chunk.encoding.name().to_string(),
            tasks: opts.tasks.iter().map(|t| t.name().to_string()).collect(),
            translate_mode: Some(opts.translate_mode.as_str().to_string()),
            analysis_mode: Some(opts.analysis_mode.as_str().to_string()),
        },
        prompts: prompts.hashes.clone(),
        inputs: entries,
        usage: usage(&counts, ep.prices.is_some()),
        findings: Some(findings),
        duration_s: (duration_s * 1000.0).round() / 1000.0,
        exit_status: if all_ok { 0 } else { 1 },
    };
    write_json(&dir.join("manifest.json"), &Versioned::new(&manifest))?;
    Ok(RunReport {
        run_dir: dir,
        manifest,
        rows,
    })
}
