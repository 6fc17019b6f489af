//! Integration tests, one binary: `cargo test` runs them all.
mod batch;
mod capabilities;
mod checks;
mod cli_chunk;
mod client;
mod eval;
mod letters;
mod local;
mod pdf;
mod questions;
mod real_server;
mod report;
mod review;
mod run;
mod segment;
pub mod support;
mod versions;
