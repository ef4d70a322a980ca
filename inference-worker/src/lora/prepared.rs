//! An adapter's prepared form as bytes ([`LoraWeights::to_prepared`],
//! [`LoraWeights::from_prepared`]): what the store keeps on disk beside an adapter's files, so
//! that a later cold load reads the prepared 8-bit integers (1.9 MB for a rank-16 q/k/v/o
//! adapter of SmolLM2) instead of reading the PEFT file's 7.4 MB of f32 and parsing, scaling,
//! transposing and quantizing it again.
//!
//! A safetensors file: per pair, `{layer}.{target}.a` (I8 `[rank, in]`), `{layer}.{target}.bt`
//! (I8 `[rank, out]`, `scale·B` transposed, rows permuted to the base's layout) and
//! `{layer}.{target}.scales` (F32 `[3, rank]`: `A`'s slice scales, `Bᵀ`'s, the mixture
//! weights); metadata `format` ([`PREPARED_FORMAT`]). The integers and scales are exactly the
//! pair's own, so an adapter read back computes exactly what it computed when it was written.
//!
//! The bytes depend on the base (its shapes and layout): [`prepared_key`] names them. Reading
//! checks every shape against the base and every scale for finiteness; the store trusts the
//! bytes themselves only through a digest it took when it wrote them.

use super::{LoraPair, LoraWeights};
use crate::model::{Config, Layout, Target};
use safetensors::{tensor::TensorView, Dtype, SafeTensors};
use std::collections::HashMap;

/// The value of the `format` metadata (bumped whenever the layout of the bytes changes).
pub const PREPARED_FORMAT: &str = "provena-lora-prepared-1";

/// A short name for the base a prepared form belongs to: 16 hex digits of BLAKE3 over the
/// format, the base's shapes and its layout. Two bases that would prepare an adapter
/// differently never share a key.
pub fn prepared_key(cfg: &Config, layout: Layout) -> String {
    let mut h = blake3::Hasher::new();
    h.update(PREPARED_FORMAT.as_bytes());
    for v in [cfg.hidden, cfg.intermediate, cfg.layers, cfg.heads, cfg.kv_heads, cfg.head_dim] {
        h.update(&(v as u64).to_le_bytes());
    }
    h.update(match layout {
        Layout::Gguf => b"gguf",
        Layout::Hf => b"hf",
    });
    hex::encode(h.finalize().as_bytes().get(..8).unwrap_or_default())
}

/// f32 values as little-endian bytes.
fn le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

impl LoraWeights {
    /// The prepared form as bytes (see the module docs).
    pub fn to_prepared(&self) -> std::result::Result<Vec<u8>, String> {
        // Owned bytes first, views over them second.
        let mut owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
        for (li, layer) in self.layers.iter().enumerate() {
            for (target, pair) in Target::ALL.iter().zip(layer) {
                let Some(p) = pair else { continue };
                let (a, bt) = p.slices();
                let name = |what: &str| format!("{li}.{}.{what}", target.peft_name());
                let bytes = |v: &[i8]| v.iter().map(|&q| q as u8).collect::<Vec<u8>>();
                let mut scales = p.a_scale.clone();
                scales.extend_from_slice(&p.bt_scale);
                scales.extend_from_slice(&p.weight);
                owned.push((name("a"), Dtype::I8, vec![p.rank, p.in_dim], bytes(&a)));
                owned.push((name("bt"), Dtype::I8, vec![p.rank, p.out_dim], bytes(&bt)));
                owned.push((name("scales"), Dtype::F32, vec![3, p.rank], le_bytes(&scales)));
            }
        }
        let views = owned
            .iter()
            .map(|(name, dtype, shape, data)| {
                TensorView::new(*dtype, shape.clone(), data)
                    .map(|v| (name.as_str(), v))
                    .map_err(|e| format!("{name}: {e}"))
            })
            .collect::<std::result::Result<Vec<_>, String>>()?;
        let meta = HashMap::from([("format".to_string(), PREPARED_FORMAT.to_string())]);
        safetensors::serialize(views, Some(meta)).map_err(|e| e.to_string())
    }

    /// An adapter from its prepared form for a base with `cfg` (the key the bytes were stored
    /// under names the layout). Refuses bytes of another format, shapes the base does not
    /// have, missing parts, and scales that are not finite.
    pub fn from_prepared(bytes: &[u8], cfg: &Config) -> std::result::Result<Self, String> {
        let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| e.to_string())?;
        let format = meta.metadata().as_ref().and_then(|m| m.get("format"));
        if format.map(String::as_str) != Some(PREPARED_FORMAT) {
            return Err(format!("not a prepared adapter of format {PREPARED_FORMAT}"));
        }
        let file = SafeTensors::deserialize(bytes).map_err(|e| e.to_string())?;
        type Parts<'a> = [Option<TensorView<'a>>; 3];
        let mut found: HashMap<(usize, Target), Parts<'_>> = HashMap::new();
        for (name, view) in file.iter() {
            let mut it = name.splitn(3, '.');
            let (Some(layer), Some(target), Some(what)) = (it.next(), it.next(), it.next()) else {
                return Err(format!("unexpected tensor {name}"));
            };
            let layer = layer
                .parse::<usize>()
                .ok()
                .filter(|&l| l < cfg.layers)
                .ok_or_else(|| format!("tensor {name}: no such layer"))?;
            let target = Target::from_peft_name(target)
                .ok_or_else(|| format!("tensor {name}: no such projection"))?;
            let slot = match what {
                "a" => 0,
                "bt" => 1,
                "scales" => 2,
                _ => return Err(format!("unexpected tensor {name}")),
            };
            let parts = found.entry((layer, target)).or_default();
            if let Some(part) = parts.get_mut(slot) {
                if part.replace(view).is_some() {
                    return Err(format!("tensor {name} appears twice"));
                }
            }
        }
        if found.is_empty() {
            return Err("the prepared adapter has no pairs".into());
        }
        let mut layers: Vec<Vec<Option<LoraPair>>> =
            (0..cfg.layers).map(|_| vec![None; Target::ALL.len()]).collect();
        let mut rank = 0;
        for ((layer, target), parts) in found {
            let name = format!("layer {layer} {}", target.peft_name());
            let [Some(a), Some(bt), Some(scales)] = parts else {
                return Err(format!("{name}: a part is missing"));
            };
            let (in_dim, out_dim) = cfg.dims(target);
            let r = a.shape().first().copied().unwrap_or(0);
            let shapes_ok = a.dtype() == Dtype::I8
                && bt.dtype() == Dtype::I8
                && scales.dtype() == Dtype::F32
                && r > 0
                && a.shape() == [r, in_dim]
                && bt.shape() == [r, out_dim]
                && scales.shape() == [3, r];
            if !shapes_ok {
                return Err(format!("{name}: shapes do not fit the base"));
            }
            let ints = |v: &TensorView<'_>| v.data().iter().map(|&b| b as i8).collect::<Vec<_>>();
            let floats: Vec<f32> = scales
                .data()
                .chunks_exact(4)
                .filter_map(|c| <[u8; 4]>::try_from(c).ok().map(f32::from_le_bytes))
                .collect();
            let mut three = floats.chunks_exact(r);
            let (Some(a_scale), Some(bt_scale), Some(weight), None) =
                (three.next(), three.next(), three.next(), three.next())
            else {
                return Err(format!("{name}: scales have the wrong size"));
            };
            if floats.iter().any(|v| !v.is_finite()) {
                return Err(format!("{name}: scales are not finite"));
            }
            rank = rank.max(r);
            if let Some(slot) = layers.get_mut(layer).and_then(|l| l.get_mut(target.index())) {
                *slot = Some(LoraPair::new(
                    (r, in_dim, out_dim),
                    (ints(&a), a_scale.to_vec()),
                    (ints(&bt), bt_scale.to_vec()),
                    weight.to_vec(),
                ));
            }
        }
        Ok(Self::packed(layers, rank))
    }
}
