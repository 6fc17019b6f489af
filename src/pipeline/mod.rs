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

pub mod executor;
pub mod options;
pub mod plan;
pub mod prepare;
pub mod retry;
pub mod staleness;
pub mod write;

pub use options::{OptionsError, RunFlags, RunOptions};

use crate::endpoint::Endpoint;
use crate::ingest;
use crate::llm::LlmError;
use crate::progress::Progress;
use crate::store::StoreError;
use crate::store::cache::Cache;
use crate::store::run::{Manifest, TaskStatus};
use crate::tasks::{Task, TaskContext, TaskResult};
use executor::{Counted, Executor};
use prepare::Prepared;
use std::collections::BTreeMap;
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
    #[error(transparent)]
    Options(#[from] OptionsError),
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
    let ctx = Arc::new(opts.task_context(prompts.clone()));
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
    if let Some(why) = &opts.translate_reason {
        progress.println(&format!("note: {why}"));
    }
    let cache = Cache::new(opts.out.join("cache"));
    let exec = Arc::new(Executor::new(
        ep.clone(),
        cache,
        opts.refresh,
        progress.clone(),
    ));
    let finished = schedule(&inputs.docs, opts, &ctx, &exec, &progress).await?;
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
        opts,
        &ep,
        &prompts,
        inputs,
        finished,
        counts,
        started.elapsed().as_secs_f64(),
    )?)
}

/// Every task of every document at once (the client bounds what is in flight), until all are
/// done or Ctrl-C, which stops the run cleanly: what was answered is in the cache.
async fn schedule(
    docs: &[Prepared],
    opts: &RunOptions,
    ctx: &Arc<TaskContext>,
    exec: &Arc<Executor>,
    progress: &Arc<Progress>,
) -> Result<Vec<Finished>, RunError> {
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    let mut pending: BTreeMap<String, usize> = BTreeMap::new();
    // Review and refine read the translation, so a letter's translate, review and refine run
    // one after the other in one job; its other tasks run beside them.
    let chaining = opts.tasks.iter().any(|t| t.reads_translation());
    let chained = |t: Task| chaining && (t == Task::Translate || t.reads_translation());
    for p in docs {
        progress.doc_started(&p.doc.id);
        pending.insert(p.doc.id.clone(), opts.tasks.len());
        let mut jobs: Vec<Vec<Task>> = opts
            .tasks
            .iter()
            .filter(|&&t| !chained(t))
            .map(|&t| vec![t])
            .collect();
        let chain: Vec<Task> = opts.tasks.iter().copied().filter(|&t| chained(t)).collect();
        if !chain.is_empty() {
            jobs.push(chain);
        }
        for job in jobs {
            let (doc, chunks, ctx, exec, progress) = (
                p.doc.clone(),
                p.chunks.clone(),
                ctx.clone(),
                exec.clone(),
                progress.clone(),
            );
            let chunking = opts.chunk;
            set.spawn(async move {
                run_job(&job, &doc, chunks, ctx, chunking, &exec, &progress, started).await
            });
        }
    }
    let mut finished = Vec::new();
    loop {
        tokio::select! {
            next = set.join_next() => {
                let Some(joined) = next else { break };
                let Ok(done) = joined else { continue };
                for f in done {
                    progress.task_done(&f.doc_id, f.task.name(), &write::status_of(&f.result).to_string());
                    if let Some(n) = pending.get_mut(&f.doc_id) {
                        *n -= 1;
                        if *n == 0 {
                            progress.doc_done(&f.doc_id);
                        }
                    }
                    finished.push(f);
                }
            }
            _ = tokio::signal::ctrl_c() => {
                set.abort_all();
                progress.finish();
                return Err(RunError::Interrupted);
            }
        }
    }
    Ok(finished)
}

/// Run a letter's `tasks` one after the other, each after the outputs it reads: review gets the
/// translation, refine the translation and the review, and refine's English goes into the
/// translation (the draft kept) before it is written.
#[allow(clippy::too_many_arguments)]
async fn run_job(
    tasks: &[Task],
    doc: &ingest::Document,
    chunks: Arc<Vec<crate::chunk::Chunk>>,
    ctx: Arc<TaskContext>,
    chunking: crate::chunk::ChunkConfig,
    exec: &Executor,
    progress: &Progress,
    started: Instant,
) -> Vec<Finished> {
    use crate::tasks::{Prior, TaskOutput};
    let mut done: Vec<Finished> = Vec::new();
    for &task in tasks {
        let output = |t: Task| {
            done.iter()
                .find(|f| f.task == t)
                .and_then(|f| f.result.output.as_ref())
        };
        let prior = Prior {
            translation: match output(Task::Translate) {
                Some(TaskOutput::Translation(t)) => Some(t),
                _ => None,
            },
            review: match output(Task::Review) {
                Some(TaskOutput::Review(r)) => Some(r),
                _ => None,
            },
        };
        if task == Task::Refine
            && let (Some(t), Some(r)) = (prior.translation, prior.review)
        {
            progress.add_calls(crate::tasks::refine::count(t, r) as u64);
        }
        let counted = Counted::new(exec);
        let tried = retry::run_task(
            task,
            doc,
            chunks.clone(),
            ctx.clone(),
            chunking,
            &counted,
            progress,
            prior,
        )
        .await;
        done.push(Finished {
            doc_id: doc.id.clone(),
            task,
            result: tried.result,
            secs: started.elapsed().as_secs_f64(),
            calls: counted.calls(),
            notes: tried.notes,
        });
    }
    let refined = done.iter().find_map(|f| match (&f.task, &f.result.output) {
        (Task::Refine, Some(TaskOutput::Refine(r))) => Some(r.clone()),
        _ => None,
    });
    if let Some(r) = refined
        && let Some(Finished {
            result:
                TaskResult {
                    output: Some(TaskOutput::Translation(t)),
                    ..
                },
            ..
        }) = done.iter_mut().find(|f| f.task == Task::Translate)
    {
        r.apply(t);
    }
    done
}
