//! A fake OpenAI-compatible server for tests and benchmarks: real HTTP/1.1 on 127.0.0.1, written
//! on plain tokio sockets so that it can do what a framework would not let it do (drop a
//! connection, hang past a timeout).
//!
//! - Scriptable: [`FakeLlm::push`] queues replies (faults or contents) served first, in order.
//! - Faults by probability (`p429`, `p500`, `pgarbage`), deterministic for a seed.
//! - Otherwise it answers like a model would: a JSON object valid for the request's schema,
//!   task-aware for tolk's own schemas (see [`answer`]), varying with the model name.
//! - Records every request (path, headers, JSON body, arrival time) and the maximum number of
//!   requests in flight.
//!
//! Also runs out of process: `cargo run --example fake_llm -- --port 8089 --latency-ms 50 --p429 0.1`.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One scripted reply.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with this message content.
    Content(String),
    /// 200, content generated for the request as usual.
    Normal,
    /// 429 with an optional Retry-After header value.
    RateLimited(Option<String>),
    /// 500 with an OpenAI-shaped JSON body.
    ServerError,
    /// 500 with the plain text body "Internal Server Error" (llama-cpp-python does this).
    PlainText500,
    /// Any status with this body.
    Status(u16, String),
    /// 200 whose body is not JSON at all.
    GarbageBody,
    /// 200 whose content is not JSON.
    GarbageContent,
    /// 200, generated content cut short, finish_reason "length".
    Truncated,
    /// Sleep this long before answering normally (longer than the client's timeout: a hang).
    Hang(Duration),
    /// Read the request, then close the connection without a word.
    Drop,
}

/// Behaviour when nothing is scripted.
#[derive(Debug, Clone, Default)]
pub struct FakeConfig {
    pub latency: Duration,
    pub p429: f64,
    pub p500: f64,
    pub pgarbage: f64,
    pub seed: u64,
    /// Reject `response_format: json_schema` with the llama-cpp-python 500 (capability tests).
    pub reject_json_schema: bool,
    /// Report this context size in /models and reject longer prompts with HTTP 400.
    pub context_tokens: Option<usize>,
    /// Answer HTTP 400 to every chat request whose body contains this text.
    pub fail_when_contains: Option<String>,
    /// Cut off the reply (finish_reason "length") to every chat request this is true of.
    pub truncate_if: Option<fn(&Value) -> bool>,
    /// Answer a plain-text translation request this is true of with its Dutch, unchanged.
    pub copy_if: Option<fn(&Value) -> bool>,
    /// ... with a marker before it, so that it is not the Dutch unchanged but still reads as Dutch.
    pub copy_marked: bool,
    /// Answer a plain-text translation request this is true of with its system prompt's last
    /// line: a small model repeating its instructions.
    pub echo_if: Option<fn(&Value) -> bool>,
    /// A known error put into every translation: (Dutch word, wrong English, right English).
    /// The Dutch word's place in the English gets the wrong English; the fake reviewer marks it
    /// (a major mistranslation, with its spans), and the fake refiner puts the right one.
    pub mistranslate: Option<(&'static str, &'static str, &'static str)>,
    /// The fake reviewer also marks, in the first segment of each chunk, a minor fluency error
    /// in words the English does not have (to be kept and shown as unverified).
    pub review_invents: bool,
    /// Every quote of a structured answer is made up (not in the letter): a model that
    /// answers from nowhere.
    pub invent_quotes: bool,
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    pub at: Instant,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    script: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<Recorded>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    served: AtomicU64,
    rng: Mutex<u64>,
    config: Mutex<FakeConfig>,
}

/// A running fake server. Dropping it stops accepting connections.
pub struct FakeLlm {
    pub addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeLlm {
    /// Start on 127.0.0.1:`port` (0: any free port) in the current tokio runtime.
    pub async fn start_on(port: u16, config: FakeConfig) -> FakeLlm {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        *state.rng.lock().unwrap() = config
            .seed
            .wrapping_mul(2654435761)
            .wrapping_add(88172645463325252);
        *state.config.lock().unwrap() = config;
        let st = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let st = st.clone();
                tokio::spawn(async move {
                    let _ = serve_connection(stream, st).await;
                });
            }
        });
        FakeLlm { addr, state, task }
    }

    pub async fn start(config: FakeConfig) -> FakeLlm {
        FakeLlm::start_on(0, config).await
    }

    /// Base URL for tolk: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn push(&self, reply: Reply) {
        self.state.script.lock().unwrap().push_back(reply);
    }

    pub fn set_config(&self, config: FakeConfig) {
        *self.state.config.lock().unwrap() = config;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Chat-completion requests of the work itself (capability probes aside).
    pub fn chat_requests(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/chat/completions") && !is_probe(r))
            .collect()
    }

    /// tolk's capability probes (one per mode tried).
    pub fn probe_requests(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/chat/completions") && is_probe(r))
            .collect()
    }

    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }

    pub fn clear(&self) {
        self.state.requests.lock().unwrap().clear();
        self.state.max_in_flight.store(0, Ordering::SeqCst);
    }
}

/// A capability probe: its schema is named `tolk_probe` (or, in the prompt modes, is in the
/// system message).
pub fn is_probe(r: &Recorded) -> bool {
    r.body["response_format"]["json_schema"]["name"] == "tolk_probe"
        || r.body["messages"][0]["content"]
            .as_str()
            .is_some_and(|s| s.contains("tolk-ready"))
        || r.body["response_format"]["schema"]["properties"]["status"]["enum"][0] == "tolk-ready"
}

/// Run a fake server on its own thread and runtime, for tests that drive the tolk binary
/// synchronously. Dropping the handle shuts it down.
pub struct FakeThread {
    pub base_url: String,
    server: Arc<Mutex<Option<FakeLlm>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeThread {
    pub fn start(config: FakeConfig) -> FakeThread {
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = Arc::new(Mutex::new(None));
        let slot = server.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let fake = FakeLlm::start(config).await;
                let url = fake.base_url();
                // In the slot before anyone has the address: a test that asks at once finds it.
                *slot.lock().unwrap() = Some(fake);
                tx.send(url).unwrap();
                let _ = stop_rx.await;
                slot.lock().unwrap().take();
            });
        });
        let base_url = rx.recv().unwrap();
        FakeThread {
            base_url,
            server,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    pub fn with<R>(&self, f: impl FnOnce(&FakeLlm) -> R) -> R {
        f(self.server.lock().unwrap().as_ref().expect("running"))
    }

    pub fn chat_requests(&self) -> Vec<Recorded> {
        self.with(|f| f.chat_requests())
    }

    /// Every request, of any path (chat, models, probes).
    pub fn requests(&self) -> Vec<Recorded> {
        self.with(|f| f.requests())
    }

    pub fn probe_requests(&self) -> Vec<Recorded> {
        self.with(|f| f.probe_requests())
    }

    pub fn push(&self, reply: Reply) {
        self.with(|f| f.push(reply))
    }

    pub fn clear(&self) {
        self.with(|f| f.clear())
    }
}

impl Drop for FakeThread {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve_connection(stream: TcpStream, state: Arc<State>) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await? == 0 {
            return Ok(());
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("").to_string();
        let mut headers = Vec::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                let (k, v) = (k.trim().to_string(), v.trim().to_string());
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.parse().unwrap_or(0);
                }
                headers.push((k, v));
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).await?;
        let arrived = Instant::now();
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        state.requests.lock().unwrap().push(Recorded {
            path: path.clone(),
            headers,
            body: body.clone(),
            at: arrived,
        });
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let response = respond(&state, &method, &path, &body, arrived).await;
        state.in_flight.fetch_sub(1, Ordering::SeqCst);
        state.served.fetch_add(1, Ordering::SeqCst);
        let Some((status, content_type, extra, payload)) = response else {
            // Drop: close without answering.
            return Ok(());
        };
        let head = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n{extra}\r\n",
            reason(status),
            payload.len()
        );
        // One write: a head and a body in two segments would meet Nagle's algorithm and the
        // client's delayed ACK (a 40 ms stall per request).
        let mut out = head.into_bytes();
        out.extend_from_slice(payload.as_bytes());
        write.write_all(&out).await?;
        write.flush().await?;
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

type Response = Option<(u16, &'static str, String, String)>;

fn json_response(status: u16, v: Value) -> Response {
    Some((status, "application/json", String::new(), v.to_string()))
}

fn roll(state: &State) -> f64 {
    let mut x = state.rng.lock().unwrap();
    // xorshift64*
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    let v = x.wrapping_mul(0x2545F4914F6CDD1D);
    (v >> 11) as f64 / (1u64 << 53) as f64
}

async fn respond(
    state: &State,
    method: &str,
    path: &str,
    body: &Value,
    arrived: Instant,
) -> Response {
    let config = state.config.lock().unwrap().clone();
    if method == "GET" && path.ends_with("/models") {
        let mut model = json!({"id": "fake-model", "object": "model", "owned_by": "tolk-tests"});
        if let Some(n) = config.context_tokens {
            model["max_model_len"] = json!(n);
        }
        return json_response(200, json!({"object": "list", "data": [model]}));
    }
    if !path.ends_with("/chat/completions") {
        return json_response(
            404,
            json!({"error": {"message": format!("no route {path}"), "type": "not_found"}}),
        );
    }
    let scripted = state.script.lock().unwrap().pop_front();
    let reply = match scripted {
        Some(r) => r,
        None => {
            let r = roll(state);
            if r < config.p429 {
                Reply::RateLimited(Some("0".into()))
            } else if r < config.p429 + config.p500 {
                if roll(state) < 0.5 {
                    Reply::ServerError
                } else {
                    Reply::PlainText500
                }
            } else if r < config.p429 + config.p500 + config.pgarbage {
                if roll(state) < 0.5 {
                    Reply::GarbageBody
                } else {
                    Reply::GarbageContent
                }
            } else {
                Reply::Normal
            }
        }
    };
    if !config.latency.is_zero() {
        // Latency counts from the request's arrival, like a real server's.
        tokio::time::sleep_until((arrived + config.latency).into()).await;
    }
    let model = body["model"].as_str().unwrap_or("fake-model").to_string();
    if config.reject_json_schema && body["response_format"]["type"] == "json_schema" {
        return json_response(
            500,
            json!({"error": {"message": "1 validation error for CreateChatCompletionRequest\nresponse_format.type\n  Input should be 'text' or 'json_object' [type=literal_error, input_value='json_schema', input_type=str]", "type": "internal_server_error"}}),
        );
    }
    if let Some(needle) = &config.fail_when_contains
        && body.to_string().contains(needle.as_str())
    {
        return json_response(
            400,
            json!({"error": {"message": "This request is refused by the test server.", "type": "invalid_request_error"}}),
        );
    }
    if let Some(limit) = config.context_tokens {
        let chars: usize = body["messages"]
            .as_array()
            .map(|m| {
                m.iter()
                    .map(|x| x["content"].as_str().unwrap_or("").len())
                    .sum()
            })
            .unwrap_or(0);
        // About four characters a token.
        if chars / 4 > limit {
            return json_response(
                400,
                json!({"error": {"message": format!("Requested tokens ({}) exceed context window of {limit}", chars / 4), "type": "invalid_request_error", "code": "context_length_exceeded"}}),
            );
        }
    }
    let reply = match (reply, config.truncate_if) {
        (Reply::Normal, Some(cut)) if cut(body) => Reply::Truncated,
        (r, _) => r,
    };
    let reply = match (reply, config.copy_if, plain_source(body)) {
        (Reply::Normal, Some(copy), Some(nl)) if copy(body) => {
            Reply::Content(if config.copy_marked {
                format!("[copy] {nl}")
            } else {
                nl
            })
        }
        (r, _, _) => r,
    };
    let reply = match (reply, config.echo_if) {
        (Reply::Normal, Some(echo)) if echo(body) => {
            let system = body["messages"][0]["content"].as_str().unwrap_or("");
            Reply::Content(system.trim().lines().last().unwrap_or("").to_string())
        }
        (r, _) => r,
    };
    match reply {
        Reply::Content(content) => json_response(200, completion(&model, &content, "stop")),
        Reply::Normal => json_response(200, completion(&model, &answer(body, &config), "stop")),
        Reply::RateLimited(after) => {
            let extra = after
                .map(|a| format!("retry-after: {a}\r\n"))
                .unwrap_or_default();
            Some((429, "application/json", extra, json!({"error": {"message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded"}}).to_string()))
        }
        Reply::ServerError => json_response(
            500,
            json!({"error": {"message": "The server had an error while processing your request.", "type": "server_error"}}),
        ),
        Reply::PlainText500 => Some((
            500,
            "text/plain",
            String::new(),
            "Internal Server Error".into(),
        )),
        Reply::Status(code, text) => Some((code, "application/json", String::new(), text)),
        Reply::GarbageBody => Some((
            200,
            "text/html",
            String::new(),
            "<html>upstream error</html>".into(),
        )),
        Reply::GarbageContent => json_response(
            200,
            completion(&model, "I am sorry, I cannot produce JSON today.", "stop"),
        ),
        Reply::Truncated => {
            let full = answer(body, &config);
            let cut: String = full.chars().take(full.chars().count() / 2).collect();
            json_response(200, completion(&model, &cut, "length"))
        }
        Reply::Hang(d) => {
            tokio::time::sleep(d).await;
            json_response(200, completion(&model, &answer(body, &config), "stop"))
        }
        Reply::Drop => None,
    }
}

fn completion(model: &str, content: &str, finish: &str) -> Value {
    json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}],
        "usage": {"prompt_tokens": body_tokens(content) + 100, "completion_tokens": body_tokens(content)}
    })
}

fn body_tokens(s: &str) -> usize {
    s.len() / 4 + 1
}

/// The schema the request asks for, wherever it is: response_format (json_schema or
/// json_object + schema), or the schema-in-prompt instruction of the system message.
pub fn requested_schema(body: &Value) -> Option<Value> {
    let rf = &body["response_format"];
    if rf["type"] == "json_schema" {
        return Some(rf["json_schema"]["schema"].clone());
    }
    if rf["schema"].is_object() {
        return Some(rf["schema"].clone());
    }
    let system = body["messages"][0]["content"].as_str().unwrap_or("");
    let marker = "matches this JSON Schema:\n";
    let at = system.find(marker)?;
    serde_json::from_str(system[at + marker.len()..].lines().next()?).ok()
}

/// The content a well-behaved model would give. Without a schema: a short sentence.
pub fn answer(body: &Value, config: &FakeConfig) -> String {
    let model = body["model"].as_str().unwrap_or("fake-model");
    let Some(schema) = requested_schema(body) else {
        if let Some(nl) = plain_source(body) {
            return mistranslated(&fake_english(model, &nl), config);
        }
        if let Some(draft) = refine_draft(body) {
            return match config.mistranslate {
                Some((_, wrong, right)) => draft.replace(wrong, right),
                None => format!("{draft} (revised)"),
            };
        }
        return format!("Hello from {model}.");
    };
    let user: String = body["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter(|x| x["role"] == "user")
                .filter_map(|x| x["content"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    if schema["title"] == "tolk.review" {
        return review(&user, config).to_string();
    }
    let ctx = Ctx {
        model,
        user: &user,
        paragraphs: source_paragraphs(&user),
        quotes: std::cell::Cell::new(0),
        mistranslate: config.mistranslate,
        invent_quotes: config.invent_quotes,
    };
    instance(&schema, &ctx, "").to_string()
}

/// `english` with the configured known error put in.
fn mistranslated(english: &str, config: &FakeConfig) -> String {
    match config.mistranslate {
        Some((nl, wrong, _)) => english.replace(nl, wrong),
        None => english.to_string(),
    }
}

/// The draft of a refine request (tolk's refine prompt), when this is one.
pub fn refine_draft(body: &Value) -> Option<String> {
    let messages = body["messages"].as_array()?;
    let system = messages.first()?["content"].as_str()?;
    if !system.contains("revising a draft translation") {
        return None;
    }
    let user = messages.iter().find(|m| m["role"] == "user")?["content"].as_str()?;
    let (_, rest) = user.split_once("<draft>\n")?;
    let (draft, _) = rest.split_once("\n</draft>")?;
    Some(draft.to_string())
}

/// The segments of a review request: (id, Dutch, English) from its `<segments>` block.
pub fn review_segments(user: &str) -> Vec<(String, String, String)> {
    let Some((_, rest)) = user.split_once("<segments>\n") else {
        return Vec::new();
    };
    let block = rest.rsplit_once("</segments>").map_or(rest, |(b, _)| b);
    let mut out: Vec<(String, String, String)> = Vec::new();
    for line in block.lines() {
        if let Some(id) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            out.push((id.to_string(), String::new(), String::new()));
        } else if let (Some(nl), Some(last)) = (line.strip_prefix("NL: "), out.last_mut()) {
            last.1 = nl.to_string();
        } else if let (Some(en), Some(last)) = (line.strip_prefix("EN: "), out.last_mut()) {
            last.2 = en.to_string();
        }
    }
    out
}

/// What a reviewer finds: the configured known error wherever it is, with its exact spans; and
/// with `review_invents`, a minor error in words that are not there.
fn review(user: &str, config: &FakeConfig) -> Value {
    let mut errors = Vec::new();
    for (k, (id, nl, en)) in review_segments(user).iter().enumerate() {
        if let Some((dutch, wrong, right)) = config.mistranslate
            && nl.contains(dutch)
            && en.contains(wrong)
        {
            errors.push(json!({
                "segment": id, "category": "mistranslation", "severity": "major",
                "span_en": wrong, "span_nl": dutch,
                "explanation": format!("\"{dutch}\" means \"{right}\", not \"{wrong}\"."),
                "suggestion": right,
            }));
        }
        if config.review_invents && k == 0 {
            errors.push(json!({
                "segment": id, "category": "fluency", "severity": "minor",
                "span_en": "a phrase this English never had", "span_nl": "",
                "explanation": "Awkward.", "suggestion": "Better.",
            }));
        }
    }
    json!({ "errors": errors })
}

/// The Dutch of a plain-text translation request (tolk's segment mode): the first user message,
/// after its "Dutch text to translate:" line when it has context or glossary terms before it.
pub fn plain_source(body: &Value) -> Option<String> {
    if body.get("response_format").is_some() {
        return None;
    }
    let messages = body["messages"].as_array()?;
    let system = messages.first()?["content"].as_str()?;
    if !system.contains("Translate the user's Dutch text into English") {
        return None;
    }
    let user = messages.iter().find(|m| m["role"] == "user")?["content"].as_str()?;
    let text = user
        .split_once("Dutch text to translate:\n")
        .map_or(user, |(_, t)| t);
    Some(text.trim().to_string())
}

/// A stand-in for English: the Dutch with its commonest words in English, marked with the
/// model's name, so that it reads as English to tolk's checks and is traceable to its source.
pub fn fake_english(model: &str, nl: &str) -> String {
    const WORDS: &[(&str, &str)] = &[
        ("de", "the"),
        ("het", "the"),
        ("een", "a"),
        ("van", "of"),
        ("en", "and"),
        ("in", "in"),
        ("is", "is"),
        ("dat", "that"),
        ("op", "on"),
        ("te", "to"),
        ("voor", "for"),
        ("met", "with"),
        ("zijn", "are"),
        ("niet", "not"),
        ("wij", "we"),
        ("we", "we"),
        ("ook", "also"),
        ("als", "as"),
        ("aan", "to"),
        ("om", "to"),
        ("er", "there"),
        ("die", "which"),
        ("deze", "this"),
        ("dit", "this"),
        ("door", "by"),
        ("bij", "at"),
        ("of", "or"),
        ("maar", "but"),
        ("worden", "be"),
        ("wordt", "is"),
        ("naar", "to"),
        ("uit", "from"),
        ("over", "about"),
        ("kan", "can"),
        ("geen", "no"),
        ("u", "you"),
        ("uw", "your"),
        ("onze", "our"),
        ("ons", "us"),
        ("zij", "they"),
    ];
    let english: Vec<String> = nl
        .split_whitespace()
        .map(|w| {
            let bare = w.trim_matches(|c: char| !c.is_alphanumeric());
            match WORDS.iter().find(|(d, _)| d.eq_ignore_ascii_case(bare)) {
                Some((_, e)) if !bare.is_empty() => w.replacen(bare, e, 1),
                _ => w.to_string(),
            }
        })
        .collect();
    format!("[{model}] {}", english.join(" "))
}

struct Ctx<'a> {
    model: &'a str,
    user: &'a str,
    paragraphs: Vec<(String, String)>,
    quotes: std::cell::Cell<usize>,
    mistranslate: Option<(&'static str, &'static str, &'static str)>,
    invent_quotes: bool,
}

/// The `[pN] text` paragraphs of the source in the prompt (tolk's prompt format).
fn source_paragraphs(user: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Some(start) = user.find("<source>") else {
        return out;
    };
    let end = user[start..]
        .find("</source>")
        .map_or(user.len(), |e| start + e);
    for line in user[start + 8..end].lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("[p")
            && let Some(close) = rest.find(']')
        {
            out.push((
                format!("p{}", &rest[..close]),
                rest[close + 1..].trim().to_string(),
            ));
        }
    }
    out
}

fn words(s: &str, n: usize) -> String {
    s.split_whitespace().take(n).collect::<Vec<_>>().join(" ")
}

/// Sentences of the source with at least six words: what a model would quote.
fn source_sentences(paras: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (_, t) in paras {
        for s in t.split_inclusive(". ") {
            let s = s.trim();
            if s.split_whitespace().count() >= 6 {
                out.push(words(s, 14));
            }
        }
    }
    out
}

/// A variant per model, so that two models' runs differ.
fn variant(model: &str) -> usize {
    model.bytes().map(|b| b as usize).sum::<usize>() % 3
}

/// A value valid for `schema`, filled the way a model would fill tolk's fields: translations
/// are the Dutch marked with the model's name; quotes are real source sentences, except that
/// every fifth is altered a little (a fuzzy match) and every seventh is invented (unverified).
fn instance(schema: &Value, ctx: &Ctx, name: &str) -> Value {
    if let Some(c) = schema.get("const") {
        return c.clone();
    }
    if let Some(e) = schema["enum"].as_array() {
        if e.is_empty() {
            return Value::Null;
        }
        // Stances vary with the model; other enums take their first value.
        let pick = if name == "stance" || name == "position" {
            variant(ctx.model) % e.len()
        } else {
            0
        };
        if name == "quote_nl" {
            let k = ctx.quotes.get();
            ctx.quotes.set(k + 1);
            return e[k % e.len()].clone();
        }
        return e[pick].clone();
    }
    if let Some(any) = schema["anyOf"].as_array().or(schema["oneOf"].as_array()) {
        return any
            .first()
            .map(|s| instance(s, ctx, name))
            .unwrap_or(Value::Null);
    }
    let ty = match &schema["type"] {
        Value::String(s) => s.as_str(),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ => "object",
    };
    match ty {
        "object" => {
            let mut obj = serde_json::Map::new();
            if let Some(props) = schema["properties"].as_object() {
                for (k, sub) in props {
                    obj.insert(k.clone(), instance(sub, ctx, k));
                }
            }
            Value::Object(obj)
        }
        "array" => {
            let min = schema["minItems"].as_u64().unwrap_or(1).max(1) as usize;
            let n = match name {
                "evidence" => 2,
                "key_points" | "notes" => min.max(3),
                _ => min,
            };
            let n = schema["maxItems"].as_u64().map_or(n, |m| n.min(m as usize));
            if name == "paragraphs" && schema["items"]["type"] == "string" {
                // Free-form citations (the summary's reduce step): real ids, and one that is not.
                let mut ids: Vec<Value> = ctx
                    .paragraphs
                    .iter()
                    .take(2)
                    .map(|(id, _)| json!(id))
                    .collect();
                if ids.is_empty() {
                    ids.push(json!("p1"));
                }
                if ctx.quotes.get() == 0 {
                    ids.push(json!("p9999"));
                    ctx.quotes.set(1);
                }
                return Value::Array(ids);
            }
            Value::Array(
                (0..n)
                    .map(|_| instance(&schema["items"], ctx, name))
                    .collect(),
            )
        }
        "string" => {
            let is_para =
                name.starts_with('p') && name[1..].chars().all(|c| c.is_ascii_digit() || c == '.');
            if is_para && let Some((_, text)) = ctx.paragraphs.iter().find(|(id, _)| id == name) {
                let english = format!("[{}] {}", ctx.model, text);
                return Value::String(match ctx.mistranslate {
                    Some((nl, wrong, _)) => english.replace(nl, wrong),
                    None => english,
                });
            }
            let first = ctx
                .paragraphs
                .first()
                .map(|p| words(&p.1, 8))
                .unwrap_or_default();
            let s = match name {
                "quote_nl" => {
                    let sentences = source_sentences(&ctx.paragraphs);
                    let k = ctx.quotes.get();
                    ctx.quotes.set(k + 1);
                    if sentences.is_empty() {
                        "Geen bron.".to_string()
                    } else if k % 7 == 6 || ctx.invent_quotes {
                        "Dit citaat staat nergens in de brief en is verzonnen door het model."
                            .to_string()
                    } else if k % 5 == 4 {
                        // Drop one word in the middle: still close to the source.
                        let mut w: Vec<&str> =
                            sentences[k % sentences.len()].split_whitespace().collect();
                        let mid = w.len() / 2;
                        w.remove(mid);
                        w.join(" ")
                    } else {
                        sentences[k % sentences.len()].clone()
                    }
                }
                "summary_en" => format!("Summary by {}: the letter says {first}.", ctx.model),
                "date" => "18 september 2024".into(),
                _ if ctx.paragraphs.is_empty() => format!("{name} by {}", ctx.model),
                _ => format!("{name} ({}): {first}", ctx.model),
            };
            Value::String(s)
        }
        "integer" => json!(schema["minimum"].as_i64().unwrap_or(0)),
        "number" => json!(0.5 + 0.1 * variant(ctx.model) as f64),
        "boolean" => Value::Bool(true),
        _ => Value::Null,
    }
}
