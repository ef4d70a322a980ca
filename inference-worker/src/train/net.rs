//! The Llama forward pass as candle tensor operations, LoRA on the chosen projections, so that
//! candle's autograd gives the adapter's gradients.
//!
//! The base weights are plain tensors (not variables): autograd records nothing along paths
//! that only touch them, so the graph holds the activations the adapter's gradients need and
//! no gradient of a base weight is kept. The arithmetic follows the serving forward pass
//! (`model::forward`) in HF layout: RMSNorm, rotary embedding over the two halves of each
//! head, grouped-query causal attention, SwiGLU; a test checks that both give the same logits.

use crate::{
    error::{Error, Result},
    lora::{peft_key, AdapterConfig},
    model::{Config, DenseWeights, Target},
};
use candle_core::{DType, Device, Tensor, Var, D};
use rand::{Rng, SeedableRng};
use std::{collections::HashMap, path::Path};

/// The trainable adapter: `A` (`[r, in]`) and `B` (`[out, r]`) per layer and target.
pub struct LoraParams {
    pub rank: usize,
    pub alpha: f32,
    pub targets: Vec<Target>,
    /// `[layer][Target::index]`.
    pairs: Vec<Vec<Option<(Var, Var)>>>,
}

impl LoraParams {
    /// A fresh adapter: `A` uniform in `±1/√in` (PEFT's Kaiming init) from `seed`, `B = 0`, so
    /// the adapted model starts equal to the base.
    pub fn init(
        cfg: &Config,
        targets: &[Target],
        rank: usize,
        alpha: f32,
        seed: u64,
        device: &Device,
    ) -> Result<Self> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut pairs = Vec::with_capacity(cfg.layers);
        for _ in 0..cfg.layers {
            let mut row: Vec<Option<(Var, Var)>> = vec![None; Target::ALL.len()];
            for &target in Target::ALL.iter().filter(|t| targets.contains(t)) {
                let (in_dim, out_dim) = cfg.dims(target);
                let bound = 1.0 / (in_dim as f32).sqrt();
                let a: Vec<f32> = (0..rank.saturating_mul(in_dim))
                    .map(|_| rng.random_range(-bound..bound))
                    .collect();
                let a = Var::from_tensor(&Tensor::from_vec(a, (rank, in_dim), device)?)?;
                let b = Var::zeros((out_dim, rank), DType::F32, device)?;
                if let Some(slot) = row.get_mut(target.index()) {
                    *slot = Some((a, b));
                }
            }
            pairs.push(row);
        }
        let mut targets = targets.to_vec();
        targets.sort_by_key(|t| t.index());
        targets.dedup();
        Ok(Self { rank, alpha, targets, pairs })
    }

    /// `alpha / r`, PEFT's scale.
    pub fn scale(&self) -> f32 {
        self.alpha / self.rank.max(1) as f32
    }

    /// `(A, B)` of `layer`'s `target`.
    pub fn pair(&self, layer: usize, target: Target) -> Option<&(Var, Var)> {
        self.pairs.get(layer).and_then(|l| l.get(target.index())).and_then(Option::as_ref)
    }

    /// Every variable with its PEFT name, in a fixed order (layer, target, A before B).
    pub fn named_vars(&self) -> Vec<(String, &Var)> {
        let mut out = Vec::new();
        for (layer, row) in self.pairs.iter().enumerate() {
            for (target, pair) in Target::ALL.iter().zip(row) {
                if let Some((a, b)) = pair {
                    out.push((peft_key(layer, *target, true), a));
                    out.push((peft_key(layer, *target, false), b));
                }
            }
        }
        out
    }

    /// Sets every variable from `tensors` (by PEFT name), checking shapes.
    pub fn load(&self, tensors: &HashMap<String, Tensor>) -> Result<()> {
        for (name, var) in self.named_vars() {
            let t = tensors
                .get(&name)
                .ok_or_else(|| Error::Model(format!("checkpoint lacks {name}")))?;
            if t.dims() != var.dims() {
                return Err(Error::Model(format!("checkpoint's {name} has the wrong shape")));
            }
            var.set(&t.to_dtype(DType::F32)?.to_device(var.device())?)?;
        }
        Ok(())
    }

    /// Writes the adapter in PEFT format into `dir` and returns its id (the content hash the
    /// worker serves it under).
    pub fn save_peft(&self, dir: &Path, base_name: &str) -> Result<String> {
        let config = AdapterConfig::plain(self.rank, self.alpha, &self.targets, base_name);
        let tensors = self
            .named_vars()
            .into_iter()
            .map(|(name, var)| Ok((name, var.as_tensor().to_device(&Device::Cpu)?)))
            .collect::<Result<Vec<_>>>()?;
        crate::lora::write_peft(dir, &config, tensors)
    }
}

/// One micro-batch: `b` sequences right-padded to `t` tokens, and which positions predict a
/// trained token.
pub struct Batch {
    /// `[b, t]` token ids.
    pub ids: Tensor,
    /// Flattened positions (`seq · t + pos`) whose next token is trained on.
    pub rows: Tensor,
    /// The token each of `rows` must predict.
    pub targets: Tensor,
    /// `rows.len()`.
    pub count: usize,
}

impl Batch {
    /// Builds a batch from `(tokens, trained)` pairs: `trained[i]` says whether token `i` is
    /// a target (so position `i - 1` predicts it). Sequences need at least two tokens.
    pub fn new(seqs: &[(&[u32], &[bool])], device: &Device) -> Result<Self> {
        let t = seqs.iter().map(|(ids, _)| ids.len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(seqs.len().saturating_mul(t));
        let mut rows = Vec::new();
        let mut targets = Vec::new();
        for (s, (tokens, trained)) in seqs.iter().enumerate() {
            ids.extend_from_slice(tokens);
            ids.extend(std::iter::repeat_n(0u32, t.saturating_sub(tokens.len())));
            for (i, (&tok, &on)) in tokens.iter().zip(trained.iter()).enumerate().skip(1) {
                if on {
                    let row = s.saturating_mul(t).saturating_add(i).saturating_sub(1);
                    rows.push(
                        u32::try_from(row).map_err(|_| Error::Model("batch too big".into()))?,
                    );
                    targets.push(tok);
                }
            }
        }
        let count = rows.len();
        Ok(Self {
            ids: Tensor::from_vec(ids, (seqs.len(), t), device)?,
            rows: Tensor::from_vec(rows, count, device)?,
            targets: Tensor::from_vec(targets, count, device)?,
            count,
        })
    }
}

fn rms_norm(x: &Tensor, w: &Tensor, eps: f32) -> Result<Tensor> {
    let ms = x.sqr()?.mean_keepdim(D::Minus1)?;
    Ok(x.broadcast_div(&ms.affine(1.0, f64::from(eps))?.sqrt()?)?.broadcast_mul(w)?)
}

/// `x [n, in] · Wᵀ`, plus the adapter's `scale · x·Aᵀ·Bᵀ` when it adapts this projection.
fn project(
    x: &Tensor,
    weights: &DenseWeights,
    lora: Option<&LoraParams>,
    layer: usize,
    target: Target,
) -> Result<Tensor> {
    let wt = weights
        .layers
        .get(layer)
        .and_then(|l| l.linears_t.get(target.index()))
        .ok_or_else(|| Error::Model(format!("layer {layer} lacks {}", target.peft_name())))?;
    let y = frozen_matmul(x, wt)?;
    match lora.and_then(|l| l.pair(layer, target).map(|p| (l.scale(), p))) {
        Some((scale, (a, b))) => {
            let delta = x.matmul(&a.as_tensor().t()?)?.matmul(&b.as_tensor().t()?)?;
            Ok(y.add(&delta.affine(f64::from(scale), 0.0)?)?)
        }
        None => Ok(y),
    }
}

/// `x [n, in] · wt [in, out]` for a weight that is not trained.
///
/// candle's own matmul differentiates with respect to both operands, so through a frozen
/// weight it would compute (and allocate) a weight-sized gradient nobody reads: a third of a
/// step's arithmetic and most of its memory. On the CPU this op gives autograd the input's
/// gradient only (`grad · wtᵀ`); elsewhere the plain matmul runs.
fn frozen_matmul(x: &Tensor, wt: &Tensor) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == DType::F32 && wt.dtype() == DType::F32 {
        Ok(x.contiguous()?.apply_op1(Frozen { wt: wt.clone() })?)
    } else {
        Ok(x.matmul(wt)?)
    }
}

struct Frozen {
    wt: Tensor,
}

impl candle_core::CustomOp1 for Frozen {
    fn name(&self) -> &'static str {
        "frozen-matmul"
    }

    fn cpu_fwd(
        &self,
        storage: &candle_core::CpuStorage,
        layout: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let candle_core::CpuStorage::F32(data) = storage else {
            candle_core::bail!("frozen-matmul takes f32")
        };
        let (rows, cols) = layout.shape().dims2()?;
        let x = layout.contiguous_offsets().and_then(|(from, to)| data.get(from..to)).ok_or_else(
            || candle_core::Error::Msg("frozen-matmul takes a contiguous input".into()),
        )?;
        let y = Tensor::from_slice(x, (rows, cols), &Device::Cpu)?.matmul(&self.wt)?;
        let shape = y.shape().clone();
        Ok((candle_core::CpuStorage::F32(y.flatten_all()?.to_vec1::<f32>()?), shape))
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(grad.matmul(&self.wt.t()?)?))
    }
}

/// Rotates `x` (`[b, heads, t, head_dim]`) by position, HF style (halves).
fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    let half = x.dim(D::Minus1)? / 2;
    let x1 = x.narrow(D::Minus1, 0, half)?;
    let x2 = x.narrow(D::Minus1, half, half)?;
    let first = x1.broadcast_mul(cos)?.sub(&x2.broadcast_mul(sin)?)?;
    let second = x2.broadcast_mul(cos)?.add(&x1.broadcast_mul(sin)?)?;
    Ok(Tensor::cat(&[first, second], D::Minus1)?)
}

/// The final hidden states (after the last norm), `[b · t, hidden]`.
pub fn hidden_states(
    cfg: &Config,
    weights: &DenseWeights,
    lora: Option<&LoraParams>,
    ids: &Tensor,
) -> Result<Tensor> {
    let (b, t) = ids.dims2()?;
    if t > cfg.context {
        return Err(Error::invalid(
            "max_len",
            format!("{t} tokens exceed the context of {}", cfg.context),
        ));
    }
    let n = b.saturating_mul(t);
    let device = ids.device();
    let (heads, kv_heads, hd) = (cfg.heads, cfg.kv_heads, cfg.head_dim);
    let group = cfg.group();
    let mut x = weights.embed.index_select(&ids.flatten_all()?, 0)?;
    let cos = weights.rope_cos.narrow(0, 0, t)?;
    let sin = weights.rope_sin.narrow(0, 0, t)?;
    let mask: Vec<f32> = (0..t)
        .flat_map(|i| (0..t).map(move |j| if j > i { f32::NEG_INFINITY } else { 0.0 }))
        .collect();
    let mask = Tensor::from_vec(mask, (t, t), device)?;
    let scale = 1.0 / (hd as f64).sqrt();
    for (li, layer) in weights.layers.iter().enumerate() {
        let h = rms_norm(&x, &layer.attn_norm, cfg.rms_eps)?;
        let q = project(&h, weights, lora, li, Target::Q)?;
        let k = project(&h, weights, lora, li, Target::K)?;
        let v = project(&h, weights, lora, li, Target::V)?;
        let q = q.reshape((b, t, heads, hd))?.transpose(1, 2)?.contiguous()?;
        let k = k.reshape((b, t, kv_heads, hd))?.transpose(1, 2)?.contiguous()?;
        let v = v.reshape((b, t, kv_heads, hd))?.transpose(1, 2)?.contiguous()?;
        let q = rope(&q, &cos, &sin)?;
        let k = rope(&k, &cos, &sin)?;
        let expand = |kv: Tensor| -> Result<Tensor> {
            if group == 1 {
                return Ok(kv);
            }
            Ok(kv
                .unsqueeze(2)?
                .broadcast_as((b, kv_heads, group, t, hd))?
                .contiguous()?
                .reshape((b, heads, t, hd))?)
        };
        let k = expand(k)?;
        let v = expand(v)?;
        let scores = q.matmul(&k.t()?.contiguous()?)?.affine(scale, 0.0)?.broadcast_add(&mask)?;
        let max = scores.max_keepdim(D::Minus1)?.detach();
        let e = scores.broadcast_sub(&max)?.exp()?;
        let p = e.broadcast_div(&e.sum_keepdim(D::Minus1)?)?;
        let attn =
            p.matmul(&v)?.transpose(1, 2)?.contiguous()?.reshape((n, heads.saturating_mul(hd)))?;
        x = x.add(&project(&attn, weights, lora, li, Target::O)?)?;
        let h = rms_norm(&x, &layer.ffn_norm, cfg.rms_eps)?;
        let gate = project(&h, weights, lora, li, Target::Gate)?.silu()?;
        let up = project(&h, weights, lora, li, Target::Up)?;
        x = x.add(&project(&gate.mul(&up)?, weights, lora, li, Target::Down)?)?;
    }
    rms_norm(&x, &weights.norm, cfg.rms_eps)
}

/// The summed negative log-likelihood of the batch's trained tokens (a scalar).
pub fn nll_sum(
    cfg: &Config,
    weights: &DenseWeights,
    lora: Option<&LoraParams>,
    batch: &Batch,
) -> Result<Tensor> {
    let hidden = hidden_states(cfg, weights, lora, &batch.ids)?;
    let picked = hidden.index_select(&batch.rows, 0)?;
    let logits = frozen_matmul(&picked, &weights.head_t)?;
    let lse = logits.log_sum_exp(D::Minus1)?;
    let chosen = logits.gather(&batch.targets.unsqueeze(1)?, 1)?.squeeze(1)?;
    Ok(lse.sub(&chosen)?.sum_all()?)
}

/// Logits for every position of one sequence, `[t, vocab]` (tests, evaluation by hand).
pub fn logits(
    cfg: &Config,
    weights: &DenseWeights,
    lora: Option<&LoraParams>,
    tokens: &[u32],
) -> Result<Tensor> {
    let ids = Tensor::from_slice(tokens, (1, tokens.len()), weights.embed.device())?;
    Ok(hidden_states(cfg, weights, lora, &ids)?.matmul(&weights.head_t)?)
}
