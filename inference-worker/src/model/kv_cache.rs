//! Keys and values of one sequence.

use super::{kernels, Config};

/// Keys and values of one sequence, per layer.
///
/// Keys are held transposed, `[kv_heads · head_dim, capacity]` (position fastest): the scores
/// of a block of positions are then plain vector multiply-adds over the head dimension, with no
/// horizontal sums (see `kernels::attention`). Values are row-major,
/// `[position, kv_heads · head_dim]`. The key buffers grow (doubling) when a sequence outruns
/// the capacity it was created with.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KvCache {
    pub(super) keys: Vec<Vec<f32>>,
    pub(super) values: Vec<Vec<f32>>,
    pub(super) len: usize,
    /// Positions the key buffers have room for: a multiple of `kernels::BLOCK`.
    pub(super) capacity: usize,
    /// `kv_heads · head_dim`.
    pub(super) row: usize,
}

/// Positions a growing cache adds at a time: memory follows a sequence's actual length, at
/// most this far ahead of it (never past the most the sequence may need).
pub const GROW: usize = 4 * kernels::BLOCK;

/// Bytes per position per `kv_heads · head_dim` element: a key and a value, `f32` each.
const KV_BYTES: usize = 8;

impl KvCache {
    /// An empty cache for `config`, with room reserved for `capacity` tokens.
    pub fn new(config: &Config, capacity: usize) -> Self {
        let mut cache = Self::empty(config);
        cache.grow_to(Self::round(capacity));
        cache
    }

    /// An empty cache holding no memory (room is made by the first step).
    pub fn empty(config: &Config) -> Self {
        Self {
            keys: vec![Vec::new(); config.layers],
            values: vec![Vec::new(); config.layers],
            len: 0,
            capacity: 0,
            row: config.kv_heads.saturating_mul(config.head_dim),
        }
    }

    /// Bytes a cache of `config` with room for `positions` tokens holds.
    pub fn bytes_for(config: &Config, positions: usize) -> usize {
        Self::round(positions)
            .saturating_mul(config.kv_heads.saturating_mul(config.head_dim))
            .saturating_mul(config.layers)
            .saturating_mul(KV_BYTES)
    }

    /// The most positions (whole blocks) a cache of `config` may hold within `bytes`.
    pub fn positions_within(config: &Config, bytes: usize) -> usize {
        let block = Self::bytes_for(config, kernels::BLOCK).max(1);
        bytes.checked_div(block).unwrap_or(0).saturating_mul(kernels::BLOCK)
    }

    /// Bytes held (keys and values of every layer, at the cache's capacity).
    pub fn bytes(&self) -> usize {
        self.capacity
            .saturating_mul(self.row)
            .saturating_mul(self.keys.len())
            .saturating_mul(KV_BYTES)
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
        let (old, len, row) = (self.capacity, self.len, self.row);
        for keys in &mut self.keys {
            let mut grown = vec![0f32; row.saturating_mul(capacity)];
            if old > 0 {
                for (dst, src) in grown.chunks_exact_mut(capacity).zip(keys.chunks_exact(old)) {
                    if let (Some(d), Some(s)) = (dst.get_mut(..len), src.get(..len)) {
                        d.copy_from_slice(s);
                    }
                }
            }
            *keys = grown;
        }
        for values in &mut self.values {
            let room = row.saturating_mul(capacity);
            values.reserve_exact(room.saturating_sub(values.len()));
        }
        self.capacity = capacity;
    }

    /// Writes the keys of positions `len..len + n` (`ks` is `[n, row]`) into `layer`.
    pub(super) fn put_keys(&mut self, layer: usize, ks: &[f32]) {
        let (row, capacity, len) = (self.row, self.capacity, self.len);
        let Some(keys) = self.keys.get_mut(layer) else { return };
        for (t, k) in ks.chunks_exact(row).enumerate() {
            let pos = len.saturating_add(t);
            for (dst, &v) in keys.iter_mut().skip(pos).step_by(capacity.max(1)).zip(k) {
                *dst = v;
            }
        }
    }

    /// A copy of the first `n` positions (at most those held), with room for exactly them.
    pub fn prefix(&self, n: usize) -> KvCache {
        let n = n.min(self.len);
        let capacity = Self::round(n);
        let (row, old) = (self.row, self.capacity.max(1));
        let keys = self
            .keys
            .iter()
            .map(|keys| {
                let mut copy = vec![0f32; row.saturating_mul(capacity)];
                for (dst, src) in copy.chunks_exact_mut(capacity).zip(keys.chunks_exact(old)) {
                    if let (Some(d), Some(s)) = (dst.get_mut(..n), src.get(..n)) {
                        d.copy_from_slice(s);
                    }
                }
                copy
            })
            .collect();
        let values = self
            .values
            .iter()
            .map(|v| {
                let mut copy = Vec::with_capacity(row.saturating_mul(capacity));
                copy.extend_from_slice(v.get(..row.saturating_mul(n)).unwrap_or_default());
                copy
            })
            .collect();
        KvCache { keys, values, len: n, capacity, row }
    }

    /// Forgets every position from `n` on (the memory stays; later steps overwrite it).
    pub fn truncate(&mut self, n: usize) {
        if n < self.len {
            self.len = n;
            let keep = self.row.saturating_mul(n);
            for v in &mut self.values {
                v.truncate(keep);
            }
        }
    }

    /// A cache holding `n` positions whose keys and values spell (layer, position, element):
    /// tests of code that moves caches around.
    #[cfg(test)]
    #[allow(clippy::arithmetic_side_effects)]
    pub(crate) fn synthetic(config: &Config, n: usize) -> KvCache {
        let mut cache = Self::new(config, n);
        let row = cache.row;
        for layer in 0..config.layers {
            let ks: Vec<f32> = (0..n * row).map(|i| (layer * 1_000_000 + i) as f32).collect();
            cache.put_keys(layer, &ks);
            if let Some(v) = cache.values.get_mut(layer) {
                v.extend(ks.iter().map(|x| -x));
            }
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
