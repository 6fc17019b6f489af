//! Capability probing and context limits against the fake server: the structured-output mode
//! is found once and remembered, a mode in the configuration is not probed, a reported context
//! size sets the chunk budget, a prompt rejected as too long is re-cut, not failed, and a
//! whole-letter answer cut off at the token limit is asked for again per chunk.

use crate::support::fake_llm::{FakeConfig, FakeThread};
use crate::support::{letter, root, stderr, stdout, tolk};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn run(
    fake: &FakeThread,
    out: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    let offlimits = letter("2024-09-18-offlimits");
    let mut args = vec![
        "run",
        offlimits.to_str().unwrap(),
        "--endpoint",
        &fake.base_url,
        "--model",
        "fake-a",
        "--out",
        out.to_str().unwrap(),
        "--no-progress",
    ];
    args.extend_from_slice(extra);
    tolk(&root(), &args, env)
}

fn manifest(o: &std::process::Output) -> Value {
    let dir = PathBuf::from(stdout(o).trim());
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn a_server_without_json_schema_is_probed_once_and_its_mode_remembered() {
    let fake = FakeThread::start(FakeConfig {
        reject_json_schema: true,
        ..FakeConfig::default()
    });
    let out = tempfile::tempdir().unwrap();
    let o = run(&fake, out.path(), &["--tasks", "summary,stance"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("probing"), "{}", stderr(&o));
    let probes = fake.probe_requests();
    let kinds: Vec<String> = probes
        .iter()
        .map(|r| {
            r.body["response_format"]["type"]
                .as_str()
                .unwrap_or("none")
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        ["json_schema", "json_object"],
        "json_schema is refused once, not retried; json_object with a schema is next"
    );
    assert!(probes[1].body["response_format"]["schema"].is_object());
    assert_eq!(
        manifest(&o)["params"]["structured_output"],
        "json_object_schema"
    );
    for r in fake.chat_requests() {
        assert_eq!(
            r.body["response_format"]["type"], "json_object",
            "{}",
            r.body
        );
        assert!(r.body["response_format"]["schema"].is_object());
    }

    // The next run asks nothing about capabilities, and its answers come from the cache.
    fake.clear();
    let o = run(&fake, out.path(), &["--tasks", "summary,stance"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("probing"));
    assert!(fake.probe_requests().is_empty() && fake.chat_requests().is_empty());
    assert_eq!(manifest(&o)["usage"]["requests"], 0);

    // tolk ping probes afresh and says what it found.
    let o = tolk(
        &root(),
        &["ping", "--endpoint", &fake.base_url, "--model", "fake-a"],
        &[("TOLK_RUN_OUT", out.path().to_str().unwrap())],
    );
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}{}", stderr(&o));
    assert!(
        text.contains("json_schema") && text.contains("rejected: HTTP 500"),
        "{text}"
    );
    assert!(
        text.contains("structured output: json_object_schema"),
        "{text}"
    );
}

#[test]
fn a_configured_mode_is_not_probed() {
    let fake = FakeThread::start(FakeConfig::default());
    let out = tempfile::tempdir().unwrap();
    let o = run(
        &fake,
        out.path(),
        &["--tasks", "stance"],
        &[("TOLK_ENDPOINT_STRUCTURED_OUTPUT", "json_object")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(fake.probe_requests().is_empty());
    let reqs = fake.chat_requests();
    assert!(!reqs.is_empty());
    for r in reqs {
        assert_eq!(
            r.body["response_format"],
            serde_json::json!({"type": "json_object"})
        );
    }
}

#[test]
fn a_reported_context_size_sets_the_chunk_budget_and_too_long_prompts_are_re_cut() {
    // The server reports 2,400 tokens in /models and refuses longer prompts with HTTP 400.
    let fake = FakeThread::start(FakeConfig {
        context_tokens: Some(2400),
        ..FakeConfig::default()
    });
    let out = tempfile::tempdir().unwrap();
    let o = run(&fake, out.path(), &[], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m = manifest(&o);
    assert_eq!(
        m["params"]["chunk_max_tokens"], 583,
        "(2400 - 1000) * 5 / 12: room for the instructions and the reply"
    );

    // A context the configuration claims is larger than the server's: prompts are refused as
    // too long, and tolk re-cuts the letter rather than failing.
    let fake = FakeThread::start(FakeConfig {
        context_tokens: Some(1500),
        ..FakeConfig::default()
    });
    let out = tempfile::tempdir().unwrap();
    let o = run(
        &fake,
        out.path(),
        &[],
        &[("TOLK_ENDPOINT_CONTEXT_TOKENS", "100000")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("re-cut at"), "{}", stderr(&o));
    let m = manifest(&o);
    let warnings = m["inputs"][0]["warnings"].to_string();
    assert!(
        warnings.contains("longer than the model's context"),
        "{warnings}"
    );
    assert!(
        m["inputs"][0]["tasks"]
            .as_object()
            .unwrap()
            .values()
            .all(|s| s["status"] == "ok"),
        "{m}"
    );
}

#[test]
fn a_whole_letter_stance_cut_off_at_the_token_limit_is_judged_per_chunk() {
    // The Offlimits letter is two chunks, short enough for one whole-letter stance call. The
    // server cuts that call off (as a small model running on does), every time.
    fn whole_letter_stance(body: &Value) -> bool {
        body["response_format"]["json_schema"]["name"] == "stance"
            && !body.to_string().contains("(part ")
    }
    let fake = FakeThread::start(FakeConfig {
        truncate_if: Some(whole_letter_stance),
        ..FakeConfig::default()
    });
    let out = tempfile::tempdir().unwrap();
    let o = run(&fake, out.path(), &["--tasks", "stance"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cut off at the token limit; judged per chunk instead"),
        "{}",
        stderr(&o)
    );
    let stance: Vec<String> = fake
        .chat_requests()
        .iter()
        .filter(|r| r.body["response_format"]["json_schema"]["name"] == "stance")
        .map(|r| {
            let text = r.body.to_string();
            if text.contains("(part 1 of 2") {
                "part 1".into()
            } else if text.contains("(part 2 of 2") {
                "part 2".into()
            } else {
                "letter".into()
            }
        })
        .collect();
    let mut sorted = stance.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["letter", "part 1", "part 2"],
        "one whole-letter call (cut off; the token budget is not widened twice), then each chunk once: {stance:?}"
    );
    let m = manifest(&o);
    assert_eq!(m["inputs"][0]["tasks"]["stance"]["status"], "ok", "{m}");
    assert!(
        m["inputs"][0]["warnings"]
            .to_string()
            .contains("judged per chunk instead"),
        "{m}"
    );
    // The cut-off answer was paid for: the run's usage counts it besides the answers kept.
    let kept: u64 = cache_entries(out.path())
        .iter()
        .map(|e| e["completion_tokens"].as_u64().unwrap())
        .sum();
    let paid = m["usage"]["completion_tokens"].as_u64().unwrap();
    assert!(
        paid > kept,
        "usage counts the cut-off answer: {paid} paid, {kept} in kept answers"
    );
}

/// Every answer in a run's cache.
fn cache_entries(out: &Path) -> Vec<Value> {
    let mut entries = Vec::new();
    for shard in std::fs::read_dir(out.join("cache")).unwrap() {
        let shard = shard.unwrap().path();
        if !shard.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(shard).unwrap() {
            let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
            let entry: Value = serde_json::from_str(&text).unwrap();
            // Answers only: the probe keeps its findings beside them.
            if entry.get("task").is_some() {
                entries.push(entry);
            }
        }
    }
    assert!(!entries.is_empty(), "the run cached its answers");
    entries
}
