//! The HTML report: a static, self-contained site (inline CSS and a little JS, no external
//! resource) per run: `index.html` with the run's metadata and a documents x topics stance
//! matrix, one page per letter with the Dutch original (line numbers) beside the English, the
//! summary and the stance panel, and a diff page between two runs.
//!
//! Pages are minijinja templates (`src/report/templates/`, compiled into the binary). The
//! environment escapes every value in `.html` templates, so a letter or a model reply holding
//! `<script>` shows as text. Nothing here builds HTML by string concatenation.

use crate::compare::RunDiff;
use crate::ground::Match;
use crate::store::run::{Manifest, run_dir};
use crate::store::{StoreError, read_json, write_atomic};
use crate::tasks::Task;
use crate::tasks::review::{ReviewError, ReviewOut, Score};
use crate::tasks::stance::{Evidence, StanceOut};
use crate::tasks::summary::SummaryOut;
use crate::tasks::translate::TranslationOut;
use minijinja::Environment;
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("report template {name}")]
    Template {
        name: String,
        #[source]
        source: minijinja::Error,
    },
}

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("index.html", include_str!("templates/index.html")),
    ("doc.html", include_str!("templates/doc.html")),
    ("diff.html", include_str!("templates/diff.html")),
];

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    // Escaping is decided by the template's name: every one here ends in .html.
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("report template {name} does not parse: {e}"));
    }
    env
}

fn render(name: &str, ctx: &serde_json::Value) -> Result<String, ReportError> {
    let env = environment();
    let tmpl = env
        .get_template(name)
        .map_err(|source| ReportError::Template {
            name: name.into(),
            source,
        })?;
    tmpl.render(minijinja::value::Serde(ctx))
        .map_err(|source| ReportError::Template {
            name: name.into(),
            source,
        })
}

/// `12-15` (or `12`), as the pages' `data-lines` and anchors write a range.
fn range(r: [u32; 2]) -> String {
    if r[0] == r[1] {
        r[0].to_string()
    } else {
        format!("{}-{}", r[0], r[1])
    }
}

/// The page of a document.
pub fn doc_page(doc_id: &str) -> String {
    let safe: String = doc_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("doc-{safe}.html")
}

#[derive(Serialize)]
struct EvidenceView {
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

fn evidence(e: &Evidence) -> EvidenceView {
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

#[derive(Serialize)]
struct RunView {
    run_id: String,
    label: Option<String>,
    created_at: String,
    tolk_version: String,
    endpoint: String,
    model_requested: String,
    model_resolved: Option<String>,
    warning: Option<String>,
    structured_output: String,
    temperature: f64,
    chunk_max_tokens: usize,
    tasks: Vec<String>,
    prompts: Vec<(String, String)>,
    calls_made: String,
    cache_hits: u64,
    prompt_tokens: u64,
    completion_tokens: u64,
    cost: Option<String>,
    duration_s: f64,
}

fn run_view(m: &Manifest) -> RunView {
    RunView {
        run_id: m.run_id.clone(),
        label: m.label.clone(),
        created_at: m.created_at.clone(),
        tolk_version: m.tolk_version.clone(),
        endpoint: m.endpoint.clone(),
        model_requested: m.model.requested.clone(),
        model_resolved: m.model.resolved.clone(),
        warning: m.warning.clone(),
        structured_output: m.params.structured_output.clone(),
        temperature: m.params.temperature,
        chunk_max_tokens: m.params.chunk_max_tokens,
        tasks: m.params.tasks.clone(),
        prompts: m
            .prompts
            .iter()
            .map(|(k, v)| (k.clone(), v.chars().take(12).collect()))
            .collect(),
        calls_made: m.usage.calls_made(),
        cache_hits: m.usage.cache_hits,
        prompt_tokens: m.usage.prompt_tokens,
        completion_tokens: m.usage.completion_tokens,
        cost: m.usage.cost_usd.map(|c| format!("${c:.4}")),
        duration_s: m.duration_s,
    }
}

#[derive(Serialize)]
struct Cell {
    stance: String,
    confidence: String,
    href: String,
    evidence: usize,
    title: String,
}

#[derive(Serialize)]
struct DocRow {
    doc_id: String,
    page: String,
    tasks: Vec<(String, String)>,
    overall: Option<Cell>,
    cells: Vec<Option<Cell>>,
    warnings: usize,
    unverified: u32,
    /// The output checks' findings, by severity.
    major: u32,
    minor: u32,
    /// The review's score, when the run reviewed the letter.
    review: Option<Score>,
}

/// Each task's status as the pages show it: `ok`, `failed: <reason>`, `unreadable: <reason>`.
fn statuses(input: &crate::store::run::InputEntry) -> BTreeMap<String, String> {
    input
        .tasks
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect()
}

/// What `write_run` wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub dir: PathBuf,
    pub pages: Vec<PathBuf>,
}

/// A stance judgement as a cell of the matrix, linking to its evidence on the letter's page.
fn cell(
    page: &str,
    anchor: &str,
    stance: &str,
    confidence: f64,
    evidence: usize,
    rationale: &str,
) -> Cell {
    Cell {
        stance: stance.to_string(),
        confidence: format!("{confidence:.2}"),
        href: format!("{page}#topic-{anchor}"),
        evidence,
        title: rationale.to_string(),
    }
}

/// A document's row of the index: its task statuses and its stance matrix row.
fn doc_row(
    input: &crate::store::run::InputEntry,
    stance: Option<&StanceOut>,
    columns: &[(String, String)],
) -> DocRow {
    let page = doc_page(&input.doc_id);
    DocRow {
        doc_id: input.doc_id.clone(),
        tasks: statuses(input).into_iter().collect(),
        overall: stance.map(|s| {
            let o = &s.overall;
            cell(
                &page,
                "overall",
                &o.stance,
                o.confidence,
                o.evidence.len(),
                &o.rationale_en,
            )
        }),
        cells: columns
            .iter()
            .map(|(id, _)| {
                let t = stance?.topics.iter().find(|t| &t.topic == id)?;
                Some(cell(
                    &page,
                    &t.topic,
                    &t.stance,
                    t.confidence,
                    t.evidence.len(),
                    &t.rationale_en,
                ))
            })
            .collect(),
        warnings: input.warnings.len(),
        unverified: input.unverified_quotes,
        major: crate::checks::sum(&input.findings).major,
        minor: crate::checks::sum(&input.findings).minor,
        review: None,
        page,
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
fn doc_html(
    run: &RunView,
    input: &crate::store::run::InputEntry,
    doc_dir: &Path,
    stance: Option<&StanceOut>,
) -> Result<String, ReportError> {
    let translation: Option<TranslationOut> =
        read_json(&doc_dir.join(Task::Translate.json_file())).ok();
    let summary: Option<SummaryOut> = read_json(&doc_dir.join(Task::Summary.json_file())).ok();
    let review: Option<ReviewOut> = read_json(&doc_dir.join(Task::Review.json_file())).ok();
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
            "warnings": &input.warnings,
            "rows": translation.as_ref().map(|t| rows(t, original.as_deref(), pdf_href.as_deref(), review.as_ref())),
            "review": review.as_ref().map(|r| &r.score),
            "refined": translation.as_ref().map_or(0, |t| t.segments.iter().filter(|s| s.draft.is_some()).count()),
            "summary": summary.as_ref().map(summary_view),
            "stance": stance.map(stance_view),
            "other_checks": other,
            "flagged_segments": flagged_segments,
            "findings": crate::checks::sum(&input.findings),
            "terminology": translation.as_ref().map(|t| &t.terminology),
            "model": translation.as_ref().map(|t| t.model.clone())
                .or_else(|| summary.as_ref().map(|s| s.model.clone())),
        }),
    )
}

/// Write the report of run `m` of output folder `out` into `dest`.
pub fn write_run(out: &Path, m: &Manifest, dest: &Path) -> Result<Written, ReportError> {
    let dir = run_dir(out, &m.run_id);
    let run = run_view(m);
    let mut pages = Vec::new();
    // The matrix's columns: the topics, in the order of the first stance output.
    let mut columns: Vec<(String, String)> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut stances: BTreeMap<String, StanceOut> = BTreeMap::new();
    for input in &m.inputs {
        let file = dir.join(&input.doc_id).join(Task::Stance.json_file());
        if let Ok(s) = read_json::<StanceOut>(&file) {
            for t in &s.topics {
                if seen.insert(t.topic.clone()) {
                    columns.push((t.topic.clone(), t.label.clone()));
                }
            }
            stances.insert(input.doc_id.clone(), s);
        }
    }
    let mut rows_out = Vec::new();
    for input in &m.inputs {
        let stance = stances.get(&input.doc_id);
        let mut row = doc_row(input, stance, &columns);
        row.review =
            read_json::<ReviewOut>(&dir.join(&input.doc_id).join(Task::Review.json_file()))
                .ok()
                .map(|r| r.score);
        rows_out.push(row);
        if input.unreadable().is_some() {
            continue; // never read: nothing to show
        }
        let html = doc_html(&run, input, &dir.join(&input.doc_id), stance)?;
        let path = dest.join(doc_page(&input.doc_id));
        write_atomic(&path, html.as_bytes())?;
        pages.push(path);
    }
    let scores: Vec<&Score> = rows_out.iter().filter_map(|d| d.review.as_ref()).collect();
    let run_score = (!scores.is_empty()).then(|| Score::total(scores));
    let html = render(
        "index.html",
        &json!({
            "run": &run,
            "columns": &columns,
            "documents": &rows_out,
            "findings": m.findings.as_ref().map(crate::checks::sum),
            "by_check": &m.findings,
            "review": run_score,
        }),
    )?;
    let index = dest.join("index.html");
    write_atomic(&index, html.as_bytes())?;
    pages.insert(0, index);
    Ok(Written {
        dir: dest.to_path_buf(),
        pages,
    })
}

/// Write the page of the differences between two runs.
/// With `eval` (when `[eval]` names a gold file or a reference folder), the page also shows
/// both runs' scores, per letter, and which is closer.
pub fn write_diff(
    d: &RunDiff,
    b: &Manifest,
    eval: Option<(&crate::eval::RunEval, &crate::eval::RunEval)>,
    dest: &Path,
) -> Result<PathBuf, ReportError> {
    let run = &run_view(b);
    let eval = eval.map(|(a, b)| {
        let letters: Vec<serde_json::Value> = a
            .checks
            .letters
            .iter()
            .map(|l| {
                let d = &l.doc_id;
                let chrf = |e: &crate::eval::RunEval| {
                    e.translation.as_ref().and_then(|t| t.letters.iter().find(|x| &x.doc_id == d)).map(|x| format!("{:.1}", x.chrf))
                };
                let stance = |e: &crate::eval::RunEval| {
                    e.stance.as_ref().and_then(|t| t.letters.iter().find(|x| &x.doc_id == d)).map(|x| format!("{}/{}", x.agreement.agree, x.agreement.total))
                };
                let per = |e: &crate::eval::RunEval| {
                    e.checks.letters.iter().find(|x| &x.doc_id == d).filter(|x| x.segments > 0).map(|x| format!("{:.1}", 100.0 * x.findings.total() as f64 / x.segments as f64))
                };
                json!({"doc_id": d, "chrf": [chrf(a), chrf(b)], "stance": [stance(a), stance(b)], "per_100": [per(a), per(b)]})
            })
            .collect();
        json!({
            "letters": letters,
            "chrf": [a.translation.as_ref().map(|t| format!("{:.1}", t.chrf)), b.translation.as_ref().map(|t| format!("{:.1}", t.chrf))],
            "stance": [a.stance.as_ref().map(|t| format!("{:.1}%", 100.0 * t.accuracy)), b.stance.as_ref().map(|t| format!("{:.1}%", 100.0 * t.accuracy))],
            "per_100": [format!("{:.1}", a.checks.per_100), format!("{:.1}", b.checks.per_100)],
            "verdict": crate::eval::verdict(a, b),
        })
    });
    let html = render(
        "diff.html",
        &json!({ "d": d, "run": run, "checks": crate::report::diff::checks_line(d), "review": crate::report::diff::review_line(d.review.as_ref()), "eval": eval }),
    )?;
    write_atomic(dest, html.as_bytes())?;
    Ok(dest.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_escapes() {
        let env = environment();
        for (name, _) in TEMPLATES {
            env.get_template(name).unwrap();
        }
        let mut env = Environment::new();
        env.add_template("t.html", "{{ x }}").unwrap();
        let out = env
            .get_template("t.html")
            .unwrap()
            .render(minijinja::context! { x => "<script>alert('x')</script>" })
            .unwrap();
        assert_eq!(
            out,
            "&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2f;script&gt;"
        );
    }

    #[test]
    fn page_names_are_safe() {
        assert_eq!(doc_page("2024-09-18-x"), "doc-2024-09-18-x.html");
        assert_eq!(doc_page("a b/<c>"), "doc-a_b__c_.html");
    }
}
