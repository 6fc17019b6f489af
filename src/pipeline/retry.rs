//! When a task fails in a way that says how to do better, it is tried again with smaller
//! pieces; its answers already in the cache still count.
//!
//! - A prompt longer than the model's context: the letter's chunks are cut again at half the
//!   budget (down to [`MIN_RESPLIT_BUDGET`]), and a whole-letter call goes per chunk.
//! - A whole-letter answer cut off at the token limit (a small model tends to run on over a
//!   long letter): the letter is judged per chunk instead, with shorter prompts and answers.

use super::executor::Counted;
use crate::chunk::{self, Chunk, ChunkConfig};
use crate::ingest::Document;
use crate::progress::Progress;
use crate::tasks::{Prior, Task, TaskContext, TaskResult, WHOLE_LETTER};
use std::sync::Arc;

/// The smallest chunk budget a context-length rejection cuts down to.
pub const MIN_RESPLIT_BUDGET: usize = 128;

/// One attempt's pieces.
struct Attempt {
    chunks: Arc<Vec<Chunk>>,
    ctx: Arc<TaskContext>,
    budget: usize,
}

/// How a task ended after its attempts, with a note for each retry.
pub struct Tried {
    pub result: TaskResult,
    pub notes: Vec<String>,
}

/// Run `task` on `doc` (after the outputs it reads, `prior`), and again with smaller pieces
/// when its failure says so.
#[allow(clippy::too_many_arguments)]
pub async fn run_task(
    task: Task,
    doc: &Document,
    chunks: Arc<Vec<Chunk>>,
    ctx: Arc<TaskContext>,
    chunking: ChunkConfig,
    caller: &Counted<'_>,
    progress: &Progress,
    prior: Prior<'_>,
) -> Tried {
    let mut attempt = Attempt {
        chunks,
        ctx,
        budget: chunking.max_tokens,
    };
    let mut notes = Vec::new();
    loop {
        let result = task
            .run_after(doc, &attempt.chunks, &attempt.ctx, caller, prior)
            .await;
        let Some((next, why)) = next_attempt(&result, doc, &attempt, chunking) else {
            return Tried { result, notes };
        };
        attempt = next;
        // Tried again: say so, and count the new plan's calls.
        let note = format!("{}: {why}", task.name());
        progress.println(&format!("{}: {note}", doc.id));
        progress.add_calls(task.kind().call_count(doc, &attempt.chunks, &attempt.ctx) as u64);
        notes.push(note);
    }
}

/// The next attempt after `result`, and why; none when the result stands.
fn next_attempt(
    result: &TaskResult,
    doc: &Document,
    current: &Attempt,
    chunking: ChunkConfig,
) -> Option<(Attempt, String)> {
    let error = result.error.as_ref()?;
    if error.context_exceeded() && current.budget > MIN_RESPLIT_BUDGET {
        let budget = (current.budget / 2).max(MIN_RESPLIT_BUDGET);
        let cfg = ChunkConfig {
            max_tokens: budget,
            ..chunking
        };
        // A whole-letter call that was too long goes per chunk from now on.
        let letter_tokens: usize = current.chunks.iter().map(|c| c.tokens).sum();
        let ctx = TaskContext {
            whole_doc_tokens: (current.ctx.whole_doc_tokens.min(letter_tokens) / 2).max(1),
            ..(*current.ctx).clone()
        };
        let next = Attempt {
            chunks: Arc::new(chunk::split(doc, &cfg).chunks),
            ctx: Arc::new(ctx),
            budget,
        };
        let why = format!(
            "a prompt was longer than the model's context; re-cut at {budget} tokens per chunk and tried again"
        );
        return Some((next, why));
    }
    if error.cut_off(WHOLE_LETTER) && current.chunks.len() > 1 && current.ctx.whole_doc_tokens > 0 {
        let next = Attempt {
            chunks: current.chunks.clone(),
            ctx: Arc::new(TaskContext {
                whole_doc_tokens: 0,
                ..(*current.ctx).clone()
            }),
            budget: current.budget,
        };
        let why = "the answer for the whole letter was cut off at the token limit; judged per chunk instead";
        return Some((next, why.to_string()));
    }
    None
}
