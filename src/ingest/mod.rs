//! Ingest: a letter on disk becomes a [`Document`]: normalised text cut into typed paragraphs,
//! with a map from every byte of that text back to the original line it came from.
//!
//! Invariants (checked by property tests): every original line that holds a letter or digit
//! belongs to exactly one paragraph; a paragraph's letters and digits are exactly those of its
//! original lines (markup such as `<sup>` aside); every byte of the normalised text maps to a
//! line inside the file.

mod decode;
pub mod facts;
mod hyphen;
mod normalize;
pub mod pdf;

pub use decode::{Encoding, split_lines};
pub use hyphen::{HyphenJoin, hyphen_join};

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A per-file problem. The run reports it with the file's name and goes on with the others.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{path}: no such file")]
    NotFound { path: PathBuf },
    #[error("{path}: cannot read")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: the file is empty (no letters or digits in it)")]
    Empty { path: PathBuf },
    #[error("{path}: this looks like a binary file, not a text letter ({why})")]
    Binary { path: PathBuf, why: String },
    #[error("{path}: a folder with no .txt or .pdf files in it")]
    NoTextFiles { path: PathBuf },
    #[error("{path}: the PDF is encrypted; tolk reads only PDFs that open without a password")]
    PdfEncrypted { path: PathBuf },
    #[error(
        "{path}: the PDF has no text layer (a scanned letter?); tolk does not do OCR: give it the text"
    )]
    PdfNoText { path: PathBuf },
    #[error("{path}: the PDF is damaged or not a PDF: {why}")]
    PdfDamaged { path: PathBuf, why: String },
    #[error("{path}: cannot extract the PDF's text: {why}")]
    PdfTool { path: PathBuf, why: String },
}

/// What a paragraph is, as far as the layout of the letter tells.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, Hash, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Heading,
    Body,
    ListItem,
    Footnote,
    /// Address, subject and date lines of the letterhead, and letterhead debris.
    Address,
    Salutation,
    /// Closing formula, names and functions of the signatories.
    Signature,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Heading => "heading",
            Kind::Body => "body",
            Kind::ListItem => "list_item",
            Kind::Footnote => "footnote",
            Kind::Address => "address",
            Kind::Salutation => "salutation",
            Kind::Signature => "signature",
        }
    }
}

/// One paragraph of normalised text.
#[derive(Debug, Clone, Serialize)]
pub struct Paragraph {
    /// `p1`, `p2`, ... in reading order.
    pub id: String,
    pub kind: Kind,
    /// First and last original line (1-based, inclusive).
    pub lines: [u32; 2],
    /// The original lines exactly, as inclusive runs: a paragraph that a page break cut in two
    /// has two runs, with the footnotes of that page between them.
    pub spans: Vec<[u32; 2]>,
    /// Byte range in [`Document::text`].
    pub byte_range: [usize; 2],
    pub text: String,
}

/// Normalised text position -> original line, as sorted runs.
#[derive(Debug, Clone, Default)]
pub struct LineMap {
    /// (first byte of a run in the normalised text, its original line)
    runs: Vec<(usize, u32)>,
    len: usize,
    /// line -> first byte of its run (lines without text have none)
    starts: std::collections::BTreeMap<u32, usize>,
}

impl LineMap {
    pub(crate) fn new(runs: Vec<(usize, u32)>, len: usize) -> Self {
        debug_assert!(runs.windows(2).all(|w| w[0].0 <= w[1].0));
        let mut starts = std::collections::BTreeMap::new();
        for &(start, line) in &runs {
            starts.entry(line).or_insert(start);
        }
        LineMap { runs, len, starts }
    }

    /// Where original line `line` begins in the normalised text (None: a line without text).
    pub fn line_start(&self, line: u32) -> Option<usize> {
        self.starts.get(&line).copied()
    }

    /// The original lines whose text begins inside `range`, in line order. Each line with text
    /// begins in exactly one place, so disjoint ranges give disjoint line sets.
    pub fn lines_starting_in(&self, range: std::ops::Range<usize>) -> Vec<u32> {
        self.starts
            .iter()
            .filter(|&(_, &s)| range.contains(&s))
            .map(|(&l, _)| l)
            .collect()
    }

    /// The original line of the byte at `offset`.
    pub fn line_at(&self, offset: usize) -> Option<u32> {
        if offset >= self.len {
            return None;
        }
        let i = self.runs.partition_point(|&(start, _)| start <= offset);
        i.checked_sub(1).map(|i| self.runs[i].1)
    }

    /// First and last original line of the bytes in `range` (inclusive line numbers). Lines only
    /// reached by trailing separators still count: they are the lines the separators stand for.
    pub fn lines_of(&self, range: std::ops::Range<usize>) -> Option<[u32; 2]> {
        if range.start >= range.end || range.start >= self.len {
            return None;
        }
        let end = range.end.min(self.len);
        let first = self.runs.partition_point(|&(s, _)| s <= range.start) - 1;
        let mut lo = u32::MAX;
        let mut hi = 0;
        for &(start, line) in &self.runs[first..] {
            if start >= end {
                break;
            }
            lo = lo.min(line);
            hi = hi.max(line);
        }
        Some([lo, hi])
    }
}

/// A letter, read and normalised.
#[derive(Debug, Clone, Serialize)]
pub struct Document {
    /// The file stem: `2024-09-18-offlimits-advies-kabinetsstandpunt`.
    pub id: String,
    pub path: PathBuf,
    pub sha256: String,
    pub encoding: Encoding,
    /// Number of lines in the original file.
    pub line_count: u32,
    /// Paragraph texts joined by blank lines.
    #[serde(skip)]
    pub text: String,
    pub paragraphs: Vec<Paragraph>,
    #[serde(skip)]
    pub line_map: LineMap,
    #[serde(skip)]
    pub original_lines: Vec<String>,
    /// Things a reader should know (a file decoded as Windows-1252, for instance).
    pub warnings: Vec<String>,
    /// For a PDF: the text extracted from it, which the line numbers count in (kept beside
    /// the outputs as `source.txt`), and the page of every line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdf: Option<PdfSource>,
    /// The letter's facts, read once on first use ([`Document::facts`]): after ingest has set
    /// the PDF pages they cite.
    #[serde(skip)]
    facts: std::sync::OnceLock<facts::Facts>,
}

/// Where the lines of a PDF letter came from.
#[derive(Debug, Clone, Serialize)]
pub struct PdfSource {
    /// sha256 of the extracted text (`source.txt`); the document's `sha256` is the PDF's.
    pub source_sha256: String,
    pub page_count: u32,
    /// Lines blanked as page furniture (running headers and footers, page numbers).
    pub furniture: u32,
    /// Page of line n at index n - 1.
    #[serde(skip)]
    pub line_pages: Vec<u32>,
    /// The extracted text, as kept in `source.txt`.
    #[serde(skip)]
    pub text: String,
}

impl Document {
    /// What the letter says about itself ([`facts::read`]), read once for the prompts, the
    /// stance, the checks and `facts.json`.
    pub fn facts(&self) -> &facts::Facts {
        self.facts.get_or_init(|| facts::read(self))
    }

    /// The ids of the paragraphs an argument can be cited from: running text, list items and
    /// footnotes (the head, headings, salutation and signature state none). All paragraphs
    /// when a letter has none of those.
    pub fn citable(&self) -> Vec<String> {
        let body: Vec<String> = self
            .paragraphs
            .iter()
            .filter(|p| matches!(p.kind, Kind::Body | Kind::ListItem | Kind::Footnote))
            .map(|p| p.id.clone())
            .collect();
        if body.is_empty() {
            self.paragraphs.iter().map(|p| p.id.clone()).collect()
        } else {
            body
        }
    }

    /// The page of original line `line`, for a PDF.
    pub fn page_of(&self, line: u32) -> Option<u32> {
        let pdf = self.pdf.as_ref()?;
        pdf.line_pages.get(line.checked_sub(1)? as usize).copied()
    }

    /// The first and last page of lines `[a, b]`, for a PDF.
    pub fn pages_of(&self, lines: [u32; 2]) -> Option<[u32; 2]> {
        Some([self.page_of(lines[0])?, self.page_of(lines[1])?])
    }

    pub fn paragraph(&self, id: &str) -> Option<&Paragraph> {
        self.paragraphs.iter().find(|p| p.id == id)
    }

    /// Original line `n` (1-based), as in the file.
    pub fn original_line(&self, n: u32) -> Option<&str> {
        self.original_lines
            .get((n as usize).checked_sub(1)?)
            .map(String::as_str)
    }
}

/// sha256 of bytes, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Read and normalise one letter.
pub fn read(path: &Path) -> Result<Document, IngestError> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => IngestError::NotFound {
            path: path.to_path_buf(),
        },
        _ => IngestError::Io {
            path: path.to_path_buf(),
            source: e,
        },
    })?;
    if pdf::is_pdf(path) {
        return from_pdf(path, &bytes);
    }
    from_bytes(&doc_id(path), path, &bytes)
}

/// A PDF letter: its text layer extracted, then read like a text letter; its line numbers count
/// in the extracted text.
fn from_pdf(path: &Path, bytes: &[u8]) -> Result<Document, IngestError> {
    let extracted = pdf::extract(path, bytes)?;
    if !extracted.text.chars().any(char::is_alphanumeric) {
        return Err(IngestError::PdfNoText {
            path: path.to_path_buf(),
        });
    }
    let mut doc = from_bytes(&doc_id(path), path, extracted.text.as_bytes())?;
    doc.sha256 = sha256_hex(bytes);
    doc.pdf = Some(PdfSource {
        source_sha256: sha256_hex(extracted.text.as_bytes()),
        page_count: extracted.page_count,
        furniture: extracted.furniture,
        line_pages: extracted.line_pages,
        text: extracted.text,
    });
    Ok(doc)
}

/// The id of the document in `path`: its file name without the extension. Run folders, the
/// manifest and every output name a document by it.
pub fn doc_id(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "document".into())
}

/// Normalise bytes as if read from `path`.
pub fn from_bytes(id: &str, path: &Path, bytes: &[u8]) -> Result<Document, IngestError> {
    let decoded = decode::decode(path, bytes)?;
    let mut warnings = Vec::new();
    if decoded.encoding == Encoding::Windows1252 {
        warnings.push(format!(
            "{}: not valid UTF-8; decoded as Windows-1252",
            path.display()
        ));
    }
    let lines = split_lines(&decoded.text);
    let normalized = normalize::normalize(&lines);
    Ok(Document {
        id: id.to_owned(),
        path: path.to_path_buf(),
        sha256: sha256_hex(bytes),
        encoding: decoded.encoding,
        line_count: lines.len() as u32,
        text: normalized.text,
        paragraphs: normalized.paragraphs,
        line_map: normalized.line_map,
        original_lines: lines.iter().map(|s| (*s).to_owned()).collect(),
        warnings,
        pdf: None,
        facts: std::sync::OnceLock::new(),
    })
}

/// The letters a user named: files as given, folders searched (recursively) for `*.txt` and
/// `*.pdf`, sorted. A folder without any is an error naming the folder.
pub fn collect_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, IngestError> {
    let mut out = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut found = Vec::new();
            walk_txt(input, &mut found).map_err(|e| IngestError::Io {
                path: input.clone(),
                source: e,
            })?;
            if found.is_empty() {
                return Err(IngestError::NoTextFiles {
                    path: input.clone(),
                });
            }
            found.sort();
            out.extend(found);
        } else if input.exists() {
            out.push(input.clone());
        } else {
            return Err(IngestError::NotFound {
                path: input.clone(),
            });
        }
    }
    out.dedup();
    Ok(out)
}

fn walk_txt(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk_txt(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("txt") || e.eq_ignore_ascii_case("pdf"))
        {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        /// No input makes ingest panic, and whatever it accepts keeps the line map inside the file.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(doc) = from_bytes("x", Path::new("x.txt"), &bytes) {
                for p in &doc.paragraphs {
                    prop_assert!(p.lines[0] >= 1 && p.lines[1] <= doc.line_count);
                }
                for i in 0..doc.text.len() {
                    let l = doc.line_map.line_at(i).unwrap();
                    prop_assert!(l >= 1 && l <= doc.line_count);
                }
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in "[a-zA-Z0-9 \\-–.,:;()<>#\\[\\]■\n\r\t]{0,400}") {
            let _ = from_bytes("x", Path::new("x.txt"), text.as_bytes());
        }
    }

    #[test]
    fn line_map_lookups() {
        let m = LineMap::new(vec![(0, 1), (5, 3), (9, 2)], 12);
        assert_eq!(m.line_at(0), Some(1));
        assert_eq!(m.line_at(4), Some(1));
        assert_eq!(m.line_at(5), Some(3));
        assert_eq!(m.line_at(11), Some(2));
        assert_eq!(m.line_at(12), None);
        assert_eq!(m.lines_of(3..7), Some([1, 3]));
        assert_eq!(m.lines_of(6..12), Some([2, 3]));
        assert_eq!(m.lines_of(6..6), None);
    }
}
