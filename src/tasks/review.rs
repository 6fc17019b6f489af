//! Review: a second reading of the translation, chunk by chunk, as a careful translator reads
//! it. The model sees each chunk's Dutch segments with their English and marks errors after
//! MQM (a category, a severity, the words in the English and in the Dutch, an explanation and a
//! suggestion). Every span is looked up in its own segment's English or Dutch, exactly or
//! fuzzily like a stance quote; an error whose span is not there is kept and marked unverified,
//! never dropped, and only verified errors count towards the letter's MQM-style score.
//!
//! The deterministic checks cannot see a mistranslated clause ("verbergen" rendered as
//! "prevent") or a lost hedge; this is the reading that can, and it is grounded like everything
//! else: the segment's lines, and the exact words.

use super::translate::{SegmentOut, TranslationOut, has_words};
use super::{
    About, CallSpec, Input, Notes, Pages, Source, Task, TaskContext, TaskError, TaskKind,
    TaskOutput, TaskResult, call_all, inside_block,
};
use crate::chunk::Chunk;
use crate::ground::{Match, locate_span};
use crate::ingest::Document;
use crate::llm::BoxFuture;
use crate::prompt::PromptError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// What kind of error, after MQM's typology (accuracy split into its four kinds).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Mistranslation,
    Omission,
    Addition,
    Untranslated,
    Terminology,
    Fluency,
    Style,
    /// Numbers and locale: a number, date, amount or unit changed or wrongly formatted.
    Numbers,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::Mistranslation,
        Category::Omission,
        Category::Addition,
        Category::Untranslated,
        Category::Terminology,
        Category::Fluency,
        Category::Style,
        Category::Numbers,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Category::Mistranslation => "mistranslation",
            Category::Omission => "omission",
            Category::Addition => "addition",
            Category::Untranslated => "untranslated",
            Category::Terminology => "terminology",
            Category::Fluency => "fluency",
            Category::Style => "style",
            Category::Numbers => "numbers",
        }
    }

    /// MQM's dimension: accuracy, terminology, fluency, style, locale.
    pub fn dimension(self) -> &'static str {
        match self {
            Category::Mistranslation
            | Category::Omission
            | Category::Addition
            | Category::Untranslated => "accuracy",
            Category::Terminology => "terminology",
            Category::Fluency => "fluency",
            Category::Style => "style",
            Category::Numbers => "locale",
        }
    }
}

/// How much an error matters, with MQM's weights.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The meaning stays clear.
    Minor,
    /// A reader would be misinformed.
    Major,
    /// The meaning of a claim is reversed or lost.
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Minor, Severity::Major, Severity::Critical];

    pub fn name(self) -> &'static str {
        match self {
            Severity::Minor => "minor",
            Severity::Major => "major",
            Severity::Critical => "critical",
        }
    }

    /// The penalty points of one error: minor 1, major 5, critical 10.
    pub fn weight(self) -> u32 {
        match self {
            Severity::Minor => 1,
            Severity::Major => 5,
            Severity::Critical => 10,
        }
    }
}

/// One error the reviewer marked, with where its words were found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReviewError {
    /// `e1`, `e2`, ... in the letter's order.
    pub id: String,
    /// The segment id (`p12`).
    pub segment: String,
    /// The segment's lines; none when the reviewer named a segment the chunk does not have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<[u32; 2]>,
    #[serde(flatten)]
    pub pages: Pages,
    pub category: Category,
    pub severity: Severity,
    /// Words of the segment's English (empty for an omission).
    pub span_en: String,
    /// Words of the segment's Dutch (empty for an addition or a fluency error).
    pub span_nl: String,
    /// How `span_en` was found in the English; none when it is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en_match: Option<Match>,
    /// Byte range of `span_en` in the segment's English, when found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en_range: Option<[usize; 2]>,
    /// How `span_nl` was found in the Dutch; none when it is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nl_match: Option<Match>,
    /// Every span given was found in its segment (and one was given): the error is about
    /// words that are there, and it counts towards the score.
    pub verified: bool,
    pub explanation: String,
    pub suggestion: String,
}

/// An MQM-style score: penalty points per error (minor 1, major 5, critical 10) over the
/// Dutch words reviewed, `100 - 100 * penalty / words`. Only verified errors count.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Score {
    /// Dutch words in the segments reviewed.
    pub words: u64,
    pub minor: u32,
    pub major: u32,
    pub critical: u32,
    /// Errors whose words were not found (shown, not counted).
    pub unverified: u32,
    pub penalty: u32,
    /// 100 with no errors; below 0 when there are more penalty points than words.
    pub score: f64,
}

impl Score {
    /// The score of `errors` over `words` Dutch words.
    pub fn of(errors: &[ReviewError], words: u64) -> Score {
        let mut s = Score {
            words,
            ..Score::default()
        };
        for e in errors {
            if !e.verified {
                s.unverified += 1;
                continue;
            }
            match e.severity {
                Severity::Minor => s.minor += 1,
                Severity::Major => s.major += 1,
                Severity::Critical => s.critical += 1,
            }
            s.penalty += e.severity.weight();
        }
        s.score = score(s.penalty, words);
        s
    }

    /// Several letters' scores as one (a run's).
    pub fn total<'a>(scores: impl IntoIterator<Item = &'a Score>) -> Score {
        let mut t = Score::default();
        for s in scores {
            t.words += s.words;
            t.minor += s.minor;
            t.major += s.major;
            t.critical += s.critical;
            t.unverified += s.unverified;
            t.penalty += s.penalty;
        }
        t.score = score(t.penalty, t.words);
        t
    }
}

fn score(penalty: u32, words: u64) -> f64 {
    if words == 0 {
        return 100.0;
    }
    ((100.0 - 100.0 * penalty as f64 / words as f64) * 10.0).round() / 10.0
}

/// review.json
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReviewOut {
    pub doc_id: String,
    pub source: Source,
    pub model: String,
    /// The segments whose English was reviewed.
    pub reviewed: Vec<String>,
    pub errors: Vec<ReviewError>,
    pub score: Score,
}

impl ReviewOut {
    /// The verified errors of severity major or critical in segment `id`: what refine corrects.
    pub fn to_correct<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a ReviewError> + 'a {
        self.errors
            .iter()
            .filter(move |e| e.segment == id && e.verified && e.severity >= Severity::Major)
    }
}

/// The review task.
pub struct Review;

impl TaskKind for Review {
    fn about(&self) -> &'static About {
        &About {
            file: "review",
            prompt_keys: &["review@", "glossary"],
        }
    }

    /// One call per chunk with words (before the translation is in, the chunks it will have
    /// English for).
    fn call_count(&self, _doc: &Document, chunks: &[Chunk], _ctx: &TaskContext) -> usize {
        chunks.iter().filter(|c| has_words(&c.text)).count()
    }

    /// A chunk's Dutch and English and the instructions in, a few errors out.
    fn later_round_tokens(&self, chunks: &[Chunk]) -> (u64, u64) {
        let n = chunks.iter().filter(|c| has_words(&c.text)).count().max(1) as u64;
        let tokens: u64 = chunks.iter().map(|c| c.tokens as u64).sum();
        (tokens * 22 / 10 / n + 450, 200)
    }

    fn run<'a>(&'a self, on: Input<'a>) -> BoxFuture<'a, TaskResult> {
        Box::pin(run(on))
    }
}

/// The chunk a translated segment belongs to: the one whose lines hold its first line.
fn chunk_of(chunks: &[Chunk], s: &SegmentOut) -> usize {
    chunks
        .iter()
        .position(|c| c.lines[0] <= s.lines[0] && s.lines[0] <= c.lines[1])
        .unwrap_or(chunks.len().saturating_sub(1))
}

/// Whether a segment's English can be reviewed: it has words, and English.
fn reviewable(s: &SegmentOut) -> bool {
    has_words(&s.nl) && s.en.as_deref().is_some_and(|e| !e.trim().is_empty())
}

/// Under a grammar (the embedded model), at most this many errors per chunk, with spans of at
/// most [`SPAN_BOUND`] and notes of at most [`NOTE_BOUND`] characters: the 1.5B model, given
/// room for four errors a segment and 400-character notes, wrote one "critical" error per
/// segment with empty spans until the 2,048-token limit cut the answer off.
pub const GRAMMAR_MAX_ERRORS: usize = 8;
const SPAN_BOUND: usize = 120;
const NOTE_BOUND: usize = 200;

/// The reply schema: errors about the chunk's segments only, each field required; bounded
/// under a grammar.
pub fn schema(ids: &[String], bounded: bool) -> Value {
    let text = |n: usize| {
        if bounded {
            json!({"type": "string", "maxLength": n})
        } else {
            json!({"type": "string"})
        }
    };
    let error = json!({
        "type": "object",
        "properties": {
            "segment": {"enum": ids},
            "category": {"enum": Category::ALL.map(Category::name)},
            "severity": {"enum": Severity::ALL.map(Severity::name)},
            "span_en": text(SPAN_BOUND),
            "span_nl": text(SPAN_BOUND),
            "explanation": text(NOTE_BOUND),
            "suggestion": text(NOTE_BOUND),
        },
        "required": ["segment", "category", "severity", "span_en", "span_nl", "explanation", "suggestion"],
        "additionalProperties": false
    });
    let most = if bounded {
        (ids.len() * 2).min(GRAMMAR_MAX_ERRORS)
    } else {
        (ids.len() * 4).min(super::GRAMMAR_MAX_LENGTH)
    };
    json!({
        "title": "tolk.review",
        "type": "object",
        "properties": {
            "errors": {"type": "array", "items": error, "maxItems": most}
        },
        "required": ["errors"],
        "additionalProperties": false
    })
}

/// The calls, one per chunk with English to review, each with the segments it covers.
pub fn calls<'t>(
    doc: &Document,
    chunks: &[Chunk],
    ctx: &TaskContext,
    translation: &'t TranslationOut,
) -> Result<Vec<(Vec<&'t SegmentOut>, CallSpec)>, PromptError> {
    let mut groups: Vec<Vec<&SegmentOut>> = vec![Vec::new(); chunks.len().max(1)];
    for s in translation.segments.iter().filter(|s| reviewable(s)) {
        groups[chunk_of(chunks, s)].push(s);
    }
    let mut out = Vec::new();
    for (i, segs) in groups.into_iter().enumerate() {
        if segs.is_empty() {
            continue;
        }
        let nl: String = segs
            .iter()
            .map(|s| s.nl.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let vars = json!({
            "doc": {"id": doc.id},
            "glossary": ctx.prompts.glossary_for(&nl),
            "segments": segs.iter().map(|s| json!({
                "id": s.id,
                "nl": inside_block(&s.nl),
                "en": inside_block(s.en.as_deref().unwrap_or_default()),
            })).collect::<Vec<_>>(),
        });
        let messages = ctx.prompts.render("review", &vars)?;
        let ids: Vec<String> = segs.iter().map(|s| s.id.clone()).collect();
        let spec = ctx.spec(
            Task::Review,
            doc,
            format!("review {}/{}", i + 1, chunks.len().max(1)),
            messages,
            "review",
            schema(&ids, ctx.grammar),
            40 * segs.len() as u64 + 20,
        );
        out.push((segs, spec));
    }
    Ok(out)
}

/// The reviewer's error `v` about one of `segs`, with its spans looked up.
fn verify(v: &Value, segs: &[&SegmentOut], doc: &Document) -> Option<ReviewError> {
    let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").trim();
    let category: Category = serde_json::from_value(v.get("category")?.clone()).ok()?;
    let severity: Severity = serde_json::from_value(v.get("severity")?.clone()).ok()?;
    let id = field("segment");
    let seg = segs.iter().find(|s| s.id == id);
    let (span_en, span_nl) = (field("span_en"), field("span_nl"));
    let en = seg.and_then(|s| s.en.as_deref()).unwrap_or_default();
    let nl = seg.map(|s| s.nl.as_str()).unwrap_or_default();
    let en_found = (!span_en.is_empty()).then(|| locate_span(en, span_en));
    let nl_found = (!span_nl.is_empty()).then(|| locate_span(nl, span_nl));
    let found = |m: &Option<crate::ground::SpanMatch>| {
        m.as_ref().is_none_or(|m| m.status != Match::Unverified)
    };
    let verified = seg.is_some()
        && (en_found.is_some() || nl_found.is_some())
        && found(&en_found)
        && found(&nl_found);
    Some(ReviewError {
        id: String::new(),
        segment: id.to_string(),
        lines: seg.map(|s| s.lines),
        pages: seg.map_or_else(Pages::default, |s| Pages::of(doc, s.lines)),
        category,
        severity,
        span_en: span_en.to_string(),
        span_nl: span_nl.to_string(),
        en_match: en_found.map(|m| m.status),
        en_range: en_found.and_then(|m| m.byte_range),
        nl_match: nl_found.map(|m| m.status),
        verified,
        explanation: field("explanation").to_string(),
        suggestion: field("suggestion").to_string(),
    })
}

/// Review a document's translation. Chunks whose call failed are not reviewed (the error says
/// which); the output holds what the others found.
async fn run(on: Input<'_>) -> TaskResult {
    let Some(translation) = on.prior.translation else {
        return TaskResult::failed(TaskError::Needs {
            task: Task::Review,
            needs: Task::Translate,
        });
    };
    let plan = match calls(on.doc, on.chunks, on.ctx, translation) {
        Ok(p) => p,
        Err(e) => return TaskResult::failed(e),
    };
    let specs: Vec<CallSpec> = plan.iter().map(|(_, s)| s.clone()).collect();
    let mut answers = call_all(on.caller, &specs).await;
    let mut errors = Vec::new();
    let mut reviewed = Vec::new();
    let mut words = 0u64;
    for ((segs, _), value) in plan.iter().zip(std::mem::take(&mut answers.values)) {
        let Some(value) = value else { continue };
        for s in segs {
            reviewed.push(s.id.clone());
            words += s.nl.split_whitespace().filter(|w| has_words(w)).count() as u64;
        }
        let marked = value.get("errors").and_then(Value::as_array);
        for v in marked.into_iter().flatten() {
            if let Some(e) = verify(v, segs, on.doc) {
                errors.push(e);
            }
        }
    }
    // In the letter's order (a chunk's errors as the reviewer gave them), numbered.
    let order = |id: &str| translation.segments.iter().position(|s| s.id == id);
    errors.sort_by_key(|e| order(&e.segment).unwrap_or(usize::MAX));
    for (i, e) in errors.iter_mut().enumerate() {
        e.id = format!("e{}", i + 1);
    }
    let score = Score::of(&errors, words);
    let mut notes = Notes::default();
    if score.unverified > 0 {
        notes.warnings.push(format!(
            "review: {} of {} errors name words their segment does not have (kept, marked unverified, not scored)",
            score.unverified,
            errors.len()
        ));
    }
    let out = ReviewOut {
        doc_id: on.doc.id.clone(),
        source: Source::of(on.doc),
        model: answers.model.take().unwrap_or_default(),
        reviewed,
        errors,
        score,
    };
    TaskResult {
        output: Some(TaskOutput::Review(out)),
        notes,
        error: answers.error(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(severity: Severity, verified: bool) -> ReviewError {
        ReviewError {
            id: "e1".into(),
            segment: "p1".into(),
            lines: Some([1, 1]),
            pages: Pages::default(),
            category: Category::Mistranslation,
            severity,
            span_en: "prevent".into(),
            span_nl: "verbergen".into(),
            en_match: Some(Match::Exact),
            en_range: None,
            nl_match: Some(Match::Exact),
            verified,
            explanation: String::new(),
            suggestion: String::new(),
        }
    }

    #[test]
    fn the_score_weighs_verified_errors_over_the_words_reviewed() {
        let errors = [
            error(Severity::Minor, true),
            error(Severity::Major, true),
            error(Severity::Critical, true),
            error(Severity::Critical, false),
        ];
        let s = Score::of(&errors, 200);
        assert_eq!((s.minor, s.major, s.critical, s.unverified), (1, 1, 1, 1));
        assert_eq!(s.penalty, 16);
        assert_eq!(s.score, 92.0);
        assert_eq!(Score::of(&[], 0).score, 100.0);
        let t = Score::total([&s, &Score::of(&[error(Severity::Major, true)], 100)]);
        assert_eq!((t.words, t.penalty, t.score), (300, 21, 93.0));
    }
}
