//! Hyphenation across lines: when a line ends in a hyphen, is it a word broken by the wrap, a
//! real hyphen, or an elided compound part?

use std::collections::HashSet;

/// How two lines of one paragraph are joined when the first ends in a hyphen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HyphenJoin {
    /// A word broken across lines: `Belemme-` + `ringen` = `Belemmeringen`.
    Drop,
    /// A real hyphen at the line end: `CSAM-` + `verordening` = `CSAM-verordening`.
    Keep,
    /// An elided compound part: `preventie-` + `en` = `preventie- en`.
    KeepSpace,
}

/// Conjunctions after which a line-final hyphen is an elided compound part ("meldings- en").
pub(super) const CONJUNCTIONS: &[&str] = &["en", "of", "tot", "noch", "als", "and", "or", "en/of"];

/// Dutch vowel pairs that would read as one sound when a compound is written together, so the
/// compound keeps its hyphen ("zee-egel", "data-analyse").
const VOWEL_PAIRS: &[&str] = &[
    "aa", "ae", "ai", "au", "ee", "ei", "eu", "ie", "ii", "oe", "oi", "oo", "ou", "ui", "uu",
];

/// Decide how a line ending in a hyphen joins the next line. The rule, in order:
/// 1. the next word is a conjunction (`en`, `of`, `tot`, ...): keep the hyphen and a space;
/// 2. the word before the hyphen already holds a hyphen, a slash, `@` or is part of a URL
///    (`eind-tot-`, `iccam-what-is-it-`): keep the hyphen;
/// 3. the letter before the hyphen is a capital or a digit (`CSAM-`, `EU-`, `E2EE-`): keep;
/// 4. the next word does not start with a lower-case letter (`Noord-` + `Holland`): keep;
/// 5. the two letters around the break form a Dutch vowel pair (`zee-` + `egel`): keep;
/// 6. the document writes the hyphenated compound elsewhere and never the joined one: keep;
/// 7. otherwise the word was broken by the line wrap: drop the hyphen and join.
pub fn hyphen_join(left: &str, right: &str, vocabulary: &HashSet<String>) -> HyphenJoin {
    let left_tok = left.split_whitespace().last().unwrap_or("");
    let stem = left_tok.strip_suffix('-').unwrap_or(left_tok);
    let right_tok = right.split_whitespace().next().unwrap_or("");
    let right_word = right_tok.trim_end_matches(|c: char| !c.is_alphanumeric());
    if CONJUNCTIONS.contains(&right_word.to_lowercase().as_str()) {
        return HyphenJoin::KeepSpace;
    }
    if stem.contains(['-', '/', '@']) || stem.contains("://") || stem.starts_with("www.") {
        return HyphenJoin::Keep;
    }
    let Some(lc) = stem.chars().last() else {
        return HyphenJoin::Keep;
    };
    if lc.is_uppercase() || lc.is_ascii_digit() || !lc.is_alphabetic() {
        return HyphenJoin::Keep;
    }
    let Some(rc) = right_word.chars().next() else {
        return HyphenJoin::Keep;
    };
    if !rc.is_lowercase() {
        return HyphenJoin::Keep;
    }
    let pair: String = [lc, rc].iter().collect::<String>().to_lowercase();
    if VOWEL_PAIRS.contains(&pair.as_str()) {
        return HyphenJoin::Keep;
    }
    let stem_word = stem
        .trim_start_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    let right_lower = right_word.to_lowercase();
    let hyphenated = format!("{stem_word}-{right_lower}");
    let joined = format!("{stem_word}{right_lower}");
    if vocabulary.contains(&hyphenated) && !vocabulary.contains(&joined) {
        return HyphenJoin::Keep;
    }
    HyphenJoin::Drop
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab(words: &[&str]) -> HashSet<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn hyphen_rule_on_typical_breaks() {
        let v = vocab(&[]);
        assert_eq!(
            hyphen_join("opsporing: Belemme-", "ringen en", &v),
            HyphenJoin::Drop
        );
        assert_eq!(
            hyphen_join("de CSAM-", "verordening,", &v),
            HyphenJoin::Keep
        );
        assert_eq!(
            hyphen_join("om eind-tot-", "eindversleutelde", &v),
            HyphenJoin::Keep
        );
        assert_eq!(
            hyphen_join("voor de EU-", "verordening", &v),
            HyphenJoin::Keep
        );
        assert_eq!(
            hyphen_join("preventie-", "en controle", &v),
            HyphenJoin::KeepSpace
        );
        assert_eq!(hyphen_join("Noord-", "Holland", &v), HyphenJoin::Keep);
        assert_eq!(hyphen_join("de zee-", "egel", &v), HyphenJoin::Keep);
        assert_eq!(hyphen_join("data-", "analyse", &v), HyphenJoin::Keep);
        assert_eq!(
            hyphen_join("https://x.org/what-is-it-", "and-why", &v),
            HyphenJoin::Keep
        );
        let v = vocab(&["privacy-belang"]);
        assert_eq!(hyphen_join("het privacy-", "belang", &v), HyphenJoin::Keep);
    }
}
