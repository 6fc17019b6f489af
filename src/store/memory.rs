//! The project's translation memory: English that a person wrote or approved (imported from
//! XLIFF, `tolk import xliff`) and English from a translator's own memory (TMX, `tolk import
//! tmx`), kept in `OUT/memory/translations.json` and keyed by the Dutch segment's text. The
//! translate task reads it: a segment found here is not sent to any model, on any endpoint, and
//! its English carries where it came from (`origin`, `editor`, `date`).
//!
//! Not regenerable: what a person wrote is written synced, like the cache.

use super::{Durability, StoreError, read_json, write_json_with};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The memory's folder inside the output folder.
pub const DIR: &str = "memory";
/// Its file.
pub const FILE: &str = "translations.json";
/// How similar (word-level, 0 to 1) a memory entry's Dutch must be to a segment's to be shown to
/// the model as a reference: 0.75, where CAT tools start offering a fuzzy match (Trados's default
/// minimum is 70 %). Below it, the letters' sentences that matched shared mostly their function
/// words and set phrases, whose English would mislead more than help.
pub const CLOSE: f32 = 0.75;
/// The format's version, written into the file.
const VERSION: u32 = 1;

/// Where an English that no model wrote in this run came from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A translation memory (TMX) the user imported: a person's English for the same Dutch,
    /// written for another text.
    Memory,
    /// A person changed or approved this English for this segment (XLIFF).
    Human,
}

impl Origin {
    pub fn name(self) -> &'static str {
        match self {
            Origin::Human => "human",
            Origin::Memory => "memory",
        }
    }
}

/// Who gave a segment its English, when no model did: what translation.json says of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Kept {
    pub origin: Origin,
    /// The translator, as the imported file or `--editor` named them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub editor: Option<String>,
    /// When it was written or imported (RFC 3339).
    pub date: String,
}

impl Kept {
    /// "translator A. Vertaler, 2026-12-07", or "translation memory": how a page names it.
    pub fn label(&self) -> String {
        let day = self.date.get(..10).unwrap_or(&self.date);
        match (self.origin, self.editor.as_deref()) {
            (Origin::Human, Some(who)) => format!("translator {who}, {day}"),
            (Origin::Human, None) => format!("translator, {day}"),
            (Origin::Memory, _) => "translation memory".to_string(),
        }
    }
}

/// The English a human translation replaced: the run and model that wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Replaced {
    pub run: String,
    pub model: String,
    pub en: String,
}

/// One entry of the memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Entry {
    /// The Dutch, as tolk read it.
    pub nl: String,
    pub en: String,
    #[serde(flatten)]
    pub kept: Kept,
    /// The file it was imported from (its name).
    pub file: String,
    /// The letter and segment it was written for (XLIFF), with the segment's lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<[u32; 2]>,
    /// The machine English it replaced (XLIFF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced: Option<Replaced>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct MemoryFile {
    version: u32,
    entries: Vec<Entry>,
}

/// The memory, by the key of each entry's Dutch ([`key`]).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Memory {
    entries: BTreeMap<String, Entry>,
}

/// What adding an entry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    New,
    Changed,
    /// The same English was already there.
    Same,
    /// A human translation of the same Dutch is there: a memory entry does not replace it.
    KeptHuman,
}

/// The key of a Dutch text: its words, whitespace collapsed, with the characters the normaliser
/// would have cleaned (no-break and soft hyphens, typographic quotes and apostrophes) as the
/// plain ones, so a memory written from another extraction of the same text still matches.
pub fn key(nl: &str) -> String {
    let cleaned: String = nl
        .chars()
        .filter(|&c| c != '\u{ad}' && c != '\u{200b}' && c != '\u{feff}')
        .map(|c| match c {
            '\u{a0}' | '\u{2007}' | '\u{202f}' => ' ',
            '\u{2018}' | '\u{2019}' | '\u{201a}' | '\u{2032}' => '\'',
            '\u{201c}' | '\u{201d}' | '\u{201e}' | '\u{2033}' => '"',
            '\u{2010}' | '\u{2011}' => '-',
            c => c,
        })
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Memory {
    /// The memory of output folder `out`; empty when there is none.
    pub fn load(out: &Path) -> Result<Memory, StoreError> {
        let path = path(out);
        if !path.is_file() {
            return Ok(Memory::default());
        }
        let file: MemoryFile = read_json(&path)?;
        if file.version > VERSION {
            return Err(StoreError::Json {
                path,
                message: format!(
                    "written by a newer tolk (format {}, this one reads {VERSION})",
                    file.version
                ),
            });
        }
        let mut m = Memory::default();
        for e in file.entries {
            m.entries.insert(key(&e.nl), e);
        }
        Ok(m)
    }

    /// Write it into `out`, atomically and synced.
    pub fn save(&self, out: &Path) -> Result<(), StoreError> {
        let file = MemoryFile {
            version: VERSION,
            entries: self.entries.values().cloned().collect(),
        };
        write_json_with(&path(out), &file, Durability::Synced)
    }

    /// The entry for Dutch `nl`, if any.
    pub fn get(&self, nl: &str) -> Option<&Entry> {
        if self.entries.is_empty() {
            return None;
        }
        self.entries.get(&key(nl))
    }

    /// Add `entry`: a human translation replaces whatever was there, a memory entry replaces
    /// only another memory entry.
    pub fn add(&mut self, entry: Entry) -> Added {
        let k = key(&entry.nl);
        match self.entries.get(&k) {
            Some(old) if old.en == entry.en && old.kept.origin >= entry.kept.origin => Added::Same,
            Some(old)
                if old.kept.origin == Origin::Human && entry.kept.origin == Origin::Memory =>
            {
                Added::KeptHuman
            }
            Some(_) => {
                self.entries.insert(k, entry);
                Added::Changed
            }
            None => {
                self.entries.insert(k, entry);
                Added::New
            }
        }
    }

    /// The entry whose Dutch is closest to `nl` with a word-level similarity of at least
    /// [`CLOSE`], but not the same: a translator's English for a similar sentence, which a
    /// model may be shown as a reference. None when no entry is close enough.
    pub fn closest(&self, nl: &str) -> Option<(&Entry, f32)> {
        if self.entries.is_empty() {
            return None;
        }
        let k = key(nl);
        let words = k.split(' ').count();
        self.entries
            .iter()
            .filter(|(other, _)| **other != k)
            .filter(|(other, _)| {
                // Only a text of about the same length can be that similar.
                let n = other.split(' ').count();
                n * 2 >= words && n <= words * 2
            })
            .map(|(other, e)| {
                (
                    e,
                    similar::TextDiff::from_words(k.as_str(), other.as_str()).ratio(),
                )
            })
            .filter(|&(_, r)| r >= CLOSE)
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// How many entries of each origin.
    pub fn counts(&self) -> (usize, usize) {
        let human = self
            .entries
            .values()
            .filter(|e| e.kept.origin == Origin::Human)
            .count();
        (human, self.entries.len() - human)
    }
}

/// The memory's file in output folder `out`.
pub fn path(out: &Path) -> PathBuf {
    out.join(DIR).join(FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(nl: &str, en: &str, origin: Origin) -> Entry {
        Entry {
            nl: nl.into(),
            en: en.into(),
            kept: Kept {
                origin,
                editor: None,
                date: "2026-12-07T00:00:00Z".into(),
            },
            file: "f".into(),
            doc_id: None,
            segment: None,
            lines: None,
            replaced: None,
        }
    }

    #[test]
    fn a_key_ignores_spacing_and_what_the_normaliser_cleans() {
        assert_eq!(
            key("  Wij  zijn\u{a0}tegen\u{ad}\n het ‘voorstel’. "),
            "Wij zijn tegen het 'voorstel'."
        );
    }

    #[test]
    fn a_person_outranks_a_memory_and_the_same_english_is_no_change() {
        let mut m = Memory::default();
        assert_eq!(
            m.add(entry("Wij zijn tegen.", "We are against.", Origin::Memory)),
            Added::New
        );
        assert_eq!(
            m.add(entry("Wij zijn tegen.", "We object.", Origin::Human)),
            Added::Changed
        );
        assert_eq!(
            m.add(entry("Wij  zijn tegen.", "We object.", Origin::Human)),
            Added::Same
        );
        assert_eq!(
            m.add(entry("Wij zijn tegen.", "We are opposed.", Origin::Memory)),
            Added::KeptHuman
        );
        assert_eq!(m.get("Wij zijn  tegen.").unwrap().en, "We object.");
        assert_eq!(m.counts(), (1, 0));
    }

    #[test]
    fn a_close_sentence_is_found_and_a_distant_or_the_same_one_is_not() {
        let mut m = Memory::default();
        m.add(entry(
            "Wij vragen u om het voorstel van de Commissie niet te steunen.",
            "We ask you not to support the Commission's proposal.",
            Origin::Human,
        ));
        m.add(entry(
            "Met vriendelijke groet,",
            "Kind regards,",
            Origin::Memory,
        ));
        let (e, r) = m
            .closest("Wij vragen u om het voorstel van het voorzitterschap niet te steunen.")
            .unwrap();
        assert!(r >= CLOSE && e.en.starts_with("We ask you"), "{r}");
        assert!(
            m.closest("De Tweede Kamer heeft vandaag een motie aangenomen.")
                .is_none()
        );
        assert!(
            m.closest("Wij vragen u om het voorstel van de Commissie niet te steunen.")
                .is_none(),
            "an exact match is not a reference: it is the translation"
        );
    }

    #[test]
    fn it_survives_a_save_and_a_load() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = Memory::default();
        m.add(entry("Wij zijn tegen.", "We object.", Origin::Human));
        m.add(entry("Geachte minister,", "Dear Minister,", Origin::Memory));
        m.save(dir.path()).unwrap();
        assert_eq!(Memory::load(dir.path()).unwrap(), m);
        assert!(Memory::load(&dir.path().join("none")).unwrap().is_empty());
    }
}
