//! The bilingual terminal view of `tolk show`: the Dutch original with its line numbers beside
//! the English (stacked when the terminal is narrow), with the lines that stance evidence quotes
//! marked.

use crate::ground::Match;
use crate::tasks::stance::StanceOut;
use crate::tasks::summary::SummaryOut;
use crate::tasks::translate::TranslationOut;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Wrap `text` to lines of at most `width` characters (words longer than that are cut).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(10);
    let mut out = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let mut word = word.to_string();
            while word.chars().count() > width {
                let head: String = word.chars().take(width).collect();
                word = word.chars().skip(width).collect();
                if !line.is_empty() {
                    out.push(std::mem::take(&mut line));
                }
                out.push(head);
            }
            let needed =
                line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
            if needed > width && !line.is_empty() {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&word);
        }
        out.push(line);
    }
    out
}

fn pad(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n >= width {
        s.to_string()
    } else {
        format!("{s}{}", " ".repeat(width - n))
    }
}

/// Lines quoted as stance evidence: line -> topics.
pub fn evidence_lines(stance: Option<&StanceOut>) -> BTreeMap<u32, Vec<String>> {
    let mut marks: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    if let Some(s) = stance {
        let all = std::iter::once(("overall", &s.overall.evidence))
            .chain(s.topics.iter().map(|t| (t.topic.as_str(), &t.evidence)));
        for (topic, evidence) in all {
            for e in evidence {
                if let (Some([a, b]), Match::Exact | Match::Fuzzy) = (e.lines, e.status) {
                    for l in a..=b {
                        let v = marks.entry(l).or_default();
                        if !v.iter().any(|t| t == topic) {
                            v.push(topic.to_string());
                        }
                    }
                }
            }
        }
    }
    marks
}

/// The translation beside (or above) the original.
pub fn bilingual(
    t: &TranslationOut,
    original: &[String],
    stance: Option<&StanceOut>,
    width: usize,
) -> String {
    let marks = evidence_lines(stance);
    let mut s = String::new();
    let side = width >= 110;
    let col = if side { (width - 3) / 2 } else { width };
    let _ = writeln!(s, "{} ({}), model {}", t.doc_id, t.source.path, t.model);
    if !marks.is_empty() {
        let _ = writeln!(s, "lines marked * are quoted as stance evidence");
    }
    let _ = writeln!(s);
    // A PDF letter: a rule where a new page begins.
    let mut page = None;
    for seg in &t.segments {
        if let Some(p) = seg.pages.first()
            && page != Some(p)
        {
            let _ = writeln!(s, "── p. {p} ──");
            page = Some(p);
        }
        let mut left: Vec<String> = Vec::new();
        let spans = seg.spans.clone().unwrap_or_else(|| vec![seg.lines]);
        for span in spans {
            for n in span[0]..=span[1] {
                let Some(text) = original.get(n as usize - 1) else {
                    continue;
                };
                if text.trim().is_empty() {
                    continue;
                }
                let mark = if marks.contains_key(&n) { '*' } else { ' ' };
                let prefix = format!("{n:>4}{mark} ");
                for (k, piece) in wrap(text.trim(), col.saturating_sub(6))
                    .into_iter()
                    .enumerate()
                {
                    left.push(if k == 0 {
                        format!("{prefix}{piece}")
                    } else {
                        format!("      {piece}")
                    });
                }
            }
        }
        let en = seg.en.as_deref().unwrap_or("(not translated)");
        let right = wrap(en, if side { col } else { width.saturating_sub(6) });
        if side {
            for i in 0..left.len().max(right.len()) {
                let l = left.get(i).map_or("", String::as_str);
                let r = right.get(i).map_or("", String::as_str);
                let _ = writeln!(s, "{} │ {}", pad(l, col), r);
            }
        } else {
            for l in &left {
                let _ = writeln!(s, "{l}");
            }
            for r in &right {
                let _ = writeln!(s, "   EN {r}");
            }
        }
        let _ = writeln!(s);
    }
    s
}

/// The summary with its key points and their lines.
pub fn summary(su: &SummaryOut, width: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}: summary ({})\n", su.doc_id, su.model);
    for l in wrap(&su.summary_en, width) {
        let _ = writeln!(s, "{l}");
    }
    let _ = writeln!(s, "\nkey points:");
    for k in &su.key_points {
        let mut refs: Vec<String> = k.lines.iter().map(|r| super::markdown::lines(*r)).collect();
        if let Some(p) = k.pages.label() {
            refs.insert(0, p);
        }
        let _ = writeln!(s, "- {} ({})", k.text_en, refs.join(", "));
    }
    s
}

/// The stance with every quote and where it is.
pub fn stance(st: &StanceOut) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}: stance ({})", st.doc_id, st.model);
    let _ = writeln!(
        s,
        "authors: {}; addressees: {}; date: {}; type: {}",
        st.author.join("; "),
        st.addressees.join("; "),
        st.date.as_deref().unwrap_or("-"),
        st.doc_type
    );
    let _ = writeln!(
        s,
        "overall: {} ({:.2}) {}",
        st.overall.stance, st.overall.confidence, st.overall.rationale_en
    );
    let quote = |s: &mut String, e: &crate::tasks::stance::Evidence| {
        let at = match (e.status, e.lines) {
            (Match::Exact, Some(l)) => format!("{} exact", super::markdown::place(l, &e.pages)),
            (Match::Fuzzy, Some(l)) => {
                format!(
                    "{} fuzzy {:.2}",
                    super::markdown::place(l, &e.pages),
                    e.score
                )
            }
            _ => "UNVERIFIED".to_string(),
        };
        let _ = writeln!(s, "      «{}» [{at}]", e.quote_nl);
    };
    for e in &st.overall.evidence {
        quote(&mut s, e);
    }
    for t in &st.topics {
        let _ = writeln!(s, "  {:<40} {:<13} {:.2}", t.label, t.stance, t.confidence);
        for e in &t.evidence {
            quote(&mut s, e);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_words_whole() {
        assert_eq!(wrap("een twee drie vier", 9), vec!["een twee", "drie vier"]);
        assert_eq!(wrap("", 9), vec![""]);
        assert_eq!(wrap("abcdefghijklmnop", 10), vec!["abcdefghij", "klmnop"]);
    }
}
