//! Keys and values of one sequence.

use super::{kernels, Config};

/// Keys and values of one sequence, per layer: IEEE half floats (f16), or f32 on the exact
/// path (`Precision::Dense`, [`Config::kv_f32`]).
///
/// Keys are held in blocks of [`kernels::BLOCK`] positions, `[block][kv_heads · head_dim][BLOCK]`
/// (position fastest within a block): the scores of a block of positions are then plain vector
/// multiply-adds over the head dimension, with no horizontal sums (see `kernels::attention`),
/// a block's keys are one contiguous run of memory, and a new position is written into one
/// block. Values are row-major, `[position, kv_heads · head_dim]`.
///
/// Half floats halve what attention reads per step (it is bound by reading the caches) and
/// double what a K/V budget admits, as llama.cpp's and vLLM's default caches do. Values are
/// rounded to nearest even; magnitudes below f16's smallest normal (2⁻¹⁴ ≈ 6.1e-5) are
/// stored as zero and beyond its largest (65504) as ±65504 (see [`to_f16`]), so that reading
/// back is a few integer operations that vectorize ([`from_f16`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KvCache {
    pub(super) layers: Layers,
    pub(super) len: usize,
    /// Positions the key buffers have room for: a multiple of `kernels::BLOCK`.
    pub(super) capacity: usize,
    /// `kv_heads · head_dim`.
    pub(super) row: usize,
}

/// Every layer's keys and values, `(keys, values)` per layer, in one element type.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Layers {
    Half(Vec<(Vec<u16>, Vec<u16>)>),
    Full(Vec<(Vec<f32>, Vec<f32>)>),
}

impl Default for Layers {
    fn default() -> Self {
        Layers::Half(Vec::new())
    }
}

/// `$body` with `$l` bound to the layers' `Vec<(keys, values)>`, whichever the element type.
macro_rules! each {
    ($layers:expr, |$l:ident| $body:expr) => {
        match $layers {
            Layers::Half($l) => $body,
            Layers::Full($l) => $body,
        }
    };
}

/// An element of a K/V cache: how an f32 is stored and read back.
pub(crate) trait KvElem: Copy + Default + Send + Sync {
    fn store(x: f32) -> Self;
    fn load(self) -> f32;
    /// [`kernels::attention`] over a layer of a cache of this element.
    fn attention(
        q: &[f32],
        keys: &[Self],
        values: &[Self],
        cached: usize,
        cfg: &Config,
    ) -> Vec<f32>;
}

impl KvElem for u16 {
    #[inline(always)]
    fn store(x: f32) -> Self {
        to_f16(x)
    }
    #[inline(always)]
    fn load(self) -> f32 {
        from_f16(self)
    }
    fn attention(q: &[f32], keys: &[u16], values: &[u16], cached: usize, cfg: &Config) -> Vec<f32> {
        #[cfg(target_arch = "x86_64")]
        if let Some(v4) = pulp::x86::V4::try_new() {
            return kernels::attention_f16_avx512(v4, q, keys, values, cached, cfg);
        }
        kernels::attention_soft(q, keys, values, cached, cfg)
    }
}

impl KvElem for f32 {
    #[inline(always)]
    fn store(x: f32) -> Self {
        x
    }
    #[inline(always)]
    fn load(self) -> f32 {
        self
    }
    fn attention(q: &[f32], keys: &[f32], values: &[f32], cached: usize, cfg: &Config) -> Vec<f32> {
        kernels::attention_soft(q, keys, values, cached, cfg)
    }
}

/// Positions a growing cache adds at a time: memory follows a sequence's actual length, at
/// most this far ahead of it (never past the most the sequence may need).
pub const GROW: usize = 4 * kernels::BLOCK;

/// Bytes per position per `kv_heads · head_dim` element: a key and a value.
fn kv_bytes(config: &Config) -> usize {
    if config.kv_f32 {
        8
    } else {
        4
    }
}

/// `x` as f16 bits, rounded to nearest even; below f16's smallest normal magnitude it is
/// stored as (signed) zero, beyond its largest as ±65504 (NaN too). Integer arithmetic only,
/// so that a row converts in vector registers.
#[inline(always)]
pub(crate) fn to_f16(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = (bits >> 16) & 0x8000;
    let abs = bits & 0x7fff_ffff;
    // Round the 23-bit mantissa to 10 bits, to nearest even; a carry moves into the exponent.
    let rounded = abs.wrapping_add(0x0fff).wrapping_add((abs >> 13) & 1) >> 13;
    // Re-bias the exponent (127 → 15): 112 · 2¹⁰ off the shifted bits.
    let h = rounded.wrapping_sub(112 << 10).min(0x7bff);
    let h = if abs < 0x3880_0000 { 0 } else { h };
    (sign | h) as u16
}

/// The f32 value of f16 bits written by [`to_f16`] (never subnormal, infinite or NaN).
#[inline(always)]
pub(crate) fn from_f16(h: u16) -> f32 {
    let bits = u32::from(h);
    let mag = (bits & 0x7fff) << 13;
    let mag = if mag == 0 { 0 } else { mag.wrapping_add(112 << 23) };
    f32::from_bits(mag | ((bits & 0x8000) << 16))
}

impl KvCache {
    /// An empty cache for `config`, with room reserved for `capacity` tokens.
    pub fn new(config: &Config, capacity: usize) -> Self {
        let mut cache = Self::empty(config);
        cache.grow_to(Self::round(capacity));
        cache
    }

    /// An empty cache holding no memory (room is made by the first step).
    pub fn empty(config: &Config) -> Self {
        let layers = if config.kv_f32 {
            Layers::Full(vec![(Vec::new(), Vec::new()); config.layers])
        } else {
            Layers::Half(vec![(Vec::new(), Vec::new()); config.layers])
        };
        Self { layers, len: 0, capacity: 0, row: config.kv_heads.saturating_mul(config.head_dim) }
    }

    /// Bytes a cache of `config` with room for `positions` tokens holds.
    pub fn bytes_for(config: &Config, positions: usize) -> usize {
        Self::round(positions)
            .saturating_mul(config.kv_heads.saturating_mul(config.head_dim))
            .saturating_mul(config.layers)
            .saturating_mul(kv_bytes(config))
    }

    /// The most positions (whole blocks) a cache of `config` may hold within `bytes`.
    pub fn positions_within(config: &Config, bytes: usize) -> usize {
        let block = Self::bytes_for(config, kernels::BLOCK).max(1);
        bytes.checked_div(block).unwrap_or(0).saturating_mul(kernels::BLOCK)
    }

    /// Bytes held (keys and values of every layer, at the cache's capacity).
    pub fn bytes(&self) -> usize {
        let (layers, per) = match &self.layers {
            Layers::Half(l) => (l.len(), 4),
            Layers::Full(l) => (l.len(), 8),
        };
        self.capacity.saturating_mul(self.row).saturating_mul(layers).saturating_mul(per)
    }

    fn round(positions: usize) -> usize {
        positions.max(1).div_ceil(kernels::BLOCK).saturating_mul(kernels::BLOCK)
    }

    /// The capacity [`KvCache::grow`] gives for `positions` tokens: unchanged when they fit,
    /// else [`GROW`] more, at least `positions` and at most `limit` (rounded to blocks).
    pub fn grown_capacity(&self, positions: usize, limit: usize) -> usize {
        if positions <= self.capacity {
            return self.capacity;
        }
        let ahead = positions.max(self.capacity.saturating_add(GROW)).min(limit.max(positions));
        Self::round(ahead)
    }

    /// Makes room for `positions` tokens, growing by [`GROW`] positions (up to `limit`).
    pub fn grow(&mut self, positions: usize, limit: usize) {
        let capacity = self.grown_capacity(positions, limit);
        self.grow_to(capacity);
    }

    /// Makes room for exactly `positions` tokens (rounded to blocks).
    pub(super) fn reserve(&mut self, positions: usize) {
        if positions > self.capacity {
            self.grow_to(Self::round(positions));
        }
    }

    fn grow_to(&mut self, capacity: usize) {
        if capacity <= self.capacity {
            return;
        }
        let room = self.row.saturating_mul(capacity);
        // Blocks are appended: the held ones keep their place.
        each!(&mut self.layers, |l| {
            for (keys, values) in l.iter_mut() {
                keys.reserve_exact(room.saturating_sub(keys.len()));
                keys.resize(room, Default::default());
                values.reserve_exact(room.saturating_sub(values.len()));
            }
        });
        self.capacity = capacity;
    }

    /// Writes the keys and values of positions `len..len + n` (`ks` and `vs` are `[n, row]`)
    /// into `layer`.
    pub(super) fn put(&mut self, layer: usize, ks: &[f32], vs: &[f32]) {
        let (row, len) = (self.row, self.len);
        each!(&mut self.layers, |l| {
            if let Some((keys, values)) = l.get_mut(layer) {
                put_layer(keys, values, row, len, ks, vs);
            }
        })
    }

    /// Attention of the queries `q` (the rows of positions `len..`, whose keys and values
    /// [`KvCache::put`] wrote) over `layer`.
    pub(super) fn attend(&self, layer: usize, q: &[f32], config: &Config) -> Vec<f32> {
        each!(&self.layers, |l| match l.get(layer) {
            Some((keys, values)) => kernels::attention(q, keys, values, self.len, config),
            None => Vec::new(),
        })
    }

    /// A copy of the first `n` positions (at most those held), with room for exactly them.
    pub fn prefix(&self, n: usize) -> KvCache {
        let n = n.min(self.len);
        let capacity = Self::round(n);
        let row = self.row;
        let layers = match &self.layers {
            Layers::Half(l) => {
                Layers::Half(l.iter().map(|kv| prefix_layer(kv, row, n, capacity)).collect())
            }
            Layers::Full(l) => {
                Layers::Full(l.iter().map(|kv| prefix_layer(kv, row, n, capacity)).collect())
            }
        };
        KvCache { layers, len: n, capacity, row }
    }

    /// Forgets every position from `n` on (the memory stays; later steps overwrite it).
    pub fn truncate(&mut self, n: usize) {
        if n < self.len {
            self.len = n;
            let keep = self.row.saturating_mul(n);
            each!(&mut self.layers, |l| {
                for (_, values) in l.iter_mut() {
                    values.truncate(keep);
                }
            });
        }
    }

    /// A cache holding `n` positions whose keys and values spell (layer, position, element)
    /// in values f16 holds exactly: tests of code that moves caches around.
    #[cfg(test)]
    #[allow(clippy::arithmetic_side_effects)]
    pub(crate) fn synthetic(config: &Config, n: usize) -> KvCache {
        let mut cache = Self::new(config, n);
        let row = cache.row;
        for layer in 0..config.layers {
            let ks: Vec<f32> =
                (0..n * row).map(|i| ((layer * 7919 + i) % 2039 + 1) as f32).collect();
            let vs: Vec<f32> = ks.iter().map(|x| -x).collect();
            cache.put(layer, &ks, &vs);
        }
        cache.len = n;
        cache
    }

    /// Tokens held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no token is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// [`KvCache::put`] on one layer's buffers.
fn put_layer<T: KvElem>(
    keys: &mut [T],
    values: &mut Vec<T>,
    row: usize,
    len: usize,
    ks: &[f32],
    vs: &[f32],
) {
    const B: usize = kernels::BLOCK;
    for (t, k) in ks.chunks_exact(row.max(1)).enumerate() {
        let pos = len.saturating_add(t);
        let start = (pos / B).saturating_mul(row).saturating_mul(B).saturating_add(pos % B);
        let block = keys.get_mut(start..).unwrap_or_default();
        for (dst, &v) in block.iter_mut().step_by(B).zip(k) {
            *dst = T::store(v);
        }
    }
    // Only positions up to `len` are held; a repeated write replaces, never appends twice.
    values.truncate(row.saturating_mul(len));
    values.extend(vs.iter().map(|&v| T::store(v)));
}

/// The first `n` positions of one layer's `(keys, values)`, with room for `capacity`.
fn prefix_layer<T: KvElem>(
    (keys, values): &(Vec<T>, Vec<T>),
    row: usize,
    n: usize,
    capacity: usize,
) -> (Vec<T>, Vec<T>) {
    const B: usize = kernels::BLOCK;
    let mut copy = vec![T::default(); row.saturating_mul(capacity)];
    let whole = (n / B).saturating_mul(row).saturating_mul(B);
    if let (Some(d), Some(s)) = (copy.get_mut(..whole), keys.get(..whole)) {
        d.copy_from_slice(s);
    }
    // The last, partial block: its first `n % B` positions (the rest stay zero, as in a
    // fresh cache).
    let part = n % B;
    if part > 0 {
        let end = whole.saturating_add(row.saturating_mul(B));
        if let (Some(d), Some(s)) = (copy.get_mut(whole..end), keys.get(whole..end)) {
            for (d, s) in d.chunks_exact_mut(B).zip(s.chunks_exact(B)) {
                if let (Some(d), Some(s)) = (d.get_mut(..part), s.get(..part)) {
                    d.copy_from_slice(s);
                }
            }
        }
    }
    let mut vcopy = Vec::with_capacity(row.saturating_mul(capacity));
    vcopy.extend_from_slice(values.get(..row.saturating_mul(n)).unwrap_or_default());
    (copy, vcopy)
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The cache's f16 conversion rounds as IEEE does (the `half` crate) over f16's normal
    /// range, stores magnitudes below it as signed zero and beyond it as ±65504, and reads
    /// back exactly what it stored.
    #[test]
    fn half_floats_round_as_ieee_within_the_normal_range() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let min_normal = 6.103_515_6e-5_f32;
        for _ in 0..200_000 {
            let e = rng.random_range(-14.0f32..15.0).floor();
            let x =
                rng.random_range(1.0f32..2.0) * e.exp2() * if rng.random() { 1.0 } else { -1.0 };
            let h = to_f16(x);
            let want = half::f16::from_f32(x);
            assert_eq!(h, want.to_bits(), "{x}");
            assert_eq!(from_f16(h), want.to_f32(), "{x}");
        }
        for x in [0.0f32, -0.0, 1e-9, -3e-6, min_normal * 0.999, f32::MIN_POSITIVE] {
            assert_eq!(from_f16(to_f16(x)), 0.0, "{x}");
            assert_eq!(to_f16(x) & 0x8000, if x.is_sign_negative() { 0x8000 } else { 0 });
        }
        assert_eq!(from_f16(to_f16(min_normal)), min_normal);
        for (x, want) in [(65504.0f32, 65504.0f32), (1e6, 65504.0), (-1e30, -65504.0)] {
            assert_eq!(from_f16(to_f16(x)), want, "{x}");
        }
        assert_eq!(from_f16(to_f16(f32::INFINITY)), 65504.0);
        // Integers up to 2048 are exact (the synthetic caches of the tests rely on it).
        for i in -2048..=2048 {
            assert_eq!(from_f16(to_f16(i as f32)), i as f32);
        }
    }

    /// Positions written across block boundaries read back from their blocks; a prefix copy
    /// keeps exactly its positions (zeros after them, as a fresh cache holds) and room for
    /// them only; growing keeps what was written.
    #[test]
    fn blocked_keys_survive_growth_and_prefix_copies() {
        for kv_f32 in [false, true] {
            blocked_keys(kv_f32);
        }
    }

    /// Key `i` and value `i` of `layer`, and how many values are held there.
    fn at(c: &KvCache, layer: usize, key: usize, value: usize) -> (f32, f32, usize) {
        match &c.layers {
            Layers::Half(l) => {
                (from_f16(l[layer].0[key]), from_f16(l[layer].1[value]), l[layer].1.len())
            }
            Layers::Full(l) => (l[layer].0[key], l[layer].1[value], l[layer].1.len()),
        }
    }

    fn blocked_keys(kv_f32: bool) {
        let cfg = crate::model::Config {
            hidden: 64,
            intermediate: 128,
            layers: 2,
            heads: 4,
            kv_heads: 2,
            head_dim: 8,
            vocab: 100,
            rope_theta: 10_000.0,
            rms_eps: 1e-5,
            context: 4096,
            eos: vec![],
            kv_f32,
        };
        let n = 37;
        let mut cache = KvCache::new(&cfg, 5);
        let row = cache.row;
        let key = |l: usize, p: usize, e: usize| (l * 500 + p * row + e) as f32 % 2000.0;
        for p in 0..n {
            cache.reserve(p + 1);
            for l in 0..cfg.layers {
                let ks: Vec<f32> = (0..row).map(|e| key(l, p, e)).collect();
                let vs: Vec<f32> = ks.iter().map(|x| -x).collect();
                cache.put(l, &ks, &vs);
            }
            cache.len += 1;
        }
        let read = |c: &KvCache, l: usize, p: usize, e: usize| {
            let b = kernels::BLOCK;
            at(c, l, (p / b * row + e) * b + p % b, 0).0
        };
        for l in 0..cfg.layers {
            for p in 0..n {
                for e in 0..row {
                    assert_eq!(read(&cache, l, p, e), key(l, p, e));
                    assert_eq!(at(&cache, l, 0, p * row + e).1, -key(l, p, e));
                }
            }
        }
        let copy = cache.prefix(20);
        assert_eq!((copy.len, copy.capacity), (20, 32));
        for l in 0..cfg.layers {
            for e in 0..row {
                for p in 0..32 {
                    let want = if p < 20 { key(l, p, e) } else { 0.0 };
                    assert_eq!(read(&copy, l, p, e), want);
                }
            }
            assert_eq!(at(&copy, l, 0, 0).2, 20 * row);
        }
        assert_eq!(copy.bytes(), KvCache::bytes_for(&cfg, 20));
        assert_eq!(copy, copy.prefix(20));
        assert_eq!(copy.bytes(), 20usize.div_ceil(16) * 16 * row * 2 * if kv_f32 { 8 } else { 4 });
    }
}
