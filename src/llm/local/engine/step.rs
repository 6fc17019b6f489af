//! One step of the engine: a batch of the generating slots' next tokens (and what their
//! grammars force after them) and the waiting prompts' tokens, decoded at once; then a token
//! chosen for every slot whose logits came out of it.

use super::super::local_err;
use super::super::sample::{Path, REPEAT_WINDOW, pick, take_if_allowed};
use super::{Active, Engine, N_BATCH};
use crate::llm::LlmError;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// What one step's batch holds.
#[derive(Default)]
struct Step {
    /// (slot, index in the batch) of every slot whose logits this step gives.
    outputs: Vec<(usize, i32)>,
    /// Slots that read prompt tokens in this step.
    read: Vec<usize>,
    n_prompt: usize,
    n_generating: usize,
    n_forced: usize,
}

impl Engine<'_> {
    /// One decode for every active slot: a token for each generating slot (with the text its
    /// grammar forces after it), then prompt tokens (oldest call first) up to the batch size;
    /// then a token is chosen for every slot whose logits came out of it.
    pub(super) fn step(
        &mut self,
        ctx: &mut LlamaContext<'_>,
        batch: &mut LlamaBatch,
    ) -> Result<(), LlmError> {
        batch.clear();
        let mut step = Step::default();
        self.add_generating(batch, &mut step)?;
        self.add_prompts(batch, &mut step)?;
        let t = Instant::now();
        ctx.decode(batch).map_err(|e| local_err("decoding", e))?;
        self.count(&step, t.elapsed().as_micros() as u64);
        for &(i, at) in &step.outputs {
            self.choose(ctx, i, at);
        }
        Ok(())
    }

    /// Every generating slot decodes its chosen token and what is forced after it; a forced run
    /// that does not fit goes on in the next step (its logits come with its last token).
    fn add_generating(&mut self, batch: &mut LlamaBatch, step: &mut Step) -> Result<(), LlmError> {
        let feeding: Vec<usize> = (0..self.slots.len())
            .filter(|&i| {
                self.slots[i]
                    .active
                    .as_ref()
                    .is_some_and(|a| !a.feed.is_empty())
            })
            .collect();
        step.n_generating = feeding.len();
        for (k, &i) in feeding.iter().enumerate() {
            let later = feeding.len() - k - 1;
            let room = (N_BATCH as usize - batch.n_tokens() as usize - later).max(1);
            let slot = &mut self.slots[i];
            let a = slot.active.as_mut().expect("active");
            let take = a.feed.len().min(room);
            let all = take == a.feed.len();
            for (j, &token) in a.feed[..take].iter().enumerate() {
                let last = all && j + 1 == take;
                batch
                    .add(token, slot.cached.len() as i32, &[slot.seq], last)
                    .map_err(|e| local_err("batching", e))?;
                slot.cached.push(token);
                if last {
                    step.outputs.push((i, batch.n_tokens() - 1));
                }
            }
            a.feed.drain(..take);
            step.n_forced += take - 1;
        }
        Ok(())
    }

    /// The slots still reading their prompt fill the rest of the batch, the earliest admitted
    /// first.
    fn add_prompts(&mut self, batch: &mut LlamaBatch, step: &mut Step) -> Result<(), LlmError> {
        let mut reading: Vec<usize> = (0..self.slots.len())
            .filter(|&i| {
                self.slots[i]
                    .active
                    .as_ref()
                    .is_some_and(|a| a.feed.is_empty() && a.decoded < a.prompt.len())
            })
            .collect();
        reading.sort_by_key(|&i| self.slots[i].active.as_ref().map(|a| a.admitted));
        for i in reading {
            let room = N_BATCH as usize - batch.n_tokens() as usize;
            if room == 0 {
                break;
            }
            let slot = &mut self.slots[i];
            let a = slot.active.as_mut().expect("active");
            let end = (a.decoded + room).min(a.prompt.len());
            for p in a.decoded..end {
                let last = p == a.prompt.len() - 1;
                batch
                    .add(a.prompt[p], p as i32, &[slot.seq], last)
                    .map_err(|e| local_err("batching the prompt", e))?;
                if last {
                    step.outputs.push((i, batch.n_tokens() - 1));
                }
            }
            slot.cached.extend_from_slice(&a.prompt[a.decoded..end]);
            step.read.push(i);
            step.n_prompt += end - a.decoded;
            a.decoded = end;
        }
        Ok(())
    }

    /// The step's time, split between prompt and generation by their share of its tokens.
    fn count(&mut self, step: &Step, decode_us: u64) {
        let total = (step.n_prompt + step.n_generating + step.n_forced).max(1) as u64;
        let prompt_us = decode_us * step.n_prompt as u64 / total;
        self.stats
            .prompt_tokens
            .fetch_add(step.n_prompt as u64, Ordering::Relaxed);
        self.stats
            .prompt_micros
            .fetch_add(prompt_us, Ordering::Relaxed);
        self.stats
            .generate_micros
            .fetch_add(decode_us - prompt_us, Ordering::Relaxed);
        for &i in &step.read {
            if let Some(a) = self.slots[i].active.as_mut() {
                a.prompt_micros += decode_us;
            }
        }
    }

    /// Slot `i` chooses its next token from the logits at batch index `at`: the end of its
    /// answer (a stop, or its token limit), or a token to decode with what the grammar forces
    /// after it.
    fn choose(&mut self, ctx: &mut LlamaContext<'_>, i: usize, at: i32) {
        let model = self.model;
        let vocab = model.vocab();
        let ts = Instant::now();
        let slot = &mut self.slots[i];
        let a = slot.active.as_mut().expect("active");
        let recent = &a.generated[a.generated.len().saturating_sub(REPEAT_WINDOW)..];
        let (token, path) = pick(ctx, at, a.grammar.as_mut(), recent, a.temperature, a.seed);
        let us = ts.elapsed().as_micros() as u64;
        self.stats.sample_micros.fetch_add(us, Ordering::Relaxed);
        self.stats.generate_micros.fetch_add(us, Ordering::Relaxed);
        match path {
            Path::Best => {}
            Path::Shortlist => {
                a.picks.0 += 1;
                self.stats.shortlist_picks.fetch_add(1, Ordering::Relaxed);
            }
            Path::Vocabulary => {
                a.picks.1 += 1;
                self.stats.vocabulary_picks.fetch_add(1, Ordering::Relaxed);
            }
        }
        let finish = if vocab.is_eog(token) {
            Some("stop")
        } else {
            a.text.extend(vocab.token_to_piece(token, false, None));
            a.generated.push(token);
            self.stats.generated_tokens.fetch_add(1, Ordering::Relaxed);
            if a.generated.len() as u32 >= a.max_tokens {
                Some("length")
            } else {
                a.feed.push(token);
                let n = force(model, a);
                self.stats
                    .generated_tokens
                    .fetch_add(n as u64, Ordering::Relaxed);
                self.stats
                    .forced_tokens
                    .fetch_add(n as u64, Ordering::Relaxed);
                None
            }
        };
        if let Some(finish) = finish {
            let a = slot.active.take().expect("active");
            self.finish(a, finish);
        }
    }
}

/// Queue the text the grammar forces after what `a` has written ([`crate::llm::local::forced`]): its
/// tokens are checked against the grammar and taken, written to the reply, and decoded in the
/// next step with the token chosen last. At most one token short of the call's bound, so that
/// the bound is still met by a choice. How many tokens were forced.
fn force(model: &LlamaModel, a: &mut Active) -> usize {
    let Some(grammar) = a.grammar.as_mut() else {
        return 0;
    };
    let Some(forcing) = a.forcing.as_ref() else {
        return 0;
    };
    // A token may end inside a character: then the model goes on choosing.
    let Ok(text) = std::str::from_utf8(&a.text) else {
        return 0;
    };
    let Some(rest) = forcing.continuation(text) else {
        return 0;
    };
    let vocab = model.vocab();
    // Split where the model would: the token just chosen and the rest tokenized together, when
    // that begins with the chosen token (" E" + "U-verordening" may be " EU" + "-verordening":
    // then the rest alone).
    let chosen = *a.generated.last().expect("a token was just chosen");
    let mut joined = vocab.token_to_piece(chosen, false, None);
    joined.extend_from_slice(rest.as_bytes());
    let tokens = match vocab.tokenize(&joined, false, false).split_first() {
        Some((&first, tail)) if first == chosen => tail.to_vec(),
        _ => vocab.tokenize(rest.as_bytes(), false, false),
    };
    let room = (a.max_tokens as usize).saturating_sub(a.generated.len() + 1);
    let mut n = 0;
    for token in tokens.into_iter().take(room) {
        if !take_if_allowed(grammar, token) {
            break;
        }
        a.text.extend(vocab.token_to_piece(token, false, None));
        a.generated.push(token);
        a.feed.push(token);
        n += 1;
    }
    a.forced += n;
    n
}
