//! XLIFF 1.2, the version every CAT tool reads (OmegaT, Trados, memoQ, Phrase,
//! translate-toolkit): one file per letter, one `trans-unit` per segment, its id the segment's.
//!
//! Written: `<source xml:lang="nl">` the Dutch as tolk read it, `<target xml:lang="en">` the
//! English with a state a translator filters on (`final` for a person's English,
//! `needs-review-translation` where a check or a verified review error is major, `translated`
//! otherwise, `new` where the model gave none), the source file, lines and page in a location
//! context group, and the findings as notes. Segments without words (`6)`, `—`) go out with
//! `translate="no"`. The letter, run and model are attributes in tolk's own namespace on
//! `<file>`, which CAT tools keep.
//!
//! Read back: the units of every `<file>`, with their source, target, state and approval.

use crate::store::memory::Origin;
use crate::tasks::finding::{Finding, Severity};
use crate::tasks::review::{ReviewError, ReviewOut};
use crate::tasks::translate::{SegmentOut, TranslationOut};
use crate::xml::{self, Element, XmlError, escape};

/// tolk's namespace for its attributes on `<file>`.
pub const NS: &str = "urn:tolk:xliff:1";

/// What one letter's XLIFF is written from.
pub struct Letter<'a> {
    pub translation: &'a TranslationOut,
    pub run_id: &'a str,
    /// The findings of the run's checks on this letter's translation.
    pub findings: Vec<&'a Finding>,
    pub review: Option<&'a ReviewOut>,
}

impl<'a> Letter<'a> {
    /// The check findings and the verified review errors about segment `s`.
    fn about(&self, s: &SegmentOut) -> (Vec<&'a Finding>, Vec<&'a ReviewError>) {
        let findings = self
            .findings
            .iter()
            .copied()
            .filter(|f| f.segment == s.id)
            .collect();
        let review = self
            .review
            .map(|r| {
                r.errors
                    .iter()
                    .filter(|e| e.segment == s.id && e.verified)
                    .collect()
            })
            .unwrap_or_default();
        (findings, review)
    }

    /// The state segment `s` goes out with ([`state`]).
    pub fn state_of(&self, s: &SegmentOut) -> &'static str {
        let (findings, review) = self.about(s);
        state(s, &findings, &review).0
    }
}

/// The state a unit goes out with, and its qualifier.
fn state(
    s: &SegmentOut,
    findings: &[&Finding],
    review: &[&ReviewError],
) -> (&'static str, Option<&'static str>) {
    match s.kept.as_ref().map(|k| k.origin) {
        Some(Origin::Human) => return ("final", None),
        Some(Origin::Memory) => return ("translated", Some("exact-match")),
        None => {}
    }
    if s.en.is_none() {
        return ("new", None);
    }
    let major = findings.iter().any(|f| f.severity == Severity::Major)
        || review
            .iter()
            .any(|e| e.verified && e.severity >= crate::tasks::review::Severity::Major);
    if major {
        ("needs-review-translation", None)
    } else {
        ("translated", Some("mt-suggestion"))
    }
}

/// The XLIFF 1.2 document of one letter.
pub fn write(l: &Letter<'_>) -> String {
    let t = l.translation;
    let mut x = String::with_capacity(t.segments.len() * 600 + 1024);
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<xliff version=\"1.2\" xmlns=\"urn:oasis:names:tc:xliff:document:1.2\" xmlns:tolk=\"{NS}\">\n"
    ));
    x.push_str(&format!(
        "  <file original=\"{}\" source-language=\"nl\" target-language=\"en\" datatype=\"plaintext\" tool-id=\"tolk\" tolk:doc=\"{}\" tolk:run=\"{}\" tolk:model=\"{}\" tolk:sha256=\"{}\">\n",
        escape(&t.source.path),
        escape(&t.doc_id),
        escape(l.run_id),
        escape(&t.model),
        escape(&t.source.sha256),
    ));
    x.push_str(&format!(
        "    <header>\n      <tool tool-id=\"tolk\" tool-name=\"tolk\" tool-version=\"{}\"/>\n    </header>\n    <body>\n",
        env!("CARGO_PKG_VERSION")
    ));
    for s in &t.segments {
        unit(&mut x, l, s);
    }
    x.push_str("    </body>\n  </file>\n</xliff>\n");
    x
}

fn unit(x: &mut String, l: &Letter<'_>, s: &SegmentOut) {
    let (findings, review) = l.about(s);
    let words = crate::tasks::translate::has_words(&s.nl);
    x.push_str(&format!(
        "      <trans-unit id=\"{}\" resname=\"{}\" xml:space=\"preserve\"{}>\n",
        escape(&s.id),
        escape(&s.id),
        if words { "" } else { " translate=\"no\"" }
    ));
    x.push_str(&format!(
        "        <source xml:lang=\"nl\">{}</source>\n",
        escape(&s.nl)
    ));
    let (state, qualifier) = state(s, &findings, &review);
    x.push_str(&format!(
        "        <target xml:lang=\"en\" state=\"{state}\"{}>{}</target>\n",
        qualifier
            .map(|q| format!(" state-qualifier=\"{q}\""))
            .unwrap_or_default(),
        escape(s.en.as_deref().unwrap_or_default())
    ));
    x.push_str("        <context-group name=\"location\" purpose=\"location\">\n");
    let ctx = |x: &mut String, kind: &str, v: &str| {
        x.push_str(&format!(
            "          <context context-type=\"{kind}\">{}</context>\n",
            escape(v)
        ))
    };
    ctx(x, "sourcefile", &l.translation.source.path);
    ctx(x, "linenumber", &s.lines[0].to_string());
    ctx(x, "x-lines", &format!("{}-{}", s.lines[0], s.lines[1]));
    match (s.pages.page, s.pages.pages) {
        (Some(p), _) => ctx(x, "x-page", &p.to_string()),
        (None, Some([a, b])) => ctx(x, "x-page", &format!("{a}-{b}")),
        _ => {}
    }
    x.push_str("        </context-group>\n");
    let note = |x: &mut String, from: &str, priority: u8, text: &str| {
        x.push_str(&format!(
            "        <note from=\"{from}\" priority=\"{priority}\">{}</note>\n",
            escape(text)
        ))
    };
    if let Some(k) = &s.kept {
        let who = k.editor.as_deref().unwrap_or("a translator");
        let text = match k.origin {
            Origin::Human => format!("English by {who}, {}; every run keeps it", k.date),
            Origin::Memory => format!("English from a translation memory ({who}, {})", k.date),
        };
        note(x, "tolk", 5, &text);
    }
    for f in findings {
        let priority = if f.severity == Severity::Major { 1 } else { 3 };
        let evidence = if f.evidence.is_empty() {
            String::new()
        } else {
            format!(" [{}]", f.evidence)
        };
        note(
            x,
            "tolk check",
            priority,
            &format!(
                "{} ({}): {}{evidence}",
                f.check.name(),
                f.severity.name(),
                f.message
            ),
        );
    }
    for e in review {
        let priority = if e.severity >= crate::tasks::review::Severity::Major {
            1
        } else {
            3
        };
        let mut text = format!(
            "review {} {} ({}): {}",
            e.id,
            e.category.name(),
            e.severity.name(),
            e.explanation
        );
        if !e.span_en.is_empty() {
            text.push_str(&format!(" English: \"{}\".", e.span_en));
        }
        if !e.suggestion.is_empty() {
            text.push_str(&format!(" Suggestion: {}", e.suggestion));
        }
        note(x, "tolk review", priority, &text);
    }
    if let Some(draft) = &s.draft {
        note(
            x,
            "tolk",
            5,
            &format!("refined; the first draft read: {draft}"),
        );
    }
    x.push_str("      </trans-unit>\n");
}

/// One `<file>` of an XLIFF read back.
#[derive(Debug, Clone, PartialEq)]
pub struct FileIn {
    /// `tolk:doc`, when the file still has it.
    pub doc: Option<String>,
    pub original: Option<String>,
    /// `tolk:run`: the run whose English was exported.
    pub run: Option<String>,
    /// Who edited it, when the file says (`<phase contact-name>`).
    pub editor: Option<String>,
    pub units: Vec<UnitIn>,
}

/// One `trans-unit` read back.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitIn {
    pub id: String,
    pub translate: bool,
    pub source: String,
    /// None when the unit has no `<target>`.
    pub target: Option<String>,
    pub state: Option<String>,
    /// `approved="yes"` on the unit (how translate-toolkit and Okapi mark a reviewed unit).
    pub approved: bool,
    /// Line and column of the unit.
    pub at: (usize, usize),
}

impl UnitIn {
    /// A person said the English is done: state final or signed-off, or approved.
    pub fn signed_off(&self) -> bool {
        self.approved || matches!(self.state.as_deref(), Some("final" | "signed-off"))
    }
}

/// Why an XLIFF cannot be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReadError {
    #[error("not well-formed XML: {0}")]
    Xml(#[from] XmlError),
    #[error("{0}")]
    Format(String),
}

/// Read an XLIFF 1.x document.
pub fn read(text: &str) -> Result<Vec<FileIn>, ReadError> {
    let root = xml::parse(text.trim_start_matches('\u{feff}'))?;
    if xml::local(&root.name) != "xliff" {
        return Err(ReadError::Format(format!(
            "the root element is <{}>, not <xliff>",
            root.name
        )));
    }
    match root.attr("version") {
        Some(v) if v.starts_with("1.") => {}
        Some(v) => {
            return Err(ReadError::Format(format!(
                "XLIFF {v}: tolk reads XLIFF 1.2, the version `tolk export xliff` writes"
            )));
        }
        None => return Err(ReadError::Format("<xliff> has no version".into())),
    }
    let mut files = Vec::new();
    for f in root.all("file") {
        let mut units = Vec::new();
        let mut found = Vec::new();
        f.descendants("trans-unit", &mut found);
        for u in found {
            units.push(unit_in(u)?);
        }
        let mut phases = Vec::new();
        f.descendants("phase", &mut phases);
        files.push(FileIn {
            doc: f
                .attr("doc")
                .map(str::to_string)
                .filter(|_| has_tolk_doc(f)),
            original: f.attr("original").map(str::to_string),
            run: f
                .attrs
                .iter()
                .find(|(k, _)| k.ends_with(":run"))
                .map(|(_, v)| v.clone()),
            editor: phases
                .iter()
                .rev()
                .find_map(|p| p.attr("contact-name"))
                .map(str::to_string),
            units,
        });
    }
    if files.is_empty() {
        return Err(ReadError::Format("no <file> in the XLIFF".into()));
    }
    Ok(files)
}

/// Whether `<file>`'s `doc` attribute is tolk's (prefixed), not some tool's own.
fn has_tolk_doc(f: &Element) -> bool {
    f.attrs
        .iter()
        .any(|(k, _)| k.contains(':') && xml::local(k) == "doc")
}

fn unit_in(u: &Element) -> Result<UnitIn, ReadError> {
    let at = u.at;
    let id = u.attr("id").ok_or_else(|| {
        ReadError::Format(format!(
            "line {}, column {}: a <trans-unit> without an id",
            at.0, at.1
        ))
    })?;
    let source = u
        .first("source")
        .ok_or_else(|| ReadError::Format(format!("line {}: unit {id} has no <source>", at.0)))?;
    let target = u.first("target");
    Ok(UnitIn {
        id: id.to_string(),
        translate: u.attr("translate") != Some("no"),
        source: source.text(),
        target: target.map(Element::text),
        state: target.and_then(|t| t.attr("state")).map(str::to_string),
        approved: u.attr("approved") == Some("yes"),
        at,
    })
}
