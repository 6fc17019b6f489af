//! `tolk batch export` / `tolk batch import`: the calls go out as a batch file, a small executor
//! answers each line through the fake server (as a batch service would, in its own order), the
//! results come back into the cache, and `tolk run` finishes with no live calls and the same
//! outputs as a live run.

use crate::support::fake_llm::{FakeConfig, FakeThread};
use crate::support::{letter, root, stderr, stdout, tolk};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn read(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn export(
    fake: &FakeThread,
    out_dir: &Path,
    file: &Path,
    extra: &[&str],
) -> (Vec<PathBuf>, String) {
    let mut args = vec![
        "batch",
        "export",
        "--endpoint",
        &fake.base_url,
        "--model",
        "fake-a",
        "--out",
        out_dir.to_str().unwrap(),
        "--calls",
        file.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = tolk(&root(), &args, &[crate::support::CHUNK_MODE]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let files = stdout(&o).lines().map(PathBuf::from).collect();
    (files, stderr(&o))
}

fn import(out_dir: &Path, files: &[PathBuf]) -> std::process::Output {
    let mut args = vec!["batch", "import", "--out", out_dir.to_str().unwrap()];
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    args.extend(names.iter().map(String::as_str));
    tolk(&root(), &args, &[crate::support::CHUNK_MODE])
}

/// The batch service: every line of the input files sent to the fake server as its body, and
/// answered in the OpenAI batch output format, last line first.
fn execute(fake: &FakeThread, inputs: &[PathBuf]) -> Vec<Value> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let http = reqwest::Client::new();
    let base = fake.base_url.trim_end_matches("/v1").to_string();
    let mut out = Vec::new();
    for file in inputs {
        for (i, line) in std::fs::read_to_string(file).unwrap().lines().enumerate() {
            let req: Value = serde_json::from_str(line).unwrap();
            assert_eq!(req["method"], "POST");
            assert_eq!(req["url"], "/v1/chat/completions");
            let custom_id = req["custom_id"].as_str().unwrap().to_string();
            assert_eq!(custom_id.len(), 64, "custom_id is the cache key digest");
            let (status, body) = rt.block_on(async {
                let r = http
                    .post(format!("{base}{}", req["url"].as_str().unwrap()))
                    .json(&req["body"])
                    .send()
                    .await
                    .unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            });
            out.push(json!({
                "id": format!("batch_req_{i}"),
                "custom_id": custom_id,
                "response": {"status_code": status, "request_id": format!("req_{i}"), "body": body},
                "error": null
            }));
        }
    }
    out.reverse();
    out
}

fn write_lines(path: &Path, lines: &[Value]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, text).unwrap();
}

/// Every task output of a run, by "doc/file".
fn outputs(run: &Path) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for d in std::fs::read_dir(run).unwrap() {
        let d = d.unwrap().path();
        if !d.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&d).unwrap() {
            let f = f.unwrap().path();
            v.push((
                format!(
                    "{}/{}",
                    d.file_name().unwrap().to_string_lossy(),
                    f.file_name().unwrap().to_string_lossy()
                ),
                std::fs::read_to_string(&f).unwrap(),
            ));
        }
    }
    v.sort();
    v
}

#[test]
fn a_batch_round_trip_completes_the_run_from_the_cache_with_the_live_outputs() {
    let fake = FakeThread::start(FakeConfig::default());
    let tmp = tempfile::tempdir().unwrap();

    // The live run, for comparison.
    let live_out = tmp.path().join("live");
    let o = tolk(
        &root(),
        &[
            "run",
            "--endpoint",
            &fake.base_url,
            "--model",
            "fake-a",
            "--out",
            live_out.to_str().unwrap(),
            "--no-progress",
        ],
        &[crate::support::CHUNK_MODE],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let live_run = PathBuf::from(stdout(&o).trim());
    let live_calls = fake.chat_requests().len();

    // Round 1, split into files of at most 20 requests.
    let out = tmp.path().join("batch");
    let file = tmp.path().join("calls.jsonl");
    let (files, msg) = export(&fake, &out, &file, &["--max-lines", "20"]);
    assert!(msg.contains("round 1"), "{msg}");
    assert!(
        msg.contains("remaining:"),
        "multi-chunk letters wait for a reduce step: {msg}"
    );
    assert!(files.len() >= 2, "split at 20 lines: {files:?}");
    let mut ids = BTreeSet::new();
    let mut lines = 0;
    for f in &files {
        assert!(
            f.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("calls."),
            "{f:?}"
        );
        for l in std::fs::read_to_string(f).unwrap().lines() {
            let v: Value = serde_json::from_str(l).unwrap();
            assert!(
                ids.insert(v["custom_id"].as_str().unwrap().to_string()),
                "custom_ids are unique"
            );
            lines += 1;
            assert!(lines <= 20 * files.len());
        }
    }
    assert_eq!(
        fake.chat_requests().len(),
        live_calls,
        "export calls nothing"
    );
    let results = tmp.path().join("results-1.jsonl");
    write_lines(&results, &execute(&fake, &files));
    let o = import(&out, &[results]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains(&format!("{lines} answers stored")),
        "{}",
        stdout(&o)
    );

    // Round 2: the reduce steps, now that their notes are cached.
    let (files2, msg) = export(&fake, &out, &tmp.path().join("calls-2.jsonl"), &[]);
    assert!(msg.contains("round 2"), "{msg}");
    assert!(msg.contains("nothing remains"), "{msg}");
    assert_eq!(files2.len(), 1);
    let results2 = tmp.path().join("results-2.jsonl");
    write_lines(&results2, &execute(&fake, &files2));
    let o = import(&out, &[results2]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));

    // Nothing left to export.
    let (files3, msg) = export(&fake, &out, &tmp.path().join("calls-3.jsonl"), &[]);
    assert!(
        files3.is_empty() && msg.contains("0 calls exported"),
        "{msg}"
    );

    // The run: no live call, no probe either (every answer is cached), and the outputs of the
    // live run.
    let before = fake.chat_requests().len();
    let probes = fake.probe_requests().len();
    let o = tolk(
        &root(),
        &[
            "run",
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
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        fake.chat_requests().len(),
        before,
        "no live call after the import"
    );
    assert_eq!(
        fake.probe_requests().len(),
        probes,
        "no capability probe when every answer is cached: {}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("probing"), "{}", stderr(&o));
    let run = PathBuf::from(stdout(&o).trim());
    let manifest = read(&run.join("manifest.json"));
    assert_eq!(manifest["usage"]["requests"], 0);
    assert_eq!(
        manifest["usage"]["cache_hits"].as_u64().unwrap() as usize,
        live_calls
    );
    let (a, b) = (outputs(&live_run), outputs(&run));
    assert_eq!(
        a.len(),
        35,
        "five letters: three tasks, json and md, and the letter's facts"
    );
    assert_eq!(
        a.iter().map(|x| &x.0).collect::<Vec<_>>(),
        b.iter().map(|x| &x.0).collect::<Vec<_>>()
    );
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert_eq!(x, y, "{name} differs between the live and the batch run");
    }
}

#[test]
fn a_results_file_with_errors_duplicates_and_strangers_is_reported_line_by_line() {
    let fake = FakeThread::start(FakeConfig::default());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let offlimits = letter("2024-09-18-offlimits");
    let (files, _) = export(
        &fake,
        &out,
        &tmp.path().join("calls.jsonl"),
        &[offlimits.to_str().unwrap()],
    );
    let mut results = execute(&fake, &files);
    assert!(results.len() >= 3, "{}", results.len());
    let ids: Vec<String> = results
        .iter()
        .map(|r| r["custom_id"].as_str().unwrap().to_string())
        .collect();
    // The first call expired, the second one's body breaks the schema, the third one succeeds
    // twice (a duplicate), and two lines are strangers.
    results[0]["response"] = Value::Null;
    results[0]["error"] =
        json!({"code": "batch_expired", "message": "not executed before the window closed"});
    results[1]["response"]["body"]["choices"][0]["message"]["content"] =
        json!("{\"nonsense\": true}");
    results.push(results[2].clone());
    results.push(json!({"id": "x", "custom_id": "f".repeat(64), "response": results[2]["response"].clone(), "error": null}));
    results.push(json!({"id": "y", "custom_id": "request-1", "response": null, "error": null}));
    let path = tmp.path().join("results.jsonl");
    write_lines(&path, &results);
    std::fs::write(
        &path,
        format!(
            "{}this is not json\n",
            std::fs::read_to_string(&path).unwrap()
        ),
    )
    .unwrap();

    let o = import(&out, std::slice::from_ref(&path));
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    let expired = text
        .lines()
        .find(|l| l.contains(&ids[0]))
        .unwrap_or_default();
    assert!(
        expired.starts_with("failed: ")
            && expired.contains("batch_expired")
            && expired.contains(":1:"),
        "{text}"
    );
    let invalid = text
        .lines()
        .find(|l| l.contains(&ids[1]))
        .unwrap_or_default();
    assert!(invalid.contains("does not match the schema"), "{text}");
    assert!(
        text.contains(&format!("unknown: {}:", path.display())),
        "{text}"
    );
    assert!(
        text.contains(&"f".repeat(64)) && text.contains("request-1"),
        "{text}"
    );
    assert!(
        text.contains("malformed: ") && text.contains("not JSON"),
        "{text}"
    );
    let stored = results.len() - 3 - 2;
    assert!(
        text.contains(&format!(
            "{} lines: {stored} answers stored, 0 already cached, 1 duplicates ignored, 2 failed, 2 unknown custom_id, 1 malformed",
            results.len() + 1
        )),
        "{text}"
    );

    // Importing the same file again stores nothing twice.
    let o = import(&out, &[path]);
    assert!(
        stdout(&o).contains(&format!("0 answers stored, {stored} already cached")),
        "{}",
        stdout(&o)
    );

    // The run makes the two failed calls live, and the summary's reduce step, which could not be
    // exported while one of its notes was missing.
    let before = fake.chat_requests().len();
    let o = tolk(
        &root(),
        &[
            "run",
            offlimits.to_str().unwrap(),
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
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(fake.chat_requests().len() - before, 3);
}

#[test]
fn export_needs_the_endpoint_and_model_of_the_later_run() {
    let tmp = tempfile::tempdir().unwrap();
    let o = tolk(
        &root(),
        &[
            "batch",
            "export",
            "--calls",
            tmp.path().join("x.jsonl").to_str().unwrap(),
        ],
        &[crate::support::CHUNK_MODE],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("endpoint.base_url and endpoint.model"),
        "{}",
        stderr(&o)
    );
}
