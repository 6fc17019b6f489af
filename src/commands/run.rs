//! `tolk run`: the main job, and its dry run (the plan, nothing called).

use super::endpoint::print_probe;
use super::table::{Align, Table};
use super::{Outcome, runtime};
use crate::cli::{InputArgs, RunArgs, RunControlArgs};
use crate::config::Config;
use crate::endpoint::{self, Endpoint, LocalModel, Scope};
use crate::pipeline::{self, RunError, RunFlags, RunOptions, RunReport, plan, prepare};
use crate::store::run::TaskStatus;
use std::sync::Arc;

pub fn run(args: &RunArgs, config: &Config) -> anyhow::Result<Outcome> {
    if config.run.tasks.contains(&crate::tasks::Task::Questions) && config.questions.is_empty() {
        anyhow::bail!(
            "the questions task has no questions: add [[questions]] (id, text) to tolk.toml, or ask one with tolk ask \"...\""
        );
    }
    let Some(report) = start(&args.inputs, &args.control, config)? else {
        return Ok(Outcome::Clean);
    };
    eprint!("{}", closing_table(&report));
    println!("{}", report.run_dir.display());
    Ok(if report.all_ok() {
        Outcome::Clean
    } else {
        Outcome::Partial
    })
}

/// A run of `inputs` (`tolk run`, `tolk ask`): the inputs, prompts and model checked, the
/// output folder locked, the endpoint probed when a call will be made. None after a dry run,
/// which prints the plan.
pub(super) fn start(
    inputs: &InputArgs,
    control: &RunControlArgs,
    config: &Config,
) -> anyhow::Result<Option<RunReport>> {
    let flags = RunFlags {
        inputs: inputs.inputs.clone(),
        label: control.label.clone(),
        refresh: control.refresh,
        progress: !control.no_progress,
    };
    let (dry, no_wait) = (control.dry_run, control.no_wait);
    let mut scope = endpoint::scope(config);
    let mut opts = RunOptions::new(config, &scope, flags.clone());
    // The inputs, the prompts and the model file first: nothing is fetched, probed or called
    // for a run that cannot start.
    prepare::files(&opts.inputs).map_err(RunError::from)?;
    opts.load_prompts().map_err(RunError::from)?;
    if scope.local {
        LocalModel::from_config(config).check()?;
    }
    let rt = runtime()?;
    if dry {
        dry_run(&opts, &scope, config, &rt)?;
        return Ok(None);
    }
    // One writer per output folder: a second run waits (or, --no-wait, stops) before it plans,
    // so that it then finds the first run's answers in the cache and pays nothing twice.
    let _lock = crate::store::lock::acquire(&opts.out, !no_wait)?;
    if endpoint::needs_probe(config) {
        // Probe only when a call will really be made: a run that the cache answers wholly
        // (after `tolk batch import`, say) makes none.
        let plan = rt.block_on(plan::plan(&opts, &scope))?;
        if plan.calls_to_make() > 0 {
            eprintln!(
                "probing {} ({}) once: structured output and context size",
                scope.endpoint, scope.model
            );
            let (probed, caps) =
                rt.block_on(endpoint::probe(config))
                    .map_err(|source| RunError::Unreachable {
                        endpoint: scope.endpoint.clone(),
                        source,
                    })?;
            print_probe(&caps, &mut std::io::stderr())?;
            scope = probed;
            opts = RunOptions::new(config, &scope, flags);
        }
    }
    let ep = Arc::new(Endpoint::from_config(config, scope)?);
    Ok(Some(rt.block_on(pipeline::run(&opts, ep))?))
}

/// The plan: documents, chunks, calls (cached, to make), estimated tokens and cost.
fn dry_run(
    opts: &RunOptions,
    scope: &Scope,
    config: &Config,
    rt: &tokio::runtime::Runtime,
) -> anyhow::Result<Outcome> {
    // The plan needs the cache identity only: no connection, no model loaded.
    let plan = rt.block_on(plan::plan(opts, scope))?;
    println!(
        "dry run: nothing is called. endpoint {}, model {}",
        scope.endpoint, scope.model
    );
    let mut t = Table::new(&[
        ("document", Align::Left),
        ("task", Align::Left),
        ("chunks", Align::Right),
        ("calls", Align::Right),
        ("cached", Align::Right),
        ("est. in", Align::Right),
        ("est. out", Align::Right),
    ]);
    let (mut calls, mut cached, mut tin, mut tout) = (0, 0, 0, 0);
    for r in &plan.rows {
        t.row(vec![
            r.doc_id.clone(),
            r.task.name().into(),
            r.chunks.to_string(),
            r.calls.to_string(),
            r.cached.to_string(),
            r.prompt_tokens.to_string(),
            r.completion_tokens.to_string(),
        ]);
        calls += r.calls;
        cached += r.cached;
        tin += r.prompt_tokens;
        tout += r.completion_tokens;
    }
    print!("{}", t.render());
    let cost = endpoint::prices(config)
        .map(|(i, o)| {
            format!(
                ", estimated cost ${:.4}",
                (tin as f64 * i + tout as f64 * o) / 1e6
            )
        })
        .unwrap_or_default();
    let docs: std::collections::BTreeSet<&str> =
        plan.rows.iter().map(|r| r.doc_id.as_str()).collect();
    println!(
        "{} documents, {calls} calls ({cached} cached, {} to make), about {tin} prompt + {tout} completion tokens{cost}",
        docs.len(),
        calls - cached
    );
    for u in &plan.unreadable {
        eprintln!("error: {}", u.reason);
    }
    Ok(Outcome::Clean)
}

/// The end-of-run table: document x task status, calls, when the task was done (seconds since the
/// run began: tasks run side by side, so this is not the time each took); then calls, tokens, cost.
pub fn closing_table(report: &RunReport) -> String {
    let mut t = Table::new(&[
        ("document", Align::Left),
        ("task", Align::Left),
        ("calls", Align::Right),
        ("done at", Align::Right),
        ("flags", Align::Left),
        ("status", Align::Left),
    ]);
    let mut unreadable_shown = std::collections::BTreeSet::new();
    for r in &report.rows {
        let status = r.status.to_string();
        let status = if status.len() > 100 {
            format!("{}…", &status[..status.floor_char_boundary(100)])
        } else {
            status
        };
        if let TaskStatus::Unreadable { .. } = r.status {
            // One line for an input that was never read, not one per task.
            if unreadable_shown.insert(r.doc_id.clone()) {
                t.row(vec![
                    r.doc_id.clone(),
                    "-".into(),
                    "0".into(),
                    String::new(),
                    String::new(),
                    status,
                ]);
            }
            continue;
        }
        t.row(vec![
            r.doc_id.clone(),
            r.task.name().into(),
            r.calls.to_string(),
            format!("{:.1}s", r.secs),
            crate::checks::describe(r.findings),
            status,
        ]);
    }
    let u = &report.manifest.usage;
    let checks = match report.manifest.findings.as_ref().map(crate::checks::sum) {
        Some(c) if c.total() > 0 => format!(
            "checks: {} findings (`tolk check` lists them)\n",
            crate::checks::describe(c)
        ),
        _ => "checks: no findings\n".to_string(),
    };
    format!(
        "{}{checks}{}, {} from the cache; {} prompt + {} completion tokens{}; {:.1}s\n",
        t.render(),
        u.calls_made(),
        u.cache_hits,
        u.prompt_tokens,
        u.completion_tokens,
        u.cost_usd.map(|c| format!("; ${c:.4}")).unwrap_or_default(),
        report.manifest.duration_s
    )
}
