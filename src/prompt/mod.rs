//! Prompts: minijinja templates (`version`, `system`, `user`), rendered with strict undefined (a
//! misspelt variable is an error, not an empty string), plus the glossary and the stance
//! taxonomy.
//!
//! The prompt files ship inside the binary ([`BUILT_IN`], the files of the project's
//! `prompts/`), so tolk runs from any folder. A prompts folder (`prompts/` in the working
//! directory, or `run.prompts`) overrides them file by file; `tolk prompts export DIR` writes
//! the built-in ones out for editing.
//!
//! Invariant: the rendered messages are a cache input and the hash of every file's text is in
//! the manifest, so editing a prompt, the glossary or the taxonomy (built in or overridden)
//! changes exactly the calls that use them.

use crate::llm::Message;
use minijinja::{Environment, UndefinedBehavior};
use serde::{Deserialize, Serialize};

pub mod glossary;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The prompt names tolk uses.
pub const PROMPTS: &[&str] = &[
    "translate",
    "translate_segment",
    "summary_map",
    "summary_reduce",
    "stance",
    "ask",
    "review",
    "refine",
];

/// The prompt files compiled into tolk: file name and text.
pub const BUILT_IN: &[(&str, &str)] = &[
    (
        "translate.toml",
        include_str!("../../prompts/translate.toml"),
    ),
    (
        "translate_segment.toml",
        include_str!("../../prompts/translate_segment.toml"),
    ),
    (
        "summary_map.toml",
        include_str!("../../prompts/summary_map.toml"),
    ),
    (
        "summary_reduce.toml",
        include_str!("../../prompts/summary_reduce.toml"),
    ),
    ("stance.toml", include_str!("../../prompts/stance.toml")),
    ("ask.toml", include_str!("../../prompts/ask.toml")),
    ("review.toml", include_str!("../../prompts/review.toml")),
    ("refine.toml", include_str!("../../prompts/refine.toml")),
    ("glossary.toml", include_str!("../../prompts/glossary.toml")),
    (
        "stance_topics.toml",
        include_str!("../../prompts/stance_topics.toml"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("{path}: cannot read")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: not a folder of prompt files (run.prompts)")]
    NoFolder { path: PathBuf },
    #[error(
        "{path} exists; tolk prompts export does not overwrite (remove it, or pick another folder)"
    )]
    Exists { path: PathBuf },
    #[error("prompt {name}: {message}")]
    Render { name: String, message: String },
}

/// A fixed rendering.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Term {
    pub nl: String,
    pub en: String,
}

/// A stance topic of the fixed taxonomy.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Topic {
    pub id: String,
    pub label: String,
    pub description: String,
    /// Dutch words (lower case, matched inside words) that a text on this topic uses. Asked per
    /// question, a part of a letter that uses none of them is not asked about the topic (it is
    /// not addressed there), and under a grammar the quote is one of the sentences that use
    /// them. Empty: always asked, any sentence quoted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub terms: Vec<String>,
}

impl Topic {
    /// Whether `text` uses one of the topic's terms (always, when it has none).
    pub fn mentioned_in(&self, text: &str) -> bool {
        self.terms.is_empty() || uses_any(&self.terms, text)
    }
}

/// Whether `text` uses one of `terms` (matched inside words, case aside): how a stance topic and
/// a question of the user's find the sentences on them.
pub fn uses_any(terms: &[String], text: &str) -> bool {
    let lower = text.to_lowercase();
    terms.iter().any(|t| lower.contains(&t.to_lowercase()))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PromptFile {
    version: u32,
    system: String,
    user: String,
}

#[derive(Debug, Deserialize)]
struct GlossaryFile {
    term: Vec<Term>,
}

#[derive(Debug, Deserialize)]
struct TopicsFile {
    topic: Vec<Topic>,
}

/// One loaded prompt.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub name: String,
    pub version: u32,
    /// sha256 of the prompt file.
    pub sha256: String,
    system: String,
    user: String,
}

/// Every prompt, the glossary and the topics, loaded once per run.
#[derive(Debug, Clone)]
pub struct PromptSet {
    /// The folder that overrides built-in files, if any.
    pub dir: Option<PathBuf>,
    /// The files of `dir` that replaced a built-in one.
    pub overridden: Vec<PathBuf>,
    pub prompts: BTreeMap<String, Prompt>,
    pub glossary: Vec<Term>,
    pub topics: Vec<Topic>,
    /// name -> sha256 of every file that shapes a prompt (for the manifest).
    pub hashes: BTreeMap<String, String>,
}

/// The text of prompt file `name`: the file of that name in `dir` when there is one, else the
/// built-in text. Returns the text and the path it was read from (a built-in file is named as
/// `<built-in>/name`).
fn read(
    dir: Option<&Path>,
    name: &str,
    overridden: &mut Vec<PathBuf>,
) -> Result<(String, PathBuf), PromptError> {
    if let Some(d) = dir {
        let path = d.join(name);
        if path.is_file() {
            let text = std::fs::read_to_string(&path).map_err(|source| PromptError::Read {
                path: path.clone(),
                source,
            })?;
            overridden.push(path.clone());
            return Ok((text, path));
        }
    }
    let text = BUILT_IN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| (*t).to_string())
        .expect("every prompt file tolk reads is built in");
    Ok((text, Path::new("<built-in>").join(name)))
}

/// Write the built-in prompt files into `dir` (created if needed), never over an existing file.
pub fn export(dir: &Path) -> Result<Vec<PathBuf>, PromptError> {
    std::fs::create_dir_all(dir).map_err(|source| PromptError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    for (name, _) in BUILT_IN {
        let path = dir.join(name);
        if path.exists() {
            return Err(PromptError::Exists { path });
        }
    }
    for (name, text) in BUILT_IN {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| PromptError::Read {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

impl Prompt {
    /// The system template, as written.
    pub fn system(&self) -> &str {
        &self.system
    }
}

impl PromptSet {
    /// The built-in prompts, each replaced by the file of the same name in `dir` (when given:
    /// it must be a folder).
    pub fn load(dir: Option<&Path>) -> Result<PromptSet, PromptError> {
        Self::load_with(dir, &[])
    }

    /// [`PromptSet::load`], with the terms of the user's glossary files (`run.glossaries`:
    /// TBX, CSV, TSV) added to the glossary; a file's term replaces a built-in one with the
    /// same Dutch, and a later file's an earlier one's.
    pub fn load_with(dir: Option<&Path>, glossaries: &[PathBuf]) -> Result<PromptSet, PromptError> {
        if let Some(d) = dir
            && !d.is_dir()
        {
            return Err(PromptError::NoFolder {
                path: d.to_path_buf(),
            });
        }
        let mut prompts = BTreeMap::new();
        let mut hashes = BTreeMap::new();
        let mut overridden = Vec::new();
        let env = environment();
        for name in PROMPTS {
            let (text, path) = read(dir, &format!("{name}.toml"), &mut overridden)?;
            let file: PromptFile = toml::from_str(&text).map_err(|e| PromptError::Parse {
                path: path.clone(),
                message: e.to_string(),
            })?;
            for (part, src) in [("system", &file.system), ("user", &file.user)] {
                env.template_from_str(src).map_err(|e| PromptError::Parse {
                    path: path.clone(),
                    message: format!("{part}: {e:#}"),
                })?;
            }
            let sha = crate::ingest::sha256_hex(text.as_bytes());
            hashes.insert(format!("{name}@v{}", file.version), sha.clone());
            prompts.insert(
                name.to_string(),
                Prompt {
                    name: name.to_string(),
                    version: file.version,
                    sha256: sha,
                    system: file.system,
                    user: file.user,
                },
            );
        }
        let (text, path) = read(dir, "glossary.toml", &mut overridden)?;
        let mut glossary: GlossaryFile = toml::from_str(&text).map_err(|e| PromptError::Parse {
            path: path.clone(),
            message: e.to_string(),
        })?;
        hashes.insert(
            "glossary".into(),
            crate::ingest::sha256_hex(text.as_bytes()),
        );
        for file in glossaries {
            let bytes = std::fs::read(file).map_err(|source| PromptError::Read {
                path: file.clone(),
                source,
            })?;
            hashes.insert(
                format!("glossary:{}", file.display()),
                crate::ingest::sha256_hex(&bytes),
            );
            for t in glossary::parse(file, bytes)? {
                glossary
                    .term
                    .retain(|old| old.nl.to_lowercase() != t.nl.to_lowercase());
                glossary.term.push(t);
            }
        }
        let (text, path) = read(dir, "stance_topics.toml", &mut overridden)?;
        let topics: TopicsFile = toml::from_str(&text).map_err(|e| PromptError::Parse {
            path: path.clone(),
            message: e.to_string(),
        })?;
        hashes.insert(
            "stance_topics".into(),
            crate::ingest::sha256_hex(text.as_bytes()),
        );
        Ok(PromptSet {
            dir: dir.map(Path::to_path_buf),
            overridden,
            prompts,
            glossary: glossary.term,
            topics: topics.topic,
            hashes,
        })
    }

    pub fn get(&self, name: &str) -> &Prompt {
        self.prompts
            .get(name)
            .expect("every prompt in PROMPTS is loaded")
    }

    /// The glossary terms that occur in `text` (case-insensitive).
    pub fn glossary_for(&self, text: &str) -> Vec<Term> {
        let lower = text.to_lowercase();
        self.glossary
            .iter()
            .filter(|t| lower.contains(&t.nl.to_lowercase()))
            .cloned()
            .collect()
    }

    /// Render prompt `name` with `ctx` into a system and a user message.
    pub fn render(&self, name: &str, ctx: &serde_json::Value) -> Result<Vec<Message>, PromptError> {
        let prompt = self.get(name);
        let env = environment();
        let render = |src: &str| -> Result<String, PromptError> {
            env.render_str(src, minijinja::value::Serde(ctx))
                .map(|s| tidy(&s))
                .map_err(|e| PromptError::Render {
                    name: name.to_string(),
                    message: format!("{e:#}"),
                })
        };
        Ok(vec![
            Message::system(render(&prompt.system)?),
            Message::user(render(&prompt.user)?),
        ])
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .build()
            .expect("the default syntax with trim_blocks is valid"),
    );
    env
}

/// Trim the blank lines that template tags leave at the ends.
fn tidy(s: &str) -> String {
    s.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> PromptSet {
        PromptSet::load(None).unwrap()
    }

    #[test]
    fn the_built_in_prompts_are_the_project_files_and_a_folder_overrides_them_one_by_one() {
        let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
        let from_files = PromptSet::load(Some(&project)).unwrap();
        let built_in = set();
        // Same text, same hashes: the cache keys do not depend on where the prompts came from.
        assert_eq!(from_files.hashes, built_in.hashes);
        assert!(built_in.overridden.is_empty());

        let dir = tempfile::tempdir().unwrap();
        let glossary = "[[term]]\nnl = \"verordening\"\nen = \"Regulation\"\n";
        std::fs::write(dir.path().join("glossary.toml"), glossary).unwrap();
        let mixed = PromptSet::load(Some(dir.path())).unwrap();
        assert_eq!(mixed.overridden, vec![dir.path().join("glossary.toml")]);
        assert_eq!(mixed.glossary.len(), 1);
        assert_ne!(mixed.hashes["glossary"], built_in.hashes["glossary"]);
        assert_eq!(
            mixed.hashes["translate@v1"],
            built_in.hashes["translate@v1"]
        );

        let err = PromptSet::load(Some(&dir.path().join("nope"))).unwrap_err();
        assert!(err.to_string().contains("not a folder"), "{err}");

        let out = dir.path().join("exported");
        let written = export(&out).unwrap();
        assert_eq!(written.len(), BUILT_IN.len());
        assert_eq!(PromptSet::load(Some(&out)).unwrap().hashes, built_in.hashes);
        assert!(matches!(export(&out), Err(PromptError::Exists { .. })));
    }

    #[test]
    fn the_shipped_prompts_load_and_render() {
        let p = set();
        assert!(p.topics.len() >= 11);
        let ctx = serde_json::json!({
            "doc": {"id": "d"},
            "glossary": p.glossary_for("de verordening en de Tweede Kamer"),
            "before": "",
            "after": "",
            "segments": [{"id": "p1", "kind": "body", "text": "Hallo."}],
        });
        let msgs = p.render("translate", &ctx).unwrap();
        assert!(msgs[0].content.contains("verordening -> regulation"));
        assert!(
            msgs[0]
                .content
                .contains("Tweede Kamer -> House of Representatives")
        );
        assert!(
            !msgs[0].content.contains("Eerste Kamer"),
            "only terms in the text"
        );
        assert!(msgs[1].content.contains("[p1] Hallo."));
    }

    #[test]
    fn an_undefined_variable_is_an_error() {
        let p = set();
        let err = p
            .render("translate", &serde_json::json!({"doc": {"id": "d"}}))
            .unwrap_err();
        assert!(err.to_string().contains("prompt translate"), "{err}");
    }
}
