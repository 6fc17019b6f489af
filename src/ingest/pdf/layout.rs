//! Reading order from where poppler placed the text: `pdftotext -bbox-layout` gives every
//! line of every page with its box, and this module turns a page into lines in the order a
//! reader reads them.
//!
//! Neither of pdftotext's text modes does that for the letters tolk reads. `-layout` prints a
//! Dutch government letter's right-hand column (the colofon: sender, date, reference) on the
//! same printed lines as the body, and where the two columns have different line spacing it
//! puts rows into the body that hold only colofon text, so a body paragraph comes out cut in
//! two. The reading-order mode (and poppler's own flows) reads two columns whose paragraph
//! gaps line up row by row: left, right, left, right.
//!
//! So, per page: the lines in the top margin first and those in the bottom margin last (running
//! headers and footers, wherever they stand across); in between, find a vertical gutter that
//! (almost) no line crosses, with a column of real width on either side, and read the columns
//! one after the other (recursively, so three columns work too). Within a column, lines on the
//! same row become one line (a bullet and its item, a label and its value), rows go top to
//! bottom, and a blank line goes where the vertical gap between rows is a paragraph's. Poppler's
//! own blocks are not used: it makes every cell of a table a block of its own. Latin ligatures (ﬁ, ﬂ, ...) become their letters, so a quote typed with "fi" is
//! found in the text.

use quick_xml::Reader;
use quick_xml::events::Event;

/// A line as poppler placed it: its box in points from the page's top left, its words.
#[derive(Debug, Clone)]
struct Placed {
    x0: f32,
    y0: f32,
    x1: f32,
    y1: f32,
    text: String,
}

#[derive(Debug, Default)]
struct Page {
    width: f32,
    height: f32,
    lines: Vec<Placed>,
}

/// The narrowest gutter between two columns, in points (a sixth of an inch).
const MIN_GUTTER: f32 = 12.0;
/// A column is at least this share of the page's width (a bullet's column is not one).
const MIN_COLUMN_SHARE: f32 = 0.15;
/// Baselines this many line pitches apart have a paragraph gap between them (an empty line
/// is 2, six points of space after a paragraph of 11 pt text on 14 pt is 1.4).
const PARAGRAPH_PITCH: f32 = 1.3;
/// The share of the page's height at its top and at its bottom where running headers and
/// footers sit: lines there do not stop a gutter.
const MARGIN_SHARE: f32 = 0.07;

/// The pages of a `pdftotext -bbox-layout` document as text: a page's lines in reading order,
/// pages separated by form feeds (as pdftotext's text modes separate them).
pub fn text_of(xhtml: &str) -> Result<String, String> {
    let pages = parse(xhtml)?;
    let mut out = String::new();
    for page in &pages {
        for line in page_lines(page) {
            out.push_str(&line);
            out.push('\n');
        }
        out.push('\x0c');
    }
    Ok(out)
}

fn parse(xhtml: &str) -> Result<Vec<Page>, String> {
    let mut reader = Reader::from_str(xhtml);
    let mut pages: Vec<Page> = Vec::new();
    let mut line: Option<Placed> = None;
    let mut word: Option<String> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("pdftotext's layout output does not parse: {e}"))?;
        match event {
            Event::Start(e) => {
                let attr = |name: &[u8]| -> f32 {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == name)
                        .and_then(|a| std::str::from_utf8(&a.value).ok()?.parse().ok())
                        .unwrap_or(0.0)
                };
                match e.name().as_ref() {
                    b"page" => pages.push(Page {
                        width: attr(b"width"),
                        height: attr(b"height"),
                        lines: Vec::new(),
                    }),
                    b"line" => {
                        line = Some(Placed {
                            x0: attr(b"xMin"),
                            y0: attr(b"yMin"),
                            x1: attr(b"xMax"),
                            y1: attr(b"yMax"),
                            text: String::new(),
                        })
                    }
                    b"word" => word = Some(String::new()),
                    _ => {}
                }
            }
            Event::Text(t) => {
                if let Some(w) = word.as_mut() {
                    w.push_str(&t.decode().map_err(|e| e.to_string())?);
                }
            }
            Event::GeneralRef(r) => {
                if let Some(w) = word.as_mut() {
                    let c = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                        Some(c) => c,
                        None => match &*r {
                            b"amp" => '&',
                            b"lt" => '<',
                            b"gt" => '>',
                            b"quot" => '"',
                            b"apos" => '\'',
                            other => {
                                return Err(format!(
                                    "unknown entity &{};",
                                    String::from_utf8_lossy(other)
                                ));
                            }
                        },
                    };
                    w.push(c);
                }
            }
            Event::End(e) => match e.name().as_ref() {
                b"word" => {
                    if let (Some(w), Some(l)) = (word.take(), line.as_mut()) {
                        if !l.text.is_empty() {
                            l.text.push(' ');
                        }
                        l.text.push_str(&unligature(&w));
                    }
                }
                b"line" => {
                    if let (Some(l), Some(p)) = (line.take(), pages.last_mut())
                        && !l.text.trim().is_empty()
                    {
                        p.lines.push(l);
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(pages)
}

/// The Latin ligatures of Unicode's Alphabetic Presentation Forms as their letters.
fn unligature(word: &str) -> std::borrow::Cow<'_, str> {
    if !word.chars().any(|c| ('\u{FB00}'..='\u{FB06}').contains(&c)) {
        return word.into();
    }
    let mut out = String::with_capacity(word.len() + 4);
    for c in word.chars() {
        match c {
            '\u{FB00}' => out.push_str("ff"),
            '\u{FB01}' => out.push_str("fi"),
            '\u{FB02}' => out.push_str("fl"),
            '\u{FB03}' => out.push_str("ffi"),
            '\u{FB04}' => out.push_str("ffl"),
            '\u{FB05}' | '\u{FB06}' => out.push_str("st"),
            c => out.push(c),
        }
    }
    out.into()
}

/// A page's lines in reading order, blank lines between paragraphs: what sits in the top
/// margin first (a running header, wherever it stands across), then the columns of the body,
/// then what sits in the bottom margin.
fn page_lines(page: &Page) -> Vec<String> {
    let (top, bottom) = margins(page);
    let middle = |l: &Placed| (l.y0 + l.y1) / 2.0;
    let mut parts: Vec<Vec<&Placed>> =
        vec![page.lines.iter().filter(|l| middle(l) < top).collect()];
    let body: Vec<&Placed> = page
        .lines
        .iter()
        .filter(|l| (top..=bottom).contains(&middle(l)))
        .collect();
    parts.extend(columns(page, body));
    parts.push(page.lines.iter().filter(|l| middle(l) > bottom).collect());
    let mut out = Vec::new();
    for part in parts.into_iter().filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push(String::new());
        }
        out.extend(rows(part));
    }
    out
}

/// Where the top margin ends and the bottom margin begins.
fn margins(page: &Page) -> (f32, f32) {
    (
        page.height * MARGIN_SHARE,
        page.height * (1.0 - MARGIN_SHARE),
    )
}

/// The page's lines split at gutters into columns, left to right.
fn columns<'a>(page: &Page, lines: Vec<&'a Placed>) -> Vec<Vec<&'a Placed>> {
    match gutter(page, &lines) {
        None => vec![lines],
        Some(x) => {
            let (left, right): (Vec<&Placed>, Vec<&Placed>) =
                lines.into_iter().partition(|l| l.x0 < x);
            let mut out = columns(page, left);
            out.extend(columns(page, right));
            out
        }
    }
}

/// The middle of the widest vertical band no line of the body crosses (one in twenty may, a
/// heading over both columns) with a column on either side: at least [`MIN_COLUMN_SHARE`] of
/// the page wide, three lines at least, and filling at least half the rows the other side has
/// beside it. So a colofon beside a letter's body is a column; a note beside a few rows of a
/// table (or a date set to the right) is not.
fn gutter(page: &Page, body: &[&Placed]) -> Option<f32> {
    if body.len() < 6 || page.width <= 0.0 {
        return None;
    }
    let tolerance = body.len() / 20;
    let width = page.width.ceil() as usize + 1;
    let mut cover = vec![0usize; width];
    for l in body {
        let (a, b) = (l.x0.max(0.0) as usize, (l.x1.ceil() as usize).min(width));
        for c in cover.iter_mut().take(b).skip(a) {
            *c += 1;
        }
    }
    let min_column = page.width * MIN_COLUMN_SHARE;
    let mut best: Option<(f32, f32)> = None;
    let mut x = 0;
    while x < width {
        if cover[x] > tolerance {
            x += 1;
            continue;
        }
        let start = x;
        while x < width && cover[x] <= tolerance {
            x += 1;
        }
        let (a, b) = (start as f32, x as f32);
        if b - a < MIN_GUTTER {
            continue;
        }
        let left: Vec<&Placed> = body.iter().copied().filter(|l| l.x1 <= a + 1.0).collect();
        let right: Vec<&Placed> = body.iter().copied().filter(|l| l.x0 >= b - 1.0).collect();
        let span = |side: &[&Placed]| {
            let lo = side.iter().map(|l| l.x0).fold(f32::MAX, f32::min);
            let hi = side.iter().map(|l| l.x1).fold(f32::MIN, f32::max);
            hi - lo
        };
        // How many rows of `other` lie within `side`'s height: `side` fills half of them.
        let dense = |side: &[&Placed], other: &[&Placed]| {
            let lo = side.iter().map(|l| l.y0).fold(f32::MAX, f32::min);
            let hi = side.iter().map(|l| l.y1).fold(f32::MIN, f32::max);
            let beside = other
                .iter()
                .filter(|l| (lo..=hi).contains(&((l.y0 + l.y1) / 2.0)))
                .count();
            2 * side.len() >= beside
        };
        if left.len() >= 3
            && right.len() >= 3
            && span(&left) >= min_column
            && span(&right) >= min_column
            && dense(&left, &right)
            && dense(&right, &left)
            && best.is_none_or(|(ba, bb)| b - a > bb - ba)
        {
            best = Some((a, b));
        }
    }
    best.map(|(a, b)| (a + b) / 2.0)
}

/// A column's lines as rows top to bottom (lines that share a row joined left to right), with
/// a blank line where a paragraph ends: where the distance between two baselines is over
/// [`PARAGRAPH_PITCH`] times the column's usual one. (Not a gap measured against a row's height:
/// a page of small table rows then cut every paragraph of larger text beside it.)
fn rows(mut lines: Vec<&Placed>) -> Vec<String> {
    lines.sort_by(|a, b| a.y0.total_cmp(&b.y0).then(a.x0.total_cmp(&b.x0)));
    let mut rows: Vec<Vec<&Placed>> = Vec::new();
    for l in lines {
        let same_row = rows.last().is_some_and(|row: &Vec<&Placed>| {
            let r = row[0];
            let overlap = l.y1.min(r.y1) - l.y0.max(r.y0);
            overlap >= 0.5 * (l.y1 - l.y0).min(r.y1 - r.y0)
        });
        if same_row {
            rows.last_mut().expect("a row").push(l);
        } else {
            rows.push(vec![l]);
        }
    }
    for row in &mut rows {
        row.sort_by(|a, b| a.x0.total_cmp(&b.x0));
    }
    // A row's baseline, near enough: the bottom of its lowest box. The column's line pitch is
    // the lower quartile of the distances between baselines (the median is a paragraph gap on
    // a page of one-line paragraphs), and never over 1.6 times the taller row's height (text
    // is set at 1.2 to 1.5 times its size; a page of nothing but one-line paragraphs has no
    // pitch of its own).
    let base = |row: &Vec<&Placed>| row.iter().map(|l| l.y1).fold(f32::MIN, f32::max);
    let height = |row: &Vec<&Placed>| row.iter().map(|l| l.y1 - l.y0).fold(0.0, f32::max);
    let mut pitches: Vec<f32> = rows.windows(2).map(|w| base(&w[1]) - base(&w[0])).collect();
    pitches.sort_by(f32::total_cmp);
    let quartile = pitches.get(pitches.len() / 4).copied().unwrap_or(f32::MAX);
    let mut out = Vec::new();
    let mut previous: Option<&Vec<&Placed>> = None;
    for row in &rows {
        if let Some(p) = previous {
            let pitch = quartile.min(1.6 * height(p).max(height(row)));
            let lines_apart = (base(row) - base(p)) / pitch;
            if lines_apart > PARAGRAPH_PITCH {
                // As many blank lines as empty lines would fill the gap (up to three), as
                // pdftotext -layout prints them: the normaliser reads a wider gap as a firmer
                // break (one blank line between a line that stops mid-clause and one that goes
                // on in lower case is a page's layout to it, two are not).
                let blank = (lines_apart.round() as usize).saturating_sub(1).clamp(1, 3);
                out.extend(std::iter::repeat_n(String::new(), blank));
            }
        }
        out.push(
            row.iter()
                .map(|l| l.text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        );
        previous = Some(row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(x0: f32, y0: f32, x1: f32, text: &str) -> Placed {
        Placed {
            x0,
            y0,
            x1,
            y1: y0 + 11.0,
            text: text.into(),
        }
    }

    #[test]
    fn ligatures_become_letters() {
        assert_eq!(
            unligature("ﬁnanciële reﬂectie oﬃcier"),
            "financiële reflectie officier"
        );
        assert_eq!(unligature("gewoon"), "gewoon");
    }

    #[test]
    fn a_right_hand_colofon_is_read_after_the_body_and_does_not_cut_its_paragraphs() {
        // Body at 14 pt spacing on the left, colofon at 13 pt on the right, as in a
        // Kamerbrief: no blank line may enter the body where only the colofon has a row.
        let mut lines = Vec::new();
        for (i, t) in [
            "Hierbij stuur ik u de reactie",
            "van het kabinet op de",
            "verordening.",
        ]
        .iter()
        .enumerate()
        {
            lines.push(line(72.0, 100.0 + 14.0 * i as f32, 330.0, t));
        }
        for (i, t) in ["Het kabinet wil dat", "encryptie beschermd", "blijft."]
            .iter()
            .enumerate()
        {
            lines.push(line(72.0, 156.0 + 14.0 * i as f32, 330.0, t));
        }
        for (i, t) in [
            "Datum",
            "12 maart 2024",
            "Kenmerk",
            "5012345",
            "Bijlagen",
            "1",
        ]
        .iter()
        .enumerate()
        {
            lines.push(line(400.0, 100.0 + 13.0 * i as f32, 500.0, t));
        }
        let page = Page {
            width: 595.0,
            height: 842.0,
            lines,
        };
        assert_eq!(
            page_lines(&page),
            vec![
                "Hierbij stuur ik u de reactie",
                "van het kabinet op de",
                "verordening.",
                "",
                "Het kabinet wil dat",
                "encryptie beschermd",
                "blijft.",
                "",
                "Datum",
                "12 maart 2024",
                "Kenmerk",
                "5012345",
                "Bijlagen",
                "1",
            ]
        );
    }

    #[test]
    fn a_bullet_and_its_item_share_a_line_and_a_single_column_page_is_not_split() {
        let mut lines = vec![line(
            72.0,
            100.0,
            520.0,
            "Wij vragen het kabinet om drie dingen:",
        )];
        for (i, t) in ["geen scanplicht,", "geen detectiebevelen,", "encryptie."]
            .iter()
            .enumerate()
        {
            let y = 120.0 + 14.0 * i as f32;
            lines.push(line(80.0, y, 85.0, "•"));
            lines.push(line(95.0, y, 300.0, t));
        }
        lines.push(line(72.0, 170.0, 520.0, "Hoogachtend,"));
        let page = Page {
            width: 595.0,
            height: 842.0,
            lines,
        };
        assert_eq!(
            page_lines(&page),
            vec![
                "Wij vragen het kabinet om drie dingen:",
                "",
                "• geen scanplicht,",
                "• geen detectiebevelen,",
                "• encryptie.",
                "",
                "Hoogachtend,",
            ]
        );
    }
}
