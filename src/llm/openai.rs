//! The OpenAI-compatible provider: one POST to `{base_url}/chat/completions` per call.
//!
//! Replies are read as loose JSON, not through a typed client, because real servers send what
//! strict enums reject: `finish_reason: "eos"`, no `usage`, extra fields, and error bodies that are
//! plain text ("Internal Server Error") or not OpenAI-shaped.

use super::{ApiKey, StructuredMode};
use super::{BoxFuture, Cause, ChatRequest, Completion, LlmError, Provider, ProviderInfo, Usage};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// How to reach one endpoint. Built from the `[endpoint]` config by the caller; holds only what
/// the HTTP layer needs.
#[derive(Debug, Clone)]
pub struct OpenAiSettings {
    pub base_url: String,
    pub model: String,
    pub api_key: Option<ApiKey>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub mode: StructuredMode,
    pub extra_headers: BTreeMap<String, String>,
    pub extra_body: Option<Value>,
}

/// An OpenAI-compatible chat-completions endpoint.
pub struct OpenAiProvider {
    http: reqwest::Client,
    settings: OpenAiSettings,
    url: String,
}

impl OpenAiProvider {
    pub fn new(settings: OpenAiSettings) -> Result<OpenAiProvider, LlmError> {
        let mut headers = HeaderMap::new();
        for (k, v) in &settings.extra_headers {
            let setup = |e: Cause| LlmError::ClientSetup {
                what: format!("extra header {k:?}"),
                source: Some(e),
            };
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(|e| setup(Arc::new(e)))?;
            let value = HeaderValue::from_str(v).map_err(|e| setup(Arc::new(e)))?;
            headers.insert(name, value);
        }
        if let Some(key) = &settings.api_key {
            let mut value =
                // The header error is not kept as a source: nothing of the key may reach a message.
                HeaderValue::from_str(&format!("Bearer {}", key.expose())).map_err(|_| {
                    LlmError::ClientSetup {
                        what: "the API key holds characters not allowed in a header".into(),
                        source: None,
                    }
                })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            .user_agent(concat!("tolk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| LlmError::ClientSetup {
                what: "building it".into(),
                source: Some(Arc::new(e)),
            })?;
        let url = format!(
            "{}/chat/completions",
            settings.base_url.trim_end_matches('/')
        );
        Ok(OpenAiProvider {
            http,
            settings,
            url,
        })
    }

    pub fn settings(&self) -> &OpenAiSettings {
        &self.settings
    }

    /// The request body for `request` in this provider's structured-output mode.
    pub fn body(&self, request: &ChatRequest) -> Value {
        body_for(
            &self.settings.model,
            self.settings.mode,
            self.settings.extra_body.as_ref(),
            request,
        )
    }

    /// Send a request and read the whole answer.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(reqwest::StatusCode, HeaderMap, String), LlmError> {
        let resp = request
            .send()
            .await
            .map_err(|e| map_reqwest(e, self.settings.timeout))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp
            .text()
            .await
            .map_err(|e| map_reqwest(e, self.settings.timeout))?;
        Ok((status, headers, text))
    }

    /// GET `{base_url}/models`: the ids the endpoint serves, and its raw answer.
    pub async fn models(&self) -> Result<(Vec<String>, Value), LlmError> {
        let url = format!("{}/models", self.settings.base_url.trim_end_matches('/'));
        let (status, headers, text) = self.send(self.http.get(&url)).await?;
        if !status.is_success() {
            return Err(http_error(status.as_u16(), &headers, &text));
        }
        let v: Value = serde_json::from_str(&text).map_err(|e| LlmError::BadResponse {
            message: e.to_string(),
            raw: text.clone(),
        })?;
        let ids = v["data"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m["id"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        Ok((ids, v))
    }
}

impl OpenAiProvider {
    /// The context size the server reports, if it does: vLLM's `max_model_len` in /models (for
    /// this model, or the only one served), else llama.cpp's `n_ctx` in /props.
    pub async fn context_size(&self) -> Option<u32> {
        if let Ok((_, raw)) = self.models().await {
            let data = raw["data"].as_array().cloned().unwrap_or_default();
            let entry = data
                .iter()
                .find(|m| m["id"].as_str() == Some(self.settings.model.as_str()))
                .or_else(|| (data.len() == 1).then(|| &data[0]));
            if let Some(n) = entry.and_then(|m| m["max_model_len"].as_u64()) {
                return u32::try_from(n).ok();
            }
        }
        let root = self.settings.base_url.trim_end_matches('/');
        let root = root.strip_suffix("/v1").unwrap_or(root);
        let (status, _, text) = self
            .send(self.http.get(format!("{root}/props")))
            .await
            .ok()?;
        if !status.is_success() {
            return None;
        }
        let v: Value = serde_json::from_str(&text).ok()?;
        v["default_generation_settings"]["n_ctx"]
            .as_u64()
            .or_else(|| v["n_ctx"].as_u64())
            .and_then(|n| u32::try_from(n).ok())
    }
}

/// Build the chat-completions body. In `json_object` and `prompt` modes the schema also goes into
/// the system message, since the server will not see it otherwise.
pub fn body_for(
    model: &str,
    mode: StructuredMode,
    extra: Option<&Value>,
    request: &ChatRequest,
) -> Value {
    let mut messages: Vec<Value> = request
        .messages
        .iter()
        .map(|m| json!({"role": m.role, "content": m.content}))
        .collect();
    let mut body = json!({"model": model, "messages": []});
    if let Some(spec) = request.schema.as_ref().filter(|_| !request.plain) {
        match mode {
            StructuredMode::JsonSchema => {
                body["response_format"] = json!({
                    "type": "json_schema",
                    "json_schema": {"name": spec.name, "strict": true, "schema": spec.schema}
                });
            }
            StructuredMode::JsonObjectSchema => {
                body["response_format"] = json!({"type": "json_object", "schema": spec.schema});
            }
            StructuredMode::JsonObject | StructuredMode::Prompt => {
                if mode == StructuredMode::JsonObject {
                    body["response_format"] = json!({"type": "json_object"});
                }
                let instruction = super::structured::schema_instruction(&spec.schema);
                match messages.first_mut() {
                    Some(first) if first["role"] == "system" => {
                        let content = format!(
                            "{}\n\n{instruction}",
                            first["content"].as_str().unwrap_or("")
                        );
                        first["content"] = Value::String(content);
                    }
                    _ => messages.insert(0, json!({"role": "system", "content": instruction})),
                }
            }
        }
    }
    body["messages"] = Value::Array(messages);
    if let Some(t) = request.temperature {
        body["temperature"] = json!(t);
    }
    if let Some(s) = request.seed {
        body["seed"] = json!(s);
    }
    if let Some(m) = request.max_tokens {
        // max_tokens, not max_completion_tokens: llama.cpp's Python server ignores the latter.
        body["max_tokens"] = json!(m);
    }
    if let (Some(Value::Object(extra)), Value::Object(obj)) = (extra, &mut body) {
        for (k, v) in extra {
            obj.insert(k.clone(), v.clone());
        }
    }
    body
}

impl Provider for OpenAiProvider {
    fn chat<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<Completion, LlmError>> {
        Box::pin(async move {
            let body = self.body(request);
            let started = Instant::now();
            let (status, headers, text) = self.send(self.http.post(&self.url).json(&body)).await?;
            let latency = started.elapsed();
            tracing::debug!(
                status = status.as_u16(),
                latency_ms = latency.as_millis() as u64,
                "chat completion"
            );
            if !status.is_success() {
                return Err(http_error(status.as_u16(), &headers, &text));
            }
            parse_completion(&text, latency)
        })
    }

    fn info(&self) -> ProviderInfo {
        ProviderInfo {
            kind: "openai-compatible".into(),
            endpoint: self.settings.base_url.clone(),
            model: self.settings.model.clone(),
        }
    }
}

fn map_reqwest(e: reqwest::Error, timeout: Duration) -> LlmError {
    // reqwest's messages name the URL (base URL only: the key is in a header, never in the URL).
    let msg = error_chain(&e);
    if e.is_timeout() {
        LlmError::Timeout(timeout)
    } else if e.is_connect() {
        LlmError::Connect(msg)
    } else {
        LlmError::Transport(msg)
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// A non-2xx answer as a typed error, with the provider's own message.
pub fn http_error(status: u16, headers: &HeaderMap, body: &str) -> LlmError {
    let retry_after = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|ms| Duration::from_secs_f64(ms.max(0.0) / 1000.0))
        .or_else(|| {
            headers
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| super::parse_retry_after(v, SystemTime::now()))
        });
    let (message, code) = match serde_json::from_str::<Value>(body) {
        Ok(v) => {
            let err = if v["error"].is_object() {
                &v["error"]
            } else {
                &v
            };
            let message = err["message"]
                .as_str()
                .map(String::from)
                .or_else(|| v["error"].as_str().map(String::from))
                .or_else(|| v["detail"].as_str().map(String::from))
                .unwrap_or_else(|| body.to_string());
            let code = err["code"]
                .as_str()
                .or_else(|| err["type"].as_str())
                .map(String::from);
            (message, code)
        }
        Err(_) => (body.trim().to_string(), None),
    };
    let message = if message.is_empty() {
        format!(
            "(empty body) {}",
            reqwest::StatusCode::from_u16(status)
                .map(|s| s.to_string())
                .unwrap_or_default()
        )
    } else {
        truncate(&message, 2000)
    };
    LlmError::Http {
        status,
        message,
        code,
        retry_after,
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Read a 2xx body as a chat completion, tolerantly.
pub fn parse_completion(text: &str, latency: Duration) -> Result<Completion, LlmError> {
    let v: Value = serde_json::from_str(text).map_err(|e| LlmError::BadResponse {
        message: format!("not JSON: {e}"),
        raw: truncate(text, 4000),
    })?;
    let choice = &v["choices"][0];
    if choice.is_null() {
        return Err(LlmError::BadResponse {
            message: "no choices in the reply".into(),
            raw: truncate(text, 4000),
        });
    }
    let message = &choice["message"];
    let content = match &message["content"] {
        Value::String(s) => s.clone(),
        // Content as an array of parts (some servers).
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        _ => {
            if let Some(refusal) = message["refusal"].as_str() {
                return Err(LlmError::BadResponse {
                    message: format!("the model refused: {refusal}"),
                    raw: truncate(text, 4000),
                });
            }
            choice["text"]
                .as_str()
                .map(String::from)
                .ok_or_else(|| LlmError::BadResponse {
                    message: "the reply has no message content".into(),
                    raw: truncate(text, 4000),
                })?
        }
    };
    let usage = v["usage"].as_object().map(|u| Usage {
        prompt_tokens: u.get("prompt_tokens").and_then(Value::as_u64).unwrap_or(0),
        completion_tokens: u
            .get("completion_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0),
    });
    Ok(Completion {
        content,
        finish_reason: choice["finish_reason"].as_str().map(String::from),
        usage,
        model: v["model"].as_str().map(String::from),
        system_fingerprint: v["system_fingerprint"].as_str().map(String::from),
        latency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{Message, SchemaSpec};

    #[test]
    fn tolerant_parsing() {
        let c = parse_completion(
            r#"{"choices":[{"message":{"content":"hi"},"finish_reason":"eos","extra":1}],"model":"m"}"#,
            Duration::ZERO,
        )
        .unwrap();
        assert_eq!(c.content, "hi");
        assert_eq!(c.finish_reason.as_deref(), Some("eos"));
        assert_eq!(c.usage, None);
        assert!(matches!(
            parse_completion("Internal Server Error", Duration::ZERO),
            Err(LlmError::BadResponse { .. })
        ));
    }

    #[test]
    fn error_bodies_of_every_shape() {
        let h = HeaderMap::new();
        let e = http_error(
            401,
            &h,
            r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"#,
        );
        assert!(
            matches!(&e, LlmError::Http { status: 401, message, code: Some(c), .. } if message == "Incorrect API key provided" && c == "invalid_api_key")
        );
        let e = http_error(500, &h, "Internal Server Error");
        assert!(
            matches!(&e, LlmError::Http { status: 500, message, code: None, .. } if message == "Internal Server Error")
        );
        let e = http_error(422, &h, r#"{"detail":"bad"}"#);
        assert!(matches!(&e, LlmError::Http { message, .. } if message == "bad"));
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        let e = http_error(429, &h, "");
        assert!(
            matches!(e, LlmError::Http { retry_after: Some(d), .. } if d == Duration::from_secs(2))
        );
    }

    #[test]
    fn body_per_mode() {
        let req = ChatRequest {
            messages: vec![Message::system("sys"), Message::user("u")],
            schema: Some(SchemaSpec {
                name: "t".into(),
                schema: json!({"type": "object"}),
            }),
            max_tokens: Some(100),
            temperature: Some(0.0),
            seed: None,
            plain: false,
        };
        let extra = json!({"top_k": 5});
        let b = body_for("m", StructuredMode::JsonSchema, Some(&extra), &req);
        assert_eq!(b["response_format"]["type"], "json_schema");
        assert_eq!(b["response_format"]["json_schema"]["strict"], true);
        assert_eq!(b["max_tokens"], 100);
        assert_eq!(b["top_k"], 5);
        let b = body_for("m", StructuredMode::JsonObjectSchema, None, &req);
        assert_eq!(
            b["response_format"],
            json!({"type": "json_object", "schema": {"type": "object"}})
        );
        let b = body_for("m", StructuredMode::Prompt, None, &req);
        assert!(b.get("response_format").is_none());
        assert!(
            b["messages"][0]["content"]
                .as_str()
                .unwrap()
                .contains("JSON Schema")
        );
    }
}
