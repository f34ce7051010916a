//! Layers: shape rules and forward computation, one module per family.
//! Shapes are NCHW; every op takes standard-layout tensors and returns new ones.

pub mod activation;
pub mod binary;
pub mod conv;
pub mod dense;
pub mod elementwise;
pub mod gemm;
pub mod lrn;
pub mod normalize;
pub mod pad;
pub mod pool;
pub mod resize;
pub mod shape;
pub mod softmax;
pub mod transpose;

use crate::{Real, Result, Tensor};

pub use activation::{Activation, ReluRule};
pub use binary::{Binary, BinaryKind};
pub use conv::Conv;
pub use dense::{Gemm, InnerProduct, MatMul};
pub use elementwise::Eltwise;
pub use lrn::Lrn;
pub use normalize::{BatchNorm, Scale};
pub use pad::{Pad, PadMode};
pub use pool::{Pool, PoolKind, PoolRounding, Switches};
pub use resize::Resize;
pub use shape::{Concat, Flatten, Reshape, Slice};
pub use softmax::Softmax;
pub use transpose::Transpose;

#[derive(Debug, Clone)]
pub enum Op {
    Conv(Conv),
    Pool(Pool),
    Activation(Activation),
    Lrn(Lrn),
    InnerProduct(InnerProduct),
    Softmax(Softmax),
    /// ONNX Softmax before opset 13: one softmax over all the axes from `axis` on together.
    FlatSoftmax(Softmax),
    /// Outputs its input unchanged (Dropout at inference); a second output, Dropout's mask, is all ones.
    Identity,
    /// Copies its input to every output.
    Split,
    Flatten(Flatten),
    Reshape(Reshape),
    Concat(Concat),
    Slice(Slice),
    Eltwise(Eltwise),
    BatchNorm(BatchNorm),
    Scale(Scale),
    /// Broadcasting arithmetic (ONNX Add, Sub, Mul, Div).
    Binary(Binary),
    /// ONNX MatMul.
    MatMul(MatMul),
    /// ONNX Gemm where it is not an InnerProduct.
    Gemm(Gemm),
    Transpose(Transpose),
    Pad(Pad),
    /// ONNX Resize and Upsample.
    Resize(Resize),
}

/// What one node produced.
pub struct Output<T = f32> {
    pub tensors: Vec<Tensor<T>>,
    /// Max pooling's argmax positions, for the deconvnet.
    pub switches: Option<Switches>,
}

impl<T> From<Vec<Tensor<T>>> for Output<T> {
    fn from(tensors: Vec<Tensor<T>>) -> Self {
        Output { tensors, switches: None }
    }
}

impl Op {
    /// Output shapes for these input shapes; the error says what does not fit.
    pub fn output_shapes<T: Real>(&self, inputs: &[&[usize]], n_outputs: usize, weights: &[Tensor<T>]) -> Result<Vec<Vec<usize>>> {
        let one = |s: Result<Vec<usize>>| s.map(|s| vec![s]);
        match self {
            Op::Conv(o) => one(o.check_weights(inputs[0], weights).and(o.output_shape(inputs[0]))),
            // Max pooling's second output: ONNX's Indices.
            Op::Pool(o) => {
                let n = if o.kind == PoolKind::Max { n_outputs.clamp(1, 2) } else { 1 };
                o.output_shape(inputs[0]).map(|s| vec![s; n])
            }
            Op::Identity => Ok(vec![inputs[0].to_vec(); n_outputs.clamp(1, 2)]),
            Op::BatchNorm(_) | Op::Activation(Activation::PRelu { .. }) | Op::Lrn(_) => {
                one(per_channel_shape(self, inputs[0], weights))
            }
            Op::Softmax(o) | Op::FlatSoftmax(o) => one(axis_index(o.axis, inputs[0].len()).map(|_| inputs[0].to_vec())),
            Op::Activation(_) => one(Ok(inputs[0].to_vec())),
            Op::Scale(o) => one(o.output_shape(inputs, weights)),
            Op::InnerProduct(o) => one(o.output_shape(inputs[0], weights)),
            Op::Split => Ok(vec![inputs[0].to_vec(); n_outputs]),
            Op::Flatten(o) => one(o.output_shape(inputs[0])),
            Op::Reshape(o) => one(o.output_shape(inputs[0])),
            Op::Concat(o) => one(o.output_shape(inputs)),
            Op::Slice(o) => o.output_shapes(inputs[0], n_outputs),
            Op::Eltwise(o) => one(o.output_shape(inputs)),
            Op::Binary(o) => one(o.output_shape(inputs, weights)),
            Op::MatMul(o) => one(o.output_shape(inputs, weights)),
            Op::Gemm(o) => one(o.output_shape(inputs[0], weights)),
            Op::Transpose(o) => one(o.output_shape(inputs[0])),
            Op::Pad(o) => one(o.output_shape(inputs[0])),
            Op::Resize(o) => one(o.output_shape(inputs[0])),
        }
    }

    /// Shapes the learned parameters must have for this input shape.
    pub fn weight_shapes(&self, input: &[usize]) -> Result<Vec<Vec<usize>>> {
        Ok(match self {
            Op::Conv(o) => o.weight_shapes(input)?,
            Op::InnerProduct(o) => o.weight_shapes(input)?,
            Op::Activation(Activation::PRelu { channel_shared }) => {
                vec![vec![if *channel_shared { 1 } else { *input.get(1).unwrap_or(&1) }]]
            }
            Op::BatchNorm(_) => {
                let c = *input.get(1).unwrap_or(&1);
                vec![vec![c], vec![c], vec![1]]
            }
            Op::Scale(o) => o.weight_shapes(input),
            _ => vec![],
        })
    }

    /// Derives from the weights what every forward pass needs (a convolution's packed copy).
    pub fn prepare(&self, weights: &[Tensor]) {
        if let Op::Conv(c) = self {
            c.prepare(weights);
        }
    }

    /// Drops what the op derived from its weights (a convolution's packed copy).
    pub fn clear_caches(&mut self) {
        if let Op::Conv(c) = self {
            c.packed.clear();
        }
    }

    pub fn forward<T: Real>(&self, inputs: &[&Tensor<T>], weights: &[Tensor<T>], n_outputs: usize) -> Result<Output<T>> {
        let one = |t: Tensor<T>| Output::from(vec![t]);
        Ok(match self {
            Op::Conv(o) => one(o.forward(inputs[0], weights)?),
            Op::Pool(o) => {
                let (t, s) = o.forward(inputs[0])?;
                let mut tensors = vec![t];
                if let (Some(sw), true) = (&s, n_outputs > 1) {
                    tensors.push(sw.flat_indices());
                }
                Output { tensors, switches: s }
            }
            Op::Activation(o) => one(o.forward(inputs[0], weights)),
            Op::Lrn(o) => one(o.forward(inputs[0])),
            Op::InnerProduct(o) => one(o.forward(inputs[0], weights)?),
            Op::Softmax(o) => one(o.forward(inputs[0])?),
            Op::FlatSoftmax(o) => {
                let y = LAST_AXIS.forward(&folded(o, inputs[0])?)?;
                one(tensor(inputs[0].shape(), contiguous(&y).into_owned()))
            }
            Op::Identity if n_outputs > 1 => Output::from(vec![inputs[0].clone(), Tensor::<T>::ones(inputs[0].raw_dim())]),
            Op::Identity => one(inputs[0].clone()),
            Op::Split => Output::from(vec![inputs[0].clone(); n_outputs]),
            Op::Flatten(o) => one(o.forward(inputs[0])?),
            Op::Reshape(o) => one(o.forward(inputs[0])?),
            Op::Concat(o) => one(o.forward(inputs)?),
            Op::Slice(o) => Output::from(o.forward(inputs[0], n_outputs)?),
            Op::Eltwise(o) => one(o.forward(inputs)?),
            Op::BatchNorm(o) => one(o.forward(inputs[0], weights)),
            Op::Scale(o) => one(o.forward(inputs, weights)?),
            Op::Binary(o) => one(o.forward(inputs, weights)?),
            Op::MatMul(o) => one(o.forward(inputs, weights)?),
            Op::Gemm(o) => one(o.forward(inputs[0], weights)?),
            Op::Transpose(o) => one(o.forward(inputs[0])?),
            Op::Pad(o) => one(o.forward(inputs[0])?),
            Op::Resize(o) => one(o.forward(inputs[0])?),
        })
    }
}

const LAST_AXIS: Softmax = Softmax { axis: -1 };

/// A tensor as 2-D: the axes before the softmax's axis, and the axes from it.
fn folded<T: Real>(o: &Softmax, x: &Tensor<T>) -> Result<Tensor<T>> {
    let axis = axis_index(o.axis, x.ndim())?;
    let rows: usize = x.shape()[..axis].iter().product();
    Ok(tensor(&[rows, x.len() / rows.max(1)], contiguous(x).into_owned()))
}

/// How a backward pass treats the layers where methods differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    pub relu: ReluRule,
    /// LRN takes its true gradient; otherwise the signal passes through unchanged.
    pub lrn_gradient: bool,
}

impl Op {
    /// Signals for each input, given the signals arriving at the outputs (None: no signal there).
    pub fn backward<T: Real>(
        &self,
        rules: Rules,
        ins: &[&Tensor<T>],
        outs: &[&Tensor<T>],
        grads: &[Option<&Tensor<T>>],
        weights: &[Tensor<T>],
        switches: Option<&Switches>,
    ) -> Result<Vec<Option<Tensor<T>>>> {
        if let Op::Slice(o) = self {
            return Ok(vec![Some(o.backward(ins[0].shape(), outs, grads)?)]);
        }
        if let Op::Split = self {
            let mut sum: Option<Tensor<T>> = None;
            for g in grads.iter().flatten() {
                match &mut sum {
                    Some(s) => *s += *g,
                    None => sum = Some((*g).clone()),
                }
            }
            return Ok(vec![sum]);
        }
        let Some(g) = grads[0] else { return Ok(vec![None; ins.len()]) };
        let one = |t: Tensor<T>| vec![Some(t)];
        let reshaped = |t: &Tensor<T>| one(tensor(ins[0].shape(), contiguous(t).into_owned()));
        Ok(match self {
            Op::Conv(o) => one(o.backward(ins[0].shape(), g, weights)?),
            Op::Pool(o) => one(o.backward(ins[0].shape(), g, switches)?),
            Op::Activation(o) => one(o.backward(ins[0], outs[0], g, weights, rules.relu)),
            Op::Lrn(o) if rules.lrn_gradient => one(o.backward(ins[0], outs[0], g)),
            Op::Lrn(_) | Op::Identity => one(g.clone()),
            Op::InnerProduct(o) => one(o.backward(ins[0].shape(), g, weights)?),
            Op::Softmax(o) => one(o.backward(outs[0], g)?),
            Op::FlatSoftmax(o) => {
                let dx = LAST_AXIS.backward(&folded(o, outs[0])?, &folded(o, g)?)?;
                one(tensor(ins[0].shape(), contiguous(&dx).into_owned()))
            }
            Op::Flatten(_) | Op::Reshape(_) => reshaped(g),
            Op::Concat(o) => o.backward(ins, g)?,
            Op::Eltwise(o) => o.backward(ins, g),
            Op::BatchNorm(o) => one(o.backward(g, weights)),
            Op::Scale(o) => o.backward(ins, g, weights)?,
            Op::Binary(o) => o.backward(ins, weights, g),
            Op::MatMul(o) => o.backward(ins, weights, g),
            Op::Gemm(o) => one(o.backward(ins[0].shape(), g, weights)?),
            Op::Transpose(o) => one(o.backward(g)?),
            Op::Pad(o) => one(o.backward(ins[0].shape(), g)?),
            Op::Resize(o) => one(o.backward(ins[0].shape(), g)?),
            Op::Slice(_) | Op::Split => unreachable!("handled above"),
        })
    }
}

impl Op {
    /// Gradients for the op's weights (by position in `weights`; None for blobs that are not learned by
    /// gradient, such as BatchNorm's statistics), given the signal at the first output.
    pub fn weight_backward<T: Real>(&self, ins: &[&Tensor<T>], g: &Tensor<T>, weights: &[Tensor<T>]) -> Result<Vec<Option<Tensor<T>>>> {
        if weights.is_empty() {
            return Ok(vec![]);
        }
        Ok(match self {
            Op::Conv(o) => o.weight_backward(ins[0], g, weights)?,
            Op::InnerProduct(o) => o.weight_backward(ins[0], g, weights)?,
            Op::Activation(o) => o.weight_backward(ins[0], g, weights),
            Op::Scale(o) => o.weight_backward(ins, g, weights)?,
            Op::Binary(o) => o.weight_backward(ins, weights, g),
            Op::MatMul(o) => o.weight_backward(ins, weights, g),
            Op::Gemm(o) => o.weight_backward(ins[0], g, weights)?,
            _ => vec![None; weights.len()],
        })
    }
}

/// Ops that work per channel need an N×C×… input whose C matches their per-channel weights.
fn per_channel_shape<T: Real>(op: &Op, input: &[usize], weights: &[Tensor<T>]) -> Result<Vec<usize>> {
    let Some(&c) = input.get(1) else {
        crate::bail!(input, "expects an N×C×… input, got shape {}", fmt_shape(input));
    };
    let per_channel = match op {
        Op::BatchNorm(_) => weights.iter().take(2).map(|w| w.len()).collect(),
        Op::Activation(Activation::PRelu { channel_shared: false }) => {
            weights.iter().take(1).map(|w| w.len()).collect()
        }
        _ => vec![],
    };
    if let Some(n) = per_channel.into_iter().find(|&n| n != c) {
        crate::bail!(input, "input {} has {c} channels, the weights have {n}", fmt_shape(input));
    }
    Ok(input.to_vec())
}

/// Resolves a possibly negative axis against a rank.
pub(crate) fn axis_index(axis: i64, rank: usize) -> Result<usize> {
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    if a < 0 || a >= rank as i64 {
        crate::bail!(input, "axis {axis} is out of range for a {rank}-D input");
    }
    Ok(a as usize)
}

/// Requires a 4-D (NCHW) shape.
pub(crate) fn nchw(shape: &[usize]) -> Result<[usize; 4]> {
    match shape {
        &[n, c, h, w] => Ok([n, c, h, w]),
        _ => crate::bail!(input, "expects a 4-D N×C×H×W input, got shape {}", fmt_shape(shape)),
    }
}

pub fn fmt_shape(shape: &[usize]) -> String {
    if shape.is_empty() {
        return "scalar".into();
    }
    shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("×")
}

/// A tensor's data as a contiguous slice, copying only when the layout is not standard.
pub(crate) fn contiguous<T: Clone>(t: &Tensor<T>) -> std::borrow::Cow<'_, [T]> {
    match t.as_slice() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(t.iter().cloned().collect()),
    }
}

pub fn tensor<T>(shape: &[usize], data: Vec<T>) -> Tensor<T> {
    Tensor::from_shape_vec(ndarray::IxDyn(shape), data).expect("shape matches data length")
}
