//! The embedded model: a GGUF model run in-process by llama.cpp (the llama-cpp-2 crate), behind
//! the same [`Provider`] trait as any endpoint.
//!
//! One worker thread owns the model and its context; calls are queued to it (on two cores,
//! parallel generation does not help). The chat template comes from the GGUF. A request's JSON
//! Schema becomes a grammar (llama.cpp's json_schema_to_grammar), so structured output always
//! parses. The KV cache of the previous prompt is kept: a new prompt that shares a prefix with it
//! (the same system prompt, the same document) only decodes what is new.

use super::{BoxFuture, ChatRequest, Completion, LlmError, Provider, ProviderInfo, Usage};
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// How to run the embedded model.
#[derive(Debug, Clone)]
pub struct LocalSettings {
    pub model_path: PathBuf,
    /// Context size in tokens.
    pub n_ctx: u32,
    /// CPU threads (default: all cores).
    pub threads: Option<i32>,
    /// max_tokens when a request does not say.
    pub default_max_tokens: u32,
    /// llama.cpp's flash attention. Off by default: on this kind of CPU it makes generation
    /// after a long prompt about a fifth slower (`cargo bench --bench local`).
    pub flash_attention: bool,
}

/// Throughput counters (for the progress display and the benchmark).
#[derive(Debug, Default)]
pub struct LocalStats {
    pub prompt_tokens: AtomicU64,
    /// Prompt tokens found in the KV cache and not decoded again.
    pub reused_tokens: AtomicU64,
    pub prompt_micros: AtomicU64,
    pub generated_tokens: AtomicU64,
    pub generate_micros: AtomicU64,
    /// Time spent choosing tokens (logits, penalty, grammar), part of `generate_micros`.
    pub sample_micros: AtomicU64,
    /// Generated tokens for which the best token was refused by the grammar and one of the
    /// shortlist was taken, and those for which the whole vocabulary had to be checked.
    pub shortlist_picks: AtomicU64,
    pub vocabulary_picks: AtomicU64,
}

impl LocalStats {
    /// Prompt processing and generation speed, tokens per second.
    pub fn speeds(&self) -> (f64, f64) {
        let rate = |t: &AtomicU64, us: &AtomicU64| {
            let us = us.load(Ordering::Relaxed) as f64;
            if us == 0.0 {
                0.0
            } else {
                t.load(Ordering::Relaxed) as f64 / (us / 1e6)
            }
        };
        (
            rate(&self.prompt_tokens, &self.prompt_micros),
            rate(&self.generated_tokens, &self.generate_micros),
        )
    }
}

struct Job {
    request: ChatRequest,
    reply: tokio::sync::oneshot::Sender<Result<Completion, LlmError>>,
}

/// The embedded model as a provider.
pub struct LocalProvider {
    queue: std::sync::mpsc::Sender<Job>,
    model_name: String,
    pub stats: Arc<LocalStats>,
    n_ctx: u32,
}

/// The CPU features the vendored llama.cpp is compiled for (see .cargo/config.toml).
pub fn missing_cpu_features() -> Vec<&'static str> {
    #[allow(unused_mut)]
    let mut missing = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        if !std::arch::is_x86_feature_detected!("avx") {
            missing.push("avx");
        }
        if !std::arch::is_x86_feature_detected!("avx2") {
            missing.push("avx2");
        }
        if !std::arch::is_x86_feature_detected!("fma") {
            missing.push("fma");
        }
        if !std::arch::is_x86_feature_detected!("f16c") {
            missing.push("f16c");
        }
    }
    missing
}

impl LocalProvider {
    /// Load the model (once per run) and start its worker thread.
    pub fn start(settings: LocalSettings) -> Result<LocalProvider, LlmError> {
        let missing = missing_cpu_features();
        if !missing.is_empty() {
            return Err(LlmError::Local(format!(
                "this build of the embedded model needs CPU features this machine lacks ({}); \
                 use an endpoint (--endpoint), or rebuild with GGML_AVX2=OFF GGML_FMA=OFF GGML_F16C=OFF GGML_AVX=OFF",
                missing.join(", ")
            )));
        }
        if !settings.model_path.is_file() {
            return Err(LlmError::Local(format!(
                "no model file at {} (tolk model fetch gets the default one)",
                settings.model_path.display()
            )));
        }
        let model_name = settings
            .model_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "local".into());
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<u32, LlmError>>();
        let stats = Arc::new(LocalStats::default());
        let worker_stats = stats.clone();
        let name = model_name.clone();
        std::thread::Builder::new()
            .name("tolk-local-model".into())
            .spawn(move || worker(settings, name, rx, ready_tx, worker_stats))
            .map_err(|e| LlmError::Local(format!("cannot start the model thread: {e}")))?;
        let n_ctx = ready_rx
            .recv()
            .map_err(|_| LlmError::Local("the model thread stopped while loading".into()))??;
        Ok(LocalProvider {
            queue: tx,
            model_name,
            stats,
            n_ctx,
        })
    }

    /// The context size the model runs with.
    pub fn n_ctx(&self) -> u32 {
        self.n_ctx
    }
}

impl Provider for LocalProvider {
    fn chat<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<Completion, LlmError>> {
        Box::pin(async move {
            let (tx, rx) = tokio::sync::oneshot::channel();
            self.queue
                .send(Job {
                    request: request.clone(),
                    reply: tx,
                })
                .map_err(|_| LlmError::Local("the model thread has stopped".into()))?;
            rx.await
                .map_err(|_| LlmError::Local("the model thread dropped the call".into()))?
        })
    }

    fn info(&self) -> ProviderInfo {
        ProviderInfo {
            kind: "local".into(),
            endpoint: "embedded".into(),
            model: self.model_name.clone(),
        }
    }
}

/// How many recent tokens the repetition penalty looks at, and how hard it pushes. Small models
/// decoding greedily fall into loops; a mild penalty keeps them out without touching the
/// structure, which the grammar enforces anyway.
const REPEAT_WINDOW: usize = 64;
const REPEAT_PENALTY: f32 = 1.1;

/// The best tokens are checked against the grammar in tiers of this many (best first), before
/// the whole vocabulary is: a grammar check costs about 0.2 µs a token, so the whole vocabulary
/// of 151,000 costs about 25 ms, most of a generation step.
const GRAMMAR_TIERS: [usize; 2] = [40, 2000];

/// The `n` best tokens by logit, best first.
fn shortlist(logits: &[f32], n: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..logits.len()).collect();
    let n = n.min(idx.len());
    if n == 0 {
        return idx;
    }
    idx.select_nth_unstable_by(n - 1, |&a, &b| logits[b].total_cmp(&logits[a]));
    idx.truncate(n);
    idx.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    idx
}

/// How a token was chosen, for the throughput counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// No grammar, or the best token was allowed.
    Best,
    /// The best token was refused; one of the next best (the shortlist) was allowed.
    Shortlist,
    /// The grammar was applied to the whole vocabulary.
    Vocabulary,
}

/// Choose the next token. Greedy decoding with a grammar checks the best token against the
/// grammar alone first, then the best tokens in [`GRAMMAR_TIERS`], and applies the grammar to
/// the whole vocabulary only when none of those is allowed: checking 150,000 candidates at
/// every step would cost more than the model. The result is the same token either way: the
/// best-scoring token the grammar allows.
fn pick(
    ctx: &llama_cpp_2::context::LlamaContext<'_>,
    idx: i32,
    grammar: Option<&mut LlamaSampler>,
    recent: &[LlamaToken],
    temperature: f32,
    seed: u32,
) -> (LlamaToken, Path) {
    use llama_cpp_2::token::data::LlamaTokenData;
    use llama_cpp_2::token::data_array::LlamaTokenDataArray;
    let mut logits = ctx.get_logits_ith(idx).to_vec();
    for t in recent {
        if let Some(v) = logits.get_mut(t.0 as usize) {
            *v = if *v > 0.0 {
                *v / REPEAT_PENALTY
            } else {
                *v * REPEAT_PENALTY
            };
        }
    }
    let array = |logits: &[f32], ids: &mut dyn Iterator<Item = usize>| {
        LlamaTokenDataArray::new(
            ids.map(|i| LlamaTokenData::new(LlamaToken(i as i32), logits[i], 0.0))
                .collect(),
            false,
        )
    };
    let choose = |arr: &mut LlamaTokenDataArray| {
        if temperature > 0.0 {
            arr.apply_sampler(&mut LlamaSampler::temp(temperature));
            arr.sample_token(seed)
        } else {
            arr.sample_token_greedy()
        }
    };
    let argmax = |logits: &[f32]| {
        logits
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i)
    };
    match grammar {
        None if temperature <= 0.0 => (LlamaToken(argmax(&logits) as i32), Path::Best),
        None => (
            choose(&mut array(&logits, &mut (0..logits.len()))),
            Path::Best,
        ),
        Some(g) => {
            if temperature <= 0.0 {
                let best = argmax(&logits);
                let mut one = array(&logits, &mut std::iter::once(best));
                one.apply_sampler(g);
                if one.data.first().is_some_and(|d| d.logit().is_finite()) {
                    let token = LlamaToken(best as i32);
                    g.accept(token);
                    return (token, Path::Best);
                }
                let best_first = shortlist(&logits, GRAMMAR_TIERS[GRAMMAR_TIERS.len() - 1]);
                let mut from = 1;
                for tier in GRAMMAR_TIERS {
                    let to = tier.min(best_first.len());
                    if from >= to {
                        continue;
                    }
                    let mut few = array(&logits, &mut best_first[from..to].iter().copied());
                    few.apply_sampler(g);
                    // Best first: the first allowed one is the best token the grammar allows.
                    if let Some(d) = few.data.iter().find(|d| d.logit().is_finite()) {
                        let token = d.id();
                        g.accept(token);
                        return (token, Path::Shortlist);
                    }
                    from = to;
                }
            }
            let mut arr = array(&logits, &mut (0..logits.len()));
            arr.apply_sampler(g);
            let token = choose(&mut arr);
            g.accept(token);
            (token, Path::Vocabulary)
        }
    }
}

fn local_err(what: &str, e: impl std::fmt::Display) -> LlmError {
    LlmError::Local(format!("{what}: {e}"))
}

/// The prompt llama.cpp decodes batches of.
const N_BATCH: u32 = 512;

/// The model, loaded, and the backend it runs on.
fn load(settings: &LocalSettings) -> Result<(LlamaBackend, LlamaModel), LlmError> {
    let mut backend = LlamaBackend::init().map_err(|e| local_err("llama.cpp", e))?;
    if std::env::var_os("TOLK_LLAMA_LOG").is_none() {
        backend.void_logs();
    }
    let model =
        LlamaModel::load_from_file(&backend, &settings.model_path, &LlamaModelParams::default())
            .map_err(|e| local_err(&format!("loading {}", settings.model_path.display()), e))?;
    Ok((backend, model))
}

/// The context of `n_ctx` tokens the calls run in.
fn context<'m>(
    backend: &LlamaBackend,
    model: &'m LlamaModel,
    settings: &LocalSettings,
    n_ctx: u32,
) -> Result<llama_cpp_2::context::LlamaContext<'m>, LlmError> {
    let threads = settings
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get() as i32));
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx))
        .with_n_batch(N_BATCH)
        .with_n_ubatch(N_BATCH)
        .with_n_threads(threads)
        .with_n_threads_batch(threads)
        .with_flash_attention_policy(if settings.flash_attention { 1 } else { 0 });
    model
        .new_context(backend, params)
        .map_err(|e| local_err("creating the model context", e))
}

/// The worker thread: loads the model, says it is ready (with its context size), then serves
/// the queue one call at a time until the provider is dropped.
fn worker(
    settings: LocalSettings,
    name: String,
    rx: std::sync::mpsc::Receiver<Job>,
    ready: std::sync::mpsc::Sender<Result<u32, LlmError>>,
    stats: Arc<LocalStats>,
) {
    let (backend, model) = match load(&settings) {
        Ok(v) => v,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let n_ctx = settings.n_ctx.min(model.n_ctx_train().max(512));
    let setup = context(&backend, &model, &settings, n_ctx).and_then(|ctx| {
        let template = model
            .chat_template(None)
            .map_err(|e| local_err("the model file has no chat template", e))?;
        Ok((ctx, template))
    });
    let (mut ctx, template) = match setup {
        Ok(v) => v,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let _ = ready.send(Ok(n_ctx));
    let mut engine = Engine {
        model: &model,
        template,
        settings: &settings,
        n_ctx,
        stats: &stats,
        name: &name,
        cached: Vec::new(),
    };
    while let Ok(job) = rx.recv() {
        let result = engine.serve(&mut ctx, &job.request);
        if result.is_err() {
            // After an error the KV cache may not match `cached`: start clean.
            let _ = ctx.clear_kv_cache_seq(Some(0), None, None);
            engine.cached.clear();
        }
        let _ = job.reply.send(result);
    }
}

/// One model serving calls in one context, one at a time.
struct Engine<'m> {
    model: &'m LlamaModel,
    template: llama_cpp_2::model::LlamaChatTemplate,
    settings: &'m LocalSettings,
    n_ctx: u32,
    stats: &'m LocalStats,
    name: &'m str,
    /// Tokens whose keys and values are in the KV cache, in order.
    cached: Vec<LlamaToken>,
}

/// What a generation produced.
struct Generated {
    text: Vec<u8>,
    tokens: u32,
    finish: &'static str,
    /// Tokens taken from the grammar's shortlist, and over the whole vocabulary.
    picks: (u32, u32),
}

impl Engine<'_> {
    /// The prompt of `request` with the model's chat template, as tokens.
    fn prompt(&self, request: &ChatRequest) -> Result<Vec<LlamaToken>, LlmError> {
        let messages: Vec<LlamaChatMessage> = request
            .messages
            .iter()
            .map(|m| LlamaChatMessage::new(m.role.clone(), m.content.clone()))
            .collect::<Result<_, _>>()
            .map_err(|e| local_err("a message", e))?;
        let prompt = self
            .model
            .apply_chat_template(&self.template, &messages, true)
            .map_err(|e| local_err("applying the chat template", e))?;
        let vocab = self.model.vocab();
        Ok(vocab.tokenize(prompt.as_bytes(), vocab.should_add_bos(), true))
    }

    /// One call: decode the prompt (reusing the cached prefix), generate under the request's
    /// grammar if it has a schema, and count it all.
    fn serve(
        &mut self,
        ctx: &mut llama_cpp_2::context::LlamaContext<'_>,
        request: &ChatRequest,
    ) -> Result<Completion, LlmError> {
        let started = Instant::now();
        let tokens = self.prompt(request)?;
        let max_tokens = request
            .max_tokens
            .unwrap_or(self.settings.default_max_tokens);
        if tokens.len() as u32 + max_tokens > self.n_ctx {
            return Err(LlmError::ContextExceeded {
                tokens: tokens.len() as u32 + max_tokens,
                limit: self.n_ctx,
            });
        }
        let mut grammar = match request.schema.as_ref().filter(|_| !request.plain) {
            Some(spec) => {
                let g = llama_cpp_2::json_schema_to_grammar(&spec.schema.to_string())
                    .map_err(|e| local_err("turning the JSON Schema into a grammar", e))?;
                Some(
                    LlamaSampler::grammar(self.model, &g, "root")
                        .map_err(|e| local_err("the grammar", e))?,
                )
            }
            None => None,
        };
        let t0 = Instant::now();
        let mut batch = LlamaBatch::new(N_BATCH as usize, 1);
        let keep = self.decode_prompt(ctx, &mut batch, &tokens)?;
        let t1 = Instant::now();
        let logits_at = batch.n_tokens() - 1;
        let generated = self.generate(
            ctx,
            &mut batch,
            logits_at,
            grammar.as_mut(),
            request,
            max_tokens,
        )?;
        tracing::debug!(
            prompt_tokens = tokens.len(),
            reused = keep,
            prompt_ms = (t1 - t0).as_millis() as u64,
            generated = generated.tokens,
            generate_ms = t1.elapsed().as_millis() as u64,
            shortlist = generated.picks.0,
            vocabulary = generated.picks.1,
            finish = generated.finish,
            "embedded model call"
        );
        let s = self.stats;
        s.prompt_tokens
            .fetch_add((tokens.len() - keep) as u64, Ordering::Relaxed);
        s.prompt_micros
            .fetch_add((t1 - t0).as_micros() as u64, Ordering::Relaxed);
        s.generated_tokens
            .fetch_add(generated.tokens as u64, Ordering::Relaxed);
        s.generate_micros
            .fetch_add(t1.elapsed().as_micros() as u64, Ordering::Relaxed);
        Ok(Completion {
            content: String::from_utf8_lossy(&generated.text).into_owned(),
            finish_reason: Some(generated.finish.to_string()),
            usage: Some(Usage {
                prompt_tokens: tokens.len() as u64,
                completion_tokens: generated.tokens as u64,
            }),
            model: Some(self.name.to_string()),
            system_fingerprint: None,
            latency: started.elapsed(),
        })
    }

    /// Decode `tokens` after the prefix the KV cache already holds; returns how many were
    /// reused. The batch ends with the last prompt token, whose logits come next.
    fn decode_prompt(
        &mut self,
        ctx: &mut llama_cpp_2::context::LlamaContext<'_>,
        batch: &mut LlamaBatch,
        tokens: &[LlamaToken],
    ) -> Result<usize, LlmError> {
        let mut keep = self
            .cached
            .iter()
            .zip(tokens)
            .take_while(|(a, b)| a == b)
            .count();
        if keep == tokens.len() {
            // The last prompt token must be decoded again to get its logits.
            keep -= 1;
        }
        ctx.clear_kv_cache_seq(Some(0), Some(keep as u32), None)
            .map_err(|e| local_err("trimming the KV cache", e))?;
        self.cached.truncate(keep);
        self.stats
            .reused_tokens
            .fetch_add(keep as u64, Ordering::Relaxed);
        let mut pos = keep;
        while pos < tokens.len() {
            batch.clear();
            let end = (pos + N_BATCH as usize).min(tokens.len());
            for (i, t) in tokens[pos..end].iter().enumerate() {
                let p = pos + i;
                batch
                    .add(*t, p as i32, &[0], p == tokens.len() - 1)
                    .map_err(|e| local_err("batching the prompt", e))?;
            }
            ctx.decode(batch)
                .map_err(|e| local_err("decoding the prompt", e))?;
            self.cached.extend_from_slice(&tokens[pos..end]);
            pos = end;
        }
        Ok(keep)
    }

    /// Generate up to `max_tokens`, from the logits at `logits_at` of the last decode.
    fn generate(
        &mut self,
        ctx: &mut llama_cpp_2::context::LlamaContext<'_>,
        batch: &mut LlamaBatch,
        mut logits_at: i32,
        mut grammar: Option<&mut LlamaSampler>,
        request: &ChatRequest,
        max_tokens: u32,
    ) -> Result<Generated, LlmError> {
        let vocab = self.model.vocab();
        let temperature = request.temperature.unwrap_or(0.0) as f32;
        let seed = request.seed.unwrap_or(42) as u32;
        let mut out = Generated {
            text: Vec::new(),
            tokens: 0,
            finish: "length",
            picks: (0, 0),
        };
        let mut generated: Vec<LlamaToken> = Vec::new();
        while (generated.len() as u32) < max_tokens {
            let recent = &generated[generated.len().saturating_sub(REPEAT_WINDOW)..];
            let ts = Instant::now();
            let (token, path) = pick(
                ctx,
                logits_at,
                grammar.as_deref_mut(),
                recent,
                temperature,
                seed,
            );
            self.stats
                .sample_micros
                .fetch_add(ts.elapsed().as_micros() as u64, Ordering::Relaxed);
            match path {
                Path::Best => {}
                Path::Shortlist => {
                    out.picks.0 += 1;
                    self.stats.shortlist_picks.fetch_add(1, Ordering::Relaxed);
                }
                Path::Vocabulary => {
                    out.picks.1 += 1;
                    self.stats.vocabulary_picks.fetch_add(1, Ordering::Relaxed);
                }
            }
            if vocab.is_eog(token) {
                out.finish = "stop";
                break;
            }
            out.text.extend(vocab.token_to_piece(token, false, None));
            generated.push(token);
            batch.clear();
            batch
                .add(token, self.cached.len() as i32, &[0], true)
                .map_err(|e| local_err("batching", e))?;
            ctx.decode(batch).map_err(|e| local_err("generating", e))?;
            self.cached.push(token);
            logits_at = 0;
        }
        out.tokens = generated.len() as u32;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::shortlist;
    use proptest::prelude::*;

    #[test]
    fn the_shortlist_is_the_best_tokens_best_first() {
        let logits = [0.5, -1.0, 3.0, 2.0, f32::NEG_INFINITY, 2.5];
        assert_eq!(shortlist(&logits, 3), vec![2, 5, 3]);
        assert_eq!(shortlist(&logits, 1), vec![2]);
        assert_eq!(shortlist(&logits, 99).len(), 6);
        assert!(shortlist(&[], 5).is_empty());
    }

    proptest! {
        #[test]
        fn the_shortlist_matches_a_full_sort(
            logits in proptest::collection::vec(-50.0f32..50.0, 1..400),
            n in 1usize..60,
        ) {
            let got = shortlist(&logits, n);
            let mut all: Vec<usize> = (0..logits.len()).collect();
            all.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
            prop_assert_eq!(got.len(), n.min(logits.len()));
            // The same scores in the same order (ties may pick different ids).
            let scores = |ids: &[usize]| ids.iter().map(|&i| logits[i]).collect::<Vec<_>>();
            prop_assert_eq!(scores(&got), scores(&all[..got.len()]));
        }
    }
}
