//! Per-row numeric loops over host memory. Shapes are checked where the buffers are built
//! (`Model::assemble`, `Model::forward`); indexing here follows from them.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use super::{kv_cache::KvElem, Config, Layout};
use std::sync::Mutex;

pub fn rms_norm(x: &[f32], w: &[f32], eps: f32) -> Vec<f32> {
    let mut out = Vec::new();
    rms_norm_into(x, w, eps, &mut out);
    out
}

/// [`rms_norm`] into `out` (resized to `x`'s length: a buffer reused from layer to layer is
/// not zeroed again).
pub fn rms_norm_into(x: &[f32], w: &[f32], eps: f32, out: &mut Vec<f32>) {
    let dim = w.len().max(1);
    out.resize(x.len(), 0.0);
    let per = row_chunk(x.len(), dim) * dim;
    let parts: Vec<Mutex<(&[f32], &mut [f32])>> =
        x.chunks(per).zip(out.chunks_mut(per)).map(Mutex::new).collect();
    super::forward::in_parts(&parts, |(xs, dst)| {
        simd(
            #[inline(always)]
            || rms_norm_inner(xs, w, eps, dst),
        )
    });
    drop(parts);
}

/// `x += y`, then the RMS norm of the sum (a layer's residual add and its next norm), in one
/// pass over the rows, into `out` (as [`rms_norm_into`]).
pub fn add_rms_norm(x: &mut [f32], y: &[f32], w: &[f32], eps: f32, out: &mut Vec<f32>) {
    let dim = w.len().max(1);
    out.resize(x.len(), 0.0);
    let per = row_chunk(x.len(), dim) * dim;
    let parts: Vec<Mutex<Part<&mut [f32]>>> =
        x.chunks_mut(per).zip(y.chunks(per)).zip(out.chunks_mut(per)).map(Mutex::new).collect();
    super::forward::in_parts(&parts, |((xs, ys), dst)| {
        simd(
            #[inline(always)]
            || {
                for (a, b) in xs.iter_mut().zip(ys.iter()) {
                    *a += b;
                }
                rms_norm_inner(xs, w, eps, dst)
            },
        )
    });
    drop(parts);
}

/// A work item of a two-input elementwise part: its inputs and its output rows.
type Part<'a, X> = ((X, &'a [f32]), &'a mut [f32]);

/// Values from which the elementwise parts of a step (norms, SiLU) are split over the pool:
/// below it a part takes less time than waking the other thread costs.
const PARALLEL_VALUES: usize = 1 << 15;

/// Rows per work item for `len` values in rows of `dim`: all of them below
/// [`PARALLEL_VALUES`], else a quarter (the pool's cursor balances four items over its
/// threads).
fn row_chunk(len: usize, dim: usize) -> usize {
    let rows = len / dim.max(1);
    if len < PARALLEL_VALUES {
        rows.max(1)
    } else {
        rows.div_ceil(4).max(1)
    }
}

// The loops below write into preallocated buffers rather than `collect`/`extend`: those
// are generic library functions that need not be inlined into the `simd` context, and a
// copy compiled outside it runs at baseline SSE2 with a libm call per exponential.
#[inline(always)]
fn rms_norm_inner(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    let dim = w.len();
    for (row, dst) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        let ms = dot(row, row) / dim as f32;
        let scale = 1.0 / (ms + eps).sqrt();
        for ((d, &v), &g) in dst.iter_mut().zip(row).zip(w) {
            *d = v * scale * g;
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn rope(
    x: &mut [f32],
    head_dim: usize,
    positions: &[usize],
    cos: &[f32],
    sin: &[f32],
    layout: Layout,
) {
    let half = head_dim / 2;
    let row_len = x.len() / positions.len().max(1);
    for (row, &pos) in x.chunks_exact_mut(row_len).zip(positions) {
        let c = &cos[pos * half..(pos + 1) * half];
        let s = &sin[pos * half..(pos + 1) * half];
        for head in row.chunks_exact_mut(head_dim) {
            match layout {
                Layout::Gguf => {
                    for (i, pair) in head.chunks_exact_mut(2).enumerate() {
                        let (a, b) = (pair[0], pair[1]);
                        pair[0] = a * c[i] - b * s[i];
                        pair[1] = a * s[i] + b * c[i];
                    }
                }
                Layout::Hf => {
                    let (lo, hi) = head.split_at_mut(half);
                    for i in 0..half {
                        let (a, b) = (lo[i], hi[i]);
                        lo[i] = a * c[i] - b * s[i];
                        hi[i] = a * s[i] + b * c[i];
                    }
                }
            }
        }
    }
}

/// Runs `f` compiled for the best vector extension this CPU has (AVX2/AVX-512 on x86),
/// chosen at run time: the host loops below auto-vectorize inside it. The crate is built
/// for baseline x86-64 (SSE2), which would otherwise leave half the vector width unused.
#[inline(always)]
pub fn simd<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(f)
}

/// Positions per vector block of the attention kernel (one AVX-512 register of f32).
pub const BLOCK: usize = 16;

/// Causal attention of the last `q.len() / q_row` cached positions over one layer of a
/// [`KvCache`](super::KvCache): `keys` in blocks of `BLOCK` positions, `values` row-major,
/// both f16 bits or both f32.
pub fn attention<T: KvElem>(
    q: &[f32],
    keys: &[T],
    values: &[T],
    cached: usize,
    cfg: &Config,
) -> Vec<f32> {
    T::attention(q, keys, values, cached, cfg)
}

/// [`attention`] reading the cache element by element ([`KvElem::load`]), compiled for the
/// best vector extension this CPU has: any CPU, either element.
pub(crate) fn attention_soft<T: KvElem>(
    q: &[f32],
    keys: &[T],
    values: &[T],
    cached: usize,
    cfg: &Config,
) -> Vec<f32> {
    simd(
        #[inline(always)]
        || attention_inner(q, keys, values, cached, cfg, Soft),
    )
}

/// [`attention`] over an f16 cache on a CPU with AVX-512 (`v4`): sixteen cached values become
/// f32 in one `vcvtph2ps` rather than the ~7 vector instructions of the integer conversion
/// ([`super::kv_cache::from_f16`]). Both are exact for what a cache holds (zeros and normal
/// numbers), so the result is bit-for-bit the same. The conversion took more instructions than
/// the multiply-adds it fed (~7 per sixteen values against 3 for SmolLM2's three query heads
/// per key); a batch-32 decode step is 2–8% faster with it (100 to 300-token contexts), the
/// rest of attention being bound by memory.
#[cfg(target_arch = "x86_64")]
pub(crate) fn attention_f16_avx512(
    v4: pulp::x86::V4,
    q: &[f32],
    keys: &[u16],
    values: &[u16],
    cached: usize,
    cfg: &Config,
) -> Vec<f32> {
    // Through `dispatch` (which compiles the body for the CPU's extension, AVX-512 here, as
    // `simd` does): `V4::vectorize` with a closure left the body out of line, without the
    // extension, ~7x slower.
    struct Op<'a> {
        v4: pulp::x86::V4,
        q: &'a [f32],
        keys: &'a [u16],
        values: &'a [u16],
        cached: usize,
        cfg: &'a Config,
    }
    impl pulp::WithSimd for Op<'_> {
        type Output = Vec<f32>;
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _: S) -> Vec<f32> {
            let Self { v4, q, keys, values, cached, cfg } = self;
            attention_inner(q, keys, values, cached, cfg, F16Avx512(v4))
        }
    }
    pulp::Arch::new().dispatch(Op { v4, q, keys, values, cached, cfg })
}

/// How the attention kernel reads sixteen cached values as f32.
trait Widen<T>: Copy {
    fn widen(self, h: &[T]) -> [f32; BLOCK];
}

/// Element by element ([`KvElem::load`]).
#[derive(Clone, Copy)]
struct Soft;

impl<T: KvElem> Widen<T> for Soft {
    #[inline(always)]
    fn widen(self, h: &[T]) -> [f32; BLOCK] {
        let mut out = [0f32; BLOCK];
        for (o, &h) in out.iter_mut().zip(h) {
            *o = h.load();
        }
        out
    }
}

/// f16 bits, sixteen at a time with AVX-512's conversion (see [`attention_f16_avx512`]).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct F16Avx512(pulp::x86::V4);

#[cfg(target_arch = "x86_64")]
impl Widen<u16> for F16Avx512 {
    #[inline(always)]
    fn widen(self, h: &[u16]) -> [f32; BLOCK] {
        match h.first_chunk::<BLOCK>() {
            Some(&bits) => pulp::cast(self.0.avx512f._mm512_cvtph_ps(pulp::cast(bits))),
            None => Soft.widen(h),
        }
    }
}

/// Grouped-query attention: the query heads sharing a key/value head are processed
/// together (in chunks of up to four, whose accumulators stay in registers), so each cached
/// key and value is read once per chunk.
#[inline(always)]
fn attention_inner<T: KvElem, W: Widen<T>>(
    q: &[f32],
    keys: &[T],
    values: &[T],
    cached: usize,
    cfg: &Config,
    w: W,
) -> Vec<f32> {
    let hd = cfg.head_dim;
    let q_row = cfg.heads * hd;
    let kv_row = cfg.kv_heads * hd;
    let n = q.len() / q_row;
    let total = cached + n;
    let first_pos = total - n;
    let group = cfg.group();
    let scale = 1.0 / (hd as f32).sqrt();
    let mut out = vec![0f32; q.len()];
    // Scores of up to four heads, each row padded to whole blocks.
    let stride = total.div_ceil(BLOCK) * BLOCK;
    let mut scores = vec![0f32; 4 * stride];
    let mut qs = vec![0f32; 4 * hd];
    for t in 0..n {
        let visible = first_pos + t + 1;
        let q_t = &q[t * q_row..(t + 1) * q_row];
        let out_t = &mut out[t * q_row..(t + 1) * q_row];
        for g in 0..cfg.kv_heads {
            let mut h0 = 0;
            while h0 < group {
                let c = (group - h0).min(4);
                let heads = g * group + h0..g * group + h0 + c;
                for (dst, &x) in qs.iter_mut().zip(&q_t[heads.start * hd..heads.end * hd]) {
                    *dst = x * scale;
                }
                let sc = &mut scores[..c * stride];
                let at = (g * hd, kv_row);
                match c {
                    1 => group_scores::<T, W, 1>(&qs, keys, at, hd, visible, sc, stride, w),
                    2 => group_scores::<T, W, 2>(&qs, keys, at, hd, visible, sc, stride, w),
                    3 => group_scores::<T, W, 3>(&qs, keys, at, hd, visible, sc, stride, w),
                    _ => group_scores::<T, W, 4>(&qs, keys, at, hd, visible, sc, stride, w),
                }
                for row in sc.chunks_exact_mut(stride) {
                    let row = &mut row[..visible];
                    let max = max(row);
                    for s in row.iter_mut() {
                        *s = exp(*s - max);
                    }
                    let inv = 1.0 / sum(row);
                    for s in row.iter_mut() {
                        *s *= inv;
                    }
                }
                let v_g = &values[g * hd..];
                let o = &mut out_t[heads.start * hd..heads.end * hd];
                match c {
                    1 => group_values::<T, W, 1>(sc, stride, v_g, kv_row, hd, visible, o, w),
                    2 => group_values::<T, W, 2>(sc, stride, v_g, kv_row, hd, visible, o, w),
                    3 => group_values::<T, W, 3>(sc, stride, v_g, kv_row, hd, visible, o, w),
                    _ => group_values::<T, W, 4>(sc, stride, v_g, kv_row, hd, visible, o, w),
                }
                h0 += c;
            }
        }
    }
    out
}

/// `scores[c][j] = q_c · k_j` for the `C` heads in `q` (`[C, hd]`, pre-scaled) and every
/// position `j < visible`, a block of `BLOCK` positions at a time: one multiply-add per
/// head dimension and head, the `C` accumulators in registers. `keys` is a layer's blocked
/// key cache, `(first, row)` the head's first element and the elements per position.
/// Positions past `visible` in the last block are computed from the cache's padding and
/// never read.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn group_scores<T: KvElem, W: Widen<T>, const C: usize>(
    q: &[f32],
    keys: &[T],
    (first, row): (usize, usize),
    hd: usize,
    visible: usize,
    scores: &mut [f32],
    stride: usize,
    w: W,
) {
    for jb in 0..visible.div_ceil(BLOCK) {
        let base = (jb * row + first) * BLOCK;
        let block = &keys[base..base + hd * BLOCK];
        let mut acc = [[0f32; BLOCK]; C];
        for (d, kh) in block.chunks_exact(BLOCK).enumerate() {
            let k = w.widen(kh);
            for (c, a) in acc.iter_mut().enumerate() {
                let qd = q[c * hd + d];
                for l in 0..BLOCK {
                    a[l] = qd.mul_add(k[l], a[l]);
                }
            }
        }
        let j0 = jb * BLOCK;
        for (c, a) in acc.iter().enumerate() {
            scores[c * stride + j0..c * stride + j0 + BLOCK].copy_from_slice(a);
        }
    }
}

/// `out[c] = Σ_j p[c][j] · v_j` over `j < visible` for `C` heads sharing the values `v`
/// (f16, row `j` at `j · kv_row`): up to four blocks of `BLOCK` dimensions at a time, the
/// `C` × 4 accumulators in registers, so that each position's values are read once, in
/// order, as one contiguous run.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn group_values<T: KvElem, W: Widen<T>, const C: usize>(
    p: &[f32],
    stride: usize,
    v: &[T],
    kv_row: usize,
    hd: usize,
    visible: usize,
    out: &mut [f32],
    w: W,
) {
    let blocks = hd / BLOCK;
    let mut b0 = 0;
    while b0 < blocks {
        match blocks - b0 {
            1 => group_values_blocks::<T, W, C, 1>(p, stride, v, kv_row, b0, visible, hd, out, w),
            2 => group_values_blocks::<T, W, C, 2>(p, stride, v, kv_row, b0, visible, hd, out, w),
            3 => group_values_blocks::<T, W, C, 3>(p, stride, v, kv_row, b0, visible, hd, out, w),
            _ => group_values_blocks::<T, W, C, 4>(p, stride, v, kv_row, b0, visible, hd, out, w),
        }
        b0 += (blocks - b0).min(4);
    }
    // Head dimensions that are not a multiple of the block.
    for d in blocks * BLOCK..hd {
        for c in 0..C {
            let mut acc = 0f32;
            for j in 0..visible {
                acc += p[c * stride + j] * v[j * kv_row + d].load();
            }
            out[c * hd + d] = acc;
        }
    }
}

/// Blocks `b0..b0 + NB` of the head dimensions of [`group_values`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn group_values_blocks<T: KvElem, W: Widen<T>, const C: usize, const NB: usize>(
    p: &[f32],
    stride: usize,
    v: &[T],
    kv_row: usize,
    b0: usize,
    visible: usize,
    hd: usize,
    out: &mut [f32],
    w: W,
) {
    let mut acc = [[[0f32; BLOCK]; NB]; C];
    for j in 0..visible {
        let start = j * kv_row + b0 * BLOCK;
        let vj = &v[start..start + NB * BLOCK];
        for (nb, vh) in vj.chunks_exact(BLOCK).enumerate() {
            let vb = w.widen(vh);
            for (c, a) in acc.iter_mut().enumerate() {
                let w = p[c * stride + j];
                for l in 0..BLOCK {
                    a[nb][l] = w.mul_add(vb[l], a[nb][l]);
                }
            }
        }
    }
    for (c, a) in acc.iter().enumerate() {
        for (nb, a) in a.iter().enumerate() {
            let at = c * hd + (b0 + nb) * BLOCK;
            out[at..at + BLOCK].copy_from_slice(a);
        }
    }
}

/// A dot product in sixteen independent lanes (vectorizes without fast-math).
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let mut ca = a.chunks_exact(16);
    let mut cb = b.chunks_exact(16);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..16 {
            acc[l] += x[l] * y[l];
        }
    }
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

pub fn add_assign(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

/// `silu(gate) · up`, in `gate`'s buffer (no new buffer to zero: ~200 KB a layer in a
/// batch-32 step).
pub fn silu_mul(mut gate: Vec<f32>, up: &[f32]) -> Vec<f32> {
    gate.truncate(up.len());
    // Any split works (elementwise); rows of 1024 values keep the chunks whole vectors.
    let per = row_chunk(gate.len(), 1024) * 1024;
    let parts: Vec<Mutex<(&mut [f32], &[f32])>> =
        gate.chunks_mut(per).zip(up.chunks(per)).map(Mutex::new).collect();
    super::forward::in_parts(&parts, |(g, u)| {
        simd(
            #[inline(always)]
            || {
                for (g, &u) in g.iter_mut().zip(u.iter()) {
                    *g = *g / (1.0 + exp(-*g)) * u;
                }
            },
        )
    });
    drop(parts);
    gate
}

/// The largest of `x` (−∞ for none) in sixteen lanes (a `fold` with `f32::max` is a serial
/// chain of NaN-aware compares that does not vectorize; scores are never NaN).
#[inline(always)]
pub fn max(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 16];
    let mut c = x.chunks_exact(16);
    for x in &mut c {
        for l in 0..16 {
            acc[l] = if x[l] > acc[l] { x[l] } else { acc[l] };
        }
    }
    acc.iter().chain(c.remainder()).fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m })
}

/// `Σ x` in sixteen lanes.
#[inline(always)]
pub fn sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let mut c = x.chunks_exact(16);
    for x in &mut c {
        for l in 0..16 {
            acc[l] += x[l];
        }
    }
    acc.iter().sum::<f32>() + c.remainder().iter().sum::<f32>()
}

/// `eˣ` to within 2 ulp for the softmax and SiLU: the libm call does not vectorize and,
/// at ~20 ns each, the half-million exponentials of a 16-sequence decode step cost more
/// than its matmuls. Range reduction `x = n·ln2 + r`, `|r| ≤ ln2/2`, a degree-6 Taylor
/// polynomial for `eʳ` (truncation error below 2e-7), and `2ⁿ` built in the exponent
/// bits. Inputs are clamped to the finite range (`e⁻⁸⁷` is below every softmax weight
/// that can matter next to the maximum's `e⁰`).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // `n = round(x·log₂e)` (to nearest even) by adding 1.5·2²³: the sum's low mantissa bits
    // are then `n`, read with integer arithmetic. Unlike `f32::round` (ties away from zero,
    // no vector instruction) and a saturating `as i32` cast (a scalar range check per
    // value), every step vectorizes.
    const MAGIC: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let t = x * LOG2E + MAGIC;
    let n = t - MAGIC;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let ni = (t.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32);
    let bits = (ni.wrapping_add(127) << 23) as u32;
    p * f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    /// On AVX-512 an f16 cache is widened by the hardware's conversion: the same f32 as the
    /// integer conversion for every value a cache can hold (zeros and normal numbers, both
    /// signs), so attention over an f16 cache gives bit for bit what the element-by-element
    /// kernel gives, for decode and prompt steps, contexts across block boundaries, and
    /// grouped-query heads in one and two chunks.
    #[test]
    #[cfg(target_arch = "x86_64")]
    #[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)]
    fn hardware_f16_widening_is_exact() {
        use super::*;
        use rand::{Rng, SeedableRng};
        let Some(v4) = pulp::x86::V4::try_new() else { return };
        let storable: Vec<u16> = (0..=u16::MAX)
            .filter(|h| {
                let e = (h >> 10) & 0x1f;
                e != 0x1f && (e != 0 || h & 0x3ff == 0)
            })
            .collect();
        assert_eq!(storable.len(), 2 * (30 * 1024 + 1));
        for chunk in storable.chunks(BLOCK) {
            let (hw, soft) = (F16Avx512(v4).widen(chunk), Soft.widen(chunk));
            assert_eq!(hw.map(f32::to_bits), soft.map(f32::to_bits), "{chunk:?}");
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        // Moderate magnitudes, as keys and values are, and some zeros.
        let mut half = |n: usize| -> Vec<u16> {
            (0..n)
                .map(|_| {
                    let x: f32 = rng.random_range(-4.0..4.0);
                    super::super::kv_cache::to_f16(if x.abs() < 0.2 { 0.0 } else { x })
                })
                .collect()
        };
        for (heads, kv_heads) in [(6, 2), (10, 2)] {
            let cfg = Config { heads, kv_heads, head_dim: 32, ..Config::small_for_tests(256) };
            let row = kv_heads * cfg.head_dim;
            for (cached, n) in [(0usize, 1usize), (37, 1), (100, 5), (15, 17)] {
                let total = cached + n;
                let keys = half(total.div_ceil(BLOCK) * BLOCK * row);
                let values = half(total * row);
                let q: Vec<f32> = (0..n * heads * cfg.head_dim)
                    .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
                    .collect();
                let fast = attention(&q, &keys, &values, cached, &cfg);
                let soft = attention_soft(&q, &keys, &values, cached, &cfg);
                assert_eq!(fast.len(), q.len());
                assert!(fast.iter().any(|&v| v != 0.0));
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&fast), bits(&soft), "{heads}/{kv_heads} heads, {cached} + {n}");
            }
        }
    }

    #[test]
    fn fast_exp_is_accurate() {
        let mut worst = 0f32;
        let mut x = -87.0f32;
        while x < 88.0 {
            let (a, b) = (super::exp(x), x.exp());
            worst = worst.max(((a - b) / b).abs());
            x += 0.001;
        }
        assert!(worst < 5e-7, "relative error {worst}");
        let clamped = super::exp(-1000.0);
        assert!(clamped > 0.0 && clamped < 1e-37, "{clamped}");
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)]
mod attention_tests {
    use crate::model::{
        kernels,
        kv_cache::{from_f16, to_f16},
        Config, KvCache,
    };
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn config(heads: usize, kv_heads: usize, head_dim: usize) -> Config {
        Config {
            hidden: heads * head_dim,
            intermediate: 4,
            layers: 1,
            heads,
            kv_heads,
            head_dim,
            vocab: 4,
            rope_theta: 10_000.0,
            rms_eps: 1e-5,
            context: 512,
            eos: Vec::new(),
            kv_f32: false,
        }
    }

    /// Softmax attention written the obvious way, in f64.
    fn reference(q: &[f32], k: &[f32], v: &[f32], cached: usize, cfg: &Config) -> Vec<f32> {
        let (hd, kv_row, q_row) =
            (cfg.head_dim, cfg.kv_heads * cfg.head_dim, cfg.heads * cfg.head_dim);
        let n = q.len() / q_row;
        let mut out = vec![0f32; q.len()];
        for t in 0..n {
            let visible = cached + t + 1;
            for h in 0..cfg.heads {
                let g = h / cfg.group();
                let qh = &q[t * q_row + h * hd..t * q_row + (h + 1) * hd];
                let scores: Vec<f64> = (0..visible)
                    .map(|j| {
                        let kj = &k[j * kv_row + g * hd..j * kv_row + (g + 1) * hd];
                        qh.iter().zip(kj).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum::<f64>()
                            / (hd as f64).sqrt()
                    })
                    .collect();
                let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let w: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                let z: f64 = w.iter().sum();
                for d in 0..hd {
                    let acc: f64 = (0..visible)
                        .map(|j| w[j] / z * f64::from(v[j * kv_row + g * hd + d]))
                        .sum();
                    out[t * q_row + h * hd + d] = acc as f32;
                }
            }
        }
        out
    }

    /// The blocked kernel over the blocked key cache (f16 and f32) equals the reference, for
    /// group sizes that take every chunk path (1–4, 5 = 4 + 1, 9 = 4 + 4 + 1), head sizes that
    /// are and are not a multiple of the block, prompts and single tokens, and caches that had
    /// to grow.
    #[test]
    fn blocked_attention_matches_the_reference() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for ((heads, kv_heads, hd), kv_f32) in
            [(3, 3, 64), (6, 3, 64), (9, 3, 64), (8, 2, 32), (10, 2, 48), (9, 1, 24), (4, 1, 70)]
                .into_iter()
                .flat_map(|shape| [(shape, false), (shape, true)])
        {
            let cfg = Config { kv_f32, ..config(heads, kv_heads, hd) };
            let (kv_row, q_row) = (kv_heads * hd, heads * hd);
            // Capacity 5 forces the key buffers to grow twice.
            let mut cache = KvCache::new(&cfg, 5);
            let (mut all_k, mut all_v) = (Vec::new(), Vec::new());
            for n in [7usize, 1, 1, 30, 1] {
                let mut gen = |len: usize| -> Vec<f32> {
                    (0..len).map(|_| rng.random_range(-2.0..2.0)).collect()
                };
                let (q, k, v) = (gen(n * q_row), gen(n * kv_row), gen(n * kv_row));
                cache.reserve(cache.len() + n);
                cache.put(0, &k, &v);
                // The reference sees the values the cache holds: f16, rounded.
                let held = |x: &[f32]| {
                    x.iter()
                        .map(|&x| if kv_f32 { x } else { from_f16(to_f16(x)) })
                        .collect::<Vec<_>>()
                };
                all_k.extend(held(&k));
                all_v.extend(held(&v));
                let got = cache.attend(0, &q, &cfg);
                let want = reference(&q, &all_k, &all_v, cache.len, &cfg);
                let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
                assert!(
                    worst < 1e-5,
                    "{heads}/{kv_heads}x{hd}, {n} new after {}: {worst}",
                    cache.len
                );
                cache.len += n;
            }
            assert!(cache.capacity >= cache.len && cache.capacity.is_multiple_of(kernels::BLOCK));
        }
    }
}
