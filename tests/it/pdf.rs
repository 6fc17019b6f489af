//! PDF letters: PDFs made here from known lines (so the expected lines and pages are known),
//! read by ingest and by `tolk run` beside a text letter and broken PDFs.

use crate::support::fake_llm::{FakeConfig, FakeThread};
use crate::support::{root, stderr, stdout, tolk};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A PDF with one page per entry, each line of text a line of Helvetica 11 pt on 14 pt
/// (an empty entry an empty line), from the top left of an A4 page.
pub fn make_pdf(pages: &[Vec<&str>]) -> Vec<u8> {
    let placed: Vec<Vec<Text>> = pages
        .iter()
        .map(|lines| {
            lines
                .iter()
                .enumerate()
                .map(|(i, l)| Text::at(72.0, 770.0 - 14.0 * i as f32, 11.0, l))
                .collect()
        })
        .collect();
    make_placed_pdf(&placed)
}

/// A piece of text at a place on the page (points from the bottom left), at a size.
#[derive(Clone, Copy)]
pub struct Text<'a> {
    x: f32,
    y: f32,
    size: f32,
    text: &'a str,
}

impl<'a> Text<'a> {
    pub fn at(x: f32, y: f32, size: f32, text: &'a str) -> Self {
        Text { x, y, size, text }
    }
}

/// Lines from `top` down, `pitch` apart, at `x`.
fn column<'a>(x: f32, top: f32, pitch: f32, size: f32, lines: &[&'a str]) -> Vec<Text<'a>> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| Text::at(x, top - pitch * i as f32, size, l))
        .collect()
}

/// A PDF of placed text in Helvetica (WinAnsi, so Dutch accents are single bytes), with a
/// correct cross-reference table. The ligatures ﬁ and ﬂ are the codes 1 and 2 of the font,
/// which its ToUnicode map gives as U+FB01 and U+FB02 (as fonts with ligatures do).
pub fn make_placed_pdf(pages: &[Vec<Text>]) -> Vec<u8> {
    let escape = |s: &str| -> Vec<u8> {
        let mut out = Vec::new();
        for c in s.chars() {
            let b = match c {
                '\u{FB01}' => 1,
                '\u{FB02}' => 2,
                c => u32::from(c),
            };
            assert!(b < 256, "{c} is not in WinAnsi's Latin-1 range");
            if matches!(c, '\\' | '(' | ')') {
                out.push(b'\\');
            }
            out.push(b as u8);
        }
        out
    };
    let n = pages.len();
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {n} >>",
            (0..n)
                .map(|i| format!("{} 0 R", 3 + 2 * i))
                .collect::<Vec<_>>()
                .join(" ")
        )
        .into_bytes(),
    ];
    let font = 3 + 2 * n;
    for (i, texts) in pages.iter().enumerate() {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 {font} 0 R >> >> /Contents {} 0 R >>",
                4 + 2 * i
            )
            .into_bytes(),
        );
        let mut content = Vec::new();
        for t in texts.iter().filter(|t| !t.text.is_empty()) {
            content.extend(format!("BT /F1 {} Tf {} {} Td (", t.size, t.x, t.y).into_bytes());
            content.extend(escape(t.text));
            content.extend(b") Tj ET\n");
        }
        let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
        stream.extend(content);
        stream.extend(b"\nendstream");
        objects.push(stream);
    }
    objects.push(
        format!(
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding /ToUnicode {} 0 R >>",
            font + 1
        )
        .into_bytes(),
    );
    let cmap = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Ligatures def 1 begincodespacerange <00> <FF> endcodespacerange 2 beginbfchar <01> <FB01> <02> <FB02> endbfchar endcmap CMapName currentdict /CMap defineresource pop end end";
    let mut stream = format!("<< /Length {} >>\nstream\n", cmap.len()).into_bytes();
    stream.extend(cmap);
    stream.extend(b"\nendstream");
    objects.push(stream);
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).into_bytes());
        out.extend(o);
        out.extend(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).into_bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").into_bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .into_bytes(),
    );
    out
}

/// Whether pdftotext is here (under CI it must be: scripts/setup.sh installs poppler-utils).
fn pdftotext_or_skip() -> bool {
    let here = std::process::Command::new("pdftotext")
        .arg("-v")
        .output()
        .is_ok();
    if !here {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install poppler-utils (scripts/setup.sh)"
        );
        eprintln!("pdftotext is not installed (poppler-utils): the PDF tests are skipped");
    }
    here
}

// A running header and a page-number footer on every page: page furniture.
const PAGE_1: &[&str] = &[
    "Stichting Privacy Eerst - kenmerk SPE-2024-03",
    "",
    "Aan de minister van Justitie en Veiligheid",
    "Den Haag, 12 maart 2024",
    "",
    "Geachte minister,",
    "",
    "Het kabinet is tegen het scannen van berichten van burgers.",
    "Wij vragen u om end-to-end encryptie te beschermen, ook in",
    "de onderhandelingen over de verordening in de",
    "",
    "",
    "Pagina 1 van 2",
];
// The sentence the page break cuts goes on here.
const PAGE_2: &[&str] = &[
    "Stichting Privacy Eerst - kenmerk SPE-2024-03",
    "",
    "Raad. Detectiebevelen raken alle gebruikers van een dienst,",
    "niet alleen verdachten. Dat is niet evenredig.",
    "",
    "Hoogachtend,",
    "Stichting Privacy Eerst",
    "",
    "Pagina 2 van 2",
];

/// The lines of the letter that are page furniture.
fn furniture(line: &str) -> bool {
    line.starts_with("Stichting Privacy Eerst -") || line.starts_with("Pagina ")
}

/// The chunk invariants, as for text letters: every line with text in exactly one paragraph,
/// and a paragraph's letters and digits exactly those of its lines.
fn invariants(doc: &tolk::ingest::Document) {
    let letters = |s: &str| -> String { s.chars().filter(|c| c.is_alphanumeric()).collect() };
    let mut owned = BTreeSet::new();
    for p in &doc.paragraphs {
        let mut words = String::new();
        for r in &p.spans {
            for l in r[0]..=r[1] {
                assert!(owned.insert(l), "line {l} in two paragraphs");
                words.push_str(doc.original_line(l).unwrap());
            }
        }
        assert_eq!(letters(&p.text), letters(&words), "{}", p.id);
    }
    let with_text: BTreeSet<u32> = (1..=doc.line_count)
        .filter(|&l| {
            doc.original_line(l)
                .unwrap()
                .chars()
                .any(char::is_alphanumeric)
        })
        .collect();
    // A paragraph may run over a blank line (a soft break the normaliser joins); it may not
    // leave out a line with text.
    let owned_with_text: BTreeSet<u32> = owned.intersection(&with_text).copied().collect();
    assert_eq!(owned_with_text, with_text);
}

fn letter_pdf() -> Vec<u8> {
    make_pdf(&[PAGE_1.to_vec(), PAGE_2.to_vec()])
}

#[test]
fn a_pdf_letter_is_read_with_the_page_of_every_line_and_the_chunk_invariants_hold() {
    if !pdftotext_or_skip() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("brief.pdf");
    std::fs::write(&path, letter_pdf()).unwrap();
    let doc = tolk::ingest::read(&path).unwrap();
    let pdf = doc.pdf.as_ref().expect("read as a PDF");
    assert_eq!(pdf.page_count, 2);
    assert_eq!(doc.sha256, tolk::ingest::sha256_hex(&letter_pdf()));
    assert_eq!(
        pdf.source_sha256,
        tolk::ingest::sha256_hex(pdf.text.as_bytes())
    );
    // Every known line is a line of the extracted text, in order, on its page.
    let mut from = 1;
    for (page, lines) in [(1, PAGE_1), (2, PAGE_2)] {
        for want in lines.iter().filter(|l| !l.is_empty() && !furniture(l)) {
            let n = (from..=doc.line_count)
                .find(|&n| doc.original_line(n).unwrap().trim_start_matches('\x0c') == *want)
                .unwrap_or_else(|| panic!("{want:?} is a line of {:?}", pdf.text));
            assert_eq!(doc.page_of(n), Some(page), "{want}");
            from = n + 1;
        }
    }
    invariants(&doc);
    // The furniture is out of the text (its lines are blank), and counted.
    assert_eq!(pdf.furniture, 4);
    assert!(
        !doc.text.contains("kenmerk") && !doc.text.contains("Pagina"),
        "{}",
        doc.text
    );
    // The paragraphs as a reader sees them; the sentence the page break cut is one paragraph,
    // across both pages.
    let kinds: Vec<(&str, &str)> = doc
        .paragraphs
        .iter()
        .map(|p| (p.kind.as_str(), p.text.as_str()))
        .collect();
    assert_eq!(kinds.len(), 4, "{kinds:?}");
    assert_eq!(kinds[1], ("salutation", "Geachte minister,"));
    assert!(
        kinds[2].1.contains("in de Raad. Detectiebevelen raken")
            && kinds[2].1.ends_with("niet evenredig."),
        "{kinds:?}"
    );
    assert_eq!(doc.pages_of(doc.paragraphs[2].lines), Some([1, 2]));
    assert_eq!(kinds[3].0, "signature");
}

fn read(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn tolk_run_reads_pdfs_beside_text_letters_names_each_broken_pdf_and_cites_pages() {
    if !pdftotext_or_skip() {
        return;
    }
    let fake = FakeThread::start(FakeConfig::default());
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("letters");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(input.join("brief.pdf"), letter_pdf()).unwrap();
    std::fs::copy(
        root().join("input/2024-09-18-offlimits-advies-kabinetsstandpunt.txt"),
        input.join("offlimits.txt"),
    )
    .unwrap();
    let whole = letter_pdf();
    std::fs::write(input.join("damaged.pdf"), &whole[..whole.len() / 3]).unwrap();
    std::fs::write(input.join("scanned.pdf"), make_pdf(&[vec![], vec![]])).unwrap();
    // Encrypted with a user password (the empty one does not open it).
    let locked = String::from_utf8(letter_pdf()).unwrap().replace(
        "/Root 1 0 R >>",
        &format!(
            "/Root 1 0 R /Encrypt << /Filter /Standard /V 1 /R 2 /O <{}> /U <{}> /P -4 >> /ID [<{}> <{}>] >>",
            "00".repeat(32),
            "11".repeat(32),
            "22".repeat(16),
            "22".repeat(16)
        ),
    );
    std::fs::write(input.join("locked.pdf"), locked).unwrap();
    std::fs::write(
        input.join("renamed.pdf"),
        b"Geachte minister, dit is geen PDF.",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o = tolk(
        &root(),
        &[
            "run",
            input.to_str().unwrap(),
            "--endpoint",
            &fake.base_url,
            "--model",
            "fake-a",
            "--out",
            out.to_str().unwrap(),
            "--no-progress",
        ],
        &[crate::support::CHUNK_MODE],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "partial: {err}");
    assert!(err.contains("damaged.pdf: the PDF is damaged"), "{err}");
    assert!(
        err.contains(
            "locked.pdf: the PDF is encrypted; tolk reads only PDFs that open without a password"
        ),
        "{err}"
    );
    assert!(
        err.contains("renamed.pdf: the PDF is damaged or not a PDF: it does not begin with %PDF-"),
        "{err}"
    );
    assert!(
        err.contains(
            "scanned.pdf: the PDF has no text layer (a scanned letter?); tolk does not do OCR"
        ),
        "{err}"
    );
    let dir = PathBuf::from(stdout(&o).trim());
    let m = read(&dir.join("manifest.json"));
    let inputs = m["inputs"].as_array().unwrap();
    let brief = inputs.iter().find(|i| i["doc_id"] == "brief").unwrap();
    let offlimits = inputs.iter().find(|i| i["doc_id"] == "offlimits").unwrap();
    for i in [brief, offlimits] {
        for status in i["tasks"].as_object().unwrap().values() {
            assert_eq!(status["status"], "ok", "{i}");
        }
    }
    assert!(
        offlimits.get("source").is_none(),
        "a text letter has no extracted source"
    );
    // The extracted text is kept, with its sha256 in the manifest.
    let source = std::fs::read(dir.join("brief/source.txt")).unwrap();
    assert_eq!(brief["source"]["file"], "source.txt");
    assert_eq!(brief["source"]["pages"], 2);
    assert_eq!(brief["source"]["sha256"], tolk::ingest::sha256_hex(&source));
    assert_eq!(brief["sha256"], tolk::ingest::sha256_hex(&letter_pdf()));
    // Segments carry their page; the lines count in source.txt.
    let source = String::from_utf8(source).unwrap();
    let source_lines: Vec<&str> = source.lines().collect();
    let t = read(&dir.join("brief/translation.json"));
    let mut pages = BTreeSet::new();
    for s in t["segments"].as_array().unwrap() {
        let [a, _]: [usize; 2] = serde_json::from_value(s["lines"].clone()).unwrap();
        let first_words: String = s["nl"].as_str().unwrap().chars().take(12).collect();
        assert!(
            source_lines[a - 1]
                .trim_start_matches('\x0c')
                .starts_with(&first_words),
            "{s}"
        );
        match (s.get("page"), s.get("pages")) {
            (Some(p), None) => {
                pages.insert(p.as_u64().unwrap());
            }
            (None, Some(ps)) => {
                assert_eq!(ps, &serde_json::json!([1, 2]), "{s}");
                assert!(s["nl"].as_str().unwrap().contains("in de Raad."), "{s}");
                pages.extend([1, 2]);
            }
            _ => panic!("a segment of a PDF letter has its page: {s}"),
        }
    }
    assert_eq!(pages, BTreeSet::from([1, 2]));
    assert!(
        t["segments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.get("pages").is_some()),
        "the paragraph across the page break says so"
    );
    let md = std::fs::read_to_string(dir.join("brief/translation.md")).unwrap();
    assert!(md.contains("**p. 1, L"), "{md}");
    // `tolk show` gives the extracted lines with their numbers, and the pages.
    let o = tolk(
        &root(),
        &["show", "brief", "--out", out.to_str().unwrap()],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let shown = stdout(&o);
    assert!(
        shown.contains("── p. 1 ──") && shown.contains("── p. 2 ──"),
        "{shown}"
    );
    assert!(shown.contains("Geachte minister,"), "{shown}");
    assert!(!shown.contains("%PDF"), "{shown}");
    // The report links the PDF's pages.
    let o = tolk(&root(), &["report", "--out", out.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let index = PathBuf::from(stdout(&o).trim());
    let page = std::fs::read_to_string(index.with_file_name("doc-brief.html")).unwrap();
    for p in [1, 2] {
        assert!(
            page.contains(&format!("brief.pdf#page={p}")),
            "page {p} linked"
        );
    }
    assert!(page.contains(">p. 1</a>"), "the page is shown");
    // A text letter's provenance stays as it was.
    let md = std::fs::read_to_string(dir.join("offlimits/translation.md")).unwrap();
    assert!(!md.contains("p. 1,"), "{md}");
    assert!(!md.contains("**p."), "{md}");
}

#[test]
fn a_real_pdf_loses_its_running_header_and_page_numbers_and_keeps_every_line_in_one_paragraph() {
    if !pdftotext_or_skip() {
        return;
    }
    let path = root().join("tests/pdfs/shared-mime-info-spec.pdf");
    let doc = tolk::ingest::read(&path).unwrap();
    let pdf = doc.pdf.as_ref().unwrap();
    assert_eq!(pdf.page_count, 17);
    // The running header and the page number of all 17 pages.
    assert_eq!(pdf.furniture, 34, "furniture lines");
    assert!(!doc.text.contains("Shared MIME-info Database\n"));
    for l in pdf.text.lines() {
        let t = l.trim_start_matches('\x0c');
        assert!(
            t.parse::<u32>().is_err(),
            "a page number is left in the text: {l:?}"
        );
    }
    // Pages run in order over the lines, from 1 to 17.
    let pages: Vec<u32> = (1..=doc.line_count)
        .filter_map(|l| doc.page_of(l))
        .collect();
    assert_eq!(pages.len() as u32, doc.line_count);
    assert!(pages.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!((pages[0], *pages.last().unwrap()), (1, 17));
    invariants(&doc);
    // Its first paragraphs as a reader sees them.
    assert!(
        doc.paragraphs[0].text.starts_with("X Desktop Group"),
        "{}",
        doc.paragraphs[0].text
    );
    assert!(
        doc.paragraphs.iter().any(|p| p
            .text
            .starts_with("This is version 0.21 of the Shared MIME-info Database specification")),
        "the version paragraph"
    );
}

// A letter laid out as the Dutch government sends them: the body on the left, the colofon
// (sender, date, reference) in a narrower column on the right in smaller type on its own line
// spacing, a word broken by the line wrap, and words set with the fi and fl ligatures.
const BODY: &[&str] = &[
    "Geachte voorzitter,",
    "",
    "Hierbij stuur ik u de reactie van het kabinet op de",
    "verordening ter voorkoming en bestrij-",
    "ding van seksueel misbruik van kinderen. Het",
    "kabinet steunt het doel, maar de ﬁnanciële en",
    "technische gevolgen vragen om reﬂectie.",
    "",
    "Het kabinet wil dat end-to-end versleutelde",
    "communicatie beschermd blijft. Detectiebevelen",
    "mogen niet leiden tot het scannen van alle",
    "berichten van alle burgers.",
    "",
    "Hoogachtend,",
];
const COLOFON: &[&str] = &[
    "Directie Wetgeving en Juridische Zaken",
    "Turfmarkt 147",
    "2511 DP Den Haag",
    "",
    "Datum",
    "12 maart 2024",
    "",
    "Onze referentie",
    "5012345",
];

#[test]
fn a_colofon_beside_the_body_is_read_after_it_hyphens_join_and_ligatures_are_letters() {
    if !pdftotext_or_skip() {
        return;
    }
    let mut page = column(72.0, 700.0, 14.0, 11.0, BODY);
    page.extend(column(400.0, 760.0, 12.0, 8.0, COLOFON));
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("kamerbrief.pdf");
    std::fs::write(&path, make_placed_pdf(&[page])).unwrap();
    let doc = tolk::ingest::read(&path).unwrap();
    invariants(&doc);
    let texts: Vec<&str> = doc.paragraphs.iter().map(|p| p.text.as_str()).collect();
    // The body's paragraphs whole and in order, the colofon after them and apart.
    assert_eq!(texts[0], "Geachte voorzitter,", "{texts:#?}");
    assert_eq!(
        texts[1],
        "Hierbij stuur ik u de reactie van het kabinet op de verordening ter voorkoming en \
         bestrijding van seksueel misbruik van kinderen. Het kabinet steunt het doel, maar de \
         financiële en technische gevolgen vragen om reflectie.",
        "{texts:#?}"
    );
    assert_eq!(
        texts[2],
        "Het kabinet wil dat end-to-end versleutelde communicatie beschermd blijft. \
         Detectiebevelen mogen niet leiden tot het scannen van alle berichten van alle burgers.",
        "{texts:#?}"
    );
    assert_eq!(texts[3], "Hoogachtend,", "{texts:#?}");
    let colofon = texts[4..].join(" | ");
    for want in ["Turfmarkt 147", "12 maart 2024", "5012345"] {
        assert!(colofon.contains(want), "{want} in the colofon: {texts:#?}");
    }
    assert!(!doc.text.contains('\u{FB01}') && !doc.text.contains('\u{FB02}'));
    // What pdftotext -layout would have made of it: colofon lines on the body's lines.
    assert!(
        !doc.text
            .lines()
            .any(|l| l.contains("kabinet") && l.contains("Datum")),
        "{}",
        doc.text
    );
}

// Two columns whose paragraph gaps line up: poppler's own reading order goes left, right,
// left, right; a reader reads the left column first.
#[test]
fn two_columns_are_read_one_after_the_other() {
    if !pdftotext_or_skip() {
        return;
    }
    let left = [
        "In mei 2022 stelde de Commissie,",
        "na lang beraad, een verordening voor",
        "die aanbieders kan verplichten om",
        "berichten te scannen.",
        "",
        "Critici wijzen erop dat dit de",
        "vertrouwelijkheid van communicatie",
        "ondermijnt.",
    ];
    let right = [
        "Het Europees Parlement nam in",
        "november 2023 een standpunt in",
        "dat versleutelde communicatie",
        "uitsluit van detectiebevelen.",
        "",
        "De Raad kwam nog niet tot een",
        "algemene oriëntatie.",
    ];
    let mut page = column(72.0, 770.0, 14.0, 11.0, &left);
    page.extend(column(320.0, 770.0, 14.0, 11.0, &right));
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("twee-kolommen.pdf");
    std::fs::write(&path, make_placed_pdf(&[page])).unwrap();
    let doc = tolk::ingest::read(&path).unwrap();
    invariants(&doc);
    let starts: Vec<String> = doc
        .paragraphs
        .iter()
        .map(|p| p.text.split(' ').take(3).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        starts,
        vec![
            "In mei 2022",
            "Critici wijzen erop",
            "Het Europees Parlement",
            "De Raad kwam"
        ]
    );
}
