//! Translate: one call per chunk, all chunks of a letter in parallel. The reply maps every
//! segment id of the chunk to its English; the schema lists exactly those ids as required
//! properties with no others allowed, so a reply that invents a paragraph or leaves one out fails
//! validation and is repaired. A segment without a letter ("6)", "2.", "—") is not sent: its
//! English is its own text, so a small model cannot fill its slot with another paragraph's words
//! (the embedded model wrote the next paragraph into a question number's slot, under the number's
//! lines).
//!
//! In segment mode (`translate.mode = "segment"`, the embedded model's default) each segment with
//! words is its own call, asked and answered in plain text, with the glossary terms it contains
//! and, for a short segment or the continuation of a split paragraph, the text before it as
//! context. No English can land under another segment's lines. A reply that is empty, far too
//! long or the Dutch unchanged is repaired by the client; one that still reads as Dutch gets one
//! more call that says so (a second round, cached like the first).

use super::{
    About, CallSpec, Caller, Input, Notes, Prior, Segment, Source, Task, TaskContext, TaskKind,
    TaskOutput, TaskResult, call_all, segments, segments_json,
};
use crate::chunk::Chunk;
use crate::ingest::{Document, Kind};
use crate::llm::BoxFuture;
use crate::prompt::PromptError;
pub use crate::store::memory::Kept;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

mod segment;
pub(crate) use segment::plain_spec;
pub use segment::{
    ECHOES, STILL_DUTCH, SegmentCall, run_segments, segment_calls, segment_schema, still_dutch_call,
};

/// One translated segment.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct SegmentOut {
    pub id: String,
    pub kind: Kind,
    /// First and last original line (1-based, inclusive).
    pub lines: [u32; 2],
    /// The lines it owns exactly, when a page break interrupts it (or it continues a line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spans: Option<Vec<[u32; 2]>>,
    /// Its page (or first and last page) in a PDF letter.
    #[serde(flatten)]
    pub pages: super::Pages,
    pub nl: String,
    /// None when the call for its chunk failed (the manifest says why).
    pub en: Option<String>,
    /// The English before refine changed it (`en` is the final English).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draft: Option<String>,
    /// The review errors (`e3`, ...) refine changed it for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refined_by: Vec<String>,
    /// What the output checks found in this segment's English.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<super::finding::Finding>,
    /// `origin` (`human` or `memory`), `editor` and `date` when the English came from the
    /// translation memory, not from a model; absent for a model's English.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub kept: Option<Kept>,
}

/// translation.json
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct TranslationOut {
    pub doc_id: String,
    pub source: Source,
    pub model: String,
    pub segments: Vec<SegmentOut>,
    /// Each glossary term of the letter: where it occurs and whether its fixed English was used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub terminology: Vec<super::finding::TermUse>,
}

/// An English rendering of a Dutch segment is at most this many characters per source character
/// (plus [`BOUND_SLACK`]) when the answer is generated under a grammar. English runs about 10%
/// shorter than Dutch; twice the source leaves room for spelled-out names and glosses. The 0.5B
/// embedded model sometimes repeats itself inside one segment until the token limit (the
/// Commission letter's chunk 7/12 did every run, losing all five of its segments); the bound
/// closes that segment instead and the chunk's other segments are kept.
const BOUND_PER_SOURCE_CHAR: usize = 2;
/// Room for very short segments ("7)", a date, a heading).
const BOUND_SLACK: usize = 80;

/// The most characters an English rendering of `nl` may have under a grammar. At most
/// [`super::GRAMMAR_MAX_LENGTH`]: llama.cpp drops a longer bound silently.
pub fn bound(nl: &str) -> usize {
    (nl.chars().count() * BOUND_PER_SOURCE_CHAR + BOUND_SLACK).min(super::GRAMMAR_MAX_LENGTH)
}

/// The fewest characters an English rendering of `nl` must have under a grammar: a quarter of the
/// Dutch, at least one. The embedded model otherwise closed a chunk's last segments with empty
/// strings (about forty paragraphs of the five letters had no English in a timed run).
pub fn floor(nl: &str) -> usize {
    (nl.chars().count() / 4).clamp(1, super::GRAMMAR_MAX_LENGTH / 2)
}

/// Segments with words whose English is empty, from any endpoint: one line each, for the
/// manifest's warnings, since an empty translation reads as if the paragraph said nothing.
pub fn empty(out: &TranslationOut) -> Vec<String> {
    out.segments
        .iter()
        .filter(|s| has_words(&s.nl) && s.en.as_deref().is_some_and(str::is_empty))
        .map(|s| {
            format!(
                "translation of {} (lines {}-{}) is empty",
                s.id, s.lines[0], s.lines[1]
            )
        })
        .collect()
}

/// Segments whose English, generated under a bounded grammar, ran up to the bound: most likely
/// the model repeated itself and was stopped, so the end of that segment's English is not a
/// translation. One line each, for the manifest's warnings.
pub fn stopped_at_bound(out: &TranslationOut) -> Vec<String> {
    out.segments
        .iter()
        .filter_map(|s| {
            let en = s.en.as_deref()?;
            // The English is stored trimmed: allow for a space cut off at the end.
            (en.chars().count() + 2 >= bound(&s.nl)).then(|| {
                format!(
                    "translation of {} (lines {}-{}) stopped at its bound of {} characters; the model probably repeated itself",
                    s.id,
                    s.lines[0],
                    s.lines[1],
                    bound(&s.nl)
                )
            })
        })
        .collect()
}

/// The reply schema for a chunk's segments: every id required, no other. With `bounded` (the
/// embedded model) each translation has at least [`floor`] and at most [`bound`] characters.
pub fn schema(segs: &[Segment], bounded: bool) -> Value {
    let props: serde_json::Map<String, Value> = segs
        .iter()
        .map(|s| {
            let text = if bounded {
                json!({"type": "string", "minLength": floor(&s.text), "maxLength": bound(&s.text)})
            } else {
                json!({"type": "string"})
            };
            (s.id.clone(), text)
        })
        .collect();
    let ids: Vec<&str> = segs.iter().map(|s| s.id.as_str()).collect();
    json!({
        "title": "tolk.translation",
        "type": "object",
        "properties": props,
        "required": ids,
        "additionalProperties": false
    })
}

pub(crate) fn context_words(text: &str, n: usize, from_end: bool) -> String {
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

/// Whether a text needs translating: it has a letter. Numbering, dates as digits and dashes are
/// the same in English.
pub fn has_words(text: &str) -> bool {
    text.chars().any(char::is_alphabetic)
}

/// Whether segment `s` is asked of the model: it has words and the translation memory has no
/// English for it.
pub fn asked(s: &Segment, ctx: &TaskContext) -> bool {
    has_words(&s.text) && ctx.memory.get(&s.text).is_none()
}

/// A translator's English for a sentence close to segment `s` (the translation memory's closest
/// entry, [`crate::store::memory::CLOSE`]), as the prompts show it; none when there is none.
pub(crate) fn similar(s: &Segment, ctx: &TaskContext) -> Option<Value> {
    let (e, _) = ctx.memory.closest(&s.text)?;
    Some(json!({"nl": super::inside_block(&e.nl), "en": super::inside_block(&e.en)}))
}

/// How many segments of a letter take their English from the translation memory: a person's,
/// and a memory's (TMX).
pub fn kept(doc: &Document, chunks: &[Chunk], ctx: &TaskContext) -> [usize; 2] {
    use crate::store::memory::Origin;
    let mut n = [0, 0];
    for s in (0..chunks.len()).flat_map(|i| segments(doc, chunks, i)) {
        match ctx.memory.get(&s.text).map(|e| e.kept.origin) {
            Some(Origin::Human) if has_words(&s.text) => n[0] += 1,
            Some(Origin::Memory) if has_words(&s.text) => n[1] += 1,
            _ => {}
        }
    }
    n
}

/// The English of a segment the model is not asked for: the translation memory's, with where it
/// came from, or the segment's own text when it has no words.
fn not_asked(s: &Segment, ctx: &TaskContext) -> (Option<String>, Option<Kept>) {
    match ctx.memory.get(&s.text) {
        Some(e) if has_words(&s.text) => (Some(e.en.clone()), Some(e.kept.clone())),
        _ => (Some(s.text.clone()), None),
    }
}

/// The translation task.
pub struct Translate;

impl TaskKind for Translate {
    fn about(&self) -> &'static About {
        &About {
            file: "translation",
            prompt_keys: &["translate@", "translate_segment@", "glossary"],
        }
    }

    /// One call per chunk with words (a chunk without any is carried over without a call); in
    /// segment mode one per segment with words. Segment mode's second-round calls, for replies
    /// that are still Dutch, cannot be known before the first round is in.
    fn call_count(&self, doc: &Document, chunks: &[Chunk], ctx: &TaskContext) -> usize {
        if ctx.segment_mode {
            (0..chunks.len())
                .flat_map(|i| segments(doc, chunks, i))
                .filter(|s| asked(s, ctx))
                .count()
        } else {
            (0..chunks.len())
                .filter(|&i| segments(doc, chunks, i).iter().any(|s| asked(s, ctx)))
                .count()
        }
    }

    fn run<'a>(&'a self, on: Input<'a>) -> BoxFuture<'a, TaskResult> {
        if on.ctx.segment_mode {
            Box::pin(run_segments(on.doc, on.chunks, on.ctx, on.caller))
        } else {
            Box::pin(run(on.doc, on.chunks, on.ctx, on.caller))
        }
    }

    /// Refine's English goes in (the draft kept), when the run refined the letter.
    fn finish(&self, output: &mut TaskOutput, read: Prior<'_>) {
        if let (TaskOutput::Translation(t), Some(r)) = (output, read.refine) {
            r.apply(t);
        }
    }
}

/// A chunk's segments and the call that translates those with words (none when no segment has
/// any).
pub type ChunkCall = (Vec<Segment>, Option<CallSpec>);

/// The calls, one per chunk with words, with the segments each covers; a chunk of segments
/// without words (see [`has_words`]) or with all its English in the translation memory has no
/// call. The memory's English of a chunk's other segments goes into its prompt as a person's
/// translation of the same text, to keep to.
pub fn calls(
    doc: &Document,
    chunks: &[Chunk],
    ctx: &TaskContext,
) -> Result<Vec<ChunkCall>, PromptError> {
    // English runs about as long as the Dutch, plus the JSON around it: 6/5 of the letter's
    // tokens, shared among the calls.
    let sent = chunks.iter().filter(|c| has_words(&c.text)).count().max(1) as u64;
    let expected = chunks.iter().map(|c| c.tokens as u64).sum::<u64>() * 6 / 5 / sent;
    let mut out = Vec::with_capacity(chunks.len());
    for (i, c) in chunks.iter().enumerate() {
        let segs = segments(doc, chunks, i);
        let sent: Vec<Segment> = segs.iter().filter(|s| asked(s, ctx)).cloned().collect();
        let people: Vec<Value> = segs
            .iter()
            .filter(|s| has_words(&s.text))
            .filter_map(|s| ctx.memory.get(&s.text))
            .map(|e| json!({"nl": super::inside_block(&e.nl), "en": super::inside_block(&e.en)}))
            .collect();
        if sent.is_empty() {
            out.push((segs, None));
            continue;
        }
        let before = i
            .checked_sub(1)
            .map(|j| context_words(&chunks[j].text, 80, true))
            .unwrap_or_default();
        let after = chunks
            .get(i + 1)
            .map(|n| context_words(&n.text, 50, false))
            .unwrap_or_default();
        let similar: Vec<Value> = sent.iter().filter_map(|s| similar(s, ctx)).collect();
        let mut vars = json!({
            "doc": {"id": doc.id},
            "glossary": ctx.prompts.glossary_for(&c.text),
            "before": super::inside_block(&before),
            "after": super::inside_block(&after),
            "segments": segments_json(&sent),
            "people": people,
        });
        if !similar.is_empty() {
            vars["similar"] = json!(similar);
        }
        let messages = ctx.prompts.render("translate", &vars)?;
        let spec = ctx.spec(
            Task::Translate,
            doc,
            format!("chunk {}/{}", i + 1, chunks.len()),
            messages,
            "translation",
            schema(&sent, ctx.grammar),
            expected,
        );
        out.push((segs, Some(spec)));
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
) -> TaskResult {
    let mut out = TranslationOut {
        doc_id: doc.id.clone(),
        source: Source::of(doc),
        model: String::new(),
        segments: Vec::new(),
        terminology: Vec::new(),
    };
    let plan = match calls(doc, chunks, ctx) {
        Ok(p) => p,
        Err(e) => {
            return TaskResult {
                output: Some(TaskOutput::Translation(out)),
                ..TaskResult::failed(e)
            };
        }
    };
    let specs: Vec<CallSpec> = plan.iter().filter_map(|(_, s)| s.clone()).collect();
    let mut answers = call_all(caller, &specs).await;
    let mut values = std::mem::take(&mut answers.values).into_iter();
    for (segs, spec) in plan {
        // A chunk without a call has no answer to read.
        let value = spec.and_then(|_| values.next().flatten());
        for s in segs {
            let (en, kept) = if asked(&s, ctx) {
                let en = value
                    .as_ref()
                    .and_then(|v| v.get(&s.id))
                    .and_then(Value::as_str)
                    .map(|t| t.trim().to_string());
                (en, None)
            } else {
                not_asked(&s, ctx)
            };
            let interrupted = s.spans.len() != 1 || s.spans.first() != Some(&s.lines);
            out.segments.push(SegmentOut {
                id: s.id,
                kind: s.kind,
                lines: s.lines,
                spans: interrupted.then_some(s.spans),
                pages: super::Pages::default(),
                nl: s.text,
                en,
                draft: None,
                refined_by: Vec::new(),
                checks: Vec::new(),
                kept,
            });
        }
    }
    out.model = answers.model.take().unwrap_or_default();
    let mut notes = Notes {
        warnings: empty(&out),
        ..Notes::default()
    };
    if ctx.grammar {
        notes.warnings.extend(stopped_at_bound(&out));
    }
    TaskResult {
        output: Some(TaskOutput::Translation(out)),
        notes,
        error: answers.error(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(id: &str, text: &str) -> Segment {
        Segment {
            id: id.into(),
            paragraph: id.into(),
            kind: Kind::Body,
            byte_range: [0, text.len()],
            lines: [1, 1],
            spans: vec![[1, 1]],
            text: text.into(),
        }
    }

    #[test]
    fn only_the_grammar_schema_bounds_each_translation_by_its_source() {
        let segs = [seg("p1", "7)"), seg("p2", &"woord ".repeat(100))];
        let open = schema(&segs, false);
        assert!(open["properties"]["p1"].get("maxLength").is_none());
        assert_eq!(open["required"], json!(["p1", "p2"]));

        let bounded = schema(&segs, true);
        assert_eq!(
            bounded["properties"]["p1"]["maxLength"],
            2 * 2 + BOUND_SLACK
        );
        assert_eq!(
            bounded["properties"]["p2"]["maxLength"],
            600 * 2 + BOUND_SLACK
        );
        // llama.cpp treats a repetition over 2,000 as unbounded: never ask for more.
        let long = schema(&[seg("p3", &"woord ".repeat(400))], true);
        assert_eq!(
            long["properties"]["p3"]["maxLength"],
            super::super::GRAMMAR_MAX_LENGTH
        );
        assert_eq!(bounded["additionalProperties"], false);

        assert!(open["properties"]["p2"].get("minLength").is_none());
        assert_eq!(bounded["properties"]["p1"]["minLength"], 1);
        assert_eq!(bounded["properties"]["p2"]["minLength"], 150);

        let validator = jsonschema::validator_for(&bounded).expect("a valid schema");
        let fits = json!({"p1": "7)", "p2": "word ".repeat(100)});
        assert!(validator.is_valid(&fits));
        // An empty or stub English for a paragraph of words does not pass.
        assert!(!validator.is_valid(&json!({"p1": "7)", "p2": ""})));
        assert!(!validator.is_valid(&json!({"p1": "7)", "p2": "word"})));
        // Multi-byte text is measured in characters, as the grammar counts them.
        let accents = json!({"p1": "é".repeat(bound("7)")), "p2": "é".repeat(150)});
        assert!(validator.is_valid(&accents));
        let runs_on = json!({"p1": "7)", "p2": "and so on ".repeat(200)});
        assert!(!validator.is_valid(&runs_on));
    }

    #[test]
    fn a_segment_reply_may_not_echo_the_prompt_nor_copy_dutch_but_may_keep_a_name() {
        let check = |nl: &str, en: &str| {
            let schema = segment_schema(nl);
            crate::llm::structured::validate(&schema, &json!({"text": en, "cut_off": false}))
        };
        let nl = "Wij zijn het niet eens met de verordening van de Commissie.";
        assert!(check(nl, "We do not agree with the Commission's regulation.").is_ok());
        assert!(check(nl, nl).is_err(), "the Dutch unchanged");
        let echo = "Always translate these terms so: verordening = regulation. We do not agree.";
        let err = check(nl, echo).unwrap_err();
        let errors = err.clone();
        let said =
            crate::llm::structured::plain_repair_message(&crate::llm::LlmError::SchemaViolation {
                errors: err,
                raw: String::new(),
            });
        assert!(
            said.contains("repeats the instructions"),
            "{said} {errors:?}"
        );
        // A name or a heading in capitals is the same in English.
        assert!(check("OFFLIMITS", "OFFLIMITS").is_ok());
        assert!(check("Robbert Hoving", "Robbert Hoving").is_ok());
    }

    #[test]
    fn an_empty_english_for_words_is_reported_and_a_number_is_not() {
        let seg = |id: &str, nl: &str, en: &str| SegmentOut {
            id: id.into(),
            kind: Kind::Body,
            lines: [7, 8],
            spans: None,
            pages: Default::default(),
            nl: nl.into(),
            en: Some(en.into()),
            draft: None,
            refined_by: Vec::new(),
            checks: Vec::new(),
            kept: None,
        };
        let out = TranslationOut {
            doc_id: "d".into(),
            source: Source {
                path: "d.txt".into(),
                sha256: String::new(),
            },
            model: "m".into(),
            segments: vec![
                seg("p1", "Wij zijn tegen.", "We are against."),
                seg("p2", "Wij zijn voor.", ""),
                seg("p3", "6)", "6)"),
            ],
            terminology: Vec::new(),
        };
        assert_eq!(empty(&out), ["translation of p2 (lines 7-8) is empty"]);
    }

    #[test]
    fn an_english_segment_at_its_bound_is_reported() {
        let out = |en: &str| TranslationOut {
            doc_id: "d".into(),
            source: Source {
                path: "d.txt".into(),
                sha256: String::new(),
            },
            model: "m".into(),
            segments: vec![SegmentOut {
                id: "p1".into(),
                kind: Kind::Body,
                lines: [3, 4],
                spans: None,
                pages: Default::default(),
                nl: "Wij zijn tegen.".into(),
                en: Some(en.into()),
                draft: None,
                refined_by: Vec::new(),
                checks: Vec::new(),
                kept: None,
            }],
            terminology: Vec::new(),
        };
        assert!(stopped_at_bound(&out("We are against.")).is_empty());
        let at = "again ".repeat(20);
        let at = &at[..bound("Wij zijn tegen.")];
        let warnings = stopped_at_bound(&out(at.trim()));
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("p1 (lines 3-4)"), "{warnings:?}");
    }
}
