//! What a run does, from the configuration, the endpoint's scope and the run's own flags: the
//! inputs, the tasks, the chunk budget and the policy numbers (with their reasons).

use crate::chunk::ChunkConfig;
use crate::config::{AnalysisMode, Config, TranslateMode};
use crate::endpoint::Scope;
use crate::prompt::PromptSet;
use crate::tasks::{Task, TaskContext};
use std::path::PathBuf;

/// A whole-letter call (stance, a summary from the source) on an endpoint of known context gets
/// the letter if the letter leaves this much room for the instructions, the schema and the
/// reply. The local model needs more: its bounded stance answer alone is up to 3,072 tokens.
const ROOM_REMOTE: usize = 4000;
const ROOM_LOCAL: usize = 4500;
/// ... and when the context is unknown, letters up to this many tokens go whole.
const WHOLE_LETTER_UNKNOWN_CONTEXT: usize = 12_000;

/// What the command line says about this run, beside the configuration.
#[derive(Debug, Clone, Default)]
pub struct RunFlags {
    /// Letters or folders; none: `run.input`.
    pub inputs: Vec<PathBuf>,
    pub label: Option<String>,
    pub refresh: bool,
    pub progress: bool,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub inputs: Vec<PathBuf>,
    pub out: PathBuf,
    /// The folder of prompt overrides, if any (see [`crate::prompt`]).
    pub prompts: Option<PathBuf>,
    pub tasks: Vec<Task>,
    pub label: Option<String>,
    pub refresh: bool,
    pub progress: bool,
    pub chunk: ChunkConfig,
    pub temperature: f64,
    pub seed: Option<u64>,
    pub max_tokens: Option<u32>,
    pub whole_doc_tokens: usize,
    pub grammar: bool,
    /// Chunk or segment: `translate.mode` with `auto` resolved for this endpoint.
    pub translate_mode: TranslateMode,
    /// Why `auto` chose segment mode for an endpoint, for the terminal.
    pub translate_reason: Option<String>,
    /// Combined or per question: `analysis.mode` with `auto` resolved for this endpoint.
    pub analysis_mode: AnalysisMode,
}

/// `auto` translates an endpoint's letters in segment mode when its last chunk-mode run in this
/// output folder left at least this share of segments copied: untranslated, misaligned or
/// identical to the Dutch.
const COPYING_SHARE: f64 = 0.2;
const COPYING_CHECKS: [&str; 3] = ["untranslated", "misaligned", "identical"];

/// The mode `auto` means here: segment for the embedded model; for an endpoint, chunk unless its
/// last chunk-mode run (same endpoint and model, in `out`) showed copying; then why.
pub fn auto_mode(out: &std::path::Path, scope: &Scope) -> (TranslateMode, Option<String>) {
    if scope.local {
        return (TranslateMode::Segment, None);
    }
    let last = crate::store::run::list_runs(out).into_iter().find(|m| {
        m.endpoint == scope.endpoint
            && m.model.requested == scope.model
            && m.params.translate_mode.as_deref().unwrap_or("chunk") == "chunk"
            && m.inputs.iter().any(|i| i.segments.is_some())
    });
    let Some(m) = last else {
        return (TranslateMode::Chunk, None);
    };
    let segments: u32 = m.inputs.iter().filter_map(|i| i.segments).sum();
    let copied: u32 = m
        .inputs
        .iter()
        .flat_map(|i| COPYING_CHECKS.iter().filter_map(|c| i.findings.get(*c)))
        .map(|c| c.total())
        .sum();
    if segments > 0 && f64::from(copied) >= COPYING_SHARE * f64::from(segments) {
        let why = format!(
            "translate.mode auto: segment mode, since run {} left {copied} of {segments} segments untranslated, misaligned or identical to the Dutch in chunk mode",
            m.run_id
        );
        (TranslateMode::Segment, Some(why))
    } else {
        (TranslateMode::Chunk, None)
    }
}

impl RunOptions {
    /// Options from the configuration, the flags, and the endpoint's context size (configured,
    /// remembered or probed), which caps the chunk budget.
    pub fn new(config: &Config, scope: &Scope, flags: RunFlags) -> RunOptions {
        let tasks = Task::with_needs(&config.run.tasks);
        let (translate_mode, translate_reason) = match config.translate.mode {
            TranslateMode::Auto => auto_mode(&config.run.out, scope),
            m => (m, None),
        };
        let inputs = if flags.inputs.is_empty() {
            vec![config.run.input.clone()]
        } else {
            flags.inputs
        };
        let mut chunk = config.chunk_config();
        if let Some(c) = scope.context_tokens {
            chunk.max_tokens = chunk
                .max_tokens
                .min(crate::llm::probe::chunk_budget_for_context(c));
        }
        let room = if scope.local { ROOM_LOCAL } else { ROOM_REMOTE };
        let whole_doc_tokens = scope
            .context_tokens
            .map(|c| (c as usize).saturating_sub(room).max(c as usize / 4))
            .unwrap_or(WHOLE_LETTER_UNKNOWN_CONTEXT);
        RunOptions {
            inputs,
            out: config.run.out.clone(),
            prompts: config.run.prompts_dir(),
            tasks,
            label: flags.label,
            refresh: flags.refresh,
            progress: flags.progress,
            chunk,
            temperature: config.endpoint.temperature,
            seed: config.endpoint.seed,
            max_tokens: if scope.local {
                Some(config.local.max_tokens)
            } else {
                config.endpoint.max_tokens
            },
            whole_doc_tokens,
            // The local model answers under a grammar made from the schema: exact quotes and
            // bounded text by construction.
            grammar: scope.local,
            translate_mode,
            translate_reason,
            analysis_mode: config.analysis.mode.resolve(scope.local),
        }
    }

    /// What every task needs besides the document, with the prompts loaded.
    pub fn task_context(&self, prompts: PromptSet) -> TaskContext {
        TaskContext {
            prompts,
            encoding: self.chunk.encoding,
            temperature: self.temperature,
            seed: self.seed,
            max_tokens: self.max_tokens,
            whole_doc_tokens: self.whole_doc_tokens,
            grammar: self.grammar,
            segment_mode: self.translate_mode == TranslateMode::Segment,
            per_question: self.analysis_mode == AnalysisMode::PerQuestion,
            gloss_from_translation: self.grammar
                && self.analysis_mode == AnalysisMode::PerQuestion
                && self.tasks.contains(&Task::Translate),
        }
    }

    /// The prompts of this run.
    pub fn load_prompts(&self) -> Result<PromptSet, crate::prompt::PromptError> {
        PromptSet::load(self.prompts.as_deref())
    }
}
