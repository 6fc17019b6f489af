//! `tolk run`, the real binary on the five letters against the fake server.

use crate::support::fake_llm::{FakeConfig, FakeThread};
use crate::support::{root, stderr, stdout, tolk};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

const SENTINEL: &str = "sk-SENTINEL-run-4b1d-do-not-leak";

fn run(
    out: &Path,
    fake: &FakeThread,
    extra: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    let mut args = vec![
        "run",
        "--endpoint",
        &fake.base_url,
        "--model",
        "fake-a",
        "--out",
    ];
    let out_s = out.to_str().unwrap();
    args.push(out_s);
    args.extend_from_slice(extra);
    let mut env = env.to_vec();
    env.insert(0, crate::support::CHUNK_MODE);
    tolk(&root(), &args, &env)
}

fn run_dir(out: &Path, o: &std::process::Output) -> PathBuf {
    let path = PathBuf::from(stdout(o).trim());
    assert!(path.starts_with(out), "the run path is printed: {path:?}");
    path
}

fn read(p: &Path) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
    )
    .unwrap()
}

fn docs(run: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(run)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

/// Letters and digits of text, hyphens and whitespace aside (the source's line breaks and
/// hyphenation are not the model's business).
fn letters(s: &str) -> String {
    s.replace("<sup>", "")
        .replace("</sup>", "")
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

#[test]
fn a_run_on_the_five_letters_writes_grounded_outputs_and_a_rerun_costs_nothing() {
    let fake = FakeThread::start(FakeConfig::default());
    let out = tempfile::tempdir().unwrap();
    let o = run(
        out.path(),
        &fake,
        &["--label", "first", "--no-progress"],
        &[("OPENAI_API_KEY", SENTINEL)],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dir = run_dir(out.path(), &o);
    let calls = fake.chat_requests().len();
    assert!(calls >= 40, "{calls} calls");
    assert!(
        fake.chat_requests()
            .iter()
            .all(|r| r.header("authorization") == Some(&format!("Bearer {SENTINEL}")))
    );

    let manifest = read(&dir.join("manifest.json"));
    assert_eq!(manifest["usage"]["requests"], calls);
    assert_eq!(manifest["usage"]["cache_hits"], 0);
    assert_eq!(manifest["exit_status"], 0);
    assert_eq!(manifest["model"]["requested"], "fake-a");
    assert_eq!(manifest["model"]["resolved"], "fake-a");
    assert_eq!(manifest["inputs"].as_array().unwrap().len(), 5);

    let doc_dirs = docs(&dir);
    assert_eq!(doc_dirs.len(), 5);
    let mut statuses = BTreeMap::new();
    for d in &doc_dirs {
        for f in ["translation", "summary", "stance"] {
            assert!(
                d.join(format!("{f}.json")).is_file() && d.join(format!("{f}.md")).is_file(),
                "{}/{f}",
                d.display()
            );
        }
        let source = root().join(
            read(&d.join("translation.json"))["source"]["path"]
                .as_str()
                .unwrap(),
        );
        let original: Vec<String> = std::fs::read_to_string(&source)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        let content_lines: BTreeSet<u32> = original
            .iter()
            .enumerate()
            .filter(|(_, l)| {
                l.replace("<sup>", "")
                    .replace("</sup>", "")
                    .chars()
                    .any(char::is_alphanumeric)
            })
            .map(|(i, _)| i as u32 + 1)
            .collect();

        // The translation covers every line with text exactly once.
        let t = read(&d.join("translation.json"));
        let mut covered: BTreeMap<u32, String> = BTreeMap::new();
        for s in t["segments"].as_array().unwrap() {
            let id = s["id"].as_str().unwrap().to_string();
            assert!(
                s["en"].as_str().is_some_and(|e| !e.is_empty()),
                "{id} translated"
            );
            // A segment without words ("6)") is carried over as it is, not sent to the model.
            if !s["nl"].as_str().unwrap().chars().any(char::is_alphabetic) {
                assert_eq!(s["en"], s["nl"], "{id} carried over");
            }
            let spans: Vec<[u32; 2]> = match s.get("spans") {
                Some(v) => serde_json::from_value(v.clone()).unwrap(),
                None => vec![serde_json::from_value(s["lines"].clone()).unwrap()],
            };
            let mut expected = String::new();
            for sp in spans {
                for l in sp[0]..=sp[1] {
                    if content_lines.contains(&l) {
                        assert!(
                            covered.insert(l, id.clone()).is_none(),
                            "line {l} covered twice"
                        );
                        expected.push_str(&letters(&original[l as usize - 1]));
                    }
                }
            }
            assert_eq!(
                letters(s["nl"].as_str().unwrap()),
                expected,
                "{id}: nl is the text of its lines"
            );
        }
        assert_eq!(
            covered.keys().copied().collect::<BTreeSet<_>>(),
            content_lines,
            "{}",
            d.display()
        );

        // Every quote called exact or fuzzy is at its lines; unverified ones have none.
        let st = read(&d.join("stance.json"));
        let mut evidence: Vec<Value> = st["overall"]["evidence"].as_array().unwrap().clone();
        for topic in st["topics"].as_array().unwrap() {
            evidence.extend(topic["evidence"].as_array().unwrap().iter().cloned());
        }
        assert_eq!(
            st["topics"].as_array().unwrap().len(),
            11,
            "every topic of the taxonomy"
        );
        for e in evidence {
            let status = e["match"].as_str().unwrap().to_string();
            *statuses.entry(status.clone()).or_insert(0) += 1;
            let quote = letters(e["quote_nl"].as_str().unwrap());
            match status.as_str() {
                "exact" | "fuzzy" => {
                    let [a, b]: [u32; 2] = serde_json::from_value(e["lines"].clone()).unwrap();
                    let at: String = (a..=b)
                        .map(|l| letters(&original[l as usize - 1]))
                        .collect();
                    if status == "exact" {
                        // The footnotes of a page can stand inside a quote's line range: allow
                        // one block of lines to be skipped.
                        let line = |l: u32| letters(&original[l as usize - 1]);
                        let found = at.contains(&quote)
                            || (a..=b).any(|i| {
                                (i + 1..=b).any(|j| {
                                    let joined: String = (a..=i).chain(j..=b).map(line).collect();
                                    joined.contains(&quote)
                                })
                            });
                        assert!(
                            found,
                            "{}: exact quote {quote} not at L{a}-{b}",
                            d.display()
                        );
                    } else {
                        let score = e["score"].as_f64().unwrap();
                        assert!((0.85..1.0).contains(&score));
                        let best = best_substring_ratio(&quote, &at);
                        // Letters only (tolk scores with punctuation too, which a dropped word
                        // costs a little less): a fuzzy quote is at least 0.8 like its lines.
                        assert!(
                            best >= 0.8,
                            "{}: fuzzy quote {quote} matches L{a}-{b} only {best}: {at}",
                            d.display()
                        );
                    }
                }
                "unverified" => assert!(e["lines"].is_null()),
                other => panic!("unknown match {other}"),
            }
        }

        // Key points cite lines inside the file.
        let su = read(&d.join("summary.json"));
        let kps = su["key_points"].as_array().unwrap();
        assert!((3..=7).contains(&kps.len()));
        for kp in kps {
            for r in kp["lines"].as_array().unwrap() {
                let [a, b]: [u32; 2] = serde_json::from_value(r.clone()).unwrap();
                assert!(a >= 1 && a <= b && b as usize <= original.len());
            }
        }
        let md = std::fs::read_to_string(d.join("stance.md")).unwrap();
        assert!(
            md.contains(", exact)"),
            "the markdown shows lines and status"
        );
    }
    for s in ["exact", "fuzzy", "unverified"] {
        assert!(
            statuses.get(s).copied().unwrap_or(0) > 0,
            "some quotes are {s}: {statuses:?}"
        );
    }
    let dropped: u64 = manifest["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["dropped_citations"].as_u64().unwrap())
        .sum();
    assert_eq!(
        dropped, 0,
        "key points may cite only the letter's own paragraph ids (an enum in the schema)"
    );

    // A rerun with nothing changed makes no calls and writes a new run.
    fake.clear();
    let o2 = run(
        out.path(),
        &fake,
        &["--no-progress"],
        &[("OPENAI_API_KEY", SENTINEL)],
    );
    assert_eq!(o2.status.code(), Some(0), "{}", stderr(&o2));
    assert_eq!(fake.chat_requests().len(), 0, "a rerun never pays twice");
    let dir2 = run_dir(out.path(), &o2);
    assert_ne!(dir, dir2);
    let m2 = read(&dir2.join("manifest.json"));
    assert_eq!(m2["usage"]["cache_hits"], calls);
    assert_eq!(m2["usage"]["requests"], 0);
    for d in docs(&dir) {
        let name = d.file_name().unwrap();
        for f in ["translation.json", "summary.json", "stance.json"] {
            assert_eq!(
                read(&d.join(f)),
                read(&dir2.join(name).join(f)),
                "same outputs from the cache"
            );
        }
    }

    // The key is in no file under OUT and in no output line.
    for entry in walk(out.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&entry).unwrap()).into_owned();
        assert!(
            !text.contains(SENTINEL) && !text.contains("SENTINEL"),
            "{} holds the key",
            entry.display()
        );
    }
    for o in [&o, &o2] {
        assert!(!stdout(o).contains(SENTINEL) && !stderr(o).contains(SENTINEL));
    }

    // runs are listed with their labels; the snapshot shows the manifest's shape.
    let mut manifest = manifest;
    manifest["inputs"] = Value::Array(
        manifest["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .take(1)
            .cloned()
            .collect(),
    );
    for (_, v) in manifest["prompts"].as_object_mut().unwrap() {
        assert_eq!(v.as_str().unwrap().len(), 64);
        *v = Value::String("[sha256]".into());
    }
    insta::assert_json_snapshot!("manifest", manifest, {
        ".run_id" => "[run_id]",
        ".created_at" => "[time]",
        ".duration_s" => "[seconds]",
        ".endpoint" => "[endpoint]",
        ".usage.prompt_tokens" => "[n]",
        ".usage.completion_tokens" => "[n]",
        ".usage.attempts" => "[n]",
        ".inputs[].path" => "[path]",
    });
    let stance = read(&dir.join("2024-09-18-offlimits-advies-kabinetsstandpunt/stance.json"));
    insta::assert_json_snapshot!("offlimits_stance", stance, {".source.path" => "[path]"});
}

/// The best character similarity of `quote` with any passage of `text` of about its length
/// (a word more or less).
fn best_substring_ratio(quote: &str, text: &str) -> f32 {
    let t: Vec<char> = text.chars().collect();
    let q = quote.chars().count();
    let mut best = similar::TextDiff::from_chars(quote, text).ratio();
    for n in [q * 8 / 10, q, q * 12 / 10, q * 14 / 10] {
        if n == 0 || n > t.len() {
            continue;
        }
        for i in 0..=t.len() - n {
            let cand: String = t[i..i + n].iter().collect();
            best = best.max(similar::TextDiff::from_chars(quote, cand.as_str()).ratio());
        }
    }
    best
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn title(r: &crate::support::fake_llm::Recorded) -> String {
    r.body["response_format"]["json_schema"]["schema"]["title"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[test]
fn a_prompt_change_recalls_only_its_task() {
    let fake = FakeThread::start(FakeConfig::default());
    let out = tempfile::tempdir().unwrap();
    let prompts = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(root().join("prompts")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, prompts.path().join(p.file_name().unwrap())).unwrap();
    }
    let env = [("TOLK_RUN_PROMPTS", prompts.path().to_str().unwrap())];
    let letter = root().join("input/2024-09-30-twaalf-organisaties-oproep-jbz-raad.txt");
    let args = [letter.to_str().unwrap(), "--no-progress"];
    let o = run(out.path(), &fake, &args, &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let first = fake.chat_requests();
    let stance_calls = first.iter().filter(|r| title(r) == "tolk.stance").count();
    assert!(stance_calls >= 1 && first.len() > stance_calls);

    let path = prompts.path().join("stance.toml");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "Give rationales in English.",
        "Give short rationales in English.",
    );
    std::fs::write(&path, text).unwrap();
    fake.clear();
    let o = run(out.path(), &fake, &args, &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let second = fake.chat_requests();
    assert_eq!(
        second.len(),
        stance_calls,
        "only the stance calls are made again"
    );
    assert!(second.iter().all(|r| title(r) == "tolk.stance"));
}

#[test]
fn with_a_fifth_of_replies_failing_every_output_still_lands() {
    let fake = FakeThread::start(FakeConfig {
        p429: 0.07,
        p500: 0.07,
        pgarbage: 0.06,
        seed: 7,
        ..FakeConfig::default()
    });
    let out = tempfile::tempdir().unwrap();
    let env = [
        ("TOLK_ENDPOINT_RETRY_BASE_MS", "1"),
        ("TOLK_ENDPOINT_RETRY_MAX_MS", "20"),
        ("TOLK_ENDPOINT_MAX_RETRIES", "8"),
    ];
    let o = run(out.path(), &fake, &["--no-progress"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dir = run_dir(out.path(), &o);
    let m = read(&dir.join("manifest.json"));
    for i in m["inputs"].as_array().unwrap() {
        for (task, status) in i["tasks"].as_object().unwrap() {
            assert_eq!(status["status"], "ok", "{} {task}", i["doc_id"]);
        }
    }
    let attempts = m["usage"]["attempts"].as_u64().unwrap();
    let requests = m["usage"]["requests"].as_u64().unwrap();
    assert!(
        attempts > requests,
        "faults were injected and recovered ({attempts} attempts for {requests} calls)"
    );
    // The closing line says so too, since its token figures count every attempt.
    let closing = format!("{requests} calls made ({attempts} attempts), 0 from the cache");
    assert!(stderr(&o).contains(&closing), "{}", stderr(&o));
}

#[test]
fn a_failing_document_is_recorded_and_the_others_finish() {
    let fake = FakeThread::start(FakeConfig {
        fail_when_contains: Some("Robbert Hoving".into()),
        ..FakeConfig::default()
    });
    let out = tempfile::tempdir().unwrap();
    let o = run(out.path(), &fake, &["--no-progress"], &[]);
    assert_eq!(o.status.code(), Some(1), "partial failure: {}", stderr(&o));
    let dir = run_dir(out.path(), &o);
    let m = read(&dir.join("manifest.json"));
    assert_eq!(m["exit_status"], 1);
    for i in m["inputs"].as_array().unwrap() {
        let offlimits = i["doc_id"].as_str().unwrap().contains("offlimits");
        for (task, status) in i["tasks"].as_object().unwrap() {
            if offlimits {
                let reason = status["reason"].as_str().unwrap_or_default();
                assert!(
                    status["status"] == "failed"
                        && reason.contains("HTTP 400")
                        && reason.contains("refused by the test server"),
                    "{task}: {status}"
                );
            } else {
                assert_eq!(status["status"], "ok", "{task}");
            }
        }
    }
    // The partial translation of the failed letter is kept, with what was translated.
    let t = read(&dir.join("2024-09-18-offlimits-advies-kabinetsstandpunt/translation.json"));
    let segs = t["segments"].as_array().unwrap();
    assert!(segs.iter().any(|s| s["en"].is_string()) && segs.iter().any(|s| s["en"].is_null()));
    assert!(
        stderr(&o).contains("offlimits"),
        "the table names the failure"
    );
}

#[test]
fn an_unreachable_endpoint_is_fatal_and_a_dry_run_calls_nothing() {
    let out = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}/v1");
    let o = tolk(
        &root(),
        &[
            "run",
            "--endpoint",
            &url,
            "--model",
            "m",
            "--out",
            out.path().to_str().unwrap(),
            "--no-progress",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot be reached"), "{}", stderr(&o));

    let fake = FakeThread::start(FakeConfig::default());
    let o = run(
        out.path(),
        &fake,
        &["--dry-run"],
        &[
            ("TOLK_ENDPOINT_PRICE_INPUT_PER_MTOK", "0.15"),
            ("TOLK_ENDPOINT_PRICE_OUTPUT_PER_MTOK", "0.6"),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(
        s.contains("dry run") && s.contains("5 documents") && s.contains("estimated cost $"),
        "{s}"
    );
    assert!(fake.chat_requests().is_empty());
}

#[test]
fn after_kill_9_a_rerun_makes_only_the_missing_calls() {
    let fake = FakeThread::start(FakeConfig {
        latency: Duration::from_millis(150),
        ..FakeConfig::default()
    });
    let out = tempfile::tempdir().unwrap();
    let letter = root().join("input/undated-europese-commissie-antwoord-eerste-kamer.txt");
    let mut child = spawn_run(out.path(), &fake, &[]);
    // Let a few answers arrive, then kill -9.
    let t0 = std::time::Instant::now();
    while fake.chat_requests().len() < 8 && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Answers, not the remembered capabilities of the endpoint.
    let cached = walk(&out.path().join("cache"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| !p.to_string_lossy().contains("capabilities"))
        .count();
    assert!(
        cached >= 4,
        "answers received before the kill are kept ({cached})"
    );

    fake.clear();
    let o = run(
        out.path(),
        &fake,
        &[letter.to_str().unwrap(), "--no-progress"],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m = read(&run_dir(out.path(), &o).join("manifest.json"));
    let hits = m["usage"]["cache_hits"].as_u64().unwrap();
    let made = m["usage"]["requests"].as_u64().unwrap();
    assert_eq!(
        hits as usize, cached,
        "everything cached before the kill is used"
    );
    assert_eq!(
        made as usize,
        fake.chat_requests().len(),
        "only the missing calls are made"
    );
    let temp_left = walk(out.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .count();
    assert!(
        temp_left <= 2,
        "at most the writes cut by the kill are left as temp files"
    );
}

#[test]
fn bad_inputs_are_named_and_the_rest_of_the_batch_goes_on() {
    let fake = FakeThread::start(FakeConfig::default());
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("letters");
    std::fs::create_dir(&input).unwrap();
    std::fs::copy(
        root().join("input/2024-09-18-offlimits-advies-kabinetsstandpunt.txt"),
        input.join("offlimits.txt"),
    )
    .unwrap();
    std::fs::write(
        input.join("binary.txt"),
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    )
    .unwrap();
    std::fs::write(input.join("empty.txt"), b"  \n\n").unwrap();
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
            "--tasks",
            "summary,stance",
            "--out",
            out.to_str().unwrap(),
            "--no-progress",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "partial: {}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("binary.txt: this looks like a binary file"),
        "{err}"
    );
    assert!(err.contains("empty.txt: the file is empty"), "{err}");
    let m = read(&run_dir(&out, &o).join("manifest.json"));
    let inputs = m["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 3);
    for i in inputs {
        let id = i["doc_id"].as_str().unwrap();
        let tasks = i["tasks"].as_object().unwrap();
        assert_eq!(tasks.len(), 2, "{i}");
        for status in tasks.values() {
            if id == "offlimits" {
                assert_eq!(status, &serde_json::json!({"status": "ok"}));
            } else {
                assert_eq!(status["status"], "unreadable", "{i}");
                assert!(
                    status["reason"]
                        .as_str()
                        .unwrap()
                        .contains(&format!("{id}.txt")),
                    "the reason names the file: {i}"
                );
            }
        }
    }
    // The closing table gives an unreadable input one line.
    let rows = err.lines().filter(|l| l.starts_with("binary ")).count();
    assert_eq!(rows, 1, "{err}");
}

#[test]
fn a_missing_input_is_fatal_before_a_model_is_fetched_or_an_endpoint_probed() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nonexistent");
    // No endpoint: the embedded model, which is not in this empty model folder; fetching it
    // would run this python, which fails.
    let o = tolk(
        &root(),
        &["run", missing.to_str().unwrap(), "--no-progress"],
        &[
            ("TOLK_MODEL_DIR", tmp.path().to_str().unwrap()),
            ("TOLK_PYTHON", "/bin/false"),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("nonexistent: no such file"), "{err}");
    assert!(
        !err.contains("downloading") && !err.contains("pip"),
        "{err}"
    );

    // An endpoint that was never probed is not probed for a run that cannot start.
    let fake = FakeThread::start(FakeConfig::default());
    let o = run(tmp.path(), &fake, &[missing.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        fake.requests().is_empty(),
        "nothing was asked of the endpoint"
    );
}

#[test]
fn tolk_runs_from_a_folder_of_letters_outside_the_project_with_its_built_in_prompts() {
    let fake = FakeThread::start(FakeConfig::default());
    let home = tempfile::tempdir().unwrap();
    let letters = home.path().join("brieven");
    std::fs::create_dir(&letters).unwrap();
    std::fs::copy(
        root().join("input/2024-09-18-offlimits-advies-kabinetsstandpunt.txt"),
        letters.join("offlimits.txt"),
    )
    .unwrap();
    let args = |out: &Path| {
        vec![
            "run".to_string(),
            letters.display().to_string(),
            "--endpoint".into(),
            fake.base_url.clone(),
            "--model".into(),
            "fake-a".into(),
            "--tasks".into(),
            "summary".into(),
            "--out".into(),
            out.display().to_string(),
            "--no-progress".into(),
        ]
    };
    fn args_of(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    // From the user's folder: no prompts/ there, no tolk.toml.
    let away = home.path().join("out");
    let o = tolk(home.path(), &args_of(&args(&away)), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m_away = read(&run_dir(&away, &o).join("manifest.json"));
    // From the project, with its prompts/ folder: the same prompt hashes, so the same cache keys.
    let here = home.path().join("out-project");
    let o = tolk(&root(), &args_of(&args(&here)), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m_here = read(&run_dir(&here, &o).join("manifest.json"));
    assert_eq!(m_away["prompts"], m_here["prompts"]);
    assert_eq!(m_away["prompts"].as_object().unwrap().len(), 10);

    // The built-in prompts, written out, edited and used file by file.
    let o = tolk(home.path(), &["prompts", "export", "mine"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 10, "{}", stdout(&o));
    let reduce = home.path().join("mine/summary_reduce.toml");
    let text = std::fs::read_to_string(&reduce).unwrap();
    std::fs::write(
        &reduce,
        text.replace("neutral summary", "neutral, plain summary"),
    )
    .unwrap();
    let edited = home.path().join("out-edited");
    let o = tolk(
        home.path(),
        &args_of(&args(&edited)),
        &[("TOLK_RUN_PROMPTS", "mine")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m = read(&run_dir(&edited, &o).join("manifest.json"));
    assert_ne!(
        m["prompts"]["summary_reduce@v2"],
        m_here["prompts"]["summary_reduce@v2"]
    );
    assert_eq!(
        m["prompts"]["translate@v1"],
        m_here["prompts"]["translate@v1"]
    );
    // A prompts folder that is not there is an error, not a silent fallback.
    let o = tolk(
        home.path(),
        &args_of(&args(&edited)),
        &[("TOLK_RUN_PROMPTS", "typo")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("typo: not a folder"), "{}", stderr(&o));
}

/// `tolk run` on one letter against `fake`, as a child process the test can signal.
fn spawn_run(out: &Path, fake: &FakeThread, extra: &[&str]) -> std::process::Child {
    let letter = root().join("input/undated-europese-commissie-antwoord-eerste-kamer.txt");
    let mut args: Vec<&str> = vec![
        "run",
        letter.to_str().unwrap(),
        "--endpoint",
        &fake.base_url,
        "--model",
        "fake-a",
        "--out",
        out.to_str().unwrap(),
        "--no-progress",
        "--concurrency",
        "2",
    ];
    args.extend_from_slice(extra);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tolk"));
    // As `support::tolk` does: the test's own TOLK_* settings (a variable tolk does not know is
    // an error) stay out of the child's configuration.
    for (k, _) in std::env::vars() {
        if k.starts_with("TOLK_") {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(root())
        .args(&args)
        .env(crate::support::CHUNK_MODE.0, crate::support::CHUNK_MODE.1)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_for_requests(fake: &FakeThread, n: usize) {
    let t0 = std::time::Instant::now();
    while fake.chat_requests().len() < n && t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        fake.chat_requests().len() >= n,
        "the run made its first calls"
    );
}

#[test]
fn a_second_run_on_a_folder_in_use_waits_and_pays_nothing_or_with_no_wait_stops() {
    let fake = FakeThread::start(FakeConfig {
        latency: Duration::from_millis(100),
        ..FakeConfig::default()
    });
    let out = tempfile::tempdir().unwrap();
    let first = spawn_run(out.path(), &fake, &[]);
    wait_for_requests(&fake, 2);
    // --no-wait: a clear error naming the holder, nothing called.
    let before = fake.chat_requests().len();
    let busy = spawn_run(out.path(), &fake, &["--no-wait"])
        .wait_with_output()
        .unwrap();
    assert_eq!(busy.status.code(), Some(2), "{}", stderr(&busy));
    let msg = stderr(&busy);
    assert!(
        msg.contains("a run is in progress in this output folder")
            && msg.contains(&format!("pid {}", first.id())),
        "{msg}"
    );
    // Waiting: it says so, then answers everything from the cache the first run filled.
    let second = spawn_run(out.path(), &fake, &[]);
    let first = first.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let second = second.wait_with_output().unwrap();
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("waiting for the run in progress"),
        "{}",
        stderr(&second)
    );
    let m = read(&run_dir(out.path(), &second).join("manifest.json"));
    assert_eq!(m["usage"]["requests"], 0, "the waiting run pays nothing");
    let m1 = read(&run_dir(out.path(), &first).join("manifest.json"));
    assert_eq!(
        fake.chat_requests().len(),
        m1["usage"]["requests"].as_u64().unwrap() as usize,
        "every call was made once, by the first run ({before} before the others started)"
    );
}

#[cfg(unix)]
#[test]
fn sigterm_stops_a_run_cleanly_and_the_next_run_makes_only_the_missing_calls() {
    let fake = FakeThread::start(FakeConfig {
        latency: Duration::from_millis(150),
        ..FakeConfig::default()
    });
    let out = tempfile::tempdir().unwrap();
    let child = spawn_run(out.path(), &fake, &[]);
    wait_for_requests(&fake, 6);
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let stopped = child.wait_with_output().unwrap();
    assert_eq!(stopped.status.code(), Some(143), "{}", stderr(&stopped));
    assert!(
        stderr(&stopped).contains("terminated (SIGTERM)"),
        "{}",
        stderr(&stopped)
    );
    let paid = fake.chat_requests().len();
    fake.clear();
    let again = spawn_run(out.path(), &fake, &[])
        .wait_with_output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let m = read(&run_dir(out.path(), &again).join("manifest.json"));
    let hits = m["usage"]["cache_hits"].as_u64().unwrap() as usize;
    assert!(hits > 0, "answers received before SIGTERM are used");
    assert!(
        hits <= paid,
        "no more cached than was paid ({hits} of {paid})"
    );
    assert_eq!(
        m["usage"]["requests"].as_u64().unwrap() as usize,
        fake.chat_requests().len()
    );
}
