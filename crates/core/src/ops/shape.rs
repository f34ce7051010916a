//! Layers that only move data: Flatten, Reshape, Concat, Slice.

use super::{axis_index, contiguous, fmt_shape, tensor};
use crate::{Real, bail, Result, Tensor};
use ndarray::{Axis, IxDyn};

#[derive(Debug, Clone, PartialEq)]
pub struct Flatten {
    pub axis: i64,
    pub end_axis: i64,
}

impl Flatten {
    pub fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let a = axis_index(self.axis, input.len())?;
        let e = axis_index(self.end_axis, input.len())?;
        if e < a {
            bail!(model, "end_axis {} comes before axis {}", self.end_axis, self.axis);
        }
        let mut s = input[..a].to_vec();
        s.push(input[a..=e].iter().product());
        s.extend_from_slice(&input[e + 1..]);
        Ok(s)
    }

    pub fn forward<T: Real>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        Ok(tensor(&self.output_shape(x.shape())?, contiguous(x).into_owned()))
    }
}

/// Caffe's Reshape: `dims` replace the axes [axis, axis+num_axes); 0 copies a dimension, -1 is inferred.
#[derive(Debug, Clone, PartialEq)]
pub struct Reshape {
    pub dims: Vec<i64>,
    pub axis: i64,
    /// -1: to the last axis.
    pub num_axes: i64,
}

impl Reshape {
    pub fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let rank = input.len();
        let start = if self.axis < 0 { self.axis + rank as i64 + 1 } else { self.axis };
        if start < 0 || start > rank as i64 {
            bail!(model, "reshape axis {} is out of range for a {rank}-D input", self.axis);
        }
        let start = start as usize;
        let end = if self.num_axes < 0 { rank } else { start + self.num_axes as usize };
        if end > rank {
            bail!(model, "reshape covers axes {start}..{end} of a {rank}-D input");
        }
        let mut out = input[..start].to_vec();
        let mut infer = None;
        for (i, &d) in self.dims.iter().enumerate() {
            match d {
                0 => match input.get(start + i) {
                    Some(&v) => out.push(v),
                    None => bail!(model, "reshape dim {i} is 0 (copy) but the input has no axis {}", start + i),
                },
                -1 if infer.is_none() => {
                    infer = Some(out.len());
                    out.push(1);
                }
                d if d > 0 => out.push(d as usize),
                _ => bail!(model, "invalid reshape dims {:?}", self.dims),
            }
        }
        out.extend_from_slice(&input[end..]);
        let total: usize = input.iter().product();
        let known: usize = out.iter().product();
        if let Some(i) = infer {
            if known == 0 || !total.is_multiple_of(known) {
                bail!(input, "cannot reshape {} to {:?}", fmt_shape(input), self.dims);
            }
            out[i] = total / known;
        }
        if out.iter().product::<usize>() != total {
            bail!(input, "cannot reshape {} ({total} values) to {}", fmt_shape(input), fmt_shape(&out));
        }
        Ok(out)
    }

    pub fn forward<T: Real>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        Ok(tensor(&self.output_shape(x.shape())?, contiguous(x).into_owned()))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Concat {
    pub axis: i64,
}

impl Concat {
    pub fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>> {
        let first = inputs[0];
        let a = axis_index(self.axis, first.len())?;
        let mut out = first.to_vec();
        out[a] = 0;
        for s in inputs {
            let same_rest = s.len() == first.len() && (0..s.len()).all(|i| i == a || s[i] == first[i]);
            if !same_rest {
                bail!(input, "cannot concatenate {} and {} along axis {a}", fmt_shape(first), fmt_shape(s));
            }
            out[a] += s[a];
        }
        Ok(out)
    }

    pub fn forward<T: Real>(&self, xs: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let shapes: Vec<&[usize]> = xs.iter().map(|t| t.shape()).collect();
        self.output_shape(&shapes)?;
        let a = axis_index(self.axis, shapes[0].len())?;
        let views: Vec<_> = xs.iter().map(|t| t.view()).collect();
        Ok(ndarray::concatenate(Axis(a), &views).expect("shapes checked").as_standard_layout().into_owned())
    }
}

/// Caffe's Slice: cut along `axis` at `points`, or into equal parts when there are none.
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    pub axis: i64,
    pub points: Vec<usize>,
}

impl Slice {
    fn bounds(&self, input: &[usize], n_outputs: usize) -> Result<(usize, Vec<(usize, usize)>)> {
        let a = axis_index(self.axis, input.len())?;
        let len = input[a];
        let cuts: Vec<usize> = if self.points.is_empty() {
            if n_outputs == 0 || !len.is_multiple_of(n_outputs) {
                bail!(input, "axis {a} of length {len} does not split into {n_outputs} equal parts");
            }
            (1..n_outputs).map(|i| i * len / n_outputs).collect()
        } else {
            if self.points.len() + 1 != n_outputs {
                bail!(
                    model,
                    "{} slice points need {} tops, the layer has {n_outputs}",
                    self.points.len(),
                    self.points.len() + 1
                );
            }
            self.points.clone()
        };
        let mut edges = vec![0];
        edges.extend(cuts);
        edges.push(len);
        if edges.windows(2).any(|w| w[0] >= w[1]) {
            bail!(input, "slice points {:?} do not fit an axis of length {len}", self.points);
        }
        Ok((a, edges.windows(2).map(|w| (w[0], w[1])).collect()))
    }

    pub fn output_shapes(&self, input: &[usize], n_outputs: usize) -> Result<Vec<Vec<usize>>> {
        let (a, parts) = self.bounds(input, n_outputs)?;
        Ok(parts
            .iter()
            .map(|(s, e)| {
                let mut o = input.to_vec();
                o[a] = e - s;
                o
            })
            .collect())
    }

    pub fn forward<T: Real>(&self, x: &Tensor<T>, n_outputs: usize) -> Result<Vec<Tensor<T>>> {
        let (a, parts) = self.bounds(x.shape(), n_outputs)?;
        Ok(parts
            .iter()
            .map(|&(s, e)| {
                let v = x.slice_axis(Axis(a), ndarray::Slice::from(s..e));
                v.as_standard_layout().into_owned().into_shape_with_order(IxDyn(v.shape())).unwrap()
            })
            .collect())
    }
}

impl Concat {
    /// Cuts the signal back into the inputs' pieces.
    pub fn backward<T: Real>(&self, xs: &[&Tensor<T>], g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        let a = axis_index(self.axis, g.ndim())?;
        let mut at = 0;
        Ok(xs
            .iter()
            .map(|x| {
                let len = x.shape()[a];
                let part = g.slice_axis(Axis(a), ndarray::Slice::from(at..at + len)).as_standard_layout().into_owned();
                at += len;
                Some(part)
            })
            .collect())
    }
}

impl Slice {
    /// Joins the outputs' signals back along the axis; an output without a signal contributes zeros.
    pub fn backward<T: Real>(&self, x_shape: &[usize], outs: &[&Tensor<T>], grads: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        let (a, _) = self.bounds(x_shape, outs.len())?;
        let parts: Vec<Tensor<T>> = outs
            .iter()
            .zip(grads)
            .map(|(o, g)| match g {
                Some(g) => (*g).clone(),
                None => Tensor::zeros(IxDyn(o.shape())),
            })
            .collect();
        let views: Vec<_> = parts.iter().map(|t| t.view()).collect();
        Ok(ndarray::concatenate(Axis(a), &views)
            .expect("shapes from the forward pass")
            .as_standard_layout()
            .into_owned())
    }
}
