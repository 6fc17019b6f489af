//! `tolk chunk`: how letters are cut into paragraphs and chunks, and which lines each has.

use super::{Outcome, preview};
use crate::chunk::{self, ChunkConfig, Chunking};
use crate::cli::ChunkArgs;
use crate::config::Config;
use crate::ingest::{self, Document};
use anyhow::Context;
use serde_json::{Value, json};
use std::io::Write;

pub fn chunk(args: &ChunkArgs, config: &Config) -> anyhow::Result<Outcome> {
    let files = ingest::collect_inputs(&args.paths)?;
    let cfg = config.chunk_config();
    let mut failed = 0;
    let mut json_docs = Vec::new();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // One letter without --paragraphs prints the bare list of its chunks.
    let bare = files.len() == 1 && !args.paragraphs;
    for file in &files {
        let doc = match ingest::read(file) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("error: {}", crate::error::chain(&e));
                failed += 1;
                continue;
            }
        };
        for w in &doc.warnings {
            eprintln!("warning: {w}");
        }
        let chunking = chunk::split(&doc, &cfg);
        for w in &chunking.warnings {
            eprintln!("warning: {w}");
        }
        if args.json.json {
            json_docs.push(doc_json(&doc, &chunking, bare, args.paragraphs)?);
        } else {
            write_doc(&mut out, &doc, &chunking, &cfg, args.paragraphs)?;
        }
    }
    if args.json.json {
        let v = if bare && json_docs.len() == 1 {
            json_docs.pop().unwrap_or_default()
        } else {
            Value::Array(json_docs)
        };
        serde_json::to_writer_pretty(&mut out, &v).context("writing JSON")?;
        writeln!(out)?;
    }
    if failed > 0 {
        eprintln!("{failed} of {} files could not be read", files.len());
        return Ok(Outcome::Partial);
    }
    Ok(Outcome::Clean)
}

/// A letter's chunks as JSON: the bare list, or an object with its id and path (and its
/// paragraphs, when asked).
fn doc_json(
    doc: &Document,
    chunking: &Chunking,
    bare: bool,
    paragraphs: bool,
) -> anyhow::Result<Value> {
    let chunks: Vec<Value> = chunking
        .chunks
        .iter()
        .map(|c| {
            json!({
                "index": c.index,
                "lines": c.lines,
                "byte_range": c.byte_range,
                "tokens": c.tokens,
                "paragraphs": c.paragraphs,
                "text": c.text,
            })
        })
        .collect();
    if bare {
        return Ok(Value::Array(chunks));
    }
    let mut v = json!({"doc_id": doc.id, "path": doc.path, "chunks": chunks});
    if paragraphs {
        v["paragraphs"] = serde_json::to_value(&doc.paragraphs)?;
    }
    Ok(v)
}

/// A letter's chunks as a table (and its paragraphs, when asked).
fn write_doc(
    out: &mut dyn Write,
    doc: &Document,
    chunking: &Chunking,
    cfg: &ChunkConfig,
    paragraphs: bool,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{}: {} lines, {} paragraphs, {} chunks (budget {} tokens, {})",
        doc.id,
        doc.line_count,
        doc.paragraphs.len(),
        chunking.chunks.len(),
        cfg.max_tokens,
        cfg.encoding.name()
    )?;
    if paragraphs {
        for p in &doc.paragraphs {
            writeln!(
                out,
                "  {:<5} {:<10} L{}-{}  {}",
                p.id,
                p.kind.as_str(),
                p.lines[0],
                p.lines[1],
                preview(&p.text, 80)
            )?;
        }
    }
    writeln!(
        out,
        "  {:>5}  {:<11} {:<13} {:>6}  {:<12} text",
        "chunk", "lines", "bytes", "tokens", "paragraphs"
    )?;
    for c in &chunking.chunks {
        let paras = match (c.paragraphs.first(), c.paragraphs.last()) {
            (Some(a), Some(b)) if a != b => format!("{a}-{b}"),
            (Some(a), _) => a.clone(),
            _ => String::new(),
        };
        writeln!(
            out,
            "  {:>5}  {:<11} {:<13} {:>6}  {:<12} {}",
            c.index,
            format!("L{}-{}", c.lines[0], c.lines[1]),
            format!("{}-{}", c.byte_range[0], c.byte_range[1]),
            c.tokens,
            paras,
            preview(&c.text, 60)
        )?;
    }
    Ok(())
}
