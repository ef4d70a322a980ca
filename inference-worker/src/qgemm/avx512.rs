//! The AVX-512 VNNI kernel of [`super`].

use super::{QActs, QMatrix, Tile, Tile4, Tiles, BLOCK, TILE};
use std::arch::x86_64::*;

/// Rows per register block.
const MT: usize = 4;

/// Walks output tiles `s..e` in register blocks of up to 4 rows × 2 tiles (4 tiles for a
/// single row, which reads its weights once and so is bound by memory, not arithmetic).
macro_rules! drive {
    ($block:ident, $tiles:expr, $w:expr, $x:expr, $s:expr, $e:expr, $dst:expr) => {{
        let (tiles, w, x, e, dst) = ($tiles, $w, $x, $e, $dst);
        let one_row = x.rows == 1;
        let mut nt = $s;
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
                        (1, 4) => $block::<1, 4>(tiles, w, x, r, nt, dst),
                        (1, 2) => $block::<1, 2>(tiles, w, x, r, nt, dst),
                        (1, _) => $block::<1, 1>(tiles, w, x, r, nt, dst),
                        (2, 2) => $block::<2, 2>(tiles, w, x, r, nt, dst),
                        (2, _) => $block::<2, 1>(tiles, w, x, r, nt, dst),
                        (3, 2) => $block::<3, 2>(tiles, w, x, r, nt, dst),
                        (3, _) => $block::<3, 1>(tiles, w, x, r, nt, dst),
                        (_, 2) => $block::<4, 2>(tiles, w, x, r, nt, dst),
                        _ => $block::<4, 1>(tiles, w, x, r, nt, dst),
                    }
                }
                r += mm;
            }
            nt += nn;
        }
    }};
}

/// Output tiles `s..e` of `x · Wᵀ` into the `[x.rows, w.out_dim]` buffer at `dst`.
///
/// # Safety
/// The CPU has AVX-512 F/BW/VNNI; `x` and `w` are consistent (see `QMatrix::check`);
/// `s < e ≤ w.out_dim / 16`; `dst` points to `x.rows · w.out_dim` writable f32 of which
/// no other thread accesses columns `16·s..16·e` meanwhile.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) unsafe fn range(w: &QMatrix, x: &QActs, s: usize, e: usize, dst: *mut f32) {
    match &w.tiles {
        Tiles::Q8(tiles) => drive!(block, tiles, w, x, s, e, dst),
        Tiles::Q4(tiles) => drive!(block4, tiles, w, x, s, e, dst),
        Tiles::Raw { qs, groups: 4 } => drive!(raw_half, qs.get(), w, x, s, e, dst),
        Tiles::Raw { qs, .. } => drive!(raw_whole, qs.get(), w, x, s, e, dst),
    }
}

/// [`raw`] for tiles of whole blocks (8 input groups).
///
/// # Safety
/// As for [`raw`].
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
unsafe fn raw_whole<const R: usize, const N: usize>(
    qs: &[u8],
    w: &QMatrix,
    x: &QActs,
    r0: usize,
    nt0: usize,
    dst: *mut f32,
) {
    // SAFETY: forwarded.
    unsafe { raw::<R, N, 8>(qs, w, x, r0, nt0, dst) }
}

/// [`raw`] for tiles of half blocks (4 input groups; the activations' other half is zero).
///
/// # Safety
/// As for [`raw`].
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
unsafe fn raw_half<const R: usize, const N: usize>(
    qs: &[u8],
    w: &QMatrix,
    x: &QActs,
    r0: usize,
    nt0: usize,
    dst: *mut f32,
) {
    // SAFETY: forwarded.
    unsafe { raw::<R, N, 4>(qs, w, x, r0, nt0, dst) }
}

/// As [`block`], for tiles with unit scales and `G` input groups (`Tiles::Raw`): the block sum
/// `Σ q·a` (less the activations' +128 correction, which covers the whole block: an unstored
/// half is zero) times the activations' scale.
///
/// # Safety
/// As for [`block`], with `qs` holding `out_dim / 16 · blocks` tiles of `64 · G` bytes (checked
/// in `QMatrix::check`) and, for `G = 4`, the activations' last 16 values of every block zero.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
unsafe fn raw<const R: usize, const N: usize, const G: usize>(
    qs: &[u8],
    w: &QMatrix,
    x: &QActs,
    r0: usize,
    nt0: usize,
    dst: *mut f32,
) {
    let blocks = w.blocks;
    let k = x.in_dim;
    let per = 64 * G;
    let mut acc = [[_mm512_setzero_ps(); N]; R];
    for b in 0..blocks {
        // Odd groups sum into a second set of registers where the block has few (a few rows of
        // one tile: an adapter's `x·Aᵀ` in a decode step), halving the chain of dependent
        // `vpdpbusd` each waits on; integer sums, so the result is the same either way.
        let mut isum = [[_mm512_setzero_si512(); N]; R];
        let mut odd = [[_mm512_setzero_si512(); N]; R];
        for g in 0..G {
            let mut wv = [_mm512_setzero_si512(); N];
            for (j, v) in wv.iter_mut().enumerate() {
                let at = ((nt0 + j) * blocks + b) * per + g * 64;
                // SAFETY: tile `(nt0 + j) · blocks + b` of `out_dim / 16 · blocks`, group
                // `g < G`: 64 bytes inside `qs`.
                *v = unsafe { _mm512_loadu_si512(qs.as_ptr().add(at).cast()) };
            }
            let sums = if R * N <= 4 && g % 2 == 1 { &mut odd } else { &mut isum };
            for (i, isum_r) in sums.iter_mut().enumerate() {
                let at = (r0 + i) * k + b * BLOCK + g * 4;
                // SAFETY: `at + 4 ≤ rows · in_dim = qs.len()`.
                let a4 = unsafe { x.qs.as_ptr().add(at).cast::<i32>().read_unaligned() };
                let a = _mm512_set1_epi32(a4);
                for j in 0..N {
                    isum_r[j] = _mm512_dpbusd_epi32(isum_r[j], wv[j], a);
                }
            }
        }
        if R * N <= 4 {
            for (isum_r, odd_r) in isum.iter_mut().zip(&odd) {
                for j in 0..N {
                    isum_r[j] = _mm512_add_epi32(isum_r[j], odd_r[j]);
                }
            }
        }
        for (i, (acc_r, isum_r)) in acc.iter_mut().zip(&isum).enumerate() {
            let row_block = (r0 + i) * blocks + b;
            let corr = _mm512_set1_epi32(x.corr[row_block]);
            let a_scale = _mm512_set1_ps(x.scale[row_block]);
            for j in 0..N {
                let f = _mm512_cvtepi32_ps(_mm512_sub_epi32(isum_r[j], corr));
                acc_r[j] = _mm512_fmadd_ps(f, a_scale, acc_r[j]);
            }
        }
    }
    for (i, acc_r) in acc.iter().enumerate() {
        for (j, v) in acc_r.iter().enumerate() {
            let at = (r0 + i) * w.out_dim + (nt0 + j) * TILE;
            // SAFETY: as in `block`.
            unsafe { _mm512_storeu_ps(dst.add(at), *v) };
        }
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
    all: &[Tile],
    w: &QMatrix,
    x: &QActs,
    r0: usize,
    nt0: usize,
    dst: *mut f32,
) {
    let blocks = w.blocks;
    let k = x.in_dim;
    let tiles: [&[Tile]; N] =
        std::array::from_fn(|j| &all[(nt0 + j) * blocks..(nt0 + j + 1) * blocks]);
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

/// As [`block`], for 4-bit tiles: per block, each 64-byte load holds two input groups (low and
/// high nibbles, split with one shift and two masks) that feed `2 · R · N` `vpdpbusd`; the
/// block sum `Σ q·a` becomes `s_a · (d · Σ q·a + m · Σ a)`.
///
/// # Safety
/// As for [`block`].
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
#[allow(clippy::needless_range_loop)]
unsafe fn block4<const R: usize, const N: usize>(
    all: &[Tile4],
    w: &QMatrix,
    x: &QActs,
    r0: usize,
    nt0: usize,
    dst: *mut f32,
) {
    let blocks = w.blocks;
    let k = x.in_dim;
    let tiles: [&[Tile4]; N] =
        std::array::from_fn(|j| &all[(nt0 + j) * blocks..(nt0 + j + 1) * blocks]);
    let low = _mm512_set1_epi8(0x0F);
    let mut acc = [[_mm512_setzero_ps(); N]; R];
    for b in 0..blocks {
        let mut isum = [[_mm512_setzero_si512(); N]; R];
        for p in 0..BLOCK / 8 {
            let mut lo = [_mm512_setzero_si512(); N];
            let mut hi = [_mm512_setzero_si512(); N];
            for j in 0..N {
                // SAFETY: a tile's `qs` is 256 bytes; `p · 64 + 64 ≤ 256`.
                let v = unsafe { _mm512_loadu_si512(tiles[j][b].qs.as_ptr().add(p * 64).cast()) };
                lo[j] = _mm512_and_si512(v, low);
                hi[j] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
            }
            for (i, isum_r) in isum.iter_mut().enumerate() {
                let at = (r0 + i) * k + b * BLOCK + p * 8;
                // SAFETY: `at + 8 ≤ rows · in_dim = qs.len()`.
                let (a_lo, a_hi) = unsafe {
                    let ptr = x.qs.as_ptr().add(at).cast::<i32>();
                    (ptr.read_unaligned(), ptr.add(1).read_unaligned())
                };
                let (a_lo, a_hi) = (_mm512_set1_epi32(a_lo), _mm512_set1_epi32(a_hi));
                for j in 0..N {
                    isum_r[j] = _mm512_dpbusd_epi32(isum_r[j], lo[j], a_lo);
                    isum_r[j] = _mm512_dpbusd_epi32(isum_r[j], hi[j], a_hi);
                }
            }
        }
        let mut d = [_mm512_setzero_ps(); N];
        let mut m = [_mm512_setzero_ps(); N];
        for j in 0..N {
            // SAFETY: `d` and `m` are 16 u16 (32 bytes) each.
            unsafe {
                d[j] = _mm512_cvtph_ps(_mm256_loadu_si256(tiles[j][b].d.as_ptr().cast()));
                m[j] = _mm512_cvtph_ps(_mm256_loadu_si256(tiles[j][b].m.as_ptr().cast()));
            }
        }
        for (i, (acc_r, isum_r)) in acc.iter_mut().zip(&isum).enumerate() {
            let row_block = (r0 + i) * blocks + b;
            // `corr` is 128 · Σ a: the block's sum, exactly.
            let sum_a = _mm512_set1_ps((x.corr[row_block] >> 7) as f32);
            let a_scale = _mm512_set1_ps(x.scale[row_block]);
            for j in 0..N {
                let dot = _mm512_cvtepi32_ps(isum_r[j]);
                let t = _mm512_fmadd_ps(d[j], dot, _mm512_mul_ps(m[j], sum_a));
                acc_r[j] = _mm512_fmadd_ps(t, a_scale, acc_r[j]);
            }
        }
    }
    for (i, acc_r) in acc.iter().enumerate() {
        for (j, v) in acc_r.iter().enumerate() {
            let at = (r0 + i) * w.out_dim + (nt0 + j) * TILE;
            // SAFETY: as in `block`.
            unsafe { _mm512_storeu_ps(dst.add(at), *v) };
        }
    }
}

/// Quantizes whole blocks of 32 activations as [`super::quantize_block`] does (the same
/// values: round to nearest even, the scale `amax / 127`), with each block's `128 · Σ q`:
/// two 16-lane loads, one horizontal maximum and one horizontal sum per block.
///
/// # Safety
/// The CPU has AVX-512 F/BW; `qs.len() == x.len()`, `scale.len() == corr.len() == x.len() / 32`
/// and `x.len()` is a multiple of 32.
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) unsafe fn quantize(x: &[f32], qs: &mut [i8], scale: &mut [f32], corr: &mut [i32]) {
    let abs_mask = _mm512_set1_epi32(0x7fff_ffff);
    for (b, (s, c)) in scale.iter_mut().zip(corr.iter_mut()).enumerate() {
        // SAFETY: block `b < x.len() / 32`: 32 values from `32·b` (the function's contract).
        let (x0, x1) = unsafe {
            let p = x.as_ptr().add(b * BLOCK);
            (_mm512_loadu_ps(p), _mm512_loadu_ps(p.add(16)))
        };
        let a0 = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(x0), abs_mask));
        let a1 = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(x1), abs_mask));
        let amax = _mm512_reduce_max_ps(_mm512_max_ps(a0, a1));
        let inv = if amax > 0.0 { 127.0 / amax } else { 0.0 };
        let (lo, hi) = (_mm512_set1_ps(-127.0), _mm512_set1_ps(127.0));
        let y0 = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(x0, _mm512_set1_ps(inv)), lo), hi);
        let y1 = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(x1, _mm512_set1_ps(inv)), lo), hi);
        // The default rounding mode: to nearest even, as `quantize_block`'s 1.5·2²³ trick.
        let q0 = _mm512_cvtps_epi32(y0);
        let q1 = _mm512_cvtps_epi32(y1);
        // SAFETY: 32 bytes from `32·b` of `qs`, as long as `x`.
        unsafe {
            let p = qs.as_mut_ptr().add(b * BLOCK);
            _mm_storeu_si128(p.cast(), _mm512_cvtepi32_epi8(q0));
            _mm_storeu_si128(p.add(16).cast(), _mm512_cvtepi32_epi8(q1));
        }
        *s = amax / 127.0;
        // At most 32 · 127 · 128: no overflow.
        *c = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1)) * 128;
    }
}
