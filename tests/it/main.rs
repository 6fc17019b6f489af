//! Integration tests, one binary: `cargo test` runs them all.
mod batch;
mod cli_chunk;
mod client;
mod letters;
mod local;
mod run;
pub mod support;
mod versions;
