//! Translate: one call per chunk, all chunks of a letter in parallel. The reply maps every
//! segment id of the chunk to its English; the schema lists exactly those ids as required
//! properties with no others allowed, so a reply that invents a paragraph or leaves one out fails
//! validation and is repaired.

use super::{
    CallSpec, Caller, Segment, Source, Task, TaskContext, TaskError, segments, segments_json,
};
use crate::chunk::Chunk;
use crate::ingest::{Document, Kind};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One translated segment.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SegmentOut {
    pub id: String,
    pub kind: Kind,
    /// First and last original line (1-based, inclusive).
    pub lines: [u32; 2],
    /// The lines it owns exactly, when a page break interrupts it (or it continues a line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spans: Option<Vec<[u32; 2]>>,
    pub nl: String,
    /// None when the call for its chunk failed (the manifest says why).
    pub en: Option<String>,
}

/// translation.json
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TranslationOut {
    pub doc_id: String,
    pub source: Source,
    pub model: String,
    pub segments: Vec<SegmentOut>,
}

/// The reply schema for a chunk with these segment ids.
pub fn schema(ids: &[String]) -> Value {
    let props: serde_json::Map<String, Value> = ids
        .iter()
        .map(|id| (id.clone(), json!({"type": "string"})))
        .collect();
    json!({
        "title": "tolk.translation",
        "type": "object",
        "properties": props,
        "required": ids,
        "additionalProperties": false
    })
}

fn context_words(text: &str, n: usize, from_end: bool) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() <= n {
        return words.join(" ");
    }
    if from_end {
        format!("… {}", words[words.len() - n..].join(" "))
    } else {
        format!("{} …", words[..n].join(" "))
    }
}

/// The calls, one per chunk, with the segments each covers.
pub fn calls(
    doc: &Document,
    chunks: &[Chunk],
    ctx: &TaskContext,
) -> Result<Vec<(Vec<Segment>, CallSpec)>, TaskError> {
    let mut out = Vec::with_capacity(chunks.len());
    for (i, c) in chunks.iter().enumerate() {
        let segs = segments(doc, chunks, i);
        let before = i
            .checked_sub(1)
            .map(|j| context_words(&chunks[j].text, 80, true))
            .unwrap_or_default();
        let after = chunks
            .get(i + 1)
            .map(|n| context_words(&n.text, 50, false))
            .unwrap_or_default();
        let vars = json!({
            "doc": {"id": doc.id},
            "glossary": ctx.prompts.glossary_for(&c.text),
            "before": before,
            "after": after,
            "segments": segments_json(&segs),
        });
        let messages = ctx.prompts.render("translate", &vars)?;
        let ids: Vec<String> = segs.iter().map(|s| s.id.clone()).collect();
        let request = ctx.request(messages, "translation", schema(&ids));
        out.push((
            segs,
            CallSpec {
                task: Task::Translate,
                doc_id: doc.id.clone(),
                what: format!("chunk {}/{}", i + 1, chunks.len()),
                request,
            },
        ));
    }
    Ok(out)
}

/// Translate a document. Failed chunks leave their segments without English and are reported
/// together in the error, with the output as far as it got.
pub async fn run(
    doc: &Document,
    chunks: &[Chunk],
    ctx: &TaskContext,
    caller: &dyn Caller,
) -> (TranslationOut, Result<(), TaskError>, Option<String>) {
    let mut out = TranslationOut {
        doc_id: doc.id.clone(),
        source: Source::of(doc),
        model: String::new(),
        segments: Vec::new(),
    };
    let plan = match calls(doc, chunks, ctx) {
        Ok(p) => p,
        Err(e) => return (out, Err(e), None),
    };
    let answers =
        futures::future::join_all(plan.iter().map(|(_, spec)| caller.call(spec.clone()))).await;
    let mut failures = Vec::new();
    let mut model = None;
    for ((segs, spec), answer) in plan.into_iter().zip(answers) {
        let value = match answer {
            Ok(a) => {
                model = model.or(a.model);
                Some(a.value)
            }
            Err(e) => {
                failures.push(format!("{}: {e}", spec.what));
                None
            }
        };
        for s in segs {
            let en = value
                .as_ref()
                .and_then(|v| v.get(&s.id))
                .and_then(Value::as_str)
                .map(|t| t.trim().to_string());
            let interrupted = s.spans.len() != 1 || s.spans.first() != Some(&s.lines);
            out.segments.push(SegmentOut {
                id: s.id,
                kind: s.kind,
                lines: s.lines,
                spans: interrupted.then_some(s.spans),
                nl: s.text,
                en,
            });
        }
    }
    let result = if failures.is_empty() {
        Ok(())
    } else {
        Err(TaskError::Other(failures.join("; ")))
    };
    (out, result, model)
}
