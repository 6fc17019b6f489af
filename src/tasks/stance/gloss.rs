//! The English of a stance quote, taken from the letter's translation.
//!
//! On the embedded model a quote is one of the letter's own sentences (an enum under the
//! grammar), and the run translates the same letter paragraph by paragraph. So the stance calls
//! ask for the Dutch quote alone ([`crate::tasks::TaskContext::gloss_from_translation`]), and when the
//! outputs are written its English is the sentence of the translation that stands where the
//! quote stands in its paragraph. A reader sees the same English under the quote as in the
//! translation, a full sentence rather than a gloss cut at its length bound, and the long stance
//! calls no longer generate some 40 tokens a quote at the slow speed of a letter-long context.
//!
//! Alignment is by position: both sides are split into sentences by one rule
//! ([`super::sentence_ranges`]). When the paragraph has as many sentences in English as
//! in Dutch, the quote's sentences give the English ones ([`EnFrom::Translation`]); otherwise
//! the English sentences at the same relative place are taken ([`EnFrom::TranslationApprox`]),
//! and the output says so.

use super::out::{EnFrom, Evidence, StanceOut};
use super::sentences::sentence_ranges;
use crate::tasks::translate::TranslationOut;

/// Give every quote of `stance` that was asked without its English the English of `translation`.
/// Quotes whose paragraph has no English (its call failed) stay [`EnFrom::Missing`].
pub fn fill(stance: &mut StanceOut, translation: &TranslationOut) {
    let evidence = stance
        .overall
        .evidence
        .iter_mut()
        .chain(stance.topics.iter_mut().flat_map(|t| t.evidence.iter_mut()));
    fill_quotes(evidence, translation);
}

/// [`fill`] for any quotes (an answer's to a question of the user's, say).
pub fn fill_quotes<'e>(
    evidence: impl Iterator<Item = &'e mut Evidence>,
    translation: &TranslationOut,
) {
    let paragraphs = paragraphs(translation);
    for e in evidence {
        fill_one(e, &paragraphs);
    }
}

/// Give every quote the English of `translation` where the translation has it, in place of
/// the model's gloss (one written under a length bound, by a small model). Returns how many
/// took it.
pub fn replace_quotes<'e>(
    evidence: impl Iterator<Item = &'e mut Evidence>,
    translation: &TranslationOut,
) -> usize {
    let paragraphs = paragraphs(translation);
    let mut n = 0;
    for e in evidence {
        if let Some((en, from)) = english_of(&e.quote_nl, &paragraphs) {
            e.quote_en = en;
            e.en_from = from;
            n += 1;
        }
    }
    n
}

fn fill_one(e: &mut Evidence, paragraphs: &[Paragraph]) {
    if e.en_from != EnFrom::Missing {
        return;
    }
    if let Some((en, from)) = english_of(&e.quote_nl, paragraphs) {
        e.quote_en = en;
        e.en_from = from;
    }
}

/// A paragraph of the translation: its segments' Dutch and English, joined, on one line.
#[derive(Debug)]
struct Paragraph {
    nl: String,
    en: Option<String>,
}

/// The translation by paragraph: a paragraph cut into segments (`p12.1`, `p12.2`) is one again,
/// so that a quote that runs across the cut is found.
fn paragraphs(t: &TranslationOut) -> Vec<Paragraph> {
    let mut out: Vec<(String, Paragraph)> = Vec::new();
    for s in &t.segments {
        let id = s.id.split('.').next().unwrap_or(&s.id).to_string();
        let nl = one_line(&s.nl);
        let en = s.en.as_deref().map(one_line);
        match out.last_mut() {
            Some((last, p)) if *last == id => {
                p.nl = format!("{} {nl}", p.nl);
                p.en = match (p.en.take(), en) {
                    (Some(a), Some(b)) => Some(format!("{a} {b}")),
                    _ => None,
                };
            }
            _ => out.push((id, Paragraph { nl, en })),
        }
    }
    out.into_iter().map(|(_, p)| p).collect()
}

/// Runs of white space as one space, as the quotes are written.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The English of `quote` (whole sentences of one paragraph), and how it was aligned; None when
/// no paragraph with English holds it.
fn english_of(quote: &str, paragraphs: &[Paragraph]) -> Option<(String, EnFrom)> {
    let quote = one_line(quote);
    if quote.is_empty() {
        return None;
    }
    paragraphs.iter().find_map(|p| {
        let at = p.nl.find(&quote)?;
        let en = p.en.as_deref().filter(|en| !en.is_empty())?;
        Some(align(&p.nl, at..at + quote.len(), en))
    })
}

/// The English sentences of `en` that stand where `quote` (a byte range of `nl`) stands.
fn align(nl: &str, quote: std::ops::Range<usize>, en: &str) -> (String, EnFrom) {
    let nl_sentences = sentence_ranges(nl);
    let en_sentences = sentence_ranges(en);
    // The Dutch sentences the quote touches.
    let touched: Vec<usize> = nl_sentences
        .iter()
        .enumerate()
        .filter(|(_, r)| r.start < quote.end && quote.start < r.end)
        .map(|(i, _)| i)
        .collect();
    if let (Some(&first), Some(&last)) = (touched.first(), touched.last())
        && nl_sentences.len() == en_sentences.len()
    {
        let text = en[en_sentences[first].start..en_sentences[last].end].to_string();
        return (text, EnFrom::Translation);
    }
    // Another number of sentences: those whose middle falls in the same share of the paragraph
    // as the quote, or else the one at the quote's middle.
    let share =
        |r: &std::ops::Range<usize>, len: usize| (r.start + r.end) as f64 / 2.0 / len as f64;
    let from = quote.start as f64 / nl.len() as f64;
    let to = quote.end as f64 / nl.len() as f64;
    let mut inside = en_sentences
        .iter()
        .filter(|r| (from..=to).contains(&share(r, en.len())));
    let picked = match (inside.next(), inside.next_back()) {
        (Some(a), Some(b)) => a.start..b.end,
        (Some(a), None) => a.clone(),
        _ => {
            let middle = (from + to) / 2.0 * en.len() as f64;
            en_sentences
                .iter()
                .find(|r| (r.end as f64) >= middle)
                .or(en_sentences.last())
                .cloned()
                .unwrap_or(0..en.len())
        }
    };
    (en[picked].to_string(), EnFrom::TranslationApprox)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn para(nl: &str, en: Option<&str>) -> Paragraph {
        Paragraph {
            nl: nl.into(),
            en: en.map(Into::into),
        }
    }

    const NL: &str = "Wij steunen het doel van de verordening. Maar het scannen van berichten \
                      gaat te ver. Versleuteling moet blijven.";
    const EN: &str = "We support the aim of the regulation. But scanning messages goes too far. \
                      Encryption must remain.";

    #[test]
    fn a_quote_takes_the_sentence_at_its_place_when_both_sides_have_as_many() {
        let ps = [
            para(
                "Inleiding van de brief hier.",
                Some("Introduction of the letter here."),
            ),
            para(NL, Some(EN)),
        ];
        assert_eq!(
            english_of("Maar het scannen van berichten gaat te ver.", &ps),
            Some((
                "But scanning messages goes too far.".into(),
                EnFrom::Translation
            ))
        );
        // A quote of two sentences, written across a line break in the letter.
        assert_eq!(
            english_of(
                "Maar het scannen van\nberichten gaat te ver. Versleuteling moet blijven.",
                &ps
            ),
            Some((
                "But scanning messages goes too far. Encryption must remain.".into(),
                EnFrom::Translation
            ))
        );
    }

    #[test]
    fn another_number_of_sentences_gives_those_at_the_same_place_and_says_so() {
        // The translation joined the first two sentences.
        let en = "We support the aim of the regulation, but scanning messages goes too far. \
                  Encryption must remain.";
        let ps = [para(NL, Some(en))];
        assert_eq!(
            english_of("Versleuteling moet blijven.", &ps),
            Some(("Encryption must remain.".into(), EnFrom::TranslationApprox))
        );
        assert_eq!(
            english_of("Wij steunen het doel van de verordening.", &ps).map(|x| x.0),
            Some(
                "We support the aim of the regulation, but scanning messages goes too far.".into()
            )
        );
    }

    #[test]
    fn a_paragraph_cut_into_segments_is_one_again_so_a_quote_across_the_cut_is_found() {
        let segment = |id: &str, nl: &str, en: Option<&str>| crate::tasks::translate::SegmentOut {
            id: id.into(),
            kind: crate::ingest::Kind::Body,
            lines: [1, 1],
            spans: None,
            pages: Default::default(),
            nl: nl.into(),
            en: en.map(Into::into),
            draft: None,
            refined_by: Vec::new(),
            checks: Vec::new(),
            kept: None,
        };
        let t = TranslationOut {
            doc_id: "d".into(),
            source: crate::tasks::Source {
                path: "d.txt".into(),
                sha256: String::new(),
            },
            model: "m".into(),
            segments: vec![
                segment("p1", "Geachte minister,", Some("Dear Minister,")),
                segment(
                    "p2.1",
                    "Wij steunen het doel van de verordening. Maar het scannen",
                    Some("We support the aim of the regulation. But scanning"),
                ),
                segment(
                    "p2.2",
                    "van berichten gaat te ver. Versleuteling moet blijven.",
                    Some("messages goes too far. Encryption must remain."),
                ),
                segment("p3", "Hoogachtend, de ondertekenaars van deze brief.", None),
            ],
            terminology: Vec::new(),
        };
        let ps = paragraphs(&t);
        assert_eq!(ps.len(), 3);
        assert_eq!(
            english_of("Maar het scannen van berichten gaat te ver.", &ps),
            Some((
                "But scanning messages goes too far.".into(),
                EnFrom::Translation
            ))
        );
        assert_eq!(
            english_of("Hoogachtend, de ondertekenaars van deze brief.", &ps),
            None
        );
    }

    #[test]
    fn a_quote_without_english_for_its_paragraph_stays_missing() {
        let ps = [para(NL, None)];
        assert_eq!(english_of("Versleuteling moet blijven.", &ps), None);
        assert_eq!(english_of("Niet in de brief.", &[para(NL, Some(EN))]), None);
        let mut e = Evidence {
            quote_nl: "Versleuteling moet blijven.".into(),
            quote_en: String::new(),
            lines: Some([3, 3]),
            pages: Default::default(),
            status: crate::ground::Match::Exact,
            score: 1.0,
            en_from: EnFrom::Missing,
        };
        fill_one(&mut e, &ps);
        assert_eq!((e.quote_en.as_str(), e.en_from), ("", EnFrom::Missing));
        // The model's own gloss is kept as it is.
        e.en_from = EnFrom::Model;
        e.quote_en = "Encryption stays.".into();
        fill_one(&mut e, &[para(NL, Some(EN))]);
        assert_eq!(
            (e.quote_en.as_str(), e.en_from),
            ("Encryption stays.", EnFrom::Model)
        );
        e.en_from = EnFrom::Missing;
        fill_one(&mut e, &[para(NL, Some(EN))]);
        assert_eq!(
            (e.quote_en.as_str(), e.en_from),
            ("Encryption must remain.", EnFrom::Translation)
        );
    }
}
