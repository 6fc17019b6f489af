//! The top: parse arguments, load configuration, run a command, map the outcome to an exit code
//! (0 clean, 1 partial failure, 2 fatal). Errors are printed with their cause chain.

use crate::chunk;
use crate::cli::{
    BatchCommand, BatchExportArgs, BatchImportArgs, ChunkArgs, Cli, Command, DiffArgs, DiffFormat,
    ModelCommand, ReportArgs, RunArgs, RunsArgs, ShowArgs, StatusArgs,
};
use crate::config::{self, Config};
use crate::ingest;
use crate::llm::{self, Provider};
use crate::pipeline;
use crate::store::run as runs;
use crate::tasks::Task;
use anyhow::Context;
use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Clean,
    Partial,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    match run(cli) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Partial) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "tolk=debug,info",
        _ => "tolk=trace,debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::progress::LogWriter)
        .with_target(false)
        .try_init();
}

/// Load the configuration for this invocation.
pub fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let env: std::collections::BTreeMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("TOLK_"))
        .collect();
    let path = config::default_path(cli.config.as_deref());
    Ok(config::load(path.as_deref(), &env, &cli.overrides())?)
}

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let config = load_config(&cli)?;
    match &cli.command {
        Command::Chunk(args) => chunk_command(args, &config),
        Command::Run(args) => run_command(args, &config),
        Command::Ping(_) => ping_command(&config),
        Command::Runs(a) => runs_command(a, &config),
        Command::Status(a) => status_command(a, &config),
        Command::Diff(a) => diff_command(a, &config),
        Command::Show(a) => show_command(a, &config),
        Command::Report(a) => report_command(a, &config),
        Command::Models(_) => models_command(&config),
        Command::Batch(BatchCommand::Export(a)) => batch_export_command(a, &config),
        Command::Batch(BatchCommand::Import(a)) => batch_import_command(a, &config),
        Command::Model(ModelCommand::Path) => {
            println!("{}", llm::model_store::model_path().display());
            Ok(Outcome::Clean)
        }
        Command::Model(ModelCommand::Fetch) => {
            match llm::model_store::fetch(&mut |line| eprintln!("{line}"))? {
                llm::model_store::Fetched::AlreadyThere(_) => {
                    eprintln!("the model is already there")
                }
                llm::model_store::Fetched::Downloaded(_) => eprintln!("model ready"),
            }
            println!("{}", llm::model_store::model_path().display());
            Ok(Outcome::Clean)
        }
    }
}

/// USD per million prompt and completion tokens, when configured.
fn prices(config: &Config) -> Option<(f64, f64)> {
    match (
        config.endpoint.price_input_per_mtok,
        config.endpoint.price_output_per_mtok,
    ) {
        (None, None) => None,
        (i, o) => Some((i.unwrap_or(0.0), o.unwrap_or(0.0))),
    }
}

/// Where the calls of a run go, from the configuration and the endpoint's resolved identity.
pub fn endpoint_from_config(config: &Config, id: &Identity) -> anyhow::Result<pipeline::Endpoint> {
    let ep = &config.endpoint;
    let options = llm::client_options(ep, config.chunk.encoding);
    if ep.base_url.is_none() {
        return embedded_endpoint(config);
    }
    let mut settings = llm::openai_from_config(ep)?.settings().clone();
    settings.mode = id.mode;
    let provider = std::sync::Arc::new(llm::openai::OpenAiProvider::new(settings)?);
    let info = provider.info();
    let check = provider.clone();
    let preflight: std::sync::Arc<
        dyn Fn() -> llm::BoxFuture<'static, Result<(), llm::LlmError>> + Send + Sync,
    > = std::sync::Arc::new(move || {
        let p = check.clone();
        Box::pin(async move {
            p.models().await.map(|_| ()).or_else(|e| match e {
                llm::LlmError::Connect(_) | llm::LlmError::Timeout(_) => Err(e),
                _ => Ok(()),
            })
        })
    });
    Ok(pipeline::Endpoint {
        client: std::sync::Arc::new(llm::Client::new(provider, options)),
        endpoint: info.endpoint,
        model: info.model,
        mode: id.mode,
        embedded: false,
        prices: prices(config),
        preflight: Some(preflight),
    })
}

/// The embedded model as the endpoint: fetched first if it is missing (saying so), loaded once.
#[cfg(feature = "local")]
fn embedded_endpoint(config: &Config) -> anyhow::Result<pipeline::Endpoint> {
    let path = match &config.local.model_path {
        Some(p) => p.clone(),
        None => {
            let p = llm::model_store::model_path();
            if !llm::model_store::is_present(&p) {
                eprintln!(
                    "no endpoint configured: tolk runs on its embedded model, which is not here yet"
                );
                llm::model_store::fetch(&mut |line| eprintln!("{line}"))?;
            }
            p
        }
    };
    let provider = llm::local::LocalProvider::start(llm::local::LocalSettings {
        model_path: path.clone(),
        n_ctx: config.local.n_ctx,
        threads: config.local.threads,
        default_max_tokens: config.local.max_tokens,
        flash_attention: config.local.flash_attention,
    })?;
    let info = provider.info();
    let options = llm::ClientOptions {
        // One model, one queue: more in flight would only wait in the queue.
        concurrency: 1,
        max_retries: 0,
        max_tokens_retry: None,
        ..llm::client_options(&config.endpoint, config.chunk.encoding)
    };
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    Ok(pipeline::Endpoint {
        client: std::sync::Arc::new(llm::Client::new(std::sync::Arc::new(provider), options)),
        endpoint: format!("embedded:{}:{size}", info.model),
        model: info.model,
        mode: crate::config::StructuredMode::JsonSchema,
        embedded: true,
        prices: None,
        preflight: None,
    })
}

#[cfg(not(feature = "local"))]
fn embedded_endpoint(_: &Config) -> anyhow::Result<pipeline::Endpoint> {
    anyhow::bail!(
        "no endpoint configured (endpoint.base_url in tolk.toml, TOLK_ENDPOINT_BASE_URL, or --endpoint), \
         and this build of tolk has no embedded model (built without the `local` feature)"
    )
}

/// Run options from the configuration and the run's flags.
/// Run options from the configuration, the run's flags, and the context size of the endpoint
/// (configured, remembered or probed: see [`Identity`]), which caps the chunk budget.
pub fn run_options(
    args: &RunArgs,
    config: &Config,
    id: &Identity,
) -> anyhow::Result<pipeline::RunOptions> {
    let mut tasks = Vec::new();
    for t in &config.run.tasks {
        let task = Task::parse(t)
            .ok_or_else(|| anyhow::anyhow!("unknown task {t:?} (translate, summary, stance)"))?;
        if !tasks.contains(&task) {
            tasks.push(task);
        }
    }
    tasks.sort();
    let inputs = if args.inputs.is_empty() {
        vec![config.run.input.clone()]
    } else {
        args.inputs.clone()
    };
    let embedded = id.embedded;
    let context = id.context_tokens;
    let mut chunk = config.chunk_config();
    if let Some(c) = context {
        chunk.max_tokens = chunk
            .max_tokens
            .min(llm::probe::chunk_budget_for_context(c));
    }
    // Room for the instructions, the schema and the reply.
    let whole_doc_tokens = context
        .map(|c| {
            (c as usize)
                .saturating_sub(if embedded { 4500 } else { 4000 })
                .max(c as usize / 4)
        })
        .unwrap_or(12_000);
    Ok(pipeline::RunOptions {
        inputs,
        out: config.run.out.clone(),
        prompts: config.run.prompts.clone(),
        tasks,
        label: args.label.clone(),
        refresh: args.refresh,
        progress: !args.no_progress,
        chunk,
        temperature: config.endpoint.temperature,
        seed: config.endpoint.seed,
        max_tokens: if embedded {
            Some(config.local.max_tokens)
        } else {
            config.endpoint.max_tokens
        },
        whole_doc_tokens,
        // The embedded model answers under a grammar made from the schema: exact quotes and
        // bounded text by construction.
        grammar: embedded,
    })
}

fn run_command(args: &RunArgs, config: &Config) -> anyhow::Result<Outcome> {
    if args.dry_run {
        // The plan needs the cache identity only: no connection, no model loaded.
        let id = endpoint_identity(config);
        let opts = run_options(args, config, &id)?;
        let (endpoint, model, mode) = (id.endpoint, id.model, id.mode);
        let prices = prices(config);
        let (rows, failed) = pipeline::plan(&opts, &endpoint, &model, mode)?;
        let w = rows
            .iter()
            .map(|r| r.doc_id.len())
            .max()
            .unwrap_or(8)
            .max(8);
        println!("dry run: nothing is called. endpoint {endpoint}, model {model}");
        println!(
            "{:<w$}  {:<10} {:>6} {:>6} {:>7} {:>10} {:>10}",
            "document", "task", "chunks", "calls", "cached", "est. in", "est. out"
        );
        let (mut calls, mut cached, mut tin, mut tout) = (0, 0, 0, 0);
        for r in &rows {
            println!(
                "{:<w$}  {:<10} {:>6} {:>6} {:>7} {:>10} {:>10}",
                r.doc_id, r.task, r.chunks, r.calls, r.cached, r.prompt_tokens, r.completion_tokens
            );
            calls += r.calls;
            cached += r.cached;
            tin += r.prompt_tokens;
            tout += r.completion_tokens;
        }
        let cost = prices
            .map(|(i, o)| {
                format!(
                    ", estimated cost ${:.4}",
                    (tin as f64 * i + tout as f64 * o) / 1e6
                )
            })
            .unwrap_or_default();
        println!(
            "{} documents, {calls} calls ({cached} cached, {} to make), about {tin} prompt + {tout} completion tokens{cost}",
            rows.iter()
                .map(|r| &r.doc_id)
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            calls - cached
        );
        for f in &failed {
            eprintln!("error: {}", pipeline::read_error(f));
        }
        return Ok(Outcome::Clean);
    }
    let rt = runtime()?;
    let id = probed_identity(config, &rt)?;
    let opts = run_options(args, config, &id)?;
    let ep = endpoint_from_config(config, &id)?;
    let report = rt.block_on(pipeline::run(&opts, &ep))?;
    let mut err = std::io::stderr();
    pipeline::print_table(&report, &mut err)?;
    println!("{}", report.run_dir.display());
    Ok(if report.all_ok() {
        Outcome::Clean
    } else {
        Outcome::Partial
    })
}

/// What identifies the answers of the configured endpoint in the cache, and what shapes its
/// calls: (endpoint, model, structured-output mode, context size).
#[derive(Debug, Clone)]
pub struct Identity {
    pub endpoint: String,
    pub model: String,
    pub mode: crate::config::StructuredMode,
    pub context_tokens: Option<u32>,
    pub embedded: bool,
}

/// The identity without connecting or loading anything: the configuration first, then what an
/// earlier probe of this endpoint and model remembered, then the defaults.
pub fn endpoint_identity(config: &Config) -> Identity {
    let ep = &config.endpoint;
    match &ep.base_url {
        Some(url) => {
            let model = ep.model.clone().unwrap_or_else(|| "default".into());
            let caps = llm::probe::load(&config.run.out, url, &model);
            Identity {
                endpoint: url.clone(),
                mode: ep
                    .structured_output
                    .or(caps.as_ref().and_then(|c| c.mode))
                    .unwrap_or(crate::config::StructuredMode::JsonSchema),
                context_tokens: ep
                    .context_tokens
                    .or(caps.as_ref().and_then(|c| c.context_tokens)),
                model,
                embedded: false,
            }
        }
        None => {
            let path = config
                .local
                .model_path
                .clone()
                .unwrap_or_else(llm::model_store::model_path);
            let (endpoint, model) = embedded_identity(&path);
            Identity {
                endpoint,
                model,
                mode: crate::config::StructuredMode::JsonSchema,
                context_tokens: Some(config.local.n_ctx),
                embedded: true,
            }
        }
    }
}

/// The identity for a run that will call the endpoint: as [`endpoint_identity`], but an HTTP
/// endpoint that was never probed (and whose mode is not configured) is probed now, once, and
/// the result is remembered in the cache folder.
fn probed_identity(config: &Config, rt: &tokio::runtime::Runtime) -> anyhow::Result<Identity> {
    let id = endpoint_identity(config);
    let ep = &config.endpoint;
    if id.embedded {
        return Ok(id);
    }
    let caps = llm::probe::load(&config.run.out, &id.endpoint, &id.model);
    let mode_known =
        ep.structured_output.is_some() || caps.as_ref().is_some_and(|c| c.mode.is_some());
    if caps.is_some() && mode_known {
        return Ok(id);
    }
    let settings = llm::openai_from_config(ep)?.settings().clone();
    let options = llm::client_options(ep, config.chunk.encoding);
    eprintln!(
        "probing {} ({}) once: structured output and context size",
        id.endpoint, id.model
    );
    let caps = rt
        .block_on(llm::probe::probe(&settings, &options, ep.structured_output))
        .map_err(|source| pipeline::RunError::Unreachable {
            endpoint: id.endpoint.clone(),
            source,
        })?;
    print_probe(&caps, &mut std::io::stderr())?;
    if let Err(e) = llm::probe::save(&config.run.out, &caps) {
        tracing::warn!("could not remember the probe ({e}); the next run probes again");
    }
    Ok(endpoint_identity_with(config, &caps))
}

/// [`endpoint_identity`] with fresh capabilities.
fn endpoint_identity_with(config: &Config, caps: &llm::probe::Capabilities) -> Identity {
    let ep = &config.endpoint;
    Identity {
        endpoint: caps.endpoint.clone(),
        model: caps.model.clone(),
        mode: ep
            .structured_output
            .or(caps.mode)
            .unwrap_or(crate::config::StructuredMode::JsonSchema),
        context_tokens: ep.context_tokens.or(caps.context_tokens),
        embedded: false,
    }
}

fn print_probe(caps: &llm::probe::Capabilities, out: &mut dyn Write) -> std::io::Result<()> {
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

/// The cache identity of the embedded model at `path`: its name and size.
pub fn embedded_identity(path: &std::path::Path) -> (String, String) {
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "local".into());
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    (format!("embedded:{name}:{size}"), name)
}

fn runs_command(args: &RunsArgs, config: &Config) -> anyhow::Result<Outcome> {
    let list = runs::list_runs(&config.run.out);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(Outcome::Clean);
    }
    if list.is_empty() {
        println!("no runs in {}", runs::runs_dir(&config.run.out).display());
        return Ok(Outcome::Clean);
    }
    println!(
        "{:<48} {:<12} {:<36} {:>4} {:>9} {:>9} {:>9} {:>7}",
        "run",
        "label",
        "model (requested -> resolved)",
        "docs",
        "tasks ok",
        "failed",
        "tokens",
        "time"
    );
    for m in &list {
        let ok = m
            .inputs
            .iter()
            .flat_map(|i| i.tasks.values())
            .filter(|s| *s == "ok")
            .count();
        let failed = m
            .inputs
            .iter()
            .flat_map(|i| i.tasks.values())
            .filter(|s| *s != "ok")
            .count();
        let model = match &m.model.resolved {
            Some(r) if *r != m.model.requested => format!("{} -> {r}", m.model.requested),
            _ => m.model.requested.clone(),
        };
        let tokens = m.usage.prompt_tokens + m.usage.completion_tokens;
        let cost = m
            .usage
            .cost_usd
            .map(|c| format!(" ${c:.4}"))
            .unwrap_or_default();
        println!(
            "{:<48} {:<12} {:<36} {:>4} {:>9} {:>9} {:>9} {:>6.1}s{cost}",
            m.run_id,
            m.label.as_deref().unwrap_or("-"),
            preview(&model, 36),
            m.inputs.len(),
            ok,
            failed,
            tokens,
            m.duration_s
        );
    }
    Ok(Outcome::Clean)
}

/// The prompt files a task depends on (keys of the manifest's `prompts`).
fn prompt_keys(task: Task) -> &'static [&'static str] {
    match task {
        Task::Translate => &["translate@", "glossary"],
        Task::Summary => &["summary_map@", "summary_reduce@", "glossary"],
        Task::Stance => &["stance@", "stance_topics", "glossary"],
    }
}

/// The run arguments of a command that plans calls without making them (status, batch export):
/// everything else comes from the configuration.
fn planning_args(inputs: &[std::path::PathBuf], endpoint: &crate::cli::EndpointArgs) -> RunArgs {
    RunArgs {
        inputs: inputs.to_vec(),
        out: None,
        endpoint: endpoint.clone(),
        tasks: None,
        label: None,
        refresh: false,
        concurrency: None,
        no_progress: true,
        dry_run: true,
        model_path: None,
    }
}

fn batch_export_command(args: &BatchExportArgs, config: &Config) -> anyhow::Result<Outcome> {
    let ep = &config.endpoint;
    let (Some(base_url), Some(model)) = (&ep.base_url, &ep.model) else {
        anyhow::bail!(
            "a batch is made for one endpoint and model, which are part of every cache key: set \
             endpoint.base_url and endpoint.model (tolk.toml, TOLK_ENDPOINT_*, or --endpoint and \
             --model) to those `tolk run` will use after the import"
        );
    };
    let id = endpoint_identity(config);
    let opts = run_options(&planning_args(&args.inputs, &args.endpoint), config, &id)?;
    let target = crate::batch::Target {
        endpoint: base_url.clone(),
        model: model.clone(),
        mode: id.mode,
        extra_body: ep.extra_body.clone(),
    };
    let limits = crate::batch::Limits {
        max_lines: args.max_lines,
        max_bytes: args.max_bytes,
    };
    let rt = runtime()?;
    let report = rt.block_on(crate::batch::export(&opts, &target, &args.out, limits))?;
    for f in &report.failed_inputs {
        eprintln!("error: {}", pipeline::read_error(f));
    }
    let round = match (report.round1, report.round2) {
        (0, 0) => "nothing to export".to_string(),
        (_, 0) => "round 1".to_string(),
        (0, _) => "round 2 (second-round calls whose first-round answers are cached)".to_string(),
        _ => "rounds 1 and 2".to_string(),
    };
    eprintln!(
        "{} calls exported ({round}: {} first-round, {} second-round); {} answered from the cache",
        report.calls(),
        report.round1,
        report.round2,
        report.cached
    );
    if report.exported_before > 0 {
        eprintln!(
            "{} of them were exported before and their results not imported yet",
            report.exported_before
        );
    }
    if report.waiting.is_empty() {
        if report.calls() > 0 {
            eprintln!(
                "nothing remains after this batch: import its results, then `tolk run` completes from the cache"
            );
        }
    } else {
        eprintln!(
            "remaining: {} second-round call{} after this batch; import its results and export again:",
            report.waiting.len(),
            if report.waiting.len() == 1 { "" } else { "s" }
        );
        for w in &report.waiting {
            eprintln!("  {w}");
        }
    }
    for f in &report.files {
        println!("{}", f.path.display());
    }
    Ok(if report.failed_inputs.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Partial
    })
}

fn batch_import_command(args: &BatchImportArgs, config: &Config) -> anyhow::Result<Outcome> {
    let report = crate::batch::import(&config.run.out, &args.results)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for (label, list) in [
            ("failed", &report.failed),
            ("unknown", &report.unknown),
            ("malformed", &report.malformed),
        ] {
            for f in list {
                let call = f
                    .call
                    .as_deref()
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default();
                let id = if f.custom_id.is_empty() {
                    String::new()
                } else {
                    format!(": {}", f.custom_id)
                };
                println!("{label}: {}{id}{call}: {}", f.at, f.reason);
            }
        }
        println!(
            "{} lines: {} answers stored, {} already cached, {} duplicates ignored, {} failed, {} unknown custom_id, {} malformed",
            report.lines,
            report.stored,
            report.already_cached,
            report.duplicates,
            report.failed.len(),
            report.unknown.len(),
            report.malformed.len()
        );
        if !report.failed.is_empty() {
            println!(
                "`tolk run` makes the failed calls live; `tolk batch export` writes them again for another batch"
            );
        }
    }
    Ok(if report.clean() {
        Outcome::Clean
    } else {
        Outcome::Partial
    })
}

fn status_command(args: &StatusArgs, config: &Config) -> anyhow::Result<Outcome> {
    let id = endpoint_identity(config);
    let opts = run_options(&planning_args(&args.inputs, &args.endpoint), config, &id)?;
    let (endpoint, model, mode) = (id.endpoint.clone(), id.model.clone(), id.mode);
    let (rows, failed) = pipeline::plan(&opts, &endpoint, &model, mode)?;
    let prompts = crate::prompt::PromptSet::load(&opts.prompts)?;
    let history = runs::list_runs(&opts.out);
    let mut out_rows = Vec::new();
    for r in &rows {
        let task = Task::parse(&r.task).expect("planned tasks are known");
        let to_make = r.calls - r.cached;
        // The newest run that did this task for this document.
        let last = history.iter().find_map(|m| {
            m.inputs
                .iter()
                .find(|i| i.doc_id == r.doc_id && i.tasks.contains_key(task.name()))
                .map(|i| (m, i))
        });
        let current_sha = std::fs::read(
            files_by_id(&opts.inputs)
                .get(&r.doc_id)
                .cloned()
                .unwrap_or_default(),
        )
        .map(|b| ingest::sha256_hex(&b))
        .unwrap_or_default();
        let why = match last {
            _ if to_make == 0 => None,
            None => Some("never run".to_string()),
            Some((m, i)) => {
                let mut why = Vec::new();
                if i.sha256 != current_sha {
                    why.push("input changed".to_string());
                }
                let changed: Vec<String> = prompts
                    .hashes
                    .iter()
                    .filter(|(k, _)| prompt_keys(task).iter().any(|p| k.starts_with(p)))
                    .filter(|(k, v)| m.prompts.get(*k) != Some(*v))
                    .map(|(k, _)| k.clone())
                    .collect();
                if !changed.is_empty() {
                    why.push(format!("prompt changed ({})", changed.join(", ")));
                }
                if m.model.requested != model {
                    why.push(format!("model changed ({} -> {model})", m.model.requested));
                }
                if i.tasks.get(task.name()).is_some_and(|s| s != "ok") {
                    why.push("failed last time".to_string());
                }
                if why.is_empty() {
                    why.push("not in the cache".to_string());
                }
                Some(why.join("; "))
            }
        };
        out_rows.push(serde_json::json!({
            "doc_id": r.doc_id,
            "task": r.task,
            "status": if why.is_none() { "up to date" } else { "stale" },
            "why": why,
            "calls": to_make,
            "estimated_tokens": r.prompt_tokens + r.completion_tokens,
        }));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out_rows)?);
    } else {
        let w = rows
            .iter()
            .map(|r| r.doc_id.len())
            .max()
            .unwrap_or(8)
            .max(8);
        println!(
            "{:<w$}  {:<10} {:<10} {:>5} {:>8}  why",
            "document", "task", "status", "calls", "tokens"
        );
        for r in &out_rows {
            println!(
                "{:<w$}  {:<10} {:<10} {:>5} {:>8}  {}",
                r["doc_id"].as_str().unwrap_or(""),
                r["task"].as_str().unwrap_or(""),
                r["status"].as_str().unwrap_or(""),
                r["calls"].as_u64().unwrap_or(0),
                r["estimated_tokens"].as_u64().unwrap_or(0),
                r["why"].as_str().unwrap_or("")
            );
        }
    }
    for f in failed {
        eprintln!(
            "error: {}",
            f.tasks.values().next().map(String::as_str).unwrap_or("")
        );
    }
    Ok(Outcome::Clean)
}

/// doc_id -> file, for the inputs.
fn files_by_id(
    inputs: &[std::path::PathBuf],
) -> std::collections::BTreeMap<String, std::path::PathBuf> {
    ingest::collect_inputs(inputs)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| Some((p.file_stem()?.to_string_lossy().into_owned(), p)))
        .collect()
}

fn diff_command(args: &DiffArgs, config: &Config) -> anyhow::Result<Outcome> {
    let out = &config.run.out;
    let a = runs::resolve_run(out, &args.a)?;
    let b = runs::resolve_run(out, &args.b)?;
    if let Some(t) = &args.task
        && Task::parse(t).is_none()
    {
        anyhow::bail!("unknown task {t:?} (translate, summary, stance)");
    }
    let task = args.task.as_deref().and_then(Task::parse).map(Task::name);
    let d = crate::diff::diff_runs(out, &a, &b, args.doc.as_deref(), task);
    if let Some(doc) = &args.doc
        && d.documents.is_empty()
    {
        anyhow::bail!("no document {doc:?} in either run");
    }
    match args.format {
        DiffFormat::Json => println!("{}", serde_json::to_string_pretty(&d)?),
        DiffFormat::Md => print!("{}", crate::diff::render_md(&d)),
        DiffFormat::Text => {
            use std::io::IsTerminal;
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            print!("{}", crate::diff::render_text(&d, color));
        }
    }
    Ok(Outcome::Clean)
}

fn report_command(args: &ReportArgs, config: &Config) -> anyhow::Result<Outcome> {
    let out = &config.run.out;
    if let Some(ab) = &args.diff {
        let a = runs::resolve_run(out, &ab[0])?;
        let b = runs::resolve_run(out, &ab[1])?;
        let d = crate::diff::diff_runs(out, &a, &b, None, None);
        let dir = args
            .out
            .clone()
            .unwrap_or_else(|| runs::run_dir(out, &b.run_id).join("report"));
        let page = dir.join(format!("diff-{}.html", a.run_id));
        crate::report::html::write_diff(&d, &b, &page)?;
        println!("{}", page.display());
        return Ok(Outcome::Clean);
    }
    let m = runs::resolve_run(out, args.run.as_deref().unwrap_or("latest"))?;
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| runs::run_dir(out, &m.run_id).join("report"));
    let written = crate::report::html::write_run(out, &m, &dir)?;
    eprintln!(
        "{} pages written for run {} ({} documents)",
        written.pages.len(),
        m.run_id,
        m.inputs.len()
    );
    println!("{}", written.pages[0].display());
    Ok(Outcome::Clean)
}

fn show_command(args: &ShowArgs, config: &Config) -> anyhow::Result<Outcome> {
    let out = &config.run.out;
    let manifest = runs::resolve_run(out, args.run.as_deref().unwrap_or("latest"))?;
    let ids: Vec<&str> = manifest.inputs.iter().map(|i| i.doc_id.as_str()).collect();
    let doc_id = match ids.iter().find(|i| **i == args.doc) {
        Some(i) => i.to_string(),
        None => {
            let hits: Vec<&&str> = ids.iter().filter(|i| i.contains(&args.doc)).collect();
            match hits.as_slice() {
                [one] => one.to_string(),
                [] => anyhow::bail!(
                    "no document {:?} in run {} (it has: {})",
                    args.doc,
                    manifest.run_id,
                    ids.join(", ")
                ),
                _ => anyhow::bail!(
                    "{:?} matches several documents: {}",
                    args.doc,
                    hits.iter().map(|s| **s).collect::<Vec<&str>>().join(", ")
                ),
            }
        }
    };
    let dir = runs::run_dir(out, &manifest.run_id).join(&doc_id);
    let width = console::Term::stdout()
        .size_checked()
        .map_or(100, |(_, w)| w as usize);
    let task = args
        .task
        .as_deref()
        .map(|t| Task::parse(t).ok_or_else(|| anyhow::anyhow!("unknown task {t:?}")))
        .transpose()?;
    let stance: Option<crate::tasks::stance::StanceOut> =
        crate::store::read_json(&dir.join("stance.json")).ok();
    if let Some(w) = &manifest.warning {
        println!("note: {w}");
    }
    match task.unwrap_or(Task::Translate) {
        Task::Translate => {
            let t: crate::tasks::translate::TranslationOut =
                crate::store::read_json(&dir.join("translation.json"))?;
            let original: Vec<String> = std::fs::read_to_string(&t.source.path)
                .map(|s| {
                    ingest::split_lines(&s)
                        .into_iter()
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_else(|_| Vec::new());
            print!(
                "{}",
                crate::report::terminal::bilingual(&t, &original, stance.as_ref(), width)
            );
        }
        Task::Summary => {
            let su: crate::tasks::summary::SummaryOut =
                crate::store::read_json(&dir.join("summary.json"))?;
            print!("{}", crate::report::terminal::summary(&su, width.min(100)));
        }
        Task::Stance => {
            let st = stance.ok_or_else(|| {
                anyhow::anyhow!("no stance for {doc_id} in run {}", manifest.run_id)
            })?;
            print!("{}", crate::report::terminal::stance(&st));
        }
    }
    Ok(Outcome::Clean)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn ping_command(config: &Config) -> anyhow::Result<Outcome> {
    let ep = &config.endpoint;
    let base = llm::openai_from_config(ep)?;
    let options = llm::client_options(ep, config.chunk.encoding);
    let rt = runtime()?;
    let endpoint = base.info().endpoint;
    let model = base.info().model;
    println!("endpoint:  {endpoint}");
    println!("requested: {model}");
    // Probe afresh (a mode set in the configuration is kept, not probed) and remember it.
    let caps = rt
        .block_on(llm::probe::probe(
            base.settings(),
            &options,
            ep.structured_output,
        ))
        .with_context(|| format!("ping {endpoint} failed"))?;
    print_probe(&caps, &mut std::io::stdout())?;
    if let Err(e) = llm::probe::save(&config.run.out, &caps) {
        tracing::warn!("could not remember the probe: {e}");
    }
    let id = endpoint_identity_with(config, &caps);
    let mut settings = base.settings().clone();
    settings.mode = id.mode;
    let client = llm::Client::new(
        std::sync::Arc::new(llm::openai::OpenAiProvider::new(settings)?),
        options,
    );
    let request = llm::ChatRequest {
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
        temperature: Some(ep.temperature),
        seed: ep.seed,
    };
    let started = std::time::Instant::now();
    let result = rt.block_on(client.chat_json(&request));
    let elapsed = started.elapsed();
    match result {
        Ok((completion, _)) => {
            println!(
                "resolved:  {}",
                completion.model.as_deref().unwrap_or("(not reported)")
            );
            println!("latency:   {} ms", elapsed.as_millis());
            println!("structured output ({}): ok", id.mode.as_str());
            Ok(Outcome::Clean)
        }
        Err(e) => {
            println!("latency:   {} ms", elapsed.as_millis());
            Err(anyhow::Error::new(e).context(format!("ping {endpoint} failed")))
        }
    }
}

fn models_command(config: &Config) -> anyhow::Result<Outcome> {
    let provider = llm::openai_from_config(&config.endpoint)?;
    let rt = runtime()?;
    let (ids, _) = rt.block_on(provider.models())?;
    for id in ids {
        println!("{id}");
    }
    Ok(Outcome::Clean)
}

fn chunk_command(args: &ChunkArgs, config: &Config) -> anyhow::Result<Outcome> {
    let files = ingest::collect_inputs(&args.paths)?;
    let cfg = config.chunk_config();
    let mut failed = 0;
    let mut json_docs = Vec::new();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for file in &files {
        let doc = match ingest::read(file) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("error: {e}");
                failed += 1;
                continue;
            }
        };
        for w in &doc.warnings {
            eprintln!("warning: {w}");
        }
        let chunking = chunk::split(&doc, &cfg);
        for w in &chunking.warnings {
            eprintln!("warning: {w}");
        }
        if args.json {
            let chunks: Vec<serde_json::Value> = chunking
                .chunks
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "index": c.index,
                        "lines": c.lines,
                        "byte_range": c.byte_range,
                        "tokens": c.tokens,
                        "paragraphs": c.paragraphs,
                        "text": c.text,
                    })
                })
                .collect();
            if files.len() == 1 && !args.paragraphs {
                json_docs.push(serde_json::Value::Array(chunks));
            } else {
                let mut v =
                    serde_json::json!({"doc_id": doc.id, "path": doc.path, "chunks": chunks});
                if args.paragraphs {
                    v["paragraphs"] = serde_json::to_value(&doc.paragraphs)?;
                }
                json_docs.push(v);
            }
            continue;
        }
        writeln!(
            out,
            "{}: {} lines, {} paragraphs, {} chunks (budget {} tokens, {})",
            doc.id,
            doc.line_count,
            doc.paragraphs.len(),
            chunking.chunks.len(),
            cfg.max_tokens,
            cfg.encoding.name()
        )?;
        if args.paragraphs {
            for p in &doc.paragraphs {
                writeln!(
                    out,
                    "  {:<5} {:<10} L{}-{}  {}",
                    p.id,
                    p.kind.as_str(),
                    p.lines[0],
                    p.lines[1],
                    preview(&p.text, 80)
                )?;
            }
        }
        writeln!(
            out,
            "  {:>5}  {:<11} {:<13} {:>6}  {:<12} text",
            "chunk", "lines", "bytes", "tokens", "paragraphs"
        )?;
        for c in &chunking.chunks {
            let paras = match (c.paragraphs.first(), c.paragraphs.last()) {
                (Some(a), Some(b)) if a != b => format!("{a}-{b}"),
                (Some(a), _) => a.clone(),
                _ => String::new(),
            };
            writeln!(
                out,
                "  {:>5}  {:<11} {:<13} {:>6}  {:<12} {}",
                c.index,
                format!("L{}-{}", c.lines[0], c.lines[1]),
                format!("{}-{}", c.byte_range[0], c.byte_range[1]),
                c.tokens,
                paras,
                preview(&c.text, 60)
            )?;
        }
    }
    if args.json {
        let v = if json_docs.len() == 1 && files.len() == 1 && !args.paragraphs {
            json_docs.pop().unwrap_or_default()
        } else {
            serde_json::Value::Array(json_docs)
        };
        serde_json::to_writer_pretty(&mut out, &v).context("writing JSON")?;
        writeln!(out)?;
    }
    if failed > 0 {
        eprintln!("{failed} of {} files could not be read", files.len());
        return Ok(Outcome::Partial);
    }
    Ok(Outcome::Clean)
}

/// The first `n` characters of `text` on one line.
pub fn preview(text: &str, n: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let mut s: String = flat.chars().take(n).collect();
    if flat.chars().count() > n {
        s.push('…');
    }
    s
}
