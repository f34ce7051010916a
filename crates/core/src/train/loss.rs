//! The training net's last layers, as Caffe computes them: SoftmaxWithLoss (softmax over the class axis,
//! then the mean negative log-likelihood of the labels) with its gradient, and Accuracy (top-k).

use crate::ops::{fmt_shape, Softmax};
use crate::{bail, Real, Result, Tensor};

/// Caffe's SoftmaxWithLoss with `normalization: VALID` (its default): the loss is averaged over the
/// labelled positions (N, or N·H·W for maps), leaving out those equal to `ignore_label`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SoftmaxWithLoss {
    pub ignore_label: Option<i64>,
}

/// The labels' positions: (outer, classes, inner) of scores N×C×…, checked against one label per
/// outer×inner position.
fn layout<T>(scores: &Tensor<T>, labels: &[f32]) -> Result<(usize, usize, usize)> {
    let s = scores.shape();
    if s.len() < 2 {
        bail!(input, "scores must be N×C or N×C×…, got {}", fmt_shape(s));
    }
    let (outer, classes, inner) = (s[0], s[1], s[2..].iter().product::<usize>());
    if labels.len() != outer * inner {
        bail!(
            input,
            "{} labels for scores of shape {}: one per position ({})",
            labels.len(),
            fmt_shape(s),
            outer * inner
        );
    }
    Ok((outer, classes, inner))
}

/// A label as a class index, or None when it is `ignore`.
fn class_of(label: f32, classes: usize, ignore: Option<i64>) -> Result<Option<usize>> {
    if ignore == Some(label as i64) {
        return Ok(None);
    }
    if label < 0.0 || label.fract() != 0.0 || label as usize >= classes {
        bail!(input, "label {label} is not a class: the scores have {classes}");
    }
    Ok(Some(label as usize))
}

impl SoftmaxWithLoss {
    /// The loss and its gradient with respect to the scores (for a loss weight of 1).
    pub fn forward_backward<T: Real>(&self, scores: &Tensor<T>, labels: &[f32]) -> Result<(T, Tensor<T>)> {
        let (outer, classes, inner) = layout(scores, labels)?;
        let prob = Softmax { axis: 1 }.forward(scores)?;
        let p = prob.as_slice().expect("softmax output is contiguous");
        let mut grad = p.to_vec();
        let (mut loss, mut count) = (0f64, 0usize);
        for o in 0..outer {
            for i in 0..inner {
                let at = |c: usize| (o * classes + c) * inner + i;
                match class_of(labels[o * inner + i], classes, self.ignore_label)? {
                    Some(c) => {
                        loss -= p[at(c)].max(T::min_positive_value()).to_f64().ln();
                        grad[at(c)] -= T::one();
                        count += 1;
                    }
                    None => (0..classes).for_each(|c| grad[at(c)] = T::zero()),
                }
            }
        }
        // Caffe divides by max(1, count), so a batch of ignored labels gives 0 and no gradient.
        let norm = count.max(1);
        grad.iter_mut().for_each(|g| *g /= T::of_f64(norm as f64));
        Ok((T::of_f64(loss / norm as f64), crate::ops::tensor(scores.shape(), grad)))
    }
}

/// Caffe's Accuracy: the fraction of labelled positions whose label is among the `top_k` scores (a label
/// counts as found when fewer than k classes score strictly higher).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Accuracy {
    pub top_k: usize,
    pub ignore_label: Option<i64>,
}

impl Default for Accuracy {
    fn default() -> Self {
        Accuracy { top_k: 1, ignore_label: None }
    }
}

impl Accuracy {
    pub fn forward(&self, scores: &Tensor, labels: &[f32]) -> Result<f32> {
        let (outer, classes, inner) = layout(scores, labels)?;
        let s = crate::ops::contiguous(scores);
        let (mut hits, mut count) = (0usize, 0usize);
        for o in 0..outer {
            for i in 0..inner {
                let Some(c) = class_of(labels[o * inner + i], classes, self.ignore_label)? else { continue };
                let at = |k: usize| s[(o * classes + k) * inner + i];
                let better = (0..classes).filter(|&k| at(k) > at(c)).count();
                hits += usize::from(better < self.top_k);
                count += 1;
            }
        }
        Ok(if count == 0 { 0.0 } else { hits as f32 / count as f32 })
    }
}
