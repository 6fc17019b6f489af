//! Gold letter facts, and how often a run gets them right: one file, e.g.
//! `eval/facts_gold.json`, written by hand from the Dutch:
//!
//! ```text
//! {"version": 1, "about": "...",
//!  "letters": [{"doc_id": "...", "date": "2024-09-18",
//!               "sender": {"keys": ["Offlimits"], "line": 52},
//!               "addressees": {"keys": ["Van Weel", "Struycken"], "line": 7}}]}
//! ```
//!
//! `date` is the letter's date as an ISO date, null when the letter gives none. `sender` and
//! `addressees` hold `keys`: words the run's names must hold (case aside) to be right. The
//! sender is right when one of the run's authors holds one of its keys; the addressees are
//! right when every key is in one of the run's addressees and no sender key is (a sender named
//! as an addressee is wrong). `line` shows where the letter says it. What the run says is read
//! from its `stance.json` (`author`, `addressees`, `date`), what a reader sees first.

use crate::tasks::stance::StanceOut;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Names {
    pub keys: Vec<String>,
    #[serde(default)]
    pub line: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Letter {
    pub doc_id: String,
    pub date: Option<String>,
    pub sender: Names,
    pub addressees: Names,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoldFacts {
    pub version: u32,
    #[serde(default)]
    pub about: String,
    pub letters: Vec<Letter>,
    #[serde(skip)]
    pub path: PathBuf,
}

/// Read a gold facts file.
pub fn load(path: &Path) -> Result<GoldFacts, super::gold::GoldError> {
    let mut g: GoldFacts = super::gold::read(path, "gold letter facts")?;
    g.path = path.to_path_buf();
    Ok(g)
}

/// How many letters a run has right, field by field.
#[derive(Debug, Clone, Serialize, Default)]
pub struct FactsEval {
    pub letters: Vec<LetterFacts>,
    pub date: super::Agreement,
    pub sender: super::Agreement,
    pub addressees: super::Agreement,
    /// Gold letters the run has no stance for.
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LetterFacts {
    pub doc_id: String,
    pub date: bool,
    pub sender: bool,
    pub addressees: bool,
    /// What the run said: its date, authors and addressees.
    pub run_date: Option<String>,
    pub run_author: Vec<String>,
    pub run_addressees: Vec<String>,
}

/// Does `text` hold `key` (or one of its `|` alternatives), case aside?
pub(super) fn holds_key(text: &str, key: &str) -> bool {
    let text = text.to_lowercase();
    key.split('|').any(|alt| {
        let alt = alt.trim().to_lowercase();
        !alt.is_empty() && text.contains(&alt)
    })
}

/// Does one of `names` hold `key`?
fn holds(names: &[String], key: &str) -> bool {
    names.iter().any(|n| holds_key(n, key))
}

/// Score the run's stance outputs (`read` gives a letter's) against `gold`.
pub fn score(gold: &GoldFacts, read: impl Fn(&str) -> Option<StanceOut>) -> FactsEval {
    let mut e = FactsEval::default();
    for g in &gold.letters {
        let Some(s) = read(&g.doc_id) else {
            e.missing.push(g.doc_id.clone());
            for a in [&mut e.date, &mut e.sender, &mut e.addressees] {
                a.total += 1;
            }
            continue;
        };
        let date = s.date.as_deref().map(|d| {
            crate::ingest::facts::date_in(d)
                .map(|(iso, _)| iso)
                .unwrap_or_else(|| d.to_string())
        });
        let date_right = date == g.date;
        let sender_right = g.sender.keys.iter().any(|k| holds(&s.author, k));
        let addressees_right = g.addressees.keys.iter().all(|k| holds(&s.addressees, k))
            && !g.sender.keys.iter().any(|k| holds(&s.addressees, k));
        for (a, right) in [
            (&mut e.date, date_right),
            (&mut e.sender, sender_right),
            (&mut e.addressees, addressees_right),
        ] {
            a.total += 1;
            a.agree += u32::from(right);
        }
        e.letters.push(LetterFacts {
            doc_id: g.doc_id.clone(),
            date: date_right,
            sender: sender_right,
            addressees: addressees_right,
            run_date: date,
            run_author: s.author.clone(),
            run_addressees: s.addressees.clone(),
        });
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stance(author: &[&str], addressees: &[&str], date: Option<&str>) -> StanceOut {
        serde_json::from_value(serde_json::json!({
            "doc_id": "d", "source": {"path": "d.txt", "sha256": ""}, "model": "m",
            "author": author, "addressees": addressees, "date": date, "doc_type": "letter",
            "overall": {"stance": "oppose", "confidence": 1.0, "rationale_en": "", "evidence": []},
            "topics": []
        }))
        .unwrap()
    }

    #[test]
    fn a_sender_named_as_an_addressee_is_wrong_and_a_written_date_is_read() {
        let gold: GoldFacts = serde_json::from_value(serde_json::json!({
            "version": 1,
            "letters": [{"doc_id": "d", "date": "2024-09-18",
                "sender": {"keys": ["Offlimits"]},
                "addressees": {"keys": ["Van Weel"]}}]
        }))
        .unwrap();
        let right = score(&gold, |_| {
            Some(stance(
                &["Offlimits"],
                &["Minister Van Weel"],
                Some("18 september 2024"),
            ))
        });
        assert_eq!(
            (right.date.agree, right.sender.agree, right.addressees.agree),
            (1, 1, 1)
        );
        let swapped = score(&gold, |_| {
            Some(stance(
                &["Minister Van Weel"],
                &["Offlimits, Van Weel"],
                None,
            ))
        });
        assert_eq!(
            (
                swapped.date.agree,
                swapped.sender.agree,
                swapped.addressees.agree
            ),
            (0, 0, 0)
        );
        let none = score(&gold, |_| None);
        assert_eq!((none.date.total, none.missing.len()), (1, 1));
    }
}
