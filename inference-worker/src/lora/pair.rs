//! One projection's prepared adapter ([`LoraPair`]): how its 8-bit integers are held and how
//! a step's rows get their updates from them.

use super::apply::ApplyRows;
use crate::{
    error::Result,
    qgemm::{self, QActs, QMatrix},
};
use candle_core::{Device, Tensor};
use std::borrow::Cow;

/// One projection's adapter: `A` (`[r, in]`) and `scale·B` transposed (`[r, out]`), each
/// rank-1 slice (a row of either) held as 8-bit integers with one f32 scale.
///
/// A decode step with many distinct adapters is bound by reading them (each row's adapter
/// once per step, ~7 MB per rank-16 q/k/v/o adapter of SmolLM2 in f32, 3.7 MB in bfloat16);
/// 8 bits per weight make it 1.9 MB. A slice's values are rounded to 1/127 of its largest
/// magnitude: an error of a fraction of a percent of the small LoRA correction, well below
/// the base's own 4-bit or 8-bit quantization. Merging ([`LoraPair::delta`]) uses the same
/// rounded values.
///
/// Where the CPU has `qgemm`'s kernel the integers are held as its tiles (see [`Stored`]), and
/// a row whose base projection quantized its input to 8 bits gets its update from two 8-bit
/// products on that same quantized input ([`LoraPair::apply`]). Otherwise (and for a dense
/// f32 base) the products are f32 over the stored integers, so merged and unmerged outputs
/// agree to f32 rounding.
#[derive(Clone, Debug)]
pub struct LoraPair {
    pub rank: usize,
    pub in_dim: usize,
    pub out_dim: usize,
    pub(super) stored: Stored,
    /// Per rank-1 slice of `A`.
    pub(super) a_scale: Vec<f32>,
    /// Per rank-1 slice of `Bᵀ`.
    pub(super) bt_scale: Vec<f32>,
    /// Per rank-1 slice: the mixture weight of the adapter it comes from (1 outside
    /// mixtures), applied to `x·aⱼ` so that a mixture reuses its parts' stored values.
    pub(super) weight: Vec<f32>,
    /// Tiles' integers as rows, made on the first f32 product (a base whose projections do
    /// not quantize their input: dense f32, or one on a GPU) and kept, so that such a base
    /// does not decode the tiles at every step.
    rows: std::sync::OnceLock<(Vec<i8>, Vec<i8>)>,
}

/// How a [`LoraPair`]'s 8-bit integers are held.
#[derive(Clone, Debug)]
pub(super) enum Stored {
    /// `A` (`[r, in]`) and `Bᵀ` (`[r, out]`) as rows of integers: the portable form.
    Slices { a: Vec<i8>, bt: Vec<i8> },
    /// The same integers as `qgemm` tiles with unit scales (none stored): `A` as `[r↑16, in]`
    /// (`r` rounded up to whole tiles with zero slices) and `B` as `[out, r]` (half a block
    /// of inputs up to rank 16, whole blocks of 32 above). The slices' scales are applied
    /// between the two products.
    ///
    /// At rank 16 that is one byte per value, as the slices are (a rank-16 q/k/v/o adapter of
    /// SmolLM2 is 1.9 MB either way), and a decode row's update takes one `vpdpbusd` per 64
    /// values instead of widening every value to f32 for one FMA.
    Tiles { a: QMatrix, b: QMatrix },
}

/// Per-thread buffers of [`LoraPair::apply`]'s 8-bit path.
#[derive(Default)]
struct Scratch {
    coef: Vec<f32>,
    sub: QActs,
    s: Vec<f32>,
    s32: Vec<f32>,
    q: QActs,
    d: Vec<f32>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Each `len`-value row of `values` (finite, checked at load) as 8-bit integers and its
/// scale (`v ≈ scale · q`, `q ∈ [-127, 127]`, rounded to nearest even).
pub(super) fn quantize_rows(values: &[f32], len: usize) -> (Vec<i8>, Vec<f32>) {
    let mut qs = vec![0i8; values.len()];
    let mut scales = Vec::with_capacity(values.len().checked_div(len).unwrap_or(0));
    for (row, q) in values.chunks_exact(len.max(1)).zip(qs.chunks_exact_mut(len.max(1))) {
        let amax = max_abs(row).unwrap_or(0.0);
        let inv = if amax > 0.0 { 127.0 / amax } else { 0.0 };
        for (q, &v) in q.iter_mut().zip(row) {
            *q = to_i8(v * inv);
        }
        scales.push(amax / 127.0);
    }
    (qs, scales)
}

/// `y` (within ±127 once clamped) rounded to the nearest integer, ties to even.
#[inline(always)]
pub(super) fn to_i8(y: f32) -> i8 {
    // Round to nearest even by adding 1.5·2²³ (see `kernels::exp`): vectorizes.
    const MAGIC: f32 = 12_582_912.0;
    let y = y.clamp(-127.0, 127.0);
    ((y + MAGIC).to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32) as i8
}

/// The largest `|v|` of `values` (0 when empty), `None` when one is not finite. Lane by
/// lane, so that it vectorizes.
#[inline(always)]
pub(super) fn max_abs(values: &[f32]) -> Option<f32> {
    const EXPONENT: u32 = 0x7f80_0000;
    let (mut lanes, mut bad) = ([0f32; 16], [0u32; 16]);
    let mut chunks = values.chunks_exact(16);
    for chunk in &mut chunks {
        for ((lane, bad), &v) in lanes.iter_mut().zip(&mut bad).zip(chunk) {
            let a = v.abs();
            *lane = if a > *lane { a } else { *lane };
            *bad |= u32::from(v.to_bits() & EXPONENT == EXPONENT);
        }
    }
    let mut m = 0f32;
    for &v in chunks.remainder() {
        if !v.is_finite() {
            return None;
        }
        m = m.max(v.abs());
    }
    if bad.iter().any(|&b| b != 0) {
        return None;
    }
    Some(lanes.into_iter().fold(m, f32::max))
}

// Offsets are products of a pair's checked dimensions (its vectors' lengths).
#[allow(clippy::arithmetic_side_effects)]
impl LoraPair {
    /// A pair from its integers `a` (`[rank, in]`) and `bt` (`[rank, out]`) with their
    /// per-slice scales and mixture weights; held as tiles where the CPU and the shapes allow.
    pub(super) fn new(
        (rank, in_dim, out_dim): (usize, usize, usize),
        (a, a_scale): (Vec<i8>, Vec<f32>),
        (bt, bt_scale): (Vec<i8>, Vec<f32>),
        weight: Vec<f32>,
    ) -> Self {
        let r16 = rank.next_multiple_of(qgemm::TILE);
        // `B`'s inputs: a rank of at most 16 is held as half a block, others in whole blocks.
        let width = if rank <= qgemm::TILE { rank } else { rank.next_multiple_of(qgemm::BLOCK) };
        let stored = if qgemm::supported(r16, in_dim)
            && qgemm::supported(out_dim, width.next_multiple_of(qgemm::BLOCK))
            && a.len() == rank * in_dim
            && bt.len() == rank * out_dim
        {
            let mut a16 = a.clone();
            a16.resize(r16 * in_dim, 0);
            let mut b = vec![0i8; out_dim * width];
            for (j, row) in bt.chunks_exact(out_dim.max(1)).enumerate() {
                for (o, &v) in row.iter().enumerate() {
                    if let Some(cell) = b.get_mut(o * width + j) {
                        *cell = v;
                    }
                }
            }
            match (QMatrix::from_i8(&a16, r16, in_dim), QMatrix::from_i8(&b, out_dim, width)) {
                (Ok(a), Ok(b)) => Stored::Tiles { a, b },
                _ => Stored::Slices { a, bt },
            }
        } else {
            Stored::Slices { a, bt }
        };
        Self { rank, in_dim, out_dim, stored, a_scale, bt_scale, weight, rows: Default::default() }
    }

    /// The stored integers as rows: `A` (`[rank, in]`) and `Bᵀ` (`[rank, out]`).
    pub(super) fn slices(&self) -> (Cow<'_, [i8]>, Cow<'_, [i8]>) {
        match &self.stored {
            Stored::Slices { a, bt } => (Cow::Borrowed(a), Cow::Borrowed(bt)),
            Stored::Tiles { a, b } => {
                let mut qa = a.to_i8().unwrap_or_default();
                qa.truncate(self.rank * self.in_dim);
                let qb = b.to_i8().unwrap_or_default();
                let mut bt = vec![0i8; self.rank * self.out_dim];
                for (o, row) in qb.chunks_exact(b.in_dim.max(1)).enumerate() {
                    for (j, &v) in row.iter().take(self.rank).enumerate() {
                        if let Some(cell) = bt.get_mut(j * self.out_dim + o) {
                            *cell = v;
                        }
                    }
                }
                (Cow::Owned(qa), Cow::Owned(bt))
            }
        }
    }

    /// `out[k] += (x_r·Aᵀ)·(scale·B)ᵀ` for `r = rows[k]`: `x` is `[_, in]`, `out` is
    /// `[rows.len(), out]`. The adapter's rank-1 slices are outermost, in blocks of four, so
    /// each is read once for all the rows. Products in f32 over the stored integers.
    pub fn apply_rows(&self, x: &[f32], rows: &[usize], out: &mut [f32]) {
        let (a, bt): (&[i8], &[i8]) = match &self.stored {
            Stored::Slices { a, bt } => (a, bt),
            Stored::Tiles { .. } => {
                let (a, bt) = self.rows.get_or_init(|| {
                    let (a, bt) = self.slices();
                    (a.into_owned(), bt.into_owned())
                });
                (a, bt)
            }
        };
        pulp::Arch::new().dispatch(ApplyRows { pair: self, a, bt, x, rows, out });
    }

    /// As [`LoraPair::apply_rows`]; where the base quantized `x` to 8 bits (`acts`, the same
    /// rows) and the pair is held as tiles, with two 8-bit products on those activations:
    /// `x·Aᵀ` (one row's values within 1/254 of a block's largest, as for the base's own
    /// product), each slice's scales, then `·Bᵀ` on those `rank` values quantized per row.
    pub fn apply(&self, x: &[f32], acts: Option<&QActs>, rows: &[usize], out: &mut [f32]) {
        match (&self.stored, acts) {
            (Stored::Tiles { a, b }, Some(acts)) if acts.in_dim == self.in_dim => {
                self.apply_tiled((a, b), acts, rows, out)
            }
            _ => self.apply_rows(x, rows, out),
        }
    }

    fn apply_tiled(
        &self,
        (a, b): (&QMatrix, &QMatrix),
        acts: &QActs,
        rows: &[usize],
        out: &mut [f32],
    ) {
        if rows.len() * self.out_dim > out.len() {
            return;
        }
        let (r16, r32) = (a.out_dim, b.in_dim);
        // Buffers reused from item to item on this thread: a step has thousands of items, and
        // allocating theirs contended for malloc's arenas between the pool's threads.
        SCRATCH.with_borrow_mut(|Scratch { coef, sub, s, s32, q, d }| {
            coef.clear();
            coef.extend(
                (self.weight.iter().zip(&self.a_scale).zip(&self.bt_scale))
                    .map(|((w, sa), sb)| w * sa * sb),
            );
            if coef.iter().all(|&c| c == 0.0) {
                return;
            }
            if acts.gather_into(rows, sub).and_then(|()| a.matmul_here_into(sub, s)).is_err() {
                return;
            }
            s32.clear();
            s32.resize(rows.len() * r32, 0.0);
            for (dst, src) in s32.chunks_exact_mut(r32.max(1)).zip(s.chunks_exact(r16.max(1))) {
                for ((d, v), c) in dst.iter_mut().zip(src.iter()).zip(coef.iter()) {
                    *d = v * c;
                }
            }
            if q.requantize(s32, rows.len(), r32).and_then(|()| b.matmul_here_into(q, d)).is_err() {
                return;
            }
            for (o, d) in out.iter_mut().zip(d.iter()) {
                *o += d;
            }
        });
    }

    /// The pair's tiles, if it is held as tiles.
    pub(super) fn tiles_mut(&mut self) -> Option<(&mut QMatrix, &mut QMatrix)> {
        match &mut self.stored {
            Stored::Tiles { a, b } => Some((a, b)),
            Stored::Slices { .. } => None,
        }
    }

    /// `scale·B·A` as a dense `[out, in]` tensor (for merging), from the stored values.
    pub fn delta(&self) -> Result<Tensor> {
        let (qa, qbt) = self.slices();
        let mut a = Vec::with_capacity(qa.len());
        for (row, &s) in qa.chunks_exact(self.in_dim.max(1)).zip(&self.a_scale) {
            a.extend(row.iter().map(|&q| f32::from(q) * s));
        }
        let mut bt = Vec::with_capacity(qbt.len());
        for ((row, &w), &s) in
            qbt.chunks_exact(self.out_dim.max(1)).zip(&self.weight).zip(&self.bt_scale)
        {
            bt.extend(row.iter().map(|&q| f32::from(q) * s * w));
        }
        let a = Tensor::from_vec(a, (self.rank, self.in_dim), &Device::Cpu)?;
        let bt = Tensor::from_vec(bt, (self.rank, self.out_dim), &Device::Cpu)?;
        Ok(bt.t()?.matmul(&a)?)
    }

    pub(super) fn bytes(&self) -> usize {
        let held = match &self.stored {
            Stored::Slices { a, bt } => a.len() + bt.len(),
            Stored::Tiles { a, b } => a.bytes() + b.bytes(),
        };
        let rows = self.rows.get().map_or(0, |(a, bt)| a.len() + bt.len());
        held + rows + 4 * (self.weight.len() + self.a_scale.len() + self.bt_scale.len())
    }
}
