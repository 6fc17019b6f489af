//! The LLM client against a real HTTP server on 127.0.0.1 that injects faults: each test asserts
//! something a user would notice.

use crate::support::fake_llm::{FakeConfig, FakeLlm, FakeThread, Reply};
use crate::support::{root, stderr, stdout, tolk};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tolk::config::{ApiKey, StructuredMode};
use tolk::llm::openai::{OpenAiProvider, OpenAiSettings};
use tolk::llm::{ChatRequest, Client, ClientOptions, LlmError, Message, SchemaSpec};

const SENTINEL: &str = "sk-SENTINEL-7f3a9c1e-do-not-leak";

fn provider(fake: &FakeLlm, timeout: Duration) -> OpenAiProvider {
    OpenAiProvider::new(OpenAiSettings {
        base_url: fake.base_url(),
        model: "fake-a".into(),
        api_key: Some(ApiKey::new(SENTINEL)),
        timeout,
        connect_timeout: Duration::from_secs(2),
        mode: StructuredMode::JsonSchema,
        extra_headers: Default::default(),
        extra_body: None,
    })
    .unwrap()
}

fn client(fake: &FakeLlm, options: ClientOptions) -> Client {
    Client::new(
        Arc::new(provider(fake, Duration::from_millis(800))),
        options,
    )
}

fn fast(max_retries: u32) -> ClientOptions {
    ClientOptions {
        max_retries,
        retry_base: Duration::from_millis(1),
        retry_max: Duration::from_millis(20),
        ..ClientOptions::default()
    }
}

fn schema() -> SchemaSpec {
    SchemaSpec {
        name: "answer".into(),
        schema: json!({
            "type": "object",
            "properties": {"id": {"enum": ["p1", "p2"]}, "text": {"type": "string"}},
            "required": ["id", "text"],
            "additionalProperties": false
        }),
    }
}

fn request() -> ChatRequest {
    ChatRequest {
        messages: vec![Message::system("sys"), Message::user("hallo")],
        schema: Some(schema()),
        max_tokens: Some(100),
        temperature: Some(0.0),
        seed: None,
        plain: false,
    }
}

#[tokio::test]
async fn every_transient_fault_is_recovered() {
    let fake = FakeLlm::start(FakeConfig::default()).await;
    for r in [
        Reply::RateLimited(Some("0".into())),
        Reply::ServerError,
        Reply::PlainText500,
        Reply::GarbageBody,
        Reply::Drop,
        Reply::Hang(Duration::from_secs(3)),
    ] {
        fake.push(r);
    }
    let c = client(&fake, fast(8));
    let (completion, value) = c.chat_json(&request()).await.expect("recovered");
    assert_eq!(value["id"], "p1");
    assert_eq!(completion.model.as_deref(), Some("fake-a"));
    assert_eq!(fake.chat_requests().len(), 7, "six faults, then the answer");
}

#[tokio::test]
async fn after_max_retries_a_clear_error() {
    let fake = FakeLlm::start(FakeConfig::default()).await;
    for _ in 0..10 {
        fake.push(Reply::ServerError);
    }
    let c = client(&fake, fast(3));
    let err = c.chat(&request()).await.unwrap_err();
    assert!(
        matches!(&err, LlmError::RetriesExhausted { attempts: 4, .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("gave up after 4 attempts"), "{msg}");
    assert!(
        msg.contains("HTTP 500") && msg.contains("The server had an error"),
        "{msg}"
    );
    assert_eq!(fake.chat_requests().len(), 4);
}

#[tokio::test]
async fn retry_after_is_respected() {
    let fake = FakeLlm::start(FakeConfig::default()).await;
    fake.push(Reply::RateLimited(Some("1".into())));
    let c = client(
        &fake,
        ClientOptions {
            retry_max: Duration::from_secs(5),
            ..fast(3)
        },
    );
    c.chat(&request()).await.unwrap();
    let reqs = fake.chat_requests();
    assert_eq!(reqs.len(), 2);
    let gap = reqs[1].at.duration_since(reqs[0].at);
    // The backoff alone would wait about a millisecond.
    assert!(gap >= Duration::from_millis(950), "waited {gap:?}");
}

#[tokio::test]
async fn unauthorized_fails_fast_once_with_the_providers_message() {
    let fake = FakeLlm::start(FakeConfig::default()).await;
    fake.push(Reply::Status(
        401,
        json!({"error": {"message": "Incorrect API key provided: sk-SENT***leak.", "type": "invalid_request_error", "code": "invalid_api_key"}}).to_string(),
    ));
    let c = client(&fake, fast(6));
    let err = c.chat(&request()).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(
        err.to_string().contains("Incorrect API key provided"),
        "{err}"
    );
    assert_eq!(fake.chat_requests().len(), 1, "not retried");
    assert_eq!(
        fake.chat_requests()[0].header("authorization"),
        Some(format!("Bearer {SENTINEL}").as_str()),
        "the key is sent to the server"
    );
}

#[tokio::test]
async fn quota_exhausted_is_not_retried() {
    let fake = FakeLlm::start(FakeConfig::default()).await;
    fake.push(Reply::Status(
        429,
        json!({"error": {"message": "You exceeded your current quota", "type": "insufficient_quota", "code": "insufficient_quota"}}).to_string(),
    ));
    let err = client(&fake, fast(6)).chat(&request()).await.unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert_eq!(fake.chat_requests().len(), 1);
}

#[tokio::test]
async fn in_flight_requests_never_exceed_the_bound() {
    let fake = FakeLlm::start(FakeConfig {
        latency: Duration::from_millis(40),
        ..FakeConfig::default()
    })
    .await;
    let c = Arc::new(client(
        &fake,
        ClientOptions {
            concurrency: 3,
            ..fast(2)
        },
    ));
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move { c.chat(&request()).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(
        fake.max_in_flight(),
        3,
        "the bound is reached and never passed"
    );
    assert_eq!(
        c.stats()
            .max_in_flight
            .load(std::sync::atomic::Ordering::SeqCst),
        3
    );
}

#[tokio::test]
async fn an_rpm_limit_holds() {
    let fake = FakeLlm::start(FakeConfig::default()).await;
    let c = Arc::new(client(
        &fake,
        ClientOptions {
            concurrency: 2,
            rpm: Some(600),
            ..fast(2)
        },
    ));
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move { c.chat(&request()).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let reqs = fake.chat_requests();
    let t0 = reqs[0].at;
    // 600 per minute = one per 100 ms after a burst of 2.
    for (i, r) in reqs.iter().enumerate().skip(2) {
        let earliest =
            Duration::from_millis(100 * (i as u64 - 1)).saturating_sub(Duration::from_millis(30));
        assert!(
            r.at.duration_since(t0) >= earliest,
            "request {i} came {:?} after the first",
            r.at.duration_since(t0)
        );
    }
}

#[tokio::test]
async fn a_schema_violating_reply_is_repaired_or_reported() {
    let fake = FakeLlm::start(FakeConfig::default()).await;
    fake.push(Reply::Content(json!({"id": "p9", "text": "x"}).to_string()));
    let c = client(&fake, fast(2));
    let (_, value) = c.chat_json(&request()).await.unwrap();
    assert_eq!(value["id"], "p1");
    let reqs = fake.chat_requests();
    assert_eq!(reqs.len(), 2);
    let msgs = reqs[1].body["messages"].as_array().unwrap();
    assert_eq!(
        msgs[2]["role"], "assistant",
        "the model sees its own output"
    );
    assert!(
        msgs[3]["content"].as_str().unwrap().contains("/id"),
        "and what is wrong with it"
    );

    fake.clear();
    for _ in 0..10 {
        fake.push(Reply::Content("{\"id\": \"p7\"}".into()));
    }
    let err = c.chat_json(&request()).await.unwrap_err();
    assert!(
        matches!(&err, LlmError::SchemaViolation { raw, .. } if raw.contains("p7")),
        "{err:?}"
    );
}

#[tokio::test]
async fn truncation_is_detected_and_retried_with_a_larger_budget_when_configured() {
    let fake = FakeLlm::start(FakeConfig::default()).await;
    fake.push(Reply::Truncated);
    let err = client(&fake, fast(2))
        .chat_json(&request())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            LlmError::Truncated {
                max_tokens: Some(100),
                ..
            }
        ),
        "{err:?}"
    );

    fake.clear();
    fake.push(Reply::Truncated);
    let c = client(
        &fake,
        ClientOptions {
            max_tokens_retry: Some(400),
            ..fast(2)
        },
    );
    c.chat_json(&request()).await.unwrap();
    let reqs = fake.chat_requests();
    assert_eq!(reqs[1].body["max_tokens"], 400);
}

/// Captures tracing output at every level into a buffer.
#[derive(Clone, Default)]
struct Capture(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_key_appears_in_no_error_and_no_log_line() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let fake = FakeLlm::start(FakeConfig::default()).await;
    let mut errors = Vec::new();
    for r in [
        Reply::Status(401, "{\"error\": {\"message\": \"bad key\"}}".into()),
        Reply::PlainText500,
        Reply::PlainText500,
        Reply::PlainText500,
        Reply::Drop,
        Reply::Drop,
        Reply::Drop,
        Reply::GarbageBody,
        Reply::GarbageBody,
        Reply::GarbageBody,
        Reply::Truncated,
    ] {
        fake.push(r);
    }
    let c = client(&fake, fast(2));
    for _ in 0..5 {
        if let Err(e) = c.chat_json(&request()).await {
            errors.push(format!("{e} {e:?}"));
        }
    }
    let p = provider(&fake, Duration::from_secs(1));
    errors.push(format!("{:?}", p.settings()));
    assert!(errors.len() >= 5);
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(!logs.is_empty(), "logs were captured");
    for text in errors.iter().chain(std::iter::once(&logs)) {
        assert!(
            !text.contains(SENTINEL) && !text.contains("SENTINEL"),
            "leak: {text}"
        );
    }
}

#[test]
fn ping_reports_the_model_and_structured_output_and_never_prints_the_key() {
    let fake = FakeThread::start(FakeConfig::default());
    // Where ping remembers what it probed: not the project's own output folder.
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().to_str().unwrap();
    let out = tolk(
        &root(),
        &[
            "ping",
            "--endpoint",
            &fake.base_url,
            "--model",
            "fake-a",
            "-vv",
        ],
        &[("OPENAI_API_KEY", SENTINEL), ("TOLK_RUN_OUT", out_dir)],
    );
    let (o, e) = (stdout(&out), stderr(&out));
    assert!(out.status.success(), "{o}{e}");
    assert!(o.contains("resolved:  fake-a"), "{o}");
    assert!(o.contains("structured output (json_schema): ok"), "{o}");
    assert!(!o.contains(SENTINEL) && !e.contains(SENTINEL));

    fake.push(Reply::Status(
        401,
        "{\"error\": {\"message\": \"Incorrect API key provided\"}}".into(),
    ));
    let out = tolk(
        &root(),
        &["ping", "--endpoint", &fake.base_url, "-vv"],
        &[("OPENAI_API_KEY", SENTINEL), ("TOLK_RUN_OUT", out_dir)],
    );
    let (o, e) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        e.contains("HTTP 401") && e.contains("Incorrect API key provided"),
        "{e}"
    );
    assert!(!o.contains(SENTINEL) && !e.contains(SENTINEL));
}

#[test]
fn models_lists_the_endpoint_models() {
    let fake = FakeThread::start(FakeConfig::default());
    let out = tolk(&root(), &["models", "--endpoint", &fake.base_url], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "fake-model");
    assert!(
        fake.with(|f| f.requests()[0].header("authorization").is_none()),
        "no key set: no header"
    );
}
