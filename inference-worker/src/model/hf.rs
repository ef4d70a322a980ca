//! Loading and saving an HF model directory (`config.json`, `*.safetensors`).

use super::*;
use crate::error::{Error, Result};
use candle_core::{DType, Device, Tensor};
use std::{collections::HashMap, path::Path, sync::Arc};

impl Model {
    /// Loads an HF model directory (`config.json`, `*.safetensors`).
    pub fn load_hf(dir: &Path, device: &Device) -> Result<Self> {
        let cfg_path = dir.join("config.json");
        let raw = std::fs::read(&cfg_path).map_err(|e| Error::io(&cfg_path, e))?;
        let hf: HfConfig = serde_json::from_slice(&raw)
            .map_err(|e| Error::Model(format!("{}: {e}", cfg_path.display())))?;
        if let Some(arch) = hf.architectures.first() {
            if arch != "LlamaForCausalLM" && arch != "MistralForCausalLM" {
                return Err(Error::Model(format!("architecture {arch} is not supported")));
            }
        }
        let kv_heads = hf.num_key_value_heads.unwrap_or(hf.num_attention_heads);
        let config = Config {
            hidden: hf.hidden_size,
            intermediate: hf.intermediate_size,
            layers: hf.num_hidden_layers,
            heads: hf.num_attention_heads,
            kv_heads,
            head_dim: hf
                .head_dim
                .unwrap_or_else(|| hf.hidden_size.checked_div(hf.num_attention_heads).unwrap_or(0)),
            vocab: hf.vocab_size,
            rope_theta: hf.rope_theta.unwrap_or(10_000.0),
            rms_eps: hf.rms_norm_eps.unwrap_or(1e-5),
            context: hf.max_position_embeddings,
            eos: hf.eos_token_id.map(|e| e.ids()).unwrap_or_default(),
            // The weights are held as f32 (the exact path): so are the keys and values.
            kv_f32: true,
        };
        config.validate()?;
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(Error::Model(format!("{} has no .safetensors file", dir.display())));
        }
        let mut tensors = HashMap::new();
        for f in &files {
            tensors.extend(
                candle_core::safetensors::load(f, &Device::Cpu)
                    .map_err(|e| Error::Model(format!("{}: {e}", f.display())))?,
            );
        }
        let mut take = |name: &str| -> Result<Tensor> {
            let t = tensors
                .remove(name)
                .ok_or_else(|| Error::Model(format!("no tensor {name} in {}", dir.display())))?;
            Ok(t.to_dtype(DType::F32)?)
        };
        let embed_t = take("model.embed_tokens.weight")?;
        let embed = embed_t.flatten_all()?.to_vec1::<f32>()?;
        let head = match take("lm_head.weight") {
            Ok(w) => Linear::from_dense(w.to_device(device)?)?,
            Err(_) => Linear::from_dense(embed_t.to_device(device)?)?,
        };
        let vec =
            |t: Tensor| -> Result<Arc<Vec<f32>>> { Ok(Arc::new(t.flatten_all()?.to_vec1()?)) };
        let norm = vec(take("model.norm.weight")?)?;
        let mut layers = Vec::with_capacity(config.layers);
        for i in 0..config.layers {
            let p = format!("model.layers.{i}");
            let mut linears = Vec::with_capacity(Target::ALL.len());
            for target in Target::ALL {
                let w = take(&format!("{p}.{}.weight", target.hf_name()))?;
                linears.push(Linear::from_dense(w.to_device(device)?)?);
            }
            layers.push(Layer {
                attn_norm: vec(take(&format!("{p}.input_layernorm.weight"))?)?,
                ffn_norm: vec(take(&format!("{p}.post_attention_layernorm.weight"))?)?,
                linears,
            });
        }
        let refs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
        let name = dir.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let source =
            ModelSource { name, hash: hash_files(&refs)?, path: dir.display().to_string() };
        Self::assemble(config, Layout::Hf, source, device, embed, norm, head, layers)
    }

    /// Writes the model as an HF checkpoint (`config.json` + `model.safetensors`, f32, HF row
    /// order): how a GGUF base is handed to tools that expect HF files, and how the HF loader
    /// is tested against the GGUF one.
    pub fn save_hf(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let cfg = &self.config;
        let cpu = Device::Cpu;
        let mut tensors: HashMap<String, Tensor> = HashMap::new();
        let vec_t = |v: &[f32]| Tensor::from_slice(v, v.len(), &cpu);
        tensors.insert(
            "model.embed_tokens.weight".into(),
            Tensor::from_slice(self.embed.as_slice(), (cfg.vocab, cfg.hidden), &cpu)?,
        );
        tensors.insert("lm_head.weight".into(), self.head.dequantized()?);
        tensors.insert("model.norm.weight".into(), vec_t(&self.norm)?);
        for (i, layer) in self.layers.iter().enumerate() {
            let p = format!("model.layers.{i}");
            tensors.insert(format!("{p}.input_layernorm.weight"), vec_t(&layer.attn_norm)?);
            tensors.insert(format!("{p}.post_attention_layernorm.weight"), vec_t(&layer.ffn_norm)?);
            for (target, lin) in Target::ALL.iter().zip(&layer.linears) {
                let mut w = lin.dequantized()?;
                if self.layout == Layout::Gguf && matches!(target, Target::Q | Target::K) {
                    // Row `o` in HF order sits at `gguf_row(o)`.
                    let idx: Vec<u32> = (0..lin.out_dim)
                        .map(|o| u32::try_from(crate::lora::gguf_row(o, cfg.head_dim)).unwrap_or(0))
                        .collect();
                    w = w.index_select(&Tensor::from_vec(idx, lin.out_dim, &cpu)?, 0)?;
                }
                tensors.insert(format!("{p}.{}.weight", target.hf_name()), w);
            }
        }
        let path = dir.join("model.safetensors");
        candle_core::safetensors::save(&tensors, &path)?;
        let config = serde_json::json!({
            "architectures": ["LlamaForCausalLM"],
            "hidden_size": cfg.hidden,
            "intermediate_size": cfg.intermediate,
            "num_hidden_layers": cfg.layers,
            "num_attention_heads": cfg.heads,
            "num_key_value_heads": cfg.kv_heads,
            "head_dim": cfg.head_dim,
            "vocab_size": cfg.vocab,
            "rope_theta": cfg.rope_theta,
            "rms_norm_eps": cfg.rms_eps,
            "max_position_embeddings": cfg.context,
            "eos_token_id": cfg.eos,
            "tie_word_embeddings": false,
        });
        let cfg_path = dir.join("config.json");
        std::fs::write(&cfg_path, config.to_string()).map_err(|e| Error::io(&cfg_path, e))?;
        Ok(())
    }
}

#[derive(serde::Deserialize)]
struct HfConfig {
    #[serde(default)]
    architectures: Vec<String>,
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    num_key_value_heads: Option<usize>,
    head_dim: Option<usize>,
    vocab_size: usize,
    rope_theta: Option<f32>,
    rms_norm_eps: Option<f32>,
    max_position_embeddings: usize,
    eos_token_id: Option<EosIds>,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum EosIds {
    One(u32),
    Many(Vec<u32>),
}

impl EosIds {
    fn ids(self) -> Vec<u32> {
        match self {
            EosIds::One(id) => vec![id],
            EosIds::Many(ids) => ids,
        }
    }
}
