//! Normalisation of PDF-extraction artefacts: lines become paragraphs.
//!
//! What the letters really have, and what is done about it:
//! - **Double spacing** (a blank line after every text line): detected per document when most
//!   line pairs are one blank line apart *and* most of those lines end mid-sentence. Then a single
//!   blank line is a soft wrap and only two or more blank lines break a paragraph.
//! - **Hyphenation across lines**: see [`super::hyphen_join`] for the rule.
//! - **Footnotes and page debris**: a footnote block starts after a paragraph gap at a line
//!   `N text` whose number N is the next footnote number (or up to three further, since the
//!   extraction loses some), or at a line `<sup>N</sup> text`, or at an indented line after a
//!   finished sentence (a footnote whose number the extraction lost). It runs over blank lines
//!   until the next page's first line (a line that starts with a space), the end of the file, or
//!   a paragraph gap followed by a capitalised line after a complete footnote. The sentence that
//!   the page break cut is rejoined, across a hyphen too.
//! - **Markup residue**: `<sup>N</sup>` becomes `N`, `# ` headings become headings, markdown links
//!   `[text](url)` become `text (url)`, `\(` escapes lose the backslash, `---` rules are blank,
//!   letterhead lines with `■` are address paragraphs; `EU- centrum` (a reflowed hyphen) becomes
//!   `EU-centrum`, while `communicatie- en` keeps its space.
//!
//! Invariant: each part of a paragraph is exactly one original line's cleaned text; only
//! separators are inserted between parts (and a line-final hyphen dropped), so every byte of the
//! normalised text maps to one original line.

use super::hyphen::{CONJUNCTIONS, HyphenJoin, hyphen_join};
use super::{Kind, LineMap, Paragraph};
use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;

pub(super) struct Normalized {
    pub text: String,
    pub paragraphs: Vec<Paragraph>,
    pub line_map: LineMap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Join {
    Space,
    Hyphen(HyphenJoin),
}

static SUP: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)</?sup>").unwrap());
static SUP_FOOTNOTE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*<sup>\s*\d{1,3}\s*</sup>").unwrap());
static MD_HEADING: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^#{1,6}\s+").unwrap());
static MD_LINK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[((?:\\.|[^\]\\])*)\]\(([^)\s]*)\)").unwrap());
static MD_ESCAPE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\\([()\[\]*_#`\\])").unwrap());
static RULE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*([-*_=]\s*){3,}$").unwrap());
static REFLOWED_HYPHEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\S+)- (\p{Ll}[\p{L}/]*)").unwrap());
static FOOTNOTE_START: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(\d{1,3})\s+\S").unwrap());
static SECTION_NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\(?\d{1,2}[).]?$").unwrap());
static LIST_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:[–—•▪*-]\s|o\s+\p{Lu}|(?:i{1,3}|iv|vi{0,3}|ix|x)\)\s|[a-h]\)\s|\d{1,2}[.)]\s+\S)",
    )
    .unwrap()
});
/// Letter fields that start a line of their own: "CC: ...", "Betreft: ...", "Datum 18 september".
static FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:(?:Aan|CC|Cc|Bcc|Van|Betreft|Onderwerp|Datum|Kenmerk|Bijlagen?)\s*:|(?:Datum|Onderwerp|Betreft|Kenmerk)\s)|^\d{1,2} (?:januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december) \d{4}\b").unwrap()
});
static SALUTATION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(Geachte|Beste|Dear|Zeer geachte)\b").unwrap());
static CLOSING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(Hoogachtend|Met vriendelijke groet|Met hartelijke groet|Met de meeste hoogachting|Namens)").unwrap()
});

struct Line {
    no: u32,
    clean: String,
    lead_ws: usize,
    content: bool,
    md_heading: bool,
    sup_footnote: bool,
    letterhead: bool,
}

fn clean_line(no: u32, raw: &str) -> Line {
    let lead_ws = raw.chars().take_while(|c| c.is_whitespace()).count();
    let sup_footnote = SUP_FOOTNOTE.is_match(raw);
    let mut s = SUP.replace_all(raw, "").into_owned();
    let trimmed = s.trim_start();
    let md_heading = MD_HEADING.is_match(trimmed);
    if md_heading {
        s = MD_HEADING.replace(trimmed, "").into_owned();
    }
    if RULE.is_match(&s) {
        s.clear();
    }
    s = MD_LINK
        .replace_all(&s, |c: &regex::Captures| {
            let text = &c[1];
            let url = &c[2];
            if url.is_empty() || url.starts_with('#') {
                text.to_owned()
            } else {
                format!("{text} ({url})")
            }
        })
        .into_owned();
    s = MD_ESCAPE.replace_all(&s, "$1").into_owned();
    let letterhead = s.contains('■');
    s = s.replace('■', "·");
    let mut collapsed = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !collapsed.is_empty() {
            collapsed.push(' ');
        }
        collapsed.push_str(w);
    }
    let s = REFLOWED_HYPHEN
        .replace_all(&collapsed, |c: &regex::Captures| {
            let left = &c[1];
            let right = &c[2];
            let reflowed = !CONJUNCTIONS.contains(&right.to_lowercase().as_str())
                && (left.chars().last().is_some_and(char::is_uppercase) || left.contains('-'));
            if reflowed {
                format!("{left}-{right}")
            } else {
                c[0].to_owned()
            }
        })
        .into_owned();
    let content = s.chars().any(char::is_alphanumeric);
    Line {
        no,
        clean: s,
        lead_ws,
        content,
        md_heading,
        sup_footnote,
        letterhead,
    }
}

/// Does this text end a sentence? Footnote markers ("kinderen.3") and closing quotes are looked
/// through.
fn ends_sentence(s: &str) -> bool {
    let t = s.trim_end();
    let no_digits = t.trim_end_matches(|c: char| c.is_ascii_digit());
    let t = if no_digits.len() < t.len()
        && no_digits.ends_with(['.', '!', '?', ')', '»', '”', '"', '\'', '’'])
    {
        no_digits
    } else {
        t
    };
    let t = t.trim_end_matches(['»', '”', '"', '\'', '’', ')']);
    t.ends_with(['.', '!', '?'])
}

fn ends_clause(s: &str) -> bool {
    ends_sentence(s) || s.trim_end().ends_with([':', ';'])
}

fn url_like(s: &str) -> bool {
    s.contains("://")
        || s.starts_with("www.")
        || (!s.contains(' ') && (s.contains('/') || s.ends_with(".pdf")))
}

fn starts_upper(s: &str) -> bool {
    s.chars()
        .find(|c| c.is_alphanumeric())
        .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit())
}

fn ends_with_punct(s: &str) -> bool {
    s.trim_end().ends_with(['.', ',', ';', ':', '!', '?'])
}

struct Para {
    parts: Vec<(u32, String)>,
    joins: Vec<Join>,
    footnote: bool,
    forced: Option<Kind>,
}

impl Para {
    fn new(line: &Line, footnote: bool) -> Para {
        Para {
            parts: vec![(line.no, line.clean.clone())],
            joins: Vec::new(),
            footnote,
            forced: None,
        }
    }
    fn last(&self) -> &str {
        &self.parts.last().expect("a paragraph has a line").1
    }
    fn push(&mut self, line: &Line, vocabulary: &HashSet<String>) {
        let last = self.last();
        let ends_hyphen = {
            let mut rev = last.chars().rev();
            rev.next() == Some('-') && rev.next().is_some_and(char::is_alphanumeric)
        };
        let join = if ends_hyphen {
            Join::Hyphen(hyphen_join(last, &line.clean, vocabulary))
        } else {
            Join::Space
        };
        self.joins.push(join);
        self.parts.push((line.no, line.clean.clone()));
    }
    fn first_line(&self) -> u32 {
        self.parts[0].0
    }
    fn words(&self) -> usize {
        self.parts
            .iter()
            .map(|(_, t)| t.split_whitespace().count())
            .sum()
    }
}

/// What the whole letter's layout says, measured before its lines are read one by one.
struct Layout {
    /// Every word of the letter, lower case: a hyphenated line end is joined when the joined
    /// word occurs elsewhere.
    vocabulary: HashSet<String>,
    /// Blank lines before each content line.
    gaps: Vec<usize>,
    /// The gap between lines of one paragraph: 1 in double-spaced text, else 0.
    base_gap: usize,
    /// A line at most this long, without end punctuation, may be a title.
    short_limit: usize,
    /// Few lines are indented, so an indented line after a sentence end is a footnote cut off
    /// from its number.
    orphans_possible: bool,
}

fn layout(lines: &[Line], content: &[usize]) -> Layout {
    let mut vocabulary = HashSet::new();
    for &i in content {
        for tok in lines[i].clean.split_whitespace() {
            let t = tok.trim_matches(|c: char| !c.is_alphanumeric() && c != '-');
            if !t.is_empty() {
                vocabulary.insert(t.to_lowercase());
            }
        }
    }
    let gaps: Vec<usize> = content
        .iter()
        .enumerate()
        .map(|(k, &i)| if k == 0 { i } else { i - content[k - 1] - 1 })
        .collect();
    let one_gap: Vec<usize> = (1..content.len()).filter(|&k| gaps[k] == 1).collect();
    // Double spacing is a property of wrapped text: the long lines end mid-sentence. A file of
    // one-line paragraphs separated by blank lines (markdown) has long lines that end sentences.
    let long: Vec<usize> = one_gap
        .iter()
        .copied()
        .filter(|&k| lines[content[k - 1]].clean.chars().count() >= 50)
        .collect();
    let wrapped = long
        .iter()
        .filter(|&&k| !ends_sentence(&lines[content[k - 1]].clean))
        .count();
    let double_spaced =
        content.len() > 2 && one_gap.len() * 2 >= content.len() - 1 && wrapped * 2 > long.len();
    let mut lens: Vec<usize> = content
        .iter()
        .map(|&i| lines[i].clean.chars().count())
        .filter(|&n| n >= 20)
        .collect();
    lens.sort_unstable();
    let median = lens.get(lens.len() / 2).copied().unwrap_or(80);
    let indented = content.iter().filter(|&&i| lines[i].lead_ws >= 2).count();
    Layout {
        vocabulary,
        gaps,
        base_gap: usize::from(double_spaced),
        short_limit: (median * 3 / 4).max(40),
        orphans_possible: indented * 20 < content.len().max(1),
    }
}

/// Lines into paragraphs: one pass over the content lines, in two steps a line. A footnote
/// zone (the notes at the foot of a page) takes the lines that are its notes; every other line
/// starts a body paragraph or goes on the current one. What a line shows about itself and its
/// neighbours is read first ([`At`]); what the lines before it left open is the [`Reader`]'s
/// state. Each rule says why beside it.
pub(super) fn normalize(raw: &[&str]) -> Normalized {
    let lines: Vec<Line> = raw
        .iter()
        .enumerate()
        .map(|(i, r)| clean_line(i as u32 + 1, r))
        .collect();
    let content: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].content).collect();
    let layout = layout(&lines, &content);
    let mut reader = Reader::new(&layout);
    for k in 0..content.len() {
        let at = At::of(k, &lines, &content, &layout);
        let line = &lines[content[k]];
        if !reader.footnote(line, &at) {
            reader.body(line, &at);
        }
    }
    let mut paras = reader.paras;
    paras.sort_by_key(Para::first_line);
    let kinds = assign_kinds(&paras);
    assemble(&lines, paras, kinds)
}

/// What a content line shows about itself and its neighbours.
struct At<'l> {
    /// Its index among the content lines.
    k: usize,
    /// More blank lines before it than between the lines of a paragraph.
    gap: bool,
    /// A paragraph break before it: a gap that is not page layout inside a clause.
    brk: bool,
    /// It is indented: the first line of a page, in the text of a PDF extraction.
    page_start: bool,
    /// The next content line, and whether a break comes before it.
    next: Option<&'l Line>,
    next_brk: bool,
    words: usize,
}

impl<'l> At<'l> {
    fn of(k: usize, lines: &'l [Line], content: &[usize], layout: &Layout) -> At<'l> {
        let (gaps, base_gap) = (&layout.gaps, layout.base_gap);
        let line = &lines[content[k]];
        let text = line.clean.as_str();
        // A single extra blank line between a line that stops mid-clause and a line that goes on
        // in lower case is page layout, not a paragraph break ("coördine-" / "" / "rende").
        let mid_clause = k > 0
            && gaps[k] == base_gap + 1
            && !ends_clause(&lines[content[k - 1]].clean)
            && text.chars().next().is_some_and(char::is_lowercase)
            && !LIST_START.is_match(text);
        let gap = k > 0 && gaps[k] > base_gap;
        At {
            k,
            gap,
            brk: gap && !mid_clause,
            page_start: line.lead_ws >= 1,
            next: content.get(k + 1).map(|&j| &lines[j]),
            next_brk: content
                .get(k + 1)
                .map(|_| gaps[k + 1] > base_gap)
                .unwrap_or(true),
            words: text.split_whitespace().count(),
        }
    }
}

/// The paragraphs read so far, and what the lines before left open.
struct Reader<'a> {
    layout: &'a Layout,
    paras: Vec<Para>,
    cur_body: Option<usize>,
    cur_foot: Option<usize>,
    /// Inside a footnote zone.
    in_zone: bool,
    /// Body text resumes after a footnote zone (a new page): it goes on the paragraph the
    /// page break cut, unless that one had ended.
    resuming: bool,
    /// The line before (a heading, a letterhead line, a section number) ends its paragraph.
    force_break: bool,
    /// The number the next footnote should have.
    expected_note: u32,
}

impl<'a> Reader<'a> {
    fn new(layout: &'a Layout) -> Reader<'a> {
        Reader {
            layout,
            paras: Vec::new(),
            cur_body: None,
            cur_foot: None,
            in_zone: false,
            resuming: false,
            force_break: false,
            expected_note: 1,
        }
    }

    /// A footnote number opening the line, when it is the next note's (or a few after it):
    /// a line of the body that starts with a number is not a note.
    fn note_number(&self, line: &Line) -> Option<u32> {
        if line.lead_ws != 0 {
            return None;
        }
        FOOTNOTE_START
            .captures(&line.clean)
            .and_then(|c| c[1].parse::<u32>().ok())
            .filter(|&n| n >= self.expected_note && n <= self.expected_note + 3)
    }

    /// A new footnote paragraph from `line`.
    fn new_note(&mut self, line: &Line, number: Option<u32>) {
        if let Some(n) = number {
            self.expected_note = n + 1;
        }
        self.paras.push(Para::new(line, true));
        self.cur_foot = Some(self.paras.len() - 1);
    }

    /// Take `line` into the footnote zone when it belongs there (a note, or the rest of one),
    /// or open a zone with it; leave it to the body (false) when the zone ends before it.
    fn footnote(&mut self, line: &Line, at: &At<'_>) -> bool {
        let text = line.clean.as_str();
        let number = self.note_number(line);
        if !self.in_zone {
            let prev_ends = self
                .cur_body
                .is_none_or(|b| ends_sentence(self.paras[b].last()));
            let starts_zone = line.sup_footnote
                || (number.is_some() && at.gap)
                || (self.layout.orphans_possible && line.lead_ws >= 2 && at.k > 0 && prev_ends);
            if starts_zone {
                self.new_note(line, number);
                self.in_zone = true;
            }
            return starts_zone;
        }
        let foot = self.cur_foot.expect("a zone has a footnote");
        let last = self.paras[foot].last().to_owned();
        if at.page_start && !line.sup_footnote {
            // The next page's body begins.
            self.in_zone = false;
            self.resuming = true;
            false
        } else if line.sup_footnote || number.is_some() {
            self.new_note(line, number);
            true
        } else if line.md_heading
            || line.letterhead
            || (at.brk
                && (ends_sentence(&last) || url_like(&last))
                && starts_upper(text)
                && !url_like(text))
        {
            // The zone ends at a heading, or at a new sentence after a finished note.
            self.in_zone = false;
            self.cur_body = None;
            false
        } else {
            self.paras[foot].push(line, &self.layout.vocabulary);
            true
        }
    }

    /// `line` starts a body paragraph or goes on the current one.
    fn body(&mut self, line: &Line, at: &At<'_>) {
        let text = line.clean.as_str();
        let prev_last = self.cur_body.map(|b| self.paras[b].last().to_owned());
        let prev_ends = prev_last.as_deref().is_none_or(ends_sentence);
        let prev_clause = prev_last.as_deref().is_none_or(ends_clause);
        let section = SECTION_NUMBER.is_match(text);
        let list_start = LIST_START.is_match(text) && !section;
        let short_title = text.chars().count() <= self.layout.short_limit
            && !ends_with_punct(text)
            && starts_upper(text)
            && at.words <= 12
            && !list_start;
        let heading_line = short_title
            && (prev_ends || at.brk || prev_clause)
            && at.next.is_some_and(|n| starts_upper(&n.clean));
        let page_title = at.page_start && short_title && at.words <= 4 && at.next_brk;
        let field = FIELD.is_match(text);
        let new_para = self.cur_body.is_none()
            || self.force_break
            || field
            || line.md_heading
            || line.letterhead
            || section
            || page_title
            || heading_line
            || if self.resuming {
                prev_ends
            } else {
                at.brk || (at.page_start && prev_ends)
            }
            || (list_start && (at.brk || prev_clause));
        self.resuming = false;
        if new_para {
            let mut p = Para::new(line, false);
            if line.md_heading {
                p.forced = Some(Kind::Heading);
            } else if line.letterhead {
                p.forced = Some(Kind::Address);
            }
            self.paras.push(p);
            self.cur_body = Some(self.paras.len() - 1);
        } else {
            let b = self.cur_body.expect("checked above");
            self.paras[b].push(line, &self.layout.vocabulary);
        }
        self.force_break =
            line.md_heading || line.letterhead || section || heading_line || page_title;
    }
}

fn assign_kinds(paras: &[Para]) -> Vec<Kind> {
    let mut kinds = Vec::with_capacity(paras.len());
    let body_like = |p: &Para| p.words() >= 20 && ends_clause(p.last());
    // The letterhead (addressees, subject, date) is what stands before the first real paragraph.
    let first_body = paras.iter().position(|p| !p.footnote && body_like(p));
    let mut header = first_body.is_some();
    let mut closing = false;
    for (n, p) in paras.iter().enumerate() {
        if Some(n) == first_body {
            header = false;
        }
        let first = p.parts[0].1.as_str();
        let words = p.words();
        let one_line_title = p.parts.len() == 1
            && !ends_with_punct(first)
            && words <= 12
            && first.chars().next().is_some_and(|c| !c.is_lowercase());
        let kind = if p.footnote {
            Kind::Footnote
        } else if let Some(k) = p.forced {
            k
        } else if SALUTATION.is_match(first) && words <= 12 {
            header = false;
            Kind::Salutation
        } else if CLOSING.is_match(first) && words <= 12 {
            closing = true;
            header = false;
            Kind::Signature
        } else if LIST_START.is_match(first) && !SECTION_NUMBER.is_match(first) {
            header = false;
            Kind::ListItem
        } else if header {
            Kind::Address
        } else if closing && words <= 12 {
            Kind::Signature
        } else if one_line_title {
            header = false;
            Kind::Heading
        } else if p.parts.len() <= 3 && words <= 8 && first.trim_end().ends_with(',') {
            Kind::Signature
        } else {
            header = false;
            closing = false;
            Kind::Body
        };
        kinds.push(kind);
    }
    kinds
}

fn assemble(lines: &[Line], paras: Vec<Para>, kinds: Vec<Kind>) -> Normalized {
    let mut text = String::new();
    let mut runs: Vec<(usize, u32)> = Vec::new();
    let mut paragraphs = Vec::with_capacity(paras.len());
    for (n, (p, kind)) in paras.into_iter().zip(kinds).enumerate() {
        if n > 0 {
            text.push_str("\n\n");
        }
        let start = text.len();
        let line_break = matches!(kind, Kind::Address | Kind::Signature);
        for (k, (line_no, part)) in p.parts.iter().enumerate() {
            if k > 0 {
                match p.joins[k - 1] {
                    Join::Space => text.push(if line_break { '\n' } else { ' ' }),
                    Join::Hyphen(HyphenJoin::Drop) => {
                        text.pop();
                    }
                    Join::Hyphen(HyphenJoin::Keep) => {}
                    Join::Hyphen(HyphenJoin::KeepSpace) => text.push(' '),
                }
            }
            runs.push((text.len(), *line_no));
            text.push_str(part);
        }
        let part_lines: Vec<u32> = p.parts.iter().map(|(l, _)| *l).collect();
        let mut spans: Vec<[u32; 2]> = Vec::new();
        for &l in &part_lines {
            match spans.last_mut() {
                // Extend the run when only blank lines stand between.
                Some(span) if ((span[1] + 1)..l).all(|m| !lines[(m - 1) as usize].content) => {
                    span[1] = l
                }
                _ => spans.push([l, l]),
            }
        }
        paragraphs.push(Paragraph {
            id: format!("p{}", n + 1),
            kind,
            lines: [part_lines[0], *part_lines.last().expect("non-empty")],
            spans,
            byte_range: [start, text.len()],
            text: text[start..].to_owned(),
        });
    }
    let len = text.len();
    Normalized {
        text,
        paragraphs,
        line_map: LineMap::new(runs, len),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_markup_is_cleaned() {
        let l = clean_line(
            1,
            "aanpak<sup>1</sup>. Zie [rapport \\(pdf\\)](https://x.nl/a.pdf)",
        );
        assert_eq!(l.clean, "aanpak1. Zie rapport (pdf) (https://x.nl/a.pdf)");
        let l = clean_line(1, "## Offlimits");
        assert!(l.md_heading);
        assert_eq!(l.clean, "Offlimits");
        assert!(!clean_line(1, "---").content);
        assert_eq!(
            clean_line(1, "het EU- centrum en").clean,
            "het EU-centrum en"
        );
        assert_eq!(
            clean_line(1, "anonimiteit- en encryptie").clean,
            "anonimiteit- en encryptie"
        );
    }

    #[test]
    fn sentence_ends_look_through_footnote_markers() {
        assert!(ends_sentence("video's.1 "));
        assert!(ends_sentence("keuren». "));
        assert!(!ends_sentence("mogelijkheden» (2023)"));
        assert!(!ends_sentence("platformen kunnen "));
    }

    fn norm(text: &str) -> Normalized {
        let lines = super::super::split_lines(text);
        normalize(&lines)
    }

    #[test]
    fn double_spacing_keeps_paragraphs_and_finds_breaks() {
        let n = norm(
            "Eerste regel van de alinea loopt\n\ndoor op de tweede regel en\n\neindigt hier.\n\n \n\nTweede alinea begint hier en\n\nloopt ook door.\n",
        );
        let texts: Vec<&str> = n.paragraphs.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "Eerste regel van de alinea loopt door op de tweede regel en eindigt hier.",
                "Tweede alinea begint hier en loopt ook door."
            ]
        );
        assert_eq!(n.paragraphs[0].lines, [1, 5]);
        assert_eq!(n.paragraphs[0].spans, vec![[1, 5]]);
    }

    #[test]
    fn footnotes_at_a_page_break_are_split_off_and_the_sentence_rejoined() {
        let n = norm(
            "Een zin die over de pagina-\nrand loopt en hier nog niet af is, want de kindermis-\n\n1 Een voetnoot met tekst.\n2 Nog een voetnoot die\ndoorloopt.\n bruik gaat door op de volgende pagina.\n",
        );
        let texts: Vec<(&str, Kind)> = n
            .paragraphs
            .iter()
            .map(|p| (p.text.as_str(), p.kind))
            .collect();
        assert_eq!(
            texts,
            vec![
                (
                    "Een zin die over de paginarand loopt en hier nog niet af is, want de kindermisbruik gaat door op de volgende pagina.",
                    Kind::Body
                ),
                ("1 Een voetnoot met tekst.", Kind::Footnote),
                ("2 Nog een voetnoot die doorloopt.", Kind::Footnote),
            ]
        );
        assert_eq!(n.paragraphs[0].spans, vec![[1, 2], [7, 7]]);
        assert_eq!(
            n.line_map.line_at(n.paragraphs[0].byte_range[1] - 3),
            Some(7)
        );
    }
}
