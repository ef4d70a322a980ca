//! Picking the next token.

use super::Sampling;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A seed for a request that names none.
pub(super) fn entropy_seed(counter: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ counter.rotate_left(32) ^ u64::from(std::process::id())
}

/// Picks a token: greedy at temperature 0, otherwise nucleus sampling at `top_p`.
pub fn sample(logits: &[f32], sampling: &Sampling, rng: &mut ChaCha8Rng) -> u32 {
    let argmax = || {
        logits
            .iter()
            .enumerate()
            .fold(
                (0usize, f32::NEG_INFINITY),
                |best, (i, &v)| if v > best.1 { (i, v) } else { best },
            )
            .0
    };
    if sampling.temperature <= 0.0 {
        return u32::try_from(argmax()).unwrap_or(0);
    }
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut probs: Vec<(u32, f32)> = logits
        .iter()
        .enumerate()
        .map(|(i, &l)| (u32::try_from(i).unwrap_or(0), ((l - max) / sampling.temperature).exp()))
        .collect();
    let total: f32 = probs.iter().map(|p| p.1).sum();
    if !(total.is_finite() && total > 0.0) {
        return u32::try_from(argmax()).unwrap_or(0);
    }
    probs.sort_unstable_by(|a, b| b.1.total_cmp(&a.1));
    let top_p = sampling.top_p.clamp(f32::MIN_POSITIVE, 1.0);
    let mut kept = 0usize;
    let mut mass = 0f32;
    for p in &probs {
        kept = kept.saturating_add(1);
        mass += p.1 / total;
        if mass >= top_p {
            break;
        }
    }
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
