//! Reading the inputs: every file of the run becomes a document cut into chunks, or an
//! unreadable input with its reason (the rest of the batch goes on).

use crate::chunk::{self, Chunk, ChunkConfig};
use crate::ingest::{self, Document, IngestError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A document ready for the tasks.
pub struct Prepared {
    pub doc: Arc<Document>,
    pub chunks: Arc<Vec<Chunk>>,
    /// Warnings of ingest and chunking, for the manifest.
    pub warnings: Vec<String>,
}

/// An input that could not be read.
#[derive(Debug, Clone)]
pub struct Unreadable {
    pub doc_id: String,
    pub path: PathBuf,
    /// sha256 of its bytes, when they could be read at all.
    pub sha256: String,
    /// What is wrong, naming the file.
    pub reason: String,
}

/// The inputs of a run.
pub struct Inputs {
    pub docs: Vec<Prepared>,
    pub unreadable: Vec<Unreadable>,
}

/// The files named by `inputs` (folders searched for letters); none at all is an error.
pub fn files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, IngestError> {
    ingest::collect_inputs(inputs)
}

/// Read and chunk every file.
pub fn prepare(files: &[PathBuf], cfg: &ChunkConfig) -> Inputs {
    let mut docs = Vec::new();
    let mut unreadable = Vec::new();
    for f in files {
        match ingest::read(f) {
            Ok(doc) => docs.push(prepare_doc(doc, cfg)),
            Err(e) => unreadable.push(unreadable_input(f, &e)),
        }
    }
    Inputs { docs, unreadable }
}

/// A read document, chunked.
pub fn prepare_doc(doc: Document, cfg: &ChunkConfig) -> Prepared {
    let chunking = chunk::split(&doc, cfg);
    let mut warnings = doc.warnings.clone();
    warnings.extend(chunking.warnings);
    Prepared {
        doc: Arc::new(doc),
        chunks: Arc::new(chunking.chunks),
        warnings,
    }
}

fn unreadable_input(path: &Path, e: &IngestError) -> Unreadable {
    Unreadable {
        doc_id: ingest::doc_id(path),
        path: path.to_path_buf(),
        sha256: std::fs::read(path)
            .map(|b| ingest::sha256_hex(&b))
            .unwrap_or_default(),
        reason: crate::error::chain(e),
    }
}
