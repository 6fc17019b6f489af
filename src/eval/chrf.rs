//! chrF++ as sacrebleu 2.x computes it (`sacrebleu.metrics.CHRF(word_order=2)`, its defaults
//! otherwise): character n-grams of orders 1 to 6 with whitespace removed, word n-grams of
//! orders 1 and 2 after splitting a leading or trailing punctuation mark off each word, n-gram
//! statistics summed over the segments of a corpus, precision and recall averaged over the
//! orders that have n-grams on both sides ("effective order"), then F with beta = 2, times 100.
//! The test below checks the figures against values computed once with sacrebleu 2.4.3.

use std::collections::HashMap;

const CHAR_ORDER: usize = 6;
const WORD_ORDER: usize = 2;
const ORDERS: usize = CHAR_ORDER + WORD_ORDER;
const BETA: f64 = 2.0;
/// sacrebleu's punctuation set for chrF++'s word tokenisation.
const PUNCTS: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// The n-gram statistics of one or more segments: for each of the eight orders, the n-grams of
/// the hypothesis, of the reference, and those they share (clipped counts).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    pub orders: [[u64; 3]; ORDERS],
}

impl Stats {
    /// Add another segment's statistics (a corpus score sums them).
    pub fn add(&mut self, other: &Stats) {
        for (a, b) in self.orders.iter_mut().zip(&other.orders) {
            for k in 0..3 {
                a[k] += b[k];
            }
        }
    }

    /// The chrF++ score, 0 to 100.
    pub fn score(&self) -> f64 {
        let factor = BETA * BETA;
        let (mut prec, mut rec, mut effective) = (0.0, 0.0, 0usize);
        for [hyp, reference, matched] in self.orders {
            if hyp > 0 && reference > 0 {
                prec += matched as f64 / hyp as f64;
                rec += matched as f64 / reference as f64;
                effective += 1;
            }
        }
        if effective == 0 {
            return 0.0;
        }
        prec /= effective as f64;
        rec /= effective as f64;
        if prec + rec == 0.0 {
            return 0.0;
        }
        100.0 * (1.0 + factor) * prec * rec / (factor * prec + rec)
    }
}

fn count<T: std::hash::Hash + Eq>(items: impl Iterator<Item = T>) -> HashMap<T, u64> {
    let mut m = HashMap::new();
    for i in items {
        *m.entry(i).or_insert(0) += 1;
    }
    m
}

fn match_stats<T: std::hash::Hash + Eq>(
    hyp: &HashMap<T, u64>,
    reference: &HashMap<T, u64>,
) -> [u64; 3] {
    let matched = hyp
        .iter()
        .map(|(g, &n)| n.min(reference.get(g).copied().unwrap_or(0)))
        .sum();
    [hyp.values().sum(), reference.values().sum(), matched]
}

fn char_ngrams(chars: &[char], n: usize) -> HashMap<&[char], u64> {
    count(chars.windows(n))
}

/// sacrebleu's `_remove_punctuation`: a word of two or more characters loses a trailing
/// punctuation mark (or, failing that, a leading one) to a token of its own.
fn words(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for w in s.split_whitespace() {
        let mut cs = w.char_indices();
        let first = cs.next();
        if w.chars().nth(1).is_none() {
            out.push(w);
            continue;
        }
        let (last_at, last) = w.char_indices().last().expect("a word has characters");
        if PUNCTS.contains(last) {
            out.push(&w[..last_at]);
            out.push(&w[last_at..]);
        } else if let Some((_, c)) = first
            && PUNCTS.contains(c)
        {
            let at = c.len_utf8();
            out.push(&w[..at]);
            out.push(&w[at..]);
        } else {
            out.push(w);
        }
    }
    out
}

fn word_ngrams(words: &[&str], n: usize) -> HashMap<String, u64> {
    count(words.windows(n).map(|w| w.join(" ")))
}

/// The statistics of one hypothesis against one reference.
pub fn segment(hypothesis: &str, reference: &str) -> Stats {
    let h: Vec<char> = hypothesis.chars().filter(|c| !c.is_whitespace()).collect();
    let r: Vec<char> = reference.chars().filter(|c| !c.is_whitespace()).collect();
    let mut stats = Stats::default();
    for n in 1..=CHAR_ORDER {
        stats.orders[n - 1] = match_stats(&char_ngrams(&h, n), &char_ngrams(&r, n));
    }
    let (hw, rw) = (words(hypothesis), words(reference));
    for n in 1..=WORD_ORDER {
        stats.orders[CHAR_ORDER + n - 1] = match_stats(&word_ngrams(&hw, n), &word_ngrams(&rw, n));
    }
    stats
}

/// The corpus chrF++ of aligned hypotheses and references.
pub fn corpus<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> f64 {
    let mut total = Stats::default();
    for (h, r) in pairs {
        total.add(&segment(h, r));
    }
    total.score()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values computed once with sacrebleu 2.4.3:
    /// `sacrebleu.metrics.CHRF(word_order=2).sentence_score(h, [r]).score` and, for the corpus,
    /// `.corpus_score(hyps, [refs]).score`.
    #[test]
    fn matches_sacrebleu() {
        let cases: &[(&str, &str, f64)] = &[
            ("The cat sat on the mat.", "The cat sat on the mat.", 100.0),
            ("The cat is on the mat.", "The cat sat on the mat.", SB_1),
            (
                "Detection orders are a disproportionate infringement of privacy.",
                "A detection order is a disproportionate invasion of privacy.",
                SB_2,
            ),
            (
                "De Commissie is niet overtuigd.",
                "The Commission is not convinced.",
                SB_3,
            ),
            ("", "The Commission is not convinced.", 0.0),
            (
                "\"Quoted,\" he said (twice).",
                "He said: \"quoted\" (twice)",
                SB_4,
            ),
            (
                "één op de drie — Zoë's café",
                "one in three — Zoë's café",
                SB_5,
            ),
        ];
        for (h, r, want) in cases {
            let got = segment(h, r).score();
            assert!((got - want).abs() < 1e-9, "{h:?} vs {r:?}: {got} != {want}");
        }
        let hyps: Vec<&str> = cases.iter().map(|c| c.0).collect();
        let refs: Vec<&str> = cases.iter().map(|c| c.1).collect();
        let got = corpus(hyps.into_iter().zip(refs));
        assert!(
            (got - SB_CORPUS).abs() < 1e-9,
            "corpus {got} != {SB_CORPUS}"
        );
    }

    #[test]
    fn punctuation_splits_as_sacrebleu_does() {
        assert_eq!(
            words("Hello, world. (a) x ."),
            vec!["Hello", ",", "world", ".", "(a", ")", "x", "."]
        );
        assert_eq!(words("\"quoted\""), vec!["\"quoted", "\""]);
        assert_eq!(words("(twice"), vec!["(", "twice"]);
    }

    const SB_1: f64 = 67.49301221379969;
    const SB_2: f64 = 63.16421156100844;
    const SB_3: f64 = 30.02692279774101;
    const SB_4: f64 = 39.55455467096237;
    const SB_5: f64 = 49.61647975182909;
    const SB_CORPUS: f64 = 51.314138109399266;
}
