//! Resize (ONNX Resize and Upsample). Each axis is resampled on its own: every output value is a weighted
//! sum of input values along that axis (nearest: one tap, linear: two, cubic: four, antialiased: a filter
//! widened by 1/scale), so the backward pass sends each signal to the same taps with the same weights.

use super::{contiguous, fmt_shape, tensor};
use crate::{Real, bail, Result, Tensor};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Interpolation {
    Nearest(Rounding),
    Linear,
    /// Keys' cubic convolution with coefficient `a`.
    Cubic {
        a: f32,
    },
}

/// How nearest interpolation rounds a fractional source coordinate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    RoundPreferFloor,
    RoundPreferCeil,
    Floor,
    Ceil,
    /// Resize before opset 11 and Upsample, as onnxruntime runs them: down when enlarging, up when shrinking.
    Legacy,
}

/// How an output coordinate maps to a source coordinate (ONNX's coordinate_transformation_mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coordinates {
    HalfPixel,
    HalfPixelSymmetric,
    PytorchHalfPixel,
    AlignCorners,
    Asymmetric,
    /// Opset 11 only: (x + 0.5) / scale.
    TfHalfPixelForNn,
    /// Samples the region of interest; sources outside the input give the extrapolation value.
    TfCropAndResize,
}

/// The output of one axis: a scale, or a length.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    Scale(f32),
    Length(usize),
}

/// How lengths (not scales) are read: as given, or one scale for all of them that keeps the aspect ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AspectPolicy {
    Stretch,
    NotLarger,
    NotSmaller,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Resize {
    pub interpolation: Interpolation,
    pub coordinates: Coordinates,
    /// One per input axis.
    pub targets: Vec<Target>,
    pub policy: AspectPolicy,
    /// Per input axis: the region of interest [start, end] as fractions of the axis (tf_crop_and_resize).
    pub roi: Vec<[f32; 2]>,
    pub antialias: bool,
    pub exclude_outside: bool,
    pub extrapolation: f32,
}

/// Per output position along an axis: the input taps and their weights, or None for the extrapolation value.
type Taps = Vec<Option<Vec<(usize, f32)>>>;

impl Resize {
    /// Output length and scale of every axis.
    fn plan(&self, input: &[usize]) -> Result<Vec<(usize, f64)>> {
        if self.targets.len() != input.len() {
            bail!(input, "{} scales or sizes do not fit a {}-D input", self.targets.len(), input.len());
        }
        let ratio = |len: usize, n: usize| n as f64 / len as f64;
        let lengths = self.targets.iter().zip(input).filter_map(|(t, &len)| match t {
            Target::Length(n) => Some(ratio(len, *n)),
            Target::Scale(_) => None,
        });
        let common = match self.policy {
            AspectPolicy::Stretch => None,
            AspectPolicy::NotLarger => lengths.reduce(f64::min),
            AspectPolicy::NotSmaller => lengths.reduce(f64::max),
        };
        let plan: Vec<(usize, f64)> = self
            .targets
            .iter()
            .zip(input)
            .map(|(t, &len)| match (t, common) {
                (Target::Scale(s), _) => ((*s as f64 * len as f64).floor() as usize, *s as f64),
                (Target::Length(_), Some(s)) => ((s * len as f64 + 0.5).floor() as usize, s),
                (Target::Length(n), None) => (*n, ratio(len, *n)),
            })
            .collect();
        if let Some(a) =
            plan.iter().zip(input).position(|(&(out, s), &len)| len == 0 || out == 0 || s.is_nan() || s <= 0.0)
        {
            bail!(input, "cannot resize axis {a} of input {} to {:?}", fmt_shape(input), self.targets[a]);
        }
        Ok(plan)
    }

    pub fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(self.plan(input)?.into_iter().map(|(out, _)| out).collect())
    }

    fn roi(&self, axis: usize) -> [f64; 2] {
        match (self.coordinates, self.roi.get(axis)) {
            (Coordinates::TfCropAndResize, Some(&[s, e])) => [s as f64, e as f64],
            _ => [0.0, 1.0],
        }
    }

    /// The source coordinate of output position `y`; None outside the region of tf_crop_and_resize.
    fn source(&self, y: usize, len: usize, out: usize, scale: f64, roi: [f64; 2]) -> Option<f64> {
        let (y, len_f) = (y as f64, len as f64);
        // The target length before rounding, as ONNX's reference implementation uses it.
        let out_f = scale * len_f;
        Some(match self.coordinates {
            Coordinates::HalfPixel => (y + 0.5) / scale - 0.5,
            Coordinates::HalfPixelSymmetric => {
                let offset = len_f / 2.0 * (1.0 - out as f64 / out_f);
                offset + (y + 0.5) / scale - 0.5
            }
            Coordinates::PytorchHalfPixel if out > 1 => (y + 0.5) / scale - 0.5,
            Coordinates::PytorchHalfPixel => 0.0,
            Coordinates::AlignCorners if out_f == 1.0 => 0.0,
            Coordinates::AlignCorners => y * (len_f - 1.0) / (out_f - 1.0),
            Coordinates::Asymmetric => y / scale,
            Coordinates::TfHalfPixelForNn => (y + 0.5) / scale,
            Coordinates::TfCropAndResize => {
                let [start, end] = roi;
                let x = if out_f == 1.0 {
                    (end - start) * (len_f - 1.0) / 2.0
                } else {
                    y * (end - start) * (len_f - 1.0) / (out_f - 1.0)
                } + start * (len_f - 1.0);
                if x < 0.0 || x > len_f - 1.0 {
                    return None;
                }
                x
            }
        })
    }

    /// Taps of every output position along an axis of length `len` resized to `out`.
    fn taps(&self, axis: usize, len: usize, out: usize, scale: f64) -> Taps {
        let roi = self.roi(axis);
        (0..out).map(|y| self.source(y, len, out, scale, roi).map(|x| self.taps_at(x, len, scale))).collect()
    }

    fn taps_at(&self, x: f64, len: usize, scale: f64) -> Vec<(usize, f32)> {
        let clamp = |i: isize| i.clamp(0, len as isize - 1) as usize;
        let whole = x.fract() == 0.0;
        let floor = x.floor() as isize;
        let (n, kernel): (isize, fn(f64, f32) -> f64) = match self.interpolation {
            Interpolation::Nearest(rounding) => {
                let up = !whole
                    && match rounding {
                        Rounding::RoundPreferFloor => x - x.floor() > 0.5,
                        Rounding::RoundPreferCeil => x - x.floor() >= 0.5,
                        Rounding::Floor => false,
                        Rounding::Ceil => true,
                        Rounding::Legacy => scale < 1.0,
                    };
                return vec![(clamp(floor + up as isize), 1.0)];
            }
            Interpolation::Linear => (2, |d, _| (1.0 - d.abs()).max(0.0)),
            Interpolation::Cubic { .. } => (4, cubic),
        };
        let a = match self.interpolation {
            Interpolation::Cubic { a } => a,
            _ => 0.0,
        };
        // Antialiasing widens the filter by 1/scale when shrinking.
        let stretch = if self.antialias { scale.min(1.0) } else { 1.0 };
        let n = 2 * ((n / 2) as f64 / stretch).ceil() as isize;
        let first = if whole { floor - n / 2 } else { floor - n / 2 + 1 };
        let mut taps: Vec<(isize, f64)> =
            (first..first + n).map(|i| (i, kernel((i as f64 - x) * stretch, a))).collect();
        if self.antialias {
            normalize(&mut taps);
        }
        if self.exclude_outside {
            taps.iter_mut().filter(|(i, _)| *i < 0 || *i >= len as isize).for_each(|t| t.1 = 0.0);
            normalize(&mut taps);
        }
        taps.into_iter().filter(|t| t.1 != 0.0).map(|(i, w)| (clamp(i), w as f32)).collect()
    }

    /// The axes that change, with their taps, in order.
    fn passes(&self, input: &[usize]) -> Result<Vec<(usize, usize, Taps)>> {
        let plan = self.plan(input)?;
        Ok(plan
            .iter()
            .enumerate()
            .filter(|&(a, &(out, scale))| out != input[a] || (scale - 1.0).abs() > 1e-9 || self.roi(a) != [0.0, 1.0])
            .map(|(a, &(out, scale))| (a, out, self.taps(a, input[a], out, scale)))
            .collect())
    }

    /// The input positions along `axis` that outputs lo..=hi read; None when they read none (all
    /// extrapolated) or the input does not fit.
    pub fn source_range(&self, input: &[usize], axis: usize, lo: isize, hi: isize) -> Option<(isize, isize)> {
        let passes = self.passes(input).ok()?;
        let Some((_, out, taps)) = passes.iter().find(|(a, _, _)| *a == axis) else { return Some((lo, hi)) };
        let (lo, hi) = (lo.max(0) as usize, hi.min(*out as isize - 1).max(-1));
        let sources = (lo as isize..=hi).flat_map(|j| taps[j as usize].iter().flatten().map(|&(i, _)| i as isize));
        sources.fold(None, |acc, i| Some(acc.map_or((i, i), |(a, b): (isize, isize)| (a.min(i), b.max(i)))))
    }

    pub fn forward<T: Real>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let mut shape = x.shape().to_vec();
        let mut values = contiguous(x).into_owned();
        for (axis, out, taps) in self.passes(x.shape())? {
            let (outer, len, inner) = split(&shape, axis);
            let mut next = vec![T::zero(); outer * out * inner];
            for o in 0..outer {
                for (j, row) in taps.iter().enumerate() {
                    let dst = &mut next[(o * out + j) * inner..(o * out + j + 1) * inner];
                    let Some(row) = row else {
                        dst.fill(T::of(self.extrapolation));
                        continue;
                    };
                    for &(i, w) in row {
                        let (w, src) = (T::of(w), &values[(o * len + i) * inner..(o * len + i + 1) * inner]);
                        dst.iter_mut().zip(src).for_each(|(d, s)| *d += w * *s);
                    }
                }
            }
            shape[axis] = out;
            values = next;
        }
        Ok(tensor(&shape, values))
    }

    /// Each signal goes back to the taps its output read, scaled by their weights.
    pub fn backward<T: Real>(&self, x_shape: &[usize], g: &Tensor<T>) -> Result<Tensor<T>> {
        let passes = self.passes(x_shape)?;
        // The shape before each pass.
        let mut shapes = vec![x_shape.to_vec()];
        for (axis, out, _) in &passes {
            let mut s = shapes.last().unwrap().clone();
            s[*axis] = *out;
            shapes.push(s);
        }
        let mut signal = contiguous(g).into_owned();
        for ((axis, out, taps), shape) in passes.iter().zip(&shapes).rev() {
            let (outer, len, inner) = split(shape, *axis);
            let mut prev = vec![T::zero(); outer * len * inner];
            for o in 0..outer {
                for (j, row) in taps.iter().enumerate() {
                    let src = &signal[(o * out + j) * inner..(o * out + j + 1) * inner];
                    for &(i, w) in row.iter().flatten() {
                        let (w, dst) = (T::of(w), &mut prev[(o * len + i) * inner..(o * len + i + 1) * inner]);
                        dst.iter_mut().zip(src).for_each(|(d, s)| *d += w * *s);
                    }
                }
            }
            signal = prev;
        }
        Ok(tensor(x_shape, signal))
    }
}

/// (outer, length, inner) of a shape around one axis.
fn split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (shape[..axis].iter().product(), shape[axis], shape[axis + 1..].iter().product())
}

/// Keys' cubic convolution kernel with coefficient `a`.
fn cubic(d: f64, a: f32) -> f64 {
    let (a, d) = (a as f64, d.abs());
    if d <= 1.0 {
        ((a + 2.0) * d - (a + 3.0)) * d * d + 1.0
    } else if d < 2.0 {
        ((a * d - 5.0 * a) * d + 8.0 * a) * d - 4.0 * a
    } else {
        0.0
    }
}

fn normalize(taps: &mut [(isize, f64)]) {
    let sum: f64 = taps.iter().map(|t| t.1).sum();
    if sum != 0.0 {
        taps.iter_mut().for_each(|t| t.1 /= sum);
    }
}
