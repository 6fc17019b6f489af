//! The main job against the fake server: the five letters x 3 tasks at 50 ms latency and
//! concurrency 16. Prints wall time / ideal (ideal = calls x 50 ms / 16, or the map -> reduce
//! critical path of two calls if longer), then the time of a rerun with a full cache.
//!
//! `cargo bench --bench pipeline`

#[path = "../tests/it/support/fake_llm.rs"]
mod fake_llm;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tolk::chunk::ChunkConfig;
use tolk::config::StructuredMode;
use tolk::endpoint::{Endpoint, Scope};
use tolk::llm::openai::{OpenAiProvider, OpenAiSettings};
use tolk::llm::{Client, ClientOptions};
use tolk::pipeline::{self, RunOptions};
use tolk::tasks::Task;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let latency = Duration::from_millis(
        std::env::var("BENCH_LATENCY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(50),
    );
    let concurrency = 16;
    let fake = server_rt
        .block_on(async {
            server_rt
                .spawn(fake_llm::FakeLlm::start(fake_llm::FakeConfig {
                    latency,
                    ..Default::default()
                }))
                .await
        })
        .unwrap();
    let out = std::env::temp_dir().join(format!("tolk-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let opts = RunOptions {
        inputs: vec![root.join("input")],
        out: out.clone(),
        prompts: Some(root.join("prompts")),
        glossaries: Vec::new(),
        // Every task but the user's questions (none asked): the figures compare with earlier ones.
        tasks: Task::ALL
            .into_iter()
            .filter(|t| *t != Task::Questions)
            .collect(),
        label: None,
        refresh: false,
        progress: false,
        chunk: ChunkConfig::default(),
        temperature: 0.0,
        seed: None,
        max_tokens: None,
        whole_doc_tokens: 12_000,
        grammar: false,
        translate_mode: tolk::config::TranslateMode::Chunk,
        translate_reason: None,
        translate_trial: false,
        analysis_mode: tolk::config::AnalysisMode::Combined,
        questions: Vec::new(),
    };
    let endpoint = |_: ()| {
        let provider = OpenAiProvider::new(OpenAiSettings {
            base_url: fake.base_url(),
            model: "bench".into(),
            api_key: None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(2),
            mode: StructuredMode::JsonSchema,
            extra_headers: Default::default(),
            extra_body: None,
        })
        .unwrap();
        let client = Arc::new(Client::new(
            Arc::new(provider),
            ClientOptions {
                concurrency,
                ..ClientOptions::default()
            },
        ));
        let scope = Scope {
            endpoint: fake.base_url(),
            model: "bench".into(),
            mode: StructuredMode::JsonSchema,
            context_tokens: None,
            local: false,
        };
        Arc::new(Endpoint::ready(scope, client, None))
    };
    // The tokenizer is built once per process (a fixed start-up cost, not the pipeline's).
    let t = Instant::now();
    opts.chunk.encoding.count("warm up");
    println!(
        "tokenizer start-up ({}): {:.3} s",
        opts.chunk.encoding.name(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let report = rt.block_on(pipeline::run(&opts, endpoint(()))).unwrap();
    let wall = t.elapsed().as_secs_f64();
    let calls = report.manifest.usage.requests as f64;
    let ideal =
        (calls * latency.as_secs_f64() / concurrency as f64).max(2.0 * latency.as_secs_f64());
    println!(
        "first run: {calls} calls at concurrency {concurrency}, latency {} ms: wall {wall:.3} s, ideal {ideal:.3} s, wall / ideal = {:.2}",
        latency.as_millis(),
        wall / ideal
    );
    let t = Instant::now();
    let report = rt.block_on(pipeline::run(&opts, endpoint(()))).unwrap();
    println!(
        "rerun with a full cache: {:.3} s, {} calls made, {} from the cache",
        t.elapsed().as_secs_f64(),
        report.manifest.usage.requests,
        report.manifest.usage.cache_hits
    );
    let _ = std::fs::remove_dir_all(&out);
}
