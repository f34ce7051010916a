//! Occlusion sensitivity (Zeiler & Fergus 2014, Fig. 7): a square slides over the image and three maps
//! record, per position, the chosen class's probability, the most probable class, and the total
//! activation of a layer's strongest feature map.
//!
//! Positions are numbered row-major over the grid of [`Occluder::grid`], so callers can shard them:
//! [`Occluder::occlude`] builds the batch for a range, [`Maps::record`] stores that batch's outputs.

use crate::analysis::activation_bytes;
use crate::engine::{self, Activations};
use crate::graph::{Graph, ValueId};
use crate::ops::{fmt_shape, Op, Softmax};
use crate::{bail, preprocess, Error, Result, Tensor};
use ndarray::{s, Axis, Ix2};
use std::ops::Range;

/// What the square holds, in the model's input space (after mean subtraction and scaling).
#[derive(Debug, Clone, PartialEq)]
pub enum Fill {
    /// The same value in every channel: 0 is the mean in mean-subtracted space.
    Value(f32),
    /// One value per channel, e.g. grey.
    PerChannel(Vec<f32>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Occluder {
    pub size: usize,
    pub stride: usize,
    pub fill: Fill,
}

impl Occluder {
    /// Rows and columns of positions on an H×W image: the square's top-left at (stride·i, stride·j),
    /// only where it lies fully inside.
    pub fn grid(&self, height: usize, width: usize) -> Result<(usize, usize)> {
        let (s, t) = (self.size, self.stride);
        if s == 0 || t == 0 {
            bail!(input, "occluder size and stride must be at least 1, got size {s}, stride {t}");
        }
        if s > height || s > width {
            bail!(input, "occluder size {s} is larger than the {height}×{width} image");
        }
        Ok(((height - s) / t + 1, (width - s) / t + 1))
    }

    /// The image (1×C×H×W) occluded at each position in `positions`: a batch N×C×H×W.
    pub fn occlude(&self, image: &Tensor, positions: Range<usize>) -> Result<Tensor> {
        let &[1, c, h, w] = image.shape() else {
            bail!(input, "occlusion needs one image as 1×C×H×W, got {}", fmt_shape(image.shape()))
        };
        let fill = match &self.fill {
            Fill::Value(v) => vec![*v; c],
            Fill::PerChannel(v) if v.len() == c => v.clone(),
            Fill::PerChannel(v) => bail!(input, "{} fill values given for an image with {c} channels", v.len()),
        };
        let (rows, cols) = self.grid(h, w)?;
        if positions.end > rows * cols {
            bail!(input, "positions {positions:?} out of range: the grid has {rows}×{cols} = {}", rows * cols);
        }
        let mut batch = image.broadcast([positions.len(), c, h, w]).expect("1×C×H×W").to_owned();
        for (mut x, p) in batch.outer_iter_mut().zip(positions) {
            let (y0, x0) = (p / cols * self.stride, p % cols * self.stride);
            for (mut plane, &f) in x.outer_iter_mut().zip(&fill) {
                plane.slice_mut(s![y0..y0 + self.size, x0..x0 + self.size]).fill(f);
            }
        }
        Ok(batch.into_dyn())
    }
}

/// Class probabilities, N×K: the last output if the model ends in a Softmax, else its softmax.
pub fn probabilities(graph: &Graph, acts: &Activations) -> Result<Tensor> {
    let last = graph.nodes.last().expect("a graph has nodes");
    let out = &acts.values[last.outputs[0]];
    let n = out.shape().first().copied().unwrap_or(1);
    let flat = out.to_shape((n, out.len() / n.max(1))).map_err(|e| Error::input(e.to_string()))?.to_owned().into_dyn();
    match last.op {
        Op::Softmax(_) => Ok(flat),
        _ => Softmax { axis: -1 }.forward(&flat),
    }
}

/// What the maps follow, chosen on the unoccluded image.
#[derive(Debug, Clone, PartialEq)]
pub struct Targets {
    /// The class whose probability is mapped.
    pub class: usize,
    /// The layer's value and its strongest channel, for the feature map.
    pub feature: Option<(ValueId, usize)>,
}

impl Targets {
    /// `class` or else the top-1 class; for `layer`, the channel holding its largest activation (first on
    /// ties). `acts` is the forward pass of the unoccluded image.
    pub fn new(graph: &Graph, acts: &Activations, class: Option<usize>, layer: Option<&str>) -> Result<Self> {
        let probs = probabilities(graph, acts)?;
        let classes = probs.shape()[1];
        let class = match class {
            Some(c) if c >= classes => bail!(input, "class {c} does not exist: the model has {classes} classes"),
            Some(c) => c,
            None => top1(probs.index_axis(Axis(0), 0).as_slice().expect("standard layout")),
        };
        let feature = match layer {
            None => None,
            Some(l) => {
                let id = graph.value_id(l).ok_or_else(|| Error::input(format!("no layer or value named '{l}'")))?;
                let a = &acts.values[id];
                if a.ndim() < 2 {
                    bail!(input, "layer '{l}' has no channels: shape {}", fmt_shape(a.shape()));
                }
                let (c, per) = (a.shape()[1], a.len() / a.shape()[0] / a.shape()[1]);
                let first = a.index_axis(Axis(0), 0);
                let flat = first.as_slice().expect("standard layout");
                let max: Vec<f32> = (0..c)
                    .map(|k| flat[k * per..(k + 1) * per].iter().copied().fold(f32::NEG_INFINITY, f32::max))
                    .collect();
                Some((id, top1(&max)))
            }
        };
        Ok(Targets { class, feature })
    }
}

fn top1(v: &[f32]) -> usize {
    preprocess::top_k(v, 1).first().map_or(0, |t| t.0)
}

/// The three maps, rows×cols, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Maps {
    pub rows: usize,
    pub cols: usize,
    /// Probability of the target class.
    pub prob: Vec<f32>,
    /// Most probable class (first on ties).
    pub argmax: Vec<usize>,
    /// Sum of the target feature map; empty without a layer.
    pub feature: Vec<f32>,
}

impl Maps {
    pub fn new(rows: usize, cols: usize, with_feature: bool) -> Self {
        let n = rows * cols;
        Maps {
            rows,
            cols,
            prob: vec![0.0; n],
            argmax: vec![0; n],
            feature: vec![0.0; if with_feature { n } else { 0 }],
        }
    }

    /// Stores the outputs of a batch of positions `first..first + N`.
    pub fn record(&mut self, graph: &Graph, targets: &Targets, first: usize, acts: &Activations) -> Result<()> {
        let probs = probabilities(graph, acts)?.into_dimensionality::<Ix2>().expect("N×K");
        if first + probs.nrows() > self.prob.len() {
            bail!(input, "positions {first}..{} out of range: the grid has {}", first + probs.nrows(), self.prob.len());
        }
        if targets.class >= probs.ncols() {
            bail!(input, "class {} does not exist: the model has {} classes", targets.class, probs.ncols());
        }
        for (i, row) in probs.outer_iter().enumerate() {
            self.prob[first + i] = row[targets.class];
            self.argmax[first + i] = top1(&row.to_vec());
        }
        if let (Some((id, ch)), false) = (targets.feature, self.feature.is_empty()) {
            for (i, x) in acts.values[id].outer_iter().enumerate() {
                self.feature[first + i] = x.index_axis(Axis(0), ch).sum();
            }
        }
        Ok(())
    }
}

/// How many images fit one forward pass within `budget` bytes of activations (at least 1).
pub fn batch_size(graph: &Graph, image_shape: &[usize], budget: u64) -> Result<usize> {
    let shapes = engine::infer_shapes(graph, &[image_shape.to_vec()])?;
    let per_image: u64 = graph.nodes.iter().map(|n| activation_bytes(n, &shapes)).sum::<u64>()
        + 4 * image_shape.iter().map(|&d| d as u64).product::<u64>();
    Ok((budget / per_image.max(1)).max(1) as usize)
}

/// Default activation budget per forward pass.
pub const BATCH_BYTES: u64 = 64 << 20;

/// The whole job on one 1×C×H×W image, in batches of at most `budget` bytes of activations.
pub fn occlusion(
    graph: &Graph,
    image: &Tensor,
    occluder: &Occluder,
    class: Option<usize>,
    layer: Option<&str>,
    budget: u64,
) -> Result<(Targets, Maps)> {
    let shape = image.shape();
    if shape.len() != 4 || shape[0] != 1 {
        bail!(input, "occlusion needs one image as 1×C×H×W, got {}", fmt_shape(shape));
    }
    let (rows, cols) = occluder.grid(shape[2], shape[3])?;
    let targets = Targets::new(graph, &engine::forward(graph, vec![image.clone()])?, class, layer)?;
    let mut maps = Maps::new(rows, cols, layer.is_some());
    let step = batch_size(graph, shape, budget)?;
    for first in (0..rows * cols).step_by(step) {
        let batch = occluder.occlude(image, first..(first + step).min(rows * cols))?;
        maps.record(graph, &targets, first, &engine::forward(graph, vec![batch])?)?;
    }
    Ok((targets, maps))
}
