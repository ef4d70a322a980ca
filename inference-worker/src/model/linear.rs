//! A weight matrix and how it multiplies: the worker's 8-bit tiles, candle's quantized
//! kernels, or dense f32.

use super::Precision;
use crate::{
    error::Result,
    qgemm::{self, QActs, QMatrix},
};
use candle_core::{
    quantized::{GgmlDType, QMatMul, QTensor},
    DType, Device, Module, Tensor,
};
use std::sync::Arc;

/// A weight matrix `[out, in]` and how it multiplies.
#[derive(Clone, Debug)]
pub struct Linear {
    pub(super) weight: LinearWeight,
    pub in_dim: usize,
    pub out_dim: usize,
    /// `in_dim` rounded up to what the fast kernel needs (zero columns appended), see
    /// [`padded_in_dim`].
    padded_in: usize,
}

/// The input width a Q8_0 matrix is stored at.
///
/// candle's x86 Q8_0 kernel with VNNI (repacked tiles, `dpbusd`) only takes an inner
/// dimension that is a multiple of 256; other widths (SmolLM2's 576) fall back to a dot
/// product that runs ~7x slower per multiply-accumulate (measured: 15 vs 130–280 GMAC/s on
/// this machine). Appending zero columns up to the next multiple of 256 (576 → 768) costs a
/// third more arithmetic on zeros and changes no result: Q8_0 blocks of 32 zeros contribute
/// exactly 0 to every dot product.
fn padded_in_dim(in_dim: usize, dtype: GgmlDType, device: &Device) -> usize {
    #[cfg(target_arch = "x86_64")]
    let vnni = {
        let avx512 = std::arch::is_x86_feature_detected!("avx512vnni");
        let avx = std::arch::is_x86_feature_detected!("avxvnni");
        avx512 | avx
    };
    #[cfg(not(target_arch = "x86_64"))]
    let vnni = false;
    if vnni && device.is_cpu() && dtype == GgmlDType::Q8_0 {
        in_dim.div_ceil(256).saturating_mul(256)
    } else {
        in_dim
    }
}

/// `w` (`[out, in]`) quantized to `dtype`, with zero columns up to `padded_in`.
fn quantize_padded(w: &Tensor, dtype: GgmlDType, padded_in: usize) -> Result<QMatMul> {
    let (_, in_dim) = w.dims2()?;
    let w = if padded_in > in_dim {
        w.pad_with_zeros(1, 0, padded_in.saturating_sub(in_dim))?
    } else {
        w.clone()
    };
    Ok(QMatMul::from_qtensor(QTensor::quantize(&w, dtype)?)?)
}

#[derive(Clone, Debug)]
pub(super) enum LinearWeight {
    /// 8-bit or 4-bit tiles for the worker's own AVX-512 VNNI kernels (see `qgemm`).
    Tiled(Arc<QMatrix>),
    Quantized(QMatMul),
    /// Stored transposed (`[in, out]`, contiguous) so the matmul is a plain GEMM.
    Dense(Tensor),
}

impl Linear {
    pub(super) fn from_qtensor(q: QTensor, precision: Precision, device: &Device) -> Result<Self> {
        let dims = q.shape().dims2()?;
        let (out_dim, in_dim) = dims;
        let mut padded_in = in_dim;
        let weight = match (precision, q.dtype()) {
            (Precision::Dense, _) | (_, GgmlDType::F32 | GgmlDType::F16 | GgmlDType::BF16) => {
                LinearWeight::Dense(q.dequantize(device)?.t()?.contiguous()?)
            }
            (Precision::Native, dtype @ (GgmlDType::Q4_0 | GgmlDType::Q4_1))
                if device.is_cpu() && qgemm::supported(out_dim, in_dim) =>
            {
                let data = q.data()?;
                LinearWeight::Tiled(Arc::new(QMatrix::from_gguf_q4(
                    dtype == GgmlDType::Q4_1,
                    &data,
                    out_dim,
                    in_dim,
                )?))
            }
            (Precision::Native | Precision::Int8, _)
                if device.is_cpu() && qgemm::supported(out_dim, in_dim) =>
            {
                let w = q.dequantize(&Device::Cpu)?.flatten_all()?.to_vec1::<f32>()?;
                LinearWeight::Tiled(Arc::new(QMatrix::quantize(&w, out_dim, in_dim)?))
            }
            (Precision::Native | Precision::Int8, dtype)
                if !device.is_cpu()
                    || (has_fast_cpu_kernel(dtype)
                        && padded_in_dim(in_dim, dtype, device) == in_dim) =>
            {
                LinearWeight::Quantized(QMatMul::from_qtensor(q)?)
            }
            (Precision::Native | Precision::Int8, dtype) => {
                // Re-quantized: types without a vectorized kernel, and Q8_0 that needs padding.
                let target = if dtype == GgmlDType::Q8_0 || !has_fast_cpu_kernel(dtype) {
                    GgmlDType::Q8_0
                } else {
                    dtype
                };
                padded_in = padded_in_dim(in_dim, target, device);
                LinearWeight::Quantized(quantize_padded(
                    &q.dequantize(&Device::Cpu)?,
                    target,
                    padded_in,
                )?)
            }
        };
        Ok(Self { weight, in_dim, out_dim, padded_in })
    }

    pub(super) fn from_dense(w: Tensor) -> Result<Self> {
        let (out_dim, in_dim) = w.dims2()?;
        Ok(Self {
            weight: LinearWeight::Dense(w.to_dtype(DType::F32)?.t()?.contiguous()?),
            in_dim,
            out_dim,
            padded_in: in_dim,
        })
    }

    /// `x · Wᵀ` for `rows` rows of `x` (row-major `[rows, in]`), on the host.
    pub fn forward_host(&self, x: &[f32], rows: usize, device: &Device) -> Result<Vec<f32>> {
        let ys = match &self.weight {
            LinearWeight::Tiled(m) => return m.matmul(&QActs::quantize(x, rows, self.in_dim)?),
            LinearWeight::Quantized(q) => q.forward(&self.input(x, rows, device)?)?,
            LinearWeight::Dense(wt) => self.input(x, rows, device)?.matmul(wt)?,
        };
        Ok(ys.flatten_all()?.to_vec1::<f32>()?)
    }

    /// `x · Wᵢᵀ` for every `Wᵢ` of `lins`, which share their input (q/k/v, gate/up).
    ///
    /// When they are quantized alike, candle's fused kernel quantizes the activations once
    /// and runs all the products in one parallel region; quantizing the activations costs
    /// about as much as a 16-row product itself, so this saves a third of it per layer. The
    /// arithmetic per output is the same as separate calls (same activation blocks, same
    /// kernel), so results do not depend on which path ran.
    ///
    /// Where the worker's own tiles ran, the activations they were quantized to come back too
    /// (the adapters' products reuse them).
    pub fn forward_host_shared(
        lins: &[&Linear],
        x: &[f32],
        rows: usize,
        device: &Device,
    ) -> Result<(Vec<Vec<f32>>, Option<QActs>)> {
        let int8: Vec<&QMatrix> = lins
            .iter()
            .filter_map(|l| match &l.weight {
                LinearWeight::Tiled(m) => Some(m.as_ref()),
                _ => None,
            })
            .collect();
        if let Some(first) = int8.first() {
            if int8.len() == lins.len() && int8.iter().all(|m| m.in_dim == first.in_dim) {
                let acts = QActs::quantize(x, rows, first.in_dim)?;
                return Ok((QMatrix::matmul_many(&int8, &acts)?, Some(acts)));
            }
        }
        let mut qs = Vec::with_capacity(lins.len());
        for lin in lins {
            match &lin.weight {
                LinearWeight::Quantized(QMatMul::QTensor(q)) => qs.push(q.as_ref()),
                _ => break,
            }
        }
        if let Some(first) = lins.first() {
            let same_input =
                lins.iter().all(|l| l.in_dim == first.in_dim && l.padded_in == first.padded_in);
            if qs.len() == lins.len() && same_input {
                let xs = first.input(x, rows, device)?;
                if let Some(outs) = QTensor::gemv_fused_shared_lhs(&qs, &xs)? {
                    let ys = outs
                        .into_iter()
                        .map(|t| Ok(t.flatten_all()?.to_vec1::<f32>()?))
                        .collect::<Result<_>>()?;
                    return Ok((ys, None));
                }
            }
        }
        let ys = lins.iter().map(|l| l.forward_host(x, rows, device)).collect::<Result<_>>()?;
        Ok((ys, None))
    }

    /// `x` as a `[rows, padded_in]` tensor.
    fn input(&self, x: &[f32], rows: usize, device: &Device) -> Result<Tensor> {
        Ok(if self.padded_in > self.in_dim {
            let mut padded = vec![0f32; rows.saturating_mul(self.padded_in)];
            for (dst, src) in
                padded.chunks_exact_mut(self.padded_in).zip(x.chunks_exact(self.in_dim))
            {
                for (d, s) in dst.iter_mut().zip(src) {
                    *d = *s;
                }
            }
            Tensor::from_vec(padded, (rows, self.padded_in), device)?
        } else {
            Tensor::from_slice(x, (rows, self.in_dim), device)?
        })
    }

    /// The weights as a dense f32 `[out, in]` tensor.
    pub fn dequantized(&self) -> Result<Tensor> {
        Ok(match &self.weight {
            LinearWeight::Tiled(m) => {
                Tensor::from_vec(m.dequantize(), (self.out_dim, self.in_dim), &Device::Cpu)?
            }
            LinearWeight::Quantized(QMatMul::QTensor(q)) => {
                q.dequantize(&Device::Cpu)?.narrow(1, 0, self.in_dim)?.contiguous()?
            }
            LinearWeight::Quantized(QMatMul::Tensor(t)) => t.to_dtype(DType::F32)?,
            LinearWeight::Quantized(QMatMul::TensorF16(t)) => t.to_dtype(DType::F32)?,
            LinearWeight::Dense(wt) => wt.t()?.contiguous()?,
        })
    }

    /// `self` with `delta` (`[out, in]`) added, held in the same form (re-quantized alike, or
    /// dense). Tiles of either width come back as 8-bit tiles: the sum is no longer the file's
    /// 4-bit blocks, and rounding it to 4 bits again would add a second quantization's error
    /// to every weight.
    pub fn with_delta(&self, delta: &Tensor) -> Result<Self> {
        let merged = self.dequantized()?.add(delta)?;
        let weight = match &self.weight {
            LinearWeight::Tiled(_) => {
                let w = merged.flatten_all()?.to_vec1::<f32>()?;
                LinearWeight::Tiled(Arc::new(QMatrix::quantize(&w, self.out_dim, self.in_dim)?))
            }
            LinearWeight::Quantized(QMatMul::QTensor(q)) => {
                LinearWeight::Quantized(quantize_padded(&merged, q.dtype(), self.padded_in)?)
            }
            _ => return Self::from_dense(merged),
        };
        Ok(Self { weight, in_dim: self.in_dim, out_dim: self.out_dim, padded_in: self.padded_in })
    }
}

/// Quantization types with a vectorized dot product in candle's CPU backend.
fn has_fast_cpu_kernel(dtype: GgmlDType) -> bool {
    matches!(
        dtype,
        GgmlDType::Q4_0
            | GgmlDType::Q8_0
            | GgmlDType::Q2K
            | GgmlDType::Q3K
            | GgmlDType::Q4K
            | GgmlDType::Q5K
            | GgmlDType::Q6K
    )
}
