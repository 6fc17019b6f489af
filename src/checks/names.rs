//! Names and acronyms carried over: an acronym of the Dutch (`WODC`, `NCMEC`, `ATKM`, `E2EE`,
//! `D66`) or a name written with inner capitals (`WhatsApp`, `PhotoDNA`, `CyberTipline`) is in
//! the English, unless the glossary gives its rendering (`VN` -> `UN`, `AVG` -> `GDPR`).
//! Words in capitals that are a heading (three or more in a row: `BRIEF VAN DE MINISTER`) or a
//! label (`OPROEP:` opening a paragraph) are not acronyms. Proper names in plain capitals
//! (`Europol`) are carried over through the glossary, which can say that a name stays.

use super::text::without_links;
use crate::prompt::Term;
use regex::Regex;
use std::sync::LazyLock;

static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[\p{L}\d][\p{L}\d&]*").expect("a valid regex"));

fn is_caps(t: &str) -> bool {
    t.chars().filter(|c| c.is_alphabetic()).count() >= 2 && t.chars().all(|c| !c.is_lowercase())
}

/// `NCMEC3` (an acronym with its footnote marker) -> `NCMEC`; `D66`, `E2EE` stay.
fn acronym_core(t: &str) -> &str {
    let core = t.trim_end_matches(|c: char| c.is_ascii_digit());
    if core.chars().filter(|c| c.is_alphabetic()).count() >= 3 {
        core
    } else {
        t
    }
}

fn camel(t: &str) -> bool {
    let chars: Vec<char> = t.chars().collect();
    chars
        .windows(2)
        .any(|w| w[0].is_lowercase() && w[1].is_uppercase())
}

/// The acronyms and inner-capital names of `nl` that `en` lacks.
pub fn missing(nl: &str, en: &str, glossary: &[Term]) -> Vec<String> {
    let text = without_links(nl);
    let tokens: Vec<(usize, &str)> = TOKEN
        .find_iter(&text)
        .map(|m| (m.start(), m.as_str()))
        .collect();
    let mut out: Vec<String> = Vec::new();
    for (i, &(start, t)) in tokens.iter().enumerate() {
        let name = if is_caps(t) {
            let letters = t.chars().filter(|c| c.is_alphabetic()).count();
            if letters > 6 {
                continue;
            }
            // Three capitalised words in a row are a heading, not acronyms.
            let run = |k: usize| tokens.get(k).is_some_and(|(_, x)| is_caps(x));
            let in_run = (i >= 2 && run(i - 1) && run(i - 2))
                || (i >= 1 && run(i - 1) && run(i + 1))
                || (run(i + 1) && run(i + 2));
            // A label opening a paragraph ("OPROEP: ..."), or the suffix of a document
            // reference, which translation changes ("95/46/EG" -> "95/46/EC").
            let label = i == 0 && text[start + t.len()..].starts_with(':');
            let reference = text[..start].ends_with('/');
            if in_run || label || reference {
                continue;
            }
            acronym_core(t)
        } else if camel(t) {
            t
        } else {
            continue;
        };
        // Rendered by the glossary: that check looks at it.
        if glossary.iter().any(|g| {
            g.nl.split(|c: char| !c.is_alphanumeric())
                .any(|w| w.eq_ignore_ascii_case(name))
        }) {
            continue;
        }
        let found = if camel(name) {
            en.to_lowercase().contains(&name.to_lowercase())
        } else {
            en.contains(name)
        };
        if !found && !out.iter().any(|o| o == name) {
            out.push(name.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acronyms_and_brand_names_come_across_headings_do_not_count() {
        let glossary = vec![Term {
            nl: "VN".into(),
            en: "UN".into(),
        }];
        let nl = "Uit een analyse van NCMEC3 en het WODC blijkt via WhatsApp dat E2EE en het VN-verdrag...";
        assert!(missing(nl, "An analysis by NCMEC3 and the WODC shows via WhatsApp that E2EE and the UN treaty...", &glossary).is_empty());
        assert_eq!(
            missing(
                nl,
                "An analysis by the centre and the institute shows via Whatsapp that encryption...",
                &glossary
            ),
            ["NCMEC", "WODC", "E2EE"]
        );
        assert!(
            missing(
                "Nr. 1069 BRIEF VAN DE MINISTER VAN JUSTITIE",
                "No. 1069 LETTER FROM THE MINISTER OF JUSTICE",
                &[]
            )
            .is_empty()
        );
        assert!(
            missing(
                "OPROEP: Laat het belang van het kind",
                "CALL: Let the interest of the child",
                &[]
            )
            .is_empty()
        );
    }
}
