//! Questions of the user's own, asked of every letter (`tolk ask "..."`, or `[[questions]]` in
//! tolk.toml with every run that takes the stance): per letter an English answer, a position on
//! the question, and the Dutch sentences that carry it, grounded like a stance quote.
//!
//! A question is asked the way a stance topic is ([`super::ask`]): the letter first, then one
//! question per call, so that the embedded model reads the letter once for all of them; a
//! letter too long for one call is asked in parts and the parts' answers are merged, and the
//! answer says so. Under a grammar the quote is one of the letter's own sentences, chosen among
//! those that use the question's terms: the terms given with the question (a part that uses none
//! of them is not asked: not addressed there), else words of the question itself and the Dutch
//! of the glossary terms it names, which only narrow the sentences to quote.
//!
//! An answer that takes a position without a verified quote is marked unsupported.

use super::stance::{Evidence, gloss, question_schema, sentences, whole_sentences};
use super::{
    About, CallSpec, Caller, Input, Notes, Prior, Source, Task, TaskContext, TaskKind, TaskOutput,
    TaskResult, ask, call_all,
};
use crate::chunk::Chunk;
use crate::ground;
use crate::ingest::Document;
use crate::llm::BoxFuture;
use crate::prompt::{PromptError, Term};
use crate::tasks::finding::Finding;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The positions an answer takes when the question gives no labels of its own.
pub const POSITIONS: &[&str] = &["support", "oppose", "mixed", "neutral"];
/// The position of a letter that says nothing on the question; always one of the choices.
pub const NOT_ADDRESSED: &str = "not_addressed";

/// The token budget of one answer: two quoted sentences (up to about 80 tokens each), their
/// glosses and the answer (about 40 to 80 each), and the keys.
const BOUNDED_TOKENS: u32 = 640;
/// Completion tokens expected of one answer.
const EXPECTED_TOKENS: u64 = 150;

/// A question of the user's.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// A short name: lower-case letters, digits, `-` and `_` (the answer's key in
    /// questions.json and in the CSV export).
    pub id: String,
    /// The question, in English or Dutch.
    pub text: String,
    /// The positions an answer can take (default: support, oppose, mixed, neutral);
    /// `not_addressed` is always one of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Dutch words a text on the question uses (lower case, matched inside words). Given, a
    /// part of a letter that uses none of them is not asked (not addressed there), and the
    /// quote is one of the sentences that use them. Not given, words of the question and the
    /// Dutch of the glossary terms it names choose the sentences to quote, and every part is
    /// asked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub terms: Vec<String>,
}

/// Why a question cannot be asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuestionError {
    #[error("question {id:?}: the id is empty or has other characters than a-z, 0-9, - and _")]
    BadId { id: String },
    #[error("question {id:?}: the text is empty")]
    NoText { id: String },
    #[error("question {id:?}: asked twice")]
    Twice { id: String },
    #[error("question {id:?}: label {label:?} is empty, repeated, or has a comma or a newline")]
    BadLabel { id: String, label: String },
}

impl Question {
    /// A question from its text, with an id made of its first words unless one is given.
    pub fn new(text: &str, id: Option<&str>, labels: Vec<String>, terms: Vec<String>) -> Self {
        Question {
            id: id.map(str::to_string).unwrap_or_else(|| slug(text)),
            text: text.trim().to_string(),
            labels: labels.into_iter().map(|l| l.trim().to_string()).collect(),
            terms: terms.into_iter().map(|t| t.trim().to_lowercase()).collect(),
        }
    }

    /// The positions an answer can take: the labels or [`POSITIONS`], then `not_addressed`.
    pub fn positions(&self) -> Vec<String> {
        let mut out: Vec<String> = if self.labels.is_empty() {
            POSITIONS.iter().map(|s| s.to_string()).collect()
        } else {
            self.labels.clone()
        };
        if !out.iter().any(|l| l == NOT_ADDRESSED) {
            out.push(NOT_ADDRESSED.into());
        }
        out
    }

    fn check(&self) -> Result<(), QuestionError> {
        let id_ok = !self.id.is_empty()
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !id_ok {
            return Err(QuestionError::BadId {
                id: self.id.clone(),
            });
        }
        if self.text.trim().is_empty() {
            return Err(QuestionError::NoText {
                id: self.id.clone(),
            });
        }
        for (i, l) in self.labels.iter().enumerate() {
            if l.is_empty() || l.contains([',', '\n']) || self.labels[..i].contains(l) {
                return Err(QuestionError::BadLabel {
                    id: self.id.clone(),
                    label: l.clone(),
                });
            }
        }
        Ok(())
    }

    /// Whether `text` uses one of `terms` ([`crate::prompt::uses_any`]).
    fn uses(terms: &[String], text: &str) -> bool {
        crate::prompt::uses_any(terms, text)
    }

    /// The terms the sentences to quote are chosen by: the given ones, else
    /// [`derived_terms`].
    pub fn choosing_terms(&self, glossary: &[Term]) -> Vec<String> {
        if self.terms.is_empty() {
            derived_terms(&self.text, glossary)
        } else {
            self.terms.clone()
        }
    }
}

/// Every question well formed, and no id twice.
pub fn check_all(questions: &[Question]) -> Result<(), QuestionError> {
    for (i, q) in questions.iter().enumerate() {
        q.check()?;
        if questions[..i].iter().any(|p| p.id == q.id) {
            return Err(QuestionError::Twice { id: q.id.clone() });
        }
    }
    Ok(())
}

/// An id from the question's first words: `what-does-each-letter-say`, at most 40 characters;
/// `question` when it has no ASCII letters.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for w in text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() && out.len() + 1 + w.len() > 40 {
            break;
        }
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&w.to_ascii_lowercase());
    }
    if out.is_empty() {
        "question".into()
    } else {
        out
    }
}

/// Words of a question that are no clue to where a letter answers it.
const QUESTION_WORDS: &[&str] = &[
    "about",
    "also",
    "does",
    "each",
    "have",
    "into",
    "letter",
    "letters",
    "mention",
    "mentions",
    "that",
    "their",
    "them",
    "there",
    "they",
    "this",
    "what",
    "when",
    "where",
    "which",
    "with",
    "would",
    "should",
    "could",
    "say",
    "says",
    "said",
    "think",
    "view",
    "stance",
    "position",
    "brief",
    "brieven",
    "welke",
    "zegt",
    "zeggen",
    "noemt",
    "noemen",
    "over",
    "deze",
    "wordt",
    "worden",
    "standpunt",
    "vinden",
    "vindt",
    "hebben",
    "heeft",
    "wat",
    "elke",
];

/// Clues to where a letter answers `question`: the Dutch of every glossary term whose English
/// (or Dutch) the question uses, its hyphenated terms whole, and its own words of four letters
/// or more, cut to their first five (`encryption` finds `encryptie`, `scanning` finds `scannen`, `centre` finds
/// `centrum`).
pub fn derived_terms(question: &str, glossary: &[Term]) -> Vec<String> {
    let lower = question.to_lowercase();
    let mut out: Vec<String> = Vec::new();
    let mut add = |t: String| {
        if !t.is_empty() && !out.contains(&t) {
            out.push(t);
        }
    };
    for t in glossary {
        let (nl, en) = (t.nl.to_lowercase(), t.en.to_lowercase());
        if lower.contains(&en) || lower.contains(&nl) {
            add(nl);
        }
    }
    // Hyphenated terms whole (`client-side`, `end-to-end`): their parts are too short or too
    // common to find anything.
    for w in question.split(|c: char| !(c.is_alphanumeric() || c == '-')) {
        let w = w.trim_matches('-').to_lowercase();
        if w.contains('-') {
            add(w);
        }
    }
    for w in crate::lang::words(question) {
        if w.chars().count() < 4 || QUESTION_WORDS.contains(&w.as_str()) {
            continue;
        }
        add(w.chars().take(5).collect());
    }
    out
}

/// questions.json: one answer per question.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct QuestionsOut {
    pub doc_id: String,
    pub source: Source,
    pub model: String,
    pub answers: Vec<AnswerOut>,
    /// The run whose translation of this letter gave the quotes their English, when it is not
    /// this run's (`tolk ask` after a `tolk run`, on the embedded model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub english_from_run: Option<String>,
    /// What the output checks found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Finding>,
}

/// One question's answer for one letter.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct AnswerOut {
    /// The question's id.
    pub question: String,
    /// The question as it was asked.
    pub text: String,
    /// One of the question's positions, or `not_addressed`.
    pub position: String,
    pub confidence: f64,
    /// The answer in English.
    pub answer_en: String,
    /// The Dutch sentences the answer rests on, where they are, and their English.
    pub evidence: Vec<Evidence>,
    /// A position other than `not_addressed` with at least one verified quote (or
    /// `not_addressed`); false marks an answer to check by hand.
    pub supported: bool,
    /// How the letter was asked: `whole letter`, or `3 parts (the letter is longer than one
    /// call takes), asked in 2` when some parts do not use the question's terms.
    pub asked: String,
}

/// The questions task.
pub struct Questions;

impl TaskKind for Questions {
    fn about(&self) -> &'static About {
        &About {
            file: "questions",
            prompt_keys: &["ask@", "glossary"],
        }
    }

    /// One call per question on every part of the letter that uses its given terms.
    fn call_count(&self, doc: &Document, chunks: &[Chunk], ctx: &TaskContext) -> usize {
        ask::parts(doc, chunks, ctx)
            .iter()
            .map(|segs| {
                let text = ask::text(segs);
                ctx.questions
                    .iter()
                    .filter(|q| q.terms.is_empty() || Question::uses(&q.terms, &text))
                    .count()
            })
            .sum()
    }

    fn run<'a>(&'a self, on: Input<'a>) -> BoxFuture<'a, TaskResult> {
        Box::pin(run(on.doc, on.chunks, on.ctx, on.caller))
    }

    /// Quotes asked without their English take it from the letter's final translation.
    fn finish(&self, output: &mut TaskOutput, read: Prior<'_>) {
        if let (TaskOutput::Questions(q), Some(t)) = (output, read.translation) {
            gloss::fill_quotes(q.answers.iter_mut().flat_map(|a| a.evidence.iter_mut()), t);
        }
    }
}

/// One call: on which part (0-based), which question (by index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asked {
    pub part: usize,
    pub question: usize,
}

/// The calls: every question on every part of the letter that uses its given terms.
pub fn plan(
    doc: &Document,
    chunks: &[Chunk],
    ctx: &TaskContext,
) -> Result<(Vec<CallSpec>, Vec<Asked>, usize), PromptError> {
    let parts = ask::parts(doc, chunks, ctx);
    let n = parts.len();
    let gloss = !ctx.gloss_from_translation;
    let (mut specs, mut asked) = (Vec::new(), Vec::new());
    for (i, segs) in parts.iter().enumerate() {
        let text = ask::text(segs);
        let all = sentences(segs);
        for (k, q) in ctx.questions.iter().enumerate() {
            if !q.terms.is_empty() && !Question::uses(&q.terms, &text) {
                continue;
            }
            let choices = ctx.grammar.then(|| {
                let terms = q.choosing_terms(&ctx.prompts.glossary);
                let on: Vec<String> = all
                    .iter()
                    .filter(|s| Question::uses(&terms, s))
                    .cloned()
                    .collect();
                if on.is_empty() { all.clone() } else { on }
            });
            let question = json!({
                "kind": "question",
                "text": q.text,
                "positions": q.positions(),
                "gloss": gloss,
            });
            let messages = ask::messages(ctx, doc, segs, i, n, question)?;
            let what = if n == 1 {
                format!("question {}", q.id)
            } else {
                format!("part {}/{n} question {}", i + 1, q.id)
            };
            let mut spec = ctx.spec(
                Task::Questions,
                doc,
                what,
                messages,
                "question",
                question_schema(&q.positions(), choices.as_deref(), gloss),
                EXPECTED_TOKENS,
            );
            if ctx.grammar {
                spec.request.max_tokens = Some(BOUNDED_TOKENS);
            }
            specs.push(spec);
            asked.push(Asked {
                part: i,
                question: k,
            });
        }
    }
    Ok((specs, asked, n))
}

/// The answers put together: per question, the parts that address it decide (all agreeing,
/// their position; the default positions merged as a stance is; free labels that disagree,
/// the most confident part's), every quote grounded.
pub fn assemble(
    doc: &Document,
    questions: &[Question],
    answers: &[(Asked, Value)],
    parts: usize,
    model: &str,
) -> (QuestionsOut, u32) {
    let hay = ground::Haystack::new(doc);
    let mut unverified = 0;
    let mut out = Vec::new();
    for (k, q) in questions.iter().enumerate() {
        let mine: Vec<&(Asked, Value)> = answers.iter().filter(|(a, _)| a.question == k).collect();
        let addressed: Vec<&(Asked, Value)> = mine
            .iter()
            .copied()
            .filter(|(_, v)| v["position"].as_str().is_some_and(|p| p != NOT_ADDRESSED))
            .collect();
        let mut evidence = Vec::new();
        for (_, v) in &mine {
            evidence.extend(super::stance::ground_all(
                doc,
                &hay,
                &v["evidence"],
                &mut unverified,
            ));
        }
        let (position, confidence) = merge_positions(q, &addressed);
        let answer_en = if addressed.is_empty() {
            match mine.first() {
                Some((_, v)) if mine.len() == 1 => {
                    whole_sentences(v["answer_en"].as_str().unwrap_or(""))
                }
                _ if q.terms.is_empty() || !mine.is_empty() => "Not addressed.".to_string(),
                _ => format!(
                    "Not addressed: the letter uses none of the question's terms ({}).",
                    q.terms.join(", ")
                ),
            }
        } else if parts == 1 || addressed.len() == 1 && mine.len() == 1 {
            whole_sentences(addressed[0].1["answer_en"].as_str().unwrap_or(""))
        } else {
            addressed
                .iter()
                .map(|(a, v)| {
                    format!(
                        "Part {}: {}",
                        a.part + 1,
                        whole_sentences(v["answer_en"].as_str().unwrap_or(""))
                    )
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        let supported = position == NOT_ADDRESSED
            || evidence
                .iter()
                .any(|e: &Evidence| e.status != ground::Match::Unverified);
        let asked = if parts == 1 {
            "whole letter".to_string()
        } else if mine.len() == parts {
            format!("{parts} parts (the letter is longer than one call takes)")
        } else {
            format!(
                "{parts} parts (the letter is longer than one call takes), asked in {} that use its terms",
                mine.len()
            )
        };
        out.push(AnswerOut {
            question: q.id.clone(),
            text: q.text.clone(),
            position,
            confidence,
            answer_en,
            evidence,
            supported,
            asked,
        });
    }
    (
        QuestionsOut {
            doc_id: doc.id.clone(),
            source: Source::of(doc),
            model: model.to_string(),
            answers: out,
            english_from_run: None,
            checks: Vec::new(),
        },
        unverified,
    )
}

/// The position of the parts that address a question, with its confidence.
fn merge_positions(q: &Question, addressed: &[&(Asked, Value)]) -> (String, f64) {
    let of = |v: &Value| {
        (
            v["position"].as_str().unwrap_or(NOT_ADDRESSED).to_string(),
            v["confidence"].as_f64().unwrap_or(0.0),
        )
    };
    let all: Vec<(String, f64)> = addressed.iter().map(|(_, v)| of(v)).collect();
    if all.is_empty() {
        return (NOT_ADDRESSED.into(), 1.0);
    }
    if q.labels.is_empty() {
        return super::stance::combine(&all, NOT_ADDRESSED);
    }
    if all.iter().all(|(p, _)| *p == all[0].0) {
        let c = all.iter().map(|x| x.1).sum::<f64>() / all.len() as f64;
        return (all[0].0.clone(), (c * 1000.0).round() / 1000.0);
    }
    all.into_iter()
        .fold(None::<(String, f64)>, |best, x| match best {
            Some(b) if b.1 >= x.1 => Some(b),
            _ => Some(x),
        })
        .unwrap_or((NOT_ADDRESSED.into(), 0.0))
}

/// Answer every question of the run about a document.
pub async fn run(
    doc: &Document,
    chunks: &[Chunk],
    ctx: &TaskContext,
    caller: &dyn Caller,
) -> TaskResult {
    let (specs, asked, parts) = match plan(doc, chunks, ctx) {
        Ok(p) => p,
        Err(e) => return TaskResult::failed(e),
    };
    let mut answers = call_all(caller, &specs).await;
    if let Some(e) = answers.error() {
        return TaskResult::failed(e);
    }
    let values: Vec<(Asked, Value)> = asked
        .into_iter()
        .zip(answers.values.into_iter().flatten())
        .collect();
    let (mut out, unverified) = assemble(
        doc,
        &ctx.questions,
        &values,
        parts,
        &answers.model.unwrap_or_default(),
    );
    // The letter was translated by an earlier run: its English, not the bounded gloss.
    if let Some((run, file)) = ctx.earlier_translations.get(&doc.sha256)
        && let Ok(t) = crate::store::read_json::<super::translate::TranslationOut>(file)
        && gloss::replace_quotes(
            out.answers.iter_mut().flat_map(|a| a.evidence.iter_mut()),
            &t,
        ) > 0
    {
        out.english_from_run = Some(run.clone());
    }
    TaskResult {
        output: Some(TaskOutput::Questions(out)),
        notes: Notes {
            unverified_quotes: unverified,
            ..Notes::default()
        },
        error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_made_of_the_first_words_and_a_bad_one_is_refused() {
        assert_eq!(
            slug("What does each letter say about age verification?"),
            "what-does-each-letter-say-about-age"
        );
        assert_eq!(slug("¿?"), "question");
        let q = |id: &str| Question::new("Q?", Some(id), vec![], vec![]);
        assert!(check_all(&[q("age_verification-2")]).is_ok());
        assert_eq!(
            check_all(&[q("Age")]),
            Err(QuestionError::BadId { id: "Age".into() })
        );
        assert_eq!(
            check_all(&[q("a"), q("a")]),
            Err(QuestionError::Twice { id: "a".into() })
        );
        let labelled = Question::new("Q?", None, vec!["yes".into(), "yes".into()], vec![]);
        assert!(matches!(
            check_all(&[labelled]),
            Err(QuestionError::BadLabel { .. })
        ));
    }

    #[test]
    fn positions_are_the_labels_or_the_stances_and_always_not_addressed() {
        let q = Question::new("Q?", None, vec![], vec![]);
        assert_eq!(
            q.positions(),
            ["support", "oppose", "mixed", "neutral", "not_addressed"]
        );
        let q = Question::new("Q?", None, vec!["yes".into(), " no ".into()], vec![]);
        assert_eq!(q.positions(), ["yes", "no", "not_addressed"]);
    }

    #[test]
    fn the_terms_of_an_english_question_find_dutch_words() {
        let glossary = vec![Term {
            nl: "Leeftijdsverificatie".into(),
            en: "age verification".into(),
        }];
        let terms = derived_terms(
            "Which letters say client-side scanning breaks end-to-end encryption, or need age verification?",
            &glossary,
        );
        assert!(
            terms.contains(&"leeftijdsverificatie".to_string()),
            "{terms:?}"
        );
        for dutch in [
            "client-side scanning",
            "scannen",
            "encryptie",
            "end-to-end versleuteling",
        ] {
            assert!(Question::uses(&terms, dutch), "{dutch}: {terms:?}");
        }
        assert!(!terms.iter().any(|t| t.starts_with("lette") || t == "which"));
    }

    fn doc() -> Document {
        crate::ingest::from_bytes(
            "brief",
            std::path::Path::new("brief.txt"),
            b"Wij steunen het voorstel niet.\n\nEncryptie moet beschermd blijven.\n",
        )
        .expect("a text letter")
    }

    #[test]
    fn an_answer_without_a_verified_quote_is_unsupported_and_parts_say_how_they_were_asked() {
        let d = doc();
        let q = vec![
            Question::new("Is encryption protected?", Some("enc"), vec![], vec![]),
            Question::new("Age?", Some("age"), vec![], vec!["leeftijd".into()]),
        ];
        let answer = |part, question, position: &str, quote: &str| {
            (
                Asked { part, question },
                json!({"evidence": [{"quote_nl": quote, "quote_en": "x"}],
                       "answer_en": "The letter says so.", "position": position,
                       "confidence": 0.8}),
            )
        };
        let (out, unverified) = assemble(
            &d,
            &q,
            &[answer(0, 0, "support", "Encryptie moet beschermd blijven.")],
            1,
            "m",
        );
        assert_eq!(unverified, 0);
        let a = &out.answers[0];
        assert!(a.supported);
        assert_eq!(a.evidence[0].lines, Some([3, 3]));
        assert_eq!(a.asked, "whole letter");
        // The second question was not asked: none of its terms is in the letter.
        let b = &out.answers[1];
        assert_eq!(b.position, NOT_ADDRESSED);
        assert!(b.answer_en.contains("leeftijd"), "{}", b.answer_en);

        let (out, unverified) = assemble(
            &d,
            &q[..1],
            &[
                answer(0, 0, "oppose", "Dit staat er niet."),
                answer(1, 0, "not_addressed", ""),
            ],
            2,
            "m",
        );
        assert_eq!(unverified, 1);
        let a = &out.answers[0];
        assert!(!a.supported);
        assert_eq!(a.position, "oppose");
        assert!(a.asked.starts_with("2 parts"), "{}", a.asked);
    }

    #[test]
    fn free_labels_that_disagree_between_parts_take_the_most_confident() {
        let q = Question::new("Q?", None, vec!["yes".into(), "no".into()], vec![]);
        let a = |p: &str, c: f64| {
            (
                Asked {
                    part: 0,
                    question: 0,
                },
                json!({"position": p, "confidence": c}),
            )
        };
        let (x, y) = (a("yes", 0.4), a("no", 0.9));
        assert_eq!(merge_positions(&q, &[&x, &y]), ("no".to_string(), 0.9));
        let z = a("yes", 0.6);
        assert_eq!(merge_positions(&q, &[&x, &z]), ("yes".to_string(), 0.5));
    }
}
