//! The embedded model's throughput on this machine: prompt processing and generation, tokens
//! per second, with and without a grammar; and, for every catalogued model that is here, the
//! aggregate generation speed when 1, 2, 4 or 8 sequences are decoded in one batch (what
//! llama.cpp's batched-bench measures; its sources are not among those llama-cpp-2 vendors).
//! Then the provider itself with 1, 2 and 4 slots serving the same 12 paragraph translations
//! at once (tolk's segment mode): wall time and aggregate tokens/s, what the run sees.
//! Needs the model (tolk model fetch); prints figures. `BENCH_ONLY_BATCHED=1`: only those.
//! `BENCH_LONG=1`: only generation with four long contexts, one KV cache for all slots against
//! one per slot (some twelve minutes for the default model). `BENCH_UNIFIED=1`: the slots of
//! the provider share one unified KV cache (default: one per slot, as tolk runs).
//! `BENCH_JUMP=0`: the single-slot cases without jump-forward decoding (the rest of a quoted
//! sentence chosen token by token); `BENCH_SHOW=1` prints their replies. `BENCH_MODEL=NAME`
//! (`none`: no catalogued model) narrows the batched parts; `BENCH_SKIP_RAW=1` skips llama.cpp
//! alone.
//! Targets on the 2-core reference machine: prompt >= 150 tok/s, generation >= 45 tok/s.
//!
//! `cargo bench --bench local`

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tolk::llm::local::{LocalProvider, LocalSettings};
use tolk::llm::{ChatRequest, Message, Provider, SchemaSpec};

fn main() {
    if std::env::var_os("BENCH_LONG").is_some() {
        let m = tolk::model_store::DEFAULT;
        if m.is_present() {
            long_contexts(m.name, &m.path(), 2);
        } else {
            println!("{}: not fetched; not measured", m.name);
        }
        return;
    }
    let threads_batched: i32 = std::env::var("BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let only: Option<String> = std::env::var("BENCH_MODEL").ok();
    for m in tolk::model_store::CATALOGUE {
        if only.as_deref().is_some_and(|o| o != m.name) {
            continue;
        }
        if m.is_present() {
            if std::env::var_os("BENCH_ONLY_SLOTS").is_none() {
                batched(m.name, &m.path(), threads_batched);
            }
            slots(m.name, &m.path());
        } else {
            println!(
                "{}: not fetched (tolk model fetch {}); not measured",
                m.name, m.name
            );
        }
    }
    if std::env::var_os("BENCH_ONLY_BATCHED").is_some() {
        return;
    }
    let path = tolk::model_store::DEFAULT.path();
    if !path.is_file() {
        println!(
            "no model at {} (tolk model fetch); nothing measured",
            path.display()
        );
        return;
    }
    let threads: Option<i32> = std::env::var("BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok());
    if std::env::var_os("BENCH_SKIP_RAW").is_none() {
        raw_llama(&path, threads.unwrap_or(2));
        if std::env::var_os("BENCH_ONLY_RAW").is_some() {
            return;
        }
    }
    let t = Instant::now();
    let provider = Arc::new(
        LocalProvider::start(LocalSettings {
            model_path: path,
            n_ctx: 8192,
            threads,
            default_max_tokens: 256,
            flash_attention: std::env::var("BENCH_FA").as_deref() == Ok("1"),
            slots: 1,
            unified_cache: false,
            jump_forward: std::env::var("BENCH_JUMP").as_deref() != Ok("0"),
        })
        .unwrap(),
    );
    println!("model load: {:.2} s", t.elapsed().as_secs_f64());
    let letter = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/input/2024-09-18-offlimits-advies-kabinetsstandpunt.txt"
    ))
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // A stance question as the embedded model gets it: quotes an enum of the letter's sentences
    // (most of their tokens forced once the first words tell them apart, unless BENCH_JUMP=0).
    let segs: Vec<tolk::tasks::Segment> = letter
        .split("\n\n")
        .filter(|p| p.len() > 120)
        .enumerate()
        .map(|(i, p)| tolk::tasks::Segment {
            id: format!("p{}", i + 1),
            paragraph: format!("p{}", i + 1),
            kind: tolk::ingest::Kind::Body,
            byte_range: [0, 0],
            lines: [0, 0],
            spans: Vec::new(),
            text: p.to_string(),
        })
        .collect();
    let sentences = tolk::tasks::stance::sentences(&segs);
    let cases = [
        (
            "free text",
            None,
            "Summarise this letter in English in detail.",
        ),
        (
            "JSON Schema grammar",
            Some(
                serde_json::json!({"type": "object", "properties": {"summary_en": {"type": "string"}, "points": {"type": "array", "items": {"type": "string"}}}, "required": ["summary_en", "points"], "additionalProperties": false}),
            ),
            "Summarise this letter in English in detail.",
        ),
        (
            "quoting the letter (an enum of its sentences)",
            Some(tolk::tasks::stance::topic_schema(Some(&sentences), true)),
            "What is this letter's stance on end-to-end encryption? Quote the sentences that \
             show it, each with its English.",
        ),
    ];
    for (name, schema, question) in cases {
        let before = (
            provider.stats.prompt_tokens.load(Ordering::Relaxed),
            provider.stats.prompt_micros.load(Ordering::Relaxed),
            provider.stats.generated_tokens.load(Ordering::Relaxed),
            provider.stats.generate_micros.load(Ordering::Relaxed),
            provider.stats.sample_micros.load(Ordering::Relaxed),
            provider.stats.shortlist_picks.load(Ordering::Relaxed),
            provider.stats.vocabulary_picks.load(Ordering::Relaxed),
            provider.stats.forced_tokens.load(Ordering::Relaxed),
        );
        let request = ChatRequest {
            messages: vec![
                Message::system(format!(
                    "You read Dutch letters and answer in English. ({name})"
                )),
                Message::user(format!("{question}\n\n{letter}")),
            ],
            schema: schema.map(|s| SchemaSpec {
                name: "bench".into(),
                schema: s,
            }),
            max_tokens: Some(256),
            temperature: Some(0.0),
            seed: None,
            plain: false,
        };
        let wall = Instant::now();
        let c = rt.block_on(provider.chat(&request)).unwrap();
        let wall = wall.elapsed().as_secs_f64();
        let s = &provider.stats;
        let pt = s.prompt_tokens.load(Ordering::Relaxed) - before.0;
        let pu = s.prompt_micros.load(Ordering::Relaxed) - before.1;
        let gt = s.generated_tokens.load(Ordering::Relaxed) - before.2;
        let gu = s.generate_micros.load(Ordering::Relaxed) - before.3;
        let su = s.sample_micros.load(Ordering::Relaxed) - before.4;
        let shortlist = s.shortlist_picks.load(Ordering::Relaxed) - before.5;
        let vocabulary = s.vocabulary_picks.load(Ordering::Relaxed) - before.6;
        let forced = s.forced_tokens.load(Ordering::Relaxed) - before.7;
        println!(
            "{name}: prompt {pt} tokens at {:.0} tok/s; generation {gt} tokens ({forced} forced) \
             at {:.1} tok/s, {:.1} s after the prompt, {wall:.1} s in all (choosing a token \
             {:.2} ms each; grammar: {shortlist} from the shortlist, {vocabulary} over the \
             vocabulary; finish {:?})",
            pt as f64 / (pu as f64 / 1e6),
            gt as f64 / (gu as f64 / 1e6),
            gu as f64 / 1e6,
            su as f64 / 1000.0 / (gt - forced).max(1) as f64,
            c.finish_reason
        );
        if std::env::var_os("BENCH_SHOW").is_some() {
            println!("{}", c.content);
        }
    }
}

/// llama.cpp alone, as its own llama-bench measures it: pp512 (one 512-token prompt decoded in
/// one batch) and tg128 (128 single-token decodes, no sampling), after a warm-up, from an empty
/// context. The gap between these and the provider's figures is tolk's own loop (templating,
/// sampling, grammar) and the longer prompt.
fn raw_llama(path: &std::path::Path, threads: i32) {
    use llama_cpp_2::context::params::LlamaContextParams;
    use llama_cpp_2::llama_backend::LlamaBackend;
    use llama_cpp_2::llama_batch::LlamaBatch;
    use llama_cpp_2::model::LlamaModel;
    use llama_cpp_2::model::params::LlamaModelParams;
    use llama_cpp_2::token::LlamaToken;
    use std::num::NonZeroU32;

    let mut backend = LlamaBackend::init().unwrap();
    backend.void_logs();
    let model = LlamaModel::load_from_file(&backend, path, &LlamaModelParams::default()).unwrap();
    let ubatch: u32 = std::env::var("BENCH_UBATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    // Flash attention: -1 auto (llama.cpp's default), 0 off, 1 on; KV cache type f16 or q8_0.
    let fa: i32 = std::env::var("BENCH_FA")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1);
    let kv = match std::env::var("BENCH_KV").as_deref() {
        Ok("q8_0") => llama_cpp_2::context::params::KvCacheType::Q8_0,
        _ => llama_cpp_2::context::params::KvCacheType::F16,
    };
    let params = LlamaContextParams::default()
        .with_flash_attention_policy(fa)
        .with_type_k(kv)
        .with_type_v(kv)
        .with_n_ctx(NonZeroU32::new(2048))
        .with_n_batch(512)
        .with_n_ubatch(ubatch)
        .with_n_threads(threads)
        .with_n_threads_batch(threads);
    let mut ctx = model.new_context(&backend, params).unwrap();
    let mut batch = LlamaBatch::new(512, 1);
    let pp = |ctx: &mut llama_cpp_2::context::LlamaContext<'_>, batch: &mut LlamaBatch| {
        ctx.clear_kv_cache_seq(Some(0), None, None).unwrap();
        batch.clear();
        for i in 0..512 {
            batch
                .add(LlamaToken(1000 + (i * 7919) % 50_000), i, &[0], i == 511)
                .unwrap();
        }
        let t = Instant::now();
        ctx.decode(batch).unwrap();
        512.0 / t.elapsed().as_secs_f64()
    };
    // tg128 at a given depth: the context first holds `depth` tokens, as it does when tolk
    // generates after a letter (llama-bench's -d).
    let tg =
        |ctx: &mut llama_cpp_2::context::LlamaContext<'_>, batch: &mut LlamaBatch, depth: i32| {
            ctx.clear_kv_cache_seq(Some(0), None, None).unwrap();
            let mut pos = 0;
            while pos < depth {
                batch.clear();
                let end = (pos + 512).min(depth);
                for i in pos..end {
                    batch
                        .add(
                            LlamaToken(1000 + (i * 7919) % 50_000),
                            i,
                            &[0],
                            i == end - 1,
                        )
                        .unwrap();
                }
                ctx.decode(batch).unwrap();
                pos = end;
            }
            let t = Instant::now();
            for i in 0..128 {
                batch.clear();
                batch
                    .add(LlamaToken(1000 + i * 31), depth + i, &[0], true)
                    .unwrap();
                ctx.decode(batch).unwrap();
            }
            128.0 / t.elapsed().as_secs_f64()
        };
    pp(&mut ctx, &mut batch);
    let pps: Vec<f64> = (0..3).map(|_| pp(&mut ctx, &mut batch)).collect();
    let tgs: Vec<f64> = (0..3).map(|_| tg(&mut ctx, &mut batch, 0)).collect();
    let deep: Vec<f64> = (0..2).map(|_| tg(&mut ctx, &mut batch, 1700)).collect();
    let show = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.0}"))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    println!(
        "llama.cpp alone, {threads} threads, ubatch {ubatch}, flash attention {fa}, KV {kv:?}: pp512 {} tok/s; tg128 {} tok/s; tg128 after 1700 tokens {} tok/s",
        show(&pps),
        show(&tgs),
        show(&deep)
    );
}

/// Aggregate generation speed with `npl` sequences decoded together: a shared prompt of `PP`
/// tokens decoded once in sequence 0 and copied to the others (`seq_cp`, as tolk would share a
/// system prompt and a letter), then `TG` steps of one batch holding one token per sequence.
fn batched(name: &str, path: &std::path::Path, threads: i32) {
    use llama_cpp_2::context::params::LlamaContextParams;
    use llama_cpp_2::llama_backend::LlamaBackend;
    use llama_cpp_2::llama_batch::LlamaBatch;
    use llama_cpp_2::model::LlamaModel;
    use llama_cpp_2::model::params::LlamaModelParams;
    use llama_cpp_2::token::LlamaToken;
    use std::num::NonZeroU32;
    const PP: i32 = 512;
    const TG: i32 = 64;
    let mut backend = LlamaBackend::init().unwrap();
    backend.void_logs();
    let model = LlamaModel::load_from_file(&backend, path, &LlamaModelParams::default()).unwrap();
    let mut rows = Vec::new();
    for npl in [1i32, 2, 4, 8] {
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(
                ((PP + TG * npl) as u32).next_multiple_of(256) + 256,
            ))
            .with_n_batch(512)
            .with_n_ubatch(512)
            .with_n_seq_max(npl as u32)
            .with_kv_unified(true)
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        let mut ctx = model.new_context(&backend, params).unwrap();
        let mut batch = LlamaBatch::new(512, npl);
        batch.clear();
        for i in 0..PP {
            batch
                .add(LlamaToken(1000 + (i * 7919) % 50_000), i, &[0], i == PP - 1)
                .unwrap();
        }
        let t0 = Instant::now();
        ctx.decode(&mut batch).unwrap();
        for s in 1..npl {
            ctx.copy_kv_cache_seq(0, s, None, None).unwrap();
        }
        let prompt_s = t0.elapsed().as_secs_f64();
        let secs = timed_steps(&mut ctx, &mut batch, npl, PP, TG);
        let aggregate = f64::from(npl * TG) / secs;
        rows.push((npl, aggregate));
        println!(
            "{name}: {npl} sequences, {threads} threads: shared prompt of {PP} tokens {:.0} tok/s; generation {:.1} tok/s in all, {:.1} per sequence",
            f64::from(PP) / prompt_s,
            aggregate,
            aggregate / f64::from(npl)
        );
    }
    let one = rows[0].1;
    let summary: Vec<String> = rows
        .iter()
        .map(|(n, a)| format!("{n}: {:.2}x", a / one))
        .collect();
    println!(
        "{name}: aggregate generation against one sequence: {}",
        summary.join(", ")
    );
}

/// `steps` decodes of one batch holding a token for each of sequences `0..seqs`, from position
/// `from` on, with no sampling (what batched-bench times): seconds.
fn timed_steps(
    ctx: &mut llama_cpp_2::context::LlamaContext<'_>,
    batch: &mut llama_cpp_2::llama_batch::LlamaBatch,
    seqs: i32,
    from: i32,
    steps: i32,
) -> f64 {
    let t = Instant::now();
    for step in 0..steps {
        batch.clear();
        for s in 0..seqs {
            let token = llama_cpp_2::token::LlamaToken(1000 + (step * 31 + s * 17) % 50_000);
            batch.add(token, from + step, &[s], true).unwrap();
        }
        ctx.decode(batch).unwrap();
    }
    t.elapsed().as_secs_f64()
}

/// Generation in four sequences that each hold a context of `L` tokens, as when the slots ask
/// questions of a long letter: in one unified KV cache and in one cache per sequence, with the
/// four contexts distinct (questions of different parts) or one context shared (questions of
/// one part). llama.cpp attends over every cell in use up to the highest one in the cache a
/// sequence lives in, so in a unified cache each token's attention spans all four contexts.
fn long_contexts(name: &str, path: &std::path::Path, threads: i32) {
    use llama_cpp_2::context::params::LlamaContextParams;
    use llama_cpp_2::llama_backend::LlamaBackend;
    use llama_cpp_2::llama_batch::LlamaBatch;
    use llama_cpp_2::model::LlamaModel;
    use llama_cpp_2::model::params::LlamaModelParams;
    use llama_cpp_2::token::LlamaToken;
    use std::num::NonZeroU32;
    const L: i32 = 4096;
    const TG: i32 = 48;
    const N: i32 = 4;
    let mut backend = LlamaBackend::init().unwrap();
    backend.void_logs();
    let model = LlamaModel::load_from_file(&backend, path, &LlamaModelParams::default()).unwrap();
    for (unified, distinct) in [(true, true), (false, true), (true, false), (false, false)] {
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(8192 * N as u32))
            .with_n_batch(512)
            .with_n_ubatch(512)
            .with_n_seq_max(N as u32)
            .with_kv_unified(unified)
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        let mut ctx = model.new_context(&backend, params).unwrap();
        let mut batch = LlamaBatch::new(512, N);
        let t0 = Instant::now();
        for s in 0..if distinct { N } else { 1 } {
            for start in (0..L).step_by(512) {
                batch.clear();
                for i in start..(start + 512).min(L) {
                    let token = LlamaToken(1000 + (i * 7919 + s * 104_729) % 50_000);
                    batch.add(token, i, &[s], i == L - 1).unwrap();
                }
                ctx.decode(&mut batch).unwrap();
            }
        }
        if !distinct {
            for s in 1..N {
                ctx.copy_kv_cache_seq(0, s, None, None).unwrap();
            }
        }
        let prompt_s = t0.elapsed().as_secs_f64();
        let secs = timed_steps(&mut ctx, &mut batch, N, L, TG);
        println!(
            "{name}: {N} sequences of {L} tokens ({}), {}: generation {:.1} tok/s in all ({:.0} ms a step); contexts read in {prompt_s:.0} s",
            if distinct {
                "four contexts"
            } else {
                "one context shared"
            },
            if unified {
                "one unified KV cache"
            } else {
                "one KV cache per sequence"
            },
            f64::from(N * TG) / secs,
            secs * 1000.0 / f64::from(TG),
        );
    }
}

/// The provider with 1, 2 and 4 slots, given the same twelve paragraphs of the Offlimits letter
/// to translate at once, as segment mode sends them: wall time, prompt tokens decoded and
/// reused, aggregate generation.
fn slots(name: &str, path: &std::path::Path) {
    let letter = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/input/2024-09-18-offlimits-advies-kabinetsstandpunt.txt"
    ))
    .unwrap();
    let paragraphs: Vec<String> = letter
        .split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| p.len() > 120)
        .take(12)
        .collect();
    let system = "You translate Dutch letters about the EU regulation against online child \
                  sexual abuse into English. Translate the user's Dutch text into English. \
                  Reply with the English translation only.";
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut one = None;
    let counts: Vec<u32> = std::env::var("BENCH_SLOTS")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 2, 4]);
    for n in counts {
        let provider = LocalProvider::start(LocalSettings {
            model_path: path.to_path_buf(),
            n_ctx: 4096,
            threads: None,
            default_max_tokens: 256,
            flash_attention: false,
            slots: n,
            unified_cache: std::env::var("BENCH_UNIFIED").as_deref() == Ok("1"),
            jump_forward: true,
        })
        .unwrap();
        let requests: Vec<ChatRequest> = paragraphs
            .iter()
            .map(|p| ChatRequest {
                messages: vec![Message::system(system), Message::user(p.clone())],
                schema: None,
                max_tokens: Some(192),
                temperature: Some(0.0),
                seed: None,
                plain: true,
            })
            .collect();
        let t = Instant::now();
        let replies = rt.block_on(futures::future::join_all(
            requests.iter().map(|r| provider.chat(r)),
        ));
        let secs = t.elapsed().as_secs_f64();
        let generated: u64 = replies
            .iter()
            .map(|r| r.as_ref().unwrap().usage.unwrap().completion_tokens)
            .sum();
        let s = &provider.stats;
        let base = *one.get_or_insert(secs);
        println!(
            "{name}: {n} slots, {} paragraphs: {secs:.1} s ({:.2}x against 1 slot); {} prompt tokens decoded, {} reused; {generated} generated, {:.1} tok/s in all; decoding prompts {:.1} s, generating {:.1} s of which choosing tokens {:.1} s",
            paragraphs.len(),
            base / secs,
            s.prompt_tokens.load(Ordering::Relaxed),
            s.reused_tokens.load(Ordering::Relaxed),
            generated as f64 / secs,
            s.prompt_micros.load(Ordering::Relaxed) as f64 / 1e6,
            s.generate_micros.load(Ordering::Relaxed) as f64 / 1e6,
            s.sample_micros.load(Ordering::Relaxed) as f64 / 1e6,
        );
    }
}
