//! The top: parse arguments, load configuration, run a command, map the outcome to an exit code
//! (0 clean, 1 partial failure, 2 fatal). Errors are printed with their cause chain.

use crate::chunk;
use crate::cli::{ChunkArgs, Cli, Command, RunArgs};
use crate::config::{self, Config};
use crate::ingest;
use crate::llm::{self, Provider};
use crate::pipeline;
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
        Command::Models(_) => models_command(&config),
    }
}

/// Where the calls of a run go, from the configuration.
pub fn endpoint_from_config(config: &Config) -> anyhow::Result<pipeline::Endpoint> {
    let ep = &config.endpoint;
    let options = llm::client_options(ep, config.chunk.encoding);
    if ep.base_url.is_none() {
        anyhow::bail!(
            "no endpoint configured: set endpoint.base_url in tolk.toml, TOLK_ENDPOINT_BASE_URL, or --endpoint"
        );
    }
    let provider = std::sync::Arc::new(llm::openai_from_config(ep)?);
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
        mode: ep
            .structured_output
            .unwrap_or(crate::config::StructuredMode::JsonSchema),
        embedded: false,
        prices: match (ep.price_input_per_mtok, ep.price_output_per_mtok) {
            (Some(i), Some(o)) => Some((i, o)),
            (Some(i), None) => Some((i, 0.0)),
            (None, Some(o)) => Some((0.0, o)),
            (None, None) => None,
        },
        preflight: Some(preflight),
    })
}

/// Run options from the configuration and the run's flags.
pub fn run_options(args: &RunArgs, config: &Config) -> anyhow::Result<pipeline::RunOptions> {
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
    let whole_doc_tokens = config
        .endpoint
        .context_tokens
        .map(|c| (c as usize).saturating_sub(4000).max(1000))
        .unwrap_or(12_000);
    Ok(pipeline::RunOptions {
        inputs,
        out: config.run.out.clone(),
        prompts: config.run.prompts.clone(),
        tasks,
        label: args.label.clone(),
        refresh: args.refresh,
        progress: !args.no_progress,
        chunk: config.chunk_config(),
        temperature: config.endpoint.temperature,
        seed: config.endpoint.seed,
        max_tokens: config.endpoint.max_tokens,
        whole_doc_tokens,
        constrain_quotes: false,
    })
}

fn run_command(args: &RunArgs, config: &Config) -> anyhow::Result<Outcome> {
    let opts = run_options(args, config)?;
    let ep = endpoint_from_config(config)?;
    if args.dry_run {
        let (rows, failed) = pipeline::plan(&opts, &ep.endpoint, &ep.model, ep.mode)?;
        let w = rows
            .iter()
            .map(|r| r.doc_id.len())
            .max()
            .unwrap_or(8)
            .max(8);
        println!(
            "dry run: nothing is called. endpoint {}, model {}",
            ep.endpoint, ep.model
        );
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
        let cost = ep
            .prices
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
        for f in failed {
            eprintln!(
                "error: {}",
                f.tasks.values().next().map(|s| s.as_str()).unwrap_or("")
            );
        }
        return Ok(Outcome::Clean);
    }
    let rt = runtime()?;
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

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn ping_command(config: &Config) -> anyhow::Result<Outcome> {
    let provider = llm::openai_from_config(&config.endpoint)?;
    let endpoint = provider.info().endpoint;
    let model = provider.info().model;
    let client = llm::Client::new(
        std::sync::Arc::new(provider),
        llm::client_options(&config.endpoint, config.chunk.encoding),
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
        temperature: Some(config.endpoint.temperature),
        seed: config.endpoint.seed,
    };
    let mode = config
        .endpoint
        .structured_output
        .unwrap_or(crate::config::StructuredMode::JsonSchema);
    let rt = runtime()?;
    let started = std::time::Instant::now();
    let result = rt.block_on(client.chat_json(&request));
    let elapsed = started.elapsed();
    println!("endpoint:  {endpoint}");
    println!("requested: {model}");
    match result {
        Ok((completion, _)) => {
            println!(
                "resolved:  {}",
                completion.model.as_deref().unwrap_or("(not reported)")
            );
            println!("latency:   {} ms", elapsed.as_millis());
            println!("structured output ({}): ok", mode.as_str());
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
