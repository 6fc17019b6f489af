//! The user's own questions: `tolk ask`, `[[questions]]` in tolk.toml, and the answers as a
//! spreadsheet (`tolk export csv`), against the fake server; the CSV read back by Python's csv
//! module and by LibreOffice (headless, when `soffice` is installed: scripts/setup.sh installs it).

use crate::support::fake_llm::{FakeConfig, FakeThread, Recorded};
use crate::support::{check_exact, letter, letters, root, stderr, stdout, tolk};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

const QUESTION: &str = "Which letters say client-side scanning breaks end-to-end encryption?";

fn ask(out: &Path, fake: &FakeThread, question: &str, inputs: &[&str], extra: &[&str]) -> Output {
    let mut args = vec![
        "ask",
        question,
        "--endpoint",
        &fake.base_url,
        "--no-progress",
        "--out",
        out.to_str().unwrap(),
    ];
    if !extra.contains(&"--model") {
        args.extend(["--model", "fake-a"]);
    }
    args.extend_from_slice(inputs);
    args.extend_from_slice(extra);
    tolk(&root(), &args, &[])
}

fn questions_asked(fake: &FakeThread) -> Vec<Recorded> {
    fake.chat_requests()
        .into_iter()
        .filter(|r| r.body["response_format"]["json_schema"]["schema"]["title"] == "tolk.question")
        .collect()
}

/// The run folder a command printed last on stdout.
fn run_dir(o: &Output) -> PathBuf {
    PathBuf::from(stdout(o).lines().last().expect("the run folder").trim())
}

fn read(path: PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{}: {e}", path.display());
    }))
    .unwrap()
}

#[test]
fn a_question_over_the_five_letters_gives_five_grounded_answers_and_a_rerun_pays_nothing() {
    let fake = FakeThread::start(FakeConfig::default());
    let out = tempfile::tempdir().unwrap();
    let o = ask(out.path(), &fake, QUESTION, &["input"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let asked = questions_asked(&fake);
    assert_eq!(asked.len(), 5, "one call per letter");
    for r in &asked {
        let user = r.body["messages"][1]["content"].as_str().unwrap();
        let (letter, question) = user.split_once("\nQuestion: ").unwrap();
        assert!(letter.contains("<source>"));
        assert!(question.starts_with(QUESTION), "{question}");
    }
    let table = stdout(&o);
    assert!(table.contains(&format!(
        "question which-letters-say-client-side-scanning: {QUESTION}"
    )));
    let dir = run_dir(&o);
    let mut quotes = 0;
    for path in letters() {
        let doc = path.file_stem().unwrap().to_string_lossy().to_string();
        assert!(table.contains(&doc), "{doc} in the table:\n{table}");
        let q = read(dir.join(&doc).join("questions.json"));
        let answers = q["answers"].as_array().unwrap();
        assert_eq!(answers.len(), 1);
        let a = &answers[0];
        assert_eq!(a["question"], "which-letters-say-client-side-scanning");
        assert_eq!(a["text"], QUESTION);
        assert_eq!(a["asked"], "whole letter");
        // Every quote called exact is in the letter at the lines it gives.
        let letter = tolk::ingest::read(&path).unwrap();
        quotes += check_exact(&letter, a["evidence"].as_array().unwrap());
        let md = std::fs::read_to_string(dir.join(&doc).join("questions.md")).unwrap();
        assert!(md.contains(&format!("## {QUESTION}")), "{md}");
    }
    assert!(quotes >= 5, "{quotes} exact quotes");

    // The same question again: every answer from the cache, as JSON Lines.
    let before = fake.chat_requests().len();
    let o = ask(out.path(), &fake, QUESTION, &["input"], &["--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(fake.chat_requests().len(), before, "a rerun makes no call");
    assert!(stderr(&o).contains("0 calls made"), "{}", stderr(&o));
    let lines: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert!(lines.iter().all(|l| l["answer"]["position"].is_string()));
}

#[test]
fn given_terms_leave_letters_without_them_unasked_and_labels_are_the_positions() {
    let fake = FakeThread::start(FakeConfig::default());
    let out = tempfile::tempdir().unwrap();
    let o = ask(
        out.path(),
        &fake,
        "Wat zeggen de brieven over leeftijdsverificatie?",
        &["input", "--id", "age"],
        &["--terms", "leeftijd", "--labels", "ja,nee"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let with_term: Vec<PathBuf> = letters()
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .to_lowercase()
                .contains("leeftijd")
        })
        .collect();
    assert!(!with_term.is_empty() && with_term.len() < 5);
    let asked = questions_asked(&fake);
    assert_eq!(asked.len(), with_term.len());
    for r in &asked {
        let schema = &r.body["response_format"]["json_schema"]["schema"];
        assert_eq!(
            schema["properties"]["position"]["enum"],
            serde_json::json!(["ja", "nee", "not_addressed"])
        );
    }
    let dir = run_dir(&o);
    for path in letters() {
        let doc = path.file_stem().unwrap().to_string_lossy().to_string();
        let a = &read(dir.join(&doc).join("questions.json"))["answers"][0];
        assert_eq!(a["question"], "age");
        if with_term.contains(&path) {
            assert_eq!(a["position"], "ja", "{doc}");
        } else {
            assert_eq!(a["position"], "not_addressed", "{doc}");
            assert!(a["answer_en"].as_str().unwrap().contains("leeftijd"));
            assert_eq!(a["evidence"], serde_json::json!([]));
            assert_eq!(a["supported"], true);
        }
    }
    // A bad id or label is refused before anything is called.
    let o = ask(out.path(), &fake, "Q?", &["input", "--id", "Bad Id"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("\"Bad Id\""), "{}", stderr(&o));
}

#[test]
fn an_answer_whose_quotes_are_not_in_the_letter_is_marked_unsupported() {
    let fake = FakeThread::start(FakeConfig {
        invent_quotes: true,
        ..FakeConfig::default()
    });
    let out = tempfile::tempdir().unwrap();
    let l = letter("2024-09-18");
    let o = ask(out.path(), &fake, QUESTION, &[l.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("support (unsupported)"),
        "{}",
        stdout(&o)
    );
    let dir = run_dir(&o).join("2024-09-18-offlimits-advies-kabinetsstandpunt");
    let q = read(dir.join("questions.json"));
    let a = &q["answers"][0];
    assert_eq!(a["supported"], false);
    assert!(
        a["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["match"] == "unverified" && e["lines"].is_null())
    );
    assert!(
        q["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["check"] == "unsupported"
                && f["severity"] == "major"
                && f["segment"] == "which-letters-say-client-side-scanning"),
        "{q:#}"
    );
    let md = std::fs::read_to_string(dir.join("questions.md")).unwrap();
    assert!(
        md.contains("unsupported: no quote was found in the source"),
        "{md}"
    );
}

/// A tolk.toml with one question, and a folder of two letters: a real one, and one whose text
/// starts a spreadsheet cell with a formula.
fn project(dir: &Path) -> (PathBuf, PathBuf) {
    let config = dir.join("tolk.toml");
    std::fs::write(
        &config,
        "[[questions]]\nid = \"e2ee\"\ntext = \"Moet end-to-end encryptie buiten de verordening blijven, volgens Šefčovič of anderen?\"\nterms = [\"encryptie\", \"versleutel\"]\n",
    )
    .unwrap();
    let input = dir.join("letters");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::copy(
        letter("2024-09-18"),
        input.join("2024-09-18-offlimits-advies-kabinetsstandpunt.txt"),
    )
    .unwrap();
    std::fs::write(
        input.join("formule.txt"),
        "=HYPERLINK(\"http://127.0.0.1:9/x\";\"klik\") staat bovenaan deze brief over encryptie.\n\nWij, de Stichting Ŝtil Š, vinden dat end-to-end encryptie beschermd moet blijven.\n\nMet vriendelijke groet,\n\nAnna Šefčovič\n",
    )
    .unwrap();
    (config, input)
}

/// `tolk run INPUT --tasks stance` in `dir` (whose tolk.toml asks its questions too).
fn run_stance(dir: &Path, input: &Path, out: &Path, fake: &FakeThread) -> Output {
    tolk(
        dir,
        &[
            "run",
            input.to_str().unwrap(),
            "--tasks",
            "stance",
            "--endpoint",
            &fake.base_url,
            "--model",
            "fake-a",
            "--no-progress",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    )
}

#[test]
fn questions_in_tolk_toml_are_asked_with_every_run_that_takes_the_stance() {
    let fake = FakeThread::start(FakeConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let (config, input) = project(dir.path());
    let out = dir.path().join("out");
    let o = run_stance(dir.path(), &input, &out, &fake);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let run = run_dir(&o);
    let manifest = read(run.join("manifest.json"));
    assert!(
        manifest["inputs"][0]["tasks"]
            .as_object()
            .unwrap()
            .contains_key("questions"),
        "{manifest:#}"
    );
    for doc in ["formule", "2024-09-18-offlimits-advies-kabinetsstandpunt"] {
        let q = read(run.join(doc).join("questions.json"));
        assert_eq!(q["answers"][0]["question"], "e2ee");
        assert!(run.join(doc).join("stance.json").is_file());
    }
    // The `questions` task alone, with no question anywhere, says what to do.
    let o = tolk(
        &root(),
        &[
            "run",
            "input",
            "--tasks",
            "questions",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("[[questions]]"), "{}", stderr(&o));
    // A malformed question names the file and the setting.
    std::fs::write(&config, "[[questions]]\nid = \"Bad Id\"\ntext = \"Q?\"\n").unwrap();
    let o = tolk(dir.path(), &["runs", "--out", out.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("tolk.toml") && err.contains("questions"),
        "{err}"
    );
    let _ = config;
}

/// CSV rows as Python's csv module reads them (the byte-order mark dropped by `utf-8-sig`).
fn python_rows(csv: &Path) -> Vec<Vec<String>> {
    let script = "import csv, json, sys\nwith open(sys.argv[1], encoding='utf-8-sig', newline='') as f:\n    print(json.dumps(list(csv.reader(f))))\n";
    let o = std::process::Command::new("python3")
        .args(["-c", script, csv.to_str().unwrap()])
        .output()
        .expect("python3 runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn export_csv_gives_every_judgement_a_row_that_python_and_libreoffice_read_intact() {
    let fake = FakeThread::start(FakeConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let (_, input) = project(dir.path());
    let out = dir.path().join("out");
    let o = run_stance(dir.path(), &input, &out, &fake);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dest = dir.path().join("csv");
    let o = tolk(
        dir.path(),
        &[
            "export",
            "csv",
            "--dest",
            dest.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let matrix = dest.join("matrix.csv");
    assert!(std::fs::read(&matrix).unwrap().starts_with(b"\xEF\xBB\xBF"));
    let rows = python_rows(&matrix);
    let header = &rows[0];
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    // Two letters, each: the overall stance, eleven topics, one question.
    assert_eq!(rows.len(), 1 + 2 * (1 + 11 + 1), "{rows:#?}");
    let question: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| r[col("kind")] == "question")
        .collect();
    assert_eq!(question.len(), 2);
    assert!(question[0][col("question")].contains("Šefčovič"));
    for r in &rows[1..] {
        for cell in r {
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "a formula cell: {cell}"
            );
        }
    }
    let formula: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| r[col("quote_nl")].starts_with("'=HYPERLINK("))
        .collect();
    assert!(
        !formula.is_empty(),
        "the formula letter's quote is kept, as text"
    );
    assert!(
        rows.iter()
            .any(|r| r[col("letter")] == "formule" && r[col("sender")].contains("Šefčovič"))
    );
    let quotes = python_rows(&dest.join("quotes.csv"));
    assert!(quotes.len() > 2);
    python_rows(&dest.join("findings.csv"));

    // The same as JSON Lines, the text as it is.
    let jdest = dir.path().join("jsonl");
    let o = tolk(
        dir.path(),
        &[
            "export",
            "csv",
            "--json",
            "--dest",
            jdest.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let jrows: Vec<Value> = std::fs::read_to_string(jdest.join("matrix.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(jrows.len(), rows.len() - 1);
    assert!(
        jrows
            .iter()
            .any(|r| r["quote_nl"].as_str().unwrap().starts_with("=HYPERLINK("))
    );

    libreoffice_reads(&matrix, &rows, dir.path());
}

/// `soffice` turns the CSV into a spreadsheet (as its import dialog does with UTF-8 chosen) and
/// back: every row and character comes back, and no cell of the spreadsheet is a formula.
fn libreoffice_reads(csv: &Path, rows: &[Vec<String>], tmp: &Path) {
    if which("soffice").is_none() {
        if std::env::var_os("CI").is_some() {
            panic!("soffice is not installed: scripts/setup.sh installs libreoffice-calc-nogui");
        }
        eprintln!("soffice not installed: the LibreOffice round trip is not tested here");
        return;
    }
    let profile = format!("-env:UserInstallation=file://{}/lo-profile", tmp.display());
    let soffice = |args: &[&str]| {
        let o = std::process::Command::new("soffice")
            .arg(&profile)
            .arg("--headless")
            .args(args)
            .output()
            .expect("soffice runs");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let xdir = tmp.join("xlsx");
    soffice(&[
        "--infilter=CSV:44,34,76,1",
        "--convert-to",
        "xlsx",
        "--outdir",
        xdir.to_str().unwrap(),
        csv.to_str().unwrap(),
    ]);
    let xlsx = xdir.join("matrix.xlsx");
    // No formula anywhere in the sheet.
    let script = "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nprint(sum(z.read(n).count(b'<f>') + z.read(n).count(b'<f ') for n in z.namelist() if n.startswith('xl/worksheets/')))\n";
    let o = std::process::Command::new("python3")
        .args(["-c", script, xlsx.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "0",
        "formulas in the sheet"
    );
    let back = tmp.join("back");
    soffice(&[
        "--convert-to",
        "csv:Text - txt - csv (StarCalc):44,34,76",
        "--outdir",
        back.to_str().unwrap(),
        xlsx.to_str().unwrap(),
    ]);
    let again = python_rows(&back.join("matrix.csv"));
    assert_eq!(again.len(), rows.len());
    for (a, b) in rows.iter().zip(&again) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            // Numbers and booleans come back as LibreOffice writes them (1.0 as 1, true as
            // TRUE).
            match (x.parse::<f64>(), y.parse::<f64>()) {
                (Ok(p), Ok(q)) => assert!((p - q).abs() < 1e-9, "{x} / {y}"),
                _ if x == "true" || x == "false" => assert!(x.eq_ignore_ascii_case(y)),
                _ => assert_eq!(x, y),
            }
        }
    }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

#[test]
fn the_same_question_asked_of_two_models_is_compared_letter_by_letter() {
    let fake = FakeThread::start(FakeConfig::default());
    let out = tempfile::tempdir().unwrap();
    let l = letter("2024-09-18");
    for model in ["fake-a", "fake-b"] {
        let o = ask(
            out.path(),
            &fake,
            QUESTION,
            &[l.to_str().unwrap()],
            &["--model", model, "--label", model],
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let o = tolk(
        &root(),
        &[
            "diff",
            "fake-a",
            "fake-b",
            "--out",
            out.path().to_str().unwrap(),
        ],
        &[],
    );
    let text = stdout(&o);
    assert!(text.contains("-- questions"), "{text}");
    assert!(
        text.contains("* which-letters-say-client-side-scanning support -> oppose"),
        "{text}"
    );
}
