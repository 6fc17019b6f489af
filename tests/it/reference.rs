//! The docs that cannot drift: `docs/reference/` is what the code generates now, every file a run
//! writes holds to its committed JSON Schema, and every relative link in the docs resolves.

use crate::support::fake_llm::{FakeConfig, FakeThread};
use crate::support::{letter, root, stderr, tolk};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn reference_dir() -> PathBuf {
    root().join("docs/reference")
}

/// `TOLK_BLESS=1 cargo test --test it reference` writes the generated files instead of failing.
fn bless() -> bool {
    std::env::var_os("TOLK_BLESS").is_some()
}

#[test]
fn the_committed_reference_is_what_the_code_generates() {
    let dir = reference_dir();
    let mut stale = Vec::new();
    for g in tolk::reference::generate() {
        let path = dir.join(g.path);
        if bless() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &g.text).unwrap();
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != g.text {
            stale.push(g.path);
        }
    }
    assert!(
        stale.is_empty(),
        "docs/reference/ differs from what the code generates now: {stale:?}; \
         run `TOLK_BLESS=1 cargo test --test it reference` and commit the result"
    );
    // Nothing in schemas/ that the code no longer generates.
    let generated: Vec<&str> = tolk::reference::generate().iter().map(|g| g.path).collect();
    for e in std::fs::read_dir(dir.join("schemas")).unwrap() {
        let name = format!("schemas/{}", e.unwrap().file_name().to_string_lossy());
        assert!(
            generated.contains(&name.as_str()),
            "{name} is not generated any more"
        );
    }
}

#[test]
fn the_reference_names_every_command_every_config_key_and_its_variable() {
    let cli = std::fs::read_to_string(reference_dir().join("cli.md")).unwrap();
    for command in [
        "tolk run",
        "tolk diff",
        "tolk eval",
        "tolk batch export",
        "tolk model fetch",
    ] {
        assert!(
            cli.contains(&format!("`{command}`")),
            "cli.md lacks {command}"
        );
    }
    assert!(cli.contains("--translate-mode"), "cli.md lists the flags");
    let config = std::fs::read_to_string(reference_dir().join("config.md")).unwrap();
    for (section, key) in tolk::config::known_keys() {
        let var = format!(
            "`TOLK_{}_{}`",
            section.to_ascii_uppercase(),
            key.to_ascii_uppercase()
        );
        assert!(config.contains(&var), "config.md lacks {var}");
    }
    assert!(
        config.contains("| `concurrency` | integer | `8` | `TOLK_ENDPOINT_CONCURRENCY` |"),
        "a key's row gives its type and default:\n{config}"
    );
}

/// Validate `instance` against the committed schema `schemas/<name>.schema.json`.
fn assert_valid(name: &str, file: &Path) {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(reference_dir().join(format!("schemas/{name}.schema.json")))
            .unwrap(),
    )
    .unwrap();
    let instance: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{} does not hold to {name}.schema.json: {errors:#?}",
        file.display()
    );
    assert_eq!(
        instance["format_version"],
        Value::from(tolk::store::FORMAT_VERSION),
        "{} carries its format version",
        file.display()
    );
}

#[test]
fn every_file_a_run_writes_holds_to_its_committed_schema() {
    let fake = FakeThread::start(FakeConfig::default());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let pdf_free_letter = letter("2024-09-18-offlimits");
    // One question of the user's, so that questions.json is written too.
    let config = tmp.path().join("tolk.toml");
    std::fs::write(
        &config,
        "[[questions]]\nid = \"e2ee\"\ntext = \"What does the letter say about encryption?\"\n",
    )
    .unwrap();
    let o = tolk(
        &root(),
        &[
            "run",
            pdf_free_letter.to_str().unwrap(),
            "--endpoint",
            &fake.base_url,
            "--model",
            "fake-a",
            "--out",
            out.to_str().unwrap(),
            "--tasks",
            "translate,summary,stance,review,refine",
            "--no-progress",
        ],
        &[
            crate::support::CHUNK_MODE,
            ("TOLK_CONFIG", config.to_str().unwrap()),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let runs: Vec<PathBuf> = std::fs::read_dir(out.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_valid("manifest", &run.join("manifest.json"));
    let mut checked = 0;
    for doc in std::fs::read_dir(run).unwrap() {
        let doc = doc.unwrap().path();
        if !doc.is_dir() {
            continue;
        }
        for name in [
            "facts",
            "translation",
            "summary",
            "stance",
            "questions",
            "review",
            "refine",
        ] {
            let file = doc.join(format!("{name}.json"));
            if file.exists() {
                assert_valid(name, &file);
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 7,
        "the run wrote its outputs, the questions' too ({checked} checked)"
    );
}

#[test]
fn every_relative_link_in_the_docs_resolves() {
    let root = root();
    let mut files = vec![root.join("README.md"), root.join("BENCHMARKS.md")];
    let mut dirs = vec![root.join("docs")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                files.push(p);
            }
        }
    }
    let link = regex::Regex::new(r"\]\(([^)#\s]+)(#[^)\s]*)?\)").unwrap();
    let mut broken = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for c in link.captures_iter(&text) {
            let target = &c[1];
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            if !f.parent().unwrap().join(target).exists() {
                broken.push(format!(
                    "{}: {target}",
                    f.strip_prefix(&root).unwrap().display()
                ));
            }
        }
    }
    assert!(files.len() > 10, "the docs are found");
    assert!(broken.is_empty(), "broken links: {broken:#?}");
}
