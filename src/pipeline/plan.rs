//! What a run would call, without calling anything: the tasks themselves run against a
//! [`Recorder`], a caller that answers from the cache and records every call it cannot answer.
//! So the plan (`tolk run --dry-run`, `tolk status`) and a batch export hold exactly the calls
//! the run would make, and a task's second round (the summary's reduce step) appears as soon as
//! the answers of its first round are cached.

use super::RunOptions;
use super::prepare::{self, Prepared, Unreadable};
use crate::endpoint::Scope;
use crate::llm::BoxFuture;
use crate::store::cache::Cache;
use crate::tasks::{
    Answer, CallError, CallSpec, Caller, Prior, Task, TaskContext, TaskOutput, TaskResult, When,
};
use serde::Serialize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// A caller that answers from the cache and records every call it cannot answer.
pub struct Recorder<'a> {
    cache: &'a Cache,
    scope: &'a Scope,
    /// Count nothing as cached (`--refresh`).
    refresh: bool,
    recorded: Mutex<Vec<CallSpec>>,
    hits: AtomicU64,
}

impl Caller for Recorder<'_> {
    fn call(&self, spec: CallSpec) -> BoxFuture<'_, Result<Answer, CallError>> {
        Box::pin(async move {
            if !self.refresh
                && let Some(entry) = self.cache.get(&self.scope.key(&spec).digest())
            {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(Answer {
                    value: entry.value,
                    model: entry.model,
                    cached: true,
                });
            }
            self.recorded.lock().expect("recorder lock").push(spec);
            Err(CallError::Deferred)
        })
    }
}

/// The calls of one task on one document, as far as the cache lets them be known.
pub struct Recorded {
    pub task: Task,
    /// Every call the task makes, all rounds included.
    pub calls: usize,
    /// Answered by the cache.
    pub cached: usize,
    /// Calls to make now, rendered.
    pub to_make: Vec<CallSpec>,
    /// Calls of a later round, which cannot be rendered until the calls they need are answered.
    pub waiting: usize,
}

/// The outputs `task` reads before its calls ([`Task::needs`]), as far as the cache has their
/// answers (their own calls are not recorded here: they are the rows of their own tasks).
async fn priors(
    task: Task,
    p: &Prepared,
    ctx: &TaskContext,
    cache: &Cache,
    scope: &Scope,
    refresh: bool,
) -> Vec<(Task, TaskOutput)> {
    let quiet = Recorder::new(cache, scope, refresh);
    let mut outputs: Vec<(Task, TaskOutput)> = Vec::new();
    for need in Task::with_needs(&task.needs().collect::<Vec<_>>()) {
        let read: Vec<(Task, &TaskOutput)> = outputs.iter().map(|(t, o)| (*t, o)).collect();
        let prior = Prior::of(need, When::BeforeRun, &read);
        let result = need.run_after(&p.doc, &p.chunks, ctx, &quiet, prior).await;
        match result {
            // Only a complete review says which segments to refine.
            TaskResult { error: Some(_), .. } if need == Task::Review => break,
            TaskResult {
                output: Some(o), ..
            } => outputs.push((need, o)),
            _ => break,
        }
    }
    outputs
}

impl<'a> Recorder<'a> {
    fn new(cache: &'a Cache, scope: &'a Scope, refresh: bool) -> Recorder<'a> {
        Recorder {
            cache,
            scope,
            refresh,
            recorded: Mutex::new(Vec::new()),
            hits: AtomicU64::new(0),
        }
    }
}

/// Run `task` on a document against a [`Recorder`] (after the outputs it reads, from the
/// cache).
pub async fn record(
    task: Task,
    p: &Prepared,
    ctx: &TaskContext,
    cache: &Cache,
    scope: &Scope,
    refresh: bool,
) -> Recorded {
    let outputs = priors(task, p, ctx, cache, scope, refresh).await;
    let read: Vec<(Task, &TaskOutput)> = outputs.iter().map(|(t, o)| (*t, o)).collect();
    let prior = Prior::of(task, When::BeforeRun, &read);
    let rec = Recorder::new(cache, scope, refresh);
    let _ = task.run_after(&p.doc, &p.chunks, ctx, &rec, prior).await;
    let calls = match (task, prior.translation, prior.review) {
        // Known once the review is: one call per segment with errors to correct.
        (Task::Refine, Some(t), Some(r)) => crate::tasks::refine::count(t, r),
        _ => task.kind().call_count(&p.doc, &p.chunks, ctx),
    };
    let cached = rec.hits.load(Ordering::Relaxed) as usize;
    let to_make = rec.recorded.into_inner().expect("recorder lock");
    Recorded {
        task,
        calls,
        cached,
        waiting: calls.saturating_sub(cached + to_make.len()),
        to_make,
    }
}

/// One row of a plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanRow {
    pub doc_id: String,
    pub task: Task,
    pub chunks: usize,
    pub calls: usize,
    pub cached: usize,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Translate: the segments whose English the translation memory gives (a person's, a
    /// memory's), without a call; none when the memory gives none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept: Option<[usize; 2]>,
}

impl PlanRow {
    /// Calls the run would make.
    pub fn to_make(&self) -> usize {
        self.calls - self.cached
    }
}

/// What `tolk run` would do.
pub struct Plan {
    pub rows: Vec<PlanRow>,
    pub unreadable: Vec<Unreadable>,
}

impl Plan {
    pub fn calls_to_make(&self) -> usize {
        self.rows.iter().map(PlanRow::to_make).sum()
    }
}

/// Tokens of a call as the endpoint counts them: the messages, and the schema unless it goes to
/// the local model as a grammar.
fn prompt_tokens(spec: &CallSpec, ctx: &TaskContext) -> u64 {
    let messages: usize = spec
        .request
        .messages
        .iter()
        .map(|m| ctx.encoding.count(&m.content) + 4)
        .sum();
    let schema = match (&spec.request.schema, ctx.grammar || spec.request.plain) {
        (Some(s), false) => ctx.encoding.count(&s.schema.to_string()),
        _ => 0,
    };
    (messages + schema) as u64
}

/// Prompt tokens of `specs` as the endpoint processes them. The embedded model (`ctx.grammar`)
/// keeps what it decoded and reads only what follows the longest prefix it already holds, so
/// there a call counts its tokens after the text it shares with an earlier call (the system
/// prompt of every paragraph, the letter before each question); an endpoint counts them all.
fn row_prompt_tokens(specs: &[CallSpec], ctx: &TaskContext) -> u64 {
    let texts: Vec<String> = specs
        .iter()
        .map(|s| {
            s.request
                .messages
                .iter()
                .map(|m| m.content.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    let mut total = 0;
    for (i, spec) in specs.iter().enumerate() {
        let full = prompt_tokens(spec, ctx);
        let shared = if ctx.grammar {
            texts[..i]
                .iter()
                .map(|t| common_prefix(t, &texts[i]))
                .max()
                .unwrap_or(0)
        } else {
            0
        };
        let shared = ctx.encoding.count(&texts[i][..shared]) as u64;
        total += full.saturating_sub(shared);
    }
    total
}

/// The common beginning of two strings, in bytes, at a character boundary.
fn common_prefix(a: &str, b: &str) -> usize {
    let mut n = 0;
    for ((i, x), y) in a.char_indices().zip(b.chars()) {
        if x != y {
            return i;
        }
        n = i + x.len_utf8();
    }
    n
}

/// What `tolk run` would do for `opts` in `scope`: documents, chunks, calls (and how many the
/// cache already has), estimated tokens. Nothing is called.
pub async fn plan(opts: &RunOptions, scope: &Scope) -> Result<Plan, super::RunError> {
    let files = prepare::files(&opts.inputs)?;
    let ctx = opts.task_context(opts.load_prompts()?)?;
    let inputs = prepare::prepare(&files, &opts.chunk);
    let cache = Cache::new(opts.out.join("cache"));
    let mut rows = Vec::new();
    for p in &inputs.docs {
        for &task in &opts.tasks {
            let r = record(task, p, &ctx, &cache, scope, opts.refresh).await;
            let (later_in, later_out) = task.kind().later_round_tokens(&p.chunks);
            let waiting = r.waiting as u64;
            rows.push(PlanRow {
                doc_id: p.doc.id.clone(),
                task,
                chunks: p.chunks.len(),
                calls: r.calls,
                cached: r.cached,
                prompt_tokens: row_prompt_tokens(&r.to_make, &ctx) + waiting * later_in,
                completion_tokens: r.to_make.iter().map(|s| s.expected_tokens).sum::<u64>()
                    + waiting * later_out,
                kept: (task == Task::Translate)
                    .then(|| crate::tasks::translate::kept(&p.doc, &p.chunks, &ctx))
                    .filter(|k| k.iter().sum::<usize>() > 0),
            });
        }
    }
    Ok(Plan {
        rows,
        unreadable: inputs.unreadable,
    })
}

#[cfg(test)]
mod tests {
    use super::common_prefix;

    #[test]
    fn the_common_prefix_ends_at_a_character_boundary() {
        assert_eq!(common_prefix("brief één", "brief ééx"), "brief éé".len());
        assert_eq!(common_prefix("vóór", "vóór de brief"), "vóór".len());
        assert_eq!(common_prefix("a", "b"), 0);
        // "é" and "è" share their first byte: the prefix stops before them.
        assert_eq!(common_prefix("xé", "xè"), 1);
    }
}
