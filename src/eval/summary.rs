//! Gold summaries, and how faithful a run's summaries are: one file, e.g.
//! `eval/summary_gold.json`, written by hand from the Dutch:
//!
//! ```text
//! {"version": 1, "about": "...",
//!  "letters": [{"doc_id": "...", "from": "Offlimits|Meldpunt", "to": "minist|cabinet",
//!               "claims": [{"id": "privacy", "claim": "...", "lines": [28, 28],
//!                           "keys": ["privacy|encrypt"]}],
//!               "inverted": ["supports the regulation"]}]}
//! ```
//!
//! - `from` / `to`: words (case aside, `|` between alternatives) the summary uses for the
//!   sender and for an addressee. The sender counts as named when the summary holds one and the
//!   `wrong_party` check finds no other sender named in it.
//! - `claims`: the 3-6 key claims a faithful summary carries, each with the lines that carry it
//!   and `keys`, groups of words. A claim is covered when a key point cites lines overlapping
//!   the claim's and holds a word of every group; a key point that covers no claim is counted
//!   as matching none.
//! - `inverted`: phrases that say the opposite of the letter; a summary or key point holding
//!   one inverts it.
//!
//! Beside them: whether the summary and the stance's rationales end as whole sentences.

use super::facts::holds_key as holds;
use crate::checks::shape;
use crate::tasks::stance::StanceOut;
use crate::tasks::summary::SummaryOut;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    pub id: String,
    /// The claim in English, for the person reading the gold.
    pub claim: String,
    pub lines: [u32; 2],
    pub keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Letter {
    pub doc_id: String,
    pub from: String,
    pub to: String,
    pub claims: Vec<Claim>,
    #[serde(default)]
    pub inverted: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoldSummaries {
    pub version: u32,
    #[serde(default)]
    pub about: String,
    pub letters: Vec<Letter>,
    #[serde(skip)]
    pub path: PathBuf,
}

/// Read a gold summaries file.
pub fn load(path: &Path) -> Result<GoldSummaries, super::gold::GoldError> {
    let mut g: GoldSummaries = super::gold::read(path, "gold summaries")?;
    g.path = path.to_path_buf();
    Ok(g)
}

/// How faithful the run's summaries are.
#[derive(Debug, Clone, Serialize, Default)]
pub struct SummaryEval {
    pub letters: Vec<LetterSummary>,
    pub sender: super::Agreement,
    pub addressee: super::Agreement,
    /// Gold claims covered by a key point.
    pub claims: super::Agreement,
    /// Key points that cover no gold claim, of all key points.
    pub unmatched: super::Agreement,
    /// Summaries that invert the letter.
    pub inverted: u32,
    /// Summaries and stance rationales that end as whole sentences.
    pub complete: super::Agreement,
    /// Gold letters the run has no summary for.
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LetterSummary {
    pub doc_id: String,
    pub sender: bool,
    pub addressee: bool,
    /// The ids of the claims covered.
    pub covered: Vec<String>,
    pub claims: usize,
    /// Key points covering no claim.
    pub unmatched: usize,
    pub key_points: usize,
    /// The phrases that invert the letter.
    pub inverted: Vec<String>,
}

fn overlaps(a: [u32; 2], b: [u32; 2]) -> bool {
    a[0] <= b[1] && b[0] <= a[1]
}

/// Score the run's summaries against `gold`. `read` gives a letter's summary and stance;
/// `other_sender` says whether the `wrong_party` check found the summary naming another sender.
pub fn score(
    gold: &GoldSummaries,
    read: impl Fn(&str) -> (Option<SummaryOut>, Option<StanceOut>),
    other_sender: impl Fn(&str) -> bool,
) -> SummaryEval {
    let mut e = SummaryEval::default();
    for g in &gold.letters {
        let (summary, stance) = read(&g.doc_id);
        if let Some(s) = &stance {
            let rationales = std::iter::once(&s.overall.rationale_en)
                .chain(s.topics.iter().map(|t| &t.rationale_en))
                .filter(|r| !r.trim().is_empty());
            for r in rationales {
                e.complete.total += 1;
                e.complete.agree += u32::from(!shape::cut_off(r));
            }
        }
        let Some(s) = summary else {
            e.missing.push(g.doc_id.clone());
            e.sender.total += 1;
            e.addressee.total += 1;
            e.claims.total += g.claims.len() as u32;
            continue;
        };
        e.complete.total += 1;
        e.complete.agree += u32::from(!shape::cut_off(&s.summary_en));
        let sender = holds(&s.summary_en, &g.from) && !other_sender(&g.doc_id);
        let addressee = holds(&s.summary_en, &g.to);
        let covers = |kp: &crate::tasks::summary::KeyPoint, c: &Claim| {
            kp.lines.iter().any(|l| overlaps(*l, c.lines))
                && c.keys.iter().all(|k| holds(&kp.text_en, k))
        };
        let covered: Vec<String> = g
            .claims
            .iter()
            .filter(|c| s.key_points.iter().any(|kp| covers(kp, c)))
            .map(|c| c.id.clone())
            .collect();
        let unmatched = s
            .key_points
            .iter()
            .filter(|kp| !g.claims.iter().any(|c| covers(kp, c)))
            .count();
        let texts: Vec<&str> = std::iter::once(s.summary_en.as_str())
            .chain(s.key_points.iter().map(|k| k.text_en.as_str()))
            .collect();
        let inverted: Vec<String> = g
            .inverted
            .iter()
            .filter(|p| texts.iter().any(|t| holds(t, p)))
            .cloned()
            .collect();
        e.sender.total += 1;
        e.sender.agree += u32::from(sender);
        e.addressee.total += 1;
        e.addressee.agree += u32::from(addressee);
        e.claims.total += g.claims.len() as u32;
        e.claims.agree += covered.len() as u32;
        e.unmatched.total += s.key_points.len() as u32;
        e.unmatched.agree += unmatched as u32;
        e.inverted += u32::from(!inverted.is_empty());
        e.letters.push(LetterSummary {
            doc_id: g.doc_id.clone(),
            sender,
            addressee,
            covered,
            claims: g.claims.len(),
            unmatched,
            key_points: s.key_points.len(),
            inverted,
        });
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gold() -> GoldSummaries {
        serde_json::from_value(serde_json::json!({
            "version": 1,
            "letters": [{"doc_id": "d", "from": "Offlimits", "to": "minist|cabinet",
                "claims": [
                    {"id": "privacy", "claim": "", "lines": [28, 28], "keys": ["privacy|encrypt"]},
                    {"id": "prevention", "claim": "", "lines": [44, 44], "keys": ["prevent"]}
                ],
                "inverted": ["supports the regulation"]}]
        }))
        .unwrap()
    }

    fn summary(text: &str, kps: &[(&str, [u32; 2])]) -> SummaryOut {
        let kps: Vec<_> = kps
            .iter()
            .map(|(t, l)| serde_json::json!({"text_en": t, "lines": [l], "paragraphs": []}))
            .collect();
        serde_json::from_value(serde_json::json!({
            "doc_id": "d", "source": {"path": "d.txt", "sha256": ""}, "model": "m",
            "summary_en": text, "key_points": kps
        }))
        .unwrap()
    }

    #[test]
    fn claims_are_covered_by_key_points_on_their_lines_with_their_words() {
        let faithful = summary(
            "Offlimits advises the ministers against the proposal.",
            &[
                ("It invades privacy", [28, 28]),
                ("Prevention is lacking", [40, 50]),
                ("The letter is signed", [52, 52]),
            ],
        );
        let e = score(&gold(), |_| (Some(faithful.clone()), None), |_| false);
        assert_eq!((e.sender.agree, e.addressee.agree), (1, 1));
        assert_eq!((e.claims.agree, e.claims.total), (2, 2));
        assert_eq!((e.unmatched.agree, e.unmatched.total), (1, 3));
        assert_eq!((e.inverted, e.complete.agree, e.complete.total), (0, 1, 1));
        // Right words on the wrong lines, and a summary that inverts the letter and is cut.
        let wrong = summary(
            "The government writes to a hotline and supports the regulation of",
            &[("It invades privacy", [3, 3])],
        );
        let e = score(&gold(), |_| (Some(wrong.clone()), None), |_| true);
        assert_eq!(
            (e.sender.agree, e.claims.agree, e.unmatched.agree),
            (0, 0, 1)
        );
        assert_eq!((e.inverted, e.complete.agree), (1, 0));
        // No summary: every claim missed.
        let e = score(&gold(), |_| (None, None), |_| false);
        assert_eq!((e.claims.total, e.missing.len()), (2, 1));
    }
}
