//! Pad: grows (or, with negative amounts, crops) every axis, filling with a constant or with input values.

use super::{contiguous, fmt_shape, tensor};
use crate::{Real, bail, Result, Tensor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PadMode {
    /// The constant `value`.
    Constant,
    /// Mirrored without repeating the edge: [a b c] → b [a b c] b.
    Reflect,
    /// The edge value repeated.
    Edge,
    /// The other end's values: [a b c] → c [a b c] a.
    Wrap,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pad {
    pub mode: PadMode,
    /// Per axis: amounts added before and after (negative: removed).
    pub before: Vec<i64>,
    pub after: Vec<i64>,
    pub value: f32,
}

impl Pad {
    pub fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        if self.before.len() != input.len() || self.after.len() != input.len() {
            bail!(input, "{} pads do not fit a {}-D input", self.before.len() + self.after.len(), input.len());
        }
        let out: Vec<i64> = (0..input.len()).map(|a| input[a] as i64 + self.before[a] + self.after[a]).collect();
        if out.iter().any(|&d| d < 0) {
            bail!(input, "pads {:?} and {:?} crop more than input {} holds", self.before, self.after, fmt_shape(input));
        }
        if self.mode != PadMode::Constant && input.contains(&0) && out.iter().zip(input).any(|(&o, &i)| o as usize != i)
        {
            bail!(input, "cannot pad an empty axis with {:?} mode", self.mode);
        }
        Ok(out.into_iter().map(|d| d as usize).collect())
    }

    /// The input position read by output position `o` along an axis of length `len`; None: the constant.
    fn source(&self, o: usize, before: i64, len: usize) -> Option<usize> {
        let i = o as i64 - before;
        let n = len as i64;
        if (0..n).contains(&i) {
            return Some(i as usize);
        }
        match self.mode {
            PadMode::Constant => None,
            PadMode::Edge => Some(i.clamp(0, n - 1) as usize),
            PadMode::Wrap => Some(i.rem_euclid(n) as usize),
            PadMode::Reflect if n == 1 => Some(0),
            PadMode::Reflect => {
                let r = i.rem_euclid(2 * (n - 1));
                Some(if r < n { r } else { 2 * (n - 1) - r } as usize)
            }
        }
    }

    /// The input positions along `axis` (of length `len`) that outputs lo..=hi read; a constant-filled
    /// output counts as its own position before the input's start or past its end.
    pub fn source_range(&self, axis: usize, lo: isize, hi: isize, len: usize) -> (isize, isize) {
        let before = self.before[axis];
        let out_len = len as i64 + before + self.after[axis];
        let (lo, hi) = (lo.max(0), hi.min(out_len as isize - 1));
        let shifted = |o: isize| o - before as isize;
        (lo..=hi)
            .map(|o| self.source(o as usize, before, len).map_or(shifted(o), |i| i as isize))
            .fold(None, |acc: Option<(isize, isize)>, i| Some(acc.map_or((i, i), |(a, b)| (a.min(i), b.max(i)))))
            .unwrap_or((shifted(lo), shifted(hi)))
    }

    /// For every output element, the flat input index it copies (None: the constant).
    fn sources(&self, input: &[usize]) -> Result<(Vec<usize>, Vec<Option<usize>>)> {
        let out = self.output_shape(input)?;
        let mut flat: Vec<Option<usize>> = vec![Some(0)];
        for (a, (&len, &olen)) in input.iter().zip(&out).enumerate() {
            let along: Vec<Option<usize>> = (0..olen).map(|o| self.source(o, self.before[a], len)).collect();
            flat = flat
                .iter()
                .flat_map(|base| along.iter().map(move |s| Some(base.as_ref()? * len + s.as_ref()?)))
                .collect();
        }
        Ok((out, flat))
    }

    pub fn forward<T: Real>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let (out, sources) = self.sources(x.shape())?;
        let xs = contiguous(x);
        Ok(tensor(&out, sources.iter().map(|s| s.map_or(T::of(self.value), |i| xs[i])).collect()))
    }

    /// Each output's signal added back onto the input value it copied.
    pub fn backward<T: Real>(&self, x_shape: &[usize], g: &Tensor<T>) -> Result<Tensor<T>> {
        let (_, sources) = self.sources(x_shape)?;
        let mut dx = vec![T::zero(); x_shape.iter().product()];
        for (s, gv) in sources.iter().zip(contiguous(g).iter()) {
            if let Some(i) = s {
                dx[*i] += *gv;
            }
        }
        Ok(tensor(x_shape, dx))
    }
}
