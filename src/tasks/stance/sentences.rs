//! The sentences of a letter's paragraphs: what a constrained quote may be, and how a quote is
//! matched with the translation's sentences ([`super::gloss`]).

use crate::tasks::Segment;

/// The sentences of some segments, for quote-constrained schemas.
pub fn sentences(segs: &[Segment]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in segs {
        let text = s.text.replace('\n', " ");
        out.extend(
            sentence_ranges(&text)
                .into_iter()
                .map(|r| text[r].to_string()),
        );
    }
    out.retain(|s| s.split_whitespace().count() >= 4);
    out.dedup();
    out
}

/// Where the sentences of a one-line text are, trimmed, none empty: a sentence ends at `.`, `!`
/// or `?` followed by a space and a capital, a quotation mark or a parenthesis. Dutch and
/// English alike.
pub fn sentence_ranges(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut push = |start: usize, end: usize| {
        let piece = &text[start..end];
        let lead = piece.len() - piece.trim_start().len();
        let trimmed = piece.trim();
        if !trimmed.is_empty() {
            out.push(start + lead..start + lead + trimmed.len());
        }
    };
    let mut start = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (k, &(i, c)) in chars.iter().enumerate() {
        let next_upper = chars
            .get(k + 2)
            .is_some_and(|&(_, n)| n.is_uppercase() || n == '«' || n == '"' || n == '(')
            && chars.get(k + 1).is_some_and(|&(_, n)| n == ' ');
        if matches!(c, '.' | '!' | '?') && next_upper {
            push(start, i + 1);
            start = i + 1;
        }
    }
    push(start, text.len());
    out
}
