//! The Llama-architecture forward pass (Llama 2/3, SmolLM, Mistral-style dense models), written
//! so that LoRA can be injected per row.
//!
//! # Loading
//! - GGUF (`--model file.gguf`): hyper-parameters from the `llama.*` metadata. On a CPU with
//!   AVX-512 VNNI, Q4_0/Q4_1 projections are repacked as they are (4-bit tiles, nothing
//!   rounded) and every other quantized projection is re-quantized once at load to the worker's
//!   own 8-bit tiles, all multiplied by its own kernels (`qgemm`, which says why). Elsewhere the
//!   weights stay as stored, except types without a fast CPU kernel in candle (Q4_1, Q5_0,
//!   Q5_1 ...), re-quantized to Q8_0 (Q4_1 has only a scalar dot product in candle, which is
//!   what makes a stock candle run of a Q4_1 file slow). `Precision::Dense` dequantizes
//!   everything to f32 instead (reference computations).
//! - HF (`--model dir/` with `config.json`, `*.safetensors`, `tokenizer.json`): dense f32.
//!
//! llama.cpp's converter permutes the rows of `attn_q`/`attn_k` so that its rotary embedding can
//! rotate adjacent pairs; HF checkpoints rotate the two halves of each head. The model records
//! which [`Layout`] it has, rotates accordingly, and `lora` permutes PEFT adapters (always in HF
//! layout) to match, so one adapter gives the same outputs on either file of the same model.
//!
//! # One step over many sequences
//! [`Model::forward`] takes any number of sequences, each with its own new tokens (a whole prompt
//! or one decoded token), its own [`KvCache`] and its own LoRA (or none). All rows of the step go
//! through each projection together (one quantized matmul over the stacked rows: the weights
//! are read once per step, not once per sequence; projections that read the same input share
//! one quantization of it); each row then gets its own adapter's
//! `x·Aᵀ·Bᵀ` added (a per-row gather of the adapter, BGMV-style); attention runs per sequence
//! over its cache. Small per-row operations (norms, rotary embedding, attention, SiLU) run as
//! plain loops over host memory: a candle op per sequence per layer would cost more in
//! dispatch than the arithmetic (the per-op overhead is what keeps candle's stock quantized

mod config;
mod dense;
mod forward;
mod gguf;
mod hf;
pub(crate) mod kernels;
pub mod kv_cache;
mod linear;

pub use config::{Config, Layout, Precision, Target};
pub use dense::{DenseLayer, DenseWeights};
pub(crate) use forward::in_parts;
pub use forward::SeqStep;
pub use kv_cache::KvCache;
pub use linear::Linear;
use linear::LinearWeight;

use crate::{
    error::{Error, Result},
    lora::LoraWeights,
};
use candle_core::{quantized::QMatMul, Device};
use std::{path::Path, sync::Arc};

/// One decoder layer.
#[derive(Clone, Debug)]
pub struct Layer {
    attn_norm: Arc<Vec<f32>>,
    ffn_norm: Arc<Vec<f32>>,
    /// Indexed by `Target::index`.
    linears: Vec<Linear>,
}

impl Layer {
    /// The projection `target`.
    pub fn linear(&self, target: Target) -> Option<&Linear> {
        self.linears.get(target.index())
    }
}

/// Where the model came from, for `/v1/models` and receipts.
#[derive(Clone, Debug)]
pub struct ModelSource {
    /// A display name (GGUF `general.name`, or the directory name).
    pub name: String,
    /// The content hash (BLAKE2b-256, hex) of the weights file(s): what receipts name as the base.
    pub hash: String,
    pub path: String,
}

/// A loaded model. Cloning is cheap (weights are shared).
#[derive(Clone, Debug)]
pub struct Model {
    pub config: Config,
    pub layout: Layout,
    pub source: ModelSource,
    pub device: Device,
    embed: Arc<Vec<f32>>,
    norm: Arc<Vec<f32>>,
    head: Linear,
    layers: Vec<Layer>,
    /// `cos`/`sin` per position and frequency, `[context, head_dim / 2]`.
    rope_cos: Arc<Vec<f32>>,
    rope_sin: Arc<Vec<f32>>,
}

impl Model {
    /// Loads a GGUF file or an HF model directory.
    pub fn load(path: &Path, precision: Precision, device: &Device) -> Result<Self> {
        if path.is_dir() {
            Self::load_hf(path, device)
        } else {
            Self::load_gguf(path, precision, device)
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        config: Config,
        layout: Layout,
        source: ModelSource,
        device: &Device,
        embed: Vec<f32>,
        norm: Arc<Vec<f32>>,
        head: Linear,
        layers: Vec<Layer>,
    ) -> Result<Self> {
        let expect = |what: &str, got: usize, want: usize| -> Result<()> {
            if got == want {
                Ok(())
            } else {
                Err(Error::Model(format!("{what} has {got} elements, expected {want}")))
            }
        };
        expect("embedding", embed.len(), config.vocab.saturating_mul(config.hidden))?;
        expect("final norm", norm.len(), config.hidden)?;
        if head.in_dim != config.hidden || head.out_dim != config.vocab {
            return Err(Error::Model("output head shape does not match the vocabulary".into()));
        }
        for (i, layer) in layers.iter().enumerate() {
            expect(&format!("layer {i} attn_norm"), layer.attn_norm.len(), config.hidden)?;
            expect(&format!("layer {i} ffn_norm"), layer.ffn_norm.len(), config.hidden)?;
            for (target, lin) in Target::ALL.iter().zip(&layer.linears) {
                if (lin.in_dim, lin.out_dim) != config.dims(*target) {
                    return Err(Error::Model(format!(
                        "layer {i} {} is {}x{}, expected {:?}",
                        target.peft_name(),
                        lin.out_dim,
                        lin.in_dim,
                        config.dims(*target)
                    )));
                }
            }
        }
        let (rope_cos, rope_sin) = rope_tables(&config);
        Ok(Self {
            config,
            layout,
            source,
            device: device.clone(),
            embed: Arc::new(embed),
            norm,
            head,
            layers,
            rope_cos: Arc::new(rope_cos),
            rope_sin: Arc::new(rope_sin),
        })
    }

    /// The decoder layers.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// A copy of the model with `lora` merged into its weights (`W + scale·B·A`), each merged
    /// projection kept at its quantization (re-quantized) or dense.
    pub fn merged(&self, lora: &LoraWeights) -> Result<Self> {
        let mut out = self.clone();
        for (layer, lora_layer) in out.layers.iter_mut().zip(lora.layers()) {
            for (lin, pair) in layer.linears.iter_mut().zip(lora_layer) {
                if let Some(pair) = pair {
                    *lin = lin.with_delta(&pair.delta()?)?;
                }
            }
        }
        Ok(out)
    }

    /// Bytes of weights held (quantized sizes for quantized projections).
    pub fn weight_bytes(&self) -> usize {
        let lin = |l: &Linear| match &l.weight {
            LinearWeight::Tiled(m) => m.bytes(),
            LinearWeight::Quantized(QMatMul::QTensor(q)) => q.storage_size_in_bytes(),
            _ => l.in_dim.saturating_mul(l.out_dim).saturating_mul(4),
        };
        let layers: usize = self.layers.iter().flat_map(|l| l.linears.iter()).map(lin).sum();
        layers.saturating_add(lin(&self.head)).saturating_add(self.embed.len().saturating_mul(4))
    }
}

/// BLAKE2b-256 (the chain's content hash) over the files' bytes in order, hex.
pub fn hash_files(paths: &[&Path]) -> Result<String> {
    let mut all = Vec::new();
    for p in paths {
        let bytes = std::fs::read(p).map_err(|e| Error::io(p, e))?;
        all.extend_from_slice(&bytes);
    }
    Ok(hex::encode(provena_primitives::content_hash(&all)))
}

#[allow(clippy::arithmetic_side_effects)]
fn rope_tables(cfg: &Config) -> (Vec<f32>, Vec<f32>) {
    let half = cfg.head_dim / 2;
    let mut cos = Vec::with_capacity(cfg.context.saturating_mul(half));
    let mut sin = Vec::with_capacity(cfg.context.saturating_mul(half));
    for pos in 0..cfg.context {
        for i in 0..half {
            let exponent = (2 * i) as f32 / cfg.head_dim as f32;
            let freq = 1.0 / cfg.rope_theta.powf(exponent);
            let angle = pos as f32 * freq;
            cos.push(angle.cos());
            sin.push(angle.sin());
        }
    }
    (cos, sin)
}
