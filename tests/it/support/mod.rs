//! Shared helpers: paths of the project, the binary under test.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The five letters in input/, sorted by file name.
pub fn letters() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("input"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    v.sort();
    assert_eq!(v.len(), 5, "five letters in input/");
    v
}

pub fn letter(prefix: &str) -> PathBuf {
    letters()
        .into_iter()
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .unwrap_or_else(|| panic!("no letter starting with {prefix}"))
}

/// Run the real binary with a clean TOLK_* environment, in `dir`.
pub fn tolk(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tolk"));
    cmd.current_dir(dir).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("TOLK_") || k == "OPENAI_API_KEY" {
            cmd.env_remove(k);
        }
    }
    cmd.env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("tolk runs")
}

/// Chunk mode, for tests of several runs in one output folder against the fake server: its
/// chunk-mode "English" is the Dutch marked with the model's name, which reads as copying, so
/// `translate.mode = "auto"` would move a second run to segment mode (see tests/it/segment.rs).
pub const CHUNK_MODE: (&str, &str) = ("TOLK_TRANSLATE_MODE", "chunk");

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
pub mod fake_llm;

/// The embedded model the tests run.
pub const TEST_MODEL: &str = tolk::model_store::TESTS.name;

/// Tests that run a real model take the machine's cores: they take this lock, so that two of
/// them never compete (the other tests are light).
pub fn heavy() -> std::sync::MutexGuard<'static, ()> {
    static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

/// The catalogued model the tests run (the 0.5B one: a third of the default's time), or None
/// (with a message) when it is not fetched. Under CI it must be there: the test command fetches
/// it first.
pub fn model_or_skip(what: &str) -> Option<PathBuf> {
    let out = tolk(&root(), &["model", "path", TEST_MODEL], &[]);
    let path = PathBuf::from(stdout(&out).trim());
    if path.is_file() {
        return Some(path);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "CI must fetch the test model first (tolk model fetch {TEST_MODEL}): {} is missing",
            path.display()
        );
    }
    eprintln!(
        "skipping {what}: no model at {} (tolk model fetch {TEST_MODEL})",
        path.display()
    );
    None
}

/// Every quote marked exact in a stance output is at the lines it gives (letters and digits
/// compared, so line breaks, hyphens and markup do not count). Returns how many were checked.
pub fn check_exact_quotes(doc: &tolk::ingest::Document, stance: &serde_json::Value) -> usize {
    let mut evidence: Vec<serde_json::Value> = stance["overall"]["evidence"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for topic in stance["topics"].as_array().unwrap() {
        evidence.extend(topic["evidence"].as_array().unwrap().iter().cloned());
    }
    check_exact(doc, &evidence)
}

/// Every quote of `evidence` marked exact is at the lines it gives (see
/// [`check_exact_quotes`]). Returns how many were checked.
pub fn check_exact(doc: &tolk::ingest::Document, evidence: &[serde_json::Value]) -> usize {
    let letters = |s: &str| -> String {
        s.replace("<sup>", "")
            .replace("</sup>", "")
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let mut checked = 0;
    for e in evidence.iter().filter(|e| e["match"] == "exact") {
        let [a, b]: [u32; 2] = serde_json::from_value(e["lines"].clone()).unwrap();
        assert!(a >= 1 && b <= doc.line_count && a <= b, "{e}");
        let at: String = (a..=b)
            .map(|l| letters(doc.original_line(l).unwrap()))
            .collect();
        assert!(
            at.contains(&letters(e["quote_nl"].as_str().unwrap())),
            "{e} is not at L{a}-{b}"
        );
        checked += 1;
    }
    checked
}
