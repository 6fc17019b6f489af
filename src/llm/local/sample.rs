//! Choosing the next token: greedy (or tempered) over the logits, with a mild repetition
//! penalty, and under a grammar when the call asked for a JSON Schema.

use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;

/// How many recent tokens the repetition penalty looks at, and how hard it pushes. Small models
/// decoding greedily fall into loops; a mild penalty keeps them out without touching the
/// structure, which the grammar enforces anyway.
pub(super) const REPEAT_WINDOW: usize = 64;
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
pub(super) enum Path {
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
pub(super) fn pick(
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

/// Whether the grammar allows `token` next; if so it is taken (for text the grammar forces,
/// [`super::forced`]).
pub(super) fn take_if_allowed(g: &mut LlamaSampler, token: LlamaToken) -> bool {
    use llama_cpp_2::token::data::LlamaTokenData;
    use llama_cpp_2::token::data_array::LlamaTokenDataArray;
    let mut one = LlamaTokenDataArray::new(vec![LlamaTokenData::new(token, 0.0, 0.0)], false);
    one.apply_sampler(g);
    let ok = one.data.first().is_some_and(|d| d.logit().is_finite());
    if ok {
        g.accept(token);
    }
    ok
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
