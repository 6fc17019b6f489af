//! The embedded model. Its own logic without the model (prompt templating, schema to grammar),
//! then the whole pipeline on the shortest letter with the real model.

#![cfg(feature = "local")]

use crate::support::{check_exact_quotes, heavy, model_or_skip, root, stderr, stdout, tolk};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use tolk::chunk::{self, ChunkConfig};
use tolk::prompt::PromptSet;
use tolk::tasks::{self, TaskContext};

fn ctx(constrain: bool) -> TaskContext {
    ctx_asking(constrain, false)
}

fn ctx_asking(constrain: bool, per_question: bool) -> TaskContext {
    TaskContext {
        prompts: PromptSet::load(Some(&root().join("prompts"))).unwrap(),
        encoding: tolk::chunk::TokenEncoding::O200kBase,
        temperature: 0.0,
        seed: None,
        max_tokens: Some(2048),
        whole_doc_tokens: 3700,
        grammar: constrain,
        segment_mode: false,
        per_question,
        gloss_from_translation: false,
        questions: Vec::new(),
        memory: Default::default(),
        earlier_translations: Default::default(),
    }
}

/// Every `maxLength` and `maxItems` in a schema.
fn bounds(schema: &serde_json::Value, out: &mut Vec<u64>) {
    match schema {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                if k == "maxLength" || k == "maxItems" {
                    out.push(v.as_u64().unwrap());
                }
                bounds(v, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| bounds(v, out)),
        _ => {}
    }
}

/// Paths of numbers bounded by `minimum`/`maximum` but not an enum: llama.cpp's grammar does not
/// enforce those bounds, so the model can write an answer the validator then refuses.
fn unenforced_numbers(schema: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    match schema {
        serde_json::Value::Object(map) => {
            let bounded = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]
                .iter()
                .any(|k| map.contains_key(*k));
            if map.get("type") == Some(&"number".into()) && bounded && !map.contains_key("enum") {
                out.push(path.to_string());
            }
            for (k, v) in map {
                unenforced_numbers(v, &format!("{path}/{k}"), out);
            }
        }
        serde_json::Value::Array(items) => {
            items.iter().for_each(|v| unenforced_numbers(v, path, out))
        }
        _ => {}
    }
}

#[test]
fn a_translation_call_asks_only_for_segments_with_words() {
    let doc = tolk::ingest::read(
        &root().join("input/undated-europese-commissie-antwoord-eerste-kamer.txt"),
    )
    .unwrap();
    let chunks = chunk::split(&doc, &ChunkConfig::default()).chunks;
    let plan = tasks::translate::calls(&doc, &chunks, &ctx(true)).unwrap();
    let mut numbers = 0;
    for (segs, spec) in &plan {
        let spec = spec.as_ref().expect("every chunk of this letter has words");
        let schema = &spec.request.schema.as_ref().unwrap().schema;
        let asked: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let prompt: String = spec
            .request
            .messages
            .iter()
            .map(|m| m.content.as_str())
            .collect();
        for s in segs {
            let words = tasks::translate::has_words(&s.text);
            assert_eq!(
                asked.contains(&s.id.as_str()),
                words,
                "{} {:?}",
                s.id,
                s.text
            );
            assert_eq!(prompt.contains(&format!("[{}] ", s.id)), words, "{}", s.id);
            numbers += usize::from(!words);
        }
    }
    // The letter numbers its questions "1)" ... "9)" on lines of their own.
    assert!(numbers >= 2, "{numbers} segments without words");
}

#[test]
fn every_request_schema_becomes_a_grammar() {
    for name in [
        "2024-09-18-offlimits-advies-kabinetsstandpunt",
        // The longest paragraphs: their translation bounds reach llama.cpp's limit.
        "undated-europese-commissie-antwoord-eerste-kamer",
    ] {
        // Summary and stance combined, and asked per question (the embedded model's default).
        for per_question in [false, true] {
            every_request_schema_of_becomes_a_grammar(name, per_question);
        }
    }
}

fn every_request_schema_of_becomes_a_grammar(name: &str, per_question: bool) {
    let doc = tolk::ingest::read(&root().join(format!("input/{name}.txt"))).unwrap();
    let chunks = chunk::split(&doc, &ChunkConfig::default()).chunks;
    let c = ctx_asking(true, per_question);
    let mut specs: Vec<tasks::CallSpec> = tasks::translate::calls(&doc, &chunks, &c)
        .unwrap()
        .into_iter()
        .filter_map(|(_, s)| s)
        .collect();
    specs.extend(tasks::summary::map_calls(&doc, &chunks, &c).unwrap());
    specs.push(tasks::summary::reduce_call(&doc, &chunks, &[], &c).unwrap());
    specs.extend(tasks::stance::calls(&doc, &chunks, &c).unwrap());
    for spec in specs {
        let schema = &spec.request.schema.as_ref().unwrap().schema;
        let grammar = llama_cpp_2::json_schema_to_grammar(&schema.to_string())
            .unwrap_or_else(|e| panic!("{} {}: {e}", spec.task.name(), spec.what));
        assert!(grammar.contains("root ::="), "{grammar}");
        // llama.cpp's grammar would silently drop a larger bound.
        let mut found = Vec::new();
        bounds(schema, &mut found);
        assert!(
            !found.is_empty(),
            "{} {} is bounded",
            spec.task.name(),
            spec.what
        );
        assert!(
            found.iter().all(|&b| b <= tasks::GRAMMAR_MAX_LENGTH as u64),
            "{} {}: bounds {found:?}",
            spec.task.name(),
            spec.what
        );
        let mut loose = Vec::new();
        unenforced_numbers(schema, "", &mut loose);
        assert!(loose.is_empty(), "{}: {loose:?}", spec.what);
        // The grammar names every required property of the schema.
        for key in schema["required"].as_array().unwrap() {
            assert!(
                grammar.contains(key.as_str().unwrap()),
                "{} lacks {key}",
                spec.what
            );
        }
    }
}

#[test]
fn asked_per_question_a_long_letter_is_a_few_parts_with_bounded_answers() {
    use tolk::tasks::TaskKind;
    let name = "undated-europese-commissie-antwoord-eerste-kamer";
    let doc = tolk::ingest::read(&root().join(format!("input/{name}.txt"))).unwrap();
    let chunks = chunk::split(&doc, &ChunkConfig::default()).chunks;
    let c = ctx_asking(true, true);
    let specs = tasks::stance::calls(&doc, &chunks, &c).unwrap();
    assert_eq!(
        specs.len(),
        tasks::stance::Stance.call_count(&doc, &chunks, &c)
    );
    let title = |s: &tasks::CallSpec| s.request.schema.as_ref().unwrap().schema["title"].clone();
    let parts = specs
        .iter()
        .filter(|s| title(s) == "tolk.stance_overall")
        .count();
    // Parts as large as the context allows: a few, not one per chunk.
    assert!(
        parts > 1 && parts * 3 <= chunks.len(),
        "{parts} of {}",
        chunks.len()
    );
    // Each part: the overall question first, then the topics it mentions, each bounded.
    assert_eq!(title(&specs[0]), "tolk.stance_overall");
    for s in &specs {
        if title(s) == "tolk.stance_overall" {
            assert_eq!(s.request.max_tokens, Some(1024), "{}", s.what);
        } else {
            assert_eq!(title(s), "tolk.stance_topic", "{}", s.what);
            assert_eq!(s.request.max_tokens, Some(512), "{}", s.what);
        }
    }
    // The notes are taken on the same parts.
    let notes = tasks::summary::map_calls(&doc, &chunks, &c).unwrap();
    assert_eq!(notes.len(), parts);
}

/// The Offlimits letter, read and chunked as a run does.
fn offlimits() -> (tolk::ingest::Document, Vec<tolk::chunk::Chunk>) {
    let doc =
        tolk::ingest::read(&root().join("input/2024-09-18-offlimits-advies-kabinetsstandpunt.txt"))
            .unwrap();
    let chunks = chunk::split(&doc, &ChunkConfig::default()).chunks;
    (doc, chunks)
}

/// Beside the translation in the same run, a stance quote is asked without its English, which
/// is then the translation's (`tasks::stance::gloss`); without it, each quote comes with a gloss.
#[test]
fn asked_beside_the_translation_a_quote_is_asked_without_its_english() {
    let (doc, chunks) = offlimits();
    for gloss_from_translation in [false, true] {
        let c = TaskContext {
            gloss_from_translation,
            ..ctx_asking(true, true)
        };
        let specs = tasks::stance::calls(&doc, &chunks, &c).unwrap();
        assert!(specs.len() > 2);
        for s in &specs {
            let schema = s.request.schema.as_ref().unwrap().schema.to_string();
            let question = &s.request.messages.last().unwrap().content;
            assert!(schema.contains("quote_nl"), "{}", s.what);
            assert_eq!(
                schema.contains("quote_en"),
                !gloss_from_translation,
                "{}",
                s.what
            );
            assert_eq!(
                question.contains("English gloss"),
                !gloss_from_translation,
                "{}: {question}",
                s.what
            );
        }
    }
}

#[test]
fn quote_constrained_stance_schema_lists_the_letters_own_sentences() {
    let (doc, chunks) = offlimits();
    let specs = tasks::stance::calls(&doc, &chunks, &ctx(true)).unwrap();
    assert_eq!(specs.len(), 1, "the letter fits one call");
    // The bounded answer gets room to end; an endpoint keeps the configured budget.
    assert_eq!(specs[0].request.max_tokens, Some(3072));
    let open = tasks::stance::calls(&doc, &chunks, &ctx(false)).unwrap();
    assert_eq!(open[0].request.max_tokens, Some(2048));
    let schema = &specs[0].request.schema.as_ref().unwrap().schema;
    let choices = schema["properties"]["overall"]["properties"]["evidence"]["items"]["properties"]
        ["quote_nl"]["enum"]
        .as_array()
        .unwrap();
    assert!(choices.len() > 20);
    for q in choices {
        let g = tolk::ground::locate(&doc, q.as_str().unwrap());
        assert_eq!(
            g.status,
            tolk::ground::Match::Exact,
            "{q} is a sentence of the letter"
        );
    }
    // The messages come from the shipped templates, with the letter's paragraphs.
    let user = &specs[0].request.messages[1].content;
    assert!(
        user.contains("[p8] In het licht van de discussies"),
        "{user}"
    );
}

fn read(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn the_real_model_runs_the_pipeline_on_the_offlimits_letter() {
    let Some(_) = model_or_skip("the real-model test") else {
        return;
    };
    let _cores = heavy();
    let out = tempfile::tempdir().unwrap();
    let letter = root().join("input/2024-09-18-offlimits-advies-kabinetsstandpunt.txt");
    // A question of the user's, answered with the stance.
    let config = out.path().join("tolk.toml");
    std::fs::write(
        &config,
        "[[questions]]\nid = \"hungary\"\ntext = \"What does the letter say about the Hungarian presidency's proposal?\"\nterms = [\"hongaars\"]\n",
    )
    .unwrap();
    let o = tolk(
        &root(),
        &[
            "run",
            letter.to_str().unwrap(),
            "--local-model",
            crate::support::TEST_MODEL,
            "--out",
            out.path().to_str().unwrap(),
            "--no-progress",
        ],
        &[("TOLK_CONFIG", config.to_str().unwrap())],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("embedded small model, for trying tolk out"),
        "the warning is shown"
    );
    let dir = PathBuf::from(stdout(&o).trim());
    let m = read(&dir.join("manifest.json"));
    assert_eq!(
        m["warning"],
        "embedded small model, for trying tolk out; use a capable endpoint for real work"
    );
    // The embedded model's defaults: a paragraph per translation call, a question per call.
    assert_eq!(m["params"]["translate_mode"], "segment");
    assert_eq!(m["params"]["analysis_mode"], "per_question");
    let doc_dir = dir.join("2024-09-18-offlimits-advies-kabinetsstandpunt");
    for f in ["translation.md", "summary.md", "stance.md"] {
        assert!(
            std::fs::read_to_string(doc_dir.join(f))
                .unwrap()
                .contains("embedded small model"),
            "{f} is marked"
        );
    }

    // Schema-valid outputs: the pipeline validated every reply; check the shapes it wrote.
    let doc = tolk::ingest::read(&letter).unwrap();
    let t = read(&doc_dir.join("translation.json"));
    let mut covered = BTreeSet::new();
    for s in t["segments"].as_array().unwrap() {
        // Schema-valid: every segment got a string, and one with words at least a quarter of
        // its Dutch length (the grammar's floor), so none is left empty. The small model may
        // still leave Dutch untranslated; that is what the warning is for.
        let (nl, en) = (s["nl"].as_str().unwrap(), s["en"].as_str().unwrap());
        if tasks::translate::has_words(nl) {
            assert!(!en.is_empty(), "{s}");
        } else {
            assert_eq!(en, nl);
        }
        let [a, b]: [u32; 2] = serde_json::from_value(s["lines"].clone()).unwrap();
        for l in a..=b {
            if doc.line_map.line_start(l).is_some() {
                assert!(covered.insert(l), "line {l} twice");
            }
        }
    }
    let content: BTreeSet<u32> = (1..=doc.line_count)
        .filter(|l| doc.line_map.line_start(*l).is_some())
        .collect();
    assert_eq!(
        covered, content,
        "the translation covers every line with text"
    );

    let su = read(&doc_dir.join("summary.json"));
    assert!(!su["summary_en"].as_str().unwrap().is_empty());
    let st = read(&doc_dir.join("stance.json"));
    assert_eq!(st["topics"].as_array().unwrap().len(), 11);
    // Quotes are constrained to the letter's sentences: all exact, all at their lines.
    let topics = st["topics"].as_array().unwrap();
    for e in topics
        .iter()
        .chain([&st["overall"]])
        .flat_map(|t| t["evidence"].as_array().unwrap())
    {
        assert_eq!(e["match"], "exact", "{e}");
    }
    check_exact_quotes(&doc, &st);
    // The quotes were asked without their English: it is the translation's, at the quote's
    // place in its paragraph, and says so.
    let one_line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let english = one_line(
        &t["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["en"].as_str().unwrap())
            .collect::<Vec<_>>()
            .join(" "),
    );
    let mut quotes = 0;
    for e in topics
        .iter()
        .chain([&st["overall"]])
        .flat_map(|t| t["evidence"].as_array().unwrap())
    {
        assert!(
            matches!(
                e["en_from"].as_str(),
                Some("translation" | "translation_approx")
            ),
            "{e}"
        );
        let en = one_line(e["quote_en"].as_str().unwrap());
        assert!(!en.is_empty() && english.contains(&en), "{e}");
        quotes += 1;
    }
    assert!(quotes > 0, "the stance quotes the letter");
    let md = std::fs::read_to_string(doc_dir.join("stance.md")).unwrap();
    assert!(md.contains("(from the translation"), "{md}");

    // The question: one answer, its quotes the letter's own sentences at their lines, their
    // English the translation's; a position it takes rests on one of them.
    let q = read(&doc_dir.join("questions.json"));
    let a = &q["answers"][0];
    assert_eq!(a["question"], "hungary");
    assert_eq!(a["asked"], "whole letter");
    let position = a["position"].as_str().unwrap();
    assert!(
        ["support", "oppose", "mixed", "neutral", "not_addressed"].contains(&position),
        "{a}"
    );
    assert!(!a["answer_en"].as_str().unwrap().is_empty(), "{a}");
    let evidence = a["evidence"].as_array().unwrap();
    assert!(evidence.iter().all(|e| e["match"] == "exact"), "{a}");
    crate::support::check_exact(&doc, evidence);
    for e in evidence {
        let en = one_line(e["quote_en"].as_str().unwrap());
        assert!(!en.is_empty() && english.contains(&en), "{e}");
    }
    assert_eq!(
        a["supported"],
        position == "not_addressed" || !evidence.is_empty()
    );
    eprintln!("the test model on the Offlimits letter and the Hungarian proposal: {a:#}");

    // Asked on its own later (`tolk ask`), a question's quotes take their English from this
    // run's translation, not from the model's bounded gloss, and say whose it is.
    let o = tolk(
        &root(),
        &[
            "ask",
            "What does the letter say about encryption?",
            letter.to_str().unwrap(),
            "--terms",
            "encryptie",
            "--local-model",
            crate::support::TEST_MODEL,
            "--out",
            out.path().to_str().unwrap(),
            "--no-progress",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let asked = PathBuf::from(stdout(&o).lines().last().unwrap().trim());
    let q = read(&asked.join("2024-09-18-offlimits-advies-kabinetsstandpunt/questions.json"));
    let evidence = q["answers"][0]["evidence"].as_array().unwrap();
    assert!(!evidence.is_empty(), "{q:#}");
    assert_eq!(
        q["english_from_run"].as_str(),
        dir.file_name().unwrap().to_str(),
        "{q:#}"
    );
    for e in evidence {
        assert!(
            matches!(
                e["en_from"].as_str(),
                Some("translation" | "translation_approx")
            ),
            "{e}"
        );
        assert!(
            english.contains(&one_line(e["quote_en"].as_str().unwrap())),
            "{e}"
        );
    }

    // A translator's edit, through XLIFF, is kept by the next run on the embedded model without
    // a call for it (and the rest of the letter answers from the cache).
    let xliff = out.path().join("xliff");
    let o = tolk(
        &root(),
        &[
            "export",
            "xliff",
            "--out",
            out.path().to_str().unwrap(),
            "--dest",
            xliff.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let file = xliff.join("2024-09-18-offlimits-advies-kabinetsstandpunt.xlf");
    let text = std::fs::read_to_string(&file).unwrap();
    let at = text.find("id=\"p7\"").expect("the salutation's unit");
    let t = at + text[at..].find("<target").unwrap();
    let open_end = t + text[t..].find('>').unwrap() + 1;
    let close = t + text[t..].find("</target>").unwrap();
    let edited = format!("{}Dear Ministers,{}", &text[..open_end], &text[close..]);
    std::fs::write(&file, edited).unwrap();
    let o = tolk(
        &root(),
        &[
            "import",
            "xliff",
            file.to_str().unwrap(),
            "--editor",
            "test",
            "--out",
            out.path().to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = tolk(
        &root(),
        &[
            "run",
            letter.to_str().unwrap(),
            "--tasks",
            "translate",
            "--local-model",
            crate::support::TEST_MODEL,
            "--out",
            out.path().to_str().unwrap(),
            "--no-progress",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("\n0 calls made"), "{}", stderr(&o));
    let again = PathBuf::from(stdout(&o).lines().last().unwrap().trim());
    let t = read(&again.join("2024-09-18-offlimits-advies-kabinetsstandpunt/translation.json"));
    let p7 = t["segments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "p7")
        .unwrap();
    assert_eq!(
        (p7["en"].as_str(), p7["origin"].as_str()),
        (Some("Dear Ministers,"), Some("human"))
    );
}

#[test]
fn the_catalogue_lists_both_models_and_an_unknown_name_is_refused_with_the_names() {
    let o = tolk(&root(), &["model", "list"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let list = stdout(&o);
    for name in ["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"] {
        assert!(list.contains(name), "{list}");
    }
    assert!(
        list.lines().any(|l| l.starts_with("* qwen2.5-coder-1.5b")),
        "the default is marked: {list}"
    );
    let o = tolk(&root(), &["model", "path", "qwen2.5-coder-0.5b"], &[]);
    assert!(
        stdout(&o)
            .trim()
            .ends_with("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
    );
    let o = tolk(&root(), &["model", "path", "gpt-5"], &[]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains(
            "\"gpt-5\" is not a model tolk can fetch (qwen2.5-coder-0.5b, qwen2.5-coder-1.5b)"
        ),
        "{}",
        stderr(&o)
    );
    // In the configuration too: named as the setting, before anything is fetched or loaded.
    let o = tolk(
        &root(),
        &["run", "--local-model", "gpt-5", "--dry-run"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("local.model"), "{}", stderr(&o));
    let o = tolk(
        &root(),
        &["model", "list"],
        &[("TOLK_LOCAL_MODEL", "qwen2.5-coder-0.5b")],
    );
    assert!(
        stdout(&o)
            .lines()
            .any(|l| l.starts_with("* qwen2.5-coder-0.5b")),
        "{}",
        stdout(&o)
    );
}

/// A plain request: translate `dutch`, at most `max_tokens`.
fn plain(system: &str, dutch: &str, max_tokens: u32) -> tolk::llm::ChatRequest {
    tolk::llm::ChatRequest {
        messages: vec![
            tolk::llm::Message::system(system.to_string()),
            tolk::llm::Message::user(dutch.to_string()),
        ],
        schema: None,
        plain: true,
        max_tokens: Some(max_tokens),
        temperature: Some(0.0),
        seed: None,
    }
}

#[test]
fn the_slots_serve_several_calls_at_once_each_with_its_own_answer_grammar_and_bound() {
    let Some(path) = model_or_skip("the slots test") else {
        return;
    };
    let _cores = heavy();
    // A KV cache per slot (a shared prefix copied, the default) and one unified cache (shared).
    for unified_cache in [false, true] {
        slots_serve_calls(&path, unified_cache);
    }
}

fn slots_serve_calls(path: &Path, unified_cache: bool) {
    use std::sync::atomic::Ordering;
    use tolk::llm::Provider;
    use tolk::llm::local::{LocalProvider, LocalSettings};
    let provider = std::sync::Arc::new(
        LocalProvider::start(LocalSettings {
            model_path: path.to_path_buf(),
            n_ctx: 2048,
            threads: None,
            default_max_tokens: 64,
            flash_attention: false,
            slots: 3,
            unified_cache,
            jump_forward: true,
        })
        .unwrap(),
    );
    // Each call's own answer: a code word repeated (the 0.5B model translates too unreliably
    // for a test to expect a given English word).
    let system = "Repeat the user's message exactly as written, and nothing else. Do not \
                  explain, do not translate, do not add quotes.";
    let schema = serde_json::json!({
        "type": "object",
        "properties": {"animal": {"type": "string", "enum": ["cat", "dog", "horse"]}},
        "required": ["animal"],
        "additionalProperties": false
    });
    let mut structured = plain(system, "Which animal says miaow? Answer in JSON.", 32);
    structured.plain = false;
    structured.schema = Some(tolk::llm::SchemaSpec {
        name: "animal".into(),
        schema,
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let calls = [
        plain(system, "KAT-1234", 16),
        plain(system, "HUIS-5678", 16),
        structured,
        // Cut at its bound.
        plain(
            system,
            "Het kabinet is tegen het scannen van berichten van burgers.",
            3,
        ),
        plain(system, "HOND-9012", 16),
        // Too long for one slot: refused, the others go on.
        plain(system, &"woord ".repeat(3000), 16),
    ];
    let replies = rt.block_on(async {
        // A call whose caller gives up at once (a cancelled run) must not hold a slot.
        let gone = provider.chat(&calls[1]);
        let _ = tokio::time::timeout(std::time::Duration::from_millis(1), gone).await;
        let futures: Vec<_> = calls.iter().map(|c| provider.chat(c)).collect();
        futures::future::join_all(futures).await
    });
    let text = |i: usize| replies[i].as_ref().unwrap().content.to_lowercase();
    eprintln!("unified_cache = {unified_cache}");
    assert!(text(0).contains("1234"), "{:?}", replies[0]);
    assert!(text(1).contains("5678"), "{:?}", replies[1]);
    assert!(text(4).contains("9012"), "{:?}", replies[4]);
    let animal: serde_json::Value = serde_json::from_str(&text(2)).expect("the grammar held");
    assert!(
        ["cat", "dog", "horse"].contains(&animal["animal"].as_str().unwrap()),
        "{animal}"
    );
    let cut = replies[3].as_ref().unwrap();
    assert_eq!(cut.finish_reason.as_deref(), Some("length"));
    assert_eq!(cut.usage.unwrap().completion_tokens, 3);
    assert!(
        matches!(replies[5], Err(tolk::llm::LlmError::ContextExceeded { .. })),
        "{:?}",
        replies[5]
    );
    for r in &replies[..5] {
        let u = r.as_ref().unwrap().usage.unwrap();
        assert!(u.prompt_tokens > 20 && u.completion_tokens > 0, "{u:?}");
    }
    // The system prompt was decoded once and shared with the other slots.
    let reused = provider.stats.reused_tokens.load(Ordering::Relaxed);
    assert!(reused >= 4 * 20, "{reused} prompt tokens reused");
}

/// The engine takes every queued call and gives a free slot the one that reuses a letter
/// already read: questions on a part that came far apart, with other calls queued between them,
/// find it in a cache and are taken before those others (and the slot that holds it is not the
/// one given up for them).
#[test]
fn questions_on_one_letter_queued_far_apart_read_it_once_and_go_first() {
    let Some(path) = model_or_skip("the shared-prefix order test") else {
        return;
    };
    let _cores = heavy();
    use std::sync::atomic::Ordering;
    let provider = slots_provider(&path, 2);
    let letter: String = (1..=30)
        .map(|i| {
            format!(
                "Artikel {i}: de regering stelt voor berichten van burgers te scannen, wat wij \
                 afwijzen.\n"
            )
        })
        .collect();
    let question = |q: &str| {
        plain(
            &format!(
                "Answer the question about this letter in English.\n<source>\n{letter}</source>"
            ),
            q,
            8,
        )
    };
    let mut calls = vec![question("Who wrote the letter?")];
    for i in 0..6 {
        calls.push(plain(
            &format!("Repeat the code word {i} times."),
            &format!("CODE-{i}{i}{i}"),
            8,
        ));
    }
    calls.push(question("What does the letter propose?"));
    calls.push(question("Is the author for or against?"));
    let (replies, order) = in_start_order(&provider, &calls);
    for r in &replies {
        assert!(
            r.as_ref().unwrap().usage.unwrap().completion_tokens > 0,
            "{r:?}"
        );
    }
    let at = |i: usize| order.iter().position(|&x| x == i).unwrap();
    // The two late questions were taken before the last calls queued ahead of them.
    assert!(
        at(7) < at(6) && at(8) < at(6),
        "admitted in the order {order:?}"
    );
    let letter_tokens = replies[0].as_ref().unwrap().usage.unwrap().prompt_tokens - 20;
    let reused = provider.stats.reused_tokens.load(Ordering::Relaxed);
    assert!(
        reused >= 2 * letter_tokens,
        "{reused} prompt tokens reused, the letter is about {letter_tokens}"
    );
}

/// A provider of `slots` slots on the model at `path`, for the order tests.
fn slots_provider(path: &std::path::Path, slots: u32) -> tolk::llm::local::LocalProvider {
    tolk::llm::local::LocalProvider::start(tolk::llm::local::LocalSettings {
        model_path: path.to_path_buf(),
        n_ctx: 2048,
        threads: None,
        default_max_tokens: 8,
        flash_attention: false,
        slots,
        unified_cache: false,
        jump_forward: true,
    })
    .unwrap()
}

/// Send `calls` at once, in their order; their replies, and the order in which slots took
/// them (each call exactly once).
fn in_start_order(
    provider: &tolk::llm::local::LocalProvider,
    calls: &[tolk::llm::ChatRequest],
) -> (
    Vec<Result<tolk::llm::Completion, tolk::llm::LlmError>>,
    Vec<usize>,
) {
    use std::sync::Mutex;
    use tolk::llm::Provider;
    let order: Mutex<Vec<usize>> = Mutex::new(Vec::new());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let replies = rt.block_on(async {
        let started: Vec<Box<dyn Fn() + Send + Sync + '_>> = (0..calls.len())
            .map(|i| {
                let order = &order;
                Box::new(move || order.lock().unwrap().push(i)) as Box<dyn Fn() + Send + Sync>
            })
            .collect();
        let futures: Vec<_> = calls
            .iter()
            .zip(&started)
            .map(|(c, s)| provider.chat_started(c, s.as_ref()))
            .collect();
        futures::future::join_all(futures).await
    });
    let order = order.into_inner().unwrap();
    assert_eq!(
        order.len(),
        calls.len(),
        "every call was started once: {order:?}"
    );
    (replies, order)
}

/// Of queued calls that share no letter, the one that may run longest is taken first: a long
/// call that comes late (a summary's last call, once its notes are in) does not wait behind
/// every short one queued before it and then run alone at the end of a run.
#[test]
fn a_long_call_queued_behind_short_ones_is_taken_first() {
    let Some(path) = model_or_skip("the longest-first order test") else {
        return;
    };
    let _cores = heavy();
    let provider = slots_provider(&path, 1);
    let mut calls: Vec<tolk::llm::ChatRequest> = (0..6)
        .map(|i| {
            plain(
                "Translate the user's Dutch text into English.",
                &format!("Bericht nummer {i}."),
                4,
            )
        })
        .collect();
    calls.push(plain(
        "Summarise the user's Dutch text in English.",
        "De regering wil alle berichten van burgers scannen. Wij zijn daartegen.",
        24,
    ));
    let (replies, order) = in_start_order(&provider, &calls);
    for r in &replies {
        assert!(r.is_ok(), "{r:?}");
    }
    // One slot: at most the call that found it free goes before the long one.
    let long = order.iter().position(|&x| x == 6).unwrap();
    assert!(long <= 1, "admitted in the order {order:?}");
}

/// Once the first words of a quote leave one of the letter's sentences, the rest of it is not
/// chosen token by token but decoded in one step, and so are the keys, colons and commas the
/// grammar decides: the reply quotes the same sentences in the same layout as without jumping
/// forward (the forced layout is the model's own), every token is counted, and a bound that
/// falls inside the quote still holds. The stance may differ: forced, a key is the tokenizer's
/// tokens (`stance`), where the model under the grammar picks pieces (`s`, `ta`, `n`, `ce`),
/// and on this 0.5B model the stance that follows is on the edge.
#[test]
fn a_quote_told_apart_by_its_first_words_is_decoded_at_once_and_the_reply_is_the_same() {
    let Some(path) = model_or_skip("the jump-forward test") else {
        return;
    };
    let _cores = heavy();
    use std::sync::atomic::Ordering;
    use tolk::llm::Provider;
    let sentences = [
        "Het kabinet is tegen het scannen van alle berichten van burgers, omdat dat de \
         vertrouwelijkheid van hun communicatie aantast.",
        "Wij steunen de aanpak van seksueel misbruik van kinderen, maar niet met middelen die \
         de versleuteling van iedereen verzwakken.",
        "De Europese Commissie heeft haar voorstel in mei 2022 gepresenteerd.",
    ];
    let schema = serde_json::json!({
        "type": "object",
        "properties": {
            "evidence": {"type": "array", "maxItems": 2, "items": {
                "type": "object",
                "properties": {"quote_nl": {"enum": sentences}},
                "required": ["quote_nl"],
                "additionalProperties": false
            }},
            "stance": {"enum": ["support", "oppose", "mixed"]},
            "confidence": {"type": "number", "enum": [0.0, 0.5, 0.9, 1.0]}
        },
        "required": ["evidence", "stance", "confidence"],
        "additionalProperties": false
    });
    let ask = |max_tokens: u32| {
        let mut r = plain(
            "Quote the sentence of the letter that says what the cabinet is against, and say \
             whether the letter supports scanning all messages. Answer in JSON.",
            &sentences.join(" "),
            max_tokens,
        );
        r.plain = false;
        r.schema = Some(tolk::llm::SchemaSpec {
            name: "quote".into(),
            schema: schema.clone(),
        });
        r
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut quoted = Vec::new();
    for jump_forward in [false, true] {
        let provider = tolk::llm::local::LocalProvider::start(tolk::llm::local::LocalSettings {
            model_path: path.to_path_buf(),
            n_ctx: 2048,
            threads: None,
            default_max_tokens: 64,
            flash_attention: false,
            slots: 1,
            unified_cache: false,
            jump_forward,
        })
        .unwrap();
        let reply = rt.block_on(provider.chat(&ask(192))).unwrap();
        let value: serde_json::Value =
            serde_json::from_str(&reply.content).unwrap_or_else(|e| panic!("{e}: {reply:?}"));
        let quote = value["evidence"][0]["quote_nl"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(sentences.contains(&quote.as_str()), "{quote}");
        let forced = provider.stats.forced_tokens.load(Ordering::Relaxed);
        let generated = provider.stats.generated_tokens.load(Ordering::Relaxed);
        assert_eq!(
            reply.usage.unwrap().completion_tokens,
            generated,
            "every token counted once"
        );
        if jump_forward {
            assert!(
                forced >= 10 && forced < generated,
                "{forced} of {generated} tokens forced"
            );
            // A bound inside the quote: cut there, at exactly the bound.
            let cut = rt.block_on(provider.chat(&ask(16))).unwrap();
            assert_eq!(cut.finish_reason.as_deref(), Some("length"), "{cut:?}");
            assert_eq!(cut.usage.unwrap().completion_tokens, 16, "{cut:?}");
        } else {
            assert_eq!(forced, 0);
        }
        // The layout and the quotes: the reply with its stance and confidence blanked.
        let mut shape = reply.content.clone();
        for (key, v) in [
            ("stance", &value["stance"]),
            ("confidence", &value["confidence"]),
        ] {
            shape = shape.replace(&format!("\"{key}\": {v}"), &format!("\"{key}\": _"));
        }
        quoted.push(shape);
    }
    assert_eq!(
        quoted[0], quoted[1],
        "the same quotes and layout either way"
    );
}
