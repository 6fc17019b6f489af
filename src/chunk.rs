//! Chunking: a [`Document`]'s normalised text cut into token-budgeted chunks that carry their byte
//! and original line ranges.
//!
//! Whole paragraphs are packed up to the budget. A paragraph larger than the budget is split by
//! the text-splitter crate (tiktoken sizer, trimming off, so offsets stay true): at sentence
//! boundaries, and inside a sentence only when one sentence alone exceeds the budget, which is
//! reported as a warning.
//!
//! Invariants (property-tested): the chunks tile the normalised text exactly, in order and
//! without overlap; every chunk's token count is within the budget; line ranges are ordered and
//! inside the file.

use crate::ingest::Document;
use serde::{Deserialize, Serialize};
use text_splitter::{ChunkConfig as SplitterConfig, TextSplitter};
use tiktoken_rs::CoreBPE;

/// Which tiktoken encoding counts tokens.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    Default,
    clap::ValueEnum,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TokenEncoding {
    #[default]
    #[value(name = "o200k_base")]
    O200kBase,
    #[value(name = "cl100k_base")]
    Cl100kBase,
}

impl TokenEncoding {
    /// The shared BPE instance (built once per process).
    pub fn bpe(self) -> &'static CoreBPE {
        match self {
            TokenEncoding::O200kBase => tiktoken_rs::o200k_base_singleton(),
            TokenEncoding::Cl100kBase => tiktoken_rs::cl100k_base_singleton(),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TokenEncoding::O200kBase => "o200k_base",
            TokenEncoding::Cl100kBase => "cl100k_base",
        }
    }

    /// Number of tokens in `text`.
    pub fn count(self, text: &str) -> usize {
        self.bpe().encode_ordinary(text).len()
    }
}

/// How to cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkConfig {
    pub max_tokens: usize,
    pub encoding: TokenEncoding,
}

impl Default for ChunkConfig {
    fn default() -> Self {
        ChunkConfig {
            max_tokens: 700,
            encoding: TokenEncoding::O200kBase,
        }
    }
}

/// One chunk of a document.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Chunk {
    pub index: usize,
    /// Original lines, 1-based, inclusive.
    pub lines: [u32; 2],
    /// Byte range in the normalised text.
    pub byte_range: [usize; 2],
    pub tokens: usize,
    /// Ids of the paragraphs this chunk holds (whole or in part).
    pub paragraphs: Vec<String>,
    pub text: String,
}

/// The chunks of one document, and what a user should know about how they were cut.
#[derive(Debug, Clone)]
pub struct Chunking {
    pub chunks: Vec<Chunk>,
    pub warnings: Vec<String>,
}

struct Unit {
    start: usize,
    end: usize,
    tokens: usize,
    /// Ends at a paragraph boundary ("\n\n" or the end of the text). Token counts add up
    /// exactly across such boundaries (the separator is a pre-token of its own), so a chunk made
    /// of such units needs no second count.
    whole: bool,
}

/// Cut `doc` into chunks of at most `cfg.max_tokens` tokens.
pub fn split(doc: &Document, cfg: &ChunkConfig) -> Chunking {
    let budget = cfg.max_tokens.max(8);
    let bpe = cfg.encoding.bpe();
    let text = doc.text.as_str();
    let mut warnings = Vec::new();
    let mut units: Vec<Unit> = Vec::new();
    for (n, p) in doc.paragraphs.iter().enumerate() {
        let start = p.byte_range[0];
        let end = doc
            .paragraphs
            .get(n + 1)
            .map_or(text.len(), |q| q.byte_range[0]);
        let tokens = bpe.encode_ordinary(&text[start..end]).len();
        if tokens <= budget {
            units.push(Unit {
                start,
                end,
                tokens,
                whole: true,
            });
            continue;
        }
        // Leave room for the paragraph separator that the last piece carries.
        let splitter = TextSplitter::new(
            SplitterConfig::new(budget.saturating_sub(2).max(1))
                .with_sizer(bpe)
                .with_trim(false),
        );
        let body = &text[p.byte_range[0]..p.byte_range[1]];
        let mut pieces: Vec<(usize, usize)> = splitter
            .chunk_indices(body)
            .map(|(off, s)| (start + off, start + off + s.len()))
            .collect();
        if let Some(last) = pieces.last_mut() {
            last.1 = end;
        }
        let mut cut_in_sentence = false;
        for &(a, b) in &pieces {
            let piece = &text[a..b];
            if b < p.byte_range[1] && !ends_sentence_piece(piece) {
                cut_in_sentence = true;
            }
            units.push(Unit {
                start: a,
                end: b,
                tokens: bpe.encode_ordinary(piece).len(),
                whole: b == end,
            });
        }
        if cut_in_sentence {
            warnings.push(format!(
                "{}: paragraph {} (lines {}-{}) has a sentence longer than {} tokens; it was split inside the sentence",
                doc.id, p.id, p.lines[0], p.lines[1], budget
            ));
        }
    }

    let mut chunks = Vec::new();
    let mut i = 0;
    while i < units.len() {
        let mut j = i;
        let mut sum = 0;
        while j < units.len() && (j == i || sum + units[j].tokens <= budget) {
            sum += units[j].tokens;
            j += 1;
        }
        // Token counts are nearly additive; check the real count and give back units if not.
        let tokens = loop {
            if units[i..j - 1].iter().all(|u| u.whole) {
                break units[i..j].iter().map(|u| u.tokens).sum();
            }
            let t = bpe
                .encode_ordinary(&text[units[i].start..units[j - 1].end])
                .len();
            if t <= budget || j - i == 1 {
                break t;
            }
            j -= 1;
        };
        let (a, b) = (units[i].start, units[j - 1].end);
        let paragraphs = doc
            .paragraphs
            .iter()
            .filter(|p| p.byte_range[0] < b && p.byte_range[1] > a)
            .map(|p| p.id.clone())
            .collect();
        chunks.push(Chunk {
            index: chunks.len(),
            lines: doc.line_map.lines_of(a..b).unwrap_or([1, 1]),
            byte_range: [a, b],
            tokens,
            paragraphs,
            text: text[a..b].to_owned(),
        });
        i = j;
    }
    Chunking { chunks, warnings }
}

fn ends_sentence_piece(piece: &str) -> bool {
    piece
        .trim_end()
        .trim_end_matches(|c: char| c.is_ascii_digit() || "»”\"')’".contains(c))
        .ends_with(['.', '!', '?', ';', ':'])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest;
    use proptest::prelude::*;
    use std::path::Path;

    fn check_invariants(doc: &Document, chunking: &Chunking, budget: usize) {
        let joined: String = chunking.chunks.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(joined, doc.text, "chunks re-join to the text");
        let mut pos = 0;
        for c in &chunking.chunks {
            assert_eq!(c.byte_range[0], pos);
            pos = c.byte_range[1];
            assert!(
                c.tokens <= budget,
                "chunk {} has {} tokens",
                c.index,
                c.tokens
            );
            assert!(c.lines[0] >= 1 && c.lines[0] <= c.lines[1] && c.lines[1] <= doc.line_count);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn chunks_tile_arbitrary_text(
            text in "([A-Za-zéë]{1,12}[ .,\\-]{0,2}|\n|\n\n| - ){0,300}",
            budget in 8usize..120,
        ) {
            if let Ok(doc) = ingest::from_bytes("x", Path::new("x.txt"), text.as_bytes()) {
                let cfg = ChunkConfig { max_tokens: budget, encoding: TokenEncoding::O200kBase };
                let chunking = split(&doc, &cfg);
                check_invariants(&doc, &chunking, budget);
            }
        }
    }

    #[test]
    fn long_sentence_is_split_and_reported() {
        let sentence = "woord ".repeat(400);
        let doc = ingest::from_bytes("x", Path::new("x.txt"), sentence.as_bytes()).unwrap();
        let cfg = ChunkConfig {
            max_tokens: 50,
            encoding: TokenEncoding::Cl100kBase,
        };
        let chunking = split(&doc, &cfg);
        check_invariants(&doc, &chunking, 50);
        assert!(chunking.chunks.len() >= 8);
        assert_eq!(chunking.warnings.len(), 1, "{:?}", chunking.warnings);
    }
}
