//! Glossaries from the files translators already have, beside the built-in `glossary.toml`:
//! TBX (TBX-Basic, TBX 2 `martif` and TBX 3 `tbx`) and CSV or TSV with the columns `nl,en` and
//! an optional note. Their terms go into the prompts and the checks hold every run to them, as
//! the built-in ones.

use super::{PromptError, Term};
use crate::xml;
use std::path::Path;

/// The terms of glossary file `path`, by its extension: `.tbx` (or `.xml`), `.tsv`, else CSV.
#[cfg(test)]
fn read(path: &Path) -> Result<Vec<Term>, PromptError> {
    let bytes = std::fs::read(path).map_err(|source| PromptError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, bytes)
}

/// The terms of glossary file `path`, whose content is `bytes`.
pub fn parse(path: &Path, bytes: Vec<u8>) -> Result<Vec<Term>, PromptError> {
    let bad = |message: String| PromptError::Parse {
        path: path.to_path_buf(),
        message,
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        bad(format!(
            "not UTF-8 (byte {}); save the glossary as UTF-8",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let text = text.trim_start_matches('\u{feff}');
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let terms = match ext.as_str() {
        "tbx" | "xml" => tbx(text).map_err(bad)?,
        "tsv" | "tab" => table(text, b'\t').map_err(bad)?,
        _ => table(text, b',').map_err(bad)?,
    };
    if terms.is_empty() {
        return Err(bad("no terms in the file".into()));
    }
    Ok(terms)
}

/// The Dutch-English pairs of a TBX: per entry, every Dutch term with the entry's first English
/// term.
fn tbx(text: &str) -> Result<Vec<Term>, String> {
    let root = xml::parse(text).map_err(|e| format!("not well-formed XML: {e}"))?;
    if !matches!(xml::local(&root.name), "martif" | "tbx") {
        return Err(format!(
            "the root element is <{}>, not TBX's <martif> or <tbx>",
            root.name
        ));
    }
    let mut entries = Vec::new();
    root.descendants("termEntry", &mut entries);
    root.descendants("conceptEntry", &mut entries);
    let mut langs = std::collections::BTreeSet::new();
    let mut terms = Vec::new();
    for e in entries {
        let mut sets = Vec::new();
        e.descendants("langSet", &mut sets);
        e.descendants("langSec", &mut sets);
        let mut nl = Vec::new();
        let mut en = Vec::new();
        for s in sets {
            let lang = s.attr("lang").unwrap_or_default();
            langs.insert(lang.to_string());
            let mut found = Vec::new();
            s.descendants("term", &mut found);
            let words = found
                .iter()
                .map(|t| t.text().trim().to_string())
                .filter(|t| !t.is_empty());
            if xml::lang_is(lang, "nl") {
                nl.extend(words);
            } else if xml::lang_is(lang, "en") {
                en.extend(words);
            }
        }
        if let Some(en) = en.first() {
            terms.extend(nl.into_iter().map(|nl| Term { nl, en: en.clone() }));
        }
    }
    if terms.is_empty() {
        let found: Vec<String> = langs.into_iter().filter(|l| !l.is_empty()).collect();
        return Err(if found.iter().any(|l| xml::lang_is(l, "nl")) {
            "no English terms beside the Dutch ones (tolk needs nl and en in the same entry)".into()
        } else if found.is_empty() {
            "no term entries".into()
        } else {
            format!(
                "no Dutch-English terms: the languages are {}",
                found.join(", ")
            )
        });
    }
    Ok(terms)
}

/// A CSV or TSV of `nl,en[,note]`; a first row that names the columns is skipped.
fn table(text: &str, delimiter: u8) -> Result<Vec<Term>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let mut terms = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.map_err(|e| e.to_string())?;
        let line = row.position().map_or(i as u64 + 1, |p| p.line());
        let cells: Vec<&str> = row.iter().map(str::trim).collect();
        if cells.iter().all(|c| c.is_empty()) {
            continue;
        }
        if i == 0
            && matches!(
                cells[0].to_ascii_lowercase().as_str(),
                "nl" | "dutch" | "source" | "nederlands" | "term"
            )
        {
            continue;
        }
        match cells.as_slice() {
            [nl, en, ..] if !nl.is_empty() && !en.is_empty() => terms.push(Term {
                nl: nl.to_string(),
                en: en.to_string(),
            }),
            _ => {
                return Err(format!(
                    "line {line}: a row needs the Dutch and the English term (nl{}en[{}note])",
                    delimiter as char, delimiter as char
                ));
            }
        }
    }
    Ok(terms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    fn pairs(t: &[Term]) -> Vec<(&str, &str)> {
        t.iter().map(|t| (t.nl.as_str(), t.en.as_str())).collect()
    }

    #[test]
    fn a_tbx_basic_gives_each_dutch_term_its_english() {
        let (_d, p) = file(
            "t.tbx",
            r#"<?xml version="1.0"?>
<martif type="TBX-Basic" xml:lang="en"><text><body>
  <termEntry id="c1">
    <langSet xml:lang="nl-NL"><tig><term>meldplicht</term></tig><tig><term>meldingsplicht</term></tig></langSet>
    <langSet xml:lang="en"><tig><term>reporting obligation</term></tig></langSet>
  </termEntry>
  <termEntry id="c2"><langSet xml:lang="nl"><ntig><termGrp><term>EU-centrum</term></termGrp></ntig></langSet>
    <langSet xml:lang="en-GB"><ntig><termGrp><term>EU Centre</term></termGrp></ntig></langSet></termEntry>
</body></text></martif>"#,
        );
        assert_eq!(
            pairs(&read(&p).unwrap()),
            [
                ("meldplicht", "reporting obligation"),
                ("meldingsplicht", "reporting obligation"),
                ("EU-centrum", "EU Centre")
            ]
        );
        let (_d, v3) = file(
            "v3.tbx",
            r#"<tbx type="TBX-Basic" style="dca" xml:lang="en" xmlns="urn:iso:std:iso:30042:ed-2"><text><body>
<conceptEntry id="1"><langSec xml:lang="nl"><termSec><term>detectiebevel</term></termSec></langSec>
<langSec xml:lang="en"><termSec><term>detection order</term></termSec></langSec></conceptEntry></body></text></tbx>"#,
        );
        assert_eq!(
            pairs(&read(&v3).unwrap()),
            [("detectiebevel", "detection order")]
        );
    }

    #[test]
    fn a_tbx_without_english_says_so() {
        let (_d, p) = file(
            "t.tbx",
            r#"<martif type="TBX-Basic"><text><body><termEntry><langSet xml:lang="nl"><tig><term>meldplicht</term></tig></langSet>
<langSet xml:lang="de"><tig><term>Meldepflicht</term></tig></langSet></termEntry></body></text></martif>"#,
        );
        let err = read(&p).unwrap_err().to_string();
        assert!(
            err.contains("t.tbx") && err.contains("no English terms"),
            "{err}"
        );
        let (_d, cut) = file("cut.tbx", "<martif><text><body><termEntry>");
        assert!(read(&cut).unwrap_err().to_string().contains("line 1"));
    }

    #[test]
    fn csv_and_tsv_with_or_without_a_header_and_a_note() {
        let (_d, c) = file(
            "g.csv",
            "nl,en,note\nmeldplicht,reporting obligation,\"art. 12, lid 2\"\n\n# a comment\n\"Tweede Kamer\",House of Representatives\n",
        );
        assert_eq!(
            pairs(&read(&c).unwrap()),
            [
                ("meldplicht", "reporting obligation"),
                ("Tweede Kamer", "House of Representatives")
            ]
        );
        let (_d, t) = file("g.tsv", "meldplicht\treporting obligation\n");
        assert_eq!(
            pairs(&read(&t).unwrap()),
            [("meldplicht", "reporting obligation")]
        );
        let (_d, bad) = file("bad.csv", "meldplicht,reporting obligation\nalleen\n");
        let err = read(&bad).unwrap_err().to_string();
        assert!(err.contains("bad.csv") && err.contains("line 2"), "{err}");
        let (_d, empty) = file("empty.csv", "nl,en\n");
        assert!(read(&empty).unwrap_err().to_string().contains("no terms"));
    }
}
