//! Refine: one more translation of each segment the review found verified major or critical
//! errors in, given the Dutch, the draft, the reviewer's notes and the glossary; every other
//! segment keeps its English. One round, cached like every call, so a rerun is free and a
//! change to the review re-calls only the segments whose notes changed.
//!
//! The answer is plain text, validated like segment mode's (not empty, not the Dutch, not far
//! longer than it). The run applies it to the translation: translation.json keeps the final
//! English, the draft, and the review errors that caused the change, and the output checks run
//! on the final English.

use super::review::ReviewOut;
use super::translate::{SegmentOut, TranslationOut, plain_spec};
use super::{
    About, CallSpec, Input, Pages, Source, Task, TaskContext, TaskError, TaskKind, TaskOutput,
    TaskResult, call_all, inside_block,
};
use crate::chunk::Chunk;
use crate::ingest::Document;
use crate::llm::BoxFuture;
use crate::prompt::PromptError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One segment sent back to the translator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RefinedSegment {
    pub id: String,
    pub lines: [u32; 2],
    #[serde(flatten)]
    pub pages: Pages,
    pub nl: String,
    /// The English the review read.
    pub draft: String,
    /// The English after refinement; none when its call failed (the draft stands).
    pub en: Option<String>,
    /// The review errors (`e3`, ...) it was sent back for.
    pub errors: Vec<String>,
}

/// refine.json
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RefineOut {
    pub doc_id: String,
    pub source: Source,
    pub model: String,
    pub segments: Vec<RefinedSegment>,
}

impl RefineOut {
    /// Put the refined English into `translation`: the final `en`, the `draft` before it and
    /// the errors that caused the change, for every segment whose English changed.
    pub fn apply(&self, translation: &mut TranslationOut) {
        for r in &self.segments {
            let Some(en) = r.en.as_deref() else { continue };
            if let Some(s) = translation.segments.iter_mut().find(|s| s.id == r.id)
                && s.en.as_deref() == Some(r.draft.as_str())
                && en != r.draft
            {
                s.draft = Some(r.draft.clone());
                s.en = Some(en.to_string());
                s.refined_by = r.errors.clone();
            }
        }
    }
}

/// The refine task.
pub struct Refine;

impl TaskKind for Refine {
    fn about(&self) -> &'static About {
        &About {
            file: "refine",
            prompt_keys: &["refine@", "glossary"],
        }
    }

    /// Unknown until the review is in: it is one call per segment the review found verified
    /// major or critical errors in, added to the count when the review is done.
    fn call_count(&self, _doc: &Document, _chunks: &[Chunk], _ctx: &TaskContext) -> usize {
        0
    }

    fn run<'a>(&'a self, on: Input<'a>) -> BoxFuture<'a, TaskResult> {
        Box::pin(run(on))
    }
}

/// A segment to refine: its call, and the review errors it is for.
pub struct RefineCall<'t> {
    pub segment: &'t SegmentOut,
    pub errors: Vec<String>,
    pub spec: CallSpec,
}

/// The calls, one per segment with verified major or critical errors, in the letter's order.
pub fn calls<'t>(
    doc: &Document,
    ctx: &TaskContext,
    translation: &'t TranslationOut,
    review: &ReviewOut,
) -> Result<Vec<RefineCall<'t>>, PromptError> {
    let mut out = Vec::new();
    let flagged = flagged(translation, review);
    for (n, s) in flagged.iter().enumerate() {
        let errors: Vec<_> = review.to_correct(&s.id).collect();
        let vars = json!({
            "doc": {"id": doc.id},
            "glossary": ctx.prompts.glossary_for(&s.nl),
            "nl": inside_block(&s.nl),
            "draft": inside_block(s.en.as_deref().unwrap_or_default()),
            "errors": errors.iter().map(|e| json!({
                "severity": e.severity.name(),
                "category": e.category.name(),
                "span_en": inside_block(&e.span_en),
                "span_nl": inside_block(&e.span_nl),
                "explanation": inside_block(&e.explanation),
                "suggestion": inside_block(&e.suggestion),
            })).collect::<Vec<_>>(),
        });
        let messages = ctx.prompts.render("refine", &vars)?;
        let what = format!("refine {} ({}/{})", s.id, n + 1, flagged.len());
        let spec = plain_spec(ctx, Task::Refine, doc, what, messages, "refinement", &s.nl);
        out.push(RefineCall {
            segment: s,
            errors: errors.iter().map(|e| e.id.clone()).collect(),
            spec,
        });
    }
    Ok(out)
}

async fn run(on: Input<'_>) -> TaskResult {
    let (Some(translation), Some(review)) = (on.prior.translation, on.prior.review) else {
        return TaskResult::failed(TaskError::Needs {
            task: Task::Refine,
            needs: if on.prior.translation.is_none() {
                Task::Translate
            } else {
                Task::Review
            },
        });
    };
    let plan = match calls(on.doc, on.ctx, translation, review) {
        Ok(p) => p,
        Err(e) => return TaskResult::failed(e),
    };
    let specs: Vec<CallSpec> = plan.iter().map(|c| c.spec.clone()).collect();
    let mut answers = call_all(on.caller, &specs).await;
    let segments = plan
        .iter()
        .zip(std::mem::take(&mut answers.values))
        .map(
            |(
                RefineCall {
                    segment: s, errors, ..
                },
                value,
            )| RefinedSegment {
                id: s.id.clone(),
                lines: s.lines,
                pages: Pages::of(on.doc, s.lines),
                nl: s.nl.clone(),
                draft: s.en.clone().unwrap_or_default(),
                en: value
                    .as_ref()
                    .and_then(|v| v.get("text"))
                    .and_then(Value::as_str)
                    .map(|t| t.trim().to_string()),
                errors: errors.clone(),
            },
        )
        .collect();
    TaskResult {
        output: Some(TaskOutput::Refine(RefineOut {
            doc_id: on.doc.id.clone(),
            source: Source::of(on.doc),
            model: answers.model.take().unwrap_or_default(),
            segments,
        })),
        notes: super::Notes::default(),
        error: answers.error(),
    }
}

/// The segments of `translation` with English that `review` found errors to correct in.
fn flagged<'t>(translation: &'t TranslationOut, review: &ReviewOut) -> Vec<&'t SegmentOut> {
    translation
        .segments
        .iter()
        .filter(|s| s.en.is_some() && s.kept.is_none() && review.to_correct(&s.id).next().is_some())
        .collect()
}

/// How many refine calls `review` asks for on `translation`.
pub fn count(translation: &TranslationOut, review: &ReviewOut) -> usize {
    flagged(translation, review).len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Kind;

    fn segment(id: &str, en: &str) -> SegmentOut {
        SegmentOut {
            id: id.into(),
            kind: Kind::Body,
            lines: [1, 1],
            spans: None,
            pages: Pages::default(),
            nl: "De kinderen.".into(),
            en: Some(en.into()),
            draft: None,
            refined_by: Vec::new(),
            checks: Vec::new(),
            kept: None,
        }
    }

    fn refined(id: &str, draft: &str, en: Option<&str>) -> RefinedSegment {
        RefinedSegment {
            id: id.into(),
            lines: [1, 1],
            pages: Pages::default(),
            nl: "De kinderen.".into(),
            draft: draft.into(),
            en: en.map(Into::into),
            errors: vec!["e1".into()],
        }
    }

    #[test]
    fn refined_english_replaces_the_draft_it_was_made_from_and_nothing_else() {
        let mut t = TranslationOut {
            doc_id: "d".into(),
            source: Source {
                path: "d.txt".into(),
                sha256: String::new(),
            },
            model: "m".into(),
            segments: vec![
                segment("p1", "The adults."),
                segment("p2", "The adults."),
                segment("p3", "The adults."),
                segment("p4", "The adults."),
            ],
            terminology: Vec::new(),
        };
        let r = RefineOut {
            doc_id: "d".into(),
            source: t.source.clone(),
            model: "m".into(),
            segments: vec![
                refined("p1", "The adults.", Some("The children.")),
                // Made from another draft (the translation changed since): not applied.
                refined("p2", "The grown-ups.", Some("The children.")),
                // The call failed: the draft stands.
                refined("p3", "The adults.", None),
                // Unchanged: no draft recorded.
                refined("p4", "The adults.", Some("The adults.")),
            ],
        };
        r.apply(&mut t);
        let s = &t.segments;
        assert_eq!(s[0].en.as_deref(), Some("The children."));
        assert_eq!(s[0].draft.as_deref(), Some("The adults."));
        assert_eq!(s[0].refined_by, vec!["e1".to_string()]);
        for other in &s[1..] {
            assert_eq!(other.en.as_deref(), Some("The adults."));
            assert!(other.draft.is_none() && other.refined_by.is_empty());
        }
    }
}
