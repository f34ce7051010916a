//! Projections of one unit or feature map back to input space, every method behind one call:
//! the deconvnet (Zeiler & Fergus 2014), guided backprop (Springenberg et al. 2015) and saliency
//! (the plain gradient).

use crate::engine::{backward::backward, Activations};
use crate::graph::Graph;
use crate::ops::{fmt_shape, ReluRule, Rules};
use crate::{bail, Error, Result, Tensor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Rectified signal at every ReLU; the seed carries the activation values.
    Deconvnet,
    /// Gradient gated by positive inputs and positive signals; seed 1.
    GuidedBackprop,
    /// The gradient of the unit or map sum; seed 1.
    Saliency,
}

/// Which units of the chosen channel start the projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// The channel's strongest unit (the first maximum in row-major order).
    Max,
    /// The channel's whole feature map.
    Map,
    /// One unit at (y, x).
    At(usize, usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// A value name: a layer's name for its output.
    pub value: String,
    pub channel: usize,
    pub unit: Unit,
}

/// The value the chosen units start with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedValue {
    /// Their activations (the deconvnet's default, as in the paper).
    Activation,
    /// 1: the gradient of their sum (the default of the gradient methods, and captum's).
    One,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// LRN takes its true gradient instead of passing the signal through (deconvnet only; the
    /// gradient methods always take it).
    pub lrn_gradient: bool,
    /// None: the method's default.
    pub seed: Option<SeedValue>,
}

impl Method {
    fn relu(self) -> ReluRule {
        match self {
            Method::Deconvnet => ReluRule::Deconvnet,
            Method::GuidedBackprop => ReluRule::Guided,
            Method::Saliency => ReluRule::Gradient,
        }
    }
}

/// Where the seed lands in one sample's channel: (flat index within the channel, activation value).
pub fn strongest(channel: &[f32]) -> (usize, f32) {
    channel.iter().enumerate().fold((0, f32::NEG_INFINITY), |best, (i, &v)| if v > best.1 { (i, v) } else { best })
}

/// Each channel's strongest unit in sample 0 of an N×C×H×W value: ((y, x), activation).
pub fn channel_maxima(a: &Tensor) -> Result<Vec<((usize, usize), f32)>> {
    let &[_, c, h, w] = a.shape() else {
        bail!(input, "feature maps are N×C×H×W, got shape {}", fmt_shape(a.shape()));
    };
    let flat = a.as_standard_layout();
    let flat = flat.as_slice().expect("standard layout");
    Ok((0..c)
        .map(|k| {
            let (i, v) = strongest(&flat[k * h * w..(k + 1) * h * w]);
            ((i / w, i % w), v)
        })
        .collect())
}

/// The seed signal for a target: zeros except the chosen units of the chosen channel.
pub fn seed(graph: &Graph, acts: &Activations, target: &Target, value: SeedValue) -> Result<Tensor> {
    let id = graph
        .value_id(&target.value)
        .ok_or_else(|| Error::input(format!("no layer or value named '{}'", target.value)))?;
    let a = &acts.values[id];
    let shape = a.shape().to_vec();
    if shape.len() < 2 || target.channel >= shape[1] {
        bail!(input, "'{}' has shape {}: no channel {}", target.value, fmt_shape(&shape), target.channel);
    }
    let (n, c) = (shape[0], shape[1]);
    let plane: usize = shape[2..].iter().product();
    let width = shape.get(3).copied().unwrap_or(1);
    let values = a.as_standard_layout();
    let values = values.as_slice().expect("standard layout");
    let mut s = vec![0f32; values.len()];
    for b in 0..n {
        let base = (b * c + target.channel) * plane;
        let ch = &values[base..base + plane];
        let chosen: Vec<usize> = match target.unit {
            Unit::Max => vec![strongest(ch).0],
            Unit::Map => (0..plane).collect(),
            Unit::At(y, x) => {
                if shape.len() != 4 || y >= shape[2] || x >= width {
                    bail!(input, "unit ({y}, {x}) is outside '{}' of shape {}", target.value, fmt_shape(&shape));
                }
                vec![y * width + x]
            }
        };
        for i in chosen {
            s[base + i] = match value {
                SeedValue::Activation => ch[i],
                SeedValue::One => 1.0,
            };
        }
    }
    Ok(crate::ops::tensor(&shape, s))
}

/// Projects the target down to the graph's first input; the result has the input's shape.
pub fn project(graph: &Graph, acts: &Activations, target: &Target, method: Method, opts: Options) -> Result<Tensor> {
    let default = if method == Method::Deconvnet { SeedValue::Activation } else { SeedValue::One };
    let signal = seed(graph, acts, target, opts.seed.unwrap_or(default))?;
    let start = graph.value_id(&target.value).expect("checked by seed");
    let rules = Rules { relu: method.relu(), lrn_gradient: opts.lrn_gradient || method != Method::Deconvnet };
    let mut grads = backward(graph, acts, start, signal, rules)?;
    let input = graph.inputs[0].0;
    Ok(grads[input].take().unwrap_or_else(|| Tensor::zeros(acts.values[input].raw_dim())))
}
