//! The embedded model's scheduler: N slots in one context, decoded together.
//!
//! Every slot is a llama.cpp sequence (its own id, positions, sampler, grammar, bounds). Each
//! step builds one batch: the last token of every generating slot, then as many prompt tokens
//! of the slots still reading their prompt as fit in the batch. One `decode` serves them all,
//! so on a CPU the weights are read once for several calls (matrix-matrix work instead of
//! matrix-vector work). A slot that finishes answers its call and takes the next queued call
//! at once (continuous batching).
//!
//! A queued call whose prompt begins like the tokens some slot holds (the same system prompt,
//! the same letter) gets that prefix with `seq_cp` and only decodes what is new. Idle slots keep
//! their tokens for that purpose until they take a call. With a KV cache per slot (the default)
//! llama.cpp copies the source's whole cache, and the copy is trimmed to the prefix: a few
//! hundred MB of memcpy, against seconds or minutes of decoding. In a unified cache the copy
//! shares the cells instead, but llama.cpp attends over every cell up to the highest one in use,
//! so each token of one call pays for the tokens of all the others
//! (docs/decisions/2026-12-04-kv-cache-per-slot.md).
//!
//! Under a grammar, once a reply is inside an enum-valued string (a quote chosen from the
//! letter's sentences) and its first words leave one value, the rest is not chosen: it goes into
//! the next step's batch with the chosen token, many tokens in one decode ([`super::forced`]).
//!
//! Capacity: each slot holds at most `n_ctx` tokens (checked when a call comes in: prompt +
//! max_tokens), and the context holds `n_ctx` per slot, so any set of active slots fits.

mod step;

use super::forced::Forcing;
use super::{Job, LocalSettings, LocalStats, local_err};
use crate::llm::{ChatRequest, Completion, LlmError, Usage};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Instant;

/// Tokens decoded in one step at most (prompt tokens and generating slots together).
pub(super) const N_BATCH: u32 = 512;

/// A queued call that finds at least this many of its prompt tokens in a slot's cache (a
/// letter's part, read for another question on it) is taken before any other, so the part is
/// read once for all its questions: the shared system prompts of the translation calls are
/// shorter than this.
const SHARE_FIRST: usize = 512;

/// How many tokens two sequences share at their start.
fn common(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// A call waiting for a slot, its prompt already tokenized.
struct Pending {
    job: Job,
    tokens: Vec<LlamaToken>,
    max_tokens: u32,
    arrived: Instant,
}

/// A call being served.
struct Active {
    job: Job,
    prompt: Vec<LlamaToken>,
    /// Prompt tokens already in the KV cache (copied or decoded).
    decoded: usize,
    /// Prompt tokens found in the cache and not decoded.
    reused: usize,
    max_tokens: u32,
    grammar: Option<LlamaSampler>,
    temperature: f32,
    seed: u32,
    generated: Vec<LlamaToken>,
    text: Vec<u8>,
    /// Tokens to decode before the next choice: the token chosen last, and the text the grammar
    /// forces after it ([`super::forced`]), several decoded in one step.
    feed: Vec<LlamaToken>,
    /// The reply's schema, for the text its grammar forces (none without a grammar, or with
    /// jump-forward decoding off).
    forcing: Option<Forcing>,
    /// Generated tokens that were forced.
    forced: usize,
    arrived: Instant,
    admitted: Instant,
    /// Wall time of the steps that decoded its prompt.
    prompt_micros: u64,
    picks: (u32, u32),
}

/// One sequence of the context.
struct Slot {
    seq: i32,
    /// Tokens whose keys and values this sequence holds, in position order.
    cached: Vec<LlamaToken>,
    active: Option<Active>,
}

pub(super) struct Engine<'m> {
    pub model: &'m LlamaModel,
    pub template: LlamaChatTemplate,
    /// Tokens one call may use (prompt + max_tokens).
    pub n_ctx: u32,
    pub default_max_tokens: u32,
    /// Decode the text a grammar forces in one step ([`super::forced`]).
    pub jump_forward: bool,
    pub stats: &'m LocalStats,
    pub name: &'m str,
    slots: Vec<Slot>,
    pending: VecDeque<Pending>,
}

/// What the scheduler does with the queue once every call is served.
enum Queue {
    Open,
    Closed,
}

impl<'m> Engine<'m> {
    pub fn new(
        model: &'m LlamaModel,
        template: LlamaChatTemplate,
        n_ctx: u32,
        n_slots: u32,
        settings: &LocalSettings,
        stats: &'m LocalStats,
        name: &'m str,
    ) -> Engine<'m> {
        Engine {
            model,
            template,
            n_ctx,
            default_max_tokens: settings.default_max_tokens,
            jump_forward: settings.jump_forward,
            stats,
            name,
            slots: (0..n_slots.max(1) as i32)
                .map(|seq| Slot {
                    seq,
                    cached: Vec::new(),
                    active: None,
                })
                .collect(),
            pending: VecDeque::new(),
        }
    }

    /// Serve the queue until the provider is dropped and every call has been answered.
    pub fn run(&mut self, ctx: &mut LlamaContext<'_>, rx: &Receiver<Job>) {
        let mut queue = Queue::Open;
        let mut batch = LlamaBatch::new(N_BATCH as usize, 1);
        loop {
            let busy = self.slots.iter().any(|s| s.active.is_some()) || !self.pending.is_empty();
            if let Queue::Open = queue {
                if !busy {
                    // Nothing to do: wait for a call.
                    match rx.recv() {
                        Ok(job) => self.arrive(job),
                        Err(_) => queue = Queue::Closed,
                    }
                }
                loop {
                    match rx.try_recv() {
                        Ok(job) => self.arrive(job),
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => {
                            queue = Queue::Closed;
                            break;
                        }
                    }
                }
            }
            self.drop_cancelled();
            self.admit(ctx);
            if self.slots.iter().all(|s| s.active.is_none()) {
                if self.pending.is_empty() && matches!(queue, Queue::Closed) {
                    return;
                }
                continue;
            }
            if let Err(e) = self.step(ctx, &mut batch) {
                self.fail_all(ctx, &e);
            }
        }
    }

    /// A call comes in: tokenize its prompt and check it fits one slot; queue it.
    fn arrive(&mut self, job: Job) {
        let max_tokens = job.request.max_tokens.unwrap_or(self.default_max_tokens);
        let tokens = match self.prompt(&job.request) {
            Ok(t) => t,
            Err(e) => {
                let _ = job.reply.send(Err(e));
                return;
            }
        };
        if tokens.len() as u32 + max_tokens > self.n_ctx {
            let _ = job.reply.send(Err(LlmError::ContextExceeded {
                tokens: tokens.len() as u32 + max_tokens,
                limit: self.n_ctx,
            }));
            return;
        }
        self.pending.push_back(Pending {
            job,
            tokens,
            max_tokens,
            arrived: Instant::now(),
        });
    }

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

    /// Calls whose caller has gone (a cancelled run) are dropped, queued or running.
    fn drop_cancelled(&mut self) {
        self.pending.retain(|p| !p.job.reply.is_closed());
        for slot in &mut self.slots {
            if slot
                .active
                .as_ref()
                .is_some_and(|a| a.job.reply.is_closed())
            {
                // What it decoded stays in its cache, for reuse.
                slot.active = None;
            }
        }
    }

    /// The longest prefix of `tokens` that some slot holds: (slot index, length). At most
    /// `tokens.len() - 1`: the last prompt token is decoded again for its logits.
    fn best_prefix(&self, tokens: &[LlamaToken]) -> (usize, usize) {
        let mut best = (0, 0);
        for (i, slot) in self.slots.iter().enumerate() {
            let n = common(&slot.cached, tokens).min(tokens.len().saturating_sub(1));
            if n > best.1 {
                best = (i, n);
            }
        }
        best
    }

    /// How much the queued calls need slot `i`'s cache: the most prompt tokens one of them
    /// would have to decode again if it were emptied (what no other slot holds of its prefix).
    /// A letter's part read for one question stays for the questions queued behind it.
    fn needed(&self, i: usize) -> usize {
        self.pending
            .iter()
            .map(|p| {
                let here = common(&self.slots[i].cached, &p.tokens);
                // Only a busy slot's copy counts: two free slots that hold the same part would
                // each look spare, and both be given up.
                let elsewhere = (0..self.slots.len())
                    .filter(|&j| j != i && self.slots[j].active.is_some())
                    .map(|j| common(&self.slots[j].cached, &p.tokens))
                    .max()
                    .unwrap_or(0);
                here.saturating_sub(elsewhere)
            })
            .max()
            .unwrap_or(0)
    }

    /// The longest prefix of `tokens` that a slot reading its prompt will hold once it has
    /// decoded it.
    fn coming_prefix(&self, tokens: &[LlamaToken]) -> usize {
        self.slots
            .iter()
            .filter_map(|s| s.active.as_ref())
            .filter(|a| a.decoded < a.prompt.len())
            .map(|a| common(&a.prompt, tokens).min(tokens.len().saturating_sub(1)))
            .max()
            .unwrap_or(0)
    }

    /// Give free slots the queued calls, and set up each slot's KV cache. First a call whose
    /// letter part ([`SHARE_FIRST`]) a free slot holds, then one whose part a busy slot holds
    /// (the longest such prefix first); then the one with the largest token budget, then the one
    /// sharing the longest cached prefix, the earliest of equals. Every queued call is here (the
    /// client sends them all), so the questions on a part are asked while it is in a cache,
    /// however far apart they came.
    fn admit(&mut self, ctx: &mut LlamaContext<'_>) {
        while !self.pending.is_empty() {
            let free: Vec<usize> = (0..self.slots.len())
                .filter(|&i| self.slots[i].active.is_none())
                .collect();
            if free.is_empty() {
                return;
            }
            // Calls waiting for a prefix that a slot is still decoding are not taken yet:
            // once it is in the cache they get it for free.
            // (call, prefix cached in any slot, in a free one)
            let ready: Vec<(usize, usize, usize)> = (0..self.pending.len())
                .filter_map(|i| {
                    let p = &self.pending[i];
                    let have = self.best_prefix(&p.tokens).1;
                    let in_free = free
                        .iter()
                        .map(|&f| common(&self.slots[f].cached, &p.tokens))
                        .max()
                        .unwrap_or(0);
                    (self.coming_prefix(&p.tokens) <= have + 16).then_some((i, have, in_free))
                })
                .collect();
            let Some(&first) = ready.first() else {
                return;
            };
            // A call whose part a free slot holds goes there without a copy and without
            // emptying a cache another call needs.
            // Among the others the one that may run longest goes first (its token budget), so
            // that a long call that came late (a summary's last call, after its notes) does not
            // wait behind every short one and then run alone at the end of the run: short calls
            // fill the slots at the end instead. No call waits for ever, since a run's calls end.
            let rank = |&(i, have, in_free): &(usize, usize, usize)| {
                if in_free >= SHARE_FIRST {
                    (2, in_free, 0)
                } else if have >= SHARE_FIRST {
                    (1, have, 0)
                } else {
                    (0, self.pending[i].max_tokens as usize, have)
                }
            };
            // The best rank, the earliest call of it.
            let mut best = first;
            for r in &ready[1..] {
                if rank(r) > rank(&best) {
                    best = *r;
                }
            }
            let p = self.pending.remove(best.0).expect("a queued call");
            let (mut source, shared) = self.best_prefix(&p.tokens);
            // A free slot that holds as much of the prompt as any is the source and the slot.
            if let Some(&f) = free.iter().find(|&&f| {
                common(&self.slots[f].cached, &p.tokens).min(p.tokens.len().saturating_sub(1))
                    >= shared
            }) && shared > 0
            {
                source = f;
            }
            // The slot: the source itself when it is free (its own tokens are the prefix),
            // else the free slot whose cache the queued calls need least, then the one with
            // the fewest tokens to give up.
            let target = if shared > 0 && self.slots[source].active.is_none() {
                source
            } else {
                *free
                    .iter()
                    .min_by_key(|&&i| (self.needed(i), self.slots[i].cached.len()))
                    .expect("a free slot")
            };
            if let Err(e) = self.start(ctx, target, source, shared, p) {
                tracing::warn!("the embedded model could not start a call: {e}");
            }
        }
    }

    /// Put call `p` in slot `target`, its first `shared` prompt tokens taken from slot `source`.
    /// A call that cannot start is answered with the reason.
    fn start(
        &mut self,
        ctx: &mut LlamaContext<'_>,
        target: usize,
        source: usize,
        shared: usize,
        mut p: Pending,
    ) -> Result<(), LlmError> {
        let grammar = match self.grammar(&p.job.request) {
            Ok(g) => g,
            Err(e) => {
                let _ = p.job.reply.send(Err(e.clone()));
                return Err(e);
            }
        };
        if let Err(e) = self.share_prefix(ctx, target, source, shared) {
            // The slot's cache is in an unknown state: empty it.
            let _ = ctx.clear_kv_cache_seq(Some(self.slots[target].seq as u32), None, None);
            self.slots[target].cached.clear();
            let _ = p.job.reply.send(Err(e.clone()));
            return Err(e);
        }
        self.stats
            .reused_tokens
            .fetch_add(shared as u64, Ordering::Relaxed);
        if let Some(told) = p.job.admitted.take() {
            let _ = told.send(());
        }
        let request = &p.job.request;
        let forcing = match (&grammar, &request.schema) {
            (Some(_), Some(spec)) if self.jump_forward => Some(Forcing::of(&spec.schema)),
            _ => None,
        };
        self.slots[target].active = Some(Active {
            temperature: request.temperature.unwrap_or(0.0) as f32,
            seed: request.seed.unwrap_or(42) as u32,
            job: p.job,
            prompt: p.tokens,
            decoded: shared,
            reused: shared,
            max_tokens: p.max_tokens,
            grammar,
            generated: Vec::new(),
            text: Vec::new(),
            feed: Vec::new(),
            forcing,
            forced: 0,
            arrived: p.arrived,
            admitted: Instant::now(),
            prompt_micros: 0,
            picks: (0, 0),
        });
        Ok(())
    }

    /// The grammar for a request's JSON Schema (none for plain replies).
    fn grammar(&self, request: &ChatRequest) -> Result<Option<LlamaSampler>, LlmError> {
        let Some(spec) = request.schema.as_ref().filter(|_| !request.plain) else {
            return Ok(None);
        };
        let g = llama_cpp_2::json_schema_to_grammar(&spec.schema.to_string())
            .map_err(|e| local_err("turning the JSON Schema into a grammar", e))?;
        LlamaSampler::grammar(self.model, &g, "root")
            .map(Some)
            .map_err(|e| local_err("the grammar", e))
    }

    /// Make slot `target` hold the first `shared` tokens of slot `source`, nothing more: its
    /// own tokens trimmed when it is the source, else emptied and given the source's prefix
    /// (`seq_cp`: the cells shared in a unified cache, copied otherwise; nothing is decoded
    /// again).
    fn share_prefix(
        &mut self,
        ctx: &mut LlamaContext<'_>,
        target: usize,
        source: usize,
        shared: usize,
    ) -> Result<(), LlmError> {
        let kv = |e| local_err("arranging the KV cache", e);
        let seq = self.slots[target].seq;
        if target == source {
            ctx.clear_kv_cache_seq(Some(seq as u32), Some(shared as u32), None)
                .map_err(kv)?;
            self.slots[target].cached.truncate(shared);
            return Ok(());
        }
        ctx.clear_kv_cache_seq(Some(seq as u32), None, None)
            .map_err(kv)?;
        self.slots[target].cached.clear();
        if shared > 0 {
            // Between caches llama.cpp copies whole ones only: take it all, drop the rest (in
            // a unified cache the same two calls share the cells of the prefix).
            ctx.copy_kv_cache_seq(self.slots[source].seq, seq, None, None)
                .map_err(kv)?;
            ctx.clear_kv_cache_seq(Some(seq as u32), Some(shared as u32), None)
                .map_err(kv)?;
            self.slots[target].cached = self.slots[source].cached[..shared].to_vec();
        }
        Ok(())
    }

    /// Answer a finished call.
    fn finish(&self, a: Active, finish: &'static str) {
        // What the call was for, for a trace of the run: its schema's title (tolk.stance_topic,
        // tolk.segment, ...), or plain text.
        let schema = a.job.request.schema.as_ref().map_or("plain text", |s| {
            s.schema["title"].as_str().unwrap_or(s.name.as_str())
        });
        tracing::debug!(
            schema,
            prompt_tokens = a.prompt.len(),
            reused = a.reused,
            waited_ms = (a.admitted - a.arrived).as_millis() as u64,
            prompt_ms = a.prompt_micros / 1000,
            generated = a.generated.len(),
            forced = a.forced,
            total_ms = a.arrived.elapsed().as_millis() as u64,
            shortlist = a.picks.0,
            vocabulary = a.picks.1,
            finish,
            "embedded model call"
        );
        if tracing::enabled!(tracing::Level::TRACE) {
            // The reply token by token, forced ones too: how the model split its text.
            let vocab = self.model.vocab();
            let pieces: Vec<String> = a
                .generated
                .iter()
                .map(|&t| {
                    String::from_utf8_lossy(&vocab.token_to_piece(t, false, None)).into_owned()
                })
                .collect();
            tracing::trace!(schema, tokens = ?pieces, "embedded model reply");
        }
        let _ = a.job.reply.send(Ok(Completion {
            content: String::from_utf8_lossy(&a.text).into_owned(),
            finish_reason: Some(finish.to_string()),
            usage: Some(Usage {
                prompt_tokens: a.prompt.len() as u64,
                completion_tokens: a.generated.len() as u64,
            }),
            model: Some(self.name.to_string()),
            system_fingerprint: None,
            latency: a.arrived.elapsed(),
        }));
    }

    /// A decode failed: every running call gets the error, and the KV cache starts clean (it
    /// may not match what the slots think they hold).
    fn fail_all(&mut self, ctx: &mut LlamaContext<'_>, e: &LlmError) {
        for slot in &mut self.slots {
            if let Some(a) = slot.active.take() {
                let _ = a.job.reply.send(Err(e.clone()));
            }
            slot.cached.clear();
        }
        ctx.clear_kv_cache();
    }
}
