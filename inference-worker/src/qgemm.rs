//! 8-bit matrix products on the CPU (x86-64 with AVX-512 VNNI): the engine's projections.
//!
//! # Format
//! A [`Q8Matrix`] holds `W` (`[out, in]`) quantized symmetrically in blocks of 32 inputs, one
//! f32 scale per block and output (`w ≈ scale · q`, `q ∈ [-127, 127]`), packed in tiles of 16
//! outputs × 32 inputs laid out for `vpdpbusd` (each 32-bit lane holds four consecutive inputs
//! of one output; values stored offset by +128 because the instruction multiplies unsigned by
//! signed bytes). [`QActs`] holds the activations quantized the same way, per row and block,
//! with each block's sum (the +128 offset's correction).
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
//! read through pointers) and the call into it. A [`Q8Matrix`] is only constructed when the
//! running CPU has the instructions ([`available`]), and every pointer offset the kernel
//! forms is checked against the buffer lengths (`Q8Matrix::check`) before the call.

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

/// Whether an `[out_dim, in_dim]` matrix can be held as a [`Q8Matrix`] on this CPU.
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

/// A weight matrix `[out, in]` in the 8-bit tile format.
#[derive(Clone, Debug)]
pub struct Q8Matrix {
    pub out_dim: usize,
    pub in_dim: usize,
    blocks: usize,
    /// `[output tile][block]`.
    tiles: Vec<Tile>,
}

// Offsets below are products of the checked dimensions (`supported`), far below `usize::MAX`.
#[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)]
impl Q8Matrix {
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
        Ok(Self { out_dim, in_dim, blocks, tiles })
    }

    /// The matrix as f32, row-major `[out, in]`.
    pub fn dequantize(&self) -> Vec<f32> {
        let mut w = vec![0f32; self.out_dim * self.in_dim];
        for (t, tile) in self.tiles.iter().enumerate() {
            let (nt, b) = (t / self.blocks, t % self.blocks);
            for r in 0..TILE {
                let row = nt * TILE + r;
                for k in 0..BLOCK {
                    let q = i16::from(tile.qs[(k / 4) * TILE * 4 + r * 4 + k % 4]) - 128;
                    w[row * self.in_dim + b * BLOCK + k] = f32::from(q) * tile.scale[r];
                }
            }
        }
        w
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.tiles.len() * std::mem::size_of::<Tile>()
    }

    /// `x · Wᵀ` for the quantized rows `x`: row-major `[x.rows, out_dim]`.
    pub fn matmul(&self, x: &QActs) -> Result<Vec<f32>> {
        Ok(Self::matmul_many(&[self], x)?.pop().unwrap_or_default())
    }

    fn check(&self, x: &QActs) -> Result<()> {
        let m = x.rows;
        if x.in_dim != self.in_dim
            || x.qs.len() != m * self.in_dim
            || x.scale.len() != m * self.blocks
            || x.corr.len() != m * self.blocks
            || self.tiles.len() != self.out_dim / TILE * self.blocks
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
    pub fn matmul_many(mats: &[&Q8Matrix], x: &QActs) -> Result<Vec<Vec<f32>>> {
        for m in mats {
            m.check(x)?;
        }
        let rows = x.rows;
        let mut outs: Vec<Vec<f32>> = mats.iter().map(|m| vec![0f32; rows * m.out_dim]).collect();
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
        Ok(outs)
    }

    /// Output tiles `s..e` for every row of `x`, written into the `[x.rows, out_dim]` f32
    /// buffer at address `dst`.
    fn range(&self, x: &QActs, s: usize, e: usize, dst: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            if s < e && e <= self.out_dim / TILE {
                // SAFETY: a `Q8Matrix` exists only where `available()` holds (checked in
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

/// Activations quantized for [`Q8Matrix::matmul`]: `rows` rows of `in_dim`.
#[derive(Clone, Debug)]
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
            // Quantized on the pool in row chunks (it is a serial stretch between the
            // parallel parts of a step otherwise), then joined.
            let chunk = rows.div_ceil(pool_threads() * 2).max(1);
            let parts = crate::model::parallel_map(rows.div_ceil(chunk), |i| {
                let start = (i * chunk).min(rows);
                let end = (start + chunk).min(rows);
                x.get(start * in_dim..end * in_dim)
                    .and_then(|xs| Self::quantize_serial(xs, end - start, in_dim).ok())
            });
            let mut out = Self {
                rows,
                in_dim,
                qs: Vec::with_capacity(x.len()),
                scale: Vec::with_capacity(x.len() / BLOCK),
                corr: Vec::with_capacity(x.len() / BLOCK),
            };
            for part in parts {
                let part =
                    part.ok_or_else(|| Error::Model("activation quantization failed".into()))?;
                out.qs.extend_from_slice(&part.qs);
                out.scale.extend_from_slice(&part.scale);
                out.corr.extend_from_slice(&part.corr);
            }
            return Ok(out);
        }
        Self::quantize_serial(x, rows, in_dim)
    }

    fn quantize_serial(x: &[f32], rows: usize, in_dim: usize) -> Result<Self> {
        let n_blocks = x.len() / BLOCK;
        let mut qs = vec![0i8; x.len()];
        let mut scale = vec![0f32; n_blocks];
        let mut corr = vec![0i32; n_blocks];
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
        Ok(Self { rows, in_dim, qs, scale, corr })
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code, clippy::arithmetic_side_effects, clippy::indexing_slicing)]
mod avx512 {
    use super::{Q8Matrix, QActs, Tile, BLOCK, TILE};
    use std::arch::x86_64::*;

    /// Rows per register block.
    const MT: usize = 4;

    /// Output tiles `s..e` of `x · Wᵀ` into the `[x.rows, w.out_dim]` buffer at `dst`.
    ///
    /// # Safety
    /// The CPU has AVX-512 F/BW/VNNI; `x` and `w` are consistent (see `Q8Matrix::check`);
    /// `s < e ≤ w.out_dim / 16`; `dst` points to `x.rows · w.out_dim` writable f32 of which
    /// no other thread accesses columns `16·s..16·e` meanwhile.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn range(w: &Q8Matrix, x: &QActs, s: usize, e: usize, dst: *mut f32) {
        let one_row = x.rows == 1;
        let mut nt = s;
        while nt < e {
            let left = e - nt;
            let nn = if one_row && left >= 4 {
                4
            } else if left >= 2 {
                2
            } else {
                1
            };
            let mut r = 0;
            while r < x.rows {
                let mm = (x.rows - r).min(MT);
                // SAFETY: forwarded; `r + mm ≤ rows`, `nt + nn ≤ e`.
                unsafe {
                    match (mm, nn) {
                        (1, 4) => block::<1, 4>(w, x, r, nt, dst),
                        (1, 2) => block::<1, 2>(w, x, r, nt, dst),
                        (1, _) => block::<1, 1>(w, x, r, nt, dst),
                        (2, 2) => block::<2, 2>(w, x, r, nt, dst),
                        (2, _) => block::<2, 1>(w, x, r, nt, dst),
                        (3, 2) => block::<3, 2>(w, x, r, nt, dst),
                        (3, _) => block::<3, 1>(w, x, r, nt, dst),
                        (_, 2) => block::<4, 2>(w, x, r, nt, dst),
                        _ => block::<4, 1>(w, x, r, nt, dst),
                    }
                }
                r += mm;
            }
            nt += nn;
        }
    }

    /// Rows `r0..r0 + R` × output tiles `nt0..nt0 + N`: `R · N` f32 accumulators and as many
    /// i32 block sums in registers; per block, 8 weight loads feed `8 · R · N` `vpdpbusd`.
    ///
    /// # Safety
    /// As for [`range`], with `r0 + R ≤ x.rows` and `s ≤ nt0`, `nt0 + N ≤ e`: the
    /// accumulators are stored to rows `r0..r0 + R`, columns `16·nt0..16·(nt0 + N)`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    #[inline]
    unsafe fn block<const R: usize, const N: usize>(
        w: &Q8Matrix,
        x: &QActs,
        r0: usize,
        nt0: usize,
        dst: *mut f32,
    ) {
        let blocks = w.blocks;
        let k = x.in_dim;
        let tiles: [&[Tile]; N] =
            std::array::from_fn(|j| &w.tiles[(nt0 + j) * blocks..(nt0 + j + 1) * blocks]);
        let mut acc = [[_mm512_setzero_ps(); N]; R];
        for b in 0..blocks {
            let mut isum = [[_mm512_setzero_si512(); N]; R];
            for g in 0..BLOCK / 4 {
                let mut wv = [_mm512_setzero_si512(); N];
                for (v, tile) in wv.iter_mut().zip(&tiles) {
                    // SAFETY: a tile's `qs` is 512 bytes; `g · 64 + 64 ≤ 512`.
                    *v = unsafe { _mm512_loadu_si512(tile[b].qs.as_ptr().add(g * 64).cast()) };
                }
                for (i, isum_r) in isum.iter_mut().enumerate() {
                    let at = (r0 + i) * k + b * BLOCK + g * 4;
                    // SAFETY: `at + 4 ≤ rows · in_dim = qs.len()`.
                    let a4 = unsafe { x.qs.as_ptr().add(at).cast::<i32>().read_unaligned() };
                    let a = _mm512_set1_epi32(a4);
                    for j in 0..N {
                        isum_r[j] = _mm512_dpbusd_epi32(isum_r[j], wv[j], a);
                    }
                }
            }
            for (i, (acc_r, isum_r)) in acc.iter_mut().zip(&isum).enumerate() {
                let row_block = (r0 + i) * blocks + b;
                let corr = _mm512_set1_epi32(x.corr[row_block]);
                let a_scale = _mm512_set1_ps(x.scale[row_block]);
                for j in 0..N {
                    // SAFETY: `scale` is 16 f32.
                    let w_scale = unsafe { _mm512_loadu_ps(tiles[j][b].scale.as_ptr()) };
                    let f = _mm512_cvtepi32_ps(_mm512_sub_epi32(isum_r[j], corr));
                    acc_r[j] = _mm512_fmadd_ps(f, _mm512_mul_ps(w_scale, a_scale), acc_r[j]);
                }
            }
        }
        for (i, acc_r) in acc.iter().enumerate() {
            for (j, v) in acc_r.iter().enumerate() {
                let at = (r0 + i) * w.out_dim + (nt0 + j) * TILE;
                // SAFETY: row `r0 + i < rows`, columns `16·(nt0 + j)..+16` inside this
                // item's range (see the function's contract).
                unsafe { _mm512_storeu_ps(dst.add(at), *v) };
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
        (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
    }

    /// The kernel equals the same quantized arithmetic done in scalar f64, for every row-block
    /// and tile-block shape the driver picks (1–9 rows, 1–7 tiles), and stays within 8-bit
    /// quantization error of the f32 product.
    #[test]
    fn kernel_matches_scalar_arithmetic() {
        if !available() {
            eprintln!("no AVX-512 VNNI on this CPU: the engine uses candle's kernels instead");
            return;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (rows, out_dim, in_dim) in [
            (1, 64, 576),
            (1, 112, 64),
            (2, 48, 96),
            (3, 16, 32),
            (4, 32, 1536),
            (5, 80, 128),
            (9, 112, 576),
            (16, 96, 64),
        ] {
            let w = random(&mut rng, out_dim * in_dim);
            let x = random(&mut rng, rows * in_dim);
            let m = Q8Matrix::quantize(&w, out_dim, in_dim).unwrap();
            let a = QActs::quantize(&x, rows, in_dim).unwrap();
            let got = m.matmul(&a).unwrap();
            let wq = m.dequantize();
            let blocks = in_dim / BLOCK;
            for r in 0..rows {
                for o in 0..out_dim {
                    let mut exact = 0f64;
                    let mut float = 0f64;
                    for b in 0..blocks {
                        let mut isum = 0i64;
                        for kk in 0..BLOCK {
                            let idx = b * BLOCK + kk;
                            let wq_i = (wq[o * in_dim + idx]
                                / m.tiles[(o / TILE) * blocks + b].scale[o % TILE])
                                .round() as i64;
                            isum += wq_i * i64::from(a.qs[r * in_dim + idx]);
                        }
                        exact += isum as f64
                            * f64::from(m.tiles[(o / TILE) * blocks + b].scale[o % TILE])
                            * f64::from(a.scale[r * blocks + b]);
                    }
                    for idx in 0..in_dim {
                        float += f64::from(w[o * in_dim + idx]) * f64::from(x[r * in_dim + idx]);
                    }
                    let g = f64::from(got[r * out_dim + o]);
                    assert!(
                        (g - exact).abs() <= 1e-4 * (1.0 + exact.abs()),
                        "{rows}x{out_dim}x{in_dim} [{r},{o}]: {g} vs {exact}"
                    );
                    // 8-bit blocks: a few per mille of the row's magnitude.
                    assert!(
                        (g - float).abs() <= 0.02 * (in_dim as f64).sqrt(),
                        "[{r},{o}]: {g} vs f32 {float}"
                    );
                }
            }
            // A row's result does not depend on the other rows.
            let alone = QActs::quantize(&x[(rows - 1) * in_dim..], 1, in_dim).unwrap();
            assert_eq!(m.matmul(&alone).unwrap(), got[(rows - 1) * out_dim..].to_vec());
        }
    }

    #[test]
    fn bad_shapes_are_refused() {
        assert!(Q8Matrix::quantize(&[0.0; 16 * 33], 16, 33).is_err());
        assert!(Q8Matrix::quantize(&[0.0; 15 * 32], 15, 32).is_err());
        assert!(QActs::quantize(&[0.0; 40], 1, 40).is_err());
        if available() {
            let m = Q8Matrix::quantize(&[0.5; 16 * 64], 16, 64).unwrap();
            let a = QActs::quantize(&[0.5; 32], 1, 32).unwrap();
            assert!(m.matmul(&a).is_err());
            // All-zero blocks quantize to zero with scale 0 and give exact zeros.
            let z = Q8Matrix::quantize(&[0.0; 16 * 64], 16, 64).unwrap();
            let a = QActs::quantize(&[1.0; 64], 1, 64).unwrap();
            assert_eq!(z.matmul(&a).unwrap(), vec![0.0; 16]);
        }
    }
}
