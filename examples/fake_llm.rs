//! The tests' fake OpenAI-compatible server, out of process, for benchmarks and end-to-end
//! trials: `cargo run --example fake_llm -- --port 8089 --latency-ms 50 --p429 0.1`.
//! Faults are injected by probability (--p429, --p500, --pgarbage); answers are valid for the
//! request's JSON Schema.

#[path = "../tests/it/support/fake_llm.rs"]
mod fake_llm;

use clap::Parser;
use std::time::Duration;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 8089)]
    port: u16,
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    #[arg(long, default_value_t = 0.0)]
    p429: f64,
    #[arg(long, default_value_t = 0.0)]
    p500: f64,
    #[arg(long, default_value_t = 0.0)]
    pgarbage: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[tokio::main]
async fn main() {
    let a = Args::parse();
    let fake = fake_llm::FakeLlm::start_on(
        a.port,
        fake_llm::FakeConfig {
            latency: Duration::from_millis(a.latency_ms),
            p429: a.p429,
            p500: a.p500,
            pgarbage: a.pgarbage,
            seed: a.seed,
            ..Default::default()
        },
    )
    .await;
    eprintln!(
        "fake OpenAI-compatible server on {} (Ctrl-C stops it)",
        fake.base_url()
    );
    let _ = tokio::signal::ctrl_c().await;
}
