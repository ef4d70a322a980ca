//! Keys and values of one sequence.

use super::{kernels, Config};

/// Keys and values of one sequence, per layer.
///
/// Keys are held transposed, `[kv_heads · head_dim, capacity]` (position fastest): the scores
/// of a block of positions are then plain vector multiply-adds over the head dimension, with no
/// horizontal sums (see `kernels::attention`). Values are row-major,
/// `[position, kv_heads · head_dim]`. The key buffers grow (doubling) when a sequence outruns
/// the capacity it was created with.
#[derive(Clone, Debug, Default)]
pub struct KvCache {
    pub(super) keys: Vec<Vec<f32>>,
    pub(super) values: Vec<Vec<f32>>,
    pub(super) len: usize,
    /// Positions the key buffers have room for: a multiple of `kernels::BLOCK`.
    pub(super) capacity: usize,
    /// `kv_heads · head_dim`.
    pub(super) row: usize,
}

impl KvCache {
    /// An empty cache for `config`, with room reserved for `capacity` tokens.
    pub fn new(config: &Config, capacity: usize) -> Self {
        let row = config.kv_heads.saturating_mul(config.head_dim);
        let capacity = Self::round(capacity);
        let room = row.saturating_mul(capacity);
        Self {
            keys: (0..config.layers).map(|_| vec![0f32; room]).collect(),
            values: (0..config.layers).map(|_| Vec::with_capacity(room)).collect(),
            len: 0,
            capacity,
            row,
        }
    }

    fn round(positions: usize) -> usize {
        positions.max(1).div_ceil(kernels::BLOCK).saturating_mul(kernels::BLOCK)
    }

    /// Makes room for `positions` tokens in every layer's key buffer.
    pub(super) fn reserve(&mut self, positions: usize) {
        if positions <= self.capacity {
            return;
        }
        let capacity = Self::round(positions.max(self.capacity.saturating_mul(2)));
        let (old, len) = (self.capacity, self.len);
        for keys in &mut self.keys {
            let mut grown = vec![0f32; self.row.saturating_mul(capacity)];
            for (dst, src) in grown.chunks_exact_mut(capacity).zip(keys.chunks_exact(old)) {
                if let (Some(d), Some(s)) = (dst.get_mut(..len), src.get(..len)) {
                    d.copy_from_slice(s);
                }
            }
            *keys = grown;
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

    /// Tokens held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no token is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.keys.iter().chain(&self.values).map(|v| v.len().saturating_mul(4)).sum()
    }
}
