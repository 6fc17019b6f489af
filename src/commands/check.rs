//! `tolk check [RUN]`: the output checks' findings of a run, one line each, by letter, with the
//! totals by check. The checks run again on the stored outputs (with today's checks and
//! glossary), so a run made before a check existed is judged like a new one.

use super::Outcome;
use super::table::{Align, Table};
use crate::checks::{self, Severity};
use crate::cli::CheckArgs;
use crate::config::Config;
use crate::store::run as runs;

pub fn check(args: &CheckArgs, config: &Config) -> anyhow::Result<Outcome> {
    let out = &config.run.out;
    let manifest = runs::resolve_run(out, args.run.as_deref().unwrap_or("latest"))?;
    let prompts = config.run.prompt_set()?;
    let mut docs = checks::recheck(&runs::run_dir(out, &manifest.run_id), &manifest, &prompts);
    if let Some(wanted) = &args.doc {
        docs.retain(|d| &d.doc_id == wanted);
        if docs.is_empty() {
            anyhow::bail!("no document {wanted:?} in run {}", manifest.run_id);
        }
    }
    let major = docs
        .iter()
        .flat_map(|d| &d.findings)
        .any(|(_, f)| f.severity == Severity::Major);
    let outcome = if args.strict && major {
        Outcome::Partial
    } else {
        Outcome::Clean
    };
    if args.json.json {
        println!("{}", serde_json::to_string_pretty(&docs)?);
        return Ok(outcome);
    }
    println!("run {} ({})", manifest.run_id, manifest.model.requested);
    for d in &docs {
        let sum = checks::sum(&d.tally());
        println!();
        println!(
            "{}: {} segments, {}",
            d.doc_id,
            d.segments,
            findings_label(sum)
        );
        for t in &d.missing {
            println!("  {} has no output to check", t.name());
        }
        let mut list: Vec<_> = d.findings.iter().collect();
        list.sort_by_key(|(t, f)| (f.severity, *t));
        for (task, f) in list {
            let lines = f
                .lines
                .map(|l| {
                    if l[0] == l[1] {
                        format!(" line {}", l[0])
                    } else {
                        format!(" lines {}-{}", l[0], l[1])
                    }
                })
                .unwrap_or_default();
            println!(
                "  {:<5} {:<9} {}{lines} {}: {}",
                f.severity.name(),
                task.name(),
                f.segment,
                f.check.name(),
                f.message
            );
        }
        for t in d.terminology.iter().filter(|t| t.missed > 0) {
            println!(
                "  terms     \"{}\" -> \"{}\": used in {} of {} segments",
                t.nl,
                t.en,
                t.used,
                t.used + t.missed
            );
        }
    }
    let mut all = checks::Tally::new();
    for d in &docs {
        checks::merge(&mut all, &d.tally());
    }
    println!();
    let segments: u32 = docs.iter().map(|d| d.segments).sum();
    let mut t = Table::new(&[
        ("check", Align::Left),
        ("major", Align::Right),
        ("minor", Align::Right),
        ("per 100 segments", Align::Right),
    ]);
    for (k, c) in &all {
        t.row(vec![
            k.name().to_string(),
            c.major.to_string(),
            c.minor.to_string(),
            format!("{:.1}", per_100(c.total(), segments)),
        ]);
    }
    let sum = checks::sum(&all);
    t.row(vec![
        "all".into(),
        sum.major.to_string(),
        sum.minor.to_string(),
        format!("{:.1}", per_100(sum.total(), segments)),
    ]);
    print!("{}", t.render());
    Ok(outcome)
}

fn per_100(n: u32, segments: u32) -> f64 {
    if segments == 0 {
        0.0
    } else {
        100.0 * n as f64 / segments as f64
    }
}

/// "no findings", "2 major, 3 minor findings".
pub fn findings_label(c: checks::Count) -> String {
    match checks::describe(c).as_str() {
        "-" => "no findings".into(),
        s => format!("{s} findings"),
    }
}
