//! Run-to-run comparison: what changed in the English between two runs (two models, two prompt
//! versions), per document and task, aligned by source lines. Computing only: the text,
//! Markdown and HTML renderings are in [`crate::report`].
//!
//! Translation segments are aligned by their source line ranges (ids can differ between runs
//! with different chunk budgets); summaries are compared word by word; key points as sets;
//! stances topic by topic. Outputs are read into their typed structs and compared field by
//! field, so the layout of the JSON files (key order, whitespace) never counts as a change.

use crate::store::run::{Count, Manifest};
use crate::tasks::Task;
use crate::tasks::questions::QuestionsOut;
use crate::tasks::review::{ReviewOut, Score};
use crate::tasks::stance::StanceOut;
use crate::tasks::summary::SummaryOut;
use crate::tasks::translate::TranslationOut;
use serde::Serialize;
use similar::{ChangeTag, TextDiff};
use std::collections::BTreeMap;
use std::path::Path;

/// A word-level change: `=` same, `-` only in A, `+` only in B.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WordOp {
    pub op: char,
    pub text: String,
}

/// Word diff of two texts.
pub fn word_diff(a: &str, b: &str) -> Vec<WordOp> {
    let diff = TextDiff::from_words(a, b);
    let mut out: Vec<WordOp> = Vec::new();
    for change in diff.iter_all_changes() {
        let op = match change.tag() {
            ChangeTag::Equal => '=',
            ChangeTag::Delete => '-',
            ChangeTag::Insert => '+',
        };
        match out.last_mut() {
            Some(last) if last.op == op => last.text.push_str(change.value()),
            _ => out.push(WordOp {
                op,
                text: change.value().to_string(),
            }),
        }
    }
    out
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SegmentChange {
    pub lines: [u32; 2],
    pub a: Option<String>,
    pub b: Option<String>,
    pub words: Vec<WordOp>,
    /// Who wrote B's English when no model did (`human`, `memory`): a translator's edit, not a
    /// difference between models.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<crate::store::memory::Origin>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TopicChange {
    pub topic: String,
    pub a: String,
    pub b: String,
    pub changed: bool,
    pub evidence_added: Vec<String>,
    pub evidence_removed: Vec<String>,
}

/// The differences of one document.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct DocDiff {
    pub doc_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Vec<WordOp>>,
    pub key_points_added: Vec<String>,
    pub key_points_removed: Vec<String>,
    pub stance: Vec<TopicChange>,
    /// The answers to the user's questions that both runs have, question by question (the
    /// position as `a` and `b`, the quotes as evidence).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub questions: Vec<TopicChange>,
    pub segments: Vec<SegmentChange>,
    /// Translation segments in either run.
    pub segments_total: usize,
    /// Segments whose English is a person's (or a memory's) in both runs, the same: kept, not a
    /// change between models.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub kept: usize,
    /// Present in only one of the runs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// The output checks' findings in A and in B, as the runs recorded them.
    pub findings: [Count; 2],
    /// The review's scores in A and in B, when either run reviewed the letter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<[Option<Score>; 2]>,
}

impl DocDiff {
    pub fn is_empty(&self) -> bool {
        self.summary.is_none()
            && self.key_points_added.is_empty()
            && self.key_points_removed.is_empty()
            && self
                .stance
                .iter()
                .chain(&self.questions)
                .all(|t| !t.changed && t.evidence_added.is_empty() && t.evidence_removed.is_empty())
            && self.segments.is_empty()
            && self.missing.is_empty()
            && self.review.as_ref().is_none_or(|[a, b]| a == b)
    }

    /// "12.5% of segments changed, 2 stance topics changed" (parts that were compared only).
    pub fn score(&self) -> String {
        let mut parts = Vec::new();
        if self.segments_total > 0 {
            parts.push(format!(
                "{}% of segments changed",
                self.segments_changed_pct()
            ));
        }
        if !self.stance.is_empty() {
            parts.push(format!("{} stance topics changed", self.topics_changed()));
        }
        if !self.questions.is_empty() {
            let n = self.questions.iter().filter(|t| t.changed).count();
            parts.push(format!("{n} answers changed"));
        }
        if parts.is_empty() {
            parts.push("changed".into());
        }
        parts.join(", ")
    }

    /// Share of translation segments that changed, in percent.
    pub fn segments_changed_pct(&self) -> f64 {
        if self.segments_total == 0 {
            0.0
        } else {
            (self.segments.len() as f64 * 1000.0 / self.segments_total as f64).round() / 10.0
        }
    }

    pub fn topics_changed(&self) -> usize {
        self.stance.iter().filter(|t| t.changed).count()
    }
}

/// The whole comparison.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunDiff {
    pub a: RunRef,
    pub b: RunRef,
    pub identical: bool,
    pub documents: Vec<DocDiff>,
    /// The review's score over all letters in A and in B, when either run reviewed any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<[Option<Score>; 2]>,
    /// The output checks' findings by check: check name -> [A, B] (None: a run was made before
    /// the checks existed).
    pub findings: Option<BTreeMap<String, [Count; 2]>>,
}

impl RunDiff {
    /// All findings of A and of B.
    pub fn findings_total(&self) -> Option<[Count; 2]> {
        let f = self.findings.as_ref()?;
        let mut t = [Count::default(); 2];
        for pair in f.values() {
            for k in 0..2 {
                t[k].major += pair[k].major;
                t[k].minor += pair[k].minor;
            }
        }
        Some(t)
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunRef {
    pub run_id: String,
    pub label: Option<String>,
    pub model: String,
}

impl RunRef {
    fn of(m: &Manifest) -> RunRef {
        RunRef {
            run_id: m.run_id.clone(),
            label: m.label.clone(),
            model: m
                .model
                .resolved
                .clone()
                .unwrap_or_else(|| m.model.requested.clone()),
        }
    }
}

fn load<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    crate::store::read_json(path).ok()
}

/// Both runs' output of `task` for a document; when only one run has it, a line saying so is
/// added to `missing` and there is nothing to compare.
fn both<T: serde::de::DeserializeOwned>(
    task: Task,
    a_dir: &Path,
    b_dir: &Path,
    missing: &mut Vec<String>,
) -> Option<(T, T)> {
    let file = task.json_file();
    match (load::<T>(&a_dir.join(&file)), load::<T>(&b_dir.join(&file))) {
        (Some(a), Some(b)) => Some((a, b)),
        (None, None) => None,
        (a, _) => {
            missing.push(format!(
                "{} only in run {}",
                task.kind().about().file,
                if a.is_some() { "A" } else { "B" }
            ));
            None
        }
    }
}

/// The items of `a` not in `b`.
fn only_in(a: &[&str], b: &[&str]) -> Vec<String> {
    a.iter()
        .filter(|x| !b.contains(x))
        .map(|s| s.to_string())
        .collect()
}

fn diff_summary(d: &mut DocDiff, a: &SummaryOut, b: &SummaryOut) {
    if a.summary_en != b.summary_en {
        d.summary = Some(word_diff(&a.summary_en, &b.summary_en));
    }
    let ka: Vec<&str> = a.key_points.iter().map(|k| k.text_en.as_str()).collect();
    let kb: Vec<&str> = b.key_points.iter().map(|k| k.text_en.as_str()).collect();
    d.key_points_removed = only_in(&ka, &kb);
    d.key_points_added = only_in(&kb, &ka);
}

fn diff_stance(d: &mut DocDiff, a: &StanceOut, b: &StanceOut) {
    let mut rows = vec![(
        "overall".to_string(),
        &a.overall.stance,
        &b.overall.stance,
        &a.overall.evidence,
        &b.overall.evidence,
    )];
    for ta in &a.topics {
        if let Some(tb) = b.topics.iter().find(|t| t.topic == ta.topic) {
            rows.push((
                ta.topic.clone(),
                &ta.stance,
                &tb.stance,
                &ta.evidence,
                &tb.evidence,
            ));
        }
    }
    for (topic, sa, sb, ea, eb) in rows {
        let qa: Vec<&str> = ea.iter().map(|e| e.quote_nl.as_str()).collect();
        let qb: Vec<&str> = eb.iter().map(|e| e.quote_nl.as_str()).collect();
        d.stance.push(TopicChange {
            changed: sa != sb,
            topic,
            a: sa.clone(),
            b: sb.clone(),
            evidence_removed: only_in(&qa, &qb),
            evidence_added: only_in(&qb, &qa),
        });
    }
}

/// The answers to the questions both runs asked, compared as stance topics are: the position,
/// and the quotes only one run gives.
fn diff_questions(d: &mut DocDiff, a: &QuestionsOut, b: &QuestionsOut) {
    for qa in &a.answers {
        let Some(qb) = b.answers.iter().find(|x| x.question == qa.question) else {
            continue;
        };
        let ea: Vec<&str> = qa.evidence.iter().map(|e| e.quote_nl.as_str()).collect();
        let eb: Vec<&str> = qb.evidence.iter().map(|e| e.quote_nl.as_str()).collect();
        d.questions.push(TopicChange {
            topic: qa.question.clone(),
            a: qa.position.clone(),
            b: qb.position.clone(),
            changed: qa.position != qb.position,
            evidence_removed: only_in(&ea, &eb),
            evidence_added: only_in(&eb, &ea),
        });
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn diff_translation(d: &mut DocDiff, a: &TranslationOut, b: &TranslationOut) {
    use crate::store::memory::Origin;
    type Side = (Option<String>, Option<Origin>);
    let mut by_lines: BTreeMap<[u32; 2], (Side, Side)> = BTreeMap::new();
    for s in &a.segments {
        by_lines.entry(s.lines).or_default().0 = (s.en.clone(), s.kept.as_ref().map(|k| k.origin));
    }
    for s in &b.segments {
        by_lines.entry(s.lines).or_default().1 = (s.en.clone(), s.kept.as_ref().map(|k| k.origin));
    }
    d.segments_total = by_lines.len();
    for (lines, ((ea, oa), (eb, ob))) in by_lines {
        if ea != eb {
            let words = word_diff(ea.as_deref().unwrap_or(""), eb.as_deref().unwrap_or(""));
            d.segments.push(SegmentChange {
                lines,
                a: ea,
                b: eb,
                words,
                by: ob,
            });
        } else if oa.is_some() && ob.is_some() {
            d.kept += 1;
        }
    }
}

/// Compare two documents' outputs (any of which may be missing).
pub fn diff_doc(doc_id: &str, a_dir: &Path, b_dir: &Path, task: Option<Task>) -> DocDiff {
    let mut d = DocDiff {
        doc_id: doc_id.to_string(),
        ..DocDiff::default()
    };
    let want = |t: Task| task.is_none_or(|x| x == t);
    let mut missing = Vec::new();
    if want(Task::Summary)
        && let Some((a, b)) = both::<SummaryOut>(Task::Summary, a_dir, b_dir, &mut missing)
    {
        diff_summary(&mut d, &a, &b);
    }
    if want(Task::Stance)
        && let Some((a, b)) = both::<StanceOut>(Task::Stance, a_dir, b_dir, &mut missing)
    {
        diff_stance(&mut d, &a, &b);
    }
    if want(Task::Questions)
        && let Some((a, b)) = both::<QuestionsOut>(Task::Questions, a_dir, b_dir, &mut missing)
    {
        diff_questions(&mut d, &a, &b);
    }
    if want(Task::Translate)
        && let Some((a, b)) = both::<TranslationOut>(Task::Translate, a_dir, b_dir, &mut missing)
    {
        diff_translation(&mut d, &a, &b);
    }
    if want(Task::Review) {
        let a = load::<ReviewOut>(&a_dir.join(Task::Review.json_file())).map(|r| r.score);
        let b = load::<ReviewOut>(&b_dir.join(Task::Review.json_file())).map(|r| r.score);
        d.review = (a.is_some() || b.is_some()).then_some([a, b]);
    }
    d.missing = missing;
    d
}

/// Compare two runs in `out`.
pub fn diff_runs(
    out: &Path,
    a: &Manifest,
    b: &Manifest,
    doc: Option<&str>,
    task: Option<Task>,
) -> RunDiff {
    let dir_a = crate::store::run::run_dir(out, &a.run_id);
    let dir_b = crate::store::run::run_dir(out, &b.run_id);
    let mut ids: Vec<String> = a
        .inputs
        .iter()
        .chain(&b.inputs)
        .map(|i| i.doc_id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    let documents: Vec<DocDiff> = ids
        .into_iter()
        .filter(|id| doc.is_none_or(|d| d == id))
        .map(|id| {
            let mut d = diff_doc(&id, &dir_a.join(&id), &dir_b.join(&id), task);
            let count = |m: &Manifest| {
                m.inputs
                    .iter()
                    .find(|i| i.doc_id == id)
                    .map(|i| crate::checks::sum(&i.findings))
                    .unwrap_or_default()
            };
            d.findings = [count(a), count(b)];
            d
        })
        .collect();
    let identical = documents.iter().all(DocDiff::is_empty);
    let findings = match (&a.findings, &b.findings) {
        (Some(fa), Some(fb)) => {
            let mut by: BTreeMap<String, [Count; 2]> = BTreeMap::new();
            for (k, c) in fa {
                by.entry(k.clone()).or_default()[0] = *c;
            }
            for (k, c) in fb {
                by.entry(k.clone()).or_default()[1] = *c;
            }
            Some(by)
        }
        _ => None,
    };
    let side = |k: usize| {
        let scores: Vec<&Score> = documents
            .iter()
            .filter_map(|d| d.review.as_ref()?[k].as_ref())
            .collect();
        (!scores.is_empty()).then(|| Score::total(scores))
    };
    let review = match (side(0), side(1)) {
        (None, None) => None,
        (x, y) => Some([x, y]),
    };
    RunDiff {
        a: RunRef::of(a),
        b: RunRef::of(b),
        identical,
        documents,
        findings,
        review,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_diffs_group_runs() {
        let ops = word_diff("the cat sat on the mat", "the dog sat on the mat");
        let ops: Vec<(char, &str)> = ops.iter().map(|o| (o.op, o.text.as_str())).collect();
        assert_eq!(
            ops,
            [
                ('=', "the "),
                ('-', "cat"),
                ('+', "dog"),
                ('=', " sat on the mat")
            ]
        );
    }
}
