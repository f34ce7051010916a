//! Caffe's SGD update (SGDSolver::ApplyUpdate): gradient clipping, normalisation by iter_size, weight
//! decay, momentum, with each blob's lr_mult and decay_mult.

use super::solver::{Regularization, Solver};
use crate::{bail, Result, Tensor};

/// The SGD solver's state: its settings and one momentum buffer ("history") per parameter blob.
#[derive(Debug, Clone)]
pub struct Sgd {
    pub solver: Solver,
    history: Vec<Tensor>,
}

impl Sgd {
    pub fn new(solver: Solver) -> Self {
        Self { solver, history: Vec::new() }
    }

    /// The momentum buffers, one per blob in the order `step` was given them (empty before the first
    /// step). Caffe keeps them in its `.solverstate` to resume a run.
    pub fn history(&self) -> &[Tensor] {
        &self.history
    }

    /// Replaces the momentum buffers (to resume a run).
    pub fn set_history(&mut self, history: Vec<Tensor>) {
        self.history = history;
    }

    /// One update at iteration `iter` (0-based), as Caffe applies it: with rate = learning_rate(iter),
    /// if clip_gradients is set and the L2 norm of all gradients exceeds it, every gradient is scaled by
    /// clip / norm; then per blob, with (lr_mult, decay_mult) = `mults[i]`:
    ///
    /// ```text
    /// g = grad / iter_size
    /// g += weight_decay · decay_mult · w        (L1: · sign(w))
    /// v = momentum · v + rate · lr_mult · g
    /// w -= v
    /// ```
    ///
    /// in f32, as Caffe's float solver does. Returns the rate used.
    pub fn step(&mut self, params: &mut [Tensor], grads: &[Tensor], mults: &[(f32, f32)], iter: u32) -> Result<f32> {
        if grads.len() != params.len() || mults.len() != params.len() {
            bail!(
                input,
                "SGD step: {} parameter blobs, {} gradients and {} (lr_mult, decay_mult) pairs",
                params.len(),
                grads.len(),
                mults.len()
            );
        }
        for (i, (p, g)) in params.iter().zip(grads).enumerate() {
            if p.shape() != g.shape() {
                bail!(input, "SGD step: blob {i} is {:?} but its gradient is {:?}", p.shape(), g.shape());
            }
        }
        if self.history.is_empty() {
            self.history = params.iter().map(|p| Tensor::zeros(p.shape())).collect();
        }
        if self.history.len() != params.len()
            || self.history.iter().zip(params.iter()).any(|(h, p)| h.shape() != p.shape())
        {
            bail!(input, "SGD step: the parameter blobs are not the ones the momentum history was made for");
        }
        let s = &self.solver;
        let rate = s.learning_rate(iter);
        // Caffe's ClipGradients, before the normalisation by iter_size.
        let mut scale = 1f32;
        if let Some(clip) = s.clip_gradients {
            let sumsq: f64 = grads.iter().flat_map(|g| g.iter()).map(|&x| x as f64 * x as f64).sum();
            let norm = sumsq.sqrt() as f32;
            if norm > clip {
                scale = clip / norm;
            }
        }
        let norm = if s.iter_size > 1 { 1.0 / s.iter_size as f32 } else { 1.0 };
        for (((w, g), v), &(lr_mult, decay_mult)) in
            params.iter_mut().zip(grads).zip(self.history.iter_mut()).zip(mults)
        {
            let local_rate = rate * lr_mult;
            let local_decay = s.weight_decay * decay_mult;
            let m = s.momentum;
            let reg = s.regularization;
            ndarray::Zip::from(w).and(g).and(v).for_each(|w, &g, v| {
                let mut d = g;
                if scale != 1.0 {
                    d *= scale;
                }
                if norm != 1.0 {
                    d *= norm;
                }
                if local_decay != 0.0 {
                    d += local_decay
                        * match reg {
                            Regularization::L2 => *w,
                            Regularization::L1 => sign(*w),
                        };
                }
                *v = local_rate * d + m * *v;
                *w -= *v;
            });
        }
        Ok(rate)
    }
}

/// Caffe's caffe_sign: −1, 0 or 1.
fn sign(x: f32) -> f32 {
    ((0.0 < x) as i32 - (x < 0.0) as i32) as f32
}
