//! Stance: authors, addressees, date and type of the document; the overall stance towards the EU
//! regulation; and a stance on every topic of the fixed taxonomy (an object with one required
//! property per topic, so none can be skipped), each with Dutch evidence quotes and English
//! glosses. A letter longer than [`TaskContext::whole_doc_tokens`] is judged per chunk and the
//! parts are merged by fixed rules. Every quote is grounded against the source
//! ([`crate::ground`]): exact, fuzzy with a score, or unverified (kept and flagged).
//!
//! Asked per question ([`super::ask`], the embedded model's default), each part of a letter gets
//! one call for the overall stance and the names, and one call per topic that quotes first,
//! reasons next and judges last; the answers are put together into the combined answer's shape
//! and merged the same way.

use super::{
    About, CallSpec, Caller, Input, Notes, Prior, Segment, Source, Task, TaskContext, TaskKind,
    TaskOutput, TaskResult, ask, call_all, segments, segments_json, whole_document,
};
use crate::chunk::Chunk;
use crate::ground::{self, Match};
use crate::ingest::Document;
use crate::llm::BoxFuture;
use crate::prompt::PromptError;
use crate::prompt::Topic;
use serde_json::{Value, json};

pub mod gloss;
mod out;
mod schema;
mod sentences;

pub use out::{EnFrom, Evidence, Overall, StanceOut, TopicOut};
#[cfg(test)]
use schema::{BOUND_EVIDENCE, BOUND_NAMES, BOUND_RATIONALE_CHARS};
pub use schema::{overall_schema, question_schema, schema, topic_schema};
pub use sentences::{sentence_ranges, sentences};

pub const OVERALL: &[&str] = &["support", "oppose", "mixed", "neutral"];
pub const TOPIC_STANCES: &[&str] = &["support", "oppose", "mixed", "neutral", "not_addressed"];
pub const DOC_TYPES: &[&str] = &[
    "letter",
    "parliamentary_letter",
    "advice",
    "reply",
    "position_paper",
    "other",
];

/// The token budget of a bounded stance answer. At every bound, each of the thirteen judgements
/// (twelve topics and the overall stance) is about 40 tokens of rationale, 40 of English gloss,
/// a quoted sentence of up to about 60 and 35 of keys and punctuation: about 2,300 tokens, 2,600
/// with the names and the overall stance's second quote. Measured on the five letters, two of
/// the embedded model's answers (the Minister's letter, part 5/5; the Commission's, part 1/12)
/// still ran into 2,048. A whole letter's prompt (at most about 4,000 tokens) and this budget
/// fit the embedded model's 8,192-token context.
const BOUNDED_ANSWER_TOKENS: u32 = 3072;

/// The token budget of one bounded question's answer: a topic's quote (up to about 80 tokens),
/// gloss and rationale (about 40 each) and its keys come to about 200; the overall question's
/// names (twice six of 100 characters) and two quotes to about 600.
const BOUNDED_TOPIC_TOKENS: u32 = 512;
const BOUNDED_OVERALL_TOKENS: u32 = 1024;
/// Completion tokens expected of one question's answer.
const EXPECTED_TOPIC_TOKENS: u64 = 100;
const EXPECTED_OVERALL_TOKENS: u64 = 250;

/// The stance task.
pub struct Stance;

/// Completion tokens expected of a stance answer (twelve judgements with quotes).
const EXPECTED_TOKENS: u64 = 1200;

/// Whether the letter is judged as a whole (one call) rather than per chunk.
fn whole_letter(chunks: &[Chunk], ctx: &TaskContext) -> bool {
    ask::whole_letter(chunks, ctx)
}

impl TaskKind for Stance {
    fn about(&self) -> &'static About {
        &About {
            file: "stance",
            prompt_keys: &["stance@", "ask@", "stance_topics", "glossary"],
        }
    }

    /// One call for a letter that fits [`TaskContext::whole_doc_tokens`], else one per chunk;
    /// per question, on every part one for the overall stance and one per topic it mentions.
    fn call_count(&self, doc: &Document, chunks: &[Chunk], ctx: &TaskContext) -> usize {
        if ctx.per_question {
            ask::parts(doc, chunks, ctx)
                .iter()
                .map(|segs| {
                    let text = ask::text(segs);
                    1 + ctx
                        .prompts
                        .topics
                        .iter()
                        .filter(|t| t.mentioned_in(&text))
                        .count()
                })
                .sum()
        } else if whole_letter(chunks, ctx) {
            1
        } else {
            chunks.len()
        }
    }

    fn run<'a>(&'a self, on: Input<'a>) -> BoxFuture<'a, TaskResult> {
        Box::pin(run(on.doc, on.chunks, on.ctx, on.caller))
    }

    /// Quotes asked without their English take it from the letter's final translation
    /// ([`gloss`]), when the run has one.
    fn finish(&self, output: &mut TaskOutput, read: Prior<'_>) {
        if let (TaskOutput::Stance(s), Some(t)) = (output, read.translation) {
            gloss::fill(s, t);
        }
    }
}

/// The calls: one for the whole letter, or one per chunk when it is too long; per question,
/// the overall question and then every topic's on each part, in that order.
pub fn calls(
    doc: &Document,
    chunks: &[Chunk],
    ctx: &TaskContext,
) -> Result<Vec<CallSpec>, PromptError> {
    if ctx.per_question {
        return question_plan(doc, chunks, ctx).map(|(specs, _)| specs);
    }
    let parts: Vec<Vec<Segment>> = if whole_letter(chunks, ctx) {
        vec![whole_document(doc)]
    } else {
        (0..chunks.len())
            .map(|i| segments(doc, chunks, i))
            .collect()
    };
    let n = parts.len();
    let mut out = Vec::new();
    for (i, segs) in parts.iter().enumerate() {
        let text: String = segs
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let vars = json!({
            "doc": {"id": doc.id},
            "facts": ask::given(doc.facts()),
            "part": i + 1,
            "parts": n,
            "topics": ctx.prompts.topics,
            "glossary": ctx.prompts.glossary_for(&text),
            "segments": segments_json(segs),
        });
        let messages = ctx.prompts.render("stance", &vars)?;
        let choices = ctx.grammar.then(|| sentences(segs));
        let mut spec = ctx.spec(
            Task::Stance,
            doc,
            if n == 1 {
                super::WHOLE_LETTER.into()
            } else {
                format!("part {}/{n}", i + 1)
            },
            messages,
            "stance",
            schema(&ctx.prompts.topics, choices.as_deref()),
            EXPECTED_TOKENS,
        );
        if ctx.grammar {
            // The bounded answer can be longer than the usual budget: leave it room to end.
            let m = &mut spec.request.max_tokens;
            *m = Some(m.unwrap_or(0).max(BOUNDED_ANSWER_TOKENS));
        }
        out.push(spec);
    }
    Ok(out)
}

/// Combine the stances of several parts: the parts that address a topic decide; agreement keeps
/// the stance, support against opposition (or any mixed part) is mixed, neutral parts yield to
/// those that take a side.
pub fn combine(stances: &[(String, f64)], none: &str) -> (String, f64) {
    let addressed: Vec<&(String, f64)> = stances
        .iter()
        .filter(|(s, _)| s != "not_addressed")
        .collect();
    if addressed.is_empty() {
        return (
            none.to_string(),
            stances.iter().map(|x| x.1).fold(0.0, f64::max),
        );
    }
    let conf = addressed.iter().map(|x| x.1).sum::<f64>() / addressed.len() as f64;
    let sided: Vec<&str> = addressed
        .iter()
        .map(|x| x.0.as_str())
        .filter(|s| *s != "neutral")
        .collect();
    let stance = if sided.is_empty() {
        "neutral"
    } else if sided.contains(&"mixed") || (sided.contains(&"support") && sided.contains(&"oppose"))
    {
        "mixed"
    } else {
        sided[0]
    };
    (stance.to_string(), (conf * 1000.0).round() / 1000.0)
}

pub(crate) fn ground_all(
    doc: &Document,
    hay: &ground::Haystack,
    list: &Value,
    unverified: &mut u32,
) -> Vec<Evidence> {
    let mut out = Vec::new();
    for e in list.as_array().into_iter().flatten() {
        let quote = e["quote_nl"].as_str().unwrap_or("").trim().to_string();
        if quote.is_empty() {
            continue;
        }
        let g = ground::locate_in(doc, hay, &quote);
        if g.status == Match::Unverified {
            *unverified += 1;
        }
        if out.iter().any(|x: &Evidence| x.quote_nl == quote) {
            continue;
        }
        // Asked without its English, the quote takes it from the translation when the outputs
        // are written ([`gloss`]).
        let en = e.get("quote_en").and_then(Value::as_str);
        out.push(Evidence {
            quote_nl: quote,
            quote_en: en.unwrap_or("").trim().to_string(),
            lines: g.lines,
            pages: super::Pages::default(),
            status: g.status,
            score: g.score,
            en_from: if en.is_some() {
                EnFrom::Model
            } else {
                EnFrom::Missing
            },
        });
    }
    out
}

fn dedup_names(values: &[&Value], key: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        for n in v[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let n = n.trim();
            if !n.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(n)) {
                out.push(n.to_string());
            }
        }
    }
    out
}

/// One per-question call: on which part, and about which topic (none: the overall question).
#[derive(Debug, Clone, PartialEq)]
pub struct Asked {
    pub part: usize,
    pub topic: Option<String>,
}

/// The per-question calls and what each asks: on every part the overall question, then each
/// topic the part mentions ([`Topic::mentioned_in`]); under a grammar a topic's quote is one of
/// the part's sentences that use its terms (any of its sentences when none of them is long
/// enough to quote).
pub fn question_plan(
    doc: &Document,
    chunks: &[Chunk],
    ctx: &TaskContext,
) -> Result<(Vec<CallSpec>, Vec<Asked>), PromptError> {
    let parts = ask::parts(doc, chunks, ctx);
    let n = parts.len();
    let (mut specs, mut asked) = (Vec::new(), Vec::new());
    for (i, segs) in parts.iter().enumerate() {
        let text = ask::text(segs);
        let all = ctx.grammar.then(|| sentences(segs));
        let what = |q: String| {
            if n == 1 {
                q
            } else {
                format!("part {}/{n} {q}", i + 1)
            }
        };
        let mut call = |q: String, question: Value, name: &str, schema: Value, bound, expected| {
            let messages = ask::messages(ctx, doc, segs, i, n, question)?;
            let mut spec = ctx.spec(Task::Stance, doc, what(q), messages, name, schema, expected);
            if ctx.grammar {
                spec.request.max_tokens = Some(bound);
            }
            specs.push(spec);
            Ok::<(), PromptError>(())
        };
        let gloss = !ctx.gloss_from_translation;
        call(
            "overall".into(),
            json!({"kind": "overall", "gloss": gloss}),
            "stance_overall",
            overall_schema(all.as_deref(), gloss),
            BOUNDED_OVERALL_TOKENS,
            EXPECTED_OVERALL_TOKENS,
        )?;
        asked.push(Asked {
            part: i,
            topic: None,
        });
        for t in &ctx.prompts.topics {
            if !t.mentioned_in(&text) {
                continue;
            }
            let choices = all.as_ref().map(|all| {
                let on: Vec<String> = all.iter().filter(|s| t.mentioned_in(s)).cloned().collect();
                if on.is_empty() { all.clone() } else { on }
            });
            call(
                format!("topic {}", t.id),
                json!({"kind": "topic", "topic": t, "gloss": gloss}),
                "stance_topic",
                topic_schema(choices.as_deref(), gloss),
                BOUNDED_TOPIC_TOKENS,
                EXPECTED_TOPIC_TOKENS,
            )?;
            asked.push(Asked {
                part: i,
                topic: Some(t.id.clone()),
            });
        }
    }
    Ok((specs, asked))
}

/// The answers of the per-question calls in the combined answer's shape, one value per part. A
/// topic a part does not mention is `not_addressed` there, and says why.
pub fn combine_questions(answers: Vec<Value>, asked: &[Asked], topics: &[Topic]) -> Vec<Value> {
    let parts = asked.iter().map(|a| a.part + 1).max().unwrap_or(0);
    let mut out: Vec<Value> = vec![json!({}); parts];
    let mut by_part: Vec<serde_json::Map<String, Value>> = vec![serde_json::Map::new(); parts];
    for (a, v) in asked.iter().zip(answers) {
        match &a.topic {
            None => out[a.part] = v,
            Some(id) => {
                by_part[a.part].insert(id.clone(), v);
            }
        }
    }
    for (v, mut answered) in out.iter_mut().zip(by_part) {
        let mut all = serde_json::Map::new();
        for t in topics {
            let answer = answered.remove(&t.id).unwrap_or_else(|| {
                json!({
                    "stance": "not_addressed",
                    "confidence": 1.0,
                    "rationale_en": format!(
                        "The text uses none of this topic's terms ({}).",
                        t.terms.join(", ")
                    ),
                    "evidence": []
                })
            });
            all.insert(t.id.clone(), answer);
        }
        if let Some(o) = v.as_object_mut() {
            o.insert("topics".into(), Value::Object(all));
        }
    }
    out
}

/// Merge the answers of one or more parts into the output, grounding every quote.
pub fn assemble(
    doc: &Document,
    parts: &[Value],
    topics: &[Topic],
    model: &str,
) -> (StanceOut, u32) {
    let hay = ground::Haystack::new(doc);
    let mut unverified = 0;
    let refs: Vec<&Value> = parts.iter().collect();
    let rationale = |items: Vec<(usize, &str)>| -> String {
        if items.len() == 1 {
            return whole_sentences(items[0].1);
        }
        items
            .iter()
            .map(|(i, r)| format!("Part {}: {}", i + 1, whole_sentences(r)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let overall_stances: Vec<(String, f64)> = parts
        .iter()
        .map(|p| {
            (
                p["overall"]["stance"]
                    .as_str()
                    .unwrap_or("neutral")
                    .to_string(),
                p["overall"]["confidence"].as_f64().unwrap_or(0.0),
            )
        })
        .collect();
    let (stance, confidence) = combine(&overall_stances, "neutral");
    let mut evidence = Vec::new();
    for p in parts {
        evidence.extend(ground_all(
            doc,
            &hay,
            &p["overall"]["evidence"],
            &mut unverified,
        ));
    }
    let overall = Overall {
        stance,
        confidence,
        rationale_en: rationale(
            parts
                .iter()
                .enumerate()
                .map(|(i, p)| (i, p["overall"]["rationale_en"].as_str().unwrap_or("")))
                .collect(),
        ),
        evidence,
    };
    let mut topic_out = Vec::new();
    for t in topics {
        let per: Vec<&Value> = parts.iter().map(|p| &p["topics"][&t.id]).collect();
        let stances: Vec<(String, f64)> = per
            .iter()
            .map(|v| {
                (
                    v["stance"].as_str().unwrap_or("not_addressed").to_string(),
                    v["confidence"].as_f64().unwrap_or(0.0),
                )
            })
            .collect();
        let (stance, confidence) = combine(&stances, "not_addressed");
        let mut evidence = Vec::new();
        let mut reasons = Vec::new();
        for (i, v) in per.iter().enumerate() {
            evidence.extend(ground_all(doc, &hay, &v["evidence"], &mut unverified));
            let addressed = v["stance"].as_str() != Some("not_addressed") || per.len() == 1;
            if addressed && let Some(r) = v["rationale_en"].as_str() {
                reasons.push((i, r));
            }
        }
        topic_out.push(TopicOut {
            topic: t.id.clone(),
            label: t.label.clone(),
            stance,
            confidence,
            rationale_en: rationale(reasons),
            evidence,
        });
    }
    let date = parts
        .iter()
        .find_map(|p| p["date"].as_str().map(str::to_string))
        .filter(|d| !d.trim().is_empty());
    let mut out = StanceOut {
        doc_id: doc.id.clone(),
        source: Source::of(doc),
        model: model.to_string(),
        author: dedup_names(&refs, "authors"),
        addressees: dedup_names(&refs, "addressees"),
        date,
        from_letter: Vec::new(),
        doc_type: parts
            .first()
            .and_then(|p| p["doc_type"].as_str())
            .unwrap_or("other")
            .to_string(),
        overall,
        topics: topic_out,
        checks: Vec::new(),
    };
    from_letter(&mut out, doc.facts());
    (out, unverified)
}

/// A rationale that a length bound cut mid-sentence ("The author's stance is to,"), ended at
/// its last full sentence when it has one; else as it is (the checks flag it as cut off).
pub(crate) fn whole_sentences(r: &str) -> String {
    let r = r.trim();
    if r.is_empty() || r.ends_with(['.', '!', '?']) {
        return r.to_string();
    }
    // The last sentence end: a point after a lower-case word of three letters or more (not an
    // initial, a title such as "Dhr." or an abbreviation such as "etc."), then a space and a
    // capital.
    const ABBREVIATIONS: &[&str] = &[
        "etc", "art", "bijv", "resp", "incl", "excl", "approx", "nos", "vol", "blz", "pag",
    ];
    let end = r.char_indices().rev().find(|&(i, c)| {
        let word: String = r[..i]
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '.')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        matches!(c, '.' | '!' | '?')
            && word.chars().count() >= 3
            && word.chars().all(char::is_lowercase)
            && !ABBREVIATIONS.contains(&word.as_str())
            && r[i + 1..].starts_with(' ')
            && r[i + 1..].trim_start().starts_with(char::is_uppercase)
    });
    match end {
        Some((i, _)) if i > 20 => r[..=i].to_string(),
        _ => r.to_string(),
    }
}

/// The names and the date the letter states itself replace the model's: a small model took
/// the addressees of a letter for its authors. What the letter does not state stays the
/// model's answer.
fn from_letter(out: &mut StanceOut, facts: &crate::ingest::facts::Facts) {
    let mut author: Vec<String> = facts.sender.iter().map(|s| s.value.clone()).collect();
    for s in &facts.signatories {
        author.push(match &s.title {
            Some(t) => format!("{}, {t}", s.name),
            None => s.name.clone(),
        });
    }
    if !author.is_empty() {
        out.author = author;
        out.from_letter.push("author".into());
    }
    if !facts.addressees.is_empty() {
        out.addressees = facts.addressees.iter().map(|a| a.value.clone()).collect();
        out.from_letter.push("addressees".into());
    } else if let Some(sender) = &facts.sender {
        // The model's addressees, less the sender it named among them ("Eerste Kamer; de
        // Commissie" for the Commission's letter to the Senate): a letter is not addressed to
        // its own writer.
        let own = |a: &str| {
            let (a, s) = (a.to_lowercase(), sender.value.to_lowercase());
            let strip = |x: &str| {
                x.trim()
                    .trim_start_matches("de ")
                    .trim_start_matches("het ")
                    .trim_start_matches("the ")
                    .to_string()
            };
            strip(&a) == strip(&s)
        };
        out.addressees.retain(|a| !own(a));
    }
    if let Some(d) = &facts.date {
        out.date = Some(d.value.clone());
        out.from_letter.push("date".into());
    }
}

/// Extract the stance of a document.
pub async fn run(
    doc: &Document,
    chunks: &[Chunk],
    ctx: &TaskContext,
    caller: &dyn Caller,
) -> TaskResult {
    let planned = if ctx.per_question {
        question_plan(doc, chunks, ctx).map(|(s, a)| (s, Some(a)))
    } else {
        calls(doc, chunks, ctx).map(|s| (s, None))
    };
    let (specs, asked) = match planned {
        Ok(p) => p,
        Err(e) => return TaskResult::failed(e),
    };
    let mut answers = call_all(caller, &specs).await;
    if let Some(e) = answers.error() {
        return TaskResult::failed(e);
    }
    let mut values: Vec<Value> = answers.values.into_iter().flatten().collect();
    if let Some(asked) = &asked {
        values = combine_questions(values, asked, &ctx.prompts.topics);
    }
    let (out, unverified) = assemble(
        doc,
        &values,
        &ctx.prompts.topics,
        &answers.model.unwrap_or_default(),
    );
    TaskResult {
        output: Some(TaskOutput::Stance(out)),
        notes: Notes {
            unverified_quotes: unverified,
            ..Notes::default()
        },
        error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(id: &str, terms: &[&str]) -> Topic {
        Topic {
            id: id.into(),
            label: id.into(),
            description: id.into(),
            terms: terms.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn answers_per_question_take_the_combined_shape_and_unasked_topics_are_not_addressed() {
        let topics = [
            topic("encryption", &["encryptie"]),
            topic("age", &["leeftijd"]),
        ];
        assert!(topics[0].mentioned_in("End-to-end ENCRYPTIE"));
        assert!(!topics[1].mentioned_in("End-to-end encryptie"));
        let overall = |s: &str| json!({"overall": {"stance": s, "confidence": 0.5, "rationale_en": s, "evidence": []}});
        let judged =
            |s: &str| json!({"stance": s, "confidence": 0.8, "rationale_en": s, "evidence": []});
        // Part 1 asks both topics, part 2 only the first.
        let asked = [
            Asked {
                part: 0,
                topic: None,
            },
            Asked {
                part: 0,
                topic: Some("encryption".into()),
            },
            Asked {
                part: 0,
                topic: Some("age".into()),
            },
            Asked {
                part: 1,
                topic: None,
            },
            Asked {
                part: 1,
                topic: Some("encryption".into()),
            },
        ];
        let answers = vec![
            overall("oppose"),
            judged("oppose"),
            judged("support"),
            overall("oppose"),
            judged("mixed"),
        ];
        let parts = combine_questions(answers, &asked, &topics);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0]["topics"]["age"]["stance"], "support");
        assert_eq!(parts[1]["topics"]["encryption"]["stance"], "mixed");
        assert_eq!(parts[1]["topics"]["age"]["stance"], "not_addressed");
        assert_eq!(
            parts[1]["topics"]["age"]["rationale_en"],
            "The text uses none of this topic's terms (leeftijd)."
        );
        assert_eq!(parts[1]["overall"]["stance"], "oppose");
        // Merged as parts always are: the part that addresses a topic decides.
        let doc = crate::ingest::from_bytes(
            "x",
            std::path::Path::new("x.txt"),
            b"Encryptie en leeftijd zijn genoemd in deze brief.\n",
        )
        .unwrap();
        let (out, _) = assemble(&doc, &parts, &topics, "m");
        assert_eq!(out.topics[1].stance, "support");
        assert_eq!(out.topics[0].stance, "mixed");
    }

    #[test]
    fn a_rationale_cut_by_its_bound_ends_at_its_last_full_sentence() {
        assert_eq!(
            whole_sentences("The author opposes scanning. The author's stance is to,"),
            "The author opposes scanning."
        );
        assert_eq!(whole_sentences(" Opposes it. "), "Opposes it.");
        // No full sentence to end at (or only an abbreviation): kept, and the checks flag it.
        assert_eq!(
            whole_sentences("The author's stance is to,"),
            "The author's stance is to,"
        );
        assert_eq!(
            whole_sentences("It names e.g. the scanning of"),
            "It names e.g. the scanning of"
        );
        assert_eq!(
            whole_sentences("The letter of Dhr. D.M. van Weel asks the minister to"),
            "The letter of Dhr. D.M. van Weel asks the minister to",
            "a title's or an initial's point is no sentence end"
        );
        assert_eq!(
            whole_sentences("It cites art. 7 and more, etc. Then it asks the"),
            "It cites art. 7 and more, etc. Then it asks the"
        );
    }

    #[test]
    fn the_names_and_date_the_letter_states_replace_the_models() {
        let letter = "Aan: De woordvoerders van de Commissie Justitie en Veiligheid\n\nBetreft: De verordening\n\n29 september 2025, Leiden\n\nGeachte woordvoerder,\n\nWij steunen de verordening en vragen u dat ook te doen, omdat kinderen recht hebben op bescherming online.\n\nDe verordening beschermt kinderen en respecteert de vertrouwelijkheid van communicatie, zoals wij hieronder laten zien.\n\nWij lichten dat graag toe in een gesprek met u en uw collega's in de commissie.\n\nMet vriendelijke groet,\n\nAnna de Boer\n\nDirecteur Stichting Voorbeeld\n";
        let doc = crate::ingest::from_bytes("x", std::path::Path::new("x.txt"), letter.as_bytes())
            .unwrap();
        // The model took the addressees for the authors, and had no date.
        let answer = json!({"authors": ["De woordvoerders"], "addressees": ["Stichting Voorbeeld"],
            "date": null, "doc_type": "letter",
            "overall": {"stance": "support", "confidence": 0.8, "rationale_en": "r", "evidence": []},
            "topics": []});
        let (out, _) = assemble(&doc, &[answer], &[], "m");
        assert_eq!(
            out.author,
            [
                "Stichting Voorbeeld",
                "Anna de Boer, Directeur Stichting Voorbeeld"
            ]
        );
        assert_eq!(
            out.addressees,
            ["De woordvoerders van de Commissie Justitie en Veiligheid"]
        );
        assert_eq!(out.date.as_deref(), Some("2025-09-29"));
        assert_eq!(out.from_letter, ["author", "addressees", "date"]);
    }

    #[test]
    fn a_letter_without_addressees_keeps_the_models_less_its_own_sender() {
        let mut out: StanceOut = serde_json::from_value(json!({
            "doc_id": "x", "source": {"path": "x.txt", "sha256": ""}, "model": "m",
            "author": [], "addressees": ["de Eerste Kamer", "de Commissie"], "date": null,
            "doc_type": "letter",
            "overall": {"stance": "support", "confidence": 1.0, "rationale_en": "", "evidence": []},
            "topics": []
        }))
        .unwrap();
        let facts = crate::ingest::facts::Facts {
            sender: Some(crate::ingest::facts::Fact {
                value: "De Commissie".into(),
                lines: [52, 53],
                page: None,
            }),
            ..Default::default()
        };
        from_letter(&mut out, &facts);
        assert_eq!(out.addressees, ["de Eerste Kamer"]);
        assert_eq!(out.from_letter, ["author"]);
    }

    #[test]
    fn only_the_constrained_schema_bounds_text_and_lists() {
        let topics = vec![Topic {
            id: "encryption".into(),
            label: "Encryption".into(),
            description: "end-to-end encryption".into(),
            terms: vec![],
        }];
        let open = schema(&topics, None).to_string();
        assert!(
            !open.contains("maxLength") && !open.contains("maxItems"),
            "{open}"
        );
        let sentences = vec!["Wij zijn tegen.".to_string()];
        let bounded = schema(&topics, Some(&sentences));
        let judgement = &bounded["properties"]["topics"]["properties"]["encryption"];
        assert_eq!(
            judgement["properties"]["rationale_en"]["maxLength"],
            BOUND_RATIONALE_CHARS
        );
        assert_eq!(
            judgement["properties"]["evidence"]["maxItems"],
            BOUND_EVIDENCE
        );
        assert_eq!(
            judgement["properties"]["evidence"]["items"]["properties"]["quote_nl"]["enum"][0],
            "Wij zijn tegen."
        );
        assert_eq!(bounded["properties"]["authors"]["maxItems"], BOUND_NAMES);
        // Still a schema the validator accepts, and a valid answer passes it.
        let validator = jsonschema::validator_for(&bounded).expect("a valid schema");
        let long = "x".repeat(BOUND_RATIONALE_CHARS + 1);
        let mut answer = serde_json::json!({
            "authors": ["Offlimits"], "addressees": [], "date": null, "doc_type": "advice",
            "overall": {"stance": "oppose", "confidence": 0.8, "rationale_en": "Against.", "evidence": []},
            "topics": {"encryption": {"stance": "oppose", "confidence": 0.9, "rationale_en": "No.",
                "evidence": [{"quote_nl": "Wij zijn tegen.", "quote_en": "We are against."}]}}
        });
        assert!(validator.is_valid(&answer));
        answer["topics"]["encryption"]["rationale_en"] = long.into();
        assert!(!validator.is_valid(&answer));
        // A confidence is one of the tenths, as the grammar will write it.
        answer["topics"]["encryption"]["rationale_en"] = "No.".into();
        let conf = &judgement["properties"]["confidence"]["enum"];
        assert_eq!(conf.as_array().unwrap().len(), 11);
        assert_eq!(
            conf.to_string(),
            "[0.0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0]"
        );
        for (c, ok) in [
            ("1.0", true),
            ("0.3", true),
            ("-1.0", false),
            ("0.85", false),
        ] {
            answer["overall"]["confidence"] = serde_json::from_str(c).unwrap();
            assert_eq!(validator.is_valid(&answer), ok, "confidence {c}");
        }
        assert!(!open.contains("enum\":[0.0"), "{open}");
    }

    #[test]
    fn combining_parts() {
        let s = |v: &[(&str, f64)]| {
            v.iter()
                .map(|(a, b)| (a.to_string(), *b))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            combine(&s(&[("support", 0.8), ("support", 0.6)]), "x").0,
            "support"
        );
        assert_eq!(
            combine(&s(&[("support", 0.8), ("oppose", 0.6)]), "x").0,
            "mixed"
        );
        assert_eq!(
            combine(&s(&[("neutral", 0.8), ("oppose", 0.6)]), "x").0,
            "oppose"
        );
        assert_eq!(
            combine(
                &s(&[("not_addressed", 0.9), ("not_addressed", 0.9)]),
                "not_addressed"
            )
            .0,
            "not_addressed"
        );
        assert_eq!(
            combine(&s(&[("not_addressed", 0.9), ("neutral", 0.4)]), "x"),
            ("neutral".into(), 0.4)
        );
    }
}
