//! Transpose: permutes the axes.

use super::fmt_shape;
use crate::{Real, bail, Result, Tensor};

#[derive(Debug, Clone, PartialEq)]
pub struct Transpose {
    /// Output axis i is input axis perm[i]; empty: the axes reversed.
    pub perm: Vec<usize>,
}

impl Transpose {
    fn perm(&self, rank: usize) -> Result<Vec<usize>> {
        if self.perm.is_empty() {
            return Ok((0..rank).rev().collect());
        }
        let mut seen = vec![false; rank];
        for &a in &self.perm {
            if a >= rank || std::mem::replace(&mut seen[a], true) {
                bail!(input, "perm {:?} is not a permutation of {rank} axes", self.perm);
            }
        }
        if self.perm.len() != rank {
            bail!(input, "perm {:?} does not fit a {rank}-D input", self.perm);
        }
        Ok(self.perm.clone())
    }

    pub fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let perm = self.perm(input.len()).map_err(|e| e.context(format!("input {}", fmt_shape(input))))?;
        Ok(perm.iter().map(|&a| input[a]).collect())
    }

    pub fn forward<T: Real>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let perm = self.perm(x.ndim())?;
        Ok(x.view().permuted_axes(perm).as_standard_layout().into_owned())
    }

    /// The signal permuted back.
    pub fn backward<T: Real>(&self, g: &Tensor<T>) -> Result<Tensor<T>> {
        let perm = self.perm(g.ndim())?;
        let mut inverse = vec![0; perm.len()];
        for (i, &a) in perm.iter().enumerate() {
            inverse[a] = i;
        }
        Ok(g.view().permuted_axes(inverse).as_standard_layout().into_owned())
    }
}
