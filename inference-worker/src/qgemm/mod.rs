//! 8-bit and 4-bit matrix products on the CPU (x86-64 with AVX-512 VNNI): the engine's
//! projections.
//!
//! # Format
//! A [`QMatrix`] holds `W` (`[out, in]`) in blocks of 32 inputs, packed in tiles of 16
//! outputs × 32 inputs laid out for `vpdpbusd` (each 32-bit lane holds four consecutive inputs
//! of one output), in one of two forms:
//! - **8-bit** ([`QMatrix::quantize`]): quantized symmetrically, one f32 scale per block and
//!   output (`w ≈ scale · q`, `q ∈ [-127, 127]`), stored offset by +128 because the
//!   instruction multiplies unsigned by signed bytes;
//! - **4-bit** ([`QMatrix::from_gguf_q4`]): a GGUF Q4_0/Q4_1 file's own blocks, repacked
//!   without any rounding (`w = d · q + m`, `q ∈ [0, 15]`, `d` and `m` the block's f16 values),
//!   two input groups per byte (low and high nibble). Nothing is re-quantized, so the products
//!   are those of the file's weights (the fidelity llama.cpp gets from the same file), and a
//!   decode step reads 0.625 bytes per weight instead of 1.125.
//!
//! [`QActs`] holds the activations quantized to 8 bits per row and block, with each block's
//! sum (the +128 offset's correction in the 8-bit form, the `m` term in the 4-bit one).
//!
//! # Why not candle's quantized matmul
//! Measured on the 2-core worker machine (`perf`, 16-row decode steps of SmolLM2-135M):
//! candle quantizes the activations inside every matmul call with a scalar loop (a libm
//! `roundf` per value in a baseline x86-64 build), which cost as much as a third of the matmul
//! time at 16 rows, once per projection even when q/k/v read the same input; and its VNNI
//! kernel takes only inner dimensions that are multiples of 256, so SmolLM2's 576 had to be
//! padded to 768 (a third more arithmetic and weight bytes). Here the activations are
//! quantized once per shared input in vectorized code, any multiple of 32 is accepted, and the
//! kernel keeps a 4-row × 2-tile block of accumulators in registers.
//!
//! # Safety
//! This module holds the worker's `unsafe` code (besides one `mallopt` call in `alloc`): the
//! AVX-512 kernel (intrinsics that
//! read through pointers) and the call into it. A [`QMatrix`] is only constructed when the
//! running CPU has the instructions ([`available`]), and every pointer offset the kernel
//! forms is checked against the buffer lengths (`QMatrix::check`) before the call.

use crate::error::{Error, Result};

/// Inputs per quantization block.
pub const BLOCK: usize = 32;
/// Outputs per tile (one AVX-512 register of i32/f32 lanes).
pub const TILE: usize = 16;

/// One block of 32 inputs for 16 outputs.
#[derive(Clone, Debug)]
#[repr(C, align(64))]
struct Tile {
    /// `[input group (8)][output (16)][4 inputs]`, each `q + 128`.
    qs: [u8; BLOCK * TILE],
    /// Per output.
    scale: [f32; TILE],
}

impl Tile {
    const ZERO: Tile = Tile { qs: [128; BLOCK * TILE], scale: [0.0; TILE] };
}

/// One block of 32 inputs for 16 outputs, 4-bit: a GGUF Q4_0/Q4_1 block as it was.
#[derive(Clone, Debug)]
#[repr(C, align(64))]
struct Tile4 {
    /// `[input group pair (4)][output (16)][4 inputs]`: the low nibble of a byte belongs to
    /// group `2p`, the high nibble to group `2p + 1`; `q ∈ [0, 15]`.
    qs: [u8; BLOCK * TILE / 2],
    /// Per output, f16 bits: `w = d · q + m`.
    d: [u16; TILE],
    m: [u16; TILE],
}

impl Tile4 {
    const ZERO: Tile4 = Tile4 { qs: [0; BLOCK * TILE / 2], d: [0; TILE], m: [0; TILE] };
}

/// A matrix's tiles, `[output tile][block]`.
#[derive(Clone, Debug)]
enum Tiles {
    Q8(Vec<Tile>),
    Q4(Vec<Tile4>),
    /// 8-bit integers with unit scales (no scale stored), `groups` input groups of 4 per
    /// tile: 8 (whole blocks) or 4 (a matrix of at most 16 inputs, held as one block whose
    /// second half is zero and not stored). `[tile][group][output (16)][4 inputs]`, each
    /// `q + 128`, `64 · groups` bytes per tile.
    Raw {
        qs: RawBytes,
        groups: usize,
    },
}

/// The bytes of raw tiles: a range of a buffer, the matrix's own or one that several matrices
/// share ([`QMatrix::pack`]: an adapter's matrices in one buffer, in the order a step reads
/// them, so that it reads them as one stream rather than as many scattered pieces).
#[derive(Clone, Debug)]
struct RawBytes {
    buf: std::sync::Arc<Vec<u8>>,
    start: usize,
    len: usize,
}

impl RawBytes {
    fn own(qs: Vec<u8>) -> Self {
        let len = qs.len();
        Self { buf: std::sync::Arc::new(qs), start: 0, len }
    }

    /// The range (empty if it were outside the buffer, which `pack` never makes).
    fn get(&self) -> &[u8] {
        self.start
            .checked_add(self.len)
            .and_then(|end| self.buf.get(self.start..end))
            .unwrap_or(&[])
    }
}

impl Tiles {
    fn len(&self) -> usize {
        match self {
            Tiles::Q8(t) => t.len(),
            Tiles::Q4(t) => t.len(),
            Tiles::Raw { qs, groups } => {
                // The bytes the kernel will read (`check` compares them with the shape).
                qs.get().len().checked_div(groups.saturating_mul(64)).unwrap_or(0)
            }
        }
    }
}

/// Whether this CPU runs the kernel (x86-64 with AVX-512 F/BW/VNNI).
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether an `[out_dim, in_dim]` matrix can be held as a [`QMatrix`] on this CPU.
pub fn supported(out_dim: usize, in_dim: usize) -> bool {
    out_dim > 0
        && in_dim > 0
        && out_dim.is_multiple_of(TILE)
        && in_dim.is_multiple_of(BLOCK)
        && available()
}

/// Symmetric 8-bit quantization of one block: the scale and `round(x / scale)`; written
/// over fixed-size arrays so that it vectorizes completely inside `kernels::simd`.
#[inline(always)]
fn quantize_block(x: &[f32], q: &mut [i8]) -> f32 {
    let (Ok(x), Ok(q)) = (<&[f32; BLOCK]>::try_from(x), <&mut [i8; BLOCK]>::try_from(q)) else {
        return 0.0;
    };
    let mut lanes = [0f32; 16];
    for c in x.chunks_exact(16) {
        for (l, v) in lanes.iter_mut().zip(c) {
            let a = v.abs();
            *l = if a > *l { a } else { *l };
        }
    }
    let amax = lanes.iter().fold(0f32, |m, &v| if v > m { v } else { m });
    let inv = if amax > 0.0 { 127.0 / amax } else { 0.0 };
    // Round to nearest even by adding 1.5·2²³: the sum's low mantissa bits are then the
    // integer (exact for |y| < 2²²), read with integer arithmetic, all of which vectorizes
    // (a saturating `as i32` cast does not: it compiles to a scalar NaN and range check per
    // value).
    const MAGIC: f32 = 12_582_912.0;
    let magic_bits = MAGIC.to_bits() as i32;
    for (dst, v) in q.iter_mut().zip(x) {
        let y = (v * inv).clamp(-127.0, 127.0);
        *dst = ((y + MAGIC).to_bits() as i32).wrapping_sub(magic_bits) as i8;
    }
    amax / 127.0
}

/// A weight matrix `[out, in]` in the tile format, 8-bit or 4-bit.
#[derive(Clone, Debug)]
pub struct QMatrix {
    pub out_dim: usize,
    pub in_dim: usize,
    blocks: usize,
    tiles: Tiles,
}

// Offsets below are products of the checked dimensions (`supported`), far below `usize::MAX`.
#[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)]
impl QMatrix {
    /// Quantizes `w` (row-major `[out_dim, in_dim]`).
    pub fn quantize(w: &[f32], out_dim: usize, in_dim: usize) -> Result<Self> {
        if !supported(out_dim, in_dim) || w.len() != out_dim * in_dim {
            return Err(Error::Model(format!(
                "a {out_dim}x{in_dim} matrix ({} values) cannot be held as 8-bit tiles here",
                w.len()
            )));
        }
        let blocks = in_dim / BLOCK;
        let mut tiles = vec![Tile::ZERO; out_dim / TILE * blocks];
        let mut q = [0i8; BLOCK];
        for (t, tile) in tiles.iter_mut().enumerate() {
            let (nt, b) = (t / blocks, t % blocks);
            for r in 0..TILE {
                let row = nt * TILE + r;
                let x = &w[row * in_dim + b * BLOCK..row * in_dim + (b + 1) * BLOCK];
                tile.scale[r] = quantize_block(x, &mut q);
                for (k, &v) in q.iter().enumerate() {
                    tile.qs[(k / 4) * TILE * 4 + r * 4 + k % 4] = (i16::from(v) + 128) as u8;
                }
            }
        }
        Ok(Self { out_dim, in_dim, blocks, tiles: Tiles::Q8(tiles) })
    }

    /// 8-bit integers `q` (row-major `[out_dim, in_dim]`) as tiles with unit scales: the
    /// same integers, nothing rounded, and no scales stored. For a matrix whose scales are
    /// applied elsewhere (an adapter's rank-1 slices, each with its own scale, see `lora`).
    /// `in_dim` is a multiple of 32, or at most 16: such a matrix is held as one block of 32
    /// inputs whose last 16 are zero (its `in_dim` is then 32) and takes half the bytes.
    pub fn from_i8(q: &[i8], out_dim: usize, in_dim: usize) -> Result<Self> {
        let (width, groups) = if in_dim <= TILE { (BLOCK, 4) } else { (in_dim, BLOCK / 4) };
        if in_dim == 0 || !supported(out_dim, width) || q.len() != out_dim * in_dim {
            return Err(Error::Model(format!(
                "a {out_dim}x{in_dim} matrix ({} values) cannot be held as 8-bit tiles here",
                q.len()
            )));
        }
        let blocks = width / BLOCK;
        let per = 64 * groups;
        let mut qs = vec![128u8; out_dim / TILE * blocks * per];
        // `q + 128` as a byte is `q`'s bits with the top one flipped.
        let offset = |v: i8| (v as u8) ^ 0x80;
        for (t, tile) in qs.chunks_exact_mut(per).enumerate() {
            let (nt, b) = (t / blocks, t % blocks);
            let inputs = (4 * groups).min(in_dim - b * BLOCK);
            for r in 0..TILE {
                let at = (nt * TILE + r) * in_dim + b * BLOCK;
                let src = &q[at..at + inputs];
                // Inputs `4g..4g + 4` of output `r` form one 32-bit lane of group `g`.
                for (g, four) in src.chunks(4).enumerate() {
                    let lane = g * TILE * 4 + r * 4;
                    for (dst, &v) in tile[lane..lane + four.len()].iter_mut().zip(four) {
                        *dst = offset(v);
                    }
                }
            }
        }
        Ok(Self {
            out_dim,
            in_dim: width,
            blocks,
            tiles: Tiles::Raw { qs: RawBytes::own(qs), groups },
        })
    }

    /// The stored integers of a matrix made by [`QMatrix::from_i8`], row-major
    /// `[out, in]` (with the zero inputs of a half block); `None` for other matrices.
    pub fn to_i8(&self) -> Option<Vec<i8>> {
        let Tiles::Raw { qs, groups } = &self.tiles else { return None };
        let (qs, per) = (qs.get(), 64 * groups);
        let mut q = vec![0i8; self.out_dim * self.in_dim];
        for (t, tile) in qs.chunks_exact(per).enumerate() {
            let (nt, b) = (t / self.blocks, t % self.blocks);
            for r in 0..TILE {
                let at = (nt * TILE + r) * self.in_dim + b * BLOCK;
                for (k, dst) in q[at..at + 4 * groups].iter_mut().enumerate() {
                    *dst = (i16::from(tile[(k / 4) * TILE * 4 + r * 4 + k % 4]) - 128) as i8;
                }
            }
        }
        Some(q)
    }

    /// A GGUF Q4_0 (`q4_1 = false`: 18-byte blocks `d, qs[16]`, `w = d · (q − 8)`) or Q4_1
    /// (20-byte blocks `d, m, qs[16]`, `w = d · q + m`) matrix's raw `data` (row-major
    /// `[out_dim, in_dim]`, element `j < 16` of a block in the low nibble of `qs[j]`, element
    /// `j + 16` in its high nibble), repacked as 4-bit tiles without rounding anything.
    pub fn from_gguf_q4(q4_1: bool, data: &[u8], out_dim: usize, in_dim: usize) -> Result<Self> {
        let block_bytes = if q4_1 { 20 } else { 18 };
        let blocks = in_dim / BLOCK;
        if !supported(out_dim, in_dim) || data.len() != out_dim * blocks * block_bytes {
            return Err(Error::Model(format!(
                "a {out_dim}x{in_dim} Q4 matrix ({} bytes) cannot be held as 4-bit tiles here",
                data.len()
            )));
        }
        let f16_at = |at: usize| u16::from_le_bytes([data[at], data[at + 1]]);
        let mut tiles = vec![Tile4::ZERO; out_dim / TILE * blocks];
        for (t, tile) in tiles.iter_mut().enumerate() {
            let (nt, b) = (t / blocks, t % blocks);
            for r in 0..TILE {
                let at = ((nt * TILE + r) * blocks + b) * block_bytes;
                let d = f16_at(at);
                tile.d[r] = d;
                // Q4_0's `d · (q − 8)` is `d · q + m` with `m = −8d`, exact in f16 (a power
                // of two times `d`; a block's `d` is far below f16's range / 8).
                tile.m[r] = if q4_1 {
                    f16_at(at + 2)
                } else {
                    half::f16::from_f32(-8.0 * half::f16::from_bits(d).to_f32()).to_bits()
                };
                let qs = &data[at + block_bytes - 16..at + block_bytes];
                for k in 0..BLOCK {
                    let q = if k < 16 { qs[k] & 0x0F } else { qs[k - 16] >> 4 };
                    let g = k / 4;
                    tile.qs[(g / 2) * TILE * 4 + r * 4 + k % 4] |= q << (4 * (g % 2));
                }
            }
        }
        Ok(Self { out_dim, in_dim, blocks, tiles: Tiles::Q4(tiles) })
    }

    /// Whether the matrix holds 4-bit tiles.
    pub fn is_4bit(&self) -> bool {
        matches!(self.tiles, Tiles::Q4(_))
    }

    /// The matrix as f32, row-major `[out, in]`.
    pub fn dequantize(&self) -> Vec<f32> {
        if let Some(q) = self.to_i8() {
            return q.into_iter().map(f32::from).collect();
        }
        let mut w = vec![0f32; self.out_dim * self.in_dim];
        let blocks = self.blocks;
        let mut put = |t: usize, r: usize, k: usize, v: f32| {
            let (nt, b) = (t / blocks, t % blocks);
            w[(nt * TILE + r) * self.in_dim + b * BLOCK + k] = v;
        };
        match &self.tiles {
            Tiles::Q8(tiles) => {
                for (t, tile) in tiles.iter().enumerate() {
                    for r in 0..TILE {
                        for k in 0..BLOCK {
                            let q = i16::from(tile.qs[(k / 4) * TILE * 4 + r * 4 + k % 4]) - 128;
                            put(t, r, k, f32::from(q) * tile.scale[r]);
                        }
                    }
                }
            }
            Tiles::Raw { .. } => {}
            Tiles::Q4(tiles) => {
                for (t, tile) in tiles.iter().enumerate() {
                    for r in 0..TILE {
                        let d = half::f16::from_bits(tile.d[r]).to_f32();
                        let m = half::f16::from_bits(tile.m[r]).to_f32();
                        for k in 0..BLOCK {
                            let g = k / 4;
                            let byte = tile.qs[(g / 2) * TILE * 4 + r * 4 + k % 4];
                            let q = (byte >> (4 * (g % 2))) & 0x0F;
                            // As GGUF dequantizes: `q · d + m` in f32.
                            put(t, r, k, f32::from(q) * d + m);
                        }
                    }
                }
            }
        }
        w
    }

    /// Moves the raw tiles of `mats` into one buffer, in this order, each starting on a cache
    /// line, so that products reading one after another read one stream (the hardware's
    /// prefetcher runs ahead on it). The values are unchanged; other matrices are left as they
    /// are.
    pub fn pack(mats: &mut [&mut QMatrix]) {
        const LINE: usize = 64;
        let total: usize = mats
            .iter()
            .filter_map(|m| match &m.tiles {
                Tiles::Raw { qs, .. } => Some(qs.len + LINE),
                _ => None,
            })
            .sum();
        let mut buf: Vec<u8> = Vec::with_capacity(total + LINE);
        let mut ranges = Vec::with_capacity(mats.len());
        for m in mats.iter() {
            let Tiles::Raw { qs, .. } = &m.tiles else {
                ranges.push(None);
                continue;
            };
            // Pad to the next cache line of the buffer's address (its capacity is reserved
            // above, so it does not move).
            let at = (buf.as_ptr() as usize).wrapping_add(buf.len());
            buf.resize(buf.len() + (LINE - at % LINE) % LINE, 0);
            let bytes = qs.get();
            ranges.push(Some((buf.len(), bytes.len())));
            buf.extend_from_slice(bytes);
        }
        let buf = std::sync::Arc::new(buf);
        for (m, range) in mats.iter_mut().zip(ranges) {
            if let (Tiles::Raw { qs, .. }, Some((start, len))) = (&mut m.tiles, range) {
                *qs = RawBytes { buf: buf.clone(), start, len };
            }
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        match &self.tiles {
            Tiles::Q8(t) => t.len() * std::mem::size_of::<Tile>(),
            Tiles::Q4(t) => t.len() * std::mem::size_of::<Tile4>(),
            Tiles::Raw { qs, .. } => qs.len,
        }
    }

    /// `x · Wᵀ` for the quantized rows `x`: row-major `[x.rows, out_dim]`.
    pub fn matmul(&self, x: &QActs) -> Result<Vec<f32>> {
        Ok(Self::matmul_many(&[self], x)?.pop().unwrap_or_default())
    }

    /// `x · Wᵀ` on the calling thread, for products too small to share out, or computed
    /// inside a work item already running on the pool.
    pub fn matmul_here(&self, x: &QActs) -> Result<Vec<f32>> {
        let mut out = Vec::new();
        self.matmul_here_into(x, &mut out)?;
        Ok(out)
    }

    /// As [`QMatrix::matmul_here`], into `out` (resized; its allocation is reused).
    pub fn matmul_here_into(&self, x: &QActs, out: &mut Vec<f32>) -> Result<()> {
        self.check(x)?;
        out.clear();
        out.resize(x.rows * self.out_dim, 0.0);
        if x.rows > 0 {
            self.range(x, 0, self.out_dim / TILE, out.as_mut_ptr() as usize);
        }
        Ok(())
    }

    fn check(&self, x: &QActs) -> Result<()> {
        let m = x.rows;
        if x.in_dim != self.in_dim
            || x.qs.len() != m * self.in_dim
            || x.scale.len() != m * self.blocks
            || x.corr.len() != m * self.blocks
            || !self.out_dim.is_multiple_of(TILE)
            || self.tiles.len() != self.out_dim / TILE * self.blocks
            || matches!(self.tiles, Tiles::Raw { groups, .. } if groups != 4 && groups != 8)
        {
            return Err(Error::Model(format!(
                "8-bit product of {m}x{} activations with a {}x{} matrix",
                x.in_dim, self.out_dim, self.in_dim
            )));
        }
        Ok(())
    }

    /// `x · Wᵢᵀ` for every matrix of `mats` (projections that read the same activations, such
    /// as q/k/v), in one parallel region on candle's CPU thread pool (see `tune_cpu_threads`);
    /// products too small to be worth a region run on the calling thread.
    ///
    /// Work items are disjoint ranges of output tiles, written in place; each row's result is
    /// the same whatever the split and whatever other rows are in `x`.
    pub fn matmul_many(mats: &[&QMatrix], x: &QActs) -> Result<Vec<Vec<f32>>> {
        for m in mats {
            m.check(x)?;
        }
        let rows = x.rows;
        // Not zeroed: the items write every element (below). Zeroing them was ~2% of a
        // batch-32 decode step, on the calling thread while the pool waited.
        let mut outs: Vec<Vec<f32>> =
            mats.iter().map(|m| Vec::with_capacity(rows * m.out_dim)).collect();
        let total: usize = mats.iter().map(|m| m.out_dim / TILE).sum();
        let macs: usize = mats.iter().map(|m| m.out_dim * m.in_dim).sum::<usize>() * rows;
        let threads = pool_threads();
        // About eight items per thread, at least 2 tiles each: the pool's cursor hands them
        // out one at a time, so the threads finish within one small item of each other.
        let per = if macs < INLINE_MACS { total } else { total.div_ceil(threads * 8).max(2) };
        let mut items: Vec<(usize, usize, usize)> = Vec::new();
        for (i, m) in mats.iter().enumerate() {
            let n_tiles = m.out_dim / TILE;
            items.extend((0..n_tiles).step_by(per.max(1)).map(|s| (i, s, (s + per).min(n_tiles))));
        }
        // Raw addresses, so that the items can write their disjoint ranges from the pool.
        let dsts: Vec<usize> = outs.iter_mut().map(|o| o.as_mut_ptr() as usize).collect();
        let run = |i: usize| {
            if let Some(&(mi, s, e)) = items.get(i) {
                if let (Some(m), Some(&dst)) = (mats.get(mi), dsts.get(mi)) {
                    m.range(x, s, e, dst);
                }
            }
        };
        if items.len() > 1 && macs >= INLINE_MACS {
            candle_core::utils::barrier_pool().execute_chunked(items.len(), |r| r.for_each(run));
        } else {
            (0..items.len()).for_each(run);
        }
        for (o, m) in outs.iter_mut().zip(mats) {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the items cover output tiles `0..out_dim / 16` of every matrix (`check`:
            // `out_dim` is a multiple of 16), each with `s < e ≤ out_dim / 16`, so `range` ran
            // the kernel on every one of them; the kernel stores every row of each tile it
            // walks (`avx512::drive`), so all `rows · out_dim` values of the capacity reserved
            // above are written, and the region has ended.
            #[allow(unsafe_code)]
            unsafe {
                o.set_len(rows * m.out_dim)
            };
            #[cfg(not(target_arch = "x86_64"))]
            o.resize(rows * m.out_dim, 0.0);
        }
        Ok(outs)
    }

    /// Output tiles `s..e` for every row of `x`, written into the `[x.rows, out_dim]` f32
    /// buffer at address `dst`.
    fn range(&self, x: &QActs, s: usize, e: usize, dst: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            if s < e && e <= self.out_dim / TILE {
                // SAFETY: a `QMatrix` exists only where `available()` holds (checked in
                // `quantize`), so the CPU has AVX-512 F/BW/VNNI. `matmul_many` checked that
                // `x` has `rows · in_dim` values and `rows · blocks` scales and corrections and
                // that `tiles` has `out_dim / 16 · blocks` tiles, and allocated `dst` as
                // `rows · out_dim` f32 that outlive the parallel region; `s..e` is checked just
                // above. Items cover disjoint tile ranges, so no two threads write the same
                // element, and nothing reads the buffer until the region has ended.
                #[allow(unsafe_code)]
                unsafe {
                    avx512::range(self, x, s, e, dst as *mut f32)
                };
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (x, s, e, dst);
        }
    }
}

/// Threads of candle's pool (asked once: candle reads the environment and the CPU list on
/// every call, which costs more than a small product).
fn pool_threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| candle_core::utils::get_num_threads().max(1))
}

/// Activations with at least this many rows are quantized on the pool.
const PARALLEL_QUANTIZE_ROWS: usize = 16;

/// Products below this many multiply-adds (~15 µs on one core) run on the calling thread:
/// waking the pool would cost more.
const INLINE_MACS: usize = 1 << 20;

/// Activations quantized for [`QMatrix::matmul`]: `rows` rows of `in_dim`.
#[derive(Clone, Debug, Default)]
pub struct QActs {
    pub rows: usize,
    pub in_dim: usize,
    /// `[rows, in_dim]`.
    qs: Vec<i8>,
    /// `[rows, blocks]`.
    scale: Vec<f32>,
    /// `128 · Σ q` per row and block, `[rows, blocks]`.
    corr: Vec<i32>,
}

// Row offsets are below `x.len()`, checked first.
#[allow(clippy::arithmetic_side_effects)]
impl QActs {
    /// Quantizes `x` (row-major `[rows, in_dim]`, `in_dim` a multiple of 32).
    pub fn quantize(x: &[f32], rows: usize, in_dim: usize) -> Result<Self> {
        if in_dim == 0 || !in_dim.is_multiple_of(BLOCK) || Some(x.len()) != rows.checked_mul(in_dim)
        {
            return Err(Error::Model(format!(
                "{} activations are not {rows} rows of a multiple of {BLOCK}",
                x.len()
            )));
        }
        if rows >= PARALLEL_QUANTIZE_ROWS {
            // Quantized on the pool in row chunks written in place (it is a serial stretch
            // between the parallel parts of a step otherwise).
            let chunk = rows.div_ceil(pool_threads() * 2).max(1);
            let (values, blocks) = (chunk * in_dim, chunk * in_dim / BLOCK);
            let mut out = Self {
                rows,
                in_dim,
                qs: vec![0i8; x.len()],
                scale: vec![0f32; x.len() / BLOCK],
                corr: vec![0i32; x.len() / BLOCK],
            };
            type Part<'a> = (((&'a [f32], &'a mut [i8]), &'a mut [f32]), &'a mut [i32]);
            let parts: Vec<std::sync::Mutex<Part<'_>>> = x
                .chunks(values)
                .zip(out.qs.chunks_mut(values))
                .zip(out.scale.chunks_mut(blocks))
                .zip(out.corr.chunks_mut(blocks))
                .map(std::sync::Mutex::new)
                .collect();
            crate::model::in_parts(&parts, |(((x, qs), scale), corr)| {
                quantize_into(x, qs, scale, corr)
            });
            drop(parts);
            return Ok(out);
        }
        Self::quantize_serial(x, rows, in_dim)
    }

    /// As [`QActs::quantize`], on the calling thread.
    pub fn quantize_here(x: &[f32], rows: usize, in_dim: usize) -> Result<Self> {
        let mut out = Self::default();
        out.requantize(x, rows, in_dim)?;
        Ok(out)
    }

    /// As [`QActs::quantize_here`], in place (the allocations are reused).
    pub fn requantize(&mut self, x: &[f32], rows: usize, in_dim: usize) -> Result<()> {
        if in_dim == 0 || !in_dim.is_multiple_of(BLOCK) || Some(x.len()) != rows.checked_mul(in_dim)
        {
            return Err(Error::Model(format!(
                "{} activations are not {rows} rows of a multiple of {BLOCK}",
                x.len()
            )));
        }
        (self.rows, self.in_dim) = (rows, in_dim);
        self.qs.resize(x.len(), 0);
        self.scale.resize(x.len() / BLOCK, 0.0);
        self.corr.resize(x.len() / BLOCK, 0);
        quantize_into(x, &mut self.qs, &mut self.scale, &mut self.corr);
        Ok(())
    }

    /// Rows `rows` of these activations, in that order (each row was quantized on its own, so
    /// its values are the same whatever rows it is gathered with).
    pub fn gather(&self, rows: &[usize]) -> Result<Self> {
        let mut out = Self::default();
        self.gather_into(rows, &mut out)?;
        Ok(out)
    }

    /// As [`QActs::gather`], into `out` (its allocations are reused).
    pub fn gather_into(&self, rows: &[usize], out: &mut Self) -> Result<()> {
        (out.rows, out.in_dim) = (rows.len(), self.in_dim);
        out.qs.clear();
        out.scale.clear();
        out.corr.clear();
        let blocks = self.in_dim / BLOCK;
        for &r in rows {
            if r >= self.rows {
                return Err(Error::Model(format!("row {r} of {} activation rows", self.rows)));
            }
            let (Some(qs), Some(scale), Some(corr)) = (
                self.qs.get(r * self.in_dim..(r + 1) * self.in_dim),
                self.scale.get(r * blocks..(r + 1) * blocks),
                self.corr.get(r * blocks..(r + 1) * blocks),
            ) else {
                return Err(Error::Model(format!("row {r} of {} activation rows", self.rows)));
            };
            out.qs.extend_from_slice(qs);
            out.scale.extend_from_slice(scale);
            out.corr.extend_from_slice(corr);
        }
        Ok(())
    }

    fn quantize_serial(x: &[f32], rows: usize, in_dim: usize) -> Result<Self> {
        let n_blocks = x.len() / BLOCK;
        let mut qs = vec![0i8; x.len()];
        let mut scale = vec![0f32; n_blocks];
        let mut corr = vec![0i32; n_blocks];
        quantize_into(x, &mut qs, &mut scale, &mut corr);
        Ok(Self { rows, in_dim, qs, scale, corr })
    }
}

/// Each block of 32 of `x` (whole blocks) into `qs`, its scale and its `128 · Σ q`: the
/// AVX-512 loop where the CPU has it, else the portable one (the same values).
fn quantize_into(x: &[f32], qs: &mut [i8], scale: &mut [f32], corr: &mut [i32]) {
    let n_blocks = x.len() / BLOCK;
    if qs.len() != x.len() || scale.len() != n_blocks || corr.len() != n_blocks {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if avx512_quantize() && x.len().is_multiple_of(BLOCK) {
        // SAFETY: the CPU has AVX-512 F/BW (checked just above); `qs` is as long as `x`,
        // `scale` and `corr` have one entry per block of 32 (checked above), and `x.len()`
        // is a multiple of 32.
        #[allow(unsafe_code)]
        unsafe {
            avx512::quantize(x, qs, scale, corr)
        };
        return;
    }
    quantize_scalar(x, qs, scale, corr);
}

/// The portable form of the activation quantizer: each block of 32 of `x` into `qs`, its
/// scale and its `128 · Σ q`.
fn quantize_scalar(x: &[f32], qs: &mut [i8], scale: &mut [f32], corr: &mut [i32]) {
    crate::model::kernels::simd(
        #[inline(always)]
        || {
            for (((xb, qb), s), c) in x
                .chunks_exact(BLOCK)
                .zip(qs.chunks_exact_mut(BLOCK))
                .zip(scale.iter_mut())
                .zip(corr.iter_mut())
            {
                *s = quantize_block(xb, qb);
                // At most 32 · 127 · 128: no overflow.
                let mut sum = 0i32;
                for &q in qb.iter() {
                    sum = sum.wrapping_add(i32::from(q));
                }
                *c = sum.wrapping_mul(128);
            }
        },
    );
}

/// Whether the activations are quantized by the AVX-512 loop (asked once).
#[cfg(target_arch = "x86_64")]
fn avx512_quantize() -> bool {
    static YES: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *YES.get_or_init(|| {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
    })
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code, clippy::arithmetic_side_effects, clippy::indexing_slicing)]
mod avx512;

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing, clippy::unwrap_used)]
mod tests;
