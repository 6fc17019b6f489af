//! LLM calls: a [`Provider`] trait (one async chat call), an OpenAI-compatible implementation
//! ([`openai`]), and the [`Client`] that every task uses, which adds bounded concurrency, rate
//! limits, retries with backoff, structured-output validation with one repair attempt, and
//! truncation handling.
//!
//! Invariants: whether an error is retried is decided by one pure function, [`retryable`], over
//! the typed [`LlmError`]; the API key is never part of an error, a log line or a `Debug`.

mod client;
#[cfg(feature = "local")]
pub mod local;
pub mod openai;
pub mod probe;
pub mod structured;

pub use client::{Client, ClientOptions, Sent, Stats};

/// A boxed future, so that providers can live behind `dyn Provider`.
pub use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hash)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn system(content: impl Into<String>) -> Message {
        Message {
            role: "system".into(),
            content: content.into(),
        }
    }
    pub fn user(content: impl Into<String>) -> Message {
        Message {
            role: "user".into(),
            content: content.into(),
        }
    }
    pub fn assistant(content: impl Into<String>) -> Message {
        Message {
            role: "assistant".into(),
            content: content.into(),
        }
    }
}

/// A JSON Schema the reply must satisfy, with the name the API wants for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaSpec {
    pub name: String,
    pub schema: serde_json::Value,
}

/// What a task asks of the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    pub schema: Option<SchemaSpec>,
    /// The reply is plain text, not JSON: no `response_format`, no grammar. Its value is
    /// `{"text": <the reply, cleaned>, "cut_off": <ended at max_tokens>}`, checked against
    /// `schema` like any structured reply (see [`structured::plain_value`]). Small models
    /// translate one paragraph asked in plain words and copy the Dutch when asked for a JSON map.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub plain: bool,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub seed: Option<u64>,
}

/// Token counts as the server reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// A reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    pub content: String,
    /// As sent by the server; unknown values ("eos") are kept as they are.
    pub finish_reason: Option<String>,
    pub usage: Option<Usage>,
    /// The model the server says answered (may differ from the one asked for).
    pub model: Option<String>,
    pub system_fingerprint: Option<String>,
    #[serde(with = "duration_ms")]
    pub latency: Duration,
}

mod duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// Who answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderInfo {
    /// "openai-compatible" or "local".
    pub kind: String,
    /// Base URL, without any credentials.
    pub endpoint: String,
    pub model: String,
}

/// One chat call, nothing more: no retries, no validation (the [`Client`] adds those).
pub trait Provider: Send + Sync {
    fn chat<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<Completion, LlmError>>;
    fn info(&self) -> ProviderInfo;

    /// [`Provider::chat`], calling `started` once the provider starts on the call. A provider
    /// with a queue of its own (the embedded model takes every call and gives its slots the
    /// ones that share a cached prefix first) calls it when the call leaves that queue; the
    /// others at once.
    fn chat_started<'a>(
        &'a self,
        request: &'a ChatRequest,
        started: Sent<'a>,
    ) -> BoxFuture<'a, Result<Completion, LlmError>> {
        started();
        self.chat(request)
    }
}

/// Everything that can go wrong with a call, with what is needed to understand it: the HTTP
/// status, the provider's own message, the raw content that failed to parse.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LlmError {
    #[error("HTTP {status} from the endpoint: {message}")]
    Http {
        status: u16,
        /// The provider's message (error.message of an OpenAI-shaped body, else the body text).
        message: String,
        /// error.code or error.type, when the body has one (e.g. "insufficient_quota").
        code: Option<String>,
        retry_after: Option<Duration>,
    },
    #[error("no answer within {0:?} (timeout)")]
    Timeout(Duration),
    #[error("cannot connect to the endpoint: {0}")]
    Connect(String),
    #[error("the connection failed: {0}")]
    Transport(String),
    #[error("the reply is not a chat completion: {message}")]
    BadResponse { message: String, raw: String },
    #[error("the reply is not valid JSON: {message}")]
    InvalidJson { message: String, raw: String },
    #[error("the reply does not match the schema: {}", errors.join("; "))]
    SchemaViolation { errors: Vec<String>, raw: String },
    #[error("the reply was cut off at the token limit ({})", max_tokens.map_or("server default".to_string(), |m| m.to_string()))]
    Truncated {
        max_tokens: Option<u32>,
        raw: String,
    },
    #[error("gave up after {attempts} attempts; last error: {last}")]
    RetriesExhausted { attempts: u32, last: Box<LlmError> },
    #[error("the prompt and reply need {tokens} tokens; the model's context holds {limit}")]
    ContextExceeded { tokens: u32, limit: u32 },
    /// No endpoint is configured where one is needed (`endpoint.base_url`).
    #[error(
        "no endpoint configured (endpoint.base_url in tolk.toml, TOLK_ENDPOINT_BASE_URL, or --endpoint)"
    )]
    NoEndpoint,
    /// No endpoint is configured, and this build of tolk has no embedded model.
    #[error(
        "no endpoint configured (endpoint.base_url in tolk.toml, TOLK_ENDPOINT_BASE_URL, or \
         --endpoint), and this build of tolk has no embedded model (built without the `local` \
         feature)"
    )]
    NoEmbeddedModel,
    /// A structured call was made without a JSON Schema: a bug in its caller.
    #[error("{0} needs a JSON Schema")]
    NoSchema(&'static str),
    /// The HTTP client could not be built from the configuration (a header, the API key).
    #[error("cannot set up the HTTP client: {what}")]
    ClientSetup {
        what: String,
        #[source]
        source: Option<Cause>,
    },
    /// This build of the embedded engine needs CPU features the machine lacks.
    #[error(
        "this build of the embedded model needs CPU features this machine lacks ({}); use an \
         endpoint (--endpoint), or rebuild here: {rebuild}",
        missing.join(", ")
    )]
    CpuFeatures {
        missing: Vec<String>,
        /// How to build for this machine.
        rebuild: &'static str,
    },
    /// The embedded model's file is not there.
    #[error("no model file at {} ({hint})", path.display())]
    NoModelFile {
        path: std::path::PathBuf,
        /// Where the path came from, or how to get the file.
        hint: &'static str,
    },
    /// The embedded model could not be fetched.
    #[error("fetching the embedded model")]
    ModelFetch(#[source] Cause),
    /// The embedded model's worker thread is gone (it panicked, or could not start).
    #[error("the model thread {0}")]
    ModelThread(&'static str),
    /// llama.cpp failed at a step of the embedded model's work.
    #[error("the embedded model, {what}: {source}")]
    Engine {
        what: String,
        #[source]
        source: Cause,
    },
}

/// The cause of an [`LlmError`], kept as its source (shared, so that the error stays `Clone`).
pub type Cause = std::sync::Arc<dyn std::error::Error + Send + Sync>;

impl LlmError {
    /// The HTTP status, when the error came with one.
    pub fn status(&self) -> Option<u16> {
        match self {
            LlmError::Http { status, .. } => Some(*status),
            LlmError::RetriesExhausted { last, .. } => last.status(),
            _ => None,
        }
    }

    /// The raw model output that failed to parse or validate, if any.
    pub fn raw(&self) -> Option<&str> {
        match self {
            LlmError::BadResponse { raw, .. }
            | LlmError::InvalidJson { raw, .. }
            | LlmError::SchemaViolation { raw, .. }
            | LlmError::Truncated { raw, .. } => Some(raw),
            LlmError::RetriesExhausted { last, .. } => last.raw(),
            _ => None,
        }
    }

    /// Does the error say the request's `response_format` is what the server rejects?
    pub fn rejects_response_format(&self) -> bool {
        match self {
            LlmError::Http {
                status, message, ..
            } => {
                *status >= 400
                    && *status != 429
                    && (message.contains("response_format")
                        || message.contains("json_schema")
                        || message.contains("literal_error"))
            }
            LlmError::RetriesExhausted { last, .. } => last.rejects_response_format(),
            _ => false,
        }
    }

    /// Does the error say the prompt is longer than the model's context?
    pub fn context_exceeded(&self) -> bool {
        match self {
            LlmError::Http {
                status,
                message,
                code,
                ..
            } => {
                *status == 400
                    && (code.as_deref() == Some("context_length_exceeded")
                        || message.contains("context_length_exceeded")
                        || message.contains("maximum context length")
                        || message.contains("exceeds the context"))
            }
            LlmError::RetriesExhausted { last, .. } => last.context_exceeded(),
            LlmError::ContextExceeded { .. } => true,
            _ => false,
        }
    }
}

/// Whether to try again: 408, 429 (unless the quota is exhausted), 5xx (unless the body says the
/// request's response_format is what the server rejects: that will never succeed), timeouts,
/// connection errors, and replies that are not chat completions at all. 400/401/403/404 and the
/// rest fail at once.
pub fn retryable(err: &LlmError) -> bool {
    match err {
        LlmError::Http {
            status,
            message,
            code,
            ..
        } => match status {
            429 => {
                let quota =
                    |s: &str| s.contains("insufficient_quota") || s.contains("quota exceeded");
                !(code.as_deref().is_some_and(quota) || quota(message))
            }
            408 | 409 => true,
            s if *s >= 500 => !err.rejects_response_format(),
            _ => false,
        },
        LlmError::Timeout(_) | LlmError::Connect(_) | LlmError::Transport(_) => true,
        LlmError::BadResponse { .. } => true,
        LlmError::InvalidJson { .. }
        | LlmError::SchemaViolation { .. }
        | LlmError::Truncated { .. }
        | LlmError::RetriesExhausted { .. }
        | LlmError::ContextExceeded { .. }
        | LlmError::NoEndpoint
        | LlmError::NoEmbeddedModel
        | LlmError::NoSchema(_)
        | LlmError::ClientSetup { .. }
        | LlmError::CpuFeatures { .. }
        | LlmError::NoModelFile { .. }
        | LlmError::ModelFetch(_)
        | LlmError::ModelThread(_)
        | LlmError::Engine { .. } => false,
    }
}

/// The delay before the next attempt: the server's Retry-After when it sent one (capped at
/// `cap`), else the backoff's own.
pub fn retry_delay(err: &LlmError, backoff: Duration, cap: Duration) -> Duration {
    match err {
        LlmError::Http {
            retry_after: Some(d),
            ..
        } => (*d).min(cap.max(backoff)),
        _ => backoff,
    }
}

/// Parse a Retry-After header: delta-seconds (possibly fractional) or an HTTP date.
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// How structured output is asked of the endpoint.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    Hash,
    clap::ValueEnum,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum StructuredMode {
    /// `response_format: {"type": "json_schema", ...}` (OpenAI, vLLM, Ollama).
    JsonSchema,
    /// `response_format: {"type": "json_object", "schema": ...}` (llama-cpp-python's extension).
    JsonObjectSchema,
    /// `response_format: {"type": "json_object"}`: valid JSON, shape from the prompt.
    JsonObject,
    /// No response_format; the schema is in the prompt.
    Prompt,
}

impl StructuredMode {
    pub fn as_str(self) -> &'static str {
        match self {
            StructuredMode::JsonSchema => "json_schema",
            StructuredMode::JsonObjectSchema => "json_object_schema",
            StructuredMode::JsonObject => "json_object",
            StructuredMode::Prompt => "prompt",
        }
    }
}

/// An API key, held as a `secrecy` secret (zeroed when dropped). Its `Debug` is redacted and it
/// has no `Display` or `Serialize`: the only way to read it is [`ApiKey::expose`], used where
/// the Authorization header is built.
#[derive(Clone)]
pub struct ApiKey(secrecy::SecretString);

impl ApiKey {
    /// The key from the environment variable `var`, if set and non-empty.
    pub fn from_env(var: &str) -> Option<ApiKey> {
        std::env::var(var)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(ApiKey::new)
    }

    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(secrecy::SecretString::from(key.into()))
    }

    pub fn expose(&self) -> &str {
        secrecy::ExposeSecret::expose_secret(&self.0)
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, message: &str, code: Option<&str>) -> LlmError {
        LlmError::Http {
            status,
            message: message.into(),
            code: code.map(Into::into),
            retry_after: None,
        }
    }

    #[test]
    fn what_is_retried() {
        assert!(retryable(&http(429, "slow down", None)));
        assert!(!retryable(&http(
            429,
            "You exceeded your current quota",
            Some("insufficient_quota")
        )));
        assert!(retryable(&http(500, "Internal Server Error", None)));
        assert!(retryable(&http(503, "overloaded", None)));
        assert!(!retryable(&http(
            500,
            "1 validation error: literal_error Input should be 'text' or 'json_object' response_format",
            Some("internal_server_error")
        )));
        for s in [400, 401, 403, 404, 422] {
            assert!(!retryable(&http(s, "no", None)), "{s}");
        }
        assert!(retryable(&LlmError::Timeout(Duration::from_secs(1))));
        assert!(retryable(&LlmError::Transport("reset".into())));
        assert!(!retryable(&LlmError::Truncated {
            max_tokens: None,
            raw: String::new()
        }));
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after("0.5", now),
            Some(Duration::from_millis(500))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("soon", now), None);
        let err = LlmError::Http {
            status: 429,
            message: String::new(),
            code: None,
            retry_after: Some(Duration::from_secs(3)),
        };
        assert_eq!(
            retry_delay(&err, Duration::from_millis(100), Duration::from_secs(30)),
            Duration::from_secs(3)
        );
    }

    #[test]
    fn context_length_is_recognised() {
        assert!(
            http(
                400,
                "This model's maximum context length is 2048 tokens",
                None
            )
            .context_exceeded()
        );
        assert!(http(400, "x", Some("context_length_exceeded")).context_exceeded());
        assert!(!http(401, "x", None).context_exceeded());
    }
}
