//! stance.json: the letter's names, date and overall stance, and a judgement per topic, each
//! with the quotes it rests on and where they are in the source.

use crate::ground::Match;
use crate::tasks::finding::Finding;
use crate::tasks::{Pages, Source};
use serde::{Deserialize, Serialize};

/// A quote and where it is in the source.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Evidence {
    pub quote_nl: String,
    pub quote_en: String,
    /// Original lines (1-based, inclusive); null when unverified.
    pub lines: Option<[u32; 2]>,
    /// Its page (or pages) in a PDF letter.
    #[serde(flatten)]
    pub pages: Pages,
    #[serde(rename = "match")]
    pub status: Match,
    pub score: f64,
    /// Where `quote_en` comes from (not written when it is the model's gloss).
    #[serde(default, skip_serializing_if = "EnFrom::is_model")]
    pub en_from: EnFrom,
}

/// Where the English of a quote comes from.
#[derive(
    Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EnFrom {
    /// The model's gloss, written with the quote.
    #[default]
    Model,
    /// The letter's translation: the sentences that stand where the quote stands in its
    /// paragraph, which has as many sentences in English as in Dutch ([`super::gloss`]).
    Translation,
    /// The letter's translation, whose paragraph has another number of sentences than the
    /// Dutch: the English sentences at the same place in it, which may say a little more or
    /// less than the quote.
    TranslationApprox,
    /// Asked without its English, and this run has no translation of its paragraph (the
    /// translation failed): a rerun, with the translation cached, fills it.
    Missing,
}

impl EnFrom {
    pub fn is_model(&self) -> bool {
        *self == EnFrom::Model
    }

    /// What a reader is told beside the English, when it is not the model's gloss.
    pub fn note(self) -> Option<&'static str> {
        match self {
            EnFrom::Model => None,
            EnFrom::Translation => Some("from the translation"),
            EnFrom::TranslationApprox => {
                Some("from the translation, whose sentences do not match the Dutch one to one")
            }
            EnFrom::Missing => {
                Some("no English: the translation of its paragraph failed; run again to fill it")
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Overall {
    pub stance: String,
    pub confidence: f64,
    pub rationale_en: String,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct TopicOut {
    pub topic: String,
    pub label: String,
    pub stance: String,
    pub confidence: f64,
    pub rationale_en: String,
    pub evidence: Vec<Evidence>,
}

/// stance.json
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct StanceOut {
    pub doc_id: String,
    pub source: Source,
    pub model: String,
    pub author: Vec<String>,
    pub addressees: Vec<String>,
    pub date: Option<String>,
    /// The fields read from the letter itself ([`crate::ingest::facts`]: `author`,
    /// `addressees`, `date`) rather than answered by the model; the others are the model's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from_letter: Vec<String>,
    pub doc_type: String,
    pub overall: Overall,
    pub topics: Vec<TopicOut>,
    /// What the output checks found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Finding>,
}
