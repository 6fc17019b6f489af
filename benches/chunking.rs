//! Chunking throughput on a 10 MB corpus (the five letters repeated). Prints figures; asserts
//! nothing. Target: >= 5 MB/s on the 2-core reference machine.
//!
//! `cargo bench --bench chunking`

use std::path::Path;
use std::time::Instant;
use tolk::chunk::{self, ChunkConfig};
use tolk::ingest;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("input");
    let mut letters: Vec<Vec<u8>> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    letters.sort();
    let target = 10 * 1024 * 1024;
    // Each repetition is its own document, as in a real batch of many letters.
    let mut bytes = Vec::new();
    let mut total = 0;
    while total < target {
        for l in &letters {
            total += l.len();
            bytes.push(l.clone());
        }
    }
    let cfg = ChunkConfig::default();
    // Warm the shared tokenizer (built once per process).
    let _ = cfg.encoding.count("warm up");

    let t = Instant::now();
    let docs: Vec<_> = bytes
        .iter()
        .enumerate()
        .map(|(i, b)| ingest::from_bytes(&format!("d{i}"), Path::new("d.txt"), b).unwrap())
        .collect();
    let ingest_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut chunks = 0;
    let mut tokens = 0;
    for d in &docs {
        let c = chunk::split(d, &cfg);
        chunks += c.chunks.len();
        tokens += c.chunks.iter().map(|c| c.tokens).sum::<usize>();
    }
    let chunk_s = t.elapsed().as_secs_f64();
    let mb = total as f64 / 1e6;
    println!("corpus: {mb:.1} MB in {} documents", docs.len());
    println!(
        "ingest (decode + normalise): {:.2} s, {:.1} MB/s",
        ingest_s,
        mb / ingest_s
    );
    println!(
        "chunk ({} tokens, {}): {:.2} s, {:.1} MB/s, {chunks} chunks, {tokens} tokens",
        cfg.max_tokens,
        cfg.encoding.name(),
        chunk_s,
        mb / chunk_s
    );
    println!(
        "ingest + chunk: {:.1} MB/s (target >= 5 MB/s)",
        mb / (ingest_s + chunk_s)
    );
}
