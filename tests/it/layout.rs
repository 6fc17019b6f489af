//! The layering `src/lib.rs` states is the layering of the code: every module uses only the
//! modules listed below it.

use crate::support::root;
use std::collections::BTreeMap;
use std::path::Path;

/// The layers of `src/lib.rs`'s "# Layout", top first: each `- ` item is one layer, and its
/// modules are the links that open it or follow a `; ` (`- [`a`]: ...; [`b`]: ...`).
fn layers() -> Vec<Vec<String>> {
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    let doc: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(str::trim)
        .skip_while(|l| *l != "# Layout")
        .skip(1)
        .take_while(|l| !l.starts_with("A letter's way"))
        .collect();
    let mut items: Vec<String> = Vec::new();
    for line in doc {
        if let Some(item) = line.strip_prefix("- ") {
            items.push(item.to_string());
        } else if let Some(last) = items.last_mut() {
            last.push(' ');
            last.push_str(line);
        }
    }
    let module = regex::Regex::new(r"(?:^|; )\[`([a-z_]+)`\]:").unwrap();
    items
        .iter()
        .map(|item| {
            module
                .captures_iter(item)
                .map(|c| c[1].to_string())
                .collect()
        })
        .collect()
}

/// The top-level module a file of `src/` belongs to.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_module_uses_only_the_modules_lib_rs_lists_below_it() {
    let layers = layers();
    let rank: BTreeMap<String, usize> = layers
        .iter()
        .enumerate()
        .flat_map(|(i, l)| l.iter().map(move |m| (m.clone(), i)))
        .collect();
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    // Every module of the crate is in the list.
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    for m in lib.lines().filter_map(|l| l.strip_prefix("pub mod ")) {
        let m = m.trim_end_matches(';');
        assert!(
            rank.contains_key(m),
            "src/lib.rs's layout does not list `{m}`"
        );
    }
    let uses = regex::Regex::new(r"crate::([a-z_]+)").unwrap();
    let mut upward = Vec::new();
    for f in &files {
        let m = module_of(&src, f);
        let Some(&mine) = rank.get(&m) else { continue };
        let text = std::fs::read_to_string(f).unwrap();
        // The code, without comments and without its tests.
        let code: String = text
            .split("#[cfg(test)]")
            .next()
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for c in uses.captures_iter(&code) {
            let dep = &c[1];
            if dep != m
                && let Some(&theirs) = rank.get(dep)
                && theirs <= mine
            {
                upward.push(format!(
                    "{} uses {dep}",
                    f.strip_prefix(root()).unwrap().display()
                ));
            }
        }
    }
    upward.sort();
    upward.dedup();
    assert!(layers.len() > 8, "the layout is read: {layers:?}");
    assert!(
        upward.is_empty(),
        "imports that run up (or sideways) against src/lib.rs's layout: {upward:#?}"
    );
}
