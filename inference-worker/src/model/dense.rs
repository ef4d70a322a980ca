//! A dense f32 copy of a model's weights in Hugging Face row order, for the LoRA trainer
//! (`crate::train`), which differentiates through them with candle's autograd.

use super::*;
use crate::lora::gguf_row;
use candle_core::{DType, Tensor};

/// One decoder layer's weights, dense.
#[derive(Clone, Debug)]
pub struct DenseLayer {
    pub attn_norm: Tensor,
    pub ffn_norm: Tensor,
    /// `Wᵀ` (`[in, out]`, contiguous) per `Target::index`, rows of q/k in HF order.
    pub linears_t: Vec<Tensor>,
}

/// A model's weights, dense, in HF layout whatever file they came from.
#[derive(Clone, Debug)]
pub struct DenseWeights {
    /// `[vocab, hidden]`.
    pub embed: Tensor,
    /// `[hidden]`.
    pub norm: Tensor,
    /// The output head transposed, `[hidden, vocab]`.
    pub head_t: Tensor,
    pub layers: Vec<DenseLayer>,
    /// Rotary `cos`/`sin`, `[context, head_dim / 2]`.
    pub rope_cos: Tensor,
    pub rope_sin: Tensor,
}

impl Linear {
    /// `Wᵀ` as a dense f32 `[in, out]` tensor (no copy when the weight is already dense).
    fn dense_t(&self, device: &Device) -> Result<Tensor> {
        Ok(match &self.weight {
            LinearWeight::Dense(wt) => wt.to_device(device)?,
            _ => self.dequantized()?.t()?.contiguous()?.to_device(device)?,
        })
    }
}

impl Model {
    /// The weights, dense f32 on `device`, with the q/k rows of a GGUF file put back in HF
    /// order (so the trainer rotates halves and its adapters are PEFT's as written).
    pub fn dense_weights(&self, device: &Device) -> Result<DenseWeights> {
        let cfg = &self.config;
        let vector = |v: &[f32]| Tensor::from_slice(v, v.len(), device);
        let mut layers = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let mut linears_t = Vec::with_capacity(Target::ALL.len());
            for (target, lin) in Target::ALL.iter().zip(&layer.linears) {
                let mut wt = lin.dense_t(device)?;
                if self.layout == Layout::Gguf && matches!(target, Target::Q | Target::K) {
                    let order: Vec<u32> = (0..lin.out_dim)
                        .map(|o| u32::try_from(gguf_row(o, cfg.head_dim)))
                        .collect::<std::result::Result<_, _>>()
                        .map_err(|_| Error::Model("projection too wide".into()))?;
                    let order = Tensor::from_vec(order, lin.out_dim, device)?;
                    wt = wt.index_select(&order, 1)?.contiguous()?;
                }
                linears_t.push(wt.to_dtype(DType::F32)?);
            }
            layers.push(DenseLayer {
                attn_norm: vector(&layer.attn_norm)?,
                ffn_norm: vector(&layer.ffn_norm)?,
                linears_t,
            });
        }
        let half = cfg.head_dim / 2;
        Ok(DenseWeights {
            embed: Tensor::from_slice(&self.embed, (cfg.vocab, cfg.hidden), device)?,
            norm: vector(&self.norm)?,
            head_t: self.head.dense_t(device)?,
            layers,
            rope_cos: Tensor::from_slice(&self.rope_cos, (cfg.context, half), device)?,
            rope_sin: Tensor::from_slice(&self.rope_sin, (cfg.context, half), device)?,
        })
    }
}
