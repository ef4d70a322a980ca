//! LoRA fine-tuning (the Model Factory's trainer) on the worker's own model code.
//!
//! # What it trains
//! A fresh LoRA adapter (`A` from the seed, `B = 0`, so training starts from the base model's
//! exact outputs) on the chosen projections of a dense f32 copy of the base model (a GGUF file
//! dequantized, or HF safetensors), through the forward pass in [`net`] differentiated by
//! candle's autograd. The base weights are never changed; the result is a PEFT adapter the
//! worker serves over the same base (quantized or not).
//!
//! # A step
//! One optimizer step covers `batch_size × grad_accum` examples: `grad_accum` micro-batches
//! of `batch_size` sequences, each right-padded to its longest. The loss is the mean
//! negative log-likelihood over every trained token of the step (prompt tokens of chat data
//! are not trained on, see [`data`]); each micro-batch's gradient is taken of its share of
//! that mean, so accumulating gives the same gradient as one big batch. Gradients are clipped
//! to a global norm, then AdamW ([`optim`]) updates the adapter at the scheduled rate.
//!
//! # Determinism
//! The adapter's initial `A`, the held-out split and each epoch's order come from the seed;
//! nothing else is random (no dropout) and the CPU kernels reduce in a fixed order, so two
//! runs with the same seed, data and hyper-parameters give the same adapter bit for bit, and
//! a run resumed from a checkpoint gives the same adapter as one that was never stopped.
//!
//! # Checkpoints
//! See [`checkpoint`]: the adapter, the optimizer's moments and the step, written atomically
//! and refused on resume unless they belong to the same base, data and hyper-parameters.

pub mod checkpoint;
pub mod data;
pub mod job;
pub mod jobs;
pub mod net;
pub mod optim;

use crate::{
    error::{Error, Result},
    model::{Config, DenseWeights, Target},
};
use candle_core::{Device, Tensor, Var};
use data::Example;
use net::{Batch, LoraParams};
use optim::{AdamW, AdamWParams, Schedule};
use serde::{Deserialize, Serialize};

/// Training hyper-parameters (the fields of a fine-tuning job's `hyperparameters`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Hyper {
    /// LoRA rank `r` (1–256).
    pub rank: usize,
    /// LoRA `alpha` (the update is scaled by `alpha / r`).
    pub alpha: f32,
    /// PEFT module names to adapt (`q_proj`, `k_proj`, `v_proj`, `o_proj`, `gate_proj`,
    /// `up_proj`, `down_proj`).
    pub target_modules: Vec<String>,
    /// Peak learning rate (after warm-up).
    pub learning_rate: f64,
    pub schedule: Schedule,
    /// Optimizer steps of linear warm-up.
    pub warmup_steps: u64,
    /// Passes over the training split (ignored when `max_steps` is set).
    pub epochs: u64,
    /// Optimizer steps to take (overrides `epochs`).
    pub max_steps: Option<u64>,
    /// Sequences per micro-batch.
    pub batch_size: usize,
    /// Micro-batches per optimizer step.
    pub grad_accum: usize,
    /// Longest sequence trained on, in tokens.
    pub max_len: usize,
    /// AdamW's decoupled weight decay.
    pub weight_decay: f64,
    /// Clip gradients to this global norm (0 = no clipping).
    pub max_grad_norm: f64,
    /// Share of examples held out for evaluation (0–0.5).
    pub eval_fraction: f64,
    /// Evaluate every this many steps (0 = only at the end).
    pub eval_every: u64,
    /// Write a checkpoint every this many steps (0 = only at the end).
    pub checkpoint_every: u64,
    pub seed: u64,
}

impl Default for Hyper {
    fn default() -> Self {
        Self {
            rank: 8,
            alpha: 16.0,
            target_modules: ["q_proj", "k_proj", "v_proj", "o_proj"].map(String::from).to_vec(),
            learning_rate: 2e-4,
            schedule: Schedule::Cosine,
            warmup_steps: 0,
            epochs: 3,
            max_steps: None,
            batch_size: 4,
            grad_accum: 1,
            max_len: 512,
            weight_decay: 0.0,
            max_grad_norm: 1.0,
            eval_fraction: 0.1,
            eval_every: 0,
            checkpoint_every: 50,
            seed: 0,
        }
    }
}

/// The most examples one optimizer step may cover.
pub const MAX_EXAMPLES_PER_STEP: usize = 4096;
/// The most tokens one micro-batch may hold (`batch_size × max_len`): the activations kept for
/// the backward pass, and the logits of every trained token (`vocab` floats each, with their
/// gradient), grow with it. A larger effective batch is `grad_accum`'s job.
pub const MAX_MICRO_BATCH_TOKENS: usize = 8192;
/// The most optimizer steps a job may take.
pub const MAX_STEPS: u64 = 1_000_000;

impl Hyper {
    /// Checks every field against `cfg` and returns the adapted projections.
    pub fn validate(&self, cfg: &Config) -> Result<Vec<Target>> {
        let bad = |param: &str, msg: String| Err(Error::invalid(param, msg));
        if !(1..=256).contains(&self.rank) {
            return bad("rank", format!("{} is outside 1–256", self.rank));
        }
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return bad("alpha", "must be a positive number".into());
        }
        if !(self.learning_rate.is_finite()
            && self.learning_rate > 0.0
            && self.learning_rate <= 1.0)
        {
            return bad("learning_rate", format!("{} is outside (0, 1]", self.learning_rate));
        }
        if self.target_modules.is_empty() {
            return bad("target_modules", "name at least one projection".into());
        }
        let mut targets = Vec::new();
        for name in &self.target_modules {
            match Target::from_peft_name(name) {
                Some(t) if !targets.contains(&t) => targets.push(t),
                Some(_) => return bad("target_modules", format!("{name} is named twice")),
                None => {
                    return bad(
                        "target_modules",
                        format!("{name} is not a projection of this model"),
                    )
                }
            }
        }
        if !(1..=64).contains(&self.batch_size) {
            return bad("batch_size", format!("{} is outside 1–64", self.batch_size));
        }
        if self.grad_accum == 0
            || self.batch_size.saturating_mul(self.grad_accum) > MAX_EXAMPLES_PER_STEP
        {
            return bad(
                "grad_accum",
                format!(
                    "must be at least 1, with batch_size × grad_accum ≤ {MAX_EXAMPLES_PER_STEP}"
                ),
            );
        }
        if self.max_len < 2 || self.max_len > cfg.context {
            return bad(
                "max_len",
                format!("{} is outside 2–{} (the model's context)", self.max_len, cfg.context),
            );
        }
        if self.batch_size.saturating_mul(self.max_len) > MAX_MICRO_BATCH_TOKENS {
            return bad(
                "batch_size",
                format!(
                    "batch_size × max_len is {} tokens, over {MAX_MICRO_BATCH_TOKENS}: use grad_accum for a larger batch",
                    self.batch_size.saturating_mul(self.max_len)
                ),
            );
        }
        match self.max_steps {
            Some(s) if s == 0 || s > MAX_STEPS => {
                return bad("max_steps", format!("{s} is outside 1–{MAX_STEPS}"))
            }
            None if self.epochs == 0 || self.epochs > 10_000 => {
                return bad("epochs", format!("{} is outside 1–10000", self.epochs))
            }
            _ => {}
        }
        if !(self.weight_decay.is_finite() && (0.0..1.0).contains(&self.weight_decay)) {
            return bad("weight_decay", "must be in [0, 1)".into());
        }
        if !(self.max_grad_norm.is_finite() && self.max_grad_norm >= 0.0) {
            return bad("max_grad_norm", "must be 0 (no clipping) or positive".into());
        }
        if !(self.eval_fraction.is_finite() && (0.0..=0.5).contains(&self.eval_fraction)) {
            return bad("eval_fraction", "must be in [0, 0.5]".into());
        }
        Ok(targets)
    }

    /// Examples per optimizer step.
    pub fn per_step(&self) -> usize {
        self.batch_size.saturating_mul(self.grad_accum)
    }
}

/// What one optimizer step did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// Steps done (1 after the first).
    pub step: u64,
    /// Mean loss over the step's trained tokens.
    pub loss: f64,
    pub learning_rate: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Trained tokens in the step.
    pub tokens: usize,
}

/// A held-out evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    pub loss: f64,
    pub perplexity: f64,
    pub tokens: usize,
}

/// A training run in progress.
pub struct Trainer {
    pub config: Config,
    weights: DenseWeights,
    pub hyper: Hyper,
    pub lora: LoraParams,
    opt: AdamW,
    train: Vec<Example>,
    eval: Vec<Example>,
    /// Steps taken.
    pub step: u64,
    pub total_steps: u64,
    /// Identifies base, data and hyper-parameters (a checkpoint must match it).
    pub fingerprint: [u8; 32],
    device: Device,
    order: Option<(u64, Vec<usize>)>,
}

impl Trainer {
    /// A run of `hyper` on `train` (and `eval` held out) over `weights`.
    pub fn new(
        config: Config,
        weights: DenseWeights,
        hyper: Hyper,
        train: Vec<Example>,
        eval: Vec<Example>,
        fingerprint: [u8; 32],
    ) -> Result<Self> {
        let targets = hyper.validate(&config)?;
        if train.is_empty() {
            return Err(Error::invalid("data", "no training examples"));
        }
        let device = weights.embed.device().clone();
        let lora =
            LoraParams::init(&config, &targets, hyper.rank, hyper.alpha, hyper.seed, &device)?;
        let per_step = hyper.per_step() as u64;
        let total_steps = match hyper.max_steps {
            Some(s) => s,
            None => (hyper.epochs.saturating_mul(train.len() as u64))
                .div_ceil(per_step.max(1))
                .clamp(1, MAX_STEPS),
        };
        let params =
            AdamWParams { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: hyper.weight_decay };
        let vars: Vec<Var> = lora.named_vars().into_iter().map(|(_, v)| v.clone()).collect();
        let opt = AdamW::new(params, &vars.iter().collect::<Vec<_>>())?;
        Ok(Self {
            config,
            weights,
            hyper,
            lora,
            opt,
            train,
            eval,
            step: 0,
            total_steps,
            fingerprint,
            device,
            order: None,
        })
    }

    /// Whether every step has been taken.
    pub fn done(&self) -> bool {
        self.step >= self.total_steps
    }

    /// Training and held-out example counts.
    pub fn sizes(&self) -> (usize, usize) {
        (self.train.len(), self.eval.len())
    }

    /// The training example at stream position `pos` (epochs laid end to end).
    fn example_at(&mut self, pos: u64) -> usize {
        let n = self.train.len().max(1) as u64;
        let epoch = pos.checked_div(n).unwrap_or(0);
        if self.order.as_ref().map(|(e, _)| *e) != Some(epoch) {
            self.order = Some((epoch, data::epoch_order(self.train.len(), self.hyper.seed, epoch)));
        }
        let within = usize::try_from(pos.checked_rem(n).unwrap_or(0)).unwrap_or(0);
        self.order.as_ref().and_then(|(_, o)| o.get(within).copied()).unwrap_or(0)
    }

    fn vars(&self) -> Vec<Var> {
        self.lora.named_vars().into_iter().map(|(_, v)| v.clone()).collect()
    }

    /// Takes one optimizer step.
    pub fn step(&mut self) -> Result<StepReport> {
        if self.done() {
            return Err(Error::invalid("step", "training is complete"));
        }
        let per_step = self.hyper.per_step() as u64;
        let first = self.step.saturating_mul(per_step);
        let picked: Vec<usize> =
            (first..first.saturating_add(per_step)).map(|p| self.example_at(p)).collect();
        let tokens: usize =
            picked.iter().filter_map(|&i| self.train.get(i)).map(Example::targets).sum();
        let vars = self.vars();
        let mut acc: Vec<Option<Tensor>> = vec![None; vars.len()];
        let mut nll = 0f64;
        for chunk in picked.chunks(self.hyper.batch_size.max(1)) {
            let seqs: Vec<(&[u32], &[bool])> = chunk
                .iter()
                .filter_map(|&i| self.train.get(i))
                .map(|e| (e.tokens.as_slice(), e.trained.as_slice()))
                .collect();
            let batch = Batch::new(&seqs, &self.device)?;
            if batch.count == 0 {
                continue;
            }
            let sum = net::nll_sum(&self.config, &self.weights, Some(&self.lora), &batch)?;
            nll += f64::from(sum.to_scalar::<f32>()?);
            let grads = sum.affine(1.0 / tokens.max(1) as f64, 0.0)?.backward()?;
            for (slot, var) in acc.iter_mut().zip(&vars) {
                if let Some(g) = grads.get(var.as_tensor()) {
                    *slot = Some(match slot.take() {
                        Some(a) => a.add(g)?,
                        None => g.clone(),
                    });
                }
            }
        }
        let mut grads = acc
            .into_iter()
            .zip(&vars)
            .map(|(g, v)| g.map_or_else(|| Ok(v.zeros_like()?), Ok))
            .collect::<Result<Vec<Tensor>>>()?;
        let grad_norm = optim::clip(&mut grads, self.hyper.max_grad_norm)?;
        let lr = optim::learning_rate(
            self.hyper.schedule,
            self.hyper.learning_rate,
            self.step,
            self.hyper.warmup_steps,
            self.total_steps,
        );
        self.opt.step(&vars.iter().collect::<Vec<_>>(), &grads, lr)?;
        self.step = self.step.saturating_add(1);
        Ok(StepReport {
            step: self.step,
            loss: nll / tokens.max(1) as f64,
            learning_rate: lr,
            grad_norm,
            tokens,
        })
    }

    /// The held-out loss (`None` without a held-out split).
    pub fn evaluate(&self) -> Result<Option<EvalReport>> {
        self.loss_on(&self.eval, Some(&self.lora))
    }

    /// The held-out loss of the base model alone (the figure training should improve on).
    pub fn evaluate_base(&self) -> Result<Option<EvalReport>> {
        self.loss_on(&self.eval, None)
    }

    /// Mean loss of `lora` (or the base) over `examples`.
    pub fn loss_on(
        &self,
        examples: &[Example],
        lora: Option<&LoraParams>,
    ) -> Result<Option<EvalReport>> {
        let mut nll = 0f64;
        let mut tokens = 0usize;
        for chunk in examples.chunks(self.hyper.batch_size.max(1)) {
            let seqs: Vec<(&[u32], &[bool])> =
                chunk.iter().map(|e| (e.tokens.as_slice(), e.trained.as_slice())).collect();
            let batch = Batch::new(&seqs, &self.device)?;
            if batch.count == 0 {
                continue;
            }
            nll += f64::from(
                net::nll_sum(&self.config, &self.weights, lora, &batch)?
                    .detach()
                    .to_scalar::<f32>()?,
            );
            tokens = tokens.saturating_add(batch.count);
        }
        if tokens == 0 {
            return Ok(None);
        }
        let loss = nll / tokens as f64;
        Ok(Some(EvalReport { loss, perplexity: loss.exp(), tokens }))
    }

    /// The dense weights trained over.
    pub fn weights(&self) -> &DenseWeights {
        &self.weights
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests;
