//! Grounding: a quote the model says is in the source is looked up in the document's normalised
//! text, and its original lines come from the line map, never from the model.
//!
//! Matching folds what is not wording: whitespace, a hyphen at a line break, typographic quote
//! marks and dashes. An exact match (case and letters as written) is `exact`; else the most
//! similar passage of about the same length, when its similarity (similar's character ratio) is
//! at least [`FUZZY_THRESHOLD`], is `fuzzy` with that score; else the quote is `unverified`: kept,
//! flagged, never shown as verified.

use crate::ingest::Document;
use serde::{Deserialize, Serialize};

/// Minimum similarity for a fuzzy match.
pub const FUZZY_THRESHOLD: f64 = 0.85;

/// How a quote was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Match {
    Exact,
    Fuzzy,
    Unverified,
}

/// Where a quote is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Grounding {
    #[serde(rename = "match")]
    pub status: Match,
    /// Original lines, 1-based inclusive; None when unverified.
    pub lines: Option<[u32; 2]>,
    /// 1.0 for exact, the similarity for fuzzy, the best similarity seen for unverified.
    pub score: f64,
    /// Byte range in the normalised text.
    #[serde(skip)]
    pub byte_range: Option<[usize; 2]>,
}

fn fold_char(c: char) -> char {
    match c {
        '’' | '‘' | '`' | '´' | '′' => '\'',
        '“' | '”' | '„' | '«' | '»' | '″' => '"',
        '–' | '—' | '‑' | '−' => '-',
        _ => c,
    }
}

/// Fold `text` for matching: returns the folded string and, for each of its bytes, the byte
/// offset in `text` of the character it came from.
pub fn fold(text: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len());
    let mut map = Vec::with_capacity(text.len());
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (i, &(off, c)) in chars.iter().enumerate() {
        if c.is_whitespace() {
            continue;
        }
        let c = fold_char(c);
        // A hyphen followed by whitespace is a line-break hyphen or an elided compound part:
        // either way not wording ("Belemme- ringen", "preventie- en").
        if c == '-' && chars.get(i + 1).is_some_and(|(_, n)| n.is_whitespace()) {
            continue;
        }
        let before = out.len();
        out.push(c);
        for _ in before..out.len() {
            map.push(off);
        }
    }
    (out, map)
}

/// A document prepared for many look-ups: folded once, split into words once.
pub struct Haystack {
    folded: String,
    map: Vec<usize>,
    words: Vec<(String, usize, usize)>,
}

impl Haystack {
    pub fn new(doc: &Document) -> Haystack {
        let (folded, map) = fold(&doc.text);
        Haystack {
            folded,
            map,
            words: words_of(&doc.text),
        }
    }
}

/// Find `quote` in `doc`.
pub fn locate(doc: &Document, quote: &str) -> Grounding {
    locate_in(doc, &Haystack::new(doc), quote)
}

/// [`locate`] with the document prepared once (many quotes per document).
pub fn locate_in(doc: &Document, hay: &Haystack, quote: &str) -> Grounding {
    let map = &hay.map;
    let (needle, _) = fold(quote);
    let unverified = |score: f64| Grounding {
        status: Match::Unverified,
        lines: None,
        score,
        byte_range: None,
    };
    if needle.chars().count() < 4 {
        return unverified(0.0);
    }
    let to_range = |a: usize, b: usize| -> Option<([usize; 2], [u32; 2])> {
        let start = *map.get(a)?;
        let last = *map.get(b.checked_sub(1)?)?;
        let end = last + doc.text[last..].chars().next().map_or(1, char::len_utf8);
        let lines = doc.line_map.lines_of(start..end)?;
        Some(([start, end], lines))
    };
    if let Some(pos) = hay.folded.find(&needle)
        && let Some((range, lines)) = to_range(pos, pos + needle.len())
    {
        return Grounding {
            status: Match::Exact,
            lines: Some(lines),
            score: 1.0,
            byte_range: Some(range),
        };
    }
    // Fuzzy: slide a window of the quote's length in words over the document, keep the windows
    // that share the most words with the quote, and score those with a character ratio.
    let (best, range) = best_window(&doc.text, &hay.words, quote);
    if best >= FUZZY_THRESHOLD
        && let Some((a, b)) = range
        && let Some(lines) = doc.line_map.lines_of(a..b)
    {
        return Grounding {
            status: Match::Fuzzy,
            lines: Some(lines),
            score: (best * 1000.0).round() / 1000.0,
            byte_range: Some([a, b]),
        };
    }
    unverified((best * 1000.0).round() / 1000.0)
}

/// How a span (a reviewer's words) was found in a short text, one segment's English or Dutch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SpanMatch {
    #[serde(rename = "match")]
    pub status: Match,
    /// 1.0 for exact, the similarity for fuzzy, the best similarity seen for unverified.
    pub score: f64,
    /// Byte range in the text; None when unverified.
    #[serde(skip)]
    pub byte_range: Option<[usize; 2]>,
}

/// Find `span` in `text` as [`locate`] finds a quote in a letter: exact when it is there as
/// written (whitespace, line-break hyphens, quote marks and dashes folded), fuzzy when a passage
/// of about its length is at least [`FUZZY_THRESHOLD`] alike, else unverified. A span of fewer
/// than 2 letters is only ever exact ("a" is in every English sentence, so a fuzzy "a" says
/// nothing).
pub fn locate_span(text: &str, span: &str) -> SpanMatch {
    let (hay, map) = fold(text);
    let (needle, _) = fold(span);
    let unverified = |score: f64| SpanMatch {
        status: Match::Unverified,
        score,
        byte_range: None,
    };
    if needle.is_empty() {
        return unverified(0.0);
    }
    if let Some(pos) = hay.find(&needle) {
        let start = map[pos];
        let last = map[pos + needle.len() - 1];
        let end = last + text[last..].chars().next().map_or(1, char::len_utf8);
        return SpanMatch {
            status: Match::Exact,
            score: 1.0,
            byte_range: Some([start, end]),
        };
    }
    if needle.chars().count() < 2 {
        return unverified(0.0);
    }
    let (best, range) = best_window(text, &words_of(text), span);
    let best = (best * 1000.0).round() / 1000.0;
    match range {
        Some((a, b)) if best >= FUZZY_THRESHOLD => SpanMatch {
            status: Match::Fuzzy,
            score: best,
            byte_range: Some([a, b]),
        },
        _ => unverified(best),
    }
}

/// Words of `text` for fuzzy matching: lower-cased, quote marks and dashes folded, punctuation
/// at the edges dropped; each with its byte range in `text`.
fn words_of(text: &str) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    let push = |out: &mut Vec<(String, usize, usize)>, a: usize, b: usize| {
        let w: String = text[a..b]
            .chars()
            .map(fold_char)
            .flat_map(char::to_lowercase)
            .collect::<String>()
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_string();
        if !w.is_empty() {
            out.push((w, a, b));
        }
    };
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(a)) => {
                push(&mut out, a, i);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(a) = start {
        push(&mut out, a, text.len());
    }
    out
}

fn squeeze(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(fold_char)
        .flat_map(char::to_lowercase)
        .collect()
}

/// The passage of `text` most like `quote`: its similarity and byte range.
fn best_window(
    text: &str,
    dw: &[(String, usize, usize)],
    quote: &str,
) -> (f64, Option<(usize, usize)>) {
    use std::collections::HashMap;
    let qw = words_of(quote);
    let m = qw.len();
    if m == 0 || dw.is_empty() {
        return (0.0, None);
    }
    let m = m.min(dw.len());
    let mut want: HashMap<&str, i32> = HashMap::new();
    for (w, _, _) in &qw {
        *want.entry(w.as_str()).or_default() += 1;
    }
    // have[w] = occurrences of w in the window; overlap = sum of min(have, want).
    let mut have: HashMap<&str, i32> = HashMap::new();
    let mut overlap = 0i32;
    let mut scored: Vec<(i32, usize)> = Vec::new();
    for i in 0..dw.len() {
        let w = dw[i].0.as_str();
        if let Some(&need) = want.get(w) {
            let h = have.entry(w).or_default();
            *h += 1;
            if *h <= need {
                overlap += 1;
            }
        }
        if i >= m {
            let out = dw[i - m].0.as_str();
            if let Some(&need) = want.get(out) {
                let h = have.entry(out).or_default();
                if *h <= need {
                    overlap -= 1;
                }
                *h -= 1;
            }
        }
        if i + 1 >= m {
            scored.push((overlap, i + 1 - m));
        }
    }
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let target = squeeze(quote);
    let mut best = (0.0f64, None);
    for &(_, start) in scored.iter().take(8) {
        for len in [m, m.saturating_sub(1).max(1), m + 1] {
            let end = (start + len).min(dw.len());
            let (a, b) = (dw[start].1, dw[end - 1].2);
            let cand = squeeze(&text[a..b]);
            let ratio =
                similar::TextDiff::from_chars(target.as_str(), cand.as_str()).ratio() as f64;
            if ratio > best.0 {
                best = (ratio, Some((a, b)));
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest;
    use std::path::Path;

    fn doc() -> Document {
        ingest::from_bytes(
            "d",
            Path::new("d.txt"),
            "Geachte minister,\n\nDe rol van encryptie in de opsporing: Belemme-\nringen en mogelijkheden. Het “voorstel” is\nniet evenredig.\n\nTweede alinea met de preventie- en controlemaatregelen.\n".as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn exact_across_a_line_break_and_hyphenation() {
        let d = doc();
        let g = locate(&d, "opsporing: Belemmeringen en mogelijkheden");
        assert_eq!(g.status, Match::Exact);
        assert_eq!(g.lines, Some([3, 4]));
        let g = locate(&d, "Het \"voorstel\" is niet evenredig");
        assert_eq!(g.status, Match::Exact);
        assert_eq!(g.lines, Some([4, 5]));
        let g = locate(&d, "preventie- en controlemaatregelen");
        assert_eq!((g.status, g.lines), (Match::Exact, Some([7, 7])));
    }

    #[test]
    fn spans_are_found_in_a_segment_exactly_fuzzily_or_not_at_all() {
        let en = "The cabinet wants to prevent that “messages” are scanned.";
        let m = locate_span(en, "prevent that \"messages\"");
        assert_eq!(m.status, Match::Exact);
        let [a, b] = m.byte_range.unwrap();
        assert_eq!(&en[a..b], "prevent that “messages”");
        let m = locate_span(en, "wants to prevent that messages are scaned");
        assert_eq!(m.status, Match::Fuzzy, "{m:?}");
        assert!(en[m.byte_range.unwrap()[0]..].starts_with("wants"));
        let m = locate_span(en, "the minister hides the encryption keys");
        assert_eq!((m.status, m.byte_range), (Match::Unverified, None));
        assert_eq!(locate_span(en, "").status, Match::Unverified);
    }

    #[test]
    fn fuzzy_and_unverified() {
        let d = doc();
        let g = locate(&d, "de rol van encryptie bij de opsporing");
        assert_eq!(g.status, Match::Fuzzy, "{g:?}");
        assert_eq!(g.lines, Some([3, 3]));
        assert!(g.score >= FUZZY_THRESHOLD && g.score < 1.0);
        let g = locate(
            &d,
            "Wij steunen de verordening volledig en zonder voorbehoud",
        );
        assert_eq!(g.status, Match::Unverified);
        assert_eq!(g.lines, None);
    }
}
