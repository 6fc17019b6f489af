//! The embedded model: a GGUF model run in-process by llama.cpp (the llama-cpp-2 crate), behind
//! the same [`Provider`] trait as any endpoint.
//!
//! One worker thread owns the model and its context; calls are queued to it and decoded
//! together in slots, one batch per step ([`engine`]), a shared prompt prefix decoded once. The
//! chat template comes from the GGUF. A request's JSON Schema becomes a grammar (llama.cpp's
//! json_schema_to_grammar), so structured output always parses ([`sample`]).

mod engine;
mod forced;
mod sample;

use super::{BoxFuture, ChatRequest, Completion, LlmError, Provider, ProviderInfo};
use engine::{Engine, N_BATCH};
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// How to run the embedded model: the `[local]` settings resolved for one run. What each one
/// means for a user, and why its default is what it is, is documented once, on
/// `config::LocalSection`, where it is set.
#[derive(Debug, Clone)]
pub struct LocalSettings {
    /// The GGUF file (`local.model_path`, or the catalogued model's file).
    pub model_path: PathBuf,
    pub n_ctx: u32,
    pub threads: Option<i32>,
    /// max_tokens when a request does not say (`local.max_tokens`).
    pub default_max_tokens: u32,
    pub flash_attention: bool,
    pub slots: u32,
    pub unified_cache: bool,
    /// See [`forced`].
    pub jump_forward: bool,
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
    /// Generated tokens the grammar forced (the rest of a quoted sentence), decoded several in
    /// one step and counted in `generated_tokens` too.
    pub forced_tokens: AtomicU64,
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
    /// Told when the call leaves the engine's queue for a slot.
    admitted: Option<tokio::sync::oneshot::Sender<()>>,
}

/// The embedded model as a provider.
pub struct LocalProvider {
    /// None once dropped: the worker sees the queue close and stops.
    queue: Option<std::sync::mpsc::Sender<Job>>,
    worker: Option<std::thread::JoinHandle<()>>,
    model_name: String,
    pub stats: Arc<LocalStats>,
    n_ctx: u32,
}

/// The CPU features the vendored llama.cpp is compiled for that this machine lacks (see
/// .cargo/config.toml; AVX-512 when built by ./run.sh or ./test.sh on a machine with it,
/// scripts/cpu-flags.sh).
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
        // Built for AVX-512 (scripts/cpu-flags.sh, on a machine that has it): what
        // GGML_AVX512 compiles llama.cpp with, and the extensions asked besides.
        let built = |flag: Option<&str>| flag == Some("ON");
        if built(option_env!("GGML_AVX512")) {
            for (name, has) in [
                ("avx512f", std::arch::is_x86_feature_detected!("avx512f")),
                ("avx512cd", std::arch::is_x86_feature_detected!("avx512cd")),
                ("avx512vl", std::arch::is_x86_feature_detected!("avx512vl")),
                ("avx512dq", std::arch::is_x86_feature_detected!("avx512dq")),
                ("avx512bw", std::arch::is_x86_feature_detected!("avx512bw")),
            ] {
                if !has {
                    missing.push(name);
                }
            }
        }
        if built(option_env!("GGML_AVX512_VNNI"))
            && !std::arch::is_x86_feature_detected!("avx512vnni")
        {
            missing.push("avx512vnni");
        }
        if built(option_env!("GGML_AVX512_VBMI"))
            && !std::arch::is_x86_feature_detected!("avx512vbmi")
        {
            missing.push("avx512vbmi");
        }
        if built(option_env!("GGML_AVX512_BF16"))
            && !std::arch::is_x86_feature_detected!("avx512bf16")
        {
            missing.push("avx512bf16");
        }
    }
    missing
}

impl LocalProvider {
    /// Load the model (once per run) and start its worker thread.
    pub fn start(settings: LocalSettings) -> Result<LocalProvider, LlmError> {
        let missing = missing_cpu_features();
        if !missing.is_empty() {
            let rebuild = if missing.iter().any(|f| f.starts_with("avx512")) {
                "./run.sh builds for this machine (or GGML_AVX512=OFF cargo build --release)"
            } else {
                "GGML_AVX2=OFF GGML_FMA=OFF GGML_F16C=OFF GGML_AVX=OFF cargo build --release"
            };
            return Err(LlmError::CpuFeatures {
                missing: missing.iter().map(|f| f.to_string()).collect(),
                rebuild,
            });
        }
        if !settings.model_path.is_file() {
            return Err(LlmError::NoModelFile {
                path: settings.model_path.clone(),
                hint: "tolk model fetch gets the default one",
            });
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
        let handle = std::thread::Builder::new()
            .name("tolk-local-model".into())
            .spawn(move || worker(settings, name, rx, ready_tx, worker_stats))
            .map_err(|e| local_err("starting its thread", e))?;
        let n_ctx = ready_rx
            .recv()
            .map_err(|_| LlmError::ModelThread("stopped while loading"))??;
        Ok(LocalProvider {
            queue: Some(tx),
            worker: Some(handle),
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

/// Dropping the provider closes the queue and waits for the worker to free the model and
/// llama.cpp's backend (which can be initialised once at a time), so a new provider can start.
impl Drop for LocalProvider {
    fn drop(&mut self) {
        self.queue.take();
        if let Some(h) = self.worker.take() {
            let _ = h.join();
        }
    }
}

impl Provider for LocalProvider {
    fn chat<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<Completion, LlmError>> {
        self.chat_started(request, &|| {})
    }

    /// The call goes to the engine's queue at once; `started` is called when a slot takes it.
    fn chat_started<'a>(
        &'a self,
        request: &'a ChatRequest,
        started: crate::llm::Sent<'a>,
    ) -> BoxFuture<'a, Result<Completion, LlmError>> {
        Box::pin(async move {
            let (tx, mut rx) = tokio::sync::oneshot::channel();
            let (admitted_tx, admitted_rx) = tokio::sync::oneshot::channel();
            self.queue
                .as_ref()
                .ok_or(LlmError::ModelThread("has stopped"))?
                .send(Job {
                    request: request.clone(),
                    reply: tx,
                    admitted: Some(admitted_tx),
                })
                .map_err(|_| LlmError::ModelThread("has stopped"))?;
            let mut admitted = Some(admitted_rx);
            loop {
                tokio::select! {
                    reply = &mut rx => {
                        return reply.map_err(|_| LlmError::ModelThread("dropped the call"))?;
                    }
                    told = async { admitted.as_mut().expect("guarded").await }, if admitted.is_some() => {
                        admitted = None;
                        if told.is_ok() {
                            started();
                        }
                    }
                }
            }
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

/// llama.cpp (or the engine around it) failed at `what`; its error is kept as the source.
fn local_err(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> LlmError {
    LlmError::Engine {
        what: what.to_string(),
        source: std::sync::Arc::new(e),
    }
}

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

/// The context the calls run in: `n_ctx` tokens for each of `slots` sequences, in one KV cache
/// per sequence or in one unified cache (see [`engine`]).
fn context<'m>(
    backend: &LlamaBackend,
    model: &'m LlamaModel,
    settings: &LocalSettings,
    n_ctx: u32,
    slots: u32,
) -> Result<llama_cpp_2::context::LlamaContext<'m>, LlmError> {
    let threads = settings
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get() as i32));
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx * slots))
        .with_n_seq_max(slots)
        .with_kv_unified(settings.unified_cache)
        .with_n_batch(N_BATCH)
        .with_n_ubatch(N_BATCH)
        .with_n_threads(threads)
        .with_n_threads_batch(threads)
        .with_flash_attention_policy(if settings.flash_attention { 1 } else { 0 });
    model
        .new_context(backend, params)
        .map_err(|e| local_err("creating the model context", e))
}

/// The worker thread: loads the model, says it is ready (with the context size of one call),
/// then serves the queue with its slots until the provider is dropped.
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
    let slots = settings.slots.max(1);
    let setup = context(&backend, &model, &settings, n_ctx, slots).and_then(|ctx| {
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
    let mut engine = Engine::new(&model, template, n_ctx, slots, &settings, &stats, &name);
    engine.run(&mut ctx, &rx);
}
