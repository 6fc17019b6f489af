//! Exchange with the tools translators use: a run's English out as XLIFF (one file per letter)
//! and TMX, and a person's English back in, into the output folder's translation memory
//! ([`crate::store::memory`]), which every later run reads.
//!
//! An import is all or nothing per file: every unit of a file is checked against the letter as
//! the output folder now has it (the Dutch of each segment, the ids) before any of its units is
//! kept; a file with one bad unit adds nothing, and the other files go on.

pub mod suggest;
pub mod tmx;
pub mod xliff;

use crate::checks::DocChecks;
use crate::store::memory::{Added, Entry, Kept, Memory, Origin, Replaced, key};
use crate::store::run::{Manifest, list_runs, run_dir};
use crate::store::{StoreError, read_json, write_atomic};
use crate::tasks::Task;
use crate::tasks::review::ReviewOut;
use crate::tasks::translate::{TranslationOut, has_words};
use crate::xml;
use std::path::{Path, PathBuf};

/// Why a file was not exported or not imported. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{path}: cannot read it")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Format {
        path: PathBuf,
        #[source]
        source: xliff::ReadError,
    },
    /// The file is for a letter the output folder does not have.
    #[error("{path}: {message}")]
    Letter { path: PathBuf, message: String },
    /// A unit that cannot be taken: an unknown id, a changed source, no target.
    #[error("{path}: letter {doc}, unit {unit}{}: {message}; nothing of this file was imported", lines.map(|l| format!(" (lines {}-{})", l[0], l[1])).unwrap_or_default())]
    Unit {
        path: PathBuf,
        doc: String,
        unit: String,
        lines: Option<[u32; 2]>,
        message: String,
    },
    #[error("the run has no translation to export (run `tolk run` with the translate task first)")]
    NoTranslation,
    #[error("no letter {0} in the run")]
    NoLetter(String),
}

/// One letter's English in a run: its translation and what the checks and the review found.
pub struct RunLetter {
    pub translation: TranslationOut,
    pub review: Option<ReviewOut>,
}

/// The letters of `manifest`'s run with a translation (only `doc` when given).
pub fn run_letters(
    out: &Path,
    manifest: &Manifest,
    doc: Option<&str>,
) -> Result<Vec<RunLetter>, ExchangeError> {
    let dir = run_dir(out, &manifest.run_id);
    let mut letters = Vec::new();
    for input in &manifest.inputs {
        if doc.is_some_and(|d| d != input.doc_id) {
            continue;
        }
        let path = dir.join(&input.doc_id).join(Task::Translate.json_file());
        if !path.is_file() {
            continue;
        }
        let translation: TranslationOut = read_json(&path)?;
        let review_path = dir.join(&input.doc_id).join(Task::Review.json_file());
        let review = review_path
            .is_file()
            .then(|| read_json::<ReviewOut>(&review_path))
            .transpose()?;
        letters.push(RunLetter {
            translation,
            review,
        });
    }
    match (doc, letters.is_empty()) {
        (Some(d), true) => Err(ExchangeError::NoLetter(d.to_string())),
        (None, true) => Err(ExchangeError::NoTranslation),
        _ => Ok(letters),
    }
}

/// What `tolk export xliff` wrote.
#[derive(Debug, Default)]
pub struct Exported {
    pub files: Vec<PathBuf>,
    pub units: usize,
    /// ... of which a person's (`state="final"`).
    pub human: usize,
    /// ... of which need a look (`needs-review-translation`).
    pub to_review: usize,
}

/// Write one XLIFF per letter of the run into `dest` (`<doc_id>.xlf`).
pub fn export_xliff(
    manifest: &Manifest,
    letters: &[RunLetter],
    checked: &[DocChecks],
    dest: &Path,
) -> Result<Exported, ExchangeError> {
    let mut done = Exported::default();
    for l in letters {
        let doc = &l.translation.doc_id;
        let findings = checked
            .iter()
            .filter(|d| &d.doc_id == doc)
            .flat_map(|d| d.findings.iter())
            .filter(|(t, _)| *t == Task::Translate)
            .map(|(_, f)| f)
            .collect();
        let letter = xliff::Letter {
            translation: &l.translation,
            run_id: &manifest.run_id,
            findings,
            review: l.review.as_ref(),
        };
        let text = xliff::write(&letter);
        let path = dest.join(format!("{doc}.xlf"));
        write_atomic(&path, text.as_bytes())?;
        for s in &l.translation.segments {
            if !has_words(&s.nl) {
                continue;
            }
            done.units += 1;
            match letter.state_of(s) {
                "final" => done.human += 1,
                "needs-review-translation" => done.to_review += 1,
                _ => {}
            }
        }
        done.files.push(path);
    }
    Ok(done)
}

/// The letter `doc` as the output folder has it now: the newest run with its translation.
fn current(out: &Path, runs: &[Manifest], doc: &str) -> Option<(Manifest, TranslationOut)> {
    runs.iter().find_map(|m| {
        m.inputs.iter().find(|i| i.doc_id == doc)?;
        let path = run_dir(out, &m.run_id)
            .join(doc)
            .join(Task::Translate.json_file());
        let t: TranslationOut = read_json(&path).ok()?;
        Some((m.clone(), t))
    })
}

/// Read exchange file `path` with `parse`; an error names the file.
fn read_file<T>(
    path: &Path,
    parse: impl FnOnce(&str) -> Result<T, xliff::ReadError>,
) -> Result<T, ExchangeError> {
    let text = std::fs::read_to_string(path).map_err(|source| ExchangeError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text).map_err(|source| ExchangeError::Format {
        path: path.to_path_buf(),
        source,
    })
}

/// The file's name, as a memory entry records where it came from.
fn name_of(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// What importing one file did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Imported {
    pub path: PathBuf,
    pub letters: Vec<String>,
    /// Units read (with words).
    pub units: usize,
    /// New human translations, and ones that replaced an earlier entry.
    pub new: usize,
    pub changed: usize,
    /// Units whose English is as exported and not signed off, or already in the memory.
    pub unchanged: usize,
    /// Units with an empty target.
    pub empty: usize,
    /// TMX: units of tolk's own machine English, and units without both languages.
    pub skipped: usize,
    /// TMX: pairs not taken because a person's translation of the same Dutch is in the memory.
    pub kept_human: usize,
}

/// Read XLIFF `path` and check every unit against the output folder `out`: the human
/// translations it holds, not yet added.
pub fn read_xliff(
    out: &Path,
    path: &Path,
    editor: Option<&str>,
    now: &str,
) -> Result<(Vec<Entry>, Imported), ExchangeError> {
    let files = read_file(path, xliff::read)?;
    let runs = list_runs(out);
    let file_name = name_of(path);
    let mut entries = Vec::new();
    let mut done = Imported {
        path: path.to_path_buf(),
        ..Imported::default()
    };
    for f in &files {
        let doc = letter_of(out, &runs, f).map_err(|message| ExchangeError::Letter {
            path: path.to_path_buf(),
            message,
        })?;
        let (now_run, now_t) = current(out, &runs, &doc).ok_or_else(|| ExchangeError::Letter {
            path: path.to_path_buf(),
            message: format!(
                "letter {doc} has no translation in {}; run `tolk run` on it first",
                out.display()
            ),
        })?;
        // The English as exported: the file's run when the folder still has it.
        let exported = f
            .run
            .as_deref()
            .and_then(|r| runs.iter().find(|m| m.run_id == r))
            .and_then(|m| {
                read_json::<TranslationOut>(
                    &run_dir(out, &m.run_id)
                        .join(&doc)
                        .join(Task::Translate.json_file()),
                )
                .ok()
                .map(|t| (m.run_id.clone(), t))
            })
            .unwrap_or_else(|| (now_run.run_id.clone(), now_t.clone()));
        let unit_err = |unit: &str, lines: Option<[u32; 2]>, message: String| ExchangeError::Unit {
            path: path.to_path_buf(),
            doc: doc.clone(),
            unit: unit.to_string(),
            lines,
            message,
        };
        done.letters.push(doc.clone());
        for u in &f.units {
            let Some(seg) = now_t.segments.iter().find(|s| s.id == u.id) else {
                return Err(unit_err(
                    &u.id,
                    None,
                    format!(
                        "no segment {} in the letter (line {} of the file)",
                        u.id, u.at.0
                    ),
                ));
            };
            if !u.translate || !has_words(&seg.nl) {
                continue;
            }
            if key(&u.source) != key(&xml::clean(&seg.nl)) {
                return Err(unit_err(
                    &u.id,
                    Some(seg.lines),
                    "its source is not the letter's Dutch as tolk reads it now; the file was exported from another version of the letter (export it again)".into(),
                ));
            }
            done.units += 1;
            let Some(target) = &u.target else {
                return Err(unit_err(
                    &u.id,
                    Some(seg.lines),
                    "the unit has no <target>".into(),
                ));
            };
            let en = target.trim();
            if en.is_empty() {
                done.empty += 1;
                continue;
            }
            let was = exported
                .1
                .segments
                .iter()
                .find(|s| s.id == u.id)
                .and_then(|s| s.en.as_deref().map(|en| (en, s.kept.is_some())));
            let changed = was.is_none_or(|(w, _)| xml::clean(w).trim() != en);
            if !changed && !u.signed_off() {
                done.unchanged += 1;
                continue;
            }
            entries.push(Entry {
                nl: seg.nl.clone(),
                en: en.to_string(),
                kept: Kept {
                    origin: Origin::Human,
                    editor: editor.map(str::to_string).or_else(|| f.editor.clone()),
                    date: now.to_string(),
                },
                file: file_name.clone(),
                doc_id: Some(doc.clone()),
                segment: Some(seg.id.clone()),
                lines: Some(seg.lines),
                replaced: was.filter(|(_, kept)| !kept).map(|(w, _)| Replaced {
                    run: exported.0.clone(),
                    model: exported.1.model.clone(),
                    en: w.to_string(),
                }),
            });
        }
    }
    Ok((entries, done))
}

/// The letter a `<file>` is for: its `tolk:doc`, or the letter whose source path is its
/// `original`.
fn letter_of(out: &Path, runs: &[Manifest], f: &xliff::FileIn) -> Result<String, String> {
    let known = |doc: &str| {
        runs.iter()
            .any(|m| m.inputs.iter().any(|i| i.doc_id == doc))
    };
    if let Some(doc) = &f.doc {
        return if known(doc) {
            Ok(doc.clone())
        } else {
            Err(format!(
                "it is for letter {doc}, which no run in {} has",
                out.display()
            ))
        };
    }
    let original = f.original.as_deref().unwrap_or_default();
    runs.iter()
        .flat_map(|m| m.inputs.iter())
        .find(|i| !original.is_empty() && (i.path == original || Path::new(&i.path).ends_with(original)))
        .map(|i| i.doc_id.clone())
        .ok_or_else(|| {
            format!(
                "its <file> names no letter of {} (no tolk:doc, and original=\"{original}\" is no letter's path)",
                out.display()
            )
        })
}

/// Read TMX `path`: its Dutch-English pairs as memory entries.
pub fn read_tmx(path: &Path, now: &str) -> Result<(Vec<Entry>, Imported), ExchangeError> {
    let read = read_file(path, tmx::read)?;
    let file_name = name_of(path);
    let entries = read
        .pairs
        .iter()
        .map(|p| Entry {
            nl: p.nl.trim().to_string(),
            en: p.en.trim().to_string(),
            kept: Kept {
                origin: Origin::Memory,
                editor: p.editor.clone(),
                date: p.date.clone().unwrap_or_else(|| now.to_string()),
            },
            file: file_name.clone(),
            doc_id: None,
            segment: None,
            lines: None,
            replaced: None,
        })
        .collect();
    Ok((
        entries,
        Imported {
            path: path.to_path_buf(),
            units: read.pairs.len(),
            skipped: read.model + read.other,
            ..Imported::default()
        },
    ))
}

/// Add one file's entries to `memory`, counting what changed.
pub fn add(memory: &mut Memory, entries: Vec<Entry>, done: &mut Imported) {
    for e in entries {
        match memory.add(e) {
            Added::New => done.new += 1,
            Added::Changed => done.changed += 1,
            Added::Same => done.unchanged += 1,
            Added::KeptHuman => done.kept_human += 1,
        }
    }
}
