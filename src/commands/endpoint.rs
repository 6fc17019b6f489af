//! `tolk ping`, `tolk models` and `tolk model list|fetch|path`: the endpoint and the embedded model.

use super::{Outcome, runtime};
use crate::config::Config;
use crate::endpoint;
use crate::llm::{self, Provider, probe::Capabilities};
use anyhow::Context;
use std::io::Write;

/// How the probe went, one line per mode tried.
pub fn print_probe(caps: &Capabilities, out: &mut dyn Write) -> std::io::Result<()> {
    for t in &caps.trials {
        writeln!(out, "  {:<19} {}", t.mode.as_str(), t.outcome)?;
    }
    if let Some(m) = caps.mode {
        writeln!(out, "  structured output: {}", m.as_str())?;
    }
    writeln!(
        out,
        "  context size: {}",
        caps.context_tokens
            .map(|n| format!("{n} tokens (reported by the server)"))
            .unwrap_or_else(|| "not reported".into())
    )
}

/// The request `tolk ping` sends once the mode is known.
fn ping_request(temperature: f64, seed: Option<u64>) -> llm::ChatRequest {
    llm::ChatRequest {
        messages: vec![
            llm::Message::system("You are a connectivity check. Answer with JSON only."),
            llm::Message::user(
                "Reply with {\"ok\": true, \"word\": \"hallo\"} in English: translate the word.",
            ),
        ],
        schema: Some(llm::SchemaSpec {
            name: "ping".into(),
            schema: serde_json::json!({
                "type": "object",
                "properties": {"ok": {"type": "boolean"}, "word": {"type": "string"}},
                "required": ["ok", "word"],
                "additionalProperties": false
            }),
        }),
        max_tokens: Some(64),
        temperature: Some(temperature),
        seed,
        plain: false,
    }
}

pub fn ping(config: &Config) -> anyhow::Result<Outcome> {
    let ep = &config.endpoint;
    let base = ep.provider()?;
    let (url, model) = (base.info().endpoint, base.info().model);
    println!("endpoint:  {url}");
    println!("requested: {model}");
    let rt = runtime()?;
    // Probe afresh (a mode set in the configuration is kept, not probed) and remember it.
    let (scope, caps) = rt
        .block_on(endpoint::probe(config))
        .with_context(|| format!("ping {url} failed"))?;
    print_probe(&caps, &mut std::io::stdout())?;
    let mut settings = base.settings().clone();
    settings.mode = scope.mode;
    let client = llm::Client::new(
        std::sync::Arc::new(llm::openai::OpenAiProvider::new(settings)?),
        ep.client_options(config.chunk.encoding),
    );
    let started = std::time::Instant::now();
    let result = rt.block_on(client.chat_json(&ping_request(ep.temperature, ep.seed)));
    let elapsed = started.elapsed();
    match result {
        Ok((completion, _)) => {
            println!(
                "resolved:  {}",
                completion.model.as_deref().unwrap_or("(not reported)")
            );
            println!("latency:   {} ms", elapsed.as_millis());
            println!("structured output ({}): ok", scope.mode.as_str());
            Ok(Outcome::Clean)
        }
        Err(e) => {
            println!("latency:   {} ms", elapsed.as_millis());
            Err(anyhow::Error::new(e).context(format!("ping {url} failed")))
        }
    }
}

pub fn models(config: &Config) -> anyhow::Result<Outcome> {
    let provider = config.endpoint.provider()?;
    let (ids, _) = runtime()?.block_on(provider.models())?;
    for id in ids {
        println!("{id}");
    }
    Ok(Outcome::Clean)
}

/// The catalogued model `name`, else `local.model`, else the default.
fn catalogued(
    name: &Option<String>,
    config: &Config,
) -> anyhow::Result<&'static crate::model_store::Catalogued> {
    match name {
        Some(n) => crate::model_store::find(n).ok_or_else(|| {
            anyhow::anyhow!(
                "{n:?} is not a model tolk can fetch ({}); tolk model list shows them",
                crate::model_store::names()
            )
        }),
        None => Ok(config.local.catalogued()),
    }
}

pub fn model_list(config: &Config) -> anyhow::Result<Outcome> {
    let chosen = config.local.catalogued().name;
    for m in crate::model_store::CATALOGUE {
        let here = if m.is_present() {
            "here"
        } else {
            "not fetched"
        };
        let mark = if m.name == chosen { "*" } else { " " };
        println!(
            "{mark} {:<20} {:>6.0} MB  {here:<11}  {}",
            m.name,
            m.size as f64 / 1e6,
            m.description
        );
        println!("    {}", m.measured);
    }
    println!(
        "* the one tolk uses (local.model, --local-model; default {}); a GGUF file of your own goes in local.model_path or --model-path",
        crate::model_store::DEFAULT.name
    );
    Ok(Outcome::Clean)
}

pub fn model_path(name: &Option<String>, config: &Config) -> anyhow::Result<Outcome> {
    println!("{}", catalogued(name, config)?.path().display());
    Ok(Outcome::Clean)
}

pub fn model_fetch(name: &Option<String>, config: &Config) -> anyhow::Result<Outcome> {
    let m = catalogued(name, config)?;
    match crate::model_store::fetch(m, &mut |line| eprintln!("{line}"))? {
        crate::model_store::Fetched::AlreadyThere(_) => {
            eprintln!("the model {} is already there", m.name)
        }
        crate::model_store::Fetched::Downloaded(_) => eprintln!("model ready"),
    }
    println!("{}", m.path().display());
    Ok(Outcome::Clean)
}
