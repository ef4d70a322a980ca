//! AdamW with decoupled weight decay, global-norm gradient clipping, and the learning-rate
//! schedule (linear warm-up, then cosine or linear decay, or constant).
//!
//! Written here rather than taken from `candle-nn`: its `AdamW` keeps the moment estimates
//! private, and a checkpoint must save and restore them for a resumed run to continue
//! bit for bit where it stopped.

use crate::error::{Error, Result};
use candle_core::{Tensor, Var};
use serde::{Deserialize, Serialize};

/// The learning-rate schedule after warm-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    Cosine,
    Linear,
    Constant,
}

/// The learning rate at optimizer step `step` (0-based) of `total`.
pub fn learning_rate(schedule: Schedule, peak: f64, step: u64, warmup: u64, total: u64) -> f64 {
    let step = step as f64;
    if step < warmup as f64 {
        return peak * (step + 1.0) / (warmup as f64 + 1.0);
    }
    let span = (total.saturating_sub(warmup)).max(1) as f64;
    let progress = ((step - warmup as f64) / span).clamp(0.0, 1.0);
    match schedule {
        Schedule::Constant => peak,
        Schedule::Linear => peak * (1.0 - progress),
        Schedule::Cosine => peak * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()),
    }
}

/// AdamW's hyper-parameters.
#[derive(Clone, Copy, Debug)]
pub struct AdamWParams {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

/// The optimizer's state for a list of variables (same order every time).
pub struct AdamW {
    pub params: AdamWParams,
    /// Steps taken.
    pub step: u64,
    /// First and second moment per variable.
    pub moments: Vec<(Tensor, Tensor)>,
}

impl AdamW {
    /// Zero moments for `vars`.
    pub fn new(params: AdamWParams, vars: &[&Var]) -> Result<Self> {
        let moments = vars
            .iter()
            .map(|v| Ok((v.zeros_like()?, v.zeros_like()?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { params, step: 0, moments })
    }

    /// One update of `vars` with `grads` (same order) at learning rate `lr`.
    pub fn step(&mut self, vars: &[&Var], grads: &[Tensor], lr: f64) -> Result<()> {
        if vars.len() != grads.len() || vars.len() != self.moments.len() {
            return Err(Error::Model("optimizer state does not match the adapter".into()));
        }
        self.step = self.step.saturating_add(1);
        let AdamWParams { beta1, beta2, eps, weight_decay } = self.params;
        let t = i32::try_from(self.step).unwrap_or(i32::MAX);
        let correct1 = 1.0 - beta1.powi(t);
        let correct2 = 1.0 - beta2.powi(t);
        for ((var, grad), (m, v)) in vars.iter().zip(grads).zip(self.moments.iter_mut()) {
            *m = m.affine(beta1, 0.0)?.add(&grad.affine(1.0 - beta1, 0.0)?)?;
            *v = v.affine(beta2, 0.0)?.add(&grad.sqr()?.affine(1.0 - beta2, 0.0)?)?;
            let m_hat = m.affine(1.0 / correct1, 0.0)?;
            let v_hat = v.affine(1.0 / correct2, 0.0)?;
            let update = m_hat.div(&v_hat.sqrt()?.affine(1.0, eps)?)?;
            let decayed = var.as_tensor().affine(1.0 - lr * weight_decay, 0.0)?;
            var.set(&decayed.sub(&update.affine(lr, 0.0)?)?)?;
        }
        Ok(())
    }
}

/// The global L2 norm of `grads`.
pub fn global_norm(grads: &[Tensor]) -> Result<f64> {
    let mut sum = 0f64;
    for g in grads {
        sum += f64::from(g.sqr()?.sum_all()?.to_scalar::<f32>()?);
    }
    Ok(sum.sqrt())
}

/// Scales `grads` down so their global norm is at most `max_norm` (0 = no clipping); returns
/// the norm before clipping.
pub fn clip(grads: &mut [Tensor], max_norm: f64) -> Result<f64> {
    let norm = global_norm(grads)?;
    if max_norm > 0.0 && norm > max_norm {
        let factor = max_norm / (norm + 1e-6);
        for g in grads.iter_mut() {
            *g = g.affine(factor, 0.0)?;
        }
    }
    Ok(norm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warm_up_then_decay() {
        let lr = |s, sched| learning_rate(sched, 1.0, s, 4, 104);
        assert!((lr(0, Schedule::Cosine) - 0.2).abs() < 1e-12);
        assert!((lr(3, Schedule::Cosine) - 0.8).abs() < 1e-12);
        assert!((lr(4, Schedule::Cosine) - 1.0).abs() < 1e-12);
        assert!((lr(54, Schedule::Cosine) - 0.5).abs() < 1e-12);
        assert!((lr(54, Schedule::Linear) - 0.5).abs() < 1e-12);
        assert!(lr(104, Schedule::Cosine).abs() < 1e-12);
        assert!((lr(90, Schedule::Constant) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn adamw_first_step_moves_each_weight_by_the_learning_rate() {
        // With bias correction, the first step is lr · sign(g) (up to eps), whatever |g| is.
        let dev = candle_core::Device::Cpu;
        let var = Var::from_tensor(&Tensor::new(&[1.0f32, -2.0, 3.0], &dev).unwrap()).unwrap();
        let params = AdamWParams { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 };
        let mut opt = AdamW::new(params, &[&var]).unwrap();
        let grad = Tensor::new(&[0.5f32, -40.0, 0.0], &dev).unwrap();
        opt.step(&[&var], &[grad], 0.1).unwrap();
        let got = var.as_tensor().to_vec1::<f32>().unwrap();
        assert!((got[0] - 0.9).abs() < 1e-5, "{got:?}");
        assert!((got[1] + 1.9).abs() < 1e-5, "{got:?}");
        assert!((got[2] - 3.0).abs() < 1e-6, "{got:?}");
    }
}
