//! Softmax over one axis.

use super::{axis_index, contiguous, tensor};
use crate::{Real, Result, Tensor};

#[derive(Debug, Clone, PartialEq)]
pub struct Softmax {
    pub axis: i64,
}

impl Softmax {
    pub fn forward<T: Real>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let s = x.shape();
        let axis = axis_index(self.axis, s.len())?;
        let outer: usize = s[..axis].iter().product();
        let len = s[axis];
        let inner: usize = s[axis + 1..].iter().product();
        let mut y = contiguous(x).into_owned();
        for o in 0..outer {
            for i in 0..inner {
                let at = |j: usize| (o * len + j) * inner + i;
                let max = (0..len).map(|j| y[at(j)]).fold(T::neg_infinity(), T::max);
                let mut sum = T::zero();
                for j in 0..len {
                    let e = (y[at(j)] - max).exp();
                    y[at(j)] = e;
                    sum += e;
                }
                for j in 0..len {
                    y[at(j)] /= sum;
                }
            }
        }
        Ok(tensor(s, y))
    }
}

impl Softmax {
    /// dx = y ⊙ (g − Σ g·y) along the axis.
    pub fn backward<T: Real>(&self, y: &Tensor<T>, g: &Tensor<T>) -> Result<Tensor<T>> {
        let s = y.shape();
        let axis = axis_index(self.axis, s.len())?;
        let outer: usize = s[..axis].iter().product();
        let len = s[axis];
        let inner: usize = s[axis + 1..].iter().product();
        let (ys, gs) = (contiguous(y), contiguous(g));
        let mut dx = vec![T::zero(); ys.len()];
        for o in 0..outer {
            for i in 0..inner {
                let at = |j: usize| (o * len + j) * inner + i;
                let dot: T = (0..len).map(|j| gs[at(j)] * ys[at(j)]).sum();
                for j in 0..len {
                    dx[at(j)] = ys[at(j)] * (gs[at(j)] - dot);
                }
            }
        }
        Ok(tensor(s, dx))
    }
}
