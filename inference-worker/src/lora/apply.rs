//! The adapters' products in a step: [`LoraPair::apply_rows`]'s kernel, in the vector
//! extension chosen at run time (pulp's `Simd`).

use super::LoraPair;
use pulp::{Simd, WithSimd};

/// `dst = src` as f32 (exact for 8-bit values).
#[inline(always)]
fn widen_i8(src: &[i8], dst: &mut [f32]) {
    for (d, &q) in dst.iter_mut().zip(src) {
        *d = f32::from(q);
    }
}

/// Rank-1 slices per block of [`LoraPair::apply_rows`]: one row's dot products with four
/// slices share each load of the row, and their eight partial sums are independent chains
/// (a single chain waits on the latency of each addition, a quarter of the throughput).
const SLICES: usize = 4;

/// Rows of one work item from which its slices are widened to f32 once, rather than read as
/// 8-bit integers by each row.
const WIDEN_ROWS: usize = 4;

/// The four `len`-value slices at the start of `v` (empty when it is shorter).
fn four<E>(v: &[E], len: usize) -> [&[E]; SLICES] {
    let mut it = v.chunks_exact(len.max(1));
    [(); SLICES].map(|()| it.next().unwrap_or(&[]))
}

/// Lanes in one vector of `S` (1 to 16: a size divided by 4).
#[allow(clippy::arithmetic_side_effects)]
fn lanes<S: Simd>() -> usize {
    (std::mem::size_of::<S::f32s>() / std::mem::size_of::<f32>()).max(1)
}

/// One vector of `S` from `lanes::<S>()` stored values (8-bit integers or f32 holding them,
/// the same values either way); zeros where `src` is short (never: callers pass whole
/// vectors).
#[inline(always)]
fn load<S: Simd, E: Copy + Into<f32>>(simd: S, src: &[E]) -> S::f32s {
    const MAX: usize = 64;
    let mut tmp = [0f32; MAX];
    for (t, &e) in tmp.iter_mut().zip(src) {
        *t = e.into();
    }
    let (v, _) = S::as_simd_f32s(tmp.get(..lanes::<S>()).unwrap_or(&[]));
    v.first().copied().unwrap_or(simd.splat_f32s(0.0))
}

/// `[x·a₀, x·a₁, x·a₂, x·a₃]` for 8-bit slices (stored as `i8`, or widened to f32 when many
/// rows share them: the same arithmetic either way). Each sum is kept in two interleaved
/// sets of vector lanes, eight independent accumulators in registers; then each one's
/// lanes, then the values past the last whole vector.
#[inline(always)]
#[allow(clippy::arithmetic_side_effects)]
fn dot4<S: Simd, E: Copy + Into<f32>>(simd: S, a: [&[E]; SLICES], x: &[f32]) -> [f32; SLICES] {
    let n = lanes::<S>();
    let [a0, a1, a2, a3] = a;
    let (xv, xt) = S::as_simd_f32s(x);
    let (mut c0, mut c1) = (a0.chunks_exact(2 * n), a1.chunks_exact(2 * n));
    let (mut c2, mut c3) = (a2.chunks_exact(2 * n), a3.chunks_exact(2 * n));
    let z = simd.splat_f32s(0.0);
    let (mut l0, mut l1, mut l2, mut l3) = (z, z, z, z);
    let (mut h0, mut h1, mut h2, mut h3) = (z, z, z, z);
    let fma = |a, b, c| simd.mul_add_e_f32s(a, b, c);
    let ld = |s: &[E]| load(simd, s);
    let mut xc = xv.chunks_exact(2);
    for ((((xs, p0), p1), p2), p3) in (&mut xc).zip(&mut c0).zip(&mut c1).zip(&mut c2).zip(&mut c3)
    {
        if let [xa, xb] = xs {
            let halves = [p0, p1, p2, p3].map(|p| p.split_at(n.min(p.len())));
            let [(p0a, p0b), (p1a, p1b), (p2a, p2b), (p3a, p3b)] = halves;
            (l0, h0) = (fma(ld(p0a), *xa, l0), fma(ld(p0b), *xb, h0));
            (l1, h1) = (fma(ld(p1a), *xa, l1), fma(ld(p1b), *xb, h1));
            (l2, h2) = (fma(ld(p2a), *xa, l2), fma(ld(p2b), *xb, h2));
            (l3, h3) = (fma(ld(p3a), *xa, l3), fma(ld(p3b), *xb, h3));
        }
    }
    // An odd vector at the end, then the values past the last whole vector.
    let rest = [c0.remainder(), c1.remainder(), c2.remainder(), c3.remainder()];
    let [(r0, t0), (r1, t1), (r2, t2), (r3, t3)] =
        rest.map(|r| r.split_at(if r.len() >= n { n } else { 0 }));
    if let [xa] = xc.remainder() {
        (l0, l1) = (fma(ld(r0), *xa, l0), fma(ld(r1), *xa, l1));
        (l2, l3) = (fma(ld(r2), *xa, l2), fma(ld(r3), *xa, l3));
    }
    let finish = |l, h, t: &[E]| {
        let tail: f32 = t.iter().zip(xt).map(|(&p, q)| p.into() * q).sum();
        simd.reduce_sum_f32s(simd.add_f32s(l, h)) + tail
    };
    [finish(l0, h0, t0), finish(l1, h1, t1), finish(l2, h2, t2), finish(l3, h3, t3)]
}

/// `y += Σₛ cₛ·bₛ` over the four slices of `b` (each `y.len()` values, stored as in
/// [`dot4`]).
#[inline(always)]
fn axpy4<S: Simd, E: Copy + Into<f32>>(
    simd: S,
    c: [f32; SLICES],
    b: [&[E]; SLICES],
    y: &mut [f32],
) {
    let n = lanes::<S>();
    let [b0, b1, b2, b3] = b;
    let [k0, k1, k2, k3] = c.map(|c| simd.splat_f32s(c));
    let fma = |a, b, c| simd.mul_add_e_f32s(a, b, c);
    let ld = |s: &[E]| load(simd, s);
    let (yv, yt) = S::as_mut_simd_f32s(y);
    let (mut v0, mut v1) = (b0.chunks_exact(n), b1.chunks_exact(n));
    let (mut v2, mut v3) = (b2.chunks_exact(n), b3.chunks_exact(n));
    for ((((y, p0), p1), p2), p3) in
        yv.iter_mut().zip(&mut v0).zip(&mut v1).zip(&mut v2).zip(&mut v3)
    {
        *y = fma(k3, ld(p3), fma(k2, ld(p2), fma(k1, ld(p1), fma(k0, ld(p0), *y))));
    }
    let [s0, s1, s2, s3] = c;
    let (t0, t1, t2, t3) = (v0.remainder(), v1.remainder(), v2.remainder(), v3.remainder());
    for ((((y, &p0), &p1), &p2), &p3) in yt.iter_mut().zip(t0).zip(t1).zip(t2).zip(t3) {
        *y += s0 * p0.into() + s1 * p1.into() + s2 * p2.into() + s3 * p3.into();
    }
}

/// [`LoraPair::apply_rows`] compiled for the vector extension chosen at run time.
pub(super) struct ApplyRows<'a> {
    pub pair: &'a LoraPair,
    /// The pair's stored integers as rows: `A` (`[rank, in]`), `Bᵀ` (`[rank, out]`).
    pub a: &'a [i8],
    pub bt: &'a [i8],
    pub x: &'a [f32],
    pub rows: &'a [usize],
    pub out: &'a mut [f32],
}

impl WithSimd for ApplyRows<'_> {
    type Output = ();

    // Row offsets come from the step's own row count and the checked projection shapes.
    #[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Self { pair, a, bt, x, rows, out } = self;
        let (i, o) = (pair.in_dim, pair.out_dim);
        if rows.iter().any(|&r| (r + 1) * i > x.len())
            || rows.len() * o > out.len()
            || a.len() != pair.rank * i
            || bt.len() != pair.rank * o
        {
            return;
        }
        // With several rows, each block of slices is widened to f32 once for all of them; a
        // row or two read the 8-bit values directly (widening would cost more than their
        // products). The arithmetic is the same either way (an 8-bit integer is exact in
        // f32), so a row's result does not depend on the rows it shares an item with. A last
        // block short of four slices is padded with zeros.
        let widen = rows.len() >= WIDEN_ROWS;
        let (mut a_f, mut b_f) = if widen {
            (vec![0f32; SLICES * i], vec![0f32; SLICES * o])
        } else {
            (Vec::new(), Vec::new())
        };
        // A last block short of four slices, padded (only for ranks that are not a multiple).
        let (mut a_q, mut b_q) = (Vec::new(), Vec::new());
        for j0 in (0..pair.rank).step_by(SLICES) {
            let n = SLICES.min(pair.rank - j0);
            let mut coef = [0f32; SLICES];
            for (t, c) in coef.iter_mut().enumerate().take(n) {
                let j = j0 + t;
                *c = pair.weight[j] * pair.a_scale[j] * pair.bt_scale[j];
            }
            if coef.iter().all(|&c| c == 0.0) {
                continue;
            }
            let (a_src, b_src) = if n == SLICES {
                (&a[j0 * i..(j0 + n) * i], &bt[j0 * o..(j0 + n) * o])
            } else {
                a_q.resize(SLICES * i, 0);
                b_q.resize(SLICES * o, 0);
                a_q[..n * i].copy_from_slice(&a[j0 * i..(j0 + n) * i]);
                b_q[..n * o].copy_from_slice(&bt[j0 * o..(j0 + n) * o]);
                a_q[n * i..].fill(0);
                b_q[n * o..].fill(0);
                (&a_q[..], &b_q[..])
            };
            if widen {
                widen_i8(a_src, &mut a_f);
                widen_i8(b_src, &mut b_f);
                block_rows(simd, (four(&a_f, i), four(&b_f, o)), coef, x, rows, out);
            } else {
                block_rows(simd, (four(a_src, i), four(b_src, o)), coef, x, rows, out);
            }
        }
    }
}

/// `out[k] += Σₛ coefₛ·(x_r·aₛ)·bₛ` for `r = rows[k]`, over one block of slices `(a, b)`.
#[inline(always)]
#[allow(clippy::arithmetic_side_effects)]
fn block_rows<S: Simd, E: Copy + Into<f32>>(
    simd: S,
    (a4, b4): ([&[E]; SLICES], [&[E]; SLICES]),
    coef: [f32; SLICES],
    x: &[f32],
    rows: &[usize],
    out: &mut [f32],
) {
    let (i, o) = (a4[0].len(), b4[0].len());
    for (&r, y) in rows.iter().zip(out.chunks_exact_mut(o.max(1))) {
        let Some(xr) = x.get(r * i..(r + 1) * i) else { continue };
        let d = dot4(simd, a4, xr);
        let s = [d[0] * coef[0], d[1] * coef[1], d[2] * coef[2], d[3] * coef[3]];
        axpy4(simd, s, b4, y);
    }
}
