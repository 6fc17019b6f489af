//! The commands: parse the arguments, load the configuration, run one command, map how it ended
//! to an exit code (0 clean, 1 partial failure, 2 fatal). Errors are printed with their cause
//! chain. Each command (or group) has its own file; what they share is here.

mod ask;
mod batch;
mod check;
mod chunk;
mod endpoint;
mod eval;
mod export;
mod import;
mod inspect;
mod prompts;
mod run;
mod status;
mod table;

use crate::cli::{
    BatchCommand, Cli, Command, ExportCommand, GlossaryCommand, ImportCommand, ModelCommand,
    PromptsCommand,
};
use crate::config::{self, Config};
use clap::Parser;
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
    match dispatch(cli) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Partial) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            match e.downcast_ref::<crate::pipeline::RunError>() {
                Some(crate::pipeline::RunError::Interrupted { signal }) => {
                    ExitCode::from(signal.exit_code())
                }
                _ => ExitCode::from(2),
            }
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

/// Run the command of `cli`.
pub fn dispatch(cli: Cli) -> anyhow::Result<Outcome> {
    let config = load_config(&cli)?;
    match &cli.command {
        Command::Run(a) => run::run(a, &config),
        Command::Ask(a) => ask::ask(a, &config),
        Command::Chunk(a) => chunk::chunk(a, &config),
        Command::Ping(_) => endpoint::ping(&config),
        Command::Models(_) => endpoint::models(&config),
        Command::Model(ModelCommand::List) => endpoint::model_list(&config),
        Command::Model(ModelCommand::Path { name }) => endpoint::model_path(name, &config),
        Command::Model(ModelCommand::Fetch { name }) => endpoint::model_fetch(name, &config),
        Command::Runs(a) => inspect::runs(a, &config),
        Command::Show(a) => inspect::show(a, &config),
        Command::Diff(a) => inspect::diff(a, &config),
        Command::Report(a) => inspect::report(a, &config),
        Command::Status(a) => status::status(a, &config),
        Command::Check(a) => check::check(a, &config),
        Command::Export(ExportCommand::Csv(a)) => export::csv(a, &config),
        Command::Export(ExportCommand::Xliff(a)) => export::xliff(a, &config),
        Command::Export(ExportCommand::Tmx(a)) => export::tmx(a, &config),
        Command::Import(ImportCommand::Xliff(a)) => import::xliff(a, &config),
        Command::Import(ImportCommand::Tmx(a)) => import::tmx(a, &config),
        Command::Glossary(GlossaryCommand::Suggest(a)) => export::glossary_suggest(a, &config),
        Command::Eval(a) => eval::eval(a, &config),
        Command::Batch(BatchCommand::Export(a)) => batch::export(a, &config),
        Command::Batch(BatchCommand::Import(a)) => batch::import(a, &config),
        Command::Prompts(PromptsCommand::Export { dir }) => prompts::export(dir),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
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
