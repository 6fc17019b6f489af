//! `tolk import xliff` and `tolk import tmx`: a translator's work into the output folder's
//! translation memory ([`crate::exchange`], [`crate::store::memory`]).
//!
//! Every file is read and checked whole before anything of it is kept; a bad file is reported
//! with what is wrong and the others go on. The memory is written once, at the end, atomically
//! and synced, under the output folder's lock, so that a run in progress is not changed under
//! its feet.

use super::Outcome;
use crate::cli::{ImportTmxArgs, ImportXliffArgs};
use crate::config::Config;
use crate::exchange::{self, ExchangeError, Imported};
use crate::store::memory::{Entry, Memory};
use std::path::{Path, PathBuf};

/// Read, check and add every file; write the memory unless `dry_run`.
fn import(
    out: &Path,
    files: &[PathBuf],
    dry_run: bool,
    read: impl Fn(&Path) -> Result<(Vec<Entry>, Imported), ExchangeError>,
) -> anyhow::Result<Outcome> {
    let _lock = crate::store::lock::acquire(out, true)?;
    let mut memory = Memory::load(out)?;
    let before = memory.clone();
    let mut failed = 0;
    for path in files {
        match read(path) {
            Ok((entries, mut done)) => {
                exchange::add(&mut memory, entries, &mut done);
                println!("{}", say(&done));
            }
            Err(e) => {
                failed += 1;
                eprintln!("error: {e}");
            }
        }
    }
    let (human, from_memory) = memory.counts();
    if dry_run {
        eprintln!("--dry-run: nothing written");
    } else if memory != before {
        memory.save(out)?;
    }
    eprintln!(
        "translation memory {}: {human} human translations, {from_memory} from memories{}",
        crate::store::memory::path(out).display(),
        if failed > 0 {
            format!("; {failed} of {} files refused", files.len())
        } else {
            String::new()
        }
    );
    Ok(if failed > 0 {
        Outcome::Partial
    } else {
        Outcome::Clean
    })
}

/// One line per file: what it held and what it changed.
fn say(d: &Imported) -> String {
    let mut parts = vec![
        format!("{} new", d.new),
        format!("{} changed", d.changed),
        format!("{} unchanged", d.unchanged),
    ];
    if d.empty > 0 {
        parts.push(format!("{} without English", d.empty));
    }
    if d.kept_human > 0 {
        parts.push(format!("{} not taken over a person's", d.kept_human));
    }
    if d.skipped > 0 {
        parts.push(format!(
            "{} skipped (a model's English, or not Dutch-English)",
            d.skipped
        ));
    }
    let letters = if d.letters.is_empty() {
        String::new()
    } else {
        format!(" (letter {})", d.letters.join(", "))
    };
    format!(
        "{}{letters}: {} units: {}",
        d.path.display(),
        d.units,
        parts.join(", ")
    )
}

pub fn xliff(args: &ImportXliffArgs, config: &Config) -> anyhow::Result<Outcome> {
    let out = &config.run.out;
    let now = crate::store::now_rfc3339();
    import(out, &args.files, args.dry_run, |p| {
        exchange::read_xliff(out, p, args.editor.as_deref(), &now)
    })
}

pub fn tmx(args: &ImportTmxArgs, config: &Config) -> anyhow::Result<Outcome> {
    let out = &config.run.out;
    let now = crate::store::now_rfc3339();
    import(out, &args.files, args.dry_run, |p| {
        exchange::read_tmx(p, &now)
    })
}
