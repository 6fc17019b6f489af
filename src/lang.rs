//! Text helpers the checks and the translation share: words, URLs taken out, and which language
//! a text is in.
//!
//! Language is told by function words: short words every sentence has, which a translation
//! cannot keep by accident. Only words of one language count (Dutch `in`, `is`, `of`, `was`
//! are English words too, and are left out). Measured on the project's reference translation
//! against whatlang (`cargo bench --bench checks`): whatlang answers more often, and is wrong
//! more often; as the untranslated check it flags twice as many correct English segments
//! (docs/decisions/2026-12-02-function-words-over-whatlang.md).

use regex::Regex;
use std::sync::LazyLock;

/// Dutch words that are not English words.
const DUTCH: &[&str] = &[
    "de",
    "het",
    "een",
    "van",
    "en",
    "dat",
    "die",
    "op",
    "te",
    "voor",
    "met",
    "niet",
    "zijn",
    "worden",
    "wordt",
    "aan",
    "om",
    "ook",
    "bij",
    "naar",
    "uit",
    "er",
    "maar",
    "deze",
    "dit",
    "wij",
    "hun",
    "ons",
    "moet",
    "moeten",
    "tot",
    "nog",
    "geen",
    "meer",
    "zich",
    "hebben",
    "heeft",
    "werd",
    "waar",
    "wel",
    "zo",
    "onder",
    "tegen",
    "omdat",
    "tussen",
    "zonder",
    "toe",
    "daar",
    "hier",
    "kunnen",
    "kan",
    "zal",
    "zou",
    "wat",
    "wie",
    "hoe",
    "dus",
    "echter",
    "alleen",
    "nu",
    "reeds",
    "zoals",
    "waarbij",
    "waarin",
    "welke",
    "binnen",
    "volgens",
    "ze",
    "zij",
    "hij",
    "ik",
    "u",
    "uw",
    "mij",
    "haar",
    "hem",
    "dan",
    "als",
    "door",
    "na",
    "al",
    "waarop",
    "hierin",
    "daarom",
    "bovendien",
    "tevens",
    "ervan",
];

/// English words that are not Dutch words.
const ENGLISH: &[&str] = &[
    "the",
    "and",
    "to",
    "that",
    "for",
    "it",
    "on",
    "with",
    "as",
    "be",
    "by",
    "are",
    "this",
    "not",
    "or",
    "from",
    "at",
    "which",
    "an",
    "have",
    "has",
    "were",
    "their",
    "its",
    "they",
    "we",
    "can",
    "must",
    "should",
    "will",
    "would",
    "there",
    "these",
    "been",
    "also",
    "more",
    "but",
    "all",
    "than",
    "into",
    "only",
    "such",
    "other",
    "when",
    "if",
    "our",
    "who",
    "what",
    "how",
    "so",
    "no",
    "do",
    "does",
    "under",
    "between",
    "without",
    "through",
    "within",
    "according",
    "you",
    "your",
    "he",
    "she",
    "his",
    "her",
    "them",
    "those",
    "whether",
    "because",
    "however",
    "about",
    "after",
    "before",
    "being",
    "may",
    "any",
    "each",
    "both",
    "where",
];

static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\bhttps?://[^\s<>«»"“”]+|\bwww\.[^\s<>«»"“”]+|[\w.+-]+@[\w-]+(\.[\w-]+)+"#)
        .expect("a valid regex")
});

static WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[\p{L}][\p{L}'’]*").expect("a valid regex"));

/// The text with URLs and e-mail addresses blanked out (they are checked verbatim elsewhere,
/// and their words are neither Dutch nor English).
pub fn without_links(text: &str) -> String {
    if !may_link(text) {
        return text.to_string();
    }
    URL.replace_all(text, " ").into_owned()
}

/// Whether `text` can hold a link at all: most paragraphs cannot, and the link pattern (an
/// e-mail address can start at any word) is the costliest the checks run.
fn may_link(text: &str) -> bool {
    let b = text.as_bytes();
    b.contains(&b'@')
        || b.windows(4)
            .any(|w| w.eq_ignore_ascii_case(b"http") || w.eq_ignore_ascii_case(b"www."))
}

/// The URLs and e-mail addresses in `text`, without trailing punctuation.
pub fn links(text: &str) -> Vec<String> {
    if !may_link(text) {
        return Vec::new();
    }
    URL.find_iter(text)
        .map(|m| {
            m.as_str()
                .trim_end_matches(['.', ',', ';', ':', ')', ']', '»', '”', '\''])
                .to_string()
        })
        .collect()
}

/// The words of `text`, lower case, links left out.
pub fn words(text: &str) -> Vec<String> {
    WORD.find_iter(&without_links(text))
        .map(|m| m.as_str().to_lowercase())
        .collect()
}

/// Dutch and English function words in `text`.
pub fn function_words(text: &str) -> (usize, usize) {
    let mut nl = 0;
    let mut en = 0;
    for w in words(text) {
        if DUTCH.contains(&w.as_str()) {
            nl += 1;
        } else if ENGLISH.contains(&w.as_str()) {
            en += 1;
        }
    }
    (nl, en)
}

/// Which language a text reads as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Dutch,
    English,
    /// Too few function words to tell (names, headings, references).
    Unknown,
}

/// The language of `text`, by its function words.
pub fn language(text: &str) -> Lang {
    let (nl, en) = function_words(text);
    if nl + en < 3 {
        Lang::Unknown
    } else if nl > en {
        Lang::Dutch
    } else {
        Lang::English
    }
}

/// Quoted spans of `en` (between « », “ ”, or " ") that stand verbatim in `nl`: titles and
/// quotations kept in Dutch, which a faithful translation may keep.
pub fn kept_quotes(en: &str, nl: &str) -> Vec<String> {
    static QUOTED: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"«[^»]*»|“[^”]*”|"[^"]*""#).expect("a valid regex"));
    QUOTED
        .find_iter(en)
        .map(|m| m.as_str().to_string())
        .filter(|q| {
            let inner = q.trim_matches(['«', '»', '“', '”', '"']).trim();
            !inner.is_empty() && nl.contains(inner)
        })
        .collect()
}

/// Text flattened for comparison: letters and digits, lower case, single spaces.
pub fn flat(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_lowercase().next().unwrap_or(c)
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_words_tell_the_languages_apart() {
        assert_eq!(
            language("Het voorstel bevat een grove inbreuk op de privacy van kinderen."),
            Lang::Dutch
        );
        assert_eq!(
            language("The proposal contains a gross invasion of the privacy that children have."),
            Lang::English
        );
        assert_eq!(language("Europol"), Lang::Unknown);
        assert_eq!(
            words("See https://www.iwf.org.uk/news-and-more, the data."),
            ["see", "the", "data"]
        );
        assert_eq!(
            kept_quotes(
                "WODC report «De rol van encryptie» (2023)",
                "WODC-rapport «De rol van encryptie» (2023)"
            ),
            ["«De rol van encryptie»"]
        );
        assert_eq!(
            flat("Kamerstuk 26 643, nr. 1011"),
            "kamerstuk 26 643 nr 1011"
        );
    }
}
