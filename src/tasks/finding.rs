//! What an output check found: part of the record of every output (each translated segment,
//! the summary and the stance carry their findings). The checks themselves are in
//! [`crate::checks`].

use serde::{Deserialize, Serialize};

/// The checks, by name.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// A number, date or amount of the Dutch is not in the English, or the English adds one.
    Numbers,
    /// A URL, e-mail address, document reference or footnote marker is not kept verbatim.
    Codes,
    /// An acronym or a name of the Dutch is not carried over.
    Names,
    /// A glossary term of the Dutch does not have its fixed English.
    Glossary,
    /// The English is mostly Dutch.
    Untranslated,
    /// The English is the Dutch, unchanged.
    Identical,
    /// The English is empty.
    Empty,
    /// The English renders or copies another segment's Dutch.
    Misaligned,
    /// The same English stands for different Dutch.
    Duplicate,
    /// The English is much shorter or longer than the Dutch (omission, addition, cut off).
    Length,
    /// The Dutch negates and the English does not (as often).
    Negation,
    /// The English repeats itself (a generation loop).
    Repetition,
    /// Text that should be English (summary, rationale, gloss) is not, or echoes the
    /// instructions.
    NotEnglish,
    /// A key point cites no lines.
    Uncited,
    /// A support, oppose or mixed judgement without a verified quote.
    Unsupported,
    /// A topic judged not addressed, yet with quotes.
    Inconsistent,
    /// A summary or a rationale that stops mid-sentence (cut at a length bound).
    CutOff,
    /// A key point that cites only the letter's head or signature lines.
    HeadOnly,
    /// A key point whose numbers are not in the lines it cites.
    Ungrounded,
    /// A summary that names someone else as the letter's sender or addressee than the letter does.
    WrongParty,
    /// A position whose own quote or rationale says the opposite.
    Contradicted,
    /// The letter holds text addressed to a model ("ignore your instructions").
    Injection,
}

impl Check {
    /// The check's name, as serialised.
    pub fn name(self) -> &'static str {
        match self {
            Check::Numbers => "numbers",
            Check::Codes => "codes",
            Check::Names => "names",
            Check::Glossary => "glossary",
            Check::Untranslated => "untranslated",
            Check::Identical => "identical",
            Check::Empty => "empty",
            Check::Misaligned => "misaligned",
            Check::Duplicate => "duplicate",
            Check::Length => "length",
            Check::Negation => "negation",
            Check::Repetition => "repetition",
            Check::NotEnglish => "not_english",
            Check::Uncited => "uncited",
            Check::Unsupported => "unsupported",
            Check::Inconsistent => "inconsistent",
            Check::CutOff => "cut_off",
            Check::HeadOnly => "head_only",
            Check::Ungrounded => "ungrounded",
            Check::WrongParty => "wrong_party",
            Check::Contradicted => "contradicted",
            Check::Injection => "injection",
        }
    }
}

/// How much a finding matters to a reader.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The English says something else than the Dutch, or its provenance is wrong.
    Major,
    /// Worth a look: terminology, a name, a marker, a length.
    Minor,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Major => "major",
            Severity::Minor => "minor",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Finding {
    pub check: Check,
    pub severity: Severity,
    /// The segment id (`p12`), `summary`, a key point (`kp3`), or a stance topic.
    pub segment: String,
    /// The source lines it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<[u32; 2]>,
    pub message: String,
    /// The text that shows it: the number, the code, the words.
    pub evidence: String,
}

/// A per-document terminology table: each glossary term of the letter, where it occurs, and
/// how often its fixed English was used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TermUse {
    pub nl: String,
    pub en: String,
    /// The segments whose Dutch has the term.
    pub segments: Vec<String>,
    /// ... of which the English has the fixed rendering.
    pub used: u32,
    pub missed: u32,
}
