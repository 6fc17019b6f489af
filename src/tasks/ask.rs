//! Questions asked one at a time after the letter (`analysis.mode = "per_question"`, the
//! embedded model's default): every summary and stance call on a part of a letter starts with
//! the same system prompt and the same `<source>` block, and only the question after it
//! differs. A model that keeps its KV cache (the embedded model's slots share a prefix) reads
//! the letter once for all of them; a small model answers one question about a text it has just
//! read better than a dozen fields of one combined answer (the 1.5B model gave every stance
//! topic the same stance and rationale when asked for all at once).
//!
//! A letter that does not fit [`TaskContext::whole_doc_tokens`] is cut into parts of
//! consecutive chunks, each as large as that allows, so that the questions are asked a few
//! times per letter rather than once per chunk.

use super::{Segment, TaskContext, segments, segments_json, whole_document};
use crate::chunk::Chunk;
use crate::ingest::Document;
use crate::llm::Message;
use crate::prompt::PromptError;
use serde_json::{Value, json};

/// The prompt that asks every question.
pub const PROMPT: &str = "ask";

/// The parts of a letter, each asked every question: the whole letter when it fits
/// `ctx.whole_doc_tokens` (or has one chunk), else runs of consecutive chunks that fit it (a
/// chunk larger than that alone is a part of its own). A paragraph split between two chunks of
/// one part is whole again in it.
pub fn parts(doc: &Document, chunks: &[Chunk], ctx: &TaskContext) -> Vec<Vec<Segment>> {
    if whole_letter(chunks, ctx) {
        return vec![whole_document(doc)];
    }
    groups(chunks, ctx.whole_doc_tokens)
        .into_iter()
        .map(|g| {
            let merged = merge(&chunks[g.0..g.1]);
            segments(doc, std::slice::from_ref(&merged), 0)
        })
        .collect()
}

/// How many parts [`parts`] makes, without rendering them.
pub fn part_count(chunks: &[Chunk], ctx: &TaskContext) -> usize {
    if whole_letter(chunks, ctx) {
        1
    } else {
        groups(chunks, ctx.whole_doc_tokens).len()
    }
}

/// Whether the letter is asked as a whole (it fits `ctx.whole_doc_tokens`, or is one chunk).
pub fn whole_letter(chunks: &[Chunk], ctx: &TaskContext) -> bool {
    let total: usize = chunks.iter().map(|c| c.tokens).sum();
    total <= ctx.whole_doc_tokens || chunks.len() <= 1
}

/// Runs `[start, end)` of consecutive chunks, greedily, each at most `budget` tokens.
fn groups(chunks: &[Chunk], budget: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut tokens = 0;
    for (i, c) in chunks.iter().enumerate() {
        if i > start && tokens + c.tokens > budget {
            out.push((start, i));
            start = i;
            tokens = 0;
        }
        tokens += c.tokens;
    }
    out.push((start, chunks.len()));
    out
}

/// Consecutive chunks as one.
fn merge(run: &[Chunk]) -> Chunk {
    let (first, last) = (&run[0], &run[run.len() - 1]);
    let mut paragraphs: Vec<String> = Vec::new();
    for c in run {
        for p in &c.paragraphs {
            if !paragraphs.contains(p) {
                paragraphs.push(p.clone());
            }
        }
    }
    Chunk {
        index: first.index,
        lines: [first.lines[0], last.lines[1]],
        byte_range: [first.byte_range[0], last.byte_range[1]],
        tokens: run.iter().map(|c| c.tokens).sum(),
        paragraphs,
        text: run
            .iter()
            .map(|c| c.text.as_str())
            .collect::<Vec<_>>()
            .join("\n\n"),
    }
}

/// The messages of one question on part `part` (0-based) of `parts`: the shared system prompt,
/// then the letter and the question. `question` names it (`summary`, `notes`, `overall`,
/// `topic`) and carries what it needs (`topic`, the summary's bounds).
pub fn messages(
    ctx: &TaskContext,
    doc: &Document,
    segs: &[Segment],
    part: usize,
    parts: usize,
    question: Value,
) -> Result<Vec<Message>, PromptError> {
    let vars = json!({
        "doc": {"id": doc.id},
        "facts": given(doc.facts()),
        "part": part + 1,
        "parts": parts,
        "glossary": ctx.prompts.glossary_for(&text(segs)),
        "segments": segments_json(segs),
        "question": question,
    });
    ctx.prompts.render(PROMPT, &vars)
}

/// The letter's facts as the prompt gives them: what each is and the letter's words.
pub fn given(f: &crate::ingest::facts::Facts) -> Vec<Value> {
    let mut out = Vec::new();
    let mut add = |what: &str, value: &str| out.push(json!({"what": what, "value": value}));
    if let Some(s) = &f.sender {
        add("from", &s.value);
    }
    for s in &f.signatories {
        match &s.title {
            Some(t) => add("signed by", &format!("{}, {t}", s.name)),
            None => add("signed by", &s.name),
        }
    }
    for a in &f.addressees {
        add("to", &a.value);
    }
    for c in &f.cc {
        add("copy to", &c.value);
    }
    if let Some(d) = &f.date {
        add("date", &d.value);
    }
    if let Some(s) = &f.subject {
        add("subject", &s.value);
    }
    out
}

/// The text of a part, its segments one per line.
pub fn text(segs: &[Segment]) -> String {
    segs.iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}
