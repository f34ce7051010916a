//! Eltwise: sum (with coefficients), product or maximum of same-shaped inputs.

use super::fmt_shape;
use crate::{bail, Result, Tensor};

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

    pub fn forward(&self, xs: &[&Tensor]) -> Result<Tensor> {
        let shapes: Vec<&[usize]> = xs.iter().map(|t| t.shape()).collect();
        self.output_shape(&shapes)?;
        let mut y = xs[0].as_standard_layout().into_owned();
        match self {
            Eltwise::Sum { coeffs } => {
                let c = |i: usize| coeffs.get(i).copied().unwrap_or(1.0);
                if c(0) != 1.0 {
                    y.mapv_inplace(|v| v * c(0));
                }
                for (i, x) in xs.iter().enumerate().skip(1) {
                    let ci = c(i);
                    y.zip_mut_with(x, |a, b| *a += ci * b);
                }
            }
            Eltwise::Prod => xs[1..].iter().for_each(|x| y.zip_mut_with(x, |a, b| *a *= b)),
            Eltwise::Max => xs[1..].iter().for_each(|x| y.zip_mut_with(x, |a, b| *a = a.max(*b))),
        }
        Ok(y)
    }
}
