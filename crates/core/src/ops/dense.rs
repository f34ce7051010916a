//! InnerProduct (fully connected): y = x · Wᵀ + b over the axes from `axis` on.

use super::{contiguous, fmt_shape, tensor};
use crate::{bail, Result, Tensor};
use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

#[derive(Debug, Clone, PartialEq)]
pub struct InnerProduct {
    pub num_output: usize,
    pub axis: i64,
    /// Weights stored K×N instead of N×K.
    pub transpose: bool,
    pub bias: bool,
}

impl InnerProduct {
    /// (rows M, features K) of the input seen as a matrix.
    fn split(&self, input: &[usize]) -> Result<(usize, usize, usize)> {
        let axis = super::axis_index(self.axis, input.len())?;
        let m: usize = input[..axis].iter().product();
        let k: usize = input[axis..].iter().product();
        Ok((axis, m, k))
    }

    pub fn output_shape(&self, input: &[usize], weights: &[Tensor]) -> Result<Vec<usize>> {
        let (axis, _, k) = self.split(input)?;
        if let Some(w) = weights.first() {
            let expected = self.num_output * k;
            if w.len() != expected {
                let wk = w.len() / self.num_output.max(1);
                bail!(
                    input,
                    "input {} gives {k} features per sample, but the weights take {wk}: this layer fixes the input size",
                    fmt_shape(input)
                );
            }
        }
        let mut s = input[..axis].to_vec();
        s.push(self.num_output);
        Ok(s)
    }

    pub fn weight_shapes(&self, input: &[usize]) -> Result<Vec<Vec<usize>>> {
        let (_, _, k) = self.split(input)?;
        let mut s = vec![if self.transpose { vec![k, self.num_output] } else { vec![self.num_output, k] }];
        if self.bias {
            s.push(vec![self.num_output]);
        }
        Ok(s)
    }

    pub fn forward(&self, x: &Tensor, weights: &[Tensor]) -> Result<Tensor> {
        let shape = self.output_shape(x.shape(), weights)?;
        let (_, m, k) = self.split(x.shape())?;
        let n = self.num_output;
        let xs = contiguous(x);
        let ws = contiguous(&weights[0]);
        let a = ArrayView2::from_shape((m, k), &xs[..]).unwrap();
        let w = if self.transpose {
            ArrayView2::from_shape((k, n), &ws[..]).unwrap()
        } else {
            ArrayView2::from_shape((n, k), &ws[..]).unwrap().reversed_axes()
        };
        let mut out = vec![0f32; m * n];
        if m <= 4 && !self.transpose {
            // Few rows: dot products against the weight rows beat packing the whole weight matrix.
            for (row, x) in out.chunks_mut(n).zip(xs.chunks(k)) {
                for (o, wr) in row.iter_mut().zip(ws.chunks(k)) {
                    *o = dot(x, wr);
                }
            }
        } else {
            let mut c = ArrayViewMut2::from_shape((m, n), &mut out[..]).unwrap();
            general_mat_mul(1.0, &a, &w, 0.0, &mut c);
        }
        if self.bias {
            let b = contiguous(&weights[1]);
            for row in out.chunks_mut(n) {
                row.iter_mut().zip(b.iter()).for_each(|(v, bv)| *v += bv);
            }
        }
        Ok(tensor(&shape, out))
    }
}

/// A dot product with eight independent sums, so the compiler can vectorise it.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

impl InnerProduct {
    /// The gradient with respect to the input: the signal times the weights (Wᵀ applied).
    pub fn backward(&self, x_shape: &[usize], g: &Tensor, weights: &[Tensor]) -> Result<Tensor> {
        let (_, m, k) = self.split(x_shape)?;
        let n = self.num_output;
        let gs = contiguous(g);
        let ws = contiguous(&weights[0]);
        let gm = ArrayView2::from_shape((m, n), &gs[..]).unwrap();
        let w = if self.transpose {
            ArrayView2::from_shape((k, n), &ws[..]).unwrap().reversed_axes()
        } else {
            ArrayView2::from_shape((n, k), &ws[..]).unwrap()
        };
        let mut dx = vec![0f32; m * k];
        let mut c = ArrayViewMut2::from_shape((m, k), &mut dx[..]).unwrap();
        general_mat_mul(1.0, &gm, &w, 0.0, &mut c);
        Ok(tensor(x_shape, dx))
    }
}

/// ONNX MatMul of an input (…×M×K, leading axes folded into rows) by a K×N matrix: the constant
/// weights[0], or a second 2-D input.
#[derive(Debug, Clone, PartialEq)]
pub struct MatMul;

impl MatMul {
    fn right<'a>(inputs: &[&'a Tensor], weights: &'a [Tensor]) -> &'a Tensor {
        inputs.get(1).copied().unwrap_or(&weights[0])
    }

    pub fn output_shape(&self, inputs: &[&[usize]], weights: &[Tensor]) -> Result<Vec<usize>> {
        let a = inputs[0];
        let b: &[usize] = match (inputs.get(1), weights.first()) {
            (Some(b), _) => b,
            (None, Some(w)) => w.shape(),
            _ => bail!(model, "MatMul needs two operands"),
        };
        match (a, b) {
            ([.., k], [kb, n]) if k == kb && !a.is_empty() => {
                let mut s = a.to_vec();
                *s.last_mut().unwrap() = *n;
                Ok(s)
            }
            _ => bail!(
                input,
                "cannot multiply {} by {} (only a K×N right operand is supported)",
                fmt_shape(a),
                fmt_shape(b)
            ),
        }
    }

    pub fn forward(&self, inputs: &[&Tensor], weights: &[Tensor]) -> Result<Tensor> {
        let shape = self.output_shape(&[inputs[0].shape(), Self::right(inputs, weights).shape()], weights)?;
        let (xs, bs) = (contiguous(inputs[0]), contiguous(Self::right(inputs, weights)));
        let k = *inputs[0].shape().last().unwrap();
        let n = *shape.last().unwrap();
        let m = xs.len() / k.max(1);
        let mut out = vec![0f32; m * n];
        let mut c = ArrayViewMut2::from_shape((m, n), &mut out[..]).unwrap();
        general_mat_mul(
            1.0,
            &ArrayView2::from_shape((m, k), &xs[..]).unwrap(),
            &ArrayView2::from_shape((k, n), &bs[..]).unwrap(),
            0.0,
            &mut c,
        );
        Ok(tensor(&shape, out))
    }

    /// dA = g·Bᵀ; with a second input, dB = Aᵀ·g.
    pub fn backward(&self, inputs: &[&Tensor], weights: &[Tensor], g: &Tensor) -> Vec<Option<Tensor>> {
        let b = Self::right(inputs, weights);
        let (k, n) = (b.shape()[0], b.shape()[1]);
        let (gs, bs, xs) = (contiguous(g), contiguous(b), contiguous(inputs[0]));
        let m = gs.len() / n.max(1);
        let gm = ArrayView2::from_shape((m, n), &gs[..]).unwrap();
        let mut da = vec![0f32; m * k];
        let mut c = ArrayViewMut2::from_shape((m, k), &mut da[..]).unwrap();
        general_mat_mul(1.0, &gm, &ArrayView2::from_shape((k, n), &bs[..]).unwrap().t(), 0.0, &mut c);
        let mut grads = vec![Some(tensor(inputs[0].shape(), da))];
        if inputs.len() > 1 {
            let mut db = vec![0f32; k * n];
            let mut c = ArrayViewMut2::from_shape((k, n), &mut db[..]).unwrap();
            general_mat_mul(1.0, &ArrayView2::from_shape((m, k), &xs[..]).unwrap().t(), &gm, 0.0, &mut c);
            grads.push(Some(tensor(b.shape(), db)));
        }
        grads
    }
}
