//! Prompts: minijinja templates in `prompts/*.toml` (`version`, `system`, `user`), rendered with
//! strict undefined (a misspelt variable is an error, not an empty string), plus the glossary
//! (`prompts/glossary.toml`) and the stance taxonomy (`prompts/stance_topics.toml`).
//!
//! Invariant: the rendered messages are a cache input, so editing a prompt, the glossary or the
//! taxonomy changes exactly the calls that use them.

use crate::llm::Message;
use minijinja::{Environment, UndefinedBehavior};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The prompt names tolk uses.
pub const PROMPTS: &[&str] = &["translate", "summary_map", "summary_reduce", "stance"];

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
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
    pub dir: PathBuf,
    pub prompts: BTreeMap<String, Prompt>,
    pub glossary: Vec<Term>,
    pub topics: Vec<Topic>,
    /// name -> sha256 of every file that shapes a prompt (for the manifest).
    pub hashes: BTreeMap<String, String>,
}

fn read(path: &Path) -> Result<String, PromptError> {
    std::fs::read_to_string(path).map_err(|source| PromptError::Read {
        path: path.to_path_buf(),
        source,
    })
}

impl PromptSet {
    pub fn load(dir: &Path) -> Result<PromptSet, PromptError> {
        let mut prompts = BTreeMap::new();
        let mut hashes = BTreeMap::new();
        let env = environment();
        for name in PROMPTS {
            let path = dir.join(format!("{name}.toml"));
            let text = read(&path)?;
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
        let path = dir.join("glossary.toml");
        let text = read(&path)?;
        let glossary: GlossaryFile = toml::from_str(&text).map_err(|e| PromptError::Parse {
            path: path.clone(),
            message: e.to_string(),
        })?;
        hashes.insert(
            "glossary".into(),
            crate::ingest::sha256_hex(text.as_bytes()),
        );
        let path = dir.join("stance_topics.toml");
        let text = read(&path)?;
        let topics: TopicsFile = toml::from_str(&text).map_err(|e| PromptError::Parse {
            path: path.clone(),
            message: e.to_string(),
        })?;
        hashes.insert(
            "stance_topics".into(),
            crate::ingest::sha256_hex(text.as_bytes()),
        );
        Ok(PromptSet {
            dir: dir.to_path_buf(),
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
        PromptSet::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts")).unwrap()
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
