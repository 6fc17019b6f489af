//! Codes and links kept verbatim: URLs, e-mail addresses, domains cited as sources
//! (`(trouw.nl)`), document references (`COM(2022) 209`, `125p Sv`, `2023Z12345`, the numeric
//! core of `2011/93/EU`, whose suffix is translated: `95/46/EG` -> `95/46/EC`), and footnote
//! markers (a number attached to the word or the full stop before it: `aanpak1`, `nodig.34`).

use super::text::{links, without_links};
use regex::Regex;
use std::sync::LazyLock;

static DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:nl|eu|org|com|net|uk|be|de|int|gov|info|io)\b")
        .expect("a valid regex")
});
static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"COM\(\d{4}\)\s*\d+|\b\d{4}Z\d{4,6}\b|\b\d+[A-Za-z]?\s+[Ss][Vv]\b|\b\d{2,4}/\d{1,4}\b",
    )
    .expect("a valid regex")
});
static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    // A digit run right after a lower-case letter, or after a full stop or closing quote that
    // follows a letter, and then the end of the word.
    Regex::new(r"[\p{Ll}][.»”)]?(\d{1,3})(?:[\s,.;:)]|$)").expect("a valid regex")
});

/// A code of the Dutch that the English does not keep.
#[derive(Debug, Clone, PartialEq)]
pub struct Lost {
    pub code: String,
    /// A link or a reference (major), or a footnote marker (minor).
    pub marker: bool,
}

fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The codes of `nl` that `en` does not keep.
pub fn compare(nl: &str, en: &str) -> Vec<Lost> {
    let mut lost = Vec::new();
    // As often as the Dutch has it: a letter may cite one URL three times.
    let mut en_links = links(en);
    for l in links(nl) {
        match en_links.iter().position(|e| e == &l) {
            Some(i) => {
                en_links.remove(i);
            }
            None => lost.push(Lost {
                code: l,
                marker: false,
            }),
        }
    }
    let (nl_rest, en_rest) = (without_links(nl), without_links(en));
    for m in DOMAIN.find_iter(&nl_rest) {
        let d = m.as_str();
        if !en.to_lowercase().contains(&d.to_lowercase()) {
            lost.push(Lost {
                code: d.to_string(),
                marker: false,
            });
        }
    }
    let en_squeezed = squeeze(&en_rest).to_lowercase();
    for m in REFERENCE.find_iter(&nl_rest) {
        let r = squeeze(m.as_str());
        if !en_squeezed.contains(&r.to_lowercase()) {
            lost.push(Lost {
                code: r,
                marker: false,
            });
        }
    }
    let markers =
        |t: &str| -> Vec<String> { MARKER.captures_iter(t).map(|c| c[1].to_string()).collect() };
    let mut en_markers = markers(&en_rest);
    for m in markers(&nl_rest) {
        match en_markers.iter().position(|e| *e == m) {
            Some(i) => {
                en_markers.remove(i);
            }
            None => lost.push(Lost {
                code: m,
                marker: true,
            }),
        }
    }
    lost
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_references_and_markers_must_come_across() {
        let nl = "Zie de analyse (bitsoffreedom.nl) (https://www.bitsoffreedom.nl/a-b.pdf) en COM(2022) 209 final, via 125P sv. en Richtlijn 95/46/EG, een negatieve invloed op deze aanpak1.";
        let good = "See the analysis (bitsoffreedom.nl) (https://www.bitsoffreedom.nl/a-b.pdf) and COM(2022) 209 final, under 125P sv. and Directive 95/46/EC, a negative impact on this approach1.";
        assert_eq!(compare(nl, good), []);
        let broken = good
            .replace("a-b.pdf", "a-b .pdf")
            .replace("approach1", "approach");
        let lost = compare(nl, &broken);
        assert_eq!(
            lost,
            [
                Lost {
                    code: "https://www.bitsoffreedom.nl/a-b.pdf".into(),
                    marker: false
                },
                Lost {
                    code: "1".into(),
                    marker: true
                }
            ]
        );
        assert_eq!(
            compare(
                "Mail info@offlimits.nl, 2023Z12345.",
                "Mail info@offlimits.nl, 2023Z12345."
            ),
            []
        );
        // Acronyms with digits are not markers; a marker after a full stop is.
        assert_eq!(
            compare("E2EE en NL04 en D66.", "E2EE and NL04 and D66."),
            []
        );
        assert_eq!(
            compare("noodzakelijk.34 Daarom", "necessary. Therefore")[0].code,
            "34"
        );
    }
}
