//! Segment mode (`translate.mode = "segment"`): one plain-text call per paragraph with words,
//! against the fake server.

use crate::support::fake_llm::{FakeConfig, FakeThread, plain_source};
use crate::support::{root, stderr, stdout, tolk};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const LETTER: &str = "input/2024-09-18-offlimits-advies-kabinetsstandpunt.txt";

fn run(out: &Path, fake: &FakeThread, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "run",
        LETTER,
        "--endpoint",
        &fake.base_url,
        "--model",
        "fake-a",
        "--tasks",
        "translate",
        "--no-progress",
        "--out",
        out.to_str().unwrap(),
    ];
    if !extra.contains(&"--translate-mode") {
        args.extend_from_slice(&["--translate-mode", "segment"]);
    }
    args.extend_from_slice(extra);
    tolk(&root(), &args, &[])
}

fn translation(o: &std::process::Output) -> Value {
    let dir = PathBuf::from(stdout(o).trim());
    let path = dir.join("2024-09-18-offlimits-advies-kabinetsstandpunt/translation.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The first round of a segment call: the system prompt and one user message.
fn first_round(body: &Value) -> bool {
    body["messages"].as_array().is_some_and(|m| m.len() == 2)
}

/// Copy the Dutch of the paragraphs about the Hungarian proposal, in the first round only.
fn copies_hungarian(body: &Value) -> bool {
    first_round(body) && plain_source(body).is_some_and(|t| t.contains("Hongaarse"))
}

#[test]
fn each_paragraph_is_its_own_plain_call_and_its_english_stays_on_its_lines() {
    let fake = FakeThread::start(FakeConfig::default());
    let out = tempfile::tempdir().unwrap();
    let o = run(out.path(), &fake, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t = translation(&o);
    let segs = t["segments"].as_array().unwrap();
    let requests = fake.chat_requests();
    // One call per segment with a letter; none asks for JSON.
    let worded: Vec<&Value> = segs
        .iter()
        .filter(|s| tolk::tasks::translate::has_words(s["nl"].as_str().unwrap()))
        .collect();
    let sent: Vec<String> = requests
        .iter()
        .filter(|r| first_round(&r.body))
        .map(|r| plain_source(&r.body).expect("a plain translation request"))
        .collect();
    assert_eq!(sent.len(), worded.len(), "one call per segment with words");
    assert!(
        requests
            .iter()
            .all(|r| r.body.get("response_format").is_none())
    );
    let distinct: BTreeSet<&String> = sent.iter().collect();
    assert_eq!(distinct.len(), sent.len(), "each segment is sent once");
    // Each segment's English is the answer to its own Dutch, so it stays on its own lines.
    for s in &worded {
        let nl = s["nl"].as_str().unwrap();
        let en = s["en"].as_str().unwrap();
        assert_eq!(
            en,
            crate::support::fake_llm::fake_english("fake-a", nl),
            "{}",
            s["id"]
        );
    }
    // Glossary terms of a segment go with it, and only those.
    let with_term = requests
        .iter()
        .find(|r| plain_source(&r.body).is_some_and(|t| t.contains("verordening")))
        .expect("a segment with the glossary term verordening");
    // ... in the system prompt: the user message is the Dutch alone.
    let system = with_term.body["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("verordening = regulation"), "{system}");
    assert!(!system.contains("Eerste Kamer ="), "{system}");
    let user = with_term.body["messages"][1]["content"].as_str().unwrap();
    assert_eq!(Some(user.trim().to_string()), plain_source(&with_term.body));
    // The manifest says how the letter was translated.
    let dir = PathBuf::from(stdout(&o).trim());
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["params"]["translate_mode"], "segment");

    // A rerun is answered from the cache.
    fake.clear();
    let again = run(out.path(), &fake, &[]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(fake.chat_requests().is_empty(), "a rerun calls nothing");
    assert_eq!(translation(&again)["segments"], t["segments"]);
}

#[test]
fn a_reply_that_is_the_dutch_is_repaired_and_the_repair_says_why() {
    let fake = FakeThread::start(FakeConfig {
        copy_if: Some(copies_hungarian),
        ..FakeConfig::default()
    });
    let out = tempfile::tempdir().unwrap();
    let o = run(out.path(), &fake, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let requests = fake.chat_requests();
    // A copy of Dutch prose is refused; a name or a heading ("Offlimits") may stay as it is.
    let reads_dutch = |t: &str| tolk::checks::text::language(t) == tolk::checks::text::Lang::Dutch;
    let copied = requests
        .iter()
        .filter(|r| copies_hungarian(&r.body))
        .filter(|r| plain_source(&r.body).is_some_and(|t| reads_dutch(&t)))
        .count();
    assert!(
        copied >= 2,
        "{copied} paragraphs mention the Hungarian proposal"
    );
    // Each copy was answered again, with the reason in words, and the second answer is used.
    let repairs: Vec<&str> = requests
        .iter()
        .filter(|r| !first_round(&r.body))
        .map(|r| {
            r.body["messages"].as_array().unwrap().last().unwrap()["content"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(repairs.len(), copied, "{repairs:?}");
    assert!(
        repairs.iter().all(|m| m.contains("the Dutch text itself")),
        "{repairs:?}"
    );
    let t = translation(&o);
    for s in t["segments"].as_array().unwrap() {
        let nl = s["nl"].as_str().unwrap();
        if nl.contains("Hongaarse") && reads_dutch(nl) {
            assert_ne!(s["en"].as_str().unwrap(), nl, "{}", s["id"]);
        }
    }
}

#[test]
fn a_reply_that_still_reads_as_dutch_is_asked_once_more() {
    let fake = FakeThread::start(FakeConfig {
        copy_if: Some(copies_hungarian),
        copy_marked: true,
        ..FakeConfig::default()
    });
    let out = tempfile::tempdir().unwrap();
    let o = run(out.path(), &fake, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let requests = fake.chat_requests();
    let copied = requests
        .iter()
        .filter(|r| copies_hungarian(&r.body))
        .count();
    let again: Vec<&Value> = requests
        .iter()
        .filter(|r| !first_round(&r.body))
        .map(|r| &r.body)
        .collect();
    // Every copy that reads as Dutch (not a short heading) is asked again, with its reply.
    assert!(
        !again.is_empty() && again.len() <= copied,
        "{} of {copied}",
        again.len()
    );
    for body in &again {
        let m = body["messages"].as_array().unwrap();
        assert_eq!(m.len(), 4);
        assert!(m[2]["content"].as_str().unwrap().starts_with("[copy] "));
        assert_eq!(m[3]["content"], tolk::tasks::translate::STILL_DUTCH);
    }
    // The second answer replaces the first; the rest of the letter is untouched.
    let t = translation(&o);
    let marked = t["segments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["en"].as_str().is_some_and(|e| e.starts_with("[copy] ")))
        .count();
    assert_eq!(
        marked,
        copied - again.len(),
        "only copies too short to judge stay"
    );
    // Cached like every call: a rerun makes none.
    fake.clear();
    let rerun = run(out.path(), &fake, &[]);
    assert_eq!(rerun.status.code(), Some(0), "{}", stderr(&rerun));
    assert!(fake.chat_requests().is_empty());
}

fn has_terms(body: &Value) -> bool {
    body["messages"][0]["content"]
        .as_str()
        .is_some_and(|s| s.contains("Always translate these terms"))
}

#[test]
fn a_reply_that_repeats_the_instructions_is_asked_again_without_them() {
    let fake = FakeThread::start(FakeConfig {
        echo_if: Some(has_terms),
        ..FakeConfig::default()
    });
    let out = tempfile::tempdir().unwrap();
    let o = run(out.path(), &fake, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let requests = fake.chat_requests();
    let with_terms: BTreeSet<String> = requests
        .iter()
        .filter(|r| has_terms(&r.body))
        .filter_map(|r| plain_source(&r.body))
        .collect();
    assert!(with_terms.len() >= 2, "{with_terms:?}");
    // The repair said why, in words.
    assert!(requests.iter().any(|r| {
        r.body["messages"].as_array().unwrap().last().unwrap()["content"]
            .as_str()
            .unwrap()
            .contains("repeats the instructions")
    }));
    // Each of those segments was asked once more with the bare prompt, and that English is used.
    let t = translation(&o);
    for nl in &with_terms {
        let bare = requests
            .iter()
            .filter(|r| !has_terms(&r.body) && plain_source(&r.body).as_ref() == Some(nl))
            .count();
        assert_eq!(bare, 1, "{nl}");
        let seg = t["segments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["nl"].as_str() == Some(nl.as_str()))
            .unwrap();
        assert_eq!(
            seg["en"].as_str().unwrap(),
            crate::support::fake_llm::fake_english("fake-a", nl)
        );
    }
}

#[test]
fn chunk_mode_is_still_one_json_call_per_chunk() {
    let fake = FakeThread::start(FakeConfig::default());
    let out = tempfile::tempdir().unwrap();
    let o = run(out.path(), &fake, &["--translate-mode", "chunk"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let requests = fake.chat_requests();
    assert!(!requests.is_empty());
    assert!(
        requests.iter().all(
            |r| r.body["response_format"]["json_schema"]["schema"]["title"] == "tolk.translation"
        ),
        "chunk mode asks for the JSON map"
    );
}

#[test]
fn auto_decides_within_the_first_run_and_the_same_command_again_makes_no_call() {
    // The fake server's chunk-mode English is the Dutch marked with the model's name: copying,
    // as the small models do.
    let fake = FakeThread::start(FakeConfig::default());
    let out = tempfile::tempdir().unwrap();
    let first = run(out.path(), &fake, &["--translate-mode", "auto"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("translate.mode auto: segment mode, since chunk mode left"),
        "{}",
        stderr(&first)
    );
    let requests = fake.chat_requests();
    let chunked = requests
        .iter()
        .filter(|r| r.body.get("response_format").is_some())
        .count();
    let plain = requests
        .iter()
        .filter(|r| plain_source(&r.body).is_some())
        .count();
    assert!(
        chunked > 0 && plain > 0,
        "chunk mode is tried on the first letter ({chunked} calls), then the letter is translated in segment mode ({plain})"
    );
    let dir = PathBuf::from(stdout(&first).trim());
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["params"]["translate_mode"], "segment");
    let kept: Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("translate-mode.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(kept["decisions"][0]["mode"], "segment");
    assert_eq!(kept["decisions"][0]["model"], "fake-a");
    // The translation is the segment mode's: English, not the Dutch copied.
    let t = translation(&first);
    assert!(
        t["segments"].as_array().unwrap().iter().all(|s| s["checks"]
            .as_array()
            .is_none_or(|c| c.iter().all(|f| f["check"] != "identical"))),
        "{t}"
    );

    // What status and a dry run say is what the next run does: nothing to call.
    let status = tolk(
        &root(),
        &[
            "status",
            LETTER,
            "--endpoint",
            &fake.base_url,
            "--model",
            "fake-a",
            "--tasks",
            "translate",
            "--translate-mode",
            "auto",
            "--out",
            out.path().to_str().unwrap(),
            "--json",
        ],
        &[],
    );
    assert!(status.status.success(), "{}", stderr(&status));
    let rows: Value = serde_json::from_str(&stdout(&status)).unwrap();
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "up to date" && r["calls"] == 0),
        "{rows}"
    );
    fake.clear();
    let second = run(out.path(), &fake, &["--translate-mode", "auto"]);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert_eq!(fake.chat_requests().len(), 0, "the rerun pays nothing");
    assert!(
        stderr(&second).contains("kept in translate-mode.json"),
        "{}",
        stderr(&second)
    );
}

/// Copy the Dutch of the opening paragraph, on every attempt.
fn copies_the_opening(body: &Value) -> bool {
    plain_source(body).is_some_and(|t| t.starts_with("Het Hongaarse voorstel"))
}

#[test]
fn a_model_that_keeps_copying_a_paragraph_leaves_it_flagged_and_the_letter_goes_on() {
    let fake = FakeThread::start(FakeConfig {
        copy_if: Some(copies_the_opening),
        ..FakeConfig::default()
    });
    let out = tempfile::tempdir().unwrap();
    let o = run(out.path(), &fake, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t = translation(&o);
    let seg = t["segments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["nl"]
                .as_str()
                .unwrap()
                .starts_with("Het Hongaarse voorstel")
        })
        .unwrap()
        .clone();
    // Kept as the model gave it, and flagged by the checks in the output itself.
    assert_eq!(seg["en"], seg["nl"]);
    let checks: Vec<&str> = seg["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert!(
        checks.contains(&"identical") || checks.contains(&"untranslated"),
        "{checks:?}"
    );
    let dir = PathBuf::from(stdout(&o).trim());
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let warnings = m["inputs"][0]["warnings"].to_string();
    assert!(
        warnings.contains("is the model's answer as it gave it, after every attempt was refused: it is the Dutch text itself"),
        "{warnings}"
    );
}
