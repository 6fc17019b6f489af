//! Summary and stance asked per question (`analysis.mode = "per_question"`): the letter first,
//! one question after it, one stance call per topic, against the fake server.

use crate::support::fake_llm::{FakeConfig, FakeThread, Recorded};
use crate::support::{root, stderr, stdout, tolk};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn run(out: &Path, fake: &FakeThread, letter: &str, extra: &[&str]) -> std::process::Output {
    run_with(out, fake, letter, extra, &[])
}

fn run_with(
    out: &Path,
    fake: &FakeThread,
    letter: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    let mut args = vec![
        "run",
        letter,
        "--endpoint",
        &fake.base_url,
        "--model",
        "fake-a",
        "--tasks",
        "summary,stance",
        "--no-progress",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    tolk(&root(), &args, env)
}

fn read(path: PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn topics_asked(requests: &[Recorded]) -> usize {
    requests
        .iter()
        .filter(|r| title(r) == "tolk.stance_topic")
        .count()
}

fn title(r: &Recorded) -> String {
    r.body["response_format"]["json_schema"]["schema"]["title"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// The system prompt and the user message up to its question.
fn before_question(r: &Recorded) -> (String, String) {
    let m = r.body["messages"].as_array().unwrap();
    let user = m[1]["content"].as_str().unwrap();
    let (head, _) = user
        .split_once("\nQuestion: ")
        .expect("a question after the letter");
    (
        m[0]["content"].as_str().unwrap().to_string(),
        head.to_string(),
    )
}

#[test]
fn every_question_follows_the_same_letter_and_each_topic_is_its_own_call() {
    const LETTER: &str = "input/2024-09-18-offlimits-advies-kabinetsstandpunt.txt";
    let fake = FakeThread::start(FakeConfig::default());
    let out = tempfile::tempdir().unwrap();
    let o = run(
        out.path(),
        &fake,
        LETTER,
        &["--analysis-mode", "per_question"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let requests = fake.chat_requests();
    let topics = requests
        .iter()
        .filter(|r| title(r) == "tolk.stance_topic")
        .count();
    let overall = requests
        .iter()
        .filter(|r| title(r) == "tolk.stance_overall")
        .count();
    let summary = requests
        .iter()
        .filter(|r| title(r) == "tolk.summary")
        .count();
    // The letter fits one part: one summary, one overall question, one per topic it mentions:
    // 9 of 11 (it uses no word of grooming's or the EU Centre's terms).
    assert_eq!((summary, overall, topics), (1, 1, 9), "{requests:#?}");
    assert_eq!(requests.len(), 11);
    // Everything before the question is the same in all 11: the letter is read once.
    let first = before_question(&requests[0]);
    assert!(first.1.contains("<source>") && first.1.contains("Hongaarse"));
    for r in &requests {
        assert_eq!(before_question(r), first, "{}", title(r));
    }
    // Each topic's question names its topic only, and its answer quotes, reasons and then judges.
    let mut asked: Vec<String> = Vec::new();
    for r in requests.iter().filter(|r| title(r) == "tolk.stance_topic") {
        let user = r.body["messages"][1]["content"].as_str().unwrap();
        let q = user.split_once("\nQuestion: ").unwrap().1;
        assert!(q.contains("stance on "), "{q}");
        asked.push(q.to_string());
        let schema = &r.body["response_format"]["json_schema"]["schema"];
        let order: Vec<&str> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(order, ["evidence", "rationale_en", "stance", "confidence"]);
    }
    asked.sort();
    asked.dedup();
    assert_eq!(asked.len(), 9, "a different question for every topic");

    let dir = PathBuf::from(stdout(&o).trim());
    let stance = read(dir.join("2024-09-18-offlimits-advies-kabinetsstandpunt/stance.json"));
    let topics_out = stance["topics"].as_array().unwrap();
    assert_eq!(topics_out.len(), 11);
    assert!(topics_out.iter().all(|t| t["rationale_en"].is_string()));
    let unasked: Vec<&str> = topics_out
        .iter()
        .filter(|t| {
            t["rationale_en"]
                .as_str()
                .unwrap()
                .starts_with("The text uses none of this topic's terms")
        })
        .map(|t| {
            assert_eq!(t["stance"], "not_addressed", "{t}");
            assert!(t["evidence"].as_array().unwrap().is_empty());
            t["topic"].as_str().unwrap()
        })
        .collect();
    assert_eq!(unasked, ["grooming", "eu_centre"]);
    assert!(stance["overall"]["stance"].is_string());
    let summary = read(dir.join("2024-09-18-offlimits-advies-kabinetsstandpunt/summary.json"));
    assert!(!summary["key_points"].as_array().unwrap().is_empty());
    let m = read(dir.join("manifest.json"));
    assert_eq!(m["params"]["analysis_mode"], "per_question", "{m}");
    assert_eq!(m["exit_status"], 0);

    // A rerun is free; the combined mode asks again (other prompts), in one stance call.
    fake.clear();
    let o = run(
        out.path(),
        &fake,
        LETTER,
        &["--analysis-mode", "per_question"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(fake.chat_requests().len(), 0);
    let o = run(out.path(), &fake, LETTER, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let combined = fake.chat_requests();
    assert_eq!(
        combined
            .iter()
            .filter(|r| title(r) == "tolk.stance")
            .count(),
        1
    );
    let m = read(PathBuf::from(stdout(&o).trim()).join("manifest.json"));
    assert_eq!(m["params"]["analysis_mode"], "combined");
}

#[test]
fn a_long_letter_is_asked_in_a_few_parts_and_the_dry_run_counts_its_calls() {
    const LETTER: &str = "input/undated-europese-commissie-antwoord-eerste-kamer.txt";
    let fake = FakeThread::start(FakeConfig::default());
    let out = tempfile::tempdir().unwrap();
    // An endpoint of 8,192 tokens: the letter's twelve chunks do not fit one call.
    let env = [("TOLK_ENDPOINT_CONTEXT_TOKENS", "8192")];
    let args = ["--analysis-mode", "per_question"];
    let plan = run_with(
        out.path(),
        &fake,
        LETTER,
        &["--analysis-mode", "per_question", "--dry-run"],
        &env,
    );
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    let plan = stdout(&plan);
    let o = run_with(out.path(), &fake, LETTER, &args, &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let requests = fake.chat_requests();
    let overall = requests
        .iter()
        .filter(|r| title(r) == "tolk.stance_overall")
        .count();
    let notes = requests
        .iter()
        .filter(|r| title(r) == "tolk.summary_notes")
        .count();
    assert!(overall > 1 && overall < 12, "{overall} parts");
    assert!(
        topics_asked(&requests) > 11,
        "every part is asked about the topics it mentions"
    );
    assert_eq!(notes, overall, "the notes are taken on the same parts");
    let planned = format!(
        "{} calls (0 cached, {} to make)",
        requests.len(),
        requests.len()
    );
    assert!(plan.contains(&planned), "{planned}\n{plan}");
    // Within a part, every question follows the same text; the parts differ.
    let mut prefixes: Vec<(String, String)> = requests
        .iter()
        .filter(|r| title(r) != "tolk.summary")
        .map(before_question)
        .collect();
    prefixes.sort();
    prefixes.dedup();
    assert_eq!(prefixes.len(), overall);
    let dir = PathBuf::from(stdout(&o).trim());
    let stance = read(dir.join("undated-europese-commissie-antwoord-eerste-kamer/stance.json"));
    assert_eq!(stance["topics"].as_array().unwrap().len(), 11);
    // Every quote the fake gave is a sentence of the letter, found at its lines.
    for t in stance["topics"].as_array().unwrap() {
        for e in t["evidence"].as_array().unwrap() {
            assert_eq!(e["match"], "exact", "{e}");
        }
    }
}

/// The topics' terms find the gold judgements: nearly every judgement of `eval/stance_gold.json`
/// that says a letter addresses a topic (its line is not null) is in a letter that uses one of
/// the topic's terms, so the topics a letter does not mention are rarely ones it addresses.
#[test]
fn the_topics_terms_are_in_nearly_every_letter_that_addresses_the_topic() {
    let prompts = tolk::prompt::PromptSet::load(None).unwrap();
    let gold: Value = read(root().join("eval/stance_gold.json"));
    let (mut addressed, mut found, mut unmentioned, mut right) = (0, 0, 0, 0);
    for letter in gold["letters"].as_array().unwrap() {
        let id = letter["doc_id"].as_str().unwrap();
        let doc = tolk::ingest::read(&root().join(format!("input/{id}.txt"))).unwrap();
        for t in &prompts.topics {
            let g = &letter["topics"][&t.id];
            let mentioned = t.mentioned_in(&doc.text);
            if g["line"].is_null() {
                continue;
            }
            addressed += 1;
            found += usize::from(mentioned);
        }
        for t in &prompts.topics {
            if !t.mentioned_in(&doc.text) {
                unmentioned += 1;
                right += usize::from(letter["topics"][&t.id]["stance"] == "not_addressed");
            }
        }
    }
    assert_eq!(addressed, 41);
    assert!(found >= 40, "{found} of {addressed}");
    // Of the topics a letter does not mention, most are not addressed in the gold labels.
    assert!(
        unmentioned >= 4 && right * 5 >= unmentioned * 4,
        "{right} of {unmentioned}"
    );
}
