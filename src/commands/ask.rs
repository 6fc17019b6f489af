//! `tolk ask "QUESTION"`: one question of the user's asked of every letter, as a run of the
//! questions task (cached and versioned like every run), then the answers as a table.

use super::Outcome;
use super::run::{closing_table, start};
use super::table::{Align, Table};
use crate::cli::AskArgs;
use crate::config::Config;
use crate::store::read_json;
use crate::tasks::Task;
use crate::tasks::questions::{self, AnswerOut, Question, QuestionsOut};

pub fn ask(args: &AskArgs, config: &Config) -> anyhow::Result<Outcome> {
    let question = Question::new(
        &args.question,
        args.id.as_deref(),
        args.labels.clone(),
        args.terms.clone(),
    );
    questions::check_all(std::slice::from_ref(&question))?;
    let mut config = config.clone();
    config.questions = vec![question.clone()];
    config.run.tasks = vec![Task::Questions];
    let Some(report) = start(&args.inputs, &args.control, &config)? else {
        return Ok(Outcome::Clean);
    };
    eprint!("{}", closing_table(&report));
    let answers: Vec<(String, AnswerOut)> = report
        .manifest
        .inputs
        .iter()
        .filter_map(|i| {
            let file = report
                .run_dir
                .join(&i.doc_id)
                .join(Task::Questions.json_file());
            let out: QuestionsOut = read_json(&file).ok()?;
            let a = out
                .answers
                .into_iter()
                .find(|a| a.question == question.id)?;
            Some((i.doc_id.clone(), a))
        })
        .collect();
    if args.json.json {
        for (doc, a) in &answers {
            let line = serde_json::json!({"doc_id": doc, "answer": a});
            println!("{line}");
        }
    } else {
        print!("{}", table(&question, &answers));
        println!(
            "each letter's answer with its quotes: {}/<letter>/{}",
            report.run_dir.display(),
            Task::Questions.md_file()
        );
        println!("{}", report.run_dir.display());
    }
    Ok(if report.all_ok() {
        Outcome::Clean
    } else {
        Outcome::Partial
    })
}

/// The answers, one row per letter: the position, the quotes' lines (a `?` for one not found
/// in the source), and the answer.
fn table(q: &Question, answers: &[(String, AnswerOut)]) -> String {
    let mut t = Table::new(&[
        ("letter", Align::Left),
        ("position", Align::Left),
        ("quotes", Align::Left),
        ("answer", Align::Left),
    ]);
    for (doc, a) in answers {
        let quotes: Vec<String> = a
            .evidence
            .iter()
            .map(|e| match e.lines {
                Some([x, y]) if x == y => format!("L{x}"),
                Some([x, y]) => format!("L{x}-{y}"),
                None => "?".into(),
            })
            .collect();
        let position = if a.supported {
            a.position.replace('_', " ")
        } else {
            format!("{} (unsupported)", a.position.replace('_', " "))
        };
        t.row(vec![
            doc.clone(),
            position,
            quotes.join(" "),
            cut(&a.answer_en, 100),
        ]);
    }
    format!("question {}: {}\n{}", q.id, q.text, t.render())
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max - 1).collect::<String>())
    }
}
