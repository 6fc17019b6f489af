//! Tasks: translate, summary, stance, and the second reading of a translation (review, then
//! refine). Each turns a document and its chunks into calls (a
//! rendered [`ChatRequest`] with a JSON Schema) and turns the validated answers into a typed,
//! grounded result.
//!
//! The unit of translation is the [`Segment`]: a paragraph, or the part of a paragraph inside one
//! chunk when a paragraph is longer than the budget. Segments of a document cover every original
//! line that has text exactly once (a line belongs to the segment its text begins in).

pub mod ask;
pub mod finding;
mod graph;
pub mod questions;
pub mod refine;
pub mod review;
mod segment;
pub mod stance;
pub mod summary;
pub mod translate;

use crate::chunk::{Chunk, TokenEncoding};
use crate::ingest::Document;
use crate::llm::{BoxFuture, ChatRequest, LlmError, SchemaSpec};
use crate::prompt::{PromptError, PromptSet};
pub use graph::{Read, Task, When, names};
pub use segment::{Segment, inside_block, segments, segments_json, whole_document};
use serde::{Deserialize, Serialize};

/// The longest `maxLength` (and `maxItems`) a schema for the embedded model may use. llama.cpp's
/// grammar parser turns a repetition of more than 2,000 into an unbounded one without a word, so
/// a larger bound would not stop anything (a 2,920-character bound let a looping translation run
/// to the token limit).
pub const GRAMMAR_MAX_LENGTH: usize = 2000;

/// `CallSpec::what` of a call that covers the whole letter in one prompt.
pub const WHOLE_LETTER: &str = "letter";

impl Task {
    /// The task's own knowledge: the one place that matches on the task.
    pub fn kind(self) -> &'static dyn TaskKind {
        match self {
            Task::Translate => &translate::Translate,
            Task::Summary => &summary::Summary,
            Task::Stance => &stance::Stance,
            Task::Questions => &questions::Questions,
            Task::Review => &review::Review,
            Task::Refine => &refine::Refine,
        }
    }

    /// `translation.json`, `summary.json`, `stance.json`.
    pub fn json_file(self) -> String {
        format!("{}.json", self.kind().about().file)
    }

    /// `translation.md`, ...
    pub fn md_file(self) -> String {
        format!("{}.md", self.kind().about().file)
    }

    /// Run the task on a document: its calls go through `caller` (the cache, then the endpoint).
    pub fn run<'a>(
        self,
        doc: &'a Document,
        chunks: &'a [Chunk],
        ctx: &'a TaskContext,
        caller: &'a dyn Caller,
    ) -> BoxFuture<'a, TaskResult> {
        self.run_after(doc, chunks, ctx, caller, Prior::default())
    }

    /// [`Task::run`] with the outputs of the tasks it reads ([`Task::needs`]).
    pub fn run_after<'a>(
        self,
        doc: &'a Document,
        chunks: &'a [Chunk],
        ctx: &'a TaskContext,
        caller: &'a dyn Caller,
        prior: Prior<'a>,
    ) -> BoxFuture<'a, TaskResult> {
        self.kind().run(Input {
            doc,
            chunks,
            ctx,
            caller,
            prior,
        })
    }
}

/// A task's fixed facts.
#[derive(Debug)]
pub struct About {
    /// The output file stem: `translation` for translation.json and translation.md.
    pub file: &'static str,
    /// The prompt files it depends on, as prefixes of the manifest's `prompts` keys.
    pub prompt_keys: &'static [&'static str],
}

/// What a task runs on: a document, its chunks, the run's context, and the caller its calls go
/// through (the cache, then the endpoint; or a recorder, for a plan).
#[derive(Clone, Copy)]
pub struct Input<'a> {
    pub doc: &'a Document,
    pub chunks: &'a [Chunk],
    pub ctx: &'a TaskContext,
    pub caller: &'a dyn Caller,
    /// The outputs of the tasks this one reads: review reads the translation, refine both.
    pub prior: Prior<'a>,
}

/// The outputs a task reads ([`Task::reads`]), typed, when the run has them: before its calls
/// (review reads the translation, refine both) or before its output is final (the
/// translation reads refine's English, the stance the final translation).
#[derive(Clone, Copy, Default)]
pub struct Prior<'a> {
    pub translation: Option<&'a translate::TranslationOut>,
    pub review: Option<&'a review::ReviewOut>,
    pub refine: Option<&'a refine::RefineOut>,
}

impl<'a> Prior<'a> {
    /// The outputs among `outputs` that `task` reads `when`.
    pub fn of(task: Task, when: When, outputs: &[(Task, &'a TaskOutput)]) -> Prior<'a> {
        let mut prior = Prior::default();
        for r in task.reads().iter().filter(|r| r.when == when) {
            match outputs.iter().find(|(t, _)| *t == r.task).map(|(_, o)| *o) {
                Some(TaskOutput::Translation(o)) => prior.translation = Some(o),
                Some(TaskOutput::Review(o)) => prior.review = Some(o),
                Some(TaskOutput::Refine(o)) => prior.refine = Some(o),
                Some(TaskOutput::Summary(_) | TaskOutput::Stance(_) | TaskOutput::Questions(_))
                | None => {}
            }
        }
        prior
    }
}

/// What the rest of tolk knows about a task, kept in the task's own module: its output file,
/// the prompt files it depends on, how many calls it makes, and how to run it. The pipeline, the
/// plan, `tolk status` and batch export ask this, never a `match` of their own.
pub trait TaskKind: Sync {
    fn about(&self) -> &'static About;
    /// How many calls it makes on these chunks, every round included.
    fn call_count(&self, doc: &Document, chunks: &[Chunk], ctx: &TaskContext) -> usize;
    /// Estimated (prompt, completion) tokens of a call that cannot be rendered before the
    /// answers of an earlier round are in (the summary's reduce step); tasks of one round have
    /// none.
    fn later_round_tokens(&self, _chunks: &[Chunk]) -> (u64, u64) {
        (0, 0)
    }
    /// Run the task.
    fn run<'a>(&'a self, on: Input<'a>) -> BoxFuture<'a, TaskResult>;
    /// Make the output final with the outputs it reads [`When::BeforeFinal`] (those the run
    /// has); no call is made here. Most tasks' outputs are final when their calls are done.
    fn finish(&self, _output: &mut TaskOutput, _read: Prior<'_>) {}
}

/// Why one call has no answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// The endpoint or the model failed: the typed error says how.
    #[error(transparent)]
    Llm(#[from] LlmError),
    /// No connection to the endpoint could be made (or the embedded model could not be loaded),
    /// so no call of the run can be made.
    #[error("not connected: {0}")]
    NotConnected(LlmError),
    /// Not called but written to a batch file (`tolk batch export`), or only planned.
    #[error("deferred to a batch")]
    Deferred,
}

impl CallError {
    /// The endpoint's error, if the call was made and failed.
    pub fn llm(&self) -> Option<&LlmError> {
        match self {
            CallError::Llm(e) | CallError::NotConnected(e) => Some(e),
            CallError::Deferred => None,
        }
    }
}

/// One call of a task that has no answer, and why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{what}: {error}")]
pub struct CallFailure {
    /// "chunk 2/5", "notes 1/3", "summary", "letter", "part 2/4".
    pub what: String,
    pub error: CallError,
}

/// Why a task has no (complete) result.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// Some of its calls have no answer (the others' answers are cached).
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Calls(Vec<CallFailure>),
    #[error(transparent)]
    Prompt(#[from] PromptError),
    /// The output it reads is not there (that task failed before any of it was done).
    #[error("{} needs the {} output, and there is none", .task.name(), .needs.name())]
    Needs { task: Task, needs: Task },
    /// tolk itself failed on this letter (a panic): a bug, said as one, so that the letter is
    /// not silently left out of the run.
    #[error("internal error, a bug in tolk (please report it): {0}")]
    Internal(String),
}

impl TaskError {
    pub fn failures(&self) -> &[CallFailure] {
        match self {
            TaskError::Calls(f) => f,
            TaskError::Prompt(_) | TaskError::Needs { .. } | TaskError::Internal(_) => &[],
        }
    }

    /// A call was refused as longer than the model's context.
    pub fn context_exceeded(&self) -> bool {
        self.failures()
            .iter()
            .any(|f| f.error.llm().is_some_and(LlmError::context_exceeded))
    }

    /// The call `what` was cut off at the token limit.
    pub fn cut_off(&self, what: &str) -> bool {
        self.failures()
            .iter()
            .any(|f| f.what == what && matches!(f.error.llm(), Some(LlmError::Truncated { .. })))
    }

    /// The connection error, when the task failed because no call could be made at all.
    pub fn not_connected(&self) -> Option<&LlmError> {
        self.failures().iter().find_map(|f| match &f.error {
            CallError::NotConnected(e) => Some(e),
            _ => None,
        })
    }
}

/// A task's output, typed. Serialised as the output itself (translation.json, ...).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum TaskOutput {
    Translation(translate::TranslationOut),
    Summary(summary::SummaryOut),
    Stance(stance::StanceOut),
    Questions(questions::QuestionsOut),
    Review(review::ReviewOut),
    Refine(refine::RefineOut),
}

/// The page or pages of some lines of a PDF letter; nothing for a text letter.
#[derive(
    Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq, Eq, schemars::JsonSchema,
)]
pub struct Pages {
    /// The one page the lines are on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// First and last page, when the lines run across a page break.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<[u32; 2]>,
}

impl Pages {
    pub fn of(doc: &Document, lines: [u32; 2]) -> Pages {
        match doc.pages_of(lines) {
            Some([a, b]) if a == b => Pages {
                page: Some(a),
                pages: None,
            },
            Some(p) => Pages {
                page: None,
                pages: Some(p),
            },
            None => Pages::default(),
        }
    }

    /// "p. 2", "pp. 2-3", or nothing.
    pub fn label(&self) -> Option<String> {
        match (self.page, self.pages) {
            (Some(p), _) => Some(format!("p. {p}")),
            (None, Some([a, b])) => Some(format!("pp. {a}-{b}")),
            _ => None,
        }
    }

    /// The first page (for a link into the PDF).
    pub fn first(&self) -> Option<u32> {
        self.page.or(self.pages.map(|p| p[0]))
    }
}

impl TaskOutput {
    /// The output of `task` written at `path` (its `.json` file), if it is there and reads.
    pub fn read(task: Task, path: &std::path::Path) -> Option<TaskOutput> {
        let bytes = std::fs::read(path).ok()?;
        Some(match task {
            Task::Translate => TaskOutput::Translation(serde_json::from_slice(&bytes).ok()?),
            Task::Summary => TaskOutput::Summary(serde_json::from_slice(&bytes).ok()?),
            Task::Stance => TaskOutput::Stance(serde_json::from_slice(&bytes).ok()?),
            Task::Questions => TaskOutput::Questions(serde_json::from_slice(&bytes).ok()?),
            Task::Review => TaskOutput::Review(serde_json::from_slice(&bytes).ok()?),
            Task::Refine => TaskOutput::Refine(serde_json::from_slice(&bytes).ok()?),
        })
    }

    /// The pages of every segment, key point and quote, for a PDF letter (nothing changes for a
    /// text letter). Filled when the outputs are written, like the checks, so cached answers get
    /// them too.
    pub fn fill_pages(&mut self, doc: &Document) {
        if doc.pdf.is_none() {
            return;
        }
        match self {
            TaskOutput::Translation(o) => {
                for s in &mut o.segments {
                    s.pages = Pages::of(doc, s.lines);
                }
            }
            TaskOutput::Summary(o) => {
                for k in &mut o.key_points {
                    if let (Some(a), Some(b)) = (k.lines.first(), k.lines.last()) {
                        k.pages = Pages::of(doc, [a[0], b[1]]);
                    }
                }
            }
            TaskOutput::Stance(o) => {
                for e in o
                    .topics
                    .iter_mut()
                    .flat_map(|t| t.evidence.iter_mut())
                    .chain(o.overall.evidence.iter_mut())
                {
                    if let Some(lines) = e.lines {
                        e.pages = Pages::of(doc, lines);
                    }
                }
            }
            TaskOutput::Questions(o) => {
                for e in o.answers.iter_mut().flat_map(|a| a.evidence.iter_mut()) {
                    if let Some(lines) = e.lines {
                        e.pages = Pages::of(doc, lines);
                    }
                }
            }
            // Their pages are found with their lines.
            TaskOutput::Review(_) | TaskOutput::Refine(_) => {}
        }
    }

    /// The model recorded in the output; `fallback` (the run's) when no answer named one.
    pub fn fill_model(&mut self, fallback: &str) {
        let model = match self {
            TaskOutput::Translation(o) => &mut o.model,
            TaskOutput::Summary(o) => &mut o.model,
            TaskOutput::Stance(o) => &mut o.model,
            TaskOutput::Questions(o) => &mut o.model,
            TaskOutput::Review(o) => &mut o.model,
            TaskOutput::Refine(o) => &mut o.model,
        };
        if model.is_empty() {
            *model = fallback.to_string();
        }
    }
}

/// What a task's run records besides its output.
#[derive(Debug, Clone, Default)]
pub struct Notes {
    pub warnings: Vec<String>,
    /// Key-point citations of paragraph ids that do not exist (dropped).
    pub dropped_citations: u32,
    /// Quotes that could not be found in the source (kept, flagged unverified).
    pub unverified_quotes: u32,
}

/// How a task ended: its output (a translation has one even when some chunks failed: those
/// segments have no English), what it noted, and the error when it is not complete.
#[derive(Debug)]
pub struct TaskResult {
    pub output: Option<TaskOutput>,
    pub notes: Notes,
    pub error: Option<TaskError>,
}

impl TaskResult {
    pub fn failed(error: impl Into<TaskError>) -> TaskResult {
        TaskResult {
            output: None,
            notes: Notes::default(),
            error: Some(error.into()),
        }
    }

    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }
}

/// One call a task needs.
#[derive(Debug, Clone)]
pub struct CallSpec {
    pub task: Task,
    pub doc_id: String,
    /// What this call is for, in messages: "chunk 2/5", "summary".
    pub what: String,
    /// 1, or 2 for a call rendered from answers of round 1 (the summary's reduce step).
    pub round: u8,
    /// The completion tokens the task expects (for plans and cost estimates).
    pub expected_tokens: u64,
    pub request: ChatRequest,
}

/// What a cached or live call gives back.
#[derive(Debug, Clone)]
pub struct Answer {
    pub value: serde_json::Value,
    pub model: Option<String>,
    pub cached: bool,
}

/// Runs calls (the pipeline's executor: cache first, then the endpoint).
pub trait Caller: Send + Sync {
    fn call(&self, spec: CallSpec) -> BoxFuture<'_, Result<Answer, CallError>>;
}

/// The answers of some calls made together: the values in order, the failures, and the model
/// that answered (the first one named).
pub struct Answers {
    pub values: Vec<Option<serde_json::Value>>,
    pub failures: Vec<CallFailure>,
    pub model: Option<String>,
}

impl Answers {
    /// The error of these calls, if any failed.
    pub fn error(&mut self) -> Option<TaskError> {
        (!self.failures.is_empty()).then(|| TaskError::Calls(std::mem::take(&mut self.failures)))
    }
}

/// Make `specs` together (the caller bounds concurrency) and collect their answers.
pub async fn call_all(caller: &dyn Caller, specs: &[CallSpec]) -> Answers {
    let answers = futures::future::join_all(specs.iter().map(|s| caller.call(s.clone()))).await;
    let mut out = Answers {
        values: Vec::with_capacity(specs.len()),
        failures: Vec::new(),
        model: None,
    };
    for (spec, a) in specs.iter().zip(answers) {
        match a {
            Ok(a) => {
                out.model = out.model.take().or(a.model);
                out.values.push(Some(a.value));
            }
            Err(error) => {
                out.failures.push(CallFailure {
                    what: spec.what.clone(),
                    error,
                });
                out.values.push(None);
            }
        }
    }
    out
}

/// What every task needs besides the document.
#[derive(Debug, Clone)]
pub struct TaskContext {
    pub prompts: PromptSet,
    pub encoding: TokenEncoding,
    pub temperature: f64,
    pub seed: Option<u64>,
    pub max_tokens: Option<u32>,
    /// A document whose text is at most this many tokens gets whole-document calls (stance,
    /// single-step summary); a longer one is handled per chunk and merged.
    pub whole_doc_tokens: usize,
    /// The answer is generated under a grammar made from its schema (the embedded model). Stance
    /// quotes are then constrained to the source's own sentences (an enum in the schema), so
    /// that every quote is exact by construction, and free text is bounded in length, so that a
    /// small model that runs on stops at the bound rather than at the token limit.
    pub grammar: bool,
    /// Translate one paragraph per call in plain text (`translate.mode = "segment"`), not one
    /// chunk per call as a JSON map of segment ids.
    pub segment_mode: bool,
    /// Summary and stance put the letter first and one question after it
    /// (`analysis.mode = "per_question"`, see [`ask`]); stance asks one topic per call.
    pub per_question: bool,
    /// Stance quotes are asked without their English, which is then taken from the letter's
    /// translation in the same run ([`stance::gloss`]): the run translates, and the quotes are the
    /// letter's own sentences (per question, under a grammar). A gloss written in the same long
    /// call cost the embedded model some 40 slow tokens a quote, and its 160-character bound cut
    /// it mid-sentence.
    pub gloss_from_translation: bool,
    /// The user's questions ([`questions`]): `[[questions]]` in tolk.toml, or `tolk ask`.
    pub questions: Vec<questions::Question>,
    /// Under a grammar, for a run that asks questions but does not translate: per letter (by
    /// its sha256) the run and the `translation.json` of an earlier translation in the output
    /// folder, whose English the answers' quotes take instead of the model's bounded gloss.
    pub earlier_translations: std::collections::BTreeMap<String, (String, std::path::PathBuf)>,
    /// The output folder's translation memory ([`crate::store::memory`]): a segment whose Dutch
    /// is in it is translated by it, without a call.
    pub memory: std::sync::Arc<crate::store::memory::Memory>,
}

impl TaskContext {
    /// A call of `task` on `doc`: the request from `messages` and `schema`, with this run's
    /// sampling parameters.
    #[allow(clippy::too_many_arguments)]
    pub fn spec(
        &self,
        task: Task,
        doc: &Document,
        what: String,
        messages: Vec<crate::llm::Message>,
        schema_name: &str,
        schema: serde_json::Value,
        expected_tokens: u64,
    ) -> CallSpec {
        CallSpec {
            task,
            doc_id: doc.id.clone(),
            what,
            round: 1,
            expected_tokens,
            request: self.request(messages, schema_name, schema),
        }
    }

    pub fn request(
        &self,
        messages: Vec<crate::llm::Message>,
        name: &str,
        schema: serde_json::Value,
    ) -> ChatRequest {
        ChatRequest {
            messages,
            schema: Some(SchemaSpec {
                name: name.into(),
                schema,
            }),
            max_tokens: self.max_tokens,
            temperature: Some(self.temperature),
            seed: self.seed,
            plain: false,
        }
    }
}

/// Where the output came from: the source file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Source {
    pub path: String,
    pub sha256: String,
}

impl Source {
    pub fn of(doc: &Document) -> Source {
        Source {
            path: doc.path.display().to_string(),
            sha256: doc.sha256.clone(),
        }
    }
}

/// Merge line ranges into sorted, non-overlapping, non-adjacent ranges.
pub fn merge_ranges(mut ranges: Vec<[u32; 2]>) -> Vec<[u32; 2]> {
    ranges.sort();
    let mut out: Vec<[u32; 2]> = Vec::new();
    for r in ranges {
        match out.last_mut() {
            Some(last) if r[0] <= last[1] + 1 => last[1] = last[1].max(r[1]),
            _ => out.push(r),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge() {
        assert_eq!(
            merge_ranges(vec![[5, 7], [1, 2], [3, 3], [9, 9]]),
            vec![[1, 3], [5, 7], [9, 9]]
        );
    }
}
