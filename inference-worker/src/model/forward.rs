//! One step over many sequences (see the module docs of `model`).

use super::*;
use crate::{
    error::{Error, Result},
    lora::LoraWeights,
};

/// Steps with at least this many rows spread attention over threads.
const PARALLEL_ROWS: usize = 64;
/// Rows of one adapter handled by one LoRA work item.
const LORA_CHUNK: usize = 16;
/// Steps with at least this many sequences spread attention over threads (it is bound by
/// reading the KV caches, and two cores read faster than one).
const PARALLEL_SEQS: usize = 4;

/// One sequence's part of a step.
pub struct SeqStep<'a> {
    /// The new tokens (a prompt or one decoded token); at least one.
    pub tokens: &'a [u32],
    pub cache: &'a mut KvCache,
    pub lora: Option<&'a LoraWeights>,
    /// Return logits for every new token rather than the last one only (tests).
    pub all_logits: bool,
}

impl Model {
    /// Runs one step: appends every sequence's tokens to its cache and returns its logits
    /// (`[vocab]` for the last token, or `[tokens, vocab]` with `all_logits`).
    // Row offsets are products of the validated shapes and the step's row count (bounded by
    // the context checks at the top); they cannot overflow.
    #[allow(clippy::arithmetic_side_effects)]
    pub fn forward(&self, seqs: &mut [SeqStep<'_>]) -> Result<Vec<Vec<f32>>> {
        let vocab = self.config.vocab.max(1);
        let (logits, counts) = self.forward_rows(seqs)?;
        let mut chunks = logits.chunks_exact(vocab);
        Ok(counts
            .into_iter()
            .map(|n| (0..n).flat_map(|_| chunks.next().unwrap_or(&[])).copied().collect())
            .collect())
    }

    /// As [`Model::forward`], with every sequence's logits in one buffer, in order
    /// (`[rows, vocab]`), and the number of rows of each: a batch-32 decode step does not copy
    /// its 6 MB of logits once more.
    // Row offsets as in `forward`.
    #[allow(clippy::arithmetic_side_effects)]
    pub fn forward_rows(&self, seqs: &mut [SeqStep<'_>]) -> Result<(Vec<f32>, Vec<usize>)> {
        let cfg = &self.config;
        let hidden = cfg.hidden;
        // Row bookkeeping: which sequence each row belongs to and its position.
        // The step's adapters, each with its rows (found once per step, not per projection).
        let mut adapters: Vec<(&LoraWeights, Vec<usize>)> = Vec::new();
        let mut positions: Vec<usize> = Vec::new();
        let mut segments: Vec<(usize, usize)> = Vec::with_capacity(seqs.len());
        for seq in seqs.iter_mut() {
            if seq.tokens.is_empty() {
                return Err(Error::invalid("tokens", "a step needs at least one token"));
            }
            let start = seq.cache.len;
            let end = start.saturating_add(seq.tokens.len());
            if end > cfg.context {
                return Err(Error::invalid(
                    "prompt",
                    format!("{end} tokens exceed the context of {}", cfg.context),
                ));
            }
            if let Some(l) = seq.lora {
                l.check_layers(cfg.layers)?;
            }
            seq.cache.reserve(end);
            segments.push((positions.len(), seq.tokens.len()));
            positions.extend(start..end);
            if let Some(l) = seq.lora {
                let rows = positions.len() - seq.tokens.len()..positions.len();
                match adapters.iter_mut().find(|(a, _)| std::ptr::eq(*a, l)) {
                    Some((_, r)) => r.extend(rows),
                    None => adapters.push((l, rows.collect())),
                }
            }
        }
        let rows = positions.len();
        let mut x = Vec::with_capacity(rows.saturating_mul(hidden));
        for seq in seqs.iter() {
            for &t in seq.tokens {
                let row = usize::try_from(t)
                    .ok()
                    .and_then(|t| t.checked_mul(hidden))
                    .and_then(|s| self.embed.get(s..s.saturating_add(hidden)))
                    .ok_or_else(|| {
                        Error::invalid("tokens", format!("token id {t} out of range"))
                    })?;
                x.extend_from_slice(row);
            }
        }
        // The last projection's output, added to `x` by the next norm (fused with it).
        let mut residual: Option<Vec<f32>> = None;
        // The normed input of each projection group, one buffer for the step.
        let mut h = Vec::new();
        for (li, layer) in self.layers.iter().enumerate() {
            match residual.take() {
                Some(d) => kernels::add_rms_norm(&mut x, &d, &layer.attn_norm, cfg.rms_eps, &mut h),
                None => kernels::rms_norm_into(&x, &layer.attn_norm, cfg.rms_eps, &mut h),
            }
            let qkv =
                self.project(layer, li, &[Target::Q, Target::K, Target::V], &h, rows, &adapters)?;
            let Ok::<[Vec<f32>; 3], _>([mut q, mut k, v]) = qkv.try_into() else {
                return Err(Error::Model("q/k/v projection count".into()));
            };
            let kv_row = cfg.kv_heads * cfg.head_dim;
            let q_row = cfg.heads * cfg.head_dim;
            // Each sequence rotates its new queries and keys, writes its keys and values into
            // its cache and attends over it: one work item per sequence (on the pool for large
            // steps; for a small decode step the fork/join costs more than it saves).
            let (q_parts, k_parts) =
                (split_rows(&mut q, &segments, q_row), split_rows(&mut k, &segments, kv_row));
            let cells: Vec<std::sync::Mutex<AttendItem<'_, '_>>> = seqs
                .iter_mut()
                .zip(&segments)
                .zip(q_parts.into_iter().zip(k_parts))
                .map(|((seq, &seg), qk)| std::sync::Mutex::new((&mut *seq.cache, seg, qk)))
                .collect();
            let attend = |i: usize| -> Vec<f32> {
                let Some(Ok(mut cell)) = cells.get(i).map(|c| c.lock()) else {
                    return Vec::new();
                };
                let (cache, (first, n), (qs, ks)) = &mut *cell;
                let (Some(vs), Some(at)) = (
                    v.get(*first * kv_row..(*first + *n) * kv_row),
                    positions.get(*first..*first + *n),
                ) else {
                    return Vec::new();
                };
                // A short part (never, with the sizes checked above) gives no output, which
                // the size check below refuses.
                if qs.len() != *n * q_row || ks.len() != *n * kv_row {
                    return Vec::new();
                }
                let (cos, sin) = (&self.rope_cos, &self.rope_sin);
                kernels::rope(qs, cfg.head_dim, at, cos, sin, self.layout);
                kernels::rope(ks, cfg.head_dim, at, cos, sin, self.layout);
                cache.put(li, ks, vs);
                cache.attend(li, qs, cfg)
            };
            let attn: Vec<Vec<f32>> = if cells.len() >= PARALLEL_SEQS || rows >= PARALLEL_ROWS {
                parallel_map(cells.len(), attend)
            } else {
                (0..cells.len()).map(attend).collect()
            };
            drop(cells);
            let attn: Vec<f32> = attn.concat();
            if attn.len() != rows * q_row {
                return Err(Error::Model("attention output has the wrong size".into()));
            }
            let o = self.project(layer, li, &[Target::O], &attn, rows, &adapters)?;
            let o = o.into_iter().next().unwrap_or_default();
            if o.len() != x.len() {
                return Err(Error::Model("output projection has the wrong size".into()));
            }
            kernels::add_rms_norm(&mut x, &o, &layer.ffn_norm, cfg.rms_eps, &mut h);
            let gate_up =
                self.project(layer, li, &[Target::Gate, Target::Up], &h, rows, &adapters)?;
            let Ok::<[Vec<f32>; 2], _>([gate, up]) = gate_up.try_into() else {
                return Err(Error::Model("gate/up projection count".into()));
            };
            let act = kernels::silu_mul(gate, &up);
            let down = self.project(layer, li, &[Target::Down], &act, rows, &adapters)?;
            let down = down.into_iter().next().unwrap_or_default();
            if down.len() != x.len() {
                return Err(Error::Model("down projection has the wrong size".into()));
            }
            residual = Some(down);
        }
        if let Some(d) = residual {
            kernels::add_assign(&mut x, &d);
        }
        for (seq, &(_, n)) in seqs.iter_mut().zip(&segments) {
            seq.cache.len = seq.cache.len.saturating_add(n);
        }
        // Logits for the rows asked for only: the vocabulary projection is the largest matmul.
        let mut picked = Vec::new();
        let mut counts = Vec::with_capacity(seqs.len());
        for (seq, &(first, n)) in seqs.iter().zip(&segments) {
            let range = if seq.all_logits { first..first + n } else { first + n - 1..first + n };
            counts.push(range.len());
            let rows = x
                .get(range.start * hidden..range.end * hidden)
                .ok_or_else(|| Error::Model("row bookkeeping out of range".into()))?;
            picked.extend_from_slice(rows);
        }
        let picked_rows: usize = counts.iter().sum();
        let normed = kernels::rms_norm(&picked, &self.norm, cfg.rms_eps);
        let logits = self.head.forward_host(&normed, picked_rows, &self.device)?;
        if logits.len() != picked_rows * cfg.vocab {
            return Err(Error::Model("logits have the wrong size".into()));
        }
        Ok((logits, counts))
    }

    /// For each of `targets` (projections that share the input `x`), `x·Wᵀ` plus, per row,
    /// that row's adapter `x·Aᵀ·(scale·B)ᵀ`.
    // Row offsets are below `rows · dim`, the sizes of the buffers they index.
    #[allow(clippy::arithmetic_side_effects)]
    fn project(
        &self,
        layer: &Layer,
        li: usize,
        targets: &[Target],
        x: &[f32],
        rows: usize,
        adapters: &[(&LoraWeights, Vec<usize>)],
    ) -> Result<Vec<Vec<f32>>> {
        let lins = targets
            .iter()
            .map(|&t| {
                layer
                    .linear(t)
                    .ok_or_else(|| Error::Model(format!("layer {li} has no {}", t.peft_name())))
            })
            .collect::<Result<Vec<_>>>()?;
        let (mut ys, acts) = Linear::forward_host_shared(&lins, x, rows, &self.device)?;
        // Rows that share an adapter are done together, so each adapter is read once per work
        // item rather than once per row (S-LoRA/Punica's point). A work item is one adapter and
        // at most `LORA_CHUNK` of its rows, over every target of the group: it reads the
        // adapter's part of the group as one stream (its tiles are packed in that order, see
        // `LoraWeights`), since the step is bound by reading adapters when they are many (a
        // software prefetch of the next item's adapter gained nothing measurable over the
        // hardware's on that stream). Items run in parallel: distinct adapters, and a prompt's
        // rows because they are many. Each computes its rows' updates in its own buffer and
        // adds each to its output row, which no other item of this projection touches (a row
        // has one adapter), behind the row's own uncontended lock; a row's arithmetic is the
        // same whatever item it lands in, so a request gives the same result alone or in any
        // batch.
        type Item<'a> = (&'a LoraWeights, &'a [usize]);
        let mut items: Vec<Item<'_>> = Vec::new();
        for (lora, rows) in adapters {
            if targets.iter().any(|&t| lora.pair(li, t).is_some()) {
                items.extend(rows.chunks(LORA_CHUNK).map(|c| (*lora, c)));
            }
        }
        if items.is_empty() {
            return Ok(ys);
        }
        let outs: Vec<Vec<std::sync::Mutex<&mut [f32]>>> = ys
            .iter_mut()
            .zip(&lins)
            .map(|(y, lin)| {
                y.chunks_exact_mut(lin.out_dim.max(1)).map(std::sync::Mutex::new).collect()
            })
            .collect();
        let run = |i: usize| {
            let Some(&(lora, rows)) = items.get(i) else { return };
            for (ti, &target) in targets.iter().enumerate() {
                let Some(pair) = lora.pair(li, target) else { continue };
                let out_dim = pair.out_dim;
                // The item's updates, in a buffer this thread reuses (see `LoraPair::apply`).
                DELTA.with_borrow_mut(|d| {
                    d.clear();
                    d.resize(rows.len() * out_dim, 0.0);
                    pair.apply(x, acts.as_ref(), rows, d);
                    let Some(out) = outs.get(ti) else { return };
                    for (&r, delta) in rows.iter().zip(d.chunks_exact(out_dim.max(1))) {
                        if let Some(Ok(mut y)) = out.get(r).map(|y| y.lock()) {
                            if y.len() == delta.len() {
                                kernels::add_assign(&mut y, delta);
                            }
                        }
                    }
                });
            }
        };
        if items.len() > 1 {
            parallel_map(items.len(), run);
        } else {
            (0..items.len()).for_each(run);
        }
        drop(outs);
        Ok(ys)
    }
}

/// A sequence's part of a layer's attention: its cache, its rows (first, count), and its
/// new queries and keys.
type AttendItem<'c, 'x> = (&'c mut KvCache, (usize, usize), (&'x mut [f32], &'x mut [f32]));

/// `x` (`[rows, row]`) cut into the rows of each segment (`(first, count)`, in order and
/// contiguous); a segment past the end gets what is left (the attention item checks the sizes).
#[allow(clippy::arithmetic_side_effects)]
fn split_rows<'x>(x: &'x mut [f32], segments: &[(usize, usize)], row: usize) -> Vec<&'x mut [f32]> {
    let mut rest = x;
    segments
        .iter()
        .map(|&(_, n)| {
            let take = (n * row).min(rest.len());
            let (part, tail) = std::mem::take(&mut rest).split_at_mut(take);
            rest = tail;
            part
        })
        .collect()
}

thread_local! {
    /// A work item's adapter updates (see `Model::project`).
    static DELTA: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `f(0) … f(n - 1)` on candle's CPU thread pool, the one the matmuls run on (`qgemm`): one
/// pool for every parallel part of a step, so its workers stay warm between the parts (a pool
/// woken from sleep costs tens of microseconds per region, and a step has ~100 regions).
pub(crate) fn parallel_map<T: Send + Default>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let slots: Vec<std::sync::Mutex<T>> =
        (0..n).map(|_| std::sync::Mutex::new(T::default())).collect();
    candle_core::utils::barrier_pool().execute_chunked(n, |range| {
        for i in range {
            if let Some(Ok(mut slot)) = slots.get(i).map(|s| s.lock()) {
                *slot = f(i);
            }
        }
    });
    slots.into_iter().map(|s| s.into_inner().unwrap_or_default()).collect()
}

/// `f` on every part (a work item's disjoint slices, each behind its own uncontended lock),
/// on the pool when there are several.
pub(crate) fn in_parts<T: Send>(parts: &[std::sync::Mutex<T>], f: impl Fn(&mut T) + Sync) {
    let run = |i: usize| {
        if let Some(Ok(mut p)) = parts.get(i).map(|p| p.lock()) {
            f(&mut p);
        }
    };
    if parts.len() > 1 {
        parallel_map(parts.len(), run);
    } else {
        (0..parts.len()).for_each(run);
    }
}
