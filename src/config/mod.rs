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
pub use crate::llm::{ApiKey, StructuredMode};
use crate::llm::{ClientOptions, LlmError, openai};
use crate::tasks::Task;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

mod load;
pub use load::{Override, default_path, known_keys, load};

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

/// How a letter is translated (`translate.mode`).
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
    Default,
    schemars::JsonSchema,
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

/// `[translate]`: how a letter is translated.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TranslateSection {
    pub mode: TranslateMode,
}

/// How summary and stance put their questions (`analysis.mode`).
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
    Default,
    schemars::JsonSchema,
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
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AnalysisSection {
    pub mode: AnalysisMode,
}

/// `[endpoint]`: an OpenAI-compatible server.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EndpointConfig {
    /// e.g. `https://api.openai.com/v1`, `http://127.0.0.1:8000/v1`. None: the embedded model.
    pub base_url: Option<String>,
    /// The model to ask for. Unset: the server's default (`tolk models` lists what it serves).
    pub model: Option<String>,
    /// Name of the environment variable holding the API key. Unset variable: no Authorization.
    pub api_key_env: String,
    /// Seconds to wait for a reply. Unset: 120, or 600 for a loopback endpoint (a local server
    /// on 2 cores can take half a minute before the first token of a long prompt).
    pub timeout_s: Option<f64>,
    /// Seconds to wait for a connection.
    pub connect_timeout_s: f64,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Retries of a call that failed in a way worth retrying (429, 5xx, timeouts, dropped
    /// connections, replies that are not chat completions).
    pub max_retries: u32,
    /// First retry delay; doubles each attempt (with jitter), capped by `retry_max_ms`.
    pub retry_base_ms: u64,
    /// The longest delay between retries.
    pub retry_max_ms: u64,
    /// Requests per minute at most.
    pub rpm: Option<u32>,
    /// Tokens per minute at most (prompt plus `max_tokens`, counted with tiktoken before sending).
    pub tpm: Option<u32>,
    /// Sampling temperature of every call.
    pub temperature: f64,
    /// Sampling seed, for servers that honour one.
    pub seed: Option<u64>,
    /// `max_tokens` of every call. Unset: the server's default.
    pub max_tokens: Option<u32>,
    /// On truncation (finish_reason "length"), retry once with this many max tokens.
    pub max_tokens_retry: Option<u32>,
    /// How structured output is asked for. Unset: probed once per endpoint and model, and
    /// remembered in the output folder's cache.
    pub structured_output: Option<StructuredMode>,
    /// HTTP headers sent with every request (e.g. an organisation id).
    pub extra_headers: BTreeMap<String, String>,
    /// JSON object merged into every request body (e.g. vLLM sampling options).
    pub extra_body: Option<serde_json::Value>,
    /// USD per million prompt tokens, for cost estimates.
    pub price_input_per_mtok: Option<f64>,
    /// USD per million completion tokens, for cost estimates.
    pub price_output_per_mtok: Option<f64>,
    /// Context window in tokens, when known; caps the chunk budget.
    pub context_tokens: Option<u32>,
}

/// The reply timeout when none is configured.
pub const REMOTE_TIMEOUT_S: f64 = 120.0;
/// ... and for an endpoint on this machine.
pub const LOOPBACK_TIMEOUT_S: f64 = 600.0;

impl EndpointConfig {
    /// The HTTP provider for this endpoint, with the key read from the variable it names.
    pub fn provider(&self) -> Result<openai::OpenAiProvider, LlmError> {
        let base_url = self.base_url.clone().ok_or(LlmError::NoEndpoint)?;
        openai::OpenAiProvider::new(openai::OpenAiSettings {
            base_url,
            model: self.model.clone().unwrap_or_else(|| "default".into()),
            api_key: ApiKey::from_env(&self.api_key_env),
            timeout: self.timeout(),
            connect_timeout: Duration::from_secs_f64(self.connect_timeout_s),
            mode: self.structured_output.unwrap_or(StructuredMode::JsonSchema),
            extra_headers: self.extra_headers.clone(),
            extra_body: self.extra_body.clone(),
        })
    }

    /// The client's limits for this endpoint.
    pub fn client_options(&self, encoding: TokenEncoding) -> ClientOptions {
        ClientOptions {
            concurrency: self.concurrency,
            max_retries: self.max_retries,
            retry_base: Duration::from_millis(self.retry_base_ms),
            retry_max: Duration::from_millis(self.retry_max_ms),
            rpm: self.rpm,
            tpm: self.tpm,
            max_tokens_retry: self.max_tokens_retry,
            encoding,
        }
    }

    /// Is the endpoint on this machine (127.0.0.0/8, ::1, localhost)?
    pub fn is_loopback(&self) -> bool {
        self.base_url.as_deref().is_some_and(is_loopback_url)
    }

    /// The reply timeout: as configured, else generous for loopback servers.
    pub fn timeout(&self) -> std::time::Duration {
        Duration::from_secs_f64(self.timeout_s.unwrap_or(if self.is_loopback() {
            LOOPBACK_TIMEOUT_S
        } else {
            REMOTE_TIMEOUT_S
        }))
    }
}

/// Does `url` point at this machine (127.0.0.0/8, ::1, localhost)? A URL that does not parse
/// does not.
pub fn is_loopback_url(url: &str) -> bool {
    match url::Url::parse(url)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    {
        Some(url::Host::Domain(d)) => {
            let d = d.to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
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

/// `[chunk]`: how letters are cut into chunks for the calls.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ChunkSection {
    /// Tokens of Dutch per chunk at most (capped by the endpoint's context, when known).
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

/// `[run]`: what `tolk run` reads, writes and does.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RunSection {
    /// Letters, or a folder of letters (`.txt` and `.pdf`), when the command line names none.
    pub input: PathBuf,
    /// The output folder: `runs/` and `cache/` are inside.
    pub out: PathBuf,
    /// The tasks of a run: translate, summary, stance, review, refine (review brings
    /// translate, refine brings review).
    pub tasks: Vec<Task>,
    /// A folder whose prompt files override the built-in ones, file by file. Unset: `prompts/`
    /// in the working directory when there is one, else the built-in prompts alone.
    pub prompts: Option<PathBuf>,
    /// Glossary files whose terms join the built-in glossary: TBX (TBX-Basic), or CSV / TSV
    /// with the columns `nl,en` and an optional note. A file's term replaces a built-in one
    /// with the same Dutch; the prompts use them and the checks hold every run to them.
    pub glossaries: Vec<PathBuf>,
}

impl Default for RunSection {
    fn default() -> Self {
        RunSection {
            input: "input".into(),
            out: "output".into(),
            tasks: vec![Task::Translate, Task::Summary, Task::Stance],
            prompts: None,
            glossaries: Vec::new(),
        }
    }
}

impl RunSection {
    /// The prompts, glossary and topics this configuration runs with.
    pub fn prompt_set(&self) -> Result<crate::prompt::PromptSet, crate::prompt::PromptError> {
        crate::prompt::PromptSet::load_with(self.prompts_dir().as_deref(), &self.glossaries)
    }

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
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub endpoint: EndpointConfig,
    pub chunk: ChunkSection,
    pub run: RunSection,
    pub translate: TranslateSection,
    pub analysis: AnalysisSection,
    pub local: LocalSection,
    pub eval: EvalSection,
    /// The user's own questions (`[[questions]]`: `id`, `text`, optional `labels` and Dutch
    /// `terms`), asked of every letter with the stance; `tolk ask` asks one of its own.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub questions: Vec<crate::tasks::questions::Question>,
}

/// `[eval]`: what `tolk eval` and the diff page measure runs against.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EvalSection {
    /// Gold stance labels (default: `eval/stance_gold.json` when there is one).
    pub gold: Option<PathBuf>,
    /// A folder of reference translations (default: `eval/reference/` when there is one).
    pub reference: Option<PathBuf>,
    /// Gold letter facts: who wrote each letter, to whom, when (default:
    /// `eval/facts_gold.json` when there is one).
    pub facts: Option<PathBuf>,
    /// Gold summaries: the sender, an addressee and the key claims a faithful summary of each
    /// letter carries (default: `eval/summary_gold.json` when there is one).
    pub summary: Option<PathBuf>,
}

impl EvalSection {
    pub fn gold_file(&self) -> Option<PathBuf> {
        self.gold.clone().or_else(|| {
            let p = PathBuf::from("eval/stance_gold.json");
            p.is_file().then_some(p)
        })
    }

    pub fn facts_file(&self) -> Option<PathBuf> {
        self.facts.clone().or_else(|| {
            let p = PathBuf::from("eval/facts_gold.json");
            p.is_file().then_some(p)
        })
    }

    pub fn summary_file(&self) -> Option<PathBuf> {
        self.summary.clone().or_else(|| {
            let p = PathBuf::from("eval/summary_gold.json");
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
