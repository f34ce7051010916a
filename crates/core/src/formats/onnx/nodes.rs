//! ONNX nodes onto the engine's ops, one operator at a time, with the attribute and input forms of every
//! opset from 7 on. Constant inputs (weights, shapes, scales) are taken from the reader's constants.

use super::proto::NodeProto;
use super::{Attrs, Reader};
use crate::ops::resize::{AspectPolicy, Coordinates, Interpolation, Rounding, Target};
use crate::ops::{
    self, binary::broadcast_shape, lrn::LrnRegion, Activation, BinaryKind, Op, PadMode, PoolKind, PoolRounding,
};
use crate::{bail, Error, Result, Tensor};

/// What a node becomes: its op, the names of its runtime inputs, its weights.
pub(super) type Mapped = (Op, Vec<String>, Vec<Tensor>);

/// An attribute value the engine does not run.
fn unsupported(node: &str, attribute: &str, value: impl std::fmt::Display, supported: &str) -> Error {
    Error::unsupported(format!("node '{node}': {attribute} = {value} is not supported ({supported})"))
}

/// The node being mapped.
struct Node<'a> {
    n: &'a NodeProto,
    name: &'a str,
    a: Attrs<'a>,
}

impl Node<'_> {
    /// Input `i`'s name; None when absent or left empty (an omitted optional input).
    fn input(&self, i: usize) -> Option<&str> {
        self.n.input.get(i).map(|s| s.as_str()).filter(|s| !s.is_empty())
    }

    fn string(&self, attribute: &str, default: &str) -> String {
        self.a.string(attribute).unwrap_or_else(|| default.to_string())
    }

    /// An axis attribute or input value resolved against a rank.
    fn axis(&self, axis: i64, rank: usize) -> Result<usize> {
        ops::axis_index(axis, rank).map_err(|e| e.context(format!("node '{}'", self.name)))
    }
}

fn single(op: Op, first: String) -> Result<Mapped> {
    Ok((op, vec![first], vec![]))
}

fn ints(t: &Tensor) -> Vec<i64> {
    t.iter().map(|&v| v as i64).collect()
}

fn scalar(t: &Tensor, node: &str, what: &str) -> Result<f32> {
    match t.len() {
        1 => Ok(t.iter().next().copied().unwrap()),
        n => bail!(model, "node '{node}': {what} must be one value, has {n}"),
    }
}

/// A 2-D window attribute ([height, width]).
fn pair(v: Option<Vec<i64>>, default: usize, what: &str, node: &str) -> Result<[usize; 2]> {
    match v.as_deref() {
        None => Ok([default; 2]),
        Some([a, b]) if *a >= 0 && *b >= 0 => Ok([*a as usize, *b as usize]),
        Some(other) => bail!(unsupported, "node '{node}': {what} {other:?} (only 2-D windows are supported)"),
    }
}

/// Explicit pads, or the SAME_UPPER / SAME_LOWER pads for this input size.
fn pads(
    node: &Node,
    input: &[usize],
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
) -> Result<[usize; 4]> {
    let name = node.name;
    if input.len() != 4 {
        bail!(unsupported, "node '{name}': expects a 4-D N×C×H×W input, got {}", ops::fmt_shape(input));
    }
    match node.string("auto_pad", "NOTSET").as_str() {
        "NOTSET" => match node.a.ints("pads").as_deref() {
            None => Ok([0; 4]),
            Some([t, l, b, r]) if [t, l, b, r].iter().all(|v| **v >= 0) => {
                Ok([*t as usize, *l as usize, *b as usize, *r as usize])
            }
            Some(other) => Err(unsupported(name, "pads", format!("{other:?}"), "four non-negative values are")),
        },
        "VALID" => Ok([0; 4]),
        mode @ ("SAME_UPPER" | "SAME_LOWER") => {
            let mut p = [0; 4];
            for i in 0..2 {
                let len = input[2 + i];
                let out = len.div_ceil(stride[i].max(1));
                let total = ((out - 1) * stride[i] + dilation[i] * (kernel[i].max(1) - 1) + 1).saturating_sub(len);
                let (small, big) = (total / 2, total - total / 2);
                (p[i], p[i + 2]) = if mode == "SAME_UPPER" { (small, big) } else { (big, small) };
            }
            Ok(p)
        }
        other => Err(unsupported(name, "auto_pad", other, "NOTSET, VALID, SAME_UPPER and SAME_LOWER are")),
    }
}

impl Reader {
    /// A constant input that must be there.
    fn required(&mut self, node: &Node, i: usize, what: &str) -> Result<Tensor> {
        match node.input(i) {
            Some(name) => self.take(name, node.name),
            None => bail!(model, "node '{}' has no {what} input", node.name),
        }
    }

    /// A constant optional input.
    fn optional(&mut self, node: &Node, i: usize) -> Result<Option<Tensor>> {
        node.input(i).map(|name| self.take(name, node.name)).transpose()
    }

    /// The engine op, its runtime inputs and its weights for one ONNX node.
    pub(super) fn map(&mut self, n: &NodeProto, name: &str) -> Result<Mapped> {
        let node = Node { n, name, a: Attrs(&n.attribute) };
        let first =
            node.input(0).map(str::to_string).ok_or_else(|| Error::model(format!("node '{name}' has no input")))?;
        if !self.shapes.contains_key(&first) && !self.constants.contains_key(&first) {
            bail!(model, "node '{name}' reads '{first}', which nothing before it produces");
        }
        let shape = self.shape_of(&first);
        let a = &node.a;
        match n.op_type() {
            "Conv" => self.conv(&node, first, &shape),
            t @ ("MaxPool" | "AveragePool") => pool(&node, first, &shape, t == "MaxPool"),
            t @ ("GlobalAveragePool" | "GlobalMaxPool") => single(
                Op::Pool(ops::Pool {
                    kind: if t == "GlobalMaxPool" { PoolKind::Max } else { PoolKind::Average },
                    kernel: [1, 1],
                    stride: [1, 1],
                    pads: [0; 4],
                    dilation: [1, 1],
                    rounding: PoolRounding::Floor,
                    global: true,
                    count_include_pad: false,
                }),
                first,
            ),
            "Relu" => single(Op::Activation(Activation::Relu { negative_slope: 0.0 }), first),
            "LeakyRelu" => single(Op::Activation(Activation::Relu { negative_slope: a.float("alpha", 0.01) }), first),
            "PRelu" => self.prelu(&node, first, &shape),
            "Sigmoid" => single(Op::Activation(Activation::Sigmoid), first),
            "Tanh" => single(Op::Activation(Activation::Tanh), first),
            "Clip" => self.clip(&node, first),
            "HardSigmoid" => single(
                Op::Activation(Activation::HardSigmoid { alpha: a.float("alpha", 0.2), beta: a.float("beta", 0.5) }),
                first,
            ),
            "HardSwish" => single(Op::Activation(Activation::HardSwish), first),
            "LRN" => single(
                Op::Lrn(ops::Lrn {
                    size: a.positive("size", 1, node.name)?,
                    alpha: a.float("alpha", 1e-4),
                    beta: a.float("beta", 0.75),
                    k: a.float("bias", 1.0),
                    region: LrnRegion::AcrossChannels,
                }),
                first,
            ),
            "Gemm" => self.gemm(&node, first),
            "MatMul" => self.two_operands(&node, |constant_left| Op::MatMul(ops::MatMul { constant_left })),
            t @ ("Add" | "Sub" | "Mul" | "Div") => {
                let kind = match t {
                    "Add" => BinaryKind::Add,
                    "Sub" => BinaryKind::Sub,
                    "Mul" => BinaryKind::Mul,
                    _ => BinaryKind::Div,
                };
                self.two_operands(&node, |constant_left| Op::Binary(ops::Binary { kind, constant_left }))
            }
            "BatchNormalization" => self.batch_norm(&node, first, &shape),
            "Flatten" => flatten(&node, first, &shape),
            "Reshape" => {
                let mut dims = ints(&self.required(&node, 1, "shape")?);
                let allowzero = a.int("allowzero", 0) != 0;
                if allowzero && dims.contains(&0) {
                    return Err(unsupported(
                        name,
                        "allowzero",
                        "1 with a 0 in the shape",
                        "zero-size tensors are not run",
                    ));
                }
                // A batch of 1 baked into the shape (`Reshape(x, [1, -1])`) becomes a copy of the batch,
                // the same at load and able to follow batched passes.
                if !allowzero && dims.first() == Some(&1) && shape.first() == Some(&1) {
                    dims[0] = 0;
                }
                single(Op::Reshape(ops::Reshape { dims, axis: 0, num_axes: -1 }), first)
            }
            t @ ("Squeeze" | "Unsqueeze") => self.squeeze(&node, first, &shape, t == "Unsqueeze"),
            "Transpose" => {
                let perm = a.ints("perm").unwrap_or_default();
                if perm.iter().any(|&p| p < 0) {
                    return Err(unsupported(name, "perm", format!("{perm:?}"), "axes count from 0"));
                }
                single(Op::Transpose(ops::Transpose { perm: perm.iter().map(|&p| p as usize).collect() }), first)
            }
            "Concat" => {
                let ids = n.input.iter().filter(|s| !s.is_empty()).cloned().collect();
                Ok((Op::Concat(ops::Concat { axis: a.int("axis", 1) }), ids, vec![]))
            }
            "Pad" => self.pad(&node, first, &shape),
            "Resize" => self.resize(&node, first, &shape),
            "Upsample" => {
                let scales = match self.opset {
                    ..=8 => a.get("scales").map(|s| s.floats.clone()).unwrap_or_default(),
                    _ => self.required(&node, 1, "scales")?.iter().copied().collect(),
                };
                legacy_resize(&node, first, &shape, scales)
            }
            "Softmax" => {
                let rank = shape.len();
                let op = match self.opset {
                    13.. => Op::Softmax(ops::Softmax { axis: a.int("axis", -1) }),
                    // Earlier: one softmax over the input flattened to 2-D at `axis`.
                    _ => {
                        let axis = a.int("axis", 1);
                        match node.axis(axis, rank)? {
                            k if k + 1 == rank => Op::Softmax(ops::Softmax { axis }),
                            _ => Op::FlatSoftmax(ops::Softmax { axis }),
                        }
                    }
                };
                single(op, first)
            }
            "Dropout" => self.dropout(&node, first),
            "Identity" => single(Op::Identity, first),
            other => bail!(unsupported, "{other}"),
        }
    }

    fn conv(&mut self, node: &Node, first: String, shape: &[usize]) -> Result<Mapped> {
        let name = node.name;
        let w = self.required(node, 1, "weight")?;
        let ws = w.shape().to_vec();
        if ws.len() != 4 {
            bail!(unsupported, "node '{name}': only 2-D convolutions are supported (weights {})", ops::fmt_shape(&ws));
        }
        let kernel = match node.a.ints("kernel_shape") {
            None => [ws[2], ws[3]],
            k => pair(k, 0, "kernel_shape", name)?,
        };
        let stride = pair(node.a.ints("strides"), 1, "strides", name)?;
        let dilation = pair(node.a.ints("dilations"), 1, "dilations", name)?;
        let pads = pads(node, shape, kernel, stride, dilation)?;
        let mut weights = vec![w];
        weights.extend(self.optional(node, 2)?);
        let op = Op::Conv(ops::Conv {
            out_channels: ws[0],
            kernel,
            stride,
            pads,
            dilation,
            group: node.a.positive("group", 1, name)?,
            bias: weights.len() > 1,
            packed: Default::default(),
        });
        Ok((op, vec![first], weights))
    }

    /// PRelu per channel or shared when the slope allows it (the Caffe op); otherwise broadcast.
    fn prelu(&mut self, node: &Node, first: String, shape: &[usize]) -> Result<Mapped> {
        let slope = self.required(node, 1, "slope")?;
        let s = slope.shape().to_vec();
        if broadcast_shape(shape, &s).ok().as_deref() != Some(shape) {
            bail!(
                input,
                "node '{}': slope {} does not broadcast to input {}",
                node.name,
                ops::fmt_shape(&s),
                ops::fmt_shape(shape)
            );
        }
        let aligned: Vec<usize> = std::iter::repeat_n(1, shape.len() - s.len()).chain(s).collect();
        let per_channel = shape.len() >= 2 && aligned.iter().enumerate().all(|(i, &d)| d == 1 || i == 1);
        let (op, slope) = if slope.len() == 1 {
            (Activation::PRelu { channel_shared: true }, ops::tensor(&[1], slope.iter().copied().collect()))
        } else if per_channel {
            (Activation::PRelu { channel_shared: false }, ops::tensor(&[slope.len()], slope.iter().copied().collect()))
        } else {
            (Activation::PReluBroadcast, slope)
        };
        Ok((Op::Activation(op), vec![first], vec![slope]))
    }

    fn clip(&mut self, node: &Node, first: String) -> Result<Mapped> {
        let (min, max) = if self.opset < 11 {
            (node.a.float("min", f32::NEG_INFINITY), node.a.float("max", f32::INFINITY))
        } else {
            let bound = |t: Option<Tensor>, what, default| t.map_or(Ok(default), |t| scalar(&t, node.name, what));
            let min = self.optional(node, 1)?;
            let max = self.optional(node, 2)?;
            (bound(min, "min", f32::NEG_INFINITY)?, bound(max, "max", f32::INFINITY)?)
        };
        single(Op::Activation(Activation::Clip { min, max }), first)
    }

    /// Two operands, either of which may be a constant (then a weight on its side).
    fn two_operands(&mut self, node: &Node, op: impl Fn(bool) -> Op) -> Result<Mapped> {
        let (Some(a), Some(b)) = (node.input(0), node.input(1)) else {
            bail!(model, "node '{}' needs two inputs", node.name)
        };
        let (a, b) = (a.to_string(), b.to_string());
        Ok(match (self.is_constant(&a), self.is_constant(&b)) {
            (true, false) => (op(true), vec![b], vec![self.take(&a, node.name)?]),
            (_, true) => (op(false), vec![a], vec![self.take(&b, node.name)?]),
            (false, false) => (op(false), vec![a, b], vec![]),
        })
    }

    /// Gemm as an InnerProduct where it is one (no transposed input, C per column), else the Gemm op.
    fn gemm(&mut self, node: &Node, first: String) -> Result<Mapped> {
        let a = &node.a;
        let (alpha, beta) = (a.float("alpha", 1.0), a.float("beta", 1.0));
        let (trans_a, trans_b) = (a.int("transA", 0) != 0, a.int("transB", 0) != 0);
        let mut b = self.required(node, 1, "B")?;
        let c = self.optional(node, 2)?;
        if b.ndim() != 2 {
            bail!(model, "node '{}': B must be 2-D, got {}", node.name, ops::fmt_shape(b.shape()));
        }
        let n = if trans_b { b.shape()[0] } else { b.shape()[1] };
        let per_column = |c: &Tensor| c.len() == 1 || (c.len() == n && c.shape().last() == Some(&n));
        if trans_a || c.as_ref().is_some_and(|c| !per_column(c)) {
            let op = ops::Gemm { alpha, beta, trans_a, trans_b };
            return Ok((Op::Gemm(op), vec![first], std::iter::once(b).chain(c).collect()));
        }
        if alpha != 1.0 {
            b.mapv_inplace(|v| v * alpha);
        }
        let mut weights = vec![b];
        if let Some(c) = c {
            let bias: Vec<f32> = c.iter().cycle().take(n).map(|&v| v * beta).collect();
            weights.push(ops::tensor(&[n], bias));
        }
        let op = ops::InnerProduct { num_output: n, axis: 1, transpose: !trans_b, bias: weights.len() > 1 };
        Ok((Op::InnerProduct(op), vec![first], weights))
    }

    /// Inference BatchNormalization folded into a per-channel (or, with opset 7's spatial = 0, per-unit) affine.
    fn batch_norm(&mut self, node: &Node, first: String, shape: &[usize]) -> Result<Mapped> {
        let name = node.name;
        if node.a.int("training_mode", 0) != 0 {
            return Err(unsupported(name, "training_mode", 1, "inference only"));
        }
        let eps = node.a.float("epsilon", 1e-5);
        let mut stats = Vec::new();
        for (i, what) in [(1, "scale"), (2, "bias"), (3, "mean"), (4, "var")] {
            stats.push(self.required(node, i, what)?);
        }
        let [scale, bias, mean, var] = [0, 1, 2, 3].map(|i| stats[i].iter().copied().collect::<Vec<f32>>());
        let count = mean.len();
        if [&scale, &bias, &var].iter().any(|v| v.len() != count) {
            bail!(model, "node '{name}': scale, bias, mean and var differ in length");
        }
        let num_axes = match shape {
            [_, c, ..] if *c == count => 1,
            [_, rest @ ..] if rest.iter().product::<usize>() == count => -1,
            _ => bail!(input, "node '{name}': {count} statistics do not fit input {}", ops::fmt_shape(shape)),
        };
        // In f64, rounded once.
        let gamma64: Vec<f64> = (0..count).map(|i| scale[i] as f64 / (var[i] as f64 + eps as f64).sqrt()).collect();
        let gamma: Vec<f32> = gamma64.iter().map(|&g| g as f32).collect();
        let beta: Vec<f32> = (0..count).map(|i| (bias[i] as f64 - mean[i] as f64 * gamma64[i]) as f32).collect();
        let op = Op::Scale(ops::Scale { axis: 1, num_axes, bias: true });
        Ok((op, vec![first], vec![ops::tensor(&[count], gamma), ops::tensor(&[count], beta)]))
    }

    /// Squeeze and Unsqueeze as a Reshape to the shape they give this input (the batch axis, when they leave
    /// it alone, copied so that it may change).
    fn squeeze(&mut self, node: &Node, first: String, shape: &[usize], unsqueeze: bool) -> Result<Mapped> {
        let axes: Option<Vec<i64>> = match self.opset {
            13.. => self.optional(node, 1)?.map(|t| ints(&t)),
            _ => node.a.ints("axes"),
        };
        let (out, touches_first) = if unsqueeze {
            let Some(axes) = axes else { bail!(model, "node '{}': Unsqueeze needs axes", node.name) };
            let rank = shape.len() + axes.len();
            let at = axes.iter().map(|&a| node.axis(a, rank)).collect::<Result<Vec<_>>>()?;
            let mut dims = shape.iter();
            let out: Vec<usize> =
                (0..rank).map(|i| if at.contains(&i) { 1 } else { *dims.next().unwrap_or(&1) }).collect();
            (out, at.contains(&0))
        } else {
            let drop = match axes {
                Some(axes) => axes.iter().map(|&a| node.axis(a, shape.len())).collect::<Result<Vec<_>>>()?,
                None => (0..shape.len()).filter(|&i| shape[i] == 1).collect(),
            };
            if let Some(&a) = drop.iter().find(|&&a| shape[a] != 1) {
                bail!(input, "node '{}': axis {a} of input {} is not 1", node.name, ops::fmt_shape(shape));
            }
            let out = (0..shape.len()).filter(|i| !drop.contains(i)).map(|i| shape[i]).collect();
            (out, drop.contains(&0))
        };
        let mut dims: Vec<i64> = out.iter().map(|&d| d as i64).collect();
        if !touches_first && !dims.is_empty() {
            dims[0] = 0;
        }
        single(Op::Reshape(ops::Reshape { dims, axis: 0, num_axes: -1 }), first)
    }

    fn pad(&mut self, node: &Node, first: String, shape: &[usize]) -> Result<Mapped> {
        let name = node.name;
        let mode = match node.string("mode", "constant").as_str() {
            "constant" => PadMode::Constant,
            "reflect" => PadMode::Reflect,
            "edge" => PadMode::Edge,
            "wrap" => PadMode::Wrap,
            other => return Err(unsupported(name, "mode", other, "constant, reflect, edge and wrap are")),
        };
        let rank = shape.len();
        let (amounts, value, axes) = if self.opset < 11 {
            let Some(p) = node.a.ints("pads") else { bail!(model, "node '{name}' has no pads") };
            (p, node.a.float("value", 0.0), None)
        } else {
            let p = ints(&self.required(node, 1, "pads")?);
            let value = match self.optional(node, 2)? {
                Some(v) if !v.is_empty() => scalar(&v, name, "constant_value")?,
                _ => 0.0,
            };
            (p, value, self.optional(node, 3)?.map(|t| ints(&t)))
        };
        let axes = match axes {
            Some(axes) => axes.iter().map(|&a| node.axis(a, rank)).collect::<Result<Vec<_>>>()?,
            None => (0..rank).collect(),
        };
        if amounts.len() != 2 * axes.len() {
            bail!(model, "node '{name}': {} pads for {} axes", amounts.len(), axes.len());
        }
        let (mut before, mut after) = (vec![0; rank], vec![0; rank]);
        for (i, &axis) in axes.iter().enumerate() {
            before[axis] = amounts[i];
            after[axis] = amounts[i + axes.len()];
        }
        single(Op::Pad(ops::Pad { mode, before, after, value }), first)
    }

    fn resize(&mut self, node: &Node, first: String, shape: &[usize]) -> Result<Mapped> {
        let (name, a) = (node.name, &node.a);
        if self.opset < 11 {
            let scales = self.required(node, 1, "scales")?.iter().copied().collect();
            return legacy_resize(node, first, shape, scales);
        }
        let rank = shape.len();
        let roi = self.optional(node, 1)?.filter(|t| !t.is_empty());
        let scales = self.optional(node, 2)?.filter(|t| !t.is_empty());
        let sizes = self.optional(node, 3)?.filter(|t| !t.is_empty());
        let axes = match a.ints("axes") {
            Some(axes) => axes.iter().map(|&x| node.axis(x, rank)).collect::<Result<Vec<_>>>()?,
            None => (0..rank).collect(),
        };
        let given: Vec<Target> = match (scales, sizes) {
            (Some(s), None) => s.iter().map(|&v| Target::Scale(v)).collect(),
            (None, Some(z)) => z.iter().map(|&v| Target::Length(v.max(0.0) as usize)).collect(),
            _ => bail!(model, "node '{name}' needs either scales or sizes"),
        };
        if given.len() != axes.len() {
            bail!(model, "node '{name}': {} scales or sizes for {} axes", given.len(), axes.len());
        }
        let mut targets = vec![Target::Scale(1.0); rank];
        let mut regions = vec![[0.0, 1.0]; rank];
        for (i, &axis) in axes.iter().enumerate() {
            targets[axis] = given[i];
        }
        if let Some(roi) = roi {
            if roi.len() != 2 * axes.len() {
                bail!(model, "node '{name}': roi holds {} values for {} axes", roi.len(), axes.len());
            }
            let roi: Vec<f32> = roi.iter().copied().collect();
            for (i, &axis) in axes.iter().enumerate() {
                regions[axis] = [roi[i], roi[i + axes.len()]];
            }
        }
        let coordinates = match node.string("coordinate_transformation_mode", "half_pixel").as_str() {
            "half_pixel" => Coordinates::HalfPixel,
            "half_pixel_symmetric" => Coordinates::HalfPixelSymmetric,
            "pytorch_half_pixel" => Coordinates::PytorchHalfPixel,
            "align_corners" => Coordinates::AlignCorners,
            "asymmetric" => Coordinates::Asymmetric,
            "tf_half_pixel_for_nn" => Coordinates::TfHalfPixelForNn,
            "tf_crop_and_resize" => Coordinates::TfCropAndResize,
            other => {
                return Err(unsupported(name, "coordinate_transformation_mode", other, "see the ONNX spec's list"))
            }
        };
        let interpolation = match node.string("mode", "nearest").as_str() {
            "nearest" => Interpolation::Nearest(match node.string("nearest_mode", "round_prefer_floor").as_str() {
                "round_prefer_floor" => Rounding::RoundPreferFloor,
                "round_prefer_ceil" => Rounding::RoundPreferCeil,
                "floor" => Rounding::Floor,
                "ceil" => Rounding::Ceil,
                other => return Err(unsupported(name, "nearest_mode", other, "see the ONNX spec's list")),
            }),
            "linear" => Interpolation::Linear,
            "cubic" => Interpolation::Cubic { a: a.float("cubic_coeff_a", -0.75) },
            other => return Err(unsupported(name, "mode", other, "nearest, linear and cubic are")),
        };
        let policy = match node.string("keep_aspect_ratio_policy", "stretch").as_str() {
            "stretch" => AspectPolicy::Stretch,
            "not_larger" => AspectPolicy::NotLarger,
            "not_smaller" => AspectPolicy::NotSmaller,
            other => {
                return Err(unsupported(name, "keep_aspect_ratio_policy", other, "stretch, not_larger, not_smaller"))
            }
        };
        let op = ops::Resize {
            interpolation,
            coordinates,
            targets,
            policy,
            roi: regions,
            antialias: a.int("antialias", 0) != 0,
            exclude_outside: a.int("exclude_outside", 0) != 0,
            extrapolation: a.float("extrapolation_value", 0.0),
        };
        single(Op::Resize(op), first)
    }

    /// Dropout at inference is the identity; its mask output is all ones. Training mode is refused unless
    /// its ratio is 0 (the identity again).
    fn dropout(&mut self, node: &Node, first: String) -> Result<Mapped> {
        let mut ratio = node.a.float("ratio", 0.5);
        let mut training = false;
        if self.opset >= 12 {
            if let Some(r) = self.optional(node, 1)? {
                ratio = scalar(&r, node.name, "ratio")?;
            }
            if let Some(t) = self.optional(node, 2)? {
                training = scalar(&t, node.name, "training_mode")? != 0.0;
            }
        }
        if training && ratio != 0.0 {
            return Err(unsupported(node.name, "training_mode", 1, "dropout runs as at inference"));
        }
        single(Op::Identity, first)
    }
}

fn pool(node: &Node, first: String, shape: &[usize], max: bool) -> Result<Mapped> {
    let (name, a) = (node.name, &node.a);
    let kernel = pair(a.ints("kernel_shape"), 0, "kernel_shape", name)?;
    if kernel.contains(&0) {
        bail!(model, "node '{name}' has no kernel_shape");
    }
    let stride = pair(a.ints("strides"), 1, "strides", name)?;
    let dilation = pair(a.ints("dilations"), 1, "dilations", name)?;
    if a.int("storage_order", 0) != 0 {
        return Err(unsupported(name, "storage_order", 1, "row-major indices only"));
    }
    single(
        Op::Pool(ops::Pool {
            kind: if max { PoolKind::Max } else { PoolKind::Average },
            kernel,
            stride,
            pads: pads(node, shape, kernel, stride, dilation)?,
            dilation,
            rounding: if a.int("ceil_mode", 0) != 0 { PoolRounding::Ceil } else { PoolRounding::Floor },
            global: false,
            count_include_pad: a.int("count_include_pad", 0) != 0,
        }),
        first,
    )
}

/// ONNX Flatten (2-D out: the axes before `axis` and the axes from it): Caffe's Flatten at axis 1, else a
/// Reshape that infers the leading size.
fn flatten(node: &Node, first: String, shape: &[usize]) -> Result<Mapped> {
    let rank = shape.len();
    let axis = node.a.int("axis", 1);
    let k = if axis < 0 { axis + rank as i64 } else { axis };
    if !(0..=rank as i64).contains(&k) {
        bail!(model, "node '{}': Flatten axis {axis} is out of range for a {rank}-D input", node.name);
    }
    let op = match k as usize {
        1 if rank >= 2 => Op::Flatten(ops::Flatten { axis: 1, end_axis: -1 }),
        0 => Op::Reshape(ops::Reshape { dims: vec![1, -1], axis: 0, num_axes: -1 }),
        k => {
            let inner: usize = shape[k..].iter().product();
            Op::Reshape(ops::Reshape { dims: vec![-1, inner as i64], axis: 0, num_axes: -1 })
        }
    };
    single(op, first)
}

/// Resize before opset 11 and Upsample: scales, asymmetric coordinates, onnxruntime's nearest rounding.
fn legacy_resize(node: &Node, first: String, shape: &[usize], scales: Vec<f32>) -> Result<Mapped> {
    let interpolation = match node.string("mode", "nearest").as_str() {
        "nearest" => Interpolation::Nearest(Rounding::Legacy),
        "linear" | "bilinear" => Interpolation::Linear,
        other => return Err(unsupported(node.name, "mode", other, "nearest and linear are")),
    };
    if scales.len() != shape.len() {
        bail!(model, "node '{}': {} scales for a {}-D input", node.name, scales.len(), shape.len());
    }
    let op = ops::Resize {
        interpolation,
        coordinates: Coordinates::Asymmetric,
        targets: scales.into_iter().map(Target::Scale).collect(),
        policy: AspectPolicy::Stretch,
        roi: vec![],
        antialias: false,
        exclude_outside: false,
        extrapolation: 0.0,
    };
    single(Op::Resize(op), first)
}
