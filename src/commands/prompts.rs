//! `tolk prompts export DIR`: the built-in prompt files, written out for editing.

use super::Outcome;
use std::path::Path;

pub fn export(dir: &Path) -> anyhow::Result<Outcome> {
    for path in crate::prompt::export(dir)? {
        println!("{}", path.display());
    }
    eprintln!(
        "edit them there, then set run.prompts = {:?} in tolk.toml (or run tolk from a folder \
         where they are prompts/): each file replaces its built-in one",
        dir.display().to_string()
    );
    Ok(Outcome::Clean)
}
