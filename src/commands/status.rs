//! `tolk status`: per document and task, up to date or stale and why, and the calls a run would
//! make.

use super::table::{Align, Table};
use super::{Outcome, runtime};
use crate::cli::StatusArgs;
use crate::config::Config;
use crate::endpoint;
use crate::pipeline::{RunFlags, RunOptions, plan, prepare, staleness};
use crate::store::run as runs;

pub fn status(args: &StatusArgs, config: &Config) -> anyhow::Result<Outcome> {
    let scope = endpoint::scope(config);
    let flags = RunFlags {
        inputs: args.inputs.inputs.clone(),
        ..RunFlags::default()
    };
    let opts = RunOptions::new(config, &scope, flags);
    let plan = runtime()?.block_on(plan::plan(&opts, &scope))?;
    let prompts = opts.load_prompts()?;
    let history = runs::list_runs(&opts.out);
    let files = prepare::files(&opts.inputs)?
        .into_iter()
        .map(|p| (crate::ingest::doc_id(&p), p))
        .collect();
    let rows = staleness::status(&plan, &history, &files, &prompts, &scope.model);
    if args.json.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        let mut t = Table::new(&[
            ("document", Align::Left),
            ("task", Align::Left),
            ("status", Align::Left),
            ("calls", Align::Right),
            ("tokens", Align::Right),
            ("why", Align::Left),
        ]);
        for r in &rows {
            t.row(vec![
                r.doc_id.clone(),
                r.task.name().into(),
                r.status.as_str().into(),
                r.calls.to_string(),
                r.estimated_tokens.to_string(),
                r.why.clone().unwrap_or_default(),
            ]);
        }
        print!("{}", t.render());
    }
    if !args.json.json {
        for line in memory_lines(&opts, &plan)? {
            println!("{line}");
        }
    }
    for u in &plan.unreadable {
        eprintln!("error: {}", u.reason);
    }
    Ok(Outcome::Clean)
}

/// What the translation memory gives these letters: per letter, the segments whose English is
/// a person's or a memory's, translated without a call.
fn memory_lines(opts: &RunOptions, plan: &plan::Plan) -> anyhow::Result<Vec<String>> {
    let memory = crate::store::memory::Memory::load(&opts.out)?;
    if memory.is_empty() {
        return Ok(Vec::new());
    }
    let (human, from_memory) = memory.counts();
    let mut lines = vec![format!(
        "translation memory: {human} human translations, {from_memory} from imported memories ({})",
        crate::store::memory::path(&opts.out).display()
    )];
    for r in &plan.rows {
        if let Some([h, m]) = r.kept {
            lines.push(format!(
                "  {}: {h} segments a person's, {m} a memory's, translated without a call",
                r.doc_id
            ));
        }
    }
    Ok(lines)
}
