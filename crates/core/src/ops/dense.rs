//! InnerProduct (fully connected): y = x · Wᵀ + b over the axes from `axis` on.

use super::binary::broadcast_shape;
use super::gemm::{gemm, MatRef};
use super::{contiguous, fmt_shape, tensor};
use crate::{Real, bail, Result, Tensor};

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
        if self.num_output == 0 || k == 0 {
            bail!(model, "an inner product needs outputs and input features (num_output {}, input {})", self.num_output, fmt_shape(input));
        }
        Ok((axis, m, k))
    }

    pub fn output_shape<T: Real>(&self, input: &[usize], weights: &[Tensor<T>]) -> Result<Vec<usize>> {
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

    pub fn forward<T: Real>(&self, x: &Tensor<T>, weights: &[Tensor<T>]) -> Result<Tensor<T>> {
        let shape = self.output_shape(x.shape(), weights)?;
        let (_, m, k) = self.split(x.shape())?;
        let n = self.num_output;
        let xs = contiguous(x);
        let ws = contiguous(&weights[0]);
        let mut out = vec![T::zero(); m * n];
        if self.bias {
            let b = contiguous(&weights[1]);
            out.chunks_mut(n).for_each(|row| row.copy_from_slice(&b));
        }
        if m <= 4 && !self.transpose {
            // Few rows: dot products against the weight rows beat packing the whole weight matrix.
            for (row, x) in out.chunks_mut(n).zip(xs.chunks(k)) {
                for (o, wr) in row.iter_mut().zip(ws.chunks(k)) {
                    *o += dot(x, wr);
                }
            }
        } else {
            let w = if self.transpose { MatRef::new(&ws, k, n) } else { MatRef::new(&ws, n, k).t() };
            gemm(MatRef::new(&xs, m, k), &w, &mut out, n, true);
        }
        Ok(tensor(&shape, out))
    }
}

/// A dot product with eight independent sums, so the compiler can vectorise it.
pub fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let mut acc = [T::zero(); 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: T = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| *x * *y).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().copied().sum::<T>() + tail
}

impl InnerProduct {
    /// The gradient with respect to the input: the signal times the weights (Wᵀ applied).
    pub fn backward<T: Real>(&self, x_shape: &[usize], g: &Tensor<T>, weights: &[Tensor<T>]) -> Result<Tensor<T>> {
        let (_, m, k) = self.split(x_shape)?;
        let n = self.num_output;
        let gs = contiguous(g);
        let ws = contiguous(&weights[0]);
        let w = if self.transpose { MatRef::new(&ws, k, n).t() } else { MatRef::new(&ws, n, k) };
        let mut dx = vec![T::zero(); m * k];
        gemm(MatRef::new(&gs, m, n), &w, &mut dx, k, false);
        Ok(tensor(x_shape, dx))
    }

    /// Gradients for the weights (gᵀ·x, laid out as the weights are) and the bias (g summed over rows).
    pub fn weight_backward<T: Real>(&self, x: &Tensor<T>, g: &Tensor<T>, weights: &[Tensor<T>]) -> Result<Vec<Option<Tensor<T>>>> {
        let (_, m, k) = self.split(x.shape())?;
        let n = self.num_output;
        let (xs, gs) = (contiguous(x), contiguous(g));
        let (xm, gm) = (MatRef::new(&xs, m, k), MatRef::new(&gs, m, n));
        let mut dw = vec![T::zero(); n * k];
        if self.transpose {
            gemm(xm.t(), &gm, &mut dw, n, false);
        } else {
            gemm(gm.t(), &xm, &mut dw, k, false);
        }
        let mut grads = vec![Some(tensor(weights[0].shape(), dw))];
        if self.bias {
            let mut db = vec![T::zero(); n];
            gs.chunks_exact(n).for_each(|row| db.iter_mut().zip(row).for_each(|(d, v)| *d += *v));
            grads.push(Some(tensor(weights[1].shape(), db)));
        }
        Ok(grads)
    }
}

/// ONNX MatMul (numpy's matmul): matrices in the last two axes, leading axes broadcast; a 1-D left operand
/// is a row vector, a 1-D right one a column vector. The operands are two inputs, or one input and the
/// constant weights[0] on the side `constant_left` names.
#[derive(Debug, Clone, PartialEq)]
pub struct MatMul {
    pub constant_left: bool,
}

/// How a batched product lines up: per output matrix, which matrix of A and of B it multiplies.
struct Batches {
    m: usize,
    k: usize,
    n: usize,
    out: Vec<usize>,
    a_index: Vec<usize>,
    b_index: Vec<usize>,
}

impl Batches {
    fn new(a: &[usize], b: &[usize]) -> Result<Batches> {
        let a2 = if a.len() == 1 { vec![1, a[0]] } else { a.to_vec() };
        let b2 = if b.len() == 1 { vec![b[0], 1] } else { b.to_vec() };
        let (ra, rb) = (a2.len(), b2.len());
        if ra < 2 || rb < 2 || a2[ra - 1] != b2[rb - 2] {
            bail!(input, "cannot multiply {} by {}", fmt_shape(a), fmt_shape(b));
        }
        let (m, k, n) = (a2[ra - 2], a2[ra - 1], b2[rb - 1]);
        let batch = broadcast_shape(&a2[..ra - 2], &b2[..rb - 2])?;
        let mut out = batch.clone();
        if a.len() > 1 {
            out.push(m);
        }
        if b.len() > 1 {
            out.push(n);
        }
        Ok(Batches {
            m,
            k,
            n,
            out,
            a_index: matrix_index(&batch, &a2[..ra - 2]),
            b_index: matrix_index(&batch, &b2[..rb - 2]),
        })
    }

    /// One matrix of A times one of B for the whole batch: the batch folds into A's rows.
    fn folds(&self) -> bool {
        self.b_index.iter().all(|&i| i == 0) && self.a_index.iter().enumerate().all(|(j, &i)| i == j)
    }
}

/// For each position of a broadcast batch, the index of the operand's own matrix (its batch axes aligned
/// to the right; axes of length 1 repeat).
fn matrix_index(batch: &[usize], own: &[usize]) -> Vec<usize> {
    let count: usize = batch.iter().product();
    let skip = batch.len() - own.len();
    (0..count)
        .map(|mut flat| {
            let (mut index, mut stride) = (0, 1);
            for (axis, &len) in batch.iter().enumerate().rev() {
                let i = flat % len;
                flat /= len;
                if axis >= skip {
                    let own_len = own[axis - skip];
                    if own_len != 1 {
                        index += i * stride;
                    }
                    stride *= own_len;
                }
            }
            index
        })
        .collect()
}

/// Matrix `at` of a stack of rows×cols matrices.
fn view<T: Real>(data: &[T], rows: usize, cols: usize, at: usize) -> MatRef<'_, T> {
    MatRef::new(&data[at * rows * cols..(at + 1) * rows * cols], rows, cols)
}

fn view_mut<T>(data: &mut [T], rows: usize, cols: usize, at: usize) -> &mut [T] {
    &mut data[at * rows * cols..(at + 1) * rows * cols]
}

impl MatMul {
    fn operands<'a, T: Real>(&self, inputs: &[&'a Tensor<T>], weights: &'a [Tensor<T>]) -> (&'a Tensor<T>, &'a Tensor<T>) {
        match (inputs, self.constant_left) {
            ([a, b, ..], _) => (a, b),
            ([x], true) => (&weights[0], x),
            ([x], false) => (x, &weights[0]),
            _ => unreachable!("MatMul has an input"),
        }
    }

    pub fn output_shape<T: Real>(&self, inputs: &[&[usize]], weights: &[Tensor<T>]) -> Result<Vec<usize>> {
        let (a, b): (&[usize], &[usize]) = match (inputs, weights.first()) {
            ([a, b, ..], _) => (a, b),
            ([x], Some(w)) if self.constant_left => (w.shape(), x),
            ([x], Some(w)) => (x, w.shape()),
            _ => bail!(model, "MatMul needs two operands"),
        };
        Ok(Batches::new(a, b)?.out)
    }

    pub fn forward<T: Real>(&self, inputs: &[&Tensor<T>], weights: &[Tensor<T>]) -> Result<Tensor<T>> {
        let (a, b) = self.operands(inputs, weights);
        let p = Batches::new(a.shape(), b.shape())?;
        let (xa, xb) = (contiguous(a), contiguous(b));
        let (m, k, n) = (p.m, p.k, p.n);
        let mut out = vec![T::zero(); p.a_index.len() * m * n];
        if p.folds() {
            let rows = p.a_index.len() * m;
            gemm(view(&xa, rows, k, 0), &view(&xb, k, n, 0), &mut out, n, false);
        } else {
            for (j, (&ia, &ib)) in p.a_index.iter().zip(&p.b_index).enumerate() {
                gemm(view(&xa, m, k, ia), &view(&xb, k, n, ib), view_mut(&mut out, m, n, j), n, false);
            }
        }
        Ok(tensor(&p.out, out))
    }

    /// The gradients for the inputs.
    pub fn backward<T: Real>(&self, inputs: &[&Tensor<T>], weights: &[Tensor<T>], g: &Tensor<T>) -> Vec<Option<Tensor<T>>> {
        let want_a = inputs.len() > 1 || !self.constant_left;
        let want_b = inputs.len() > 1 || self.constant_left;
        super::binary::for_inputs(inputs.len(), self.constant_left, self.gradients(inputs, weights, g, [want_a, want_b]))
    }

    /// The gradient for the constant operand, when there is one.
    pub fn weight_backward<T: Real>(&self, inputs: &[&Tensor<T>], weights: &[Tensor<T>], g: &Tensor<T>) -> Vec<Option<Tensor<T>>> {
        if inputs.len() > 1 || weights.is_empty() {
            return vec![None; weights.len()];
        }
        let grads = self.gradients(inputs, weights, g, [self.constant_left, !self.constant_left]);
        super::binary::for_constant(self.constant_left, grads)
    }

    /// dA = g·Bᵀ and dB = Aᵀ·g per matrix, summed where an operand was broadcast (zeros where not wanted).
    fn gradients<T: Real>(
        &self,
        inputs: &[&Tensor<T>],
        weights: &[Tensor<T>],
        g: &Tensor<T>,
        [want_a, want_b]: [bool; 2],
    ) -> (Tensor<T>, Tensor<T>) {
        let (a, b) = self.operands(inputs, weights);
        let p = Batches::new(a.shape(), b.shape()).expect("shapes checked by the forward pass");
        let (xa, xb, gs) = (contiguous(a), contiguous(b), contiguous(g));
        let (m, k, n) = (p.m, p.k, p.n);
        let (mut da, mut db) = (vec![T::zero(); xa.len()], vec![T::zero(); xb.len()]);
        if p.folds() {
            let rows = p.a_index.len() * m;
            let gm = view(&gs, rows, n, 0);
            if want_a {
                gemm(gm, &view(&xb, k, n, 0).t(), &mut da, k, false);
            }
            if want_b {
                gemm(view(&xa, rows, k, 0).t(), &gm, &mut db, n, false);
            }
        } else {
            for (j, (&ia, &ib)) in p.a_index.iter().zip(&p.b_index).enumerate() {
                let gm = view(&gs, m, n, j);
                if want_a {
                    gemm(gm, &view(&xb, k, n, ib).t(), view_mut(&mut da, m, k, ia), k, true);
                }
                if want_b {
                    gemm(view(&xa, m, k, ia).t(), &gm, view_mut(&mut db, k, n, ib), n, true);
                }
            }
        }
        (tensor(a.shape(), da), tensor(b.shape(), db))
    }
}

/// ONNX Gemm: y = alpha·A′·B′ + beta·C, A′ = A or Aᵀ (the 2-D input), B′ = B or Bᵀ (the constant
/// weights[0]), C (weights[1], optional) broadcast to M×N.
#[derive(Debug, Clone, PartialEq)]
pub struct Gemm {
    pub alpha: f32,
    pub beta: f32,
    pub trans_a: bool,
    pub trans_b: bool,
}

impl Gemm {
    /// (M, K, N).
    fn dims(&self, a: &[usize], b: &[usize]) -> Result<(usize, usize, usize)> {
        let (m, k) = match (a, self.trans_a) {
            (&[r, c], false) => (r, c),
            (&[r, c], true) => (c, r),
            _ => bail!(input, "Gemm needs a 2-D input, got {}", fmt_shape(a)),
        };
        let (kb, n) = match (b, self.trans_b) {
            (&[r, c], false) => (r, c),
            (&[r, c], true) => (c, r),
            _ => bail!(model, "Gemm needs 2-D weights, got {}", fmt_shape(b)),
        };
        if k != kb {
            bail!(input, "input {} does not fit weights {}", fmt_shape(a), fmt_shape(b));
        }
        Ok((m, k, n))
    }

    pub fn output_shape<T: Real>(&self, input: &[usize], weights: &[Tensor<T>]) -> Result<Vec<usize>> {
        let (m, _, n) = self.dims(input, weights[0].shape())?;
        if let Some(c) = weights.get(1) {
            broadcast_shape(&[m, n], c.shape()).ok().filter(|s| s.as_slice() == [m, n]).ok_or_else(|| {
                crate::Error::input(format!("C {} does not broadcast to {m}×{n}", fmt_shape(c.shape())))
            })?;
        }
        Ok(vec![m, n])
    }

    fn a_view<'a, T: Real>(&self, data: &'a [T], m: usize, k: usize) -> MatRef<'a, T> {
        if self.trans_a {
            MatRef::new(data, k, m).t()
        } else {
            MatRef::new(data, m, k)
        }
    }

    fn b_view<'a, T: Real>(&self, data: &'a [T], k: usize, n: usize) -> MatRef<'a, T> {
        if self.trans_b {
            MatRef::new(data, n, k).t()
        } else {
            MatRef::new(data, k, n)
        }
    }

    pub fn forward<T: Real>(&self, x: &Tensor<T>, weights: &[Tensor<T>]) -> Result<Tensor<T>> {
        let shape = self.output_shape(x.shape(), weights)?;
        let (m, k, n) = self.dims(x.shape(), weights[0].shape())?;
        let (xs, ws) = (contiguous(x), contiguous(&weights[0]));
        let mut out = vec![T::zero(); m * n];
        gemm(self.a_view(&xs, m, k), &self.b_view(&ws, k, n), &mut out, n, false);
        if self.alpha != 1.0 {
            out.iter_mut().for_each(|v| *v *= T::of(self.alpha));
        }
        if let Some(c) = weights.get(1) {
            let c = c.broadcast(ndarray::IxDyn(&shape)).unwrap();
            out.iter_mut().zip(c.iter()).for_each(|(v, c)| *v += T::of(self.beta) * *c);
        }
        Ok(tensor(&shape, out))
    }

    /// dA′ = alpha·g·B′ᵀ, transposed back when A was.
    pub fn backward<T: Real>(&self, x_shape: &[usize], g: &Tensor<T>, weights: &[Tensor<T>]) -> Result<Tensor<T>> {
        let (m, k, n) = self.dims(x_shape, weights[0].shape())?;
        let (gs, ws) = (contiguous(g), contiguous(&weights[0]));
        let mut dx = vec![T::zero(); m * k];
        let gm = MatRef::new(&gs, m, n);
        let b = self.b_view(&ws, k, n);
        if self.trans_a {
            gemm(b, &gm.t(), &mut dx, m, false);
        } else {
            gemm(gm, &b.t(), &mut dx, k, false);
        }
        if self.alpha != 1.0 {
            dx.iter_mut().for_each(|v| *v *= T::of(self.alpha));
        }
        Ok(tensor(x_shape, dx))
    }

    /// dB′ = alpha·A′ᵀ·g (transposed back when B was) and dC = beta·g summed to C's shape.
    pub fn weight_backward<T: Real>(&self, x: &Tensor<T>, g: &Tensor<T>, weights: &[Tensor<T>]) -> Result<Vec<Option<Tensor<T>>>> {
        let (m, k, n) = self.dims(x.shape(), weights[0].shape())?;
        let (xs, gs) = (contiguous(x), contiguous(g));
        let (a, gm) = (self.a_view(&xs, m, k), MatRef::new(&gs, m, n));
        let mut db = vec![T::zero(); k * n];
        if self.trans_b {
            gemm(gm.t(), &a, &mut db, k, false);
        } else {
            gemm(a.t(), &gm, &mut db, n, false);
        }
        db.iter_mut().for_each(|v| *v *= T::of(self.alpha));
        let mut grads = vec![Some(tensor(weights[0].shape(), db))];
        if let Some(c) = weights.get(1) {
            grads.push(Some(super::binary::sum_to(&g.mapv(|v| v * T::of(self.beta)), c.shape())));
        }
        Ok(grads)
    }
}
