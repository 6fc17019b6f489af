//! Numbers: every number, year, date, percentage and amount of the Dutch is in the English,
//! and the English adds none.
//!
//! Both sides become a multiset of values. Dutch formats are read as Dutch (`1.000.000`,
//! `2,5`, `53,95%`), English as English (`1,000,000`, `2.5`); a digit group that is neither
//! (`474.57.11.87`, an account number) counts group by group, so a code copied verbatim matches.
//! Small number words count both ways (`één op de drie` = `one in three`), multipliers scale
//! (`2,5 miljoen` = `2.5 million` = `2,500,000`), and a month name must come across
//! (`1 juli 2024` = `1 July 2024`). Not counted: ordinals (`Tweede Kamer` is a name), `een`
//! (an article), `acht` (also "considers"), and, as an addition, English `one` (a pronoun too).

use super::text::without_links;
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::LazyLock;

static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d+(?:[.,]\d+)*|[\p{L}]+").expect("a valid regex"));
static NL_THOUSANDS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d{1,3}(\.\d{3})+(,\d+)?$").expect("a valid regex"));
static EN_THOUSANDS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d{1,3}(,\d{3})+(\.\d+)?$").expect("a valid regex"));

const NL_WORDS: &[(&str, f64)] = &[
    ("één", 1.0),
    ("twee", 2.0),
    ("drie", 3.0),
    ("vier", 4.0),
    ("vijf", 5.0),
    ("zes", 6.0),
    ("zeven", 7.0),
    ("negen", 9.0),
    ("tien", 10.0),
    ("elf", 11.0),
    ("twaalf", 12.0),
    ("dertien", 13.0),
    ("veertien", 14.0),
    ("vijftien", 15.0),
    ("twintig", 20.0),
    ("dertig", 30.0),
    ("veertig", 40.0),
    ("vijftig", 50.0),
    ("honderd", 100.0),
];

const EN_WORDS: &[(&str, f64)] = &[
    ("one", 1.0),
    ("two", 2.0),
    ("three", 3.0),
    ("four", 4.0),
    ("five", 5.0),
    ("six", 6.0),
    ("seven", 7.0),
    ("eight", 8.0),
    ("nine", 9.0),
    ("ten", 10.0),
    ("eleven", 11.0),
    ("twelve", 12.0),
    ("thirteen", 13.0),
    ("fourteen", 14.0),
    ("fifteen", 15.0),
    ("twenty", 20.0),
    ("thirty", 30.0),
    ("forty", 40.0),
    ("fifty", 50.0),
    ("hundred", 100.0),
];

const NL_MULTIPLIERS: &[(&str, f64)] = &[("duizend", 1e3), ("miljoen", 1e6), ("miljard", 1e9)];
const EN_MULTIPLIERS: &[(&str, f64)] = &[("thousand", 1e3), ("million", 1e6), ("billion", 1e9)];

const MONTHS: &[(&str, &str)] = &[
    ("januari", "january"),
    ("februari", "february"),
    ("maart", "march"),
    ("april", "april"),
    ("mei", "may"),
    ("juni", "june"),
    ("juli", "july"),
    ("augustus", "august"),
    ("september", "september"),
    ("oktober", "october"),
    ("november", "november"),
    ("december", "december"),
];

/// A number found in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Num {
    /// Canonical: `30000`, `2.5`, `2500000`.
    pub value: String,
    /// As written.
    pub raw: String,
    /// Written as a word (`three`, not `3`).
    pub word: Option<&'static str>,
}

fn canon(v: f64) -> String {
    let s = format!("{:.6}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// The values of one digit token, read with the language's separators.
fn digit_values(raw: &str, dutch: bool) -> Vec<f64> {
    let (thousands, decimal, group) = if dutch {
        (&*NL_THOUSANDS, ',', '.')
    } else {
        (&*EN_THOUSANDS, '.', ',')
    };
    if thousands.is_match(raw) {
        let s: String = raw
            .chars()
            .filter(|&c| c != group)
            .map(|c| if c == decimal { '.' } else { c })
            .collect();
        return s.parse().map(|v| vec![v]).unwrap_or_default();
    }
    let parts: Vec<&str> = raw.split(['.', ',']).collect();
    if parts.len() == 2
        && raw.contains(decimal)
        && let Ok(v) = format!("{}.{}", parts[0], parts[1]).parse()
    {
        return vec![v];
    }
    parts.iter().filter_map(|p| p.parse().ok()).collect()
}

/// The numbers in `text` (`dutch` chooses the formats and the words).
pub fn numbers(text: &str, dutch: bool) -> Vec<Num> {
    let (words, multipliers) = if dutch {
        (NL_WORDS, NL_MULTIPLIERS)
    } else {
        (EN_WORDS, EN_MULTIPLIERS)
    };
    let text = without_links(text);
    let mut out: Vec<Num> = Vec::new();
    // Whether the previous token was a number, which a multiplier then scales.
    let mut last_was_number = false;
    for m in TOKEN.find_iter(&text) {
        let t = m.as_str();
        if t.starts_with(|c: char| c.is_ascii_digit()) {
            // "in 2024.14 This": a full stop ends the sentence and a footnote marker follows,
            // whatever the number formats say.
            let next = text[m.end()..].trim_start().chars().next();
            let sentence_end = t.contains('.') && next.is_some_and(char::is_uppercase);
            let values = if sentence_end {
                t.split(['.', ',']).filter_map(|p| p.parse().ok()).collect()
            } else {
                digit_values(t, dutch)
            };
            for v in values {
                out.push(Num {
                    value: canon(v),
                    raw: t.to_string(),
                    word: None,
                });
            }
            last_was_number = true;
            continue;
        }
        let lower = t.to_lowercase();
        if let Some((_, mult)) = multipliers.iter().find(|(w, _)| *w == lower) {
            match out.last_mut().filter(|_| last_was_number) {
                Some(n) => {
                    let v: f64 = n.value.parse().unwrap_or(0.0) * mult;
                    n.value = canon(v);
                    n.raw = format!("{} {t}", n.raw);
                }
                None => out.push(Num {
                    value: canon(*mult),
                    raw: t.to_string(),
                    word: None,
                }),
            }
            last_was_number = false;
            continue;
        }
        if let Some((w, v)) = words.iter().find(|(w, _)| *w == lower) {
            out.push(Num {
                value: canon(*v),
                raw: t.to_string(),
                word: Some(w),
            });
            last_was_number = true;
            continue;
        }
        last_was_number = false;
    }
    out
}

/// The months named in `text`, in English (`juli` -> `july`).
fn months(text: &str, dutch: bool) -> Vec<&'static str> {
    let words = super::text::words(text);
    MONTHS
        .iter()
        .filter(|(nl, en)| words.iter().any(|w| w == if dutch { nl } else { en }))
        .map(|(_, en)| *en)
        .collect()
}

/// What is missing from the English and what it adds.
#[derive(Debug, Default, PartialEq)]
pub struct Mismatch {
    /// Numbers of the Dutch not in the English (as written in the Dutch).
    pub missing: Vec<String>,
    /// Numbers the English adds (as written in the English).
    pub added: Vec<String>,
    /// Months of the Dutch not named in the English.
    pub months: Vec<String>,
}

/// Compare the numbers of a Dutch text and its English.
pub fn compare(nl: &str, en: &str) -> Mismatch {
    let a = numbers(nl, true);
    let b = numbers(en, false);
    let count = |v: &[Num]| {
        let mut m: BTreeMap<String, usize> = BTreeMap::new();
        for n in v {
            *m.entry(n.value.clone()).or_default() += 1;
        }
        m
    };
    let (ca, cb) = (count(&a), count(&b));
    let mut out = Mismatch::default();
    for (value, n) in &ca {
        let have = cb.get(value).copied().unwrap_or(0);
        if have < *n {
            let raw = a.iter().find(|x| &x.value == value).map(|x| x.raw.clone());
            out.missing.push(raw.unwrap_or_else(|| value.clone()));
        }
    }
    let nl_words = super::text::words(nl);
    // A number word is not an addition when the Dutch has it inside a compound
    // ("tweeminutendebat" -> "two-minute"), nor is English "one" (a pronoun too).
    let lenient = |x: &Num| match x.word {
        Some("one") => true,
        Some(w) => {
            let value = EN_WORDS.iter().find(|(e, _)| *e == w).map(|(_, v)| *v);
            let dutch = NL_WORDS
                .iter()
                .find(|(_, v)| Some(*v) == value)
                .map(|(d, _)| *d);
            dutch.is_some_and(|d| nl_words.iter().any(|nw| nw.contains(d)))
        }
        None => false,
    };
    for value in cb.keys() {
        let have = ca.get(value).copied().unwrap_or(0);
        let strict: Vec<&Num> = b
            .iter()
            .filter(|x| &x.value == value && !lenient(x))
            .collect();
        if strict.len() > have {
            out.added.push(strict[0].raw.clone());
        }
    }
    let en_months = months(en, false);
    out.months = months(nl, true)
        .into_iter()
        .filter(|m| !en_months.contains(m))
        .map(String::from)
        .collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str, dutch: bool) -> Vec<String> {
        numbers(text, dutch).into_iter().map(|n| n.value).collect()
    }

    #[test]
    fn dutch_and_english_formats_give_the_same_values() {
        assert_eq!(
            values("1.000.000 en 2,5 en 53,95%", true),
            ["1000000", "2.5", "53.95"]
        );
        assert_eq!(
            values("1,000,000 and 2.5 and 53.95%", false),
            ["1000000", "2.5", "53.95"]
        );
        assert_eq!(values("2,5 miljoen", true), values("2.5 million", false));
        assert_eq!(values("2,500,000", false), ["2500000"]);
        assert_eq!(
            values("één op de drie", true),
            values("one in three", false)
        );
        assert_eq!(values("meer dan twintig miljoen", true), ["20000000"]);
        assert_eq!(
            values("een miljoen meer", true),
            values("a million more", false)
        );
        // An account number copied verbatim matches group by group.
        assert_eq!(values("474.57.11.87", true), values("474.57.11.87", false));
        // Ordinals and "acht" (also a verb) are not numbers.
        assert!(values("de Tweede Kamer; zij acht het nodig", true).is_empty());
        assert!(values("see https://example.org/2024/05/x", false).is_empty());
        // A footnote marker after a year that ends a sentence.
        assert_eq!(values("in 2024.14 This", false), ["2024", "14"]);
    }

    #[test]
    fn a_changed_or_dropped_number_is_missing_and_an_added_one_is_added() {
        let nl = "Sinds 1 juli 2024 is 93,24% van de slachtoffers jonger dan 13 jaar.";
        assert_eq!(
            compare(
                nl,
                "Since 1 July 2024, 93.24% of the victims are younger than 13."
            ),
            Mismatch::default()
        );
        let m = compare(
            nl,
            "Since 1 July 2024, 93.24% of the victims are younger than 12.",
        );
        assert_eq!(m.missing, ["13"]);
        assert_eq!(m.added, ["12"]);
        let m = compare(
            nl,
            "Since 1 June 2024, 93.24% of the victims are younger than 13.",
        );
        assert_eq!(m.months, ["july"]);
        // Compounds and "one": not additions.
        assert_eq!(
            compare(
                "In een tweeminutendebat deelden zij een-op-een.",
                "In a two-minute debate they shared one-to-one."
            ),
            Mismatch::default()
        );
        // The same number twice in the Dutch must be there twice.
        let m = compare(
            "drie keer per dag, drie maanden",
            "three times a day, for months",
        );
        assert_eq!(m.missing, ["drie"]);
    }
}
