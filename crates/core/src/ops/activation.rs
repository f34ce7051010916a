//! Element-wise activations.

use super::contiguous;
use crate::Tensor;

#[derive(Debug, Clone, PartialEq)]
pub enum Activation {
    /// max(x, 0) + negative_slope · min(x, 0)
    Relu {
        negative_slope: f32,
    },
    /// ReLU with a learned slope per channel (weights[0]), or one shared slope.
    PRelu {
        channel_shared: bool,
    },
    Sigmoid,
    Tanh,
}

impl Activation {
    pub fn forward(&self, x: &Tensor, weights: &[Tensor]) -> Tensor {
        match self {
            Activation::Relu { negative_slope } => {
                let s = *negative_slope;
                x.mapv(|v| if v > 0.0 { v } else { v * s })
            }
            Activation::Sigmoid => x.mapv(|v| 1.0 / (1.0 + (-v).exp())),
            Activation::Tanh => x.mapv(f32::tanh),
            Activation::PRelu { channel_shared } => {
                let slope = contiguous(&weights[0]);
                let mut y = x.as_standard_layout().into_owned();
                let shape = y.shape().to_vec();
                let c = shape.get(1).copied().unwrap_or(1);
                let inner: usize = shape.iter().skip(2).product();
                for (i, v) in y.as_slice_mut().unwrap().iter_mut().enumerate() {
                    let a = if *channel_shared { slope[0] } else { slope[(i / inner.max(1)) % c] };
                    if *v <= 0.0 {
                        *v *= a;
                    }
                }
                y
            }
        }
    }
}

/// How a backward pass treats rectifiers (ReLU, leaky ReLU, PReLU).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReluRule {
    /// The true gradient: the signal passes where the input was positive.
    Gradient,
    /// Zeiler & Fergus: the rectifier applied to the signal itself.
    Deconvnet,
    /// Springenberg et al.: both, positive input and positive signal.
    Guided,
}

impl Activation {
    pub fn backward(&self, x: &Tensor, y: &Tensor, g: &Tensor, weights: &[Tensor], rule: ReluRule) -> Tensor {
        let rectify = |xv: f32, gv: f32, slope: f32| match rule {
            ReluRule::Gradient => {
                if xv > 0.0 {
                    gv
                } else {
                    gv * slope
                }
            }
            ReluRule::Deconvnet => {
                if gv > 0.0 {
                    gv
                } else {
                    gv * slope
                }
            }
            ReluRule::Guided => {
                if xv > 0.0 && gv > 0.0 {
                    gv
                } else {
                    0.0
                }
            }
        };
        let mut dx = g.as_standard_layout().into_owned();
        match self {
            Activation::Relu { negative_slope } => dx.zip_mut_with(x, |d, &xv| *d = rectify(xv, *d, *negative_slope)),
            Activation::PRelu { channel_shared } => {
                let slope = contiguous(&weights[0]);
                let c = x.shape().get(1).copied().unwrap_or(1);
                let inner: usize = x.shape().iter().skip(2).product();
                let xs = contiguous(x);
                for (i, d) in dx.as_slice_mut().unwrap().iter_mut().enumerate() {
                    let a = if *channel_shared { slope[0] } else { slope[(i / inner.max(1)) % c] };
                    *d = rectify(xs[i], *d, a);
                }
            }
            Activation::Sigmoid => dx.zip_mut_with(y, |d, &yv| *d *= yv * (1.0 - yv)),
            Activation::Tanh => dx.zip_mut_with(y, |d, &yv| *d *= 1.0 - yv * yv),
        }
        dx
    }
}
