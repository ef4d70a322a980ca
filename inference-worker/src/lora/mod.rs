//! LoRA adapters in PEFT format, prepared for per-row application.
//!
//! # Format
//! An adapter is the two files PEFT writes: `adapter_config.json` (`r`, `lora_alpha`,
//! `target_modules`, optional `use_rslora`) and `adapter_model.safetensors` with
//! `base_model.model.model.layers.{i}.{self_attn|mlp}.{module}.lora_{A|B}.weight`
//! (`A`: `[r, in]`, `B`: `[out, r]`). Its id is the chain's content hash (BLAKE2b-256) of
//! `"provena:adapter:v1" ‖ len(config) ‖ config ‖ len(weights) ‖ weights` (lengths u64 LE):
//! the value a developer registers as the model's `weights_hash`. Anything PEFT can express
//! that this engine would silently get wrong (`rank_pattern`, `alpha_pattern`,
//! `fan_in_fan_out`, biases, DoRA) is refused with its name.
//!
//! # Prepared form
//! `scale · B` is stored transposed (`[r, out]`) next to `A` so that one row's update is `r` dot
//! products and `r` AXPYs over contiguous memory. For a GGUF base the rows of `B` for `q_proj` and
//! `k_proj` are permuted the way llama.cpp permuted the base weights.
//!
//! # Weighted mixtures
//! `Σ wᵢ·sᵢ·Bᵢ·Aᵢ` equals one adapter of rank `Σ rᵢ` with `A = [A₁; A₂; …]` and
//! `B = [w₁s₁B₁, w₂s₂B₂, …]`: [`LoraWeights::mix`] builds exactly that, so a mixture runs through
//! the same code as a single adapter and the base weights are never touched.

use crate::{
    error::{Error, Result},
    model::{Config, Layout, Target},
};
use candle_core::{Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use std::{collections::HashMap, path::Path};

mod apply;
mod pair;
mod prepared;
pub use pair::LoraPair;
use pair::{max_abs, quantize_rows, to_i8};
pub use prepared::{prepared_key, PREPARED_FORMAT};

/// The config file of a PEFT adapter.
pub const CONFIG_FILE: &str = "adapter_config.json";
/// The weights file of a PEFT adapter.
pub const WEIGHTS_FILE: &str = "adapter_model.safetensors";

/// `adapter_config.json`, as PEFT writes it (fields this engine does not use are ignored).
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
pub struct AdapterConfig {
    #[serde(default = "default_peft_type")]
    pub peft_type: String,
    pub r: usize,
    pub lora_alpha: f32,
    pub target_modules: TargetModules,
    #[serde(default)]
    pub use_rslora: bool,
    #[serde(default)]
    pub use_dora: bool,
    #[serde(default)]
    pub fan_in_fan_out: bool,
    #[serde(default = "default_bias")]
    pub bias: String,
    #[serde(default)]
    pub rank_pattern: HashMap<String, serde_json::Value>,
    #[serde(default)]
    pub alpha_pattern: HashMap<String, serde_json::Value>,
    #[serde(default)]
    pub base_model_name_or_path: Option<String>,
}

fn default_peft_type() -> String {
    "LORA".into()
}

fn default_bias() -> String {
    "none".into()
}

/// `target_modules`: a list of module names (a regex string is refused).
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
#[serde(untagged)]
pub enum TargetModules {
    List(Vec<String>),
    Pattern(String),
}

impl AdapterConfig {
    /// A plain LoRA config (no per-module patterns, no DoRA, no biases) for `base_name`.
    pub fn plain(rank: usize, alpha: f32, targets: &[Target], base_name: &str) -> Self {
        Self {
            peft_type: "LORA".into(),
            r: rank,
            lora_alpha: alpha,
            target_modules: TargetModules::List(
                targets.iter().map(|t| t.peft_name().to_string()).collect(),
            ),
            use_rslora: false,
            use_dora: false,
            fan_in_fan_out: false,
            bias: "none".into(),
            rank_pattern: HashMap::new(),
            alpha_pattern: HashMap::new(),
            base_model_name_or_path: Some(base_name.to_string()),
        }
    }

    /// The scale applied to `B·A`.
    pub fn scale(&self) -> f32 {
        let r = self.r as f32;
        if self.use_rslora {
            self.lora_alpha / r.sqrt()
        } else {
            self.lora_alpha / r
        }
    }

    /// The targets, checked.
    pub fn targets(&self) -> std::result::Result<Vec<Target>, String> {
        if self.peft_type != "LORA" {
            return Err(format!("peft_type {} is not LORA", self.peft_type));
        }
        if self.r == 0 {
            return Err("r is 0".into());
        }
        if !(self.lora_alpha.is_finite()) {
            return Err("lora_alpha is not finite".into());
        }
        if self.use_dora {
            return Err("DoRA (use_dora) is not supported".into());
        }
        if self.fan_in_fan_out {
            return Err("fan_in_fan_out is not supported (Llama projections are nn.Linear)".into());
        }
        if self.bias != "none" {
            return Err(format!("bias {:?} is not supported", self.bias));
        }
        if !self.rank_pattern.is_empty() || !self.alpha_pattern.is_empty() {
            return Err("rank_pattern / alpha_pattern are not supported".into());
        }
        let names: Vec<String> = match &self.target_modules {
            TargetModules::List(v) => v.clone(),
            TargetModules::Pattern(p) if p == "all-linear" => {
                Target::ALL.iter().map(|t| t.peft_name().to_string()).collect()
            }
            TargetModules::Pattern(p) => {
                return Err(format!(
                    "target_modules pattern {p:?} is not supported; list the modules"
                ))
            }
        };
        let mut out = Vec::new();
        for n in names {
            let t =
                Target::from_peft_name(&n).ok_or_else(|| format!("unknown target module {n}"))?;
            if !out.contains(&t) {
                out.push(t);
            }
        }
        if out.is_empty() {
            return Err("target_modules is empty".into());
        }
        Ok(out)
    }
}

/// The id of an adapter from its two files' bytes: the chain's content hash (BLAKE2b-256, as
/// `provena_primitives::content_hash`) of the framed concatenation, hashed as a stream so that
/// a cold load does not copy the weights once more (a test checks it against the hash of the
/// concatenation).
pub fn adapter_id(config: &[u8], weights: &[u8]) -> String {
    let mut state = blake2b_simd::Params::new().hash_length(32).to_state();
    frame(b"provena:adapter:v1", config, weights, |bytes| {
        state.update(bytes);
    });
    hex::encode(state.finalize().as_bytes())
}

/// A check digest of an adapter's two files: BLAKE3 (~5x faster than BLAKE2b here: 1.35 ms
/// against 6.2 ms for a rank-16 q/k/v/o adapter of SmolLM2) of the same framing under its own
/// domain. The store records it once the files have been verified against their id, and
/// checks later reads of the same files with it (`store`).
pub fn check_digest(config: &[u8], weights: &[u8]) -> [u8; 32] {
    let mut state = blake3::Hasher::new();
    frame(b"provena:adapter-check:v1", config, weights, |bytes| {
        state.update(bytes);
    });
    *state.finalize().as_bytes()
}

/// Feeds `domain`, then each file with its length in front, to `update`.
fn frame(domain: &[u8], config: &[u8], weights: &[u8], mut update: impl FnMut(&[u8])) {
    update(domain);
    for file in [config, weights] {
        update(&(file.len() as u64).to_le_bytes());
        update(file);
    }
}

/// An adapter (or a weighted mixture) ready for the engine: per layer, per target.
#[derive(Clone, Debug)]
pub struct LoraWeights {
    layers: Vec<Vec<Option<LoraPair>>>,
    /// The largest rank over projections.
    pub rank: usize,
    /// Unique per preparation (see [`LoraWeights::instance`]).
    instance: u64,
}

/// The next preparation's number.
fn next_instance() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl LoraWeights {
    /// An adapter with no layers (tests that only need a distinct adapter).
    #[cfg(test)]
    pub(crate) fn empty_for_tests() -> Self {
        Self { layers: Vec::new(), rank: 0, instance: next_instance() }
    }

    /// A number no other preparation of an adapter (or mixture) shares, in this process: what
    /// computed a K/V, without holding the weights alive (the prefix cache keys on it).
    pub fn instance(&self) -> u64 {
        self.instance
    }

    /// The pair for `layer`/`target`, if the adapter has one.
    pub fn pair(&self, layer: usize, target: Target) -> Option<&LoraPair> {
        self.layers.get(layer).and_then(|l| l.get(target.index())).and_then(|p| p.as_ref())
    }

    /// Per layer, per target (in `Target::ALL` order).
    pub fn layers(&self) -> &[Vec<Option<LoraPair>>] {
        &self.layers
    }

    /// Bytes of prepared weights.
    pub fn bytes(&self) -> usize {
        self.layers.iter().flatten().flatten().map(LoraPair::bytes).sum()
    }

    pub(crate) fn check_layers(&self, layers: usize) -> Result<()> {
        if self.layers.len() == layers {
            Ok(())
        } else {
            Err(Error::Model(format!("adapter has {} layers, model {layers}", self.layers.len())))
        }
    }

    /// Parses and prepares a PEFT adapter for a base with `cfg` and `layout`.
    pub fn from_peft(
        config_bytes: &[u8],
        weights_bytes: &[u8],
        cfg: &Config,
        layout: Layout,
    ) -> std::result::Result<Self, String> {
        let config: AdapterConfig = serde_json::from_slice(config_bytes)
            .map_err(|e| format!("{CONFIG_FILE} is not a PEFT LoRA config: {e}"))?;
        let targets = config.targets()?;
        let scale = config.scale();
        // Read in place: each matrix is converted to f32 straight from the file's bytes.
        let file = safetensors::SafeTensors::deserialize(weights_bytes)
            .map_err(|e| format!("{WEIGHTS_FILE} is not a readable safetensors file: {e}"))?;
        type View<'a> = safetensors::tensor::TensorView<'a>;
        let mut found: HashMap<(usize, Target), (Option<View<'_>>, Option<View<'_>>)> =
            HashMap::new();
        for (name, tensor) in file.iter() {
            let (layer, target, is_a) =
                parse_key(name).ok_or_else(|| format!("unexpected tensor {name}"))?;
            if layer >= cfg.layers {
                return Err(format!(
                    "tensor {name}: layer {layer} beyond the base's {}",
                    cfg.layers
                ));
            }
            if !targets.contains(&target) {
                return Err(format!(
                    "tensor {name}: {} is not in target_modules",
                    target.peft_name()
                ));
            }
            let slot = found.entry((layer, target)).or_default();
            let dst = if is_a { &mut slot.0 } else { &mut slot.1 };
            if dst.replace(tensor).is_some() {
                return Err(format!("tensor {name} appears twice"));
            }
        }
        if found.is_empty() {
            return Err("the adapter has no LoRA tensors".into());
        }
        let mut layers: Vec<Vec<Option<LoraPair>>> =
            (0..cfg.layers).map(|_| vec![None; Target::ALL.len()]).collect();
        let mut rank = 0;
        for ((layer, target), pair) in found {
            let name = format!("layer {layer} {}", target.peft_name());
            let (Some(a), Some(b)) = pair else {
                return Err(format!("{name}: lora_A and lora_B must both be present"));
            };
            let (in_dim, out_dim) = cfg.dims(target);
            let a = to_f32_2d(&a, &name, "lora_A")?;
            let b = to_f32_2d(&b, &name, "lora_B")?;
            let r = a.0;
            if a.1 != in_dim || b.0 != out_dim || b.1 != r || r != config.r {
                return Err(format!(
                    "{name}: lora_A is {}x{}, lora_B {}x{}; the base needs A {}x{in_dim}, B {out_dim}x{}",
                    a.0, a.1, b.0, b.1, config.r, config.r
                ));
            }
            let heads = match target {
                Target::Q => Some(cfg.heads),
                Target::K => Some(cfg.kv_heads),
                _ => None,
            };
            let row_of = |o: usize| match (layout, heads) {
                (Layout::Gguf, Some(_)) => gguf_row(o, cfg.head_dim),
                _ => o,
            };
            let bt = scaled_transposed_b(&b.2, r, out_dim, scale, row_of)
                .map_err(|what| format!("{name}: lora_B {what}"))?;
            if max_abs(&a.2).is_none() {
                return Err(format!("{name}: lora_A has a non-finite value"));
            }
            rank = rank.max(r);
            if let Some(slot) = layers.get_mut(layer).and_then(|l| l.get_mut(target.index())) {
                *slot = Some(LoraPair::new(
                    (r, in_dim, out_dim),
                    quantize_rows(&a.2, in_dim),
                    bt,
                    vec![1.0; r],
                ));
            }
        }
        Ok(Self::packed(layers, rank))
    }

    /// An adapter of these pairs, their tiles moved into one buffer in the order a step reads
    /// them (layer by layer, `Target::ALL`, `A` before `B`): a step then reads each adapter's
    /// part of a projection group as one stream rather than as scattered ~9 KB pieces (on one
    /// thread here, a decode step's updates for 32 distinct adapters took ~4.4 ms instead of
    /// 6.6; with every adapter in cache, 1.5).
    fn packed(mut layers: Vec<Vec<Option<LoraPair>>>, rank: usize) -> Self {
        let mut mats: Vec<&mut crate::qgemm::QMatrix> = layers
            .iter_mut()
            .flatten()
            .flatten()
            .filter_map(LoraPair::tiles_mut)
            .flat_map(|(a, b)| [a, b])
            .collect();
        crate::qgemm::QMatrix::pack(&mut mats);
        Self { layers, rank, instance: next_instance() }
    }

    /// `Σ wᵢ · adapterᵢ` as one adapter of concatenated rank.
    pub fn mix(parts: &[(&LoraWeights, f32)]) -> Result<Self> {
        let Some((first, _)) = parts.first() else {
            return Err(Error::invalid("adapters", "empty mixture"));
        };
        let n_layers = first.layers.len();
        let mut layers: Vec<Vec<Option<LoraPair>>> =
            (0..n_layers).map(|_| vec![None; Target::ALL.len()]).collect();
        let mut rank = 0;
        for w in parts.iter().map(|(w, _)| w) {
            w.check_layers(n_layers)?;
        }
        for (li, layer) in layers.iter_mut().enumerate() {
            for (ti, slot) in layer.iter_mut().enumerate() {
                // Each part's stored integers and scales, concatenated slice by slice.
                let mut dims: Option<(usize, usize, usize)> = None;
                let (mut a, mut a_scale, mut bt, mut bt_scale, mut weights) =
                    (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
                for (w, weight) in parts {
                    let Some(p) = w.layers.get(li).and_then(|l| l.get(ti)).and_then(|p| p.as_ref())
                    else {
                        continue;
                    };
                    let d = dims.get_or_insert((0, p.in_dim, p.out_dim));
                    d.0 = d.0.saturating_add(p.rank);
                    let (pa, pbt) = p.slices();
                    a.extend_from_slice(&pa);
                    a_scale.extend_from_slice(&p.a_scale);
                    bt.extend_from_slice(&pbt);
                    bt_scale.extend_from_slice(&p.bt_scale);
                    weights.extend(p.weight.iter().map(|v| v * weight));
                }
                if let Some(d) = dims {
                    rank = rank.max(d.0);
                    *slot = Some(LoraPair::new(d, (a, a_scale), (bt, bt_scale), weights));
                }
            }
        }
        Ok(Self::packed(layers, rank))
    }
}

/// Where HF row `o` of a q/k projection sits in llama.cpp's permuted layout.
pub(crate) fn gguf_row(o: usize, head_dim: usize) -> usize {
    let half = head_dim / 2;
    let head = o.checked_div(head_dim).unwrap_or(0);
    let within = o.checked_rem(head_dim).unwrap_or(0);
    let (part, i) = if within < half { (0, within) } else { (1, within.saturating_sub(half)) };
    head.saturating_mul(head_dim).saturating_add(i.saturating_mul(2)).saturating_add(part)
}

/// `scale · B` (`b`: row-major `[out_dim, rank]`, output `o` moved to row `row_of(o)`) as
/// the 8-bit rows of its transpose (`[rank, out_dim]`) and their scales: the integers and
/// scales [`quantize_rows`] gives for the scaled, transposed matrix, without building it.
/// Fails when a value is not finite, or is no longer once scaled.
fn scaled_transposed_b(
    b: &[f32],
    rank: usize,
    out_dim: usize,
    scale: f32,
    row_of: impl Fn(usize) -> usize,
) -> std::result::Result<(Vec<i8>, Vec<f32>), &'static str> {
    if max_abs(b).is_none() {
        return Err("has a non-finite value");
    }
    if rank == 0 || b.len() != rank.saturating_mul(out_dim) {
        return Ok((Vec::new(), Vec::new()));
    }
    // Each slice's largest scaled magnitude (infinite if scaling overflows).
    let mut amax = vec![0f32; rank];
    for row in b.chunks_exact(rank) {
        for (m, &v) in amax.iter_mut().zip(row) {
            let a = (v * scale).abs();
            *m = if a > *m { a } else { *m };
        }
    }
    if amax.iter().any(|m| !m.is_finite()) {
        return Err("times the LoRA scale overflows");
    }
    let inv: Vec<f32> = amax.iter().map(|&m| if m > 0.0 { 127.0 / m } else { 0.0 }).collect();
    let rows: Vec<usize> = (0..out_dim).map(&row_of).collect();
    let mut q = vec![0i8; b.len()];
    // One slice of the transpose at a time: its row is written in place, `B`'s column read
    // with a stride of `rank`.
    for (j, (slice, &inv)) in q.chunks_exact_mut(out_dim).zip(&inv).enumerate() {
        for (&v, &at) in b.iter().skip(j).step_by(rank).zip(&rows) {
            if let Some(cell) = slice.get_mut(at) {
                *cell = to_i8(v * scale * inv);
            }
        }
    }
    Ok((q, amax.iter().map(|m| m / 127.0).collect()))
}

/// A matrix of the weights file as `(rows, columns, values)` in f32: F32, F16 and BF16 are
/// converted from the file's bytes in place, any other type through candle's conversion.
fn to_f32_2d(
    t: &safetensors::tensor::TensorView<'_>,
    name: &str,
    which: &str,
) -> std::result::Result<(usize, usize, Vec<f32>), String> {
    let &[r, c] = t.shape() else {
        return Err(format!("{name}: {which} is not a matrix"));
    };
    /// Each `N`-byte little-endian value of `bytes` as f32.
    fn le<const N: usize>(bytes: &[u8], f: impl Fn([u8; N]) -> f32) -> Vec<f32> {
        bytes.chunks_exact(N).map(|b| b.try_into().map_or(0.0, &f)).collect()
    }
    let bytes = t.data();
    let v = match t.dtype() {
        safetensors::Dtype::F32 => le(bytes, f32::from_le_bytes),
        safetensors::Dtype::F16 => le(bytes, |b| half::f16::from_le_bytes(b).to_f32()),
        safetensors::Dtype::BF16 => le(bytes, |b| half::bf16::from_le_bytes(b).to_f32()),
        _ => candle_core::safetensors::Load::load(t, &Device::Cpu)
            .and_then(|t| t.to_dtype(candle_core::DType::F32))
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| format!("{name}: {which}: {e}"))?,
    };
    // The file's header is checked against its data (shape × type size) when it is read.
    if Some(v.len()) != r.checked_mul(c) {
        return Err(format!("{name}: {which} holds {} values, not {r}x{c}", v.len()));
    }
    Ok((r, c, v))
}

/// `(layer, target, is_a)` of a PEFT tensor name.
fn parse_key(name: &str) -> Option<(usize, Target, bool)> {
    let rest = name.strip_prefix("base_model.model.")?;
    let rest = rest.strip_prefix("model.layers.")?;
    let (layer, rest) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let rest = rest.strip_prefix("self_attn.").or_else(|| rest.strip_prefix("mlp."))?;
    let (module, rest) = rest.split_once('.')?;
    let target = Target::from_peft_name(module)?;
    let is_a = match rest {
        "lora_A.weight" | "lora_A.default.weight" => true,
        "lora_B.weight" | "lora_B.default.weight" => false,
        _ => return None,
    };
    Some((layer, target, is_a))
}

/// What a synthetic adapter looks like.
#[derive(Clone, Debug)]
pub struct SynthSpec {
    pub rank: usize,
    pub alpha: f32,
    pub targets: Vec<Target>,
    pub seed: u64,
    /// Standard deviation of `B`'s entries (0 gives `B = 0`, an adapter that changes nothing).
    pub b_std: f32,
}

/// Writes a seeded synthetic PEFT adapter for a base with `cfg` into `dir` and returns its id.
/// `A` is uniform in `±1/√in` (PEFT's Kaiming init), `B` normal with `b_std`; the same spec
/// always gives the same bytes.
pub fn write_synthetic(
    dir: &Path,
    cfg: &Config,
    base_name: &str,
    spec: &SynthSpec,
) -> Result<String> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(spec.seed);
    let mut tensors: Vec<(String, Tensor)> = Vec::new();
    let normal = Normal::new(0f32, spec.b_std.max(0.0))
        .map_err(|e| Error::invalid("b_std", e.to_string()))?;
    for layer in 0..cfg.layers {
        for &target in &spec.targets {
            let (in_dim, out_dim) = cfg.dims(target);
            let bound = 1.0 / (in_dim as f32).sqrt();
            let a: Vec<f32> = (0..spec.rank.saturating_mul(in_dim))
                .map(|_| rng.random_range(-bound..bound))
                .collect();
            let b: Vec<f32> = (0..out_dim.saturating_mul(spec.rank))
                .map(|_| if spec.b_std > 0.0 { normal.sample(&mut rng) } else { 0.0 })
                .collect();
            tensors.push((
                peft_key(layer, target, true),
                Tensor::from_vec(a, (spec.rank, in_dim), &Device::Cpu)?,
            ));
            tensors.push((
                peft_key(layer, target, false),
                Tensor::from_vec(b, (out_dim, spec.rank), &Device::Cpu)?,
            ));
        }
    }
    let config = AdapterConfig::plain(spec.rank, spec.alpha, &spec.targets, base_name);
    write_peft(dir, &config, tensors)
}

/// The PEFT name of `layer`'s `target` LoRA matrix (`A` or `B`).
pub fn peft_key(layer: usize, target: Target, a: bool) -> String {
    let block = match target {
        Target::Q | Target::K | Target::V | Target::O => "self_attn",
        _ => "mlp",
    };
    let which = if a { "A" } else { "B" };
    format!(
        "base_model.model.model.layers.{layer}.{block}.{}.lora_{which}.weight",
        target.peft_name()
    )
}

/// Writes an adapter (`config` and named tensors) into `dir` in PEFT format and returns its
/// id. The bytes depend only on the inputs (safetensors orders tensors by name).
pub fn write_peft(
    dir: &Path,
    config: &AdapterConfig,
    tensors: Vec<(String, Tensor)>,
) -> Result<String> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let config_bytes = serde_json::to_vec_pretty(config)
        .map_err(|e| Error::Model(format!("cannot serialize the adapter config: {e}")))?;
    let cfg_path = dir.join(CONFIG_FILE);
    std::fs::write(&cfg_path, &config_bytes).map_err(|e| Error::io(&cfg_path, e))?;
    let weights_path = dir.join(WEIGHTS_FILE);
    let map: HashMap<String, Tensor> = tensors.into_iter().collect();
    candle_core::safetensors::save(&map, &weights_path)?;
    let weights = std::fs::read(&weights_path).map_err(|e| Error::io(&weights_path, e))?;
    Ok(adapter_id(&config_bytes, &weights))
}

#[cfg(test)]
mod tests;
