//! Provenance across segments: an English that renders or copies another segment's Dutch
//! (misaligned: the lines shown beside it are wrong), and the same English for different Dutch.
//!
//! A copy is plain: the English is (nearly) another segment's Dutch. A translation of another
//! segment is told by its anchors, the things translation keeps (numbers, acronyms, names with
//! inner capitals): the English carries another nearby segment's anchors far better than its
//! own, and reads closer to that segment too. Paragraphs without anchors cannot be told apart
//! this way; measured on the reference translation shifted by one paragraph, 59 of the 64
//! shifts with two anchors or more are found, and none of the reference's own segments.

use super::text::flat;
use regex::Regex;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

static ANCHOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\d+|\b[A-Z]{2,}[A-Z0-9]*\b|\b[A-Za-z]*[a-z][A-Z][A-Za-z]*\b")
        .expect("a valid regex")
});

/// How far to look for the segment an English really belongs to.
pub const REACH: usize = 3;

fn anchors(text: &str) -> HashSet<String> {
    ANCHOR
        .find_iter(&super::text::without_links(text))
        .map(|m| m.as_str().to_string())
        .collect()
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        0.0
    } else {
        a.intersection(b).count() as f64 / union as f64
    }
}

fn recall(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    if a.is_empty() {
        0.0
    } else {
        a.intersection(b).count() as f64 / a.len() as f64
    }
}

/// Character trigrams of the words of a text.
fn trigrams(text: &str) -> HashMap<[char; 3], f64> {
    let mut m = HashMap::new();
    let mut w: Vec<char> = Vec::new();
    for word in flat(text).split(' ') {
        w.clear();
        w.push(' ');
        w.extend(word.chars());
        w.push(' ');
        for g in w.windows(3) {
            *m.entry([g[0], g[1], g[2]]).or_insert(0.0) += 1.0;
        }
    }
    m
}

fn cosine(a: &HashMap<[char; 3], f64>, b: &HashMap<[char; 3], f64>) -> f64 {
    let dot: f64 = a.iter().map(|(k, v)| v * b.get(k).unwrap_or(&0.0)).sum();
    let na: f64 = a.values().map(|v| v * v).sum::<f64>().sqrt();
    let nb: f64 = b.values().map(|v| v * v).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// The segments of a letter, measured once for [`Aligner::misaligned`].
pub struct Aligner<'a> {
    nl: &'a [&'a str],
    en: &'a [Option<&'a str>],
    nl_grams: Vec<HashMap<[char; 3], f64>>,
    nl_anchors: Vec<HashSet<String>>,
}

impl<'a> Aligner<'a> {
    pub fn new(nl: &'a [&'a str], en: &'a [Option<&'a str>]) -> Aligner<'a> {
        Aligner {
            nl,
            en,
            nl_grams: nl.iter().map(|t| trigrams(t)).collect(),
            nl_anchors: nl.iter().map(|t| anchors(t)).collect(),
        }
    }

    /// The index of the segment whose Dutch `en[i]` renders or copies instead of `nl[i]`, and
    /// whether it is a copy. Short segments (fewer than six Dutch words) are not judged.
    pub fn misaligned(&self, i: usize) -> Option<(usize, bool)> {
        let e = self.en[i]?;
        let long = |k: usize| self.nl[k].split_whitespace().count() >= 6;
        if !long(i) || e.split_whitespace().count() < 4 {
            return None;
        }
        let lo = i.saturating_sub(REACH);
        let hi = (i + REACH + 1).min(self.nl.len());
        let te = trigrams(e);
        let own_sim = cosine(&te, &self.nl_grams[i]);
        let near = || (lo..hi).filter(move |&j| j != i && long(j));
        // A copy of another segment's Dutch.
        if let Some(j) = near().find(|&j| cosine(&te, &self.nl_grams[j]) >= 0.85 && own_sim < 0.6) {
            return Some((j, true));
        }
        // A translation of another segment: its anchors, and a closer reading.
        let a = anchors(e);
        if a.len() < 2 {
            return None;
        }
        let own = jaccard(&a, &self.nl_anchors[i]);
        near()
            .find(|&j| {
                let other = &self.nl_anchors[j];
                jaccard(&a, other) >= own + 0.3
                    && recall(&a, other) >= 0.6
                    && cosine(&te, &self.nl_grams[j]) > own_sim
            })
            .map(|j| (j, false))
    }
}

/// Groups of segments (indices) with the same English but different Dutch.
pub fn duplicates(nl: &[&str], en: &[Option<&str>]) -> Vec<Vec<usize>> {
    let mut by_en: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, e) in en.iter().enumerate() {
        let Some(e) = e else { continue };
        let f = flat(e);
        if f.split(' ').count() >= 4 {
            by_en.entry(f).or_default().push(i);
        }
    }
    let mut out: Vec<Vec<usize>> = by_en
        .into_values()
        .filter(|g| g.len() > 1 && g.iter().map(|&k| flat(nl[k])).collect::<HashSet<_>>().len() > 1)
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NL: [&str; 3] = [
        "In 2019 uitte het NCMEC voor het eerst zorgen over encryptie bij de aanpak van misbruik.",
        "Het rapport over 2022 noemt twintig miljoen meldingen over Facebook en 2 miljoen over Google via WhatsApp.",
        "De Commissie heeft geen opmerkingen over de vraag hoe Nederland de verordening uitvoert.",
    ];

    #[test]
    fn a_shifted_translation_and_a_copied_paragraph_are_misaligned() {
        let good = [
            Some(
                "In 2019 the NCMEC expressed concerns about encryption in tackling abuse for the first time.",
            ),
            Some(
                "The report for 2022 lists twenty million reports about Facebook and 2 million about Google via WhatsApp.",
            ),
            Some(
                "The Commission has no comments on how the Netherlands implements the regulation.",
            ),
        ];
        for i in 0..3 {
            assert_eq!(Aligner::new(&NL, &good).misaligned(i), None, "{i}");
        }
        let shifted = [good[1], good[1], good[2]];
        assert_eq!(Aligner::new(&NL, &shifted).misaligned(0), Some((1, false)));
        let copied = [Some(NL[1]), good[1], good[2]];
        assert_eq!(Aligner::new(&NL, &copied).misaligned(0), Some((1, true)));
        assert_eq!(duplicates(&NL, &shifted), vec![vec![0, 1]]);
        assert!(duplicates(&NL, &good).is_empty());
    }
}
