//! Summary: map-reduce. Notes per chunk (each citing paragraph ids of that chunk, an enum in the
//! schema), then one document summary of at most 200 words with 3-7 key points citing paragraph
//! ids, which tolk turns into line ranges. A letter that fits one chunk goes straight to the
//! reduce step with its source. Cited ids that do not exist are dropped and counted.
//!
//! Asked per question ([`super::ask`], the embedded model's default), the notes are taken per
//! part of the letter (as large as `whole_doc_tokens` allows) rather than per chunk, and a letter
//! of one part is summarised straight from its source; both put the letter first, as the stance
//! questions do, so the embedded model reads it once for all of them.

use super::{
    About, CallSpec, Caller, Input, Notes, Source, Task, TaskContext, TaskKind, TaskOutput,
    TaskResult, ask, call_all, merge_ranges, segments, segments_json, whole_document,
};
use crate::chunk::Chunk;
use crate::ingest::Document;
use crate::llm::BoxFuture;
use crate::prompt::PromptError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const MAX_WORDS: usize = 200;
pub const MIN_POINTS: usize = 3;
pub const MAX_POINTS: usize = 7;
/// Paragraphs a key point cites at most.
pub const MAX_CITED: usize = 6;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct KeyPoint {
    pub text_en: String,
    /// Line ranges of the cited paragraphs, merged.
    pub lines: Vec<[u32; 2]>,
    /// The page (or first and last page) of the cited lines, in a PDF letter.
    #[serde(flatten)]
    pub pages: super::Pages,
    /// The paragraph ids cited (those that exist).
    #[serde(default)]
    pub paragraphs: Vec<String>,
}

/// summary.json
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct SummaryOut {
    pub doc_id: String,
    pub source: Source,
    pub model: String,
    pub summary_en: String,
    pub key_points: Vec<KeyPoint>,
    /// What the output checks found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<super::finding::Finding>,
}

/// The summary task.
pub struct Summary;

/// Completion tokens expected of a chunk's notes, and of the summary itself (from the notes of
/// several chunks, or straight from a letter that fits one chunk).
const NOTES_TOKENS: u64 = 250;
const SUMMARY_TOKENS: u64 = 400;
const SINGLE_SUMMARY_TOKENS: u64 = 250;

impl TaskKind for Summary {
    fn about(&self) -> &'static About {
        &About {
            file: "summary",
            prompt_keys: &["summary_map@", "summary_reduce@", "ask@", "glossary"],
        }
    }

    /// Notes per chunk (per part, asked per question) and the summary from them; one call for a
    /// letter of one chunk (part).
    fn call_count(&self, _doc: &Document, chunks: &[Chunk], ctx: &TaskContext) -> usize {
        let parts = pieces(chunks, ctx);
        if parts > 1 { parts + 1 } else { 1 }
    }

    /// The summary from the notes of several chunks: the instructions and about 60 tokens of
    /// notes per chunk.
    fn later_round_tokens(&self, chunks: &[Chunk]) -> (u64, u64) {
        if chunks.len() > 1 {
            (600 + 60 * chunks.len() as u64, SUMMARY_TOKENS)
        } else {
            (0, 0)
        }
    }

    fn run<'a>(&'a self, on: Input<'a>) -> BoxFuture<'a, TaskResult> {
        Box::pin(run(on.doc, on.chunks, on.ctx, on.caller))
    }
}

/// What the notes are taken on: chunks, or parts when asked per question.
fn pieces(chunks: &[Chunk], ctx: &TaskContext) -> usize {
    if ctx.per_question {
        ask::part_count(chunks, ctx)
    } else {
        chunks.len()
    }
}

pub fn map_schema(ids: &[String]) -> Value {
    json!({
        "title": "tolk.summary_notes",
        "type": "object",
        "properties": {
            "notes": {
                "type": "array",
                "minItems": 1,
                "maxItems": 8,
                "items": {
                    "type": "object",
                    "properties": {
                        "text_en": {"type": "string"},
                        "paragraphs": {"type": "array", "minItems": 1, "items": {"enum": ids}}
                    },
                    "required": ["text_en", "paragraphs"],
                    "additionalProperties": false
                }
            }
        },
        "required": ["notes"],
        "additionalProperties": false
    })
}

/// The reply schema of the summary. Key points cite paragraphs of the letter (`ids`), a few
/// each: a bound that also stops a small model from citing on and on.
pub fn reduce_schema(ids: &[String]) -> Value {
    json!({
        "title": "tolk.summary",
        "type": "object",
        "properties": {
            "summary_en": {"type": "string"},
            "key_points": {
                "type": "array",
                "minItems": MIN_POINTS,
                "maxItems": MAX_POINTS,
                "items": {
                    "type": "object",
                    "properties": {
                        "text_en": {"type": "string"},
                        "paragraphs": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": MAX_CITED,
                            "items": {"enum": ids}
                        }
                    },
                    "required": ["text_en", "paragraphs"],
                    "additionalProperties": false
                }
            }
        },
        "required": ["summary_en", "key_points"],
        "additionalProperties": false
    })
}

/// Keep the ids of paragraphs a note may cite (all of them when none is: a part that is all
/// head still gets its notes).
fn only_citable(ids: &mut Vec<String>, citable: &[String]) {
    if ids.iter().any(|i| citable.contains(i)) {
        ids.retain(|i| citable.contains(i));
    }
}

/// The map calls (none when the letter fits one chunk).
pub fn map_calls(
    doc: &Document,
    chunks: &[Chunk],
    ctx: &TaskContext,
) -> Result<Vec<CallSpec>, PromptError> {
    if pieces(chunks, ctx) <= 1 {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    if ctx.per_question {
        let parts = ask::parts(doc, chunks, ctx);
        let n = parts.len();
        let citable = doc.citable();
        for (i, segs) in parts.iter().enumerate() {
            let mut ids: Vec<String> = Vec::new();
            for s in segs {
                if !ids.contains(&s.paragraph) {
                    ids.push(s.paragraph.clone());
                }
            }
            only_citable(&mut ids, &citable);
            let messages = ask::messages(ctx, doc, segs, i, n, json!({"kind": "notes"}))?;
            out.push(ctx.spec(
                Task::Summary,
                doc,
                format!("notes {}/{n}", i + 1),
                messages,
                "summary_notes",
                map_schema(&ids),
                NOTES_TOKENS,
            ));
        }
        return Ok(out);
    }
    let citable = doc.citable();
    for (i, c) in chunks.iter().enumerate() {
        let segs = segments(doc, chunks, i);
        let mut ids: Vec<String> = c.paragraphs.clone();
        only_citable(&mut ids, &citable);
        let vars = json!({
            "doc": {"id": doc.id},
            "part": i + 1,
            "parts": chunks.len(),
            "glossary": ctx.prompts.glossary_for(&c.text),
            "segments": segments_json(&segs),
        });
        let messages = ctx.prompts.render("summary_map", &vars)?;
        out.push(ctx.spec(
            Task::Summary,
            doc,
            format!("notes {}/{}", i + 1, chunks.len()),
            messages,
            "summary_notes",
            map_schema(&ids),
            NOTES_TOKENS,
        ));
    }
    Ok(out)
}

/// The reduce call, from the map answers (or from the source when there was no map step).
pub fn reduce_call(
    doc: &Document,
    chunks: &[Chunk],
    notes: &[Value],
    ctx: &TaskContext,
) -> Result<CallSpec, PromptError> {
    let mut note_list = Vec::new();
    for v in notes {
        for n in v["notes"].as_array().into_iter().flatten() {
            note_list.push(json!({"text_en": n["text_en"], "paragraphs": n["paragraphs"]}));
        }
    }
    let from_notes = pieces(chunks, ctx) > 1;
    // Key points cite running text only: the grammar (or the schema) leaves the head out.
    let ids = doc.citable();
    if ctx.per_question && !from_notes {
        let question = json!({
            "kind": "summary",
            "max_words": MAX_WORDS,
            "min_points": MIN_POINTS,
            "max_points": MAX_POINTS,
        });
        let messages = ask::messages(ctx, doc, &whole_document(doc), 0, 1, question)?;
        return Ok(ctx.spec(
            Task::Summary,
            doc,
            "summary".into(),
            messages,
            "summary",
            reduce_schema(&ids),
            SINGLE_SUMMARY_TOKENS,
        ));
    }
    let segs = if from_notes {
        Vec::new()
    } else {
        whole_document(doc)
    };
    let vars = json!({
        "doc": {"id": doc.id},
        "facts": ask::given(doc.facts()),
        "max_words": MAX_WORDS,
        "min_points": MIN_POINTS,
        "max_points": MAX_POINTS,
        "glossary": ctx.prompts.glossary_for(if from_notes { "" } else { &doc.text }),
        "notes": note_list,
        "segments": segments_json(&segs),
    });
    let messages = ctx.prompts.render("summary_reduce", &vars)?;
    let mut spec = ctx.spec(
        Task::Summary,
        doc,
        "summary".into(),
        messages,
        "summary",
        reduce_schema(&ids),
        if from_notes {
            SUMMARY_TOKENS
        } else {
            SINGLE_SUMMARY_TOKENS
        },
    );
    // From the notes: rendered only once their answers are in.
    spec.round = if from_notes { 2 } else { 1 };
    Ok(spec)
}

/// Cut a summary to at most `max` words, at the last sentence end that fits when there is one.
pub fn limit_words(text: &str, max: usize) -> (String, bool) {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() <= max {
        return (text.trim().to_string(), false);
    }
    let cut = words[..max].join(" ");
    let end = cut
        .rfind(['.', '!', '?'])
        .map(|i| i + 1)
        .unwrap_or(cut.len());
    (cut[..end].to_string(), true)
}

/// Turn the reduce answer into the output.
pub fn assemble(doc: &Document, value: &Value, model: &str) -> (SummaryOut, Notes) {
    let mut notes = Notes::default();
    let (summary_en, cut) = limit_words(value["summary_en"].as_str().unwrap_or(""), MAX_WORDS);
    if cut {
        notes.warnings.push(format!(
            "the summary was longer than {MAX_WORDS} words and was cut"
        ));
    }
    let mut key_points = Vec::new();
    for kp in value["key_points"].as_array().into_iter().flatten() {
        let mut ranges = Vec::new();
        let mut ids = Vec::new();
        for id in kp["paragraphs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            // Accept "p12" and the parts of split paragraphs ("p12.2") by their paragraph.
            let pid = id.split('.').next().unwrap_or(id).trim();
            match doc.paragraph(pid) {
                Some(p) => {
                    ranges.extend(p.spans.iter().copied());
                    if !ids.iter().any(|i| i == pid) {
                        ids.push(pid.to_string());
                    }
                }
                None => notes.dropped_citations += 1,
            }
        }
        key_points.push(KeyPoint {
            text_en: kp["text_en"].as_str().unwrap_or("").trim().to_string(),
            lines: merge_ranges(ranges),
            pages: super::Pages::default(),
            paragraphs: ids,
        });
    }
    (
        SummaryOut {
            doc_id: doc.id.clone(),
            source: Source::of(doc),
            model: model.to_string(),
            summary_en,
            key_points,
            checks: Vec::new(),
        },
        notes,
    )
}

/// Summarise a document.
pub async fn run(
    doc: &Document,
    chunks: &[Chunk],
    ctx: &TaskContext,
    caller: &dyn Caller,
) -> TaskResult {
    let maps = match map_calls(doc, chunks, ctx) {
        Ok(m) => m,
        Err(e) => return TaskResult::failed(e),
    };
    let mut notes = call_all(caller, &maps).await;
    if let Some(e) = notes.error() {
        return TaskResult::failed(e);
    }
    let values: Vec<Value> = notes.values.into_iter().flatten().collect();
    let reduce = match reduce_call(doc, chunks, &values, ctx) {
        Ok(r) => r,
        Err(e) => return TaskResult::failed(e),
    };
    let mut answer = call_all(caller, std::slice::from_ref(&reduce)).await;
    if let Some(e) = answer.error() {
        return TaskResult::failed(e);
    }
    let value = answer.values.pop().flatten().unwrap_or_default();
    let (out, notes) = assemble(doc, &value, &answer.model.unwrap_or_default());
    TaskResult {
        output: Some(TaskOutput::Summary(out)),
        notes,
        error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_limited_at_a_sentence_end() {
        let (t, cut) = limit_words("Een. Twee drie. Vier vijf zes zeven.", 4);
        assert!(cut);
        assert_eq!(t, "Een. Twee drie.");
        let (t, cut) = limit_words(" Kort. ", 200);
        assert_eq!((t.as_str(), cut), ("Kort.", false));
    }
}
