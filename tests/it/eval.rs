//! `tolk check` and `tolk eval` on runs against the fake server (whose "English" is the Dutch
//! marked with the model's name, so the checks must call it untranslated), and on the same run
//! with its outputs replaced by the project's reference translation and gold labels (which must
//! score chrF++ 100 and full agreement).

use crate::support::fake_llm::{FakeConfig, FakeThread};
use crate::support::{root, stderr, stdout, tolk};
use serde_json::Value;
use std::path::Path;

const OFFLIMITS: &str = "2024-09-18-offlimits-advies-kabinetsstandpunt";

fn run(out: &Path, fake: &FakeThread, model: &str, label: &str) -> String {
    let letter = root().join(format!("input/{OFFLIMITS}.txt"));
    let o = tolk(
        &root(),
        &[
            "run",
            letter.to_str().unwrap(),
            "--endpoint",
            &fake.base_url,
            "--model",
            model,
            "--out",
            out.to_str().unwrap(),
            "--label",
            label,
            "--no-progress",
        ],
        &[crate::support::CHUNK_MODE],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    stderr(&o)
}

fn read(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn write(p: &Path, v: &Value) {
    std::fs::write(p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
}

/// The run folder of the run labelled `label`.
fn run_dir(out: &Path, label: &str) -> std::path::PathBuf {
    let runs = stdout(&tolk(
        &root(),
        &["runs", "--out", out.to_str().unwrap(), "--json"],
        &[],
    ));
    let list: Value = serde_json::from_str(&runs).unwrap();
    let id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["label"] == label)
        .unwrap()["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    out.join("runs").join(id)
}

#[test]
fn check_and_eval_judge_a_run_and_tell_the_better_of_two() {
    let fake = FakeThread::start(FakeConfig::default());
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let closing = run(out.path(), &fake, "fake-a", "fake");

    // The closing table has a flags column; the manifest counts findings by check.
    assert!(
        closing.contains("flags") && closing.contains("major"),
        "{closing}"
    );
    let fake_dir = run_dir(out.path(), "fake");
    let manifest = read(&fake_dir.join("manifest.json"));
    assert!(
        manifest["findings"]["untranslated"]["major"]
            .as_u64()
            .unwrap()
            > 0,
        "{manifest}"
    );
    let t = read(&fake_dir.join(OFFLIMITS).join("translation.json"));
    // Every segment whose Dutch reads as Dutch is flagged: the fake's "English" is that Dutch.
    for s in t["segments"].as_array().unwrap() {
        let (nl, en) = tolk::checks::text::function_words(s["nl"].as_str().unwrap());
        if nl >= 3 && nl > en {
            let checks = s["checks"].as_array().cloned().unwrap_or_default();
            assert!(checks.iter().any(|f| f["check"] == "untranslated"), "{s}");
        }
    }
    let md = std::fs::read_to_string(fake_dir.join(OFFLIMITS).join("translation.md")).unwrap();
    assert!(md.contains("> ⚠ **major** · untranslated"), "{md}");

    // tolk check: one line per finding; --strict fails on a major one.
    let c = tolk(&root(), &["check", "--out", o], &[]);
    assert_eq!(c.status.code(), Some(0), "{}", stderr(&c));
    let text = stdout(&c);
    assert!(
        text.contains("major translate p")
            && text.contains("untranslated: the English is mostly Dutch"),
        "{text}"
    );
    let strict = tolk(&root(), &["check", "fake", "--strict", "--out", o], &[]);
    assert_eq!(strict.status.code(), Some(1), "{}", stdout(&strict));
    let json: Value = serde_json::from_str(&stdout(&tolk(
        &root(),
        &["check", "--json", "--out", o],
        &[],
    )))
    .unwrap();
    assert_eq!(json[0]["doc_id"], OFFLIMITS);
    assert!(json[0]["segments"].as_u64().unwrap() >= 10);

    // The same run again, its outputs replaced by the reference and the gold labels.
    run(out.path(), &fake, "fake-a", "gold");
    let gold_dir = run_dir(out.path(), "gold");
    let reference = read(&root().join(format!("eval/reference/{OFFLIMITS}.json")));
    let path = gold_dir.join(OFFLIMITS).join("translation.json");
    let mut t = read(&path);
    for s in t["segments"].as_array_mut().unwrap() {
        let r = reference["segments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["lines"] == s["lines"])
            .unwrap_or_else(|| panic!("a reference segment for lines {}", s["lines"]));
        s["en"] = r["en"].clone();
    }
    write(&path, &t);
    let gold = read(&root().join("eval/stance_gold.json"));
    let letter = gold["letters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["doc_id"] == OFFLIMITS)
        .unwrap();
    let path = gold_dir.join(OFFLIMITS).join("stance.json");
    let mut st = read(&path);
    st["overall"]["stance"] = letter["overall"]["stance"].clone();
    for topic in st["topics"].as_array_mut().unwrap() {
        let id = topic["topic"].as_str().unwrap().to_string();
        topic["stance"] = letter["topics"][&id]["stance"].clone();
    }
    write(&path, &st);
    // And a faithful summary, its key points on the lines that argue them.
    let path = gold_dir.join(OFFLIMITS).join("summary.json");
    let mut su = read(&path);
    su["summary_en"] = Value::from(
        "Offlimits advises six members of the cabinet against the Hungarian proposal for the CSAM regulation.",
    );
    su["key_points"] = serde_json::json!([
        {"text_en": "The Dutch approach of prevention, action and self-regulation works", "lines": [[24, 26]], "paragraphs": ["p9", "p10"]},
        {"text_en": "The Hungarian proposal would harm it and breach privacy", "lines": [[28, 28]], "paragraphs": ["p11"]}
    ]);
    write(&path, &su);

    let e = tolk(&root(), &["eval", "gold", "--json", "--out", o], &[]);
    assert_eq!(e.status.code(), Some(0), "{}", stderr(&e));
    let v: Value = serde_json::from_str(&stdout(&e)).unwrap();
    let chrf = v["translation"]["chrf"].as_f64().unwrap();
    assert!((chrf - 100.0).abs() < 1e-9, "the reference scores 100: {v}");
    assert!(
        v["translation"]["dutch_chrf"].as_f64().unwrap() < 40.0,
        "{v}"
    );
    assert_eq!(v["stance"]["accuracy"].as_f64().unwrap(), 1.0, "{v}");
    assert_eq!(v["stance"]["judgements"], 12);
    let baseline = v["stance"]["baseline"]["accuracy"].as_f64().unwrap();
    assert!(baseline > 0.0 && baseline < 1.0, "{v}");
    assert_eq!(
        v["checks"]["findings"]["major"], 0,
        "the reference has no major finding: {v}"
    );
    // Only the Offlimits letter is in the run: the other references are said to be missing.
    assert_eq!(v["translation"]["not_in_run"].as_array().unwrap().len(), 4);

    let fake_eval: Value = serde_json::from_str(&stdout(&tolk(
        &root(),
        &["eval", "fake", "--json", "--out", o],
        &[],
    )))
    .unwrap();
    let fake_chrf = fake_eval["translation"]["chrf"].as_f64().unwrap();
    let dutch = fake_eval["translation"]["dutch_chrf"].as_f64().unwrap();
    assert!(
        fake_chrf < 45.0 && (fake_chrf - dutch).abs() < 10.0,
        "the Dutch scores as the Dutch: {fake_eval}"
    );

    // Two runs side by side: the reference is closer, agrees more and has fewer findings.
    let two = tolk(&root(), &["eval", "fake", "gold", "--out", o], &[]);
    let text = stdout(&two);
    assert!(two.status.success(), "{}", stderr(&two));
    assert!(
        text.contains("reference: B is closer (chrF++ 100.0 vs"),
        "{text}"
    );
    assert!(
        text.contains("gold labels: B agrees more (accuracy 100.0% vs"),
        "{text}"
    );
    assert!(text.contains("checks: B has fewer findings"), "{text}");
    assert!(text.contains(OFFLIMITS), "{text}");

    // tolk diff counts the findings of A and B; the diff page shows the scores.
    let d = stdout(&tolk(&root(), &["diff", "fake", "gold", "--out", o], &[]));
    assert!(d.contains("checks: A ") && d.contains("findings A "), "{d}");
    let page = tolk(
        &root(),
        &["report", "--diff", "fake", "gold", "--out", o],
        &[],
    );
    assert!(page.status.success(), "{}", stderr(&page));
    let html = std::fs::read_to_string(stdout(&page).trim()).unwrap();
    assert!(
        html.contains("Which is closer") && html.contains("B is closer"),
        "{html}"
    );

    // A gold file that is wrong is named, with what is wrong.
    let bad = out.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"letters": [{"doc_id": "x", "overall": {"stance": "against"}}]}"#,
    )
    .unwrap();
    let e = tolk(
        &root(),
        &["eval", "--gold", bad.to_str().unwrap(), "--out", o],
        &[],
    );
    assert_eq!(e.status.code(), Some(2));
    assert!(
        stderr(&e).contains("bad.json") && stderr(&e).contains("unknown stance \"against\""),
        "{}",
        stderr(&e)
    );
}
