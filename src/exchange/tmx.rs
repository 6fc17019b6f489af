//! TMX 1.4b, the translation-memory format every CAT tool exchanges: written from the project's
//! memory (and, on request, a run's machine English, marked as such), read from a translator's
//! own memory.

use crate::store::memory::Entry;
use crate::xml::{self, escape};

/// A translation unit's property that says who wrote its English: `human`, `memory` or
/// `model`. A unit marked `model` is not read back as a person's English.
pub const ORIGIN_PROP: &str = "x-tolk-origin";

/// One pair to write.
pub struct PairOut<'a> {
    pub nl: &'a str,
    pub en: &'a str,
    /// `human`, `memory` or `model`.
    pub origin: &'a str,
    pub editor: Option<&'a str>,
    /// RFC 3339.
    pub date: Option<&'a str>,
    /// Where the pair comes from: letter and segment, or the file it was imported from.
    pub note: Option<String>,
}

impl<'a> PairOut<'a> {
    pub fn of(e: &'a Entry) -> PairOut<'a> {
        PairOut {
            nl: &e.nl,
            en: &e.en,
            origin: e.kept.origin.name(),
            editor: e.kept.editor.as_deref(),
            date: Some(&e.kept.date),
            note: Some(match (&e.doc_id, &e.segment) {
                (Some(d), Some(s)) => format!("{d} {s}"),
                _ => e.file.clone(),
            }),
        }
    }
}

/// TMX's date form, `20261207T101500Z`, from RFC 3339.
fn tmx_date(rfc3339: &str) -> Option<String> {
    let t = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()?
        .to_offset(time::UtcOffset::UTC);
    t.format(time::macros::format_description!(
        "[year][month][day]T[hour][minute][second]Z"
    ))
    .ok()
}

/// RFC 3339 from TMX's date form.
fn rfc3339(tmx: &str) -> Option<String> {
    let t = time::PrimitiveDateTime::parse(
        tmx,
        time::macros::format_description!("[year][month][day]T[hour][minute][second]Z"),
    )
    .ok()?
    .assume_utc();
    t.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// The TMX document of `pairs`.
pub fn write(pairs: &[PairOut<'_>]) -> String {
    let mut x = String::with_capacity(pairs.len() * 400 + 512);
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<tmx version=\"1.4\">\n");
    x.push_str(&format!(
        "  <header creationtool=\"tolk\" creationtoolversion=\"{}\" segtype=\"paragraph\" o-tmf=\"tolk\" adminlang=\"en\" srclang=\"nl\" datatype=\"plaintext\"/>\n  <body>\n",
        env!("CARGO_PKG_VERSION")
    ));
    for p in pairs {
        let mut attrs = String::new();
        if let Some(d) = p.date.and_then(tmx_date) {
            attrs.push_str(&format!(" creationdate=\"{d}\" changedate=\"{d}\""));
        }
        if let Some(e) = p.editor {
            attrs.push_str(&format!(
                " creationid=\"{}\" changeid=\"{}\"",
                escape(e),
                escape(e)
            ));
        }
        x.push_str(&format!("    <tu{attrs}>\n"));
        x.push_str(&format!(
            "      <prop type=\"{ORIGIN_PROP}\">{}</prop>\n",
            escape(p.origin)
        ));
        if let Some(n) = &p.note {
            x.push_str(&format!("      <note>{}</note>\n", escape(n)));
        }
        x.push_str(&format!(
            "      <tuv xml:lang=\"nl\"><seg>{}</seg></tuv>\n      <tuv xml:lang=\"en\"><seg>{}</seg></tuv>\n    </tu>\n",
            escape(p.nl),
            escape(p.en)
        ));
    }
    x.push_str("  </body>\n</tmx>\n");
    x
}

/// One Dutch-English pair read from a TMX.
#[derive(Debug, Clone, PartialEq)]
pub struct PairIn {
    pub nl: String,
    pub en: String,
    pub editor: Option<String>,
    /// RFC 3339, when the unit is dated.
    pub date: Option<String>,
}

/// What a TMX held.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Read {
    pub pairs: Vec<PairIn>,
    /// Units tolk wrote from a model's English (`x-tolk-origin` `model`): not a person's.
    pub model: usize,
    /// Units without both a Dutch and an English variant.
    pub other: usize,
}

/// Read a TMX (1.1 to 1.4b): its Dutch-English pairs. A memory of another language pair is an
/// error that names the languages it has.
pub fn read(text: &str) -> Result<Read, super::xliff::ReadError> {
    use super::xliff::ReadError;
    let root = xml::parse(text.trim_start_matches('\u{feff}'))?;
    if xml::local(&root.name) != "tmx" {
        return Err(ReadError::Format(format!(
            "the root element is <{}>, not <tmx>",
            root.name
        )));
    }
    let header = root.first("header");
    let srclang = header.and_then(|h| h.attr("srclang")).unwrap_or("*all*");
    let mut out = Read::default();
    let mut langs = std::collections::BTreeSet::new();
    let Some(body) = root.first("body") else {
        return Err(ReadError::Format("no <body> in the TMX".into()));
    };
    for tu in body.all("tu") {
        let origin = tu
            .all("prop")
            .find(|p| p.attr("type") == Some(ORIGIN_PROP))
            .map(|p| p.text());
        let mut nl = None;
        let mut en = None;
        for tuv in tu.all("tuv") {
            let lang = tuv.attr("lang").unwrap_or(srclang);
            langs.insert(lang.to_string());
            // The words of the segment, not the original's inline codes.
            let seg = tuv
                .first("seg")
                .map(|s| s.text_without(&["bpt", "ept", "ph", "it", "ut"]));
            if xml::lang_is(lang, "nl") {
                nl = seg;
            } else if xml::lang_is(lang, "en") {
                en = seg;
            }
        }
        match (nl, en) {
            (Some(nl), Some(en)) if !nl.trim().is_empty() && !en.trim().is_empty() => {
                if origin.as_deref() == Some("model") {
                    out.model += 1;
                    continue;
                }
                let date = tu
                    .attr("changedate")
                    .or(tu.attr("creationdate"))
                    .and_then(rfc3339);
                let editor = tu
                    .attr("changeid")
                    .or(tu.attr("creationid"))
                    .map(str::to_string);
                out.pairs.push(PairIn {
                    nl,
                    en,
                    editor,
                    date,
                });
            }
            _ => out.other += 1,
        }
    }
    if out.pairs.is_empty() && out.model == 0 {
        let found: Vec<String> = langs.into_iter().collect();
        return Err(ReadError::Format(if found.is_empty() {
            "no translation units".to_string()
        } else {
            format!(
                "no Dutch-English pairs: the memory's languages are {} (tolk needs nl and en)",
                found.join(", ")
            )
        }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_written_reads_back_with_its_editor_and_date() {
        let pairs = [PairOut {
            nl: "Wij zijn <tegen> & \"dus\"",
            en: "We are <against> & \"so\"",
            origin: "human",
            editor: Some("A. Vertaler"),
            date: Some("2026-12-07T10:15:00Z"),
            note: Some("d p1".into()),
        }];
        let back = read(&write(&pairs)).unwrap();
        assert_eq!(
            back.pairs,
            [PairIn {
                nl: "Wij zijn <tegen> & \"dus\"".into(),
                en: "We are <against> & \"so\"".into(),
                editor: Some("A. Vertaler".into()),
                date: Some("2026-12-07T10:15:00Z".into()),
            }]
        );
    }

    #[test]
    fn a_model_pair_is_not_read_as_a_person_s_and_another_language_pair_is_refused() {
        let model = [PairOut {
            nl: "a",
            en: "b",
            origin: "model",
            editor: None,
            date: None,
            note: None,
        }];
        let back = read(&write(&model)).unwrap();
        assert_eq!((back.pairs.len(), back.model), (0, 1));

        let de = r#"<tmx version="1.4"><header srclang="de"/><body>
            <tu><tuv xml:lang="de"><seg>Hallo</seg></tuv><tuv xml:lang="en"><seg>Hello</seg></tuv></tu>
            </body></tmx>"#;
        let err = read(de).unwrap_err().to_string();
        assert!(err.contains("de, en"), "{err}");
    }

    #[test]
    fn inline_codes_are_not_words() {
        let t = r#"<tmx version="1.4"><header srclang="nl-NL"/><body>
            <tu><tuv xml:lang="nl-NL"><seg><bpt i="1">&lt;b&gt;</bpt>Wij<ept i="1">&lt;/b&gt;</ept> zijn</seg></tuv>
            <tuv xml:lang="EN-GB"><seg>We are</seg></tuv></tu></body></tmx>"#;
        assert_eq!(read(t).unwrap().pairs[0].nl, "Wij zijn");
    }
}
