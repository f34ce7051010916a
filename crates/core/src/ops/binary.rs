//! Element-wise Add, Sub, Mul and Div with numpy broadcasting (ONNX's arithmetic ops).

use super::fmt_shape;
use crate::{Real, bail, Result, Tensor};
use ndarray::{Axis, IxDyn, Zip};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryKind {
    Add,
    Sub,
    Mul,
    Div,
}

/// Two operands: two inputs, or one input and a constant (weights[0]) on the given side.
#[derive(Debug, Clone, PartialEq)]
pub struct Binary {
    pub kind: BinaryKind,
    /// With one input: the constant is the left operand.
    pub constant_left: bool,
}

/// numpy's broadcast of two shapes.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| if i + s.len() >= n { s[i + s.len() - n] } else { 1 };
    (0..n)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y || y == 1 => Ok(x),
            (1, y) => Ok(y),
            _ => bail!(input, "shapes {} and {} do not broadcast", fmt_shape(a), fmt_shape(b)),
        })
        .collect()
}

/// Sums `t` down to `shape`, undoing a broadcast.
pub fn sum_to<T: Real>(t: &Tensor<T>, shape: &[usize]) -> Tensor<T> {
    let mut r = t.clone();
    while r.ndim() > shape.len() {
        r = r.sum_axis(Axis(0));
    }
    for (i, &d) in shape.iter().enumerate() {
        if d == 1 && r.shape()[i] != 1 {
            r = r.sum_axis(Axis(i)).insert_axis(Axis(i));
        }
    }
    r.into_shape_with_order(IxDyn(shape)).expect("summed to the operand's shape")
}

impl Binary {
    fn operands<'a, T: Real>(&self, inputs: &[&'a Tensor<T>], weights: &'a [Tensor<T>]) -> (&'a Tensor<T>, &'a Tensor<T>) {
        match (inputs, self.constant_left) {
            ([a, b, ..], _) => (a, b),
            ([x], true) => (&weights[0], x),
            ([x], false) => (x, &weights[0]),
            _ => unreachable!("a binary op has an input"),
        }
    }

    pub fn output_shape<T: Real>(&self, inputs: &[&[usize]], weights: &[Tensor<T>]) -> Result<Vec<usize>> {
        match (inputs, weights.first()) {
            ([a, b, ..], _) => broadcast_shape(a, b),
            ([x], Some(c)) if self.constant_left => broadcast_shape(c.shape(), x),
            ([x], Some(c)) => broadcast_shape(x, c.shape()),
            _ => bail!(model, "needs two operands"),
        }
    }

    pub fn forward<T: Real>(&self, inputs: &[&Tensor<T>], weights: &[Tensor<T>]) -> Result<Tensor<T>> {
        let (a, b) = self.operands(inputs, weights);
        let shape = broadcast_shape(a.shape(), b.shape())?;
        let mut out = Tensor::zeros(IxDyn(&shape));
        let (a, b) = (a.broadcast(IxDyn(&shape)).unwrap(), b.broadcast(IxDyn(&shape)).unwrap());
        let z = Zip::from(&mut out).and(&a).and(&b);
        match self.kind {
            BinaryKind::Add => z.for_each(|o, &x, &y| *o = x + y),
            BinaryKind::Sub => z.for_each(|o, &x, &y| *o = x - y),
            BinaryKind::Mul => z.for_each(|o, &x, &y| *o = x * y),
            BinaryKind::Div => z.for_each(|o, &x, &y| *o = x / y),
        }
        Ok(out)
    }

    /// Gradients for the inputs (for the value input only when the other operand is a constant).
    pub fn backward<T: Real>(&self, inputs: &[&Tensor<T>], weights: &[Tensor<T>], g: &Tensor<T>) -> Vec<Option<Tensor<T>>> {
        for_inputs(inputs.len(), self.constant_left, self.gradients(inputs, weights, g))
    }

    /// The gradient for the constant operand, when there is one.
    pub fn weight_backward<T: Real>(&self, inputs: &[&Tensor<T>], weights: &[Tensor<T>], g: &Tensor<T>) -> Vec<Option<Tensor<T>>> {
        if inputs.len() > 1 || weights.is_empty() {
            return vec![None; weights.len()];
        }
        for_constant(self.constant_left, self.gradients(inputs, weights, g))
    }

    /// (dA, dB), each summed back to its operand's shape.
    fn gradients<T: Real>(&self, inputs: &[&Tensor<T>], weights: &[Tensor<T>], g: &Tensor<T>) -> (Tensor<T>, Tensor<T>) {
        let (a, b) = self.operands(inputs, weights);
        let shape = g.shape().to_vec();
        let bcast = |t: &Tensor<T>| t.broadcast(IxDyn(&shape)).unwrap().to_owned();
        let (da, db) = match self.kind {
            BinaryKind::Add => (g.clone(), g.clone()),
            BinaryKind::Sub => (g.clone(), g.mapv(|v| -v)),
            BinaryKind::Mul => (g * &bcast(b), g * &bcast(a)),
            BinaryKind::Div => {
                let (ab, bb) = (bcast(a), bcast(b));
                (g / &bb, -(g * &ab) / (&bb * &bb))
            }
        };
        (sum_to(&da, a.shape()), sum_to(&db, b.shape()))
    }
}

/// Of an operation on two operands, A and B (one of them maybe the constant weights[0]): the gradients
/// (dA, dB) that go to its inputs.
pub(crate) fn for_inputs<T>(inputs: usize, constant_left: bool, (da, db): (Tensor<T>, Tensor<T>)) -> Vec<Option<Tensor<T>>> {
    match (inputs, constant_left) {
        (2, _) => vec![Some(da), Some(db)],
        (_, true) => vec![Some(db)],
        _ => vec![Some(da)],
    }
}

/// The gradient of the constant operand (the one input is the other).
pub(crate) fn for_constant<T>(constant_left: bool, (da, db): (Tensor<T>, Tensor<T>)) -> Vec<Option<Tensor<T>>> {
    vec![Some(if constant_left { da } else { db })]
}
