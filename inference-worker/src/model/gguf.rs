//! Loading a GGUF file.

use super::*;
use crate::error::{Error, Result};
use candle_core::{
    quantized::{gguf_file, QTensor},
    Device,
};
use std::{path::Path, sync::Arc};

impl Model {
    /// Loads a GGUF file.
    pub fn load_gguf(path: &Path, precision: Precision, device: &Device) -> Result<Self> {
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let content = gguf_file::Content::read(&mut file)
            .map_err(|e| Error::Model(format!("{} is not a GGUF file: {e}", path.display())))?;
        let arch = meta_str(&content, "general.architecture")?;
        if arch != "llama" {
            return Err(Error::Model(format!(
                "architecture {arch:?} is not supported (llama-architecture models only)"
            )));
        }
        let int = |key: &str| -> Result<usize> {
            let v = content
                .metadata
                .get(key)
                .ok_or_else(|| Error::Model(format!("GGUF metadata has no {key}")))?;
            let n = v.to_u64().or_else(|_| v.to_u32().map(u64::from));
            n.ok()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| Error::Model(format!("GGUF metadata {key} is not an integer")))
        };
        let float = |key: &str, default: f32| -> f32 {
            content.metadata.get(key).and_then(|v| v.to_f32().ok()).unwrap_or(default)
        };
        let hidden = int("llama.embedding_length")?;
        let heads = int("llama.attention.head_count")?;
        let kv_heads = int("llama.attention.head_count_kv").unwrap_or(heads);
        let mut tensor = |name: &str| -> Result<QTensor> {
            content
                .tensor(&mut file, name, device)
                .map_err(|e| Error::Model(format!("tensor {name}: {e}")))
        };
        let embed_q = tensor("token_embd.weight")?;
        let (vocab, embed_dim) = embed_q.shape().dims2()?;
        let mut eos = Vec::new();
        if let Ok(id) = int("tokenizer.ggml.eos_token_id") {
            eos.push(u32::try_from(id).map_err(|_| Error::Model("eos id too large".into()))?);
        }
        let config = Config {
            hidden,
            intermediate: int("llama.feed_forward_length")?,
            layers: int("llama.block_count")?,
            heads,
            kv_heads,
            head_dim: hidden.checked_div(heads).unwrap_or(0),
            vocab,
            rope_theta: float("llama.rope.freq_base", 10_000.0),
            rms_eps: float("llama.attention.layer_norm_rms_epsilon", 1e-5),
            context: int("llama.context_length")?,
            eos,
            kv_f32: precision == Precision::Dense,
        };
        config.validate()?;
        if embed_dim != hidden {
            return Err(Error::Model(format!(
                "token_embd is {vocab}x{embed_dim}, hidden {hidden}"
            )));
        }
        let embed = embed_q.dequantize(&Device::Cpu)?.flatten_all()?.to_vec1::<f32>()?;
        let head = match tensor("output.weight") {
            Ok(q) => Linear::from_qtensor(q, precision, device)?,
            Err(_) => Linear::from_qtensor(embed_q, precision, device)?,
        };
        let norm_vec = |q: QTensor| -> Result<Arc<Vec<f32>>> {
            Ok(Arc::new(q.dequantize(&Device::Cpu)?.flatten_all()?.to_vec1::<f32>()?))
        };
        let norm = norm_vec(tensor("output_norm.weight")?)?;
        let mut layers = Vec::with_capacity(config.layers);
        for i in 0..config.layers {
            let mut linears = Vec::with_capacity(Target::ALL.len());
            for target in Target::ALL {
                let q = tensor(&format!("blk.{i}.{}.weight", target.gguf_name()))?;
                linears.push(Linear::from_qtensor(q, precision, device)?);
            }
            layers.push(Layer {
                attn_norm: norm_vec(tensor(&format!("blk.{i}.attn_norm.weight"))?)?,
                ffn_norm: norm_vec(tensor(&format!("blk.{i}.ffn_norm.weight"))?)?,
                linears,
            });
        }
        let name = meta_str(&content, "general.name").unwrap_or_else(|_| {
            path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
        });
        let source =
            ModelSource { name, hash: hash_files(&[path])?, path: path.display().to_string() };
        Self::assemble(config, Layout::Gguf, source, device, embed, norm, head, layers)
    }
}

fn meta_str(content: &gguf_file::Content, key: &str) -> Result<String> {
    content
        .metadata
        .get(key)
        .and_then(|v| v.to_string().ok().cloned())
        .ok_or_else(|| Error::Model(format!("GGUF metadata has no string {key}")))
}
