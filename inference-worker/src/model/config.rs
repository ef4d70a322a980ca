//! A model's hyper-parameters, its projections (`Target`), row layout and precision.

use crate::error::{Error, Result};

/// The linear projections of a decoder layer, in PEFT's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Q,
    K,
    V,
    O,
    Gate,
    Up,
    Down,
}

impl Target {
    /// Every target, in the order used by per-layer arrays.
    pub const ALL: [Target; 7] =
        [Target::Q, Target::K, Target::V, Target::O, Target::Gate, Target::Up, Target::Down];

    /// The PEFT / HF module name (`q_proj` ...).
    pub fn peft_name(self) -> &'static str {
        match self {
            Target::Q => "q_proj",
            Target::K => "k_proj",
            Target::V => "v_proj",
            Target::O => "o_proj",
            Target::Gate => "gate_proj",
            Target::Up => "up_proj",
            Target::Down => "down_proj",
        }
    }

    /// The target with PEFT name `name`.
    pub fn from_peft_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.peft_name() == name)
    }

    /// Index into per-layer arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    pub(super) fn gguf_name(self) -> &'static str {
        match self {
            Target::Q => "attn_q",
            Target::K => "attn_k",
            Target::V => "attn_v",
            Target::O => "attn_output",
            Target::Gate => "ffn_gate",
            Target::Up => "ffn_up",
            Target::Down => "ffn_down",
        }
    }

    pub(super) fn hf_name(self) -> String {
        match self {
            Target::Q | Target::K | Target::V | Target::O => {
                format!("self_attn.{}", self.peft_name())
            }
            _ => format!("mlp.{}", self.peft_name()),
        }
    }
}

/// Hyper-parameters of a Llama-architecture model.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub hidden: usize,
    pub intermediate: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    pub vocab: usize,
    pub rope_theta: f32,
    pub rms_eps: f32,
    /// The longest sequence (prompt + completion) the model serves.
    pub context: usize,
    /// Token ids that end a generation.
    pub eos: Vec<u32>,
    /// K/V caches hold f32 rather than f16: the exact path (`Precision::Dense`), whose
    /// logits are the reference the others are measured against (`fidelity-bench`).
    pub kv_f32: bool,
}

impl Config {
    /// `(in, out)` of a projection.
    pub fn dims(&self, target: Target) -> (usize, usize) {
        let q = self.heads.saturating_mul(self.head_dim);
        let kv = self.kv_heads.saturating_mul(self.head_dim);
        match target {
            Target::Q => (self.hidden, q),
            Target::K | Target::V => (self.hidden, kv),
            Target::O => (q, self.hidden),
            Target::Gate | Target::Up => (self.hidden, self.intermediate),
            Target::Down => (self.intermediate, self.hidden),
        }
    }

    /// Heads per key/value head (grouped-query attention).
    pub fn group(&self) -> usize {
        self.heads.checked_div(self.kv_heads).unwrap_or(1)
    }

    pub(super) fn validate(&self) -> Result<()> {
        let ok = self.hidden > 0
            && self.layers > 0
            && self.heads > 0
            && self.kv_heads > 0
            && self.heads.is_multiple_of(self.kv_heads)
            && self.head_dim > 0
            && self.head_dim.is_multiple_of(2)
            && self.vocab > 0
            && self.context > 0;
        if ok {
            Ok(())
        } else {
            Err(Error::Model(format!("inconsistent hyper-parameters: {self:?}")))
        }
    }
}

#[cfg(test)]
impl Config {
    /// A small Llama-shaped configuration for unit tests that need no model file.
    pub(crate) fn small_for_tests(context: usize) -> Self {
        Config {
            hidden: 64,
            intermediate: 128,
            layers: 2,
            heads: 4,
            kv_heads: 2,
            head_dim: 16,
            vocab: 100,
            rope_theta: 10_000.0,
            rms_eps: 1e-5,
            context,
            eos: vec![],
            kv_f32: false,
        }
    }
}

/// How the rows of the query/key projections are ordered (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// llama.cpp's GGUF: adjacent pairs rotate together.
    Gguf,
    /// Hugging Face: the two halves of each head rotate together.
    Hf,
}

/// How weights are held in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// As stored where a kernel computes on the stored blocks (GGUF Q4_0/Q4_1 as 4-bit tiles,
    /// no rounding), otherwise re-quantized to the worker's 8-bit tiles (or, without AVX-512
    /// VNNI, kept as stored, slow types re-quantized to Q8_0).
    Native,
    /// Every quantized projection re-quantized to the worker's 8-bit tiles (what `Native` did
    /// before it kept 4-bit blocks; `fidelity-bench` compares the two).
    Int8,
    /// Everything dequantized to f32.
    Dense,
}
