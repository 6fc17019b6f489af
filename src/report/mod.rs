//! Reports: the readable Markdown beside every JSON output.

pub mod markdown;
pub mod terminal;
