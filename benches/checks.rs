//! The output checks on the project's reference translation (eval/reference/, 222 segments):
//! which language identification is right more often on these letters (tolk's function-word
//! ratio, or the whatlang crate, free and limited to Dutch/English), the untranslated check's
//! false positives and recall with each, and how fast the checks run.
//!
//! `cargo bench --bench checks`

use std::path::Path;
use std::time::Instant;
use tolk::checks::text::{Lang, function_words, language};
use tolk::eval::reference::load_dir;
use tolk::prompt::PromptSet;

#[derive(Default)]
struct Tally {
    right: usize,
    wrong: usize,
    unsure: usize,
}

impl Tally {
    fn add(&mut self, got: Option<bool>) {
        match got {
            Some(true) => self.right += 1,
            Some(false) => self.wrong += 1,
            None => self.unsure += 1,
        }
    }

    fn line(&self) -> String {
        let n = self.right + self.wrong + self.unsure;
        format!(
            "{:>4} right, {:>3} wrong, {:>3} no answer of {n:>4} ({:.1}% right)",
            self.right,
            self.wrong,
            self.unsure,
            100.0 * self.right as f64 / n.max(1) as f64
        )
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let refs = load_dir(&root.join("eval/reference")).expect("eval/reference");
    let glossary = PromptSet::load(None).expect("built-in prompts").glossary;
    // (text, is Dutch)
    let mut texts: Vec<(&str, bool)> = Vec::new();
    for r in &refs {
        for s in &r.segments {
            if s.nl.chars().any(char::is_alphabetic) {
                texts.push((&s.nl, true));
                texts.push((&s.en, false));
            }
        }
    }
    let both = whatlang::Detector::with_allowlist(vec![whatlang::Lang::Eng, whatlang::Lang::Nld]);
    let free = whatlang::Detector::new();
    println!(
        "language of {} texts (each reference segment's Dutch and English)",
        texts.len()
    );
    for (bucket, lo, hi) in [
        ("all", 0, usize::MAX),
        ("< 8 words", 0, 8),
        (">= 8 words", 8, usize::MAX),
    ] {
        let mut fw = Tally::default();
        let mut wl = Tally::default();
        let mut wf = Tally::default();
        for &(t, dutch) in texts.iter().filter(|(t, _)| {
            let n = t.split_whitespace().count();
            n >= lo && n < hi
        }) {
            fw.add(match language(t) {
                Lang::Dutch => Some(dutch),
                Lang::English => Some(!dutch),
                Lang::Unknown => None,
            });
            let judge = |info: Option<whatlang::Info>| {
                info.filter(|i| i.is_reliable()).map(|i| match i.lang() {
                    whatlang::Lang::Nld => dutch,
                    whatlang::Lang::Eng => !dutch,
                    _ => false,
                })
            };
            wl.add(judge(both.detect(t)));
            wf.add(judge(free.detect(t)));
        }
        println!("  {bucket}:");
        println!("    function words          {}", fw.line());
        println!("    whatlang (nl/en only)   {}", wl.line());
        println!("    whatlang (any language) {}", wf.line());
    }
    // What the untranslated check would flag in English that is right (false positives) and in
    // Dutch left as the "English" (recall), with each way of telling the language.
    let (mut fp_fw, mut fp_wl, mut hit_fw, mut hit_wl, mut n_en, mut n_nl) = (0, 0, 0, 0, 0, 0);
    for &(t, dutch) in &texts {
        let (nl_fw, en_fw) = function_words(t);
        let by_fw = nl_fw >= 3 && nl_fw > en_fw;
        let by_wl = both
            .detect(t)
            .is_some_and(|i| i.is_reliable() && i.lang() == whatlang::Lang::Nld);
        if dutch {
            n_nl += 1;
            hit_fw += usize::from(by_fw);
            hit_wl += usize::from(by_wl);
        } else {
            n_en += 1;
            fp_fw += usize::from(by_fw);
            fp_wl += usize::from(by_wl);
        }
    }
    println!("untranslated (\"mostly Dutch\"):");
    println!(
        "  function words: {fp_fw} of {n_en} English segments flagged, {hit_fw} of {n_nl} Dutch ones"
    );
    println!(
        "  whatlang:       {fp_wl} of {n_en} English segments flagged, {hit_wl} of {n_nl} Dutch ones"
    );

    // Speed: every reference letter checked, again and again.
    let checker = tolk::checks::Checker::new(&glossary, "");
    let segments: usize = refs.iter().map(|r| r.segments.len()).sum();
    for round in 1..=3 {
        let start = Instant::now();
        let mut n = 0;
        while start.elapsed().as_secs_f64() < 1.0 {
            for r in &refs {
                let mut t = r.as_translation();
                checker.translation(&mut t);
            }
            n += segments;
        }
        let secs = start.elapsed().as_secs_f64();
        println!("checks, round {round}: {:.0} segments/s", n as f64 / secs);
    }
}
