//! `tolk batch export` and `tolk batch import`: the calls of a run as batch files, and the
//! results back into the cache.

use super::{Outcome, runtime};
use crate::batch;
use crate::cli::{BatchExportArgs, BatchImportArgs};
use crate::config::Config;
use crate::endpoint;
use crate::pipeline::{RunFlags, RunOptions};

pub fn export(args: &BatchExportArgs, config: &Config) -> anyhow::Result<Outcome> {
    let ep = &config.endpoint;
    let (Some(_), Some(_)) = (&ep.base_url, &ep.model) else {
        anyhow::bail!(
            "a batch is made for one endpoint and model, which are part of every cache key: set \
             endpoint.base_url and endpoint.model (tolk.toml, TOLK_ENDPOINT_*, or --endpoint and \
             --model) to those `tolk run` will use after the import"
        );
    };
    let scope = endpoint::scope(config);
    let flags = RunFlags {
        inputs: args.inputs.inputs.clone(),
        ..RunFlags::default()
    };
    let opts = RunOptions::new(config, &scope, flags);
    let target = batch::Target {
        scope,
        extra_body: ep.extra_body.clone(),
    };
    let limits = batch::Limits {
        max_lines: args.max_lines,
        max_bytes: args.max_bytes,
    };
    let rt = runtime()?;
    let report = rt.block_on(batch::export(&opts, &target, &args.calls, limits))?;
    for u in &report.unreadable {
        eprintln!("error: {}", u.reason);
    }
    let round = match (report.round1, report.round2) {
        (0, 0) => "nothing to export".to_string(),
        (_, 0) => "round 1".to_string(),
        (0, _) => "round 2 (second-round calls whose first-round answers are cached)".to_string(),
        _ => "rounds 1 and 2".to_string(),
    };
    eprintln!(
        "{} calls exported ({round}: {} first-round, {} second-round); {} answered from the cache",
        report.calls(),
        report.round1,
        report.round2,
        report.cached
    );
    if report.exported_before > 0 {
        eprintln!(
            "{} of them were exported before and their results not imported yet",
            report.exported_before
        );
    }
    if report.waiting.is_empty() {
        if report.calls() > 0 {
            eprintln!(
                "nothing remains after this batch: import its results, then `tolk run` completes from the cache"
            );
        }
    } else {
        eprintln!(
            "remaining: {} second-round call{} after this batch; import its results and export again:",
            report.waiting.len(),
            if report.waiting.len() == 1 { "" } else { "s" }
        );
        for w in &report.waiting {
            eprintln!("  {w}");
        }
    }
    for f in &report.files {
        println!("{}", f.path.display());
    }
    Ok(if report.unreadable.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Partial
    })
}

pub fn import(args: &BatchImportArgs, config: &Config) -> anyhow::Result<Outcome> {
    let report = batch::import(&config.run.out, &args.results)?;
    if args.json.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for (label, list) in [
            ("failed", &report.failed),
            ("unknown", &report.unknown),
            ("malformed", &report.malformed),
        ] {
            for f in list {
                let call = f
                    .call
                    .as_deref()
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default();
                let id = if f.custom_id.is_empty() {
                    String::new()
                } else {
                    format!(": {}", f.custom_id)
                };
                println!("{label}: {}{id}{call}: {}", f.at, f.reason);
            }
        }
        println!(
            "{} lines: {} answers stored, {} already cached, {} duplicates ignored, {} failed, {} unknown custom_id, {} malformed",
            report.lines,
            report.stored,
            report.already_cached,
            report.duplicates,
            report.failed.len(),
            report.unknown.len(),
            report.malformed.len()
        );
        if !report.failed.is_empty() {
            println!(
                "`tolk run` makes the failed calls live; `tolk batch export` writes them again for another batch"
            );
        }
    }
    Ok(if report.clean() {
        Outcome::Clean
    } else {
        Outcome::Partial
    })
}
