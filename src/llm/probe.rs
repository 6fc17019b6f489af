//! Capability probing: which structured-output mode an endpoint honours, and how large its
//! context is, found once per endpoint and model and remembered in the cache folder
//! (`OUT/cache/capabilities/<hash>.json`), so that later runs ask nothing (and work offline from
//! the cache).
//!
//! The modes are tried best first: `json_schema`, `json_object` with a `schema` field
//! (llama-cpp-python), plain `json_object`, then the schema in the prompt. A mode works when a
//! small request comes back valid for a schema the model would not satisfy by chance: a server
//! that accepts `json_schema` without enforcing it (llama.cpp's server has been seen to) fails
//! the check and the next mode is tried. A reply that names `response_format` as what the server
//! rejects is not retried. When no mode passes, `prompt` is used: client-side validation and
//! repair stay on in every mode.

use super::StructuredMode;
use super::openai::{OpenAiProvider, OpenAiSettings};
use super::{ChatRequest, Client, ClientOptions, LlmError, Message, SchemaSpec, structured};
use crate::store::{Durability, read_json, write_json_with};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The order modes are tried in.
pub const ORDER: [StructuredMode; 4] = [
    StructuredMode::JsonSchema,
    StructuredMode::JsonObjectSchema,
    StructuredMode::JsonObject,
    StructuredMode::Prompt,
];

/// How one mode fared.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Trial {
    pub mode: StructuredMode,
    pub ok: bool,
    /// "ok", "rejected: ...", "not enforced: ...", "failed: ...".
    pub outcome: String,
}

/// What tolk knows about an endpoint and model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Capabilities {
    pub endpoint: String,
    pub model: String,
    /// The best mode that worked; None when the mode was set in the configuration and not probed.
    pub mode: Option<StructuredMode>,
    pub trials: Vec<Trial>,
    /// The context size the server reports (vLLM /models, llama.cpp /props), if any.
    pub context_tokens: Option<u32>,
    pub probed_at: String,
    pub tolk_version: String,
}

/// Where the capabilities of `endpoint` + `model` are remembered.
pub fn path(out: &Path, endpoint: &str, model: &str) -> PathBuf {
    let digest = crate::ingest::sha256_hex(format!("{endpoint}\n{model}").as_bytes());
    out.join("cache")
        .join("capabilities")
        .join(format!("{}.json", &digest[..24]))
}

/// The remembered capabilities, if any (a damaged file counts as none).
pub fn load(out: &Path, endpoint: &str, model: &str) -> Option<Capabilities> {
    let p = path(out, endpoint, model);
    if !p.is_file() {
        return None;
    }
    read_json::<Capabilities>(&p)
        .ok()
        .filter(|c| c.endpoint == endpoint && c.model == model)
}

pub fn save(out: &Path, caps: &Capabilities) -> Result<(), crate::store::StoreError> {
    write_json_with(
        &path(out, &caps.endpoint, &caps.model),
        caps,
        Durability::Synced,
    )
}

/// The probe request: a schema no model satisfies without being told it.
pub fn probe_request() -> ChatRequest {
    ChatRequest {
        messages: vec![
            Message::system("You answer with one JSON object and nothing else."),
            Message::user("Reply with a JSON object."),
        ],
        schema: Some(SchemaSpec {
            name: "tolk_probe".into(),
            schema: json!({
                "type": "object",
                // Only what every schema-to-grammar converter supports (llama-cpp-python's
                // ignores minimum and maximum, for one).
                "properties": {
                    "status": {"type": "string", "enum": ["tolk-ready"]},
                    "code": {"type": "string", "enum": ["x7"]}
                },
                "required": ["status", "code"],
                "additionalProperties": false
            }),
        }),
        max_tokens: Some(48),
        temperature: Some(0.0),
        seed: None,
        plain: false,
    }
}

/// Errors that no other mode can fix: the endpoint is not there, refuses the key, or has no
/// such model or route.
fn fatal(e: &LlmError) -> bool {
    match e {
        LlmError::Connect(_) | LlmError::Timeout(_) => true,
        LlmError::RetriesExhausted { last, .. } => fatal(last) || !last.rejects_response_format(),
        LlmError::Http { status, .. } => {
            matches!(status, 401 | 403 | 404 | 429) && !e.rejects_response_format()
        }
        _ => false,
    }
}

/// Try one mode: Ok(outcome) says how it fared; Err is fatal for the whole probe.
pub async fn try_mode(
    settings: &OpenAiSettings,
    options: &ClientOptions,
    mode: StructuredMode,
) -> Result<Trial, LlmError> {
    let provider = OpenAiProvider::new(OpenAiSettings {
        mode,
        ..settings.clone()
    })?;
    let client = Client::new(Arc::new(provider), options.clone());
    let request = probe_request();
    let schema = request.schema.as_ref().map(|s| s.schema.clone());
    let trial = |ok: bool, outcome: String| Trial {
        mode,
        ok,
        outcome: first_line(&outcome, 240),
    };
    match client.chat(&request).await {
        Ok(c) => match structured::parse_and_validate(&c.content, &schema.unwrap_or_default()) {
            Ok(_) => Ok(trial(true, "ok".into())),
            Err(e) => Ok(trial(false, format!("not enforced: {e}"))),
        },
        Err(e) if e.rejects_response_format() => Ok(trial(false, format!("rejected: {e}"))),
        Err(e) if fatal(&e) => Err(e),
        Err(e) => Ok(trial(false, format!("failed: {e}"))),
    }
}

/// The first line of `s` (server errors can carry a Python traceback), with the next one when
/// the first only announces it ("1 validation error:"), at most `n` bytes.
fn first_line(s: &str, n: usize) -> String {
    let mut lines = s.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut out = lines.next().unwrap_or("").to_string();
    if out.ends_with(':')
        && let Some(next) = lines.next()
    {
        out = format!("{out} {next}");
    }
    if out.len() > n {
        let mut end = n;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out = format!("{}…", &out[..end]);
    }
    out
}

/// Probe `settings`' endpoint: the best mode (unless `fixed` says which), and the context size.
pub async fn probe(
    settings: &OpenAiSettings,
    options: &ClientOptions,
    fixed: Option<StructuredMode>,
) -> Result<Capabilities, LlmError> {
    let provider = OpenAiProvider::new(settings.clone())?;
    // Not there at all: say so at once rather than after the retries of a chat call.
    if let Err(e @ (LlmError::Connect(_) | LlmError::Timeout(_))) = provider.models().await {
        return Err(e);
    }
    let context_tokens = provider.context_size().await;
    let mut trials = Vec::new();
    let mut mode = None;
    if fixed.is_none() {
        for m in ORDER {
            let t = try_mode(settings, options, m).await?;
            tracing::debug!(mode = m.as_str(), outcome = %t.outcome, "probe");
            let ok = t.ok;
            trials.push(t);
            if ok {
                mode = Some(m);
                break;
            }
        }
        // Nothing passed: the schema goes in the prompt and every reply is validated anyway.
        mode = Some(mode.unwrap_or(StructuredMode::Prompt));
    }
    Ok(Capabilities {
        endpoint: settings.base_url.clone(),
        model: settings.model.clone(),
        mode,
        trials,
        context_tokens,
        probed_at: crate::store::now_rfc3339(),
        tolk_version: env!("CARGO_PKG_VERSION").to_string(),
    })
}

/// The chunk budget that fits a context of `context` tokens: the instructions (about 1,000
/// tokens), the chunk, and its translation as JSON (about 1.4 times the chunk).
pub fn chunk_budget_for_context(context: u32) -> usize {
    ((context.saturating_sub(1000) as usize) * 5 / 12).max(128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_schema_is_not_satisfied_by_chance() {
        let r = probe_request();
        let schema = &r.schema.unwrap().schema;
        assert!(structured::validate(schema, &json!({})).is_err());
        assert!(structured::validate(schema, &json!({"status": "ok", "code": "x7"})).is_err());
        assert!(
            structured::validate(schema, &json!({"status": "tolk-ready", "code": "x7"})).is_ok()
        );
        // The instructions do not give the answer away: only the schema does.
        assert!(r.messages.iter().all(|m| !m.content.contains("tolk-ready")));
    }

    #[test]
    fn a_traceback_is_cut_to_the_line_that_says_what_is_wrong() {
        let msg = "HTTP 500 from the endpoint: 1 validation error:\n  {'type': 'literal_error', 'msg': \"Input should be 'text' or 'json_object'\"}\n\n  File \"app.py\", line 376";
        let line = first_line(msg, 240);
        assert!(
            line.contains("literal_error") && !line.contains("app.py"),
            "{line}"
        );
        assert_eq!(first_line("short", 240), "short");
        assert!(first_line(&"x".repeat(300), 10).ends_with('…'));
    }

    #[test]
    fn budgets_fit_the_context() {
        assert_eq!(chunk_budget_for_context(4096), 1290);
        assert_eq!(chunk_budget_for_context(2048), 436);
        assert_eq!(chunk_budget_for_context(512), 128);
    }

    #[test]
    fn what_ends_a_probe() {
        let http = |status, message: &str| LlmError::Http {
            status,
            message: message.into(),
            code: None,
            retry_after: None,
        };
        assert!(fatal(&LlmError::Connect("refused".into())));
        assert!(fatal(&http(401, "bad key")));
        assert!(!fatal(&http(
            400,
            "response_format json_schema is not supported"
        )));
        assert!(!fatal(&http(422, "unprocessable")));
        assert!(!fatal(&http(
            500,
            "Input should be 'text' or 'json_object' [type=literal_error]"
        )));
    }
}
