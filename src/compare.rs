//! Run-to-run comparison: what changed in the English between two runs (two models, two prompt
//! versions), per document and task, aligned by source lines.
//!
//! Translation segments are aligned by their source line ranges (ids can differ between runs
//! with different chunk budgets); summaries are compared word by word; key points as sets;
//! stances topic by topic. Outputs are read into their typed structs and compared field by
//! field, so the layout of the JSON files (key order, whitespace) never counts as a change.

use crate::store::run::Manifest;
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
    pub segments: Vec<SegmentChange>,
    /// Translation segments in either run.
    pub segments_total: usize,
    /// Present in only one of the runs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

impl DocDiff {
    pub fn is_empty(&self) -> bool {
        self.summary.is_none()
            && self.key_points_added.is_empty()
            && self.key_points_removed.is_empty()
            && self
                .stance
                .iter()
                .all(|t| !t.changed && t.evidence_added.is_empty() && t.evidence_removed.is_empty())
            && self.segments.is_empty()
            && self.missing.is_empty()
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

/// Compare two documents' outputs (any of which may be missing).
pub fn diff_doc(doc_id: &str, a_dir: &Path, b_dir: &Path, task: Option<&str>) -> DocDiff {
    let mut d = DocDiff {
        doc_id: doc_id.to_string(),
        ..DocDiff::default()
    };
    let want = |t: &str| task.is_none_or(|x| x == t);
    if want("summary") {
        match (
            load::<SummaryOut>(&a_dir.join("summary.json")),
            load::<SummaryOut>(&b_dir.join("summary.json")),
        ) {
            (Some(a), Some(b)) => {
                if a.summary_en != b.summary_en {
                    d.summary = Some(word_diff(&a.summary_en, &b.summary_en));
                }
                let ka: Vec<&str> = a.key_points.iter().map(|k| k.text_en.as_str()).collect();
                let kb: Vec<&str> = b.key_points.iter().map(|k| k.text_en.as_str()).collect();
                d.key_points_removed = ka
                    .iter()
                    .filter(|k| !kb.contains(k))
                    .map(|s| s.to_string())
                    .collect();
                d.key_points_added = kb
                    .iter()
                    .filter(|k| !ka.contains(k))
                    .map(|s| s.to_string())
                    .collect();
            }
            (None, None) => {}
            (a, _) => d.missing.push(format!(
                "summary only in run {}",
                if a.is_some() { "A" } else { "B" }
            )),
        }
    }
    if want("stance") {
        match (
            load::<StanceOut>(&a_dir.join("stance.json")),
            load::<StanceOut>(&b_dir.join("stance.json")),
        ) {
            (Some(a), Some(b)) => {
                let mut rows = vec![(
                    "overall".to_string(),
                    a.overall.stance.clone(),
                    b.overall.stance.clone(),
                    &a.overall.evidence,
                    &b.overall.evidence,
                )];
                for ta in &a.topics {
                    if let Some(tb) = b.topics.iter().find(|t| t.topic == ta.topic) {
                        rows.push((
                            ta.topic.clone(),
                            ta.stance.clone(),
                            tb.stance.clone(),
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
                        a: sa,
                        b: sb,
                        evidence_removed: qa
                            .iter()
                            .filter(|q| !qb.contains(q))
                            .map(|s| s.to_string())
                            .collect(),
                        evidence_added: qb
                            .iter()
                            .filter(|q| !qa.contains(q))
                            .map(|s| s.to_string())
                            .collect(),
                    });
                }
            }
            (None, None) => {}
            (a, _) => d.missing.push(format!(
                "stance only in run {}",
                if a.is_some() { "A" } else { "B" }
            )),
        }
    }
    if want("translate") {
        match (
            load::<TranslationOut>(&a_dir.join("translation.json")),
            load::<TranslationOut>(&b_dir.join("translation.json")),
        ) {
            (Some(a), Some(b)) => {
                let mut by_lines: BTreeMap<[u32; 2], (Option<String>, Option<String>)> =
                    BTreeMap::new();
                for s in &a.segments {
                    by_lines.entry(s.lines).or_default().0 = s.en.clone();
                }
                for s in &b.segments {
                    by_lines.entry(s.lines).or_default().1 = s.en.clone();
                }
                d.segments_total = by_lines.len();
                for (lines, (ea, eb)) in by_lines {
                    if ea != eb {
                        let words =
                            word_diff(ea.as_deref().unwrap_or(""), eb.as_deref().unwrap_or(""));
                        d.segments.push(SegmentChange {
                            lines,
                            a: ea,
                            b: eb,
                            words,
                        });
                    }
                }
            }
            (None, None) => {}
            (a, _) => d.missing.push(format!(
                "translation only in run {}",
                if a.is_some() { "A" } else { "B" }
            )),
        }
    }
    d
}

/// Compare two runs in `out`.
pub fn diff_runs(
    out: &Path,
    a: &Manifest,
    b: &Manifest,
    doc: Option<&str>,
    task: Option<&str>,
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
        .map(|id| diff_doc(&id, &dir_a.join(&id), &dir_b.join(&id), task))
        .collect();
    let identical = documents.iter().all(DocDiff::is_empty);
    RunDiff {
        a: RunRef::of(a),
        b: RunRef::of(b),
        identical,
        documents,
    }
}

fn words_text(ops: &[WordOp], color: bool) -> String {
    let mut s = String::new();
    for op in ops {
        match (op.op, color) {
            ('=', _) => s.push_str(&op.text),
            ('-', true) => s.push_str(&format!("\x1b[31;9m{}\x1b[0m", op.text)),
            ('+', true) => s.push_str(&format!("\x1b[32m{}\x1b[0m", op.text)),
            ('-', false) => s.push_str(&format!("[-{}-]", op.text)),
            (_, false) => s.push_str(&format!("{{+{}+}}", op.text)),
            _ => s.push_str(&op.text),
        }
    }
    s
}

fn words_md(ops: &[WordOp]) -> String {
    let mut s = String::new();
    for (i, op) in ops.iter().enumerate() {
        // A replacement: keep the struck-out and the new words apart.
        if op.op == '+' && i > 0 && ops[i - 1].op == '-' && !s.ends_with(char::is_whitespace) {
            s.push(' ');
        }
        let t = op.text.trim_end();
        let tail = &op.text[t.len()..];
        match op.op {
            '=' => s.push_str(&op.text),
            '-' if !t.is_empty() => s.push_str(&format!("~~{t}~~{tail}")),
            '+' if !t.is_empty() => s.push_str(&format!("**{t}**{tail}")),
            _ => s.push_str(&op.text),
        }
    }
    s
}

fn lines(r: [u32; 2]) -> String {
    crate::report::markdown::lines(r)
}

/// The terminal rendering (coloured when `color`).
pub fn render_text(d: &RunDiff, color: bool) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let name = |r: &RunRef| {
        format!(
            "{} ({})",
            r.label.clone().unwrap_or_else(|| r.run_id.clone()),
            r.model
        )
    };
    if d.identical {
        let _ = writeln!(
            s,
            "no differences between {} and {}",
            name(&d.a),
            name(&d.b)
        );
        return s;
    }
    let _ = writeln!(s, "A: {}\nB: {}\n", name(&d.a), name(&d.b));
    for doc in &d.documents {
        if doc.is_empty() {
            let _ = writeln!(s, "== {}: no differences\n", doc.doc_id);
            continue;
        }
        let _ = writeln!(s, "== {}: {}", doc.doc_id, doc.score());
        for m in &doc.missing {
            let _ = writeln!(s, "  {m}");
        }
        if let Some(w) = &doc.summary {
            let _ = writeln!(s, "-- summary\n{}", words_text(w, color));
        }
        for k in &doc.key_points_removed {
            let _ = writeln!(s, "  - key point: {k}");
        }
        for k in &doc.key_points_added {
            let _ = writeln!(s, "  + key point: {k}");
        }
        if doc
            .stance
            .iter()
            .any(|t| t.changed || !t.evidence_added.is_empty() || !t.evidence_removed.is_empty())
        {
            let _ = writeln!(s, "-- stance");
            for t in &doc.stance {
                let mark = if t.changed { "*" } else { " " };
                let _ = writeln!(s, " {mark} {:<24} {} -> {}", t.topic, t.a, t.b);
                for q in &t.evidence_removed {
                    let _ = writeln!(s, "      - «{q}»");
                }
                for q in &t.evidence_added {
                    let _ = writeln!(s, "      + «{q}»");
                }
            }
        }
        if !doc.segments.is_empty() {
            let _ = writeln!(s, "-- translation");
            for seg in &doc.segments {
                let _ = writeln!(
                    s,
                    "  {}: {}",
                    lines(seg.lines),
                    words_text(&seg.words, color)
                );
            }
        }
        let _ = writeln!(s);
    }
    s
}

/// The Markdown rendering.
pub fn render_md(d: &RunDiff) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let name = |r: &RunRef| {
        format!(
            "`{}` ({})",
            r.label.clone().unwrap_or_else(|| r.run_id.clone()),
            r.model
        )
    };
    let _ = writeln!(s, "# Differences: {} → {}\n", name(&d.a), name(&d.b));
    if d.identical {
        let _ = writeln!(s, "No differences.");
        return s;
    }
    for doc in &d.documents {
        let _ = writeln!(s, "## {}\n", doc.doc_id);
        if doc.is_empty() {
            let _ = writeln!(s, "No differences.\n");
            continue;
        }
        let _ = writeln!(s, "{}.\n", doc.score());
        if let Some(w) = &doc.summary {
            let _ = writeln!(s, "### Summary\n\n{}\n", words_md(w));
        }
        for k in &doc.key_points_removed {
            let _ = writeln!(s, "- removed key point: {k}");
        }
        for k in &doc.key_points_added {
            let _ = writeln!(s, "- added key point: {k}");
        }
        if !doc.stance.is_empty() {
            let _ = writeln!(s, "\n### Stance\n\n| topic | A | B | |\n|---|---|---|---|");
            for t in &doc.stance {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} |",
                    t.topic,
                    t.a,
                    t.b,
                    if t.changed { "changed" } else { "" }
                );
            }
        }
        if !doc.segments.is_empty() {
            let _ = writeln!(s, "\n### Translation\n");
            for seg in &doc.segments {
                let _ = writeln!(s, "- **{}** {}", lines(seg.lines), words_md(&seg.words));
            }
        }
        let _ = writeln!(s);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_diffs_group_runs() {
        let ops = word_diff("the cat sat on the mat", "the dog sat on the mat");
        let text = words_text(&ops, false);
        assert_eq!(text, "the [-cat-]{+dog+} sat on the mat");
        assert_eq!(words_md(&ops), "the ~~cat~~ **dog** sat on the mat");
    }
}
