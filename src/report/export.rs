//! `tolk export csv`: a run's analysis as tables for a spreadsheet, or as JSON Lines.
//!
//! - `matrix.csv`: one row per letter and judgement: the overall stance, every stance topic,
//!   every question of the user's; with the letter's date, sender and addressees, the position,
//!   the answer (the rationale, for a topic), and the first verified quote with its lines, page
//!   and match;
//! - `quotes.csv`: every quote of every judgement, one row each;
//! - `findings.csv`: every check finding of every output.
//!
//! Spreadsheet-safe: UTF-8 with a byte-order mark (Excel then reads it as UTF-8; LibreOffice
//! takes it either way), every field quoted where it must be (commas, quotes, line breaks),
//! and a text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a `'`
//! before it, so that a spreadsheet shows it as text and never runs it as a formula (a letter
//! can hold `=HYPERLINK(...)`). `--json` writes the same rows as JSON Lines
//! (`matrix.jsonl`, ...), with no byte-order mark and nothing changed in the text.

use crate::checks::DocChecks;
use crate::ground::Match;
use crate::ingest::facts::{self, Facts};
use crate::store::run::{Manifest, run_dir};
use crate::store::{StoreError, read_json, write_atomic};
use crate::tasks::Task;
use crate::tasks::finding::Finding;
use crate::tasks::questions::QuestionsOut;
use crate::tasks::stance::{Evidence, StanceOut};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Why an export was not written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{path}: cannot write the CSV")]
    Csv {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
    #[error("{path}: cannot create the folder")]
    Dest {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One row of the matrix: a letter's judgement on the regulation, a topic or a question.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MatrixRow {
    pub letter: String,
    pub date: String,
    pub sender: String,
    pub addressees: String,
    /// `overall`, `topic` or `question`.
    pub kind: &'static str,
    /// `overall`, the topic's id or the question's.
    pub id: String,
    /// The topic's label or the question's text.
    pub question: String,
    pub position: String,
    pub confidence: f64,
    /// The answer (a question's) or the rationale (a stance's).
    pub answer: String,
    /// The first verified quote (else the first quote), its English, lines, page and match.
    pub quote_nl: String,
    pub quote_en: String,
    pub lines: String,
    pub page: String,
    /// `exact`, `fuzzy`, `unverified`, or empty when there is no quote.
    pub verified: String,
    /// The position rests on a verified quote, or is `not_addressed` (or `neutral`, for a
    /// stance).
    pub supported: bool,
}

/// One quote of one judgement.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QuoteRow {
    pub letter: String,
    pub kind: &'static str,
    pub id: String,
    pub position: String,
    pub quote_nl: String,
    pub quote_en: String,
    pub lines: String,
    pub page: String,
    pub verified: String,
    pub score: f64,
}

/// One check finding.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FindingRow {
    pub letter: String,
    pub task: String,
    pub check: String,
    pub severity: String,
    /// The segment, key point, topic or question it is about.
    #[serde(rename = "where")]
    pub at: String,
    pub lines: String,
    pub message: String,
    pub evidence: String,
}

/// The three tables of a run.
#[derive(Debug, Default)]
pub struct Tables {
    pub matrix: Vec<MatrixRow>,
    pub quotes: Vec<QuoteRow>,
    pub findings: Vec<FindingRow>,
}

/// A judgement as the tables see it.
struct Judgement<'a> {
    kind: &'static str,
    id: &'a str,
    question: &'a str,
    position: &'a str,
    confidence: f64,
    answer: &'a str,
    evidence: &'a [Evidence],
    supported: bool,
}

/// `L12-15` (as tolk writes lines everywhere; a bare `12-15` would be a date to a spreadsheet).
fn lines(l: Option<[u32; 2]>) -> String {
    match l {
        Some([a, b]) if a == b => format!("L{a}"),
        Some([a, b]) => format!("L{a}-{b}"),
        None => String::new(),
    }
}

fn verified(m: Match) -> &'static str {
    match m {
        Match::Exact => "exact",
        Match::Fuzzy => "fuzzy",
        Match::Unverified => "unverified",
    }
}

/// The letter's date, sender and addressees: its own words ([`facts`]); where the letter
/// states no sender or addressee, the stance's reading, marked `(model)`. A date is the
/// letter's only: a model's guess at an undated letter's date would put it on a timeline.
pub(crate) fn who_when(
    facts: Option<&Facts>,
    stance: Option<&StanceOut>,
) -> (String, String, String) {
    let f = facts.cloned().unwrap_or_default();
    let date = f.date.map(|d| d.value).unwrap_or_default();
    let model = |names: &[String]| {
        if names.is_empty() {
            String::new()
        } else {
            format!("{} (model)", names.join("; "))
        }
    };
    let mut sender: Vec<String> = f.sender.iter().map(|s| s.value.clone()).collect();
    sender.extend(f.signatories.iter().map(|s| s.name.clone()));
    let sender = match (sender.is_empty(), stance) {
        (true, Some(s)) => model(&s.author),
        _ => sender.join("; "),
    };
    let to: Vec<String> = f.addressees.iter().map(|a| a.value.clone()).collect();
    let to = match (to.is_empty(), stance) {
        (true, Some(s)) => model(&s.addressees),
        _ => to.join("; "),
    };
    (date, sender, to)
}

/// The tables of the run `manifest` in the output folder `out`, letters in the run's order;
/// the findings are `checked` ([`crate::checks::recheck`], as `tolk check` shows them).
pub fn tables(out: &Path, manifest: &Manifest, checked: &[DocChecks]) -> Tables {
    let dir = run_dir(out, &manifest.run_id);
    let mut t = Tables::default();
    for input in &manifest.inputs {
        let doc_dir = dir.join(&input.doc_id);
        let facts: Option<Facts> = read_json(&doc_dir.join(facts::FILE)).ok();
        let stance: Option<StanceOut> = read_json(&doc_dir.join(Task::Stance.json_file())).ok();
        let questions: Option<QuestionsOut> =
            read_json(&doc_dir.join(Task::Questions.json_file())).ok();
        let (date, sender, addressees) = who_when(facts.as_ref(), stance.as_ref());
        let mut judgements: Vec<Judgement> = Vec::new();
        let has_verified = |e: &[Evidence]| e.iter().any(|e| e.status != Match::Unverified);
        if let Some(s) = &stance {
            let o = &s.overall;
            judgements.push(Judgement {
                kind: "overall",
                id: "overall",
                question: "The regulation as a whole",
                position: &o.stance,
                confidence: o.confidence,
                answer: &o.rationale_en,
                evidence: &o.evidence,
                supported: o.stance == "neutral" || has_verified(&o.evidence),
            });
            for topic in &s.topics {
                judgements.push(Judgement {
                    kind: "topic",
                    id: &topic.topic,
                    question: &topic.label,
                    position: &topic.stance,
                    confidence: topic.confidence,
                    answer: &topic.rationale_en,
                    evidence: &topic.evidence,
                    supported: matches!(topic.stance.as_str(), "neutral" | "not_addressed")
                        || has_verified(&topic.evidence),
                });
            }
        }
        if let Some(q) = &questions {
            for a in &q.answers {
                judgements.push(Judgement {
                    kind: "question",
                    id: &a.question,
                    question: &a.text,
                    position: &a.position,
                    confidence: a.confidence,
                    answer: &a.answer_en,
                    evidence: &a.evidence,
                    supported: a.supported,
                });
            }
        }
        for j in &judgements {
            let first = j
                .evidence
                .iter()
                .find(|e| e.status != Match::Unverified)
                .or(j.evidence.first());
            t.matrix.push(MatrixRow {
                letter: input.doc_id.clone(),
                date: date.clone(),
                sender: sender.clone(),
                addressees: addressees.clone(),
                kind: j.kind,
                id: j.id.to_string(),
                question: j.question.to_string(),
                position: j.position.to_string(),
                confidence: j.confidence,
                answer: j.answer.to_string(),
                quote_nl: first.map(|e| e.quote_nl.clone()).unwrap_or_default(),
                quote_en: first.map(|e| e.quote_en.clone()).unwrap_or_default(),
                lines: lines(first.and_then(|e| e.lines)),
                page: first.and_then(|e| e.pages.label()).unwrap_or_default(),
                verified: first
                    .map(|e| verified(e.status).to_string())
                    .unwrap_or_default(),
                supported: j.supported,
            });
            for e in j.evidence {
                t.quotes.push(QuoteRow {
                    letter: input.doc_id.clone(),
                    kind: j.kind,
                    id: j.id.to_string(),
                    position: j.position.to_string(),
                    quote_nl: e.quote_nl.clone(),
                    quote_en: e.quote_en.clone(),
                    lines: lines(e.lines),
                    page: e.pages.label().unwrap_or_default(),
                    verified: verified(e.status).to_string(),
                    score: e.score,
                });
            }
        }
        for d in checked.iter().filter(|d| d.doc_id == input.doc_id) {
            for (task, f) in &d.findings {
                t.findings.push(finding_row(&input.doc_id, *task, f));
            }
        }
    }
    t
}

fn finding_row(letter: &str, task: Task, f: &Finding) -> FindingRow {
    FindingRow {
        letter: letter.to_string(),
        task: task.name().to_string(),
        check: f.check.name().to_string(),
        severity: f.severity.name().to_string(),
        at: f.segment.clone(),
        lines: lines(f.lines),
        message: f.message.clone(),
        evidence: f.evidence.clone(),
    }
}

/// A text cell a spreadsheet shows as text: one that would start a formula (`=`, `+`, `-`,
/// `@`, or a tab or carriage return before one) gets a `'` before it.
pub fn inert(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{s}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// The files written, in order.
pub fn write(tables: &Tables, dest: &Path, json: bool) -> Result<Vec<PathBuf>, ExportError> {
    std::fs::create_dir_all(dest).map_err(|source| ExportError::Dest {
        path: dest.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    let mut one = |name: &str, rows: Vec<serde_json::Value>| -> Result<(), ExportError> {
        let path = dest.join(format!("{name}.{}", if json { "jsonl" } else { "csv" }));
        let bytes = if json {
            jsonl(&rows)
        } else {
            csv_bytes(&rows).map_err(|source| ExportError::Csv {
                path: path.clone(),
                source,
            })?
        };
        write_atomic(&path, &bytes)?;
        written.push(path);
        Ok(())
    };
    one("matrix", values(&tables.matrix))?;
    one("quotes", values(&tables.quotes))?;
    one("findings", values(&tables.findings))?;
    Ok(written)
}

fn values<T: Serialize>(rows: &[T]) -> Vec<serde_json::Value> {
    rows.iter()
        .map(|r| serde_json::to_value(r).expect("a row serialises"))
        .collect()
}

fn jsonl(rows: &[serde_json::Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in rows {
        out.extend_from_slice(r.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

/// The rows as CSV: a byte-order mark, a header of the rows' keys, every text cell
/// [`inert`]. An empty table is its header only (the keys of an empty row type are not
/// known here, so it is then an empty file with its mark).
fn csv_bytes(rows: &[serde_json::Value]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    if let Some(first) = rows.first().and_then(|r| r.as_object()) {
        w.write_record(first.keys())?;
    }
    for r in rows {
        let Some(o) = r.as_object() else { continue };
        let cells: Vec<String> = o
            .values()
            .map(|v| match v {
                serde_json::Value::String(s) => inert(s).into_owned(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            })
            .collect();
        w.write_record(&cells)?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_that_would_start_a_formula_is_text() {
        for f in ["=HYPERLINK(\"x\")", "+31 70", "-1", "@SUM(A1)", "\t=1"] {
            assert!(inert(f).starts_with('\''), "{f}");
        }
        for t in ["Offlimits", "12-15", "'quoted", ""] {
            assert_eq!(inert(t), t);
        }
    }

    #[test]
    fn csv_has_a_byte_order_mark_a_header_and_quotes_what_it_must() {
        let rows = vec![
            serde_json::json!({"a": "x, \"y\"\nz", "b": 1.5, "c": "=1+1"}),
            serde_json::json!({"a": "Šefčovič", "b": 2, "c": true}),
        ];
        let bytes = csv_bytes(&rows).unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        assert_eq!(
            text,
            "a,b,c\n\"x, \"\"y\"\"\nz\",1.5,'=1+1\nŠefčovič,2,true\n"
        );
    }
}
