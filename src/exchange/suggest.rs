//! `tolk glossary suggest`: terms worth fixing, found in a run's letters, with the English the
//! run gave them most and where it wavered, for a person to accept into a glossary file
//! (`run.glossaries`), after which the checks hold every run to them.
//!
//! Candidates are Dutch terms that recur (in at least `min` segments): acronyms (`CSAM`,
//! `E2EE`), names of two or more capitalised words not at a sentence's start (`Meldpunt
//! Kinderporno`, `Europese Commissie`), and hyphenated or long compound words
//! (`end-to-end-encryptie`, `detectiebevelen`). Terms the glossary already has are left out.
//! The English of a term is the word sequence (one to four words) that the English of the
//! segments holding the term share most, and that the other segments' English rarely has: a
//! plain association, no model call. A term whose segments do not all hold that English wavered;
//! the other renderings found are listed with their counts.

use crate::prompt::Term;
use crate::tasks::translate::SegmentOut;
use std::collections::{BTreeMap, BTreeSet};

/// One suggested term.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Suggestion {
    pub nl: String,
    /// `acronym`, `name` or `compound`.
    pub kind: &'static str,
    /// Segments (letter and id) whose Dutch holds it.
    pub segments: usize,
    pub letters: usize,
    /// The English the run used most for it, and in how many of its segments.
    pub en: Option<String>,
    pub used: usize,
    /// The segments (letter and id) whose English does not have it: where the run wavered.
    pub wavered: Vec<String>,
}

/// Words of a text, keeping hyphens inside words.
fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '\''))
        .map(|w| w.trim_matches(|c| c == '-' || c == '\''))
        .filter(|w| !w.is_empty())
        .collect()
}

fn is_acronym(w: &str) -> bool {
    let letters = w.chars().filter(|c| c.is_alphabetic()).count();
    letters >= 2
        && w.chars()
            .all(|c| c.is_uppercase() || c.is_ascii_digit() || c == '-')
        && w.chars().next().is_some_and(char::is_alphabetic)
}

fn capitalised(w: &str) -> bool {
    w.chars().next().is_some_and(char::is_uppercase) && w.chars().skip(1).any(char::is_lowercase)
}

/// The candidate terms of one Dutch segment.
fn candidates(nl: &str) -> BTreeSet<(String, &'static str)> {
    let mut out = BTreeSet::new();
    for sentence in nl.split(['.', '?', '!', ':', ';', '\n']) {
        let ws = words(sentence);
        let mut run: Vec<&str> = Vec::new();
        for (i, w) in ws.iter().enumerate() {
            if is_acronym(w) {
                out.insert((w.to_string(), "acronym"));
            } else if (w.len() >= 14 && !w.ends_with('e')) || (w.contains('-') && w.len() >= 8) {
                // A long word ending in -e is mostly an adjective (internationale,
                // technologische), not a term.
                out.insert((w.to_lowercase(), "compound"));
            }
            // A name: capitalised words in a row, not counting the sentence's first word.
            if i > 0 && capitalised(w) {
                run.push(w);
            } else {
                if run.len() >= 2 {
                    out.insert((run.join(" "), "name"));
                }
                run.clear();
            }
        }
        if run.len() >= 2 {
            out.insert((run.join(" "), "name"));
        }
    }
    out
}

/// The lower-case word n-grams (1 to 4 words) of an English text.
fn ngrams(en: &str) -> BTreeSet<String> {
    let ws: Vec<String> = words(en).iter().map(|w| w.to_lowercase()).collect();
    let mut out = BTreeSet::new();
    for n in 1..=4 {
        for w in ws.windows(n) {
            // A rendering does not start or end on a function word.
            let stop = |s: &str| {
                matches!(
                    s,
                    "the"
                        | "a"
                        | "an"
                        | "of"
                        | "and"
                        | "to"
                        | "in"
                        | "on"
                        | "for"
                        | "is"
                        | "that"
                        | "with"
                        | "by"
                        | "as"
                        | "be"
                        | "are"
                        | "this"
                        | "it"
                        | "or"
                        | "at"
                        | "we"
                )
            };
            if stop(&w[0]) || stop(&w[n - 1]) {
                continue;
            }
            out.insert(w.join(" "));
        }
    }
    out
}

/// Where a term occurs: a letter's index and the index of its segment.
type At = (usize, usize);

/// The English `inside` (the n-grams of the term's segments, with how many segments have
/// each) most likely renders Dutch term `nl` by, and in how many segments: the term itself when
/// its segments' English keeps it (names, acronyms), else the n-gram of a plausible length
/// (a name of k words: k to k + 2 words; a compound: 1 to 3; an acronym: 1 to 4, its
/// expansion) that most of them share, rarest elsewhere, longest on a tie. At least two of
/// its segments must share it, and it may not be more frequent elsewhere than with the term;
/// else there is no suggestion and a person fills it in.
fn rendering(
    nl: &str,
    kind: &str,
    inside: &BTreeMap<&String, usize>,
    total: &BTreeMap<&String, usize>,
) -> Option<(String, usize)> {
    let need = 2.min(inside.values().copied().max().unwrap_or(0)).max(1);
    let itself = nl.to_lowercase();
    if let Some(&n) = inside.get(&itself)
        && n >= need
    {
        return Some((itself, n));
    }
    let k = nl.split(' ').count();
    let (lo, hi) = match kind {
        "name" => (k, k + 2),
        "compound" => (1, 3),
        _ => (1, 4),
    };
    inside
        .iter()
        .filter(|(g, n)| {
            let len = g.split(' ').count();
            **n >= need.max(2) && (lo..=hi).contains(&len) && !g.chars().any(|c| c.is_ascii_digit())
        })
        .map(|(g, &n)| {
            let outside = total.get(g).copied().unwrap_or(0).saturating_sub(n);
            (g, n, outside, g.split(' ').count())
        })
        // Specific to the term: not more often elsewhere than with it ("were", "important").
        .filter(|&(_, n, outside, _)| outside <= n)
        .max_by(|a, b| {
            a.1.cmp(&b.1)
                .then(b.2.cmp(&a.2))
                .then(a.3.cmp(&b.3))
                .then(b.0.cmp(a.0))
        })
        .map(|(g, n, _, _)| ((*g).clone(), n))
}

/// Suggestions from `letters` (each letter's segments with English), the terms recurring in at
/// least `min` segments and not in `glossary`, most frequent first.
pub fn suggest(
    letters: &[(String, Vec<SegmentOut>)],
    glossary: &[Term],
    min: usize,
) -> Vec<Suggestion> {
    let known: BTreeSet<String> = glossary.iter().map(|t| t.nl.to_lowercase()).collect();
    let mut found: BTreeMap<String, (&'static str, Vec<At>)> = BTreeMap::new();
    let mut grams: Vec<Vec<BTreeSet<String>>> = Vec::new();
    for (li, (_, segs)) in letters.iter().enumerate() {
        grams.push(
            segs.iter()
                .map(|s| s.en.as_deref().map(ngrams).unwrap_or_default())
                .collect(),
        );
        for (si, s) in segs.iter().enumerate() {
            for (term, kind) in candidates(&s.nl) {
                if known.contains(&term.to_lowercase()) {
                    continue;
                }
                found
                    .entry(term)
                    .or_insert((kind, Vec::new()))
                    .1
                    .push((li, si));
            }
        }
    }
    let total: BTreeMap<&String, usize> = {
        let mut t = BTreeMap::new();
        for g in grams.iter().flatten().flatten() {
            *t.entry(g).or_insert(0) += 1;
        }
        t
    };
    let mut out = Vec::new();
    for (nl, (kind, at)) in found {
        if at.len() < min {
            continue;
        }
        let mut inside: BTreeMap<&String, usize> = BTreeMap::new();
        for &(l, s) in &at {
            for g in &grams[l][s] {
                *inside.entry(g).or_insert(0) += 1;
            }
        }
        let best = rendering(&nl, kind, &inside, &total);
        let wavered: Vec<String> = match &best {
            Some((g, _)) => at
                .iter()
                .filter(|&&(l, s)| !grams[l][s].contains(g))
                .map(|&(l, s)| format!("{} {}", letters[l].0, letters[l].1[s].id))
                .collect(),
            None => Vec::new(),
        };
        let letters_n = at.iter().map(|(l, _)| l).collect::<BTreeSet<_>>().len();
        out.push(Suggestion {
            nl: nl.clone(),
            kind,
            segments: at.len(),
            letters: letters_n,
            used: best.as_ref().map_or(0, |b| b.1),
            // A name or acronym kept as it is keeps its Dutch spelling.
            en: best.map(|(g, _)| {
                if g == nl.to_lowercase() {
                    nl.clone()
                } else {
                    g
                }
            }),
            wavered,
        });
    }
    out.sort_by(|a, b| b.segments.cmp(&a.segments).then(a.nl.cmp(&b.nl)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Kind;

    fn seg(id: &str, nl: &str, en: &str) -> SegmentOut {
        SegmentOut {
            id: id.into(),
            kind: Kind::Body,
            lines: [1, 1],
            spans: None,
            pages: Default::default(),
            nl: nl.into(),
            en: Some(en.into()),
            draft: None,
            refined_by: Vec::new(),
            checks: Vec::new(),
            kept: None,
        }
    }

    #[test]
    fn a_recurring_name_gets_the_english_its_segments_share_and_a_wavering_one_is_shown() {
        let letters = vec![(
            "d".to_string(),
            vec![
                seg(
                    "p1",
                    "Wij zijn het Meldpunt Kinderporno van Offlimits.",
                    "We are the Child Pornography Reporting Point of Offlimits.",
                ),
                seg(
                    "p2",
                    "Het Meldpunt Kinderporno ontvangt meldingen.",
                    "The Child Pornography Reporting Point receives reports.",
                ),
                seg(
                    "p3",
                    "Daarom vraagt het Meldpunt Kinderporno aandacht.",
                    "That is why the Child Abuse Hotline asks for attention.",
                ),
                seg(
                    "p4",
                    "De CSAM-verordening en CSAM.",
                    "The CSAM regulation and CSAM.",
                ),
                seg(
                    "p5",
                    "Over CSAM en de Europese Commissie.",
                    "About CSAM and the European Commission.",
                ),
                seg("p6", "Zonder de Tweede Kamer.", "Without the House."),
            ],
        )];
        let glossary = [Term {
            nl: "Tweede Kamer".into(),
            en: "House of Representatives".into(),
        }];
        let s = suggest(&letters, &glossary, 2);
        let meldpunt = s.iter().find(|x| x.nl == "Meldpunt Kinderporno").unwrap();
        assert_eq!(meldpunt.kind, "name");
        assert_eq!(meldpunt.segments, 3);
        assert_eq!(
            meldpunt.en.as_deref(),
            Some("child pornography reporting point")
        );
        assert_eq!(meldpunt.used, 2);
        assert_eq!(meldpunt.wavered, ["d p3"], "{meldpunt:?}");
        let csam = s.iter().find(|x| x.nl == "CSAM").unwrap();
        assert_eq!((csam.kind, csam.segments), ("acronym", 2));
        assert_eq!(csam.en.as_deref(), Some("CSAM"), "kept as it is");
        assert!(
            s.iter().all(|x| x.nl != "Tweede Kamer"),
            "known terms are left out"
        );
        assert!(
            s.iter().all(|x| x.nl != "Daarom"),
            "a sentence's first word is no name"
        );
    }
}
