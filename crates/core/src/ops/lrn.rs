//! Local response normalization, across channels or within each channel.

use super::{contiguous, tensor};
use crate::{Real, Tensor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LrnRegion {
    AcrossChannels,
    WithinChannel,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lrn {
    pub size: usize,
    pub alpha: f32,
    pub beta: f32,
    pub k: f32,
    pub region: LrnRegion,
}

/// s^(−β), with square roots for the usual β = 0.75 (within 2 ulp, and many times faster than powf).
fn inverse_power<T: Real>(s: T, beta: f32) -> T {
    match beta {
        0.75 => (s * s.sqrt()).sqrt().recip(),
        0.5 => s.sqrt().recip(),
        1.0 => s.recip(),
        _ => s.powf(T::of(-beta)),
    }
}

// Loops over two separate slices in functions of their own, never inlined: the compiler then knows the
// slices do not overlap, and vectorises them (inlined into the caller, it did not, in wasm).

#[inline(never)]
fn add_squares<T: Real>(sum: &mut [T], x: &[T]) {
    sum.iter_mut().zip(x).for_each(|(s, v)| *s += *v * *v);
}

/// y = x · scale^(−0.75), in place of the scale.
#[inline(never)]
fn normalize_075<T: Real>(scale: &mut [T], x: &[T]) {
    scale.iter_mut().zip(x).for_each(|(s, v)| *s = *v * (*s * s.sqrt()).sqrt().recip());
}

impl Lrn {
    /// The per-element denominator base: y = x · scale^(−β).
    pub fn scale<T: Real>(&self, x: &Tensor<T>) -> Tensor<T> {
        tensor(x.shape(), self.scale_values(x))
    }

    fn scale_values<T: Real>(&self, x: &Tensor<T>) -> Vec<T> {
        let s = x.shape().to_vec();
        let (n, c) = (s[0], s.get(1).copied().unwrap_or(1));
        let (h, w) = (s.get(2).copied().unwrap_or(1), s.get(3).copied().unwrap_or(1));
        let xs = contiguous(x);
        let plane = h * w;
        let mut scale = vec![T::zero(); xs.len()];
        match self.region {
            LrnRegion::AcrossChannels => {
                let pre = (self.size - 1) / 2;
                let (a, k) = (T::of(self.alpha / self.size as f32), T::of(self.k));
                // Whole planes at a time: each element's sum still runs over its window in order.
                for (xb, sb) in xs.chunks_exact(c * plane).zip(scale.chunks_exact_mut(c * plane)) {
                    for (ci, sum) in sb.chunks_exact_mut(plane).enumerate() {
                        for cj in ci.saturating_sub(pre)..(ci + self.size - pre).min(c) {
                            add_squares(sum, &xb[cj * plane..(cj + 1) * plane]);
                        }
                        sum.iter_mut().for_each(|s| *s = k + a * *s);
                    }
                }
            }
            LrnRegion::WithinChannel => {
                // Caffe: 1 + α · (average of x² over a size×size window padded by (size−1)/2, divisor size²).
                let pad = (self.size - 1) / 2;
                let (alpha, div) = (T::of(self.alpha), T::of((self.size * self.size) as f32));
                for p in 0..n * c {
                    let src = &xs[p * plane..(p + 1) * plane];
                    for y in 0..h {
                        for xq in 0..w {
                            let mut sum = T::zero();
                            for yy in y.saturating_sub(pad)..(y + self.size - pad).min(h) {
                                for xx in xq.saturating_sub(pad)..(xq + self.size - pad).min(w) {
                                    let v = src[yy * w + xx];
                                    sum += v * v;
                                }
                            }
                            scale[p * plane + y * w + xq] = T::one() + alpha * sum / div;
                        }
                    }
                }
            }
        }
        scale
    }

    pub fn forward<T: Real>(&self, x: &Tensor<T>) -> Tensor<T> {
        // The output takes the scale's place; one loop per β, so that each vectorises.
        let mut y = self.scale_values(x);
        let xs = contiguous(x);
        match self.beta {
            0.75 => normalize_075(&mut y, &xs),
            b => y.iter_mut().zip(xs.iter()).for_each(|(s, v)| *s = *v * inverse_power(*s, b)),
        }
        tensor(x.shape(), y)
    }
}

impl Lrn {
    /// The true gradient: dx_j = g_j·s_j^(−β) − (2αβ/n)·x_j·Σ_{i: j ∈ window(i)} g_i·y_i/s_i,
    /// with n = size (across channels) or size² (within a channel).
    pub fn backward<T: Real>(&self, x: &Tensor<T>, y: &Tensor<T>, g: &Tensor<T>) -> Tensor<T> {
        let s = x.shape().to_vec();
        let (n, c) = (s[0], s.get(1).copied().unwrap_or(1));
        let (h, w) = (s.get(2).copied().unwrap_or(1), s.get(3).copied().unwrap_or(1));
        let plane = h * w;
        let scale = self.scale(x);
        let (xs, ys, gs, ss) = (contiguous(x), contiguous(y), contiguous(g), contiguous(&scale));
        let t: Vec<T> = (0..xs.len()).map(|i| gs[i] * ys[i] / ss[i]).collect();
        let mut acc = vec![T::zero(); xs.len()];
        let pre = (self.size - 1) / 2;
        let norm = match self.region {
            LrnRegion::AcrossChannels => {
                for b in 0..n {
                    for ci in 0..c {
                        for cj in ci.saturating_sub(pre)..(ci + self.size - pre).min(c) {
                            for p in 0..plane {
                                acc[(b * c + cj) * plane + p] += t[(b * c + ci) * plane + p];
                            }
                        }
                    }
                }
                self.size as f32
            }
            LrnRegion::WithinChannel => {
                for pl in 0..n * c {
                    for y0 in 0..h {
                        for x0 in 0..w {
                            let v = t[pl * plane + y0 * w + x0];
                            for yy in y0.saturating_sub(pre)..(y0 + self.size - pre).min(h) {
                                for xx in x0.saturating_sub(pre)..(x0 + self.size - pre).min(w) {
                                    acc[pl * plane + yy * w + xx] += v;
                                }
                            }
                        }
                    }
                }
                (self.size * self.size) as f32
            }
        };
        let k = T::of(2.0 * self.alpha * self.beta / norm);
        let dx = (0..xs.len()).map(|i| gs[i] * inverse_power(ss[i], self.beta) - k * xs[i] * acc[i]).collect();
        tensor(x.shape(), dx)
    }
}
