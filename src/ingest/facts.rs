//! Letter facts: what a Dutch letter says about itself in the fixed places of the genre, read
//! by rules, with the lines each fact stands on. No model is asked: where the letter does not
//! say, the fact is absent, never guessed.
//!
//! The places: the head of the letter (the paragraphs before the salutation, or before the
//! first paragraph of running text) with its fields (`Aan`, `CC`, `Datum`, `Betreft` /
//! `Onderwerp`, `Ons kenmerk` / `Uw kenmerk` / `Kenmerk`), an address block of functions and
//! names, a dated place line (`30 september 2024, Leiden`, `Den Haag, 18 september 2023`), a
//! Kamerbrief's dossier and number lines and its `BRIEF VAN DE ...` line; the salutation
//! (`Geachte ...`); and the signature block at the end (the closing formula, names, functions,
//! `namens ...`). Values are the letter's own words; a date is also given as an ISO date.

use super::{Document, Kind, Paragraph};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// The file of a letter's facts in its folder of a run.
pub const FILE: &str = "facts.json";

/// What a letter says about itself. Every fact carries the lines it stands on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Facts {
    pub date: Option<DateFact>,
    /// The place the letter was written (of a dated place line).
    pub place: Option<Fact>,
    /// Who sends the letter: a function (`De Minister van Justitie en Veiligheid`), an
    /// organisation, or the organisations it speaks for.
    pub sender: Option<Fact>,
    /// The people who sign it, with their functions when the letter gives them.
    pub signatories: Vec<Signatory>,
    /// Whom it is addressed to, one each.
    pub addressees: Vec<Fact>,
    /// Who receives a copy.
    pub cc: Vec<Fact>,
    pub subject: Option<Fact>,
    /// Its references: `Ons kenmerk`, `Uw kenmerk`, a Kamerstuk's dossier and number.
    pub references: Vec<Fact>,
    pub salutation: Option<Fact>,
}

/// One fact: the letter's words and where they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Fact {
    pub value: String,
    /// First and last line (1-based, inclusive) of the source file (of `source.txt` for a PDF).
    pub lines: [u32; 2],
    /// The page, for a PDF letter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
}

/// The letter's date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DateFact {
    /// As an ISO date: `2024-09-18`.
    pub value: String,
    /// As the letter writes it: `18 september 2024`.
    pub written: String,
    pub lines: [u32; 2],
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
}

/// One who signs the letter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Signatory {
    pub name: String,
    /// Their function, as the letter gives it.
    pub title: Option<String>,
    pub lines: [u32; 2],
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
}

impl Facts {
    /// Nothing was found.
    pub fn is_empty(&self) -> bool {
        *self == Facts::default()
    }
}

/// Read the facts of `doc`.
pub fn read(doc: &Document) -> Facts {
    let mut facts = Facts::default();
    let head = head(doc);
    let mut i = 0;
    while i < head.len() {
        i += head_paragraph(doc, &head, i, &mut facts);
    }
    facts.salutation = doc
        .paragraphs
        .iter()
        .take(head.len() + 3)
        .find(|p| p.kind == Kind::Salutation)
        .map(|p| fact(doc, p.text.trim().trim_end_matches(','), p.lines));
    signature(doc, &mut facts);
    if facts.sender.is_none() {
        facts.sender = on_behalf_of(doc);
    }
    facts
}

/// The head of the letter: its paragraphs before the salutation, or, without one, before the
/// first paragraph of running text.
fn head(doc: &Document) -> Vec<&Paragraph> {
    let end = doc
        .paragraphs
        .iter()
        .position(|p| p.kind == Kind::Salutation)
        .or_else(|| doc.paragraphs.iter().position(|p| p.kind == Kind::Body))
        .unwrap_or(0);
    doc.paragraphs[..end]
        .iter()
        .filter(|p| p.kind != Kind::Footnote)
        .collect()
}

fn fact(doc: &Document, value: &str, lines: [u32; 2]) -> Fact {
    Fact {
        value: one_line(value),
        lines,
        page: doc.page_of(lines[0]),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A field of the head: `label` (any case), then `:` or a space, then its value.
fn field<'t>(text: &'t str, labels: &[&str]) -> Option<&'t str> {
    let t = text.trim_start();
    labels.iter().find_map(|label| {
        let head = t.get(..label.len())?;
        if !head.eq_ignore_ascii_case(label) {
            return None;
        }
        let rest = &t[label.len()..];
        let value = rest
            .strip_prefix(':')
            .or_else(|| rest.starts_with(char::is_whitespace).then_some(rest))?;
        let value = value.trim();
        (!value.is_empty()).then_some(value)
    })
}

/// Read head paragraph `i` into `facts`; how many paragraphs it took (a subject may go on in
/// the next).
fn head_paragraph(doc: &Document, head: &[&Paragraph], i: usize, facts: &mut Facts) -> usize {
    let p = head[i];
    let text = p.text.trim();
    if let Some(v) = field(text, &["Datum"]) {
        if let Some((iso, written)) = date_in(v) {
            facts.date.get_or_insert(DateFact {
                value: iso,
                written,
                lines: p.lines,
                page: doc.page_of(p.lines[0]),
            });
        }
        return 1;
    }
    if let Some(v) = field(text, &["Betreft", "Onderwerp"]) {
        // A subject cut by the layout goes on in the next paragraphs of the head while it ends
        // on a word that cannot end it ("Advies inzake het" / "Kabinetsstandpunt over de").
        let mut value = v.to_string();
        let mut lines = p.lines;
        let mut took = 1;
        while dangling(&value)
            && let Some(next) = head.get(i + took)
            && !is_field(&next.text)
            && date_line(&next.text).is_none()
        {
            value = format!("{value} {}", next.text.trim());
            lines[1] = next.lines[1];
            took += 1;
        }
        facts.subject.get_or_insert(fact(doc, &value, lines));
        return took;
    }
    if let Some(v) = field(text, &["Aan"]) {
        facts.addressees.push(fact(doc, v, p.lines));
        return 1;
    }
    if let Some(v) = field(text, &["CC", "Kopie aan", "Afschrift aan"]) {
        facts.cc.push(fact(doc, v, p.lines));
        return 1;
    }
    for label in [
        "Ons kenmerk",
        "Uw kenmerk",
        "Kenmerk",
        "Referentie",
        "Uw brief van",
    ] {
        if let Some(v) = field(text, &[label]) {
            facts
                .references
                .push(fact(doc, &format!("{label} {v}"), p.lines));
            return 1;
        }
    }
    if let Some((iso, written, place)) = date_line(text) {
        facts.date.get_or_insert(DateFact {
            value: iso,
            written,
            lines: p.lines,
            page: doc.page_of(p.lines[0]),
        });
        if let Some(place) = place {
            facts.place.get_or_insert(fact(doc, &place, p.lines));
        }
        return 1;
    }
    if let Some(c) = KAMERSTUK_NUMBER.captures(text) {
        facts
            .references
            .push(fact(doc, &format!("Nr. {}", &c[1]), p.lines));
        if let Some(from) = c.get(2) {
            facts
                .sender
                .get_or_insert(fact(doc, &sentence_case(from.as_str()), p.lines));
        }
        return 1;
    }
    if let Some(c) = DOSSIER.captures(text) {
        facts
            .references
            .push(fact(doc, &format!("Kamerstuk {}", &c[1]), p.lines));
        return 1;
    }
    address_block(doc, p, facts);
    1
}

/// Does the text open with one of the head's field labels?
fn is_field(text: &str) -> bool {
    field(
        text,
        &[
            "Datum",
            "Betreft",
            "Onderwerp",
            "Aan",
            "CC",
            "Kenmerk",
            "Ons kenmerk",
            "Uw kenmerk",
        ],
    )
    .is_some()
}

/// A subject that ends on a word no subject ends on (an article, a preposition, a conjunction).
fn dangling(s: &str) -> bool {
    const OPEN: &[&str] = &[
        "de", "het", "een", "van", "over", "inzake", "voor", "ter", "en", "of", "op", "aan", "met",
        "bij", "in", "tot", "om", "naar", "tegen", "tussen",
    ];
    s.split_whitespace()
        .last()
        .is_some_and(|w| OPEN.contains(&w.to_lowercase().as_str()))
}

/// Lines of the head that each name a function or a person: an address block, one addressee a
/// line (`Minister van Justitie en Veiligheid Van Weel,`). Letterhead lines (a name in capitals,
/// a street, a telephone number) are not addressees.
fn address_block(doc: &Document, p: &Paragraph, facts: &mut Facts) {
    let lines: Vec<(u32, String)> = (p.lines[0]..=p.lines[1])
        .filter_map(|n| {
            let t = doc.original_line(n)?.trim();
            (!t.is_empty()).then(|| (n, t.to_string()))
        })
        .collect();
    if lines.is_empty() || !lines.iter().all(|(_, t)| ADDRESSEE.is_match(t)) {
        return;
    }
    for (n, t) in lines {
        let v = t.trim_end_matches(',').trim();
        facts.addressees.push(fact(doc, v, [n, n]));
    }
}

/// `Den Haag, 18 september 2023` or `30 september 2024, Leiden` (or a date alone): the ISO
/// date, the date as written, and the place.
fn date_line(text: &str) -> Option<(String, String, Option<String>)> {
    let t = one_line(text);
    let t = t.trim_end_matches('.');
    if t.chars().count() > 60 {
        return None;
    }
    let c = DATE_LINE.captures(t)?;
    let (iso, written) = date_in(&c["date"])?;
    let place = c
        .name("before")
        .or_else(|| c.name("after"))
        .map(|m| m.as_str().trim().to_string());
    Some((iso, written, place))
}

/// The first date in `text`: `18 september 2024`, `18 sept. 2024`, `18-09-2024`.
pub fn date_in(text: &str) -> Option<(String, String)> {
    if let Some(c) = DATE_WORDS.captures(text) {
        let month = month(&c["month"])?;
        let (day, year) = (c["day"].parse().ok()?, c["year"].parse().ok()?);
        return Some((iso(year, month, day)?, c[0].trim().to_string()));
    }
    let c = DATE_DIGITS.captures(text)?;
    let (day, month, year) = (
        c["day"].parse().ok()?,
        c["month"].parse().ok()?,
        c["year"].parse().ok()?,
    );
    Some((iso(year, month, day)?, c[0].to_string()))
}

fn iso(year: i32, month: u8, day: u8) -> Option<String> {
    let m = time::Month::try_from(month).ok()?;
    let d = time::Date::from_calendar_date(year, m, day).ok()?;
    Some(format!(
        "{:04}-{:02}-{:02}",
        d.year(),
        u8::from(d.month()),
        d.day()
    ))
}

fn month(name: &str) -> Option<u8> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "maa", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec",
    ];
    let n = name.to_lowercase();
    let n = if n.starts_with("mrt") { "maa" } else { &n };
    MONTHS
        .iter()
        .position(|m| n.starts_with(m))
        .map(|i| i as u8 + 1)
}

/// `MINISTER VAN JUSTITIE EN VEILIGHEID` -> `Minister van Justitie en Veiligheid`: a line in
/// capitals as the rest of the letter writes such a function.
fn sentence_case(s: &str) -> String {
    const SMALL: &[&str] = &["van", "de", "het", "en", "der", "voor", "op", "in", "ter"];
    s.split_whitespace()
        .enumerate()
        .map(|(i, w)| {
            let lower = w.to_lowercase();
            if i > 0 && SMALL.contains(&lower.as_str()) {
                lower
            } else {
                let mut c = lower.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect())
                    .unwrap_or_default()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The signature block: the signature paragraphs at the end of the letter's text, their names
/// and functions; a function that opens with `De` (`De Minister van Justitie en Veiligheid,`)
/// is the sender, and so is the organisation a signatory's function names.
fn signature(doc: &Document, facts: &mut Facts) {
    // The last run of signature paragraphs: at the end of the letter, or before its annex.
    let Some(last) = doc
        .paragraphs
        .iter()
        .rposition(|p| p.kind == Kind::Signature)
    else {
        return;
    };
    let first = doc.paragraphs[..last]
        .iter()
        .rposition(|p| p.kind != Kind::Signature && p.kind != Kind::Footnote)
        .map_or(0, |i| i + 1);
    let block: Vec<(u32, String)> = doc.paragraphs[first..=last]
        .iter()
        .filter(|p| p.kind == Kind::Signature)
        .flat_map(|p| p.lines[0]..=p.lines[1])
        .filter_map(|n| {
            let t = doc.original_line(n)?.trim();
            (!t.is_empty() && !CLOSING.is_match(t)).then(|| (n, t.to_string()))
        })
        .collect();
    let mut pending_title: Option<(u32, String)> = None;
    for (n, line) in block {
        let line = line.trim_end_matches(',').trim().to_string();
        // `Maroš Šefčovič, Vicevoorzitter`: a name and its function on one line.
        let (name_part, title_part) = match line.split_once(", ") {
            Some((a, b)) if NAME.is_match(a) && !FUNCTION.is_match(a) => {
                (a.to_string(), Some(b.to_string()))
            }
            _ => (line.clone(), None),
        };
        if FUNCTION.is_match(&line) && title_part.is_none() {
            if line.starts_with("De ") || line.starts_with("Het ") {
                facts.sender.get_or_insert(fact(doc, &line, [n, n]));
            }
            // A function after a name is that name's; before one, the next name's.
            match facts.signatories.last_mut() {
                Some(s) if s.title.is_none() && s.lines[1] + 2 >= n => {
                    s.title = Some(line.clone());
                    s.lines[1] = n;
                }
                _ => pending_title = Some((n, line.clone())),
            }
            continue;
        }
        if NAME.is_match(&name_part) {
            let (title, start) = match (title_part, pending_title.take()) {
                (Some(t), _) => (Some(t), n),
                (None, Some((m, t))) => (Some(t), m),
                (None, None) => (None, n),
            };
            facts.signatories.push(Signatory {
                name: name_part,
                title,
                lines: [start, n],
                page: doc.page_of(start),
            });
        }
    }
    if facts.sender.is_none() {
        facts.sender = facts.signatories.iter().find_map(|s| {
            let org = organisation_of(s.title.as_deref()?)?;
            Some(fact(doc, &org, s.lines))
        });
    }
}

/// The organisation a function names: `Directeur-bestuurder Offlimits` -> `Offlimits`,
/// `Lid van de Commissie` -> `de Commissie`.
fn organisation_of(title: &str) -> Option<String> {
    if let Some(c) = OF_ORGANISATION.captures(title) {
        return Some(c[1].to_string());
    }
    let rest = FUNCTION_WORD.replace(title, "").trim().to_string();
    (rest.chars().next().is_some_and(char::is_uppercase) && rest != title).then_some(rest)
}

/// `Namens twaalf organisaties` (in the opening or the closing of a letter that several
/// organisations send): they are its sender.
fn on_behalf_of(doc: &Document) -> Option<Fact> {
    let n = doc.paragraphs.len();
    let places = doc
        .paragraphs
        .iter()
        .filter(|p| p.kind != Kind::Footnote)
        .take(8)
        .chain(doc.paragraphs.iter().skip(n.saturating_sub(8)));
    for p in places {
        if let Some(c) = ON_BEHALF.captures(&p.text) {
            return Some(fact(doc, &c[1], p.lines));
        }
    }
    None
}

static DATE_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?P<day>[0-3]?\d)\s+(?P<month>januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december|jan|feb|mrt|apr|jun|jul|aug|sept?|okt|nov|dec)\.?\s+(?P<year>(?:19|20)\d\d)\b",
    )
    .expect("a valid pattern")
});

static DATE_DIGITS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?P<day>[0-3]?\d)[-/.](?P<month>[01]?\d)[-/.](?P<year>(?:19|20)\d\d)\b")
        .expect("a valid pattern")
});

/// A line that is a date, with a place before or after it.
static DATE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    let date = r"(?:[0-3]?\d\s+\p{L}+\.?\s+(?:19|20)\d\d|[0-3]?\d[-/.][01]?\d[-/.](?:19|20)\d\d)";
    let place = r"\p{Lu}[\p{L}\p{M}'’ -]{1,30}";
    Regex::new(&format!(
        r"^(?:(?P<before>{place}),\s*)?(?P<date>{date})(?:,\s*(?P<after>{place}))?$"
    ))
    .expect("a valid pattern")
});

/// A Kamerstuk's number line: `Nr. 1069  BRIEF VAN DE MINISTER VAN JUSTITIE EN VEILIGHEID`.
static KAMERSTUK_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^Nr\.\s*(\d+)(?:\s+BRIEF VAN (?:DE |HET )?(.+))?$").expect("a valid pattern")
});

/// A Kamerstuk's dossier line: `26 643 Informatie- en communicatietechnologie (ICT)`.
static DOSSIER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\d{2} \d{3})(?:-[IVX]+)?\s+\p{Lu}").expect("a valid pattern"));

/// The words a function opens with.
const FUNCTIONS: &str = r"Minister|Staatssecretaris|Voorzitter|Vicevoorzitter|Directeur(?:-bestuurder)?|Bestuurder|Secretaris(?:-generaal)?|Commissaris|Lid van|Woordvoerder|Burgemeester|Wethouder|Hoofd|Coördinator|Programmamanager|Beleidsadviseur|President";

static FUNCTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"(?i)^(?:De |Het )?(?:{FUNCTIONS})\b")).expect("a valid pattern")
});

static FUNCTION_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"^(?:De |Het )?(?:{FUNCTIONS})\b")).expect("a valid pattern")
});

/// `... van de Commissie`, `... van Offlimits`: the organisation at the end of a function.
static OF_ORGANISATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bvan ((?:de |het )?\p{Lu}[\p{L}\p{M}-]*(?: \p{Lu}[\p{L}\p{M}-]*)*)$")
        .expect("a valid pattern")
});

/// A line of an address block: a function, or a person by their title.
static ADDRESSEE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^(?:(?:De |Het )?(?:{FUNCTIONS})|Dhr\.|Mevr\.|De heer|Mevrouw|De leden|De woordvoerders)\b"
    ))
    .expect("a valid pattern")
});

/// A person's name: capitalised words (initials, particles such as `van` between them), their
/// letters precomposed or not (`Šefčovič` is often `S` and a combining caron in an extraction).
static NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:(?:mr|dr|drs|ir|prof)\.\s+)?(?:\p{Lu}\.\s?)*\p{Lu}[\p{L}\p{M}'’-]+(?:\s+(?:(?:van|de|der|den|ten|ter|te|von|la|le)\s+)*(?:\p{Lu}\.\s?)*\p{Lu}[\p{L}\p{M}'’-]+){0,3}$",
    )
    .expect("a valid pattern")
});

/// The closing formula and the words around the signatures that name no one.
static CLOSING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:met (?:vriendelijke|hartelijke) groet(?:en)?|hoogachtend|met hoogachting|met vriendelijke groeten|namens\b|waaronder\b|bijlage)",
    )
    .expect("a valid pattern")
});

/// `namens twaalf organisaties`, `namens de volgende organisaties`.
static ON_BEHALF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bnamens ((?:de volgende |\p{L}+ )?(?:organisaties|partijen|instellingen))")
        .expect("a valid pattern")
});

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn facts_of(text: &str) -> Facts {
        let doc = crate::ingest::from_bytes("d", Path::new("d.txt"), text.as_bytes()).unwrap();
        read(&doc)
    }

    /// The running text of a letter: paragraphs of whole sentences, one line each.
    const BODY: &str = "Wij schrijven u over het voorstel voor een verordening, dat wij met grote zorg hebben gelezen en waarover wij u hierbij ons advies geven, zoals u ons vroeg.\n\nHet voorstel raakt aan de vertrouwelijkheid van de communicatie van alle burgers, en daarom vragen wij u het niet te steunen zoals het nu voorligt.\n\nWij zijn graag bereid u nader te informeren over onze zorgen en over de alternatieven die wij zien voor een betere bescherming van kinderen.";

    #[test]
    fn dates_are_read_in_the_ways_letters_write_them() {
        assert_eq!(
            date_in("18 september 2024"),
            Some(("2024-09-18".into(), "18 september 2024".into()))
        );
        assert_eq!(
            date_in("op 3 mrt. 2021").map(|d| d.0),
            Some("2021-03-03".into())
        );
        assert_eq!(
            date_in("1 sept 2023").map(|d| d.0),
            Some("2023-09-01".into())
        );
        assert_eq!(
            date_in("18-09-2024").map(|d| d.0),
            Some("2024-09-18".into())
        );
        assert_eq!(
            date_in("31 februari 2024"),
            None,
            "not a day of the calendar"
        );
        assert_eq!(date_in("in 2024"), None);
        assert_eq!(
            date_line("30 september 2024, Leiden"),
            Some((
                "2024-09-30".into(),
                "30 september 2024".into(),
                Some("Leiden".into())
            ))
        );
        assert_eq!(
            date_line("Den Haag, 18 september 2023").map(|d| d.2),
            Some(Some("Den Haag".into()))
        );
        assert_eq!(
            date_line("Op 18 september 2023 stuurden wij u een brief."),
            None
        );
    }

    #[test]
    fn the_fields_of_a_letter_head_are_read_with_their_lines() {
        let f = facts_of(&format!(
            "Aan: De woordvoerders van de Commissie Digitale Zaken\n\nCC: Dhr. A. de Vries, Minister van Financiën\n\nOns kenmerk 2024-0012\n\nBetreft: Advies inzake het\n\nwetsvoorstel over de\n\nCSAM-verordening\n\n12 maart 2024, Utrecht\n\nGeachte woordvoerder,\n\n{BODY}\n"
        ));
        assert_eq!(f.addressees.len(), 1);
        assert_eq!(
            f.addressees[0].value,
            "De woordvoerders van de Commissie Digitale Zaken"
        );
        assert_eq!(f.addressees[0].lines, [1, 1]);
        assert_eq!(f.cc[0].value, "Dhr. A. de Vries, Minister van Financiën");
        assert_eq!(f.references[0].value, "Ons kenmerk 2024-0012");
        let subject = f.subject.unwrap();
        assert_eq!(
            subject.value, "Advies inzake het wetsvoorstel over de CSAM-verordening",
            "a subject cut after an article goes on"
        );
        assert_eq!(subject.lines, [7, 11]);
        let date = f.date.unwrap();
        assert_eq!((date.value.as_str(), date.lines), ("2024-03-12", [13, 13]));
        assert_eq!(f.place.unwrap().value, "Utrecht");
        assert_eq!(f.salutation.unwrap().value, "Geachte woordvoerder");
    }

    #[test]
    fn an_address_block_gives_one_addressee_a_line_and_a_letterhead_none() {
        let f = facts_of(&format!(
            "STICHTING VOORBEELD ■ POSTBUS 1 ■ 1000 AA AMSTERDAM\n\nMinister van Justitie en Veiligheid Jansen,\nStaatssecretaris van Digitale Zaken Pietersen,\nMinister van Economische Zaken Klaassen\n\nDatum 2 februari 2025\n\nGeachte bewindspersonen,\n\n{BODY}\n"
        ));
        let names: Vec<&str> = f.addressees.iter().map(|a| a.value.as_str()).collect();
        assert_eq!(
            names,
            [
                "Minister van Justitie en Veiligheid Jansen",
                "Staatssecretaris van Digitale Zaken Pietersen",
                "Minister van Economische Zaken Klaassen"
            ]
        );
        assert_eq!(f.addressees[1].lines, [4, 4]);
        assert_eq!(f.date.unwrap().value, "2025-02-02");
    }

    #[test]
    fn signatories_with_their_functions_and_the_sender_they_name() {
        let f = facts_of(&format!(
            "{BODY}\n\nMet vriendelijke groet,\n\nAnna de Boer\n\nDirecteur-bestuurder Stichting Voorbeeld\n"
        ));
        assert_eq!(f.signatories.len(), 1);
        assert_eq!(f.signatories[0].name, "Anna de Boer");
        assert_eq!(
            f.signatories[0].title.as_deref(),
            Some("Directeur-bestuurder Stichting Voorbeeld")
        );
        assert_eq!(f.sender.unwrap().value, "Stichting Voorbeeld");

        let minister = facts_of(&format!(
            "{BODY}\n\nDe Minister van Justitie en Veiligheid,\nJ. Jong-Smit\n"
        ));
        assert_eq!(
            minister.sender.unwrap().value,
            "De Minister van Justitie en Veiligheid"
        );
        assert_eq!(minister.signatories[0].name, "J. Jong-Smit");

        let two = facts_of(&format!(
            "{BODY}\n\nPiet Puk,\nVicevoorzitter\n\nKarel Klaas,\nLid van de Commissie\n"
        ));
        let names: Vec<(&str, Option<&str>)> = two
            .signatories
            .iter()
            .map(|s| (s.name.as_str(), s.title.as_deref()))
            .collect();
        assert_eq!(
            names,
            [
                ("Piet Puk", Some("Vicevoorzitter")),
                ("Karel Klaas", Some("Lid van de Commissie"))
            ]
        );
        assert_eq!(two.sender.unwrap().value, "de Commissie");
    }

    #[test]
    fn organisations_that_write_together_are_the_sender() {
        let f = facts_of(&format!(
            "Geachte Minister,\n\nNamens negen organisaties vragen wij uw aandacht voor het voorstel, dat wij steunen en waarover wij u graag spreken in de komende weken.\n\n{BODY}\n\nHoogachtend, namens de volgende organisaties:\n"
        ));
        assert_eq!(f.sender.unwrap().value, "negen organisaties");
        assert!(f.signatories.is_empty());
    }

    #[test]
    fn a_letter_that_states_nothing_has_no_facts() {
        let f = facts_of(&format!("{BODY}\n\n{BODY}\n"));
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn a_kamerbrief_head_gives_its_dossier_number_sender_addressee_and_dated_place() {
        let f = facts_of(&format!(
            "Tweede Kamer der Staten-Generaal 2\n\nVergaderjaar 2023–2024\n\n32 761 Verwerking en bescherming persoonsgegevens\n\nNr. 280 BRIEF VAN DE STAATSSECRETARIS VAN BINNENLANDSE ZAKEN\n\nAan de Voorzitter van de Tweede Kamer der Staten-Generaal\n\nDen Haag, 4 april 2024\n\n{BODY}\n"
        ));
        let refs: Vec<&str> = f.references.iter().map(|r| r.value.as_str()).collect();
        assert_eq!(refs, ["Kamerstuk 32 761", "Nr. 280"]);
        assert_eq!(
            f.sender.unwrap().value,
            "Staatssecretaris van Binnenlandse Zaken"
        );
        assert_eq!(
            f.addressees[0].value,
            "de Voorzitter van de Tweede Kamer der Staten-Generaal"
        );
        assert_eq!(f.date.unwrap().value, "2024-04-04");
        assert_eq!(f.place.unwrap().value, "Den Haag");
    }
}
