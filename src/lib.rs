//! tolk turns Dutch letters into grounded English: every English sentence can be traced back to
//! the lines of the source file it came from.
//!
//! # Layout
//!
//! Data flows one way, top to bottom; a module uses only those below it (modules on one line
//! use neither each other nor anything above them).
//!
//! - [`commands`]: one file per command (run, ask, status, batch, inspect = runs/show/diff/report,
//!   endpoint = ping/models/model, chunk, prompts, eval, check, export, import): arguments -> a stage ->
//!   terminal output; [`reference`]: the generated `docs/reference/` (the CLI, every
//!   configuration key, the output files' JSON Schemas), from [`cli`], [`config`] and the types
//!   of the outputs
//! - [`cli`]: the command line (clap)
//! - [`batch`]: a run's calls as OpenAI Batch / vLLM run-batch files, and the results back
//! - [`pipeline`]: a run: inputs prepared, each letter's tasks scheduled as the task graph says
//!   ([`tasks::Task::reads`]), each call through the cache, retried with smaller pieces when
//!   that helps, every output made final and checked, the run folder and its manifest written;
//!   its plan without calling (dry run, status)
//! - [`report`]: Markdown beside every output, the terminal views, `tolk diff` as text, HTML;
//!   [`exchange`]: a run's English out as XLIFF and TMX for translators' tools, their work back
//!   into the output folder's translation memory ([`store::memory`])
//! - [`compare`]: what changed between two runs, computed; [`eval`]: scores against reference
//!   translations and gold labels; [`endpoint`]: the cache scope of the configured endpoint
//!   (one place for run, dry run, status and batch) and the connection, made on the first call
//!   the cache cannot answer
//! - [`checks`]: deterministic checks on every output (numbers, codes, names, glossary,
//!   untranslated, misaligned, negation, length...), findings kept with the output;
//!   [`config`]: defaults < tolk.toml < `TOLK_*` < flags
//! - [`tasks`]: translate, summary, stance, review, refine: the task contract and graph, and
//!   per task a document's chunks (and the outputs it reads) -> calls -> validated, grounded,
//!   final output ([`tasks::TaskResult`]), each task's knowledge in its own module
//! - [`prompt`]: the prompts, glossary and topics (built in, overridable), rendered strictly
//! - [`llm`]: the `Provider` trait, the OpenAI-compatible client with retries and validation,
//!   capability probing, the local (embedded) model, the API key
//! - [`store`]: atomic writes, the content-addressed cache, run manifests and typed statuses;
//!   [`ground`]: a quote -> an exact or fuzzy span of the source -> its lines; [`chunk`]: a
//!   document -> token-budgeted chunks with byte and line ranges
//! - [`ingest`]: a file -> decoded, normalised paragraphs with a line map back to the file;
//!   [`lang`]: words, links, and which language a text reads as; [`model_store`]: the models
//!   tolk can fetch for its embedded engine, fetched with pip; [`progress`]: the progress
//!   display; [`error`]: one way to print an error with its causes; [`xml`]: an element tree
//!   over quick-xml for the exchange files (XLIFF, TMX, TBX), errors at their line and column
//!
//! A letter's way through: `ingest` reads `input/x.txt` into a `Document` (paragraphs, each byte
//! mapped to its line), `chunk` cuts it into chunks that fit the budget, `pipeline` runs every
//! task on it: the task renders its prompts (`prompt`), each call goes to the `Executor`, which
//! answers from the cache or calls the endpoint and stores the validated answer at once; the task
//! turns the answers into its output, every quote grounded (`ground`) and every segment carrying
//! its source lines; `pipeline::write` puts the outputs and the manifest in
//! `output/runs/<run_id>/`, and `report` renders them, beside each JSON and as the HTML site.

pub mod batch;
pub mod checks;
pub mod chunk;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod config;
pub mod endpoint;
pub mod error;
pub mod eval;
pub mod exchange;
pub mod ground;
pub mod ingest;
pub mod lang;
pub mod llm;
pub mod model_store;
pub mod pipeline;
pub mod progress;
pub mod prompt;
pub mod reference;
pub mod report;
pub mod store;
pub mod tasks;
pub mod xml;
