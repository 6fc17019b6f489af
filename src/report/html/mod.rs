//! The HTML report: a static, self-contained site (inline CSS and a little JS, no external
//! resource) per run: `index.html` with the run's metadata and a documents x topics stance
//! matrix, one page per letter with the Dutch original (line numbers) beside the English, the
//! summary and the stance panel, and a diff page between two runs.
//!
//! Pages are minijinja templates (`src/report/templates/`, compiled into the binary). The
//! environment escapes every value in `.html` templates, so a letter or a model reply holding
//! `<script>` shows as text. Nothing here builds HTML by string concatenation.

mod letter;

use crate::compare::RunDiff;
use crate::ingest::facts::{self, Facts};
use crate::store::run::{Manifest, run_dir};
use crate::store::{StoreError, read_json, write_atomic};
use crate::tasks::Task;
use crate::tasks::questions::QuestionsOut;
use crate::tasks::review::{ReviewOut, Score};
use crate::tasks::stance::StanceOut;
use letter::doc_html;
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
    ("base.html", include_str!("../templates/base.html")),
    ("index.html", include_str!("../templates/index.html")),
    ("doc.html", include_str!("../templates/doc.html")),
    ("diff.html", include_str!("../templates/diff.html")),
    ("question.html", include_str!("../templates/question.html")),
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

pub(super) fn render(name: &str, ctx: &serde_json::Value) -> Result<String, ReportError> {
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
pub(super) fn range(r: [u32; 2]) -> String {
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
pub(super) struct RunView {
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
    /// False for an answer that takes a position without a verified quote.
    supported: bool,
}

/// A question of the user's: a column of the matrix and a page of its own.
#[derive(Serialize, Clone)]
struct QuestionColumn {
    id: String,
    text: String,
    page: String,
}

/// The page of a question.
pub fn question_page(id: &str) -> String {
    doc_page(id).replacen("doc-", "question-", 1)
}

/// A letter's answer to a question, as the question's page shows it.
#[derive(Serialize)]
struct AnswerRow {
    doc_id: String,
    page: String,
    date: String,
    sender: String,
    addressees: String,
    position: String,
    confidence: String,
    answer_en: String,
    supported: bool,
    asked: String,
    evidence: Vec<letter::EvidenceView>,
}

/// A letter on the timeline: its date, sender and overall stance.
#[derive(Serialize)]
struct TimelineRow {
    doc_id: String,
    page: String,
    date: String,
    sender: String,
    overall: Option<String>,
}

#[derive(Serialize)]
struct DocRow {
    doc_id: String,
    page: String,
    tasks: Vec<(String, String)>,
    overall: Option<Cell>,
    cells: Vec<Option<Cell>>,
    /// The answers to the user's questions, in the order of the question columns.
    answers: Vec<Option<Cell>>,
    warnings: usize,
    unverified: u32,
    /// The output checks' findings, by severity.
    major: u32,
    minor: u32,
    /// The review's score, when the run reviewed the letter.
    review: Option<Score>,
    /// What the letter says about itself: sender, date, subject (runs before facts: none).
    facts: Option<Facts>,
}

/// Each task's status as the pages show it: `ok`, `failed: <reason>`, `unreadable: <reason>`.
pub(super) fn statuses(input: &crate::store::run::InputEntry) -> BTreeMap<String, String> {
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
        supported: true,
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
        answers: Vec::new(),
        warnings: input.warnings.len(),
        unverified: input.unverified_quotes,
        major: crate::checks::sum(&input.findings).major,
        minor: crate::checks::sum(&input.findings).minor,
        review: None,
        facts: None,
        page,
    }
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
    // The user's questions: a column each, in the order they are first answered.
    let mut questions: Vec<QuestionColumn> = Vec::new();
    let mut answers: BTreeMap<String, QuestionsOut> = BTreeMap::new();
    for input in &m.inputs {
        let file = dir.join(&input.doc_id).join(Task::Questions.json_file());
        if let Ok(q) = read_json::<QuestionsOut>(&file) {
            for a in &q.answers {
                if !questions.iter().any(|c| c.id == a.question) {
                    questions.push(QuestionColumn {
                        id: a.question.clone(),
                        text: a.text.clone(),
                        page: question_page(&a.question),
                    });
                }
            }
            answers.insert(input.doc_id.clone(), q);
        }
    }
    let mut rows_out = Vec::new();
    let mut timeline = Vec::new();
    let mut by_question: Vec<Vec<AnswerRow>> = questions.iter().map(|_| Vec::new()).collect();
    for input in &m.inputs {
        let stance = stances.get(&input.doc_id);
        let mut row = doc_row(input, stance, &columns);
        row.facts = read_json::<Facts>(&dir.join(&input.doc_id).join(facts::FILE)).ok();
        let (date, sender, addressees) =
            crate::report::export::who_when(row.facts.as_ref(), stance);
        if input.unreadable().is_none() {
            timeline.push(TimelineRow {
                doc_id: input.doc_id.clone(),
                page: row.page.clone(),
                date: date.clone(),
                sender: sender.clone(),
                overall: stance.map(|s| s.overall.stance.clone()),
            });
        }
        let mine = answers.get(&input.doc_id);
        for (k, q) in questions.iter().enumerate() {
            let a = mine.and_then(|o| o.answers.iter().find(|a| a.question == q.id));
            row.answers.push(a.map(|a| Cell {
                stance: a.position.clone(),
                confidence: format!("{:.2}", a.confidence),
                href: format!("{}#question-{}", row.page, a.question),
                evidence: a.evidence.len(),
                title: a.answer_en.clone(),
                supported: a.supported,
            }));
            if let Some(a) = a {
                by_question[k].push(AnswerRow {
                    doc_id: input.doc_id.clone(),
                    page: row.page.clone(),
                    date: date.clone(),
                    sender: sender.clone(),
                    addressees: addressees.clone(),
                    position: a.position.clone(),
                    confidence: format!("{:.2}", a.confidence),
                    answer_en: a.answer_en.clone(),
                    supported: a.supported,
                    asked: a.asked.clone(),
                    evidence: a.evidence.iter().map(letter::evidence).collect(),
                });
            }
        }
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
    for (q, rows) in questions.iter().zip(by_question) {
        let html = render("question.html", &json!({"run": &run, "q": q, "rows": rows}))?;
        let path = dest.join(&q.page);
        write_atomic(&path, html.as_bytes())?;
        pages.push(path);
    }
    // The timeline: dated letters oldest first, then the undated.
    timeline.sort_by(|a, b| (a.date.is_empty(), &a.date).cmp(&(b.date.is_empty(), &b.date)));
    // Every position the matrix shows, for its filter.
    let mut positions: Vec<String> = Vec::new();
    for d in &rows_out {
        for c in d
            .overall
            .iter()
            .chain(d.cells.iter().flatten())
            .chain(d.answers.iter().flatten())
        {
            if !positions.contains(&c.stance) {
                positions.push(c.stance.clone());
            }
        }
    }
    let scores: Vec<&Score> = rows_out.iter().filter_map(|d| d.review.as_ref()).collect();
    let run_score = (!scores.is_empty()).then(|| Score::total(scores));
    let html = render(
        "index.html",
        &json!({
            "run": &run,
            "columns": &columns,
            "questions": &questions,
            "positions": positions,
            "timeline": timeline,
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
