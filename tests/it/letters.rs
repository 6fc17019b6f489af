//! The five real letters: ingest invariants, the hyphenation rule on every line-final hyphen,
//! chunk invariants at several budgets, and snapshots of the paragraph segmentation.

use crate::support::{letter, letters};
use std::collections::BTreeMap;
use tolk::chunk::{self, ChunkConfig, TokenEncoding};
use tolk::ingest::{self, Document, Kind};

fn alnum(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).collect()
}

fn read(path: &std::path::Path) -> Document {
    ingest::read(path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_content_line_is_in_exactly_one_paragraph_and_no_letter_is_lost() {
    for path in letters() {
        let doc = read(&path);
        let mut owner: BTreeMap<u32, &str> = BTreeMap::new();
        for p in &doc.paragraphs {
            assert!(p.lines[0] >= 1 && p.lines[0] <= p.lines[1] && p.lines[1] <= doc.line_count);
            let mut expected = String::new();
            for span in &p.spans {
                for n in span[0]..=span[1] {
                    let raw = doc.original_line(n).unwrap();
                    let raw = raw.replace("<sup>", "").replace("</sup>", "");
                    if raw.chars().any(char::is_alphanumeric) {
                        if let Some(other) = owner.insert(n, &p.id) {
                            panic!("{}: line {n} in {other} and {}", doc.id, p.id);
                        }
                        expected.push_str(&alnum(&raw));
                    }
                }
            }
            assert_eq!(
                alnum(&p.text),
                expected,
                "{}: the letters of {} equal those of its lines",
                doc.id,
                p.id
            );
        }
        for (i, line) in doc.original_lines.iter().enumerate() {
            let n = i as u32 + 1;
            let has_text = line
                .replace("<sup>", "")
                .replace("</sup>", "")
                .chars()
                .any(char::is_alphanumeric);
            assert_eq!(
                has_text,
                owner.contains_key(&n),
                "{}: line {n} {line:?} belongs to a paragraph iff it has text",
                doc.id
            );
        }
        // The line map sends every byte of the text to a line inside the file.
        for i in 0..doc.text.len() {
            let l = doc.line_map.line_at(i).unwrap();
            assert!(l >= 1 && l <= doc.line_count);
        }
    }
}

/// Every line of the five letters that ends in letter + hyphen, and what the join must give.
const HYPHEN_BREAKS: &[(&str, u32, &str)] = &[
    (
        "2023-09-18",
        36,
        "interpersoonlijke communicatiediensten – zoals",
    ),
    (
        "2023-09-18",
        42,
        "opsporing: Belemmeringen en mogelijkheden» (2023)",
    ),
    (
        "2023-09-18",
        45,
        "Wetenschappelijk Onderzoek en Documentatie Centrum",
    ),
    (
        "2023-09-18",
        46,
        "«De rol van encryptie in de opsporing: Belemmeringen en mogelijkheden».",
    ),
    ("2023-09-18", 68, "in grotere communicatiegroepen."),
    ("2023-09-18", 71, "om zelfgemaakt materiaal"),
    ("2023-09-18", 79, "een Amerikaanse non-profitorganisatie"),
    (
        "2023-09-18",
        86,
        "van seksueel kindermisbruik op hun platformen",
    ),
    ("2023-09-18", 87, "zoals hashdatabases, PhotoDNA"),
    ("2023-09-18", 88, "voor techbedrijven om inhoud"),
    ("2023-09-18", 103, "affecting the investigative methods"),
    (
        "2023-09-18",
        120,
        "over een interpersoonlijke communicatiedienst die",
    ),
    ("2023-09-18", 127, "(Kamerstukken 26 643 en 30 821"),
    (
        "2023-09-18",
        160,
        "van interpersoonlijke communicatiediensten voor",
    ),
    // Broken across a page: the footnotes of that page stand between the two halves.
    (
        "2023-09-18",
        161,
        "seksueel kindermisbruik. Dat op het totaal",
    ),
    ("2023-09-18", 196, "de CSAM-verordening, is"),
    ("2023-09-18", 201, "over de Nederlandse inzet"),
    // The motion's own text (in the minister's letter) writes "chatcontrol".
    ("2024-09-30", 116, "als deze \"chatcontrol\" toestaat"),
    (
        "2025-09-29",
        83,
        "articles/iccam-what-is-it-and-why-is-it-important",
    ),
    ("2025-09-29", 90, "increase-in-child-sextortion-reports/"),
    ("2025-09-29", 209, "voor de EU-verordening tegen"),
    (
        "2025-09-29",
        263,
        "Detection-in-E2EE-Spaces-policymakers.pdf",
    ),
    ("undated-eu", 18, "als een gerechtelijke autoriteit"),
    ("undated-eu", 30, "tot hetgeen noodzakelijk en evenredig"),
    ("undated-eu", 37, "technische opmerkingen die"),
    (
        "undated-eu",
        66,
        "opsporingsbevelen, noodzakelijk en evenredig",
    ),
    (
        "undated-eu",
        88,
        "moet de coördinerende autoriteit van vestiging",
    ),
    ("undated-eu", 112, "of een onafhankelijke administratieve"),
    ("undated-eu", 115, "door de coördinerende autoriteit op"),
    (
        "undated-eu",
        121,
        "betrokken dienstenaanbieders en gebruikers",
    ),
    ("undated-eu", 124, "aan de hand van indicatoren die"),
    ("undated-eu", 127, "er een verplichting tot scannen"),
    (
        "undated-eu",
        131,
        "met name opsporingsbevelen met betrekking",
    ),
    (
        "undated-eu",
        137,
        "algemene verordening gegevensbescherming1 (AVG)",
    ),
    (
        "undated-eu",
        138,
        "i) de gegevensbeschermingsautoriteiten om",
    ),
    ("undated-eu", 145, "en de geldigheidsduur van"),
    ("undated-eu", 150, "in overeenstemming is met"),
    ("undated-eu", 175, "2016 betreffende de bescherming"),
    ("undated-eu", 176, "verwerking van persoonsgegevens en"),
    ("undated-eu", 197, "geen gegevens verzamelen of verwerken"),
    ("undated-eu", 202, "in voorkomend geval noodzakelijk en"),
    (
        "undated-eu",
        204,
        "bevoegde gegevensbeschermingsautoriteit. Indien",
    ),
    ("undated-eu", 208, "ontvangen of verzamelen. Het"),
    ("undated-eu", 210, "meldingen met onderzoekswaarde de"),
    ("undated-eu", 212, "de opsporingsnauwkeurigheid mettertijd"),
    ("undated-eu", 217, "gebied van rechtshandhaving (Europol)"),
    ("undated-eu", 223, "meldings- en actiemechanismen en"),
    ("undated-eu", 242, "relevante dienstenaanbieders in kennis"),
    ("undated-eu", 253, "kader van inbreukprocedures."),
    ("undated-eu", 268, "gewisseld met vertegenwoordigers van"),
    (
        "undated-eu",
        273,
        "waar het gaat om eind-tot-eindversleutelde diensten.",
    ),
    (
        "undated-eu",
        279,
        "en mogen eind-tot-eindversleutelde diensten",
    ),
    (
        "undated-eu",
        285,
        "over te stappen op eind-tot-eindversleuteling.",
    ),
    // Broken across a page, with footnote 2 between the halves.
    (
        "undated-eu",
        291,
        "het bieden van een rechtsgrondslag voor vrijwillige",
    ),
    (
        "undated-eu",
        298,
        "opsporingsbevel wordt uitgevaardigd wanneer",
    ),
    ("undated-eu", 311, "het scannen van metagegevens echter"),
    ("undated-eu", 325, "op basis van metagegevens geen bewijs"),
    ("undated-eu", 337, "programma’s en maatregelen die"),
    ("undated-eu", 362, "bij de beoordeling van"),
    ("undated-eu", 368, "vorm van «functieverschuiving»."),
    ("undated-eu", 446, "uitvoering van een opsporingsbevel de"),
    (
        "undated-eu",
        448,
        "ontvangst van een opsporingsbevel – alleen",
    ),
    (
        "undated-eu",
        458,
        "aanbieders de verantwoordelijkheid moeten",
    ),
    (
        "undated-eu",
        472,
        "betrokkenheid van gegevensbeschermingsautoriteiten en",
    ),
    ("undated-eu", 486, "met preventieve doelstellingen nemen."),
    ("undated-eu", 501, "dat de rechtshandhavingsinstanties over"),
    ("undated-eu", 505, "te verplichten undercoveronderzoeken op"),
    ("undated-eu", 565, "van de kinderen vooropstaan, uitgaande"),
    ("undated-eu", 568, "meldingen te bespoedigen, door"),
    ("undated-eu", 585, "inhoud en opsporingstechnologie de"),
];

#[test]
fn the_hyphen_rule_on_every_line_final_hyphen_of_the_five_letters() {
    let mut seen = 0;
    for path in letters() {
        let doc = read(&path);
        let prefix = &doc.id[..10];
        for (i, line) in doc.original_lines.iter().enumerate() {
            let t = line.trim_end();
            let mut rev = t.chars().rev();
            if !(rev.next() == Some('-') && rev.next().is_some_and(char::is_alphanumeric)) {
                continue;
            }
            let n = i as u32 + 1;
            let (_, _, expected) = HYPHEN_BREAKS
                .iter()
                .find(|(d, l, _)| *d == prefix && *l == n)
                .unwrap_or_else(|| {
                    panic!(
                        "{}: line {n} ends in a hyphen and is not in the table",
                        doc.id
                    )
                });
            let p = doc
                .paragraphs
                .iter()
                .find(|p| p.spans.iter().any(|s| s[0] <= n && n <= s[1]))
                .unwrap();
            let flat = p.text.replace('\n', " ");
            assert!(
                flat.contains(expected),
                "{} line {n}: expected {expected:?} in {}: {flat}",
                doc.id,
                p.id
            );
            seen += 1;
        }
    }
    assert_eq!(
        seen,
        HYPHEN_BREAKS.len(),
        "every table row matches a real line"
    );
}

#[test]
fn footnotes_are_their_own_paragraphs_and_page_breaks_are_rejoined() {
    let doc = read(&letter("2024-09-30"));
    let notes: Vec<&str> = doc
        .paragraphs
        .iter()
        .filter(|p| p.kind == Kind::Footnote)
        .map(|p| p.text.as_str())
        .collect();
    assert_eq!(notes.len(), 5, "{notes:#?}");
    assert!(notes[2].starts_with("3 National Centre for Missing"));
    let body = doc
        .paragraphs
        .iter()
        .find(|p| {
            p.text
                .contains("hun eigen platformen kunnen scannen om te voorkomen")
        })
        .expect("the sentence cut by the page break is whole again");
    assert_eq!(body.spans, vec![[83, 95], [102, 108]]);

    let doc = read(&letter("2023-09-18"));
    let n = doc
        .paragraphs
        .iter()
        .filter(|p| p.kind == Kind::Footnote)
        .count();
    assert_eq!(n, 9);
    let doc = read(&letter("2025-09-29"));
    let n = doc
        .paragraphs
        .iter()
        .filter(|p| p.kind == Kind::Footnote)
        .count();
    assert_eq!(n, 17);
    let doc = read(&letter("2024-09-18"));
    assert!(
        doc.paragraphs
            .iter()
            .any(|p| p.kind == Kind::Footnote && p.text.starts_with("1 Zie hiervoor"))
    );
    assert!(
        doc.text.contains("Nederlandse aanpak1. Het voorstel"),
        "<sup> markup removed"
    );
}

#[test]
fn double_spaced_letters_keep_whole_paragraphs() {
    let doc = read(&letter("2025-09-29"));
    let p = doc
        .paragraphs
        .iter()
        .find(|p| p.text.starts_with("In 2024 bereikte online kindermisbruik"))
        .unwrap();
    assert_eq!(p.lines, [26, 38]);
    assert!(p.text.ends_with("seksueel kindermisbruik materiaal. 2"));
    let headings: Vec<&str> = doc
        .paragraphs
        .iter()
        .filter(|p| p.kind == Kind::Heading)
        .map(|p| p.text.as_str())
        .collect();
    assert_eq!(
        headings,
        vec![
            "De noodzaak",
            "Achter elk bestand een kind",
            "De grootste risico’s",
            "Passiviteit beloont de dader",
            "Veilig versleuteld, niet vogelvrij",
            "Conclusie"
        ]
    );
}

#[test]
fn chunks_of_the_letters_tile_the_text_and_fit_the_budget() {
    for path in letters() {
        let doc = read(&path);
        for budget in [64, 200, 700, 4000] {
            for encoding in [TokenEncoding::O200kBase, TokenEncoding::Cl100kBase] {
                let cfg = ChunkConfig {
                    max_tokens: budget,
                    encoding,
                };
                let chunking = chunk::split(&doc, &cfg);
                let joined: String = chunking.chunks.iter().map(|c| c.text.as_str()).collect();
                assert_eq!(joined, doc.text);
                let mut end = 0;
                for c in &chunking.chunks {
                    assert_eq!(c.byte_range[0], end);
                    end = c.byte_range[1];
                    assert!(
                        c.tokens <= budget,
                        "{} chunk {} {} > {budget}",
                        doc.id,
                        c.index,
                        c.tokens
                    );
                    assert_eq!(c.tokens, encoding.count(&c.text));
                    assert!(
                        c.lines[0] >= 1 && c.lines[0] <= c.lines[1] && c.lines[1] <= doc.line_count
                    );
                    // A chunk's lines cover the lines of every paragraph it holds whole.
                    for id in &c.paragraphs {
                        let p = doc.paragraph(id).unwrap();
                        if p.byte_range[0] >= c.byte_range[0] && p.byte_range[1] <= c.byte_range[1]
                        {
                            assert!(c.lines[0] <= p.lines[0] && p.lines[1] <= c.lines[1]);
                        }
                    }
                }
                assert_eq!(end, doc.text.len());
                if budget >= 700 {
                    assert!(chunking.warnings.is_empty(), "{:?}", chunking.warnings);
                }
            }
        }
    }
}

#[test]
fn paragraph_segmentation_snapshots() {
    for path in letters() {
        let doc = read(&path);
        let view: Vec<String> = doc
            .paragraphs
            .iter()
            .map(|p| {
                format!(
                    "{} {} L{}-{}{}: {}",
                    p.id,
                    p.kind.as_str(),
                    p.lines[0],
                    p.lines[1],
                    if p.spans.len() > 1 {
                        format!(" {:?}", p.spans)
                    } else {
                        String::new()
                    },
                    p.text.replace('\n', " / ")
                )
            })
            .collect();
        insta::assert_snapshot!(doc.id.clone(), view.join("\n"));
    }
}
