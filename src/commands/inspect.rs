//! Looking at runs: `tolk runs`, `tolk show`, `tolk diff` and `tolk report`.

use super::table::{Align, Table};
use super::{Outcome, preview};
use crate::cli::{DiffArgs, DiffFormat, ReportArgs, RunsArgs, ShowArgs};
use crate::compare;
use crate::config::Config;
use crate::ingest;
use crate::report;
use crate::store::read_json;
use crate::store::run::{self as runs, Manifest};
use crate::tasks::Task;
use crate::tasks::stance::StanceOut;
use crate::tasks::summary::SummaryOut;
use crate::tasks::translate::TranslationOut;

pub fn runs(args: &RunsArgs, config: &Config) -> anyhow::Result<Outcome> {
    let list = runs::list_runs(&config.run.out);
    if args.json.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(Outcome::Clean);
    }
    if list.is_empty() {
        println!("no runs in {}", runs::runs_dir(&config.run.out).display());
        return Ok(Outcome::Clean);
    }
    let mut t = Table::new(&[
        ("run", Align::Left),
        ("label", Align::Left),
        ("model (requested -> resolved)", Align::Left),
        ("docs", Align::Right),
        ("tasks ok", Align::Right),
        ("failed", Align::Right),
        ("tokens", Align::Right),
        ("time", Align::Left),
    ]);
    for m in &list {
        let statuses = || m.inputs.iter().flat_map(|i| i.tasks.values());
        let model = match &m.model.resolved {
            Some(r) if *r != m.model.requested => format!("{} -> {r}", m.model.requested),
            _ => m.model.requested.clone(),
        };
        let cost = m
            .usage
            .cost_usd
            .map(|c| format!(" ${c:.4}"))
            .unwrap_or_default();
        t.row(vec![
            m.run_id.clone(),
            m.label.clone().unwrap_or_else(|| "-".into()),
            preview(&model, 36),
            m.inputs.len().to_string(),
            statuses().filter(|s| s.is_ok()).count().to_string(),
            statuses().filter(|s| !s.is_ok()).count().to_string(),
            (m.usage.prompt_tokens + m.usage.completion_tokens).to_string(),
            format!("{:.1}s{cost}", m.duration_s),
        ]);
    }
    print!("{}", t.render());
    Ok(Outcome::Clean)
}

/// The one document of `manifest` that `wanted` names: its id, or a unique part of it.
fn find_doc(manifest: &Manifest, wanted: &str) -> anyhow::Result<String> {
    let ids: Vec<&str> = manifest.inputs.iter().map(|i| i.doc_id.as_str()).collect();
    if ids.contains(&wanted) {
        return Ok(wanted.to_string());
    }
    let hits: Vec<&str> = ids.iter().copied().filter(|i| i.contains(wanted)).collect();
    match hits.as_slice() {
        [one] => Ok(one.to_string()),
        [] => anyhow::bail!(
            "no document {wanted:?} in run {} (it has: {})",
            manifest.run_id,
            ids.join(", ")
        ),
        _ => anyhow::bail!("{wanted:?} matches several documents: {}", hits.join(", ")),
    }
}

pub fn show(args: &ShowArgs, config: &Config) -> anyhow::Result<Outcome> {
    let out = &config.run.out;
    let manifest = runs::resolve_run(out, args.run.run.as_deref().unwrap_or("latest"))?;
    let doc_id = find_doc(&manifest, &args.doc)?;
    let dir = runs::run_dir(out, &manifest.run_id).join(&doc_id);
    let width = console::Term::stdout()
        .size_checked()
        .map_or(100, |(_, w)| w as usize);
    let task = args.task.task;
    let stance: Option<StanceOut> = read_json(&dir.join(Task::Stance.json_file())).ok();
    if let Some(w) = &manifest.warning {
        println!("note: {w}");
    }
    match task.unwrap_or(Task::Translate) {
        Task::Translate => {
            let t: TranslationOut = read_json(&dir.join(Task::Translate.json_file()))?;
            // The lines the run counted in: the text file's, or a PDF's extracted text.
            let original: Vec<String> = ingest::read(std::path::Path::new(&t.source.path))
                .map(|d| d.original_lines)
                .unwrap_or_default();
            print!(
                "{}",
                report::terminal::bilingual(&t, &original, stance.as_ref(), width)
            );
        }
        Task::Summary => {
            let su: SummaryOut = read_json(&dir.join(Task::Summary.json_file()))?;
            print!("{}", report::terminal::summary(&su, width.min(100)));
        }
        Task::Stance => {
            let st = stance.ok_or_else(|| {
                anyhow::anyhow!("no stance for {doc_id} in run {}", manifest.run_id)
            })?;
            print!("{}", report::terminal::stance(&st));
        }
        Task::Questions => {
            let q: crate::tasks::questions::QuestionsOut =
                read_json(&dir.join(Task::Questions.json_file()))?;
            print!("{}", report::markdown::questions(&q, None));
        }
        Task::Review => {
            let r: crate::tasks::review::ReviewOut =
                read_json(&dir.join(Task::Review.json_file()))?;
            print!("{}", report::markdown::review(&r, None));
        }
        Task::Refine => {
            let r: crate::tasks::refine::RefineOut =
                read_json(&dir.join(Task::Refine.json_file()))?;
            print!("{}", report::markdown::refine(&r, None));
        }
    }
    Ok(Outcome::Clean)
}

pub fn diff(args: &DiffArgs, config: &Config) -> anyhow::Result<Outcome> {
    let out = &config.run.out;
    let a = runs::resolve_run(out, &args.a)?;
    let b = runs::resolve_run(out, &args.b)?;
    let task = args.task.task;
    let d = compare::diff_runs(out, &a, &b, args.doc.as_deref(), task);
    if let Some(doc) = &args.doc
        && d.documents.is_empty()
    {
        anyhow::bail!("no document {doc:?} in either run");
    }
    match args.format {
        DiffFormat::Json => println!("{}", serde_json::to_string_pretty(&d)?),
        DiffFormat::Md => print!("{}", report::diff::render_md(&d)),
        DiffFormat::Text => {
            use std::io::IsTerminal;
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            print!("{}", report::diff::render_text(&d, color));
        }
    }
    Ok(Outcome::Clean)
}

pub fn report(args: &ReportArgs, config: &Config) -> anyhow::Result<Outcome> {
    let out = &config.run.out;
    if let Some(ab) = &args.diff {
        let a = runs::resolve_run(out, &ab[0])?;
        let b = runs::resolve_run(out, &ab[1])?;
        let d = compare::diff_runs(out, &a, &b, None, None);
        let dir = args
            .dest
            .clone()
            .unwrap_or_else(|| runs::run_dir(out, &b.run_id).join("report"));
        let page = dir.join(format!("diff-{}.html", a.run_id));
        // Scores beside the differences when [eval] (or the project's eval/) has a yardstick.
        let against = super::eval::yardstick(config)?;
        let scores = if against.gold.is_some() || against.references.is_some() {
            Some((
                super::eval::evaluate(config, &a.run_id, &against)?,
                super::eval::evaluate(config, &b.run_id, &against)?,
            ))
        } else {
            None
        };
        report::html::write_diff(&d, &b, scores.as_ref().map(|(x, y)| (x, y)), &page)?;
        println!("{}", page.display());
        return Ok(Outcome::Clean);
    }
    let m = runs::resolve_run(out, args.run.run.as_deref().unwrap_or("latest"))?;
    let dir = args
        .dest
        .clone()
        .unwrap_or_else(|| runs::run_dir(out, &m.run_id).join("report"));
    let written = report::html::write_run(out, &m, &dir)?;
    eprintln!(
        "{} pages written for run {} ({} documents)",
        written.pages.len(),
        m.run_id,
        m.inputs.len()
    );
    println!("{}", written.pages[0].display());
    Ok(Outcome::Clean)
}
