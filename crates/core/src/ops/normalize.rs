//! BatchNorm (with stored statistics) and Scale (per-channel affine).

use super::{axis_index, contiguous, fmt_shape};
use crate::{bail, Result, Tensor};

/// Caffe's BatchNorm at inference: (x − mean/s) / sqrt(var/s + eps), with s the stored scale factor.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNorm {
    pub eps: f32,
}

impl BatchNorm {
    pub fn forward(&self, x: &Tensor, weights: &[Tensor]) -> Tensor {
        let (mean, var) = (contiguous(&weights[0]), contiguous(&weights[1]));
        let sf = weights.get(2).and_then(|t| t.iter().next().copied()).unwrap_or(1.0);
        let f = if sf == 0.0 { 0.0 } else { 1.0 / sf };
        let coeffs: Vec<(f32, f32)> =
            mean.iter().zip(var.iter()).map(|(m, v)| (m * f, 1.0 / (v * f + self.eps).sqrt())).collect();
        per_channel(x, 1, |c, v| (v - coeffs[c].0) * coeffs[c].1)
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

    pub fn output_shape(&self, inputs: &[&[usize]], weights: &[Tensor]) -> Result<Vec<usize>> {
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

    pub fn forward(&self, xs: &[&Tensor], weights: &[Tensor]) -> Result<Tensor> {
        self.output_shape(&xs.iter().map(|t| t.shape()).collect::<Vec<_>>(), weights)?;
        let (_, e) = self.span(xs[0].shape(), xs.get(1).map(|t| t.shape()))?;
        let gamma = match xs.get(1) {
            Some(t) => contiguous(t),
            None => contiguous(&weights[0]),
        };
        let bias_at = if xs.len() > 1 { 0 } else { 1 };
        let beta = if self.bias { weights.get(bias_at).map(contiguous) } else { None };
        let inner: usize = xs[0].shape()[e..].iter().product();
        Ok(per_index(xs[0], inner, gamma.len(), |i, v| v * gamma[i] + beta.as_ref().map_or(0.0, |b| b[i])))
    }
}

/// Applies f(channel, value) along axis 1 of an N×C×… tensor.
fn per_channel(x: &Tensor, axis: usize, f: impl Fn(usize, f32) -> f32) -> Tensor {
    let s = x.shape();
    let inner: usize = s[axis + 1..].iter().product();
    per_index(x, inner, s[axis], f)
}

/// Applies f(k, value) where k = (flat index / inner) mod count.
fn per_index(x: &Tensor, inner: usize, count: usize, f: impl Fn(usize, f32) -> f32) -> Tensor {
    let mut y = x.as_standard_layout().into_owned();
    for (i, v) in y.as_slice_mut().unwrap().iter_mut().enumerate() {
        *v = f((i / inner.max(1)) % count.max(1), *v);
    }
    y
}

impl BatchNorm {
    /// The linear part: the signal times 1/sqrt(var + eps) per channel.
    pub fn backward(&self, g: &Tensor, weights: &[Tensor]) -> Tensor {
        let var = contiguous(&weights[1]);
        let sf = weights.get(2).and_then(|t| t.iter().next().copied()).unwrap_or(1.0);
        let f = if sf == 0.0 { 0.0 } else { 1.0 / sf };
        let inv: Vec<f32> = var.iter().map(|v| 1.0 / (v * f + self.eps).sqrt()).collect();
        per_channel(g, 1, |c, v| v * inv[c])
    }
}

impl Scale {
    /// Gradients for the input and, with two bottoms, for the scale input.
    pub fn backward(&self, xs: &[&Tensor], g: &Tensor, weights: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        let (_, e) = self.span(xs[0].shape(), xs.get(1).map(|t| t.shape()))?;
        let gamma = match xs.get(1) {
            Some(t) => contiguous(t),
            None => contiguous(&weights[0]),
        };
        let inner: usize = xs[0].shape()[e..].iter().product();
        let dx = per_index(g, inner, gamma.len(), |i, v| v * gamma[i]);
        let Some(second) = xs.get(1) else { return Ok(vec![Some(dx)]) };
        let (gs, x0) = (contiguous(g), contiguous(xs[0]));
        let mut dgamma = vec![0f32; gamma.len()];
        for (i, (gv, xv)) in gs.iter().zip(x0.iter()).enumerate() {
            dgamma[(i / inner.max(1)) % gamma.len().max(1)] += gv * xv;
        }
        Ok(vec![Some(dx), Some(super::tensor(second.shape(), dgamma))])
    }
}
