//! What a run does, from the configuration, the endpoint's scope and the run's own flags: the
//! inputs, the tasks, the chunk budget and the policy numbers (with their reasons).

use crate::chunk::ChunkConfig;
use crate::config::{AnalysisMode, Config, TranslateMode};
use crate::endpoint::Scope;
use crate::prompt::PromptSet;
use crate::tasks::questions::Question;
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
    /// The user's glossary files (`run.glossaries`).
    pub glossaries: Vec<PathBuf>,
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
    /// Why `auto` chose the mode for an endpoint, for the terminal.
    pub translate_reason: Option<String>,
    /// `auto` on an endpoint with no decision yet: the run tries chunk mode on its first
    /// letter and decides ([`super::auto`]).
    pub translate_trial: bool,
    /// Combined or per question: `analysis.mode` with `auto` resolved for this endpoint.
    pub analysis_mode: AnalysisMode,
    /// The user's questions (`[[questions]]`, or the one of `tolk ask`).
    pub questions: Vec<Question>,
}

/// The mode `auto` means here: segment for the embedded model; for an endpoint, the mode an
/// earlier run decided for it and its model ([`super::auto`]), with why; else chunk, to be
/// tried on the run's first letter (the third value).
pub fn auto_mode(out: &std::path::Path, scope: &Scope) -> (TranslateMode, Option<String>, bool) {
    if scope.local {
        return (TranslateMode::Segment, None, false);
    }
    match super::auto::recorded(out, scope) {
        Some(d) => (
            d.mode,
            Some(format!(
                "{} (decided {}, kept in {})",
                d.why,
                d.decided_at,
                super::auto::FILE
            )),
            false,
        ),
        None => (TranslateMode::Chunk, None, true),
    }
}

impl RunOptions {
    /// Options from the configuration, the flags, and the endpoint's context size (configured,
    /// remembered or probed), which caps the chunk budget.
    pub fn new(config: &Config, scope: &Scope, flags: RunFlags) -> RunOptions {
        // Questions in tolk.toml are asked whenever the stance is, like its topics.
        let mut asked = config.run.tasks.clone();
        if !config.questions.is_empty()
            && asked.contains(&Task::Stance)
            && !asked.contains(&Task::Questions)
        {
            asked.push(Task::Questions);
        }
        if config.questions.is_empty() {
            // Nothing to ask: `tolk run --tasks questions` says so before it starts.
            asked.retain(|t| *t != Task::Questions);
        }
        let tasks = Task::with_needs(&asked);
        let (translate_mode, translate_reason, translate_trial) = match config.translate.mode {
            TranslateMode::Auto => auto_mode(&config.run.out, scope),
            m => (m, None, false),
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
            glossaries: config.run.glossaries.clone(),
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
            translate_trial,
            analysis_mode: config.analysis.mode.resolve(scope.local),
            questions: config.questions.clone(),
        }
    }

    /// What every task needs besides the document, with the prompts loaded.
    /// What every task needs besides the document, with the prompts loaded and the output
    /// folder's translation memory read.
    pub fn task_context(
        &self,
        prompts: PromptSet,
    ) -> Result<TaskContext, crate::store::StoreError> {
        Ok(TaskContext {
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
            questions: self.questions.clone(),
            earlier_translations: if self.grammar
                && self.tasks.contains(&Task::Questions)
                && !self.tasks.contains(&Task::Translate)
            {
                crate::store::run::translations(&self.out)
            } else {
                Default::default()
            },
            memory: std::sync::Arc::new(crate::store::memory::Memory::load(&self.out)?),
        })
    }

    /// The prompts of this run.
    pub fn load_prompts(&self) -> Result<PromptSet, crate::prompt::PromptError> {
        PromptSet::load_with(self.prompts.as_deref(), &self.glossaries)
    }
}
