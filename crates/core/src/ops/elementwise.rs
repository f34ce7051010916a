//! Eltwise: sum (with coefficients), product or maximum of same-shaped inputs.

use super::fmt_shape;
use crate::{Real, bail, Result, Tensor};

#[derive(Debug, Clone, PartialEq)]
pub enum Eltwise {
    Sum { coeffs: Vec<f32> },
    Prod,
    Max,
}

impl Eltwise {
    pub fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        if let Some(s) = inputs.iter().find(|s| *s != &inputs[0]) {
            bail!(input, "inputs differ in shape: {} and {}", fmt_shape(inputs[0]), fmt_shape(s));
        }
        if let Eltwise::Sum { coeffs } = self {
            if !coeffs.is_empty() && coeffs.len() != inputs.len() {
                bail!(model, "{} coefficients for {} inputs", coeffs.len(), inputs.len());
            }
        }
        Ok(inputs[0].to_vec())
    }

    pub fn forward<T: Real>(&self, xs: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let shapes: Vec<&[usize]> = xs.iter().map(|t| t.shape()).collect();
        self.output_shape(&shapes)?;
        let mut y = xs[0].as_standard_layout().into_owned();
        match self {
            Eltwise::Sum { coeffs } => {
                let c = |i: usize| T::of(coeffs.get(i).copied().unwrap_or(1.0));
                if c(0) != T::one() {
                    y.mapv_inplace(|v| v * c(0));
                }
                for (i, x) in xs.iter().enumerate().skip(1) {
                    let ci = c(i);
                    y.zip_mut_with(x, |a, b| *a += ci * *b);
                }
            }
            Eltwise::Prod => xs[1..].iter().for_each(|x| y.zip_mut_with(x, |a, b| *a *= *b)),
            Eltwise::Max => xs[1..].iter().for_each(|x| y.zip_mut_with(x, |a, b| *a = a.max(*b))),
        }
        Ok(y)
    }
}

impl Eltwise {
    /// Sum: each input gets its coefficient times the signal. Product: the signal times the other
    /// inputs. Max: the signal goes to the input that held the maximum (the first, on ties).
    pub fn backward<T: Real>(&self, xs: &[&Tensor<T>], g: &Tensor<T>) -> Vec<Option<Tensor<T>>> {
        match self {
            Eltwise::Sum { coeffs } => (0..xs.len())
                .map(|i| {
                    let c = T::of(coeffs.get(i).copied().unwrap_or(1.0));
                    Some(g.mapv(|v| v * c))
                })
                .collect(),
            Eltwise::Prod => (0..xs.len())
                .map(|i| {
                    let mut d = g.as_standard_layout().into_owned();
                    for (j, x) in xs.iter().enumerate() {
                        if j != i {
                            d.zip_mut_with(x, |a, b| *a *= *b);
                        }
                    }
                    Some(d)
                })
                .collect(),
            Eltwise::Max => {
                let mut best = xs[0].as_standard_layout().into_owned();
                let mut winner = vec![0usize; best.len()];
                for (j, x) in xs.iter().enumerate().skip(1) {
                    for (k, (b, v)) in best.iter_mut().zip(x.iter()).enumerate() {
                        if *v > *b {
                            *b = *v;
                            winner[k] = j;
                        }
                    }
                }
                (0..xs.len())
                    .map(|i| {
                        let mut d = g.as_standard_layout().into_owned();
                        d.iter_mut().zip(&winner).for_each(|(v, &w)| {
                            if w != i {
                                *v = T::zero()
                            }
                        });
                        Some(d)
                    })
                    .collect()
            }
        }
    }
}
