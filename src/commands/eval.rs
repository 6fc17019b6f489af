//! `tolk eval [A [B]]`: a run scored against the gold stance labels and the reference
//! translations (`--gold`, `--reference`, or `[eval]` in tolk.toml, or the project's `eval/`),
//! with the output checks' findings per 100 segments; with two runs, both side by side and which
//! is closer.

use super::Outcome;
use super::table::{Align, Table};
use crate::cli::EvalArgs;
use crate::config::Config;
use crate::eval::{self, RunEval, Yardstick};
use crate::store::run as runs;

/// What `[eval]` (or the flags) names, loaded; an error names the file that is wrong.
pub fn yardstick(config: &Config) -> anyhow::Result<Yardstick> {
    let gold = config
        .eval
        .gold_file()
        .map(|p| eval::gold::load(&p))
        .transpose()?;
    let references = config
        .eval
        .reference_dir()
        .map(|d| eval::reference::load_dir(&d))
        .transpose()?;
    let facts = config
        .eval
        .facts_file()
        .map(|p| eval::facts::load(&p))
        .transpose()?;
    let summaries = config
        .eval
        .summary_file()
        .map(|p| eval::summary::load(&p))
        .transpose()?;
    Ok(Yardstick {
        gold,
        references,
        facts,
        summaries,
    })
}

/// Evaluate the run `what` names.
pub fn evaluate(config: &Config, what: &str, against: &Yardstick) -> anyhow::Result<RunEval> {
    let out = &config.run.out;
    let m = runs::resolve_run(out, what)?;
    let prompts = config.run.prompt_set()?;
    Ok(eval::evaluate(
        &runs::run_dir(out, &m.run_id),
        &m,
        &prompts,
        against,
    ))
}

pub fn eval(args: &EvalArgs, config: &Config) -> anyhow::Result<Outcome> {
    let against = yardstick(config)?;
    if against.gold.is_none() && against.references.is_none() {
        eprintln!(
            "note: no gold labels or reference translations (--gold FILE, --reference DIR, or [eval] in tolk.toml): only the checks are counted"
        );
    }
    let names: Vec<&str> = match args.runs.as_slice() {
        [] => vec!["latest"],
        r => r.iter().map(String::as_str).collect(),
    };
    let evals: Vec<RunEval> = names
        .iter()
        .map(|n| evaluate(config, n, &against))
        .collect::<anyhow::Result<_>>()?;
    if args.json.json {
        let v = match evals.as_slice() {
            [one] => serde_json::to_value(one)?,
            [a, b] => serde_json::json!({"a": a, "b": b}),
            _ => unreachable!("one or two runs"),
        };
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(Outcome::Clean);
    }
    match evals.as_slice() {
        [one] => print!("{}", render_one(one)),
        [a, b] => print!("{}", render_two(a, b)),
        _ => unreachable!("one or two runs"),
    }
    Ok(Outcome::Clean)
}

fn name(e: &RunEval) -> String {
    match &e.label {
        Some(l) => format!("{} ({l}, {})", e.run_id, e.model),
        None => format!("{} ({})", e.run_id, e.model),
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

pub fn render_one(e: &RunEval) -> String {
    let mut s = format!("run {}\n", name(e));
    if let Some(t) = &e.translation {
        s.push_str(&format!(
            "\ntranslation: chrF++ {:.1} against the reference ({} segments; the Dutch copied unchanged would score {:.1})\n",
            t.chrf, t.segments, t.dutch_chrf
        ));
        let mut tab = Table::new(&[
            ("letter", Align::Left),
            ("segments", Align::Right),
            ("with English", Align::Right),
            ("chrF++", Align::Right),
            ("Dutch as is", Align::Right),
        ]);
        for l in &t.letters {
            tab.row(vec![
                l.doc_id.clone(),
                l.segments.to_string(),
                if l.missing {
                    "no output".into()
                } else {
                    l.translated.to_string()
                },
                format!("{:.1}", l.chrf),
                format!("{:.1}", l.dutch_chrf),
            ]);
        }
        s.push_str(&tab.render());
        for d in &t.not_in_run {
            s.push_str(&format!("  (not in this run: {d})\n"));
        }
    }
    let c = &e.checks;
    s.push_str(&format!(
        "\nchecks: {:.1} findings per 100 segments ({:.1} major; {} segments)\n",
        c.per_100, c.major_per_100, c.segments
    ));
    if !c.by_check.is_empty() {
        let by: Vec<String> = c
            .by_check
            .iter()
            .map(|(k, v)| format!("{k} {v:.1}"))
            .collect();
        s.push_str(&format!("  per 100 segments: {}\n", by.join(", ")));
    }
    if let Some(st) = &e.stance {
        s.push_str(&format!(
            "\nstance: {} judgements against the gold labels: accuracy {}, macro-F1 {:.2}; constant baseline (always \"{}\"): accuracy {}, macro-F1 {:.2}\n",
            st.judgements,
            pct(st.accuracy),
            st.macro_f1,
            st.baseline.label,
            pct(st.baseline.accuracy),
            st.baseline.macro_f1
        ));
        s.push_str(&format!(
            "  overall stance: {} of {} letters\n",
            st.overall.agree, st.overall.total
        ));
        let mut tab = Table::new(&[
            ("topic", Align::Left),
            ("agree", Align::Right),
            ("of", Align::Right),
        ]);
        for t in &st.topics {
            tab.row(vec![
                t.topic.clone(),
                t.agreement.agree.to_string(),
                t.agreement.total.to_string(),
            ]);
        }
        s.push_str(&tab.render());
        let mut tab = Table::new(&[
            ("letter", Align::Left),
            ("overall: gold", Align::Left),
            ("run", Align::Left),
            ("agree", Align::Right),
            ("of", Align::Right),
        ]);
        for l in &st.letters {
            tab.row(vec![
                l.doc_id.clone(),
                l.overall_gold.clone(),
                l.overall_run.clone(),
                l.agreement.agree.to_string(),
                l.agreement.total.to_string(),
            ]);
        }
        s.push('\n');
        s.push_str(&tab.render());
        s.push_str("\nconfusion (rows: gold, columns: this run)\n");
        let w = st.labels.iter().map(|l| l.len()).max().unwrap_or(4).max(4);
        s.push_str(&format!("{:w$}", ""));
        for l in &st.labels {
            s.push_str(&format!(" {l:>w$}"));
        }
        s.push('\n');
        for (l, row) in st.labels.iter().zip(&st.confusion) {
            if row.iter().all(|&n| n == 0) && l == eval::NONE {
                continue;
            }
            s.push_str(&format!("{l:w$}"));
            for n in row {
                s.push_str(&format!(" {n:>w$}"));
            }
            s.push('\n');
        }
        for m in &st.missing {
            s.push_str(&format!(
                "  (no stance in this run for {m}: counted as \"none\")\n"
            ));
        }
        s.push_str(&support_bias(st));
    }
    if let Some(f) = &e.facts {
        s.push_str(&facts_lines(f));
    }
    if let Some(f) = &e.summary {
        s.push_str(&summary_lines(f));
    }
    s
}

/// How faithful the summaries are, against the gold summaries.
fn summary_lines(f: &eval::summary::SummaryEval) -> String {
    let mut s = format!(
        "
summaries (against the gold summaries): sender named {} of {}, addressee named {} of {}; key claims covered {} of {}; key points matching no claim {} of {}; inverting the letter {}; whole sentences (summaries and stance rationales) {} of {}\n",
        f.sender.agree,
        f.sender.total,
        f.addressee.agree,
        f.addressee.total,
        f.claims.agree,
        f.claims.total,
        f.unmatched.agree,
        f.unmatched.total,
        f.inverted,
        f.complete.agree,
        f.complete.total
    );
    let mut tab = Table::new(&[
        ("letter", Align::Left),
        ("sender", Align::Left),
        ("addressee", Align::Left),
        ("claims", Align::Right),
        ("unmatched", Align::Right),
        ("covered", Align::Left),
        ("inverted", Align::Left),
    ]);
    let mark = |ok: bool| if ok { "ok" } else { "NO" }.to_string();
    for l in &f.letters {
        tab.row(vec![
            l.doc_id.clone(),
            mark(l.sender),
            mark(l.addressee),
            format!("{}/{}", l.covered.len(), l.claims),
            format!("{}/{}", l.unmatched, l.key_points),
            l.covered.join(", "),
            l.inverted.join(", "),
        ]);
    }
    s.push_str(&tab.render());
    for m in &f.missing {
        s.push_str(&format!("  (no summary in this run for {m})\n"));
    }
    s
}

/// How often the run answered "support" where the gold label is another: a small model's lean.
fn support_bias(st: &eval::StanceEval) -> String {
    let Some(col) = st.labels.iter().position(|l| l == "support") else {
        return String::new();
    };
    let parts: Vec<String> = st
        .labels
        .iter()
        .zip(&st.confusion)
        .filter(|(l, _)| *l != "support" && *l != eval::NONE)
        .filter(|(_, row)| row.iter().sum::<u32>() > 0)
        .map(|(l, row)| format!("{l} {} of {}", row[col], row.iter().sum::<u32>()))
        .collect();
    format!(
        "  answered \"support\" where the gold says: {}\n",
        parts.join(", ")
    )
}

/// Who wrote to whom and when, against the gold facts.
fn facts_lines(f: &eval::facts::FactsEval) -> String {
    let mut s = format!(
        "\nletter facts (the stance's authors, addressees and date against the gold facts): date {} of {}, sender {} of {}, addressees {} of {}\n",
        f.date.agree,
        f.date.total,
        f.sender.agree,
        f.sender.total,
        f.addressees.agree,
        f.addressees.total
    );
    let mut tab = Table::new(&[
        ("letter", Align::Left),
        ("date", Align::Left),
        ("sender", Align::Left),
        ("addressees", Align::Left),
    ]);
    let mark = |ok: bool, what: String| format!("{} {what}", if ok { "ok " } else { "NO " });
    for l in &f.letters {
        tab.row(vec![
            l.doc_id.clone(),
            mark(l.date, l.run_date.clone().unwrap_or_else(|| "none".into())),
            mark(
                l.sender,
                crate::commands::preview(&l.run_author.join("; "), 40),
            ),
            mark(
                l.addressees,
                crate::commands::preview(&l.run_addressees.join("; "), 40),
            ),
        ]);
    }
    s.push_str(&tab.render());
    for m in &f.missing {
        s.push_str(&format!("  (no stance in this run for {m})\n"));
    }
    s
}

pub fn render_two(a: &RunEval, b: &RunEval) -> String {
    let mut s = format!("A: {}\nB: {}\n", name(a), name(b));
    let mut tab = Table::new(&[
        ("letter", Align::Left),
        ("chrF++ A", Align::Right),
        ("chrF++ B", Align::Right),
        ("findings/100 A", Align::Right),
        ("findings/100 B", Align::Right),
        ("stance A", Align::Right),
        ("stance B", Align::Right),
    ]);
    let mut docs: Vec<String> = a.checks.letters.iter().map(|l| l.doc_id.clone()).collect();
    for l in &b.checks.letters {
        if !docs.contains(&l.doc_id) {
            docs.push(l.doc_id.clone());
        }
    }
    let chrf = |e: &RunEval, d: &str| {
        e.translation
            .as_ref()
            .and_then(|t| t.letters.iter().find(|l| l.doc_id == d))
            .map_or("-".into(), |l| format!("{:.1}", l.chrf))
    };
    let per = |e: &RunEval, d: &str| {
        e.checks
            .letters
            .iter()
            .find(|l| l.doc_id == d)
            .map_or("-".into(), |l| {
                if l.segments == 0 {
                    "-".into()
                } else {
                    format!(
                        "{:.1}",
                        100.0 * l.findings.total() as f64 / l.segments as f64
                    )
                }
            })
    };
    let agree = |e: &RunEval, d: &str| {
        e.stance
            .as_ref()
            .and_then(|t| t.letters.iter().find(|l| l.doc_id == d))
            .map_or("-".into(), |l| {
                format!("{}/{}", l.agreement.agree, l.agreement.total)
            })
    };
    for d in &docs {
        tab.row(vec![
            d.clone(),
            chrf(a, d),
            chrf(b, d),
            per(a, d),
            per(b, d),
            agree(a, d),
            agree(b, d),
        ]);
    }
    let total_chrf = |e: &RunEval| {
        e.translation
            .as_ref()
            .map_or("-".into(), |t| format!("{:.1}", t.chrf))
    };
    let total_stance = |e: &RunEval| e.stance.as_ref().map_or("-".into(), |t| pct(t.accuracy));
    tab.row(vec![
        "all".into(),
        total_chrf(a),
        total_chrf(b),
        format!("{:.1}", a.checks.per_100),
        format!("{:.1}", b.checks.per_100),
        total_stance(a),
        total_stance(b),
    ]);
    s.push('\n');
    s.push_str(&tab.render());
    s.push('\n');
    for line in eval::verdict(a, b) {
        s.push_str(&line);
        s.push('\n');
    }
    s
}
