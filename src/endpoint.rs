//! The endpoint: where a run's calls go, and what identifies their answers in the cache.
//!
//! A [`Scope`] is the cache identity of the configured endpoint: its base URL (or the local
//! model's identity), the model, the structured-output mode and the context size. It is built
//! here and only here, for `tolk run`, the dry run, `tolk status` and `tolk batch export`, so
//! all four compute the same cache keys. An [`Endpoint`] adds the way to connect, which happens
//! on the first call that misses the cache: a run answered wholly from the cache neither
//! connects to the server nor loads (or downloads) the local model.
//!
//! "Local" is the embedded model that tolk runs in-process when no endpoint is configured
//! (`[local]` in tolk.toml, [`crate::llm::local`]).

use crate::config::{Config, StructuredMode};
use crate::llm::probe::{self, Capabilities};
use crate::llm::{self, Client, LlmError};
use crate::store::cache::{CACHE_FORMAT, CacheKey, hash_json};
use crate::tasks::CallSpec;
use std::path::PathBuf;
use std::sync::Arc;

/// What identifies the answers of the configured endpoint in the cache, and what shapes its
/// calls.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    /// Recorded in the manifest and in every cache key: a base URL, or the local model's
    /// identity ([`LocalModel::identity`]).
    pub endpoint: String,
    pub model: String,
    pub mode: StructuredMode,
    /// The context size, when configured, remembered from a probe, or the local model's.
    pub context_tokens: Option<u32>,
    /// The embedded model, not an HTTP endpoint.
    pub local: bool,
}

impl Scope {
    /// The cache key of a call in this scope.
    pub fn key(&self, spec: &CallSpec) -> CacheKey {
        let r = &spec.request;
        CacheKey {
            format: CACHE_FORMAT,
            endpoint: self.endpoint.clone(),
            model: self.model.clone(),
            messages_sha256: hash_json(&r.messages),
            // A plain-text reply is a different call from a JSON one under the same schema.
            schema_sha256: if r.plain {
                hash_json(&(&r.schema, "plain"))
            } else {
                hash_json(&r.schema)
            },
            temperature: r.temperature.unwrap_or(0.0),
            seed: r.seed,
            max_tokens: r.max_tokens,
            mode: self.mode.as_str().to_string(),
        }
    }
}

/// The local model's file and identity.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalModel {
    pub path: PathBuf,
    /// The file name without `.gguf`.
    pub name: String,
    /// Its size in bytes: the catalogue's for the default model (so that its identity is the
    /// same before and after it is downloaded), the file's for one given by path.
    pub size: u64,
    /// The catalogued model it is, which tolk fetches when it is not there; none for a file
    /// given by path.
    pub catalogued: Option<&'static crate::model_store::Catalogued>,
}

impl LocalModel {
    /// A model given by path must be there; the default one is fetched when first needed.
    pub fn check(&self) -> Result<(), LlmError> {
        if self.catalogued.is_some() || self.path.is_file() {
            Ok(())
        } else {
            Err(LlmError::NoModelFile {
                path: self.path.clone(),
                hint: "local.model_path, --model-path",
            })
        }
    }

    /// `local.model_path`, else the catalogued model `local.model` or the default one (fetched
    /// on first use).
    pub fn from_config(config: &Config) -> LocalModel {
        let (path, catalogued) = match &config.local.model_path {
            Some(p) => (p.clone(), None),
            None => {
                let m = config.local.catalogued();
                (m.path(), Some(m))
            }
        };
        let size = match catalogued {
            Some(m) => m.size,
            None => std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
        };
        LocalModel {
            name: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "local".into()),
            path,
            size,
            catalogued,
        }
    }

    /// Its cache identity: `embedded:<name>:<size>`. (The word predates "local" in the code;
    /// changing it would change every cache key of the local model.)
    pub fn identity(&self) -> String {
        format!("embedded:{}:{}", self.name, self.size)
    }
}

/// The scope without connecting or loading anything: the configuration first, then what an
/// earlier probe of this endpoint and model remembered, then the defaults.
pub fn scope(config: &Config) -> Scope {
    let ep = &config.endpoint;
    match &ep.base_url {
        Some(url) => {
            let model = ep.model.clone().unwrap_or_else(|| "default".into());
            let caps = probe::load(&config.run.out, url, &model);
            scope_with(config, url, &model, caps.as_ref())
        }
        None => {
            let m = LocalModel::from_config(config);
            Scope {
                endpoint: m.identity(),
                model: m.name,
                // The local model answers under a grammar made from the schema.
                mode: StructuredMode::JsonSchema,
                context_tokens: Some(config.local.n_ctx),
                local: true,
            }
        }
    }
}

/// The scope of an HTTP endpoint with what a probe found (if anything).
fn scope_with(config: &Config, url: &str, model: &str, caps: Option<&Capabilities>) -> Scope {
    let ep = &config.endpoint;
    Scope {
        endpoint: url.to_string(),
        model: model.to_string(),
        mode: ep
            .structured_output
            .or(caps.and_then(|c| c.mode))
            .unwrap_or(StructuredMode::JsonSchema),
        context_tokens: ep.context_tokens.or(caps.and_then(|c| c.context_tokens)),
        local: false,
    }
}

/// Whether the HTTP endpoint's structured-output mode is still unknown: not configured and
/// never probed (so [`scope`] assumes `json_schema`).
pub fn needs_probe(config: &Config) -> bool {
    let ep = &config.endpoint;
    let Some(url) = &ep.base_url else {
        return false;
    };
    let model = ep.model.clone().unwrap_or_else(|| "default".into());
    let caps = probe::load(&config.run.out, url, &model);
    let mode_known =
        ep.structured_output.is_some() || caps.as_ref().is_some_and(|c| c.mode.is_some());
    !(caps.is_some() && mode_known)
}

/// Probe the HTTP endpoint now (a mode set in the configuration is kept, not probed), remember
/// what it found in the cache folder, and return the scope with it.
pub async fn probe(config: &Config) -> Result<(Scope, Capabilities), LlmError> {
    let ep = &config.endpoint;
    let settings = ep.provider()?.settings().clone();
    let options = ep.client_options(config.chunk.encoding);
    let caps = probe::probe(&settings, &options, ep.structured_output).await?;
    if let Err(e) = probe::save(&config.run.out, &caps) {
        tracing::warn!(
            "could not remember the probe ({}); the next run probes again",
            crate::error::chain(&e)
        );
    }
    let scope = scope_with(config, &caps.endpoint, &caps.model, Some(&caps));
    Ok((scope, caps))
}

/// USD per million prompt and completion tokens, when configured.
pub fn prices(config: &Config) -> Option<(f64, f64)> {
    match (
        config.endpoint.price_input_per_mtok,
        config.endpoint.price_output_per_mtok,
    ) {
        (None, None) => None,
        (i, o) => Some((i.unwrap_or(0.0), o.unwrap_or(0.0))),
    }
}

/// How to get a client when the first call needs one.
enum Connector {
    Http {
        settings: llm::openai::OpenAiSettings,
        options: llm::ClientOptions,
    },
    Local {
        model: LocalModel,
        settings: crate::config::LocalSection,
        options: llm::ClientOptions,
    },
    Ready(Arc<Client>),
}

/// Where a run's calls go: the scope of their cache keys, and the connection made on the first
/// call that the cache cannot answer.
pub struct Endpoint {
    pub scope: Scope,
    /// USD per million prompt and completion tokens.
    pub prices: Option<(f64, f64)>,
    connector: Connector,
}

impl Endpoint {
    /// The configured endpoint (or the local model) in `scope`.
    pub fn from_config(config: &Config, scope: Scope) -> Result<Endpoint, LlmError> {
        let options = config.endpoint.client_options(config.chunk.encoding);
        let connector = if scope.local {
            Connector::Local {
                model: LocalModel::from_config(config),
                settings: config.local.clone(),
                options,
            }
        } else {
            let mut settings = config.endpoint.provider()?.settings().clone();
            settings.mode = scope.mode;
            Connector::Http { settings, options }
        };
        Ok(Endpoint {
            scope,
            prices: prices(config),
            connector,
        })
    }

    /// An endpoint whose client is already made (benchmarks, tests).
    pub fn ready(scope: Scope, client: Arc<Client>, prices: Option<(f64, f64)>) -> Endpoint {
        Endpoint {
            scope,
            prices,
            connector: Connector::Ready(client),
        }
    }

    /// Connect: check that the HTTP endpoint answers at all, or fetch (if needed) and load the
    /// local model. `say` gets progress lines (the model download).
    pub async fn connect(&self, say: &(dyn Fn(&str) + Sync)) -> Result<Arc<Client>, LlmError> {
        match &self.connector {
            Connector::Ready(c) => Ok(c.clone()),
            Connector::Http { settings, options } => {
                let provider = Arc::new(llm::openai::OpenAiProvider::new(settings.clone())?);
                // Not there at all: fail every call at once rather than after each one's
                // retries. Any other answer (even an error) means a server is there.
                if let Err(e @ (LlmError::Connect(_) | LlmError::Timeout(_))) =
                    provider.models().await
                {
                    return Err(e);
                }
                Ok(Arc::new(Client::new(provider, options.clone())))
            }
            Connector::Local {
                model,
                settings,
                options,
            } => connect_local(model, settings, options, say).await,
        }
    }
}

/// Calls the client lets through to the embedded model at once: all of a run's, in practice.
#[cfg(feature = "local")]
const LOCAL_QUEUE: usize = 1 << 16;

#[cfg(feature = "local")]
async fn connect_local(
    model: &LocalModel,
    settings: &crate::config::LocalSection,
    options: &llm::ClientOptions,
    say: &(dyn Fn(&str) + Sync),
) -> Result<Arc<Client>, LlmError> {
    let (model, settings) = (model.clone(), settings.clone());
    // Fetching and loading block: keep them off the async workers. Download lines are said as
    // they come (through a channel), the provider comes back when it is loaded.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let work = tokio::task::spawn_blocking(move || {
        if let Some(catalogued) = model.catalogued
            && !catalogued.is_present()
        {
            let _ = tx.send(
                "no endpoint configured: tolk runs on its embedded model, which is not here yet"
                    .into(),
            );
            crate::model_store::fetch(catalogued, &mut |line| {
                let _ = tx.send(line.to_string());
            })
            .map_err(|e| LlmError::ModelFetch(std::sync::Arc::new(e)))?;
        }
        drop(tx);
        llm::local::LocalProvider::start(llm::local::LocalSettings {
            model_path: model.path.clone(),
            n_ctx: settings.n_ctx,
            threads: settings.threads,
            default_max_tokens: settings.max_tokens,
            flash_attention: settings.flash_attention,
            slots: settings.slots,
            unified_cache: settings.unified_cache,
            jump_forward: settings.jump_forward,
        })
    });
    tokio::pin!(work);
    let provider = loop {
        tokio::select! {
            done = &mut work => break done.map_err(|_| LlmError::ModelThread("stopped while loading"))??,
            _ = tokio::time::sleep(std::time::Duration::from_millis(200)) => {
                while let Ok(line) = rx.try_recv() {
                    say(&line);
                }
            }
        }
    };
    while let Ok(line) = rx.try_recv() {
        say(&line);
    }
    let options = llm::ClientOptions {
        // Every call goes to the engine's own queue, which gives a free slot the call that
        // shares most of a cached prefix: with only a few calls queued there, the questions
        // on a letter came minutes apart and its part was read again for them (a trace of the
        // main job: six letters' parts, 22,734 prompt tokens, read twice). The calls' clocks
        // and the progress display start when a slot takes the call.
        concurrency: LOCAL_QUEUE,
        max_retries: 0,
        max_tokens_retry: None,
        ..options.clone()
    };
    Ok(Arc::new(Client::new(Arc::new(provider), options)))
}

#[cfg(not(feature = "local"))]
async fn connect_local(
    _: &LocalModel,
    _: &crate::config::LocalSection,
    _: &llm::ClientOptions,
    _: &(dyn Fn(&str) + Sync),
) -> Result<Arc<Client>, LlmError> {
    Err(LlmError::NoEmbeddedModel)
}
