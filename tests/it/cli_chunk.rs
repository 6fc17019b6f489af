//! `tolk chunk` as a user runs it: output shapes, and clear errors on bad input.

use crate::support::{letter, root, stderr, stdout, tolk};

#[test]
fn chunk_json_has_the_documented_shape() {
    let path = letter("2024-09-18");
    let out = tolk(
        &root(),
        &[
            "chunk",
            path.to_str().unwrap(),
            "--json",
            "--max-tokens",
            "300",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let chunks = v.as_array().unwrap();
    assert!(chunks.len() >= 4);
    let mut text = String::new();
    for (i, c) in chunks.iter().enumerate() {
        assert_eq!(c["index"], i);
        let lines = c["lines"].as_array().unwrap();
        assert!(lines[0].as_u64().unwrap() <= lines[1].as_u64().unwrap());
        assert!(c["tokens"].as_u64().unwrap() <= 300);
        assert!(c["byte_range"].as_array().unwrap().len() == 2);
        assert!(!c["paragraphs"].as_array().unwrap().is_empty());
        text.push_str(c["text"].as_str().unwrap());
    }
    assert!(text.contains("Geachte bewindspersonen,"));
}

#[test]
fn chunk_table_names_the_document_and_its_line_ranges() {
    let path = letter("2024-09-30");
    let out = tolk(&root(), &["chunk", path.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let s = stdout(&out);
    assert!(
        s.starts_with("2024-09-30-twaalf-organisaties-oproep-jbz-raad: 234 lines"),
        "{s}"
    );
    assert!(s.contains("L1-"), "{s}");
}

#[test]
fn bad_inputs_get_clear_errors_and_the_batch_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("empty.txt"), "").unwrap();
    std::fs::write(d.join("binary.txt"), b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").unwrap();
    std::fs::write(
        d.join("cp1252.txt"),
        b"Geachte heer,\n\nDe co\xf6rdinerende autoriteit.\n",
    )
    .unwrap();
    std::fs::write(d.join("good.txt"), "Geachte heer,\n\nEen brief.\n").unwrap();

    let out = tolk(d, &["chunk", "."], &[]);
    assert_eq!(out.status.code(), Some(1), "partial failure");
    let err = stderr(&out);
    assert!(err.contains("empty.txt: the file is empty"), "{err}");
    assert!(
        err.contains("binary.txt: this looks like a binary file"),
        "{err}"
    );
    assert!(
        err.contains("cp1252.txt: not valid UTF-8; decoded as Windows-1252"),
        "{err}"
    );
    let s = stdout(&out);
    assert!(
        s.contains("good:") && s.contains("cp1252:"),
        "the others are chunked: {s}"
    );

    let out = tolk(d, &["chunk", "missing.txt"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("missing.txt: no such file"),
        "{}",
        stderr(&out)
    );

    std::fs::create_dir(d.join("nothing")).unwrap();
    let out = tolk(d, &["chunk", "nothing"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("nothing: a folder with no .txt or .pdf files"),
        "{}",
        stderr(&out)
    );

    let out = tolk(d, &["chunk", "empty.txt"], &[]);
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn a_bad_config_value_names_the_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tolk.toml"),
        "[chunk]\nmax_tokens = \"lots\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("a.txt"), "Een brief.\n").unwrap();
    let out = tolk(dir.path(), &["chunk", "a.txt"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("tolk.toml") && err.contains("max_tokens"),
        "{err}"
    );
}

#[test]
fn help_and_version() {
    let out = tolk(&root(), &["--version"], &[]);
    assert!(stdout(&out).starts_with("tolk "));
    let out = tolk(&root(), &["--help"], &[]);
    assert!(stdout(&out).contains("chunk"));
}
