//! The shape of one segment's English against its Dutch: a negation lost, a length far from
//! the Dutch (an omission, an addition, a cut-off end), and repetition (a generation loop).

use super::text::words;
use std::collections::HashMap;

const NL_NEGATIONS: &[&str] = &[
    "niet",
    "geen",
    "nooit",
    "niemand",
    "niets",
    "nergens",
    "geenszins",
    "noch",
    "nimmer",
    "niks",
    "evenmin",
    "zonder",
];
const EN_NEGATIONS: &[&str] = &[
    "not", "no", "never", "nobody", "none", "nothing", "nowhere", "neither", "nor", "without",
    "cannot", "nor",
];

/// Negations in the Dutch and in the English (`n't` counts).
pub fn negations(nl: &str, en: &str) -> (usize, usize) {
    let a = words(nl)
        .iter()
        .filter(|w| NL_NEGATIONS.contains(&w.as_str()))
        .count();
    let b = words(en)
        .iter()
        .filter(|w| EN_NEGATIONS.contains(&w.as_str()) || w.ends_with("n't") || w.ends_with("n’t"))
        .count();
    (a, b)
}

/// English characters per Dutch character.
pub fn ratio(nl: &str, en: &str) -> f64 {
    let a = nl.chars().filter(|c| !c.is_whitespace()).count().max(1);
    let b = en.chars().filter(|c| !c.is_whitespace()).count();
    b as f64 / a as f64
}

/// Whether a text ends a sentence (or a quotation, a list item, a reference).
pub fn ends_sentence(text: &str) -> bool {
    let t = text.trim_end();
    t.ends_with(['.', '!', '?', ':', ';', '»', '”', '"', ')', '’'])
        || t.chars().last().is_some_and(|c| c.is_ascii_digit())
}

/// Whether an English text (a rationale, a summary) stops mid-sentence: it ends on a comma, a
/// colon or a dash, or on a word no sentence ends on ("The author's stance is to,", "...scan for
/// both known and"). A text that merely lacks its final full stop is not cut off.
pub fn cut_off(text: &str) -> bool {
    const OPEN: &[&str] = &[
        "the", "a", "an", "to", "of", "and", "or", "for", "with", "by", "in", "on", "at", "as",
        "is", "are", "was", "be", "that", "which", "who", "whose", "its", "their", "from", "than",
        "but", "not", "both", "into", "about",
    ];
    let t = text.trim_end();
    if t.is_empty() {
        return false;
    }
    if t.ends_with([',', ';', ':', '-', '–', '(']) {
        return true;
    }
    t.rsplit(|c: char| c.is_whitespace())
        .next()
        .is_some_and(|w| OPEN.contains(&w.to_lowercase().as_str()))
}

/// Whether `en` ends as a whole sentence where `nl` does: a colon ends only what ends in one
/// in the Dutch too (an English cut off after "the report:" is not finished).
pub fn ends_like(nl: &str, en: &str) -> bool {
    let colon = |t: &str| t.trim_end().ends_with(':');
    ends_sentence(en) && (!colon(en) || colon(nl))
}

/// A loop: a run of words the English repeats three times or more close together (each
/// repeat within a few words of the last), or a long run (eight words) repeated three times
/// anywhere. A phrase a letter uses three times in a long paragraph is not a loop.
pub fn repetition(nl: &str, en: &str) -> Option<String> {
    let _ = nl;
    let w = words(en);
    for (n, gap) in [(8usize, usize::MAX), (4, 3 * 4)] {
        if w.len() < n * 3 {
            continue;
        }
        let mut seen: HashMap<&[String], Vec<usize>> = HashMap::new();
        for (i, g) in w.windows(n).enumerate() {
            seen.entry(g).or_default().push(i);
        }
        let looping = seen.into_iter().find(|(_, at)| {
            at.windows(3)
                .any(|k| k[2] - k[0] <= 2 * gap.min(usize::MAX / 2))
        });
        if let Some((g, at)) = looping {
            return Some(format!("\"{}\" {} times", g.join(" "), at.len()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negations_lengths_and_loops() {
        assert_eq!(
            negations(
                "Het is niet goed en geen oplossing.",
                "It is not good and no solution."
            ),
            (2, 2)
        );
        assert_eq!(
            negations(
                "Dit is absoluut niet de verbetering.",
                "This is absolutely the improvement."
            ),
            (1, 0)
        );
        assert_eq!(negations("Wij doen het niet.", "We don't."), (1, 1));
        assert!((ratio("abcd", "ab") - 0.5).abs() < 1e-9);
        assert!(ends_sentence("It ends here."));
        assert!(!ends_sentence("It ends in the middle of"));
        let looping =
            "the regulation is the regulation is the regulation is the regulation is good";
        assert!(repetition("De verordening is goed.", looping).is_some());
        assert!(
            repetition(
                "De verordening is goed.",
                "The regulation is good and the centre is new."
            )
            .is_none()
        );
        let natural = "online child sexual abuse is one thing; we fight online child sexual abuse with rules about abuse, with care, with prevention, with reports and with ten other things, and online child sexual abuse must end";
        assert!(
            repetition("", natural).is_none(),
            "{:?}",
            repetition("", natural)
        );
    }
}
