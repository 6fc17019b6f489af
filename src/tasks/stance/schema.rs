//! The stance replies' JSON Schemas: the combined answer, and per question the overall one and
//! a topic's. Constrained (the embedded model, `choices` given), quotes are one of the letter's
//! sentences and free text and lists are bounded.

use super::{DOC_TYPES, OVERALL, TOPIC_STANCES};
use crate::prompt::Topic;
use serde_json::{Value, json};

/// Bounds on a constrained (embedded-model) answer: free text in characters, lists in items. A
/// small model that runs on (a rationale that never ends, quote after quote) is stopped by its
/// grammar at the bound instead of at the token limit, where the whole answer would be lost:
/// twelve judgements at every bound (a 160-character text is about 40 tokens) and a quoted
/// sentence of up to 80 tokens each come to about 2,000 tokens. Measured on the five letters
/// with bounds of 240 characters and 2 quotes, the 0.5B model still wrote past 2,048 tokens.
/// Remote endpoints get no bounds: strict structured-output modes may refuse `maxLength`.
pub(super) const BOUND_TEXT_CHARS: usize = 160;
/// A rationale's bound: the prompt asks for one short sentence, and the bound sits well past
/// one, so that it stops a run-on answer rather than a sentence. At 160 characters, 22 of the
/// 65 rationales of the five letters were cut mid-sentence
/// (docs/decisions/2026-12-07-analysis-measured.md).
pub(super) const BOUND_RATIONALE_CHARS: usize = 320;
pub(super) const BOUND_EVIDENCE: usize = 1;
pub(super) const BOUND_OVERALL_EVIDENCE: usize = 2;
pub(super) const BOUND_NAMES: usize = 6;
pub(super) const BOUND_NAME_CHARS: usize = 100;

/// A free-text string, bounded when the answer is constrained.
fn text(bounded: bool, max_chars: usize) -> Value {
    if bounded {
        json!({"type": "string", "maxLength": max_chars})
    } else {
        json!({"type": "string"})
    }
}

/// A confidence between 0 and 1. Under a grammar it is one of 0.0, 0.1, ..., 1.0: llama.cpp's
/// grammar leaves `minimum` and `maximum` of a number unenforced (the 0.5B model answered -1.0
/// for every judgement of a Commission part, which the validator then refused), but it does
/// enforce an enum.
fn confidence(bounded: bool) -> Value {
    if bounded {
        let steps: Vec<f64> = (0..=10).map(|i| f64::from(i) / 10.0).collect();
        json!({"type": "number", "minimum": 0, "maximum": 1, "enum": steps})
    } else {
        json!({"type": "number", "minimum": 0, "maximum": 1})
    }
}

/// A quote, with its English when `gloss` (else the English is taken from the letter's
/// translation: [`super::gloss`]).
fn evidence_schema(choices: Option<&[String]>, gloss: bool) -> Value {
    let quote = match choices {
        Some(c) if !c.is_empty() => json!({"enum": c}),
        _ => json!({"type": "string"}),
    };
    if !gloss {
        return json!({
            "type": "object",
            "properties": {"quote_nl": quote},
            "required": ["quote_nl"],
            "additionalProperties": false
        });
    }
    json!({
        "type": "object",
        "properties": {"quote_nl": quote, "quote_en": text(choices.is_some(), BOUND_TEXT_CHARS)},
        "required": ["quote_nl", "quote_en"],
        "additionalProperties": false
    })
}

/// The reply schema. With `choices` (the embedded model), quotes must be one of those source
/// sentences and free text and lists are bounded.
pub fn schema(topics: &[Topic], choices: Option<&[String]>) -> Value {
    full_schema(topics, choices, true)
}

/// [`schema`], its quotes with their English when `gloss`.
fn full_schema(topics: &[Topic], choices: Option<&[String]>, gloss: bool) -> Value {
    let bounded = choices.is_some();
    let ev = evidence_schema(choices, gloss);
    let list = |items: Value, max: usize| list(bounded, items, max);
    // A stance with its confidence, rationale and evidence: the overall one and each topic's.
    let judgement = |stances: &[&str], quotes: usize| {
        json!({
            "type": "object",
            "properties": {
                "stance": {"enum": stances},
                "confidence": confidence(bounded),
                "rationale_en": text(bounded, BOUND_RATIONALE_CHARS),
                "evidence": list(ev.clone(), quotes)
            },
            "required": ["stance", "confidence", "rationale_en", "evidence"],
            "additionalProperties": false
        })
    };
    let topic_schema = judgement(TOPIC_STANCES, BOUND_EVIDENCE);
    let props: serde_json::Map<String, Value> = topics
        .iter()
        .map(|t| (t.id.clone(), topic_schema.clone()))
        .collect();
    let ids: Vec<&str> = topics.iter().map(|t| t.id.as_str()).collect();
    json!({
        "title": "tolk.stance",
        "type": "object",
        "properties": {
            "authors": list(text(bounded, BOUND_NAME_CHARS), BOUND_NAMES),
            "addressees": list(text(bounded, BOUND_NAME_CHARS), BOUND_NAMES),
            "date": {"type": ["string", "null"]},
            "doc_type": {"enum": DOC_TYPES},
            "overall": judgement(OVERALL, BOUND_OVERALL_EVIDENCE),
            "topics": {
                "type": "object",
                "properties": props,
                "required": ids,
                "additionalProperties": false
            }
        },
        "required": ["authors", "addressees", "date", "doc_type", "overall", "topics"],
        "additionalProperties": false
    })
}

/// The reply schema of a question of the user's ([`crate::tasks::questions`]), shaped as a
/// topic's: the quotes first (up to two), then the answer in English, then the position (one of
/// `positions`), so that the model answers after it has quoted.
pub fn question_schema(positions: &[String], choices: Option<&[String]>, gloss: bool) -> Value {
    let bounded = choices.is_some();
    json!({
        "title": "tolk.question",
        "type": "object",
        "properties": {
            "evidence": list(bounded, evidence_schema(choices, gloss), BOUND_OVERALL_EVIDENCE),
            "answer_en": text(bounded, BOUND_RATIONALE_CHARS),
            "position": {"enum": positions},
            "confidence": confidence(bounded)
        },
        "required": ["evidence", "answer_en", "position", "confidence"],
        "additionalProperties": false
    })
}

/// A list, bounded when the answer is constrained.
fn list(bounded: bool, items: Value, max: usize) -> Value {
    if bounded {
        json!({"type": "array", "items": items, "maxItems": max})
    } else {
        json!({"type": "array", "items": items})
    }
}

/// The reply schema of the overall question (per question): the names, the date, the kind of
/// document and the overall stance, in the combined answer's shape; its quotes with their
/// English when `gloss`.
pub fn overall_schema(choices: Option<&[String]>, gloss: bool) -> Value {
    let mut full = full_schema(&[], choices, gloss);
    let props = full["properties"]
        .as_object_mut()
        .expect("the stance schema is an object");
    props.remove("topics");
    json!({
        "title": "tolk.stance_overall",
        "type": "object",
        "properties": props.clone(),
        "required": ["authors", "addressees", "date", "doc_type", "overall"],
        "additionalProperties": false
    })
}

/// The reply schema of one topic's question (per question): the quote first, then the reason,
/// then the stance, so that a small model judges after it has quoted and reasoned (the order of
/// the properties is the order it writes them under a grammar). The quote with its English when
/// `gloss`. Asking first whether the letter takes a position on the topic at all did not help
/// the embedded model (docs/decisions/2026-12-07-analysis-measured.md).
pub fn topic_schema(choices: Option<&[String]>, gloss: bool) -> Value {
    let bounded = choices.is_some();
    json!({
        "title": "tolk.stance_topic",
        "type": "object",
        "properties": {
            "evidence": list(bounded, evidence_schema(choices, gloss), BOUND_EVIDENCE),
            "rationale_en": text(bounded, BOUND_RATIONALE_CHARS),
            "stance": {"enum": TOPIC_STANCES},
            "confidence": confidence(bounded)
        },
        "required": ["evidence", "rationale_en", "stance", "confidence"],
        "additionalProperties": false
    })
}
