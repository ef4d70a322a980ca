//! Picking the next token: logit bias and penalties, then greedy or temperature sampling
//! within `top_p`, and the log-probabilities a client asked for.
//!
//! Order (as vLLM applies them): `logit_bias` is added; `repetition_penalty` (HF's: a seen
//! token's positive logit is divided by it, a negative one multiplied) applies to every token
//! of the prompt and the completion; `presence_penalty` / `frequency_penalty` (OpenAI's:
//! `logit − presence·[count > 0] − frequency·count`) to the completion's. Temperature 0 is
//! greedy. With `top_p` = 1 a token is drawn by one pass over the probabilities, without
//! sorting the vocabulary; below 1 only the nucleus is sorted (the largest weights, chosen by
//! partial selection). Maxima, weights and sums are computed in vector lanes, since a batch of
//! 32 sequences samples one after the other on the engine thread: over SmolLM2's 49,152
//! logits a greedy pick takes ~5 µs (36 µs as a serial fold) and a draw at temperature 0.8
//! ~56 µs (251 µs with scalar `exp`). Log-probabilities are those of the
//! model's own distribution (log-softmax of the raw logits), so they do not depend on the
//! sampling parameters; the top alternatives are found by partial selection, O(vocabulary).

use super::Sampling;
use crate::model::kernels;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;

/// A seed for a request that names none.
pub(super) fn entropy_seed(counter: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ counter.rotate_left(32) ^ u64::from(std::process::id())
}

/// What penalties look at: the tokens seen so far.
#[derive(Clone, Default, Debug)]
pub struct History {
    /// Completion tokens and how often each came.
    counts: HashMap<u32, u32>,
    /// Prompt tokens (for `repetition_penalty`, which covers the prompt too).
    prompt: std::collections::HashSet<u32>,
}

impl History {
    /// A history that starts with `prompt` (kept only when a repetition penalty needs it).
    pub fn new(prompt: &[u32], sampling: &Sampling) -> Self {
        let prompt = if sampling.repetition_penalty != 1.0 {
            prompt.iter().copied().collect()
        } else {
            Default::default()
        };
        Self { counts: HashMap::new(), prompt }
    }

    /// Records a generated token.
    pub fn push(&mut self, token: u32) {
        let c = self.counts.entry(token).or_insert(0);
        *c = c.saturating_add(1);
    }
}

/// A token's log-probability and the most likely alternatives at its position.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenLogprobs {
    pub token: u32,
    pub logprob: f32,
    /// The `top` most likely tokens, most likely first.
    pub top: Vec<(u32, f32)>,
}

/// Picks a token with no history and no log-probabilities (benchmarks, tests).
pub fn sample(logits: &[f32], sampling: &Sampling, rng: &mut ChaCha8Rng) -> u32 {
    sample_with(logits, sampling, &History::default(), None, None, rng).0
}

/// Picks a token among those `allowed` (all by default); with `logprobs = Some(k)` also
/// reports its log-probability and the top `k`.
pub fn sample_with(
    logits: &[f32],
    sampling: &Sampling,
    history: &History,
    allowed: Option<&dyn Fn(usize) -> bool>,
    logprobs: Option<usize>,
    rng: &mut ChaCha8Rng,
) -> (u32, Option<TokenLogprobs>) {
    let adjusted = adjust(logits, sampling, history, allowed);
    let scores = adjusted.as_deref().unwrap_or(logits);
    let token = pick(scores, sampling, rng);
    let report = logprobs.map(|k| log_probs(logits, token, k));
    (token, report)
}

/// The logits after bias and penalties, or `None` when nothing changes them.
fn adjust(
    logits: &[f32],
    sampling: &Sampling,
    history: &History,
    allowed: Option<&dyn Fn(usize) -> bool>,
) -> Option<Vec<f32>> {
    let penalized = sampling.presence_penalty != 0.0
        || sampling.frequency_penalty != 0.0
        || sampling.repetition_penalty != 1.0;
    if sampling.logit_bias.is_empty() && !penalized && allowed.is_none() {
        return None;
    }
    let mut out = logits.to_vec();
    if let Some(allowed) = allowed {
        for (i, l) in out.iter_mut().enumerate() {
            if !allowed(i) {
                *l = f32::NEG_INFINITY;
            }
        }
    }
    for &(token, bias) in &sampling.logit_bias {
        if let Some(l) = out.get_mut(token as usize) {
            *l += bias;
        }
    }
    if sampling.repetition_penalty != 1.0 {
        let r = sampling.repetition_penalty;
        for &token in history.prompt.iter().chain(history.counts.keys()) {
            if let Some(l) = out.get_mut(token as usize) {
                *l = if *l > 0.0 { *l / r } else { *l * r };
            }
        }
    }
    for (&token, &count) in &history.counts {
        if let Some(l) = out.get_mut(token as usize) {
            *l -= sampling.presence_penalty + sampling.frequency_penalty * count as f32;
        }
    }
    Some(out)
}

/// The first of the highest scores (0 when none is above −∞): the maximum in vector lanes,
/// then a scan for it (a fold carrying the index is a serial chain: 36 µs for SmolLM2's
/// 49,152 logits, against a few here).
fn argmax(scores: &[f32]) -> u32 {
    let best = kernels::simd(
        #[inline(always)]
        || kernels::max(scores),
    );
    if best == f32::NEG_INFINITY {
        return 0;
    }
    scores.iter().position(|&v| v == best).and_then(|i| u32::try_from(i).ok()).unwrap_or(0)
}

/// Each score's weight `exp((l − max) / t)`, computed in vector lanes; exactly 0 for a score of
/// −∞ (masked out) and for one too far below the maximum to matter (under e⁻⁸⁷).
fn weights(scores: &[f32], max: f32, t: f32) -> Vec<f32> {
    let inv_t = 1.0 / t;
    kernels::simd(
        #[inline(always)]
        || {
            scores
                .iter()
                .map(|&l| {
                    let x = (l - max) * inv_t;
                    if x >= -87.0 {
                        kernels::exp(x)
                    } else {
                        0.0
                    }
                })
                .collect()
        },
    )
}

/// Weights per block of the draw's scan (see `pick`).
const SCAN_BLOCK: usize = 256;

/// Tokens drawn first when the nucleus is looked for: most nuclei are far smaller than the
/// vocabulary, so only the largest weights are sorted (4 times more while they fall short).
const NUCLEUS_FIRST: usize = 64;

fn pick(scores: &[f32], sampling: &Sampling, rng: &mut ChaCha8Rng) -> u32 {
    if sampling.temperature <= 0.0 {
        return argmax(scores);
    }
    let max = kernels::simd(
        #[inline(always)]
        || kernels::max(scores),
    );
    if !max.is_finite() {
        return argmax(scores);
    }
    let w = weights(scores, max, sampling.temperature);
    let total = kernels::simd(
        #[inline(always)]
        || kernels::sum(&w),
    );
    if !(total.is_finite() && total > 0.0) {
        return argmax(scores);
    }
    if sampling.top_p >= 1.0 {
        // No sort: the first token where the running mass passes the draw, found a block of
        // weights at a time (a block's sum in vector lanes), then within its block.
        let mut r = rng.random::<f32>() * total;
        for (b, block) in w.chunks(SCAN_BLOCK).enumerate() {
            let mass = kernels::simd(
                #[inline(always)]
                || kernels::sum(block),
            );
            if r - mass > 0.0 {
                r -= mass;
                continue;
            }
            for (i, &w) in block.iter().enumerate() {
                if w > 0.0 {
                    r -= w;
                    if r <= 0.0 {
                        let at = b.saturating_mul(SCAN_BLOCK).saturating_add(i);
                        return u32::try_from(at).unwrap_or(0);
                    }
                }
            }
        }
        // Rounding left some of the draw: the last token with any weight.
        let last = w.iter().rposition(|&w| w > 0.0).unwrap_or(0);
        return u32::try_from(last).unwrap_or(0);
    }
    let mut probs: Vec<(u32, f32)> = w
        .iter()
        .enumerate()
        .filter(|p| *p.1 > 0.0)
        .map(|(i, &w)| (u32::try_from(i).unwrap_or(0), w))
        .collect();
    let top_p = sampling.top_p.clamp(f32::MIN_POSITIVE, 1.0);
    let heavier = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1);
    // The nucleus: the fewest most likely tokens whose mass reaches `top_p`.
    let mut k = NUCLEUS_FIRST.min(probs.len());
    let kept = loop {
        if let Some(nth) = k.checked_sub(1).filter(|_| k < probs.len()) {
            probs.select_nth_unstable_by(nth, heavier);
        }
        let head = probs.get_mut(..k).unwrap_or_default();
        head.sort_unstable_by(heavier);
        let mut kept = 0usize;
        let mut mass = 0f32;
        for p in head.iter() {
            kept = kept.saturating_add(1);
            mass += p.1 / total;
            if mass >= top_p {
                break;
            }
        }
        if mass >= top_p || k >= probs.len() {
            break kept;
        }
        k = k.saturating_mul(4).min(probs.len());
    };
    let kept_probs = probs.get(..kept).unwrap_or(&probs);
    let kept_total: f32 = kept_probs.iter().map(|p| p.1).sum();
    let mut r = rng.random::<f32>() * kept_total;
    for p in kept_probs {
        r -= p.1;
        if r <= 0.0 {
            return p.0;
        }
    }
    kept_probs.last().map(|p| p.0).unwrap_or(0)
}

/// `token`'s log-probability under the model's distribution and the `k` most likely tokens.
fn log_probs(logits: &[f32], token: u32, k: usize) -> TokenLogprobs {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let log_total = logits.iter().map(|&l| (l - max).exp()).sum::<f32>().ln() + max;
    let lp = |i: usize| logits.get(i).map(|&l| l - log_total).unwrap_or(f32::NEG_INFINITY);
    let mut top: Vec<(u32, f32)> = Vec::new();
    if k > 0 {
        let mut ids: Vec<usize> = (0..logits.len()).collect();
        let k = k.min(ids.len());
        let by_logit = |a: &usize, b: &usize| {
            let (la, lb) = (logits.get(*a).copied(), logits.get(*b).copied());
            lb.unwrap_or(f32::NEG_INFINITY).total_cmp(&la.unwrap_or(f32::NEG_INFINITY))
        };
        if k < ids.len() {
            ids.select_nth_unstable_by(k.saturating_sub(1), by_logit);
            ids.truncate(k);
        }
        ids.sort_unstable_by(by_logit);
        top = ids.into_iter().map(|i| (u32::try_from(i).unwrap_or(0), lp(i))).collect();
    }
    TokenLogprobs { token, logprob: lp(token as usize), top }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn greedy() -> Sampling {
        Sampling::greedy()
    }

    #[test]
    fn bias_and_penalties_move_the_choice() {
        let logits = [1.0, 3.0, 2.0, 0.5];
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(sample(&logits, &greedy(), &mut rng), 1);
        let biased = Sampling { logit_bias: vec![(3, 10.0)], ..greedy() };
        assert_eq!(sample(&logits, &biased, &mut rng), 3);
        let banned = Sampling { logit_bias: vec![(1, -100.0)], ..greedy() };
        assert_eq!(sample(&logits, &banned, &mut rng), 2);
        // Token 1 came twice: a frequency penalty of 1 takes it from 3 to 1.
        let mut history = History::default();
        history.push(1);
        history.push(1);
        let freq = Sampling { frequency_penalty: 1.0, ..greedy() };
        assert_eq!(sample_with(&logits, &freq, &history, None, None, &mut rng).0, 2);
        // Presence counts once: 3 − 0.5 is still the best.
        let presence = Sampling { presence_penalty: 0.5, ..greedy() };
        assert_eq!(sample_with(&logits, &presence, &history, None, None, &mut rng).0, 1);
        // Repetition penalty covers the prompt: 3 / 2 < 2.
        let rep = Sampling { repetition_penalty: 2.0, ..greedy() };
        let history = History::new(&[1], &rep);
        assert_eq!(sample_with(&logits, &rep, &history, None, None, &mut rng).0, 2);
    }

    #[test]
    fn only_allowed_tokens_are_picked() {
        let logits = [1.0, 3.0, 2.0, 0.5];
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let odd = |i: usize| i % 2 == 1 && i != 1;
        let (t, _) =
            sample_with(&logits, &greedy(), &History::default(), Some(&odd), None, &mut rng);
        assert_eq!(t, 3);
        let warm = Sampling { temperature: 1.0, ..greedy() };
        for _ in 0..100 {
            let (t, _) =
                sample_with(&logits, &warm, &History::default(), Some(&odd), None, &mut rng);
            assert_eq!(t, 3);
        }
    }

    #[test]
    fn logprobs_are_the_models_and_the_top_ones_come_sorted() {
        let logits = [1.0f32, 3.0, 2.0, 0.5];
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let biased = Sampling { logit_bias: vec![(0, 50.0)], ..greedy() };
        let (token, lp) =
            sample_with(&logits, &biased, &History::default(), None, Some(2), &mut rng);
        assert_eq!(token, 0);
        let lp = lp.unwrap();
        let z: f32 = logits.iter().map(|l| l.exp()).sum::<f32>().ln();
        assert!((lp.logprob - (1.0 - z)).abs() < 1e-5, "{lp:?}");
        assert_eq!(lp.top.iter().map(|t| t.0).collect::<Vec<_>>(), vec![1, 2]);
        assert!((lp.top[0].1 - (3.0 - z)).abs() < 1e-5);
        let total: f32 = (0..4).map(|i| log_probs(&logits, i, 0).logprob.exp()).sum();
        assert!((total - 1.0).abs() < 1e-5);
    }

    #[test]
    fn sampling_at_top_p_one_follows_the_distribution_without_sorting() {
        let logits = [0.0f32, (3.0f32).ln(), f32::NEG_INFINITY];
        let s = Sampling { temperature: 1.0, ..greedy() };
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut counts = [0usize; 3];
        for _ in 0..20_000 {
            counts[sample(&logits, &s, &mut rng) as usize] += 1;
        }
        // 1 : 3, and never the impossible token.
        assert_eq!(counts[2], 0);
        let share = counts[1] as f64 / 20_000.0;
        assert!((share - 0.75).abs() < 0.02, "{counts:?}");
        // top_p keeps only the nucleus.
        let nucleus = Sampling { temperature: 1.0, top_p: 0.5, ..greedy() };
        assert!((0..200).all(|_| sample(&logits, &nucleus, &mut rng) == 1));
    }

    /// Over a vocabulary of several scan blocks, draws follow the distribution; a nucleus
    /// larger than the first partial selection grows until it holds `top_p`.
    #[test]
    fn draws_over_a_large_vocabulary_follow_the_distribution_and_the_nucleus() {
        // Tokens 512.. weigh 3 times tokens ..512: they hold 3/4 of the mass.
        let logits: Vec<f32> =
            (0..1024).map(|i| if i < 512 { 0.0 } else { (3.0f32).ln() }).collect();
        let s = Sampling { temperature: 1.0, ..greedy() };
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let upper = (0..20_000).filter(|_| sample(&logits, &s, &mut rng) >= 512).count();
        let share = upper as f64 / 20_000.0;
        assert!((share - 0.75).abs() < 0.02, "{share}");
        // 200 likely tokens (800..1000) among 1,000: a nucleus of 0.99 is ~198 of them.
        let logits: Vec<f32> = (0..1000).map(|i| if i >= 800 { 0.0 } else { -20.0 }).collect();
        let nucleus = Sampling { temperature: 1.0, top_p: 0.99, ..greedy() };
        let drawn: std::collections::HashSet<u32> =
            (0..5_000).map(|_| sample(&logits, &nucleus, &mut rng)).collect();
        assert!(drawn.iter().all(|&t| (800..1000).contains(&t)), "{drawn:?}");
        assert!(drawn.len() > 3 * NUCLEUS_FIRST / 2, "{}", drawn.len());
        // Greedy takes the first of equal maxima.
        assert_eq!(sample(&logits, &greedy(), &mut rng), 800);
    }
}
