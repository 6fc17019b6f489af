//! Checks on every output: deterministic, in-process, no call and no network. They run after
//! each task on every endpoint, cached results included, and their findings become part of the
//! output (each segment's `checks`, the summary's and the stance's), the manifest (totals by
//! check), the Markdown, the report and `tolk check`.
//!
//! What each check looks at is said in its own module: [`numbers`], [`codes`], [`names`],
//! [`glossary`], [`text`] (untranslated English), [`alignment`] (misaligned or duplicated
//! segments), [`shape`] (negation, length, repetition); summary and stance checks are below.
//! A finding is `{check, severity, segment, lines, message, evidence}` ([`Finding`]).

pub mod alignment;
pub mod analysis;
pub mod codes;
pub mod glossary;
pub mod names;
pub mod numbers;
mod segment;
pub mod shape;
/// The word helpers and the language test, shared with the tasks (see [`crate::lang`]).
pub use crate::lang as text;

use crate::prompt::Term;
use crate::tasks::TaskOutput;
pub use crate::tasks::finding::{Check, Finding, Severity, TermUse};
use crate::tasks::questions::{NOT_ADDRESSED, QuestionsOut};
use crate::tasks::stance::{Evidence, StanceOut};
use crate::tasks::summary::SummaryOut;
use crate::tasks::translate::{TranslationOut, has_words};
pub use analysis::{Letter, head_lines};
use std::collections::BTreeMap;
use text::{Lang, flat, language};

pub(crate) fn finding(
    check: Check,
    severity: Severity,
    segment: &str,
    lines: Option<[u32; 2]>,
    message: impl Into<String>,
    evidence: impl Into<String>,
) -> Finding {
    Finding {
        check,
        severity,
        segment: segment.to_string(),
        lines,
        message: message.into(),
        evidence: evidence.into(),
    }
}

pub(crate) fn preview(s: &str) -> String {
    let mut p: String = s.chars().take(80).collect();
    if s.chars().count() > 80 {
        p.push('…');
    }
    p
}

pub(crate) fn tail(s: &str) -> String {
    let n = s.chars().count();
    s.chars().skip(n.saturating_sub(40)).collect()
}

fn lines_label(l: [u32; 2]) -> String {
    if l[0] == l[1] {
        format!("line {}", l[0])
    } else {
        format!("lines {}-{}", l[0], l[1])
    }
}

/// The checks, ready to run: the glossary compiled once (its patterns are the costly part).
pub struct Checker {
    terms: Vec<Term>,
    glossary: glossary::Glossary,
    summary_instructions: String,
    /// Acronyms of the glossary's English and of the instructions (`CSA`, `CSAM`): the
    /// vocabulary of the domain, which a key point may use whatever lines it cites.
    vocabulary: Vec<String>,
}

impl Checker {
    /// `summary_instructions`: the summary prompt's system text, for the echo check. The
    /// glossary's patterns are compiled here, once for a run.
    pub fn new(terms: &[Term], summary_instructions: &str) -> Checker {
        let known: String = terms
            .iter()
            .map(|t| t.en.as_str())
            .chain([summary_instructions])
            .collect::<Vec<_>>()
            .join(" ");
        Checker {
            terms: terms.to_vec(),
            glossary: glossary::Glossary::new(terms),
            summary_instructions: summary_instructions.to_string(),
            vocabulary: analysis::acronyms(&known),
        }
    }

    /// The checks of a run with these prompts: their glossary, the summary's instructions for
    /// the echo check, and the acronyms the per-question prompt introduces (`CSA`) as
    /// vocabulary.
    pub fn for_prompts(prompts: &crate::prompt::PromptSet) -> Checker {
        let mut checker = Checker::new(&prompts.glossary, prompts.get("summary_reduce").system());
        checker
            .vocabulary
            .extend(analysis::acronyms(prompts.get("ask").system()));
        checker
    }

    pub fn translation(&self, out: &mut TranslationOut) {
        translation_with(out, &self.glossary, &self.terms);
    }

    /// Check any task's output; with the `letter` it was made of, the summary and the stance
    /// are also held to the letter ([`analysis`]; without it, those checks are not made).
    pub fn output(&self, o: &mut TaskOutput, letter: Option<&Letter>) {
        match o {
            TaskOutput::Translation(t) => self.translation(t),
            TaskOutput::Summary(s) => {
                summary(s, &self.summary_instructions);
                if let Some(l) = letter {
                    analysis::summary(s, l, &self.vocabulary);
                }
            }
            TaskOutput::Stance(s) => {
                stance(s);
                if let Some(l) = letter {
                    analysis::stance(s, l);
                }
            }
            TaskOutput::Questions(q) => {
                questions(q);
                if let Some(l) = letter {
                    analysis::questions(q, l);
                }
            }
            // The review is itself a reading; refine's English is checked in the translation.
            TaskOutput::Review(_) | TaskOutput::Refine(_) => {}
        }
    }
}

/// Check a translation: every segment's findings go into its `checks`, and the letter's
/// terminology table into `terminology`.
pub fn translation(out: &mut TranslationOut, terms: &[Term]) {
    translation_with(out, &glossary::Glossary::new(terms), terms);
}

fn translation_with(out: &mut TranslationOut, glossary: &glossary::Glossary, terms: &[Term]) {
    let judged: Vec<bool> = out.segments.iter().map(|s| has_words(&s.nl)).collect();
    let nl: Vec<&str> = out.segments.iter().map(|s| s.nl.as_str()).collect();
    let en: Vec<Option<&str>> = out
        .segments
        .iter()
        .zip(&judged)
        .map(|(s, &j)| s.en.as_deref().filter(|_| j))
        .collect();
    let mut found: Vec<Vec<Finding>> = vec![Vec::new(); out.segments.len()];
    // Each segment's glossary terms, read once for the checks and the terminology table.
    let held: Vec<Vec<&glossary::Compiled>> = nl.iter().map(|t| glossary.in_dutch(t)).collect();
    let aligner = alignment::Aligner::new(&nl, &en);
    for (i, s) in out.segments.iter().enumerate() {
        let Some(e) = en[i] else { continue };
        found[i] = segment::segment(&s.id, s.lines, &s.nl, e, &held[i], terms);
        if let Some((j, copy)) = aligner.misaligned(i) {
            let other = &out.segments[j];
            found[i].push(finding(
                Check::Misaligned,
                Severity::Major,
                &s.id,
                Some(s.lines),
                format!(
                    "the English {} the Dutch of {} ({}), not of {}",
                    if copy { "is" } else { "renders" },
                    lines_label(other.lines),
                    other.id,
                    lines_label(s.lines)
                ),
                preview(e),
            ));
        }
    }
    for group in alignment::duplicates(&nl, &en) {
        let ids: Vec<&str> = group.iter().map(|&k| out.segments[k].id.as_str()).collect();
        for &k in &group {
            let s = &out.segments[k];
            found[k].push(finding(
                Check::Duplicate,
                Severity::Major,
                &s.id,
                Some(s.lines),
                format!(
                    "the same English stands for different Dutch ({})",
                    ids.join(", ")
                ),
                preview(en[k].unwrap_or("")),
            ));
        }
    }
    for (s, f) in out.segments.iter_mut().zip(found) {
        s.checks = f;
    }
    out.terminology = terminology(out, glossary, &held);
}

/// Each glossary term of the letter: the segments that have it, and how often its rendering
/// was used.
fn terminology(
    out: &TranslationOut,
    glossary: &glossary::Glossary,
    held: &[Vec<&glossary::Compiled>],
) -> Vec<TermUse> {
    let mut table: Vec<TermUse> = Vec::new();
    for g in &glossary.terms {
        let t = &g.term;
        let mut u = TermUse {
            nl: t.nl.clone(),
            en: t.en.clone(),
            segments: Vec::new(),
            used: 0,
            missed: 0,
        };
        for (s, held) in out.segments.iter().zip(held) {
            if !held.iter().any(|h| std::ptr::eq(*h, g)) {
                continue;
            }
            u.segments.push(s.id.clone());
            match &s.en {
                Some(e) if g.in_english(e) => u.used += 1,
                Some(_) => u.missed += 1,
                None => {}
            }
        }
        if !u.segments.is_empty() {
            table.push(u);
        }
    }
    table
}

/// Runs of six words of the instructions (template tags left out), for the echo check.
fn instruction_runs(instructions: &str) -> Vec<String> {
    let plain = regex::Regex::new(r"\{\{.*?\}\}|\{%.*?%\}")
        .map(|r| r.replace_all(instructions, " ").into_owned())
        .unwrap_or_default();
    let words: Vec<String> = flat(&plain).split(' ').map(String::from).collect();
    words.windows(6).map(|w| w.join(" ")).collect()
}

/// Check a summary: English, not an echo of the instructions, every key point citing lines.
pub fn summary(out: &mut SummaryOut, instructions: &str) {
    use Severity::Major;
    let mut found = Vec::new();
    let s = &out.summary_en;
    if s.trim().is_empty() {
        found.push(finding(
            Check::Empty,
            Major,
            "summary",
            None,
            "the summary is empty",
            "",
        ));
    } else if language(s) == Lang::Dutch {
        found.push(finding(
            Check::NotEnglish,
            Major,
            "summary",
            None,
            "the summary is in Dutch",
            preview(s),
        ));
    } else if shape::cut_off(s) {
        found.push(finding(
            Check::CutOff,
            Major,
            "summary",
            None,
            "the summary stops mid-sentence",
            tail(s),
        ));
    }
    let flat_summary = flat(s);
    if let Some(run) = instruction_runs(instructions)
        .into_iter()
        .find(|r| flat_summary.contains(r.as_str()))
    {
        found.push(finding(
            Check::NotEnglish,
            Major,
            "summary",
            None,
            "the summary echoes the instructions instead of summarising the letter",
            run,
        ));
    }
    if let Some(r) = shape::repetition("", s) {
        found.push(finding(
            Check::Repetition,
            Major,
            "summary",
            None,
            format!("the summary repeats {r}"),
            r,
        ));
    }
    for (k, kp) in out.key_points.iter().enumerate() {
        let id = format!("kp{}", k + 1);
        let first = kp
            .lines
            .first()
            .map(|a| [a[0], kp.lines.last().map_or(a[1], |b| b[1])]);
        if kp.lines.is_empty() {
            found.push(finding(
                Check::Uncited,
                Major,
                &id,
                None,
                "the key point cites no lines",
                preview(&kp.text_en),
            ));
        }
        if language(&kp.text_en) == Lang::Dutch {
            found.push(finding(
                Check::NotEnglish,
                Major,
                &id,
                first,
                "the key point is in Dutch",
                preview(&kp.text_en),
            ));
        }
    }
    out.checks = found;
}

/// Check a stance: every side taken has a verified quote, a topic not addressed has none, and
/// rationales and glosses are English.
pub fn stance(out: &mut StanceOut) {
    let mut found = Vec::new();
    let mut judge = |id: &str, stance: &str, rationale: &str, evidence: &[Evidence]| {
        let sided = matches!(stance, "support" | "oppose" | "mixed");
        found.extend(judgement(
            id,
            stance,
            sided,
            (rationale, "rationale"),
            evidence,
        ));
    };
    let o = &out.overall;
    judge("overall", &o.stance, &o.rationale_en, &o.evidence);
    for t in &out.topics {
        judge(&t.topic, &t.stance, &t.rationale_en, &t.evidence);
    }
    // One rationale for many topics: the model repeated itself.
    let mut by_rationale: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for t in &out.topics {
        let f = flat(&t.rationale_en);
        if f.split(' ').count() >= 4 {
            by_rationale.entry(f).or_default().push(&t.topic);
        }
    }
    for (_, topics) in by_rationale.into_iter().filter(|(_, v)| v.len() >= 3) {
        found.push(finding(
            Check::Duplicate,
            Severity::Minor,
            topics[0],
            None,
            format!(
                "the same rationale for {} topics ({})",
                topics.len(),
                topics.join(", ")
            ),
            topics.join(", "),
        ));
    }
    out.checks = found;
}

/// The findings on one judgement (a stance's or an answer's): a position that `needs_quote`
/// without a verified one, a quote under "not addressed", a missing, Dutch or cut rationale, a
/// Dutch gloss.
fn judgement(
    id: &str,
    position: &str,
    needs_quote: bool,
    (rationale, what): (&str, &str),
    evidence: &[Evidence],
) -> Vec<Finding> {
    use crate::ground::Match;
    use Severity::{Major, Minor};
    let mut found = Vec::new();
    let verified = evidence.iter().any(|e| e.status != Match::Unverified);
    let lines = evidence.iter().find_map(|e| e.lines);
    if needs_quote && !verified {
        found.push(finding(
            Check::Unsupported,
            Major,
            id,
            None,
            format!("\"{position}\" without a verified quote"),
            position,
        ));
    }
    if position == NOT_ADDRESSED && !evidence.is_empty() {
        found.push(finding(
            Check::Inconsistent,
            Minor,
            id,
            lines,
            format!(
                "judged not addressed, yet quoted {} time(s)",
                evidence.len()
            ),
            evidence[0].quote_nl.clone(),
        ));
    }
    if position != NOT_ADDRESSED && rationale.trim().is_empty() {
        found.push(finding(
            Check::Empty,
            Minor,
            id,
            lines,
            format!("no {what} for the judgement"),
            position,
        ));
    } else if language(rationale) == Lang::Dutch {
        found.push(finding(
            Check::NotEnglish,
            Major,
            id,
            lines,
            format!("the {what} is in Dutch"),
            preview(rationale),
        ));
    } else if shape::cut_off(rationale) {
        found.push(finding(
            Check::CutOff,
            Major,
            id,
            lines,
            format!("the {what} stops mid-sentence"),
            tail(rationale),
        ));
    }
    for e in evidence {
        if language(&e.quote_en) == Lang::Dutch {
            found.push(finding(
                Check::NotEnglish,
                Minor,
                id,
                e.lines,
                "the quote's gloss is in Dutch",
                preview(&e.quote_en),
            ));
        }
    }
    found
}

/// Check the answers to the user's questions as stance judgements are checked: any position
/// but `not_addressed` needs a verified quote (a neutral answer to a question says something
/// the letter must show), and the answer is English and whole.
pub fn questions(out: &mut QuestionsOut) {
    let mut found = Vec::new();
    for a in &out.answers {
        let needs_quote = a.position != NOT_ADDRESSED;
        found.extend(judgement(
            &a.question,
            &a.position,
            needs_quote,
            (&a.answer_en, "answer"),
            &a.evidence,
        ));
    }
    out.checks = found;
}

/// Check any task's output (see [`Checker`] to check many).
pub fn output(o: &mut TaskOutput, glossary: &[Term], summary_instructions: &str) {
    Checker::new(glossary, summary_instructions).output(o, None);
}

/// Every finding of an output.
pub fn findings(o: &TaskOutput) -> Vec<&Finding> {
    match o {
        TaskOutput::Translation(t) => t.segments.iter().flat_map(|s| &s.checks).collect(),
        TaskOutput::Summary(s) => s.checks.iter().collect(),
        TaskOutput::Stance(s) => s.checks.iter().collect(),
        TaskOutput::Questions(q) => q.checks.iter().collect(),
        TaskOutput::Review(_) | TaskOutput::Refine(_) => Vec::new(),
    }
}

pub use crate::store::run::{Count, Findings, merge};

/// Findings counted by check.
pub type Tally = BTreeMap<Check, Count>;

/// A tally as the manifest keeps it, by the checks' names.
pub fn named(t: &Tally) -> Findings {
    t.iter().map(|(k, c)| (k.name().to_string(), *c)).collect()
}

/// Add `findings` to `tally`.
pub fn tally<'a>(tally: &mut Tally, findings: impl IntoIterator<Item = &'a Finding>) {
    for f in findings {
        let c = tally.entry(f.check).or_default();
        match f.severity {
            Severity::Major => c.major += 1,
            Severity::Minor => c.minor += 1,
        }
    }
}

/// All of a tally, by severity.
pub fn sum<K>(t: &BTreeMap<K, Count>) -> Count {
    t.values().fold(Count::default(), |a, c| Count {
        major: a.major + c.major,
        minor: a.minor + c.minor,
    })
}

/// "2 major, 3 minor", or "-" for none.
pub fn describe(c: Count) -> String {
    match (c.major, c.minor) {
        (0, 0) => "-".into(),
        (a, 0) => format!("{a} major"),
        (0, b) => format!("{b} minor"),
        (a, b) => format!("{a} major, {b} minor"),
    }
}

/// One document of a run, its outputs checked again.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DocChecks {
    pub doc_id: String,
    /// Segments whose Dutch has words (the denominator of "findings per 100 segments").
    pub segments: u32,
    /// The findings of each task's output, in task order.
    pub findings: Vec<(crate::tasks::Task, Finding)>,
    pub terminology: Vec<TermUse>,
    /// Tasks of the run without an output for this document (failed, or not run).
    pub missing: Vec<crate::tasks::Task>,
}

impl DocChecks {
    pub fn tally(&self) -> Tally {
        let mut t = Tally::new();
        tally(&mut t, self.findings.iter().map(|(_, f)| f));
        t
    }
}

/// The outputs of each document of a run, read back and checked again with today's checks and
/// `prompts` (so that runs made before a check existed, or with another glossary, are judged
/// alike). A document's translation, summary and stance that cannot be read count as missing.
pub fn recheck(
    run_dir: &std::path::Path,
    manifest: &crate::store::run::Manifest,
    prompts: &crate::prompt::PromptSet,
) -> Vec<DocChecks> {
    use crate::tasks::Task;
    let checker = Checker::for_prompts(prompts);
    let mut docs = Vec::new();
    for input in &manifest.inputs {
        let dir = run_dir.join(&input.doc_id);
        // The letter, when its source is still the file the run read.
        let doc = crate::ingest::read(std::path::Path::new(&input.path))
            .ok()
            .filter(|doc| doc.sha256 == input.sha256);
        let letter = doc.as_ref().map(Letter::of);
        let mut d = DocChecks {
            doc_id: input.doc_id.clone(),
            segments: 0,
            findings: Vec::new(),
            terminology: Vec::new(),
            missing: Vec::new(),
        };
        for task in Task::ALL {
            if !input.tasks.contains_key(task.name()) {
                continue;
            }
            let path = dir.join(task.json_file());
            let Some(mut o) = TaskOutput::read(task, &path) else {
                d.missing.push(task);
                continue;
            };
            checker.output(&mut o, letter.as_ref());
            if let TaskOutput::Translation(t) = &o {
                d.segments = t.segments.iter().filter(|s| has_words(&s.nl)).count() as u32;
                d.terminology = t.terminology.clone();
            }
            d.findings
                .extend(findings(&o).into_iter().map(|f| (task, f.clone())));
        }
        docs.push(d);
    }
    docs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rationale_or_summary_cut_mid_sentence_is_a_major_finding() {
        let mut out: StanceOut = serde_json::from_value(serde_json::json!({
            "doc_id": "d", "source": {"path": "d.txt", "sha256": ""}, "model": "m",
            "author": [], "addressees": [], "date": null, "doc_type": "letter",
            "overall": {"stance": "neutral", "confidence": 1.0,
                "rationale_en": "The author's stance is to,", "evidence": []},
            "topics": [{"topic": "t", "label": "T", "stance": "neutral", "confidence": 1.0,
                "rationale_en": "The letter weighs both sides.", "evidence": []}]
        }))
        .unwrap();
        stance(&mut out);
        let cut: Vec<&str> = out
            .checks
            .iter()
            .filter(|f| f.check == Check::CutOff && f.severity == Severity::Major)
            .map(|f| f.segment.as_str())
            .collect();
        assert_eq!(cut, ["overall"]);
        let mut s: SummaryOut = serde_json::from_value(serde_json::json!({
            "doc_id": "d", "source": {"path": "d.txt", "sha256": ""}, "model": "m",
            "summary_en": "Offlimits advises the cabinet against the Hungarian proposal, which", "key_points": []
        }))
        .unwrap();
        summary(&mut s, "");
        assert!(
            s.checks.iter().any(|f| f.check == Check::CutOff),
            "{:?}",
            s.checks
        );
    }

    #[test]
    fn a_key_point_that_cites_only_the_letters_head_is_a_major_finding() {
        let letter = "Aan: De minister\n\nBetreft: De verordening\n\n12 maart 2024, Utrecht\n\nGeachte minister,\n\nWij zijn tegen het voorstel, omdat het de vertrouwelijkheid van alle communicatie aantast en kinderen niet beter beschermt.\n\nWij vragen u daarom het voorstel niet te steunen en in te zetten op preventie en op de aanpak van daders.\n\nMet vriendelijke groet,\n\nAnna de Boer\n";
        let doc = crate::ingest::from_bytes("d", std::path::Path::new("d.txt"), letter.as_bytes())
            .unwrap();
        let letter = Letter::of(&doc);
        let s: SummaryOut = serde_json::from_value(serde_json::json!({
            "doc_id": "d", "source": {"path": "d.txt", "sha256": ""}, "model": "m",
            "summary_en": "The writers oppose the proposal.",
            "key_points": [
                {"text_en": "The writers oppose the proposal", "lines": [[1, 1], [3, 3]], "paragraphs": ["p1", "p2"]},
                {"text_en": "They ask the minister not to support it", "lines": [[11, 11]], "paragraphs": ["p6"]}
            ]
        }))
        .unwrap();
        let mut o = TaskOutput::Summary(s);
        Checker::new(&[], "").output(&mut o, Some(&letter));
        let TaskOutput::Summary(s) = o else {
            unreachable!()
        };
        let flagged: Vec<&str> = s
            .checks
            .iter()
            .filter(|f| f.check == Check::HeadOnly)
            .map(|f| f.segment.as_str())
            .collect();
        assert_eq!(flagged, ["kp1"], "{:?}", letter.head);
        // Without the letter, nothing is claimed either way.
        let mut o = TaskOutput::Summary(s);
        Checker::new(&[], "").output(&mut o, None);
        let TaskOutput::Summary(s) = o else {
            unreachable!()
        };
        assert!(s.checks.iter().all(|f| f.check != Check::HeadOnly));
    }
}
