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
    About, CallSpec, Caller, Input, Notes, Segment, Source, Task, TaskContext, TaskKind,
    TaskOutput, TaskResult, call_all, segments, segments_json,
};
use crate::chunk::Chunk;
use crate::ingest::{Document, Kind};
use crate::llm::{BoxFuture, LlmError};
use crate::prompt::PromptError;
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
}

/// translation.json
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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

/// Whether a text needs translating: it has a letter. Numbering, dates as digits and dashes are
/// the same in English.
pub fn has_words(text: &str) -> bool {
    text.chars().any(char::is_alphabetic)
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
                .filter(|s| has_words(&s.text))
                .count()
        } else {
            chunks.iter().filter(|c| has_words(&c.text)).count()
        }
    }

    fn run<'a>(&'a self, on: Input<'a>) -> BoxFuture<'a, TaskResult> {
        if on.ctx.segment_mode {
            Box::pin(run_segments(on.doc, on.chunks, on.ctx, on.caller))
        } else {
            Box::pin(run(on.doc, on.chunks, on.ctx, on.caller))
        }
    }
}

/// A chunk's segments and the call that translates those with words (none when no segment has
/// any).
pub type ChunkCall = (Vec<Segment>, Option<CallSpec>);

/// The calls, one per chunk with words, with the segments each covers; a chunk of segments
/// without words (see [`has_words`]) has no call.
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
        let sent: Vec<Segment> = segs
            .iter()
            .filter(|s| has_words(&s.text))
            .cloned()
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
        let vars = json!({
            "doc": {"id": doc.id},
            "glossary": ctx.prompts.glossary_for(&c.text),
            "before": super::inside_block(&before),
            "after": super::inside_block(&after),
            "segments": segments_json(&sent),
        });
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
            let en = if has_words(&s.text) {
                value
                    .as_ref()
                    .and_then(|v| v.get(&s.id))
                    .and_then(Value::as_str)
                    .map(|t| t.trim().to_string())
            } else {
                Some(s.text.clone())
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

/// In segment mode, a segment of fewer words than this gets the text before it as context: a
/// heading, a list item or a salutation is ambiguous alone, and a paragraph is its own context
/// (and a small model given a long context tends to translate it too).
const SHORT_SEGMENT_WORDS: usize = 12;
/// The context given: at most this many words from the end of the text before.
const CONTEXT_WORDS: usize = 60;
/// The second-round message for a reply that still reads as Dutch.
pub const STILL_DUTCH: &str = "That is still Dutch. Translate the text into English. Reply with the English translation only.";

/// The plain-text reply's schema in segment mode: `text` not empty, at least [`floor`] and at
/// most [`bound`] characters, and not the Dutch unchanged when the Dutch reads as Dutch (a name,
/// a heading in capitals or a reference is the same in English).
pub fn segment_schema(nl: &str) -> Value {
    let mut refused = vec![json!({"not": {"pattern": ECHOES}})];
    if crate::lang::language(nl) == crate::lang::Lang::Dutch {
        refused.push(json!({"not": {"const": nl}}));
    }
    let text = json!({
        "type": "string",
        "minLength": floor(nl),
        "maxLength": bound(nl),
        "allOf": refused
    });
    json!({
        "title": "tolk.segment",
        "type": "object",
        "properties": {"text": text, "cut_off": {"type": "boolean"}},
        "required": ["text"]
    })
}

/// What a small model repeats of the prompt instead of translating (the 0.5B model answered
/// the glossary line and then the Dutch): the prompt's own words.
pub const ECHOES: &str = "Always translate these terms|For context \\(not to translate\\)|previous reply cannot be used|English translation only";

/// The tokens a plain English rendering of `nl` may take: twice the Dutch, plus room for a
/// short segment. A small model that repeats itself stops here, not at the run's max_tokens.
fn segment_max_tokens(nl: &str, ctx: &TaskContext) -> u32 {
    let own = (ctx.encoding.count(nl) * 2 + 48) as u32;
    ctx.max_tokens.map_or(own, |m| own.min(m))
}

/// One segment of a letter in segment mode: its call (none for a segment without words), and
/// the same call without glossary terms and context, for when the first cannot be used (the
/// 0.5B model repeated the terms or the context instead of translating); none when the first
/// had neither.
pub struct SegmentCall {
    pub segment: Segment,
    pub call: Option<CallSpec>,
    pub bare: Option<CallSpec>,
}

/// The calls of segment mode: one per segment with words, in the letter's order.
pub fn segment_calls(
    doc: &Document,
    chunks: &[Chunk],
    ctx: &TaskContext,
) -> Result<Vec<SegmentCall>, PromptError> {
    let all: Vec<Segment> = (0..chunks.len())
        .flat_map(|i| segments(doc, chunks, i))
        .collect();
    let count = all.iter().filter(|s| has_words(&s.text)).count();
    let mut out = Vec::with_capacity(all.len());
    let mut n = 0;
    let mut previous: Option<&str> = None;
    for s in &all {
        if !has_words(&s.text) {
            out.push(SegmentCall {
                segment: s.clone(),
                call: None,
                bare: None,
            });
            continue;
        }
        n += 1;
        let continues = s.id.contains('.') && !s.id.ends_with(".1");
        let short = s.text.split_whitespace().count() < SHORT_SEGMENT_WORDS;
        let before = match previous {
            Some(p) if short || continues => context_words(p, CONTEXT_WORDS, true),
            _ => String::new(),
        };
        let glossary = ctx.prompts.glossary_for(&s.text);
        let what = format!("segment {} ({n}/{count})", s.id);
        let bare = if glossary.is_empty() && before.is_empty() {
            None
        } else {
            let mut b = segment_spec(doc, ctx, s, json!([]), "", format!("{what} bare"))?;
            b.round = 2;
            Some(b)
        };
        let call = segment_spec(doc, ctx, s, json!(glossary), &before, what)?;
        out.push(SegmentCall {
            segment: s.clone(),
            call: Some(call),
            bare,
        });
        previous = Some(&s.text);
    }
    Ok(out)
}

/// The plain-text call that translates segment `s`.
fn segment_spec(
    doc: &Document,
    ctx: &TaskContext,
    s: &Segment,
    glossary: Value,
    before: &str,
    what: String,
) -> Result<CallSpec, PromptError> {
    let vars = json!({
        "doc": {"id": doc.id},
        "glossary": glossary,
        "before": before,
        "id": s.id,
        "text": s.text,
    });
    let messages = ctx.prompts.render("translate_segment", &vars)?;
    Ok(plain_spec(
        ctx,
        Task::Translate,
        doc,
        what,
        messages,
        "translation",
        &s.text,
    ))
}

/// A call answered in plain text with the English of `nl` (segment mode, refine): validated by
/// [`segment_schema`], its tokens bounded by [`segment_max_tokens`].
pub(crate) fn plain_spec(
    ctx: &TaskContext,
    task: Task,
    doc: &Document,
    what: String,
    messages: Vec<crate::llm::Message>,
    schema_name: &str,
    nl: &str,
) -> CallSpec {
    let mut spec = ctx.spec(
        task,
        doc,
        what,
        messages,
        schema_name,
        segment_schema(nl),
        (ctx.encoding.count(nl) as u64 * 6 / 5).max(4),
    );
    spec.request.plain = true;
    spec.request.max_tokens = Some(segment_max_tokens(nl, ctx));
    spec
}

/// The second-round call for a reply that still reads as Dutch: the first exchange, then
/// [`STILL_DUTCH`].
pub fn still_dutch_call(first: &CallSpec, reply: &str) -> CallSpec {
    let mut spec = first.clone();
    spec.what = format!("{} again", first.what);
    spec.round = 2;
    spec.request
        .messages
        .push(crate::llm::Message::assistant(reply));
    spec.request
        .messages
        .push(crate::llm::Message::user(STILL_DUTCH));
    spec
}

/// Whether the failed call `spec` is worth making again in another form: its answer was there
/// but could not be used (not a connection, a refusal or a deferral).
fn usable_again(answers: &super::Answers, spec: &CallSpec) -> bool {
    answers.failures.iter().any(|f| {
        f.what == spec.what
            && matches!(
                f.error.llm(),
                Some(
                    LlmError::SchemaViolation { .. }
                        | LlmError::InvalidJson { .. }
                        | LlmError::Truncated { .. }
                )
            )
            && !matches!(f.error, super::CallError::NotConnected(_))
    })
}

/// Whether a reply to `nl` reads as Dutch, as the untranslated check would judge it.
fn reads_as_dutch(nl: &str, en: &str) -> bool {
    use crate::lang::{Lang, language};
    language(en) == Lang::Dutch && language(nl) == Lang::Dutch
}

/// The English of a segment-mode answer, and a warning when it ran to its token limit (then cut
/// at its last full sentence, when that keeps at least half of it).
fn segment_english(s: &Segment, value: &Value) -> (Option<String>, Option<String>) {
    let Some(text) = value.get("text").and_then(Value::as_str) else {
        return (None, None);
    };
    let text = text.trim();
    if value.get("cut_off").and_then(Value::as_bool) != Some(true) {
        return (Some(text.to_string()), None);
    }
    let cut = text
        .rfind(['.', '?', '!', ';'])
        .filter(|&at| at >= text.len() / 2)
        .map_or(text, |at| &text[..=at]);
    let warning = format!(
        "translation of {} (lines {}-{}) ran to its token limit; the model probably repeated itself, so it is cut at its last full sentence",
        s.id, s.lines[0], s.lines[1]
    );
    (Some(cut.to_string()), Some(warning))
}

/// Translate a document in segment mode. A failed segment is left without English and
/// reported in the error, with the output as far as it got.
pub async fn run_segments(
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
    let plan = match segment_calls(doc, chunks, ctx) {
        Ok(p) => p,
        Err(e) => {
            return TaskResult {
                output: Some(TaskOutput::Translation(out)),
                ..TaskResult::failed(e)
            };
        }
    };
    let called: Vec<&SegmentCall> = plan.iter().filter(|c| c.call.is_some()).collect();
    let specs: Vec<CallSpec> = called.iter().filter_map(|c| c.call.clone()).collect();
    let sent: Vec<&str> = called.iter().map(|c| c.segment.text.as_str()).collect();
    let mut answers = call_all(caller, &specs).await;
    let mut values = std::mem::take(&mut answers.values);
    // A call whose answer could not be used is made again without glossary terms and context,
    // when it had any: the small model repeats them instead of translating.
    let (bare_at, bare): (Vec<usize>, Vec<CallSpec>) = values
        .iter()
        .enumerate()
        .filter(|(k, v)| {
            v.is_none() && called[*k].bare.is_some() && usable_again(&answers, &specs[*k])
        })
        .filter_map(|(k, _)| Some((k, called[k].bare.clone()?)))
        .unzip();
    if !bare.is_empty() {
        let mut second = call_all(caller, &bare).await;
        for (&k, v) in bare_at.iter().zip(std::mem::take(&mut second.values)) {
            if v.is_some() {
                values[k] = v;
                answers.failures.retain(|f| f.what != specs[k].what);
            }
        }
        answers.model = answers.model.take().or(second.model);
    }
    // What is still refused after every attempt: a copy of the Dutch, or a reply too short or
    // too long, is kept as the model gave it and said in the warnings (the checks flag it in the
    // output), so that one address line the model will not translate does not fail the letter.
    // A reply that repeats the prompt is not English of this paragraph: that call stays failed.
    let mut notes = Notes::default();
    for (k, v) in values.iter_mut().enumerate() {
        if v.is_some() {
            continue;
        }
        let kept = answers.failures.iter().find_map(|f| match f.error.llm() {
            Some(LlmError::SchemaViolation { errors, raw })
                if f.what == specs[k].what
                    && !errors.iter().any(|e| e.contains("{\"pattern\":")) =>
            {
                let why: Vec<&str> = errors
                    .iter()
                    .map(|e| crate::llm::structured::describe_plain(e))
                    .collect();
                Some((
                    crate::llm::structured::plain_value(raw, false),
                    why.join(" "),
                ))
            }
            _ => None,
        });
        if let Some((value, why)) = kept {
            let s = &called[k].segment;
            notes.warnings.push(format!(
                "translation of {} (lines {}-{}) is the model's answer as it gave it, after every attempt was refused: {why}",
                s.id, s.lines[0], s.lines[1]
            ));
            *v = Some(value);
            answers.failures.retain(|f| f.what != specs[k].what);
        }
    }
    // Round 2: a reply that still reads as Dutch is asked again, once.
    let text = |v: &Option<Value>| -> Option<String> {
        v.as_ref()?.get("text")?.as_str().map(str::to_string)
    };
    let (again_at, again): (Vec<usize>, Vec<CallSpec>) = values
        .iter()
        .enumerate()
        .filter_map(|(k, v)| {
            let en = text(v)?;
            reads_as_dutch(sent[k], &en).then(|| (k, still_dutch_call(&specs[k], &en)))
        })
        .unzip();
    if !again.is_empty() {
        let mut second = call_all(caller, &again).await;
        for (&k, v) in again_at.iter().zip(std::mem::take(&mut second.values)) {
            if text(&v).is_some_and(|en| !reads_as_dutch(sent[k], &en)) {
                values[k] = v;
            }
        }
        // A failed second round leaves the first answer in place: not a failure of the task.
        for f in second.failures {
            notes
                .warnings
                .push(format!("{}: {}; the first answer is kept", f.what, f.error));
        }
        answers.model = answers.model.take().or(second.model);
    }
    let mut values = values.into_iter();
    for SegmentCall {
        segment: s, call, ..
    } in plan
    {
        let en = if call.is_some() {
            match values.next().flatten() {
                Some(v) => {
                    let (en, warning) = segment_english(&s, &v);
                    notes.warnings.extend(warning);
                    en
                }
                None => None,
            }
        } else {
            Some(s.text.clone())
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
        });
    }
    out.model = answers.model.take().unwrap_or_default();
    notes.warnings.extend(empty(&out));
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
