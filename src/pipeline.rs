//! The run: schedules the stages for every letter and task, with bounded concurrency (the
//! client's semaphore), the cache in front of every call, progress, and a clean end on Ctrl-C.
//!
//! Invariants: every answer is written to the cache the moment it arrives (atomically), so an
//! interrupted or failed run loses nothing already paid for and the next run only makes the
//! missing calls; a failed document or task is recorded with its reason and the others finish;
//! the run folder is written only from validated, grounded results.

use crate::chunk::{self, Chunk, ChunkConfig};
use crate::config::StructuredMode;
use crate::ingest::{self, Document};
use crate::llm::{BoxFuture, Client, LlmError};
use crate::progress::Progress;
use crate::prompt::PromptSet;
use crate::report::markdown;
use crate::store::cache::{CACHE_FORMAT, Cache, CacheKey, Entry, hash_json};
use crate::store::run::{
    InputEntry, Manifest, ModelInfo, Params, UsageTotals, new_run_id, run_dir,
};
use crate::store::{StoreError, write_atomic, write_json};
use crate::tasks::{self, Answer, CallSpec, Caller, Task, TaskContext, TaskError};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The warning that marks runs on the embedded model.
pub const EMBEDDED_WARNING: &str =
    "embedded small model, for trying tolk out; use a capable endpoint for real work";

/// A fatal problem: nothing could be done (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Input(#[from] ingest::IngestError),
    #[error(transparent)]
    Prompt(#[from] crate::prompt::PromptError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the endpoint {endpoint} cannot be reached")]
    Unreachable {
        endpoint: String,
        #[source]
        source: LlmError,
    },
    #[error("nothing to do: {0}")]
    Nothing(String),
    #[error("interrupted; every answer received so far is cached: run again to finish")]
    Interrupted,
}

/// Where calls go and what identifies their answers.
#[derive(Clone)]
pub struct Endpoint {
    pub client: Arc<Client>,
    /// Recorded in the manifest and in cache keys: a base URL, or "embedded:<model>".
    pub endpoint: String,
    pub model: String,
    pub mode: StructuredMode,
    pub embedded: bool,
    /// USD per million prompt and completion tokens.
    pub prices: Option<(f64, f64)>,
    /// Check at start that the endpoint answers (HTTP endpoints).
    pub preflight: Option<Preflight>,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub inputs: Vec<PathBuf>,
    pub out: PathBuf,
    pub prompts: PathBuf,
    pub tasks: Vec<Task>,
    pub label: Option<String>,
    pub refresh: bool,
    pub progress: bool,
    pub chunk: ChunkConfig,
    pub temperature: f64,
    pub seed: Option<u64>,
    pub max_tokens: Option<u32>,
    pub whole_doc_tokens: usize,
    pub grammar: bool,
}

impl RunOptions {
    /// What every task needs besides the document, with the prompts loaded.
    pub fn task_context(&self, prompts: PromptSet) -> TaskContext {
        TaskContext {
            prompts,
            encoding: self.chunk.encoding,
            temperature: self.temperature,
            seed: self.seed,
            max_tokens: self.max_tokens,
            whole_doc_tokens: self.whole_doc_tokens,
            grammar: self.grammar,
        }
    }
}

/// Why an input could not be read, for the terminal (the manifest keeps "failed: <reason>").
pub fn read_error(entry: &InputEntry) -> &str {
    entry
        .tasks
        .get("read")
        .map(|s| s.trim_start_matches("failed: "))
        .unwrap_or("")
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub run_dir: PathBuf,
    pub manifest: Manifest,
    /// doc_id -> task -> (status, calls, seconds)
    pub table: Vec<(String, String, String, u64, f64)>,
}

impl RunReport {
    pub fn all_ok(&self) -> bool {
        self.manifest.exit_status == 0
    }
}

/// The call executor: the cache first, then the client.
pub struct Executor {
    client: Arc<Client>,
    cache: Cache,
    endpoint: String,
    model: String,
    mode: StructuredMode,
    refresh: bool,
    prices: Option<(f64, f64)>,
    progress: Arc<Progress>,
    hits: AtomicU64,
    live: AtomicU64,
    resolved: std::sync::Mutex<(Option<String>, Option<String>)>,
    /// Checked once, before the first live call: is the endpoint there at all?
    preflight: Option<Preflight>,
    reachable: tokio::sync::OnceCell<Result<(), LlmError>>,
    /// (document, task) whose calls the model rejected as longer than its context.
    too_long: std::sync::Mutex<std::collections::BTreeSet<(String, Task)>>,
    /// (document, task) whose whole-letter answer was cut off at the token limit.
    cut_off: std::sync::Mutex<std::collections::BTreeSet<(String, Task)>>,
}

/// How often a call that is still waiting says so.
const WAITING_NOTICE: std::time::Duration = std::time::Duration::from_secs(60);

/// A check that the endpoint answers at all.
pub type Preflight = Arc<dyn Fn() -> BoxFuture<'static, Result<(), LlmError>> + Send + Sync>;

impl Executor {
    /// The cache key of a call.
    pub fn key(&self, spec: &CallSpec) -> CacheKey {
        key_for(&self.endpoint, &self.model, self.mode, spec)
    }

    /// Did a call of this document's task exceed the model's context (since the last ask)?
    fn take_too_long(&self, doc_id: &str, task: Task) -> bool {
        self.too_long
            .lock()
            .expect("too_long lock")
            .remove(&(doc_id.to_string(), task))
    }

    /// Was a whole-letter answer of this document's task cut off (since the last ask)?
    fn take_cut_off(&self, doc_id: &str, task: Task) -> bool {
        self.cut_off
            .lock()
            .expect("cut_off lock")
            .remove(&(doc_id.to_string(), task))
    }

    fn cost(&self, prompt: u64, completion: u64) -> f64 {
        self.prices
            .map(|(i, o)| (prompt as f64 * i + completion as f64 * o) / 1e6)
            .unwrap_or(0.0)
    }
}

/// The cache key of `spec` for this endpoint and model.
pub fn key_for(endpoint: &str, model: &str, mode: StructuredMode, spec: &CallSpec) -> CacheKey {
    let r = &spec.request;
    CacheKey {
        format: CACHE_FORMAT,
        endpoint: endpoint.to_string(),
        model: model.to_string(),
        messages_sha256: hash_json(&r.messages),
        schema_sha256: hash_json(&r.schema),
        temperature: r.temperature.unwrap_or(0.0),
        seed: r.seed,
        max_tokens: r.max_tokens,
        mode: mode.as_str().to_string(),
    }
}

impl Caller for Executor {
    fn call(&self, spec: CallSpec) -> BoxFuture<'_, Result<Answer, TaskError>> {
        Box::pin(async move {
            let key = self.key(&spec);
            let digest = key.digest();
            if !self.refresh
                && let Some(entry) = self.cache.get(&digest)
            {
                self.hits.fetch_add(1, Ordering::Relaxed);
                {
                    let mut r = self.resolved.lock().expect("resolved lock");
                    if r.0.is_none() {
                        *r = (entry.model.clone(), entry.system_fingerprint.clone());
                    }
                }
                self.progress
                    .call_done(&spec.doc_id, &spec.what, true, 0, 0.0);
                return Ok(Answer {
                    value: entry.value,
                    model: entry.model,
                    cached: true,
                });
            }
            if let Some(check) = &self.preflight {
                let reachable = self.reachable.get_or_init(|| check()).await;
                if let Err(e) = reachable {
                    return Err(TaskError::Unreachable(e.clone()));
                }
            }
            // The clock starts when the call leaves the client's queue, not while it waits
            // behind others (the embedded model takes one call at a time).
            let label = format!("{} {}", spec.task.name(), spec.what);
            let what = format!("{} {label}", spec.doc_id);
            let sent_at: std::sync::Mutex<Option<Instant>> = std::sync::Mutex::new(None);
            let on_sent = || {
                *sent_at.lock().expect("sent_at lock") = Some(Instant::now());
                self.progress.call_started(&spec.doc_id, &label);
            };
            let call = self.client.chat_json_observed(&spec.request, &on_sent);
            tokio::pin!(call);
            let mut tick = tokio::time::interval_at(
                tokio::time::Instant::now() + WAITING_NOTICE,
                WAITING_NOTICE,
            );
            // The last whole minute reported for the current attempt.
            let mut reported = 0;
            let result = loop {
                tokio::select! {
                    r = &mut call => break r,
                    _ = tick.tick() => {
                        let sent = *sent_at.lock().expect("sent_at lock");
                        let waited = sent.map_or(0, |t| t.elapsed().as_secs());
                        if waited >= WAITING_NOTICE.as_secs() && waited / 60 != reported {
                            reported = waited / 60;
                            self.progress.call_waiting(&spec.doc_id, &label, waited);
                        }
                    }
                }
            };
            let (completion, value) = result.map_err(|source| {
                if source.context_exceeded() {
                    self.too_long
                        .lock()
                        .expect("too_long lock")
                        .insert((spec.doc_id.clone(), spec.task));
                }
                if matches!(source, LlmError::Truncated { .. }) && spec.what == tasks::WHOLE_LETTER
                {
                    self.cut_off
                        .lock()
                        .expect("cut_off lock")
                        .insert((spec.doc_id.clone(), spec.task));
                }
                TaskError::Llm {
                    what: what.clone(),
                    source,
                }
            })?;
            let usage = completion.usage.unwrap_or_default();
            let entry = Entry {
                key,
                task: spec.task.name().to_string(),
                doc_id: spec.doc_id.clone(),
                created_at: now_rfc3339(),
                model: completion.model.clone(),
                system_fingerprint: completion.system_fingerprint.clone(),
                prompt_tokens: usage.prompt_tokens,
                completion_tokens: usage.completion_tokens,
                value: value.clone(),
            };
            // fsync blocks: keep it off the async workers.
            let (cache, put_digest, put_entry) = (self.cache.clone(), digest.clone(), entry);
            let written =
                tokio::task::spawn_blocking(move || cache.put(&put_digest, &put_entry)).await;
            match written {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(
                    "could not write the cache ({e}); the answer is used but not kept"
                ),
                Err(e) => tracing::warn!(
                    "could not write the cache ({e}); the answer is used but not kept"
                ),
            }
            self.live.fetch_add(1, Ordering::Relaxed);
            {
                let mut r = self.resolved.lock().expect("resolved lock");
                if r.0.is_none() {
                    *r = (
                        completion.model.clone(),
                        completion.system_fingerprint.clone(),
                    );
                }
            }
            self.progress.call_done(
                &spec.doc_id,
                &spec.what,
                false,
                usage.prompt_tokens + usage.completion_tokens,
                self.cost(usage.prompt_tokens, usage.completion_tokens),
            );
            Ok(Answer {
                value,
                model: completion.model,
                cached: false,
            })
        })
    }
}

/// Counts the calls of one task (for the end-of-run table).
struct Counted<'a> {
    inner: &'a Executor,
    calls: AtomicU64,
}

impl Caller for Counted<'_> {
    fn call(&self, spec: CallSpec) -> BoxFuture<'_, Result<Answer, TaskError>> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.call(spec)
    }
}

pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A document ready for the tasks.
pub struct Prepared {
    pub doc: Arc<Document>,
    pub chunks: Arc<Vec<Chunk>>,
    pub warnings: Vec<String>,
}

/// Read and chunk every input; a file that cannot be read becomes an input entry with its reason.
pub fn prepare(files: &[PathBuf], cfg: &ChunkConfig) -> (Vec<Prepared>, Vec<InputEntry>) {
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for f in files {
        match ingest::read(f) {
            Ok(doc) => {
                let chunking = chunk::split(&doc, cfg);
                let mut warnings = doc.warnings.clone();
                warnings.extend(chunking.warnings);
                ok.push(Prepared {
                    doc: Arc::new(doc),
                    chunks: Arc::new(chunking.chunks),
                    warnings,
                });
            }
            Err(e) => {
                let id = f
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                failed.push(InputEntry {
                    doc_id: id,
                    path: f.display().to_string(),
                    sha256: std::fs::read(f)
                        .map(|b| ingest::sha256_hex(&b))
                        .unwrap_or_default(),
                    lines: 0,
                    tasks: BTreeMap::from([("read".to_string(), format!("failed: {e}"))]),
                    ..InputEntry::default()
                });
            }
        }
    }
    (ok, failed)
}

/// The first-round calls of a document's task (the summary's reduce step comes after).
pub fn first_round(
    p: &Prepared,
    task: Task,
    ctx: &TaskContext,
) -> Result<Vec<CallSpec>, TaskError> {
    Ok(match task {
        Task::Translate => tasks::translate::calls(&p.doc, &p.chunks, ctx)?
            .into_iter()
            .filter_map(|(_, s)| s)
            .collect(),
        Task::Summary => {
            let maps = tasks::summary::map_calls(&p.doc, &p.chunks, ctx)?;
            if maps.is_empty() {
                vec![tasks::summary::reduce_call(&p.doc, &p.chunks, &[], ctx)?]
            } else {
                maps
            }
        }
        Task::Stance => tasks::stance::calls(&p.doc, &p.chunks, ctx)?,
    })
}

/// The number of calls a task makes (the reduce step included), without rendering anything.
pub fn call_count(p: &Prepared, task: Task, ctx: &TaskContext) -> usize {
    call_count_of(task, &p.chunks, ctx)
}

fn call_count_of(task: Task, chunks: &[Chunk], ctx: &TaskContext) -> usize {
    let n = chunks.len().max(1);
    match task {
        // A chunk without words is carried over without a call.
        Task::Translate => chunks
            .iter()
            .filter(|c| tasks::translate::has_words(&c.text))
            .count(),
        Task::Summary if n > 1 => n + 1,
        Task::Summary => 1,
        Task::Stance => {
            let total: usize = chunks.iter().map(|c| c.tokens).sum();
            if total <= ctx.whole_doc_tokens || n == 1 {
                1
            } else {
                n
            }
        }
    }
}

/// The smallest chunk budget a context-length rejection cuts down to.
pub const MIN_RESPLIT_BUDGET: usize = 128;

/// Run one task of one document.
async fn run_task(
    task: Task,
    doc: &Document,
    chunks: &[Chunk],
    ctx: &TaskContext,
    caller: &dyn Caller,
) -> Outcome {
    match task {
        Task::Translate => {
            let (out, res, model) = tasks::translate::run(doc, chunks, ctx, caller).await;
            Outcome::Translation(out, res, model)
        }
        Task::Summary => Outcome::Summary(tasks::summary::run(doc, chunks, ctx, caller).await),
        Task::Stance => Outcome::Stance(tasks::stance::run(doc, chunks, ctx, caller).await),
    }
}

impl Outcome {
    fn failed(&self) -> bool {
        matches!(
            self,
            Outcome::Translation(_, Err(_), _) | Outcome::Summary(Err(_)) | Outcome::Stance(Err(_))
        )
    }
}

enum Outcome {
    Translation(
        tasks::translate::TranslationOut,
        Result<(), TaskError>,
        Option<String>,
    ),
    Summary(Result<(tasks::summary::SummaryOut, tasks::summary::SummaryNotes), TaskError>),
    Stance(Result<(tasks::stance::StanceOut, u32), TaskError>),
}

/// Run every task on every input and write the run folder.
pub async fn run(opts: &RunOptions, ep: &Endpoint) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let files = ingest::collect_inputs(&opts.inputs)?;
    if files.is_empty() {
        return Err(RunError::Nothing("no .txt files in the inputs".into()));
    }
    let prompts = PromptSet::load(&opts.prompts)?;
    let ctx = Arc::new(opts.task_context(prompts.clone()));
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "prompts loaded"
    );
    let (prepared, mut failed_inputs) = prepare(&files, &opts.chunk);
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "inputs read and chunked"
    );
    for f in &failed_inputs {
        eprintln!("error: {}", read_error(f));
    }
    let cache = Cache::new(opts.out.join("cache"));

    let total: u64 = prepared
        .iter()
        .flat_map(|p| opts.tasks.iter().map(|&t| call_count(p, t, &ctx) as u64))
        .sum();
    let progress = Arc::new(Progress::new(total, opts.progress));
    if ep.embedded {
        progress.println(&format!("note: {EMBEDDED_WARNING}"));
    }
    let exec = Arc::new(Executor {
        client: ep.client.clone(),
        cache,
        endpoint: ep.endpoint.clone(),
        model: ep.model.clone(),
        mode: ep.mode,
        refresh: opts.refresh,
        prices: ep.prices,
        progress: progress.clone(),
        hits: AtomicU64::new(0),
        live: AtomicU64::new(0),
        resolved: std::sync::Mutex::new((None, None)),
        preflight: ep.preflight.clone(),
        reachable: tokio::sync::OnceCell::new(),
        too_long: std::sync::Mutex::new(Default::default()),
        cut_off: std::sync::Mutex::new(Default::default()),
    });

    let mut set = tokio::task::JoinSet::new();
    let mut pending: BTreeMap<String, usize> = BTreeMap::new();
    for p in &prepared {
        progress.doc_started(&p.doc.id);
        pending.insert(p.doc.id.clone(), opts.tasks.len());
        for &task in &opts.tasks {
            let (doc, chunks, ctx, exec, progress) = (
                p.doc.clone(),
                p.chunks.clone(),
                ctx.clone(),
                exec.clone(),
                progress.clone(),
            );
            let chunking = opts.chunk;
            set.spawn(async move {
                let t0 = Instant::now();
                let counted = Counted {
                    inner: exec.as_ref(),
                    calls: AtomicU64::new(0),
                };
                let (mut chunks, mut ctx, mut budget) = (chunks, ctx, chunking.max_tokens);
                let mut notes = Vec::new();
                let outcome = loop {
                    let outcome = run_task(task, &doc, &chunks, &ctx, &counted).await;
                    // A prompt longer than the model's context: cut this letter's chunks at half
                    // the budget and try the task again (its cached answers still count).
                    let why = if outcome.failed()
                        && exec.take_too_long(&doc.id, task)
                        && budget > MIN_RESPLIT_BUDGET
                    {
                        budget = (budget / 2).max(MIN_RESPLIT_BUDGET);
                        let cfg = ChunkConfig {
                            max_tokens: budget,
                            ..chunking
                        };
                        // A whole-letter call that was too long goes per chunk from now on.
                        let letter_tokens: usize = chunks.iter().map(|c| c.tokens).sum();
                        chunks = Arc::new(chunk::split(&doc, &cfg).chunks);
                        ctx = Arc::new(TaskContext {
                            whole_doc_tokens: (ctx.whole_doc_tokens.min(letter_tokens) / 2).max(1),
                            ..(*ctx).clone()
                        });
                        format!(
                            "a prompt was longer than the model's context; re-cut at {budget} tokens per chunk and tried again"
                        )
                    } else if outcome.failed()
                        && exec.take_cut_off(&doc.id, task)
                        && chunks.len() > 1
                        && ctx.whole_doc_tokens > 0
                    {
                        // A whole-letter answer cut off at the token limit (a small model tends
                        // to run on over a long letter): judge the letter per chunk instead,
                        // with shorter prompts and shorter answers.
                        ctx = Arc::new(TaskContext {
                            whole_doc_tokens: 0,
                            ..(*ctx).clone()
                        });
                        "the answer for the whole letter was cut off at the token limit; judged per chunk instead".to_string()
                    } else {
                        break outcome;
                    };
                    // Tried again: say so, and count the new plan's calls.
                    let note = format!("{}: {why}", task.name());
                    progress.println(&format!("{}: {note}", doc.id));
                    progress.add_calls(call_count_of(task, &chunks, &ctx) as u64);
                    notes.push(note);
                };
                let calls = counted.calls.load(Ordering::Relaxed);
                (
                    doc.id.clone(),
                    task,
                    outcome,
                    t0.elapsed().as_secs_f64(),
                    calls,
                    notes,
                )
            });
        }
    }

    let mut results: Vec<(String, Task, Outcome, f64, u64, Vec<String>)> = Vec::new();
    loop {
        tokio::select! {
            next = set.join_next() => {
                let Some(joined) = next else { break };
                let Ok((doc_id, task, outcome, secs, calls, notes)) = joined else { continue };
                let status = match &outcome {
                    Outcome::Translation(_, Ok(()), _) | Outcome::Summary(Ok(_)) | Outcome::Stance(Ok(_)) => "ok".to_string(),
                    Outcome::Translation(_, Err(e), _) => format!("failed: {e}"),
                    Outcome::Summary(Err(e)) | Outcome::Stance(Err(e)) => format!("failed: {e}"),
                };
                progress.task_done(&doc_id, task.name(), &status);
                if let Some(n) = pending.get_mut(&doc_id) {
                    *n -= 1;
                    if *n == 0 {
                        progress.doc_done(&doc_id);
                    }
                }
                results.push((doc_id, task, outcome, secs, calls, notes));
            }
            _ = tokio::signal::ctrl_c() => {
                set.abort_all();
                progress.finish();
                return Err(RunError::Interrupted);
            }
        }
    }
    progress.finish();
    if let Some(Err(source)) = exec.reachable.get() {
        return Err(RunError::Unreachable {
            endpoint: ep.endpoint.clone(),
            source: source.clone(),
        });
    }

    // Write the run folder.
    let created = time::OffsetDateTime::now_utc();
    let salt: String = prepared.iter().map(|p| p.doc.sha256.as_str()).collect();
    let run_id = new_run_id(created, &ep.model, &salt);
    let dir = run_dir(&opts.out, &run_id);
    std::fs::create_dir_all(&dir).map_err(crate::store::io_err(&dir))?;
    let warning = ep.embedded.then_some(EMBEDDED_WARNING);
    let (resolved, fingerprint) = exec.resolved.lock().expect("resolved lock").clone();
    let model_name = resolved.clone().unwrap_or_else(|| ep.model.clone());

    let mut inputs: Vec<InputEntry> = prepared
        .iter()
        .map(|p| InputEntry {
            doc_id: p.doc.id.clone(),
            path: p.doc.path.display().to_string(),
            sha256: p.doc.sha256.clone(),
            lines: p.doc.line_count,
            warnings: p.warnings.clone(),
            ..InputEntry::default()
        })
        .collect();
    results.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let mut table = Vec::new();
    let mut all_ok = failed_inputs.is_empty();
    for (doc_id, task, outcome, secs, calls, notes) in results {
        let entry = inputs
            .iter_mut()
            .find(|e| e.doc_id == doc_id)
            .expect("every result has an input");
        entry.warnings.extend(notes);
        let doc_dir = dir.join(&doc_id);
        let status = match outcome {
            Outcome::Translation(mut out, res, model) => {
                out.model = model.unwrap_or_else(|| model_name.clone());
                entry.warnings.extend(tasks::translate::empty(&out));
                if opts.grammar {
                    entry
                        .warnings
                        .extend(tasks::translate::stopped_at_bound(&out));
                }
                write_json(&doc_dir.join("translation.json"), &out)?;
                write_atomic(
                    &doc_dir.join("translation.md"),
                    markdown::translation(&out, warning).as_bytes(),
                )?;
                match res {
                    Ok(()) => "ok".to_string(),
                    Err(e) => format!("failed: {e}"),
                }
            }
            Outcome::Summary(Ok((mut out, notes))) => {
                if out.model.is_empty() {
                    out.model = model_name.clone();
                }
                entry.dropped_citations += notes.dropped_citations;
                entry.warnings.extend(notes.warnings);
                write_json(&doc_dir.join("summary.json"), &out)?;
                write_atomic(
                    &doc_dir.join("summary.md"),
                    markdown::summary(&out, warning).as_bytes(),
                )?;
                "ok".to_string()
            }
            Outcome::Stance(Ok((mut out, unverified))) => {
                if out.model.is_empty() {
                    out.model = model_name.clone();
                }
                entry.unverified_quotes += unverified;
                write_json(&doc_dir.join("stance.json"), &out)?;
                write_atomic(
                    &doc_dir.join("stance.md"),
                    markdown::stance(&out, warning).as_bytes(),
                )?;
                "ok".to_string()
            }
            Outcome::Summary(Err(e)) | Outcome::Stance(Err(e)) => format!("failed: {e}"),
        };
        if status != "ok" {
            all_ok = false;
        }
        table.push((
            doc_id.clone(),
            task.name().to_string(),
            status.clone(),
            calls,
            secs,
        ));
        entry.tasks.insert(task.name().to_string(), status);
    }
    inputs.append(&mut failed_inputs);
    // Every attempt's tokens: an answer cut off at the limit, a reply that needed repair and a
    // retried call are paid for too, not only the answers kept.
    let stats = ep.client.stats();
    let prompt_tokens = stats.prompt_tokens.load(Ordering::Relaxed);
    let completion_tokens = stats.completion_tokens.load(Ordering::Relaxed);
    let manifest = Manifest {
        run_id: run_id.clone(),
        label: opts.label.clone(),
        created_at: created
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        tolk_version: env!("CARGO_PKG_VERSION").to_string(),
        endpoint: ep.endpoint.clone(),
        warning: warning.map(str::to_string),
        model: ModelInfo {
            requested: ep.model.clone(),
            resolved,
            system_fingerprint: fingerprint,
        },
        params: Params {
            temperature: opts.temperature,
            seed: opts.seed,
            max_tokens: opts.max_tokens,
            structured_output: ep.mode.as_str().to_string(),
            chunk_max_tokens: opts.chunk.max_tokens,
            encoding: opts.chunk.encoding.name().to_string(),
            tasks: opts.tasks.iter().map(|t| t.name().to_string()).collect(),
        },
        prompts: prompts.hashes.clone(),
        inputs,
        usage: UsageTotals {
            requests: exec.live.load(Ordering::Relaxed),
            attempts: stats.requests.load(Ordering::Relaxed),
            cache_hits: exec.hits.load(Ordering::Relaxed),
            prompt_tokens,
            completion_tokens,
            cost_usd: ep
                .prices
                .map(|_| exec.cost(prompt_tokens, completion_tokens)),
        },
        duration_s: (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        exit_status: if all_ok { 0 } else { 1 },
    };
    write_json(&dir.join("manifest.json"), &manifest)?;
    Ok(RunReport {
        run_dir: dir,
        manifest,
        table,
    })
}

/// Print the end-of-run table: document x task status, calls and time.
pub fn print_table(report: &RunReport, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let w = report
        .table
        .iter()
        .map(|r| r.0.len())
        .max()
        .unwrap_or(8)
        .max(8);
    writeln!(
        out,
        "{:<w$}  {:<10} {:>5} {:>7}  status",
        "document", "task", "calls", "time"
    )?;
    for (doc, task, status, calls, secs) in &report.table {
        let status = if status.len() > 100 {
            format!("{}…", &status[..status.floor_char_boundary(100)])
        } else {
            status.clone()
        };
        writeln!(
            out,
            "{doc:<w$}  {task:<10} {calls:>5} {:>6.1}s  {status}",
            secs
        )?;
    }
    for i in &report.manifest.inputs {
        if let Some(read) = i.tasks.get("read") {
            writeln!(
                out,
                "{:<w$}  {:<10} {:>5} {:>7}  {read}",
                i.doc_id, "read", 0, ""
            )?;
        }
    }
    let u = &report.manifest.usage;
    writeln!(
        out,
        "{}, {} from the cache; {} prompt + {} completion tokens{}; {:.1}s",
        u.calls_made(),
        u.cache_hits,
        u.prompt_tokens,
        u.completion_tokens,
        u.cost_usd.map(|c| format!("; ${c:.4}")).unwrap_or_default(),
        report.manifest.duration_s
    )?;
    Ok(())
}

/// One row of a dry-run plan.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlanRow {
    pub doc_id: String,
    pub task: String,
    pub chunks: usize,
    pub calls: usize,
    pub cached: usize,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// What `tolk run` would do, without calling anything: documents, chunks, calls (and how many
/// the cache already has), estimated tokens.
pub fn plan(
    opts: &RunOptions,
    endpoint: &str,
    model: &str,
    mode: StructuredMode,
) -> Result<(Vec<PlanRow>, Vec<InputEntry>), RunError> {
    let files = ingest::collect_inputs(&opts.inputs)?;
    let prompts = PromptSet::load(&opts.prompts)?;
    let ctx = opts.task_context(prompts);
    let (prepared, failed) = prepare(&files, &opts.chunk);
    let cache = Cache::new(opts.out.join("cache"));
    let mut rows = Vec::new();
    for p in &prepared {
        for &task in &opts.tasks {
            let specs = first_round(p, task, &ctx).unwrap_or_default();
            let mut row = PlanRow {
                doc_id: p.doc.id.clone(),
                task: task.name().to_string(),
                chunks: p.chunks.len(),
                calls: call_count(p, task, &ctx),
                cached: 0,
                prompt_tokens: 0,
                completion_tokens: 0,
            };
            for s in &specs {
                if !opts.refresh && cache.contains(&key_for(endpoint, model, mode, s).digest()) {
                    row.cached += 1;
                    continue;
                }
                let prompt: usize = s
                    .request
                    .messages
                    .iter()
                    .map(|m| ctx.encoding.count(&m.content) + 4)
                    .sum::<usize>()
                    // An endpoint reads the schema as prompt tokens; the embedded model (whose
                    // quotes are constrained) gets it as a grammar instead.
                    + if ctx.grammar {
                        0
                    } else {
                        ctx.encoding.count(
                            &s.request
                                .schema
                                .as_ref()
                                .map(|x| x.schema.to_string())
                                .unwrap_or_default(),
                        )
                    };
                row.prompt_tokens += prompt as u64;
                row.completion_tokens += match task {
                    Task::Translate => {
                        (p.chunks.iter().map(|c| c.tokens).sum::<usize>() as u64 * 6 / 5)
                            / specs.len().max(1) as u64
                    }
                    Task::Summary => 250,
                    Task::Stance => 1200,
                };
            }
            if task == Task::Summary && p.chunks.len() > 1 {
                // The reduce step: when every note is cached, its request is known exactly.
                let notes: Option<Vec<serde_json::Value>> = specs
                    .iter()
                    .map(|s| {
                        cache
                            .get(&key_for(endpoint, model, mode, s).digest())
                            .map(|e| e.value)
                    })
                    .collect();
                let reduce_cached = !opts.refresh
                    && notes
                        .and_then(|n| tasks::summary::reduce_call(&p.doc, &p.chunks, &n, &ctx).ok())
                        .is_some_and(|r| {
                            cache.contains(&key_for(endpoint, model, mode, &r).digest())
                        });
                if reduce_cached {
                    row.cached += 1;
                } else {
                    row.prompt_tokens += 600 + 60 * p.chunks.len() as u64;
                    row.completion_tokens += 400;
                }
            }
            rows.push(row);
        }
    }
    Ok((rows, failed))
}
