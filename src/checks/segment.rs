//! The checks of one segment's English against its Dutch, each a step of its own: whether
//! there is English at all, then Dutch left in, numbers, codes, names, glossary terms,
//! negation, length and repetition.

use super::text::{Lang, flat, function_words, kept_quotes, language};
use super::{
    Check, Finding, Severity, codes, finding, glossary, names, numbers, preview, shape, tail,
};
use crate::prompt::Term;

/// English shorter than this share of the Dutch (in characters) has lost part of it.
const SHORT_RATIO: f64 = 0.6;
/// ... and longer than this has added something.
const LONG_RATIO: f64 = 2.0;

/// The findings about one segment's English on its own: first whether there is English at all
/// (empty, the Dutch unchanged, mostly Dutch: nothing else is worth saying then), then each
/// check in turn.
pub(super) fn segment(
    id: &str,
    lines: [u32; 2],
    nl: &str,
    en: &str,
    held: &[&glossary::Compiled],
    terms: &[Term],
) -> Vec<Finding> {
    let s = Seg { id, lines, nl, en };
    let function_words = s.function_words();
    if let Some(stop) = s.not_english(function_words) {
        return vec![stop];
    }
    let mut out = Vec::new();
    out.extend(s.dutch_left_in(function_words));
    out.extend(s.numbers());
    out.extend(s.codes());
    out.extend(s.names(terms));
    out.extend(s.glossary(held));
    out.extend(s.negation());
    out.extend(s.length());
    out.extend(s.repetition());
    out
}

/// One segment as the checks see it.
struct Seg<'a> {
    id: &'a str,
    lines: [u32; 2],
    nl: &'a str,
    en: &'a str,
}

impl Seg<'_> {
    fn finding(
        &self,
        check: Check,
        severity: Severity,
        message: String,
        evidence: String,
    ) -> Finding {
        finding(
            check,
            severity,
            self.id,
            Some(self.lines),
            message,
            evidence,
        )
    }

    /// The English is empty, the Dutch unchanged, or mostly Dutch.
    /// `(nl_fw, en_fw)`: the Dutch and English function words of the English.
    fn not_english(&self, (nl_fw, en_fw): (usize, usize)) -> Option<Finding> {
        let (nl, en) = (self.nl, self.en);
        if en.trim().is_empty() {
            return Some(self.finding(
                Check::Empty,
                Severity::Major,
                "the English is empty".into(),
                String::new(),
            ));
        }
        if flat(en) == flat(nl) && language(nl) == Lang::Dutch {
            return Some(self.finding(
                Check::Identical,
                Severity::Major,
                "the English is the Dutch, unchanged".into(),
                preview(en),
            ));
        }
        (nl_fw >= 3 && nl_fw > en_fw).then(|| {
            self.finding(
                Check::Untranslated,
                Severity::Major,
                format!(
                    "the English is mostly Dutch ({nl_fw} Dutch function words, {en_fw} English)"
                ),
                preview(en),
            )
        })
    }

    /// Dutch and English function words in the English, quotes of the Dutch left out.
    fn function_words(&self) -> (usize, usize) {
        let mut rest = self.en.to_string();
        for q in kept_quotes(self.en, self.nl) {
            rest = rest.replace(&q, " ");
        }
        function_words(&rest)
    }

    fn dutch_left_in(&self, (nl_fw, en_fw): (usize, usize)) -> Option<Finding> {
        (nl_fw >= 2 && nl_fw * 3 >= en_fw).then(|| {
            self.finding(
                Check::Untranslated,
                Severity::Minor,
                format!(
                    "Dutch words left in the English ({nl_fw} Dutch function words, {en_fw} English)"
                ),
                preview(self.en),
            )
        })
    }

    fn numbers(&self) -> Vec<Finding> {
        let n = numbers::compare(self.nl, self.en);
        let mut out = Vec::new();
        if !n.missing.is_empty() {
            out.push(self.finding(
                Check::Numbers,
                Severity::Major,
                format!("not in the English: {}", n.missing.join(", ")),
                n.missing.join(", "),
            ));
        }
        if !n.months.is_empty() {
            out.push(self.finding(
                Check::Numbers,
                Severity::Major,
                format!(
                    "the date's month is not in the English: {}",
                    n.months.join(", ")
                ),
                n.months.join(", "),
            ));
        }
        if !n.added.is_empty() {
            out.push(self.finding(
                Check::Numbers,
                Severity::Minor,
                format!("numbers the Dutch does not have: {}", n.added.join(", ")),
                n.added.join(", "),
            ));
        }
        out
    }

    fn codes(&self) -> Vec<Finding> {
        let lost = codes::compare(self.nl, self.en);
        let (markers, links): (Vec<_>, Vec<_>) = lost.into_iter().partition(|c| c.marker);
        let mut out = Vec::new();
        if !links.is_empty() {
            let list: Vec<String> = links.into_iter().map(|c| c.code).collect();
            out.push(self.finding(
                Check::Codes,
                Severity::Major,
                format!("not kept verbatim: {}", list.join(", ")),
                list.join(", "),
            ));
        }
        if !markers.is_empty() {
            let list: Vec<String> = markers.into_iter().map(|c| c.code).collect();
            out.push(self.finding(
                Check::Codes,
                Severity::Minor,
                format!("footnote marker not kept: {}", list.join(", ")),
                list.join(", "),
            ));
        }
        out
    }

    fn names(&self, terms: &[Term]) -> Option<Finding> {
        let missing = names::missing(self.nl, self.en, terms);
        (!missing.is_empty()).then(|| {
            self.finding(
                Check::Names,
                Severity::Minor,
                format!("not carried over: {}", missing.join(", ")),
                missing.join(", "),
            )
        })
    }

    /// `held`: the glossary terms in this segment's Dutch.
    fn glossary(&self, held: &[&glossary::Compiled]) -> Vec<Finding> {
        held.iter()
            .filter(|g| !g.in_english(self.en))
            .map(|g| {
                self.finding(
                    Check::Glossary,
                    Severity::Minor,
                    format!("\"{}\" should be \"{}\"", g.term.nl, g.term.en),
                    g.term.nl.clone(),
                )
            })
            .collect()
    }

    fn negation(&self) -> Option<Finding> {
        let (neg_nl, neg_en) = shape::negations(self.nl, self.en);
        (neg_nl > neg_en).then(|| {
            self.finding(
                Check::Negation,
                if neg_en == 0 {
                    Severity::Major
                } else {
                    Severity::Minor
                },
                format!("the Dutch negates {neg_nl} times, the English {neg_en}"),
                format!("{neg_nl} / {neg_en}"),
            )
        })
    }

    /// Much shorter (something missing), much longer (something added), or stopping
    /// mid-sentence, for segments of eight Dutch words or more.
    fn length(&self) -> Option<Finding> {
        let (nl, en) = (self.nl, self.en);
        if nl.split_whitespace().count() < 8 {
            return None;
        }
        // The shorter of the two measures: characters, and words (a heading of long Dutch
        // compounds has few words but many characters).
        let words = en.split_whitespace().count() as f64 / nl.split_whitespace().count() as f64;
        let r = shape::ratio(nl, en).min(words.max(shape::ratio(nl, en) * 0.8));
        if r < SHORT_RATIO {
            Some(self.finding(
                Check::Length,
                Severity::Major,
                format!(
                    "the English is {:.0}% of the Dutch: part of it may be missing",
                    r * 100.0
                ),
                format!("{r:.2}"),
            ))
        } else if r > LONG_RATIO {
            Some(self.finding(
                Check::Length,
                Severity::Minor,
                format!(
                    "the English is {:.0}% of the Dutch: something may be added",
                    r * 100.0
                ),
                format!("{r:.2}"),
            ))
        } else if shape::ends_sentence(nl) && !shape::ends_like(nl, en) {
            Some(self.finding(
                Check::Length,
                Severity::Minor,
                "the English stops in the middle of a sentence".to_string(),
                tail(en),
            ))
        } else {
            None
        }
    }

    fn repetition(&self) -> Option<Finding> {
        shape::repetition(self.nl, self.en).map(|r| {
            self.finding(
                Check::Repetition,
                Severity::Major,
                format!("the English repeats {r}"),
                r,
            )
        })
    }
}
