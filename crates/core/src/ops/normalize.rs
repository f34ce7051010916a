//! BatchNorm (with stored statistics) and Scale (per-channel affine).

use super::{axis_index, contiguous, fmt_shape};
use crate::{Real, bail, Result, Tensor};

/// Caffe's BatchNorm at inference: (x − mean/s) / sqrt(var/s + eps), with s the stored scale factor.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNorm {
    pub eps: f32,
}

impl BatchNorm {
    pub fn forward<T: Real>(&self, x: &Tensor<T>, weights: &[Tensor<T>]) -> Tensor<T> {
        let (mean, var) = (contiguous(&weights[0]), contiguous(&weights[1]));
        let f = scale_factor(weights);
        let eps = T::of(self.eps);
        let coeffs: Vec<(T, T)> =
            mean.iter().zip(var.iter()).map(|(&m, &v)| (m * f, T::one() / (v * f + eps).sqrt())).collect();
        per_channel(x, 1, |c, v| (v - coeffs[c].0) * coeffs[c].1)
    }
}

/// 1/s for Caffe's stored scale factor s (weights[2]); 0 when s is 0.
fn scale_factor<T: Real>(weights: &[Tensor<T>]) -> T {
    let sf = weights.get(2).and_then(|t| t.iter().next().copied()).unwrap_or(T::one());
    if sf == T::zero() {
        T::zero()
    } else {
        T::one() / sf
    }
}

/// Caffe's Scale: y = x ⊙ γ (+ β), γ spanning axes [axis, axis+num_axes) and broadcast over the rest.
/// γ is weights[0], or the second input when the layer has two bottoms; then γ's own rank gives the
/// span (Caffe ignores num_axes there) and the bias, if any, is weights[0].
#[derive(Debug, Clone, PartialEq)]
pub struct Scale {
    pub axis: i64,
    /// -1: to the last axis.
    pub num_axes: i64,
    pub bias: bool,
}

impl Scale {
    /// The axes of the first input that γ covers; `gamma` is the second input's shape, when there is one.
    fn span(&self, input: &[usize], gamma: Option<&[usize]>) -> Result<(usize, usize)> {
        if gamma.is_some_and(|g| g.is_empty()) {
            return Ok((0, 0));
        }
        let a = axis_index(self.axis, input.len())?;
        let e = match gamma {
            Some(g) => a + g.len(),
            None if self.num_axes < 0 => input.len(),
            None => a + self.num_axes as usize,
        };
        if e > input.len() {
            bail!(model, "scale spans axes {a}..{e} of a {}-D input", input.len());
        }
        Ok((a, e))
    }

    /// Learned blobs for a single bottom: γ, then β if there is a bias.
    pub fn weight_shapes(&self, input: &[usize]) -> Vec<Vec<usize>> {
        let Ok((a, e)) = self.span(input, None) else { return vec![] };
        let s = input[a..e].to_vec();
        if self.bias {
            vec![s.clone(), s]
        } else {
            vec![s]
        }
    }

    pub fn output_shape<T: Real>(&self, inputs: &[&[usize]], weights: &[Tensor<T>]) -> Result<Vec<usize>> {
        let (a, e) = self.span(inputs[0], inputs.get(1).copied())?;
        let want: usize = inputs[0][a..e].iter().product();
        let have = match inputs.get(1) {
            Some(s) if *s != &inputs[0][a..e] => {
                bail!(
                    input,
                    "the scale input {} does not match axes {a}..{e} of {}",
                    fmt_shape(s),
                    fmt_shape(inputs[0])
                )
            }
            Some(s) => s.iter().product(),
            None => weights.first().map_or(want, |w| w.len()),
        };
        if have != want {
            bail!(input, "input {} needs {want} scale values, got {have}", fmt_shape(inputs[0]));
        }
        Ok(inputs[0].to_vec())
    }

    pub fn forward<T: Real>(&self, xs: &[&Tensor<T>], weights: &[Tensor<T>]) -> Result<Tensor<T>> {
        self.output_shape(&xs.iter().map(|t| t.shape()).collect::<Vec<_>>(), weights)?;
        let (_, e) = self.span(xs[0].shape(), xs.get(1).map(|t| t.shape()))?;
        let gamma = match xs.get(1) {
            Some(t) => contiguous(t),
            None => contiguous(&weights[0]),
        };
        let bias_at = if xs.len() > 1 { 0 } else { 1 };
        let beta = if self.bias { weights.get(bias_at).map(contiguous) } else { None };
        let inner: usize = xs[0].shape()[e..].iter().product();
        Ok(per_index(xs[0], inner, gamma.len(), |i, v| v * gamma[i] + beta.as_ref().map_or(T::zero(), |b| b[i])))
    }
}

/// Applies f(channel, value) along axis 1 of an N×C×… tensor.
fn per_channel<T: Real>(x: &Tensor<T>, axis: usize, f: impl Fn(usize, T) -> T) -> Tensor<T> {
    let s = x.shape();
    let inner: usize = s[axis + 1..].iter().product();
    per_index(x, inner, s[axis], f)
}

/// Applies f(k, value) where k = (flat index / inner) mod count.
fn per_index<T: Real>(x: &Tensor<T>, inner: usize, count: usize, f: impl Fn(usize, T) -> T) -> Tensor<T> {
    let mut y = x.as_standard_layout().into_owned();
    for (i, v) in y.as_slice_mut().unwrap().iter_mut().enumerate() {
        *v = f((i / inner.max(1)) % count.max(1), *v);
    }
    y
}

impl BatchNorm {
    /// The linear part: the signal times 1/sqrt(var + eps) per channel.
    pub fn backward<T: Real>(&self, g: &Tensor<T>, weights: &[Tensor<T>]) -> Tensor<T> {
        let var = contiguous(&weights[1]);
        let (f, eps) = (scale_factor(weights), T::of(self.eps));
        let inv: Vec<T> = var.iter().map(|&v| T::one() / (v * f + eps).sqrt()).collect();
        per_channel(g, 1, |c, v| v * inv[c])
    }
}

impl Scale {
    /// Gradients for the input and, with two bottoms, for the scale input.
    pub fn backward<T: Real>(&self, xs: &[&Tensor<T>], g: &Tensor<T>, weights: &[Tensor<T>]) -> Result<Vec<Option<Tensor<T>>>> {
        let (_, e) = self.span(xs[0].shape(), xs.get(1).map(|t| t.shape()))?;
        let gamma = match xs.get(1) {
            Some(t) => contiguous(t),
            None => contiguous(&weights[0]),
        };
        let inner: usize = xs[0].shape()[e..].iter().product();
        let dx = per_index(g, inner, gamma.len(), |i, v| v * gamma[i]);
        let Some(second) = xs.get(1) else { return Ok(vec![Some(dx)]) };
        let (gs, x0) = (contiguous(g), contiguous(xs[0]));
        let mut dgamma = vec![T::zero(); gamma.len()];
        for (i, (gv, xv)) in gs.iter().zip(x0.iter()).enumerate() {
            dgamma[(i / inner.max(1)) % gamma.len().max(1)] += *gv * *xv;
        }
        Ok(vec![Some(dx), Some(super::tensor(second.shape(), dgamma))])
    }
}

impl Scale {
    /// Gradients for the learned blobs: γ (Σ g·x per scale value) unless γ is the second input, and β
    /// (Σ g per value).
    pub fn weight_backward<T: Real>(&self, xs: &[&Tensor<T>], g: &Tensor<T>, weights: &[Tensor<T>]) -> Result<Vec<Option<Tensor<T>>>> {
        let (_, e) = self.span(xs[0].shape(), xs.get(1).map(|t| t.shape()))?;
        let inner: usize = xs[0].shape()[e..].iter().product();
        let count = match xs.get(1) {
            Some(t) => t.len(),
            None => weights[0].len(),
        };
        let (gs, x0) = (contiguous(g), contiguous(xs[0]));
        let (mut dgamma, mut dbeta) = (vec![T::zero(); count], vec![T::zero(); count]);
        for (i, (gv, xv)) in gs.iter().zip(x0.iter()).enumerate() {
            let c = (i / inner.max(1)) % count.max(1);
            dgamma[c] += *gv * *xv;
            dbeta[c] += *gv;
        }
        let mut grads = Vec::new();
        if xs.len() == 1 {
            grads.push(Some(super::tensor(weights[0].shape(), dgamma)));
        }
        if let Some(b) = weights.get(grads.len()) {
            grads.push(Some(super::tensor(b.shape(), dbeta)));
        }
        Ok(grads)
    }
}
