//! `tolk diff` in words: the comparison of two runs ([`crate::compare`]) as terminal text
//! (coloured on a terminal) and as Markdown.

use super::markdown::lines;
use crate::compare::{RunDiff, RunRef, WordOp};

fn words_text(ops: &[WordOp], color: bool) -> String {
    let mut s = String::new();
    for op in ops {
        match (op.op, color) {
            ('=', _) => s.push_str(&op.text),
            ('-', true) => s.push_str(&format!("\x1b[31;9m{}\x1b[0m", op.text)),
            ('+', true) => s.push_str(&format!("\x1b[32m{}\x1b[0m", op.text)),
            ('-', false) => s.push_str(&format!("[-{}-]", op.text)),
            (_, false) => s.push_str(&format!("{{+{}+}}", op.text)),
            _ => s.push_str(&op.text),
        }
    }
    s
}

fn words_md(ops: &[WordOp]) -> String {
    let mut s = String::new();
    for (i, op) in ops.iter().enumerate() {
        // A replacement: keep the struck-out and the new words apart.
        if op.op == '+' && i > 0 && ops[i - 1].op == '-' && !s.ends_with(char::is_whitespace) {
            s.push(' ');
        }
        let t = op.text.trim_end();
        let tail = &op.text[t.len()..];
        match op.op {
            '=' => s.push_str(&op.text),
            '-' if !t.is_empty() => s.push_str(&format!("~~{t}~~{tail}")),
            '+' if !t.is_empty() => s.push_str(&format!("**{t}**{tail}")),
            _ => s.push_str(&op.text),
        }
    }
    s
}

/// The terminal rendering (coloured when `color`).
pub fn render_text(d: &RunDiff, color: bool) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let name = |r: &RunRef| {
        format!(
            "{} ({})",
            r.label.clone().unwrap_or_else(|| r.run_id.clone()),
            r.model
        )
    };
    if d.identical {
        let _ = writeln!(
            s,
            "no differences between {} and {}",
            name(&d.a),
            name(&d.b)
        );
        return s;
    }
    let _ = writeln!(s, "A: {}\nB: {}\n", name(&d.a), name(&d.b));
    let _ = writeln!(s, "{}", checks_line(d));
    if let Some(r) = review_line(d.review.as_ref()) {
        let _ = writeln!(s, "{r}");
    }
    s.push('\n');
    for doc in &d.documents {
        if doc.is_empty() {
            let _ = writeln!(
                s,
                "== {}: no differences ({})\n",
                doc.doc_id,
                doc_checks(doc)
            );
            continue;
        }
        let _ = writeln!(s, "== {}: {}; {}", doc.doc_id, doc.score(), doc_checks(doc));
        if let Some(r) = review_line(doc.review.as_ref()) {
            let _ = writeln!(s, "  {r}");
        }
        for m in &doc.missing {
            let _ = writeln!(s, "  {m}");
        }
        if let Some(w) = &doc.summary {
            let _ = writeln!(s, "-- summary\n{}", words_text(w, color));
        }
        for k in &doc.key_points_removed {
            let _ = writeln!(s, "  - key point: {k}");
        }
        for k in &doc.key_points_added {
            let _ = writeln!(s, "  + key point: {k}");
        }
        for (name, rows) in [("stance", &doc.stance), ("questions", &doc.questions)] {
            if !rows.iter().any(|t| {
                t.changed || !t.evidence_added.is_empty() || !t.evidence_removed.is_empty()
            }) {
                continue;
            }
            let _ = writeln!(s, "-- {name}");
            for t in rows {
                let mark = if t.changed { "*" } else { " " };
                let _ = writeln!(s, " {mark} {:<24} {} -> {}", t.topic, t.a, t.b);
                for q in &t.evidence_removed {
                    let _ = writeln!(s, "      - «{q}»");
                }
                for q in &t.evidence_added {
                    let _ = writeln!(s, "      + «{q}»");
                }
            }
        }
        if !doc.segments.is_empty() {
            let _ = writeln!(s, "-- translation");
            for seg in &doc.segments {
                let _ = writeln!(
                    s,
                    "  {}{}: {}",
                    lines(seg.lines),
                    by(seg),
                    words_text(&seg.words, color)
                );
            }
        }
        if doc.kept > 0 {
            let _ = writeln!(s, "-- {}", kept(doc.kept));
        }
        let _ = writeln!(s);
    }
    s
}

/// " (a person's edit)" after a changed segment whose new English no model wrote.
fn by(seg: &crate::compare::SegmentChange) -> &'static str {
    match seg.by {
        Some(crate::store::memory::Origin::Human) => " (a person's edit)",
        Some(crate::store::memory::Origin::Memory) => " (from a translation memory)",
        None => "",
    }
}

/// What a letter's kept segments are.
fn kept(n: usize) -> String {
    format!("{n} segments a person's in both runs, kept (not a difference between models)")
}

/// "checks: A 12 major, 30 minor; B 3 major, 10 minor (numbers 4 -> 1, ...)".
pub fn checks_line(d: &RunDiff) -> String {
    use crate::checks::describe;
    let (Some(by), Some([a, b])) = (&d.findings, d.findings_total()) else {
        return "checks: not compared (a run was made before the output checks; `tolk check` checks it)".into();
    };
    let changed: Vec<String> = by
        .iter()
        .filter(|(_, [x, y])| x.total() != y.total())
        .map(|(k, [x, y])| format!("{k} {} -> {}", x.total(), y.total()))
        .collect();
    let mut line = format!(
        "checks: A {}; B {}",
        findings(describe(a)),
        findings(describe(b))
    );
    if !changed.is_empty() {
        line.push_str(&format!(" ({})", changed.join(", ")));
    }
    line
}

/// "review: A 91.5 (2 major, 1 minor) -> B 98.0 (1 minor)", when either run reviewed.
pub fn review_line(review: Option<&[Option<crate::tasks::review::Score>; 2]>) -> Option<String> {
    let [a, b] = review?;
    let side = |s: &Option<crate::tasks::review::Score>| match s {
        None => "not reviewed".to_string(),
        Some(s) => {
            let counts: Vec<String> = [
                ("critical", s.critical),
                ("major", s.major),
                ("minor", s.minor),
            ]
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
            if counts.is_empty() {
                format!("{} (no errors)", s.score)
            } else {
                format!("{} ({})", s.score, counts.join(", "))
            }
        }
    };
    Some(format!("review: A {} -> B {}", side(a), side(b)))
}

fn findings(s: String) -> String {
    if s == "-" { "no findings".into() } else { s }
}

/// "findings A 2 major -> B none".
fn doc_checks(doc: &crate::compare::DocDiff) -> String {
    use crate::checks::describe;
    let [a, b] = doc.findings;
    format!(
        "findings A {} -> B {}",
        findings(describe(a)),
        findings(describe(b))
    )
}

/// The Markdown rendering.
pub fn render_md(d: &RunDiff) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let name = |r: &RunRef| {
        format!(
            "`{}` ({})",
            r.label.clone().unwrap_or_else(|| r.run_id.clone()),
            r.model
        )
    };
    let _ = writeln!(s, "# Differences: {} → {}\n", name(&d.a), name(&d.b));
    if d.identical {
        let _ = writeln!(s, "No differences.");
        return s;
    }
    let _ = writeln!(s, "{}.\n", checks_line(d));
    if let Some(r) = review_line(d.review.as_ref()) {
        let _ = writeln!(s, "{r}.\n");
    }
    for doc in &d.documents {
        let _ = writeln!(s, "## {}\n", doc.doc_id);
        if doc.is_empty() {
            let _ = writeln!(s, "No differences ({}).\n", doc_checks(doc));
            continue;
        }
        let _ = writeln!(s, "{}; {}.\n", doc.score(), doc_checks(doc));
        if let Some(r) = review_line(doc.review.as_ref()) {
            let _ = writeln!(s, "{r}.\n");
        }
        if let Some(w) = &doc.summary {
            let _ = writeln!(s, "### Summary\n\n{}\n", words_md(w));
        }
        for k in &doc.key_points_removed {
            let _ = writeln!(s, "- removed key point: {k}");
        }
        for k in &doc.key_points_added {
            let _ = writeln!(s, "- added key point: {k}");
        }
        for (title, head, rows) in [
            ("Stance", "topic", &doc.stance),
            ("Questions", "question", &doc.questions),
        ] {
            if rows.is_empty() {
                continue;
            }
            let _ = writeln!(
                s,
                "\n### {title}\n\n| {head} | A | B | |\n|---|---|---|---|"
            );
            for t in rows {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} |",
                    t.topic,
                    t.a,
                    t.b,
                    if t.changed { "changed" } else { "" }
                );
            }
        }
        if !doc.segments.is_empty() {
            let _ = writeln!(s, "\n### Translation\n");
            for seg in &doc.segments {
                let _ = writeln!(
                    s,
                    "- **{}**{} {}",
                    lines(seg.lines),
                    by(seg),
                    words_md(&seg.words)
                );
            }
        }
        if doc.kept > 0 {
            let _ = writeln!(s, "\n{}.", kept(doc.kept));
        }
        let _ = writeln!(s);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::word_diff;

    #[test]
    fn word_diffs_render_as_text_and_markdown() {
        let ops = word_diff("the cat sat on the mat", "the dog sat on the mat");
        let text = words_text(&ops, false);
        assert_eq!(text, "the [-cat-]{+dog+} sat on the mat");
        assert_eq!(words_md(&ops), "the ~~cat~~ **dog** sat on the mat");
    }
}
