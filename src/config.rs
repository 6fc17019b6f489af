//! Configuration: defaults < `tolk.toml` < `TOLK_*` environment < command-line flags, merged and
//! validated once into a [`Config`].
//!
//! Every field `key` of section `[section]` can also be set as `TOLK_SECTION_KEY` in the
//! environment (`TOLK_ENDPOINT_BASE_URL`, `TOLK_CHUNK_MAX_TOKENS`, ...). A wrong key or value is
//! an error that names the key and where it came from (the file, or the variable).
//!
//! The API key itself is never part of the configuration: the config names the environment
//! variable that holds it ([`EndpointConfig::api_key_env`]), and [`ApiKey`] keeps it out of every
//! `Debug`, log line and error.

use crate::chunk::{ChunkConfig, TokenEncoding};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A configuration problem. Fatal: `tolk` exits with code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("{origin}: `{key}` {message}")]
    Invalid {
        origin: String,
        key: String,
        message: String,
    },
}

/// How structured output is asked of the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, clap::ValueEnum)]
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

/// How a letter is translated (`translate.mode`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, clap::ValueEnum, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum TranslateMode {
    /// One call per chunk; the reply maps every segment id to its English (capable endpoints).
    Chunk,
    /// One call per paragraph with words, answered in plain text (small models, which copy the
    /// Dutch or shift it by a paragraph when asked for a map of ids).
    Segment,
    /// Segment for the embedded model, chunk for an endpoint.
    #[default]
    Auto,
}

impl TranslateMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TranslateMode::Chunk => "chunk",
            TranslateMode::Segment => "segment",
            TranslateMode::Auto => "auto",
        }
    }

    /// The mode a run uses: `auto` resolved for the embedded model (`local`) or an endpoint.
    pub fn resolve(self, local: bool) -> TranslateMode {
        match self {
            TranslateMode::Auto if local => TranslateMode::Segment,
            TranslateMode::Auto => TranslateMode::Chunk,
            m => m,
        }
    }
}

/// `[translate]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct TranslateSection {
    pub mode: TranslateMode,
}

/// How summary and stance put their questions (`analysis.mode`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, clap::ValueEnum, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum AnalysisMode {
    /// One stance call per letter (or chunk) answering every topic in one object, and the
    /// summary's instructions before the letter (capable endpoints).
    Combined,
    /// The letter first and one question after it, the same letter text for every question so a
    /// model's KV cache reads it once; one call per stance topic (small models, which give every
    /// topic of a combined answer the same stance and rationale).
    #[value(name = "per_question")]
    PerQuestion,
    /// Per question for the embedded model, combined for an endpoint.
    #[default]
    Auto,
}

impl AnalysisMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AnalysisMode::Combined => "combined",
            AnalysisMode::PerQuestion => "per_question",
            AnalysisMode::Auto => "auto",
        }
    }

    /// The mode a run uses: `auto` resolved for the embedded model (`local`) or an endpoint.
    pub fn resolve(self, local: bool) -> AnalysisMode {
        match self {
            AnalysisMode::Auto if local => AnalysisMode::PerQuestion,
            AnalysisMode::Auto => AnalysisMode::Combined,
            m => m,
        }
    }
}

/// `[analysis]`: summary and stance.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct AnalysisSection {
    pub mode: AnalysisMode,
}

/// `[endpoint]`: an OpenAI-compatible server.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct EndpointConfig {
    /// e.g. `https://api.openai.com/v1`, `http://127.0.0.1:8000/v1`. None: the embedded model.
    pub base_url: Option<String>,
    pub model: Option<String>,
    /// Name of the environment variable holding the API key. Unset variable: no Authorization.
    pub api_key_env: String,
    /// Seconds to wait for a reply. Unset: 120, or 600 for a loopback endpoint (a local server
    /// on 2 cores can take half a minute before the first token of a long prompt).
    pub timeout_s: Option<f64>,
    pub connect_timeout_s: f64,
    pub concurrency: usize,
    pub max_retries: u32,
    /// First retry delay; doubles each attempt (with jitter), capped by `retry_max_ms`.
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    pub rpm: Option<u32>,
    pub tpm: Option<u32>,
    pub temperature: f64,
    pub seed: Option<u64>,
    pub max_tokens: Option<u32>,
    /// On truncation (finish_reason "length"), retry once with this many max tokens.
    pub max_tokens_retry: Option<u32>,
    pub structured_output: Option<StructuredMode>,
    pub extra_headers: BTreeMap<String, String>,
    /// JSON object merged into every request body (e.g. vLLM sampling options).
    pub extra_body: Option<serde_json::Value>,
    /// USD per million prompt tokens, for cost estimates.
    pub price_input_per_mtok: Option<f64>,
    pub price_output_per_mtok: Option<f64>,
    /// Context window in tokens, when known; caps the chunk budget.
    pub context_tokens: Option<u32>,
}

/// The reply timeout when none is configured.
pub const REMOTE_TIMEOUT_S: f64 = 120.0;
/// ... and for an endpoint on this machine.
pub const LOOPBACK_TIMEOUT_S: f64 = 600.0;

impl EndpointConfig {
    /// Is the endpoint on this machine (127.0.0.0/8, ::1, localhost)?
    pub fn is_loopback(&self) -> bool {
        self.base_url.as_deref().is_some_and(is_loopback_url)
    }

    /// The reply timeout: as configured, else generous for loopback servers.
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.timeout_s.unwrap_or(if self.is_loopback() {
            LOOPBACK_TIMEOUT_S
        } else {
            REMOTE_TIMEOUT_S
        }))
    }
}

/// Does `url` point at this machine?
pub fn is_loopback_url(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            base_url: None,
            model: None,
            api_key_env: "OPENAI_API_KEY".into(),
            timeout_s: None,
            connect_timeout_s: 10.0,
            concurrency: 8,
            max_retries: 6,
            retry_base_ms: 500,
            retry_max_ms: 30_000,
            rpm: None,
            tpm: None,
            temperature: 0.0,
            seed: None,
            max_tokens: None,
            max_tokens_retry: None,
            structured_output: None,
            extra_headers: BTreeMap::new(),
            extra_body: None,
            price_input_per_mtok: None,
            price_output_per_mtok: None,
            context_tokens: None,
        }
    }
}

/// `[chunk]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ChunkSection {
    pub max_tokens: usize,
    pub encoding: TokenEncoding,
}

impl Default for ChunkSection {
    fn default() -> Self {
        let d = ChunkConfig::default();
        ChunkSection {
            max_tokens: d.max_tokens,
            encoding: d.encoding,
        }
    }
}

/// `[run]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RunSection {
    pub input: PathBuf,
    pub out: PathBuf,
    pub tasks: Vec<String>,
    /// A folder whose prompt files override the built-in ones, file by file. Unset: `prompts/`
    /// in the working directory when there is one, else the built-in prompts alone.
    pub prompts: Option<PathBuf>,
}

impl Default for RunSection {
    fn default() -> Self {
        RunSection {
            input: "input".into(),
            out: "output".into(),
            tasks: vec!["translate".into(), "summary".into(), "stance".into()],
            prompts: None,
        }
    }
}

impl RunSection {
    /// The folder of prompt overrides: `run.prompts` when set (it must then exist), else
    /// `./prompts` when it is a folder, else none.
    pub fn prompts_dir(&self) -> Option<PathBuf> {
        self.prompts.clone().or_else(|| {
            let p = PathBuf::from("prompts");
            p.is_dir().then_some(p)
        })
    }
}

/// `[local]`: the embedded model, used when no endpoint is configured.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LocalSection {
    /// A model of tolk's catalogue (`tolk model list`), fetched when first needed. Unset: the
    /// default one.
    pub model: Option<String>,
    /// Any GGUF file; wins over `model`.
    pub model_path: Option<PathBuf>,
    /// Context size in tokens.
    pub n_ctx: u32,
    /// CPU threads (default: all cores).
    pub threads: Option<i32>,
    /// max_tokens for each call.
    pub max_tokens: u32,
    /// llama.cpp's flash attention. Off: on two cores it made the whole main job slower and
    /// scored no better (docs/decisions/2026-12-04-flash-attention-off.md).
    pub flash_attention: bool,
    /// Calls decoded together, each in its own sequence of one context of `n_ctx` tokens per
    /// slot. 4: where aggregate generation stops growing for the 1.5B model on two cores
    /// (docs/decisions/2026-12-03-four-slots.md).
    pub slots: u32,
    /// One KV cache for all slots (llama.cpp's unified cache) instead of one per slot. Off: in
    /// a unified cache every token attends over all the slots' cells, so reading a long letter
    /// while other parts are held costs more (docs/decisions/2026-12-04-kv-cache-per-slot.md).
    pub unified_cache: bool,
    /// Decode the text a JSON Schema grammar forces (the keys, colons, commas and closing
    /// brackets of the reply; the rest of a quoted sentence, once its first words tell it apart
    /// from the others) many tokens in one step, as a prompt is decoded, instead of one step per
    /// token. Off: every token is a step.
    pub jump_forward: bool,
}

impl Default for LocalSection {
    fn default() -> Self {
        LocalSection {
            model: None,
            model_path: None,
            n_ctx: 8192,
            threads: None,
            max_tokens: 2048,
            flash_attention: false,
            slots: 4,
            unified_cache: false,
            jump_forward: true,
        }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub endpoint: EndpointConfig,
    pub chunk: ChunkSection,
    pub run: RunSection,
    pub translate: TranslateSection,
    pub analysis: AnalysisSection,
    pub local: LocalSection,
    pub eval: EvalSection,
}

/// `[eval]`: what `tolk eval` and the diff page measure runs against.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct EvalSection {
    /// Gold stance labels (default: `eval/stance_gold.json` when there is one).
    pub gold: Option<PathBuf>,
    /// A folder of reference translations (default: `eval/reference/` when there is one).
    pub reference: Option<PathBuf>,
}

impl EvalSection {
    pub fn gold_file(&self) -> Option<PathBuf> {
        self.gold.clone().or_else(|| {
            let p = PathBuf::from("eval/stance_gold.json");
            p.is_file().then_some(p)
        })
    }

    pub fn reference_dir(&self) -> Option<PathBuf> {
        self.reference.clone().or_else(|| {
            let p = PathBuf::from("eval/reference");
            p.is_dir().then_some(p)
        })
    }
}

impl LocalSection {
    /// The catalogued model `local.model` names, else the default. (Validated on load.)
    pub fn catalogued(&self) -> &'static crate::model_store::Catalogued {
        self.model
            .as_deref()
            .and_then(crate::model_store::find)
            .unwrap_or(&crate::model_store::DEFAULT)
    }
}

impl Config {
    pub fn chunk_config(&self) -> ChunkConfig {
        ChunkConfig {
            max_tokens: self.chunk.max_tokens,
            encoding: self.chunk.encoding,
        }
    }
}

/// A value set on the command line, as `section.key`.
#[derive(Debug, Clone)]
pub struct Override {
    pub section: &'static str,
    pub key: &'static str,
    pub value: toml::Value,
}

impl Override {
    pub fn new(section: &'static str, key: &'static str, value: impl Into<toml::Value>) -> Self {
        Override {
            section,
            key,
            value: value.into(),
        }
    }
}

/// Where the config file is: an explicit path, else `tolk.toml` in the working directory if any.
pub fn default_path(explicit: Option<&Path>) -> Option<PathBuf> {
    match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => {
            let p = PathBuf::from("tolk.toml");
            p.exists().then_some(p)
        }
    }
}

/// Load and validate: defaults < file < environment < flags.
pub fn load(
    file: Option<&Path>,
    env: &BTreeMap<String, String>,
    flags: &[Override],
) -> Result<Config, ConfigError> {
    let mut table = toml::Table::new();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        // Parse the file on its own first, so that a mistake is reported against the file.
        let parsed: Config = toml::from_str(&text).map_err(|e| ConfigError::File {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        validate(&parsed, &path.display().to_string())?;
        table = toml::from_str(&text).map_err(|e| ConfigError::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    }

    let known = known_keys();
    for (var, raw) in env {
        let Some(rest) = var.strip_prefix("TOLK_") else {
            continue;
        };
        let Some((section, key)) = known
            .iter()
            .find(|(s, k)| rest.eq_ignore_ascii_case(&format!("{s}_{k}")))
        else {
            let lower = rest.to_ascii_lowercase();
            if [
                "endpoint_",
                "chunk_",
                "run_",
                "translate_",
                "analysis_",
                "local_",
                "eval_",
            ]
            .iter()
            .any(|p| lower.starts_with(p))
            {
                return Err(ConfigError::Env {
                    var: var.clone(),
                    message: "no such setting".into(),
                });
            }
            continue;
        };
        let value = parse_env_value(raw);
        set(&mut table, section, key, value);
        let merged: Config =
            table
                .clone()
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Env {
                    var: var.clone(),
                    message: e.message().to_string(),
                })?;
        validate(&merged, &format!("environment variable {var}"))?;
    }
    for o in flags {
        set(&mut table, o.section, o.key, o.value.clone());
    }
    let config: Config = table
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::Invalid {
            origin: "command line".into(),
            key: String::new(),
            message: e.message().to_string(),
        })?;
    validate(&config, "command line")?;
    Ok(config)
}

/// Every `(section, key)` pair a user may set.
fn known_keys() -> Vec<(String, String)> {
    let value = serde_json::to_value(Config::default()).expect("config serialises");
    let mut keys = Vec::new();
    if let serde_json::Value::Object(sections) = value {
        for (section, fields) in sections {
            if let serde_json::Value::Object(fields) = fields {
                for key in fields.keys() {
                    keys.push((section.clone(), key.clone()));
                }
            }
        }
    }
    keys
}

/// An environment value is read as a TOML value when it is one (`8`, `0.5`, `true`,
/// `["a", "b"]`, `{ x = 1 }`), else as a plain string.
fn parse_env_value(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.into())),
        Err(_) => toml::Value::String(raw.into()),
    }
}

fn set(table: &mut toml::Table, section: &str, key: &str, value: toml::Value) {
    let entry = table
        .entry(section.to_string())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let toml::Value::Table(t) = entry {
        t.insert(key.to_string(), value);
    }
}

fn invalid(origin: &str, key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        origin: origin.into(),
        key: key.into(),
        message: message.into(),
    }
}

fn validate(c: &Config, origin: &str) -> Result<(), ConfigError> {
    if let Some(name) = &c.local.model
        && crate::model_store::find(name).is_none()
    {
        return Err(invalid(
            origin,
            "local.model",
            format!(
                "{name:?} is not a model tolk can fetch ({}; tolk model list); a GGUF file goes in local.model_path",
                crate::model_store::names()
            ),
        ));
    }
    let e = &c.endpoint;
    if let Some(url) = &e.base_url {
        let parsed = reqwest::Url::parse(url)
            .map_err(|err| invalid(origin, "endpoint.base_url", format!("is not a URL: {err}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(invalid(
                origin,
                "endpoint.base_url",
                "must start with http:// or https://",
            ));
        }
    }
    if e.concurrency == 0 {
        return Err(invalid(
            origin,
            "endpoint.concurrency",
            "must be at least 1",
        ));
    }
    if !(0.0..=2.0).contains(&e.temperature) {
        return Err(invalid(
            origin,
            "endpoint.temperature",
            "must be between 0 and 2",
        ));
    }
    if e.timeout_s.is_some_and(|t| t <= 0.0) || e.connect_timeout_s <= 0.0 {
        return Err(invalid(
            origin,
            "endpoint.timeout_s",
            "timeouts must be positive",
        ));
    }
    if e.api_key_env.trim().is_empty() {
        return Err(invalid(
            origin,
            "endpoint.api_key_env",
            "must name an environment variable",
        ));
    }
    if let Some(body) = &e.extra_body
        && !body.is_object()
    {
        return Err(invalid(
            origin,
            "endpoint.extra_body",
            "must be a table (JSON object)",
        ));
    }
    if c.local.n_ctx < 1024 {
        return Err(invalid(origin, "local.n_ctx", "must be at least 1024"));
    }
    if !(1..=16).contains(&c.local.slots) {
        return Err(invalid(origin, "local.slots", "must be between 1 and 16"));
    }
    if c.chunk.max_tokens < 16 {
        return Err(invalid(origin, "chunk.max_tokens", "must be at least 16"));
    }
    // The task names (tasks::Task::name), spelled out here: the configuration is read before
    // any task and does not import them (the test in tasks checks they agree).
    for t in &c.run.tasks {
        if !TASK_NAMES.contains(&t.as_str()) {
            return Err(invalid(
                origin,
                "run.tasks",
                format!("has unknown task `{t}` (known: {})", TASK_NAMES.join(", ")),
            ));
        }
    }
    Ok(())
}

/// The names `run.tasks` may hold.
pub const TASK_NAMES: [&str; 5] = ["translate", "summary", "stance", "review", "refine"];

/// An API key. Its `Debug` is redacted and it has no `Display` or `Serialize`: the only way to
/// read it is [`ApiKey::expose`], used where the Authorization header is built.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// The key from the environment variable `var`, if set and non-empty.
    pub fn from_env(var: &str) -> Option<ApiKey> {
        std::env::var(var)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(ApiKey)
    }

    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
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

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn loopback_endpoints_get_a_long_timeout_unless_one_is_set() {
        for url in [
            "http://127.0.0.1:8000/v1",
            "http://localhost:11434/v1",
            "http://[::1]:8080/v1",
            "http://user:pw@127.0.0.2/v1",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "https://api.openai.com/v1",
            "http://10.0.0.5:8000/v1",
            "http://localhost.example.com/v1",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
        let mut e = EndpointConfig {
            base_url: Some("http://127.0.0.1:8000/v1".into()),
            ..EndpointConfig::default()
        };
        assert_eq!(e.timeout().as_secs(), 600);
        e.timeout_s = Some(30.0);
        assert_eq!(e.timeout().as_secs(), 30);
        e.base_url = Some("https://api.openai.com/v1".into());
        e.timeout_s = None;
        assert_eq!(e.timeout().as_secs(), 120);
    }

    #[test]
    fn layers_override_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tolk.toml");
        std::fs::write(
            &path,
            "[endpoint]\nmodel = \"from-file\"\nconcurrency = 3\n[chunk]\nmax_tokens = 500\n",
        )
        .unwrap();
        let c = load(Some(&path), &env(&[]), &[]).unwrap();
        assert_eq!(c.endpoint.model.as_deref(), Some("from-file"));
        assert_eq!(c.endpoint.concurrency, 3);
        assert_eq!(c.chunk.max_tokens, 500);
        assert_eq!(c.endpoint.max_retries, 6, "default kept");

        let e = env(&[
            ("TOLK_ENDPOINT_MODEL", "from-env"),
            ("TOLK_CHUNK_MAX_TOKENS", "300"),
        ]);
        let c = load(Some(&path), &e, &[]).unwrap();
        assert_eq!(c.endpoint.model.as_deref(), Some("from-env"));
        assert_eq!(c.chunk.max_tokens, 300);

        let flags = [Override::new("endpoint", "model", "from-flag")];
        let c = load(Some(&path), &e, &flags).unwrap();
        assert_eq!(c.endpoint.model.as_deref(), Some("from-flag"));
    }

    #[test]
    fn mistakes_name_the_key_and_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tolk.toml");
        std::fs::write(&path, "[endpoint]\nmodle = \"x\"\n").unwrap();
        let err = load(Some(&path), &env(&[]), &[]).unwrap_err().to_string();
        assert!(err.contains("tolk.toml") && err.contains("modle"), "{err}");

        std::fs::write(&path, "[endpoint]\nconcurrency = 0\n").unwrap();
        let err = load(Some(&path), &env(&[]), &[]).unwrap_err().to_string();
        assert!(
            err.contains("tolk.toml") && err.contains("endpoint.concurrency"),
            "{err}"
        );

        let err = load(None, &env(&[("TOLK_ENDPOINT_CONCURRENCY", "many")]), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("TOLK_ENDPOINT_CONCURRENCY"), "{err}");

        let err = load(None, &env(&[("TOLK_ENDPOINT_MODLE", "x")]), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("TOLK_ENDPOINT_MODLE"), "{err}");
    }

    #[test]
    fn api_key_debug_is_redacted() {
        let k = ApiKey::new("sk-secret-123");
        assert_eq!(format!("{k:?}"), "ApiKey([redacted])");
    }
}
