//! PDF letters: the text layer, extracted by poppler's `pdftotext -layout` (Debian package
//! poppler-utils), pages separated by form feeds.
//!
//! `-layout` keeps the printed lines as they are and the vertical gaps between paragraphs as
//! blank lines, which is what the normaliser reads paragraphs from; pdftotext's default
//! reading-order mode drops those gaps and joins hyphenated lines, so a letter came out as two
//! paragraphs (its address, salutation and body as one). Its horizontal layout (indentation,
//! right-aligned dates) is dropped here: a leading space means a page start to the normaliser.
//!
//! The text as tolk reads it is what every line number points into; it is kept beside the
//! outputs as `source.txt`. A line's page is one more than the form feeds before it. A form
//! feed is put at the start of the first line with text of every page after the first, where
//! the normaliser sees the leading whitespace that marks a page start in the extracted letters
//! (footnotes end there, a sentence cut by the page break is rejoined).

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
        .args(["-layout", "-enc", "UTF-8", "-eol", "unix"])
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
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    Ok(paginate(text))
}

/// Lines without their layout, each page's first line with text after a form feed, and the
/// page of every line. The form feed after the last page (and blank lines before it) ends the
/// text and begins no page.
pub fn paginate(raw: String) -> Extracted {
    let mut page = 1;
    let mut page_start = false;
    let mut lines: Vec<String> = Vec::new();
    let mut line_pages = Vec::new();
    for line in raw.trim_end_matches(['\x0c', '\n', ' ']).split('\n') {
        let feeds = line.matches('\x0c').count() as u32;
        if feeds > 0 {
            page += feeds;
            page_start = true;
        }
        let text = line.replace('\x0c', "");
        let text = text.trim();
        if page_start && !text.is_empty() {
            lines.push(format!("\x0c{text}"));
            page_start = false;
        } else {
            lines.push(text.to_string());
        }
        line_pages.push(page);
    }
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    Extracted {
        page_count: page,
        text,
        line_pages,
    }
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
        assert_eq!(e.line_pages, vec![1, 1, 1, 2, 2, 2]);
        let lines: Vec<&str> = e.text.lines().collect();
        assert_eq!(
            lines,
            vec![
                "Geachte minister,",
                "Tekst.     12 maart",
                "",
                "",
                "\x0cTweede pagina",
                "Einde"
            ]
        );
        let empty = paginate("\x0c".into());
        assert!(empty.text.is_empty());
    }
}
