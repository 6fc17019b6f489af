//! Glossary adherence: a glossary term in a segment's Dutch has its fixed English in that
//! segment's English. The Dutch term counts as a word or the end of a hyphenated compound
//! (`CSAM-verordening`), inflected (`verordeningen`) but not derived (`kindermisbruikers`,
//! child abusers, is not `kindermisbruik`). The English counts inflected too
//! (`detection orders`, `end-to-end encrypted`), words joined by spaces or hyphens.

use crate::prompt::Term;
use regex::{Regex, RegexSet};

/// Dutch endings of an inflected word (plural, adjective).
const NL_ENDINGS: &str = "(?:en|s|e|'s)?";

/// Does `nl` hold `term` as a word (or the end of a hyphenated compound)?
pub fn has_term(nl: &str, term: &str) -> bool {
    Regex::new(&term_pattern(term)).is_ok_and(|r| r.is_match(nl))
}

/// A glossary term, its patterns compiled once.
pub struct Compiled {
    pub term: Term,
    nl: Option<Regex>,
    en: Option<Regex>,
}

impl Compiled {
    pub fn new(term: &Term) -> Compiled {
        Compiled {
            term: term.clone(),
            nl: Regex::new(&term_pattern(&term.nl)).ok(),
            en: Regex::new(&rendering_pattern(&term.en)).ok(),
        }
    }

    /// Is the term in this Dutch?
    pub fn in_dutch(&self, nl: &str) -> bool {
        self.nl.as_ref().is_some_and(|r| r.is_match(nl))
    }

    /// Is its rendering in this English?
    pub fn in_english(&self, en: &str) -> bool {
        self.en.as_ref().is_none_or(|r| r.is_match(en))
    }
}

/// The glossary, compiled.
pub fn compile(glossary: &[Term]) -> Vec<Compiled> {
    glossary.iter().map(Compiled::new).collect()
}

/// The glossary compiled once for many segments: each term's patterns, and one set of all the
/// Dutch patterns, so that a segment is read once for every term instead of once per term.
pub struct Glossary {
    pub terms: Vec<Compiled>,
    /// The Dutch patterns that compiled, and the term each belongs to.
    dutch: Option<RegexSet>,
    index: Vec<usize>,
}

impl Glossary {
    pub fn new(glossary: &[Term]) -> Glossary {
        let terms = compile(glossary);
        let index: Vec<usize> = (0..terms.len())
            .filter(|&i| terms[i].nl.is_some())
            .collect();
        let dutch = RegexSet::new(index.iter().map(|&i| term_pattern(&terms[i].term.nl))).ok();
        Glossary {
            terms,
            dutch,
            index,
        }
    }

    /// The terms in this Dutch, in glossary order.
    pub fn in_dutch(&self, nl: &str) -> Vec<&Compiled> {
        match &self.dutch {
            Some(set) => set
                .matches(nl)
                .into_iter()
                .map(|k| &self.terms[self.index[k]])
                .collect(),
            // A set too large to build: term by term.
            None => self.terms.iter().filter(|g| g.in_dutch(nl)).collect(),
        }
    }
}

fn term_pattern(term: &str) -> String {
    format!(
        r"(?i)(?:^|[^\p{{L}}\d]|-){}{}(?:$|[^\p{{L}}])",
        regex::escape(term),
        NL_ENDINGS
    )
}

fn rendering_pattern(rendering: &str) -> String {
    // A part in parentheses is optional ("child sexual abuse material (CSAM)").
    let bare = rendering.split('(').next().unwrap_or(rendering);
    let words: Vec<String> = bare
        .split(|c: char| c.is_whitespace() || c == '-')
        .filter(|w| !w.is_empty())
        .map(|w| {
            // English inflection: a trailing -s/-es/-ed/-d (not another word: "encrypted" is
            // not "encryption", which has a term of its own).
            let stem = regex::escape(w);
            // ... and a footnote marker right after it ("Regulation1").
            format!(r"{stem}(?:s|es|ed|d|'s)?\d*")
        })
        .collect();
    if words.is_empty() {
        return r"(?:)".into();
    }
    format!(r"(?i)\b{}\b", words.join(r"[\s\-]+"))
}

/// Does `en` hold the rendering `rendering`, inflection-tolerant?
pub fn has_rendering(en: &str, rendering: &str) -> bool {
    Regex::new(&rendering_pattern(rendering)).is_ok_and(|r| r.is_match(en))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_and_renderings_are_found_inflected_not_derived() {
        assert!(has_term("de CSAM-verordening", "verordening"));
        assert!(has_term("deze verordeningen", "verordening"));
        assert!(has_term("seksueel kindermisbruik.", "kindermisbruik"));
        assert!(!has_term("online kindermisbruikers", "kindermisbruik"));
        assert!(has_term("de JBZ-Raad van 28 september", "JBZ-Raad"));
        assert!(has_rendering("the detection orders", "detection order"));
        assert!(!has_rendering(
            "end-to-end encrypted services",
            "end-to-end encryption"
        ));
        assert!(has_rendering(
            "End-to-End encryption",
            "end-to-end encryption"
        ));
        assert!(!has_rendering("the screening orders", "detection order"));
        assert!(has_rendering(
            "the House of Representatives",
            "House of Representatives"
        ));
        assert!(has_rendering(
            "child sexual abuse material",
            "child sexual abuse material (CSAM)"
        ));
        assert!(has_rendering(
            "the General Data Protection Regulation1 (GDPR)",
            "regulation"
        ));
        assert!(has_term("gegevensbescherming1 (AVG)", "AVG"));
    }
}
