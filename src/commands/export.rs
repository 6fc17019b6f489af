//! `tolk export csv`: a run's analysis as tables ([`crate::report::export`]).

use super::Outcome;
use crate::checks;
use crate::cli::ExportCsvArgs;
use crate::config::Config;
use crate::prompt::PromptSet;
use crate::report::export;
use crate::store::run as runs;

pub fn csv(args: &ExportCsvArgs, config: &Config) -> anyhow::Result<Outcome> {
    let out = &config.run.out;
    let manifest = runs::resolve_run(out, args.run.as_deref().unwrap_or("latest"))?;
    let prompts = PromptSet::load(config.run.prompts_dir().as_deref())?;
    let checked = checks::recheck(&runs::run_dir(out, &manifest.run_id), &manifest, &prompts);
    let tables = export::tables(out, &manifest, &checked);
    let dest = args
        .dest
        .clone()
        .unwrap_or_else(|| runs::run_dir(out, &manifest.run_id).join("export"));
    let written = export::write(&tables, &dest, args.json.json)?;
    eprintln!(
        "run {}: {} judgements, {} quotes, {} findings",
        manifest.run_id,
        tables.matrix.len(),
        tables.quotes.len(),
        tables.findings.len()
    );
    for w in written {
        println!("{}", w.display());
    }
    Ok(Outcome::Clean)
}
