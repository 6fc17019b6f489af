//! Segment mode: one plain-text call per paragraph with words, for small models, which copy
//! the Dutch or shift it by a paragraph when asked for a JSON map of segment ids. A reply that
//! cannot be used is asked again without glossary terms and context; one still refused is kept
//! as the model gave it, with a warning; one that still reads as Dutch is asked once more.

use super::{
    SegmentOut, TranslationOut, asked, bound, context_words, empty, floor, has_words, not_asked,
};
use crate::chunk::Chunk;
use crate::ingest::Document;
use crate::llm::LlmError;
use crate::prompt::PromptError;
use crate::tasks::{
    CallSpec, Caller, Notes, Segment, Source, Task, TaskContext, TaskOutput, TaskResult, call_all,
    segments,
};
use serde_json::{Value, json};

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
pub const ECHOES: &str = "Always translate these terms|For context \\(not to translate\\)|previous reply cannot be used|English translation only|A translator translated a similar sentence";

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
    let count = all.iter().filter(|s| asked(s, ctx)).count();
    let mut out = Vec::with_capacity(all.len());
    let mut n = 0;
    let mut previous: Option<&str> = None;
    for s in &all {
        if !asked(s, ctx) {
            // The text before the next segment is still this one's Dutch, so a person's English
            // leaves its neighbours' calls (and their cache) as they were.
            if has_words(&s.text) {
                previous = Some(&s.text);
            }
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
        let similar = super::similar(s, ctx);
        let what = format!("segment {} ({n}/{count})", s.id);
        let bare = if glossary.is_empty() && before.is_empty() && similar.is_none() {
            None
        } else {
            let bare = Extras {
                glossary: json!([]),
                before: "",
                similar: None,
            };
            let mut b = segment_spec(doc, ctx, s, &bare, format!("{what} bare"))?;
            b.round = 2;
            Some(b)
        };
        let extras = Extras {
            glossary: json!(glossary),
            before: &before,
            similar,
        };
        let call = segment_spec(doc, ctx, s, &extras, what)?;
        out.push(SegmentCall {
            segment: s.clone(),
            call: Some(call),
            bare,
        });
        previous = Some(&s.text);
    }
    Ok(out)
}

/// What a segment's prompt gives besides its text: glossary terms, the text before it, a
/// translator's English for a similar sentence.
struct Extras<'a> {
    glossary: Value,
    before: &'a str,
    similar: Option<Value>,
}

/// The plain-text call that translates segment `s`.
fn segment_spec(
    doc: &Document,
    ctx: &TaskContext,
    s: &Segment,
    extras: &Extras<'_>,
    what: String,
) -> Result<CallSpec, PromptError> {
    let mut vars = json!({
        "doc": {"id": doc.id},
        "glossary": extras.glossary,
        "before": extras.before,
        "id": s.id,
        "text": s.text,
    });
    // Only when there is one, so that every other prompt renders (and is cached) as before.
    if let Some(similar) = &extras.similar {
        vars["similar"] = similar.clone();
    }
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
fn usable_again(answers: &crate::tasks::Answers, spec: &CallSpec) -> bool {
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
            && !matches!(f.error, crate::tasks::CallError::NotConnected(_))
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
    let mut asked: Vec<Asked> = plan
        .iter()
        .filter_map(|p| {
            Some(Asked {
                plan: p,
                spec: p.call.clone()?,
                value: None,
            })
        })
        .collect();
    let specs: Vec<CallSpec> = asked.iter().map(|a| a.spec.clone()).collect();
    let mut answers = call_all(caller, &specs).await;
    for (a, v) in asked.iter_mut().zip(std::mem::take(&mut answers.values)) {
        a.value = v;
    }
    let mut notes = Notes::default();
    ask_bare(caller, &mut asked, &mut answers).await;
    keep_refused(&mut asked, &mut answers, &mut notes);
    ask_again_if_dutch(caller, &mut asked, &mut answers, &mut notes).await;
    let values: Vec<Option<Value>> = asked.into_iter().map(|a| a.value).collect();
    out.segments = assemble(plan, values, &mut notes, ctx);
    out.model = answers.model.take().unwrap_or_default();
    notes.warnings.extend(empty(&out));
    TaskResult {
        output: Some(TaskOutput::Translation(out)),
        notes,
        error: answers.error(),
    }
}

/// A paragraph asked of the model in segment mode, and its answer so far.
struct Asked<'p> {
    plan: &'p SegmentCall,
    spec: CallSpec,
    value: Option<Value>,
}

/// A call whose answer could not be used is made again without glossary terms and context,
/// when it had any: the small model repeats them instead of translating.
async fn ask_bare(
    caller: &dyn Caller,
    asked: &mut [Asked<'_>],
    answers: &mut crate::tasks::Answers,
) {
    let again: Vec<usize> = (0..asked.len())
        .filter(|&k| {
            let a = &asked[k];
            a.value.is_none() && a.plan.bare.is_some() && usable_again(answers, &a.spec)
        })
        .collect();
    if again.is_empty() {
        return;
    }
    let bare: Vec<CallSpec> = again
        .iter()
        .filter_map(|&k| asked[k].plan.bare.clone())
        .collect();
    let mut second = call_all(caller, &bare).await;
    for (&k, v) in again.iter().zip(std::mem::take(&mut second.values)) {
        if v.is_some() {
            asked[k].value = v;
            answers.failures.retain(|f| f.what != asked[k].spec.what);
        }
    }
    answers.model = answers.model.take().or(second.model);
}

/// What is still refused after every attempt: a copy of the Dutch, or a reply too short or too
/// long, is kept as the model gave it and said in the warnings (the checks flag it in the
/// output), so that one address line the model will not translate does not fail the letter. A
/// reply that repeats the prompt is not English of this paragraph: that call stays failed.
fn keep_refused(asked: &mut [Asked<'_>], answers: &mut crate::tasks::Answers, notes: &mut Notes) {
    for a in asked.iter_mut().filter(|a| a.value.is_none()) {
        let kept = answers.failures.iter().find_map(|f| match f.error.llm() {
            Some(LlmError::SchemaViolation { errors, raw })
                if f.what == a.spec.what && !errors.iter().any(|e| e.contains("{\"pattern\":")) =>
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
            let s = &a.plan.segment;
            notes.warnings.push(format!(
                "translation of {} (lines {}-{}) is the model's answer as it gave it, after every attempt was refused: {why}",
                s.id, s.lines[0], s.lines[1]
            ));
            a.value = Some(value);
            answers.failures.retain(|f| f.what != a.spec.what);
        }
    }
}

/// The English of a segment-mode answer, if it has any.
fn answer_text(v: &Option<Value>) -> Option<String> {
    v.as_ref()?.get("text")?.as_str().map(str::to_string)
}

/// A reply that still reads as Dutch is asked again, once; the second answer replaces it only
/// when it does not read as Dutch, and a failed second round keeps the first answer.
async fn ask_again_if_dutch(
    caller: &dyn Caller,
    asked: &mut [Asked<'_>],
    answers: &mut crate::tasks::Answers,
    notes: &mut Notes,
) {
    let (at, again): (Vec<usize>, Vec<CallSpec>) = asked
        .iter()
        .enumerate()
        .filter_map(|(k, a)| {
            let en = answer_text(&a.value)?;
            reads_as_dutch(&a.plan.segment.text, &en).then(|| (k, still_dutch_call(&a.spec, &en)))
        })
        .unzip();
    if again.is_empty() {
        return;
    }
    let mut second = call_all(caller, &again).await;
    for (&k, v) in at.iter().zip(std::mem::take(&mut second.values)) {
        if answer_text(&v).is_some_and(|en| !reads_as_dutch(&asked[k].plan.segment.text, &en)) {
            asked[k].value = v;
        }
    }
    for f in second.failures {
        notes
            .warnings
            .push(format!("{}: {}; the first answer is kept", f.what, f.error));
    }
    answers.model = answers.model.take().or(second.model);
}

/// Every segment of the letter with its English: the answer of its call (`values`, in the
/// order of the segments that have a call), or its own text when it has no words to translate.
fn assemble(
    plan: Vec<SegmentCall>,
    values: Vec<Option<Value>>,
    notes: &mut Notes,
    ctx: &TaskContext,
) -> Vec<SegmentOut> {
    let mut values = values.into_iter();
    let mut segments = Vec::with_capacity(plan.len());
    for SegmentCall {
        segment: s, call, ..
    } in plan
    {
        let (en, kept) = if call.is_some() {
            match values.next().flatten() {
                Some(v) => {
                    let (en, warning) = segment_english(&s, &v);
                    notes.warnings.extend(warning);
                    (en, None)
                }
                None => (None, None),
            }
        } else {
            not_asked(&s, ctx)
        };
        let interrupted = s.spans.len() != 1 || s.spans.first() != Some(&s.lines);
        segments.push(SegmentOut {
            id: s.id,
            kind: s.kind,
            lines: s.lines,
            spans: interrupted.then_some(s.spans),
            pages: crate::tasks::Pages::default(),
            nl: s.text,
            en,
            draft: None,
            refined_by: Vec::new(),
            checks: Vec::new(),
            kept,
        });
    }
    segments
}
