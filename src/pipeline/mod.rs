//! The run: every task of every letter, with bounded concurrency (the client's semaphore), the
//! cache in front of every call, progress, and a clean end on Ctrl-C.
//!
//! - [`options`]: what to run (configuration, scope and flags -> [`RunOptions`])
//! - [`prepare`]: the inputs read and chunked, or unreadable with their reason
//! - [`executor`]: every call: the cache, else the endpoint (connected on the first miss)
//! - [`retry`]: a task tried again with smaller pieces when its failure says how
//! - [`write`]: the run folder and its manifest
//! - [`plan`] and [`staleness`]: what a run would call, without calling (dry run, status, batch)
//!
//! Invariants: every answer is written to the cache the moment it arrives (atomically), so an
//! interrupted or failed run loses nothing already paid for and the next run only makes the
//! missing calls; a failed document or task is recorded with its reason and the others finish;
//! the run folder is written only from validated, grounded results.

pub mod auto;
pub mod executor;
pub mod options;
pub mod plan;
pub mod prepare;
pub mod retry;
pub mod staleness;
pub mod write;

pub use options::{RunFlags, RunOptions};

use crate::config::TranslateMode;
use crate::endpoint::Endpoint;
use crate::ingest;
use crate::llm::LlmError;
use crate::progress::Progress;
use crate::store::StoreError;
use crate::store::cache::Cache;
use crate::store::run::{Manifest, TaskStatus};
use crate::tasks::{Prior, Task, TaskContext, TaskOutput, TaskResult, When};
use executor::{Counted, Executor};
use prepare::Prepared;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// The warning that marks runs on the local model.
pub const LOCAL_WARNING: &str =
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
    #[error("{signal}: stopped; every answer received so far is cached: run again to finish")]
    Interrupted { signal: Stop },
}

/// What stopped a run from outside: Ctrl-C, or SIGTERM (`docker stop`, systemd, a CI
/// timeout). Both stop it the same clean way; the exit code says which (128 + the signal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Interrupt,
    Terminate,
}

impl Stop {
    pub fn exit_code(self) -> u8 {
        match self {
            Stop::Interrupt => 130,
            Stop::Terminate => 143,
        }
    }
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stop::Interrupt => "interrupted (Ctrl-C)",
            Stop::Terminate => "terminated (SIGTERM)",
        })
    }
}

/// Resolves when the run is asked to stop: Ctrl-C, or SIGTERM where there is one.
async fn stop_requested() -> Stop {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => Stop::Interrupt,
                _ = term.recv() => Stop::Terminate,
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    Stop::Interrupt
}

/// One task of one document as it ended, for the closing table.
#[derive(Debug, Clone)]
pub struct TaskRow {
    pub doc_id: String,
    pub task: Task,
    pub status: TaskStatus,
    pub calls: u64,
    /// Seconds from the start of the run until the task finished.
    pub secs: f64,
    /// What the output checks found in its output.
    pub findings: crate::checks::Count,
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub run_dir: PathBuf,
    pub manifest: Manifest,
    pub rows: Vec<TaskRow>,
}

impl RunReport {
    pub fn all_ok(&self) -> bool {
        self.manifest.exit_status == 0
    }
}

/// A finished task, before it is written.
pub struct Finished {
    pub doc_id: String,
    pub task: Task,
    pub result: TaskResult,
    pub secs: f64,
    pub calls: u64,
    /// What was tried again, and why.
    pub notes: Vec<String>,
}

/// Run every task on every input and write the run folder.
pub async fn run(opts: &RunOptions, ep: Arc<Endpoint>) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let files = prepare::files(&opts.inputs)?;
    if files.is_empty() {
        return Err(RunError::Nothing(
            "no .txt or .pdf files in the inputs".into(),
        ));
    }
    let prompts = opts.load_prompts()?;
    let mut opts = opts.clone();
    let mut ctx = opts.task_context(prompts.clone())?;
    let inputs = prepare::prepare(&files, &opts.chunk);
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "inputs read and chunked"
    );
    for u in &inputs.unreadable {
        eprintln!("error: {}", u.reason);
    }
    let total: u64 = inputs
        .docs
        .iter()
        .flat_map(|p| {
            opts.tasks
                .iter()
                .map(|&t| t.kind().call_count(&p.doc, &p.chunks, &ctx) as u64)
        })
        .sum();
    let progress = Arc::new(Progress::new(total, opts.progress));
    if ep.scope.local {
        progress.println(&format!("note: {LOCAL_WARNING}"));
    }
    if let Some(why) = opts
        .translate_reason
        .as_ref()
        .filter(|_| !opts.translate_trial)
    {
        progress.println(&format!("note: {why}"));
    }
    let cache = Cache::new(opts.out.join("cache"));
    let exec = Arc::new(Executor::new(
        ep.clone(),
        cache,
        opts.refresh,
        progress.clone(),
    ));
    let checker = crate::checks::Checker::for_prompts(&prompts);
    if opts.translate_trial
        && opts.tasks.contains(&Task::Translate)
        && let Some(first) = inputs.docs.first()
    {
        // auto, and no decision yet for this endpoint: chunk mode on the first letter decides.
        let translate_calls = |ctx: &TaskContext| -> u64 {
            inputs
                .docs
                .iter()
                .map(|p| Task::Translate.kind().call_count(&p.doc, &p.chunks, ctx) as u64)
                .sum()
        };
        let before = translate_calls(&ctx);
        if let Some(d) = auto::trial(
            &first.doc,
            &first.chunks,
            &ctx,
            exec.as_ref(),
            &checker,
            &ep.scope,
        )
        .await
        {
            progress.println(&format!("note: {}", d.why));
            if d.mode == TranslateMode::Segment {
                // The trial's calls, and the letters' calls in the other mode.
                let trial = Task::Translate
                    .kind()
                    .call_count(&first.doc, &first.chunks, &ctx) as u64;
                ctx.segment_mode = true;
                progress.add_calls(trial + translate_calls(&ctx).saturating_sub(before));
            }
            opts.translate_mode = d.mode;
            opts.translate_reason = Some(d.why.clone());
            if let Err(e) = auto::record(&opts.out, &d) {
                progress.println(&format!(
                    "warning: the decision of translate.mode auto is not kept: {}",
                    crate::error::chain(&e)
                ));
            }
        }
    }
    let ctx = Arc::new(ctx);
    let letter = Arc::new(LetterRun {
        ctx: ctx.clone(),
        chunking: opts.chunk,
        exec: exec.clone(),
        progress: progress.clone(),
        checker,
        model: ep.scope.model.clone(),
        started,
    });
    let finished = schedule(&inputs.docs, &opts, &letter).await?;
    progress.finish();
    if let Some(source) = exec.connect_error() {
        return Err(RunError::Unreachable {
            endpoint: ep.scope.endpoint.clone(),
            source: source.clone(),
        });
    }
    let counts = write::Counts {
        live: exec.live(),
        hits: exec.hits(),
        resolved: exec.resolved(),
        stats: exec.client().map(|c| c.stats()),
        cost: {
            let exec = exec.clone();
            Box::new(move |p, c| exec.cost(p, c))
        },
    };
    Ok(write::run_folder(
        &opts,
        &ep,
        &prompts,
        inputs,
        finished,
        counts,
        started.elapsed().as_secs_f64(),
    )?)
}

/// Every letter at once (the client bounds what is in flight), each letter's tasks as its
/// graph allows ([`run_letter`]), until all are done or Ctrl-C, which stops the run cleanly:
/// what was answered is in the cache.
async fn schedule(
    docs: &[Prepared],
    opts: &RunOptions,
    letter: &Arc<LetterRun>,
) -> Result<Vec<Finished>, RunError> {
    let mut set = tokio::task::JoinSet::new();
    let mut ids = std::collections::HashMap::new();
    for p in docs {
        letter.progress.doc_started(&p.doc.id);
        let (doc, chunks, tasks, letter) = (
            p.doc.clone(),
            p.chunks.clone(),
            opts.tasks.clone(),
            letter.clone(),
        );
        let doc_id = doc.id.clone();
        let handle = set.spawn(async move { letter.run(&tasks, &doc, chunks).await });
        ids.insert(handle.id(), doc_id);
    }
    let mut finished = Vec::new();
    // Listened for once, for the whole run: a signal between two letters is not missed.
    let stop = stop_requested();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            next = set.join_next_with_id() => {
                let Some(joined) = next else { break };
                let done = match joined {
                    Ok((_, done)) => done,
                    Err(e) => panicked(&ids, &opts.tasks, e),
                };
                if let Some(f) = done.first() {
                    letter.progress.doc_done(&f.doc_id);
                }
                finished.extend(done);
            }
            signal = &mut stop => {
                set.abort_all();
                letter.progress.finish();
                return Err(RunError::Interrupted { signal });
            }
        }
    }
    Ok(finished)
}

/// A letter whose run panicked: each of its tasks failed with the panic's message, so that the
/// manifest, the exit code and the summary say so instead of leaving the letter out.
fn panicked(
    ids: &std::collections::HashMap<tokio::task::Id, String>,
    tasks: &[Task],
    e: tokio::task::JoinError,
) -> Vec<Finished> {
    let Some(doc_id) = ids.get(&e.id()) else {
        return Vec::new();
    };
    let message = match e.try_into_panic() {
        Ok(p) => p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic".into()),
        Err(e) => e.to_string(),
    };
    eprintln!("error: {doc_id}: internal error, a bug in tolk: {message}");
    tasks
        .iter()
        .map(|&task| Finished {
            doc_id: doc_id.clone(),
            task,
            result: TaskResult::failed(crate::tasks::TaskError::Internal(message.clone())),
            secs: 0.0,
            calls: 0,
            notes: Vec::new(),
        })
        .collect()
}

/// What every letter of a run shares: the run's context, the executor, the progress display,
/// the checks, and the model a task's output names when none of its answers did.
pub struct LetterRun {
    pub ctx: Arc<TaskContext>,
    pub chunking: crate::chunk::ChunkConfig,
    pub exec: Arc<Executor>,
    pub progress: Arc<Progress>,
    pub checker: crate::checks::Checker,
    pub model: String,
    pub started: Instant,
}

/// One task of a letter whose calls are done, before its output is final.
struct Ran {
    task: Task,
    tried: retry::Tried,
    secs: f64,
    calls: u64,
}

impl LetterRun {
    /// Run a letter's `tasks` as the task graph says ([`Task::reads`]): each task's calls as
    /// soon as the outputs they read are there (review after the translation, refine after
    /// both; the others at once), then each output made final after the outputs it reads
    /// before that (refine's English into the translation, the translation's English under the
    /// stance quotes), then checked. What it returns is final: writing it is only writing.
    async fn run(
        &self,
        tasks: &[Task],
        doc: &ingest::Document,
        chunks: Arc<Vec<crate::chunk::Chunk>>,
    ) -> Vec<Finished> {
        use futures::stream::{FuturesUnordered, StreamExt};
        let mut ran: Vec<Ran> = Vec::new();
        // The outputs of the tasks that ran, for the tasks that read them before their calls.
        let mut outputs: Vec<(Task, Arc<TaskOutput>)> = Vec::new();
        let mut waiting: Vec<Task> = tasks.to_vec();
        let mut running = FuturesUnordered::new();
        loop {
            let ready: Vec<Task> = waiting
                .iter()
                .copied()
                .filter(|t| {
                    t.needs()
                        .all(|n| !tasks.contains(&n) || ran.iter().any(|r| r.task == n))
                })
                .collect();
            waiting.retain(|t| !ready.contains(t));
            for task in ready {
                let inputs: Vec<(Task, Arc<TaskOutput>)> = outputs
                    .iter()
                    .filter(|(t, _)| task.needs().any(|n| n == *t))
                    .cloned()
                    .collect();
                running.push(self.run_task(task, doc, chunks.clone(), inputs));
            }
            let Some(done) = running.next().await else {
                break;
            };
            self.progress.task_done(
                &doc.id,
                done.task.name(),
                &write::status_of(&done.tried.result).to_string(),
            );
            if let Some(o) = &done.tried.result.output {
                outputs.push((done.task, Arc::new(o.clone())));
            }
            ran.push(done);
        }
        drop(outputs);
        self.finish(ran, doc)
    }

    /// One task's calls, with the outputs it reads before them, tried again with smaller
    /// pieces when its failure says so.
    async fn run_task(
        &self,
        task: Task,
        doc: &ingest::Document,
        chunks: Arc<Vec<crate::chunk::Chunk>>,
        inputs: Vec<(Task, Arc<TaskOutput>)>,
    ) -> Ran {
        let read: Vec<(Task, &TaskOutput)> = inputs.iter().map(|(t, o)| (*t, o.as_ref())).collect();
        let prior = Prior::of(task, When::BeforeRun, &read);
        if task == Task::Refine
            && let (Some(t), Some(r)) = (prior.translation, prior.review)
        {
            self.progress
                .add_calls(crate::tasks::refine::count(t, r) as u64);
        }
        let counted = Counted::new(self.exec.as_ref());
        let tried = retry::run_task(
            task,
            doc,
            chunks,
            self.ctx.clone(),
            self.chunking,
            &counted,
            &self.progress,
            prior,
        )
        .await;
        Ran {
            task,
            tried,
            secs: self.started.elapsed().as_secs_f64(),
            calls: counted.calls(),
        }
    }

    /// Every output made final, in the graph's order: a task's output after the outputs it
    /// reads [`When::BeforeFinal`] are final themselves; then its model named, its pages found
    /// and its checks run.
    fn finish(&self, mut ran: Vec<Ran>, doc: &ingest::Document) -> Vec<Finished> {
        let model = self.exec.resolved().0.unwrap_or_else(|| self.model.clone());
        let mut done: Vec<Finished> = Vec::new();
        while !ran.is_empty() {
            let i = ran
                .iter()
                .position(|r| {
                    r.task.reads().iter().all(|read| {
                        read.when != When::BeforeFinal
                            || !ran.iter().any(|other| other.task == read.task)
                    })
                })
                .expect("the task graph has no cycle (a test in tasks says so)");
            let Ran {
                task,
                tried,
                secs,
                calls,
            } = ran.remove(i);
            let mut result = tried.result;
            if let Some(output) = &mut result.output {
                let finals: Vec<(Task, &TaskOutput)> = done
                    .iter()
                    .filter_map(|f| f.result.output.as_ref().map(|o| (f.task, o)))
                    .collect();
                task.kind()
                    .finish(output, Prior::of(task, When::BeforeFinal, &finals));
                output.fill_model(&model);
                output.fill_pages(doc);
                // The analysis is held to the letter; a translation needs none of it.
                let letter = matches!(
                    output,
                    TaskOutput::Summary(_) | TaskOutput::Stance(_) | TaskOutput::Questions(_)
                )
                .then(|| crate::checks::Letter::of(doc));
                self.checker.output(output, letter.as_ref());
            }
            done.push(Finished {
                doc_id: doc.id.clone(),
                task,
                result,
                secs,
                calls,
                notes: tried.notes,
            });
        }
        done.sort_by_key(|f| f.task);
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_letter_whose_run_panics_fails_each_of_its_tasks_with_the_message() {
        let mut set = tokio::task::JoinSet::new();
        let handle = set.spawn(async {
            if true {
                panic!("end byte index 8 is not a char boundary");
            }
            Vec::<Finished>::new()
        });
        let ids = std::collections::HashMap::from([(handle.id(), "brief".to_string())]);
        let Some(Err(e)) = set.join_next_with_id().await else {
            panic!("the task should have panicked")
        };
        let done = panicked(&ids, &[Task::Translate, Task::Summary], e);
        assert_eq!(done.len(), 2);
        assert!(
            done.iter()
                .all(|f| f.doc_id == "brief" && f.result.output.is_none())
        );
        let said = done[0].result.error.as_ref().unwrap().to_string();
        assert!(
            said.contains("a bug in tolk") && said.contains("char boundary"),
            "{said}"
        );
    }
}
