//! The tasks by name, and the task graph: which task reads which output, and when.

use serde::{Deserialize, Serialize};

/// The tasks, in the order a run does them: review reads the translation, refine reads both.
///
/// Parsed in one place, [`Task::parse`] (clap's `ValueEnum`, with the aliases below), wherever a
/// task is named: `--tasks`, `--task`, `run.tasks` in tolk.toml and `TOLK_RUN_TASKS`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum Task {
    #[value(alias = "translation")]
    Translate,
    #[value(alias = "summarize", alias = "summarise")]
    Summary,
    Stance,
    /// The user's own questions (`tolk ask`, `[[questions]]` in tolk.toml), asked of every
    /// letter.
    #[value(alias = "ask", alias = "question")]
    Questions,
    /// Opt-in: the translation read again against the Dutch, errors marked and verified.
    Review,
    /// Opt-in: segments with verified major or critical errors translated again.
    Refine,
}

impl TryFrom<String> for Task {
    type Error = String;
    fn try_from(s: String) -> Result<Task, String> {
        Task::parse(&s).ok_or_else(|| format!("unknown task `{s}` (known: {})", names()))
    }
}

/// When a task reads another's output: before it runs (it cannot run without it), or before
/// its output is final (it takes it when the run has it: its calls do not wait).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Read by the task's calls: a run of the task brings the other task with it.
    BeforeRun,
    /// Read by [`TaskKind::finish`], after the task's calls, when the run has it.
    BeforeFinal,
}

/// One edge of the task graph: this task reads `task`'s output, `when`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    pub task: Task,
    pub when: When,
}

impl Task {
    pub const ALL: [Task; 6] = [
        Task::Translate,
        Task::Summary,
        Task::Stance,
        Task::Questions,
        Task::Review,
        Task::Refine,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Task::Translate => "translate",
            Task::Summary => "summary",
            Task::Stance => "stance",
            Task::Questions => "questions",
            Task::Review => "review",
            Task::Refine => "refine",
        }
    }

    /// A task by its name or an alias (`translation`, `summarise`), case aside.
    pub fn parse(s: &str) -> Option<Task> {
        <Task as clap::ValueEnum>::from_str(s.trim(), true).ok()
    }

    /// The task graph, declared in one place: whose output each task reads, and when. The
    /// scheduler, the plan (dry run, status, batch) and `--tasks` all follow it.
    ///
    /// - review reads the translation it reviews;
    /// - refine reads the translation and the review's verified errors;
    /// - the translation is final once refine (when the run has it) has put its English in;
    /// - the stance takes its quotes' English from the final translation, when the run
    ///   translates the letter too and the quotes were asked without it; so do the answers to
    ///   the user's questions.
    pub fn reads(self) -> &'static [Read] {
        const fn run(task: Task) -> Read {
            Read {
                task,
                when: When::BeforeRun,
            }
        }
        const fn fin(task: Task) -> Read {
            Read {
                task,
                when: When::BeforeFinal,
            }
        }
        const TRANSLATE: &[Read] = &[fin(Task::Refine)];
        const STANCE: &[Read] = &[fin(Task::Translate)];
        const REVIEW: &[Read] = &[run(Task::Translate)];
        const REFINE: &[Read] = &[run(Task::Translate), run(Task::Review)];
        match self {
            Task::Translate => TRANSLATE,
            Task::Summary => &[],
            Task::Stance | Task::Questions => STANCE,
            Task::Review => REVIEW,
            Task::Refine => REFINE,
        }
    }

    /// The tasks whose output this one's calls read ([`When::BeforeRun`]).
    pub fn needs(self) -> impl Iterator<Item = Task> {
        self.reads()
            .iter()
            .filter(|r| r.when == When::BeforeRun)
            .map(|r| r.task)
    }

    /// `tasks` with every task they need, each once, in the order a run does them.
    pub fn with_needs(tasks: &[Task]) -> Vec<Task> {
        let mut out: Vec<Task> = Vec::new();
        let mut todo: Vec<Task> = tasks.to_vec();
        while let Some(t) = todo.pop() {
            if !out.contains(&t) {
                out.push(t);
                todo.extend(t.needs());
            }
        }
        out.sort();
        out
    }
}

/// The task names, for messages: "translate, summary, stance, review, refine".
pub fn names() -> String {
    Task::ALL.map(Task::name).join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_is_known_by_its_name_and_its_aliases_in_any_case() {
        for t in Task::ALL {
            assert_eq!(Task::parse(t.name()), Some(t));
            assert_eq!(Task::parse(&t.name().to_uppercase()), Some(t));
        }
        assert_eq!(Task::parse(" translation "), Some(Task::Translate));
        assert_eq!(Task::parse("summarise"), Some(Task::Summary));
        assert_eq!(Task::parse("translat"), None);
        let from_config: Vec<Task> =
            serde_json::from_value(serde_json::json!(["translation", "review"])).unwrap();
        assert_eq!(from_config, [Task::Translate, Task::Review]);
        let err = serde_json::from_value::<Task>(serde_json::json!("stanse")).unwrap_err();
        assert!(err.to_string().contains("unknown task `stanse`"), "{err}");
    }

    #[test]
    fn the_task_graph_has_no_cycle_and_a_run_brings_what_its_tasks_need() {
        // Every edge goes from a later task to an earlier one, or is read before the output is
        // final (never before a run that would then wait on itself).
        for t in Task::ALL {
            for r in t.reads() {
                assert_ne!(r.task, t);
                if r.when == When::BeforeRun {
                    assert!(r.task < t, "{t:?} runs after {:?}", r.task);
                }
            }
        }
        assert_eq!(
            Task::with_needs(&[Task::Refine]),
            [Task::Translate, Task::Review, Task::Refine]
        );
        assert_eq!(
            Task::with_needs(&[Task::Stance, Task::Summary]),
            [Task::Summary, Task::Stance]
        );
    }
}
