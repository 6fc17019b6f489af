//! Markdown renderings of the task outputs. Every segment, key point and quote shows its source
//! lines as `L12-15`; quotes say whether they were found (exact, fuzzy with its score) or not.

use crate::ground::Match;
use crate::tasks::stance::{Evidence, StanceOut};
use crate::tasks::summary::SummaryOut;
use crate::tasks::translate::TranslationOut;
use std::fmt::Write;

/// The Markdown of a task's output.
pub fn output(o: &crate::tasks::TaskOutput, warning: Option<&str>) -> String {
    use crate::tasks::TaskOutput;
    match o {
        TaskOutput::Translation(t) => translation(t, warning),
        TaskOutput::Summary(s) => summary(s, warning),
        TaskOutput::Stance(s) => stance(s, warning),
        TaskOutput::Questions(q) => questions(q, warning),
        TaskOutput::Review(r) => review(r, warning),
        TaskOutput::Refine(r) => refine(r, warning),
    }
}

/// How a reviewer's span was found: `exact`, `fuzzy`, or `**not found**`.
fn span_status(m: Option<Match>) -> &'static str {
    match m {
        Some(Match::Exact) => "exact",
        Some(Match::Fuzzy) => "fuzzy",
        Some(Match::Unverified) => "**not found**",
        None => "none given",
    }
}

pub fn review(r: &crate::tasks::review::ReviewOut, warning: Option<&str>) -> String {
    let mut out = String::new();
    header(
        &mut out,
        "Review",
        &r.doc_id,
        &r.source.path,
        &r.model,
        warning,
    );
    let sc = &r.score;
    let _ = writeln!(
        out,
        "MQM-style score **{}** over {} Dutch words: {} critical, {} major, {} minor (penalty {}: critical 10, major 5, minor 1); {} unverified, not scored. {} segments reviewed.\n",
        sc.score,
        sc.words,
        sc.critical,
        sc.major,
        sc.minor,
        sc.penalty,
        sc.unverified,
        r.reviewed.len()
    );
    if r.errors.is_empty() {
        let _ = writeln!(out, "No errors marked.");
    }
    for e in &r.errors {
        let at = e
            .lines
            .map(|l| place(l, &e.pages))
            .unwrap_or_else(|| "segment unknown".into());
        let unverified = if e.verified { "" } else { " · **unverified**" };
        let _ = writeln!(
            out,
            "- `{}` **{}** · {} ({}) · `{}` {at}{unverified}  ",
            e.id,
            e.severity.name(),
            e.category.name(),
            e.category.dimension(),
            e.segment
        );
        if !e.span_en.is_empty() {
            let _ = writeln!(
                out,
                "  EN: \"{}\" ({})  ",
                e.span_en,
                span_status(e.en_match)
            );
        }
        if !e.span_nl.is_empty() {
            let _ = writeln!(
                out,
                "  NL: \"{}\" ({})  ",
                e.span_nl,
                span_status(e.nl_match)
            );
        }
        let _ = writeln!(out, "  {}  ", e.explanation.replace('\n', " "));
        if !e.suggestion.is_empty() {
            let _ = writeln!(out, "  Suggestion: {}", e.suggestion.replace('\n', " "));
        }
    }
    out
}

pub fn refine(r: &crate::tasks::refine::RefineOut, warning: Option<&str>) -> String {
    let mut out = String::new();
    header(
        &mut out,
        "Refinement",
        &r.doc_id,
        &r.source.path,
        &r.model,
        warning,
    );
    if r.segments.is_empty() {
        let _ = writeln!(
            out,
            "No segment had verified major or critical errors: nothing refined."
        );
    }
    for s in &r.segments {
        let _ = writeln!(
            out,
            "**{}** `{}` (for {})  ",
            place(s.lines, &s.pages),
            s.id,
            s.errors.join(", ")
        );
        let _ = writeln!(out, "Draft: {}  ", s.draft.replace('\n', " "));
        match &s.en {
            Some(en) if *en == s.draft => {
                let _ = writeln!(out, "Final: *(unchanged)*\n");
            }
            Some(en) => {
                let _ = writeln!(out, "Final: {}\n", en.replace('\n', " "));
            }
            None => {
                let _ = writeln!(out, "Final: *(the call failed: the draft stands)*\n");
            }
        }
    }
    out
}

/// `L12-15`, or `L12` for one line.
pub fn lines(r: [u32; 2]) -> String {
    if r[0] == r[1] {
        format!("L{}", r[0])
    } else {
        format!("L{}-{}", r[0], r[1])
    }
}

/// `p. 2, L14-17` in a PDF letter, `L14-17` in a text letter.
pub fn place(r: [u32; 2], pages: &crate::tasks::Pages) -> String {
    match pages.label() {
        Some(p) => format!("{p}, {}", lines(r)),
        None => lines(r),
    }
}

/// A finding as a Markdown line: `> ⚠ major · numbers: not in the English: 2024`.
fn flag(out: &mut String, f: &crate::tasks::finding::Finding) {
    let _ = writeln!(
        out,
        "> ⚠ **{}** · {}: {}  ",
        f.severity.name(),
        f.check.name(),
        f.message.replace('\n', " ")
    );
}

/// The findings of a summary or stance, as a section (none: nothing).
fn flags_section(out: &mut String, findings: &[crate::tasks::finding::Finding]) {
    if findings.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n## Checks\n");
    for f in findings {
        let at = f
            .lines
            .map(|l| format!(" ({})", lines(l)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "- ⚠ **{}** · {} · {}{at}: {}",
            f.severity.name(),
            f.check.name(),
            f.segment,
            f.message
        );
    }
}

fn header(
    out: &mut String,
    title: &str,
    doc_id: &str,
    path: &str,
    model: &str,
    warning: Option<&str>,
) {
    let _ = writeln!(out, "# {title}: {doc_id}\n");
    let _ = writeln!(out, "Source: `{path}`  \nModel: {model}\n");
    if let Some(w) = warning {
        let _ = writeln!(out, "> **Note:** {w}\n");
    }
}

/// The model, and how many segments' English is a person's or a memory's instead.
pub fn model_and_people(t: &TranslationOut) -> String {
    use crate::store::memory::Origin;
    let count = |o: Origin| {
        t.segments
            .iter()
            .filter(|s| s.kept.as_ref().is_some_and(|k| k.origin == o))
            .count()
    };
    let (human, memory) = (count(Origin::Human), count(Origin::Memory));
    let mut said = t.model.clone();
    if human > 0 {
        said.push_str(&format!("; {human} segments a translator's English"));
    }
    if memory > 0 {
        said.push_str(&format!("; {memory} from a translation memory"));
    }
    said
}

pub fn translation(t: &TranslationOut, warning: Option<&str>) -> String {
    let mut out = String::new();
    header(
        &mut out,
        "Translation",
        &t.doc_id,
        &t.source.path,
        &model_and_people(t),
        warning,
    );
    for s in &t.segments {
        let en =
            s.en.as_deref()
                .unwrap_or("*(not translated: the call for this part failed)*");
        let tag = match s.kind {
            crate::ingest::Kind::Body => String::new(),
            k => format!(" *{}*", k.as_str().replace('_', " ")),
        };
        let by = s
            .kept
            .as_ref()
            .map(|k| format!(" *({})*", k.label()))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "**{}** `{}`{tag}{by}  ",
            place(s.lines, &s.pages),
            s.id
        );
        let _ = writeln!(out, "{}\n", en.replace('\n', "  \n"));
        if !s.checks.is_empty() {
            for f in &s.checks {
                flag(&mut out, f);
            }
            out.push('\n');
        }
    }
    let missed: Vec<_> = t.terminology.iter().filter(|u| u.missed > 0).collect();
    if !missed.is_empty() {
        let _ = writeln!(
            out,
            "## Terminology\n\n| Dutch | fixed English | used | missed | segments |\n|---|---|---|---|---|"
        );
        for u in missed {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                u.nl,
                u.en,
                u.used,
                u.missed,
                u.segments.join(", ")
            );
        }
    }
    out
}

pub fn summary(s: &SummaryOut, warning: Option<&str>) -> String {
    let mut out = String::new();
    header(
        &mut out,
        "Summary",
        &s.doc_id,
        &s.source.path,
        &s.model,
        warning,
    );
    let _ = writeln!(out, "{}\n", s.summary_en);
    let _ = writeln!(out, "## Key points\n");
    for k in &s.key_points {
        let refs: Vec<String> = k.lines.iter().map(|r| lines(*r)).collect();
        let refs = if refs.is_empty() {
            "no source cited".to_string()
        } else if let Some(p) = k.pages.label() {
            format!("{p}, {}", refs.join(", "))
        } else {
            refs.join(", ")
        };
        let _ = writeln!(out, "- {} ({refs})", k.text_en);
    }
    flags_section(&mut out, &s.checks);
    out
}

fn evidence(out: &mut String, e: &Evidence) {
    let place = match (e.status, e.lines) {
        (Match::Exact, Some(l)) => format!("{}, exact", place(l, &e.pages)),
        (Match::Fuzzy, Some(l)) => format!("{}, fuzzy {:.2}", place(l, &e.pages), e.score),
        _ => "**unverified: not found in the source**".to_string(),
    };
    let en = match (e.en_from.note(), e.quote_en.is_empty()) {
        (None, _) => format!("*{}*", e.quote_en),
        (Some(note), true) => format!("({note})"),
        (Some(note), false) => format!("*{}* ({note})", e.quote_en),
    };
    let _ = writeln!(out, "  - «{}» ({place})  \n    {en}", e.quote_nl);
}

/// questions.md: per question, the position, the answer and the quotes it rests on.
pub fn questions(q: &crate::tasks::questions::QuestionsOut, warning: Option<&str>) -> String {
    let mut out = String::new();
    header(
        &mut out,
        "Questions",
        &q.doc_id,
        &q.source.path,
        &q.model,
        warning,
    );
    if let Some(run) = &q.english_from_run {
        let _ = writeln!(
            out,
            "The quotes' English is the translation's of run {run}.\n"
        );
    }
    for a in &q.answers {
        let _ = writeln!(
            out,
            "## {}
",
            a.text
        );
        let mark = if a.supported {
            ""
        } else {
            " · **unsupported: no quote was found in the source**"
        };
        let _ = writeln!(
            out,
            "Position: **{}** (confidence {:.2}){mark}  \nAsked: {}\n",
            a.position.replace('_', " "),
            a.confidence,
            a.asked
        );
        let _ = writeln!(out, "{}\n", a.answer_en);
        for e in &a.evidence {
            evidence(&mut out, e);
        }
        if !a.evidence.is_empty() {
            out.push('\n');
        }
    }
    flags_section(&mut out, &q.checks);
    out
}

pub fn stance(s: &StanceOut, warning: Option<&str>) -> String {
    let mut out = String::new();
    header(
        &mut out,
        "Stance",
        &s.doc_id,
        &s.source.path,
        &s.model,
        warning,
    );
    let _ = writeln!(
        out,
        "- Authors: {}",
        if s.author.is_empty() {
            "(not stated)".into()
        } else {
            s.author.join("; ")
        }
    );
    let _ = writeln!(
        out,
        "- Addressees: {}",
        if s.addressees.is_empty() {
            "(not stated)".into()
        } else {
            s.addressees.join("; ")
        }
    );
    let _ = writeln!(
        out,
        "- Date: {}",
        s.date.as_deref().unwrap_or("(not stated)")
    );
    let _ = writeln!(out, "- Type: {}\n", s.doc_type.replace('_', " "));
    let _ = writeln!(
        out,
        "## Overall: {} (confidence {:.2})\n",
        s.overall.stance, s.overall.confidence
    );
    let _ = writeln!(out, "{}\n", s.overall.rationale_en);
    for e in &s.overall.evidence {
        evidence(&mut out, e);
    }
    let _ = writeln!(out, "\n## Topics\n");
    let _ = writeln!(out, "| topic | stance | confidence |\n|---|---|---|");
    for t in &s.topics {
        let _ = writeln!(
            out,
            "| {} | {} | {:.2} |",
            t.label,
            t.stance.replace('_', " "),
            t.confidence
        );
    }
    for t in s.topics.iter().filter(|t| t.stance != "not_addressed") {
        let _ = writeln!(
            out,
            "\n### {}: {}\n\n{}\n",
            t.label, t.stance, t.rationale_en
        );
        for e in &t.evidence {
            evidence(&mut out, e);
        }
    }
    flags_section(&mut out, &s.checks);
    out
}
