//! Reports: the readable Markdown beside every JSON output, the terminal views, the text and
//! Markdown of `tolk diff`, and the HTML report site.

pub mod diff;
pub mod export;
pub mod html;
pub mod markdown;
pub mod terminal;
