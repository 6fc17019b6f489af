//! Post-editing that lasts: `tolk export xliff`, edited by translate-toolkit (a program others
//! wrote, the library behind Pootle and Weblate's converters), `tolk import xliff`, and the next
//! run keeping the person's English without a call; TMX out and in; bad files refused with what
//! is wrong and the memory untouched. Against the fake server.
//!
//! translate-toolkit runs in the venv scripts/translate-toolkit-venv.sh makes (./test.sh sets
//! TRANSLATE_TOOLKIT_PYTHON); without it, under CI, the tests fail.

use crate::support::fake_llm::{FakeConfig, FakeThread};
use crate::support::{letter, root, stderr, stdout, tolk};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Output;

const OFFLIMITS: &str = "2024-09-18-offlimits";

/// The python with translate-toolkit, or None (and a note) when it is not installed here.
fn toolkit() -> Option<PathBuf> {
    let py = std::env::var_os("TRANSLATE_TOOLKIT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| "python3".into());
    let ok = std::process::Command::new(&py)
        .args([
            "-c",
            "import translate.storage.xliff, translate.storage.tmx",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(py);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "translate-toolkit is not installed: ./test.sh makes its venv (scripts/translate-toolkit-venv.sh)"
        );
    }
    eprintln!("translate-toolkit not installed: the round trip through it is not tested here");
    None
}

/// Run python `script` with `args`; its stdout as JSON.
fn python(py: &Path, script: &str, args: &[&str]) -> Value {
    let o = std::process::Command::new(py)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&o.stdout));
    })
}

fn run(out: &Path, fake: &FakeThread, inputs: &[&Path], mode: &str) -> Output {
    let mut args = vec![
        "run".to_string(),
        "--endpoint".into(),
        fake.base_url.clone(),
        "--model".into(),
        "fake-a".into(),
        "--no-progress".into(),
        "--translate-mode".into(),
        mode.into(),
        "--tasks".into(),
        "translate".into(),
        "--out".into(),
        out.display().to_string(),
    ];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = tolk(&root(), &args, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    o
}

/// `tolk run` of `letter` with the configuration file `config` and `extra` flags, whatever its
/// exit code.
fn run_configured(
    config: &Path,
    out: &Path,
    fake: &FakeThread,
    extra: &[&str],
    letter: &Path,
) -> Output {
    let mut args = vec![
        "--config",
        config.to_str().unwrap(),
        "run",
        "--endpoint",
        &fake.base_url,
        "--model",
        "fake-a",
        "--no-progress",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.push(letter.to_str().unwrap());
    tolk(&root(), &args, &[])
}

fn cmd(out: &Path, args: &[&str]) -> Output {
    let mut all: Vec<&str> = args.to_vec();
    let out = out.to_str().unwrap();
    all.extend(["--out", out]);
    tolk(&root(), &all, &[])
}

fn translation(run_dir: &Path, doc: &str) -> Value {
    let path = run_dir.join(doc).join("translation.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn last_line(o: &Output) -> PathBuf {
    PathBuf::from(stdout(o).lines().last().expect("a path").trim())
}

fn doc_id(p: &Path) -> String {
    p.file_stem().unwrap().to_string_lossy().into_owned()
}

fn translate_calls(fake: &FakeThread) -> usize {
    fake.chat_requests()
        .iter()
        .filter(|r| {
            let title = &r.body["response_format"]["json_schema"]["schema"]["title"];
            title == "tolk.translation" || title == "tolk.segment"
        })
        .count()
}

/// translate-toolkit reads every unit as tolk wrote it; edits two, approves one unchanged.
const EDIT: &str = r#"
import json, sys
from translate.storage import factory
src, dst = sys.argv[1], sys.argv[2]
store = factory.getobject(src)
units = [u for u in store.units if not u.isheader()]
seen = [{"id": u.xmlelement.get("id"), "source": u.source, "target": u.target,
         "translate": u.xmlelement.get("translate")} for u in units]
edited = {}
words = [u for u in units if u.xmlelement.get("translate") != "no"]
for u in words[1:3]:
    u.target = "Edited & <checked>: " + u.source.split()[0]
    edited[u.xmlelement.get("id")] = u.target
words[3].markapproved(True)
store.savefile(dst)
print(json.dumps({"units": seen, "edited": edited, "approved": words[3].xmlelement.get("id")}))
"#;

#[test]
fn an_xliff_edited_in_translate_toolkit_comes_back_as_a_person_s_english_that_every_run_keeps() {
    let Some(py) = toolkit() else { return };
    let fake = FakeThread::start(FakeConfig::default());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let offlimits = letter(OFFLIMITS);
    let doc = doc_id(&offlimits);
    let first = last_line(&run(&out, &fake, &[&offlimits], "chunk"));
    let calls_first = translate_calls(&fake);

    // Out: one file per letter, every segment a unit, as translate-toolkit reads it.
    let dest = tmp.path().join("xliff");
    let o = cmd(&out, &["export", "xliff", "--dest", dest.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let file = dest.join(format!("{doc}.xlf"));
    assert_eq!(last_line(&o), file);
    let edited = tmp.path().join("edited.xlf");
    let seen = python(
        &py,
        EDIT,
        &[file.to_str().unwrap(), edited.to_str().unwrap()],
    );
    let t = translation(&first, &doc);
    let segments = t["segments"].as_array().unwrap();
    let units = seen["units"].as_array().unwrap();
    assert_eq!(units.len(), segments.len(), "a unit per segment");
    for (u, s) in units.iter().zip(segments) {
        assert_eq!(u["id"], s["id"]);
        assert_eq!(u["source"], s["nl"], "{}", s["id"]);
        assert_eq!(u["target"], s["en"], "{}", s["id"]);
    }

    // Back in: the two edits and the approval become a person's English.
    let o = cmd(
        &out,
        &[
            "import",
            "xliff",
            edited.to_str().unwrap(),
            "--editor",
            "A. Vertaler",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("3 new"), "{}", stdout(&o));
    let memory: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("memory/translations.json")).unwrap(),
    )
    .unwrap();
    let entries = memory["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    for e in entries {
        assert_eq!(e["origin"], "human");
        assert_eq!(e["editor"], "A. Vertaler");
        assert_eq!(e["replaced"]["model"], "fake-a");
    }

    // The next run asks only the chunks with a segment no person translated.
    let status = cmd(
        &out,
        &[
            "status",
            "--endpoint",
            &fake.base_url,
            "--model",
            "fake-a",
            offlimits.to_str().unwrap(),
        ],
    );
    assert!(
        stdout(&status).contains("3 segments a person's"),
        "{}",
        stdout(&status)
    );
    let second = last_line(&run(&out, &fake, &[&offlimits], "chunk"));
    let t2 = translation(&second, &doc);
    let by_id = |t: &Value, id: &str| -> Value {
        t["segments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()
            .clone()
    };
    for (id, en) in seen["edited"].as_object().unwrap() {
        let s = by_id(&t2, id);
        assert_eq!(&s["en"], en);
        assert_eq!(s["origin"], "human");
        assert_eq!(s["editor"], "A. Vertaler");
    }
    let approved = seen["approved"].as_str().unwrap();
    assert_eq!(by_id(&t2, approved)["origin"], "human");
    assert_eq!(by_id(&t2, approved)["en"], by_id(&t, approved)["en"]);
    let asked_again = translate_calls(&fake) - calls_first;
    let chunks_with_human = fake
        .chat_requests()
        .iter()
        .skip(calls_first)
        .filter(|r| {
            r.body
                .to_string()
                .contains("A translator already translated")
        })
        .count();
    assert_eq!(
        asked_again, chunks_with_human,
        "only chunks that hold a person's English, with it as an example"
    );
    assert!(
        asked_again >= 1 && asked_again < calls_first,
        "{asked_again} of {calls_first}"
    );
    // None of the person's segments was sent to be translated.
    for r in fake.chat_requests().iter().skip(calls_first) {
        let ids = &r.body["response_format"]["json_schema"]["schema"]["required"];
        for id in seen["edited"].as_object().unwrap().keys() {
            assert!(
                !ids.as_array().unwrap().contains(&json!(id)),
                "{id} was asked"
            );
        }
    }
    // A third run pays nothing.
    let before = fake.chat_requests().len();
    run(&out, &fake, &[&offlimits], "chunk");
    assert_eq!(fake.chat_requests().len(), before);

    // The Markdown and the diff say whose English it is.
    let md = std::fs::read_to_string(second.join(&doc).join("translation.md")).unwrap();
    assert!(md.contains("*(translator A. Vertaler, "), "{md}");
    let d = cmd(
        &out,
        &[
            "diff",
            first.file_name().unwrap().to_str().unwrap(),
            second.file_name().unwrap().to_str().unwrap(),
        ],
    );
    assert!(stdout(&d).contains("(a person's edit)"), "{}", stdout(&d));

    // Export again: the person's units are final; importing that file changes nothing.
    let again = tmp.path().join("again");
    let o = cmd(
        &out,
        &["export", "xliff", "--dest", again.to_str().unwrap()],
    );
    assert!(stderr(&o).contains("3 a person's"), "{}", stderr(&o));
    let xliff = std::fs::read_to_string(again.join(format!("{doc}.xlf"))).unwrap();
    assert_eq!(xliff.matches("state=\"final\"").count(), 3);
    let memory_before = std::fs::read(out.join("memory/translations.json")).unwrap();
    let o = cmd(
        &out,
        &[
            "import",
            "xliff",
            again.join(format!("{doc}.xlf")).to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("0 new, 0 changed"), "{}", stdout(&o));
    assert_eq!(
        std::fs::read(out.join("memory/translations.json")).unwrap(),
        memory_before
    );
}

/// translate-toolkit reads tolk's TMX; writes a translator's own memory, which tolk imports.
const TMX: &str = r#"
import json, sys
from translate.storage import tmx
ours = tmx.tmxfile.parsefile(sys.argv[1])
read = [{"source": u.source, "target": u.target} for u in ours.units]
mine = tmx.tmxfile(sourcelanguage="nl", targetlanguage="en")
u = mine.addsourceunit(sys.argv[3]); u.target = "Dear Ministers,"
u = mine.addsourceunit(sys.argv[4]); u.target = "A translator's English for a near sentence."
mine.savefile(sys.argv[2])
print(json.dumps({"read": read}))
"#;

#[test]
fn a_translator_s_tmx_translates_the_same_dutch_without_a_call_and_tolk_s_tmx_reads_in_translate_toolkit()
 {
    let Some(py) = toolkit() else { return };
    let fake = FakeThread::start(FakeConfig::default());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let offlimits = letter(OFFLIMITS);
    let doc = doc_id(&offlimits);
    let first = last_line(&run(&out, &fake, &[&offlimits], "segment"));
    // Nothing in the memory yet: say so rather than write an empty file.
    let o = cmd(&out, &["export", "tmx"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is empty"), "{}", stderr(&o));

    let o = cmd(&out, &["export", "tmx", "--with-run", "latest"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let ours = last_line(&o);
    let theirs = tmp.path().join("theirs.tmx");
    let salutation = "Geachte bewindspersonen,";
    let t = translation(&first, &doc);
    // A sentence of the letter with one word changed: a close match, not an exact one.
    let longest = t["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["nl"].as_str().unwrap())
        .max_by_key(|nl| nl.len())
        .unwrap()
        .to_string();
    let near = longest.replacen(" de ", " het ", 1);
    assert_ne!(near, longest);
    let read = python(
        &py,
        TMX,
        &[
            ours.to_str().unwrap(),
            theirs.to_str().unwrap(),
            salutation,
            &near,
        ],
    );
    let with_words = t["segments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["nl"].as_str().unwrap().chars().any(char::is_alphabetic))
        .count();
    assert_eq!(read["read"].as_array().unwrap().len(), with_words);

    // Tolk's own machine English, read back, is not taken as a person's.
    let o = cmd(&out, &["import", "tmx", ours.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("{with_words} skipped")),
        "{}",
        stdout(&o)
    );
    assert!(!out.join("memory/translations.json").exists());

    let o = cmd(&out, &["import", "tmx", theirs.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("2 new"), "{}", stdout(&o));
    let calls = fake.chat_requests().len();
    let second = last_line(&run(&out, &fake, &[&offlimits], "segment"));
    // One call: the segment the near sentence resembles, with the translator's English as a
    // reference; the salutation is the memory's, every other segment answers from the cache.
    let new_calls: Vec<String> = fake.chat_requests()[calls..]
        .iter()
        .map(|r| r.body.to_string())
        .collect();
    assert_eq!(new_calls.len(), 1, "{new_calls:?}");
    assert!(
        new_calls[0].contains("A translator translated a similar sentence")
            && new_calls[0].contains("English for a near sentence"),
        "{}",
        new_calls[0]
    );
    let s = translation(&second, &doc)["segments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["nl"] == salutation)
        .cloned()
        .unwrap();
    assert_eq!(s["en"], "Dear Ministers,");
    assert_eq!(s["origin"], "memory");
}

#[test]
fn bad_files_are_refused_with_what_is_wrong_the_good_one_goes_in_and_nothing_half_imported() {
    let fake = FakeThread::start(FakeConfig::default());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let offlimits = letter(OFFLIMITS);
    let doc = doc_id(&offlimits);
    run(&out, &fake, &[&offlimits], "chunk");
    let dest = tmp.path().join("x");
    cmd(&out, &["export", "xliff", "--dest", dest.to_str().unwrap()]);
    let good = std::fs::read_to_string(dest.join(format!("{doc}.xlf"))).unwrap();
    // Units p2 and p8 edited: the good file.
    let edit = |x: &str, id: &str, en: &str| -> String {
        let at = x.find(&format!("id=\"{id}\"")).unwrap();
        let t = at + x[at..].find("<target").unwrap();
        let open_end = t + x[t..].find('>').unwrap() + 1;
        let close = t + x[t..].find("</target>").unwrap();
        format!("{}{en}{}", &x[..open_end], &x[close..])
    };
    let edited = edit(
        &edit(
            &good,
            "p8",
            "In the light of the discussions, a person wrote.",
        ),
        "p9",
        "Second edit.",
    );
    let write = |name: &str, text: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let ok = write("ok.xlf", &edited);
    let truncated = write("truncated.xlf", &edited[..edited.len() * 2 / 3]);
    let source_at =
        edited.find("<source xml:lang=\"nl\">").unwrap() + "<source xml:lang=\"nl\">".len();
    let changed_source = write(
        "changed.xlf",
        &format!(
            "{}Een andere tekst. {}",
            &edited[..source_at],
            &edited[source_at..]
        ),
    );
    let other_letter = write(
        "other.xlf",
        &edited.replace(
            &format!("tolk:doc=\"{doc}\""),
            "tolk:doc=\"een-andere-brief\"",
        ),
    );
    let unknown_id = write("unknown.xlf", &edited.replace("id=\"p9\"", "id=\"p999\""));
    let no_target = {
        let at = edited.find("id=\"p9\"").unwrap();
        let t = at + edited[at..].find("<target").unwrap();
        let end = t + edited[t..].find("</target>").unwrap() + "</target>".len();
        write(
            "no-target.xlf",
            &format!("{}{}", &edited[..t], &edited[end..]),
        )
    };
    let german = write(
        "de.tmx",
        r#"<?xml version="1.0"?><tmx version="1.4"><header srclang="de"/><body><tu><tuv xml:lang="de"><seg>Sehr geehrte</seg></tuv><tuv xml:lang="en"><seg>Dear</seg></tuv></tu></body></tmx>"#,
    );

    let bad: Vec<(&PathBuf, &str)> = vec![
        (&truncated, "may be cut short"),
        (&changed_source, "another version of the letter"),
        (&other_letter, "letter een-andere-brief, which no run"),
        (&unknown_id, "no segment p999"),
        (&no_target, "has no <target>"),
    ];
    let mut args = vec!["import", "xliff"];
    for (p, _) in &bad {
        args.push(p.to_str().unwrap());
    }
    let o = cmd(&out, &args);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    for (p, why) in &bad {
        let line = err
            .lines()
            .find(|l| l.contains(p.file_name().unwrap().to_str().unwrap()))
            .unwrap_or_else(|| panic!("no error for {}:\n{err}", p.display()));
        assert!(line.contains(why), "{line}");
    }
    assert!(
        err.contains("line "),
        "the truncated file's error says where: {err}"
    );
    assert!(
        err.contains("(lines "),
        "the changed source names its lines: {err}"
    );
    assert!(
        !out.join("memory/translations.json").exists(),
        "nothing imported"
    );

    let o = cmd(&out, &["import", "tmx", german.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("de, en"), "{}", stderr(&o));
    assert!(!out.join("memory/translations.json").exists());

    // The good file beside a bad one: the good one goes in, whole.
    let o = cmd(
        &out,
        &[
            "import",
            "xliff",
            ok.to_str().unwrap(),
            changed_source.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("2 new"), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("1 of 2 files refused"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_letter_with_markup_and_control_characters_gives_an_xliff_every_reader_opens() {
    let fake = FakeThread::start(FakeConfig::default());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let letter = tmp.path().join("opmaak.txt");
    std::fs::write(
        &letter,
        "Geachte minister,\n\nWij schrijven <b>vet</b> & \"aanhalingen\" en ]]> in een brief\u{1} met een stuurteken.\n\nMet vriendelijke groet,\nA. Schrijver\n",
    )
    .unwrap();
    run(&out, &fake, &[&letter], "chunk");
    let dest = tmp.path().join("x");
    let o = cmd(&out, &["export", "xliff", "--dest", dest.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let file = dest.join("opmaak.xlf");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains('\u{1}')
            && !text.contains("]]>")
            && text.contains("&lt;b&gt;vet&lt;/b&gt; &amp;")
    );
    // Read back as it was written: the import finds every source the letter's.
    let o = cmd(
        &out,
        &["import", "xliff", file.to_str().unwrap(), "--dry-run"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    if let Some(py) = toolkit() {
        let read = python(
            &py,
            "import json,sys\nfrom translate.storage import factory\ns=factory.getobject(sys.argv[1])\nprint(json.dumps([u.source for u in s.units if not u.isheader()]))",
            &[file.to_str().unwrap()],
        );
        assert!(
            read.as_array().unwrap().iter().any(|s| s
                .as_str()
                .unwrap()
                .contains("<b>vet</b> & \"aanhalingen\" en ]]>")),
            "{read}"
        );
    }
}

#[test]
fn a_glossary_from_tbx_or_csv_goes_into_the_prompts_and_the_checks_hold_the_run_to_it() {
    let fake = FakeThread::start(FakeConfig::default());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let offlimits = letter(OFFLIMITS);
    let doc = doc_id(&offlimits);
    std::fs::write(
        tmp.path().join("terms.csv"),
        "nl,en,note\nMeldpunt Kinderporno,Child Pornography Reporting Point,Offlimits' hotline\n",
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("terms.tbx"),
        r#"<martif type="TBX-Basic"><text><body><termEntry><langSet xml:lang="nl"><tig><term>bewindspersonen</term></tig></langSet><langSet xml:lang="en"><tig><term>Ministers</term></tig></langSet></termEntry></body></text></martif>"#,
    )
    .unwrap();
    let config = tmp.path().join("tolk.toml");
    std::fs::write(
        &config,
        format!(
            "[run]\nglossaries = [{:?}, {:?}]\n",
            tmp.path().join("terms.csv").display().to_string(),
            tmp.path().join("terms.tbx").display().to_string()
        ),
    )
    .unwrap();
    let o = run_configured(
        &config,
        &out,
        &fake,
        &["--tasks", "translate", "--translate-mode", "segment"],
        &offlimits,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let prompts: Vec<String> = fake
        .chat_requests()
        .iter()
        .map(|r| r.body.to_string())
        .collect();
    assert!(
        prompts.iter().any(|p| p.contains("Meldpunt Kinderporno")
            && p.contains("Child Pornography Reporting Point"))
    );
    assert!(
        prompts
            .iter()
            .any(|p| p.contains("bewindspersonen") && p.contains("Ministers"))
    );
    // The fake does not use the fixed English: the checks say so, term by term.
    let t = translation(&last_line(&o), &doc);
    let terms: Vec<&str> = t["terminology"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["nl"].as_str().unwrap())
        .collect();
    assert!(
        terms.contains(&"Meldpunt Kinderporno") && terms.contains(&"bewindspersonen"),
        "{terms:?}"
    );
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(last_line(&o).join("manifest.json")).unwrap(),
    )
    .unwrap();
    assert!(
        manifest["prompts"]
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.starts_with("glossary:") && k.ends_with("terms.tbx"))
    );

    // Suggestions from the run, written as a glossary file that tolk itself reads back.
    let sugg = tmp.path().join("suggested.csv");
    let o = tolk(
        &root(),
        &[
            "--config",
            config.to_str().unwrap(),
            "glossary",
            "suggest",
            "--min",
            "2",
            "--csv",
            sugg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let table = stdout(&o);
    assert!(
        !table.contains("Meldpunt Kinderporno"),
        "a glossary term is not suggested again: {table}"
    );
    let csv = std::fs::read_to_string(&sugg).unwrap();
    assert!(
        csv.starts_with("nl,en,note\n") && csv.lines().count() > 1,
        "{csv}"
    );
    assert!(
        csv.contains("kinderrechtenverdrag,"),
        "a recurring compound: {csv}"
    );
    // The file is a glossary tolk reads: a dry run with it listed loads it.
    let config2 = tmp.path().join("tolk2.toml");
    std::fs::write(
        &config2,
        format!("[run]\nglossaries = [{:?}]\n", sugg.display().to_string()),
    )
    .unwrap();
    let o = run_configured(&config2, &out, &fake, &["--dry-run"], &offlimits);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // A TBX without English stops the run before any call, naming the file.
    std::fs::write(
        tmp.path().join("terms.tbx"),
        r#"<martif type="TBX-Basic"><text><body><termEntry><langSet xml:lang="nl"><tig><term>bewindspersonen</term></tig></langSet><langSet xml:lang="de"><tig><term>Minister</term></tig></langSet></termEntry></body></text></martif>"#,
    )
    .unwrap();
    let calls = fake.chat_requests().len();
    let o = run_configured(&config, &out, &fake, &[], &offlimits);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("terms.tbx") && stderr(&o).contains("no English terms"),
        "{}",
        stderr(&o)
    );
    assert_eq!(fake.chat_requests().len(), calls);
}
