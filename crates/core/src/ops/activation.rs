//! Element-wise activations.

use super::contiguous;
use crate::{Real, Tensor};

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
    /// ONNX PRelu with a slope tensor (weights[0]) broadcast against the input numpy-style.
    PReluBroadcast,
    /// min(max(x, min), max): ONNX Clip (ReLU6 is Clip(0, 6)); `max` wins when min > max.
    Clip {
        min: f32,
        max: f32,
    },
    /// max(0, min(1, alpha·x + beta)).
    HardSigmoid {
        alpha: f32,
        beta: f32,
    },
    /// x · HardSigmoid(x) with alpha 1/6 and beta 1/2.
    HardSwish,
}

/// HardSwish's HardSigmoid parameters.
const HARD_SWISH: (f32, f32) = (1.0 / 6.0, 0.5);

fn hard_sigmoid<T: Real>(x: T, alpha: f32, beta: f32) -> T {
    (T::of(alpha) * x + T::of(beta)).max(T::zero()).min(T::one())
}

/// d/dx of HardSigmoid(x): alpha inside the ramp, zero outside.
fn hard_sigmoid_slope<T: Real>(x: T, alpha: f32, beta: f32) -> T {
    let t = T::of(alpha) * x + T::of(beta);
    if t > T::zero() && t < T::one() {
        T::of(alpha)
    } else {
        T::zero()
    }
}

impl Activation {
    pub fn forward<T: Real>(&self, x: &Tensor<T>, weights: &[Tensor<T>]) -> Tensor<T> {
        match self {
            Activation::Relu { negative_slope } => {
                let s = T::of(*negative_slope);
                x.mapv(|v| if v > T::zero() { v } else { v * s })
            }
            Activation::Sigmoid => x.mapv(|v| T::one() / (T::one() + (-v).exp())),
            Activation::Tanh => x.mapv(T::tanh),
            Activation::Clip { min, max } => x.mapv(|v| v.max(T::of(*min)).min(T::of(*max))),
            Activation::HardSigmoid { alpha, beta } => x.mapv(|v| hard_sigmoid(v, *alpha, *beta)),
            Activation::HardSwish => x.mapv(|v| v * hard_sigmoid(v, HARD_SWISH.0, HARD_SWISH.1)),
            Activation::PReluBroadcast => {
                let mut y = x.as_standard_layout().into_owned();
                let slope = weights[0].broadcast(y.raw_dim()).expect("slope broadcast checked at load");
                y.zip_mut_with(&slope, |v, &a| {
                    if *v <= T::zero() {
                        *v *= a
                    }
                });
                y
            }
            Activation::PRelu { channel_shared } => {
                let slope = contiguous(&weights[0]);
                let mut y = x.as_standard_layout().into_owned();
                let shape = y.shape().to_vec();
                let c = shape.get(1).copied().unwrap_or(1);
                let inner: usize = shape.iter().skip(2).product();
                for (i, v) in y.as_slice_mut().unwrap().iter_mut().enumerate() {
                    let a = if *channel_shared { slope[0] } else { slope[(i / inner.max(1)) % c] };
                    if *v <= T::zero() {
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
    pub fn backward<T: Real>(&self, x: &Tensor<T>, y: &Tensor<T>, g: &Tensor<T>, weights: &[Tensor<T>], rule: ReluRule) -> Tensor<T> {
        let zero = T::zero();
        let rectify = |xv: T, gv: T, slope: T| match rule {
            ReluRule::Gradient => {
                if xv > zero {
                    gv
                } else {
                    gv * slope
                }
            }
            ReluRule::Deconvnet => {
                if gv > zero {
                    gv
                } else {
                    gv * slope
                }
            }
            ReluRule::Guided => {
                if xv > zero && gv > zero {
                    gv
                } else {
                    zero
                }
            }
        };
        let mut dx = g.as_standard_layout().into_owned();
        match self {
            Activation::Relu { negative_slope } => dx.zip_mut_with(x, |d, &xv| *d = rectify(xv, *d, T::of(*negative_slope))),
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
            Activation::PReluBroadcast => {
                let slope = weights[0].broadcast(x.raw_dim()).expect("slope broadcast checked at load");
                ndarray::Zip::from(&mut dx).and(x).and(&slope).for_each(|d, &xv, &a| *d = rectify(xv, *d, a));
            }
            Activation::Sigmoid => dx.zip_mut_with(y, |d, &yv| *d *= yv * (T::one() - yv)),
            Activation::Tanh => dx.zip_mut_with(y, |d, &yv| *d *= T::one() - yv * yv),
            // Not rectifiers: the true gradient under every rule, as captum treats ReLU6 and Hardswish.
            Activation::Clip { min, max } => {
                dx.zip_mut_with(x, |d, &xv| *d = if xv > T::of(*min) && xv < T::of(*max) { *d } else { zero })
            }
            Activation::HardSigmoid { alpha, beta } => {
                dx.zip_mut_with(x, |d, &xv| *d *= hard_sigmoid_slope(xv, *alpha, *beta))
            }
            Activation::HardSwish => dx.zip_mut_with(x, |d, &xv| {
                let (a, b) = HARD_SWISH;
                *d *= hard_sigmoid(xv, a, b) + xv * hard_sigmoid_slope(xv, a, b)
            }),
        }
        dx
    }
}

impl Activation {
    /// PReLU's slope gradient: Σ g·x over the inputs that were not positive, per slope value.
    pub fn weight_backward<T: Real>(&self, x: &Tensor<T>, g: &Tensor<T>, weights: &[Tensor<T>]) -> Vec<Option<Tensor<T>>> {
        let mut gx = g.as_standard_layout().into_owned();
        gx.zip_mut_with(x, |d, &xv| *d = if xv > T::zero() { T::zero() } else { *d * xv });
        match self {
            Activation::PRelu { channel_shared } => {
                let c = if *channel_shared { 1 } else { x.shape().get(1).copied().unwrap_or(1) };
                let inner: usize = x.shape().iter().skip(2).product();
                let mut ds = vec![T::zero(); c];
                for (i, v) in gx.iter().enumerate() {
                    ds[(i / inner.max(1)) % c] += *v;
                }
                vec![Some(super::tensor(weights[0].shape(), ds))]
            }
            Activation::PReluBroadcast => vec![Some(super::binary::sum_to(&gx, weights[0].shape()))],
            _ => vec![None; weights.len()],
        }
    }
}
