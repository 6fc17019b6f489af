//! Versions you can compare: tolk runs, status, diff, show, against the fake server whose
//! replies differ per model.

use crate::support::fake_llm::{FakeConfig, FakeThread};
use crate::support::{root, stderr, stdout, tolk};
use std::path::Path;

const OFFLIMITS: &str = "2024-09-18-offlimits-advies-kabinetsstandpunt";

fn run(
    dir: &Path,
    out: &Path,
    fake: &FakeThread,
    model: &str,
    label: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) {
    let mut args = vec![
        "run",
        "--endpoint",
        &fake.base_url,
        "--model",
        model,
        "--out",
        out.to_str().unwrap(),
        "--label",
        label,
        "--no-progress",
    ];
    args.extend_from_slice(extra);
    let mut env = env.to_vec();
    env.insert(0, crate::support::CHUNK_MODE);
    let o = tolk(dir, &args, &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

fn redact(s: &str) -> String {
    let re = regex::Regex::new(r"\d{8}T\d{6}Z-[a-z0-9.-]+-[0-9a-f]{6}").unwrap();
    re.replace_all(s, "[run_id]").into_owned()
}

#[test]
fn diff_between_two_models_lists_changes_in_every_task_and_identical_runs_say_so() {
    let fake = FakeThread::start(FakeConfig::default());
    let out = tempfile::tempdir().unwrap();
    let letter = root().join(format!("input/{OFFLIMITS}.txt"));
    let l = letter.to_str().unwrap();
    run(&root(), out.path(), &fake, "fake-a", "a", &[l], &[]);
    run(&root(), out.path(), &fake, "fake-b", "b", &[l], &[]);
    run(&root(), out.path(), &fake, "fake-a", "a-again", &[l], &[]);
    let o = out.path().to_str().unwrap();

    let runs = tolk(&root(), &["runs", "--out", o], &[]);
    let listing = stdout(&runs);
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 4, "{listing}");
    assert!(
        lines[1].contains(" a-again ") && lines[2].contains(" b ") && lines[3].contains(" a "),
        "newest first: {listing}"
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&tolk(
        &root(),
        &["runs", "--out", o, "--json"],
        &[],
    )))
    .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 3);

    let text = tolk(&root(), &["diff", "a", "b", "--out", o], &[]);
    assert!(text.status.success(), "{}", stderr(&text));
    let t = stdout(&text);
    assert!(
        t.contains("-- summary") && t.contains("-- stance") && t.contains("-- translation"),
        "{t}"
    );
    assert!(
        t.contains("+ key point") && t.contains("- key point"),
        "{t}"
    );
    assert!(
        t.contains("* overall") && t.contains("support -> oppose"),
        "{t}"
    );
    assert!(t.contains("100% of segments changed"), "{t}");
    insta::assert_snapshot!("diff_text", redact(&t));

    let md = stdout(&tolk(
        &root(),
        &[
            "diff", "fake-a", "fake-b", "--out", o, "--format", "md", "--task", "stance",
        ],
        &[],
    ));
    insta::assert_snapshot!("diff_md_stance", redact(&md));

    let json = stdout(&tolk(
        &root(),
        &[
            "diff", "a", "b", "--out", o, "--format", "json", "--task", "summary",
        ],
        &[],
    ));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["identical"], false);
    assert_eq!(v["documents"][0]["doc_id"], OFFLIMITS);
    insta::assert_json_snapshot!("diff_json_summary", v, {".a.run_id" => "[run_id]", ".b.run_id" => "[run_id]"});

    // The same model twice: identical outputs.
    let same = stdout(&tolk(&root(), &["diff", "a", "a-again", "--out", o], &[]));
    assert_eq!(
        redact(&same).trim(),
        "no differences between a (fake-a) and a-again (fake-a)"
    );

    // show: the bilingual view with line numbers and evidence marks.
    let show = tolk(
        &root(),
        &["show", "offlimits", "--run", "b", "--out", o],
        &[],
    );
    let s = stdout(&show);
    assert!(show.status.success(), "{}", stderr(&show));
    assert!(
        s.contains("  22") && s.contains("EN [fake-b] In het licht van de discussies"),
        "{s}"
    );
    assert!(s.contains("* "), "evidence lines are marked: {s}");
    let st = stdout(&tolk(
        &root(),
        &["show", OFFLIMITS, "--task", "stance", "--out", o],
        &[],
    ));
    assert!(st.contains("exact]") && st.contains("UNVERIFIED"), "{st}");
}

#[test]
fn status_reports_stale_after_an_input_or_a_prompt_is_edited() {
    let fake = FakeThread::start(FakeConfig::default());
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    std::fs::create_dir(w.join("input")).unwrap();
    std::fs::copy(
        root().join(format!("input/{OFFLIMITS}.txt")),
        w.join(format!("input/{OFFLIMITS}.txt")),
    )
    .unwrap();
    std::fs::create_dir(w.join("prompts")).unwrap();
    for e in std::fs::read_dir(root().join("prompts")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, w.join("prompts").join(p.file_name().unwrap())).unwrap();
    }
    let out = w.join("output");
    let status = |model: &str| -> serde_json::Value {
        let o = tolk(
            w,
            &[
                "status",
                "--endpoint",
                &fake.base_url,
                "--model",
                model,
                "--json",
            ],
            &[crate::support::CHUNK_MODE],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_str(&stdout(&o)).unwrap()
    };
    let before = status("fake-a");
    assert!(
        before
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "stale" && r["why"] == "never run"),
        "{before}"
    );
    run(w, &out, &fake, "fake-a", "first", &[], &[]);
    let now = status("fake-a");
    assert!(
        now.as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "up to date" && r["calls"] == 0),
        "{now}"
    );

    // Another model: everything stale, model changed.
    let other = status("fake-b");
    assert!(
        other
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["why"].as_str().unwrap().starts_with("model changed")),
        "{other}"
    );

    // Edit a prompt: only its task is stale.
    let p = w.join("prompts/summary_reduce.toml");
    std::fs::write(
        &p,
        std::fs::read_to_string(&p)
            .unwrap()
            .replace("neutral summary", "neutral, plain summary"),
    )
    .unwrap();
    let after_prompt = status("fake-a");
    for r in after_prompt.as_array().unwrap() {
        if r["task"] == "summary" {
            assert_eq!(r["status"], "stale");
            assert!(
                r["why"]
                    .as_str()
                    .unwrap()
                    .contains("prompt changed (summary_reduce@v2)"),
                "{r}"
            );
            assert_eq!(r["calls"], 1, "only the reduce step is called again");
        } else {
            assert_eq!(r["status"], "up to date", "{r}");
        }
    }

    // Edit the input: every task is stale.
    let f = w.join(format!("input/{OFFLIMITS}.txt"));
    std::fs::write(
        &f,
        std::fs::read_to_string(&f)
            .unwrap()
            .replace("Geachte bewindspersonen,", "Geachte bewindslieden,"),
    )
    .unwrap();
    let after_input = status("fake-a");
    for r in after_input.as_array().unwrap() {
        assert_eq!(r["status"], "stale", "{r}");
        assert!(r["why"].as_str().unwrap().contains("input changed"), "{r}");
    }
}
