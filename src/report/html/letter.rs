//! The page of one letter: the Dutch with its line numbers beside the English, segment by
//! segment, with the reviewer's marks and the checks' badges; the summary; the stance panel.

use super::{ReportError, RunView, range, render, statuses};
use crate::ground::Match;
use crate::ingest::facts::Facts;
use crate::store::read_json;
use crate::tasks::Task;
use crate::tasks::questions::QuestionsOut;
use crate::tasks::review::{ReviewError, ReviewOut};
use crate::tasks::stance::{Evidence, StanceOut};
use crate::tasks::summary::SummaryOut;
use crate::tasks::translate::TranslationOut;
use serde::Serialize;
use serde_json::json;
use std::path::Path;

#[derive(Serialize)]
pub(super) struct EvidenceView {
    quote_nl: String,
    quote_en: String,
    /// Where the English comes from, when it is not the model's gloss.
    en_note: Option<&'static str>,
    /// `data-lines` value, when the quote was found.
    lines: Option<String>,
    label: String,
    status: &'static str,
    score: String,
}

pub(super) fn evidence(e: &Evidence) -> EvidenceView {
    EvidenceView {
        quote_nl: e.quote_nl.clone(),
        quote_en: e.quote_en.clone(),
        en_note: e.en_from.note(),
        lines: e.lines.map(range),
        label: e
            .lines
            .map(|r| format!("L{}", range(r)))
            .unwrap_or_default(),
        status: match e.status {
            Match::Exact => "exact",
            Match::Fuzzy => "fuzzy",
            Match::Unverified => "unverified",
        },
        score: format!("{:.2}", e.score),
    }
}

#[derive(Serialize)]
struct TopicView {
    topic: String,
    label: String,
    stance: String,
    confidence: String,
    rationale_en: String,
    evidence: Vec<EvidenceView>,
}

#[derive(Serialize)]
struct StanceView {
    author: Vec<String>,
    addressees: Vec<String>,
    date: Option<String>,
    doc_type: String,
    overall: TopicView,
    topics: Vec<TopicView>,
}

fn stance_view(s: &StanceOut) -> StanceView {
    StanceView {
        author: s.author.clone(),
        addressees: s.addressees.clone(),
        date: s.date.clone(),
        doc_type: s.doc_type.replace('_', " "),
        overall: TopicView {
            topic: "overall".into(),
            label: "Overall".into(),
            stance: s.overall.stance.clone(),
            confidence: format!("{:.2}", s.overall.confidence),
            rationale_en: s.overall.rationale_en.clone(),
            evidence: s.overall.evidence.iter().map(evidence).collect(),
        },
        topics: s
            .topics
            .iter()
            .map(|t| TopicView {
                topic: t.topic.clone(),
                label: t.label.clone(),
                stance: t.stance.clone(),
                confidence: format!("{:.2}", t.confidence),
                rationale_en: t.rationale_en.clone(),
                evidence: t.evidence.iter().map(evidence).collect(),
            })
            .collect(),
    }
}

/// An answer to a question of the user's, on the letter's page.
#[derive(Serialize)]
struct AnswerView {
    id: String,
    text: String,
    position: String,
    confidence: String,
    answer_en: String,
    supported: bool,
    asked: String,
    evidence: Vec<EvidenceView>,
}

fn answer_views(q: &QuestionsOut) -> Vec<AnswerView> {
    q.answers
        .iter()
        .map(|a| AnswerView {
            id: a.question.clone(),
            text: a.text.clone(),
            position: a.position.clone(),
            confidence: format!("{:.2}", a.confidence),
            answer_en: a.answer_en.clone(),
            supported: a.supported,
            asked: a.asked.clone(),
            evidence: a.evidence.iter().map(evidence).collect(),
        })
        .collect()
}

#[derive(Serialize)]
struct Line {
    n: u32,
    text: String,
}

/// One row of the bilingual view: the Dutch lines a segment owns, and its English.
#[derive(Serialize)]
struct Row {
    id: String,
    kind: String,
    lines: Vec<Line>,
    label: String,
    /// "p. 2" (or "pp. 2-3") in a PDF letter, with a link to that page of the PDF.
    page: Option<String>,
    page_href: Option<String>,
    en: Option<String>,
    /// The English in pieces, the review's verified error spans marked (when it was reviewed
    /// and not refined since: refined English is shown plain, its draft marked).
    en_parts: Option<Vec<Part>>,
    /// The English before refine changed it, its error spans marked.
    draft_parts: Option<Vec<Part>>,
    refined_by: Vec<String>,
    /// "translator A. Vertaler, 2026-12-07" or "translation memory": whose English it is, when
    /// no model's.
    kept: Option<String>,
    /// The review's errors about this segment, verified or not.
    review: Vec<ErrorView>,
    /// The output checks' findings about this segment's English.
    checks: Vec<FlagView>,
    /// "major", "minor" or "" (none): the worst finding, for the row's class.
    flagged: &'static str,
}

/// A piece of a segment's English: plain, or a reviewer's error span with its severity and
/// what the reviewer said (shown on hover).
#[derive(Serialize)]
struct Part {
    text: String,
    severity: Option<&'static str>,
    title: String,
}

/// A review error under its segment's English.
#[derive(Serialize)]
struct ErrorView {
    id: String,
    severity: &'static str,
    category: &'static str,
    verified: bool,
    span_en: String,
    span_nl: String,
    explanation: String,
    suggestion: String,
}

fn error_view(e: &ReviewError) -> ErrorView {
    ErrorView {
        id: e.id.clone(),
        severity: e.severity.name(),
        category: e.category.name(),
        verified: e.verified,
        span_en: e.span_en.clone(),
        span_nl: e.span_nl.clone(),
        explanation: e.explanation.clone(),
        suggestion: e.suggestion.clone(),
    }
}

/// `en` cut at the verified error spans found in it (`en_range`), each span marked; where two
/// spans overlap, the first (then the more severe) is marked and the other only listed.
fn marked(en: &str, errors: &[&ReviewError]) -> Vec<Part> {
    let mut spans: Vec<(&ReviewError, [usize; 2])> = errors
        .iter()
        .filter(|e| e.verified)
        .filter_map(|e| Some((*e, e.en_range?)))
        .filter(|(_, [a, b])| {
            a < b && *b <= en.len() && en.is_char_boundary(*a) && en.is_char_boundary(*b)
        })
        .collect();
    spans.sort_by(|x, y| x.1[0].cmp(&y.1[0]).then(y.0.severity.cmp(&x.0.severity)));
    let mut parts = Vec::new();
    let mut at = 0;
    for (e, [a, b]) in spans {
        if a < at {
            continue;
        }
        if a > at {
            parts.push(Part {
                text: en[at..a].to_string(),
                severity: None,
                title: String::new(),
            });
        }
        let suggestion = if e.suggestion.is_empty() {
            String::new()
        } else {
            format!(" Suggestion: {}", e.suggestion)
        };
        parts.push(Part {
            text: en[a..b].to_string(),
            severity: Some(e.severity.name()),
            title: format!(
                "{} · {} {}: {}{suggestion}",
                e.id,
                e.severity.name(),
                e.category.name(),
                e.explanation
            ),
        });
        at = b;
    }
    if at < en.len() {
        parts.push(Part {
            text: en[at..].to_string(),
            severity: None,
            title: String::new(),
        });
    }
    parts
}

/// A finding as a badge: severity, check, message.
#[derive(Serialize)]
struct FlagView {
    severity: &'static str,
    check: &'static str,
    segment: String,
    label: String,
    lines: String,
    message: String,
}

fn flag_view(f: &crate::tasks::finding::Finding) -> FlagView {
    FlagView {
        severity: f.severity.name(),
        check: f.check.name(),
        segment: f.segment.clone(),
        label: f
            .lines
            .map(|l| format!("L{}", range(l)))
            .unwrap_or_default(),
        lines: f.lines.map(range).unwrap_or_default(),
        message: f.message.clone(),
    }
}

/// One fact of the letter as its page shows it: what it is, the letter's words, and a link to
/// the lines it stands on.
#[derive(Serialize)]
struct FactView {
    what: &'static str,
    value: String,
    label: String,
    lines: String,
}

/// The letter's facts, in the order a reader looks for them.
fn facts_view(f: &Facts) -> Vec<FactView> {
    let one = |what, value: &str, lines: [u32; 2]| FactView {
        what,
        value: value.to_string(),
        label: format!("L{}", range(lines)),
        lines: range(lines),
    };
    let mut out = Vec::new();
    if let Some(s) = &f.sender {
        out.push(one("from", &s.value, s.lines));
    }
    for a in &f.addressees {
        out.push(one("to", &a.value, a.lines));
    }
    for c in &f.cc {
        out.push(one("cc", &c.value, c.lines));
    }
    if let Some(d) = &f.date {
        out.push(one(
            "date",
            &format!("{} ({})", d.value, d.written),
            d.lines,
        ));
    }
    if let Some(p) = &f.place {
        out.push(one("place", &p.value, p.lines));
    }
    if let Some(s) = &f.subject {
        out.push(one("subject", &s.value, s.lines));
    }
    for r in &f.references {
        out.push(one("reference", &r.value, r.lines));
    }
    for s in &f.signatories {
        let who = match &s.title {
            Some(t) => format!("{}, {t}", s.name),
            None => s.name.clone(),
        };
        out.push(one("signed", &who, s.lines));
    }
    out
}

fn worst(findings: &[crate::tasks::finding::Finding]) -> &'static str {
    use crate::tasks::finding::Severity;
    if findings.iter().any(|f| f.severity == Severity::Major) {
        "major"
    } else if findings.is_empty() {
        ""
    } else {
        "minor"
    }
}

/// The rows of the bilingual table; `pdf` is the link to the PDF the letter was read from.
fn rows(
    t: &TranslationOut,
    original: Option<&[String]>,
    pdf: Option<&str>,
    review: Option<&ReviewOut>,
) -> Vec<Row> {
    t.segments
        .iter()
        .map(|s| {
            let errors: Vec<&ReviewError> = review
                .iter()
                .flat_map(|r| &r.errors)
                .filter(|e| e.segment == s.id)
                .collect();
            // The review read the draft when refine changed the English, else the English.
            let (en_parts, draft_parts) = match (&s.draft, &s.en) {
                _ if review.is_none() => (None, None),
                (Some(draft), _) => (None, Some(marked(draft, &errors))),
                (None, Some(en)) => (Some(marked(en, &errors)), None),
                (None, None) => (None, None),
            };
            let owned: Vec<[u32; 2]> = s.spans.clone().unwrap_or_else(|| vec![s.lines]);
            let lines = match original {
                Some(orig) => owned
                    .iter()
                    .flat_map(|r| r[0]..=r[1])
                    .filter_map(|n| {
                        let text = orig.get(n as usize - 1)?;
                        (!text.trim().is_empty()).then(|| Line {
                            n,
                            text: text.clone(),
                        })
                    })
                    .collect(),
                // The source is gone: the segment's own (normalised) Dutch, at its first line.
                None => vec![Line {
                    n: s.lines[0],
                    text: s.nl.clone(),
                }],
            };
            Row {
                id: s.id.clone(),
                kind: match s.kind {
                    crate::ingest::Kind::Body => String::new(),
                    k => k.as_str().replace('_', " "),
                },
                label: format!("L{}", range(s.lines)),
                page: s.pages.label(),
                page_href: pdf
                    .zip(s.pages.first())
                    .map(|(href, p)| format!("{href}#page={p}")),
                lines,
                en: s.en.clone(),
                en_parts,
                draft_parts,
                refined_by: s.refined_by.clone(),
                kept: s.kept.as_ref().map(crate::store::memory::Kept::label),
                review: errors.iter().map(|e| error_view(e)).collect(),
                checks: s.checks.iter().map(flag_view).collect(),
                flagged: worst(&s.checks),
            }
        })
        .collect()
}

#[derive(Serialize)]
struct KeyPointView {
    text_en: String,
    /// `data-lines`: "12-15,20".
    lines: String,
    labels: Vec<String>,
}

#[derive(Serialize)]
struct SummaryView {
    summary_en: String,
    key_points: Vec<KeyPointView>,
}

fn summary_view(s: &SummaryOut) -> SummaryView {
    SummaryView {
        summary_en: s.summary_en.clone(),
        key_points: s
            .key_points
            .iter()
            .map(|k| KeyPointView {
                text_en: k.text_en.clone(),
                lines: k
                    .lines
                    .iter()
                    .map(|r| range(*r))
                    .collect::<Vec<_>>()
                    .join(","),
                labels: k.lines.iter().map(|r| format!("L{}", range(*r))).collect(),
            })
            .collect(),
    }
}

/// The original lines of the source file the run read, if it is still the same file; else a
/// note saying why the page shows the text the run read, per segment.
fn original_lines(input: &crate::store::run::InputEntry) -> (Option<Vec<String>>, Option<String>) {
    let source = Path::new(&input.path);
    match std::fs::read(source) {
        Ok(bytes) if crate::ingest::sha256_hex(&bytes) == input.sha256 => (
            crate::ingest::read(source).ok().map(|d| {
                (1..=d.line_count)
                    .map(|n| d.original_line(n).unwrap_or("").to_string())
                    .collect::<Vec<_>>()
            }),
            None,
        ),
        Ok(_) => (
            None,
            Some(format!(
                "{} has changed since this run; the Dutch shown is the text the run read, per segment",
                input.path
            )),
        ),
        Err(e) => (
            None,
            Some(format!(
                "{} cannot be read ({e}); the Dutch shown is the text the run read, per segment",
                input.path
            )),
        ),
    }
}

/// The page of one letter: the Dutch beside the English, the summary, the stance panel.
pub(super) fn doc_html(
    run: &RunView,
    input: &crate::store::run::InputEntry,
    doc_dir: &Path,
    stance: Option<&StanceOut>,
) -> Result<String, ReportError> {
    let translation: Option<TranslationOut> =
        read_json(&doc_dir.join(Task::Translate.json_file())).ok();
    let summary: Option<SummaryOut> = read_json(&doc_dir.join(Task::Summary.json_file())).ok();
    let questions: Option<QuestionsOut> =
        read_json(&doc_dir.join(Task::Questions.json_file())).ok();
    let review: Option<ReviewOut> = read_json(&doc_dir.join(Task::Review.json_file())).ok();
    let facts: Option<Facts> = read_json(&doc_dir.join(crate::ingest::facts::FILE)).ok();
    let (original, source_note) = original_lines(input);
    // A PDF letter: its pages are linked (`file.pdf#page=2`).
    let pdf_href = input.source.as_ref().map(|_| {
        let p = Path::new(&input.path);
        let abs = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        format!("file://{}", abs.display())
    });
    // Findings about the letter as a whole: the summary's and the stance's.
    let other: Vec<FlagView> = summary
        .iter()
        .flat_map(|s| &s.checks)
        .chain(stance.iter().flat_map(|s| &s.checks))
        .chain(questions.iter().flat_map(|q| &q.checks))
        .map(flag_view)
        .collect();
    let flagged_segments = translation.as_ref().map_or(0, |t| {
        t.segments.iter().filter(|s| !s.checks.is_empty()).count()
    });
    render(
        "doc.html",
        &json!({
            "run": run,
            "doc_id": &input.doc_id,
            "source_path": &input.path,
            "source_note": source_note,
            "tasks": statuses(input),
            "facts": facts.as_ref().map(facts_view),
            "warnings": &input.warnings,
            "rows": translation.as_ref().map(|t| rows(t, original.as_deref(), pdf_href.as_deref(), review.as_ref())),
            "review": review.as_ref().map(|r| &r.score),
            "refined": translation.as_ref().map_or(0, |t| t.segments.iter().filter(|s| s.draft.is_some()).count()),
            "summary": summary.as_ref().map(summary_view),
            "stance": stance.map(stance_view),
            "questions": questions.as_ref().map(answer_views),
            // Without a translation, the Dutch alone, so that quotes can point at their lines.
            "original": translation.is_none().then(|| original.as_ref().map(|o| {
                o.iter().enumerate().map(|(i, t)| Line { n: i as u32 + 1, text: t.clone() }).collect::<Vec<_>>()
            })).flatten(),
            "other_checks": other,
            "flagged_segments": flagged_segments,
            "findings": crate::checks::sum(&input.findings),
            "terminology": translation.as_ref().map(|t| &t.terminology),
            "model": translation.as_ref().map(crate::report::markdown::model_and_people)
                .or_else(|| summary.as_ref().map(|s| s.model.clone())),
        }),
    )
}
