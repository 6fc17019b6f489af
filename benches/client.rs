//! Client overhead: 1,000 calls at concurrency 16 against the fake server with 50 ms latency.
//! Prints wall time / ideal, where ideal = 1,000 x 50 ms / 16. Target <= 1.05.
//!
//! `cargo bench --bench client`

#[path = "../tests/it/support/fake_llm.rs"]
mod fake_llm;

use std::sync::Arc;
use std::time::{Duration, Instant};
use tolk::config::StructuredMode;
use tolk::llm::openai::{OpenAiProvider, OpenAiSettings};
use tolk::llm::{ChatRequest, Client, ClientOptions, Message, SchemaSpec};

fn main() {
    // The server gets a runtime of its own, as it would out of process.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let latency = Duration::from_millis(std::env::var("BENCH_LATENCY_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(50));
        let fake = server_rt
            .spawn(fake_llm::FakeLlm::start(fake_llm::FakeConfig { latency, ..Default::default() }))
            .await
            .unwrap();
        let provider = OpenAiProvider::new(OpenAiSettings {
            base_url: fake.base_url(),
            model: "bench".into(),
            api_key: None,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(2),
            mode: StructuredMode::JsonSchema,
            extra_headers: Default::default(),
            extra_body: None,
        })
        .unwrap();
        let (calls, concurrency) = (1000usize, 16usize);
        let client = Arc::new(Client::new(
            Arc::new(provider),
            ClientOptions { concurrency, ..ClientOptions::default() },
        ));
        let request = Arc::new(ChatRequest {
            messages: vec![Message::system("bench"), Message::user("<source>\n[p1] Een korte zin.\n</source>")],
            schema: Some(SchemaSpec {
                name: "bench".into(),
                schema: serde_json::json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"], "additionalProperties": false}),
            }),
            max_tokens: Some(64),
            temperature: Some(0.0),
            seed: None,
            plain: false,
        });
        let started = Instant::now();
        let mut tasks = Vec::with_capacity(calls);
        for _ in 0..calls {
            let (c, r) = (client.clone(), request.clone());
            tasks.push(tokio::spawn(async move { c.chat_json(&r).await.map(|_| ()) }));
        }
        let mut failed = 0;
        for t in tasks {
            if t.await.unwrap().is_err() {
                failed += 1;
            }
        }
        let wall = started.elapsed().as_secs_f64();
        let ideal = calls as f64 * latency.as_secs_f64() / concurrency as f64;
        println!("{calls} calls, concurrency {concurrency}, latency {} ms: wall {wall:.3} s, ideal {ideal:.3} s", latency.as_millis());
        println!("wall / ideal = {:.3} (target <= 1.05); failed: {failed}; max in flight at the server: {}", wall / ideal, fake.max_in_flight());
    });
}
