//! tolk turns Dutch letters into grounded English: every English sentence can be traced back to
//! the lines of the source file it came from.
//!
//! # Layout
//!
//! Data flows one way; each module is one pipeline stage:
//!
//! - [`ingest`]: file -> decoded text -> normalised paragraphs with a line map
//! - [`chunk`]: document -> token-budgeted chunks with byte and line ranges
//! - [`config`]: defaults < tolk.toml < `TOLK_*` environment < flags, validated once
//! - [`cli`]: the command line
pub mod app;
pub mod batch;
pub mod chunk;
pub mod cli;
pub mod config;
pub mod diff;
pub mod ground;
pub mod ingest;
pub mod llm;
pub mod pipeline;
pub mod progress;
pub mod prompt;
pub mod report;
pub mod store;
pub mod tasks;
