//! PDF letters: the text layer, extracted by poppler's `pdftotext -bbox-layout` (Debian
//! package poppler-utils) and put in reading order by [`layout`], pages separated by form feeds.
//!
//! The boxes poppler gives every line are what the paragraphs are read from (the vertical gap
//! between rows, poppler's blocks) and what a second column is told apart by (a gutter no line
//! crosses): see [`layout`] for why neither `-layout` nor the reading-order mode serves a
//! letter with a colofon beside its body. Lines keep their words, one space apart.
//!
//! The text as tolk reads it is what every line number points into; it is kept beside the
//! outputs as `source.txt`. A line's page is one more than the form feeds before it. A form
//! feed is put at the start of the first line with text of every page after the first, where
//! the normaliser sees the leading whitespace that marks a page start in the extracted letters
//! (footnotes end there, a sentence cut by the page break is rejoined).

mod layout;

use super::IngestError;
use std::path::Path;
use std::process::Command;

/// The text layer of a PDF and the page of each of its lines.
#[derive(Debug, Clone)]
pub struct Extracted {
    /// UTF-8, `\n` line ends, `\x0c` before the first line of every page after the first.
    pub text: String,
    /// Page (1-based) of line n at index n - 1.
    pub line_pages: Vec<u32>,
    pub page_count: u32,
    /// Lines blanked as page furniture (running headers and footers, page numbers).
    pub furniture: u32,
}

/// The program that extracts the text (overridable for tests of a missing tool).
fn program() -> String {
    std::env::var("TOLK_PDFTOTEXT").unwrap_or_else(|_| "pdftotext".into())
}

/// Whether `path` names a PDF (by its extension).
pub fn is_pdf(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pdf"))
}

/// Extract the text layer of the PDF at `path` (its bytes already read, to check the header).
pub fn extract(path: &Path, bytes: &[u8]) -> Result<Extracted, IngestError> {
    let damaged = |why: String| IngestError::PdfDamaged {
        path: path.to_path_buf(),
        why,
    };
    if !bytes.starts_with(b"%PDF-") {
        return Err(damaged("it does not begin with %PDF-".into()));
    }
    let output = Command::new(program())
        .args(["-bbox-layout", "-enc", "UTF-8"])
        .arg(path)
        .arg("-")
        .output()
        .map_err(|e| IngestError::PdfTool {
            path: path.to_path_buf(),
            why: format!(
                "cannot run {} ({e}); install poppler-utils (scripts/setup.sh does)",
                program()
            ),
        })?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let lower = stderr.to_lowercase();
        if lower.contains("incorrect password") || lower.contains("encrypt") {
            return Err(IngestError::PdfEncrypted {
                path: path.to_path_buf(),
            });
        }
        let first: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(2)
            .collect();
        return Err(damaged(if first.is_empty() {
            format!("pdftotext failed ({})", output.status)
        } else {
            first.join("; ")
        }));
    }
    let xhtml = String::from_utf8_lossy(&output.stdout);
    let text = layout::text_of(&xhtml).map_err(damaged)?;
    Ok(paginate(text))
}

/// Lines without their layout, without page furniture and the blank lines around a page break,
/// each page's first line after a form feed, and the page of every line. The form feed after the last page (and blank lines
/// before it) ends the text and begins no page.
pub fn paginate(raw: String) -> Extracted {
    let mut page = 1;
    let mut lines: Vec<String> = Vec::new();
    let mut line_pages = Vec::new();
    for line in raw.trim_end_matches(['\x0c', '\n', ' ']).split('\n') {
        page += line.matches('\x0c').count() as u32;
        lines.push(line.replace('\x0c', "").trim().to_string());
        line_pages.push(page);
    }
    let furniture = furniture(&lines, &line_pages);
    // Each page without its furniture and without the blank lines at its top and bottom, so
    // a page's first line follows the last line of the page before: the normaliser then joins
    // a sentence the page break cut and breaks after one that ended (as in the extracted
    // letters). The first line of every page after the first starts with a form feed.
    let mut kept: Vec<String> = Vec::new();
    let mut kept_pages = Vec::new();
    for p in 1..=page {
        let on_page: Vec<String> = (0..lines.len())
            .filter(|&i| line_pages[i] == p)
            .map(|i| {
                if furniture.contains(&i) {
                    String::new()
                } else {
                    std::mem::take(&mut lines[i])
                }
            })
            .collect();
        let Some(first) = on_page.iter().position(|l| !l.is_empty()) else {
            continue;
        };
        let last = on_page.iter().rposition(|l| !l.is_empty()).unwrap_or(first);
        for (k, line) in on_page[first..=last].iter().enumerate() {
            kept.push(if k == 0 && p > 1 {
                format!("\x0c{line}")
            } else {
                line.clone()
            });
            kept_pages.push(p);
        }
    }
    let (lines, line_pages) = (kept, kept_pages);
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    Extracted {
        page_count: page,
        text,
        line_pages,
        furniture: furniture.len() as u32,
    }
}

/// How many lines with text at the top and at the bottom of a page may be page furniture.
const FURNITURE_REACH: usize = 4;

/// A line's shape for telling furniture: lower case, digits as `#`, spaces collapsed.
fn shape(line: &str) -> String {
    line.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect()
}

/// A page number on its own: "3", "- 3 -", "3/7", "3 van 7", "Pagina 3 van 7", "blz. 3".
fn is_page_number(shape: &str) -> bool {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"^(pagina|page|blz\.?|p\.)?\s*-?\s*#{1,3}\s*-?\s*((/|van|of)\s*#{1,3})?$",
        )
        .expect("a valid pattern")
    });
    RE.is_match(shape)
}

/// The lines that are page furniture: among the first and last [`FURNITURE_REACH`] lines with
/// text of a page, a page number on its own, or a line whose shape recurs there on at least
/// half the pages (two at least): running headers and footers, a sender's address block that
/// every page repeats.
fn furniture(lines: &[String], line_pages: &[u32]) -> std::collections::BTreeSet<usize> {
    use std::collections::{BTreeMap, BTreeSet};
    let pages = line_pages.last().copied().unwrap_or(1);
    let mut edges: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for p in 1..=pages {
        let with_text: Vec<usize> = (0..lines.len())
            .filter(|&i| line_pages[i] == p && !lines[i].is_empty())
            .collect();
        let n = with_text.len();
        let mut edge: Vec<usize> = with_text[..n.min(FURNITURE_REACH)].to_vec();
        edge.extend(
            &with_text[n
                .saturating_sub(FURNITURE_REACH)
                .max(n.min(FURNITURE_REACH))..],
        );
        edges.insert(p, edge);
    }
    let mut seen: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    for (&p, edge) in &edges {
        for &i in edge {
            seen.entry(shape(&lines[i])).or_default().insert(p);
        }
    }
    let recurring = |s: &str| {
        pages >= 2
            && seen
                .get(s)
                .is_some_and(|on| on.len() >= 2 && on.len() * 2 >= pages as usize)
    };
    edges
        .values()
        .flatten()
        .copied()
        .filter(|&i| {
            let s = shape(&lines[i]);
            is_page_number(&s) || recurring(&s)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_counted_by_form_feeds_and_the_last_one_ends_the_text() {
        let e = paginate(
            "Geachte minister,\n   Tekst.     12 maart\n\n\x0c\n      Tweede pagina\nEinde\n\n\x0c"
                .into(),
        );
        assert_eq!(e.page_count, 2);
        assert_eq!(e.line_pages, vec![1, 1, 2, 2]);
        let lines: Vec<&str> = e.text.lines().collect();
        assert_eq!(
            lines,
            vec![
                "Geachte minister,",
                "Tekst.     12 maart",
                "\x0cTweede pagina",
                "Einde"
            ]
        );
        let empty = paginate("\x0c".into());
        assert!(empty.text.is_empty());
    }

    #[test]
    fn running_headers_footers_and_page_numbers_go_and_the_pages_meet() {
        let raw = "Stichting Privacy Eerst | Brief 12\nGeachte minister,\nDe tekst loopt door op de\n\n   Pagina 1 van 2\n\x0cStichting Privacy Eerst | Brief 12\nvolgende pagina.\nHoogachtend,\n\n  Pagina 2 van 2\n\x0c";
        let e = paginate(raw.into());
        assert_eq!(e.furniture, 4);
        let lines: Vec<&str> = e.text.lines().collect();
        assert_eq!(
            lines,
            vec![
                "Geachte minister,",
                "De tekst loopt door op de",
                "\x0cvolgende pagina.",
                "Hoogachtend,",
            ]
        );
        // A one-page letter keeps its lines; only a lone page number goes.
        let one = paginate("Geachte minister,\n2024 was een jaar.\n- 1 -\n".into());
        assert_eq!(one.furniture, 1);
        assert!(one.text.contains("2024 was een jaar."));
    }
}
