//! Local response normalization, across channels or within each channel.

use super::{contiguous, tensor};
use crate::Tensor;

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

impl Lrn {
    /// The per-element denominator base: y = x · scale^(−β).
    pub fn scale(&self, x: &Tensor) -> Tensor {
        let s = x.shape().to_vec();
        let (n, c) = (s[0], s.get(1).copied().unwrap_or(1));
        let (h, w) = (s.get(2).copied().unwrap_or(1), s.get(3).copied().unwrap_or(1));
        let xs = contiguous(x);
        let plane = h * w;
        let mut scale = vec![0f32; xs.len()];
        match self.region {
            LrnRegion::AcrossChannels => {
                let pre = (self.size - 1) / 2;
                let a = self.alpha / self.size as f32;
                for b in 0..n {
                    for ci in 0..c {
                        let lo = ci.saturating_sub(pre);
                        let hi = (ci + self.size - pre).min(c);
                        for i in 0..plane {
                            let mut sum = 0f32;
                            for cj in lo..hi {
                                let v = xs[(b * c + cj) * plane + i];
                                sum += v * v;
                            }
                            scale[(b * c + ci) * plane + i] = self.k + a * sum;
                        }
                    }
                }
            }
            LrnRegion::WithinChannel => {
                // Caffe: 1 + α · (average of x² over a size×size window padded by (size−1)/2, divisor size²).
                let pad = (self.size - 1) / 2;
                let div = (self.size * self.size) as f32;
                for p in 0..n * c {
                    let src = &xs[p * plane..(p + 1) * plane];
                    for y in 0..h {
                        for xq in 0..w {
                            let mut sum = 0f32;
                            for yy in y.saturating_sub(pad)..(y + self.size - pad).min(h) {
                                for xx in xq.saturating_sub(pad)..(xq + self.size - pad).min(w) {
                                    let v = src[yy * w + xx];
                                    sum += v * v;
                                }
                            }
                            scale[p * plane + y * w + xq] = 1.0 + self.alpha * sum / div;
                        }
                    }
                }
            }
        }
        tensor(x.shape(), scale)
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        let scale = self.scale(x);
        let b = self.beta;
        let mut y = x.as_standard_layout().into_owned();
        y.zip_mut_with(&scale, |v, s| *v *= s.powf(-b));
        y
    }
}

impl Lrn {
    /// The true gradient: dx_j = g_j·s_j^(−β) − (2αβ/n)·x_j·Σ_{i: j ∈ window(i)} g_i·y_i/s_i,
    /// with n = size (across channels) or size² (within a channel).
    pub fn backward(&self, x: &Tensor, y: &Tensor, g: &Tensor) -> Tensor {
        let s = x.shape().to_vec();
        let (n, c) = (s[0], s.get(1).copied().unwrap_or(1));
        let (h, w) = (s.get(2).copied().unwrap_or(1), s.get(3).copied().unwrap_or(1));
        let plane = h * w;
        let scale = self.scale(x);
        let (xs, ys, gs, ss) = (contiguous(x), contiguous(y), contiguous(g), contiguous(&scale));
        let t: Vec<f32> = (0..xs.len()).map(|i| gs[i] * ys[i] / ss[i]).collect();
        let mut acc = vec![0f32; xs.len()];
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
        let k = 2.0 * self.alpha * self.beta / norm;
        let dx = (0..xs.len()).map(|i| gs[i] * ss[i].powf(-self.beta) - k * xs[i] * acc[i]).collect();
        tensor(x.shape(), dx)
    }
}
