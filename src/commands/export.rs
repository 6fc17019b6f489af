//! `tolk export`: a run's analysis as tables ([`crate::report::export`]), its English as XLIFF
//! and the translation memory as TMX ([`crate::exchange`]).

use super::Outcome;
use crate::checks;
use crate::cli::{ExportCsvArgs, ExportTmxArgs, ExportXliffArgs};
use crate::config::Config;
use crate::exchange;
use crate::prompt::PromptSet;
use crate::report::export;
use crate::store::memory::{self, Memory};
use crate::store::run as runs;
use crate::tasks::translate::has_words;

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

/// `tolk export xliff`: one XLIFF per letter of a run, for post-editing in a CAT tool.
pub fn xliff(args: &ExportXliffArgs, config: &Config) -> anyhow::Result<Outcome> {
    let out = &config.run.out;
    let manifest = runs::resolve_run(out, args.run.as_deref().unwrap_or("latest"))?;
    let prompts = PromptSet::load(config.run.prompts_dir().as_deref())?;
    let letters = exchange::run_letters(out, &manifest, args.doc.as_deref())?;
    let checked = checks::recheck(&runs::run_dir(out, &manifest.run_id), &manifest, &prompts);
    let dest = args.dest.clone().unwrap_or_else(|| {
        runs::run_dir(out, &manifest.run_id)
            .join("export")
            .join("xliff")
    });
    let done = exchange::export_xliff(&manifest, &letters, &checked, &dest)?;
    eprintln!(
        "run {}: {} letters, {} units ({} a person's, final; {} to review first)",
        manifest.run_id,
        done.files.len(),
        done.units,
        done.human,
        done.to_review
    );
    for f in done.files {
        println!("{}", f.display());
    }
    Ok(Outcome::Clean)
}

/// `tolk export tmx`: the translation memory (and a run's machine English, marked) as TMX.
pub fn tmx(args: &ExportTmxArgs, config: &Config) -> anyhow::Result<Outcome> {
    use exchange::tmx::PairOut;
    let out = &config.run.out;
    let memory = Memory::load(out)?;
    let mut pairs: Vec<PairOut> = memory.entries().map(PairOut::of).collect();
    let letters = match &args.with_run {
        Some(run) => {
            let manifest = runs::resolve_run(out, run)?;
            let letters = exchange::run_letters(out, &manifest, None)?;
            Some((manifest, letters))
        }
        None => None,
    };
    let mut model = 0;
    if let Some((manifest, letters)) = &letters {
        for l in letters {
            for s in &l.translation.segments {
                let Some(en) = s.en.as_deref() else { continue };
                if s.kept.is_some() || !has_words(&s.nl) || memory.get(&s.nl).is_some() {
                    continue;
                }
                model += 1;
                pairs.push(PairOut {
                    nl: &s.nl,
                    en,
                    origin: "model",
                    editor: Some(&l.translation.model),
                    date: Some(&manifest.created_at),
                    note: Some(format!(
                        "{} {} (run {})",
                        l.translation.doc_id, s.id, manifest.run_id
                    )),
                });
            }
        }
    }
    if pairs.is_empty() {
        anyhow::bail!(
            "the translation memory of {} is empty: import a translator's XLIFF or TMX first (tolk import xliff), or add a run's English with --with-run",
            out.display()
        );
    }
    let dest = args
        .tmx
        .clone()
        .unwrap_or_else(|| out.join(memory::DIR).join("memory.tmx"));
    crate::store::write_atomic(&dest, exchange::tmx::write(&pairs).as_bytes())?;
    let (human, from_memory) = memory.counts();
    eprintln!(
        "{} translation units: {human} a person's, {from_memory} from imported memories, {model} a model's",
        pairs.len()
    );
    println!("{}", dest.display());
    Ok(Outcome::Clean)
}
