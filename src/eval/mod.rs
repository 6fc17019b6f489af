//! `tolk eval`: how close a run is to reference translations (chrF++) and to gold stance
//! labels (agreement, accuracy, macro-F1, a confusion matrix, beside the constant baseline),
//! with the output checks' findings per 100 segments. Pure computation on a run folder; the
//! command renders it.

pub mod chrf;
pub mod facts;
pub mod gold;
pub mod reference;
pub mod summary;

use crate::checks::{self, Count, Tally};
use crate::prompt::PromptSet;
use crate::store::run::Manifest;
use crate::tasks::Task;
use crate::tasks::stance::StanceOut;
use crate::tasks::translate::TranslationOut;
use gold::Gold;
use reference::Reference;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The label of a judgement the run did not make (no stance for the letter, or no such topic).
pub const NONE: &str = "none";

/// One run, evaluated.
#[derive(Debug, Clone, Serialize)]
pub struct RunEval {
    pub run_id: String,
    pub label: Option<String>,
    pub model: String,
    pub checks: ChecksEval,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub translation: Option<TranslationEval>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stance: Option<StanceEval>,
    /// Who wrote to whom and when, against the gold letter facts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facts: Option<facts::FactsEval>,
    /// How faithful the summaries are, against the gold summaries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<summary::SummaryEval>,
}

/// The output checks over a run: findings per 100 segments, by check.
#[derive(Debug, Clone, Serialize)]
pub struct ChecksEval {
    pub segments: u32,
    pub findings: Count,
    pub per_100: f64,
    pub major_per_100: f64,
    /// Check name -> findings per 100 segments.
    pub by_check: BTreeMap<String, f64>,
    pub letters: Vec<LetterChecks>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LetterChecks {
    pub doc_id: String,
    pub segments: u32,
    pub findings: Count,
    pub tally: Tally,
}

/// chrF++ against the reference translations.
#[derive(Debug, Clone, Serialize)]
pub struct TranslationEval {
    /// Over every reference segment of the letters the run has.
    pub chrf: f64,
    /// The Dutch itself scored as if it were the English: what copying would get.
    pub dutch_chrf: f64,
    pub segments: usize,
    pub letters: Vec<LetterTranslation>,
    /// References for letters the run does not have.
    pub not_in_run: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LetterTranslation {
    pub doc_id: String,
    pub segments: usize,
    /// Reference segments with English from the run.
    pub translated: usize,
    pub chrf: f64,
    pub dutch_chrf: f64,
    /// No translation.json for the letter: scored as if every segment were empty.
    pub missing: bool,
}

/// Agreement with the gold stance labels.
#[derive(Debug, Clone, Serialize)]
pub struct StanceEval {
    /// Judgements compared: the overall stance and every gold topic, of every gold letter.
    pub judgements: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub overall: Agreement,
    pub topics: Vec<TopicAgreement>,
    pub letters: Vec<LetterStance>,
    /// The labels of the matrix, gold labels first, then `none`.
    pub labels: Vec<String>,
    /// Rows: the gold label; columns: the run's label.
    pub confusion: Vec<Vec<u32>>,
    /// Always answering the most common gold label.
    pub baseline: Baseline,
    /// Gold letters the run has no stance for.
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Default)]
pub struct Agreement {
    pub agree: u32,
    pub total: u32,
}

impl Agreement {
    pub fn rate(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.agree as f64 / self.total as f64
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TopicAgreement {
    pub topic: String,
    #[serde(flatten)]
    pub agreement: Agreement,
}

#[derive(Debug, Clone, Serialize)]
pub struct LetterStance {
    pub doc_id: String,
    pub overall_gold: String,
    pub overall_run: String,
    /// Over the overall stance and the topics.
    #[serde(flatten)]
    pub agreement: Agreement,
}

#[derive(Debug, Clone, Serialize)]
pub struct Baseline {
    pub label: String,
    pub accuracy: f64,
    pub macro_f1: f64,
}

/// What to evaluate against.
#[derive(Debug, Clone, Default)]
pub struct Yardstick {
    pub gold: Option<Gold>,
    pub references: Option<Vec<Reference>>,
    pub facts: Option<facts::GoldFacts>,
    pub summaries: Option<summary::GoldSummaries>,
}

/// Evaluate the run in `run_dir`.
pub fn evaluate(
    run_dir: &Path,
    manifest: &Manifest,
    prompts: &PromptSet,
    against: &Yardstick,
) -> RunEval {
    let docs = checks::recheck(run_dir, manifest, prompts);
    // Letters whose summary names another sender than the letter does.
    let other_sender: Vec<String> = docs
        .iter()
        .filter(|d| {
            d.findings.iter().any(|(t, f)| {
                *t == Task::Summary
                    && f.check == crate::tasks::finding::Check::WrongParty
                    && f.segment == "summary"
                    && !f.message.contains("as an addressee")
            })
        })
        .map(|d| d.doc_id.clone())
        .collect();
    let letters: Vec<LetterChecks> = docs
        .iter()
        .map(|d| {
            let tally = d.tally();
            LetterChecks {
                doc_id: d.doc_id.clone(),
                segments: d.segments,
                findings: checks::sum(&tally),
                tally,
            }
        })
        .collect();
    let mut all = Tally::new();
    for l in &letters {
        checks::merge(&mut all, &l.tally);
    }
    let segments: u32 = letters.iter().map(|l| l.segments).sum();
    let per = |n: u32| {
        if segments == 0 {
            0.0
        } else {
            100.0 * n as f64 / segments as f64
        }
    };
    let findings = checks::sum(&all);
    let checks = ChecksEval {
        segments,
        findings,
        per_100: per(findings.total()),
        major_per_100: per(findings.major),
        by_check: all
            .iter()
            .map(|(k, c)| (k.name().to_string(), per(c.total())))
            .collect(),
        letters,
    };
    let in_run: Vec<&str> = manifest.inputs.iter().map(|i| i.doc_id.as_str()).collect();
    let translation = against.references.as_ref().map(|refs| {
        let read = |doc: &str| -> Option<TranslationOut> {
            crate::store::read_json(&run_dir.join(doc).join(Task::Translate.json_file())).ok()
        };
        translation(refs, &in_run, read)
    });
    let stance = against.gold.as_ref().map(|g| {
        let read = |doc: &str| -> Option<StanceOut> {
            crate::store::read_json(&run_dir.join(doc).join(Task::Stance.json_file())).ok()
        };
        stance(g, &in_run, read)
    });
    // Letters the run does not have are not counted (a run on two letters is scored on two).
    let facts = against.facts.as_ref().map(|g| {
        let mut g = g.clone();
        g.letters.retain(|l| in_run.contains(&l.doc_id.as_str()));
        facts::score(&g, |doc: &str| {
            crate::store::read_json(&run_dir.join(doc).join(Task::Stance.json_file())).ok()
        })
    });
    let summary = against.summaries.as_ref().map(|g| {
        let mut g = g.clone();
        g.letters.retain(|l| in_run.contains(&l.doc_id.as_str()));
        let read = |doc: &str| {
            let dir = run_dir.join(doc);
            (
                crate::store::read_json(&dir.join(Task::Summary.json_file())).ok(),
                crate::store::read_json(&dir.join(Task::Stance.json_file())).ok(),
            )
        };
        summary::score(&g, read, |doc| other_sender.iter().any(|d| d == doc))
    });
    RunEval {
        run_id: manifest.run_id.clone(),
        label: manifest.label.clone(),
        model: manifest
            .model
            .resolved
            .clone()
            .unwrap_or_else(|| manifest.model.requested.clone()),
        checks,
        translation,
        stance,
        facts,
        summary,
    }
}

/// Each reference segment's hypothesis: the English of the run's segments that overlap it most
/// (a run cut into other paragraphs still lines up by source lines), joined in order.
fn hypotheses(r: &Reference, t: &TranslationOut) -> Vec<(String, bool)> {
    let mut out: Vec<(Vec<&str>, bool)> = vec![(Vec::new(), false); r.segments.len()];
    for s in &t.segments {
        let overlap = |l: [u32; 2]| {
            let (a, b) = (s.lines[0].max(l[0]), s.lines[1].min(l[1]));
            if a <= b { b - a + 1 } else { 0 }
        };
        let best = r
            .segments
            .iter()
            .enumerate()
            .map(|(k, rs)| (overlap(rs.lines), k))
            .filter(|(o, _)| *o > 0)
            .max_by_key(|&(o, k)| (o, std::cmp::Reverse(k)));
        if let Some((_, k)) = best
            && let Some(en) = s.en.as_deref()
        {
            out[k].0.push(en);
            out[k].1 = true;
        }
    }
    out.into_iter().map(|(v, any)| (v.join(" "), any)).collect()
}

fn translation(
    refs: &[Reference],
    in_run: &[&str],
    read: impl Fn(&str) -> Option<TranslationOut>,
) -> TranslationEval {
    let mut total = chrf::Stats::default();
    let mut dutch = chrf::Stats::default();
    let mut letters = Vec::new();
    let mut not_in_run = Vec::new();
    for r in refs {
        if !in_run.contains(&r.doc_id.as_str()) {
            not_in_run.push(r.doc_id.clone());
            continue;
        }
        let t = read(&r.doc_id);
        let hyps = match &t {
            Some(t) => hypotheses(r, t),
            None => vec![(String::new(), false); r.segments.len()],
        };
        let mut ls = chrf::Stats::default();
        let mut ld = chrf::Stats::default();
        for (s, (h, _)) in r.segments.iter().zip(&hyps) {
            ls.add(&chrf::segment(h, &s.en));
            ld.add(&chrf::segment(&s.nl, &s.en));
        }
        total.add(&ls);
        dutch.add(&ld);
        letters.push(LetterTranslation {
            doc_id: r.doc_id.clone(),
            segments: r.segments.len(),
            translated: hyps.iter().filter(|(_, any)| *any).count(),
            chrf: ls.score(),
            dutch_chrf: ld.score(),
            missing: t.is_none(),
        });
    }
    TranslationEval {
        chrf: total.score(),
        dutch_chrf: dutch.score(),
        segments: letters.iter().map(|l| l.segments).sum(),
        letters,
        not_in_run,
    }
}

/// Macro-F1 over `labels` (those in the gold or predicted; `none` is never a class).
fn macro_f1(pairs: &[(String, String)]) -> f64 {
    let mut labels: Vec<&str> = pairs
        .iter()
        .flat_map(|(g, p)| [g.as_str(), p.as_str()])
        .filter(|l| *l != NONE)
        .collect();
    labels.sort();
    labels.dedup();
    if labels.is_empty() {
        return 0.0;
    }
    let f1s: Vec<f64> = labels
        .iter()
        .map(|l| {
            let tp = pairs.iter().filter(|(g, p)| g == l && p == l).count() as f64;
            let fp = pairs.iter().filter(|(g, p)| g != l && p == l).count() as f64;
            let fn_ = pairs.iter().filter(|(g, p)| g == l && p != l).count() as f64;
            if tp == 0.0 {
                0.0
            } else {
                2.0 * tp / (2.0 * tp + fp + fn_)
            }
        })
        .collect();
    f1s.iter().sum::<f64>() / f1s.len() as f64
}

fn stance(g: &Gold, in_run: &[&str], read: impl Fn(&str) -> Option<StanceOut>) -> StanceEval {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut overall = Agreement::default();
    let mut topics: BTreeMap<String, Agreement> = BTreeMap::new();
    let mut letters = Vec::new();
    let mut missing = Vec::new();
    for l in &g.letters {
        if !in_run.contains(&l.doc_id.as_str()) {
            continue;
        }
        let s = read(&l.doc_id);
        if s.is_none() {
            missing.push(l.doc_id.clone());
        }
        let run_overall = s
            .as_ref()
            .map_or(NONE.to_string(), |s| s.overall.stance.clone());
        let mut agreement = Agreement::default();
        let mut judge = |gold: &str, run: String, a: &mut Agreement, letter: &mut Agreement| {
            let ok = gold == run;
            a.total += 1;
            letter.total += 1;
            if ok {
                a.agree += 1;
                letter.agree += 1;
            }
            pairs.push((gold.to_string(), run));
        };
        judge(
            &l.overall.stance,
            run_overall.clone(),
            &mut overall,
            &mut agreement,
        );
        for (topic, label) in &l.topics {
            let run = s
                .as_ref()
                .and_then(|s| s.topics.iter().find(|t| &t.topic == topic))
                .map_or(NONE.to_string(), |t| t.stance.clone());
            judge(
                &label.stance,
                run,
                topics.entry(topic.clone()).or_default(),
                &mut agreement,
            );
        }
        letters.push(LetterStance {
            doc_id: l.doc_id.clone(),
            overall_gold: l.overall.stance.clone(),
            overall_run: run_overall,
            agreement,
        });
    }
    // The matrix: the gold labels in their fixed order, then whatever else the run said.
    let mut labels: Vec<String> = gold::LABELS
        .iter()
        .filter(|l| pairs.iter().any(|(g, p)| g == *l || p == *l))
        .map(|l| l.to_string())
        .collect();
    for (_, p) in &pairs {
        if !labels.contains(p) && p != NONE {
            labels.push(p.clone());
        }
    }
    if pairs.iter().any(|(_, p)| p == NONE) {
        labels.push(NONE.into());
    }
    let at = |l: &str| {
        labels
            .iter()
            .position(|x| x == l)
            .expect("every label is in the matrix")
    };
    let mut confusion = vec![vec![0u32; labels.len()]; labels.len()];
    for (gl, p) in &pairs {
        confusion[at(gl)][at(p)] += 1;
    }
    let agree = pairs.iter().filter(|(g, p)| g == p).count();
    let n = pairs.len();
    let rate = |k: usize| if n == 0 { 0.0 } else { k as f64 / n as f64 };
    // The constant baseline: the most common gold label (ties: the first in LABELS).
    let common = gold::LABELS
        .iter()
        .max_by_key(|l| {
            (
                pairs.iter().filter(|(g, _)| g == *l).count(),
                std::cmp::Reverse(gold::LABELS.iter().position(|x| x == *l)),
            )
        })
        .map(|l| l.to_string())
        .unwrap_or_default();
    let constant: Vec<(String, String)> = pairs
        .iter()
        .map(|(g, _)| (g.clone(), common.clone()))
        .collect();
    StanceEval {
        judgements: n,
        accuracy: rate(agree),
        macro_f1: macro_f1(&pairs),
        overall,
        topics: topics
            .into_iter()
            .map(|(topic, agreement)| TopicAgreement { topic, agreement })
            .collect(),
        letters,
        labels,
        confusion,
        baseline: Baseline {
            accuracy: rate(constant.iter().filter(|(g, p)| g == p).count()),
            macro_f1: macro_f1(&constant),
            label: common,
        },
        missing,
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

/// Which of two figures is better: "A", "B" or "tie".
fn better(a: f64, b: f64, higher_is_better: bool, tolerance: f64) -> &'static str {
    if (a - b).abs() <= tolerance {
        "tie"
    } else if (a > b) == higher_is_better {
        "A"
    } else {
        "B"
    }
}

/// One line per measure: which run is closer, and by how much.
pub fn verdict(a: &RunEval, b: &RunEval) -> Vec<String> {
    let mut v = Vec::new();
    if let (Some(x), Some(y)) = (&a.translation, &b.translation) {
        v.push(match better(x.chrf, y.chrf, true, 0.05) {
            "tie" => format!("reference: a tie (chrF++ {:.1})", x.chrf),
            w => format!(
                "reference: {w} is closer (chrF++ {:.1} vs {:.1}, {:+.1})",
                x.chrf.max(y.chrf),
                x.chrf.min(y.chrf),
                (x.chrf - y.chrf).abs()
            ),
        });
    }
    if let (Some(x), Some(y)) = (&a.stance, &b.stance) {
        v.push(match better(x.accuracy, y.accuracy, true, 1e-9) {
            "tie" => format!("gold labels: a tie (accuracy {})", pct(x.accuracy)),
            w => format!(
                "gold labels: {w} agrees more (accuracy {} vs {}; macro-F1 {:.2} vs {:.2}; constant baseline {})",
                pct(x.accuracy.max(y.accuracy)),
                pct(x.accuracy.min(y.accuracy)),
                if w == "A" { x.macro_f1 } else { y.macro_f1 },
                if w == "A" { y.macro_f1 } else { x.macro_f1 },
                pct(x.baseline.accuracy)
            ),
        });
    }
    if let (Some(x), Some(y)) = (&a.summary, &b.summary) {
        let (cx, cy) = (x.claims.rate(), y.claims.rate());
        v.push(match better(cx, cy, true, 1e-9) {
            "tie" => format!(
                "gold summaries: a tie ({} of {} key claims covered)",
                x.claims.agree, x.claims.total
            ),
            w => {
                let (win, lose) = if w == "A" { (x, y) } else { (y, x) };
                format!(
                    "gold summaries: {w} covers more key claims ({} vs {} of {}; senders named {} vs {})",
                    win.claims.agree,
                    lose.claims.agree,
                    win.claims.total,
                    win.sender.agree,
                    lose.sender.agree
                )
            }
        });
    }
    let (x, y) = (&a.checks, &b.checks);
    v.push(match better(x.per_100, y.per_100, false, 0.05) {
        "tie" => format!("checks: a tie ({:.1} findings per 100 segments)", x.per_100),
        w => format!(
            "checks: {w} has fewer findings ({:.1} vs {:.1} per 100 segments; major {:.1} vs {:.1})",
            x.per_100.min(y.per_100),
            x.per_100.max(y.per_100),
            if w == "A" { x.major_per_100 } else { y.major_per_100 },
            if w == "A" { y.major_per_100 } else { x.major_per_100 }
        ),
    });
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn macro_f1_is_the_mean_over_labels() {
        // support: tp 2, fp 1, fn 0 -> 0.8; oppose: tp 0, fn 1 -> 0; mean 0.4.
        let p = pairs(&[
            ("support", "support"),
            ("support", "support"),
            ("oppose", "support"),
        ]);
        assert!((macro_f1(&p) - 0.4).abs() < 1e-12);
        // A missing judgement is wrong but not a class of its own.
        let p = pairs(&[("support", "support"), ("oppose", NONE)]);
        assert!((macro_f1(&p) - 0.5).abs() < 1e-12);
    }
}
