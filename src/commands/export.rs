//! `tolk export`: a run's analysis as tables ([`crate::report::export`]), its English as XLIFF
//! and the translation memory as TMX ([`crate::exchange`]).

use super::Outcome;
use crate::checks;
use crate::cli::{ExportCsvArgs, ExportTmxArgs, ExportXliffArgs};
use crate::config::Config;
use crate::exchange;
use crate::report::export;
use crate::store::memory::{self, Memory};
use crate::store::run as runs;
use crate::tasks::translate::has_words;

pub fn csv(args: &ExportCsvArgs, config: &Config) -> anyhow::Result<Outcome> {
    let out = &config.run.out;
    let manifest = runs::resolve_run(out, args.run.as_deref().unwrap_or("latest"))?;
    let prompts = config.run.prompt_set()?;
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

/// The run named, or else the newest run that translated a letter (a later `tolk ask` or a
/// summary-only run has no English to export).
fn translated_run(out: &std::path::Path, run: Option<&str>) -> anyhow::Result<runs::Manifest> {
    if let Some(r) = run {
        return Ok(runs::resolve_run(out, r)?);
    }
    runs::list_runs(out)
        .into_iter()
        .find(|m| {
            m.inputs.iter().any(|i| {
                i.tasks
                    .get("translate")
                    .is_some_and(runs::TaskStatus::is_ok)
            })
        })
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no run in {} translated a letter: run `tolk run` with the translate task first",
                out.display()
            )
        })
}

/// `tolk export xliff`: one XLIFF per letter of a run, for post-editing in a CAT tool.
pub fn xliff(args: &ExportXliffArgs, config: &Config) -> anyhow::Result<Outcome> {
    let out = &config.run.out;
    let manifest = translated_run(out, args.run.as_deref())?;
    let prompts = config.run.prompt_set()?;
    let letters = exchange::run_letters(out, &manifest, args.doc.as_deref())?;
    let checked = checks::recheck(&runs::run_dir(out, &manifest.run_id), &manifest, &prompts);
    let dest = args.dest.clone().unwrap_or_else(|| {
        runs::run_dir(out, &manifest.run_id)
            .join("export")
            .join("xliff")
    });
    let done = exchange::export_xliff(&manifest, &letters, &checked, &dest)?;
    let n = done.files.len();
    eprintln!(
        "run {}: {n} {}, {} units ({} a person's, final; {} to review first)",
        manifest.run_id,
        if n == 1 { "letter" } else { "letters" },
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

/// `tolk glossary suggest`: terms worth a fixed English, from a run's translations.
pub fn glossary_suggest(
    args: &crate::cli::GlossarySuggestArgs,
    config: &Config,
) -> anyhow::Result<Outcome> {
    use super::table::{Align, Table};
    let out = &config.run.out;
    let manifest = translated_run(out, args.run.as_deref())?;
    let prompts = config.run.prompt_set()?;
    let letters: Vec<(String, Vec<crate::tasks::translate::SegmentOut>)> =
        exchange::run_letters(out, &manifest, None)?
            .into_iter()
            .map(|l| (l.translation.doc_id, l.translation.segments))
            .collect();
    let found = exchange::suggest::suggest(&letters, &prompts.glossary, args.min.max(1));
    if args.json.json {
        println!("{}", serde_json::to_string_pretty(&found)?);
    } else {
        let mut t = Table::new(&[
            ("Dutch", Align::Left),
            ("kind", Align::Left),
            ("segments", Align::Right),
            ("letters", Align::Right),
            ("English it shares most (check it)", Align::Left),
            ("in", Align::Right),
            ("wavered in", Align::Left),
        ]);
        for s in &found {
            t.row(vec![
                s.nl.clone(),
                s.kind.into(),
                s.segments.to_string(),
                s.letters.to_string(),
                s.en.clone().unwrap_or_default(),
                s.used.to_string(),
                s.wavered.join(", "),
            ]);
        }
        print!("{}", t.render());
    }
    if let Some(path) = &args.csv {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["nl", "en", "note"])?;
        for s in &found {
            let note = format!(
                "suggested from run {}: {} segments, English in {}{}",
                manifest.run_id,
                s.segments,
                s.used,
                if s.wavered.is_empty() {
                    String::new()
                } else {
                    format!("; not in {}", s.wavered.join(", "))
                }
            );
            w.write_record([
                s.nl.as_str(),
                s.en.as_deref().unwrap_or_default(),
                note.as_str(),
            ])?;
        }
        crate::store::write_atomic(path, &w.into_inner()?)?;
        eprintln!(
            "{} terms written to {}: check each English, then list the file under run.glossaries",
            found.len(),
            path.display()
        );
    }
    eprintln!(
        "run {}: {} terms recur in at least {} segments and are not in the glossary",
        manifest.run_id,
        found.len(),
        args.min
    );
    Ok(Outcome::Clean)
}
