//! Invariance curves (Zeiler & Fergus 2014, Fig. 5): how far a layer's output moves, and how the class
//! probability changes, as the image is translated, scaled or rotated.
//!
//! Transformed images are independent, so callers can shard a sweep: [`Reference::new`] runs the original
//! once, [`sweep_values`] computes the curves at any subset of values, [`Curves::append`] joins them.

use crate::engine;
use crate::graph::{Graph, ValueId};
use crate::ops::{fmt_shape, Op};
use crate::vis::occlusion::{batch_size, probabilities};
use crate::{bail, preprocess, Error, Result, Tensor};
use ndarray::{Array4, ArrayView3, Axis, Ix4};
use serde::Serialize;

/// A geometric change of the image, in pixels of the model's input.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Transform {
    /// Vertical shift by `dy` pixels, positive downwards (the paper's Fig. 5, column 1).
    Translate { dy: f32 },
    /// Scaling about the centre; above 1 enlarges.
    Scale(f32),
    /// Rotation about the centre, counter-clockwise as displayed (y pointing down).
    Rotate { degrees: f32 },
}

impl Transform {
    /// True when [`apply`] returns the image unchanged: a shift of 0, a scale of 1, a multiple of 360°.
    pub fn is_identity(&self) -> bool {
        match *self {
            Transform::Translate { dy } => dy == 0.0,
            Transform::Scale(s) => s == 1.0,
            Transform::Rotate { degrees } => degrees.rem_euclid(360.0) == 0.0,
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Transform::Translate { .. } => Kind::Translate,
            Transform::Scale(_) => Kind::Scale,
            Transform::Rotate { .. } => Kind::Rotate,
        }
    }

    /// The output→source map: output pixel (y, x) samples the input at the returned (y, x).
    fn source(&self, h: usize, w: usize) -> Result<impl Fn(f64, f64) -> (f64, f64)> {
        let (cy, cx) = ((h as f64 - 1.0) / 2.0, (w as f64 - 1.0) / 2.0);
        // (a, b, c, d, ty): ys = cy + a·(y−cy) + b·(x−cx) + ty, xs = cx + c·(y−cy) + d·(x−cx).
        let m = match *self {
            Transform::Translate { dy } if dy.is_finite() => (1.0, 0.0, 0.0, 1.0, -(dy as f64)),
            Transform::Scale(s) if s.is_finite() && s > 0.0 => {
                let k = 1.0 / s as f64;
                (k, 0.0, 0.0, k, 0.0)
            }
            Transform::Rotate { degrees } if degrees.is_finite() => {
                let (sin, cos) = sin_cos_degrees(degrees as f64);
                (cos, sin, -sin, cos, 0.0)
            }
            t => bail!(input, "invalid transform {t:?}: shifts and angles must be finite, scales finite and above 0"),
        };
        let (a, b, c, d, ty) = m;
        Ok(move |y: f64, x: f64| (cy + a * (y - cy) + b * (x - cx) + ty, cx + c * (y - cy) + d * (x - cx)))
    }
}

/// sin and cos of an angle in degrees, exact (0, ±1) at multiples of 90°.
fn sin_cos_degrees(degrees: f64) -> (f64, f64) {
    let r = degrees.rem_euclid(360.0);
    match r {
        0.0 => (0.0, 1.0),
        90.0 => (1.0, 0.0),
        180.0 => (0.0, -1.0),
        270.0 => (-1.0, 0.0),
        _ => r.to_radians().sin_cos(),
    }
}

/// The three sweeps of Fig. 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    Translate,
    Scale,
    Rotate,
}

impl Kind {
    /// The transform of this kind with parameter `value` (pixels, factor or degrees).
    pub fn transform(self, value: f32) -> Transform {
        match self {
            Kind::Translate => Transform::Translate { dy: value },
            Kind::Scale => Transform::Scale(value),
            Kind::Rotate => Transform::Rotate { degrees: value },
        }
    }

    /// The value that leaves the image unchanged: 0, 1 or 0°.
    pub fn identity(self) -> f32 {
        match self {
            Kind::Scale => 1.0,
            _ => 0.0,
        }
    }

    /// A default sweep for an H×W image, always holding the identity value: shifts from −H/4 to H/4 in
    /// 11 steps, scales 0.6 to 1.8 in steps of 0.1, angles 0° to 360° in steps of 30°.
    pub fn default_values(self, height: usize, _width: usize) -> Vec<f32> {
        match self {
            Kind::Translate => (-5..=5).map(|i| i as f32 * height as f32 / 20.0).collect(),
            Kind::Scale => (6..=18).map(|i| i as f32 / 10.0).collect(),
            Kind::Rotate => (0..=12).map(|i| i as f32 * 30.0).collect(),
        }
    }
}

impl std::str::FromStr for Kind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "translate" | "translation" => Ok(Kind::Translate),
            "scale" | "scaling" => Ok(Kind::Scale),
            "rotate" | "rotation" => Ok(Kind::Rotate),
            _ => Err(Error::input(format!("transform must be translate, scale or rotate, got '{s}'"))),
        }
    }
}

/// The image (1×C×H×W, in the model's input space) transformed, by inverse mapping and bilinear sampling.
///
/// Pixel centres sit at integer coordinates, the centre at (cy, cx) = ((H−1)/2, (W−1)/2). Output pixel
/// (y, x) samples the input at (ys, xs):
/// - `Translate { dy }`: (y − dy, x);
/// - `Scale(s)`: (cy + (y − cy)/s, cx + (x − cx)/s);
/// - `Rotate { degrees: θ }`: (cy + cos θ·(y − cy) + sin θ·(x − cx), cx − sin θ·(y − cy) + cos θ·(x − cx)),
///   with cos and sin exact (0, ±1) at multiples of 90°, else those of θ·π/180 in double precision.
///
/// The sample is Σ (1 − |ys − i|)(1 − |xs − j|)·p[i, j] over i ∈ {⌊ys⌋, ⌊ys⌋+1}, j ∈ {⌊xs⌋, ⌊xs⌋+1}, where
/// p is 0 outside the image (the mean, in mean-subtracted input space); computed in double precision, then
/// rounded to float32. Identity transforms ([`Transform::is_identity`]) return the image bit for bit.
pub fn apply(image: &Tensor, t: &Transform) -> Result<Tensor> {
    let x = image.view().into_dimensionality::<Ix4>().ok().filter(|x| x.shape()[0] == 1).ok_or_else(|| {
        Error::input(format!("transforms need one image as 1×C×H×W, got {}", fmt_shape(image.shape())))
    })?;
    let (c, h, w) = (x.shape()[1], x.shape()[2], x.shape()[3]);
    let src = t.source(h, w)?;
    if t.is_identity() {
        return Ok(image.clone());
    }
    let planes: ArrayView3<f32> = x.index_axis(Axis(0), 0);
    let mut out = Array4::<f32>::zeros((1, c, h, w));
    let at = |i: f64, j: f64| -> Option<(usize, usize)> {
        (i >= 0.0 && j >= 0.0 && i < h as f64 && j < w as f64).then_some((i as usize, j as usize))
    };
    for y in 0..h {
        for xo in 0..w {
            let (ys, xs) = src(y as f64, xo as f64);
            let (i0, j0) = (ys.floor(), xs.floor());
            let (fy, fx) = (ys - i0, xs - j0);
            let taps = [
                (i0, j0, (1.0 - fy) * (1.0 - fx)),
                (i0, j0 + 1.0, (1.0 - fy) * fx),
                (i0 + 1.0, j0, fy * (1.0 - fx)),
                (i0 + 1.0, j0 + 1.0, fy * fx),
            ];
            for k in 0..c {
                let v = taps
                    .iter()
                    .filter_map(|&(i, j, wt)| at(i, j).map(|(i, j)| wt * planes[[k, i, j]] as f64))
                    .fold(0.0, |acc, t| acc + t);
                out[[0, k, y, xo]] = v as f32;
            }
        }
    }
    Ok(out.into_dyn())
}

/// The layers Fig. 5 follows: the first convolution's output and the last hidden layer (the value read by
/// the last convolution, inner product, Gemm or MatMul that has weights), named as [`Graph::value_id`]
/// finds them. Either may be missing; graph inputs are left out.
pub fn default_layers(graph: &Graph) -> Vec<String> {
    let first = graph.nodes.iter().find(|n| matches!(n.op, Op::Conv(_))).and_then(|n| n.outputs.first());
    let weighted = |op: &Op| matches!(op, Op::Conv(_) | Op::InnerProduct(_) | Op::MatMul(_) | Op::Gemm(_));
    let last =
        graph.nodes.iter().rev().find(|n| weighted(&n.op) && !n.weights().is_empty()).and_then(|n| n.inputs.first());
    let mut names: Vec<String> = vec![];
    for id in [first, last].into_iter().flatten() {
        let name = &graph.values[*id].name;
        if !names.contains(name) && !graph.inputs.iter().any(|(i, _)| i == id) {
            names.push(name.clone());
        }
    }
    names
}

/// What a sweep compares with: the original image's class and its flattened outputs at the chosen layers.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// The class whose probability is followed: the given one, or the original's top-1.
    pub class: usize,
    pub layers: Vec<String>,
    /// The original's output at each layer, flattened.
    pub features: Vec<Vec<f32>>,
    ids: Vec<ValueId>,
}

impl Reference {
    /// One forward pass of `image` (1×C×H×W).
    pub fn new(graph: &Graph, image: &Tensor, layers: &[&str], class: Option<usize>) -> Result<Self> {
        check_image(image)?;
        let ids = layers
            .iter()
            .map(|&l| graph.value_id(l).ok_or_else(|| Error::input(format!("no layer or value named '{l}'"))))
            .collect::<Result<Vec<_>>>()?;
        let acts = engine::forward(graph, vec![image.clone()])?;
        let probs = probabilities(graph, &acts)?;
        let classes = probs.shape()[1];
        let class = match class {
            Some(c) if c >= classes => bail!(input, "class {c} does not exist: the model has {classes} classes"),
            Some(c) => c,
            None => {
                let row: Vec<f32> = probs.index_axis(Axis(0), 0).iter().copied().collect();
                preprocess::top_k(&row, 1).first().map_or(0, |t| t.0)
            }
        };
        let features = ids.iter().map(|&id| acts.values[id].iter().copied().collect()).collect();
        Ok(Reference { class, layers: layers.iter().map(|l| l.to_string()).collect(), features, ids })
    }
}

fn check_image(image: &Tensor) -> Result<()> {
    match image.shape() {
        [1, _, h, w] if *h > 0 && *w > 0 => Ok(()),
        s => bail!(input, "invariance needs one image as 1×C×H×W, got {}", fmt_shape(s)),
    }
}

/// The curves of one sweep, by value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Curves {
    pub kind: Kind,
    /// The transform parameters: pixels, factors or degrees.
    pub values: Vec<f32>,
    pub layers: Vec<String>,
    /// `[layer][value]`: Euclidean distance between the layer's flattened outputs for the original and the
    /// transformed image (accumulated in double precision).
    pub distances: Vec<Vec<f32>>,
    /// Probability of `class` for each transformed image.
    pub prob: Vec<f32>,
    pub class: usize,
}

impl Curves {
    /// Appends another shard's values (same kind, layers and class).
    pub fn append(&mut self, other: Curves) -> Result<()> {
        if (other.kind, &other.layers, other.class) != (self.kind, &self.layers, self.class) {
            bail!(input, "cannot join curves of different kinds, layers or classes");
        }
        self.values.extend(other.values);
        for (d, o) in self.distances.iter_mut().zip(other.distances) {
            d.extend(o);
        }
        self.prob.extend(other.prob);
        Ok(())
    }
}

/// The curves at `values` only, against `reference` (made from the same image), in batches of at most
/// `budget` bytes of activations. A value's numbers do not depend on the other values asked for, up to
/// the engine's rounding across batch sizes.
pub fn sweep_values(
    graph: &Graph,
    image: &Tensor,
    reference: &Reference,
    kind: Kind,
    values: &[f32],
    budget: u64,
) -> Result<Curves> {
    check_image(image)?;
    let mut curves = Curves {
        kind,
        values: values.to_vec(),
        layers: reference.layers.clone(),
        distances: vec![Vec::with_capacity(values.len()); reference.layers.len()],
        prob: Vec::with_capacity(values.len()),
        class: reference.class,
    };
    let step = batch_size(graph, image.shape(), budget)?;
    for chunk in values.chunks(step) {
        let images = chunk.iter().map(|&v| apply(image, &kind.transform(v))).collect::<Result<Vec<_>>>()?;
        let views: Vec<_> = images.iter().map(|t| t.view()).collect();
        let batch = ndarray::concatenate(Axis(0), &views).map_err(|e| Error::input(e.to_string()))?;
        let acts = engine::forward(graph, vec![batch])?;
        let probs = probabilities(graph, &acts)?;
        if reference.class >= probs.shape()[1] {
            bail!(input, "class {} does not exist: the model has {} classes", reference.class, probs.shape()[1]);
        }
        curves.prob.extend(probs.index_axis(Axis(1), reference.class).iter());
        for ((l, &id), original) in reference.ids.iter().enumerate().zip(&reference.features) {
            let a = &acts.values[id];
            if a.shape().first() != Some(&chunk.len()) || a.len() != chunk.len() * original.len() {
                bail!(
                    input,
                    "layer '{}' gives {} for a batch of {}: not one output per image",
                    reference.layers[l],
                    fmt_shape(a.shape()),
                    chunk.len()
                );
            }
            for out in a.outer_iter() {
                curves.distances[l].push(distance(out.iter().copied(), original));
            }
        }
    }
    Ok(curves)
}

/// Euclidean distance, accumulated in double precision.
fn distance(a: impl Iterator<Item = f32>, b: &[f32]) -> f32 {
    a.zip(b).map(|(x, &y)| (x as f64 - y as f64).powi(2)).sum::<f64>().sqrt() as f32
}

/// A whole sweep on one 1×C×H×W image: `class` or else the original's top-1.
pub fn sweep(
    graph: &Graph,
    image: &Tensor,
    kind: Kind,
    values: &[f32],
    layers: &[&str],
    class: Option<usize>,
    budget: u64,
) -> Result<Curves> {
    let reference = Reference::new(graph, image, layers, class)?;
    sweep_values(graph, image, &reference, kind, values, budget)
}
