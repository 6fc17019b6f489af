//! Reports: the readable Markdown beside every JSON output, the terminal views, and the HTML
//! report site.

pub mod html;
pub mod markdown;
pub mod terminal;
