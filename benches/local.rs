//! The embedded model's throughput on this machine: prompt processing and generation, tokens
//! per second, with and without a grammar. Needs the model (tolk model fetch); prints figures.
//! Targets on the 2-core reference machine: prompt >= 150 tok/s, generation >= 45 tok/s.
//!
//! `cargo bench --bench local`

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tolk::llm::local::{LocalProvider, LocalSettings};
use tolk::llm::{ChatRequest, Message, Provider, SchemaSpec};

fn main() {
    let path = tolk::llm::model_store::model_path();
    if !path.is_file() {
        println!(
            "no model at {} (tolk model fetch); nothing measured",
            path.display()
        );
        return;
    }
    let t = Instant::now();
    let provider = Arc::new(
        LocalProvider::start(LocalSettings {
            model_path: path,
            n_ctx: 8192,
            threads: std::env::var("BENCH_THREADS")
                .ok()
                .and_then(|v| v.parse().ok()),
            default_max_tokens: 256,
        })
        .unwrap(),
    );
    println!("model load: {:.2} s", t.elapsed().as_secs_f64());
    let letter = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/input/2024-09-18-offlimits-advies-kabinetsstandpunt.txt"
    ))
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cases = [
        ("free text", None),
        (
            "JSON Schema grammar",
            Some(
                serde_json::json!({"type": "object", "properties": {"summary_en": {"type": "string"}, "points": {"type": "array", "items": {"type": "string"}}}, "required": ["summary_en", "points"], "additionalProperties": false}),
            ),
        ),
    ];
    for (name, schema) in cases {
        let before = (
            provider.stats.prompt_tokens.load(Ordering::Relaxed),
            provider.stats.prompt_micros.load(Ordering::Relaxed),
            provider.stats.generated_tokens.load(Ordering::Relaxed),
            provider.stats.generate_micros.load(Ordering::Relaxed),
        );
        let request = ChatRequest {
            messages: vec![
                Message::system(format!("You summarise Dutch letters in English. ({name})")),
                Message::user(format!(
                    "Summarise this letter in English in detail.\n\n{letter}"
                )),
            ],
            schema: schema.map(|s| SchemaSpec {
                name: "bench".into(),
                schema: s,
            }),
            max_tokens: Some(256),
            temperature: Some(0.0),
            seed: None,
        };
        let c = rt.block_on(provider.chat(&request)).unwrap();
        let s = &provider.stats;
        let pt = s.prompt_tokens.load(Ordering::Relaxed) - before.0;
        let pu = s.prompt_micros.load(Ordering::Relaxed) - before.1;
        let gt = s.generated_tokens.load(Ordering::Relaxed) - before.2;
        let gu = s.generate_micros.load(Ordering::Relaxed) - before.3;
        println!(
            "{name}: prompt {pt} tokens at {:.0} tok/s; generation {gt} tokens at {:.1} tok/s (finish {:?})",
            pt as f64 / (pu as f64 / 1e6),
            gt as f64 / (gu as f64 / 1e6),
            c.finish_reason
        );
    }
}
