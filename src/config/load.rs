//! Loading the configuration: defaults < file < environment < flags, each layer validated as
//! it is merged, so a mistake is reported against the file or the variable it came from.

use super::{Config, ConfigError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
            if known
                .iter()
                .any(|(section, _)| lower.starts_with(&format!("{section}_")))
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

/// Every `(section, key)` pair a user may set, in the order of the types (the configuration
/// reference lists them so).
pub fn known_keys() -> Vec<(String, String)> {
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
    crate::tasks::questions::check_all(&c.questions)
        .map_err(|e| invalid(origin, "questions", e.to_string()))?;
    Ok(())
}
